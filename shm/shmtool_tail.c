/* shmtool_tail.c -- `shmtool tail`: the last records of a ring, decoded, and
 * with -f the new ones as they arrive; and `shmtool record`, which follows
 * ring `in` and writes its quotes as a replay file. Reads with shm_peek on a
 * read-only mapping, so it never consumes and never holds back an SPSC writer. */
#include "shm/shmtool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/records.h"
#include "shm/atomic.h"
#include "shm/ring.h"
#include "shm/shmtool_decode.h"

/* How often -f looks for new records: fast enough to feel live, far too slow
 * to cost the engine anything (no reader slot, no futex). */
#define FOLLOW_POLL_S 0.02

typedef struct {
    shm_segment_t seg;
    shmtool_snap_t snap;
    shm_decode_fn decode;
    unsigned char *payload;
    size_t payload_size;
    char *text;
    size_t text_size;
    uint64_t next; /* next position to print */
    FILE *record;     /* record: the replay file being written, else NULL */
    uint64_t record_max, recorded, skipped_other;
} tail_t;

static uint64_t head_of(const tail_t *t)
{
    /* Pairs with the writer's release store of prod_seq: every record below
     * the head we read is published (or already overwritten, which shm_peek tells). */
    return shm__load_acquire(&t->seg.hdr->prod_seq);
}

static void report_skip(const tail_t *t, uint64_t from, uint64_t to, const char *why)
{
    fprintf(t->record ? stderr : stdout, "-- skipped %llu records (%llu..%llu) %s; continuing at %llu\n",
           (unsigned long long)(to - from), (unsigned long long)from,
           (unsigned long long)(to - 1), why, (unsigned long long)to);
}

/* record: one quote of `in` as one JSON line of the replay file; fills and
 * positions are not market data and are only counted. */
static void record_one(tail_t *t)
{
    se_in_rec_t rec;
    memcpy(&rec, t->payload, sizeof rec);
    if (rec.kind != SE_IN_QUOTE) {
        t->skipped_other++;
        return;
    }
    if (se_in_to_json(&rec, t->text, t->text_size) > 0) {
        fprintf(t->record, "%s\n", t->text);
        t->recorded++;
    }
}

/* Prints records from t->next up to (not including) until. Buffers and
 * indexes come from the geometry validated at map time (t->seg), so a peer
 * rewriting the header cannot make us copy out of bounds; it only makes us
 * stop. Returns 0, or -1 when the live header no longer says that geometry
 * (the segment is being corrupted). */
static int print_until(tail_t *t, uint64_t until)
{
    while (t->next < until) {
        if (!shmtool__same_geometry(&t->seg))
            return -1;
        shm_status_t st = shm_peek(&t->seg, t->next, t->payload);
        if (st == SHM_EMPTY)
            return 0; /* not published yet: look again on the next poll */
        if (st == SHM_LAPPED) {
            /* Overwritten between reading the head and copying it: the
             * writer is more than a ring ahead. Continue at its head. */
            uint64_t head = head_of(t);
            uint64_t to = head > t->next ? head : t->next + 1;
            report_skip(t, t->next, to, "overwritten before they could be read");
            t->next = to;
            return 0;
        }
        if (t->record)
            record_one(t);
        else {
            int rc = t->decode(t->payload, t->payload_size, t->text, t->text_size);
            printf("%llu %s%s\n", (unsigned long long)t->next, rc < 0 ? "undecodable: " : "", t->text);
        }
        t->next++;
        if (t->record_max && t->recorded >= t->record_max)
            return 0;
    }
    return 0;
}

/* Says why we stop reading a segment whose header a peer rewrites. */
static void geometry_changed(const tail_t *t)
{
    char what[200];
    shmtool__describe_change(&t->seg, what, sizeof what);
    fflush(stdout);
    fprintf(stderr, "shmtool: segment %s: %s; stopping (it is corrupt, or a peer is rewriting it)\n",
            t->seg.name, what);
}

/* The segment's inode, or 0 when the name no longer exists. */
static ino_t inode_of(const char *name)
{
    char path[SHM_NAME_MAX + 16];
    struct stat st;
    snprintf(path, sizeof path, "/dev/shm%s", name);
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

static int follow(tail_t *t, const shmtool_opts_t *o)
{
    ino_t ino = inode_of(o->segment);
    while (!shmtool__stop) {
        bool retired = shm__load_acquire(&t->seg.hdr->retired) != 0;
        uint64_t head = head_of(t);
        if (head - t->next > t->seg.capacity && head > t->next) {
            report_skip(t, t->next, head, "fell more than a ring behind");
            t->next = head;
        }
        if (print_until(t, head) < 0)
            return -1;
        fflush(t->record ? t->record : stdout);
        if (t->record_max && t->recorded >= t->record_max)
            return 0;
        /* Checked after printing, so the records written before the writer
         * retired or removed the segment are shown. */
        if (retired) {
            fprintf(stderr, "shmtool: segment %s was retired by its writer (removed or replaced); stopping\n",
                    o->segment);
            return 0;
        }
        ino_t now = inode_of(o->segment);
        if (now != ino) {
            fprintf(stderr, "shmtool: segment %s was %s; stopping\n", o->segment,
                    now ? "replaced" : "removed");
            return 0;
        }
        shmtool__sleep(FOLLOW_POLL_S);
    }
    return 0;
}

int shmtool_tail(const shmtool_opts_t *o)
{
    tail_t t;
    memset(&t, 0, sizeof t);
    /* Before any output, so a script that has seen a line can stop us cleanly. */
    if (o->follow)
        shmtool__catch_stop_signals();
    shmtool__reading(o->segment);
    if (shmtool__open_ring(o, &t.seg) != SHMTOOL_EXIT_OK)
        return SHMTOOL_EXIT_RUNTIME;
    shmtool__snapshot(&t.seg, &t.snap);

    const shm_decoder_t *d = shm_decoder_find(t.snap.record_type);
    t.decode = d ? d->fn : shm_decode_raw;
    if (!d)
        fprintf(stderr, "shmtool: no decoder for record type %u of %s; showing raw hex\n",
                t.snap.record_type, o->segment);
    t.payload_size = shm_payload_size(t.seg.record_size);
    t.text_size = 2 * t.payload_size + 64;
    t.payload = malloc(t.payload_size);
    t.text = malloc(t.text_size);
    int rc = SHMTOOL_EXIT_OK;
    if (!t.payload || !t.text) {
        fprintf(stderr, "shmtool: out of memory for records of %u bytes\n", t.seg.record_size);
        rc = SHMTOOL_EXIT_RUNTIME;
        goto out;
    }

    uint64_t head = head_of(&t);
    uint64_t want = o->count < 0 ? 10 : (uint64_t)o->count;
    uint64_t held = head < t.seg.capacity ? head : t.seg.capacity;
    t.next = head - (want < held ? want : held);
    int st = print_until(&t, head);
    if (st == 0 && o->follow)
        st = follow(&t, o);
    if (st < 0) {
        geometry_changed(&t);
        rc = SHMTOOL_EXIT_RUNTIME;
    }
    if (fflush(stdout) != 0)
        rc = SHMTOOL_EXIT_RUNTIME;
out:
    free(t.payload);
    free(t.text);
    shm_segment_unmap(&t.seg);
    shmtool__reading(NULL);
    return rc;
}

int shmtool_record(const shmtool_opts_t *o)
{
    tail_t t;
    memset(&t, 0, sizeof t);
    shmtool__catch_stop_signals();
    shmtool__reading(o->segment);
    if (shmtool__open_ring(o, &t.seg) != SHMTOOL_EXIT_OK)
        return SHMTOOL_EXIT_RUNTIME;
    shmtool__snapshot(&t.seg, &t.snap);
    int rc = SHMTOOL_EXIT_RUNTIME;
    if (t.snap.record_type != SE_RECTYPE_IN || shm_payload_size(t.seg.record_size) < sizeof(se_in_rec_t)) {
        fprintf(stderr, "shmtool: %s holds record type %u, not the in ring's market data\n",
                o->segment, t.snap.record_type);
        goto out;
    }
    t.record = fopen(o->file, "w");
    if (!t.record) {
        fprintf(stderr, "shmtool: cannot write %s: %s\n", o->file, strerror(errno));
        goto out;
    }
    t.payload_size = shm_payload_size(t.seg.record_size);
    t.text_size = 1024;
    t.payload = malloc(t.payload_size);
    t.text = malloc(t.text_size);
    t.record_max = o->count > 0 ? (uint64_t)o->count : 0;
    if (!t.payload || !t.text) {
        fprintf(stderr, "shmtool: out of memory\n");
        goto out;
    }
    t.next = head_of(&t); /* what passes from now on */
    if (follow(&t, o) < 0)
        geometry_changed(&t);
    else
        rc = SHMTOOL_EXIT_OK;
    fprintf(stderr, "shmtool: recorded %llu quotes to %s (%llu fills/positions not recorded)\n",
            (unsigned long long)t.recorded, o->file, (unsigned long long)t.skipped_other);
out:
    if (t.record && fclose(t.record) != 0)
        rc = SHMTOOL_EXIT_RUNTIME;
    free(t.payload);
    free(t.text);
    shm_segment_unmap(&t.seg);
    shmtool__reading(NULL);
    return rc;
}
