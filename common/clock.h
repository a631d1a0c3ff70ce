/* clock.h -- monotonic and realtime clocks in nanoseconds.
 * Monotonic for durations and latencies (shared by all processes on the host),
 * realtime for wall-clock timestamps in records and logs. */
#ifndef SE_CLOCK_H
#define SE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t clock_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
