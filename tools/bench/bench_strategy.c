/* bench_strategy.c -- what one tick costs inside each strategy: the time of
 * on_market_data for the built-ins and the example plugin, against a baseline
 * strategy that does nothing (the cost of the ABI call itself), all in one run.
 * Ticks come from the synthetic feed, converted as strategyd converts them.
 * Reports the median over runs in ns per tick and the ratio to the baseline.
 * Usage: bench_strategy [--ticks N] [--runs R] [--json FILE] */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "ingest/synthetic.h"
#include "strategyd/builtins.h"
#include "strategyd/host.h"
#include "strategyd/python_host.h"

#define MAX_RUNS 31

/* The baseline: a strategy that returns at once, called the same way. */
static void *noop_create(const strat_host_t *h) { (void)h; static int s; return &s; }
static int noop_init(void *s) { (void)s; return 0; }
static int noop_tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    (void)s; (void)t; (void)o; (void)n;
    return 0;
}
static int noop_fill(void *s, const strat_fill_t *f) { (void)s; (void)f; return 0; }
static int noop_pos(void *s, const strat_position_t *p) { (void)s; (void)p; return 0; }
static int noop_state(void *s) { (void)s; return 0; }
static void noop_destroy(void *s) { (void)s; }
static const strat_plugin_t noop = {
    STRAT_ABI_VERSION, sizeof(strat_plugin_t), "baseline (no-op)", noop_create, noop_init, noop_tick,
    noop_fill, noop_pos, NULL, noop_state, noop_state, noop_state, NULL, noop_destroy,
};

/* The trivial strategy of tools/bench/trivial_strategy.py, in C: counts
 * ticks, never trades. The pair shows what hosting a Python strategy costs. */
static void *count_create(const strat_host_t *h) { (void)h; static uint64_t ticks; return &ticks; }
static int count_tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    (void)t; (void)o; (void)n;
    ++*(uint64_t *)s;
    return 0;
}
static const strat_plugin_t count_c = {
    STRAT_ABI_VERSION, sizeof(strat_plugin_t), "trivial (C)", count_create, noop_init, count_tick,
    noop_fill, noop_pos, NULL, noop_state, noop_state, noop_state, NULL, noop_destroy,
};

/* The engine's answers, as a simple venue gives them: MARKET orders fill at
 * once at the tick's price, LIMIT orders rest, CANCELs are confirmed. So each
 * strategy runs its normal decisions, not a degenerate path. */
static void answer(const strat_plugin_t *p, void *state, const strat_tick_t *t, const strat_signal_t *out,
                   int n)
{
    for (int i = 0; i < n; i++) {
        const strat_signal_t *s = &out[i];
        const char *symbol = s->symbol[0] ? s->symbol : t->symbol; /* "": the tick's, as the runner does */
        if (s->action == STRAT_NEW && s->type == STRAT_MARKET) {
            strat_fill_t f = { "bench-fill", s->client_order_id, symbol, s->side, s->qty, t->price, t->ts_ns };
            p->on_fill(state, &f);
        } else if (s->action == STRAT_CANCEL && p->on_order_update) {
            strat_order_update_t u = { s->client_order_id, symbol, STRAT_ORDER_CANCELLED, 0, "bench" };
            p->on_order_update(state, &u);
        }
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct {
    const char *name;
    double median_ns, min_ns;
    uint64_t signals;
} result_t;

static int run(const strat_plugin_t *p, const char *instance, const strat_tick_t *ticks, int nticks,
               int runs, result_t *res)
{
    host_t host;
    host_init(&host, NULL, instance);
    void *state = p->create(&host.api);
    if (!state || p->init(state) < 0 || p->start(state) < 0) {
        fprintf(stderr, "bench_strategy: %s would not start\n", p->name);
        return -1;
    }
    strat_signal_t out[16];
    int64_t per_run[MAX_RUNS];
    uint64_t signals = 0;
    for (int r = 0; r < runs; r++) {
        int64_t t0 = clock_mono_ns();
        for (int i = 0; i < nticks; i++) {
            host.event_ns = ticks[i].ts_ns;
            int n = p->on_market_data(state, &ticks[i], out, 16);
            if (n > 0) {
                signals += (uint64_t)n;
                answer(p, state, &ticks[i], out, n);
            }
        }
        per_run[r] = clock_mono_ns() - t0;
    }
    p->stop(state);
    p->destroy(state);
    qsort(per_run, (size_t)runs, sizeof per_run[0], cmp_i64);
    res->name = p->name;
    res->median_ns = (double)per_run[runs / 2] / nticks;
    res->min_ns = (double)per_run[0] / nticks;
    res->signals = signals / (uint64_t)runs;
    return 0;
}

int main(int argc, char **argv)
{
    int nticks = 1000000, runs = 9;
    const char *json = NULL;
    static const struct option opts[] = { { "ticks", 1, 0, 't' }, { "runs", 1, 0, 'r' },
                                          { "json", 1, 0, 'j' }, { 0, 0, 0, 0 } };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 't')
            nticks = atoi(optarg);
        else if (c == 'r')
            runs = atoi(optarg);
        else if (c == 'j')
            json = optarg;
        else
            return 2;
    }
    if (nticks < 1 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench_strategy: --ticks >= 1, --runs 1..%d\n", MAX_RUNS);
        return 2;
    }
    log_set_level(LOG_LEVEL_WARN);

    /* The synthetic feed's ticks, converted as strategyd's runner does. */
    synth_config_t sc = { .nsymbols = 3, .rate = 0, .volatility = 0.0005, .spread_bps = 2,
                          .start_price = 100, .tick_size = 0.01, .seed = 42 };
    strcpy(sc.symbols[0], "BTC-USD");
    strcpy(sc.symbols[1], "ETH-USD");
    strcpy(sc.symbols[2], "SOL-USD");
    synth_t gen;
    synth_init(&gen, &sc);
    se_in_rec_t *recs = malloc(sizeof *recs * (size_t)nticks);
    strat_tick_t *ticks = malloc(sizeof *ticks * (size_t)nticks);
    if (!recs || !ticks)
        return 1;
    for (int i = 0; i < nticks; i++) {
        synth_next(&gen, &recs[i]);
        const se_quote_t *q = &recs[i].u.quote;
        ticks[i] = (strat_tick_t){ recs[i].symbol, (q->bid + q->ask) / 2, q->bid, q->ask, q->bid_size,
                                   q->ask_size, q->last, q->volume,
                                   STRAT_TICK_HAS_BIDASK | STRAT_TICK_HAS_LAST,
                                   1732400000000000000 + (int64_t)i * 1000000 };
    }

    result_t res[16];
    int n = 0;
    if (run(&noop, "baseline", ticks, nticks, runs, &res[n]) == 0)
        n++;
    for (const char *const *b = builtin_names(); *b; b++)
        if (run(builtin_find(*b), *b, ticks, nticks, runs, &res[n]) == 0)
            n++;
    void *dl = dlopen("plugins/example_plugin.so", RTLD_NOW | RTLD_LOCAL);
    strat_entry_fn entry = dl ? (strat_entry_fn)dlsym(dl, STRAT_ENTRY_SYMBOL) : NULL;
    host_t h;
    host_init(&h, NULL, "example");
    const strat_plugin_t *ex = entry ? entry(&h.api) : NULL;
    if (ex && run(ex, "example", ticks, nticks, runs, &res[n]) == 0)
        n++;
    else
        fprintf(stderr, "bench_strategy: plugins/example_plugin.so not measured (run `make` first)\n");

    /* Python: the trivial strategy beside its C twin, and the example. */
    int c_trivial = -1, py_trivial = -1;
    if (run(&count_c, "trivial_c", ticks, nticks, runs, &res[n]) == 0)
        c_trivial = n++;
    static const struct {
        const char *instance, *script, *label;
    } py[] = { { "py_trivial", "tools/bench/trivial_strategy.py", "trivial (Python)" },
               { "py_zscore", "plugins/python/example_strategy.py", "zscore (Python)" } };
    for (size_t i = 0; i < sizeof py / sizeof py[0]; i++) {
        const strat_plugin_t *p;
        if (pyhost_load(py[i].instance, py[i].script, NULL, NULL, NULL, &p) < 0) {
            fprintf(stderr, "bench_strategy: %s not measured: %s\n", py[i].script, se_errmsg());
            continue;
        }
        if (run(p, py[i].instance, ticks, nticks, runs, &res[n]) == 0) {
            res[n].name = py[i].label;
            if (i == 0)
                py_trivial = n;
            n++;
        }
        pyhost_unload(py[i].instance);
    }

    printf("on_market_data, %d ticks x %d runs (3 symbols, synthetic walk), median per tick:\n", nticks, runs);
    printf("%-20s %10s %10s %10s %12s\n", "strategy", "ns/tick", "min", "vs base", "signals/run");
    for (int i = 0; i < n; i++)
        printf("%-20s %10.1f %10.1f %9.1fx %12llu\n", res[i].name, res[i].median_ns, res[i].min_ns,
               res[i].median_ns / res[0].median_ns, (unsigned long long)res[i].signals);
    double py_overhead = -1, py_ratio = -1;
    if (c_trivial >= 0 && py_trivial >= 0) {
        py_overhead = res[py_trivial].median_ns - res[c_trivial].median_ns;
        py_ratio = res[py_trivial].median_ns / res[c_trivial].median_ns;
        printf("python: the trivial strategy costs %.0f ns/tick more than in C (%.1fx C); goal < 5000 ns: %s\n",
               py_overhead, py_ratio, py_overhead < 5000 ? "PASS" : "MISS");
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        fprintf(f, "{\"ticks\":%d,\"runs\":%d,\"strategies\":[", nticks, runs);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s{\"name\":\"%s\",\"ns_per_tick\":%.1f,\"ratio_to_baseline\":%.2f}", i ? "," : "",
                    res[i].name, res[i].median_ns, res[i].median_ns / res[0].median_ns);
        fprintf(f, "]");
        if (py_overhead >= 0)
            fprintf(f, ",\"python_overhead_ns_per_tick\":%.1f,\"python_ratio_to_c\":%.2f", py_overhead,
                    py_ratio);
        fprintf(f, "}\n");
        fclose(f);
    }
    if (dl)
        dlclose(dl);
    free(recs);
    free(ticks);
    return 0;
}
