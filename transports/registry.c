/* The transports of this build, in order of preference. Optional ones (UCX, OFI) will be
 * added here by CMake-generated entries when their libraries are found. */
#include <string.h>

#include "transports/transport.h"

extern const tp_ops_t shm_tp_ops;

const tp_ops_t *const tp_registry[] = {
    &shm_tp_ops,
    NULL,
};

const tp_ops_t *tp_find(const char *name)
{
    for (int i = 0; tp_registry[i]; i++)
        if (strcmp(tp_registry[i]->name, name) == 0)
            return tp_registry[i];
    return NULL;
}
