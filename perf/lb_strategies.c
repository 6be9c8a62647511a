/*
 * Strategy time and quality on simulated loads: 10^4, 10^5 and 10^6 objects on 10^2 to
 * 10^4 PEs, uniform and heavy-tailed loads (lb/synth.h). For each strategy: the median
 * time of several runs, the maximum PE time over the lower bound (max(average, heaviest
 * object)), and the objects moved. The baseline is a plain qsort of the same loads (the
 * least any strategy that orders objects by load does): the ratio says what a strategy
 * costs beyond it.
 *
 *   lb_strategies [-reps N] [-max-objs N] [-strategies A,B,...]
 *
 * Goal: GreedyRefine on 10^6 objects and 10^4 PEs under 1 s; max within 5 % of the lower
 * bound on every set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lb/lb.h"
#include "lb/synth.h"
#include "perf/bench.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

/* name is one of the comma-separated names of list */
static int listed(const char *list, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && strncmp(p, name, n) == 0)
            return 1;
        p += n + (end != NULL);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int reps = 3;
    uint32_t max_objs = 1000000;
    const char *only = "GreedyRefine,Greedy,Refine,HostGreedyRefine";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-reps") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (strcmp(argv[i], "-max-objs") == 0 && i + 1 < argc)
            max_objs = (uint32_t)atol(argv[++i]);
        else if (strcmp(argv[i], "-strategies") == 0 && i + 1 < argc)
            only = argv[++i];
        else {
            fprintf(stderr, "usage: %s [-reps N] [-max-objs N] [-strategies A,B]\n", argv[0]);
            return 2;
        }
    }
    if (reps < 1 || reps > 50)
        reps = 3;
    static const uint32_t objs[] = {10000, 100000, 1000000};
    static const int32_t pes[] = {100, 1000, 10000};
    static const lb_set_kind_t kinds[] = {LB_SET_UNIFORM, LB_SET_HEAVY_TAIL};
    int missed = 0;
    printf("%-16s %-10s %8s %6s %10s %10s %7s %8s %9s %s\n", "strategy", "set", "objects",
           "PEs", "time ms", "qsort ms", "ratio", "max/lb", "moves", "goal");
    for (size_t a = 0; a < sizeof objs / sizeof objs[0]; a++) {
        if (objs[a] > max_objs)
            continue;
        for (size_t b = 0; b < sizeof pes / sizeof pes[0]; b++) {
            if ((uint32_t)pes[b] * 10 > objs[a])
                continue;
            for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
                lb_set_t set;
                if (lb_set_make(&set, kinds[k], objs[a], pes[b], 16, 1 + a * 10 + b) != 0) {
                    fprintf(stderr, "out of memory\n");
                    return 1;
                }
                const lb_input_t *in = &set.in;
                double *copy = malloc((size_t)in->nobjs * sizeof *copy);
                int32_t *to = malloc((size_t)in->nobjs * sizeof *to);
                double t_sort[50], t_run[50];
                if (!copy || !to)
                    return 1;
                for (int r = 0; r < reps; r++) {
                    memcpy(copy, in->load, (size_t)in->nobjs * sizeof *copy);
                    double t0 = now();
                    qsort(copy, in->nobjs, sizeof *copy, cmp_double_desc);
                    t_sort[r] = now() - t0;
                }
                double sort_ms = bench_median(t_sort, reps) * 1e3;
                for (int i = 0; lb_strategy_at(i); i++) {
                    const lb_strategy_t *s = lb_strategy_at(i);
                    if (!listed(only, s->name))
                        continue;
                    for (int r = 0; r < reps; r++) {
                        double t0 = now();
                        if (s->fn(in, to) != 0)
                            return 1;
                        t_run[r] = now() - t0;
                    }
                    lb_quality_t q;
                    if (lb_quality(in, to, NULL, &q) != 0)
                        return 1;
                    double ms = bench_median(t_run, reps) * 1e3, quality = q.max / q.bound;
                    const char *goal = "";
                    if (strcmp(s->name, "Greedy") == 0 || strcmp(s->name, "GreedyRefine") == 0 ||
                        strcmp(s->name, "HostGreedyRefine") == 0) {
                        int ok = quality <= 1.05;
                        if (strcmp(s->name, "GreedyRefine") == 0 && in->nobjs >= 1000000 &&
                            in->npes >= 10000)
                            ok = ok && ms < 1000;
                        goal = ok ? "met" : "MISSED";
                        missed += !ok;
                    }
                    printf("%-16s %-10s %8u %6d %10.2f %10.2f %7.2f %8.4f %9u %s\n", s->name,
                           lb_set_names[kinds[k]], in->nobjs, in->npes, ms, sort_ms,
                           ms / sort_ms, quality, q.moves, goal);
                    fflush(stdout);
                }
                free(copy);
                free(to);
                lb_set_free(&set);
            }
        }
    }
    printf("%s\n", missed ? "goals missed" : "all goals met");
    return 0;
}
