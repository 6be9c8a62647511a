/*
 * mpi_allreduce: the MPI baseline of tern_allreduce. Every rank calls MPI_Allreduce on
 * `size` bytes of doubles with MPI_SUM, over and over; time per allreduce on rank 0, per
 * size. A barrier starts every repetition.
 *
 *     mpirun -np N ./mpi_allreduce [-min 8] [-max 131072] [-step 128] [-iters 1000]
 *                                  [-warmup 100] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 128 << 10, .step = 128, .iters = 1000,
                      .warmup = 100, .reps = 7, .window = 1, .size = 8};
    int rank, np;
    bench_mpi_start(&argc, &argv, &a, &rank, &np);
    if (a.min_size % 8) {
        if (rank == 0)
            fprintf(stderr, "mpi_allreduce: -min must be a multiple of 8 (doubles)\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    double *in = calloc(1, a.max_size), *out = calloc(1, a.max_size);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    if (!in || !out || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (size_t size = a.min_size; size <= a.max_size; size *= (size_t)a.step) {
        size_t n = size / 8;
        int iters = bench_iters_for(&a, size);
        bench_red_fill(in, n, rank);
        for (int rep = -1; rep < a.reps; rep++) {
            int count = rep < 0 ? a.warmup : iters;
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < count; i++) {
                bench_red_stamp(in, n, rank, i);
                MPI_Allreduce(in, out, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
                if (bench_red_check(out, n, np, i))
                    MPI_Abort(MPI_COMM_WORLD, 3);
            }
            if (rep >= 0)
                samples[rep] = (MPI_Wtime() - t0) / count;
        }
        if (rank == 0)
            bench_result("allreduce", (double)size, bench_median(samples, a.reps) * 1e6,
                         "us");
    }
    free(in);
    free(out);
    free(samples);
    MPI_Finalize();
    return 0;
}
