/*
 * The task pool's speed: empty tasks a second with automatic chunks and with chunk 1, and
 * the parallel efficiency of 100-us tasks (perf/work.h), from PE 0; every PE works.
 * RESULT pool_auto|pool_chunk1 <PEs> <millions of tasks a second> Mtask/s, and
 * RESULT pool_eff <PEs> <efficiency over min(PEs, CPUs) cores> %.
 *
 *   tern_pool [-iters EMPTY_TASKS] [-reps R]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "bench.h"
#include "bench_tern.h"
#include "work.h"

static tern_task_t EMPTY, WORK;

static void empty(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    memcpy(out, in, sizeof(int64_t));
}

static void work(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    uint64_t rounds;
    memcpy(&rounds, in, sizeof rounds);
    uint64_t r = work_rounds(rounds);
    memcpy(out, &r, sizeof r);
}

#define OK(call) bench_tern_check("tern_pool", #call, (call))

static double run_map(tern_task_t t, const void *in, size_t n, void *out, int64_t chunk)
{
    tern_pool_opts_t o = {chunk, 0, 0};
    double t0 = work_now();
    OK(tern_pool_map(t, in, sizeof(int64_t), n, out, sizeof(int64_t), &o));
    return work_now() - t0;
}

static void start(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 2000000, .warmup = 0,
                      .reps = 5, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &a)) {
        tern_exit(2);
        return;
    }
    size_t n = (size_t)a.iters, n1 = n / 4 > 0 ? n / 4 : 1;
    int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    if (!in || !out)
        tern_abort("tern_pool: out of memory");
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i;
    int np = tern_num_pes();
    double *t_auto = malloc(a.reps * sizeof(double)), *t_one = malloc(a.reps * sizeof(double));
    double *t_work = malloc(a.reps * sizeof(double));
    double per_us = work_calibrate();
    size_t nw = (size_t)(2000 * work_cores(np));
    int64_t *win = malloc(nw * sizeof *win);
    for (size_t i = 0; i < nw; i++)
        win[i] = (int64_t)(per_us * 100);
    run_map(EMPTY, in, n / 10 + 1, out, 0); /* warm-up */
    for (int r = 0; r < a.reps; r++) {
        t_auto[r] = run_map(EMPTY, in, n, out, 0);
        t_one[r] = run_map(EMPTY, in, n1, out, 1);
        t_work[r] = run_map(WORK, win, nw, out, 1);
    }
    run_map(EMPTY, in, n, out, 0); /* the outputs are the inputs */
    for (size_t i = 0; i < n; i++)
        if (out[i] != (int64_t)i)
            tern_abort("tern_pool: output %zu is %lld", i, (long long)out[i]);
    double ta = bench_median(t_auto, a.reps), t1 = bench_median(t_one, a.reps);
    double tw = bench_median(t_work, a.reps);
    printf("RESULT pool_auto %d %.3f Mtask/s\n", np, n / ta / 1e6);
    printf("RESULT pool_chunk1 %d %.3f Mtask/s\n", np, n1 / t1 / 1e6);
    printf("RESULT pool_eff %d %.1f %%\n", np, 100.0 * nw * 100e-6 / work_cores(np) / tw);
    free(in);
    free(out);
    free(win);
    free(t_auto);
    free(t_one);
    free(t_work);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    if (tern_task_register("empty", empty, 0, &EMPTY) || tern_task_register("work", work, 0, &WORK))
        return 1;
    return tern_run(argc, argv, start);
}
