/* test_market_making.c -- check suite for the "market_making" built-in
 * strategy (strategyd/builtin_market_making.c), against a fake host.
 * With the defaults and mid 100: half spread 0.05, quotes 99.95 / 100.05. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/include/strategy.h"
#include "strategyd/builtins.h"
#include "tests/support/fake_host.h"

#define MAX_OUT 8

static fake_host_t *fh;
static const strat_plugin_t *plug;
static void *st;
static strat_signal_t sig[MAX_OUT];

static void setup(void)
{
    fh = fake_host_new("mm");
    plug = builtin_find("market_making");
    ck_assert_ptr_nonnull(plug);
    st = NULL;
}

static void teardown(void)
{
    if (st != NULL)
        plug->destroy(st);
    fake_host_free(fh);
}

static void start(void)
{
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(plug->init(st), 0);
    ck_assert_int_eq(plug->start(st), 0);
}

static int tick_n(const char *symbol, double mid, int max_out)
{
    strat_tick_t t = fake_tick(symbol, mid);

    memset(sig, 0x5a, sizeof sig);
    return plug->on_market_data(st, &t, sig, max_out);
}

static int tick(const char *symbol, double mid)
{
    return tick_n(symbol, mid, MAX_OUT);
}

static void fill(const char *id, int side, double qty, double price)
{
    strat_fill_t f = fake_fill(id, "AAPL", side, qty, price);
    ck_assert_int_eq(plug->on_fill(st, &f), 0);
}

static void update(const char *id, int status, double open_qty)
{
    strat_order_update_t u = fake_update(id, "AAPL", status, open_qty);
    ck_assert_int_eq(plug->on_order_update(st, &u), 0);
}

static void assert_quote(const strat_signal_t *s, int side, double qty, double price, const char *id)
{
    ck_assert_int_eq(s->action, STRAT_NEW);
    ck_assert_int_eq(s->side, side);
    ck_assert_int_eq(s->type, STRAT_LIMIT);
    ck_assert_double_eq_tol(s->qty, qty, 1e-9);
    ck_assert_double_eq_tol(s->price, price, 1e-9);
    ck_assert_str_eq(s->symbol, "AAPL");
    ck_assert_str_eq(s->client_order_id, id);
}

static void assert_cancel(const strat_signal_t *s, const char *id)
{
    ck_assert_int_eq(s->action, STRAT_CANCEL);
    ck_assert_str_eq(s->symbol, "AAPL");
    ck_assert_str_eq(s->client_order_id, id);
}

static double metric(const char *name)
{
    strat_metric_t m[32];
    int n = plug->metrics(st, m, 32);

    for (int i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return m[i].value;
    ck_abort_msg("no metric %s", name);
    return NAN;
}

START_TEST(mm_should_quote_both_sides_on_the_first_tick)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-1");
    assert_quote(&sig[1], STRAT_SELL, 1, 100.05, "mm-1-2");
    ck_assert_uint_eq(fake_host_ids_issued(fh), 2);
}
END_TEST

START_TEST(mm_should_round_the_bid_down_and_the_ask_up_to_the_tick)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100.003), 2); /* 99.953 / 100.053 */
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-1");
    assert_quote(&sig[1], STRAT_SELL, 1, 100.06, "mm-1-2");
}
END_TEST

START_TEST(mm_should_keep_prices_already_on_the_grid)
{
    fake_host_set_double(fh, "spread", 0.002);
    start();
    /* 99.9 / 0.01 is 9989.999... in binary: still 99.9, not 99.89. */
    ck_assert_int_eq(tick("AAPL", 100), 2);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.9, "mm-1-1");
    assert_quote(&sig[1], STRAT_SELL, 1, 100.1, "mm-1-2");
}
END_TEST

START_TEST(mm_should_not_requote_before_refresh_ms)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fake_host_advance_ms(fh, 499);
    ck_assert_int_eq(tick("AAPL", 101), 0);
    ck_assert_int_eq(tick("AAPL", 99), 0);
}
END_TEST

START_TEST(mm_should_cancel_and_replace_both_sides_when_the_mid_moves_after_refresh_ms)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fake_host_advance_ms(fh, 500);
    /* mid 101: half 0.0505, bid 100.9495 -> 100.94, ask 101.0505 -> 101.06 */
    ck_assert_int_eq(tick("AAPL", 101), 4);
    assert_cancel(&sig[0], "mm-1-1");
    ck_assert_int_eq(sig[0].side, STRAT_BUY);
    assert_quote(&sig[1], STRAT_BUY, 1, 100.94, "mm-1-3");
    assert_cancel(&sig[2], "mm-1-2");
    ck_assert_int_eq(sig[2].side, STRAT_SELL);
    assert_quote(&sig[3], STRAT_SELL, 1, 101.06, "mm-1-4");
    /* and then not again for refresh_ms */
    fake_host_advance_ms(fh, 100);
    ck_assert_int_eq(tick("AAPL", 102), 0);
}
END_TEST

START_TEST(mm_should_requote_only_the_side_whose_price_changed)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fake_host_advance_ms(fh, 500);
    /* mid 100.005: bid 99.954998 -> 99.95 (same), ask 100.055003 -> 100.06 */
    ck_assert_int_eq(tick("AAPL", 100.005), 2);
    assert_cancel(&sig[0], "mm-1-2");
    assert_quote(&sig[1], STRAT_SELL, 1, 100.06, "mm-1-3");
}
END_TEST

START_TEST(mm_should_not_requote_unchanged_prices_nor_restart_the_clock)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    fake_host_advance_ms(fh, 10);
    /* The last quote was 510 ms ago: a change is quoted at once. */
    ck_assert_int_eq(tick("AAPL", 101), 4);
}
END_TEST

START_TEST(mm_should_skew_both_quotes_down_when_long)
{
    fake_host_set_double(fh, "tick_size", 0.0001);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-1", STRAT_BUY, 1, 99.95);
    fake_host_advance_ms(fh, 500);
    /* q = 1/10, shift = 0.5 * 0.1 * 0.05 = 0.0025 */
    ck_assert_int_eq(tick("AAPL", 100), 3);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.9475, "mm-1-3"); /* the filled bid: no cancel */
    assert_cancel(&sig[1], "mm-1-2");
    assert_quote(&sig[2], STRAT_SELL, 1, 100.0475, "mm-1-4");
}
END_TEST

START_TEST(mm_should_skew_both_quotes_up_when_short)
{
    fake_host_set_double(fh, "tick_size", 0.0001);
    fake_host_set_double(fh, "inventory_skew", 1.0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-2", STRAT_SELL, 1, 100.05);
    fake_host_advance_ms(fh, 500);
    /* q = -0.1, shift = 1.0 * -0.1 * 0.05 = -0.005 */
    ck_assert_int_eq(tick("AAPL", 100), 3);
    assert_cancel(&sig[0], "mm-1-1");
    assert_quote(&sig[1], STRAT_BUY, 1, 99.955, "mm-1-3");
    assert_quote(&sig[2], STRAT_SELL, 1, 100.055, "mm-1-4");
}
END_TEST

START_TEST(mm_should_clamp_the_skew_and_quote_only_the_reducing_side_beyond_max_inventory)
{
    strat_position_t p = { .symbol = "AAPL", .qty = 20, .avg_price = 100 };

    fake_host_set_double(fh, "tick_size", 0.0001);
    start();
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    /* q = min(20/10, 1) = 1: shift 0.025; no bid can be added to 20 > 10 */
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_quote(&sig[0], STRAT_SELL, 1, 100.025, "mm-1-1");
    ck_assert_double_eq_tol(metric("quotes_blocked_total"), 1, 1e-9);
}
END_TEST

START_TEST(mm_should_requote_a_filled_side_only_at_the_next_refresh)
{
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-1", STRAT_BUY, 1, 99.95);
    fake_host_advance_ms(fh, 300);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    fake_host_advance_ms(fh, 200);
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-3");
}
END_TEST

START_TEST(mm_should_replace_a_partly_filled_quote_at_full_size)
{
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-1", STRAT_BUY, 0.4, 99.95);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 2);
    assert_cancel(&sig[0], "mm-1-1");
    ck_assert_double_eq_tol(sig[0].qty, 0.6, 1e-9); /* what was still open */
    assert_quote(&sig[1], STRAT_BUY, 1, 99.95, "mm-1-3");
}
END_TEST

START_TEST(mm_should_requote_a_side_the_venue_cancelled)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    update("mm-1-2", STRAT_ORDER_CANCELLED, 1);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_quote(&sig[0], STRAT_SELL, 1, 100.05, "mm-1-3");
}
END_TEST

START_TEST(mm_should_stop_quoting_a_side_at_max_inventory)
{
    fake_host_set_double(fh, "max_inventory", 2);
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-1", STRAT_BUY, 1, 99.95); /* position 1 */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 1); /* 1 + 1 <= 2 */
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-3");
    fill("mm-1-3", STRAT_BUY, 1, 99.95); /* position 2 */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 0); /* no bid: 2 + 1 > 2; the ask stays */
    ck_assert_double_eq_tol(metric("quotes_blocked_total"), 1, 1e-9);
    fill("mm-1-2", STRAT_SELL, 1, 100.05); /* position 1 */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 2);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-4");
    assert_quote(&sig[1], STRAT_SELL, 1, 100.05, "mm-1-5");
}
END_TEST

START_TEST(mm_should_stop_quoting_the_ask_at_minus_max_inventory)
{
    fake_host_set_double(fh, "max_inventory", 1);
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-2", STRAT_SELL, 1, 100.05); /* position -1 */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_double_eq_tol(metric("quotes_blocked_total"), 1, 1e-9);
}
END_TEST

START_TEST(mm_should_cancel_a_resting_quote_that_could_breach_max_inventory)
{
    fake_host_set_double(fh, "max_inventory", 2);
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    /* A fill of an order this run never sent takes the position to 2. */
    fill("manual-1", STRAT_BUY, 2, 100);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_cancel(&sig[0], "mm-1-1");
    update("mm-1-1", STRAT_ORDER_CANCELLED, 1);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 0);
}
END_TEST

START_TEST(mm_should_count_a_replaced_quote_until_its_cancel_is_confirmed)
{
    fake_host_set_double(fh, "max_inventory", 2);
    fake_host_set_double(fh, "inventory_skew", 0);
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fill("mm-1-1", STRAT_BUY, 1, 99.95); /* position 1 */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-3");
    fake_host_advance_ms(fh, 500);
    /* The old bid could still fill before its cancel lands: 1 + 1 + 1 > 2,
     * so the bid is only cancelled. The ask has room: cancel and replace. */
    ck_assert_int_eq(tick("AAPL", 101), 3);
    assert_cancel(&sig[0], "mm-1-3");
    assert_cancel(&sig[1], "mm-1-2");
    assert_quote(&sig[2], STRAT_SELL, 1, 101.06, "mm-1-4");
    update("mm-1-3", STRAT_ORDER_CANCELLED, 1);
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 101), 1);
    assert_quote(&sig[0], STRAT_BUY, 1, 100.94, "mm-1-5");
}
END_TEST

START_TEST(mm_should_keep_symbols_apart)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 2);
    fake_host_advance_ms(fh, 100);
    ck_assert_int_eq(tick("MSFT", 50), 2); /* its own first tick */
    ck_assert_str_eq(sig[0].symbol, "MSFT");
    ck_assert_double_eq_tol(sig[0].price, 49.97, 1e-9); /* 50 - 0.025 -> 49.975 -> 49.97 */
    ck_assert_double_eq_tol(sig[1].price, 50.03, 1e-9);
    fake_host_advance_ms(fh, 100);
    ck_assert_int_eq(tick("AAPL", 101), 0); /* AAPL's clock: 200 ms */
}
END_TEST

START_TEST(mm_should_never_write_past_max_out)
{
    start();
    ck_assert_int_eq(tick_n("AAPL", 100, 1), 1);
    assert_quote(&sig[0], STRAT_BUY, 1, 99.95, "mm-1-1");
    ck_assert_int_eq(sig[1].action, 0x5a5a5a5a); /* untouched */
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick("AAPL", 100), 1); /* the ask that did not fit */
    assert_quote(&sig[0], STRAT_SELL, 1, 100.05, "mm-1-2");
    fake_host_advance_ms(fh, 500);
    ck_assert_int_eq(tick_n("AAPL", 101, 0), 0);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 2);
}
END_TEST

START_TEST(mm_should_emit_nothing_when_stopped)
{
    start();
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    fake_host_advance_ms(fh, 1000);
    ck_assert_int_eq(tick("AAPL", 101), 0);
    ck_assert_int_eq(plug->start(st), 0);
    ck_assert_int_eq(tick("AAPL", 100), 2);
}
END_TEST

START_TEST(mm_should_return_an_error_beyond_max_symbols)
{
    char sym[STRAT_SYMBOL_MAX];

    fake_host_set_int(fh, "max_symbols", 3);
    start();
    for (int i = 0; i < 3; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_assert_int_eq(tick(sym, 100), 2);
    }
    ck_assert_int_lt(tick("S3", 100), 0);
    ck_assert_double_eq_tol(metric("errors_total"), 1, 1e-9);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 6);
}
END_TEST

START_TEST(mm_should_report_metrics)
{
    start();
    tick("AAPL", 100);
    fake_host_advance_ms(fh, 500);
    tick("AAPL", 101);
    ck_assert_double_eq_tol(metric("signals_total"), 6, 1e-9);
    ck_assert_double_eq_tol(metric("quotes_total"), 4, 1e-9);
    ck_assert_double_eq_tol(metric("cancels_total"), 2, 1e-9);
    ck_assert_double_eq_tol(metric("open_orders"), 4, 1e-9); /* cancels not yet confirmed */
}
END_TEST

static const struct {
    const char *key;
    char type; /* i int, d double, s string */
    double value;
} bad_configs[] = {
    { "spread", 'd', 0 },
    { "spread", 'd', -0.001 },
    { "spread", 'd', 1.5 },
    { "spread", 's', 0 },
    { "order_size", 'd', 0 },
    { "order_size", 'd', 20 }, /* more than max_inventory 10 */
    { "max_inventory", 'd', 0 },
    { "max_inventory", 's', 0 },
    { "inventory_skew", 'd', -0.1 },
    { "inventory_skew", 'd', 1.5 },
    { "refresh_ms", 'i', -1 },
    { "refresh_ms", 'd', 0.5 },
    { "tick_size", 'd', 0 },
    { "tick_size", 'd', INFINITY },
};

START_TEST(mm_should_refuse_a_bad_config_naming_the_key)
{
    const char *key = bad_configs[_i].key;

    switch (bad_configs[_i].type) {
    case 'i': fake_host_set_int(fh, key, (int64_t)bad_configs[_i].value); break;
    case 'd': fake_host_set_double(fh, key, bad_configs[_i].value); break;
    case 's': fake_host_set_string(fh, key, "wide"); break;
    }
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_lt(plug->init(st), 0);
    ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, key, NULL), "no error naming %s", key);
    ck_assert_int_lt(plug->start(st), 0);
}
END_TEST

static Suite *mm_suite(void)
{
    Suite *s = suite_create("market_making");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mm_should_quote_both_sides_on_the_first_tick);
    tcase_add_test(tc, mm_should_round_the_bid_down_and_the_ask_up_to_the_tick);
    tcase_add_test(tc, mm_should_keep_prices_already_on_the_grid);
    tcase_add_test(tc, mm_should_not_requote_before_refresh_ms);
    tcase_add_test(tc, mm_should_cancel_and_replace_both_sides_when_the_mid_moves_after_refresh_ms);
    tcase_add_test(tc, mm_should_requote_only_the_side_whose_price_changed);
    tcase_add_test(tc, mm_should_not_requote_unchanged_prices_nor_restart_the_clock);
    tcase_add_test(tc, mm_should_skew_both_quotes_down_when_long);
    tcase_add_test(tc, mm_should_skew_both_quotes_up_when_short);
    tcase_add_test(tc, mm_should_clamp_the_skew_and_quote_only_the_reducing_side_beyond_max_inventory);
    tcase_add_test(tc, mm_should_requote_a_filled_side_only_at_the_next_refresh);
    tcase_add_test(tc, mm_should_replace_a_partly_filled_quote_at_full_size);
    tcase_add_test(tc, mm_should_requote_a_side_the_venue_cancelled);
    tcase_add_test(tc, mm_should_stop_quoting_a_side_at_max_inventory);
    tcase_add_test(tc, mm_should_stop_quoting_the_ask_at_minus_max_inventory);
    tcase_add_test(tc, mm_should_cancel_a_resting_quote_that_could_breach_max_inventory);
    tcase_add_test(tc, mm_should_count_a_replaced_quote_until_its_cancel_is_confirmed);
    tcase_add_test(tc, mm_should_keep_symbols_apart);
    tcase_add_test(tc, mm_should_never_write_past_max_out);
    tcase_add_test(tc, mm_should_emit_nothing_when_stopped);
    tcase_add_test(tc, mm_should_return_an_error_beyond_max_symbols);
    tcase_add_test(tc, mm_should_report_metrics);
    tcase_add_loop_test(tc, mm_should_refuse_a_bad_config_naming_the_key, 0,
                        (int)(sizeof bad_configs / sizeof bad_configs[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default and stays on; CK_FORK=no is honoured so
     * the suite can run in one process under valgrind. */
    SRunner *sr = srunner_create(mm_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
