/* wrong_abi.c -- a test plugin built against a future ABI version. */
#include <stddef.h>

#include "strategy.h"

static const strat_plugin_t plugin = {
    .abi_version = STRAT_ABI_VERSION + 1,
    .size = sizeof(strat_plugin_t),
    .name = "wrong_abi",
};

STRAT_EXPORT const strat_plugin_t *strat_plugin_entry(const strat_host_t *host);
const strat_plugin_t *strat_plugin_entry(const strat_host_t *host)
{
    (void)host;
    return &plugin;
}
