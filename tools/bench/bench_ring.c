/* bench_ring.c -- one-way latency and streaming throughput of the shared-memory
 * rings (shm/ring.h) against a Unix socket and ZeroMQ, between two processes.
 *
 * Why: the rings exist so that engine processes talk faster than any kernel
 * path; this program measures by how much on the machine at hand and checks
 * the targets the design promises. It is a benchmark, never a test: it exits 0
 * whether a target passes or misses, and non-zero only when it could not measure.
 *
 * How: for each transport the parent (A) forks a child (B). A ping-pong keeps
 * one 64-byte message in flight; every message carries its CLOCK_MONOTONIC send
 * time and its receiver records recv - send as one one-way sample (the child's
 * samples go into a MAP_SHARED mapping made before the fork). Then A streams
 * records to B as fast as the transport takes them and B acknowledges the last
 * one with its receive time. Run by `make bench-ring`; options: --help, and
 * tools/bench/README.md for what each figure means. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/ring.h"
#include "shm/settings.h"

#define MSG_BYTES        64
#define RING_RECORD_SIZE 64u
#define RING_CAPACITY    4096u

#define DEFAULT_MSGS          1000000ull  /* per transport, both directions of the ping-pong */
#define DEFAULT_STREAM_RING   20000000ull
#define STREAM_SOCKET_DIVISOR 10          /* sockets stream a tenth: they are that much slower */
#define DEFAULT_SPIN_US       SHM_DEFAULT_IDLE_SPIN_US /* the engine's default wait */
#define IDLE_GAP_NS           100000      /* ring_futex_idle: pause before each ping */
#define IDLE_PINGS_MAX        200000ull   /* keeps ring_futex_idle near 30 s */
#define IDLE_REF_PINGS_MAX    50000ull    /* the unix_socket reference for it: ~6 s */
#define SWEEP_DEFAULT_MSGS    40000ull    /* per cell of --spin-sweep */
/* Round trips before the measured ones: page faults, caches, branch predictors
 * and the kernel's wake-up paths are all cold at first. */
#define WARMUP_ROUNDS 2000ull

#define NS_PER_S         1000000000ll
#define WAIT_SLICE_NS    NS_PER_S          /* the longest single wait before looking at the peer */
#define STALL_NS         (10 * NS_PER_S)   /* nothing from a live peer for this long: give up */
#define OPEN_POLL_NS     (100 * 1000000ll) /* ring attach: look at the peer this often */
#define CHILD_EXIT_NS    (10 * NS_PER_S)   /* a child that finished gets this long to exit */
#define SPIN_CHECK_MASK  0xfffffu          /* busy loops look at the clock every 2^20 turns */
#define CHILD_FAILED     2                 /* exit status of a child that could not measure */

/* One message: a sequence number and the sender's clock. The ring carries the
 * first 56 bytes (its payload); sockets carry all 64. */
typedef struct {
    uint64_t seq;
    int64_t send_ns;
    uint64_t pad[6];
} msg_t;
_Static_assert(sizeof(msg_t) == MSG_BYTES, "a message is 64 bytes");
_Static_assert(offsetof(msg_t, send_ns) + sizeof(int64_t) <= RING_RECORD_SIZE - SHM_SEQ_BYTES,
               "the fields that matter fit in a ring payload");

typedef enum { EP_RING, EP_UNIX, EP_ZMQ } ep_kind_t;

/* One run: a ping-pong and optionally a stream over one transport. */
typedef struct {
    const char *name;
    ep_kind_t kind;
    bool spin_only;         /* ring: readers busy-spin and never sleep */
    int64_t spin_ns;        /* ring: shm_wait spin budget before sleeping */
    int64_t gap_ns;         /* the pinger pauses this long before each ping */
    bool pings_asleep_only; /* keep only ping samples that found the receiver asleep */
    uint64_t rounds;        /* measured round trips (after WARMUP_ROUNDS) */
    uint64_t stream;        /* records to stream afterwards, 0 for none */
} run_spec_t;

/* Written by the child into memory shared with the parent, read by the parent
 * after the child has exited. */
typedef struct {
    uint64_t samples_n;  /* ping samples kept */
    uint64_t not_asleep; /* pings_asleep_only: pings that found the receiver awake */
    int64_t cpu_ns;      /* child CPU time (user + system) over the measured ping-pong */
    int64_t wall_ns;     /* wall time of the same span */
    int64_t samples[];   /* one-way latency of each ping, ns */
} child_report_t;

/* The names one run creates; all of them are removed when it ends. */
typedef struct {
    char ping[SHM_NAME_MAX]; /* ring A -> B */
    char pong[SHM_NAME_MAX]; /* ring B -> A */
    char ipc_path[64];       /* ZeroMQ endpoint file */
    char ipc_uri[80];
} run_names_t;

/* One side of a transport, plus what it needs to notice a dead peer. */
typedef struct {
    ep_kind_t kind;
    const char *run_name;
    /* ring */
    shm_writer_t writer;
    shm_reader_t reader;
    bool writer_open, reader_open;
    bool spin_only;
    int64_t spin_ns;
    /* unix socket */
    int fd;
    /* ZeroMQ */
    void *zctx, *zsock;
    /* the peer: the child seen from the parent, or the parent seen from the child */
    bool is_child;
    pid_t peer;
    bool peer_exited; /* parent: the child was reaped while checking on it */
    int peer_status;
} endpoint_t;

typedef struct {
    uint64_t msgs;          /* ping-pong messages per transport */
    bool msgs_set;
    uint64_t stream_ring;   /* records streamed through a ring */
    uint64_t stream_socket; /* records streamed through a socket */
    int64_t spin_us;
    const char *json_path;
    bool spin_sweep;
    bool pin;               /* parent and child on a CPU each */
} options_t;

typedef struct {
    options_t opt;
    int cpus[2];             /* where the parent and the child run when pinned */
    int ncpu;                /* CPUs this process may use */
    child_report_t *report;  /* MAP_SHARED: inherited by every child */
    size_t report_bytes;
    int64_t *samples;        /* the parent's pong samples, then the merged set */
    uint64_t samples_cap;
    unsigned run_index;      /* makes every run's segment names unique */
    double clock_ns;         /* cost of one clock_mono_ns() */
    char cpu_model[128];
} bench_t;

typedef struct {
    uint64_t n;
    int64_t p50, p99, p999, max;
} stats_t;

/* What one transport row of the table shows. */
typedef struct {
    const char *name;
    bool ok;
    stats_t lat;
    double msgs_per_s;  /* < 0: not measured */
    uint64_t not_asleep;
    uint64_t pongs_n;
    int64_t pong_p50;   /* ring_futex_idle: the pongs, for reference */
    double rx_cpu;      /* receiver (child) CPU seconds per wall second */
} row_t;

/* ---- clean-up on a signal ---------------------------------------------------
 * The only globals: a signal handler can reach nothing else. They name what the
 * current run has created, so an interrupted run leaves nothing behind. */

static struct {
    char paths[3][SHM_NAME_MAX + 16]; /* files under /dev/shm and /tmp */
    volatile sig_atomic_t child;      /* pid of the running child, or 0 */
} g_cleanup;

static void on_fatal_signal(int sig)
{
    /* unlink and kill are async-signal-safe; shm_unlink is not listed as such,
     * so the handler removes /dev/shm/<name> directly. */
    for (size_t i = 0; i < sizeof g_cleanup.paths / sizeof g_cleanup.paths[0]; i++)
        if (g_cleanup.paths[i][0])
            unlink(g_cleanup.paths[i]);
    if (g_cleanup.child > 0)
        kill((pid_t)g_cleanup.child, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Records the names of a run for the signal handler; NULL forgets them. */
static void cleanup_arm(const run_names_t *nm)
{
    /* Blocked meanwhile, so the handler never sees a half-written path. */
    sigset_t fatal, old;
    sigemptyset(&fatal);
    sigaddset(&fatal, SIGINT);
    sigaddset(&fatal, SIGTERM);
    sigaddset(&fatal, SIGHUP);
    sigprocmask(SIG_BLOCK, &fatal, &old);
    memset(g_cleanup.paths, 0, sizeof g_cleanup.paths);
    if (nm) {
        snprintf(g_cleanup.paths[0], sizeof g_cleanup.paths[0], "/dev/shm%s", nm->ping);
        snprintf(g_cleanup.paths[1], sizeof g_cleanup.paths[1], "/dev/shm%s", nm->pong);
        snprintf(g_cleanup.paths[2], sizeof g_cleanup.paths[2], "%s", nm->ipc_path);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- small helpers --------------------------------------------------------- */

static int64_t cpu_time_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * NS_PER_S +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* Busy-waits ns on the clock: a nanosleep would put the pinger itself to
 * sleep, and its own wake-up would then be part of what is measured. */
static void pause_ns(int64_t ns)
{
    int64_t until = clock_mono_ns() + ns;
    while (clock_mono_ns() < until)
        shm__cpu_relax();
}

static void pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set) < 0)
        fprintf(stderr, "bench_ring: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
}

static void describe_status(int status, char *buf, size_t n)
{
    if (WIFEXITED(status))
        snprintf(buf, n, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, n, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(buf, n, "ended with wait status 0x%x", status);
}

/* ---- endpoints --------------------------------------------------------------- */

static const shm_ring_spec_t ring_spec = {
    .kind = SHM_KIND_SPSC,
    .record_size = RING_RECORD_SIZE,
    .capacity = RING_CAPACITY,
    .record_type = 0,
};

/* Called when a wait has lasted a while. Fails when the peer is gone, or when a
 * live peer has sent nothing for STALL_NS (a lost message would otherwise hang
 * the run). *since is 0 at the start of each wait. */
static int check_peer(endpoint_t *e, int64_t *since)
{
    int64_t now = clock_mono_ns();
    if (*since == 0)
        *since = now;
    if (e->is_child) {
        if (getppid() != e->peer)
            return se_err(-EPIPE, "the parent (pid %d) is gone", (int)e->peer);
    } else if (!e->peer_exited && waitpid(e->peer, &e->peer_status, WNOHANG) == e->peer) {
        e->peer_exited = true;
    }
    if (e->peer_exited) {
        char how[96];
        describe_status(e->peer_status, how, sizeof how);
        return se_err(-EPIPE, "the child (pid %d) %s before the run ended", (int)e->peer, how);
    }
    if (now - *since > STALL_NS)
        return se_err(-ETIMEDOUT, "nothing from the peer (pid %d) for %lld s", (int)e->peer,
                      (long long)(STALL_NS / NS_PER_S));
    return 0;
}

__attribute__((cold, noinline)) static int ring_status_error(endpoint_t *e, shm_status_t st)
{
    if (st == SHM_RETIRED)
        return se_err(-EPIPE, "ring %s was closed by its writer mid-run", e->reader.seg.name);
    if (st == SHM_LAPPED)
        return se_err(-EPROTO, "SPSC ring %s reported a lap (%llu records lost)",
                      e->reader.seg.name, (unsigned long long)e->reader.drops);
    return se_err(-EPROTO, "ring %s: unexpected status %d", e->reader.seg.name, (int)st);
}

static inline int ring_send(endpoint_t *e, const msg_t *m)
{
    if (shm_writer_write(&e->writer, m) == SHM_OK)
        return 0;
    /* SHM_FULL: the reader is behind. Retry, as an engine writer would. */
    int64_t since = 0;
    for (unsigned turn = 1; shm_writer_write(&e->writer, m) != SHM_OK; turn++) {
        shm__cpu_relax();
        if ((turn & SPIN_CHECK_MASK) == 0) {
            int rc = check_peer(e, &since);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

static inline int ring_recv(endpoint_t *e, msg_t *m)
{
    shm_reader_t *const reader = &e->reader;
    int64_t since = 0;
    for (unsigned turn = 1;; turn++) {
        shm_status_t st = shm_reader_read(reader, m);
        if (st == SHM_OK)
            return 0;
        if (st != SHM_EMPTY)
            return ring_status_error(e, st);
        int rc = 0;
        if (e->spin_only) {
            shm__cpu_relax();
            if ((turn & SPIN_CHECK_MASK) == 0)
                rc = check_peer(e, &since);
        } else if (shm_wait(&reader, 1, e->spin_ns, WAIT_SLICE_NS) == SHM_TIMEOUT) {
            /* The engine waits with no deadline (-1); a 1 s one costs one more
             * clock read on the way to sleep, and lets a dead peer be noticed
             * instead of hanging the run (a lost wake-up shows as a ~1 s sample). */
            rc = check_peer(e, &since);
        }
        if (rc < 0)
            return rc;
    }
}

/* Sockets: SO_RCVTIMEO/SO_SNDTIMEO (and ZMQ's) make blocking calls return
 * EAGAIN every WAIT_SLICE_NS so the peer can be checked. */
static int unix_send(endpoint_t *e, const msg_t *m)
{
    const char *p = (const char *)m;
    size_t done = 0;
    int64_t since = 0;
    while (done < MSG_BYTES) {
        ssize_t n = write(e->fd, p + done, MSG_BYTES - done);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = check_peer(e, &since);
            if (rc < 0)
                return rc;
            continue;
        }
        return se_err(n < 0 ? -errno : -EIO, "write: %s",
                      n < 0 ? strerror(errno) : "wrote nothing");
    }
    return 0;
}

static int unix_recv(endpoint_t *e, msg_t *m)
{
    char *p = (char *)m;
    size_t got = 0;
    int64_t since = 0;
    while (got < MSG_BYTES) { /* a stream socket may hand over part of a message */
        ssize_t n = read(e->fd, p + got, MSG_BYTES - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0)
            return se_err(-EPIPE, "the peer closed the socket");
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = check_peer(e, &since);
            if (rc < 0)
                return rc;
            continue;
        }
        return se_err(-errno, "read: %s", strerror(errno));
    }
    return 0;
}

static int zmq_send_msg(endpoint_t *e, const msg_t *m)
{
    int64_t since = 0;
    for (;;) {
        if (zmq_send(e->zsock, m, MSG_BYTES, 0) == MSG_BYTES)
            return 0;
        int err = zmq_errno();
        if (err != EAGAIN && err != EINTR)
            return se_err(-err, "zmq_send: %s", zmq_strerror(err));
        int rc = check_peer(e, &since);
        if (rc < 0)
            return rc;
    }
}

static int zmq_recv_msg(endpoint_t *e, msg_t *m)
{
    int64_t since = 0;
    for (;;) {
        int n = zmq_recv(e->zsock, m, MSG_BYTES, 0);
        if (n == MSG_BYTES)
            return 0;
        if (n >= 0)
            return se_err(-EPROTO, "zmq_recv: %d-byte message, expected %d", n,
                          MSG_BYTES);
        int err = zmq_errno();
        if (err != EAGAIN && err != EINTR)
            return se_err(-err, "zmq_recv: %s", zmq_strerror(err));
        int rc = check_peer(e, &since);
        if (rc < 0)
            return rc;
    }
}

/* One switch per message: always predicted, and it keeps a single ping-pong
 * and a single stream loop for every transport. */
static inline int ep_send(endpoint_t *e, const msg_t *m)
{
    switch (e->kind) {
    case EP_RING: return ring_send(e, m);
    case EP_UNIX: return unix_send(e, m);
    case EP_ZMQ: return zmq_send_msg(e, m);
    }
    return -EINVAL;
}

static inline int ep_recv(endpoint_t *e, msg_t *m)
{
    switch (e->kind) {
    case EP_RING: return ring_recv(e, m);
    case EP_UNIX: return unix_recv(e, m);
    case EP_ZMQ: return zmq_recv_msg(e, m);
    }
    return -EINVAL;
}

static void ep_init(endpoint_t *e, const run_spec_t *spec, bool is_child, pid_t peer)
{
    memset(e, 0, sizeof *e);
    e->kind = spec->kind;
    e->run_name = spec->name;
    e->spin_only = spec->spin_only;
    e->spin_ns = spec->spin_ns;
    e->fd = -1;
    e->is_child = is_child;
    e->peer = peer;
}

/* Attaches to the peer's ring, which it may not have created yet; gives up
 * early if the peer dies meanwhile. */
static int open_ring_reader(endpoint_t *e, const char *name, const char *reader_name)
{
    int64_t since = 0;
    for (;;) {
        int rc = shm_reader_open(&e->reader, name, &ring_spec, reader_name, SHM_START_RESUME,
                                 OPEN_POLL_NS);
        if (rc == 0) {
            e->reader_open = true;
            return 0;
        }
        if (rc != -ETIMEDOUT && rc != SE_ENOTREADY)
            return rc; /* shm_reader_open recorded the message */
        rc = check_peer(e, &since);
        if (rc < 0)
            return rc;
    }
}

static int set_timeouts(int fd)
{
    struct timeval tv = { .tv_sec = WAIT_SLICE_NS / NS_PER_S, .tv_usec = 0 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
        return se_err(-errno, "setsockopt timeouts: %s", strerror(errno));
    return 0;
}

/* Opens this side: the parent writes "ping" and reads "pong", the child the
 * reverse. Each creates what it writes before waiting for what it reads, so
 * neither waits for the other. ZeroMQ contexts are made here, after the fork. */
static int ep_open(endpoint_t *e, const run_names_t *nm, const int sv[2])
{
    bool parent = !e->is_child;
    switch (e->kind) {
    case EP_RING: {
        int rc = shm_writer_open(&e->writer, parent ? nm->ping : nm->pong, &ring_spec, NULL);
        if (rc < 0)
            return rc; /* shm_writer_open recorded the message */
        e->writer_open = true;
        return open_ring_reader(e, parent ? nm->pong : nm->ping, parent ? "bench-a" : "bench-b");
    }
    case EP_UNIX:
        e->fd = parent ? sv[0] : sv[1];
        close(parent ? sv[1] : sv[0]);
        return set_timeouts(e->fd);
    case EP_ZMQ: {
        e->zctx = zmq_ctx_new();
        if (!e->zctx)
            return se_err(-zmq_errno(), "zmq_ctx_new: %s", zmq_strerror(zmq_errno()));
        e->zsock = zmq_socket(e->zctx, ZMQ_PAIR);
        if (!e->zsock)
            return se_err(-zmq_errno(), "zmq_socket: %s", zmq_strerror(zmq_errno()));
        /* Linger lets the last message leave before close; bounded so that a
         * dead peer cannot hang zmq_ctx_term. */
        int linger_ms = 1000, timeout_ms = (int)(WAIT_SLICE_NS / 1000000);
        if (zmq_setsockopt(e->zsock, ZMQ_LINGER, &linger_ms, sizeof linger_ms) < 0 ||
            zmq_setsockopt(e->zsock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) < 0 ||
            zmq_setsockopt(e->zsock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) < 0)
            return se_err(-zmq_errno(), "zmq_setsockopt: %s", zmq_strerror(zmq_errno()));
        int rc = parent ? zmq_bind(e->zsock, nm->ipc_uri) : zmq_connect(e->zsock, nm->ipc_uri);
        if (rc < 0)
            return se_err(-zmq_errno(), "zmq_%s %s: %s", parent ? "bind" : "connect",
                          nm->ipc_uri, zmq_strerror(zmq_errno()));
        return 0;
    }
    }
    return -EINVAL;
}

/* Closes this side; whatever it wrote is unlinked. Safe on a half-open endpoint. */
static void ep_close(endpoint_t *e)
{
    if (e->reader_open)
        shm_reader_close(&e->reader);
    if (e->writer_open)
        shm_writer_close(&e->writer, true);
    e->reader_open = e->writer_open = false;
    if (e->fd >= 0)
        close(e->fd);
    e->fd = -1;
    if (e->zsock)
        zmq_close(e->zsock);
    if (e->zctx)
        zmq_ctx_term(e->zctx);
    e->zsock = e->zctx = NULL;
}

/* ---- the two measurements ---------------------------------------------------- */

/* A's half of the ping-pong: send a ping, sample the pong. */
static int pingpong_parent(endpoint_t *e, const run_spec_t *spec, int64_t *pong_samples)
{
    msg_t m;
    memset(&m, 0, sizeof m);
    for (uint64_t i = 0; i < WARMUP_ROUNDS + spec->rounds; i++) {
        if (spec->gap_ns > 0)
            pause_ns(spec->gap_ns);
        m.seq = i;
        m.send_ns = clock_mono_ns();
        int rc = ep_send(e, &m);
        if (rc == 0)
            rc = ep_recv(e, &m);
        if (rc < 0)
            return rc;
        int64_t now = clock_mono_ns();
        if (m.seq != i)
            return se_err(-EPROTO, "pong %llu carries sequence %llu",
                          (unsigned long long)i, (unsigned long long)m.seq);
        if (i >= WARMUP_ROUNDS)
            pong_samples[i - WARMUP_ROUNDS] = now - m.send_ns;
    }
    return 0;
}

/* B's half: sample the ping, reply at once. With pings_asleep_only, a ping is
 * kept only if the child blocked while waiting for it (its count of voluntary
 * context switches went up): that is the ping that paid for a wake-up. The
 * getrusage call sits between the receive and the reply's timestamp, so it is
 * in no sample. */
static int pingpong_child(endpoint_t *e, const run_spec_t *spec, child_report_t *rep)
{
    msg_t m;
    long nvcsw_before = 0;
    int64_t cpu0 = 0, wall0 = 0;
    uint64_t kept = 0, awake = 0;
    for (uint64_t i = 0; i < WARMUP_ROUNDS + spec->rounds; i++) {
        if (i == WARMUP_ROUNDS) {
            wall0 = clock_mono_ns();
            cpu0 = cpu_time_ns();
        }
        int rc = ep_recv(e, &m);
        if (rc < 0)
            return rc;
        int64_t latency = clock_mono_ns() - m.send_ns;
        if (m.seq != i)
            return se_err(-EPROTO, "ping %llu carries sequence %llu",
                          (unsigned long long)i, (unsigned long long)m.seq);
        bool keep = i >= WARMUP_ROUNDS;
        if (spec->pings_asleep_only) {
            struct rusage ru;
            getrusage(RUSAGE_SELF, &ru);
            bool slept = ru.ru_nvcsw > nvcsw_before;
            nvcsw_before = ru.ru_nvcsw;
            if (keep && !slept) {
                awake++;
                keep = false;
            }
        }
        if (keep)
            rep->samples[kept++] = latency;
        m.send_ns = clock_mono_ns();
        rc = ep_send(e, &m);
        if (rc < 0)
            return rc;
    }
    rep->cpu_ns = cpu_time_ns() - cpu0;
    rep->wall_ns = clock_mono_ns() - wall0;
    rep->samples_n = kept;
    rep->not_asleep = awake;
    return 0;
}

/* A streams n records, then waits for B's acknowledgement carrying the time
 * B received the last one; both clocks are the host's CLOCK_MONOTONIC. */
static int stream_parent(endpoint_t *e, uint64_t n, double *msgs_per_s)
{
    msg_t m;
    memset(&m, 0, sizeof m);
    int64_t first_send = clock_mono_ns();
    for (uint64_t i = 0; i < n; i++) {
        m.seq = i;
        int rc = ep_send(e, &m);
        if (rc < 0)
            return rc;
    }
    int rc = ep_recv(e, &m);
    if (rc < 0)
        return rc;
    if (m.seq != n)
        return se_err(-EPROTO, "the receiver acknowledged %llu records, %llu were sent",
                      (unsigned long long)m.seq, (unsigned long long)n);
    int64_t elapsed = m.send_ns - first_send;
    *msgs_per_s = elapsed > 0 ? (double)n * 1e9 / (double)elapsed : 0;
    return 0;
}

static int stream_child(endpoint_t *e, uint64_t n)
{
    msg_t m;
    int64_t last_recv = 0;
    for (uint64_t i = 0; i < n; i++) {
        int rc = ep_recv(e, &m);
        if (rc < 0)
            return rc;
        if (m.seq != i)
            return se_err(-EPROTO, "stream record %llu carries sequence %llu",
                          (unsigned long long)i, (unsigned long long)m.seq);
        last_recv = clock_mono_ns();
    }
    m.seq = n;
    m.send_ns = last_recv;
    return ep_send(e, &m);
}

/* ---- one run: fork, measure, reap, clean up ----------------------------------- */

typedef struct {
    uint64_t pongs_n;  /* the parent's samples, in bench->samples */
    double msgs_per_s; /* < 0 when not streamed */
} run_out_t;

__attribute__((noreturn)) static void child_main(bench_t *b, const run_spec_t *spec,
                                                 const run_names_t *nm, const int sv[2],
                                                 pid_t parent)
{
    /* The parent owns the clean-up: Ctrl-C kills the child outright. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    memset(g_cleanup.paths, 0, sizeof g_cleanup.paths);
    g_cleanup.child = 0;
    /* Die with the parent, whatever kills it; re-check in case it already died. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
        fprintf(stderr, "bench_ring: %s: child: the parent is gone\n", spec->name);
        _exit(CHILD_FAILED);
    }
    if (b->opt.pin)
        pin_to(b->cpus[1]);
    /* Fault the sample pages in now rather than during the ping-pong. */
    memset(b->report->samples, 0, spec->rounds * sizeof(int64_t));

    endpoint_t e;
    ep_init(&e, spec, true, parent);
    int rc = ep_open(&e, nm, sv);
    if (rc == 0)
        rc = pingpong_child(&e, spec, b->report);
    if (rc == 0 && spec->stream)
        rc = stream_child(&e, spec->stream);
    if (rc < 0)
        fprintf(stderr, "bench_ring: %s: child: %s\n", spec->name, se_errmsg());
    ep_close(&e);
    fflush(stderr);
    _exit(rc < 0 ? CHILD_FAILED : 0);
}

/* Reaps the child: kills it first if the parent failed, otherwise gives it
 * CHILD_EXIT_NS to finish. Returns 0 if it exited cleanly, else reports why. */
static int reap_child(endpoint_t *e, bool parent_failed)
{
    if (!e->peer_exited) {
        if (parent_failed)
            kill(e->peer, SIGKILL);
        int64_t deadline = clock_mono_ns() + CHILD_EXIT_NS;
        for (;;) {
            pid_t r = waitpid(e->peer, &e->peer_status, WNOHANG);
            if (r == e->peer || (r < 0 && errno != EINTR))
                break;
            if (clock_mono_ns() > deadline) {
                fprintf(stderr, "bench_ring: %s: the child (pid %d) did not exit; killing it\n",
                        e->run_name, (int)e->peer);
                kill(e->peer, SIGKILL);
                waitpid(e->peer, &e->peer_status, 0);
                break;
            }
            struct timespec ms = { 0, 1000000 };
            nanosleep(&ms, NULL);
        }
        e->peer_exited = true;
    }
    g_cleanup.child = 0;
    if (parent_failed)
        return -1; /* the parent's own error was reported; its kill is no news */
    if (WIFEXITED(e->peer_status) && WEXITSTATUS(e->peer_status) == 0)
        return 0;
    char how[96];
    describe_status(e->peer_status, how, sizeof how);
    fprintf(stderr, "bench_ring: %s: the child (pid %d) %s\n", e->run_name, (int)e->peer, how);
    return -1;
}

static int make_names(bench_t *b, run_names_t *nm)
{
    char instance[32], ping[32], pong[32];
    unsigned run = b->run_index++;
    snprintf(instance, sizeof instance, "bench%d", (int)getpid());
    snprintf(ping, sizeof ping, "ping.%u", run);
    snprintf(pong, sizeof pong, "pong.%u", run);
    if (shm_name(nm->ping, sizeof nm->ping, NULL, instance, ping) < 0 ||
        shm_name(nm->pong, sizeof nm->pong, NULL, instance, pong) < 0)
        return -1;
    snprintf(nm->ipc_path, sizeof nm->ipc_path, "/tmp/bench-ring-%d.ipc", (int)getpid());
    snprintf(nm->ipc_uri, sizeof nm->ipc_uri, "ipc://%s", nm->ipc_path);
    return 0;
}

/* Runs spec in a fresh pair of processes. On success the parent's samples are
 * in b->samples[0..out->pongs_n) and the child's in b->report. Returns 0, or -1
 * after printing why. Removes everything it created on every path. */
static int run_pair(bench_t *b, const run_spec_t *spec, run_out_t *out)
{
    out->pongs_n = 0;
    out->msgs_per_s = -1;
    run_names_t nm;
    if (make_names(b, &nm) < 0) {
        fprintf(stderr, "bench_ring: %s: %s\n", spec->name, se_errmsg());
        return -1;
    }
    int sv[2] = { -1, -1 };
    if (spec->kind == EP_UNIX && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        fprintf(stderr, "bench_ring: %s: socketpair: %s\n", spec->name, strerror(errno));
        return -1;
    }
    cleanup_arm(&nm);
    memset(b->report, 0, sizeof *b->report);
    fflush(stdout); /* or the child would flush a copy of it too */
    fflush(stderr);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "bench_ring: %s: fork: %s\n", spec->name, strerror(errno));
        if (sv[0] >= 0) {
            close(sv[0]);
            close(sv[1]);
        }
        cleanup_arm(NULL);
        return -1;
    }
    if (pid == 0)
        child_main(b, spec, &nm, sv, parent);
    g_cleanup.child = pid;

    endpoint_t e;
    ep_init(&e, spec, false, pid);
    int rc = ep_open(&e, &nm, sv);
    if (rc == 0)
        rc = pingpong_parent(&e, spec, b->samples);
    if (rc == 0 && spec->stream)
        rc = stream_parent(&e, spec->stream, &out->msgs_per_s);
    if (rc < 0)
        fprintf(stderr, "bench_ring: %s: %s\n", spec->name, se_errmsg());
    bool failed = rc < 0;
    if (failed && !e.peer_exited)
        kill(pid, SIGKILL); /* first: it may be blocked on us, and nothing it does now counts */
    ep_close(&e);
    int crc = reap_child(&e, failed);
    /* The child unlinks its own ring when it closes cleanly; this covers the
     * paths where it did not. ENOENT is the normal case. */
    shm_unlink(nm.ping);
    shm_unlink(nm.pong);
    unlink(nm.ipc_path);
    cleanup_arm(NULL);
    if (failed || crc < 0)
        return -1;
    out->pongs_n = spec->rounds;
    return 0;
}

/* ---- statistics and output ----------------------------------------------------- */

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v, q in parts per 100,000 (integer, so
 * p99.9 of 1,000 samples is exactly the 999th). */
static int64_t percentile(const int64_t *v, uint64_t n, uint64_t q)
{
    uint64_t rank = (n * q + 99999) / 100000;
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static stats_t stats_of(int64_t *v, uint64_t n)
{
    stats_t s = { .n = n };
    if (n == 0)
        return s;
    qsort(v, n, sizeof *v, cmp_i64);
    s.p50 = percentile(v, n, 50000);
    s.p99 = percentile(v, n, 99000);
    s.p999 = percentile(v, n, 99900);
    s.max = v[n - 1];
    return s;
}

/* "0.03x", "1.25x", "140x", or "-" when there is nothing to compare. */
static const char *fmt_ratio(char *buf, size_t n, double value, double base)
{
    if (value < 0 || base <= 0) {
        snprintf(buf, n, "-");
        return buf;
    }
    double r = value / base;
    if (r >= 100)
        snprintf(buf, n, "%.0fx", r);
    else if (r >= 0.1)
        snprintf(buf, n, "%.2fx", r);
    else
        snprintf(buf, n, "%.2gx", r);
    return buf;
}

static const row_t *find_row(const row_t *rows, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(rows[i].name, name) == 0)
            return rows[i].ok ? &rows[i] : NULL;
    return NULL;
}

static double us(int64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_table(const row_t *rows, int n)
{
    const row_t *base = find_row(rows, n, "unix_socket");
    char r[5][16];
    printf("\none-way latency in µs (each figure also as a ratio to unix_socket's), "
           "streaming msgs/s\n");
    printf("%-16s %9s %7s %9s %7s %9s %7s %9s %7s %12s %7s\n", "transport", "p50", "", "p99", "",
           "p99.9", "", "max", "", "msgs/s", "");
    for (int i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        if (!w->ok) {
            printf("%-16s failed (see the messages above)\n", w->name);
            continue;
        }
        const stats_t *s = &w->lat;
        const stats_t *bs = base ? &base->lat : NULL;
        fmt_ratio(r[0], sizeof r[0], (double)s->p50, bs ? (double)bs->p50 : 0);
        fmt_ratio(r[1], sizeof r[1], (double)s->p99, bs ? (double)bs->p99 : 0);
        fmt_ratio(r[2], sizeof r[2], (double)s->p999, bs ? (double)bs->p999 : 0);
        fmt_ratio(r[3], sizeof r[3], (double)s->max, bs ? (double)bs->max : 0);
        fmt_ratio(r[4], sizeof r[4], w->msgs_per_s, base ? base->msgs_per_s : 0);
        char rate[24];
        if (w->msgs_per_s >= 0)
            snprintf(rate, sizeof rate, "%.0f", w->msgs_per_s);
        else
            snprintf(rate, sizeof rate, "-");
        printf("%-16s %9.2f %7s %9.2f %7s %9.2f %7s %9.2f %7s %12s %7s\n", w->name, us(s->p50),
               r[0], us(s->p99), r[1], us(s->p999), r[2], us(s->max), r[3], rate, r[4]);
    }
}

static void print_target(bool measured, bool pass, const char *what)
{
    printf("  %-4s  %s\n", !measured ? "MISS" : pass ? "PASS" : "MISS", what);
}

static void print_targets(const row_t *rows, int n, const row_t *idle_ref)
{
    const row_t *ux = find_row(rows, n, "unix_socket");
    const row_t *fx = find_row(rows, n, "ring_futex");
    const row_t *idle = find_row(rows, n, "ring_futex_idle");
    const row_t *spin = find_row(rows, n, "ring_spin");
    char what[200];
    printf("\ntargets:\n");
    if (fx && ux)
        snprintf(what, sizeof what, "ring_futex p50 %.2f µs <= unix_socket p50 / 20 = %.2f µs",
                 us(fx->lat.p50), us(ux->lat.p50) / 20);
    else
        snprintf(what, sizeof what, "ring_futex p50 <= unix_socket p50 / 20 (not measured)");
    print_target(fx && ux, fx && ux && fx->lat.p50 * 20 <= ux->lat.p50, what);
    if (idle && ux)
        snprintf(what, sizeof what, "ring_futex_idle p50 %.2f µs <= unix_socket p50 %.2f µs",
                 us(idle->lat.p50), us(ux->lat.p50));
    else
        snprintf(what, sizeof what, "ring_futex_idle p50 <= unix_socket p50 (not measured)");
    print_target(idle && ux, idle && ux && idle->lat.p50 <= ux->lat.p50, what);
    if (idle && idle_ref)
        printf("        (like for like: unix_socket paced the same way, p50 %.2f µs; "
               "ring_futex_idle is %.2fx that)\n", us(idle_ref->lat.p50),
               (double)idle->lat.p50 / (double)(idle_ref->lat.p50 > 0 ? idle_ref->lat.p50 : 1));
    if (spin)
        snprintf(what, sizeof what, "ring_spin p50 %.2f µs < 1 µs", us(spin->lat.p50));
    else
        snprintf(what, sizeof what, "ring_spin p50 < 1 µs (not measured)");
    print_target(spin != NULL, spin && spin->lat.p50 < 1000, what);
    bool rates = fx && ux && fx->msgs_per_s > 0 && ux->msgs_per_s > 0;
    if (rates)
        snprintf(what, sizeof what,
                 "ring_futex %.0f msgs/s >= 20 x unix_socket = %.0f msgs/s (%.1fx)",
                 fx->msgs_per_s, 20 * ux->msgs_per_s, fx->msgs_per_s / ux->msgs_per_s);
    else
        snprintf(what, sizeof what, "ring_futex msgs/s >= 20 x unix_socket msgs/s (not measured)");
    print_target(rates, rates && fx->msgs_per_s >= 20 * ux->msgs_per_s, what);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Writes the result file through a temporary name, so a reader never sees half of it. */
static int write_json(const bench_t *b, const row_t *rows, int n, uint64_t idle_pings,
                      const row_t *idle_ref)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", b->opt.json_path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "bench_ring: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "{\"transports\":[");
    for (int i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        fprintf(f, "%s{\"name\":\"%s\",\"p50_ns\":%lld,\"p99_ns\":%lld,\"p999_ns\":%lld,"
                   "\"max_ns\":%lld,\"msgs_per_s\":",
                i ? "," : "", w->name, (long long)w->lat.p50, (long long)w->lat.p99,
                (long long)w->lat.p999, (long long)w->lat.max);
        if (w->msgs_per_s >= 0)
            fprintf(f, "%.0f}", w->msgs_per_s);
        else
            fprintf(f, "null}");
    }
    fprintf(f, "],\"spin_us\":%lld,\"msgs\":%llu,\"idle_pings\":%llu,\"idle_gap_us\":%d,"
               "\"stream_ring\":%llu,\"stream_socket\":%llu,\"warmup_rounds\":%llu,\"cpu\":",
            (long long)b->opt.spin_us, (unsigned long long)b->opt.msgs,
            (unsigned long long)idle_pings, IDLE_GAP_NS / 1000,
            (unsigned long long)b->opt.stream_ring, (unsigned long long)b->opt.stream_socket,
            (unsigned long long)WARMUP_ROUNDS);
    json_string(f, b->cpu_model);
    fprintf(f, ",\"unix_socket_idle\":{\"p50_ns\":%lld,\"p99_ns\":%lld,\"p999_ns\":%lld,"
               "\"max_ns\":%lld,\"pings\":%llu}",
            (long long)idle_ref->lat.p50, (long long)idle_ref->lat.p99,
            (long long)idle_ref->lat.p999, (long long)idle_ref->lat.max,
            (unsigned long long)idle_ref->lat.n);
    fprintf(f, ",\"ncpu\":%d,\"pinned\":%s,\"clock_ns\":%.1f}\n", b->ncpu,
            b->opt.pin ? "true" : "false", b->clock_ns);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad || rename(tmp, b->opt.json_path) != 0) {
        fprintf(stderr, "bench_ring: cannot write %s: %s\n", b->opt.json_path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* ---- the default run and the spin sweep ------------------------------------------ */

/* Runs spec and condenses it into a table row. */
static void measure_row(bench_t *b, const run_spec_t *spec, row_t *row)
{
    memset(row, 0, sizeof *row);
    row->name = spec->name;
    row->msgs_per_s = -1;
    fprintf(stderr, "bench_ring: %s: %llu round trips%s", spec->name,
            (unsigned long long)spec->rounds,
            spec->gap_ns ? " (pinger pauses before each ping)" : "");
    if (spec->stream)
        fprintf(stderr, ", then %llu records streamed", (unsigned long long)spec->stream);
    fprintf(stderr, "...\n");
    run_out_t out;
    if (run_pair(b, spec, &out) < 0)
        return;
    child_report_t *rep = b->report;
    row->ok = true;
    row->msgs_per_s = out.msgs_per_s;
    row->not_asleep = rep->not_asleep;
    row->rx_cpu = rep->wall_ns > 0 ? (double)rep->cpu_ns / (double)rep->wall_ns : 0;
    if (spec->pings_asleep_only) {
        /* The figures are the pings that found the receiver asleep; the pongs
         * (a receiver that was spinning) are kept apart, for reference. */
        row->pongs_n = out.pongs_n;
        row->pong_p50 = stats_of(b->samples, out.pongs_n).p50;
        memcpy(b->samples, rep->samples, rep->samples_n * sizeof(int64_t));
        row->lat = stats_of(b->samples, rep->samples_n);
    } else {
        memcpy(b->samples + out.pongs_n, rep->samples, rep->samples_n * sizeof(int64_t));
        row->lat = stats_of(b->samples, out.pongs_n + rep->samples_n);
    }
}

static int run_default(bench_t *b)
{
    const options_t *o = &b->opt;
    uint64_t rounds = o->msgs / 2;
    uint64_t idle_pings = rounds < IDLE_PINGS_MAX ? rounds : IDLE_PINGS_MAX;
    uint64_t ref_pings = rounds < IDLE_REF_PINGS_MAX ? rounds : IDLE_REF_PINGS_MAX;
    int64_t spin_ns = o->spin_us * 1000;
    /* The table's rows, then a reference that is not a row: a unix socket
     * paced like ring_futex_idle. A plain unix_socket receiver sleeps only one
     * round trip at a time, and a short sleep wakes faster than a long one
     * (CPU idle states, the hypervisor's halt polling), so ring_futex_idle
     * against plain unix_socket is not wake-up against wake-up; this is. */
    const run_spec_t specs[] = {
        { "ring_futex", EP_RING, false, spin_ns, 0, false, rounds, o->stream_ring },
        { "ring_futex_idle", EP_RING, false, spin_ns, IDLE_GAP_NS, true, idle_pings, 0 },
        { "ring_spin", EP_RING, true, 0, 0, false, rounds, o->stream_ring },
        { "unix_socket", EP_UNIX, false, 0, 0, false, rounds, o->stream_socket },
        { "zeromq_ipc", EP_ZMQ, false, 0, 0, false, rounds, o->stream_socket },
        { "unix_socket_idle", EP_UNIX, false, 0, IDLE_GAP_NS, true, ref_pings, 0 },
    };
    enum { NALL = sizeof specs / sizeof specs[0], NRUNS = NALL - 1 };
    row_t rows[NALL];
    for (int i = 0; i < NALL; i++)
        measure_row(b, &specs[i], &rows[i]);
    const row_t *idle_ref = &rows[NRUNS];

    printf("bench_ring: %s, %d CPUs%s, clock_gettime %.0f ns (in every sample once)\n",
           b->cpu_model, b->ncpu,
           o->pin ? ", parent and child pinned to one CPU each" : ", unpinned", b->clock_ns);
    printf("ping-pong: %llu messages per transport (%llu round trips, after %llu warm-up), 64-byte "
           "messages; spin budget %lld µs\n",
           (unsigned long long)(rounds * 2), (unsigned long long)rounds,
           (unsigned long long)WARMUP_ROUNDS, (long long)o->spin_us);
    printf("ring_futex_idle: %llu pings, each after a %d µs busy pause; figures are the pings that "
           "found the receiver asleep%s\n",
           (unsigned long long)idle_pings, IDLE_GAP_NS / 1000,
           idle_pings < rounds ? " (fewer than the other transports, to keep the run short)" : "");
    printf("streaming: %llu records through each ring, %llu through each socket\n",
           (unsigned long long)o->stream_ring, (unsigned long long)o->stream_socket);
    print_table(rows, NRUNS);
    printf("\nnotes:\n");
    for (int i = 0; i < NALL; i++) {
        const row_t *w = &rows[i];
        if (!w->ok)
            continue;
        printf("  %-16s %llu samples; receiver CPU %.2f s per s of ping-pong", w->name,
               (unsigned long long)w->lat.n, w->rx_cpu);
        if (specs[i].pings_asleep_only)
            printf("; %llu of %llu pings found it awake and are left out",
                   (unsigned long long)w->not_asleep, (unsigned long long)specs[i].rounds);
        if (i == NRUNS)
            printf("\n%19s(a reference, not a row: unix_socket paced like ring_futex_idle) "
                   "p50 %.2f, p99 %.2f, p99.9 %.2f, max %.2f µs", "", us(w->lat.p50),
                   us(w->lat.p99), us(w->lat.p999), us(w->lat.max));
        else if (specs[i].pings_asleep_only)
            printf("; pongs p50 %.2f µs", us(w->pong_p50));
        printf("\n");
    }
    print_targets(rows, NRUNS, idle_ref->ok ? idle_ref : NULL);

    bool all_ok = true;
    for (int i = 0; i < NALL; i++)
        all_ok = all_ok && rows[i].ok;
    if (o->json_path) {
        if (!all_ok)
            fprintf(stderr, "bench_ring: not writing %s: a transport failed\n", o->json_path);
        else if (write_json(b, rows, NRUNS, idle_pings, idle_ref) == 0)
            printf("\nwrote %s\n", o->json_path);
        else
            all_ok = false;
    }
    return all_ok ? 0 : 1;
}

/* Measures what the spin budget buys: ping latency and the receiver's CPU for
 * each budget and message spacing, so the default budget rests on numbers. */
static int run_sweep(bench_t *b)
{
    static const int spins_us[] = { 0, 5, 20, 50, 100, 200 };
    static const int gaps_us[] = { 0, 20, 60, 150 };
    enum {
        NSPIN = sizeof spins_us / sizeof spins_us[0],
        NGAP = sizeof gaps_us / sizeof gaps_us[0],
    };
    uint64_t rounds = b->opt.msgs / 2;
    struct { stats_t lat; double cpu; bool ok; } cell[NSPIN][NGAP];
    int failures = 0;
    for (int s = 0; s < NSPIN; s++) {
        for (int g = 0; g < NGAP; g++) {
            char name[48];
            snprintf(name, sizeof name, "sweep spin %d µs gap %d µs", spins_us[s], gaps_us[g]);
            run_spec_t spec = { name, EP_RING, false, spins_us[s] * 1000ll, gaps_us[g] * 1000ll,
                                false, rounds, 0 };
            fprintf(stderr, "bench_ring: %s: %llu pings...\n", name, (unsigned long long)rounds);
            run_out_t out;
            cell[s][g].ok = run_pair(b, &spec, &out) == 0;
            if (!cell[s][g].ok) {
                failures++;
                continue;
            }
            child_report_t *rep = b->report;
            memcpy(b->samples, rep->samples, rep->samples_n * sizeof(int64_t));
            cell[s][g].lat = stats_of(b->samples, rep->samples_n);
            cell[s][g].cpu = rep->wall_ns > 0 ? (double)rep->cpu_ns / (double)rep->wall_ns : 0;
        }
    }
    printf("spin sweep: %s, %d CPUs%s; ring ping-pong, %llu pings per cell\n", b->cpu_model,
           b->ncpu, b->opt.pin ? ", pinned" : ", unpinned", (unsigned long long)rounds);
    printf("each cell: ping one-way p50 / p99 in µs, then the receiver's CPU seconds per\n"
           "second of wall time; gap = the pinger's busy pause between a pong and the next\n"
           "ping; both sides wait with the same spin budget\n\n");
    /* printf pads by bytes and "µ" takes two: widths below are one wider. */
    printf("%9s", "spin µs");
    for (int g = 0; g < NGAP; g++) {
        char head[32];
        snprintf(head, sizeof head, "gap %d µs", gaps_us[g]);
        printf(" | %-23s", head);
    }
    printf("\n");
    for (int s = 0; s < NSPIN; s++) {
        printf("%8d", spins_us[s]);
        for (int g = 0; g < NGAP; g++) {
            if (!cell[s][g].ok) {
                printf(" | %-22s", "failed");
                continue;
            }
            printf(" | %6.2f / %6.2f  %5.2f", us(cell[s][g].lat.p50), us(cell[s][g].lat.p99),
                   cell[s][g].cpu);
        }
        printf("\n");
    }
    if (b->opt.json_path && !failures) {
        FILE *f = fopen(b->opt.json_path, "w");
        if (!f) {
            fprintf(stderr, "bench_ring: cannot write %s: %s\n", b->opt.json_path, strerror(errno));
            return 1;
        }
        fprintf(f, "{\"spin_sweep\":[");
        bool first = true;
        for (int s = 0; s < NSPIN; s++)
            for (int g = 0; g < NGAP; g++) {
                fprintf(f, "%s{\"spin_us\":%d,\"gap_us\":%d,\"p50_ns\":%lld,\"p99_ns\":%lld,"
                           "\"rx_cpu_per_s\":%.3f}",
                        first ? "" : ",", spins_us[s], gaps_us[g], (long long)cell[s][g].lat.p50,
                        (long long)cell[s][g].lat.p99, cell[s][g].cpu);
                first = false;
            }
        fprintf(f, "],\"pings\":%llu}\n", (unsigned long long)rounds);
        if (fclose(f) != 0) {
            fprintf(stderr, "bench_ring: cannot write %s: %s\n", b->opt.json_path, strerror(errno));
            return 1;
        }
    }
    return failures ? 1 : 0;
}

/* ---- set-up ---------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bench_ring [--msgs N] [--stream N] [--spin-us US] [--json FILE] [--no-pin]\n"
            "       bench_ring --spin-sweep [--msgs N] [--json FILE] [--no-pin]\n"
            "  --msgs N      ping-pong messages per transport, both directions (default %llu;\n"
            "                ring_futex_idle uses at most %llu pings); with --spin-sweep,\n"
            "                per cell (default %llu)\n"
            "  --stream N    records streamed through each ring (default %llu); sockets get N/%d\n"
            "  --spin-us US  shm_wait spin budget before sleeping (default %d)\n"
            "  --json FILE   also write the results as JSON\n"
            "  --no-pin      let the scheduler place the two processes (by default each is\n"
            "                pinned to a CPU of its own: unpinned, a futex wake-up can put both\n"
            "                on one CPU, and a spinning waiter then delays its peer by the\n"
            "                whole spin budget)\n"
            "  --spin-sweep  measure latency and receiver CPU against the spin budget instead\n",
            DEFAULT_MSGS, IDLE_PINGS_MAX, SWEEP_DEFAULT_MSGS, DEFAULT_STREAM_RING,
            STREAM_SOCKET_DIVISOR, DEFAULT_SPIN_US);
}

static bool parse_u64(const char *s, uint64_t min, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min)
        return false;
    *out = v;
    return true;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    static const struct option longopts[] = {
        { "msgs", required_argument, NULL, 'm' },  { "stream", required_argument, NULL, 's' },
        { "spin-us", required_argument, NULL, 'u' }, { "json", required_argument, NULL, 'j' },
        { "spin-sweep", no_argument, NULL, 'w' },  { "no-pin", no_argument, NULL, 'p' },
        { "help", no_argument, NULL, 'h' },         { NULL, 0, NULL, 0 },
    };
    *o = (options_t){ .msgs = DEFAULT_MSGS, .stream_ring = DEFAULT_STREAM_RING,
                      .spin_us = DEFAULT_SPIN_US, .pin = true };
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (!parse_u64(optarg, 2, &o->msgs)) {
                fprintf(stderr, "bench_ring: --msgs wants a whole number >= 2, not '%s'\n", optarg);
                return -1;
            }
            o->msgs_set = true;
            break;
        case 's':
            if (!parse_u64(optarg, STREAM_SOCKET_DIVISOR, &o->stream_ring)) {
                fprintf(stderr, "bench_ring: --stream wants a whole number >= %d, not '%s'\n",
                        STREAM_SOCKET_DIVISOR, optarg);
                return -1;
            }
            break;
        case 'u':
            if (!parse_u64(optarg, 0, &v) || v > 1000000) {
                fprintf(stderr, "bench_ring: --spin-us wants 0..1000000, not '%s'\n", optarg);
                return -1;
            }
            o->spin_us = (int64_t)v;
            break;
        case 'j': o->json_path = optarg; break;
        case 'w': o->spin_sweep = true; break;
        case 'p': o->pin = false; break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bench_ring: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->spin_sweep && !o->msgs_set)
        o->msgs = SWEEP_DEFAULT_MSGS;
    o->stream_socket = o->stream_ring / STREAM_SOCKET_DIVISOR;
    return 0;
}

static void read_cpu_model(char *out, size_t n)
{
    snprintf(out, n, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon++;
            colon += strspn(colon, " \t");
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, n, "%s", colon);
            break;
        }
    }
    fclose(f);
}

static double measure_clock_ns(void)
{
    enum { CALLS = 1000000 };
    int64_t sink = 0, t0 = clock_mono_ns();
    for (int i = 0; i < CALLS; i++)
        sink += clock_mono_ns();
    int64_t t1 = clock_mono_ns();
    __asm__ __volatile__("" : : "r"(sink)); /* keep the loop */
    return (double)(t1 - t0) / CALLS;
}

static int bench_init(bench_t *b)
{
    /* Every run uses at most this many samples per side. */
    uint64_t rounds = b->opt.msgs / 2;
    b->samples_cap = 2 * rounds;
    b->samples = malloc(b->samples_cap * sizeof(int64_t));
    b->report_bytes = sizeof(child_report_t) + rounds * sizeof(int64_t);
    b->report = mmap(NULL, b->report_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (!b->samples || b->report == MAP_FAILED) {
        fprintf(stderr, "bench_ring: cannot allocate room for %llu samples: %s\n",
                (unsigned long long)b->samples_cap, strerror(errno));
        return -1;
    }
    /* Fault the parent's sample pages in before any measurement. */
    memset(b->samples, 0, b->samples_cap * sizeof(int64_t));

    cpu_set_t set;
    CPU_ZERO(&set);
    b->ncpu = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;
    if (b->opt.pin) {
        int found = 0;
        for (int cpu = 0; cpu < CPU_SETSIZE && found < 2; cpu++)
            if (CPU_ISSET(cpu, &set))
                b->cpus[found++] = cpu;
        if (found < 2) {
            fprintf(stderr, "bench_ring: pinning needs two CPUs, this process may use %d; "
                    "not pinning\n", found);
            b->opt.pin = false;
        } else {
            pin_to(b->cpus[0]); /* the child re-pins itself to cpus[1] */
        }
    }
    read_cpu_model(b->cpu_model, sizeof b->cpu_model);
    b->clock_ns = measure_clock_ns();
    return 0;
}

int main(int argc, char **argv)
{
    bench_t b;
    memset(&b, 0, sizeof b);
    if (parse_options(argc, argv, &b.opt) < 0)
        return 2;
    /* A peer that died closes its socket: see EPIPE, not a fatal signal. */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (bench_init(&b) < 0)
        return 1;
    int rc = b.opt.spin_sweep ? run_sweep(&b) : run_default(&b);
    munmap(b.report, b.report_bytes);
    free(b.samples);
    return rc;
}
