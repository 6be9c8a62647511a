/*
 * The core's view of the machine: at start-up each PE binds itself, then all swap what
 * they need of each other in one fence (host, binding, registry hash); from the hosts the
 * PE <-> host map is built. The host queries of the public API answer from it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pe.h"
#include "util/log.h"
#include "util/options.h"

/* What each PE publishes at start-up. */
typedef struct core_start_rec {
    uint64_t registry; /* hash of the registered types and entry methods */
    int32_t emulate, fanout; /* options every PE must agree on: they shape the trees */
    int64_t fc_msgs, fc_bytes; /* and the flow-control windows (core/flow.h) */
    int32_t core, numa;
    char host[64];
    char cpus[48];
    char how[12];
    char transport[64]; /* TERN_TRANSPORT: every PE must open the same transports */
} start_rec_t;

#define START_KEY "core.start"

static tern_status_t get_rec(boot_t *b, int rank, start_rec_t *r)
{
    size_t len = 0;
    tern_status_t st = b->ops->get(b, rank, START_KEY, r, sizeof *r, &len);
    if (st == TERN_OK && len != sizeof *r)
        st = TERN_ERR_INVALID;
    if (st != TERN_OK)
        util_log_error("tern_run: cannot read the start-up record of PE %d: %s", rank,
                       tern_strerror(st));
    r->host[sizeof r->host - 1] = r->cpus[sizeof r->cpus - 1] = r->how[sizeof r->how - 1] = 0;
    r->transport[sizeof r->transport - 1] = 0;
    return st;
}

tern_status_t core_topo_start(core_pe_t *pe, uint64_t registry_hash)
{
    boot_t *b = pe->boot;
    long emulate;
    if (util_opt_long("TERN_EMULATE_HOSTS", 1, 1L << 20, &emulate) != TERN_OK)
        return TERN_ERR_INVALID;
    pe->emulate = (int)emulate;
    tern_status_t st = topo_machine_discover(&pe->machine);
    if (st != TERN_OK)
        return st;
    st = topo_bind(&pe->machine, b->local_rank, b->local_size, &pe->binding);
    if (st != TERN_OK)
        return st;
    pe->oversubscribed = b->local_size > pe->machine.ncpus;

    start_rec_t me = {.registry = registry_hash,
                      .emulate = pe->emulate,
                      .fanout = pe->fanout,
                      .fc_msgs = (int64_t)pe->fc_win_msgs,
                      .fc_bytes = (int64_t)pe->fc_win_bytes,
                      .core = pe->binding.core,
                      .numa = pe->binding.numa};
    snprintf(me.host, sizeof me.host, "%s", b->host);
    snprintf(me.cpus, sizeof me.cpus, "%s", pe->binding.cpus);
    snprintf(me.how, sizeof me.how, "%s", pe->binding.how);
    snprintf(me.transport, sizeof me.transport, "%s", util_opt_str("TERN_TRANSPORT"));
    st = b->ops->put(b, START_KEY, &me, sizeof me);
    if (st == TERN_OK)
        st = b->ops->commit(b);
    if (st == TERN_OK)
        st = b->ops->fence(b);
    if (st != TERN_OK)
        return st;

    /* Everyone needs PE 0's registry hash and every PE's host, unless the launcher says
     * all share this host; PE 0 needs every record for the verbose report. */
    int n = pe->num_pes;
    int one_host = b->local_size == b->size;
    int want_all = !one_host || (pe->my_pe == 0 && util_log_verbosity() >= 1);
    start_rec_t *recs = calloc((size_t)n, sizeof *recs);
    const char **names = malloc((size_t)n * sizeof *names);
    if (!recs || !names) {
        st = TERN_ERR_NOMEM;
        goto out;
    }
    for (int p = 0; p < n && st == TERN_OK; p++) {
        if (p == pe->my_pe)
            recs[p] = me;
        else if (want_all || p == 0)
            st = get_rec(b, p, &recs[p]);
        else
            snprintf(recs[p].host, sizeof recs[p].host, "%s", me.host);
        names[p] = recs[p].host;
    }
    if (st != TERN_OK)
        goto out;
    if (recs[0].registry != registry_hash) {
        util_log_error("tern_run: this process registered other chare types or entry methods "
                       "than PE 0 (every process must register the same ones)");
        st = TERN_ERR_INVALID;
        goto out;
    }
    /* A launcher may pass the environment to the processes of its own host only (mpirun
     * without -x): PEs that split hosts or branch differently would build other trees. */
    static const char *const opt_names[] = {"TERN_EMULATE_HOSTS", "TERN_BCAST_FANOUT",
                                            "TERN_FC_WINDOW", "TERN_FC_BYTES"};
    const int64_t mine[] = {me.emulate, me.fanout, me.fc_msgs, me.fc_bytes},
                  pe0[] = {recs[0].emulate, recs[0].fanout, recs[0].fc_msgs, recs[0].fc_bytes};
    for (int i = 0; i < 4; i++) {
        if (mine[i] != pe0[i]) {
            util_log_error("tern_run: %s is %lld here but %lld on PE 0; every process must "
                           "see the same value (mpirun: pass it with -x %s)", opt_names[i],
                           (long long)mine[i], (long long)pe0[i], opt_names[i]);
            st = TERN_ERR_INVALID;
            goto out;
        }
    }
    if (strcmp(me.transport, recs[0].transport) != 0) {
        util_log_error("tern_run: TERN_TRANSPORT is \"%s\" here but \"%s\" on PE 0; every "
                       "process must see the same value (mpirun: pass it with -x TERN_TRANSPORT)",
                       me.transport, recs[0].transport);
        st = TERN_ERR_INVALID;
        goto out;
    }
    st = topo_hosts_build(n, names, pe->emulate, &pe->hosts);
    if (st == TERN_OK)
        st = topo_set_build(&pe->hosts, NULL, 0, &pe->all);
    /* The transports see the real hosts, whatever the emulation. */
    if (st == TERN_OK)
        st = topo_hosts_build(n, names, 1, &pe->real_hosts);
    if (st == TERN_OK) {
        pe->real_host_names = calloc((size_t)pe->real_hosts.nhosts, sizeof(char *));
        if (!pe->real_host_names)
            st = TERN_ERR_NOMEM;
        for (int host = 0; st == TERN_OK && host < pe->real_hosts.nhosts; host++) {
            int first = pe->real_hosts.host_pes[pe->real_hosts.host_off[host]];
            if (!(pe->real_host_names[host] = strdup(names[first])))
                st = TERN_ERR_NOMEM;
        }
    }
    if (st != TERN_OK)
        util_log_error("tern_run: building the map of %d PEs on their hosts: %s", n,
                       tern_strerror(st));
    if (st == TERN_OK && pe->my_pe == 0 && want_all) {
        pe->start_recs = recs;
        recs = NULL;
    }
out:
    free(names);
    free(recs);
    return st;
}

void core_topo_report(core_pe_t *pe)
{
    start_rec_t *start_recs = pe->start_recs;
    if (!start_recs)
        return;
    const topo_hosts_t *h = &pe->hosts;
    const topo_machine_t *m = &pe->machine;
    char emu[64] = "";
    if (pe->emulate > 1)
        snprintf(emu, sizeof emu, " (%d emulated per real host)", pe->emulate);
    util_log_info(1, "%d PEs on %d host%s%s; bootstrap %s; PE 0's host: %d cores, "
                  "%d NUMA domain%s (%s)",
                  pe->num_pes, h->nhosts, h->nhosts == 1 ? "" : "s", emu, pe->boot->ops->name,
                  m->ncores, m->nnuma,
                  m->nnuma == 1 ? "" : "s", m->source);
    enum { MAX_HOSTS = 32, MAX_PES = 16 };
    for (int host = 0; host < h->nhosts && host < MAX_HOSTS; host++) {
        char line[1024];
        size_t len = 0;
        int first = h->host_pes[h->host_off[host]];
        util_log_append(line, sizeof line, &len, "host %d (%s): ", host,
                        start_recs[first].host);
        int np = topo_host_num_pes(h, host);
        for (int i = 0; i < np && i < MAX_PES; i++) {
            const start_rec_t *r = &start_recs[h->host_pes[h->host_off[host] + i]];
            util_log_append(line, sizeof line, &len, "%sPE %d ", i ? ", " : "",
                            h->host_pes[h->host_off[host] + i]);
            if (r->core >= 0)
                util_log_append(line, sizeof line, &len, "core %d", r->core);
            else if (r->numa >= 0 && !strcmp(r->how, "numa"))
                util_log_append(line, sizeof line, &len, "NUMA domain %d", r->numa);
            else
                util_log_append(line, sizeof line, &len, "unbound");
            util_log_append(line, sizeof line, &len, " (cpus %s, %s)", r->cpus, r->how);
        }
        if (np > MAX_PES)
            util_log_append(line, sizeof line, &len, ", ... %d PEs in all", np);
        util_log_info(1, "%s", line);
    }
    if (h->nhosts > MAX_HOSTS)
        util_log_info(1, "... and %d more hosts", h->nhosts - MAX_HOSTS);
    free(start_recs);
    pe->start_recs = NULL;
}

void core_topo_fini(core_pe_t *pe)
{
    free(pe->start_recs);
    pe->start_recs = NULL;
    topo_set_free(&pe->all);
    if (pe->real_host_names)
        for (int host = 0; host < pe->real_hosts.nhosts; host++)
            free(pe->real_host_names[host]);
    free(pe->real_host_names);
    pe->real_host_names = NULL;
    topo_hosts_free(&pe->real_hosts);
    topo_hosts_free(&pe->hosts);
    topo_machine_free(&pe->machine);
}

/* ---- the public host queries ---- */

/* The map, or NULL outside tern_run (then the job is one PE on one host). */
static const topo_hosts_t *hosts_map(void)
{
    core_pe_t *pe = core_pe_current();
    return pe && pe->hosts.npes ? &pe->hosts : NULL;
}

/* A host or PE number within [0, n); logs "<call>: host 5 is out of range ..." if not. */
static int in_range(const char *call, const char *what, int v, int n)
{
    if (v >= 0 && v < n)
        return 1;
    util_log_error("%s: %s %d is out of range (the job has %d %s%s)", call, what, v, n, what,
                   n == 1 ? "" : "s");
    return 0;
}

static int host_ok(const char *call, const topo_hosts_t *h, int host)
{
    return in_range(call, "host", host, h ? h->nhosts : 1);
}

static int pe_ok(const char *call, const topo_hosts_t *h, int pe)
{
    return in_range(call, "PE", pe, h ? h->npes : 1);
}

int tern_num_hosts(void)
{
    const topo_hosts_t *h = hosts_map();
    return h ? h->nhosts : 1;
}

int tern_my_host(void)
{
    const topo_hosts_t *h = hosts_map();
    return h ? h->pe_host[core_pe_current()->my_pe] : 0;
}

int tern_host_num_pes(int host)
{
    const topo_hosts_t *h = hosts_map();
    if (!host_ok("tern_host_num_pes", h, host))
        return -1;
    return h ? topo_host_num_pes(h, host) : 1;
}

int tern_host_first_pe(int host)
{
    const topo_hosts_t *h = hosts_map();
    if (!host_ok("tern_host_first_pe", h, host))
        return -1;
    return h ? h->host_pes[h->host_off[host]] : 0;
}

int tern_host_pes(int host, int *pes, int cap)
{
    const topo_hosts_t *h = hosts_map();
    if (!host_ok("tern_host_pes", h, host))
        return -1;
    if (cap < 0 || (cap > 0 && !pes)) {
        util_log_error("tern_host_pes: no room given for the PEs (pes %p, cap %d)", (void *)pes,
                       cap);
        return -1;
    }
    int n = h ? topo_host_num_pes(h, host) : 1;
    for (int i = 0; i < n && i < cap; i++)
        pes[i] = h ? h->host_pes[h->host_off[host] + i] : 0;
    return n;
}

int tern_pe_host(int pe)
{
    const topo_hosts_t *h = hosts_map();
    if (!pe_ok("tern_pe_host", h, pe))
        return -1;
    return h ? h->pe_host[pe] : 0;
}

int tern_pe_host_rank(int pe)
{
    const topo_hosts_t *h = hosts_map();
    if (!pe_ok("tern_pe_host_rank", h, pe))
        return -1;
    return h ? h->pe_rank[pe] : 0;
}
