/* tick_marker.c -- a test plugin standing in for "a new build" of a strategy
 * in the hot-reload test (test_supervisor): every `every`-th tick (config,
 * default 10) it sends a limit buy of exactly `marker_qty` (default 0.125)
 * a tenth below the bid, so its signals are told apart from any other
 * strategy's. */
#include <stdio.h>
#include <string.h>

#include "fixture.h"

typedef struct {
    const strat_host_t *host;
    int64_t every;
    double qty;
    uint64_t ticks;
} marker_t;

static marker_t the_state;

static void *create(const strat_host_t *host)
{
    memset(&the_state, 0, sizeof the_state);
    the_state.host = host;
    return &the_state;
}

static int init(void *s)
{
    marker_t *m = s;
    if (m->host->config_int(m->host->ctx, "every", 10, &m->every) < 0 ||
        m->host->config_double(m->host->ctx, "marker_qty", 0.125, &m->qty) < 0)
        return -1;
    if (m->every < 1 || !(m->qty > 0)) {
        m->host->log(m->host->ctx, STRAT_LOG_ERROR, "tick_marker: every and marker_qty must be positive");
        return -1;
    }
    return 0;
}

static int tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    marker_t *m = s;
    if (n < 1 || ++m->ticks % (uint64_t)m->every != 0 || !(t->bid > 0))
        return 0;
    memset(o, 0, sizeof *o);
    o->action = STRAT_NEW;
    o->side = STRAT_BUY;
    o->type = STRAT_LIMIT;
    o->qty = m->qty;
    o->price = t->bid * 0.9;
    snprintf(o->symbol, sizeof o->symbol, "%s", t->symbol);
    m->host->new_order_id(m->host->ctx, o->client_order_id);
    return 1;
}

FIXTURE_PLUGIN("tick_marker", create, init, tick)
