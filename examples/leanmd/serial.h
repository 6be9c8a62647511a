/* LeanMD's serial reference (serial.c). */
#ifndef LEANMD_SERIAL_H
#define LEANMD_SERIAL_H

#include "physics.h"

/* Called at every step with the kinetic and potential energy (J). */
typedef void (*lm_energy_fn)(void *arg, int step, double kinetic, double potential);

/* Every atom of the system, as the cells start them. */
void lm_serial_init(lm_atoms_t *all, const int *dims);
/* Run `steps` steps (forces at each; the last ends with the velocities of its positions). */
void lm_serial_run(lm_atoms_t *all, const int *dims, int steps, lm_energy_fn report, void *arg);

#endif
