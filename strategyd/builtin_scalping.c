/* builtin_scalping.c -- the "scalping" built-in strategy: enters order_size at
 * MARKET on a move of entry_threshold over entry_ticks ticks, and leaves the
 * whole position at MARKET on a take profit, a stop loss or a time limit, then
 * waits cooldown_ms. Linked into strategyd through builtins.c.
 *
 * Per symbol. Entry: flat, no order of ours open, the cooldown over, and
 * entry_ticks+1 prices seen: move = p_now / p_then - 1 (p_then entry_ticks
 * ticks earlier); move >= entry_threshold buys, <= -entry_threshold sells.
 * In a position (from fills; entry = their volume-weighted price, held since
 * the first of them by the host clock): one MARKET order for the whole
 * position when the price reaches entry*(1+profit_target) or falls to
 * entry*(1-stop_loss) for a long (mirrored for a short), or max_hold_time_seconds
 * have passed; never a second exit while one is open (a rejected exit is
 * re-decided on the next tick). The fill that makes the symbol flat starts the
 * cooldown. Time is checked on ticks only: the ABI has no timer.
 * Keys: profit_target (0.002), stop_loss (0.001), max_hold_time_seconds (30),
 * entry_ticks (5), entry_threshold (0.001), order_size (1), cooldown_ms (1000),
 * max_symbols (64). */
#include "strategyd/builtins.h"
#include "strategyd/price_window.h"
#include "strategyd/symbol_book.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

/* An entry and an exit, with room for a rejected one not yet confirmed. */
#define ORDERS_PER_SYMBOL 8

/* Price comparisons allow this relative slack, so that a price equal to a
 * level on paper (100.2 against 100 * 1.002) counts as reaching it. */
#define REL_EPS 1e-12

typedef struct {
    double entry_price;     /* volume-weighted price of the fills that opened the position */
    int64_t entry_ns;       /* host clock at the first of them */
    int64_t cooldown_until; /* host clock; no entry before it */
} scalp_symbol_t;

typedef enum { EXIT_NONE, EXIT_PROFIT, EXIT_STOP, EXIT_TIME } exit_reason_t;

typedef struct {
    builtin__base_t base; /* first: host, life cycle, common counters */

    /* configuration */
    double profit_target, stop_loss, entry_threshold, order_size;
    int64_t max_hold_ns, cooldown_ns;
    int entry_ticks;
    int max_symbols;

    symbol_book_t book;
    scalp_symbol_t *syms;  /* per book slot */
    price_window_t window; /* per slot: the last entry_ticks+1 prices */

    /* metrics besides the common ones */
    double entries, exits_profit, exits_stop, exits_time;
} scalp_t;

static void *scalp_create(const strat_host_t *host)
{
    return builtin__create(host, sizeof(scalp_t));
}

static void free_tables(scalp_t *m)
{
    symbol_book_fini(&m->book);
    price_window_fini(&m->window);
    free(m->syms);
    m->syms = NULL;
    m->base.initialised = false;
}

static int scalp_init(void *state)
{
    scalp_t *m = state;
    const strat_host_t *h = m->base.host;
    double hold_s;
    int64_t entry_ticks, cooldown_ms;
    int rc;

    free_tables(m);
    if ((rc = builtin__cfg_double(h, "profit_target", 0.002, 0, 1, 10, &m->profit_target)) < 0 ||
        (rc = builtin__cfg_double(h, "stop_loss", 0.001, 0, 1, 1, &m->stop_loss)) < 0 ||
        (rc = builtin__cfg_double(h, "max_hold_time_seconds", 30, 0, 1, 86400 * 365.0, &hold_s)) < 0 ||
        (rc = builtin__cfg_int(h, "entry_ticks", 5, 1, 100000, &entry_ticks)) < 0 ||
        (rc = builtin__cfg_double(h, "entry_threshold", 0.001, 0, 1, 10, &m->entry_threshold)) < 0 ||
        (rc = builtin__cfg_double(h, "order_size", 1, 0, 1, 1e12, &m->order_size)) < 0 ||
        (rc = builtin__cfg_int(h, "cooldown_ms", 1000, 0, 86400000LL * 365, &cooldown_ms)) < 0 ||
        (rc = builtin__cfg_max_symbols(h, &m->max_symbols)) < 0)
        return rc;
    m->entry_ticks = (int)entry_ticks;
    m->max_hold_ns = (int64_t)llround(hold_s * 1e9);
    m->cooldown_ns = cooldown_ms * 1000000;

    if (symbol_book_init(&m->book, m->max_symbols, m->max_symbols * ORDERS_PER_SYMBOL) < 0 ||
        price_window_init(&m->window, m->max_symbols, m->entry_ticks + 1) < 0 ||
        (m->syms = calloc((size_t)m->max_symbols, sizeof *m->syms)) == NULL) {
        free_tables(m);
        builtin__log(h, STRAT_LOG_ERROR, "out of memory for %d symbols", m->max_symbols);
        return -ENOMEM;
    }
    m->base.initialised = true;
    builtin__log(h, STRAT_LOG_INFO, "profit_target=%g stop_loss=%g max_hold_time_seconds=%g entry_ticks=%d "
                 "entry_threshold=%g order_size=%g cooldown_ms=%lld max_symbols=%d", m->profit_target,
                 m->stop_loss, hold_s, m->entry_ticks, m->entry_threshold, m->order_size,
                 (long long)cooldown_ms, m->max_symbols);
    return 0;
}

static inline bool at_or_above(double p, double level)
{
    return p >= level * (1 - REL_EPS);
}

static inline bool at_or_below(double p, double level)
{
    return p <= level * (1 + REL_EPS);
}

/* Which exit, if any, a position on slot takes at price p and time now. */
static exit_reason_t exit_due(const scalp_t *m, const symbol_slot_t *s, const scalp_symbol_t *sym,
                              double p, int64_t now)
{
    double e = sym->entry_price;

    if (s->position > 0) {
        if (at_or_above(p, e * (1 + m->profit_target)))
            return EXIT_PROFIT;
        if (at_or_below(p, e * (1 - m->stop_loss)))
            return EXIT_STOP;
    } else {
        if (at_or_below(p, e * (1 - m->profit_target)))
            return EXIT_PROFIT;
        if (at_or_above(p, e * (1 + m->stop_loss)))
            return EXIT_STOP;
    }
    return now - sym->entry_ns >= m->max_hold_ns ? EXIT_TIME : EXIT_NONE;
}

/* Writes a MARKET order into out and records it in the book. Returns 1, or
 * the book's negative code (nothing to send). */
static int send(scalp_t *m, int slot, int side, double qty, strat_signal_t *out)
{
    int rc = builtin__new_order(&m->base, &m->book, slot, side, STRAT_MARKET, qty, 0, out);

    if (rc < 0)
        return rc;
    m->base.signals++;
    return 1;
}

static int scalp_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    scalp_t *m = state;
    symbol_slot_t *s;
    scalp_symbol_t *sym;
    double p = tick->price, p0;
    int64_t now;
    int slot;

    if (!m->base.running)
        return 0;
    slot = builtin__tick_slot(&m->base, &m->book, tick);
    if (slot < 0)
        return slot;
    s = &m->book.slots[slot];
    sym = &m->syms[slot];
    price_window_push(&m->window, slot, p);
    if (max_out < 1)
        return 0;
    now = m->base.host->now_ns(m->base.host->ctx);

    if (!symbol_book_flat(s)) {
        /* In a position: one exit at a time; the exit side's pending is it. */
        bool long_pos = s->position > 0;
        exit_reason_t why;
        int rc;

        if ((long_pos ? s->pending_sell : s->pending_buy) >= SYMBOL_BOOK_EPS)
            return 0;
        why = exit_due(m, s, sym, p, now);
        if (why == EXIT_NONE)
            return 0;
        rc = send(m, slot, long_pos ? STRAT_SELL : STRAT_BUY, fabs(s->position), out);
        if (rc > 0) {
            if (why == EXIT_PROFIT)
                m->exits_profit++;
            else if (why == EXIT_STOP)
                m->exits_stop++;
            else
                m->exits_time++;
        }
        return rc;
    }

    /* Flat: enter only with nothing in flight, out of cooldown, on a full window. */
    if (!symbol_book_idle(s) || now < sym->cooldown_until || !price_window_full(&m->window, slot))
        return 0;
    p0 = price_window_oldest(&m->window, slot); /* entry_ticks ticks before this one */
    if (at_or_above(p, p0 * (1 + m->entry_threshold)) || at_or_below(p, p0 * (1 - m->entry_threshold))) {
        int rc = send(m, slot, p > p0 ? STRAT_BUY : STRAT_SELL, m->order_size, out);
        if (rc > 0)
            m->entries++;
        return rc;
    }
    return 0;
}

static int scalp_on_fill(void *state, const strat_fill_t *fill)
{
    scalp_t *m = state;
    symbol_slot_t *s;
    scalp_symbol_t *sym;
    double before, after;
    int64_t now;
    int slot, rc;

    if (!m->base.initialised)
        return -EINVAL;
    m->base.fills++;
    slot = symbol_book_slot(&m->book, fill->symbol);
    if (slot < 0) {
        m->base.errors++;
        return slot;
    }
    s = &m->book.slots[slot];
    sym = &m->syms[slot];
    before = s->position;
    rc = symbol_book_fill(&m->book, slot, fill);
    if (rc < 0) {
        m->base.errors++;
        return rc;
    }
    after = s->position;
    now = m->base.host->now_ns(m->base.host->ctx);

    if (symbol_book_flat(s)) {
        /* The exit is complete: the cooldown runs from this fill. */
        sym->cooldown_until = now + m->cooldown_ns;
    } else if (fabs(before) < SYMBOL_BOOK_EPS || (before > 0) != (after > 0)) {
        /* Opened (or flipped through zero): a new position at this price. */
        sym->entry_price = fill->price;
        sym->entry_ns = now;
    } else if (fabs(after) > fabs(before)) {
        /* Added to: the entry price is the volume-weighted average. */
        sym->entry_price = (sym->entry_price * fabs(before) + fill->price * fill->qty) / fabs(after);
    }
    return 0;
}

static int scalp_on_order_update(void *state, const strat_order_update_t *u)
{
    scalp_t *m = state;

    if (!m->base.initialised)
        return -EINVAL;
    m->base.order_updates++;
    /* A rejected exit leaves the position open with nothing pending, so the
     * next tick decides again; a rejected entry just frees the symbol. */
    (void)symbol_book_close(&m->book, u->client_order_id);
    return 0;
}

static int scalp_on_position_update(void *state, const strat_position_t *p)
{
    scalp_t *m = state;
    int slot, rc = builtin__seed(&m->base, &m->book, p, &slot);

    if (rc > 0) {
        /* Adopted after a restart: the hold time counts from now. */
        m->syms[slot].entry_price = p->avg_price;
        m->syms[slot].entry_ns = m->base.host->now_ns(m->base.host->ctx);
        if (!symbol_book_flat(&m->book.slots[slot]))
            builtin__log(m->base.host, STRAT_LOG_INFO, "%s: starting from the engine's position %g at %g",
                         p->symbol, p->qty, p->avg_price);
    }
    return rc < 0 ? rc : 0;
}

/* Starting (again) empties the price windows, so an entry never compares
 * with a price from before a stop. Positions, orders and cooldowns are kept. */
static int scalp_start(void *state)
{
    scalp_t *m = state;

    if (m->base.initialised && !m->base.running)
        price_window_clear(&m->window);
    return builtin__start(state);
}

static int scalp_metrics(void *state, strat_metric_t *out, int max_out)
{
    scalp_t *m = state;
    const strat_metric_t all[] = {
        { "signals_total", m->base.signals },
        { "entries_total", m->entries },
        { "exits_profit_total", m->exits_profit },
        { "exits_stop_total", m->exits_stop },
        { "exits_time_total", m->exits_time },
        { "ticks_total", m->base.ticks },
        { "fills_total", m->base.fills },
        { "order_updates_total", m->base.order_updates },
        { "errors_total", m->base.errors },
        { "symbols", m->book.n_slots },
    };

    return builtin__metrics_out(all, (int)(sizeof all / sizeof all[0]), out, max_out);
}

static void scalp_destroy(void *state)
{
    if (state != NULL)
        free_tables(state);
    free(state);
}

const strat_plugin_t builtin__scalping = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = "scalping",
    .create = scalp_create,
    .init = scalp_init,
    .on_market_data = scalp_on_market_data,
    .on_fill = scalp_on_fill,
    .on_position_update = scalp_on_position_update,
    .on_order_update = scalp_on_order_update,
    .start = scalp_start,
    .stop = builtin__stop,
    .is_running = builtin__is_running,
    .metrics = scalp_metrics,
    .destroy = scalp_destroy,
};
