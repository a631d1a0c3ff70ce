/* bench_redis.c -- `make bench-redis`: ingest's Redis feed under load. A
 * publisher process pipelines PUBLISH to a local redis-server at a target
 * rate; bin/ingest (ingest.feed = "redis") validates each message and writes
 * it to ring `in`. Per rate: messages sent and received (ingest's
 * market_data_received_total), losses, and the publish -> `in` latency of
 * every record (ts_ingest_ns - ts, ts being the publisher's CLOCK_REALTIME
 * just before it queued the PUBLISH), p50/p99/p99.9 over all records of a
 * run; medians over runs. Reports the highest rate at which no run lost a
 * message and ingest kept up (sent >= 95% of the target).
 * Baselines in the same run: the publisher alone (PUBLISH with no subscriber)
 * and a bare hiredis subscriber (no validation, no ring), at the same rates.
 * Usage: bench_redis [--bin DIR] [--seconds S] [--runs R] [--rates R1,R2,...]
 *                    [--json FILE]   (rate 0 = as fast as the publisher goes)
 * See tools/bench/README.md, "The Redis feed benchmark". */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/clock.h"
#include "common/records.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/stats.h"

#define MAX_RATES 16
#define MAX_RUNS 9
#define RING_CAPACITY (1u << 21) /* holds every record of a run: read after it, no reader during it */
#define MAX_MESSAGES (RING_CAPACITY - 1024)

typedef struct {
    uint64_t sent, delivered; /* PUBLISH sent; subscribers Redis said it reached, summed */
    int64_t t0, t1;           /* monotonic, first and last PUBLISH */
    int64_t cpu_ns;           /* the publisher process's CPU time */
    int failed;
} pub_result_t;

typedef struct {
    double target, sent_per_s, cpu; /* cpu: the subscriber's CPU-seconds per second */
    double other_cpu;               /* the host's busy CPUs outside redis, publisher and subscriber */
    long long sent, received, lost, disconnects;
    double p50_us, p99_us, p999_us;
} run_t;

static int redis_port;
static pid_t redis_pid, ingest_pid, sub_pid;
static char tmpdir[64];
static char instance[64];

static void remove_segments(void);

static void cleanup(void)
{
    pid_t pids[3] = { ingest_pid, sub_pid, redis_pid };
    for (int i = 0; i < 3; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    ingest_pid = sub_pid = redis_pid = 0;
    if (instance[0])
        remove_segments();
    if (tmpdir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_redis: could not remove %s\n", tmpdir);
        tmpdir[0] = '\0';
    }
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(130);
}

static void die(const char *what)
{
    fprintf(stderr, "bench_redis: %s\n", what);
    cleanup();
    exit(1);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        die("no free port");
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t spawn(char *const argv[], const char *log)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void start_redis(void)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        redis_port = free_port();
        char ps[16];
        snprintf(ps, sizeof ps, "%d", redis_port);
        char *argv[] = { "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", NULL };
        redis_pid = spawn(argv, NULL);
        for (int i = 0; i < 1000; i++) {
            redisContext *c = redisConnect("127.0.0.1", redis_port);
            bool up = c && !c->err;
            redisFree(c);
            if (up)
                return;
            if (waitpid(redis_pid, NULL, WNOHANG) == redis_pid)
                break;
            usleep(10000);
        }
        kill(redis_pid, SIGKILL);
        waitpid(redis_pid, NULL, 0);
    }
    die("redis-server did not start");
}

/* ---- the publisher (a child process) --------------------------------------- */

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* A price of `cents` hundredths: "100.05". */
static char *put_cents(char *p, uint64_t cents)
{
    p = put_u64(p, cents / 100);
    *p++ = '.';
    *p++ = (char)('0' + cents / 10 % 10);
    *p++ = (char)('0' + cents % 10);
    return p;
}

/* Writes message j as a whole RESP PUBLISH command into out (formatted by
 * hand: snprintf of three doubles would make the publisher the bottleneck)
 * and returns its length. ts is taken last, just before it is queued. */
static size_t format_publish(char *out, uint64_t j)
{
    static const char *const syms[] = { "BTC-USD", "ETH-USD", "SOL-USD" };
    const char *sym = syms[j % 3];
    uint64_t bid = 10000 + j % 1000;
    char payload[256], *p = payload;
    p = put_str(p, "{\"symbol\":\"");
    p = put_str(p, sym);
    p = put_str(p, "\",\"bid\":");
    p = put_cents(p, bid);
    p = put_str(p, ",\"ask\":");
    p = put_cents(p, bid + 5);
    p = put_str(p, ",\"bid_size\":1.5,\"ask_size\":2.0,\"last\":");
    p = put_cents(p, bid + 2);
    p = put_str(p, ",\"volume\":");
    p = put_u64(p, j);
    p = put_str(p, ",\"ts\":");
    p = put_u64(p, (uint64_t)clock_real_ns());
    *p++ = '}';
    size_t plen = (size_t)(p - payload);
    char *o = out;
    o = put_str(o, "*3\r\n$7\r\nPUBLISH\r\n$");
    o = put_u64(o, 3 + strlen(sym));
    o = put_str(o, "\r\nmd.");
    o = put_str(o, sym);
    o = put_str(o, "\r\n$");
    o = put_u64(o, plen);
    o = put_str(o, "\r\n");
    memcpy(o, payload, plen);
    o += plen;
    o = put_str(o, "\r\n");
    return (size_t)(o - out);
}

/* Sends n PUBLISH at rate (0: flat out): every 100 µs (or at once, flat out)
 * a batch of what is due (at most 256), pipelined: the replies of a batch are
 * read after the next batch is queued, so the socket never idles. */
static void publish(double rate, uint64_t n, pub_result_t *out)
{
    prctl(PR_SET_TIMERSLACK, 1000UL); /* sleep to the microsecond, not 50 us */
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    if (!c || c->err) {
        out->failed = 1;
        return;
    }
    int64_t start = clock_mono_ns();
    out->t0 = start;
    uint64_t outstanding = 0, last_batch = 0;
    for (uint64_t i = 0; i < n;) {
        uint64_t b = 256;
        if (rate > 0) {
            int64_t now = clock_mono_ns();
            uint64_t due = (uint64_t)((double)(now - start) * rate / 1e9) + 1;
            if (due <= i) { /* ahead of schedule: sleep to the next 100 µs slot (or the next message) */
                int64_t next = start + (int64_t)((double)i * 1e9 / rate);
                int64_t slot = now + 100000;
                int64_t until = next > slot ? next : slot;
                struct timespec t = { until / 1000000000, until % 1000000000 };
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
                continue;
            }
            b = due - i < 256 ? due - i : 256;
        }
        if (b > n - i)
            b = n - i;
        for (uint64_t k = 0; k < b; k++) {
            char cmd[512];
            size_t len = format_publish(cmd, i + k);
            redisAppendFormattedCommand(c, cmd, len);
        }
        /* The previous batch's replies (this flushes the new batch first). */
        for (uint64_t k = 0; k < last_batch; k++) {
            redisReply *r = NULL;
            if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
                out->failed = 1;
                redisFree(c);
                return;
            }
            if (r->type == REDIS_REPLY_INTEGER)
                out->delivered += (uint64_t)r->integer;
            freeReplyObject(r);
        }
        outstanding = b;
        last_batch = b;
        i += b;
        out->sent = i;
    }
    for (uint64_t k = 0; k < outstanding; k++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK || !r) {
            out->failed = 1;
            break;
        }
        if (r->type == REDIS_REPLY_INTEGER)
            out->delivered += (uint64_t)r->integer;
        freeReplyObject(r);
    }
    out->t1 = clock_mono_ns();
    redisFree(c);
}

/* Runs the publisher in a process of its own (its result comes back
 * through a shared mapping) and waits for it. */
static void run_publisher(double rate, uint64_t n, pub_result_t *res)
{
    pub_result_t *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("out of memory");
    memset(sh, 0, sizeof *sh);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        publish(rate, n, sh);
        _exit(0);
    }
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    *res = *sh;
    res->cpu_ns = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
                  (int64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
    munmap(sh, sizeof *sh);
    if (res->failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 || res->t1 <= res->t0)
        die("the publisher failed (lost its connection to redis-server?)");
}

/* ---- the bare subscriber (baseline, a child process) ------------------------- */

typedef struct {
    _Atomic uint64_t ready;
    _Atomic uint64_t count;
    _Atomic uint64_t done; /* set by the parent: stop */
    int64_t cpu_ns;
    int64_t lat_ns[]; /* count samples */
} sub_shared_t;

static int64_t cpu_ns_self(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* hiredis in blocking mode: PSUBSCRIBE, then for each message find "ts" and
 * take now - ts. What any subscriber pays, without ingest's validation, ring
 * and event loop. */
static void subscribe_bare(sub_shared_t *sh, uint64_t max)
{
    redisContext *c = redisConnect("127.0.0.1", redis_port);
    if (!c || c->err)
        _exit(2);
    redisReply *r = redisCommand(c, "PSUBSCRIBE md.*");
    if (!r)
        _exit(2);
    freeReplyObject(r);
    struct timeval tv = { 0, 100000 };
    redisSetTimeout(c, tv);
    shm__store_release(&sh->ready, 1);
    uint64_t n = 0;
    while (!shm__load_acquire(&sh->done)) {
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c->err = 0; /* a timeout: look at `done` again */
                continue;
            }
            break;
        }
        if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 4) {
            const char *ts = strstr(r->element[3]->str, "\"ts\":");
            int64_t now = clock_real_ns();
            if (ts && n < max)
                sh->lat_ns[n++] = now - strtoll(ts + 5, NULL, 10);
            shm__store_release(&sh->count, n);
        }
        freeReplyObject(r);
    }
    sh->cpu_ns = cpu_ns_self();
    redisFree(c);
}

/* ---- ingest ---------------------------------------------------------------- */

static long long metric(const char *series)
{
    char name[SHM_NAME_MAX];
    if (shm_name(name, sizeof name, NULL, instance, "stats.ingest") < 0)
        return -1;
    shm_segment_t seg;
    if (shm_segment_map(&seg, name, false) < 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    stats_render_prometheus(&seg, "ingest", f);
    fclose(f);
    shm_segment_unmap(&seg);
    char want[160];
    const char *brace = strchr(series, '{');
    if (brace)
        snprintf(want, sizeof want, "%.*s{process=\"ingest\",%s ", (int)(brace - series), series, brace + 1);
    else
        snprintf(want, sizeof want, "%s{process=\"ingest\"} ", series);
    long long v = -1;
    char *p = strstr(text, want);
    if (p)
        v = strtoll(p + strlen(want), NULL, 10);
    free(text);
    return v;
}

static int64_t cpu_ns_of(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (p)
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
    return (int64_t)((ut + st) * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

/* CPU time the whole host was busy (all CPUs, /proc/stat: everything but
 * idle and iowait), in ns. */
static int64_t host_busy_ns(void)
{
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = { 0 };
    if (!f)
        return 0;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n != 8)
        return 0;
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (int64_t)(busy * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)));
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(const int64_t *v, size_t n, double q)
{
    if (n == 0)
        return -1;
    size_t k = (size_t)(q * (double)n);
    return (double)v[k < n ? k : n - 1] / 1000.0;
}

static void percentiles(int64_t *v, size_t n, run_t *out)
{
    qsort(v, n, sizeof *v, cmp_i64);
    out->p50_us = pct_us(v, n, 0.50);
    out->p99_us = pct_us(v, n, 0.99);
    out->p999_us = pct_us(v, n, 0.999);
}

/* Waits until want records were received, or the count stood still for 1 s. */
static long long wait_received(long long want)
{
    long long last = -1, v = -1;
    int64_t still_since = clock_mono_ns();
    for (;;) {
        v = metric("market_data_received_total");
        if (v >= want)
            return v;
        if (v != last) {
            last = v;
            still_since = clock_mono_ns();
        } else if (clock_mono_ns() - still_since > 1000000000) {
            return v;
        }
        usleep(2000);
    }
}

static void remove_segments(void)
{
    const char *rings[] = { "in", "stats.ingest" };
    for (int i = 0; i < 2; i++) {
        char name[SHM_NAME_MAX];
        if (shm_name(name, sizeof name, NULL, instance, rings[i]) == 0)
            shm_unlink(name);
    }
}

static void run_ingest(const char *bin, double rate, uint64_t n, int label, run_t *out)
{
    memset(out, 0, sizeof *out);
    snprintf(instance, sizeof instance, "benchr%d-%d", (int)getpid(), label);
    remove_segments();
    char conf[128], log[128], exe[512];
    snprintf(conf, sizeof conf, "%s/ingest.conf", tmpdir);
    snprintf(log, sizeof log, "%s/ingest.log", tmpdir);
    snprintf(exe, sizeof exe, "%s/ingest", bin);
    FILE *f = fopen(conf, "w");
    if (!f)
        die("cannot write the config");
    fprintf(f, "engine = { instance = \"%s\"; };\ningest = { feed = \"redis\"; httpPort = 0; ringCapacity = %u; };\n"
               "redis = { port = %d; };\n", instance, RING_CAPACITY, redis_port);
    fclose(f);
    /* Ring `in` made here first and every page of it touched, then left for
     * ingest to take over: a ring in service is reused lap after lap, so
     * allocating (and zeroing) its pages on first write is not part of what
     * ingest costs; with a fresh 512 MB ring it would be, once per 16 records. */
    char ring[SHM_NAME_MAX];
    shm_name(ring, sizeof ring, NULL, instance, "in");
    shm_ring_spec_t spec = SE_SPEC_IN(RING_CAPACITY);
    shm_writer_t w;
    if (shm_writer_open(&w, ring, &spec, NULL) < 0)
        die("cannot create ring in");
    for (uint64_t i = 0; i < (uint64_t)RING_CAPACITY * w.slot_words; i += 512) /* a store per 4 KB page */
        shm__store_relaxed(&w.records[i], 0);
    shm_writer_close(&w, false);
    char *argv[] = { exe, "-c", conf, NULL };
    ingest_pid = spawn(argv, log);
    int64_t deadline = clock_mono_ns() + 15 * 1000000000LL;
    while (metric("feed_connected{feed=\"redis\"}") != 1) {
        if (clock_mono_ns() > deadline || waitpid(ingest_pid, NULL, WNOHANG) == ingest_pid)
            die("ingest did not subscribe within 15 s (see its log in the temporary directory)");
        usleep(2000);
    }
    int64_t cpu0 = cpu_ns_of(ingest_pid), redis0 = cpu_ns_of(redis_pid), host0 = host_busy_ns();
    pub_result_t pub;
    run_publisher(rate, n, &pub);
    int64_t cpu1 = cpu_ns_of(ingest_pid), redis1 = cpu_ns_of(redis_pid), host1 = host_busy_ns();
    long long received = wait_received((long long)pub.sent);
    out->target = rate;
    out->sent = (long long)pub.sent;
    out->sent_per_s = (double)pub.sent * 1e9 / (double)(pub.t1 - pub.t0);
    out->received = received;
    out->lost = (long long)pub.sent - received;
    out->disconnects = metric("feed_disconnects_total{feed=\"redis\"}");
    out->cpu = (double)(cpu1 - cpu0) / (double)(pub.t1 - pub.t0);
    out->other_cpu = (double)((host1 - host0) - (cpu1 - cpu0) - (redis1 - redis0) - pub.cpu_ns) /
                     (double)(pub.t1 - pub.t0);
    kill(ingest_pid, SIGTERM);
    waitpid(ingest_pid, NULL, 0);
    ingest_pid = 0;

    /* The latency of every record, from the ring after the run. */
    char name[SHM_NAME_MAX];
    shm_name(name, sizeof name, NULL, instance, "in");
    shm_segment_t seg;
    if (shm_segment_map(&seg, name, false) < 0)
        die("cannot map ring in after the run");
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    int64_t *lat = malloc((head ? head : 1) * sizeof *lat);
    size_t k = 0;
    for (uint64_t pos = 0; pos < head; pos++) {
        se_in_rec_t rec;
        if (shm_peek(&seg, pos, &rec) == SHM_OK && rec.ts_source_ns > 0)
            lat[k++] = rec.ts_ingest_ns - rec.ts_source_ns;
    }
    shm_segment_unmap(&seg);
    percentiles(lat, k, out);
    free(lat);
    remove_segments();
}

static void run_bare(double rate, uint64_t n, run_t *out)
{
    memset(out, 0, sizeof *out);
    size_t size = sizeof(sub_shared_t) + n * sizeof(int64_t);
    sub_shared_t *sh = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("out of memory");
    fflush(NULL);
    sub_pid = fork();
    if (sub_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        subscribe_bare(sh, n);
        _exit(0);
    }
    while (!shm__load_acquire(&sh->ready))
        usleep(1000);
    pub_result_t pub;
    run_publisher(rate, n, &pub);
    uint64_t last = 0;
    int64_t still_since = clock_mono_ns();
    for (;;) {
        uint64_t c = shm__load_acquire(&sh->count);
        if (c >= pub.sent)
            break;
        if (c != last) {
            last = c;
            still_since = clock_mono_ns();
        } else if (clock_mono_ns() - still_since > 1000000000) {
            break;
        }
        usleep(2000);
    }
    shm__store_release(&sh->done, 1);
    waitpid(sub_pid, NULL, 0);
    sub_pid = 0;
    out->target = rate;
    out->sent = (long long)pub.sent;
    out->sent_per_s = (double)pub.sent * 1e9 / (double)(pub.t1 - pub.t0);
    out->received = (long long)shm__load_acquire(&sh->count);
    out->lost = out->sent - out->received;
    out->cpu = (double)sh->cpu_ns / (double)(pub.t1 - pub.t0); /* its whole life: an upper bound */
    percentiles(sh->lat_ns, (size_t)out->received, out);
    munmap(sh, size);
}

/* ---- medians and output ------------------------------------------------------ */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define MEDIAN_OF(runs, n, field)                                                                                      \
    ({                                                                                                               \
        double v_[MAX_RUNS];                                                                                         \
        for (int i_ = 0; i_ < (n); i_++)                                                                             \
            v_[i_] = (double)(runs)[i_].field;                                                                      \
        qsort(v_, (size_t)(n), sizeof v_[0], cmp_d);                                                                 \
        v_[(n) / 2];                                                                                                 \
    })

static run_t median_run(const run_t *runs, int n)
{
    run_t m = runs[0];
    m.sent_per_s = MEDIAN_OF(runs, n, sent_per_s);
    m.cpu = MEDIAN_OF(runs, n, cpu);
    m.other_cpu = MEDIAN_OF(runs, n, other_cpu);
    m.sent = (long long)MEDIAN_OF(runs, n, sent);
    m.received = (long long)MEDIAN_OF(runs, n, received);
    m.p50_us = MEDIAN_OF(runs, n, p50_us);
    m.p99_us = MEDIAN_OF(runs, n, p99_us);
    m.p999_us = MEDIAN_OF(runs, n, p999_us);
    m.lost = 0;
    m.disconnects = 0;
    for (int i = 0; i < n; i++) { /* losses: the worst run, not the median */
        if (runs[i].lost > m.lost)
            m.lost = runs[i].lost;
        if (runs[i].disconnects > m.disconnects)
            m.disconnects = runs[i].disconnects;
    }
    return m;
}

static void print_row(const char *who, const run_t *m)
{
    char target[32];
    if (m->target > 0)
        snprintf(target, sizeof target, "%.0f", m->target);
    else
        snprintf(target, sizeof target, "max");
    printf("%-10s %8s %10.0f %9lld %9lld %8lld %8.1f %8.1f %8.1f %5.2f", who, target, m->sent_per_s, m->sent,
           m->received, m->lost, m->p50_us, m->p99_us, m->p999_us, m->cpu);
    if (strcmp(who, "ingest") == 0)
        printf(" %5.2f", m->other_cpu);
    printf("\n");
}

/* One row as JSON; with_host adds the host's other CPU use (measured in the
 * ingest runs only) and ingest's disconnects. */
static void json_run(FILE *f, const run_t *m, bool with_host)
{
    fprintf(f,
            "{\"target_rate\":%.0f,\"sent_per_s\":%.0f,\"sent\":%lld,\"received\":%lld,\"lost\":%lld,"
            "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"cpu\":%.2f",
            m->target, m->sent_per_s, m->sent, m->received, m->lost, m->p50_us, m->p99_us, m->p999_us, m->cpu);
    if (with_host)
        fprintf(f, ",\"disconnects\":%lld,\"host_other_cpu\":%.2f", m->disconnects, m->other_cpu);
    fputc('}', f);
}

int main(int argc, char **argv)
{
    const char *bin = "bin", *json = NULL;
    double seconds = 2;
    int nruns = 3, nrates = 0;
    double rates[MAX_RATES];
    static const struct option opts[] = { { "bin", required_argument, 0, 'b' },
                                          { "seconds", required_argument, 0, 's' },
                                          { "runs", required_argument, 0, 'r' },
                                          { "rates", required_argument, 0, 'R' },
                                          { "json", required_argument, 0, 'j' },
                                          { "help", no_argument, 0, 'h' },
                                          { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b': bin = optarg; break;
        case 's': seconds = atof(optarg); break;
        case 'r': nruns = atoi(optarg); break;
        case 'j': json = optarg; break;
        case 'R':
            for (char *t = strtok(optarg, ","); t && nrates < MAX_RATES; t = strtok(NULL, ","))
                rates[nrates++] = atof(t);
            break;
        default:
            printf("usage: bench_redis [--bin DIR] [--seconds S] [--runs R] [--rates R1,R2,...] [--json FILE]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (nrates == 0) {
        const double def[] = { 50000, 100000, 200000, 400000, 0 };
        for (nrates = 0; nrates < 5; nrates++)
            rates[nrates] = def[nrates];
    }
    if (nruns < 1 || nruns > MAX_RUNS || seconds <= 0)
        die("--runs must be 1..9 and --seconds > 0");
    strcpy(tmpdir, "/tmp/bench-redis-XXXXXX");
    if (!mkdtemp(tmpdir))
        die("no temporary directory");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    start_redis();
    printf("redis-server on port %d; %d run(s) of %.1f s per rate (rate max: %u messages); medians, lost: worst run\n",
           redis_port, nruns, seconds, (unsigned)MAX_MESSAGES);
    printf("%-10s %8s %10s %9s %9s %8s %8s %8s %8s %5s %5s\n", "subscriber", "target", "sent/s", "sent", "received",
           "lost", "p50 us", "p99 us", "p999 us", "cpu", "other");

    run_t alone[MAX_RUNS], med_alone;
    for (int i = 0; i < nruns; i++) {
        pub_result_t pub;
        run_publisher(0, MAX_MESSAGES / 2, &pub);
        alone[i] = (run_t){ .target = 0, .sent = (long long)pub.sent,
                            .sent_per_s = (double)pub.sent * 1e9 / (double)(pub.t1 - pub.t0), .p50_us = -1,
                            .p99_us = -1, .p999_us = -1 };
    }
    med_alone = median_run(alone, nruns);
    print_row("none", &med_alone);

    run_t med_bare[MAX_RATES], med_ingest[MAX_RATES];
    double highest = -1;
    for (int k = 0; k < nrates; k++) {
        uint64_t n = rates[k] > 0 ? (uint64_t)(rates[k] * seconds) : MAX_MESSAGES;
        if (n > MAX_MESSAGES)
            n = MAX_MESSAGES;
        run_t runs[MAX_RUNS];
        for (int i = 0; i < nruns; i++)
            run_bare(rates[k], n, &runs[i]);
        med_bare[k] = median_run(runs, nruns);
        print_row("bare", &med_bare[k]);
        bool ok = true;
        for (int i = 0; i < nruns; i++) {
            run_ingest(bin, rates[k], n, k * 100 + i, &runs[i]);
            ok &= runs[i].lost == 0 && (rates[k] == 0 || runs[i].sent_per_s >= 0.95 * rates[k]);
        }
        med_ingest[k] = median_run(runs, nruns);
        print_row("ingest", &med_ingest[k]);
        double achieved = rates[k] > 0 ? rates[k] : med_ingest[k].sent_per_s;
        if (ok && achieved > highest)
            highest = achieved;
    }
    printf("highest rate without loss through ingest: %.0f msgs/s%s\n", highest,
           highest < 200000 ? " (goal 200000: MISS)" : " (goal 200000: PASS)");
    double other = 0;
    for (int k = 0; k < nrates; k++)
        other += med_ingest[k].other_cpu / nrates;
    if (other > 0.3)
        printf("note: other work kept %.2f of the host's %ld CPUs busy during the ingest runs; the high rates "
               "measure that contention as much as ingest\n", other, sysconf(_SC_NPROCESSORS_ONLN));

    if (json) {
        FILE *f = fopen(json, "w");
        if (!f)
            die("cannot write the JSON file");
        fprintf(f, "{\"ingest\":[");
        for (int k = 0; k < nrates; k++) {
            fprintf(f, k ? "," : "");
            json_run(f, &med_ingest[k], true);
        }
        fprintf(f, "],\"bare_subscriber\":[");
        for (int k = 0; k < nrates; k++) {
            fprintf(f, k ? "," : "");
            json_run(f, &med_bare[k], false);
        }
        fprintf(f, "],\"publisher_alone_per_s\":%.0f,\"highest_no_loss_rate\":%.0f,\"goal_rate\":200000,"
                   "\"seconds\":%.1f,\"runs\":%d,\"ncpu\":%ld}\n",
                med_alone.sent_per_s, highest, seconds, nruns, sysconf(_SC_NPROCESSORS_ONLN));
        fclose(f);
        printf("wrote %s\n", json);
    }
    cleanup();
    return 0;
}
