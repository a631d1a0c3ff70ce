/* fake_host.h -- a strat_host_t for strategy tests: an in-memory config the
 * test fills, a clock the test moves, predictable order ids, captured logs. */
#ifndef TESTS_FAKE_HOST_H
#define TESTS_FAKE_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "plugins/include/strategy.h"

#define FAKE_HOST_MAX_KEYS 32
#define FAKE_HOST_MAX_LOGS 64

typedef struct fake_host fake_host_t;

/* Allocates a host whose instance_name is name (copied, at most 23 bytes):
 * empty config, clock at FAKE_HOST_T0_NS, no ids handed out, no logs. Aborts
 * on out of memory. */
#define FAKE_HOST_T0_NS 1700000000000000000LL
fake_host_t *fake_host_new(const char *name);

/* Frees the host. The strategy using it must have been destroyed. */
void fake_host_free(fake_host_t *fh);

/* The strat_host_t to hand to create or to a plugin's entry point (owned by fh). */
const strat_host_t *fake_host_api(fake_host_t *fh);

/* Sets key (copied) to a value of one type, replacing any earlier value.
 * The getters then behave as the engine's (common/config.h): config_double
 * takes ints and doubles, config_int takes ints and integral doubles, bool
 * and string only their own type; any other type returns -EINVAL and leaves
 * *out alone; an absent key gives the default. */
void fake_host_set_int(fake_host_t *fh, const char *key, int64_t v);
void fake_host_set_double(fake_host_t *fh, const char *key, double v);
void fake_host_set_bool(fake_host_t *fh, const char *key, bool v);
void fake_host_set_string(fake_host_t *fh, const char *key, const char *v);

/* The clock now_ns returns; it only moves when the test moves it. */
int64_t fake_host_now(const fake_host_t *fh);
void fake_host_advance_ms(fake_host_t *fh, int64_t ms);

/* new_order_id writes "<name>-1-<seq>", seq counting from 1. These return the
 * number handed out so far and the last one ("" if none). */
uint64_t fake_host_ids_issued(const fake_host_t *fh);
const char *fake_host_last_id(const fake_host_t *fh);

/* Captured log lines (the first FAKE_HOST_MAX_LOGS), in order. */
int fake_host_log_count(const fake_host_t *fh);
const char *fake_host_log_line(const fake_host_t *fh, int i);
int fake_host_log_level(const fake_host_t *fh, int i);
/* True if some line at level >= min_level contains every one of the given
 * substrings (NULL-terminated list). */
bool fake_host_logged(const fake_host_t *fh, int min_level, ...) __attribute__((sentinel));
void fake_host_clear_logs(fake_host_t *fh);

/* Borrowed-pointer records for feeding a strategy, built on the stack. */
strat_tick_t fake_tick(const char *symbol, double price);
strat_fill_t fake_fill(const char *client_order_id, const char *symbol, int side, double qty, double price);
strat_order_update_t fake_update(const char *client_order_id, const char *symbol, int status, double open_qty);

#endif
