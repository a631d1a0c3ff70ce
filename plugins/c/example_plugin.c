/* example_plugin.c -- a complete strategy plugin to copy from: a moving-average
 * crossover on every symbol it sees. Read this first when writing a strategy.
 *
 * Build it as the engine's Makefile does (it exports only strat_plugin_entry):
 *   gcc -std=gnu11 -Wall -Wextra -Werror -O2 -fPIC -shared -fvisibility=hidden \
 *       -Iplugins/include plugins/c/example_plugin.c -o plugins/example_plugin.so
 * and enable it in the engine's config:
 *   strategies = {
 *     enabled = ["ma_cross"];
 *     configs = { ma_cross = { plugin = "example_plugin.so"; fast = 5; slow = 20; order_size = 1.0; }; };
 *   };
 *
 * ---- What it does --------------------------------------------------------
 * Per symbol it averages the last `fast` and the last `slow` prices (tick->price:
 * the quote's mid, or the last trade when there is no quote). When the fast
 * average crosses above the slow one it wants to be long `order_size`; when it
 * crosses below, short `order_size`. It sends MARKET orders for the difference
 * between that target and what it holds plus what it has already asked for.
 * Only a real crossing trades: when the slow window first fills, the current
 * side is merely noted, so a restart mid-trend does not buy the top.
 *
 * ---- The contract with the host (plugins/include/strategy.h) --------------
 * - One exported symbol. The host dlopens the .so, calls strat_plugin_entry
 *   once with its function table (strat_host_t) and gets back this plugin's
 *   table (strat_plugin_t). Everything else here is static or hidden
 *   (-fvisibility=hidden), so two plugins never clash.
 * - The host checks versions. abi_version in the returned table must be the
 *   STRAT_ABI_VERSION this file was compiled with; the host refuses a mismatch
 *   with a clear message. Rebuild against the new header when it changes.
 * - Borrowed pointers. Every tick, fill, update and position the host passes
 *   (and every string inside them: symbol, client_order_id, ...) is valid only
 *   during the call. Copy what you keep -- as this plugin copies symbols and
 *   order ids into its own tables. The strat_host_t itself stays valid until
 *   destroy.
 * - Never block. Callbacks run on the engine's hot path, once per tick: no
 *   sleeping, no I/O, no locks, no network, and ideally no malloc in
 *   on_market_data. Allocate everything in init (this plugin does), keep
 *   per-tick work small. host->log is for rare events, not for every tick.
 * - The host owns the signal buffer. on_market_data gets `out` with room for
 *   `max_out` signals; write at most that many and return how many you wrote.
 *   Nothing is sent until you return; the host copies them out.
 * - Errors are counted, not fatal. Return a negative value (an -errno code is
 *   customary) from a callback and the host adds one to
 *   strategy_errors_total and carries on with the next event. Only init's
 *   error stops the strategy from starting. So return an error for a bad
 *   input rather than crashing, and never exit() or abort().
 * - Client order ids. host->new_order_id writes a fresh, engine-unique id
 *   ("<strategy>-<epoch>-<seq>"). Put it in a NEW signal and remember it: every
 *   fill (strat_fill_t.client_order_id) and every reject or cancel
 *   (on_order_update) of that order carries the same id, which is how this
 *   plugin knows which of its orders to reduce. To cancel a resting order,
 *   send a signal with action STRAT_CANCEL, that order's client_order_id and
 *   its symbol. (A NEW signal may leave the id empty and the host will pick
 *   one, but then the strategy cannot match fills or cancel it.)
 * - Position and pending. Fills tell you what you hold. Orders you sent that
 *   have not yet filled, been rejected or been cancelled are "pending": count
 *   them too, or you will send the same order again on the next tick.
 * - Config. The getters read strategies.configs.<your instance name>.<key>,
 *   give the default when the key is absent, and return a negative code for a
 *   value of the wrong type. Read them in init, check ranges there, and log a
 *   line naming the key when you refuse one: that is the operator's only clue.
 * - start/stop. The host starts the strategy after init. A stopped strategy
 *   still learns about fills (its orders may still execute) but sends nothing.
 */
#include "strategy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SYMBOLS 32  /* symbols one instance follows; more returns -ENOSPC */
#define MAX_ORDERS  64  /* open orders at once, all symbols together */
#define MAX_WINDOW  10000
#define QTY_EPS     1e-9 /* quantities closer than this are equal */

/* One symbol's state. */
typedef struct {
    char symbol[STRAT_SYMBOL_MAX]; /* our copy: tick->symbol is only borrowed */
    double *prices;  /* the last `slow` prices, a ring (points into ma_t.windows) */
    int count;       /* prices seen, up to slow */
    int head;        /* where the next price goes */
    int side;        /* fast vs slow when last different: +1 above, -1 below, 0 not yet known */
    double target;   /* the position we want: -order_size, 0 or +order_size */
    double position; /* the sum of our fills, signed */
    double pending;  /* our orders not yet done, signed (buys positive) */
} ma_symbol_t;

/* One order we sent and that may still fill. */
typedef struct {
    char id[STRAT_ID_MAX];
    int sym;         /* index into ma_t.syms */
    double open_qty; /* signed, like pending */
} ma_order_t;

/* Everything the plugin keeps: create allocates it, destroy frees it. */
typedef struct {
    const strat_host_t *host;
    bool running;
    int fast, slow;
    double order_size;
    double *windows; /* MAX_SYMBOLS * slow prices, allocated in init */
    ma_symbol_t syms[MAX_SYMBOLS];
    int n_syms;
    ma_order_t orders[MAX_ORDERS];
    int n_orders;
    double signals, crossings, errors; /* for metrics */
} ma_t;

/* Formats one line, prefixed with our instance name, and hands it to the
 * host's logger. Cold paths only: formatting is too slow for every tick. */
static void say(const ma_t *s, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(const ma_t *s, int level, const char *fmt, ...)
{
    char line[256];
    int n = snprintf(line, sizeof line, "%s: ", s->host->instance_name ? s->host->instance_name : "ma_crossover");
    va_list ap;

    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    s->host->log(s->host->ctx, level, line);
}

static void *ma_create(const strat_host_t *host)
{
    ma_t *s = calloc(1, sizeof *s);

    if (s != NULL)
        s->host = host;
    return s; /* NULL tells the host we could not allocate */
}

/* Reads an integer key, logging and failing on a wrong type or range. */
static int read_int(ma_t *s, const char *key, int64_t def, int64_t lo, int64_t hi, int *out)
{
    int64_t v;

    if (s->host->config_int(s->host->ctx, key, def, &v) < 0) {
        say(s, STRAT_LOG_ERROR, "config key '%s' must be an integer", key);
        return -EINVAL;
    }
    if (v < lo || v > hi) {
        say(s, STRAT_LOG_ERROR, "config key '%s' = %lld is out of range [%lld, %lld]", key, (long long)v,
            (long long)lo, (long long)hi);
        return -EINVAL;
    }
    *out = (int)v;
    return 0;
}

static int ma_init(void *state)
{
    ma_t *s = state;
    const strat_host_t *h = s->host;

    if (read_int(s, "fast", 5, 1, MAX_WINDOW, &s->fast) < 0 ||
        read_int(s, "slow", 20, 2, MAX_WINDOW, &s->slow) < 0)
        return -EINVAL;
    if (s->fast >= s->slow) {
        say(s, STRAT_LOG_ERROR, "config key 'fast' = %d must be smaller than 'slow' = %d", s->fast, s->slow);
        return -EINVAL;
    }
    if (h->config_double(h->ctx, "order_size", 1.0, &s->order_size) < 0) {
        say(s, STRAT_LOG_ERROR, "config key 'order_size' must be a number");
        return -EINVAL;
    }
    if (!(s->order_size > 0) || !isfinite(s->order_size)) {
        say(s, STRAT_LOG_ERROR, "config key 'order_size' = %g must be > 0", s->order_size);
        return -EINVAL;
    }

    /* The one allocation: every symbol's price ring, up front, so that
     * on_market_data never allocates. */
    free(s->windows);
    s->windows = calloc((size_t)MAX_SYMBOLS * (size_t)s->slow, sizeof *s->windows);
    if (s->windows == NULL) {
        say(s, STRAT_LOG_ERROR, "out of memory for %d symbols of %d prices", MAX_SYMBOLS, s->slow);
        return -ENOMEM;
    }
    for (int i = 0; i < MAX_SYMBOLS; i++)
        s->syms[i].prices = &s->windows[(size_t)i * (size_t)s->slow];
    return 0;
}

/* Finds the symbol's state, adding it on first sight. Returns NULL when the
 * symbol is unusable or the table is full. */
static ma_symbol_t *symbol_state(ma_t *s, const char *symbol)
{
    size_t len;

    if (symbol == NULL || (len = strnlen(symbol, STRAT_SYMBOL_MAX)) == 0 || len == STRAT_SYMBOL_MAX)
        return NULL;
    for (int i = 0; i < s->n_syms; i++)
        if (strcmp(s->syms[i].symbol, symbol) == 0)
            return &s->syms[i];
    if (s->n_syms == MAX_SYMBOLS)
        return NULL;
    memcpy(s->syms[s->n_syms].symbol, symbol, len + 1);
    return &s->syms[s->n_syms++];
}

/* The mean of the last n prices of the ring. O(n): fine for windows of a few
 * hundred; keep running sums if yours are longer. */
static double mean_of_last(const ma_symbol_t *y, int slow, int n)
{
    double sum = 0;

    for (int k = 1; k <= n; k++)
        sum += y->prices[(y->head - k + slow) % slow];
    return sum / n;
}

static int ma_on_market_data(void *state, const strat_tick_t *tick, strat_signal_t *out, int max_out)
{
    ma_t *s = state;
    ma_symbol_t *y;
    double fast, slow, delta;
    int side;
    strat_signal_t *sig;

    if (!s->running)
        return 0;
    if (!(tick->price > 0) || !isfinite(tick->price)) {
        s->errors++;
        return -EINVAL; /* counted by the host; the next tick is handled normally */
    }
    y = symbol_state(s, tick->symbol);
    if (y == NULL) {
        s->errors++;
        return -ENOSPC;
    }

    y->prices[y->head] = tick->price;
    y->head = (y->head + 1) % s->slow;
    if (y->count < s->slow)
        y->count++;
    if (y->count < s->slow)
        return 0; /* not enough history yet */

    fast = mean_of_last(y, s->slow, s->fast);
    slow = mean_of_last(y, s->slow, s->slow);
    side = fast > slow ? 1 : fast < slow ? -1 : 0;
    if (side != 0 && side != y->side) {
        if (y->side != 0) {
            /* A crossing: flip the target. */
            y->target = side * s->order_size;
            s->crossings++;
        }
        y->side = side;
    }

    /* Trade the difference between the target and what we hold or have
     * already asked for. Re-checked on every tick, so a rejected order is
     * simply sent again on the next one. */
    delta = y->target - (y->position + y->pending);
    if (fabs(delta) < QTY_EPS || max_out < 1)
        return 0;
    if (s->n_orders == MAX_ORDERS) {
        s->errors++;
        return -ENOSPC; /* cannot track another order, so do not send one */
    }

    sig = &out[0];
    memset(sig, 0, sizeof *sig);
    sig->action = STRAT_NEW;
    sig->side = delta > 0 ? STRAT_BUY : STRAT_SELL;
    sig->type = STRAT_MARKET;
    sig->qty = fabs(delta);
    sig->price = 0; /* only LIMIT orders have a price */
    memcpy(sig->symbol, y->symbol, sizeof sig->symbol);
    /* Our own id, remembered below, so that fills and rejects find this order. */
    s->host->new_order_id(s->host->ctx, sig->client_order_id);

    memcpy(s->orders[s->n_orders].id, sig->client_order_id, STRAT_ID_MAX);
    s->orders[s->n_orders].sym = (int)(y - s->syms);
    s->orders[s->n_orders].open_qty = delta;
    s->n_orders++;
    y->pending += delta;
    s->signals++;
    return 1;
}

/* The index of our open order with this id, or -1. */
static int find_order(const ma_t *s, const char *id)
{
    for (int i = 0; id != NULL && i < s->n_orders; i++)
        if (strcmp(s->orders[i].id, id) == 0)
            return i;
    return -1;
}

/* Takes up to |qty| off order i (signed like the order); removes it when done. */
static void reduce_order(ma_t *s, int i, double qty)
{
    ma_order_t *o = &s->orders[i];
    double take = fabs(qty) < fabs(o->open_qty) ? qty : o->open_qty;

    o->open_qty -= take;
    s->syms[o->sym].pending -= take;
    if (fabs(o->open_qty) < QTY_EPS) {
        s->syms[o->sym].pending -= o->open_qty; /* rounding dust */
        *o = s->orders[--s->n_orders];          /* the last order fills the hole */
    }
}

static int ma_on_fill(void *state, const strat_fill_t *fill)
{
    ma_t *s = state;
    ma_symbol_t *y;
    double signed_qty;
    int i;

    if ((fill->side != STRAT_BUY && fill->side != STRAT_SELL) || !(fill->qty > 0)) {
        s->errors++;
        return -EINVAL;
    }
    if ((y = symbol_state(s, fill->symbol)) == NULL) {
        s->errors++;
        return -ENOSPC;
    }
    signed_qty = fill->side == STRAT_BUY ? fill->qty : -fill->qty;
    y->position += signed_qty;
    /* A fill of an order we do not know (sent before a restart) still counts
     * in the position, but has no pending quantity to reduce. */
    if ((i = find_order(s, fill->client_order_id)) >= 0)
        reduce_order(s, i, signed_qty);
    return 0;
}

static int ma_on_order_update(void *state, const strat_order_update_t *update)
{
    ma_t *s = state;
    int i = find_order(s, update->client_order_id);

    /* Rejected or cancelled: the rest of the order will never fill, so it is
     * no longer pending and the next tick sends what is still missing. */
    if (i >= 0)
        reduce_order(s, i, s->orders[i].open_qty);
    return 0;
}

static int ma_on_position_update(void *state, const strat_position_t *position)
{
    /* This plugin trusts its own fills; the engine's view is informational. */
    (void)state;
    (void)position;
    return 0;
}

static int ma_start(void *state)
{
    ma_t *s = state;

    if (s->windows == NULL)
        return -EINVAL; /* init did not succeed */
    s->running = true;
    return 0;
}

static int ma_stop(void *state)
{
    ((ma_t *)state)->running = false;
    return 0;
}

static int ma_is_running(void *state)
{
    return ((ma_t *)state)->running;
}

static int ma_metrics(void *state, strat_metric_t *out, int max_out)
{
    ma_t *s = state;
    /* Names are static strings: the host keeps the pointers. */
    const strat_metric_t all[] = {
        { "signals_total", s->signals },
        { "crossings_total", s->crossings },
        { "errors_total", s->errors },
        { "symbols", s->n_syms },
    };
    int n = 0;

    for (; n < max_out && n < (int)(sizeof all / sizeof all[0]); n++)
        out[n] = all[n];
    return n;
}

static void ma_destroy(void *state)
{
    ma_t *s = state;

    if (s != NULL)
        free(s->windows);
    free(s);
}

static const strat_plugin_t plugin = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = "ma_crossover",
    .create = ma_create,
    .init = ma_init,
    .on_market_data = ma_on_market_data,
    .on_fill = ma_on_fill,
    .on_position_update = ma_on_position_update,
    .on_order_update = ma_on_order_update,
    .start = ma_start,
    .stop = ma_stop,
    .is_running = ma_is_running,
    .metrics = ma_metrics,
    .destroy = ma_destroy,
};

/* The entry point: the only exported symbol. It returns this plugin's table
 * even to a host of another ABI version -- the host compares the versions and
 * refuses with both numbers in its message, and nothing else of a host whose
 * layout we do not know is touched. NULL means "cannot work with this host". */
STRAT_EXPORT const strat_plugin_t *strat_plugin_entry(const strat_host_t *host)
{
    if (host == NULL)
        return NULL;
    if (host->abi_version == STRAT_ABI_VERSION && host->size < sizeof(strat_host_t)) {
        /* Same version but a smaller table: a broken host; log if we can. */
        if (host->size >= offsetof(strat_host_t, log) + sizeof host->log && host->log != NULL)
            host->log(host->ctx, STRAT_LOG_ERROR, "ma_crossover: host function table is too small");
        return NULL;
    }
    return &plugin;
}
