/* stencil3d's computation (see kernel.h). */
#include "kernel.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t st_points(const int *ext)
{
    return (size_t)(ext[0] + 2) * (size_t)(ext[1] + 2) * (size_t)(ext[2] + 2);
}

void st_sweep(const double *restrict t, double *restrict u, const int *ext, const int *lo,
              const int *hi)
{
    const size_t sy = (size_t)ext[0] + 2, sz = sy * ((size_t)ext[1] + 2);
    const double seventh = 1.0 / 7;
    for (int k = lo[2] + 1; k <= hi[2]; k++)
        for (int j = lo[1] + 1; j <= hi[1]; j++) {
            size_t row = ST_AT(ext, 0, j, k);
            const double *c = t + row;
            double *o = u + row;
            for (int i = lo[0] + 1; i <= hi[0]; i++)
                o[i] = (c[i - 1] + c[i + 1] + c[i - sy] + c[i + sy] + c[i - sz] + c[i + sz] +
                        c[i]) * seventh;
        }
}

/* The hot points are whole planes: for each dimension, the local planes whose global
 * coordinate is a multiple of B. */
void st_constrain(double *t, const int *ext, const int *origin, int B)
{
    for (int k = (B - origin[2] % B) % B; k < ext[2]; k += B) /* z planes: rows */
        for (int j = 0; j < ext[1]; j++) {
            double *row = t + ST_AT(ext, 1, j + 1, k + 1);
            for (int i = 0; i < ext[0]; i++)
                row[i] = ST_HOT;
        }
    for (int j = (B - origin[1] % B) % B; j < ext[1]; j += B) /* y planes: rows */
        for (int k = 0; k < ext[2]; k++) {
            double *row = t + ST_AT(ext, 1, j + 1, k + 1);
            for (int i = 0; i < ext[0]; i++)
                row[i] = ST_HOT;
        }
    for (int i = (B - origin[0] % B) % B; i < ext[0]; i += B) /* x planes: a point a row */
        for (int k = 0; k < ext[2]; k++)
            for (int j = 0; j < ext[1]; j++)
                t[ST_AT(ext, i + 1, j + 1, k + 1)] = ST_HOT;
}

int st_work(int b, int nb, int iter, int imbalance, int base)
{
    if (!imbalance)
        return base;
    if (b >= nb * 0.2 && b <= nb * 0.8)
        return (int)ceil(100.0 * b / nb + 5 * ceil(iter / 30.0));
    return 10;
}

size_t st_face_size(const int *ext, int d)
{
    return (size_t)ext[d == 0 ? 1 : 0] * (size_t)ext[d == 2 ? 1 : 2];
}

/* A face as rows: the point offsets of its first point and the strides along its lower
 * (a) and higher (b) other dimension, with their lengths. */
typedef struct {
    size_t first, sa, sb;
    int na, nb;
} face_t;

static face_t face_of(const int *ext, int d, int plane)
{
    const size_t s[3] = {1, (size_t)ext[0] + 2, ((size_t)ext[0] + 2) * ((size_t)ext[1] + 2)};
    int a = d == 0 ? 1 : 0, b = d == 2 ? 1 : 2;
    face_t f = {(size_t)plane * s[d] + s[a] + s[b], s[a], s[b], ext[a], ext[b]};
    return f;
}

void st_face_get(const double *t, const int *ext, int d, int side, double *out)
{
    face_t f = face_of(ext, d, side ? ext[d] : 1);
    for (int q = 0; q < f.nb; q++, out += f.na) {
        const double *row = t + f.first + (size_t)q * f.sb;
        if (f.sa == 1) {
            memcpy(out, row, (size_t)f.na * sizeof *out);
            continue;
        }
        for (int p = 0; p < f.na; p++)
            out[p] = row[(size_t)p * f.sa];
    }
}

void st_face_put(double *t, const int *ext, int d, int side, const double *in)
{
    face_t f = face_of(ext, d, side ? ext[d] + 1 : 0);
    for (int q = 0; q < f.nb; q++, in += f.na) {
        double *row = t + f.first + (size_t)q * f.sb;
        if (f.sa == 1) {
            memcpy(row, in, (size_t)f.na * sizeof *in);
            continue;
        }
        for (int p = 0; p < f.na; p++)
            row[(size_t)p * f.sa] = in[p];
    }
}

double st_checksum(const double *t, const int *ext)
{
    double s = 0;
    for (int k = 1; k <= ext[2]; k++)
        for (int j = 1; j <= ext[1]; j++)
            for (int i = 1; i <= ext[0]; i++)
                s += t[ST_AT(ext, i, j, k)];
    return s;
}

double st_serial(int N, int B, int iters)
{
    const int ext[3] = {N, N, N}, origin[3] = {0, 0, 0};
    size_t np = st_points(ext);
    double *t = calloc(np, sizeof *t), *u = calloc(np, sizeof *u);
    double *face = malloc(st_face_size(ext, 0) * sizeof *face);
    if (!t || !u || !face) {
        fprintf(stderr, "stencil3d: out of memory for the serial check\n");
        exit(1);
    }
    const int lo[3] = {0, 0, 0};
    st_constrain(t, ext, origin, B);
    for (int it = 1; it <= iters; it++) {
        for (int d = 0; d < 3; d++) /* periodic: each high face is the low ghost */
            for (int side = 0; side < 2; side++) {
                st_face_get(t, ext, d, side, face);
                st_face_put(t, ext, d, !side, face);
            }
        st_sweep(t, u, ext, lo, ext); /* repeated sweeps give the same points */
        double *s = t;
        t = u;
        u = s;
        st_constrain(t, ext, origin, B);
    }
    double sum = st_checksum(t, ext);
    free(t);
    free(u);
    free(face);
    return sum;
}
