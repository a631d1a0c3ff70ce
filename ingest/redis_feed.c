/* redis_feed.c -- see redis_feed.h. hiredis 0.14: the async context is freed
 * by hiredis itself after a failed connect or a drop, so f->ac is forgotten in
 * those callbacks, and a subscription callback may be called with a NULL reply
 * while the context is torn down. The libuv glue is our own (below): the
 * adapter hiredis 0.14 ships ignores a poll error, and libuv reports a refused
 * connect as one, so a reconnect attempt would hang for ever. */
#include "ingest/redis_feed.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis.h>
#include <async.h>

#include "common/err.h"
#include "common/log.h"
#include "ingest/reply_pool.h"
#include "ingest/validate.h"

int redis_config(const cfg_t *cfg, redis_config_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t port, min_ms, max_ms, timeout_ms;
    int rc;
    if ((rc = cfg_get_string(cfg, "redis.host", "127.0.0.1", &out->host)) < 0 ||
        (rc = cfg_get_int_range(cfg, "redis.port", 6379, 1, 65535, &port)) < 0 ||
        (rc = cfg_get_string(cfg, "redis.password", "", &out->password)) < 0 ||
        (rc = cfg_get_string(cfg, "redis.pattern", "md.*", &out->pattern)) < 0 ||
        (rc = cfg_get_int_range(cfg, "redis.reconnectMinMs", 100, 1, 60000, &min_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "redis.reconnectMaxMs", 5000, 1, 600000, &max_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "redis.connectTimeoutMs", 3000, 10, 600000, &timeout_ms)) < 0)
        return rc;
    if (!out->host[0])
        return cfg_value_error(cfg, "redis.host", "must not be empty");
    if (!out->pattern[0])
        return cfg_value_error(cfg, "redis.pattern", "must not be empty");
    if (max_ms < min_ms)
        return cfg_value_error(cfg, "redis.reconnectMaxMs", "%lld is below redis.reconnectMinMs (%lld)",
                               (long long)max_ms, (long long)min_ms);
    out->port = (int)port;
    out->reconnect_min_ms = (uint32_t)min_ms;
    out->reconnect_max_ms = (uint32_t)max_ms;
    out->connect_timeout_ms = (uint32_t)timeout_ms;
    return 0;
}

/* ---- hiredis on libuv ------------------------------------------------------ */

typedef struct {
    redisAsyncContext *ac; /* NULL once hiredis has let go of it */
    uv_poll_t poll;
    int events;            /* UV_READABLE | UV_WRITABLE wanted by hiredis */
} glue_t;

static void glue_on_poll(uv_poll_t *h, int status, int events)
{
    glue_t *g = h->data;
    if (status < 0) {
        /* A socket error (refused connect, reset): libuv has stopped the
         * handle, so what hiredis asks for next must start it again. Let
         * hiredis find the error: a connect in progress learns it on the
         * write side, an established connection on the read side; either
         * ends in a callback of ours. */
        int wanted = g->events;
        g->events = 0;
        if (g->ac)
            redisAsyncHandleWrite(g->ac);
        if (g->ac && (wanted & UV_READABLE))
            redisAsyncHandleRead(g->ac);
        return;
    }
    if (g->ac && (events & UV_READABLE))
        redisAsyncHandleRead(g->ac);
    if (g->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(g->ac);
}

/* hiredis asks for reads again after every read: only a change reaches
 * libuv, which would otherwise re-arm epoll (a system call) each time. */
static void glue_update(glue_t *g, int events)
{
    if (events == g->events)
        return;
    g->events = events;
    if (events)
        uv_poll_start(&g->poll, events, glue_on_poll);
    else
        uv_poll_stop(&g->poll);
}

static void glue_add_read(void *p)
{
    glue_update(p, ((glue_t *)p)->events | UV_READABLE);
}

static void glue_del_read(void *p)
{
    glue_update(p, ((glue_t *)p)->events & ~UV_READABLE);
}

static void glue_add_write(void *p)
{
    glue_update(p, ((glue_t *)p)->events | UV_WRITABLE);
}

static void glue_del_write(void *p)
{
    glue_update(p, ((glue_t *)p)->events & ~UV_WRITABLE);
}

static void glue_closed(uv_handle_t *h)
{
    free(h->data);
}

/* hiredis is freeing the context: the poll handle goes with it. */
static void glue_cleanup(void *p)
{
    glue_t *g = p;
    g->ac = NULL;
    uv_close((uv_handle_t *)&g->poll, glue_closed);
}

static int glue_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    glue_t *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    int rc = uv_poll_init(loop, &g->poll, ac->c.fd);
    if (rc < 0) {
        free(g);
        return rc;
    }
    g->ac = ac;
    g->poll.data = g;
    ac->ev.data = g;
    ac->ev.addRead = glue_add_read;
    ac->ev.delRead = glue_del_read;
    ac->ev.addWrite = glue_add_write;
    ac->ev.delWrite = glue_del_write;
    ac->ev.cleanup = glue_cleanup;
    return 0;
}

/* ---- the feed ------------------------------------------------------------- */

static void connect_now(redis_feed_t *f);

static void on_retry(uv_timer_t *t)
{
    connect_now(t->data);
}

/* A connection attempt failed (or the connection dropped): wait, then retry. */
static void retry_later(redis_feed_t *f, const char *why)
{
    f->ac = NULL;
    if (f->stopping)
        return;
    uv_timer_start(&f->retry, on_retry, link_failed(&f->link, why), 0);
}

/* Every reply on the subscription: the PSUBSCRIBE confirmation, then one
 * ["pmessage", pattern, channel, payload] per message. reply is NULL while
 * hiredis tears the context down; hiredis frees reply after we return. */
static void on_message(redisAsyncContext *ac, void *reply_, void *privdata)
{
    redis_feed_t *f = privdata;
    redisReply *reply = reply_;
    (void)ac;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3)
        return;
    const redisReply *kind = reply->element[0];
    if (reply->elements == 4 && kind->type == REDIS_REPLY_STRING && kind->len == 8 &&
        memcmp(kind->str, "pmessage", 8) == 0) {
        const redisReply *payload = reply->element[3];
        se_in_rec_t rec;
        val_result_t r = VAL_WRONG_TYPE;
        val_detail_t why;
        if (payload->type == REDIS_REPLY_STRING)
            r = val_market_data(payload->str, payload->len, &rec, &why);
        else
            snprintf(why.text, sizeof why.text, "payload is not a string (RESP type %d)", payload->type);
        if (r == VAL_OK) {
            publisher_put(f->pub, &rec);
            link_latency(&f->link, rec.ts_source_ns, rec.ts_ingest_ns);
            return;
        }
        const redisReply *chan = reply->element[2];
        char where[96];
        snprintf(where, sizeof where, "redis %.*s", chan->type == REDIS_REPLY_STRING ? (int)chan->len : 0,
                 chan->type == REDIS_REPLY_STRING ? chan->str : "");
        publisher_drop(f->pub, r, &why, where);
        return;
    }
    if (kind->type == REDIS_REPLY_STRING && kind->len == 10 && memcmp(kind->str, "psubscribe", 10) == 0) {
        uv_timer_stop(&f->retry); /* the connect timeout */
        link_up(&f->link, f->where);
    }
}

static void on_auth(redisAsyncContext *ac, void *reply_, void *privdata)
{
    redis_feed_t *f = privdata;
    redisReply *reply = reply_;
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR) {
        /* A wrong password stays wrong, but the operator may fix it on the
         * server: keep retrying, slowly (the backoff), and say why once. */
        snprintf(f->why, sizeof f->why, "AUTH refused: %.*s", (int)reply->len, reply->str);
        redisAsyncDisconnect(ac); /* on_disconnect retries, saying why */
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_feed_t *f = ac->data;
    if (status != REDIS_OK && f->ac == ac)
        retry_later(f, ac->errstr); /* forgets ac: hiredis frees it after we return */
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_feed_t *f = ac->data;
    /* Not ours any more: a failed connect (on_connect retried already; some
     * hiredis versions report it here too) or a context we are stopping. */
    if (f->ac != ac)
        return;
    char why[sizeof f->why];
    snprintf(why, sizeof why, "%s",
             f->why[0] ? f->why : status == REDIS_OK ? "closed" : ac->errstr[0] ? ac->errstr : "connection lost");
    f->why[0] = '\0';
    f->ac = NULL;
    if (f->stopping)
        return;
    link_down(&f->link, why);
    retry_later(f, why);
}

/* hiredis 0.14 has no connect timeout: a server that never answers (a host
 * gone without a reset) would leave the attempt pending for ever. */
static void on_connect_timeout(uv_timer_t *t)
{
    redis_feed_t *f = t->data;
    if (!f->ac || f->link.up)
        return;
    redisAsyncContext *ac = f->ac;
    f->ac = NULL; /* on_disconnect, if hiredis calls it, ignores it */
    redisAsyncFree(ac);
    retry_later(f, "no answer within redis.connectTimeoutMs");
}

static void connect_now(redis_feed_t *f)
{
    if (f->stopping || f->ac)
        return;
    redisAsyncContext *ac = redisAsyncConnect(f->c.host, f->c.port);
    if (!ac) {
        retry_later(f, "out of memory");
        return;
    }
    if (ac->err) {
        char why[160];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        retry_later(f, why);
        return;
    }
    ac->data = f;
    reply_pool_use(&ac->c); /* no malloc per message */
    if (glue_attach(ac, f->loop) < 0) {
        redisAsyncFree(ac);
        retry_later(f, "cannot attach to the event loop");
        return;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    redisEnableKeepAlive(&ac->c); /* a silent dead peer is found in tens of seconds, not hours */
    f->ac = ac;
    uv_timer_start(&f->retry, on_connect_timeout, f->c.connect_timeout_ms, 0);
    /* hiredis 0.14 completes the connect only once a command waits to be
     * written: queue AUTH and PSUBSCRIBE now; they go out when it is up. A
     * refused AUTH is answered before the PSUBSCRIBE (on_auth disconnects). */
    if ((f->c.password[0] && redisAsyncCommand(ac, on_auth, f, "AUTH %s", f->c.password) != REDIS_OK) ||
        redisAsyncCommand(ac, on_message, f, "PSUBSCRIBE %s", f->c.pattern) != REDIS_OK) {
        f->ac = NULL;
        redisAsyncFree(ac);
        retry_later(f, "cannot queue the subscription");
    }
}

int redis_feed_start(redis_feed_t *f, const redis_config_t *c, uv_loop_t *loop, publisher_t *pub)
{
    memset(f, 0, sizeof *f);
    f->c = *c;
    f->loop = loop;
    f->pub = pub;
    snprintf(f->where, sizeof f->where, "%s:%d %s", c->host, c->port, c->pattern);
    int rc = link_init(&f->link, &pub->stats, "redis", c->reconnect_min_ms, c->reconnect_max_ms);
    if (rc < 0)
        return rc;
    if ((rc = uv_timer_init(loop, &f->retry)) < 0)
        return se_err(rc, "redis feed: timer: %s", uv_strerror(rc));
    f->retry.data = f;
    connect_now(f);
    return 0;
}

void redis_feed_stop(redis_feed_t *f)
{
    f->stopping = true;
    uv_timer_stop(&f->retry);
    uv_close((uv_handle_t *)&f->retry, NULL);
    if (f->ac) {
        redisAsyncContext *ac = f->ac;
        f->ac = NULL;
        /* Free, not disconnect: a disconnect waits for pending replies (an
         * AUTH to a server that never answers), and the loop would not end. */
        redisAsyncFree(ac);
    }
    link_stop(&f->link);
}
