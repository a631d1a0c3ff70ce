/* python_host.h -- Python strategies: a script run by an embedded CPython and
 * presented to strategyd behind the native strategy ABI (strat_plugin_t), so
 * the runner treats it like any plugin. Used by host.c
 * (strategies.configs.NAME.script), the tests and bench_strategy.
 * README: "Python strategies" describes what a script sees. */
#ifndef STRATEGYD_PYTHON_HOST_H
#define STRATEGYD_PYTHON_HOST_H

#include "common/config.h"
#include "plugins/include/strategy.h"

#define PYHOST_MAX_SCRIPTS 8         /* loaded at once in one process (strategyd: one) */
#define PYHOST_MAX_METRICS 32        /* entries of the dict metrics() returns */
#define PYHOST_METRIC_NAME_MAX 32    /* a metric name: 31 bytes and a NUL */

/* Loads the script at path for strategy instance `instance`.
 * The interpreter starts on the first call in a process (isolated: PYTHON*
 * variables and the user's site directory are ignored; signal handlers are
 * left to strategyd) and is never finalised. The script runs once as module
 * "se_script_<instance>" with its directory first on sys.path; the strategy
 * class is the one named class_name (NULL or "": the one class the script
 * defines with an on_market_data method). It must have the methods init,
 * on_market_data, on_fill, on_position_update and metrics; start, stop and
 * on_order_update are optional. init(config) receives the setting at
 * cfg_group of cfg as a dict (absent: empty); cfg must outlive the script.
 * On success *out is the ABI table, whose create() finds this script by its
 * host's instance_name. Returns 0, or a negative code with se_errmsg() one line
 * naming the file and line (a SyntaxError, an exception while the script
 * ran) or the class and method that is missing; -EEXIST if instance already
 * has a script. */
int pyhost_load(const char *instance, const char *path, const char *class_name, const cfg_t *cfg,
                const char *cfg_group, const strat_plugin_t **out);

/* Forgets instance's script (removes its module). Strategies created from it
 * must have been destroyed. Unknown instances are ignored. */
void pyhost_unload(const char *instance);

#endif
