/*
 * Running an entry method: on the scheduler's stack or on a coroutine of its own, with an
 * invocation record that collects its return value or failure and answers the caller's
 * future when it ends.
 */
#ifndef TERN_CORE_INVOKE_H
#define TERN_CORE_INVOKE_H

#include <stddef.h>

#include "core/pe.h"
#include "core/registry.h"

typedef struct core_inv {
    core_chare_t *ch;
    const core_ep_t *ep;  /* NULL for a CORE_EP_PING */
    tern_msg_t *m;
    unsigned char *ret;   /* tern_return's value */
    size_t ret_len;
    char *err;            /* tern_raise's message */
} core_inv_t;

/* Invoke m's entry method on ch; takes over one reference to m (m->refs). Called from the
 * scheduler only. */
void core_invoke(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m);
/* The invocation the caller runs in, or NULL (main function, timers, callbacks). */
core_inv_t *core_inv_current(core_pe_t *pe);
/* Drop one reference to m; the last one answers a broadcast's completion future and
 * releases m. */
void core_msg_unref(core_pe_t *pe, tern_msg_t *m);
/* The job is ending: release what the invocations of suspended coroutines hold. */
void core_invoke_abandon(core_pe_t *pe);

#endif
