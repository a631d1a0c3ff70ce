/* book.h -- the venue simulator's order book: remembers every order by
 * client_order_id (a retried SubmitOrder gets the first answer again, never a
 * second fill), fills market orders at a fixed price or the last price it
 * was given, rests limit orders until the market crosses them or a cancel.
 * Used by tools/venue-sim/venue_sim.c; thread-safe (one mutex: the gRPC loop
 * and the Redis price thread both call in). */
#ifndef VENUE_BOOK_H
#define VENUE_BOOK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/records.h"

/* A fill, handed to the book's fill callback (borrowed for the call). */
typedef struct {
    char fill_id[SE_ID_MAX];
    char client_order_id[SE_ID_MAX];
    char order_id[SE_ID_MAX];
    char symbol[SE_SYMBOL_MAX];
    uint8_t side; /* se_side_t */
    double qty, price;
    int64_t ts_ns;
} venue_fill_t;

typedef void (*venue_fill_fn)(void *ctx, const venue_fill_t *fill);

typedef struct {
    int max_orders;
    double fill_price; /* > 0: every fill at this price; 0: the last price per symbol */
    bool reject_all;
    venue_fill_fn on_fill; /* called with the book's lock held */
    void *ctx;
} venue_book_cfg_t;

/* The answer to a SubmitOrder or CancelOrder. */
typedef struct {
    bool accepted;
    bool duplicate; /* the same client_order_id was submitted before: its first answer */
    char order_id[SE_ID_MAX];
    char reason[SE_REASON_MAX];
} venue_answer_t;

typedef struct {
    uint64_t submits, duplicates, accepted, rejected, fills, cancels, cancelled, prices;
} venue_counts_t;

typedef struct venue_book venue_book_t;

/* Allocates a book for cfg->max_orders orders. Returns NULL when out of memory. */
venue_book_t *venue_book_new(const venue_book_cfg_t *cfg);
void venue_book_free(venue_book_t *b);

/* A new order (fields as in the proto; side/type are se_side_t/se_order_type_t,
 * 0 when unspecified). Validates, dedupes by client_order_id, fills or rests. */
void venue_book_submit(venue_book_t *b, const char *client_order_id, const char *strategy, const char *symbol,
                       int side, int type, double qty, double limit_price, venue_answer_t *out);

/* Cancels a resting order; cancelling one already cancelled is accepted again
 * (a retried cancel), an unknown or finished one is refused. */
void venue_book_cancel(venue_book_t *b, const char *client_order_id, venue_answer_t *out);

/* A market price from Redis (a validated `in` quote): remembered, and resting
 * limit orders it crosses are filled. */
void venue_book_price(venue_book_t *b, const se_in_rec_t *quote);

/* A copy of the counters. */
venue_counts_t venue_book_counts(venue_book_t *b);

#endif
