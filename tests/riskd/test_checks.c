/* test_checks.c -- check suites for riskd/limits (the `risk` configuration)
 * and riskd/checks (every rule at its limit and just over, disabled rules,
 * risk.enabled = false, trading states, kill switch, rate windows, duplicates). */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/config.h"
#include "common/err.h"
#include "riskd/book.h"
#include "riskd/checks.h"
#include "riskd/limits.h"

#define MS 1000000LL
#define SEC 1000000000LL
#define T0 (1732400000LL * SEC)

static book_t book;
static risk_t risk;
static risk_limits_t lim;
static bool started;
static int64_t now;
static int seq;

/* ---- fixture ---- */

static void setup(void)
{
    limits_defaults(&lim);
    started = false;
    now = T0;
    seq = 0;
    ck_assert_int_eq(book_init(&book, NULL), 0);
    ck_assert_int_eq(book_add_strategy(&book, "alpha"), 0);
    ck_assert_int_eq(book_add_strategy(&book, "beta"), 1);
    book_daily_reset(&book, T0 - 3600 * SEC);
}

static void teardown(void)
{
    if (started)
        risk_fini(&risk);
    book_fini(&book);
}

/* Starts the checker with the limits set so far in lim. */
static void start(void)
{
    ck_assert_int_eq(risk_init(&risk, &lim, 2), 0);
    started = true;
}

/* A fresh book and checker with the same limits. */
static void fresh(void)
{
    risk_limits_t keep = lim;

    teardown();
    setup();
    lim = keep;
    start();
}

static se_signal_rec_t sig(int st, const char *sym, int side, int type, double qty, double price)
{
    se_signal_rec_t s;
    memset(&s, 0, sizeof s);
    s.action = SE_ACTION_NEW;
    s.side = (uint8_t)side;
    s.order_type = (uint8_t)type;
    s.strategy_index = (uint32_t)st;
    snprintf(s.symbol, sizeof s.symbol, "%s", sym);
    snprintf(s.client_order_id, sizeof s.client_order_id, "%s-%d", st ? "beta" : "alpha", ++seq);
    s.qty = qty;
    s.price = type == SE_ORDER_LIMIT ? price : 0;
    return s;
}

static se_signal_rec_t buy(int st, double qty, double price)
{
    return sig(st, "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, qty, price);
}

static se_signal_rec_t sell(int st, double qty, double price)
{
    return sig(st, "BTC-USD", SE_SIDE_SELL, SE_ORDER_LIMIT, qty, price);
}

static se_signal_rec_t mkt(int st, int side, double qty)
{
    return sig(st, "BTC-USD", side, SE_ORDER_MARKET, qty, 0);
}

static risk_rule_t check(const se_signal_rec_t *s)
{
    return risk_check(&risk, &book, s, NULL, now);
}

/* Checks s; if it passes, does what the runner does with an approved order. */
static risk_rule_t submit(const se_signal_rec_t *s)
{
    risk_rule_t r = check(s);
    if (r == RISK_OK && s->action == SE_ACTION_NEW) {
        ck_assert_int_eq(book_order_add(&book, s->client_order_id, (int)s->strategy_index, s->symbol, s->side,
                                        s->qty), 0);
        risk_record_approved(&risk, s, now);
    }
    return r;
}

static void hold(int st, const char *sym, int side, double qty, double price)
{
    char id[32];
    snprintf(id, sizeof id, "fill-%d", ++seq);
    book_fill_t f = { id, NULL, sym, st, (uint8_t)side, qty, price, -1 };
    ck_assert_int_eq(book_apply_fill(&book, &f, NULL), 1);
}

static void mark(const char *sym, double mid, int64_t ts)
{
    ck_assert_int_ge(book_mark(&book, sym, mid, ts), 0);
}

static void pending(int st, const char *sym, int side, double qty)
{
    char id[32];
    snprintf(id, sizeof id, "pend-%d", ++seq);
    ck_assert_int_eq(book_order_add(&book, id, st, sym, (uint8_t)side, qty), 0);
}

#define ASSERT_RULE(expr, rule)                                                                  \
    do {                                                                                         \
        risk_rule_t got_ = (expr);                                                               \
        ck_assert_msg(got_ == (rule), "%s: got %s, expected %s", #expr, risk_rule_name(got_),    \
                      risk_rule_name(rule));                                                     \
    } while (0)

/* ---- the table: every rule at its limit (passes) and just over (refused) ---- */

typedef struct {
    const char *name;
    risk_rule_t rule;
    void (*set)(risk_limits_t *l);             /* turns the rule on */
    se_signal_rec_t (*make)(bool over);        /* prepares book and windows; the signal */
} rule_case_t;

static void set_size(risk_limits_t *l) { l->max_order_size = 10; }
static se_signal_rec_t make_size(bool over) { return buy(0, over ? 10.00001 : 10, 100); }

static void set_value(risk_limits_t *l) { l->max_order_value = 1000; }
static se_signal_rec_t make_value_limit(bool over) { return buy(0, 10, over ? 100.0001 : 100); }
static se_signal_rec_t make_value_market(bool over)
{
    mark("BTC-USD", 100, now);
    return mkt(0, SE_SIDE_SELL, over ? 10.0001 : 10);
}

static void set_collar(risk_limits_t *l) { l->price_collar_pct = 5; }
static se_signal_rec_t make_collar_above(bool over)
{
    mark("BTC-USD", 100, now);
    return buy(0, 1, over ? 105.0001 : 105);
}
static se_signal_rec_t make_collar_below(bool over)
{
    mark("BTC-USD", 100, now);
    return sell(0, 1, over ? 94.9999 : 95);
}
static se_signal_rec_t make_no_quote(bool over)
{
    if (!over)
        mark("BTC-USD", 100, now);
    return buy(0, 1, 100);
}

static void set_stale(risk_limits_t *l) { l->max_quote_age_ms = 500; }
static se_signal_rec_t make_stale(bool over)
{
    mark("BTC-USD", 100, now - 500 * MS - (over ? 1 : 0));
    return mkt(0, SE_SIDE_BUY, 1);
}
static se_signal_rec_t make_stale_no_quote(bool over)
{
    if (!over)
        mark("BTC-USD", 100, now);
    return mkt(0, SE_SIDE_BUY, 1);
}

/* Engine-wide: alpha holds 4, beta has 3 pending; 4 + 3 + 3 = 10. */
static void set_pos(risk_limits_t *l) { l->max_position_size = 10; }
static se_signal_rec_t make_pos_buy(bool over)
{
    hold(0, "BTC-USD", SE_SIDE_BUY, 4, 100);
    pending(1, "BTC-USD", SE_SIDE_BUY, 3);
    pending(1, "BTC-USD", SE_SIDE_SELL, 50); /* the other side does not count */
    return buy(0, over ? 3.0001 : 3, 100);
}
static se_signal_rec_t make_pos_sell(bool over)
{
    hold(1, "BTC-USD", SE_SIDE_SELL, 4, 100);
    pending(0, "BTC-USD", SE_SIDE_SELL, 3);
    return sell(0, over ? 3.0001 : 3, 100);
}

/* Per strategy: alpha holds 2 with 1 pending; beta's 10 do not count. */
static void set_spos(risk_limits_t *l) { l->strategy_max_position_size = 5; }
static se_signal_rec_t make_spos(bool over)
{
    hold(0, "BTC-USD", SE_SIDE_BUY, 2, 100);
    pending(0, "BTC-USD", SE_SIDE_BUY, 1);
    hold(1, "BTC-USD", SE_SIDE_BUY, 10, 100);
    return buy(0, over ? 2.0001 : 2, 100);
}

/* Approves n orders, step apart: alternating sides and each at its own
 * price, so no other rule (position, duplicate) minds. */
static void approve_n(int st, int n, int64_t step)
{
    for (int i = 0; i < n; i++) {
        se_signal_rec_t s = sig(st, "ETH-USD", i % 2 ? SE_SIDE_SELL : SE_SIDE_BUY, SE_ORDER_LIMIT, 1 + i % 2,
                                10 + 0.01 * seq);
        ASSERT_RULE(submit(&s), RISK_OK);
        now += step;
    }
}

static void set_gsec(risk_limits_t *l) { l->max_orders_per_second = 3; }
static se_signal_rec_t make_gsec(bool over)
{
    approve_n(0, 1, 100 * MS);
    approve_n(1, over ? 2 : 1, 100 * MS);
    return buy(1, 1, 100);
}
static void set_gmin(risk_limits_t *l) { l->max_orders_per_minute = 3; }
static se_signal_rec_t make_gmin(bool over)
{
    approve_n(0, 1, 10 * SEC);
    approve_n(1, over ? 2 : 1, 10 * SEC);
    return buy(1, 1, 100);
}
static void set_ssec(risk_limits_t *l) { l->strategy_max_orders_per_second = 2; }
static se_signal_rec_t make_ssec(bool over)
{
    approve_n(1, 2, 1 * MS); /* another strategy at its own limit does not count */
    approve_n(0, over ? 2 : 1, 100 * MS);
    return buy(0, 1, 100);
}
static void set_smin(risk_limits_t *l) { l->strategy_max_orders_per_minute = 2; }
static se_signal_rec_t make_smin(bool over)
{
    approve_n(1, 2, 1 * SEC);
    approve_n(0, over ? 2 : 1, 10 * SEC);
    return buy(0, 1, 100);
}

static void set_dup(risk_limits_t *l) { l->duplicate_window_ms = 100; }
static se_signal_rec_t make_dup(bool over)
{
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(submit(&s), RISK_OK);
    now += over ? 100 * MS - 1 : 100 * MS;
    se_signal_rec_t again = buy(0, 1, 100); /* a new client_order_id, same order */
    return again;
}

/* Daily loss: long 1 @1000 since the reset, marked 900: a loss of 100. */
static void set_daily(risk_limits_t *l) { l->max_daily_loss = 100; }
static se_signal_rec_t make_daily(bool over)
{
    hold(0, "BTC-USD", SE_SIDE_BUY, 1, 1000);
    mark("BTC-USD", over ? 899.999 : 900, now);
    return buy(1, 1, 900);
}

/* Drawdown: long 1 @100, marked up to 150 (peak 50), then down. */
static void set_dd(risk_limits_t *l) { l->max_drawdown = 50; }
static se_signal_rec_t make_dd(bool over)
{
    hold(0, "BTC-USD", SE_SIDE_BUY, 1, 100);
    mark("BTC-USD", 150, now);
    mark("BTC-USD", over ? 99.999 : 100, now);
    return buy(1, 1, 100);
}

static void set_white(risk_limits_t *l)
{
    l->nwhitelist = 2;
    strcpy(l->whitelist[0], "SOL-USD");
    strcpy(l->whitelist[1], "BTC-USD");
}
static se_signal_rec_t make_white(bool over)
{
    return sig(0, over ? "ETH-USD" : "BTC-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1, 100);
}
static void set_black(risk_limits_t *l)
{
    l->nblacklist = 1;
    strcpy(l->blacklist[0], "ETH-USD");
}

static const rule_case_t cases[] = {
    { "max_order_size", RISK_MAX_ORDER_SIZE, set_size, make_size },
    { "max_order_value limit", RISK_MAX_ORDER_VALUE, set_value, make_value_limit },
    { "max_order_value market", RISK_MAX_ORDER_VALUE, set_value, make_value_market },
    { "price_collar above", RISK_PRICE_COLLAR, set_collar, make_collar_above },
    { "price_collar below", RISK_PRICE_COLLAR, set_collar, make_collar_below },
    { "no_quote collar", RISK_NO_QUOTE, set_collar, make_no_quote },
    { "stale_quote", RISK_STALE_QUOTE, set_stale, make_stale },
    { "no_quote market", RISK_NO_QUOTE, set_stale, make_stale_no_quote },
    { "max_position buy", RISK_MAX_POSITION, set_pos, make_pos_buy },
    { "max_position sell", RISK_MAX_POSITION, set_pos, make_pos_sell },
    { "strategy_max_position", RISK_STRATEGY_MAX_POSITION, set_spos, make_spos },
    { "rate_global_second", RISK_RATE_GLOBAL_SECOND, set_gsec, make_gsec },
    { "rate_global_minute", RISK_RATE_GLOBAL_MINUTE, set_gmin, make_gmin },
    { "rate_strategy_second", RISK_RATE_STRATEGY_SECOND, set_ssec, make_ssec },
    { "rate_strategy_minute", RISK_RATE_STRATEGY_MINUTE, set_smin, make_smin },
    { "duplicate", RISK_DUPLICATE, set_dup, make_dup },
    { "daily_loss", RISK_DAILY_LOSS, set_daily, make_daily },
    { "drawdown", RISK_DRAWDOWN, set_dd, make_dd },
    { "symbol_whitelist", RISK_SYMBOL_WHITELIST, set_white, make_white },
    { "symbol_blacklist", RISK_SYMBOL_BLACKLIST, set_black, make_white },
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

START_TEST(every_rule_should_pass_at_its_limit_and_refuse_just_over)
{
    const rule_case_t *c = &cases[_i];

    c->set(&lim);
    start();
    se_signal_rec_t s = c->make(false);
    ck_assert_msg(check(&s) == RISK_OK, "%s: at the limit: %s", c->name, risk_rule_name(check(&s)));
    fresh();
    s = c->make(true);
    uint64_t before = risk_violations(&risk, c->rule);
    risk_rule_t got = check(&s);
    ck_assert_msg(got == c->rule, "%s: just over: got %s", c->name, risk_rule_name(got));
    ck_assert_uint_eq(risk_violations(&risk, c->rule), before + 1);
}
END_TEST

START_TEST(every_rule_should_pass_when_its_limit_is_zero)
{
    const rule_case_t *c = &cases[_i];

    start(); /* the defaults: every limit 0 */
    se_signal_rec_t s = c->make(true);
    ck_assert_msg(check(&s) == RISK_OK, "%s disabled: %s", c->name, risk_rule_name(check(&s)));
    for (int r = 1; r < RISK_RULE_COUNT; r++)
        ck_assert_uint_eq(risk_violations(&risk, (risk_rule_t)r), 0);
}
END_TEST

START_TEST(every_rule_should_only_count_when_risk_is_disabled)
{
    const rule_case_t *c = &cases[_i];

    c->set(&lim);
    lim.enabled = false;
    start();
    se_signal_rec_t s = c->make(true);
    uint64_t before = risk_violations(&risk, c->rule);
    ck_assert_msg(check(&s) == RISK_OK, "%s with risk.enabled = false: %s", c->name, risk_rule_name(check(&s)));
    ck_assert_uint_eq(risk_violations(&risk, c->rule), before + 1);
}
END_TEST

/* ---- order of the rules ---- */

START_TEST(check_should_report_the_first_failing_rule_in_order)
{
    lim.max_order_size = 1;
    lim.max_order_value = 10;
    lim.price_collar_pct = 1;
    lim.max_position_size = 1;
    lim.nblacklist = 1;
    strcpy(lim.blacklist[0], "BTC-USD");
    start();
    mark("BTC-USD", 100, now);
    se_signal_rec_t s = buy(0, 5, 200);
    ASSERT_RULE(check(&s), RISK_SYMBOL_BLACKLIST);
    lim.nblacklist = 0;
    fresh();
    mark("BTC-USD", 100, now);
    ASSERT_RULE(check(&s), RISK_MAX_ORDER_SIZE);
    lim.max_order_size = 0;
    fresh();
    mark("BTC-USD", 100, now);
    ASSERT_RULE(check(&s), RISK_MAX_ORDER_VALUE);
    lim.max_order_value = 0;
    fresh();
    mark("BTC-USD", 100, now);
    ASSERT_RULE(check(&s), RISK_PRICE_COLLAR);
    lim.price_collar_pct = 0;
    fresh();
    ASSERT_RULE(check(&s), RISK_MAX_POSITION);
}
END_TEST

START_TEST(check_should_count_every_failing_rule_when_risk_is_disabled)
{
    lim.enabled = false;
    lim.max_order_size = 1;
    lim.max_order_value = 10;
    lim.price_collar_pct = 1;
    lim.max_position_size = 1;
    start();
    mark("BTC-USD", 100, now);
    se_signal_rec_t s = buy(0, 5, 200);
    ASSERT_RULE(check(&s), RISK_OK);
    ck_assert_uint_eq(risk_violations(&risk, RISK_MAX_ORDER_SIZE), 1);
    ck_assert_uint_eq(risk_violations(&risk, RISK_MAX_ORDER_VALUE), 1);
    ck_assert_uint_eq(risk_violations(&risk, RISK_PRICE_COLLAR), 1);
    ck_assert_uint_eq(risk_violations(&risk, RISK_MAX_POSITION), 1);
    ck_assert_uint_eq(risk_violations(&risk, RISK_STALE_QUOTE), 0);
    ck_assert_uint_eq(risk_checks_total(&risk), 1);
    ck_assert_uint_eq(risk_passed_total(&risk), 1);
}
END_TEST

START_TEST(check_should_report_no_quote_once_for_a_market_order_without_a_mark)
{
    lim.enabled = false;
    lim.max_order_value = 10;
    lim.max_quote_age_ms = 100;
    start();
    se_signal_rec_t s = mkt(0, SE_SIDE_BUY, 1);
    ASSERT_RULE(check(&s), RISK_OK);
    ck_assert_uint_eq(risk_violations(&risk, RISK_NO_QUOTE), 1);
    ck_assert_uint_eq(risk_violations(&risk, RISK_MAX_ORDER_VALUE), 0);
    ck_assert_uint_eq(risk_violations(&risk, RISK_STALE_QUOTE), 0);
}
END_TEST

/* ---- malformed signals ---- */

START_TEST(check_should_refuse_malformed_signals_even_when_disabled)
{
    lim.enabled = _i == 1 ? false : true;
    start();
    se_signal_rec_t bad[14];
    int n = 0;
    for (int i = 0; i < 14; i++)
        bad[i] = buy(0, 1, 100);
    bad[n++].qty = NAN;
    bad[n++].qty = 0;
    bad[n++].qty = INFINITY;
    bad[n++].side = 0;
    bad[n++].order_type = 3;
    bad[n++].price = 0;
    bad[n++].price = NAN;
    bad[n++].strategy_index = 2; /* the book has two */
    memset(bad[n++].symbol, 'X', SE_SYMBOL_MAX);
    bad[n++].symbol[0] = '\0';
    bad[n++].client_order_id[0] = '\0';
    memset(bad[n++].client_order_id, 'c', SE_ID_MAX);
    bad[n++].action = 0;
    for (int i = 0; i < n; i++)
        ck_assert_msg(check(&bad[i]) == RISK_INVALID_ORDER, "case %d: %s", i, risk_rule_name(check(&bad[i])));
    se_signal_rec_t ok = buy(1, 1, 100);
    ASSERT_RULE(risk_check(&risk, &book, &ok, "beta", now), RISK_OK);
    ASSERT_RULE(risk_check(&risk, &book, &ok, "alpha", now), RISK_INVALID_ORDER);
    se_signal_rec_t m = mkt(0, SE_SIDE_BUY, 1);
    m.price = NAN; /* a market order's price is not used */
    ASSERT_RULE(check(&m), RISK_OK);
}
END_TEST

START_TEST(check_should_refuse_a_strategy_beyond_the_checkers_capacity)
{
    ck_assert_int_eq(risk_init(&risk, &lim, 1), 0);
    started = true;
    se_signal_rec_t s = buy(1, 1, 100); /* known to the book, not to the checker */
    ASSERT_RULE(check(&s), RISK_INVALID_ORDER);
    risk_record_approved(&risk, &s, now); /* ignored, not a crash */
    risk_t r2;
    ck_assert_int_eq(risk_init(&r2, &lim, 0), -EINVAL);
    ck_assert_int_eq(risk_init(&r2, &lim, BOOK_STRATEGIES_MAX + 1), -EINVAL);
    risk_fini(&r2); /* safe on a failed (zeroed) checker */
}
END_TEST

/* ---- cancels ---- */

START_TEST(cancels_should_always_pass)
{
    lim.max_order_size = 1;
    lim.max_orders_per_second = 1;
    start();
    risk_set_kill_switch(&risk, true);
    se_signal_rec_t c = buy(0, 1000, 1e9);
    c.action = SE_ACTION_CANCEL;
    ASSERT_RULE(check(&c), RISK_OK);
    risk_set_kill_switch(&risk, false);
    approve_n(0, 1, 0);
    ASSERT_RULE(check(&c), RISK_OK);
    risk_record_approved(&risk, &c, now); /* a cancel does not use the rate */
    ck_assert_uint_eq(risk.global_sec.n, 1);
}
END_TEST

/* ---- trading states ---- */

/* alpha long 5 @100; a mark at 70 loses 150 against maxDailyLoss 100. */
static void breach_daily(void)
{
    lim.max_daily_loss = 100;
    start();
    hold(0, "BTC-USD", SE_SIDE_BUY, 5, 100);
    mark("BTC-USD", 70, now);
    ck_assert(risk_update_state(&risk, &book, now));
}

START_TEST(daily_loss_should_enter_reducing_and_pass_only_reducing_orders)
{
    breach_daily();
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);
    ck_assert_str_eq(risk_state_reason(&risk), "daily_loss");
    ck_assert(!risk_update_state(&risk, &book, now)); /* no change, nothing to publish */

    /* While the loss is beyond the limit, non-reducing orders fail as daily_loss. */
    se_signal_rec_t up = buy(0, 1, 70);
    ASSERT_RULE(check(&up), RISK_DAILY_LOSS);
    se_signal_rec_t flat = sell(0, 5, 70);
    ASSERT_RULE(check(&flat), RISK_OK);

    /* The PnL recovers; the latch holds: REDUCING until the daily reset. */
    mark("BTC-USD", 100, now);
    ck_assert(!risk_update_state(&risk, &book, now));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);
    ASSERT_RULE(check(&up), RISK_REDUCING_ONLY);
    se_signal_rec_t cross = sell(0, 5.5, 100);
    ASSERT_RULE(check(&cross), RISK_REDUCING_ONLY);
    se_signal_rec_t other = sig(1, "BTC-USD", SE_SIDE_SELL, SE_ORDER_LIMIT, 1, 100); /* beta is flat */
    ASSERT_RULE(check(&other), RISK_REDUCING_ONLY);
    se_signal_rec_t part = sell(0, 4, 100);
    ASSERT_RULE(submit(&part), RISK_OK);
    /* 4 are pending: 5 - 4 = 1 left to reduce; 2 would cross. */
    se_signal_rec_t more = sell(0, 2, 100);
    ASSERT_RULE(check(&more), RISK_REDUCING_ONLY);
    se_signal_rec_t last = sell(0, 1, 100);
    ASSERT_RULE(check(&last), RISK_OK);

    /* The next day starts ACTIVE again. */
    now += 3600 * SEC;
    book_daily_reset(&book, now);
    ck_assert(risk_update_state(&risk, &book, now));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_ACTIVE);
    ck_assert_str_eq(risk_state_reason(&risk), "daily_reset");
    ASSERT_RULE(check(&up), RISK_OK);
}
END_TEST

START_TEST(reducing_should_let_a_short_buy_back_to_zero)
{
    lim.max_drawdown = 10;
    start();
    hold(0, "BTC-USD", SE_SIDE_SELL, 3, 100);
    mark("BTC-USD", 90, now);  /* peak 30 */
    mark("BTC-USD", 105, now); /* equity -15: drawdown 45 */
    ck_assert(risk_update_state(&risk, &book, now));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);
    ck_assert_str_eq(risk_state_reason(&risk), "drawdown");
    se_signal_rec_t cover = buy(0, 3, 105);
    ASSERT_RULE(check(&cover), RISK_OK);
    se_signal_rec_t flip = buy(0, 3.5, 105);
    ASSERT_RULE(check(&flip), RISK_DRAWDOWN);
    se_signal_rec_t more = sell(0, 1, 105);
    ASSERT_RULE(check(&more), RISK_DRAWDOWN);
}
END_TEST

START_TEST(drawdown_latch_should_survive_the_daily_reset_until_cleared)
{
    lim.max_drawdown = 10;
    start();
    hold(0, "BTC-USD", SE_SIDE_BUY, 1, 100);
    mark("BTC-USD", 120, now);
    mark("BTC-USD", 105, now); /* drawdown 15 */
    ck_assert(risk_update_state(&risk, &book, now));
    mark("BTC-USD", 120, now); /* recovered */
    book_daily_reset(&book, now + 1);
    ck_assert(!risk_update_state(&risk, &book, now + 1));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);

    mark("BTC-USD", 105, now);
    ck_assert(risk_clear_breaches(&risk)); /* without a new peak the breach returns */
    ck_assert_str_eq(risk_state_reason(&risk), "breaches_cleared");
    ck_assert(risk_update_state(&risk, &book, now));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);
    book_reset_peak(&book);
    ck_assert(risk_clear_breaches(&risk));
    ck_assert(!risk_update_state(&risk, &book, now));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_ACTIVE);
}
END_TEST

START_TEST(breach_action_halt_should_halt_and_refuse_reducing_orders_too)
{
    lim.breach_action = LIMITS_BREACH_HALT;
    breach_daily();
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_HALTED);
    ck_assert_str_eq(risk_state_reason(&risk), "daily_loss");
    se_signal_rec_t flat = sell(0, 5, 70);
    ASSERT_RULE(check(&flat), RISK_HALTED);
    mark("BTC-USD", 100, now);
    ASSERT_RULE(check(&flat), RISK_HALTED);
    ck_assert_uint_eq(risk_violations(&risk, RISK_HALTED), 2);
}
END_TEST

START_TEST(kill_switch_should_halt_and_return_to_the_automatic_state)
{
    start();
    ck_assert(risk_set_kill_switch(&risk, true));
    ck_assert(risk_kill_switch(&risk));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_HALTED);
    ck_assert_str_eq(risk_state_reason(&risk), "kill_switch");
    ck_assert(!risk_set_kill_switch(&risk, true));
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(check(&s), RISK_KILL_SWITCH);
    ck_assert(risk_set_kill_switch(&risk, false));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_ACTIVE);
    ck_assert_str_eq(risk_state_reason(&risk), "kill_switch_off");
    ASSERT_RULE(check(&s), RISK_OK);
    ck_assert_uint_eq(risk.state_changes, 2);
}
END_TEST

START_TEST(kill_switch_off_should_return_to_reducing_after_a_breach)
{
    breach_daily();
    ck_assert(risk_set_kill_switch(&risk, true));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_HALTED);
    ck_assert(!risk_update_state(&risk, &book, now)); /* the switch wins over the latch */
    ck_assert(risk_set_kill_switch(&risk, false));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_REDUCING);
    ck_assert_str_eq(risk_state_reason(&risk), "daily_loss");
}
END_TEST

START_TEST(open_circuit_breaker_should_halt_until_it_closes_and_yield_to_the_kill_switch)
{
    start();
    ck_assert(risk_set_venue_down(&risk, true));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_HALTED);
    ck_assert_str_eq(risk_state_reason(&risk), "venue_down");
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(check(&s), RISK_HALTED);
    /* The operator's switch outranks it, and stays on when the venue returns. */
    ck_assert(risk_set_kill_switch(&risk, true));
    ck_assert_str_eq(risk_state_reason(&risk), "kill_switch");
    ck_assert(!risk_set_venue_down(&risk, false));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_HALTED);
    ck_assert(!risk_set_venue_down(&risk, true));
    ck_assert(risk_set_kill_switch(&risk, false));
    ck_assert_str_eq(risk_state_reason(&risk), "venue_down");
    ck_assert(risk_set_venue_down(&risk, false));
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_ACTIVE);
    ck_assert_str_eq(risk_state_reason(&risk), "venue_up");
    ASSERT_RULE(check(&s), RISK_OK);
}
END_TEST

START_TEST(kill_switch_should_hold_even_when_risk_is_disabled)
{
    lim.enabled = false;
    start();
    risk_set_kill_switch(&risk, true);
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(check(&s), RISK_KILL_SWITCH);
}
END_TEST

START_TEST(state_names_and_rule_labels_should_be_stable)
{
    static const char *const expected[RISK_RULE_COUNT] = {
        "ok", "kill_switch", "halted", "invalid_order", "daily_loss", "drawdown", "reducing_only",
        "symbol_whitelist", "symbol_blacklist", "max_order_size", "max_order_value", "price_collar",
        "stale_quote", "no_quote", "max_position", "strategy_max_position", "rate_global_second",
        "rate_global_minute", "rate_strategy_second", "rate_strategy_minute", "duplicate_order_id", "duplicate",
    };
    for (int i = 0; i < RISK_RULE_COUNT; i++) {
        const char *n = risk_rule_name((risk_rule_t)i);
        ck_assert_str_eq(n, expected[i]);
        ck_assert_uint_eq(strspn(n, "abcdefghijklmnopqrstuvwxyz_"), strlen(n));
    }
    ck_assert_str_eq(risk_rule_name(RISK_RULE_COUNT), "unknown");
    ck_assert_str_eq(risk_rule_name((risk_rule_t)-1), "unknown");
    ck_assert_str_eq(risk_state_name(SE_TRADING_REDUCING), "REDUCING");
    start();
    ck_assert_int_eq(risk_state(&risk), SE_TRADING_ACTIVE);
    ck_assert_str_eq(risk_state_reason(&risk), "start");
}
END_TEST

/* ---- rate windows ---- */

START_TEST(global_second_window_should_slide_at_exactly_one_second)
{
    lim.max_orders_per_second = 2;
    start();
    approve_n(0, 1, 500 * MS); /* t0 */
    approve_n(1, 1, 0);        /* t0 + 0.5 s */
    now = T0 + SEC - 1;
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(submit(&s), RISK_RATE_GLOBAL_SECOND);
    now = T0 + SEC; /* t0 has left the window (now - 1 s, now] */
    ASSERT_RULE(submit(&s), RISK_OK);
    now = T0 + 1500 * MS - 1;
    se_signal_rec_t s2 = sell(0, 1, 100);
    ASSERT_RULE(submit(&s2), RISK_RATE_GLOBAL_SECOND);
    now = T0 + 1500 * MS;
    ASSERT_RULE(submit(&s2), RISK_OK);
    ck_assert_uint_eq(risk_violations(&risk, RISK_RATE_GLOBAL_SECOND), 2);
}
END_TEST

START_TEST(global_minute_window_should_slide_at_exactly_sixty_seconds)
{
    lim.max_orders_per_minute = 2;
    start();
    approve_n(0, 2, 30 * SEC); /* t0, t0 + 30 s */
    now = T0 + 60 * SEC - 1;
    se_signal_rec_t s = buy(1, 1, 100);
    ASSERT_RULE(submit(&s), RISK_RATE_GLOBAL_MINUTE);
    now = T0 + 60 * SEC;
    ASSERT_RULE(submit(&s), RISK_OK);
}
END_TEST

START_TEST(strategy_windows_should_be_separate_and_count_only_approvals)
{
    lim.strategy_max_orders_per_second = 1;
    lim.max_order_size = 5;
    start();
    se_signal_rec_t big = buy(0, 50, 100);
    ASSERT_RULE(submit(&big), RISK_MAX_ORDER_SIZE); /* refused: does not use the rate */
    se_signal_rec_t a = buy(0, 1, 100);
    ASSERT_RULE(submit(&a), RISK_OK);
    se_signal_rec_t a2 = sell(0, 1, 100);
    ASSERT_RULE(submit(&a2), RISK_RATE_STRATEGY_SECOND);
    se_signal_rec_t b = buy(1, 1, 100);
    ASSERT_RULE(submit(&b), RISK_OK);
    now += SEC;
    ASSERT_RULE(submit(&a2), RISK_OK);
}
END_TEST

START_TEST(strategy_added_while_running_should_get_its_own_windows)
{
    lim.strategy_max_orders_per_second = 1;
    ck_assert_int_eq(risk_init(&risk, &lim, 1), 0); /* beta is not in the config yet */
    started = true;
    se_signal_rec_t b = buy(1, 1, 100);
    ASSERT_RULE(check(&b), RISK_INVALID_ORDER);
    ck_assert_int_eq(risk_add_strategy(&risk), 1); /* the config names it now */
    se_signal_rec_t a = buy(0, 1, 100), a2 = sell(0, 1, 100);
    ASSERT_RULE(submit(&a), RISK_OK);
    ASSERT_RULE(submit(&a2), RISK_RATE_STRATEGY_SECOND);
    ASSERT_RULE(submit(&b), RISK_OK);
    se_signal_rec_t b2 = sell(1, 1, 100);
    ASSERT_RULE(submit(&b2), RISK_RATE_STRATEGY_SECOND);
    now += SEC;
    ASSERT_RULE(submit(&b2), RISK_OK);
    for (int i = 2; i < BOOK_STRATEGIES_MAX; i++)
        ck_assert_int_eq(risk_add_strategy(&risk), i);
    ck_assert_int_eq(risk_add_strategy(&risk), -ENOSPC);
}
END_TEST

START_TEST(strategy_rate_limits_should_default_to_the_global_ones)
{
    cfg_t *cfg;
    char path[] = "/tmp/se_test_checks_XXXXXX";
    int fd = mkstemp(path);
    const char *text = "risk = { maxOrdersPerSecond = 7; maxOrdersPerMinute = 70; };\n";
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    unlink(path);
    ck_assert_int_eq(limits_load(cfg, &lim), 0);
    ck_assert_int_eq(lim.strategy_max_orders_per_second, 7);
    ck_assert_int_eq(lim.strategy_max_orders_per_minute, 70);
    cfg_close(cfg);
    start();
    approve_n(0, 7, 1 * MS);
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(submit(&s), RISK_RATE_GLOBAL_SECOND); /* global first in the order */
}
END_TEST

/* ---- duplicates ---- */

START_TEST(duplicates_should_be_refused_inside_the_window_only)
{
    lim.duplicate_window_ms = 1000;
    start();
    se_signal_rec_t s = buy(0, 1.5, 100.25);
    ASSERT_RULE(submit(&s), RISK_OK);
    now += 999 * MS;
    se_signal_rec_t same = buy(0, 1.5, 100.25);
    ASSERT_RULE(check(&same), RISK_DUPLICATE);
    /* Any field different: not a duplicate. */
    se_signal_rec_t d[] = {
        buy(1, 1.5, 100.25), buy(0, 1.6, 100.25), buy(0, 1.5, 100.26), sell(0, 1.5, 100.25),
        sig(0, "ETH-USD", SE_SIDE_BUY, SE_ORDER_LIMIT, 1.5, 100.25), mkt(0, SE_SIDE_BUY, 1.5),
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++)
        ck_assert_msg(check(&d[i]) == RISK_OK, "variant %zu: %s", i, risk_rule_name(check(&d[i])));
    now += 1 * MS; /* 1000 ms after: outside */
    ASSERT_RULE(submit(&same), RISK_OK);
    /* That approval starts a new window. */
    now += 500 * MS;
    se_signal_rec_t third = buy(0, 1.5, 100.25);
    ASSERT_RULE(check(&third), RISK_DUPLICATE);
    now += 500 * MS;
    ASSERT_RULE(check(&third), RISK_OK);
}
END_TEST

START_TEST(duplicate_memory_should_forget_the_oldest_when_full)
{
    lim.duplicate_window_ms = 3600 * 1000;
    start();
    for (int i = 0; i <= RISK_DUP_MAX; i++) { /* one more than it holds */
        se_signal_rec_t s = buy(0, 1 + i, 100);
        risk_record_approved(&risk, &s, now);
    }
    se_signal_rec_t first = buy(0, 1, 100), second = buy(0, 2, 100), newest = buy(0, 1 + RISK_DUP_MAX, 100);
    ASSERT_RULE(check(&first), RISK_OK);
    ASSERT_RULE(check(&second), RISK_DUPLICATE);
    ASSERT_RULE(check(&newest), RISK_DUPLICATE);
}
END_TEST

START_TEST(an_open_client_order_id_should_be_refused_as_a_duplicate)
{
    start();
    se_signal_rec_t s = buy(0, 1, 100);
    ASSERT_RULE(submit(&s), RISK_OK);
    se_signal_rec_t again = sell(0, 2, 101);
    memcpy(again.client_order_id, s.client_order_id, SE_ID_MAX);
    ASSERT_RULE(check(&again), RISK_DUPLICATE_ORDER_ID);
    ck_assert_int_eq(book_order_remove(&book, s.client_order_id), 1);
    ASSERT_RULE(check(&again), RISK_OK);
}
END_TEST

START_TEST(duplicate_memory_sized_by_the_rate_limits_should_stay_exact)
{
    /* 3 orders a second and a 2 s window: at most 6 approvals in any window
     * (3 per started second), so 6 entries are remembered. */
    lim.max_orders_per_second = 3;
    lim.duplicate_window_ms = 2000;
    start();
    ck_assert_uint_eq(risk.dup_cap, 6);
    se_signal_rec_t first = buy(0, 1, 100);
    ASSERT_RULE(submit(&first), RISK_OK);
    approve_n(1, 2, 100 * MS);
    now = T0 + SEC;
    approve_n(1, 2, 100 * MS); /* 5 approvals in the window; the rate allows one more */
    now = T0 + 1500 * MS;
    se_signal_rec_t again = buy(0, 1, 100);
    ASSERT_RULE(check(&again), RISK_DUPLICATE);
    now = T0 + 2000 * MS;
    ASSERT_RULE(submit(&again), RISK_OK);
    /* risk.enabled = false enforces no rate, so the bound does not hold. */
    risk_fini(&risk);
    lim.enabled = false;
    ck_assert_int_eq(risk_init(&risk, &lim, 2), 0);
    ck_assert_uint_eq(risk.dup_cap, RISK_DUP_MAX);
}
END_TEST

/* ---- tolerance and projected positions ---- */

START_TEST(position_limit_should_allow_sums_of_decimals_at_the_limit)
{
    lim.max_position_size = 0.3;
    start();
    pending(0, "BTC-USD", SE_SIDE_BUY, 0.1);
    se_signal_rec_t s = buy(0, 0.2, 100); /* 0.1 + 0.2 = 0.30000000000000004 */
    ASSERT_RULE(check(&s), RISK_OK);
    se_signal_rec_t over = buy(0, 0.2001, 100);
    ASSERT_RULE(check(&over), RISK_MAX_POSITION);
}
END_TEST

START_TEST(position_limit_should_pass_an_order_that_shrinks_an_oversized_position)
{
    lim.max_position_size = 10;
    start();
    hold(0, "BTC-USD", SE_SIDE_SELL, 20, 100); /* limit lowered after the fact */
    se_signal_rec_t back = buy(0, 5, 100);
    ASSERT_RULE(check(&back), RISK_OK);
    se_signal_rec_t worse = sell(0, 1, 100);
    ASSERT_RULE(check(&worse), RISK_MAX_POSITION);
}
END_TEST

static Suite *checks_suite(void)
{
    Suite *s = suite_create("checks");
    TCase *tc = tcase_create("rules");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, every_rule_should_pass_at_its_limit_and_refuse_just_over, 0, NCASES);
    tcase_add_loop_test(tc, every_rule_should_pass_when_its_limit_is_zero, 0, NCASES);
    tcase_add_loop_test(tc, every_rule_should_only_count_when_risk_is_disabled, 0, NCASES);
    tcase_add_test(tc, check_should_report_the_first_failing_rule_in_order);
    tcase_add_test(tc, check_should_count_every_failing_rule_when_risk_is_disabled);
    tcase_add_test(tc, check_should_report_no_quote_once_for_a_market_order_without_a_mark);
    tcase_add_loop_test(tc, check_should_refuse_malformed_signals_even_when_disabled, 0, 2);
    tcase_add_test(tc, check_should_refuse_a_strategy_beyond_the_checkers_capacity);
    tcase_add_test(tc, cancels_should_always_pass);
    tcase_add_test(tc, position_limit_should_allow_sums_of_decimals_at_the_limit);
    tcase_add_test(tc, position_limit_should_pass_an_order_that_shrinks_an_oversized_position);
    suite_add_tcase(s, tc);

    TCase *ts = tcase_create("states");
    tcase_add_checked_fixture(ts, setup, teardown);
    tcase_add_test(ts, daily_loss_should_enter_reducing_and_pass_only_reducing_orders);
    tcase_add_test(ts, reducing_should_let_a_short_buy_back_to_zero);
    tcase_add_test(ts, drawdown_latch_should_survive_the_daily_reset_until_cleared);
    tcase_add_test(ts, breach_action_halt_should_halt_and_refuse_reducing_orders_too);
    tcase_add_test(ts, kill_switch_should_halt_and_return_to_the_automatic_state);
    tcase_add_test(ts, kill_switch_off_should_return_to_reducing_after_a_breach);
    tcase_add_test(ts, kill_switch_should_hold_even_when_risk_is_disabled);
    tcase_add_test(ts, open_circuit_breaker_should_halt_until_it_closes_and_yield_to_the_kill_switch);
    tcase_add_test(ts, state_names_and_rule_labels_should_be_stable);
    suite_add_tcase(s, ts);

    TCase *tw = tcase_create("windows");
    tcase_add_checked_fixture(tw, setup, teardown);
    tcase_add_test(tw, global_second_window_should_slide_at_exactly_one_second);
    tcase_add_test(tw, global_minute_window_should_slide_at_exactly_sixty_seconds);
    tcase_add_test(tw, strategy_windows_should_be_separate_and_count_only_approvals);
    tcase_add_test(tw, strategy_added_while_running_should_get_its_own_windows);
    tcase_add_test(tw, strategy_rate_limits_should_default_to_the_global_ones);
    tcase_add_test(tw, duplicates_should_be_refused_inside_the_window_only);
    tcase_add_test(tw, duplicate_memory_should_forget_the_oldest_when_full);
    tcase_add_test(tw, duplicate_memory_sized_by_the_rate_limits_should_stay_exact);
    tcase_add_test(tw, an_open_client_order_id_should_be_refused_as_a_duplicate);
    suite_add_tcase(s, tw);
    return s;
}

/* ---- limits: the `risk` configuration ---- */

static char cfg_path[64];
static cfg_t *cfg;

/* Writes text to a temp file and opens it (the file is removed at once; its
 * name stays in error messages). */
static void load_cfg(const char *text)
{
    strcpy(cfg_path, "/tmp/se_test_limits_XXXXXX");
    int fd = mkstemp(cfg_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = cfg_open(&cfg, cfg_path);
    unlink(cfg_path);
    ck_assert_msg(rc == 0, "cfg_open: %s", se_errmsg());
}

static void limits_teardown(void)
{
    cfg_close(cfg);
    cfg = NULL;
}

START_TEST(limits_should_default_to_enabled_with_every_rule_off)
{
    ck_assert_int_eq(limits_load(NULL, &lim), 0);
    ck_assert(lim.enabled);
    ck_assert_int_eq(lim.nwhitelist + lim.nblacklist, 0);
    ck_assert(lim.max_order_size == 0 && lim.max_order_value == 0 && lim.price_collar_pct == 0);
    ck_assert(lim.max_position_size == 0 && lim.max_daily_loss == 0 && lim.max_drawdown == 0);
    ck_assert_int_eq(lim.max_quote_age_ms + lim.max_orders_per_second + lim.max_orders_per_minute +
                         lim.strategy_max_orders_per_second + lim.strategy_max_orders_per_minute +
                         lim.duplicate_window_ms, 0);
    ck_assert_int_eq(lim.daily_reset_minute, 0);
    ck_assert_int_eq(lim.breach_action, LIMITS_BREACH_REDUCE);
}
END_TEST

START_TEST(limits_should_read_every_key)
{
    load_cfg("risk = {\n"
             "  enabled = false;\n"
             "  symbolWhitelist = [\"BTC-USD\", \"ETH-USD\"];\n"
             "  symbolBlacklist = [\"DOGE-USD\"];\n"
             "  maxOrderSize = 10; maxOrderValue = 50000.0; priceCollarPct = 5.0;\n"
             "  maxQuoteAgeMs = 2000; maxPositionSize = 100.0; strategyMaxPositionSize = 40;\n"
             "  maxDailyLoss = 5000.0; maxDrawdown = 10000.0; breachAction = \"halt\";\n"
             "  dailyResetUtc = \"21:30\";\n"
             "  maxOrdersPerSecond = 100; maxOrdersPerMinute = 1000;\n"
             "  strategyMaxOrdersPerSecond = 20; strategyMaxOrdersPerMinute = 300;\n"
             "  duplicateWindowMs = 250;\n"
             "};\n");
    ck_assert_msg(limits_load(cfg, &lim) == 0, "%s", se_errmsg());
    ck_assert(!lim.enabled);
    ck_assert_int_eq(lim.nwhitelist, 2);
    ck_assert_str_eq(lim.whitelist[1], "ETH-USD");
    ck_assert_int_eq(lim.nblacklist, 1);
    ck_assert_str_eq(lim.blacklist[0], "DOGE-USD");
    ck_assert_double_eq(lim.max_order_size, 10);
    ck_assert_double_eq(lim.max_order_value, 50000);
    ck_assert_double_eq(lim.price_collar_pct, 5);
    ck_assert_int_eq(lim.max_quote_age_ms, 2000);
    ck_assert_double_eq(lim.max_position_size, 100);
    ck_assert_double_eq(lim.strategy_max_position_size, 40);
    ck_assert_double_eq(lim.max_daily_loss, 5000);
    ck_assert_double_eq(lim.max_drawdown, 10000);
    ck_assert_int_eq(lim.breach_action, LIMITS_BREACH_HALT);
    ck_assert_int_eq(lim.daily_reset_minute, 21 * 60 + 30);
    ck_assert_int_eq(lim.max_orders_per_second, 100);
    ck_assert_int_eq(lim.max_orders_per_minute, 1000);
    ck_assert_int_eq(lim.strategy_max_orders_per_second, 20);
    ck_assert_int_eq(lim.strategy_max_orders_per_minute, 300);
    ck_assert_int_eq(lim.duplicate_window_ms, 250);
}
END_TEST

/* Bad values, each on line 2, and the text its message must contain. */
static const struct {
    const char *setting, *key, *says;
} bad_cfg[] = {
    { "maxOrderSize = -1.0;", "risk.maxOrderSize", "out of range" },
    { "maxOrderValue = \"lots\";", "risk.maxOrderValue", "expected a number" },
    { "priceCollarPct = -5.0;", "risk.priceCollarPct", "out of range" },
    { "maxQuoteAgeMs = -1;", "risk.maxQuoteAgeMs", "out of range" },
    { "maxQuoteAgeMs = 1.5;", "risk.maxQuoteAgeMs", "fractional" },
    { "maxPositionSize = -10;", "risk.maxPositionSize", "out of range" },
    { "maxDailyLoss = -500.0;", "risk.maxDailyLoss", "out of range" },
    { "maxDrawdown = 1e30;", "risk.maxDrawdown", "out of range" },
    { "dailyResetUtc = \"25:00\";", "risk.dailyResetUtc", "\"25:00\"" },
    { "dailyResetUtc = \"7:30\";", "risk.dailyResetUtc", "HH:MM" },
    { "dailyResetUtc = \"12:60\";", "risk.dailyResetUtc", "HH:MM" },
    { "dailyResetUtc = 1200;", "risk.dailyResetUtc", "expected a string" },
    { "maxOrdersPerSecond = -3;", "risk.maxOrdersPerSecond", "out of range" },
    { "maxOrdersPerMinute = 100000000;", "risk.maxOrdersPerMinute", "out of range" },
    { "strategyMaxOrdersPerSecond = 1000000;", "risk.strategyMaxOrdersPerSecond", "out of range" },
    { "strategyMaxOrdersPerMinute = -1;", "risk.strategyMaxOrdersPerMinute", "out of range" },
    { "duplicateWindowMs = -100;", "risk.duplicateWindowMs", "out of range" },
    { "enabled = 1;", "risk.enabled", "expected a boolean" },
    { "symbolWhitelist = \"BTC-USD\";", "risk.symbolWhitelist", "expected a list" },
    { "symbolWhitelist = [\"BTC-USD\", \"A-VERY-LONG-SYMBOL\"];", "risk.symbolWhitelist", "element 1" },
    { "symbolBlacklist = [\"\"];", "risk.symbolBlacklist", "element 0" },
    { "breachAction = \"stop\";", "risk.breachAction", "\"reduce\" or \"halt\"" },
};

START_TEST(limits_should_refuse_a_bad_value_naming_file_line_and_key)
{
    char text[256], prefix[128];
    snprintf(text, sizeof text, "risk = {\n  %s\n};\n", bad_cfg[_i].setting);
    load_cfg(text);
    ck_assert_int_eq(limits_load(cfg, &lim), SE_ECONFIG);
    snprintf(prefix, sizeof prefix, "%s:2: %s: ", cfg_path, bad_cfg[_i].key);
    ck_assert_msg(strncmp(se_errmsg(), prefix, strlen(prefix)) == 0, "message \"%s\" should start \"%s\"",
                  se_errmsg(), prefix);
    ck_assert_msg(strstr(se_errmsg(), bad_cfg[_i].says), "message \"%s\" should say %s", se_errmsg(),
                  bad_cfg[_i].says);
}
END_TEST

START_TEST(limits_should_refuse_more_symbols_than_it_holds)
{
    size_t cap = 16 + (size_t)(LIMITS_SYMBOL_LIST_MAX + 1) * 10 + 16;
    char *text = malloc(cap);
    size_t n = (size_t)sprintf(text, "risk = {\nsymbolBlacklist = [");
    for (int i = 0; i <= LIMITS_SYMBOL_LIST_MAX; i++)
        n += (size_t)sprintf(text + n, "%s\"S%d\"", i ? "," : "", i);
    sprintf(text + n, "];\n};\n");
    load_cfg(text);
    free(text);
    ck_assert_int_eq(limits_load(cfg, &lim), SE_ECONFIG);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), ":2: risk.symbolBlacklist: "));
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "at most 1024"));
}
END_TEST

START_TEST(limits_should_parse_reset_times_strictly)
{
    ck_assert_int_eq(limits_parse_hhmm("00:00"), 0);
    ck_assert_int_eq(limits_parse_hhmm("23:59"), 1439);
    ck_assert_int_eq(limits_parse_hhmm("09:05"), 545);
    const char *bad[] = { "24:00", "12:60", "1:00", "12:5", "12-00", "12:00 ", "", "ab:cd", NULL };
    for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++)
        ck_assert_int_eq(limits_parse_hhmm(bad[i]), -1);
}
END_TEST

static Suite *limits_suite(void)
{
    Suite *s = suite_create("limits");
    TCase *tc = tcase_create("config");
    tcase_add_checked_fixture(tc, NULL, limits_teardown);
    tcase_add_test(tc, limits_should_default_to_enabled_with_every_rule_off);
    tcase_add_test(tc, limits_should_read_every_key);
    tcase_add_loop_test(tc, limits_should_refuse_a_bad_value_naming_file_line_and_key, 0,
                        (int)(sizeof bad_cfg / sizeof bad_cfg[0]));
    tcase_add_test(tc, limits_should_refuse_more_symbols_than_it_holds);
    tcase_add_test(tc, limits_should_parse_reset_times_strictly);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default and stays on; CK_FORK=no is honoured so
     * the suites can run in one process under valgrind. */
    SRunner *sr = srunner_create(limits_suite());
    srunner_add_suite(sr, checks_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
