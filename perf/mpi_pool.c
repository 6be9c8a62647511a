/*
 * The MPI baseline of the task-pool benchmark: master and workers written the usual way.
 * Rank 0 hands out chunks of task indices to whichever worker asks (MPI_Recv from
 * MPI_ANY_SOURCE, then MPI_Send) and takes the results back; it does no task itself.
 * The same tasks as tern_pool.c (perf/work.h); chunks of 1000 stand for Tern's
 * automatic chunks. One rank alone runs the tasks itself.
 *
 *   mpi_pool [-iters EMPTY_TASKS] [-reps R]
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "work.h"

enum { TAG_ASK = 1, TAG_WORK = 2, TAG_STOP = 3 };

/* n tasks of `rounds` (0: empty, the output is the input) in chunks of `chunk`; the time. */
static double run(int rank, int size, const int64_t *in, int64_t *out, int64_t n, int64_t chunk,
                  uint64_t rounds)
{
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    if (size == 1) {
        for (int64_t i = 0; i < n; i++)
            out[i] = rounds ? (int64_t)work_rounds(rounds) : in[i];
    } else if (rank == 0) {
        int64_t next = 0, done = 0;
        int stopped = 0;
        int64_t *buf = malloc((size_t)(chunk + 2) * sizeof *buf);
        while (stopped < size - 1) {
            MPI_Status st;
            /* an ask carries the results of the last chunk: [lo, count, outputs...] */
            MPI_Recv(buf, (int)(chunk + 2), MPI_INT64_T, MPI_ANY_SOURCE, TAG_ASK, MPI_COMM_WORLD, &st);
            if (buf[1] > 0) {
                memcpy(out + buf[0], buf + 2, (size_t)buf[1] * sizeof *buf);
                done += buf[1];
            }
            if (next < n) {
                int64_t k = n - next < chunk ? n - next : chunk;
                int64_t hdr[2] = {next, k};
                memcpy(buf, hdr, sizeof hdr);
                memcpy(buf + 2, in + next, (size_t)k * sizeof *buf);
                MPI_Send(buf, (int)(k + 2), MPI_INT64_T, st.MPI_SOURCE, TAG_WORK, MPI_COMM_WORLD);
                next += k;
            } else {
                MPI_Send(buf, 0, MPI_INT64_T, st.MPI_SOURCE, TAG_STOP, MPI_COMM_WORLD);
                stopped++;
            }
        }
        free(buf);
        if (done != n)
            MPI_Abort(MPI_COMM_WORLD, 3);
    } else {
        int64_t *buf = malloc((size_t)(chunk + 2) * sizeof *buf);
        buf[0] = 0;
        buf[1] = 0;
        for (;;) {
            MPI_Send(buf, (int)(buf[1] + 2), MPI_INT64_T, 0, TAG_ASK, MPI_COMM_WORLD);
            MPI_Status st;
            MPI_Recv(buf, (int)(chunk + 2), MPI_INT64_T, 0, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            if (st.MPI_TAG == TAG_STOP)
                break;
            for (int64_t i = 0; i < buf[1]; i++)
                buf[2 + i] = rounds ? (int64_t)work_rounds(rounds) : buf[2 + i];
        }
        free(buf);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    return MPI_Wtime() - t0;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 2000000, .warmup = 0,
                      .reps = 5, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &a))
        MPI_Abort(MPI_COMM_WORLD, 2);
    int64_t n = a.iters, n1 = n / 4 > 0 ? n / 4 : 1;
    int64_t *in = malloc((size_t)n * sizeof *in), *out = malloc((size_t)n * sizeof *out);
    for (int64_t i = 0; i < n; i++)
        in[i] = i;
    double per_us = work_calibrate();
    MPI_Bcast(&per_us, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    int64_t nw = 2000 * work_cores(size);
    double *ta = malloc(a.reps * sizeof(double)), *t1 = malloc(a.reps * sizeof(double));
    double *tw = malloc(a.reps * sizeof(double));
    run(rank, size, in, out, n / 10 + 1, 1000, 0);
    for (int r = 0; r < a.reps; r++) {
        ta[r] = run(rank, size, in, out, n, 1000, 0);
        t1[r] = run(rank, size, in, out, n1, 1, 0);
        tw[r] = run(rank, size, in, out, nw, 1, (uint64_t)(per_us * 100));
    }
    run(rank, size, in, out, n, 1000, 0); /* checked below: the outputs are the inputs */
    if (rank == 0) {
        for (int64_t i = 0; i < n; i++)
            if (out[i] != i)
                MPI_Abort(MPI_COMM_WORLD, 4);
        printf("RESULT pool_auto %d %.3f Mtask/s\n", size, n / bench_median(ta, a.reps) / 1e6);
        printf("RESULT pool_chunk1 %d %.3f Mtask/s\n", size, n1 / bench_median(t1, a.reps) / 1e6);
        printf("RESULT pool_eff %d %.1f %%\n", size,
               100.0 * nw * 100e-6 / work_cores(size) / bench_median(tw, a.reps));
    }
    free(in);
    free(out);
    free(ta);
    free(t1);
    free(tw);
    MPI_Finalize();
    return 0;
}
