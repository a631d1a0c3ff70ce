/* book.c -- see book.h. */
#include "tools/venue-sim/book.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"

#define MAX_SYMBOLS 256

typedef enum { ORD_REJECTED = 1, ORD_RESTING, ORD_FILLED, ORD_CANCELLED } ord_state_t;

typedef struct {
    char id[SE_ID_MAX];
    char reason[SE_REASON_MAX]; /* a rejected order's */
    char symbol[SE_SYMBOL_MAX];
    uint64_t seq; /* order_id "v-<seq>" */
    uint8_t state, side, type;
    double qty, price;
    int32_t next_resting, prev_resting;
} vorder_t;

typedef struct {
    char symbol[SE_SYMBOL_MAX];
    double bid, ask, last;
} vprice_t;

struct venue_book {
    pthread_mutex_t mu;
    venue_book_cfg_t cfg;
    vorder_t *orders;
    int norders;
    int32_t *index; /* open addressing over orders, -1 empty */
    uint32_t mask;
    int32_t resting; /* head of the resting list */
    vprice_t prices[MAX_SYMBOLS];
    int nprices;
    uint64_t fill_seq;
    venue_counts_t n;
};

venue_book_t *venue_book_new(const venue_book_cfg_t *cfg)
{
    venue_book_t *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cfg = *cfg;
    uint32_t slots = 2;
    while (slots < 2u * (uint32_t)cfg->max_orders)
        slots *= 2;
    b->mask = slots - 1;
    b->orders = calloc((size_t)cfg->max_orders, sizeof *b->orders);
    b->index = malloc(slots * sizeof *b->index);
    if (!b->orders || !b->index) {
        venue_book_free(b);
        return NULL;
    }
    memset(b->index, 0xff, slots * sizeof *b->index);
    b->resting = -1;
    pthread_mutex_init(&b->mu, NULL);
    return b;
}

void venue_book_free(venue_book_t *b)
{
    if (!b)
        return;
    free(b->orders);
    free(b->index);
    free(b);
}

static uint32_t hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static uint32_t slot_of(const venue_book_t *b, const char *id)
{
    uint32_t i = hash(id) & b->mask;
    while (b->index[i] >= 0 && strcmp(b->orders[b->index[i]].id, id) != 0)
        i = (i + 1) & b->mask;
    return i;
}

static vprice_t *price_of(venue_book_t *b, const char *symbol, bool create)
{
    for (int i = 0; i < b->nprices; i++)
        if (strcmp(b->prices[i].symbol, symbol) == 0)
            return &b->prices[i];
    if (!create || b->nprices == MAX_SYMBOLS)
        return NULL;
    vprice_t *p = &b->prices[b->nprices++];
    memset(p, 0, sizeof *p);
    snprintf(p->symbol, sizeof p->symbol, "%s", symbol);
    return p;
}

/* What an order of this side would trade at now, or 0 when unknown. */
static double market_price(venue_book_t *b, const char *symbol, int side)
{
    if (b->cfg.fill_price > 0)
        return b->cfg.fill_price;
    const vprice_t *p = price_of(b, symbol, false);
    if (!p)
        return 0;
    double quoted = side == SE_SIDE_BUY ? p->ask : p->bid;
    return quoted > 0 ? quoted : p->last;
}

static void order_id_of(const vorder_t *o, char *out, size_t size)
{
    snprintf(out, size, "v-%llu", (unsigned long long)o->seq);
}

static void fill(venue_book_t *b, vorder_t *o, double price)
{
    venue_fill_t f;
    memset(&f, 0, sizeof f);
    snprintf(f.fill_id, sizeof f.fill_id, "vf-%llu", (unsigned long long)++b->fill_seq);
    memcpy(f.client_order_id, o->id, sizeof f.client_order_id);
    order_id_of(o, f.order_id, sizeof f.order_id);
    memcpy(f.symbol, o->symbol, sizeof f.symbol);
    f.side = o->side;
    f.qty = o->qty;
    f.price = price;
    f.ts_ns = clock_real_ns();
    o->state = ORD_FILLED;
    b->n.fills++;
    if (b->cfg.on_fill)
        b->cfg.on_fill(b->cfg.ctx, &f);
}

static void unrest(venue_book_t *b, vorder_t *o)
{
    if (o->prev_resting >= 0)
        b->orders[o->prev_resting].next_resting = o->next_resting;
    else
        b->resting = o->next_resting;
    if (o->next_resting >= 0)
        b->orders[o->next_resting].prev_resting = o->prev_resting;
}

static bool crosses(const vorder_t *o, double price)
{
    return price > 0 && (o->side == SE_SIDE_BUY ? price <= o->price : price >= o->price);
}

static bool id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= SE_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
            return false;
    return true;
}

static const char *invalid(const char *symbol, int side, int type, double qty, double limit_price)
{
    size_t n = strlen(symbol);
    if (n == 0 || n >= SE_SYMBOL_MAX)
        return "invalid_symbol";
    if (side != SE_SIDE_BUY && side != SE_SIDE_SELL)
        return "invalid_side";
    if (type != SE_ORDER_MARKET && type != SE_ORDER_LIMIT)
        return "invalid_type";
    if (!(isfinite(qty) && qty > 0))
        return "invalid_quantity";
    if (type == SE_ORDER_LIMIT && !(isfinite(limit_price) && limit_price > 0))
        return "invalid_price";
    return NULL;
}

static void answer_of(const vorder_t *o, venue_answer_t *out)
{
    out->accepted = o->state != ORD_REJECTED;
    order_id_of(o, out->order_id, sizeof out->order_id);
    snprintf(out->reason, sizeof out->reason, "%s", o->state == ORD_REJECTED ? o->reason : "");
}

void venue_book_submit(venue_book_t *b, const char *client_order_id, const char *strategy, const char *symbol,
                       int side, int type, double qty, double limit_price, venue_answer_t *out)
{
    (void)strategy;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    b->n.submits++;
    if (!id_ok(client_order_id)) {
        b->n.rejected++;
        snprintf(out->reason, sizeof out->reason, "invalid_client_order_id");
        pthread_mutex_unlock(&b->mu);
        return;
    }
    uint32_t slot = slot_of(b, client_order_id);
    if (b->index[slot] >= 0) {
        b->n.duplicates++;
        out->duplicate = true;
        answer_of(&b->orders[b->index[slot]], out);
        pthread_mutex_unlock(&b->mu);
        return;
    }
    if (b->norders == b->cfg.max_orders) {
        b->n.rejected++;
        snprintf(out->reason, sizeof out->reason, "venue_full");
        pthread_mutex_unlock(&b->mu);
        return;
    }
    int32_t i = b->norders++;
    vorder_t *o = &b->orders[i];
    memset(o, 0, sizeof *o);
    snprintf(o->id, sizeof o->id, "%s", client_order_id);
    snprintf(o->symbol, sizeof o->symbol, "%s", symbol);
    o->seq = (uint64_t)i + 1;
    o->side = (uint8_t)side;
    o->type = (uint8_t)type;
    o->qty = qty;
    o->price = limit_price;
    o->next_resting = o->prev_resting = -1;
    b->index[slot] = i;
    const char *bad = b->cfg.reject_all ? "venue_rejects_all" : invalid(symbol, side, type, qty, limit_price);
    double px = bad ? 0 : market_price(b, symbol, side);
    if (!bad && type == SE_ORDER_MARKET && px <= 0)
        bad = "no_price";
    if (bad) {
        o->state = ORD_REJECTED;
        snprintf(o->reason, sizeof o->reason, "%s", bad);
        b->n.rejected++;
    } else {
        b->n.accepted++;
        if (type == SE_ORDER_MARKET)
            fill(b, o, px);
        else if (crosses(o, px))
            fill(b, o, px);
        else {
            o->state = ORD_RESTING;
            o->next_resting = b->resting;
            if (b->resting >= 0)
                b->orders[b->resting].prev_resting = i;
            b->resting = i;
        }
    }
    answer_of(o, out);
    pthread_mutex_unlock(&b->mu);
}

void venue_book_cancel(venue_book_t *b, const char *client_order_id, venue_answer_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&b->mu);
    b->n.cancels++;
    uint32_t slot = id_ok(client_order_id) ? slot_of(b, client_order_id) : 0;
    vorder_t *o = id_ok(client_order_id) && b->index[slot] >= 0 ? &b->orders[b->index[slot]] : NULL;
    if (!o || o->state == ORD_REJECTED) {
        snprintf(out->reason, sizeof out->reason, "unknown_order");
    } else if (o->state == ORD_FILLED) {
        snprintf(out->reason, sizeof out->reason, "already_filled");
    } else {
        if (o->state == ORD_RESTING) {
            unrest(b, o);
            o->state = ORD_CANCELLED;
            b->n.cancelled++;
        }
        out->accepted = true;
        order_id_of(o, out->order_id, sizeof out->order_id);
    }
    pthread_mutex_unlock(&b->mu);
}

void venue_book_price(venue_book_t *b, const se_in_rec_t *q)
{
    pthread_mutex_lock(&b->mu);
    b->n.prices++;
    vprice_t *p = price_of(b, q->symbol, true);
    if (p) {
        if (q->flags & SE_QUOTE_HAS_BIDASK) {
            p->bid = q->u.quote.bid;
            p->ask = q->u.quote.ask;
        }
        if (q->flags & SE_QUOTE_HAS_LAST)
            p->last = q->u.quote.last;
        for (int32_t i = b->resting, next; i >= 0; i = next) {
            vorder_t *o = &b->orders[i];
            next = o->next_resting;
            double px = market_price(b, o->symbol, o->side);
            if (strcmp(o->symbol, p->symbol) == 0 && crosses(o, px)) {
                unrest(b, o);
                fill(b, o, px);
            }
        }
    }
    pthread_mutex_unlock(&b->mu);
}

venue_counts_t venue_book_counts(venue_book_t *b)
{
    pthread_mutex_lock(&b->mu);
    venue_counts_t n = b->n;
    pthread_mutex_unlock(&b->mu);
    return n;
}
