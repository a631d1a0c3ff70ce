/* main.c -- bin/ingest: the engine's only door for outside data. Reads the
 * configured feed (ingest.feed: synthetic | replay), validates every message
 * and publishes fixed-size records to ring `in`. Serves /health, /metrics and
 * /loglevel on ingest.httpPort (9091); SIGUSR1 cycles the log level. Stops
 * cleanly on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "ingest/publisher.h"
#include "ingest/replay.h"
#include "ingest/synthetic.h"
#include "shm/settings.h"

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static int fail(const char *what)
{
    log_error("ingest cannot start", LOG_STR("what", what), LOG_STR("error", se_errmsg()));
    return 1;
}

int main(int argc, char **argv)
{
    svc_early("ingest");
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            puts("usage: ingest [-c CONFIG]   (or CONFIG_PATH=CONFIG ingest)");
            return 0;
        }
    const char *path = cfg_path_from_args(argc, argv);
    cfg_t *cfg = NULL;
    if (path && cfg_open(&cfg, path) < 0)
        return fail("config");
    shm_settings_t set;
    svc_t *svc = NULL;
    const svc_config_t sc = { "ingest", "ingest", "ingest.httpPort", 9091, 0 };
    if (shm_settings_load(cfg, &set) < 0 || svc_open(&svc, cfg, &sc) < 0)
        return fail("config");
    cfg_warn_unknown(cfg);
    const char *feed;
    if (cfg_get_string(cfg, "ingest.feed", "synthetic", &feed) < 0)
        return fail("config");
    synth_config_t synth;
    replay_config_t replay;
    if (strcmp(feed, "synthetic") == 0) {
        if (synth_config(cfg, &synth) < 0)
            return fail("config");
    } else if (strcmp(feed, "replay") == 0) {
        if (replay_config(cfg, &replay) < 0)
            return fail("config");
    } else {
        cfg_value_error(cfg, "ingest.feed", "unknown feed '%s' (synthetic or replay)", feed);
        return fail("config");
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: a sleeping feed wakes up to stop */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    prctl(PR_SET_TIMERSLACK, 1000UL); /* pace records to the microsecond, not 50 us */

    publisher_t pub;
    if (publisher_open(&pub, cfg, &set) < 0)
        return fail("ring in");
    if (svc_start(svc, &pub.stats) < 0) {
        publisher_close(&pub);
        return fail("http");
    }
    log_info("ingest started", LOG_STR("feed", feed), LOG_STR("ring", pub.in.seg.name),
             LOG_UINT("capacity", pub.in.capacity), LOG_UINT("head", pub.in.prod_seq));
    svc_ready(svc);
    int rc = strcmp(feed, "synthetic") == 0 ? synth_run(&synth, &pub, &stop)
                                            : replay_run(&replay, &pub, &stop);
    if (rc < 0)
        log_error("feed failed", LOG_STR("feed", feed), LOG_STR("error", se_errmsg()));
    svc_close(svc);
    log_info("ingest stopped", LOG_UINT("published", pub.seq), LOG_BOOL("signalled", stop != 0));
    publisher_close(&pub);
    cfg_close(cfg);
    return rc < 0 ? 1 : 0;
}
