/* TERN_BIND: none, core, or auto (core when every local PE can have a CPU of its own). */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "topology/bind.h"
#include "util/log.h"
#include "util/options.h"

tern_status_t topo_bind(int local_rank, int local_size, int *cpu)
{
    *cpu = -1;
    const char *policy = util_opt_str("TERN_BIND");
    int want_core;
    if (!strcmp(policy, "none"))
        return TERN_OK;
    else if (!strcmp(policy, "core"))
        want_core = 1;
    else if (!strcmp(policy, "auto"))
        want_core = 0;
    else {
        util_log_error("TERN_BIND=%s: expected none, core or auto", policy);
        return TERN_ERR_INVALID;
    }
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0) {
        util_log_error("TERN_BIND: sched_getaffinity: %s", strerror(errno));
        return TERN_ERR_IO;
    }
    int ncpu = CPU_COUNT(&set);
    if (local_size > ncpu) {
        /* More PEs than CPUs: pinning would stack PEs on CPUs while others sit idle. */
        if (want_core)
            util_log_warn("TERN_BIND=core: %d PEs on this host but %d CPUs; not binding",
                          local_size, ncpu);
        return TERN_OK;
    }
    int seen = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &set) || seen++ != local_rank)
            continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) {
            util_log_error("TERN_BIND: binding to CPU %d: %s", c, strerror(errno));
            return TERN_ERR_IO;
        }
        *cpu = c;
        return TERN_OK;
    }
    return TERN_OK;
}
