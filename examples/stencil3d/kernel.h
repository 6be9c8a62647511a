/*
 * stencil3d's computation, apart from any runtime (kernel.c): shared by the Tern program,
 * its MPI twin and the serial check, so that all three do the same arithmetic.
 *
 * A periodic N^3 grid split into blocks of B^3 points. Each iteration every point becomes
 * the mean of itself and its 6 neighbours, then the points on the low face of each block
 * (global x, y or z a multiple of B) are held at 255 (Charm++'s stencil3d: the heated
 * faces). With imbalance, block b (its row-major number of nb: x slowest, so that a block
 * map gives PE 0 the lowest; Charm++'s numbers x fastest) repeats its sweep w times:
 * w = 10 outside the middle 60 % of the blocks, else 100 b / nb + 5 ceil(iter / 30) (the
 * heavy set shifting every 30 iterations); without, `base` times.
 *
 * Arrays hold an extent ext[0] x ext[1] x ext[2] of points with a ghost layer of 1 around:
 * point (i, j, k) of the interior (0-based) is at ST_AT(ext, i + 1, j + 1, k + 1).
 */
#ifndef STENCIL3D_KERNEL_H
#define STENCIL3D_KERNEL_H

#include <stddef.h>

#define ST_AT(ext, i, j, k) \
    ((size_t)(i) + (size_t)((ext)[0] + 2) * ((size_t)(j) + (size_t)((ext)[1] + 2) * (size_t)(k)))
#define ST_HOT 255.0

size_t st_points(const int *ext); /* with the ghost layer */

/* One sweep of u from t over the interior box lo..hi (0-based, hi exclusive). */
void st_sweep(const double *t, double *u, const int *ext, const int *lo, const int *hi);

/* Hold the block faces of the interior at ST_HOT: points whose global coordinate (origin
 * + local) is a multiple of B in any dimension. */
void st_constrain(double *t, const int *ext, const int *origin, int B);

/* Sweeps block `b` of `nb` does at iteration `iter` (1-based). */
int st_work(int b, int nb, int iter, int imbalance, int base);

/* Copy a face of the interior (dim d, side 0 low / 1 high) out, or into the ghost layer
 * next to it, as a dense array (the other two dimensions, lower first). */
size_t st_face_size(const int *ext, int d);
void st_face_get(const double *t, const int *ext, int d, int side, double *out);
void st_face_put(double *t, const int *ext, int d, int side, const double *in);

/* Sum of the interior. */
double st_checksum(const double *t, const int *ext);

/* The whole computation on one core: the grid's checksum after `iters` iterations (one
 * sweep each: repeated sweeps compute the same points). */
double st_serial(int N, int B, int iters);

#endif
