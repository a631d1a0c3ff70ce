/* main.c -- bin/riskd: the engine's gate between strategies and execution.
 * Aggregates signals, runs the pre-trade risk checks, keeps positions and PnL.
 * Serves the engine's /health, /status, /killswitch, /metrics and /loglevel
 * on riskd.httpPort (9092). SIGUSR2 engages the kill switch (HALTED: no order
 * passes; released over HTTP only, POST /killswitch {"enabled":false});
 * SIGUSR1 cycles the log level. Stops cleanly on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "riskd/endpoints.h"
#include "riskd/runner.h"
#include "shm/settings.h"

static volatile sig_atomic_t stop;
static riskd_t d; /* large: the book's tables are allocated, but its arrays of names are not small */

static void on_signal(int sig)
{
    if (sig == SIGUSR2) /* the operator's panic button: engage only, never release */
        riskd_request_kill_switch(&d.ctl, true);
    else
        stop = 1;
}

int main(int argc, char **argv)
{
    svc_early("riskd");
    const char *path = cfg_path_from_args(argc, argv);
    if (!path) {
        fprintf(stderr, "usage: riskd -c CONFIG   (or CONFIG_PATH=CONFIG riskd)\n");
        return 2;
    }
    cfg_t *cfg = NULL;
    shm_settings_t set;
    svc_t *svc = NULL;
    const svc_config_t sc = { "riskd", "riskd", "riskd.httpPort", 9092, 0 };
    if (cfg_open(&cfg, path) < 0 || shm_settings_load(cfg, &set) < 0 || svc_open(&svc, cfg, &sc) < 0 ||
        (cfg_warn_unknown(cfg), riskd_open(&d, cfg, &set) < 0) || riskd_endpoints_add(svc, &d) < 0 ||
        svc_start(svc, &d.stats) < 0) {
        log_error("riskd cannot start", LOG_STR("error", se_errmsg()));
        svc_close(svc);
        riskd_close(&d);
        cfg_close(cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    log_info("riskd started", LOG_INT("strategies", d.nstrategies), LOG_BOOL("risk_enabled", d.limits.enabled),
             LOG_STR("orders", d.ord.seg.name));
    svc_ready(svc);
    riskd_run(&d, &stop);
    svc_close(svc);
    log_info("riskd stopped");
    riskd_close(&d);
    cfg_close(cfg);
    return 0;
}
