/* builtins.c -- the table of strategies compiled into strategyd, and the
 * helpers they share: cold ones (host checks, logging, validated config reads)
 * and the parts of their callbacks that are the same in all of them. */
#include "strategyd/builtins.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

void *builtin__create(const strat_host_t *host, size_t size)
{
    builtin__base_t *b;

    if (builtin__check_host(host) < 0)
        return NULL;
    b = calloc(1, size);
    if (b != NULL)
        b->host = host;
    return b;
}

int builtin__start(void *state)
{
    builtin__base_t *b = state;

    if (!b->initialised)
        return -EINVAL;
    b->running = true;
    return 0;
}

int builtin__stop(void *state)
{
    ((builtin__base_t *)state)->running = false;
    return 0;
}

int builtin__is_running(void *state)
{
    return ((builtin__base_t *)state)->running;
}

int builtin__metrics_out(const strat_metric_t *all, int n, strat_metric_t *out, int max_out)
{
    if (max_out < n)
        n = max_out < 0 ? 0 : max_out;
    if (n > 0)
        memcpy(out, all, (size_t)n * sizeof all[0]);
    return n;
}

int builtin__fill(builtin__base_t *b, symbol_book_t *book, const strat_fill_t *fill)
{
    int slot, rc;

    if (!b->initialised)
        return -EINVAL;
    b->fills++;
    slot = symbol_book_slot(book, fill->symbol);
    rc = slot < 0 ? slot : symbol_book_fill(book, slot, fill);
    if (rc < 0) {
        b->errors++;
        return rc;
    }
    return slot;
}

int builtin__seed(builtin__base_t *b, symbol_book_t *book, const strat_position_t *p, int *slot)
{
    if (!b->initialised)
        return -EINVAL;
    *slot = symbol_book_slot(book, p->symbol);
    if (*slot < 0) {
        b->errors++;
        return *slot;
    }
    return symbol_book_seed(book, *slot, p->qty);
}

int builtin__new_order(builtin__base_t *b, symbol_book_t *book, int slot, int side, int type, double qty,
                       double price, strat_signal_t *out)
{
    int rc;

    memset(out, 0, sizeof *out);
    b->host->new_order_id(b->host->ctx, out->client_order_id);
    rc = symbol_book_track(book, slot, out->client_order_id, side, qty);
    if (rc < 0) {
        b->errors++;
        return rc;
    }
    out->action = STRAT_NEW;
    out->side = side;
    out->type = type;
    out->qty = qty;
    out->price = price;
    memcpy(out->symbol, book->slots[slot].symbol, sizeof out->symbol);
    return 0;
}
