/* limits.h -- execd's own hard limits: the last line of defence at the point
 * of entry. Every NEW order read from ring `ord` is checked here before either
 * backend (simulator or gRPC venue) sees it, even though riskd approved it;
 * an order over a limit becomes a REJECT on `exe` (execd/runner.c). Simple,
 * independent of riskd, and meant to be looser than riskd's limits, so it only
 * catches what riskd should have caught (or what riskd never saw).
 *
 * The rules, in the order they are checked (the first that fails is reported;
 * the names are the REJECT reasons and the `reason` labels of
 * orders_rejected_total):
 *   exec_bad_side / exec_bad_type   side or order type unknown
 *   exec_bad_qty                    quantity not finite and > 0
 *   exec_bad_price                  a LIMIT price not finite and > 0; a MARKET
 *                                   order's price field neither 0 (unset) nor
 *                                   finite and > 0
 *   exec_bad_symbol                 empty symbol
 *   exec_symbol_not_allowed         not in execution.limits.symbols (when set)
 *   exec_symbol_table_full          a symbol never seen and no room to track it
 *   exec_max_qty                    qty > maxOrderQty
 *   exec_no_price                   a MARKET order with no price field and no
 *                                   price for its symbol from ring `in` yet
 *   exec_max_notional               qty x price > maxOrderNotional, price being
 *                                   the order's own, else (MARKET) the latest ask
 *                                   of its symbol, else its latest trade price
 *   exec_max_rate                   more than maxOrdersPerSecond over all symbols
 *   exec_max_rate_symbol            more than maxOrdersPerSecondPerSymbol in one
 *                                   symbol
 * Cancels and other actions are never blocked (a cancel only ever reduces
 * risk; the backends refuse unknown actions themselves).
 *
 * Rates are token buckets on CLOCK_MONOTONIC (the caller passes now; never a
 * record's own time stamps): a bucket holds at most N orders and refills at N
 * per second, so a burst of N passes at once and N per second after that (at
 * most 2N within any one second). Only accepted orders take a token. Kept in
 * integers (one order = 1e9 units, refill = elapsed ns x N), so the refill is
 * exact: after a full bucket is spent, the next order passes exactly 1e9 / N
 * ns later.
 *
 * Capacity is fixed at init (EXEC_LIMITS_MAX_SYMBOLS symbols); no allocation
 * after it, no logging, no system calls: exec_limits_check and
 * exec_limits_on_quote are per-record code. Not thread-safe. */
#ifndef EXECD_LIMITS_H
#define EXECD_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/records.h"

#define EXEC_LIMITS_MAX_SYMBOLS 4096 /* symbols tracked (prices, per-symbol rate) */
#define EXEC_LIMITS_LIST_MAX    1024 /* entries in execution.limits.symbols */
#define EXEC_LIMITS_RATE_MAX    1000000 /* orders per second, either rate */
#define EXEC_LIMITS_AMOUNT_MAX  1e15 /* largest maxOrderQty and maxOrderNotional */

/* Defaults (README "execd's hard limits"): a multiple of riskd's limit when
 * riskd has one (risk.* > 0), else a fixed value. */
#define EXEC_LIMITS_SIZE_MULTIPLE 2.0 /* maxOrderQty, maxOrderNotional */
#define EXEC_LIMITS_RATE_MULTIPLE 5   /* maxOrdersPerSecond */
#define EXEC_LIMITS_DEFAULT_QTY      1e6
#define EXEC_LIMITS_DEFAULT_NOTIONAL 1e8
#define EXEC_LIMITS_DEFAULT_RATE     20000

typedef enum {
    EXEC_LIMIT_OK = 0,
    EXEC_LIMIT_BAD_SIDE,
    EXEC_LIMIT_BAD_TYPE,
    EXEC_LIMIT_BAD_QTY,
    EXEC_LIMIT_BAD_PRICE,
    EXEC_LIMIT_BAD_SYMBOL,
    EXEC_LIMIT_SYMBOL_NOT_ALLOWED,
    EXEC_LIMIT_SYMBOL_TABLE_FULL,
    EXEC_LIMIT_MAX_QTY,
    EXEC_LIMIT_NO_PRICE,
    EXEC_LIMIT_MAX_NOTIONAL,
    EXEC_LIMIT_MAX_RATE,
    EXEC_LIMIT_MAX_RATE_SYMBOL,
    EXEC_LIMIT_COUNT
} exec_limit_t;

/* The limits as configured (by value: no pointer into the configuration). */
typedef struct {
    double max_qty;        /* > 0 */
    double max_notional;   /* > 0 */
    int64_t max_rate;      /* orders per second over all symbols, 1..EXEC_LIMITS_RATE_MAX */
    int64_t max_rate_symbol; /* ... in one symbol */
    int nsymbols;          /* 0: every symbol is allowed */
    char symbols[EXEC_LIMITS_LIST_MAX][SE_SYMBOL_MAX];
} exec_limits_config_t;

/* A token bucket: credit in units of 1e-9 order. */
typedef struct {
    int64_t credit;
    int64_t last_ns; /* CLOCK_MONOTONIC of the last refill; INT64_MIN: never (full) */
} exec_bucket_t;

/* One tracked symbol, in the header only so that exec_limits_t can be embedded. */
typedef struct {
    char symbol[SE_SYMBOL_MAX];
    double ask, last; /* latest from ring `in`; valid when has_ask / has_last */
    uint8_t has_ask, has_last;
    uint8_t pad[6];
    exec_bucket_t rate;
} exec_limits_symbol_t;

typedef struct {
    exec_limits_config_t conf;
    exec_bucket_t rate;
    exec_limits_symbol_t *syms; /* EXEC_LIMITS_MAX_SYMBOLS, the first nsyms used */
    int32_t *hash;              /* open addressing: slot + 1, 0 = empty */
    int nsyms;
} exec_limits_t;

/* Reads execution.limits.{maxOrderQty, maxOrderNotional, maxOrdersPerSecond,
 * maxOrdersPerSecondPerSymbol, symbols} into *out; absent keys take the
 * defaults above (from risk.maxOrderSize, risk.maxOrderValue and
 * risk.maxOrdersPerSecond when those are > 0; maxOrdersPerSecondPerSymbol
 * defaults to maxOrdersPerSecond). A NULL cfg gives the fixed defaults.
 * Returns 0, or SE_ECONFIG with se_errmsg() "FILE:LINE: KEY: ..." for a value
 * of the wrong type, not finite, zero or negative, beyond its maximum, an
 * empty symbols list, or a symbol that is empty or longer than 15 bytes.
 * Cold path. */
int exec_limits_load(const cfg_t *cfg, exec_limits_config_t *out);

/* Sets up l with a copy of *conf and allocates its symbol table (the allowed
 * symbols, if listed, are entered now: no other symbol ever gets a slot).
 * Returns 0, -EINVAL (a value out of range; se_errmsg() says which) or
 * -ENOMEM (nothing left allocated). Free with exec_limits_fini. */
int exec_limits_init(exec_limits_t *l, const exec_limits_config_t *conf);

/* Frees the table. Safe on a zeroed or finished exec_limits_t. */
void exec_limits_fini(exec_limits_t *l);

/* Learns the prices of one record of ring `in` (SE_IN_QUOTE only; others are
 * ignored): the ask of a two-sided quote, the last trade price of a quote that
 * has one. Prices that are not finite and > 0 are ignored, and so is a symbol
 * that is not allowed or does not fit the table. No allocation. */
void exec_limits_on_quote(exec_limits_t *l, const se_in_rec_t *q);

/* Checks one record of ring `ord` at now_ns (CLOCK_MONOTONIC) against every
 * rule above. A NEW that passes takes one token from both rate buckets;
 * anything else leaves them untouched. Returns EXEC_LIMIT_OK (always for a
 * record that is not a NEW) or the first rule that failed. The symbol field
 * must be NUL-terminated within SE_SYMBOL_MAX (the caller terminates it).
 * No allocation. */
exec_limit_t exec_limits_check(exec_limits_t *l, const se_order_rec_t *o, int64_t now_ns);

/* The name of a rule: the REJECT reason and metric label ("exec_max_qty", ...;
 * "ok" for EXEC_LIMIT_OK, "unknown" beyond the table). Static strings. */
const char *exec_limit_name(exec_limit_t rule);

#endif
