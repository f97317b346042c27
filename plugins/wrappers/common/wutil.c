/* Helpers shared by the wrapper plugins (see wutil.h). */
#include "wutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void wu_log_add(wu_logq *q, const lmcp_host *h, lmcp_log_level level, const char *fmt, ...)
{
    if (q->n >= WU_LOGQ_MAX || !h->log_enabled(level))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->text[q->n], WU_LOG_LINE, fmt, ap);
    va_end(ap);
    q->level[q->n++] = level;
}

void wu_log_flush(wu_logq *q, const lmcp_host *h, const lmcp_instance *inst)
{
    for (size_t i = 0; i < q->n; i++)
        h->log(inst, q->level[i], "%s", q->text[i]);
    q->n = 0;
}

const char *wu_arguments_sha256(const lmcp_host *h, const lmcp_call *call, char buf[65])
{
    if (LMCP_HOST_HAS(h, call_arguments_sha256)) {
        const char *d = h->call_arguments_sha256(call);
        if (d)
            return d;
    }
    const lmcp_json *args = h->call_arguments(call);
    char *canon = args ? h->json_to_string(args, LMCP_JSON_CANONICAL) : NULL;
    const char *text = canon ? canon : "{}";
    h->sha256_hex(text, strlen(text), buf);
    h->free(canon);
    return buf;
}
