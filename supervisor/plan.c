/* plan.c -- see plan.h. */
#include "supervisor/plan.h"

#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "shm/settings.h"

/* Keys every process reads, so a change to one of them concerns all. */
static const char *const common_keys[] = { "engine.mode", "engine.idleSpinUs", "engine.shmGroup",
                                           "engine.logLevel", "http" };
/* The sections each process reads besides those (DESIGN.md's config keys). */
static const char *const ingest_keys[] = { "ingest", "redis", "nats" };
/* execd's hard limits default to multiples of these riskd limits (execd/limits.h). */
static const char *const execd_keys[] = { "execution", "execd", "risk.maxOrderSize", "risk.maxOrderValue",
                                          "risk.maxOrdersPerSecond" };
/* Not strategies.enabled: riskd follows it while it runs. */
static const char *const riskd_keys[] = { "risk", "riskd", "engine.signalBufferSize", "engine.signalTtlMs" };

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
}

static uint64_t hash_keys(const cfg_t *cfg, uint64_t h, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = mix(h, cfg_hash(cfg, keys[i]));
    return h;
}

#define HASH_KEYS(cfg, h, keys) hash_keys((cfg), (h), (keys), sizeof(keys) / sizeof((keys)[0]))

static int load_policy(const cfg_t *cfg, plan_t *p)
{
    int64_t max, window, initial, bmax, stop, start;
    int rc;
    if ((rc = cfg_get_int_range(cfg, "supervisor.maxRestarts", 5, 0, PROC_HISTORY - 1, &max)) < 0 ||
        (rc = cfg_get_int_range(cfg, "supervisor.restartWindowS", 60, 1, 86400, &window)) < 0 ||
        (rc = cfg_get_int_range(cfg, "supervisor.backoffInitialMs", 100, 1, 60000, &initial)) < 0 ||
        (rc = cfg_get_int_range(cfg, "supervisor.backoffMaxMs", 5000, 1, 600000, &bmax)) < 0 ||
        (rc = cfg_get_int_range(cfg, "supervisor.stopTimeoutMs", 5000, 10, 600000, &stop)) < 0 ||
        (rc = cfg_get_int_range(cfg, "supervisor.startTimeoutMs", 10000, 10, 600000, &start)) < 0 ||
        (rc = cfg_get_bool(cfg, "engine.hotReload", true, &p->hot_reload)) < 0)
        return rc;
    if (bmax < initial)
        return cfg_value_error(cfg, "supervisor.backoffMaxMs", "%lld is below supervisor.backoffInitialMs (%lld)",
                               (long long)bmax, (long long)initial);
    p->policy = (proc_policy_t){ (int)max, window * 1000000000, initial * 1000000, bmax * 1000000,
                                 stop * 1000000, start * 1000000 };
    return 0;
}

/* The file strategy name loads: strategies.configs.<name>.plugin or .script,
 * relative to engine.pluginsDir unless absolute (as strategyd resolves it). */
static int strategy_file(const cfg_t *cfg, const char *name, char *out, size_t size)
{
    char key[160];
    const char *file, *dir;
    int rc = cfg_get_string(cfg, "engine.pluginsDir", "plugins", &dir);
    snprintf(key, sizeof key, "strategies.configs.%s.plugin", name);
    if (rc < 0 || (rc = cfg_get_string(cfg, key, "", &file)) < 0)
        return rc;
    if (!file[0]) {
        snprintf(key, sizeof key, "strategies.configs.%s.script", name);
        if ((rc = cfg_get_string(cfg, key, "", &file)) < 0)
            return rc;
    }
    out[0] = '\0';
    if (file[0] == '/')
        snprintf(out, size, "%s", file);
    else if (file[0])
        snprintf(out, size, "%s/%s", dir, file);
    return 0;
}

static plan_proc_t *add(plan_t *p, const char *name, proc_kind_t kind, uint64_t hash)
{
    plan_proc_t *e = &p->procs[p->n++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->kind = kind;
    e->hash = hash;
    return e;
}

int plan_load(const cfg_t *cfg, plan_t *out)
{
    memset(out, 0, sizeof *out);
    shm_settings_t set;
    int rc;
    if ((rc = shm_settings_load(cfg, &set)) < 0 || (rc = load_policy(cfg, out)) < 0)
        return rc;
    snprintf(out->prefix, sizeof out->prefix, "%s", set.prefix);
    snprintf(out->instance, sizeof out->instance, "%s", set.instance);
    uint64_t common = HASH_KEYS(cfg, 0, common_keys);
    add(out, "ingest", PROC_INGEST, HASH_KEYS(cfg, common, ingest_keys));
    add(out, "execd", PROC_EXECD, HASH_KEYS(cfg, common, execd_keys));
    add(out, "riskd", PROC_RISKD, HASH_KEYS(cfg, common, riskd_keys));
    const char **enabled;
    int n;
    if ((rc = cfg_get_string_list(cfg, "strategies.enabled", &enabled, &n)) < 0)
        return rc;
    if (n > PROC_MAX - 3)
        return cfg_value_error(cfg, "strategies.enabled", "%d strategies, at most %d", n, PROC_MAX - 3);
    for (int i = 0; i < n; i++) {
        const char *s = enabled[i];
        /* strategyd's rule (host.h): its name goes into ring names and order ids. */
        if (!s[0] || strlen(s) > 24 || strpbrk(s, ".-/ "))
            return cfg_value_error(cfg, "strategies.enabled",
                                   "strategy name '%s' must be 1-24 bytes without '.', '-', '/' or spaces", s);
        for (int k = 0; k < i; k++)
            if (strcmp(enabled[k], s) == 0)
                return cfg_value_error(cfg, "strategies.enabled", "strategy '%s' is named twice", s);
        char name[PROC_NAME_MAX], group[160];
        snprintf(name, sizeof name, "strategyd.%s", s);
        snprintf(group, sizeof group, "strategies.configs.%s", s);
        uint64_t h = mix(mix(mix(common, cfg_hash(cfg, group)), cfg_hash(cfg, "strategyd")),
                         cfg_hash(cfg, "engine.pluginsDir"));
        plan_proc_t *e = add(out, name, PROC_STRATEGY, h);
        snprintf(e->strategy, sizeof e->strategy, "%s", s);
        if ((rc = strategy_file(cfg, s, e->file, sizeof e->file)) < 0)
            return rc;
    }
    return 0;
}

const plan_proc_t *plan_find(const plan_t *p, const char *name)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->procs[i].name, name) == 0)
            return &p->procs[i];
    return NULL;
}
