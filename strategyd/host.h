/* host.h -- strategyd's side of the strategy ABI: the strat_host_t handed to a
 * strategy (its config group, logging, clock, client_order_ids), and loading
 * the strategy itself, built-in or from a plugin .so. */
#ifndef STRATEGYD_HOST_H
#define STRATEGYD_HOST_H

#include <stdint.h>

#include "common/config.h"
#include "plugins/include/strategy.h"

#define HOST_NAME_MAX_LEN 24

typedef struct {
    strat_host_t api;      /* what the strategy sees; api.ctx points back here */
    const cfg_t *cfg;
    char name[40];         /* the instance name from strategies.enabled */
    char group[96];        /* "strategies.configs.<name>." */
    int64_t epoch_s;       /* start time: order ids stay unique across restarts */
    uint64_t order_seq;
    uint64_t config_errors;
    int64_t event_ns;      /* the event being handled: what api.now_ns returns (0: wall clock) */
} host_t;

/* Fills h for strategy instance name (at most HOST_NAME_MAX_LEN bytes, no
 * '.' or '-', which delimit ring names and order ids) reading cfg, which
 * must outlive h. Returns 0 or -EINVAL for a bad name. */
int host_init(host_t *h, const cfg_t *cfg, const char *name);

typedef struct {
    const strat_plugin_t *plugin;
    strat_run_fn run; /* the plugin's optional strat_plugin_run (strategy.h), or NULL */
    void *dl;   /* dlopen handle, NULL for a built-in */
    char source[256]; /* "built-in momentum" or the .so path, for logs */
    char script_of[HOST_NAME_MAX_LEN + 1]; /* a Python script's instance, "" for none */
} loaded_t;

/* Finds the strategy of instance h->name: the Python script named by
 * strategies.configs.<name>.script (python_host.h; its class by
 * strategies.configs.<name>.class, optional), else the plugin .so named by
 * strategies.configs.<name>.plugin (relative paths of both are taken from
 * engine.pluginsDir), else the built-in named by strategies.configs.<name>.builtin
 * (default: the instance name). Refuses, with one clear message, a missing
 * file, a missing entry point, an entry that declines, or an ABI mismatch;
 * for a script, a syntax error or exception (file and line), or a missing
 * class or method.
 * Returns 0 or a negative code (se_errmsg says what and where). */
int host_load(host_t *h, loaded_t *out);

/* Loads instance h->name's strategy (host_load), creates and initialises
 * it, then destroys and unloads it: `strategyd --check`, which a supervisor
 * runs before it restarts a strategy on a new plugin or script. Returns 0 or
 * a negative code (se_errmsg says which step refused). */
int host_check(host_t *h);

/* Runs body(arg) -- the event loop that calls the strategy -- through the
 * plugin's strat_plugin_run when it exports one, else directly; on the
 * calling thread either way. Returns body's result. */
int host_run(const loaded_t *l, int (*body)(void *arg), void *arg);

/* dlcloses a plugin or forgets a script (nothing for a built-in). */
void host_unload(loaded_t *l);

#endif
