/* The transports of this build, in order of preference: shared memory inside a host, then
 * the network ones whose library was found at build time (CMake defines TERN_HAVE_*). */
#include <string.h>

#include "transports/transport.h"

extern const tp_ops_t shm_tp_ops;
#ifdef TERN_HAVE_UCX
extern const tp_ops_t ucx_tp_ops;
#endif
#ifdef TERN_HAVE_OFI
extern const tp_ops_t ofi_tp_ops;
#endif

const tp_ops_t *const tp_registry[] = {
    &shm_tp_ops,
#ifdef TERN_HAVE_UCX
    &ucx_tp_ops,
#endif
#ifdef TERN_HAVE_OFI
    &ofi_tp_ops,
#endif
    NULL,
};

const tp_ops_t *tp_find(const char *name)
{
    for (int i = 0; tp_registry[i]; i++)
        if (strcmp(tp_registry[i]->name, name) == 0)
            return tp_registry[i];
    return NULL;
}
