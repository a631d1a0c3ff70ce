/* fixture.h -- what the test plugins in this directory share: no-op
 * callbacks for the parts of the ABI a fixture does not exercise, and the
 * plugin table with its exported entry point. Each fixture .c includes it
 * once and defines only the callbacks it is about. */
#ifndef TEST_PLUGIN_FIXTURE_H
#define TEST_PLUGIN_FIXTURE_H

#include "strategy.h"

static int fixture_fill(void *s, const strat_fill_t *f) { (void)s; (void)f; return 0; }
static int fixture_pos(void *s, const strat_position_t *p) { (void)s; (void)p; return 0; }
static int fixture_start(void *s) { (void)s; return 0; }
static int fixture_stop(void *s) { (void)s; return 0; }
static int fixture_running(void *s) { (void)s; return 1; }
static void fixture_destroy(void *s) { (void)s; }

/* Defines the plugin named NAME from create, init and on_market_data. */
#define FIXTURE_PLUGIN(NAME, CREATE, INIT, TICK)                                                      \
    static const strat_plugin_t plugin = {                                                            \
        .abi_version = STRAT_ABI_VERSION, .size = sizeof(strat_plugin_t), .name = NAME,               \
        .create = CREATE, .init = INIT, .on_market_data = TICK, .on_fill = fixture_fill,             \
        .on_position_update = fixture_pos, .start = fixture_start, .stop = fixture_stop,              \
        .is_running = fixture_running, .destroy = fixture_destroy,                                    \
    };                                                                                                \
    STRAT_EXPORT const strat_plugin_t *strat_plugin_entry(const strat_host_t *host);                  \
    const strat_plugin_t *strat_plugin_entry(const strat_host_t *host)                               \
    {                                                                                                 \
        (void)host;                                                                                   \
        return &plugin;                                                                               \
    }

#endif
