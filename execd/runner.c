/* runner.c -- see runner.h. */
#include "execd/runner.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"

/* execd's hard limits from execution.limits.* (a bad value names file, line
 * and key), logged once so the operator sees the defaults in force. */
static int open_limits(exec_limits_t *l, const cfg_t *cfg)
{
    exec_limits_config_t *lc = malloc(sizeof *lc); /* 16 KiB: not on the stack */
    if (!lc)
        return se_err(-ENOMEM, "execd: out of memory for the hard limits");
    int rc = exec_limits_load(cfg, lc);
    if (rc == 0)
        rc = exec_limits_init(l, lc);
    if (rc == 0)
        log_info("execd hard limits", LOG_F64("max_order_qty", lc->max_qty),
                 LOG_F64("max_order_notional", lc->max_notional), LOG_INT("max_orders_per_second", lc->max_rate),
                 LOG_INT("max_orders_per_second_per_symbol", lc->max_rate_symbol),
                 LOG_INT("allowed_symbols", lc->nsymbols)); /* 0: every symbol */
    free(lc);
    return rc;
}

int execd_open(execd_t *x, const cfg_t *cfg, const shm_settings_t *set)
{
    memset(x, 0, sizeof *x);
    x->spin_ns = set->idle_spin_ns;
    const char *mode;
    uint32_t cap;
    int rc;
    if ((rc = cfg_get_string(cfg, "engine.mode", "simulation", &mode)) < 0 ||
        (rc = shm_settings_capacity(cfg, "execution.exeRingCapacity", EXECD_DEFAULT_EXE_CAPACITY, 1024,
                                    SHM_CAPACITY_MAX, &cap)) < 0 ||
        (rc = open_limits(&x->limits, cfg)) < 0)
        return rc;
    char name[SHM_NAME_MAX];
    if ((rc = shm_settings_ring_name(set, SE_RING_EXEC, name, sizeof name)) < 0 ||
        (rc = shm_settings_ring_name(set, SE_RING_ORDERS, x->ord_name, sizeof x->ord_name)) < 0 ||
        (rc = shm_settings_ring_name(set, SE_RING_IN, x->in_name, sizeof x->in_name)) < 0)
        return rc;
    shm_ring_spec_t spec = SE_SPEC_EXEC(cap);
    if ((rc = shm_writer_open(&x->exe, name, &spec, &set->perm)) < 0)
        return rc;
    if ((rc = stats_open(&x->stats, set, "execd")) < 0)
        return rc;
    /* The live backend registers metrics of its own, so it opens after stats. */
    if ((rc = strcmp(mode, "live") == 0 ? exec_backend_grpc_open(&x->backend, cfg, &x->stats)
                                        : exec_backend_sim_open(&x->backend, cfg)) < 0)
        return rc;
    stats_t *s = &x->stats;
    x->submitted = stats_metric(s, STATS_COUNTER, "orders_submitted_total", NULL);
    x->rejected = stats_metric(s, STATS_COUNTER, "orders_rejected_total", NULL);
    x->cancels = stats_metric(s, STATS_COUNTER, "order_cancels_submitted_total", NULL);
    x->acks = stats_metric(s, STATS_COUNTER, "execution_reports_total", "kind=\"ack\"");
    x->rejects = stats_metric(s, STATS_COUNTER, "execution_reports_total", "kind=\"reject\"");
    x->cancelled = stats_metric(s, STATS_COUNTER, "execution_reports_total", "kind=\"cancelled\"");
    x->fills = stats_metric(s, STATS_COUNTER, "execution_reports_total", "kind=\"fill\"");
    x->order_latency = stats_metric(s, STATS_HISTOGRAM, "order_latency_microseconds", NULL);
    x->tick_to_order = stats_metric(s, STATS_HISTOGRAM, "tick_to_order_microseconds", NULL);
    x->lapped_in = stats_metric(s, STATS_COUNTER, "ring_lapped_total", "ring=\"in\"");
    x->lost_in = stats_metric(s, STATS_COUNTER, "ring_dropped_records_total", "ring=\"in\"");
    /* Every reason of the hard limits, so the counters exist from the start.
     * The unlabelled series above counts the backend's rejects: the two never
     * count the same order. */
    for (int i = 1; i < EXEC_LIMIT_COUNT; i++) {
        char labels[STATS_LABELS_MAX];
        snprintf(labels, sizeof labels, "reason=\"%s\"", exec_limit_name((exec_limit_t)i));
        x->limit_rejected[i] = stats_metric(s, STATS_COUNTER, "orders_rejected_total", labels);
    }
    for (int i = 1; i < EXEC_LIMIT_COUNT; i++)
        if (!x->limit_rejected[i])
            return se_err(-ENOSPC, "execd: the stats block has no room for orders_rejected_total{reason}");
    return 0;
}

/* Every report goes to `exe`, a broadcast ring: the writer never waits. */
static void publish(void *ctx, const se_exec_rec_t *report)
{
    execd_t *x = ctx;
    switch (report->kind) {
    case SE_EXEC_ACK: stats_add(x->acks, 1); break;
    case SE_EXEC_REJECT:
        stats_add(x->rejects, 1);
        if (report->action != SE_ACTION_CANCEL) /* a refused cancel is no rejected order */
            stats_add(x->rejected, 1);
        break;
    case SE_EXEC_CANCELLED: stats_add(x->cancelled, 1); break;
    case SE_EXEC_FILL: stats_add(x->fills, 1); break;
    }
    /* The time from taking the order off `ord` to the answer. */
    if (report->kind != SE_EXEC_CANCELLED && report->ts_exec_ns)
        stats_observe_ns(x->order_latency, report->ts_report_ns - report->ts_exec_ns);
    shm_writer_write(&x->exe, report);
}

/* An order over one of execd's hard limits: a REJECT on `exe` laid out as
 * the backends' own (no order_id, leaves_qty 0, the rule's name as reason),
 * counted under its reason, logged at most once a second. It never reaches
 * the backend (nor the live journal: it is never sent). */
static void refuse(execd_t *x, const se_order_rec_t *o, exec_limit_t rule, int64_t now, int64_t mono)
{
    se_exec_rec_t r;
    se_exec_from_order(&r, o, SE_EXEC_REJECT); /* o's symbol terminated by the caller */
    r.ts_exec_ns = r.ts_report_ns = now;
    snprintf(r.reason, sizeof r.reason, "%s", exec_limit_name(rule));
    stats_add(x->rejects, 1);
    stats_add(x->limit_rejected[rule], 1);
    stats_observe_ns(x->order_latency, 0);
    shm_writer_write(&x->exe, &r);
    /* A flood of bad orders must not become a flood of log lines. */
    if (mono < x->next_limit_log_ns) {
        x->limit_log_suppressed++;
        return;
    }
    log_warn("order refused by execd's hard limits", LOG_STR("reason", r.reason),
             LOG_STR("client_order_id", o->client_order_id), LOG_STR("symbol", o->symbol),
             LOG_F64("qty", o->qty), LOG_F64("price", o->price),
             LOG_UINT("not_logged_since_last", x->limit_log_suppressed));
    x->limit_log_suppressed = 0;
    x->next_limit_log_ns = mono + 1000000000;
}

/* Quotes already in `in` when execd attaches (it may start after ingest): the
 * simulator learns the market from them, so early orders find a quote. */
static void quotes_from_history(execd_t *x)
{
    const shm_reader_t *in = &x->in;
    se_in_rec_t q;
    for (uint64_t at = shm_reader_history_start(in); at < in->pos; at++)
        if (shm_peek(&in->seg, at, &q) == SHM_OK && q.kind == SE_IN_QUOTE) {
            q.symbol[SE_SYMBOL_MAX - 1] = '\0';
            exec_limits_on_quote(&x->limits, &q);
            x->backend.on_quote(x->backend.impl, &q, clock_real_ns(), publish, x);
        }
}

/* True when `exe` already answers this very request o (same
 * client_order_id, action and riskd time stamp; a cancel sent again is
 * another request): it was executed by a run killed before it could consume
 * it. */
static bool answered(const execd_t *x, const se_order_rec_t *o)
{
    const shm_segment_t *seg = &x->exe.seg;
    uint64_t oldest = shm_writer_history_start(&x->exe);
    se_exec_rec_t e;
    for (uint64_t at = x->exe.prod_seq; at-- > oldest;) /* newest first: it would be among the last */
        if (shm_peek(seg, at, &e) == SHM_OK && e.action == o->action && e.ts_risk_ns == o->ts_risk_ns &&
            strncmp(e.client_order_id, o->client_order_id, SE_ID_MAX) == 0)
            return true;
    return false;
}

/* execd takes an order off `ord` only once the backend has it (drain; the
 * simulator answers at once), so an execd killed in between finds it again
 * here: executed already if `exe` answers it (skipped, or it would be
 * executed twice), else handed over now (the live backend's journal
 * recognises what it had sent). */
static void skip_answered(execd_t *x)
{
    se_order_rec_t o;
    if (shm_reader_peek(&x->ord, &o) != SHM_OK)
        return;
    o.client_order_id[SE_ID_MAX - 1] = '\0';
    if (!answered(x, &o))
        return;
    shm_reader_advance(&x->ord);
    log_warn("order answered by the previous run: not executed again",
             LOG_STR("client_order_id", o.client_order_id));
}

static void attach(execd_t *x)
{
    if (!x->have_ord && shm_try_attach(&x->ord, x->ord_name, SE_SPEC_ORDER(0), "execd") == 0) {
        x->have_ord = true;
        skip_answered(x);
    }
    if (!x->have_in && shm_try_attach(&x->in, x->in_name, SE_SPEC_IN(0), "execd") == 0) {
        x->have_in = true;
        quotes_from_history(x);
    }
}

/* A ring whose writer replaced it: let go, and attach to the new one later. */
static void detach_if_retired(shm_reader_t *rd, bool *have, shm_status_t st)
{
    if (st == SHM_RETIRED) {
        shm_reader_close(rd);
        *have = false;
    }
}

static bool can_accept(const execd_t *x)
{
    return !x->backend.can_accept || x->backend.can_accept(x->backend.impl);
}

static int drain(execd_t *x)
{
    int n = 0;
    if (x->have_in) {
        se_in_rec_t q;
        shm_status_t st;
        while (n < 256 && (st = shm_reader_read(&x->in, &q)) != SHM_EMPTY) {
            if (st == SHM_LAPPED) {
                stats_add(x->lapped_in, 1);
                stats_add(x->lost_in, x->in.drops - x->lost_in_counted);
                x->lost_in_counted = x->in.drops;
                continue;
            }
            detach_if_retired(&x->in, &x->have_in, st);
            if (st != SHM_OK)
                break;
            n++;
            if (q.kind == SE_IN_QUOTE) {
                q.symbol[SE_SYMBOL_MAX - 1] = '\0';
                exec_limits_on_quote(&x->limits, &q);
                x->backend.on_quote(x->backend.impl, &q, clock_real_ns(), publish, x);
            }
        }
    }
    if (x->have_ord) {
        se_order_rec_t o;
        shm_status_t st;
        /* Peek, hand over, then consume: an order is never lost to a crash
         * in between (the live backend's journal recognises it when read
         * again). A backend with every call in flight leaves `ord` unread. */
        while (n < 512 && can_accept(x) && (st = shm_reader_peek(&x->ord, &o)) != SHM_EMPTY) {
            detach_if_retired(&x->ord, &x->have_ord, st);
            if (st != SHM_OK)
                break;
            n++;
            int64_t now = clock_real_ns();
            o.symbol[SE_SYMBOL_MAX - 1] = o.client_order_id[SE_ID_MAX - 1] = o.strategy[SE_STRATEGY_MAX - 1] = '\0';
            if (o.action == SE_ACTION_NEW && !(x->backend.holds && x->backend.holds(x->backend.impl, &o))) {
                int64_t mono = clock_mono_ns(); /* rates: never the record's own time stamps */
                exec_limit_t rule = exec_limits_check(&x->limits, &o, mono);
                if (rule == EXEC_LIMIT_NO_PRICE && !x->have_in) {
                    attach(x); /* `in` may have appeared since the last try: its quotes price the order */
                    rule = exec_limits_check(&x->limits, &o, mono);
                }
                if (rule != EXEC_LIMIT_OK) {
                    refuse(x, &o, rule, now, mono);
                    shm_reader_advance(&x->ord); /* answered on `exe`: consumed (see skip_answered) */
                    continue;
                }
            }
            if (o.action == SE_ACTION_CANCEL) {
                stats_add(x->cancels, 1);
            } else {
                stats_add(x->submitted, 1);
                if (o.ts_ingest_ns)
                    stats_observe_ns(x->tick_to_order, now - o.ts_ingest_ns);
            }
            x->backend.on_order(x->backend.impl, &o, now, publish, x);
            shm_reader_advance(&x->ord); /* handed over: consumed (see skip_answered) */
        }
    }
    x->backend.poll(x->backend.impl, clock_real_ns(), publish, x);
    return n;
}

int execd_run(execd_t *x, const volatile sig_atomic_t *stop)
{
    attach(x);
    while (!*stop) {
        /* Chores run on time even when execd never idles. */
        int64_t mono = clock_mono_ns();
        svc_beat(mono);
        if (mono >= x->next_heartbeat_ns) {
            shm_writer_heartbeat(&x->exe);
            shm_writer_heartbeat(&x->stats.w);
            if (!x->have_ord || !x->have_in)
                attach(x);
            x->next_heartbeat_ns = mono + (x->have_ord && x->have_in ? 1000000000 : 100000000);
        }
        /* Read before poll looks at the backend's answers: a ring after it
         * ends the wait below at once. */
        uint32_t bell_seen = x->backend.bell ? shm_doorbell_seen(x->backend.bell) : 0;
        if (drain(x) > 0)
            continue;
        /* Sleep until new input or the backend's next due work. */
        /* 10 ms: when ticks do not wake execd, `in` is still read that often. */
        int64_t timeout = 10000000;
        int64_t next = x->backend.next_event_ns(x->backend.impl);
        if (next != INT64_MAX) {
            int64_t until = next - clock_real_ns();
            timeout = until < 0 ? 0 : until < timeout ? until : timeout;
        }
        /* Ticks wake execd only while they can fill something: every other
         * tick is read, without a wake-up of its own, when an order comes. */
        shm_reader_t *rings[2];
        int nrings = 0;
        if (x->have_ord && can_accept(x))
            rings[nrings++] = &x->ord;
        if (x->have_in && x->backend.needs_quotes(x->backend.impl))
            rings[nrings++] = &x->in;
        int64_t spin = timeout < x->spin_ns ? timeout : x->spin_ns;
        if (x->backend.bell)
            shm_wait_bell(rings, nrings, x->backend.bell, bell_seen, spin, timeout);
        else if (nrings)
            shm_wait(rings, nrings, spin, timeout);
        else {
            struct timespec ts = { 0, timeout };
            nanosleep(&ts, NULL);
        }
    }
    return 0;
}

void execd_close(execd_t *x)
{
    if (x->have_ord)
        shm_reader_close(&x->ord);
    if (x->have_in)
        shm_reader_close(&x->in);
    shm_writer_close(&x->exe, false);
    if (x->stats.slots)
        stats_close(&x->stats, false);
    if (x->backend.close)
        x->backend.close(&x->backend);
    exec_limits_fini(&x->limits);
}
