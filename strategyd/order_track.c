/* order_track.c -- which of a strategy's orders still work. See
 * order_track.h for the rules. A linear table: a few hundred orders, looked
 * at per report, never per tick. */
#include "strategyd/order_track.h"

#include <string.h>

/* A quantity filled within this (relative) of the order's is all of it. */
#define QTY_EPS_REL 1e-9

void order_track_init(order_track_t *t)
{
    memset(t, 0, sizeof *t);
}

static order_track_entry_t *find(const order_track_t *t, const char *id)
{
    for (unsigned i = 0; i < t->n; i++)
        if (strncmp(t->e[i].id, id, SE_ID_MAX) == 0)
            return (order_track_entry_t *)&t->e[i];
    return NULL;
}

/* The entry of id, made if new (forgetting the oldest when full). */
static order_track_entry_t *get(order_track_t *t, const char *id, const char *symbol)
{
    order_track_entry_t *o = find(t, id);
    if (o)
        return o;
    if (t->n < ORDER_TRACK_MAX)
        o = &t->e[t->n++];
    else
        o = &t->e[t->next++ % ORDER_TRACK_MAX];
    memset(o, 0, sizeof *o);
    strncpy(o->id, id, SE_ID_MAX - 1);
    strncpy(o->symbol, symbol, SE_SYMBOL_MAX - 1);
    return o;
}

static bool working(const order_track_entry_t *o)
{
    return o->acked && !o->closed && (o->qty <= 0 || o->filled < o->qty * (1 - QTY_EPS_REL));
}

void order_track_report(order_track_t *t, const se_exec_rec_t *e)
{
    if (!e->client_order_id[0])
        return;
    switch (e->kind) {
    case SE_EXEC_ACK:
        if (e->action != SE_ACTION_CANCEL) { /* the order's own ACK, not its cancel's */
            order_track_entry_t *o = get(t, e->client_order_id, e->symbol);
            o->acked = true;
            if (e->qty > 0)
                o->qty = e->qty;
        }
        break;
    case SE_EXEC_REJECT:
        if (e->action == SE_ACTION_CANCEL && !se_cancel_refusal_closes(e->reason))
            break; /* the order is as it was */
        get(t, e->client_order_id, e->symbol)->closed = true;
        break;
    case SE_EXEC_CANCELLED:
        get(t, e->client_order_id, e->symbol)->closed = true;
        break;
    case SE_EXEC_FILL:
        if (e->leaves_qty == 0) /* the venue says nothing is left */
            get(t, e->client_order_id, e->symbol)->closed = true;
        break;
    default:
        break;
    }
}

void order_track_fill(order_track_t *t, const char *client_order_id, const char *symbol, double qty)
{
    if (!client_order_id[0] || !(qty > 0))
        return;
    get(t, client_order_id, symbol)->filled += qty;
}

bool order_track_is_working(const order_track_t *t, const char *client_order_id)
{
    const order_track_entry_t *o = find(t, client_order_id);
    return o && working(o);
}

bool order_track_is_finished(const order_track_t *t, const char *client_order_id)
{
    const order_track_entry_t *o = find(t, client_order_id);
    return o && (o->closed || (o->qty > 0 && !working(o)));
}

int order_track_for_each_working(const order_track_t *t, void (*fn)(void *ctx, const order_track_entry_t *o),
                                 void *ctx)
{
    int n = 0;
    unsigned start = t->n < ORDER_TRACK_MAX ? 0 : t->next % ORDER_TRACK_MAX;
    for (unsigned k = 0; k < t->n; k++) {
        const order_track_entry_t *o = &t->e[(start + k) % ORDER_TRACK_MAX];
        if (working(o)) {
            fn(ctx, o);
            n++;
        }
    }
    return n;
}
