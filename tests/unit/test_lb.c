/*
 * lb/: the strategies as pure functions, on synthetic load sets (uniform, one hot PE,
 * heavy-tailed, many tiny objects, fixed objects and background load), at several sizes.
 *
 * Every strategy: every object gets a PE in range, fixed objects stay, the same input
 * gives the same placement. Greedy and GreedyRefine (and its host-aware variant): the
 * maximum PE time within 5 % of the lower bound max(average, heaviest object, fixed
 * work). GreedyRefine moves fewer objects than Greedy, and none on a set that is already
 * balanced; GreedyRefine, its host-aware variant and Refine never make the maximum worse
 * (also on 20,000 small random sets); the host-aware variant moves fewer
 * objects between hosts than GreedyRefine. Rotate moves every movable object to the next
 * PE, Dummy none. Also the pieces: the sort (heaviest first, stable), the PE heap against
 * a brute-force minimum, strategy names (Charm++'s "GreedyRefineLB" spelling too).
 */
#include "lb/lb.h"
#include "lb/synth.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

static int32_t *run(const lb_strategy_t *s, const lb_input_t *in)
{
    int32_t *to = malloc((in->nobjs ? in->nobjs : 1) * sizeof *to);
    if (!CHECK(to != NULL))
        return NULL;
    CHECK_EQ(s->fn(in, to), 0);
    return to;
}

/* Load moved between hosts. */
static double cross_host_moves(const lb_input_t *in, const int32_t *to)
{
    double n = 0;
    for (uint32_t i = 0; i < in->nobjs; i++)
        if (in->host[to[i]] != in->host[in->from[i]])
            n += in->load[i];
    return n;
}

static void check_placement(const lb_strategy_t *s, const lb_input_t *in, const int32_t *to,
                            const char *set)
{
    for (uint32_t i = 0; i < in->nobjs; i++) {
        if (!CHECK(to[i] >= 0 && to[i] < in->npes) ||
            !CHECK(!lb_fixed(in, i) || to[i] == in->from[i])) {
            printf("  %s on %s: object %u -> %d\n", s->name, set, i, to[i]);
            return;
        }
    }
}

static void test_sets(uint32_t nobjs, int32_t npes, int32_t per_host)
{
    for (int k = 0; k < LB_NSETS; k++) {
        lb_set_t set;
        if (!CHECK_EQ(lb_set_make(&set, (lb_set_kind_t)k, nobjs, npes, per_host, 7 + k), 0))
            return;
        const lb_input_t *in = &set.in;
        lb_quality_t before, q[8];
        CHECK_EQ(lb_quality(in, in->from, NULL, &before), 0);
        CHECK_EQ(before.moves, 0);
        int32_t *to[8] = {0};
        for (int i = 0; lb_strategy_at(i); i++) {
            const lb_strategy_t *s = lb_strategy_at(i);
            to[i] = run(s, in);
            int32_t *again = run(s, in);
            if (!to[i] || !again)
                return;
            check_placement(s, in, to[i], lb_set_names[k]);
            if (!CHECK_MEM(to[i], again, in->nobjs * sizeof *again))
                printf("  %s is not deterministic on %s\n", s->name, lb_set_names[k]);
            free(again);
            CHECK_EQ(lb_quality(in, to[i], NULL, &q[i]), 0);
            const char *nm = s->name;
            if (strcmp(nm, "Greedy") == 0 || strcmp(nm, "GreedyRefine") == 0 ||
                strcmp(nm, "HostGreedyRefine") == 0) {
                if (!CHECK(q[i].max <= 1.05 * q[i].bound))
                    printf("  %s on %s (%u objects, %d PEs): max %.4g, bound %.4g "
                           "(avg %.4g)\n",
                           nm, lb_set_names[k], in->nobjs, npes, q[i].max, q[i].bound,
                           q[i].avg);
            }
            if (strcmp(nm, "Refine") == 0)
                CHECK(q[i].max <= before.max * (1 + 1e-12));
            if (strcmp(nm, "Dummy") == 0)
                CHECK_EQ(q[i].moves, 0);
            if (strcmp(nm, "Rotate") == 0) {
                uint32_t movable = 0;
                for (uint32_t o = 0; o < in->nobjs; o++) {
                    movable += !lb_fixed(in, o);
                    if (!lb_fixed(in, o) && !CHECK_EQ(to[i][o], (in->from[o] + 1) % npes))
                        break;
                }
                CHECK_EQ(q[i].moves, npes > 1 ? movable : 0);
            }
            CHECK(q[i].bound <= q[i].max * (1 + 1e-9)); /* it is a lower bound */
        }
        /* GreedyRefine (0), Greedy (1), HostGreedyRefine (3). */
        if (!CHECK(q[0].moves <= q[1].moves))
            printf("  %s: GreedyRefine moved %u, Greedy %u\n", lb_set_names[k], q[0].moves,
                   q[1].moves);
        if (per_host > 0 && per_host < npes &&
            !CHECK(cross_host_moves(in, to[3]) <= cross_host_moves(in, to[0]) * 1.001 + 1e-9))
            printf("  %s: between hosts HostGreedyRefine moved %g, GreedyRefine %g\n",
                   lb_set_names[k], cross_host_moves(in, to[3]), cross_host_moves(in, to[0]));
        for (int i = 0; i < 8; i++)
            free(to[i]);
        lb_set_free(&set);
    }
}

/* Already balanced (equal objects, equal counts): GreedyRefine and Refine move nothing. */
static void test_balanced(void)
{
    enum { NP = 8, PER = 10 };
    double load[NP * PER];
    int32_t from[NP * PER], to[NP * PER];
    for (int i = 0; i < NP * PER; i++) {
        load[i] = 1.0;
        from[i] = i % NP;
    }
    lb_input_t in = {.nobjs = NP * PER, .npes = NP, .load = load, .from = from,
                     .tolerance = 1.02};
    lb_quality_t q;
    CHECK_EQ(lb_strategy_find("GreedyRefine")->fn(&in, to), 0);
    CHECK_EQ(lb_quality(&in, to, NULL, &q), 0);
    CHECK_EQ(q.moves, 0);
    CHECK_EQ(lb_strategy_find("Refine")->fn(&in, to), 0);
    CHECK_EQ(lb_quality(&in, to, NULL, &q), 0);
    CHECK_EQ(q.moves, 0);
    /* One object, one PE; no objects at all. */
    in.nobjs = 1;
    in.npes = 1;
    for (int i = 0; lb_strategy_at(i); i++) {
        to[0] = -1;
        CHECK_EQ(lb_strategy_at(i)->fn(&in, to), 0);
        CHECK_EQ(to[0], 0);
    }
    in.nobjs = 0;
    in.npes = 4;
    for (int i = 0; lb_strategy_at(i); i++)
        CHECK_EQ(lb_strategy_at(i)->fn(&in, to), 0);
}

/* A heavy object alone: the bound is the object, and GreedyRefine keeps it in place and
 * moves the light ones away from it. */
static void test_heavy_object(void)
{
    double load[9] = {10, 1, 1, 1, 1, 1, 1, 1, 1};
    int32_t from[9] = {0, 0, 0, 0, 0, 1, 1, 2, 2}, to[9];
    lb_input_t in = {.nobjs = 9, .npes = 3, .load = load, .from = from, .tolerance = 1.02};
    CHECK_EQ(lb_greedy_refine(&in, to), 0);
    lb_quality_t q;
    CHECK_EQ(lb_quality(&in, to, NULL, &q), 0);
    CHECK_EQ(to[0], 0);
    for (int i = 1; i < 9; i++)
        CHECK(to[i] != 0);
    CHECK(q.max == 10.0 && q.bound == 10.0);
}

static void test_sort(void)
{
    enum { N = 5000 };
    static double load[N];
    static int32_t from[N];
    static uint32_t order[N];
    double bgt[3];
    test_rng_t r;
    rng_seed(&r, 3);
    for (int i = 0; i < N; i++) {
        load[i] = (double)rng_below(&r, 50) * 0.25; /* many ties, zeros */
        from[i] = (int32_t)rng_below(&r, 3);
    }
    uint8_t fixed[N] = {0};
    fixed[10] = fixed[20] = 1;
    lb_input_t in = {.nobjs = N, .npes = 3, .load = load, .from = from, .fixed = fixed};
    uint32_t n = lb_sorted_movable(&in, order, bgt);
    CHECK_EQ(n, N - 2);
    double f[3] = {0, 0, 0};
    f[from[10]] += load[10];
    f[from[20]] += load[20];
    for (int p = 0; p < 3; p++)
        CHECK(bgt[p] == f[p]);
    for (uint32_t j = 1; j < n; j++) {
        uint32_t a = order[j - 1], b = order[j];
        if (!CHECK(load[a] > load[b] || (load[a] == load[b] && a < b)))
            break;
    }
}

static void test_heap(void)
{
    enum { NP = 97 };
    double key[NP];
    test_rng_t r;
    rng_seed(&r, 11);
    for (int sign = -1; sign <= 1; sign += 2) {
        lb_heap_t h;
        CHECK_EQ(lb_heap_init(&h, NP, key, sign), 0);
        uint8_t in[NP] = {0};
        for (int p = 0; p < NP; p++) {
            key[p] = (double)rng_below(&r, 20);
            lb_heap_push(&h, p);
            in[p] = 1;
        }
        for (int step = 0; step < 5000; step++) {
            int p = (int)rng_below(&r, NP);
            uint64_t op = rng_below(&r, 3);
            if (op == 0 && in[p]) {
                lb_heap_remove(&h, p);
                in[p] = 0;
            } else if (op == 1 && !in[p]) {
                lb_heap_push(&h, p);
                in[p] = 1;
            } else {
                key[p] = (double)rng_below(&r, 20);
                lb_heap_update(&h, p);
            }
            int best = -1;
            for (int q = 0; q < NP; q++)
                if (in[q] && (best < 0 || key[q] * sign < key[best] * sign))
                    best = q;
            if (!CHECK_EQ(lb_heap_top(&h), best))
                break;
        }
        lb_heap_fini(&h);
    }
}

static void test_names(void)
{
    CHECK(lb_strategy_find("GreedyRefineLB") == lb_strategy_find("GreedyRefine"));
    CHECK(lb_strategy_find("greedyrefine") != NULL);
    CHECK(lb_strategy_find("RotateLB") == lb_strategy_find("Rotate"));
    CHECK(lb_strategy_find("Nonesuch") == NULL);
    CHECK(lb_strategy_find("LB") == NULL);
    CHECK(lb_strategy_find("") == NULL);
    CHECK(lb_strategy_find(NULL) == NULL);
    int n = 0;
    while (lb_strategy_at(n))
        n++;
    CHECK_EQ(n, 6);
}

/* Small random sets as the runtime tests make them (12 objects on 3 PEs, 2 hosts, loads
 * near one another, some placements already good): the refining strategies never return
 * a placement with a higher maximum than the one they were given. */
static void test_never_worse(void)
{
    enum { NO = 12, NP = 3 };
    uint64_t seed = 12345;
    int32_t host[NP] = {0, 0, 1};
    for (int trial = 0; trial < 20000; trial++) {
        double load[NO];
        int32_t from[NO], to[NO];
        for (int i = 0; i < NO; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            load[i] = 1.0 + (double)(seed >> 40) / (double)(1ULL << 24) * (trial % 3 ? 0.1 : 2);
            from[i] = (int32_t)((seed >> 20) % NP);
        }
        lb_input_t in = {.nobjs = NO, .npes = NP, .load = load, .from = from,
                         .tolerance = 1.02, .host = host, .nhosts = 2};
        lb_quality_t before, after;
        CHECK_EQ(lb_quality(&in, from, NULL, &before), 0);
        const char *names[] = {"GreedyRefine", "HostGreedyRefine", "Refine"};
        for (int k = 0; k < 3; k++) {
            CHECK_EQ(lb_strategy_find(names[k])->fn(&in, to), 0);
            CHECK_EQ(lb_quality(&in, to, NULL, &after), 0);
            if (!CHECK(after.max <= before.max * (1 + 1e-12))) {
                printf("  %s, trial %d: max %.6g -> %.6g\n", names[k], trial, before.max,
                       after.max);
                return;
            }
        }
    }
}

int main(void)
{
    check_start();
    test_names();
    test_sort();
    test_heap();
    test_balanced();
    test_heavy_object();
    test_never_worse();
    test_sets(64, 4, 2);
    test_sets(1000, 16, 4);
    test_sets(10000, 100, 10);
    test_sets(8000, 1000, 16);
    return check_finish("test_lb");
}
