/* symbol_book.h -- a strategy's own view of its positions and open orders, per
 * symbol, in fixed-capacity tables. Used by the built-in strategies. */
#ifndef STRATEGYD_SYMBOL_BOOK_H
#define STRATEGYD_SYMBOL_BOOK_H

#include <stdbool.h>

#include "plugins/include/strategy.h"

/* Quantities closer than this are equal (fills are summed in doubles). */
#define SYMBOL_BOOK_EPS 1e-9

/* One symbol. A strategy keeps its own per-symbol state in arrays indexed by
 * the slot number symbol_book_slot returns; slots are never reused or moved. */
typedef struct {
    char symbol[STRAT_SYMBOL_MAX];
    double position;     /* signed, the sum of this strategy's fills */
    double pending_buy;  /* open quantity of its BUY orders: sent, not yet filled, rejected or cancelled */
    double pending_sell; /* the same for SELL orders (both >= 0) */
    bool touched;        /* has seen an order or a fill (a position update can no longer seed it) */
} symbol_slot_t;

/* One open order. */
typedef struct {
    char id[STRAT_ID_MAX]; /* client_order_id */
    int slot;
    int side;        /* STRAT_BUY / STRAT_SELL */
    double open_qty; /* > 0 */
} symbol_order_t;

/* The book. Embedded by the caller; symbol_book_init allocates the tables. */
typedef struct {
    symbol_slot_t *slots;
    int n_slots, cap_slots;
    symbol_order_t *orders; /* the open orders, packed in [0, n_orders) */
    int n_orders, cap_orders;
    int last_slot; /* the slot of the last lookup: ticks tend to repeat a symbol */
} symbol_book_t;

/* Allocates room for max_symbols symbols and max_orders open orders in total.
 * Returns 0, -EINVAL (a capacity < 1) or -ENOMEM (nothing is left allocated).
 * Free with symbol_book_fini. */
int symbol_book_init(symbol_book_t *b, int max_symbols, int max_orders);

/* Frees the tables; b may then be initialised again. Safe on a zeroed book. */
void symbol_book_fini(symbol_book_t *b);

/* Returns the slot of symbol, adding it if new (flat, nothing pending), or
 * -EINVAL (NULL, empty or longer than STRAT_SYMBOL_MAX-1 bytes) or -ENOSPC
 * (the table is full). No allocation: safe on the hot path. */
int symbol_book_slot(symbol_book_t *b, const char *symbol);

/* Records a NEW order just sent: adds qty to the slot's pending side.
 * Returns 0, -EINVAL (bad side, qty <= 0, id empty or too long) or -ENOSPC
 * (the order table is full; nothing is recorded, so the order must not be
 * sent). */
int symbol_book_track(symbol_book_t *b, int slot, const char *id, int side, double qty);

/* Applies a fill to slot (the fill's symbol): position moves by qty, and if
 * client_order_id is an open order its open quantity (and the pending side of
 * that order's slot) drops by the filled amount, at most to zero, removing the
 * order when nothing is left. A fill of an unknown order (sent before a
 * restart, or already closed) still moves the position. Returns 0 or -EINVAL
 * (bad side, qty not > 0). */
int symbol_book_fill(symbol_book_t *b, int slot, const strat_fill_t *fill);

/* Closes an order that will not fill any more (rejected or cancelled): its
 * whole open quantity leaves pending. Returns the order's slot, or -ENOENT if
 * id is not an open order (already filled or closed, or not ours). */
int symbol_book_close(symbol_book_t *b, const char *id);

/* Returns the open quantity of order id, or 0 if it is not open. */
double symbol_book_open_qty(const symbol_book_t *b, const char *id);

/* Adopts an engine-reported position for a slot that has seen no order and no
 * fill yet (a strategy restarted while holding a position); afterwards fills
 * are the only source of truth, since position updates and fills arrive on
 * different rings in either order. Returns 1 if the position changed, 0 if
 * it was ignored or already equal. */
int symbol_book_seed(symbol_book_t *b, int slot, double qty);

/* Net quantity of the slot's open orders: buys minus sells. */
static inline double symbol_book_pending(const symbol_slot_t *s)
{
    return s->pending_buy - s->pending_sell;
}

static inline bool symbol_book_flat(const symbol_slot_t *s)
{
    return s->position < SYMBOL_BOOK_EPS && s->position > -SYMBOL_BOOK_EPS;
}

static inline bool symbol_book_idle(const symbol_slot_t *s)
{
    return s->pending_buy < SYMBOL_BOOK_EPS && s->pending_sell < SYMBOL_BOOK_EPS;
}

#endif
