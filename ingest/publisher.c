/* publisher.c -- see publisher.h. */
#include "ingest/publisher.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "common/service.h"

int publisher_open(publisher_t *p, const cfg_t *cfg, const shm_settings_t *set)
{
    memset(p, 0, sizeof *p);
    uint32_t cap;
    int rc = shm_settings_capacity(cfg, "ingest.ringCapacity", INGEST_DEFAULT_RING_CAPACITY, 1024,
                                   SHM_CAPACITY_MAX, &cap);
    if (rc < 0)
        return rc;
    char name[SHM_NAME_MAX];
    if ((rc = shm_settings_ring_name(set, SE_RING_IN, name, sizeof name)) < 0)
        return rc;
    shm_ring_spec_t spec = SE_SPEC_IN(cap);
    if ((rc = shm_writer_open(&p->in, name, &spec, &set->perm)) < 0)
        return rc;
    if ((rc = stats_open(&p->stats, set, "ingest")) < 0) {
        shm_writer_close(&p->in, false);
        return rc;
    }
    p->received = stats_metric(&p->stats, STATS_COUNTER, "market_data_received_total", NULL);
    for (int r = 1; r < VAL__COUNT; r++) {
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "reason=\"%s\"", val_result_name((val_result_t)r));
        p->dropped[r] = stats_metric(&p->stats, STATS_COUNTER, "market_data_dropped_total", labels);
    }
    p->seq = (uint32_t)p->in.prod_seq; /* a restarted ingest continues the sequence */
    return 0;
}

void publisher_close(publisher_t *p)
{
    publisher_flush(p);
    stats_close(&p->stats, false);
    shm_writer_close(&p->in, false);
}

void publisher_drop(publisher_t *p, val_result_t why, const val_detail_t *detail, const char *where)
{
    if (why > VAL_OK && why < VAL__COUNT && p->dropped[why])
        stats_add(p->dropped[why], 1);
    p->drops_since_log++;
    int64_t now = clock_mono_ns();
    if (now < p->next_drop_log_ns)
        return;
    log_warn("message dropped", LOG_STR("source", where), LOG_STR("reason", val_result_name(why)),
             LOG_STR("detail", detail->text), LOG_UINT("dropped_since_last_log", p->drops_since_log));
    p->drops_since_log = 0;
    p->next_drop_log_ns = now + 1000000000;
}

void publisher_idle(publisher_t *p)
{
    publisher_flush(p);
    int64_t now = clock_mono_ns();
    svc_beat(now); /* the feed loop is alive (watchdog, /health) */
    if (now < p->next_heartbeat_ns)
        return;
    shm_writer_heartbeat(&p->in);
    shm_writer_heartbeat(&p->stats.w);
    p->next_heartbeat_ns = now + 1000000000;
}
