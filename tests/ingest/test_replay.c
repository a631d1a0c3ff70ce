/* test_replay.c -- check suite for ingest/replay: which lines of a file become
 * records of ring `in` (and how bad ones are counted), pacing by the
 * messages' ts at a speed, looping, errors; and a round trip through the real
 * binaries: bin/ingest (synthetic) -> `shmtool record` -> file -> bin/ingest
 * (replay) must give back the same quotes. Binaries come from $SE_BIN_DIR
 * (default bin/) and $SHMTOOL (default $SE_BIN_DIR/shmtool). */
#include "ingest/replay.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "ingest/publisher.h"
#include "ingest/validate.h"
#include "tests/ingest/ingest_fixture.h"

static ingest_fx_t fx;

static void setup(void)
{
    ifx_init(&fx, "ing");
}

static void teardown(void)
{
    ifx_fini(&fx);
}

/* ---- helpers --------------------------------------------------------------- */

/* A growing text buffer for replay files. */
typedef struct {
    char *p;
    size_t len, cap;
} text_t;

__attribute__((format(printf, 2, 3))) static void add(text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    ck_assert_int_ge(n, 0);
    if (t->len + (size_t)n + 1 > t->cap) {
        t->cap = (t->len + (size_t)n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        ck_assert_ptr_nonnull(t->p);
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* A market-data message of exactly len bytes (no newline), padded by an
 * ignored field. */
static void add_padded(text_t *t, size_t len)
{
    static const char head[] = "{\"symbol\":\"PAD-USD\",\"last\":1.5,\"pad\":\"";
    ck_assert_uint_gt(len, sizeof head + 2);
    add(t, "%s%0*d\"}", head, (int)(len - (sizeof head - 1) - 2), 0);
}

/* Writes t to <scratch>/<name>, frees it, and returns the path (static buffer). */
static const char *save(text_t *t, const char *name)
{
    static char path[160];
    ifx_path(&fx, name, path, sizeof path);
    ifx_write(path, t->p ? t->p : "", t->len);
    free(t->p);
    memset(t, 0, sizeof *t);
    return path;
}

static void open_publisher(publisher_t *p)
{
    ck_assert_msg(publisher_open(p, NULL, &fx.set) == 0, "%s", se_errmsg());
}

/* replay_run on its own thread, so the test can read, stop and time it. */
typedef struct {
    replay_config_t c;
    publisher_t *p;
    volatile sig_atomic_t stop;
    int rc;
    char msg[512]; /* se_errmsg() of the replay's thread (it is thread-local) */
    pthread_t thread;
} replay_job_t;

static void *replay_thread(void *arg)
{
    replay_job_t *j = arg;
    j->rc = replay_run(&j->c, j->p, &j->stop);
    snprintf(j->msg, sizeof j->msg, "%s", j->rc < 0 ? se_errmsg() : "");
    return NULL;
}

static void start_replay(replay_job_t *j, publisher_t *p, const char *file, double speed, bool loop)
{
    memset(j, 0, sizeof *j);
    j->c.file = file;
    j->c.speed = speed;
    j->c.loop = loop;
    j->p = p;
    j->rc = 1;
    ck_assert_int_eq(pthread_create(&j->thread, NULL, replay_thread, j), 0);
}

static struct timespec realtime_in(int64_t ns)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    ns += t.tv_nsec;
    t.tv_sec += ns / IFX_SECOND;
    t.tv_nsec = ns % IFX_SECOND;
    return t;
}

/* Joins the replay, waiting at most timeout_ns; true if it ended. When it did
 * not, it is stopped and joined before returning false (a replay that ignores
 * the stop flag for 5 s more fails the test). */
static bool join_replay(replay_job_t *j, int64_t timeout_ns)
{
    struct timespec limit = realtime_in(timeout_ns);
    if (pthread_timedjoin_np(j->thread, NULL, &limit) == 0)
        return true;
    j->stop = 1;
    limit = realtime_in(5 * IFX_SECOND);
    ck_assert_msg(pthread_timedjoin_np(j->thread, NULL, &limit) == 0,
                  "replay still running 5 s after the stop flag was set");
    return false;
}

/* The record the validator makes of one line: what replay must publish. */
static se_in_rec_t expected(const char *line)
{
    se_in_rec_t r;
    val_detail_t why;
    ck_assert_msg(val_market_data(line, strlen(line), &r, &why) == VAL_OK, "%s: %s", line, why.text);
    return r;
}

/* Fails unless the ingest stats of set's instance show `received` records
 * and, for each reason, the drops in want (indexed by val_result_t; NULL: none). */
static void assert_counts_of(const shm_settings_t *set, long long received, const long long *want)
{
    ck_assert_int_eq(ifx_metric(set, "market_data_received_total"), received);
    for (int r = 1; r < VAL__COUNT; r++) {
        char series[96];
        snprintf(series, sizeof series, "market_data_dropped_total{reason=\"%s\"}",
                 val_result_name((val_result_t)r));
        long long got = ifx_metric(set, series);
        ck_assert_msg(got == (want ? want[r] : 0), "%s is %lld, want %lld", series, got, want ? want[r] : 0);
    }
}

static void assert_counts(long long received, const long long *want)
{
    assert_counts_of(&fx.set, received, want);
}

/* ---- lines ------------------------------------------------------------------ */

START_TEST(replay_should_publish_good_lines_in_order_and_count_bad_ones_by_reason)
{
    static const char *const good[] = {
        "{\"symbol\":\"BTC-USD\",\"bid\":100.25,\"ask\":100.5,\"bid_size\":1.5,\"ask_size\":2,\"last\":100.5,"
        "\"volume\":3,\"ts\":1700000000000000001}",
        "{\"symbol\":\"ETH-USD\",\"last\":2000.125,\"ts\":1700000000000000002}",
        "{\"symbol\":\"SOL-USD\",\"bid\":19.5,\"ask\":19.75}",
        "{\"symbol\":\"ADA-USD\",\"bid\":0.25,\"ask\":0.26,\"ts\":5}",
    };
    text_t t = { 0 };
    add(&t, "%s\n", good[0]);
    add(&t, "\n");                                        /* blank: skipped, not counted */
    add(&t, "{\"symbol\":\"BTC-USD\",\"bid\":100.25,\n"); /* bad_json */
    add(&t, "%s\n", good[1]);
    add(&t, "{\"symbol\":\"SOL-USD\",\"bid\":NaN,\"ask\":20}\n"); /* not_finite */
    add(&t, "{\"symbol\":\"SOL-USD\",\"bid\":21,\"ask\":20}\n");  /* crossed */
    add(&t, "{\"bid\":1,\"ask\":2}\n");                           /* missing_field */
    add_padded(&t, VAL_MAX_MESSAGE + 1);                          /* too_long */
    add(&t, "\n");
    add(&t, "\r\n");                 /* blank (CRLF) */
    add_padded(&t, VAL_MAX_MESSAGE); /* the longest good message, CRLF */
    add(&t, "\r\n");
    add(&t, "%s\r\n", good[2]);
    add(&t, "%s", good[3]); /* last line, no newline */
    const char *path = save(&t, "lines.jsonl");

    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    char log_path[160];
    ifx_path(&fx, "drops.log", log_path, sizeof log_path);
    int log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(log_fd, 0);
    log_set_fd(log_fd);
    replay_config_t c = { .file = path, .speed = 0 };
    static volatile sig_atomic_t stop;
    int rc = replay_run(&c, &p, &stop);
    log_set_fd(ifx_log_fd);
    close(log_fd);
    ck_assert_msg(rc == 0, "%s", se_errmsg());
    publisher_close(&p);

    se_in_rec_t got[8];
    ck_assert_int_eq(ifx_read(&r, got, 8, 0), 5);
    text_t longest = { 0 };
    add_padded(&longest, VAL_MAX_MESSAGE);
    const char *want_lines[5] = { good[0], good[1], longest.p, good[2], good[3] };
    for (int i = 0; i < 5; i++) {
        se_in_rec_t want = expected(want_lines[i]);
        ifx_assert_same_quote(&got[i], &want, true, "replayed line", i);
        ck_assert_uint_eq(got[i].source_seq, (uint32_t)i + 1);
        ck_assert_int_gt(got[i].ts_ingest_ns, 0);
    }
    free(longest.p);
    /* The reference is the validator; make sure it is not vacuous. */
    ck_assert_str_eq(got[0].symbol, "BTC-USD");
    ck_assert_double_eq(got[0].u.quote.bid, 100.25);
    ck_assert_double_eq(got[0].u.quote.ask_size, 2);
    ck_assert_double_eq(got[0].u.quote.volume, 3);
    ck_assert_int_eq(got[0].ts_source_ns, 1700000000000000001);
    ck_assert_int_eq(got[4].ts_source_ns, 5);
    ck_assert_str_eq(got[4].symbol, "ADA-USD");
    shm_reader_close(&r);

    long long drops[VAL__COUNT] = { 0 };
    drops[VAL_BAD_JSON] = drops[VAL_NOT_FINITE] = drops[VAL_CROSSED] = drops[VAL_MISSING_FIELD] = 1;
    drops[VAL_TOO_LONG] = 1;
    assert_counts(5, drops);

    /* The first drop is logged with file:line and reason (later ones within
     * the same second only counted, so the log cannot flood). */
    char logged[2048] = "";
    FILE *f = fopen(log_path, "r");
    ck_assert_ptr_nonnull(f);
    size_t got_len = fread(logged, 1, sizeof logged - 1, f);
    logged[got_len] = '\0';
    fclose(f);
    char where[200];
    snprintf(where, sizeof where, "\"source\":\"%s:3\",\"reason\":\"bad_json\"", path);
    ck_assert_msg(strstr(logged, where) != NULL, "no %s in the log:\n%s", where, logged);
    ck_assert_msg(strstr(logged, "crossed") == NULL, "drop warnings not limited to one a second:\n%s", logged);
}
END_TEST

START_TEST(replay_should_count_a_bad_last_line_without_a_newline)
{
    text_t t = { 0 };
    add(&t, "{\"symbol\":\"BTC-USD\",\"last\":1}\n{\"symbol\":\"BTC-USD\",\"last\":\"1\"}");
    const char *path = save(&t, "tail.jsonl");
    publisher_t p;
    open_publisher(&p);
    replay_config_t c = { .file = path, .speed = 1.0 };
    static volatile sig_atomic_t stop;
    ck_assert_int_eq(replay_run(&c, &p, &stop), 0);
    publisher_close(&p);
    long long drops[VAL__COUNT] = { 0 };
    drops[VAL_WRONG_TYPE] = 1;
    assert_counts(1, drops);
}
END_TEST

/* ---- pace ------------------------------------------------------------------- */

#define T0 1732400000000000000LL

/* n quotes of BTC-USD, gap_ns apart in ts, with bid i+1. */
static const char *paced_file(int n, int64_t gap_ns, const char *name)
{
    text_t t = { 0 };
    for (int i = 0; i < n; i++)
        add(&t, "{\"symbol\":\"BTC-USD\",\"bid\":%d,\"ask\":%d.5,\"ts\":%lld}\n", i + 1, i + 1,
            (long long)(T0 + i * gap_ns));
    return save(&t, name);
}

START_TEST(speed_zero_should_ignore_the_recorded_pace)
{
    /* Five messages an hour apart: replayed at once, or not within the deadline. */
    const char *path = paced_file(5, 3600 * IFX_SECOND, "hours.jsonl");
    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    static replay_job_t job;
    start_replay(&job, &p, path, 0, false);
    ck_assert_msg(join_replay(&job, 10 * IFX_SECOND), "speed 0 waited for the recorded pace");
    ck_assert_int_eq(job.rc, 0);
    publisher_close(&p);
    se_in_rec_t got[6];
    ck_assert_int_eq(ifx_read(&r, got, 6, 0), 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(got[i].ts_source_ns, T0 + i * 3600 * IFX_SECOND);
    shm_reader_close(&r);
}
END_TEST

START_TEST(high_speed_should_compress_hours_into_milliseconds)
{
    /* Four gaps of an hour at speed 100000: 144 ms. Not a performance bound
     * (it would be four hours if speed were ignored): a deadline, like the
     * one for speed 0, plus the lower bound that it still paces. */
    const char *path = paced_file(5, 3600 * IFX_SECOND, "hours.jsonl");
    publisher_t p;
    open_publisher(&p);
    static replay_job_t job;
    int64_t t0 = clock_mono_ns();
    start_replay(&job, &p, path, 1e5, false);
    ck_assert_msg(join_replay(&job, 10 * IFX_SECOND), "4 hours at speed 100000 took more than 10 s");
    int64_t took = clock_mono_ns() - t0;
    ck_assert_int_eq(job.rc, 0);
    publisher_close(&p);
    ck_assert_msg(took >= 137000000, "4 hours at speed 100000 took only %.1f ms", (double)took / 1e6);
    assert_counts(5, NULL);
}
END_TEST

static const double speeds[] = { 1.0, 2.0 };

START_TEST(speed_should_scale_the_gaps_between_messages)
{
    /* Five messages 50 ms apart: 200 ms at speed 1, 100 ms at speed 2.
     * Lower bounds only: a slow machine may take longer, never shorter. */
    const double speed = speeds[_i];
    const int64_t gap = 50000000;
    const char *path = paced_file(5, gap, "paced.jsonl");
    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    replay_config_t c = { .file = path, .speed = speed };
    static volatile sig_atomic_t stop;
    int64_t t0 = clock_mono_ns();
    ck_assert_int_eq(replay_run(&c, &p, &stop), 0);
    int64_t took = clock_mono_ns() - t0;
    publisher_close(&p);
    double want = 4 * (double)gap / speed;
    ck_assert_msg((double)took >= 0.95 * want, "speed %g: 4 gaps of 50 ms took %.1f ms, want >= %.1f", speed,
                  (double)took / 1e6, want / 1e6);
    /* Each message no earlier than its own due time after the first. */
    se_in_rec_t got[6];
    ck_assert_int_eq(ifx_read(&r, got, 6, 0), 5);
    for (int i = 1; i < 5; i++) {
        double after = (double)(got[i].ts_ingest_ns - got[0].ts_ingest_ns);
        ck_assert_msg(after >= i * (double)gap / speed - 2e6, "speed %g: message %d after %.1f ms", speed, i,
                      after / 1e6);
    }
    shm_reader_close(&r);
}
END_TEST

/* ---- loop ------------------------------------------------------------------- */

START_TEST(loop_should_replay_the_file_again_with_the_same_records)
{
    /* K messages 5 ms apart after a bad line and a blank one; each pass
     * starts 1 ms after the last message of the one before. */
    enum { K = 4, PASSES = 3 };
    const int64_t gap = 5000000, pass_ns = (K - 1) * gap + 1000000;
    text_t t = { 0 };
    add(&t, "not json\n\n");
    for (int i = 0; i < K; i++)
        add(&t, "{\"symbol\":\"S%d\",\"bid\":%d.25,\"ask\":%d.5,\"last\":%d.5,\"volume\":%d,\"ts\":%lld}\n", i,
            i + 10, i + 10, i + 10, i, (long long)(T0 + i * gap));
    const char *path = save(&t, "loop.jsonl");

    publisher_t p;
    open_publisher(&p);
    shm_reader_t r;
    ifx_attach_in(&fx.set, &r);
    static replay_job_t job;
    start_replay(&job, &p, path, 1.0, true);
    static se_in_rec_t got[4096];
    int n = ifx_read(&r, got, PASSES * K, 10 * IFX_SECOND);
    job.stop = 1;
    ck_assert_msg(join_replay(&job, 5 * IFX_SECOND), "loop did not stop on the stop flag");
    ck_assert_int_eq(job.rc, 0);
    publisher_close(&p);
    ck_assert_msg(n == PASSES * K, "only %d records of %d passes", n, PASSES);
    n += ifx_read(&r, got + n, 4096 - n, 0); /* what came out before the stop */

    for (int i = 0; i < n; i++) {
        ifx_assert_same_quote(&got[i], &got[i % K], true, "looped record", i);
        ck_assert_uint_eq(got[i].source_seq, (uint32_t)i + 1);
        /* Paced across passes too: pass k starts k passes' time after the first. */
        double due = (double)(i / K) * (double)pass_ns + (double)(i % K) * (double)gap;
        double after = (double)(got[i].ts_ingest_ns - got[0].ts_ingest_ns);
        ck_assert_msg(after >= due - 2e6, "record %d after %.1f ms, due at %.1f ms", i, after / 1e6, due / 1e6);
    }
    ck_assert_str_eq(got[K].symbol, "S0");
    ck_assert_double_eq(got[K + 1].u.quote.bid, 11.25);
    shm_reader_close(&r);
    /* The bad first line is counted once per pass begun. */
    long long passes = (n + K - 1) / K;
    long long bad = ifx_metric(&fx.set, "market_data_dropped_total{reason=\"bad_json\"}");
    ck_assert_msg(bad == passes || bad == passes + 1, "%lld bad lines counted over %lld passes", bad, passes);
    ck_assert_int_eq(ifx_metric(&fx.set, "market_data_received_total"), n);
}
END_TEST

/* Looping over a file without one valid message would spin for ever,
 * re-reading it (and re-counting its bad lines) at full speed: the replay
 * ends instead, with -ENODATA and a message naming the file. */
typedef struct {
    const char *text;
    int bad_json, missing_field; /* drops of the one pass */
} nothing_case_t;

static const nothing_case_t nothing_files[] = {
    { "", 0, 0 },
    { "\n", 0, 0 },
    { "\n\r\n\n", 0, 0 },
    { "not json\n\n{\"bid\":1,\"ask\":2}", 1, 1 },
};

START_TEST(loop_over_a_file_without_a_valid_message_should_end_with_an_error)
{
    const nothing_case_t *nc = &nothing_files[_i];
    text_t t = { 0 };
    add(&t, "%s", nc->text);
    const char *path = save(&t, "nothing.jsonl");
    publisher_t p;
    open_publisher(&p);
    static replay_job_t job;
    start_replay(&job, &p, path, 1.0, true);
    bool ended = join_replay(&job, 2 * IFX_SECOND);
    publisher_close(&p);
    ck_assert_msg(ended, "case %d: still looping over a file without a message after 2 s", _i);
    ck_assert_msg(job.rc == -ENODATA, "case %d: rc %d (%s)", _i, job.rc, job.msg);
    ck_assert_msg(strstr(job.msg, path) != NULL, "case %d: \"%s\" does not name %s", _i, job.msg, path);
    long long drops[VAL__COUNT] = { 0 };
    drops[VAL_BAD_JSON] = nc->bad_json;
    drops[VAL_MISSING_FIELD] = nc->missing_field;
    assert_counts(0, drops); /* one pass, counted once */
}
END_TEST

START_TEST(replay_without_loop_should_accept_a_file_without_messages)
{
    text_t t = { 0 };
    add(&t, "\n\nnot json\n");
    const char *path = save(&t, "nothing.jsonl");
    publisher_t p;
    open_publisher(&p);
    replay_config_t c = { .file = path, .speed = 1.0 };
    static volatile sig_atomic_t stop;
    ck_assert_msg(replay_run(&c, &p, &stop) == 0, "%s", se_errmsg());
    publisher_close(&p);
    long long drops[VAL__COUNT] = { 0 };
    drops[VAL_BAD_JSON] = 1;
    assert_counts(0, drops);
}
END_TEST

/* The publisher refreshes the heartbeats of ring `in` and of the stats block
 * once a second from publisher_idle (publisher.h), so that shmtool tells a
 * live writer from a hung one; synth_run calls it every 4096 records. A
 * replay at full speed that never has to wait must keep them fresh too. */
START_TEST(replay_at_full_speed_should_keep_the_heartbeat_fresh)
{
    text_t t = { 0 };
    for (int i = 0; i < 64; i++)
        add(&t, "{\"symbol\":\"BTC-USD\",\"bid\":%d,\"ask\":%d.5}\n", i + 1, i + 1);
    const char *path = save(&t, "fast.jsonl");
    publisher_t p;
    open_publisher(&p);
    shm_header_t *h = p.in.seg.hdr, *sh = p.stats.w.seg.hdr;
    uint64_t opened = shm__load_relaxed(&h->heartbeat_ns), stats_opened = shm__load_relaxed(&sh->heartbeat_ns);
    static replay_job_t job;
    start_replay(&job, &p, path, 0, true);
    /* Poll the shared headers until both heartbeats move (due within ~1 s). */
    int64_t deadline = clock_mono_ns() + 3 * IFX_SECOND;
    bool ring_beat = false, stats_beat = false;
    while (!(ring_beat && stats_beat) && clock_mono_ns() < deadline) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
        ring_beat = shm__load_relaxed(&h->heartbeat_ns) != opened;
        stats_beat = shm__load_relaxed(&sh->heartbeat_ns) != stats_opened;
    }
    uint64_t head = shm__load_acquire(&h->prod_seq);
    job.stop = 1;
    ck_assert(join_replay(&job, 5 * IFX_SECOND));
    publisher_close(&p);
    ck_assert_msg(ring_beat && stats_beat, "heartbeats of ring `in`: %s, of the stats block: %s (%llu records)",
                  ring_beat ? "fresh" : "unchanged for 3 s", stats_beat ? "fresh" : "unchanged for 3 s",
                  (unsigned long long)head);
}
END_TEST

/* ---- errors ------------------------------------------------------------------ */

START_TEST(missing_file_should_fail_with_a_message_naming_it)
{
    char path[160];
    ifx_path(&fx, "no-such-session.jsonl", path, sizeof path);
    publisher_t p;
    open_publisher(&p);
    replay_config_t c = { .file = path, .speed = 1.0, .loop = true };
    static volatile sig_atomic_t stop;
    int rc = replay_run(&c, &p, &stop);
    publisher_close(&p);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_msg(strstr(se_errmsg(), path) != NULL, "\"%s\" does not name %s", se_errmsg(), path);
    assert_counts(0, NULL);
}
END_TEST

/* Runs replay_config on a config file holding text; returns its code, with
 * the file name (borrowed from cfg, so copied) in file and se_errmsg() in msg.
 * cfg is closed before anything is asserted: nothing leaks when a test fails. */
static int config_from(const char *text, replay_config_t *c, char file[160], char msg[512])
{
    char path[160];
    ifx_path(&fx, "replay.conf", path, sizeof path);
    ifx_write(path, text, strlen(text));
    cfg_t *cfg = NULL;
    ck_assert_msg(cfg_open(&cfg, path) == 0, "%s", se_errmsg());
    int rc = replay_config(cfg, c);
    snprintf(file, 160, "%s", rc == 0 ? c->file : "");
    snprintf(msg, 512, "%s", rc < 0 ? se_errmsg() : "");
    c->file = NULL;
    cfg_close(cfg);
    return rc;
}

START_TEST(config_should_read_file_speed_and_loop)
{
    replay_config_t c;
    char file[160], msg[512];
    int rc = config_from("ingest = { feed = \"replay\";\n"
                         "  replay = { file = \"/data/session.jsonl\"; speed = 2.5; loop = true; }; };\n",
                         &c, file, msg);
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_str_eq(file, "/data/session.jsonl");
    ck_assert_double_eq(c.speed, 2.5);
    ck_assert(c.loop);

    rc = config_from("ingest = { replay = { file = \"s.jsonl\"; }; };\n", &c, file, msg); /* defaults */
    ck_assert_msg(rc == 0, "%s", msg);
    ck_assert_double_eq(c.speed, 1.0);
    ck_assert(!c.loop);
}
END_TEST

START_TEST(config_without_a_file_should_name_the_key_without_a_line)
{
    replay_config_t c;
    char file[160], msg[512], want[256];
    int rc = config_from("ingest = { feed = \"replay\";\n  replay = { speed = 2.0; }; };\n", &c, file, msg);
    ck_assert_int_eq(rc, SE_ECONFIG);
    snprintf(want, sizeof want, "%s/replay.conf: ingest.replay.file: ", fx.dir);
    ck_assert_msg(strncmp(msg, want, strlen(want)) == 0, "\"%s\" does not start with \"%s\"", msg, want);

    rc = config_from("ingest = {\n  replay = {\n    speed = -1.0; }; };\n", &c, file, msg);
    ck_assert_int_eq(rc, SE_ECONFIG);
    ck_assert_msg(strstr(msg, "/replay.conf:3: ingest.replay.speed: ") != NULL, "%s", msg);
}
END_TEST

/* ---- round trip through the binaries ---------------------------------------- */

static const char *bin_dir(void)
{
    const char *d = getenv("SE_BIN_DIR");
    return d && d[0] ? d : "bin";
}

/* Starts argv[0] with argv; its stderr goes to /dev/null unless SE_TEST_VERBOSE is set. */
static pid_t spawn(char *const argv[])
{
    ck_assert_msg(access(argv[0], X_OK) == 0, "%s is not an executable (build it, or set SE_BIN_DIR)", argv[0]);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0 && !getenv("SE_TEST_VERBOSE"))
            dup2(devnull, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    ifx_register_helper(pid);
    return pid;
}

/* Waits at most timeout_ns for pid to end and returns its exit status (128+signal
 * if killed). A process still running then is killed and the test fails. */
static int wait_exit(pid_t pid, int64_t timeout_ns, const char *what)
{
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        int64_t deadline = clock_mono_ns() + timeout_ns;
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int n;
        do {
            int64_t left = deadline - clock_mono_ns();
            n = poll(&pfd, 1, left > 0 ? (int)(left / 1000000) : 0);
        } while (n < 0 && errno == EINTR);
        close(fd);
        if (n == 0) {
            kill(pid, SIGKILL);
            test_wait(pid);
            ck_abort_msg("%s still running after %lld ms", what, (long long)(timeout_ns / 1000000));
        }
    } else { /* a kernel before 5.3: poll the exit status */
        int64_t deadline = clock_mono_ns() + timeout_ns;
        int status;
        pid_t w;
        while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
            if (clock_mono_ns() > deadline) {
                kill(pid, SIGKILL);
                test_wait(pid);
                ck_abort_msg("%s still running after %lld ms", what, (long long)(timeout_ns / 1000000));
            }
            struct timespec ms = { 0, 1000000 };
            nanosleep(&ms, NULL);
        }
        ck_assert_int_eq(w, pid);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
    return test_wait(pid);
}

/* True when pid is asleep in (clock_)nanosleep: for `shmtool record`, whose
 * only sleep is between polls of the ring, that means it is following it. */
static bool in_nanosleep(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    FILE *f = fopen(path, "r");
    if (f) {
        long nr = -1;
        int got = fscanf(f, "%ld", &nr); /* "running" when it is not in a system call */
        fclose(f);
        return got == 1 && (nr == SYS_nanosleep || nr == SYS_clock_nanosleep);
    }
    /* Without access to the system call: asleep (S) at all is close enough. */
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    char state = 0;
    if (f) {
        if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
            state = 0;
        fclose(f);
    }
    return state == 'S';
}

/* Waits until `shmtool record` has created its file and sleeps between polls:
 * it has read the ring's head, so it records everything written after now. */
static void wait_until_recording(pid_t pid, const char *file)
{
    int64_t deadline = clock_mono_ns() + 10 * IFX_SECOND;
    struct stat st;
    while (!(stat(file, &st) == 0 && in_nanosleep(pid))) {
        int status = 0;
        ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0, "shmtool record ended before recording (status %#x)",
                      status);
        ck_assert_msg(clock_mono_ns() < deadline, "shmtool record did not start following ring `in` within 10 s");
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0, ch, last = '\n';
    while ((ch = fgetc(f)) != EOF) {
        n += ch == '\n';
        last = ch;
    }
    fclose(f);
    ck_assert_int_eq(last, '\n');
    return n;
}

START_TEST(recorded_session_should_replay_to_the_same_quotes)
{
    enum { N = 300 };
    char conf_a[160], conf_b[160], session[160], text[1024];
    ifx_path(&fx, "record.conf", conf_a, sizeof conf_a);
    ifx_path(&fx, "replay.conf", conf_b, sizeof conf_b);
    ifx_path(&fx, "session.jsonl", session, sizeof session);
    shm_settings_t set_a, set_b;
    ifx_settings(&set_a, "rta");
    ifx_settings(&set_b, "rtb");
    int len = snprintf(text, sizeof text,
                       "engine = { instance = \"%s\"; idleSpinUs = 0; };\n"
                       "http = { enabled = false; };\n" /* never a fixed port in tests */
                       "ingest = { feed = \"synthetic\";\n"
                       "  synthetic = { ratePerSecond = 5000.0; maxRecords = %d; seed = 2024;\n"
                       "                symbols = [\"BTC-USD\", \"ETH-USD\", \"SOL-USD\", \"X.Y:Z/1\"]; }; };\n",
                       set_a.instance, N);
    ifx_write(conf_a, text, (size_t)len);
    len = snprintf(text, sizeof text,
                   "engine = { instance = \"%s\"; idleSpinUs = 0; };\n"
                   "http = { enabled = false; };\n"
                   "ingest = { feed = \"replay\"; replay = { file = \"%s\"; speed = 0.0; }; };\n",
                   set_b.instance, session);
    ifx_write(conf_b, text, (size_t)len);

    char ingest[512], shmtool[512], count[16];
    snprintf(ingest, sizeof ingest, "%s/ingest", bin_dir());
    const char *st = getenv("SHMTOOL");
    snprintf(shmtool, sizeof shmtool, "%s", st && st[0] ? st : "");
    if (!shmtool[0])
        snprintf(shmtool, sizeof shmtool, "%s/shmtool", bin_dir());
    snprintf(count, sizeof count, "%d", N);

    /* Record: `in` exists (at head 0) before shmtool starts, and shmtool
     * follows it before ingest writes the first record. */
    ifx_precreate_in(&set_a);
    shm_reader_t ra;
    ifx_attach_in(&set_a, &ra);
    char *rec_argv[] = { shmtool, "record", "in", session, "-n", count, "-i", set_a.instance, NULL };
    pid_t rec = spawn(rec_argv);
    wait_until_recording(rec, session);
    char *gen_argv[] = { ingest, "-c", conf_a, NULL };
    ck_assert_int_eq(wait_exit(spawn(gen_argv), 30 * IFX_SECOND, "bin/ingest (synthetic)"), 0);
    ck_assert_int_eq(wait_exit(rec, 30 * IFX_SECOND, "shmtool record"), 0);
    static se_in_rec_t orig[N + 1], back[N + 1];
    ck_assert_int_eq(ifx_read(&ra, orig, N + 1, 0), N);
    shm_reader_close(&ra);
    ck_assert_int_eq(count_lines(session), N);

    /* Replay into another instance, read by a reader attached before. */
    ifx_precreate_in(&set_b);
    shm_reader_t rb;
    ifx_attach_in(&set_b, &rb);
    char *play_argv[] = { ingest, "-c", conf_b, NULL };
    ck_assert_int_eq(wait_exit(spawn(play_argv), 30 * IFX_SECOND, "bin/ingest (replay)"), 0);
    ck_assert_int_eq(ifx_read(&rb, back, N + 1, 0), N);
    shm_reader_close(&rb);
    for (int i = 0; i < N; i++) {
        ifx_assert_same_quote(&back[i], &orig[i], true, "replayed quote", i);
        ck_assert_uint_eq(back[i].source_seq, (uint32_t)i + 1);
    }
    ck_assert_str_eq(orig[3].symbol, "X.Y:Z/1");
    /* Nothing was dropped on the way back. */
    assert_counts_of(&set_b, N, NULL);
}
END_TEST

static Suite *replay_suite(void)
{
    Suite *s = suite_create("ingest_replay");
    TCase *lines = tcase_create("lines");
    tcase_add_checked_fixture(lines, setup, teardown);
    tcase_add_test(lines, replay_should_publish_good_lines_in_order_and_count_bad_ones_by_reason);
    tcase_add_test(lines, replay_should_count_a_bad_last_line_without_a_newline);
    suite_add_tcase(s, lines);

    TCase *pace = tcase_create("pace_and_loop");
    tcase_add_checked_fixture(pace, setup, teardown);
    tcase_set_timeout(pace, 20);
    tcase_add_test(pace, speed_zero_should_ignore_the_recorded_pace);
    tcase_add_loop_test(pace, speed_should_scale_the_gaps_between_messages, 0, sizeof speeds / sizeof speeds[0]);
    tcase_add_test(pace, high_speed_should_compress_hours_into_milliseconds);
    tcase_add_test(pace, loop_should_replay_the_file_again_with_the_same_records);
    tcase_add_loop_test(pace, loop_over_a_file_without_a_valid_message_should_end_with_an_error, 0,
                        sizeof nothing_files / sizeof nothing_files[0]);
    tcase_add_test(pace, replay_without_loop_should_accept_a_file_without_messages);
    tcase_add_test(pace, replay_at_full_speed_should_keep_the_heartbeat_fresh);
    suite_add_tcase(s, pace);

    TCase *errors = tcase_create("errors_and_config");
    tcase_add_checked_fixture(errors, setup, teardown);
    tcase_add_test(errors, missing_file_should_fail_with_a_message_naming_it);
    tcase_add_test(errors, config_should_read_file_speed_and_loop);
    tcase_add_test(errors, config_without_a_file_should_name_the_key_without_a_line);
    suite_add_tcase(s, errors);

    TCase *bins = tcase_create("binaries");
    tcase_add_checked_fixture(bins, setup, teardown);
    tcase_set_timeout(bins, 90);
    tcase_add_test(bins, recorded_session_should_replay_to_the_same_quotes);
    suite_add_tcase(s, bins);
    return s;
}

int main(void)
{
    ifx_registry_create();
    SRunner *sr = srunner_create(replay_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    ifx_registry_cleanup();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
