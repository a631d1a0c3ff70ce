/* stats.c -- stats blocks: slot allocation and Prometheus rendering. */
#include "shm/stats.h"

#include <errno.h>
#include <string.h>

#include "common/err.h"

const double stats_bounds_us[STATS_BUCKETS] = { 1, 2, 5, 10, 20, 50, 100, 200, 500,
                                                1000, 2000, 5000, 10000 };

/* HELP lines for the metric names the engine uses (DESIGN.md, "Metric names"). */
static const struct {
    const char *name, *help;
} helps[] = {
    { "market_data_received_total", "Market-data messages accepted into the in ring." },
    { "market_data_dropped_total", "Messages dropped by the validator or the feed, by reason." },
    { "market_data_latency_microseconds", "Time from ingest publishing a record to the strategy reading it." },
    { "strategy_signals_total", "Signals emitted by the strategy." },
    { "strategy_signals_dropped_total", "Signals not written to the signal ring, by reason." },
    { "strategy_errors_total", "Errors returned by the strategy's callbacks." },
    { "strategy_latency_microseconds", "Time spent inside the strategy's on_market_data." },
    { "strategy_custom", "A strategy's own metric (its metrics() callback), by name." },
    { "ring_lapped_total", "Times a reader of a broadcast ring was lapped." },
    { "ring_dropped_records_total", "Records a lapped reader never saw." },
    { "orders_submitted_total", "Orders execd took off ring ord and sent to the venue (or the simulator)." },
    { "orders_rejected_total", "Orders refused: by riskd, per rule; by the venue or simulator (execd); by execd's hard limits, per reason." },
    { "order_latency_microseconds", "Time from execd taking an order to the venue's answer." },
    { "risk_checks_total", "Signals riskd ran the pre-trade checks on." },
    { "risk_violations_total", "Signals that failed a risk rule, per rule." },
    { "active_strategies", "Strategies whose signal ring riskd reads and whose process runs." },
    { "signal_queue_size", "Signals waiting in riskd's prioritised queue." },
    { "plugin_reloads_total", "Times a strategy's plugin was reloaded." },
    { "trading_state", "riskd's trading state: 0 ACTIVE, 1 REDUCING, 2 HALTED." },
    { "trading_stalled", "1 while trading is stalled though not halted, by condition: rejecting, reader_lag, feed_silent." },
    { "trading_stalls_total", "Times trading became stalled, by condition." },
    { "http_port", "The port this process's HTTP endpoints listen on (0: none)." },
    { "supervisor_process_up", "1 while the supervisor sees the process running." },
    { "supervisor_process_failed", "1 when the supervisor gave up restarting the process." },
    { "feed_connected", "1 while ingest is connected to the feed." },
    { "supervisor_process_pid", "The process's pid, 0 when not running." },
    { "supervisor_process_start_time_seconds", "When the process was last started, seconds since the epoch." },
    { "supervisor_process_restarts_total", "Times the supervisor started the process again." },
    { "supervisor_process_managed", "1 while the process is part of the configuration." },
    { "plugin_reload_failures_total", "New strategy versions refused by their check; the old one kept running." },
    { "feed_disconnects_total", "Connections of the live feed lost after being up." },
    { "feed_latency_microseconds", "Time from a live message's own ts to ingest publishing it." },
    { "fills_duplicate_total", "Fills dropped because their fill_id was applied already." },
    { "feed_queue_dropped_total", "Messages dropped because the hand-over queue to ingest's loop was full." },
    { "jetstream_acks_total", "JetStream messages acknowledged after their record reached ring in." },
};

static const char *help_for(const char *name)
{
    for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++)
        if (strcmp(helps[i].name, name) == 0)
            return helps[i].help;
    return NULL;
}

static stats_metric_t *slot(const stats_t *s, int i)
{
    return (stats_metric_t *)((char *)s->slots + (size_t)i * STATS_RECORD_SIZE);
}

int stats_open(stats_t *s, const shm_settings_t *set, const char *process)
{
    memset(s, 0, sizeof *s);
    char ring[80], name[SHM_NAME_MAX];
    snprintf(ring, sizeof ring, "stats.%s", process);
    int rc = shm_settings_ring_name(set, ring, name, sizeof name);
    if (rc < 0)
        return rc;
    shm_ring_spec_t spec = { SHM_KIND_STATS, STATS_RECORD_SIZE, STATS_SLOTS, STATS_RECORD_TYPE };
    if ((rc = shm_writer_open(&s->w, name, &spec, &set->perm)) < 0)
        return rc;
    /* The slot's payload starts after the record's sequence word. */
    s->slots = (stats_metric_t *)((char *)s->w.records + SHM_SEQ_BYTES);
    return 0;
}

void stats_close(stats_t *s, bool unlink)
{
    shm_writer_close(&s->w, unlink);
    s->slots = NULL;
}

stats_metric_t *stats_metric(stats_t *s, stats_type_t type, const char *name, const char *labels)
{
    if (!labels)
        labels = "";
    if (strlen(name) >= STATS_NAME_MAX || strlen(labels) >= STATS_LABELS_MAX)
        return NULL;
    for (int i = 0; i < STATS_SLOTS; i++) {
        stats_metric_t *m = slot(s, i);
        if (m->type == 0) {
            memset(m, 0, sizeof *m);
            strcpy(m->name, name);
            strcpy(m->labels, labels);
            m->type = type;
            /* Readers treat a slot as in use once its record is READY. */
            shm__store_release((_Atomic uint64_t *)((char *)m - SHM_SEQ_BYTES), SHM_SEQ_READY(i));
            return m;
        }
        if (strcmp(m->name, name) == 0 && strcmp(m->labels, labels) == 0)
            return m->type == (uint32_t)type ? m : NULL;
    }
    return NULL;
}

static void print_labels(FILE *out, const char *process, const char *labels, const char *extra)
{
    /* A metric about another process (the supervisor's per-process gauges)
     * names it itself; a label may appear only once. */
    if (strncmp(labels, "process=", 8) == 0) {
        fprintf(out, "{%s%s%s}", labels, extra ? "," : "", extra ? extra : "");
        return;
    }
    fprintf(out, "{process=\"%s\"%s%s%s%s}", process, labels[0] ? "," : "", labels,
            extra ? "," : "", extra ? extra : "");
}

/* Reads slot i into a private copy; false when it is unused or not yet published. */
static bool read_slot(const shm_segment_t *seg, uint32_t i, stats_metric_t *copy)
{
    /* Bounded by the mapping itself, whatever geometry a caller's seg holds. */
    if ((uint64_t)seg->header_size + ((uint64_t)i + 1) * STATS_RECORD_SIZE > seg->size)
        return false;
    const char *rec = (const char *)seg->hdr + seg->header_size + (size_t)i * STATS_RECORD_SIZE;
    /* Pairs with the release store that published the slot. */
    if (shm__load_acquire((_Atomic uint64_t *)rec) != SHM_SEQ_READY(i))
        return false;
    const stats_metric_t *m = (const stats_metric_t *)(rec + SHM_SEQ_BYTES);
    memset(copy, 0, sizeof *copy);
    memcpy(copy->name, m->name, STATS_NAME_MAX - 1);
    memcpy(copy->labels, m->labels, STATS_LABELS_MAX - 1);
    copy->type = m->type;
    copy->value = shm__load_relaxed((_Atomic uint64_t *)&m->value);
    copy->count = shm__load_relaxed((_Atomic uint64_t *)&m->count);
    copy->sum_ns = shm__load_relaxed((_Atomic uint64_t *)&m->sum_ns);
    for (int b = 0; b < STATS_BUCKETS; b++)
        copy->buckets[b] = shm__load_relaxed((_Atomic uint64_t *)&m->buckets[b]);
    return copy->type >= STATS_COUNTER && copy->type <= STATS_HISTOGRAM;
}

int stats_map(const shm_settings_t *set, const char *process, shm_segment_t *seg)
{
    char ring[80], name[SHM_NAME_MAX];
    snprintf(ring, sizeof ring, "stats.%s", process);
    int rc = shm_settings_ring_name(set, ring, name, sizeof name);
    if (rc < 0)
        return rc;
    if ((rc = shm_segment_map(seg, name, false)) < 0)
        return rc;
    if (!shm_segment_geometry_ok(seg)) {
        shm_segment_unmap(seg);
        return se_err(SE_ECORRUPT, "%s: header changed while it was being mapped", name);
    }
    if (seg->kind != SHM_KIND_STATS || seg->record_size != STATS_RECORD_SIZE) {
        shm_segment_unmap(seg);
        return se_err(SE_ELAYOUT, "%s is not a stats block", name);
    }
    return 0;
}

int stats_find(const shm_segment_t *seg, const char *name, const char *labels, stats_metric_t *out)
{
    if (!labels)
        labels = "";
    for (uint32_t i = 0; i < seg->capacity; i++)
        if (read_slot(seg, i, out) && strcmp(out->name, name) == 0 && strcmp(out->labels, labels) == 0)
            return 0;
    return -ENOENT;
}

void stats_foreach(const shm_segment_t *seg, const char *name,
                   void (*fn)(const stats_metric_t *m, void *arg), void *arg)
{
    stats_metric_t m;
    for (uint32_t i = 0; i < seg->capacity; i++)
        if (read_slot(seg, i, &m) && (!name || strcmp(m.name, name) == 0))
            fn(&m, arg);
}

int stats_label(const char *labels, const char *key, char *out, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = labels; p && *p;) {
        const char *eq = strchr(p, '=');
        if (!eq || eq[1] != '"')
            return -ENOENT;
        const char *end = strchr(eq + 2, '"');
        if (!end)
            return -ENOENT;
        if ((size_t)(eq - p) == klen && memcmp(p, key, klen) == 0) {
            size_t n = (size_t)(end - (eq + 2));
            if (n >= size)
                return -ENOENT;
            memcpy(out, eq + 2, n);
            out[n] = '\0';
            return 0;
        }
        p = end[1] == ',' ? end + 2 : end + 1;
    }
    return -ENOENT;
}

static void render_sample(FILE *out, const char *process, const stats_metric_t *m)
{
    if (m->type == STATS_COUNTER) {
        fprintf(out, "%s", m->name);
        print_labels(out, process, m->labels, NULL);
        fprintf(out, " %llu\n", (unsigned long long)m->value);
        return;
    }
    if (m->type == STATS_GAUGE) {
        fprintf(out, "%s", m->name);
        print_labels(out, process, m->labels, NULL);
        fprintf(out, " %.17g\n", stats_gauge_value(m));
        return;
    }
    uint64_t cum = 0;
    for (int b = 0; b < STATS_BUCKETS; b++) {
        char le[32];
        cum += m->buckets[b];
        snprintf(le, sizeof le, "le=\"%g\"", stats_bounds_us[b]);
        fprintf(out, "%s_bucket", m->name);
        print_labels(out, process, m->labels, le);
        fprintf(out, " %llu\n", (unsigned long long)cum);
    }
    /* Read while the writer runs, count may lag its buckets: keep +Inf >= every bucket. */
    uint64_t count = m->count > cum ? m->count : cum;
    fprintf(out, "%s_bucket", m->name);
    print_labels(out, process, m->labels, "le=\"+Inf\"");
    fprintf(out, " %llu\n%s_sum", (unsigned long long)count, m->name);
    print_labels(out, process, m->labels, NULL);
    fprintf(out, " %.3f\n%s_count", (double)m->sum_ns / 1000.0, m->name);
    print_labels(out, process, m->labels, NULL);
    fprintf(out, " %llu\n", (unsigned long long)count);
}

int stats_render_prometheus(const shm_segment_t *seg, const char *process, FILE *out)
{
    if (seg->kind != SHM_KIND_STATS || seg->record_size != STATS_RECORD_SIZE)
        return se_err(-EINVAL, "%s is not a stats block", seg->name);
    /* Prometheus wants each family's samples together: for each family, in
     * order of first appearance, print its HELP and TYPE and then all its slots. */
    stats_metric_t first, m;
    for (uint32_t i = 0; i < seg->capacity; i++) {
        if (!read_slot(seg, i, &first))
            continue;
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++)
            seen = read_slot(seg, j, &m) && strcmp(m.name, first.name) == 0;
        if (seen)
            continue;
        const char *help = help_for(first.name);
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", first.name, help ? help : "Engine metric.",
                first.name, first.type == STATS_COUNTER ? "counter"
                            : first.type == STATS_GAUGE ? "gauge" : "histogram");
        for (uint32_t j = i; j < seg->capacity; j++)
            if (read_slot(seg, j, &m) && strcmp(m.name, first.name) == 0 && m.type == first.type)
                render_sample(out, process, &m);
    }
    return ferror(out) ? -EIO : 0;
}
