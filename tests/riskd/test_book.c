/* test_book.c -- check suite for riskd/book: average-cost PnL on hand-computed
 * fills, marks, fill dedupe, pending orders, equity/peak/drawdown, daily reset
 * times, ring records and capacity errors. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/records.h"
#include "riskd/book.h"
#include "riskd/limits.h"

#define NS 1000000000LL
#define EPS 1e-9

static book_t book;
static book_t *b = &book;
static int A, B; /* strategy indices */

static void setup(void)
{
    ck_assert_int_eq(book_init(b, NULL), 0);
    A = book_add_strategy(b, "alpha");
    B = book_add_strategy(b, "beta");
    ck_assert_int_eq(A, 0);
    ck_assert_int_eq(B, 1);
}

static void teardown(void)
{
    book_fini(b);
}

/* A fill of strategy st with no order, id given. Returns book_apply_fill's result. */
static int fill(const char *id, int st, const char *sym, int side, double qty, double price)
{
    book_fill_t f = { id, NULL, sym, st, (uint8_t)side, qty, price, -1 };
    return book_apply_fill(b, &f, NULL);
}

static book_position_t pos(int st, const char *sym)
{
    book_position_t p;
    int s = book_find_symbol(b, sym);
    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(book_position(b, st, s, &p), 0);
    return p;
}

static void assert_pos(int st, const char *sym, double qty, double avg, double realized, double unrealized)
{
    book_position_t p = pos(st, sym);
    ck_assert_double_eq_tol(p.qty, qty, EPS);
    ck_assert_double_eq_tol(p.avg_price, avg, EPS);
    ck_assert_double_eq_tol(p.realized, realized, EPS);
    ck_assert_double_eq_tol(p.unrealized, unrealized, EPS);
}

static se_exec_rec_t exec_rec(int kind, const char *coid, const char *fill_id, int st, const char *sym, int side,
                              double qty, double price, double leaves)
{
    se_exec_rec_t e;
    memset(&e, 0, sizeof e);
    e.kind = (uint8_t)kind;
    e.side = (uint8_t)side;
    e.strategy_index = (uint32_t)st;
    snprintf(e.symbol, sizeof e.symbol, "%s", sym);
    snprintf(e.client_order_id, sizeof e.client_order_id, "%s", coid);
    snprintf(e.fill_id, sizeof e.fill_id, "%s", fill_id);
    e.qty = qty;
    e.price = price;
    e.leaves_qty = leaves;
    return e;
}

typedef struct {
    int n;
    char ids[8][SE_ID_MAX];
    double open[8];
} listed_t;

static void list_order(void *ctx, const book_open_order_t *o)
{
    listed_t *l = ctx;
    ck_assert_int_lt(l->n, 8);
    ck_assert_str_eq(o->symbol, "BTC-USD");
    snprintf(l->ids[l->n], SE_ID_MAX, "%s", o->client_order_id);
    l->open[l->n++] = o->open_qty;
}

START_TEST(book_should_list_one_strategys_open_orders_with_what_is_still_open)
{
    ck_assert_int_eq(book_order_add(b, "alpha-1-1", A, "BTC-USD", SE_SIDE_BUY, 3), 0);
    ck_assert_int_eq(book_order_add(b, "beta-1-1", B, "BTC-USD", SE_SIDE_SELL, 2), 0);
    ck_assert_int_eq(book_order_add(b, "alpha-1-2", A, "BTC-USD", SE_SIDE_SELL, 1), 0);
    book_fill_t f = { "f1", "alpha-1-1", "BTC-USD", -1, SE_SIDE_BUY, 1, 100, -1 };
    ck_assert_int_eq(book_apply_fill(b, &f, NULL), 1);
    ck_assert_int_eq(book_order_remove(b, "alpha-1-2"), 1);
    listed_t l = { 0 };
    ck_assert_int_eq(book_for_each_order(b, A, list_order, &l), 1);
    ck_assert_str_eq(l.ids[0], "alpha-1-1");
    ck_assert_double_eq_tol(l.open[0], 2, EPS);
    listed_t all = { 0 };
    ck_assert_int_eq(book_for_each_order(b, -1, list_order, &all), 2);
}
END_TEST

START_TEST(book_should_keep_average_cost_and_realise_on_reduction)
{
    /* The path, by hand:
     * buy 2 @100, buy 1 @103 -> 3 @ (200 + 103) / 3 = 101
     * sell 2 @105            -> realised 2 x (105 - 101) = +8; 1 @101
     * sell 3 @99             -> closes 1: 1 x (99 - 101) = -2 (total 6); opens 2 short @99
     * mark 98                -> unrealised (98 - 99) x -2 = +2
     * buy 2 @97              -> realised 2 x (99 - 97) = +4 (total 10); flat */
    ck_assert_int_eq(fill("f1", A, "BTC-USD", SE_SIDE_BUY, 2, 100), 1);
    ck_assert_int_eq(fill("f2", A, "BTC-USD", SE_SIDE_BUY, 1, 103), 1);
    assert_pos(A, "BTC-USD", 3, 101, 0, 0);
    ck_assert_int_eq(fill("f3", A, "BTC-USD", SE_SIDE_SELL, 2, 105), 1);
    assert_pos(A, "BTC-USD", 1, 101, 8, 0);
    ck_assert_int_eq(fill("f4", A, "BTC-USD", SE_SIDE_SELL, 3, 99), 1);
    assert_pos(A, "BTC-USD", -2, 99, 6, 0);
    ck_assert_int_eq(book_mark(b, "BTC-USD", 98, 1), 1);
    assert_pos(A, "BTC-USD", -2, 99, 6, 2);
    ck_assert_double_eq_tol(book_realized(b), 6, EPS);
    ck_assert_double_eq_tol(book_unrealized(b), 2, EPS);
    ck_assert_double_eq_tol(book_equity(b), 8, EPS);
    ck_assert_int_eq(fill("f5", A, "BTC-USD", SE_SIDE_BUY, 2, 97), 1);
    assert_pos(A, "BTC-USD", 0, 0, 10, 0);
    ck_assert_double_eq_tol(book_equity(b), 10, EPS);
    ck_assert_uint_eq(book_stats(b)->fills_applied, 5);
}
END_TEST

START_TEST(book_should_open_the_rest_at_the_fill_price_when_crossing_zero)
{
    ck_assert_int_eq(fill("f1", A, "ETH-USD", SE_SIDE_SELL, 1, 50), 1);  /* -1 @50 */
    ck_assert_int_eq(fill("f2", A, "ETH-USD", SE_SIDE_BUY, 4, 45), 1);   /* +5 closed, 3 long @45 */
    assert_pos(A, "ETH-USD", 3, 45, 5, 0);
}
END_TEST

START_TEST(book_should_close_decimal_fills_to_exactly_zero)
{
    ck_assert_int_eq(fill("f1", A, "SOL-USD", SE_SIDE_BUY, 0.1, 10), 1);
    ck_assert_int_eq(fill("f2", A, "SOL-USD", SE_SIDE_BUY, 0.2, 10), 1);
    ck_assert_int_eq(fill("f3", A, "SOL-USD", SE_SIDE_SELL, 0.3, 11), 1);
    book_position_t p = pos(A, "SOL-USD");
    ck_assert(p.qty == 0);
    ck_assert(p.avg_price == 0);
    ck_assert_double_eq_tol(p.realized, 0.3, EPS);
    ck_assert_int_eq(book_symbol(b, book_find_symbol(b, "SOL-USD"))->holders, 0);
}
END_TEST

START_TEST(book_should_apply_a_fill_id_once)
{
    ck_assert_int_eq(fill("dup-1", A, "BTC-USD", SE_SIDE_BUY, 2, 100), 1);
    ck_assert_int_eq(fill("dup-1", A, "BTC-USD", SE_SIDE_BUY, 2, 100), 0);
    ck_assert_int_eq(fill("dup-1", B, "ETH-USD", SE_SIDE_SELL, 7, 1), 0); /* the id alone decides */
    assert_pos(A, "BTC-USD", 2, 100, 0, 0);
    ck_assert_int_eq(book_find_symbol(b, "ETH-USD"), -1);
    ck_assert_uint_eq(book_stats(b)->fills_duplicate, 2);
    ck_assert_uint_eq(book_stats(b)->fills_applied, 1);
}
END_TEST

START_TEST(book_should_forget_the_oldest_fill_id_beyond_its_memory)
{
    char id[32];
    int n = BOOK_FILL_IDS_MIN;

    ck_assert_int_eq(b->nfill_ids, n);
    for (int i = 0; i <= n; i++) { /* n + 1 fills: id 0 is forgotten */
        snprintf(id, sizeof id, "f-%d", i);
        ck_assert_int_eq(fill(id, A, "BTC-USD", i % 2 ? SE_SIDE_SELL : SE_SIDE_BUY, 1, 100), 1);
    }
    ck_assert_int_eq(fill("f-1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 0);
    ck_assert_int_eq(fill(id, A, "BTC-USD", SE_SIDE_BUY, 1, 100), 0); /* the newest */
    ck_assert_int_eq(fill("f-0", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
    ck_assert_int_eq(fill("f-1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1); /* evicted by f-0's return */
    ck_assert_int_eq(fill("f-2", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
    ck_assert_int_eq(fill("f-4", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 0);
}
END_TEST

START_TEST(book_should_refuse_invalid_fills_and_count_them)
{
    book_fill_t bad[] = {
        { "x1", NULL, "BTC-USD", 0, SE_SIDE_BUY, NAN, 100, -1 },
        { "x2", NULL, "BTC-USD", 0, SE_SIDE_BUY, 0, 100, -1 },
        { "x3", NULL, "BTC-USD", 0, SE_SIDE_BUY, 1, 0, -1 },
        { "x4", NULL, "BTC-USD", 0, SE_SIDE_BUY, 1, INFINITY, -1 },
        { "x5", NULL, "BTC-USD", 0, 3, 1, 100, -1 },
        { "", NULL, "BTC-USD", 0, SE_SIDE_BUY, 1, 100, -1 },
        { NULL, NULL, "BTC-USD", 0, SE_SIDE_BUY, 1, 100, -1 },
        { "x6", NULL, "", 0, SE_SIDE_BUY, 1, 100, -1 },
        { "x7", NULL, "ABCDEFGHIJKLMNOP", 0, SE_SIDE_BUY, 1, 100, -1 }, /* 16 bytes */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(book_apply_fill(b, &bad[i], NULL), -EINVAL);
    ck_assert_uint_eq(book_stats(b)->fills_invalid, sizeof bad / sizeof bad[0]);
    ck_assert_uint_eq(book_stats(b)->fills_applied, 0);
    /* An invalid fill's id is not remembered: the corrected fill applies. */
    ck_assert_int_eq(fill("x1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
}
END_TEST

START_TEST(book_should_refuse_a_fill_it_cannot_attribute)
{
    book_fill_t f = { "u1", "no-such-order", "BTC-USD", -1, SE_SIDE_BUY, 1, 100, -1 };
    ck_assert_int_eq(book_apply_fill(b, &f, NULL), -ENOENT);
    f.strategy = 7; /* only two strategies */
    ck_assert_int_eq(book_apply_fill(b, &f, NULL), -ENOENT);
    ck_assert_uint_eq(book_stats(b)->fills_unattributed, 2);
    f.strategy = B;
    ck_assert_int_eq(book_apply_fill(b, &f, NULL), 1);
}
END_TEST

START_TEST(book_should_book_a_fill_to_its_orders_strategy_and_say_which)
{
    book_change_t chg = { -1, -1 };
    ck_assert_int_eq(book_order_add(b, "beta-1", B, "ETH-USD", SE_SIDE_SELL, 3), 0);
    book_fill_t f = { "e1", "beta-1", "ETH-USD", A, SE_SIDE_SELL, 1, 2000, -1 }; /* order wins over A */
    ck_assert_int_eq(book_apply_fill(b, &f, &chg), 1);
    ck_assert_int_eq(chg.strategy, B);
    ck_assert_int_eq(chg.symbol, book_find_symbol(b, "ETH-USD"));
    ck_assert_str_eq(book_symbol_name(b, chg.symbol), "ETH-USD");
    assert_pos(B, "ETH-USD", -1, 2000, 0, 0);
    ck_assert_double_eq_tol(pos(B, "ETH-USD").pending_sell, 2, EPS);
}
END_TEST

START_TEST(book_should_count_pending_per_side_until_filled_rejected_or_cancelled)
{
    ck_assert_int_eq(book_order_add(b, "o1", A, "BTC-USD", SE_SIDE_BUY, 3), 0);
    ck_assert_int_eq(book_order_add(b, "o2", A, "BTC-USD", SE_SIDE_BUY, 2), 0);
    ck_assert_int_eq(book_order_add(b, "o3", A, "BTC-USD", SE_SIDE_SELL, 1), 0);
    ck_assert_int_eq(book_order_add(b, "o4", B, "BTC-USD", SE_SIDE_BUY, 4), 0);
    int s = book_find_symbol(b, "BTC-USD");
    ck_assert_double_eq_tol(book_cell(b, A, s)->pending_buy, 5, EPS);
    ck_assert_double_eq_tol(book_cell(b, A, s)->pending_sell, 1, EPS);
    ck_assert_double_eq_tol(book_symbol(b, s)->pending_buy, 9, EPS);
    ck_assert_int_eq(book_open_orders(b), 4);

    se_exec_rec_t e = exec_rec(SE_EXEC_FILL, "o1", "x-1", A, "BTC-USD", SE_SIDE_BUY, 1, 100, 2);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1);
    ck_assert_double_eq_tol(book_cell(b, A, s)->pending_buy, 4, EPS);
    ck_assert_double_eq_tol(book_cell(b, A, s)->qty, 1, EPS);
    e = exec_rec(SE_EXEC_REJECT, "o2", "", A, "BTC-USD", SE_SIDE_BUY, 2, 0, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1);
    ck_assert_double_eq_tol(book_cell(b, A, s)->pending_buy, 2, EPS);
    e = exec_rec(SE_EXEC_CANCELLED, "o3", "", A, "BTC-USD", SE_SIDE_SELL, 1, 0, 1);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1);
    ck_assert(book_cell(b, A, s)->pending_sell == 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 0); /* already gone */
    e = exec_rec(SE_EXEC_FILL, "o1", "x-2", A, "BTC-USD", SE_SIDE_BUY, 2, 100, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1);
    ck_assert(book_cell(b, A, s)->pending_buy == 0);
    ck_assert_uint_eq(book_cell(b, A, s)->open_orders, 0);
    ck_assert(!book_order_is_open(b, "o1"));
    ck_assert(book_order_is_open(b, "o4"));
    ck_assert_double_eq_tol(book_symbol(b, s)->pending_buy, 4, EPS);
    ck_assert_int_eq(book_open_orders(b), 1);
    ck_assert_int_eq(book_order_remove(b, "o4"), 1);
    ck_assert_int_eq(book_order_remove(b, "o4"), 0);
    ck_assert(book_symbol(b, s)->pending_buy == 0);
    ck_assert_int_eq(book_open_orders(b), 0);
}
END_TEST

START_TEST(book_should_keep_an_order_whose_cancel_was_refused)
{
    ck_assert_int_eq(book_order_add(b, "o1", A, "BTC-USD", SE_SIDE_BUY, 5), 0);
    se_exec_rec_t e = exec_rec(SE_EXEC_REJECT, "o1", "", A, "BTC-USD", SE_SIDE_BUY, 5, 0, 0);
    e.action = SE_ACTION_CANCEL; /* the venue refused the cancel: the order still works */
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 0);
    ck_assert(book_order_is_open(b, "o1"));
    ck_assert_double_eq_tol(book_cell(b, A, book_find_symbol(b, "BTC-USD"))->pending_buy, 5, EPS);
}
END_TEST

START_TEST(book_should_take_leaves_qty_of_an_exec_fill_as_the_open_quantity)
{
    ck_assert_int_eq(book_order_add(b, "o1", A, "BTC-USD", SE_SIDE_BUY, 5), 0);
    se_exec_rec_t e = exec_rec(SE_EXEC_FILL, "o1", "x-1", A, "BTC-USD", SE_SIDE_BUY, 1, 100, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1); /* venue says done: nothing left pending */
    ck_assert(!book_order_is_open(b, "o1"));
    ck_assert(book_cell(b, A, book_find_symbol(b, "BTC-USD"))->pending_buy == 0);
}
END_TEST

START_TEST(book_should_return_pending_to_exactly_zero_after_decimal_orders)
{
    ck_assert_int_eq(book_order_add(b, "o1", A, "BTC-USD", SE_SIDE_BUY, 0.1), 0);
    ck_assert_int_eq(book_order_add(b, "o2", A, "BTC-USD", SE_SIDE_BUY, 0.2), 0);
    book_fill_t f = { "f1", "o1", "BTC-USD", -1, SE_SIDE_BUY, 0.1, 1, -1 };
    ck_assert_int_eq(book_apply_fill(b, &f, NULL), 1);
    ck_assert_int_eq(book_order_remove(b, "o2"), 1);
    int s = book_find_symbol(b, "BTC-USD");
    ck_assert(book_cell(b, A, s)->pending_buy == 0);
    ck_assert(book_symbol(b, s)->pending_buy == 0);
}
END_TEST

START_TEST(book_should_refuse_bad_and_repeated_orders)
{
    ck_assert_int_eq(book_order_add(b, "o1", A, "BTC-USD", SE_SIDE_BUY, 1), 0);
    ck_assert_int_eq(book_order_add(b, "o1", B, "ETH-USD", SE_SIDE_SELL, 1), -EEXIST);
    ck_assert_int_eq(book_order_add(b, "", A, "BTC-USD", SE_SIDE_BUY, 1), -EINVAL);
    ck_assert_int_eq(book_order_add(b, "o2", 5, "BTC-USD", SE_SIDE_BUY, 1), -EINVAL);
    ck_assert_int_eq(book_order_add(b, "o2", A, "BTC-USD", 0, 1), -EINVAL);
    ck_assert_int_eq(book_order_add(b, "o2", A, "BTC-USD", SE_SIDE_BUY, -1), -EINVAL);
    ck_assert_int_eq(book_order_add(b, "o2", A, "BTC-USD", SE_SIDE_BUY, NAN), -EINVAL);
    ck_assert_int_eq(book_order_add(b, "o2", A, "", SE_SIDE_BUY, 1), -EINVAL);
    char longid[SE_ID_MAX + 1];
    memset(longid, 'x', SE_ID_MAX);
    longid[SE_ID_MAX] = '\0';
    ck_assert_int_eq(book_order_add(b, longid, A, "BTC-USD", SE_SIDE_BUY, 1), -EINVAL);
    ck_assert_int_eq(book_open_orders(b), 1);
}
END_TEST

START_TEST(book_should_mark_to_the_mid_and_say_when_pnl_moved)
{
    ck_assert_int_eq(book_mark(b, "BTC-USD", 100, 1), 0); /* nobody holds it */
    ck_assert_int_eq(fill("f1", A, "BTC-USD", SE_SIDE_BUY, 2, 100), 1);
    ck_assert_int_eq(book_mark(b, "BTC-USD", 101, 2), 1);
    assert_pos(A, "BTC-USD", 2, 100, 0, 2);
    ck_assert_int_eq(book_mark(b, "BTC-USD", 101, 3), 0); /* same mid */
    ck_assert_int_eq(book_symbol(b, book_find_symbol(b, "BTC-USD"))->mark_ns, 3);
    ck_assert_int_eq(book_mark(b, "BTC-USD", 0, 4), -EINVAL);
    ck_assert_int_eq(book_mark(b, "BTC-USD", NAN, 4), -EINVAL);
    ck_assert_int_eq(book_mark(b, "", 10, 4), -EINVAL);
    ck_assert_uint_eq(book_stats(b)->marks_invalid, 3);

    se_in_rec_t q;
    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST;
    strcpy(q.symbol, "BTC-USD");
    q.u.quote.bid = 102;
    q.u.quote.ask = 104;
    q.u.quote.last = 999;
    q.ts_source_ns = 5;
    q.ts_ingest_ns = 7;
    ck_assert_int_eq(book_on_in(b, &q, NULL), 1);
    const book_symbol_t *y = book_symbol(b, book_find_symbol(b, "BTC-USD"));
    ck_assert_double_eq(y->mid, 103);
    ck_assert_int_eq(y->mark_ns, 7); /* local receipt time */
    q.flags = SE_QUOTE_HAS_LAST;
    q.ts_ingest_ns = 0;
    q.u.quote.last = 99;
    ck_assert_int_eq(book_on_in(b, &q, NULL), 1);
    ck_assert_double_eq(y->mid, 99);
    ck_assert_int_eq(y->mark_ns, 5);
    q.flags = 0;
    ck_assert_int_eq(book_on_in(b, &q, NULL), -EINVAL);
    memset(q.symbol, 'Z', sizeof q.symbol); /* unterminated */
    q.flags = SE_QUOTE_HAS_LAST;
    ck_assert_int_eq(book_on_in(b, &q, NULL), -EINVAL);
}
END_TEST

START_TEST(book_should_track_equity_peak_and_drawdown)
{
    ck_assert_int_eq(fill("f1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
    ck_assert_double_eq_tol(book_equity(b), 0, EPS); /* no mark yet */
    book_mark(b, "BTC-USD", 110, 1);
    ck_assert_double_eq_tol(book_equity(b), 10, EPS);
    ck_assert_double_eq_tol(book_peak_equity(b), 10, EPS);
    book_mark(b, "BTC-USD", 95, 2);
    ck_assert_double_eq_tol(book_equity(b), -5, EPS);
    ck_assert_double_eq_tol(book_peak_equity(b), 10, EPS);
    ck_assert_double_eq_tol(book_drawdown(b), 15, EPS);
    ck_assert_int_eq(fill("f2", A, "BTC-USD", SE_SIDE_SELL, 1, 96), 1); /* realise -4 */
    ck_assert_double_eq_tol(book_realized(b), -4, EPS);
    ck_assert_double_eq_tol(book_unrealized(b), 0, EPS);
    ck_assert_double_eq_tol(book_drawdown(b), 14, EPS);
    book_reset_peak(b);
    ck_assert_double_eq_tol(book_drawdown(b), 0, EPS);
    ck_assert_double_eq_tol(book_peak_equity(b), -4, EPS);
}
END_TEST

START_TEST(book_should_sum_offsetting_strategies_in_one_symbol)
{
    ck_assert_int_eq(fill("f1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
    ck_assert_int_eq(fill("f2", B, "BTC-USD", SE_SIDE_SELL, 1, 101), 1);
    ck_assert_int_eq(book_mark(b, "BTC-USD", 100.5, 1), 1);
    const book_symbol_t *y = book_symbol(b, book_find_symbol(b, "BTC-USD"));
    ck_assert_double_eq_tol(y->net_qty, 0, EPS);
    ck_assert_int_eq(y->holders, 2);
    assert_pos(A, "BTC-USD", 1, 100, 0, 0.5);
    assert_pos(B, "BTC-USD", -1, 101, 0, 0.5);
    ck_assert_double_eq_tol(book_unrealized(b), 1, EPS);
    ck_assert_int_eq(fill("f3", A, "ETH-USD", SE_SIDE_BUY, 2, 10), 1);
    book_mark(b, "ETH-USD", 9, 2);
    ck_assert_double_eq_tol(book_equity(b), 1 - 2, EPS);
}
END_TEST

START_TEST(book_should_count_daily_pnl_from_the_last_reset)
{
    book_daily_reset(b, 100);
    ck_assert_int_eq(book_day_start_ns(b), 100);
    ck_assert_int_eq(fill("f1", A, "BTC-USD", SE_SIDE_BUY, 1, 100), 1);
    book_mark(b, "BTC-USD", 90, 1);
    ck_assert_double_eq_tol(book_daily_pnl(b), -10, EPS);
    book_daily_reset(b, 200);
    ck_assert_double_eq_tol(book_daily_pnl(b), 0, EPS);
    book_mark(b, "BTC-USD", 93, 2);
    ck_assert_double_eq_tol(book_daily_pnl(b), 3, EPS);
    ck_assert_double_eq_tol(book_equity(b), -7, EPS);
}
END_TEST

START_TEST(book_next_reset_should_be_the_next_utc_reset_instant)
{
    static const struct {
        const char *hhmm;
        int64_t now_s, now_extra_ns, next_s;
    } cases[] = {
        { "00:00", 1732406400 - 1, 999999999, 1732406400 },       /* a nanosecond before midnight */
        { "00:00", 1732406400, 0, 1732406400 + 86400 },           /* at midnight: the next one */
        { "00:00", 1732406400, 1, 1732406400 + 86400 },
        { "17:30", 1732383000 - 5 * 3600, 0, 1732383000 },        /* same day, later */
        { "17:30", 1732383000 + 1800, 0, 1732469400 },            /* after it: tomorrow */
        { "00:00", 1735686000, 0, 1735689600 },                   /* 2024-12-31 23:00 -> 2025-01-01 */
        { "02:00", 1711845000, 0, 1711850400 },                   /* EU DST day: UTC has none, 1.5 h */
        { "23:59", 1732406400, 0, 1732406400 + 86340 },
        { "00:00", -3600, 0, 0 },                                 /* 1969-12-31 23:00 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        risk_limits_t l;
        limits_defaults(&l);
        l.daily_reset_minute = limits_parse_hhmm(cases[i].hhmm);
        int64_t now = cases[i].now_s * NS + cases[i].now_extra_ns;
        ck_assert_msg(book_next_reset_ns(&l, now) == cases[i].next_s * NS, "case %zu: got %lld", i,
                      (long long)book_next_reset_ns(&l, now));
    }
}
END_TEST

START_TEST(book_should_refuse_strategies_beyond_its_capacity)
{
    book_t small;
    book_config_t c = { .max_strategies = 2, .max_symbols = 2, .max_orders = 2 };
    ck_assert_int_eq(book_init(&small, &c), 0);
    ck_assert_int_eq(book_add_strategy(&small, "a"), 0);
    ck_assert_int_eq(book_add_strategy(&small, "a"), -EEXIST);
    ck_assert_int_eq(book_add_strategy(&small, ""), -EINVAL);
    ck_assert_int_eq(book_add_strategy(&small, "abcdefghijklmnopqrstuvwxyz0123456"), -EINVAL);
    ck_assert_int_eq(book_add_strategy(&small, "b"), 1);
    ck_assert_int_eq(book_add_strategy(&small, "c"), -ENOSPC);
    ck_assert_int_eq(book_strategy_count(&small), 2);
    ck_assert_str_eq(book_strategy_name(&small, 1), "b");
    ck_assert_ptr_null(book_strategy_name(&small, 2));

    /* Symbols: two fit, the third is an error (and counted), not a crash. */
    ck_assert_int_eq(book_mark(&small, "S1", 1, 1), 0);
    ck_assert_int_eq(book_intern_symbol(&small, "S2"), 1);
    ck_assert_int_eq(book_mark(&small, "S3", 1, 1), -ENOSPC);
    book_fill_t f = { "f1", NULL, "S3", 0, SE_SIDE_BUY, 1, 1, -1 };
    ck_assert_int_eq(book_apply_fill(&small, &f, NULL), -ENOSPC);
    f.symbol = "S1";
    ck_assert_int_eq(book_apply_fill(&small, &f, NULL), 1); /* the id was not spent on the failure */

    /* Orders: two fit; freeing one makes room again. */
    ck_assert_int_eq(book_order_add(&small, "o1", 0, "S1", SE_SIDE_BUY, 1), 0);
    ck_assert_int_eq(book_order_add(&small, "o2", 0, "S1", SE_SIDE_BUY, 1), 0);
    ck_assert_int_eq(book_order_add(&small, "o3", 0, "S1", SE_SIDE_BUY, 1), -ENOSPC);
    ck_assert_int_eq(book_order_add(&small, "o3", 0, "S3", SE_SIDE_BUY, 1), -ENOSPC);
    ck_assert_int_eq(book_order_remove(&small, "o1"), 1);
    ck_assert_int_eq(book_order_add(&small, "o3", 0, "S1", SE_SIDE_BUY, 1), 0);
    ck_assert_uint_eq(book_stats(&small)->capacity_errors, 5);
    book_fini(&small);
}
END_TEST

START_TEST(book_should_refuse_capacities_out_of_range)
{
    book_t x;
    book_config_t c[] = {
        { .max_strategies = BOOK_STRATEGIES_MAX + 1 },
        { .max_symbols = -1 },
        { .max_orders = BOOK_ORDERS_MAX + 1 },
        { .fill_ids = BOOK_FILL_IDS_MIN - 1 },
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        ck_assert_int_eq(book_init(&x, &c[i]), -EINVAL);
    book_fini(&x); /* safe on a failed (zeroed) book */
}
END_TEST

START_TEST(book_should_book_venue_fills_from_ring_in_to_the_orders_strategy)
{
    ck_assert_int_eq(book_order_add(b, "beta-7", B, "BTC-USD", SE_SIDE_BUY, 2), 0);
    se_in_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_IN_FILL;
    strcpy(r.symbol, "BTC-USD");
    strcpy(r.u.fill.fill_id, "nats-1");
    strcpy(r.u.fill.client_order_id, "beta-7");
    r.u.fill.side = SE_SIDE_BUY;
    r.u.fill.qty = 2;
    r.u.fill.price = 100;
    book_change_t chg;
    ck_assert_int_eq(book_on_in(b, &r, &chg), 1);
    ck_assert_int_eq(chg.strategy, B);
    ck_assert(!book_order_is_open(b, "beta-7"));
    /* The same fill relayed on ring exe is not booked twice. */
    se_exec_rec_t e = exec_rec(SE_EXEC_FILL, "beta-7", "nats-1", B, "BTC-USD", SE_SIDE_BUY, 2, 100, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 0);
    assert_pos(B, "BTC-USD", 2, 100, 0, 0);
    r.kind = SE_IN_POSITION;
    ck_assert_int_eq(book_on_in(b, &r, NULL), 0);
    r.kind = 99;
    ck_assert_int_eq(book_on_in(b, &r, NULL), -EINVAL);
    e.kind = SE_EXEC_ACK;
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 0);
    e.kind = 99;
    ck_assert_int_eq(book_on_exec(b, &e, NULL), -EINVAL);
}
END_TEST

START_TEST(book_should_book_an_exec_fill_of_an_unknown_order_to_its_strategy_index)
{
    se_exec_rec_t e = exec_rec(SE_EXEC_FILL, "gone-1", "x-1", B, "BTC-USD", SE_SIDE_SELL, 1, 100, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), 1);
    assert_pos(B, "BTC-USD", -1, 100, 0, 0);
    e = exec_rec(SE_EXEC_FILL, "gone-2", "x-2", 40, "BTC-USD", SE_SIDE_SELL, 1, 100, 0);
    ck_assert_int_eq(book_on_exec(b, &e, NULL), -ENOENT);
    memset(e.fill_id, 'f', sizeof e.fill_id); /* unterminated id from a broken peer */
    e.strategy_index = (uint32_t)B;
    ck_assert_int_eq(book_on_exec(b, &e, NULL), -EINVAL);
}
END_TEST

/* Toggles random orders among ids o-0..o-(pool-1) in bk, never more than
 * max_open open at once, for `rounds` rounds of pool/2 toggles; after each
 * round, exactly the open ones must be found and pending must match. */
static void churn(book_t *bk, int pool, int max_open, int rounds)
{
    bool *open = calloc((size_t)pool, sizeof *open);
    char id[32];
    uint64_t rng = 12345;
    int st = book_strategy_count(bk) ? 0 : book_add_strategy(bk, "s"), count = 0;

    ck_assert_ptr_nonnull(open);
    for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < pool / 2 + max_open; k++) {
            rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
            int i = (int)((rng >> 33) % (uint64_t)pool);
            snprintf(id, sizeof id, "o-%d", i);
            if (open[i]) {
                ck_assert_int_eq(book_order_remove(bk, id), 1);
                count--;
            } else if (count < max_open) {
                ck_assert_int_eq(book_order_add(bk, id, st, "BTC-USD", SE_SIDE_BUY, 1), 0);
                count++;
            } else {
                continue;
            }
            open[i] = !open[i];
        }
        for (int i = 0; i < pool; i++) {
            snprintf(id, sizeof id, "o-%d", i);
            ck_assert_msg(book_order_is_open(bk, id) == open[i], "order %d round %d", i, round);
        }
        ck_assert_int_eq(book_open_orders(bk), count);
        ck_assert_double_eq_tol(book_cell(bk, st, book_find_symbol(bk, "BTC-USD"))->pending_buy, count, 1e-6);
    }
    free(open);
}

START_TEST(book_should_find_every_open_order_through_heavy_churn)
{
    /* A full table makes long probe runs; removals in random order exercise
     * the backward shift that keeps every entry reachable. The small table,
     * fed from a larger pool of ids, wraps probe runs around its end often. */
    churn(b, 80000, BOOK_ORDERS_MAX, 3);
    book_t small;
    book_config_t c = { .max_orders = 64 };
    ck_assert_int_eq(book_init(&small, &c), 0);
    churn(&small, 1000, 64, 200);
    book_fini(&small);
}
END_TEST

START_TEST(book_key_field_should_match_the_string_key_and_refuse_unterminated_fields)
{
    /* Every length of a 16-byte field, garbage after the NUL included. */
    for (int len = 0; len <= SE_SYMBOL_MAX; len++) {
        char field[SE_SYMBOL_MAX];
        uint64_t a[2], k[2];
        memset(field, 0x7f, sizeof field);
        for (int i = 0; i < len && i < SE_SYMBOL_MAX; i++)
            field[i] = (char)('A' + i);
        if (len < SE_SYMBOL_MAX)
            field[len] = '\0';
        int got = book__key_field(a, 2, field);
        if (len == 0 || len == SE_SYMBOL_MAX) {
            ck_assert_msg(got == -1, "len %d: %d", len, got);
            continue;
        }
        ck_assert_int_eq(got, len);
        ck_assert_int_eq(book__key(k, 2, field), len);
        ck_assert_msg(a[0] == k[0] && a[1] == k[1], "len %d: keys differ", len);
        ck_assert(book__hash(a, 2) == book__hash(k, 2));
    }
    char id[SE_ID_MAX];
    uint64_t a[SE_ID_MAX / 8];
    memset(id, 'x', sizeof id);
    ck_assert_int_eq(book__key_field(a, SE_ID_MAX / 8, id), -1);
    id[SE_ID_MAX - 1] = '\0';
    ck_assert_int_eq(book__key_field(a, SE_ID_MAX / 8, id), SE_ID_MAX - 1);
    id[8] = '\0';
    ck_assert_int_eq(book__key_field(a, SE_ID_MAX / 8, id), 8);
    ck_assert(a[1] == 0 && a[5] == 0);
}
END_TEST

static Suite *book_suite(void)
{
    Suite *s = suite_create("book");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30); /* the churn case takes ~1 s alone; CI machines are shared */

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, book_should_keep_average_cost_and_realise_on_reduction);
    tcase_add_test(tc, book_should_open_the_rest_at_the_fill_price_when_crossing_zero);
    tcase_add_test(tc, book_should_close_decimal_fills_to_exactly_zero);
    tcase_add_test(tc, book_should_apply_a_fill_id_once);
    tcase_add_test(tc, book_should_forget_the_oldest_fill_id_beyond_its_memory);
    tcase_add_test(tc, book_should_refuse_invalid_fills_and_count_them);
    tcase_add_test(tc, book_should_refuse_a_fill_it_cannot_attribute);
    tcase_add_test(tc, book_should_book_a_fill_to_its_orders_strategy_and_say_which);
    tcase_add_test(tc, book_should_count_pending_per_side_until_filled_rejected_or_cancelled);
    tcase_add_test(tc, book_should_keep_an_order_whose_cancel_was_refused);
    tcase_add_test(tc, book_should_take_leaves_qty_of_an_exec_fill_as_the_open_quantity);
    tcase_add_test(tc, book_should_return_pending_to_exactly_zero_after_decimal_orders);
    tcase_add_test(tc, book_should_refuse_bad_and_repeated_orders);
    tcase_add_test(tc, book_should_find_every_open_order_through_heavy_churn);
    tcase_add_test(tc, book_should_mark_to_the_mid_and_say_when_pnl_moved);
    tcase_add_test(tc, book_should_track_equity_peak_and_drawdown);
    tcase_add_test(tc, book_should_sum_offsetting_strategies_in_one_symbol);
    tcase_add_test(tc, book_should_count_daily_pnl_from_the_last_reset);
    tcase_add_test(tc, book_next_reset_should_be_the_next_utc_reset_instant);
    tcase_add_test(tc, book_should_refuse_strategies_beyond_its_capacity);
    tcase_add_test(tc, book_should_refuse_capacities_out_of_range);
    tcase_add_test(tc, book_key_field_should_match_the_string_key_and_refuse_unterminated_fields);
    tcase_add_test(tc, book_should_book_venue_fills_from_ring_in_to_the_orders_strategy);
    tcase_add_test(tc, book_should_book_an_exec_fill_of_an_unknown_order_to_its_strategy_index);
    tcase_add_test(tc, book_should_list_one_strategys_open_orders_with_what_is_still_open);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode stays on (CK_FORK=no is honoured by check itself), so the
     * suite can run in one process under valgrind. */
    SRunner *sr = srunner_create(book_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
