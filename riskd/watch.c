/* watch.c -- see watch.h. Cold path only: called once a second by riskd's
 * runner, and by the HTTP threads for what it published. */
#include "riskd/watch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"
#include "shm/segment.h"

#define NS 1000000000LL

static const char *const cond_names[RISKD_STALL_COUNT] = { "rejecting", "reader_lag", "feed_silent" };

const char *riskd_stall_name(riskd_stall_t s)
{
    return s < RISKD_STALL_COUNT ? cond_names[s] : "unknown";
}

int riskd_watch_load(const cfg_t *cfg, riskd_watch_config_t *c)
{
    int64_t stall = RISKD_STALL_SECONDS, min = RISKD_STALL_MIN_SIGNALS, lag = RISKD_LAG_RECORDS,
            lag_s = RISKD_LAG_SECONDS, silence = RISKD_FEED_SILENCE_SECONDS;
    const char *feed = "synthetic";
    int rc;
    memset(c, 0, sizeof *c);
    if (cfg && ((rc = cfg_get_int_range(cfg, "riskd.stallSeconds", stall, 0, RISKD_STALL_SECONDS_MAX, &stall)) < 0 ||
                (rc = cfg_get_int_range(cfg, "riskd.stallMinSignals", min, 1, 1000000000, &min)) < 0 ||
                (rc = cfg_get_int_range(cfg, "riskd.lagRecords", lag, 0, 1 << 24, &lag)) < 0 ||
                (rc = cfg_get_int_range(cfg, "riskd.lagSeconds", lag_s, 0, 86400, &lag_s)) < 0 ||
                (rc = cfg_get_int_range(cfg, "riskd.feedSilenceSeconds", silence, 0, 86400, &silence)) < 0 ||
                (rc = cfg_get_string(cfg, "ingest.feed", feed, &feed)) < 0))
        return rc;
    c->stall_ns = stall * NS;
    c->stall_min = (uint64_t)min;
    c->lag_records = (uint64_t)lag;
    c->lag_ns = lag_s * NS;
    c->silence_ns = silence * NS;
    snprintf(c->feed, sizeof c->feed, "%s", feed);
    return 0;
}

int riskd_watch_init(riskd_watch_t *w, const riskd_watch_config_t *c, stats_t *stats, int64_t now_mono,
                     int64_t now_real)
{
    memset(w, 0, sizeof *w);
    w->c = *c;
    w->start_mono = w->last_tick = now_mono;
    w->start_real = now_real;
    w->streak_rule = -1;
    /* One entry a second at most, so stallSeconds + 2 entries span the window. */
    w->hist_cap = (uint32_t)(c->stall_ns / NS) + 2;
    w->hist = calloc(w->hist_cap, sizeof *w->hist);
    if (!w->hist)
        return se_err(-ENOMEM, "riskd: out of memory for the stall watch");
    for (int i = 0; stats && i < RISKD_STALL_COUNT; i++) {
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "reason=\"%s\"", cond_names[i]);
        w->gauge[i] = stats_metric(stats, STATS_GAUGE, "trading_stalled", labels);
        w->count[i] = stats_metric(stats, STATS_COUNTER, "trading_stalls_total", labels);
    }
    pthread_mutex_init(&w->mu, NULL);
    /* Release: an HTTP thread that sees ready (acquire) sees the mutex made. */
    atomic_store_explicit(&w->ready, true, memory_order_release);
    return 0;
}

void riskd_watch_fini(riskd_watch_t *w)
{
    if (atomic_load_explicit(&w->ready, memory_order_relaxed)) {
        atomic_store_explicit(&w->ready, false, memory_order_relaxed);
        pthread_mutex_destroy(&w->mu);
    }
    free(w->hist);
    w->hist = NULL;
}

static void add_text(riskd_watch_t *w, riskd_stall_t c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void add_text(riskd_watch_t *w, riskd_stall_t c, const char *fmt, ...)
{
    if (w->n[c] >= RISKD_WATCH_PER_COND)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->text[c][w->n[c]++], SVC_REASON_LEN, fmt, ap);
    va_end(ap);
}

/* ---- rejecting ---------------------------------------------------------------- */

/* Signals decided at or before t (the oldest entry when the history is younger). */
static uint64_t decided_at(const riskd_watch_t *w, int64_t t)
{
    uint64_t found = w->hist_n ? w->hist[(w->hist_head + w->hist_cap - w->hist_n) % w->hist_cap].decided : 0;
    for (uint32_t k = 0; k < w->hist_n; k++) {
        const riskd__decided_t *e = &w->hist[(w->hist_head + w->hist_cap - w->hist_n + k) % w->hist_cap];
        if (e->t > t)
            break;
        found = e->decided;
    }
    return found;
}

static bool state_rule(const char *name)
{
    return strcmp(name, "kill_switch") == 0 || strcmp(name, "halted") == 0;
}

void riskd_watch_signals(riskd_watch_t *w, int64_t now, uint64_t approved, const uint64_t *rejected,
                         const char *const *names, int n)
{
    w->n[RISKD_STALL_REJECTING] = 0;
    if (n > RISKD_WATCH_RULES_MAX)
        n = RISKD_WATCH_RULES_MAX;
    if (!w->primed) { /* totals before the watch started say nothing about now */
        w->primed = true;
        w->approved = approved;
        memcpy(w->rejected, rejected, (size_t)n * sizeof *rejected);
        w->last_tick = now;
    }
    /* Counters only grow; unsigned differences stay right if one wraps. */
    uint64_t da = approved - w->approved, dr = 0;
    int hit = -1, hits = 0;
    for (int i = 0; i < n; i++) {
        uint64_t d = rejected[i] - w->rejected[i];
        if (d) {
            hits++;
            hit = i;
            dr += d;
        }
        w->rejected[i] = rejected[i];
    }
    w->approved = approved;
    w->decided += da + dr;
    if (da || hits > 1)
        w->streak_rule = -1;
    else if (hits == 1 && w->streak_rule != hit) {
        /* The refusals began somewhere since the previous tick: count from it. */
        w->streak_rule = hit;
        w->streak_ns = w->last_tick;
    }
    w->last_tick = now;
    if (!w->hist_n || now - w->hist[(w->hist_head + w->hist_cap - 1) % w->hist_cap].t >= NS) {
        w->hist[w->hist_head] = (riskd__decided_t){ now, w->decided };
        w->hist_head = (w->hist_head + 1) % w->hist_cap;
        if (w->hist_n < w->hist_cap)
            w->hist_n++;
    }
    if (!w->c.stall_ns || w->streak_rule < 0 || state_rule(names[w->streak_rule]) ||
        now - w->streak_ns < w->c.stall_ns)
        return;
    uint64_t in_window = w->decided - decided_at(w, now - w->c.stall_ns);
    if (in_window < w->c.stall_min) /* a quiet market, not a stall */
        return;
    add_text(w, RISKD_STALL_REJECTING,
             "trading stalled (rejecting): every signal for %llds refused by rule %s "
             "(%llu in the last %llds, none approved)",
             (long long)((now - w->streak_ns) / NS), names[w->streak_rule], (unsigned long long)in_window,
             (long long)(w->c.stall_ns / NS));
}

/* ---- reader_lag --------------------------------------------------------------- */

static int ring_index(riskd_watch_t *w, const char *ring)
{
    int free_at = -1;
    for (int i = 0; i < RISKD_WATCH_RINGS_MAX; i++) {
        if (strcmp(w->seen_ring[i], ring) == 0)
            return i;
        if (free_at < 0 && !w->seen_ring[i][0])
            free_at = i;
    }
    if (free_at >= 0)
        snprintf(w->seen_ring[free_at], sizeof w->seen_ring[free_at], "%s", ring);
    return free_at;
}

static void watch_ring(riskd_watch_t *w, const shm_settings_t *set, const char *ring, int64_t now)
{
    char name[SHM_NAME_MAX];
    shm_segment_t seg;
    int at = ring_index(w, ring);
    if (at < 0 || shm_settings_ring_name(set, ring, name, sizeof name) < 0 || shm_segment_map(&seg, name, false) < 0)
        return;
    if (!seg.reg) {
        shm_segment_unmap(&seg);
        return;
    }
    uint64_t limit = w->c.lag_records;
    if (limit > seg.capacity / 2)
        limit = seg.capacity / 2; /* half a ring: one burst from lapped (broadcast) or blocking its writer (SPSC) */
    for (int i = 0; i < SHM_MAX_READERS; i++) {
        riskd__reader_seen_t *s = &w->seen[at][i];
        shm_reader_slot_t *slot = &seg.reg->readers[i];
        /* Pairs with the claimer's compare-and-swap of the owner word. */
        uint64_t owner = shm__load_acquire(&slot->owner);
        if (!owner || !shm_segment_reader_alive(&seg, i)) {
            memset(s, 0, sizeof *s);
            continue;
        }
        /* Position before head (pairs with the reader's release store, then the
         * writer's): a position never passes the head read after it. */
        uint64_t pos = shm__load_acquire(&slot->position);
        int64_t active = (int64_t)shm__load_relaxed(&slot->last_active_ns);
        uint64_t head = shm__load_acquire(&seg.hdr->prod_seq);
        uint64_t behind = head > pos ? head - pos : 0;
        if (s->owner != owner || s->pos != pos) { /* another reader, or this one moved */
            s->owner = owner;
            s->pos = pos;
            s->unread_ns = 0;
        }
        if (!behind)
            s->unread_ns = 0;
        else if (!s->unread_ns)
            s->unread_ns = now;
        /* Its own stamp may be newer than the watch's once-a-second look. */
        int64_t quiet_since = active > s->unread_ns ? active : s->unread_ns;
        bool by_records = limit && behind > limit;
        bool by_time = w->c.lag_ns && behind > 0 && now - quiet_since > w->c.lag_ns;
        if (!by_records && !by_time) {
            s->behind_since_ns = 0;
            continue;
        }
        if (!s->behind_since_ns)
            s->behind_since_ns = by_time ? quiet_since : now;
        char reader[SHM_READER_NAME_MAX + 1];
        memcpy(reader, slot->name, SHM_READER_NAME_MAX);
        reader[SHM_READER_NAME_MAX] = '\0';
        if (by_records)
            add_text(w, RISKD_STALL_READER_LAG,
                     "trading stalled (reader_lag): reader %s of ring %s is %llu records behind (limit %llu) for %llds",
                     reader[0] ? reader : "?", ring, (unsigned long long)behind, (unsigned long long)limit,
                     (long long)((now - s->behind_since_ns) / NS));
        else
            add_text(w, RISKD_STALL_READER_LAG,
                     "trading stalled (reader_lag): reader %s of ring %s has left %llu records unread for %llds",
                     reader[0] ? reader : "?", ring, (unsigned long long)behind,
                     (long long)((now - quiet_since) / NS));
    }
    shm_segment_unmap(&seg);
}

void riskd_watch_rings(riskd_watch_t *w, const shm_settings_t *set, const char *const *rings, int n, int64_t now)
{
    w->n[RISKD_STALL_READER_LAG] = 0;
    if (!w->c.lag_records && !w->c.lag_ns)
        return;
    for (int i = 0; i < n && i < RISKD_WATCH_RINGS_MAX; i++)
        watch_ring(w, set, rings[i], now);
}

/* ---- feed_silent -------------------------------------------------------------- */

void riskd_watch_market(riskd_watch_t *w, int64_t last_md, int64_t now)
{
    w->n[RISKD_STALL_FEED_SILENT] = 0;
    if (!w->c.silence_ns)
        return;
    int64_t since = last_md > w->start_real ? last_md : w->start_real;
    if (now - since <= w->c.silence_ns)
        return;
    add_text(w, RISKD_STALL_FEED_SILENT,
             "trading stalled (feed_silent): no market data from feed %s on ring in for %llds (limit %llds)",
             w->c.feed, (long long)((now - since) / NS), (long long)(w->c.silence_ns / NS));
}

/* ---- publishing --------------------------------------------------------------- */

void riskd_watch_publish(riskd_watch_t *w, int64_t now)
{
    for (int c = 0; c < RISKD_STALL_COUNT; c++) {
        bool is = w->n[c] > 0;
        if (is && !w->was[c]) {
            w->since_mono[c] = now;
            if (w->count[c])
                stats_add(w->count[c], 1);
            log_warn("trading stalled", LOG_STR("condition", cond_names[c]), LOG_STR("reason", w->text[c][0]));
        } else if (!is && w->was[c]) {
            log_info("trading no longer stalled", LOG_STR("condition", cond_names[c]),
                     LOG_INT("lasted_s", (now - w->since_mono[c]) / NS));
        }
        w->was[c] = is;
        if (w->gauge[c])
            stats_set(w->gauge[c], is ? 1 : 0);
    }
    pthread_mutex_lock(&w->mu);
    w->pub_n = 0;
    for (int c = 0; c < RISKD_STALL_COUNT; c++)
        for (int k = 0; k < w->n[c]; k++) {
            w->pub_cond[w->pub_n] = (riskd_stall_t)c;
            memcpy(w->pub[w->pub_n++], w->text[c][k], SVC_REASON_LEN);
        }
    pthread_mutex_unlock(&w->mu);
}

int riskd_watch_each(riskd_watch_t *w, void (*fn)(const char *cond, const char *reason, void *arg), void *arg)
{
    /* Pairs with the release store in riskd_watch_init. */
    if (!atomic_load_explicit(&w->ready, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&w->mu);
    int n = w->pub_n;
    for (int i = 0; i < n; i++)
        fn(cond_names[w->pub_cond[i]], w->pub[i], arg);
    pthread_mutex_unlock(&w->mu);
    return n;
}

static void add_reason(const char *cond, const char *reason, void *arg)
{
    (void)cond;
    svc_reason(arg, "%s", reason);
}

void riskd_watch_health(riskd_watch_t *w, svc_reasons_t *why)
{
    riskd_watch_each(w, add_reason, why);
}
