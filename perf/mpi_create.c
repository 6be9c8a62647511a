/*
 * mpi_create: the MPI baseline of tern_create. Rank 0 deals out `iters` creations to the
 * ranks in turn: to itself it allocates and fills the object at once; to another rank it
 * sends the 8-byte argument, which that rank receives into a new object. A barrier ends
 * each repetition. Microseconds per object, per rank count.
 *
 *     mpirun -np 2 ./mpi_create [-iters 100000] [-warmup 1] [-reps 5]
 */
#include "bench_mpi.h"

typedef struct obj {
    struct obj *next;
    uint64_t n, seq;
} obj_t;

static obj_t *make(obj_t *list, uint64_t seq, uint64_t n)
{
    obj_t *o = malloc(sizeof *o);
    if (!o)
        MPI_Abort(MPI_COMM_WORLD, 1);
    o->seq = seq;
    o->n = n;
    o->next = list;
    return o;
}

int main(int argc, char **argv)
{
    bench_args_t a = {.min_size = 8, .max_size = 8, .step = 2, .iters = 100000,
                      .warmup = 1, .reps = 5, .window = 1, .size = 8};
    int rank, size;
    bench_mpi_start(&argc, &argv, &a, &rank, &size);
    double *samples = calloc((size_t)a.reps, sizeof *samples);
    obj_t *list = NULL;
    uint64_t made = 0, mine = 0;
    for (int rep = a.warmup ? -1 : 0; rep < a.reps; rep++) {
        int count = rep < 0 ? a.iters / 10 : a.iters;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        if (rank == 0) {
            for (int i = 0; i < count; i++) {
                uint64_t seq = made++;
                int to = i % size;
                if (to == 0)
                    list = make(list, seq, ++mine);
                else
                    MPI_Send(&seq, 1, MPI_UINT64_T, to, 0, MPI_COMM_WORLD);
            }
        } else {
            int n = count / size + (rank < count % size);
            for (int i = 0; i < n; i++) {
                uint64_t seq;
                MPI_Recv(&seq, 1, MPI_UINT64_T, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                list = make(list, seq, ++mine);
            }
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (rep >= 0)
            samples[rep] = (MPI_Wtime() - t0) / count;
    }
    if (rank == 0)
        bench_result("create", (double)size, bench_median(samples, a.reps) * 1e6, "us");
    while (list) {
        obj_t *o = list;
        list = o->next;
        free(o);
    }
    free(samples);
    MPI_Finalize();
    return 0;
}
