/* runner.c -- see runner.h. */
#include "riskd/runner.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"

/* Adds every strategy of strategies.enabled riskd does not know yet (all of
 * them at start; those added to the config since, when it changes). A
 * strategy removed from the config keeps its place: its ring just goes
 * quiet, and its index stays its own. The priorities of known strategies
 * are kept (a change applies when riskd restarts): the HTTP thread reads
 * them, and only the count is published for it (release, after the name). */
static int read_strategies(riskd_t *d, const cfg_t *cfg)
{
    const char **enabled;
    int n, rc = cfg_get_string_list(cfg, "strategies.enabled", &enabled, &n);
    if (rc < 0)
        return rc;
    for (int i = 0; i < n; i++) {
        char key[160], ring[80];
        int64_t prio;
        snprintf(key, sizeof key, "strategies.configs.%s.priority", enabled[i]);
        if ((rc = cfg_get_int_range(cfg, key, 0, -1000000, 1000000, &prio)) < 0)
            return rc;
        int k = 0;
        while (k < d->nstrategies && strcmp(d->names[k], enabled[i]) != 0)
            k++;
        if (k < d->nstrategies)
            continue;
        if (k == BOOK_STRATEGIES_MAX)
            return cfg_value_error(cfg, "strategies.enabled", "strategy %s: at most %d strategies", enabled[i],
                                   BOOK_STRATEGIES_MAX);
        snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, enabled[i]);
        if ((rc = shm_settings_ring_name(&d->set, ring, d->sig[k].segment, SHM_NAME_MAX)) < 0)
            return rc;
        if (d->started && (rc = risk_add_strategy(&d->risk)) < 0)
            return rc;
        if ((rc = book_add_strategy(&d->book, enabled[i])) < 0)
            return se_err(rc, "riskd: cannot book strategy '%s'", enabled[i]);
        snprintf(d->names[k], SE_STRATEGY_MAX, "%s", enabled[i]);
        d->priority[k] = (int)prio;
        /* Pairs with the acquire load of the HTTP thread (endpoints.c). */
        __atomic_store_n(&d->nstrategies, k + 1, __ATOMIC_RELEASE);
        if (d->started)
            log_info("strategy added to strategies.enabled: its signals are read from now on",
                     LOG_STR("strategy", d->names[k]), LOG_STR("ring", d->sig[k].segment));
    }
    return 0;
}

/* The supervisor starts a strategy added to the config without restarting
 * riskd: riskd looks at the file's modification time once a second and
 * reads the new strategies from it. A file that no longer parses changes
 * nothing (the supervisor says why). */
static void follow_config(riskd_t *d)
{
    struct stat st;
    if (!d->config_path[0] || stat(d->config_path, &st) < 0)
        return;
    int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (mtime == d->config_mtime_ns)
        return;
    d->config_mtime_ns = mtime;
    cfg_t *cfg = NULL;
    if (cfg_open(&cfg, d->config_path) < 0 || read_strategies(d, cfg) < 0)
        log_warn("configuration changed but not read", LOG_STR("error", se_errmsg()));
    cfg_close(cfg);
}

static int open_rings(riskd_t *d, const cfg_t *cfg)
{
    uint32_t ord_cap, risk_cap;
    int rc;
    if ((rc = shm_settings_capacity(cfg, "riskd.orderRingCapacity", RISKD_ORD_CAPACITY, 64, 1 << 20, &ord_cap)) < 0 ||
        (rc = shm_settings_capacity(cfg, "riskd.riskRingCapacity", RISKD_RISK_CAPACITY, 1024, 1 << 22, &risk_cap)) < 0)
        return rc;
    char name[SHM_NAME_MAX];
    shm_ring_spec_t ord = SE_SPEC_ORDER(ord_cap), risk = SE_SPEC_RISK(risk_cap);
    if ((rc = shm_settings_ring_name(&d->set, SE_RING_ORDERS, name, sizeof name)) < 0 ||
        (rc = shm_writer_open(&d->ord, name, &ord, &d->set.order_perm)) < 0 ||
        (rc = shm_settings_ring_name(&d->set, SE_RING_RISK, name, sizeof name)) < 0 ||
        (rc = shm_writer_open(&d->risk_ring, name, &risk, &d->set.perm)) < 0 ||
        (rc = shm_settings_ring_name(&d->set, SE_RING_IN, d->in.segment, SHM_NAME_MAX)) < 0 ||
        (rc = shm_settings_ring_name(&d->set, SE_RING_EXEC, d->exe.segment, SHM_NAME_MAX)) < 0)
        return rc;
    return 0;
}

static void open_metrics(riskd_t *d)
{
    stats_t *s = &d->stats;
    d->checks = stats_metric(s, STATS_COUNTER, "risk_checks_total", NULL);
    d->approved = stats_metric(s, STATS_COUNTER, "orders_approved_total", NULL);
    for (int i = 1; i < RISK_RULE_COUNT; i++) {
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "rule=\"%s\"", risk_rule_name((risk_rule_t)i));
        d->violations[i] = stats_metric(s, STATS_COUNTER, "risk_violations_total", labels);
    }
    d->queue_size = stats_metric(s, STATS_GAUGE, "signal_queue_size", NULL);
    d->queue_evicted = stats_metric(s, STATS_COUNTER, "signals_dropped_total", "reason=\"queue_full\"");
    d->queue_stale = stats_metric(s, STATS_COUNTER, "signals_dropped_total", "reason=\"stale\"");
    d->ord_full = stats_metric(s, STATS_COUNTER, "signals_dropped_total", "reason=\"order_ring_full\"");
    d->state_gauge = stats_metric(s, STATS_GAUGE, "trading_state", NULL);
    d->equity = stats_metric(s, STATS_GAUGE, "engine_equity", NULL);
    d->daily_pnl = stats_metric(s, STATS_GAUGE, "engine_daily_pnl", NULL);
    d->drawdown = stats_metric(s, STATS_GAUGE, "engine_drawdown", NULL);
    d->fills = stats_metric(s, STATS_COUNTER, "fills_applied_total", NULL);
    d->fills_duplicate = stats_metric(s, STATS_COUNTER, "fills_duplicate_total", NULL);
    d->signal_latency = stats_metric(s, STATS_HISTOGRAM, "signal_to_order_microseconds", NULL);
    d->in_lapped = stats_metric(s, STATS_COUNTER, "ring_lapped_total", "ring=\"in\"");
    d->in_lost = stats_metric(s, STATS_COUNTER, "ring_dropped_records_total", "ring=\"in\"");
    d->exe_lapped = stats_metric(s, STATS_COUNTER, "ring_lapped_total", "ring=\"exe\"");
    d->exe_lost = stats_metric(s, STATS_COUNTER, "ring_dropped_records_total", "ring=\"exe\"");
    d->active = stats_metric(s, STATS_GAUGE, "active_strategies", NULL);
    /* Every reason publish_reject can give, so the counters exist from the start. */
    static const char *const extra[] = { "order_book_full", "order_ring_full", "signal_stale", "signal_queue_full" };
    d->nreject_rules = 0;
    for (int i = 1; i < RISK_RULE_COUNT + 4; i++) {
        const char *rule = i < RISK_RULE_COUNT ? risk_rule_name((risk_rule_t)i) : extra[i - RISK_RULE_COUNT];
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "rule=\"%s\"", rule);
        d->reject_rules[d->nreject_rules] = rule;
        d->rejected[d->nreject_rules++] = stats_metric(s, STATS_COUNTER, "orders_rejected_total", labels);
    }
}

/* ---- what riskd shares with its HTTP threads --------------------------------- */

uint64_t riskd_request_kill_switch(riskd_ctl_t *ctl, bool on)
{
    atomic_store_explicit(&ctl->kill_wanted, on ? 1 : 0, memory_order_relaxed);
    /* Release: the loop that sees this count (acquire) sees kill_wanted. */
    return atomic_fetch_add_explicit(&ctl->kill_requests, 1, memory_order_release) + 1;
}

static void share_state(riskd_t *d)
{
    atomic_store_explicit(&d->ctl.state, (int)risk_state(&d->risk), memory_order_relaxed);
    atomic_store_explicit(&d->ctl.reason, risk_state_reason(&d->risk), memory_order_relaxed);
    atomic_store_explicit(&d->ctl.kill_switch, risk_kill_switch(&d->risk), memory_order_relaxed);
}

static void publish_state(riskd_t *d);

static void apply_kill_requests(riskd_t *d)
{
    uint64_t req = atomic_load_explicit(&d->ctl.kill_requests, memory_order_acquire);
    if (req == atomic_load_explicit(&d->ctl.kill_applied, memory_order_relaxed))
        return;
    bool on = atomic_load_explicit(&d->ctl.kill_wanted, memory_order_relaxed) == 1;
    log_warn(on ? "kill switch on" : "kill switch off");
    if (risk_set_kill_switch(&d->risk, on))
        publish_state(d);
    share_state(d);
    /* Release: an HTTP thread that sees this count (acquire) sees the new state. */
    atomic_store_explicit(&d->ctl.kill_applied, req, memory_order_release);
}

/* Strategies whose signal ring riskd reads and whose writer runs. */
static void count_active(riskd_t *d)
{
    int n = 0;
    for (int i = 0; i < d->nstrategies; i++)
        n += d->sig[i].attached && shm_segment_writer_alive(&d->sig[i].r.seg);
    stats_set(d->active, n);
}

/* Is trading stalled though the state says ACTIVE? (watch.h) Once a second,
 * from counters the signal path keeps anyway: nothing per record. */
static void watch_stalls(riskd_t *d, int64_t mono, int64_t real)
{
    uint64_t rejected[RISKD_WATCH_RULES_MAX];
    int n = d->nreject_rules < RISKD_WATCH_RULES_MAX ? d->nreject_rules : RISKD_WATCH_RULES_MAX;
    for (int i = 0; i < n; i++)
        rejected[i] = d->rejected[i] ? shm__load_relaxed(&d->rejected[i]->value) : 0;
    riskd_watch_signals(&d->watch, mono, d->approved ? shm__load_relaxed(&d->approved->value) : 0, rejected,
                        d->reject_rules, n);
    char sig[BOOK_STRATEGIES_MAX][80];
    const char *rings[4 + BOOK_STRATEGIES_MAX] = { SE_RING_IN, SE_RING_EXEC, SE_RING_RISK, SE_RING_ORDERS };
    int nr = 4;
    for (int i = 0; i < d->nstrategies; i++) {
        snprintf(sig[i], sizeof sig[i], "%s%s", SE_RING_SIGNAL_PREFIX, d->names[i]);
        rings[nr++] = sig[i];
    }
    riskd_watch_rings(&d->watch, &d->set, rings, nr, real);
    int64_t last_md = 0; /* quotes mark at their local receipt time (book_on_in) */
    for (int sy = 0; sy < BOOK_SYMBOLS_MAX && book_symbol_name(&d->book, sy); sy++) {
        const book_symbol_t *s = book_symbol(&d->book, sy);
        if (s->marked && s->mark_ns > last_md)
            last_md = s->mark_ns;
    }
    riskd_watch_market(&d->watch, last_md, real);
    riskd_watch_publish(&d->watch, mono);
}

/* ---- what riskd says on ring `risk` ------------------------------------------ */

/* A record of ring `risk` about strategy (-1: about the engine), stamped now. */
static void risk_rec(riskd_t *d, se_risk_rec_t *k, uint8_t kind, int strategy)
{
    memset(k, 0, sizeof *k);
    k->kind = kind;
    k->state = (uint8_t)risk_state(&d->risk);
    k->ts_ns = clock_real_ns();
    if (strategy >= 0 && strategy < d->nstrategies) {
        k->strategy_index = (uint32_t)strategy;
        memcpy(k->strategy, d->names[strategy], SE_STRATEGY_MAX);
    }
}

static void publish_reject(riskd_t *d, const se_signal_rec_t *sig, const char *rule)
{
    for (int i = 0; i < d->nreject_rules; i++)
        if (strcmp(d->reject_rules[i], rule) == 0) {
            if (d->rejected[i])
                stats_add(d->rejected[i], 1);
            break;
        }
    se_risk_rec_t k;
    risk_rec(d, &k, SE_RISK_REJECT, (int)sig->strategy_index); /* drain_signals set the index */
    k.side = sig->side;
    memcpy(k.symbol, sig->symbol, SE_SYMBOL_MAX);
    memcpy(k.client_order_id, sig->client_order_id, SE_ID_MAX);
    snprintf(k.rule, sizeof k.rule, "%s", rule);
    k.qty = sig->qty;
    shm_writer_write(&d->risk_ring, &k);
}

static stats_metric_t **gauges_of(riskd_t *d, int strategy, int symbol)
{
    stats_metric_t **g = &d->position_gauges[((size_t)strategy * BOOK_SYMBOLS_MAX + (size_t)symbol) * 3];
    if (!g[0]) { /* first change of this pair: name its gauges once */
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "strategy=\"%.24s\",symbol=\"%.15s\"", d->names[strategy],
                 book_symbol_name(&d->book, symbol));
        g[0] = stats_metric(&d->stats, STATS_GAUGE, "strategy_position", labels);
        g[1] = stats_metric(&d->stats, STATS_GAUGE, "strategy_realized_pnl", labels);
        g[2] = stats_metric(&d->stats, STATS_GAUGE, "strategy_unrealized_pnl", labels);
    }
    return g;
}

static void publish_position(riskd_t *d, int strategy, int symbol, uint8_t kind)
{
    book_position_t p;
    if (strategy < 0 || symbol < 0 || book_position(&d->book, strategy, symbol, &p) < 0)
        return;
    stats_metric_t **g = gauges_of(d, strategy, symbol);
    if (g[0] && g[1] && g[2]) {
        stats_set(g[0], p.qty);
        stats_set(g[1], p.realized);
        stats_set(g[2], p.unrealized);
    }
    se_risk_rec_t k;
    risk_rec(d, &k, kind, strategy);
    snprintf(k.symbol, sizeof k.symbol, "%s", book_symbol_name(&d->book, symbol));
    k.qty = p.qty;
    k.avg_price = p.avg_price;
    k.realized_pnl = p.realized;
    k.unrealized_pnl = p.unrealized;
    shm_writer_write(&d->risk_ring, &k);
}

static void publish_state(riskd_t *d)
{
    se_risk_rec_t k;
    risk_rec(d, &k, SE_RISK_STATE, -1);
    snprintf(k.rule, sizeof k.rule, "%s", risk_state_reason(&d->risk));
    stats_set(d->state_gauge, (double)k.state);
    share_state(d);
    shm_writer_write(&d->risk_ring, &k);
    log_warn("trading state changed", LOG_STR("state", risk_state_name(risk_state(&d->risk))),
             LOG_STR("reason", risk_state_reason(&d->risk)));
}

static void publish_open_order(void *ctx, const book_open_order_t *o)
{
    riskd_t *d = ctx;
    se_risk_rec_t k;
    risk_rec(d, &k, SE_RISK_OPEN_ORDER, o->strategy);
    k.side = o->side;
    snprintf(k.symbol, sizeof k.symbol, "%s", o->symbol);
    snprintf(k.client_order_id, sizeof k.client_order_id, "%s", o->client_order_id);
    k.qty = o->open_qty;
    shm_writer_write(&d->risk_ring, &k);
}

/* One strategy's whole picture (records.h: the snapshot sequence), so a
 * strategy that restarted, or missed records, learns its positions and the
 * orders it still has working. */
static void publish_snapshot(riskd_t *d, int strategy)
{
    for (int sy = 0; sy < BOOK_SYMBOLS_MAX && book_symbol_name(&d->book, sy); sy++) {
        const book_cell_t *c = book_cell(&d->book, strategy, sy);
        if (c->qty != 0 || c->realized != 0 || c->open_orders)
            publish_position(d, strategy, sy, SE_RISK_SNAPSHOT);
    }
    int orders = book_for_each_order(&d->book, strategy, publish_open_order, d);
    se_risk_rec_t k;
    risk_rec(d, &k, SE_RISK_SNAPSHOT_END, strategy);
    k.qty = orders;
    shm_writer_write(&d->risk_ring, &k);
}

static void publish_snapshots(riskd_t *d)
{
    for (int st = 0; st < d->nstrategies; st++)
        publish_snapshot(d, st);
}

static void refresh_pnl_gauges(riskd_t *d)
{
    stats_set(d->equity, book_equity(&d->book));
    stats_set(d->daily_pnl, book_daily_pnl(&d->book));
    stats_set(d->drawdown, book_drawdown(&d->book));
    stats_set(d->queue_size, (double)agg_size(&d->agg));
    /* Marks move unrealised PnL without any fill: a loss breach must latch anyway. */
    if (risk_update_state(&d->risk, &d->book, clock_real_ns()))
        publish_state(d);
    for (int st = 0; st < d->nstrategies; st++)
        for (int sy = 0; sy < BOOK_SYMBOLS_MAX && book_symbol_name(&d->book, sy); sy++) {
            const book_cell_t *c = book_cell(&d->book, st, sy);
            if (c && (c->qty != 0 || c->realized != 0))
                publish_position(d, st, sy, SE_RISK_POSITION);
        }
}

/* ---- fills ------------------------------------------------------------------ */

static void after_book_change(riskd_t *d, int rc, const book_change_t *chg, bool was_fill)
{
    if (was_fill && rc == 1) {
        stats_add(d->fills, 1);
        publish_position(d, chg->strategy, chg->symbol, SE_RISK_POSITION);
    }
    if (risk_update_state(&d->risk, &d->book, clock_real_ns()))
        publish_state(d);
}

/* A report about the venue link, not an order: execd's circuit breaker
 * opened or closed. Returns true if e was one. */
static bool on_venue(riskd_t *d, const se_exec_rec_t *e)
{
    if (e->kind != SE_EXEC_VENUE)
        return false;
    char reason[SE_REASON_MAX];
    snprintf(reason, sizeof reason, "%.*s", SE_REASON_MAX - 1, e->reason);
    bool down = strcmp(reason, "circuit_open") == 0;
    if (!down && strcmp(reason, "circuit_closed") != 0)
        log_warn("unknown venue report on ring exe ignored", LOG_STR("reason", reason));
    else if (risk_set_venue_down(&d->risk, down))
        publish_state(d);
    return true;
}

/* ---- recovery ----------------------------------------------------------------- */

/* Orders riskd approved that are still in its own ring `ord` (execd may not
 * have answered them yet) and were approved after `since` (ns): the answers
 * to those, if any, are all in the history of `exe` that starts at `since`. */
static int recover_approved(riskd_t *d, int64_t since)
{
    const shm_writer_t *w = &d->ord;
    se_order_rec_t o;
    int n = 0;
    for (uint64_t at = shm_writer_history_start(w); at < w->prod_seq; at++) {
        if (shm_peek(&w->seg, at, &o) != SHM_OK || o.action != SE_ACTION_NEW || o.ts_risk_ns < since)
            continue;
        o.symbol[SE_SYMBOL_MAX - 1] = o.client_order_id[SE_ID_MAX - 1] = '\0';
        if (book_order_add(&d->book, o.client_order_id, (int)o.strategy_index, o.symbol, o.side, o.qty) == 0)
            n++;
    }
    return n;
}

/* One report of `exe` during recovery, as in normal operation (book.h,
 * book_on_exec: an ACK of an order riskd no longer knows -- approved before
 * the history of `ord` -- opens what its fills left of it). */
static void recover_exec(riskd_t *d, se_exec_rec_t *e, uint64_t *fills)
{
    e->symbol[SE_SYMBOL_MAX - 1] = e->client_order_id[SE_ID_MAX - 1] = e->fill_id[SE_ID_MAX - 1] = '\0';
    if (on_venue(d, e)) /* the last word on the venue still holds */
        return;
    book_change_t chg;
    if (book_on_exec(&d->book, e, &chg) == 1 && e->kind == SE_EXEC_FILL)
        (*fills)++;
}

/* Whose orders the acks of `exe` name, learnt before anything is replayed:
 * the venue publishes a fill before it answers the order, so a fill on `in`
 * may precede the ACK that tells whose order it is. */
static void learn_owners(riskd_t *d, uint64_t from)
{
    const shm_reader_t *exe = &d->exe.r;
    se_exec_rec_t e;
    for (uint64_t at = from; at < exe->pos; at++) {
        if (shm_peek(&exe->seg, at, &e) != SHM_OK || e.kind != SE_EXEC_ACK || e.action != SE_ACTION_NEW)
            continue;
        e.client_order_id[SE_ID_MAX - 1] = '\0';
        book_order_learn(&d->book, e.client_order_id, (int)e.strategy_index);
    }
}

/* A restarted riskd rebuilds what it knew from the rings' history: open
 * orders from its own ring `ord` and the acks in `exe`, positions from the
 * fills in `exe` (simulation) and `in` (live), the two replayed in time order.
 * The book gives the same result in any causally valid order of those
 * events (book.h, "Orders"): fills before or after acks, duplicates, refused
 * cancels of filled orders. An order approved and
 * acknowledged before the oldest record still in `exe` is beyond this memory
 * (README: limits). */
static void recover(riskd_t *d)
{
    const shm_reader_t *exe = &d->exe.r, *in = d->in.attached ? &d->in.r : NULL;
    uint64_t e_at = shm_reader_history_start(exe), i_at = in ? shm_reader_history_start(in) : 0;
    se_exec_rec_t e;
    se_in_rec_t rec;
    bool have_e = false, have_i = false;
    while (e_at < exe->pos && !(have_e = shm_peek(&exe->seg, e_at, &e) == SHM_OK))
        e_at++;
    int orders = recover_approved(d, have_e ? e.ts_report_ns : INT64_MIN);
    learn_owners(d, e_at);
    uint64_t fills = 0;
    for (;;) {
        while (!have_e && ++e_at < exe->pos)
            have_e = shm_peek(&exe->seg, e_at, &e) == SHM_OK;
        while (in && !have_i && i_at < in->pos)
            have_i = shm_peek(&in->seg, i_at++, &rec) == SHM_OK && rec.kind == SE_IN_FILL;
        if (!have_e && !have_i)
            break;
        if (have_e && (!have_i || e.ts_report_ns <= rec.ts_ingest_ns)) {
            recover_exec(d, &e, &fills);
            have_e = false;
        } else {
            rec.symbol[SE_SYMBOL_MAX - 1] = '\0';
            book_change_t chg;
            if (book_on_in(&d->book, &rec, &chg) == 1)
                fills++;
            have_i = false;
        }
    }
    if (fills || book_open_orders(&d->book))
        log_info("positions and open orders rebuilt from rings ord, exe and in", LOG_UINT("fills", fills),
                 LOG_INT("open_orders", book_open_orders(&d->book)), LOG_INT("from_ord", orders));
    publish_snapshots(d);
}

/* The most signals drain_signals takes from one ring before deciding them. */
#define RISKD_SIGNAL_BATCH 64

/* Marks in answered[] the candidates (hashes of their ids, and their actions)
 * that riskd's own rings answer: an order on `ord`, a refusal on `risk`.
 * Returns the time from which both histories are complete (a signal born
 * after it and answered would be seen answered). */
static int64_t find_answers(riskd_t *d, const uint64_t *hash, const uint8_t *action, bool *answered, int n)
{
    int64_t since = INT64_MIN;
    const shm_writer_t *w = &d->ord;
    uint64_t head = w->prod_seq, from = shm_writer_history_start(w);
    se_order_rec_t o;
    bool first = from > 0; /* wrapped: the history starts at its oldest record */
    for (uint64_t at = from; at < head; at++) {
        if (shm_peek(&w->seg, at, &o) != SHM_OK)
            continue;
        if (first)
            since = o.ts_risk_ns;
        first = false;
        uint64_t h = se_id_hash(o.client_order_id);
        for (int i = 0; i < n; i++)
            answered[i] |= hash[i] == h && action[i] == o.action;
    }
    w = &d->risk_ring;
    head = w->prod_seq, from = shm_writer_history_start(w);
    se_risk_rec_t k;
    first = from > 0;
    for (uint64_t at = from; at < head; at++) {
        if (shm_peek(&w->seg, at, &k) != SHM_OK)
            continue;
        if (first && k.ts_ns > since)
            since = k.ts_ns;
        first = false;
        if (k.kind != SE_RISK_REJECT)
            continue;
        uint64_t h = se_id_hash(k.client_order_id);
        for (int i = 0; i < n; i++)
            answered[i] |= hash[i] == h;
    }
    return since;
}

/* riskd takes a batch of signals off a ring before it decides them: a riskd
 * killed in between loses them, and the strategy would wait for an answer
 * that never comes. Its successor looks at the last batch before its
 * position: a signal its rings (`ord`, `risk`) do not answer is queued
 * again; one they answer is not (it would be sent twice). */
static void requeue_unanswered(riskd_t *d, int strategy)
{
    const shm_reader_t *r = &d->sig[strategy].r;
    uint64_t from = r->pos > RISKD_SIGNAL_BATCH ? r->pos - RISKD_SIGNAL_BATCH : 0;
    se_signal_rec_t sig[RISKD_SIGNAL_BATCH], evicted;
    uint64_t hash[RISKD_SIGNAL_BATCH];
    uint8_t action[RISKD_SIGNAL_BATCH];
    bool answered[RISKD_SIGNAL_BATCH] = { false };
    int n = 0;
    for (uint64_t at = from; at < r->pos; at++) {
        if (shm_peek(&r->seg, at, &sig[n]) != SHM_OK || sig[n].action == SE_ACTION_SNAPSHOT)
            continue;
        sig[n].client_order_id[SE_ID_MAX - 1] = sig[n].symbol[SE_SYMBOL_MAX - 1] = '\0';
        hash[n] = se_id_hash(sig[n].client_order_id);
        action[n] = sig[n].action;
        n++;
    }
    if (n == 0)
        return;
    int64_t since = find_answers(d, hash, action, answered, n), mono = clock_mono_ns();
    int requeued = 0;
    for (int i = 0; i < n; i++) {
        /* Older than the histories: answered or not, it cannot be told. */
        if (answered[i] || sig[i].ts_strategy_ns < since)
            continue;
        sig[i].strategy_index = (uint32_t)strategy;
        if (agg_push(&d->agg, &sig[i], d->priority[strategy], mono, &evicted) == AGG_EVICTED) {
            stats_add(d->queue_evicted, 1);
            publish_reject(d, &evicted, "signal_queue_full");
        }
        requeued++;
    }
    if (requeued)
        log_warn("signals read by the previous run but never decided: deciding them now",
                 LOG_STR("strategy", d->names[strategy]), LOG_INT("signals", requeued));
}

/* Quotes already in `in` when riskd attaches (it may start after ingest):
 * marks from them, so the first signals do not fail for want of a quote. */
static void mark_from_history(riskd_t *d)
{
    const shm_reader_t *in = &d->in.r;
    se_in_rec_t rec;
    book_change_t chg;
    /* Fills too when `exe` was recovered without `in` (ingest started later):
     * otherwise recover() replays them, in time order with `exe`. */
    bool fills = d->exe.attached;
    for (uint64_t at = shm_reader_history_start(in); at < in->pos; at++)
        if (shm_peek(&in->seg, at, &rec) == SHM_OK && (rec.kind == SE_IN_QUOTE || (fills && rec.kind == SE_IN_FILL))) {
            rec.symbol[SE_SYMBOL_MAX - 1] = '\0';
            book_on_in(&d->book, &rec, &chg);
        }
}

static void attach(riskd_t *d)
{
    bool fresh[BOOK_STRATEGIES_MAX] = { false };
    for (int i = 0; i < d->nstrategies; i++) {
        riskd_input_t *in = &d->sig[i];
        if (!in->attached && shm_try_attach(&in->r, in->segment, SE_SPEC_SIGNAL(0), "riskd") == 0)
            in->attached = fresh[i] = true;
    }
    if (!d->in.attached && shm_try_attach(&d->in.r, d->in.segment, SE_SPEC_IN(0), "riskd") == 0) {
        d->in.attached = true;
        mark_from_history(d);
    }
    if (!d->exe.attached && shm_try_attach(&d->exe.r, d->exe.segment, SE_SPEC_EXEC(0), "riskd") == 0) {
        d->exe.attached = true;
        recover(d);
    }
    /* After the book is rebuilt: they are decided against it. */
    for (int i = 0; i < d->nstrategies; i++)
        if (fresh[i])
            requeue_unanswered(d, i);
}

int riskd_open(riskd_t *d, const cfg_t *cfg, const shm_settings_t *set)
{
    memset(d, 0, sizeof *d);
    d->set = *set;
    d->spin_ns = set->idle_spin_ns;
    int64_t qcap, ttl_ms, snap_ms;
    int rc;
    book_config_t bc = { 0, 0, 0, 0 };
    const char *mode;
    if ((rc = cfg_get_string(cfg, "engine.mode", "simulation", &mode)) < 0)
        return rc;
    snprintf(d->mode, sizeof d->mode, "%s", mode);
    if ((rc = limits_load(cfg, &d->limits)) < 0 ||
        (rc = cfg_get_int_range(cfg, "engine.signalBufferSize", RISKD_DEFAULT_QUEUE, 1, AGG_MAX_CAPACITY, &qcap)) < 0 ||
        (rc = cfg_get_int_range(cfg, "engine.signalTtlMs", RISKD_DEFAULT_TTL_MS, 0, 3600000, &ttl_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "riskd.snapshotIntervalMs", RISKD_SNAPSHOT_MS, 0, 3600000, &snap_ms)) < 0)
        return rc;
    d->ttl_ns = ttl_ms * 1000000;
    d->snapshot_ns = snap_ms * 1000000;
    d->next_snapshot_ns = clock_mono_ns() + d->snapshot_ns;
    if ((rc = book_init(&d->book, &bc)) < 0 || (rc = read_strategies(d, cfg)) < 0)
        return rc;
    if (d->nstrategies == 0)
        return cfg_value_error(cfg, "strategies.enabled", "no strategy enabled: riskd has nothing to do");
    if ((rc = risk_init(&d->risk, &d->limits, d->nstrategies)) < 0 || (rc = agg_init(&d->agg, (int)qcap)) < 0)
        return rc;
    /* Room for every strategy the config may add while riskd runs. */
    d->position_gauges = calloc((size_t)BOOK_STRATEGIES_MAX * BOOK_SYMBOLS_MAX * 3, sizeof *d->position_gauges);
    if (!d->position_gauges)
        return se_err(-ENOMEM, "riskd: out of memory for position gauges");
    if ((rc = open_rings(d, cfg)) < 0 || (rc = stats_open(&d->stats, set, "riskd")) < 0)
        return rc;
    open_metrics(d);
    int64_t now = clock_real_ns();
    book_daily_reset(&d->book, now);
    d->next_reset_ns = book_next_reset_ns(&d->limits, now);
    stats_set(d->state_gauge, (double)risk_state(&d->risk));
    share_state(d);
    riskd_watch_config_t wc;
    if ((rc = riskd_watch_load(cfg, &wc)) < 0 ||
        (rc = riskd_watch_init(&d->watch, &wc, &d->stats, clock_mono_ns(), now)) < 0)
        return rc;
    attach(d);
    struct stat st;
    if (cfg_file(cfg) && stat(cfg_file(cfg), &st) == 0) {
        snprintf(d->config_path, sizeof d->config_path, "%s", cfg_file(cfg));
        d->config_mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    }
    d->started = true;
    count_active(d);
    return 0;
}

/* ---- the signal path --------------------------------------------------------- */

/* The checker counts violations per rule (also those it lets pass when risk
 * is disabled); the stats block follows its counts. */
static void sync_violations(riskd_t *d)
{
    for (int i = 1; i < RISK_RULE_COUNT; i++) {
        uint64_t now = risk_violations(&d->risk, (risk_rule_t)i);
        if (now != d->violations_reported[i]) {
            stats_add(d->violations[i], now - d->violations_reported[i]);
            d->violations_reported[i] = now;
        }
    }
}

static void decide(riskd_t *d, const se_signal_rec_t *sig)
{
    int64_t now = clock_real_ns();
    const char *name = sig->strategy_index < (uint32_t)d->nstrategies ? d->names[sig->strategy_index] : NULL;
    stats_add(d->checks, 1);
    risk_rule_t rule = risk_check(&d->risk, &d->book, sig, name, now);
    if (rule != RISK_OK || !d->limits.enabled) /* disabled: what would have failed is counted too */
        sync_violations(d);
    if (rule != RISK_OK) {
        publish_reject(d, sig, risk_rule_name(rule));
        return;
    }
    se_order_rec_t o;
    memset(&o, 0, sizeof o);
    o.action = sig->action;
    o.side = sig->side;
    o.order_type = sig->order_type;
    o.strategy_index = sig->strategy_index;
    o.ts_source_ns = sig->ts_source_ns;
    o.ts_ingest_ns = sig->ts_ingest_ns;
    o.ts_strategy_ns = sig->ts_strategy_ns;
    o.ts_risk_ns = now;
    memcpy(o.symbol, sig->symbol, SE_SYMBOL_MAX);
    memcpy(o.client_order_id, sig->client_order_id, SE_ID_MAX);
    memcpy(o.strategy, d->names[sig->strategy_index], SE_STRATEGY_MAX);
    o.qty = sig->qty;
    o.price = sig->price;
    int added = sig->action == SE_ACTION_NEW
                    ? book_order_add(&d->book, o.client_order_id, (int)o.strategy_index, o.symbol, o.side, o.qty)
                    : 0;
    if (added < 0) {
        publish_reject(d, sig, added == -EEXIST ? "duplicate_order_id" : "order_book_full");
        return;
    }
    if (shm_writer_write(&d->ord, &o) != SHM_OK) {
        /* execd is not keeping up or not running: the strategy is told. */
        stats_add(d->ord_full, 1);
        book_order_remove(&d->book, o.client_order_id);
        publish_reject(d, sig, "order_ring_full");
        return;
    }
    risk_record_approved(&d->risk, sig, now);
    stats_add(d->approved, 1);
    if (sig->ts_strategy_ns)
        stats_observe_ns(d->signal_latency, now - sig->ts_strategy_ns);
}

static int drain_signals(riskd_t *d)
{
    int n = 0;
    int64_t mono = clock_mono_ns();
    for (int i = 0; i < d->nstrategies; i++) {
        riskd_input_t *in = &d->sig[i];
        se_signal_rec_t sig, evicted;
        for (int k = 0; in->attached && k < RISKD_SIGNAL_BATCH; k++) {
            shm_status_t st = shm_reader_read(&in->r, &sig);
            if (st == SHM_RETIRED) { /* the strategy restarted with a new ring */
                shm_reader_close(&in->r);
                in->attached = false;
            }
            if (st != SHM_OK)
                break;
            n++;
            if (sig.action == SE_ACTION_SNAPSHOT) { /* a question, not an order */
                publish_snapshot(d, i);
                continue;
            }
            sig.strategy_index = (uint32_t)i; /* the ring says whose it is, not the record */
            sig.symbol[SE_SYMBOL_MAX - 1] = sig.client_order_id[SE_ID_MAX - 1] = '\0';
            if (agg_size(&d->agg) == agg_capacity(&d->agg)) {
                se_signal_rec_t stale[16];
                int ns = agg_expire(&d->agg, mono, d->ttl_ns, stale, 16);
                for (int s = 0; s < ns; s++) {
                    stats_add(d->queue_stale, 1);
                    publish_reject(d, &stale[s], "signal_stale");
                }
            }
            if (agg_push(&d->agg, &sig, d->priority[i], mono, &evicted) == AGG_EVICTED) {
                stats_add(d->queue_evicted, 1);
                publish_reject(d, &evicted, "signal_queue_full");
            }
        }
    }
    /* Everything queued is decided now, best first: the queue orders what
     * arrived together; it never holds signals back. */
    se_signal_rec_t sig, stale[16];
    for (;;) {
        int nstale = 0;
        agg_result_t r = agg_pop(&d->agg, clock_mono_ns(), d->ttl_ns, &sig, stale, 16, &nstale);
        for (int s = 0; s < nstale; s++) {
            stats_add(d->queue_stale, 1);
            publish_reject(d, &stale[s], "signal_stale");
        }
        if (r == AGG_POPPED)
            decide(d, &sig);
        else if (r != AGG_MORE_STALE)
            break;
    }
    if (n)
        stats_set(d->queue_size, (double)agg_size(&d->agg));
    return n;
}

static void count_lap(stats_metric_t *lapped, stats_metric_t *lost, const shm_reader_t *r, uint64_t *counted)
{
    stats_add(lapped, 1);
    stats_add(lost, r->drops - *counted);
    *counted = r->drops;
}

static int drain_book(riskd_t *d)
{
    int n = 0;
    book_change_t chg;
    if (d->in.attached) {
        se_in_rec_t rec;
        shm_status_t st;
        while (n < 256 && (st = shm_reader_read(&d->in.r, &rec)) != SHM_EMPTY) {
            if (st == SHM_LAPPED) {
                count_lap(d->in_lapped, d->in_lost, &d->in.r, &d->in_lost_counted);
                continue;
            }
            if (st == SHM_RETIRED) {
                shm_reader_close(&d->in.r);
                d->in.attached = false;
            }
            if (st != SHM_OK)
                break;
            n++;
            rec.symbol[SE_SYMBOL_MAX - 1] = '\0';
            int rc = book_on_in(&d->book, &rec, &chg);
            if (rec.kind == SE_IN_FILL)
                after_book_change(d, rc, &chg, true);
        }
    }
    if (d->exe.attached) {
        se_exec_rec_t e;
        shm_status_t st;
        while (n < 512 && (st = shm_reader_read(&d->exe.r, &e)) != SHM_EMPTY) {
            if (st == SHM_LAPPED) { /* fills lost: positions are wrong until a restart rebuilds them */
                count_lap(d->exe_lapped, d->exe_lost, &d->exe.r, &d->exe_lost_counted);
                log_error("lapped on ring exe: fills were lost", LOG_UINT("lost", d->exe.r.drops));
                continue;
            }
            if (st == SHM_RETIRED) {
                shm_reader_close(&d->exe.r);
                d->exe.attached = false;
            }
            if (st != SHM_OK)
                break;
            n++;
            if (on_venue(d, &e))
                continue;
            int rc = book_on_exec(&d->book, &e, &chg);
            if (e.kind == SE_EXEC_FILL) {
                if (rc == 0)
                    stats_add(d->fills_duplicate, 1);
                after_book_change(d, rc, &chg, true);
            }
        }
    }
    return n;
}

int riskd_run(riskd_t *d, const volatile sig_atomic_t *stop)
{
    while (!*stop) {
        apply_kill_requests(d);
        /* Chores run on time even when riskd never idles. */
        int64_t now = clock_real_ns(), mono = clock_mono_ns();
        svc_beat(mono);
        if (now >= d->next_reset_ns) {
            book_daily_reset(&d->book, now);
            d->next_reset_ns = book_next_reset_ns(&d->limits, now);
            if (risk_update_state(&d->risk, &d->book, now))
                publish_state(d);
        }
        if (mono >= d->next_heartbeat_ns) {
            shm_writer_heartbeat(&d->ord);
            shm_writer_heartbeat(&d->risk_ring);
            shm_writer_heartbeat(&d->stats.w);
            refresh_pnl_gauges(d);
            count_active(d); /* reads /proc: once a second is enough */
            watch_stalls(d, mono, now);
            d->next_heartbeat_ns = mono + 1000000000;
        }
        if (d->snapshot_ns && mono >= d->next_snapshot_ns) {
            publish_snapshots(d);
            d->next_snapshot_ns = mono + d->snapshot_ns;
        }
        if (mono >= d->next_attach_ns) {
            if (mono >= d->next_config_ns) {
                follow_config(d);
                d->next_config_ns = mono + 1000000000;
            }
            attach(d);
            d->next_attach_ns = mono + 100000000;
        }
        if (drain_book(d) + drain_signals(d) > 0)
            continue;
        shm_reader_t *rings[BOOK_STRATEGIES_MAX + 2];
        int n = 0;
        for (int i = 0; i < d->nstrategies; i++)
            if (d->sig[i].attached)
                rings[n++] = &d->sig[i].r;
        /* Not `in`: riskd needs the latest quote only when it decides, and it
         * reads `in` (marks) before every decision; waking for every tick
         * would cost each tick one more wake-up on a crowded machine. */
        if (d->exe.attached)
            rings[n++] = &d->exe.r;
        /* 10 ms: `in` is read at least that often, so it cannot lap riskd. */
        if (n)
            shm_wait(rings, n, d->spin_ns, 10000000);
        else {
            struct timespec ts = { 0, 100000000 };
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

void riskd_close(riskd_t *d)
{
    for (int i = 0; i < d->nstrategies; i++)
        if (d->sig[i].attached)
            shm_reader_close(&d->sig[i].r);
    if (d->in.attached)
        shm_reader_close(&d->in.r);
    if (d->exe.attached)
        shm_reader_close(&d->exe.r);
    shm_writer_close(&d->ord, false);
    shm_writer_close(&d->risk_ring, false);
    if (d->stats.slots)
        stats_close(&d->stats, false);
    free(d->position_gauges);
    riskd_watch_fini(&d->watch);
    agg_fini(&d->agg);
    risk_fini(&d->risk);
    book_fini(&d->book);
}
