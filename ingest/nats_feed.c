/* nats_feed.c -- see nats_feed.h. Threads: nats.c calls on_msg on one
 * delivery thread per subscription (the producer of that subscription's hop
 * queue) and the connection callbacks on its own thread (atomics only); all
 * the rest runs on the thread that writes ring `in`. */
#include "ingest/nats_feed.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "common/err.h"
#include "common/log.h"
#include "ingest/dedupe.h"
#include "ingest/hop.h"
#include "ingest/link.h"
#include "ingest/validate.h"
#include "shm/atomic.h"

enum { SUB_FILLS = 0, SUB_POSITIONS = 1, SUB__COUNT };

/* Per-message budget of one poll per queue, so a flood of fills does not
 * starve the Redis feed on the same loop (the rest waits for the next poll). */
#define POLL_BUDGET 4096

/* A message longer than the validator takes is queued without its payload:
 * its length travels in the tag, above the subscription index. */
#define TAG_TOO_LONG 0x80u

struct nats_feed;

typedef struct {
    struct nats_feed *f;
    int which; /* SUB_* */
} sub_ctx_t;

struct nats_feed {
    nats_config_t c;
    publisher_t *pub;
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub[SUB__COUNT];
    sub_ctx_t ctx[SUB__COUNT];
    hop_t hop[SUB__COUNT];
    dedupe_t dedupe;
    link_t link;
    uv_async_t async;
    bool attached;
    bool subscribed;           /* core subscriptions made, or JetStream consumers bound */
    bool js_verify;            /* reconnected: check that the consumers survived */
    int64_t js_next_try_ns;    /* when to try the JetStream set-up again */
    uint32_t js_backoff_ms;
    char durable[SUB__COUNT][96];
    stats_metric_t *duplicates;    /* fills_duplicate_total */
    stats_metric_t *queue_dropped; /* feed_queue_dropped_total{feed="nats"} */
    stats_metric_t *acks;          /* jetstream_acks_total */
    uint64_t disconnects_seen;     /* of `disconnects`, applied to the link */
    uint64_t overflow_seen;        /* of `overflow`, counted in queue_dropped */
    /* Written by nats.c's threads, read by the publishing thread. */
    _Atomic uint64_t disconnects;
    _Atomic int connected;
    _Atomic uint64_t overflow;
};

int nats_config(const cfg_t *cfg, nats_config_t *out)
{
    memset(out, 0, sizeof *out);
    int64_t min_ms, max_ms, qbytes, window, ack_ms;
    const char *url;
    int rc;
    if ((rc = cfg_get_string(cfg, "nats.url", "", &url)) < 0 ||
        (rc = cfg_get_bool(cfg, "nats.enabled", url[0] != '\0', &out->enabled)) < 0 ||
        (rc = cfg_get_string(cfg, "nats.fillsSubject", "fills.>", &out->fills_subject)) < 0 ||
        (rc = cfg_get_string(cfg, "nats.positionsSubject", "positions.>", &out->positions_subject)) < 0 ||
        (rc = cfg_get_int_range(cfg, "nats.reconnectMinMs", 100, 1, 60000, &min_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "nats.reconnectMaxMs", 5000, 1, 600000, &max_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "nats.queueBytes", 8 << 20, 65536, 1 << 30, &qbytes)) < 0 ||
        (rc = cfg_get_int_range(cfg, "nats.dedupeWindow", 65536, 1, 1 << 24, &window)) < 0 ||
        (rc = cfg_get_bool(cfg, "nats.jetstream.enabled", false, &out->js_enabled)) < 0 ||
        (rc = cfg_get_string(cfg, "nats.jetstream.stream", "FILLS", &out->js_stream)) < 0 ||
        (rc = cfg_get_string(cfg, "nats.jetstream.durable", "ingest", &out->js_durable)) < 0 ||
        (rc = cfg_get_int_range(cfg, "nats.jetstream.ackWaitMs", 30000, 100, 3600000, &ack_ms)) < 0)
        return rc;
    out->url = url[0] ? url : "nats://127.0.0.1:4222";
    if (!out->fills_subject[0])
        return cfg_value_error(cfg, "nats.fillsSubject", "must not be empty");
    if (!out->positions_subject[0])
        return cfg_value_error(cfg, "nats.positionsSubject", "must not be empty");
    if (max_ms < min_ms)
        return cfg_value_error(cfg, "nats.reconnectMaxMs", "%lld is below nats.reconnectMinMs (%lld)",
                               (long long)max_ms, (long long)min_ms);
    /* JetStream names: no white space, '.', '*', '>' (they are subject tokens). */
    const char *names[2][2] = { { "nats.jetstream.stream", out->js_stream },
                                { "nats.jetstream.durable", out->js_durable } };
    for (int i = 0; i < 2; i++)
        if (!names[i][1][0] || strpbrk(names[i][1], " \t.*>") || strlen(names[i][1]) > 64)
            return cfg_value_error(cfg, names[i][0], "'%s' must be 1-64 characters without space, '.', '*' or '>'",
                                   names[i][1]);
    out->reconnect_min_ms = (uint32_t)min_ms;
    out->reconnect_max_ms = (uint32_t)max_ms;
    out->queue_bytes = (uint32_t)qbytes;
    out->dedupe_window = (uint32_t)window;
    out->js_ack_wait_ms = (uint32_t)ack_ms;
    return 0;
}

/* ---- nats.c's threads ------------------------------------------------------ */

static void wake(struct nats_feed *f)
{
    if (f->attached)
        uv_async_send(&f->async);
}

/* Copies the message into its subscription's queue and gives it back to
 * nats.c at once. A full queue drops it (counted; JetStream redelivers it
 * after the ack wait, since it is never acked). */
static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    sub_ctx_t *ctx = closure;
    struct nats_feed *f = ctx->f;
    (void)nc;
    (void)sub;
    const char *subject = natsMsg_GetSubject(msg);
    const char *reply = natsMsg_GetReply(msg);
    int len = natsMsg_GetDataLength(msg);
    uint32_t tag = (uint32_t)ctx->which;
    const char *data = natsMsg_GetData(msg);
    if (len > VAL_MAX_MESSAGE) {
        tag |= TAG_TOO_LONG | ((uint32_t)(len > 0xffffff ? 0xffffff : len) << 8);
        len = 0;
    }
    size_t slen = strlen(subject), rlen = reply ? strlen(reply) : 0;
    if (!hop_push(&f->hop[ctx->which], tag, subject, (uint32_t)slen, reply, (uint32_t)rlen, data,
                  (uint32_t)(len > 0 ? len : 0)))
        atomic_fetch_add_explicit(&f->overflow, 1, memory_order_relaxed);
    natsMsg_Destroy(msg);
    wake(f);
}

static void on_connected(natsConnection *nc, void *closure)
{
    struct nats_feed *f = closure;
    (void)nc;
    shm__store_release(&f->connected, 1);
    wake(f);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
    struct nats_feed *f = closure;
    (void)nc;
    shm__store_release(&f->connected, 0);
    atomic_fetch_add_explicit(&f->disconnects, 1, memory_order_acq_rel);
    wake(f);
}

static void on_closed(natsConnection *nc, void *closure)
{
    struct nats_feed *f = closure;
    (void)nc;
    shm__store_release(&f->connected, 0);
    wake(f);
}

/* nats.c's reconnect delay: the same capped doubling as the Redis feed. */
static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
    struct nats_feed *f = closure;
    (void)nc;
    uint64_t ms = f->c.reconnect_min_ms;
    for (int i = 1; i < attempts && ms < f->c.reconnect_max_ms; i++)
        ms *= 2;
    return (int64_t)(ms < f->c.reconnect_max_ms ? ms : f->c.reconnect_max_ms);
}

/* ---- the publishing thread --------------------------------------------------- */

static void ack(struct nats_feed *f, const hop_msg_t *m, const char *how)
{
    if (!f->c.js_enabled || m->blen == 0)
        return;
    char reply[256];
    if (m->blen >= sizeof reply)
        return; /* not a JetStream ack subject; nothing sensible to answer */
    memcpy(reply, m->b, m->blen);
    reply[m->blen] = '\0';
    /* A failure (connection down) leaves the message un-acked: JetStream
     * redelivers it and the fill-id window drops the copy. */
    if (natsConnection_Publish(f->nc, reply, how, (int)strlen(how)) == NATS_OK)
        stats_add(f->acks, 1);
}

static void handle(struct nats_feed *f, const hop_msg_t *m)
{
    int which = (int)(m->tag & 0x7f);
    char where[96];
    se_in_rec_t rec;
    val_detail_t why;
    val_result_t r;
    if (m->tag & TAG_TOO_LONG) {
        r = VAL_TOO_LONG;
        snprintf(why.text, sizeof why.text, "message is %u bytes, limit %d", m->tag >> 8, VAL_MAX_MESSAGE);
    } else if (which == SUB_FILLS) {
        r = val_fill(m->c, m->clen, &rec, &why);
    } else {
        r = val_position(m->c, m->clen, &rec, &why);
    }
    if (r != VAL_OK) {
        snprintf(where, sizeof where, "nats %.*s", (int)m->alen, m->a);
        publisher_drop(f->pub, r, &why, where);
        ack(f, m, "+TERM"); /* it will never become valid: no redelivery */
        return;
    }
    if (which == SUB_FILLS && dedupe_check_add(&f->dedupe, rec.u.fill.fill_id)) {
        stats_add(f->duplicates, 1);
        ack(f, m, "+ACK"); /* applied once already */
        return;
    }
    publisher_put(f->pub, &rec);
    link_latency(&f->link, rec.ts_source_ns, rec.ts_ingest_ns);
    ack(f, m, "+ACK");
}

/* nats.c starts threads in many calls (connect, subscribe), and a thread
 * inherits the mask of its creator: with the process's signals blocked
 * around those calls, SIGINT and SIGTERM reach the thread that stops ingest
 * (a sleeping feed wakes at once), never a thread of nats.c. */
static void block_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, old);
}

static void restore_signals(const sigset_t *old)
{
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

static int js_error(natsStatus s, jsErrCode jerr, const char *what)
{
    return se_err(-EIO, "JetStream %s: %s (status %d, JetStream error %d: %s)", what, natsStatus_GetText(s), (int)s,
                  (int)jerr, nats_GetLastError(NULL) ? nats_GetLastError(NULL) : "");
}

/* Makes sure the stream exists (creating it over both subjects when it does
 * not) and binds one durable push consumer per subject, acks explicit. */
static int js_setup(struct nats_feed *f)
{
    natsStatus s;
    jsErrCode jerr = 0;
    if (!f->js) {
        /* These requests run on the loop, which also carries the Redis feed:
         * a server that does not answer holds it for at most this long. */
        jsOptions jo;
        jsOptions_Init(&jo);
        jo.Wait = 2000;
        if ((s = natsConnection_JetStream(&f->js, f->nc, &jo)) != NATS_OK)
            return js_error(s, 0, "context");
    }
    jsStreamInfo *si = NULL;
    s = js_GetStreamInfo(&si, f->js, f->c.js_stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        const char *subjects[2] = { f->c.fills_subject, f->c.positions_subject };
        jsStreamConfig sc;
        jsStreamConfig_Init(&sc);
        sc.Name = f->c.js_stream;
        sc.Subjects = subjects;
        sc.SubjectsLen = 2;
        sc.Storage = js_FileStorage;
        jerr = 0;
        s = js_AddStream(&si, f->js, &sc, NULL, &jerr);
        if (s != NATS_OK)
            return js_error(s, jerr, "creating the stream");
        log_info("JetStream stream created", LOG_STR("stream", f->c.js_stream),
                 LOG_STR("fills", f->c.fills_subject), LOG_STR("positions", f->c.positions_subject));
    } else if (s != NATS_OK) {
        return js_error(s, jerr, "looking up the stream");
    }
    jsStreamInfo_Destroy(si);
    const char *subjects[SUB__COUNT] = { f->c.fills_subject, f->c.positions_subject };
    for (int i = 0; i < SUB__COUNT; i++) {
        if (f->sub[i])
            continue;
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = f->c.js_stream;
        so.ManualAck = true;
        so.Config.Durable = f->durable[i];
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.AckWait = (int64_t)f->c.js_ack_wait_ms * 1000000;
        so.Config.DeliverPolicy = js_DeliverAll;
        jerr = 0;
        s = js_Subscribe(&f->sub[i], f->js, subjects[i], on_msg, &f->ctx[i], NULL, &so, &jerr);
        if (s != NATS_OK) {
            f->sub[i] = NULL;
            return js_error(s, jerr, "binding the durable consumer");
        }
        natsSubscription_SetPendingLimits(f->sub[i], -1, -1);
    }
    log_info("JetStream consumers bound", LOG_STR("stream", f->c.js_stream), LOG_STR("fills", f->durable[0]),
             LOG_STR("positions", f->durable[1]), LOG_UINT("ack_wait_ms", f->c.js_ack_wait_ms));
    return 0;
}

static void apply_state(struct nats_feed *f)
{
    uint64_t d = shm__load_acquire(&f->disconnects);
    if (d != f->disconnects_seen) {
        /* Every disconnect counts, even one that healed between two polls. */
        uint64_t n = d - f->disconnects_seen;
        f->disconnects_seen = d;
        if (f->link.up) {
            link_down(&f->link, "connection lost (nats.c reconnects)");
            n--;
        }
        stats_add(f->link.disconnects, n);
        f->js_verify = f->c.js_enabled && f->subscribed;
    }
    if (shm__load_acquire(&f->connected))
        link_up(&f->link, f->c.url);
    else if (f->link.up)
        link_down(&f->link, "connection closed");
    uint64_t o = shm__load_relaxed(&f->overflow);
    if (o != f->overflow_seen) {
        log_warn("nats messages dropped: queue full", LOG_UINT("dropped", o - f->overflow_seen),
                 LOG_UINT("queue_bytes", f->c.queue_bytes));
        stats_add(f->queue_dropped, o - f->overflow_seen);
        f->overflow_seen = o;
    }
}

/* After a reconnect: a server restarted without its store has lost the
 * stream and the consumers, and nats.c's re-subscription to the old deliver
 * subject would wait for ever. Then both are made again. */
static void js_verify(struct nats_feed *f)
{
    f->js_verify = false;
    for (int i = 0; i < SUB__COUNT; i++) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus s = js_GetConsumerInfo(&ci, f->js, f->c.js_stream, f->durable[i], NULL, &jerr);
        jsConsumerInfo_Destroy(ci);
        if (s == NATS_OK)
            continue;
        if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr && jerr != JSStreamNotFoundErr) {
            /* A server just back may not answer yet: a consumer left
             * unchecked could be one it lost, and its fills would wait for
             * ever. Check again, with the set-up's backoff. */
            log_warn("JetStream consumer not checked after a reconnect; checking again",
                     LOG_STR("consumer", f->durable[i]), LOG_STR("error", natsStatus_GetText(s)),
                     LOG_UINT("retry_in_ms", f->js_backoff_ms));
            f->js_verify = true;
            f->js_next_try_ns = clock_mono_ns() + (int64_t)f->js_backoff_ms * 1000000;
            f->js_backoff_ms = f->js_backoff_ms * 2 > f->c.reconnect_max_ms ? f->c.reconnect_max_ms
                                                                             : f->js_backoff_ms * 2;
            return;
        }
        log_warn("JetStream consumer lost (server restarted without its store?); setting up again",
                 LOG_STR("stream", f->c.js_stream), LOG_STR("consumer", f->durable[i]));
        for (int k = 0; k < SUB__COUNT; k++) {
            natsSubscription_Unsubscribe(f->sub[k]);
            natsSubscription_Destroy(f->sub[k]);
            f->sub[k] = NULL;
        }
        f->subscribed = false;
        f->js_next_try_ns = 0;
        f->js_backoff_ms = f->c.reconnect_min_ms;
        return;
    }
    f->js_backoff_ms = f->c.reconnect_min_ms;
}

void nats_feed_poll(nats_feed_t *f)
{
    apply_state(f);
    if (f->js_verify && f->link.up && clock_mono_ns() >= f->js_next_try_ns)
        js_verify(f);
    if (f->c.js_enabled && !f->subscribed && f->link.up && clock_mono_ns() >= f->js_next_try_ns) {
        sigset_t old;
        block_signals(&old);
        int rc = js_setup(f);
        restore_signals(&old);
        if (rc == 0) {
            f->subscribed = true;
        } else {
            log_warn("JetStream set-up failed; retrying", LOG_STR("error", se_errmsg()),
                     LOG_UINT("retry_in_ms", f->js_backoff_ms));
            f->js_next_try_ns = clock_mono_ns() + (int64_t)f->js_backoff_ms * 1000000;
            f->js_backoff_ms = f->js_backoff_ms * 2 > f->c.reconnect_max_ms ? f->c.reconnect_max_ms
                                                                             : f->js_backoff_ms * 2;
        }
    }
    bool more = false;
    for (int i = 0; i < SUB__COUNT; i++) {
        hop_msg_t m;
        int n = 0;
        while (n < POLL_BUDGET && hop_peek(&f->hop[i], &m)) {
            handle(f, &m);
            hop_pop(&f->hop[i]);
            n++;
        }
        more |= n == POLL_BUDGET;
    }
    if (more)
        wake(f); /* the rest after the other feeds had their turn */
}

void nats_feed_poll_hook(void *arg)
{
    nats_feed_poll(arg);
}

static void on_async(uv_async_t *a)
{
    nats_feed_poll(a->data);
}

static int nats_fail(natsStatus s, const char *what)
{
    const char *last = nats_GetLastError(NULL);
    return se_err(-EIO, "nats %s: %s%s%s", what, natsStatus_GetText(s), last ? ": " : "", last ? last : "");
}

int nats_feed_open(nats_feed_t **out, const nats_config_t *c, publisher_t *pub)
{
    *out = NULL;
    struct nats_feed *f = calloc(1, sizeof *f);
    if (!f)
        return se_err(-ENOMEM, "nats feed: out of memory");
    f->c = *c;
    f->pub = pub;
    int rc = 0;
    for (int i = 0; i < SUB__COUNT && rc == 0; i++) {
        f->ctx[i] = (sub_ctx_t){ f, i };
        rc = hop_init(&f->hop[i], c->queue_bytes);
    }
    if (rc == 0)
        rc = dedupe_init(&f->dedupe, c->dedupe_window);
    if (rc < 0) {
        nats_feed_free(f);
        return se_err(rc, "nats feed: cannot allocate its queues (nats.queueBytes %u) and fill-id window (%u)",
                      c->queue_bytes, c->dedupe_window);
    }
    if ((rc = link_init(&f->link, &pub->stats, "nats", c->reconnect_min_ms, c->reconnect_max_ms)) < 0) {
        nats_feed_free(f);
        return rc;
    }
    f->duplicates = stats_metric(&pub->stats, STATS_COUNTER, "fills_duplicate_total", NULL);
    f->queue_dropped = stats_metric(&pub->stats, STATS_COUNTER, "feed_queue_dropped_total", "feed=\"nats\"");
    f->acks = stats_metric(&pub->stats, STATS_COUNTER, "jetstream_acks_total", NULL);
    if (!f->duplicates || !f->queue_dropped || !f->acks) {
        nats_feed_free(f);
        return se_err(-ENOSPC, "stats block of ingest: no room for the nats feed's metrics");
    }
    snprintf(f->durable[SUB_FILLS], sizeof f->durable[0], "%s_fills", c->js_durable);
    snprintf(f->durable[SUB_POSITIONS], sizeof f->durable[0], "%s_positions", c->js_durable);
    f->js_backoff_ms = c->reconnect_min_ms;
    /* The fills still in ring `in` were published by an earlier run: a
     * redelivery of one of them (JetStream after a crash between publish and
     * ack) must not be published again. */
    uint64_t head = pub->in.prod_seq, cap = pub->in.capacity, remembered = 0;
    for (uint64_t pos = head > cap ? head - cap : 0; pos < head; pos++) {
        se_in_rec_t rec;
        if (shm_peek(&pub->in.seg, pos, &rec) == SHM_OK && rec.kind == SE_IN_FILL) {
            rec.u.fill.fill_id[SE_ID_MAX - 1] = '\0';
            remembered += !dedupe_check_add(&f->dedupe, rec.u.fill.fill_id);
        }
    }
    if (remembered)
        log_info("fill ids remembered from ring in", LOG_UINT("fills", remembered));
    *out = f;
    return 0;
}

int nats_feed_attach(nats_feed_t *f, uv_loop_t *loop)
{
    int rc = uv_async_init(loop, &f->async, on_async);
    if (rc < 0)
        return se_err(rc, "nats feed: uv_async_init: %s", uv_strerror(rc));
    f->async.data = f;
    f->attached = true;
    return 0;
}

static int connect_masked(nats_feed_t *f);

int nats_feed_connect(nats_feed_t *f)
{
    sigset_t old;
    block_signals(&old);
    int rc = connect_masked(f);
    restore_signals(&old);
    return rc;
}

static int connect_masked(nats_feed_t *f)
{
    natsStatus s;
    if ((s = natsOptions_Create(&f->opts)) != NATS_OK)
        return nats_fail(s, "options");
    if ((s = natsOptions_SetURL(f->opts, f->c.url)) != NATS_OK)
        return se_err(-EINVAL, "nats.url '%s': %s", f->c.url, natsStatus_GetText(s));
    if ((s = natsOptions_SetMaxReconnect(f->opts, -1)) != NATS_OK ||
        (s = natsOptions_SetCustomReconnectDelay(f->opts, reconnect_delay, f)) != NATS_OK ||
        (s = natsOptions_SetDisconnectedCB(f->opts, on_disconnected, f)) != NATS_OK ||
        (s = natsOptions_SetReconnectedCB(f->opts, on_connected, f)) != NATS_OK ||
        (s = natsOptions_SetClosedCB(f->opts, on_closed, f)) != NATS_OK ||
        (s = natsOptions_SetRetryOnFailedConnect(f->opts, true, on_connected, f)) != NATS_OK ||
        (s = natsOptions_SetSendAsap(f->opts, true)) != NATS_OK)
        return nats_fail(s, "options");
    s = natsConnection_Connect(&f->nc, f->opts);
    if (s == NATS_OK)
        on_connected(f->nc, f);
    else if (s != NATS_NOT_YET_CONNECTED)
        return nats_fail(s, "connect");
    else
        link_failed(&f->link, "no server yet (nats.c keeps trying)");
    if (!f->c.js_enabled) {
        /* Core NATS: nats.c sends the subscriptions once connected and again
         * after every reconnect. */
        const char *subjects[SUB__COUNT] = { f->c.fills_subject, f->c.positions_subject };
        for (int i = 0; i < SUB__COUNT; i++) {
            if ((s = natsConnection_Subscribe(&f->sub[i], f->nc, subjects[i], on_msg, &f->ctx[i])) != NATS_OK)
                return nats_fail(s, subjects[i]);
            /* Our callback only copies: let nats.c buffer whatever a burst brings
             * rather than drop at its default 65536 messages. */
            natsSubscription_SetPendingLimits(f->sub[i], -1, -1);
        }
        f->subscribed = true;
    }
    log_info("nats feed started", LOG_STR("url", f->c.url), LOG_STR("fills", f->c.fills_subject),
             LOG_STR("positions", f->c.positions_subject), LOG_BOOL("jetstream", f->c.js_enabled),
             LOG_UINT("dedupe_window", f->c.dedupe_window));
    return 0;
}

void nats_feed_stop(nats_feed_t *f)
{
    for (int i = 0; i < SUB__COUNT; i++)
        if (f->sub[i])
            natsSubscription_Unsubscribe(f->sub[i]);
    nats_feed_poll(f); /* what arrived is published (and acked) */
    if (f->nc && natsConnection_Status(f->nc) == NATS_CONN_STATUS_CONNECTED)
        natsConnection_FlushTimeout(f->nc, 1000); /* the acks just written */
    for (int i = 0; i < SUB__COUNT; i++) {
        natsSubscription_Destroy(f->sub[i]);
        f->sub[i] = NULL;
    }
    jsCtx_Destroy(f->js);
    f->js = NULL;
    natsConnection_Destroy(f->nc);
    f->nc = NULL;
    natsOptions_Destroy(f->opts);
    f->opts = NULL;
    /* After this no nats.c thread is left to touch the queues or the async handle. */
    nats_CloseAndWait(2000);
    link_stop(&f->link);
    if (f->attached)
        uv_close((uv_handle_t *)&f->async, NULL);
}

void nats_feed_free(nats_feed_t *f)
{
    if (!f)
        return;
    for (int i = 0; i < SUB__COUNT; i++)
        hop_fini(&f->hop[i]);
    dedupe_fini(&f->dedupe);
    free(f);
}
