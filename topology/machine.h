/*
 * What this host offers a job: its cores (each a set of CPUs, the hardware threads) and
 * the NUMA domain of each. Discovered with hwloc (machine_hwloc.c) when the build has it,
 * else from the CPUs the process may run on, one NUMA domain (machine_plain.c). With
 * hwloc only the CPUs of the process's cgroup count, and a launcher's binding of the
 * process does not shrink the machine; without, the binding is the machine.
 */
#ifndef TERN_TOPOLOGY_MACHINE_H
#define TERN_TOPOLOGY_MACHINE_H

#include <sched.h>

#include <tern/tern.h>

typedef struct topo_core {
    cpu_set_t cpus;
    int numa; /* index of its NUMA domain, 0..nnuma-1 */
} topo_core_t;

typedef struct topo_machine {
    int ncores;
    int nnuma;
    int ncpus;           /* hardware threads over all cores */
    topo_core_t *cores;  /* [ncores], in the discovery tool's logical order */
    const char *source;  /* "hwloc" or "kernel" */
} topo_machine_t;

tern_status_t topo_machine_discover(topo_machine_t *out);
void topo_machine_free(topo_machine_t *m);

#endif
