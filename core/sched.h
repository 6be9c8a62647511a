/*
 * The scheduler's queue of a PE: priority first (smaller runs first), then arrival order.
 * Most messages carry the default priority 0 and go through a plain FIFO; only messages
 * with another priority pay for the binary heap.
 */
#ifndef TERN_CORE_SCHED_H
#define TERN_CORE_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

typedef struct {
    tern_msg_t *head, *tail; /* priority 0, FIFO */
    tern_msg_t **heap;       /* other priorities, ordered by (prio, seq) */
    size_t nheap, heap_cap;
    uint64_t seq;
    size_t count;
} core_sched_t;

void core_sched_init(core_sched_t *q);
void core_sched_fini(core_sched_t *q);
/* TERN_ERR_NOMEM only when the heap cannot grow. */
tern_status_t core_sched_push(core_sched_t *q, tern_msg_t *m);
/* The next message to run, or NULL. */
tern_msg_t *core_sched_pop(core_sched_t *q);
static inline size_t core_sched_count(const core_sched_t *q) { return q->count; }

#endif
