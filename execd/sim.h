/* sim.h -- execd's paper-trading fill model (engine.mode = simulation): fills
 * the orders of ring `ord` itself against the latest market data of ring `in`
 * and reports acks, rejects, cancels and fills as ring `exe` records.
 *
 * The model:
 *  - NEW is acknowledged at once (order_id "sim-<n>") and becomes active
 *    execution.sim.latencyUs later (sim_poll, or any later call, activates it).
 *  - An active MARKET order fills completely at the quote current at that
 *    moment: ask * (1 + slippage) for a BUY, bid * (1 - slippage) for a SELL,
 *    slippage = execution.sim.slippageBps / 10000. No quote: REJECT
 *    "no quote for <SYMBOL>".
 *  - An active LIMIT order that is marketable (BUY: ask <= limit; SELL:
 *    bid >= limit) fills at once at the better of its limit and the opposite
 *    quote (that is, at the ask or the bid). Slippage never applies to limit
 *    orders: a limit price is a guarantee. Otherwise it rests, and fills at
 *    its limit price on the first quote that crosses it.
 *  - Fills are whole: no partial fills, no size limits from bid_size/ask_size.
 *  - CANCEL takes effect at once (no latency): CANCELLED for a working order,
 *    pending or resting, with leaves_qty its open quantity; REJECT
 *    "unknown order" otherwise (never seen, already filled, cancelled or
 *    rejected).
 *  - Quotes: a quote with bid and ask sets the symbol's bid and ask. A
 *    last-only quote (SE_QUOTE_HAS_LAST without SE_QUOTE_HAS_BIDASK) records
 *    `last`, which stands in for both bid and ask only while the symbol has
 *    never had a two-sided quote -- so a trades-only feed still trades, and a
 *    trade print never overwrites a real spread. Quotes with a price that is
 *    not finite and > 0, or with bid > ask, are counted and ignored.
 *  - Time: now_ns is injected by the caller (CLOCK_REALTIME, as in the records).
 *    Every entry point first activates the orders that are due by now_ns, so
 *    an order always meets the quote that was current at its activation time,
 *    even when sim_poll was late; an order due at exactly the instant of a
 *    new quote activates before that quote is applied.
 *
 * Capacity is fixed at init: SIM_MAX_SYMBOLS symbols and max_orders order
 * slots. Working orders hold their slot; finished orders keep theirs (so their
 * client_order_id is still known: a NEW that reuses it is a duplicate) until
 * the slot is needed, oldest finished first. The table is full only when every
 * slot holds a working order.
 *
 * Not thread-safe; the emit callback must not call back into the same sim_t. */
#ifndef EXECD_SIM_H
#define EXECD_SIM_H

#include <stdint.h>

#include "common/records.h"

#define SIM_MAX_SYMBOLS 1024
#define SIM_MAX_ORDERS  (1 << 22) /* largest max_orders sim_init accepts (256 bytes each) */

/* Receives one report. The record is borrowed for the duration of the call
 * (copy it, e.g. into ring `exe`); the callback must not call into the sim_t. */
typedef void (*sim_emit_fn)(void *ctx, const se_exec_rec_t *report);

/* Counters since sim_init. */
typedef struct {
    uint64_t orders;       /* records handed to sim_on_order */
    uint64_t acks, rejects, cancels, fills;
    uint64_t quotes;       /* quotes applied */
    uint64_t bad_quotes;   /* quotes ignored: bad symbol or prices (other `in` records are not counted) */
    uint64_t symbols_full; /* quotes ignored: a new symbol and no room in the table */
} sim_counters_t;

/* Internal tables, in the header only so that sim_t can be embedded. */
typedef struct {
    char symbol[SE_SYMBOL_MAX];
    double bid, ask, last;
    uint8_t has_bidask, has_last;
    int32_t rest_head, rest_tail; /* resting orders, oldest first */
} sim_symbol_t;

typedef struct {
    se_order_rec_t ord;      /* the NEW, strings NUL-terminated */
    char order_id[32];       /* "sim-<n>" */
    int64_t ts_exec_ns;      /* when sim_on_order took it */
    int64_t activate_ns;     /* when its latency has elapsed */
    int32_t prev, next;      /* pending or resting list; `next` also links the finished list */
    int32_t hnext;           /* client_order_id hash chain */
    int32_t sym;             /* symbol slot, or -1 (a market order of a symbol not seen yet) */
    uint8_t state;           /* free, pending, resting, done */
    uint8_t pad[7];
} sim_order_t;

/* The simulator. Embedded by the caller; sim_init allocates its tables. */
typedef struct {
    double slip;          /* slippage as a fraction */
    int64_t latency_ns;
    uint64_t epoch;       /* in fill ids */
    uint64_t order_seq, fill_seq;
    sim_symbol_t *syms;
    int32_t *sym_hash;    /* open addressing: symbol slot + 1, 0 = empty */
    int nsyms;
    sim_order_t *orders;
    int32_t *id_hash;     /* chain heads by client_order_id, -1 = empty */
    uint32_t id_mask;
    int cap;
    int working;          /* pending + resting */
    int32_t free_head;
    int32_t pend_head, pend_tail; /* pending orders by activation time */
    int32_t done_head, done_tail; /* finished orders, oldest first */
    sim_counters_t counters;
} sim_t;

/* Sets up a simulator: slippage_bps (execution.sim.slippageBps, finite, in
 * [0, 10000)), latency_ns (execution.sim.latencyUs * 1000, >= 0) and room for
 * max_orders orders in [1, SIM_MAX_ORDERS]. The fill-id epoch is taken from
 * CLOCK_REALTIME in nanoseconds, so fill ids differ across restarts (see
 * sim_set_epoch). Returns 0, -EINVAL (a bad argument; se_errmsg() names it)
 * or -ENOMEM (nothing left allocated). Free with sim_fini. */
int sim_init(sim_t *s, double slippage_bps, int64_t latency_ns, int max_orders);

/* Frees the tables; working orders are forgotten without reports. Safe on a
 * zeroed or finished sim_t, which may then be initialised again. */
void sim_fini(sim_t *s);

/* Replaces the epoch in fill ids ("simf-<epoch>-<n>"); for tests and for
 * callers that keep their own run id. Call before the first order. */
void sim_set_epoch(sim_t *s, uint64_t epoch);

/* Applies one record of ring `in` (only SE_IN_QUOTE records; others are
 * ignored) at now_ns: activates the orders due by now_ns, updates the symbol's
 * bid/ask (see the quote rules above), then fills every resting limit order of
 * the symbol that the quote crosses -- a BUY when ask <= limit, a SELL when
 * bid >= limit -- at its limit price, oldest first. Reports go to emit(ctx, ..)
 * (emit may be NULL: reports are dropped). No allocation. */
void sim_on_quote(sim_t *s, const se_in_rec_t *quote, int64_t now_ns, sim_emit_fn emit, void *ctx);

/* Handles one record of ring `ord` at now_ns (which becomes ts_exec_ns), after
 * activating the orders due by now_ns.
 * NEW: REJECT (no order_id) for qty not finite and > 0, side or type unknown,
 * a LIMIT price not finite and > 0, an empty or unterminated symbol or
 * client_order_id, a client_order_id already known ("duplicate
 * client_order_id"), no room ("order table full", "symbol table full");
 * otherwise ACK (order_id "sim-<n>", qty and leaves_qty the order's) and the
 * order activates at now_ns + latency (at once when latency is 0).
 * CANCEL: CANCELLED for a working order, with its side, type, symbol, strategy
 * and order_id, qty and leaves_qty its open quantity, reason "cancelled";
 * REJECT "unknown order" otherwise. Other actions: REJECT "invalid action".
 * Every report describes the order: side, order_type, strategy,
 * strategy_index, symbol, client_order_id, order_id (empty when refused before
 * an ACK), qty (the order's; a FILL's executed quantity is all of it), price
 * (the limit, 0 for market orders; a FILL's execution price), leaves_qty (ACK:
 * qty; CANCELLED: the open quantity that will never fill; FILL, REJECT: 0),
 * reason (REJECT, CANCELLED) and fill_id (FILL only, "simf-<epoch>-<n>").
 * Every report copies ts_ingest_ns and ts_risk_ns from the record that caused
 * it (the NEW for acks, fills and its rejects; the CANCEL for cancel
 * reports), ts_exec_ns is when sim_on_order took that record, ts_report_ns is
 * the now_ns of the call that writes the report. No allocation. */
void sim_on_order(sim_t *s, const se_order_rec_t *order, int64_t now_ns, sim_emit_fn emit, void *ctx);

/* Activates every order whose latency has elapsed by now_ns, oldest due
 * first: market orders fill or are rejected, limit orders fill or rest.
 * Call it whenever sim_next_event_ns() has passed. No allocation. */
void sim_poll(sim_t *s, int64_t now_ns, sim_emit_fn emit, void *ctx);

/* The activation time of the next pending order, or INT64_MAX if none (so
 * the caller can sleep until then, or until the next record arrives). */
int64_t sim_next_event_ns(const sim_t *s);

/* The number of working orders (pending or resting). */
int sim_working(const sim_t *s);

/* The prices a market order of symbol would meet now: *bid and *ask (last for
 * both when the symbol has had only trades). Returns 0 or -ENOENT (no usable
 * quote yet). For status pages and tests. */
int sim_quote(const sim_t *s, const char *symbol, double *bid, double *ask);

/* The counters since sim_init (borrowed; valid until sim_fini). */
const sim_counters_t *sim_counters(const sim_t *s);

#endif
