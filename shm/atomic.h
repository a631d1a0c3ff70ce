/* atomic.h -- the one place shm/ wraps <stdatomic.h> and the CPU pause hint.
 * Shared-memory words are _Atomic; every access names its memory order. */
#ifndef SHM_ATOMIC_H
#define SHM_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define shm__load_acquire(p)     atomic_load_explicit((p), memory_order_acquire)
#define shm__load_relaxed(p)     atomic_load_explicit((p), memory_order_relaxed)
#define shm__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define shm__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define shm__fence_acquire()     atomic_thread_fence(memory_order_acquire)
#define shm__fence_release()     atomic_thread_fence(memory_order_release)
#define shm__fence_seq_cst()     atomic_thread_fence(memory_order_seq_cst)

static inline void shm__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Record payloads are copied word by word with relaxed atomics: a reader may
 * race with the writer reusing the slot (that is what the sequence re-check
 * detects), and relaxed word accesses keep that race defined behaviour (and
 * visible to ThreadSanitizer as intended). On x86-64 they are plain moves. */
static inline void shm__copy_to_shared(_Atomic uint64_t *dst, const void *src, size_t nwords)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < nwords; i++) {
        uint64_t v;
        memcpy(&v, s + i * 8, 8);
        shm__store_relaxed(&dst[i], v);
    }
}

static inline void shm__copy_from_shared(void *dst, _Atomic uint64_t *src, size_t nwords)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < nwords; i++) {
        uint64_t v = shm__load_relaxed(&src[i]);
        memcpy(d + i * 8, &v, 8);
    }
}

#endif
