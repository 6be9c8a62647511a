/*
 * transports/shm/shm_heap: the buddy allocator.
 *
 * A reference map with one byte per smallest block records which parts of the heap are
 * handed out. Every allocation must: be a block of the buddy size for the request (the
 * next power of two >= max(bytes, min_block)), aligned to that size, inside the heap,
 * and not overlap anything live; bytes_used must equal the sum of live block sizes.
 * Every failure (SHM_HEAP_NOBLOCK) must be justified: the reference map has no free,
 * aligned run of that size anywhere (with eager coalescing a buddy allocator finds such
 * a run whenever one exists, so the check is exact both ways). After everything is freed
 * (in random order) the whole heap is again one block. Also: exhaustion with smallest
 * blocks, LIFO reuse, invalid arguments, degenerate heaps.
 */
#include "transports/shm/shm_heap.h"

#include <stdlib.h>

#include "check.h"

typedef struct {
    shm_heap_t h;
    uint64_t size, minb, nunits;
    unsigned char *used; /* per smallest block: 1 if inside a live allocation */
    uint64_t live_bytes;
    /* live allocations */
    uint64_t *off, *bsz;
    size_t n, cap;
} fix_t;

static uint64_t pow2_at_least(uint64_t x)
{
    uint64_t p = 1;
    while (p < x)
        p <<= 1;
    return p;
}

static uint64_t log2_exact(uint64_t p)
{
    uint64_t k = 0;
    while ((1ULL << k) < p)
        k++;
    return k;
}

static int fix_init(fix_t *f, uint64_t size, uint64_t minb)
{
    memset(f, 0, sizeof *f);
    if (!CHECK_EQ(shm_heap_init(&f->h, size, minb), TERN_OK))
        return 0;
    f->size = size;
    f->minb = minb;
    f->nunits = size / minb;
    f->used = calloc(f->nunits, 1);
    f->cap = f->nunits;
    f->off = malloc(f->cap * sizeof *f->off);
    f->bsz = malloc(f->cap * sizeof *f->bsz);
    CHECK_EQ_U(f->h.bytes_used, 0);
    return 1;
}

static void fix_fini(fix_t *f)
{
    shm_heap_fini(&f->h);
    free(f->used);
    free(f->off);
    free(f->bsz);
}

/* Is there an aligned run of `bs` bytes that is entirely free in the reference map? */
static int ref_has_free_block(const fix_t *f, uint64_t bs)
{
    uint64_t units = bs / f->minb;
    for (uint64_t u = 0; u < f->nunits; u += units) {
        uint64_t i = 0;
        while (i < units && !f->used[u + i])
            i++;
        if (i == units)
            return 1;
    }
    return 0;
}

/* Allocate and check against the reference; returns 1 if a block was handed out. */
static int do_alloc(fix_t *f, uint64_t bytes, int *ok)
{
    uint64_t off = shm_heap_alloc(&f->h, bytes);
    uint64_t bs = pow2_at_least(bytes < f->minb ? f->minb : bytes);
    if (bytes > f->size) {
        *ok &= CHECK_EQ_U(off, SHM_HEAP_NOBLOCK);
        return 0;
    }
    if (off == SHM_HEAP_NOBLOCK) {
        /* justified only if no aligned free run of that size exists */
        *ok &= CHECK(!ref_has_free_block(f, bs));
        if (!*ok)
            fprintf(stderr, "  NOBLOCK for %llu bytes although a free block exists\n",
                    (unsigned long long)bytes);
        *ok &= CHECK_EQ_U(f->h.bytes_used, f->live_bytes);
        return 0;
    }
    *ok &= CHECK_EQ_U(off % bs, 0);          /* aligned to its block size */
    *ok &= CHECK(off < f->size && bs <= f->size - off); /* inside the heap */
    if (!*ok)
        return 0;
    for (uint64_t u = off / f->minb; u < (off + bs) / f->minb; u++) {
        if (f->used[u]) {
            *ok &= CHECK(!f->used[u]); /* overlaps a live block */
            fprintf(stderr, "  block [%llu, +%llu) overlaps a live one\n",
                    (unsigned long long)off, (unsigned long long)bs);
            return 0;
        }
        f->used[u] = 1;
    }
    f->off[f->n] = off;
    f->bsz[f->n] = bs;
    f->n++;
    f->live_bytes += bs;
    *ok &= CHECK_EQ_U(f->h.bytes_used, f->live_bytes);
    return 1;
}

/* Free live allocation number i. */
static void do_free(fix_t *f, size_t i, int *ok)
{
    uint64_t off = f->off[i], bs = f->bsz[i];
    /* scribble on nothing: the heap memory itself is not ours here, only offsets */
    shm_heap_free(&f->h, off);
    for (uint64_t u = off / f->minb; u < (off + bs) / f->minb; u++)
        f->used[u] = 0;
    f->live_bytes -= bs;
    f->off[i] = f->off[f->n - 1];
    f->bsz[i] = f->bsz[f->n - 1];
    f->n--;
    *ok &= CHECK_EQ_U(f->h.bytes_used, f->live_bytes);
}

static void free_all_random(fix_t *f, test_rng_t *rng, int *ok)
{
    while (f->n && *ok)
        do_free(f, (size_t)rng_below(rng, f->n), ok);
    *ok &= CHECK_EQ_U(f->h.bytes_used, 0);
}

/* With nothing live, the whole heap must be one block again (coalescing worked). */
static void check_whole(fix_t *f, int *ok)
{
    uint64_t off = shm_heap_alloc(&f->h, f->size);
    *ok &= CHECK_EQ_U(off, 0);
    *ok &= CHECK_EQ_U(f->h.bytes_used, f->size);
    if (off == 0) {
        CHECK_EQ_U(shm_heap_alloc(&f->h, 0), SHM_HEAP_NOBLOCK); /* nothing else left */
        shm_heap_free(&f->h, 0);
    }
    *ok &= CHECK_EQ_U(f->h.bytes_used, 0);
}

static uint64_t random_request(test_rng_t *rng, const fix_t *f)
{
    uint64_t d = rng_below(rng, 100);
    if (d < 5)
        return 0;
    if (d < 15)
        return f->minb;
    if (d < 45)
        return rng_range(rng, 1, (int64_t)(f->minb * 4));
    if (d < 60) /* an exact power of two */
        return 1ULL << rng_below(rng, log2_exact(f->size) + 1);
    if (d < 62)
        return f->size + (uint64_t)rng_range(rng, 0, 1); /* whole heap, or one byte too many */
    /* log-uniform up to the heap size */
    uint64_t top = 1ULL << rng_below(rng, log2_exact(f->size) + 1);
    return rng_range(rng, 1, (int64_t)top);
}

static void random_session(uint64_t size, uint64_t minb, uint64_t seed, int ops)
{
    fix_t f;
    if (!fix_init(&f, size, minb))
        return;
    test_rng_t rng;
    rng_seed(&rng, seed);
    int ok = 1, allocp = 60;
    uint64_t nfail = 0, nok = 0;
    for (int op = 0; op < ops && ok; op++) {
        if (op % 1000 == 0)
            allocp = (int)rng_range(&rng, 30, 85);
        if (f.n == 0 || rng_chance(&rng, (unsigned)allocp, 100)) {
            if (do_alloc(&f, random_request(&rng, &f), &ok))
                nok++;
            else
                nfail++;
        } else {
            do_free(&f, (size_t)rng_below(&rng, f.n), &ok);
        }
        if (op % 5000 == 4999) {
            free_all_random(&f, &rng, &ok);
            check_whole(&f, &ok);
        }
    }
    free_all_random(&f, &rng, &ok);
    check_whole(&f, &ok);
    /* the session exercised both outcomes */
    CHECK(nok > 100 && nfail > 100);
    if (!ok)
        fprintf(stderr, "  (heap %llu, min block %llu, seed %llu)\n", (unsigned long long)size,
                (unsigned long long)minb, (unsigned long long)seed);
    fix_fini(&f);
}

/* Allocate every smallest block, then the heap is exhausted; free in random order. */
static void exhaust(uint64_t size, uint64_t minb, uint64_t seed)
{
    fix_t f;
    if (!fix_init(&f, size, minb))
        return;
    test_rng_t rng;
    rng_seed(&rng, seed);
    int ok = 1;
    for (uint64_t i = 0; i < f.nunits && ok; i++)
        ok &= CHECK(do_alloc(&f, rng_range(&rng, 0, (int64_t)minb), &ok));
    ok &= CHECK_EQ_U(f.h.bytes_used, size);
    ok &= CHECK_EQ_U(shm_heap_alloc(&f.h, 0), SHM_HEAP_NOBLOCK);
    ok &= CHECK_EQ_U(shm_heap_alloc(&f.h, 1), SHM_HEAP_NOBLOCK);
    ok &= CHECK_EQ_U(f.h.bytes_used, size);
    /* free half, reallocate with twice the size where buddies allow */
    for (uint64_t i = 0; i < f.nunits / 2 && ok; i++)
        do_free(&f, (size_t)rng_below(&rng, f.n), &ok);
    for (int i = 0; i < 1000 && ok; i++)
        do_alloc(&f, minb * 2, &ok); /* each success or failure is checked exactly */
    free_all_random(&f, &rng, &ok);
    check_whole(&f, &ok);
    fix_fini(&f);
}

static void test_lifo(void)
{
    fix_t f;
    if (!fix_init(&f, 1 << 16, 64))
        return;
    int ok = 1;
    uint64_t offs[16];
    for (int i = 0; i < 16; i++) {
        do_alloc(&f, 64, &ok);
        offs[i] = f.off[f.n - 1];
    }
    /* free two blocks whose buddies stay allocated (no coalescing), the later freed one
     * comes back first */
    int a = -1, b = -1;
    for (int i = 0; i < 16 && b < 0; i++) {
        int buddy_live = 0;
        for (int j = 0; j < 16; j++)
            buddy_live |= offs[j] == (offs[i] ^ 64);
        if (!buddy_live)
            continue;
        if (a < 0)
            a = i;
        else if ((offs[i] ^ 64) != offs[a])
            b = i;
    }
    if (CHECK(a >= 0 && b >= 0)) {
        shm_heap_free(&f.h, offs[a]);
        shm_heap_free(&f.h, offs[b]);
        CHECK_EQ_U(shm_heap_alloc(&f.h, 64), offs[b]);
        CHECK_EQ_U(shm_heap_alloc(&f.h, 1), offs[a]);
        CHECK_EQ_U(f.h.bytes_used, 16 * 64);
    }
    for (int i = 0; i < 16; i++)
        shm_heap_free(&f.h, offs[i]);
    CHECK_EQ_U(f.h.bytes_used, 0);
    f.n = 0;
    f.live_bytes = 0;
    memset(f.used, 0, f.nunits);
    check_whole(&f, &ok);
    fix_fini(&f);
}

static void test_init_and_degenerate(void)
{
    shm_heap_t h;
    CHECK_EQ(shm_heap_init(&h, 0, 16), TERN_ERR_INVALID);
    CHECK_EQ(shm_heap_init(&h, 1000, 8), TERN_ERR_INVALID);  /* size not a power of two */
    CHECK_EQ(shm_heap_init(&h, 1024, 0), TERN_ERR_INVALID);
    CHECK_EQ(shm_heap_init(&h, 1024, 24), TERN_ERR_INVALID); /* min block not a power of 2 */
    CHECK_EQ(shm_heap_init(&h, 1024, 2048), TERN_ERR_INVALID);

    /* one block only */
    if (CHECK_EQ(shm_heap_init(&h, 4096, 4096), TERN_OK)) {
        CHECK_EQ_U(shm_heap_alloc(&h, 4097), SHM_HEAP_NOBLOCK);
        CHECK_EQ_U(shm_heap_alloc(&h, 1), 0);
        CHECK_EQ_U(h.bytes_used, 4096);
        CHECK_EQ_U(shm_heap_alloc(&h, 1), SHM_HEAP_NOBLOCK);
        shm_heap_free(&h, 0);
        CHECK_EQ_U(h.bytes_used, 0);
        CHECK_EQ_U(shm_heap_alloc(&h, 4096), 0);
        shm_heap_free(&h, 0);
        shm_heap_fini(&h);
    }
    /* a one-byte heap */
    if (CHECK_EQ(shm_heap_init(&h, 1, 1), TERN_OK)) {
        CHECK_EQ_U(shm_heap_alloc(&h, 2), SHM_HEAP_NOBLOCK);
        CHECK_EQ_U(shm_heap_alloc(&h, 0), 0);
        CHECK_EQ_U(h.bytes_used, 1);
        CHECK_EQ_U(shm_heap_alloc(&h, 0), SHM_HEAP_NOBLOCK);
        shm_heap_free(&h, 0);
        CHECK_EQ_U(shm_heap_alloc(&h, 1), 0);
        shm_heap_free(&h, 0);
        CHECK_EQ_U(h.bytes_used, 0);
        shm_heap_fini(&h);
    }
    /* huge requests never wrap around */
    if (CHECK_EQ(shm_heap_init(&h, 1 << 20, 64), TERN_OK)) {
        CHECK_EQ_U(shm_heap_alloc(&h, UINT64_MAX), SHM_HEAP_NOBLOCK);
        CHECK_EQ_U(shm_heap_alloc(&h, (1ULL << 63) + 1), SHM_HEAP_NOBLOCK);
        CHECK_EQ_U(shm_heap_alloc(&h, (1 << 20) + 1), SHM_HEAP_NOBLOCK);
        CHECK_EQ_U(h.bytes_used, 0);
        /* a hand-checked sequence: 64 B at 0, 128 B at 128, 64 B at 64 (the buddy) */
        CHECK_EQ_U(shm_heap_alloc(&h, 1), 0);
        CHECK_EQ_U(shm_heap_alloc(&h, 65), 128);
        CHECK_EQ_U(shm_heap_alloc(&h, 64), 64);
        CHECK_EQ_U(h.bytes_used, 256);
        shm_heap_free(&h, 0);
        shm_heap_free(&h, 64);
        shm_heap_free(&h, 128);
        CHECK_EQ_U(shm_heap_alloc(&h, 1 << 20), 0);
        shm_heap_free(&h, 0);
        shm_heap_fini(&h);
    }
}

int main(void)
{
    check_start();
    test_init_and_degenerate();
    test_lifo();
    exhaust(1 << 12, 16, 1);
    exhaust(1 << 16, 64, 2);
    exhaust(1 << 14, 1, 3);
    random_session(1 << 16, 16, 10, 200000);
    random_session(1 << 20, 1024, 11, 200000);
    random_session(1 << 12, 1, 12, 200000);
    random_session(1 << 24, 1 << 12, 13, 200000);
    return check_finish("unit.heap");
}
