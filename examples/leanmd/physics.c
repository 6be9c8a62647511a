/* LeanMD's physics (see physics.h). */
#include "physics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Coefficients in angstroms: U = A'/r^12 - B'/r^6 J for r in A. */
#define A_ANG (LM_VDW_A * 1e120)
#define B_ANG (LM_VDW_B * 1e60)

static void *xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q) {
        fprintf(stderr, "leanmd: out of memory (%zu bytes)\n", size);
        abort();
    }
    return q;
}

enum { NFIELDS = 10 };

static double **field(lm_atoms_t *a, int k)
{
    double **f[NFIELDS] = {&a->x, &a->y, &a->z, &a->vx, &a->vy, &a->vz,
                           &a->fx, &a->fy, &a->fz, &a->id};
    return f[k];
}

void lm_atoms_init(lm_atoms_t *a, int cap)
{
    memset(a, 0, sizeof *a);
    lm_atoms_reserve(a, cap);
}

void lm_atoms_free(lm_atoms_t *a)
{
    free(a->x); /* one block */
    memset(a, 0, sizeof *a);
}

/* One block of NFIELDS arrays of cap doubles each. */
void lm_atoms_reserve(lm_atoms_t *a, int cap)
{
    if (cap <= a->cap && a->x)
        return;
    if (cap < 16)
        cap = 16;
    double *old = a->x;
    double *block = xrealloc(NULL, (size_t)NFIELDS * (size_t)cap * sizeof(double));
    for (int k = 0; k < NFIELDS; k++) {
        double *dst = block + (size_t)k * (size_t)cap;
        if (old)
            memcpy(dst, *field(a, k), (size_t)a->n * sizeof(double));
        *field(a, k) = dst;
    }
    free(old);
    a->cap = cap;
}

void lm_atoms_push(lm_atoms_t *a, const lm_atoms_t *from, int i)
{
    if (a->n == a->cap)
        lm_atoms_reserve(a, 2 * a->cap);
    int j = a->n++;
    a->x[j] = from->x[i], a->y[j] = from->y[i], a->z[j] = from->z[i];
    a->vx[j] = from->vx[i], a->vy[j] = from->vy[i], a->vz[j] = from->vz[i];
    a->fx[j] = a->fy[j] = a->fz[j] = 0;
    a->id[j] = from->id[i];
}

void lm_atoms_remove(lm_atoms_t *a, int i)
{
    int last = --a->n;
    for (int k = 0; k < NFIELDS; k++) {
        double *f = *field(a, k);
        f[i] = f[last];
    }
}

static const int packed_fields[] = {0, 1, 2, 3, 4, 5, 9}; /* x y z vx vy vz id */
#define NPACKED ((int)(sizeof packed_fields / sizeof *packed_fields))

size_t lm_atoms_packed_size(int n) { return (size_t)n * NPACKED * sizeof(double); }

void lm_atoms_pack(const lm_atoms_t *a, const int *which, int n, double *out)
{
    for (int k = 0; k < NPACKED; k++) {
        const double *f = *field((lm_atoms_t *)a, packed_fields[k]);
        for (int i = 0; i < n; i++)
            out[(size_t)k * n + i] = f[which ? which[i] : i];
    }
}

void lm_atoms_unpack_append(lm_atoms_t *a, const double *in, int n)
{
    lm_atoms_reserve(a, a->n + n);
    for (int k = 0; k < NPACKED; k++)
        memcpy(*field(a, packed_fields[k]) + a->n, in + (size_t)k * n, (size_t)n * sizeof(double));
    memset(a->fx + a->n, 0, (size_t)n * sizeof(double));
    memset(a->fy + a->n, 0, (size_t)n * sizeof(double));
    memset(a->fz + a->n, 0, (size_t)n * sizeof(double));
    a->n += n;
}

/* A small generator of our own (xorshift64*), seeded by the cell: the same atoms on every
 * PE, whichever PE makes the cell. */
static double rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return (double)((*s * 2685821657736338717ULL) >> 11) * 0x1.0p-53;
}

void lm_cell_init(lm_atoms_t *a, int cx, int cy, int cz, const int *dims)
{
    enum { SIDE = 7, SITES = SIDE * SIDE * SIDE };
    int lin = cx + dims[0] * (cy + dims[1] * cz);
    uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(lin + 1);
    int site[SITES];
    for (int i = 0; i < SITES; i++)
        site[i] = i;
    for (int i = 0; i < LM_ATOMS; i++) { /* 300 sites of 343, drawn without repeats */
        int j = i + (int)(rnd(&s) * (SITES - i));
        int t = site[i];
        site[i] = site[j];
        site[j] = t;
    }
    lm_atoms_init(a, LM_ATOMS + LM_ATOMS / 4);
    const double h = LM_CELL / SIDE;
    for (int i = 0; i < LM_ATOMS; i++) {
        int p = site[i];
        a->x[i] = cx * LM_CELL + (p % SIDE + 0.5 + 0.2 * (rnd(&s) - 0.5)) * h;
        a->y[i] = cy * LM_CELL + (p / SIDE % SIDE + 0.5 + 0.2 * (rnd(&s) - 0.5)) * h;
        a->z[i] = cz * LM_CELL + (p / (SIDE * SIDE) + 0.5 + 0.2 * (rnd(&s) - 0.5)) * h;
        a->vx[i] = (rnd(&s) - 0.5) * 2 * LM_MAX_V0;
        a->vy[i] = (rnd(&s) - 0.5) * 2 * LM_MAX_V0;
        a->vz[i] = (rnd(&s) - 0.5) * 2 * LM_MAX_V0;
        a->fx[i] = a->fy[i] = a->fz[i] = 0;
        a->id[i] = (double)lin * LM_ATOMS + i;
    }
    a->n = LM_ATOMS;
}

/*
 * The kernel. For each atom of A, one pass over B's atoms (or the rest of A's) that the
 * compiler turns into vector code: every pair is computed and pairs beyond the cutoff
 * are masked to 0, with no branch; A's atom gathers its force in a reduction.
 * F(r) = 1e10 (12 A'/r^14 - 6 B'/r^8) d  N, d in A.
 */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(LM_NO_CLONES)
#define LM_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LM_CLONES
#endif

static inline __attribute__((always_inline)) double
kernel(const double *restrict ax, const double *restrict ay, const double *restrict az, int na,
       const double *restrict bx, const double *restrict by, const double *restrict bz, int nb,
       double sx, double sy, double sz, int self, double *restrict fax, double *restrict fay,
       double *restrict faz, double *restrict fbx, double *restrict fby, double *restrict fbz,
       const int energy)
{
    const double rc2 = LM_CUTOFF * LM_CUTOFF;
    const double c12 = 1e10 * 12 * A_ANG, c6 = 1e10 * 6 * B_ANG;
    const double rc6 = 1 / (rc2 * rc2 * rc2), ushift = A_ANG * rc6 * rc6 - B_ANG * rc6;
    double u = 0;
    for (int i = 0; i < na; i++) {
        const double xi = ax[i] - sx, yi = ay[i] - sy, zi = az[i] - sz;
        double fx = 0, fy = 0, fz = 0, ui = 0;
#pragma omp simd reduction(+ : fx, fy, fz, ui)
        for (int j = self ? i + 1 : 0; j < nb; j++) {
            double dx = xi - bx[j], dy = yi - by[j], dz = zi - bz[j];
            double r2 = dx * dx + dy * dy + dz * dz;
            int in = r2 < rc2;
            double inv = 1.0 / (in ? r2 : rc2);
            double i6 = inv * inv * inv;
            double f = in ? (c12 * i6 - c6) * i6 * inv : 0.0;
            fx += f * dx;
            fy += f * dy;
            fz += f * dz;
            fbx[j] -= f * dx;
            fby[j] -= f * dy;
            fbz[j] -= f * dz;
            if (energy)
                ui += in ? (A_ANG * i6 - B_ANG) * i6 - ushift : 0.0;
        }
        fax[i] += fx;
        fay[i] += fy;
        faz[i] += fz;
        u += ui;
    }
    return u;
}

LM_CLONES static double forces_plain(const double *ax, const double *ay, const double *az, int na,
                                     const double *bx, const double *by, const double *bz, int nb,
                                     double sx, double sy, double sz, int self, double *fax,
                                     double *fay, double *faz, double *fbx, double *fby,
                                     double *fbz)
{
    return kernel(ax, ay, az, na, bx, by, bz, nb, sx, sy, sz, self, fax, fay, faz, fbx, fby,
                  fbz, 0);
}

LM_CLONES static double forces_energy(const double *ax, const double *ay, const double *az,
                                      int na, const double *bx, const double *by,
                                      const double *bz, int nb, double sx, double sy, double sz,
                                      int self, double *fax, double *fay, double *faz,
                                      double *fbx, double *fby, double *fbz)
{
    return kernel(ax, ay, az, na, bx, by, bz, nb, sx, sy, sz, self, fax, fay, faz, fbx, fby,
                  fbz, 1);
}

double lm_forces(const double *ax, const double *ay, const double *az, int na,
                 const double *bx, const double *by, const double *bz, int nb, double sx,
                 double sy, double sz, int self, double *fax, double *fay, double *faz,
                 double *fbx, double *fby, double *fbz, int energy)
{
    /* Self: A's atoms are B's, and a pair's two forces land in one array. */
    if (self)
        fbx = fax, fby = fay, fbz = faz;
    return (energy ? forces_energy : forces_plain)(ax, ay, az, na, bx, by, bz, nb, sx, sy, sz,
                                                   self, fax, fay, faz, fbx, fby, fbz);
}

const char *lm_kernel_variant(void)
{
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(LM_NO_CLONES)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f"))
        return "x86-64-v4 (AVX-512)";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "x86-64-v3 (AVX2, FMA)";
#endif
    return "default";
}

void lm_kick(lm_atoms_t *a)
{
    const double k = 0.5 * LM_DT / LM_MASS;
    for (int i = 0; i < a->n; i++) {
        a->vx[i] += k * a->fx[i];
        a->vy[i] += k * a->fy[i];
        a->vz[i] += k * a->fz[i];
    }
}

void lm_drift(lm_atoms_t *a)
{
    const double k = LM_DT * 1e10; /* m/s over a step, in A */
    for (int i = 0; i < a->n; i++) {
        a->x[i] += k * a->vx[i];
        a->y[i] += k * a->vy[i];
        a->z[i] += k * a->vz[i];
    }
}

double lm_kinetic(const lm_atoms_t *a)
{
    double s = 0;
    for (int i = 0; i < a->n; i++)
        s += a->vx[i] * a->vx[i] + a->vy[i] * a->vy[i] + a->vz[i] * a->vz[i];
    return 0.5 * LM_MASS * s;
}

int lm_cell_of(double x, int dim)
{
    int c = (int)floor(x / LM_CELL);
    return ((c % dim) + dim) % dim;
}

double lm_wrap(double x, int dim)
{
    double l = dim * LM_CELL;
    x = fmod(x, l);
    return x < 0 ? x + l : x;
}
