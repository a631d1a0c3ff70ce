/* main.c -- bin/execd: the engine's only door for orders. Takes approved
 * orders from ring `ord` and executes them (gRPC in live mode, paper fills
 * otherwise), reporting on ring `exe`. Stops cleanly on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
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
    log_init("execd");
    const char *path = cfg_path_from_args(argc, argv);
    cfg_t *cfg = NULL;
    shm_settings_t set;
    execd_t x;
    memset(&x, 0, sizeof x);
    if ((path && cfg_open(&cfg, path) < 0) || shm_settings_load(cfg, &set) < 0 ||
        (cfg_warn_unknown(cfg), execd_open(&x, cfg, &set) < 0)) {
        log_error("execd cannot start", LOG_STR("error", se_errmsg()));
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
    execd_run(&x, &stop);
    log_info("execd stopped");
    execd_close(&x);
    cfg_close(cfg);
    return 0;
}
