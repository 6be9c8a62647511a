/* Without hwloc: every online CPU is a core of its own, all in one NUMA domain. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "topology/machine.h"

tern_status_t topo_machine_discover(topo_machine_t *out)
{
    memset(out, 0, sizeof *out);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > CPU_SETSIZE)
        n = CPU_SETSIZE;
    out->cores = calloc((size_t)n, sizeof *out->cores);
    if (!out->cores)
        return TERN_ERR_NOMEM;
    for (int i = 0; i < n; i++) {
        CPU_ZERO(&out->cores[i].cpus);
        CPU_SET(i, &out->cores[i].cpus);
    }
    out->ncores = out->ncpus = (int)n;
    out->nnuma = 1;
    out->source = "kernel";
    return TERN_OK;
}

void topo_machine_free(topo_machine_t *m)
{
    free(m->cores);
    memset(m, 0, sizeof *m);
}
