/* ingest_fixture.h -- helpers shared by the ingest suites (test_synthetic.c,
 * test_replay.c): a unique instance and a scratch directory per test process,
 * the ingest stats block read from outside, records read from ring `in`, and
 * a registry that lets main clean up after tests that failed or timed out.
 * Header-only (static inline) because the Makefile links every test with
 * the objects of tests/support/ and builds nothing else under tests/ingest/. */
#ifndef TESTS_INGEST_FIXTURE_H
#define TESTS_INGEST_FIXTURE_H

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/records.h"
#include "ingest/publisher.h"
#include "shm/ring.h"
#include "shm/segment.h"
#include "shm/settings.h"
#include "shm/stats.h"
#include "tests/support/ring_fixture.h"

#define IFX_SECOND 1000000000LL

/* ck_assert_msg for loops over thousands of records: check marks every
 * passing assertion (a message to the runner), which makes such loops slow,
 * so this one only calls into check when cond is false. */
#define IFX_CHECK(cond, ...)                                                                                     \
    do {                                                                                                         \
        if (!(cond))                                                                                             \
            ck_abort_msg(__VA_ARGS__);                                                                           \
    } while (0)

typedef struct {
    shm_settings_t set; /* engine defaults with instance "t<pid>-<tag>" */
    char dir[64];       /* scratch directory for configs and replay files */
    char lead[32];      /* "se.t<pid>-": the start of every segment name of this process */
} ingest_fx_t;

/* What every test process of a run created, in memory shared with the runner
 * (made before check forks), so that main can clean up after tests that
 * failed or timed out: check ends those without running their teardown. */
#define IFX_MAX_TESTS   512
#define IFX_MAX_HELPERS 128
typedef struct {
    int ntests, nhelpers;
    struct {
        int pid;
        char dir[64];
    } tests[IFX_MAX_TESTS];
    struct {
        int pid;
        uint32_t start; /* with the pid, names the process for good (shm_pid_alive) */
    } helpers[IFX_MAX_HELPERS];
} ifx_registry_t;

static ifx_registry_t *ifx_registry;
static int ifx_log_fd = 2; /* where log lines go between tests */

/* Call in main before srunner_run_all. Also sends the in-process log lines
 * (a publisher's drop warnings) to /dev/null unless SE_TEST_VERBOSE is set. */
static inline void ifx_registry_create(void)
{
    ifx_registry = test_shared_alloc(sizeof *ifx_registry);
    if (!ifx_registry) {
        perror("test registry");
        exit(EXIT_FAILURE);
    }
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0 && !getenv("SE_TEST_VERBOSE"))
        log_set_fd(ifx_log_fd = devnull);
}

/* Notes a helper process (a started binary) to be killed if a test leaves it behind. */
static inline void ifx_register_helper(pid_t pid)
{
    if (ifx_registry && ifx_registry->nhelpers < IFX_MAX_HELPERS) {
        int i = ifx_registry->nhelpers++;
        ifx_registry->helpers[i].pid = (int)pid;
        ifx_registry->helpers[i].start = (uint32_t)shm_pid_start(pid);
    }
}

/* Removes a directory and everything in it (a JetStream store is a tree). */
static inline void ifx_remove_dir(const char *dir)
{
    DIR *d = dir[0] ? opendir(dir) : NULL;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[400];
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue; /* cannot be ours: our scratch paths are short */
        if (unlink(path) < 0 && errno == EISDIR)
            ifx_remove_dir(path);
    }
    closedir(d);
    rmdir(dir);
}

/* Settings for instance "t<pid>-<tag>" of the calling (test) process. */
static inline void ifx_settings(shm_settings_t *set, const char *tag)
{
    ck_assert_int_eq(shm_settings_load(NULL, set), 0);
    snprintf(set->instance, sizeof set->instance, "t%d-%s", (int)getpid(), tag);
}

/* Called from a checked fixture, so in fork mode each test has its own pid,
 * instance and directory; with CK_FORK=no, ifx_fini makes the next test start clean. */
static inline void ifx_init(ingest_fx_t *fx, const char *tag)
{
    memset(fx, 0, sizeof *fx);
    ifx_settings(&fx->set, tag);
    snprintf(fx->lead, sizeof fx->lead, "se.t%d-", (int)getpid());
    test_sweep_segments(fx->lead); /* a reused pid may have left some */
    strcpy(fx->dir, "/tmp/se-ingest-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx->dir));
    if (ifx_registry && ifx_registry->ntests < IFX_MAX_TESTS) {
        int i = ifx_registry->ntests++;
        ifx_registry->tests[i].pid = (int)getpid();
        memcpy(ifx_registry->tests[i].dir, fx->dir, sizeof fx->dir);
    }
}

/* Removes the scratch directory and every segment of this process. */
static inline void ifx_fini(ingest_fx_t *fx)
{
    ifx_remove_dir(fx->dir);
    test_sweep_segments(fx->lead);
}

/* Call in main after srunner_run_all: kills helpers still running and removes
 * what tests that did not reach their teardown left. */
static inline void ifx_registry_cleanup(void)
{
    if (!ifx_registry)
        return;
    for (int i = 0; i < ifx_registry->nhelpers; i++)
        if (shm_pid_alive((uint32_t)ifx_registry->helpers[i].pid, ifx_registry->helpers[i].start))
            kill(ifx_registry->helpers[i].pid, SIGKILL);
    for (int i = 0; i < ifx_registry->ntests; i++) {
        char lead[32];
        snprintf(lead, sizeof lead, "se.t%d-", ifx_registry->tests[i].pid);
        test_sweep_segments(lead);
        ifx_remove_dir(ifx_registry->tests[i].dir);
    }
}

/* out = "<scratch dir>/<name>". */
static inline void ifx_path(const ingest_fx_t *fx, const char *name, char *out, size_t size)
{
    ck_assert_int_lt(snprintf(out, size, "%s/%s", fx->dir, name), (int)size);
}

/* Writes len bytes of text to path (replacing it). */
static inline void ifx_write(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static inline void ifx_ring_name(const shm_settings_t *set, const char *ring, char *out)
{
    ck_assert_int_eq(shm_settings_ring_name(set, ring, out, SHM_NAME_MAX), 0);
}

/* Creates ring `in` as ingest will open it and closes it again without
 * removing it, so readers can attach at position 0 before ingest starts. */
static inline void ifx_precreate_in(const shm_settings_t *set)
{
    char name[SHM_NAME_MAX];
    ifx_ring_name(set, SE_RING_IN, name);
    shm_ring_spec_t spec = { SHM_KIND_BROADCAST, SE_IN_RECORD_SIZE, INGEST_DEFAULT_RING_CAPACITY, SE_RECTYPE_IN };
    shm_writer_t w;
    ck_assert_msg(shm_writer_open(&w, name, &spec, NULL) == 0, "%s", se_errmsg());
    shm_writer_close(&w, false);
}

/* Attaches a reader to ring `in` (which must exist) at its head. */
static inline void ifx_attach_in(const shm_settings_t *set, shm_reader_t *r)
{
    char name[SHM_NAME_MAX];
    ifx_ring_name(set, SE_RING_IN, name);
    ck_assert_msg(shm_reader_open(r, name, NULL, "test", SHM_START_HEAD, 0) == 0, "%s", se_errmsg());
}

/* Reads up to max records into out, waiting for them until timeout_ns has
 * passed (0: only what is there now). A lap or a retirement fails the test:
 * every suite here sizes its runs so that the reader can never be lapped. */
static inline int ifx_read(shm_reader_t *r, se_in_rec_t *out, int max, int64_t timeout_ns)
{
    int64_t deadline = clock_mono_ns() + timeout_ns;
    int n = 0;
    while (n < max) {
        shm_status_t st = shm_reader_read(r, &out[n]);
        if (st == SHM_OK) {
            n++;
            continue;
        }
        ck_assert_msg(st == SHM_EMPTY, "reading ring `in`: status %d after %d records", (int)st, n);
        int64_t left = deadline - clock_mono_ns();
        if (left <= 0)
            break;
        shm_reader_t *rs[1] = { r };
        shm_wait(rs, 1, 0, left);
    }
    return n;
}

/* The ingest stats block of set's instance as Prometheus text (free it). */
static inline char *ifx_render_stats(const shm_settings_t *set)
{
    char name[SHM_NAME_MAX];
    ifx_ring_name(set, "stats.ingest", name);
    shm_segment_t seg;
    ck_assert_msg(shm_segment_map(&seg, name, false) == 0, "%s", se_errmsg());
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(stats_render_prometheus(&seg, "ingest", f), 0);
    ck_assert_int_eq(fclose(f), 0);
    shm_segment_unmap(&seg);
    return text;
}

/* The value of one series of the ingest stats block, named as Prometheus
 * shows it without the process label: "market_data_received_total" or
 * "market_data_dropped_total{reason=\"bad_json\"}". -1 when it is absent. */
static inline long long ifx_metric(const shm_settings_t *set, const char *series)
{
    char want[256];
    const char *brace = strchr(series, '{');
    if (brace)
        snprintf(want, sizeof want, "%.*s{process=\"ingest\",%s ", (int)(brace - series), series, brace + 1);
    else
        snprintf(want, sizeof want, "%s{process=\"ingest\"} ", series);
    char *text = ifx_render_stats(set);
    long long v = -1;
    for (char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, want, strlen(want)) == 0) {
            v = strtoll(line + strlen(want), NULL, 10);
            break;
        }
    free(text);
    return v;
}

static inline bool ifx_same_double(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0; /* bit for bit: "exact" means exact */
}

/* Fails unless a and b are the same quote: kind, flags, symbol and every
 * price, size and volume bit for bit, and (with_ts) the source timestamp.
 * what and i name the pair in the failure message. */
static inline void ifx_assert_same_quote(const se_in_rec_t *a, const se_in_rec_t *b, bool with_ts,
                                         const char *what, int i)
{
    const se_quote_t *x = &a->u.quote, *y = &b->u.quote;
    IFX_CHECK(a->kind == b->kind && a->flags == b->flags, "%s %d: kind/flags %u/%#x vs %u/%#x", what, i, a->kind,
              a->flags, b->kind, b->flags);
    IFX_CHECK(memcmp(a->symbol, b->symbol, SE_SYMBOL_MAX) == 0, "%s %d: symbol %.16s vs %.16s", what, i,
              a->symbol, b->symbol);
    IFX_CHECK(ifx_same_double(x->bid, y->bid) && ifx_same_double(x->ask, y->ask),
              "%s %d: bid/ask %.17g/%.17g vs %.17g/%.17g", what, i, x->bid, x->ask, y->bid, y->ask);
    IFX_CHECK(ifx_same_double(x->bid_size, y->bid_size) && ifx_same_double(x->ask_size, y->ask_size),
              "%s %d: sizes %.17g/%.17g vs %.17g/%.17g", what, i, x->bid_size, x->ask_size, y->bid_size,
              y->ask_size);
    IFX_CHECK(ifx_same_double(x->last, y->last) && ifx_same_double(x->volume, y->volume),
              "%s %d: last/volume %.17g/%.17g vs %.17g/%.17g", what, i, x->last, x->volume, y->last, y->volume);
    if (with_ts)
        IFX_CHECK(a->ts_source_ns == b->ts_source_ns, "%s %d: ts %lld vs %lld", what, i,
                  (long long)a->ts_source_ns, (long long)b->ts_source_ns);
}

#endif
