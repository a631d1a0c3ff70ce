/* shmtool_decode.h -- record decoders for `shmtool tail`, keyed by the header's
 * record_type. Adding a record type is one line in the table in shmtool_decode.c. */
#ifndef SHM_SHMTOOL_DECODE_H
#define SHM_SHMTOOL_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Renders one record payload (len bytes, borrowed for the call) as one line of
 * text without a newline into out, always NUL-terminated, cut to out_size - 1
 * bytes if longer. Returns 0, or a negative errno (-EINVAL when len is too
 * short for the type), in which case out holds a short reason. */
typedef int (*shm_decode_fn)(const void *payload, size_t len, char *out, size_t out_size);

typedef struct {
    uint32_t type;    /* the header's record_type */
    const char *name; /* shown by shmtool info */
    shm_decode_fn fn;
} shm_decoder_t;

/* The decoder for record_type type, or NULL when there is none (shmtool then
 * falls back to the raw decoder and says so). */
const shm_decoder_t *shm_decoder_find(uint32_t type);

/* Type 0, "raw": the payload as lower-case hex without trailing zero bytes
 * ("(all zero)" when nothing is left). Needs out_size >= 2 * len + 1 to print
 * every byte; a shorter out ends in "..". */
int shm_decode_raw(const void *payload, size_t len, char *out, size_t out_size);

#endif
