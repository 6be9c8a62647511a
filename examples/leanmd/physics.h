/*
 * LeanMD's physics, apart from any runtime: the constants, the atoms of a cell, the force
 * kernels and the integrator. leanmd.c runs them on Tern; serial.c runs them on one core
 * for the checks.
 *
 * The constants are those of Charm++'s LeanMD, so that `X Y Z steps` is the same work:
 * cells of 16 A (cutoff 12 A plus a 4 A margin), 300 atoms a cell, the Lennard-Jones
 * coefficients A = 1.60694452e-134 J m^12 and B = 1.031093844e-77 J m^6 (argon's), the
 * mass 1.67e-24 and a step of 1 fs. Unlike it, the force is the gradient of the potential
 * U = A/r^12 - B/r^6 and the integrator is velocity Verlet with no speed limit, so that
 * the total energy is conserved and can be checked; atoms start on a jittered lattice (300
 * of a cell's 7 x 7 x 7 sites) rather than anywhere, so that none starts on top of another.
 * Lengths are in angstroms, velocities in m/s, energies in J.
 */
#ifndef LEANMD_PHYSICS_H
#define LEANMD_PHYSICS_H

#include <stddef.h>
#include <stdint.h>

#define LM_CUTOFF 12.0         /* A */
#define LM_CELL 16.0           /* A: the cutoff plus a margin */
#define LM_ATOMS 300           /* a cell's atoms at the start */
#define LM_MASS 1.67e-24       /* kg (Charm++'s HYDROGEN_MASS, in its units) */
#define LM_DT 1e-15            /* s */
#define LM_VDW_A 1.60694452e-134 /* J m^12 */
#define LM_VDW_B 1.031093844e-77 /* J m^6 */
#define LM_MAX_V0 3.0          /* m/s: starting speeds in [-3, 3) a component */

/* A cell's atoms: structure of arrays, cap of each; id numbers the atom in the system. */
typedef struct {
    int n, cap;
    double *x, *y, *z, *vx, *vy, *vz, *fx, *fy, *fz, *id;
} lm_atoms_t;

void lm_atoms_init(lm_atoms_t *a, int cap);
void lm_atoms_free(lm_atoms_t *a);
void lm_atoms_reserve(lm_atoms_t *a, int cap);
/* Append atom i of `from` (position, velocity, id; no force). */
void lm_atoms_push(lm_atoms_t *a, const lm_atoms_t *from, int i);
/* Remove atom i (the last one takes its place). */
void lm_atoms_remove(lm_atoms_t *a, int i);
/* Sizes of the packed form (lm_atoms_pack: n, then x y z vx vy vz id) and packing. */
size_t lm_atoms_packed_size(int n);
void lm_atoms_pack(const lm_atoms_t *a, const int *which, int n, double *out);
void lm_atoms_unpack_append(lm_atoms_t *a, const double *in, int n);

/* The starting atoms of cell (cx, cy, cz) of a dims[0] x dims[1] x dims[2] system: the same
 * on every PE and run. */
void lm_cell_init(lm_atoms_t *a, int cx, int cy, int cz, const int *dims);

/*
 * Forces between the atoms of two cells, B's atoms seen shifted by (sx, sy, sz) (the
 * periodic image its compute stands for): A's added to fa[3][na], B's to fb[3][nb] (each
 * as x, y, z arrays). `self`: A and B are one list and each pair counts once. With
 * `energy`, also the pairs' potential energy (shifted to 0 at the cutoff) is returned.
 */
double lm_forces(const double *ax, const double *ay, const double *az, int na,
                 const double *bx, const double *by, const double *bz, int nb, double sx,
                 double sy, double sz, int self, double *fax, double *fay, double *faz,
                 double *fbx, double *fby, double *fbz, int energy);

/* The kernel's variant the CPU runs ("avx2", "default", ...). */
const char *lm_kernel_variant(void);

/* Velocity Verlet around a force evaluation: kick (half a step with the forces) and drift. */
void lm_kick(lm_atoms_t *a);
void lm_drift(lm_atoms_t *a);
/* Kinetic energy of the atoms. */
double lm_kinetic(const lm_atoms_t *a);

/* Which cell of dim cells a coordinate falls in, wrapped; and the coordinate wrapped into
 * [0, dim * LM_CELL). */
int lm_cell_of(double x, int dim);
double lm_wrap(double x, int dim);

#endif
