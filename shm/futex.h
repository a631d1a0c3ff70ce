/* futex.h -- process-shared futex wait and wake, including waiting on several
 * words at once (futex_waitv, Linux 5.16+). Internal to shm/. */
#ifndef SHM_FUTEX_H
#define SHM_FUTEX_H

#include <stdatomic.h>
#include <stdint.h>

/* Wakes every process sleeping on word. Returns the number woken or a negative errno. */
int shm__futex_wake_all(_Atomic uint32_t *word);

/* Sleeps until one of words[i] differs from expected[i], a wake-up arrives, or
 * the absolute CLOCK_MONOTONIC deadline_ns passes (deadline_ns < 0: no deadline).
 * Returns 0 on a wake-up or a changed word (spurious returns are possible, so
 * callers re-check), -ETIMEDOUT at the deadline, -EINTR on a signal.
 * n must be 1..SHM_WAIT_MAX. Uses futex_waitv where the kernel has it; on an
 * older kernel it waits on words[0] and polls the others every millisecond. */
int shm__futex_wait_any(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                        int64_t deadline_ns);

#define SHM_WAIT_MAX 64

#endif
