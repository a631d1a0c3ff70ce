/* venue_fixture.c -- see venue_fixture.h. */
#include "tests/support/venue_fixture.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "tests/support/pipeline_fixture.h"
#include "tests/support/ring_fixture.h"

/* Reads one line from fd into line, within the deadline (mono ns). */
static bool read_line(int fd, char *line, size_t size, int64_t deadline)
{
    size_t n = 0;
    while (n + 1 < size) {
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            break;
        struct pollfd pfd = { fd, POLLIN, 0 };
        if (poll(&pfd, 1, (int)(left / 1000000) + 1) <= 0)
            continue;
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r <= 0)
            break;
        if (c == '\n') {
            line[n] = '\0';
            return true;
        }
        line[n++] = c;
    }
    line[n] = '\0';
    return false;
}

bool vf_start(vf_proc_t *p, char *const argv[], int seconds, int *status)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("SE_TEST_VERBOSE"))
            dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    p->pid = pid;
    p->out_fd = fds[0];
    char line[64];
    if (read_line(p->out_fd, line, sizeof line, clock_mono_ns() + (int64_t)seconds * 1000000000) &&
        (p->port = atoi(line)) > 0)
        return true;
    kill(pid, SIGKILL);
    int st = test_wait(pid);
    if (status)
        *status = st;
    close(p->out_fd);
    return false;
}

bool vf_start_venue(vf_proc_t *p, int port, const char *const *extra)
{
    char exe[512], portbuf[16];
    snprintf(exe, sizeof exe, "%s/venue-sim", pf_bin_dir());
    snprintf(portbuf, sizeof portbuf, "%d", port);
    char *argv[32] = { exe, "--port", portbuf };
    int n = 3;
    for (int i = 0; extra && extra[i] && n < 31; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return vf_start(p, argv, 10, NULL);
}

int vf_stop(vf_proc_t *p, char *line, size_t size)
{
    kill(p->pid, SIGTERM);
    int st = test_wait(p->pid);
    char buf[1024];
    line[0] = '\0';
    int64_t deadline = clock_mono_ns() + 2000000000;
    while (read_line(p->out_fd, buf, sizeof buf, deadline))
        snprintf(line, size, "%s", buf);
    close(p->out_fd);
    return st;
}

bool vf_counts_now(vf_proc_t *p, char *line, size_t size, int seconds)
{
    kill(p->pid, SIGUSR1);
    return read_line(p->out_fd, line, size, clock_mono_ns() + (int64_t)seconds * 1000000000);
}

long long vf_json_int(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(line, pat);
    return at ? atoll(at + strlen(pat)) : -1;
}

bool vf_json_str(const char *line, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *at = strstr(line, pat), *end = at ? strchr(at + strlen(pat), '"') : NULL;
    if (!end)
        return false;
    at += strlen(pat);
    snprintf(out, size, "%.*s", (int)(end - at), at);
    return true;
}

double vf_json_double(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = strstr(line, pat);
    return at ? strtod(at + strlen(pat), NULL) : NAN;
}

int vf_free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &len), 0);
    close(s);
    return ntohs(a.sin_port);
}

void vf_ord_open(shm_writer_t *w, const char *instance, uint32_t cap)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, instance, SE_RING_ORDERS), 0);
    shm_ring_spec_t spec = SE_SPEC_ORDER(cap);
    ck_assert_int_eq(shm_writer_open(w, name, &spec, NULL), 0);
}

void vf_in_open(shm_writer_t *w, const char *instance, const char *const *symbols, double mid)
{
    char name[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(name, sizeof name, NULL, instance, SE_RING_IN), 0);
    shm_ring_spec_t spec = SE_SPEC_IN(1024);
    ck_assert_int_eq(shm_writer_open(w, name, &spec, NULL), 0);
    for (int i = 0; symbols[i]; i++) {
        se_in_rec_t q;
        memset(&q, 0, sizeof q);
        q.kind = SE_IN_QUOTE;
        q.flags = SE_QUOTE_HAS_BIDASK;
        q.ts_ingest_ns = clock_real_ns();
        snprintf(q.symbol, sizeof q.symbol, "%s", symbols[i]);
        q.u.quote.bid = mid - 0.05;
        q.u.quote.ask = mid + 0.05;
        ck_assert_int_eq(shm_writer_write(w, &q), SHM_OK);
    }
}

se_order_rec_t vf_order(const char *id, const char *symbol, int side, double qty, double price, bool cancel)
{
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = cancel ? SE_ACTION_CANCEL : SE_ACTION_NEW;
    o.side = (uint8_t)side;
    o.order_type = price > 0 ? SE_ORDER_LIMIT : SE_ORDER_MARKET;
    o.strategy_index = 1;
    int64_t now = clock_real_ns();
    o.ts_ingest_ns = now - 3000;
    o.ts_strategy_ns = now - 2000;
    o.ts_risk_ns = now - 1000;
    snprintf(o.symbol, sizeof o.symbol, "%s", symbol);
    snprintf(o.client_order_id, sizeof o.client_order_id, "%s", id);
    snprintf(o.strategy, sizeof o.strategy, "momentum");
    o.qty = qty;
    o.price = price;
    return o;
}

void vf_ord_write(shm_writer_t *w, const se_order_rec_t *o)
{
    int64_t deadline = clock_mono_ns() + 10000000000LL;
    while (shm_writer_write(w, o) == SHM_FULL) {
        ck_assert_msg(clock_mono_ns() < deadline, "ring ord stayed full: execd does not read it");
        usleep(1000);
    }
}

int vf_exe_read(const char *instance, se_exec_rec_t *out, int max)
{
    return pf_read_ring(instance, SE_RING_EXEC, out, sizeof *out, max);
}

int vf_exe_count(const se_exec_rec_t *e, int n, int kind, const char *reason)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += (kind == 0 || e[i].kind == kind) &&
             (!reason || strncmp(e[i].reason, reason, strlen(reason)) == 0);
    return c;
}

int vf_exe_wait(const char *instance, se_exec_rec_t *out, int max, int kind, const char *reason, int want,
                int seconds)
{
    int64_t deadline = clock_mono_ns() + (int64_t)seconds * 1000000000;
    do {
        int n = vf_exe_read(instance, out, max);
        if (n >= 0 && vf_exe_count(out, n, kind, reason) >= want)
            return n;
        usleep(2000);
    } while (clock_mono_ns() < deadline);
    return -1;
}

int vf_file_lines(const char *path, const char *prefix)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f))
        n += strncmp(line, prefix, strlen(prefix)) == 0;
    fclose(f);
    return n;
}

double vf_metric(const char *instance, const char *process, const char *name)
{
    const char *tool = getenv("SHMTOOL");
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -i %s stats %s", tool && *tool ? tool : "bin/shmtool", instance, process);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NAN;
    char line[1024];
    double v = NAN;
    size_t n = strlen(name);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && (line[n] == '{' || line[n] == ' ')) {
            const char *sp = strrchr(line, ' ');
            v = sp ? strtod(sp + 1, NULL) : NAN;
            break;
        }
    pclose(f);
    return v;
}
