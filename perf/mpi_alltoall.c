/*
 * mpi_alltoall: the MPI baseline of tern_alltoall: MPI_Alltoall of `size` bytes per pair,
 * every block stamped by its sender and checked by its receiver; time per call on rank 0.
 *
 *     mpirun -np N ./mpi_alltoall [-size 1024] [-iters 1000] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 1000, .warmup = 100,
                      .reps = 7, .window = 1, .size = 1024};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    unsigned char *sbuf = calloc((size_t)size, a.size);
    unsigned char *rbuf = calloc((size_t)size, a.size);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    if (!sbuf || !rbuf || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int rep = -1; rep < a.reps; rep++) {
        int count = rep < 0 ? a.warmup : a.iters;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < count; i++) {
            /* The payload is the same for every peer, as in the Tern version. */
            for (int r = 0; r < size; r++)
                if (r != rank)
                    bench_stamp(sbuf + (size_t)r * a.size, a.size, (uint64_t)i);
            MPI_Alltoall(sbuf, (int)a.size, MPI_BYTE, rbuf, (int)a.size, MPI_BYTE,
                         MPI_COMM_WORLD);
            for (int r = 0; r < size; r++)
                if (r != rank && bench_check(rbuf + (size_t)r * a.size, a.size, (uint64_t)i))
                    MPI_Abort(MPI_COMM_WORLD, 3);
        }
        if (rep >= 0)
            samples[rep] = (MPI_Wtime() - t0) / count;
    }
    if (rank == 0)
        bench_result("alltoall", size, bench_median(samples, a.reps) * 1e6, "us");
    free(sbuf);
    free(rbuf);
    free(samples);
    MPI_Finalize();
    return 0;
}
