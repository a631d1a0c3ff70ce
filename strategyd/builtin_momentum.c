/* builtin_momentum.c -- the "momentum" built-in strategy: goes long max_position
 * after a rise of more than threshold over lookback_period ticks, short after a
 * fall, with MARKET orders. Linked into strategyd through builtins.c.
 *
 * Per symbol: m = p_now / p_then - 1, p_then being the price exactly
 * lookback_period ticks earlier (no signal until that many +1 prices were
 * seen). m > threshold sets the target to +max_position, m < -threshold to
 * -max_position, anything else keeps it (initially 0, or the engine's position
 * adopted before the first order). Every tick sends one MARKET order for
 * target - (position + pending) when that is not 0, capped at order_size when
 * order_size > 0; so a rejected or cancelled order is made up on the next tick.
 * Keys: lookback_period (20), threshold (0.002), max_position (10),
 * order_size (0: no cap), max_symbols (64). */
#include "strategyd/builtins.h"
#include "strategyd/price_window.h"
#include "strategyd/symbol_book.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* Open orders the book can track, per symbol of capacity (the pool is shared;
 * many are needed only with a small order_size cap and slow fills). When it is
 * full a tick returns -ENOSPC instead of sending an order it could not track. */
#define ORDERS_PER_SYMBOL 16

typedef struct {
    builtin__base_t base; /* first: host, life cycle, common counters */

    /* configuration */
    int lookback;        /* lookback_period, ticks */
    double threshold;
    double max_position;
    double order_size;   /* 0: no cap */
    int max_symbols;

    symbol_book_t book;
    price_window_t window; /* per slot: the last lookback+1 prices */
    double *target;        /* per slot: the position the strategy wants: -max, 0 or +max */

    /* metrics besides the common ones */
    double target_changes;
} momentum_t;

static void *momentum_create(const strat_host_t *host)
{
    return builtin__create(host, sizeof(momentum_t));
}

static void free_tables(momentum_t *m)
{
    symbol_book_fini(&m->book);
    price_window_fini(&m->window);
    free(m->target);
    m->target = NULL;
    m->base.initialised = false;
}

static int momentum_init(void *state)
{
    momentum_t *m = state;
    const strat_host_t *h = m->base.host;
    int64_t lookback;
    int rc;

    free_tables(m);
    if ((rc = builtin__cfg_int(h, "lookback_period", 20, 1, 100000, &lookback)) < 0 ||
        (rc = builtin__cfg_double(h, "threshold", 0.002, 0, 0, 10, &m->threshold)) < 0 ||
        (rc = builtin__cfg_double(h, "max_position", 10, 0, 1, 1e12, &m->max_position)) < 0 ||
        (rc = builtin__cfg_double(h, "order_size", 0, 0, 0, 1e12, &m->order_size)) < 0 ||
        (rc = builtin__cfg_max_symbols(h, &m->max_symbols)) < 0)
        return rc;
    m->lookback = (int)lookback;

    if (symbol_book_init(&m->book, m->max_symbols, m->max_symbols * ORDERS_PER_SYMBOL) < 0 ||
        price_window_init(&m->window, m->max_symbols, m->lookback + 1) < 0 ||
        (m->target = calloc((size_t)m->max_symbols, sizeof *m->target)) == NULL) {
        free_tables(m);
        builtin__log(h, STRAT_LOG_ERROR, "out of memory for %d symbols of %d prices", m->max_symbols,
                     m->lookback + 1);
        return -ENOMEM;
    }
    m->base.initialised = true;
    builtin__log(h, STRAT_LOG_INFO, "lookback_period=%d threshold=%g max_position=%g order_size=%g max_symbols=%d",
                 m->lookback, m->threshold, m->max_position, m->order_size, m->max_symbols);
    return 0;
}

static int momentum_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    momentum_t *m = state;
    symbol_slot_t *s;
    double mom, delta, qty;
    int slot, side, rc;

    if (!m->base.running)
        return 0;
    slot = builtin__tick_slot(&m->base, &m->book, tick);
    if (slot < 0)
        return slot;

    price_window_push(&m->window, slot, tick->price);
    if (!price_window_full(&m->window, slot))
        return 0;
    /* The window holds lookback+1 prices: its oldest is exactly lookback
     * ticks before this one. */
    mom = tick->price / price_window_oldest(&m->window, slot) - 1;
    if (mom > m->threshold && m->target[slot] != m->max_position) {
        m->target[slot] = m->max_position;
        m->target_changes++;
    } else if (mom < -m->threshold && m->target[slot] != -m->max_position) {
        m->target[slot] = -m->max_position;
        m->target_changes++;
    }

    s = &m->book.slots[slot];
    delta = m->target[slot] - (s->position + symbol_book_pending(s));
    if (fabs(delta) < SYMBOL_BOOK_EPS || max_out < 1)
        return 0;
    side = delta > 0 ? STRAT_BUY : STRAT_SELL;
    qty = fabs(delta);
    if (m->order_size > 0 && qty > m->order_size)
        qty = m->order_size;

    rc = builtin__new_order(&m->base, &m->book, slot, side, STRAT_MARKET, qty, 0, &out[0]);
    if (rc < 0)
        return rc;
    m->base.signals++;
    return 1;
}

static int momentum_on_fill(void *state, const strat_fill_t *fill)
{
    momentum_t *m = state;
    int slot = builtin__fill(&m->base, &m->book, fill);

    return slot < 0 ? slot : 0;
}

static int momentum_on_order_update(void *state, const strat_order_update_t *u)
{
    momentum_t *m = state;

    if (!m->base.initialised)
        return -EINVAL;
    m->base.order_updates++;
    /* Not one of ours (or already closed): nothing to do, and not an error. */
    (void)symbol_book_close(&m->book, u->client_order_id);
    return 0;
}

static int momentum_on_position_update(void *state, const strat_position_t *p)
{
    momentum_t *m = state;
    int slot, rc = builtin__seed(&m->base, &m->book, p, &slot);

    if (rc > 0) {
        /* A restart: hold what the engine holds until the next signal says
         * otherwise, rather than flattening it at the first full window. */
        m->target[slot] = p->qty;
        builtin__log(m->base.host, STRAT_LOG_INFO, "%s: starting from the engine's position %g", p->symbol,
                     p->qty);
    }
    return rc < 0 ? rc : 0;
}

/* Starting (again) empties the price windows: momentum is measured only over
 * prices seen while running, never against one from before a stop. */
static int momentum_start(void *state)
{
    momentum_t *m = state;

    if (m->base.initialised && !m->base.running)
        price_window_clear(&m->window);
    return builtin__start(state);
}

static int momentum_metrics(void *state, strat_metric_t *out, int max_out)
{
    momentum_t *m = state;
    const strat_metric_t all[] = {
        { "signals_total", m->base.signals },
        { "ticks_total", m->base.ticks },
        { "fills_total", m->base.fills },
        { "order_updates_total", m->base.order_updates },
        { "target_changes_total", m->target_changes },
        { "errors_total", m->base.errors },
        { "symbols", m->book.n_slots },
        { "open_orders", m->book.n_orders },
    };

    return builtin__metrics_out(all, (int)(sizeof all / sizeof all[0]), out, max_out);
}

static void momentum_destroy(void *state)
{
    if (state != NULL)
        free_tables(state);
    free(state);
}

const strat_plugin_t builtin__momentum = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = "momentum",
    .create = momentum_create,
    .init = momentum_init,
    .on_market_data = momentum_on_market_data,
    .on_fill = momentum_on_fill,
    .on_position_update = momentum_on_position_update,
    .on_order_update = momentum_on_order_update,
    .start = momentum_start,
    .stop = builtin__stop,
    .is_running = builtin__is_running,
    .metrics = momentum_metrics,
    .destroy = momentum_destroy,
};
