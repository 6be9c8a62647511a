#include "transports/shm/shm_heap.h"

#include <stdlib.h>

#define NIL UINT32_MAX

static unsigned ilog2_ceil(uint64_t v)
{
    unsigned k = 0;
    while ((1ULL << k) < v)
        k++;
    return k;
}

static void list_push(shm_heap_t *h, unsigned order, uint32_t u)
{
    uint32_t head = h->heads[order];
    h->next[u] = head;
    h->prev[u] = NIL;
    if (head != NIL)
        h->prev[head] = u;
    h->heads[order] = u;
    h->order[u] = (uint8_t)order;
    h->is_free[u] = 1;
}

static void list_remove(shm_heap_t *h, unsigned order, uint32_t u)
{
    if (h->prev[u] != NIL)
        h->next[h->prev[u]] = h->next[u];
    else
        h->heads[order] = h->next[u];
    if (h->next[u] != NIL)
        h->prev[h->next[u]] = h->prev[u];
    h->is_free[u] = 0;
}

tern_status_t shm_heap_init(shm_heap_t *h, uint64_t size, uint64_t min_block)
{
    if (size == 0 || (size & (size - 1)) || min_block == 0 || (min_block & (min_block - 1)) ||
        min_block > size || size / min_block > UINT32_MAX / 2)
        return TERN_ERR_INVALID;
    h->size = size;
    h->min_order = ilog2_ceil(min_block);
    h->max_order = ilog2_ceil(size);
    h->nunits = (uint32_t)(size >> h->min_order);
    h->next = malloc(h->nunits * sizeof *h->next);
    h->prev = malloc(h->nunits * sizeof *h->prev);
    h->order = malloc(h->nunits);
    h->is_free = calloc(h->nunits, 1);
    if (!h->next || !h->prev || !h->order || !h->is_free) {
        shm_heap_fini(h);
        return TERN_ERR_NOMEM;
    }
    for (unsigned i = 0; i < 64; i++)
        h->heads[i] = NIL;
    h->bytes_used = 0;
    list_push(h, h->max_order, 0);
    return TERN_OK;
}

void shm_heap_fini(shm_heap_t *h)
{
    free(h->next);
    free(h->prev);
    free(h->order);
    free(h->is_free);
    h->next = h->prev = NULL;
    h->order = h->is_free = NULL;
}

uint64_t shm_heap_alloc(shm_heap_t *h, uint64_t bytes)
{
    if (bytes > h->size)
        return SHM_HEAP_NOBLOCK;
    unsigned want = ilog2_ceil(bytes);
    if (want < h->min_order)
        want = h->min_order;
    unsigned o = want;
    while (o <= h->max_order && h->heads[o] == NIL)
        o++;
    if (o > h->max_order)
        return SHM_HEAP_NOBLOCK;
    uint32_t u = h->heads[o];
    list_remove(h, o, u);
    while (o > want) {
        o--;
        list_push(h, o, u + (1u << (o - h->min_order)));
    }
    h->order[u] = (uint8_t)want;
    h->bytes_used += 1ULL << want;
    return (uint64_t)u << h->min_order;
}

void shm_heap_free(shm_heap_t *h, uint64_t off)
{
    uint32_t u = (uint32_t)(off >> h->min_order);
    unsigned o = h->order[u];
    h->bytes_used -= 1ULL << o;
    while (o < h->max_order) {
        uint32_t buddy = u ^ (1u << (o - h->min_order));
        if (!h->is_free[buddy] || h->order[buddy] != o)
            break;
        list_remove(h, o, buddy);
        if (buddy < u)
            u = buddy;
        o++;
    }
    list_push(h, o, u);
}
