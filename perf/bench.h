/*
 * bench.h: what the Tern and the MPI version of a multi-PE benchmark share, so that both
 * take the same arguments, touch payloads the same way and report in the same format.
 *
 * Output: one line per figure, read by perf/run.py:
 *     RESULT <bench> <x> <value> <unit>
 * where x is the payload size or the PE count. Each figure is the median over `reps`
 * timed repetitions of `iters` operations, after `warmup` untimed ones.
 *
 * Touching: the sender stamps the first and last 8 bytes of every payload with the
 * iteration number; the receiver reads one word of every 64-byte line and checks both
 * stamps. So every payload is really produced before the send and read after the receive,
 * whether the library delivered it by copy (MPI) or in place (Tern).
 */
#ifndef TERN_PERF_BENCH_H
#define TERN_PERF_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t min_size, max_size; /* payload sweep, doubling by `step` */
    int step;                  /* multiply the size by this each time */
    int iters, warmup, reps;
    int window;                /* message rate: messages in flight */
    size_t size;               /* fixed size for benchmarks without a sweep */
} bench_args_t;

static inline void bench_usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-min BYTES] [-max BYTES] [-step K] [-size BYTES] [-iters N] "
            "[-warmup N] [-reps N] [-window N]\n",
            prog);
}

/* Defaults first, then "-name value" pairs. Returns 0 or -1 after printing the usage. */
static inline int bench_parse(int argc, char **argv, bench_args_t *a)
{
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 >= argc) {
            bench_usage(argv[0]);
            return -1;
        }
        const char *k = argv[i];
        unsigned long long v = strtoull(argv[i + 1], NULL, 0);
        if (!strcmp(k, "-min"))
            a->min_size = v;
        else if (!strcmp(k, "-max"))
            a->max_size = v;
        else if (!strcmp(k, "-step"))
            a->step = (int)v;
        else if (!strcmp(k, "-size"))
            a->size = v;
        else if (!strcmp(k, "-iters"))
            a->iters = (int)v;
        else if (!strcmp(k, "-warmup"))
            a->warmup = (int)v;
        else if (!strcmp(k, "-reps"))
            a->reps = (int)v;
        else if (!strcmp(k, "-window"))
            a->window = (int)v;
        else {
            bench_usage(argv[0]);
            return -1;
        }
    }
    if (a->min_size < 8 || a->max_size < a->min_size || a->step < 2 || a->iters < 1 ||
        a->warmup < 0 || a->reps < 1 || a->window < 1 || a->size < 8) {
        bench_usage(argv[0]);
        return -1;
    }
    return 0;
}

/* Fewer operations for big payloads, so that a sweep to 4 MiB stays short. */
static inline int bench_iters_for(const bench_args_t *a, size_t size)
{
    int n = a->iters;
    if (size >= 65536)
        n = (int)((double)n * 65536.0 / (double)size * 4.0);
    return n < 20 ? 20 : n > a->iters ? a->iters : n;
}

static inline void bench_stamp(void *buf, size_t n, uint64_t stamp)
{
    memcpy(buf, &stamp, 8);
    memcpy((char *)buf + n - 8, &stamp, 8);
}

/* Read the payload and check its stamps; returns 0 when good. */
static inline int bench_check(const void *buf, size_t n, uint64_t stamp)
{
    const unsigned char *p = buf;
    uint64_t first, last, sum = 0;
    for (size_t off = 0; off + 8 <= n; off += 64) {
        uint64_t w;
        memcpy(&w, p + off, 8);
        sum += w;
    }
    /* Keep the loop: the compiler must assume the empty asm reads the sum. */
    __asm__ volatile("" : : "r"(sum));
    memcpy(&first, p, 8);
    memcpy(&last, p + n - 8, 8);
    return first == stamp && last == stamp ? 0 : -1;
}

/*
 * Reductions (allreduce): every rank contributes n = size / 8 doubles. Element j of rank
 * r holds r + 1, except the first and the last, which carry the iteration: i + r. The sum
 * over np ranks is then known: first and last i * np + np (np - 1) / 2, the others
 * np (np + 1) / 2 (small integers, exact in doubles). The checker reads one element of
 * every 64-byte line, as bench_check does, and compares the first, the middle and the last.
 */
static inline void bench_red_fill(double *v, size_t n, int rank)
{
    for (size_t j = 0; j < n; j++)
        v[j] = rank + 1;
}

static inline void bench_red_stamp(double *v, size_t n, int rank, int iter)
{
    v[0] = v[n - 1] = (double)iter + rank;
}

/* Returns 0 when v is the sum for iteration iter over np ranks. */
static inline int bench_red_check(const double *v, size_t n, int np, int iter)
{
    double sum = 0;
    for (size_t j = 0; j < n; j += 8)
        sum += v[j];
    __asm__ volatile("" : : "g"(sum));
    double ends = (double)iter * np + 0.5 * np * (np - 1), mid = 0.5 * np * (np + 1);
    if (v[0] != ends || v[n - 1] != ends)
        return -1;
    return n > 2 && v[n / 2] != mid ? -1 : 0;
}

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/*
 * The repetitions of one measurement, for programs driven by messages (the Tern ones):
 * a warm-up (rep -1, skipped when empty), then `reps` timed repetitions of `count`
 * operations each. Samples are seconds per operation.
 */
typedef struct {
    int rep;      /* -1: the warm-up */
    int i, count; /* operation i of count in this repetition */
    double t0;
    double *samples;
} bench_reps_t;

static inline int bench_reps_init(bench_reps_t *r, const bench_args_t *a)
{
    r->rep = -1;
    r->samples = calloc((size_t)a->reps, sizeof *r->samples);
    return r->samples ? 0 : -1;
}

/* Begin the warm-up or the next repetition, of `timed` operations if it is timed. */
static inline void bench_reps_begin(bench_reps_t *r, const bench_args_t *a, int timed,
                                    double now)
{
    if (r->rep < 0 && a->warmup == 0)
        r->rep = 0;
    r->i = 0;
    r->count = r->rep < 0 ? a->warmup : timed;
    r->t0 = now;
}

/* One operation is over (the clock is read only when a repetition ends, as the MPI
 * baselines do). Returns 0 while the repetition goes on; 1 when it ended and
 * another follows (call bench_reps_begin); 2 when the last one ended: *median holds the
 * median seconds per operation and the next call to bench_reps_begin starts a new
 * measurement with its warm-up. */
static inline int bench_reps_step(bench_reps_t *r, const bench_args_t *a, double (*clock)(void),
                                  double *median)
{
    if (++r->i < r->count)
        return 0;
    if (r->rep >= 0)
        r->samples[r->rep] = (clock() - r->t0) / r->count;
    if (++r->rep < a->reps)
        return 1;
    *median = bench_median(r->samples, a->reps);
    r->rep = -1;
    return 2;
}

static inline void bench_result(const char *bench, double x, double value, const char *unit)
{
    printf("RESULT %s %.0f %.6g %s\n", bench, x, value, unit);
    fflush(stdout);
}

#endif
