#ifndef LMCP_UTIL_CLOCK_H
#define LMCP_UTIL_CLOCK_H
#include <stdint.h>
#include <time.h>
int64_t clock_wall_ms(void);       /* Unix epoch, milliseconds */
int64_t clock_mono_us(void);       /* CLOCK_MONOTONIC, microseconds */
void clock_sleep_ms(int64_t ms);
/* "2015-08-30T12:36:00Z" (and fractional seconds, +00:00 offsets) -> epoch ms; -1 if invalid */
int64_t clock_parse_iso8601_ms(const char *s);
/* struct timespec for pthread_cond_timedwait on CLOCK_MONOTONIC, ms from now */
struct timespec clock_mono_deadline(int64_t ms_from_now);
#endif
