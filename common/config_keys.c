/* config_keys.c -- the table of configuration keys the engine knows, and the
 * pattern matcher cfg_warn_unknown uses to flag typos. Add new keys here. */
#include "config.h"

#include <stddef.h>
#include <string.h>

/* `*` is exactly one path element; a trailing `.**` is any subtree (or none).
 * Sections owned by one process are open-ended (`x.**`) so that process can
 * grow its keys without touching this table. */
static const char *const known_keys[] = {
    "engine.mode",
    "engine.instance",
    "engine.shmGroup",
    "engine.users.ingest",
    "engine.users.strategies",
    "engine.users.riskd",
    "engine.users.execd",
    "engine.shmPrefix",
    "engine.idleSpinUs",
    "engine.signalBufferSize",
    "engine.signalTtlMs",
    "engine.hotReload",
    "engine.pluginsDir",
    "engine.logLevel",
    "strategies.enabled",
    "strategies.configs.*.**",
    "risk.**",
    "ingest.**",
    /* execd names its keys one by one, so a typo in a limit is warned about. */
    "execution.exeRingCapacity",
    "execution.target",
    "execution.timeoutMs",
    "execution.maxRetries",
    "execution.retryBackoffMs",
    "execution.maxConsecutiveFailures",
    "execution.breakerCooldownMs",
    "execution.maxInFlight",
    "execution.journalFile",
    "execution.journalSync",
    "execution.sim.slippageBps",
    "execution.sim.latencyUs",
    "execution.sim.maxOrders",
    "execution.limits.maxOrderQty",
    "execution.limits.maxOrderNotional",
    "execution.limits.maxOrdersPerSecond",
    "execution.limits.maxOrdersPerSecondPerSymbol",
    "execution.limits.symbols",
    "redis.**",
    "nats.**",
    "http.**",
    "supervisor.maxRestarts",
    "supervisor.restartWindowS",
    "supervisor.backoffInitialMs",
    "supervisor.backoffMaxMs",
    "supervisor.stopTimeoutMs",
    "supervisor.startTimeoutMs",
    "riskd.**",
    "execd.**",
    "strategyd.sandbox", /* confinement of strategy code (strategyd/sandbox.h); also under strategyd.** */
    "strategyd.**",
};

/* End of the path element starting at s: the next '.' or the NUL. */
static const char *elem_end(const char *s)
{
    const char *dot = strchr(s, '.');
    return dot ? dot : s + strlen(s);
}

bool cfg_key_match(const char *pattern, const char *dotted_key)
{
    const char *p = pattern, *k = dotted_key;

    if (!p || !k)
        return false;
    for (;;) {
        const char *pe = elem_end(p), *ke = elem_end(k);
        size_t pn = (size_t)(pe - p), kn = (size_t)(ke - k);

        if (*pe == '\0' && pn == 2 && memcmp(p, "**", 2) == 0)
            return true;
        if (kn == 0)
            return false; /* empty element: "a..b", "a." or "" */
        if (!(pn == 1 && *p == '*') && (pn != kn || memcmp(p, k, pn) != 0))
            return false;
        if (*ke == '\0')
            return *pe == '\0' || strcmp(pe, ".**") == 0;
        if (*pe == '\0')
            return false;
        p = pe + 1;
        k = ke + 1;
    }
}

bool cfg_key_known(const char *dotted_key)
{
    for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++) {
        if (cfg_key_match(known_keys[i], dotted_key))
            return true;
    }
    return false;
}
