/* pipeline_fixture.h -- running the engine's real processes in tests: start
 * them on a test's config, wait (polling shared memory, with a deadline) until
 * they are attached or have read everything, and stop them. */
#ifndef TESTS_PIPELINE_FIXTURE_H
#define TESTS_PIPELINE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/records.h"

/* The directory of the binaries: $SE_BIN_DIR, else "bin". */
const char *pf_bin_dir(void);

/* Starts bin/<prog> -c conf [-s strategy] with stderr to /dev/null (kept
 * with SE_TEST_VERBOSE set). Returns its pid. */
pid_t pf_spawn(const char *conf, const char *prog, const char *strategy);

/* Waits until segment `ring` of instance has at least n live readers.
 * Returns false at the deadline (seconds). */
bool pf_wait_readers(const char *instance, const char *ring, int n, int seconds);

/* Waits until every live reader of every ring of the instance has read up to
 * its writer's head, twice in a row 20 ms apart with no head moving.
 * Returns false at the deadline. */
bool pf_wait_quiet(const char *instance, int seconds);

/* SIGTERMs the processes in the order given and waits for each; returns the
 * number that did not exit with status 0. */
int pf_stop(const pid_t *pids, int n);

/* Names this test's instance "t<pid>-<tag>" (into inst, 40 bytes) and
 * writes its config to /tmp/se-<tag>-<pid>.conf (path into conf, 128
 * bytes): an engine group naming the instance in simulation mode without
 * spin, then extra (more groups). Returns false when the file cannot be
 * written. */
bool pf_instance(char *inst, char *conf, const char *tag, const char *extra);

/* A limit buy of 1 BTC-USD at price, client_order_id id, strategy "alpha":
 * the records a test writes by hand into `ord` or a signal ring. */
se_order_rec_t pf_order(const char *id, double price);
se_signal_rec_t pf_signal(const char *id, double price);

#endif
