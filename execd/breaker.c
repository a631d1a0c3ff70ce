/* breaker.c -- see breaker.h. */
#include "execd/breaker.h"

void breaker_init(breaker_t *b, int max_failures, int64_t cooldown_ns)
{
    *b = (breaker_t){ .max_failures = max_failures < 1 ? 1 : max_failures,
                      .cooldown_ns = cooldown_ns < 0 ? 0 : cooldown_ns,
                      .state = BREAKER_CLOSED };
}

breaker_change_t breaker_on_success(breaker_t *b)
{
    b->failures = 0;
    if (b->state == BREAKER_CLOSED)
        return BREAKER_SAME;
    b->state = BREAKER_CLOSED;
    return BREAKER_CLOSED_AGAIN;
}

breaker_change_t breaker_on_failure(breaker_t *b, int64_t now_ns)
{
    b->failures++;
    switch (b->state) {
    case BREAKER_CLOSED:
        if (b->failures < b->max_failures)
            return BREAKER_SAME;
        b->state = BREAKER_OPEN;
        b->probe_at_ns = now_ns + b->cooldown_ns;
        return BREAKER_OPENED;
    case BREAKER_PROBING:
        b->state = BREAKER_OPEN;
        b->probe_at_ns = now_ns + b->cooldown_ns;
        return BREAKER_SAME;
    case BREAKER_OPEN: /* a call sent before it opened: the cooldown stands */
        return BREAKER_SAME;
    }
    return BREAKER_SAME;
}

bool breaker_probe_due(breaker_t *b, int64_t now_ns)
{
    if (b->state != BREAKER_OPEN || now_ns < b->probe_at_ns)
        return false;
    b->state = BREAKER_PROBING;
    return true;
}

int64_t breaker_next_event_ns(const breaker_t *b)
{
    return b->state == BREAKER_OPEN ? b->probe_at_ns : INT64_MAX;
}
