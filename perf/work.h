/*
 * A fixed amount of work for benchmarks that need tasks or methods of a given length (the
 * task pool's, tern_pool.c and mpi_pool.c; the imbalanced stencil, tern_imbalance.c):
 * rounds of a short dependent chain, calibrated once in thread CPU time, so that a PE
 * sharing its core takes longer for the same work, as it should, and ranks polling on a
 * shared core while one calibrates do not make the work short.
 */
#ifndef TERN_PERF_WORK_H
#define TERN_PERF_WORK_H

#include <stdint.h>
#include <time.h>
#include <unistd.h>

static inline double work_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t work_rounds(uint64_t n)
{
    volatile double x = 1;
    for (uint64_t r = 0; r < n; r++)
        for (int i = 0; i < 64; i++)
            x = x * 1.0000001 + 1e-9;
    return (uint64_t)x;
}

static inline double work_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Rounds a microsecond of this thread's CPU time. */
static inline double work_calibrate(void)
{
    uint64_t n = 1000;
    for (;;) {
        double t0 = work_cpu_now();
        work_rounds(n);
        double dt = work_cpu_now() - t0;
        if (dt > 0.05)
            return (double)n / (dt * 1e6);
        n *= 2;
    }
}

/* Cores the PEs have: min(PEs, online CPUs). */
static inline int work_cores(int pes)
{
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    return c > 0 && c < pes ? (int)c : pes;
}

#endif
