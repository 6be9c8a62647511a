/*
 * Binding a PE's process to the machine (topology/machine.h), by TERN_BIND:
 *   core  each PE of a host on a core of its own, by local rank (none when PEs outnumber
 *         cores: stacking PEs on cores while others idle is worse than not binding);
 *   numa  the host's PEs spread in blocks over its NUMA domains, free within a domain;
 *   none  left as started;
 *   auto  (default) a binding the launcher already made is kept (mpirun binds its ranks);
 *         otherwise core when every PE of the host has a core, none when not.
 */
#ifndef TERN_TOPOLOGY_BIND_H
#define TERN_TOPOLOGY_BIND_H

#include <tern/tern.h>

#include "topology/machine.h"

typedef struct topo_binding {
    const char *how; /* "core", "numa", "none", or "launcher" (kept as it was) */
    int core;        /* core the PE runs on alone, -1 when it may run on several */
    int numa;        /* NUMA domain holding all its CPUs, -1 when they span several */
    char cpus[48];   /* the CPUs it may run on, as a list ("1", "0-3,8") */
} topo_binding_t;

/* Apply TERN_BIND for the local_rank-th of local_size PEs of this host. Errors:
 * TERN_ERR_INVALID for a bad option value, TERN_ERR_IO when the kernel refuses. */
tern_status_t topo_bind(const topo_machine_t *m, int local_rank, int local_size,
                        topo_binding_t *out);

#endif
