/* bench_tern.h: the two-chare set-up of the Tern point-to-point benchmarks. */
#ifndef TERN_PERF_BENCH_TERN_H
#define TERN_PERF_BENCH_TERN_H

#include <tern/tern.h>

#include "bench.h"

/* A call of a benchmark that must not fail: on an error, say which and stop. */
static inline void bench_tern_check(const char *prog, const char *what, tern_status_t st)
{
    if (st != TERN_OK) {
        fprintf(stderr, "%s: %s: %s\n", prog, what, tern_strerror(st));
        exit(1);
    }
}

/* What `init` receives: the arguments and the other chare. */
typedef struct {
    bench_args_t a;
    tern_proxy_t peer;
} bench_pair_t;

/* From main_fn: a chare of `type` on PE 0 and one on the last PE, each sent `init` with the
 * other as peer, then an empty `kick` to the first. The second's init, sent earlier from
 * this PE, reaches it before anything the first sends it (one PE's messages to another
 * stay in order). */
static inline void bench_pair_start(tern_type_t type, tern_ep_t init, tern_ep_t kick,
                                    const bench_args_t *a)
{
    tern_proxy_t first, second;
    tern_chare_create(type, 0, NULL, 0, &first);
    tern_chare_create(type, tern_num_pes() - 1, NULL, 0, &second);
    bench_pair_t in = {.a = *a, .peer = second};
    tern_iov_t iov = {&in, sizeof in};
    tern_send(&first, init, &iov, 1, NULL);
    in.peer = first;
    tern_send(&second, init, &iov, 1, NULL);
    tern_send(&first, kick, NULL, 0, NULL);
}

#endif
