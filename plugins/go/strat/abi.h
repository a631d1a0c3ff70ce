/* abi.h -- the C half of package strat (plugins/go/strat): the shims through
 * which Go calls the host's function pointers, which cgo cannot call itself.
 * Included by the package's Go files (cgo preambles) and by abi.c. */
#ifndef STRAT_GO_ABI_H
#define STRAT_GO_ABI_H

#include <stdint.h>

#include "strategy.h"

/* Each calls the host function of the same name with host->ctx. */
int strat_go_config_double(const strat_host_t *host, const char *key, double def, double *out);
int strat_go_config_int(const strat_host_t *host, const char *key, int64_t def, int64_t *out);
int strat_go_config_bool(const strat_host_t *host, const char *key, int def, int *out);
int strat_go_config_string(const strat_host_t *host, const char *key, const char *def, const char **out);
void strat_go_log(const strat_host_t *host, int level, const char *msg);
int64_t strat_go_now_ns(const strat_host_t *host);
void strat_go_new_order_id(const strat_host_t *host, char *out);

/* The host's event loop, handed to strat_plugin_run (strategy.h). */
typedef int (*strat_go_body_fn)(void *arg);
/* Calls body(arg): Go cannot call a C function pointer itself. */
int strat_go_call_body(strat_go_body_fn body, void *arg);

/* A copy of name that lives as long as the process, the same pointer for
 * the same name: metric names, which the host may keep (strategy.h: "a
 * static string"). NULL once STRAT_GO_NAMES_MAX names are kept, or out of
 * memory. Kept in C memory so that leak checkers see them reachable. */
#define STRAT_GO_NAMES_MAX 256
const char *strat_go_static_name(const char *name);

#endif
