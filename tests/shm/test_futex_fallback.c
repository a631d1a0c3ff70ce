/* test_futex_fallback.c -- the rings' waits in a process whose futex calls
 * fail: a forked child installs a seccomp filter (raw BPF) that makes
 * futex_waitv, or futex_waitv and futex, return EPERM, as systemd's
 * SystemCallFilter can. Its reader must still wake for every record, must not
 * spin, must not make its writers pay a syscall per record, and must say once
 * what it does instead. Results come back through shared memory and pipes. */
#include <check.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "shm/futex.h"
#include "shm/ring.h"
#include "tests/support/ring_fixture.h"

#if defined(__x86_64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TEST_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

static const int64_t MS = 1000000;
static const int64_t SECOND = 1000000000;
#define NRINGS 3
#define WAKE_ROUNDS 30        /* records written one at a time, each to a sleeping reader */
#define BURST 3000            /* records written back to back */
#define IDLE_NS (300 * MS)    /* the wait for nothing whose CPU time is measured */
#define MAX_LATENCY_NS (250 * MS) /* far above a 100 µs slice, far below a lost wake-up (2 s) */
#define WAIT_NS (2 * SECOND)  /* the reader's timeout: a lost wake-up costs this much */
#define SPIN_NS (20 * 1000)   /* the engine's default spin before sleeping */

typedef enum { BLOCK_WAITV, BLOCK_WAITV_AND_FUTEX } block_t;

/* One message: its position and the writer's clock (56-byte payload). */
typedef struct {
    uint64_t seq;
    int64_t send_ns;
    uint64_t pad[5];
} msg_t;
_Static_assert(sizeof(msg_t) == 56, "a 64-byte record's payload");

/* What a child found. */
typedef struct {
    char skip[200];      /* non-empty: the filter could not be installed, and why */
    char failed[200];    /* non-empty: what went wrong in the child */
    int64_t idle_cpu_ns;
    int64_t idle_wall_ns;
    int64_t max_latency_ns;
    uint64_t received;
    uint64_t waits;      /* shm_wait calls made while receiving */
    int mode;            /* shm__futex_mode() at the end */
    int lines_waitv;     /* log lines naming each call */
    int lines_wait;
    int lines_wake;
    int lines_total;
    uint64_t wake_calls; /* writer child: FUTEX_WAKE syscalls it made */
} result_t;

static result_t *res;
static char names[NRINGS][SHM_NAME_MAX];
static const shm_ring_spec_t SPEC = { SHM_KIND_BROADCAST, 64, 4096, 0 };
static int to_child[2], to_parent[2];

static void setup(void)
{
    for (int i = 0; i < NRINGS; i++) {
        char ring[16];
        snprintf(ring, sizeof ring, "r%d", i);
        test_ring_name(names[i], sizeof names[i], "f", ring);
    }
    res = test_shared_alloc(sizeof *res);
    ck_assert_ptr_nonnull(res);
    ck_assert_int_eq(pipe(to_child), 0);
    ck_assert_int_eq(pipe(to_parent), 0);
}

static void teardown(void)
{
    test_ring_cleanup();
}

/* ---- the filter --------------------------------------------------------------- */

/* Makes futex_waitv (and with BLOCK_WAITV_AND_FUTEX every futex call) fail
 * with EPERM in this process from now on. Returns 0, or -1 with why set. */
static int block_futexes(block_t what, char *why, size_t why_size)
{
#if !defined(TEST_AUDIT_ARCH) || !defined(SYS_futex_waitv)
    (void)what;
    snprintf(why, why_size, "no seccomp architecture or futex_waitv number known for this build");
    return -1;
#else
    const uint32_t futex_nr = what == BLOCK_WAITV_AND_FUTEX ? SYS_futex : 0xffffffffu;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TEST_AUDIT_ARCH, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex_waitv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, futex_nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { (unsigned short)(sizeof f / sizeof f[0]), f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(why, why_size, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        snprintf(why, why_size, "seccomp(SECCOMP_SET_MODE_FILTER): %s", strerror(errno));
        return -1;
    }
    return 0;
#endif
}

/* ---- child helpers (no check asserts: report through res) -------------------- */

static void child_fail(const char *what)
{
    if (!res->failed[0])
        snprintf(res->failed, sizeof res->failed, "%s", what);
}

static void send_byte(int fd, char c)
{
    if (write(fd, &c, 1) != 1)
        _exit(90);
}

static char recv_byte(int fd)
{
    char c = 0;
    if (read(fd, &c, 1) != 1)
        _exit(91);
    return c;
}

static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * SECOND +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* Counts the log lines (in the memfd log) that contain each call's name. */
static void count_log_lines(int fd)
{
    static char buf[16384];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    for (char *line = buf, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            break;
        *end = '\0';
        res->lines_total++;
        res->lines_waitv += strstr(line, "\"call\":\"futex_waitv\"") != NULL;
        res->lines_wait += strstr(line, "\"call\":\"futex(FUTEX_WAIT)\"") != NULL;
        res->lines_wake += strstr(line, "\"call\":\"futex(FUTEX_WAKE)\"") != NULL;
    }
}

/* Reads every record waiting on the readers; records their latency. */
static uint64_t drain(shm_reader_t *r)
{
    uint64_t got = 0;
    for (int i = 0; i < NRINGS; i++) {
        msg_t m;
        shm_status_t st;
        while ((st = shm_reader_read(&r[i], &m)) == SHM_OK) {
            int64_t lat = clock_mono_ns() - m.send_ns;
            if (lat > res->max_latency_ns)
                res->max_latency_ns = lat;
            if (lat >= MAX_LATENCY_NS) {
                char what[100];
                snprintf(what, sizeof what, "record %llu was seen %lld ms after it was written",
                         (unsigned long long)m.seq, (long long)(lat / MS));
                child_fail(what);
            }
            got++;
        }
        if (st != SHM_EMPTY)
            child_fail("a read returned neither a record nor SHM_EMPTY");
    }
    res->received += got;
    return got;
}

/* Waits (the way under test) until `want` more records have arrived. */
static void receive(shm_reader_t *r, shm_reader_t *const *rs, uint64_t want)
{
    uint64_t got = 0;
    int64_t deadline = clock_mono_ns() + 30 * SECOND;
    while (got < want && clock_mono_ns() < deadline && !res->failed[0]) {
        got += drain(r);
        if (got < want) {
            shm_wait(rs, NRINGS, SPIN_NS, WAIT_NS);
            res->waits++;
        }
    }
    if (got < want)
        child_fail("records never arrived");
}

/* The reader child: attaches to every ring, blocks futexes, then follows the
 * parent's script: an idle wait, single records, a burst. */
static int reader_child(void *arg)
{
    block_t what = *(block_t *)arg;
    shm_reader_t r[NRINGS];
    shm_reader_t *rs[NRINGS];
    for (int i = 0; i < NRINGS; i++) {
        if (shm_reader_open(&r[i], names[i], &SPEC, "fallback", SHM_START_HEAD, 0) != 0) {
            child_fail(se_errmsg());
            send_byte(to_parent[1], 'x');
            return 1;
        }
        rs[i] = &r[i];
    }
    int logfd = memfd_create("log", 0);
    if (logfd < 0 || block_futexes(what, res->skip, sizeof res->skip) < 0) {
        if (logfd < 0)
            snprintf(res->skip, sizeof res->skip, "memfd_create: %s", strerror(errno));
        send_byte(to_parent[1], 's');
        return 0;
    }
    log_set_fd(logfd);
    /* The first wait meets the failing calls and falls back. */
    shm_wait(rs, NRINGS, 0, 1 * MS);
    send_byte(to_parent[1], 'i');

    /* (b) a wait for nothing costs little CPU. */
    int64_t c0 = cpu_ns(), t0 = clock_mono_ns();
    while (clock_mono_ns() - t0 < IDLE_NS)
        if (shm_wait(rs, NRINGS, SPIN_NS, IDLE_NS - (clock_mono_ns() - t0)) == SHM_OK)
            child_fail("shm_wait said a record was there when none was written");
    res->idle_wall_ns = clock_mono_ns() - t0;
    res->idle_cpu_ns = cpu_ns() - c0;
    send_byte(to_parent[1], 'w');

    /* (a) every record written to a waiting reader wakes it. */
    for (int k = 0; k < WAKE_ROUNDS; k++) {
        receive(r, rs, 1);
        send_byte(to_parent[1], res->failed[0] ? 'f' : 'a');
        if (res->failed[0])
            return 1;
    }
    /* (c) a burst: the parent counts its own wake calls. */
    recv_byte(to_child[0]);
    res->waits = 0;
    receive(r, rs, BURST);
    res->mode = (int)shm__futex_mode();
    count_log_lines(logfd);
    send_byte(to_parent[1], 'b');
    for (int i = 0; i < NRINGS; i++)
        shm_reader_close(&r[i]);
    return 0;
}

/* ---- parent side -------------------------------------------------------------- */

static void expect_byte(char want)
{
    struct pollfd p = { to_parent[0], POLLIN, 0 };
    ck_assert_msg(poll(&p, 1, 60000) == 1, "the child said nothing for 60 s (waiting for '%c')", want);
    char c = 0;
    ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
    ck_assert_msg(c == want, "child sent '%c', expected '%c'; child: %s", c, want, res->failed);
}

static void write_msg(shm_writer_t *w, uint64_t seq)
{
    msg_t m = { .seq = seq, .send_ns = clock_mono_ns() };
    ck_assert_int_eq(shm_writer_write(w, &m), SHM_OK);
}

static uint64_t sleepers_of(shm_writer_t *w)
{
    uint64_t bits = 0;
    for (int i = 0; i < NRINGS; i++)
        bits |= shm__load_seq_cst(&w[i].seg.reg->sleepers);
    return bits;
}

/* Runs the reader child against three rings written by this process and
 * checks (a)-(d). Returns false (after printing "skip") when the child could
 * not install its filter. */
static bool run_reader_case(block_t what)
{
    shm_writer_t w[NRINGS];
    for (int i = 0; i < NRINGS; i++)
        ck_assert_msg(shm_writer_open(&w[i], names[i], &SPEC, NULL) == 0, "%s", se_errmsg());
    pid_t child = test_spawn(reader_child, &what);
    struct pollfd p = { to_parent[0], POLLIN, 0 };
    ck_assert_int_eq(poll(&p, 1, 60000), 1);
    char c = 0;
    ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
    if (c == 's') {
        ck_assert_int_eq(test_wait(child), 0);
        printf("skip: %s: cannot install a seccomp filter: %s\n",
               what == BLOCK_WAITV ? "futex_waitv EPERM" : "futex EPERM", res->skip);
        return false;
    }
    ck_assert_msg(c == 'i', "child: %s", res->failed);

    /* While the child waits for nothing: in the sleep fallback its sleeper
     * bits must stay clear (samples every ~1 ms, on the pipe's timeout). */
    uint64_t bits_seen = 0;
    int samples = 0;
    for (;;) {
        bits_seen |= sleepers_of(w);
        samples++;
        if (poll(&p, 1, 1) == 1)
            break;
    }
    expect_byte('w');

    uint64_t wakes0 = shm__futex_wake_calls();
    for (int k = 0; k < WAKE_ROUNDS; k++) {
        write_msg(&w[k % NRINGS], (uint64_t)k);
        expect_byte('a');
    }
    uint64_t wake_single = shm__futex_wake_calls() - wakes0;

    send_byte(to_child[1], 'g');
    uint64_t wakes1 = shm__futex_wake_calls();
    for (int k = 0; k < BURST; k++)
        write_msg(&w[k % NRINGS], (uint64_t)k);
    uint64_t wake_burst = shm__futex_wake_calls() - wakes1;
    expect_byte('b');
    ck_assert_int_eq(test_wait(child), 0);
    for (int i = 0; i < NRINGS; i++)
        shm_writer_close(&w[i], true);

    printf("%s: idle CPU %.1f%% of %lld ms, wake latency max %.0f us, writer wake calls %llu for %d "
           "single records and %llu for a burst of %d (%llu waits), %d sleeper samples (bits 0x%llx)\n",
           what == BLOCK_WAITV ? "futex_waitv EPERM" : "futex EPERM",
           100.0 * (double)res->idle_cpu_ns / (double)res->idle_wall_ns,
           (long long)(res->idle_wall_ns / MS), (double)res->max_latency_ns / 1e3,
           (unsigned long long)wake_single, WAKE_ROUNDS, (unsigned long long)wake_burst, BURST,
           (unsigned long long)res->waits, samples, (unsigned long long)bits_seen);
    fflush(stdout);

    ck_assert_msg(res->failed[0] == '\0', "child: %s", res->failed);
    /* (a) no lost wake-up: every record arrived, each far sooner than the
     * 2 s wait a lost wake-up would have cost. */
    ck_assert_uint_eq(res->received, WAKE_ROUNDS + BURST);
    ck_assert_msg(res->max_latency_ns < MAX_LATENCY_NS, "a record took %lld us to be seen",
                  (long long)(res->max_latency_ns / 1000));
    /* (b) waiting for nothing is not a busy spin. */
    ck_assert_int_ge(res->idle_wall_ns, IDLE_NS);
    ck_assert_msg(res->idle_cpu_ns * 5 < res->idle_wall_ns, "waiting for nothing used %lld ms of CPU in %lld ms",
                  (long long)(res->idle_cpu_ns / MS), (long long)(res->idle_wall_ns / MS));
    /* (c) the writer enters the kernel at most once per ring per sleep of
     * the reader, which in a burst spins through most records (a reader that
     * keeps announcing itself as a sleeper costs a wake call per record);
     * with no futex at all, never. */
    ck_assert_msg(wake_burst * 4 <= BURST,
                  "%llu wake calls for %d records read in %llu waits", (unsigned long long)wake_burst,
                  BURST, (unsigned long long)res->waits);
    /* (d) one line per level fallen to. */
    ck_assert_int_eq(res->lines_waitv, 1);
    if (what == BLOCK_WAITV) {
        ck_assert_int_eq(res->mode, SHM_FUTEX_WAIT_ONE);
        ck_assert_int_eq(res->lines_wait, 0);
        ck_assert_int_eq(res->lines_total, 1);
    } else {
        ck_assert_int_eq(res->mode, SHM_FUTEX_NONE);
        ck_assert_int_eq(res->lines_wait, 1);
        ck_assert_int_eq(res->lines_total, 2);
        ck_assert_msg(bits_seen == 0, "a reader that cannot be woken set sleeper bits 0x%llx",
                      (unsigned long long)bits_seen);
        ck_assert_uint_eq(wake_single + wake_burst, 0);
    }
    return true;
}

START_TEST(reader_without_futex_waitv_should_wake_for_every_record_without_spinning)
{
    run_reader_case(BLOCK_WAITV);
}
END_TEST

START_TEST(reader_without_any_futex_should_poll_in_slices_and_never_ask_for_a_wake_up)
{
    run_reader_case(BLOCK_WAITV_AND_FUTEX);
}
END_TEST

/* ---- a writer whose FUTEX_WAKE fails ------------------------------------------ */

#define WAKER_RECORDS 20

/* Writes one record each time the parent's reader is asleep (its sleeper bit
 * set), so that every write finds a sleeper to wake. */
static int writer_child(void *arg)
{
    (void)arg;
    int logfd = memfd_create("log", 0);
    if (logfd < 0 || block_futexes(BLOCK_WAITV_AND_FUTEX, res->skip, sizeof res->skip) < 0) {
        if (logfd < 0)
            snprintf(res->skip, sizeof res->skip, "memfd_create: %s", strerror(errno));
        send_byte(to_parent[1], 's');
        return 0;
    }
    log_set_fd(logfd);
    shm_writer_t w;
    if (shm_writer_open(&w, names[0], &SPEC, NULL) != 0) {
        child_fail(se_errmsg());
        send_byte(to_parent[1], 'x');
        return 1;
    }
    send_byte(to_parent[1], 'o');
    for (uint64_t k = 0; k < WAKER_RECORDS && !res->failed[0]; k++) {
        int64_t deadline = clock_mono_ns() + 10 * SECOND;
        while (shm__load_seq_cst(&w.seg.reg->sleepers) == 0 && clock_mono_ns() < deadline)
            shm__cpu_relax();
        if (shm__load_seq_cst(&w.seg.reg->sleepers) == 0)
            child_fail("the reader never slept");
        msg_t m = { .seq = k, .send_ns = clock_mono_ns() };
        if (shm_writer_write(&w, &m) != SHM_OK)
            child_fail("write failed");
    }
    res->wake_calls = shm__futex_wake_calls();
    count_log_lines(logfd);
    shm_writer_close(&w, false);
    return 0;
}

START_TEST(writer_whose_wake_fails_should_not_call_futex_wake_per_record)
{
    /* Created and left by this process, so the child takes it over. */
    shm_writer_t w0;
    ck_assert_msg(shm_writer_open(&w0, names[0], &SPEC, NULL) == 0, "%s", se_errmsg());
    shm_writer_close(&w0, false);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, names[0], &SPEC, "sleeper", SHM_START_HEAD, 0), 0);
    pid_t child = test_spawn(writer_child, NULL);
    struct pollfd p = { to_parent[0], POLLIN, 0 };
    ck_assert_int_eq(poll(&p, 1, 60000), 1);
    char c = 0;
    ck_assert_int_eq(read(to_parent[0], &c, 1), 1);
    if (c == 's') {
        ck_assert_int_eq(test_wait(child), 0);
        printf("skip: FUTEX_WAKE EPERM: cannot install a seccomp filter: %s\n", res->skip);
        shm_reader_close(&r);
        return;
    }
    ck_assert_msg(c == 'o', "child: %s", res->failed);
    /* The child cannot wake us: each wait ends at its 20 ms timeout. */
    shm_reader_t *rs[] = { &r };
    uint64_t got = 0;
    int64_t deadline = clock_mono_ns() + 30 * SECOND;
    while (got < WAKER_RECORDS && clock_mono_ns() < deadline) {
        msg_t m;
        while (shm_reader_read(&r, &m) == SHM_OK) {
            ck_assert_uint_eq(m.seq, got);
            got++;
        }
        if (got < WAKER_RECORDS)
            shm_wait(rs, 1, 0, 20 * MS);
    }
    ck_assert_int_eq(test_wait(child), 0);
    shm_reader_close(&r);
    ck_assert_msg(res->failed[0] == '\0', "child: %s", res->failed);
    ck_assert_uint_eq(got, WAKER_RECORDS);
    ck_assert_msg(res->wake_calls == 1, "%llu FUTEX_WAKE calls for %d records each finding a sleeper",
                  (unsigned long long)res->wake_calls, WAKER_RECORDS);
    ck_assert_int_eq(res->lines_wake, 1);
    ck_assert_int_eq(res->lines_total, 1);
}
END_TEST

static Suite *fallback_suite(void)
{
    Suite *s = suite_create("futex_fallback");
    TCase *tc = tcase_create("seccomp");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, reader_without_futex_waitv_should_wake_for_every_record_without_spinning);
    tcase_add_test(tc, reader_without_any_futex_should_poll_in_slices_and_never_ask_for_a_wake_up);
    tcase_add_test(tc, writer_whose_wake_fails_should_not_call_futex_wake_per_record);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(fallback_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_ring_cleanup();
    return failed ? 1 : 0;
}
