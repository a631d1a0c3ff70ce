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
#include "strategyd/symbol_book.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Open orders the book can track, per symbol of capacity (the pool is shared;
 * many are needed only with a small order_size cap and slow fills). When it is
 * full a tick returns -ENOSPC instead of sending an order it could not track. */
#define ORDERS_PER_SYMBOL 16

typedef struct {
    const strat_host_t *host;
    bool initialised, running;

    /* configuration */
    int lookback;        /* lookback_period, ticks */
    double threshold;
    double max_position;
    double order_size;   /* 0: no cap */
    int max_symbols;

    symbol_book_t book;
    /* Per slot: the last lookback+1 prices, a ring. */
    double *prices;      /* [slot * (lookback + 1) + i] */
    int *count, *head;   /* prices seen (up to lookback+1), next index to write */
    double *target;      /* the position the strategy wants: -max, 0 or +max */

    /* metrics */
    double ticks, signals, fills, order_updates, target_changes, errors;
} momentum_t;

static void *momentum_create(const strat_host_t *host)
{
    momentum_t *m;

    if (builtin__check_host(host) < 0)
        return NULL;
    m = calloc(1, sizeof *m);
    if (m != NULL)
        m->host = host;
    return m;
}

static void free_tables(momentum_t *m)
{
    symbol_book_fini(&m->book);
    free(m->prices);
    free(m->count);
    free(m->head);
    free(m->target);
    m->prices = m->target = NULL;
    m->count = m->head = NULL;
    m->initialised = false;
}

static int momentum_init(void *state)
{
    momentum_t *m = state;
    const strat_host_t *h = m->host;
    int64_t lookback;
    size_t n;
    int rc;

    free_tables(m);
    if ((rc = builtin__cfg_int(h, "lookback_period", 20, 1, 100000, &lookback)) < 0 ||
        (rc = builtin__cfg_double(h, "threshold", 0.002, 0, 0, 10, &m->threshold)) < 0 ||
        (rc = builtin__cfg_double(h, "max_position", 10, 0, 1, 1e12, &m->max_position)) < 0 ||
        (rc = builtin__cfg_double(h, "order_size", 0, 0, 0, 1e12, &m->order_size)) < 0 ||
        (rc = builtin__cfg_max_symbols(h, &m->max_symbols)) < 0)
        return rc;
    m->lookback = (int)lookback;

    n = (size_t)m->max_symbols;
    rc = symbol_book_init(&m->book, m->max_symbols, m->max_symbols * ORDERS_PER_SYMBOL);
    m->prices = calloc(n * (size_t)(m->lookback + 1), sizeof *m->prices);
    m->count = calloc(n, sizeof *m->count);
    m->head = calloc(n, sizeof *m->head);
    m->target = calloc(n, sizeof *m->target);
    if (rc < 0 || !m->prices || !m->count || !m->head || !m->target) {
        free_tables(m);
        builtin__log(h, STRAT_LOG_ERROR, "out of memory for %d symbols of %d prices", m->max_symbols,
                     m->lookback + 1);
        return -ENOMEM;
    }
    m->initialised = true;
    builtin__log(h, STRAT_LOG_INFO, "lookback_period=%d threshold=%g max_position=%g order_size=%g max_symbols=%d",
                 m->lookback, m->threshold, m->max_position, m->order_size, m->max_symbols);
    return 0;
}

static int momentum_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    momentum_t *m = state;
    const int w = m->lookback + 1;
    symbol_slot_t *s;
    double *ring, p_old, mom, delta, qty;
    int slot, side;
    strat_signal_t *sig;

    if (!m->running)
        return 0;
    m->ticks++;
    if (!(tick->price > 0) || !isfinite(tick->price)) {
        m->errors++;
        return -EINVAL;
    }
    slot = symbol_book_slot(&m->book, tick->symbol);
    if (slot < 0) {
        m->errors++;
        return slot;
    }

    ring = &m->prices[(size_t)slot * (size_t)w];
    ring[m->head[slot]] = tick->price;
    m->head[slot] = (m->head[slot] + 1) % w;
    if (m->count[slot] < w)
        m->count[slot]++;
    if (m->count[slot] < w)
        return 0;

    /* The ring is full, so the oldest price (the next one to be overwritten)
     * is exactly lookback ticks before this one. */
    p_old = ring[m->head[slot]];
    mom = tick->price / p_old - 1;
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

    sig = &out[0];
    memset(sig, 0, sizeof *sig);
    m->host->new_order_id(m->host->ctx, sig->client_order_id);
    {
        int rc = symbol_book_track(&m->book, slot, sig->client_order_id, side, qty);
        if (rc < 0) {
            m->errors++;
            return rc;
        }
    }
    sig->action = STRAT_NEW;
    sig->side = side;
    sig->type = STRAT_MARKET;
    sig->qty = qty;
    sig->price = 0;
    memcpy(sig->symbol, s->symbol, sizeof sig->symbol);
    m->signals++;
    return 1;
}

static int momentum_on_fill(void *state, const strat_fill_t *fill)
{
    momentum_t *m = state;
    int slot, rc;

    if (!m->initialised)
        return -EINVAL;
    m->fills++;
    slot = symbol_book_slot(&m->book, fill->symbol);
    rc = slot < 0 ? slot : symbol_book_fill(&m->book, slot, fill);
    if (rc < 0)
        m->errors++;
    return rc;
}

static int momentum_on_order_update(void *state, const strat_order_update_t *u)
{
    momentum_t *m = state;

    if (!m->initialised)
        return -EINVAL;
    m->order_updates++;
    /* Not one of ours (or already closed): nothing to do, and not an error. */
    (void)symbol_book_close(&m->book, u->client_order_id);
    return 0;
}

static int momentum_on_position_update(void *state, const strat_position_t *p)
{
    momentum_t *m = state;
    int slot;

    if (!m->initialised)
        return -EINVAL;
    slot = symbol_book_slot(&m->book, p->symbol);
    if (slot < 0) {
        m->errors++;
        return slot;
    }
    if (symbol_book_seed(&m->book, slot, p->qty)) {
        /* A restart: hold what the engine holds until the next signal says
         * otherwise, rather than flattening it at the first full window. */
        m->target[slot] = p->qty;
        builtin__log(m->host, STRAT_LOG_INFO, "%s: starting from the engine's position %g", p->symbol, p->qty);
    }
    return 0;
}

/* Starting (again) empties the price windows: momentum is measured only over
 * prices seen while running, never against one from before a stop. */
static int momentum_start(void *state)
{
    momentum_t *m = state;

    if (!m->initialised)
        return -EINVAL;
    if (!m->running) {
        memset(m->count, 0, (size_t)m->max_symbols * sizeof *m->count);
        memset(m->head, 0, (size_t)m->max_symbols * sizeof *m->head);
    }
    m->running = true;
    return 0;
}

static int momentum_stop(void *state)
{
    ((momentum_t *)state)->running = false;
    return 0;
}

static int momentum_is_running(void *state)
{
    return ((momentum_t *)state)->running;
}

static int momentum_metrics(void *state, strat_metric_t *out, int max_out)
{
    momentum_t *m = state;
    const strat_metric_t all[] = {
        { "signals_total", m->signals },
        { "ticks_total", m->ticks },
        { "fills_total", m->fills },
        { "order_updates_total", m->order_updates },
        { "target_changes_total", m->target_changes },
        { "errors_total", m->errors },
        { "symbols", m->book.n_slots },
        { "open_orders", m->book.n_orders },
    };
    int n = (int)(sizeof all / sizeof all[0]);

    if (max_out < n)
        n = max_out < 0 ? 0 : max_out;
    if (n > 0)
        memcpy(out, all, (size_t)n * sizeof all[0]);
    return n;
}

static void momentum_destroy(void *state)
{
    momentum_t *m = state;

    if (m == NULL)
        return;
    free_tables(m);
    free(m);
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
    .stop = momentum_stop,
    .is_running = momentum_is_running,
    .metrics = momentum_metrics,
    .destroy = momentum_destroy,
};
