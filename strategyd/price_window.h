/* price_window.h -- the last len prices of each symbol slot, in fixed rings
 * allocated once by price_window_init. Used by the momentum and scalping
 * built-ins to compare a tick's price with the one len-1 ticks before it. */
#ifndef STRATEGYD_PRICE_WINDOW_H
#define STRATEGYD_PRICE_WINDOW_H

#include <stdbool.h>
#include <stddef.h>

/* Where one slot's ring stands. */
typedef struct {
    int head;  /* the ring index the next price goes to */
    int count; /* prices held, up to len */
} price_window_pos_t;

/* The windows of n_slots slots (a symbol_book's slot numbers). Embedded by
 * the caller; everything lives in one block that pos points to. */
typedef struct {
    price_window_pos_t *pos; /* [n_slots], then the rings */
    double *prices;          /* n_slots rings of len prices: slot s's is [s*len, (s+1)*len) */
    int n_slots, len;
} price_window_t;

/* Allocates n_slots empty windows of len prices. Returns 0, -EINVAL (n_slots
 * or len < 1) or -ENOMEM (no memory, or more than the address space holds;
 * nothing is left allocated). Free with price_window_fini. */
int price_window_init(price_window_t *w, int n_slots, int len);

/* Frees the windows; w may then be initialised again. Safe on a zeroed window. */
void price_window_fini(price_window_t *w);

/* Empties every window (the prices are forgotten, the memory kept). */
void price_window_clear(price_window_t *w);

/* Appends price to slot's window, dropping its oldest price when full.
 * slot must be in [0, n_slots). No allocation: for the hot path. */
static inline void price_window_push(price_window_t *w, int slot, double price)
{
    price_window_pos_t *p = &w->pos[slot];

    w->prices[(size_t)slot * (size_t)w->len + (size_t)p->head] = price;
    p->head = (p->head + 1) % w->len;
    if (p->count < w->len)
        p->count++;
}

/* Whether slot's window holds len prices. */
static inline bool price_window_full(const price_window_t *w, int slot)
{
    return w->pos[slot].count >= w->len;
}

/* The oldest price in slot's window: once full, the one pushed len-1 pushes
 * before the latest. Meaningless while the window is not full. */
static inline double price_window_oldest(const price_window_t *w, int slot)
{
    /* In a full ring the next index to be overwritten holds the oldest. */
    return w->prices[(size_t)slot * (size_t)w->len + (size_t)w->pos[slot].head];
}

#endif
