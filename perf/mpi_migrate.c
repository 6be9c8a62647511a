/*
 * mpi_migrate: the MPI baseline of tern_migrate. A `size`-byte state goes back and forth
 * between rank 0 and the last rank, as an element's would: the holder checks and stamps
 * it and sends it; the receiver takes it into memory of its own (malloc, copy) and frees
 * the buffer it came in. Microseconds per move.
 *
 *     mpirun -np 2 ./mpi_migrate [-size 1024] [-iters 10000] [-warmup 1000] [-reps 7]
 */
#include "bench_mpi.h"

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 10000,
                      .warmup = 1000, .reps = 7, .window = 1, .size = 1024};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    int last = size - 1, peer = rank == 0 ? last : 0;
    size_t n = a.size;
    unsigned char *state = calloc(1, n), *inbox = malloc(n);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    if (!state || !inbox || !samples)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (int rep = -1; rep < a.reps; rep++) {
        int count = rep < 0 ? a.warmup : a.iters;
        count += count % 2;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < count; i++) {
            int holder = i % 2 == 0 ? 0 : last;
            if (rank == holder) {
                bench_stamp(state, n, (uint64_t)i + 1);
                MPI_Send(state, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
                free(state);
                state = NULL;
            } else if (rank == 0 || rank == last) {
                MPI_Recv(inbox, (int)n, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                free(state);
                state = malloc(n);
                if (!state)
                    MPI_Abort(MPI_COMM_WORLD, 1);
                memcpy(state, inbox, n);
                if (bench_check(state, n, (uint64_t)i + 1))
                    MPI_Abort(MPI_COMM_WORLD, 3);
            }
        }
        if (rep >= 0)
            samples[rep] = (MPI_Wtime() - t0) / count;
    }
    if (rank == 0)
        bench_result("migrate", (double)n, bench_median(samples, a.reps) * 1e6, "us");
    free(state);
    free(inbox);
    free(samples);
    MPI_Finalize();
    return 0;
}
