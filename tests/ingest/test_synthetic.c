/* test_synthetic.c -- check suite for ingest/synthetic: the seeded random walk
 * (reproducible, well-formed quotes, the configured volatility), its
 * configuration errors, and synth_run publishing through the publisher into
 * ring `in` (counts, order, stats, pacing, stopping). In-process; each test
 * has its own instance "t<pid>-ing". */
#include "ingest/synthetic.h"

#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "ingest/publisher.h"
#include "tests/ingest/ingest_fixture.h"

static ingest_fx_t fx;

static void setup(void)
{
    ifx_init(&fx, "ing");
}

static void teardown(void)
{
    ifx_fini(&fx);
}

/* The defaults (no config file), which every test then adjusts. */
static synth_config_t defaults(void)
{
    synth_config_t c;
    ck_assert_int_eq(synth_config(NULL, &c), 0);
    return c;
}

static void set_symbols(synth_config_t *c, int n, const char *const *syms)
{
    c->nsymbols = n;
    for (int i = 0; i < n; i++)
        snprintf(c->symbols[i], SE_SYMBOL_MAX, "%s", syms[i]);
}

/* ---- the walk ------------------------------------------------------------ */

START_TEST(same_seed_should_give_the_same_quotes_and_another_seed_other_quotes)
{
    synth_config_t c = defaults();
    c.seed = 7;
    synth_t a, b, other;
    synth_init(&a, &c);
    synth_init(&b, &c);
    c.seed = 8;
    synth_init(&other, &c);
    int differ = 0;
    for (int i = 0; i < 5000; i++) {
        se_in_rec_t ra, rb, ro;
        synth_next(&a, &ra);
        synth_next(&b, &rb);
        synth_next(&other, &ro);
        ifx_assert_same_quote(&ra, &rb, false, "same seed, quote", i);
        /* Everything but the timestamps, to the last byte (padding included). */
        ra.ts_source_ns = rb.ts_source_ns = 0;
        IFX_CHECK(memcmp(&ra, &rb, sizeof ra) == 0, "same seed, quote %d differs in its bytes", i);
        /* The symbol order does not depend on the seed. */
        IFX_CHECK(strcmp(ro.symbol, ra.symbol) == 0, "quote %d: %.16s vs %.16s", i, ro.symbol, ra.symbol);
        differ += ro.u.quote.bid != ra.u.quote.bid || ro.u.quote.bid_size != ra.u.quote.bid_size;
    }
    ck_assert_msg(differ > 4500, "seeds 7 and 8 gave %d different quotes of 5000", differ);
}
END_TEST

/* Configurations the invariants must hold for: the defaults, a fine grid on a
 * high price, a wide spread, and a price that walks down into the tick floor
 * (bid clamped to one tick, about 180 times in 20000 quotes). */
typedef struct {
    const char *name;
    double start_price, tick_size, spread_bps, volatility;
    int nsymbols;
} walk_case_t;

static const walk_case_t walks[] = {
    { "defaults", 100, 0.01, 2, 0.0005, 3 },
    { "fine grid", 65000, 1e-6, 0.5, 0.001, 2 },
    { "wide spread", 20, 0.05, 500, 0.002, 5 },
    { "at the tick floor", 0.03, 0.01, 2, 0.05, 1 },
};

#define ALL_FLAGS (SE_QUOTE_HAS_BIDASK | SE_QUOTE_HAS_LAST | SE_QUOTE_HAS_SIZES | SE_QUOTE_HAS_VOLUME)

static bool on_grid(double price, double tick)
{
    double k = round(price / tick);
    return fabs(price - k * tick) <= 1e-9 * price;
}

START_TEST(every_quote_should_be_a_positive_uncrossed_quote_on_the_tick_grid)
{
    const walk_case_t *w = &walks[_i];
    static const char *const syms[] = { "AAA", "BB-B", "C.C", "D:D", "E/E" };
    synth_config_t c = defaults();
    set_symbols(&c, w->nsymbols, syms);
    c.start_price = w->start_price;
    c.tick_size = w->tick_size;
    c.spread_bps = w->spread_bps;
    c.volatility = w->volatility;
    synth_t s;
    synth_init(&s, &c);
    int last_at_bid = 0, last_at_ask = 0;
    for (int i = 0; i < 20000; i++) {
        se_in_rec_t r;
        memset(&r, 0xa5, sizeof r);
        synth_next(&s, &r);
        const se_quote_t *q = &r.u.quote;
        IFX_CHECK(r.kind == SE_IN_QUOTE && r.flags == ALL_FLAGS, "%s: quote %d: kind %u flags %#x", w->name, i,
                  r.kind, r.flags);
        IFX_CHECK(strcmp(r.symbol, syms[i % w->nsymbols]) == 0, "%s: quote %d is for %.16s, want %s", w->name, i,
                  r.symbol, syms[i % w->nsymbols]);
        IFX_CHECK(q->bid > 0 && q->bid < q->ask, "%s: quote %d: bid %.17g ask %.17g", w->name, i, q->bid, q->ask);
        IFX_CHECK(on_grid(q->bid, w->tick_size) && on_grid(q->ask, w->tick_size),
                  "%s: quote %d off the %g grid: %.17g/%.17g", w->name, i, w->tick_size, q->bid, q->ask);
        /* The spread is spreadBps of the (hidden) mid, which lies between
         * bid and ask, widened outwards to the grid: at least one tick. */
        double spread = q->ask - q->bid;
        double lo = fmax(q->bid * w->spread_bps / 1e4, w->tick_size);
        double hi = q->ask * w->spread_bps / 1e4 + 2 * w->tick_size;
        IFX_CHECK(spread >= lo * (1 - 1e-9) && spread <= hi * (1 + 1e-9),
                  "%s: quote %d: spread %.17g outside [%.17g, %.17g]", w->name, i, spread, lo, hi);
        IFX_CHECK(q->bid_size > 0 && q->ask_size > 0 && q->volume > 0, "%s: quote %d: sizes %g/%g volume %g",
                  w->name, i, q->bid_size, q->ask_size, q->volume);
        IFX_CHECK(q->last == q->bid || q->last == q->ask, "%s: quote %d: last %.17g is neither %.17g nor %.17g",
                  w->name, i, q->last, q->bid, q->ask);
        last_at_bid += q->last == q->bid;
        last_at_ask += q->last == q->ask;
        /* ts_ingest_ns and source_seq are the publisher's to set. */
        IFX_CHECK(r.ts_source_ns > 0 && r.ts_ingest_ns == 0 && r.source_seq == 0,
                  "%s: quote %d: ts_source %lld ts_ingest %lld source_seq %u", w->name, i,
                  (long long)r.ts_source_ns, (long long)r.ts_ingest_ns, r.source_seq);
    }
    ck_assert_msg(last_at_bid > 9000 && last_at_ask > 9000, "%s: last at bid %d, at ask %d times", w->name,
                  last_at_bid, last_at_ask);
}
END_TEST

static const double vols[] = { 0.0005, 0.004 };

START_TEST(walk_should_have_the_configured_volatility)
{
    static const char *const syms[] = { "X", "Y" };
    synth_config_t c = defaults();
    set_symbols(&c, 2, syms);
    c.volatility = vols[_i];
    c.start_price = 1000;
    c.tick_size = 1e-6; /* fine enough that the grid adds no visible noise */
    c.spread_bps = 0.01;
    synth_t s;
    synth_init(&s, &c);
    double prev[2] = { 0, 0 }, sum = 0, sum2 = 0;
    int n = 0;
    for (int i = 0; i < 20000; i++) {
        se_in_rec_t r;
        synth_next(&s, &r);
        int k = i % 2;
        double mid = (r.u.quote.bid + r.u.quote.ask) / 2;
        if (prev[k] > 0) {
            double x = log(mid / prev[k]);
            sum += x;
            sum2 += x * x;
            n++;
        }
        prev[k] = mid;
    }
    double mean = sum / n;
    double sd = sqrt((sum2 - n * mean * mean) / (n - 1));
    ck_assert_msg(fabs(sd / c.volatility - 1) < 0.05, "volatility %g: sample stdev of %d log returns is %g",
                  c.volatility, n, sd);
    /* A random walk: no drift worth the name (20 standard errors would be). */
    ck_assert_msg(fabs(mean) < 20 * c.volatility / sqrt(n), "mean log return %g", mean);
}
END_TEST

/* ---- configuration ------------------------------------------------------- */

/* Runs synth_config on a config file holding text. Returns its code, with
 * se_errmsg() in msg (cfg is closed before anything is asserted, so that a
 * failing test leaks nothing under CK_FORK=no). */
static int config_from(const char *text, synth_config_t *c, char *msg, size_t msg_size)
{
    char path[160];
    ifx_path(&fx, "synth.conf", path, sizeof path);
    ifx_write(path, text, strlen(text));
    cfg_t *cfg = NULL;
    ck_assert_msg(cfg_open(&cfg, path) == 0, "%s", se_errmsg());
    int rc = synth_config(cfg, c); /* copies the symbols: c outlives cfg */
    snprintf(msg, msg_size, "%s", rc < 0 ? se_errmsg() : "");
    cfg_close(cfg);
    return rc;
}

START_TEST(config_should_read_every_key)
{
    synth_config_t c;
    char msg[512];
    int rc = config_from("ingest = { synthetic = {\n"
                         "  symbols = [\"A-1\", \"B.2\"];\n"
                         "  ratePerSecond = 250.0; volatility = 0.01; spreadBps = 7.5;\n"
                         "  startPrice = 42.0; tickSize = 0.5; seed = 99; maxRecords = 1234;\n"
                         "}; };\n",
                         &c, msg, sizeof msg);
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_int_eq(c.nsymbols, 2);
    ck_assert_str_eq(c.symbols[0], "A-1");
    ck_assert_str_eq(c.symbols[1], "B.2");
    ck_assert_double_eq(c.rate, 250);
    ck_assert_double_eq(c.volatility, 0.01);
    ck_assert_double_eq(c.spread_bps, 7.5);
    ck_assert_double_eq(c.start_price, 42);
    ck_assert_double_eq(c.tick_size, 0.5);
    ck_assert_uint_eq(c.seed, 99);
    ck_assert_uint_eq(c.max_records, 1234);

    c = defaults(); /* no file: three symbols, 1000/s, forever */
    ck_assert_int_eq(c.nsymbols, 3);
    ck_assert_str_eq(c.symbols[0], "BTC-USD");
    ck_assert_double_eq(c.rate, 1000);
    ck_assert_uint_eq(c.max_records, 0);
}
END_TEST

/* A bad value on line 2 of the file, and what the message must say after
 * "FILE:2: KEY". */
typedef struct {
    const char *name;
    const char *line2;
    const char *key;
    const char *detail;
} bad_config_t;

static const bad_config_t bad_configs[] = {
    { "symbols not a list", "  symbols = \"BTC-USD\";\n", "ingest.synthetic.symbols",
      "expected a list of strings" },
    { "a symbol not a string", "  symbols = (\"BTC-USD\", 5);\n", "ingest.synthetic.symbols", "element 1" },
    { "a 16-byte symbol", "  symbols = [\"BTC-USD\", \"ABCDEFGHIJKLMNOP\"];\n", "ingest.synthetic.symbols",
      "'ABCDEFGHIJKLMNOP' must be 1-15 bytes" },
    { "an empty symbol", "  symbols = [\"\"];\n", "ingest.synthetic.symbols", "1-15 bytes" },
    { "a negative rate", "  ratePerSecond = -1.0;\n", "ingest.synthetic.ratePerSecond", "-1 is out of range" },
    { "a negative volatility", "  volatility = -0.1;\n", "ingest.synthetic.volatility", "out of range" },
    { "a zero tick", "  tickSize = 0.0;\n", "ingest.synthetic.tickSize", "out of range" },
    { "a negative seed", "  seed = -1;\n", "ingest.synthetic.seed", "out of range" },
    { "a rate as a string", "  ratePerSecond = \"fast\";\n", "ingest.synthetic.ratePerSecond",
      "expected a number" },
    { "65 symbols", NULL, "ingest.synthetic.symbols", "65 symbols, at most 64" },
};

START_TEST(config_errors_should_name_file_line_and_key)
{
    const bad_config_t *b = &bad_configs[_i];
    char line2[2048];
    if (b->line2)
        snprintf(line2, sizeof line2, "%s", b->line2);
    else { /* one symbol more than SYNTH_MAX_SYMBOLS, all on line 2 */
        strcpy(line2, "  symbols = [");
        for (int i = 0; i <= SYNTH_MAX_SYMBOLS; i++)
            sprintf(line2 + strlen(line2), "%s\"S%d\"", i ? ", " : "", i);
        strcat(line2, "];\n");
    }
    char text[4096], want[256], msg[512];
    snprintf(text, sizeof text, "ingest = { synthetic = {\n%s}; };\n", line2);
    synth_config_t c;
    int rc = config_from(text, &c, msg, sizeof msg);
    snprintf(want, sizeof want, "%s/synth.conf:2: %s: ", fx.dir, b->key);
    ck_assert_msg(rc == SE_ECONFIG, "%s: got %d (%s)", b->name, rc, msg);
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "%s: \"%s\" does not start with \"%s\"", b->name, msg,
                  want);
    ck_assert_msg(strstr(msg, b->detail) != NULL, "%s: \"%s\" lacks \"%s\"", b->name, msg, b->detail);
}
END_TEST

START_TEST(config_should_take_64_symbols_of_15_bytes)
{
    char text[4096] = "ingest = { synthetic = { symbols = [", msg[512];
    for (int i = 0; i < SYNTH_MAX_SYMBOLS; i++)
        sprintf(text + strlen(text), "%s\"SYMBOL-%07d\"", i ? ", " : "", i);
    strcat(text, "]; }; };\n");
    synth_config_t c;
    ck_assert_msg(config_from(text, &c, msg, sizeof msg) == 0, "%s", msg);
    ck_assert_int_eq(c.nsymbols, SYNTH_MAX_SYMBOLS);
    ck_assert_str_eq(c.symbols[63], "SYMBOL-0000063");
}
END_TEST

/* Every feed's records meet the validator's contract (validate.h: "symbols:
 * 1..15 bytes of [A-Za-z0-9._:/-]"). A synthetic symbol outside it would
 * reach ring `in` unchecked, and a `shmtool record` of the session would
 * replay to nothing but bad_symbol drops: it is refused at start-up. */
static const char *const unreplayable_symbols[] = { "BTC USD", "BTC\\\"USD", "ÄÖÜ", "a,b" };

START_TEST(config_should_refuse_a_symbol_the_validator_would_drop)
{
    char text[256], msg[512];
    snprintf(text, sizeof text, "ingest = { synthetic = {\n  symbols = [\"%s\"];\n}; };\n",
             unreplayable_symbols[_i]);
    synth_config_t c;
    int rc = config_from(text, &c, msg, sizeof msg);
    ck_assert_msg(rc == SE_ECONFIG, "symbol '%s' accepted (rc %d)", c.symbols[0], rc);
    ck_assert_msg(strstr(msg, ":2: ingest.synthetic.symbols: ") != NULL, "%s", msg);
}
END_TEST

/* ---- synth_run through the publisher ------------------------------------- */

static void open_publisher(publisher_t *p)
{
    ck_assert_msg(publisher_open(p, NULL, &fx.set) == 0, "%s", se_errmsg());
}

START_TEST(run_should_publish_exactly_max_records_in_order_and_count_them)
{
    enum { N = 10000 };
    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    synth_config_t c = defaults();
    c.rate = 0;
    c.max_records = N;
    c.seed = 1234;
    static volatile sig_atomic_t stop;
    int64_t before = clock_real_ns();
    ck_assert_int_eq(synth_run(&c, &p, &stop), 0);
    publisher_close(&p);

    static se_in_rec_t got[N + 1];
    ck_assert_int_eq(ifx_read(&r, got, N + 1, 0), N);
    synth_t s;
    synth_init(&s, &c);
    for (int i = 0; i < N; i++) {
        se_in_rec_t want;
        synth_next(&s, &want);
        ifx_assert_same_quote(&got[i], &want, false, "ring record", i);
        IFX_CHECK(got[i].source_seq == (uint32_t)i + 1, "record %d has source_seq %u", i, got[i].source_seq);
        IFX_CHECK(got[i].ts_source_ns >= before && got[i].ts_ingest_ns >= got[i].ts_source_ns &&
                      (i == 0 || got[i].ts_source_ns >= got[i - 1].ts_source_ns),
                  "record %d: ts_source %lld ts_ingest %lld (previous ts_source %lld, start %lld)", i,
                  (long long)got[i].ts_source_ns, (long long)got[i].ts_ingest_ns,
                  (long long)(i ? got[i - 1].ts_source_ns : 0), (long long)before);
    }
    ck_assert_uint_eq(shm__load_acquire(&r.seg.hdr->prod_seq), N);
    shm_reader_close(&r);
    ck_assert_int_eq(ifx_metric(&fx.set, "market_data_received_total"), N);
    ck_assert_int_eq(ifx_metric(&fx.set, "market_data_dropped_total{reason=\"bad_json\"}"), 0);
}
END_TEST

START_TEST(restarted_run_should_continue_the_source_sequence)
{
    synth_config_t c = defaults();
    c.rate = 0;
    c.max_records = 100;
    static volatile sig_atomic_t stop;
    publisher_t p;
    open_publisher(&p);
    ck_assert_int_eq(synth_run(&c, &p, &stop), 0);
    publisher_close(&p);

    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    ck_assert_int_eq(synth_run(&c, &p, &stop), 0);
    publisher_close(&p);
    se_in_rec_t got[101];
    ck_assert_int_eq(ifx_read(&r, got, 101, 0), 100);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(got[i].source_seq, 101 + (uint32_t)i);
    shm_reader_close(&r);
    ck_assert_int_eq(ifx_metric(&fx.set, "market_data_received_total"), 200);
}
END_TEST

START_TEST(run_should_pace_records_at_the_configured_rate)
{
    /* 200 records at 2000/s: record i is due i/2000 s after the start, so the
     * last one not before 99.5 ms. A lower bound only: a slow machine may
     * take longer, never shorter. */
    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    synth_config_t c = defaults();
    c.rate = 2000;
    c.max_records = 200;
    static volatile sig_atomic_t stop;
    int64_t t0 = clock_mono_ns();
    ck_assert_int_eq(synth_run(&c, &p, &stop), 0);
    int64_t took = clock_mono_ns() - t0;
    publisher_close(&p);
    ck_assert_msg(took >= 95000000, "200 records at 2000/s took only %.1f ms", (double)took / 1e6);
    se_in_rec_t got[201];
    ck_assert_int_eq(ifx_read(&r, got, 201, 0), 200);
    /* Spread out, not bunched at the end: record 100 left about 50 ms after record 0. */
    ck_assert_msg(got[100].ts_ingest_ns - got[0].ts_ingest_ns >= 45000000, "record 100 after %.1f ms",
                  (double)(got[100].ts_ingest_ns - got[0].ts_ingest_ns) / 1e6);
    shm_reader_close(&r);
}
END_TEST

typedef struct {
    synth_config_t c;
    publisher_t *p;
    volatile sig_atomic_t stop;
    int rc;
} run_job_t;

static void *run_thread(void *arg)
{
    run_job_t *j = arg;
    j->rc = synth_run(&j->c, j->p, &j->stop);
    return NULL;
}

static const double stop_rates[] = { 1000, 0 }; /* paced (sleeps between records), and flat out */

START_TEST(stop_flag_should_end_an_endless_run_promptly)
{
    publisher_t p;
    open_publisher(&p);
    static run_job_t job;
    memset(&job, 0, sizeof job); /* under CK_FORK=no the previous case's stop is still set */
    job.c = defaults();
    job.c.rate = stop_rates[_i];
    job.c.max_records = 0;
    job.p = &p;
    job.rc = -1;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, run_thread, &job), 0);
    /* Running: poll the ring's head (shared memory, with a deadline) until 20
     * records are out. Flat out the ring laps any reader, so none is attached. */
    shm_header_t *h = p.in.seg.hdr;
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (shm__load_acquire(&h->prod_seq) < 20) {
        ck_assert_msg(clock_mono_ns() < deadline, "synth_run published %llu records in 10 s",
                      (unsigned long long)shm__load_acquire(&h->prod_seq));
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    int64_t stopped_at = clock_mono_ns();
    job.stop = 1;
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += 5;
    ck_assert_msg(pthread_timedjoin_np(t, NULL, &limit) == 0,
                  "rate %g: synth_run still running 5 s after the stop flag was set", job.c.rate);
    int64_t took = clock_mono_ns() - stopped_at;
    ck_assert_int_eq(job.rc, 0);
    /* Promptly: the longest wait at 1000/s is one 1 ms period; allow a lot. */
    ck_assert_msg(took < IFX_SECOND / 2, "synth_run took %.1f ms to stop", (double)took / 1e6);
    uint64_t head = shm__load_acquire(&h->prod_seq);
    publisher_close(&p);
    ck_assert_int_eq(ifx_metric(&fx.set, "market_data_received_total"), (long long)head);
}
END_TEST

static Suite *synthetic_suite(void)
{
    Suite *s = suite_create("ingest_synthetic");
    TCase *walk = tcase_create("walk");
    tcase_add_checked_fixture(walk, setup, teardown);
    tcase_add_test(walk, same_seed_should_give_the_same_quotes_and_another_seed_other_quotes);
    tcase_add_loop_test(walk, every_quote_should_be_a_positive_uncrossed_quote_on_the_tick_grid, 0,
                        sizeof walks / sizeof walks[0]);
    tcase_add_loop_test(walk, walk_should_have_the_configured_volatility, 0, sizeof vols / sizeof vols[0]);
    suite_add_tcase(s, walk);

    TCase *cfg = tcase_create("config");
    tcase_add_checked_fixture(cfg, setup, teardown);
    tcase_add_test(cfg, config_should_read_every_key);
    tcase_add_loop_test(cfg, config_errors_should_name_file_line_and_key, 0,
                        sizeof bad_configs / sizeof bad_configs[0]);
    tcase_add_test(cfg, config_should_take_64_symbols_of_15_bytes);
    tcase_add_loop_test(cfg, config_should_refuse_a_symbol_the_validator_would_drop, 0,
                        sizeof unreplayable_symbols / sizeof unreplayable_symbols[0]);
    suite_add_tcase(s, cfg);

    TCase *run = tcase_create("run");
    tcase_add_checked_fixture(run, setup, teardown);
    tcase_set_timeout(run, 20);
    tcase_add_test(run, run_should_publish_exactly_max_records_in_order_and_count_them);
    tcase_add_test(run, restarted_run_should_continue_the_source_sequence);
    tcase_add_test(run, run_should_pace_records_at_the_configured_rate);
    tcase_add_loop_test(run, stop_flag_should_end_an_endless_run_promptly, 0,
                        sizeof stop_rates / sizeof stop_rates[0]);
    suite_add_tcase(s, run);
    return s;
}

int main(void)
{
    /* Fork mode is check's default; CK_FORK=no runs the suite in one process
     * (valgrind), where the fixture cleans up between tests. */
    ifx_registry_create();
    SRunner *sr = srunner_create(synthetic_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ifx_registry_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
