/* test_limits.c -- check suite for execd's hard limits (execd/limits.c): each
 * rule just under and just over its limit, non-finite and non-positive
 * inputs, the rate buckets driven by an injected clock (no sleeps), the
 * allow-list, cancels never blocked, and the configuration: defaults from
 * riskd's limits and bad values naming file, line and key. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "execd/limits.h"

#define SEC 1000000000LL
#define T0  (5 * SEC) /* an arbitrary CLOCK_MONOTONIC instant */

static exec_limits_t lim;
static exec_limits_config_t *conf;

/* Loose limits except where a test tightens one: qty 10, notional 1000,
 * 1000 orders/s in total and per symbol, any symbol. */
static void setup(void)
{
    conf = calloc(1, sizeof *conf);
    ck_assert_ptr_nonnull(conf);
    conf->max_qty = 10;
    conf->max_notional = 1000;
    conf->max_rate = 1000;
    conf->max_rate_symbol = 1000;
}

static void teardown(void)
{
    exec_limits_fini(&lim);
    free(conf);
}

static void start(void)
{
    ck_assert_msg(exec_limits_init(&lim, conf) == 0, "%s", se_errmsg());
}

static se_order_rec_t order(const char *symbol, int type, double qty, double price)
{
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = SE_ACTION_NEW;
    o.side = SE_SIDE_BUY;
    o.order_type = (uint8_t)type;
    o.qty = qty;
    o.price = price;
    snprintf(o.symbol, sizeof o.symbol, "%s", symbol);
    snprintf(o.client_order_id, sizeof o.client_order_id, "t-1");
    return o;
}

static se_order_rec_t limit(double qty, double price)
{
    return order("BTC-USD", SE_ORDER_LIMIT, qty, price);
}

static se_order_rec_t market(const char *symbol, double qty)
{
    return order(symbol, SE_ORDER_MARKET, qty, 0);
}

static void quote(const char *symbol, uint16_t flags, double bid, double ask, double last)
{
    se_in_rec_t q;
    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = flags;
    snprintf(q.symbol, sizeof q.symbol, "%s", symbol);
    q.u.quote.bid = bid;
    q.u.quote.ask = ask;
    q.u.quote.last = last;
    exec_limits_on_quote(&lim, &q);
}

static exec_limit_t check_at(se_order_rec_t o, int64_t now)
{
    return exec_limits_check(&lim, &o, now);
}

static exec_limit_t check(se_order_rec_t o)
{
    return check_at(o, T0);
}

/* Evaluates got once: a check takes a token when it passes. */
#define ck_rule(got, want)                                                                               \
    do {                                                                                                 \
        exec_limit_t got_ = (got), want_ = (want);                                                       \
        ck_assert_msg(got_ == want_, "got %s, want %s", exec_limit_name(got_), exec_limit_name(want_)); \
    } while (0)

/* ---- size and notional ----------------------------------------------------- */

START_TEST(order_should_pass_at_max_qty_and_be_refused_just_over)
{
    conf->max_notional = 1e9;
    start();
    ck_rule(check(limit(10, 1)), EXEC_LIMIT_OK);
    ck_rule(check(limit(nextafter(10, INFINITY), 1)), EXEC_LIMIT_MAX_QTY);
    ck_rule(check(limit(1e308, 1)), EXEC_LIMIT_MAX_QTY);
}
END_TEST

START_TEST(order_should_pass_at_max_notional_and_be_refused_just_over)
{
    start();
    ck_rule(check(limit(4, 250)), EXEC_LIMIT_OK); /* exactly 1000 */
    ck_rule(check(limit(4, nextafter(250, INFINITY))), EXEC_LIMIT_MAX_NOTIONAL);
    ck_rule(check(limit(4, 1e308)), EXEC_LIMIT_MAX_NOTIONAL); /* qty x price overflows to inf */
    ck_rule(check(limit(1e-300, 1e302)), EXEC_LIMIT_OK);      /* a huge price, a tiny order: 100 */
}
END_TEST

START_TEST(market_order_should_be_valued_at_its_own_price_else_the_ask_else_the_last_trade)
{
    start();
    /* Its own price field, when set. */
    ck_rule(check(order("ETH-USD", SE_ORDER_MARKET, 4, 250)), EXEC_LIMIT_OK);
    ck_rule(check(order("ETH-USD", SE_ORDER_MARKET, 4, 251)), EXEC_LIMIT_MAX_NOTIONAL);
    /* Else the latest trade while the symbol has no two-sided quote ... */
    quote("ETH-USD", SE_QUOTE_HAS_LAST, 0, 0, 200);
    ck_rule(check(market("ETH-USD", 5)), EXEC_LIMIT_OK);
    ck_rule(check(market("ETH-USD", 5.01)), EXEC_LIMIT_MAX_NOTIONAL);
    /* ... and the ask (the higher side) once it has one, whatever the side. */
    quote("ETH-USD", SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST, 240, 250, 100);
    ck_rule(check(market("ETH-USD", 4)), EXEC_LIMIT_OK);
    se_order_rec_t sell = market("ETH-USD", 4.01);
    sell.side = SE_SIDE_SELL;
    ck_rule(check(sell), EXEC_LIMIT_MAX_NOTIONAL);
    /* A later trade print does not replace the ask. */
    quote("ETH-USD", SE_QUOTE_HAS_LAST, 0, 0, 1);
    ck_rule(check(market("ETH-USD", 4.01)), EXEC_LIMIT_MAX_NOTIONAL);
}
END_TEST

START_TEST(market_order_without_any_price_should_be_refused_rather_than_guessed)
{
    start();
    ck_rule(check(market("SOL-USD", 1)), EXEC_LIMIT_NO_PRICE);
    quote("BTC-USD", SE_QUOTE_HAS_BIDASK, 99, 100, 0); /* another symbol's price is no price */
    ck_rule(check(market("SOL-USD", 1)), EXEC_LIMIT_NO_PRICE);
    quote("SOL-USD", SE_QUOTE_HAS_BIDASK, 9, 10, 0);
    ck_rule(check(market("SOL-USD", 1)), EXEC_LIMIT_OK);
}
END_TEST

START_TEST(bad_quotes_should_teach_no_price)
{
    start();
    quote("SOL-USD", SE_QUOTE_HAS_BIDASK, 9, NAN, 0);
    quote("SOL-USD", SE_QUOTE_HAS_BIDASK, 9, INFINITY, 0);
    quote("SOL-USD", SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST, 9, -10, 0);
    quote("SOL-USD", SE_QUOTE_HAS_LAST, 0, 0, -0.0);
    quote("SOL-USD", 0, 9, 10, 10); /* no field present */
    se_in_rec_t fill;
    memset(&fill, 0, sizeof fill);
    fill.kind = SE_IN_FILL;
    snprintf(fill.symbol, sizeof fill.symbol, "SOL-USD");
    fill.u.fill.price = 10;
    exec_limits_on_quote(&lim, &fill);
    ck_rule(check(market("SOL-USD", 1)), EXEC_LIMIT_NO_PRICE);
}
END_TEST

/* ---- what no order may carry ---------------------------------------------- */

START_TEST(non_finite_zero_and_negative_quantities_should_be_refused)
{
    start();
    const double bad[] = { NAN, -NAN, INFINITY, -INFINITY, 0.0, -0.0, -1, -1e-300 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_rule(check(limit(bad[i], 1)), EXEC_LIMIT_BAD_QTY);
        ck_rule(check(market("BTC-USD", bad[i])), EXEC_LIMIT_BAD_QTY);
    }
    ck_rule(check(limit(1e-300, 1)), EXEC_LIMIT_OK); /* small, but a quantity */
}
END_TEST

START_TEST(non_finite_zero_and_negative_prices_should_be_refused)
{
    start();
    const double bad[] = { NAN, INFINITY, -INFINITY, -1, -1e-300 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_rule(check(limit(1, bad[i])), EXEC_LIMIT_BAD_PRICE);
        ck_rule(check(order("BTC-USD", SE_ORDER_MARKET, 1, bad[i])), EXEC_LIMIT_BAD_PRICE);
    }
    /* A limit order needs its price; for a market order 0 and -0 mean "not set". */
    ck_rule(check(limit(1, 0.0)), EXEC_LIMIT_BAD_PRICE);
    ck_rule(check(limit(1, -0.0)), EXEC_LIMIT_BAD_PRICE);
    ck_rule(check(order("BTC-USD", SE_ORDER_MARKET, 1, -0.0)), EXEC_LIMIT_NO_PRICE);
    ck_rule(check(limit(1, 1e308)), EXEC_LIMIT_MAX_NOTIONAL); /* finite, and far too much */
}
END_TEST

START_TEST(unknown_side_type_and_empty_symbol_should_be_refused)
{
    start();
    se_order_rec_t o = limit(1, 1);
    o.side = 0;
    ck_rule(check(o), EXEC_LIMIT_BAD_SIDE);
    o.side = 3;
    ck_rule(check(o), EXEC_LIMIT_BAD_SIDE);
    o = limit(1, 1);
    o.order_type = 0;
    ck_rule(check(o), EXEC_LIMIT_BAD_TYPE);
    o.order_type = 255;
    ck_rule(check(o), EXEC_LIMIT_BAD_TYPE);
    ck_rule(check(order("", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_BAD_SYMBOL);
    o = limit(1, 1);
    memset(o.symbol, 'A', sizeof o.symbol); /* no NUL: never read past it */
    ck_rule(check(o), EXEC_LIMIT_BAD_SYMBOL);
}
END_TEST

/* ---- the allow-list ----------------------------------------------------------- */

START_TEST(symbol_off_the_allow_list_should_be_refused)
{
    conf->nsymbols = 2;
    strcpy(conf->symbols[0], "BTC-USD");
    strcpy(conf->symbols[1], "ETH-USD");
    start();
    ck_rule(check(order("BTC-USD", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("ETH-USD", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("SOL-USD", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_SYMBOL_NOT_ALLOWED);
    ck_rule(check(order("btc-usd", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_SYMBOL_NOT_ALLOWED); /* exact */
    ck_rule(check(order("BTC-USDT", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_SYMBOL_NOT_ALLOWED);
    /* A quote does not put a symbol on the list. */
    quote("SOL-USD", SE_QUOTE_HAS_BIDASK, 1, 2, 0);
    ck_rule(check(order("SOL-USD", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_SYMBOL_NOT_ALLOWED);
}
END_TEST

START_TEST(without_an_allow_list_every_symbol_should_pass_until_the_table_is_full)
{
    start();
    char sym[SE_SYMBOL_MAX];
    for (int i = 0; i < EXEC_LIMITS_MAX_SYMBOLS; i++) {
        snprintf(sym, sizeof sym, "S%d", i);
        ck_rule(check(order(sym, SE_ORDER_LIMIT, 1, 1)), i < 1000 ? EXEC_LIMIT_OK : EXEC_LIMIT_MAX_RATE);
    }
    ck_rule(check(order("ONE-MORE", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_SYMBOL_TABLE_FULL);
    quote("ONE-MORE", SE_QUOTE_HAS_BIDASK, 1, 2, 0); /* ignored: no room */
    ck_rule(check_at(market("ONE-MORE", 1), T0 + SEC), EXEC_LIMIT_SYMBOL_TABLE_FULL);
    ck_rule(check_at(order("S7", SE_ORDER_LIMIT, 1, 1), T0 + SEC), EXEC_LIMIT_OK); /* known ones still pass */
}
END_TEST

/* ---- cancels ------------------------------------------------------------------- */

START_TEST(cancels_should_never_be_blocked)
{
    conf->max_rate = 1;
    conf->nsymbols = 1;
    strcpy(conf->symbols[0], "BTC-USD");
    start();
    ck_rule(check(limit(1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(limit(1, 1)), EXEC_LIMIT_MAX_RATE); /* the bucket is empty */
    se_order_rec_t c = order("SOL-USD", 0, NAN, -1); /* off the list, nothing valid in it */
    c.action = SE_ACTION_CANCEL;
    for (int i = 0; i < 100; i++)
        ck_rule(check(c), EXEC_LIMIT_OK);
    /* ... and they take no token: one second on, exactly one order passes. */
    ck_rule(check_at(limit(1, 1), T0 + SEC), EXEC_LIMIT_OK);
    ck_rule(check_at(limit(1, 1), T0 + SEC), EXEC_LIMIT_MAX_RATE);
}
END_TEST

/* ---- rates ----------------------------------------------------------------------- */

START_TEST(rate_should_pass_a_full_bucket_then_refill_at_exactly_n_per_second)
{
    conf->max_rate = 3;
    start();
    for (int i = 0; i < 3; i++)
        ck_rule(check_at(limit(1, 1), T0), EXEC_LIMIT_OK);
    ck_rule(check_at(limit(1, 1), T0), EXEC_LIMIT_MAX_RATE);
    /* One order's worth of credit comes back after 1e9 / 3 ns, rounded up. */
    ck_rule(check_at(limit(1, 1), T0 + 333333333), EXEC_LIMIT_MAX_RATE);
    ck_rule(check_at(limit(1, 1), T0 + 333333334), EXEC_LIMIT_OK);
    ck_rule(check_at(limit(1, 1), T0 + 333333334), EXEC_LIMIT_MAX_RATE);
    /* A quiet second fills the bucket again, never beyond its size. */
    int64_t later = T0 + 10 * SEC;
    for (int i = 0; i < 3; i++)
        ck_rule(check_at(limit(1, 1), later), EXEC_LIMIT_OK);
    ck_rule(check_at(limit(1, 1), later), EXEC_LIMIT_MAX_RATE);
}
END_TEST

START_TEST(rate_should_hold_at_n_per_second_under_a_steady_flood)
{
    conf->max_rate = 100;
    start();
    /* An order every millisecond for ten seconds: at most the first burst of
     * 100 plus 100 per second pass. */
    int passed = 0;
    for (int64_t t = 0; t < 10 * SEC; t += 1000000)
        passed += check_at(limit(1, 1), T0 + t) == EXEC_LIMIT_OK;
    ck_assert_int_le(passed, 100 + 10 * 100);
    ck_assert_int_ge(passed, 100 + 9 * 100);
}
END_TEST

START_TEST(rate_per_symbol_should_limit_each_symbol_on_its_own)
{
    conf->max_rate = 10;
    conf->max_rate_symbol = 2;
    start();
    ck_rule(check(order("A", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("A", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("A", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_MAX_RATE_SYMBOL);
    ck_rule(check(order("B", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("B", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(order("B", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_MAX_RATE_SYMBOL);
    /* 4 of the 10 were spent: the per-symbol refusals took none. */
    for (int i = 0; i < 6; i++) {
        char s[4] = { 'C', (char)('0' + i), 0, 0 };
        ck_rule(check(order(s, SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_OK);
    }
    ck_rule(check(order("D", SE_ORDER_LIMIT, 1, 1)), EXEC_LIMIT_MAX_RATE);
    /* Half a second later: one more for A (2/s), from the total's 5 new ones. */
    ck_rule(check_at(order("A", SE_ORDER_LIMIT, 1, 1), T0 + SEC / 2), EXEC_LIMIT_OK);
    ck_rule(check_at(order("A", SE_ORDER_LIMIT, 1, 1), T0 + SEC / 2), EXEC_LIMIT_MAX_RATE_SYMBOL);
}
END_TEST

START_TEST(refused_orders_should_take_no_token)
{
    conf->max_rate = 2;
    start();
    for (int i = 0; i < 50; i++) {
        ck_rule(check(limit(11, 1)), EXEC_LIMIT_MAX_QTY);
        ck_rule(check(limit(1, 1001)), EXEC_LIMIT_MAX_NOTIONAL);
        ck_rule(check(market("NOPRICE", 1)), EXEC_LIMIT_NO_PRICE);
    }
    ck_rule(check(limit(1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(limit(1, 1)), EXEC_LIMIT_OK);
    ck_rule(check(limit(1, 1)), EXEC_LIMIT_MAX_RATE);
}
END_TEST

START_TEST(rate_should_not_refill_when_the_clock_goes_back)
{
    conf->max_rate = 1;
    start();
    ck_rule(check_at(limit(1, 1), T0), EXEC_LIMIT_OK);
    ck_rule(check_at(limit(1, 1), T0 - 10 * SEC), EXEC_LIMIT_MAX_RATE);
    ck_rule(check_at(limit(1, 1), INT64_MIN + 1), EXEC_LIMIT_MAX_RATE);
    ck_rule(check_at(limit(1, 1), T0 + SEC - 1), EXEC_LIMIT_MAX_RATE);
    ck_rule(check_at(limit(1, 1), T0 + SEC), EXEC_LIMIT_OK);
}
END_TEST

START_TEST(rule_names_should_be_the_documented_reasons)
{
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_OK), "ok");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_MAX_QTY), "exec_max_qty");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_MAX_NOTIONAL), "exec_max_notional");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_NO_PRICE), "exec_no_price");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_MAX_RATE), "exec_max_rate");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_MAX_RATE_SYMBOL), "exec_max_rate_symbol");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_SYMBOL_NOT_ALLOWED), "exec_symbol_not_allowed");
    ck_assert_str_eq(exec_limit_name(EXEC_LIMIT_COUNT), "unknown");
    for (int i = 1; i < EXEC_LIMIT_COUNT; i++) {
        const char *n = exec_limit_name((exec_limit_t)i);
        ck_assert_msg(strncmp(n, "exec_", 5) == 0 && strlen(n) < SE_REASON_MAX, "%s", n);
    }
}
END_TEST

START_TEST(init_should_refuse_limits_out_of_range)
{
    conf->max_qty = NAN;
    ck_assert_int_eq(exec_limits_init(&lim, conf), -EINVAL);
    conf->max_qty = 1;
    conf->max_notional = 0;
    ck_assert_int_eq(exec_limits_init(&lim, conf), -EINVAL);
    conf->max_notional = 1;
    conf->max_rate_symbol = 0;
    ck_assert_int_eq(exec_limits_init(&lim, conf), -EINVAL);
    conf->max_rate_symbol = 1;
    conf->nsymbols = 1; /* an empty name */
    ck_assert_int_eq(exec_limits_init(&lim, conf), -EINVAL);
}
END_TEST

/* ---- configuration ---------------------------------------------------------------- */

static cfg_t *cfg;
static char cfg_path[64];

static void cfg_teardown(void)
{
    cfg_close(cfg);
    cfg = NULL;
}

/* Writes text to a temp file and opens it (the file is removed at once; its
 * name stays in error messages). */
static void load_cfg(const char *text)
{
    strcpy(cfg_path, "/tmp/se_test_xlimits_XXXXXX");
    int fd = mkstemp(cfg_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cfg_close(cfg);
    cfg = NULL;
    int rc = cfg_open(&cfg, cfg_path);
    unlink(cfg_path);
    ck_assert_msg(rc == 0, "cfg_open: %s", se_errmsg());
}

START_TEST(defaults_should_be_a_multiple_of_riskd_limits_else_fixed)
{
    ck_assert_int_eq(exec_limits_load(NULL, conf), 0);
    ck_assert_double_eq(conf->max_qty, EXEC_LIMITS_DEFAULT_QTY);
    ck_assert_double_eq(conf->max_notional, EXEC_LIMITS_DEFAULT_NOTIONAL);
    ck_assert_int_eq(conf->max_rate, EXEC_LIMITS_DEFAULT_RATE);
    ck_assert_int_eq(conf->max_rate_symbol, EXEC_LIMITS_DEFAULT_RATE);
    ck_assert_int_eq(conf->nsymbols, 0);

    load_cfg("risk = { maxOrderSize = 50.0; maxOrderValue = 100000; maxOrdersPerSecond = 200; };\n");
    ck_assert_int_eq(exec_limits_load(cfg, conf), 0);
    ck_assert_double_eq(conf->max_qty, 100);
    ck_assert_double_eq(conf->max_notional, 200000);
    ck_assert_int_eq(conf->max_rate, 1000);
    ck_assert_int_eq(conf->max_rate_symbol, 1000);

    /* riskd's rule off (0) or absent: the fixed value. */
    load_cfg("risk = { maxOrderSize = 0; maxOrdersPerSecond = 0; };\n");
    ck_assert_int_eq(exec_limits_load(cfg, conf), 0);
    ck_assert_double_eq(conf->max_qty, EXEC_LIMITS_DEFAULT_QTY);
    ck_assert_double_eq(conf->max_notional, EXEC_LIMITS_DEFAULT_NOTIONAL);
    ck_assert_int_eq(conf->max_rate, EXEC_LIMITS_DEFAULT_RATE);

    /* A multiple beyond the maximum is the maximum. */
    load_cfg("risk = { maxOrdersPerSecond = 900000; };\n");
    ck_assert_int_eq(exec_limits_load(cfg, conf), 0);
    ck_assert_int_eq(conf->max_rate, EXEC_LIMITS_RATE_MAX);
}
END_TEST

START_TEST(configured_limits_should_override_the_defaults)
{
    load_cfg("risk = { maxOrderSize = 50.0; maxOrdersPerSecond = 200; };\n"
             "execution = { limits = { maxOrderQty = 75; maxOrderNotional = 1.5e6; maxOrdersPerSecond = 300;\n"
             "  maxOrdersPerSecondPerSymbol = 40; symbols = [\"BTC-USD\", \"ETH-USD\"]; }; };\n");
    ck_assert_int_eq(exec_limits_load(cfg, conf), 0);
    ck_assert_double_eq(conf->max_qty, 75);
    ck_assert_double_eq(conf->max_notional, 1.5e6);
    ck_assert_int_eq(conf->max_rate, 300);
    ck_assert_int_eq(conf->max_rate_symbol, 40);
    ck_assert_int_eq(conf->nsymbols, 2);
    ck_assert_str_eq(conf->symbols[1], "ETH-USD");
    /* The per-symbol rate follows a configured total when it is not set itself. */
    load_cfg("execution = { limits = { maxOrdersPerSecond = 30; }; };\n");
    ck_assert_int_eq(exec_limits_load(cfg, conf), 0);
    ck_assert_int_eq(conf->max_rate_symbol, 30);
}
END_TEST

START_TEST(shipped_configs_should_load_and_be_looser_than_riskd)
{
    static const char *const files[] = { "etc/strategy-engine.conf", "etc/strategy-engine-live.conf" };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        cfg_close(cfg);
        cfg = NULL;
        if (cfg_open(&cfg, files[i]) < 0) {
            fprintf(stderr, "skip: %s not found (run from the source tree)\n", files[i]);
            return;
        }
        double size, value;
        int64_t rate;
        ck_assert_int_eq(cfg_get_double(cfg, "risk.maxOrderSize", 0, &size), 0);
        ck_assert_int_eq(cfg_get_double(cfg, "risk.maxOrderValue", 0, &value), 0);
        ck_assert_int_eq(cfg_get_int(cfg, "risk.maxOrdersPerSecond", 0, &rate), 0);
        ck_assert_msg(exec_limits_load(cfg, conf) == 0, "%s", se_errmsg());
        ck_assert_double_gt(conf->max_qty, size);
        ck_assert_double_gt(conf->max_notional, value);
        ck_assert_int_gt(conf->max_rate, rate);
        ck_assert_int_gt(conf->max_rate_symbol, rate);
    }
}
END_TEST

START_TEST(bad_values_should_name_file_line_and_key)
{
    static const struct {
        const char *text, *key, *what;
    } bad[] = {
        { "maxOrderQty = -1.0;", "execution.limits.maxOrderQty", "out of range" },
        { "maxOrderQty = 0;", "execution.limits.maxOrderQty", "out of range" },
        { "maxOrderQty = 1e999;", "execution.limits.maxOrderQty", "out of range" }, /* inf */
        { "maxOrderQty = 1e16;", "execution.limits.maxOrderQty", "out of range" },
        { "maxOrderQty = \"ten\";", "execution.limits.maxOrderQty", "expected a number" },
        { "maxOrderNotional = -0.0;", "execution.limits.maxOrderNotional", "out of range" },
        { "maxOrdersPerSecond = 0;", "execution.limits.maxOrdersPerSecond", "out of range" },
        { "maxOrdersPerSecond = -5;", "execution.limits.maxOrdersPerSecond", "out of range" },
        { "maxOrdersPerSecond = 2.5;", "execution.limits.maxOrdersPerSecond", "fractional" },
        { "maxOrdersPerSecond = 1000001;", "execution.limits.maxOrdersPerSecond", "out of range" },
        { "maxOrdersPerSecondPerSymbol = 0;", "execution.limits.maxOrdersPerSecondPerSymbol", "out of range" },
        { "symbols = [];", "execution.limits.symbols", "empty" },
        { "symbols = \"BTC-USD\";", "execution.limits.symbols", "expected a list" },
        { "symbols = [\"BTC-USD\", \"\"];", "execution.limits.symbols", "element 1" },
        { "symbols = [\"A-SYMBOL-TOO-LONG\"];", "execution.limits.symbols", "element 0" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "engine = { mode = \"simulation\"; };\nexecution = {\n  limits = {\n    %s\n  };\n};\n",
                 bad[i].text);
        load_cfg(text);
        ck_assert_msg(exec_limits_load(cfg, conf) == SE_ECONFIG, "%s: accepted", bad[i].text);
        char want[128];
        snprintf(want, sizeof want, "%s:4: %s: ", cfg_path, bad[i].key);
        ck_assert_msg(strstr(se_errmsg(), want) && strstr(se_errmsg(), bad[i].what), "%s: %s", bad[i].text,
                      se_errmsg());
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("execd_limits");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, order_should_pass_at_max_qty_and_be_refused_just_over);
    tcase_add_test(tc, order_should_pass_at_max_notional_and_be_refused_just_over);
    tcase_add_test(tc, market_order_should_be_valued_at_its_own_price_else_the_ask_else_the_last_trade);
    tcase_add_test(tc, market_order_without_any_price_should_be_refused_rather_than_guessed);
    tcase_add_test(tc, bad_quotes_should_teach_no_price);
    tcase_add_test(tc, non_finite_zero_and_negative_quantities_should_be_refused);
    tcase_add_test(tc, non_finite_zero_and_negative_prices_should_be_refused);
    tcase_add_test(tc, unknown_side_type_and_empty_symbol_should_be_refused);
    tcase_add_test(tc, symbol_off_the_allow_list_should_be_refused);
    tcase_add_test(tc, without_an_allow_list_every_symbol_should_pass_until_the_table_is_full);
    tcase_add_test(tc, cancels_should_never_be_blocked);
    tcase_add_test(tc, rate_should_pass_a_full_bucket_then_refill_at_exactly_n_per_second);
    tcase_add_test(tc, rate_should_hold_at_n_per_second_under_a_steady_flood);
    tcase_add_test(tc, rate_per_symbol_should_limit_each_symbol_on_its_own);
    tcase_add_test(tc, refused_orders_should_take_no_token);
    tcase_add_test(tc, rate_should_not_refill_when_the_clock_goes_back);
    tcase_add_test(tc, rule_names_should_be_the_documented_reasons);
    tcase_add_test(tc, init_should_refuse_limits_out_of_range);
    suite_add_tcase(s, tc);
    TCase *tcc = tcase_create("config");
    tcase_add_checked_fixture(tcc, setup, teardown);
    tcase_add_checked_fixture(tcc, NULL, cfg_teardown);
    tcase_add_test(tcc, defaults_should_be_a_multiple_of_riskd_limits_else_fixed);
    tcase_add_test(tcc, configured_limits_should_override_the_defaults);
    tcase_add_test(tcc, shipped_configs_should_load_and_be_looser_than_riskd);
    tcase_add_test(tcc, bad_values_should_name_file_line_and_key);
    suite_add_tcase(s, tcc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
