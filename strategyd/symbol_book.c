/* symbol_book.c -- per-symbol positions and open orders of one strategy.
 * See symbol_book.h. Lookups are linear scans: the tables are small (tens of
 * symbols, a few open orders each) and scans of packed arrays beat hashing there. */
#include "strategyd/symbol_book.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int symbol_book_init(symbol_book_t *b, int max_symbols, int max_orders)
{
    memset(b, 0, sizeof *b);
    if (max_symbols < 1 || max_orders < 1)
        return -EINVAL;
    b->slots = calloc((size_t)max_symbols, sizeof *b->slots);
    b->orders = calloc((size_t)max_orders, sizeof *b->orders);
    if (b->slots == NULL || b->orders == NULL) {
        symbol_book_fini(b);
        return -ENOMEM;
    }
    b->cap_slots = max_symbols;
    b->cap_orders = max_orders;
    return 0;
}

void symbol_book_fini(symbol_book_t *b)
{
    free(b->slots);
    free(b->orders);
    memset(b, 0, sizeof *b);
}

int symbol_book_slot(symbol_book_t *b, const char *symbol)
{
    size_t len;

    if (symbol == NULL)
        return -EINVAL;
    if (b->n_slots > 0 && strcmp(b->slots[b->last_slot].symbol, symbol) == 0)
        return b->last_slot;
    len = strnlen(symbol, STRAT_SYMBOL_MAX);
    if (len == 0 || len == STRAT_SYMBOL_MAX)
        return -EINVAL;
    for (int i = 0; i < b->n_slots; i++) {
        if (memcmp(b->slots[i].symbol, symbol, len + 1) == 0) {
            b->last_slot = i;
            return i;
        }
    }
    if (b->n_slots == b->cap_slots)
        return -ENOSPC;
    /* calloc left the new slot flat with nothing pending. */
    memcpy(b->slots[b->n_slots].symbol, symbol, len + 1);
    b->last_slot = b->n_slots;
    return b->n_slots++;
}

static int find_order(const symbol_book_t *b, const char *id)
{
    if (id == NULL || id[0] == '\0')
        return -1;
    for (int i = 0; i < b->n_orders; i++)
        if (strncmp(b->orders[i].id, id, STRAT_ID_MAX) == 0)
            return i;
    return -1;
}

/* Takes qty off order i's open quantity and its slot's pending side; removes
 * the order when nothing is left (the last order moves into its place). */
static void reduce_order(symbol_book_t *b, int i, double qty)
{
    symbol_order_t *o = &b->orders[i];
    symbol_slot_t *s = &b->slots[o->slot];
    double *pending = o->side == STRAT_BUY ? &s->pending_buy : &s->pending_sell;

    if (qty > o->open_qty)
        qty = o->open_qty;
    o->open_qty -= qty;
    *pending -= qty;
    if (*pending < SYMBOL_BOOK_EPS)
        *pending = 0; /* no drift below zero from summing doubles */
    if (o->open_qty < SYMBOL_BOOK_EPS) {
        /* Dust left by rounding leaves pending with the order. */
        *pending -= o->open_qty;
        if (*pending < SYMBOL_BOOK_EPS)
            *pending = 0;
        b->orders[i] = b->orders[--b->n_orders];
    }
}

int symbol_book_track(symbol_book_t *b, int slot, const char *id, int side, double qty)
{
    symbol_order_t *o;
    size_t len;

    if (slot < 0 || slot >= b->n_slots || (side != STRAT_BUY && side != STRAT_SELL) || !(qty > 0))
        return -EINVAL;
    len = id ? strnlen(id, STRAT_ID_MAX) : 0;
    if (len == 0 || len == STRAT_ID_MAX)
        return -EINVAL;
    if (b->n_orders == b->cap_orders)
        return -ENOSPC;
    o = &b->orders[b->n_orders++];
    memcpy(o->id, id, len + 1);
    o->slot = slot;
    o->side = side;
    o->open_qty = qty;
    if (side == STRAT_BUY)
        b->slots[slot].pending_buy += qty;
    else
        b->slots[slot].pending_sell += qty;
    b->slots[slot].touched = true;
    return 0;
}

int symbol_book_fill(symbol_book_t *b, int slot, const strat_fill_t *fill)
{
    symbol_slot_t *s;
    int i;

    if (slot < 0 || slot >= b->n_slots || (fill->side != STRAT_BUY && fill->side != STRAT_SELL) ||
        !(fill->qty > 0) || fill->qty > 1e300)
        return -EINVAL;
    s = &b->slots[slot];
    s->position += fill->side == STRAT_BUY ? fill->qty : -fill->qty;
    if (symbol_book_flat(s))
        s->position = 0;
    s->touched = true;
    i = find_order(b, fill->client_order_id);
    if (i >= 0)
        reduce_order(b, i, fill->qty);
    return 0;
}

int symbol_book_close(symbol_book_t *b, const char *id)
{
    int i = find_order(b, id);
    int slot;

    if (i < 0)
        return -ENOENT;
    slot = b->orders[i].slot;
    reduce_order(b, i, b->orders[i].open_qty);
    return slot;
}

double symbol_book_open_qty(const symbol_book_t *b, const char *id)
{
    int i = find_order(b, id);

    return i < 0 ? 0 : b->orders[i].open_qty;
}

int symbol_book_seed(symbol_book_t *b, int slot, double qty)
{
    if (slot < 0 || slot >= b->n_slots || b->slots[slot].touched || !(qty > -1e300 && qty < 1e300) ||
        b->slots[slot].position == qty)
        return 0;
    b->slots[slot].position = qty;
    return 1;
}
