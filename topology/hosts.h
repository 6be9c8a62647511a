/*
 * Which PEs share a host: the PE <-> host map behind the host queries and the host-aware
 * spanning trees, and PE subsets grouped by host.
 *
 * Hosts are numbered in the order of their lowest PE (host 0 holds PE 0). A host's PEs are
 * ranked in PE order. For tests on one machine the PEs of each real host can be split into
 * k emulated hosts (consecutive blocks of near-equal size); the transports still see the
 * real hosts.
 */
#ifndef TERN_TOPOLOGY_HOSTS_H
#define TERN_TOPOLOGY_HOSTS_H

#include <tern/tern.h>

typedef struct topo_hosts {
    int npes;
    int nhosts;
    int *pe_host;  /* [npes] host of each PE */
    int *pe_rank;  /* [npes] rank of each PE within its host */
    int *host_off; /* [nhosts + 1] where each host's PEs start in host_pes */
    int *host_pes; /* [npes] PEs grouped by host, ascending within each */
} topo_hosts_t;

/*
 * Build the map from each PE's host name (equal names = one host), splitting each host
 * into `emulate` hosts (1: no split; a host with fewer PEs gets one per PE).
 */
tern_status_t topo_hosts_build(int npes, const char *const *names, int emulate,
                               topo_hosts_t *out);
void topo_hosts_free(topo_hosts_t *h);

static inline int topo_host_num_pes(const topo_hosts_t *h, int host)
{
    return h->host_off[host + 1] - h->host_off[host];
}

/*
 * A set of PEs grouped by host: the members of a collection, or all PEs. Trees are built
 * over sets. Hosts without members are left out; the set's host slots keep host order.
 */
typedef struct topo_set {
    const topo_hosts_t *hosts;
    int n;         /* members */
    int nslots;    /* hosts with members */
    int *slot_off; /* [nslots + 1] where each slot's members start in pes */
    int *slot_of;  /* [hosts->nhosts] slot of each host, -1 when it has no member */
    int *pes;      /* [n] members grouped by slot, ascending within each */
} topo_set_t;

/* The set of the given PEs (any order, no duplicates) or, with pes == NULL, of all PEs. */
tern_status_t topo_set_build(const topo_hosts_t *h, const int *pes, int n, topo_set_t *out);
void topo_set_free(topo_set_t *s);
/* Slot and index within the slot of member `pe`; -1 when pe is not a member. */
int topo_set_find(const topo_set_t *s, int pe, int *slot, int *idx);

#endif
