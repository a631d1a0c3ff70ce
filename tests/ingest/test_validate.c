/* test_validate.c -- check suite for ingest/validate: every way a market-data,
 * fill or position message can be dropped (with its reason), the records that
 * good messages become, and that the validator never reads past len. */
#include "ingest/validate.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A message and its exact length (so NUL bytes can be part of one). */
#define LIT(s) s, sizeof(s) - 1

typedef val_result_t (*val_fn_t)(const char *, size_t, se_in_rec_t *, val_detail_t *);

/* A message that must be dropped: why (want), and a substring the detail text
 * must contain (where, or which field). */
typedef struct {
    const char *name;
    const char *msg;
    size_t len;
    val_result_t want;
    const char *hint;
} bad_t;

/* Calls fn with a record and a detail full of garbage, so that the test sees
 * whether the validator zeroed and set them. */
static val_result_t run(val_fn_t fn, const char *msg, size_t len, se_in_rec_t *rec, val_detail_t *why)
{
    memset(rec, 0xa5, sizeof *rec);
    memset(why->text, 'X', sizeof why->text);
    return fn(msg, len, rec, why);
}

static void check_bad(val_fn_t fn, const bad_t *c)
{
    se_in_rec_t rec;
    val_detail_t why;
    val_result_t r = run(fn, c->msg, c->len, &rec, &why);

    ck_assert_msg(memchr(why.text, '\0', sizeof why.text) != NULL, "%s: detail not NUL-terminated", c->name);
    ck_assert_msg(r == c->want, "%s: got %s, want %s (detail: %s)", c->name, val_result_name(r),
                  val_result_name(c->want), why.text);
    ck_assert_msg(why.text[0] != '\0', "%s: no detail text", c->name);
    ck_assert_msg(strstr(why.text, c->hint) != NULL, "%s: detail \"%s\" lacks \"%s\"", c->name, why.text, c->hint);
    /* The cheapest drop: no detail wanted, same verdict. */
    ck_assert_msg(fn(c->msg, c->len, &rec, NULL) == c->want, "%s: different verdict without detail", c->name);
}

/* ---- market data: bad inputs ---------------------------------------------- */

#define SYM "\"symbol\":\"BTC-USD\""

static const bad_t bad_md[] = {
    /* not JSON */
    { "empty message", LIT(""), VAL_BAD_JSON, "empty" },
    { "white space only", LIT(" \t\r\n "), VAL_BAD_JSON, "empty" },
    { "unterminated object", LIT("{" SYM ",\"last\":100.5"), VAL_BAD_JSON, "end of message" },
    { "unterminated string", LIT("{\"symbol\":\"BTC-USD"), VAL_BAD_JSON, "byte 10" },
    { "array closed by a brace", LIT("{" SYM ",\"last\":100.5,\"x\":[1,2}"), VAL_BAD_JSON, "bad JSON" },
    { "trailing garbage", LIT("{" SYM ",\"last\":100.5} x"), VAL_BAD_JSON, "byte 34: trailing" },
    { "two objects", LIT("{" SYM ",\"last\":1}{" SYM ",\"last\":2}"), VAL_BAD_JSON, "byte 29: trailing" },
    { "trailing comma", LIT("{" SYM ",\"last\":100.5,}"), VAL_BAD_JSON, "byte 33: expected a string key" },
    { "leading comma", LIT("{," SYM ",\"last\":100.5}"), VAL_BAD_JSON, "byte 1" },
    { "missing colon", LIT("{\"symbol\" \"BTC-USD\",\"last\":100.5}"), VAL_BAD_JSON, "byte 10: expected ':'" },
    { "missing comma", LIT("{" SYM " \"last\":100.5}"), VAL_BAD_JSON, "byte 20: expected ',' or '}'" },
    { "unquoted key", LIT("{symbol:\"BTC-USD\",\"last\":100.5}"), VAL_BAD_JSON, "byte 1: expected a string key" },
    { "single-quoted string", LIT("{\"symbol\":'BTC-USD',\"last\":100.5}"), VAL_BAD_JSON, "'BTC-USD'" },
    { "bare word as a value", LIT("{" SYM ",\"last\":abc}"), VAL_BAD_JSON, "'abc' is not a JSON value" },
    { "number with a leading zero", LIT("{" SYM ",\"last\":0100.5}"), VAL_BAD_JSON, "'0100.5'" },
    { "number with a plus sign", LIT("{" SYM ",\"last\":+100.5}"), VAL_BAD_JSON, "'+100.5'" },
    { "number with a leading dot", LIT("{" SYM ",\"last\":.5}"), VAL_BAD_JSON, "'.5'" },
    { "number with a trailing dot", LIT("{" SYM ",\"last\":100.}"), VAL_BAD_JSON, "'100.'" },
    { "number with an empty exponent", LIT("{" SYM ",\"last\":1e}"), VAL_BAD_JSON, "'1e'" },
    { "hexadecimal number", LIT("{" SYM ",\"last\":0x10}"), VAL_BAD_JSON, "'0x10'" },
    { "two values for one key", LIT("{" SYM ",\"last\":1:2}"), VAL_BAD_JSON, "bad JSON" },
    { "invalid escape in a string", LIT("{\"symbol\":\"BTC\\x\",\"last\":1}"), VAL_BAD_JSON, "byte 10" },
    { "truncated unicode escape", LIT("{\"symbol\":\"B\\u00\",\"last\":1}"), VAL_BAD_JSON, "bad JSON" },
    { "raw tab inside a string", LIT("{\"symbol\":\"BTC\tUSD\",\"last\":1}"), VAL_BAD_JSON, "byte 14: raw control" },
    { "mismatched brackets", LIT("{" SYM ",\"x\":[1},\"last\":1}"), VAL_BAD_JSON, "bad JSON" },
    { "closing bracket only", LIT("}"), VAL_BAD_JSON, "byte 0" },
    { "NUL byte between fields", LIT("{" SYM ",\0\"last\":100.5}"), VAL_BAD_JSON, "byte 20: NUL" },
    { "NUL byte inside a string", LIT("{\"symbol\":\"BTC\0USD\",\"last\":1}"), VAL_BAD_JSON, "byte 14: NUL" },
    { "NUL byte after the object", LIT("{" SYM ",\"last\":1}\0"), VAL_BAD_JSON, "byte 29: NUL" },
    { "non-ASCII byte in a number", LIT("{" SYM ",\"last\":1\xc3\xa9}"), VAL_BAD_JSON, "bad JSON" },
    { "key spelled with an escape", LIT("{\"sym\\u0062ol\":\"BTC-USD\",\"last\":1}"), VAL_BAD_JSON,
      "backslash escape" },
    { "number longer than 63 bytes",
      LIT("{" SYM ",\"last\":100.5000000000000000000000000000000000000000000000000000000000000001}"),
      VAL_BAD_JSON, "field 'last': number of 68 bytes, limit 63" },
    /* not an object */
    { "array at the top level", LIT("[1,2]"), VAL_NOT_OBJECT, "an array" },
    { "object inside an array", LIT("[{" SYM ",\"last\":1}]"), VAL_NOT_OBJECT, "an array" },
    { "string at the top level", LIT("\"BTC-USD\""), VAL_NOT_OBJECT, "a string" },
    { "number at the top level", LIT("42"), VAL_NOT_OBJECT, "a number" },
    { "null at the top level", LIT(" null "), VAL_NOT_OBJECT, "null" },
    /* missing fields */
    { "empty object", LIT("{}"), VAL_MISSING_FIELD, "'symbol'" },
    { "missing symbol", LIT("{\"bid\":100.5,\"ask\":100.6}"), VAL_MISSING_FIELD, "'symbol'" },
    { "only bid", LIT("{" SYM ",\"bid\":100.5}"), VAL_MISSING_FIELD, "'ask'" },
    { "only ask", LIT("{" SYM ",\"ask\":100.6}"), VAL_MISSING_FIELD, "'bid'" },
    { "only bid, with last", LIT("{" SYM ",\"bid\":100.5,\"last\":100.5}"), VAL_MISSING_FIELD, "'ask'" },
    { "no price at all", LIT("{" SYM ",\"bid_size\":1,\"volume\":2}"), VAL_MISSING_FIELD, "'last'" },
    /* wrong JSON types */
    { "string price", LIT("{" SYM ",\"bid\":\"100.5\",\"ask\":100.6}"), VAL_WRONG_TYPE,
      "field 'bid': expected a number, got a string" },
    { "true as a price", LIT("{" SYM ",\"last\":true}"), VAL_WRONG_TYPE, "field 'last': expected a number, got true" },
    { "false as a price", LIT("{" SYM ",\"last\":false}"), VAL_WRONG_TYPE, "got false" },
    { "null as a price", LIT("{" SYM ",\"bid\":100.5,\"ask\":null}"), VAL_WRONG_TYPE, "field 'ask': expected a number, got null" },
    { "object as a price", LIT("{" SYM ",\"last\":{\"v\":1}}"), VAL_WRONG_TYPE, "got an object" },
    { "array as a price", LIT("{" SYM ",\"last\":[100.5]}"), VAL_WRONG_TYPE, "got an array" },
    { "null as an optional volume", LIT("{" SYM ",\"last\":1,\"volume\":null}"), VAL_WRONG_TYPE, "'volume'" },
    { "string size", LIT("{" SYM ",\"last\":1,\"bid_size\":\"1\"}"), VAL_WRONG_TYPE, "'bid_size'" },
    { "number as the symbol", LIT("{\"symbol\":42,\"last\":1}"), VAL_WRONG_TYPE, "field 'symbol': expected a string, got a number" },
    { "null as the symbol", LIT("{\"symbol\":null,\"last\":1}"), VAL_WRONG_TYPE, "got null" },
    { "string ts", LIT("{" SYM ",\"last\":1,\"ts\":\"1732400000000000000\"}"), VAL_WRONG_TYPE, "field 'ts'" },
    { "true as ts", LIT("{" SYM ",\"last\":1,\"ts\":true}"), VAL_WRONG_TYPE, "field 'ts'" },
    /* not finite */
    { "NaN price", LIT("{" SYM ",\"bid\":NaN,\"ask\":100.6}"), VAL_NOT_FINITE, "field 'bid': NaN is not a finite" },
    { "lower-case nan", LIT("{" SYM ",\"last\":nan}"), VAL_NOT_FINITE, "'last'" },
    { "Infinity price", LIT("{" SYM ",\"bid\":100.5,\"ask\":Infinity}"), VAL_NOT_FINITE, "field 'ask': Infinity" },
    { "-Infinity price", LIT("{" SYM ",\"last\":-Infinity}"), VAL_NOT_FINITE, "-Infinity" },
    { "+Infinity price", LIT("{" SYM ",\"last\":+Infinity}"), VAL_NOT_FINITE, "+Infinity" },
    { "inf price", LIT("{" SYM ",\"last\":inf}"), VAL_NOT_FINITE, "'last'" },
    { "1e999 overflows", LIT("{" SYM ",\"last\":1e999}"), VAL_NOT_FINITE, "field 'last': 1e999 overflows" },
    { "-1e999 overflows", LIT("{" SYM ",\"bid\":-1e999,\"ask\":1}"), VAL_NOT_FINITE, "overflows" },
    { "NaN volume", LIT("{" SYM ",\"last\":1,\"volume\":NaN}"), VAL_NOT_FINITE, "'volume'" },
    { "NaN ts", LIT("{" SYM ",\"last\":1,\"ts\":NaN}"), VAL_NOT_FINITE, "'ts'" },
    /* negative or zero */
    { "negative bid", LIT("{" SYM ",\"bid\":-100.5,\"ask\":100.6}"), VAL_NEGATIVE, "field 'bid': must be > 0, got -100.5" },
    { "zero ask", LIT("{" SYM ",\"bid\":100.5,\"ask\":0}"), VAL_NEGATIVE, "field 'ask': must be > 0" },
    { "negative zero bid", LIT("{" SYM ",\"bid\":-0.0,\"ask\":100.6}"), VAL_NEGATIVE, "'bid'" },
    { "negative last", LIT("{" SYM ",\"last\":-1}"), VAL_NEGATIVE, "'last'" },
    { "zero last", LIT("{" SYM ",\"last\":0.0}"), VAL_NEGATIVE, "'last'" },
    { "last that underflows to zero", LIT("{" SYM ",\"last\":1e-400}"), VAL_NEGATIVE, "'last'" },
    { "negative bid_size", LIT("{" SYM ",\"last\":1,\"bid_size\":-1}"), VAL_NEGATIVE, "field 'bid_size': must be >= 0" },
    { "negative ask_size", LIT("{" SYM ",\"last\":1,\"ask_size\":-0.5}"), VAL_NEGATIVE, "'ask_size'" },
    { "negative volume", LIT("{" SYM ",\"last\":1,\"volume\":-12}"), VAL_NEGATIVE, "'volume'" },
    /* crossed */
    { "bid above ask", LIT("{" SYM ",\"bid\":100.7,\"ask\":100.6}"), VAL_CROSSED, "bid 100.7 > ask 100.6" },
    { "bid above ask by one ulp", LIT("{" SYM ",\"bid\":100.60000000000001,\"ask\":100.6}"), VAL_CROSSED, "crossed" },
    /* bad symbols */
    { "16-byte symbol", LIT("{\"symbol\":\"ABCDEFGHIJKLMNOP\",\"last\":1}"), VAL_BAD_SYMBOL, "16 bytes, limit 15" },
    { "empty symbol", LIT("{\"symbol\":\"\",\"last\":1}"), VAL_BAD_SYMBOL, "field 'symbol': empty" },
    { "symbol with a space", LIT("{\"symbol\":\"BTC USD\",\"last\":1}"), VAL_BAD_SYMBOL, "0x20 at position 3" },
    { "symbol with a unicode escape", LIT("{\"symbol\":\"BTC\\u002dUSD\",\"last\":1}"), VAL_BAD_SYMBOL, "escape" },
    { "symbol with an escaped slash", LIT("{\"symbol\":\"BTC\\/USD\",\"last\":1}"), VAL_BAD_SYMBOL, "escape" },
    { "symbol with an escaped quote", LIT("{\"symbol\":\"BTC\\\"\",\"last\":1}"), VAL_BAD_SYMBOL, "escape" },
    { "symbol with a non-ASCII byte", LIT("{\"symbol\":\"BTC\xe2\x82\xac\",\"last\":1}"), VAL_BAD_SYMBOL, "0xe2" },
    { "symbol with a hash", LIT("{\"symbol\":\"BTC#1\",\"last\":1}"), VAL_BAD_SYMBOL, "0x23" },
    /* bad timestamps */
    { "fractional ts", LIT("{" SYM ",\"last\":1,\"ts\":1732400000000000000.5}"), VAL_BAD_TIMESTAMP,
      "field 'ts': 1732400000000000000.5 has a fraction" },
    { "ts with an exponent", LIT("{" SYM ",\"last\":1,\"ts\":1.7324e18}"), VAL_BAD_TIMESTAMP, "exponent" },
    { "integral ts with an exponent", LIT("{" SYM ",\"last\":1,\"ts\":1e3}"), VAL_BAD_TIMESTAMP, "exponent" },
    { "negative ts", LIT("{" SYM ",\"last\":1,\"ts\":-1}"), VAL_BAD_TIMESTAMP, "field 'ts': -1 is negative" },
    { "ts one beyond int64", LIT("{" SYM ",\"last\":1,\"ts\":9223372036854775808}"), VAL_BAD_TIMESTAMP,
      "beyond int64" },
    { "ts far beyond int64", LIT("{" SYM ",\"last\":1,\"ts\":99999999999999999999999}"), VAL_BAD_TIMESTAMP,
      "beyond int64" },
    { "ts far below int64", LIT("{" SYM ",\"last\":1,\"ts\":-9223372036854775809}"), VAL_BAD_TIMESTAMP, "'ts'" },
    /* duplicates */
    { "symbol twice", LIT("{" SYM ",\"last\":1," SYM "}"), VAL_DUPLICATE_FIELD,
      "field 'symbol' appears twice (keys at bytes 1 and 29)" },
    { "bid twice with one value", LIT("{" SYM ",\"bid\":1,\"ask\":2,\"bid\":1}"), VAL_DUPLICATE_FIELD, "'bid'" },
    { "unknown key twice", LIT("{" SYM ",\"last\":1,\"venue\":\"a\",\"venue\":\"b\"}"), VAL_DUPLICATE_FIELD,
      "'venue'" },
};

START_TEST(market_data_should_drop_each_bad_input_with_its_reason)
{
    check_bad(val_market_data, &bad_md[_i]);
}
END_TEST

/* ---- market data: good inputs --------------------------------------------- */

typedef struct {
    const char *name;
    const char *msg;
    size_t len;
    const char *symbol;
    uint16_t flags;
    double bid, ask, bid_size, ask_size, last, volume;
    int64_t ts;
} good_md_t;

#define BA SE_QUOTE_HAS_BIDASK
#define LA SE_QUOTE_HAS_LAST
#define SZ SE_QUOTE_HAS_SIZES
#define VO SE_QUOTE_HAS_VOLUME

static const good_md_t good_md[] = {
    { "the contract's example",
      LIT("{\"symbol\":\"BTC-USD\",\"bid\":100.50,\"ask\":100.60,\"bid_size\":1.5,\"ask_size\":2.0,"
          "\"last\":100.55,\"volume\":12.0,\"ts\":1732400000000000000}"),
      "BTC-USD", BA | LA | SZ | VO, 100.50, 100.60, 1.5, 2.0, 100.55, 12.0, 1732400000000000000 },
    { "quote only", LIT("{\"symbol\":\"ETH-USD\",\"bid\":3000.25,\"ask\":3000.5}"),
      "ETH-USD", BA, 3000.25, 3000.5, 0, 0, 0, 0, 0 },
    { "last only", LIT("{\"symbol\":\"ETH-USD\",\"last\":3000.3}"), "ETH-USD", LA, 0, 0, 0, 0, 3000.3, 0, 0 },
    { "bid equal to ask", LIT("{\"symbol\":\"X\",\"bid\":7,\"ask\":7}"), "X", BA, 7, 7, 0, 0, 0, 0, 0 },
    { "exact 15-byte symbol", LIT("{\"symbol\":\"ABCDEFGHIJKLMNO\",\"last\":1}"),
      "ABCDEFGHIJKLMNO", LA, 0, 0, 0, 0, 1, 0, 0 },
    { "every symbol punctuation", LIT("{\"symbol\":\"a.b_c:d/e-F9\",\"last\":1}"),
      "a.b_c:d/e-F9", LA, 0, 0, 0, 0, 1, 0, 0 },
    { "max int64 ts exactly", LIT("{\"symbol\":\"X\",\"last\":1,\"ts\":9223372036854775807}"),
      "X", LA, 0, 0, 0, 0, 1, 0, INT64_MAX },
    { "ts kept to the last nanosecond", LIT("{\"symbol\":\"X\",\"last\":1,\"ts\":1732400000000000001}"),
      "X", LA, 0, 0, 0, 0, 1, 0, 1732400000000000001 },
    { "zero ts", LIT("{\"symbol\":\"X\",\"last\":1,\"ts\":0}"), "X", LA, 0, 0, 0, 0, 1, 0, 0 },
    { "negative zero ts", LIT("{\"symbol\":\"X\",\"last\":1,\"ts\":-0}"), "X", LA, 0, 0, 0, 0, 1, 0, 0 },
    { "unknown fields of every type",
      LIT("{\"venue\":\"cb\",\"symbol\":\"X\",\"seq\":17,\"book\":{\"levels\":[[1,2],[3,4]],\"x\":null},"
          "\"last\":2.5,\"ok\":true,\"no\":false,\"nothing\":null,\"weird\":NaN,\"list\":[],\"obj\":{}}"),
      "X", LA, 0, 0, 0, 0, 2.5, 0, 0 },
    { "white space everywhere",
      LIT(" \r\n\t{ \"symbol\" :\t\"X\" ,\n\"bid\" : 1.25 , \"ask\":1.5\r\n,\"ts\" : 5 } \n"),
      "X", BA, 1.25, 1.5, 0, 0, 0, 0, 5 },
    { "fields in any order", LIT("{\"ts\":9,\"volume\":3,\"ask\":2,\"last\":1.5,\"bid\":1,\"symbol\":\"X\"}"),
      "X", BA | LA | VO, 1, 2, 0, 0, 1.5, 3, 9 },
    { "one size is enough for the sizes flag", LIT("{\"symbol\":\"X\",\"last\":1,\"ask_size\":4}"),
      "X", LA | SZ, 0, 0, 0, 4, 1, 0, 0 },
    { "zero sizes and volume", LIT("{\"symbol\":\"X\",\"last\":1,\"bid_size\":0,\"ask_size\":0.0,\"volume\":0}"),
      "X", LA | SZ | VO, 0, 0, 0, 0, 1, 0, 0 },
    { "exponents and integers", LIT("{\"symbol\":\"X\",\"bid\":1.005E2,\"ask\":101,\"volume\":25e-1}"),
      "X", BA | VO, 100.5, 101, 0, 0, 0, 2.5, 0 },
    { "negative zero size is stored as zero", LIT("{\"symbol\":\"X\",\"last\":1,\"bid_size\":-0.0}"),
      "X", LA | SZ, 0, 0, 0, 0, 1, 0, 0 },
    { "escapes in an unknown field", LIT("{\"symbol\":\"X\",\"note\":\"a\\\"b\\\\c\\u00e9\\n\",\"last\":1}"),
      "X", LA, 0, 0, 0, 0, 1, 0, 0 },
};

/* Compares every field of rec with want, then every byte (padding, the
 * feed's fields and the unused tail of the union must be zero). */
static void check_record(const char *name, const se_in_rec_t *rec, const se_in_rec_t *want)
{
    ck_assert_msg(rec->kind == want->kind, "%s: kind %u", name, rec->kind);
    ck_assert_msg(rec->flags == want->flags, "%s: flags 0x%x, want 0x%x", name, rec->flags, want->flags);
    ck_assert_msg(rec->source_seq == 0 && rec->ts_ingest_ns == 0, "%s: feed fields set", name);
    ck_assert_msg(rec->ts_source_ns == want->ts_source_ns, "%s: ts %lld, want %lld", name,
                  (long long)rec->ts_source_ns, (long long)want->ts_source_ns);
    ck_assert_msg(memcmp(rec->symbol, want->symbol, sizeof rec->symbol) == 0, "%s: symbol '%.16s'", name, rec->symbol);
    ck_assert_msg(memcmp(rec, want, sizeof *rec) == 0, "%s: record differs from the expected bytes", name);
}

START_TEST(market_data_should_turn_each_good_input_into_its_record)
{
    const good_md_t *c = &good_md[_i];
    se_in_rec_t rec, want;
    val_detail_t why;
    val_result_t r = run(val_market_data, c->msg, c->len, &rec, &why);

    ck_assert_msg(r == VAL_OK, "%s: %s (%s)", c->name, val_result_name(r), why.text);
    ck_assert_msg(why.text[0] == '\0', "%s: detail not cleared", c->name);
    memset(&want, 0, sizeof want);
    want.kind = SE_IN_QUOTE;
    want.flags = c->flags;
    want.ts_source_ns = c->ts;
    strcpy(want.symbol, c->symbol);
    want.u.quote = (se_quote_t){ .bid = c->bid, .ask = c->ask, .bid_size = c->bid_size, .ask_size = c->ask_size,
                                 .last = c->last, .volume = c->volume };
    ck_assert_msg(rec.u.quote.bid == c->bid && rec.u.quote.ask == c->ask, "%s: bid %.17g ask %.17g", c->name,
                  rec.u.quote.bid, rec.u.quote.ask);
    ck_assert_msg(rec.u.quote.bid_size == c->bid_size && rec.u.quote.ask_size == c->ask_size,
                  "%s: sizes %.17g %.17g", c->name, rec.u.quote.bid_size, rec.u.quote.ask_size);
    ck_assert_msg(rec.u.quote.last == c->last && rec.u.quote.volume == c->volume, "%s: last %.17g volume %.17g",
                  c->name, rec.u.quote.last, rec.u.quote.volume);
    ck_assert_msg(!signbit(rec.u.quote.bid_size), "%s: -0 kept", c->name);
    check_record(c->name, &rec, &want);
    ck_assert_int_eq(val_market_data(c->msg, c->len, &rec, NULL), VAL_OK);
}
END_TEST

/* ---- market data: limits -------------------------------------------------- */

/* Builds {"symbol":"X","last":1,"pad":"xxx..."} of exactly n bytes into buf. */
static size_t padded_message(char *buf, size_t n)
{
    static const char head[] = "{\"symbol\":\"X\",\"last\":1,\"pad\":\"";
    size_t h = sizeof head - 1;

    memcpy(buf, head, h);
    memset(buf + h, 'x', n - h - 2);
    memcpy(buf + n - 2, "\"}", 2);
    return n;
}

START_TEST(market_data_should_take_exactly_4096_bytes_and_drop_4097)
{
    static char buf[VAL_MAX_MESSAGE + 2];
    se_in_rec_t rec;
    val_detail_t why;

    ck_assert_int_eq(run(val_market_data, buf, padded_message(buf, VAL_MAX_MESSAGE), &rec, &why), VAL_OK);
    ck_assert_str_eq(rec.symbol, "X");
    ck_assert_int_eq(run(val_market_data, buf, padded_message(buf, VAL_MAX_MESSAGE + 1), &rec, &why), VAL_TOO_LONG);
    ck_assert_str_eq(why.text, "message is 4097 bytes, limit 4096");
    ck_assert_int_eq(run(val_market_data, buf, SIZE_MAX, &rec, &why), VAL_TOO_LONG);
}
END_TEST

/* {"symbol":"X","last":1,"a":[0,0,...]} with n array elements: 7 + n tokens. */
static size_t token_message(char *buf, size_t size, int n)
{
    size_t len = (size_t)snprintf(buf, size, "{\"symbol\":\"X\",\"last\":1,\"a\":[");

    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, size - len, i ? ",0" : "0");
    len += (size_t)snprintf(buf + len, size - len, "]}");
    return len;
}

START_TEST(market_data_should_take_64_tokens_and_drop_65_as_too_many_fields)
{
    char buf[512];
    se_in_rec_t rec;
    val_detail_t why;

    ck_assert_int_eq(run(val_market_data, buf, token_message(buf, sizeof buf, VAL_MAX_TOKENS - 7), &rec, &why),
                     VAL_OK);
    ck_assert_int_eq(run(val_market_data, buf, token_message(buf, sizeof buf, VAL_MAX_TOKENS - 6), &rec, &why),
                     VAL_BAD_JSON);
    ck_assert_msg(strstr(why.text, "too many fields") != NULL, "%s", why.text);
}
END_TEST

START_TEST(market_data_should_drop_too_many_flat_fields)
{
    char buf[1024];
    size_t len = (size_t)snprintf(buf, sizeof buf, "{\"symbol\":\"X\",\"last\":1");
    se_in_rec_t rec;
    val_detail_t why;

    /* 2 + 29 fields = 63 tokens: fine; one more field = 65. */
    for (int i = 0; i < 29; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, ",\"x%d\":%d", i, i);
    buf[len] = '}';
    ck_assert_int_eq(run(val_market_data, buf, len + 1, &rec, &why), VAL_OK);
    len += (size_t)snprintf(buf + len, sizeof buf - len, ",\"x29\":29}");
    ck_assert_int_eq(run(val_market_data, buf, len, &rec, &why), VAL_BAD_JSON);
    ck_assert_msg(strstr(why.text, "too many fields") != NULL, "%s", why.text);
}
END_TEST

START_TEST(market_data_should_stop_at_len_not_at_the_end_of_the_buffer)
{
    static const char full[] = "{\"symbol\":\"X\",\"last\":1}99";
    se_in_rec_t rec;
    val_detail_t why;

    /* The object ends at len; what follows in the buffer is not the message. */
    ck_assert_int_eq(run(val_market_data, full, sizeof full - 3, &rec, &why), VAL_OK);
    ck_assert_double_eq(rec.u.quote.last, 1);
    /* len cuts the closing brace: truncated. */
    ck_assert_int_eq(run(val_market_data, full, sizeof full - 4, &rec, &why), VAL_BAD_JSON);
    ck_assert_msg(strstr(why.text, "end of message") != NULL, "%s", why.text);
}
END_TEST

START_TEST(market_data_should_zero_the_whole_record_when_it_drops_a_message)
{
    se_in_rec_t rec, zero;
    val_detail_t why;

    memset(&zero, 0, sizeof zero);
    ck_assert_int_eq(run(val_market_data, LIT("{\"symbol\":"), &rec, &why), VAL_BAD_JSON);
    ck_assert_msg(memcmp(&rec, &zero, sizeof rec) == 0, "record not zeroed");
}
END_TEST

START_TEST(market_data_should_accept_a_null_detail)
{
    se_in_rec_t rec;

    ck_assert_int_eq(val_market_data(LIT("{\"symbol\":\"X\",\"last\":1}"), &rec, NULL), VAL_OK);
    ck_assert_int_eq(val_market_data(LIT("{\"symbol\":\"X\"}"), &rec, NULL), VAL_MISSING_FIELD);
    ck_assert_int_eq(val_market_data(NULL, 0, &rec, NULL), VAL_BAD_JSON);
}
END_TEST

/* ---- fills ---------------------------------------------------------------- */

#define IDS "\"fill_id\":\"f-1\",\"client_order_id\":\"mm-1732400000-7\""
#define FILL_REST SYM ",\"side\":\"buy\",\"qty\":1.0,\"price\":100.55"
#define ID47 "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTU"
#define ID48 ID47 "V"

static const bad_t bad_fill[] = {
    { "missing fill_id", LIT("{\"client_order_id\":\"c\"," FILL_REST "}"), VAL_MISSING_FIELD, "'fill_id'" },
    { "missing client_order_id", LIT("{\"fill_id\":\"f\"," FILL_REST "}"), VAL_MISSING_FIELD, "'client_order_id'" },
    { "missing symbol", LIT("{" IDS ",\"side\":\"buy\",\"qty\":1,\"price\":1}"), VAL_MISSING_FIELD, "'symbol'" },
    { "missing side", LIT("{" IDS "," SYM ",\"qty\":1,\"price\":1}"), VAL_MISSING_FIELD, "'side'" },
    { "missing qty", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"price\":1}"), VAL_MISSING_FIELD, "'qty'" },
    { "missing price", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"qty\":1}"), VAL_MISSING_FIELD, "'price'" },
    { "empty fill_id", LIT("{\"fill_id\":\"\",\"client_order_id\":\"c\"," FILL_REST "}"), VAL_BAD_ID,
      "field 'fill_id': empty" },
    { "48-byte fill_id", LIT("{\"fill_id\":\"" ID48 "\",\"client_order_id\":\"c\"," FILL_REST "}"), VAL_BAD_ID,
      "48 bytes, limit 47" },
    { "escaped client_order_id", LIT("{\"fill_id\":\"f\",\"client_order_id\":\"c\\u0031\"," FILL_REST "}"),
      VAL_BAD_ID, "field 'client_order_id'" },
    { "empty order_id", LIT("{" IDS ",\"order_id\":\"\"," FILL_REST "}"), VAL_BAD_ID, "field 'order_id': empty" },
    { "null order_id", LIT("{" IDS ",\"order_id\":null," FILL_REST "}"), VAL_WRONG_TYPE, "'order_id'" },
    { "fill_id with a space", LIT("{\"fill_id\":\"f 1\",\"client_order_id\":\"c\"," FILL_REST "}"), VAL_BAD_ID,
      "0x20" },
    { "fill_id with a non-ASCII byte", LIT("{\"fill_id\":\"f\xc3\xa9\",\"client_order_id\":\"c\"," FILL_REST "}"),
      VAL_BAD_ID, "0xc3" },
    { "numeric fill_id", LIT("{\"fill_id\":1,\"client_order_id\":\"c\"," FILL_REST "}"), VAL_WRONG_TYPE,
      "field 'fill_id': expected a string" },
    { "side hold", LIT("{" IDS "," SYM ",\"side\":\"hold\",\"qty\":1,\"price\":1}"), VAL_BAD_SIDE, "\"hold\"" },
    { "empty side", LIT("{" IDS "," SYM ",\"side\":\"\",\"qty\":1,\"price\":1}"), VAL_BAD_SIDE, "'side'" },
    { "side bought", LIT("{" IDS "," SYM ",\"side\":\"buyer\",\"qty\":1,\"price\":1}"), VAL_BAD_SIDE, "'side'" },
    { "escaped side", LIT("{" IDS "," SYM ",\"side\":\"b\\u0075y\",\"qty\":1,\"price\":1}"), VAL_BAD_SIDE, "'side'" },
    { "numeric side", LIT("{" IDS "," SYM ",\"side\":1,\"qty\":1,\"price\":1}"), VAL_WRONG_TYPE, "'side'" },
    { "zero qty", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"qty\":0,\"price\":1}"), VAL_NEGATIVE, "field 'qty': must be > 0" },
    { "negative qty", LIT("{" IDS "," SYM ",\"side\":\"sell\",\"qty\":-1,\"price\":1}"), VAL_NEGATIVE, "'qty'" },
    { "zero price", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"qty\":1,\"price\":0}"), VAL_NEGATIVE, "'price'" },
    { "NaN price", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"qty\":1,\"price\":NaN}"), VAL_NOT_FINITE, "'price'" },
    { "string qty", LIT("{" IDS "," SYM ",\"side\":\"buy\",\"qty\":\"1\",\"price\":1}"), VAL_WRONG_TYPE, "'qty'" },
    { "fractional ts", LIT("{" IDS "," FILL_REST ",\"ts\":1.5}"), VAL_BAD_TIMESTAMP, "'ts'" },
    { "bad symbol", LIT("{" IDS ",\"symbol\":\"BTC USD\",\"side\":\"buy\",\"qty\":1,\"price\":1}"), VAL_BAD_SYMBOL,
      "'symbol'" },
    { "fill_id twice", LIT("{" IDS "," FILL_REST ",\"fill_id\":\"f-2\"}"), VAL_DUPLICATE_FIELD, "'fill_id'" },
    { "array at the top level", LIT("[{" IDS "," FILL_REST "}]"), VAL_NOT_OBJECT,
      "an array" },
    { "truncated", LIT("{" IDS "," FILL_REST), VAL_BAD_JSON, "end of message" },
};

START_TEST(fill_should_drop_each_bad_input_with_its_reason)
{
    check_bad(val_fill, &bad_fill[_i]);
}
END_TEST

typedef struct {
    const char *name;
    const char *msg;
    size_t len;
    const char *fill_id, *client_order_id, *order_id, *symbol;
    uint8_t side;
    double qty, price;
    int64_t ts;
} good_fill_t;

static const good_fill_t good_fill[] = {
    { "the contract's example",
      LIT("{\"fill_id\":\"f-1\",\"client_order_id\":\"mm-1732400000-7\",\"order_id\":\"V-99\",\"symbol\":\"BTC-USD\","
          "\"side\":\"buy\",\"qty\":1.0,\"price\":100.55,\"ts\":1732400000000000123}"),
      "f-1", "mm-1732400000-7", "V-99", "BTC-USD", SE_SIDE_BUY, 1.0, 100.55, 1732400000000000123 },
    { "without order_id and ts", LIT("{" IDS "," SYM ",\"side\":\"sell\",\"qty\":0.25,\"price\":99}"),
      "f-1", "mm-1732400000-7", "", "BTC-USD", SE_SIDE_SELL, 0.25, 99, 0 },
    { "upper-case side", LIT("{" IDS "," SYM ",\"side\":\"SELL\",\"qty\":2,\"price\":3}"),
      "f-1", "mm-1732400000-7", "", "BTC-USD", SE_SIDE_SELL, 2, 3, 0 },
    { "mixed-case side", LIT("{" IDS "," SYM ",\"side\":\"bUy\",\"qty\":2,\"price\":3}"),
      "f-1", "mm-1732400000-7", "", "BTC-USD", SE_SIDE_BUY, 2, 3, 0 },
    { "47-byte ids", LIT("{\"fill_id\":\"" ID47 "\",\"client_order_id\":\"" ID47 "\",\"order_id\":\"" ID47 "\","
                         SYM ",\"side\":\"buy\",\"qty\":1,\"price\":1}"),
      ID47, ID47, ID47, "BTC-USD", SE_SIDE_BUY, 1, 1, 0 },
    { "punctuation in ids and unknown fields",
      LIT("{\"fill_id\":\"{f}:1/2#~\",\"client_order_id\":\"c!\",\"liquidity\":\"maker\",\"fee\":0.01," FILL_REST "}"),
      "{f}:1/2#~", "c!", "", "BTC-USD", SE_SIDE_BUY, 1.0, 100.55, 0 },
};

START_TEST(fill_should_turn_each_good_input_into_its_record)
{
    const good_fill_t *c = &good_fill[_i];
    se_in_rec_t rec, want;
    val_detail_t why;
    val_result_t r = run(val_fill, c->msg, c->len, &rec, &why);

    ck_assert_msg(r == VAL_OK, "%s: %s (%s)", c->name, val_result_name(r), why.text);
    ck_assert_msg(why.text[0] == '\0', "%s: detail not cleared", c->name);
    memset(&want, 0, sizeof want);
    want.kind = SE_IN_FILL;
    want.ts_source_ns = c->ts;
    strcpy(want.symbol, c->symbol);
    strcpy(want.u.fill.fill_id, c->fill_id);
    strcpy(want.u.fill.client_order_id, c->client_order_id);
    strcpy(want.u.fill.order_id, c->order_id);
    want.u.fill.side = c->side;
    want.u.fill.qty = c->qty;
    want.u.fill.price = c->price;
    ck_assert_str_eq(rec.u.fill.fill_id, c->fill_id);
    ck_assert_str_eq(rec.u.fill.client_order_id, c->client_order_id);
    ck_assert_str_eq(rec.u.fill.order_id, c->order_id);
    ck_assert_int_eq(rec.u.fill.side, c->side);
    ck_assert_double_eq(rec.u.fill.qty, c->qty);
    ck_assert_double_eq(rec.u.fill.price, c->price);
    check_record(c->name, &rec, &want);
}
END_TEST

/* ---- positions ------------------------------------------------------------ */

static const bad_t bad_position[] = {
    { "missing symbol", LIT("{\"qty\":5,\"avg_price\":100.1}"), VAL_MISSING_FIELD, "'symbol'" },
    { "missing qty", LIT("{" SYM ",\"avg_price\":100.1}"), VAL_MISSING_FIELD, "'qty'" },
    { "string qty", LIT("{" SYM ",\"qty\":\"5\"}"), VAL_WRONG_TYPE, "field 'qty': expected a number, got a string" },
    { "null qty", LIT("{" SYM ",\"qty\":null}"), VAL_WRONG_TYPE, "got null" },
    { "NaN qty", LIT("{" SYM ",\"qty\":NaN}"), VAL_NOT_FINITE, "'qty'" },
    { "-Infinity qty", LIT("{" SYM ",\"qty\":-Infinity}"), VAL_NOT_FINITE, "'qty'" },
    { "1e999 qty", LIT("{" SYM ",\"qty\":-1e999}"), VAL_NOT_FINITE, "overflows" },
    { "negative avg_price", LIT("{" SYM ",\"qty\":5,\"avg_price\":-0.1}"), VAL_NEGATIVE,
      "field 'avg_price': must be >= 0" },
    { "bad symbol", LIT("{\"symbol\":\"ABCDEFGHIJKLMNOP\",\"qty\":5}"), VAL_BAD_SYMBOL, "'symbol'" },
    { "qty twice", LIT("{" SYM ",\"qty\":5,\"qty\":6}"), VAL_DUPLICATE_FIELD, "'qty'" },
    { "negative ts", LIT("{" SYM ",\"qty\":5,\"ts\":-5}"), VAL_BAD_TIMESTAMP, "'ts'" },
    { "array at the top level", LIT("[5]"), VAL_NOT_OBJECT, "an array" },
    { "trailing comma", LIT("{" SYM ",\"qty\":5,}"), VAL_BAD_JSON, "bad JSON" },
};

START_TEST(position_should_drop_each_bad_input_with_its_reason)
{
    check_bad(val_position, &bad_position[_i]);
}
END_TEST

typedef struct {
    const char *name;
    const char *msg;
    size_t len;
    double qty, avg_price;
    int64_t ts;
} good_position_t;

static const good_position_t good_position[] = {
    { "the contract's example", LIT("{" SYM ",\"qty\":5.0,\"avg_price\":100.1,\"ts\":1732400000000000000}"),
      5.0, 100.1, 1732400000000000000 },
    { "short position", LIT("{" SYM ",\"qty\":-2.5,\"avg_price\":99.5}"), -2.5, 99.5, 0 },
    { "flat position without avg_price", LIT("{" SYM ",\"qty\":0}"), 0, 0, 0 },
    { "negative zero qty is stored as zero", LIT("{" SYM ",\"qty\":-0.0,\"avg_price\":0}"), 0, 0, 0 },
    { "unknown fields", LIT("{\"account\":\"a1\"," SYM ",\"qty\":1,\"upl\":-3.5}"), 1, 0, 0 },
};

START_TEST(position_should_turn_each_good_input_into_its_record)
{
    const good_position_t *c = &good_position[_i];
    se_in_rec_t rec, want;
    val_detail_t why;
    val_result_t r = run(val_position, c->msg, c->len, &rec, &why);

    ck_assert_msg(r == VAL_OK, "%s: %s (%s)", c->name, val_result_name(r), why.text);
    ck_assert_msg(why.text[0] == '\0', "%s: detail not cleared", c->name);
    memset(&want, 0, sizeof want);
    want.kind = SE_IN_POSITION;
    want.ts_source_ns = c->ts;
    strcpy(want.symbol, "BTC-USD");
    want.u.position.qty = c->qty;
    want.u.position.avg_price = c->avg_price;
    ck_assert_double_eq(rec.u.position.qty, c->qty);
    ck_assert_double_eq(rec.u.position.avg_price, c->avg_price);
    ck_assert_msg(c->qty != 0 || !signbit(rec.u.position.qty), "%s: -0 kept", c->name);
    check_record(c->name, &rec, &want);
}
END_TEST

START_TEST(each_validator_should_refuse_the_other_contracts)
{
    se_in_rec_t rec;
    val_detail_t why;

    ck_assert_int_eq(run(val_fill, LIT("{" SYM ",\"qty\":5}"), &rec, &why), VAL_MISSING_FIELD);
    ck_assert_int_eq(run(val_position, LIT("{" SYM ",\"last\":1}"), &rec, &why), VAL_MISSING_FIELD);
    ck_assert_int_eq(run(val_market_data, LIT("{" IDS "," FILL_REST "}"), &rec, &why), VAL_MISSING_FIELD);
}
END_TEST

/* ---- never past len ------------------------------------------------------- */

/* Two pages: the message is copied to the very end of the first, the second
 * is PROT_NONE, so one byte read past len is a SIGSEGV (and a failed test). */
static char *guard_base;
static long page;

static void guard_setup(void)
{
    page = sysconf(_SC_PAGESIZE);
    guard_base = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(guard_base, MAP_FAILED);
    ck_assert_int_eq(mprotect(guard_base + page, (size_t)page, PROT_NONE), 0);
}

static void guard_teardown(void)
{
    munmap(guard_base, (size_t)page * 2);
}

/* Copies msg so that its last byte is the last readable byte. */
static const char *at_guard(const char *msg, size_t len)
{
    char *p = guard_base + page - len;

    ck_assert_uint_le(len, (size_t)page);
    memcpy(p, msg, len);
    return p;
}

static void expect_at_guard(val_fn_t fn, const char *name, const char *msg, size_t len, val_result_t want)
{
    se_in_rec_t rec;
    val_detail_t why;
    val_result_t r = run(fn, at_guard(msg, len), len, &rec, &why);

    ck_assert_msg(r == want, "%s at the guard page: got %s, want %s (%s)", name, val_result_name(r),
                  val_result_name(want), why.text);
}

START_TEST(validators_should_never_read_past_len)
{
    for (size_t i = 0; i < sizeof bad_md / sizeof bad_md[0]; i++)
        expect_at_guard(val_market_data, bad_md[i].name, bad_md[i].msg, bad_md[i].len, bad_md[i].want);
    for (size_t i = 0; i < sizeof good_md / sizeof good_md[0]; i++)
        expect_at_guard(val_market_data, good_md[i].name, good_md[i].msg, good_md[i].len, VAL_OK);
    for (size_t i = 0; i < sizeof bad_fill / sizeof bad_fill[0]; i++)
        expect_at_guard(val_fill, bad_fill[i].name, bad_fill[i].msg, bad_fill[i].len, bad_fill[i].want);
    for (size_t i = 0; i < sizeof good_fill / sizeof good_fill[0]; i++)
        expect_at_guard(val_fill, good_fill[i].name, good_fill[i].msg, good_fill[i].len, VAL_OK);
    for (size_t i = 0; i < sizeof bad_position / sizeof bad_position[0]; i++)
        expect_at_guard(val_position, bad_position[i].name, bad_position[i].msg, bad_position[i].len,
                        bad_position[i].want);
    for (size_t i = 0; i < sizeof good_position / sizeof good_position[0]; i++)
        expect_at_guard(val_position, good_position[i].name, good_position[i].msg, good_position[i].len, VAL_OK);
    /* len 0 at the guard itself: not even one byte may be read. */
    {
        se_in_rec_t rec;

        ck_assert_int_eq(val_market_data(guard_base + page, 0, &rec, NULL), VAL_BAD_JSON);
    }
}
END_TEST

START_TEST(validators_should_drop_every_truncation_of_a_good_message_as_bad_json)
{
    static const struct {
        val_fn_t fn;
        const char *msg;
    } full[] = {
        { val_market_data, "{\"symbol\":\"BTC-USD\",\"bid\":100.50,\"ask\":100.60,\"bid_size\":1.5,\"ask_size\":2.0,"
                           "\"last\":100.55,\"volume\":12.0,\"ts\":1732400000000000000,\"x\":[{\"y\":\"a\\\"\\u00e9\"},"
                           "true,null,NaN]}" },
        { val_fill, "{" IDS ",\"order_id\":\"o\"," FILL_REST ",\"ts\":1}" },
        { val_position, "{" SYM ",\"qty\":-5.0e0,\"avg_price\":100.1}" },
    };

    for (size_t i = 0; i < sizeof full / sizeof full[0]; i++) {
        size_t n = strlen(full[i].msg);

        expect_at_guard(full[i].fn, "the whole message", full[i].msg, n, VAL_OK);
        for (size_t cut = 0; cut < n; cut++) {
            char name[64];

            snprintf(name, sizeof name, "message %zu cut to %zu bytes", i, cut);
            expect_at_guard(full[i].fn, name, full[i].msg, cut, VAL_BAD_JSON);
        }
    }
}
END_TEST

/* ---- names and counters --------------------------------------------------- */

START_TEST(result_names_should_be_distinct_snake_case_labels)
{
    for (int r = 0; r < VAL__COUNT; r++) {
        const char *n = val_result_name((val_result_t)r);

        ck_assert_ptr_nonnull(n);
        ck_assert_msg(n[0] != '\0' && strspn(n, "abcdefghijklmnopqrstuvwxyz_") == strlen(n), "'%s'", n);
        ck_assert_str_ne(n, "unknown");
        for (int s = 0; s < r; s++)
            ck_assert_str_ne(n, val_result_name((val_result_t)s));
    }
    ck_assert_str_eq(val_result_name(VAL_OK), "ok");
    ck_assert_str_eq(val_result_name(VAL_TOO_LONG), "too_long");
    ck_assert_str_eq(val_result_name(VAL_BAD_JSON), "bad_json");
    ck_assert_str_eq(val_result_name(VAL_DUPLICATE_FIELD), "duplicate_field");
    ck_assert_str_eq(val_result_name(VAL__COUNT), "unknown");
    ck_assert_str_eq(val_result_name((val_result_t)-1), "unknown");
}
END_TEST

START_TEST(counts_should_add_ok_and_each_drop_reason)
{
    val_counts_t c;
    se_in_rec_t rec;

    memset(&c, 0, sizeof c);
    val_count(&c, val_market_data(LIT("{\"symbol\":\"X\",\"last\":1}"), &rec, NULL));
    val_count(&c, val_market_data(LIT("{\"symbol\":\"X\",\"last\":1}"), &rec, NULL));
    val_count(&c, val_market_data(LIT("{\"symbol\":\"X\",\"last\":NaN}"), &rec, NULL));
    val_count(&c, val_market_data(LIT("nope"), &rec, NULL));
    val_count(&c, VAL__COUNT); /* not a result: ignored, never out of bounds */
    ck_assert_uint_eq(c.ok, 2);
    ck_assert_uint_eq(c.dropped[VAL_NOT_FINITE], 1);
    ck_assert_uint_eq(c.dropped[VAL_BAD_JSON], 1);
    ck_assert_uint_eq(c.dropped[VAL_OK], 0);
}
END_TEST

/* ---- suite ---------------------------------------------------------------- */

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Numbers are converted exactly as strtod converts them, bit for bit,
 * whether they take the validator's fast path (short decimals) or not: many
 * seeded random spellings of every shape, each checked against strtod. */
START_TEST(numbers_should_convert_exactly_as_strtod)
{
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int it = 0; it < 200000; it++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char num[64];
        uint64_t m = x >> 11;
        int w = (int)((x >> 3) % 14) + 1;
        switch (it % 6) {
        case 0: /* a price: up to 5 integer digits, 1-14 decimals */
            snprintf(num, sizeof num, "%llu.%0*llu", (unsigned long long)(m % 100000 + 1), w,
                     (unsigned long long)((m >> 20) % 100000000000000ull));
            break;
        case 1: /* an integer, up to 20 digits (past 2^53 and 19 digits) */
            snprintf(num, sizeof num, "%llu", (unsigned long long)(m % 10000000000000000000ull + 1));
            break;
        case 2: /* an exponent, inside and outside the exact powers of ten */
            snprintf(num, sizeof num, "%llue%d", (unsigned long long)(m % 1000000 + 1), (int)((x >> 40) % 70) - 35);
            break;
        case 3: /* leading zeros after the point */
            snprintf(num, sizeof num, "0.%0*llu", w + 5, (unsigned long long)(m % 1000 + 1));
            break;
        case 4: /* what %.17g writes (shmtool record) */
            snprintf(num, sizeof num, "%.17g", (double)(m % 1000000007 + 1) / (double)((x >> 50) % 1000 + 1));
            break;
        default: /* halfway cases around 2^53 */
            snprintf(num, sizeof num, "900719925474099%d.5", (int)(m % 10));
            break;
        }
        char msg[160];
        int n = snprintf(msg, sizeof msg, "{\"symbol\":\"X\",\"last\":%s}", num);
        se_in_rec_t r;
        if (val_market_data(msg, (size_t)n, &r, NULL) != VAL_OK)
            ck_abort_msg("%s refused", msg);
        double want = strtod(num, NULL);
        if (memcmp(&r.u.quote.last, &want, sizeof want) != 0)
            ck_abort_msg("%s became %.17g, strtod says %.17g", num, r.u.quote.last, want);
    }
}
END_TEST

static Suite *validate_suite(void)
{
    Suite *s = suite_create("validate");
    TCase *md = tcase_create("market_data");
    TCase *fp = tcase_create("fills_positions");
    TCase *guard = tcase_create("bounds");
    TCase *misc = tcase_create("names_counts");

    tcase_add_loop_test(md, market_data_should_drop_each_bad_input_with_its_reason, 0, N(bad_md));
    tcase_add_loop_test(md, market_data_should_turn_each_good_input_into_its_record, 0, N(good_md));
    tcase_add_test(md, market_data_should_take_exactly_4096_bytes_and_drop_4097);
    tcase_add_test(md, market_data_should_take_64_tokens_and_drop_65_as_too_many_fields);
    tcase_add_test(md, market_data_should_drop_too_many_flat_fields);
    tcase_add_test(md, market_data_should_stop_at_len_not_at_the_end_of_the_buffer);
    tcase_add_test(md, market_data_should_zero_the_whole_record_when_it_drops_a_message);
    tcase_add_test(md, market_data_should_accept_a_null_detail);
    tcase_add_test(md, numbers_should_convert_exactly_as_strtod);
    suite_add_tcase(s, md);

    tcase_add_loop_test(fp, fill_should_drop_each_bad_input_with_its_reason, 0, N(bad_fill));
    tcase_add_loop_test(fp, fill_should_turn_each_good_input_into_its_record, 0, N(good_fill));
    tcase_add_loop_test(fp, position_should_drop_each_bad_input_with_its_reason, 0, N(bad_position));
    tcase_add_loop_test(fp, position_should_turn_each_good_input_into_its_record, 0, N(good_position));
    tcase_add_test(fp, each_validator_should_refuse_the_other_contracts);
    suite_add_tcase(s, fp);

    tcase_add_checked_fixture(guard, guard_setup, guard_teardown);
    tcase_set_timeout(guard, 30);
    tcase_add_test(guard, validators_should_never_read_past_len);
    tcase_add_test(guard, validators_should_drop_every_truncation_of_a_good_message_as_bad_json);
    suite_add_tcase(s, guard);

    tcase_add_test(misc, result_names_should_be_distinct_snake_case_labels);
    tcase_add_test(misc, counts_should_add_ok_and_each_drop_reason);
    suite_add_tcase(s, misc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default; it is left to CK_FORK so that
     * CK_FORK=no can run the suite in one process under valgrind. */
    SRunner *sr = srunner_create(validate_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
