#include "topology/tree.h"

int topo_kary_parent(int root, int npes, int k, int pe)
{
    long r = ((long)pe - root + npes) % npes;
    if (r == 0)
        return -1;
    return (int)(((r - 1) / k + root) % npes);
}

int topo_kary_children(int root, int npes, int k, int pe, int *out)
{
    long r = ((long)pe - root + npes) % npes;
    int n = 0;
    for (int c = 1; c <= k; c++) {
        long child = r * k + c;
        if (child >= npes)
            break;
        out[n++] = (int)((child + root) % npes);
    }
    return n;
}

/* Where a PE sits: its slot and index, and the root's slot and its entry index there. */
typedef struct {
    int slot, idx;      /* of the PE */
    int root_slot;
    int entry;          /* index of the slot's entry PE (the root in its own slot, else 0) */
} place_t;

static int locate(const topo_set_t *s, int root, int k, int pe, place_t *pl)
{
    int rs, ri;
    if (k < 1 || topo_set_find(s, root, &rs, &ri) != 0 ||
        topo_set_find(s, pe, &pl->slot, &pl->idx) != 0)
        return -2;
    pl->root_slot = rs;
    pl->entry = pl->slot == rs ? ri : 0;
    return 0;
}

static int slot_size(const topo_set_t *s, int slot)
{
    return s->slot_off[slot + 1] - s->slot_off[slot];
}

/* The entry PE of the slot at position `pos` of the host order that starts at the root's. */
static int entry_at(const topo_set_t *s, const place_t *pl, int root, int pos)
{
    int slot = (pl->root_slot + pos) % s->nslots;
    return slot == pl->root_slot ? root : s->pes[s->slot_off[slot]];
}

int topo_tree_parent(const topo_set_t *s, int root, int k, int pe)
{
    place_t pl;
    if (locate(s, root, k, pe, &pl) != 0)
        return -2;
    int m = slot_size(s, pl.slot);
    /* Inside the host: the k-ary tree over the host's members rooted at the entry PE. */
    int up = topo_kary_parent(pl.entry, m, k, pl.idx);
    if (up >= 0)
        return s->pes[s->slot_off[pl.slot] + up];
    /* The entry PE: up the tree of hosts. */
    int pos = (pl.slot - pl.root_slot + s->nslots) % s->nslots;
    if (pos == 0)
        return -1;
    return entry_at(s, &pl, root, (pos - 1) / k);
}

int topo_tree_children(const topo_set_t *s, int root, int k, int pe, int *out)
{
    place_t pl;
    if (locate(s, root, k, pe, &pl) != 0)
        return -2;
    int n = 0;
    if (pl.idx == pl.entry) {
        long pos = (pl.slot - pl.root_slot + s->nslots) % s->nslots;
        for (int c = 1; c <= k && pos * k + c < s->nslots; c++)
            out[n++] = entry_at(s, &pl, root, (int)(pos * k + c));
    }
    int nl = topo_kary_children(pl.entry, slot_size(s, pl.slot), k, pl.idx, out + n);
    for (int i = n; i < n + nl; i++)
        out[i] = s->pes[s->slot_off[pl.slot] + out[i]];
    return n + nl;
}
