/* Dummy: nothing moves. Measures and reports without changing anything. */
#include "lb/lb.h"

int lb_dummy(const lb_input_t *in, int32_t *to)
{
    for (uint32_t i = 0; i < in->nobjs; i++)
        to[i] = in->from[i];
    return 0;
}
