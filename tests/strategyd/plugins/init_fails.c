/* init_fails.c -- a test plugin whose init refuses its configuration. */
#include <errno.h>
#include <stddef.h>

#include "fixture.h"

static const strat_host_t *the_host;
static int state;

static void *create(const strat_host_t *host) { the_host = host; return &state; }
static int init(void *s)
{
    (void)s;
    the_host->log(the_host->ctx, STRAT_LOG_ERROR, "init_fails: threshold must be positive");
    return -EINVAL;
}
static int tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n) { (void)s; (void)t; (void)o; (void)n; return 0; }

FIXTURE_PLUGIN("init_fails", create, init, tick)
