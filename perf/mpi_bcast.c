/*
 * mpi_bcast: the MPI baseline of tern_bcast. Rank 0 broadcasts a payload with MPI_Bcast;
 * every rank checks it and the others acknowledge to rank 0 with an empty message; rank 0
 * starts the next broadcast when all acknowledgements are in.
 *
 *     mpirun -np N ./mpi_bcast [-size 8] [-iters 2000] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 2000, .warmup = 200,
                      .reps = 7, .window = 1, .size = 8};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    unsigned char *buf = calloc(1, a.size);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    if (!buf || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int rep = -1; rep < a.reps; rep++) {
        int count = rep < 0 ? a.warmup : a.iters;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < count; i++) {
            if (rank == 0)
                bench_stamp(buf, a.size, (uint64_t)i);
            MPI_Bcast(buf, (int)a.size, MPI_BYTE, 0, MPI_COMM_WORLD);
            if (bench_check(buf, a.size, (uint64_t)i))
                MPI_Abort(MPI_COMM_WORLD, 3);
            if (rank == 0) {
                for (int r = 1; r < size; r++)
                    MPI_Recv(NULL, 0, MPI_BYTE, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
            } else {
                MPI_Send(NULL, 0, MPI_BYTE, 0, 1, MPI_COMM_WORLD);
            }
        }
        if (rep >= 0)
            samples[rep] = (MPI_Wtime() - t0) / count;
    }
    if (rank == 0)
        bench_result("bcast", size, bench_median(samples, a.reps) * 1e6, "us");
    free(buf);
    free(samples);
    MPI_Finalize();
    return 0;
}
