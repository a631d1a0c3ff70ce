/* abi.c -- the C half of package strat: the strat_plugin_t table whose
 * functions forward to the Go callbacks of export.go, the exported entry point
 * strat_plugin_entry, and the host shims of abi.h. Compiled by cgo into every
 * Go strategy .so (go build -buildmode=c-shared). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "_cgo_export.h"

/* Go never hands C a Go pointer to keep: a strategy instance is a
 * runtime/cgo.Handle (an integer), boxed here in C memory, which is what the
 * host holds as the state. */
typedef struct {
    uintptr_t handle;
} go_state_t;

#define H(state) (((go_state_t *)(state))->handle)

static void *go_create(const strat_host_t *host)
{
    go_state_t *s = malloc(sizeof *s);

    if (s == NULL)
        return NULL;
    s->handle = goStratCreate((strat_host_t *)host);
    if (s->handle == 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* The host's records are const; cgo's exported prototypes cannot say so. The
 * Go side only reads them. */
static int go_init(void *s) { return goStratInit(H(s)); }
static int go_on_market_data(void *s, const strat_tick_t *t, strat_signal_t *out, int max_out)
{
    return goStratMarketData(H(s), (strat_tick_t *)t, out, max_out);
}
static int go_on_fill(void *s, const strat_fill_t *f) { return goStratFill(H(s), (strat_fill_t *)f); }
static int go_on_position_update(void *s, const strat_position_t *p)
{
    return goStratPosition(H(s), (strat_position_t *)p);
}
static int go_on_order_update(void *s, const strat_order_update_t *u)
{
    return goStratOrderUpdate(H(s), (strat_order_update_t *)u);
}
static int go_start(void *s) { return goStratStart(H(s)); }
static int go_stop(void *s) { return goStratStop(H(s)); }
static int go_is_running(void *s) { return goStratIsRunning(H(s)); }
static int go_metrics(void *s, strat_metric_t *out, int max_out) { return goStratMetrics(H(s), out, max_out); }

static void go_destroy(void *s)
{
    if (s == NULL)
        return;
    goStratDestroy(H(s));
    free(s);
}

static strat_plugin_t plugin = {
    .abi_version = STRAT_ABI_VERSION,
    .size = sizeof(strat_plugin_t),
    .name = NULL, /* the registered strategy's, set by the entry point */
    .create = go_create,
    .init = go_init,
    .on_market_data = go_on_market_data,
    .on_fill = go_on_fill,
    .on_position_update = go_on_position_update,
    .on_order_update = go_on_order_update,
    .start = go_start,
    .stop = go_stop,
    .is_running = go_is_running,
    .metrics = go_metrics,
    .destroy = go_destroy,
};

/* The entry point (with strat_plugin_run below, all the link exports: see
 * plugins/go/exports.map). Like the C example, it answers a host of another ABI
 * version with its own table and leaves the refusal to the host, and touches
 * nothing of a host table too small to be this version's. NULL when no Go
 * strategy called strat.Register, or when the host table is truncated. */
__attribute__((visibility("default"))) const strat_plugin_t *strat_plugin_entry(const strat_host_t *host)
{
    char *name;

    if (host == NULL)
        return NULL;
    if (host->abi_version == STRAT_ABI_VERSION && host->size < sizeof(strat_host_t)) {
        if (host->size >= offsetof(strat_host_t, log) + sizeof host->log && host->log != NULL)
            host->log(host->ctx, STRAT_LOG_ERROR, "go strategy: host function table is too small");
        return NULL;
    }
    name = goStratName();
    if (name == NULL) {
        if (host->abi_version == STRAT_ABI_VERSION && host->log != NULL)
            host->log(host->ctx, STRAT_LOG_ERROR, "go strategy: no strategy registered (call strat.Register in init)");
        return NULL;
    }
    plugin.name = name;
    return &plugin;
}

/* The optional second export (strategy.h): the host's whole event loop runs
 * through goStratRun, which calls it back from Go. The loop is then C code
 * below a Go frame on a thread Go knows, and each callback into Go costs a
 * fraction of what a call from a bare C thread costs with Go before 1.21
 * (that one borrows and returns a runtime thread, with ~9 system calls). */
__attribute__((visibility("default"))) int strat_plugin_run(int (*body)(void *arg), void *arg)
{
    return goStratRun(body, arg);
}

int strat_go_call_body(strat_go_body_fn body, void *arg)
{
    return body(arg);
}

int strat_go_config_double(const strat_host_t *host, const char *key, double def, double *out)
{
    return host->config_double(host->ctx, key, def, out);
}

int strat_go_config_int(const strat_host_t *host, const char *key, int64_t def, int64_t *out)
{
    return host->config_int(host->ctx, key, def, out);
}

int strat_go_config_bool(const strat_host_t *host, const char *key, int def, int *out)
{
    return host->config_bool(host->ctx, key, def, out);
}

int strat_go_config_string(const strat_host_t *host, const char *key, const char *def, const char **out)
{
    return host->config_string(host->ctx, key, def, out);
}

void strat_go_log(const strat_host_t *host, int level, const char *msg)
{
    host->log(host->ctx, level, msg);
}

int64_t strat_go_now_ns(const strat_host_t *host)
{
    return host->now_ns(host->ctx);
}

void strat_go_new_order_id(const strat_host_t *host, char *out)
{
    host->new_order_id(host->ctx, out);
}

/* Appended to only, from the host's one thread (metrics callbacks). */
static char *static_names[STRAT_GO_NAMES_MAX];
static int n_static_names;

const char *strat_go_static_name(const char *name)
{
    size_t len = strlen(name);
    char *copy;

    for (int i = 0; i < n_static_names; i++)
        if (strcmp(static_names[i], name) == 0)
            return static_names[i];
    if (n_static_names == STRAT_GO_NAMES_MAX || (copy = malloc(len + 1)) == NULL)
        return NULL;
    memcpy(copy, name, len + 1);
    static_names[n_static_names++] = copy;
    return copy;
}
