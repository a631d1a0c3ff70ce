/* main.c -- bin/strategyd: hosts one strategy instance (-s NAME, one of
 * strategies.enabled) in its own process, so a strategy that crashes or hangs
 * never takes the rest of the engine with it. Serves /health, /metrics and
 * /loglevel on strategyd.httpBasePort (9100) + the strategy's index in
 * strategies.enabled; SIGUSR1 cycles the log level. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "shm/settings.h"
#include "strategyd/runner.h"

static volatile sig_atomic_t stop, running;

static void on_stop(int sig)
{
    (void)sig;
    /* Still starting, perhaps waiting for ring `in` with no ingest to make
     * it: nothing to stop cleanly yet, and the wait would never see the flag. */
    if (!running)
        _exit(0);
    stop = 1;
}

/* The event loop as host_run wants it: a plugin may run it under its own
 * runtime's frame (strategy.h, strat_plugin_run). */
typedef struct {
    runner_t *r;
    const volatile sig_atomic_t *stop;
} loop_t;

static int loop(void *arg)
{
    loop_t *l = arg;
    return runner_run(l->r, l->stop);
}

static const char *strategy_arg(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "-s", 2) == 0 && argv[i][2])
            return argv[i] + 2;
    }
    return NULL;
}

/* The strategy's index in strategies.enabled (its HTTP port's offset); 0
 * when absent, which runner_open then refuses with the reason. */
static int enabled_index(const cfg_t *cfg, const char *name)
{
    const char **enabled;
    int n;
    if (cfg_get_string_list(cfg, "strategies.enabled", &enabled, &n) < 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(enabled[i], name) == 0)
            return i;
    return 0;
}

/* --check: load, create and init the strategy, then exit 0 or 1, touching no
 * ring, stats block or port (the strategy may be running): what a supervisor
 * runs before it restarts a strategy on a new plugin or script. */
static int check_only(const char *path, const char *name)
{
    cfg_t *cfg = NULL;
    host_t h;
    int rc = cfg_open(&cfg, path);
    if (rc == 0 && (rc = host_init(&h, cfg, name)) == 0)
        rc = host_check(&h);
    if (rc < 0)
        log_error("strategy check failed", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
    else
        log_info("strategy check passed", LOG_STR("strategy", name));
    cfg_close(cfg);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    const char *name = strategy_arg(argc, argv);
    const char *path = cfg_path_from_args(argc, argv);
    char process[64];
    snprintf(process, sizeof process, "strategyd.%s", name ? name : "?");
    svc_early(process);
    if (!name || !path) {
        fprintf(stderr, "usage: strategyd -c CONFIG -s STRATEGY [--check]   (CONFIG_PATH may replace -c)\n");
        return 2;
    }
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--check") == 0)
            return check_only(path, name);
    cfg_t *cfg = NULL;
    shm_settings_t set;
    runner_t r;
    svc_t *svc = NULL;
    svc_config_t sc = { process, "strategyd", "strategyd.httpBasePort", 9100, 0 };
    if (cfg_open(&cfg, path) < 0 || shm_settings_load(cfg, &set) < 0 ||
        (sc.port_offset = enabled_index(cfg, name), svc_open(&svc, cfg, &sc) < 0)) {
        log_error("strategyd cannot start", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
        cfg_close(cfg);
        return 1;
    }
    cfg_warn_unknown(cfg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (runner_open(&r, cfg, &set, name) < 0 || svc_start(svc, &r.stats) < 0) {
        log_error("strategyd cannot start", LOG_STR("strategy", name), LOG_STR("error", se_errmsg()));
        svc_close(svc);
        runner_close(&r);
        cfg_close(cfg);
        return 1;
    }
    log_info("strategy started", LOG_STR("strategy", name), LOG_STR("source", r.strat.source),
             LOG_BOOL("observation", r.observe), LOG_STR("signals", r.sig.seg.name));
    running = 1;
    svc_ready(svc);
    int rc = host_run(&r.strat, loop, &(loop_t){ &r, &stop });
    svc_close(svc);
    log_info("strategy stopped", LOG_STR("strategy", name));
    runner_close(&r);
    cfg_close(cfg);
    return rc < 0 ? 1 : 0;
}
