/* test_trust.c -- the segments belong to the engine: what another local user
 * plants or opens, what a wrongly-moded file, a symlink, a full /dev/shm and a
 * crash at the worst instant can do to a ring. Cross-process: helpers are
 * forked, and run as uid 65534 where the case is about another user (the
 * tests run as root; as anyone else those cases say "skip"). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/ring.h"
#include "tests/support/ring_fixture.h"

static const shm_ring_spec_t SPSC8 = { SHM_KIND_SPSC, 64, 8, 7 };
static const shm_ring_spec_t BCAST8 = { SHM_KIND_BROADCAST, 64, 8, 7 };
#define NOBODY 65534

static char name[SHM_NAME_MAX];

static void setup(void)
{
    test_ring_name(name, sizeof name, "trust", "ord");
    shm_trust_set(&(shm_trust_t){ 0 });
}

static void teardown(void)
{
    test_ring_cleanup();
}

static bool root_or_skip(const char *why)
{
    if (geteuid() == 0)
        return true;
    printf("skip: %s needs root to act as a second user (uid %d)\n", why, NOBODY);
    return false;
}

/* Becomes uid/gid 65534 for good, as another local user would be. Stays
 * dumpable so that /proc/self/fd works as it does for a process started as
 * that user. */
static void become_nobody(void)
{
    if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
        setresuid(NOBODY, NOBODY, NOBODY) < 0 || prctl(PR_SET_DUMPABLE, 1) < 0)
        _exit(90);
}

static void write_rec(shm_writer_t *w, uint64_t pos)
{
    test_record_t rec;
    test_record_fill(&rec, pos, 1);
    ck_assert_int_eq(shm_writer_write(w, &rec), SHM_OK);
}

typedef struct {
    struct stat st;
    char bytes[64];
} file_state_t;

static file_state_t file_state(const char *seg)
{
    file_state_t f;
    memset(&f, 0, sizeof f);
    char path[SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", seg);
    ck_assert_int_eq(lstat(path, &f.st), 0);
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd >= 0) {
        ck_assert_int_ge(pread(fd, f.bytes, sizeof f.bytes, 0), 0);
        close(fd);
    }
    return f;
}

static void assert_untouched(const file_state_t *before, const char *seg)
{
    file_state_t after = file_state(seg);
    ck_assert_uint_eq(after.st.st_ino, before->st.st_ino);
    ck_assert_uint_eq(after.st.st_uid, before->st.st_uid);
    ck_assert_uint_eq(after.st.st_mode, before->st.st_mode);
    ck_assert_int_eq(memcmp(after.bytes, before->bytes, sizeof after.bytes), 0);
}

/* ---- planted by another user ------------------------------------------------ */

/* The attacker of the issue: creates the ring under the engine's name first,
 * a valid one of its own, opens it to everyone and writes market BUY-like
 * records into it, then goes away (its writer word is left as it was, or 0). */
static int plant_as_nobody(void *arg)
{
    int variant = *(int *)arg;
    become_nobody();
    shm_writer_t w;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != 0)
        return 91;
    for (uint64_t i = 0; i < 3; i++) {
        test_record_t rec;
        test_record_fill(&rec, i, 666);
        if (shm_writer_write(&w, &rec) != SHM_OK)
            return 92;
    }
    if (fchmod(w.seg.fd, 0666) < 0)
        return 93;
    if (variant == 1)
        shm__store_relaxed(&w.seg.hdr->writer, 0); /* "writer word left 0" */
    return 0; /* exits without closing: no live writer */
}

START_TEST(a_segment_planted_by_another_user_should_be_refused_and_left_alone)
{
    if (!root_or_skip("planting a segment as another user"))
        return;
    int variant = _i;
    ck_assert_int_eq(test_wait(test_spawn(plant_as_nobody, &variant)), 0);
    file_state_t before = file_state(name);
    ck_assert_uint_eq(before.st.st_uid, NOBODY);

    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), SE_EFOREIGN);
    const char *msg = se_errmsg();
    ck_assert_msg(strstr(msg, name) && strstr(msg, "65534") && strstr(msg, "0666"),
                  "the refusal should name file, owner and mode: %s", msg);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), SE_EFOREIGN);
    ck_assert_int_eq(shm_segment_remove(name), SE_EFOREIGN);
    assert_untouched(&before, name);
}
END_TEST

START_TEST(a_symlink_planted_under_a_ring_name_should_be_refused_and_left_alone)
{
    char path[SHM_NAME_MAX + 16], target[] = "/tmp/se-trust-target-XXXXXX";
    int fd = mkstemp(target);
    ck_assert_int_ge(fd, 0);
    close(fd);
    snprintf(path, sizeof path, "/dev/shm%s", name);
    ck_assert_int_eq(symlink(target, path), 0);
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), SE_EFOREIGN);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "symbolic link"));
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), SE_EFOREIGN);
    struct stat st;
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_int_eq(stat(target, &st), 0);
    ck_assert_int_eq(st.st_size, 0); /* nothing was written through it */
    unlink(path);
    unlink(target);
}
END_TEST

/* Another user tries every way into a ring the engine made. */
static int intrude_as_nobody(void *arg)
{
    (void)arg;
    become_nobody();
    if (shm_open(name, O_RDWR, 0) >= 0 || errno != EACCES)
        return 1;
    if (shm_open(name, O_RDONLY, 0) >= 0 || errno != EACCES)
        return 2;
    shm_reader_t r;
    if (shm_reader_open(&r, name, &SPSC8, "intruder", SHM_START_HEAD, 0) != -EACCES)
        return 3;
    shm_writer_t w;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != -EACCES)
        return 4;
    if (shm_unlink(name) == 0 || errno != EACCES) /* /dev/shm is sticky */
        return 5;
    /* Nor its registry, where a reader's position lives. */
    char reg[2 * SHM_NAME_MAX];
    const char *ring = strrchr(name, '.') + 1;
    snprintf(reg, sizeof reg, "/dev/shm%.*s@spsc/%s", (int)(ring - 1 - name), name, ring);
    if (open(reg, O_RDWR) >= 0 || errno != EACCES)
        return 6;
    return 0;
}

START_TEST(another_user_should_not_open_write_or_remove_an_engine_ring)
{
    if (!root_or_skip("opening a ring as another user"))
        return;
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    write_rec(&w, 0);
    ck_assert_int_eq(test_wait(test_spawn(intrude_as_nobody, NULL)), 0);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), 0);
    test_record_t rec;
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_OK);
    ck_assert_uint_eq(rec.incarnation, 1);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

/* With engine.users, every engine user is trusted, but a ring belongs to its
 * writer's user alone: the strategies' user cannot plant ord before riskd. */
static int plant_ord_and_sig_as_nobody(void *arg)
{
    (void)arg;
    become_nobody();
    char sig[SHM_NAME_MAX];
    test_ring_name(sig, sizeof sig, "trust", "sig.x");
    shm_writer_t w;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != 0 || shm_writer_open(&w, sig, &SPSC8, NULL) != 0)
        return 1;
    return 0;
}

START_TEST(a_ring_should_belong_to_its_writers_user_alone)
{
    if (!root_or_skip("planting rings as another engine user"))
        return;
    ck_assert_int_eq(test_wait(test_spawn(plant_ord_and_sig_as_nobody, NULL)), 0);
    char sig[SHM_NAME_MAX];
    test_ring_name(sig, sizeof sig, "trust", "sig.x");
    /* 65534 is an engine user (the strategies'); ord is riskd's (uid 0 here). */
    shm_trust_t t = { .nusers = 1, .users = { NOBODY }, .nwriters = 2 };
    snprintf(t.writers[0].ring, sizeof t.writers[0].ring, "ord");
    t.writers[0].uid = 0;
    snprintf(t.writers[1].ring, sizeof t.writers[1].ring, "sig.");
    t.writers[1].uid = NOBODY;
    shm_trust_set(&t);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), SE_EFOREIGN);
    ck_assert_msg(strstr(se_errmsg(), "its writer's user"), "%s", se_errmsg());
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), SE_EFOREIGN);
    /* The strategies' own ring is theirs: riskd reads it. */
    ck_assert_int_eq(shm_reader_open(&r, sig, &SPSC8, "riskd", SHM_START_HEAD, 0), 0);
    shm_reader_close(&r);
    /* Without the writers table (a single user), the planted ord would pass. */
    t.nwriters = 0;
    shm_trust_set(&t);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), 0);
    shm_reader_close(&r);
}
END_TEST

/* ---- modes -------------------------------------------------------------------- */

START_TEST(an_own_segment_with_a_loose_mode_should_be_refused)
{
    static const mode_t loose[] = { 0644, 0606, 0660, 0640, 04600 };
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    shm_writer_close(&w, false);
    int fd = shm_open(name, O_RDONLY, 0); /* a dup of w's would hold its claim */
    for (size_t i = 0; i < sizeof loose / sizeof loose[0]; i++) {
        ck_assert_int_eq(fchmod(fd, loose[i]), 0);
        ck_assert_msg(shm_writer_open(&w, name, &SPSC8, NULL) == SE_EFOREIGN, "mode %04o accepted",
                      (unsigned)loose[i]);
        shm_reader_t r;
        ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "execd", SHM_START_HEAD, 0), SE_EFOREIGN);
    }
    /* 0660 is right with the configured group, and only with that one. */
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    ck_assert_int_eq(fchmod(fd, 0660), 0);
    shm_trust_set(&(shm_trust_t){ .use_group = true, .gid = st.st_gid + 1 });
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), SE_EFOREIGN);
    shm_trust_set(&(shm_trust_t){ .use_group = true, .gid = st.st_gid });
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    shm_writer_close(&w, true);
    close(fd);
}
END_TEST

/* ---- creation ------------------------------------------------------------------ */

typedef struct {
    _Atomic int stop;
    _Atomic long seen, bad;
    char why[200];
} watch_t;

/* Maps the name as fast as it can: every time it exists, it must be whole. */
static int watch_name(void *arg)
{
    watch_t *wt = arg;
    while (!atomic_load(&wt->stop)) {
        shm_segment_t s;
        int rc = shm_segment_map(&s, name, false);
        if (rc == 0) {
            atomic_fetch_add(&wt->seen, 1);
            shm_segment_unmap(&s);
        } else if (rc != -ENOENT) {
            if (atomic_fetch_add(&wt->bad, 1) == 0)
                snprintf(wt->why, sizeof wt->why, "%s", se_errmsg());
        }
    }
    return 0;
}

START_TEST(a_new_ring_should_be_whole_whenever_its_name_is_visible)
{
    watch_t *wt = test_shared_alloc(sizeof *wt);
    pid_t watcher = test_spawn(watch_name, wt);
    for (int i = 0; i < 400; i++) {
        shm_writer_t w;
        ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
        shm_writer_close(&w, true);
    }
    atomic_store(&wt->stop, 1);
    ck_assert_int_eq(test_wait(watcher), 0);
    ck_assert_msg(wt->bad == 0, "%ld half-built sightings, first: %s", wt->bad, wt->why);
}
END_TEST

#define RACERS 6

typedef struct {
    int go[2];
    _Atomic int ok, busy, other;
} race_t;

static int race_to_write(void *arg)
{
    race_t *rc = arg;
    char c;
    close(rc->go[1]);
    if (read(rc->go[0], &c, 1) != 0) /* released all at once by the close */
        return 1;
    shm_writer_t w;
    int r = shm_writer_open(&w, name, &SPSC8, NULL);
    atomic_fetch_add(r == 0 ? &rc->ok : r == -EBUSY ? &rc->busy : &rc->other, 1);
    if (r == 0)
        pause(); /* hold it until the test kills us */
    return 0;
}

START_TEST(writers_starting_at_once_should_leave_exactly_one_owner)
{
    for (int round = 0; round < 15; round++) {
        race_t *rc = test_shared_alloc(sizeof *rc);
        ck_assert_int_eq(pipe(rc->go), 0);
        pid_t kids[RACERS];
        for (int i = 0; i < RACERS; i++)
            kids[i] = test_spawn(race_to_write, rc);
        close(rc->go[0]);
        close(rc->go[1]);
        while (atomic_load(&rc->ok) + atomic_load(&rc->busy) + atomic_load(&rc->other) < RACERS)
            sched_yield();
        ck_assert_int_eq(rc->ok, 1);
        ck_assert_int_eq(rc->other, 0);
        for (int i = 0; i < RACERS; i++) {
            kill(kids[i], SIGKILL);
            test_wait(kids[i]);
        }
        shm_unlink(name);
    }
}
END_TEST

/* ---- liveness ------------------------------------------------------------------ */

static int hold_pipe[2];

static void *hold_until_told(void *arg)
{
    (void)arg;
    char c;
    ssize_t n = read(hold_pipe[0], &c, 1);
    _exit(n == 1 ? 0 : 1);
}

/* Takes the writer of `name` and SPSC reader slot of the ring named in arg,
 * then lets its main thread exit while another thread keeps the process. */
static int hold_with_main_thread_gone(void *arg)
{
    const char *other = arg;
    shm_writer_t w;
    shm_reader_t r;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != 0 ||
        shm_reader_open(&r, other, &SPSC8, "execd", SHM_START_HEAD, 0) != 0)
        return 1;
    pthread_t t;
    if (pthread_create(&t, NULL, hold_until_told, NULL) != 0)
        return 2;
    pthread_exit(NULL);
}

START_TEST(a_process_whose_main_thread_exited_should_keep_its_claims)
{
    char other[SHM_NAME_MAX];
    test_ring_name(other, sizeof other, "trust", "sig.x");
    shm_writer_t feeder;
    ck_assert_int_eq(shm_writer_open(&feeder, other, &SPSC8, NULL), 0);
    ck_assert_int_eq(pipe(hold_pipe), 0);
    pid_t child = test_spawn(hold_with_main_thread_gone, other);
    /* Until its main thread is a zombie, with both claims taken. */
    for (;;) {
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%d/stat", (int)child);
        int fd = open(path, O_RDONLY);
        ck_assert_int_ge(fd, 0);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        char *p = strrchr(buf, ')');
        if (p && p[2] == 'Z')
            break;
        sched_yield();
    }
    /* What the pid check made of it: dead. The kernel's claims say otherwise. */
    ck_assert(!shm_pid_alive((uint32_t)child, 0));
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), -EBUSY);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, other, &SPSC8, "execd", SHM_START_HEAD, 0), -EBUSY);
    uint64_t owner;
    bool alive = false;
    ck_assert_int_eq(shm_segment_writer_of(name, &owner, &alive), 0);
    ck_assert(alive);
    ck_assert_uint_eq(SHM_OWNER_PID(owner), (uint32_t)child);
    ck_assert_int_eq(shm_segment_remove(name), -EBUSY);

    ck_assert_int_eq(write(hold_pipe[1], "x", 1), 1);
    ck_assert_int_eq(test_wait(child), 0);
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, other, &SPSC8, "execd", SHM_START_HEAD, 0), 0);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
    shm_writer_close(&feeder, true);
}
END_TEST

/* Opens (creating, taking over or replacing), writes and closes in a loop,
 * until killed at some instant of it. */
static int churn(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    for (uint64_t round = 0;; round++) {
        shm_writer_t w;
        shm_ring_spec_t spec = (test_rand(&seed) & 7) == 0 ? BCAST8 : SPSC8;
        if (shm_writer_open(&w, name, &spec, NULL) != 0)
            return 1;
        for (int i = 0; i < 4; i++) {
            test_record_t rec;
            test_record_fill(&rec, w.prod_seq, round);
            if (spec.kind == SHM_KIND_SPSC && shm_writer_write(&w, &rec) == SHM_FULL)
                w.seg.reg->readers[0].position = w.prod_seq; /* no reader: make room */
            else if (spec.kind == SHM_KIND_BROADCAST)
                shm_writer_write(&w, &rec);
        }
        shm_writer_close(&w, (round & 3) == 0);
    }
}

START_TEST(a_writer_killed_at_any_instant_should_leave_a_ring_the_next_can_use)
{
    uint64_t seed = 12345;
    for (int i = 0; i < 150; i++) {
        pid_t child = test_spawn(churn, (void *)(uintptr_t)(i + 1));
        struct timespec ts = { 0, (long)(test_rand(&seed) % 3000000) };
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        int st = test_wait(child);
        ck_assert_msg(st == 128 + SIGKILL, "churning writer failed on its own: %d", st);
        shm_writer_t w;
        int rc = shm_writer_open(&w, name, &SPSC8, NULL);
        ck_assert_msg(rc == 0, "after a kill at round %d: %s", i, se_errmsg());
        /* Whatever the dead writer left, every record still there is intact. */
        for (uint64_t at = shm_writer_history_start(&w); at < w.prod_seq; at++) {
            test_record_t rec;
            if (shm_peek(&w.seg, at, &rec) == SHM_OK)
                ck_assert(test_record_intact(&rec));
        }
        shm_writer_close(&w, false);
    }
    /* Nothing but the ring and its registry was ever left in /dev/shm under
     * our instance: no half-made file, no temporary registry. */
    char cmd[2 * SHM_NAME_MAX];
    const char *ring = strrchr(name, '.') + 1;
    snprintf(cmd, sizeof cmd, "cd /dev/shm && ls -d %.*s.* %.*s@*/* %.*s@*/.[!.]* 2>/dev/null", (int)(ring - 2 - name),
             name + 1, (int)(ring - 2 - name), name + 1, (int)(ring - 2 - name), name + 1);
    FILE *ls = popen(cmd, "r");
    char line[300], all[2000] = "";
    int count = 0;
    while (fgets(line, sizeof line, ls) && strlen(all) + strlen(line) < sizeof all) {
        strcat(all, line);
        count++;
    }
    pclose(ls);
    ck_assert_msg(count == 2, "left in /dev/shm:\n%s", all);
}
END_TEST

START_TEST(a_takeover_should_replace_a_ring_of_another_record_type)
{
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    write_rec(&w, 0);
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, NULL, "execd", SHM_START_HEAD, 0), 0);
    shm_writer_close(&w, false); /* gone, as if crashed */
    shm_ring_spec_t other = SPSC8;
    other.record_type = 8;
    ck_assert_int_eq(shm_writer_open(&w, name, &other, NULL), 0);
    ck_assert_uint_eq(w.seg.hdr->record_type, 8);
    ck_assert_uint_eq(w.prod_seq, 0); /* a new ring, not the old one's records */
    test_record_t rec;
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_OK); /* what was written before */
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_RETIRED);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- the OS boundary ------------------------------------------------------------ */

/* In a mount namespace of its own, /dev/shm becomes a 1 MiB tmpfs. */
static int on_small_tmpfs(void *arg)
{
    (void)arg;
    if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return 77;
    if (mount("se-test", "/dev/shm", "tmpfs", 0, "size=1m,mode=1777") < 0)
        return 77;
    shm_writer_t w;
    shm_ring_spec_t big = { SHM_KIND_BROADCAST, 256, 8192, 1 }; /* 2 MiB */
    int rc = shm_writer_open(&w, name, &big, NULL);
    if (rc != -ENOSPC)
        return 1;
    if (!strstr(se_errmsg(), "cannot reserve"))
        return 2;
    char path[SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    if (access(path, F_OK) == 0)
        return 4; /* nothing left under the name */
    shm_ring_spec_t small = { SHM_KIND_BROADCAST, 256, 1024, 1 }; /* 256 KiB fits */
    if (shm_writer_open(&w, name, &small, NULL) != 0)
        return 5;
    char payload[248] = { 0 };
    for (int i = 0; i < 4096; i++) /* every page touched: no SIGBUS */
        if (shm_writer_write(&w, payload) != SHM_OK)
            return 6;
    shm_writer_close(&w, true);
    return 0;
}

START_TEST(a_full_dev_shm_should_fail_at_open_never_later)
{
    if (!root_or_skip("mounting a small tmpfs in a mount namespace"))
        return;
    int rc = test_wait(test_spawn(on_small_tmpfs, NULL));
    if (rc == 77) {
        printf("skip: no mount namespace here (unshare or mount refused)\n");
        return;
    }
    ck_assert_int_eq(rc, 0);
}
END_TEST

static Suite *trust_suite(void)
{
    Suite *s = suite_create("trust");
    TCase *tc = tcase_create("owners");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, a_segment_planted_by_another_user_should_be_refused_and_left_alone, 0, 2);
    tcase_add_test(tc, a_symlink_planted_under_a_ring_name_should_be_refused_and_left_alone);
    tcase_add_test(tc, another_user_should_not_open_write_or_remove_an_engine_ring);
    tcase_add_test(tc, an_own_segment_with_a_loose_mode_should_be_refused);
    tcase_add_test(tc, a_ring_should_belong_to_its_writers_user_alone);
    suite_add_tcase(s, tc);

    tc = tcase_create("claims");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, a_new_ring_should_be_whole_whenever_its_name_is_visible);
    tcase_add_test(tc, writers_starting_at_once_should_leave_exactly_one_owner);
    tcase_add_test(tc, a_process_whose_main_thread_exited_should_keep_its_claims);
    tcase_add_test(tc, a_writer_killed_at_any_instant_should_leave_a_ring_the_next_can_use);
    tcase_add_test(tc, a_takeover_should_replace_a_ring_of_another_record_type);
    suite_add_tcase(s, tc);

    tc = tcase_create("os");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, a_full_dev_shm_should_fail_at_open_never_later);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(trust_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_ring_cleanup();
    return failed ? 1 : 0;
}
