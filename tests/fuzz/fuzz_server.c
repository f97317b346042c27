/* libFuzzer target: mcp_server_handle_line (core/mcp/server.c) on arbitrary lines.
 * A small fixed tool set (one with an input schema, one wrapped in upstream's "parameters"
 * shape), a real executor and wrapper chain whose terminal is scripted (no AWS): it echoes the
 * event, or returns arguments.p (base64 when it decodes, so any bytes) as the function's
 * payload or as its function-error payload, so results.c sees arbitrary Lambda output too.
 * Input: the first byte selects options (bit 0: tools wait for a discovery; bit 1: page size 1;
 * bit 2: debug logging),
 * the rest is lines separated by '\n'. Property: every line the server writes is one JSON
 * object with "jsonrpc": "2.0", and the server does not crash, leak or hang. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "invoke/chain.h"
#include "invoke/executor.h"
#include "mcp/framing.h"
#include "mcp/results.h"
#include "mcp/server.h"
#include "tools/registry.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/jsonparse.h"
#include "util/log.h"
#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void must(int cond, const char *what, const char *line, size_t n)
{
    if (!cond) {
        fprintf(stderr, "fuzz_server: property violated: %s: %.*s\n", what, (int)(n > 2000 ? 2000 : n), line);
        abort();
    }
}

static int terminal(void *ctx, lmcp_call *call, lmcp_result *res)
{
    (void)ctx;
    const char *fn = call->tool->function_name;
    json_object *p = NULL;
    const char *ps = "";
    size_t pn = 0;
    unsigned char *raw = NULL;
    if (call->arguments && json_object_object_get_ex(call->arguments, "p", &p) && json_object_is_type(p, json_type_string)) {
        ps = json_object_get_string(p);
        pn = (size_t)json_object_get_string_len(p);
        size_t rn = 0;
        raw = base64_decode(ps, &rn);
        if (raw) {
            ps = (const char *)raw;
            pn = rn;
        }
    }
    if (strcmp(fn, "fn-echo") == 0) {
        const char *s = json_object_to_json_string_ext(call->event, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        result_set_ok(res, s, strlen(s));
    } else if (strcmp(fn, "fn-payload") == 0) {
        result_set_ok(res, ps, pn);
    } else if (strcmp(fn, "fn-fail") == 0) {
        result_clear(res);
        res->outcome = LMCP_OUTCOME_FUNCTION_ERROR;
        buf_append(&res->payload, ps, pn);
    } else {
        result_set_error(res, LMCP_OUTCOME_AWS_ERROR, "ResourceNotFoundException", "no such function %s", fn);
    }
    free(raw);
    return LMCP_OK;
}

static registry *reg;
static chain *ch;

static void add_tool(tool_snapshot *snap, const char *name, const char *fn, const char *schema, bool wrap)
{
    tool *t = snapshot_add(snap);
    t->name = xstrdup(name);
    t->description = xasprintf("Calls %s", fn);
    t->function_name = xstrdup(fn);
    t->schema_text = xstrdup(schema);
    t->wrap_parameters = wrap;
    t->timeout_ms = 30000;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    reg = registry_new();
    tool_snapshot *snap = snapshot_new();
    add_tool(snap, "echo", "fn-echo", NULL, false);
    add_tool(snap, "payload", "fn-payload", NULL, false);
    add_tool(snap, "fail", "fn-fail", NULL, false);
    add_tool(snap, "wrapped", "fn-echo", NULL, true);
    add_tool(snap, "typed", "fn-echo",
             "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"minimum\":0},"
             "\"s\":{\"type\":\"string\",\"pattern\":\"^[a-z]+$\",\"maxLength\":8},"
             "\"e\":{\"enum\":[1,\"a\",null]}},\"required\":[\"n\"],\"additionalProperties\":false}",
             false);
    add_tool(snap, "missing", "fn-missing", NULL, false);
    snapshot_finish(snap);
    registry_publish(reg, snap);
    ch = chain_new(terminal, NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    /* bit 2: debug logging, so the log lines built from client input are made too (run the fuzzer
       with -close_fd_mask=2 to keep them off the terminal) */
    log_set_level((flags & 4) ? LMCP_LOG_TRACE : LMCP_LOG_ERROR);
    data++, size--;
    FILE *tf = tmpfile();
    if (!tf)
        abort();
    executor_opts eo = {.max_inflight = 4, .max_queued = 8};
    executor *ex = executor_new(&eo, ch);
    out_writer *w = out_writer_new(fileno(tf));
    mcp_server_opts so = {
        .name = "lambda-mcp",
        .version = "9.9.9",
        .instructions = "fuzz",
        .tools_ttl_ms = 60000,
        .page_size = (flags & 2) ? 1 : 100,
        .max_line = 4096,
        .out = w,
        .reg = reg,
        .exec = ex,
        .tools_pending = (flags & 1) != 0,
    };
    mcp_server *s = mcp_server_new(&so);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (n)
            mcp_server_handle_line(s, p, n);
        p += n + 1;
    }
    if (flags & 1)
        mcp_server_tools_ready(s);
    int64_t until = clock_mono_us() + 5 * 1000000;
    while (executor_inflight(ex) > 0 && clock_mono_us() < until)
        clock_sleep_ms(1);
    mcp_server_shutdown(s, 1000);
    mcp_server_free(s);
    executor_free(ex);
    out_writer_free(w);

    /* every line written is one JSON-RPC 2.0 object */
    fflush(tf);
    long len = ftell(tf);
    char *out = malloc(len > 0 ? (size_t)len : 1);
    rewind(tf);
    size_t got = len > 0 ? fread(out, 1, (size_t)len, tf) : 0;
    fclose(tf);
    const char *q = out, *qend = out + got;
    while (q < qend) {
        const char *nl = memchr(q, '\n', (size_t)(qend - q));
        must(nl != NULL, "output does not end in a newline", q, (size_t)(qend - q));
        size_t n = (size_t)(nl - q);
        json_object *o = NULL;
        const char *err = NULL;
        must(json_parse_strict(q, n, JSON_MAX_DEPTH, &o, &err), "output line is not JSON", q, n);
        must(json_object_is_type(o, json_type_object), "output line is not an object", q, n);
        json_object *v = NULL;
        must(json_object_object_get_ex(o, "jsonrpc", &v) && json_object_is_type(v, json_type_string) &&
                 strcmp(json_object_get_string(v), "2.0") == 0,
             "output line without jsonrpc 2.0", q, n);
        bool has_id = json_object_object_get_ex(o, "id", &v);
        must(!has_id || json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int),
             "output id is neither a string nor an integer", q, n);
        json_object_put(o);
        q = nl + 1;
    }
    free(out);
    return 0;
}
