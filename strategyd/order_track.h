/* order_track.h -- strategyd's view of its own orders at the venue: which
 * are still working. Used by the runner so that a restarted strategy cancels
 * only the orders of a previous run that still work, never one already
 * filled (whose fills may have come on `in`, from the venue, rather than on
 * `exe`).
 *
 * An order is working from its ACK until the fills of its id -- from `exe`
 * or `in`, deduplicated by fill_id by the caller -- cover its quantity, a
 * REJECT or CANCELLED names it, a fill on `exe` says nothing is left
 * (leaves_qty 0), or the venue refuses to cancel it because it no longer
 * works there (se_cancel_refusal_closes). Any order of these events gives
 * the same answer: a fill before its ACK counts, an ACK after the fills that
 * complete the order opens nothing. An ACK that gives no quantity opens the
 * order until a report closes it.
 *
 * Capacity: the last ORDER_TRACK_MAX orders named (oldest forgotten first).
 * Not thread-safe: the runner's thread owns it. */
#ifndef STRATEGYD_ORDER_TRACK_H
#define STRATEGYD_ORDER_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"

#define ORDER_TRACK_MAX 1024

typedef struct {
    char id[SE_ID_MAX];
    char symbol[SE_SYMBOL_MAX];
    double qty;    /* from the ACK; 0 while unknown */
    double filled; /* the fills of this id applied */
    bool acked, closed;
} order_track_entry_t;

typedef struct {
    order_track_entry_t e[ORDER_TRACK_MAX];
    unsigned n, next; /* entries in use; the one to reuse when full */
} order_track_t;

/* Empties t. */
void order_track_init(order_track_t *t);

/* Takes one report of `exe` about an order (ACK, REJECT, CANCELLED, and a
 * FILL's leaves_qty; the FILL's quantity goes through order_track_fill, once
 * per fill_id). e's strings must be NUL-terminated within their fields.
 * Other kinds are ignored. */
void order_track_report(order_track_t *t, const se_exec_rec_t *e);

/* Counts a fill of qty against client_order_id (any ring). The caller has
 * made sure this fill_id was not counted before. */
void order_track_fill(order_track_t *t, const char *client_order_id, const char *symbol, double qty);

/* True if client_order_id is known and still working; false if it is
 * finished or unknown. */
bool order_track_is_working(const order_track_t *t, const char *client_order_id);

/* True if client_order_id is known to be finished (filled in full, rejected,
 * cancelled). */
bool order_track_is_finished(const order_track_t *t, const char *client_order_id);

/* Calls fn for every working order, oldest first; the entry is borrowed for
 * the call and fn must not change t. Returns how many. */
int order_track_for_each_working(const order_track_t *t, void (*fn)(void *ctx, const order_track_entry_t *o),
                                 void *ctx);

#endif
