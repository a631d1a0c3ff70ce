/* bench_risk.c -- what one pre-trade risk check costs: risk_check plus, for an
 * approved order, risk_record_approved (riskd/checks.h), per call, against an
 * empty baseline call timed the same way. The goal is p99 under 1 us (the
 * original engine's budget was 50 us).
 *
 * How: a seeded simulation replays the same order flow in every run -- 8
 * strategies, 8 symbols (one blacklisted, one not whitelisted), every rule
 * configured, simulated time advancing ~400 us per order (so the rate and
 * duplicate windows really fill and slide), quotes moving the marks, most
 * approved orders filled at once and the rest cancelled later, so positions,
 * pending orders and PnL evolve -- a realistic mix of passes and rejects.
 * Only the check (and the record, when approved) is inside the timed span:
 * clock_gettime(CLOCK_MONOTONIC) before and after each call, minus the median
 * cost of an empty pair of clock reads measured first. The book updates, marks
 * and fills around it are not timed. Reports p50/p99/p99.9/max and the mean
 * in ns, each the median over runs, the ratio to the baseline and the
 * decision mix.
 * Usage: bench_risk [--orders N] [--runs R] [--json FILE] */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/records.h"
#include "riskd/book.h"
#include "riskd/checks.h"
#include "riskd/limits.h"

#define MAX_RUNS 31
#define NSTRAT 8
#define NSYM 8
#define OPEN_MAX 24 /* resting orders kept before the oldest is cancelled */

static const char *const strat_names[NSTRAT] = { "momentum", "market_making", "scalping", "mean_rev",
                                                 "breakout", "pairs", "twap", "ma_cross" };
/* DOGE-USD is blacklisted, XRP-USD is not on the whitelist. */
static const char *const symbols[NSYM] = { "BTC-USD", "ETH-USD", "SOL-USD", "ADA-USD",
                                           "AVAX-USD", "LINK-USD", "DOGE-USD", "XRP-USD" };

typedef struct {
    int64_t p50, p99, p999, max;
    double mean_ns;
} figures_t;

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double unit(void) { return (double)(rnd() >> 11) * 0x1p-53; }

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t median_i64(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    return v[n / 2];
}

static double median_d(double *v, int n)
{
    for (int i = 1; i < n; i++) /* insertion sort: n <= MAX_RUNS */
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return v[n / 2];
}

/* The baseline: a call of the same shape that does nothing. */
__attribute__((noinline)) static risk_rule_t empty_check(risk_t *r, const book_t *b, const se_signal_rec_t *s,
                                                         const char *name, int64_t now)
{
    __asm__ volatile("" : : "r"(r), "r"(b), "r"(s), "r"(name), "r"(now) : "memory");
    return RISK_OK;
}

static void bench_limits(risk_limits_t *l)
{
    limits_defaults(l);
    for (int i = 0; i < NSYM - 1; i++) /* all but XRP-USD */
        strcpy(l->whitelist[l->nwhitelist++], symbols[i]);
    strcpy(l->blacklist[l->nblacklist++], "DOGE-USD");
    l->max_order_size = 10;
    l->max_order_value = 1500;
    l->price_collar_pct = 2;
    l->max_quote_age_ms = 5;
    l->max_position_size = 100;
    l->strategy_max_position_size = 20;
    l->max_daily_loss = 5000;
    l->max_drawdown = 8000;
    l->max_orders_per_second = 3000;
    l->max_orders_per_minute = 140000;
    l->strategy_max_orders_per_second = 600;
    l->strategy_max_orders_per_minute = 30000;
    l->duplicate_window_ms = 50;
}

/* Samples: the per-call ns (clock overhead removed, floor 0). */
static int64_t *samples;

/* One run of the simulated flow. baseline: time empty_check instead (the
 * flow is the same, decided by the real check, untimed). Fills *fig and, if
 * mix is not NULL, the count of each decision. */
static int run(int norders, bool baseline, int64_t clock_ns, figures_t *fig, uint64_t *mix)
{
    risk_limits_t lim;
    book_t book;
    risk_t risk;
    double mid[NSYM];
    char open_ids[OPEN_MAX][SE_ID_MAX];
    int open_head = 0, open_n = 0;
    se_signal_rec_t prev;
    int64_t now = 1732400000LL * 1000000000LL, span_ns = 0;

    bench_limits(&lim);
    if (book_init(&book, NULL) < 0)
        return -1;
    for (int i = 0; i < NSTRAT; i++)
        book_add_strategy(&book, strat_names[i]);
    if (risk_init(&risk, &lim, NSTRAT) < 0)
        return -1;
    book_daily_reset(&book, now);
    rng_state = 0x9e3779b97f4a7c15ULL;
    for (int s = 0; s < NSYM; s++) {
        mid[s] = 20 + 30 * s;
        book_mark(&book, symbols[s], mid[s], now);
    }
    memset(&prev, 0, sizeof prev);

    for (int i = 0; i < norders; i++) {
        /* Time passes; about two quotes per order move the marks. */
        now += 100000 + (int64_t)(rnd() % 600000); /* ~2500 orders/s */
        for (int q = 0; q < 2; q++) {
            int s = (int)(rnd() % NSYM);
            mid[s] *= 1 + (unit() - 0.5) * 0.002;
            if (rnd() % 50) /* now and then a symbol's quotes pause (stale_quote) */
                book_mark(&book, symbols[s], mid[s], now);
        }

        /* The signal: mostly sound, some oversized, off-collar, duplicated. */
        se_signal_rec_t sig;
        uint64_t u = rnd() % 100;
        if (u < 3 && prev.action) {
            sig = prev; /* the same order again, within the duplicate window */
        } else {
            memset(&sig, 0, sizeof sig);
            sig.action = SE_ACTION_NEW;
            sig.strategy_index = (uint32_t)(rnd() % NSTRAT);
            int s = (int)(rnd() % 100 < 96 ? rnd() % (NSYM - 2) : NSYM - 2 + rnd() % 2);
            strcpy(sig.symbol, symbols[s]);
            /* Strategies lean against their position, as real ones unwind. */
            int sym = book_find_symbol(&book, symbols[s]);
            double held = sym >= 0 ? book_cell(&book, (int)sig.strategy_index, sym)->qty : 0;
            double p_buy = 0.5 - (held > 16 ? 0.45 : held < -16 ? -0.45 : held / 36);
            sig.side = unit() < p_buy ? SE_SIDE_BUY : SE_SIDE_SELL;
            sig.order_type = rnd() % 3 ? SE_ORDER_LIMIT : SE_ORDER_MARKET;
            sig.qty = (double)(1 + rnd() % 8) * (u < 8 ? 2 : 1);
            if (sig.order_type == SE_ORDER_LIMIT) {
                double off = (unit() - 0.5) * (u < 12 ? 0.1 : 0.01);
                sig.price = mid[s] * (1 + off);
            }
        }
        snprintf(sig.client_order_id, sizeof sig.client_order_id, "%s-%d", strat_names[sig.strategy_index], i);
        prev = sig;
        const char *name = strat_names[sig.strategy_index];

        /* The timed span. */
        risk_rule_t rule;
        int64_t t0 = clock_mono_ns();
        if (baseline) {
            rule = empty_check(&risk, &book, &sig, name, now);
        } else {
            rule = risk_check(&risk, &book, &sig, name, now);
            if (rule == RISK_OK)
                risk_record_approved(&risk, &sig, now);
        }
        int64_t t1 = clock_mono_ns();
        int64_t d = t1 - t0 - clock_ns;
        samples[i] = d > 0 ? d : 0;
        span_ns += t1 - t0;
        if (baseline) /* decide the flow as the real run does, untimed */
            rule = risk_check(&risk, &book, &sig, name, now);
        if (mix)
            mix[rule]++;
        if (rule != RISK_OK)
            continue;
        if (baseline)
            risk_record_approved(&risk, &sig, now);

        /* What the runner does next: pending, then a fill or a resting order. */
        book_order_add(&book, sig.client_order_id, (int)sig.strategy_index, sig.symbol, sig.side, sig.qty);
        if (sig.order_type == SE_ORDER_MARKET || rnd() % 2) {
            char fid[SE_ID_MAX];
            snprintf(fid, sizeof fid, "fill-%d", i);
            int s = book_find_symbol(&book, sig.symbol);
            book_fill_t f = { fid, sig.client_order_id, sig.symbol, -1, sig.side, sig.qty,
                              sig.order_type == SE_ORDER_LIMIT ? sig.price : mid[s], -1 };
            book_apply_fill(&book, &f, NULL);
        } else {
            if (open_n == OPEN_MAX) {
                book_order_remove(&book, open_ids[open_head]);
                open_head = (open_head + 1) % OPEN_MAX;
                open_n--;
            }
            memcpy(open_ids[(open_head + open_n) % OPEN_MAX], sig.client_order_id, SE_ID_MAX);
            open_n++;
        }
        risk_update_state(&risk, &book, now);
    }

    /* The timed spans include one clock read each side: remove the pair's cost. */
    fig->mean_ns = (double)span_ns / norders - (double)clock_ns;
    qsort(samples, (size_t)norders, sizeof *samples, cmp_i64);
    fig->p50 = samples[(int64_t)norders * 50 / 100];
    fig->p99 = samples[(int64_t)norders * 99 / 100];
    fig->p999 = samples[(int64_t)norders * 999 / 1000];
    fig->max = samples[norders - 1];
    risk_fini(&risk);
    book_fini(&book);
    return 0;
}

/* The median cost of two back-to-back clock reads, as the timed span pays it. */
static int64_t clock_overhead(void)
{
    enum { N = 200001 };
    static int64_t v[N];
    for (int i = 0; i < N; i++) {
        int64_t a = clock_mono_ns();
        int64_t b = clock_mono_ns();
        v[i] = b - a;
    }
    return median_i64(v, N);
}

static void median_figures(figures_t *runs, int n, figures_t *out)
{
    int64_t v[MAX_RUNS];
    double d[MAX_RUNS];
#define MED(field)                                   \
    do {                                             \
        for (int i = 0; i < n; i++)                  \
            v[i] = runs[i].field;                    \
        out->field = median_i64(v, n);               \
    } while (0)
    MED(p50);
    MED(p99);
    MED(p999);
    MED(max);
#undef MED
    for (int i = 0; i < n; i++)
        d[i] = runs[i].mean_ns;
    out->mean_ns = median_d(d, n);
}

int main(int argc, char **argv)
{
    int norders = 1000000, runs = 5;
    const char *json = NULL;
    static const struct option opts[] = { { "orders", 1, 0, 'o' }, { "runs", 1, 0, 'r' },
                                          { "json", 1, 0, 'j' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'o')
            norders = atoi(optarg);
        else if (c == 'r')
            runs = atoi(optarg);
        else if (c == 'j')
            json = optarg;
        else {
            fprintf(stderr, "usage: bench_risk [--orders N] [--runs 1..%d] [--json FILE]\n", MAX_RUNS);
            return c == 'h' ? 0 : 2;
        }
    }
    if (norders < 1 || runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "bench_risk: --orders >= 1, --runs 1..%d\n", MAX_RUNS);
        return 2;
    }
    samples = malloc(sizeof *samples * (size_t)norders);
    if (!samples)
        return 1;

    int64_t clock_ns = clock_overhead();
    figures_t base_runs[MAX_RUNS], check_runs[MAX_RUNS], base, chk;
    uint64_t mix[RISK_RULE_COUNT] = { 0 };
    for (int r = 0; r < runs; r++) {
        if (run(norders, true, clock_ns, &base_runs[r], NULL) < 0 ||
            run(norders, false, clock_ns, &check_runs[r], r == 0 ? mix : NULL) < 0) {
            fprintf(stderr, "bench_risk: could not set up the book or the checker\n");
            return 1;
        }
    }
    median_figures(base_runs, runs, &base);
    median_figures(check_runs, runs, &chk);

    printf("risk_check + risk_record_approved, %d orders x %d runs (%d strategies, %d symbols, every rule on),\n"
           "ns per call, clock pair (%lld ns) subtracted, median over runs:\n",
           norders, runs, NSTRAT, NSYM, (long long)clock_ns);
    printf("%-22s %8s %8s %8s %10s %10s\n", "", "p50", "p99", "p99.9", "max", "mean");
    printf("%-22s %8lld %8lld %8lld %10lld %10.1f\n", "baseline (empty call)", (long long)base.p50,
           (long long)base.p99, (long long)base.p999, (long long)base.max, base.mean_ns);
    printf("%-22s %8lld %8lld %8lld %10lld %10.1f\n", "risk check", (long long)chk.p50, (long long)chk.p99,
           (long long)chk.p999, (long long)chk.max, chk.mean_ns);
    /* The empty call costs less than the clock can resolve, so the ratio is
     * taken on the raw spans (clock pair included), as measured. */
    printf("ratio to baseline, raw spans (clock pair included): p50 %.1fx, p99 %.1fx, mean %.1fx\n",
           (double)(chk.p50 + clock_ns) / (double)(base.p50 + clock_ns),
           (double)(chk.p99 + clock_ns) / (double)(base.p99 + clock_ns),
           (chk.mean_ns + (double)clock_ns) / (base.mean_ns + (double)clock_ns));
    printf("goal p99 < 1000 ns: %s\n", chk.p99 < 1000 ? "PASS" : "MISS");
    printf("decisions (one run):");
    for (int i = 0; i < RISK_RULE_COUNT; i++)
        if (mix[i])
            printf(" %s=%.1f%%", risk_rule_name((risk_rule_t)i), 100.0 * (double)mix[i] / norders);
    printf("\n");

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            return 1;
        fprintf(f,
                "{\"orders\":%d,\"runs\":%d,\"clock_ns\":%lld,"
                "\"baseline\":{\"p50_ns\":%lld,\"p99_ns\":%lld,\"p999_ns\":%lld,\"max_ns\":%lld,\"mean_ns\":%.1f},"
                "\"risk_check\":{\"p50_ns\":%lld,\"p99_ns\":%lld,\"p999_ns\":%lld,\"max_ns\":%lld,\"mean_ns\":%.1f},"
                "\"decisions\":{",
                norders, runs, (long long)clock_ns, (long long)base.p50, (long long)base.p99, (long long)base.p999,
                (long long)base.max, base.mean_ns, (long long)chk.p50, (long long)chk.p99, (long long)chk.p999,
                (long long)chk.max, chk.mean_ns);
        for (int i = 0, first = 1; i < RISK_RULE_COUNT; i++)
            if (mix[i]) {
                fprintf(f, "%s\"%s\":%llu", first ? "" : ",", risk_rule_name((risk_rule_t)i),
                        (unsigned long long)mix[i]);
                first = 0;
            }
        fprintf(f, "}}\n");
        fclose(f);
    }
    free(samples);
    return 0;
}
