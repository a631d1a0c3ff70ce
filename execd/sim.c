/* sim.c -- execd's paper-trading fill model. See sim.h for the model.
 * Tables: symbols in a fixed open-addressing hash (never removed); orders in
 * one slot array with a chained hash on client_order_id, a pending list sorted
 * by activation time (append-only in practice, since the latency is constant
 * and time moves forward), a resting list per symbol and a FIFO of finished
 * orders that are recycled oldest first. */
#include "execd/sim.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"

#define SYM_BUCKETS (2 * SIM_MAX_SYMBOLS) /* a power of two, half full at most */

enum { ORD_FREE = 0, ORD_PENDING = 1, ORD_RESTING = 2, ORD_DONE = 3 };

static const sim_counters_t zero_counters;

/* ---- small helpers ------------------------------------------------------- */

static inline uint64_t hash_str(const char *p, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

/* The length of a NUL-terminated string in a field of `size` bytes, or -1 if
 * it is empty or has no NUL (records come from another process). */
static inline int field_len(const char *p, size_t size)
{
    size_t n = strnlen(p, size);

    return n == 0 || n == size ? -1 : (int)n;
}

/* Copies a possibly unterminated field into dst[size], always terminated. */
static inline void copy_field(char *dst, size_t dst_size, const char *src, size_t src_size)
{
    size_t n = strnlen(src, src_size);

    if (n >= dst_size)
        n = dst_size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Appends the decimal digits of v at p (no NUL); returns the end. */
static inline char *put_u64(char *p, uint64_t v)
{
    char tmp[20];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n > 0)
        *p++ = tmp[--n];
    return p;
}

static inline bool good_price(double x)
{
    return isfinite(x) && x > 0;
}

static inline void emit_report(sim_emit_fn emit, void *ctx, const se_exec_rec_t *r)
{
    if (emit != NULL)
        emit(ctx, r);
}

/* ---- symbols ------------------------------------------------------------- */

/* Returns the slot of symbol (len bytes, valid), or -1 if absent; *bucket
 * (if not NULL) is where it would go. */
static int sym_find(const sim_t *s, const char *symbol, int len, uint32_t *bucket)
{
    uint32_t b = (uint32_t)hash_str(symbol, (size_t)len) & (SYM_BUCKETS - 1);

    for (;; b = (b + 1) & (SYM_BUCKETS - 1)) {
        int32_t v = s->sym_hash[b];
        if (v == 0)
            break;
        if (memcmp(s->syms[v - 1].symbol, symbol, (size_t)len + 1) == 0)
            return v - 1;
    }
    if (bucket != NULL)
        *bucket = b;
    return -1;
}

/* Returns the slot of symbol, adding it (no quote, no orders) if absent, or
 * -ENOSPC when the table is full. The hash never fills: SIM_MAX_SYMBOLS is
 * half of SYM_BUCKETS. */
static int sym_add(sim_t *s, const char *symbol, int len)
{
    uint32_t b = 0;
    int slot = sym_find(s, symbol, len, &b);
    sim_symbol_t *y;

    if (slot >= 0)
        return slot;
    if (s->nsyms == SIM_MAX_SYMBOLS)
        return -ENOSPC;
    y = &s->syms[s->nsyms];
    memset(y, 0, sizeof *y);
    memcpy(y->symbol, symbol, (size_t)len + 1);
    y->rest_head = y->rest_tail = -1;
    s->sym_hash[b] = ++s->nsyms;
    return s->nsyms - 1;
}

/* The prices a market order meets now; false when there is no usable quote. */
static inline bool sym_prices(const sim_symbol_t *y, double *bid, double *ask)
{
    if (y->has_bidask) {
        *bid = y->bid;
        *ask = y->ask;
        return true;
    }
    if (y->has_last) {
        *bid = *ask = y->last;
        return true;
    }
    return false;
}

/* ---- orders: hash and lists ---------------------------------------------- */

static inline uint32_t id_bucket(const sim_t *s, const char *id, int len)
{
    return (uint32_t)hash_str(id, (size_t)len) & s->id_mask;
}

static int find_order(const sim_t *s, const char *id, int len)
{
    for (int32_t i = s->id_hash[id_bucket(s, id, len)]; i >= 0; i = s->orders[i].hnext)
        if (memcmp(s->orders[i].ord.client_order_id, id, (size_t)len + 1) == 0)
            return i;
    return -1;
}

static void hash_remove(sim_t *s, int32_t i)
{
    const char *id = s->orders[i].ord.client_order_id;
    int32_t *link = &s->id_hash[id_bucket(s, id, (int)strlen(id))];

    while (*link != i)
        link = &s->orders[*link].hnext;
    *link = s->orders[i].hnext;
}

static void pending_unlink(sim_t *s, int32_t i)
{
    sim_order_t *o = &s->orders[i];

    if (o->prev >= 0)
        s->orders[o->prev].next = o->next;
    else
        s->pend_head = o->next;
    if (o->next >= 0)
        s->orders[o->next].prev = o->prev;
    else
        s->pend_tail = o->prev;
}

/* Inserts i in activation order, after every order due no later (so equal
 * times keep arrival order). From the tail: O(1) while time moves forward. */
static void pending_insert(sim_t *s, int32_t i)
{
    sim_order_t *o = &s->orders[i];
    int32_t after = s->pend_tail;

    while (after >= 0 && s->orders[after].activate_ns > o->activate_ns)
        after = s->orders[after].prev;
    o->prev = after;
    o->next = after >= 0 ? s->orders[after].next : s->pend_head;
    if (after >= 0)
        s->orders[after].next = i;
    else
        s->pend_head = i;
    if (o->next >= 0)
        s->orders[o->next].prev = i;
    else
        s->pend_tail = i;
}

static void rest_append(sim_t *s, int32_t i)
{
    sim_order_t *o = &s->orders[i];
    sim_symbol_t *y = &s->syms[o->sym];

    o->prev = y->rest_tail;
    o->next = -1;
    if (y->rest_tail >= 0)
        s->orders[y->rest_tail].next = i;
    else
        y->rest_head = i;
    y->rest_tail = i;
}

static void rest_unlink(sim_t *s, int32_t i)
{
    sim_order_t *o = &s->orders[i];
    sim_symbol_t *y = &s->syms[o->sym];

    if (o->prev >= 0)
        s->orders[o->prev].next = o->next;
    else
        y->rest_head = o->next;
    if (o->next >= 0)
        s->orders[o->next].prev = o->prev;
    else
        y->rest_tail = o->prev;
}

/* A working order (already unlinked from its list) is finished: it joins the
 * finished FIFO, keeping its id known until its slot is recycled. */
static void finish(sim_t *s, int32_t i)
{
    sim_order_t *o = &s->orders[i];

    o->state = ORD_DONE;
    o->next = -1;
    if (s->done_tail >= 0)
        s->orders[s->done_tail].next = i;
    else
        s->done_head = i;
    s->done_tail = i;
    s->working--;
}

/* A slot for a new order: a free one, else the oldest finished one (whose id
 * is forgotten), else -1. */
static int32_t take_slot(sim_t *s)
{
    int32_t i = s->free_head;

    if (i >= 0) {
        s->free_head = s->orders[i].next;
        return i;
    }
    i = s->done_head;
    if (i < 0)
        return -1;
    s->done_head = s->orders[i].next;
    if (s->done_head < 0)
        s->done_tail = -1;
    hash_remove(s, i);
    return i;
}

/* ---- reports ------------------------------------------------------------- */

/* Fills the fields every report of order record `o` shares. */
static void report_init(se_exec_rec_t *r, uint8_t kind, const se_order_rec_t *o, int64_t ts_exec_ns,
                        int64_t now_ns)
{
    se_exec_from_order(r, o, kind);
    r->ts_exec_ns = ts_exec_ns;
    r->ts_report_ns = now_ns;
}

static void set_reason(se_exec_rec_t *r, const char *a, const char *b)
{
    size_t na = strlen(a), nb = b ? strnlen(b, SE_SYMBOL_MAX - 1) : 0;

    if (na > sizeof r->reason - 1)
        na = sizeof r->reason - 1;
    if (nb > sizeof r->reason - 1 - na)
        nb = sizeof r->reason - 1 - na;
    memcpy(r->reason, a, na);
    if (nb > 0)
        memcpy(r->reason + na, b, nb);
    r->reason[na + nb] = '\0';
}

/* A REJECT of a record that never became a working order. */
static void reject_record(sim_t *s, const se_order_rec_t *o, const char *reason, const char *order_id,
                          int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    se_exec_rec_t r;

    report_init(&r, SE_EXEC_REJECT, o, now_ns, now_ns);
    if (order_id != NULL)
        copy_field(r.order_id, sizeof r.order_id, order_id, SE_ID_MAX);
    set_reason(&r, reason, NULL);
    s->counters.rejects++;
    emit_report(emit, ctx, &r);
}

/* Fills working order i (unlinked already) whole at price, and finishes it. */
static void fill_order(sim_t *s, int32_t i, double price, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    sim_order_t *o = &s->orders[i];
    se_exec_rec_t r;
    char *p;

    report_init(&r, SE_EXEC_FILL, &o->ord, o->ts_exec_ns, now_ns);
    memcpy(r.order_id, o->order_id, sizeof o->order_id);
    p = r.fill_id; /* "simf-" + 20 digits + "-" + 20 digits fits SE_ID_MAX */
    memcpy(p, "simf-", 5);
    p = put_u64(p + 5, s->epoch);
    *p++ = '-';
    p = put_u64(p, ++s->fill_seq);
    *p = '\0';
    r.price = price;
    r.leaves_qty = 0;
    s->counters.fills++;
    finish(s, i);
    emit_report(emit, ctx, &r);
}

/* ---- activation ---------------------------------------------------------- */

static inline bool crosses(const sim_order_t *o, double bid, double ask)
{
    return o->ord.side == SE_SIDE_BUY ? ask <= o->ord.price : bid >= o->ord.price;
}

/* Order i's latency has elapsed (it is unlinked from the pending list). */
static void activate(sim_t *s, int32_t i, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    sim_order_t *o = &s->orders[i];
    double bid, ask;
    bool quoted;

    if (o->sym < 0) /* a market order of a symbol unseen at arrival: look again */
        o->sym = sym_find(s, o->ord.symbol, (int)strlen(o->ord.symbol), NULL);
    quoted = o->sym >= 0 && sym_prices(&s->syms[o->sym], &bid, &ask);
    if (o->ord.order_type == SE_ORDER_MARKET) {
        if (!quoted) {
            se_exec_rec_t r;
            report_init(&r, SE_EXEC_REJECT, &o->ord, o->ts_exec_ns, now_ns);
            memcpy(r.order_id, o->order_id, sizeof o->order_id);
            set_reason(&r, "no quote for ", o->ord.symbol);
            s->counters.rejects++;
            finish(s, i);
            emit_report(emit, ctx, &r);
            return;
        }
        fill_order(s, i, o->ord.side == SE_SIDE_BUY ? ask * (1.0 + s->slip) : bid * (1.0 - s->slip), now_ns,
                   emit, ctx);
        return;
    }
    if (quoted && crosses(o, bid, ask)) {
        /* Marketable on arrival: it takes the quote, which is at or better than its limit. */
        fill_order(s, i, o->ord.side == SE_SIDE_BUY ? ask : bid, now_ns, emit, ctx);
        return;
    }
    o->state = ORD_RESTING;
    rest_append(s, i);
}

void sim_poll(sim_t *s, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    if (s == NULL || s->orders == NULL)
        return;
    while (s->pend_head >= 0 && s->orders[s->pend_head].activate_ns <= now_ns) {
        int32_t i = s->pend_head;
        pending_unlink(s, i);
        activate(s, i, now_ns, emit, ctx);
    }
}

int64_t sim_next_event_ns(const sim_t *s)
{
    if (s == NULL || s->orders == NULL || s->pend_head < 0)
        return INT64_MAX;
    return s->orders[s->pend_head].activate_ns;
}

/* ---- quotes -------------------------------------------------------------- */

void sim_on_quote(sim_t *s, const se_in_rec_t *q, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    const bool has_ba = q != NULL && (q->flags & SE_QUOTE_HAS_BIDASK);
    const bool has_last = q != NULL && (q->flags & SE_QUOTE_HAS_LAST);
    sim_symbol_t *y;
    double bid, ask;
    int len, slot;

    if (s == NULL || s->orders == NULL)
        return;
    sim_poll(s, now_ns, emit, ctx);
    if (q == NULL || q->kind != SE_IN_QUOTE)
        return;
    len = field_len(q->symbol, sizeof q->symbol);
    if (len < 0 || (!has_ba && !has_last) ||
        (has_ba && !(good_price(q->u.quote.bid) && good_price(q->u.quote.ask) && q->u.quote.bid <= q->u.quote.ask)) ||
        (has_last && !good_price(q->u.quote.last))) {
        s->counters.bad_quotes++;
        return;
    }
    slot = sym_add(s, q->symbol, len);
    if (slot < 0) {
        s->counters.symbols_full++;
        return;
    }
    y = &s->syms[slot];
    if (has_ba) {
        y->bid = q->u.quote.bid;
        y->ask = q->u.quote.ask;
        y->has_bidask = 1;
    }
    if (has_last) {
        y->last = q->u.quote.last;
        y->has_last = 1;
    }
    s->counters.quotes++;
    if (y->rest_head < 0 || !sym_prices(y, &bid, &ask))
        return;
    for (int32_t i = y->rest_head, next; i >= 0; i = next) {
        next = s->orders[i].next;
        if (crosses(&s->orders[i], bid, ask)) {
            rest_unlink(s, i);
            fill_order(s, i, s->orders[i].ord.price, now_ns, emit, ctx);
        }
    }
}

/* ---- orders -------------------------------------------------------------- */

/* Why NEW order o cannot be taken, or NULL if it can; *sym is its symbol slot
 * (-1 for a market order of a symbol not seen yet). */
static const char *new_refusal(sim_t *s, const se_order_rec_t *o, int32_t *sym)
{
    int id_len = field_len(o->client_order_id, sizeof o->client_order_id);
    int sym_len = field_len(o->symbol, sizeof o->symbol);

    if (o->side != SE_SIDE_BUY && o->side != SE_SIDE_SELL)
        return "invalid side";
    if (o->order_type != SE_ORDER_MARKET && o->order_type != SE_ORDER_LIMIT)
        return "invalid order type";
    if (!(isfinite(o->qty) && o->qty > 0))
        return "invalid quantity";
    if (o->order_type == SE_ORDER_LIMIT && !good_price(o->price))
        return "invalid limit price";
    if (sym_len < 0)
        return "invalid symbol";
    if (id_len < 0)
        return "invalid client_order_id";
    if (find_order(s, o->client_order_id, id_len) >= 0)
        return "duplicate client_order_id";
    if (s->working == s->cap)
        return "order table full";
    /* A limit order needs its symbol's slot to rest in; a market order only
     * looks for a quote, at activation. */
    if (o->order_type == SE_ORDER_LIMIT) {
        *sym = sym_add(s, o->symbol, sym_len);
        if (*sym < 0)
            return "symbol table full";
    } else {
        *sym = sym_find(s, o->symbol, sym_len, NULL);
    }
    return NULL;
}

static void on_new(sim_t *s, const se_order_rec_t *o, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    int32_t sym = -1, i;
    const char *why = new_refusal(s, o, &sym);
    sim_order_t *w;
    se_exec_rec_t r;
    uint32_t b;
    char *p;

    if (why != NULL) {
        reject_record(s, o, why, NULL, now_ns, emit, ctx);
        return;
    }
    i = take_slot(s); /* fewer than cap orders work, so a slot is free or finished */
    if (i < 0) {
        reject_record(s, o, "order table full", NULL, now_ns, emit, ctx);
        return;
    }
    w = &s->orders[i];
    w->ord = *o;
    /* The only string not validated above; terminated once here. */
    copy_field(w->ord.strategy, sizeof w->ord.strategy, o->strategy, sizeof o->strategy);
    if (o->order_type == SE_ORDER_MARKET)
        w->ord.price = 0;
    p = w->order_id;
    memcpy(p, "sim-", 4);
    p = put_u64(p + 4, ++s->order_seq);
    *p = '\0';
    w->ts_exec_ns = now_ns;
    /* Saturating; INT64_MAX stays free to mean "nothing pending". */
    w->activate_ns = now_ns > INT64_MAX - 1 - s->latency_ns ? INT64_MAX - 1 : now_ns + s->latency_ns;
    w->sym = sym;
    w->state = ORD_PENDING;
    b = id_bucket(s, w->ord.client_order_id, (int)strlen(w->ord.client_order_id));
    w->hnext = s->id_hash[b];
    s->id_hash[b] = i;
    pending_insert(s, i);
    s->working++;

    report_init(&r, SE_EXEC_ACK, &w->ord, now_ns, now_ns);
    memcpy(r.order_id, w->order_id, sizeof w->order_id);
    r.leaves_qty = w->ord.qty;
    s->counters.acks++;
    emit_report(emit, ctx, &r);
    /* With no latency it is active at once. */
    sim_poll(s, now_ns, emit, ctx);
}

static void on_cancel(sim_t *s, const se_order_rec_t *o, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    int id_len = field_len(o->client_order_id, sizeof o->client_order_id);
    int32_t i = id_len < 0 ? -1 : find_order(s, o->client_order_id, id_len);
    sim_order_t *w;
    se_exec_rec_t r;

    if (i < 0 || (s->orders[i].state != ORD_PENDING && s->orders[i].state != ORD_RESTING)) {
        reject_record(s, o, "unknown order", i >= 0 ? s->orders[i].order_id : NULL, now_ns, emit, ctx);
        return;
    }
    w = &s->orders[i];
    if (w->state == ORD_PENDING)
        pending_unlink(s, i);
    else
        rest_unlink(s, i);
    /* The working order's description, with the cancel request's timestamps. */
    report_init(&r, SE_EXEC_CANCELLED, &w->ord, now_ns, now_ns);
    r.action = o->action; /* it answers the cancel */
    r.ts_ingest_ns = o->ts_ingest_ns;
    r.ts_strategy_ns = o->ts_strategy_ns;
    r.ts_risk_ns = o->ts_risk_ns;
    memcpy(r.order_id, w->order_id, sizeof w->order_id);
    r.leaves_qty = w->ord.qty; /* fills are whole: all of it is still open */
    set_reason(&r, "cancelled", NULL);
    s->counters.cancels++;
    finish(s, i);
    emit_report(emit, ctx, &r);
}

void sim_on_order(sim_t *s, const se_order_rec_t *order, int64_t now_ns, sim_emit_fn emit, void *ctx)
{
    if (s == NULL || s->orders == NULL || order == NULL)
        return;
    sim_poll(s, now_ns, emit, ctx);
    s->counters.orders++;
    switch (order->action) {
    case SE_ACTION_NEW: on_new(s, order, now_ns, emit, ctx); break;
    case SE_ACTION_CANCEL: on_cancel(s, order, now_ns, emit, ctx); break;
    default: reject_record(s, order, "invalid action", NULL, now_ns, emit, ctx); break;
    }
}

/* ---- set-up and queries -------------------------------------------------- */

int sim_init(sim_t *s, double slippage_bps, int64_t latency_ns, int max_orders)
{
    uint32_t buckets = 2;

    if (s == NULL)
        return se_err(-EINVAL, "simulator: nothing to initialise");
    memset(s, 0, sizeof *s);
    s->free_head = s->pend_head = s->pend_tail = s->done_head = s->done_tail = -1;
    if (!(isfinite(slippage_bps) && slippage_bps >= 0 && slippage_bps < 10000))
        return se_err(-EINVAL, "simulator: execution.sim.slippageBps %g is out of range [0, 10000)", slippage_bps);
    if (latency_ns < 0)
        return se_err(-EINVAL, "simulator: execution.sim.latencyUs must not be negative (%lld ns)",
                      (long long)latency_ns);
    if (max_orders < 1 || max_orders > SIM_MAX_ORDERS)
        return se_err(-EINVAL, "simulator: order capacity %d is out of range [1, %d]", max_orders, SIM_MAX_ORDERS);
    while (buckets < 2u * (uint32_t)max_orders)
        buckets <<= 1;
    s->syms = calloc(SIM_MAX_SYMBOLS, sizeof *s->syms);
    s->sym_hash = calloc(SYM_BUCKETS, sizeof *s->sym_hash);
    s->orders = calloc((size_t)max_orders, sizeof *s->orders);
    s->id_hash = malloc(buckets * sizeof *s->id_hash);
    if (s->syms == NULL || s->sym_hash == NULL || s->orders == NULL || s->id_hash == NULL) {
        sim_fini(s);
        return se_err(-ENOMEM, "simulator: out of memory for %d orders", max_orders);
    }
    memset(s->id_hash, 0xff, buckets * sizeof *s->id_hash); /* every chain -1 */
    s->id_mask = buckets - 1;
    for (int i = 0; i < max_orders; i++)
        s->orders[i].next = i + 1 < max_orders ? i + 1 : -1;
    s->free_head = 0;
    s->cap = max_orders;
    s->slip = slippage_bps / 10000.0;
    s->latency_ns = latency_ns;
    s->epoch = (uint64_t)clock_real_ns();
    return 0;
}

void sim_fini(sim_t *s)
{
    if (s == NULL)
        return;
    free(s->syms);
    free(s->sym_hash);
    free(s->orders);
    free(s->id_hash);
    memset(s, 0, sizeof *s);
    s->free_head = s->pend_head = s->pend_tail = s->done_head = s->done_tail = -1;
}

void sim_set_epoch(sim_t *s, uint64_t epoch)
{
    if (s != NULL)
        s->epoch = epoch;
}

int sim_working(const sim_t *s)
{
    return s == NULL ? 0 : s->working;
}

int sim_quote(const sim_t *s, const char *symbol, double *bid, double *ask)
{
    int len, slot;
    double b, a;

    if (s == NULL || s->orders == NULL || symbol == NULL)
        return -ENOENT;
    len = field_len(symbol, SE_SYMBOL_MAX);
    if (len < 0)
        return -ENOENT;
    slot = sym_find(s, symbol, len, NULL);
    if (slot < 0 || !sym_prices(&s->syms[slot], &b, &a))
        return -ENOENT;
    if (bid != NULL)
        *bid = b;
    if (ask != NULL)
        *ask = a;
    return 0;
}

const sim_counters_t *sim_counters(const sim_t *s)
{
    return s == NULL ? &zero_counters : &s->counters;
}
