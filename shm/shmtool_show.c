/* shmtool_show.c -- `shmtool ls` (every segment of an instance) and `shmtool
 * info` (one ring in detail), as text for people or JSON for scripts. */
#include "shm/shmtool.h"

#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/shmtool_decode.h"

/* ---- ls ---------------------------------------------------------------------- */

/* What ls shows of one segment: a snapshot, or why there is none. */
typedef struct {
    const shmtool_entry_t *e;
    int rc;
    char why[256];
    shmtool_snap_t snap;
    /* For a segment of another layout version: its writer, read at the offsets
     * every version keeps (layout.h). */
    bool have_writer;
    uint32_t other_version;
    uint32_t writer_pid;
    bool writer_alive;
} ls_row_t;

static void ls_read(const shmtool_entry_t *e, ls_row_t *row)
{
    memset(row, 0, sizeof *row);
    row->e = e;
    shm_segment_t seg;
    shmtool__reading(e->name);
    row->rc = shmtool__open(&seg, e->name, row->why, sizeof row->why);
    if (row->rc == 0) {
        shmtool__snapshot(&seg, &row->snap);
        if (row->snap.geometry_changed) {
            char what[200];
            shmtool__describe_change(&seg, what, sizeof what);
            row->rc = SE_ECORRUPT;
            snprintf(row->why, sizeof row->why, "corrupt: %s", what);
        }
        shm_segment_unmap(&seg);
    } else if (row->rc == SE_EVERSION) {
        uint64_t owner;
        if (shm_segment_writer_of(e->name, &owner, &row->writer_alive) == 0) {
            row->have_writer = true;
            row->writer_pid = SHM_OWNER_PID(owner);
        }
        sscanf(row->why, "other layout version %u", &row->other_version);
    }
    shmtool__reading(NULL);
}

static void ls_json_row(const ls_row_t *r)
{
    const shmtool_snap_t *s = &r->snap;
    printf("{\"name\":");
    shmtool__json_str(stdout, r->e->ring, sizeof r->e->ring);
    printf(",\"segment\":");
    shmtool__json_str(stdout, r->e->name, sizeof r->e->name);
    if (r->rc != 0) {
        printf(",\"ok\":false,\"error\":");
        shmtool__json_str(stdout, r->why, sizeof r->why);
        printf(",\"error_code\":%d", r->rc);
        if (r->other_version)
            printf(",\"layout_version\":%u", r->other_version);
        if (r->have_writer)
            printf(",\"writer_pid\":%u,\"writer_alive\":%s,\"writer_state\":\"%s\"", r->writer_pid,
                   r->writer_alive ? "true" : "false",
                   shmtool__writer_state(r->writer_pid, r->writer_alive));
        printf("}");
        return;
    }
    const shm_decoder_t *d = shm_decoder_find(s->record_type);
    printf(",\"ok\":true,\"kind\":\"%s\",\"record_size\":%u,\"capacity\":%u,\"record_type\":%u,"
           "\"record_type_name\":",
           shmtool__kind_name(s->kind), s->record_size, s->capacity, s->record_type);
    if (d)
        shmtool__json_str(stdout, d->name, strlen(d->name));
    else
        printf("null");
    printf(",\"head\":%llu,\"writer_pid\":%u,\"writer_alive\":%s,\"writer_state\":\"%s\","
           "\"writer_generation\":%u,\"retired\":%s,\"readers\":%d,\"readers_alive\":%d}",
           (unsigned long long)s->head, s->writer_pid, s->writer_alive ? "true" : "false",
           shmtool__writer_state(s->writer_pid, s->writer_alive), s->writer_generation,
           s->retired ? "true" : "false", s->nreaders, s->nreaders_alive);
}

static void ls_text_row(const ls_row_t *r, int ring_w)
{
    char ring[SHM_NAME_MAX];
    shmtool__printable(ring, sizeof ring, r->e->ring, sizeof r->e->ring);
    if (r->rc != 0) {
        char why[256];
        shmtool__printable(why, sizeof why, r->why, sizeof r->why);
        printf("%-*s  %s", ring_w, ring, why);
        if (r->have_writer)
            printf(" (writer %u %s)", r->writer_pid,
                   shmtool__writer_state(r->writer_pid, r->writer_alive));
        printf("\n");
        return;
    }
    const shmtool_snap_t *s = &r->snap;
    char state[32];
    snprintf(state, sizeof state, "%s%s", shmtool__writer_state(s->writer_pid, s->writer_alive),
             s->retired ? ",retired" : "");
    printf("%-*s  %-9s  %6u  %8u  %12llu  %7u  %-13s  %d (%d alive)\n", ring_w, ring,
           shmtool__kind_name(s->kind), s->record_size, s->capacity, (unsigned long long)s->head,
           s->writer_pid, state, s->nreaders, s->nreaders_alive);
}

int shmtool_ls(const shmtool_opts_t *o)
{
    shmtool_list_t list;
    if (shmtool__list(o, &list) < 0) {
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
        return SHMTOOL_EXIT_RUNTIME;
    }
    if (o->json) {
        printf("{\"prefix\":");
        shmtool__json_str(stdout, o->prefix, strlen(o->prefix));
        printf(",\"instance\":");
        shmtool__json_str(stdout, o->instance, strlen(o->instance));
        printf(",\"segments\":[");
        for (size_t i = 0; i < list.n; i++) {
            ls_row_t row;
            ls_read(&list.v[i], &row);
            if (i)
                printf(",");
            ls_json_row(&row);
        }
        printf("]}\n");
    } else if (list.n == 0) {
        printf("no segments /dev/shm/%s.%s.*\n", o->prefix, o->instance);
    } else {
        int ring_w = 4;
        for (size_t i = 0; i < list.n; i++) {
            int l = (int)strlen(list.v[i].ring);
            if (l > ring_w)
                ring_w = l < 40 ? l : 40;
        }
        printf("%-*s  %-9s  %6s  %8s  %12s  %7s  %-13s  %s\n", ring_w, "RING", "KIND", "RECORD",
               "CAPACITY", "HEAD", "WRITER", "STATE", "READERS");
        for (size_t i = 0; i < list.n; i++) {
            ls_row_t row;
            ls_read(&list.v[i], &row);
            ls_text_row(&row, ring_w);
        }
    }
    shmtool__list_free(&list);
    return fflush(stdout) == 0 ? SHMTOOL_EXIT_OK : SHMTOOL_EXIT_RUNTIME;
}

/* ---- info -------------------------------------------------------------------- */

static void print_json_u64_or_null(const char *key, uint64_t v, bool have)
{
    if (have)
        printf(",\"%s\":%llu", key, (unsigned long long)v);
    else
        printf(",\"%s\":null", key);
}

static void info_json(const shmtool_opts_t *o, const shmtool_snap_t *s, uint64_t now)
{
    const shm_decoder_t *d = shm_decoder_find(s->record_type);
    printf("{\"name\":");
    shmtool__json_str(stdout, o->ring, strlen(o->ring));
    printf(",\"segment\":");
    shmtool__json_str(stdout, o->segment, sizeof o->segment);
    printf(",\"kind\":\"%s\",\"head\":%llu,\"capacity\":%u,\"record_size\":%u,\"payload_size\":%u,"
           "\"record_type\":%u,\"record_type_name\":",
           shmtool__kind_name(s->kind), (unsigned long long)s->head, s->capacity, s->record_size,
           s->record_size - SHM_SEQ_BYTES, s->record_type);
    if (d)
        shmtool__json_str(stdout, d->name, strlen(d->name));
    else
        printf("null");
    printf(",\"writer_pid\":%u,\"writer_alive\":%s,\"writer_state\":\"%s\",\"writer_generation\":%u",
           s->writer_pid, s->writer_alive ? "true" : "false",
           shmtool__writer_state(s->writer_pid, s->writer_alive), s->writer_generation);
    print_json_u64_or_null("writer_attached_ns", s->writer_attached_ns, s->writer_attached_ns != 0);
    print_json_u64_or_null("heartbeat_ns", s->heartbeat_ns, s->heartbeat_ns != 0);
    print_json_u64_or_null("heartbeat_age_ns", shmtool__age_ns(s->heartbeat_ns, now),
                           s->heartbeat_ns != 0);
    printf(",\"created_ns\":%llu,\"retired\":%s,\"readers\":[", (unsigned long long)s->created_ns,
           s->retired ? "true" : "false");
    for (int i = 0; i < s->nreaders; i++) {
        const shmtool_reader_t *r = &s->readers[i];
        printf("%s{\"slot\":%d,\"name\":", i ? "," : "", r->slot);
        shmtool__json_str(stdout, r->name, sizeof r->name);
        printf(",\"pid\":%u,\"alive\":%s,\"state\":\"%s\",\"position\":%llu,\"lag\":%lld,"
               "\"drops\":%llu",
               r->pid, r->alive ? "true" : "false", shmtool__reader_state(r->pid, r->alive),
               (unsigned long long)r->position, (long long)(s->head - r->position),
               (unsigned long long)r->drops);
        print_json_u64_or_null("attached_ns", r->attached_ns, r->attached_ns != 0);
        print_json_u64_or_null("last_active_ns", r->last_active_ns, r->last_active_ns != 0);
        print_json_u64_or_null("last_active_age_ns", shmtool__age_ns(r->last_active_ns, now),
                               r->last_active_ns != 0);
        printf("}");
    }
    printf("]}\n");
}

static void info_text(const shmtool_opts_t *o, const shmtool_snap_t *s, uint64_t now)
{
    const shm_decoder_t *d = shm_decoder_find(s->record_type);
    char ring[SHM_NAME_MAX], age[32], when[64];
    shmtool__printable(ring, sizeof ring, o->ring, strlen(o->ring));
    printf("ring         %s\n", ring);
    printf("segment      %s\n", o->segment);
    printf("kind         %s\n", shmtool__kind_name(s->kind));
    printf("record       %u bytes (%u payload), type %u (%s)\n", s->record_size,
           s->record_size - SHM_SEQ_BYTES, s->record_type, d ? d->name : "no decoder");
    printf("capacity     %u records\n", s->capacity);
    printf("head         %llu\n", (unsigned long long)s->head);
    shmtool__fmt_age(age, sizeof age, s->writer_attached_ns, now);
    printf("writer       pid %u, %s, generation %u, attached %s%s\n", s->writer_pid,
           shmtool__writer_state(s->writer_pid, s->writer_alive), s->writer_generation, age,
           s->writer_attached_ns ? " ago" : "");
    shmtool__fmt_age(age, sizeof age, s->heartbeat_ns, now);
    printf("heartbeat    %s%s\n", age, s->heartbeat_ns ? " ago" : "");
    time_t t = (time_t)(s->created_ns / 1000000000u);
    struct tm tm;
    if (s->created_ns && localtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %z", &tm);
    else
        snprintf(when, sizeof when, "unknown");
    shmtool__fmt_age(age, sizeof age, s->created_ns, now);
    printf("created      %s (%s ago)\n", when, age);
    if (s->retired)
        printf("retired      yes: a new segment replaced this one\n");
    printf("readers      %d used of %d slots, %d alive\n", s->nreaders, SHM_MAX_READERS,
           s->nreaders_alive);
    if (s->nreaders == 0)
        return;
    printf("  %4s  %-24s  %8s  %-8s  %12s  %10s  %10s  %s\n", "SLOT", "NAME", "PID", "STATE",
           "POSITION", "LAG", "DROPS", "LAST ACTIVE");
    for (int i = 0; i < s->nreaders; i++) {
        const shmtool_reader_t *r = &s->readers[i];
        char name[SHM_READER_NAME_MAX + 1];
        shmtool__printable(name, sizeof name, r->name, sizeof r->name);
        shmtool__fmt_age(age, sizeof age, r->last_active_ns, now);
        printf("  %4d  %-24s  %8u  %-8s  %12llu  %10lld  %10llu  %s%s\n", r->slot, name, r->pid,
               shmtool__reader_state(r->pid, r->alive), (unsigned long long)r->position,
               (long long)(s->head - r->position), (unsigned long long)r->drops, age,
               r->last_active_ns ? " ago" : "");
    }
}

int shmtool_info(const shmtool_opts_t *o)
{
    shm_segment_t seg;
    shmtool__reading(o->segment);
    if (shmtool__open_ring(o, &seg) != SHMTOOL_EXIT_OK)
        return SHMTOOL_EXIT_RUNTIME;
    shmtool_snap_t snap;
    shmtool__snapshot(&seg, &snap);
    if (snap.geometry_changed) {
        char what[200];
        shmtool__describe_change(&seg, what, sizeof what);
        fprintf(stderr, "shmtool: segment %s: %s: it is corrupt, or a peer is rewriting it\n", o->segment, what);
        shm_segment_unmap(&seg);
        shmtool__reading(NULL);
        return SHMTOOL_EXIT_RUNTIME;
    }
    shm_segment_unmap(&seg);
    shmtool__reading(NULL);
    uint64_t now = (uint64_t)clock_real_ns();
    if (o->json)
        info_json(o, &snap, now);
    else
        info_text(o, &snap, now);
    return fflush(stdout) == 0 ? SHMTOOL_EXIT_OK : SHMTOOL_EXIT_RUNTIME;
}
