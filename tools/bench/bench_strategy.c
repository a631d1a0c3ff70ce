/* bench_strategy.c -- what one tick costs inside each strategy: the time of
 * on_market_data for the built-ins and the example plugin, against a baseline
 * strategy that does nothing (the cost of the ABI call itself), all in one run.
 * Ticks come from the synthetic feed, converted as strategyd converts them.
 * Reports the median over runs in ns per tick and the ratio to the baseline.
 * With --gap-us G the thread sleeps G us before each tick and only the calls
 * are timed: ticks that find the strategy's thread idle, as at a quiet market.
 * Usage: bench_strategy [--ticks N] [--runs R] [--gap-us G] [--json FILE] */
#include <dlfcn.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "ingest/synthetic.h"
#include "strategyd/builtins.h"
#include "strategyd/host.h"
#include "strategyd/python_host.h"

#define MAX_RUNS 31

static int gap_us; /* --gap-us: sleep before each tick, time the calls only */

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

/* The language boundary's C half: the same trivial strategy as
 * plugins/go/trivial and tools/bench/trivial_strategy.py (remember the price,
 * count ticks, never trade), so that Go's or Python's figure minus this one
 * is what crossing into that language costs per tick. */
static struct { uint64_t ticks; double last; } trivial_state;
static void *trivial_create(const strat_host_t *h) { (void)h; return &trivial_state; }
static int trivial_tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    (void)o; (void)n;
    ((typeof(trivial_state) *)s)->ticks++;
    ((typeof(trivial_state) *)s)->last = t->price;
    return 0;
}
static const strat_plugin_t trivial_c = {
    STRAT_ABI_VERSION, sizeof(strat_plugin_t), "trivial (C)", trivial_create, noop_init, trivial_tick,
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
        int64_t t0 = clock_mono_ns(), in_calls = 0;
        for (int i = 0; i < nticks; i++) {
            if (gap_us) {
                usleep((useconds_t)gap_us);
                t0 = clock_mono_ns();
            }
            host.event_ns = ticks[i].ts_ns;
            int n = p->on_market_data(state, &ticks[i], out, 16);
            if (n > 0) {
                signals += (uint64_t)n;
                answer(p, state, &ticks[i], out, n);
            }
            if (gap_us)
                in_calls += clock_mono_ns() - t0;
        }
        per_run[r] = gap_us ? in_calls : clock_mono_ns() - t0;
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

typedef struct {
    const strat_plugin_t *p;
    const char *instance;
    const strat_tick_t *ticks;
    int nticks, runs;
    result_t *res;
} run_args_t;

static int run_body(void *arg)
{
    run_args_t *a = arg;
    return run(a->p, a->instance, a->ticks, a->nticks, a->runs, a->res);
}

/* Measures the Go strategy plugin `so` in a child process: a process holds
 * one Go runtime at most (two Go .so files in one process do not work), and
 * the C figures stay free of Go's threads. Twice: called from a bare C
 * thread, and with the loop run through the plugin's strat_plugin_run as
 * strategyd runs it (name + " +run"). Returns how many results it added to
 * res (0 when the plugin could not be measured: said on stderr). */
static int run_go(const char *so, const char *instance, const strat_tick_t *ticks, int nticks, int runs,
                  result_t *res)
{
    static char names[8][40];
    static int used;
    struct { result_t r[2]; char name[2][40]; int n; } msg = { .n = 0 };
    int fds[2], status;
    if (used + 2 > 8 || pipe(fds) < 0)
        return 0;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        close(fds[0]);
        void *dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
        strat_entry_fn entry = dl ? (strat_entry_fn)dlsym(dl, STRAT_ENTRY_SYMBOL) : NULL;
        strat_run_fn run_fn = dl ? (strat_run_fn)dlsym(dl, STRAT_RUN_SYMBOL) : NULL;
        host_t h;
        host_init(&h, NULL, instance);
        const strat_plugin_t *p = entry ? entry(&h.api) : NULL;
        if (p && run(p, instance, ticks, nticks, runs, &msg.r[0]) == 0)
            snprintf(msg.name[msg.n++], sizeof msg.name[0], "%s", p->name);
        run_args_t a = { p, instance, ticks, nticks, runs, &msg.r[msg.n] };
        if (p && run_fn && run_fn(run_body, &a) == 0)
            snprintf(msg.name[msg.n++], sizeof msg.name[0], "%s +run", p->name);
        if (!p)
            fprintf(stderr, "bench_strategy: %s not measured (%s; run `make` first)\n", so,
                    dl ? "no entry point" : dlerror());
        _exit(write(fds[1], &msg, sizeof msg) == sizeof msg ? 0 : 1);
    }
    close(fds[1]);
    ssize_t got = read(fds[0], &msg, sizeof msg);
    close(fds[0]);
    waitpid(pid, &status, 0);
    if (got != sizeof msg)
        return 0;
    for (int i = 0; i < msg.n; i++) {
        res[i] = msg.r[i];
        snprintf(names[used], sizeof names[used], "%s", msg.name[i]);
        res[i].name = names[used++];
    }
    return msg.n;
}

/* The index of the result named name, or -1. */
static int find_result(const result_t *res, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(res[i].name, name) == 0)
            return i;
    return -1;
}

int main(int argc, char **argv)
{
    int nticks = 1000000, runs = 9;
    const char *json = NULL;
    static const struct option opts[] = { { "ticks", 1, 0, 't' }, { "runs", 1, 0, 'r' },
                                          { "json", 1, 0, 'j' }, { "gap-us", 1, 0, 'g' }, { 0, 0, 0, 0 } };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 't')
            nticks = atoi(optarg);
        else if (c == 'r')
            runs = atoi(optarg);
        else if (c == 'j')
            json = optarg;
        else if (c == 'g')
            gap_us = atoi(optarg);
        else
            return 2;
    }
    if (nticks < 1 || runs < 1 || runs > MAX_RUNS || gap_us < 0) {
        fprintf(stderr, "bench_strategy: --ticks >= 1, --runs 1..%d, --gap-us >= 0\n", MAX_RUNS);
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
    if (run(&trivial_c, "trivial", ticks, nticks, runs, &res[n]) == 0)
        n++;
    n += run_go("plugins/go_trivial.so", "go_trivial", ticks, nticks, runs, &res[n]);
    n += run_go("plugins/go_ma_cross.so", "go_ma", ticks, nticks, runs, &res[n]);

    /* Python: the trivial strategy (beside its C twin above), and the example. */
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
        if (run(p, py[i].instance, ticks, nticks, runs, &res[n]) == 0)
            res[n++].name = py[i].label;
        pyhost_unload(py[i].instance);
    }

    printf("on_market_data, %d ticks x %d runs (3 symbols, synthetic walk), median per tick", nticks, runs);
    if (gap_us)
        printf(", each after %d us asleep", gap_us);
    printf(":\n");
    printf("%-20s %10s %10s %10s %12s\n", "strategy", "ns/tick", "min", "vs base", "signals/run");
    for (int i = 0; i < n; i++)
        printf("%-20s %10.1f %10.1f %9.1fx %12llu\n", res[i].name, res[i].median_ns, res[i].min_ns,
               res[i].median_ns / res[0].median_ns, (unsigned long long)res[i].signals);
    /* Go against the same strategy in C: the boundary's cost per tick. */
    static const char *const go_vs_c[][2] = { { "go_trivial", "trivial (C)" },
                                              { "go_trivial +run", "trivial (C)" },
                                              { "go_ma_crossover", "ma_crossover" },
                                              { "go_ma_crossover +run", "ma_crossover" } };
    enum { NCMP = sizeof go_vs_c / sizeof go_vs_c[0] };
    int go_i[NCMP], c_i[NCMP];
    for (int k = 0; k < NCMP; k++) {
        go_i[k] = find_result(res, n, go_vs_c[k][0]);
        c_i[k] = find_result(res, n, go_vs_c[k][1]);
        if (go_i[k] >= 0 && c_i[k] >= 0)
            printf("%s vs %s: +%.1f ns/tick, %.2fx\n", go_vs_c[k][0], go_vs_c[k][1],
                   res[go_i[k]].median_ns - res[c_i[k]].median_ns, res[go_i[k]].median_ns / res[c_i[k]].median_ns);
    }
    /* Python against the same strategy in C: the goal is under 5 us per tick. */
    int py_i = find_result(res, n, "trivial (Python)"), pc_i = find_result(res, n, "trivial (C)");
    double py_overhead = -1, py_ratio = -1;
    if (py_i >= 0 && pc_i >= 0) {
        py_overhead = res[py_i].median_ns - res[pc_i].median_ns;
        py_ratio = res[py_i].median_ns / res[pc_i].median_ns;
        printf("trivial (Python) vs trivial (C): +%.1f ns/tick, %.2fx; goal < 5000 ns: %s\n", py_overhead,
               py_ratio, py_overhead < 5000 ? "PASS" : "MISS");
    }
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        fprintf(f, "{\"ticks\":%d,\"runs\":%d,\"strategies\":[", nticks, runs);
        for (int i = 0; i < n; i++)
            fprintf(f, "%s{\"name\":\"%s\",\"ns_per_tick\":%.1f,\"ratio_to_baseline\":%.2f}", i ? "," : "",
                    res[i].name, res[i].median_ns, res[i].median_ns / res[0].median_ns);
        fprintf(f, "],\"go_vs_c\":[");
        for (int k = 0, first = 1; k < NCMP; k++)
            if (go_i[k] >= 0 && c_i[k] >= 0) {
                fprintf(f, "%s{\"go\":\"%s\",\"c\":\"%s\",\"overhead_ns_per_tick\":%.1f,\"ratio\":%.2f}",
                        first ? "" : ",", go_vs_c[k][0], go_vs_c[k][1],
                        res[go_i[k]].median_ns - res[c_i[k]].median_ns, res[go_i[k]].median_ns / res[c_i[k]].median_ns);
                first = 0;
            }
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
