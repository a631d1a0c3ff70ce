/* backend_grpc.c -- execd's live backend: a gRPC client of
 * execution.v1.OrderExecution (proto/execution.proto) on the gRPC core C API,
 * behind the exec_backend_t seam.
 *
 * Threads: execd's loop thread owns everything here except one thing: a
 * completion-queue thread waits for finished calls, decodes the answer, and
 * hands the call's slot back through a single-producer queue and the doorbell
 * the loop sleeps on. Only the loop thread writes ring `exe` (through emit)
 * and the journal, so nothing it does ever waits for the network: up to
 * execution.maxInFlight calls run at once, each with its own deadline.
 *
 * A request's life: on_order journals it (write) and queues it; poll makes the
 * batch durable (fdatasync if configured, journal.h) and starts the calls; an
 * answer is reported on `exe` and journalled; UNAVAILABLE, DEADLINE_EXCEEDED
 * (and CANCELLED by the far side) are retried with the same client_order_id
 * after a doubling backoff, at most execution.maxRetries times; then the
 * request fails and counts towards the circuit breaker (breaker.h), whose
 * changes go to `exe` as SE_EXEC_VENUE. */
#include "execd/backend.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "common/err.h"
#include "common/log.h"
#include "execd/breaker.h"
#include "execd/journal.h"
#include "execution.pb-c.h"

#define METHOD_SUBMIT "/execution.v1.OrderExecution/SubmitOrder"
#define METHOD_CANCEL "/execution.v1.OrderExecution/CancelOrder"
#define MAX_MESSAGE   1024          /* our requests are under 200 bytes */
#define MAX_BACKOFF_NS 10000000000LL /* a retry waits at most 10 s */

typedef enum { SLOT_FREE, SLOT_QUEUED, SLOT_IN_CALL, SLOT_BACKOFF } slot_state_t;

typedef struct gb gb_t;

/* One request in flight (or the breaker's probe). */
typedef struct {
    int index;
    /* the loop thread's */
    slot_state_t state;
    bool probe;
    se_order_rec_t order;
    int attempts;        /* calls started */
    int64_t ts_exec_ns;  /* when execd took it */
    int64_t retry_at_ns; /* SLOT_BACKOFF: when to call again */
    /* the call: set up by the loop thread, completed by the cq thread; the
     * completion queue orders the two (start_batch before the event) */
    grpc_call *call;
    grpc_metadata_array md_initial, md_trailing;
    grpc_byte_buffer *send, *recv;
    grpc_status_code status;
    grpc_slice details;
    /* the answer, written by the cq thread before it hands the slot back */
    bool decoded, accepted;
    char order_id[SE_ID_MAX];
    char reason[SE_REASON_MAX];
} slot_t;

struct gb {
    int64_t timeout_ms, backoff_ns;
    int max_retries, nslots, probe_index;
    grpc_channel *channel;
    grpc_completion_queue *cq;
    pthread_t cq_thread;
    bool thread_started;
    slot_t *slots; /* max_inflight orders, then the probe */
    int *free_stack, nfree;
    int *startq, nstart; /* SLOT_QUEUED, in order */
    int nbackoff;
    /* finished calls, cq thread -> loop thread */
    _Atomic uint32_t *done;
    uint32_t done_mask, done_head;
    _Atomic uint32_t done_tail;
    shm_doorbell_t bell;
    journal_t *journal;
    const se_order_rec_t *replay;
    int nreplay, replay_next;
    breaker_t breaker;
    bool rereads_possible; /* until the first request the journal does not hold */
    int in_call;
    stats_metric_t *circuit_open, *retries, *in_flight, *replayed, *duplicates, *journal_errors,
        *fail_unavailable, *fail_deadline, *fail_other;
};

/* ---- the completion-queue thread -------------------------------------------- */

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Decodes a finished call's answer into the slot and releases the call. */
static void finish_call(slot_t *s, bool batch_ok)
{
    s->decoded = s->accepted = false;
    s->order_id[0] = s->reason[0] = '\0';
    if (!batch_ok) {
        s->status = GRPC_STATUS_UNAVAILABLE;
    } else if (s->status == GRPC_STATUS_OK && s->recv) {
        grpc_byte_buffer_reader rd;
        if (grpc_byte_buffer_reader_init(&rd, s->recv)) {
            grpc_slice all = grpc_byte_buffer_reader_readall(&rd);
            grpc_byte_buffer_reader_destroy(&rd);
            size_t len = GRPC_SLICE_LENGTH(all);
            const uint8_t *p = GRPC_SLICE_START_PTR(all);
            if (s->probe || s->order.action == SE_ACTION_CANCEL) {
                Execution__V1__CancelOrderResponse *m = execution__v1__cancel_order_response__unpack(NULL, len, p);
                if (m) {
                    s->decoded = true;
                    s->accepted = m->accepted;
                    copy_str(s->reason, sizeof s->reason, m->reject_reason);
                    execution__v1__cancel_order_response__free_unpacked(m, NULL);
                }
            } else {
                Execution__V1__SubmitOrderResponse *m = execution__v1__submit_order_response__unpack(NULL, len, p);
                if (m) {
                    /* An id we would have to cut, or an answer to another
                     * order, is not an answer we can report. */
                    s->decoded = strlen(m->order_id) < SE_ID_MAX &&
                                 (!m->client_order_id[0] || strcmp(m->client_order_id, s->order.client_order_id) == 0);
                    s->accepted = m->accepted;
                    copy_str(s->order_id, sizeof s->order_id, m->order_id);
                    copy_str(s->reason, sizeof s->reason, m->reject_reason);
                    execution__v1__submit_order_response__free_unpacked(m, NULL);
                }
            }
            grpc_slice_unref(all);
        }
    }
    if (!s->decoded && s->status != GRPC_STATUS_OK) {
        char *d = grpc_slice_to_c_string(s->details);
        copy_str(s->reason, sizeof s->reason, d);
        gpr_free(d);
    }
    grpc_byte_buffer_destroy(s->send);
    if (s->recv)
        grpc_byte_buffer_destroy(s->recv);
    s->send = s->recv = NULL;
    grpc_metadata_array_destroy(&s->md_initial);
    grpc_metadata_array_destroy(&s->md_trailing);
    grpc_slice_unref(s->details);
    if (s->call)
        grpc_call_unref(s->call);
    s->call = NULL;
}

static void *cq_main(void *arg)
{
    gb_t *g = arg;
    gpr_timespec forever = gpr_inf_future(GPR_CLOCK_MONOTONIC), now = gpr_inf_past(GPR_CLOCK_MONOTONIC);
    int handed = 0;
    for (;;) {
        /* Takes what has finished already before ringing once for all of it
         * (one wake-up of the loop per burst of answers, not per answer), but
         * rings at least every 16 so a steady stream is not held back. */
        grpc_event ev = grpc_completion_queue_next(g->cq, handed ? now : forever, NULL);
        if (ev.type == GRPC_QUEUE_TIMEOUT || handed >= 16) {
            shm_doorbell_ring(&g->bell);
            handed = 0;
            if (ev.type == GRPC_QUEUE_TIMEOUT)
                continue;
        }
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        slot_t *s = ev.tag;
        finish_call(s, ev.success != 0);
        uint32_t t = shm__load_relaxed(&g->done_tail);
        shm__store_relaxed(&g->done[t & g->done_mask], (uint32_t)s->index);
        /* Pairs with the loop's acquire load of done_tail: the slot's answer
         * is visible before its index is. */
        shm__store_release(&g->done_tail, t + 1);
        handed++;
    }
    if (handed)
        shm_doorbell_ring(&g->bell);
    return NULL;
}

/* ---- reports ------------------------------------------------------------------ */

static void report(const slot_t *s, uint8_t kind, const char *order_id, const char *reason, int64_t now,
                   exec_emit_fn emit, void *ctx)
{
    const se_order_rec_t *o = &s->order;
    se_exec_rec_t r;
    se_exec_from_order(&r, o, kind);
    r.ts_exec_ns = s->ts_exec_ns;
    r.ts_report_ns = now;
    copy_str(r.order_id, sizeof r.order_id, order_id);
    copy_str(r.reason, sizeof r.reason, reason);
    /* Fills arrive from the venue on NATS, not here: whatever was sent is
     * still open when it is acknowledged or cancelled. */
    r.leaves_qty = kind == SE_EXEC_REJECT ? 0 : o->qty;
    emit(ctx, &r);
}

static void breaker_changed(gb_t *g, breaker_change_t c, int64_t now, exec_emit_fn emit, void *ctx)
{
    if (c == BREAKER_SAME)
        return;
    bool open = c == BREAKER_OPENED;
    stats_set(g->circuit_open, open ? 1 : 0);
    se_exec_rec_t r;
    memset(&r, 0, sizeof r);
    r.kind = SE_EXEC_VENUE;
    r.ts_report_ns = now;
    copy_str(r.reason, sizeof r.reason, open ? "circuit_open" : "circuit_closed");
    emit(ctx, &r);
    if (open)
        log_warn("venue unreachable: circuit open, orders are refused until a probe succeeds",
                 LOG_INT("consecutive_failures", g->breaker.failures),
                 LOG_INT("probe_in_ms", g->breaker.cooldown_ns / 1000000));
    else
        log_info("venue answers again: circuit closed");
}

static void journal_failed(gb_t *g, const char *what)
{
    stats_add(g->journal_errors, 1);
    log_error("journal write failed", LOG_STR("what", what), LOG_STR("error", strerror(errno)));
}

static void release(gb_t *g, slot_t *s)
{
    s->state = SLOT_FREE;
    if (!s->probe)
        g->free_stack[g->nfree++] = s->index;
}

/* The final word on a request: reported on `exe`, journalled, slot freed. */
static void conclude(gb_t *g, slot_t *s, uint8_t kind, const char *outcome, const char *reason, int64_t now,
                     exec_emit_fn emit, void *ctx)
{
    report(s, kind, s->order_id, reason, now, emit, ctx);
    if (journal_answer(g->journal, &s->order, outcome, s->order_id, reason, now) < 0)
        journal_failed(g, "answer");
    release(g, s);
}

/* ---- calls -------------------------------------------------------------------- */

/* Packs the slot's request into buf; returns its length (0 is a valid, empty
 * message: the probe) or -1 if it would not fit. */
static long encode(const slot_t *s, uint8_t *buf)
{
    const se_order_rec_t *o = &s->order;
    if (s->probe || o->action == SE_ACTION_CANCEL) {
        Execution__V1__CancelOrderRequest m = EXECUTION__V1__CANCEL_ORDER_REQUEST__INIT;
        /* The probe cancels no order: any answer at all proves the venue is back. */
        m.client_order_id = s->probe ? "" : (char *)o->client_order_id;
        m.symbol = s->probe ? "" : (char *)o->symbol;
        if (execution__v1__cancel_order_request__get_packed_size(&m) > MAX_MESSAGE)
            return -1;
        return (long)execution__v1__cancel_order_request__pack(&m, buf);
    }
    Execution__V1__SubmitOrderRequest m = EXECUTION__V1__SUBMIT_ORDER_REQUEST__INIT;
    m.client_order_id = (char *)o->client_order_id;
    m.strategy = (char *)o->strategy;
    m.symbol = (char *)o->symbol;
    m.side = o->side == SE_SIDE_BUY ? EXECUTION__V1__SIDE__SIDE_BUY
             : o->side == SE_SIDE_SELL ? EXECUTION__V1__SIDE__SIDE_SELL
                                       : EXECUTION__V1__SIDE__SIDE_UNSPECIFIED;
    m.type = o->order_type == SE_ORDER_MARKET ? EXECUTION__V1__ORDER_TYPE__ORDER_TYPE_MARKET
             : o->order_type == SE_ORDER_LIMIT ? EXECUTION__V1__ORDER_TYPE__ORDER_TYPE_LIMIT
                                               : EXECUTION__V1__ORDER_TYPE__ORDER_TYPE_UNSPECIFIED;
    m.quantity = o->qty;
    m.limit_price = o->order_type == SE_ORDER_LIMIT ? o->price : 0;
    m.created_ns = o->ts_strategy_ns ? o->ts_strategy_ns : o->ts_risk_ns;
    if (execution__v1__submit_order_request__get_packed_size(&m) > MAX_MESSAGE)
        return -1;
    return (long)execution__v1__submit_order_request__pack(&m, buf);
}

static void on_answer(gb_t *g, slot_t *s, int64_t now, exec_emit_fn emit, void *ctx);

/* Starts one call for slot s; a call gRPC refuses to start is answered at
 * once as UNAVAILABLE (and retried like one). */
static void start_call(gb_t *g, slot_t *s, int64_t now, exec_emit_fn emit, void *ctx)
{
    uint8_t buf[MAX_MESSAGE];
    long len = encode(s, buf);
    s->attempts++;
    s->state = SLOT_IN_CALL;
    g->in_call++;
    grpc_slice msg = grpc_slice_from_copied_buffer((const char *)buf, len > 0 ? (size_t)len : 0);
    s->send = grpc_raw_byte_buffer_create(&msg, 1);
    grpc_slice_unref(msg);
    s->recv = NULL;
    s->status = GRPC_STATUS_OK;
    s->details = grpc_empty_slice();
    grpc_metadata_array_init(&s->md_initial);
    grpc_metadata_array_init(&s->md_trailing);
    grpc_slice method = grpc_slice_from_static_string(s->probe || s->order.action == SE_ACTION_CANCEL
                                                          ? METHOD_CANCEL : METHOD_SUBMIT);
    gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                         gpr_time_from_millis(g->timeout_ms, GPR_TIMESPAN));
    s->call = grpc_channel_create_call(g->channel, NULL, GRPC_PROPAGATE_DEFAULTS, g->cq, method, NULL,
                                       deadline, NULL);
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = s->send;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->md_initial;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &s->recv;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &s->md_trailing;
    ops[5].data.recv_status_on_client.status = &s->status;
    ops[5].data.recv_status_on_client.status_details = &s->details;
    if (len < 0 || !s->call || grpc_call_start_batch(s->call, ops, 6, s, NULL) != GRPC_CALL_OK) {
        finish_call(s, false);
        on_answer(g, s, now, emit, ctx);
    }
}

/* Failures where the venue may never have seen the request, or its answer
 * was lost: a retry with the same client_order_id is safe (the venue dedupes).
 * CANCELLED here can only come from the far side (execd cancels its own
 * calls only when it stops): the venue or a proxy cut the call. */
static bool transient(grpc_status_code st)
{
    return st == GRPC_STATUS_UNAVAILABLE || st == GRPC_STATUS_DEADLINE_EXCEEDED || st == GRPC_STATUS_CANCELLED;
}

/* A finished call, on the loop thread. */
static void on_answer(gb_t *g, slot_t *s, int64_t now, exec_emit_fn emit, void *ctx)
{
    g->in_call--;
    if (s->probe) {
        log_debug("venue probe answered", LOG_INT("status", s->status), LOG_STR("detail", s->reason));
        breaker_change_t c = transient(s->status) ? breaker_on_failure(&g->breaker, now)
                                                  : breaker_on_success(&g->breaker);
        breaker_changed(g, c, now, emit, ctx);
        release(g, s);
        return;
    }
    bool cancel = s->order.action == SE_ACTION_CANCEL;
    if (s->status == GRPC_STATUS_OK && s->decoded) {
        breaker_changed(g, breaker_on_success(&g->breaker), now, emit, ctx);
        if (s->accepted)
            conclude(g, s, cancel ? SE_EXEC_CANCELLED : SE_EXEC_ACK, cancel ? "cancelled" : "ack",
                     cancel ? "cancelled" : "", now, emit, ctx);
        else
            conclude(g, s, SE_EXEC_REJECT, "reject", s->reason[0] ? s->reason : "rejected by venue", now, emit,
                     ctx);
        return;
    }
    if (transient(s->status) && s->attempts <= g->max_retries) {
        int64_t wait = g->backoff_ns;
        for (int i = 1; i < s->attempts && wait < MAX_BACKOFF_NS; i++)
            wait *= 2;
        s->retry_at_ns = now + (wait < MAX_BACKOFF_NS ? wait : MAX_BACKOFF_NS);
        s->state = SLOT_BACKOFF;
        g->nbackoff++;
        stats_add(g->retries, 1);
        return;
    }
    char why[SE_REASON_MAX];
    if (transient(s->status)) {
        bool timeout = s->status == GRPC_STATUS_DEADLINE_EXCEEDED;
        stats_add(timeout ? g->fail_deadline : g->fail_unavailable, 1);
        breaker_changed(g, breaker_on_failure(&g->breaker, now), now, emit, ctx);
        /* A timed-out order may live at the venue: its fills still come
         * through NATS and are booked by client_order_id. */
        copy_str(why, sizeof why, timeout ? "venue_timeout" : "venue_unavailable");
    } else {
        /* The venue answered, with an error or with something we cannot read. */
        stats_add(g->fail_other, 1);
        breaker_changed(g, breaker_on_success(&g->breaker), now, emit, ctx);
        snprintf(why, sizeof why, s->status == GRPC_STATUS_OK ? "venue_bad_answer" : "venue_error_%d",
                 (int)s->status);
    }
    log_warn("order failed at the venue", LOG_STR("client_order_id", s->order.client_order_id),
             LOG_STR("reason", why), LOG_STR("detail", s->reason), LOG_INT("attempts", s->attempts));
    s->order_id[0] = '\0';
    conclude(g, s, SE_EXEC_REJECT, "failed", why, now, emit, ctx);
}

/* ---- the seam ------------------------------------------------------------------ */

/* Takes a free slot for request o (already journalled), or refuses it at once
 * while the circuit is open. */
static void admit(gb_t *g, const se_order_rec_t *o, int64_t now, exec_emit_fn emit, void *ctx)
{
    slot_t *s = &g->slots[g->free_stack[--g->nfree]];
    s->order = *o;
    s->probe = false;
    s->attempts = 0;
    s->ts_exec_ns = now;
    s->order_id[0] = '\0';
    if (!breaker_allows(&g->breaker)) {
        conclude(g, s, SE_EXEC_REJECT, "reject", "venue_unavailable", now, emit, ctx);
        return;
    }
    s->state = SLOT_QUEUED;
    g->startq[g->nstart++] = s->index;
}

static void on_order(void *impl, const se_order_rec_t *o, int64_t now, exec_emit_fn emit, void *ctx)
{
    gb_t *g = impl;
    /* What `ord` hands over again after a restart (taken, journalled, not
     * yet consumed when execd died) is the head of what this run reads: the
     * first request the journal does not hold ends the look-up, so a request
     * a strategy repeats later (a second cancel) is sent again. */
    if (g->rereads_possible) {
        if (journal_seen(g->journal, o)) {
            stats_add(g->duplicates, 1);
            return;
        }
        g->rereads_possible = false;
    }
    slot_t tmp = { .order = *o, .ts_exec_ns = now };
    if ((o->action != SE_ACTION_NEW && o->action != SE_ACTION_CANCEL) || !journal_id_ok(o->client_order_id) ||
        g->nfree == 0) {
        report(&tmp, SE_EXEC_REJECT, "", g->nfree == 0 ? "execd_busy" : "invalid request", now, emit, ctx);
        return;
    }
    /* Never send what is not journalled. */
    if (journal_submit(g->journal, o, now) < 0) {
        journal_failed(g, "submit");
        report(&tmp, SE_EXEC_REJECT, "", "journal_error", now, emit, ctx);
        return;
    }
    admit(g, o, now, emit, ctx);
}

static void poll_grpc(void *impl, int64_t now, exec_emit_fn emit, void *ctx)
{
    gb_t *g = impl;
    /* Pairs with the cq thread's release store of done_tail. */
    uint32_t tail = shm__load_acquire(&g->done_tail);
    while (g->done_head != tail) {
        uint32_t i = shm__load_relaxed(&g->done[g->done_head++ & g->done_mask]);
        on_answer(g, &g->slots[i], now, emit, ctx);
    }
    /* What the journal held unanswered at start goes before new orders. */
    while (g->replay_next < g->nreplay && g->nfree > 0) {
        stats_add(g->replayed, 1);
        admit(g, &g->replay[g->replay_next++], now, emit, ctx);
    }
    if (g->nbackoff > 0)
        for (int i = 0; i < g->probe_index; i++) {
            slot_t *s = &g->slots[i];
            if (s->state == SLOT_BACKOFF && s->retry_at_ns <= now) {
                g->nbackoff--;
                s->state = SLOT_QUEUED;
                g->startq[g->nstart++] = i;
            }
        }
    if (breaker_probe_due(&g->breaker, now)) {
        slot_t *p = &g->slots[g->probe_index];
        p->state = SLOT_QUEUED;
        p->attempts = 0;
        g->startq[g->nstart++] = g->probe_index;
    }
    if (g->nstart > 0) {
        /* One sync for the whole batch, before any of it leaves. */
        if (journal_sync(g->journal) < 0) {
            journal_failed(g, "sync");
            for (int k = 0; k < g->nstart; k++) {
                slot_t *s = &g->slots[g->startq[k]];
                if (s->probe)
                    release(g, s);
                else
                    conclude(g, s, SE_EXEC_REJECT, "failed", "journal_error", now, emit, ctx);
            }
            g->nstart = 0;
        }
        int n = g->nstart;
        g->nstart = 0; /* start_call may answer (and free) at once */
        for (int k = 0; k < n; k++)
            start_call(g, &g->slots[g->startq[k]], now, emit, ctx);
    }
    if (journal_flush(g->journal) < 0)
        journal_failed(g, "answers");
    stats_set(g->in_flight, g->probe_index - g->nfree);
}

static int64_t next_event(const void *impl)
{
    const gb_t *g = impl;
    int64_t next = breaker_next_event_ns(&g->breaker);
    if (g->nbackoff > 0)
        for (int i = 0; i < g->probe_index; i++)
            if (g->slots[i].state == SLOT_BACKOFF && g->slots[i].retry_at_ns < next)
                next = g->slots[i].retry_at_ns;
    return next;
}

static int can_accept(const void *impl)
{
    const gb_t *g = impl;
    return g->nfree > 0 && g->replay_next >= g->nreplay;
}

/* Only while `ord` may hand over again what the previous run journalled
 * (see on_order): a cheap flag test for every later order. */
static int holds(const void *impl, const se_order_rec_t *o)
{
    const gb_t *g = impl;
    return g->rereads_possible && journal_seen(g->journal, o);
}

static int no_quotes(const void *impl)
{
    (void)impl;
    return 0;
}

static void on_quote(void *impl, const se_in_rec_t *q, int64_t now, exec_emit_fn emit, void *ctx)
{
    (void)impl, (void)q, (void)now, (void)emit, (void)ctx; /* the venue has its own market */
}

static void close_grpc(exec_backend_t *b)
{
    gb_t *g = b->impl;
    b->impl = NULL;
    if (!g)
        return;
    if (g->thread_started) {
        /* Calls still in flight stay unanswered in the journal: the next
         * start sends them again and the venue dedupes. */
        for (int i = 0; i < g->nslots; i++)
            if (g->slots[i].state == SLOT_IN_CALL && g->slots[i].call)
                grpc_call_cancel(g->slots[i].call, NULL);
        grpc_completion_queue_shutdown(g->cq);
        pthread_join(g->cq_thread, NULL);
    }
    if (g->cq)
        grpc_completion_queue_destroy(g->cq);
    if (g->channel)
        grpc_channel_destroy(g->channel);
    if (g->channel || g->cq)
        grpc_shutdown_blocking();
    journal_close(g->journal);
    free(g->slots);
    free(g->free_stack);
    free(g->startq);
    free((void *)g->done);
    free(g);
}

static int open_channel(gb_t *g, const char *target, int64_t cooldown_ms)
{
    grpc_init();
    /* Reconnect soon after the venue returns (gRPC's default waits up to
     * 120 s); our own retries and breaker decide the rest. */
    int max_backoff = cooldown_ms < 100 ? 100 : (int)cooldown_ms;
    grpc_arg args[4] = {
        { GRPC_ARG_INTEGER, GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, { .integer = 50 } },
        { GRPC_ARG_INTEGER, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, { .integer = 50 } },
        { GRPC_ARG_INTEGER, GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, { .integer = max_backoff } },
        { GRPC_ARG_INTEGER, GRPC_ARG_ENABLE_RETRIES, { .integer = 0 } },
    };
    grpc_channel_args ca = { 4, args };
    grpc_channel_credentials *creds = grpc_insecure_credentials_create();
    g->channel = grpc_channel_create(target, creds, &ca);
    grpc_channel_credentials_release(creds);
    g->cq = grpc_completion_queue_create_for_next(NULL);
    if (!g->channel || !g->cq)
        return se_err(-ENOMEM, "execd: cannot create the gRPC channel to %s", target);
    if (pthread_create(&g->cq_thread, NULL, cq_main, g) != 0)
        return se_err(-EAGAIN, "execd: cannot start the gRPC completion thread");
    g->thread_started = true;
    return 0;
}

static int setup(gb_t *g, const cfg_t *cfg, stats_t *st, const char **target)
{
    const char *journal_path;
    int64_t max_retries, backoff_ms, max_failures, cooldown_ms, max_inflight;
    bool sync;
    int rc;
    if ((rc = cfg_get_string(cfg, "execution.target", "127.0.0.1:50051", target)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.timeoutMs", 1000, 1, 600000, &g->timeout_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.maxRetries", 3, 0, 100, &max_retries)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.retryBackoffMs", 10, 0, 60000, &backoff_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.maxConsecutiveFailures", 5, 1, 1000000, &max_failures)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.breakerCooldownMs", 1000, 1, 3600000, &cooldown_ms)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.maxInFlight", 256, 1, 65536, &max_inflight)) < 0 ||
        (rc = cfg_get_string(cfg, "execution.journalFile", NULL, &journal_path)) < 0 ||
        (rc = cfg_get_bool(cfg, "execution.journalSync", false, &sync)) < 0)
        return rc;
    if (!**target)
        return cfg_value_error(cfg, "execution.target", "empty: name the venue as host:port");
    if (!journal_path || !*journal_path)
        return cfg_value_error(cfg, "execution.journalFile",
                               "required in live mode: the file every order is written to before it is sent");
    g->max_retries = (int)max_retries;
    g->backoff_ns = backoff_ms * 1000000;
    breaker_init(&g->breaker, (int)max_failures, cooldown_ms * 1000000);
    g->probe_index = (int)max_inflight;
    g->nslots = g->probe_index + 1;
    uint32_t qcap = 2;
    while (qcap < (uint32_t)g->nslots)
        qcap *= 2;
    g->done_mask = qcap - 1;
    g->slots = calloc((size_t)g->nslots, sizeof *g->slots);
    g->free_stack = calloc((size_t)g->nslots, sizeof *g->free_stack);
    g->startq = calloc((size_t)g->nslots, sizeof *g->startq);
    g->done = calloc(qcap, sizeof *g->done);
    if (!g->slots || !g->free_stack || !g->startq || !g->done)
        return se_err(-ENOMEM, "execd: out of memory for %d calls in flight", g->nslots);
    for (int i = 0; i < g->nslots; i++) {
        g->slots[i].index = i;
        g->slots[i].probe = i == g->probe_index;
    }
    for (int i = g->probe_index - 1; i >= 0; i--)
        g->free_stack[g->nfree++] = i;
    g->circuit_open = stats_metric(st, STATS_GAUGE, "execution_circuit_open", NULL);
    g->in_flight = stats_metric(st, STATS_GAUGE, "execution_in_flight", NULL);
    g->retries = stats_metric(st, STATS_COUNTER, "execution_retries_total", NULL);
    g->replayed = stats_metric(st, STATS_COUNTER, "execution_journal_resent_total", NULL);
    g->duplicates = stats_metric(st, STATS_COUNTER, "execution_duplicates_skipped_total", NULL);
    g->journal_errors = stats_metric(st, STATS_COUNTER, "execution_journal_errors_total", NULL);
    g->fail_unavailable = stats_metric(st, STATS_COUNTER, "execution_failures_total", "reason=\"unavailable\"");
    g->fail_deadline = stats_metric(st, STATS_COUNTER, "execution_failures_total", "reason=\"deadline_exceeded\"");
    g->fail_other = stats_metric(st, STATS_COUNTER, "execution_failures_total", "reason=\"venue_error\"");
    if (!g->circuit_open || !g->in_flight || !g->retries || !g->replayed || !g->duplicates || !g->journal_errors ||
        !g->fail_unavailable || !g->fail_deadline || !g->fail_other)
        return se_err(-ENOSPC, "execd: no room for the live execution metrics in its stats block");
    stats_set(g->circuit_open, 0);
    journal_load_t ld;
    if ((rc = journal_open(&g->journal, journal_path, sync, &ld)) < 0) {
        char why[512];
        snprintf(why, sizeof why, "%s", se_errmsg());
        return cfg_value_error(cfg, "execution.journalFile", "%s", why);
    }
    g->replay = journal_pending(g->journal, &g->nreplay);
    g->rereads_possible = true;
    if (ld.corrupt)
        stats_add(g->journal_errors, ld.corrupt);
    log_info("order journal read", LOG_STR("file", journal_path), LOG_UINT("events", ld.lines),
             LOG_UINT("damaged_lines", ld.corrupt), LOG_BOOL("torn_tail", ld.torn_tail),
             LOG_INT("to_resend", ld.pending), LOG_BOOL("fdatasync", sync));
    return open_channel(g, *target, cooldown_ms);
}

int exec_backend_grpc_open(exec_backend_t *b, const cfg_t *cfg, stats_t *stats)
{
    gb_t *g = calloc(1, sizeof *g);
    if (!g)
        return se_err(-ENOMEM, "execd: out of memory");
    *b = (exec_backend_t){ "live", g, on_quote, on_order, poll_grpc, next_event, no_quotes, close_grpc,
                           can_accept, &g->bell, holds };
    const char *target = "";
    int rc = setup(g, cfg, stats, &target);
    if (rc < 0) {
        close_grpc(b);
        return rc;
    }
    log_info("live execution", LOG_STR("target", target), LOG_INT("max_in_flight", g->probe_index),
             LOG_INT("timeout_ms", g->timeout_ms), LOG_INT("max_retries", g->max_retries));
    return 0;
}
