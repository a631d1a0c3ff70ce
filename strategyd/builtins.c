/* builtins.c -- the table of strategies compiled into strategyd, and the cold
 * helpers they share (host checks, logging, validated config reads). */
#include "strategyd/builtins.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const strat_plugin_t *const table[] = {
    &builtin__momentum,
    &builtin__market_making,
    &builtin__scalping,
};

static const char *const names[] = { "momentum", "market_making", "scalping", NULL };

_Static_assert(sizeof table / sizeof table[0] + 1 == sizeof names / sizeof names[0],
               "every built-in has a name");

const strat_plugin_t *builtin_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

const char *const *builtin_names(void)
{
    return names;
}

int builtin__check_host(const strat_host_t *host)
{
    if (host == NULL || host->abi_version != STRAT_ABI_VERSION || host->size < sizeof(strat_host_t))
        return -EINVAL;
    if (host->config_double == NULL || host->config_int == NULL || host->log == NULL ||
        host->now_ns == NULL || host->new_order_id == NULL)
        return -EINVAL;
    return 0;
}

void builtin__log(const strat_host_t *host, int level, const char *fmt, ...)
{
    char msg[512];
    int n;
    va_list ap;

    n = snprintf(msg, sizeof msg, "%s: ", host->instance_name ? host->instance_name : "strategy");
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    host->log(host->ctx, level, msg);
}

int builtin__cfg_double(const strat_host_t *host, const char *key, double def,
                        double lo, int lo_open, double hi, double *out)
{
    double v;
    int rc = host->config_double(host->ctx, key, def, &v);

    if (rc < 0) {
        builtin__log(host, STRAT_LOG_ERROR, "config key '%s': wrong type, expected a number", key);
        return rc;
    }
    /* !(a <= b) rather than a > b so that NaN is refused too. */
    if (!isfinite(v) || (lo_open ? !(v > lo) : !(v >= lo)) || !(v <= hi)) {
        builtin__log(host, STRAT_LOG_ERROR, "config key '%s' = %.17g is out of range: must be in %c%.17g, %.17g]",
                     key, v, lo_open ? '(' : '[', lo, hi);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int builtin__cfg_int(const strat_host_t *host, const char *key, int64_t def,
                     int64_t lo, int64_t hi, int64_t *out)
{
    int64_t v;
    int rc = host->config_int(host->ctx, key, def, &v);

    if (rc < 0) {
        builtin__log(host, STRAT_LOG_ERROR, "config key '%s': wrong type, expected an integer", key);
        return rc;
    }
    if (v < lo || v > hi) {
        builtin__log(host, STRAT_LOG_ERROR, "config key '%s' = %" PRId64 " is out of range: must be in [%" PRId64
                     ", %" PRId64 "]", key, v, lo, hi);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int builtin__cfg_max_symbols(const strat_host_t *host, int *out)
{
    int64_t v;
    int rc = builtin__cfg_int(host, "max_symbols", BUILTIN_MAX_SYMBOLS, 1, 4096, &v);

    if (rc == 0)
        *out = (int)v;
    return rc;
}
