/*
 * mpi_flood: the MPI baseline of tern_flood. Every rank but 0 starts N non-blocking
 * sends of SIZE bytes to rank 0 (MPI_Isend: like Tern's sends, they may not wait for the
 * receiver), while rank 0 sleeps SLEEP seconds before it receives any; then everybody
 * completes. Each rank's peak memory over the flood (VmHWM after resetting it, minus the
 * resident size before), per message, as RESULT lines: what it costs to have a message
 * wait (the library's queues, and the request and buffer the program must keep).
 *
 *     mpirun -np 2 ./mpi_flood [N] [SIZE] [SLEEP]
 */
#include <time.h>

#include "bench_mpi.h"
#include "flood_mem.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long n = argc > 1 ? atol(argv[1]) : 1000000, len = argc > 2 ? atol(argv[2]) : 16;
    double sleep_s = argc > 3 ? atof(argv[3]) : 2.0;
    if (size < 2 || n < 1 || len < 8 || n > 0x7fffffff)
        MPI_Abort(MPI_COMM_WORLD, 2);
    unsigned char *buf = calloc(1, (size_t)len);
    MPI_Barrier(MPI_COMM_WORLD);
    long base = flood_measure_start(), peak;
    if (rank == 0) {
        struct timespec ts = {(time_t)sleep_s,
                              (long)((sleep_s - (double)(time_t)sleep_s) * 1e9)};
        nanosleep(&ts, NULL);
        uint64_t *next = calloc((size_t)size, sizeof *next);
        for (long i = 0; i < n * (size - 1); i++) {
            MPI_Status st;
            uint64_t seq;
            MPI_Recv(buf, (int)len, MPI_BYTE, MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, &st);
            memcpy(&seq, buf, sizeof seq);
            if (seq != next[st.MPI_SOURCE]++)
                MPI_Abort(MPI_COMM_WORLD, 3);
        }
        free(next);
        peak = flood_status_kb("VmHWM") - base;
    } else {
        MPI_Request *req = malloc((size_t)n * sizeof *req);
        unsigned char *bufs = malloc((size_t)n * (size_t)len);
        if (!req || !bufs)
            MPI_Abort(MPI_COMM_WORLD, 1);
        for (long i = 0; i < n; i++) {
            unsigned char *b = bufs + (size_t)i * (size_t)len;
            uint64_t seq = (uint64_t)i;
            memcpy(b, &seq, sizeof seq);
            MPI_Isend(b, (int)len, MPI_BYTE, 0, 0, MPI_COMM_WORLD, &req[i]);
        }
        /* Everything is queued somewhere now. The buffers count: MPI needs them until the
         * sends complete, where Tern copies the payload (into what it counts). */
        peak = flood_status_kb("VmHWM") - base;
        MPI_Waitall((int)n, req, MPI_STATUSES_IGNORE);
        free(req);
        free(bufs);
    }
    long all[2] = {rank == 0 ? peak : 0, rank == 0 ? 0 : peak}, worst[2];
    MPI_Reduce(all, worst, 2, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        bench_result("flood_sender", (double)len, (double)worst[1] * 1024.0 / (double)n,
                     "B/msg");
        bench_result("flood_receiver", (double)len,
                     (double)worst[0] * 1024.0 / (double)n / (size - 1), "B/msg");
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
