#include "topology/bind.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"
#include "util/options.h"

/* "0-3,8" style list of a CPU set, cut with "..." when it does not fit. */
static void cpu_list(const cpu_set_t *set, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, set))
            continue;
        int e = c;
        while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
            e++;
        char item[24];
        int n = e > c ? snprintf(item, sizeof item, "%s%d-%d", len ? "," : "", c, e)
                      : snprintf(item, sizeof item, "%s%d", len ? "," : "", c);
        if (len + (size_t)n + 4 > cap) {
            snprintf(buf + len, cap - len, ",...");
            return;
        }
        memcpy(buf + len, item, (size_t)n + 1);
        len += (size_t)n;
        c = e;
    }
}

static int subset(const cpu_set_t *a, const cpu_set_t *b)
{
    cpu_set_t x;
    CPU_AND(&x, a, b);
    return CPU_EQUAL(&x, a);
}

/* Fill core, numa and cpus from the process's affinity as it now is. */
static void describe(const topo_machine_t *m, const cpu_set_t *aff, topo_binding_t *out)
{
    out->core = out->numa = -1;
    int numa = -2;
    for (int i = 0; i < m->ncores; i++) {
        const cpu_set_t *c = &m->cores[i].cpus;
        if (subset(aff, c))
            out->core = i;
        cpu_set_t x;
        CPU_AND(&x, aff, c);
        if (CPU_COUNT(&x))
            numa = numa == -2 || numa == m->cores[i].numa ? m->cores[i].numa : -1;
    }
    out->numa = numa < 0 ? -1 : numa;
    cpu_list(aff, out->cpus, sizeof out->cpus);
}

static tern_status_t apply(const cpu_set_t *set, const char *what)
{
    if (sched_setaffinity(0, sizeof *set, set) != 0) {
        util_log_error("TERN_BIND: binding to %s: %s", what, strerror(errno));
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

tern_status_t topo_bind(const topo_machine_t *m, int local_rank, int local_size,
                        topo_binding_t *out)
{
    const char *policy = util_opt_str("TERN_BIND");
    if (strcmp(policy, "none") && strcmp(policy, "core") && strcmp(policy, "numa") &&
        strcmp(policy, "auto")) {
        util_log_error("TERN_BIND=%s: expected auto, core, numa or none", policy);
        return TERN_ERR_INVALID;
    }
    cpu_set_t aff, all;
    if (sched_getaffinity(0, sizeof aff, &aff) != 0) {
        util_log_error("TERN_BIND: sched_getaffinity: %s", strerror(errno));
        return TERN_ERR_IO;
    }
    CPU_ZERO(&all);
    for (int i = 0; i < m->ncores; i++)
        CPU_OR(&all, &all, &m->cores[i].cpus);
    out->how = "none";
    if (!strcmp(policy, "auto")) {
        cpu_set_t x;
        CPU_AND(&x, &all, &aff);
        if (!CPU_EQUAL(&x, &all))
            out->how = "launcher";
        else if (local_size <= m->ncores)
            policy = "core";
    }
    if (!strcmp(policy, "core")) {
        if (local_size > m->ncores) {
            if (local_rank == 0) /* once per host */
                util_log_warn("TERN_BIND=core: %d PEs on this host but %d cores; not binding",
                              local_size, m->ncores);
        } else {
            char what[32];
            snprintf(what, sizeof what, "core %d", local_rank);
            if (apply(&m->cores[local_rank].cpus, what) != TERN_OK)
                return TERN_ERR_IO;
            aff = m->cores[local_rank].cpus;
            out->how = "core";
        }
    } else if (!strcmp(policy, "numa")) {
        /* Blocks of consecutive local ranks per domain, as even as the counts allow;
         * domains without cores (memory only) take no PEs. */
        int with_cores[CPU_SETSIZE], nd = 0;
        for (int d = 0; d < m->nnuma && nd < CPU_SETSIZE; d++)
            for (int i = 0; i < m->ncores; i++)
                if (m->cores[i].numa == d) {
                    with_cores[nd++] = d;
                    break;
                }
        int d = with_cores[(long)local_rank * nd / local_size];
        cpu_set_t set;
        CPU_ZERO(&set);
        for (int i = 0; i < m->ncores; i++)
            if (m->cores[i].numa == d)
                CPU_OR(&set, &set, &m->cores[i].cpus);
        char what[32];
        snprintf(what, sizeof what, "NUMA domain %d", d);
        if (apply(&set, what) != TERN_OK)
            return TERN_ERR_IO;
        aff = set;
        out->how = "numa";
    }
    describe(m, &aff, out);
    return TERN_OK;
}
