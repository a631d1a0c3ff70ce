/* builtins.h -- the strategies compiled into strategyd (momentum, market_making,
 * scalping). They implement plugins/include/strategy.h exactly as a .so would;
 * the host finds them by name here instead of through dlopen. */
#ifndef STRATEGYD_BUILTINS_H
#define STRATEGYD_BUILTINS_H

#include <stdint.h>

#include "plugins/include/strategy.h"

/* Returns the built-in strategy called name ("momentum", "market_making",
 * "scalping"), or NULL for any other name (and for NULL). The description is
 * static: never freed, valid for the life of the process, and its abi_version
 * is always STRAT_ABI_VERSION. The host uses it as it would a plugin's: create,
 * init, start, ..., destroy. */
const strat_plugin_t *builtin_find(const char *name);

/* Returns the names builtin_find knows, as a static NULL-terminated array
 * (for --help and "unknown strategy" messages). */
const char *const *builtin_names(void);

/* ---- internal: shared by strategyd/builtin_*.c, not for the host --------- */

/* The built-ins' descriptions; each file's header states its behaviour and keys. */
extern const strat_plugin_t builtin__momentum;
extern const strat_plugin_t builtin__market_making;
extern const strat_plugin_t builtin__scalping;

/* Checks that host is usable by a built-in (non-NULL, same ABI version, at
 * least as large as ours). Returns 0 or -EINVAL. Cold: called from create. */
int builtin__check_host(const strat_host_t *host);

/* Logs msg... through host->log at level, prefixed with "<instance>: ".
 * Cold paths only (it formats). */
void builtin__log(const strat_host_t *host, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Config readers for init. Each reads key through the host getter (def when
 * absent) and checks the range. On a wrong type the host getter's negative
 * code is returned; on a value out of range, or not finite, -EINVAL. Either
 * way one ERROR line naming the key is logged through host->log, so init can
 * simply return the code. lo_open makes the lower bound exclusive (> lo
 * instead of >= lo); upper bounds are inclusive. */
int builtin__cfg_double(const strat_host_t *host, const char *key, double def,
                        double lo, int lo_open, double hi, double *out);
int builtin__cfg_int(const strat_host_t *host, const char *key, int64_t def,
                     int64_t lo, int64_t hi, int64_t *out);

/* Reads "max_symbols" (default BUILTIN_MAX_SYMBOLS, 1..4096), the capacity of
 * a built-in's per-symbol tables. Same contract as builtin__cfg_int. */
#define BUILTIN_MAX_SYMBOLS 64
int builtin__cfg_max_symbols(const strat_host_t *host, int *out);

#endif
