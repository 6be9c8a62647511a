/*
 * What the task-pool benchmarks (tern_pool.c, mpi_pool.c) share: the work of one task and
 * its calibration, so that both run the same tasks.
 *
 * A task of `us` microseconds is a fixed amount of arithmetic, calibrated once (a PE
 * sharing its core takes longer for it, as it should). Results: RESULT <metric> <PEs>
 * <value> <unit>, metrics pool_auto and pool_chunk1 (empty tasks a second, in millions;
 * MPI: chunks of 1000 and of 1) and pool_eff (parallel efficiency of 100-us tasks, %, over
 * min(PEs, CPUs) cores).
 */
#ifndef TERN_PERF_POOL_WORK_H
#define TERN_PERF_POOL_WORK_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

static inline double pool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t pool_rounds(uint64_t n)
{
    volatile double x = 1;
    for (uint64_t r = 0; r < n; r++)
        for (int i = 0; i < 64; i++)
            x = x * 1.0000001 + 1e-9;
    return (uint64_t)x;
}

static inline double pool_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Rounds a microsecond of this thread's CPU time (not wall time: ranks that share a core
 * and poll while one calibrates would make wall-time tasks short). */
static inline double pool_calibrate(void)
{
    uint64_t n = 1000;
    for (;;) {
        double t0 = pool_cpu_now();
        pool_rounds(n);
        double dt = pool_cpu_now() - t0;
        if (dt > 0.05)
            return (double)n / (dt * 1e6);
        n *= 2;
    }
}

static inline int pool_cores(int pes)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 && c < pes ? (int)c : pes;
}

#endif
