/*
 * topology/hosts: the PE <-> host map and PE sets grouped by host.
 *
 * Hand-written cases with every field compared exactly (one host, interleaved names,
 * names equal by content but not by pointer, emulated splitting whose blocks are fixed by
 * the contract), the invalid arguments, and then many random maps (interleaved names,
 * contiguous names, emulate 1..9 and beyond the PEs of a host) checked against the
 * contract: equal names <-> same real host; each real host cut into min(emulate, m)
 * consecutive blocks whose sizes differ by at most 1, never mixed with another real host;
 * hosts numbered by lowest PE; pe_rank, host_off and host_pes consistent. Sets: all PEs,
 * random subsets given in random order, with topo_set_find for every PE and a few out of
 * range; duplicates and out-of-range members are rejected.
 */
#include "topology/hosts.h"

#include <stdlib.h>

#include "check.h"

/* ---- map invariants ---- */

/*
 * Everything the contract says about a map built from `names` (name ids per PE: equal
 * ids = equal names) with `emulate`. Returns 1 when it all holds.
 */
static int check_map(const topo_hosts_t *h, int npes, const int *name_id, int emulate)
{
    int ok = 1;
    ok &= CHECK_EQ(h->npes, npes);
    ok &= CHECK(h->nhosts >= 1 && h->nhosts <= npes);
    if (!ok)
        return 0;
    int nh = h->nhosts;
    /* host_off: starts at 0, ends at npes, every host non-empty */
    ok &= CHECK_EQ(h->host_off[0], 0);
    ok &= CHECK_EQ(h->host_off[nh], npes);
    for (int i = 0; i < nh && ok; i++)
        ok &= CHECK(topo_host_num_pes(h, i) >= 1);
    if (!ok)
        return 0;
    /* pe_host in range; host_pes lists each host's PEs ascending, at their rank */
    for (int p = 0; p < npes && ok; p++) {
        ok &= CHECK(h->pe_host[p] >= 0 && h->pe_host[p] < nh);
        if (!ok)
            break;
        int host = h->pe_host[p];
        ok &= CHECK(h->pe_rank[p] >= 0 && h->pe_rank[p] < topo_host_num_pes(h, host));
        if (!ok)
            break;
        ok &= CHECK_EQ(h->host_pes[h->host_off[host] + h->pe_rank[p]], p);
    }
    for (int i = 0; i < nh && ok; i++)
        for (int j = h->host_off[i]; j < h->host_off[i + 1] && ok; j++) {
            int p = h->host_pes[j];
            ok &= CHECK(p >= 0 && p < npes);
            if (!ok)
                break;
            ok &= CHECK_EQ(h->pe_host[p], i);
            ok &= CHECK_EQ(h->pe_rank[p], j - h->host_off[i]);
            if (j > h->host_off[i])
                ok &= CHECK(h->host_pes[j - 1] < p);
        }
    if (!ok)
        return 0;
    /* hosts numbered by lowest PE: host 0 holds PE 0, lowest PEs strictly increasing */
    ok &= CHECK_EQ(h->pe_host[0], 0);
    for (int i = 1; i < nh && ok; i++)
        ok &= CHECK(h->host_pes[h->host_off[i - 1]] < h->host_pes[h->host_off[i]]);
    /* equivalently: the first PE met of each host gets the next number */
    {
        int next = 0;
        for (int p = 0; p < npes && ok; p++) {
            if (h->pe_rank[p] == 0) {
                ok &= CHECK_EQ(h->pe_host[p], next);
                next++;
            }
        }
        ok &= CHECK_EQ(next, nh);
    }
    if (!ok)
        return 0;

    /* one emulated host never mixes real hosts */
    for (int i = 0; i < nh && ok; i++)
        for (int j = h->host_off[i] + 1; j < h->host_off[i + 1] && ok; j++)
            ok &= CHECK_EQ(name_id[h->host_pes[j]], name_id[h->host_pes[h->host_off[i]]]);
    if (!ok)
        return 0;

    /* per real host: its PEs in PE order are cut into min(emulate, m) consecutive blocks of
     * near-equal size */
    int *pes = malloc((size_t)npes * sizeof *pes);
    unsigned char *done = calloc((size_t)npes, 1);
    int nreal = 0;
    for (int p0 = 0; p0 < npes && ok; p0++) {
        if (done[p0])
            continue;
        nreal++;
        int m = 0;
        for (int p = p0; p < npes; p++)
            if (name_id[p] == name_id[p0]) {
                pes[m++] = p;
                done[p] = 1;
            }
        int want = emulate < m ? emulate : m;
        int blocks = 1, minsz = m + 1, maxsz = 0, cur = 1;
        for (int i = 1; i <= m && ok; i++) {
            if (i == m || h->pe_host[pes[i]] != h->pe_host[pes[i - 1]]) {
                if (cur < minsz)
                    minsz = cur;
                if (cur > maxsz)
                    maxsz = cur;
                if (i < m) {
                    /* a new block: its host must not have appeared before (consecutive) */
                    for (int j = 0; j < i && ok; j++)
                        ok &= CHECK(h->pe_host[pes[j]] != h->pe_host[pes[i]]);
                    blocks++;
                    cur = 1;
                }
            } else {
                cur++;
            }
        }
        ok &= CHECK_EQ(blocks, want);
        ok &= CHECK(maxsz - minsz <= 1);
        /* each block is the whole emulated host (nothing else on it) */
        for (int i = 0; i < m && ok; i++) {
            int host = h->pe_host[pes[i]];
            int sz = topo_host_num_pes(h, host);
            ok &= CHECK(sz == minsz || sz == maxsz);
        }
    }
    /* with no split, hosts are exactly the distinct names */
    if (ok && emulate == 1) {
        ok &= CHECK_EQ(nh, nreal);
        for (int p = 0; p < npes && ok; p++)
            for (int q = p + 1; q < npes && ok; q++)
                ok &= CHECK_EQ(h->pe_host[p] == h->pe_host[q], name_id[p] == name_id[q]);
    }
    free(pes);
    free(done);
    return ok;
}

/* Builds the map from name ids (each id turned into a fresh string, so equal names are
 * equal by content, never by pointer) and checks it. */
static int build_and_check(int npes, const int *name_id, int emulate, topo_hosts_t *h)
{
    char **names = malloc((size_t)npes * sizeof *names);
    for (int p = 0; p < npes; p++) {
        names[p] = malloc(32);
        /* "node1" vs "node10" etc.: a prefix of another name must not be equal */
        snprintf(names[p], 32, "node%d", name_id[p]);
    }
    int ok = CHECK_EQ(topo_hosts_build(npes, (const char *const *)names, emulate, h), TERN_OK);
    if (ok)
        ok = check_map(h, npes, name_id, emulate);
    for (int p = 0; p < npes; p++)
        free(names[p]);
    free(names);
    if (!ok)
        fprintf(stderr, "  (map of %d PEs, emulate %d)\n", npes, emulate);
    return ok;
}

/* ---- set invariants ---- */

/* Checks the set built from `pes` (n members, any order; NULL = all PEs). */
static int check_set(const topo_hosts_t *h, const topo_set_t *s, const int *pes, int n)
{
    int ok = 1;
    int npes = h->npes;
    if (!pes)
        n = npes;
    unsigned char *member = calloc((size_t)npes, 1);
    for (int i = 0; i < n; i++)
        member[pes ? pes[i] : i] = 1;
    ok &= CHECK_EQ_PTR(s->hosts, h);
    ok &= CHECK_EQ(s->n, n);
    /* slots: the hosts with members, in host order */
    int nslots = 0;
    for (int host = 0; host < h->nhosts && ok; host++) {
        int cnt = 0;
        for (int j = h->host_off[host]; j < h->host_off[host + 1]; j++)
            cnt += member[h->host_pes[j]];
        if (cnt == 0) {
            ok &= CHECK_EQ(s->slot_of[host], -1);
            continue;
        }
        ok &= CHECK_EQ(s->slot_of[host], nslots);
        if (!ok)
            break;
        ok &= CHECK_EQ(s->slot_off[nslots + 1] - s->slot_off[nslots], cnt);
        nslots++;
    }
    ok &= CHECK_EQ(s->nslots, nslots);
    if (!ok)
        goto out;
    ok &= CHECK_EQ(s->slot_off[0], 0);
    ok &= CHECK_EQ(s->slot_off[nslots], n);
    /* pes: members grouped by slot, ascending within each */
    for (int sl = 0; sl < nslots && ok; sl++)
        for (int j = s->slot_off[sl]; j < s->slot_off[sl + 1] && ok; j++) {
            int p = s->pes[j];
            ok &= CHECK(p >= 0 && p < npes);
            if (!ok)
                break;
            ok &= CHECK(member[p]);
            ok &= CHECK_EQ(s->slot_of[h->pe_host[p]], sl);
            if (j > s->slot_off[sl])
                ok &= CHECK(s->pes[j - 1] < p);
        }
    /* find: members at their place, non-members and out-of-range PEs not found */
    for (int p = -2; p < npes + 2 && ok; p++) {
        int slot = -7, idx = -7;
        int r = topo_set_find(s, p, &slot, &idx);
        if (p >= 0 && p < npes && member[p]) {
            ok &= CHECK_EQ(r, 0);
            ok &= CHECK(slot >= 0 && slot < nslots);
            if (!ok)
                break;
            ok &= CHECK(idx >= 0 && idx < s->slot_off[slot + 1] - s->slot_off[slot]);
            if (!ok)
                break;
            ok &= CHECK_EQ(s->pes[s->slot_off[slot] + idx], p);
        } else {
            ok &= CHECK_EQ(r, -1);
        }
    }
out:
    free(member);
    return ok;
}

/* ---- hand-written cases ---- */

static void test_fixed(void)
{
    topo_hosts_t h;

    /* a single PE */
    {
        const char *names[] = {"solo"};
        if (CHECK_EQ(topo_hosts_build(1, names, 1, &h), TERN_OK)) {
            CHECK_EQ(h.npes, 1);
            CHECK_EQ(h.nhosts, 1);
            CHECK_EQ(h.pe_host[0], 0);
            CHECK_EQ(h.pe_rank[0], 0);
            CHECK_EQ(h.host_off[0], 0);
            CHECK_EQ(h.host_off[1], 1);
            CHECK_EQ(h.host_pes[0], 0);
            topo_hosts_free(&h);
        }
        /* emulate > PEs: still one host of one PE */
        if (CHECK_EQ(topo_hosts_build(1, names, 5, &h), TERN_OK)) {
            CHECK_EQ(h.nhosts, 1);
            CHECK_EQ(h.pe_host[0], 0);
            topo_hosts_free(&h);
        }
    }

    /* one host of 6 PEs, no split; then emulate 3 -> blocks {0,1},{2,3},{4,5} */
    {
        const char *names[] = {"n", "n", "n", "n", "n", "n"};
        if (CHECK_EQ(topo_hosts_build(6, names, 1, &h), TERN_OK)) {
            CHECK_EQ(h.nhosts, 1);
            for (int p = 0; p < 6; p++) {
                CHECK_EQ(h.pe_host[p], 0);
                CHECK_EQ(h.pe_rank[p], p);
                CHECK_EQ(h.host_pes[p], p);
            }
            CHECK_EQ(topo_host_num_pes(&h, 0), 6);
            topo_hosts_free(&h);
        }
        if (CHECK_EQ(topo_hosts_build(6, names, 3, &h), TERN_OK)) {
            static const int host[] = {0, 0, 1, 1, 2, 2}, rank[] = {0, 1, 0, 1, 0, 1};
            static const int off[] = {0, 2, 4, 6};
            CHECK_EQ(h.nhosts, 3);
            for (int p = 0; p < 6; p++) {
                CHECK_EQ(h.pe_host[p], host[p]);
                CHECK_EQ(h.pe_rank[p], rank[p]);
                CHECK_EQ(h.host_pes[p], p);
            }
            for (int i = 0; i <= 3; i++)
                CHECK_EQ(h.host_off[i], off[i]);
            topo_hosts_free(&h);
        }
        /* emulate 6 and 100: one host per PE */
        for (int e = 6; e <= 100; e += 94)
            if (CHECK_EQ(topo_hosts_build(6, names, e, &h), TERN_OK)) {
                CHECK_EQ(h.nhosts, 6);
                for (int p = 0; p < 6; p++) {
                    CHECK_EQ(h.pe_host[p], p);
                    CHECK_EQ(h.pe_rank[p], 0);
                    CHECK_EQ(h.host_off[p], p);
                }
                CHECK_EQ(h.host_off[6], 6);
                topo_hosts_free(&h);
            }
    }

    /* interleaved names a,b,a,c,b: hosts a=0 {0,2}, b=1 {1,4}, c=2 {3}; names equal by
     * content (separate buffers), "a" vs "ab" differ */
    {
        char a1[] = "a", a2[] = "a", b1[] = "b", b2[] = "b", c1[] = "c";
        const char *names[] = {a1, b1, a2, c1, b2};
        if (CHECK_EQ(topo_hosts_build(5, names, 1, &h), TERN_OK)) {
            static const int host[] = {0, 1, 0, 2, 1}, rank[] = {0, 0, 1, 0, 1};
            static const int off[] = {0, 2, 4, 5}, hp[] = {0, 2, 1, 4, 3};
            CHECK_EQ(h.npes, 5);
            CHECK_EQ(h.nhosts, 3);
            for (int p = 0; p < 5; p++) {
                CHECK_EQ(h.pe_host[p], host[p]);
                CHECK_EQ(h.pe_rank[p], rank[p]);
                CHECK_EQ(h.host_pes[p], hp[p]);
            }
            for (int i = 0; i <= 3; i++)
                CHECK_EQ(h.host_off[i], off[i]);
            topo_hosts_free(&h);
        }
        /* emulate 2: a {0},{2}; b {1},{4}; c {3} -> numbered by lowest PE: 0,1,2,3,4 */
        if (CHECK_EQ(topo_hosts_build(5, names, 2, &h), TERN_OK)) {
            CHECK_EQ(h.nhosts, 5);
            for (int p = 0; p < 5; p++) {
                CHECK_EQ(h.pe_host[p], p);
                CHECK_EQ(h.pe_rank[p], 0);
            }
            topo_hosts_free(&h);
        }
    }
    {
        const char *names[] = {"ab", "a", "abc", "a", "ab"};
        if (CHECK_EQ(topo_hosts_build(5, names, 1, &h), TERN_OK)) {
            static const int host[] = {0, 1, 2, 1, 0};
            CHECK_EQ(h.nhosts, 3);
            for (int p = 0; p < 5; p++)
                CHECK_EQ(h.pe_host[p], host[p]);
            topo_hosts_free(&h);
        }
    }

    /* a,b,a,b,a,b,a,b with emulate 2: a's PEs 0,2,4,6 -> {0,2},{4,6}; b's 1,3,5,7 ->
     * {1,3},{5,7}; numbered by lowest PE: {0,2}=0, {1,3}=1, {4,6}=2, {5,7}=3 */
    {
        const char *names[] = {"a", "b", "a", "b", "a", "b", "a", "b"};
        if (CHECK_EQ(topo_hosts_build(8, names, 2, &h), TERN_OK)) {
            static const int host[] = {0, 1, 0, 1, 2, 3, 2, 3};
            static const int rank[] = {0, 0, 1, 1, 0, 0, 1, 1};
            static const int off[] = {0, 2, 4, 6, 8}, hp[] = {0, 2, 1, 3, 4, 6, 5, 7};
            CHECK_EQ(h.nhosts, 4);
            for (int p = 0; p < 8; p++) {
                CHECK_EQ(h.pe_host[p], host[p]);
                CHECK_EQ(h.pe_rank[p], rank[p]);
                CHECK_EQ(h.host_pes[p], hp[p]);
            }
            for (int i = 0; i <= 4; i++)
                CHECK_EQ(h.host_off[i], off[i]);

            /* sets over this map */
            topo_set_t s;
            /* all PEs */
            if (CHECK_EQ(topo_set_build(&h, NULL, 8, &s), TERN_OK)) {
                CHECK_EQ(s.n, 8);
                CHECK_EQ(s.nslots, 4);
                for (int i = 0; i < 8; i++)
                    CHECK_EQ(s.pes[i], hp[i]);
                for (int i = 0; i < 4; i++)
                    CHECK_EQ(s.slot_of[i], i);
                for (int i = 0; i <= 4; i++)
                    CHECK_EQ(s.slot_off[i], off[i]);
                check_set(&h, &s, NULL, 8);
                topo_set_free(&s);
            }
            /* NULL pes with n = 0 also means all PEs */
            if (CHECK_EQ(topo_set_build(&h, NULL, 0, &s), TERN_OK)) {
                CHECK_EQ(s.n, 8);
                CHECK_EQ(s.nslots, 4);
                check_set(&h, &s, NULL, 8);
                topo_set_free(&s);
            }
            /* {7, 0, 6, 5}: host 0 {0} slot 0, host 1 none, host 2 {6} slot 1,
             * host 3 {5,7} slot 2 */
            {
                const int sub[] = {7, 0, 6, 5};
                if (CHECK_EQ(topo_set_build(&h, sub, 4, &s), TERN_OK)) {
                    static const int spes[] = {0, 6, 5, 7}, soff[] = {0, 1, 2, 4};
                    static const int sof[] = {0, -1, 1, 2};
                    CHECK_EQ(s.n, 4);
                    CHECK_EQ(s.nslots, 3);
                    for (int i = 0; i < 4; i++) {
                        CHECK_EQ(s.pes[i], spes[i]);
                        CHECK_EQ(s.slot_of[i], sof[i]);
                        CHECK_EQ(s.slot_off[i], soff[i]);
                    }
                    int slot = -9, idx = -9;
                    CHECK_EQ(topo_set_find(&s, 7, &slot, &idx), 0);
                    CHECK_EQ(slot, 2);
                    CHECK_EQ(idx, 1);
                    CHECK_EQ(topo_set_find(&s, 0, &slot, &idx), 0);
                    CHECK_EQ(slot, 0);
                    CHECK_EQ(idx, 0);
                    CHECK_EQ(topo_set_find(&s, 2, &slot, &idx), -1); /* host has a member */
                    CHECK_EQ(topo_set_find(&s, 4, &slot, &idx), -1); /* host has a member */
                    CHECK_EQ(topo_set_find(&s, 1, &slot, &idx), -1); /* host has none */
                    CHECK_EQ(topo_set_find(&s, 8, &slot, &idx), -1);
                    CHECK_EQ(topo_set_find(&s, -1, &slot, &idx), -1);
                    check_set(&h, &s, sub, 4);
                    topo_set_free(&s);
                }
            }
            /* a single member */
            {
                const int sub[] = {3};
                if (CHECK_EQ(topo_set_build(&h, sub, 1, &s), TERN_OK)) {
                    CHECK_EQ(s.n, 1);
                    CHECK_EQ(s.nslots, 1);
                    CHECK_EQ(s.pes[0], 3);
                    CHECK_EQ(s.slot_of[0], -1);
                    CHECK_EQ(s.slot_of[1], 0);
                    CHECK_EQ(s.slot_of[2], -1);
                    CHECK_EQ(s.slot_of[3], -1);
                    check_set(&h, &s, sub, 1);
                    topo_set_free(&s);
                }
            }
            /* invalid sets */
            {
                const int dup[] = {1, 4, 1}, big[] = {0, 8}, neg[] = {2, -1};
                const int nine[] = {0, 1, 2, 3, 4, 5, 6, 7, 0};
                CHECK_EQ(topo_set_build(&h, dup, 3, &s), TERN_ERR_INVALID);
                CHECK_EQ(topo_set_build(&h, big, 2, &s), TERN_ERR_INVALID);
                CHECK_EQ(topo_set_build(&h, neg, 2, &s), TERN_ERR_INVALID);
                CHECK_EQ(topo_set_build(&h, nine, 9, &s), TERN_ERR_INVALID);
                CHECK_EQ(topo_set_build(NULL, NULL, 0, &s), TERN_ERR_INVALID);
                CHECK_EQ(topo_set_build(NULL, dup, 1, &s), TERN_ERR_INVALID);
            }
            topo_hosts_free(&h);
        }
    }

    /* invalid maps */
    {
        const char *names[] = {"a", "b"};
        CHECK_EQ(topo_hosts_build(0, names, 1, &h), TERN_ERR_INVALID);
        CHECK_EQ(topo_hosts_build(-1, names, 1, &h), TERN_ERR_INVALID);
        CHECK_EQ(topo_hosts_build(2, NULL, 1, &h), TERN_ERR_INVALID);
        CHECK_EQ(topo_hosts_build(2, names, 0, &h), TERN_ERR_INVALID);
        CHECK_EQ(topo_hosts_build(2, names, -4, &h), TERN_ERR_INVALID);
    }
}

/* ---- random maps ---- */

/* Random name ids for npes PEs: interleaved at random, in contiguous runs, or round-robin. */
static void random_names(test_rng_t *r, int npes, int *name_id)
{
    int kinds = (int)rng_range(r, 1, npes < 12 ? npes : 12);
    int style = (int)rng_below(r, 3);
    if (style == 0) { /* interleaved at random */
        for (int p = 0; p < npes; p++)
            name_id[p] = (int)rng_below(r, (uint64_t)kinds);
    } else if (style == 1) { /* contiguous runs (the usual block placement) */
        int id = 0;
        for (int p = 0; p < npes; p++) {
            if (p > 0 && rng_chance(r, (unsigned)kinds, (unsigned)npes))
                id++;
            name_id[p] = id;
        }
    } else { /* round-robin (cyclic placement) */
        for (int p = 0; p < npes; p++)
            name_id[p] = p % kinds;
    }
    /* random relabelling, so name ids are not sorted by first PE */
    int perm[16];
    for (int i = 0; i < 16; i++)
        perm[i] = i;
    for (int i = 15; i > 0; i--) {
        int j = (int)rng_below(r, (uint64_t)i + 1), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int p = 0; p < npes; p++)
        if (name_id[p] < 16)
            name_id[p] = perm[name_id[p]] + 1000;
}

static int random_cases(void)
{
    enum { NMAPS = 3000, MAXPES = 300 };
    test_rng_t r;
    rng_seed(&r, 20240611);
    int name_id[MAXPES], pes[MAXPES];
    int nsets = 0;
    for (int t = 0; t < NMAPS; t++) {
        int npes = t < 40 ? t % 20 + 1 : (int)rng_range(&r, 1, MAXPES);
        random_names(&r, npes, name_id);
        int emulate = rng_chance(&r, 1, 3) ? 1
                      : rng_chance(&r, 1, 8) ? (int)rng_range(&r, 10, 1000)
                                             : (int)rng_range(&r, 2, 9);
        topo_hosts_t h;
        if (!build_and_check(npes, name_id, emulate, &h))
            return 0;
        /* sets: all PEs, then random subsets in random order */
        topo_set_t s;
        int ok = CHECK_EQ(topo_set_build(&h, NULL, npes, &s), TERN_OK);
        if (ok) {
            ok = check_set(&h, &s, NULL, npes);
            topo_set_free(&s);
        }
        for (int j = 0; j < 4 && ok; j++) {
            int n = j == 0 ? 1 : j == 1 ? npes : (int)rng_range(&r, 1, npes);
            for (int p = 0; p < npes; p++)
                pes[p] = p;
            for (int i = npes - 1; i > 0; i--) {
                int x = (int)rng_below(&r, (uint64_t)i + 1), tmp = pes[i];
                pes[i] = pes[x];
                pes[x] = tmp;
            }
            ok = CHECK_EQ(topo_set_build(&h, pes, n, &s), TERN_OK);
            if (ok) {
                ok = check_set(&h, &s, pes, n);
                topo_set_free(&s);
                nsets++;
            }
            /* a duplicate or an out-of-range PE spoils it */
            if (ok && n >= 2) {
                int save = pes[n - 1];
                pes[n - 1] = pes[rng_below(&r, (uint64_t)n - 1)];
                ok &= CHECK_EQ(topo_set_build(&h, pes, n, &s), TERN_ERR_INVALID);
                pes[n - 1] = rng_chance(&r, 1, 2) ? npes + (int)rng_below(&r, 3) : -1;
                ok &= CHECK_EQ(topo_set_build(&h, pes, n, &s), TERN_ERR_INVALID);
                pes[n - 1] = save;
            }
        }
        topo_hosts_free(&h);
        if (!ok) {
            fprintf(stderr, "  (random map %d: %d PEs, emulate %d)\n", t, npes, emulate);
            return 0;
        }
    }
    printf("unit.hosts: %d random maps, %d random sets\n", NMAPS, nsets);
    return 1;
}

int main(void)
{
    check_start();
    test_fixed();
    random_cases();
    return check_finish("unit.hosts");
}
