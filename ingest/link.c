/* link.c -- see link.h. */
#include "ingest/link.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"

int link_init(link_t *l, stats_t *stats, const char *feed, uint32_t min_ms, uint32_t max_ms)
{
    memset(l, 0, sizeof *l);
    char labels[STATS_LABELS_MAX];
    snprintf(labels, sizeof labels, "feed=\"%s\"", feed);
    l->feed = feed;
    l->connected = stats_metric(stats, STATS_GAUGE, "feed_connected", labels);
    l->disconnects = stats_metric(stats, STATS_COUNTER, "feed_disconnects_total", labels);
    l->latency = stats_metric(stats, STATS_HISTOGRAM, "feed_latency_microseconds", labels);
    if (!l->connected || !l->disconnects || !l->latency)
        return se_err(-ENOSPC, "stats block of ingest: no room for the %s feed's metrics", feed);
    l->min_ms = min_ms ? min_ms : 1;
    l->max_ms = max_ms < l->min_ms ? l->min_ms : max_ms;
    l->next_ms = l->min_ms;
    stats_set(l->connected, 0);
    return 0;
}

void link_up(link_t *l, const char *where)
{
    l->next_ms = l->min_ms;
    if (l->up)
        return;
    l->up = true;
    stats_set(l->connected, 1);
    log_info("feed connected", LOG_STR("feed", l->feed), LOG_STR("at", where),
             LOG_UINT("failed_attempts", l->attempts));
    l->attempts = 0;
    l->said_down = false;
}

void link_down(link_t *l, const char *why)
{
    if (!l->up)
        return;
    l->up = false;
    stats_set(l->connected, 0);
    stats_add(l->disconnects, 1);
    l->said_down = true;
    log_warn("feed disconnected", LOG_STR("feed", l->feed), LOG_STR("error", why),
             LOG_UINT("retry_in_ms", l->next_ms));
}

void link_stop(link_t *l)
{
    l->up = false;
    stats_set(l->connected, 0);
}

uint32_t link_failed(link_t *l, const char *why)
{
    uint32_t wait = l->next_ms;
    l->attempts++;
    if (!l->said_down) {
        l->said_down = true;
        log_warn("feed not connected; retrying with backoff", LOG_STR("feed", l->feed), LOG_STR("error", why),
                 LOG_UINT("retry_in_ms", wait), LOG_UINT("max_backoff_ms", l->max_ms));
    }
    l->next_ms = l->next_ms > l->max_ms / 2 ? l->max_ms : l->next_ms * 2;
    return wait;
}
