/*
 * Greedy: every movable object is placed anew, heaviest first, on the PE that is least
 * busy so far (after background load and fixed objects). Ignores where objects are: many
 * moves, a good maximum.
 */
#include <stdlib.h>

#include "lb/lb.h"

int lb_greedy(const lb_input_t *in, int32_t *to)
{
    for (uint32_t i = 0; i < in->nobjs; i++)
        to[i] = in->from[i];
    uint32_t *order = malloc((in->nobjs ? in->nobjs : 1) * sizeof *order);
    double *t = calloc((size_t)in->npes, sizeof *t);
    lb_heap_t h = {0};
    int rc = -1;
    if (!order || !t || lb_heap_init(&h, in->npes, t, 1))
        goto out;
    uint32_t n = lb_sorted_movable(in, order, t);
    for (int32_t p = 0; p < in->npes; p++)
        lb_heap_push(&h, p);
    for (uint32_t j = 0; j < n; j++) {
        uint32_t o = order[j];
        int32_t p = lb_heap_top(&h);
        to[o] = p;
        t[p] += in->load[o] / lb_speed(in, p);
        lb_heap_update(&h, p);
    }
    rc = 0;
out:
    lb_heap_fini(&h);
    free(order);
    free(t);
    return rc;
}
