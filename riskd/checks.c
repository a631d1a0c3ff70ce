/* checks.c -- riskd's pre-trade risk rules, rate windows, duplicate memory
 * and trading state. See checks.h for the rules, their order and the states. */
#include "checks.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL
#define SYM_WORDS (SE_SYMBOL_MAX / 8)
#define ID_WORDS  (SE_ID_MAX / 8)
#define DUP_WORDS 5

/* Tolerance of limit comparisons: x "exceeds" lim only beyond 1e-9 relative,
 * so that 0.1 + 0.2 + 9.7 against a limit of 10 passes. */
#define LIMIT_EPS_REL 1e-9

static const char R_START[] = "start", R_KILL[] = "kill_switch", R_KILL_OFF[] = "kill_switch_off",
                  R_DAILY[] = "daily_loss", R_DRAWDOWN[] = "drawdown", R_RESET[] = "daily_reset",
                  R_CLEARED[] = "breaches_cleared", R_VENUE_DOWN[] = "venue_down", R_VENUE_UP[] = "venue_up";

static const char *const rule_names[RISK_RULE_COUNT] = {
    [RISK_OK] = "ok",
    [RISK_KILL_SWITCH] = "kill_switch",
    [RISK_HALTED] = "halted",
    [RISK_INVALID_ORDER] = "invalid_order",
    [RISK_DAILY_LOSS] = "daily_loss",
    [RISK_DRAWDOWN] = "drawdown",
    [RISK_REDUCING_ONLY] = "reducing_only",
    [RISK_SYMBOL_WHITELIST] = "symbol_whitelist",
    [RISK_SYMBOL_BLACKLIST] = "symbol_blacklist",
    [RISK_MAX_ORDER_SIZE] = "max_order_size",
    [RISK_MAX_ORDER_VALUE] = "max_order_value",
    [RISK_PRICE_COLLAR] = "price_collar",
    [RISK_STALE_QUOTE] = "stale_quote",
    [RISK_NO_QUOTE] = "no_quote",
    [RISK_MAX_POSITION] = "max_position",
    [RISK_STRATEGY_MAX_POSITION] = "strategy_max_position",
    [RISK_RATE_GLOBAL_SECOND] = "rate_global_second",
    [RISK_RATE_GLOBAL_MINUTE] = "rate_global_minute",
    [RISK_RATE_STRATEGY_SECOND] = "rate_strategy_second",
    [RISK_RATE_STRATEGY_MINUTE] = "rate_strategy_minute",
    [RISK_DUPLICATE_ORDER_ID] = "duplicate_order_id",
    [RISK_DUPLICATE] = "duplicate",
};

const char *risk_rule_name(risk_rule_t rule)
{
    return rule >= RISK_OK && rule < RISK_RULE_COUNT ? rule_names[rule] : "unknown";
}

const char *risk_state_name(se_trading_state_t s)
{
    switch (s) {
    case SE_TRADING_ACTIVE: return "ACTIVE";
    case SE_TRADING_REDUCING: return "REDUCING";
    case SE_TRADING_HALTED: return "HALTED";
    }
    return "UNKNOWN";
}

/* ---- symbol sets ---- */

static int symset_init(risk__symset_t *s, const char (*syms)[SE_SYMBOL_MAX], int n)
{
    uint32_t size = 2;

    while (size < 2u * (uint32_t)n)
        size <<= 1;
    s->slots = calloc(size, sizeof *s->slots);
    if (!s->slots)
        return -ENOMEM;
    s->mask = size - 1;
    s->n = n;
    for (int i = 0; i < n; i++) {
        uint64_t k[SYM_WORDS];
        if (book__key(k, SYM_WORDS, syms[i]) < 0)
            continue; /* limits_load lets no such symbol through */
        uint32_t j = (uint32_t)book__hash(k, SYM_WORDS) & s->mask;
        while (s->slots[j][0] && (s->slots[j][0] != k[0] || s->slots[j][1] != k[1]))
            j = (j + 1) & s->mask;
        s->slots[j][0] = k[0];
        s->slots[j][1] = k[1];
    }
    return 0;
}

static inline bool symset_has(const risk__symset_t *s, const uint64_t k[SYM_WORDS], uint64_t h)
{
    for (uint32_t j = (uint32_t)h & s->mask; s->slots[j][0]; j = (j + 1) & s->mask) {
        if (s->slots[j][0] == k[0] && s->slots[j][1] == k[1])
            return true;
    }
    return false;
}

/* ---- rate windows ---- */

/* True if the window holds cap approvals all later than now - span: one more
 * would make cap + 1 in the span. Exact, O(1): the oldest of the last cap
 * approvals is the only one that matters. */
static inline bool window_full(const risk__window_t *w, int64_t now, int64_t span)
{
    return w->cap && w->n == w->cap && w->ts[w->head] > now - span;
}

static inline void window_prefetch(const risk__window_t *w)
{
    if (w->cap)
        __builtin_prefetch(&w->ts[w->head]);
}

static inline void window_push(risk__window_t *w, int64_t now)
{
    if (!w->cap)
        return;
    if (w->n < w->cap) {
        w->ts[w->n++] = now; /* head stays 0 until the ring is full */
        return;
    }
    w->ts[w->head] = now;
    if (++w->head == w->cap)
        w->head = 0;
}

/* ---- lifetime ---- */

/* The approvals one duplicate window can hold: RISK_DUP_MAX, or less when
 * enforced rate limits promise fewer (see RISK_DUP_MAX). */
static uint32_t dup_capacity(const risk_limits_t *l)
{
    uint64_t cap = RISK_DUP_MAX, w = (uint64_t)l->duplicate_window_ms;

    if (w == 0)
        return 1;
    if (l->enabled && l->max_orders_per_second > 0) {
        uint64_t c = (uint64_t)l->max_orders_per_second * ((w + 999) / 1000);
        cap = c < cap ? c : cap;
    }
    if (l->enabled && l->max_orders_per_minute > 0) {
        uint64_t c = (uint64_t)l->max_orders_per_minute * ((w + 59999) / 60000);
        cap = c < cap ? c : cap;
    }
    return (uint32_t)cap;
}

int risk_init(risk_t *r, const risk_limits_t *limits, int nstrategies)
{
    const risk_limits_t *l = limits;
    size_t words;
    int64_t *m;

    memset(r, 0, sizeof *r);
    if (nstrategies < 1 || nstrategies > BOOK_STRATEGIES_MAX)
        return se_err(-EINVAL, "risk: %d strategies; 1 to %d are supported", nstrategies, BOOK_STRATEGIES_MAX);
    r->limits = *l;
    r->nstrategies = nstrategies;
    r->state = SE_TRADING_ACTIVE;
    r->reason = R_START;
    r->span_sec_ns = NS_PER_S;
    r->span_min_ns = 60 * NS_PER_S;
    r->dup_window_ns = l->duplicate_window_ms * NS_PER_MS;
    r->quote_age_ns = l->max_quote_age_ms * NS_PER_MS;
    r->collar_frac = l->price_collar_pct / 100;

    r->dup_cap = dup_capacity(l);
    words = (size_t)l->max_orders_per_second + (size_t)l->max_orders_per_minute +
            (size_t)nstrategies *
                ((size_t)l->strategy_max_orders_per_second + (size_t)l->strategy_max_orders_per_minute);
    r->window_mem = words ? malloc(words * sizeof *r->window_mem) : NULL;
    r->strategy_sec = calloc((size_t)nstrategies, sizeof *r->strategy_sec);
    r->strategy_min = calloc((size_t)nstrategies, sizeof *r->strategy_min);
    r->dups = calloc(r->dup_cap, sizeof *r->dups);
    if ((words && !r->window_mem) || !r->strategy_sec || !r->strategy_min || !r->dups ||
        book__ix_init(&r->dup_ix, r->dup_cap) < 0 ||
        symset_init(&r->whitelist, l->whitelist, l->nwhitelist) < 0 ||
        symset_init(&r->blacklist, l->blacklist, l->nblacklist) < 0) {
        risk_fini(r);
        return se_err(-ENOMEM, "risk: out of memory for rate windows of %zu orders", words);
    }
    /* Touch every page now, so the hot path never takes a first-touch fault. */
    if (words)
        memset(r->window_mem, 0, words * sizeof *r->window_mem);
    memset(r->dups, 0, r->dup_cap * sizeof *r->dups);
    m = r->window_mem;
#define CARVE(w, n) do { (w).cap = (uint32_t)(n); (w).ts = (n) ? m : NULL; m += (n); } while (0)
    CARVE(r->global_sec, l->max_orders_per_second);
    CARVE(r->global_min, l->max_orders_per_minute);
    for (int i = 0; i < nstrategies; i++) {
        CARVE(r->strategy_sec[i], l->strategy_max_orders_per_second);
        CARVE(r->strategy_min[i], l->strategy_max_orders_per_minute);
    }
#undef CARVE
    return 0;
}

int risk_add_strategy(risk_t *r)
{
    const risk_limits_t *l = &r->limits;
    int i = r->nstrategies;
    if (i >= BOOK_STRATEGIES_MAX)
        return se_err(-ENOSPC, "risk: at most %d strategies are supported", BOOK_STRATEGIES_MAX);
    size_t sec = (size_t)l->strategy_max_orders_per_second, min = (size_t)l->strategy_max_orders_per_minute;
    int64_t *mem = sec + min ? calloc(sec + min, sizeof *mem) : NULL;
    risk__window_t *s = realloc(r->strategy_sec, (size_t)(i + 1) * sizeof *s);
    if (s)
        r->strategy_sec = s;
    risk__window_t *m = s ? realloc(r->strategy_min, (size_t)(i + 1) * sizeof *m) : NULL;
    if (m)
        r->strategy_min = m;
    if ((sec + min && !mem) || !s || !m) {
        free(mem);
        return se_err(-ENOMEM, "risk: out of memory for the rate windows of strategy %d", i);
    }
    /* calloc touched nothing yet: touch every page now, as risk_init does. */
    if (mem)
        memset(mem, 0, (sec + min) * sizeof *mem);
    r->added_mem[r->nadded++] = mem;
    memset(&r->strategy_sec[i], 0, sizeof r->strategy_sec[i]);
    memset(&r->strategy_min[i], 0, sizeof r->strategy_min[i]);
    r->strategy_sec[i].cap = (uint32_t)sec;
    r->strategy_sec[i].ts = sec ? mem : NULL;
    r->strategy_min[i].cap = (uint32_t)min;
    r->strategy_min[i].ts = min ? mem + sec : NULL;
    return r->nstrategies++;
}

void risk_fini(risk_t *r)
{
    for (int i = 0; i < r->nadded; i++)
        free(r->added_mem[i]);
    free(r->window_mem);
    free(r->strategy_sec);
    free(r->strategy_min);
    free(r->dups);
    free(r->whitelist.slots);
    free(r->blacklist.slots);
    book__ix_fini(&r->dup_ix);
    memset(r, 0, sizeof *r);
}

/* ---- duplicates ---- */

static inline void dup_key(uint64_t key[DUP_WORDS], const se_signal_rec_t *sig, const uint64_t skey[SYM_WORDS])
{
    double price = sig->order_type == SE_ORDER_LIMIT ? sig->price : 0;

    key[0] = (uint64_t)sig->strategy_index | (uint64_t)sig->side << 32 | (uint64_t)sig->order_type << 40;
    key[1] = skey[0];
    key[2] = skey[1];
    memcpy(&key[3], &sig->qty, 8);
    memcpy(&key[4], &price, 8);
}

/* The index slot of the remembered approval with this key, or UINT32_MAX. */
static inline uint32_t dup_slot(const risk_t *r, const uint64_t key[DUP_WORDS], uint64_t h)
{
    const book__ix_t *ix = &r->dup_ix;

    for (uint32_t i = (uint32_t)h & ix->mask; ix->s[i].id >= 0; i = (i + 1) & ix->mask) {
        const risk__dup_t *d = &r->dups[ix->s[i].id];
        if (ix->s[i].h == (uint32_t)h && d->key[0] == key[0] && d->key[1] == key[1] && d->key[2] == key[2] &&
            d->key[3] == key[3] && d->key[4] == key[4])
            return i;
    }
    return UINT32_MAX;
}

/* Forgets the oldest remembered approval. */
static void dup_pop(risk_t *r)
{
    risk__dup_t *d = &r->dups[r->dup_head];

    if (d->live) {
        uint32_t slot = book__ix_slot_of(&r->dup_ix, d->h, (int32_t)r->dup_head);
        if (slot != UINT32_MAX)
            book__ix_delete(&r->dup_ix, slot);
        d->live = false;
    }
    if (++r->dup_head == r->dup_cap)
        r->dup_head = 0;
    r->dup_n--;
}

static void dup_record(risk_t *r, const uint64_t key[DUP_WORDS], uint64_t h, int64_t now)
{
    uint32_t slot = dup_slot(r, key, h);

    if (slot != UINT32_MAX) {
        /* The same order again (after its window): the new time replaces the
         * old entry, which stays in the ring as a dead slot until it ages out. */
        r->dups[r->dup_ix.s[slot].id].live = false;
        book__ix_delete(&r->dup_ix, slot);
    }
    /* Drop what has aged out, and the oldest if the ring is still full. */
    while (r->dup_n > 0 && (!r->dups[r->dup_head].live || r->dups[r->dup_head].ts <= now - r->dup_window_ns))
        dup_pop(r);
    if (r->dup_n == r->dup_cap)
        dup_pop(r);
    uint32_t id = r->dup_head + r->dup_n;
    if (id >= r->dup_cap)
        id -= r->dup_cap;
    risk__dup_t *d = &r->dups[id];
    memcpy(d->key, key, sizeof d->key);
    d->ts = now;
    d->h = (uint32_t)h;
    d->live = true;
    book__ix_insert(&r->dup_ix, h, (int32_t)id);
    r->dup_n++;
}

/* ---- the check ---- */

static inline bool exceeds(double x, double lim)
{
    return x > lim + lim * LIMIT_EPS_REL;
}

/* True if the order moves the strategy's projected position strictly toward
 * zero without crossing it (c NULL: the strategy holds nothing there). */
static inline bool reduces(const book_cell_t *c, uint8_t side, double qty)
{
    if (!c)
        return false;
    if (side == SE_SIDE_BUY) {
        double p = c->qty + c->pending_buy;
        return p < 0 && p + qty <= -p * LIMIT_EPS_REL;
    }
    double p = c->qty - c->pending_sell;
    return p > 0 && p - qty >= -p * LIMIT_EPS_REL;
}

static inline risk_rule_t reject(risk_t *r, risk_rule_t rule)
{
    r->violations[rule]++;
    return rule;
}

risk_rule_t risk_check(risk_t *r, const book_t *b, const se_signal_rec_t *sig, const char *strategy_name,
                       int64_t now)
{
    const risk_limits_t *l = &r->limits;
    const bool shadow = !l->enabled; /* evaluate and count everything, refuse nothing */
    uint32_t failed = 0;
    uint64_t skey[SYM_WORDS], okey[ID_WORDS];

    r->checks++;
    if (sig->action == SE_ACTION_CANCEL) {
        r->passed++;
        return RISK_OK;
    }
    if (r->kill_switch)
        return reject(r, RISK_KILL_SWITCH);

#define FAIL(rule)                       \
    do {                                 \
        if (!shadow)                     \
            return reject(r, rule);      \
        failed |= 1u << (rule);          \
    } while (0)

    if (r->state == SE_TRADING_HALTED)
        FAIL(RISK_HALTED);

    const uint32_t si = sig->strategy_index;
    const uint8_t side = sig->side, type = sig->order_type;
    const double qty = sig->qty;
    if (sig->action != SE_ACTION_NEW || (side != SE_SIDE_BUY && side != SE_SIDE_SELL) ||
        (type != SE_ORDER_MARKET && type != SE_ORDER_LIMIT) || !(qty > 0) || !isfinite(qty) ||
        (type == SE_ORDER_LIMIT && (!(sig->price > 0) || !isfinite(sig->price))) ||
        si >= (uint32_t)r->nstrategies || si >= (uint32_t)b->nstrategies ||
        book__key_field(skey, SYM_WORDS, sig->symbol) < 0 ||
        book__key_field(okey, ID_WORDS, sig->client_order_id) < 0 ||
        (strategy_name && strategy_name != b->strategy_names[si] &&
         strcmp(strategy_name, b->strategy_names[si]) != 0))
        return reject(r, RISK_INVALID_ORDER);

    /* The last rules look into tables too large to stay in cache (open
     * orders, rate windows, duplicate memory). Start those loads now, so their
     * misses overlap with each other and with the rules before them. */
    const uint64_t oh = book__hash(okey, ID_WORDS);
    __builtin_prefetch(&b->order_ix.s[oh & b->order_ix.mask]);
    uint64_t dkey[DUP_WORDS], dh = 0;
    const bool dup_on = r->dup_window_ns > 0 && r->dup_n > 0;
    if (dup_on) {
        dup_key(dkey, sig, skey);
        dh = book__hash(dkey, DUP_WORDS);
        __builtin_prefetch(&r->dup_ix.s[dh & r->dup_ix.mask]);
    }
    window_prefetch(&r->global_sec);
    window_prefetch(&r->global_min);
    window_prefetch(&r->strategy_sec[si]);
    window_prefetch(&r->strategy_min[si]);

    const uint64_t sh = book__hash(skey, SYM_WORDS);
    const int sym = book_find_symbol_hashed(b, skey, sh);
    const book_symbol_t *y = sym >= 0 ? book_symbol(b, sym) : NULL;
    const book_cell_t *c = sym >= 0 ? book_cell(b, (int)si, sym) : NULL;
    const bool marked = y && y->marked;

    /* Trading-state rules. "reduces" is only worked out when a state needs it. */
    const bool dl = l->max_daily_loss > 0 && exceeds(-book_daily_pnl(b), l->max_daily_loss);
    const bool dd = l->max_drawdown > 0 && exceeds(book_drawdown(b), l->max_drawdown);
    if (dl || dd || r->state == SE_TRADING_REDUCING) {
        const bool red = reduces(c, side, qty);
        const bool halt = l->breach_action == LIMITS_BREACH_HALT;
        if (dl && (halt || !red))
            FAIL(RISK_DAILY_LOSS);
        if (dd && (halt || !red))
            FAIL(RISK_DRAWDOWN);
        if (r->state == SE_TRADING_REDUCING && !red)
            FAIL(RISK_REDUCING_ONLY);
    }

    if (r->whitelist.n || r->blacklist.n) {
        if (r->whitelist.n && !symset_has(&r->whitelist, skey, sh))
            FAIL(RISK_SYMBOL_WHITELIST);
        if (r->blacklist.n && symset_has(&r->blacklist, skey, sh))
            FAIL(RISK_SYMBOL_BLACKLIST);
    }

    if (l->max_order_size > 0 && exceeds(qty, l->max_order_size))
        FAIL(RISK_MAX_ORDER_SIZE);

    /* Price rules; each needs the mid (a LIMIT's value does not). */
    bool no_quote = false;
    if (l->max_order_value > 0) {
        if (type == SE_ORDER_LIMIT) {
            if (exceeds(qty * sig->price, l->max_order_value))
                FAIL(RISK_MAX_ORDER_VALUE);
        } else if (!marked) {
            no_quote = true;
        } else if (exceeds(qty * y->mid, l->max_order_value)) {
            FAIL(RISK_MAX_ORDER_VALUE);
        }
    }
    if (type == SE_ORDER_LIMIT && l->price_collar_pct > 0) {
        if (!marked)
            no_quote = true;
        else if (exceeds(fabs(sig->price - y->mid), y->mid * r->collar_frac))
            FAIL(RISK_PRICE_COLLAR);
    }
    if (type == SE_ORDER_MARKET && r->quote_age_ns > 0) {
        if (!marked)
            no_quote = true;
        else if (now - y->mark_ns > r->quote_age_ns)
            FAIL(RISK_STALE_QUOTE);
    }
    if (no_quote)
        FAIL(RISK_NO_QUOTE);

    /* Position limits: only the order's side can take a position past one. */
    if (l->max_position_size > 0) {
        double p = 0;
        if (y)
            p = side == SE_SIDE_BUY ? y->net_qty + y->pending_buy : -(y->net_qty - y->pending_sell);
        if (exceeds(p + qty, l->max_position_size))
            FAIL(RISK_MAX_POSITION);
    }
    if (l->strategy_max_position_size > 0) {
        double p = 0;
        if (c)
            p = side == SE_SIDE_BUY ? c->qty + c->pending_buy : -(c->qty - c->pending_sell);
        if (exceeds(p + qty, l->strategy_max_position_size))
            FAIL(RISK_STRATEGY_MAX_POSITION);
    }

    if (window_full(&r->global_sec, now, r->span_sec_ns))
        FAIL(RISK_RATE_GLOBAL_SECOND);
    if (window_full(&r->global_min, now, r->span_min_ns))
        FAIL(RISK_RATE_GLOBAL_MINUTE);
    if (window_full(&r->strategy_sec[si], now, r->span_sec_ns))
        FAIL(RISK_RATE_STRATEGY_SECOND);
    if (window_full(&r->strategy_min[si], now, r->span_min_ns))
        FAIL(RISK_RATE_STRATEGY_MINUTE);

    if (b->norders && book_order_is_open_key(b, okey, oh))
        FAIL(RISK_DUPLICATE_ORDER_ID);

    if (dup_on) {
        uint32_t slot = dup_slot(r, dkey, dh);
        if (slot != UINT32_MAX && now - r->dups[r->dup_ix.s[slot].id].ts < r->dup_window_ns)
            FAIL(RISK_DUPLICATE);
    }
#undef FAIL

    while (failed) {
        int rule = __builtin_ctz(failed);
        r->violations[rule]++;
        failed &= failed - 1;
    }
    r->passed++;
    return RISK_OK;
}

void risk_record_approved(risk_t *r, const se_signal_rec_t *sig, int64_t now)
{
    uint32_t si = sig->strategy_index;

    if (sig->action != SE_ACTION_NEW || si >= (uint32_t)r->nstrategies)
        return;
    window_push(&r->global_sec, now);
    window_push(&r->global_min, now);
    window_push(&r->strategy_sec[si], now);
    window_push(&r->strategy_min[si], now);
    if (r->dup_window_ns > 0) {
        uint64_t skey[SYM_WORDS], key[DUP_WORDS];
        if (book__key_field(skey, SYM_WORDS, sig->symbol) < 0)
            return;
        dup_key(key, sig, skey);
        dup_record(r, key, book__hash(key, DUP_WORDS), now);
    }
}

/* ---- trading state ---- */

/* Sets the state the kill switch and latches call for. active_reason is the
 * reason given if this makes the state ACTIVE. True if state or reason changed. */
static bool settle(risk_t *r, const char *active_reason)
{
    se_trading_state_t st;
    const char *why;

    if (r->kill_switch) {
        st = SE_TRADING_HALTED;
        why = R_KILL;
    } else if (r->venue_down) {
        st = SE_TRADING_HALTED;
        why = R_VENUE_DOWN;
    } else if (r->daily_breached || r->drawdown_breached) {
        st = r->limits.breach_action == LIMITS_BREACH_HALT ? SE_TRADING_HALTED : SE_TRADING_REDUCING;
        why = r->daily_breached ? R_DAILY : R_DRAWDOWN;
    } else {
        st = SE_TRADING_ACTIVE;
        why = r->state == SE_TRADING_ACTIVE ? r->reason : active_reason;
    }
    if (st == r->state && why == r->reason)
        return false;
    if (st != r->state)
        r->state_changes++;
    r->state = st;
    r->reason = why;
    return true;
}

bool risk_update_state(risk_t *r, const book_t *b, int64_t now)
{
    const risk_limits_t *l = &r->limits;

    if (r->daily_breached && book_day_start_ns(b) != r->daily_breach_day)
        r->daily_breached = false; /* a new day: the daily loss starts again from zero */
    if (!r->daily_breached && l->max_daily_loss > 0 && exceeds(-book_daily_pnl(b), l->max_daily_loss)) {
        r->daily_breached = true;
        r->daily_breach_day = book_day_start_ns(b);
    }
    if (!r->drawdown_breached && l->max_drawdown > 0 && exceeds(book_drawdown(b), l->max_drawdown))
        r->drawdown_breached = true;
    (void)now;
    return settle(r, R_RESET);
}

bool risk_set_kill_switch(risk_t *r, bool on)
{
    r->kill_switch = on;
    return settle(r, R_KILL_OFF);
}

bool risk_set_venue_down(risk_t *r, bool down)
{
    r->venue_down = down;
    return settle(r, R_VENUE_UP);
}

bool risk_clear_breaches(risk_t *r)
{
    r->daily_breached = r->drawdown_breached = false;
    return settle(r, R_CLEARED);
}
