#include "topology/hosts.h"

#include <stdlib.h>
#include <string.h>

void topo_hosts_free(topo_hosts_t *h)
{
    free(h->pe_host);
    free(h->pe_rank);
    free(h->host_off);
    free(h->host_pes);
    memset(h, 0, sizeof *h);
}

tern_status_t topo_hosts_build(int npes, const char *const *names, int emulate,
                               topo_hosts_t *out)
{
    if (npes < 1 || !names || emulate < 1)
        return TERN_ERR_INVALID;
    topo_hosts_t h = {.npes = npes};
    size_t bytes = (size_t)npes * sizeof(int);
    int *real = malloc(bytes);           /* real host of each PE */
    int *first = malloc(bytes);          /* lowest PE of each real host */
    int *count = calloc(1, bytes);       /* PEs of each real (later: emulated) host */
    int *seen = calloc(1, bytes);        /* PEs of each real host met so far */
    int *last_blk = malloc(bytes);       /* block of the last PE met, per real host */
    int *cur = malloc(bytes);            /* emulated host of that block, per real host */
    h.pe_host = malloc(bytes);
    h.pe_rank = malloc(bytes);
    h.host_off = calloc((size_t)npes + 1, sizeof *h.host_off);
    h.host_pes = malloc(bytes);
    tern_status_t st = TERN_ERR_NOMEM;
    if (!real || !first || !count || !seen || !last_blk || !cur || !h.pe_host || !h.pe_rank ||
        !h.host_off || !h.host_pes)
        goto out;
    /* Real hosts in order of their lowest PE. Quadratic in the number of hosts, run once
     * at start-up: fine to thousands of hosts; a hash would take over beyond that. */
    int nreal = 0;
    for (int p = 0; p < npes; p++) {
        int r = 0;
        while (r < nreal && strcmp(names[first[r]], names[p]) != 0)
            r++;
        if (r == nreal) {
            first[nreal] = p;
            last_blk[nreal] = -1;
            nreal++;
        }
        real[p] = r;
        count[r]++;
    }
    /* Each real host's PEs, in PE order, cut into k near-equal blocks; a block becomes a
     * host when its first PE is met, so hosts stay numbered by lowest PE. */
    int nh = 0;
    for (int p = 0; p < npes; p++) {
        int r = real[p], m = count[r], k = emulate < m ? emulate : m;
        int blk = (int)((long)seen[r]++ * k / m);
        if (blk != last_blk[r]) {
            last_blk[r] = blk;
            cur[r] = nh++;
        }
        h.pe_host[p] = cur[r];
    }
    h.nhosts = nh;
    for (int p = 0; p < npes; p++)
        h.host_off[h.pe_host[p] + 1]++;
    for (int i = 0; i < nh; i++)
        h.host_off[i + 1] += h.host_off[i];
    memset(count, 0, bytes);
    for (int p = 0; p < npes; p++) {
        int host = h.pe_host[p];
        h.pe_rank[p] = count[host]++;
        h.host_pes[h.host_off[host] + h.pe_rank[p]] = p;
    }
    *out = h;
    st = TERN_OK;
out:
    free(real);
    free(first);
    free(count);
    free(seen);
    free(last_blk);
    free(cur);
    if (st != TERN_OK)
        topo_hosts_free(&h);
    return st;
}

void topo_set_free(topo_set_t *s)
{
    free(s->slot_off);
    free(s->slot_of);
    free(s->pes);
    memset(s, 0, sizeof *s);
}

tern_status_t topo_set_build(const topo_hosts_t *h, const int *pes, int n, topo_set_t *out)
{
    if (!h || (pes && n < 1) || n > h->npes)
        return TERN_ERR_INVALID;
    if (!pes)
        n = h->npes;
    topo_set_t s = {.hosts = h, .n = n};
    s.slot_of = malloc((size_t)h->nhosts * sizeof *s.slot_of);
    s.slot_off = calloc((size_t)h->nhosts + 1, sizeof *s.slot_off);
    s.pes = malloc((size_t)n * sizeof *s.pes);
    unsigned char *mark = calloc((size_t)h->npes, 1);
    tern_status_t st = TERN_ERR_NOMEM;
    if (!s.slot_of || !s.slot_off || !s.pes || !mark)
        goto out;
    st = TERN_ERR_INVALID;
    for (int i = 0; i < n; i++) {
        int p = pes ? pes[i] : i;
        if (p < 0 || p >= h->npes || mark[p])
            goto out; /* out of range or twice */
        mark[p] = 1;
    }
    /* Walk hosts in order and their PEs in order: members come out grouped and sorted. */
    int k = 0;
    for (int host = 0; host < h->nhosts; host++) {
        int before = k;
        for (int j = h->host_off[host]; j < h->host_off[host + 1]; j++)
            if (mark[h->host_pes[j]])
                s.pes[k++] = h->host_pes[j];
        if (k == before) {
            s.slot_of[host] = -1;
            continue;
        }
        s.slot_of[host] = s.nslots;
        s.slot_off[++s.nslots] = k;
    }
    *out = s;
    st = TERN_OK;
out:
    free(mark);
    if (st != TERN_OK)
        topo_set_free(&s);
    return st;
}

int topo_set_find(const topo_set_t *s, int pe, int *slot, int *idx)
{
    if (pe < 0 || pe >= s->hosts->npes)
        return -1;
    int sl = s->slot_of[s->hosts->pe_host[pe]];
    if (sl < 0)
        return -1;
    int lo = s->slot_off[sl], hi = s->slot_off[sl + 1];
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (s->pes[mid] < pe)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == s->slot_off[sl + 1] || s->pes[lo] != pe)
        return -1;
    *slot = sl;
    *idx = lo - s->slot_off[sl];
    return 0;
}
