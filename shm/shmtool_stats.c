/* shmtool_stats.c -- `shmtool stats PROCESS`: a process's stats block in the
 * Prometheus text format, as its /metrics endpoint will serve it. */
#include <stdio.h>

#include "common/err.h"
#include "shm/shmtool.h"
#include "shm/stats.h"

int shmtool_stats(const shmtool_opts_t *o)
{
    char ring[96], name[SHM_NAME_MAX], why[256];
    snprintf(ring, sizeof ring, "stats.%s", o->ring);
    if (shm_name(name, sizeof name, o->prefix, o->instance, ring) < 0) {
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
        return SHMTOOL_EXIT_USAGE;
    }
    shm_segment_t seg;
    if (shmtool__open(&seg, name, why, sizeof why) < 0) {
        fprintf(stderr, "shmtool: no stats for process '%s' in instance '%s': %s\n", o->ring,
                o->instance, why);
        return SHMTOOL_EXIT_RUNTIME;
    }
    if (!shmtool__same_geometry(&seg)) {
        char what[200];
        shmtool__describe_change(&seg, what, sizeof what);
        fprintf(stderr, "shmtool: stats of process '%s' (%s): %s: it is corrupt, or a peer is rewriting it\n",
                o->ring, name, what);
        shm_segment_unmap(&seg);
        return SHMTOOL_EXIT_RUNTIME;
    }
    /* Slots are read with the geometry validated at map time (seg's copy). */
    int rc = stats_render_prometheus(&seg, o->ring, stdout);
    if (rc < 0)
        fprintf(stderr, "shmtool: %s\n", se_errmsg());
    shm_segment_unmap(&seg);
    return rc < 0 ? SHMTOOL_EXIT_RUNTIME : SHMTOOL_EXIT_OK;
}
