/* main.c -- bin/riskd: the engine's gate between strategies and execution.
 * Aggregates signals, runs the pre-trade risk checks, keeps positions and PnL.
 * SIGUSR1 turns the kill switch on (HALTED: no order passes), SIGUSR2 off.
 * Stops cleanly on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "riskd/runner.h"
#include "shm/settings.h"

static volatile sig_atomic_t stop, kill_switch;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        kill_switch = 1;
    else if (sig == SIGUSR2)
        kill_switch = 2;
    else
        stop = 1;
}

int main(int argc, char **argv)
{
    log_init("riskd");
    const char *path = cfg_path_from_args(argc, argv);
    if (!path) {
        fprintf(stderr, "usage: riskd -c CONFIG   (or CONFIG_PATH=CONFIG riskd)\n");
        return 2;
    }
    cfg_t *cfg = NULL;
    shm_settings_t set;
    static riskd_t d; /* large: the book's tables are allocated, but its arrays of names are not small */
    if (cfg_open(&cfg, path) < 0 || shm_settings_load(cfg, &set) < 0 ||
        (cfg_warn_unknown(cfg), riskd_open(&d, cfg, &set) < 0)) {
        log_error("riskd cannot start", LOG_STR("error", se_errmsg()));
        riskd_close(&d);
        cfg_close(cfg);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    log_info("riskd started", LOG_INT("strategies", d.nstrategies), LOG_BOOL("risk_enabled", d.limits.enabled),
             LOG_STR("orders", d.ord.seg.name));
    riskd_run(&d, &stop, &kill_switch);
    log_info("riskd stopped");
    riskd_close(&d);
    cfg_close(cfg);
    return 0;
}
