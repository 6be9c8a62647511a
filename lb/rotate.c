/* Rotate: every movable object moves to the next PE. For tests: each step moves all. */
#include "lb/lb.h"

int lb_rotate(const lb_input_t *in, int32_t *to)
{
    for (uint32_t i = 0; i < in->nobjs; i++)
        to[i] = lb_fixed(in, i) ? in->from[i] : (in->from[i] + 1) % in->npes;
    return 0;
}
