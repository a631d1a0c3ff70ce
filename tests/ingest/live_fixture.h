/* live_fixture.h -- helpers for the live-feed suites (test_redis_feed.c,
 * test_nats_feed.c): a free loopback port, redis-server and nats-server
 * started on it and stopped again (killed by the registry if a test dies),
 * bin/ingest started on a config, and polling ingest's metrics with a
 * deadline. Header-only, like ingest_fixture.h, for the same reason. */
#ifndef TESTS_INGEST_LIVE_FIXTURE_H
#define TESTS_INGEST_LIVE_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/config.h"
#include "ingest/validate.h"
#include "tests/ingest/ingest_fixture.h"
#include "tests/support/pipeline_fixture.h"

/* A TCP socket bound to 127.0.0.1 on a port the kernel chose (stored in
 * *port). */
static inline int lfx_bind_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A TCP port on 127.0.0.1 that was free a moment ago: bound to port 0, read
 * back, closed. Another process may take it before the server does; the
 * start functions notice (the server exits) and ask for another. */
static inline int lfx_free_port(void)
{
    int port;
    close(lfx_bind_any(&port));
    return port;
}

/* True once something accepts TCP connections on 127.0.0.1:port. */
static inline bool lfx_port_open(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* Forks and execs argv (argv[0] looked up in PATH) with stdout and stderr to
 * /dev/null (kept with SE_TEST_VERBOSE), registered for clean-up. */
static inline pid_t lfx_exec(char *const argv[])
{
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("SE_TEST_VERBOSE")) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    ifx_register_helper(pid);
    return pid;
}

/* Waits until the server pid listens on port. False if it exited first (the
 * port was taken) or after 10 s. */
static inline bool lfx_wait_listening(pid_t pid, int port)
{
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    while (clock_mono_ns() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid)
            return false;
        if (lfx_port_open(port))
            return true;
        usleep(5000);
    }
    return false;
}

/* Builds the command line of a server for port (ps holds its digits) into
 * argv (room for 16 entries, NULL-terminated). */
typedef void lfx_argv_fn(const char *ps, char **argv, const void *arg);

/* Starts the server argv_for describes on *port (0: a free one, stored back)
 * and returns its pid once it listens; a free port taken meanwhile by
 * someone else makes it try another (five in all). */
static inline pid_t lfx_start_server(int *port, const char *what, lfx_argv_fn *argv_for, const void *arg)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        int p = *port ? *port : lfx_free_port();
        char ps[16];
        snprintf(ps, sizeof ps, "%d", p);
        char *argv[16];
        argv_for(ps, argv, arg);
        pid_t pid = lfx_exec(argv);
        if (lfx_wait_listening(pid, p)) {
            *port = p;
            return pid;
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ck_assert_msg(*port == 0, "%s did not start on port %d", what, p);
    }
    ck_abort_msg("%s did not start on any of 5 free ports (is it installed?)", what);
    return -1;
}

static inline void lfx_redis_argv(const char *ps, char **argv, const void *arg)
{
    const char *const *extra = arg;
    const char *base[] = { "redis-server", "--port", ps, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" };
    int n = 0;
    for (; n < (int)(sizeof base / sizeof base[0]); n++)
        argv[n] = (char *)base[n];
    for (int i = 0; extra && extra[i] && n < 15; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
}

/* Starts redis-server on *port (0: a free one) without persistence; extra
 * (NULL-terminated, may be NULL) adds arguments such as "--requirepass", "pw". */
static inline pid_t lfx_start_redis(int *port, const char *const *extra)
{
    return lfx_start_server(port, "redis-server", lfx_redis_argv, extra);
}

static inline void lfx_nats_argv(const char *ps, char **argv, const void *arg)
{
    const char *jsdir = arg;
    const char *base[] = { "nats-server", "-a", "127.0.0.1", "-p", ps, "-js", "-sd", jsdir, NULL };
    if (!jsdir)
        base[5] = NULL;
    for (int n = 0; n < 9; n++)
        argv[n] = (char *)base[n];
}

/* Starts nats-server on *port (0: a free one); with jsdir, with JetStream
 * storing in jsdir. */
static inline pid_t lfx_start_nats(int *port, const char *jsdir)
{
    return lfx_start_server(port, "nats-server", lfx_nats_argv, jsdir);
}

/* Stops a started process: sig, then SIGKILL if it is still there after 10 s.
 * Returns its exit status as test_wait does. */
static inline int lfx_stop(pid_t pid, int sig)
{
    kill(pid, sig);
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    int status;
    while (clock_mono_ns() < deadline) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
        usleep(2000);
    }
    kill(pid, SIGKILL);
    return test_wait(pid);
}

/* Starts bin/ingest on conf, registered for clean-up. */
static inline pid_t lfx_start_ingest(const char *conf)
{
    pid_t pid = pf_spawn(conf, "ingest", NULL);
    ck_assert_int_gt(pid, 0);
    ifx_register_helper(pid);
    return pid;
}

/* One series of the ingest stats block (see ifx_metric), or -1 while the
 * block does not exist yet. */
static inline long long lfx_metric(const shm_settings_t *set, const char *series)
{
    char name[SHM_NAME_MAX];
    ifx_ring_name(set, "stats.ingest", name);
    shm_segment_t seg;
    if (shm_segment_map(&seg, name, false) < 0)
        return -1;
    shm_segment_unmap(&seg);
    return ifx_metric(set, series);
}

/* Waits (10 s at most) until series has the value want; fails the test
 * with the last value otherwise. ingest (pid) exiting fails it at once. */
static inline void lfx_wait_metric(const shm_settings_t *set, pid_t ingest, const char *series, long long want)
{
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    long long v = -1;
    while (clock_mono_ns() < deadline) {
        if ((v = lfx_metric(set, series)) == want)
            return;
        int status;
        ck_assert_msg(ingest <= 0 || waitpid(ingest, &status, WNOHANG) == 0,
                      "ingest exited while waiting for %s = %lld", series, want);
        usleep(2000);
    }
    ck_abort_msg("%s is %lld after 10 s, want %lld", series, v, want);
}

/* One test's programs: a server, ingest, and the test's reader of ring `in`. */
typedef struct {
    int port;
    pid_t server, ingest;
    shm_reader_t r;
} lfx_run_t;

/* Creates ring `in` for set's instance and attaches run->r at its start, so
 * the test sees every record ingest will publish. */
static inline void lfx_open_in(lfx_run_t *run, const shm_settings_t *set)
{
    ifx_precreate_in(set);
    ifx_attach_in(set, &run->r);
}

/* Stops ingest (SIGTERM: it must exit 0) and then the server, and closes the reader. */
static inline void lfx_finish(lfx_run_t *run)
{
    ck_assert_int_eq(lfx_stop(run->ingest, SIGTERM), 0);
    shm_reader_close(&run->r);
    lfx_stop(run->server, SIGTERM);
}

/* Fails unless read(cfg) of a file whose line 2 is text refuses it with
 * SE_ECONFIG and a message naming "FILE:2: key: ". */
static inline void lfx_assert_config_error(const ingest_fx_t *fx, const char *text, const char *key,
                                           int (*read)(const cfg_t *cfg))
{
    char path[160], body[256];
    ifx_path(fx, "bad.conf", path, sizeof path);
    int n = snprintf(body, sizeof body, "\n%s\n", text);
    ifx_write(path, body, (size_t)n);
    cfg_t *cfg;
    ck_assert_int_eq(cfg_open(&cfg, path), 0);
    ck_assert_int_eq(read(cfg), SE_ECONFIG);
    char want[200];
    snprintf(want, sizeof want, "%s:2: %s: ", path, key);
    ck_assert_msg(strstr(se_errmsg(), want) != NULL, "'%s' does not name %s", se_errmsg(), want);
    cfg_close(cfg);
}

/* The record the validator makes of msg, which must be valid. */
static inline se_in_rec_t lfx_expected(val_result_t (*val)(const char *, size_t, se_in_rec_t *, val_detail_t *),
                                       const char *msg)
{
    se_in_rec_t r;
    val_detail_t why;
    ck_assert_msg(val(msg, strlen(msg), &r, &why) == VAL_OK, "%s: %s", msg, why.text);
    return r;
}

/* Fails unless the payload (everything but the ingest stamps) of got equals want's. */
static inline void lfx_assert_same_payload(const se_in_rec_t *got, const se_in_rec_t *want, const char *what, int i)
{
    se_in_rec_t a = *got, b = *want;
    a.ts_ingest_ns = b.ts_ingest_ns = 0;
    a.source_seq = b.source_seq = 0;
    IFX_CHECK(memcmp(&a, &b, sizeof a) == 0, "%s %d: record differs (kind %u/%u, symbol %.16s/%.16s)", what, i,
              got->kind, want->kind, got->symbol, want->symbol);
}

#endif
