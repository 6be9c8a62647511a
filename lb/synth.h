/*
 * Synthetic load sets for the strategies' tests (tests/unit/test_lb.c) and benchmark
 * (perf/lb_strategies.c): deterministic from a seed. Not part of the library.
 */
#ifndef TERN_LB_SYNTH_H
#define TERN_LB_SYNTH_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb/lb.h"

typedef enum {
    LB_SET_UNIFORM,   /* loads uniform in [0.5, 1.5), objects spread in blocks */
    LB_SET_HOT_PE,    /* as uniform, but PE 0's objects are 8 times heavier */
    LB_SET_HEAVY_TAIL,/* Pareto loads (alpha 1.5), capped at 1/4 of a PE's fair share */
    LB_SET_TINY,      /* 64 times more objects than the others, tiny, uneven by block */
    LB_SET_FIXED,     /* uniform, every 5th object fixed, background load on odd PEs */
    LB_NSETS
} lb_set_kind_t;

static const char *const lb_set_names[LB_NSETS] = {"uniform", "hot-pe", "heavy-tail",
                                                    "tiny", "fixed"};

typedef struct {
    lb_input_t in;
    double *load, *bg;
    int32_t *from, *host;
    uint8_t *fixed;
} lb_set_t;

static inline uint64_t lb_synth_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}
static inline double lb_synth_unit(uint64_t *s) /* [0, 1) */
{
    return (double)(lb_synth_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static inline void lb_set_free(lb_set_t *set)
{
    free(set->load);
    free(set->bg);
    free(set->from);
    free(set->host);
    free(set->fixed);
    memset(set, 0, sizeof *set);
}

/* A set of `nobjs` objects (times 64 for LB_SET_TINY) on `npes` PEs, `per_host` PEs a
 * host. Returns 0, -1 when out of memory. */
static inline int lb_set_make(lb_set_t *set, lb_set_kind_t kind, uint32_t nobjs, int32_t npes,
                              int32_t per_host, uint64_t seed)
{
    memset(set, 0, sizeof *set);
    if (kind == LB_SET_TINY)
        nobjs *= 64;
    uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1;
    set->load = malloc((size_t)nobjs * sizeof *set->load);
    set->from = malloc((size_t)nobjs * sizeof *set->from);
    set->bg = calloc((size_t)npes, sizeof *set->bg);
    set->host = malloc((size_t)npes * sizeof *set->host);
    set->fixed = calloc(nobjs, 1);
    if (!set->load || !set->from || !set->bg || !set->host || !set->fixed) {
        lb_set_free(set);
        return -1;
    }
    double fair = 0;
    for (uint32_t i = 0; i < nobjs; i++) {
        int32_t pe = (int32_t)((uint64_t)i * (uint64_t)npes / nobjs); /* blocks */
        double l = 0.5 + lb_synth_unit(&s);
        switch (kind) {
        case LB_SET_HOT_PE:
            if (pe == 0)
                l *= 8;
            break;
        case LB_SET_HEAVY_TAIL:
            l = 0.2 * pow(1.0 - lb_synth_unit(&s), -1.0 / 1.5);
            break;
        case LB_SET_TINY:
            l = 1e-3 * (0.5 + lb_synth_unit(&s)) * (1 + pe % 4);
            break;
        case LB_SET_FIXED:
            set->fixed[i] = i % 5 == 0;
            break;
        default:
            break;
        }
        set->load[i] = l;
        set->from[i] = pe;
        fair += l;
    }
    fair /= npes;
    if (kind == LB_SET_HEAVY_TAIL)
        for (uint32_t i = 0; i < nobjs; i++)
            if (set->load[i] > fair / 4)
                set->load[i] = fair / 4;
    if (kind == LB_SET_FIXED)
        for (int32_t p = 1; p < npes; p += 2)
            set->bg[p] = 0.25 * fair;
    for (int32_t p = 0; p < npes; p++)
        set->host[p] = p / (per_host > 0 ? per_host : npes);
    set->in = (lb_input_t){.nobjs = nobjs,
                           .npes = npes,
                           .load = set->load,
                           .from = set->from,
                           .fixed = set->fixed,
                           .bg = set->bg,
                           .host = set->host,
                           .nhosts = (npes + (per_host > 0 ? per_host : npes) - 1) /
                                     (per_host > 0 ? per_host : npes),
                           .tolerance = 1.02};
    return 0;
}

#endif
