/* shmtool_gc.c -- `shmtool gc`: removes the segments of an instance that no
 * live process uses any more. Never removes a segment whose writer is alive
 * (the removal holds the writer's claim, shm_segment_remove), nor one that
 * belongs to another user. */
#include "shm/shmtool.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"

typedef struct {
    bool gone;   /* vanished while we looked */
    bool remove;
    char reason[400];
} verdict_t;

/* Readers named in the verdict of a segment kept for them, as "name (pid N)". */
static void live_readers(const shmtool_snap_t *s, char *out, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (int i = 0; i < s->nreaders && o < n; i++) {
        const shmtool_reader_t *r = &s->readers[i];
        if (!r->alive)
            continue;
        char name[SHM_READER_NAME_MAX + 1];
        shmtool__printable(name, sizeof name, r->name, sizeof r->name);
        int k = snprintf(out + o, n - o, "%s%s (pid %u)", o ? ", " : "", name, r->pid);
        if (k < 0)
            break;
        o += (size_t)k;
    }
}

static void judge_valid(const shm_segment_t *seg, verdict_t *v)
{
    shmtool_snap_t s;
    shmtool__snapshot(seg, &s);
    const char *state = shmtool__writer_state(s.writer_pid, s.writer_alive);
    if (s.writer_alive) {
        snprintf(v->reason, sizeof v->reason, "writer alive (pid %u)", s.writer_pid);
    } else if (s.live_claims > 0) {
        char names[256];
        live_readers(&s, names, sizeof names);
        snprintf(v->reason, sizeof v->reason, "writer %s (pid %u) but %d live reader%s: %s", state,
                 s.writer_pid, s.live_claims, s.live_claims == 1 ? "" : "s",
                 names[0] ? names : "(attaching)");
    } else {
        v->remove = true;
        snprintf(v->reason, sizeof v->reason, "writer %s (pid %u), no live reader", state,
                 s.writer_pid);
    }
}

/* A segment still not ready after this long was abandoned by its creator. */
#define ABANDONED_AFTER_S 10

/* Seconds since segment name was last resized or written with write(2) (its
 * creator's ftruncate), or -1. */
static long unchanged_for_s(const char *name)
{
    char path[SHM_NAME_MAX + 16];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    if (stat(path, &st) < 0)
        return -1;
    time_t now = time(NULL);
    return now > st.st_mtime ? (long)(now - st.st_mtime) : 0;
}

/* A segment that does not validate: judged by the writer's owner word at the
 * offset every layout version keeps. */
static void judge_invalid(const char *name, int rc, const char *why, verdict_t *v)
{
    uint64_t owner = 0;
    bool alive = false;
    bool readable = shm_segment_writer_of(name, &owner, &alive) == 0;
    uint32_t pid = SHM_OWNER_PID(owner);
    char ok_why[256];
    shmtool__printable(ok_why, sizeof ok_why, why, strlen(why));
    if (alive) {
        snprintf(v->reason, sizeof v->reason, "%s, writer alive (pid %u)", ok_why, pid);
    } else if (rc == SE_ENOTREADY && (!readable || pid == 0)) {
        /* An empty file, or no writer pid yet: its creator may be at work,
         * unless the file has not changed for long (creating takes microseconds). */
        long idle = unchanged_for_s(name);
        v->remove = idle >= ABANDONED_AFTER_S;
        if (v->remove)
            snprintf(v->reason, sizeof v->reason, "%s for %lds: abandoned by its creator", ok_why, idle);
        else
            snprintf(v->reason, sizeof v->reason, "%s, its creator may still be at work", ok_why);
    } else if (!readable) {
        v->remove = rc == SE_ECORRUPT; /* too short to name a writer: nobody can own it */
        snprintf(v->reason, sizeof v->reason, "%s, no writer recorded", ok_why);
    } else {
        v->remove = true;
        snprintf(v->reason, sizeof v->reason, "%s, writer %s (pid %u)", ok_why,
                 shmtool__writer_state(pid, false), pid);
    }
}

static void judge(const char *name, verdict_t *v)
{
    memset(v, 0, sizeof *v);
    shm_segment_t seg;
    char why[256];
    shmtool__reading(name);
    int rc = shmtool__open(&seg, name, why, sizeof why);
    if (rc == 0) {
        judge_valid(&seg, v);
        shm_segment_unmap(&seg);
    } else if (rc == -ENOENT) {
        v->gone = true;
    } else if (rc == SE_EVERSION || rc == SE_ECORRUPT || rc == SE_ENOTREADY) {
        judge_invalid(name, rc, why, v);
    } else {
        char ok_why[256];
        shmtool__printable(ok_why, sizeof ok_why, why, strlen(why));
        snprintf(v->reason, sizeof v->reason, "cannot judge: %s", ok_why);
    }
    shmtool__reading(NULL);
}

int shmtool_gc(const shmtool_opts_t *o)
{
    shmtool_list_t list;
    if (shmtool__list(o, &list) < 0) {
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
        return SHMTOOL_EXIT_RUNTIME;
    }
    int rc = SHMTOOL_EXIT_OK;
    size_t removed = 0;
    for (size_t i = 0; i < list.n; i++) {
        const char *name = list.v[i].name;
        char shown[SHM_NAME_MAX];
        shmtool__printable(shown, sizeof shown, name, sizeof list.v[i].name);
        verdict_t v;
        judge(name, &v);
        if (v.gone)
            continue;
        if (!v.remove) {
            printf("kept %s: %s\n", shown, v.reason);
            continue;
        }
        if (o->dry_run) {
            printf("would remove %s: %s\n", shown, v.reason);
            removed++;
            continue;
        }
        int gone = shm_segment_remove(name);
        if (gone == -EBUSY || gone == SE_EFOREIGN) {
            printf("kept %s: %s\n", shown, se_errmsg());
            continue;
        }
        if (gone < 0) {
            fprintf(stderr, "shmtool: cannot remove %s: %s\n", shown, se_errmsg());
            rc = SHMTOOL_EXIT_RUNTIME;
            continue;
        }
        printf("removed %s: %s\n", shown, v.reason);
        removed++;
    }
    if (!o->dry_run)
        shm_registry_dirs_remove(o->prefix, o->instance);
    printf("gc: %s %zu of %zu segment%s of instance %s\n", o->dry_run ? "would remove" : "removed",
           removed, list.n, list.n == 1 ? "" : "s", o->instance);
    shmtool__list_free(&list);
    if (fflush(stdout) != 0)
        rc = SHMTOOL_EXIT_RUNTIME;
    return rc;
}
