/* venue_sim.c -- bin/venue-sim: a venue for tests, benchmarks and dry runs.
 * A gRPC server (gRPC core C API) of execution.v1.OrderExecution
 * (proto/execution.proto) on one completion queue, driven by one thread: it
 * accepts orders, answers a retried client_order_id with its first answer,
 * fills market orders at --fill-price or the last Redis price (--redis), rests
 * limit orders, and publishes each fill as the contract's JSON on NATS
 * `fills.<SYMBOL>` (--nats) and/or a file (--fills-file). Faults on demand:
 * --reject-all, --delay-ms, --drop-after. Usage: README "Live execution". */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <hiredis/hiredis.h>
#include <nats/nats.h>

#include "common/clock.h"
#include "execution.pb-c.h"
#include "ingest/validate.h"
#include "tools/venue-sim/book.h"

#define METHOD_SUBMIT "/execution.v1.OrderExecution/SubmitOrder"
#define METHOD_CANCEL "/execution.v1.OrderExecution/CancelOrder"

typedef struct {
    int port;
    const char *bind;
    double fill_price;
    const char *redis, *redis_pattern, *nats, *fills_file;
    bool reject_all;
    int64_t delay_ms;
    long drop_after; /* -1: never */
    int max_orders;
} options_t;

typedef enum { C_REQUESTED, C_READING, C_ANSWERING } cstate_t;

typedef struct vcall {
    cstate_t state;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    grpc_byte_buffer *recv, *send;
    grpc_status_code status;
    grpc_slice status_details;
    int cancelled;
    int64_t answer_at_ns;
    struct vcall *next;
} vcall_t;

typedef struct {
    options_t opt;
    grpc_server *server;
    grpc_completion_queue *cq;
    venue_book_t *book;
    natsConnection *nc;
    FILE *fills;
    vcall_t *delayed_head, *delayed_tail; /* FIFO: every delay is the same */
    uint64_t requests, nats_errors, drops;
    long since_drop;
    bool drop_now;
    int open_calls, max_open_calls;
} venue_t;

static volatile sig_atomic_t stop, report_now;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        report_now = 1;
    else
        stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: venue-sim [options]\n"
            "  --port N          listen on N (0: any free port; the port is the first line on stdout)\n"
            "  --bind ADDR       address to bind (default 127.0.0.1)\n"
            "  --fill-price P    fill every order at P (default: the last Redis price of its symbol)\n"
            "  --redis HOST:PORT read prices from Redis pub/sub (pattern --redis-pattern, default md.*)\n"
            "  --nats URL        publish fills on NATS fills.<SYMBOL>\n"
            "  --fills-file F    also append every fill (JSON line) to F\n"
            "  --reject-all      refuse every order (reason venue_rejects_all)\n"
            "  --delay-ms N      answer each new order N ms late (a retry of a known id is answered at once)\n"
            "  --drop-after N    after every N requests, drop every connection (the next request is not\n"
            "                    answered) and listen again on the same port, orders remembered\n"
            "  --max-orders N    orders remembered for deduplication (default 262144)\n"
            "On SIGTERM/SIGINT (and SIGUSR1, without stopping) prints its counters as one JSON line.\n");
}

static int parse_options(int argc, char **argv, options_t *o)
{
    *o = (options_t){ .port = 50051, .bind = "127.0.0.1", .redis_pattern = "md.*", .drop_after = -1,
                      .max_orders = 262144 };
    static const struct option longopts[] = {
        { "port", required_argument, 0, 'p' },        { "bind", required_argument, 0, 'b' },
        { "fill-price", required_argument, 0, 'f' },  { "redis", required_argument, 0, 'r' },
        { "redis-pattern", required_argument, 0, 'R' }, { "nats", required_argument, 0, 'n' },
        { "fills-file", required_argument, 0, 'F' },  { "reject-all", no_argument, 0, 'x' },
        { "delay-ms", required_argument, 0, 'd' },    { "drop-after", required_argument, 0, 'D' },
        { "max-orders", required_argument, 0, 'm' },  { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        errno = 0;
        switch (c) {
        case 'p': o->port = (int)strtol(optarg, &end, 10); break;
        case 'b': o->bind = optarg; end = ""; break;
        case 'f': o->fill_price = strtod(optarg, &end); break;
        case 'r': o->redis = optarg; end = ""; break;
        case 'R': o->redis_pattern = optarg; end = ""; break;
        case 'n': o->nats = optarg; end = ""; break;
        case 'F': o->fills_file = optarg; end = ""; break;
        case 'x': o->reject_all = true; end = ""; break;
        case 'd': o->delay_ms = strtoll(optarg, &end, 10); break;
        case 'D': o->drop_after = strtol(optarg, &end, 10); break;
        case 'm': o->max_orders = (int)strtol(optarg, &end, 10); break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
        if (*end || errno) {
            fprintf(stderr, "venue-sim: bad value '%s' for --%s\n", optarg, longopts[optind > 0 ? 0 : 0].name);
            return -1;
        }
    }
    if (o->port < 0 || o->port > 65535 || o->fill_price < 0 || o->delay_ms < 0 || o->max_orders < 1 ||
        o->max_orders > (1 << 26)) {
        fprintf(stderr, "venue-sim: --port 0..65535, --fill-price >= 0, --delay-ms >= 0, --max-orders 1..%d\n",
                1 << 26);
        return -1;
    }
    return 0;
}

/* ---- fills ---------------------------------------------------------------------- */

static void on_fill(void *ctx, const venue_fill_t *f)
{
    venue_t *v = ctx;
    char json[512], subject[64];
    snprintf(json, sizeof json,
             "{\"fill_id\":\"%s\",\"client_order_id\":\"%s\",\"order_id\":\"%s\",\"symbol\":\"%s\","
             "\"side\":\"%s\",\"qty\":%.17g,\"price\":%.17g,\"ts\":%" PRId64 "}",
             f->fill_id, f->client_order_id, f->order_id, f->symbol, f->side == SE_SIDE_SELL ? "sell" : "buy",
             f->qty, f->price, f->ts_ns);
    if (v->nc) {
        snprintf(subject, sizeof subject, "fills.%s", f->symbol);
        if (natsConnection_PublishString(v->nc, subject, json) != NATS_OK)
            v->nats_errors++;
    }
    if (v->fills) {
        fprintf(v->fills, "%s\n", json);
        fflush(v->fills);
    }
}

/* ---- prices from Redis ------------------------------------------------------------ */

static void *redis_main(void *arg)
{
    venue_t *v = arg;
    char host[256];
    snprintf(host, sizeof host, "%s", v->opt.redis);
    char *colon = strrchr(host, ':');
    int port = colon ? atoi(colon + 1) : 6379;
    if (colon)
        *colon = '\0';
    while (!stop) {
        redisContext *c = redisConnect(host, port);
        if (!c || c->err) {
            if (c)
                redisFree(c);
            usleep(100000); /* the venue keeps serving; prices come back with Redis */
            continue;
        }
        redisReply *r = redisCommand(c, "PSUBSCRIBE %s", v->opt.redis_pattern);
        if (r)
            freeReplyObject(r);
        void *reply;
        while (!stop && redisGetReply(c, &reply) == REDIS_OK) {
            redisReply *m = reply;
            if (m->type == REDIS_REPLY_ARRAY && m->elements == 4 && m->element[3]->type == REDIS_REPLY_STRING) {
                se_in_rec_t q;
                if (val_market_data(m->element[3]->str, m->element[3]->len, &q, NULL) == VAL_OK)
                    venue_book_price(v->book, &q);
            }
            freeReplyObject(reply);
        }
        redisFree(c);
    }
    return NULL;
}

/* ---- the gRPC server ------------------------------------------------------------- */

static void request_next(venue_t *v)
{
    vcall_t *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "venue-sim: out of memory\n");
        exit(1);
    }
    c->state = C_REQUESTED;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    if (grpc_server_request_call(v->server, &c->call, &c->details, &c->md, v->cq, v->cq, c) != GRPC_CALL_OK) {
        fprintf(stderr, "venue-sim: cannot request a call\n");
        exit(1);
    }
}

static void free_call(venue_t *v, vcall_t *c)
{
    if (c->state == C_ANSWERING)
        v->open_calls--;
    if (c->call)
        grpc_call_unref(c->call);
    if (c->recv)
        grpc_byte_buffer_destroy(c->recv);
    if (c->send)
        grpc_byte_buffer_destroy(c->send);
    grpc_slice_unref(c->status_details);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    free(c);
}

static void set_message(vcall_t *c, const uint8_t *buf, size_t len)
{
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, len);
    c->send = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
}

static void answer(venue_t *v, vcall_t *c)
{
    grpc_op ops[4];
    memset(ops, 0, sizeof ops);
    int n = 0;
    ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (c->send) {
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = c->send;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = c->status;
    ops[n++].data.send_status_from_server.status_details = &c->status_details;
    ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[n++].data.recv_close_on_server.cancelled = &c->cancelled;
    c->state = C_ANSWERING;
    if (grpc_call_start_batch(c->call, ops, (size_t)n, c, NULL) != GRPC_CALL_OK)
        free_call(v, c);
}

static int side_of(int proto)
{
    return proto == EXECUTION__V1__SIDE__SIDE_BUY ? SE_SIDE_BUY : proto == EXECUTION__V1__SIDE__SIDE_SELL ? SE_SIDE_SELL : 0;
}

static int type_of(int proto)
{
    return proto == EXECUTION__V1__ORDER_TYPE__ORDER_TYPE_MARKET  ? SE_ORDER_MARKET
           : proto == EXECUTION__V1__ORDER_TYPE__ORDER_TYPE_LIMIT ? SE_ORDER_LIMIT
                                                                  : 0;
}

/* Handles the request in c->recv; returns true when the answer is for a new
 * order (the one that --delay-ms delays). */
static bool handle(venue_t *v, vcall_t *c)
{
    grpc_byte_buffer_reader rd;
    grpc_slice all = grpc_empty_slice();
    if (grpc_byte_buffer_reader_init(&rd, c->recv)) {
        all = grpc_byte_buffer_reader_readall(&rd);
        grpc_byte_buffer_reader_destroy(&rd);
    }
    size_t len = GRPC_SLICE_LENGTH(all);
    const uint8_t *p = GRPC_SLICE_START_PTR(all);
    uint8_t out[1024];
    bool fresh = false;
    venue_answer_t a;
    c->status = GRPC_STATUS_OK;
    if (grpc_slice_str_cmp(c->details.method, METHOD_SUBMIT) == 0) {
        Execution__V1__SubmitOrderRequest *m = execution__v1__submit_order_request__unpack(NULL, len, p);
        if (m) {
            venue_book_submit(v->book, m->client_order_id, m->strategy, m->symbol, side_of(m->side),
                              type_of(m->type), m->quantity, m->limit_price, &a);
            Execution__V1__SubmitOrderResponse r = EXECUTION__V1__SUBMIT_ORDER_RESPONSE__INIT;
            r.client_order_id = m->client_order_id;
            r.order_id = a.accepted ? a.order_id : "";
            r.accepted = a.accepted;
            r.reject_reason = a.reason;
            if (execution__v1__submit_order_response__get_packed_size(&r) <= sizeof out)
                set_message(c, out, execution__v1__submit_order_response__pack(&r, out));
            fresh = !a.duplicate;
            execution__v1__submit_order_request__free_unpacked(m, NULL);
        }
    } else if (grpc_slice_str_cmp(c->details.method, METHOD_CANCEL) == 0) {
        Execution__V1__CancelOrderRequest *m = execution__v1__cancel_order_request__unpack(NULL, len, p);
        if (m) {
            venue_book_cancel(v->book, m->client_order_id, &a);
            Execution__V1__CancelOrderResponse r = EXECUTION__V1__CANCEL_ORDER_RESPONSE__INIT;
            r.accepted = a.accepted;
            r.reject_reason = a.reason;
            set_message(c, out, execution__v1__cancel_order_response__pack(&r, out));
            execution__v1__cancel_order_request__free_unpacked(m, NULL);
        }
    } else {
        c->status = GRPC_STATUS_UNIMPLEMENTED;
        c->status_details = grpc_slice_from_static_string("venue-sim serves execution.v1.OrderExecution only");
    }
    if (c->status == GRPC_STATUS_OK && !c->send) {
        c->status = GRPC_STATUS_INVALID_ARGUMENT;
        c->status_details = grpc_slice_from_static_string("cannot decode the request");
    }
    grpc_slice_unref(all);
    return fresh;
}

static void on_event(venue_t *v, vcall_t *c, bool ok)
{
    switch (c->state) {
    case C_REQUESTED: {
        if (!ok) { /* the server is shutting down */
            free_call(v, c);
            return;
        }
        request_next(v);
        grpc_op op;
        memset(&op, 0, sizeof op);
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &c->recv;
        c->state = C_READING;
        if (grpc_call_start_batch(c->call, &op, 1, c, NULL) != GRPC_CALL_OK)
            free_call(v, c);
        return;
    }
    case C_READING:
        if (!ok || !c->recv) {
            free_call(v, c);
            return;
        }
        if (v->opt.drop_after >= 0 && v->since_drop++ >= v->opt.drop_after) {
            /* The client sees its calls fail and its connection go. */
            grpc_call_cancel(c->call, NULL);
            free_call(v, c);
            v->drop_now = true;
            return;
        }
        v->requests++;
        if (++v->open_calls > v->max_open_calls)
            v->max_open_calls = v->open_calls;
        if (handle(v, c) && v->opt.delay_ms > 0) {
            c->answer_at_ns = clock_mono_ns() + v->opt.delay_ms * 1000000;
            c->state = C_ANSWERING; /* counted open until answered */
            if (v->delayed_tail)
                v->delayed_tail->next = c;
            else
                v->delayed_head = c;
            v->delayed_tail = c;
            return;
        }
        answer(v, c);
        return;
    case C_ANSWERING:
        free_call(v, c);
        return;
    }
}

static void answer_due(venue_t *v)
{
    int64_t now = clock_mono_ns();
    while (v->delayed_head && v->delayed_head->answer_at_ns <= now) {
        vcall_t *c = v->delayed_head;
        v->delayed_head = c->next;
        if (!v->delayed_head)
            v->delayed_tail = NULL;
        answer(v, c);
    }
}

static void print_counts(venue_t *v)
{
    venue_counts_t n = venue_book_counts(v->book);
    printf("{\"requests\":%llu,\"submits\":%llu,\"duplicates\":%llu,\"accepted\":%llu,\"rejected\":%llu,"
           "\"fills\":%llu,\"cancels\":%llu,\"cancelled\":%llu,\"prices\":%llu,\"max_concurrent\":%d,"
           "\"nats_errors\":%llu,\"drops\":%llu}\n",
           (unsigned long long)v->requests, (unsigned long long)n.submits, (unsigned long long)n.duplicates,
           (unsigned long long)n.accepted, (unsigned long long)n.rejected, (unsigned long long)n.fills,
           (unsigned long long)n.cancels, (unsigned long long)n.cancelled, (unsigned long long)n.prices,
           v->max_open_calls, (unsigned long long)v->nats_errors, (unsigned long long)v->drops);
    fflush(stdout);
}

/* Creates the server and its completion queue on v->opt.port (0: any) and
 * waits for calls. Returns the bound port, or 0. */
static int start_server(venue_t *v)
{
    char addr[300];
    snprintf(addr, sizeof addr, "%s:%d", v->opt.bind, v->opt.port);
    v->cq = grpc_completion_queue_create_for_next(NULL);
    v->server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(v->server, v->cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(v->server, addr, creds);
    grpc_server_credentials_release(creds);
    if (port <= 0) {
        fprintf(stderr, "venue-sim: cannot listen on %s\n", addr);
        return 0;
    }
    grpc_server_start(v->server);
    for (int i = 0; i < 16; i++) /* calls waiting to be accepted */
        request_next(v);
    return port;
}

/* Answers nothing more: cancels what is open, closes every connection and
 * destroys the server and its queue. */
static void stop_server(venue_t *v)
{
    static int shutdown_tag;
    grpc_server_shutdown_and_notify(v->server, v->cq, &shutdown_tag);
    grpc_server_cancel_all_calls(v->server);
    for (vcall_t *c = v->delayed_head, *next; c; c = next) {
        next = c->next;
        free_call(v, c);
    }
    v->delayed_head = v->delayed_tail = NULL;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(v->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE || ev.tag == &shutdown_tag)
            break;
        free_call(v, ev.tag);
    }
    grpc_server_destroy(v->server);
    grpc_completion_queue_shutdown(v->cq);
    while (grpc_completion_queue_next(v->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(v->cq);
    v->server = NULL;
    v->cq = NULL;
}

static int serve(venue_t *v)
{
    if (!(v->opt.port = start_server(v)))
        return 1;
    printf("%d\n", v->opt.port);
    fflush(stdout);
    while (!stop) {
        if (report_now) {
            report_now = 0;
            print_counts(v);
        }
        if (v->drop_now) {
            v->drop_now = false;
            v->since_drop = 0;
            v->drops++;
            stop_server(v);
            if (!start_server(v))
                return 1;
        }
        gpr_timespec deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(50, GPR_TIMESPAN));
        if (v->delayed_head) {
            int64_t left = v->delayed_head->answer_at_ns - clock_mono_ns();
            if (left < 50000000)
                deadline = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                        gpr_time_from_nanos(left > 0 ? left : 0, GPR_TIMESPAN));
        }
        grpc_event ev = grpc_completion_queue_next(v->cq, deadline, NULL);
        if (ev.type == GRPC_OP_COMPLETE)
            on_event(v, ev.tag, ev.success != 0);
        answer_due(v);
    }
    stop_server(v);
    return 0;
}

/* Static: the detached Redis thread keeps using it (and the book) until exit. */
static venue_t the_venue;

int main(int argc, char **argv)
{
    venue_t *v = &the_venue;
    if (parse_options(argc, argv, &v->opt) < 0)
        return 2;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (v->opt.fills_file && !(v->fills = fopen(v->opt.fills_file, "a"))) {
        fprintf(stderr, "venue-sim: cannot open %s: %s\n", v->opt.fills_file, strerror(errno));
        return 1;
    }
    if (v->opt.nats) {
        natsOptions *no = NULL;
        if (natsOptions_Create(&no) != NATS_OK || natsOptions_SetURL(no, v->opt.nats) != NATS_OK ||
            natsOptions_SetSendAsap(no, true) != NATS_OK || natsConnection_Connect(&v->nc, no) != NATS_OK) {
            fprintf(stderr, "venue-sim: cannot connect to NATS at %s: %s\n", v->opt.nats, nats_GetLastError(NULL));
            return 1;
        }
        natsOptions_Destroy(no);
    }
    venue_book_cfg_t bc = { v->opt.max_orders, v->opt.fill_price, v->opt.reject_all, on_fill, v };
    if (!(v->book = venue_book_new(&bc))) {
        fprintf(stderr, "venue-sim: out of memory for %d orders\n", v->opt.max_orders);
        return 1;
    }
    pthread_t redis_thread;
    if (v->opt.redis) {
        if (pthread_create(&redis_thread, NULL, redis_main, v) != 0) {
            fprintf(stderr, "venue-sim: cannot start the Redis thread\n");
            return 1;
        }
        pthread_detach(redis_thread); /* blocks in Redis reads; ends with the process */
    }
    grpc_init();
    int rc = serve(v);
    print_counts(v);
    grpc_shutdown_blocking();
    if (v->nc) {
        natsConnection_FlushTimeout(v->nc, 1000);
        natsConnection_Destroy(v->nc);
    }
    if (v->fills)
        fclose(v->fills);
    if (!v->opt.redis)
        venue_book_free(v->book); /* the Redis thread may still hold it */
    return rc;
}
