/* settings.h -- the engine-wide shared-memory settings read from the config
 * file: instance and prefix (segment names), group access, and the idle spin. */
#ifndef SHM_SETTINGS_H
#define SHM_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "shm/ring.h"

/* Default for engine.idleSpinUs; why this value: README, "The wait". */
#define SHM_DEFAULT_IDLE_SPIN_US 20

typedef struct {
    char prefix[33];      /* engine.shmPrefix, default "se" */
    char instance[33];    /* engine.instance, default "default" */
    shm_perm_t perm;      /* engine.shmGroup: 0660 for that group, else 0600 */
    int64_t idle_spin_ns; /* engine.idleSpinUs, 0..10000 µs */
} shm_settings_t;

/* Fills out from cfg (NULL: all defaults) and sets the process's segment trust
 * policy to match (shm_trust_set: own user, and the group if any). Returns 0, or SE_ECONFIG with a
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
