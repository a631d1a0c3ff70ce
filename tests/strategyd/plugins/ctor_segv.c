/* ctor_segv.c -- a test plugin whose constructor crashes (SIGSEGV) as soon
 * as it is loaded: `strategyd --check` must report a failed check, and
 * survive it (test_sandbox). */
#include <signal.h>

#include "fixture.h"

__attribute__((constructor)) static void on_load(void)
{
    raise(SIGSEGV);
}

static int the_state;
static void *create(const strat_host_t *host) { (void)host; return &the_state; }
static int init(void *s) { (void)s; return 0; }
static int tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n) { (void)s; (void)t; (void)o; (void)n; return 0; }

FIXTURE_PLUGIN("ctor_segv", create, init, tick)
