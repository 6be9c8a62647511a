/*
 * Without hwloc: every CPU this process may run on at start-up is a core of its own, all
 * in one NUMA domain. (A launcher's binding does shrink this view; hwloc's does not.)
 */
#include <stdlib.h>
#include <string.h>

#include "topology/machine.h"
#include "util/log.h"

tern_status_t topo_machine_discover(topo_machine_t *out)
{
    memset(out, 0, sizeof *out);
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) == 0) {
        util_log_error("topology: sched_getaffinity gives no CPU to run on");
        return TERN_ERR_IO;
    }
    int n = CPU_COUNT(&set);
    out->cores = calloc((size_t)n, sizeof *out->cores);
    if (!out->cores)
        return TERN_ERR_NOMEM;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set))
            continue;
        topo_core_t *tc = &out->cores[out->ncores++];
        CPU_ZERO(&tc->cpus);
        CPU_SET(c, &tc->cpus);
    }
    out->ncpus = n;
    out->nnuma = 1;
    out->source = "kernel";
    return TERN_OK;
}

void topo_machine_free(topo_machine_t *m)
{
    free(m->cores);
    memset(m, 0, sizeof *m);
}
