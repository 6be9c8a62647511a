/*
 * Which transport carries the messages to each PE, chosen at run time from those in this
 * build (transports/registry.c), and how an idle PE sleeps on all of them at once.
 *
 * TERN_TRANSPORT is "auto" (the registry's order: shm, then the network transports) or a
 * comma-separated list in order of preference. Transports are opened in that order while
 * some pair of PEs in the job is still unserved: a host-only transport (shm) serves the
 * pairs within each host, and the first transport that reaches every host serves what is
 * left. Which pairs are left depends only on the host map, which every PE has, so every
 * PE opens the same transports (opening is collective).
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/flow.h"
#include "core/pe.h"
#include "util/log.h"
#include "util/options.h"

#define MAX_WANTED 8

/* The names in TERN_TRANSPORT, in order; "auto" gives the whole registry. */
static tern_status_t parse_wanted(const char *want, const tp_entry_t **out, int *n)
{
    *n = 0;
    if (strcmp(want, "auto") == 0) {
        for (int i = 0; tp_registry[i].name && *n < MAX_WANTED; i++)
            out[(*n)++] = &tp_registry[i];
        return TERN_OK;
    }
    const char *p = want;
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[32];
        if (len == 0 || len >= sizeof name || *n == MAX_WANTED)
            goto bad;
        memcpy(name, p, len);
        name[len] = 0;
        const tp_entry_t *ops = tp_find(name);
        if (!ops) {
            char have[128] = "";
            for (int i = 0; tp_registry[i].name; i++)
                snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s", i ? ", " : "",
                         tp_registry[i].name);
            util_log_error("TERN_TRANSPORT=%s: no transport \"%s\" in this build (it has %s)",
                           want, name, have);
            return TERN_ERR_INVALID;
        }
        for (int i = 0; i < *n; i++)
            if (out[i] == ops)
                goto bad;
        out[(*n)++] = ops;
        p += len;
        if (*p == ',' && *++p == 0)
            goto bad;
    }
    if (*n)
        return TERN_OK;
bad:
    util_log_error("TERN_TRANSPORT=%s: expected auto, a transport name or a comma-separated "
                   "list of different names (e.g. shm,ucx)", want);
    return TERN_ERR_INVALID;
}

/* Load e's operations on every process, or on none: opening is collective, and a process
 * that could not load a plugin (another installation on its host, say) would leave the
 * others waiting in the transport's own exchange. */
static tern_status_t load_everywhere(core_pe_t *pe, const tp_entry_t *e,
                                     const tp_ops_t **out)
{
    *out = NULL;
    if (e->builtin) {
        *out = e->builtin;
        return TERN_OK;
    }
    char why[1280] = "";
    const tp_ops_t *ops = tp_load(e, why, sizeof why);
    if (!ops)
        util_log_info(1, "transport %s: %s", e->name, why);
    boot_t *b = pe->boot;
    char key[64];
    snprintf(key, sizeof key, "core.tp.%s", e->name);
    unsigned char mine = ops != NULL, theirs = 0;
    tern_status_t st = b->ops->put(b, key, &mine, 1);
    if (st == TERN_OK)
        st = b->ops->fence(b);
    int first_without = -1;
    for (int p = 0; st == TERN_OK && p < pe->num_pes && first_without < 0; p++) {
        size_t len = 0;
        st = p == pe->my_pe ? TERN_OK : b->ops->get(b, p, key, &theirs, 1, &len);
        if (st == TERN_OK && !(p == pe->my_pe ? mine : theirs))
            first_without = p;
    }
    if (st != TERN_OK) {
        util_log_error("tern_run: agreeing on transport %s: %s", e->name, tern_strerror(st));
        return st;
    }
    if (first_without >= 0) {
        if (ops)
            util_log_info(1, "transport %s: PE %d cannot load it; not used", e->name,
                          first_without);
        else if (pe->my_pe == first_without)
            util_log_error("transport %s is not available: %s", e->name, why);
        return TERN_OK; /* not used, like a transport that cannot run here */
    }
    *out = ops;
    return TERN_OK;
}

static void route_pes(core_pe_t *pe, tp_t *tp)
{
    for (int p = 0; p < pe->num_pes; p++) {
        if (p != pe->my_pe && !pe->route[p] && tp->ops->reaches(tp, p)) {
            pe->route[p] = tp;
            pe->route_max[p] = tp->ops->max_msg(tp);
        }
    }
}

/* `host_only`: what serves this PE reaches the PEs of its own host only. */
static void report_unreached(core_pe_t *pe, int p, const char *want, int host_only)
{
    const topo_hosts_t *h = &pe->real_hosts;
    const char *there = pe->real_host_names[h->pe_host[p]];
    const char *here = pe->real_host_names[h->pe_host[pe->my_pe]];
    if (host_only && h->pe_host[p] != h->pe_host[pe->my_pe])
        util_log_error("tern_run: TERN_TRANSPORT=%s reaches only the PEs of one host, and PE %d "
                       "is on host %s while PE %d is on %s (add a network transport, e.g. "
                       "TERN_TRANSPORT=auto)", want, p, there, pe->my_pe, here);
    else if (pe->ntps == 0)
        util_log_error("tern_run: no transport of TERN_TRANSPORT=%s could start, so none "
                       "reaches PE %d", want, p);
    else
        util_log_error("tern_run: no transport of TERN_TRANSPORT=%s reaches PE %d (host %s) "
                       "from PE %d (host %s)", want, p, there, pe->my_pe, here);
}

tern_status_t core_transports_open(core_pe_t *pe)
{
    pe->route = calloc((size_t)pe->num_pes, sizeof *pe->route);
    pe->route_max = calloc((size_t)pe->num_pes, sizeof *pe->route_max);
    pe->backlog = calloc((size_t)pe->num_pes, sizeof *pe->backlog);
    pe->bl_dests = calloc((size_t)pe->num_pes, sizeof *pe->bl_dests);
    if (!pe->route || !pe->route_max || !pe->backlog || !pe->bl_dests)
        return TERN_ERR_NOMEM;
    if (pe->num_pes == 1)
        return TERN_OK;
    const char *want = util_opt_str("TERN_TRANSPORT");
    const tp_entry_t *wanted[MAX_WANTED];
    int nwanted;
    tern_status_t st = parse_wanted(want, wanted, &nwanted);
    if (st != TERN_OK)
        return st;
    int forced = strcmp(want, "auto") != 0;
    /* Settle what is known before anything is opened: a job killed halfway through an
     * open can leave files behind (a segment not yet unlinked). */
    int any_network = 0;
    for (int i = 0; i < nwanted; i++)
        any_network |= !wanted[i]->host_only;
    if (!any_network && pe->real_hosts.nhosts > 1) {
        for (int p = 0; p < pe->num_pes; p++) {
            if (pe->real_hosts.pe_host[p] != pe->real_hosts.pe_host[pe->my_pe]) {
                report_unreached(pe, p, want, 1);
                return TERN_ERR_UNREACHABLE;
            }
        }
    }
    tp_params_t params = {
        .boot = pe->boot,
        .my_pe = pe->my_pe,
        .num_pes = pe->num_pes,
        .nhosts = pe->real_hosts.nhosts,
        .pe_host = pe->real_hosts.pe_host,
        .host_name = (const char *const *)pe->real_host_names,
        .deliver = core_deliver,
        .deliver_arg = pe,
        .verbosity = util_log_verbosity(),
    };
    int all_served = 0;
    for (int i = 0; i < nwanted && !all_served; i++) {
        if (pe->ntps == (int)(sizeof pe->tps / sizeof pe->tps[0]))
            break;
        const tp_ops_t *ops;
        if ((st = load_everywhere(pe, wanted[i], &ops)) != TERN_OK)
            return st;
        tp_t *tp = NULL;
        st = ops ? ops->open(&params, &tp) : TERN_ERR_UNSUPPORTED;
        if (st == TERN_ERR_UNSUPPORTED) {
            if (forced && nwanted == 1) {
                util_log_error("tern_run: TERN_TRANSPORT=%s, but the %s transport cannot run "
                               "here (TERN_VERBOSE=1 says why)", want, wanted[i]->name);
                return TERN_ERR_UNREACHABLE;
            }
            util_log_info(1, "transport %s cannot run here; trying the next", wanted[i]->name);
            continue;
        }
        if (st != TERN_OK) {
            util_log_error("tern_run: transport %s failed to start: %s", wanted[i]->name,
                           tern_strerror(st));
            return st;
        }
        if (!tp->desc[0])
            snprintf(tp->desc, sizeof tp->desc, "%s", wanted[i]->name);
        pe->tps[pe->ntps++] = tp;
        route_pes(pe, tp);
        /* Host-only transports serve the pairs within each host; the rest need more. */
        all_served = !tp->host_only || pe->real_hosts.nhosts == 1;
    }
    for (int p = 0; p < pe->num_pes; p++) {
        if (p != pe->my_pe && !pe->route[p]) {
            int host_only = pe->ntps > 0;
            for (int i = 0; i < pe->ntps; i++)
                host_only &= pe->tps[i]->host_only;
            report_unreached(pe, p, want, host_only);
            /* Let the libraries clean up (files, connections) before the job ends. */
            core_transports_close(pe);
            return TERN_ERR_UNREACHABLE;
        }
    }
    return core_fc_open(pe);
}

void core_transports_close(core_pe_t *pe)
{
    core_fc_close(pe);
    for (int i = 0; i < pe->ntps; i++)
        pe->tps[i]->ops->close(pe->tps[i]);
    pe->ntps = 0;
}

size_t core_transports_pending(core_pe_t *pe)
{
    size_t n = 0;
    for (int i = 0; i < pe->ntps; i++) {
        const tp_ops_t *ops = pe->tps[i]->ops;
        if (ops->size > offsetof(tp_ops_t, pending) && ops->pending)
            n += ops->pending(pe->tps[i]);
    }
    return n;
}

void core_transports_flush(core_pe_t *pe)
{
    for (int i = 0; i < pe->ntps; i++) {
        const tp_ops_t *ops = pe->tps[i]->ops;
        if (ops->size > offsetof(tp_ops_t, flush) && ops->flush)
            ops->flush(pe->tps[i]);
    }
}

int core_transports_progress(core_pe_t *pe)
{
    int got = 0;
    for (int i = 0; i < pe->ntps; i++)
        got += pe->tps[i]->ops->progress(pe->tps[i]);
    return got;
}

void core_transports_wait(core_pe_t *pe, long timeout_us)
{
    if (pe->ntps == 1) {
        pe->tps[0]->ops->wait(pe->tps[0], timeout_us);
        return;
    }
    struct pollfd fds[sizeof pe->tps / sizeof pe->tps[0]];
    int nfds = 0, armed = 0, busy = 0, nofd = 0;
    for (; armed < pe->ntps; armed++) {
        int fd = pe->tps[armed]->ops->arm(pe->tps[armed]);
        if (fd == TP_ARM_BUSY) {
            busy = 1;
            armed++;
            break;
        }
        if (fd == TP_ARM_NOFD)
            nofd = 1;
        else
            fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
    }
    if (!busy) {
        /* A transport without a descriptor is checked again after a short slice. */
        if (nofd && (timeout_us < 0 || timeout_us > 200))
            timeout_us = 200;
        struct timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};
        if (ppoll(fds, (nfds_t)nfds, timeout_us < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR)
            util_log_error("waiting for messages: poll: %s", strerror(errno));
    }
    for (int i = 0; i < armed; i++)
        pe->tps[i]->ops->disarm(pe->tps[i]);
}

/* PE 0, verbose: which transport serves which pairs, e.g. "shm for the 2 pairs within
 * hosts, ucx (tcp) for the 4 pairs across hosts". */
void core_transports_report(core_pe_t *pe)
{
    if (pe->ntps == 0) {
        util_log_info(1, "transports: none (one PE)");
        return;
    }
    const topo_hosts_t *h = &pe->real_hosts;
    long long npairs = (long long)pe->num_pes * (pe->num_pes - 1) / 2, within = 0;
    for (int host = 0; host < h->nhosts; host++) {
        long long m = topo_host_num_pes(h, host);
        within += m * (m - 1) / 2;
    }
    char line[512];
    size_t len = 0;
    int local_done = 0;
    for (int i = 0; i < pe->ntps && len < sizeof line; i++) {
        const tp_t *tp = pe->tps[i];
        long long n;
        const char *which;
        if (tp->host_only) {
            n = within;
            which = h->nhosts > 1 ? "within hosts" : "within the host";
        } else if (local_done) {
            n = npairs - within;
            which = "across hosts";
        } else {
            n = npairs;
            which = h->nhosts > 1 ? "within and across hosts" : "within the host";
        }
        local_done = 1;
        int w = snprintf(line + len, sizeof line - len, "%s%s for the %lld pair%s %s",
                         i ? ", " : "", tp->desc, n, n == 1 ? "" : "s", which);
        if (w > 0)
            len += (size_t)w;
    }
    util_log_info(1, "transports: %s", line);
}
