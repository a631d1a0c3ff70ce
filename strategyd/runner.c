/* runner.c -- see runner.h. */
#include "strategyd/runner.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"

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
    static const char *const rings[INPUT_COUNT] = { SE_RING_IN, SE_RING_EXEC, SE_RING_RISK };
    for (int i = 0; i < INPUT_COUNT; i++) {
        char ring[32];
        snprintf(ring, sizeof ring, "ring=\"%s\"", rings[i]);
        r->inputs[i].lapped = stats_metric(s, STATS_COUNTER, "ring_lapped_total", ring);
        r->inputs[i].lost = stats_metric(s, STATS_COUNTER, "ring_dropped_records_total", ring);
    }
    char l2[STATS_LABELS_MAX];
    snprintf(l2, sizeof l2, "strategy=\"%.24s\"", r->host.name);
    r->rejected = stats_metric(s, STATS_COUNTER, "strategy_orders_rejected_total", l2);
    snprintf(l2, sizeof l2, "strategy=\"%.24s\",reason=\"observation\"", r->host.name);
    r->dropped_observation = stats_metric(s, STATS_COUNTER, "strategy_signals_dropped_total", l2);
    snprintf(l2, sizeof l2, "strategy=\"%.24s\",reason=\"ring_full\"", r->host.name);
    r->dropped_full = stats_metric(s, STATS_COUNTER, "strategy_signals_dropped_total", l2);
    return 0;
}

/* The epoch of client_order_id if it is one of this strategy's ids
 * ("<name>-<epoch>-<seq>", host.c). */
static bool order_epoch(const runner_t *r, const char *client_order_id, long long *epoch)
{
    size_t n = strlen(r->host.name);
    if (strncmp(client_order_id, r->host.name, n) != 0 || client_order_id[n] != '-')
        return false;
    char *end;
    *epoch = strtoll(client_order_id + n + 1, &end, 10);
    return *end == '-';
}

/* Order ids are "<name>-<epoch>-<seq>" with the start second as epoch, and
 * the epoch tells this run's orders from an earlier run's (previous_run). A
 * strategy restarted within the same second (the supervisor restarts a
 * killed one at once) would share its predecessor's epoch. The signal ring
 * it took over still holds the ids the previous runs used: start after the
 * newest epoch among them. */
static void unique_epoch(runner_t *r)
{
    uint64_t oldest = shm_writer_history_start(&r->sig);
    se_signal_rec_t s;
    long long epoch;
    /* Newest first: the last NEW order names the newest epoch used (CANCELs
     * after it name older orders), so the scan stops there. */
    for (uint64_t at = r->sig.prod_seq; at-- > oldest;) {
        if (shm_peek(&r->sig.seg, at, &s) != SHM_OK)
            continue;
        s.client_order_id[SE_ID_MAX - 1] = '\0';
        if (!order_epoch(r, s.client_order_id, &epoch))
            continue;
        if (epoch >= r->host.epoch_s)
            r->host.epoch_s = epoch + 1;
        if (s.action == SE_ACTION_NEW)
            break;
    }
}

/* The rings strategyd writes: its signal ring, created before any strategy
 * code runs (runner_prepare). */
static int open_signal_ring(runner_t *r, const cfg_t *cfg, const shm_settings_t *set)
{
    char name[SHM_NAME_MAX], ring[80];
    uint32_t cap;
    int rc = shm_settings_capacity(cfg, "strategyd.signalRingCapacity", RUNNER_DEFAULT_SIGNAL_CAPACITY, 64,
                                   1 << 20, &cap);
    if (rc < 0)
        return rc;
    snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, r->host.name);
    if ((rc = shm_settings_ring_name(set, ring, name, sizeof name)) < 0)
        return rc;
    shm_ring_spec_t sig = SE_SPEC_SIGNAL(cap);
    if ((rc = shm_writer_open(&r->sig, name, &sig, &set->perm)) < 0)
        return rc;
    r->sig_open = true;
    unique_epoch(r);
    static const char *const rings[INPUT_COUNT] = { SE_RING_IN, SE_RING_EXEC, SE_RING_RISK };
    for (int i = 0; i < INPUT_COUNT; i++)
        if ((rc = shm_settings_ring_name(set, rings[i], r->inputs[i].segment, SHM_NAME_MAX)) < 0)
            return rc;
    return 0;
}

/* Ring `in`, at its head, waiting for ingest to create it. Attaching (also
 * later, to exe and risk) reads the ring and writes only its registry, in
 * the one directory the sandbox leaves writable. */
static int attach_in(runner_t *r)
{
    char reader[SHM_READER_NAME_MAX];
    snprintf(reader, sizeof reader, "strategyd.%.24s", r->host.name);
    /* Any capacity: ingest chooses it. A strategy waits for ingest to come up. */
    input_t *in = &r->inputs[INPUT_IN];
    shm_ring_spec_t spec = SE_SPEC_IN(0);
    int rc = shm_reader_open(&in->r, in->segment, &spec, reader, SHM_START_HEAD, -1);
    if (rc < 0)
        return rc;
    in->attached = true;
    return 0;
}

/* exe and risk are written by execd and riskd, which may start later, restart,
 * or not run at all (a strategy under test): one look, no waiting. */
static void handle_exec(runner_t *r, se_exec_rec_t *e);
static void handle_risk(runner_t *r, se_risk_rec_t *k);

/* A ring attached after the strategy started (execd or riskd came up late, or
 * restarted): what it already holds about our orders is handed over now, or
 * fills and rejections from before the attach would never be seen. Fills are
 * remembered by id, so none is applied twice. */
static void catch_up(runner_t *r, input_id_t id)
{
    const shm_reader_t *rd = &r->inputs[id].r;
    union {
        se_exec_rec_t exe;
        se_risk_rec_t risk;
    } rec;
    for (uint64_t at = shm_reader_history_start(rd); at < rd->pos; at++) {
        if (shm_peek(&rd->seg, at, &rec) != SHM_OK)
            continue;
        if (id == INPUT_EXE)
            handle_exec(r, &rec.exe);
        else
            handle_risk(r, &rec.risk);
    }
}

static void attach_optional(runner_t *r)
{
    const shm_ring_spec_t specs[INPUT_COUNT] = { SE_SPEC_IN(0), SE_SPEC_EXEC(0), SE_SPEC_RISK(0) };
    char reader[SHM_READER_NAME_MAX];
    snprintf(reader, sizeof reader, "strategyd.%.24s", r->host.name);
    for (int i = INPUT_EXE; i < INPUT_COUNT; i++) {
        input_t *in = &r->inputs[i];
        if (in->attached || shm_try_attach(&in->r, in->segment, specs[i], reader) < 0)
            continue;
        in->attached = true;
        if (r->started)
            catch_up(r, (input_id_t)i);
    }
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

/* True the first time fill_id is seen (among the last RUNNER_FILL_MEMORY):
 * a fill may reach us on `in` (live) and on `exe`, or twice from a feed. */
static bool first_sighting(runner_t *r, const char *fill_id)
{
    uint64_t h = se_id_hash(fill_id);
    for (int i = 0; i < RUNNER_FILL_MEMORY; i++)
        if (r->fill_memory[i] == h)
            return false;
    r->fill_memory[r->fill_memory_next++ % RUNNER_FILL_MEMORY] = h;
    return true;
}

static void deliver_fill(runner_t *r, const char *fill_id, const char *client_order_id, const char *symbol,
                         int side, double qty, double price, int64_t ts)
{
    if (!own_order(r, client_order_id) || !first_sighting(r, fill_id))
        return;
    order_track_fill(&r->orders, client_order_id, symbol, qty);
    strat_fill_t fill = { fill_id, client_order_id, symbol, side == SE_SIDE_SELL ? STRAT_SELL : STRAT_BUY,
                          qty, price, ts };
    stats_add(r->fills, 1);
    r->host.event_ns = ts;
    if (r->strat.plugin->on_fill(r->state, &fill) < 0)
        stats_add(r->errors, 1);
}

static void on_fill(runner_t *r, const se_in_rec_t *rec)
{
    const se_fill_t *f = &rec->u.fill;
    deliver_fill(r, f->fill_id, f->client_order_id, rec->symbol, f->side, f->qty, f->price,
                 event_time(rec));
}

static void order_gone(runner_t *r, const char *client_order_id, const char *symbol, int status,
                       double open_qty, const char *reason)
{
    const strat_plugin_t *p = r->strat.plugin;
    if (!own_order(r, client_order_id))
        return;
    if (status == STRAT_ORDER_REJECTED)
        stats_add(r->rejected, 1);
    strat_order_update_t u = { client_order_id, symbol, status, open_qty, reason };
    if (p->on_order_update && p->on_order_update(r->state, &u) < 0)
        stats_add(r->errors, 1);
}

static void handle_exec(runner_t *r, se_exec_rec_t *e)
{
    e->symbol[SE_SYMBOL_MAX - 1] = e->client_order_id[SE_ID_MAX - 1] = '\0';
    e->fill_id[SE_ID_MAX - 1] = e->reason[SE_REASON_MAX - 1] = '\0';
    if (own_order(r, e->client_order_id))
        order_track_report(&r->orders, e);
    if (e->kind == SE_EXEC_FILL)
        deliver_fill(r, e->fill_id, e->client_order_id, e->symbol, e->side, e->qty, e->price,
                     e->ts_report_ns);
    else if (e->kind == SE_EXEC_REJECT && e->action != SE_ACTION_CANCEL) /* a refused cancel changes nothing */
        order_gone(r, e->client_order_id, e->symbol, STRAT_ORDER_REJECTED, e->qty, e->reason);
    else if (e->kind == SE_EXEC_CANCELLED)
        order_gone(r, e->client_order_id, e->symbol, STRAT_ORDER_CANCELLED, e->leaves_qty, e->reason);
}

/* Asks execd, through riskd, to cancel an order of a previous run, once. */
static bool cancel_orphan(runner_t *r, const char *client_order_id, const char *symbol)
{
    for (unsigned i = 0; i < RUNNER_ORPHANS; i++)
        if (strcmp(r->orphans[i], client_order_id) == 0)
            return false;
    se_signal_rec_t s;
    memset(&s, 0, sizeof s);
    s.action = SE_ACTION_CANCEL;
    s.strategy_index = r->index;
    s.ts_strategy_ns = clock_real_ns();
    snprintf(s.symbol, sizeof s.symbol, "%s", symbol);
    snprintf(s.client_order_id, sizeof s.client_order_id, "%s", client_order_id);
    if (r->observe || shm_writer_write(&r->sig, &s) != SHM_OK)
        return false;
    snprintf(r->orphans[r->orphans_next++ % RUNNER_ORPHANS], SE_ID_MAX, "%s", client_order_id);
    return true;
}

/* "<name>-<epoch>-<seq>" of this strategy but another run (host.c). */
static bool previous_run(const runner_t *r, const char *client_order_id)
{
    long long epoch;
    return order_epoch(r, client_order_id, &epoch) && epoch != r->host.epoch_s;
}

static void handle_risk(runner_t *r, se_risk_rec_t *k)
{
    k->symbol[SE_SYMBOL_MAX - 1] = k->client_order_id[SE_ID_MAX - 1] = k->rule[SE_REASON_MAX - 1] = '\0';
    k->strategy[SE_STRATEGY_MAX - 1] = '\0';
    if (k->kind == SE_RISK_REJECT)
        order_gone(r, k->client_order_id, k->symbol, STRAT_ORDER_REJECTED, k->qty, k->rule);
    /* riskd still counts an order of a run before this one as working: it
     * would fill behind the strategy's back (see cancel_orphans). */
    else if (k->kind == SE_RISK_OPEN_ORDER && previous_run(r, k->client_order_id) &&
             !order_track_is_finished(&r->orders, k->client_order_id) &&
             cancel_orphan(r, k->client_order_id, k->symbol))
        log_warn("cancelling an order a previous run left working", LOG_STR("strategy", r->host.name),
                 LOG_STR("client_order_id", k->client_order_id));
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

typedef struct {
    recovered_t pos[64];
    int npos;
    uint64_t fills;
} recovery_t;

typedef struct {
    runner_t *r;
    int cancelled;
} orphan_sweep_t;

static void cancel_one(void *ctx, const order_track_entry_t *o)
{
    orphan_sweep_t *sw = ctx;
    if (previous_run(sw->r, o->id) && cancel_orphan(sw->r, o->id, o->symbol))
        sw->cancelled++;
}

/* The strategy that sent them is gone with its memory of them: orders still
 * working would fill behind the new one's back. Cancel them -- only those
 * still working: an order whose fills (on `exe` or `in`) cover it, or that
 * the venue answered for good, is left alone. Fills that beat the cancel
 * still reach the strategy and move its position. */
static void cancel_orphans(runner_t *r)
{
    orphan_sweep_t sw = { r, 0 };
    order_track_for_each_working(&r->orders, cancel_one, &sw);
    if (sw.cancelled)
        log_warn("cancelling orders left working by the previous run", LOG_STR("strategy", r->host.name),
                 LOG_INT("orders", sw.cancelled));
}

static void recover_one(runner_t *r, recovery_t *rc, const char *fill_id, const char *coid,
                        const char *symbol, int side, double qty, double price)
{
    if (!own_order(r, coid) || !(qty > 0) || !(price > 0) || !first_sighting(r, fill_id))
        return;
    order_track_fill(&r->orders, coid, symbol, qty);
    int i = 0;
    while (i < rc->npos && strcmp(rc->pos[i].symbol, symbol) != 0)
        i++;
    if (i == rc->npos) {
        if (rc->npos == (int)(sizeof rc->pos / sizeof rc->pos[0])) {
            log_warn("too many symbols to recover; the rest start flat", LOG_STR("strategy", r->host.name),
                     LOG_STR("symbol", symbol));
            return;
        }
        memset(&rc->pos[i], 0, sizeof rc->pos[i]);
        memcpy(rc->pos[rc->npos++].symbol, symbol, SE_SYMBOL_MAX);
    }
    apply_fill(&rc->pos[i], side == SE_SIDE_SELL ? -qty : qty, price);
    rc->fills++;
}

/* A restarted strategy must neither forget nor double a position: its fills
 * still in `in` (live) and `exe` (simulation) from before this process
 * started are summed per symbol and handed over through on_position_update,
 * before the strategy starts and before it sees any tick. Their fill ids are
 * remembered, so a fill seen again later is not applied twice. The same
 * fills and the reports of `exe` tell which orders still work (order_track):
 * those of the previous run are cancelled. */
static void recover_positions(runner_t *r)
{
    recovery_t rc = { .npos = 0 };
    const shm_reader_t *in = &r->inputs[INPUT_IN].r;
    se_in_rec_t rec;
    for (uint64_t at = shm_reader_history_start(in); at < in->pos; at++) {
        if (shm_peek(&in->seg, at, &rec) != SHM_OK || rec.kind != SE_IN_FILL)
            continue;
        se_fill_t *f = &rec.u.fill;
        rec.symbol[SE_SYMBOL_MAX - 1] = f->client_order_id[SE_ID_MAX - 1] = f->fill_id[SE_ID_MAX - 1] = '\0';
        recover_one(r, &rc, f->fill_id, f->client_order_id, rec.symbol, f->side, f->qty, f->price);
    }
    if (r->inputs[INPUT_EXE].attached) {
        const shm_reader_t *exe = &r->inputs[INPUT_EXE].r;
        se_exec_rec_t e;
        for (uint64_t at = shm_reader_history_start(exe); at < exe->pos; at++) {
            if (shm_peek(&exe->seg, at, &e) != SHM_OK)
                continue;
            e.symbol[SE_SYMBOL_MAX - 1] = e.client_order_id[SE_ID_MAX - 1] = e.fill_id[SE_ID_MAX - 1] = '\0';
            if (!own_order(r, e.client_order_id))
                continue;
            e.reason[SE_REASON_MAX - 1] = '\0';
            order_track_report(&r->orders, &e);
            if (e.kind == SE_EXEC_FILL)
                recover_one(r, &rc, e.fill_id, e.client_order_id, e.symbol, e.side, e.qty, e.price);
        }
    }
    cancel_orphans(r);
    for (int i = 0; i < rc.npos; i++) {
        strat_position_t p = { rc.pos[i].symbol, rc.pos[i].qty, rc.pos[i].avg_price, clock_real_ns() };
        if (r->strat.plugin->on_position_update(r->state, &p) < 0)
            stats_add(r->errors, 1);
        log_info("position recovered", LOG_STR("strategy", r->host.name), LOG_STR("symbol", p.symbol),
                 LOG_F64("qty", p.qty), LOG_F64("avg_price", p.avg_price));
    }
    if (rc.fills)
        log_info("recovery done", LOG_STR("strategy", r->host.name), LOG_UINT("fills", rc.fills),
                 LOG_INT("symbols", rc.npos));
}

int runner_prepare(runner_t *r, const cfg_t *cfg, const shm_settings_t *set, const char *name)
{
    memset(r, 0, sizeof *r);
    order_track_init(&r->orders);
    r->spin_ns = set->idle_spin_ns;
    int rc;
    if ((rc = host_init(&r->host, cfg, name)) < 0 || (rc = find_index(cfg, name, &r->index)) < 0 ||
        (rc = read_mode(cfg, &r->host, &r->observe)) < 0 || (rc = open_stats(r, set)) < 0 ||
        (rc = open_signal_ring(r, cfg, set)) < 0)
        return rc;
    return 0;
}

int runner_start(runner_t *r)
{
    const char *name = r->host.name;
    int rc = host_load(&r->host, &r->strat);
    if (rc < 0)
        return rc;
    const strat_plugin_t *p = r->strat.plugin;
    r->state = p->create(&r->host.api);
    if (!r->state)
        return se_err(-ENOMEM, "strategy %s (%s): create failed", name, r->strat.source);
    if (p->init(r->state) < 0)
        return se_err(-EINVAL, "strategy %s (%s): init refused its configuration (see the log line "
                      "before this one)", name, r->strat.source);
    if ((rc = attach_in(r)) < 0)
        return rc;
    attach_optional(r);
    recover_positions(r);
    if (!r->observe) {
        se_signal_rec_t ask;
        memset(&ask, 0, sizeof ask);
        ask.action = SE_ACTION_SNAPSHOT;
        ask.strategy_index = r->index;
        ask.ts_strategy_ns = clock_real_ns();
        shm_writer_write(&r->sig, &ask);
    }
    if (p->start(r->state) < 0)
        return se_err(-EINVAL, "strategy %s (%s): start failed", name, r->strat.source);
    r->started = true;
    return 0;
}

int runner_open(runner_t *r, const cfg_t *cfg, const shm_settings_t *set, const char *name)
{
    int rc = runner_prepare(r, cfg, set, name);
    return rc < 0 ? rc : runner_start(r);
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

/* Reads up to max records of one ring. Returns how many, or SE_ERETIRED when
 * the ring was replaced. */
static int drain(runner_t *r, input_id_t id, int max)
{
    input_t *in = &r->inputs[id];
    union {
        se_in_rec_t in;
        se_exec_rec_t exe;
        se_risk_rec_t risk;
    } rec;
    int n = 0;
    while (n < max) {
        shm_status_t st = shm_reader_read(&in->r, &rec);
        if (st == SHM_EMPTY)
            break;
        if (st == SHM_LAPPED) {
            stats_add(in->lapped, 1);
            stats_add(in->lost, in->r.drops - in->lost_counted);
            in->lost_counted = in->r.drops;
            continue;
        }
        if (st == SHM_RETIRED) {
            if (id == INPUT_IN)
                return SE_ERETIRED;
            shm_reader_close(&in->r); /* its writer restarted with a new ring: attach again */
            in->attached = false;
            break;
        }
        n++;
        if (id == INPUT_IN) {
            rec.in.symbol[SE_SYMBOL_MAX - 1] = '\0'; /* never trust the segment */
            runner_handle(r, &rec.in);
        } else if (id == INPUT_EXE) {
            handle_exec(r, &rec.exe);
        } else {
            handle_risk(r, &rec.risk);
        }
    }
    return n;
}

/* The strategy's own metrics (strat_plugin_t.metrics), published as gauges
 * strategy_custom{strategy="<name>",name="<metric>"}. Called once a second: a
 * script's metrics() is not free. A name that is not [A-Za-z0-9_] or too
 * long for the labels is left out, and said so once. */
static void publish_metrics(runner_t *r)
{
    const strat_plugin_t *p = r->strat.plugin;
    strat_metric_t m[RUNNER_MAX_METRICS];
    int n = p->metrics ? p->metrics(r->state, m, RUNNER_MAX_METRICS) : 0;
    if (n < 0)
        stats_add(r->errors, 1);
    for (int i = 0; i < n && i < RUNNER_MAX_METRICS; i++) {
        char labels[STATS_LABELS_MAX];
        bool ok = m[i].name && m[i].name[0] &&
                  strspn(m[i].name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                      strlen(m[i].name) &&
                  snprintf(labels, sizeof labels, "strategy=\"%s\",name=\"%s\"", r->host.name, m[i].name) <
                      (int)sizeof labels;
        stats_metric_t *g = ok ? stats_metric(&r->stats, STATS_GAUGE, "strategy_custom", labels) : NULL;
        if (g)
            stats_set(g, m[i].value);
        else if (!r->metrics_refused) {
            r->metrics_refused = true;
            log_warn("strategy metric not published: its name is not [A-Za-z0-9_], too long, or the stats "
                     "block is full", LOG_STR("strategy", r->host.name), LOG_STR("metric", m[i].name));
        }
    }
}

int runner_run(runner_t *r, const volatile sig_atomic_t *stop)
{
    while (!*stop) {
        /* Chores run on time even when the strategy never idles: heartbeats,
         * and looking for exe and risk, or it would never learn of its fills. */
        int64_t now = clock_mono_ns();
        svc_beat(now);
        if (now >= r->next_heartbeat_ns) {
            shm_writer_heartbeat(&r->sig);
            shm_writer_heartbeat(&r->stats.w);
            publish_metrics(r);
            r->next_heartbeat_ns = now + 1000000000;
        }
        bool missing = !r->inputs[INPUT_EXE].attached || !r->inputs[INPUT_RISK].attached;
        if (missing && now >= r->next_attach_ns) { /* one shm_open each: cheap */
            attach_optional(r);
            r->next_attach_ns = now + 100000000;
        }
        int busy = 0;
        for (int i = 0; i < INPUT_COUNT; i++) {
            if (!r->inputs[i].attached)
                continue;
            int n = drain(r, (input_id_t)i, 256);
            if (n == SE_ERETIRED) {
                log_error("ring in was replaced; restart to attach to the new one",
                          LOG_STR("strategy", r->host.name));
                return se_err(SE_ERETIRED, "ring in was retired");
            }
            busy += n;
        }
        if (busy)
            continue;
        shm_reader_t *rings[INPUT_COUNT];
        int n = 0;
        for (int i = 0; i < INPUT_COUNT; i++)
            if (r->inputs[i].attached)
                rings[n++] = &r->inputs[i].r;
        /* 100 ms at most: the loop's heartbeat feeds systemd's watchdog. */
        shm_wait(rings, n, r->spin_ns, 100000000);
    }
    return 0;
}

void runner_close(runner_t *r)
{
    if (r->started)
        publish_metrics(r); /* the last word, for whoever reads the block after we are gone */
    if (r->state && r->strat.plugin) {
        r->strat.plugin->stop(r->state);
        r->strat.plugin->destroy(r->state);
    }
    r->state = NULL;
    for (int i = 0; i < INPUT_COUNT; i++)
        if (r->inputs[i].attached)
            shm_reader_close(&r->inputs[i].r);
    if (r->sig_open)
        shm_writer_close(&r->sig, false);
    r->sig_open = false;
    if (r->stats.slots)
        stats_close(&r->stats, false);
    host_unload(&r->strat);
}
