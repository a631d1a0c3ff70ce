/* test_scalping.c -- check suite for the "scalping" built-in strategy
 * (strategyd/builtin_scalping.c), against a fake host. Most tests use
 * entry_ticks 3 and the defaults: entry at +-0.1%, take profit 0.2%, stop
 * 0.1%, 30 s hold, 1 s cooldown, 1 lot. */
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
    fh = fake_host_new("scalp");
    plug = builtin_find("scalping");
    ck_assert_ptr_nonnull(plug);
    st = NULL;
    fake_host_set_int(fh, "entry_ticks", 3);
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

static int tick(const char *symbol, double price)
{
    strat_tick_t t = fake_tick(symbol, price);

    memset(sig, 0x5a, sizeof sig);
    return plug->on_market_data(st, &t, sig, MAX_OUT);
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

static void assert_market(const strat_signal_t *s, int side, double qty, const char *id)
{
    ck_assert_int_eq(s->action, STRAT_NEW);
    ck_assert_int_eq(s->side, side);
    ck_assert_int_eq(s->type, STRAT_MARKET);
    ck_assert_double_eq_tol(s->qty, qty, 1e-9);
    ck_assert_double_eq_tol(s->price, 0, 1e-9);
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

/* Three flat ticks, then +0.2%: a long entry of 1 (scalp-1-1), filled at 100.2. */
static void enter_long(void)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-1");
    fill("scalp-1-1", STRAT_BUY, 1, 100.2);
}

/* The same for a short entry at 99.8. */
static void enter_short(void)
{
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 99.8), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-1");
    fill("scalp-1-1", STRAT_SELL, 1, 99.8);
}

START_TEST(scalp_should_enter_long_on_a_rise)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 101), 0); /* window not full: 2 of 4 prices */
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100.1), 1); /* vs 100 three ticks back: exactly +0.1% */
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-1");
    ck_assert_str_eq(sig[0].client_order_id, fake_host_last_id(fh));
}
END_TEST

START_TEST(scalp_should_enter_short_on_a_fall)
{
    start();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 99.8), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-1");
}
END_TEST

START_TEST(scalp_should_not_enter_below_the_threshold)
{
    start();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100.05), 0);
    ck_assert_int_eq(tick("AAPL", 99.95), 0);
    ck_assert_int_eq(tick("AAPL", 100.04), 0); /* vs 100: +0.04% */
    ck_assert_uint_eq(fake_host_ids_issued(fh), 0);
}
END_TEST

START_TEST(scalp_should_compare_with_the_price_entry_ticks_ago)
{
    start();
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 99.5), 0);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(tick("AAPL", 100), 0);
    /* vs 99.5 three ticks back: +0.2%, though below the other prices */
    ck_assert_int_eq(tick("AAPL", 99.7), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-1");
}
END_TEST

START_TEST(scalp_should_not_enter_again_while_the_entry_is_pending)
{
    start();
    for (int i = 0; i < 3; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    ck_assert_int_eq(tick("AAPL", 100.5), 0);
    ck_assert_int_eq(tick("AAPL", 99), 0);
}
END_TEST

START_TEST(scalp_should_enter_again_at_once_after_a_rejected_entry)
{
    start();
    for (int i = 0; i < 3; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    update("scalp-1-1", STRAT_ORDER_REJECTED, 1);
    ck_assert_int_eq(tick("AAPL", 100.3), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-2");
}
END_TEST

START_TEST(scalp_should_take_profit_on_a_long)
{
    start();
    enter_long();
    /* take profit at 100.2 * 1.002 = 100.4004 */
    ck_assert_int_eq(tick("AAPL", 100.3), 0);
    ck_assert_int_eq(tick("AAPL", 100.40), 0);
    ck_assert_int_eq(tick("AAPL", 100.41), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-2");
    ck_assert_double_eq_tol(metric("exits_profit_total"), 1, 1e-9);
}
END_TEST

START_TEST(scalp_should_stop_a_long)
{
    start();
    enter_long();
    /* stop at 100.2 * 0.999 = 100.0998 */
    ck_assert_int_eq(tick("AAPL", 100.10), 0);
    ck_assert_int_eq(tick("AAPL", 100.09), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-2");
    ck_assert_double_eq_tol(metric("exits_stop_total"), 1, 1e-9);
}
END_TEST

START_TEST(scalp_should_take_profit_on_a_short)
{
    start();
    enter_short();
    /* take profit at 99.8 * 0.998 = 99.6004 */
    ck_assert_int_eq(tick("AAPL", 99.61), 0);
    ck_assert_int_eq(tick("AAPL", 99.60), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-2");
    ck_assert_double_eq_tol(metric("exits_profit_total"), 1, 1e-9);
}
END_TEST

START_TEST(scalp_should_stop_a_short)
{
    start();
    enter_short();
    /* stop at 99.8 * 1.001 = 99.8998 */
    ck_assert_int_eq(tick("AAPL", 99.89), 0);
    ck_assert_int_eq(tick("AAPL", 99.90), 1);
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-2");
    ck_assert_double_eq_tol(metric("exits_stop_total"), 1, 1e-9);
}
END_TEST

START_TEST(scalp_should_exit_after_max_hold_time)
{
    start();
    enter_long();
    fake_host_advance_ms(fh, 29999);
    ck_assert_int_eq(tick("AAPL", 100.2), 0);
    fake_host_advance_ms(fh, 1);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-2");
    ck_assert_double_eq_tol(metric("exits_time_total"), 1, 1e-9);
}
END_TEST

START_TEST(scalp_should_count_the_hold_from_the_entry_fill)
{
    start();
    for (int i = 0; i < 3; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    fake_host_advance_ms(fh, 10000); /* the entry fills 10 s after the signal */
    fill("scalp-1-1", STRAT_BUY, 1, 100.2);
    fake_host_advance_ms(fh, 29999);
    ck_assert_int_eq(tick("AAPL", 100.2), 0);
    fake_host_advance_ms(fh, 1);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
}
END_TEST

START_TEST(scalp_should_not_emit_a_second_exit_while_one_is_pending)
{
    start();
    enter_long();
    ck_assert_int_eq(tick("AAPL", 100.41), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-2");
    ck_assert_int_eq(tick("AAPL", 100.5), 0);
    ck_assert_int_eq(tick("AAPL", 99), 0); /* a stop too: still one exit */
    fake_host_advance_ms(fh, 60000);
    ck_assert_int_eq(tick("AAPL", 100.5), 0);
    fill("scalp-1-2", STRAT_SELL, 0.4, 100.5); /* 0.6 still open */
    ck_assert_int_eq(tick("AAPL", 100.5), 0);
    /* The rest is rejected: the remaining 0.6 is exited again. */
    update("scalp-1-2", STRAT_ORDER_REJECTED, 0.6);
    ck_assert_int_eq(tick("AAPL", 100.5), 1);
    assert_market(&sig[0], STRAT_SELL, 0.6, "scalp-1-3");
}
END_TEST

START_TEST(scalp_should_use_the_volume_weighted_entry_price)
{
    fake_host_set_double(fh, "order_size", 2);
    start();
    for (int i = 0; i < 3; i++)
        tick("AAPL", 100);
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    assert_market(&sig[0], STRAT_BUY, 2, "scalp-1-1");
    fill("scalp-1-1", STRAT_BUY, 1, 100.2);
    fill("scalp-1-1", STRAT_BUY, 1, 100.4);
    /* entry 100.3: take profit at 100.5006 (not 100.4004 nor 100.6008) */
    ck_assert_int_eq(tick("AAPL", 100.45), 0);
    ck_assert_int_eq(tick("AAPL", 100.50), 0);
    ck_assert_int_eq(tick("AAPL", 100.51), 1);
    assert_market(&sig[0], STRAT_SELL, 2, "scalp-1-2");
}
END_TEST

START_TEST(scalp_should_cool_down_from_the_fill_that_flattens)
{
    start();
    enter_long();
    ck_assert_int_eq(tick("AAPL", 100.41), 1);
    fake_host_advance_ms(fh, 5000);
    fill("scalp-1-2", STRAT_SELL, 1, 100.41); /* flat: cooldown to +1000 ms */
    ck_assert_int_eq(tick("AAPL", 100.41), 0);
    ck_assert_int_eq(tick("AAPL", 100.41), 0);
    fake_host_advance_ms(fh, 999);
    ck_assert_int_eq(tick("AAPL", 100.7), 0); /* +0.29% but cooling down */
    fake_host_advance_ms(fh, 1);
    ck_assert_int_eq(tick("AAPL", 101), 1);   /* vs 100.41: +0.59% */
    assert_market(&sig[0], STRAT_BUY, 1, "scalp-1-3");
    ck_assert_double_eq_tol(metric("entries_total"), 2, 1e-9);
}
END_TEST

START_TEST(scalp_should_manage_a_position_adopted_after_a_restart)
{
    strat_position_t p = { .symbol = "AAPL", .qty = -2, .avg_price = 100 };

    start();
    ck_assert_int_eq(plug->on_position_update(st, &p), 0);
    ck_assert_int_eq(tick("AAPL", 99.9), 0);
    ck_assert_int_eq(tick("AAPL", 99.8), 1); /* short from 100: take profit at 99.8 */
    assert_market(&sig[0], STRAT_BUY, 2, "scalp-1-1");
}
END_TEST

START_TEST(scalp_should_emit_nothing_when_stopped)
{
    start();
    enter_long();
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->is_running(st), 0);
    ck_assert_int_eq(tick("AAPL", 101), 0);  /* no exit either */
    fake_host_advance_ms(fh, 60000);
    ck_assert_int_eq(tick("AAPL", 101), 0);
    ck_assert_int_eq(plug->start(st), 0);
    ck_assert_int_eq(tick("AAPL", 101), 1);
    assert_market(&sig[0], STRAT_SELL, 1, "scalp-1-2");
}
END_TEST

START_TEST(scalp_should_forget_prices_from_before_a_stop)
{
    start();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(tick("AAPL", 100), 0);
    ck_assert_int_eq(plug->stop(st), 0);
    ck_assert_int_eq(plug->start(st), 0);
    ck_assert_int_eq(tick("AAPL", 100.2), 0); /* +0.2% against the old 100, but that is forgotten */
    ck_assert_int_eq(tick("AAPL", 100.2), 0);
    ck_assert_int_eq(tick("AAPL", 100.2), 0);
    ck_assert_int_eq(tick("AAPL", 100.2), 0);
    ck_assert_int_eq(tick("AAPL", 100.4), 1);
}
END_TEST

START_TEST(scalp_should_keep_symbols_apart)
{
    start();
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tick("AAPL", 100), 0);
        ck_assert_int_eq(tick("MSFT", 50), 0);
    }
    ck_assert_int_eq(tick("AAPL", 100.2), 1);
    ck_assert_int_eq(tick("MSFT", 49.9), 1); /* AAPL's pending entry does not block MSFT */
    ck_assert_str_eq(sig[0].symbol, "MSFT");
    ck_assert_int_eq(sig[0].side, STRAT_SELL);
}
END_TEST

START_TEST(scalp_should_return_an_error_beyond_max_symbols)
{
    char sym[STRAT_SYMBOL_MAX];

    start();
    for (int i = 0; i < 64; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_assert_int_eq(tick(sym, 100), 0);
    }
    ck_assert_int_lt(tick("S64", 100), 0);
    {
        strat_position_t p = { .symbol = "S65", .qty = 1, .avg_price = 1 };
        ck_assert_int_lt(plug->on_position_update(st, &p), 0);
    }
    ck_assert_double_eq_tol(metric("symbols"), 64, 1e-9);
}
END_TEST

START_TEST(scalp_should_use_the_defaults)
{
    fake_host_t *other = fake_host_new("scalp");

    /* A host without the entry_ticks the fixture sets. */
    st = plug->create(fake_host_api(other));
    ck_assert_int_eq(plug->init(st), 0);
    ck_assert(fake_host_logged(other, STRAT_LOG_INFO, "profit_target=0.002", "stop_loss=0.001",
                               "max_hold_time_seconds=30", "entry_ticks=5", "entry_threshold=0.001",
                               "order_size=1", "cooldown_ms=1000", NULL));
    plug->destroy(st);
    st = NULL;
    fake_host_free(other);
}
END_TEST

static const struct {
    const char *key;
    char type; /* i int, d double, s string */
    double value;
} bad_configs[] = {
    { "profit_target", 'd', 0 },
    { "profit_target", 's', 0 },
    { "stop_loss", 'd', 0 },
    { "stop_loss", 'd', 1.5 },
    { "max_hold_time_seconds", 'd', 0 },
    { "max_hold_time_seconds", 'i', -30 },
    { "max_hold_time_seconds", 's', 0 },
    { "entry_ticks", 'i', 0 },
    { "entry_ticks", 'd', 2.5 },
    { "entry_threshold", 'd', 0 },
    { "order_size", 'd', -1 },
    { "cooldown_ms", 'i', -1 },
    { "cooldown_ms", 's', 0 },
};

START_TEST(scalp_should_refuse_a_bad_config_naming_the_key)
{
    const char *key = bad_configs[_i].key;

    switch (bad_configs[_i].type) {
    case 'i': fake_host_set_int(fh, key, (int64_t)bad_configs[_i].value); break;
    case 'd': fake_host_set_double(fh, key, bad_configs[_i].value); break;
    case 's': fake_host_set_string(fh, key, "soon"); break;
    }
    st = plug->create(fake_host_api(fh));
    ck_assert_ptr_nonnull(st);
    ck_assert_int_lt(plug->init(st), 0);
    ck_assert_msg(fake_host_logged(fh, STRAT_LOG_ERROR, key, NULL), "no error naming %s", key);
    ck_assert_int_lt(plug->start(st), 0);
}
END_TEST

static Suite *scalp_suite(void)
{
    Suite *s = suite_create("scalping");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, scalp_should_enter_long_on_a_rise);
    tcase_add_test(tc, scalp_should_enter_short_on_a_fall);
    tcase_add_test(tc, scalp_should_not_enter_below_the_threshold);
    tcase_add_test(tc, scalp_should_compare_with_the_price_entry_ticks_ago);
    tcase_add_test(tc, scalp_should_not_enter_again_while_the_entry_is_pending);
    tcase_add_test(tc, scalp_should_enter_again_at_once_after_a_rejected_entry);
    tcase_add_test(tc, scalp_should_take_profit_on_a_long);
    tcase_add_test(tc, scalp_should_stop_a_long);
    tcase_add_test(tc, scalp_should_take_profit_on_a_short);
    tcase_add_test(tc, scalp_should_stop_a_short);
    tcase_add_test(tc, scalp_should_exit_after_max_hold_time);
    tcase_add_test(tc, scalp_should_count_the_hold_from_the_entry_fill);
    tcase_add_test(tc, scalp_should_not_emit_a_second_exit_while_one_is_pending);
    tcase_add_test(tc, scalp_should_use_the_volume_weighted_entry_price);
    tcase_add_test(tc, scalp_should_cool_down_from_the_fill_that_flattens);
    tcase_add_test(tc, scalp_should_manage_a_position_adopted_after_a_restart);
    tcase_add_test(tc, scalp_should_emit_nothing_when_stopped);
    tcase_add_test(tc, scalp_should_forget_prices_from_before_a_stop);
    tcase_add_test(tc, scalp_should_keep_symbols_apart);
    tcase_add_test(tc, scalp_should_return_an_error_beyond_max_symbols);
    tcase_add_test(tc, scalp_should_use_the_defaults);
    tcase_add_loop_test(tc, scalp_should_refuse_a_bad_config_naming_the_key, 0,
                        (int)(sizeof bad_configs / sizeof bad_configs[0]));
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default and stays on; CK_FORK=no is honoured so
     * the suite can run in one process under valgrind. */
    SRunner *sr = srunner_create(scalp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
