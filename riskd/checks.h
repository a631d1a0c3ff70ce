/* checks.h -- riskd's pre-trade risk checks and trading state (ACTIVE,
 * REDUCING, HALTED, kill switch). Used by riskd's runner for every signal that
 * leaves the aggregator; reads the position book (riskd/book.h).
 *
 * The caller's loop, per signal:
 *
 *     risk_rule_t rule = risk_check(&risk, &book, sig, name, now);
 *     if (rule == RISK_OK && sig->action == SE_ACTION_NEW) {
 *         book_order_add(&book, ...);              // pending from now on
 *         risk_record_approved(&risk, sig, now);   // rate windows, duplicates
 *     }
 *     // publish the order on `ord`, or SE_RISK_REJECT with risk_rule_name(rule)
 *
 * and, after every fill, mark and daily reset applied to the book:
 *
 *     if (risk_update_state(&risk, &book, now))    // publish SE_RISK_STATE
 *
 * Rules, in the order they are evaluated (the first failure is returned):
 *
 *   CANCEL signals always pass: a cancel never adds risk (execd answers for
 *   an unknown order).
 *    1 kill_switch            the operator's kill switch is on.
 *    2 halted                 the state is HALTED (a breach with
 *                             risk.breachAction = "halt").
 *    3 invalid_order          not a NEW or CANCEL, bad side or type, qty not
 *                             > 0 and finite, a LIMIT price not > 0 and finite,
 *                             symbol or client_order_id empty or unterminated,
 *                             strategy_index unknown to the book or to risk_init,
 *                             or strategy_name (when given) not the book's name
 *                             for that index.
 *    4 daily_loss             the loss since the daily reset exceeds
 *                             maxDailyLoss now (even before risk_update_state
 *                             has latched it) and the order does not reduce.
 *    5 drawdown               equity is more than maxDrawdown below its peak
 *                             now, and the order does not reduce.
 *                             (With breachAction = "halt", 4 and 5 refuse
 *                             reducing orders too.)
 *    6 reducing_only          the state is REDUCING and the order does not
 *                             reduce: move the strategy's projected position in
 *                             its symbol strictly toward zero without crossing
 *                             it (projected = position + pending buys for a buy,
 *                             position - pending sells for a sell).
 *    7 symbol_whitelist       a whitelist is configured and lacks the symbol.
 *    8 symbol_blacklist       the symbol is blacklisted.
 *    9 max_order_size         qty > maxOrderSize.
 *   10 max_order_value        qty x price > maxOrderValue (the mid for a MARKET).
 *   11 price_collar           LIMIT: |price - mid| > mid x priceCollarPct / 100.
 *   12 stale_quote            MARKET: now - the mark's quote time > maxQuoteAgeMs.
 *      no_quote               rules 10 (MARKET), 11 and 12 need the symbol's mid;
 *                             with no quote at all the first of them that is
 *                             enabled fails as no_quote instead.
 *   13 max_position           the engine's net position in the symbol, plus all
 *                             pending orders on the order's side, plus the order
 *                             would exceed maxPositionSize in absolute value on
 *                             the order's side. (An order that moves a position
 *                             already beyond the limit back toward it passes.)
 *   14 strategy_max_position  the same with the strategy's own position and
 *                             pending orders, against strategyMaxPositionSize.
 *   15 rate_global_second     maxOrdersPerSecond orders were approved in the
 *                             last second (window (now - 1 s, now]).
 *   16 rate_global_minute     maxOrdersPerMinute in the last 60 s.
 *   17 rate_strategy_second   strategyMaxOrdersPerSecond for this strategy.
 *   18 rate_strategy_minute   strategyMaxOrdersPerMinute for this strategy.
 *   19 duplicate_order_id     client_order_id is already an open order.
 *   20 duplicate              the same strategy, symbol, side, type, qty and
 *                             price was approved less than duplicateWindowMs ago.
 *
 * A rule whose limit is 0 is not evaluated. Comparisons of quantities and
 * amounts allow 1e-9 relative, so sums of decimals at exactly the limit pass.
 * Time (now_ns, quote times, rate windows, duplicate window) is one clock,
 * CLOCK_REALTIME ns; if it steps back, the windows err on the side of refusing.
 *
 * risk.enabled = false: every rule is evaluated, every rule that would fail is
 * counted under its label (risk_violations; the returned rule is RISK_OK, so
 * export these counters rather than counting returned rules), and the order
 * passes -- except kill_switch (an operator's explicit command) and
 * invalid_order (a malformed signal is never an order), which are enforced
 * whatever risk.enabled says. The trading state still moves and is reported.
 *
 * Trading state. Automatic breaches are latched by risk_update_state: a daily
 * loss or drawdown beyond its limit enters REDUCING (or HALTED with breachAction
 * "halt"). REDUCING, not HALTED, by default because the way out of too much
 * loss is to close positions, which HALTED would forbid. A latch never clears
 * because the PnL recovers: the daily-loss latch clears at the next daily
 * reset (book_daily_reset), the drawdown latch only through
 * risk_clear_breaches (an operator's decision, after book_reset_peak). The
 * kill switch overrides everything (HALTED); turning it off returns to what the
 * latches say. An open circuit breaker in execd (the venue unreachable) halts
 * too, until it closes. */
#ifndef RISKD_CHECKS_H
#define RISKD_CHECKS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"
#include "riskd/book.h"
#include "riskd/limits.h"

/* The outcome of risk_check: RISK_OK or the first rule that failed, in the
 * evaluation order above (no_quote excepted, see there). */
typedef enum {
    RISK_OK = 0,
    RISK_KILL_SWITCH,
    RISK_HALTED,
    RISK_INVALID_ORDER,
    RISK_DAILY_LOSS,
    RISK_DRAWDOWN,
    RISK_REDUCING_ONLY,
    RISK_SYMBOL_WHITELIST,
    RISK_SYMBOL_BLACKLIST,
    RISK_MAX_ORDER_SIZE,
    RISK_MAX_ORDER_VALUE,
    RISK_PRICE_COLLAR,
    RISK_STALE_QUOTE,
    RISK_NO_QUOTE,
    RISK_MAX_POSITION,
    RISK_STRATEGY_MAX_POSITION,
    RISK_RATE_GLOBAL_SECOND,
    RISK_RATE_GLOBAL_MINUTE,
    RISK_RATE_STRATEGY_SECOND,
    RISK_RATE_STRATEGY_MINUTE,
    RISK_DUPLICATE_ORDER_ID,
    RISK_DUPLICATE,
    RISK_RULE_COUNT
} risk_rule_t;

_Static_assert(RISK_RULE_COUNT <= 32, "rule failures fit in one 32-bit mask");

/* Approved orders remembered for duplicate detection: the memory covers
 * duplicateWindowMs or the last RISK_DUP_MAX approvals, whichever is shorter.
 * When rate limits are enforced they bound how many approvals one window can
 * hold (maxOrdersPerSecond x the window's started seconds, and likewise per
 * minute), and the memory is sized to that bound instead: still exact, and
 * small enough to stay in cache. */
#define RISK_DUP_MAX 65536

/* Internal: the approval times of the last `cap` orders, oldest at head. */
typedef struct {
    int64_t *ts;
    uint32_t cap, head, n;
} risk__window_t;

/* Internal: a set of symbols (16-byte keys; key[0] == 0 is an empty slot:
 * a symbol has at least one byte). */
typedef struct {
    uint64_t (*slots)[2];
    uint32_t mask;
    int n;
} risk__symset_t;

/* Internal: one remembered approval. */
typedef struct {
    uint64_t key[5]; /* strategy|side|type, symbol (2 words), qty bits, price bits */
    int64_t ts;
    uint32_t h;
    bool live;       /* false: superseded by a later approval of the same key */
} risk__dup_t;

/* The risk checker. Embedded by the caller; risk_init allocates its tables. */
typedef struct {
    risk_limits_t limits;
    int nstrategies;
    se_trading_state_t state;
    const char *reason;      /* why the current state was entered (static string) */
    bool kill_switch;
    bool venue_down;         /* execd's circuit breaker is open (SE_EXEC_VENUE) */
    bool daily_breached, drawdown_breached;
    int64_t daily_breach_day; /* book_day_start_ns when daily_breached latched */
    risk__symset_t whitelist, blacklist;
    int64_t span_sec_ns, span_min_ns, dup_window_ns, quote_age_ns;
    double collar_frac; /* priceCollarPct / 100 */
    risk__window_t global_sec, global_min;
    risk__window_t *strategy_sec, *strategy_min; /* [nstrategies] */
    int64_t *window_mem;
    int64_t *added_mem[BOOK_STRATEGIES_MAX]; /* windows of strategies added by risk_add_strategy */
    int nadded;
    risk__dup_t *dups; /* ring of dup_cap */
    uint32_t dup_cap, dup_head, dup_n;
    book__ix_t dup_ix;
    uint64_t checks, passed;
    uint64_t violations[RISK_RULE_COUNT];
    uint64_t state_changes;
} risk_t;

/* Sets up a checker for `nstrategies` strategies (indices 0..n-1, as in the
 * book) with a copy of *limits. State ACTIVE (reason "start"), kill switch off.
 * Returns 0, -EINVAL (nstrategies outside 1..BOOK_STRATEGIES_MAX; message in
 * se_errmsg()) or -ENOMEM (nothing is left allocated). Free with risk_fini.
 * Allocates the rate windows (8 bytes per allowed order per window and
 * strategy) and the duplicate memory; nothing is allocated afterwards. */
int risk_init(risk_t *r, const risk_limits_t *limits, int nstrategies);

/* Makes room for one more strategy (index nstrategies, as the book's next
 * one), for a strategy added to the configuration while riskd runs: cold
 * path, allocates its rate windows. Returns its index, -ENOSPC at
 * BOOK_STRATEGIES_MAX or -ENOMEM (nothing changed), with se_errmsg(). */
int risk_add_strategy(risk_t *r);

/* Frees the tables. Safe on a zeroed or already finished checker. */
void risk_fini(risk_t *r);

/* Checks one signal against every rule (see the list above) at now_ns
 * (CLOCK_REALTIME ns: the clock of quote times and of the daily reset).
 * strategy_name may be NULL (no name check). Counts the check and, per rule,
 * its violations. Does not record the order: call risk_record_approved once
 * the order is really sent. Returns RISK_OK or the rule that refused it.
 * Hot path: no allocation, no system call, no message. */
risk_rule_t risk_check(risk_t *r, const book_t *b, const se_signal_rec_t *sig, const char *strategy_name,
                       int64_t now_ns);

/* Records an approved NEW order at now_ns in the rate windows (global and its
 * strategy's) and the duplicate memory. CANCELs and out-of-range strategy
 * indices are ignored. Hot path. */
void risk_record_approved(risk_t *r, const se_signal_rec_t *sig, int64_t now_ns);

/* Re-evaluates the automatic state from the book: latches a daily-loss
 * breach (-daily PnL > maxDailyLoss) or a drawdown breach (peak - equity >
 * maxDrawdown), clears the daily-loss latch once the book has had a daily
 * reset since it was set. The latches depend on the book only; now_ns is
 * unused today (kept so a time-based rule needs no new signature). Returns
 * true if the state or its reason changed (publish SE_RISK_STATE). O(1). */
bool risk_update_state(risk_t *r, const book_t *b, int64_t now_ns);

/* Turns the kill switch on (state HALTED, reason "kill_switch") or off (back
 * to what the latches say: REDUCING/HALTED on a breach, else ACTIVE with
 * reason "kill_switch_off"). Returns true if the state or reason changed. */
bool risk_set_kill_switch(risk_t *r, bool on);

/* execd's circuit breaker opened (down: HALTED, reason "venue_down": no order
 * could reach the venue anyway) or closed (back to what the kill switch and
 * latches say, reason "venue_up"). The kill switch outranks it. Returns true
 * if the state or reason changed. */
bool risk_set_venue_down(risk_t *r, bool down);

/* An operator's reset of both breach latches (call book_reset_peak first, or
 * the drawdown latches again at the next risk_update_state). Returns true if
 * the state or reason changed (reason "breaches_cleared"). */
bool risk_clear_breaches(risk_t *r);

static inline se_trading_state_t risk_state(const risk_t *r) { return r->state; }
/* A short static string: "start", "kill_switch", "kill_switch_off",
 * "daily_loss", "drawdown", "daily_reset", "breaches_cleared", "venue_down"
 * or "venue_up". */
static inline const char *risk_state_reason(const risk_t *r) { return r->reason; }
static inline bool risk_kill_switch(const risk_t *r) { return r->kill_switch; }
static inline const risk_limits_t *risk_limits(const risk_t *r) { return &r->limits; }

/* The metric label of a rule ("kill_switch", "max_order_size", ...; "ok" for
 * RISK_OK, "unknown" out of range). Static strings. */
const char *risk_rule_name(risk_rule_t rule);

/* Counters since risk_init: checks made (risk_checks_total), signals passed,
 * and violations of one rule (risk_violations_total{rule=...}), would-be
 * violations under risk.enabled = false included. */
static inline uint64_t risk_checks_total(const risk_t *r) { return r->checks; }
static inline uint64_t risk_passed_total(const risk_t *r) { return r->passed; }
static inline uint64_t risk_violations(const risk_t *r, risk_rule_t rule)
{
    return rule > RISK_OK && rule < RISK_RULE_COUNT ? r->violations[rule] : 0;
}

/* A static name for a trading state ("ACTIVE", "REDUCING", "HALTED"). */
const char *risk_state_name(se_trading_state_t s);

#endif
