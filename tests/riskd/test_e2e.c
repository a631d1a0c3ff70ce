/* test_e2e.c -- the whole pipeline in simulation on a replayed feed: ingest,
 * three strategyd, riskd and execd as real processes. Afterwards, reading the
 * rings: every order traces back to a signal, no order breaks a limit, the
 * fills of each strategy and symbol sum to riskd's position, and riskd's
 * realised PnL matches the test's own average-cost computation. */
#include <check.h>
#include <signal.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "tests/support/http_client.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

#define MAX_ORDER_SIZE 2.5
#define MAX_POSITION   5.0
#define NTICKS         3000

static char inst[40], conf[128], replay[128];

static void write_replay(void)
{
    FILE *f = fopen(replay, "w");
    ck_assert_ptr_nonnull(f);
    uint64_t rng = 7;
    double mid[2] = { 100, 50 };
    const char *sym[2] = { "BTC-USD", "ETH-USD" };
    int64_t ts = 1732400000000000000;
    for (int i = 0; i < NTICKS; i++) {
        int s = i % 2;
        double u = (double)(test_rand(&rng) >> 11) / 9007199254740992.0;
        mid[s] *= 1 + (u - 0.5) * 0.004;
        ts += 10000000;
        fprintf(f, "{\"symbol\":\"%s\",\"bid\":%.2f,\"ask\":%.2f,\"bid_size\":5,\"ask_size\":5,\"ts\":%lld}\n",
                sym[s], mid[s] - 0.01, mid[s] + 0.01, (long long)ts);
    }
    ck_assert_int_eq(fclose(f), 0);
}

static void write_config(void)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"simulation\"; idleSpinUs = 0; signalTtlMs = 0; };\n"
            "strategies = { enabled = [\"momentum\", \"market_making\", \"scalping\"]; configs = {\n"
            "  momentum = { lookback_period = 5; threshold = 0.002; max_position = 6.0; order_size = 2.0; priority = 2; };\n"
            "  market_making = { spread = 0.002; order_size = 1.0; max_inventory = 4.0; refresh_ms = 200; priority = 1; };\n"
            "  scalping = { entry_ticks = 3; entry_threshold = 0.002; order_size = 2.0; profit_target = 0.002;\n"
            "               stop_loss = 0.002; max_hold_time_seconds = 2; cooldown_ms = 200; };\n"
            "}; };\n"
            /* HTTP on ports the kernel picks: never a fixed port in tests */
            "strategyd = { signalRingCapacity = 65536; httpBasePort = 0; };\n"
            "riskd = { orderRingCapacity = 65536; httpPort = 0; };\n"
            "risk = { maxOrderSize = %g; maxPositionSize = %g; priceCollarPct = 5.0; };\n"
            "execution = { sim = { slippageBps = 1.0; latencyUs = 0; }; };\n"
            "execd = { httpPort = 0; };\n"
            "ingest = { feed = \"replay\"; httpPort = 0; replay = { file = \"%s\"; speed = 0.0; }; };\n",
            inst, MAX_ORDER_SIZE, MAX_POSITION, replay);
    ck_assert_int_eq(fclose(f), 0);
}

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-e", (int)getpid());
    snprintf(conf, sizeof conf, "/tmp/se-e2e-%d.conf", (int)getpid());
    snprintf(replay, sizeof replay, "/tmp/se-e2e-%d.jsonl", (int)getpid());
    write_replay();
    write_config();
}

static void teardown(void)
{
    unlink(conf);
    unlink(replay);
    char lead[64];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    test_sweep_segments(lead);
}

/* Maps ring `ring` read-only and copies out every record still in it. */
static int read_all(const char *ring, void *out, size_t rec_size, int max)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, ring), 0);
    shm_segment_t seg;
    ck_assert_msg(shm_segment_map(&seg, name, false) == 0, "ring %s missing", ring);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    ck_assert_msg(head <= seg.capacity, "ring %s wrapped (%llu records): enlarge it", ring,
                  (unsigned long long)head);
    ck_assert_int_le(head, max);
    for (uint64_t i = 0; i < head; i++)
        ck_assert_int_eq(shm_peek(&seg, i, (char *)out + i * rec_size), SHM_OK);
    shm_segment_unmap(&seg);
    return (int)head;
}

/* Ring `in` exists before anyone starts (as ingest would leave it), so
 * every process attaches to it before the first tick. */
static void create_ring_in(void)
{
    char in_name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(in_name, sizeof in_name, NULL, inst, "in"), 0);
    shm_ring_spec_t in_spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, 65536, SE_RECTYPE_IN };
    shm_writer_t in;
    ck_assert_int_eq(shm_writer_open(&in, in_name, &in_spec, NULL), 0);
    shm_writer_close(&in, false);
}

/* execd, riskd and one strategy, each attached to every ring it reads. */
static void start_one_strategy(const char *name, pid_t *execd, pid_t *riskd, pid_t *strat)
{
    char ring[40];
    create_ring_in();
    *execd = pf_spawn(conf, "execd", NULL);
    *riskd = pf_spawn(conf, "riskd", NULL);
    *strat = pf_spawn(conf, "strategyd", name);
    snprintf(ring, sizeof ring, "sig.%s", name);
    ck_assert(pf_wait_readers(inst, "in", 3, 20));
    ck_assert(pf_wait_readers(inst, ring, 1, 20));
    ck_assert(pf_wait_readers(inst, "exe", 2, 20));
    ck_assert(pf_wait_readers(inst, "risk", 1, 20));
}

typedef struct {
    double qty, avg, realized;
} pos_t;

/* The test's own average-cost arithmetic, independent of riskd/book.c. */
static void apply(pos_t *p, double signed_qty, double price)
{
    double q = signed_qty;
    if (p->qty == 0 || (p->qty > 0) == (q > 0)) {
        p->avg = (p->avg * fabs(p->qty) + price * fabs(q)) / fabs(p->qty + q);
        p->qty += q;
        return;
    }
    double closing = fmin(fabs(q), fabs(p->qty));
    p->realized += closing * (price - p->avg) * (p->qty > 0 ? 1 : -1);
    double left = p->qty + q;
    if (fabs(left) < 1e-12)
        p->qty = p->avg = 0;
    else if ((left > 0) != (p->qty > 0)) {
        p->qty = left;
        p->avg = price;
    } else
        p->qty = left;
}

static se_signal_rec_t sigs[3][65536];
static se_order_rec_t ords[65536];
static se_exec_rec_t exes[65536];
static se_risk_rec_t risks[65536];

START_TEST(pipeline_should_trade_within_limits_and_account_for_every_fill)
{
    const char *names[3] = { "momentum", "market_making", "scalping" };
    create_ring_in();
    pid_t execd = pf_spawn(conf, "execd", NULL), riskd = pf_spawn(conf, "riskd", NULL);
    pid_t strat[3];
    for (int i = 0; i < 3; i++)
        strat[i] = pf_spawn(conf, "strategyd", names[i]);
    ck_assert(pf_wait_readers(inst, "in", 5, 20));   /* 3 strategies, riskd, execd */
    ck_assert(pf_wait_readers(inst, "ord", 1, 20));  /* execd */
    ck_assert(pf_wait_readers(inst, "exe", 4, 20));  /* riskd, 3 strategies */
    ck_assert(pf_wait_readers(inst, "risk", 3, 20)); /* 3 strategies */
    for (int i = 0; i < 3; i++) {
        char ring[32];
        snprintf(ring, sizeof ring, "sig.%s", names[i]);
        ck_assert(pf_wait_readers(inst, ring, 1, 20)); /* riskd */
    }
    ck_assert_int_eq(test_wait(pf_spawn(conf, "ingest", NULL)), 0);
    ck_assert_msg(pf_wait_quiet(inst, 30), "the pipeline did not settle");

    int nsig[3];
    for (int i = 0; i < 3; i++) {
        char ring[32];
        snprintf(ring, sizeof ring, "sig.%s", names[i]);
        nsig[i] = read_all(ring, sigs[i], sizeof sigs[i][0], 65536);
    }
    int nord = read_all("ord", ords, sizeof ords[0], 65536);
    int nexe = read_all("exe", exes, sizeof exes[0], 65536);
    int nrisk = read_all("risk", risks, sizeof risks[0], 65536);
    pid_t all[] = { strat[0], strat[1], strat[2], riskd, execd };
    ck_assert_int_eq(pf_stop(all, 5), 0);

    ck_assert_int_gt(nord, 10);
    int fills = 0;
    /* Every order traces back to a signal, and keeps to the size limit. */
    for (int o = 0; o < nord; o++) {
        const se_order_rec_t *ord = &ords[o];
        int st = (int)ord->strategy_index;
        ck_assert_int_lt(st, 3);
        ck_assert_str_eq(ord->strategy, names[st]);
        bool found = false;
        for (int s = 0; s < nsig[st] && !found; s++) {
            const se_signal_rec_t *sg = &sigs[st][s];
            found = strcmp(sg->client_order_id, ord->client_order_id) == 0 && sg->action == ord->action &&
                    (ord->action == SE_ACTION_CANCEL ||
                     (sg->side == ord->side && sg->qty == ord->qty && sg->price == ord->price &&
                      strcmp(sg->symbol, ord->symbol) == 0));
        }
        ck_assert_msg(found, "order %s has no signal", ord->client_order_id);
        if (ord->action == SE_ACTION_NEW)
            ck_assert_double_le(ord->qty, MAX_ORDER_SIZE + 1e-9);
    }
    /* Fills: the engine's net position per symbol never passes the limit;
     * per strategy and symbol the test keeps its own average-cost book. */
    pos_t book[3][2] = { { { 0, 0, 0 } } };
    double net[2] = { 0, 0 };
    for (int e = 0; e < nexe; e++) {
        const se_exec_rec_t *x = &exes[e];
        if (x->kind != SE_EXEC_FILL)
            continue;
        fills++;
        int sym = strcmp(x->symbol, "BTC-USD") == 0 ? 0 : 1;
        double q = x->side == SE_SIDE_SELL ? -x->qty : x->qty;
        apply(&book[x->strategy_index][sym], q, x->price);
        net[sym] += q;
        ck_assert_msg(fabs(net[sym]) <= MAX_POSITION + 1e-9, "net position %g in %s", net[sym], x->symbol);
    }
    ck_assert_msg(fills > 10, "%d fills in %d reports; first: kind %d reason '%s'", fills, nexe,
                  nexe ? exes[0].kind : 0, nexe ? exes[0].reason : "");
    /* riskd's last word per strategy and symbol must match. */
    for (int st = 0; st < 3; st++)
        for (int sym = 0; sym < 2; sym++) {
            const char *symbol = sym == 0 ? "BTC-USD" : "ETH-USD";
            const se_risk_rec_t *last = NULL;
            for (int k = 0; k < nrisk; k++)
                if ((risks[k].kind == SE_RISK_POSITION || risks[k].kind == SE_RISK_SNAPSHOT) &&
                    risks[k].strategy_index == (uint32_t)st && strcmp(risks[k].symbol, symbol) == 0)
                    last = &risks[k];
            const pos_t *p = &book[st][sym];
            if (!last) {
                ck_assert_double_eq_tol(p->qty, 0, 1e-9);
                continue;
            }
            ck_assert_msg(fabs(last->qty - p->qty) < 1e-9, "%s %s: riskd %g, fills %g", names[st], symbol,
                          last->qty, p->qty);
            ck_assert_msg(fabs(last->realized_pnl - p->realized) < 1e-6, "%s %s: realised riskd %.9f, test %.9f",
                          names[st], symbol, last->realized_pnl, p->realized);
            if (p->qty != 0)
                ck_assert_double_eq_tol(last->avg_price, p->avg, 1e-6);
        }
    /* The limits were really in play: momentum wants 6, the engine allows 5. */
    int position_rejects = 0;
    for (int k = 0; k < nrisk; k++)
        position_rejects += risks[k].kind == SE_RISK_REJECT && strcmp(risks[k].rule, "max_position") == 0;
    ck_assert_int_gt(position_rejects, 0);
}
END_TEST

START_TEST(kill_switch_should_halt_every_order_until_it_is_off)
{
    pid_t execd, riskd, strat;
    start_one_strategy("momentum", &execd, &riskd, &strat);
    int port = tc_http_port(inst, "riskd", 20);
    ck_assert_int_gt(port, 0);
    kill(riskd, SIGUSR2); /* the operator's panic button engages it */
    /* The switch is on once riskd says so on ring `risk`. */
    static se_risk_rec_t k[65536];
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    bool halted = false;
    while (!halted && clock_mono_ns() < deadline) {
        int n = read_all("risk", k, sizeof k[0], 65536);
        for (int i = 0; i < n; i++)
            halted |= k[i].kind == SE_RISK_STATE && k[i].state == SE_TRADING_HALTED;
        usleep(2000);
    }
    ck_assert(halted);
    ck_assert_int_eq(test_wait(pf_spawn(conf, "ingest", NULL)), 0);
    ck_assert(pf_wait_quiet(inst, 30));
    char ord_name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(ord_name, sizeof ord_name, NULL, inst, "ord"), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, ord_name, false), 0);
    ck_assert_uint_eq(shm__load_acquire(&seg.hdr->prod_seq), 0); /* not one order */
    shm_segment_unmap(&seg);
    int n = read_all("risk", k, sizeof k[0], 65536), kills = 0;
    for (int i = 0; i < n; i++)
        kills += k[i].kind == SE_RISK_REJECT && strcmp(k[i].rule, "kill_switch") == 0;
    ck_assert_int_gt(kills, 0);
    /* SIGUSR2 only ever engages: a second one leaves it on. */
    kill(riskd, SIGUSR2);
    char body[512];
    int64_t until = clock_mono_ns() + 10000000000LL;
    int status;
    while ((status = tc_http(port, "GET", "/killswitch", NULL, body, sizeof body, NULL, 0)) == 200 &&
           !strstr(body, "\"kill_switch\":true") && clock_mono_ns() < until)
        usleep(2000);
    ck_assert_int_eq(status, 200);
    ck_assert_msg(strstr(body, "\"trading_state\":\"HALTED\""), "%s", body);
    /* Off again, over HTTP: the next replay trades. */
    ck_assert_int_eq(tc_http(port, "POST", "/killswitch", "{\"enabled\":false}", body, sizeof body, NULL, 0), 200);
    ck_assert_msg(strstr(body, "\"trading_state\":\"ACTIVE\"") && strstr(body, "\"kill_switch\":false"), "%s",
                  body);
    bool active = false;
    deadline = clock_mono_ns() + 10000000000LL;
    while (!active && clock_mono_ns() < deadline) {
        n = read_all("risk", k, sizeof k[0], 65536);
        for (int i = 0; i < n; i++) /* the last state change decides */
            if (k[i].kind == SE_RISK_STATE)
                active = k[i].state == SE_TRADING_ACTIVE;
        usleep(2000);
    }
    ck_assert(active);
    ck_assert_int_eq(test_wait(pf_spawn(conf, "ingest", NULL)), 0);
    ck_assert(pf_wait_quiet(inst, 30));
    ck_assert_int_eq(shm_segment_map(&seg, ord_name, false), 0);
    ck_assert_uint_gt(shm__load_acquire(&seg.hdr->prod_seq), 0);
    shm_segment_unmap(&seg);
    pid_t all[] = { strat, riskd, execd };
    ck_assert_int_eq(pf_stop(all, 3), 0);
}
END_TEST

/* The orders the test sees working, from rings `ord` and `exe` alone. */
typedef struct {
    char id[SE_ID_MAX];
    double open;
} working_t;

static int working_orders(working_t *w, int max)
{
    int nord = read_all("ord", ords, sizeof ords[0], 65536), nexe = read_all("exe", exes, sizeof exes[0], 65536);
    int n = 0;
    for (int o = 0; o < nord; o++)
        if (ords[o].action == SE_ACTION_NEW && n < max) {
            snprintf(w[n].id, SE_ID_MAX, "%s", ords[o].client_order_id);
            w[n++].open = ords[o].qty;
        }
    for (int e = 0; e < nexe; e++)
        for (int i = 0; i < n; i++) {
            const se_exec_rec_t *x = &exes[e];
            if (strcmp(w[i].id, x->client_order_id) != 0)
                continue;
            if (x->kind == SE_EXEC_FILL)
                w[i].open = x->leaves_qty;
            else if (x->kind == SE_EXEC_CANCELLED || (x->kind == SE_EXEC_REJECT && x->action == SE_ACTION_NEW))
                w[i].open = 0;
        }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (w[i].open > 1e-9)
            w[k++] = w[i];
    return k;
}

START_TEST(restarted_riskd_should_rebuild_open_orders_and_tell_each_strategy)
{
    /* A quiet market: the market maker's quotes rest, unfilled. */
    FILE *f = fopen(replay, "w");
    ck_assert_ptr_nonnull(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "{\"symbol\":\"BTC-USD\",\"bid\":99.99,\"ask\":100.01,\"ts\":%lld}\n",
                1732400000000000000LL + i * 10000000LL);
    ck_assert_int_eq(fclose(f), 0);
    pid_t execd, riskd, strat;
    start_one_strategy("market_making", &execd, &riskd, &strat);
    ck_assert_int_eq(test_wait(pf_spawn(conf, "ingest", NULL)), 0);
    ck_assert(pf_wait_quiet(inst, 30));
    static working_t w[65536];
    int nw = working_orders(w, 65536);
    ck_assert_int_gt(nw, 0); /* market making leaves quotes resting */

    /* riskd dies at once and comes back: it must know the same orders. */
    ck_assert_int_eq(kill(riskd, SIGKILL), 0);
    ck_assert_int_eq(test_wait(riskd), 128 + SIGKILL);
    int before = read_all("risk", risks, sizeof risks[0], 65536);
    riskd = pf_spawn(conf, "riskd", NULL);
    int64_t deadline = clock_mono_ns() + 20000000000LL;
    int end = -1, n = before;
    while (end < 0 && clock_mono_ns() < deadline) {
        n = read_all("risk", risks, sizeof risks[0], 65536);
        for (int k = before; k < n && end < 0; k++)
            if (risks[k].kind == SE_RISK_SNAPSHOT_END && strcmp(risks[k].strategy, "market_making") == 0)
                end = k;
        usleep(2000);
    }
    ck_assert_msg(end >= 0, "no snapshot from the restarted riskd");
    int listed = 0;
    for (int k = before; k < end; k++) {
        const se_risk_rec_t *r = &risks[k];
        if (r->kind != SE_RISK_OPEN_ORDER || strcmp(r->strategy, "market_making") != 0)
            continue;
        listed++;
        int i = 0;
        while (i < nw && strcmp(w[i].id, r->client_order_id) != 0)
            i++;
        ck_assert_msg(i < nw, "riskd lists %s, which is not working", r->client_order_id);
        ck_assert_double_eq_tol(r->qty, w[i].open, 1e-9);
    }
    ck_assert_int_eq(listed, nw);
    ck_assert_double_eq_tol(risks[end].qty, nw, 1e-9);
    pid_t all[] = { strat, riskd, execd };
    ck_assert_int_eq(pf_stop(all, 3), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("e2e");
    TCase *tc = tcase_create("pipeline");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, pipeline_should_trade_within_limits_and_account_for_every_fill);
    tcase_add_test(tc, kill_switch_should_halt_every_order_until_it_is_off);
    tcase_add_test(tc, restarted_riskd_should_rebuild_open_orders_and_tell_each_strategy);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
