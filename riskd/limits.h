/* limits.h -- riskd's pre-trade risk limits, read once from the `risk` group of
 * the engine's configuration. Used by riskd's checks (riskd/checks.h) and book.
 *
 * Every limit is a number where 0 -- or an absent key -- disables its rule, so
 * an empty `risk` group enforces nothing but the kill switch. Negative numbers,
 * malformed times and over-long symbols are configuration errors naming
 * file:line:key. Keys (all under `risk.`):
 *
 *   enabled                     bool, default true. false: every check is still
 *                               evaluated and every would-be violation counted,
 *                               but orders pass (see risk_check for the two
 *                               exceptions: the kill switch and malformed signals).
 *   symbolWhitelist             list of symbols; empty or absent = every symbol.
 *   symbolBlacklist             list of symbols; a listed symbol is refused even
 *                               if it is also whitelisted.
 *   maxOrderSize                largest quantity of one order.
 *   maxOrderValue               largest notional of one order: qty x limit price,
 *                               or qty x mid for a market order (currency units).
 *   priceCollarPct              a limit price may be at most this many percent
 *                               away from the current mid, either way (5.0 = 5 %).
 *   maxQuoteAgeMs               a market order needs a quote for its symbol at
 *                               most this old (milliseconds).
 *   maxPositionSize             largest absolute net position of the engine (all
 *                               strategies together) in one symbol, projected:
 *                               the position plus every pending order on the
 *                               order's side plus the order itself.
 *   strategyMaxPositionSize     the same, per strategy and symbol.
 *   maxDailyLoss                largest loss since the daily reset, realised plus
 *                               unrealised (currency units, a positive number).
 *   maxDrawdown                 largest fall of equity from its peak (currency).
 *   breachAction                "reduce" (default) or "halt": the trading state
 *                               entered on a daily-loss or drawdown breach.
 *   dailyResetUtc               "HH:MM" in UTC, default "00:00": when the daily
 *                               PnL starts again from zero.
 *   maxOrdersPerSecond          approved orders over all strategies in any 1 s.
 *   maxOrdersPerMinute          ... in any 60 s.
 *   strategyMaxOrdersPerSecond  approved orders of one strategy in any 1 s;
 *                               default: maxOrdersPerSecond.
 *   strategyMaxOrdersPerMinute  ... in any 60 s; default: maxOrdersPerMinute.
 *   duplicateWindowMs           an order identical to one approved less than this
 *                               long ago (same strategy, symbol, side, type,
 *                               quantity and price) is a duplicate.
 *
 * Rate limits are kept exactly (a ring of the last N approval times), so their
 * ranges are bounded by memory: at most LIMITS_RATE_SECOND_MAX per second and
 * LIMITS_RATE_MINUTE_MAX per minute, global and per strategy. */
#ifndef RISKD_LIMITS_H
#define RISKD_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/records.h"

#define LIMITS_SYMBOL_LIST_MAX 1024   /* entries in symbolWhitelist / symbolBlacklist */
#define LIMITS_RATE_SECOND_MAX 100000 /* maxOrdersPerSecond and its strategy variant */
#define LIMITS_RATE_MINUTE_MAX 1000000
#define LIMITS_QUOTE_AGE_MS_MAX 86400000LL  /* one day */
#define LIMITS_DUP_WINDOW_MS_MAX 3600000LL  /* one hour */

/* What a daily-loss or drawdown breach does to the trading state. */
typedef enum {
    LIMITS_BREACH_REDUCE = 0, /* REDUCING: only orders that shrink a position pass */
    LIMITS_BREACH_HALT = 1,   /* HALTED: no new order passes */
} limits_breach_action_t;

/* The limits, by value (no pointer into the configuration: it outlives cfg).
 * For every number, 0 means "rule disabled". */
typedef struct {
    bool enabled;
    int nwhitelist, nblacklist;
    char whitelist[LIMITS_SYMBOL_LIST_MAX][SE_SYMBOL_MAX];
    char blacklist[LIMITS_SYMBOL_LIST_MAX][SE_SYMBOL_MAX];
    double max_order_size;
    double max_order_value;
    double price_collar_pct;
    int64_t max_quote_age_ms;
    double max_position_size;
    double strategy_max_position_size;
    double max_daily_loss;
    double max_drawdown;
    limits_breach_action_t breach_action;
    int daily_reset_minute; /* minutes after 00:00 UTC, 0..1439 */
    int64_t max_orders_per_second, max_orders_per_minute;
    int64_t strategy_max_orders_per_second, strategy_max_orders_per_minute;
    int64_t duplicate_window_ms;
} risk_limits_t;

/* Sets *out to the defaults: enabled, no symbol list, every limit 0 (off),
 * breach action REDUCE, daily reset at 00:00 UTC. */
void limits_defaults(risk_limits_t *out);

/* Reads the `risk` group of cfg (NULL cfg: the defaults) into *out.
 * Returns 0, or SE_ECONFIG with se_errmsg() "FILE:LINE: risk.KEY: ..." for a
 * value of the wrong type, out of range (negative, too large), a dailyResetUtc
 * that is not "HH:MM" in 00:00..23:59, an unknown breachAction, a symbol list
 * element that is empty or longer than 15 bytes, or a list longer than
 * LIMITS_SYMBOL_LIST_MAX. On error *out is unspecified. Cold path. */
int limits_load(const cfg_t *cfg, risk_limits_t *out);

/* Parses "HH:MM" (two digits each, 00:00..23:59) into minutes after midnight.
 * Returns the minutes, or -1 if s is anything else. */
int limits_parse_hhmm(const char *s);

#endif
