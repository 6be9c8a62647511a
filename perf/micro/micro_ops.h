/*
 * C shims for the micro-benchmarks in tern_micro.cc.
 *
 * The internal headers (core/msg.h, core/sched.h, core/pe.h, core/ult.h, shm_ring.h)
 * are C11 only, so every timed operation lives here, compiled as C, and the C++ side only
 * loops over these calls. Both sides of a pair have the same shape: one out-of-line call
 * `uint64_t op(void *ctx)` per benchmark iteration, on a context built before the timed
 * loop, so the call overhead is the same for Tern and for its baseline.
 */
#ifndef TERN_PERF_MICRO_OPS_H
#define TERN_PERF_MICRO_OPS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One timed operation: returns a value the caller hands to benchmark::DoNotOptimize. */
typedef uint64_t (*micro_op_fn)(void *ctx);

/* One pair of benchmarks, `tern/<what>/<arg>` and `base/<what>/<arg>` (`tern/<what>` and
 * `base/<what>` when there are no arguments: nargs 0, make gets 0). */
typedef struct micro_pair {
    const char *what;
    int needs_runtime;     /* only meaningful inside a running Tern job (on the PE) */
    int nargs;
    long args[4];
    /* Build the context of one benchmark run for argument `arg`; NULL with *err set on
     * failure. */
    void *(*make)(long arg, const char **err);
    micro_op_fn tern_op;
    micro_op_fn base_op;
    /* Check that the `iters` operations done on ctx did what they should, and free ctx.
     * NULL when all is well, else what went wrong (static text). */
    const char *(*finish)(void *ctx, uint64_t iters);
    /* When set, also report the time per part of an operation, as the counter `part`:
     * e.g. "switch" with nparts 2, when an operation is a round trip of two switches. */
    const char *part;
    int nparts;
} micro_pair_t;

extern const micro_pair_t micro_pairs[];
extern const int micro_npairs;

/* Non-zero while the benchmarks run inside the Tern job (the runtime-bound pairs need it). */
int micro_runtime_ready(void);

/*
 * Register the benchmark chare type, start a 1-PE Tern job (TERN_BOOT=single unless set)
 * and, from an entry method of a chare on PE 0, call body(arg); then end the job. Returns
 * the job's exit code: 0, or 1 when body returned non-zero or the start-up failed.
 */
int micro_runtime_main(int argc, char **argv, int (*body)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif

#endif
