/* futex.c -- the only place shm/ enters the kernel to sleep or wake.
 * Shared (not PRIVATE) futexes: the words live in segments mapped by several processes. */
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif

int shm__futex_wake_all(_Atomic uint32_t *word)
{
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    return r < 0 ? -errno : (int)r;
}

static void deadline_to_timespec(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

static int wait_one(_Atomic uint32_t *word, uint32_t expected, int64_t deadline_ns)
{
    struct timespec rel, *relp = NULL;
    if (deadline_ns >= 0) {
        int64_t left = deadline_ns - clock_mono_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        deadline_to_timespec(left, &rel);
        relp = &rel;
    }
    /* FUTEX_WAIT takes a relative timeout; EAGAIN means the word already moved. */
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, relp, NULL, 0);
    if (r == 0 || errno == EAGAIN)
        return 0;
    return -errno;
}

#ifdef SYS_futex_waitv
static bool waitv_missing;

static int wait_vector(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                       int64_t deadline_ns)
{
    struct futex_waitv v[SHM_WAIT_MAX] = { 0 };
    for (int i = 0; i < n; i++) {
        v[i].val = expected[i];
        v[i].uaddr = (uint64_t)(uintptr_t)words[i];
        v[i].flags = FUTEX2_SIZE_U32; /* shared: no FUTEX2_PRIVATE */
    }
    struct timespec abs, *absp = NULL;
    if (deadline_ns >= 0) {
        deadline_to_timespec(deadline_ns, &abs);
        absp = &abs;
    }
    long r = syscall(SYS_futex_waitv, v, (unsigned)n, 0, absp, CLOCK_MONOTONIC);
    if (r >= 0 || errno == EAGAIN)
        return 0;
    return -errno;
}
#endif

int shm__futex_wait_any(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                        int64_t deadline_ns)
{
    if (n <= 0 || n > SHM_WAIT_MAX)
        return -EINVAL;
    if (n == 1)
        return wait_one(words[0], expected[0], deadline_ns);
#ifdef SYS_futex_waitv
    if (!waitv_missing) {
        int rc = wait_vector(words, expected, n, deadline_ns);
        if (rc != -ENOSYS)
            return rc;
        waitv_missing = true;
    }
#endif
    /* Old kernel: sleep on the first word, look at the others every millisecond. */
    for (;;) {
        for (int i = 1; i < n; i++)
            if (atomic_load_explicit(words[i], memory_order_acquire) != expected[i])
                return 0;
        int64_t slice = clock_mono_ns() + 1000000;
        if (deadline_ns >= 0 && deadline_ns < slice)
            slice = deadline_ns;
        int rc = wait_one(words[0], expected[0], slice);
        if (rc != -ETIMEDOUT)
            return rc;
        if (deadline_ns >= 0 && clock_mono_ns() >= deadline_ns)
            return -ETIMEDOUT;
    }
}
