/* ring_fixture.h -- helpers shared by the ring tests: unique segment names,
 * self-checking records, and forked helper processes. */
#ifndef TESTS_RING_FIXTURE_H
#define TESTS_RING_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shm/ring.h"

/* A 56-byte payload (64-byte record) that proves its own integrity: a torn
 * copy (words from two different writes) fails the checksum. */
typedef struct {
    uint64_t pos;         /* ring position it was written at */
    uint64_t incarnation; /* which writer process wrote it */
    uint64_t filler[4];
    uint64_t checksum;
} test_record_t;

_Static_assert(sizeof(test_record_t) == 56, "fills a 64-byte record");

void test_record_fill(test_record_t *r, uint64_t pos, uint64_t incarnation);
bool test_record_intact(const test_record_t *r);

/* Segment name unique to this test process and ring: "/se.t<pid>-<tag>.<ring>". */
void test_ring_name(char *out, size_t size, const char *tag, const char *ring);

/* Removes every /dev/shm entry whose name starts with lead ("se.t123-"), and
 * for an instance's lead ("se.<instance>.") its registry directories too. */
void test_sweep_segments(const char *lead);

/* Removes every segment of this test process's instances (called at exit). */
void test_ring_cleanup(void);

/* Maps the segment writable without any checks, for corrupting it on purpose. */
shm_header_t *test_map_raw(const char *name, size_t *size);

/* Forks; the child runs fn(arg) and _exits with its return value. */
pid_t test_spawn(int (*fn)(void *), void *arg);

/* Waits for pid and returns its exit status, or 128+signal if it was killed. */
int test_wait(pid_t pid);

/* Anonymous MAP_SHARED memory that survives fork, for results from children. */
void *test_shared_alloc(size_t size);

/* Small, fast, seedable PRNG for random kill instants. */
uint64_t test_rand(uint64_t *state);

#endif
