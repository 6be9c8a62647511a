/*
 * Futures: the record on the PE that created each one (values, error, waiting
 * coroutines, iterators watching it, where it was made), answers from any PE (a FUT_SET
 * message, or a direct update on the owner), and the waits of coroutines.
 */
#ifndef TERN_CORE_FUTURE_H
#define TERN_CORE_FUTURE_H

#include <stddef.h>
#include <stdint.h>

#include "core/pe.h"

/* What made a future: said when the job stalls with coroutines waiting on it. */
typedef enum {
    CORE_FUT_USER = 0,    /* tern_future_create */
    CORE_FUT_CALL = 1,    /* tern_call (the entry method called is recorded) */
    CORE_FUT_AWAIT = 2,   /* tern_await_created */
    CORE_FUT_QD = 3,      /* tern_qd_wait */
} core_fut_origin_t;

/* Futures expecting more values than this are refused (their slot table alone would
 * take gigabytes). Futures that count empty answers only have no such limit. */
#define CORE_FUT_MAX_SLOTS ((uint64_t)TERN_FUTURE_MAX_VALUES)

/* A future of this PE for n values. `counts_only`: it will only ever get empty values
 * (completions), so it needs no slot per value. `callee`: the entry method of a
 * tern_call (NULL otherwise). Errors are logged for `call`. */
tern_status_t core_future_new(core_pe_t *pe, const char *call, uint64_t n, int counts_only,
                              core_fut_origin_t origin, const struct core_ep *callee,
                              tern_future_t *out);
/* Give f `count` values: one of len bytes at `slot` (-1: the first free slot), or, with
 * count > 1, that many empty values. From any PE. */
void core_future_answer(core_pe_t *pe, const tern_future_t *f, int64_t slot, uint32_t count,
                        const void *data, size_t len);
void core_future_answer_error(core_pe_t *pe, const tern_future_t *f, int err_pe,
                              const char *msg);
void core_h_fut_set(core_pe_t *pe, tern_msg_t *m);
void core_futures_free(core_pe_t *pe);
/* One line on future `id` of this PE for a stall report: what made it, where, and how
 * many of its values came. */
void core_future_describe(core_pe_t *pe, uint64_t id, char *buf, size_t cap);

/* A coroutine of this PE waiting for something that core_waiters_wake() signals. The
 * nodes live on the waiting coroutine's stack. */
typedef struct core_waiter {
    core_ult_t *ult;
    struct core_waiter *next;
} core_waiter_t;

/* The running coroutine, or NULL after logging "<call>: ... outside a coroutine". */
core_ult_t *core_need_coroutine(core_pe_t *pe, const char *call);
/* Wait (suspended) on list *head until woken; `what` and `id`, `aux` say what for (a
 * core_wait_kind_t and its object) in a stall report. */
void core_wait_on(core_pe_t *pe, core_waiter_t **head, int what, uint64_t id, uint64_t aux);
/* Wake every waiter of the list and empty it. */
void core_waiters_wake(core_pe_t *pe, core_waiter_t **head);

#endif
