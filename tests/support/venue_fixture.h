/* venue_fixture.h -- live-execution tests: start bin/venue-sim (or any program
 * that prints its port first) on a free loopback port, read its counters,
 * write orders into ring `ord` as riskd would, and look at what execd wrote to
 * ring `exe` -- always polling with a deadline, never sleeping. */
#ifndef TESTS_VENUE_FIXTURE_H
#define TESTS_VENUE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/records.h"
#include "shm/ring.h"

typedef struct {
    pid_t pid;
    int port;
    int out_fd; /* its stdout */
} vf_proc_t;

/* Starts argv (argv[0] a path, NULL-terminated) with stdout on a pipe and
 * stderr to /dev/null (kept with SE_TEST_VERBOSE), and reads the port from
 * its first line. Returns false (child killed) when no port came within
 * `seconds`, or the child's exit status as *status if it exited first. */
bool vf_start(vf_proc_t *p, char *const argv[], int seconds, int *status);

/* bin/venue-sim --port PORT extra... (extra NULL-terminated; PORT 0 = any). */
bool vf_start_venue(vf_proc_t *p, int port, const char *const *extra);

/* SIGTERMs p, waits, and reads its last stdout line into line (the venue's
 * counters). Returns its exit status. */
int vf_stop(vf_proc_t *p, char *line, size_t size);

/* SIGUSR1s a venue and reads the counters line it prints. */
bool vf_counts_now(vf_proc_t *p, char *line, size_t size, int seconds);

/* The integer after "key": in a JSON line, or -1. */
long long vf_json_int(const char *line, const char *key);

/* The string after "key": in a JSON line (no escapes: the venue's own
 * lines) into out; false when absent. */
bool vf_json_str(const char *line, const char *key, char *out, size_t size);

/* The number after "key": in a JSON line, or NAN. */
double vf_json_double(const char *line, const char *key);

/* A loopback TCP port nobody listens on right now. */
int vf_free_port(void);

/* Ring `ord` of instance, created as riskd would (capacity cap). */
void vf_ord_open(shm_writer_t *w, const char *instance, uint32_t cap);

/* Ring `in` of instance, created as ingest would, holding one quote (bid
 * mid - 0.05, ask mid + 0.05) for each symbol of the NULL-terminated list:
 * the prices execd's hard limits value a market order at (an order with no
 * price is refused). Keep w open while execd runs; close it without unlinking. */
void vf_in_open(shm_writer_t *w, const char *instance, const char *const *symbols, double mid);

/* A NEW order (market when price is 0, else limit) or, with cancel, a CANCEL. */
se_order_rec_t vf_order(const char *id, const char *symbol, int side, double qty, double price, bool cancel);

/* Writes o to `ord`, waiting (with a deadline) while the ring is full. */
void vf_ord_write(shm_writer_t *w, const se_order_rec_t *o);

/* Copies the records of ring `exe` of instance into out (at most max) and
 * returns how many, or -1 while the ring does not exist. */
int vf_exe_read(const char *instance, se_exec_rec_t *out, int max);

/* Counts records of exe of kind (0: any) whose reason starts with reason
 * (NULL: any). */
int vf_exe_count(const se_exec_rec_t *e, int n, int kind, const char *reason);

/* Polls ring `exe` until it holds at least `want` records of kind/reason;
 * returns the number of records read into out (all kinds), or -1 at the deadline. */
int vf_exe_wait(const char *instance, se_exec_rec_t *out, int max, int kind, const char *reason, int want,
                int seconds);

/* Counts lines of file starting with prefix (e.g. "S\t"), 0 if missing. */
int vf_file_lines(const char *path, const char *prefix);

/* The value of metric line `name{...}` from `shmtool -i instance stats process`,
 * or NAN. */
double vf_metric(const char *instance, const char *process, const char *name);

#endif
