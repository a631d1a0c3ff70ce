/* limits.c -- execd's hard limits on every NEW order from ring `ord`. See
 * limits.h for the rules. Symbols live in a fixed open-addressing hash
 * (never removed), each with its latest prices and its own rate bucket. */
#include "execd/limits.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define BUCKETS    (2 * EXEC_LIMITS_MAX_SYMBOLS) /* a power of two, half full at most */
#define ORDER_UNIT 1000000000LL                  /* one order in bucket credit */

static const char *const names[EXEC_LIMIT_COUNT] = {
    [EXEC_LIMIT_OK] = "ok",
    [EXEC_LIMIT_BAD_SIDE] = "exec_bad_side",
    [EXEC_LIMIT_BAD_TYPE] = "exec_bad_type",
    [EXEC_LIMIT_BAD_QTY] = "exec_bad_qty",
    [EXEC_LIMIT_BAD_PRICE] = "exec_bad_price",
    [EXEC_LIMIT_BAD_SYMBOL] = "exec_bad_symbol",
    [EXEC_LIMIT_SYMBOL_NOT_ALLOWED] = "exec_symbol_not_allowed",
    [EXEC_LIMIT_SYMBOL_TABLE_FULL] = "exec_symbol_table_full",
    [EXEC_LIMIT_MAX_QTY] = "exec_max_qty",
    [EXEC_LIMIT_NO_PRICE] = "exec_no_price",
    [EXEC_LIMIT_MAX_NOTIONAL] = "exec_max_notional",
    [EXEC_LIMIT_MAX_RATE] = "exec_max_rate",
    [EXEC_LIMIT_MAX_RATE_SYMBOL] = "exec_max_rate_symbol",
};

const char *exec_limit_name(exec_limit_t rule)
{
    return (unsigned)rule < EXEC_LIMIT_COUNT ? names[rule] : "unknown";
}

/* ---- configuration (cold) ------------------------------------------------------ */

/* A positive amount: key's value, else def. */
static int load_amount(const cfg_t *cfg, const char *key, double def, double *out)
{
    int rc = cfg_get_double(cfg, key, def, out);
    if (rc < 0)
        return rc;
    if (!(*out > 0 && *out <= EXEC_LIMITS_AMOUNT_MAX)) /* also NaN and infinities */
        return cfg_value_error(cfg, key, "%g is out of range: a limit is a number > 0 and <= %g", *out,
                               EXEC_LIMITS_AMOUNT_MAX);
    return 0;
}

/* The default of an execd limit from riskd's limit at risk_key: multiple x
 * riskd's when riskd's is on (> 0), else fixed; never beyond max. */
static int default_from_risk(const cfg_t *cfg, const char *risk_key, double multiple, double fixed, double max,
                             double *out)
{
    double risk;
    int rc = cfg_get_double(cfg, risk_key, 0, &risk);
    if (rc < 0)
        return rc;
    *out = isfinite(risk) && risk > 0 ? (risk * multiple < max ? risk * multiple : max) : fixed;
    return 0;
}

static int load_symbols(const cfg_t *cfg, exec_limits_config_t *out)
{
    static const char key[] = "execution.limits.symbols";
    const char **items;
    cfg_node_t node;
    int n, rc = cfg_get_string_list(cfg, key, &items, &n);
    if (rc < 0)
        return rc;
    out->nsymbols = 0;
    if (cfg_node(cfg, key, &node) < 0)
        return 0; /* absent: every symbol */
    if (n == 0)
        return cfg_value_error(cfg, key, "empty: it would allow no symbol (leave the key out to allow every symbol)");
    if (n > EXEC_LIMITS_LIST_MAX)
        return cfg_value_error(cfg, key, "%d symbols: at most %d", n, EXEC_LIMITS_LIST_MAX);
    for (int i = 0; i < n; i++) {
        size_t len = strlen(items[i]);
        if (len == 0 || len >= SE_SYMBOL_MAX)
            return cfg_value_error(cfg, key, "element %d: \"%s\" is not a symbol of 1 to %d bytes", i, items[i],
                                   SE_SYMBOL_MAX - 1);
        memcpy(out->symbols[i], items[i], len + 1);
    }
    out->nsymbols = n;
    return 0;
}

int exec_limits_load(const cfg_t *cfg, exec_limits_config_t *out)
{
    double qty_def, notional_def, rate_def;
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = default_from_risk(cfg, "risk.maxOrderSize", EXEC_LIMITS_SIZE_MULTIPLE, EXEC_LIMITS_DEFAULT_QTY,
                                EXEC_LIMITS_AMOUNT_MAX, &qty_def)) < 0 ||
        (rc = default_from_risk(cfg, "risk.maxOrderValue", EXEC_LIMITS_SIZE_MULTIPLE, EXEC_LIMITS_DEFAULT_NOTIONAL,
                                EXEC_LIMITS_AMOUNT_MAX, &notional_def)) < 0 ||
        (rc = default_from_risk(cfg, "risk.maxOrdersPerSecond", EXEC_LIMITS_RATE_MULTIPLE, EXEC_LIMITS_DEFAULT_RATE,
                                EXEC_LIMITS_RATE_MAX, &rate_def)) < 0 ||
        (rc = load_amount(cfg, "execution.limits.maxOrderQty", qty_def, &out->max_qty)) < 0 ||
        (rc = load_amount(cfg, "execution.limits.maxOrderNotional", notional_def, &out->max_notional)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.limits.maxOrdersPerSecond", (int64_t)ceil(rate_def), 1,
                                EXEC_LIMITS_RATE_MAX, &out->max_rate)) < 0 ||
        (rc = cfg_get_int_range(cfg, "execution.limits.maxOrdersPerSecondPerSymbol", out->max_rate, 1,
                                EXEC_LIMITS_RATE_MAX, &out->max_rate_symbol)) < 0)
        return rc;
    return load_symbols(cfg, out);
}

/* ---- symbols ------------------------------------------------------------------- */

static inline uint32_t sym_bucket(const char *symbol, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)symbol[i]) * 16777619u;
    return h & (BUCKETS - 1);
}

/* The slot of symbol (len bytes, 1..15), or -1; *at (if not NULL) is the
 * empty bucket where it would go. */
static int sym_find(const exec_limits_t *l, const char *symbol, size_t len, uint32_t *at)
{
    uint32_t b = sym_bucket(symbol, len);
    for (int32_t v; (v = l->hash[b]) != 0; b = (b + 1) & (BUCKETS - 1))
        if (memcmp(l->syms[v - 1].symbol, symbol, len + 1) == 0)
            return v - 1;
    if (at)
        *at = b;
    return -1;
}

static inline void bucket_fill(exec_bucket_t *b, int64_t rate)
{
    b->credit = rate * ORDER_UNIT;
    b->last_ns = INT64_MIN;
}

/* The slot of symbol, adding it if absent and there is room (and no
 * allow-list: then only the listed symbols have slots); -1 otherwise. */
static int sym_get(exec_limits_t *l, const char *symbol, size_t len, bool add)
{
    uint32_t b = 0;
    int slot = sym_find(l, symbol, len, &b);
    if (slot >= 0 || !add || l->nsyms == EXEC_LIMITS_MAX_SYMBOLS)
        return slot;
    exec_limits_symbol_t *y = &l->syms[l->nsyms];
    memset(y, 0, sizeof *y);
    memcpy(y->symbol, symbol, len + 1);
    bucket_fill(&y->rate, l->conf.max_rate_symbol);
    l->hash[b] = ++l->nsyms;
    return l->nsyms - 1;
}

/* ---- set-up -------------------------------------------------------------------- */

int exec_limits_init(exec_limits_t *l, const exec_limits_config_t *conf)
{
    memset(l, 0, sizeof *l);
    if (!(conf->max_qty > 0 && conf->max_qty <= EXEC_LIMITS_AMOUNT_MAX) ||
        !(conf->max_notional > 0 && conf->max_notional <= EXEC_LIMITS_AMOUNT_MAX) || conf->max_rate < 1 ||
        conf->max_rate > EXEC_LIMITS_RATE_MAX || conf->max_rate_symbol < 1 ||
        conf->max_rate_symbol > EXEC_LIMITS_RATE_MAX || conf->nsymbols < 0 || conf->nsymbols > EXEC_LIMITS_LIST_MAX)
        return se_err(-EINVAL, "execd limits: a limit is out of range (qty %g, notional %g, rates %lld and %lld, "
                               "%d symbols)", conf->max_qty, conf->max_notional, (long long)conf->max_rate,
                      (long long)conf->max_rate_symbol, conf->nsymbols);
    l->conf = *conf;
    l->syms = calloc(EXEC_LIMITS_MAX_SYMBOLS, sizeof *l->syms);
    l->hash = calloc(BUCKETS, sizeof *l->hash);
    if (!l->syms || !l->hash) {
        exec_limits_fini(l);
        return se_err(-ENOMEM, "execd limits: out of memory for the symbol table");
    }
    bucket_fill(&l->rate, conf->max_rate);
    for (int i = 0; i < conf->nsymbols; i++) {
        size_t len = strnlen(conf->symbols[i], SE_SYMBOL_MAX);
        if (len == 0 || len == SE_SYMBOL_MAX) {
            exec_limits_fini(l);
            return se_err(-EINVAL, "execd limits: allowed symbol %d is empty or unterminated", i);
        }
        sym_get(l, conf->symbols[i], len, true);
    }
    return 0;
}

void exec_limits_fini(exec_limits_t *l)
{
    free(l->syms);
    free(l->hash);
    memset(l, 0, sizeof *l);
}

/* ---- per record ---------------------------------------------------------------- */

static inline bool good_price(double x)
{
    return isfinite(x) && x > 0;
}

void exec_limits_on_quote(exec_limits_t *l, const se_in_rec_t *q)
{
    if (!l->syms || q->kind != SE_IN_QUOTE)
        return;
    bool ba = (q->flags & SE_QUOTE_HAS_BIDASK) && good_price(q->u.quote.ask);
    bool last = (q->flags & SE_QUOTE_HAS_LAST) && good_price(q->u.quote.last);
    size_t len = strnlen(q->symbol, SE_SYMBOL_MAX);
    if ((!ba && !last) || len == 0 || len == SE_SYMBOL_MAX)
        return;
    int slot = sym_get(l, q->symbol, len, l->conf.nsymbols == 0);
    if (slot < 0)
        return;
    exec_limits_symbol_t *y = &l->syms[slot];
    if (ba) {
        y->ask = q->u.quote.ask;
        y->has_ask = 1;
    }
    if (last) {
        y->last = q->u.quote.last;
        y->has_last = 1;
    }
}

/* Brings b up to now; a clock that went back (an injected one) adds nothing.
 * The difference is taken unsigned, so no instant can overflow it. */
static inline void bucket_refill(exec_bucket_t *b, int64_t rate, int64_t now)
{
    int64_t cap = rate * ORDER_UNIT; /* <= 1e15: no overflow */
    if (now == INT64_MIN)
        now++; /* INT64_MIN marks a bucket never refilled */
    if (b->last_ns != INT64_MIN && now <= b->last_ns)
        return; /* keep last_ns: time never runs backwards for the bucket */
    uint64_t dt = b->last_ns == INT64_MIN ? UINT64_MAX : (uint64_t)now - (uint64_t)b->last_ns;
    if (dt >= (uint64_t)ORDER_UNIT) {
        b->credit = cap;
    } else {
        int64_t more = (int64_t)dt * rate; /* < 1e9 x 1e6 */
        b->credit = b->credit + more < cap ? b->credit + more : cap;
    }
    b->last_ns = now;
}

exec_limit_t exec_limits_check(exec_limits_t *l, const se_order_rec_t *o, int64_t now_ns)
{
    if (o->action != SE_ACTION_NEW)
        return EXEC_LIMIT_OK;
    if (o->side != SE_SIDE_BUY && o->side != SE_SIDE_SELL)
        return EXEC_LIMIT_BAD_SIDE;
    if (o->order_type != SE_ORDER_MARKET && o->order_type != SE_ORDER_LIMIT)
        return EXEC_LIMIT_BAD_TYPE;
    if (!good_price(o->qty))
        return EXEC_LIMIT_BAD_QTY;
    /* A market order's price is optional: 0 (or -0) means "not set". */
    bool priced = o->order_type == SE_ORDER_LIMIT || o->price != 0;
    if (priced && !good_price(o->price))
        return EXEC_LIMIT_BAD_PRICE;
    size_t len = strnlen(o->symbol, SE_SYMBOL_MAX);
    if (len == 0 || len == SE_SYMBOL_MAX)
        return EXEC_LIMIT_BAD_SYMBOL;
    int slot = sym_get(l, o->symbol, len, l->conf.nsymbols == 0);
    if (slot < 0)
        return l->conf.nsymbols > 0 ? EXEC_LIMIT_SYMBOL_NOT_ALLOWED : EXEC_LIMIT_SYMBOL_TABLE_FULL;
    exec_limits_symbol_t *y = &l->syms[slot];
    if (!(o->qty <= l->conf.max_qty))
        return EXEC_LIMIT_MAX_QTY;
    double px = priced ? o->price : y->has_ask ? y->ask : y->has_last ? y->last : 0;
    if (px == 0)
        return EXEC_LIMIT_NO_PRICE;
    if (!(o->qty * px <= l->conf.max_notional)) /* an overflow to inf fails too */
        return EXEC_LIMIT_MAX_NOTIONAL;
    bucket_refill(&l->rate, l->conf.max_rate, now_ns);
    bucket_refill(&y->rate, l->conf.max_rate_symbol, now_ns);
    if (l->rate.credit < ORDER_UNIT)
        return EXEC_LIMIT_MAX_RATE;
    if (y->rate.credit < ORDER_UNIT)
        return EXEC_LIMIT_MAX_RATE_SYMBOL;
    l->rate.credit -= ORDER_UNIT;
    y->rate.credit -= ORDER_UNIT;
    return EXEC_LIMIT_OK;
}
