/* test_log.c -- check suite for common/log: line shape, escaping, levels,
 * truncation. Each test sends the logger to a pipe and parses what came out. */
#include "common/log.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- capture: the logger writes into a pipe, tests read it back ---------- */

static int pipe_fd[2] = { -1, -1 };
static char out[2 * LOG_LINE_MAX];
static size_t out_len;

static void setup(void)
{
    ck_assert_int_eq(pipe(pipe_fd), 0);
    /* Non-blocking, so "nothing was logged" reads as empty instead of hanging. */
    ck_assert_int_eq(fcntl(pipe_fd[0], F_SETFL, O_NONBLOCK), 0);
    unsetenv("SE_LOG_LEVEL");
    log_init(NULL);
    log_set_level(LOG_LEVEL_INFO);
    log_set_fd(pipe_fd[1]);
}

static void teardown(void)
{
    log_set_fd(2);
    close(pipe_fd[0]);
    close(pipe_fd[1]);
}

/* Reads everything logged so far into out (NUL-terminated). */
static const char *captured(void)
{
    ssize_t n;

    out_len = 0;
    while (out_len < sizeof out - 1 && (n = read(pipe_fd[0], out + out_len, sizeof out - 1 - out_len)) > 0)
        out_len += (size_t)n;
    out[out_len] = '\0';
    return out;
}

/* ---- a strict parser for the flat JSON objects the logger writes -------- */

typedef struct {
    char key[64];
    char kind; /* 's' string, 'n' number, 'b' boolean, 'z' null */
    char val[2 * LOG_LINE_MAX];
} kv_t;

static bool valid_utf8(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t len = p[i] < 0x80 ? 1 : (p[i] & 0xE0) == 0xC0 ? 2 : (p[i] & 0xF0) == 0xE0 ? 3
                   : (p[i] & 0xF8) == 0xF0 ? 4 : 0;
        if (len == 0 || i + len > n || (len == 2 && p[i] < 0xC2))
            return false;
        for (size_t j = 1; j < len; j++)
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static void put_utf8(char **d, unsigned cp)
{
    unsigned char *o = (unsigned char *)*d;
    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xE0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    *d = (char *)o;
}

/* Parses a JSON string at *p into dst (decoded); false if malformed. */
static bool parse_string(const char **p, char *dst, size_t cap)
{
    const char *s = *p;
    char *d = dst, *end = dst + cap - 4;

    if (*s++ != '"')
        return false;
    while (*s != '"') {
        if ((unsigned char)*s < 0x20 || d >= end)
            return false;
        if (*s != '\\') {
            *d++ = *s++;
            continue;
        }
        s++;
        switch (*s++) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '/': *d++ = '/'; break;
        case 'b': *d++ = '\b'; break;
        case 'f': *d++ = '\f'; break;
        case 'n': *d++ = '\n'; break;
        case 'r': *d++ = '\r'; break;
        case 't': *d++ = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++, s++) {
                char c = *s;
                if (c >= '0' && c <= '9') cp = cp * 16 + (unsigned)(c - '0');
                else if (c >= 'a' && c <= 'f') cp = cp * 16 + (unsigned)(c - 'a' + 10);
                else if (c >= 'A' && c <= 'F') cp = cp * 16 + (unsigned)(c - 'A' + 10);
                else return false;
            }
            put_utf8(&d, cp);
            break;
        }
        default: return false;
        }
    }
    *d = '\0';
    *p = s + 1;
    return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool parse_number(const char **p, char *dst, size_t cap)
{
    const char *s = *p;
    size_t n;

#define DIGITS(min) do { const char *d0 = s; while (*s >= '0' && *s <= '9') s++; if (s - d0 < (min)) return false; } while (0)
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        DIGITS(1);
    else
        return false;
    if (*s == '.') {
        s++;
        DIGITS(1);
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        DIGITS(1);
    }
#undef DIGITS
    n = (size_t)(s - *p);
    if (n >= cap)
        return false;
    memcpy(dst, *p, n);
    dst[n] = '\0';
    *p = s;
    return true;
}

/* Parses one line: a flat JSON object followed by exactly one '\n' at the
 * end of the buffer. Returns the number of members, or -1 if malformed. */
static int parse_line(const char *line, kv_t *kv, int max)
{
    const char *p = line;
    size_t len = strlen(line);
    int n = 0;

    if (len < 3 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) || line[len - 2] != '}')
        return -1;
    if (!valid_utf8((const unsigned char *)line, len) || *p++ != '{')
        return -1;
    while (n < max) {
        kv_t *f = &kv[n++];
        if (!parse_string(&p, f->key, sizeof f->key) || *p++ != ':')
            return -1;
        if (*p == '"') {
            f->kind = 's';
            if (!parse_string(&p, f->val, sizeof f->val))
                return -1;
        } else if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0) {
            f->kind = *p == 't' ? 'b' : 'z';
            memcpy(f->val, p, 4), f->val[4] = '\0', p += 4;
        } else if (strncmp(p, "false", 5) == 0) {
            f->kind = 'b';
            strcpy(f->val, "false"), p += 5;
        } else {
            f->kind = 'n';
            if (!parse_number(&p, f->val, sizeof f->val))
                return -1;
        }
        if (*p == '}')
            return p[1] == '\n' && p[2] == '\0' ? n : -1;
        if (*p++ != ',')
            return -1;
    }
    return -1;
}

static kv_t kv[16];

/* Parses the single captured line into kv and returns the member count. */
static int parse_captured(void)
{
    int n = parse_line(captured(), kv, 16);
    ck_assert_msg(n >= 4, "not a valid log line: %s", out);
    return n;
}

static const kv_t *field(int n, const char *key)
{
    for (int i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return &kv[i];
    ck_abort_msg("no field \"%s\" in %s", key, out);
    return NULL;
}

/* ---- tests ------------------------------------------------------------- */

START_TEST(log_should_write_one_json_object_with_fields_in_order)
{
    static const char *const keys[] = { "ts", "level", "process", "msg", "ring", "capacity",
                                        "seq", "rate", "ok" };
    const char *ts;
    int n;

    log_info("ring attached", LOG_STR("ring", "md.ticks"), LOG_INT("capacity", -4096),
             LOG_UINT("seq", UINT64_MAX), LOG_F64("rate", 0.1), LOG_BOOL("ok", true));
    n = parse_captured();
    ck_assert_int_eq(n, 9);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(kv[i].key, keys[i]);
    ck_assert_str_eq(kv[1].val, "info");
    ck_assert_str_eq(kv[2].val, "engine");
    ck_assert_str_eq(kv[3].val, "ring attached");
    ck_assert_str_eq(kv[4].val, "md.ticks");
    ck_assert(kv[5].kind == 'n');
    ck_assert_str_eq(kv[5].val, "-4096");
    ck_assert_str_eq(kv[6].val, "18446744073709551615");
    ck_assert_str_eq(kv[7].val, "0.1");
    ck_assert(kv[8].kind == 'b');
    ck_assert_str_eq(kv[8].val, "true");

    /* 2026-11-25T12:00:00.123456Z */
    ts = kv[0].val;
    ck_assert_uint_eq(strlen(ts), 27);
    for (int i = 0; i < 27; i++) {
        const char *shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
        if (shape[i] == 'd')
            ck_assert_msg(ts[i] >= '0' && ts[i] <= '9', "bad timestamp %s", ts);
        else
            ck_assert_msg(ts[i] == shape[i], "bad timestamp %s", ts);
    }
}
END_TEST

START_TEST(log_should_write_lines_without_fields)
{
    log_warn("no fields");
    ck_assert_int_eq(parse_captured(), 4);
    ck_assert_str_eq(kv[1].val, "warn");
    ck_assert_str_eq(kv[3].val, "no fields");
}
END_TEST

START_TEST(log_should_name_the_process_given_to_log_init)
{
    log_init("riskd");
    log_error("boom");
    parse_captured();
    ck_assert_str_eq(kv[1].val, "error");
    ck_assert_str_eq(kv[2].val, "riskd");
}
END_TEST

START_TEST(log_should_escape_quotes_backslashes_and_control_chars)
{
    const char *nasty = "say \"hi\"\\ \n\r\t\x01\x1f\x7f end";
    const char *raw;
    int n;

    log_info("a \"quoted\"\nmessage", LOG_STR("v", nasty));
    n = parse_captured();
    ck_assert_str_eq(field(n, "msg")->val, "a \"quoted\"\nmessage");
    ck_assert_str_eq(field(n, "v")->val, nasty);
    raw = out;
    ck_assert_ptr_nonnull(strstr(raw, "say \\\"hi\\\"\\\\ \\n\\r\\t\\u0001\\u001f\\u007f end"));
}
END_TEST

START_TEST(log_should_pass_valid_utf8_and_replace_invalid_bytes)
{
    int n;

    log_info("utf8", LOG_STR("ok", "caf\xc3\xa9 \xe2\x82\xac"), LOG_STR("bad", "a\xff" "b\xc0\xafz\xed\xa0\x80"));
    n = parse_captured();
    ck_assert_str_eq(field(n, "ok")->val, "caf\xc3\xa9 \xe2\x82\xac");
    /* 0xff, the overlong C0 AF and the surrogate ED A0 80: one U+FFFD per byte */
    ck_assert_str_eq(field(n, "bad")->val,
                     "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}
END_TEST

START_TEST(log_should_write_nan_and_infinities_as_strings)
{
    int n;

    log_info("odd numbers", LOG_F64("nan", NAN), LOG_F64("inf", INFINITY), LOG_F64("ninf", -INFINITY));
    n = parse_captured();
    ck_assert(field(n, "nan")->kind == 's');
    ck_assert_str_eq(field(n, "nan")->val, "NaN");
    ck_assert_str_eq(field(n, "inf")->val, "Infinity");
    ck_assert_str_eq(field(n, "ninf")->val, "-Infinity");
}
END_TEST

START_TEST(log_should_write_doubles_that_read_back_exactly)
{
    static const double values[] = { 0.1, 1.0 / 3, 1e300, -2.5e-308, 123456789.125, 0.0 };
    int n;

    log_info("doubles", LOG_F64("a", values[0]), LOG_F64("b", values[1]), LOG_F64("c", values[2]),
             LOG_F64("d", values[3]), LOG_F64("e", values[4]), LOG_F64("f", values[5]));
    n = parse_captured();
    ck_assert_int_eq(n, 10);
    for (int i = 0; i < 6; i++) {
        ck_assert(kv[4 + i].kind == 'n');
        ck_assert_msg(strtod(kv[4 + i].val, NULL) == values[i], "%s != %.17g", kv[4 + i].val, values[i]);
    }
}
END_TEST

START_TEST(log_should_write_integer_extremes)
{
    int n;

    log_info("ints", LOG_INT("min", INT64_MIN), LOG_INT("max", INT64_MAX), LOG_UINT("umax", UINT64_MAX));
    n = parse_captured();
    ck_assert_str_eq(field(n, "min")->val, "-9223372036854775808");
    ck_assert_str_eq(field(n, "max")->val, "9223372036854775807");
    ck_assert_str_eq(field(n, "umax")->val, "18446744073709551615");
}
END_TEST

START_TEST(log_should_drop_lines_below_the_level)
{
    log_debug("hidden by default");
    ck_assert_str_eq(captured(), "");

    log_set_level(LOG_LEVEL_WARN);
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_WARN);
    log_info("hidden");
    ck_assert_str_eq(captured(), "");
    log_warn("shown");
    parse_captured();
    ck_assert_str_eq(kv[3].val, "shown");

    log_set_level(LOG_LEVEL_DEBUG);
    log_debug("shown too");
    parse_captured();
    ck_assert_str_eq(kv[1].val, "debug");
}
END_TEST

START_TEST(log_should_take_the_level_from_se_log_level)
{
    setenv("SE_LOG_LEVEL", "ERROR", 1);
    log_init("t");
    log_warn("hidden");
    ck_assert_str_eq(captured(), "");
    log_error("shown");
    parse_captured();
    ck_assert_str_eq(kv[3].val, "shown");
    unsetenv("SE_LOG_LEVEL");
}
END_TEST

START_TEST(log_levels_should_parse_name_and_cycle)
{
    log_level_t l = LOG_LEVEL_ERROR;
    ck_assert_int_eq(log_level_parse("Debug", &l), 0);
    ck_assert_int_eq(l, LOG_LEVEL_DEBUG);
    ck_assert_int_eq(log_level_parse("warning", &l), -EINVAL);
    ck_assert_int_eq(log_level_parse(NULL, &l), -EINVAL);
    ck_assert_int_eq(l, LOG_LEVEL_DEBUG); /* untouched on error */
    ck_assert_str_eq(log_level_name(LOG_LEVEL_WARN), "warn");
    ck_assert_str_eq(log_level_name((log_level_t)42), "error");
    log_set_level(LOG_LEVEL_DEBUG);
    const log_level_t round[] = { LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR, LOG_LEVEL_DEBUG };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(log_cycle_level(), round[i]);
        ck_assert_int_eq(log_get_level(), round[i]);
    }
}
END_TEST

START_TEST(log_should_warn_and_keep_the_level_on_a_bad_se_log_level)
{
    int n;

    setenv("SE_LOG_LEVEL", "loud", 1);
    log_init("t");
    n = parse_captured();
    ck_assert_str_eq(kv[1].val, "warn");
    ck_assert_str_eq(field(n, "value")->val, "loud");
    ck_assert_int_eq(log_get_level(), LOG_LEVEL_INFO);
    unsetenv("SE_LOG_LEVEL");
}
END_TEST

START_TEST(log_should_truncate_a_huge_string_into_one_valid_line)
{
    static char huge[3 * LOG_LINE_MAX];
    const char *v;
    size_t vlen;
    int n;

    memset(huge, 'x', sizeof huge - 1);
    log_info("big", LOG_INT("before", 1), LOG_STR("huge", huge), LOG_INT("after", 2));
    n = parse_captured();
    ck_assert_uint_le(out_len, LOG_LINE_MAX);
    ck_assert(out_len >= 2 && strcmp(out + out_len - 2, "}\n") == 0);
    ck_assert_str_eq(field(n, "before")->val, "1");
    ck_assert_str_eq(field(n, "truncated")->val, "true");
    ck_assert_str_eq(kv[n - 1].key, "truncated");
    for (int i = 0; i < n; i++)
        ck_assert_str_ne(kv[i].key, "after");
    v = field(n, "huge")->val;
    vlen = strlen(v);
    ck_assert_uint_gt(vlen, LOG_LINE_MAX / 2);
    ck_assert_str_eq(v + vlen - 3, "\xe2\x80\xa6"); /* "…" */
}
END_TEST

START_TEST(log_should_cut_multibyte_and_escaped_strings_on_a_boundary)
{
    static char euros[3 * LOG_LINE_MAX], quotes[LOG_LINE_MAX];

    for (size_t i = 0; i + 3 < sizeof euros; i += 3)
        memcpy(euros + i, "\xe2\x82\xac", 3);
    log_info(euros);
    parse_captured(); /* also checks the line is valid UTF-8 */
    ck_assert_uint_le(out_len, LOG_LINE_MAX);
    ck_assert_str_eq(kv[4].key, "truncated");

    memset(quotes, '"', sizeof quotes - 1);
    log_info("quotes", LOG_STR("q", quotes));
    parse_captured();
    ck_assert_uint_le(out_len, LOG_LINE_MAX);
}
END_TEST

START_TEST(log_should_write_null_for_null_strings)
{
    int n;

    log_info(NULL, LOG_STR("s", NULL), LOG_STR(NULL, "v"));
    n = parse_captured();
    ck_assert(field(n, "msg")->kind == 'z');
    ck_assert(field(n, "s")->kind == 'z');
    ck_assert_str_eq(field(n, "(null)")->val, "v");
}
END_TEST

START_TEST(log_should_preserve_errno)
{
    errno = ERANGE;
    log_info("keeps errno");
    ck_assert_int_eq(errno, ERANGE);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, log_should_write_one_json_object_with_fields_in_order);
    tcase_add_test(tc, log_should_write_lines_without_fields);
    tcase_add_test(tc, log_should_name_the_process_given_to_log_init);
    tcase_add_test(tc, log_should_escape_quotes_backslashes_and_control_chars);
    tcase_add_test(tc, log_should_pass_valid_utf8_and_replace_invalid_bytes);
    tcase_add_test(tc, log_should_write_nan_and_infinities_as_strings);
    tcase_add_test(tc, log_should_write_doubles_that_read_back_exactly);
    tcase_add_test(tc, log_should_write_integer_extremes);
    tcase_add_test(tc, log_should_drop_lines_below_the_level);
    tcase_add_test(tc, log_should_take_the_level_from_se_log_level);
    tcase_add_test(tc, log_should_warn_and_keep_the_level_on_a_bad_se_log_level);
    tcase_add_test(tc, log_levels_should_parse_name_and_cycle);
    tcase_add_test(tc, log_should_truncate_a_huge_string_into_one_valid_line);
    tcase_add_test(tc, log_should_cut_multibyte_and_escaped_strings_on_a_boundary);
    tcase_add_test(tc, log_should_write_null_for_null_strings);
    tcase_add_test(tc, log_should_preserve_errno);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Fork mode is check's default; it is left to CK_FORK so that
     * CK_FORK=no can run the suite in one process under valgrind. */
    SRunner *sr = srunner_create(log_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
