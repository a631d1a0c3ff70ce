/* endpoints.c -- see endpoints.h. */
#include "riskd/endpoints.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "shm/segment.h"

/* ---- /health: the engine as a whole ------------------------------------------ */

/* What stats.supervisor says. A strategy removed from the configuration
 * keeps its gauges (slots are never freed), at up 0 and managed 0: it is
 * not down, it is gone. */
typedef struct {
    svc_reasons_t *why;
    char unmanaged[64][64];
    int n;
} sup_view_t;

static void managed_gauge(const stats_metric_t *m, void *arg)
{
    sup_view_t *v = arg;
    if (stats_gauge_value(m) == 0 && v->n < 64 &&
        stats_label(m->labels, "process", v->unmanaged[v->n], sizeof v->unmanaged[v->n]) == 0)
        v->n++;
}

static void process_gauge(const stats_metric_t *m, void *arg)
{
    sup_view_t *view = arg;
    svc_reasons_t *why = view->why;
    char process[64];
    if (stats_label(m->labels, "process", process, sizeof process) < 0)
        snprintf(process, sizeof process, "?");
    for (int i = 0; i < view->n; i++)
        if (strcmp(view->unmanaged[i], process) == 0)
            return;
    double v = stats_gauge_value(m);
    if (strcmp(m->name, "supervisor_process_up") == 0 && v == 0)
        svc_reason(why, "process %s is down", process);
    else if (strcmp(m->name, "supervisor_process_failed") == 0 && v != 0)
        svc_reason(why, "process %s failed", process);
}

static void feed_gauge(const stats_metric_t *m, void *arg)
{
    char feed[32];
    if (stats_gauge_value(m) == 0) {
        if (stats_label(m->labels, "feed", feed, sizeof feed) < 0)
            snprintf(feed, sizeof feed, "?");
        svc_reason(arg, "feed %s is disconnected", feed);
    }
}

/* A live stats block of process, mapped into *seg; false when there is none
 * or its writer is gone (a stale block says nothing about now). */
static bool live_block(const riskd_t *d, const char *process, shm_segment_t *seg)
{
    if (stats_map(&d->set, process, seg) < 0)
        return false;
    if (shm_segment_writer_alive(seg))
        return true;
    shm_segment_unmap(seg);
    return false;
}

/* Without a supervisor: a process runs when the ring it writes has a live writer. */
static void check_writer(const riskd_t *d, svc_reasons_t *why, const char *ring, const char *process)
{
    char name[SHM_NAME_MAX];
    uint64_t owner = 0;
    bool alive;
    if (shm_settings_ring_name(&d->set, ring, name, sizeof name) < 0)
        return;
    if (shm_segment_writer_of(name, &owner, &alive) < 0)
        svc_reason(why, "process %s is down (ring %s does not exist)", process, ring);
    else if (!alive)
        svc_reason(why, "process %s is down (ring %s has no live writer)", process, ring);
}

void riskd_engine_health(svc_reasons_t *why, void *ctx)
{
    const riskd_t *d = ctx;
    shm_segment_t seg;
    if (live_block(d, "supervisor", &seg)) {
        sup_view_t view = { .why = why, .n = 0 };
        stats_foreach(&seg, "supervisor_process_managed", managed_gauge, &view);
        stats_foreach(&seg, "supervisor_process_up", process_gauge, &view);
        stats_foreach(&seg, "supervisor_process_failed", process_gauge, &view);
        shm_segment_unmap(&seg);
    } else {
        check_writer(d, why, SE_RING_IN, "ingest");
        check_writer(d, why, SE_RING_EXEC, "execd");
        /* Acquire: riskd's loop may add a strategy meanwhile (runner.c, read_strategies). */
        int n = __atomic_load_n(&d->nstrategies, __ATOMIC_ACQUIRE);
        for (int i = 0; i < n; i++) {
            char ring[80], process[80];
            snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, d->names[i]);
            snprintf(process, sizeof process, "strategyd.%s", d->names[i]);
            check_writer(d, why, ring, process);
        }
    }
    if (live_block(d, "ingest", &seg)) {
        stats_foreach(&seg, "feed_connected", feed_gauge, why);
        shm_segment_unmap(&seg);
    }
    riskd_ctl_t *ctl = (riskd_ctl_t *)&d->ctl;
    if (atomic_load_explicit(&ctl->state, memory_order_relaxed) == SE_TRADING_HALTED)
        svc_reason(why, "trading is HALTED (%s)", atomic_load_explicit(&ctl->reason, memory_order_relaxed));
    /* Trading that is not halted but dead all the same (watch.h). */
    riskd_watch_health((riskd_watch_t *)&d->watch, why);
}

/* ---- /status and /killswitch -------------------------------------------------- */

static double gauge(const stats_metric_t *m)
{
    return m ? stats_gauge_value(m) : 0;
}

static unsigned long long counter(stats_metric_t *m)
{
    return m ? (unsigned long long)shm__load_relaxed(&m->value) : 0;
}

/* The trading-state members shared by /status and /killswitch. */
static void put_state(FILE *out, riskd_ctl_t *ctl)
{
    int state = atomic_load_explicit(&ctl->state, memory_order_relaxed);
    fprintf(out, "\"trading_state\":\"%s\",\"reason\":", risk_state_name((se_trading_state_t)state));
    http_json_str(out, atomic_load_explicit(&ctl->reason, memory_order_relaxed));
    fprintf(out, ",\"kill_switch\":%s",
            atomic_load_explicit(&ctl->kill_switch, memory_order_relaxed) ? "true" : "false");
}

typedef struct {
    FILE *out;
    int n;
} stall_list_t;

static void put_stall(const char *cond, const char *reason, void *arg)
{
    stall_list_t *l = arg;
    fprintf(l->out, "%s{\"condition\":\"%s\",\"reason\":", l->n++ ? "," : "", cond);
    http_json_str(l->out, reason);
    fputc('}', l->out);
}

static void on_status(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req;
    riskd_t *d = ctx;
    FILE *o = res->body;
    fputs("{\"mode\":", o);
    http_json_str(o, d->mode);
    fprintf(o, ",\"active_strategies\":%.0f,\"signal_queue_size\":%.0f,", gauge(d->active), gauge(d->queue_size));
    put_state(o, &d->ctl);
    /* Beside the state, not in it: a stall is not a breach (watch.h). */
    fputs(",\"stalled\":[", o);
    stall_list_t stalls = { o, 0 };
    riskd_watch_each(&d->watch, put_stall, &stalls);
    fprintf(o, "],\"trading_stalled\":%s", stalls.n ? "true" : "false");
    fprintf(o, ",\"risk_enabled\":%s,\"equity\":%.17g,\"daily_pnl\":%.17g,\"drawdown\":%.17g,"
               "\"risk_checks\":%llu,\"orders_approved\":%llu,\"strategies\":[",
            d->limits.enabled ? "true" : "false", gauge(d->equity), gauge(d->daily_pnl), gauge(d->drawdown),
            counter(d->checks), counter(d->approved));
    int n = __atomic_load_n(&d->nstrategies, __ATOMIC_ACQUIRE); /* see riskd_engine_health */
    for (int i = 0; i < n; i++) {
        char ring[80], name[SHM_NAME_MAX];
        uint64_t owner = 0;
        bool running = false;
        snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, d->names[i]);
        if (shm_settings_ring_name(&d->set, ring, name, sizeof name) == 0 &&
            shm_segment_writer_of(name, &owner, &running) < 0)
            running = false;
        fprintf(o, "%s{\"name\":", i ? "," : "");
        http_json_str(o, d->names[i]);
        fprintf(o, ",\"priority\":%d,\"running\":%s}", d->priority[i], running ? "true" : "false");
    }
    fputs("]}\n", o);
}

static void on_get_killswitch(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req;
    riskd_t *d = ctx;
    fputc('{', res->body);
    put_state(res->body, &d->ctl);
    fputs("}\n", res->body);
}

static void on_post_killswitch(const http_request_t *req, http_response_t *res, void *ctx)
{
    riskd_t *d = ctx;
    bool on;
    if (http_body_bool(req, "enabled", &on) < 0) {
        http_error(res, 400, "%s; expected {\"enabled\":true} or {\"enabled\":false}", se_errmsg());
        return;
    }
    uint64_t ticket = riskd_request_kill_switch(&d->ctl, on);
    int64_t deadline = clock_mono_ns() + RISKD_KILL_WAIT_NS;
    /* Pairs with the release store of kill_applied in the main loop. */
    while (atomic_load_explicit(&d->ctl.kill_applied, memory_order_acquire) < ticket) {
        if (clock_mono_ns() > deadline) {
            http_error(res, 503, "riskd's main loop did not apply the request within %lld ms; it stays posted",
                       RISKD_KILL_WAIT_NS / 1000000);
            return;
        }
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    fputc('{', res->body);
    put_state(res->body, &d->ctl);
    fputs("}\n", res->body);
}

int riskd_endpoints_add(svc_t *svc, riskd_t *d)
{
    int rc;
    if ((rc = svc_route(svc, "GET", "/status", on_status, d)) < 0 ||
        (rc = svc_route(svc, "GET", "/killswitch", on_get_killswitch, d)) < 0 ||
        (rc = svc_route(svc, "POST", "/killswitch", on_post_killswitch, d)) < 0)
        return rc;
    svc_set_health(svc, riskd_engine_health, d);
    return 0;
}
