/*
 * tern_create: the main function (PE 0) creates `iters` single chares (100,000 by
 * default) with TERN_ANY_PE, which deals them out to the PEs in turn, and waits for
 * quiescence: every constructor has run. Microseconds per chare, per PE count. At the end
 * a group counts the constructors that ran. perf/mpi_create.c is the MPI equivalent: one
 * message per chare, dealt out the same way.
 *
 *     ternrun -n 2 ./tern_create [-iters 100000] [-warmup 1] [-reps 5]
 */
#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_TASK, T_COUNT;
static tern_ep_t EP_COUNT;
static bench_args_t args;
static uint64_t constructed; /* on this process */

typedef struct {
    uint64_t n, seq;
} task_t;

static void task_ctor(void *self, const tern_msg_t *msg)
{
    task_t *t = self;
    const uint64_t *seq = tern_msg_data(msg);
    t->seq = *seq;
    t->n = ++constructed;
}

static void count_ep(void *self, const tern_msg_t *msg)
{
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    tern_callback_t cb = tern_cb_future(&f);
    tern_contribute(self, &constructed, sizeof constructed,
                    TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &cb);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    double *samples = calloc((size_t)args.reps, sizeof *samples);
    uint64_t made = 0;
    for (int rep = args.warmup ? -1 : 0; rep < args.reps; rep++) {
        int count = rep < 0 ? args.iters / 10 : args.iters;
        double t0 = tern_wall_time();
        for (int i = 0; i < count; i++) {
            uint64_t seq = made++;
            tern_iov_t iov = {&seq, sizeof seq};
            tern_proxy_t p;
            if (tern_chare_create(T_TASK, TERN_ANY_PE, &iov, 1, &p) != TERN_OK)
                tern_abort("tern_create: tern_chare_create failed");
        }
        tern_qd_wait();
        if (rep >= 0)
            samples[rep] = (tern_wall_time() - t0) / count;
    }
    tern_proxy_t g;
    tern_group_create(T_COUNT, NULL, 0, NULL, &g);
    tern_future_t f;
    tern_future_create(1, &f);
    tern_send_buf(&g, EP_COUNT, &f, sizeof f);
    uint64_t total = 0;
    tern_future_get(&f, &total, sizeof total, NULL);
    if (total != made)
        tern_abort("tern_create: %llu constructors ran for %llu chares",
                   (unsigned long long)total, (unsigned long long)made);
    bench_result("create", (double)tern_num_pes(), bench_median(samples, args.reps) * 1e6,
                 "us");
    free(samples);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 8, .step = 2, .iters = 100000,
                          .warmup = 1, .reps = 5, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (tern_type_register("Task", sizeof(task_t), task_ctor, NULL, &T_TASK) ||
        tern_type_register("Count", 8, NULL, NULL, &T_COUNT) ||
        tern_ep_register(T_COUNT, "count", count_ep, &EP_COUNT))
        return 1;
    return tern_run(argc, argv, start);
}
