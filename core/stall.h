/*
 * Stalled jobs: when the whole job is quiescent and still running, say what waits and
 * that nothing can happen any more (or end it, TERN_STALL_ACTION=abort); and warn about
 * messages held for collections that never appear. See core/stall.c.
 */
#ifndef TERN_CORE_STALL_H
#define TERN_CORE_STALL_H

#include <stddef.h>
#include <stdint.h>

#include "core/pe.h"

tern_status_t core_stall_open(core_pe_t *pe);
void core_stall_close(core_pe_t *pe);

/* The PE did something: it is not quiet. */
static inline void core_stall_active(core_pe_t *pe) { pe->quiet_since = -1; }
/* From the idle scheduler. */
void core_stall_idle(core_pe_t *pe, double now);
/* Seconds until core_stall_idle has something to do (< 0: nothing pending). */
double core_stall_next(core_pe_t *pe, double now);

/* PE 0, from quiescence detection: the watch's two waves found the job quiescent with
 * `total` messages sent, and `fired` callbacks were waiting for that. */
void core_stall_quiescent(core_pe_t *pe, uint64_t total, size_t fired);
/* PE 0: the watch's waves found work going on. */
void core_stall_busy(core_pe_t *pe);

void core_h_stall_ask(core_pe_t *pe, tern_msg_t *m);
void core_h_stall_info(core_pe_t *pe, tern_msg_t *m);

#endif
