/*
 * mpi_msgrate: the MPI baseline of tern_msgrate. Rank 0 sends windows of `window`
 * messages to the last rank, which pre-posts its receives, checks every payload and
 * answers each window with one 8-byte acknowledgement; messages per second, per size.
 *
 *     mpirun -np 2 ./mpi_msgrate [-min 8] [-max 8] [-window 64] [-iters 2000] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 8, .iters = 2000, .warmup = 100,
                      .reps = 7, .window = 64, .size = 8};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    int last = size - 1, peer = rank == 0 ? last : 0;
    unsigned char *bufs = calloc((size_t)a.window, a.max_size);
    MPI_Request *req = calloc((size_t)a.window, sizeof *req);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    uint64_t ack = 0;
    if (!bufs || !req || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);

    for (size_t n = a.min_size; n <= a.max_size; n *= (size_t)a.step) {
        int iters = bench_iters_for(&a, n * (size_t)a.window);
        for (int rep = -1; rep < a.reps; rep++) {
            int count = rep < 0 ? a.warmup : iters;
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (int i = 0; i < count; i++) {
                if (rank == 0) {
                    for (int w = 0; w < a.window; w++) {
                        unsigned char *b = bufs + (size_t)w * n;
                        bench_stamp(b, n, (uint64_t)w);
                        MPI_Isend(b, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD, &req[w]);
                    }
                    MPI_Waitall(a.window, req, MPI_STATUSES_IGNORE);
                    MPI_Recv(&ack, 8, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                } else if (rank == last) {
                    for (int w = 0; w < a.window; w++)
                        MPI_Irecv(bufs + (size_t)w * n, (int)n, MPI_BYTE, peer, 0,
                                  MPI_COMM_WORLD, &req[w]);
                    MPI_Waitall(a.window, req, MPI_STATUSES_IGNORE);
                    for (int w = 0; w < a.window; w++)
                        if (bench_check(bufs + (size_t)w * n, n, (uint64_t)w))
                            MPI_Abort(MPI_COMM_WORLD, 3);
                    MPI_Send(&ack, 8, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
                }
            }
            if (rep >= 0)
                samples[rep] = (double)count * a.window / (MPI_Wtime() - t0);
        }
        if (rank == 0)
            bench_result("msgrate", (double)n, bench_median(samples, a.reps) / 1e6, "Mmsg/s");
    }
    free(bufs);
    free(req);
    free(samples);
    MPI_Finalize();
    return 0;
}
