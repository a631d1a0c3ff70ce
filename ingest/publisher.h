/* publisher.h -- ingest's single door into ring `in`: stamps each record with
 * its ingest time and sequence, writes it, and counts what was accepted and
 * what was dropped (by reason) in the ingest stats block. Every feed uses it. */
#ifndef INGEST_PUBLISHER_H
#define INGEST_PUBLISHER_H

#include <stdint.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/records.h"
#include "ingest/validate.h"
#include "shm/ring.h"
#include "shm/settings.h"
#include "shm/stats.h"

#define INGEST_DEFAULT_RING_CAPACITY 65536

typedef struct {
    shm_writer_t in;
    stats_t stats;
    stats_metric_t *received;              /* market_data_received_total */
    stats_metric_t *dropped[VAL__COUNT];   /* market_data_dropped_total{reason} */
    uint32_t seq;
    uint32_t unflushed;                    /* records written since the last wake */
    int64_t next_heartbeat_ns;
    int64_t next_drop_log_ns;              /* drop warnings are rate-limited */
    uint64_t drops_since_log;
} publisher_t;

/* Opens ring `in` (ingest.ringCapacity records, default 65536) and the stats
 * block "ingest". Returns 0 or a negative code with a message. */
int publisher_open(publisher_t *p, const cfg_t *cfg, const shm_settings_t *set);

/* Detaches from ring and stats, leaving both in /dev/shm for readers. */
void publisher_close(publisher_t *p);

/* Publishes one validated record; readers are woken in batches of 64 or by
 * publisher_flush. Never blocks: `in` is a broadcast ring. */
static inline void publisher_put(publisher_t *p, se_in_rec_t *rec)
{
    rec->ts_ingest_ns = clock_real_ns();
    rec->source_seq = ++p->seq;
    shm_writer_write_nowake(&p->in, rec);
    stats_add(p->received, 1);
    if (++p->unflushed >= 64)
        shm_writer_wake(&p->in), p->unflushed = 0;
}

/* Wakes sleeping readers for what was published since the last wake. Call
 * before the feed waits for anything. */
static inline void publisher_flush(publisher_t *p)
{
    if (p->unflushed) {
        shm_writer_wake(&p->in);
        p->unflushed = 0;
    }
}

/* Counts a message the validator refused and logs it, at most once a second
 * (with how many were dropped since). where names the source ("replay
 * file.jsonl:12", "redis md.BTC-USD"). */
void publisher_drop(publisher_t *p, val_result_t why, const val_detail_t *detail, const char *where);

/* Marks the feed loop alive (svc_beat) and, once a second, refreshes the ring
 * and stats heartbeats. Cheap to call often; feeds call it at least every
 * 100 ms (before each wait, which they cap at 100 ms) and every 4096 records. */
void publisher_idle(publisher_t *p);

#endif
