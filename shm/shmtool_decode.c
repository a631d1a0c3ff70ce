/* shmtool_decode.c -- the decoder table of `shmtool tail` and its decoders.
 * A new record type (quote, fill, signal, order) adds one row to `decoders`. */
#include "shm/shmtool_decode.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/records.h"
#include "shm/stats.h"

/* Copies the payload into an aligned record first: a record is read whole. */
static int decode_in(const void *payload, size_t len, char *out, size_t out_size)
{
    se_in_rec_t r;
    if (len < sizeof r) {
        snprintf(out, out_size, "(payload of %zu bytes, an in record needs %zu)", len, sizeof r);
        return -EINVAL;
    }
    memcpy(&r, payload, sizeof r);
    return se_in_to_json(&r, out, out_size) < 0 ? -ENOSPC : 0;
}

static int decode_signal(const void *payload, size_t len, char *out, size_t out_size)
{
    se_signal_rec_t sig;
    if (len < sizeof sig) {
        snprintf(out, out_size, "(payload of %zu bytes, a signal needs %zu)", len, sizeof sig);
        return -EINVAL;
    }
    memcpy(&sig, payload, sizeof sig);
    return se_signal_to_text(&sig, out, out_size) < 0 ? -ENOSPC : 0;
}

static int decode_exec(const void *payload, size_t len, char *out, size_t out_size)
{
    se_exec_rec_t e;
    if (len < sizeof e) {
        snprintf(out, out_size, "(payload of %zu bytes, an exec record needs %zu)", len, sizeof e);
        return -EINVAL;
    }
    memcpy(&e, payload, sizeof e);
    return se_exec_to_text(&e, out, out_size) < 0 ? -ENOSPC : 0;
}

static const shm_decoder_t decoders[] = {
    { 0, "raw", shm_decode_raw },
    { SE_RECTYPE_IN, "in", decode_in },
    { SE_RECTYPE_SIGNAL, "signal", decode_signal },
    { SE_RECTYPE_EXEC, "exec", decode_exec },
    { STATS_RECORD_TYPE, "stats", shm_decode_raw },
};

const shm_decoder_t *shm_decoder_find(uint32_t type)
{
    for (size_t i = 0; i < sizeof decoders / sizeof decoders[0]; i++)
        if (decoders[i].type == type)
            return &decoders[i];
    return NULL;
}

int shm_decode_raw(const void *payload, size_t len, char *out, size_t out_size)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = payload;
    if (out_size == 0)
        return -EINVAL;
    while (len > 0 && p[len - 1] == 0)
        len--;
    if (len == 0) {
        snprintf(out, out_size, "(all zero)");
        return 0;
    }
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (o + 2 >= out_size) {
            /* Cut: end in ".." where room allows, so a cut is never mistaken for the end. */
            o = out_size > 3 ? out_size - 3 : 0;
            while (o < out_size - 1)
                out[o++] = '.';
            break;
        }
        out[o++] = digits[p[i] >> 4];
        out[o++] = digits[p[i] & 15];
    }
    out[o] = '\0';
    return 0;
}
