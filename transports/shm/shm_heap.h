/*
 * Buddy allocator for a process's shared heap. Only the owning process allocates and
 * frees; the bookkeeping lives in its private memory, the blocks in shared memory. Freed
 * blocks are reused last-in first-out so the pages in use stay few and warm.
 */
#ifndef TERN_SHM_HEAP_H
#define TERN_SHM_HEAP_H

#include <stdint.h>

#include <tern/tern.h>

#define SHM_HEAP_NOBLOCK UINT64_MAX

typedef struct {
    uint64_t size;       /* bytes, power of two */
    unsigned min_order;  /* log2 of the smallest block */
    unsigned max_order;  /* log2(size) */
    uint32_t nunits;     /* size >> min_order */
    uint32_t *next;      /* free-list links, per unit */
    uint32_t *prev;
    uint8_t *order;      /* order of the block starting at this unit */
    uint8_t *is_free;
    uint32_t heads[64];  /* free list head per order, UINT32_MAX if empty */
    uint64_t bytes_used;
} shm_heap_t;

/* size and min_block are powers of two, min_block <= size. */
tern_status_t shm_heap_init(shm_heap_t *h, uint64_t size, uint64_t min_block);
void shm_heap_fini(shm_heap_t *h);
/* Offset of a block of at least `bytes`, or SHM_HEAP_NOBLOCK. */
uint64_t shm_heap_alloc(shm_heap_t *h, uint64_t bytes);
void shm_heap_free(shm_heap_t *h, uint64_t off);

#endif
