/*
 * Binding a PE's process to a core. Until the hwloc topology lands (issue 5) a "core" is
 * one CPU of the set the process was started with, taken in order by local rank.
 */
#ifndef TERN_TOPOLOGY_BIND_H
#define TERN_TOPOLOGY_BIND_H

#include <tern/tern.h>

/* Apply TERN_BIND for the local_rank-th of local_size processes on this host. Writes the
 * CPU bound to (or -1 when not bound) to *cpu. Errors: TERN_ERR_INVALID for a bad option
 * value, TERN_ERR_IO when the kernel refuses. */
tern_status_t topo_bind(int local_rank, int local_size, int *cpu);

#endif
