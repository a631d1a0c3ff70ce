/* test_live.c -- the whole engine in live mode, every piece a real process on
 * free loopback ports: redis-server (market data), nats-server with JetStream
 * (fills), bin/venue-sim (the gRPC venue: fills at the Redis price, publishes
 * them on NATS, logs every request it answers), ingest, strategyd momentum,
 * riskd and execd. The test publishes a scripted price path on Redis and
 * checks, against its own model of momentum, that the venue received exactly
 * the expected orders (each once, the same as ring `ord`), that every venue
 * fill came back over NATS once and that riskd's positions equal the venue's
 * fills. Then the faults: Redis and NATS restarted mid-stream, the venue down
 * (breaker open, HALTED, /health 503, every order journalled, no crash) and
 * back, the venue slow (retries, one fill per order), malformed messages on
 * both buses (counted by reason, the engine trades on). */
#include <check.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <nats/nats.h>

#include "tests/ingest/live_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/venue_fixture.h"

/* momentum's parameters: a 1% move over two ticks flips the target. */
#define LOOKBACK  2
#define THRESHOLD 0.001
#define MAX_POS   3.0
#define NSYM      2
#define MAXREC    16384
#define MAXORD    512

static const char *const symbols[NSYM] = { "BTC-USD", "ETH-USD" };

typedef struct {
    int sym, side;
    double qty;
} want_t;

/* One test's engine and the test's model of what momentum must do. */
typedef struct {
    ingest_fx_t fx;
    int redis_port, nats_port;
    pid_t redis, nats;
    vf_proc_t venue;
    pid_t execd, riskd, strat, ingest;
    char conf[160], journal[160], orders[160], fills[160], jsdir[160];
    redisContext *pub;
    double last[NSYM];         /* the last mid published per symbol */
    double window[NSYM][LOOKBACK + 1];
    int seen[NSYM];
    double target[NSYM], held[NSYM];
    int nwant;
    want_t want[MAXORD];
} live_t;

static live_t L;
static se_order_rec_t ords[MAXREC];
static se_exec_rec_t exes[MAXREC];
static se_risk_rec_t risks[MAXREC];
static se_in_rec_t ins[MAXREC];

/* ---- the venue's files -------------------------------------------------------- */

typedef struct {
    char id[SE_ID_MAX], strategy[SE_STRATEGY_MAX], symbol[SE_SYMBOL_MAX], side[8];
    double qty;
    bool duplicate, cancel;
} venue_req_t;

static venue_req_t reqs[MAXORD * 4];
static se_in_rec_t vfills[MAXORD];

/* Every request of the venue's --orders-file, in the order it answered them. */
static int venue_requests(void)
{
    FILE *f = fopen(L.orders, "r");
    if (!f)
        return 0;
    char line[1024];
    int n = 0;
    while (n < (int)(sizeof reqs / sizeof reqs[0]) && fgets(line, sizeof line, f)) {
        venue_req_t *r = &reqs[n++];
        memset(r, 0, sizeof *r);
        vf_json_str(line, "client_order_id", r->id, sizeof r->id);
        vf_json_str(line, "strategy", r->strategy, sizeof r->strategy);
        vf_json_str(line, "symbol", r->symbol, sizeof r->symbol);
        vf_json_str(line, "side", r->side, sizeof r->side);
        r->qty = vf_json_double(line, "qty");
        r->duplicate = strstr(line, "\"duplicate\":true") != NULL;
        r->cancel = strstr(line, "\"rpc\":\"cancel\"") != NULL;
    }
    fclose(f);
    return n;
}

static int fresh_submits(int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += !reqs[i].duplicate && !reqs[i].cancel;
    return c;
}

/* Every fill of the venue's --fills-file, read with ingest's own validator:
 * the file holds exactly what went out on NATS. */
static int venue_fills(void)
{
    FILE *f = fopen(L.fills, "r");
    if (!f)
        return 0;
    char line[1024];
    int n = 0;
    while (n < MAXORD && fgets(line, sizeof line, f)) {
        val_detail_t why;
        ck_assert_msg(val_fill(line, strcspn(line, "\n"), &vfills[n], &why) == VAL_OK, "venue fill %s: %s", line,
                      why.text);
        n++;
    }
    fclose(f);
    return n;
}

/* ---- starting and stopping ------------------------------------------------------ */

static void venue_start(int port, const char *const *faults)
{
    char redis[64], nats[64];
    snprintf(redis, sizeof redis, "127.0.0.1:%d", L.redis_port);
    snprintf(nats, sizeof nats, "nats://127.0.0.1:%d", L.nats_port);
    const char *args[16] = { "--redis", redis, "--nats", nats, "--fills-file", L.fills, "--orders-file", L.orders };
    int n = 8;
    for (int i = 0; faults && faults[i] && n < 15; i++)
        args[n++] = faults[i];
    args[n] = NULL;
    ck_assert_msg(vf_start_venue(&L.venue, port, args), "venue-sim did not start");
    ifx_register_helper(L.venue.pid);
}

static void write_config(const char *execution)
{
    FILE *f = fopen(L.conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"live\"; idleSpinUs = 0; };\n"
            "strategies = { enabled = [\"momentum\"]; configs = {\n"
            "  momentum = { lookback_period = %d; threshold = %g; max_position = %g; };\n"
            "}; };\n"
            /* HTTP on ports the kernel picks: never a fixed port in tests */
            "strategyd = { httpBasePort = 0; };\n"
            "riskd = { httpPort = 0; };\n"
            "execd = { httpPort = 0; };\n"
            "risk = { maxOrderSize = 100.0; maxPositionSize = 100.0; maxOrderValue = 1000000.0; };\n"
            "ingest = { feed = \"redis\"; httpPort = 0; };\n"
            "redis = { host = \"127.0.0.1\"; port = %d; reconnectMinMs = 50; reconnectMaxMs = 200; };\n"
            "nats = { url = \"nats://127.0.0.1:%d\"; reconnectMinMs = 50; reconnectMaxMs = 200;\n"
            "         jetstream = { enabled = true; stream = \"FILLS\"; durable = \"ingest\"; ackWaitMs = 5000; }; };\n"
            "execution = { target = \"127.0.0.1:%d\"; journalFile = \"%s\"; %s };\n",
            L.fx.set.instance, LOOKBACK, THRESHOLD, MAX_POS, L.redis_port, L.nats_port, L.venue.port, L.journal,
            execution);
    ck_assert_int_eq(fclose(f), 0);
}

static pid_t spawn(const char *prog, const char *strategy)
{
    pid_t pid = pf_spawn(L.conf, prog, strategy);
    ck_assert_int_gt(pid, 0);
    ifx_register_helper(pid);
    return pid;
}

/* A Redis command on the test's own connection; fails the test on an error. */
static long long redis_int(const char *fmt, const char *a, const char *b)
{
    redisReply *r = redisCommand(L.pub, fmt, a, b);
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_INTEGER, "redis: %s", r ? r->str : L.pub->errstr);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void redis_connect(void)
{
    if (L.pub)
        redisFree(L.pub);
    L.pub = redisConnect("127.0.0.1", L.redis_port);
    ck_assert_msg(L.pub && !L.pub->err, "cannot connect to the test's redis-server");
}

/* Clients of the test's Redis subscribed to a pattern (CLIENT LIST: psub=1). */
static int pattern_subscribers(void)
{
    redisReply *r = redisCommand(L.pub, "CLIENT LIST");
    ck_assert_msg(r != NULL && r->type == REDIS_REPLY_STRING, "redis: CLIENT LIST failed");
    int n = 0;
    for (const char *p = r->str; (p = strstr(p, " psub=1 ")) != NULL; p++)
        n++;
    freeReplyObject(r);
    return n;
}

/* Waits until ingest and the venue are both subscribed to md.*. */
static void wait_subscribers(void)
{
    int64_t deadline = clock_mono_ns() + 15 * IFX_SECOND;
    int n = 0;
    while ((n = pattern_subscribers()) < 2 && clock_mono_ns() < deadline)
        usleep(2000);
    ck_assert_msg(n >= 2, "only %d subscriber(s) to md.* after 15 s", n);
}

/* Everything, with the venue's faults and execd's `execution` keys, until
 * every process is attached and both feeds are connected. */
static void start_engine(const char *const *venue_faults, const char *execution)
{
    L.redis = lfx_start_redis(&L.redis_port, NULL);
    L.nats = lfx_start_nats(&L.nats_port, L.jsdir);
    venue_start(0, venue_faults);
    write_config(execution);
    ifx_precreate_in(&L.fx.set);
    L.execd = spawn("execd", NULL);
    L.riskd = spawn("riskd", NULL);
    L.strat = spawn("strategyd", "momentum");
    const char *inst = L.fx.set.instance;
    ck_assert(pf_wait_readers(inst, SE_RING_ORDERS, 1, 20));  /* execd */
    ck_assert(pf_wait_readers(inst, "sig.momentum", 1, 20));  /* riskd */
    ck_assert(pf_wait_readers(inst, SE_RING_IN, 2, 20));      /* riskd, strategy */
    ck_assert(pf_wait_readers(inst, SE_RING_EXEC, 2, 20));    /* riskd, strategy */
    ck_assert(pf_wait_readers(inst, SE_RING_RISK, 1, 20));    /* strategy */
    L.ingest = spawn("ingest", NULL);
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"redis\"}", 1);
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"nats\"}", 1);
    redis_connect();
    wait_subscribers();
}

static void setup(void)
{
    memset(&L, 0, sizeof L);
    ifx_init(&L.fx, "L");
    ifx_path(&L.fx, "live.conf", L.conf, sizeof L.conf);
    ifx_path(&L.fx, "execd.journal", L.journal, sizeof L.journal);
    ifx_path(&L.fx, "venue-orders.jsonl", L.orders, sizeof L.orders);
    ifx_path(&L.fx, "venue-fills.jsonl", L.fills, sizeof L.fills);
    ifx_path(&L.fx, "jetstream", L.jsdir, sizeof L.jsdir);
}

/* Stops whatever is still running (engine first, then the servers). */
static void teardown(void)
{
    pid_t engine[] = { L.strat, L.riskd, L.execd, L.ingest };
    for (int i = 0; i < 4; i++)
        if (engine[i] > 0)
            lfx_stop(engine[i], SIGTERM);
    if (L.venue.pid > 0) {
        char line[1024];
        vf_stop(&L.venue, line, sizeof line);
    }
    if (L.pub)
        redisFree(L.pub);
    if (L.nats > 0)
        lfx_stop(L.nats, SIGTERM);
    if (L.redis > 0)
        lfx_stop(L.redis, SIGTERM);
    ifx_fini(&L.fx);
}

/* Stops the engine in order; each process must exit 0 (no crash, whatever happened). */
static void stop_engine(void)
{
    pid_t all[] = { L.strat, L.riskd, L.execd, L.ingest };
    ck_assert_int_eq(pf_stop(all, 4), 0);
    L.strat = L.riskd = L.execd = L.ingest = 0;
}

/* Fails unless every engine process is still running. */
static void assert_engine_alive(void)
{
    pid_t all[] = { L.strat, L.riskd, L.execd, L.ingest };
    const char *names[] = { "strategyd", "riskd", "execd", "ingest" };
    for (int i = 0; i < 4; i++) {
        int status;
        ck_assert_msg(waitpid(all[i], &status, WNOHANG) == 0, "%s exited (status %#x)", names[i], status);
    }
}

/* ---- the price path and the model ----------------------------------------------- */

/* The test's own momentum (strategyd/builtin_momentum.c's contract): with
 * every order accepted and no cap, each tick that leaves the held quantity
 * short of the target sends one order for the difference. */
static void model_tick(int s, double mid)
{
    double *w = L.window[s];
    memmove(w, w + 1, LOOKBACK * sizeof *w);
    w[LOOKBACK] = mid;
    if (++L.seen[s] <= LOOKBACK)
        return;
    double mom = mid / w[0] - 1;
    if (mom > THRESHOLD)
        L.target[s] = MAX_POS;
    else if (mom < -THRESHOLD)
        L.target[s] = -MAX_POS;
    double delta = L.target[s] - L.held[s];
    if (fabs(delta) < 1e-9)
        return;
    ck_assert_int_lt(L.nwant, MAXORD);
    L.want[L.nwant++] = (want_t){ s, delta > 0 ? SE_SIDE_BUY : SE_SIDE_SELL, fabs(delta) };
    L.held[s] += delta;
}

/* Publishes one quote of symbol s at mid on Redis; the model sees it when
 * model is set (a tick the engine must act on). Returns the receivers. */
static long long publish_quote(int s, double mid, bool model)
{
    char msg[256];
    double bid = mid - 0.01, ask = mid + 0.01;
    snprintf(msg, sizeof msg, "{\"symbol\":\"%s\",\"bid\":%.2f,\"ask\":%.2f,\"bid_size\":5,\"ask_size\":5,\"ts\":%lld}",
             symbols[s], bid, ask, (long long)clock_real_ns());
    char channel[32];
    snprintf(channel, sizeof channel, "md.%s", symbols[s]);
    long long receivers = redis_int("PUBLISH %s %s", channel, msg);
    if (model) {
        /* strategyd's tick price is the mid of the quote as ingest parsed it */
        double b = strtod(strchr(strstr(msg, "\"bid\":"), ':') + 1, NULL);
        double a = strtod(strchr(strstr(msg, "\"ask\":"), ':') + 1, NULL);
        model_tick(s, (b + a) / 2);
    }
    L.last[s] = mid;
    return receivers;
}

/* A scripted walk of n steps per symbol, symbols in turn: runs of three
 * steps of +1% or -1% (so the momentum over two ticks flips at each turn),
 * starting from 100 and 50. */
static void publish_path(int n, int phase)
{
    for (int i = 0; i < n; i++)
        for (int s = 0; s < NSYM; s++) {
            if (L.last[s] == 0)
                L.last[s] = s == 0 ? 100 : 50;
            int leg = ((i + phase + s) / 3) % 2;
            double mid = round(L.last[s] * (leg ? 0.99 : 1.01) * 100) / 100;
            /* ingest, and the venue while it runs */
            ck_assert_int_eq(publish_quote(s, mid, true), L.venue.pid > 0 ? 2 : 1);
        }
}

/* Two ticks per symbol of 1% against momentum's present target: each
 * symbol's target flips, so the strategy wants an order it does not hold. */
static void publish_turn(void)
{
    double step[NSYM];
    for (int s = 0; s < NSYM; s++)
        step[s] = L.target[s] > 0 ? 0.99 : 1.01;
    for (int i = 0; i < 2; i++)
        for (int s = 0; s < NSYM; s++)
            publish_quote(s, round(L.last[s] * step[s] * 100) / 100, true);
}

/* Waits until the venue has answered `want` new orders; returns the requests. */
static int wait_venue_orders(int want, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * IFX_SECOND;
    int n;
    while (fresh_submits(n = venue_requests()) < want && clock_mono_ns() < deadline)
        usleep(5000);
    ck_assert_msg(fresh_submits(n) >= want, "the venue has %d new orders after %d s, want %d", fresh_submits(n),
                  seconds, want);
    /* and execd has its answers: every retry of a slow venue is over */
    ck_assert_msg(vf_exe_wait(L.fx.set.instance, exes, MAXREC, SE_EXEC_ACK, NULL, want, seconds) >= 0,
                  "execd did not acknowledge %d orders within %d s", want, seconds);
    return venue_requests();
}

/* The riskd counter of fills it booked. */
static double riskd_fills(void)
{
    double v = vf_metric(L.fx.set.instance, "riskd", "fills_applied_total");
    return isnan(v) ? 0 : v;
}

/* Waits until riskd has booked `want` fills. */
static void wait_riskd_fills(int want, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * IFX_SECOND;
    while (riskd_fills() < want && clock_mono_ns() < deadline)
        usleep(10000);
    ck_assert_msg(riskd_fills() == want, "riskd booked %g fills, the venue made %d", riskd_fills(), want);
}

/* ---- the checks ------------------------------------------------------------------- */

/* Ring `ord` holds, per symbol and in order, the model's orders; the venue
 * got each of them exactly once as a new order (execd has many calls in
 * flight, so the venue may answer them in another order), every retry it saw
 * was of an order it already had, and it got nothing else. Returns the
 * number of venue requests. */
static int check_orders(void)
{
    int nreq = venue_requests(), nord = pf_read_ring(L.fx.set.instance, SE_RING_ORDERS, ords, sizeof ords[0], MAXREC);
    int next[NSYM] = { 0, 0 }, nnew = 0;
    for (int o = 0; o < nord; o++) {
        const se_order_rec_t *r = &ords[o];
        ck_assert_int_eq(r->action, SE_ACTION_NEW);
        nnew++;
        int s = strcmp(r->symbol, symbols[0]) == 0 ? 0 : 1, w = next[s];
        while (w < L.nwant && L.want[w].sym != s)
            w++;
        ck_assert_msg(w < L.nwant, "order %s (%s) is one the model does not expect", r->client_order_id, r->symbol);
        next[s] = w + 1;
        ck_assert_msg(r->side == L.want[w].side && fabs(r->qty - L.want[w].qty) < 1e-9,
                      "order %s %s: side %d qty %g, the model's: side %d qty %g", r->client_order_id, r->symbol,
                      r->side, r->qty, L.want[w].side, L.want[w].qty);
        int fresh = 0;
        for (int i = 0; i < nreq; i++) {
            const venue_req_t *q = &reqs[i];
            if (strcmp(q->id, r->client_order_id) != 0 || q->duplicate)
                continue;
            fresh++;
            ck_assert_str_eq(q->strategy, "momentum");
            ck_assert_str_eq(q->symbol, r->symbol);
            ck_assert_str_eq(q->side, r->side == SE_SIDE_BUY ? "buy" : "sell");
            ck_assert_double_eq_tol(q->qty, r->qty, 1e-9);
        }
        ck_assert_msg(fresh == 1, "order %s reached the venue as a new order %d times", r->client_order_id, fresh);
    }
    ck_assert_msg(nnew == L.nwant, "ring ord has %d orders, the model expects %d", nnew, L.nwant);
    for (int i = 0; i < nreq; i++) {
        const venue_req_t *q = &reqs[i];
        ck_assert(!q->cancel);
        bool known = false, in_ord = false;
        for (int j = 0; j < i && !known; j++)
            known = strcmp(reqs[j].id, q->id) == 0;
        ck_assert_msg(known == q->duplicate, "%s: duplicate %d but seen before %d", q->id, q->duplicate, known);
        for (int o = 0; o < nord && !in_ord; o++)
            in_ord = strcmp(ords[o].client_order_id, q->id) == 0;
        ck_assert_msg(in_ord, "the venue got %s, which riskd never approved", q->id);
    }
    return nreq;
}

/* momentum's position in symbol s as riskd last said it on ring `risk`. */
static double riskd_position(int s)
{
    int nrisk = pf_read_ring(L.fx.set.instance, SE_RING_RISK, risks, sizeof risks[0], MAXREC);
    double qty = 0;
    for (int k = 0; k < nrisk; k++)
        if ((risks[k].kind == SE_RISK_POSITION || risks[k].kind == SE_RISK_SNAPSHOT) &&
            strcmp(risks[k].strategy, "momentum") == 0 && strcmp(risks[k].symbol, symbols[s]) == 0)
            qty = risks[k].qty;
    return qty;
}

/* The venue made one fill per new order it accepted; each came back into
 * ring `in` exactly once; riskd's last position per symbol is the sum of the
 * venue's fills. Returns the number of fills. */
static int check_fills_and_positions(void)
{
    int nfill = venue_fills(), nreq = venue_requests();
    ck_assert_int_eq(nfill, fresh_submits(nreq));
    wait_riskd_fills(nfill, 30);
    int nin = pf_read_ring(L.fx.set.instance, SE_RING_IN, ins, sizeof ins[0], MAXREC);
    double sum[NSYM] = { 0, 0 };
    for (int f = 0; f < nfill; f++) {
        const se_fill_t *vf = &vfills[f].u.fill;
        int copies = 0;
        for (int i = 0; i < nin; i++)
            copies += ins[i].kind == SE_IN_FILL && strcmp(ins[i].u.fill.fill_id, vf->fill_id) == 0;
        ck_assert_msg(copies == 1, "venue fill %s is %d times in ring in", vf->fill_id, copies);
        int per_order = 0;
        for (int g = 0; g < nfill; g++)
            per_order += strcmp(vfills[g].u.fill.client_order_id, vf->client_order_id) == 0;
        ck_assert_msg(per_order == 1, "order %s filled %d times", vf->client_order_id, per_order);
        sum[strcmp(vfills[f].symbol, symbols[0]) == 0 ? 0 : 1] += vf->side == SE_SIDE_SELL ? -vf->qty : vf->qty;
    }
    for (int s = 0; s < NSYM; s++) {
        /* riskd counts a fill as it books it and tells the strategy after:
         * give its POSITION record the moment to land. */
        int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
        double riskd_qty;
        while (fabs((riskd_qty = riskd_position(s)) - sum[s]) >= 1e-9 && clock_mono_ns() < deadline)
            usleep(2000);
        ck_assert_msg(fabs(riskd_qty - sum[s]) < 1e-9, "%s: riskd holds %g, the venue filled %g", symbols[s],
                      riskd_qty, sum[s]);
        ck_assert_msg(fabs(sum[s] - L.held[s]) < 1e-9, "%s: venue fills %g, model %g", symbols[s], sum[s], L.held[s]);
    }
    /* One ACK per order on ring exe, never two. */
    int nexe = pf_read_ring(L.fx.set.instance, SE_RING_EXEC, exes, sizeof exes[0], MAXREC);
    for (int f = 0; f < nfill; f++) {
        int acks = 0;
        for (int e = 0; e < nexe; e++)
            acks += exes[e].kind == SE_EXEC_ACK && strcmp(exes[e].client_order_id, vfills[f].u.fill.client_order_id) == 0;
        ck_assert_msg(acks == 1, "order %s acknowledged %d times", vfills[f].u.fill.client_order_id, acks);
    }
    return nfill;
}

/* After a fault: the model's orders reach the venue, the engine settles, and
 * orders, fills and positions check out with every process still running. */
static void trade_on_and_check(void)
{
    wait_venue_orders(L.nwant, 30);
    ck_assert(pf_wait_quiet(L.fx.set.instance, 30));
    check_orders();
    check_fills_and_positions();
    assert_engine_alive();
    stop_engine();
}

/* ---- the tests -------------------------------------------------------------------- */

START_TEST(price_path_should_reach_the_venue_as_the_expected_orders_and_come_back_as_fills)
{
    start_engine(NULL, "");
    publish_path(12, 0);
    ck_assert_int_gt(L.nwant, 4);
    wait_venue_orders(L.nwant, 30);
    ck_assert_msg(pf_wait_quiet(L.fx.set.instance, 30), "the engine did not settle");
    int nreq = check_orders();
    ck_assert_int_eq(nreq, L.nwant); /* not one retry on a healthy venue */
    check_fills_and_positions();
    ck_assert_int_eq(vf_file_lines(L.journal, "S\t"), L.nwant);
    ck_assert_int_eq(vf_file_lines(L.journal, "A\t"), L.nwant);
    stop_engine();
}
END_TEST

START_TEST(redis_restarted_midstream_should_be_resubscribed_and_trading_go_on)
{
    start_engine(NULL, "");
    publish_path(6, 0);
    wait_venue_orders(L.nwant, 30);
    int before = L.nwant;
    /* Redis dies without a word and comes back on the same port. */
    ck_assert_int_eq(lfx_stop(L.redis, SIGKILL), 128 + SIGKILL);
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"redis\"}", 0);
    L.redis = lfx_start_redis(&L.redis_port, NULL);
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"redis\"}", 1);
    ck_assert_int_eq(lfx_metric(&L.fx.set, "feed_disconnects_total{feed=\"redis\"}"), 1);
    redis_connect();
    wait_subscribers(); /* ingest and the venue subscribed again */
    publish_path(6, 1);
    ck_assert_int_gt(L.nwant, before);
    trade_on_and_check();
}
END_TEST

/* JetStream: the venue's fills published while NATS is down wait in its
 * client's reconnect buffer, go into the stream when the server is back (with
 * its store), and reach riskd: every fill, not only those after the restart. */
START_TEST(nats_restarted_should_deliver_every_fill_through_jetstream)
{
    start_engine(NULL, "");
    publish_path(6, 0);
    wait_venue_orders(L.nwant, 30);
    wait_riskd_fills(venue_fills(), 30);
    lfx_stop(L.nats, SIGTERM); /* nats-server exits 1 on SIGTERM */
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"nats\"}", 0);
    int before = L.nwant;
    publish_path(6, 1); /* orders go on over gRPC; their fills wait */
    ck_assert_int_gt(L.nwant, before);
    wait_venue_orders(L.nwant, 30);
    L.nats = lfx_start_nats(&L.nats_port, L.jsdir);
    lfx_wait_metric(&L.fx.set, L.ingest, "feed_connected{feed=\"nats\"}", 1);
    check_orders();
    check_fills_and_positions();
    assert_engine_alive();
    stop_engine();
}
END_TEST

/* Publishes the latest quote of each symbol again until pred holds (each
 * quote is a new chance for momentum to send what it still wants); fails
 * after `seconds`. */
static void nudge_until(bool (*pred)(void), int seconds, const char *what)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * IFX_SECOND;
    while (!pred()) {
        ck_assert_msg(clock_mono_ns() < deadline, "%s: not after %d s", what, seconds);
        for (int s = 0; s < NSYM; s++)
            publish_quote(s, L.last[s], false);
        int64_t until = clock_mono_ns() + 50000000;
        while (!pred() && clock_mono_ns() < until)
            usleep(2000);
    }
}

static int last_state(const char **rule)
{
    int n = pf_read_ring(L.fx.set.instance, SE_RING_RISK, risks, sizeof risks[0], MAXREC), state = -1;
    for (int k = 0; k < n; k++)
        if (risks[k].kind == SE_RISK_STATE) {
            state = risks[k].state;
            if (rule)
                *rule = risks[k].rule;
        }
    return state;
}

static bool halted(void) { return last_state(NULL) == SE_TRADING_HALTED; }
static bool active(void) { return last_state(NULL) == SE_TRADING_ACTIVE; }
/* riskd holds what the model's momentum wants in every symbol. */
static bool at_target(void)
{
    for (int s = 0; s < NSYM; s++)
        if (fabs(riskd_position(s) - L.target[s]) > 1e-9)
            return false;
    return true;
}

/* The client_order_ids of lines of the journal starting with kind ("S" or "A"). */
static bool journal_has(const char *kind, const char *id)
{
    FILE *f = fopen(L.journal, "r");
    ck_assert_ptr_nonnull(f);
    char line[2048], want[80];
    int n = snprintf(want, sizeof want, "%s\tnew\t%s\t", kind, id);
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strncmp(line, want, (size_t)n) == 0;
    fclose(f);
    return found;
}

START_TEST(venue_down_should_halt_trading_without_a_lost_order_and_back_should_resume_it)
{
    start_engine(NULL, "timeoutMs = 300; maxRetries = 1; retryBackoffMs = 5; maxConsecutiveFailures = 2;"
                       " breakerCooldownMs = 200;");
    int port = tc_http_port(L.fx.set.instance, "riskd", 20);
    ck_assert_int_gt(port, 0);
    publish_path(6, 0);
    wait_venue_orders(L.nwant, 30);
    int venue_port = L.venue.port;
    char line[1024];
    kill(L.venue.pid, SIGKILL);
    vf_stop(&L.venue, line, sizeof line);
    L.venue.pid = 0;
    /* The market turns: momentum sends, execd fails, the breaker opens. */
    publish_turn();
    nudge_until(halted, 30, "riskd HALTED");
    const char *rule = "";
    last_state(&rule);
    ck_assert_str_eq(rule, "venue_down");
    /* The failed orders that opened it are refused on `exe` (the breaker may
     * open before the last of their reports is written). */
    int nexe = vf_exe_wait(L.fx.set.instance, exes, MAXREC, SE_EXEC_REJECT, "venue_unavailable", 2, 20);
    ck_assert_int_ge(nexe, 0);
    ck_assert_int_eq(vf_exe_count(exes, nexe, SE_EXEC_VENUE, "circuit_open"), 1);
    char body[1024];
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0), 503);
    ck_assert_msg(strstr(body, "HALTED") && strstr(body, "venue_down"), "%s", body);
    assert_engine_alive();
    /* Every order riskd approved is in the journal with its answer. */
    int nord = pf_read_ring(L.fx.set.instance, SE_RING_ORDERS, ords, sizeof ords[0], MAXREC);
    for (int o = 0; o < nord; o++) {
        ck_assert_msg(journal_has("S", ords[o].client_order_id), "order %s not journalled", ords[o].client_order_id);
        ck_assert_msg(journal_has("A", ords[o].client_order_id), "order %s has no answer in the journal",
                      ords[o].client_order_id);
    }
    ck_assert_int_eq(vf_file_lines(L.journal, "S\t"), nord);
    /* The venue is back on its port: the probe closes the circuit, riskd
     * trades again, and what momentum still wants reaches the venue. */
    venue_start(venue_port, NULL);
    nudge_until(active, 30, "riskd ACTIVE again");
    nexe = pf_read_ring(L.fx.set.instance, SE_RING_EXEC, exes, sizeof exes[0], MAXREC);
    ck_assert_int_eq(vf_exe_count(exes, nexe, SE_EXEC_VENUE, "circuit_closed"), 1);
    ck_assert(!at_target());
    nudge_until(at_target, 30, "the positions momentum wants, from the restarted venue");
    ck_assert(pf_wait_quiet(L.fx.set.instance, 30));
    /* The orders refused while it was down were never at the venue: the
     * positions are what the venue filled, and what momentum wanted. */
    int nfill = venue_fills();
    ck_assert_int_eq(nfill, fresh_submits(venue_requests()));
    wait_riskd_fills(nfill, 30);
    for (int s = 0; s < NSYM; s++)
        L.held[s] = L.target[s]; /* the model's target is met once the retried orders fill */
    check_fills_and_positions();
    ck_assert_int_eq(tc_http(port, "GET", "/health", NULL, body, sizeof body, NULL, 0), 200);
    stop_engine();
}
END_TEST

START_TEST(venue_slow_should_be_retried_with_the_same_id_and_fill_once)
{
    const char *slow[] = { "--delay-ms", "400", NULL };
    start_engine(slow, "timeoutMs = 150; maxRetries = 3; retryBackoffMs = 10;");
    publish_path(6, 0);
    wait_venue_orders(L.nwant, 60);
    ck_assert(pf_wait_quiet(L.fx.set.instance, 60));
    int nreq = check_orders();
    ck_assert_msg(nreq > L.nwant, "the venue saw %d requests for %d orders: no retry", nreq, L.nwant);
    for (int i = 0; i < nreq; i++) /* every order was retried at least once */
        if (!reqs[i].duplicate) {
            int copies = 0;
            for (int j = 0; j < nreq; j++)
                copies += strcmp(reqs[j].id, reqs[i].id) == 0;
            ck_assert_msg(copies >= 2, "order %s reached the venue %d time(s)", reqs[i].id, copies);
        }
    check_fills_and_positions();
    ck_assert_int_gt(vf_metric(L.fx.set.instance, "execd", "execution_retries_total"), 0);
    stop_engine();
}
END_TEST

static void nats_publish(natsConnection *nc, const char *subject, const char *msg)
{
    ck_assert_int_eq(natsConnection_PublishString(nc, subject, msg), NATS_OK);
}

START_TEST(malformed_messages_on_both_buses_should_be_counted_and_trading_go_on)
{
    start_engine(NULL, "");
    publish_path(4, 0);
    /* Redis: not JSON, a crossed quote, a symbol of 16 bytes. */
    ck_assert_int_eq(redis_int("PUBLISH %s %s", "md.BTC-USD", "{\"symbol\":\"BTC-USD\",\"bid\":"), 2);
    ck_assert_int_eq(redis_int("PUBLISH %s %s", "md.BTC-USD", "{\"symbol\":\"BTC-USD\",\"bid\":101,\"ask\":100}"), 2);
    ck_assert_int_eq(redis_int("PUBLISH %s %s", "md.X", "{\"symbol\":\"ABCDEFGHIJKLMNOP\",\"last\":1}"), 2);
    /* NATS (into the stream): a bad side, no fill_id, a fill_id of 48 bytes. */
    natsConnection *nc = NULL;
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", L.nats_port);
    ck_assert_int_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
    nats_publish(nc, "fills.BTC-USD", "{\"fill_id\":\"x-1\",\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\","
                                      "\"side\":\"up\",\"qty\":1,\"price\":100}");
    nats_publish(nc, "fills.BTC-USD", "{\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\",\"side\":\"buy\","
                                      "\"qty\":1,\"price\":100}");
    nats_publish(nc, "fills.BTC-USD", "{\"fill_id\":\"0123456789012345678901234567890123456789012345678\","
                                      "\"client_order_id\":\"c\",\"symbol\":\"BTC-USD\",\"side\":\"buy\",\"qty\":1,"
                                      "\"price\":100}");
    ck_assert_int_eq(natsConnection_FlushTimeout(nc, 5000), NATS_OK);
    natsConnection_Destroy(nc);
    const char *reasons[] = { "bad_json", "crossed", "bad_symbol", "bad_side", "missing_field", "bad_id" };
    for (int i = 0; i < 6; i++) {
        char series[96];
        snprintf(series, sizeof series, "market_data_dropped_total{reason=\"%s\"}", reasons[i]);
        lfx_wait_metric(&L.fx.set, L.ingest, series, 1);
    }
    /* The engine trades on as if nothing had come. */
    publish_path(8, 1);
    trade_on_and_check();
}
END_TEST

int main(void)
{
    ifx_registry_create();
    Suite *s = suite_create("live");
    TCase *tc = tcase_create("engine");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, price_path_should_reach_the_venue_as_the_expected_orders_and_come_back_as_fills);
    tcase_add_test(tc, redis_restarted_midstream_should_be_resubscribed_and_trading_go_on);
    tcase_add_test(tc, nats_restarted_should_deliver_every_fill_through_jetstream);
    tcase_add_test(tc, venue_down_should_halt_trading_without_a_lost_order_and_back_should_resume_it);
    tcase_add_test(tc, venue_slow_should_be_retried_with_the_same_id_and_fill_once);
    tcase_add_test(tc, malformed_messages_on_both_buses_should_be_counted_and_trading_go_on);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ifx_registry_cleanup();
    return failed ? 1 : 0;
}
