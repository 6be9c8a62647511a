#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <hwloc.h>

#include "topology/machine.h"
#include "util/log.h"

static void to_cpu_set(hwloc_const_bitmap_t bm, cpu_set_t *out)
{
    CPU_ZERO(out);
    unsigned id;
    hwloc_bitmap_foreach_begin(id, bm)
    {
        if (id < CPU_SETSIZE)
            CPU_SET(id, out);
    }
    hwloc_bitmap_foreach_end();
}

tern_status_t topo_machine_discover(topo_machine_t *out)
{
    memset(out, 0, sizeof *out);
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0) {
        util_log_error("topology: hwloc_topology_init: %s", strerror(errno));
        return TERN_ERR_NOMEM;
    }
    if (hwloc_topology_load(topo) != 0) {
        util_log_error("topology: hwloc_topology_load: %s", strerror(errno));
        hwloc_topology_destroy(topo);
        return TERN_ERR_IO;
    }
    /* Cores, or PUs on machines where hwloc sees no core objects. */
    hwloc_obj_type_t unit = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE) > 0
                                ? HWLOC_OBJ_CORE
                                : HWLOC_OBJ_PU;
    int n = hwloc_get_nbobjs_by_type(topo, unit);
    int nnuma = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
    out->cores = calloc(n > 0 ? (size_t)n : 1, sizeof *out->cores);
    if (!out->cores) {
        hwloc_topology_destroy(topo);
        return TERN_ERR_NOMEM;
    }
    for (int i = 0; i < n; i++) {
        hwloc_obj_t c = hwloc_get_obj_by_type(topo, unit, (unsigned)i);
        if (!c->cpuset || hwloc_bitmap_iszero(c->cpuset))
            continue;
        topo_core_t *tc = &out->cores[out->ncores++];
        to_cpu_set(c->cpuset, &tc->cpus);
        out->ncpus += CPU_COUNT(&tc->cpus);
        /* In hwloc 2 NUMA nodes hang beside the CPU tree: find the one covering the core. */
        tc->numa = 0;
        for (int d = 0; d < nnuma; d++) {
            hwloc_obj_t nd = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, (unsigned)d);
            if (nd->cpuset && hwloc_bitmap_isincluded(c->cpuset, nd->cpuset)) {
                tc->numa = d;
                break;
            }
        }
    }
    out->nnuma = nnuma > 0 ? nnuma : 1;
    out->source = "hwloc";
    hwloc_topology_destroy(topo);
    if (out->ncores == 0) {
        util_log_error("topology: hwloc found no usable core");
        topo_machine_free(out);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

void topo_machine_free(topo_machine_t *m)
{
    free(m->cores);
    memset(m, 0, sizeof *m);
}
