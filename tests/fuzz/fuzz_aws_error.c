/* libFuzzer target: what core/aws/aws.c reads from an AWS response: the error body (JSON or
 * XML, aws_parse_error), the x-amzn-ErrorType / x-amzn-Message / request id headers, the
 * Retry-After header, the Date header (clock skew correction), and the endpoint URL parser
 * (AWS_ENDPOINT_URL* from the environment or a conf file).
 * Input: a status number, then "Name: value" header lines, an empty line, then the body.
 * The whole input (first line) is also given to the endpoint URL parser.
 * aws.c is included so its static parsers can be reached. */
#include "../../core/aws/aws.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;
    aws_response *r = xcalloc(1, sizeof *r);
    const char *nl = memchr(p, '\n', size);
    char *first = xstrndup(p, nl ? (size_t)(nl - p) : size);
    r->status = strtol(first, NULL, 10);
    endpoint_url u;
    if (endpoint_url_parse(first, &u) == 0)
        endpoint_url_free(&u);
    (void)parse_http_date(first);
    free(first);
    p = nl ? nl + 1 : end;
    while (p < end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n == 0) {
            p++;
            break;
        }
        const char *colon = memchr(p, ':', n);
        if (colon) {
            const char *v = colon + 1;
            while (v < p + n && *v == ' ')
                v++;
            hdrs_addn(&r->headers, p, (size_t)(colon - p), v, (size_t)(p + n - v));
        }
        p += n + (nl ? 1 : 0);
    }
    buf_append(&r->body, p, (size_t)(end - p));
    aws_parse_error(r);
    parse_error_host(r, "lambda.us-east-1.amazonaws.com");
    (void)aws_retry_after_ms(r, 20000);
    if (is_skew_error(r))
        (void)parse_http_date(hdrs_get(&r->headers, "Date"));
    lmcp_credentials cr = {0};
    cr.secret_access_key = (char *)"SECRETKEY";
    cr.session_token = (char *)"TOKEN";
    hdrs sent = HDRS_INIT;
    hdrs_add(&sent, "Authorization", "Bearer abc");
    redact_error(r, &cr, &sent);
    hdrs_free(&sent);
    aws_response_free(r);
    return 0;
}
