/* sup.c -- see sup.h. One thread, one epoll loop: child exits arrive through
 * a signalfd (SIGCHLD), file changes through inotify, requests through the
 * control socket; readiness of a starting process is polled from shared
 * memory every 2 ms while one is starting. */
#include "supervisor/sup.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/records.h"
#include "shm/settings.h"
#include "shm/stats.h"
#include "supervisor/control.h"
#include "supervisor/notify.h"
#include "supervisor/plan.h"
#include "supervisor/proc.h"
#include "supervisor/ready.h"
#include "supervisor/status.h"
#include "supervisor/watch.h"

#define MS 1000000LL
#define CONNS_MAX 8
#define CHECKS_MAX 8
#define CHECK_TIMEOUT_NS (30000 * MS)
#define WAIT_TIMEOUT_NS (60000 * MS)
#define DRAIN_TIMEOUT_NS (2000 * MS)
#define RELOAD_SETTLE_NS (100 * MS) /* a copy is several writes: act once they stop */

enum { TAG_SIGNAL = 1, TAG_LISTEN, TAG_WATCH, TAG_CONN = 100 };

typedef struct {
    control_conn_t c;
    bool waiting;                  /* an answer is due when wait_name is ready (or fails) */
    char wait_name[PROC_NAME_MAX];
    int64_t wait_deadline_ns;
} conn_t;

/* A `strategyd --check` of a new version, before the strategy is restarted on it. */
typedef struct {
    pid_t pid;                     /* 0: free */
    char name[PROC_NAME_MAX];
    char why[64];
    proc_file_t file;              /* the version being checked */
    uint64_t hash;                 /* and the configuration */
    int64_t deadline_ns;
    int conn;                      /* a `reload` request waiting for the result, or -1 */
} check_t;

typedef struct {
    char conf[512], bin[512];
    cfg_t *cfg;
    plan_t plan;
    shm_settings_t set;
    proc_t procs[PROC_MAX];
    int n;
    stats_t stats;
    bool have_stats;
    int ep, sigfd, lfd;
    watch_t watch;
    bool have_watch;
    proc_file_t conf_file;
    conn_t conns[CONNS_MAX];
    check_t checks[CHECKS_MAX];
    int phase;                     /* the kind being started; PROC_KINDS once all are */
    int64_t phase_deadline_ns;
    int64_t reload_due_ns;         /* 0: nothing to look at */
    bool reread_config;            /* SIGHUP: read the config even if it looks unchanged */
    bool stop;
    bool force;                    /* a second stop signal: SIGKILL, no more waiting */
    int64_t stop_ns;               /* CLOCK_MONOTONIC when the stop began */
    int64_t next_heartbeat_ns;
} sup_t;

static proc_t *find_proc(sup_t *s, const char *name)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->procs[i].name, name) == 0)
            return &s->procs[i];
    /* "momentum" for "strategyd.momentum" */
    for (int i = 0; i < s->n; i++)
        if (s->procs[i].kind == PROC_STRATEGY && strcmp(s->procs[i].strategy, name) == 0)
            return &s->procs[i];
    return NULL;
}

static proc_t *find_pid(sup_t *s, pid_t pid)
{
    for (int i = 0; i < s->n; i++)
        if (s->procs[i].pid == pid)
            return &s->procs[i];
    return NULL;
}

/* ---- metrics ---------------------------------------------------------------- */

static void gauge(stats_metric_t *m, double v)
{
    if (m)
        stats_set(m, v);
}

static void publish(proc_t *p)
{
    gauge(p->m_up, p->state == PROC_RUNNING || p->state == PROC_STOPPING ? 1 : 0);
    gauge(p->m_failed, p->state == PROC_FAILED ? 1 : 0);
    gauge(p->m_pid, p->pid);
    gauge(p->m_start, p->pid > 0 ? (double)p->started_real_ns / 1e9 : 0);
}

static void open_metrics(sup_t *s, proc_t *p)
{
    if (!s->have_stats)
        return;
    char labels[STATS_LABELS_MAX];
    snprintf(labels, sizeof labels, "process=\"%s\"", p->name);
    stats_t *st = &s->stats;
    p->m_up = stats_metric(st, STATS_GAUGE, "supervisor_process_up", labels);
    p->m_failed = stats_metric(st, STATS_GAUGE, "supervisor_process_failed", labels);
    p->m_pid = stats_metric(st, STATS_GAUGE, "supervisor_process_pid", labels);
    p->m_start = stats_metric(st, STATS_GAUGE, "supervisor_process_start_time_seconds", labels);
    p->m_restarts = stats_metric(st, STATS_COUNTER, "supervisor_process_restarts_total", labels);
    p->m_managed = stats_metric(st, STATS_GAUGE, "supervisor_process_managed", labels);
    if (p->kind == PROC_STRATEGY) {
        snprintf(labels, sizeof labels, "strategy=\"%s\"", p->strategy);
        p->m_reloads = stats_metric(st, STATS_COUNTER, "plugin_reloads_total", labels);
        p->m_reload_failures = stats_metric(st, STATS_COUNTER, "plugin_reload_failures_total", labels);
    }
    if (!p->m_up || !p->m_failed || !p->m_pid || !p->m_managed)
        log_warn("stats.supervisor is full: some metrics of this process are not published",
                 LOG_STR("process", p->name));
    gauge(p->m_managed, 1);
    publish(p);
}

/* A supervisor that takes over finds the gauges of the previous one: the
 * processes they describe were stopped, so none is up any more. */
static void reset_gauges(sup_t *s)
{
    for (int i = 0; i < STATS_SLOTS; i++) {
        stats_metric_t *m = (stats_metric_t *)((char *)s->stats.slots + (size_t)i * STATS_RECORD_SIZE);
        if (m->type == STATS_GAUGE && strncmp(m->name, "supervisor_process_", 19) == 0)
            stats_set(m, 0);
    }
}

/* ---- answers to waiting requests ---------------------------------------------- */

static void answer_waiters(sup_t *s, const proc_t *p, bool ok, const char *why)
{
    for (int i = 0; i < CONNS_MAX; i++) {
        conn_t *c = &s->conns[i];
        if (c->c.fd < 0 || !c->waiting || strcmp(c->wait_name, p->name) != 0)
            continue;
        char text[512];
        if (ok)
            snprintf(text, sizeof text, "ok\n%s ready: pid %d\n", p->name, (int)p->pid);
        else
            snprintf(text, sizeof text, "error: %s: %s\n", p->name, why);
        c->waiting = false;
        control_send(&c->c, text, true);
    }
}

static void wait_for(sup_t *s, int ci, const proc_t *p, int64_t now)
{
    conn_t *c = &s->conns[ci];
    c->waiting = true;
    snprintf(c->wait_name, sizeof c->wait_name, "%s", p->name);
    c->wait_deadline_ns = now + WAIT_TIMEOUT_NS;
}

/* ---- spawning and stopping ------------------------------------------------------ */

/* The user and groups a process of kind runs as: its engine.users user with
 * the shared group (riskd also execd's group: it gives ring ord's registry
 * to it), when the supervisor runs as root with engine.users; else ours. */
static proc_cred_t cred_of(const sup_t *s, proc_kind_t kind)
{
    static const shm_role_t role[PROC_KINDS] = { [PROC_INGEST] = SHM_ROLE_INGEST, [PROC_EXECD] = SHM_ROLE_EXECD,
                                                 [PROC_RISKD] = SHM_ROLE_RISKD, [PROC_STRATEGY] = SHM_ROLE_STRATEGY };
    proc_cred_t c = { .set = false };
    if (!s->set.have_users || geteuid() != 0)
        return c;
    shm_role_t r = role[kind];
    c.set = true;
    c.uid = s->set.uid[r];
    c.gid = s->set.gid[r];
    c.groups[c.ngroups++] = s->set.perm.gid;
    if (kind == PROC_RISKD)
        c.groups[c.ngroups++] = s->set.gid[SHM_ROLE_EXECD];
    return c;
}

static void spawn(sup_t *s, proc_t *p, int64_t now)
{
    const plan_proc_t *pp = plan_find(&s->plan, p->name);
    char exe[600];
    char *argv[8];
    int a = 0;
    snprintf(exe, sizeof exe, "%s/%s", s->bin,
             p->kind == PROC_INGEST ? "ingest" : p->kind == PROC_EXECD ? "execd"
             : p->kind == PROC_RISKD ? "riskd" : "strategyd");
    argv[a++] = exe;
    argv[a++] = (char *)"-c";
    argv[a++] = s->conf;
    if (p->kind == PROC_STRATEGY) {
        argv[a++] = (char *)"-s";
        argv[a++] = p->strategy;
    }
    argv[a] = NULL;
    if (pp) {
        p->cfg_hash = pp->hash;
        proc_file_stat(&p->file, pp->file);
    }
    if (p->started_once) {
        p->restarts++;
        if (p->m_restarts)
            stats_add(p->m_restarts, 1);
    }
    p->started_once = true;
    p->killed = false;
    proc_cred_t cred = cred_of(s, p->kind);
    pid_t pid = proc_spawn(argv, &cred);
    p->spawned_ns = now;
    p->started_real_ns = clock_real_ns();
    p->ready_ns = 0;
    if (pid < 0) {
        log_error("cannot start process", LOG_STR("process", p->name), LOG_STR("error", se_errmsg()));
        p->pid = 0;
        if (!proc_on_crash(p, &s->plan.policy, now))
            answer_waiters(s, p, false, "cannot be started (see the supervisor's log)");
        publish(p);
        return;
    }
    p->pid = pid;
    p->state = PROC_STARTING;
    log_info("process started", LOG_STR("process", p->name), LOG_INT("pid", pid),
             LOG_UINT("restarts", p->restarts));
    publish(p);
}

static void stop_proc(sup_t *s, proc_t *p, proc_then_t then, int64_t now);

/* Applies what follows a stop (or a stop of a process already down). */
static void after_stop(sup_t *s, proc_t *p, int64_t now)
{
    proc_then_t then = p->then;
    p->then = THEN_STOP;
    p->state = PROC_STOPPED;
    if (then == THEN_START && !s->stop) {
        spawn(s, p, now);
    } else if (then == THEN_REMOVE) {
        log_info("process removed", LOG_STR("process", p->name));
        answer_waiters(s, p, false, "removed from the configuration");
        gauge(p->m_managed, 0);
        publish(p);
        int i = (int)(p - s->procs);
        memmove(&s->procs[i], &s->procs[i + 1], sizeof s->procs[0] * (size_t)(s->n - i - 1));
        s->n--;
        return;
    }
    publish(p);
}

static void stop_proc(sup_t *s, proc_t *p, proc_then_t then, int64_t now)
{
    p->then = then;
    if (p->pid <= 0) {
        after_stop(s, p, now);
        return;
    }
    if (p->state != PROC_STOPPING) {
        kill(p->pid, SIGTERM);
        p->state = PROC_STOPPING;
        p->stop_deadline_ns = now + s->plan.policy.stop_timeout_ns;
    }
    publish(p);
}

/* Starts p again: at once when it is down (an operator's restart also
 * clears a failure), after a graceful stop when it runs. */
static void restart_proc(sup_t *s, proc_t *p, int64_t now)
{
    p->ncrashes = 0;
    p->died_ns = 0; /* not a crash restart: its time is not last_restart_ms */
    if (p->pid > 0)
        stop_proc(s, p, THEN_START, now);
    else if (p->state != PROC_STOPPING)
        spawn(s, p, now);
}

/* ---- exits ------------------------------------------------------------------------ */

static void finish_check(sup_t *s, check_t *c, int status, int64_t now);

static void on_exit_of(sup_t *s, pid_t pid, int status, int64_t now)
{
    for (int i = 0; i < CHECKS_MAX; i++)
        if (s->checks[i].pid == pid) {
            finish_check(s, &s->checks[i], status, now);
            return;
        }
    proc_t *p = find_pid(s, pid);
    if (!p)
        return;
    char how[64];
    proc_describe_status(status, how, sizeof how);
    p->pid = 0;
    p->last_status = status;
    if (p->state == PROC_STOPPING || s->stop) {
        log_info("process stopped", LOG_STR("process", p->name), LOG_STR("status", how),
                 LOG_BOOL("killed", p->killed));
        after_stop(s, p, now);
        return;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        /* It finished its work (a replay feed that reached its end): not a crash. */
        p->state = PROC_EXITED;
        log_info("process exited by itself; not restarted", LOG_STR("process", p->name));
        answer_waiters(s, p, false, "exited by itself");
        publish(p);
        return;
    }
    if (proc_on_crash(p, &s->plan.policy, now)) {
        log_warn("process died; restarting it", LOG_STR("process", p->name), LOG_INT("pid", pid),
                 LOG_STR("status", how), LOG_F64("restart_in_ms", (double)(p->next_start_ns - now) / MS),
                 LOG_INT("restarts_in_window", p->ncrashes));
    } else {
        log_error("process restarted too often: marked failed, the rest keeps running",
                  LOG_STR("process", p->name), LOG_STR("status", how),
                  LOG_INT("max_restarts", s->plan.policy.max_restarts),
                  LOG_INT("window_s", s->plan.policy.window_ns / 1000000000),
                  LOG_STR("to_retry", "bin/strategy-engine restart NAME"));
        answer_waiters(s, p, false, "failed: restarted too often");
    }
    publish(p);
}

static void reap(sup_t *s, int64_t now)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        on_exit_of(s, pid, status, now);
}

/* ---- hot reload -------------------------------------------------------------------- */

static void begin_check(sup_t *s, proc_t *p, int conn, const char *why, int64_t now)
{
    const plan_proc_t *pp = plan_find(&s->plan, p->name);
    check_t *c = NULL;
    for (int i = 0; i < CHECKS_MAX; i++) {
        if (s->checks[i].pid > 0 && strcmp(s->checks[i].name, p->name) == 0)
            return; /* one at a time: its end looks at the files again */
        if (!c && s->checks[i].pid == 0)
            c = &s->checks[i];
    }
    if (!c || !pp) {
        log_warn("too many strategy checks at once; retrying shortly", LOG_STR("process", p->name));
        s->reload_due_ns = now + 500 * MS;
        return;
    }
    char exe[600];
    snprintf(exe, sizeof exe, "%s/strategyd", s->bin);
    char *argv[] = { exe, (char *)"-c", s->conf, (char *)"-s", p->strategy, (char *)"--check", NULL };
    proc_file_stat(&c->file, pp->file);
    c->hash = pp->hash;
    proc_cred_t cred = cred_of(s, PROC_STRATEGY); /* a hostile candidate runs as a strategy would */
    pid_t pid = proc_spawn(argv, &cred);
    if (pid < 0) {
        log_error("cannot start the strategy check", LOG_STR("process", p->name), LOG_STR("error", se_errmsg()));
        if (conn >= 0)
            control_send(&s->conns[conn].c, "error: cannot start the strategy check\n", true);
        return;
    }
    c->pid = pid;
    c->conn = conn;
    if (conn >= 0) { /* the answer comes with the check's end: only a hang-up is read meanwhile */
        s->conns[conn].waiting = true;
        s->conns[conn].wait_name[0] = '\0';
    }
    c->deadline_ns = now + CHECK_TIMEOUT_NS;
    snprintf(c->name, sizeof c->name, "%s", p->name);
    snprintf(c->why, sizeof c->why, "%s", why);
    log_info("checking the new version of a strategy", LOG_STR("process", p->name), LOG_STR("why", why),
             LOG_STR("file", c->file.path));
}

static void finish_check(sup_t *s, check_t *c, int status, int64_t now)
{
    proc_t *p = find_proc(s, c->name);
    int conn = c->conn;
    c->pid = 0;
    if (s->stop)
        return; /* killed by the stop: says nothing about the new version */
    s->reload_due_ns = now; /* the files may have moved on while it ran */
    if (conn >= 0)
        s->conns[conn].waiting = false;
    if (!p) {
        if (conn >= 0)
            control_send(&s->conns[conn].c, "error: the strategy was removed meanwhile\n", true);
        return;
    }
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        char how[64];
        proc_describe_status(status, how, sizeof how);
        p->rejected = c->file;
        p->rejected_hash = c->hash;
        if (p->m_reload_failures)
            stats_add(p->m_reload_failures, 1);
        log_error("new version of the strategy refused: its check failed; the running one is kept",
                  LOG_STR("process", p->name), LOG_STR("file", c->file.path), LOG_STR("check", how),
                  LOG_STR("running", p->pid > 0 ? "yes" : "no"));
        if (conn >= 0)
            control_send(&s->conns[conn].c,
                         "error: the new version failed its check (see the supervisor's log); "
                         "the running one is kept\n", true);
        return;
    }
    p->reloads++;
    if (p->m_reloads)
        stats_add(p->m_reloads, 1);
    log_info("reloading strategy", LOG_STR("process", p->name), LOG_STR("why", c->why),
             LOG_STR("file", c->file.path));
    if (conn >= 0)
        wait_for(s, conn, p, now);
    if (p->state == PROC_STOPPING)
        p->then = THEN_START;
    else
        restart_proc(s, p, now);
}

static void set_watches(sup_t *s)
{
    if (!s->have_watch)
        return;
    const char *paths[PROC_MAX + 1];
    int n = 0;
    if (s->plan.hot_reload) {
        paths[n++] = s->conf;
        for (int i = 0; i < s->plan.n; i++)
            if (s->plan.procs[i].file[0])
                paths[n++] = s->plan.procs[i].file;
    }
    watch_set(&s->watch, paths, n);
}

static void add_proc(sup_t *s, const plan_proc_t *pp)
{
    proc_t *p = &s->procs[s->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", pp->name);
    snprintf(p->strategy, sizeof p->strategy, "%s", pp->strategy);
    p->kind = pp->kind;
    p->last_status = -1;
    p->last_restart_ns = -1;
    p->cfg_hash = pp->hash;
    open_metrics(s, p);
}

/* The configuration file changed: start what was added, stop what was
 * removed; strategies whose keys changed are checked and restarted by the
 * caller; ingest, execd and riskd are never restarted for it (they are told
 * to be, in the log). */
static void apply_plan(sup_t *s, cfg_t *cfg, const plan_t *np, int64_t now)
{
    for (int i = 0; i < s->n; i++) {
        proc_t *p = &s->procs[i];
        const plan_proc_t *pp = plan_find(np, p->name);
        if (!pp) {
            log_info("strategy removed from strategies.enabled: stopping it", LOG_STR("process", p->name));
            bool gone_now = p->pid <= 0 && p->state != PROC_STOPPING;
            stop_proc(s, p, THEN_REMOVE, now);
            if (gone_now)
                i--; /* removed from the table at once */
            continue;
        }
        if (p->state == PROC_STOPPING && p->then == THEN_REMOVE) {
            p->then = THEN_START; /* removed, then named again before it had stopped */
            continue;
        }
        if (p->kind != PROC_STRATEGY && pp->hash != p->cfg_hash) {
            char cmd[96];
            snprintf(cmd, sizeof cmd, "bin/strategy-engine restart %s", p->name);
            log_warn("configuration of this process changed; it keeps running with the old one until "
                     "restarted", LOG_STR("process", p->name), LOG_STR("to_apply", cmd));
            p->cfg_hash = pp->hash;
        }
    }
    s->plan = *np;
    cfg_close(s->cfg);
    s->cfg = cfg;
    for (int i = 0; i < np->n; i++) {
        if (find_proc(s, np->procs[i].name))
            continue;
        add_proc(s, &np->procs[i]);
        proc_t *p = &s->procs[s->n - 1];
        log_info("strategy added to strategies.enabled", LOG_STR("process", p->name));
        if (s->phase >= PROC_STRATEGY) /* else the start order reaches it */
            spawn(s, p, now);
    }
    set_watches(s);
}

static void reread_config(sup_t *s, int64_t now)
{
    cfg_t *cfg = NULL;
    plan_t np;
    int rc = cfg_open(&cfg, s->conf);
    if (rc == 0)
        rc = plan_load(cfg, &np);
    if (rc == 0 && (strcmp(np.prefix, s->plan.prefix) || strcmp(np.instance, s->plan.instance)))
        rc = se_err(SE_ECONFIG, "%s: engine.instance or engine.shmPrefix changed: restart the supervisor "
                    "to move the engine", s->conf);
    if (rc < 0) {
        log_error("configuration not reloaded; the running one is kept", LOG_STR("error", se_errmsg()));
        cfg_close(cfg);
        return;
    }
    cfg_warn_unknown(cfg);
    log_info("configuration reloaded", LOG_STR("file", s->conf));
    apply_plan(s, cfg, &np, now);
}

/* Looks at the config file and every strategy's file: what changed is
 * checked, then restarted. */
static void reload(sup_t *s, int64_t now)
{
    s->reload_due_ns = 0;
    proc_file_t conf;
    proc_file_stat(&conf, s->conf);
    if (s->reread_config || proc_file_changed(&conf, &s->conf_file)) {
        s->reread_config = false;
        s->conf_file = conf;
        reread_config(s, now);
    }
    for (int i = 0; i < s->n; i++) {
        proc_t *p = &s->procs[i];
        const plan_proc_t *pp = plan_find(&s->plan, p->name);
        if (p->kind != PROC_STRATEGY || !pp || !p->started_once ||
            (p->state == PROC_STOPPING && p->then != THEN_STOP))
            continue;
        proc_file_t now_file;
        proc_file_stat(&now_file, pp->file);
        bool file_new = proc_file_changed(&now_file, &p->file);
        bool cfg_new = pp->hash != p->cfg_hash;
        if (!file_new && !cfg_new)
            continue;
        if (!proc_file_changed(&now_file, &p->rejected) && pp->hash == p->rejected_hash)
            continue; /* this very version was refused already */
        begin_check(s, p, -1, file_new ? "plugin or script changed" : "configuration changed", now);
    }
}

/* ---- the control socket --------------------------------------------------------------- */

static char *render_status(sup_t *s, bool json, int64_t now)
{
    status_info_t info = { s->set.instance, getpid(), s->plan.hot_reload, s->stop, now };
    return status_render(&info, s->procs, s->n, json);
}

static void handle_request(sup_t *s, int ci, int64_t now)
{
    conn_t *c = &s->conns[ci];
    char cmd[32] = "", arg[CONTROL_LINE_MAX] = "", extra[8] = "";
    sscanf(c->c.line, "%31s %255s %7s", cmd, arg, extra);
    if (strcmp(cmd, "status") == 0) {
        bool json = strcmp(arg, "--json") == 0 || strcmp(arg, "json") == 0;
        char *body = render_status(s, json, now);
        if (!body) {
            control_send(&c->c, "error: out of memory\n", true);
            return;
        }
        control_send(&c->c, "ok\n", false);
        control_send(&c->c, body, true);
        free(body);
        return;
    }
    if (strcmp(cmd, "stop") == 0) {
        /* The connection stays open until the supervisor exits: `stop`
         * returns when everything has stopped. */
        control_send(&c->c, "ok\nstopping: strategies, riskd, execd, ingest\n", false);
        c->waiting = true;
        c->wait_name[0] = '\0';
        c->wait_deadline_ns = INT64_MAX;
        s->stop = true;
        return;
    }
    bool is_restart = strcmp(cmd, "restart") == 0, is_reload = strcmp(cmd, "reload") == 0;
    if (!is_restart && !is_reload) {
        char text[400];
        snprintf(text, sizeof text, "error: unknown request '%.64s' (status [--json], restart NAME, "
                 "reload NAME, stop)\n", cmd);
        control_send(&c->c, text, true);
        return;
    }
    proc_t *p = arg[0] ? find_proc(s, arg) : NULL;
    if (!p) {
        char text[400];
        snprintf(text, sizeof text, "error: no process '%.64s' (see bin/strategy-engine status)\n", arg);
        control_send(&c->c, text, true);
        return;
    }
    if (is_reload) {
        if (p->kind != PROC_STRATEGY) {
            control_send(&c->c, "error: reload is for strategies; use restart for ingest, execd, riskd\n", true);
            return;
        }
        log_info("reload requested", LOG_STR("process", p->name));
        begin_check(s, p, ci, "reload requested", now);
        return;
    }
    log_info("restart requested", LOG_STR("process", p->name));
    wait_for(s, ci, p, now);
    restart_proc(s, p, now);
}

static void add_fd(sup_t *s, int fd, uint32_t tag)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };
    epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev);
}

static void accept_all(sup_t *s, int64_t now)
{
    for (;;) {
        int free_slot = -1;
        for (int i = 0; i < CONNS_MAX && free_slot < 0; i++)
            if (s->conns[i].c.fd < 0)
                free_slot = i;
        if (free_slot < 0) {
            /* All slots busy: refuse rather than queue without limit. */
            int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0)
                return;
            control_conn_t tmp = { .fd = fd };
            control_send(&tmp, "error: busy, try again\n", true);
            continue;
        }
        conn_t *c = &s->conns[free_slot];
        int rc = control_accept(s->lfd, &c->c, now);
        if (rc == -EAGAIN)
            return;
        if (rc < 0) {
            c->c.fd = -1;
            continue;
        }
        c->waiting = false;
        add_fd(s, c->c.fd, TAG_CONN + (uint32_t)free_slot);
    }
}

static void on_conn(sup_t *s, int ci, int64_t now)
{
    conn_t *c = &s->conns[ci];
    if (c->c.fd < 0)
        return;
    if (c->waiting) { /* it may only hang up now */
        char b[64];
        if (recv(c->c.fd, b, sizeof b, MSG_DONTWAIT) == 0) {
            c->waiting = false;
            control_close(&c->c);
            for (int i = 0; i < CHECKS_MAX; i++) /* nobody to answer any more */
                if (s->checks[i].pid > 0 && s->checks[i].conn == ci)
                    s->checks[i].conn = -1;
        }
        return;
    }
    int rc = control_read(&c->c);
    if (rc < 0)
        control_close(&c->c);
    else if (rc == 1)
        handle_request(s, ci, now);
}

/* ---- timers --------------------------------------------------------------------------- */

static void advance_phases(sup_t *s, int64_t now)
{
    while (s->phase < PROC_KINDS) {
        bool waiting = false;
        for (int i = 0; i < s->n; i++)
            waiting |= (int)s->procs[i].kind == s->phase && s->procs[i].state == PROC_STARTING;
        if (waiting && now < s->phase_deadline_ns)
            return;
        if (waiting)
            log_warn("not ready in time; starting the next processes anyway", LOG_INT("phase", s->phase),
                     LOG_INT("timeout_ms", s->plan.policy.start_timeout_ns / MS));
        s->phase++;
        s->phase_deadline_ns = now + s->plan.policy.start_timeout_ns;
        for (int i = 0; i < s->n && s->phase < PROC_KINDS; i++) {
            proc_t *p = &s->procs[i];
            if ((int)p->kind == s->phase && p->state == PROC_STOPPED && !p->started_once)
                spawn(s, p, now);
        }
        if (s->phase == PROC_KINDS) {
            log_info("engine started", LOG_INT("processes", s->n));
            notify_send("READY=1");
        }
    }
}

static void tick(sup_t *s, int64_t now)
{
    for (int i = 0; i < s->n; i++) {
        proc_t *p = &s->procs[i];
        if (p->state == PROC_STARTING && ready_check(&s->set, p, p->pid)) {
            p->state = PROC_RUNNING;
            p->ready_ns = now;
            double start_ms = (double)(now - p->spawned_ns) / MS;
            if (p->died_ns > 0) { /* back after a crash: how long was it gone? */
                p->last_restart_ns = now - p->died_ns;
                log_info("process ready again", LOG_STR("process", p->name), LOG_INT("pid", p->pid),
                         LOG_F64("down_ms", (double)p->last_restart_ns / MS), LOG_F64("start_ms", start_ms));
                p->died_ns = 0;
            } else {
                log_info("process ready", LOG_STR("process", p->name), LOG_INT("pid", p->pid),
                         LOG_F64("start_ms", start_ms));
            }
            publish(p);
            answer_waiters(s, p, true, NULL);
        } else if (p->state == PROC_STOPPING && p->pid > 0 && now >= p->stop_deadline_ns && !p->killed) {
            log_error("process did not stop in time: killed", LOG_STR("process", p->name), LOG_INT("pid", p->pid),
                      LOG_INT("timeout_ms", s->plan.policy.stop_timeout_ns / MS));
            kill(p->pid, SIGKILL);
            p->killed = true;
        } else if (p->state == PROC_BACKOFF && now >= p->next_start_ns && !s->stop) {
            spawn(s, p, now);
        }
    }
    for (int i = 0; i < CHECKS_MAX; i++)
        if (s->checks[i].pid > 0 && now >= s->checks[i].deadline_ns) {
            log_error("strategy check hangs: killed", LOG_STR("process", s->checks[i].name));
            kill(s->checks[i].pid, SIGKILL);
            s->checks[i].deadline_ns = INT64_MAX;
        }
    for (int i = 0; i < CONNS_MAX; i++) {
        conn_t *c = &s->conns[i];
        if (c->c.fd < 0)
            continue;
        if (c->waiting && c->wait_name[0] && now >= c->wait_deadline_ns) {
            c->waiting = false;
            control_send(&c->c, "error: not ready in time (see bin/strategy-engine status)\n", true);
        } else if (!c->waiting && now >= c->c.deadline_ns) {
            control_close(&c->c);
        }
    }
    if (s->stop)
        return; /* shutdown_all calls tick for its deadlines: nothing new starts */
    advance_phases(s, now);
    if (s->reload_due_ns && now >= s->reload_due_ns)
        reload(s, now);
    if (s->have_stats && now >= s->next_heartbeat_ns) {
        shm_writer_heartbeat(&s->stats.w);
        s->next_heartbeat_ns = now + 1000 * MS;
    }
}

/* How long epoll may sleep: 2 ms while something starts (readiness is
 * polled; 50 ms for one that takes longer than a second: it waits for
 * something), else until the next deadline, at most 250 ms. */
static int next_timeout_ms(const sup_t *s, int64_t now)
{
    int64_t until = now + 250 * MS;
    for (int i = 0; i < s->n; i++) {
        const proc_t *p = &s->procs[i];
        if (p->state == PROC_STARTING && now - p->spawned_ns < 1000 * MS)
            return 2;
        if (p->state == PROC_STARTING && now + 50 * MS < until)
            until = now + 50 * MS;
        if (p->state == PROC_BACKOFF && p->next_start_ns < until)
            until = p->next_start_ns;
        if (p->state == PROC_STOPPING && p->stop_deadline_ns < until)
            until = p->stop_deadline_ns;
    }
    if (s->reload_due_ns && s->reload_due_ns < until)
        until = s->reload_due_ns;
    if (until <= now)
        return 0;
    return (int)((until - now + MS - 1) / MS);
}

/* ---- start and stop --------------------------------------------------------------------- */

/* Waits up to timeout for the processes of group (kind, or PROC_KINDS for any)
 * among w to die; true when they all did. Not our children: polled. */
static bool wait_gone(const ready_writer_t *w, int n, int kind, int64_t timeout)
{
    int64_t deadline = clock_mono_ns() + timeout;
    for (;;) {
        bool alive = false;
        for (int i = 0; i < n; i++)
            alive |= ((int)w[i].kind == kind || kind == PROC_KINDS) && shm_pid_alive((uint32_t)w[i].pid, w[i].start);
        if (!alive)
            return true;
        if (clock_mono_ns() >= deadline)
            return false;
        usleep(2000);
    }
}

/* Processes of this instance left by an earlier supervisor (killed, so its
 * children got SIGTERM and may still be stopping) or started by hand: they
 * are stopped, in the shutdown order, before anything is started, so every
 * process of the instance is one this supervisor knows. Their segments stay:
 * the new processes take them over (positions are rebuilt from them). */
static void take_over(sup_t *s)
{
    ready_writer_t w[PROC_MAX * 2];
    int n = ready_live_writers(&s->set, w, PROC_MAX * 2);
    if (n == 0)
        return;
    log_warn("processes of this instance are running without a supervisor: stopping them first",
             LOG_INT("count", n));
    static const int order[] = { PROC_STRATEGY, PROC_RISKD, PROC_EXECD, PROC_INGEST, PROC_KINDS };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        for (int i = 0; i < n; i++)
            if ((int)w[i].kind == order[k]) {
                log_info("stopping leftover process", LOG_STR("process", w[i].process), LOG_INT("pid", w[i].pid));
                kill(w[i].pid, SIGTERM);
            }
        if (wait_gone(w, n, order[k], s->plan.policy.stop_timeout_ns))
            continue;
        for (int i = 0; i < n; i++)
            if ((int)w[i].kind == order[k] && shm_pid_alive((uint32_t)w[i].pid, w[i].start)) {
                log_error("leftover process did not stop in time: killed", LOG_STR("process", w[i].process),
                          LOG_INT("pid", w[i].pid));
                kill(w[i].pid, SIGKILL);
            }
        wait_gone(w, n, order[k], 1000 * MS);
    }
}

/* Before riskd stops, it takes what the strategies left in their rings;
 * before execd stops, what riskd left in `ord`. Bounded. */
static void drain_before(sup_t *s, proc_kind_t kind)
{
    int64_t deadline = clock_mono_ns() + DRAIN_TIMEOUT_NS;
    for (;;) {
        bool drained = true;
        if (kind == PROC_EXECD)
            drained = ready_drained(&s->set, SE_RING_ORDERS);
        for (int i = 0; kind == PROC_RISKD && i < s->n; i++) {
            char ring[80];
            if (s->procs[i].kind != PROC_STRATEGY)
                continue;
            snprintf(ring, sizeof ring, "%s%s", SE_RING_SIGNAL_PREFIX, s->procs[i].strategy);
            drained &= ready_drained(&s->set, ring);
        }
        if (drained)
            return;
        if (clock_mono_ns() >= deadline) {
            log_warn("stopping before its input was drained", LOG_STR("process", kind == PROC_RISKD ? "riskd" : "execd"));
            return;
        }
        usleep(2000);
    }
}

/* During a stop, a second SIGTERM or SIGINT (Ctrl-C twice) means now:
 * every process left is killed. True once one came. One within a second of
 * the stop is the same request twice (Ctrl-C reaches a script and the
 * supervisor it started; the script then sends SIGTERM too). */
static bool forced(sup_t *s)
{
    struct signalfd_siginfo si;
    while (!s->force && read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if ((si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) && clock_mono_ns() - s->stop_ns >= 1000 * MS) {
            s->force = true;
            log_warn("second stop signal: killing every process left");
            for (int i = 0; i < s->n; i++)
                if (s->procs[i].pid > 0) {
                    kill(s->procs[i].pid, SIGKILL);
                    s->procs[i].killed = true;
                }
        }
    return s->force;
}

static void shutdown_all(sup_t *s)
{
    s->stop = true;
    s->stop_ns = clock_mono_ns();
    notify_send("STOPPING=1");
    log_info("stopping: strategies, riskd, execd, ingest");
    for (int i = 0; i < CHECKS_MAX; i++)
        if (s->checks[i].pid > 0)
            kill(s->checks[i].pid, SIGKILL);
    int64_t now = clock_mono_ns();
    for (int i = 0; i < s->n; i++)
        if (s->procs[i].state == PROC_BACKOFF) {
            s->procs[i].state = PROC_STOPPED;
            publish(&s->procs[i]);
        }
    static const proc_kind_t order[] = { PROC_STRATEGY, PROC_RISKD, PROC_EXECD, PROC_INGEST };
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if ((order[k] == PROC_RISKD || order[k] == PROC_EXECD) && !forced(s))
            drain_before(s, order[k]);
        now = clock_mono_ns();
        for (int i = 0; i < s->n; i++)
            if (s->procs[i].kind == order[k] && s->procs[i].pid > 0) {
                stop_proc(s, &s->procs[i], THEN_STOP, now);
                if (s->force)
                    kill(s->procs[i].pid, SIGKILL);
            }
        for (;;) {
            now = clock_mono_ns();
            reap(s, now);
            bool left = false;
            for (int i = 0; i < s->n; i++)
                left |= s->procs[i].kind == order[k] && s->procs[i].pid > 0;
            if (!left)
                break;
            tick(s, now); /* SIGKILL at the deadline */
            forced(s);
            usleep(2000);
        }
    }
    /* Checks killed above. */
    for (int i = 0; i < CHECKS_MAX; i++)
        if (s->checks[i].pid > 0) {
            waitpid(s->checks[i].pid, NULL, 0);
            s->checks[i].pid = 0;
        }
    if (s->have_stats) {
        stats_close(&s->stats, true);
        s->have_stats = false;
    }
    int removed = ready_remove_segments(&s->set);
    log_info("stopped; segments removed", LOG_STR("instance", s->set.instance), LOG_INT("segments", removed));
}

static int setup(sup_t *s)
{
    int rc;
    if ((rc = cfg_open(&s->cfg, s->conf)) < 0 || (rc = plan_load(s->cfg, &s->plan)) < 0 ||
        (rc = shm_settings_load(s->cfg, &s->set)) < 0)
        return rc;
    cfg_warn_unknown(s->cfg);
    if (s->set.have_users && geteuid() != 0)
        return se_err(SE_ECONFIG, "%s: engine.users needs the supervisor started as root, to start each process "
                      "as its user (under systemd, each unit names its User= instead)", s->conf);
    if (!s->set.have_users && geteuid() == 0)
        log_warn("every process runs as root: strategies are held by their own confinement only; set engine.users "
                 "(README \"Who can do what\")", LOG_STR("config", s->conf));
    proc_file_stat(&s->conf_file, s->conf);
    notify_init();
    pid_t holder;
    if ((s->lfd = control_listen(&s->set, &holder)) < 0)
        return s->lfd;
    take_over(s);
    if ((rc = stats_open(&s->stats, &s->set, "supervisor")) < 0)
        log_warn("no stats.supervisor: metrics not published", LOG_STR("error", se_errmsg()));
    else
        s->have_stats = true;
    if (s->have_stats)
        reset_gauges(s);
    for (int i = 0; i < s->plan.n; i++)
        add_proc(s, &s->plan.procs[i]);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* A shell starts background jobs with SIGINT ignored; an ignored signal
     * never reaches a signalfd. */
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigprocmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((s->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (s->ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        return se_err(-errno, "supervisor: %s", strerror(errno));
    add_fd(s, s->sigfd, TAG_SIGNAL);
    add_fd(s, s->lfd, TAG_LISTEN);
    if (watch_open(&s->watch) == 0) {
        s->have_watch = true;
        add_fd(s, s->watch.fd, TAG_WATCH);
    } else {
        log_warn("hot reload without inotify: only SIGHUP and `reload NAME` work", LOG_STR("error", se_errmsg()));
    }
    set_watches(s);
    return 0;
}

static void on_signals(sup_t *s)
{
    struct signalfd_siginfo si;
    while (read(s->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            if (!s->stop)
                log_info("signal received: stopping", LOG_INT("signal", si.ssi_signo));
            s->stop = true;
        } else if (si.ssi_signo == SIGHUP) {
            log_info("SIGHUP: looking at the configuration and the strategies' files");
            s->reread_config = true;
            s->reload_due_ns = clock_mono_ns();
        }
        /* SIGCHLD: reaped below, whatever the count of coalesced signals. */
    }
}

int sup_run(const char *conf_path, const char *bin_dir)
{
    sup_t *s = calloc(1, sizeof *s);
    if (!s) {
        log_error("supervisor cannot start", LOG_STR("error", "out of memory"));
        return 1;
    }
    snprintf(s->conf, sizeof s->conf, "%s", conf_path);
    snprintf(s->bin, sizeof s->bin, "%s", bin_dir);
    s->ep = s->sigfd = s->lfd = -1;
    s->watch.fd = -1;
    s->phase = -1;
    for (int i = 0; i < CONNS_MAX; i++)
        s->conns[i].c.fd = -1;
    int rc = setup(s);
    if (rc < 0) {
        log_error("supervisor cannot start", LOG_STR("error", se_errmsg()));
    } else {
        log_info("supervisor started", LOG_STR("instance", s->set.instance), LOG_STR("config", s->conf),
                 LOG_INT("processes", s->n), LOG_BOOL("hot_reload", s->plan.hot_reload));
        while (!s->stop) {
            int64_t now = clock_mono_ns();
            struct epoll_event evs[16];
            int n = epoll_wait(s->ep, evs, 16, next_timeout_ms(s, now));
            now = clock_mono_ns();
            for (int i = 0; i < n; i++) {
                uint32_t tag = evs[i].data.u32;
                if (tag == TAG_SIGNAL)
                    on_signals(s);
                else if (tag == TAG_LISTEN)
                    accept_all(s, now);
                else if (tag == TAG_WATCH && watch_read(&s->watch))
                    s->reload_due_ns = now + RELOAD_SETTLE_NS;
                else if (tag >= TAG_CONN && tag < TAG_CONN + CONNS_MAX)
                    on_conn(s, (int)(tag - TAG_CONN), now);
            }
            reap(s, now);
            tick(s, now);
        }
        shutdown_all(s);
    }
    for (int i = 0; i < CONNS_MAX; i++)
        control_close(&s->conns[i].c);
    if (s->have_watch)
        watch_close(&s->watch);
    if (s->have_stats)
        stats_close(&s->stats, false);
    if (s->lfd >= 0)
        close(s->lfd);
    if (s->sigfd >= 0)
        close(s->sigfd);
    if (s->ep >= 0)
        close(s->ep);
    cfg_close(s->cfg);
    free(s);
    return rc < 0 ? 1 : 0;
}
