/* live.c -- see live.h. */
#include "ingest/live.h"

#include <signal.h>
#include <string.h>

#include "common/err.h"
#include "common/log.h"

typedef struct {
    uv_loop_t loop;
    uv_signal_t sigint, sigterm;
    uv_prepare_t before_sleep;
    uv_timer_t tick;
    publisher_t *pub;
    redis_feed_t redis;
    bool redis_on;
    nats_feed_t *nats;
    volatile sig_atomic_t *signalled;
    bool stopping;
} live_t;

/* Every record published since the loop last slept wakes its readers now,
 * once per batch rather than once per record. */
static void on_before_sleep(uv_prepare_t *h)
{
    live_t *l = h->data;
    publisher_flush(l->pub);
}

/* Heartbeats, and the NATS feed's chores (JetStream set-up retries). */
static void on_tick(uv_timer_t *t)
{
    live_t *l = t->data;
    publisher_idle(l->pub);
}

static void on_signal(uv_signal_t *s, int signum)
{
    live_t *l = s->data;
    if (l->stopping)
        return;
    l->stopping = true;
    if (signum) {
        *l->signalled = 1;
        log_info("ingest stopping", LOG_INT("signal", signum));
    }
    if (l->redis_on)
        redis_feed_stop(&l->redis);
    if (l->nats)
        nats_feed_stop(l->nats);
    uv_close((uv_handle_t *)&l->sigint, NULL);
    uv_close((uv_handle_t *)&l->sigterm, NULL);
    uv_close((uv_handle_t *)&l->before_sleep, NULL);
    uv_close((uv_handle_t *)&l->tick, NULL);
}

int live_run(publisher_t *pub, const redis_config_t *redis, nats_feed_t *nats, volatile sig_atomic_t *signalled)
{
    live_t l;
    memset(&l, 0, sizeof l);
    l.pub = pub;
    l.nats = nats;
    l.signalled = signalled;
    int rc = uv_loop_init(&l.loop);
    if (rc < 0)
        return se_err(rc, "event loop: %s", uv_strerror(rc));
    uv_signal_init(&l.loop, &l.sigint);
    uv_signal_init(&l.loop, &l.sigterm);
    uv_prepare_init(&l.loop, &l.before_sleep);
    uv_timer_init(&l.loop, &l.tick);
    l.sigint.data = l.sigterm.data = l.before_sleep.data = l.tick.data = &l;
    uv_signal_start(&l.sigint, on_signal, SIGINT);
    uv_signal_start(&l.sigterm, on_signal, SIGTERM);
    uv_prepare_start(&l.before_sleep, on_before_sleep);
    uv_timer_start(&l.tick, on_tick, 100, 100);
    if (redis) {
        if ((rc = redis_feed_start(&l.redis, redis, &l.loop, pub)) < 0)
            goto fail;
        l.redis_on = true;
    }
    if (nats) {
        pub->idle_hook = nats_feed_poll_hook;
        pub->idle_arg = nats;
        if ((rc = nats_feed_attach(nats, &l.loop)) < 0 || (rc = nats_feed_connect(nats)) < 0)
            goto fail;
    }
    uv_run(&l.loop, UV_RUN_DEFAULT);
    pub->idle_hook = NULL;
    publisher_flush(pub);
    if (uv_loop_close(&l.loop) != 0)
        log_warn("event loop closed with handles still open");
    return 0;
fail:
    /* The message is set; stop what started (signal 0: not a signal) and
     * let the loop close it. */
    {
        char msg[512];
        strncpy(msg, se_errmsg(), sizeof msg - 1);
        msg[sizeof msg - 1] = '\0';
        on_signal(&l.sigterm, 0);
        uv_run(&l.loop, UV_RUN_DEFAULT);
        pub->idle_hook = NULL;
        uv_loop_close(&l.loop);
        return se_err(rc, "%s", msg);
    }
}
