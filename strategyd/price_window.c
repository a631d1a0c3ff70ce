/* price_window.c -- per-slot rings of recent prices. See price_window.h.
 * All memory is taken at init, in one block; pushing a price never allocates. */
#include "strategyd/price_window.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The rings start right after the positions, so they must stay aligned. */
_Static_assert(sizeof(price_window_pos_t) % _Alignof(double) == 0, "rings after positions are aligned");

int price_window_init(price_window_t *w, int n_slots, int len)
{
    memset(w, 0, sizeof *w);
    if (n_slots < 1 || len < 1)
        return -EINVAL;
    /* Each slot takes its position and its ring; calloc refuses a total that
     * overflows, this check a slot's share that would. */
    if ((size_t)len > (SIZE_MAX - sizeof *w->pos) / sizeof *w->prices)
        return -ENOMEM;
    w->pos = calloc((size_t)n_slots, sizeof *w->pos + (size_t)len * sizeof *w->prices);
    if (w->pos == NULL)
        return -ENOMEM;
    w->prices = (double *)(w->pos + n_slots);
    w->n_slots = n_slots;
    w->len = len;
    return 0;
}

void price_window_fini(price_window_t *w)
{
    free(w->pos);
    memset(w, 0, sizeof *w);
}

void price_window_clear(price_window_t *w)
{
    /* The old prices may stay: a window is read only once full again. */
    if (w->pos != NULL)
        memset(w->pos, 0, (size_t)w->n_slots * sizeof *w->pos);
}
