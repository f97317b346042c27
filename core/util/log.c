#include "config.h"
#include "util/log.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

static atomic_int g_level = LMCP_LOG_INFO;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const names[] = {"error", "warn", "info", "debug", "trace"};

void log_set_level(lmcp_log_level level) { atomic_store(&g_level, (int)level); }
lmcp_log_level log_get_level(void) { return (lmcp_log_level)atomic_load(&g_level); }
/* A level from a plugin can be anything: below error counts as error, above trace as trace. */
static lmcp_log_level clamp_level(lmcp_log_level level)
{
    if ((int)level < (int)LMCP_LOG_ERROR)
        return LMCP_LOG_ERROR;
    if ((int)level > (int)LMCP_LOG_TRACE)
        return LMCP_LOG_TRACE;
    return level;
}

bool log_enabled(lmcp_log_level level) { return (int)clamp_level(level) <= atomic_load(&g_level); }

const char *log_level_name(lmcp_log_level level)
{
    return (unsigned)level < sizeof names / sizeof *names ? names[level] : "?";
}

bool log_parse_level(const char *s, lmcp_log_level *out)
{
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++) {
        if (s && strcmp(s, names[i]) == 0) {
            *out = (lmcp_log_level)i;
            return true;
        }
    }
    if (s && strcmp(s, "warning") == 0) {
        *out = LMCP_LOG_WARN;
        return true;
    }
    return false;
}

void log_vmsg(lmcp_log_level level, const char *component, const char *fmt, va_list ap)
{
    level = clamp_level(level);
    if (!log_enabled(level))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    buf b = BUF_INIT;
    buf_appendf(&b, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ lambda-mcp[%ld] %-5s %s: ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                (long)getpid(), log_level_name(level), component ? component : "core");
    buf_vappendf(&b, fmt, ap);
    /* one message, one line: a newline inside a message would forge a log line; and no other
       control character either (an escape sequence quoted from an AWS answer, an instance's
       role name or a function's log would drive the terminal reading the log) */
    for (size_t i = 0; i < b.len; i++) {
        unsigned char ch = (unsigned char)b.data[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            b.data[i] = ' ';
    }
    buf_append_char(&b, '\n');
    pthread_mutex_lock(&g_mu);
    fwrite(b.data, 1, b.len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&g_mu);
    buf_free(&b);
}

void log_msg(lmcp_log_level level, const char *component, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(level, component, fmt, ap);
    va_end(ap);
}
