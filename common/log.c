/* log.c -- JSON-lines logger: builds each line in a stack buffer and emits it
 * with one write(2). See log.h for the line format and the limits. */
#include "log.h"

#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Appended instead of the plain "}\n" when anything was cut; its room is kept
 * free while the line is built, so a cut line is still closed properly. */
#define TAIL_CUT ",\"truncated\":true}\n"
#define TAIL_CUT_LEN (sizeof TAIL_CUT - 1)
#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, marks a cut string */
#define ELLIPSIS_LEN (sizeof ELLIPSIS - 1)

static const char *const level_names[] = { "debug", "info", "warn", "error" };

static _Atomic int threshold = LOG_LEVEL_INFO;
static _Atomic int out_fd = 2;
static char process[64] = "engine";

typedef struct {
    char buf[LOG_LINE_MAX];
    size_t len;
    size_t lim; /* LOG_LINE_MAX minus the room kept for TAIL_CUT */
    bool cut;
} line_t;

static void read_env_level(void)
{
    const char *v = getenv("SE_LOG_LEVEL");
    if (!v || !*v)
        return;
    log_level_t level;
    if (log_level_parse(v, &level) == 0) {
        atomic_store_explicit(&threshold, (int)level, memory_order_relaxed);
        return;
    }
    log_warn("SE_LOG_LEVEL not recognised, level unchanged", LOG_STR("value", v),
             LOG_STR("expected", "debug|info|warn|error"));
}

/* Processes that never call log_init still honour SE_LOG_LEVEL. */
__attribute__((constructor)) static void log_env_init(void)
{
    read_env_level();
}

void log_init(const char *process_name)
{
    snprintf(process, sizeof process, "%s", process_name ? process_name : "engine");
    read_env_level();
}

void log_set_level(log_level_t level)
{
    atomic_store_explicit(&threshold, (int)level, memory_order_relaxed);
}

log_level_t log_get_level(void)
{
    return (log_level_t)atomic_load_explicit(&threshold, memory_order_relaxed);
}

int log_level_parse(const char *name, log_level_t *out)
{
    for (int i = LOG_LEVEL_DEBUG; name && i <= LOG_LEVEL_ERROR; i++)
        if (strcasecmp(name, level_names[i]) == 0) {
            *out = (log_level_t)i;
            return 0;
        }
    return -EINVAL;
}

const char *log_level_name(log_level_t level)
{
    return (unsigned)level <= LOG_LEVEL_ERROR ? level_names[level] : level_names[LOG_LEVEL_ERROR];
}

log_level_t log_cycle_level(void)
{
    int cur = atomic_load_explicit(&threshold, memory_order_relaxed), next;
    do
        next = cur >= LOG_LEVEL_ERROR ? LOG_LEVEL_DEBUG : cur + 1;
    while (!atomic_compare_exchange_weak_explicit(&threshold, &cur, next, memory_order_relaxed,
                                                  memory_order_relaxed));
    return (log_level_t)next;
}

void log_set_fd(int fd)
{
    atomic_store_explicit(&out_fd, fd, memory_order_relaxed);
}

/* Length of the valid UTF-8 sequence starting at p, or 0 if it is invalid
 * (bad lead or continuation byte, overlong form, surrogate, > U+10FFFF).
 * Stops at the terminating NUL because NUL is never a continuation byte. */
static size_t utf8_seq_len(const unsigned char *p)
{
    size_t n;
    uint32_t cp, min;

    if (p[0] < 0x80)
        return 1;
    if ((p[0] & 0xE0) == 0xC0) {
        n = 2, cp = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        n = 3, cp = p[0] & 0x0F, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        n = 4, cp = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static bool put(line_t *l, const char *s, size_t n)
{
    if (l->len + n > l->lim)
        return false;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    return true;
}

/* Appends s as a quoted JSON string. When space runs out the string is closed
 * early with an ellipsis and l->cut is set; whole UTF-8 sequences and escapes
 * only, so the result stays valid. False if not even `"…"` fits. */
static bool put_str(line_t *l, const char *s)
{
    const size_t close_len = ELLIPSIS_LEN + 1; /* kept free for `…"` */
    const unsigned char *p = (const unsigned char *)s;

    if (!s)
        return put(l, "null", 4);
    if (l->len + 1 + close_len > l->lim)
        return false;
    l->buf[l->len++] = '"';
    while (*p) {
        char esc[8];
        const char *out = esc;
        size_t n = 2, adv = 1;

        switch (*p) {
        case '"': memcpy(esc, "\\\"", 2); break;
        case '\\': memcpy(esc, "\\\\", 2); break;
        case '\n': memcpy(esc, "\\n", 2); break;
        case '\r': memcpy(esc, "\\r", 2); break;
        case '\t': memcpy(esc, "\\t", 2); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
            } else if (*p < 0x80) {
                out = (const char *)p, n = 1;
            } else if ((adv = utf8_seq_len(p)) > 0) {
                out = (const char *)p, n = adv;
            } else {
                out = "\\ufffd", n = 6, adv = 1;
            }
        }
        if (l->len + n + close_len > l->lim) {
            memcpy(l->buf + l->len, ELLIPSIS, ELLIPSIS_LEN);
            l->len += ELLIPSIS_LEN;
            l->cut = true;
            break;
        }
        memcpy(l->buf + l->len, out, n);
        l->len += n;
        p += adv;
    }
    l->buf[l->len++] = '"';
    return true;
}

/* Shortest of %.15g / %.17g that reads back as the same double. JSON has no
 * NaN or infinities, so those become strings. Assumes the "C" numeric locale. */
static size_t fmt_f64(char *buf, size_t cap, double d)
{
    int n;

    if (isnan(d))
        n = snprintf(buf, cap, "\"NaN\"");
    else if (isinf(d))
        n = snprintf(buf, cap, d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else if ((n = snprintf(buf, cap, "%.15g", d)) > 0 && strtod(buf, NULL) != d)
        n = snprintf(buf, cap, "%.17g", d);
    return (size_t)n;
}

/* Appends `,"key":value`. False if it does not fit whole; a cut string value
 * counts as fitting (it is closed and marked). */
static bool put_field(line_t *l, const log_field_t *f)
{
    char num[40];
    size_t n;

    /* A key must be a string in JSON, so a NULL key cannot be written as null. */
    if (!put(l, ",", 1) || !put_str(l, f->key ? f->key : "(null)") || l->cut || !put(l, ":", 1))
        return false;
    switch (f->type) {
    case LOG_FT_STR: return put_str(l, f->s);
    case LOG_FT_INT: n = (size_t)snprintf(num, sizeof num, "%" PRId64, f->i); break;
    case LOG_FT_UINT: n = (size_t)snprintf(num, sizeof num, "%" PRIu64, f->u); break;
    case LOG_FT_F64: n = fmt_f64(num, sizeof num, f->d); break;
    case LOG_FT_BOOL: return f->b ? put(l, "true", 4) : put(l, "false", 5);
    default: return put(l, "null", 4);
    }
    return put(l, num, n);
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

void log_write(log_level_t level, const char *msg, const log_field_t *fields)
{
    line_t l = { .len = 0, .lim = sizeof l.buf - TAIL_CUT_LEN, .cut = false };
    int saved_errno = errno; /* callers often log and then inspect errno */
    char head[96];
    int64_t ns;
    time_t sec;
    struct tm tm;
    size_t n;

    if ((int)level < atomic_load_explicit(&threshold, memory_order_relaxed))
        return;
    if ((unsigned)level > LOG_LEVEL_ERROR)
        level = LOG_LEVEL_ERROR;

    ns = clock_real_ns();
    sec = (time_t)(ns / 1000000000);
    gmtime_r(&sec, &tm);
    n = strftime(head, sizeof head, "{\"ts\":\"%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(head + n, sizeof head - n, ".%06dZ\",\"level\":\"%s\",\"process\":",
                          (int)(ns % 1000000000 / 1000), level_names[level]);
    put(&l, head, n);
    put_str(&l, process);
    put(&l, ",\"msg\":", 7);
    put_str(&l, msg);

    for (const log_field_t *f = fields; f && f->type != LOG_FT_END && !l.cut; f++) {
        size_t mark = l.len;
        if (!put_field(&l, f)) {
            l.len = mark;
            l.cut = true;
        }
    }

    /* The limit kept TAIL_CUT_LEN bytes free, so either tail fits. */
    if (l.cut) {
        memcpy(l.buf + l.len, TAIL_CUT, TAIL_CUT_LEN);
        l.len += TAIL_CUT_LEN;
    } else {
        memcpy(l.buf + l.len, "}\n", 2);
        l.len += 2;
    }
    write_all(atomic_load_explicit(&out_fd, memory_order_relaxed), l.buf, l.len);
    errno = saved_errno;
}
