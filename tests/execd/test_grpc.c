/* test_grpc.c -- execd in live mode against bin/venue-sim, both real
 * processes on a free loopback port: acks with many calls in flight, cancels
 * and venue rejects; the venue down (circuit breaker, SE_EXEC_VENUE records,
 * no crash, every order journalled and answered) and back; the venue slow
 * (deadlines, retries with the same client_order_id, one fill per order);
 * execd killed mid-flight (journal replay, nothing lost, nothing twice); fills
 * on NATS in the contract's JSON; prices from Redis. */
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/records.h"
#include "ingest/validate.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"
#include "tests/support/venue_fixture.h"

#define MAXREC 4096

static char inst[40], conf[128], journal[128], fills[128];
static se_exec_rec_t exes[MAXREC];
static shm_writer_t ord, in; /* in: the quotes that price market orders for execd's limits */

static void setup(void)
{
    snprintf(inst, sizeof inst, "t%d-g", (int)getpid());
    snprintf(conf, sizeof conf, "/tmp/se-grpc-%d.conf", (int)getpid());
    snprintf(journal, sizeof journal, "/tmp/se-grpc-%d.journal", (int)getpid());
    snprintf(fills, sizeof fills, "/tmp/se-grpc-%d.fills", (int)getpid());
    unlink(journal);
    unlink(fills);
    vf_ord_open(&ord, inst, 1024);
    vf_in_open(&in, inst, (const char *const[]){ "BTC-USD", NULL }, 100);
}

static void teardown(void)
{
    shm_writer_close(&ord, false);
    shm_writer_close(&in, false);
    unlink(conf);
    unlink(journal);
    unlink(fills);
    char lead[64];
    snprintf(lead, sizeof lead, "se.%s.", inst);
    test_sweep_segments(lead);
}

/* The live config; extra is more `execution` keys. */
static void write_config(int port, const char *extra)
{
    FILE *f = fopen(conf, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "engine = { instance = \"%s\"; mode = \"live\"; idleSpinUs = 0; };\n"
            "execution = { target = \"127.0.0.1:%d\"; journalFile = \"%s\"; journalSync = false; %s };\n"
            "execd = { httpPort = 0; };\n",
            inst, port, journal, extra ? extra : "");
    ck_assert_int_eq(fclose(f), 0);
}

static pid_t start_execd(void)
{
    pid_t pid = pf_spawn(conf, "execd", NULL);
    ck_assert_msg(pf_wait_readers(inst, SE_RING_ORDERS, 1, 10), "execd did not attach to ord");
    return pid;
}

/* venue-sim with venue_args on a free port, and execd live against it. */
static pid_t start_pair(vf_proc_t *venue, const char *const *venue_args, const char *execution_keys)
{
    ck_assert(vf_start_venue(venue, 0, venue_args));
    write_config(venue->port, execution_keys);
    return start_execd();
}

static void send_orders(const char *prefix, int n, double price)
{
    for (int i = 0; i < n; i++) {
        char id[SE_ID_MAX];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        se_order_rec_t o = vf_order(id, "BTC-USD", i % 2 ? SE_SIDE_SELL : SE_SIDE_BUY, 1 + i % 3, price, false);
        vf_ord_write(&ord, &o);
    }
}

static int wait_exe(int kind, const char *reason, int want, int seconds)
{
    int n = vf_exe_wait(inst, exes, MAXREC, kind, reason, want, seconds);
    ck_assert_msg(n >= 0, "ring exe never had %d records of kind %d (%s)", want, kind, reason ? reason : "any");
    return n;
}

/* Every record of kind for one client_order_id. */
static int count_id(int n, int kind, const char *id)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += exes[i].kind == kind && strcmp(exes[i].client_order_id, id) == 0;
    return c;
}

START_TEST(live_should_ack_orders_with_many_calls_in_flight)
{
    const char *extra[] = { "--fill-price", "100", "--delay-ms", "100", "--fills-file", fills, NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "maxInFlight = 64;");
    send_orders("m", 50, 0);
    int n = wait_exe(SE_EXEC_ACK, NULL, 50, 30);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, NULL), 0);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(exes[i].kind, SE_EXEC_ACK);
        ck_assert_str_eq(exes[i].strategy, "momentum");
        ck_assert_msg(strncmp(exes[i].order_id, "v-", 2) == 0, "venue order id: %s", exes[i].order_id);
        ck_assert_int_eq(count_id(n, SE_EXEC_ACK, exes[i].client_order_id), 1);
        ck_assert_int_ge(exes[i].ts_report_ns, exes[i].ts_exec_ns);
    }
    /* A limit order that rests, then its cancel. */
    se_order_rec_t lim = vf_order("lim-1", "BTC-USD", SE_SIDE_BUY, 2, 50, false);
    vf_ord_write(&ord, &lim);
    wait_exe(SE_EXEC_ACK, NULL, 51, 10);
    se_order_rec_t cxl = vf_order("lim-1", "BTC-USD", SE_SIDE_BUY, 2, 50, true);
    vf_ord_write(&ord, &cxl);
    n = wait_exe(SE_EXEC_CANCELLED, NULL, 1, 10);
    ck_assert_int_eq(count_id(n, SE_EXEC_CANCELLED, "lim-1"), 1);
    vf_ord_write(&ord, &cxl); /* a strategy that asks again is answered again */
    n = wait_exe(SE_EXEC_CANCELLED, NULL, 2, 10);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "submits"), 51);
    ck_assert_int_eq(vf_json_int(counts, "duplicates"), 0);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 50);
    ck_assert_int_eq(vf_json_int(counts, "cancels"), 2);
    ck_assert_int_eq(vf_json_int(counts, "cancelled"), 1);
    /* Delayed answers overlap only if execd kept many calls open at once. */
    ck_assert_msg(vf_json_int(counts, "max_concurrent") >= 10, "venue saw %lld calls at once",
                  vf_json_int(counts, "max_concurrent"));
    ck_assert_int_eq(vf_file_lines(journal, "S\t"), 53);
    ck_assert_int_eq(vf_file_lines(journal, "A\t"), 53);
    ck_assert_int_eq(vf_file_lines(fills, "{\"fill_id\""), 50);
}
END_TEST

START_TEST(live_should_refuse_to_start_without_a_journal_or_a_target)
{
    const char *bad[] = {
        "execution = { target = \"127.0.0.1:1\"; };",                          /* no journal */
        "execution = { target = \"\"; journalFile = \"/tmp/x.journal\"; };",    /* no target */
        "execution = { target = \"127.0.0.1:1\"; journalFile = \"/nonexistent/dir/j\"; };",
        "execution = { target = \"127.0.0.1:1\"; journalFile = \"/tmp/x\"; maxInFlight = 0; };",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        FILE *f = fopen(conf, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "engine = { instance = \"%s\"; mode = \"live\"; };\nexecd = { httpPort = 0; };\n%s\n", inst,
                bad[i]);
        ck_assert_int_eq(fclose(f), 0);
        pid_t execd = pf_spawn(conf, "execd", NULL);
        ck_assert_msg(test_wait(execd) == 1, "execd started with %s", bad[i]);
    }
}
END_TEST

START_TEST(live_should_report_venue_rejects_without_opening_the_circuit)
{
    const char *extra[] = { "--reject-all", NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "maxConsecutiveFailures = 2;");
    send_orders("r", 5, 0);
    int n = wait_exe(SE_EXEC_REJECT, "venue_rejects_all", 5, 20);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_VENUE, NULL), 0);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_ACK, NULL), 0);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "rejected"), 5);
}
END_TEST

START_TEST(venue_down_should_open_the_circuit_and_back_should_close_it)
{
    int port = vf_free_port(); /* nobody listens there */
    write_config(port, "maxConsecutiveFailures = 3; maxRetries = 1; retryBackoffMs = 5; timeoutMs = 300;"
                       "breakerCooldownMs = 200;");
    pid_t execd = start_execd();
    send_orders("d", 3, 0);
    int n = wait_exe(SE_EXEC_VENUE, "circuit_open", 1, 20);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, "venue_unavailable"), 3);
    ck_assert(vf_metric(inst, "execd", "execution_circuit_open") == 1);
    /* shmtool decodes the record for the operator. */
    char cmd[512], line[512];
    snprintf(cmd, sizeof cmd, "%s -i %s tail exe -n 20", getenv("SHMTOOL") ? getenv("SHMTOOL") : "bin/shmtool", inst);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    bool decoded = false;
    while (fgets(line, sizeof line, p))
        decoded |= strstr(line, "VENUE circuit_open") != NULL;
    pclose(p);
    ck_assert_msg(decoded, "shmtool tail exe does not show the VENUE record");
    /* While open, orders are refused at once. */
    send_orders("o", 2, 0);
    n = wait_exe(SE_EXEC_REJECT, "venue_unavailable", 5, 10);
    ck_assert_int_eq(kill(execd, 0), 0); /* alive */
    ck_assert_int_eq(vf_file_lines(journal, "S\t"), 5);
    ck_assert_int_eq(vf_file_lines(journal, "A\t"), 5);
    /* The venue comes back on that port: the probe closes the circuit. */
    const char *extra[] = { "--fill-price", "100", NULL };
    vf_proc_t venue;
    ck_assert(vf_start_venue(&venue, port, extra));
    wait_exe(SE_EXEC_VENUE, "circuit_closed", 1, 20);
    ck_assert(vf_metric(inst, "execd", "execution_circuit_open") == 0);
    send_orders("b", 1, 0);
    n = wait_exe(SE_EXEC_ACK, NULL, 1, 10);
    ck_assert_int_eq(count_id(n, SE_EXEC_ACK, "b-0"), 1);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 1);
}
END_TEST

START_TEST(venue_slow_should_be_retried_with_the_same_id_and_fill_once)
{
    const char *extra[] = { "--fill-price", "100", "--delay-ms", "400", "--fills-file", fills, NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "timeoutMs = 100; maxRetries = 5; retryBackoffMs = 10;");
    send_orders("s", 5, 0);
    int n = wait_exe(SE_EXEC_ACK, NULL, 5, 30);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, NULL), 0);
    ck_assert(vf_metric(inst, "execd", "execution_retries_total") >= 5);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_ge(vf_json_int(counts, "duplicates"), 5);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 5);
    ck_assert_int_eq(vf_file_lines(fills, "{\"fill_id\""), 5);
}
END_TEST

START_TEST(execd_killed_mid_flight_should_resend_from_its_journal_once)
{
    const char *extra[] = { "--fill-price", "100", "--delay-ms", "2000", NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "timeoutMs = 20000;");
    send_orders("k", 10, 0);
    /* Killed once the venue holds all ten, before any answer (2 s late). */
    char now[1024];
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    while ((!vf_counts_now(&venue, now, sizeof now, 5) || vf_json_int(now, "submits") < 10) &&
           clock_mono_ns() < deadline)
        usleep(2000);
    ck_assert_int_eq(vf_json_int(now, "submits"), 10);
    ck_assert_int_eq(vf_file_lines(journal, "S\t"), 10);
    kill(execd, SIGKILL);
    test_wait(execd);
    ck_assert_int_eq(vf_exe_read(inst, exes, MAXREC), 0); /* nothing was answered */
    /* As if execd had died before consuming them: `ord` hands them over again. */
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, inst, SE_RING_ORDERS), 0);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, true), 0);
    shm__store_release(&seg.reg->readers[0].position, 0);
    shm_segment_unmap(&seg);

    execd = start_execd();
    int n = wait_exe(SE_EXEC_ACK, NULL, 10, 20);
    ck_assert_int_eq(n, 10);
    for (int i = 0; i < 10; i++) {
        char id[SE_ID_MAX];
        snprintf(id, sizeof id, "k-%d", i);
        ck_assert_int_eq(count_id(n, SE_EXEC_ACK, id), 1);
    }
    ck_assert(vf_metric(inst, "execd", "execution_duplicates_skipped_total") == 10);
    ck_assert(vf_metric(inst, "execd", "execution_journal_resent_total") == 10);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    ck_assert_int_eq(vf_file_lines(journal, "S\t"), 10);
    ck_assert_int_eq(vf_file_lines(journal, "A\t"), 10);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "submits"), 20);
    ck_assert_int_eq(vf_json_int(counts, "duplicates"), 10);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 10);
}
END_TEST

START_TEST(dropped_connections_should_be_retried_without_a_second_fill)
{
    const char *extra[] = { "--fill-price", "100", "--drop-after", "7", "--fills-file", fills, NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "maxRetries = 8; retryBackoffMs = 20; maxInFlight = 4;");
    send_orders("x", 30, 0);
    int n = wait_exe(SE_EXEC_ACK, NULL, 30, 30);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, NULL), 0);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_ge(vf_json_int(counts, "drops"), 3);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 30);
    ck_assert_int_eq(vf_file_lines(fills, "{\"fill_id\""), 30);
}
END_TEST

/* ---- NATS: a raw subscriber (the protocol is text) -------------------------- */

/* Connects to a loopback port, retrying until a just-started server listens. */

static int tcp_connect(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    while (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        ck_assert_msg(clock_mono_ns() < deadline, "nothing listens on port %d", port);
        close(s);
        s = socket(AF_INET, SOCK_STREAM, 0);
        usleep(5000);
    }
    return s;
}

/* One read from s into buf (waiting up to ms); false when nothing came. */
static bool read_more(int s, char *buf, size_t size, size_t *len, int ms)
{
    struct pollfd p = { s, POLLIN, 0 };
    if (*len + 1 >= size || poll(&p, 1, ms) <= 0)
        return false;
    ssize_t r = read(s, buf + *len, size - 1 - *len);
    if (r <= 0)
        return false;
    *len += (size_t)r;
    buf[*len] = '\0';
    return true;
}

/* True once buf holds the whole fill message of client_order_id id. */
static bool has_fill(const char *buf, const char *id)
{
    char key[64];
    snprintf(key, sizeof key, "\"client_order_id\":\"%s\"", id);
    const char *at = strstr(buf, key);
    return at && strstr(at, "}\r\n");
}

/* Reads until buf holds `needle` (or the deadline). */
static bool read_until(int s, char *buf, size_t size, size_t *len, const char *needle, int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    while (!strstr(buf, needle) && clock_mono_ns() < deadline)
        read_more(s, buf, size, len, 10);
    return strstr(buf, needle) != NULL;
}

START_TEST(fills_should_go_to_nats_in_the_contract_format)
{
    int nport = vf_free_port();
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", nport);
    fflush(NULL);
    pid_t nats = fork();
    if (nats == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", portbuf, (char *)NULL);
        _exit(127);
    }
    int s = tcp_connect(nport);
    const char *sub = "CONNECT {\"verbose\":false}\r\nSUB fills.> 1\r\nPING\r\n";
    ck_assert_int_eq(write(s, sub, strlen(sub)), (ssize_t)strlen(sub));
    static char buf[65536];
    size_t len = 0;
    buf[0] = '\0';
    ck_assert(read_until(s, buf, sizeof buf, &len, "PONG", 10));
    char url[64];
    snprintf(url, sizeof url, "nats://127.0.0.1:%d", nport);
    const char *extra[] = { "--fill-price", "101.5", "--nats", url, NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, NULL);
    send_orders("n", 2, 0);
    for (int64_t dl = clock_mono_ns() + 20000000000LL; clock_mono_ns() < dl;) {
        if (has_fill(buf, "n-0") && has_fill(buf, "n-1"))
            break;
        read_more(s, buf, sizeof buf, &len, 10);
    }
    ck_assert_msg(has_fill(buf, "n-0") && has_fill(buf, "n-1"), "fills never came: %s", buf);
    /* Each MSG line is followed by its payload: validate it as ingest would. */
    int seen = 0;
    for (char *m = strstr(buf, "MSG fills.BTC-USD "); m; m = strstr(m + 1, "MSG fills.BTC-USD ")) {
        char *payload = strstr(m, "\r\n") + 2;
        char *end = strstr(payload, "\r\n");
        ck_assert_ptr_nonnull(end);
        se_in_rec_t r;
        val_detail_t why;
        ck_assert_msg(val_fill(payload, (size_t)(end - payload), &r, &why) == VAL_OK, "%s", why.text);
        ck_assert_double_eq(r.u.fill.price, 101.5);
        ck_assert_str_eq(r.symbol, "BTC-USD");
        ck_assert(strncmp(r.u.fill.client_order_id, "n-", 2) == 0);
        ck_assert(strncmp(r.u.fill.order_id, "v-", 2) == 0);
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    close(s);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "nats_errors"), 0);
    kill(nats, SIGTERM);
    test_wait(nats);
}
END_TEST

/* ---- Redis: prices for venue-sim, published over a raw RESP connection ------- */

static pid_t start_redis(int port)
{
    char portbuf[16];
    snprintf(portbuf, sizeof portbuf, "%d", port);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execlp("redis-server", "redis-server", "--port", portbuf, "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* PUBLISHes a quote on md.<symbol>; returns the number of subscribers that got it. */
static int publish_quote(int s, const char *symbol, double bid, double ask)
{
    char channel[64], json[256], cmd[512];
    snprintf(channel, sizeof channel, "md.%s", symbol);
    snprintf(json, sizeof json, "{\"symbol\":\"%s\",\"bid\":%g,\"ask\":%g,\"ts\":1732400000000000000}", symbol,
             bid, ask);
    int n = snprintf(cmd, sizeof cmd, "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n%s\r\n", strlen(channel),
                     channel, strlen(json), json);
    ck_assert_int_eq(write(s, cmd, (size_t)n), n);
    char reply[64];
    size_t len = 0;
    reply[0] = '\0';
    ck_assert(read_until(s, reply, sizeof reply, &len, "\r\n", 5));
    ck_assert_msg(reply[0] == ':', "PUBLISH answered %s", reply);
    return atoi(reply + 1);
}

/* Publishes until venue-sim has taken `want` prices in. */
static void feed_price(int s, vf_proc_t *venue, double bid, double ask, int want)
{
    char counts[1024];
    for (int64_t dl = clock_mono_ns() + 20000000000LL;; usleep(5000)) {
        ck_assert_msg(clock_mono_ns() < dl, "venue-sim never took the price in");
        if (publish_quote(s, "BTC-USD", bid, ask) < 1)
            continue;
        for (int64_t d2 = clock_mono_ns() + 2000000000LL; clock_mono_ns() < d2; usleep(2000))
            if (vf_counts_now(venue, counts, sizeof counts, 5) && vf_json_int(counts, "prices") >= want)
                return;
    }
}

/* The price of the fill of client_order_id id in the fills file, or NAN. */
static double fill_price(const char *id)
{
    FILE *f = fopen(fills, "r");
    if (!f)
        return NAN;
    char line[1024], key[96];
    snprintf(key, sizeof key, "\"client_order_id\":\"%s\"", id);
    double px = NAN;
    while (fgets(line, sizeof line, f))
        if (strstr(line, key))
            px = strtod(strstr(line, "\"price\":") + 8, NULL);
    fclose(f);
    return px;
}

static double wait_fill(const char *id)
{
    for (int64_t dl = clock_mono_ns() + 20000000000LL; clock_mono_ns() < dl; usleep(2000))
        if (!isnan(fill_price(id)))
            return fill_price(id);
    ck_abort_msg("no fill for %s", id);
    return NAN;
}

START_TEST(venue_should_fill_at_redis_prices_and_rest_limit_orders)
{
    int rport = vf_free_port();
    pid_t redis = start_redis(rport);
    int s = tcp_connect(rport);
    char url[64];
    snprintf(url, sizeof url, "127.0.0.1:%d", rport);
    const char *extra[] = { "--redis", url, "--fills-file", fills, NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, NULL);
    feed_price(s, &venue, 100.5, 100.6, 1);
    se_order_rec_t o[3] = {
        vf_order("q-1", "BTC-USD", SE_SIDE_BUY, 1, 0, false),
        vf_order("q-2", "BTC-USD", SE_SIDE_SELL, 1, 0, false),
        vf_order("q-3", "BTC-USD", SE_SIDE_BUY, 1, 99.5, false), /* below the ask: rests */
    };
    for (int i = 0; i < 3; i++)
        vf_ord_write(&ord, &o[i]);
    wait_exe(SE_EXEC_ACK, NULL, 3, 20);
    ck_assert_double_eq(wait_fill("q-1"), 100.6);
    ck_assert_double_eq(wait_fill("q-2"), 100.5);
    ck_assert(isnan(fill_price("q-3")));
    feed_price(s, &venue, 99.3, 99.4, 2); /* the ask crosses the limit */
    ck_assert_double_eq(wait_fill("q-3"), 99.4);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "fills"), 3);
    close(s);
    kill(redis, SIGTERM);
    test_wait(redis);
}
END_TEST

START_TEST(hard_limits_should_refuse_an_order_before_the_venue_and_the_journal)
{
    const char *extra[] = { "--fill-price", "100", NULL };
    vf_proc_t venue;
    pid_t execd = start_pair(&venue, extra, "limits = { maxOrderQty = 5.0; symbols = [\"BTC-USD\"]; };");
    se_order_rec_t o[4] = {
        vf_order("ok-1", "BTC-USD", SE_SIDE_BUY, 5, 0, false),
        vf_order("big-1", "BTC-USD", SE_SIDE_BUY, 5.5, 0, false),
        vf_order("off-1", "ETH-USD", SE_SIDE_SELL, 1, 2500, false),
        vf_order("big-1", "BTC-USD", SE_SIDE_BUY, 5.5, 0, true), /* its cancel still goes to the venue */
    };
    for (int i = 0; i < 4; i++)
        vf_ord_write(&ord, &o[i]);
    int n = wait_exe(SE_EXEC_REJECT, NULL, 3, 20);
    ck_assert_int_eq(count_id(n, SE_EXEC_ACK, "ok-1"), 1);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, "exec_max_qty"), 1);
    ck_assert_int_eq(vf_exe_count(exes, n, SE_EXEC_REJECT, "exec_symbol_not_allowed"), 1);
    ck_assert_int_eq(count_id(n, SE_EXEC_REJECT, "off-1"), 1);
    ck_assert_int_eq(pf_stop(&execd, 1), 0);
    char counts[1024];
    ck_assert_int_eq(vf_stop(&venue, counts, sizeof counts), 0);
    ck_assert_int_eq(vf_json_int(counts, "submits"), 1); /* ok-1 only */
    ck_assert_int_eq(vf_json_int(counts, "cancels"), 1);
    /* Never sent, so never journalled: the journal holds what reached the venue. */
    ck_assert_int_eq(vf_file_lines(journal, "S\tnew\t"), 1);
    ck_assert_int_eq(vf_file_lines(journal, "S\tcancel\tbig-1"), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("execd_grpc");
    TCase *tc = tcase_create("live");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 90);
    tcase_add_test(tc, live_should_ack_orders_with_many_calls_in_flight);
    tcase_add_test(tc, live_should_refuse_to_start_without_a_journal_or_a_target);
    tcase_add_test(tc, live_should_report_venue_rejects_without_opening_the_circuit);
    tcase_add_test(tc, venue_down_should_open_the_circuit_and_back_should_close_it);
    tcase_add_test(tc, venue_slow_should_be_retried_with_the_same_id_and_fill_once);
    tcase_add_test(tc, execd_killed_mid_flight_should_resend_from_its_journal_once);
    tcase_add_test(tc, dropped_connections_should_be_retried_without_a_second_fill);
    tcase_add_test(tc, fills_should_go_to_nats_in_the_contract_format);
    tcase_add_test(tc, venue_should_fill_at_redis_prices_and_rest_limit_orders);
    tcase_add_test(tc, hard_limits_should_refuse_an_order_before_the_venue_and_the_journal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
