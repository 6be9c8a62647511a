/*
 * stencil3d's MPI twin, the baseline the CharmPy paper compares with: the same grid, the
 * same blocks' work (kernel.h) and the same checksum, with one brick of blocks per rank on
 * an MPI_Cart_create grid and a nonblocking halo exchange (Irecv/Isend of the 6 faces,
 * Waitall) each iteration. It cannot move work: with imbalance the most loaded rank sets
 * the pace.
 *
 *     mpirun -np 2 ./stencil3d_mpi [N [B]] [-iters 100] [-imbalance 0|1] [-work W] [-check]
 *
 * RESULT stencil3d_mpi <ranks> <seconds per iteration> s
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernel.h"

static void fail(const char *msg)
{
    fprintf(stderr, "stencil3d_mpi: %s\n", msg);
    MPI_Abort(MPI_COMM_WORLD, 2);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int N = 128, B = 16, iters = 100, imbalance = 1, base = 1, check = 0, pos = 0;
    for (int i = 1; i < argc; i++) {
        int *opt = !strcmp(argv[i], "-iters") ? &iters : !strcmp(argv[i], "-imbalance")
                 ? &imbalance : !strcmp(argv[i], "-work") ? &base : NULL;
        if (opt && i + 1 < argc)
            *opt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-check"))
            check = 1;
        else if (!strcmp(argv[i], "-lb") && i + 1 < argc)
            i++; /* accepted for the same command line as the Tern program: nothing moves */
        else if (!opt && pos < 2 && argv[i][0] != '-')
            *(pos++ ? &B : &N) = atoi(argv[i]);
        else
            fail("usage: stencil3d_mpi [N [B]] [-iters I] [-imbalance 0|1] [-work W] [-check]");
    }
    int size, rank, dims[3] = {0, 0, 0}, periods[3] = {1, 1, 1}, coords[3];
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (N < 1 || B < 1 || N % B || iters < 1 || base < 1)
        fail("N must be a multiple of B, iterations and work positive");
    int nbs = N / B;
    MPI_Dims_create(size, 3, dims);
    for (int d = 0; d < 3; d++)
        if (nbs % dims[d])
            fail("the blocks a side (N / B) must split evenly over the ranks' grid");
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 3, dims, periods, 1, &cart);
    MPI_Comm_rank(cart, &rank);
    MPI_Cart_coords(cart, rank, 3, coords);
    int ext[3], origin[3], nbr[6];
    for (int d = 0; d < 3; d++) {
        ext[d] = N / dims[d];
        origin[d] = coords[d] * ext[d];
        MPI_Cart_shift(cart, d, 1, &nbr[2 * d], &nbr[2 * d + 1]); /* low, high neighbour */
    }
    size_t np = st_points(ext), fmax = 0;
    for (int d = 0; d < 3; d++)
        fmax = st_face_size(ext, d) > fmax ? st_face_size(ext, d) : fmax;
    double *t = calloc(np, sizeof *t), *u = calloc(np, sizeof *u);
    double *out = malloc(6 * fmax * sizeof *out), *in = malloc(6 * fmax * sizeof *in);
    if (!t || !u || !out || !in)
        fail("out of memory");
    st_constrain(t, ext, origin, B);
    int nb = nbs * nbs * nbs, per[3] = {ext[0] / B, ext[1] / B, ext[2] / B};
    if (rank == 0)
        printf("stencil3d_mpi: %d^3 grid in %d^3 blocks of %d^3, %d iterations on %d ranks "
               "(%d x %d x %d), %s\n", N, nbs, B, iters, size, dims[0], dims[1], dims[2],
               imbalance ? "imbalance" : "no imbalance");
    MPI_Barrier(cart);
    double t0 = MPI_Wtime();
    for (int it = 1; it <= iters; it++) {
        MPI_Request req[12];
        for (int dir = 0; dir < 6; dir++) { /* dir = 2 d + side */
            int d = dir / 2, side = dir % 2;
            size_t n = st_face_size(ext, d);
            MPI_Irecv(in + dir * fmax, (int)n, MPI_DOUBLE, nbr[dir], dir ^ 1, cart, &req[dir]);
            st_face_get(t, ext, d, side, out + dir * fmax);
            MPI_Isend(out + dir * fmax, (int)n, MPI_DOUBLE, nbr[dir], dir, cart, &req[6 + dir]);
        }
        MPI_Waitall(12, req, MPI_STATUSES_IGNORE);
        for (int dir = 0; dir < 6; dir++)
            st_face_put(t, ext, dir / 2, dir % 2, in + dir * fmax);
        for (int bz = 0; bz < per[2]; bz++) /* my blocks, each with its work */
            for (int by = 0; by < per[1]; by++)
                for (int bx = 0; bx < per[0]; bx++) {
                    int g[3] = {origin[0] / B + bx, origin[1] / B + by, origin[2] / B + bz};
                    int lo[3] = {bx * B, by * B, bz * B}, hi[3] = {lo[0] + B, lo[1] + B, lo[2] + B};
                    int b = (g[0] * nbs + g[1]) * nbs + g[2]; /* row-major */
                    for (int w = st_work(b, nb, it, imbalance, base); w > 0; w--)
                        st_sweep(t, u, ext, lo, hi);
                }
        double *s = t;
        t = u;
        u = s;
        st_constrain(t, ext, origin, B);
    }
    double dt = MPI_Wtime() - t0, mine = st_checksum(t, ext), sum = 0, slowest;
    MPI_Reduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, cart);
    MPI_Reduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, cart);
    int ok = 1;
    if (rank == 0) {
        printf("stencil3d_mpi: %d iterations in %.3f s: %.3f ms/iteration; checksum %.10e\n",
               iters, slowest, slowest * 1e3 / iters, sum);
        printf("RESULT stencil3d_mpi %d %.6f s\n", size, slowest / iters);
        if (check) {
            double want = st_serial(N, B, iters);
            ok = fabs(sum - want) <= 1e-12 * fabs(want);
            printf("stencil3d_mpi: serial checksum %.10e: %s\n", want, ok ? "the same" : "WRONG");
        }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, cart);
    free(t);
    free(u);
    free(out);
    free(in);
    MPI_Comm_free(&cart);
    MPI_Finalize();
    return ok ? 0 : 1;
}
