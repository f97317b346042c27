#include "config.h"
#include "invoke/call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clock.h"
#include "util/str.h"

/* The names live next to the enum in the plugin header, shared with the plugins (audit). */
const char *outcome_name(lmcp_outcome o) { return lmcp_outcome_name(o); }

void result_init(lmcp_result *r) { memset(r, 0, sizeof *r); }

void result_clear(lmcp_result *r)
{
    buf_free(&r->payload);
    json_object_put(r->payload_json);
    free(r->error_type);
    free(r->error_message);
    free(r->request_id);
    free(r->executed_version);
    free(r->log_tail);
    result_init(r);
}

lmcp_result *result_new(void)
{
    lmcp_result *r = xmalloc(sizeof *r);
    result_init(r);
    return r;
}

void result_free(lmcp_result *r)
{
    if (!r)
        return;
    result_clear(r);
    free(r);
}

void result_set_payload(lmcp_result *r, const char *payload, size_t len, json_object *parsed)
{
    buf_reset(&r->payload);
    buf_append(&r->payload, payload ? payload : "", payload ? len : 0);
    json_object_put(r->payload_json);
    r->payload_json = parsed;
}

void result_set_ok(lmcp_result *r, const char *payload, size_t len)
{
    r->outcome = LMCP_OUTCOME_OK;
    result_set_payload(r, payload, len, NULL);
    free(r->error_type);
    free(r->error_message);
    r->error_type = r->error_message = NULL;
}

void result_set_errorv(lmcp_result *r, lmcp_outcome o, const char *type, const char *fmt, va_list ap)
{
    r->outcome = o;
    free(r->error_type);
    r->error_type = xstrdup(type);
    buf msg = BUF_INIT;
    buf_vappendf(&msg, fmt, ap);
    free(r->error_message);
    r->error_message = buf_steal(&msg);
}

void result_set_error(lmcp_result *r, lmcp_outcome o, const char *type, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    result_set_errorv(r, o, type, fmt, ap);
    va_end(ap);
}

void result_copy(lmcp_result *dst, const lmcp_result *src)
{
    if (dst == src)
        return;
    result_clear(dst);
    dst->outcome = src->outcome;
    buf_append(&dst->payload, src->payload.data ? src->payload.data : "", src->payload.len);
    dst->error_type = xstrdup(src->error_type);
    dst->error_message = xstrdup(src->error_message);
    dst->request_id = xstrdup(src->request_id);
    dst->executed_version = xstrdup(src->executed_version);
    dst->log_tail = xstrdup(src->log_tail);
    dst->http_status = src->http_status;
    dst->retry_after_ms = src->retry_after_ms;
    dst->from_cache = src->from_cache;
    dst->lambda_called = src->lambda_called;
    dst->duration_us = src->duration_us;
}

lmcp_call *call_new(tool_snapshot *snap, const tool *t, json_object *arguments, int64_t timeout_ms)
{
    lmcp_call *c = xcalloc(1, sizeof *c);
    atomic_init(&c->refs, 1);
    c->snap = snapshot_ref(snap);
    c->tool = t;
    c->arguments = arguments ? json_object_get(arguments) : json_object_new_object();
    if (t->wrap_parameters) {
        json_object *p = NULL;
        json_object_object_get_ex(c->arguments, "parameters", &p);
        c->event = p ? json_object_get(p) : json_object_new_object();
    } else {
        c->event = json_object_get(c->arguments);
    }
    atomic_init(&c->args_sha256, NULL);
    c->started_us = clock_mono_us();
    c->deadline_us = timeout_ms > 0 ? c->started_us + timeout_ms * 1000 : 0;
    pthread_mutex_init(&c->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->cv, &ca);
    pthread_condattr_destroy(&ca);
    return c;
}

lmcp_call *call_ref(lmcp_call *c)
{
    atomic_fetch_add(&c->refs, 1);
    return c;
}

void call_release(lmcp_call *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    json_object_put(c->arguments);
    json_object_put(c->event);
    snapshot_release(c->snap);
    free(atomic_load(&c->args_sha256));
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

void call_cancel(lmcp_call *c)
{
    pthread_mutex_lock(&c->mu);
    /* read without the lock by libcurl's progress callback (http.c): an atomic store */
    __atomic_store_n(&c->cancelled, 1, __ATOMIC_SEQ_CST);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

bool call_is_cancelled(const lmcp_call *c) { return __atomic_load_n(&c->cancelled, __ATOMIC_SEQ_CST) != 0; }

int call_sleep(lmcp_call *c, int64_t ms)
{
    int64_t now = clock_mono_us();
    int64_t until = now + (ms > 0 ? ms : 0) * 1000;
    int rc = LMCP_OK;
    if (c->deadline_us && c->deadline_us < until) {
        until = c->deadline_us;
        rc = LMCP_TIMEOUT;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->cancelled) {
        now = clock_mono_us();
        if (now >= until)
            break;
        struct timespec ts = clock_mono_deadline((until - now + 999) / 1000);
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
    }
    if (c->cancelled)
        rc = LMCP_CANCELLED;
    pthread_mutex_unlock(&c->mu);
    return rc;
}
