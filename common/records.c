/* records.c -- text forms of the engine's records: JSON in the external
 * contracts' formats (shmtool tail/record, replay files) and signal lines. */
#include "common/records.h"

#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *p;
    size_t left;
    bool full;
} out_t;

__attribute__((format(printf, 2, 3))) static void put(out_t *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p, o->left, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->left) {
        o->full = true;
        return;
    }
    o->p += n;
    o->left -= (size_t)n;
}

/* Symbols and ids passed the validator's charset (no quotes or backslashes),
 * but records may come from anywhere: print only safe bytes. */
static void put_str(out_t *o, const char *key, const char *s, size_t max)
{
    put(o, "\"%s\":\"", key);
    for (size_t i = 0; i < max && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
            put(o, "\\u%04x", c);
        else
            put(o, "%c", c);
    }
    put(o, "\"");
}

static int finish(out_t *o, char *out, size_t size)
{
    if (o->full) {
        if (size)
            out[0] = '\0';
        return -ENOSPC;
    }
    return (int)(size - o->left);
}

int se_in_to_json(const se_in_rec_t *r, char *out, size_t size)
{
    out_t o = { out, size, size == 0 };
    put(&o, "{");
    switch (r->kind) {
    case SE_IN_QUOTE: {
        const se_quote_t *q = &r->u.quote;
        put_str(&o, "symbol", r->symbol, SE_SYMBOL_MAX);
        if (r->flags & SE_QUOTE_HAS_BIDASK)
            put(&o, ",\"bid\":%.17g,\"ask\":%.17g", q->bid, q->ask);
        if (r->flags & SE_QUOTE_HAS_SIZES)
            put(&o, ",\"bid_size\":%.17g,\"ask_size\":%.17g", q->bid_size, q->ask_size);
        if (r->flags & SE_QUOTE_HAS_LAST)
            put(&o, ",\"last\":%.17g", q->last);
        if (r->flags & SE_QUOTE_HAS_VOLUME)
            put(&o, ",\"volume\":%.17g", q->volume);
        break;
    }
    case SE_IN_FILL: {
        const se_fill_t *f = &r->u.fill;
        put_str(&o, "fill_id", f->fill_id, SE_ID_MAX);
        put(&o, ",");
        put_str(&o, "client_order_id", f->client_order_id, SE_ID_MAX);
        if (f->order_id[0]) { /* optional in the contract; an empty one would not validate */
            put(&o, ",");
            put_str(&o, "order_id", f->order_id, SE_ID_MAX);
        }
        put(&o, ",");
        put_str(&o, "symbol", r->symbol, SE_SYMBOL_MAX);
        put(&o, ",\"side\":\"%s\",\"qty\":%.17g,\"price\":%.17g",
            f->side == SE_SIDE_SELL ? "sell" : "buy", f->qty, f->price);
        break;
    }
    case SE_IN_POSITION:
        put_str(&o, "symbol", r->symbol, SE_SYMBOL_MAX);
        put(&o, ",\"qty\":%.17g,\"avg_price\":%.17g", r->u.position.qty, r->u.position.avg_price);
        break;
    default:
        put(&o, "\"kind\":%u", r->kind);
    }
    if (r->ts_source_ns)
        put(&o, ",\"ts\":%lld", (long long)r->ts_source_ns);
    put(&o, "}");
    return finish(&o, out, size);
}

int se_signal_to_text(const se_signal_rec_t *s, char *out, size_t size)
{
    out_t o = { out, size, size == 0 };
    char sym[SE_SYMBOL_MAX + 1], id[SE_ID_MAX + 1];
    snprintf(sym, sizeof sym, "%.*s", SE_SYMBOL_MAX, s->symbol);
    snprintf(id, sizeof id, "%.*s", SE_ID_MAX, s->client_order_id);
    if (s->action == SE_ACTION_CANCEL) {
        put(&o, "CANCEL %s id=%s", sym, id);
    } else if (s->action == SE_ACTION_SNAPSHOT) {
        put(&o, "SNAPSHOT? (asks riskd for positions and open orders)");
    } else {
        put(&o, "NEW %s %s %.10g %s", s->side == SE_SIDE_SELL ? "SELL" : "BUY",
            s->order_type == SE_ORDER_LIMIT ? "LIMIT" : "MARKET", s->qty, sym);
        if (s->order_type == SE_ORDER_LIMIT)
            put(&o, " @ %.10g", s->price);
        put(&o, " id=%s", id);
    }
    if (s->ts_ingest_ns && s->ts_strategy_ns)
        put(&o, " tick_to_signal_us=%.1f", (double)(s->ts_strategy_ns - s->ts_ingest_ns) / 1000.0);
    return finish(&o, out, size);
}

int se_exec_to_text(const se_exec_rec_t *e, char *out, size_t size)
{
    static const char *const kinds[] = { "?", "ACK", "REJECT", "CANCELLED", "FILL", "VENUE" };
    out_t o = { out, size, size == 0 };
    char sym[SE_SYMBOL_MAX + 1], id[SE_ID_MAX + 1], oid[SE_ID_MAX + 1], reason[SE_REASON_MAX + 1];
    snprintf(sym, sizeof sym, "%.*s", SE_SYMBOL_MAX, e->symbol);
    snprintf(id, sizeof id, "%.*s", SE_ID_MAX, e->client_order_id);
    snprintf(oid, sizeof oid, "%.*s", SE_ID_MAX, e->order_id);
    snprintf(reason, sizeof reason, "%.*s", SE_REASON_MAX, e->reason);
    put(&o, "%s", e->kind < sizeof kinds / sizeof kinds[0] ? kinds[e->kind] : "?");
    if (e->kind == SE_EXEC_VENUE) {
        put(&o, " %s", reason);
        return finish(&o, out, size);
    }
    if (e->action == SE_ACTION_CANCEL)
        put(&o, " (cancel)");
    put(&o, " %s %.10g %s id=%s", e->side == SE_SIDE_SELL ? "SELL" : "BUY", e->qty, sym, id);
    if (oid[0])
        put(&o, " order=%s", oid);
    if (e->kind == SE_EXEC_FILL)
        put(&o, " @ %.10g leaves=%.10g", e->price, e->leaves_qty);
    if (reason[0])
        put(&o, " reason=%s", reason);
    return finish(&o, out, size);
}

void se_exec_from_order(se_exec_rec_t *r, const se_order_rec_t *o, uint8_t kind)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->action = o->action;
    r->side = o->side;
    r->order_type = o->order_type;
    r->strategy_index = o->strategy_index;
    r->ts_ingest_ns = o->ts_ingest_ns;
    r->ts_strategy_ns = o->ts_strategy_ns;
    r->ts_risk_ns = o->ts_risk_ns;
    /* The order comes from shared memory: its strings are cut to a terminated field. */
    memcpy(r->symbol, o->symbol, strnlen(o->symbol, sizeof r->symbol - 1));
    memcpy(r->client_order_id, o->client_order_id, strnlen(o->client_order_id, sizeof r->client_order_id - 1));
    memcpy(r->strategy, o->strategy, strnlen(o->strategy, sizeof r->strategy - 1));
    r->qty = o->qty;
    r->price = o->price;
}

bool se_cancel_refusal_closes(const char *reason)
{
    static const char *const closing[] = { "already_filled", "already filled", "unknown_order", "unknown order" };

    if (!reason)
        return false;
    for (size_t i = 0; i < sizeof closing / sizeof closing[0]; i++)
        if (strncmp(reason, closing[i], SE_REASON_MAX) == 0)
            return true;
    return false;
}
