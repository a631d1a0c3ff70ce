/* validate.c -- ingest's message validator: strict JSON on top of jsmn's tokens,
 * then the field rules of the market-data, fill and position contracts.
 * Used by every ingest feed; see validate.h for what is accepted and why. */
#define JSMN_STATIC /* jsmn's functions become static to this file */
#include <jsmn.h>

#include "ingest/validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* jsmn counts positions in int and unsigned int; our limit keeps them small. */
_Static_assert(VAL_MAX_MESSAGE < (1 << 30), "message offsets fit jsmn's int");
_Static_assert(SE_SYMBOL_MAX == 16 && SE_ID_MAX == 48, "limits named in validate.h");

/* What a jsmn primitive token turned out to be (jsmn does not say). */
enum {
    PC_BAD = 0,   /* not a JSON value: bad JSON wherever it is */
    PC_INT,       /* a JSON number without fraction or exponent */
    PC_REAL,      /* a JSON number with a fraction and/or exponent */
    PC_TRUE,
    PC_FALSE,
    PC_NULL,
    PC_NONFINITE, /* NaN / Infinity / inf, any case, optional sign (see validate.h) */
};

/* One parsed message. Lives on the validator's stack; nothing in it is zeroed
 * up front (only what was written is read). */
typedef struct {
    const char *js;
    size_t len;
    val_detail_t *why;
    int ntok;
    int nkeys;
    jsmntok_t tok[VAL_MAX_TOKENS];
    uint8_t cls[VAL_MAX_TOKENS];  /* PC_* of each primitive token */
    int keys[VAL_MAX_TOKENS / 2]; /* token index of each top-level key; its value is the next token */
} doc_t;

/* A field of a contract: its key, spelled out for matching and for messages. */
typedef struct {
    const char *name;
    size_t len;
} field_t;
#define FIELD(s) { s, sizeof(s) - 1 }

/* How much of a token the detail text quotes. */
#define SHOW_MAX 24

/* ---- failure reports (the cold path) -------------------------------------- */

/* Formats the detail text (unless why is NULL) and returns r. Kept out of line
 * and marked cold so the accepting path stays small. */
__attribute__((cold, noinline, format(printf, 3, 4)))
static val_result_t fail(val_detail_t *why, val_result_t r, const char *fmt, ...)
{
    va_list ap;

    if (why != NULL) {
        va_start(ap, fmt);
        vsnprintf(why->text, sizeof why->text, fmt, ap);
        va_end(ap);
    }
    return r;
}

#define BAD_JSON(d, at, what) \
    fail((d)->why, VAL_BAD_JSON, "bad JSON at byte %zu: %s", (size_t)(at), (what))

/* Length of token t to quote in a message (at most SHOW_MAX bytes). */
static int show_len(const jsmntok_t *t)
{
    int n = t->end - t->start;
    return n > SHOW_MAX ? SHOW_MAX : n;
}

/* "a string", "true", ...: what a token is, for "expected X, got Y". */
static const char *type_name(const doc_t *d, int i)
{
    switch (d->tok[i].type) {
    case JSMN_OBJECT:
        return "an object";
    case JSMN_ARRAY:
        return "an array";
    case JSMN_STRING:
        return "a string";
    case JSMN_PRIMITIVE:
        switch (d->cls[i]) {
        case PC_TRUE:
            return "true";
        case PC_FALSE:
            return "false";
        case PC_NULL:
            return "null";
        default:
            return "a number";
        }
    default:
        return "nothing";
    }
}

/* ---- JSON syntax ---------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Classifies the primitive s[0..n): the JSON number grammar
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, the three literals, or one of
 * the non-finite words that Python and JavaScript producers write. */
static int classify(const char *s, size_t n)
{
    size_t i = 0;
    bool real = false;

    if (n > 0 && (s[0] == '-' || is_digit(s[0]))) {
        if (s[i] == '-')
            i++;
        if (i < n && s[i] == '0') {
            i++;
        } else if (i < n && s[i] >= '1' && s[i] <= '9') {
            while (i < n && is_digit(s[i]))
                i++;
        } else {
            goto word; /* "-Infinity", "-nan" */
        }
        if (i < n && s[i] == '.') {
            real = true;
            if (++i >= n || !is_digit(s[i]))
                return PC_BAD;
            while (i < n && is_digit(s[i]))
                i++;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
            real = true;
            if (++i < n && (s[i] == '+' || s[i] == '-'))
                i++;
            if (i >= n || !is_digit(s[i]))
                return PC_BAD;
            while (i < n && is_digit(s[i]))
                i++;
        }
        if (i != n)
            return PC_BAD;
        return real ? PC_REAL : PC_INT;
    }
word:
    if (n == 4 && memcmp(s, "true", 4) == 0)
        return PC_TRUE;
    if (n == 5 && memcmp(s, "false", 5) == 0)
        return PC_FALSE;
    if (n == 4 && memcmp(s, "null", 4) == 0)
        return PC_NULL;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        s++;
        n--;
    }
    if ((n == 3 && (strncasecmp(s, "nan", 3) == 0 || strncasecmp(s, "inf", 3) == 0)) ||
        (n == 8 && strncasecmp(s, "infinity", 8) == 0))
        return PC_NONFINITE;
    return PC_BAD;
}

static size_t skip_ws(const doc_t *d, size_t p)
{
    while (p < d->len && (d->js[p] == ' ' || d->js[p] == '\t' || d->js[p] == '\n' || d->js[p] == '\r'))
        p++;
    return p;
}

/* Checks that the string token i starts at p (its opening quote) and holds no
 * raw control character; returns the offset after its closing quote, or 0. */
static size_t walk_string(doc_t *d, int i, size_t p, val_result_t *r)
{
    const jsmntok_t *t = &d->tok[i];

    if (p >= d->len || d->js[p] != '"' || (size_t)t->start != p + 1) {
        *r = BAD_JSON(d, p, "unexpected character");
        return 0;
    }
    /* jsmn lets raw control characters through; RFC 8259 wants them escaped. */
    for (int k = t->start; k < t->end; k++) {
        if ((unsigned char)d->js[k] < 0x20) {
            *r = BAD_JSON(d, k, "raw control character in a string");
            return 0;
        }
    }
    return (size_t)t->end + 1;
}

/* Checks that the tokens from *ti on spell one JSON value starting at *pos
 * (after white space), and advances both past it. jsmn found the token
 * boundaries but accepts much that is not JSON ({"a" 1}, {"a":1,}, {a:1},
 * trailing bytes): here every byte between tokens must be white space or the
 * one punctuation mark the grammar wants there. depth 0 is the top level, whose
 * keys are recorded in d->keys. Recursion is bounded by VAL_MAX_TOKENS. */
static val_result_t walk(doc_t *d, int *ti, size_t *pos, int depth)
{
    size_t p = skip_ws(d, *pos);
    val_result_t r = VAL_OK;
    const jsmntok_t *t;
    int i;

    if (*ti >= d->ntok)
        return BAD_JSON(d, p, "expected a value");
    i = (*ti)++;
    t = &d->tok[i];
    switch (t->type) {
    case JSMN_STRING:
        if ((p = walk_string(d, i, p, &r)) == 0)
            return r;
        break;
    case JSMN_PRIMITIVE:
        if ((size_t)t->start != p)
            return BAD_JSON(d, p, "unexpected character");
        d->cls[i] = (uint8_t)classify(d->js + t->start, (size_t)(t->end - t->start));
        if (d->cls[i] == PC_BAD)
            return fail(d->why, VAL_BAD_JSON, "bad JSON at byte %zu: '%.*s' is not a JSON value", p,
                        show_len(t), d->js + t->start);
        p = (size_t)t->end;
        break;
    case JSMN_OBJECT:
    case JSMN_ARRAY: {
        const bool obj = t->type == JSMN_OBJECT;
        const char close = obj ? '}' : ']';

        if ((size_t)t->start != p)
            return BAD_JSON(d, p, "unexpected character");
        p = skip_ws(d, p + 1);
        if (p < d->len && d->js[p] == close)
            goto closed;
        for (;;) {
            if (obj) {
                int k = *ti;

                p = skip_ws(d, p);
                if (k >= d->ntok || d->tok[k].type != JSMN_STRING)
                    return BAD_JSON(d, p, "expected a string key");
                if ((p = walk_string(d, k, p, &r)) == 0)
                    return r;
                (*ti)++;
                if (depth == 0 && d->nkeys < VAL_MAX_TOKENS / 2)
                    d->keys[d->nkeys++] = k;
                p = skip_ws(d, p);
                if (p >= d->len || d->js[p] != ':')
                    return BAD_JSON(d, p, "expected ':' after a key");
                p++;
            }
            if ((r = walk(d, ti, &p, depth + 1)) != VAL_OK)
                return r;
            p = skip_ws(d, p);
            if (p < d->len && d->js[p] == ',') {
                p++;
                continue;
            }
            if (p < d->len && d->js[p] == close)
                break;
            return fail(d->why, VAL_BAD_JSON, "bad JSON at byte %zu: expected ',' or '%c'", p, close);
        }
    closed:
        /* The bracket we reached must be the one jsmn matched with ours. */
        if ((size_t)t->end != p + 1)
            return BAD_JSON(d, p, "mismatched bracket");
        p++;
        break;
    }
    default:
        return BAD_JSON(d, p, "unexpected token");
    }
    *pos = p;
    return VAL_OK;
}

/* Tokenises and checks msg; on VAL_OK, d holds a top-level object whose keys
 * are in d->keys. */
static val_result_t load(doc_t *d, const char *msg, size_t len, val_detail_t *why)
{
    jsmn_parser jp;
    size_t p = 0;
    int ti = 0, n;
    val_result_t r;

    d->js = msg;
    d->len = len;
    d->why = why;
    d->nkeys = 0;
    if (len > VAL_MAX_MESSAGE)
        return fail(why, VAL_TOO_LONG, "message is %zu bytes, limit %d", len, VAL_MAX_MESSAGE);
    if (len == 0)
        return fail(why, VAL_BAD_JSON, "bad JSON: empty message");
    jsmn_init(&jp);
    n = jsmn_parse(&jp, msg, len, d->tok, VAL_MAX_TOKENS);
    if (n < 0) {
        /* jsmn stops at a NUL byte as if the message ended there; say so,
         * rather than "truncated". */
        const char *nul = memchr(msg, '\0', len);

        if (nul != NULL)
            return BAD_JSON(d, nul - msg, "NUL byte inside the message");
        if (n == JSMN_ERROR_NOMEM)
            return fail(why, VAL_BAD_JSON, "bad JSON: too many fields (more than %d JSON tokens)",
                        VAL_MAX_TOKENS);
        if (n == JSMN_ERROR_INVAL)
            return BAD_JSON(d, jp.pos, "invalid character, escape or bracket");
        return BAD_JSON(d, jp.pos, "unexpected end of message (truncated, or an unclosed string, object or array)");
    }
    if (jp.pos < len) /* jsmn's loop ends at len or at a NUL */
        return BAD_JSON(d, jp.pos, "NUL byte inside the message");
    if (n == 0)
        return fail(why, VAL_BAD_JSON, "bad JSON: empty message");
    d->ntok = n;
    if ((r = walk(d, &ti, &p, 0)) != VAL_OK)
        return r;
    p = skip_ws(d, p);
    if (p != len || ti != n)
        return BAD_JSON(d, p, "trailing characters after the JSON value");
    if (d->tok[0].type != JSMN_OBJECT)
        return fail(why, VAL_NOT_OBJECT, "top level is %s, not an object", type_name(d, 0));
    return VAL_OK;
}

/* Matches the top-level keys against the contract's fields: val_of[f] becomes
 * the token index of field f's value, or -1. Refuses escaped keys and any key
 * seen twice (unknown keys included: a consumer that keeps the last one and one
 * that keeps the first must not disagree). */
static val_result_t collect(doc_t *d, const field_t *fields, int nfields, int *val_of)
{
    int unknown[VAL_MAX_TOKENS / 2];
    int nunknown = 0;

    for (int f = 0; f < nfields; f++)
        val_of[f] = -1;
    for (int k = 0; k < d->nkeys; k++) {
        const int ki = d->keys[k];
        const jsmntok_t *kt = &d->tok[ki];
        const char *s = d->js + kt->start;
        const size_t n = (size_t)(kt->end - kt->start);
        int f;

        if (memchr(s, '\\', n) != NULL)
            return fail(d->why, VAL_BAD_JSON,
                        "bad JSON at byte %d: key \"%.*s\" uses a backslash escape; keys are matched literally",
                        kt->start - 1, show_len(kt), s);
        for (f = 0; f < nfields; f++)
            if (fields[f].len == n && memcmp(fields[f].name, s, n) == 0)
                break;
        if (f < nfields) {
            if (val_of[f] >= 0)
                return fail(d->why, VAL_DUPLICATE_FIELD, "field '%s' appears twice (keys at bytes %d and %d)",
                            fields[f].name, d->tok[val_of[f] - 1].start - 1, kt->start - 1);
            val_of[f] = ki + 1;
            continue;
        }
        for (int u = 0; u < nunknown; u++) {
            const jsmntok_t *ut = &d->tok[unknown[u]];

            if ((size_t)(ut->end - ut->start) == n && memcmp(d->js + ut->start, s, n) == 0)
                return fail(d->why, VAL_DUPLICATE_FIELD, "field '%.*s' appears twice (keys at bytes %d and %d)",
                            show_len(kt), s, ut->start - 1, kt->start - 1);
        }
        unknown[nunknown++] = ki;
    }
    return VAL_OK;
}

/* ---- fields --------------------------------------------------------------- */

static val_result_t missing(const doc_t *d, const field_t *f)
{
    return fail(d->why, VAL_MISSING_FIELD, "missing field '%s'", f->name);
}

/* Bytes allowed in a symbol: [A-Za-z0-9._:/-]. */
static bool symbol_byte(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '/' || c == '-';
}

bool val_symbol_ok(const char *s, size_t len)
{
    if (len == 0 || len > SE_SYMBOL_MAX - 1)
        return false;
    for (size_t k = 0; k < len; k++)
        if (!symbol_byte((unsigned char)s[k]))
            return false;
    return true;
}

/* Copies the required symbol (value token vi, -1 when absent) into out, which
 * is zeroed, so the copy stays NUL-padded. */
static val_result_t get_symbol(const doc_t *d, const field_t *f, int vi, char out[SE_SYMBOL_MAX])
{
    const jsmntok_t *t;
    const char *s;
    size_t n;

    if (vi < 0)
        return missing(d, f);
    t = &d->tok[vi];
    if (t->type != JSMN_STRING)
        return fail(d->why, VAL_WRONG_TYPE, "field '%s': expected a string, got %s", f->name, type_name(d, vi));
    s = d->js + t->start;
    n = (size_t)(t->end - t->start);
    if (n == 0)
        return fail(d->why, VAL_BAD_SYMBOL, "field '%s': empty", f->name);
    if (memchr(s, '\\', n) != NULL)
        return fail(d->why, VAL_BAD_SYMBOL, "field '%s': \"%.*s\" contains a backslash escape", f->name,
                    show_len(t), s);
    if (n > SE_SYMBOL_MAX - 1)
        return fail(d->why, VAL_BAD_SYMBOL, "field '%s': %zu bytes, limit %d", f->name, n, SE_SYMBOL_MAX - 1);
    for (size_t k = 0; k < n; k++)
        if (!symbol_byte((unsigned char)s[k]))
            return fail(d->why, VAL_BAD_SYMBOL, "field '%s': byte 0x%02x at position %zu is not in [A-Za-z0-9._:/-]",
                        f->name, (unsigned char)s[k], k);
    memcpy(out, s, n);
    return VAL_OK;
}

/* Copies an id (value token vi; -1 when absent: VAL_MISSING_FIELD if required,
 * else out stays "") into out, which is zeroed. */
static val_result_t get_id(const doc_t *d, const field_t *f, int vi, bool required, char out[SE_ID_MAX])
{
    const jsmntok_t *t;
    const char *s;
    size_t n;

    if (vi < 0)
        return required ? missing(d, f) : VAL_OK;
    t = &d->tok[vi];
    if (t->type != JSMN_STRING)
        return fail(d->why, VAL_WRONG_TYPE, "field '%s': expected a string, got %s", f->name, type_name(d, vi));
    s = d->js + t->start;
    n = (size_t)(t->end - t->start);
    if (n == 0)
        return fail(d->why, VAL_BAD_ID, "field '%s': empty", f->name);
    if (memchr(s, '\\', n) != NULL)
        return fail(d->why, VAL_BAD_ID, "field '%s': \"%.*s\" contains a backslash escape", f->name, show_len(t), s);
    if (n > SE_ID_MAX - 1)
        return fail(d->why, VAL_BAD_ID, "field '%s': %zu bytes, limit %d", f->name, n, SE_ID_MAX - 1);
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)s[k] < 0x21 || (unsigned char)s[k] > 0x7e)
            return fail(d->why, VAL_BAD_ID, "field '%s': byte 0x%02x at position %zu is not printable ASCII",
                        f->name, (unsigned char)s[k], k);
    memcpy(out, s, n);
    return VAL_OK;
}

static val_result_t get_side(const doc_t *d, const field_t *f, int vi, uint8_t *out)
{
    const jsmntok_t *t;
    const char *s;
    size_t n;

    if (vi < 0)
        return missing(d, f);
    t = &d->tok[vi];
    if (t->type != JSMN_STRING)
        return fail(d->why, VAL_WRONG_TYPE, "field '%s': expected a string, got %s", f->name, type_name(d, vi));
    s = d->js + t->start;
    n = (size_t)(t->end - t->start);
    if (n == 3 && strncasecmp(s, "buy", 3) == 0)
        *out = SE_SIDE_BUY;
    else if (n == 4 && strncasecmp(s, "sell", 4) == 0)
        *out = SE_SIDE_SELL;
    else
        return fail(d->why, VAL_BAD_SIDE, "field '%s': \"%.*s\" is neither \"buy\" nor \"sell\"", f->name,
                    show_len(t), s);
    return VAL_OK;
}

/* What a numeric field may hold. */
typedef enum {
    NUM_ANY,      /* any finite number */
    NUM_POSITIVE, /* > 0: prices, fill quantities */
    NUM_NONNEG,   /* >= 0: sizes, volume, average price */
} num_rule_t;

/* Converts the numeric field (value token vi, -1 when absent: VAL_MISSING_FIELD
 * if required, else *out stays as it is) and applies rule. */
/* Converts the JSON number s[0..n) exactly as strtod would, when that is
 * one IEEE operation: a mantissa of at most 2^53 (exact in a double) scaled
 * by 10^k with |k| <= 22 (also exact), so the one multiplication or division
 * is correctly rounded, like strtod (Clinger's fast path). Most prices are
 * such numbers ("100.25"); strtod costs several times more. False when the
 * number is not (too many digits, a large exponent): use strtod then. */
static bool fast_decimal(const char *s, size_t n, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                     1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    size_t i = 0;
    bool neg = false;
    uint64_t m = 0;
    int digits = 0, scale = 0;

    if (i < n && s[i] == '-') {
        neg = true;
        i++;
    }
    for (; i < n && is_digit(s[i]); i++) {
        if (++digits > 19)
            return false;
        m = m * 10 + (uint64_t)(s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && is_digit(s[i]); i++) {
            if (++digits > 19)
                return false;
            m = m * 10 + (uint64_t)(s[i] - '0');
            scale--;
        }
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int sign = 1, e = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            sign = s[i++] == '-' ? -1 : 1;
        for (; i < n && is_digit(s[i]); i++) {
            if (e > 1000)
                return false;
            e = e * 10 + (s[i] - '0');
        }
        scale += sign * e;
    }
    if (i != n || digits == 0 || m > (1ull << 53) || scale < -22 || scale > 22)
        return false;
    double v = (double)m;
    v = scale < 0 ? v / pow10[-scale] : v * pow10[scale];
    *out = neg ? -v : v;
    return true;
}

static val_result_t get_number(const doc_t *d, const field_t *f, int vi, bool required, num_rule_t rule,
                               double *out)
{
    char buf[VAL_MAX_NUMBER + 1];
    const jsmntok_t *t;
    size_t n;
    char *end;
    double v;

    if (vi < 0)
        return required ? missing(d, f) : VAL_OK;
    t = &d->tok[vi];
    if (t->type != JSMN_PRIMITIVE || d->cls[vi] == PC_TRUE || d->cls[vi] == PC_FALSE || d->cls[vi] == PC_NULL)
        return fail(d->why, VAL_WRONG_TYPE, "field '%s': expected a number, got %s", f->name, type_name(d, vi));
    if (d->cls[vi] == PC_NONFINITE)
        return fail(d->why, VAL_NOT_FINITE, "field '%s': %.*s is not a finite number", f->name, show_len(t),
                    d->js + t->start);
    n = (size_t)(t->end - t->start);
    if (n > VAL_MAX_NUMBER)
        return fail(d->why, VAL_BAD_JSON, "bad JSON at byte %d: field '%s': number of %zu bytes, limit %d",
                    t->start, f->name, n, VAL_MAX_NUMBER);
    /* strtod wants a NUL-terminated string; the message is not one. */
    memcpy(buf, d->js + t->start, n);
    buf[n] = '\0';
    if (!fast_decimal(buf, n, &v)) {
        v = strtod(buf, &end);
        if (end != buf + n) /* cannot happen after classify(); kept as the last word */
            return fail(d->why, VAL_BAD_JSON, "bad JSON at byte %d: field '%s': '%s' is not a number", t->start,
                        f->name, buf);
    }
    if (!isfinite(v)) /* the grammar admits no inf/nan spelling, so this is overflow */
        return fail(d->why, VAL_NOT_FINITE, "field '%s': %.*s overflows a double", f->name, show_len(t), buf);
    if (v == 0)
        v = 0; /* -0 → +0 */
    if ((rule == NUM_POSITIVE && !(v > 0)) || (rule == NUM_NONNEG && v < 0))
        return fail(d->why, VAL_NEGATIVE, "field '%s': must be %s 0, got %.*s", f->name,
                    rule == NUM_POSITIVE ? ">" : ">=", show_len(t), buf);
    *out = v;
    return VAL_OK;
}

/* Parses the optional `ts` (value token vi) as exact int64 nanoseconds: digit
 * by digit, never through a double (which keeps 15-17 digits of a 19-digit
 * value). */
static val_result_t get_ts(const doc_t *d, const field_t *f, int vi, int64_t *out)
{
    const jsmntok_t *t;
    const char *s;
    uint64_t v = 0;
    int k;

    if (vi < 0)
        return VAL_OK;
    t = &d->tok[vi];
    if (t->type != JSMN_PRIMITIVE || d->cls[vi] == PC_TRUE || d->cls[vi] == PC_FALSE || d->cls[vi] == PC_NULL)
        return fail(d->why, VAL_WRONG_TYPE, "field '%s': expected an integer, got %s", f->name, type_name(d, vi));
    s = d->js + t->start;
    if (d->cls[vi] == PC_NONFINITE)
        return fail(d->why, VAL_NOT_FINITE, "field '%s': %.*s is not a finite number", f->name, show_len(t), s);
    if (d->cls[vi] == PC_REAL)
        return fail(d->why, VAL_BAD_TIMESTAMP, "field '%s': %.*s has a fraction or exponent; want integer nanoseconds",
                    f->name, show_len(t), s);
    /* PC_INT: -?digits, no leading zeros. */
    k = t->start + (s[0] == '-');
    for (; k < t->end; k++) {
        const unsigned digit = (unsigned)(d->js[k] - '0');

        if (v > ((uint64_t)INT64_MAX - digit) / 10)
            return fail(d->why, VAL_BAD_TIMESTAMP, "field '%s': %.*s is beyond int64 nanoseconds", f->name,
                        show_len(t), s);
        v = v * 10 + digit;
    }
    if (s[0] == '-' && v != 0)
        return fail(d->why, VAL_BAD_TIMESTAMP, "field '%s': %.*s is negative", f->name, show_len(t), s);
    *out = (int64_t)v;
    return VAL_OK;
}

static void ok_detail(val_detail_t *why)
{
    if (why != NULL)
        why->text[0] = '\0';
}

/* ---- the three contracts -------------------------------------------------- */

const char *val_result_name(val_result_t r)
{
    static const char *const names[VAL__COUNT] = {
        [VAL_OK] = "ok",
        [VAL_TOO_LONG] = "too_long",
        [VAL_BAD_JSON] = "bad_json",
        [VAL_NOT_OBJECT] = "not_object",
        [VAL_MISSING_FIELD] = "missing_field",
        [VAL_WRONG_TYPE] = "wrong_type",
        [VAL_NOT_FINITE] = "not_finite",
        [VAL_NEGATIVE] = "negative",
        [VAL_CROSSED] = "crossed",
        [VAL_BAD_SYMBOL] = "bad_symbol",
        [VAL_BAD_ID] = "bad_id",
        [VAL_BAD_SIDE] = "bad_side",
        [VAL_BAD_TIMESTAMP] = "bad_timestamp",
        [VAL_DUPLICATE_FIELD] = "duplicate_field",
    };

    if ((unsigned)r >= VAL__COUNT || names[r] == NULL)
        return "unknown";
    return names[r];
}

enum { MD_SYMBOL, MD_BID, MD_ASK, MD_LAST, MD_BID_SIZE, MD_ASK_SIZE, MD_VOLUME, MD_TS, MD__N };
static const field_t md_fields[MD__N] = {
    [MD_SYMBOL] = FIELD("symbol"),     [MD_BID] = FIELD("bid"),           [MD_ASK] = FIELD("ask"),
    [MD_LAST] = FIELD("last"),         [MD_BID_SIZE] = FIELD("bid_size"), [MD_ASK_SIZE] = FIELD("ask_size"),
    [MD_VOLUME] = FIELD("volume"),     [MD_TS] = FIELD("ts"),
};

val_result_t val_market_data(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why)
{
    se_quote_t *q = &out->u.quote;
    const field_t *F = md_fields;
    int v[MD__N];
    doc_t d;
    val_result_t r;

    memset(out, 0, sizeof *out);
    if ((r = load(&d, msg, len, why)) != VAL_OK || (r = collect(&d, F, MD__N, v)) != VAL_OK)
        return r;
    out->kind = SE_IN_QUOTE;
    if ((r = get_symbol(&d, &F[MD_SYMBOL], v[MD_SYMBOL], out->symbol)) != VAL_OK ||
        (r = get_number(&d, &F[MD_BID], v[MD_BID], false, NUM_POSITIVE, &q->bid)) != VAL_OK ||
        (r = get_number(&d, &F[MD_ASK], v[MD_ASK], false, NUM_POSITIVE, &q->ask)) != VAL_OK ||
        (r = get_number(&d, &F[MD_LAST], v[MD_LAST], false, NUM_POSITIVE, &q->last)) != VAL_OK ||
        (r = get_number(&d, &F[MD_BID_SIZE], v[MD_BID_SIZE], false, NUM_NONNEG, &q->bid_size)) != VAL_OK ||
        (r = get_number(&d, &F[MD_ASK_SIZE], v[MD_ASK_SIZE], false, NUM_NONNEG, &q->ask_size)) != VAL_OK ||
        (r = get_number(&d, &F[MD_VOLUME], v[MD_VOLUME], false, NUM_NONNEG, &q->volume)) != VAL_OK ||
        (r = get_ts(&d, &F[MD_TS], v[MD_TS], &out->ts_source_ns)) != VAL_OK)
        return r;
    if (v[MD_BID] >= 0 && v[MD_ASK] < 0)
        return fail(why, VAL_MISSING_FIELD, "missing field 'ask': 'bid' needs 'ask'");
    if (v[MD_ASK] >= 0 && v[MD_BID] < 0)
        return fail(why, VAL_MISSING_FIELD, "missing field 'bid': 'ask' needs 'bid'");
    if (v[MD_BID] < 0 && v[MD_LAST] < 0)
        return fail(why, VAL_MISSING_FIELD, "missing fields: need 'bid' and 'ask', or 'last'");
    if (q->bid > q->ask) {
        const jsmntok_t *b = &d.tok[v[MD_BID]], *a = &d.tok[v[MD_ASK]];

        return fail(why, VAL_CROSSED, "crossed quote: bid %.*s > ask %.*s", show_len(b), msg + b->start,
                    show_len(a), msg + a->start);
    }
    out->flags = (uint16_t)((v[MD_BID] >= 0 ? SE_QUOTE_HAS_BIDASK : 0) | (v[MD_LAST] >= 0 ? SE_QUOTE_HAS_LAST : 0) |
                            (v[MD_BID_SIZE] >= 0 || v[MD_ASK_SIZE] >= 0 ? SE_QUOTE_HAS_SIZES : 0) |
                            (v[MD_VOLUME] >= 0 ? SE_QUOTE_HAS_VOLUME : 0));
    ok_detail(why);
    return VAL_OK;
}

enum { FL_FILL_ID, FL_CLIENT_ORDER_ID, FL_ORDER_ID, FL_SYMBOL, FL_SIDE, FL_QTY, FL_PRICE, FL_TS, FL__N };
static const field_t fill_fields[FL__N] = {
    [FL_FILL_ID] = FIELD("fill_id"), [FL_CLIENT_ORDER_ID] = FIELD("client_order_id"),
    [FL_ORDER_ID] = FIELD("order_id"), [FL_SYMBOL] = FIELD("symbol"),
    [FL_SIDE] = FIELD("side"),       [FL_QTY] = FIELD("qty"),
    [FL_PRICE] = FIELD("price"),     [FL_TS] = FIELD("ts"),
};

val_result_t val_fill(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why)
{
    se_fill_t *fl = &out->u.fill;
    const field_t *F = fill_fields;
    int v[FL__N];
    doc_t d;
    val_result_t r;

    memset(out, 0, sizeof *out);
    if ((r = load(&d, msg, len, why)) != VAL_OK || (r = collect(&d, F, FL__N, v)) != VAL_OK)
        return r;
    out->kind = SE_IN_FILL;
    if ((r = get_id(&d, &F[FL_FILL_ID], v[FL_FILL_ID], true, fl->fill_id)) != VAL_OK ||
        (r = get_id(&d, &F[FL_CLIENT_ORDER_ID], v[FL_CLIENT_ORDER_ID], true, fl->client_order_id)) != VAL_OK ||
        (r = get_id(&d, &F[FL_ORDER_ID], v[FL_ORDER_ID], false, fl->order_id)) != VAL_OK ||
        (r = get_symbol(&d, &F[FL_SYMBOL], v[FL_SYMBOL], out->symbol)) != VAL_OK ||
        (r = get_side(&d, &F[FL_SIDE], v[FL_SIDE], &fl->side)) != VAL_OK ||
        (r = get_number(&d, &F[FL_QTY], v[FL_QTY], true, NUM_POSITIVE, &fl->qty)) != VAL_OK ||
        (r = get_number(&d, &F[FL_PRICE], v[FL_PRICE], true, NUM_POSITIVE, &fl->price)) != VAL_OK ||
        (r = get_ts(&d, &F[FL_TS], v[FL_TS], &out->ts_source_ns)) != VAL_OK)
        return r;
    ok_detail(why);
    return VAL_OK;
}

enum { PO_SYMBOL, PO_QTY, PO_AVG_PRICE, PO_TS, PO__N };
static const field_t pos_fields[PO__N] = {
    [PO_SYMBOL] = FIELD("symbol"),
    [PO_QTY] = FIELD("qty"),
    [PO_AVG_PRICE] = FIELD("avg_price"),
    [PO_TS] = FIELD("ts"),
};

val_result_t val_position(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why)
{
    se_position_t *po = &out->u.position;
    const field_t *F = pos_fields;
    int v[PO__N];
    doc_t d;
    val_result_t r;

    memset(out, 0, sizeof *out);
    if ((r = load(&d, msg, len, why)) != VAL_OK || (r = collect(&d, F, PO__N, v)) != VAL_OK)
        return r;
    out->kind = SE_IN_POSITION;
    if ((r = get_symbol(&d, &F[PO_SYMBOL], v[PO_SYMBOL], out->symbol)) != VAL_OK ||
        (r = get_number(&d, &F[PO_QTY], v[PO_QTY], true, NUM_ANY, &po->qty)) != VAL_OK ||
        (r = get_number(&d, &F[PO_AVG_PRICE], v[PO_AVG_PRICE], false, NUM_NONNEG, &po->avg_price)) != VAL_OK ||
        (r = get_ts(&d, &F[PO_TS], v[PO_TS], &out->ts_source_ns)) != VAL_OK)
        return r;
    ok_detail(why);
    return VAL_OK;
}
