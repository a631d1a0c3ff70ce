/* settings.c -- reads the engine.* keys that shape the shared memory. */
#include "shm/settings.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
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

const char *const shm_role_key[SHM_ROLE_COUNT] = { "ingest", "strategies", "riskd", "execd" };

/* engine.users: a user (name or number) per role, all of them or none. */
static int load_users(const cfg_t *cfg, shm_settings_t *out)
{
    int given = 0;
    for (int i = 0; i < SHM_ROLE_COUNT; i++) {
        char key[64];
        const char *name;
        snprintf(key, sizeof key, "engine.users.%s", shm_role_key[i]);
        int rc = cfg_get_string(cfg, key, "", &name);
        if (rc < 0)
            return rc;
        if (!name[0])
            continue;
        given++;
        char *end;
        errno = 0;
        unsigned long n = strtoul(name, &end, 10);
        struct passwd *pw = *end || errno ? getpwnam(name) : getpwuid((uid_t)n);
        if (!pw)
            return cfg_value_error(cfg, key, "no such user '%s'", name);
        if (pw->pw_uid == 0)
            return cfg_value_error(cfg, key, "'%s' is root: a role's user must not be", name);
        if (strlen(name) >= sizeof out->user[i])
            return cfg_value_error(cfg, key, "user name '%s' is too long", name);
        strcpy(out->user[i], name);
        out->uid[i] = pw->pw_uid;
        out->gid[i] = pw->pw_gid;
    }
    if (given == 0)
        return 0;
    if (given != SHM_ROLE_COUNT)
        return cfg_value_error(cfg, "engine.users", "give a user for every role (ingest, strategies, riskd, "
                               "execd), or none");
    if (!out->perm.use_group)
        return cfg_value_error(cfg, "engine.users", "needs engine.shmGroup: the users share their rings "
                               "through that group");
    for (int i = 0; i < SHM_ROLE_COUNT; i++)
        for (int j = 0; j < i; j++)
            if (out->uid[i] == out->uid[j] && (i == SHM_ROLE_STRATEGY || j == SHM_ROLE_STRATEGY))
                return cfg_value_error(cfg, "engine.users", "strategies must have a user of their own, not "
                                       "%s's", shm_role_key[i == SHM_ROLE_STRATEGY ? j : i]);
    out->have_users = true;
    /* Only execd's user may move its position in ring ord. */
    out->order_perm.use_reg_gid = true;
    out->order_perm.reg_gid = out->gid[SHM_ROLE_EXECD];
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
    out->order_perm = out->perm;
    if ((rc = load_users(cfg, out)) < 0)
        return rc;
    /* The segments this process will map are those its own settings make. */
    shm_trust_t t = { .use_group = out->perm.use_group, .gid = out->perm.gid };
    for (int i = 0; out->have_users && i < SHM_ROLE_COUNT; i++)
        t.users[t.nusers++] = out->uid[i];
    if (out->order_perm.use_reg_gid)
        t.groups[t.ngroups++] = out->order_perm.reg_gid;
    /* Each ring belongs to its writer's user alone: another engine user (a
     * strategy's) cannot plant ord, in or exe before their writer starts. */
    static const struct {
        const char *ring;
        shm_role_t role;
    } writers[] = { { "in", SHM_ROLE_INGEST }, { "exe", SHM_ROLE_EXECD }, { "ord", SHM_ROLE_RISKD },
                    { "risk", SHM_ROLE_RISKD }, { "sig.", SHM_ROLE_STRATEGY },
                    { "stats.ingest", SHM_ROLE_INGEST }, { "stats.execd", SHM_ROLE_EXECD },
                    { "stats.riskd", SHM_ROLE_RISKD }, { "stats.strategyd.", SHM_ROLE_STRATEGY } };
    for (size_t i = 0; out->have_users && i < sizeof writers / sizeof writers[0]; i++) {
        snprintf(t.writers[t.nwriters].ring, sizeof t.writers[0].ring, "%s", writers[i].ring);
        t.writers[t.nwriters++].uid = out->uid[writers[i].role];
    }
    if (out->have_users) { /* engine.users runs under a supervisor started as root */
        snprintf(t.writers[t.nwriters].ring, sizeof t.writers[0].ring, "stats.supervisor");
        t.writers[t.nwriters++].uid = 0;
    }
    shm_trust_set(&t);
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
