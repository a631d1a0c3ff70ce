/* validate.h -- the one validator every ingest feed (replay files, Redis market
 * data, NATS fills and positions) passes each JSON message through.
 * It turns one message into an `in` record (common/records.h) or says exactly why
 * the message was dropped: a small enum for the counters, a sentence for the log.
 *
 * What it accepts is the "External contracts" section of DESIGN.md, read strictly:
 *
 *  - JSON is RFC 8259 JSON. jsmn (compiled in its default, non-strict mode) only
 *    finds the token boundaries; a second pass checks the grammar between them:
 *    keys are strings, ':' and ',' where they belong, no trailing comma, no
 *    trailing garbage, numbers as the JSON grammar spells them (no "+1", "01",
 *    ".5", "0x10"), no raw control characters in strings. The one tolerance is
 *    the bare words NaN, Infinity, -Infinity, inf (any case, optional sign),
 *    which Python's json.dumps writes for non-finite floats: they are reported as
 *    VAL_NOT_FINITE in a numeric field rather than as VAL_BAD_JSON, so a
 *    producer with a NaN price is told apart from a producer that writes broken
 *    JSON. (That is why jsmn is not built with JSMN_STRICT, which would make them
 *    indistinguishable bad JSON.) In a field we ignore they are ignored.
 *  - At most VAL_MAX_TOKENS JSON tokens (objects, arrays, keys, values) per
 *    message; unknown fields are ignored but count. More → VAL_BAD_JSON.
 *  - Keys are matched byte for byte. A top-level key written with a backslash
 *    escape is refused (VAL_BAD_JSON): "sym\u0062ol" would otherwise be a second
 *    "symbol" that one parser sees and another does not.
 *  - Every top-level key at most once, known or not (VAL_DUPLICATE_FIELD).
 *  - Numbers: JSON numbers only; a quoted number, true, false or null in a numeric
 *    field is VAL_WRONG_TYPE (null does not mean "absent": leave the field out).
 *    Converted with strtod on a NUL-terminated copy of at most VAL_MAX_NUMBER
 *    bytes; a longer number token is VAL_BAD_JSON (a limit of ours, like the
 *    token limit). Overflow (1e999) is VAL_NOT_FINITE; underflow rounds toward 0
 *    (so 1e-999 as a price is "not > 0"). -0 is stored as +0.
 *  - `ts`: integer nanoseconds since the epoch, exact (never through a double).
 *    A fraction or exponent, a negative value or one beyond INT64_MAX is
 *    VAL_BAD_TIMESTAMP; a non-number is VAL_WRONG_TYPE; NaN/Infinity is
 *    VAL_NOT_FINITE. 0 is accepted and, like an absent ts, stored as 0.
 *  - Symbols: 1..15 bytes of [A-Za-z0-9._:/-], no escapes (VAL_BAD_SYMBOL).
 *  - Ids (fill_id, client_order_id, order_id): 1..47 bytes of printable ASCII
 *    without space (0x21..0x7e), no escapes (VAL_BAD_ID). They are opaque, but
 *    they are printed by shmtool and the logs and travel in gRPC strings, so
 *    nothing invisible, nothing multi-byte.
 *  - Checks run in a fixed order and the first failure is reported: length, JSON
 *    syntax, top level is an object, keys (escapes, duplicates), then each field
 *    in contract order (presence of a required field, its type, its value), then
 *    the rules between fields (bid and ask together, bid <= ask).
 *
 * Hot path: no allocation, no logging, no locks, no syscalls; about 1.5 KB of
 * stack. Every function is reentrant; the input is never read past len (it need
 * not be NUL-terminated, and a NUL byte inside it is bad JSON). */
#ifndef INGEST_VALIDATE_H
#define INGEST_VALIDATE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/records.h"

#define VAL_MAX_MESSAGE 4096 /* bytes; longer messages are VAL_TOO_LONG */
#define VAL_MAX_TOKENS  64   /* jsmn tokens per message (31 flat fields) */
#define VAL_MAX_NUMBER  63   /* bytes in one number token */
#define VAL_DETAIL_MAX  160  /* bytes of val_detail_t text, NUL included */

/* Why a message was dropped (or VAL_OK). Values are stable: counters and
 * metric labels are indexed by them. */
typedef enum {
    VAL_OK = 0,
    VAL_TOO_LONG,        /* message longer than VAL_MAX_MESSAGE bytes */
    VAL_BAD_JSON,        /* not parseable JSON (incl. trailing garbage, too many tokens, NUL byte) */
    VAL_NOT_OBJECT,      /* top level is not an object */
    VAL_MISSING_FIELD,   /* a required field is absent (symbol; bid+ask or last; fill/position required fields) */
    VAL_WRONG_TYPE,      /* a field has the wrong JSON type (string where a number is due, etc.) */
    VAL_NOT_FINITE,      /* NaN, Infinity, or a number that overflows a double */
    VAL_NEGATIVE,        /* a negative or zero price, negative size/volume, non-positive fill qty */
    VAL_CROSSED,         /* bid > ask */
    VAL_BAD_SYMBOL,      /* empty, longer than 15 bytes, or containing bytes outside [A-Za-z0-9._:/-] */
    VAL_BAD_ID,          /* fill_id / client_order_id / order_id empty or longer than 47 bytes */
    VAL_BAD_SIDE,        /* side not "buy"/"sell" (case-insensitive) */
    VAL_BAD_TIMESTAMP,   /* ts not an integer, negative, or not representable in int64 ns */
    VAL_DUPLICATE_FIELD, /* the same key twice */
    VAL__COUNT
} val_result_t;

/* What was wrong and where, for a log line, e.g.
 * "field 'bid': expected a number, got a string" or
 * "bad JSON at byte 17: expected ':' after a key". Always NUL-terminated. */
typedef struct {
    char text[VAL_DETAIL_MAX];
} val_detail_t;

/* Plain per-feed counters: ok, and drops indexed by val_result_t
 * (dropped[VAL_OK] stays 0). The feed owns it; not atomic, one writer. */
typedef struct {
    uint64_t ok;
    uint64_t dropped[VAL__COUNT];
} val_counts_t;

/* Returns the snake_case name of r ("ok", "too_long", "bad_json", ...), meant as
 * a metric label value. A static string; "unknown" for a value outside the enum. */
const char *val_result_name(val_result_t r);

/* True when s[0..len) is a symbol every validator accepts: 1-15 bytes of
 * [A-Za-z0-9._:/-]. For feeds that make their own symbols (synthetic). */
bool val_symbol_ok(const char *s, size_t len);

/* Validates one market-data message (msg, len bytes, need not be NUL-terminated;
 * msg may be NULL only when len is 0) and fills *out:
 *   kind = SE_IN_QUOTE; symbol (NUL-padded); u.quote.{bid, ask, bid_size,
 *   ask_size, last, volume} (0 when absent); flags SE_QUOTE_HAS_BIDASK,
 *   HAS_LAST, HAS_SIZES (either size present), HAS_VOLUME; ts_source_ns (0 when
 *   absent). ts_ingest_ns and source_seq are left 0 for the feed to set.
 * Rules: symbol required; both bid and ask (each > 0, bid <= ask) or last (> 0)
 * or all three; only one of bid/ask is VAL_MISSING_FIELD; sizes and volume >= 0;
 * unknown fields ignored.
 * *out is zeroed first, always; after a failure it holds a partial record that
 * must not be published. why may be NULL (then nothing is formatted, the
 * cheapest drop); otherwise why->text is set on failure and is "" on success.
 * Returns VAL_OK or the first reason to drop, in the order described above. */
val_result_t val_market_data(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why);

/* Validates one fill message, as val_market_data does, and fills *out:
 *   kind = SE_IN_FILL; symbol; u.fill.{fill_id, client_order_id, order_id ("" when
 *   absent), qty, price, side (SE_SIDE_BUY/SE_SIDE_SELL)}; ts_source_ns.
 * Required: fill_id, client_order_id, symbol, side ("buy"/"sell", any case),
 * qty (> 0), price (> 0). Optional: order_id, ts.
 * Same contract for out, why and the return value as val_market_data. */
val_result_t val_fill(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why);

/* Validates one position message, as val_market_data does, and fills *out:
 *   kind = SE_IN_POSITION; symbol; u.position.{qty, avg_price (0 when absent)};
 *   ts_source_ns.
 * Required: symbol, qty (any finite value: negative is short, 0 is flat).
 * Optional: avg_price (>= 0), ts.
 * Same contract for out, why and the return value as val_market_data. */
val_result_t val_position(const char *msg, size_t len, se_in_rec_t *out, val_detail_t *why);

/* Counts one validation result into c: ok for VAL_OK, dropped[r] otherwise.
 * A value outside the enum is not counted (it cannot come from this module). */
static inline void val_count(val_counts_t *c, val_result_t r)
{
    if (r == VAL_OK)
        c->ok++;
    else if ((unsigned)r < VAL__COUNT)
        c->dropped[r]++;
}

#endif
