/* service.c -- see service.h. One service thread per process waits on a
 * signalfd (SIGUSR1) and an eventfd (stop), and wakes on time for the
 * watchdog; the HTTP server runs on libmicrohttpd's own threads. */
#include "common/service.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/log.h"

_Atomic int64_t svc__beat_ns;

struct svc {
    char process[64];
    http_server_t *http;    /* NULL when http.enabled is false */
    const shm_segment_t *stats_seg;
    svc_health_fn health;
    void *health_ctx;
    _Atomic bool ready;
    /* watchdog, touched by the service thread only (and the tests) */
    uint64_t watchdog_us;   /* 0: systemd's watchdog is off */
    int64_t next_check_ns;
    int64_t last_pinged_beat;
    bool stall_reported;
    /* the service thread */
    pthread_t thread;
    bool thread_running;
    _Atomic bool stop;
    int sig_fd, wake_fd;
};

void svc_reason(svc_reasons_t *r, const char *fmt, ...)
{
    if (r->n >= SVC_REASONS_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->text[r->n++], SVC_REASON_LEN, fmt, ap);
    va_end(ap);
}

void svc_early(const char *process)
{
    log_init(process);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL);
}

/* ---- endpoints every process serves ------------------------------------------ */

static void on_health(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req;
    svc_t *s = ctx;
    svc_reasons_t why = { 0 };
    if (!atomic_load_explicit(&s->ready, memory_order_acquire)) {
        svc_reason(&why, "%s is starting", s->process);
    } else {
        int64_t age = clock_mono_ns() - atomic_load_explicit(&svc__beat_ns, memory_order_relaxed);
        if (age > SVC_STALL_NS)
            svc_reason(&why, "%s: main loop has not run for %.1f s", s->process, (double)age / 1e9);
    }
    if (s->health)
        s->health(&why, s->health_ctx);
    if (why.n == 0) {
        fputs("{\"status\":\"healthy\",\"service\":\"strategy-engine\"}\n", res->body);
        return;
    }
    res->status = 503;
    fputs("{\"status\":\"unhealthy\",\"service\":\"strategy-engine\",\"process\":", res->body);
    http_json_str(res->body, s->process);
    fputs(",\"reasons\":[", res->body);
    for (int i = 0; i < why.n; i++) {
        if (i)
            fputc(',', res->body);
        http_json_str(res->body, why.text[i]);
    }
    fputs("]}\n", res->body);
}

static void on_metrics(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req;
    svc_t *s = ctx;
    res->content_type = HTTP_PROMETHEUS;
    if (stats_render_prometheus(s->stats_seg, s->process, res->body) < 0) {
        rewind(res->body);
        http_error(res, 500, "cannot render the stats block: %s", se_errmsg());
    }
}

static void on_get_loglevel(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)req, (void)ctx;
    fprintf(res->body, "{\"level\":\"%s\"}\n", log_level_name(log_get_level()));
}

static void on_post_loglevel(const http_request_t *req, http_response_t *res, void *ctx)
{
    (void)ctx;
    char name[16];
    log_level_t level, before = log_get_level();
    int rc = http_body_string(req, "level", name, sizeof name);
    if (rc < 0) {
        http_error(res, 400, "%s; expected {\"level\":\"debug|info|warn|error\"}", se_errmsg());
        return;
    }
    if (log_level_parse(name, &level) < 0) {
        http_error(res, 400, "unknown level \"%s\"; expected debug, info, warn or error", name);
        return;
    }
    log_set_level(level);
    /* At a level that passes the new threshold: the operator must see it. */
    log_write(level > LOG_LEVEL_INFO ? level : LOG_LEVEL_INFO, "log level set",
              (const log_field_t[]){ LOG_STR("level", log_level_name(level)),
                                     LOG_STR("previous", log_level_name(before)), LOG_STR("by", "http"), LOG_END });
    fprintf(res->body, "{\"level\":\"%s\",\"previous\":\"%s\"}\n", log_level_name(level),
            log_level_name(before));
}

/* ---- configuration ----------------------------------------------------------- */

static int read_log_level(const cfg_t *cfg, const char *section)
{
    const char *env = getenv("SE_LOG_LEVEL");
    if (env && *env)
        return 0; /* the operator's override for this run (log.c applied it) */
    char key[96];
    const char *name, *from = "engine.logLevel";
    int rc = cfg_get_string(cfg, "engine.logLevel", "info", &name);
    if (rc < 0)
        return rc;
    snprintf(key, sizeof key, "%s.logLevel", section);
    const char *own;
    if ((rc = cfg_get_string(cfg, key, name, &own)) < 0)
        return rc;
    if (own != name)
        from = key;
    log_level_t level;
    if (log_level_parse(own, &level) < 0)
        return cfg_value_error(cfg, from, "log level '%s' is not debug, info, warn or error", own);
    log_set_level(level);
    return 0;
}

int svc_open(svc_t **out, const cfg_t *cfg, const svc_config_t *c)
{
    *out = NULL;
    int rc = read_log_level(cfg, c->section);
    bool enabled;
    const char *bind;
    int64_t port;
    if (rc < 0 || (rc = cfg_get_bool(cfg, "http.enabled", true, &enabled)) < 0 ||
        (rc = cfg_get_string(cfg, "http.bind", "127.0.0.1", &bind)) < 0 ||
        (rc = cfg_get_int_range(cfg, c->port_key, c->default_port, 0, 65535, &port)) < 0)
        return rc;
    if (port != 0 && port + c->port_offset > 65535)
        return cfg_value_error(cfg, c->port_key, "%lld + %d (this process's offset) is beyond port 65535",
                               (long long)port, c->port_offset);
    svc_t *s = calloc(1, sizeof *s);
    if (!s)
        return se_err(-ENOMEM, "service: out of memory");
    snprintf(s->process, sizeof s->process, "%s", c->process);
    s->sig_fd = s->wake_fd = -1;
    if (sd_watchdog_enabled(0, &s->watchdog_us) <= 0)
        s->watchdog_us = 0;
    if (enabled) {
        if ((rc = http_open(&s->http, bind, port ? (int)port + c->port_offset : 0)) < 0) {
            free(s);
            return cfg_value_error(cfg, "http.bind", "%s", se_errmsg());
        }
        if ((rc = http_route(s->http, "GET", "/health", on_health, s)) < 0 ||
            (rc = http_route(s->http, "GET", "/metrics", on_metrics, s)) < 0 ||
            (rc = http_route(s->http, "GET", "/loglevel", on_get_loglevel, s)) < 0 ||
            (rc = http_route(s->http, "POST", "/loglevel", on_post_loglevel, s)) < 0) {
            http_close(s->http);
            free(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int svc_route(svc_t *s, const char *method, const char *path, http_handler_fn fn, void *ctx)
{
    return s->http ? http_route(s->http, method, path, fn, ctx) : 0;
}

void svc_set_health(svc_t *s, svc_health_fn fn, void *ctx)
{
    s->health = fn;
    s->health_ctx = ctx;
}

/* ---- the service thread -------------------------------------------------------- */

bool svc__watchdog_step(svc_t *s, int64_t now)
{
    if (!s->watchdog_us || !atomic_load_explicit(&s->ready, memory_order_acquire) || now < s->next_check_ns)
        return false;
    int64_t half = (int64_t)s->watchdog_us * 500; /* half the period, in ns */
    int64_t beat = atomic_load_explicit(&svc__beat_ns, memory_order_relaxed);
    if (beat != s->last_pinged_beat) {
        s->last_pinged_beat = beat;
        s->next_check_ns = now + half;
        s->stall_reported = false;
        sd_notify(0, "WATCHDOG=1");
        return true;
    }
    /* Stalled: no ping, so systemd restarts us if it lasts; look again soon,
     * so a loop that recovers feeds the watchdog in time. */
    s->next_check_ns = now + (half < 100000000 ? half : 100000000);
    if (!s->stall_reported) {
        s->stall_reported = true;
        log_error("main loop stalled: watchdog not fed", LOG_F64("since_s", (double)(now - beat) / 1e9));
    }
    return false;
}

static void cycle_log_level(void)
{
    log_level_t level = log_cycle_level();
    log_write(level > LOG_LEVEL_INFO ? level : LOG_LEVEL_INFO, "log level set",
              (const log_field_t[]){ LOG_STR("level", log_level_name(level)), LOG_STR("by", "SIGUSR1"), LOG_END });
}

static void *service_thread(void *arg)
{
    svc_t *s = arg;
    struct pollfd fds[2] = { { s->sig_fd, POLLIN, 0 }, { s->wake_fd, POLLIN, 0 } };
    for (;;) {
        int timeout_ms = 1000;
        if (s->watchdog_us && atomic_load_explicit(&s->ready, memory_order_acquire)) {
            int64_t until = s->next_check_ns - clock_mono_ns();
            timeout_ms = until <= 0 ? 0 : until < 1000000000 ? (int)((until + 999999) / 1000000) : 1000;
        }
        int n = poll(fds, 2, timeout_ms);
        eventfd_t ignored;
        if (n > 0 && (fds[1].revents & POLLIN))
            eventfd_read(s->wake_fd, &ignored);
        if (atomic_load_explicit(&s->stop, memory_order_acquire))
            break;
        if (n > 0 && (fds[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            while (read(s->sig_fd, &si, sizeof si) == (ssize_t)sizeof si)
                cycle_log_level();
        }
        svc__watchdog_step(s, clock_mono_ns());
    }
    return NULL;
}

static int start_thread(svc_t *s)
{
    sigset_t usr1, all, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* svc_early did it already; a test may not have */
    if ((s->sig_fd = signalfd(-1, &usr1, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
        (s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return se_err(-errno, "service: %s", strerror(errno));
    /* The thread takes no signal: SIGTERM and the like stay with the main loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, service_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return se_err(-rc, "service: cannot start its thread: %s", strerror(rc));
    s->thread_running = true;
    return 0;
}

int svc_start(svc_t *s, stats_t *stats)
{
    s->stats_seg = &stats->w.seg;
    stats_metric_t *port = stats_metric(stats, STATS_GAUGE, "http_port", NULL);
    int rc;
    if (s->http) {
        if ((rc = http_start(s->http)) < 0)
            return rc;
        log_info("http listening", LOG_STR("bind", http_bind_address(s->http)),
                 LOG_INT("port", http_port(s->http)));
    }
    if (port)
        stats_set(port, (double)http_port(s->http));
    return start_thread(s);
}

int svc_port(const svc_t *s)
{
    return s ? http_port(s->http) : 0;
}

void svc_ready(svc_t *s)
{
    int64_t now = clock_mono_ns();
    svc_beat(now);
    s->next_check_ns = now; /* the first ping goes out at once */
    s->last_pinged_beat = 0;
    /* Pairs with the acquire loads in the service thread and /health. */
    atomic_store_explicit(&s->ready, true, memory_order_release);
    sd_notify(0, "READY=1");
    if (s->thread_running)
        eventfd_write(s->wake_fd, 1); /* the first watchdog ping goes out now */
}

void svc_close(svc_t *s)
{
    if (!s)
        return;
    sd_notify(0, "STOPPING=1");
    if (s->thread_running) {
        /* Pairs with the acquire load in the service thread. */
        atomic_store_explicit(&s->stop, true, memory_order_release);
        eventfd_write(s->wake_fd, 1);
        pthread_join(s->thread, NULL);
    }
    http_close(s->http);
    if (s->sig_fd >= 0)
        close(s->sig_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
}
