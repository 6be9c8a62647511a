/*
 * tern_allreduce: reduction latency against the payload size. Every member of a group (one
 * per PE) runs a coroutine entry method that calls tern_allreduce on `size` bytes of
 * doubles, summed, over and over; each call returns when the sum of all members' data is
 * back on this member. Time per allreduce on PE 0, per size, for the PE count of the job.
 * A barrier starts every repetition. perf/mpi_allreduce.c is the same with MPI_Allreduce
 * (MPI_SUM on MPI_DOUBLE).
 *
 *     ternrun -n N ./tern_allreduce [-min 8] [-max 131072] [-step 128] [-iters 1000]
 *                                   [-warmup 100] [-reps 7]
 */
#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_AR;
static tern_ep_t EP_RUN;

typedef struct {
    bench_args_t a;
    double *in, *out;
    double *samples;
} ar_t;

static void ar_ctor(void *self, const tern_msg_t *msg)
{
    ar_t *p = self;
    memcpy(&p->a, tern_msg_data(msg), sizeof p->a);
    p->in = calloc(1, p->a.max_size);
    p->out = calloc(1, p->a.max_size);
    p->samples = calloc((size_t)p->a.reps, sizeof *p->samples);
    if (!p->in || !p->out || !p->samples)
        tern_abort("tern_allreduce: out of memory");
}

static void ar_dtor(void *self)
{
    ar_t *p = self;
    free(p->in);
    free(p->out);
    free(p->samples);
}

static void must(tern_status_t st, const char *what)
{
    if (st != TERN_OK)
        tern_abort("tern_allreduce: %s failed: %s", what, tern_strerror(st));
}

/* Every member, on a coroutine of its own: the whole measurement. */
static void ar_run(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ar_t *p = self;
    const bench_args_t *a = &p->a;
    const tern_reducer_t sum = TERN_REDUCER(TERN_OP_SUM, TERN_DT_DOUBLE);
    int me = tern_my_pe(), np = tern_num_pes();
    for (size_t size = a->min_size; size <= a->max_size; size *= (size_t)a->step) {
        size_t n = size / 8;
        int iters = bench_iters_for(a, size);
        bench_red_fill(p->in, n, me);
        for (int rep = -1; rep < a->reps; rep++) {
            int count = rep < 0 ? a->warmup : iters;
            must(tern_barrier(self), "tern_barrier");
            double t0 = tern_wall_time();
            for (int i = 0; i < count; i++) {
                bench_red_stamp(p->in, n, me, i);
                size_t len = 0;
                must(tern_allreduce(self, p->in, size, sum, p->out, size, &len),
                     "tern_allreduce");
                if (len != size || bench_red_check(p->out, n, np, i))
                    tern_abort("tern_allreduce: wrong sum (%zu bytes, iteration %d)", size,
                               i);
            }
            if (rep >= 0)
                p->samples[rep] = (tern_wall_time() - t0) / count;
        }
        if (me == 0)
            bench_result("allreduce", (double)size, bench_median(p->samples, a->reps) * 1e6,
                         "us");
    }
    if (me == 0)
        tern_exit(0);
}

static bench_args_t args;

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t g;
    tern_iov_t iov = {&args, sizeof args};
    tern_group_create(T_AR, &iov, 1, NULL, &g);
    tern_send(&g, EP_RUN, NULL, 0, NULL);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 128 << 10, .step = 128, .iters = 1000,
                          .warmup = 100, .reps = 7, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (args.min_size % 8) {
        fprintf(stderr, "tern_allreduce: -min must be a multiple of 8 (doubles)\n");
        return 2;
    }
    if (tern_type_register("Allreduce", sizeof(ar_t), ar_ctor, ar_dtor, &T_AR) ||
        tern_ep_register_flags(T_AR, "run", ar_run, TERN_EP_COROUTINE, &EP_RUN))
        return 1;
    return tern_run(argc, argv, start);
}
