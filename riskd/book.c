/* book.c -- riskd's positions, PnL, marks, pending orders and fill dedupe.
 * See book.h for the accounting rules and capacities. */
#include "book.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define ID_WORDS  (SE_ID_MAX / 8)
#define SYM_WORDS (SE_SYMBOL_MAX / 8)
#define NS_PER_S  1000000000LL
#define NS_PER_DAY (86400LL * NS_PER_S)
#define FILL_IDS_MAX (1 << 24)

/* A quantity this close to zero (relative to the quantities that produced
 * it) is zero: 0.1 + 0.2 - 0.3 must close a position. */
#define QTY_EPS_REL 1e-9

_Static_assert(SE_ID_MAX % 8 == 0 && SE_SYMBOL_MAX % 8 == 0, "keys are whole words");

/* ---- keys and the index ---- */

int book__key(uint64_t *key, int words, const char *s)
{
    size_t cap = (size_t)words * 8, len;

    if (!s)
        return -1;
    len = strnlen(s, cap);
    if (len == 0 || len >= cap)
        return -1;
    memset(key, 0, cap);
    memcpy(key, s, len);
    return (int)len;
}

int book__ix_init(book__ix_t *ix, uint32_t entries)
{
    uint32_t size = 2;

    while (size < 2 * entries)
        size <<= 1;
    ix->s = malloc(size * sizeof *ix->s);
    if (!ix->s)
        return -ENOMEM;
    for (uint32_t i = 0; i < size; i++)
        ix->s[i] = (book__slot_t){ 0, -1 };
    ix->mask = size - 1;
    return 0;
}

void book__ix_fini(book__ix_t *ix)
{
    free(ix->s);
    ix->s = NULL;
    ix->mask = 0;
}

void book__ix_insert(book__ix_t *ix, uint64_t h, int32_t id)
{
    uint32_t i = (uint32_t)h & ix->mask;

    while (ix->s[i].id >= 0)
        i = (i + 1) & ix->mask;
    ix->s[i] = (book__slot_t){ (uint32_t)h, id };
}

void book__ix_delete(book__ix_t *ix, uint32_t pos)
{
    uint32_t i = pos, j = pos;

    /* Backward-shift deletion: walk the rest of the probe run and move back
     * every entry whose home is not strictly between the hole and it
     * (cyclically), so lookups never stop early at the hole. */
    for (;;) {
        j = (j + 1) & ix->mask;
        if (ix->s[j].id < 0)
            break;
        uint32_t home = ix->s[j].h & ix->mask;
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (stays)
            continue;
        ix->s[i] = ix->s[j];
        i = j;
    }
    ix->s[i] = (book__slot_t){ 0, -1 };
}

uint32_t book__ix_slot_of(const book__ix_t *ix, uint64_t h, int32_t id)
{
    for (uint32_t i = (uint32_t)h & ix->mask; ix->s[i].id >= 0; i = (i + 1) & ix->mask) {
        if (ix->s[i].id == id)
            return i;
    }
    return UINT32_MAX;
}

/* ---- lifetime ---- */

static int cap_or(int v, int def, int lo, int hi, const char *what)
{
    if (v == 0)
        return def;
    if (v < lo || v > hi)
        return se_err(-EINVAL, "book: %s = %d is out of range [%d, %d]", what, v, lo, hi);
    return v;
}

int book_init(book_t *b, const book_config_t *cfg)
{
    book_config_t c = cfg ? *cfg : (book_config_t){ 0 };
    int rc;

    memset(b, 0, sizeof *b);
    if ((c.max_strategies = cap_or(c.max_strategies, BOOK_STRATEGIES_MAX, 1, BOOK_STRATEGIES_MAX,
                                   "max_strategies")) < 0 ||
        (c.max_symbols = cap_or(c.max_symbols, BOOK_SYMBOLS_MAX, 1, BOOK_SYMBOLS_MAX, "max_symbols")) < 0 ||
        (c.max_orders = cap_or(c.max_orders, BOOK_ORDERS_MAX, 1, BOOK_ORDERS_MAX, "max_orders")) < 0 ||
        (c.fill_ids = cap_or(c.fill_ids, BOOK_FILL_IDS_MIN, BOOK_FILL_IDS_MIN, FILL_IDS_MAX, "fill_ids")) < 0)
        return -EINVAL;
    b->max_strategies = c.max_strategies;
    b->max_symbols = c.max_symbols;
    b->max_orders = c.max_orders;
    b->nfill_ids = c.fill_ids;

    uint32_t sym_size = 2;
    while (sym_size < 2u * (uint32_t)c.max_symbols)
        sym_size <<= 1;
    b->strategy_names = calloc((size_t)c.max_strategies, sizeof *b->strategy_names);
    b->cells = calloc((size_t)c.max_strategies * (size_t)c.max_symbols, sizeof *b->cells);
    b->symbols = calloc((size_t)c.max_symbols, sizeof *b->symbols);
    b->sym_slots = malloc(sym_size * sizeof *b->sym_slots);
    b->orders = calloc((size_t)c.max_orders, sizeof *b->orders);
    b->memo_cap = (uint32_t)(2 * c.max_orders > BOOK_FILL_IDS_MIN ? 2 * c.max_orders : BOOK_FILL_IDS_MIN);
    b->memo_keys = malloc((size_t)b->memo_cap * sizeof *b->memo_keys);
    b->memo_hash = malloc((size_t)b->memo_cap * sizeof *b->memo_hash);
    b->memo = malloc((size_t)b->memo_cap * sizeof *b->memo);
    b->fill_keys = malloc((size_t)c.fill_ids * sizeof *b->fill_keys);
    b->fill_hash = malloc((size_t)c.fill_ids * sizeof *b->fill_hash);
    if (!b->strategy_names || !b->cells || !b->symbols || !b->sym_slots || !b->orders || !b->fill_keys ||
        !b->fill_hash || !b->memo_keys || !b->memo_hash || !b->memo ||
        book__ix_init(&b->order_ix, (uint32_t)c.max_orders) < 0 ||
        book__ix_init(&b->fill_ix, (uint32_t)c.fill_ids) < 0 || book__ix_init(&b->memo_ix, b->memo_cap) < 0) {
        rc = se_err(-ENOMEM, "book: out of memory for %d strategies x %d symbols, %d orders, %d fill ids",
                    c.max_strategies, c.max_symbols, c.max_orders, c.fill_ids);
        book_fini(b);
        return rc;
    }
    /* Touch every page now (calloc'd memory may be mapped lazily), so no fill
     * or order later takes a first-touch page fault. */
    memset(b->cells, 0, (size_t)c.max_strategies * (size_t)c.max_symbols * sizeof *b->cells);
    memset(b->orders, 0, (size_t)c.max_orders * sizeof *b->orders);
    memset(b->fill_keys, 0, (size_t)c.fill_ids * sizeof *b->fill_keys);
    memset(b->fill_hash, 0, (size_t)c.fill_ids * sizeof *b->fill_hash);
    memset(b->memo_keys, 0, (size_t)b->memo_cap * sizeof *b->memo_keys);
    memset(b->memo_hash, 0, (size_t)b->memo_cap * sizeof *b->memo_hash);
    memset(b->memo, 0, (size_t)b->memo_cap * sizeof *b->memo);
    for (uint32_t i = 0; i < sym_size; i++)
        b->sym_slots[i] = -1;
    b->sym_mask = sym_size - 1;
    for (int i = 0; i < c.max_orders; i++)
        b->orders[i].next_free = i + 1 < c.max_orders ? i + 1 : -1;
    b->order_free = 0;
    return 0;
}

void book_fini(book_t *b)
{
    free(b->strategy_names);
    free(b->cells);
    free(b->symbols);
    free(b->sym_slots);
    free(b->orders);
    free(b->fill_keys);
    free(b->fill_hash);
    free(b->memo_keys);
    free(b->memo_hash);
    free(b->memo);
    book__ix_fini(&b->order_ix);
    book__ix_fini(&b->fill_ix);
    book__ix_fini(&b->memo_ix);
    memset(b, 0, sizeof *b);
}

int book_add_strategy(book_t *b, const char *name)
{
    size_t len = name ? strnlen(name, SE_STRATEGY_MAX) : 0;

    if (len == 0 || len >= SE_STRATEGY_MAX)
        return se_err(-EINVAL, "book: strategy name must be 1 to %d bytes", SE_STRATEGY_MAX - 1);
    for (int i = 0; i < b->nstrategies; i++) {
        if (strcmp(b->strategy_names[i], name) == 0)
            return se_err(-EEXIST, "book: strategy %s added twice", name);
    }
    if (b->nstrategies >= b->max_strategies) {
        b->stats.capacity_errors++;
        return se_err(-ENOSPC, "book: strategy %s: at most %d strategies are supported", name,
                      b->max_strategies);
    }
    memcpy(b->strategy_names[b->nstrategies], name, len + 1);
    return b->nstrategies++;
}

const char *book_strategy_name(const book_t *b, int strategy)
{
    return strategy >= 0 && strategy < b->nstrategies ? b->strategy_names[strategy] : NULL;
}

/* ---- symbols ---- */

int book_find_symbol(const book_t *b, const char *symbol)
{
    uint64_t key[SYM_WORDS];

    if (book__key(key, SYM_WORDS, symbol) < 0)
        return -1;
    return book_find_symbol_key(b, key);
}

static int intern_key(book_t *b, const uint64_t key[SYM_WORDS])
{
    int s = book_find_symbol_key(b, key);

    if (s >= 0)
        return s;
    if (b->nsymbols >= b->max_symbols) {
        b->stats.capacity_errors++;
        return -ENOSPC;
    }
    s = b->nsymbols++;
    memcpy(b->symbols[s].key, key, sizeof b->symbols[s].key);
    uint32_t i = (uint32_t)book__hash(key, SYM_WORDS) & b->sym_mask;
    while (b->sym_slots[i] >= 0)
        i = (i + 1) & b->sym_mask;
    b->sym_slots[i] = s;
    return s;
}

int book_intern_symbol(book_t *b, const char *symbol)
{
    uint64_t key[SYM_WORDS];

    if (book__key(key, SYM_WORDS, symbol) < 0)
        return -EINVAL;
    return intern_key(b, key);
}

const char *book_symbol_name(const book_t *b, int symbol)
{
    return symbol >= 0 && symbol < b->nsymbols ? (const char *)b->symbols[symbol].key : NULL;
}

static book_cell_t *cell(book_t *b, int strategy, int symbol)
{
    return &b->cells[(size_t)strategy * (size_t)b->max_symbols + (size_t)symbol];
}

int book_position(const book_t *b, int strategy, int symbol, book_position_t *out)
{
    if (strategy < 0 || strategy >= b->max_strategies || symbol < 0 || symbol >= b->max_symbols)
        return -EINVAL;
    const book_cell_t *c = book_cell(b, strategy, symbol);
    const book_symbol_t *y = &b->symbols[symbol];
    out->qty = c->qty;
    out->avg_price = c->avg_price;
    out->realized = c->realized;
    out->unrealized = y->marked && c->qty != 0 ? (y->mid - c->avg_price) * c->qty : 0;
    out->pending_buy = c->pending_buy;
    out->pending_sell = c->pending_sell;
    return 0;
}

/* ---- equity ---- */

/* Re-sums the unrealised PnL over the symbols and moves equity and peak.
 * Summing afresh (rather than adding deltas) keeps rounding from drifting
 * over millions of marks; it is O(symbols in use). */
static void update_equity(book_t *b)
{
    double u = 0;

    for (int s = 0; s < b->nsymbols; s++)
        u += b->symbols[s].unrealized;
    b->unrealized = u;
    b->equity = b->realized + u;
    if (b->equity > b->peak)
        b->peak = b->equity;
}

static void update_symbol_unrealized(book_symbol_t *y)
{
    y->unrealized = y->marked && y->holders > 0 ? y->mid * y->net_qty - y->cost : 0;
}

/* Re-sums one symbol's positions over the strategies (exact; O(strategies)). */
static void resum_symbol(book_t *b, int symbol)
{
    book_symbol_t *y = &b->symbols[symbol];
    double q = 0, cost = 0;
    int holders = 0;

    for (int k = 0; k < b->nstrategies; k++) {
        const book_cell_t *c = cell(b, k, symbol);
        if (c->qty != 0) {
            q += c->qty;
            cost += c->avg_price * c->qty;
            holders++;
        }
    }
    y->net_qty = q;
    y->cost = cost;
    y->holders = holders;
    update_symbol_unrealized(y);
}

int book_mark(book_t *b, const char *symbol, double mid, int64_t ts_ns)
{
    uint64_t key[SYM_WORDS];
    int s;

    if (!(mid > 0) || !isfinite(mid) || book__key(key, SYM_WORDS, symbol) < 0) {
        b->stats.marks_invalid++;
        return -EINVAL;
    }
    if ((s = intern_key(b, key)) < 0)
        return s;
    book_symbol_t *y = &b->symbols[s];
    bool changed = y->holders > 0 && (!y->marked || y->mid != mid);
    y->mid = mid;
    y->mark_ns = ts_ns;
    y->marked = true;
    if (changed) {
        update_symbol_unrealized(y);
        update_equity(b);
    }
    return changed;
}

/* ---- open orders ---- */

static bool key_eq(const uint64_t *a, const uint64_t *k)
{
    uint64_t d = 0;
    for (int i = 0; i < ID_WORDS; i++)
        d |= a[i] ^ k[i];
    return d == 0;
}

/* The slot of the order with this key, or UINT32_MAX. */
static uint32_t order_slot(const book_t *b, const uint64_t *key, uint64_t h)
{
    const book__ix_t *ix = &b->order_ix;

    for (uint32_t i = (uint32_t)h & ix->mask; ix->s[i].id >= 0; i = (i + 1) & ix->mask) {
        if (ix->s[i].h == (uint32_t)h && key_eq(b->orders[ix->s[i].id].key, key))
            return i;
    }
    return UINT32_MAX;
}

bool book_order_is_open_key(const book_t *b, const uint64_t *key, uint64_t h)
{
    return order_slot(b, key, h) != UINT32_MAX;
}

bool book_order_is_open(const book_t *b, const char *client_order_id)
{
    uint64_t key[ID_WORDS];

    if (book__key(key, ID_WORDS, client_order_id) < 0)
        return false;
    return book_order_is_open_key(b, key, book__hash(key, ID_WORDS));
}

/* ---- the memory of order ids that are not open ---- */

/* The memo entry of this order id, or -1. */
static int32_t memo_find(const book_t *b, const uint64_t *key, uint64_t h)
{
    const book__ix_t *ix = &b->memo_ix;

    for (uint32_t i = (uint32_t)h & ix->mask; ix->s[i].id >= 0; i = (i + 1) & ix->mask) {
        if (ix->s[i].h == (uint32_t)h && key_eq(b->memo_keys[ix->s[i].id], key))
            return ix->s[i].id;
    }
    return -1;
}

/* The memo entry of this order id, made (nothing filled, no strategy, not
 * done) if there is none; the oldest entry is forgotten when the memory is
 * full. */
static book__memo_t *memo_get(book_t *b, const uint64_t *key, uint64_t h)
{
    int32_t found = memo_find(b, key, h);
    if (found >= 0)
        return &b->memo[found];
    uint32_t cap = b->memo_cap;
    if (b->memo_count == cap) {
        uint32_t old = b->memo_head;
        uint32_t slot = book__ix_slot_of(&b->memo_ix, b->memo_hash[old], (int32_t)old);
        if (slot != UINT32_MAX)
            book__ix_delete(&b->memo_ix, slot);
        b->memo_head = (old + 1) % cap;
        b->memo_count--;
    }
    uint32_t id = (b->memo_head + b->memo_count) % cap;
    memcpy(b->memo_keys[id], key, sizeof b->memo_keys[id]);
    b->memo_hash[id] = (uint32_t)h;
    b->memo[id] = (book__memo_t){ 0, -1, 0, { 0 } };
    book__ix_insert(&b->memo_ix, h, (int32_t)id);
    b->memo_count++;
    return &b->memo[id];
}

/* Remembers that the order of this id finished (and whose it was). */
static void memo_done(book_t *b, const uint64_t *key, uint64_t h, int strategy)
{
    book__memo_t *m = memo_get(b, key, h);
    m->done = 1;
    if (m->strategy < 0)
        m->strategy = strategy;
}

int book_order_learn(book_t *b, const char *client_order_id, int strategy)
{
    uint64_t key[ID_WORDS];

    if (book__key(key, ID_WORDS, client_order_id) < 0 || strategy < 0 || strategy >= b->nstrategies)
        return -EINVAL;
    uint64_t h = book__hash(key, ID_WORDS);
    if (order_slot(b, key, h) != UINT32_MAX)
        return 0;
    book__memo_t *m = memo_get(b, key, h);
    if (m->strategy < 0)
        m->strategy = strategy;
    return 0;
}

/* Changes an order's open quantity to open_qty (<= its current one),
 * releasing the difference from the pending sums; an order left with
 * (almost) nothing is removed from the table (slot is its index slot), and
 * remembered as finished if `finished` (the venue is done with it; not when
 * riskd merely forgets an order it never sent). */
static void order_reduce(book_t *b, uint32_t slot, double open_qty, bool finished)
{
    int32_t id = b->order_ix.s[slot].id;
    book__order_t *o = &b->orders[id];
    book_cell_t *c = cell(b, o->strategy, o->symbol);
    book_symbol_t *y = &b->symbols[o->symbol];
    bool done = !(open_qty > o->open_qty * QTY_EPS_REL);
    double released = done ? o->open_qty : o->open_qty - open_qty;

    if (o->side == SE_SIDE_BUY) {
        c->pending_buy -= released;
        y->pending_buy -= released;
    } else {
        c->pending_sell -= released;
        y->pending_sell -= released;
    }
    if (!done) {
        o->open_qty = open_qty;
        return;
    }
    if (finished) /* an ACK or fill that comes later must not open it again */
        memo_done(b, o->key, b->order_ix.s[slot].h, o->strategy);
    /* Sums of decimals do not return to exactly 0; the last order out sets it. */
    if (--c->open_orders == 0)
        c->pending_buy = c->pending_sell = 0;
    if (--y->open_orders == 0)
        y->pending_buy = y->pending_sell = 0;
    book__ix_delete(&b->order_ix, slot);
    o->next_free = b->order_free;
    b->order_free = id;
    b->norders--;
}

int book_order_add(book_t *b, const char *client_order_id, int strategy, const char *symbol, uint8_t side,
                   double qty)
{
    uint64_t key[ID_WORDS], skey[SYM_WORDS];
    int s;

    if (book__key(key, ID_WORDS, client_order_id) < 0 || book__key(skey, SYM_WORDS, symbol) < 0 ||
        (side != SE_SIDE_BUY && side != SE_SIDE_SELL) || strategy < 0 || strategy >= b->nstrategies ||
        !(qty > 0) || !isfinite(qty))
        return -EINVAL;
    uint64_t h = book__hash(key, ID_WORDS);
    if (order_slot(b, key, h) != UINT32_MAX)
        return -EEXIST;
    int32_t mid = memo_find(b, key, h);
    if (mid >= 0) {
        book__memo_t *m = &b->memo[mid];
        if (m->done)
            return -EEXIST;
        /* Fills of this id came first (a venue fill on `in` ahead of the ACK
         * on `exe`): only what they leave is open. */
        if (!(qty - m->filled > qty * QTY_EPS_REL)) {
            m->done = 1;
            m->strategy = strategy;
            return 0;
        }
        qty -= m->filled;
    }
    if (b->order_free < 0) {
        b->stats.capacity_errors++;
        return -ENOSPC;
    }
    if ((s = intern_key(b, skey)) < 0)
        return s;
    int32_t id = b->order_free;
    book__order_t *o = &b->orders[id];
    b->order_free = o->next_free;
    memcpy(o->key, key, sizeof o->key);
    o->open_qty = qty;
    o->strategy = strategy;
    o->symbol = s;
    o->side = side;
    book__ix_insert(&b->order_ix, h, id);
    b->norders++;

    book_cell_t *c = cell(b, strategy, s);
    book_symbol_t *y = &b->symbols[s];
    if (side == SE_SIDE_BUY) {
        c->pending_buy += qty;
        y->pending_buy += qty;
    } else {
        c->pending_sell += qty;
        y->pending_sell += qty;
    }
    c->open_orders++;
    y->open_orders++;
    return 0;
}

int book_order_remove(book_t *b, const char *client_order_id)
{
    uint64_t key[ID_WORDS];
    uint32_t slot;

    if (book__key(key, ID_WORDS, client_order_id) < 0)
        return 0;
    slot = order_slot(b, key, book__hash(key, ID_WORDS));
    if (slot == UINT32_MAX)
        return 0;
    order_reduce(b, slot, 0, false);
    return 1;
}

int book_for_each_order(const book_t *b, int strategy, void (*fn)(void *ctx, const book_open_order_t *o),
                        void *ctx)
{
    int n = 0;
    for (uint32_t i = 0; i <= b->order_ix.mask; i++) {
        int32_t id = b->order_ix.s[i].id;
        if (id < 0)
            continue;
        const book__order_t *o = &b->orders[id];
        if (strategy >= 0 && o->strategy != strategy)
            continue;
        /* book__key keeps a key shorter than its field: it is NUL-terminated. */
        book_open_order_t out = { (const char *)o->key, book_symbol_name(b, o->symbol), o->strategy, o->side,
                                  o->open_qty };
        fn(ctx, &out);
        n++;
    }
    return n;
}

/* ---- fills ---- */

static uint32_t fill_slot(const book_t *b, const uint64_t *key, uint64_t h)
{
    const book__ix_t *ix = &b->fill_ix;

    for (uint32_t i = (uint32_t)h & ix->mask; ix->s[i].id >= 0; i = (i + 1) & ix->mask) {
        if (ix->s[i].h == (uint32_t)h && key_eq(b->fill_keys[ix->s[i].id], key))
            return i;
    }
    return UINT32_MAX;
}

/* Remembers a fill id, forgetting the oldest when the memory is full. */
static void fill_remember(book_t *b, const uint64_t *key, uint64_t h)
{
    uint32_t cap = (uint32_t)b->nfill_ids;

    if (b->fill_count == cap) {
        uint32_t old = b->fill_head;
        uint32_t slot = book__ix_slot_of(&b->fill_ix, b->fill_hash[old], (int32_t)old);
        if (slot != UINT32_MAX)
            book__ix_delete(&b->fill_ix, slot);
        b->fill_head = (old + 1) % cap;
        b->fill_count--;
    }
    uint32_t id = (b->fill_head + b->fill_count) % cap;
    memcpy(b->fill_keys[id], key, sizeof b->fill_keys[id]);
    b->fill_hash[id] = (uint32_t)h;
    book__ix_insert(&b->fill_ix, h, (int32_t)id);
    b->fill_count++;
}

/* Books qty at price (signed by side) into one position, average cost. */
static double apply_to_cell(book_cell_t *c, uint8_t side, double qty, double price)
{
    double d = side == SE_SIDE_BUY ? qty : -qty;
    double q = c->qty;

    if (q == 0 || (q > 0) == (d > 0)) {
        double aq = fabs(q);
        c->avg_price = (aq * c->avg_price + qty * price) / (aq + qty);
        c->qty = q + d;
        return 0;
    }
    double closed = fmin(qty, fabs(q));
    double realized = closed * (price - c->avg_price) * (q > 0 ? 1 : -1);
    c->realized += realized;
    double nq = q + d;
    if (fabs(nq) <= QTY_EPS_REL * fmax(fabs(q), qty)) {
        c->qty = 0;
        c->avg_price = 0;
    } else if ((nq > 0) != (q > 0)) {
        c->qty = nq; /* crossed through zero: the rest opens at the fill price */
        c->avg_price = price;
    } else {
        c->qty = nq;
    }
    return realized;
}

int book_apply_fill(book_t *b, const book_fill_t *f, book_change_t *chg)
{
    uint64_t fkey[ID_WORDS], okey[ID_WORDS], skey[SYM_WORDS];
    uint32_t oslot = UINT32_MAX;
    int strategy = f->strategy, s;

    if (book__key(fkey, ID_WORDS, f->fill_id) < 0 || book__key(skey, SYM_WORDS, f->symbol) < 0 ||
        (f->side != SE_SIDE_BUY && f->side != SE_SIDE_SELL) || !(f->qty > 0) || !isfinite(f->qty) ||
        !(f->price > 0) || !isfinite(f->price)) {
        b->stats.fills_invalid++;
        return -EINVAL;
    }
    uint64_t fh = book__hash(fkey, ID_WORDS);
    if (fill_slot(b, fkey, fh) != UINT32_MAX) {
        b->stats.fills_duplicate++;
        return 0;
    }
    if (f->client_order_id && f->client_order_id[0] && book__key(okey, ID_WORDS, f->client_order_id) >= 0)
        oslot = order_slot(b, okey, book__hash(okey, ID_WORDS));
    book__memo_t *memo = NULL;
    uint64_t oh = 0;
    if (oslot != UINT32_MAX) {
        strategy = b->orders[b->order_ix.s[oslot].id].strategy;
    } else if (f->client_order_id && f->client_order_id[0] && book__key(okey, ID_WORDS, f->client_order_id) >= 0) {
        /* An order not open: finished, or not heard of yet. */
        oh = book__hash(okey, ID_WORDS);
        int32_t mid = memo_find(b, okey, oh);
        if (mid >= 0) {
            memo = &b->memo[mid];
            if (memo->strategy >= 0)
                strategy = memo->strategy;
        }
    }
    if (strategy < 0 || strategy >= b->nstrategies) {
        b->stats.fills_unattributed++;
        return -ENOENT;
    }
    if ((s = intern_key(b, skey)) < 0)
        return s;

    fill_remember(b, fkey, fh);
    if (oslot != UINT32_MAX) {
        const book__order_t *o = &b->orders[b->order_ix.s[oslot].id];
        double left = o->open_qty - f->qty;
        if (f->leaves_qty >= 0 && f->leaves_qty < left)
            left = f->leaves_qty;
        order_reduce(b, oslot, left > 0 ? left : 0, true);
    } else if (oh) {
        /* Counted against the id: the order's ACK, if it comes later, opens
         * only what is left; one the venue says is done never opens. */
        if (!memo)
            memo = memo_get(b, okey, oh);
        if (memo->strategy < 0)
            memo->strategy = strategy;
        memo->filled += f->qty;
        if (f->leaves_qty == 0)
            memo->done = 1;
    }
    b->realized += apply_to_cell(cell(b, strategy, s), f->side, f->qty, f->price);
    resum_symbol(b, s);
    update_equity(b);
    b->stats.fills_applied++;
    if (chg)
        *chg = (book_change_t){ strategy, s };
    return 1;
}

/* ---- ring records ---- */

int book_on_exec(book_t *b, const se_exec_rec_t *e, book_change_t *chg)
{
    switch (e->kind) {
    case SE_EXEC_FILL: {
        book_fill_t f = { e->fill_id, e->client_order_id, e->symbol,
                          e->strategy_index < (uint32_t)b->nstrategies ? (int)e->strategy_index : -1,
                          e->side, e->qty, e->price, e->leaves_qty >= 0 ? e->leaves_qty : -1 };
        return book_apply_fill(b, &f, chg);
    }
    case SE_EXEC_REJECT:
    case SE_EXEC_CANCELLED: {
        /* A refused cancel leaves the order as it was, unless the venue
         * refused because it is no longer working there (filled). */
        if (e->kind == SE_EXEC_REJECT && e->action == SE_ACTION_CANCEL && !se_cancel_refusal_closes(e->reason))
            return 0;
        uint64_t key[ID_WORDS];
        if (book__key_field(key, ID_WORDS, e->client_order_id) < 0)
            return 0;
        uint64_t h = book__hash(key, ID_WORDS);
        uint32_t slot = order_slot(b, key, h);
        if (slot == UINT32_MAX) { /* not open: an ACK that comes later must not open it */
            memo_done(b, key, h, e->strategy_index < (uint32_t)b->nstrategies ? (int)e->strategy_index : -1);
            return 0;
        }
        order_reduce(b, slot, 0, true);
        return 1;
    }
    case SE_EXEC_ACK: {
        /* An order the book has open stays as it is (a duplicate ACK); one it
         * does not have is opened unless it finished (restart: approved
         * before the history of `ord`), less the fills of its id already
         * applied (book_order_add). */
        if (e->action != SE_ACTION_NEW || e->strategy_index >= (uint32_t)b->nstrategies)
            return 0;
        double qty = e->qty > 0 ? e->qty : e->leaves_qty;
        char id[SE_ID_MAX], sym[SE_SYMBOL_MAX];
        /* Fields from shared memory: an unterminated one is refused, not cut. */
        if (!memchr(e->client_order_id, '\0', sizeof id) || !memchr(e->symbol, '\0', sizeof sym))
            return 0;
        memcpy(id, e->client_order_id, sizeof id);
        memcpy(sym, e->symbol, sizeof sym);
        if (book_order_is_open(b, id))
            return 0;
        if (book_order_add(b, id, (int)e->strategy_index, sym, e->side, qty) < 0)
            return 0;
        uint64_t key[ID_WORDS];
        book__key(key, ID_WORDS, id);
        uint32_t slot = order_slot(b, key, book__hash(key, ID_WORDS));
        if (slot == UINT32_MAX)
            return 0; /* covered by the fills that came first */
        /* The venue's own count, when smaller (fills older than the rings). */
        if (e->leaves_qty > 0 && e->leaves_qty < b->orders[b->order_ix.s[slot].id].open_qty)
            order_reduce(b, slot, e->leaves_qty, true);
        return 1;
    }
    }
    return -EINVAL;
}

int book_on_in(book_t *b, const se_in_rec_t *r, book_change_t *chg)
{
    switch (r->kind) {
    case SE_IN_QUOTE: {
        const se_quote_t *q = &r->u.quote;
        double mid;
        if (r->flags & SE_QUOTE_HAS_BIDASK)
            mid = (q->bid + q->ask) / 2;
        else if (r->flags & SE_QUOTE_HAS_LAST)
            mid = q->last;
        else
            mid = NAN;
        /* book__key reads at most the 16 bytes of the field and refuses an
         * unterminated one, so the record's own field can be passed. */
        return book_mark(b, r->symbol, mid, r->ts_ingest_ns ? r->ts_ingest_ns : r->ts_source_ns);
    }
    case SE_IN_FILL: {
        const se_fill_t *x = &r->u.fill;
        book_fill_t f = { x->fill_id, x->client_order_id, r->symbol, -1, x->side, x->qty, x->price, -1 };
        return book_apply_fill(b, &f, chg);
    }
    case SE_IN_POSITION:
        return 0;
    }
    return -EINVAL;
}

/* ---- days and peaks ---- */

void book_daily_reset(book_t *b, int64_t now_ns)
{
    b->day_start_equity = b->equity;
    b->day_start_ns = now_ns;
}

void book_reset_peak(book_t *b)
{
    b->peak = b->equity;
}

int64_t book_next_reset_ns(const risk_limits_t *l, int64_t now_ns)
{
    int64_t off = (int64_t)l->daily_reset_minute * 60 * NS_PER_S;
    int64_t x = now_ns - off;
    int64_t day = x / NS_PER_DAY;

    if (x % NS_PER_DAY < 0)
        day--; /* floor, for instants before 1970 */
    return (day + 1) * NS_PER_DAY + off;
}
