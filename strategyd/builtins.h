/* builtins.h -- the strategies compiled into strategyd (momentum, market_making,
 * scalping). They implement plugins/include/strategy.h exactly as a .so would;
 * the host finds them by name here instead of through dlopen. */
#ifndef STRATEGYD_BUILTINS_H
#define STRATEGYD_BUILTINS_H

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plugins/include/strategy.h"
#include "strategyd/symbol_book.h"

/* Returns the built-in strategy called name ("momentum", "market_making",
 * "scalping"), or NULL for any other name (and for NULL). The description is
 * static: never freed, valid for the life of the process, and its abi_version
 * is always STRAT_ABI_VERSION. The host uses it as it would a plugin's: create,
 * init, start, ..., destroy. */
const strat_plugin_t *builtin_find(const char *name);

/* Returns the names builtin_find knows, as a static NULL-terminated array
 * (for --help and "unknown strategy" messages). */
const char *const *builtin_names(void);

/* ---- internal: shared by strategyd/builtin_*.c, not for the host --------- */

/* The built-ins' descriptions; each file's header states its behaviour and keys. */
extern const strat_plugin_t builtin__momentum;
extern const strat_plugin_t builtin__market_making;
extern const strat_plugin_t builtin__scalping;

/* Checks that host is usable by a built-in (non-NULL, same ABI version, at
 * least as large as ours). Returns 0 or -EINVAL. Cold: called from create. */
int builtin__check_host(const strat_host_t *host);

/* Logs msg... through host->log at level, prefixed with "<instance>: ".
 * Cold paths only (it formats). */
void builtin__log(const strat_host_t *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Config readers for init. Each reads key through the host getter (def when
 * absent) and checks the range. On a wrong type the host getter's negative
 * code is returned; on a value out of range, or not finite, -EINVAL. Either
 * way one ERROR line naming the key is logged through host->log, so init can
 * simply return the code. lo_open makes the lower bound exclusive (> lo
 * instead of >= lo); upper bounds are inclusive. */
int builtin__cfg_double(const strat_host_t *host, const char *key, double def,
                        double lo, int lo_open, double hi, double *out);
int builtin__cfg_int(const strat_host_t *host, const char *key, int64_t def,
                     int64_t lo, int64_t hi, int64_t *out);

/* Reads "max_symbols" (default BUILTIN_MAX_SYMBOLS, 1..4096), the capacity of
 * a built-in's per-symbol tables. Same contract as builtin__cfg_int. */
#define BUILTIN_MAX_SYMBOLS 64
int builtin__cfg_max_symbols(const strat_host_t *host, int *out);

/* The first member of every built-in's state, so that the shared callbacks
 * below can take the ABI's void *state: the host, the life cycle, and the
 * counters every built-in reports among its metrics. */
typedef struct {
    const strat_host_t *host;
    bool initialised; /* init succeeded: the strategy's tables exist */
    bool running;     /* between start and stop */
    double ticks, signals, fills, order_updates, errors;
} builtin__base_t;

/* create for a built-in whose state is size bytes beginning with a
 * builtin__base_t: checks host (builtin__check_host) and returns the state
 * zeroed but for base.host, or NULL (bad host, no memory). The strategy's
 * destroy frees it with free(). */
void *builtin__create(const strat_host_t *host, size_t size);

/* The ABI's start, stop and is_running for a state beginning with a
 * builtin__base_t. start returns -EINVAL before a successful init, else 0
 * (starting twice is harmless); stop always returns 0 and sends nothing (the
 * ABI gives it no signal buffer); is_running returns 1 between start and stop. */
int builtin__start(void *state);
int builtin__stop(void *state);
int builtin__is_running(void *state);

/* The ABI's metrics once a built-in has listed its n metrics in all: copies
 * the first min(n, max_out) of them to out (none if max_out <= 0, so out
 * may then be NULL) and returns how many. */
int builtin__metrics_out(const strat_metric_t *all, int n, strat_metric_t *out, int max_out);

/* on_fill's common part: -EINVAL before init; else counts the fill and
 * applies it to its symbol's slot in book (symbol_book_slot, then
 * symbol_book_fill). Returns that slot, or the negative code of either,
 * counted in b->errors. */
int builtin__fill(builtin__base_t *b, symbol_book_t *book, const strat_fill_t *fill);

/* on_position_update's common part: -EINVAL before init; else finds p's slot
 * in book (a failure is counted in b->errors and returned) and offers it p's
 * quantity (symbol_book_seed). Returns 1 if the position was adopted, with
 * its slot in *slot, 0 if it was ignored, or the negative code. */
int builtin__seed(builtin__base_t *b, symbol_book_t *book, const strat_position_t *p, int *slot);

/* Writes a NEW order for qty on slot into out, with a fresh client_order_id
 * from the host, and tracks it in book (symbol_book_track). Returns 0, or the
 * book's negative code, counted in b->errors: the order is then not tracked
 * and out must not be sent. price is for LIMIT orders (0 for MARKET). Counts
 * no signal: each strategy counts what it sends. Called on the hot path; no
 * allocation, no logging. */
int builtin__new_order(builtin__base_t *b, symbol_book_t *book, int slot, int side, int type, double qty,
                       double price, strat_signal_t *out);

/* on_market_data's common start, for a running strategy: counts the tick,
 * checks its price (> 0 and finite) and finds its symbol's slot in book.
 * Returns the slot, or -EINVAL (bad price) or symbol_book_slot's negative
 * code, counted in b->errors. */
static inline int builtin__tick_slot(builtin__base_t *b, symbol_book_t *book, const strat_tick_t *tick)
{
    int slot;

    b->ticks++;
    if (!(tick->price > 0) || !isfinite(tick->price)) {
        b->errors++;
        return -EINVAL;
    }
    slot = symbol_book_slot(book, tick->symbol);
    if (slot < 0)
        b->errors++;
    return slot;
}

#endif
