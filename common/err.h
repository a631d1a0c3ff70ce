/* err.h -- the engine's error convention: 0 or a negative code, one message table.
 * Used by every module. Hot paths return small enums instead (see shm/ring.h). */
#ifndef SE_ERR_H
#define SE_ERR_H

/* Codes are negative errno values, or one of these engine-specific ones
 * (kept far below any errno so the two never collide). */
enum {
    SE_ENOTREADY = -4001, /* shared segment exists but its writer has not finished it */
    SE_EVERSION  = -4002, /* shared segment has another layout version */
    SE_ECORRUPT  = -4003, /* shared segment fails validation */
    SE_ELAYOUT   = -4004, /* shared segment's kind, record size or capacity differ */
    SE_ECONFIG   = -4005, /* configuration file or value is invalid */
    SE_ERETIRED  = -4006, /* shared segment was replaced by a new one */
    SE_EFOREIGN  = -4007, /* shared segment is not the engine's (owner, group or mode) */
};

/* Returns a static, human-readable description of code (0 or negative). */
const char *se_strerror(int code);

/* Records a detailed message for the calling thread's most recent cold-path
 * failure and returns code, so callers can write `return se_err(-EINVAL, ...)`.
 * The message should say what failed and where (file, line, key, segment). */
int se_err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Returns the calling thread's last message set by se_err, or "" if none.
 * The buffer is thread-local and valid until the next se_err on that thread. */
const char *se_errmsg(void);

#endif
