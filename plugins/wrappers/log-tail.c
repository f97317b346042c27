/* wrapper plugin "log-tail": shows the client the end of the function's log.
 *
 * Before the rest of the chain runs it asks Lambda for the last 4 KB of the invocation's log
 * (X-Amz-Log-Type: Tail, host->call_request_log_tail). When the answer carries it, the decoded
 * text (result_log_tail) is sent to the client as an MCP log notification
 * (notifications/message) with the logger "lambda/<function name>" at `level` (default info).
 * The MCP layer forwards it only to a client that asked for logs at that level or a more
 * verbose one — a legacy client with logging/setLevel, a 2026-07-28 client with the
 * per-request _meta logLevel — and never after the call's response or its cancellation.
 *
 * A cached answer (from_cache) replays no log. `only_errors` limits the notification to calls
 * that did not succeed; `max_bytes` keeps only the end of the text. The tail is not written to
 * the server's own stderr (it may contain whatever the function prints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lambda-mcp/plugin.h>

static const lmcp_setting_def lt_settings[] = {
    {"level", LMCP_SETTING_STRING, "info", NULL, NULL, 0, 0,
     "level of the log notification: debug, info, warn or error"},
    {"only_errors", LMCP_SETTING_BOOL, "false", NULL, "lambda-mcp:log-tail-errors-only", 0, 0,
     "send the tail only when the call did not succeed"},
    {"max_bytes", LMCP_SETTING_INT, "4096", NULL, NULL, 16, 1048576, "send at most the last N bytes of the tail"},
    LMCP_SETTINGS_END,
};

typedef struct lt {
    const lmcp_host *host;
    const lmcp_instance *inst;
    lmcp_log_level level;
} lt;

static bool parse_level(const char *s, lmcp_log_level *out)
{
    static const struct {
        const char *name;
        lmcp_log_level level;
    } levels[] = {{"debug", LMCP_LOG_DEBUG}, {"info", LMCP_LOG_INFO},   {"warn", LMCP_LOG_WARN},
                  {"warning", LMCP_LOG_WARN}, {"error", LMCP_LOG_ERROR}};
    for (size_t i = 0; s && i < sizeof levels / sizeof *levels; i++)
        if (strcmp(s, levels[i].name) == 0) {
            *out = levels[i].level;
            return true;
        }
    return false;
}

static int lt_init(const lmcp_plugin_ctx *ctx, void **state, char *err, size_t errlen)
{
    const lmcp_host *h = ctx->host;
    lt *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return LMCP_ERR;
    }
    t->host = h;
    t->inst = ctx->instance;
    const char *lv = h->setting_string(ctx->settings, "level");
    if (!parse_level(lv, &t->level)) {
        snprintf(err, errlen, "level must be debug, info, warn or error, not '%s'", lv ? lv : "");
        free(t);
        return LMCP_ERR;
    }
    *state = t;
    return LMCP_OK;
}

static void lt_destroy(void *state) { free(state); }

static int lt_invoke(void *state, const lmcp_settings *s, lmcp_call *call, lmcp_result *res, const lmcp_next *next)
{
    lt *t = state;
    const lmcp_host *h = t->host;
    h->call_request_log_tail(call);
    int rc = h->call_next(next, call, res);
    if (h->result_from_cache(res))
        return rc;
    lmcp_outcome o = h->result_outcome(res);
    if (o == LMCP_OUTCOME_CANCELLED)
        return rc;
    if (o == LMCP_OUTCOME_OK && h->setting_bool(s, "only_errors"))
        return rc;
    const char *tail = h->result_log_tail(res);
    if (!tail || !*tail)
        return rc;
    size_t len = strlen(tail);
    size_t max = (size_t)h->setting_int(s, "max_bytes");
    const char *start = tail;
    if (len > max) {
        start = tail + (len - max);
        /* do not begin inside a UTF-8 sequence */
        while (*start && ((unsigned char)*start & 0xC0) == 0x80)
            start++;
    }
    len = strlen(start);
    while (len > 0 && (start[len - 1] == '\n' || start[len - 1] == '\r'))
        len--;
    if (len == 0)
        return rc;
    const char *fn = h->call_function(call);
    if (!fn || !*fn)
        fn = h->call_tool(call);
    char logger[160];
    snprintf(logger, sizeof logger, "lambda/%s", fn);
    char *text = malloc(len + 1);
    if (!text)
        return rc;
    memcpy(text, start, len);
    text[len] = '\0';
    h->call_client_log(call, t->level, logger, text);
    free(text);
    return rc;
}

static const lmcp_wrapper_ops lt_ops = {.invoke = lt_invoke};

/* read once, in init: an overrides block cannot change them (the host refuses it) */
static const char *const lt_instance_settings[] = {"level", NULL};

static const lmcp_plugin_def lt_plugin = {
    .abi_version = LMCP_PLUGIN_ABI_VERSION,
    .struct_size = sizeof(lmcp_plugin_def),
    .kind = LMCP_PLUGIN_WRAPPER,
    .name = "log-tail",
    .version = "1.0",
    .description = "send the last 4 KB of the function's log to clients that asked for logs (logger "
                   "lambda/<function>)",
    .settings = lt_settings,
    .init = lt_init,
    .destroy = lt_destroy,
    .wrapper = &lt_ops,
    .instance_settings = lt_instance_settings,
};

LMCP_PLUGIN_DEFINE(lt_plugin)
