/*
 * Message kinds and their handlers. Every message names its kind in its first byte; the
 * receiving PE dispatches it to the kind's handler. The core's kinds (core_kind_t) come
 * first, with fixed numbers; a module outside the core (the load balancer, sections, the
 * task pool) registers its own before tern_run, by name, and gets its number when the
 * runtime starts (from the sorted names, so that every process agrees).
 *
 * A kind also says how long its part of the header is (core_hdr_t's union: at most
 * CORE_PART_MAX bytes, a multiple of 4; a module's goes in u.raw) and whether quiescence
 * detection counts its messages (application work does; the runtime's own traffic does
 * not).
 */
#ifndef TERN_CORE_HANDLER_H
#define TERN_CORE_HANDLER_H

#include <stdint.h>

#include "core/msg.h"

struct core_pe;
typedef void (*core_handler_fn)(struct core_pe *pe, tern_msg_t *m);

#define CORE_H_COUNTED 0x1u /* quiescence detection counts its messages */

typedef struct core_handler_def {
    const char *name;
    core_handler_fn fn;
    uint16_t part;  /* bytes of its part of the header on the wire */
    uint16_t flags; /* CORE_H_* */
} core_handler_def_t;

/* A module's kind: *kind_out gets its number when tern_run starts (before that it is 0).
 * TERN_ERR_STATE after the start, TERN_ERR_EXISTS for a name taken, TERN_ERR_INVALID for
 * a bad definition. */
tern_status_t core_handler_register(const core_handler_def_t *def, uint8_t *kind_out);

/* Number the modules' kinds (at start-up; the registry is then closed); a hash of every
 * kind's name, part and flags, which every process must share. */
uint64_t core_handlers_freeze(void);
/* Allow registration again and forget the modules' kinds (after a job, for tests). */
void core_handlers_reset(void);

/* Every kind by number, once frozen (the hot paths read it). */
extern core_handler_def_t core_kinds_table[CORE_KINDS_MAX];
extern uint16_t core_kind_flags[CORE_KINDS_MAX];

/* The kind's definition, or NULL when there is no such kind. */
static inline const core_handler_def_t *core_handler(unsigned kind)
{
    return kind > 0 && kind < CORE_KINDS_MAX && core_kinds_table[kind].name
               ? &core_kinds_table[kind] : NULL;
}

/* Messages that quiescence detection counts. */
static inline int core_kind_counted(unsigned kind)
{
    return kind < CORE_KINDS_MAX && (core_kind_flags[kind] & CORE_H_COUNTED);
}

#endif
