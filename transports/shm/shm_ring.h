/*
 * A single-producer single-consumer byte ring in shared memory, carrying variable-length
 * records. Each side keeps its own cursor in private memory and a cached copy of the
 * other's, so the shared cache lines are touched only when a cached view runs out.
 *
 * A record is a 16-byte header then its body, padded to 16 bytes, so bodies are 16-byte
 * aligned. A record never wraps: when it does not fit before the end, a WRAP record fills
 * the tail and the record starts at offset 0.
 */
#ifndef TERN_SHM_RING_H
#define TERN_SHM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SHM_CACHELINE 64
#define SHM_REC_ALIGN 16u

enum { SHM_REC_WRAP = 0, SHM_REC_DATA = 1, SHM_REC_HEAP = 2 };

typedef struct {
    uint32_t len; /* body bytes */
    uint32_t tag; /* SHM_REC_* */
    uint64_t reserved;
} shm_rec_t;

/* Shared part. `data` follows the structure; its size is a power of two. */
typedef struct {
    _Alignas(SHM_CACHELINE) _Atomic uint64_t tail; /* written by the producer */
    _Alignas(SHM_CACHELINE) _Atomic uint64_t head; /* written by the consumer */
    _Alignas(SHM_CACHELINE) unsigned char data[];
} shm_ring_t;

typedef struct {
    shm_ring_t *ring;
    uint64_t size; /* bytes of data, power of two */
    uint64_t tail;
    uint64_t head_cache;
    uint64_t pending; /* bytes of the reserved record, 0 if none */
} shm_ring_prod_t;

typedef struct {
    shm_ring_t *ring;
    uint64_t size;
    uint64_t head;
    uint64_t tail_cache;
} shm_ring_cons_t;

static inline size_t shm_ring_bytes(uint64_t size) { return sizeof(shm_ring_t) + size; }

static inline uint64_t shm_rec_span(uint64_t len)
{
    return sizeof(shm_rec_t) + ((len + SHM_REC_ALIGN - 1) & ~(uint64_t)(SHM_REC_ALIGN - 1));
}

/* Largest body a ring of `size` bytes can ever take. */
static inline uint64_t shm_ring_max_body(uint64_t size) { return size / 2 - sizeof(shm_rec_t); }

static inline void shm_ring_prod_init(shm_ring_prod_t *p, shm_ring_t *r, uint64_t size)
{
    p->ring = r;
    p->size = size;
    p->tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    p->head_cache = atomic_load_explicit(&r->head, memory_order_acquire);
    p->pending = 0;
}

static inline void shm_ring_cons_init(shm_ring_cons_t *c, shm_ring_t *r, uint64_t size)
{
    c->ring = r;
    c->size = size;
    c->head = atomic_load_explicit(&r->head, memory_order_relaxed);
    c->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
}

/*
 * Reserve room for a body of `len` bytes; returns where to write it, or NULL when the ring
 * is too full now. Publish with shm_ring_commit(); nothing is visible before.
 */
static inline void *shm_ring_reserve(shm_ring_prod_t *p, uint64_t len)
{
    uint64_t span = shm_rec_span(len);
    uint64_t off = p->tail & (p->size - 1);
    uint64_t contig = p->size - off;
    uint64_t need = span <= contig ? span : contig + span;
    if (p->tail + need - p->head_cache > p->size) {
        p->head_cache = atomic_load_explicit(&p->ring->head, memory_order_acquire);
        if (p->tail + need - p->head_cache > p->size)
            return NULL;
    }
    if (span > contig) {
        shm_rec_t *w = (shm_rec_t *)(p->ring->data + off);
        w->len = (uint32_t)(contig - sizeof(shm_rec_t));
        w->tag = SHM_REC_WRAP;
        p->tail += contig;
        off = 0;
    }
    shm_rec_t *h = (shm_rec_t *)(p->ring->data + off);
    h->len = (uint32_t)len;
    p->pending = span;
    return h + 1;
}

static inline void shm_ring_commit(shm_ring_prod_t *p, uint32_t tag)
{
    shm_rec_t *h = (shm_rec_t *)(p->ring->data + (p->tail & (p->size - 1)));
    h->tag = tag;
    p->tail += p->pending;
    p->pending = 0;
    atomic_store_explicit(&p->ring->tail, p->tail, memory_order_release);
}

/* Give up a reservation (the WRAP filler, if one was written, stays: it is harmless once
 * published by a later commit). */
static inline void shm_ring_cancel(shm_ring_prod_t *p) { p->pending = 0; }

/* The next record's body, or NULL when the ring is empty. */
static inline void *shm_ring_peek(shm_ring_cons_t *c, uint32_t *len, uint32_t *tag)
{
    for (;;) {
        if (c->head == c->tail_cache) {
            c->tail_cache = atomic_load_explicit(&c->ring->tail, memory_order_acquire);
            if (c->head == c->tail_cache)
                return NULL;
        }
        shm_rec_t *h = (shm_rec_t *)(c->ring->data + (c->head & (c->size - 1)));
        if (h->tag == SHM_REC_WRAP) {
            c->head += sizeof(shm_rec_t) + h->len;
            continue;
        }
        *len = h->len;
        *tag = h->tag;
        return h + 1;
    }
}

/* Consume the record returned by the last peek; its memory may be reused at once. */
static inline void shm_ring_pop(shm_ring_cons_t *c, uint32_t len)
{
    c->head += shm_rec_span(len);
    atomic_store_explicit(&c->ring->head, c->head, memory_order_release);
}

static inline int shm_ring_empty(shm_ring_cons_t *c)
{
    return c->head == atomic_load_explicit(&c->ring->tail, memory_order_acquire);
}

#endif
