/* test_sim.c -- check suite for execd's paper-trading fill model (execd/sim.c):
 * market and limit fills, slippage, latency, cancels, rejects, capacity and
 * every field of the reports. Time is injected; no sleeps. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "execd/sim.h"

#define US 1000LL
#define T0 1732400000000000000LL /* an arbitrary realtime instant */
#define EPS 1e-9

/* ---- fixture: the reports are captured in order ------------------------- */

#define MAX_REPORTS 4096

typedef struct {
    se_exec_rec_t r[MAX_REPORTS];
    int n;
} capture_t;

static capture_t *cap;
static sim_t sim;

static void capture(void *ctx, const se_exec_rec_t *report)
{
    capture_t *c = ctx;

    ck_assert_int_lt(c->n, MAX_REPORTS);
    c->r[c->n++] = *report;
}

static void setup(void)
{
    cap = calloc(1, sizeof *cap);
    ck_assert_ptr_nonnull(cap);
    ck_assert_int_eq(sim_init(&sim, 5.0, 250 * US, 64), 0); /* 5 bps, 250 us */
    sim_set_epoch(&sim, 42);
}

static void teardown(void)
{
    sim_fini(&sim);
    free(cap);
}

static void reset_capture(void)
{
    cap->n = 0;
}

static se_in_rec_t quote_rec(const char *sym, double bid, double ask)
{
    se_in_rec_t q;

    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = SE_QUOTE_HAS_BIDASK;
    strcpy(q.symbol, sym);
    q.u.quote.bid = bid;
    q.u.quote.ask = ask;
    return q;
}

static void quote(const char *sym, double bid, double ask, int64_t now)
{
    se_in_rec_t q = quote_rec(sym, bid, ask);
    sim_on_quote(&sim, &q, now, capture, cap);
}

static void last_only(const char *sym, double last, int64_t now)
{
    se_in_rec_t q;

    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = SE_QUOTE_HAS_LAST;
    strcpy(q.symbol, sym);
    q.u.quote.last = last;
    sim_on_quote(&sim, &q, now, capture, cap);
}

static se_order_rec_t order_rec(const char *id, const char *sym, int side, int type, double qty, double price)
{
    se_order_rec_t o;

    memset(&o, 0, sizeof o);
    o.action = SE_ACTION_NEW;
    o.side = (uint8_t)side;
    o.order_type = (uint8_t)type;
    o.strategy_index = 2;
    o.ts_source_ns = T0 - 400;
    o.ts_ingest_ns = T0 - 300;
    o.ts_strategy_ns = T0 - 200;
    o.ts_risk_ns = T0 - 100;
    strcpy(o.symbol, sym);
    strcpy(o.client_order_id, id);
    strcpy(o.strategy, "momentum");
    o.qty = qty;
    o.price = price;
    return o;
}

static void order(const se_order_rec_t *o, int64_t now)
{
    sim_on_order(&sim, o, now, capture, cap);
}

static void new_order(const char *id, const char *sym, int side, int type, double qty, double price, int64_t now)
{
    se_order_rec_t o = order_rec(id, sym, side, type, qty, price);
    order(&o, now);
}

static void cancel(const char *id, int64_t now)
{
    se_order_rec_t o;

    memset(&o, 0, sizeof o);
    o.action = SE_ACTION_CANCEL;
    o.strategy_index = 2;
    o.ts_ingest_ns = T0 + 7;
    o.ts_risk_ns = T0 + 8;
    strcpy(o.symbol, "BTC-USD");
    strcpy(o.client_order_id, id);
    strcpy(o.strategy, "momentum");
    order(&o, now);
}

static const se_exec_rec_t *report(int i)
{
    ck_assert_int_lt(i, cap->n);
    return &cap->r[i];
}

static void expect_kind(int i, int kind, const char *id)
{
    ck_assert_int_eq(report(i)->kind, kind);
    ck_assert_str_eq(report(i)->client_order_id, id);
}

static void expect_reject(int i, const char *id, const char *reason)
{
    expect_kind(i, SE_EXEC_REJECT, id);
    ck_assert_str_eq(report(i)->reason, reason);
    ck_assert(report(i)->leaves_qty == 0);
}

static void expect_fill(int i, const char *id, double qty, double price)
{
    expect_kind(i, SE_EXEC_FILL, id);
    ck_assert_double_eq_tol(report(i)->qty, qty, EPS);
    ck_assert_double_eq_tol(report(i)->price, price, EPS);
    ck_assert(report(i)->leaves_qty == 0);
}

/* ---- market orders -------------------------------------------------------- */

START_TEST(sim_market_buy_should_fill_at_the_ask_plus_slippage)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 2, 0, T0 + 10);
    ck_assert_int_eq(cap->n, 1);
    expect_kind(0, SE_EXEC_ACK, "m-1");
    sim_poll(&sim, T0 + 10 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(1, "m-1", 2, 100.6503); /* 100.60 * 1.0005 */
    ck_assert_int_eq(sim_working(&sim), 0);
}
END_TEST

START_TEST(sim_market_sell_should_fill_at_the_bid_minus_slippage)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_MARKET, 0.5, 0, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(1, "m-1", 0.5, 100.44975); /* 100.50 * 0.9995 */
}
END_TEST

START_TEST(sim_should_fill_no_earlier_than_the_latency_at_the_quote_then_current)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0);
    ck_assert_int_eq(sim_next_event_ns(&sim), T0 + 250 * US);
    quote("BTC-USD", 101.00, 101.10, T0 + 100 * US); /* moves while the order travels */
    sim_poll(&sim, T0 + 250 * US - 1, capture, cap);
    ck_assert_int_eq(cap->n, 1); /* the ACK only */
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(1, "m-1", 1, 101.10 * 1.0005);
    ck_assert_int_eq(report(1)->ts_report_ns, T0 + 250 * US);
    ck_assert_int_eq(report(1)->ts_exec_ns, T0);
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX);
}
END_TEST

START_TEST(sim_should_activate_a_late_polled_order_against_the_quote_of_its_activation)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_MARKET, 1, 0, T0);
    /* Nobody polled at T0+250us; the next quote arrives later and must not be
     * the one the order meets. */
    quote("BTC-USD", 90.00, 90.10, T0 + 900 * US);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(1, "m-1", 1, 100.50 * 0.9995);
    ck_assert_int_eq(report(1)->ts_report_ns, T0 + 900 * US);
    /* At exactly its activation instant, an order still meets the old quote. */
    new_order("m-2", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 1000 * US);
    quote("BTC-USD", 80.00, 80.10, T0 + 1250 * US);
    ck_assert_int_eq(cap->n, 4);
    expect_fill(3, "m-2", 1, 90.10 * 1.0005);
}
END_TEST

START_TEST(sim_should_reject_a_market_order_without_a_quote)
{
    new_order("m-1", "ETH-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0);
    quote("BTC-USD", 100.50, 100.60, T0 + 1); /* another symbol's quote does not help */
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 2);
    expect_kind(0, SE_EXEC_ACK, "m-1");
    expect_reject(1, "m-1", "no quote for ETH-USD");
    ck_assert_str_eq(report(1)->order_id, report(0)->order_id);
    ck_assert_int_eq(sim_working(&sim), 0);
    ck_assert_uint_eq(sim_counters(&sim)->rejects, 1);
    /* The symbol's first quote during the latency is enough. */
    new_order("m-2", "SOL-USD", SE_SIDE_SELL, SE_ORDER_MARKET, 1, 0, T0 + 300 * US);
    quote("SOL-USD", 20, 20.5, T0 + 400 * US);
    sim_poll(&sim, T0 + 550 * US, capture, cap);
    ck_assert_int_eq(cap->n, 4);
    expect_fill(3, "m-2", 1, 20 * 0.9995);
}
END_TEST

START_TEST(sim_zero_latency_should_ack_and_fill_within_the_call)
{
    sim_fini(&sim);
    ck_assert_int_eq(sim_init(&sim, 0, 0, 8), 0);
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0);
    ck_assert_int_eq(cap->n, 2);
    expect_kind(0, SE_EXEC_ACK, "m-1");
    expect_fill(1, "m-1", 1, 100.60); /* no slippage configured */
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX);
}
END_TEST

/* ---- limit orders --------------------------------------------------------- */

START_TEST(sim_limit_should_rest_then_fill_at_its_limit_on_a_crossing_quote)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 3, 100.00, T0);
    new_order("s-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_LIMIT, 4, 101.00, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 2); /* two ACKs; both rest */
    ck_assert_int_eq(sim_working(&sim), 2);
    quote("BTC-USD", 100.10, 100.01, T0 + 300 * US); /* crossed: ignored */
    quote("BTC-USD", 99.90, 100.01, T0 + 400 * US);  /* ask a hair above the limit */
    ck_assert_int_eq(cap->n, 2);
    quote("BTC-USD", 99.50, 99.60, T0 + 500 * US); /* ask through the buy limit */
    ck_assert_int_eq(cap->n, 3);
    expect_fill(2, "b-1", 3, 100.00); /* at its limit, not the better ask */
    ck_assert_int_eq(report(2)->ts_report_ns, T0 + 500 * US);
    quote("BTC-USD", 101.00, 101.10, T0 + 600 * US); /* bid touches the sell limit */
    ck_assert_int_eq(cap->n, 4);
    expect_fill(3, "s-1", 4, 101.00);
    ck_assert_int_eq(sim_working(&sim), 0);
    quote("BTC-USD", 90, 91, T0 + 700 * US);
    ck_assert_int_eq(cap->n, 4); /* filled orders are gone */
}
END_TEST

START_TEST(sim_limit_without_a_quote_should_rest_until_one_crosses)
{
    new_order("b-1", "ETH-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 2000, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 1);
    ck_assert_int_eq(sim_working(&sim), 1);
    quote("ETH-USD", 1999, 2000, T0 + 300 * US);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(1, "b-1", 1, 2000);
}
END_TEST

START_TEST(sim_resting_orders_should_fill_oldest_first_and_only_when_crossed)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-99", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 99, T0);
    new_order("b-100", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 100, T0 + 1);
    new_order("b-98", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 98, T0 + 2);
    new_order("e-1", "ETH-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 5000, T0 + 3);
    sim_poll(&sim, T0 + 300 * US, capture, cap);
    reset_capture();
    quote("BTC-USD", 98.90, 99.00, T0 + 400 * US);
    ck_assert_int_eq(cap->n, 2);
    expect_fill(0, "b-99", 1, 99);
    expect_fill(1, "b-100", 1, 100);
    ck_assert_int_eq(sim_working(&sim), 2);
}
END_TEST

START_TEST(sim_marketable_limit_should_fill_at_once_with_price_improvement)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 101.00, T0);
    new_order("s-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_LIMIT, 2, 100.00, T0);
    new_order("b-2", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 100.60, T0); /* exactly at the ask */
    ck_assert_int_eq(cap->n, 3);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 6);
    expect_fill(3, "b-1", 1, 100.60); /* the ask, better than its limit; no slippage */
    expect_fill(4, "s-1", 2, 100.50); /* the bid */
    expect_fill(5, "b-2", 1, 100.60);
    ck_assert_int_eq(sim_working(&sim), 0);
}
END_TEST

START_TEST(sim_limit_should_judge_marketability_at_activation_not_arrival)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 101.00, T0); /* marketable now */
    quote("BTC-USD", 102.00, 102.10, T0 + 100 * US);                          /* not any more */
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 1);
    ck_assert_int_eq(sim_working(&sim), 1);
}
END_TEST

/* ---- quotes ---------------------------------------------------------------- */

START_TEST(sim_last_only_quotes_should_stand_in_only_for_symbols_without_bid_ask)
{
    double bid, ask;

    /* A trades-only symbol trades at its last price, both ways. */
    last_only("DOGE-USD", 0.25, T0);
    ck_assert_int_eq(sim_quote(&sim, "DOGE-USD", &bid, &ask), 0);
    ck_assert(bid == 0.25 && ask == 0.25);
    new_order("m-1", "DOGE-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 100, 0, T0);
    new_order("b-1", "DOGE-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 100, 0.20, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 3);
    expect_fill(2, "m-1", 100, 0.25 * 1.0005);
    last_only("DOGE-USD", 0.19, T0 + 300 * US); /* a trade through the resting buy */
    ck_assert_int_eq(cap->n, 4);
    expect_fill(3, "b-1", 100, 0.20);

    /* Once a symbol has a spread, a trade print changes neither side. */
    reset_capture();
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-2", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 100.00, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    last_only("BTC-USD", 99.00, T0 + 300 * US);
    ck_assert_int_eq(cap->n, 1); /* the ACK; no fill */
    ck_assert_int_eq(sim_quote(&sim, "BTC-USD", &bid, &ask), 0);
    ck_assert(bid == 100.50 && ask == 100.60);
    ck_assert_uint_eq(sim_counters(&sim)->bad_quotes, 0);
}
END_TEST

START_TEST(sim_should_ignore_bad_quotes)
{
    double bid, ask;
    se_in_rec_t q;

    quote("BTC-USD", 100.50, 100.60, T0);
    quote("BTC-USD", 100.70, 100.60, T0); /* crossed */
    quote("BTC-USD", NAN, 100.60, T0);
    quote("BTC-USD", 0, 100.60, T0);
    quote("BTC-USD", 100.50, INFINITY, T0);
    quote("BTC-USD", -1, 100.60, T0);
    quote("", 1, 2, T0);
    last_only("BTC-USD", NAN, T0);
    q = quote_rec("BTC-USD", 1, 2);
    q.flags = 0; /* no prices at all */
    sim_on_quote(&sim, &q, T0, capture, cap);
    q = quote_rec("BTC-USD", 1, 2);
    memset(q.symbol, 'X', sizeof q.symbol); /* unterminated */
    sim_on_quote(&sim, &q, T0, capture, cap);
    q = quote_rec("BTC-USD", 1, 2);
    q.kind = SE_IN_FILL; /* not a quote: not ours, not bad either */
    sim_on_quote(&sim, &q, T0, capture, cap);
    sim_on_quote(&sim, NULL, T0, capture, cap);
    ck_assert_uint_eq(sim_counters(&sim)->bad_quotes, 9);
    ck_assert_uint_eq(sim_counters(&sim)->quotes, 1);
    ck_assert_int_eq(sim_quote(&sim, "BTC-USD", &bid, &ask), 0);
    ck_assert(bid == 100.50 && ask == 100.60);
    ck_assert_int_eq(sim_quote(&sim, "ETH-USD", &bid, &ask), -ENOENT);
    ck_assert_int_eq(cap->n, 0);
}
END_TEST

START_TEST(sim_should_count_quotes_beyond_the_symbol_table)
{
    char sym[SE_SYMBOL_MAX];

    for (int i = 0; i < SIM_MAX_SYMBOLS; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        quote(sym, 1, 2, T0);
    }
    ck_assert_uint_eq(sim_counters(&sim)->quotes, SIM_MAX_SYMBOLS);
    quote("S0", 3, 4, T0); /* known: fine */
    quote("ONE-TOO-MANY", 1, 2, T0);
    ck_assert_uint_eq(sim_counters(&sim)->symbols_full, 1);
    ck_assert_uint_eq(sim_counters(&sim)->quotes, SIM_MAX_SYMBOLS + 1);
    new_order("b-1", "ONE-TOO-MANY", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 1, T0);
    new_order("m-1", "ONE-TOO-MANY", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0);
    new_order("b-2", "S1023", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 2, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 5);
    expect_reject(0, "b-1", "symbol table full");
    expect_kind(1, SE_EXEC_ACK, "m-1");
    expect_kind(2, SE_EXEC_ACK, "b-2");
    expect_reject(3, "m-1", "no quote for ONE-TOO-MANY");
    expect_fill(4, "b-2", 1, 2);
}
END_TEST

/* ---- cancels ---------------------------------------------------------------- */

START_TEST(sim_should_cancel_a_resting_order)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 3, 100.00, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    cancel("b-1", T0 + 300 * US);
    ck_assert_int_eq(cap->n, 2);
    expect_kind(1, SE_EXEC_CANCELLED, "b-1");
    ck_assert(report(1)->leaves_qty == 3);
    ck_assert_int_eq(sim_working(&sim), 0);
    quote("BTC-USD", 99, 99.5, T0 + 400 * US);
    ck_assert_int_eq(cap->n, 2); /* nothing left to fill */
}
END_TEST

START_TEST(sim_should_cancel_an_order_still_in_its_latency)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 2, 0, T0);
    new_order("m-2", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 1);
    cancel("m-1", T0 + 100 * US);
    ck_assert_int_eq(cap->n, 3);
    expect_kind(2, SE_EXEC_CANCELLED, "m-1");
    ck_assert(report(2)->leaves_qty == 2);
    ck_assert_int_eq(sim_next_event_ns(&sim), T0 + 1 + 250 * US);
    sim_poll(&sim, T0 + 10000 * US, capture, cap);
    ck_assert_int_eq(cap->n, 4);
    expect_fill(3, "m-2", 1, 100.60 * 1.0005); /* only the other one fills */
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX);
}
END_TEST

START_TEST(sim_should_reject_a_cancel_of_an_unknown_or_finished_order)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    cancel("never-seen", T0);
    ck_assert_int_eq(cap->n, 1);
    expect_reject(0, "never-seen", "unknown order");
    ck_assert_str_eq(report(0)->order_id, "");
    ck_assert_int_eq(report(0)->action, SE_ACTION_CANCEL); /* a refused cancel, not a refused order */
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    ck_assert_int_eq(report(2)->kind, SE_EXEC_FILL);
    cancel("m-1", T0 + 300 * US); /* filled already */
    ck_assert_int_eq(cap->n, 4);
    expect_reject(3, "m-1", "unknown order");
    ck_assert_str_eq(report(3)->order_id, report(1)->order_id);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 90, T0 + 300 * US);
    cancel("b-1", T0 + 400 * US);
    cancel("b-1", T0 + 500 * US); /* cancelled already */
    ck_assert_int_eq(cap->n, 7);
    expect_kind(5, SE_EXEC_CANCELLED, "b-1");
    expect_reject(6, "b-1", "unknown order");
    cancel("", T0 + 600 * US);
    expect_reject(7, "", "unknown order");
    ck_assert_uint_eq(sim_counters(&sim)->cancels, 1);
    ck_assert_uint_eq(sim_counters(&sim)->rejects, 4);
}
END_TEST

/* ---- rejects and capacity ------------------------------------------------- */

START_TEST(sim_should_reject_a_duplicate_client_order_id)
{
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("x-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 90, T0);
    new_order("x-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_MARKET, 5, 0, T0 + 1); /* while working */
    ck_assert_int_eq(cap->n, 2);
    expect_reject(1, "x-1", "duplicate client_order_id");
    ck_assert_str_eq(report(1)->order_id, "");
    ck_assert_int_eq(report(1)->side, SE_SIDE_SELL); /* describes the refused record */
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 2);
    sim_poll(&sim, T0 + 300 * US, capture, cap);
    new_order("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 400 * US); /* a retry after its fill */
    ck_assert_int_eq(cap->n, 5);
    expect_fill(3, "m-1", 1, 100.60 * 1.0005);
    expect_reject(4, "m-1", "duplicate client_order_id");
    ck_assert_int_eq(sim_working(&sim), 1);
}
END_TEST

START_TEST(sim_should_reject_invalid_orders_without_an_ack)
{
    se_order_rec_t o;

    quote("BTC-USD", 100.50, 100.60, T0);
#define BAD(field_stmt, why)                                                                     \
    do {                                                                                            \
        o = order_rec("bad", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 100);                       \
        field_stmt;                                                                                 \
        reset_capture();                                                                            \
        order(&o, T0);                                                                              \
        ck_assert_int_eq(cap->n, 1);                                                                \
        ck_assert_int_eq(report(0)->kind, SE_EXEC_REJECT);                                          \
        ck_assert_str_eq(report(0)->reason, why);                                                   \
        ck_assert_str_eq(report(0)->order_id, "");                                                  \
    } while (0)
    BAD(o.qty = 0, "invalid quantity");
    BAD(o.qty = -1, "invalid quantity");
    BAD(o.qty = NAN, "invalid quantity");
    BAD(o.qty = INFINITY, "invalid quantity");
    BAD(o.side = 0, "invalid side");
    BAD(o.side = 3, "invalid side");
    BAD(o.order_type = 0, "invalid order type");
    BAD(o.order_type = 9, "invalid order type");
    BAD(o.price = 0, "invalid limit price");
    BAD(o.price = -5, "invalid limit price");
    BAD(o.price = NAN, "invalid limit price");
    BAD(o.symbol[0] = '\0', "invalid symbol");
    BAD(memset(o.symbol, 'A', sizeof o.symbol), "invalid symbol");
    BAD(o.client_order_id[0] = '\0', "invalid client_order_id");
    BAD(memset(o.client_order_id, 'c', sizeof o.client_order_id), "invalid client_order_id");
    BAD(o.action = 0, "invalid action");
    BAD(o.action = 77, "invalid action");
#undef BAD
    /* Unterminated strings come back terminated, truncated. */
    o = order_rec("ok", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0);
    memset(o.symbol, 'A', sizeof o.symbol);
    memset(o.client_order_id, 'c', sizeof o.client_order_id);
    reset_capture();
    order(&o, T0);
    ck_assert_int_eq(report(0)->kind, SE_EXEC_REJECT);
    ck_assert_uint_eq(strlen(report(0)->symbol), SE_SYMBOL_MAX - 1);
    ck_assert_uint_eq(strlen(report(0)->client_order_id), SE_ID_MAX - 1);
    /* A market order's price is ignored, whatever it says. */
    new_order("m-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_MARKET, 1, NAN, T0);
    sim_poll(&sim, T0 + 250 * US, capture, cap);
    expect_kind(1, SE_EXEC_ACK, "m-1");
    ck_assert(report(1)->price == 0);
    expect_fill(2, "m-1", 1, 100.50 * 0.9995);
    ck_assert_uint_eq(sim_counters(&sim)->acks, 1);
    ck_assert_uint_eq(sim_counters(&sim)->rejects, 18);
    ck_assert_int_eq(sim_working(&sim), 0);
}
END_TEST

START_TEST(sim_should_reject_when_the_table_is_full_and_reuse_finished_slots)
{
    sim_fini(&sim);
    ck_assert_int_eq(sim_init(&sim, 5.0, 250 * US, 2), 0);
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 90, T0);
    new_order("b-2", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 91, T0);
    new_order("b-3", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 92, T0);
    ck_assert_int_eq(cap->n, 3);
    expect_reject(2, "b-3", "order table full");
    ck_assert_int_eq(sim_working(&sim), 2);
    /* A cancel frees room... */
    cancel("b-1", T0 + 1);
    new_order("b-3", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 92, T0 + 2);
    ck_assert_int_eq(cap->n, 5);
    expect_kind(4, SE_EXEC_ACK, "b-3");
    /* ...and so do fills, again and again, without growing anything. */
    cancel("b-2", T0 + 3);
    for (int i = 0; i < 100; i++) {
        char id[16];
        snprintf(id, sizeof id, "m-%d", i);
        reset_capture();
        new_order(id, "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 10 + i * 1000 * US);
        sim_poll(&sim, T0 + 10 + i * 1000 * US + 250 * US, capture, cap);
        ck_assert_int_eq(report(cap->n - 1)->kind, SE_EXEC_FILL);
    }
    ck_assert_int_eq(sim_working(&sim), 1); /* b-3 still rests */
    /* The most recent finished order is still remembered. */
    reset_capture();
    new_order("m-99", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 200000 * US);
    expect_reject(0, "m-99", "duplicate client_order_id");
}
END_TEST

START_TEST(sim_fill_ids_should_be_unique_and_order_ids_numbered)
{
    enum { N = 50 };
    char seen[N][SE_ID_MAX];
    int nf = 0;

    sim_fini(&sim);
    ck_assert_int_eq(sim_init(&sim, 1.0, 0, N), 0);
    ck_assert_uint_gt(sim.epoch, 0); /* from the clock */
    sim_set_epoch(&sim, 1732400000123456789ULL);
    quote("BTC-USD", 100.50, 100.60, T0);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "o-%d", i);
        new_order(id, "BTC-USD", i % 2 ? SE_SIDE_BUY : SE_SIDE_SELL, SE_ORDER_MARKET, 1, 0, T0 + i);
    }
    ck_assert_int_eq(cap->n, 2 * N);
    ck_assert_str_eq(report(0)->order_id, "sim-1");
    ck_assert_str_eq(report(1)->fill_id, "simf-1732400000123456789-1");
    ck_assert_str_eq(report(0)->fill_id, ""); /* not on an ACK */
    for (int i = 0; i < cap->n; i++) {
        if (report(i)->kind != SE_EXEC_FILL)
            continue;
        for (int j = 0; j < nf; j++)
            ck_assert_str_ne(seen[j], report(i)->fill_id);
        strcpy(seen[nf++], report(i)->fill_id);
    }
    ck_assert_int_eq(nf, N);
    ck_assert_str_eq(report(2 * N - 1)->fill_id, "simf-1732400000123456789-50");
    ck_assert_str_eq(report(2 * N - 1)->order_id, "sim-50");
}
END_TEST

/* ---- report fields -------------------------------------------------------- */

static void expect_common(const se_exec_rec_t *r, int kind, int side, int type, const char *id, int64_t ts_exec,
                          int64_t ts_report)
{
    ck_assert_int_eq(r->kind, kind);
    ck_assert_int_eq(r->side, side);
    ck_assert_int_eq(r->order_type, type);
    ck_assert_uint_eq(r->strategy_index, 2);
    ck_assert_str_eq(r->strategy, "momentum");
    ck_assert_str_eq(r->symbol, "BTC-USD");
    ck_assert_str_eq(r->client_order_id, id);
    ck_assert_int_eq(r->ts_exec_ns, ts_exec);
    ck_assert_int_eq(r->ts_report_ns, ts_report);
}

START_TEST(sim_reports_should_carry_every_field)
{
    const se_exec_rec_t *r;
    const int64_t t1 = T0 + 1000, t2 = t1 + 250 * US, t3 = t2 + 5;

    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("lim-1", "BTC-USD", SE_SIDE_SELL, SE_ORDER_LIMIT, 1.5, 101.25, t1);
    new_order("mkt-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 2.5, 0, t1);
    sim_poll(&sim, t2, capture, cap);
    cancel("lim-1", t3);
    ck_assert_int_eq(cap->n, 4);

    r = report(0); /* ACK of the limit */
    expect_common(r, SE_EXEC_ACK, SE_SIDE_SELL, SE_ORDER_LIMIT, "lim-1", t1, t1);
    ck_assert_str_eq(r->order_id, "sim-1");
    ck_assert_str_eq(r->fill_id, "");
    ck_assert(r->qty == 1.5 && r->price == 101.25 && r->leaves_qty == 1.5);
    ck_assert_str_eq(r->reason, "");
    ck_assert_int_eq(r->ts_ingest_ns, T0 - 300);
    ck_assert_int_eq(r->ts_risk_ns, T0 - 100);

    r = report(1); /* ACK of the market order */
    expect_common(r, SE_EXEC_ACK, SE_SIDE_BUY, SE_ORDER_MARKET, "mkt-1", t1, t1);
    ck_assert_str_eq(r->order_id, "sim-2");
    ck_assert(r->qty == 2.5 && r->price == 0 && r->leaves_qty == 2.5);

    r = report(2); /* its FILL */
    expect_common(r, SE_EXEC_FILL, SE_SIDE_BUY, SE_ORDER_MARKET, "mkt-1", t1, t2);
    ck_assert_str_eq(r->order_id, "sim-2");
    ck_assert_str_eq(r->fill_id, "simf-42-1");
    ck_assert_double_eq_tol(r->price, 100.6503, EPS);
    ck_assert(r->qty == 2.5 && r->leaves_qty == 0);
    ck_assert_str_eq(r->reason, "");
    ck_assert_int_eq(r->ts_ingest_ns, T0 - 300);
    ck_assert_int_eq(r->ts_risk_ns, T0 - 100);

    r = report(3); /* CANCELLED of the resting limit: the cancel's own hops */
    expect_common(r, SE_EXEC_CANCELLED, SE_SIDE_SELL, SE_ORDER_LIMIT, "lim-1", t3, t3);
    ck_assert_str_eq(r->order_id, "sim-1");
    ck_assert_str_eq(r->fill_id, "");
    ck_assert(r->qty == 1.5 && r->price == 101.25 && r->leaves_qty == 1.5);
    ck_assert_str_eq(r->reason, "cancelled");
    ck_assert_int_eq(r->ts_ingest_ns, T0 + 7);
    ck_assert_int_eq(r->ts_risk_ns, T0 + 8);

    /* Padding is zero: the records go to shared memory as they are. */
    for (int i = 0; i < cap->n; i++) {
        for (size_t k = 0; k < sizeof report(i)->pad; k++)
            ck_assert_int_eq(report(i)->pad[k], 0);
    }
}
END_TEST

START_TEST(sim_should_truncate_an_unterminated_strategy_name)
{
    se_order_rec_t o = order_rec("b-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 90);

    memset(o.strategy, 's', sizeof o.strategy);
    order(&o, T0);
    ck_assert_int_eq(report(0)->kind, SE_EXEC_ACK);
    ck_assert_uint_eq(strlen(report(0)->strategy), SE_STRATEGY_MAX - 1);
    cancel("b-1", T0 + 1);
    ck_assert_uint_eq(strlen(report(1)->strategy), SE_STRATEGY_MAX - 1);
}
END_TEST

/* ---- time and set-up ------------------------------------------------------ */

START_TEST(sim_next_event_should_follow_the_pending_orders_even_if_time_steps_back)
{
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX);
    quote("BTC-USD", 100.50, 100.60, T0);
    new_order("a", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 1000);
    new_order("b", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 500); /* the clock stepped back */
    new_order("c", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, T0 + 1000);
    ck_assert_int_eq(sim_next_event_ns(&sim), T0 + 500 + 250 * US);
    reset_capture();
    sim_poll(&sim, T0 + 500 + 250 * US, capture, cap);
    ck_assert_int_eq(cap->n, 1);
    expect_kind(0, SE_EXEC_FILL, "b");
    ck_assert_int_eq(sim_next_event_ns(&sim), T0 + 1000 + 250 * US);
    sim_poll(&sim, INT64_MAX, capture, cap);
    ck_assert_int_eq(cap->n, 3);
    expect_kind(1, SE_EXEC_FILL, "a"); /* equal times keep arrival order */
    expect_kind(2, SE_EXEC_FILL, "c");
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX);
    /* Activation saturates instead of overflowing. */
    new_order("d", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0, INT64_MAX - 5);
    ck_assert_int_eq(sim_next_event_ns(&sim), INT64_MAX - 1);
}
END_TEST

START_TEST(sim_should_work_without_an_emit_callback)
{
    se_in_rec_t q = quote_rec("BTC-USD", 100.50, 100.60);
    se_order_rec_t o = order_rec("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0);

    sim_on_quote(&sim, &q, T0, NULL, NULL);
    sim_on_order(&sim, &o, T0, NULL, NULL);
    sim_poll(&sim, T0 + 250 * US, NULL, NULL);
    ck_assert_uint_eq(sim_counters(&sim)->fills, 1);
    ck_assert_int_eq(sim_working(&sim), 0);
}
END_TEST

START_TEST(sim_init_should_refuse_bad_settings_and_calls_on_a_dead_sim_should_be_harmless)
{
    sim_t s;
    se_order_rec_t o = order_rec("m-1", "BTC-USD", SE_SIDE_BUY, SE_ORDER_MARKET, 1, 0);
    se_in_rec_t q = quote_rec("BTC-USD", 1, 2);

    ck_assert_int_eq(sim_init(&s, -0.1, 0, 8), -EINVAL);
    ck_assert_int_eq(sim_init(&s, NAN, 0, 8), -EINVAL);
    ck_assert_int_eq(sim_init(&s, 10000, 0, 8), -EINVAL);
    ck_assert_int_eq(sim_init(&s, 1, -1, 8), -EINVAL);
    ck_assert_int_eq(sim_init(&s, 1, 0, 0), -EINVAL);
    ck_assert_int_eq(sim_init(&s, 1, 0, SIM_MAX_ORDERS + 1), -EINVAL);
    ck_assert_int_eq(sim_init(NULL, 1, 0, 8), -EINVAL);
    /* A failed init leaves a sim_t that ignores everything. */
    sim_on_quote(&s, &q, T0, capture, cap);
    sim_on_order(&s, &o, T0, capture, cap);
    sim_poll(&s, T0, capture, cap);
    ck_assert_int_eq(cap->n, 0);
    ck_assert_int_eq(sim_next_event_ns(&s), INT64_MAX);
    ck_assert_int_eq(sim_quote(&s, "BTC-USD", NULL, NULL), -ENOENT);
    sim_fini(&s);
    sim_fini(&s);
    sim_fini(NULL);
    ck_assert_int_eq(sim_working(NULL), 0);
    ck_assert_uint_eq(sim_counters(NULL)->fills, 0);
    sim_on_order(&sim, NULL, T0, capture, cap);
    ck_assert_int_eq(cap->n, 0);
    /* The extremes of the settings are accepted. */
    ck_assert_int_eq(sim_init(&s, 9999.99, INT64_MAX, 1), 0);
    sim_fini(&s);
}
END_TEST

static Suite *sim_suite(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("sim");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, sim_market_buy_should_fill_at_the_ask_plus_slippage);
    tcase_add_test(tc, sim_market_sell_should_fill_at_the_bid_minus_slippage);
    tcase_add_test(tc, sim_should_fill_no_earlier_than_the_latency_at_the_quote_then_current);
    tcase_add_test(tc, sim_should_activate_a_late_polled_order_against_the_quote_of_its_activation);
    tcase_add_test(tc, sim_should_reject_a_market_order_without_a_quote);
    tcase_add_test(tc, sim_zero_latency_should_ack_and_fill_within_the_call);
    tcase_add_test(tc, sim_limit_should_rest_then_fill_at_its_limit_on_a_crossing_quote);
    tcase_add_test(tc, sim_limit_without_a_quote_should_rest_until_one_crosses);
    tcase_add_test(tc, sim_resting_orders_should_fill_oldest_first_and_only_when_crossed);
    tcase_add_test(tc, sim_marketable_limit_should_fill_at_once_with_price_improvement);
    tcase_add_test(tc, sim_limit_should_judge_marketability_at_activation_not_arrival);
    tcase_add_test(tc, sim_last_only_quotes_should_stand_in_only_for_symbols_without_bid_ask);
    tcase_add_test(tc, sim_should_ignore_bad_quotes);
    tcase_add_test(tc, sim_should_count_quotes_beyond_the_symbol_table);
    tcase_add_test(tc, sim_should_cancel_a_resting_order);
    tcase_add_test(tc, sim_should_cancel_an_order_still_in_its_latency);
    tcase_add_test(tc, sim_should_reject_a_cancel_of_an_unknown_or_finished_order);
    tcase_add_test(tc, sim_should_reject_a_duplicate_client_order_id);
    tcase_add_test(tc, sim_should_reject_invalid_orders_without_an_ack);
    tcase_add_test(tc, sim_should_reject_when_the_table_is_full_and_reuse_finished_slots);
    tcase_add_test(tc, sim_fill_ids_should_be_unique_and_order_ids_numbered);
    tcase_add_test(tc, sim_reports_should_carry_every_field);
    tcase_add_test(tc, sim_should_truncate_an_unterminated_strategy_name);
    tcase_add_test(tc, sim_next_event_should_follow_the_pending_orders_even_if_time_steps_back);
    tcase_add_test(tc, sim_should_work_without_an_emit_callback);
    tcase_add_test(tc, sim_init_should_refuse_bad_settings_and_calls_on_a_dead_sim_should_be_harmless);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sim_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
