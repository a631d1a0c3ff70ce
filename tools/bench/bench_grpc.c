/* bench_grpc.c -- live execution's throughput and submit latency: bin/execd
 * in live mode against bin/venue-sim on loopback, both real processes, the
 * benchmark playing riskd (it writes ring `ord`) and reading ring `exe`.
 * The goal is >= 10k orders/s and p99 under 1 ms.
 *
 * Three set-ups, each a fresh venue, execd and journal per run:
 *   serial            execution.maxInFlight = 1: one call at a time (the baseline)
 *   in_flight         maxInFlight = 256, journalSync = false (the journal is
 *                     written, not fdatasync'ed)
 *   in_flight_fsync   maxInFlight = 256, journalSync = true (one fdatasync per
 *                     batch of orders, before any of it is sent; ext4 here)
 * Each run has two parts:
 *   burst  --orders market orders written as fast as `ord` takes them:
 *          orders/s = orders / (last answer - first order taken by execd)
 *   paced  --paced orders at --rate per second (a load execd keeps up with):
 *          the latency a single order sees
 * Latencies come from the records: "submit" is ts_report_ns - ts_exec_ns
 * (execd took the order from `ord` -> its answer written to `exe`: journal,
 * call, venue, answer), "ord_to_exe" is ts_report_ns - ts_risk_ns (the
 * benchmark wrote the order -> the answer), so it adds execd's wake-up.
 * CPU: user + system time of execd and of venue-sim over the run, per order.
 * Every figure is the median over --runs runs (CPU: the mean); ratios are
 * against serial.
 * Usage: bench_grpc [--bin DIR] [--orders N] [--paced N] [--rate R] [--runs R] [--json FILE] */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"

#define MAX_RUNS 15

typedef struct {
    const char *name;
    int max_in_flight;
    bool sync;
} setup_t;

static const setup_t setups[] = {
    { "serial", 1, false },
    { "in_flight", 256, false },
    { "in_flight_fsync", 256, true },
};
#define NSETUPS (int)(sizeof setups / sizeof setups[0])

typedef struct {
    double orders_per_s;
    int64_t burst_p50, burst_p99;             /* submit, under the burst */
    int64_t submit_p50, submit_p99, submit_p999; /* paced */
    int64_t e2e_p50, e2e_p99;                 /* paced, ord_to_exe */
    int rejects;
    double execd_cpu_us, venue_cpu_us; /* CPU time per order, user + system, all threads */
} result_t;

static const char *bin = "build/release/bin";
static int orders = 20000, paced = 3000, rate = 1000, runs = 3;
static se_exec_rec_t *exes;

static void die(const char *what)
{
    fprintf(stderr, "bench_grpc: %s\n", what);
    exit(1);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int64_t pct(int64_t *v, int n, double p)
{
    int i = (int)(p * n);
    return v[i >= n ? n - 1 : i];
}

/* ---- the two processes ------------------------------------------------------ */

static pid_t spawn(char *const argv[], int *out_fd)
{
    int fds[2];
    if (out_fd && pipe(fds) < 0)
        die("pipe");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (out_fd) {
            dup2(fds[1], 1);
            close(fds[0]);
            close(fds[1]);
        }
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    if (out_fd) {
        close(fds[1]);
        *out_fd = fds[0];
    }
    return pid;
}

static int read_port(int fd)
{
    char line[32];
    size_t n = 0;
    struct pollfd p = { fd, POLLIN, 0 };
    while (n + 1 < sizeof line && poll(&p, 1, 10000) > 0 && read(fd, &line[n], 1) == 1 && line[n] != '\n')
        n++;
    line[n] = '\0';
    return atoi(line);
}

/* Stops pid and returns the CPU time it used, in microseconds. */
static double stop(pid_t pid)
{
    struct rusage ru;
    kill(pid, SIGTERM);
    if (wait4(pid, NULL, 0, &ru) < 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void unlink_segment(const char *name, const char *ring, void *arg)
{
    (void)ring, (void)arg;
    shm_unlink(name);
}

/* Waits until execd holds the reader slot of `ord`. */
static void wait_attached(shm_writer_t *ord)
{
    for (int64_t dl = clock_mono_ns() + 10000000000LL; clock_mono_ns() < dl; usleep(1000))
        if (shm_segment_reader_alive(&ord->seg, 0))
            return;
    die("execd did not attach to ring ord");
}

static void write_order(shm_writer_t *ord, int i, const char *tag)
{
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = SE_ACTION_NEW;
    o.side = i % 2 ? SE_SIDE_SELL : SE_SIDE_BUY;
    o.order_type = SE_ORDER_MARKET;
    snprintf(o.symbol, sizeof o.symbol, "BTC-USD");
    snprintf(o.client_order_id, sizeof o.client_order_id, "bench-%s-%d", tag, i);
    snprintf(o.strategy, sizeof o.strategy, "bench");
    o.qty = 1;
    o.ts_risk_ns = o.ts_strategy_ns = clock_real_ns();
    while (shm_writer_write(ord, &o) == SHM_FULL)
        shm__cpu_relax();
}

/* Reads `exe` until it holds want records (or 60 s pass); returns how many. */
static int collect(const char *instance, int want)
{
    char name[SHM_NAME_MAX];
    shm_name(name, sizeof name, NULL, instance, SE_RING_EXEC);
    int n = 0;
    for (int64_t dl = clock_mono_ns() + 60000000000LL; clock_mono_ns() < dl; usleep(2000)) {
        shm_segment_t seg;
        if (shm_segment_map(&seg, name, false) < 0)
            continue;
        uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
        for (n = 0; (uint64_t)n < head && n < want; n++)
            if (shm_peek(&seg, (uint64_t)n, &exes[n]) != SHM_OK)
                break;
        shm_segment_unmap(&seg);
        if (n >= want)
            return n;
    }
    return n;
}

/* Latencies of records [from, to) into v (ns); returns how many were ACKs. */
static int latencies(int from, int to, int64_t *submit, int64_t *e2e, int *rejects)
{
    int n = 0;
    for (int i = from; i < to; i++) {
        if (exes[i].kind != SE_EXEC_ACK) {
            (*rejects)++;
            continue;
        }
        submit[n] = exes[i].ts_report_ns - exes[i].ts_exec_ns;
        e2e[n++] = exes[i].ts_report_ns - exes[i].ts_risk_ns;
    }
    qsort(submit, (size_t)n, sizeof *submit, cmp_i64);
    qsort(e2e, (size_t)n, sizeof *e2e, cmp_i64);
    return n;
}

static result_t run_once(const setup_t *s, int run)
{
    result_t r = { 0 };
    char instance[64], conf[128], journal[128], venue_exe[512], execd_exe[512], maxo[32];
    snprintf(instance, sizeof instance, "bg%d-%d", (int)getpid(), run);
    snprintf(conf, sizeof conf, "/var/tmp/se-bench-grpc-%d.conf", (int)getpid());
    snprintf(journal, sizeof journal, "/var/tmp/se-bench-grpc-%d.journal", (int)getpid());
    snprintf(venue_exe, sizeof venue_exe, "%s/venue-sim", bin);
    snprintf(execd_exe, sizeof execd_exe, "%s/execd", bin);
    snprintf(maxo, sizeof maxo, "%d", 2 * (orders + paced));
    unlink(journal);
    int out;
    char *vargv[] = { venue_exe, "--port", "0", "--fill-price", "100", "--max-orders", maxo, NULL };
    pid_t venue = spawn(vargv, &out);
    int port = read_port(out);
    if (port <= 0)
        die("venue-sim did not start (is it built?)");
    uint32_t cap = 1024;
    while (cap < (uint32_t)(orders + paced))
        cap *= 2;
    FILE *f = fopen(conf, "w");
    if (!f)
        die("cannot write the config");
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"live\"; idleSpinUs = 0; };\n"
            "execution = { target = \"127.0.0.1:%d\"; journalFile = \"%s\"; journalSync = %s;\n"
            "  maxInFlight = %d; timeoutMs = 5000; exeRingCapacity = %u;\n"
            /* The transport is measured, not execd's hard limits: a burst of
             * all the orders at once must pass. */
            "  limits = { maxOrdersPerSecond = 1000000; }; };\n"
            "execd = { httpPort = 0; };\n",
            instance, port, journal, s->sync ? "true" : "false", s->max_in_flight, cap);
    fclose(f);
    char oname[SHM_NAME_MAX];
    shm_name(oname, sizeof oname, NULL, instance, SE_RING_ORDERS);
    shm_writer_t ord;
    shm_ring_spec_t spec = SE_SPEC_ORDER(4096);
    if (shm_writer_open(&ord, oname, &spec, NULL) < 0)
        die("cannot create ring ord");
    /* Ring `in` with a quote, as ingest would write it: execd's hard limits
     * value a market order at its symbol's ask (and refuse one with no price). */
    char iname[SHM_NAME_MAX];
    shm_name(iname, sizeof iname, NULL, instance, SE_RING_IN);
    shm_writer_t in;
    shm_ring_spec_t ispec = SE_SPEC_IN(1024);
    se_in_rec_t q;
    memset(&q, 0, sizeof q);
    q.kind = SE_IN_QUOTE;
    q.flags = SE_QUOTE_HAS_BIDASK;
    snprintf(q.symbol, sizeof q.symbol, "BTC-USD");
    q.u.quote.bid = 99.95;
    q.u.quote.ask = 100.05;
    if (shm_writer_open(&in, iname, &ispec, NULL) < 0 || shm_writer_write(&in, &q) != SHM_OK)
        die("cannot create ring in");
    char *eargv[] = { execd_exe, "-c", conf, NULL };
    pid_t execd = spawn(eargv, NULL);
    wait_attached(&ord);

    for (int i = 0; i < orders; i++)
        write_order(&ord, i, "b");
    if (collect(instance, orders) < orders)
        die("not every burst order was answered within 60 s");
    int64_t first = INT64_MAX, last = 0;
    for (int i = 0; i < orders; i++) {
        first = exes[i].ts_exec_ns < first ? exes[i].ts_exec_ns : first;
        last = exes[i].ts_report_ns > last ? exes[i].ts_report_ns : last;
    }
    r.orders_per_s = orders / ((double)(last - first) / 1e9);
    int64_t *a = malloc(sizeof *a * (size_t)(orders + paced)), *b = malloc(sizeof *b * (size_t)(orders + paced));
    int n = latencies(0, orders, a, b, &r.rejects);
    r.burst_p50 = pct(a, n, 0.50);
    r.burst_p99 = pct(a, n, 0.99);

    int64_t t0 = clock_mono_ns(), gap = 1000000000LL / rate;
    for (int i = 0; i < paced; i++) {
        int64_t at = t0 + i * gap;
        while (clock_mono_ns() < at) {
            struct timespec ts = { 0, 20000 };
            nanosleep(&ts, NULL);
        }
        write_order(&ord, i, "p");
    }
    if (collect(instance, orders + paced) < orders + paced)
        die("not every paced order was answered within 60 s");
    n = latencies(orders, orders + paced, a, b, &r.rejects);
    r.submit_p50 = pct(a, n, 0.50);
    r.submit_p99 = pct(a, n, 0.99);
    r.submit_p999 = pct(a, n, 0.999);
    r.e2e_p50 = pct(b, n, 0.50);
    r.e2e_p99 = pct(b, n, 0.99);
    free(a);
    free(b);
    r.execd_cpu_us = stop(execd) / (orders + paced);
    r.venue_cpu_us = stop(venue) / (orders + paced);
    close(out);
    shm_writer_close(&ord, false);
    shm_writer_close(&in, false);
    shm_segment_list(NULL, instance, unlink_segment, NULL);
    unlink(conf);
    unlink(journal);
    return r;
}

static int64_t med_i64(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_i64);
    return v[n / 2];
}

static result_t median(const result_t *rs, int n)
{
    result_t m = { 0 };
    int64_t v[MAX_RUNS];
    double d[MAX_RUNS];
#define MED(field)                  \
    for (int i = 0; i < n; i++)     \
        v[i] = rs[i].field;         \
    m.field = med_i64(v, n);
    MED(burst_p50) MED(burst_p99) MED(submit_p50) MED(submit_p99) MED(submit_p999) MED(e2e_p50) MED(e2e_p99)
#undef MED
    for (int i = 0; i < n; i++) {
        d[i] = rs[i].orders_per_s;
        m.rejects += rs[i].rejects;
        m.execd_cpu_us += rs[i].execd_cpu_us / n;
        m.venue_cpu_us += rs[i].venue_cpu_us / n;
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            double t = d[j];
            d[j] = d[j - 1];
            d[j - 1] = t;
        }
    m.orders_per_s = d[n / 2];
    return m;
}

int main(int argc, char **argv)
{
    const char *json = NULL;
    static const struct option opts[] = { { "bin", 1, 0, 'b' },  { "orders", 1, 0, 'o' }, { "paced", 1, 0, 'p' },
                                          { "rate", 1, 0, 'r' }, { "runs", 1, 0, 'n' },   { "json", 1, 0, 'j' },
                                          { "help", 0, 0, 'h' }, { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bin = optarg; break;
        case 'o': orders = atoi(optarg); break;
        case 'p': paced = atoi(optarg); break;
        case 'r': rate = atoi(optarg); break;
        case 'n': runs = atoi(optarg); break;
        case 'j': json = optarg; break;
        default:
            fprintf(stderr, "usage: bench_grpc [--bin DIR] [--orders N] [--paced N] [--rate R] [--runs 1..%d] "
                            "[--json FILE]\n", MAX_RUNS);
            return c == 'h' ? 0 : 2;
        }
    }
    if (orders < 100 || paced < 100 || rate < 1 || runs < 1 || runs > MAX_RUNS)
        die("--orders >= 100, --paced >= 100, --rate >= 1, --runs 1..15");
    signal(SIGPIPE, SIG_IGN);
    exes = malloc(sizeof *exes * (size_t)(orders + paced));
    result_t res[NSETUPS];
    for (int s = 0; s < NSETUPS; s++) {
        result_t rs[MAX_RUNS];
        for (int i = 0; i < runs; i++)
            rs[i] = run_once(&setups[s], s * MAX_RUNS + i);
        res[s] = median(rs, runs);
    }
    printf("execd -> venue-sim over gRPC on loopback: %d burst + %d paced (%d/s) market orders, median of %d runs\n",
           orders, paced, rate, runs);
    printf("%-16s %12s %9s | %-28s | %-22s | %-22s | %s\n", "set-up", "orders/s", "x serial",
           "paced submit p50/p99/p99.9 us", "paced ord->exe p50/p99", "burst submit p50/p99 us",
           "CPU us/order execd, venue");
    for (int s = 0; s < NSETUPS; s++)
        printf("%-16s %12.0f %8.1fx | %8.1f %8.1f %9.1f | %10.1f %10.1f | %10.1f %10.1f | %6.1f %6.1f%s\n",
               setups[s].name, res[s].orders_per_s, res[s].orders_per_s / res[0].orders_per_s,
               res[s].submit_p50 / 1e3, res[s].submit_p99 / 1e3, res[s].submit_p999 / 1e3, res[s].e2e_p50 / 1e3,
               res[s].e2e_p99 / 1e3, res[s].burst_p50 / 1e3, res[s].burst_p99 / 1e3, res[s].execd_cpu_us,
               res[s].venue_cpu_us, res[s].rejects ? "  (rejects!)" : "");
    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            die("cannot write the JSON file");
        fprintf(f, "{\"orders\":%d,\"paced\":%d,\"rate\":%d,\"runs\":%d,\"setups\":{", orders, paced, rate, runs);
        for (int s = 0; s < NSETUPS; s++)
            fprintf(f,
                    "%s\"%s\":{\"max_in_flight\":%d,\"journal_fdatasync\":%s,\"orders_per_s\":%.0f,"
                    "\"ratio_to_serial\":%.2f,\"paced_submit_p50_us\":%.1f,\"paced_submit_p99_us\":%.1f,"
                    "\"paced_submit_p999_us\":%.1f,\"paced_ord_to_exe_p50_us\":%.1f,\"paced_ord_to_exe_p99_us\":%.1f,"
                    "\"burst_submit_p50_us\":%.1f,\"burst_submit_p99_us\":%.1f,\"rejects\":%d,"
                    "\"execd_cpu_us_per_order\":%.1f,\"venue_cpu_us_per_order\":%.1f}",
                    s ? "," : "", setups[s].name, setups[s].max_in_flight, setups[s].sync ? "true" : "false",
                    res[s].orders_per_s, res[s].orders_per_s / res[0].orders_per_s, res[s].submit_p50 / 1e3,
                    res[s].submit_p99 / 1e3, res[s].submit_p999 / 1e3, res[s].e2e_p50 / 1e3, res[s].e2e_p99 / 1e3,
                    res[s].burst_p50 / 1e3, res[s].burst_p99 / 1e3, res[s].rejects, res[s].execd_cpu_us,
                    res[s].venue_cpu_us);
        fprintf(f, "}}\n");
        fclose(f);
    }
    free(exes);
    return 0;
}
