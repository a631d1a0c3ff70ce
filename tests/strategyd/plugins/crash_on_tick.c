/* crash_on_tick.c -- a test plugin that loads and starts like any other and
 * then crashes (abort) on its first tick: the supervisor must back off, mark
 * it failed, and leave the rest of the engine running (test_supervisor). */
#include <stdlib.h>
#include <sys/resource.h>

#include "fixture.h"

static int state;

static void *create(const strat_host_t *host) { (void)host; return &state; }
static int init(void *s)
{
    (void)s;
    /* It crashes again and again on purpose: no core file each time. */
    struct rlimit none = { 0, 0 };
    setrlimit(RLIMIT_CORE, &none);
    return 0;
}
static int tick(void *s, const strat_tick_t *t, strat_signal_t *o, int n)
{
    (void)s; (void)t; (void)o; (void)n;
    abort();
}
FIXTURE_PLUGIN("crash_on_tick", create, init, tick)
