/* main.c -- bin/ingest: the engine's only door for outside data. Reads the
 * configured market-data feed (ingest.feed: synthetic | replay | redis | none)
 * and, with nats.enabled, fills and positions from NATS alongside it;
 * validates every message and publishes fixed-size records to ring `in`.
 * Serves /health (unhealthy while a live feed is not connected), /metrics and
 * /loglevel on ingest.httpPort (9091); SIGUSR1 cycles the log level. Stops
 * cleanly on SIGTERM/SIGINT. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "common/config.h"
#include "common/err.h"
#include "common/log.h"
#include "common/service.h"
#include "ingest/live.h"
#include "ingest/nats_feed.h"
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

/* The live feeds' connection gauges, for /health. */
typedef struct {
    const char *feed[2];
    stats_metric_t *connected[2];
    int n;
} feeds_health_t;

/* On the HTTP thread: a live feed that is not connected makes ingest
 * unhealthy (the gauges are written by the loop; a relaxed read suffices). */
static void feeds_health(svc_reasons_t *reasons, void *ctx)
{
    const feeds_health_t *h = ctx;
    for (int i = 0; i < h->n; i++)
        if (stats_gauge_value(h->connected[i]) != 1)
            svc_reason(reasons, "%s feed not connected", h->feed[i]);
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
    redis_config_t redis;
    nats_config_t nats;
    bool live = false;
    if (strcmp(feed, "synthetic") == 0) {
        if (synth_config(cfg, &synth) < 0)
            return fail("config");
    } else if (strcmp(feed, "replay") == 0) {
        if (replay_config(cfg, &replay) < 0)
            return fail("config");
    } else if (strcmp(feed, "redis") == 0) {
        if (redis_config(cfg, &redis) < 0)
            return fail("config");
        live = true;
    } else if (strcmp(feed, "none") == 0) {
        live = true;
    } else {
        cfg_value_error(cfg, "ingest.feed", "unknown feed '%s' (synthetic, replay, redis or none)", feed);
        return fail("config");
    }
    if (nats_config(cfg, &nats) < 0)
        return fail("config");
    if (strcmp(feed, "none") == 0 && !nats.enabled) {
        cfg_value_error(cfg, "ingest.feed", "\"none\" needs nats.enabled (or nats.url): nothing to ingest");
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
    nats_feed_t *nf = NULL;
    if (nats.enabled && nats_feed_open(&nf, &nats, &pub) < 0) {
        publisher_close(&pub);
        return fail("nats feed");
    }
    /* The gauges exist before the feeds start (they find them by name), so
     * /health never looks at a metric being created. */
    static feeds_health_t health;
    if (strcmp(feed, "redis") == 0) {
        health.feed[health.n] = "redis";
        health.connected[health.n++] = stats_metric(&pub.stats, STATS_GAUGE, "feed_connected", "feed=\"redis\"");
    }
    if (nf) {
        health.feed[health.n] = "nats";
        health.connected[health.n++] = stats_metric(&pub.stats, STATS_GAUGE, "feed_connected", "feed=\"nats\"");
    }
    for (int i = 0; i < health.n; i++)
        if (!health.connected[i]) {
            nats_feed_free(nf);
            publisher_close(&pub);
            se_err(-ENOSPC, "stats block of ingest: no room for feed_connected");
            return fail("stats");
        }
    if (health.n)
        svc_set_health(svc, feeds_health, &health);
    if (svc_start(svc, &pub.stats) < 0) {
        nats_feed_free(nf);
        publisher_close(&pub);
        return fail("http");
    }
    log_info("ingest started", LOG_STR("feed", feed), LOG_STR("ring", pub.in.seg.name),
             LOG_UINT("capacity", pub.in.capacity), LOG_UINT("head", pub.in.prod_seq),
             LOG_BOOL("nats", nf != NULL));
    svc_ready(svc);
    int rc;
    if (live) {
        rc = live_run(&pub, strcmp(feed, "redis") == 0 ? &redis : NULL, nf, &stop);
    } else {
        /* NATS beside a feed that runs its own loop: its messages are
         * published from that loop's idle calls (before every wait, at most
         * 100 ms apart, and every 4096 records at full speed). */
        if (nf) {
            pub.idle_hook = nats_feed_poll_hook;
            pub.idle_arg = nf;
        }
        rc = nf ? nats_feed_connect(nf) : 0;
        if (rc == 0)
            rc = strcmp(feed, "synthetic") == 0 ? synth_run(&synth, &pub, &stop) : replay_run(&replay, &pub, &stop);
        if (nf)
            nats_feed_stop(nf);
        pub.idle_hook = NULL;
    }
    if (rc < 0)
        log_error("feed failed", LOG_STR("feed", feed), LOG_STR("error", se_errmsg()));
    svc_close(svc);
    log_info("ingest stopped", LOG_UINT("published", pub.seq), LOG_BOOL("signalled", stop != 0));
    nats_feed_free(nf);
    publisher_close(&pub);
    cfg_close(cfg);
    return rc < 0 ? 1 : 0;
}
