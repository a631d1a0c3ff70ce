/* futex.h -- process-shared futex wait and wake, including waiting on several
 * words at once (futex_waitv, Linux 5.16+), and the fallbacks for a process
 * whose futex calls fail (an old kernel, a seccomp filter). Internal to shm/. */
#ifndef SHM_FUTEX_H
#define SHM_FUTEX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define SHM_WAIT_MAX 64

/* How this process sleeps. The level only ever moves down, process-wide and
 * for good ("once EPERM, always EPERM"), when the call of its level fails with
 * anything but a timeout, a signal or a changed word; each move logs one line
 * naming the call, its errno and what the wait does instead:
 *   SHM_FUTEX_WAITV    futex_waitv on every word;
 *   SHM_FUTEX_WAIT_ONE FUTEX_WAIT on the first word, the others polled every
 *                      SHM_FUTEX_POLL_NS (also what a kernel without
 *                      futex_waitv, ENOSYS, gets);
 *   SHM_FUTEX_NONE     no futex at all: the waiter sleeps in slices of
 *                      SHM_FUTEX_SLEEP_NS and polls every ring itself. It must
 *                      not announce itself as a sleeper (ring.c: the
 *                      `sleepers` bits, a doorbell's `sleeping`), since
 *                      nobody can wake it and every writer would pay a
 *                      FUTEX_WAKE per record for nothing. */
typedef enum {
    SHM_FUTEX_WAITV = 0,
    SHM_FUTEX_WAIT_ONE = 1,
    SHM_FUTEX_NONE = 2,
} shm_futex_mode_t;

/* SHM_FUTEX_WAIT_ONE looks at the words it does not sleep on every 1 ms, as
 * the fallback for kernels without futex_waitv always did. */
#define SHM_FUTEX_POLL_NS 1000000

/* SHM_FUTEX_NONE sleeps in slices of 100 µs. Measured on the 2-vCPU KVM
 * machine of LIBRARIES.md: a 100 µs clock_nanosleep lasts 184 µs on average
 * (the kernel's 50 µs default timer slack plus the wake-up) and costs ~18 µs
 * of CPU per wake-up, so an idle waiter uses ~10% of a CPU and a record waits
 * ~90 µs on average: about a futex wake-up's p99 (~120 µs) for the
 * wake-up's own price. 50 µs slices: period 139 µs, 16% CPU, a gain smaller
 * than one wake-up; 200 µs: period 349 µs (three times the futex p99), 6% CPU.
 * A process in this mode has a configuration to fix, and says so (the log). */
#define SHM_FUTEX_SLEEP_NS 100000

/* The current wait level of this process (one relaxed load). */
shm_futex_mode_t shm__futex_mode(void);

/* Wakes every process sleeping on word. Returns the number woken or a
 * negative errno. After the first failure (e.g. EPERM from a seccomp filter;
 * logged once) it never enters the kernel again and returns that code at
 * once: a writer must not pay a failing syscall per record. Readers in other
 * processes asleep on a futex then wake only at their own timeouts. */
int shm__futex_wake_all(_Atomic uint32_t *word);

/* FUTEX_WAKE system calls this process has made (failed ones included): for
 * tests and diagnostics. */
uint64_t shm__futex_wake_calls(void);

/* Sleeps until one of words[i] differs from expected[i], a wake-up arrives, or
 * the absolute CLOCK_MONOTONIC deadline_ns passes (deadline_ns < 0: no deadline).
 * Returns 0 on a wake-up or a changed word (spurious returns are possible, so
 * callers re-check), -ETIMEDOUT at the deadline, -EINTR on a signal; never
 * another error: a failing futex call moves the level down (see above) and
 * returns 0, so the caller looks at shm__futex_mode again. At SHM_FUTEX_NONE
 * it sleeps one slice and returns 0 (the words cannot be trusted to move).
 * n must be 1..SHM_WAIT_MAX (else -EINVAL). */
int shm__futex_wait_any(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                        int64_t deadline_ns);

/* Sleeps SHM_FUTEX_SLEEP_NS, or until the absolute CLOCK_MONOTONIC deadline_ns
 * (< 0: none) if that is sooner. Returns 0, -ETIMEDOUT when the deadline has
 * passed, or -EINTR when a signal handler ran. */
int shm__sleep_slice(int64_t deadline_ns);

#endif
