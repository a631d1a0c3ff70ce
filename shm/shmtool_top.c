/* shmtool_top.c -- `shmtool top`: every ring of an instance with its write
 * rate, and every reader's read rate, lag and drops, refreshed like top(1).
 * Rates are deltas of head, positions and drop counters between two screens. */
#include "shm/shmtool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"

/* One segment in one screen. */
typedef struct {
    shmtool_entry_t e;
    int rc;
    char why[256];
    shmtool_snap_t snap;
} sample_t;

typedef struct {
    sample_t *v;
    size_t n;
    int64_t t_ns; /* CLOCK_MONOTONIC of the sampling */
} screen_t;

static void screen_free(screen_t *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

static int screen_take(const shmtool_opts_t *o, screen_t *s)
{
    shmtool_list_t list;
    memset(s, 0, sizeof *s);
    if (shmtool__list(o, &list) < 0)
        return -1;
    s->v = calloc(list.n ? list.n : 1, sizeof *s->v);
    if (!s->v) {
        shmtool__list_free(&list);
        se_err(-ENOMEM, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < list.n; i++) {
        sample_t *x = &s->v[i];
        shm_segment_t seg;
        x->e = list.v[i];
        shmtool__reading(x->e.name);
        x->rc = shmtool__open(&seg, x->e.name, x->why, sizeof x->why);
        if (x->rc == 0) {
            shmtool__snapshot(&seg, &x->snap);
            if (x->snap.geometry_changed) {
                char what[200];
                shmtool__describe_change(&seg, what, sizeof what);
                x->rc = SE_ECORRUPT;
                snprintf(x->why, sizeof x->why, "corrupt: %s", what);
            }
            shm_segment_unmap(&seg);
        }
        shmtool__reading(NULL);
    }
    s->n = list.n;
    s->t_ns = clock_mono_ns();
    shmtool__list_free(&list);
    return 0;
}

/* The same segment in the previous screen: same name and creation time, so a
 * segment replaced under the same name starts its rates afresh. */
static const sample_t *previous(const screen_t *prev, const sample_t *x)
{
    for (size_t i = 0; i < prev->n; i++) {
        const sample_t *p = &prev->v[i];
        if (p->rc == 0 && strcmp(p->e.name, x->e.name) == 0 &&
            p->snap.created_ns == x->snap.created_ns)
            return p;
    }
    return NULL;
}

/* The same reader (slot, pid and start time) in the previous sample. */
static const shmtool_reader_t *previous_reader(const sample_t *p, const shmtool_reader_t *r)
{
    if (!p)
        return NULL;
    for (int i = 0; i < p->snap.nreaders; i++) {
        const shmtool_reader_t *q = &p->snap.readers[i];
        if (q->slot == r->slot && q->pid == r->pid && q->pid_start == r->pid_start)
            return q;
    }
    return NULL;
}

/* A counter's rate per second as text, or "-" when there is nothing to compare. */
static void fmt_rate(char *out, size_t n, bool have, uint64_t now, uint64_t before, double dt)
{
    if (!have || dt <= 0 || now < before)
        snprintf(out, n, "-");
    else
        snprintf(out, n, "%.1f", (double)(now - before) / dt);
}

static void print_screen(const shmtool_opts_t *o, const screen_t *cur, const screen_t *prev,
                         long iteration)
{
    double dt = prev ? (double)(cur->t_ns - prev->t_ns) / 1e9 : 0;
    char when[32];
    time_t t = time(NULL);
    struct tm tm;
    if (localtime_r(&t, &tm))
        strftime(when, sizeof when, "%H:%M:%S", &tm);
    else
        snprintf(when, sizeof when, "?");
    printf("shmtool top - %s - instance %s, prefix %s - every %.2gs - screen %ld - %zu segment%s\n\n",
           when, o->instance, o->prefix, o->interval_s, iteration, cur->n, cur->n == 1 ? "" : "s");
    if (cur->n == 0) {
        printf("no segments /dev/shm/%s.%s.*\n", o->prefix, o->instance);
        return;
    }
    printf("%-28s  %-9s  %-20s  %14s  %12s\n", "RING", "KIND", "WRITER", "HEAD", "WRITES/S");
    for (size_t i = 0; i < cur->n; i++) {
        const sample_t *x = &cur->v[i];
        char ring[SHM_NAME_MAX], rate[32], writer[48];
        shmtool__printable(ring, sizeof ring, x->e.ring, sizeof x->e.ring);
        if (x->rc != 0) {
            char why[256];
            shmtool__printable(why, sizeof why, x->why, sizeof x->why);
            printf("%-28s  %s\n", ring, why);
            continue;
        }
        const shmtool_snap_t *s = &x->snap;
        const sample_t *p = prev ? previous(prev, x) : NULL;
        fmt_rate(rate, sizeof rate, p != NULL, s->head, p ? p->snap.head : 0, dt);
        snprintf(writer, sizeof writer, "%s%s (pid %u)",
                 shmtool__writer_state(s->writer_pid, s->writer_alive), s->retired ? ",retired" : "",
                 s->writer_pid);
        printf("%-28s  %-9s  %-20s  %14llu  %12s\n", ring, shmtool__kind_name(s->kind), writer,
               (unsigned long long)s->head, rate);
        if (s->nreaders == 0)
            continue;
        printf("    %-24s  %8s  %-8s  %14s  %10s  %10s  %10s  %10s\n", "READER", "PID", "STATE",
               "POSITION", "LAG", "READS/S", "DROPS", "DROPS/S");
        for (int j = 0; j < s->nreaders; j++) {
            const shmtool_reader_t *r = &s->readers[j];
            const shmtool_reader_t *q = previous_reader(p, r);
            char name[SHM_READER_NAME_MAX + 1], rrate[32], drate[32];
            shmtool__printable(name, sizeof name, r->name, sizeof r->name);
            fmt_rate(rrate, sizeof rrate, q != NULL, r->position, q ? q->position : 0, dt);
            fmt_rate(drate, sizeof drate, q != NULL, r->drops, q ? q->drops : 0, dt);
            printf("    %-24s  %8u  %-8s  %14llu  %10lld  %10s  %10llu  %10s\n", name, r->pid,
                   shmtool__reader_state(r->pid, r->alive), (unsigned long long)r->position,
                   (long long)(s->head - r->position), rrate, (unsigned long long)r->drops, drate);
        }
    }
}

int shmtool_top(const shmtool_opts_t *o)
{
    bool tty = isatty(STDOUT_FILENO);
    screen_t prev, cur;
    bool have_prev = false;
    int rc = SHMTOOL_EXIT_OK;
    shmtool__catch_stop_signals();
    for (long it = 1; !shmtool__stop; it++) {
        if (screen_take(o, &cur) < 0) {
            fprintf(stderr, "shmtool: %s\n", se_errmsg());
            rc = SHMTOOL_EXIT_RUNTIME;
            break;
        }
        if (tty)
            fputs("\033[H\033[2J", stdout);
        else if (it > 1)
            putchar('\n');
        print_screen(o, &cur, have_prev ? &prev : NULL, it);
        if (fflush(stdout) != 0)
            rc = SHMTOOL_EXIT_RUNTIME;
        if (have_prev)
            screen_free(&prev);
        prev = cur;
        have_prev = true;
        if (rc != SHMTOOL_EXIT_OK || (o->count > 0 && it >= o->count))
            break;
        shmtool__sleep(o->interval_s);
    }
    if (have_prev)
        screen_free(&prev);
    return rc;
}
