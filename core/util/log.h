/* Logging to stderr only (stdout carries protocol messages and nothing else).
 * One line per message: "2026-11-21T10:00:00.123Z lambda-mcp[pid] LEVEL component: text".
 * Never pass a secret to these functions. */
#ifndef LMCP_UTIL_LOG_H
#define LMCP_UTIL_LOG_H
#include <stdarg.h>
#include <stdbool.h>
#include <lambda-mcp/plugin.h>

void log_set_level(lmcp_log_level level);
lmcp_log_level log_get_level(void);
bool log_parse_level(const char *s, lmcp_log_level *out); /* error|warn|info|debug|trace */
const char *log_level_name(lmcp_log_level level);
bool log_enabled(lmcp_log_level level);
void log_msg(lmcp_log_level level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(lmcp_log_level level, const char *component, const char *fmt, va_list ap);

#define LOG_ERROR(comp, ...) log_msg(LMCP_LOG_ERROR, comp, __VA_ARGS__)
#define LOG_WARN(comp, ...) log_msg(LMCP_LOG_WARN, comp, __VA_ARGS__)
#define LOG_INFO(comp, ...) log_msg(LMCP_LOG_INFO, comp, __VA_ARGS__)
#define LOG_DEBUG(comp, ...) do { if (log_enabled(LMCP_LOG_DEBUG)) log_msg(LMCP_LOG_DEBUG, comp, __VA_ARGS__); } while (0)
#define LOG_TRACE(comp, ...) do { if (log_enabled(LMCP_LOG_TRACE)) log_msg(LMCP_LOG_TRACE, comp, __VA_ARGS__); } while (0)
#endif
