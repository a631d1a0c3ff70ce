/* init_fails.c -- a test plugin whose init refuses its configuration. */
#include <errno.h>
#include <stddef.h>

#include "strategy.h"

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
static int fill(void *s, const strat_fill_t *f) { (void)s; (void)f; return 0; }
static int pos(void *s, const strat_position_t *p) { (void)s; (void)p; return 0; }
static int start(void *s) { (void)s; return 0; }
static int stop(void *s) { (void)s; return 0; }
static int running(void *s) { (void)s; return 0; }
static void destroy(void *s) { (void)s; }

static const strat_plugin_t plugin = {
    .abi_version = STRAT_ABI_VERSION, .size = sizeof(strat_plugin_t), .name = "init_fails",
    .create = create, .init = init, .on_market_data = tick, .on_fill = fill,
    .on_position_update = pos, .start = start, .stop = stop, .is_running = running,
    .destroy = destroy,
};

STRAT_EXPORT const strat_plugin_t *strat_plugin_entry(const strat_host_t *host);
const strat_plugin_t *strat_plugin_entry(const strat_host_t *host)
{
    (void)host;
    return &plugin;
}
