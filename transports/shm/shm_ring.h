/*
 * A single-producer single-consumer byte ring in shared memory, carrying variable-length
 * records. Each side keeps its own cursor in private memory.
 *
 * A record is a 16-byte header then its body, padded to 16 bytes, so bodies are 16-byte
 * aligned. A record never wraps: when it does not fit before the end, a WRAP record fills
 * the tail and the record starts at offset 0.
 *
 * The consumer learns of a new record from the record itself, not from a shared tail
 * counter: a header's first word (length and tag) is published last, with release, and
 * a zero word means "nothing yet". So a small message costs the consumer the cache lines
 * of the record and nothing else. For that to hold, the slot where the next header will
 * go must read zero before it is written: the ring starts zeroed at its first slot, and
 * the producer keeps the bytes from its tail up to a frontier (`zeroed`) zero, so the slot
 * after each record it publishes already reads "empty" (the producer reserves those 16
 * bytes too). Stale bytes of earlier laps are thus never taken for a header. The frontier
 * moves in strides of released memory (SHM_ZERO_AHEAD bytes), far from the slot the
 * consumer polls: zeroing one slot per record instead made the producer write, and wait
 * for, a cache line the caught-up consumer was reading. The consumer's head is shared so
 * that the producer knows what it may reuse.
 */
#ifndef TERN_SHM_RING_H
#define TERN_SHM_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SHM_CACHELINE 64
#define SHM_REC_ALIGN 16u
#define SHM_ZERO_AHEAD 4096u /* bytes zeroed ahead of the tail at a time, at most */

/* Record tags; 0 is reserved for "no record here yet". */
enum { SHM_REC_DATA = 1, SHM_REC_HEAP = 2, SHM_REC_WRAP = 3 };

typedef struct {
    _Atomic uint64_t word; /* body length (low 32 bits) and tag (high 32 bits) */
    uint64_t reserved;
} shm_rec_t;

/* Shared part. `data` follows the structure; its size is a power of two. */
typedef struct {
    _Alignas(SHM_CACHELINE) _Atomic uint64_t head; /* written by the consumer */
    _Alignas(SHM_CACHELINE) unsigned char data[];
} shm_ring_t;

typedef struct {
    shm_ring_t *ring;
    uint64_t size; /* bytes of data, power of two */
    uint64_t tail;
    uint64_t head_cache;
    uint64_t zeroed;  /* [tail, zeroed) reads zero; zeroed > tail */
    uint64_t pending; /* span of the reserved record, 0 if none */
    uint64_t len;     /* its body length */
} shm_ring_prod_t;

typedef struct {
    shm_ring_t *ring;
    uint64_t size;
    uint64_t head;
} shm_ring_cons_t;

static inline shm_rec_t *shm_ring_slot(shm_ring_t *r, uint64_t size, uint64_t pos)
{
    return (shm_rec_t *)(r->data + (pos & (size - 1)));
}

static inline size_t shm_ring_bytes(uint64_t size) { return sizeof(shm_ring_t) + size; }

static inline uint64_t shm_rec_span(uint64_t len)
{
    return sizeof(shm_rec_t) + ((len + SHM_REC_ALIGN - 1) & ~(uint64_t)(SHM_REC_ALIGN - 1));
}

/* Largest body a ring of `size` bytes can ever take. */
static inline uint64_t shm_ring_max_body(uint64_t size) { return size / 2 - sizeof(shm_rec_t); }

/* Make an empty ring whose streams start at position `start`; done once, by its creator,
 * before either side attaches. The rest of `data` may hold anything. */
static inline void shm_ring_format(shm_ring_t *r, uint64_t size, uint64_t start)
{
    atomic_store_explicit(&shm_ring_slot(r, size, start)->word, 0, memory_order_relaxed);
    atomic_store_explicit(&r->head, start, memory_order_release);
}

/* Both sides attach to an empty ring (the producer starts where the consumer is). */
static inline void shm_ring_prod_init(shm_ring_prod_t *p, shm_ring_t *r, uint64_t size)
{
    p->ring = r;
    p->size = size;
    p->tail = atomic_load_explicit(&r->head, memory_order_acquire);
    p->head_cache = p->tail;
    p->zeroed = p->tail + sizeof(shm_rec_t); /* shm_ring_format zeroed that slot */
    p->pending = 0;
    p->len = 0;
}

static inline void shm_ring_cons_init(shm_ring_cons_t *c, shm_ring_t *r, uint64_t size)
{
    c->ring = r;
    c->size = size;
    c->head = atomic_load_explicit(&r->head, memory_order_acquire);
}

static inline uint64_t shm_rec_word(uint64_t len, uint32_t tag)
{
    return len | (uint64_t)tag << 32;
}

/* Zero the next `n` ring bytes from p->zeroed; the caller knows the consumer has released
 * them. (Positions are compared by difference: streams may start anywhere, even close to
 * the end of uint64_t.) */
static inline void shm_ring_zero_more(shm_ring_prod_t *p, uint64_t n)
{
    while (n) {
        uint64_t off = p->zeroed & (p->size - 1);
        uint64_t k = n < p->size - off ? n : p->size - off;
        memset(p->ring->data + off, 0, k);
        p->zeroed += k;
        n -= k;
    }
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
    /* The record, a filler when it must start over at offset 0, and the next slot. */
    uint64_t need = (span <= contig ? span : contig + span) + sizeof(shm_rec_t);
    if (p->tail + need - p->head_cache > p->size) {
        p->head_cache = atomic_load_explicit(&p->ring->head, memory_order_acquire);
        if (p->tail + need - p->head_cache > p->size)
            return NULL;
    }
    uint64_t have = p->zeroed - p->tail;
    if (have < need) {
        /* Zero a stride ahead, but only what the consumer has released. The release
         * ordering of the header stores below keeps these zeros ahead of any record that
         * sends the consumer to them. */
        uint64_t want = need + SHM_ZERO_AHEAD;
        uint64_t room = p->head_cache + p->size - p->tail;
        shm_ring_zero_more(p, (want < room ? want : room) - have);
    }
    if (span > contig) {
        /* The slot at offset 0 is free and zeroed (reserved above) before the filler that
         * sends the consumer there becomes visible. */
        atomic_store_explicit(&shm_ring_slot(p->ring, p->size, p->tail)->word,
                              shm_rec_word(contig - sizeof(shm_rec_t), SHM_REC_WRAP),
                              memory_order_release);
        p->tail += contig;
    }
    p->pending = span;
    p->len = len;
    return shm_ring_slot(p->ring, p->size, p->tail) + 1;
}

static inline void shm_ring_commit(shm_ring_prod_t *p, uint32_t tag)
{
    shm_rec_t *h = shm_ring_slot(p->ring, p->size, p->tail);
    atomic_store_explicit(&h->word, shm_rec_word(p->len, tag), memory_order_release);
    p->tail += p->pending;
    p->pending = 0;
}

/* Give up a reservation (a filler, if one was needed, stays: the consumer skips it and
 * finds an empty slot). The caller may have written into the body, so only the slot at
 * the tail still counts as zeroed. */
static inline void shm_ring_cancel(shm_ring_prod_t *p)
{
    p->pending = 0;
    p->zeroed = p->tail + sizeof(shm_rec_t);
}

/* The next record's body, or NULL when the ring is empty. */
static inline void *shm_ring_peek(shm_ring_cons_t *c, uint32_t *len, uint32_t *tag)
{
    for (;;) {
        shm_rec_t *h = shm_ring_slot(c->ring, c->size, c->head);
        uint64_t w = atomic_load_explicit(&h->word, memory_order_acquire);
        uint32_t t = (uint32_t)(w >> 32);
        if (t == 0)
            return NULL;
        if (t == SHM_REC_WRAP) {
            c->head += sizeof(shm_rec_t) + (uint32_t)w;
            continue;
        }
        *len = (uint32_t)w;
        *tag = t;
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
    uint32_t len, tag;
    return shm_ring_peek(c, &len, &tag) == NULL;
}

#endif
