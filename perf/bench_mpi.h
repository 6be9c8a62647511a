/* bench_mpi.h: the start every MPI twin shares (perf/bench.h has the rest). */
#ifndef TERN_PERF_BENCH_MPI_H
#define TERN_PERF_BENCH_MPI_H

#include <mpi.h>

#include "bench.h"

/* MPI_Init, this rank and the job size, then the arguments over the defaults in *a. */
static inline void bench_mpi_start(int *argc, char ***argv, bench_args_t *a, int *rank,
                                   int *size)
{
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    if (bench_parse(*argc, *argv, a))
        MPI_Abort(MPI_COMM_WORLD, 2);
}

#endif
