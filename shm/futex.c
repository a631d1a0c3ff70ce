/* futex.c -- the only place shm/ enters the kernel to sleep or wake, and the
 * process-wide fallbacks for when it may not (futex.h). Shared (not PRIVATE)
 * futexes: the words live in segments mapped by several processes. */
#include "futex.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/log.h"

#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif

/* shm_futex_mode_t; only ever increases (fall_back). Relaxed everywhere: it
 * guards no other data, and a thread that reads a stale level just fails
 * once more and moves down with the others. */
static _Atomic int wait_mode = SHM_FUTEX_WAITV;
/* 0, or the negative errno of the first failed FUTEX_WAKE; sticky. */
static _Atomic int wake_error;
static _Atomic uint64_t wake_calls;

static const char *errno_name(int e)
{
    const char *s = strerrorname_np(e);
    return s ? s : "?";
}

/* Moves this process down to level `to`, logging one line if this call is the
 * one that moved it (cold: at most once per level per process). */
static void fall_back(int to, const char *call, int err)
{
    static const char *const instead[] = {
        [SHM_FUTEX_WAIT_ONE] = "waits with FUTEX_WAIT on one ring and polls the others every 1 ms",
        [SHM_FUTEX_NONE] = "sleeps in 100 us slices (clock_nanosleep) and polls every ring; "
                           "no sleeper flag, so writers make no wake calls for this process",
    };
    int cur = atomic_load_explicit(&wait_mode, memory_order_relaxed);
    while (cur < to) {
        if (atomic_compare_exchange_weak_explicit(&wait_mode, &cur, to, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            log_warn("shared-memory wait falls back", LOG_STR("call", call), LOG_INT("errno", err),
                     LOG_STR("errno_name", errno_name(err)), LOG_STR("error", strerrordesc_np(err)),
                     LOG_STR("instead", instead[to]));
            return;
        }
    }
}

shm_futex_mode_t shm__futex_mode(void)
{
    return (shm_futex_mode_t)atomic_load_explicit(&wait_mode, memory_order_relaxed);
}

int shm__futex_wake_all(_Atomic uint32_t *word)
{
    int failed = atomic_load_explicit(&wake_error, memory_order_relaxed);
    if (failed)
        return failed;
    atomic_fetch_add_explicit(&wake_calls, 1, memory_order_relaxed);
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
    if (r >= 0)
        return (int)r;
    int e = errno;
    int none = 0;
    if (atomic_compare_exchange_strong_explicit(&wake_error, &none, -e, memory_order_relaxed,
                                                memory_order_relaxed))
        log_warn("shared-memory wake-up fails; no more wake calls from this process",
                 LOG_STR("call", "futex(FUTEX_WAKE)"), LOG_INT("errno", e),
                 LOG_STR("errno_name", errno_name(e)), LOG_STR("error", strerrordesc_np(e)),
                 LOG_STR("instead", "readers of this process's rings that sleep on a futex wake "
                                    "only at their own timeouts"));
    return -e;
}

uint64_t shm__futex_wake_calls(void)
{
    return atomic_load_explicit(&wake_calls, memory_order_relaxed);
}

static void ns_to_timespec(int64_t ns, struct timespec *ts)
{
    ts->tv_sec = ns / 1000000000;
    ts->tv_nsec = ns % 1000000000;
}

int shm__sleep_slice(int64_t deadline_ns)
{
    int64_t slice = SHM_FUTEX_SLEEP_NS;
    if (deadline_ns >= 0) {
        int64_t left = deadline_ns - clock_mono_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        if (left < slice)
            slice = left;
    }
    struct timespec ts;
    ns_to_timespec(slice, &ts);
    /* Relative: a slice that ends late only delays the next look. */
    int e = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
    if (e == EINTR)
        return -EINTR;
    return deadline_ns >= 0 && clock_mono_ns() >= deadline_ns ? -ETIMEDOUT : 0;
}

/* FUTEX_WAIT on one word: 0 (woken, or the word already moved: EAGAIN),
 * -ETIMEDOUT, -EINTR, or another negative errno (the call itself failed). */
static int wait_one(_Atomic uint32_t *word, uint32_t expected, int64_t deadline_ns)
{
    struct timespec rel, *relp = NULL;
    if (deadline_ns >= 0) {
        int64_t left = deadline_ns - clock_mono_ns();
        if (left <= 0)
            return -ETIMEDOUT;
        ns_to_timespec(left, &rel);
        relp = &rel;
    }
    /* FUTEX_WAIT takes a relative timeout; EAGAIN means the word already moved. */
    long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, relp, NULL, 0);
    if (r == 0 || errno == EAGAIN)
        return 0;
    return -errno;
}

static bool wait_failed(int rc)
{
    return rc < 0 && rc != -ETIMEDOUT && rc != -EINTR;
}

#ifdef SYS_futex_waitv
/* futex_waitv on every word: as wait_one. */
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
        ns_to_timespec(deadline_ns, &abs);
        absp = &abs;
    }
    long r = syscall(SYS_futex_waitv, v, (unsigned)n, 0, absp, CLOCK_MONOTONIC);
    if (r >= 0 || errno == EAGAIN)
        return 0;
    return -errno;
}
#endif

/* SHM_FUTEX_WAIT_ONE: sleeps on the first word, looks at the others every slice. */
static int wait_first_poll_rest(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                                int64_t deadline_ns)
{
    for (;;) {
        for (int i = 1; i < n; i++)
            /* Pairs with the release increment of the word (ring.c's wakers). */
            if (atomic_load_explicit(words[i], memory_order_acquire) != expected[i])
                return 0;
        int64_t slice = n > 1 ? clock_mono_ns() + SHM_FUTEX_POLL_NS : deadline_ns;
        if (deadline_ns >= 0 && deadline_ns < slice)
            slice = deadline_ns;
        int rc = wait_one(words[0], expected[0], slice);
        if (wait_failed(rc)) {
            fall_back(SHM_FUTEX_NONE, "futex(FUTEX_WAIT)", -rc);
            return 0; /* the caller re-checks and waits the SHM_FUTEX_NONE way */
        }
        if (rc != -ETIMEDOUT)
            return rc;
        if (deadline_ns >= 0 && clock_mono_ns() >= deadline_ns)
            return -ETIMEDOUT;
    }
}

int shm__futex_wait_any(_Atomic uint32_t *const *words, const uint32_t *expected, int n,
                        int64_t deadline_ns)
{
    if (n <= 0 || n > SHM_WAIT_MAX)
        return -EINVAL;
    int mode = atomic_load_explicit(&wait_mode, memory_order_relaxed);
#ifdef SYS_futex_waitv
    if (mode == SHM_FUTEX_WAITV && n > 1) {
        int rc = wait_vector(words, expected, n, deadline_ns);
        if (!wait_failed(rc))
            return rc;
        fall_back(SHM_FUTEX_WAIT_ONE, "futex_waitv", -rc);
        mode = atomic_load_explicit(&wait_mode, memory_order_relaxed);
    }
#endif
    if (mode <= SHM_FUTEX_WAIT_ONE)
        return wait_first_poll_rest(words, expected, n, deadline_ns);
    return shm__sleep_slice(deadline_ns);
}
