/* test_momentum.c -- check suite for the "momentum" built-in strategy
 * (strategyd/builtin_momentum.c) and the built-in table, against a fake host. */
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
    fh = fake_host_new("momentum");
    plug = builtin_find("momentum");
    ck_assert_ptr_nonnull(plug);
    st = NULL;
}

static void teardown(void)
{
    if (st != NULL)
        plug->destroy(st);
    fake_host_free(fh);
}

/* Creates, initialises and starts the strategy with the config set so far. */
static void start(void)
{
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(plug->init(st), 0);
    ck_assert_int_eq(plug->start(st), 0);
}

/* The config of the hand-computed paths: lookback 3 ticks, 1%, 10 lots. */
static void start_small(void)
{
    fake_host_set_int(fh, "lookback_period", 3);
    fake_host_set_double(fh, "threshold", 0.01);
    fake_host_set_double(fh, "max_position", 10);
    start();
}

/* Feeds one tick; the signals land in sig[]. */
static int tick(const char *symbol, double price)
{
    strat_tick_t t = fake_tick(symbol, price);

    memset(sig, 0x5a, sizeof sig); /* garbage, so unwritten fields show */
    return plug->on_market_data(st, &t, sig, MAX_OUT);
}

static void fill(const char *id, const char *symbol, int side, double qty, double price)
{
    strat_fill_t f = fake_fill(id, symbol, side, qty, price);
    ck_assert_int_eq(plug->on_fill(st, &f), 0);
}

static void update(const char *id, const char *symbol, int status, double open_qty)
{
    strat_order_update_t u = fake_update(id, symbol, status, open_qty);
    ck_assert_int_eq(plug->on_order_update(st, &u), 0);
}

/* A NEW MARKET order with exactly these fields and host-issued id. */
static void assert_market(const strat_signal_t *s, int side, double qty, const char *symbol, const char *id)
{
    ck_assert_int_eq(s->action, STRAT_NEW);
    ck_assert_int_eq(s->side, side);
    ck_assert_int_eq(s->type, STRAT_MARKET);
    ck_assert_double_eq_tol(s->qty, qty, 1e-9);
    ck_assert_double_eq_tol(s->price, 0, 1e-9);
    ck_assert_str_eq(s->symbol, symbol);
    ck_assert_str_eq(s->client_order_id, id);
}

static double metric(const char *name)
{
    strat_metric_t m[32];
    int n = plug->metrics(st, m, 32);

    ck_assert_int_gt(n, 0);
    for (int i = 0; i < n; i++)
        if (strcmp(m[i].name, name) == 0)
            return m[i].value;
    ck_abort_msg("no metric %s", name);
    return NAN;
}

/* ---- the built-in table ------------------------------------------------- */

START_TEST(builtins_should_find_the_three_strategies_by_name)
{
    const char *const *names = builtin_names();
    int n = 0;

    for (; names[n] != NULL; n++) {
        const strat_plugin_t *p = builtin_find(names[n]);
        ck_assert_ptr_nonnull(p);
        ck_assert_str_eq(p->name, names[n]);
        ck_assert_uint_eq(p->abi_version, STRAT_ABI_VERSION);
        ck_assert_uint_eq(p->size, sizeof(strat_plugin_t));
        ck_assert(p->create && p->init && p->on_market_data && p->on_fill && p->on_position_update &&
                  p->on_order_update && p->start && p->stop && p->is_running && p->metrics && p->destroy);
    }
    ck_assert_int_eq(n, 3);
    ck_assert_ptr_nonnull(builtin_find("momentum"));
    ck_assert_ptr_nonnull(builtin_find("market_making"));
    ck_assert_ptr_nonnull(builtin_find("scalping"));
    ck_assert_ptr_null(builtin_find("Momentum"));
    ck_assert_ptr_null(builtin_find(""));
    ck_assert_ptr_null(builtin_find(NULL));
}
END_TEST

START_TEST(builtins_should_refuse_a_host_of_another_abi_version)
{
    strat_host_t bad = *fake_host_api(fh);

    bad.abi_version = STRAT_ABI_VERSION + 1;
    for (const char *const *n = builtin_names(); *n != NULL; n++)
        ck_assert_ptr_null(builtin_find(*n)->create(&bad));
    ck_assert_ptr_null(plug->create(NULL));
}
END_TEST

/* ---- momentum ---------------------------------------------------------- */

START_TEST(momentum_should_emit_nothing_until_the_window_is_full)
{
    start_small();
    /* lookback 3 needs 4 prices; big moves before that are ignored. */
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 110), 0);
    ck_assert_int_eq(tick("AAPL", 120), 0);
    ck_assert_int_eq(tick("AAPL", 130), 1); /* 130 / 100 - 1 = 30% */
    assert_market(&sig[0], STRAT_BUY, 10, "AAPL", "momentum-1-1");
}
END_TEST

START_TEST(momentum_should_emit_nothing_on_a_flat_path)
{
    start_small();
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 0);
}
END_TEST

START_TEST(momentum_should_buy_max_position_on_a_rise_beyond_the_threshold)
{
    start_small();
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 102), 1); /* +2% > 1% */
    assert_market(&sig[0], STRAT_BUY, 10, "AAPL", "momentum-1-1");
    ck_assert_str_eq(sig[0].client_order_id, fake_host_last_id(fh));
}
END_TEST

START_TEST(momentum_should_keep_the_target_inside_the_threshold)
{
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 100.5), 0); /* +0.5% */
    ck_assert_int_eq(tick("AAPL", 99.5), 0);  /* -0.5% against 100 */
    ck_assert_int_eq(tick("AAPL", 102), 1);
    fill("momentum-1-1", "AAPL", STRAT_BUY, 10, 102);
    /* Back inside the band: the target stays long, nothing to do. */
    ck_assert_int_eq(tick("AAPL", 100.5), 0); /* vs 100.5 three ticks ago */
    ck_assert_int_eq(tick("AAPL", 100.0), 0); /* vs 99.5: +0.5% */
    ck_assert_int_eq(tick("AAPL", 101.5), 0); /* vs 102: -0.49% */
}
END_TEST

START_TEST(momentum_should_compare_with_the_price_exactly_lookback_ticks_ago)
{
    start_small();
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 103), 0);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100), 0); /* vs 100: flat */
    /* vs 103 (three ticks back): -1.46%, a fall, although it is 1.5% above
     * the prices one, two and four ticks back. */
    ck_assert_int_eq(tick("AAPL", 101.5), 1);
    assert_market(&sig[0], STRAT_SELL, 10, "AAPL", "momentum-1-1");
}
END_TEST

START_TEST(momentum_should_not_reemit_while_pending_covers_the_target)
{
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    ck_assert_int_eq(tick("AAPL", 102), 0); /* pending 10 */
    fill("momentum-1-1", "AAPL", STRAT_BUY, 5, 102);
    ck_assert_int_eq(tick("AAPL", 102), 0); /* position 5 + pending 5 */
    ck_assert_int_eq(tick("AAPL", 103), 0);
    ck_assert_double_eq_tol(metric("signals_total"), 1, 1e-9);
}
END_TEST

START_TEST(momentum_should_reemit_the_remainder_after_a_reject)
{
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    fill("momentum-1-1", "AAPL", STRAT_BUY, 5, 102);
    update("momentum-1-1", "AAPL", STRAT_ORDER_REJECTED, 5);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 5, "AAPL", "momentum-1-2");
    /* A cancel of the new one is the same: its quantity is missing again. */
    update("momentum-1-2", "AAPL", STRAT_ORDER_CANCELLED, 5);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 5, "AAPL", "momentum-1-3");
}
END_TEST

START_TEST(momentum_should_sell_to_minus_max_position_on_a_drop)
{
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    fill("momentum-1-1", "AAPL", STRAT_BUY, 5, 102); /* position 5, pending 5 */
    ck_assert_int_eq(tick("AAPL", 102), 0);
    ck_assert_int_eq(tick("AAPL", 102), 0);
    /* 100 vs 102 three ticks back: -1.96%. Target -10 from 5 held + 5 coming. */
    ck_assert_int_eq(tick("AAPL", 100), 1);
    assert_market(&sig[0], STRAT_SELL, 5 + 5 + 10, "AAPL", "momentum-1-2");
    /* Both orders fill: position -10, nothing more to do. */
    fill("momentum-1-1", "AAPL", STRAT_BUY, 5, 102);
    fill("momentum-1-2", "AAPL", STRAT_SELL, 20, 100);
    ck_assert_int_eq(tick("AAPL", 99), 0);
}
END_TEST

START_TEST(momentum_should_cap_each_order_at_order_size)
{
    fake_host_set_double(fh, "order_size", 4);
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 4, "AAPL", "momentum-1-1");
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 4, "AAPL", "momentum-1-2");
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 2, "AAPL", "momentum-1-3");
    ck_assert_int_eq(tick("AAPL", 102), 0);
}
END_TEST

START_TEST(momentum_should_keep_symbols_apart)
{
    start_small();
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(tick("AAPL", 100), 0);
        ck_assert_int_eq(tick("MSFT", 50), 0);
    }
    ck_assert_int_eq(tick("MSFT", 49), 1); /* -2% */
    assert_market(&sig[0], STRAT_SELL, 10, "MSFT", "momentum-1-1");
    ck_assert_int_eq(tick("AAPL", 100), 0); /* AAPL's window is still flat */
    fill("momentum-1-1", "MSFT", STRAT_SELL, 10, 49);
    ck_assert_int_eq(tick("AAPL", 102), 1); /* AAPL's target does not see MSFT's position */
    assert_market(&sig[0], STRAT_BUY, 10, "AAPL", "momentum-1-2");
}
END_TEST

START_TEST(momentum_should_count_fills_of_unknown_orders_in_the_position)
{
    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    fill("manual-7", "AAPL", STRAT_BUY, 3, 100);
    ck_assert_int_eq(tick("AAPL", 102), 1);
    assert_market(&sig[0], STRAT_BUY, 7, "AAPL", "momentum-1-1");
}
END_TEST

START_TEST(momentum_should_start_from_the_engine_position_before_any_fill)
{
    strat_position_t p = { .symbol = "AAPL", .qty = 10, .avg_price = 99 };

    start_small();
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 102), 0); /* already long 10 */
    ck_assert_int_eq(tick("AAPL", 98), 1);  /* -2% */
    assert_market(&sig[0], STRAT_SELL, 20, "AAPL", "momentum-1-1");
    /* After its own orders, the strategy's fills are the truth. */
    p.qty = 0;
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    ck_assert_int_eq(tick("AAPL", 98), 0);
}
END_TEST

START_TEST(momentum_should_emit_nothing_when_stopped)
{
    start_small();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_ne(plug->is_running(st), 0);
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 150), 0);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 0);
    /* Started again, it needs a full window of new prices: the three from
     * before the stop do not count. */
    ck_assert_int_eq(plug->start(st), 0);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(tick("AAPL", 102), 0); /* the first would be +2% against the old 100 */
    ck_assert_int_eq(tick("AAPL", 104.1), 1);   /* +2.06% against 102 */
    assert_market(&sig[0], STRAT_BUY, 10, "AAPL", "momentum-1-1");
}
END_TEST

START_TEST(momentum_should_return_an_error_beyond_max_symbols)
{
    char sym[STRAT_SYMBOL_MAX];

    start_small(); /* the default capacity: 64 symbols */
    for (int i = 0; i < 64; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_assert_int_eq(tick(sym, 100), 0);
    }
    ck_assert_int_lt(tick("ONE-TOO-MANY", 100), 0);
    ck_assert_int_lt(tick("ONE-TOO-MANY", 100), 0);
    {
        strat_fill_t f = fake_fill("x", "ANOTHER", STRAT_BUY, 1, 1);
        ck_assert_int_lt(plug->on_fill(st, &f), 0);
    }
    /* The known symbols carry on. */
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("S0", 100), 0);
    ck_assert_int_eq(tick("S0", 102), 1);
    ck_assert_double_eq_tol(metric("symbols"), 64, 1e-9);
    ck_assert_double_eq_tol(metric("errors_total"), 3, 1e-9);
}
END_TEST

START_TEST(momentum_should_honour_a_smaller_max_symbols)
{
    fake_host_set_int(fh, "max_symbols", 2);
    start_small();
    ck_assert_int_eq(tick("A", 100), 0);
    ck_assert_int_eq(tick("B", 100), 0);
    ck_assert_int_lt(tick("C", 100), 0);
}
END_TEST

START_TEST(momentum_should_refuse_unusable_ticks)
{
    start_small();
    ck_assert_int_lt(tick("AAPL", NAN), 0);
    ck_assert_int_lt(tick("AAPL", 0), 0);
    ck_assert_int_lt(tick("AAPL", -1), 0);
    ck_assert_int_lt(tick("AAPL", INFINITY), 0);
    ck_assert_int_lt(tick(NULL, 100), 0);
    ck_assert_int_lt(tick("", 100), 0);
    ck_assert_int_lt(tick("SIXTEEN-BYTES-XX", 100), 0);
    ck_assert_double_eq_tol(metric("symbols"), 0, 1e-9);
}
END_TEST

START_TEST(momentum_should_use_the_defaults)
{
    start();
    ck_assert(fake_host_logged(fh, STRAT_LOG_INFO, "lookback_period=20", "threshold=0.002", "max_position=10",
                               "order_size=0", "max_symbols=64", NULL));
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100.1), 0); /* +0.1% < 0.2% */
    ck_assert_int_eq(tick("AAPL", 100.3), 1); /* +0.3% against 100 twenty ticks back */
    assert_market(&sig[0], STRAT_BUY, 10, "AAPL", "momentum-1-1");
}
END_TEST

/* Bad configurations: init fails, and a log line names the key. */
static const struct {
    const char *key;
    char type; /* i int, d double, s string, b bool */
    double value;
} bad_configs[] = {
    { "lookback_period", 'i', 0 },
    { "lookback_period", 'i', -5 },
    { "lookback_period", 'd', 2.5 },
    { "lookback_period", 's', 0 },
    { "threshold", 'd', -0.01 },
    { "threshold", 'd', NAN },
    { "threshold", 's', 0 },
    { "threshold", 'b', 0 },
    { "max_position", 'd', 0 },
    { "max_position", 'i', -1 },
    { "order_size", 'd', -1 },
    { "max_symbols", 'i', 0 },
};

START_TEST(momentum_should_refuse_a_bad_config_naming_the_key)
{
    const char *key = bad_configs[_i].key;

    switch (bad_configs[_i].type) {
    case 'i': fake_host_set_int(fh, key, (int64_t)bad_configs[_i].value); break;
    case 'd': fake_host_set_double(fh, key, bad_configs[_i].value); break;
    case 's': fake_host_set_string(fh, key, "ten"); break;
    case 'b': fake_host_set_bool(fh, key, true); break;
    }
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_lt(plug->init(st), 0);
    ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, key, NULL), "no error naming %s", key);
    ck_assert_int_lt(plug->start(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
}
END_TEST

START_TEST(momentum_should_report_metrics)
{
    strat_metric_t two[2];

    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    tick("AAPL", 102);
    fill("momentum-1-1", "AAPL", STRAT_BUY, 10, 102);
    ck_assert_double_eq_tol(metric("signals_total"), 1, 1e-9);
    ck_assert_double_eq_tol(metric("ticks_total"), 5, 1e-9);
    ck_assert_double_eq_tol(metric("fills_total"), 1, 1e-9);
    ck_assert_double_eq_tol(metric("target_changes_total"), 1, 1e-9);
    ck_assert_double_eq_tol(metric("open_orders"), 0, 1e-9);
    ck_assert_int_eq(plug->metrics(st, two, 2), 2);
    ck_assert_int_eq(plug->metrics(st, NULL, 0), 0);
}
END_TEST

START_TEST(momentum_should_write_nothing_into_an_empty_buffer)
{
    strat_tick_t t;

    start_small();
    for (int i = 0; i < 4; i++)
        tick("AAPL", 100);
    t = fake_tick("AAPL", 102);
    ck_assert_int_eq(plug->on_market_data(st, &t, NULL, 0), 0);
    ck_assert_uint_eq(fake_host_ids_issued(fh), 0);
}
END_TEST

static Suite *momentum_suite(void)
{
    Suite *s = suite_create("momentum");
    TCase *tb = tcase_create("builtins");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tb, setup, teardown);
    tcase_add_test(tb, builtins_should_find_the_three_strategies_by_name);
    tcase_add_test(tb, builtins_should_refuse_a_host_of_another_abi_version);
    suite_add_tcase(s, tb);

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, momentum_should_emit_nothing_until_the_window_is_full);
    tcase_add_test(tc, momentum_should_emit_nothing_on_a_flat_path);
    tcase_add_test(tc, momentum_should_buy_max_position_on_a_rise_beyond_the_threshold);
    tcase_add_test(tc, momentum_should_keep_the_target_inside_the_threshold);
    tcase_add_test(tc, momentum_should_compare_with_the_price_exactly_lookback_ticks_ago);
    tcase_add_test(tc, momentum_should_not_reemit_while_pending_covers_the_target);
    tcase_add_test(tc, momentum_should_reemit_the_remainder_after_a_reject);
    tcase_add_test(tc, momentum_should_sell_to_minus_max_position_on_a_drop);
    tcase_add_test(tc, momentum_should_cap_each_order_at_order_size);
    tcase_add_test(tc, momentum_should_keep_symbols_apart);
    tcase_add_test(tc, momentum_should_count_fills_of_unknown_orders_in_the_position);
    tcase_add_test(tc, momentum_should_start_from_the_engine_position_before_any_fill);
    tcase_add_test(tc, momentum_should_emit_nothing_when_stopped);
    tcase_add_test(tc, momentum_should_return_an_error_beyond_max_symbols);
    tcase_add_test(tc, momentum_should_honour_a_smaller_max_symbols);
    tcase_add_test(tc, momentum_should_refuse_unusable_ticks);
    tcase_add_test(tc, momentum_should_use_the_defaults);
    tcase_add_loop_test(tc, momentum_should_refuse_a_bad_config_naming_the_key, 0,
                        (int)(sizeof bad_configs / sizeof bad_configs[0]));
    tcase_add_test(tc, momentum_should_report_metrics);
    tcase_add_test(tc, momentum_should_write_nothing_into_an_empty_buffer);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default and stays on; CK_FORK=no is honoured so
     * the suite can run in one process under valgrind. */
    SRunner *sr = srunner_create(momentum_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
