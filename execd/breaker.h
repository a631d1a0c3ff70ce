/* breaker.h -- the circuit breaker of live execution: after too many
 * consecutive failed venue calls execd stops sending (orders are refused at
 * once) and probes the venue after a cooldown. Used by execd/backend_grpc.c;
 * pure state, no I/O, time passed in. */
#ifndef EXECD_BREAKER_H
#define EXECD_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    BREAKER_CLOSED = 0,  /* orders go to the venue */
    BREAKER_OPEN = 1,    /* orders are refused; a probe is due at probe_at_ns */
    BREAKER_PROBING = 2, /* a probe call is in flight; orders still refused */
} breaker_state_t;

/* What a call's outcome did to the breaker. */
typedef enum { BREAKER_SAME = 0, BREAKER_OPENED = 1, BREAKER_CLOSED_AGAIN = 2 } breaker_change_t;

typedef struct {
    int max_failures;    /* consecutive failures that open it */
    int64_t cooldown_ns; /* open -> probe */
    int failures;        /* consecutive, since the last success */
    breaker_state_t state;
    int64_t probe_at_ns;
} breaker_t;

/* A closed breaker. max_failures >= 1, cooldown_ns >= 0. */
void breaker_init(breaker_t *b, int max_failures, int64_t cooldown_ns);

/* True when orders may be sent (closed). */
static inline bool breaker_allows(const breaker_t *b)
{
    return b->state == BREAKER_CLOSED;
}

/* The venue answered (whatever it said): resets the count and closes an open
 * or probing breaker (BREAKER_CLOSED_AGAIN), else BREAKER_SAME. */
breaker_change_t breaker_on_success(breaker_t *b);

/* A call failed for good (unavailable or timed out after its retries), or a
 * probe failed: counts it; the max_failures-th consecutive failure opens a
 * closed breaker (BREAKER_OPENED). A failed probe re-opens for another
 * cooldown (BREAKER_SAME: it was never closed). */
breaker_change_t breaker_on_failure(breaker_t *b, int64_t now_ns);

/* True once, when an open breaker's cooldown has passed: the caller sends one
 * probe and the breaker is PROBING until breaker_on_success/on_failure. */
bool breaker_probe_due(breaker_t *b, int64_t now_ns);

/* When breaker_probe_due next can be true, or INT64_MAX. */
int64_t breaker_next_event_ns(const breaker_t *b);

#endif
