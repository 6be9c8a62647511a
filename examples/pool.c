/*
 * The task pool, as the seeds' charm.pool examples use it: a parallel map of squares
 * (charm.pool.map(square, range(10), chunksize=2)), and a recursive Fibonacci whose tasks
 * spawn tasks and wait for them. Every PE works, the one that asked included.
 *
 *     ternrun -n 4 ./pool [N]      (fib(N), default 20)
 */
#include <stdio.h>
#include <stdlib.h>

#include <tern/tern.h>

static tern_task_t SQUARE, FIB;

static void square(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    *(int64_t *)out = *(const int64_t *)in * *(const int64_t *)in;
}

/* fib(n) = the sum of a map of fib over {n-1, n-2}: a coroutine task may wait. */
static void fib(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    int64_t n = *(const int64_t *)in;
    if (n < 2) {
        *(int64_t *)out = n;
        return;
    }
    int64_t args[2] = {n - 1, n - 2}, res[2];
    if (tern_pool_map(FIB, args, sizeof *args, 2, res, sizeof *res, NULL) != TERN_OK) {
        tern_raise("fib(%lld): a subtask failed", (long long)n);
        return;
    }
    *(int64_t *)out = res[0] + res[1];
}

static void start(int argc, char **argv)
{
    int64_t in[10], out[10];
    for (int i = 0; i < 10; i++)
        in[i] = i;
    tern_pool_opts_t opts = {.chunk = 2};
    if (tern_pool_map(SQUARE, in, sizeof *in, 10, out, sizeof *out, &opts) != TERN_OK) {
        tern_exit(1);
        return;
    }
    printf("squares:");
    for (int i = 0; i < 10; i++)
        printf(" %lld", (long long)out[i]);
    printf("\n");

    int64_t n = argc > 1 ? atoll(argv[1]) : 20, r = 0;
    tern_future_t f;
    double t0 = tern_wall_time();
    if (tern_pool_submit(FIB, &n, sizeof n, sizeof r, &f) != TERN_OK ||
        tern_future_get(&f, &r, sizeof r, NULL) != TERN_OK) {
        tern_exit(1);
        return;
    }
    printf("fibonacci(%lld) = %lld, by spawning tasks on %d PEs (%.3f s)\n", (long long)n,
           (long long)r, tern_num_pes(), tern_wall_time() - t0);
    tern_exit(out[9] == 81 ? 0 : 1);
}

int main(int argc, char **argv)
{
    if (tern_task_register("square", square, 0, &SQUARE) ||
        tern_task_register("fib", fib, TERN_TASK_COROUTINE, &FIB))
        return 1;
    return tern_run(argc, argv, start);
}
