/*
 * Futures: the record on the PE that created each one (values, error, waiting
 * coroutines), answers from any PE (a FUT_SET message, or a direct update on the owner),
 * and the waits of coroutines.
 */
#ifndef TERN_CORE_FUTURE_H
#define TERN_CORE_FUTURE_H

#include <stdint.h>

#include "core/pe.h"

/* A future of this PE for n values. */
tern_status_t core_future_new(core_pe_t *pe, uint64_t n, tern_future_t *out);
/* Give f `count` values: one of len bytes at `slot` (-1: the first free slot), or, with
 * count > 1, that many empty values. From any PE. */
void core_future_answer(core_pe_t *pe, const tern_future_t *f, int64_t slot, uint32_t count,
                        const void *data, size_t len);
void core_future_answer_error(core_pe_t *pe, const tern_future_t *f, int err_pe,
                              const char *msg);
void core_h_fut_set(core_pe_t *pe, tern_msg_t *m);
void core_futures_free(core_pe_t *pe);

/* A coroutine of this PE waiting for something that core_waiters_wake() signals. The
 * nodes live on the waiting coroutine's stack. */
typedef struct core_waiter {
    core_ult_t *ult;
    struct core_waiter *next;
} core_waiter_t;

/* The running coroutine, or NULL after logging "<call>: ... outside a coroutine". */
core_ult_t *core_need_coroutine(core_pe_t *pe, const char *call);
/* Wait (suspended) on list *head until woken. */
void core_wait_on(core_pe_t *pe, core_waiter_t **head);
/* Wake every waiter of the list and empty it. */
void core_waiters_wake(core_pe_t *pe, core_waiter_t **head);

#endif
