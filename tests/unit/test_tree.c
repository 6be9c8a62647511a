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
 */
#include "topology/tree.h"

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
    return check_finish("unit.tree");
}
