/* err.c -- error code table and the thread-local "what went wrong" message.
 * See err.h for the convention. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static __thread char last_msg[512];

const char *se_strerror(int code)
{
    switch (code) {
    case 0: return "success";
    case SE_ENOTREADY: return "shared segment not ready (its writer has not finished creating it)";
    case SE_EVERSION: return "shared segment has another layout version";
    case SE_ECORRUPT: return "shared segment is corrupt";
    case SE_ELAYOUT: return "shared segment layout differs (kind, record size or capacity)";
    case SE_ECONFIG: return "invalid configuration";
    case SE_ERETIRED: return "shared segment was retired and replaced";
    case SE_EFOREIGN: return "shared segment is not the engine's (owner, group or mode)";
    }
    if (code < 0 && code > -4000)
        return strerror(-code);
    return "unknown error";
}

int se_err(int code, const char *fmt, ...)
{
    /* Formatted apart first: callers may pass se_errmsg() itself as an
     * argument, to add context to the message they were given. */
    char msg[sizeof last_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_msg, msg, sizeof msg);
    return code;
}

const char *se_errmsg(void)
{
    return last_msg;
}
