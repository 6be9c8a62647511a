#include "core/sched.h"

#include <stdlib.h>

void core_sched_init(core_sched_t *q)
{
    q->head = q->tail = NULL;
    q->heap = NULL;
    q->nheap = q->heap_cap = 0;
    q->seq = 0;
    q->count = 0;
}

void core_sched_fini(core_sched_t *q)
{
    free(q->heap);
    core_sched_init(q);
}

static inline int before(const tern_msg_t *a, const tern_msg_t *b)
{
    if (a->hdr.prio != b->hdr.prio)
        return a->hdr.prio < b->hdr.prio;
    return a->seq < b->seq;
}

tern_status_t core_sched_push(core_sched_t *q, tern_msg_t *m)
{
    m->seq = q->seq++;
    if (m->hdr.prio == 0) {
        m->next = NULL;
        if (q->tail)
            q->tail->next = m;
        else
            q->head = m;
        q->tail = m;
        q->count++;
        return TERN_OK;
    }
    if (q->nheap == q->heap_cap) {
        size_t ncap = q->heap_cap ? q->heap_cap * 2 : 64;
        tern_msg_t **n = realloc(q->heap, ncap * sizeof *n);
        if (!n)
            return TERN_ERR_NOMEM;
        q->heap = n;
        q->heap_cap = ncap;
    }
    size_t i = q->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(m, q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = m;
    q->count++;
    return TERN_OK;
}

static tern_msg_t *heap_pop(core_sched_t *q)
{
    tern_msg_t *top = q->heap[0];
    tern_msg_t *last = q->heap[--q->nheap];
    size_t i = 0, n = q->nheap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(q->heap[c + 1], q->heap[c]))
            c++;
        if (!before(q->heap[c], last))
            break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (n)
        q->heap[i] = last;
    return top;
}

tern_msg_t *core_sched_pop(core_sched_t *q)
{
    tern_msg_t *m;
    /* A queued priority-0 message goes before a heap entry of positive priority, and
     * after one of negative priority; equal priorities cannot meet across the two. */
    if (q->nheap && (q->heap[0]->hdr.prio < 0 || !q->head)) {
        m = heap_pop(q);
    } else if (q->head) {
        m = q->head;
        q->head = m->next;
        if (!q->head)
            q->tail = NULL;
    } else {
        return NULL;
    }
    q->count--;
    return m;
}
