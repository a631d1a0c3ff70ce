/* settings.h -- the engine-wide shared-memory settings read from the config
 * file: instance and prefix (segment names), group access, and the idle spin. */
#ifndef SHM_SETTINGS_H
#define SHM_SETTINGS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "shm/ring.h"

/* Default for engine.idleSpinUs; why this value: README, "The wait". */
#define SHM_DEFAULT_IDLE_SPIN_US 20

/* The kinds of process that may each run as a user of their own. */
typedef enum {
    SHM_ROLE_INGEST,
    SHM_ROLE_STRATEGY,
    SHM_ROLE_RISKD,
    SHM_ROLE_EXECD,
    SHM_ROLE_COUNT,
} shm_role_t;

/* engine.users.<key> for each role: "ingest", "strategies", "riskd", "execd". */
extern const char *const shm_role_key[SHM_ROLE_COUNT];

typedef struct {
    char prefix[33];      /* engine.shmPrefix, default "se" */
    char instance[33];    /* engine.instance, default "default" */
    shm_perm_t perm;      /* engine.shmGroup: rings 0640 and registries 0660 for that group, else 0600 */
    shm_perm_t order_perm; /* ring ord's: as perm, its registry for execd's group alone */
    int64_t idle_spin_ns; /* engine.idleSpinUs, 0..10000 µs */
    bool have_users;      /* engine.users is set: each role runs as its own user */
    char user[SHM_ROLE_COUNT][33];
    uid_t uid[SHM_ROLE_COUNT];
    gid_t gid[SHM_ROLE_COUNT]; /* each user's primary group */
} shm_settings_t;

/* Fills out from cfg (NULL: all defaults) and sets the process's segment trust
 * policy to match (shm_trust_set: own user, the users of engine.users, the
 * group if any, and execd's group). engine.users needs engine.shmGroup: the
 * users share their rings through it. Returns 0, or SE_ECONFIG with a
 * message naming file, line and key (bad names, an unknown group, a spin out
 * of range). */
int shm_settings_load(const cfg_t *cfg, shm_settings_t *out);

/* Reads a ring capacity (records) from key: a power of two in [min, max],
 * def when absent. 0, or SE_ECONFIG naming file, line and key. */
int shm_settings_capacity(const cfg_t *cfg, const char *key, uint32_t def, uint32_t min, uint32_t max,
                          uint32_t *out);

/* The segment name of ring under these settings ("/se.default.in"). 0 or -EINVAL. */
int shm_settings_ring_name(const shm_settings_t *s, const char *ring, char *out, size_t size);

#endif
