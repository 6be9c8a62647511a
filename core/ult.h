/*
 * Coroutines (user-level threads) of one PE. The scheduler loop runs on the thread's own
 * stack; a coroutine runs on a stack from a per-PE pool (mmap'ed, with a PROT_NONE guard
 * region below it, large enough that a big frame cannot jump over it into a neighbouring
 * mapping) and gives control back only when it suspends or ends. Switching is a handful
 * of instructions (core/ult_ctx.h). A fault in a guard region, or one whose stack pointer
 * has left the running coroutine's stack downwards, ends the job with a message naming
 * the stack size and TERN_ULT_STACK_SIZE.
 *
 * Coroutines start from the scheduler (core_ult_start), suspend themselves
 * (core_ult_suspend) after registering somewhere that will wake them (core_ult_wake), and
 * run again when the scheduler drains the ready list (core_ult_run_ready).
 */
#ifndef TERN_CORE_ULT_H
#define TERN_CORE_ULT_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#include "core/ult_ctx.h"

typedef void (*core_ult_fn)(void *arg);

typedef enum {
    CORE_ULT_FREE = 0,
    CORE_ULT_RUNNING = 1,
    CORE_ULT_WAITING = 2,
    CORE_ULT_READY = 3,
    CORE_ULT_DONE = 4,
} core_ult_state_t;

/* What a waiting coroutine waits for (a stall report names it). */
typedef enum {
    CORE_WAIT_NONE = 0,
    CORE_WAIT_FUTURE = 1,  /* id: the future */
    CORE_WAIT_ITER = 2,    /* id: the iterator's first pending future, aux: how many */
    CORE_WAIT_REDUCE = 3,  /* id: the collection, aux: the reduction's number */
    CORE_WAIT_SLEEP = 4,   /* tern_sleep */
    CORE_WAIT_CHANNEL = 5, /* id: the other end's collection, aux: its key */
} core_wait_kind_t;

typedef struct core_ult {
    core_ctx_t ctx;
    struct core_ults *owner;
    core_ult_fn fn;
    void *arg;
    void *local;            /* the core's per-coroutine data (its invocation) */
    struct core_ult *next;  /* ready list or free list */
    struct core_ult *all_next, *all_prev; /* every coroutine with a stack (O(1) unlink) */
    unsigned char *map;     /* guard region (owner->guard bytes), then the stack */
    size_t map_len;
    int state;              /* core_ult_state_t */
    int wait_kind;          /* core_wait_kind_t, while WAITING */
    uint64_t wait_id, wait_aux;
    void *asan_fake;
} core_ult_t;

typedef struct core_ults {
    core_ult_t *cur;        /* running coroutine; NULL on the scheduler's stack */
    core_ctx_t sched;
    core_ult_t *ready_head, *ready_tail;
    core_ult_t *free;
    size_t nfree;
    core_ult_t *all;        /* every stack this PE mapped, for the overflow check */
    size_t stack_size;
    size_t guard;           /* bytes of PROT_NONE below each stack (address space only) */
    size_t page;
    uint64_t live;          /* started and not yet ended */
    uint64_t started;
    const void *sched_bottom; /* the scheduler's stack, for AddressSanitizer */
    size_t sched_size;
    void *sched_fake;
} core_ults_t;

/* stack_size: usable bytes of each stack (rounded up to pages). */
tern_status_t core_ults_init(core_ults_t *u, size_t stack_size);
/* Install the stack overflow handler again if something replaced it since
 * core_ults_init (libraries loaded while the transports opened). */
tern_status_t core_ults_rearm(void);
/* Unmap every stack. Coroutines still waiting are abandoned (the job is ending). */
void core_ults_fini(core_ults_t *u);

/* Run fn(arg) on a new coroutine, now when called from the scheduler (returns when it
 * suspends or ends), or next from the ready list when called from a coroutine. */
void core_ult_start(core_ults_t *u, core_ult_fn fn, void *arg, void *local);
/* From a coroutine: give control back to the scheduler until core_ult_wake(). */
void core_ult_suspend(core_ults_t *u);
/* From a coroutine: go to the end of the ready list and let the scheduler run. */
void core_ult_yield(core_ults_t *u);
/* Make a waiting coroutine ready (no effect on one that is ready or running). */
void core_ult_wake(core_ults_t *u, core_ult_t *t);
/* From the scheduler: run up to `max` ready coroutines; returns how many ran. */
int core_ult_run_ready(core_ults_t *u, int max);

static inline core_ult_t *core_ult_current(const core_ults_t *u) { return u->cur; }
static inline int core_ult_any_ready(const core_ults_t *u) { return u->ready_head != NULL; }

#endif
