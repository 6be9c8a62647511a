/*
 * mpi_pingpong: the MPI baseline of tern_pingpong. Rank 0 and the last rank bounce a
 * payload; one-way latency and the bandwidth it implies, per size.
 *
 *     mpirun -np 2 ./mpi_pingpong [-min 8] [-max 4194304] [-iters 2000] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 4u << 20, .step = 2, .iters = 2000,
                      .warmup = 200, .reps = 7, .window = 1, .size = 8};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    int last = size - 1, peer = rank == 0 ? last : 0;
    unsigned char *buf = calloc(1, a.max_size);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    if (!buf || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);

    for (size_t n = a.min_size; n <= a.max_size; n *= (size_t)a.step) {
        int iters = bench_iters_for(&a, n);
        for (int rep = -1; rep < a.reps; rep++) {
            int count = rep < 0 ? a.warmup : iters; /* rep -1 is the warm-up */
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < count; i++) {
                if (rank == 0) {
                    bench_stamp(buf, n, (uint64_t)i);
                    MPI_Send(buf, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
                    MPI_Recv(buf, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                    if (bench_check(buf, n, (uint64_t)i))
                        MPI_Abort(MPI_COMM_WORLD, 3);
                } else if (rank == last) {
                    MPI_Recv(buf, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE);
                    if (bench_check(buf, n, (uint64_t)i))
                        MPI_Abort(MPI_COMM_WORLD, 3);
                    bench_stamp(buf, n, (uint64_t)i);
                    MPI_Send(buf, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
                }
            }
            if (rep >= 0)
                samples[rep] = (MPI_Wtime() - t0) / (2.0 * count);
        }
        if (rank == 0) {
            double med = bench_median(samples, a.reps);
            bench_result("latency", (double)n, med * 1e6, "us");
            bench_result("bandwidth", (double)n, (double)n / med / 1e6, "MB/s");
        }
    }
    free(buf);
    free(samples);
    MPI_Finalize();
    return 0;
}
