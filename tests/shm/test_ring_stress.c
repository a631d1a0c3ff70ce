/* test_ring_stress.c -- the rings between real processes: millions of
 * self-checking records, a deliberately slow broadcast reader, and writers and
 * readers SIGKILLed at random instants and restarted, each with the record
 * sizes the engine uses (64 to 384 bytes: common/records.h, SE_SPEC_*), so a
 * record spans up to six cache lines. Each helper process is forked; results
 * come back through shared anonymous memory and exit codes. */
#include <check.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/ring.h"
#include "tests/support/ring_fixture.h"

static const int64_t SECOND = 1000000000;
static const int64_t SPIN_NS = 20000;

static char name[SHM_NAME_MAX];

/* ---- records of every size ------------------------------------------------------ */

/* The record sizes under test: the 64-byte minimum and the engine's own
 * (signal 128, in and risk 256, order 192 rounds between, exec 384). Tests
 * loop over them (check's loop tests: _i is the index). */
static const uint32_t SIZES[] = { 64, 128, 256, 384 };
#define NSIZES ((int)(sizeof SIZES / sizeof SIZES[0]))
#define MAX_RECORD 384u
#define MAX_WORDS (MAX_RECORD / 8 - 1)

/* A payload that proves its own integrity word by word: word 0 is the
 * position, word 1 the writer's incarnation, every word after them a
 * function of those two and its index, and the last word a checksum of all
 * the others. A copy torn anywhere (words of two different writes, on any
 * cache line) fails the check of some word. */
typedef struct {
    uint64_t w[MAX_WORDS];
} payload_t;

static uint32_t nwords; /* payload words of the current record size */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

static uint64_t word_at(uint64_t pos, uint64_t incarnation, uint32_t i)
{
    return mix(pos * 64 + i + incarnation * 0x1000003);
}

static uint64_t payload_sum(const payload_t *p, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i + 1 < n; i++)
        h = mix(h ^ p->w[i]);
    return h;
}

static void payload_fill(payload_t *p, uint64_t pos, uint64_t incarnation, uint32_t n)
{
    p->w[0] = pos;
    p->w[1] = incarnation;
    for (uint32_t i = 2; i + 1 < n; i++)
        p->w[i] = word_at(pos, incarnation, i);
    p->w[n - 1] = payload_sum(p, n);
}

static bool payload_intact(const payload_t *p, uint32_t n)
{
    for (uint32_t i = 2; i + 1 < n; i++)
        if (p->w[i] != word_at(p->w[0], p->w[1], i))
            return false;
    return p->w[n - 1] == payload_sum(p, n);
}

static uint64_t payload_pos(const payload_t *p)
{
    return p->w[0];
}

static uint64_t payload_incarnation(const payload_t *p)
{
    return p->w[1];
}

/* Scales a count for 64-byte records down for bigger ones: the same bytes. */
static uint64_t scaled(uint64_t n64, uint32_t record_size)
{
    return n64 * 64 / record_size;
}

/* What the reader processes found, shared with the test process. */
typedef struct {
    _Atomic uint64_t target;   /* stop once the reader position reaches this (0: not yet known) */
    /* delivered << 32 | seen_upto: the distinct positions delivered, and the
     * highest position delivered + 1 (across reader restarts). One word, so a
     * reader killed while counting a record never counts it twice. */
    _Atomic uint64_t progress;
    uint64_t redelivered;       /* a record peeked by a killed reader, delivered again */
    uint64_t torn;              /* checksum failures */
    uint64_t misordered;        /* a record that was not at the position the reader expected */
    uint64_t incarnation_back;  /* a record from an older writer after a newer one */
    uint64_t bad_restart;       /* a restarted reader resumed somewhere it should not */
    uint64_t drops;             /* the reader's slot drop count at the end */
    uint64_t taken_then_lapped; /* broadcast: a record a killed reader had taken but not
                                   advanced past, which its successor's lap then skipped:
                                   delivered once and counted in drops once */
    uint64_t last_incarnation;
    int attach_error;
} result_t;

static result_t *res;

static uint64_t seen_upto(const result_t *x)
{
    return shm__load_acquire((_Atomic uint64_t *)&x->progress) & 0xffffffffu;
}

static uint64_t delivered(const result_t *x)
{
    return shm__load_acquire((_Atomic uint64_t *)&x->progress) >> 32;
}
static shm_ring_spec_t spec;

static void setup(void)
{
    test_ring_name(name, sizeof name, "s", "ring");
    res = test_shared_alloc(sizeof *res);
    ck_assert_ptr_nonnull(res);
}

static void teardown(void)
{
    test_ring_cleanup();
}

static void create_ring(shm_kind_t kind, uint32_t record_size, uint32_t capacity)
{
    spec = (shm_ring_spec_t){ kind, record_size, capacity, 0 };
    nwords = shm_payload_size(record_size) / 8;
    shm_writer_t w;
    ck_assert_msg(shm_writer_open(&w, name, &spec, NULL) == 0, "%s", se_errmsg());
    shm_writer_close(&w, false);
}

static void signal_fd(int fd)
{
    if (fd >= 0 && write(fd, "!", 1) != 1)
        _exit(90);
}

static void wait_fd(int fd)
{
    char c;
    ck_assert_int_eq(read(fd, &c, 1), 1);
}

/* ---- writer process ---------------------------------------------------------- */

typedef struct {
    uint64_t incarnation;
    uint64_t stop_at;  /* write until the ring head reaches this; UINT64_MAX: until killed */
    int ready_fd;      /* one byte once the ring is open (-1: none) */
    uint32_t work_ns;  /* pause between records */
} writer_job_t;

static void busy_ns(uint32_t ns)
{
    if (!ns)
        return;
    int64_t end = clock_mono_ns() + ns;
    while (clock_mono_ns() < end)
        shm__cpu_relax();
}

static int writer_main(void *arg)
{
    writer_job_t *job = arg;
    shm_writer_t w;
    if (shm_writer_open(&w, name, &spec, NULL) != 0) {
        fprintf(stderr, "writer: %s\n", se_errmsg());
        return 1;
    }
    signal_fd(job->ready_fd);
    while (w.prod_seq < job->stop_at) {
        payload_t rec;
        payload_fill(&rec, w.prod_seq, job->incarnation, nwords);
        if (shm_writer_write(&w, &rec) == SHM_OK) {
            busy_ns(job->work_ns);
            continue;
        }
        sched_yield(); /* full: the reader frees slots */
    }
    shm_writer_close(&w, false);
    return 0;
}

/* ---- reader process ------------------------------------------------------------ */

typedef struct {
    const char *reader_name;
    shm_start_t start;
    int ready_fd;
    uint32_t work_ns; /* per-record work: a deliberately slow reader */
} reader_job_t;

/* Checks one delivered record against what this reader expects at pos. */
static void account(const payload_t *rec, uint64_t pos)
{
    if (!payload_intact(rec, nwords)) {
        res->torn++;
        return;
    }
    uint64_t rpos = payload_pos(rec), inc = payload_incarnation(rec);
    if (rpos != pos)
        res->misordered++;
    if (inc < res->last_incarnation)
        res->incarnation_back++;
    res->last_incarnation = inc;
    uint64_t seen = seen_upto(res);
    if (rpos + 1 == seen) {
        res->redelivered++;
    } else {
        if (rpos < seen)
            res->misordered++;
        shm__store_release(&res->progress, (delivered(res) + 1) << 32 | (rpos + 1));
    }
}

/* Reads with peek/advance, so a kill between the two shows up as one
 * redelivery, never as a loss. Runs until the position reaches res->target. */
static int reader_main(void *arg)
{
    reader_job_t *job = arg;
    shm_reader_t r;
    int rc = shm_reader_open(&r, name, &spec, job->reader_name, job->start, 10 * SECOND);
    if (rc != 0) {
        res->attach_error = rc;
        fprintf(stderr, "reader: %s\n", se_errmsg());
        return 1;
    }
    uint64_t seen = seen_upto(res);
    if (job->start == SHM_START_RESUME && seen && r.pos != seen && r.pos + 1 != seen &&
        spec.kind == SHM_KIND_SPSC)
        res->bad_restart++;
    bool owed = spec.kind == SHM_KIND_BROADCAST && seen && r.pos + 1 == seen;
    signal_fd(job->ready_fd);
    shm_reader_t *rs[] = { &r };
    for (;;) {
        uint64_t target = shm__load_acquire(&res->target);
        if (target && r.pos >= target)
            break;
        payload_t rec;
        shm_status_t st = shm_reader_peek(&r, &rec);
        if (st == SHM_LAPPED && owed)
            res->taken_then_lapped++;
        if (st == SHM_OK || st == SHM_LAPPED)
            owed = false;
        if (st == SHM_OK) {
            account(&rec, r.pos);
            busy_ns(job->work_ns);
            shm_reader_advance(&r);
        } else if (st == SHM_EMPTY) {
            shm_wait(rs, 1, SPIN_NS, SECOND / 100);
        } else if (st != SHM_LAPPED) {
            return 2;
        }
    }
    res->drops = shm__load_relaxed(&r.slot->drops);
    shm_reader_close(&r);
    return 0;
}

static pid_t start_reader(reader_job_t *job)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    job->ready_fd = p[1];
    pid_t pid = test_spawn(reader_main, job);
    wait_fd(p[0]);
    close(p[0]);
    close(p[1]);
    return pid;
}

static pid_t start_writer(writer_job_t *job)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    job->ready_fd = p[1];
    pid_t pid = test_spawn(writer_main, job);
    wait_fd(p[0]);
    close(p[0]);
    close(p[1]);
    return pid;
}

static uint64_t ring_head(void)
{
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
    shm_segment_unmap(&seg);
    return head;
}

/* Waits (up to 60 s) until the reader named reader_name has read up to the
 * ring's head: then what is written next is all it reads. */
static void wait_reader_at_head(const char *reader_name)
{
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    ck_assert_ptr_nonnull(seg.reg);
    int64_t deadline = clock_mono_ns() + 60 * SECOND;
    bool there = false;
    while (!there && clock_mono_ns() < deadline) {
        uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
        for (int i = 0; i < SHM_MAX_READERS; i++) {
            const shm_reader_slot_t *sl = &seg.reg->readers[i];
            if (strncmp(sl->name, reader_name, SHM_READER_NAME_MAX) == 0 &&
                shm__load_acquire((_Atomic uint64_t *)&sl->position) >= head)
                there = true;
        }
        if (!there)
            sched_yield();
    }
    shm_segment_unmap(&seg);
    ck_assert_msg(there, "reader %s never caught up with the head", reader_name);
}

static void assert_clean(void)
{
    ck_assert_msg(res->torn == 0, "%u-byte records: %llu torn", spec.record_size,
                  (unsigned long long)res->torn);
    ck_assert_msg(res->misordered == 0, "%u-byte records: %llu misordered", spec.record_size,
                  (unsigned long long)res->misordered);
    ck_assert_msg(res->incarnation_back == 0, "%u-byte records: %llu from an older writer", spec.record_size,
                  (unsigned long long)res->incarnation_back);
    ck_assert_msg(res->bad_restart == 0, "%u-byte records: %llu bad restarts", spec.record_size,
                  (unsigned long long)res->bad_restart);
    ck_assert_msg(res->attach_error == 0, "%u-byte records: attach error %d", spec.record_size,
                  res->attach_error);
}

/* ---- the tests ------------------------------------------------------------------ */

/* The checker itself: a copy torn at any word, two writes of the same slot
 * spliced, fails; so a torn copy across cache lines cannot pass unseen. */
START_TEST(payload_check_should_catch_a_copy_torn_at_any_word)
{
    nwords = shm_payload_size(SIZES[_i]) / 8;
    payload_t a, b, torn;
    payload_fill(&a, 100, 1, nwords);
    payload_fill(&b, 100 + 4096, 1, nwords); /* the slot's next write */
    ck_assert(payload_intact(&a, nwords) && payload_intact(&b, nwords));
    for (uint32_t cut = 1; cut < nwords; cut++) {
        torn = a;
        memcpy(&torn.w[cut], &b.w[cut], (nwords - cut) * 8); /* the rest from the newer write */
        ck_assert_msg(!payload_intact(&torn, nwords), "%u-byte record torn at word %u passed", SIZES[_i], cut);
        torn = b;
        torn.w[cut] = a.w[cut]; /* one stale word anywhere (word 1, the same writer's, may equal) */
        if (a.w[cut] != b.w[cut])
            ck_assert_msg(!payload_intact(&torn, nwords), "%u-byte record with stale word %u passed",
                          SIZES[_i], cut);
    }
}
END_TEST

START_TEST(spsc_should_move_millions_of_records_of_every_size_between_processes_intact)
{
    const uint64_t n = scaled(10000000, SIZES[_i]);
    create_ring(SHM_KIND_SPSC, SIZES[_i], 4096);
    shm__store_relaxed(&res->target, n);
    reader_job_t rj = { "stress", SHM_START_HEAD, -1, 0 };
    pid_t reader = start_reader(&rj);
    writer_job_t wj = { 1, n, -1, 0 };
    pid_t writer = start_writer(&wj);
    ck_assert_int_eq(test_wait(writer), 0);
    ck_assert_int_eq(test_wait(reader), 0);
    assert_clean();
    ck_assert_uint_eq(delivered(res), n);
    ck_assert_uint_eq(res->redelivered, 0);
    ck_assert_uint_eq(res->drops, 0);
}
END_TEST

START_TEST(broadcast_slow_reader_should_count_drops_exactly_and_never_see_a_torn_record)
{
    const uint64_t n = scaled(2000000, SIZES[_i]);
    create_ring(SHM_KIND_BROADCAST, SIZES[_i], 1024);
    shm__store_relaxed(&res->target, n);
    /* The fast reader's findings go to a second result block. */
    result_t *slow = res;
    result_t *fast = test_shared_alloc(sizeof *fast);
    shm__store_relaxed(&fast->target, n);
    reader_job_t slow_job = { "slow", SHM_START_HEAD, -1, 2000 };
    pid_t slow_pid = start_reader(&slow_job);
    res = fast;
    reader_job_t fast_job = { "fast", SHM_START_HEAD, -1, 0 };
    pid_t fast_pid = start_reader(&fast_job);
    res = slow;
    writer_job_t wj = { 1, n, -1, 0 };
    pid_t writer = start_writer(&wj);
    ck_assert_int_eq(test_wait(writer), 0);
    ck_assert_int_eq(test_wait(slow_pid), 0);
    ck_assert_int_eq(test_wait(fast_pid), 0);
    assert_clean();
    ck_assert_uint_gt(slow->drops, 0); /* it really was lapped */
    ck_assert_uint_eq(delivered(slow) + slow->drops, n);
    res = fast;
    assert_clean();
    ck_assert_uint_eq(delivered(fast) + fast->drops, n);
    res = slow;
}
END_TEST

/* SIGKILLs a writer at a random instant 100 times, restarting it each time;
 * a reader runs throughout and checks every record. */
static void kill_writer_100_times(shm_kind_t kind, uint32_t record_size)
{
    create_ring(kind, record_size, 4096);
    reader_job_t rj = { "survivor", SHM_START_HEAD, -1, 0 };
    pid_t reader = start_reader(&rj);
    uint64_t rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    for (uint64_t k = 1; k <= 100; k++) {
        writer_job_t wj = { k, UINT64_MAX, -1, (uint32_t)(test_rand(&rng) % 2) * 200 };
        pid_t writer = start_writer(&wj);
        busy_ns((uint32_t)(test_rand(&rng) % 2000000)); /* a random instant, 0-2 ms in */
        kill(writer, SIGKILL);
        ck_assert_int_eq(test_wait(writer), 128 + SIGKILL);
    }
    /* A reader far behind (a loaded machine) would be lapped by the last
     * writer straight to the target and never see its records. */
    wait_reader_at_head("survivor");
    uint64_t target = ring_head() + 1000;
    writer_job_t last = { 101, target, -1, 0 };
    ck_assert_int_eq(test_wait(start_writer(&last)), 0);
    shm__store_release(&res->target, target);
    ck_assert_int_eq(test_wait(reader), 0);
    assert_clean();
    ck_assert_uint_eq(res->last_incarnation, 101);
    ck_assert_uint_eq(res->redelivered, 0);
    ck_assert_uint_eq(delivered(res) + res->drops, target);
    if (kind == SHM_KIND_SPSC)
        ck_assert_uint_eq(delivered(res), target);
}

START_TEST(spsc_writer_killed_at_random_instants_should_resume_cleanly)
{
    kill_writer_100_times(SHM_KIND_SPSC, SIZES[_i]);
}
END_TEST

START_TEST(broadcast_writer_killed_at_random_instants_should_resume_cleanly)
{
    kill_writer_100_times(SHM_KIND_BROADCAST, SIZES[_i]);
}
END_TEST

/* SIGKILLs the reader at a random instant 100 times while one writer runs;
 * each restarted reader resumes from its slot. */
static void kill_reader_100_times(shm_kind_t kind, uint32_t record_size, uint64_t n,
                                  uint32_t writer_pause_ns)
{
    create_ring(kind, record_size, 4096);
    reader_job_t rj = { "phoenix", SHM_START_RESUME, -1, 0 };
    pid_t reader = start_reader(&rj);
    writer_job_t wj = { 1, n, -1, writer_pause_ns };
    pid_t writer = start_writer(&wj);
    uint64_t rng = (uint64_t)time(NULL) ^ (uint64_t)getpid();
    for (int k = 0; k < 100; k++) {
        busy_ns((uint32_t)(test_rand(&rng) % 2000000));
        kill(reader, SIGKILL);
        ck_assert_int_eq(test_wait(reader), 128 + SIGKILL);
        reader = start_reader(&rj);
    }
    shm__store_release(&res->target, n);
    ck_assert_int_eq(test_wait(writer), 0);
    ck_assert_int_eq(test_wait(reader), 0);
    assert_clean();
    ck_assert_uint_le(res->redelivered + res->taken_then_lapped, 100);
    ck_assert_uint_eq(delivered(res) + res->drops - res->taken_then_lapped, n);
    if (kind == SHM_KIND_SPSC) {
        ck_assert_uint_eq(res->drops, 0);
        ck_assert_uint_eq(delivered(res), n);
    }
}

START_TEST(spsc_reader_killed_at_random_instants_should_lose_nothing)
{
    kill_reader_100_times(SHM_KIND_SPSC, SIZES[_i], scaled(3000000, SIZES[_i]), 0);
}
END_TEST

START_TEST(broadcast_reader_killed_at_random_instants_should_count_every_loss)
{
    /* Paced so that the reader is lapped only while it is dead or restarting. */
    kill_reader_100_times(SHM_KIND_BROADCAST, SIZES[_i], 400000, 1000);
}
END_TEST

/* Every case runs once per record size (_i indexes SIZES). */
static Suite *stress_suite(void)
{
    Suite *s = suite_create("ring_stress");
    TCase *tc = tcase_create("records");
    tcase_add_loop_test(tc, payload_check_should_catch_a_copy_torn_at_any_word, 0, NSIZES);
    suite_add_tcase(s, tc);

    tc = tcase_create("processes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, spsc_should_move_millions_of_records_of_every_size_between_processes_intact, 0,
                        NSIZES);
    tcase_add_loop_test(tc, broadcast_slow_reader_should_count_drops_exactly_and_never_see_a_torn_record, 0,
                        NSIZES);
    suite_add_tcase(s, tc);

    tc = tcase_create("crashes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, spsc_writer_killed_at_random_instants_should_resume_cleanly, 0, NSIZES);
    tcase_add_loop_test(tc, broadcast_writer_killed_at_random_instants_should_resume_cleanly, 0, NSIZES);
    tcase_add_loop_test(tc, spsc_reader_killed_at_random_instants_should_lose_nothing, 0, NSIZES);
    tcase_add_loop_test(tc, broadcast_reader_killed_at_random_instants_should_count_every_loss, 0, NSIZES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stress_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_ring_cleanup();
    return failed ? 1 : 0;
}
