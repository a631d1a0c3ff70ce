/* log.h -- structured logging: one JSON object per line on stderr.
 * Used by every process for cold-path events; never call it per record. */
#ifndef SE_LOG_H
#define SE_LOG_H

#include <stdbool.h>
#include <stdint.h>

/* Not LOG_DEBUG/LOG_INFO: those are <syslog.h> macros. */
typedef enum {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO  = 1,
    LOG_LEVEL_WARN  = 2,
    LOG_LEVEL_ERROR = 3,
} log_level_t;

/* A line, newline included, is at most this long; it equals PIPE_BUF on Linux,
 * so one write(2) to a pipe is atomic and lines from concurrent processes
 * never interleave. Longer lines are cut (see log_write). */
#define LOG_LINE_MAX 4096

typedef enum {
    LOG_FT_END = 0,
    LOG_FT_STR,
    LOG_FT_INT,
    LOG_FT_UINT,
    LOG_FT_F64,
    LOG_FT_BOOL,
} log_field_type_t;

/* One key/value pair. Build them with the LOG_* macros below; key and string
 * values are borrowed for the duration of the log call. */
typedef struct {
    const char *key;
    log_field_type_t type;
    union {
        const char *s;
        int64_t i;
        uint64_t u;
        double d;
        bool b;
    };
} log_field_t;

#define LOG_STR(k, v)  ((log_field_t){ .key = (k), .type = LOG_FT_STR, .s = (v) })
#define LOG_INT(k, v)  ((log_field_t){ .key = (k), .type = LOG_FT_INT, .i = (int64_t)(v) })
#define LOG_UINT(k, v) ((log_field_t){ .key = (k), .type = LOG_FT_UINT, .u = (uint64_t)(v) })
#define LOG_F64(k, v)  ((log_field_t){ .key = (k), .type = LOG_FT_F64, .d = (double)(v) })
#define LOG_BOOL(k, v) ((log_field_t){ .key = (k), .type = LOG_FT_BOOL, .b = (v) })
#define LOG_END        ((log_field_t){ .key = 0, .type = LOG_FT_END })

/* log_info("ring attached", LOG_STR("ring", name), LOG_INT("capacity", cap));
 * log_warn("no fields"); */
#define LOG__FIELDS(...) ((const log_field_t[]){ __VA_ARGS__ __VA_OPT__(,) LOG_END })
#define log_debug(msg, ...) log_write(LOG_LEVEL_DEBUG, (msg), LOG__FIELDS(__VA_ARGS__))
#define log_info(msg, ...)  log_write(LOG_LEVEL_INFO, (msg), LOG__FIELDS(__VA_ARGS__))
#define log_warn(msg, ...)  log_write(LOG_LEVEL_WARN, (msg), LOG__FIELDS(__VA_ARGS__))
#define log_error(msg, ...) log_write(LOG_LEVEL_ERROR, (msg), LOG__FIELDS(__VA_ARGS__))

/* Sets the "process" field of every later line (copied; at most 63 bytes
 * kept; NULL restores the default "engine") and re-reads SE_LOG_LEVEL from the
 * environment (also read at program start). Call once at start-up, before
 * other threads log: the name is not protected against concurrent writers. */
void log_init(const char *process_name);

/* Lines below level are dropped. Overrides SE_LOG_LEVEL; thread-safe. */
void log_set_level(log_level_t level);

/* Returns the current threshold. */
log_level_t log_get_level(void);

/* Parses "debug", "info", "warn" or "error" (any case) into *out. Returns 0
 * or -EINVAL (out untouched). */
int log_level_parse(const char *name, log_level_t *out);

/* The name of a level ("debug" ... "error"); "error" for anything beyond. */
const char *log_level_name(log_level_t level);

/* Moves the threshold one step, debug -> info -> warn -> error -> debug
 * (SIGUSR1), atomically, and returns the new level. */
log_level_t log_cycle_level(void);

/* Sends later lines to fd (default 2, stderr). The caller keeps ownership of
 * fd. Meant for tests. */
void log_set_fd(int fd);

/* Writes one line {"ts","level","process","msg",fields...} with one write(2)
 * if level passes the threshold. fields is terminated by a LOG_FT_END entry
 * and may be NULL. A NULL msg or string value is written as null, a NULL key
 * as "(null)".
 * Strings are JSON-escaped; invalid UTF-8 bytes become \ufffd, so the line is
 * always valid JSON. NaN and infinities are written as the strings "NaN",
 * "Infinity", "-Infinity". A line that would exceed LOG_LINE_MAX is cut: the
 * string being written ends in "…", later fields are dropped and
 * "truncated":true is appended. Write errors are ignored (nowhere to report). */
void log_write(log_level_t level, const char *msg, const log_field_t *fields);

#endif
