/* atomic.h -- the one place shm/ wraps <stdatomic.h> and the CPU pause hint.
 * Shared-memory words are _Atomic; every access names its memory order. */
#ifndef SHM_ATOMIC_H
#define SHM_ATOMIC_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define shm__load_acquire(p)     atomic_load_explicit((p), memory_order_acquire)
#define shm__load_relaxed(p)     atomic_load_explicit((p), memory_order_relaxed)
#define shm__load_seq_cst(p)     atomic_load_explicit((p), memory_order_seq_cst)
#define shm__store_release(p, v) atomic_store_explicit((p), (v), memory_order_release)
#define shm__store_relaxed(p, v) atomic_store_explicit((p), (v), memory_order_relaxed)
#define shm__store_seq_cst(p, v) atomic_store_explicit((p), (v), memory_order_seq_cst)
/* No stand-alone fences: ThreadSanitizer cannot model atomic_thread_fence, and
 * every ordering here can be said with the access that needs it instead. */

static inline void shm__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Record payloads are copied word by word with atomics: a reader may race
 * with the writer reusing the slot (the sequence re-check detects that), and
 * atomic words keep the race defined and visible to ThreadSanitizer. Stores
 * are release and loads acquire, so a reader that sees any word of a newer
 * record also sees the BUSY mark stored before it (the seqlock re-check needs
 * no fence). On x86-64 both are plain moves. */
static inline void shm__copy_to_shared(_Atomic uint64_t *dst, const void *src, size_t nwords)
{
    const unsigned char *s = src;
    for (size_t i = 0; i < nwords; i++) {
        uint64_t v;
        memcpy(&v, s + i * 8, 8);
        shm__store_release(&dst[i], v);
    }
}

static inline void shm__copy_from_shared(void *dst, _Atomic uint64_t *src, size_t nwords)
{
    unsigned char *d = dst;
    for (size_t i = 0; i < nwords; i++) {
        uint64_t v = shm__load_acquire(&src[i]);
        memcpy(d + i * 8, &v, 8);
    }
}

#endif
