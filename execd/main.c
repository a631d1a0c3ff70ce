/* main.c -- bin/execd: the engine's only door for orders. Takes approved
 * orders from ring `ord` and executes them (gRPC in live mode, paper fills
 * otherwise), reporting on ring `exe`. Serves /health, /metrics and /loglevel
 * on execd.httpPort (9093); SIGUSR1 cycles the log level. Stops cleanly on
 * SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "execd/runner.h"
#include "shm/settings.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    svc_early("execd");
    const char *path = cfg_path_from_args(argc, argv);
    cfg_t *cfg = NULL;
    shm_settings_t set;
    execd_t x;
    svc_t *svc = NULL;
    const svc_config_t sc = { "execd", "execd", "execd.httpPort", 9093, 0 };
    memset(&x, 0, sizeof x);
    if ((path && cfg_open(&cfg, path) < 0) || shm_settings_load(cfg, &set) < 0 || svc_open(&svc, cfg, &sc) < 0 ||
        (cfg_warn_unknown(cfg), execd_open(&x, cfg, &set) < 0) || svc_start(svc, &x.stats) < 0) {
        log_error("execd cannot start", LOG_STR("error", se_errmsg()));
        svc_close(svc);
        execd_close(&x);
        cfg_close(cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_TIMERSLACK, 1000UL); /* simulated latency to the microsecond */
    log_info("execd started", LOG_STR("backend", x.backend.name), LOG_STR("ring", x.exe.seg.name));
    svc_ready(svc);
    execd_run(&x, &stop);
    svc_close(svc);
    log_info("execd stopped");
    execd_close(&x);
    cfg_close(cfg);
    return 0;
}
