/* settings.c -- reads the engine.* keys that shape the shared memory. */
#include "shm/settings.h"

#include <errno.h>
#include <grp.h>
#include <string.h>

#include "common/err.h"

static int copy_name(const cfg_t *cfg, const char *key, const char *def, char *out, size_t size)
{
    const char *v;
    int rc = cfg_get_string(cfg, key, def, &v);
    if (rc < 0)
        return rc;
    char probe[SHM_NAME_MAX];
    /* Validate it in the position it will take in a segment name. */
    rc = strcmp(key, "engine.shmPrefix") == 0 ? shm_name(probe, sizeof probe, v, NULL, "x")
                                              : shm_name(probe, sizeof probe, NULL, v, "x");
    if (rc < 0 || strlen(v) >= size)
        return cfg_value_error(cfg, key, "%s", se_errmsg());
    strcpy(out, v);
    return 0;
}

int shm_settings_load(const cfg_t *cfg, shm_settings_t *out)
{
    memset(out, 0, sizeof *out);
    int rc = copy_name(cfg, "engine.shmPrefix", SHM_DEFAULT_PREFIX, out->prefix, sizeof out->prefix);
    if (rc == 0)
        rc = copy_name(cfg, "engine.instance", SHM_DEFAULT_INSTANCE, out->instance, sizeof out->instance);
    if (rc < 0)
        return rc;
    const char *group;
    if ((rc = cfg_get_string(cfg, "engine.shmGroup", "", &group)) < 0)
        return rc;
    if (group[0]) {
        struct group *g = getgrnam(group);
        if (!g)
            return cfg_value_error(cfg, "engine.shmGroup", "no such group '%s'", group);
        out->perm.use_group = true;
        out->perm.gid = g->gr_gid;
    }
    /* The segments this process will map are those its own settings make. */
    shm_trust_set(&(shm_trust_t){ .use_group = out->perm.use_group, .gid = out->perm.gid });
    int64_t spin_us;
    rc = cfg_get_int_range(cfg, "engine.idleSpinUs", SHM_DEFAULT_IDLE_SPIN_US, 0, 10000, &spin_us);
    if (rc < 0)
        return rc;
    out->idle_spin_ns = spin_us * 1000;
    return 0;
}

int shm_settings_capacity(const cfg_t *cfg, const char *key, uint32_t def, uint32_t min, uint32_t max,
                          uint32_t *out)
{
    int64_t v;
    int rc = cfg_get_int_range(cfg, key, def, min, max, &v);
    if (rc < 0)
        return rc;
    if (v & (v - 1))
        return cfg_value_error(cfg, key, "%lld records is not a power of two", (long long)v);
    *out = (uint32_t)v;
    return 0;
}

int shm_settings_ring_name(const shm_settings_t *s, const char *ring, char *out, size_t size)
{
    return shm_name(out, size, s->prefix, s->instance, ring);
}
