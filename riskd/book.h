/* book.h -- riskd's position and PnL book: per strategy and symbol the signed
 * position, average cost, realised PnL and pending (approved, unfinished)
 * orders; per symbol the latest mark; engine-wide equity, peak, drawdown and
 * daily PnL. Fed by riskd's runner from rings `in` (quotes, venue fills) and
 * `exe` (fills, rejects, cancels); read by the risk checks (riskd/checks.h).
 *
 * Accounting (average cost): a fill that adds to a position (or opens one)
 * moves the average cost to the quantity-weighted mean; a fill that reduces it
 * realises (fill price - average cost) x closed quantity x sign(position) and
 * leaves the average unchanged; a fill that crosses through zero realises the
 * closed part and opens the rest at the fill price. Unrealised PnL is
 * (mid - average cost) x position, marked to the latest mid of the symbol (0
 * while the symbol has no mark). Equity = realised + unrealised over every
 * strategy and symbol; peak equity is its running maximum since start (or
 * book_reset_peak); drawdown = peak - equity; daily PnL = equity - equity at
 * the last book_daily_reset. A quantity within 1e-9 (relative) of zero after a
 * fill is zero: repeated decimal fills must not leave a 1e-17 position open.
 *
 * Orders, in any order of events: an order is open from its approval (or,
 * for one the book never saw approved, its ACK) until the fills applied to
 * its id cover its quantity, a REJECT or CANCELLED names it, or the venue
 * refuses to cancel it because it is filled or unknown there
 * (se_cancel_refusal_closes, common/records.h). The book remembers the ids
 * of orders that are not open -- finished, or only named by fills that came first -- with the
 * quantity filled and the strategy, so an ACK (or a duplicate ACK) that
 * arrives after the fills that complete its order does not open it again,
 * one that arrives after a partial fill opens only what is left, and a fill
 * that arrives after its order closed (a cancel that lost the race) is still
 * booked to the order's strategy. The fills' cumulative quantity per order
 * id decides; an exe fill's leaves_qty, when smaller, too.
 *
 * Capacity: everything is allocated by book_init -- strategies x symbols
 * position cells, the open-order table, the fill-id memory, the memory of
 * order ids that are not open (max(BOOK_FILL_IDS_MIN, 2 x max_orders) of
 * them; an ACK repeated after more than that many others finished would open
 * its order again) -- and nothing
 * after. A full table is an error return (-ENOSPC, counted), never a crash and
 * never a silent overwrite. Fill ids are remembered for the last `fill_ids`
 * fills (oldest forgotten first), so a fill repeated after more than that
 * many others would be applied again.
 *
 * Strings from shared memory are not trusted: an id or symbol that is not
 * NUL-terminated within its field is invalid, never read past.
 *
 * Not thread-safe: one thread (riskd's runner) owns a book. */
#ifndef RISKD_BOOK_H
#define RISKD_BOOK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"
#include "riskd/limits.h"

#define BOOK_STRATEGIES_MAX 64     /* strategies (strategies.enabled) */
#define BOOK_SYMBOLS_MAX    256    /* distinct symbols (quoted or traded) */
#define BOOK_ORDERS_MAX     65536  /* open orders at once */
#define BOOK_FILL_IDS_MIN   65536  /* fill ids remembered for dedupe, at least */

/* What book_init allocates. 0 in a field means its default (the maxima above,
 * and BOOK_FILL_IDS_MIN fill ids). */
typedef struct {
    int max_strategies; /* 1..BOOK_STRATEGIES_MAX */
    int max_symbols;    /* 1..BOOK_SYMBOLS_MAX */
    int max_orders;     /* 1..BOOK_ORDERS_MAX */
    int fill_ids;       /* BOOK_FILL_IDS_MIN..16M */
} book_config_t;

/* One strategy's holdings in one symbol. */
typedef struct {
    double qty;          /* signed position: negative is short */
    double avg_price;    /* average cost of the open position; 0 when flat */
    double realized;     /* realised PnL, since start */
    double pending_buy;  /* open quantity of this strategy's working buy orders */
    double pending_sell; /* ... sell orders (positive) */
    uint32_t open_orders;
    uint32_t pad;
} book_cell_t;

/* One symbol: its mark and the sums over strategies. */
typedef struct {
    uint64_t key[2];    /* the symbol, NUL-padded to 16 bytes */
    double mid;         /* latest mark; valid when marked */
    int64_t mark_ns;    /* the mark's quote time (ns since the epoch) */
    bool marked;
    int holders;        /* strategies with a non-zero position */
    double net_qty;     /* sum of positions */
    double cost;        /* sum of avg_price x qty */
    double unrealized;  /* mid x net_qty - cost, or 0 without a mark */
    double pending_buy, pending_sell;
    uint32_t open_orders;
} book_symbol_t;

/* A position as reported (SE_RISK_POSITION). */
typedef struct {
    double qty, avg_price, realized, unrealized;
    double pending_buy, pending_sell;
} book_position_t;

/* One fill, from either ring. Strings are borrowed for the call. */
typedef struct {
    const char *fill_id;         /* required, 1..47 bytes: the dedupe key */
    const char *client_order_id; /* the order it executes; NULL or "" if unknown */
    const char *symbol;
    int strategy;                /* index; -1: take it from the open order */
    uint8_t side;                /* se_side_t */
    double qty, price;           /* > 0, finite */
    double leaves_qty;           /* the order's quantity still working after this
                                    fill, if the report says (exe); < 0: unknown,
                                    the open quantity is reduced by qty */
} book_fill_t;

/* Which position a fill changed, for the caller's SE_RISK_POSITION record. */
typedef struct {
    int strategy, symbol;
} book_change_t;

typedef struct {
    uint64_t fills_applied;
    uint64_t fills_duplicate;    /* same fill_id seen before: ignored */
    uint64_t fills_invalid;      /* bad side, qty, price, symbol or id */
    uint64_t fills_unattributed; /* no strategy: unknown order and no index */
    uint64_t capacity_errors;    /* symbol, strategy or order table full */
    uint64_t marks_invalid;      /* quotes with no usable price */
} book_stats_t;

/* Internal: an open-addressing index of entry ids by hash (linear probing,
 * backward-shift deletion, so no tombstones). Shared with riskd/checks.c. */
typedef struct {
    uint32_t h;  /* low 32 bits of the entry's hash */
    int32_t id;  /* entry id, or -1: empty */
} book__slot_t;

typedef struct {
    book__slot_t *s;
    uint32_t mask; /* size - 1; size is a power of two >= 2 x entries */
} book__ix_t;

/* Internal: an open order. */
typedef struct {
    uint64_t key[SE_ID_MAX / 8]; /* client_order_id, NUL-padded */
    double open_qty;
    int32_t strategy, symbol;
    int32_t next_free; /* free list link when unused */
    uint8_t side;
    uint8_t pad[3];
} book__order_t;

/* Internal: what the book remembers of an order id that is not open (closed,
 * or only heard of: learnt from an ACK, or named by a fill that came before
 * the order). Kept for the last memo_cap such ids, oldest forgotten first. */
typedef struct {
    double filled;      /* applied fills while the order was not open */
    int32_t strategy;   /* -1: not known */
    uint8_t done;       /* finished: filled in full, cancelled or rejected */
    uint8_t pad[3];
} book__memo_t;

/* The book. Embedded by the caller; book_init allocates its tables. */
typedef struct {
    int max_strategies, max_symbols, max_orders, nfill_ids;
    int nstrategies, nsymbols, norders;
    char (*strategy_names)[SE_STRATEGY_MAX];
    book_cell_t *cells;       /* [max_strategies][max_symbols] */
    book_symbol_t *symbols;   /* [max_symbols] */
    int32_t *sym_slots;       /* symbol index by hash; -1 empty */
    uint32_t sym_mask;
    book__order_t *orders;    /* [max_orders] */
    int32_t order_free;
    book__ix_t order_ix;
    uint64_t (*fill_keys)[SE_ID_MAX / 8]; /* ring of the last nfill_ids fill ids */
    uint32_t *fill_hash;
    uint32_t fill_head, fill_count;
    book__ix_t fill_ix;
    uint64_t (*memo_keys)[SE_ID_MAX / 8]; /* ring of the last memo_cap order ids */
    uint32_t *memo_hash;
    book__memo_t *memo;
    uint32_t memo_cap, memo_head, memo_count;
    book__ix_t memo_ix;
    double realized, unrealized, equity, peak;
    double day_start_equity;
    int64_t day_start_ns;
    book_stats_t stats;
} book_t;

/* ---- internal helpers shared with riskd/checks.c ---- */

/* Copies s into a zeroed key of `words` 64-bit words (8 x words bytes).
 * Returns the length, or -1 if s is NULL, empty, or not NUL-terminated within
 * 8 x words - 1 bytes. Reads at most 8 x words bytes of s. */
int book__key(uint64_t *key, int words, const char *s);

/* The same for a fixed-size record field of exactly 8 x words bytes (a
 * record's symbol or id): reads the whole field as words, without a library
 * call, and zeroes what follows the first NUL. Returns the length or -1 (no
 * NUL in the field, or an empty string). Hot path. */
static inline int book__key_field(uint64_t *key, int words, const char *field)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    int len = -1;

    for (int i = 0; i < words; i++) {
        uint64_t w;
        __builtin_memcpy(&w, field + 8 * i, 8);
        if (len >= 0) {
            key[i] = 0;
            continue;
        }
        /* Lowest byte flagged is the first NUL (borrows only flag bytes above it). */
        uint64_t z = (w - ones) & ~w & highs;
        if (z) {
            int at = __builtin_ctzll(z) / 8;
            key[i] = at ? w & ((1ULL << (8 * at)) - 1) : 0;
            len = 8 * i + at;
        } else {
            key[i] = w;
        }
    }
    return len > 0 ? len : -1;
}

static inline uint64_t book__mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Hash of n <= 6 words: each word times its own odd constant (independent
 * multiplies, so they overlap in the pipeline), rotated apart, then one full
 * avalanche. Keys are always compared in full; this only spreads slots. */
static inline uint64_t book__hash(const uint64_t *w, int n)
{
    static const uint64_t k[6] = { 0x9e3779b97f4a7c15ULL, 0xc2b2ae3d27d4eb4fULL, 0x165667b19e3779f9ULL,
                                   0xd6e8feb86659fd93ULL, 0xa0761d6478bd642fULL, 0xe7037ed1a0b428dbULL };
    uint64_t h = (uint64_t)n;
    for (int i = 0; i < n; i++) {
        uint64_t p = (w[i] ^ (w[i] >> 29)) * k[i];
        h += (p << (i * 9)) | (p >> ((64 - i * 9) & 63));
    }
    return book__mix(h);
}

/* Allocates an index for up to `entries` entries (size a power of two >= 2 x
 * entries, all empty). Returns 0 or -ENOMEM. */
int book__ix_init(book__ix_t *ix, uint32_t entries);
void book__ix_fini(book__ix_t *ix);
/* Puts id with hash h in the first empty slot from its home. The caller keeps
 * the index at most half full, so there always is one. */
void book__ix_insert(book__ix_t *ix, uint64_t h, int32_t id);
/* Empties slot pos and shifts later entries of its probe run back. */
void book__ix_delete(book__ix_t *ix, uint32_t pos);
/* The slot holding id (whose hash is h), or UINT32_MAX if none does. */
uint32_t book__ix_slot_of(const book__ix_t *ix, uint64_t h, int32_t id);

/* ---- lifetime ---- */

/* Allocates a book with the capacities of cfg (NULL: the defaults) and no
 * strategy. Returns 0, -EINVAL (a capacity out of range; message in
 * se_errmsg()) or -ENOMEM (nothing is left allocated). Free with book_fini. */
int book_init(book_t *b, const book_config_t *cfg);

/* Frees the tables. Safe on a zeroed or already finished book. */
void book_fini(book_t *b);

/* Adds a strategy (in strategies.enabled order, so its index is the
 * signals' strategy_index). Returns the new index, -EINVAL (name empty or
 * longer than SE_STRATEGY_MAX - 1 bytes), -EEXIST (name already added) or
 * -ENOSPC (max_strategies reached; counted). Cold path. */
int book_add_strategy(book_t *b, const char *name);

/* The number of strategies added, and the name of index i (NULL if out of range). */
static inline int book_strategy_count(const book_t *b) { return b->nstrategies; }
const char *book_strategy_name(const book_t *b, int strategy);

/* ---- symbols ---- */

/* The index of an already-known symbol given as a 16-byte key (book__key)
 * and its hash book__hash(key, 2), or -1. O(1); the hot-path lookup of the
 * risk checks. book_find_symbol_key hashes the key itself. */
static inline int book_find_symbol_hashed(const book_t *b, const uint64_t key[2], uint64_t h)
{
    uint32_t i = (uint32_t)h & b->sym_mask;
    for (;; i = (i + 1) & b->sym_mask) {
        int32_t s = b->sym_slots[i];
        if (s < 0)
            return -1;
        if (b->symbols[s].key[0] == key[0] && b->symbols[s].key[1] == key[1])
            return s;
    }
}

static inline int book_find_symbol_key(const book_t *b, const uint64_t key[2])
{
    return book_find_symbol_hashed(b, key, book__hash(key, 2));
}

/* The index of symbol, or -1 if unknown (or not a valid symbol). */
int book_find_symbol(const book_t *b, const char *symbol);

/* The index of symbol, adding it if new. Returns the index, -EINVAL (empty or
 * longer than 15 bytes) or -ENOSPC (max_symbols reached; counted). */
int book_intern_symbol(book_t *b, const char *symbol);

/* The name of symbol index i (borrowed, valid until book_fini), or NULL. */
const char *book_symbol_name(const book_t *b, int symbol);

static inline const book_symbol_t *book_symbol(const book_t *b, int symbol)
{
    return &b->symbols[symbol];
}

/* The holdings of a strategy in a symbol; both indices must be in range
 * (strategy < max_strategies, symbol < max_symbols). */
static inline const book_cell_t *book_cell(const book_t *b, int strategy, int symbol)
{
    return &b->cells[(size_t)strategy * (size_t)b->max_symbols + (size_t)symbol];
}

/* Fills *out with a strategy's position in a symbol, unrealised PnL included.
 * Returns 0, or -EINVAL if either index is out of range. */
int book_position(const book_t *b, int strategy, int symbol, book_position_t *out);

/* ---- marks ---- */

/* Marks symbol at mid (> 0, finite), quoted at ts_ns. Adds the symbol if new.
 * Returns 1 if some strategy's unrealised PnL changed (the caller may publish
 * the positions of that symbol), 0 if not, -EINVAL (bad mid or symbol;
 * counted in marks_invalid) or -ENOSPC (symbol table full; counted). */
int book_mark(book_t *b, const char *symbol, double mid, int64_t ts_ns);

/* ---- fills and orders ---- */

/* Applies one fill, once: a fill_id seen among the last fill_ids fills is
 * ignored. Reduces the order's open quantity (removing it when nothing is
 * left) if client_order_id names an open order; the order's strategy wins
 * over f->strategy. A fill of an order that is not open is counted against
 * its id (see "Orders" above) and booked to the strategy remembered for the
 * id, if any, else to f->strategy. Updates the position, realised PnL, the symbol's sums,
 * equity and peak. Returns 1 (applied; *chg, if not NULL, names the position),
 * 0 (duplicate; counted, nothing changed), -EINVAL (invalid fill; counted),
 * -ENOENT (no strategy to book it to; counted) or -ENOSPC (symbol table full;
 * counted). Only an applied fill's id is remembered. O(strategies + symbols). */
int book_apply_fill(book_t *b, const book_fill_t *f, book_change_t *chg);

/* Records an order riskd approved, so its quantity counts as pending on its
 * side until it fills, is rejected or is cancelled. Fills of its id applied
 * before it (they came first) are taken off: an order they cover in full is
 * remembered as finished and not opened. Returns 0 (open, or covered by
 * earlier fills), -EINVAL (bad id, symbol, side, strategy or qty), -EEXIST
 * (client_order_id already open, or an order of that id finished) or
 * -ENOSPC (order or symbol table full; counted). O(1). */
int book_order_add(book_t *b, const char *client_order_id, int strategy, const char *symbol, uint8_t side,
                   double qty);

/* Remembers whose order client_order_id is without opening it: a restarted
 * riskd learns every acknowledged order from `exe` before it replays the
 * rings, so a venue fill on `in` that precedes its order's ACK is booked to
 * the right strategy. Changes nothing if the order is open or already
 * remembered with a strategy. Returns 0, -EINVAL (bad id or strategy). O(1). */
int book_order_learn(book_t *b, const char *client_order_id, int strategy);

/* Forgets an open order (rejected, cancelled, expired), releasing its pending
 * quantity. Returns 1 if it was open, 0 if unknown. O(1). */
int book_order_remove(book_t *b, const char *client_order_id);

/* True if client_order_id is an open order. O(1). */
bool book_order_is_open(const book_t *b, const char *client_order_id);

/* The same, for a key made by book__key(key, SE_ID_MAX / 8, id) and its hash
 * book__hash(key, SE_ID_MAX / 8); for callers that already have both. */
bool book_order_is_open_key(const book_t *b, const uint64_t *key, uint64_t h);

/* One open order, as book_for_each_order reports it. Strings are borrowed
 * for the call. */
typedef struct {
    const char *client_order_id;
    const char *symbol;
    int strategy;
    uint8_t side;   /* se_side_t */
    double open_qty;
} book_open_order_t;

/* Calls fn for every open order of strategy (-1: of every strategy), in no
 * particular order; fn must not change the book. Returns how many it
 * reported. Cold path (snapshots): O(max_orders). */
int book_for_each_order(const book_t *b, int strategy, void (*fn)(void *ctx, const book_open_order_t *o),
                        void *ctx);

/* The number of open orders. */
static inline int book_open_orders(const book_t *b) { return b->norders; }

/* ---- ring records ---- */

/* Applies one record of ring `exe`: FILL as book_apply_fill (with the
 * record's strategy_index and leaves_qty); REJECT of a NEW and CANCELLED
 * close the order; a REJECT of a CANCEL closes it if
 * se_cancel_refusal_closes(reason), else changes nothing; an ACK of a NEW
 * opens an order the book does not have open and has not seen finish, for
 * its quantity less the fills of its id already applied (a restarted riskd
 * that never saw it approved; an ACK after the fills that complete the order
 * opens nothing). Returns what book_apply_fill returns for a FILL; 1 if an
 * order was closed or opened, else 0; -EINVAL for an unknown kind. */
int book_on_exec(book_t *b, const se_exec_rec_t *e, book_change_t *chg);

/* Applies one record of ring `in`: a QUOTE marks its symbol at the mid of bid
 * and ask (or the last trade, when there is no bid/ask), at ts_ingest_ns (the
 * local receipt time, so a venue's clock skew does not make every quote look
 * stale; ts_source_ns when ingest left it 0); a FILL (from the venue, NATS) is
 * booked to the strategy of its open order; a POSITION is ignored (the
 * venue's net position is not per strategy). Returns as book_mark or
 * book_apply_fill; 0 for a POSITION; -EINVAL for an unknown kind. */
int book_on_in(book_t *b, const se_in_rec_t *r, book_change_t *chg);

/* ---- engine-wide PnL ---- */

static inline double book_realized(const book_t *b) { return b->realized; }
static inline double book_unrealized(const book_t *b) { return b->unrealized; }
static inline double book_equity(const book_t *b) { return b->equity; }
static inline double book_peak_equity(const book_t *b) { return b->peak; }
static inline double book_drawdown(const book_t *b) { return b->peak - b->equity; }
static inline double book_daily_pnl(const book_t *b) { return b->equity - b->day_start_equity; }
/* When book_daily_reset last ran (0 before the first call). */
static inline int64_t book_day_start_ns(const book_t *b) { return b->day_start_ns; }

/* Starts a new trading day: daily PnL counts from the equity now. The owner
 * calls it at start-up and whenever book_next_reset_ns passes. */
void book_daily_reset(book_t *b, int64_t now_ns);

/* Makes the current equity the peak (drawdown 0): an operator's decision
 * after a drawdown breach, never automatic. */
void book_reset_peak(book_t *b);

/* The first daily-reset instant strictly after now_ns (ns since the epoch,
 * UTC, no daylight saving): the next risk.dailyResetUtc. */
int64_t book_next_reset_ns(const risk_limits_t *l, int64_t now_ns);

static inline const book_stats_t *book_stats(const book_t *b) { return &b->stats; }

#endif
