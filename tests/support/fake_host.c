/* fake_host.c -- the strategy tests' host: config, clock, order ids and logs
 * under the test's control. See fake_host.h. */
#include "tests/support/fake_host.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V_INT, V_DOUBLE, V_BOOL, V_STRING };

typedef struct {
    char key[64];
    int type;
    int64_t i;
    double d;
    bool b;
    char s[128];
} fake_value_t;

struct fake_host {
    strat_host_t api;
    char name[24]; /* short enough that "<name>-1-<seq>" always fits STRAT_ID_MAX */
    fake_value_t values[FAKE_HOST_MAX_KEYS];
    int n_values;
    int64_t now;
    uint64_t seq;
    char last_id[STRAT_ID_MAX];
    char logs[FAKE_HOST_MAX_LOGS][512];
    int log_levels[FAKE_HOST_MAX_LOGS];
    int n_logs;
};

static const fake_value_t *lookup(const fake_host_t *fh, const char *key)
{
    for (int i = 0; i < fh->n_values; i++)
        if (strcmp(fh->values[i].key, key) == 0)
            return &fh->values[i];
    return NULL;
}

static int get_double(void *ctx, const char *key, double def, double *out)
{
    const fake_value_t *v = lookup(ctx, key);

    if (v == NULL)
        *out = def;
    else if (v->type == V_DOUBLE)
        *out = v->d;
    else if (v->type == V_INT)
        *out = (double)v->i;
    else
        return -EINVAL;
    return 0;
}

static int get_int(void *ctx, const char *key, int64_t def, int64_t *out)
{
    const fake_value_t *v = lookup(ctx, key);

    if (v == NULL)
        *out = def;
    else if (v->type == V_INT)
        *out = v->i;
    else if (v->type == V_DOUBLE && v->d == floor(v->d) && fabs(v->d) < 9e18)
        *out = (int64_t)v->d;
    else
        return -EINVAL;
    return 0;
}

static int get_bool(void *ctx, const char *key, int def, int *out)
{
    const fake_value_t *v = lookup(ctx, key);

    if (v == NULL)
        *out = def;
    else if (v->type == V_BOOL)
        *out = v->b;
    else
        return -EINVAL;
    return 0;
}

static int get_string(void *ctx, const char *key, const char *def, const char **out)
{
    const fake_value_t *v = lookup(ctx, key);

    if (v == NULL)
        *out = def;
    else if (v->type == V_STRING)
        *out = v->s;
    else
        return -EINVAL;
    return 0;
}

static void host_log(void *ctx, int level, const char *msg)
{
    fake_host_t *fh = ctx;

    if (fh->n_logs == FAKE_HOST_MAX_LOGS)
        return;
    snprintf(fh->logs[fh->n_logs], sizeof fh->logs[0], "%s", msg ? msg : "(null)");
    fh->log_levels[fh->n_logs++] = level;
}

static int64_t host_now(void *ctx)
{
    return ((fake_host_t *)ctx)->now;
}

static void host_new_order_id(void *ctx, char out[STRAT_ID_MAX])
{
    fake_host_t *fh = ctx;

    snprintf(out, STRAT_ID_MAX, "%s-1-%" PRIu64, fh->name, ++fh->seq);
    memcpy(fh->last_id, out, STRAT_ID_MAX);
}

fake_host_t *fake_host_new(const char *name)
{
    fake_host_t *fh = calloc(1, sizeof *fh);

    if (fh == NULL)
        abort();
    snprintf(fh->name, sizeof fh->name, "%s", name);
    fh->now = FAKE_HOST_T0_NS;
    fh->api = (strat_host_t){
        .abi_version = STRAT_ABI_VERSION,
        .size = sizeof(strat_host_t),
        .ctx = fh,
        .instance_name = fh->name,
        .config_double = get_double,
        .config_int = get_int,
        .config_bool = get_bool,
        .config_string = get_string,
        .log = host_log,
        .now_ns = host_now,
        .new_order_id = host_new_order_id,
    };
    return fh;
}

void fake_host_free(fake_host_t *fh)
{
    free(fh);
}

const strat_host_t *fake_host_api(fake_host_t *fh)
{
    return &fh->api;
}

/* The slot for key: the existing one, or a new one (aborts past the table). */
static fake_value_t *slot_for(fake_host_t *fh, const char *key)
{
    fake_value_t *v = (fake_value_t *)lookup(fh, key);

    if (v == NULL) {
        if (fh->n_values == FAKE_HOST_MAX_KEYS)
            abort();
        v = &fh->values[fh->n_values++];
        snprintf(v->key, sizeof v->key, "%s", key);
    }
    return v;
}

void fake_host_set_int(fake_host_t *fh, const char *key, int64_t x)
{
    fake_value_t *v = slot_for(fh, key);
    v->type = V_INT;
    v->i = x;
}

void fake_host_set_double(fake_host_t *fh, const char *key, double x)
{
    fake_value_t *v = slot_for(fh, key);
    v->type = V_DOUBLE;
    v->d = x;
}

void fake_host_set_bool(fake_host_t *fh, const char *key, bool x)
{
    fake_value_t *v = slot_for(fh, key);
    v->type = V_BOOL;
    v->b = x;
}

void fake_host_set_string(fake_host_t *fh, const char *key, const char *x)
{
    fake_value_t *v = slot_for(fh, key);
    v->type = V_STRING;
    snprintf(v->s, sizeof v->s, "%s", x);
}

int64_t fake_host_now(const fake_host_t *fh)
{
    return fh->now;
}

void fake_host_advance_ms(fake_host_t *fh, int64_t ms)
{
    fh->now += ms * 1000000;
}

uint64_t fake_host_ids_issued(const fake_host_t *fh)
{
    return fh->seq;
}

const char *fake_host_last_id(const fake_host_t *fh)
{
    return fh->last_id;
}

int fake_host_log_count(const fake_host_t *fh)
{
    return fh->n_logs;
}

const char *fake_host_log_line(const fake_host_t *fh, int i)
{
    return i >= 0 && i < fh->n_logs ? fh->logs[i] : NULL;
}

int fake_host_log_level(const fake_host_t *fh, int i)
{
    return i >= 0 && i < fh->n_logs ? fh->log_levels[i] : -1;
}

bool fake_host_logged(const fake_host_t *fh, int min_level, ...)
{
    for (int i = 0; i < fh->n_logs; i++) {
        bool all = fh->log_levels[i] >= min_level;
        const char *part;
        va_list ap;

        va_start(ap, min_level);
        while (all && (part = va_arg(ap, const char *)) != NULL)
            all = strstr(fh->logs[i], part) != NULL;
        va_end(ap);
        if (all)
            return true;
    }
    return false;
}

void fake_host_clear_logs(fake_host_t *fh)
{
    fh->n_logs = 0;
}

strat_tick_t fake_tick(const char *symbol, double price)
{
    return (strat_tick_t){
        .symbol = symbol,
        .price = price,
        .last = price,
        .flags = STRAT_TICK_HAS_LAST,
        .ts_ns = FAKE_HOST_T0_NS,
    };
}

strat_fill_t fake_fill(const char *client_order_id, const char *symbol, int side, double qty, double price)
{
    return (strat_fill_t){
        .fill_id = "fill",
        .client_order_id = client_order_id,
        .symbol = symbol,
        .side = side,
        .qty = qty,
        .price = price,
        .ts_ns = FAKE_HOST_T0_NS,
    };
}

strat_order_update_t fake_update(const char *client_order_id, const char *symbol, int status, double open_qty)
{
    return (strat_order_update_t){
        .client_order_id = client_order_id,
        .symbol = symbol,
        .status = status,
        .open_qty = open_qty,
        .reason = status == STRAT_ORDER_REJECTED ? "test reject" : "test cancel",
    };
}
