/* test_ring.c -- unit tests of the rings within one process (threads for the
 * concurrent cases, so ThreadSanitizer sees them) plus short forked helpers.
 * Cross-process stress and crash tests are in test_ring_stress.c. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "shm/ring.h"
#include "tests/support/ring_fixture.h"

static const shm_ring_spec_t SPSC8 = { SHM_KIND_SPSC, 64, 8, 0 };
static const shm_ring_spec_t BCAST8 = { SHM_KIND_BROADCAST, 64, 8, 0 };
static const int64_t SECOND = 1000000000;

static char name[SHM_NAME_MAX];

static void setup(void)
{
    test_ring_name(name, sizeof name, "u", "ring");
}

static void teardown(void)
{
    test_ring_cleanup();
}

static void write_ok(shm_writer_t *w, uint64_t pos)
{
    test_record_t rec;
    test_record_fill(&rec, pos, 1);
    ck_assert_int_eq(shm_writer_write(w, &rec), SHM_OK);
}

static void read_expect(shm_reader_t *r, uint64_t pos)
{
    test_record_t rec;
    ck_assert_int_eq(shm_reader_read(r, &rec), SHM_OK);
    ck_assert(test_record_intact(&rec));
    ck_assert_uint_eq(rec.pos, pos);
}

START_TEST(ring_should_keep_order_across_wraparound)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 0), 0);
    uint64_t next_w = 0, next_r = 0;
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 5; i++)
            write_ok(&w, next_w++);
        for (int i = 0; i < 5; i++)
            read_expect(&r, next_r++);
    }
    ck_assert_uint_eq(next_r, 200);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(ring_should_report_empty_when_nothing_is_new)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "t", SHM_START_HEAD, 0), 0);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    ck_assert(!shm_reader_ready(&r));
    write_ok(&w, 0);
    ck_assert(shm_reader_ready(&r));
    read_expect(&r, 0);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(spsc_should_report_full_and_never_overwrite_unread_records)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 8; i++)
        write_ok(&w, i);
    test_record_fill(&rec, 99, 1);
    ck_assert_int_eq(shm_writer_write(&w, &rec), SHM_FULL);
    read_expect(&r, 0);
    write_ok(&w, 8);
    ck_assert_int_eq(shm_writer_write(&w, &rec), SHM_FULL);
    for (uint64_t i = 1; i <= 8; i++)
        read_expect(&r, i);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(spsc_writer_should_hold_records_until_a_reader_comes)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    for (uint64_t i = 0; i < 8; i++)
        write_ok(&w, i);
    test_record_t rec;
    ck_assert_int_eq(shm_writer_write(&w, &rec), SHM_FULL);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "late", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 8; i++)
        read_expect(&r, i);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(broadcast_writer_should_never_wait)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "idle", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 1000; i++)
        write_ok(&w, i);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.hdr->prod_seq), 1000);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(broadcast_should_detect_lapped_reader_and_count_drops_exactly)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "slow", SHM_START_HEAD, 0), 0);
    write_ok(&w, 0);
    read_expect(&r, 0);
    for (uint64_t i = 1; i <= 20; i++) /* 20 records into 8 slots: the reader is lapped */
        write_ok(&w, i);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_LAPPED);
    ck_assert_uint_eq(r.drops, 20);
    ck_assert_uint_eq(shm__load_relaxed(&r.slot->drops), 20);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    for (uint64_t i = 21; i < 24; i++)
        write_ok(&w, i);
    for (uint64_t i = 21; i < 24; i++)
        read_expect(&r, i);
    ck_assert_uint_eq(r.drops, 20);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(broadcast_readers_should_progress_independently)
{
    shm_writer_t w;
    shm_reader_t a, b;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&a, name, &BCAST8, "a", SHM_START_HEAD, 0), 0);
    ck_assert_int_eq(shm_reader_open(&b, name, &BCAST8, "b", SHM_START_HEAD, 0), 0);
    ck_assert_int_ne(a.slot_index, b.slot_index);
    for (uint64_t i = 0; i < 6; i++)
        write_ok(&w, i);
    for (uint64_t i = 0; i < 6; i++)
        read_expect(&a, i);
    for (uint64_t i = 0; i < 3; i++)
        read_expect(&b, i);
    ck_assert_uint_eq(shm__load_relaxed(&a.slot->position), 6);
    ck_assert_uint_eq(shm__load_relaxed(&b.slot->position), 3);
    shm_reader_close(&a);
    shm_reader_close(&b);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(broadcast_reader_should_resume_where_its_name_stopped)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "strat", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 4; i++)
        write_ok(&w, i);
    read_expect(&r, 0);
    shm_reader_close(&r);
    write_ok(&w, 4);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "strat", SHM_START_RESUME, 0), 0);
    for (uint64_t i = 1; i < 5; i++)
        read_expect(&r, i);
    shm_reader_close(&r);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "strat", SHM_START_HEAD, 0), 0);
    ck_assert_uint_eq(r.pos, 5);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(peek_should_not_consume_until_advance)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 0), 0);
    write_ok(&w, 0);
    write_ok(&w, 1);
    ck_assert_int_eq(shm_reader_peek(&r, &rec), SHM_OK);
    ck_assert_uint_eq(rec.pos, 0);
    ck_assert_int_eq(shm_reader_peek(&r, &rec), SHM_OK);
    ck_assert_uint_eq(rec.pos, 0);
    ck_assert_uint_eq(shm__load_relaxed(&r.slot->position), 0);
    shm_reader_advance(&r);
    read_expect(&r, 1);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(observer_peek_should_tell_unwritten_from_overwritten)
{
    shm_writer_t w;
    shm_segment_t seg;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    for (uint64_t i = 0; i < 10; i++)
        write_ok(&w, i);
    ck_assert_int_eq(shm_segment_map(&seg, name, false), 0);
    ck_assert_int_eq(shm_peek(&seg, 1, &rec), SHM_LAPPED);
    ck_assert_int_eq(shm_peek(&seg, 2, &rec), SHM_OK);
    ck_assert_uint_eq(rec.pos, 2);
    ck_assert_int_eq(shm_peek(&seg, 9, &rec), SHM_OK);
    ck_assert_int_eq(shm_peek(&seg, 10, &rec), SHM_EMPTY);
    shm_segment_unmap(&seg);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- validation --------------------------------------------------------------- */

static int open_reader_after_corruption(void (*corrupt)(shm_header_t *, size_t))
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    size_t size;
    shm_header_t *raw = test_map_raw(name, &size);
    ck_assert_ptr_nonnull(raw);
    corrupt(raw, size);
    munmap(raw, size);
    int rc = shm_reader_open(&r, name, NULL, "t", SHM_START_HEAD, 0);
    if (rc == 0)
        shm_reader_close(&r);
    shm_writer_close(&w, true);
    return rc;
}

static void bad_magic(shm_header_t *h, size_t n) { (void)n; h->magic = 0x1234; }
static void bad_version(shm_header_t *h, size_t n) { (void)n; h->layout_version = 99; }
static void odd_record_size(shm_header_t *h, size_t n) { (void)n; h->record_size = 72; }
static void capacity_not_pow2(shm_header_t *h, size_t n) { (void)n; h->capacity = 6; }
static void huge_capacity(shm_header_t *h, size_t n) { (void)n; h->capacity = 1u << 31; }
static void wrong_total(shm_header_t *h, size_t n) { (void)n; h->total_size += 64; }
static void wrong_header_size(shm_header_t *h, size_t n) { (void)n; h->header_size = 64; }
static void unknown_kind(shm_header_t *h, size_t n) { (void)n; h->kind = 7; }
static void no_magic(shm_header_t *h, size_t n) { (void)n; h->magic = 0; }

static const struct {
    const char *what;
    void (*corrupt)(shm_header_t *, size_t);
    int code;
    const char *says;
} corruptions[] = {
    { "bad magic", bad_magic, SE_ECORRUPT, "bad magic" },
    { "other version", bad_version, SE_EVERSION, "layout version 99" },
    { "record size not a multiple of 64", odd_record_size, SE_ECORRUPT, "record size 72" },
    { "capacity not a power of two", capacity_not_pow2, SE_ECORRUPT, "capacity 6" },
    { "capacity out of range", huge_capacity, SE_ECORRUPT, "capacity" },
    { "total size mismatch", wrong_total, SE_ECORRUPT, "size" },
    { "header size mismatch", wrong_header_size, SE_ECORRUPT, "header size 64" },
    { "unknown kind", unknown_kind, SE_ECORRUPT, "kind 7" },
};

START_TEST(attach_should_reject_corrupt_headers_with_a_clear_error)
{
    int rc = open_reader_after_corruption(corruptions[_i].corrupt);
    ck_assert_msg(rc == corruptions[_i].code, "%s: got %d (%s)", corruptions[_i].what, rc, se_errmsg());
    ck_assert_msg(strstr(se_errmsg(), corruptions[_i].says) && strstr(se_errmsg(), name),
                  "%s: message '%s'", corruptions[_i].what, se_errmsg());
}
END_TEST

START_TEST(attach_should_treat_missing_magic_as_not_ready)
{
    int rc = open_reader_after_corruption(no_magic);
    ck_assert_int_eq(rc, SE_ENOTREADY);
}
END_TEST

START_TEST(attach_should_reject_a_truncated_segment)
{
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    int fd = shm_open(name, O_RDWR, 0);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 100), 0);
    close(fd);
    shm_segment_t seg;
    ck_assert_int_eq(shm_segment_map(&seg, name, false), SE_ECORRUPT);
    shm_segment_unmap(&w.seg); /* the mapping is past the new end of file */
    shm_unlink(name);
}
END_TEST

START_TEST(attach_should_reject_unexpected_layout)
{
    shm_writer_t w;
    shm_reader_t r;
    shm_ring_spec_t other = SPSC8;
    other.record_size = 128;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &other, "t", SHM_START_HEAD, 0), SE_ELAYOUT);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "record size 64"));
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(writer_should_reject_bad_specs)
{
    shm_writer_t w;
    shm_ring_spec_t s = SPSC8;
    s.record_size = 100;
    ck_assert_int_eq(shm_writer_open(&w, name, &s, NULL), -EINVAL);
    s = SPSC8;
    s.capacity = 12;
    ck_assert_int_eq(shm_writer_open(&w, name, &s, NULL), -EINVAL);
    s = SPSC8;
    s.kind = (shm_kind_t)9;
    ck_assert_int_eq(shm_writer_open(&w, name, &s, NULL), -EINVAL);
}
END_TEST

START_TEST(attach_should_time_out_on_a_missing_ring)
{
    shm_reader_t r;
    ck_assert_int_eq(shm_reader_open(&r, name, NULL, "t", SHM_START_HEAD, 20000000), -ETIMEDOUT);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "does not exist"));
}
END_TEST

static void *create_ring_thread(void *arg)
{
    shm_writer_t *w = arg;
    int rc = shm_writer_open(w, name, &SPSC8, NULL);
    return (void *)(intptr_t)rc;
}

START_TEST(attach_should_wait_for_a_ring_created_later)
{
    shm_writer_t w;
    shm_reader_t r;
    pthread_t t;
    pthread_create(&t, NULL, create_ring_thread, &w);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 5 * SECOND), 0);
    void *rc;
    pthread_join(t, &rc);
    ck_assert_int_eq((int)(intptr_t)rc, 0);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(names_should_be_validated)
{
    char out[SHM_NAME_MAX];
    ck_assert_int_eq(shm_name(out, sizeof out, NULL, NULL, "sig.momentum"), 0);
    ck_assert_str_eq(out, "/se.default.sig.momentum");
    ck_assert_int_eq(shm_name(out, sizeof out, "x", "prod-1", "in"), 0);
    ck_assert_str_eq(out, "/x.prod-1.in");
    const char *bad_rings[] = { "", ".hidden", "a/b", "sp ace", "ü", NULL };
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(shm_name(out, sizeof out, NULL, NULL, bad_rings[i]), -EINVAL);
    ck_assert_int_eq(shm_name(out, sizeof out, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(shm_name(out, sizeof out, NULL, "a.b", "in"), -EINVAL);
    ck_assert_int_eq(shm_name(out, sizeof out, NULL, "0123456789012345678901234567890123", "in"), -EINVAL);
    ck_assert_int_eq(shm_name(out, 8, NULL, NULL, "in"), -ENAMETOOLONG);
}
END_TEST

START_TEST(segments_should_be_private_unless_a_group_is_configured)
{
    shm_writer_t w;
    struct stat st;
    char path[SHM_NAME_MAX + 16];
    snprintf(path, sizeof path, "/dev/shm%s", name);
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    shm_writer_close(&w, true);
    shm_perm_t perm = { .use_group = true, .gid = getgid() };
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, &perm), 0);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640); /* the group reads the ring... */
    ck_assert_int_eq(st.st_gid, getgid());
    char reg[2 * SHM_NAME_MAX];
    const char *ring = strrchr(name, '.') + 1;
    snprintf(reg, sizeof reg, "/dev/shm%.*s@spsc/%s", (int)(ring - 1 - name), name, ring);
    ck_assert_msg(stat(reg, &st) == 0, "%s: %s", reg, strerror(errno));
    ck_assert_int_eq(st.st_mode & 0777, 0660); /* ... and registers its readers */
    ck_assert_int_eq(st.st_gid, getgid());
    shm_writer_close(&w, true);
}
END_TEST

/* ---- untrusted indices ------------------------------------------------------ */

START_TEST(reader_should_survive_garbage_in_sequence_words_and_positions)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "t", SHM_START_HEAD, 0), 0);
    /* A garbage sequence word in the next slot looks like a lap: counted, never a crash. */
    _Atomic uint64_t *slot0 = w.records;
    shm__store_relaxed(&slot0[0], 0xdeadbeefcafef00dull);
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_LAPPED);
    /* A garbage head: positions are masked, so the reader only ever sees EMPTY. */
    shm__store_relaxed(&w.seg.hdr->prod_seq, UINT64_MAX - 3);
    shm_reader_t r2;
    ck_assert_int_eq(shm_reader_open(&r2, name, &BCAST8, "t2", SHM_START_HEAD, 0), 0);
    ck_assert_int_eq(shm_reader_read(&r2, &rec), SHM_EMPTY);
    shm_reader_close(&r2);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(spsc_writer_should_survive_a_garbage_reader_position)
{
    shm_writer_t w;
    shm_reader_t r;
    test_record_t rec;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 8; i++)
        write_ok(&w, i);
    shm__store_relaxed(&r.slot->position, UINT64_MAX / 2);
    test_record_fill(&rec, 8, 1);
    ck_assert_int_eq(shm_writer_write(&w, &rec), SHM_FULL); /* stops, overwrites nothing */
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- ownership: writers and readers --------------------------------------------- */

static int hold_writer(void *arg)
{
    int *fds = arg;
    shm_writer_t w;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != 0)
        return 1;
    char c = 'r';
    if (write(fds[1], &c, 1) != 1)
        return 2;
    if (read(fds[2], &c, 1) != 1) /* hold until the parent has checked */
        return 3;
    shm_writer_close(&w, false);
    return 0;
}

START_TEST(writer_open_should_refuse_a_ring_with_a_live_writer)
{
    int up[2], down[2];
    ck_assert_int_eq(pipe(up), 0);
    ck_assert_int_eq(pipe(down), 0);
    int fds[3] = { up[0], up[1], down[0] };
    pid_t child = test_spawn(hold_writer, fds);
    char c;
    ck_assert_int_eq(read(up[0], &c, 1), 1);
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), -EBUSY);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "live process"));
    shm_ring_spec_t other = SPSC8;
    other.capacity = 16;
    ck_assert_int_eq(shm_writer_open(&w, name, &other, NULL), SE_ELAYOUT);
    ck_assert_int_eq(write(down[1], "x", 1), 1);
    ck_assert_int_eq(test_wait(child), 0);
    /* Closed cleanly: a new writer may take it. */
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    shm_writer_close(&w, true);
}
END_TEST

static int write_ten_and_die(void *arg)
{
    (void)arg;
    shm_writer_t w;
    if (shm_writer_open(&w, name, &SPSC8, NULL) != 0)
        return 1;
    for (uint64_t i = 0; i < 6; i++) {
        test_record_t rec;
        test_record_fill(&rec, i, 1);
        if (shm_writer_write(&w, &rec) != SHM_OK)
            return 2;
    }
    return 0; /* exits without closing, as a crash would */
}

START_TEST(writer_should_take_over_a_dead_writers_ring_and_resume)
{
    shm_reader_t r;
    ck_assert_int_eq(test_wait(test_spawn(write_ten_and_die, NULL)), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &SPSC8, "t", SHM_START_HEAD, 0), 0);
    read_expect(&r, 0);
    read_expect(&r, 1);
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_uint_eq(w.prod_seq, 6);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.hdr->writer_generation), 2);
    write_ok(&w, 6);
    for (uint64_t i = 2; i <= 6; i++)
        read_expect(&r, i);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(takeover_should_count_a_record_published_just_before_the_crash)
{
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    write_ok(&w, 0);
    write_ok(&w, 1);
    /* Simulate death between publishing record 2 and advancing prod_seq. */
    write_ok(&w, 2);
    shm__store_relaxed(&w.seg.hdr->prod_seq, 2);
    shm__store_relaxed(&w.seg.hdr->writer, 0);
    shm_segment_unmap(&w.seg);
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_uint_eq(w.prod_seq, 3);
    /* A record left BUSY is not counted: it is written again. */
    _Atomic uint64_t *slot3 = w.records + 3 * w.slot_words;
    shm__store_relaxed(&slot3[0], SHM_SEQ_BUSY(3));
    shm__store_relaxed(&w.seg.hdr->writer, 0);
    shm_segment_unmap(&w.seg);
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_uint_eq(w.prod_seq, 3);
    shm_writer_close(&w, true);
}
END_TEST

static int create_other_layout_and_die(void *arg)
{
    (void)arg;
    shm_writer_t w;
    shm_ring_spec_t s = BCAST8;
    s.capacity = 16;
    return shm_writer_open(&w, name, &s, NULL) == 0 ? 0 : 1;
}

START_TEST(writer_should_retire_a_dead_writers_ring_of_another_layout)
{
    ck_assert_int_eq(test_wait(test_spawn(create_other_layout_and_die, NULL)), 0);
    shm_reader_t old;
    test_record_t rec;
    ck_assert_int_eq(shm_reader_open(&old, name, NULL, "t", SHM_START_HEAD, 0), 0);
    ck_assert_uint_eq(old.seg.hdr->capacity, 16);
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_uint_eq(w.seg.hdr->capacity, 8);
    ck_assert_int_eq(shm_reader_read(&old, &rec), SHM_RETIRED);
    shm_reader_close(&old);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(spsc_should_refuse_a_second_live_reader_and_resume_the_next)
{
    shm_writer_t w;
    shm_reader_t a, b;
    ck_assert_int_eq(shm_writer_open(&w, name, &SPSC8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&a, name, &SPSC8, "first", SHM_START_HEAD, 0), 0);
    ck_assert_int_eq(shm_reader_open(&b, name, &SPSC8, "second", SHM_START_HEAD, 0), -EBUSY);
    ck_assert_ptr_nonnull(strstr(se_errmsg(), "first"));
    for (uint64_t i = 0; i < 3; i++)
        write_ok(&w, i);
    read_expect(&a, 0);
    shm_reader_close(&a);
    ck_assert_int_eq(shm_reader_open(&b, name, &SPSC8, "second", SHM_START_HEAD, 0), 0);
    read_expect(&b, 1);
    read_expect(&b, 2);
    shm_reader_close(&b);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(broadcast_should_refuse_more_live_readers_than_slots)
{
    shm_writer_t w;
    shm_reader_t rs[SHM_MAX_READERS + 1];
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    for (int i = 0; i < SHM_MAX_READERS; i++) {
        char n[16];
        snprintf(n, sizeof n, "r%d", i);
        ck_assert_int_eq(shm_reader_open(&rs[i], name, &BCAST8, n, SHM_START_HEAD, 0), 0);
    }
    ck_assert_int_eq(shm_reader_open(&rs[SHM_MAX_READERS], name, &BCAST8, "x", SHM_START_HEAD, 0), -ENOSPC);
    shm_reader_close(&rs[3]);
    ck_assert_int_eq(shm_reader_open(&rs[SHM_MAX_READERS], name, &BCAST8, "x", SHM_START_HEAD, 0), 0);
    ck_assert_int_eq(rs[SHM_MAX_READERS].slot_index, 3);
    for (int i = 0; i <= SHM_MAX_READERS; i++)
        if (i != 3)
            shm_reader_close(&rs[i]);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- wake-ups ------------------------------------------------------------------ */

START_TEST(writer_should_not_wake_when_nobody_sleeps)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "t", SHM_START_HEAD, 0), 0);
    for (uint64_t i = 0; i < 100; i++)
        write_ok(&w, i);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.reg->wake_seq), 0);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

START_TEST(wait_should_time_out_when_nothing_arrives)
{
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, name, &BCAST8, "t", SHM_START_HEAD, 0), 0);
    shm_reader_t *rs[] = { &r };
    int64_t t0 = clock_mono_ns();
    ck_assert_int_eq(shm_wait(rs, 1, 1000, 20000000), SHM_TIMEOUT);
    ck_assert_int_ge(clock_mono_ns() - t0, 20000000);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.reg->sleepers), 0);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

#define NRINGS 3
static shm_writer_t wake_writers[NRINGS];

typedef struct {
    int ring;
    uint64_t sleeper_bits;
} wake_job_t;

/* Waits (no sleep: a spin on the shared mask) until the reader sleeps on every
 * ring, then writes one record to the chosen ring. */
static void *write_when_asleep(void *arg)
{
    wake_job_t *job = arg;
    for (;;) {
        bool all = true;
        for (int i = 0; i < NRINGS; i++)
            if (!(shm__load_acquire(&wake_writers[i].seg.reg->sleepers) & job->sleeper_bits))
                all = false;
        if (all)
            break;
        sched_yield();
    }
    test_record_t rec;
    test_record_fill(&rec, 0, 1);
    shm_writer_write(&wake_writers[job->ring], &rec);
    return NULL;
}

START_TEST(wait_should_sleep_on_several_rings_and_wake_on_any)
{
    shm_reader_t readers[NRINGS];
    shm_reader_t *rs[NRINGS];
    for (int i = 0; i < NRINGS; i++) {
        char ring[16], n[SHM_NAME_MAX];
        snprintf(ring, sizeof ring, "ring%d", i);
        test_ring_name(n, sizeof n, "u", ring);
        ck_assert_int_eq(shm_writer_open(&wake_writers[i], n, &BCAST8, NULL), 0);
        ck_assert_int_eq(shm_reader_open(&readers[i], n, &BCAST8, "t", SHM_START_HEAD, 0), 0);
        rs[i] = &readers[i];
    }
    wake_job_t job = { .ring = _i, .sleeper_bits = 1ull << readers[0].slot_index };
    pthread_t t;
    pthread_create(&t, NULL, write_when_asleep, &job);
    ck_assert_int_eq(shm_wait(rs, NRINGS, 0, 10 * SECOND), SHM_OK);
    pthread_join(t, NULL);
    test_record_t rec;
    for (int i = 0; i < NRINGS; i++)
        ck_assert_int_eq(shm_reader_read(&readers[i], &rec), i == _i ? SHM_OK : SHM_EMPTY);
    ck_assert_uint_eq(shm__load_relaxed(&wake_writers[_i].seg.reg->wake_seq), 1);
    for (int i = 0; i < NRINGS; i++) {
        shm_reader_close(&readers[i]);
        shm_writer_close(&wake_writers[i], true);
    }
}
END_TEST

static shm_doorbell_t bell;

/* Rings the bell once the waiter has said it may sleep. */
static void *ring_when_asleep(void *arg)
{
    (void)arg;
    while (!shm__load_acquire(&bell.sleeping))
        sched_yield();
    shm_doorbell_ring(&bell);
    return NULL;
}

START_TEST(wait_should_wake_on_a_doorbell_rung_by_another_thread)
{
    char n[SHM_NAME_MAX];
    test_ring_name(n, sizeof n, "b", "ring");
    shm_writer_t w;
    shm_reader_t r;
    ck_assert_int_eq(shm_writer_open(&w, n, &BCAST8, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&r, n, &BCAST8, "t", SHM_START_HEAD, 0), 0);
    shm_reader_t *rs[] = { &r };
    memset(&bell, 0, sizeof bell);
    /* A ring the waiter has not seen yet ends the wait at once. */
    uint32_t seen = shm_doorbell_seen(&bell);
    shm_doorbell_ring(&bell);
    ck_assert_int_eq(shm_wait_bell(rs, 1, &bell, seen, 0, 10 * SECOND), SHM_OK);
    /* A seen count and no record: the wait times out. */
    seen = shm_doorbell_seen(&bell);
    ck_assert_int_eq(shm_wait_bell(rs, 1, &bell, seen, 0, SECOND / 100), SHM_TIMEOUT);
    /* Asleep, with rings or without, the bell wakes it. */
    for (int nrings = 0; nrings <= 1; nrings++) {
        seen = shm_doorbell_seen(&bell);
        pthread_t t;
        pthread_create(&t, NULL, ring_when_asleep, NULL);
        ck_assert_int_eq(shm_wait_bell(rs, nrings, &bell, seen, 0, 10 * SECOND), SHM_OK);
        pthread_join(t, NULL);
        ck_assert_uint_ne(shm_doorbell_seen(&bell), seen);
        ck_assert_uint_eq(shm__load_relaxed(&bell.sleeping), 0);
    }
    test_record_t rec;
    ck_assert_int_eq(shm_reader_read(&r, &rec), SHM_EMPTY);
    shm_reader_close(&r);
    shm_writer_close(&w, true);
}
END_TEST

static int sleep_forever_on_ring(void *arg)
{
    (void)arg;
    shm_reader_t r;
    if (shm_reader_open(&r, name, &BCAST8, "sleeper", SHM_START_HEAD, SECOND) != 0)
        return 1;
    shm_reader_t *rs[] = { &r };
    for (;;)
        shm_wait(rs, 1, 0, -1);
}

START_TEST(a_dead_sleeper_should_cost_the_writer_one_wake_at_most)
{
    shm_writer_t w;
    ck_assert_int_eq(shm_writer_open(&w, name, &BCAST8, NULL), 0);
    pid_t child = test_spawn(sleep_forever_on_ring, NULL);
    while (shm__load_acquire(&w.seg.reg->sleepers) == 0)
        sched_yield();
    kill(child, SIGKILL);
    ck_assert_int_eq(test_wait(child), 128 + SIGKILL);
    ck_assert_uint_ne(shm__load_relaxed(&w.seg.reg->sleepers), 0);
    write_ok(&w, 0);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.reg->sleepers), 0);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.reg->wake_seq), 1);
    write_ok(&w, 1);
    ck_assert_uint_eq(shm__load_relaxed(&w.seg.reg->wake_seq), 1);
    shm_writer_close(&w, true);
}
END_TEST

/* ---- concurrent, in-process (for ThreadSanitizer) --------------------------------- */

typedef struct {
    shm_writer_t w;
    shm_reader_t r;
    uint64_t count;
    int64_t spin_ns;
    uint64_t delivered, bad;
} stream_t;

static void *stream_writer(void *arg)
{
    stream_t *s = arg;
    for (uint64_t i = 0; i < s->count;) {
        test_record_t rec;
        test_record_fill(&rec, i, 1);
        if (shm_writer_write(&s->w, &rec) == SHM_OK)
            i++;
        else
            sched_yield();
    }
    return NULL;
}

static void *stream_reader(void *arg)
{
    stream_t *s = arg;
    shm_reader_t *rs[] = { &s->r };
    while (s->r.pos < s->count) {
        test_record_t rec;
        shm_status_t st = shm_reader_read(&s->r, &rec);
        if (st == SHM_OK) {
            s->delivered++;
            if (!test_record_intact(&rec) || rec.pos != s->r.pos - 1)
                s->bad++;
        } else if (st == SHM_EMPTY) {
            shm_wait(rs, 1, s->spin_ns, SECOND);
        }
    }
    return NULL;
}

/* One writer thread and one reader thread on a 64-record ring. */
static void run_stream(stream_t *s, shm_kind_t kind)
{
    shm_ring_spec_t spec = { kind, 64, 64, 0 };
    ck_assert_int_eq(shm_writer_open(&s->w, name, &spec, NULL), 0);
    ck_assert_int_eq(shm_reader_open(&s->r, name, &spec, "t", SHM_START_HEAD, 0), 0);
    pthread_t tw, tr;
    pthread_create(&tr, NULL, stream_reader, s);
    pthread_create(&tw, NULL, stream_writer, s);
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    shm_reader_close(&s->r);
    shm_writer_close(&s->w, true);
}

START_TEST(spsc_threads_should_pass_every_record_intact_and_in_order)
{
    static const int64_t spins[] = { 0, 20000 }; /* sleep at once; spin 20 us first */
    stream_t s = { .count = 200000, .spin_ns = spins[_i] };
    run_stream(&s, SHM_KIND_SPSC);
    ck_assert_uint_eq(s.bad, 0);
    ck_assert_uint_eq(s.delivered, s.count);
    ck_assert_uint_eq(s.r.drops, 0);
}
END_TEST

START_TEST(broadcast_threads_should_deliver_or_count_every_record)
{
    stream_t s = { .count = 200000, .spin_ns = 0 };
    run_stream(&s, SHM_KIND_BROADCAST);
    ck_assert_uint_eq(s.bad, 0);
    ck_assert_uint_eq(s.delivered + s.r.drops, s.count);
}
END_TEST

START_TEST(writer_should_replace_a_segment_whose_creator_died_half_way)
{
    /* A creator killed before storing magic leaves an all-zero header, pid 0. */
    int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)sizeof(shm_header_t)), 0);
    close(fd);
    shm_writer_t w;
    ck_assert_msg(shm_writer_open(&w, name, &SPSC8, NULL) == 0, "%s", se_errmsg());
    ck_assert_uint_eq(w.seg.hdr->capacity, 8);
    shm_writer_close(&w, true);
}
END_TEST

static Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("single");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, ring_should_keep_order_across_wraparound);
    tcase_add_test(tc, ring_should_report_empty_when_nothing_is_new);
    tcase_add_test(tc, spsc_should_report_full_and_never_overwrite_unread_records);
    tcase_add_test(tc, spsc_writer_should_hold_records_until_a_reader_comes);
    tcase_add_test(tc, broadcast_writer_should_never_wait);
    tcase_add_test(tc, broadcast_should_detect_lapped_reader_and_count_drops_exactly);
    tcase_add_test(tc, broadcast_readers_should_progress_independently);
    tcase_add_test(tc, broadcast_reader_should_resume_where_its_name_stopped);
    tcase_add_test(tc, peek_should_not_consume_until_advance);
    tcase_add_test(tc, observer_peek_should_tell_unwritten_from_overwritten);
    suite_add_tcase(s, tc);

    tc = tcase_create("validation");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, attach_should_reject_corrupt_headers_with_a_clear_error, 0,
                        (int)(sizeof corruptions / sizeof corruptions[0]));
    tcase_add_test(tc, attach_should_treat_missing_magic_as_not_ready);
    tcase_add_test(tc, attach_should_reject_a_truncated_segment);
    tcase_add_test(tc, attach_should_reject_unexpected_layout);
    tcase_add_test(tc, writer_should_reject_bad_specs);
    tcase_add_test(tc, attach_should_time_out_on_a_missing_ring);
    tcase_add_test(tc, attach_should_wait_for_a_ring_created_later);
    tcase_add_test(tc, names_should_be_validated);
    tcase_add_test(tc, segments_should_be_private_unless_a_group_is_configured);
    tcase_add_test(tc, reader_should_survive_garbage_in_sequence_words_and_positions);
    tcase_add_test(tc, spsc_writer_should_survive_a_garbage_reader_position);
    suite_add_tcase(s, tc);

    tc = tcase_create("ownership");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, writer_open_should_refuse_a_ring_with_a_live_writer);
    tcase_add_test(tc, writer_should_take_over_a_dead_writers_ring_and_resume);
    tcase_add_test(tc, takeover_should_count_a_record_published_just_before_the_crash);
    tcase_add_test(tc, writer_should_retire_a_dead_writers_ring_of_another_layout);
    tcase_add_test(tc, writer_should_replace_a_segment_whose_creator_died_half_way);
    tcase_add_test(tc, spsc_should_refuse_a_second_live_reader_and_resume_the_next);
    tcase_add_test(tc, broadcast_should_refuse_more_live_readers_than_slots);
    suite_add_tcase(s, tc);

    tc = tcase_create("wakeup");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, writer_should_not_wake_when_nobody_sleeps);
    tcase_add_test(tc, wait_should_time_out_when_nothing_arrives);
    tcase_add_loop_test(tc, wait_should_sleep_on_several_rings_and_wake_on_any, 0, NRINGS);
    tcase_add_test(tc, a_dead_sleeper_should_cost_the_writer_one_wake_at_most);
    tcase_add_test(tc, wait_should_wake_on_a_doorbell_rung_by_another_thread);
    suite_add_tcase(s, tc);

    tc = tcase_create("threads");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, spsc_threads_should_pass_every_record_intact_and_in_order, 0, 2);
    tcase_add_test(tc, broadcast_threads_should_deliver_or_count_every_record);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ring_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    test_ring_cleanup();
    return failed ? 1 : 0;
}
