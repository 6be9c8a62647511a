/*
 * topology/tree: k-ary spanning trees of npes PEs rooted anywhere.
 *
 * For every root, npes 1..70 and k 1..8 (and some large PE counts): the root has no
 * parent and every other PE exactly one, in range and not itself; each PE has at most k
 * children, distinct, in range, whose parent is that PE; every non-root PE appears in
 * exactly one children list and the root in none; following parents from any PE reaches
 * the root in at most npes steps (no cycles); a walk down the children lists from the
 * root reaches every PE exactly once; and the height is that of a complete k-ary tree
 * (the smallest h with 1 + k + ... + k^h >= npes), so broadcasts take the fewest hops.
 *
 * Host-aware trees (topo_tree_*): small cases written out by hand from the definition in
 * tree.h, then many random host maps (interleaved names, emulated splitting), random
 * subsets (one PE up to all), random member roots and k 1..8 plus a few large ones. For
 * each: the root's parent is -1 and every other member's parent a member; parents lead to
 * the root without cycles; children are exactly the inverse of parent (distinct members,
 * at most k on other hosts, listed first, and at most k on the PE's own host); exactly one
 * edge enters each host other than the root's, at the host's lowest member, none enters
 * the root's; nslots - 1 cross-host edges; the depth is at most the height of a complete
 * k-ary tree over the hosts plus that over the largest host (and exactly the complete
 * height for one host, or for one PE per host); every parent equals that of a reference
 * built naively from the definition; non-members, non-member roots and k < 1 give -2.
 */
#include "topology/tree.h"

#include <limits.h>
#include <stdlib.h>

#include "check.h"

#define GUARD (-12345)

/* Smallest h with 1 + k + ... + k^h >= n. */
static int complete_height(int n, int k)
{
    long long cover = 1, level = 1;
    int h = 0;
    while (cover < n) {
        level *= k;
        cover += level;
        h++;
    }
    return h;
}

typedef struct {
    int *parent, *nchild, *child_of_count, *depth, *queue;
    int *kids; /* npes * (k + 1) */
    unsigned char *visited;
} scratch_t;

static int check_tree(int root, int npes, int k, scratch_t *s)
{
    int ok = 1;
    for (int pe = 0; pe < npes; pe++) {
        s->parent[pe] = topo_kary_parent(root, npes, k, pe);
        s->child_of_count[pe] = 0;
        s->visited[pe] = 0;
    }
    ok &= CHECK_EQ(s->parent[root], -1);
    for (int pe = 0; pe < npes && ok; pe++) {
        if (pe == root)
            continue;
        ok &= CHECK(s->parent[pe] >= 0 && s->parent[pe] < npes);
        ok &= CHECK(s->parent[pe] != pe);
    }
    if (!ok)
        goto fail;

    /* children lists: at most k (the k+1-th slot is a guard), distinct, consistent */
    for (int pe = 0; pe < npes && ok; pe++) {
        int *out = &s->kids[(size_t)pe * (size_t)(k + 1)];
        for (int i = 0; i <= k; i++)
            out[i] = GUARD;
        int n = topo_kary_children(root, npes, k, pe, out);
        s->nchild[pe] = n;
        ok &= CHECK(n >= 0 && n <= k);
        ok &= CHECK_EQ(out[k], GUARD);
        for (int i = n; i <= k; i++)
            ok &= CHECK_EQ(out[i], GUARD); /* nothing written beyond the count */
        if (!ok)
            break;
        for (int i = 0; i < n && ok; i++) {
            int c = out[i];
            ok &= CHECK(c >= 0 && c < npes);
            if (!ok)
                break;
            ok &= CHECK(c != pe);
            ok &= CHECK(c != root);
            ok &= CHECK_EQ(s->parent[c], pe);
            for (int j = 0; j < i; j++)
                ok &= CHECK(out[j] != c);
            s->child_of_count[c]++;
        }
    }
    if (!ok)
        goto fail;
    /* every non-root PE is the child of exactly one PE (its parent), the root of none;
     * conversely a PE's children are exactly the PEs naming it as parent */
    {
        long long total_children = 0;
        for (int pe = 0; pe < npes && ok; pe++) {
            ok &= CHECK_EQ(s->child_of_count[pe], pe == root ? 0 : 1);
            total_children += s->nchild[pe];
        }
        ok &= CHECK_EQ(total_children, npes - 1);
    }

    /* following parents reaches the root: no cycles, connected */
    for (int pe = 0; pe < npes && ok; pe++) {
        int x = pe, steps = 0;
        while (x != root && steps <= npes) {
            x = s->parent[x];
            steps++;
        }
        ok &= CHECK_EQ(x, root);
        ok &= CHECK(steps < npes || npes == 1);
    }

    /* breadth-first walk down from the root visits each PE once; height is minimal */
    if (ok) {
        int qh = 0, qt = 0, maxdepth = 0;
        s->queue[qt++] = root;
        s->visited[root] = 1;
        s->depth[root] = 0;
        while (qh < qt && ok) {
            int pe = s->queue[qh++];
            const int *out = &s->kids[(size_t)pe * (size_t)(k + 1)];
            for (int i = 0; i < s->nchild[pe] && ok; i++) {
                int c = out[i];
                ok &= CHECK(!s->visited[c]);
                s->visited[c] = 1;
                s->depth[c] = s->depth[pe] + 1;
                if (s->depth[c] > maxdepth)
                    maxdepth = s->depth[c];
                s->queue[qt++] = c;
            }
        }
        ok &= CHECK_EQ(qt, npes);
        ok &= CHECK_EQ(maxdepth, complete_height(npes, k));
    }
fail:
    if (!ok)
        fprintf(stderr, "  (root %d, npes %d, k %d)\n", root, npes, k);
    return ok;
}

static void scratch_init(scratch_t *s, int npes, int k)
{
    s->parent = malloc((size_t)npes * sizeof(int));
    s->nchild = malloc((size_t)npes * sizeof(int));
    s->child_of_count = malloc((size_t)npes * sizeof(int));
    s->depth = malloc((size_t)npes * sizeof(int));
    s->queue = malloc((size_t)npes * sizeof(int));
    s->kids = malloc((size_t)npes * (size_t)(k + 1) * sizeof(int));
    s->visited = malloc((size_t)npes);
}

static void scratch_fini(scratch_t *s)
{
    free(s->parent);
    free(s->nchild);
    free(s->child_of_count);
    free(s->depth);
    free(s->queue);
    free(s->kids);
    free(s->visited);
}

/* ---- host-aware trees (topo_tree_*) ---- */

/* The map from name ids (equal ids = one host), each id as its own string. */
static int build_hosts(int npes, const int *name_id, int emulate, topo_hosts_t *h)
{
    char **names = malloc((size_t)npes * sizeof *names);
    for (int p = 0; p < npes; p++) {
        names[p] = malloc(24);
        snprintf(names[p], 24, "host%d", name_id[p]);
    }
    int ok = CHECK_EQ(topo_hosts_build(npes, (const char *const *)names, emulate, h), TERN_OK);
    for (int p = 0; p < npes; p++)
        free(names[p]);
    free(names);
    return ok;
}

/*
 * Reference parents, built naively from the definition in tree.h without the set's
 * internals: the hosts with members in host order, starting at the root's and wrapping;
 * entry PE = the root on its host, else the host's lowest member; the hosts form a k-ary
 * tree (position i's parent is position (i - 1) / k) through their entries; inside a host
 * the members in PE order starting at the entry and wrapping form a k-ary tree likewise.
 * ref[pe] = parent, -1 for the root, -2 for non-members.
 */
static void ref_parents(const topo_hosts_t *h, const unsigned char *member, int root, int k,
                        int *ref)
{
    int npes = h->npes, nh = h->nhosts;
    int *order = malloc((size_t)nh * sizeof *order); /* hosts with members, from the root's */
    int *entry = malloc((size_t)nh * sizeof *entry);
    int *list = malloc((size_t)npes * sizeof *list);
    int nslots = 0;
    for (int p = 0; p < npes; p++)
        ref[p] = -2;
    /* hosts with members in host order, rotated to start at the root's */
    int *with = malloc((size_t)nh * sizeof *with);
    int nwith = 0, rpos = -1;
    for (int host = 0; host < nh; host++) {
        int any = 0;
        for (int p = 0; p < npes; p++)
            any |= h->pe_host[p] == host && member[p];
        if (any) {
            if (host == h->pe_host[root])
                rpos = nwith;
            with[nwith++] = host;
        }
    }
    for (int i = 0; i < nwith; i++)
        order[nslots++] = with[(rpos + i) % nwith];
    for (int i = 0; i < nslots; i++) {
        if (i == 0) {
            entry[i] = root;
            continue;
        }
        for (int p = 0; p < npes; p++)
            if (h->pe_host[p] == order[i] && member[p]) {
                entry[i] = p;
                break;
            }
    }
    ref[root] = -1;
    for (int i = 1; i < nslots; i++)
        ref[entry[i]] = entry[(i - 1) / k];
    for (int i = 0; i < nslots; i++) {
        int m = 0, e = 0;
        for (int p = 0; p < npes; p++)
            if (h->pe_host[p] == order[i] && member[p]) {
                if (p == entry[i])
                    e = m;
                list[m++] = p;
            }
        for (int j = 1; j < m; j++)
            ref[list[(e + j) % m]] = list[(e + (j - 1) / k) % m];
    }
    free(order);
    free(entry);
    free(list);
    free(with);
}

typedef struct {
    int *parent, *ref, *childcount, *depth, *lowest, *inbound;
    int *out; /* TOPO_TREE_MAX_KIDS(k) + 1 */
} hscratch_t;

/*
 * Checks the host-aware tree of set s (membership in `member`) rooted at `root` with
 * branching k against the contract; returns its depth, or -1 when a check failed.
 */
static int check_host_tree(const topo_hosts_t *h, const topo_set_t *s,
                           const unsigned char *member, int root, int k, hscratch_t *x)
{
    int ok = 1, npes = h->npes, nh = h->nhosts, maxkids = TOPO_TREE_MAX_KIDS(k);
    int n = 0, nslots = 0, maxslot = 0;

    /* the set, seen from the outside: members, hosts with members, lowest member each */
    for (int host = 0; host < nh; host++) {
        x->lowest[host] = -1;
        x->inbound[host] = 0;
    }
    for (int p = 0; p < npes; p++)
        if (member[p]) {
            n++;
            if (x->lowest[h->pe_host[p]] < 0) {
                x->lowest[h->pe_host[p]] = p;
                nslots++;
            }
        }
    for (int host = 0; host < nh; host++) {
        int m = 0;
        for (int j = h->host_off[host]; j < h->host_off[host + 1]; j++)
            m += member[h->host_pes[j]];
        if (m > maxslot)
            maxslot = m;
    }

    /* (f) non-members and PEs out of range: -2 */
    for (int p = -1; p <= npes && ok; p++) {
        if (p >= 0 && p < npes && member[p])
            continue;
        ok &= CHECK_EQ(topo_tree_parent(s, root, k, p), -2);
        ok &= CHECK_EQ(topo_tree_children(s, root, k, p, x->out), -2);
    }

    /* (a) parents: -1 at the root, a member elsewhere; equal to the reference */
    ref_parents(h, member, root, k, x->ref);
    for (int p = 0; p < npes && ok; p++) {
        x->childcount[p] = 0;
        x->depth[p] = -1;
        if (!member[p])
            continue;
        int par = topo_tree_parent(s, root, k, p);
        x->parent[p] = par;
        if (p == root) {
            ok &= CHECK_EQ(par, -1);
        } else {
            ok &= CHECK(par >= 0 && par < npes);
            if (!ok)
                break;
            ok &= CHECK(member[par]);
            ok &= CHECK(par != p);
        }
        ok &= CHECK_EQ(par, x->ref[p]);
    }
    if (!ok)
        goto fail;

    /* (b) following parents reaches the root in fewer than n steps */
    int maxdepth = 0;
    for (int p = 0; p < npes && ok; p++) {
        if (!member[p])
            continue;
        int y = p, steps = 0;
        while (y != root && steps < n) {
            y = x->parent[y];
            steps++;
        }
        ok &= CHECK_EQ(y, root);
        ok &= CHECK(steps < n);
        x->depth[p] = steps;
        if (steps > maxdepth)
            maxdepth = steps;
    }
    if (!ok)
        goto fail;

    /* (c) children: the exact inverse of parent, within the bounds */
    long long total = 0;
    for (int p = 0; p < npes && ok; p++) {
        if (!member[p])
            continue;
        for (int i = 0; i <= maxkids; i++)
            x->out[i] = GUARD;
        int nk = topo_tree_children(s, root, k, p, x->out);
        ok &= CHECK(nk >= 0 && nk <= maxkids);
        ok &= CHECK_EQ(x->out[maxkids], GUARD);
        if (!ok)
            break;
        int far = 0, near = 0;
        for (int i = 0; i < nk && ok; i++) {
            int c = x->out[i];
            ok &= CHECK(c >= 0 && c < npes);
            if (!ok)
                break;
            ok &= CHECK(member[c]);
            ok &= CHECK_EQ(x->parent[c], p);
            for (int j = 0; j < i; j++)
                ok &= CHECK(x->out[j] != c);
            if (h->pe_host[c] != h->pe_host[p]) {
                far++;
                ok &= CHECK_EQ(near, 0); /* children on other hosts come first */
            } else {
                near++;
            }
            x->childcount[c]++;
        }
        ok &= CHECK(far <= k);
        ok &= CHECK(near <= k);
        /* only a host's entry PE sends off the host */
        if (far > 0)
            ok &= CHECK(p == root || p == x->lowest[h->pe_host[p]]);
        total += nk;
    }
    for (int p = 0; p < npes && ok; p++)
        if (member[p])
            ok &= CHECK_EQ(x->childcount[p], p == root ? 0 : 1);
    ok &= CHECK_EQ(total, n - 1);
    if (!ok)
        goto fail;

    /* (d) one edge enters each host but the root's, at its lowest member; (e) nslots - 1 */
    int cross = 0;
    for (int p = 0; p < npes && ok; p++) {
        if (!member[p] || p == root)
            continue;
        if (h->pe_host[x->parent[p]] != h->pe_host[p]) {
            cross++;
            x->inbound[h->pe_host[p]]++;
            ok &= CHECK(h->pe_host[p] != h->pe_host[root]);
            ok &= CHECK_EQ(p, x->lowest[h->pe_host[p]]);
        }
    }
    for (int host = 0; host < nh && ok; host++) {
        if (x->lowest[host] < 0)
            ok &= CHECK_EQ(x->inbound[host], 0);
        else
            ok &= CHECK_EQ(x->inbound[host], host == h->pe_host[root] ? 0 : 1);
    }
    ok &= CHECK_EQ(cross, nslots - 1);
    ok &= CHECK_EQ(s->nslots, nslots);

    /* depth: across the hosts, then inside the largest at most */
    ok &= CHECK(maxdepth <= complete_height(nslots, k) + complete_height(maxslot, k));
    if (nslots == 1)
        ok &= CHECK_EQ(maxdepth, complete_height(n, k));
    if (maxslot == 1)
        ok &= CHECK_EQ(maxdepth, complete_height(nslots, k));
    if (ok)
        return maxdepth;
fail:
    fprintf(stderr, "  (host tree: %d PEs, %d hosts, %d members in %d hosts, root %d, k %d)\n",
            npes, nh, n, nslots, root, k);
    return -1;
}

static void hscratch_init(hscratch_t *x, int npes, int nhosts, int kmax)
{
    x->parent = malloc((size_t)npes * sizeof(int));
    x->ref = malloc((size_t)npes * sizeof(int));
    x->childcount = malloc((size_t)npes * sizeof(int));
    x->depth = malloc((size_t)npes * sizeof(int));
    x->lowest = malloc((size_t)nhosts * sizeof(int));
    x->inbound = malloc((size_t)nhosts * sizeof(int));
    x->out = malloc(((size_t)TOPO_TREE_MAX_KIDS(kmax) + 1) * sizeof(int));
}

static void hscratch_fini(hscratch_t *x)
{
    free(x->parent);
    free(x->ref);
    free(x->childcount);
    free(x->depth);
    free(x->lowest);
    free(x->inbound);
    free(x->out);
}

/* Parents and children of a small tree against values written out by hand. `kids` holds,
 * for each PE, its children terminated by -9 (order free, except across hosts first,
 * which check_host_tree checks). */
static void expect_tree(const topo_set_t *s, int root, int k, const int *parent,
                        const int *const *kids)
{
    int npes = s->hosts->npes;
    int *out = malloc((size_t)TOPO_TREE_MAX_KIDS(k) * sizeof *out);
    for (int p = 0; p < npes; p++) {
        if (!CHECK_EQ(topo_tree_parent(s, root, k, p), parent[p]))
            fprintf(stderr, "  (parent of PE %d, root %d, k %d)\n", p, root, k);
        int nk = topo_tree_children(s, root, k, p, out);
        if (parent[p] == -2) {
            CHECK_EQ(nk, -2);
            continue;
        }
        int want = 0;
        while (kids[p][want] != -9)
            want++;
        if (!CHECK_EQ(nk, want)) {
            fprintf(stderr, "  (children of PE %d, root %d, k %d)\n", p, root, k);
            continue;
        }
        for (int i = 0; i < want; i++) {
            int found = 0;
            for (int j = 0; j < nk; j++)
                found |= out[j] == kids[p][i];
            if (!CHECK(found))
                fprintf(stderr, "  (PE %d should have child %d)\n", p, kids[p][i]);
        }
    }
    free(out);
}

/* Runs check_host_tree on the set of all PEs or of the listed ones. */
static int check_set_tree(const topo_hosts_t *h, const int *pes, int n, int root, int k)
{
    topo_set_t s;
    unsigned char *member = calloc((size_t)h->npes, 1);
    for (int i = 0; i < (pes ? n : h->npes); i++)
        member[pes ? pes[i] : i] = 1;
    int depth = -1;
    if (CHECK_EQ(topo_set_build(h, pes, n, &s), TERN_OK)) {
        hscratch_t x;
        hscratch_init(&x, h->npes, h->nhosts, k);
        depth = check_host_tree(h, &s, member, root, k, &x);
        hscratch_fini(&x);
        topo_set_free(&s);
    }
    free(member);
    return depth;
}

static void test_host_fixed(void)
{
    topo_hosts_t h;
    topo_set_t s;

    /* 8 PEs, hosts {0,1,2,3} and {4,5,6,7}, root 5, k 2. Hosts from the root's: host 1
     * (entry 5), host 0 (entry 0) -> 0's parent is 5. Host 1 from 5 in PE order: 5 6 7 4
     * -> 5: 6 7, 6: 4. Host 0: 0 1 2 3 -> 0: 1 2, 1: 3. */
    {
        const int ids[] = {0, 0, 0, 0, 1, 1, 1, 1};
        if (build_hosts(8, ids, 1, &h)) {
            static const int parent[] = {5, 0, 0, 1, 6, -1, 5, 5};
            static const int k0[] = {1, 2, -9}, k1[] = {3, -9}, none[] = {-9};
            static const int k5[] = {0, 6, 7, -9}, k6[] = {4, -9};
            const int *const kids[] = {k0, k1, none, none, none, k5, k6, none};
            if (CHECK_EQ(topo_set_build(&h, NULL, 8, &s), TERN_OK)) {
                expect_tree(&s, 5, 2, parent, kids);
                int out[4];
                /* the root sends off the host first */
                if (CHECK_EQ(topo_tree_children(&s, 5, 2, 5, out), 3))
                    CHECK_EQ(out[0], 0);
                /* invalid: k < 1, roots and PEs not members */
                CHECK_EQ(topo_tree_parent(&s, 5, 0, 1), -2);
                CHECK_EQ(topo_tree_parent(&s, 5, -1, 1), -2);
                CHECK_EQ(topo_tree_children(&s, 5, 0, 5, out), -2);
                CHECK_EQ(topo_tree_parent(&s, 8, 2, 1), -2);
                CHECK_EQ(topo_tree_parent(&s, -1, 2, 1), -2);
                CHECK_EQ(topo_tree_children(&s, 8, 2, 1, out), -2);
                CHECK_EQ(topo_tree_parent(&s, 5, 2, 8), -2);
                CHECK_EQ(topo_tree_parent(&s, 5, 2, INT_MAX), -2);
                topo_set_free(&s);
            }
            /* root 0, k 1: hosts 0 -> 1 through 0 -> 4; inside: chains 0 1 2 3, 4 5 6 7 */
            if (CHECK_EQ(topo_set_build(&h, NULL, 8, &s), TERN_OK)) {
                static const int par1[] = {-1, 0, 1, 2, 0, 4, 5, 6};
                static const int a0[] = {4, 1, -9}, a1[] = {2, -9}, a2[] = {3, -9};
                static const int a4[] = {5, -9}, a5[] = {6, -9}, a6[] = {7, -9}, n0[] = {-9};
                const int *const kids1[] = {a0, a1, a2, n0, a4, a5, a6, n0};
                expect_tree(&s, 0, 1, par1, kids1);
                topo_set_free(&s);
            }
            /* subset {6, 3, 5, 2}, root 6, k 2: host 1 {5,6} (entry 6), host 0 {2,3}
             * (entry 2): 2's parent 6; 6: 5 (wraps); 2: 3. Non-members -2. */
            {
                const int sub[] = {6, 3, 5, 2};
                if (CHECK_EQ(topo_set_build(&h, sub, 4, &s), TERN_OK)) {
                    static const int par[] = {-2, -2, 6, 2, -2, 6, -1, -2};
                    static const int b2[] = {3, -9}, b6[] = {2, 5, -9}, n0[] = {-9};
                    const int *const kd[] = {n0, n0, b2, n0, n0, n0, b6, n0};
                    expect_tree(&s, 6, 2, par, kd);
                    int out[4];
                    CHECK_EQ(topo_tree_parent(&s, 0, 2, 2), -2); /* root not a member */
                    CHECK_EQ(topo_tree_children(&s, 4, 2, 6, out), -2);
                    topo_set_free(&s);
                }
            }
            topo_hosts_free(&h);
        }
    }

    /* interleaved a,b,a,c,b,c,a,b: a = host 0 {0,2,6}, b = 1 {1,4,7}, c = 2 {3,5}.
     * Subset {6,1,7,2}, root 7, k 1: host b (entry 7) then host a (entry 2), c has none.
     * 2's parent 7; inside b from 7: 7 1 -> 1's parent 7; inside a: 2 6. */
    {
        const int ids[] = {0, 1, 0, 2, 1, 2, 0, 1};
        if (build_hosts(8, ids, 1, &h)) {
            const int sub[] = {6, 1, 7, 2};
            if (CHECK_EQ(topo_set_build(&h, sub, 4, &s), TERN_OK)) {
                static const int par[] = {-2, 7, 7, -2, -2, -2, 2, -1};
                static const int c2[] = {6, -9}, c7[] = {2, 1, -9}, n0[] = {-9};
                const int *const kd[] = {n0, n0, c2, n0, n0, n0, n0, c7};
                expect_tree(&s, 7, 1, par, kd);
                int out[2];
                if (CHECK_EQ(topo_tree_children(&s, 7, 1, 7, out), 2)) {
                    CHECK_EQ(out[0], 2); /* across first */
                    CHECK_EQ(out[1], 1);
                }
                topo_set_free(&s);
            }
            /* all PEs, root 4, k 2: hosts from b: b (entry 4), c (entry 3), a (entry 0)
             * -> 3 and 0 hang off 4. Inside b from 4: 4 7 1 -> 4: 7 1. c: 3 5 -> 3: 5.
             * a: 0 2 6 -> 0: 2 6. */
            if (CHECK_EQ(topo_set_build(&h, NULL, 8, &s), TERN_OK)) {
                static const int par[] = {4, 4, 0, 4, -1, 3, 0, 4};
                static const int d0[] = {2, 6, -9}, d3[] = {5, -9}, d4[] = {3, 0, 7, 1, -9};
                static const int n0[] = {-9};
                const int *const kd[] = {d0, n0, n0, d3, d4, n0, n0, n0};
                expect_tree(&s, 4, 2, par, kd);
                topo_set_free(&s);
            }
            topo_hosts_free(&h);
        }
    }

    /* 5 hosts of one PE, root 3, k 2: hosts from 3: 3 4 0 1 2 -> 3: 4 0, 4: 1 2 */
    {
        const int ids[] = {0, 1, 2, 3, 4};
        if (build_hosts(5, ids, 1, &h)) {
            if (CHECK_EQ(topo_set_build(&h, NULL, 5, &s), TERN_OK)) {
                static const int par[] = {3, 4, 4, -1, 3};
                static const int e3[] = {4, 0, -9}, e4[] = {1, 2, -9}, n0[] = {-9};
                const int *const kd[] = {n0, n0, n0, e3, e4};
                expect_tree(&s, 3, 2, par, kd);
                topo_set_free(&s);
            }
            topo_hosts_free(&h);
        }
    }

    /* emulated: one real host of 6 PEs split in 3: {0,1} {2,3} {4,5}; root 3, k 1:
     * hosts from 3's: (entry 3), (entry 4), (entry 0) -> 3 -> 4 -> 0; inside: 3 2, 4 5,
     * 0 1. */
    {
        const int ids[] = {7, 7, 7, 7, 7, 7};
        if (build_hosts(6, ids, 3, &h)) {
            if (CHECK_EQ(topo_set_build(&h, NULL, 6, &s), TERN_OK)) {
                static const int par[] = {4, 0, 3, -1, 3, 4};
                static const int f0[] = {1, -9}, f3[] = {4, 2, -9}, f4[] = {0, 5, -9};
                static const int n0[] = {-9};
                const int *const kd[] = {f0, n0, n0, f3, f4, n0};
                expect_tree(&s, 3, 1, par, kd);
                topo_set_free(&s);
            }
            topo_hosts_free(&h);
        }
    }

    /* depth: one host of n PEs, and n hosts of one PE (distinct names, or one name split
     * into n), is that of a complete k-ary tree, for every root */
    {
        int ids[64], same[64];
        for (int i = 0; i < 64; i++) {
            ids[i] = i;
            same[i] = 0;
        }
        for (int n = 1; n <= 64 && check_failures() == 0; n += (n < 20 ? 1 : 7)) {
            topo_hosts_t one, many, split;
            if (!build_hosts(n, same, 1, &one) || !build_hosts(n, ids, 1, &many) ||
                !build_hosts(n, same, n, &split))
                return;
            CHECK_EQ(one.nhosts, 1);
            CHECK_EQ(many.nhosts, n);
            CHECK_EQ(split.nhosts, n);
            static const int ks[] = {1, 2, 3, 4, 5, 8, 64};
            for (size_t j = 0; j < sizeof ks / sizeof ks[0]; j++)
                for (int root = 0; root < n; root++) {
                    int k = ks[j], want = complete_height(n, k);
                    CHECK_EQ(check_set_tree(&one, NULL, n, root, k), want);
                    CHECK_EQ(check_set_tree(&many, NULL, n, root, k), want);
                    CHECK_EQ(check_set_tree(&split, NULL, n, root, k), want);
                }
            topo_hosts_free(&one);
            topo_hosts_free(&many);
            topo_hosts_free(&split);
        }
    }
}

/* Random name ids: interleaved at random, contiguous runs, or round-robin. */
static void random_names(test_rng_t *r, int npes, int *name_id)
{
    int kinds = (int)rng_range(r, 1, npes < 16 ? npes : 16);
    int style = (int)rng_below(r, 3);
    int id = 0;
    for (int p = 0; p < npes; p++) {
        if (style == 0)
            name_id[p] = (int)rng_below(r, (uint64_t)kinds);
        else if (style == 1) {
            if (p > 0 && rng_chance(r, (unsigned)kinds, (unsigned)npes))
                id++;
            name_id[p] = id;
        } else
            name_id[p] = p % kinds;
    }
}

static void test_host_random(void)
{
    enum { NMAPS = 1200, MAXPES = 200 };
    static const int bigk[] = {9, 16, 31, 64};
    test_rng_t r;
    rng_seed(&r, 77);
    int name_id[MAXPES], pes[MAXPES];
    long trees = 0;
    hscratch_t x;
    hscratch_init(&x, MAXPES, MAXPES, 64);
    unsigned char *member = malloc(MAXPES);
    for (int t = 0; t < NMAPS && check_failures() == 0; t++) {
        int npes = t < 60 ? t % 30 + 1 : (int)rng_range(&r, 1, MAXPES);
        random_names(&r, npes, name_id);
        int emulate = rng_chance(&r, 1, 2)   ? 1
                      : rng_chance(&r, 1, 8) ? (int)rng_range(&r, 10, 300)
                                             : (int)rng_range(&r, 2, 6);
        topo_hosts_t h;
        if (!build_hosts(npes, name_id, emulate, &h))
            break;
        for (int j = 0; j < 4 && check_failures() == 0; j++) {
            /* members: one PE, all PEs (NULL or listed), or a random subset */
            int n = j == 0 ? 1 : j == 1 ? npes : (int)rng_range(&r, 1, npes);
            for (int p = 0; p < npes; p++)
                pes[p] = p;
            for (int i = npes - 1; i > 0; i--) {
                int y = (int)rng_below(&r, (uint64_t)i + 1), tmp = pes[i];
                pes[i] = pes[y];
                pes[y] = tmp;
            }
            memset(member, 0, (size_t)npes);
            for (int i = 0; i < n; i++)
                member[pes[i]] = 1;
            topo_set_t s;
            int use_null = j == 1 && rng_chance(&r, 1, 2);
            if (!CHECK_EQ(topo_set_build(&h, use_null ? NULL : pes, n, &s), TERN_OK))
                break;
            /* small sets: every root and k 1..5 and 64; else a few random ones */
            if (n <= 10) {
                for (int root = 0; root < npes; root++) {
                    if (!member[root])
                        continue;
                    for (int k = 1; k <= 6; k++) {
                        check_host_tree(&h, &s, member, root, k == 6 ? 64 : k, &x);
                        trees++;
                    }
                }
            } else {
                for (int c = 0; c < 4; c++) {
                    int root = pes[rng_below(&r, (uint64_t)n)];
                    int k = c == 3 ? bigk[rng_below(&r, 4)] : (int)rng_range(&r, 1, 8);
                    check_host_tree(&h, &s, member, root, k, &x);
                    trees++;
                }
            }
            /* k < 1 and a non-member root are rejected */
            int out[1];
            CHECK_EQ(topo_tree_parent(&s, pes[0], 0, pes[0]), -2);
            CHECK_EQ(topo_tree_children(&s, pes[0], -3, pes[0], out), -2);
            if (n < npes) {
                CHECK_EQ(topo_tree_parent(&s, pes[n], 2, pes[0]), -2);
                CHECK_EQ(topo_tree_children(&s, pes[n], 2, pes[0], out), -2);
            }
            topo_set_free(&s);
        }
        topo_hosts_free(&h);
        if (check_failures())
            fprintf(stderr, "  (random map %d: %d PEs, emulate %d)\n", t, npes, emulate);
    }
    free(member);
    hscratch_fini(&x);
    printf("unit.tree: %d random host maps, %ld random host-aware trees\n", NMAPS, trees);
}

int main(void)
{
    check_start();

    /* sanity of the reference height */
    CHECK_EQ(complete_height(1, 2), 0);
    CHECK_EQ(complete_height(3, 2), 1);
    CHECK_EQ(complete_height(4, 2), 2);
    CHECK_EQ(complete_height(7, 2), 2);
    CHECK_EQ(complete_height(8, 2), 3);
    CHECK_EQ(complete_height(5, 1), 4);

    /* a small tree written out by hand: npes 7, k 2, root 3 (relative ranks 0..6) */
    {
        int kids[3];
        CHECK_EQ(topo_kary_parent(3, 7, 2, 3), -1);
        CHECK_EQ(topo_kary_children(3, 7, 2, 3, kids), 2);
        CHECK_EQ(kids[0], 4);
        CHECK_EQ(kids[1], 5);
        CHECK_EQ(topo_kary_children(3, 7, 2, 4, kids), 2); /* rank 1 -> ranks 3, 4 */
        CHECK_EQ(kids[0], 6);
        CHECK_EQ(kids[1], 0);
        CHECK_EQ(topo_kary_children(3, 7, 2, 5, kids), 2); /* rank 2 -> ranks 5, 6 */
        CHECK_EQ(kids[0], 1);
        CHECK_EQ(kids[1], 2);
        CHECK_EQ(topo_kary_parent(3, 7, 2, 0), 4);
        CHECK_EQ(topo_kary_parent(3, 7, 2, 2), 5);
        CHECK_EQ(topo_kary_children(3, 7, 2, 0, kids), 0);
    }

    for (int npes = 1; npes <= 70; npes++) {
        for (int k = 1; k <= 8; k++) {
            scratch_t s;
            scratch_init(&s, npes, k);
            int ok = 1;
            for (int root = 0; root < npes && ok; root++)
                ok &= check_tree(root, npes, k, &s);
            scratch_fini(&s);
            if (!ok)
                return check_finish("unit.tree");
        }
    }

    /* larger machines, a few roots and fan-outs */
    static const int big[] = {127, 128, 129, 1000, 4096, 100003};
    static const int fan[] = {1, 2, 3, 4, 8, 16, 64};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        for (size_t j = 0; j < sizeof fan / sizeof fan[0]; j++) {
            int npes = big[i], k = fan[j];
            if (k == 1 && npes > 5000)
                continue; /* a 100k-long chain makes the parent walks quadratic */
            scratch_t s;
            scratch_init(&s, npes, k);
            const int roots[] = {0, 1, npes / 2, npes - 1};
            for (int r = 0; r < 4; r++)
                check_tree(roots[r], npes, k, &s);
            scratch_fini(&s);
        }
    }

    if (check_failures() == 0)
        test_host_fixed();
    if (check_failures() == 0)
        test_host_random();
    return check_finish("unit.tree");
}
