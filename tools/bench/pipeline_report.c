/* pipeline_report.c -- the figures of one pipeline benchmark run, read from an
 * instance's segments after its processes stopped: tick-to-order latency and
 * its three hops from the ACK records on ring `exe`, and every drop. Run by
 * tools/bench/bench_pipeline.sh, once per run; see tools/bench/README.md.
 *
 * How: maps `exe` read-only and walks every record still in it (shm_peek from
 * max(0, head - capacity) to head), keeping the ACKs -- execd writes exactly
 * one per new order it accepted -- whose tick was published inside the
 * measurement window (--from-ns/--to-ns, CLOCK_REALTIME like the records).
 * From each: tick-to-order = ts_exec - ts_ingest (ingest published the tick,
 * execd dequeued the order), ingest->strategy = ts_strategy - ts_ingest,
 * strategy->risk = ts_risk - ts_strategy, risk->exec = ts_exec - ts_risk.
 * Percentiles are exact: all samples sorted, nearest rank.
 *
 * Drops are every record lost anywhere: records a reader was lapped on (the
 * drops word of each reader slot of each ring, which covers readers that keep
 * no such metric, like riskd on `in`; a strategy's ring_dropped_records_total
 * counts the same records and is taken instead if ever larger), signals a
 * strategy could not write (strategy_signals_dropped_total), signals riskd
 * dropped (signals_dropped_total: queue full, stale, order ring full), and
 * messages ingest's validator refused (market_data_dropped_total).
 *
 * Usage: pipeline_report -i INSTANCE [-p PREFIX] [--from-ns T0] [--to-ns T1]
 *          [--rate R] [--label L] [--spin-us N] [--ticks-per-s X]
 *          [--cpu PROCESS=CPU_PER_S]... [--field KEY=NUMBER]... [--row | --header]
 * Prints the run as one JSON object on one line (the shape of
 * bench/results/pipeline.json's runs: the measured figures, then what the
 * script measured and passed in -- CPU, achieved tick rate, --field extras),
 * or with --row one line of the script's table (--header: its heading).
 * Labels, process names and values are the script's and are printed as they
 * are (no JSON escaping). Exit 0, 1 when `exe` cannot be read, 2 on a usage error. */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/records.h"
#include "shm/atomic.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/stats.h"

#define MAX_PROCS 40
#define MAX_PAIRS 16 /* --cpu and --field arguments, each */

enum { HOP_TOTAL, HOP_INGEST_STRATEGY, HOP_STRATEGY_RISK, HOP_RISK_EXEC, HOP_COUNT };
static const char *const hop_names[HOP_COUNT] = { "tick_to_order", "ingest_to_strategy",
                                                  "strategy_to_risk", "risk_to_exec" };

typedef struct {
    int64_t *ns;
    size_t n, cap;
} samples_t;

typedef struct {
    int64_t p50, p99, p999, max;
} figures_t;

/* Drops of one process: records it was lapped on, as its reader slots say
 * and as its own metric says (the larger is taken), and records it dropped. */
typedef struct {
    char name[SHM_READER_NAME_MAX + 16];
    uint64_t lapped_slots, lapped_metric, dropped;
} proc_drops_t;

typedef struct {
    proc_drops_t procs[MAX_PROCS];
    int nprocs;
    int errors;
    uint64_t signals, strategy_errors; /* over all strategies: context, not drops */
} drops_t;

static int push(samples_t *s, int64_t v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        int64_t *grown = realloc(s->ns, cap * sizeof *grown);
        if (!grown)
            return -1;
        s->ns = grown;
        s->cap = cap;
    }
    s->ns[s->n++] = v;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least q of all samples <= it. */
static int64_t rank(const samples_t *s, double q)
{
    /* ceil(n q), forgiving the rounding of n q (0.99 * 1000 is 990.0000000000001). */
    size_t k = (size_t)ceil((double)s->n * q - 1e-9);
    if (k < 1)
        k = 1;
    return s->ns[(k > s->n ? s->n : k) - 1];
}

static figures_t figures(samples_t *s)
{
    qsort(s->ns, s->n, sizeof *s->ns, cmp_i64);
    return (figures_t){ rank(s, 0.50), rank(s, 0.99), rank(s, 0.999), s->ns[s->n - 1] };
}

static proc_drops_t *proc_of(drops_t *d, const char *name)
{
    for (int i = 0; i < d->nprocs; i++)
        if (strcmp(d->procs[i].name, name) == 0)
            return &d->procs[i];
    if (d->nprocs == MAX_PROCS)
        return NULL;
    proc_drops_t *p = &d->procs[d->nprocs++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    return p;
}

/* Sums the samples of one metric family in Prometheus text (counters only:
 * "family{labels} value" or "family value", one per line). */
static uint64_t metric_sum(const char *text, const char *family)
{
    size_t len = strlen(family);
    uint64_t sum = 0;
    const char *line = text;
    while (*line) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        if (strncmp(line, family, len) == 0 && (line[len] == '{' || line[len] == ' ')) {
            const char *value = end;
            while (value > line && value[-1] != ' ')
                value--;
            sum += strtoull(value, NULL, 10);
        }
        line = *end ? end + 1 : end;
    }
    return sum;
}

static void read_stats(drops_t *d, const shm_segment_t *seg, const char *process)
{
    char *text = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&text, &size);
    if (!mem) {
        d->errors++;
        return;
    }
    int rc = stats_render_prometheus(seg, process, mem);
    fclose(mem);
    proc_drops_t *p = proc_of(d, process);
    if (rc < 0 || !p || !text) {
        fprintf(stderr, "pipeline_report: stats of %s: %s\n", process, rc < 0 ? se_errmsg() : "no room");
        d->errors++;
    } else {
        p->lapped_metric += metric_sum(text, "ring_dropped_records_total");
        p->dropped += metric_sum(text, "strategy_signals_dropped_total") +
                      metric_sum(text, "signals_dropped_total") + metric_sum(text, "market_data_dropped_total");
        d->signals += metric_sum(text, "strategy_signals_total");
        d->strategy_errors += metric_sum(text, "strategy_errors_total");
    }
    free(text);
}

static void read_slots(drops_t *d, const shm_segment_t *seg)
{
    for (uint32_t i = 0; seg->reg && i < SHM_MAX_READERS; i++) {
        const shm_reader_slot_t *slot = &seg->reg->readers[i];
        char name[SHM_READER_NAME_MAX];
        memcpy(name, slot->name, sizeof name);
        name[sizeof name - 1] = '\0';
        /* A slot ever claimed has a name; the owner word is 0 once its reader left. */
        if (!name[0])
            continue;
        proc_drops_t *p = proc_of(d, name);
        if (p)
            p->lapped_slots += shm__load_relaxed((_Atomic uint64_t *)&slot->drops);
        else
            d->errors++;
    }
}

static void visit(const char *name, const char *ring, void *arg)
{
    drops_t *d = arg;
    shm_segment_t seg;
    if (shm_segment_map(&seg, name, false) < 0) {
        fprintf(stderr, "pipeline_report: %s\n", se_errmsg());
        d->errors++;
        return;
    }
    if (seg.kind == SHM_KIND_STATS) {
        if (strncmp(ring, "stats.", 6) == 0)
            read_stats(d, &seg, ring + 6);
    } else {
        read_slots(d, &seg);
    }
    shm_segment_unmap(&seg);
}

static uint64_t proc_total(const proc_drops_t *p)
{
    return (p->lapped_slots > p->lapped_metric ? p->lapped_slots : p->lapped_metric) + p->dropped;
}

static void print_us(int64_t ns)
{
    printf("%.2f", (double)ns / 1000.0);
}

typedef struct {
    const char *label;
    long long rate;
    long long spin_us;
    double ticks_per_s;
    const char *cpu[MAX_PAIRS];
    int ncpu;
    const char *fields[MAX_PAIRS]; /* KEY=NUMBER, appended as they are */
    int nfields;
} run_info_t;

static void print_json(const run_info_t *ri, size_t orders, const figures_t *f, const drops_t *d,
                       uint64_t drops)
{
    printf("{\"rate\":%lld", ri->rate);
    static const char *const keys[4] = { "tick_to_order_p50_us", "tick_to_order_p99_us",
                                         "tick_to_order_p999_us", "max_us" };
    const int64_t t[4] = { f[HOP_TOTAL].p50, f[HOP_TOTAL].p99, f[HOP_TOTAL].p999, f[HOP_TOTAL].max };
    for (int k = 0; k < 4; k++) {
        printf(",\"%s\":", keys[k]);
        if (orders)
            print_us(t[k]);
        else
            printf("null");
    }
    printf(",\"drops\":%" PRIu64 ",\"hops\":{", drops);
    for (int h = HOP_INGEST_STRATEGY; h < HOP_COUNT; h++) {
        printf("%s\"%s\":", h == HOP_INGEST_STRATEGY ? "" : ",", hop_names[h]);
        if (!orders) {
            printf("null");
            continue;
        }
        printf("{\"p50_us\":");
        print_us(f[h].p50);
        printf(",\"p99_us\":");
        print_us(f[h].p99);
        printf(",\"p999_us\":");
        print_us(f[h].p999);
        printf(",\"max_us\":");
        print_us(f[h].max);
        printf("}");
    }
    printf("},\"cpu\":{");
    for (int i = 0; i < ri->ncpu; i++) {
        const char *eq = strchr(ri->cpu[i], '=');
        printf("%s\"%.*s\":%s", i ? "," : "", (int)(eq - ri->cpu[i]), ri->cpu[i], eq + 1);
    }
    printf("},\"label\":\"%s\",\"spin_us\":", ri->label);
    if (ri->spin_us >= 0)
        printf("%lld", ri->spin_us);
    else
        printf("null");
    printf(",\"ticks_per_s\":%.0f,\"orders\":%zu,\"signals\":%" PRIu64 ",\"strategy_errors\":%" PRIu64
           ",\"drops_by\":{",
           ri->ticks_per_s, orders, d->signals, d->strategy_errors);
    for (int i = 0; i < d->nprocs; i++)
        printf("%s\"%s\":%" PRIu64, i ? "," : "", d->procs[i].name, proc_total(&d->procs[i]));
    printf("}");
    for (int i = 0; i < ri->nfields; i++) {
        const char *eq = strchr(ri->fields[i], '=');
        printf(",\"%.*s\":%s", (int)(eq - ri->fields[i]), ri->fields[i], eq + 1);
    }
    printf("}\n");
}

#define ROW_FMT "%-16s %8s %9s %7s | %8s %8s %8s %9s | %-15s %-15s %-15s | %7s %s\n"

static void print_header(void)
{
    printf(ROW_FMT, "run", "rate", "ticks/s", "orders", "t2o p50", "p99", "p99.9", "max", "ing>strat p50/99",
           "strat>risk", "risk>exec", "drops", "strategy errors");
}

static void print_row(const run_info_t *ri, size_t orders, const figures_t *f, const drops_t *d, uint64_t drops)
{
    char rate[24], ticks[24], n[24], col[4][24], hop[HOP_COUNT][40], dr[24], errs[24];
    snprintf(errs, sizeof errs, "%" PRIu64, d->strategy_errors);
    snprintf(rate, sizeof rate, "%lld", ri->rate);
    snprintf(ticks, sizeof ticks, "%.0f", ri->ticks_per_s);
    snprintf(n, sizeof n, "%zu", orders);
    snprintf(dr, sizeof dr, "%" PRIu64, drops);
    const int64_t t[4] = { f[HOP_TOTAL].p50, f[HOP_TOTAL].p99, f[HOP_TOTAL].p999, f[HOP_TOTAL].max };
    for (int k = 0; k < 4; k++) {
        if (orders)
            snprintf(col[k], sizeof col[k], "%.1f", (double)t[k] / 1000.0);
        else
            snprintf(col[k], sizeof col[k], "-");
    }
    for (int h = HOP_INGEST_STRATEGY; h < HOP_COUNT; h++) {
        if (orders)
            snprintf(hop[h], sizeof hop[h], "%.1f/%.1f", (double)f[h].p50 / 1000.0, (double)f[h].p99 / 1000.0);
        else
            snprintf(hop[h], sizeof hop[h], "-");
    }
    printf(ROW_FMT, ri->label, rate, ticks, n, col[0], col[1], col[2], col[3], hop[HOP_INGEST_STRATEGY],
           hop[HOP_STRATEGY_RISK], hop[HOP_RISK_EXEC], dr, errs);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: pipeline_report -i INSTANCE [-p PREFIX] [--from-ns T0] [--to-ns T1] [--rate R]\n"
                 "         [--label L] [--spin-us N] [--ticks-per-s X] [--cpu PROCESS=CPU]... [--field KEY=NUMBER]...\n"
                 "         [--row]\n"
                 "       pipeline_report --header\n"
                 "Latency (exe ACK records whose tick was published in [T0, T1), CLOCK_REALTIME ns) and\n"
                 "drops of one stopped pipeline run, as one JSON line (or with --row a table line).\n");
}

int main(int argc, char **argv)
{
    enum { O_FROM = 256, O_TO, O_RATE, O_LABEL, O_SPIN, O_TICKS, O_CPU, O_FIELD, O_ROW, O_HEADER };
    static const struct option opts[] = {
        { "instance", required_argument, NULL, 'i' }, { "prefix", required_argument, NULL, 'p' },
        { "from-ns", required_argument, NULL, O_FROM }, { "to-ns", required_argument, NULL, O_TO },
        { "rate", required_argument, NULL, O_RATE },    { "label", required_argument, NULL, O_LABEL },
        { "spin-us", required_argument, NULL, O_SPIN }, { "ticks-per-s", required_argument, NULL, O_TICKS },
        { "cpu", required_argument, NULL, O_CPU },      { "field", required_argument, NULL, O_FIELD },
        { "row", no_argument, NULL, O_ROW },
        { "header", no_argument, NULL, O_HEADER },      { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *prefix = SHM_DEFAULT_PREFIX, *instance = NULL;
    int64_t from_ns = INT64_MIN, to_ns = INT64_MAX;
    run_info_t ri = { .label = "", .rate = 0, .spin_us = -1, .ticks_per_s = 0, .ncpu = 0, .nfields = 0 };
    bool row = false;
    int c;
    while ((c = getopt_long(argc, argv, "i:p:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i': instance = optarg; break;
        case 'p': prefix = optarg; break;
        case O_FROM: from_ns = strtoll(optarg, NULL, 10); break;
        case O_TO: to_ns = strtoll(optarg, NULL, 10); break;
        case O_RATE: ri.rate = strtoll(optarg, NULL, 10); break;
        case O_LABEL: ri.label = optarg; break;
        case O_SPIN: ri.spin_us = strtoll(optarg, NULL, 10); break;
        case O_TICKS: ri.ticks_per_s = strtod(optarg, NULL); break;
        case O_CPU:
            if (ri.ncpu == MAX_PAIRS || !strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "pipeline_report: --cpu wants PROCESS=VALUE (at most %d)\n", MAX_PAIRS);
                return 2;
            }
            ri.cpu[ri.ncpu++] = optarg;
            break;
        case O_FIELD:
            if (ri.nfields == MAX_PAIRS || !strchr(optarg, '=') || optarg[0] == '=') {
                fprintf(stderr, "pipeline_report: --field wants KEY=NUMBER (at most %d)\n", MAX_PAIRS);
                return 2;
            }
            ri.fields[ri.nfields++] = optarg;
            break;
        case O_ROW: row = true; break;
        case O_HEADER: print_header(); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!instance || optind != argc) {
        usage(stderr);
        return 2;
    }

    char name[SHM_NAME_MAX];
    shm_segment_t exe;
    if (shm_name(name, sizeof name, prefix, instance, SE_RING_EXEC) < 0 || shm_segment_map(&exe, name, false) < 0) {
        fprintf(stderr, "pipeline_report: %s\n", se_errmsg());
        return 1;
    }
    if (exe.hdr->record_type != SE_RECTYPE_EXEC || exe.record_size != SE_EXEC_RECORD_SIZE) {
        fprintf(stderr, "pipeline_report: %s is not an execution report ring\n", name);
        shm_segment_unmap(&exe);
        return 1;
    }
    /* Pairs with the writer's release store of prod_seq: every record before
     * head is complete (and, the writer being gone, stays so). */
    uint64_t head = shm__load_acquire(&exe.hdr->prod_seq);
    uint64_t from = head > exe.capacity ? head - exe.capacity : 0, unreadable = 0;
    samples_t hops[HOP_COUNT];
    memset(hops, 0, sizeof hops);
    se_exec_rec_t e;
    for (uint64_t at = from; at < head; at++) {
        if (shm_peek(&exe, at, &e) != SHM_OK) {
            unreadable++;
            continue;
        }
        if (e.kind != SE_EXEC_ACK || e.ts_ingest_ns < from_ns || e.ts_ingest_ns >= to_ns || !e.ts_ingest_ns ||
            !e.ts_strategy_ns || !e.ts_risk_ns || !e.ts_exec_ns)
            continue;
        int64_t v[HOP_COUNT] = { e.ts_exec_ns - e.ts_ingest_ns, e.ts_strategy_ns - e.ts_ingest_ns,
                                 e.ts_risk_ns - e.ts_strategy_ns, e.ts_exec_ns - e.ts_risk_ns };
        for (int h = 0; h < HOP_COUNT; h++)
            if (push(&hops[h], v[h]) < 0) {
                fprintf(stderr, "pipeline_report: out of memory after %zu orders\n", hops[h].n);
                shm_segment_unmap(&exe);
                for (int k = 0; k < HOP_COUNT; k++)
                    free(hops[k].ns);
                return 1;
            }
    }
    shm_segment_unmap(&exe);
    if (unreadable)
        fprintf(stderr, "pipeline_report: %" PRIu64 " records of %s could not be read (overwritten?)\n",
                unreadable, name);

    size_t orders = hops[HOP_TOTAL].n;
    figures_t f[HOP_COUNT];
    memset(f, 0, sizeof f);
    for (int h = 0; h < HOP_COUNT && orders; h++)
        f[h] = figures(&hops[h]);

    drops_t d = { .nprocs = 0, .errors = 0 };
    if (shm_segment_list(prefix, instance, visit, &d) < 0 || d.errors)
        fprintf(stderr, "pipeline_report: drops may be incomplete: %s\n",
                d.errors ? "some segments could not be read" : se_errmsg());
    uint64_t drops = 0;
    for (int i = 0; i < d.nprocs; i++)
        drops += proc_total(&d.procs[i]);

    if (row)
        print_row(&ri, orders, f, &d, drops);
    else
        print_json(&ri, orders, f, &d, drops);
    for (int h = 0; h < HOP_COUNT; h++)
        free(hops[h].ns);
    return 0;
}
