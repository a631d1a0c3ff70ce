/* builtin_market_making.c -- the "market_making" built-in strategy: keeps one
 * LIMIT bid and one LIMIT ask around the mid, skewed against its inventory and
 * bounded by max_inventory. Linked into strategyd through builtins.c.
 *
 * Per symbol, with half = mid*spread/2 and q = position/max_inventory clamped
 * to [-1, 1]: bid = mid - half - skew*q*half rounded down to tick_size, ask =
 * mid + half - skew*q*half rounded up. Quotes are order_size. The first tick
 * quotes at once; afterwards a refresh happens on a tick at least refresh_ms
 * (host clock) after the last refresh that sent something, and touches only a
 * side whose price changed, that has no quote (filled, or closed by the venue)
 * or that was partly filled: CANCEL the old quote by its client_order_id, then
 * NEW. A side is not quoted when position plus every open order of ours on
 * that side (replaced ones too, until their cancel is confirmed, since they
 * can still fill) plus order_size could take |position| past max_inventory;
 * a resting quote that could is cancelled. Keys: spread (0.001), order_size
 * (1), max_inventory (10), inventory_skew (0.5, in [0, 1]), refresh_ms (500),
 * tick_size (0.01), max_symbols (64). */
#include "strategyd/builtins.h"
#include "strategyd/symbol_book.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Two quotes plus replaced ones whose cancel is not yet confirmed. */
#define ORDERS_PER_SYMBOL 16

enum { BID = 0, ASK = 1 };

/* One side's resting quote, as this strategy sees it. */
typedef struct {
    char id[STRAT_ID_MAX]; /* its client_order_id, for the CANCEL */
    double price;
    bool live;    /* sent, and not yet filled completely, cancelled by us or closed by the venue */
    bool stale;   /* partly filled: replace it at the next refresh even at an unchanged price */
    bool blocked; /* the last refresh could not quote this side (max_inventory) */
} quote_t;

typedef struct {
    quote_t q[2];
    int64_t last_quote_ns; /* host clock of the last refresh that sent anything */
    bool seen;             /* has had a tick (the first one quotes at once) */
} mm_symbol_t;

typedef struct {
    builtin__base_t base; /* first: host, life cycle, common counters */

    /* configuration */
    double spread, order_size, max_inventory, inventory_skew, tick_size;
    int64_t refresh_ns;
    int max_symbols;

    symbol_book_t book;
    mm_symbol_t *syms; /* per book slot */

    /* metrics besides the common ones */
    double quotes, cancels, blocked;
} mm_t;

static void *mm_create(const strat_host_t *host)
{
    return builtin__create(host, sizeof(mm_t));
}

static void free_tables(mm_t *m)
{
    symbol_book_fini(&m->book);
    free(m->syms);
    m->syms = NULL;
    m->base.initialised = false;
}

static int mm_init(void *state)
{
    mm_t *m = state;
    const strat_host_t *h = m->base.host;
    int64_t refresh_ms;
    int rc;

    free_tables(m);
    if ((rc = builtin__cfg_double(h, "spread", 0.001, 0, 1, 1, &m->spread)) < 0 ||
        (rc = builtin__cfg_double(h, "order_size", 1, 0, 1, 1e12, &m->order_size)) < 0 ||
        (rc = builtin__cfg_double(h, "max_inventory", 10, 0, 1, 1e12, &m->max_inventory)) < 0 ||
        (rc = builtin__cfg_double(h, "inventory_skew", 0.5, 0, 0, 1, &m->inventory_skew)) < 0 ||
        (rc = builtin__cfg_int(h, "refresh_ms", 500, 0, 86400000, &refresh_ms)) < 0 ||
        (rc = builtin__cfg_double(h, "tick_size", 0.01, 0, 1, 1e6, &m->tick_size)) < 0 ||
        (rc = builtin__cfg_max_symbols(h, &m->max_symbols)) < 0)
        return rc;
    if (m->order_size > m->max_inventory) {
        builtin__log(h, STRAT_LOG_ERROR, "config key 'order_size' = %g exceeds 'max_inventory' = %g: "
                     "no quote could ever be sent", m->order_size, m->max_inventory);
        return -EINVAL;
    }
    m->refresh_ns = refresh_ms * 1000000;

    rc = symbol_book_init(&m->book, m->max_symbols, m->max_symbols * ORDERS_PER_SYMBOL);
    m->syms = calloc((size_t)m->max_symbols, sizeof *m->syms);
    if (rc < 0 || m->syms == NULL) {
        free_tables(m);
        builtin__log(h, STRAT_LOG_ERROR, "out of memory for %d symbols", m->max_symbols);
        return -ENOMEM;
    }
    m->base.initialised = true;
    builtin__log(h, STRAT_LOG_INFO, "spread=%g order_size=%g max_inventory=%g inventory_skew=%g "
                 "refresh_ms=%lld tick_size=%g max_symbols=%d", m->spread, m->order_size, m->max_inventory,
                 m->inventory_skew, (long long)refresh_ms, m->tick_size, m->max_symbols);
    return 0;
}

/* Rounds to the tick grid, bid down and ask up. The slack absorbs the binary
 * error of p / tick (100.05 / 0.01 is 10004.999...), never a real fraction. */
static inline double round_down(double p, double tick)
{
    double n = p / tick;
    return floor(n + 1e-9 + fabs(n) * 1e-12) * tick;
}

static inline double round_up(double p, double tick)
{
    double n = p / tick;
    return ceil(n - 1e-9 - fabs(n) * 1e-12) * tick;
}

/* Fills out with a CANCEL of side's resting quote. The ABI needs only the id
 * and symbol; side, type, qty (still open) and price are given for the record. */
static void write_cancel(mm_t *m, int slot, int side, strat_signal_t *out)
{
    const symbol_slot_t *s = &m->book.slots[slot];
    quote_t *qt = &m->syms[slot].q[side];

    memset(out, 0, sizeof *out);
    out->action = STRAT_CANCEL;
    out->side = side == BID ? STRAT_BUY : STRAT_SELL;
    out->type = STRAT_LIMIT;
    out->qty = symbol_book_open_qty(&m->book, qt->id);
    out->price = qt->price;
    memcpy(out->symbol, s->symbol, sizeof out->symbol);
    memcpy(out->client_order_id, qt->id, sizeof out->client_order_id);
    qt->live = false;
    m->cancels++;
}

/* Brings one side of slot's quote to price: keeps it, cancels it, and/or
 * sends a new one. Returns the number of signals written to out (<= max_out). */
static int refresh_side(mm_t *m, int slot, int side, double price, strat_signal_t *out, int max_out)
{
    symbol_slot_t *s = &m->book.slots[slot];
    quote_t *qt = &m->syms[slot].q[side];
    /* Worst case for |position|: every open order on this side fills, including
     * replaced ones whose cancel is not confirmed yet (a cancel can lose the race). */
    double worst = side == BID ? s->position + s->pending_buy : -(s->position - s->pending_sell);
    bool over = worst > m->max_inventory + SYMBOL_BOOK_EPS;
    bool room = worst + m->order_size <= m->max_inventory + SYMBOL_BOOK_EPS;
    bool priced = price > 0;
    int n = 0;

    if (qt->live) {
        bool same = fabs(qt->price - price) < m->tick_size / 2;
        if (same && !qt->stale && !over && priced)
            return 0;
        if (max_out < 1)
            return 0;
        write_cancel(m, slot, side, &out[n++]);
    }
    if (!priced)
        return n;
    if (!room) {
        if (!qt->blocked)
            m->blocked++;
        qt->blocked = true;
        return n;
    }
    qt->blocked = false;
    if (n >= max_out)
        return n;

    /* A failure means the order table is full of unconfirmed cancels (counted
     * as an error): try again next refresh. */
    if (builtin__new_order(&m->base, &m->book, slot, side == BID ? STRAT_BUY : STRAT_SELL, STRAT_LIMIT,
                           m->order_size, price, &out[n]) < 0)
        return n;
    memcpy(qt->id, out[n].client_order_id, sizeof qt->id);
    qt->price = price;
    qt->live = true;
    qt->stale = false;
    m->quotes++;
    return n + 1;
}

static int mm_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    mm_t *m = state;
    mm_symbol_t *sym;
    symbol_slot_t *s;
    double mid, half, q, shift;
    int64_t now;
    int slot, n = 0;
    bool first;

    if (!m->base.running)
        return 0;
    slot = builtin__tick_slot(&m->base, &m->book, tick);
    if (slot < 0)
        return slot;
    sym = &m->syms[slot];
    s = &m->book.slots[slot];
    now = m->base.host->now_ns(m->base.host->ctx);
    first = !sym->seen;
    if (!first && now - sym->last_quote_ns < m->refresh_ns)
        return 0;

    mid = tick->price;
    half = mid * m->spread / 2;
    q = s->position / m->max_inventory;
    q = q > 1 ? 1 : q < -1 ? -1 : q;
    /* Long inventory lowers both quotes (sell sooner, buy later); short raises them. */
    shift = m->inventory_skew * q * half;
    if (max_out > 0) {
        n += refresh_side(m, slot, BID, round_down(mid - half - shift, m->tick_size), out, max_out);
        n += refresh_side(m, slot, ASK, round_up(mid + half - shift, m->tick_size), out + n, max_out - n);
    }
    sym->seen = true;
    /* A refresh that changed nothing does not restart the clock, so the next
     * price change is quoted at once. */
    if (n > 0 || first)
        sym->last_quote_ns = now;
    m->base.signals += n;
    return n;
}

/* After a fill or a close of order id: a quote that is gone stops being live,
 * one partly filled is replaced at the next refresh. */
static void forget_quote(mm_t *m, int slot, const char *id)
{
    for (int side = BID; side <= ASK; side++) {
        quote_t *qt = &m->syms[slot].q[side];
        if (!qt->live || id == NULL || strncmp(qt->id, id, STRAT_ID_MAX) != 0)
            continue;
        if (symbol_book_open_qty(&m->book, id) < SYMBOL_BOOK_EPS)
            qt->live = false;
        else
            qt->stale = true;
    }
}

static int mm_on_fill(void *state, const strat_fill_t *fill)
{
    mm_t *m = state;
    int slot = builtin__fill(&m->base, &m->book, fill);

    if (slot < 0)
        return slot;
    forget_quote(m, slot, fill->client_order_id);
    return 0;
}

static int mm_on_order_update(void *state, const strat_order_update_t *u)
{
    mm_t *m = state;
    int slot;

    if (!m->base.initialised)
        return -EINVAL;
    m->base.order_updates++;
    slot = symbol_book_close(&m->book, u->client_order_id);
    if (slot >= 0)
        forget_quote(m, slot, u->client_order_id);
    return 0;
}

static int mm_on_position_update(void *state, const strat_position_t *p)
{
    mm_t *m = state;
    int slot, rc = builtin__seed(&m->base, &m->book, p, &slot);

    if (rc > 0)
        builtin__log(m->base.host, STRAT_LOG_INFO, "%s: starting from the engine's position %g", p->symbol,
                     p->qty);
    return rc < 0 ? rc : 0;
}

static int mm_metrics(void *state, strat_metric_t *out, int max_out)
{
    mm_t *m = state;
    const strat_metric_t all[] = {
        { "signals_total", m->base.signals },
        { "quotes_total", m->quotes },
        { "cancels_total", m->cancels },
        { "quotes_blocked_total", m->blocked },
        { "ticks_total", m->base.ticks },
        { "fills_total", m->base.fills },
        { "order_updates_total", m->base.order_updates },
        { "errors_total", m->base.errors },
        { "symbols", m->book.n_slots },
        { "open_orders", m->book.n_orders },
    };

    return builtin__metrics_out(all, (int)(sizeof all / sizeof all[0]), out, max_out);
}

static void mm_destroy(void *state)
{
    if (state != NULL)
        free_tables(state);
    free(state);
}

const strat_plugin_t builtin__market_making = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = "market_making",
    .create = mm_create,
    .init = mm_init,
    .on_market_data = mm_on_market_data,
    .on_fill = mm_on_fill,
    .on_position_update = mm_on_position_update,
    .on_order_update = mm_on_order_update,
    .start = builtin__start,
    /* Stopping sends nothing (the ABI gives stop no signal buffer): the resting
     * quotes stay with the venue until the host or riskd cancels them. */
    .stop = builtin__stop,
    .is_running = builtin__is_running,
    .metrics = mm_metrics,
    .destroy = mm_destroy,
};
