/*
 * Refine: objects stay where they are unless their PE is over the limit (the average PE
 * time, or the heaviest object if that is more, times the tolerance); such a PE gives its
 * heaviest objects that fit to the least busy PEs. Few moves; a maximum near the limit
 * when the objects are small.
 */
#include <stdlib.h>

#include "lb/lb.h"

int lb_refine(const lb_input_t *in, int32_t *to)
{
    for (uint32_t i = 0; i < in->nobjs; i++)
        to[i] = in->from[i];
    double *t = malloc((size_t)in->npes * sizeof *t);
    if (!t)
        return -1;
    lb_quality_t q;
    if (lb_quality(in, to, t, &q)) {
        free(t);
        return -1;
    }
    double tol = in->tolerance >= 1.0 ? in->tolerance : 1.0;
    int rc = lb_refine_placement(in, to, t, q.bound * tol);
    free(t);
    return rc;
}
