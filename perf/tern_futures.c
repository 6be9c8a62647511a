/*
 * tern_futures: collecting the answers of many calls. The main function calls an entry
 * method of a 1-D array N times (round robin over its elements, which answer their input
 * doubled), then collects every answer: once in completion order with the iterator
 * (tern_future_iter_*), once by waiting for all (tern_future_wait_all) and reading them.
 * Each collection is timed from the first call to the last answer read, medians of REPS
 * rounds; RESULT lines for perf/run.py.
 *
 *     ternrun -n 4 ./tern_futures [N] [REPS]
 */
#include <stdio.h>
#include <stdlib.h>

#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_W;
static tern_ep_t EP_TWICE;

static void twice(void *self, const tern_msg_t *m)
{
    (void)self;
    int64_t v = *(const int64_t *)tern_msg_data(m) * 2;
    tern_return(&v, sizeof v);
}

/* One round: N calls, then the answers collected one way; returns the seconds. */
static double round_of(const tern_proxy_t *arr, int elems, tern_future_t *fs, int n,
                       int iterate)
{
    double t0 = tern_wall_time();
    for (int i = 0; i < n; i++) {
        int64_t x = i;
        tern_call_elem(arr, TERN_IDX(i % elems), EP_TWICE, &x, sizeof x, TERN_CALL_RET, &fs[i]);
    }
    int64_t sum = 0, v;
    if (iterate) {
        tern_future_iter_t it;
        tern_future_iter_init(&it, fs, n);
        for (int i; (i = tern_future_iter_next(&it)) >= 0;) {
            tern_future_get(&fs[i], &v, sizeof v, NULL);
            sum += v;
        }
        tern_future_iter_fini(&it);
    } else {
        tern_future_wait_all(fs, n);
        for (int i = 0; i < n; i++) {
            tern_future_get(&fs[i], &v, sizeof v, NULL);
            sum += v;
        }
    }
    double t = tern_wall_time() - t0;
    if (sum != (int64_t)n * (n - 1))
        tern_abort("tern_futures: the answers add up to %lld, not %lld", (long long)sum,
                   (long long)n * (n - 1));
    return t;
}

static void start(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 32000, reps = argc > 2 ? atoi(argv[2]) : 5;
    int elems = 4 * tern_num_pes();
    tern_proxy_t arr;
    tern_array_create(T_W, 1, TERN_IDX(elems), NULL, 0, &arr);
    tern_future_t *fs = malloc((size_t)n * sizeof *fs);
    double *it = malloc((size_t)reps * sizeof *it), *all = malloc((size_t)reps * sizeof *all);
    round_of(&arr, elems, fs, n / 10 + 1, 1); /* warm-up */
    for (int r = 0; r < reps; r++) {
        it[r] = round_of(&arr, elems, fs, n, 1);
        all[r] = round_of(&arr, elems, fs, n, 0);
    }
    bench_result("future_iter", n, bench_median(it, reps), "s");
    bench_result("future_waitall", n, bench_median(all, reps), "s");
    free(fs);
    free(it);
    free(all);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    static const tern_ep_def_t eps[] = {{"twice", twice, 0, &EP_TWICE}, {0}};
    if (tern_type_define("W", 0, NULL, NULL, eps, &T_W))
        return 1;
    return tern_run(argc, argv, start);
}
