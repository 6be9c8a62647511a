/*
 * The serial reference for LeanMD's checks: every atom of the system in one list, every
 * pair and every periodic image within the cutoff, with a plain loop that shares nothing
 * with the parallel kernel but the physics; the same velocity Verlet sequence.
 */
#include "serial.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define A_ANG (LM_VDW_A * 1e120)
#define B_ANG (LM_VDW_B * 1e60)

void lm_serial_init(lm_atoms_t *all, const int *dims)
{
    lm_atoms_init(all, dims[0] * dims[1] * dims[2] * LM_ATOMS);
    for (int z = 0; z < dims[2]; z++)
        for (int y = 0; y < dims[1]; y++)
            for (int x = 0; x < dims[0]; x++) {
                lm_atoms_t c;
                lm_cell_init(&c, x, y, z, dims);
                for (int i = 0; i < c.n; i++)
                    lm_atoms_push(all, &c, i);
                lm_atoms_free(&c);
            }
}

/* Forces on every atom (into fx, fy, fz) and the potential energy. Images n in
 * {-1, 0, 1}^3 suffice: the box is at least 16 A a side and the cutoff 12 A. */
static double serial_forces(lm_atoms_t *a, const int *dims)
{
    const double rc2 = LM_CUTOFF * LM_CUTOFF, rc6 = 1 / (rc2 * rc2 * rc2);
    const double ushift = A_ANG * rc6 * rc6 - B_ANG * rc6;
    const double L[3] = {dims[0] * LM_CELL, dims[1] * LM_CELL, dims[2] * LM_CELL};
    memset(a->fx, 0, (size_t)a->n * sizeof(double));
    memset(a->fy, 0, (size_t)a->n * sizeof(double));
    memset(a->fz, 0, (size_t)a->n * sizeof(double));
    double u = 0;
    for (int i = 0; i < a->n; i++)
        for (int j = i + 1; j < a->n; j++)
            for (int n = 0; n < 27; n++) {
                double dx = a->x[i] - a->x[j] - (n % 3 - 1) * L[0];
                double dy = a->y[i] - a->y[j] - (n / 3 % 3 - 1) * L[1];
                double dz = a->z[i] - a->z[j] - (n / 9 - 1) * L[2];
                double r2 = dx * dx + dy * dy + dz * dz;
                if (r2 >= rc2)
                    continue;
                double r6 = r2 * r2 * r2;
                double f = 1e10 * (12 * A_ANG / (r6 * r6) - 6 * B_ANG / r6) / r2;
                a->fx[i] += f * dx, a->fy[i] += f * dy, a->fz[i] += f * dz;
                a->fx[j] -= f * dx, a->fy[j] -= f * dy, a->fz[j] -= f * dz;
                u += A_ANG / (r6 * r6) - B_ANG / r6 - ushift;
            }
    return u;
}

void lm_serial_run(lm_atoms_t *a, const int *dims, int steps, lm_energy_fn report, void *arg)
{
    for (int s = 1; s <= steps; s++) {
        double u = serial_forces(a, dims);
        if (s > 1)
            lm_kick(a);
        if (report)
            report(arg, s, lm_kinetic(a), u);
        if (s < steps) {
            lm_kick(a);
            lm_drift(a);
        }
    }
}
