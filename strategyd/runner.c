/* runner.c -- see runner.h. */
#include "strategyd/runner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

static int find_index(const cfg_t *cfg, const char *name, uint32_t *index)
{
    const char **enabled;
    int n, rc = cfg_get_string_list(cfg, "strategies.enabled", &enabled, &n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++)
        if (strcmp(enabled[i], name) == 0) {
            *index = (uint32_t)i;
            return 0;
        }
    return cfg_value_error(cfg, "strategies.enabled", "strategy '%s' is not enabled here", name);
}

/* engine.mode, overridden by strategies.configs.<name>.mode. */
static int read_mode(const cfg_t *cfg, const host_t *h, bool *observe)
{
    const char *mode;
    char key[160];
    int rc = cfg_get_string(cfg, "engine.mode", "simulation", &mode);
    if (rc < 0)
        return rc;
    snprintf(key, sizeof key, "%smode", h->group);
    const char *own;
    if ((rc = cfg_get_string(cfg, key, mode, &own)) < 0)
        return rc;
    if (strcmp(own, "live") && strcmp(own, "simulation") && strcmp(own, "observation"))
        return cfg_value_error(cfg, own == mode ? "engine.mode" : key,
                               "mode '%s' is not live, simulation or observation", own);
    *observe = strcmp(own, "observation") == 0;
    return 0;
}

static int open_stats(runner_t *r, const shm_settings_t *set)
{
    char process[64], labels[STATS_LABELS_MAX];
    snprintf(process, sizeof process, "strategyd.%s", r->host.name);
    int rc = stats_open(&r->stats, set, process);
    if (rc < 0)
        return rc;
    snprintf(labels, sizeof labels, "strategy=\"%s\"", r->host.name);
    stats_t *s = &r->stats;
    r->ticks = stats_metric(s, STATS_COUNTER, "market_data_received_total", labels);
    r->fills = stats_metric(s, STATS_COUNTER, "strategy_fills_total", labels);
    r->signals = stats_metric(s, STATS_COUNTER, "strategy_signals_total", labels);
    r->errors = stats_metric(s, STATS_COUNTER, "strategy_errors_total", labels);
    r->strategy_latency = stats_metric(s, STATS_HISTOGRAM, "strategy_latency_microseconds", labels);
    r->md_latency = stats_metric(s, STATS_HISTOGRAM, "market_data_latency_microseconds", labels);
    r->lapped = stats_metric(s, STATS_COUNTER, "ring_lapped_total", "ring=\"in\"");
    r->lost = stats_metric(s, STATS_COUNTER, "ring_dropped_records_total", "ring=\"in\"");
    char l2[STATS_LABELS_MAX];
    snprintf(l2, sizeof l2, "strategy=\"%.24s\",reason=\"observation\"", r->host.name);
    r->dropped_observation = stats_metric(s, STATS_COUNTER, "strategy_signals_dropped_total", l2);
    snprintf(l2, sizeof l2, "strategy=\"%.24s\",reason=\"ring_full\"", r->host.name);
    r->dropped_full = stats_metric(s, STATS_COUNTER, "strategy_signals_dropped_total", l2);
    return 0;
}

static int open_rings(runner_t *r, const cfg_t *cfg, const shm_settings_t *set)
{
    char name[SHM_NAME_MAX], ring[80], reader[SHM_READER_NAME_MAX];
    int64_t cap;
    int rc = cfg_get_int_range(cfg, "strategyd.signalRingCapacity", RUNNER_DEFAULT_SIGNAL_CAPACITY, 64,
                               1 << 20, &cap);
    if (rc < 0)
        return rc;
    if (cap & (cap - 1))
        return cfg_value_error(cfg, "strategyd.signalRingCapacity", "%lld is not a power of two",
                               (long long)cap);
    snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, r->host.name);
    if ((rc = shm_settings_ring_name(set, ring, name, sizeof name)) < 0)
        return rc;
    shm_ring_spec_t sig = { SHM_KIND_SPSC, SE_SIGNAL_RECORD_SIZE, (uint32_t)cap, SE_RECTYPE_SIGNAL };
    if ((rc = shm_writer_open(&r->sig, name, &sig, &set->perm)) < 0)
        return rc;
    if ((rc = shm_settings_ring_name(set, SE_RING_IN, name, sizeof name)) < 0)
        return rc;
    snprintf(reader, sizeof reader, "strategyd.%.24s", r->host.name);
    /* Any capacity: ingest chooses it. A strategy waits for ingest to come up. */
    return shm_reader_open(&r->in, name, NULL, reader, SHM_START_HEAD, -1);
}

static bool own_order(const runner_t *r, const char *client_order_id)
{
    size_t n = strlen(r->host.name);
    return strncmp(client_order_id, r->host.name, n) == 0 && client_order_id[n] == '-';
}

/* The time strategies see through now_ns while handling rec (host.h). */
static int64_t event_time(const se_in_rec_t *rec)
{
    return rec->ts_source_ns ? rec->ts_source_ns : rec->ts_ingest_ns;
}

static void on_fill(runner_t *r, const se_in_rec_t *rec)
{
    const se_fill_t *f = &rec->u.fill;
    if (!own_order(r, f->client_order_id))
        return;
    strat_fill_t fill = { f->fill_id, f->client_order_id, rec->symbol,
                          f->side == SE_SIDE_SELL ? STRAT_SELL : STRAT_BUY, f->qty, f->price,
                          rec->ts_source_ns };
    stats_add(r->fills, 1);
    r->host.event_ns = event_time(rec);
    if (r->strat.plugin->on_fill(r->state, &fill) < 0)
        stats_add(r->errors, 1);
}

/* A position rebuilt from fills, average cost. */
typedef struct {
    char symbol[SE_SYMBOL_MAX];
    double qty, avg_price;
} recovered_t;

static void apply_fill(recovered_t *p, double signed_qty, double price)
{
    double q = p->qty + signed_qty;
    if (p->qty == 0 || (p->qty > 0) == (signed_qty > 0)) /* opening or adding */
        p->avg_price = (p->avg_price * fabs(p->qty) + price * fabs(signed_qty)) / fabs(q);
    else if ((q > 0) != (p->qty > 0) && q != 0) /* crossed through flat */
        p->avg_price = price;
    p->qty = q;
    if (q == 0)
        p->avg_price = 0;
}

/* A restarted strategy must neither forget nor double a position: its fills
 * still in `in` from before this process started are summed per symbol and
 * handed over through on_position_update, before the strategy starts and
 * before it sees any tick. */
static void recover_positions(runner_t *r)
{
    enum { MAX_RECOVERED = 64 };
    recovered_t pos[MAX_RECOVERED];
    int npos = 0;
    uint64_t head = r->in.pos, cap = r->in.seg.capacity, fills = 0;
    se_in_rec_t rec;
    for (uint64_t at = head > cap ? head - cap : 0; at < head; at++) {
        if (shm_peek(&r->in.seg, at, &rec) != SHM_OK || rec.kind != SE_IN_FILL)
            continue;
        rec.symbol[SE_SYMBOL_MAX - 1] = rec.u.fill.client_order_id[SE_ID_MAX - 1] = '\0';
        const se_fill_t *f = &rec.u.fill;
        if (!own_order(r, f->client_order_id) || !(f->qty > 0) || !(f->price > 0))
            continue;
        int i = 0;
        while (i < npos && strcmp(pos[i].symbol, rec.symbol) != 0)
            i++;
        if (i == npos) {
            if (npos == MAX_RECOVERED) {
                log_warn("too many symbols to recover; the rest start flat",
                         LOG_STR("strategy", r->host.name), LOG_STR("symbol", rec.symbol));
                continue;
            }
            memset(&pos[npos], 0, sizeof pos[npos]);
            memcpy(pos[npos++].symbol, rec.symbol, SE_SYMBOL_MAX);
        }
        apply_fill(&pos[i], f->side == SE_SIDE_SELL ? -f->qty : f->qty, f->price);
        fills++;
    }
    for (int i = 0; i < npos; i++) {
        strat_position_t p = { pos[i].symbol, pos[i].qty, pos[i].avg_price, clock_real_ns() };
        if (r->strat.plugin->on_position_update(r->state, &p) < 0)
            stats_add(r->errors, 1);
        log_info("position recovered from ring in", LOG_STR("strategy", r->host.name),
                 LOG_STR("symbol", p.symbol), LOG_F64("qty", p.qty), LOG_F64("avg_price", p.avg_price));
    }
    if (fills)
        log_info("recovery done", LOG_STR("strategy", r->host.name), LOG_UINT("fills", fills),
                 LOG_INT("symbols", npos));
}

int runner_open(runner_t *r, const cfg_t *cfg, const shm_settings_t *set, const char *name)
{
    memset(r, 0, sizeof *r);
    r->spin_ns = set->idle_spin_ns;
    int rc;
    if ((rc = host_init(&r->host, cfg, name)) < 0 || (rc = find_index(cfg, name, &r->index)) < 0 ||
        (rc = read_mode(cfg, &r->host, &r->observe)) < 0 || (rc = host_load(&r->host, &r->strat)) < 0)
        return rc;
    const strat_plugin_t *p = r->strat.plugin;
    r->state = p->create(&r->host.api);
    if (!r->state)
        return se_err(-ENOMEM, "strategy %s (%s): create failed", name, r->strat.source);
    if (p->init(r->state) < 0)
        return se_err(-EINVAL, "strategy %s (%s): init refused its configuration (see the log line "
                      "before this one)", name, r->strat.source);
    if ((rc = open_stats(r, set)) < 0 || (rc = open_rings(r, cfg, set)) < 0)
        return rc;
    recover_positions(r);
    if (p->start(r->state) < 0)
        return se_err(-EINVAL, "strategy %s (%s): start failed", name, r->strat.source);
    return 0;
}

static void to_tick(const se_in_rec_t *rec, strat_tick_t *t)
{
    const se_quote_t *q = &rec->u.quote;
    bool quote = rec->flags & SE_QUOTE_HAS_BIDASK;
    *t = (strat_tick_t){
        .symbol = rec->symbol,
        .price = quote ? (q->bid + q->ask) / 2 : q->last,
        .bid = q->bid, .ask = q->ask, .bid_size = q->bid_size, .ask_size = q->ask_size,
        .last = q->last, .volume = q->volume,
        .flags = (quote ? STRAT_TICK_HAS_BIDASK : 0u) |
                 ((rec->flags & SE_QUOTE_HAS_LAST) ? STRAT_TICK_HAS_LAST : 0u),
        .ts_ns = event_time(rec),
    };
}

/* A NEW signal the host did not pass on is, for the strategy, an order that
 * was rejected: it must leave its pending quantity (strategy.h). */
static void reject_back(runner_t *r, const strat_signal_t *s, const char *reason)
{
    const strat_plugin_t *p = r->strat.plugin;
    if (s->action != STRAT_NEW || !p->on_order_update)
        return;
    strat_order_update_t u = { s->client_order_id, s->symbol, STRAT_ORDER_REJECTED, s->qty, reason };
    if (p->on_order_update(r->state, &u) < 0)
        stats_add(r->errors, 1);
}

static void emit(runner_t *r, const se_in_rec_t *cause, strat_signal_t *s, int64_t now)
{
    stats_add(r->signals, 1);
    if (s->action == STRAT_NEW && !s->client_order_id[0])
        r->host.api.new_order_id(r->host.api.ctx, s->client_order_id);
    if (!s->symbol[0])
        memcpy(s->symbol, cause->symbol, SE_SYMBOL_MAX);
    s->symbol[STRAT_SYMBOL_MAX - 1] = s->client_order_id[STRAT_ID_MAX - 1] = '\0';
    if (r->observe) {
        stats_add(r->dropped_observation, 1);
        reject_back(r, s, "observation mode");
        return;
    }
    se_signal_rec_t out;
    memset(&out, 0, sizeof out);
    out.action = s->action == STRAT_CANCEL ? SE_ACTION_CANCEL : SE_ACTION_NEW;
    out.side = s->side == STRAT_SELL ? SE_SIDE_SELL : SE_SIDE_BUY;
    out.order_type = s->type == STRAT_LIMIT ? SE_ORDER_LIMIT : SE_ORDER_MARKET;
    out.strategy_index = r->index;
    out.ts_source_ns = cause->ts_source_ns;
    out.ts_ingest_ns = cause->ts_ingest_ns;
    out.ts_strategy_ns = now;
    memcpy(out.symbol, s->symbol, SE_SYMBOL_MAX);
    memcpy(out.client_order_id, s->client_order_id, SE_ID_MAX);
    out.qty = s->qty;
    out.price = s->type == STRAT_LIMIT ? s->price : 0;
    if (shm_writer_write(&r->sig, &out) == SHM_OK)
        return;
    /* riskd is not keeping up (or not running): drop, count, and say so once a second. */
    stats_add(r->dropped_full, 1);
    reject_back(r, s, "signal ring full");
    int64_t mono = clock_mono_ns();
    if (mono >= r->next_full_log_ns) {
        log_warn("signal ring full: signal dropped", LOG_STR("strategy", r->host.name),
                 LOG_STR("ring", r->sig.seg.name), LOG_STR("client_order_id", out.client_order_id));
        r->next_full_log_ns = mono + 1000000000;
    }
}

void runner_handle(runner_t *r, const se_in_rec_t *rec)
{
    const strat_plugin_t *p = r->strat.plugin;
    if (rec->kind == SE_IN_FILL) {
        on_fill(r, rec);
        return;
    }
    if (rec->kind == SE_IN_POSITION) {
        strat_position_t pos = { rec->symbol, rec->u.position.qty, rec->u.position.avg_price,
                                 rec->ts_source_ns };
        r->host.event_ns = event_time(rec);
        if (p->on_position_update(r->state, &pos) < 0)
            stats_add(r->errors, 1);
        return;
    }
    if (rec->kind != SE_IN_QUOTE)
        return;
    stats_add(r->ticks, 1);
    int64_t seen = clock_real_ns();
    stats_observe_ns(r->md_latency, seen - rec->ts_ingest_ns);
    strat_tick_t tick;
    to_tick(rec, &tick);
    r->host.event_ns = tick.ts_ns;
    memset(r->out, 0, sizeof r->out);
    int64_t t0 = clock_mono_ns();
    int n = p->on_market_data(r->state, &tick, r->out, RUNNER_MAX_SIGNALS);
    stats_observe_ns(r->strategy_latency, clock_mono_ns() - t0);
    if (n < 0 || n > RUNNER_MAX_SIGNALS) {
        stats_add(r->errors, 1);
        return;
    }
    int64_t now = clock_real_ns();
    for (int i = 0; i < n; i++)
        emit(r, rec, &r->out[i], now);
}

int runner_run(runner_t *r, const volatile sig_atomic_t *stop)
{
    shm_reader_t *rings[] = { &r->in };
    se_in_rec_t rec;
    while (!*stop) {
        shm_status_t st = shm_reader_read(&r->in, &rec);
        if (st == SHM_OK) {
            rec.symbol[SE_SYMBOL_MAX - 1] = '\0'; /* never trust the segment */
            runner_handle(r, &rec);
            continue;
        }
        if (st == SHM_LAPPED) {
            stats_add(r->lapped, 1);
            stats_add(r->lost, r->in.drops - r->lost_counted);
            r->lost_counted = r->in.drops;
            continue;
        }
        if (st == SHM_RETIRED) {
            log_error("ring in was replaced; restart to attach to the new one",
                      LOG_STR("strategy", r->host.name));
            return se_err(SE_ERETIRED, "ring in was retired");
        }
        int64_t now = clock_mono_ns();
        if (now >= r->next_heartbeat_ns) {
            shm_writer_heartbeat(&r->sig);
            shm_writer_heartbeat(&r->stats.w);
            r->next_heartbeat_ns = now + 1000000000;
        }
        shm_wait(rings, 1, r->spin_ns, 1000000000);
    }
    return 0;
}

void runner_close(runner_t *r)
{
    if (r->state && r->strat.plugin) {
        r->strat.plugin->stop(r->state);
        r->strat.plugin->destroy(r->state);
    }
    r->state = NULL;
    if (r->in.slot)
        shm_reader_close(&r->in);
    shm_writer_close(&r->sig, false);
    if (r->stats.slots)
        stats_close(&r->stats, false);
    host_unload(&r->strat);
}
