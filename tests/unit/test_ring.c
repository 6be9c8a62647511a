/*
 * transports/shm/shm_ring.h: the single-producer single-consumer record ring.
 *
 * Single-threaded, against a model of the documented layout (a record is a 16-byte
 * header then its body padded to 16 bytes; a record that does not fit before the end of
 * the data area is preceded by a WRAP filler covering the rest and starts at offset 0):
 * the model predicts, for every reserve, whether it must succeed (record plus any filler
 * fits in the free space) and where the body goes; for every peek, which record comes
 * next with its length and tag; the bodies read back hold what was written. Sizes include
 * 0 and shm_ring_max_body; the rings are small so wrap-around, full rings and cancels
 * (also of reservations that wrote a filler) happen constantly; cursors also start near
 * 2^64 so the 64-bit counters wrap too.
 *
 * Two threads: a producer and a consumer move 200k records of random lengths through a
 * small ring; each record carries its sequence number, a checksum and a pattern derived
 * from its number, and the consumer checks order, length, tag and content.
 */
#include "transports/shm/shm_ring.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "check.h"

static unsigned char pattern(uint64_t n, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ (n + 1) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 31;
    return (unsigned char)(x >> 17);
}

static shm_ring_t *ring_new(uint64_t size, uint64_t start)
{
    shm_ring_t *r = aligned_alloc(64, shm_ring_bytes(size));
    memset(r, 0xCC, shm_ring_bytes(size)); /* no reliance on zeroed data */
    shm_ring_format(r, size, start);
    return r;
}

static uint64_t align16(uint64_t x) { return (x + 15) & ~(uint64_t)15; }

/* ---- single-threaded model ---- */

typedef struct {
    uint64_t abs;  /* stream position of the record header */
    uint32_t len, tag;
    uint64_t id;   /* content pattern number */
} mrec_t;

typedef struct {
    uint64_t size;
    uint64_t tail;    /* producer position, fillers included */
    uint64_t head;    /* consumer position (published) */
    mrec_t *q;        /* committed, not yet popped: a circular queue */
    size_t qh, qn, qcap;
} model_t;

static void mq_push(model_t *m, mrec_t r)
{
    m->q[(m->qh + m->qn) % m->qcap] = r;
    m->qn++;
}

typedef struct {
    shm_ring_t *ring;
    shm_ring_prod_t p;
    shm_ring_cons_t c;
    model_t m;
    uint64_t next_id;
} fixture_t;

static void fixture_init(fixture_t *f, uint64_t size, uint64_t start)
{
    f->ring = ring_new(size, start);
    shm_ring_prod_init(&f->p, f->ring, size);
    shm_ring_cons_init(&f->c, f->ring, size);
    f->m.size = size;
    f->m.tail = f->m.head = start;
    f->m.qcap = size / 16 + 1;
    f->m.q = malloc(f->m.qcap * sizeof *f->m.q);
    f->m.qh = f->m.qn = 0;
    f->next_id = 1;
}

static void fixture_fini(fixture_t *f)
{
    free(f->ring);
    free(f->m.q);
}

/*
 * Reserve len bytes on the ring and in the model; check the outcome. Returns the body
 * pointer (NULL when the ring was full, as the model must agree). *ok is cleared on a
 * mismatch.
 */
static void *do_reserve(fixture_t *f, uint64_t len, int *ok)
{
    model_t *m = &f->m;
    uint64_t span = 16 + align16(len);
    uint64_t off = m->tail % m->size, contig = m->size - off;
    int wrap = span > contig;
    uint64_t need = wrap ? contig + span : span;
    int fits = m->tail + need + 16 - m->head <= m->size; /* + the next header's slot */
    void *b = shm_ring_reserve(&f->p, len);
    *ok &= CHECK_EQ(b != NULL, fits);
    if (!b)
        return NULL;
    if (wrap)
        m->tail += contig; /* the filler stays, even if cancelled */
    *ok &= CHECK_EQ_PTR(b, f->ring->data + (m->tail % m->size) + 16);
    *ok &= CHECK(((uintptr_t)b & 15) == 0);
    return b;
}

static void do_commit(fixture_t *f, void *b, uint32_t len, uint32_t tag)
{
    uint64_t id = f->next_id++;
    unsigned char *p = b;
    for (uint32_t i = 0; i < len; i++)
        p[i] = pattern(id, i);
    shm_ring_commit(&f->p, tag);
    mq_push(&f->m, (mrec_t){f->m.tail, len, tag, id});
    f->m.tail += 16 + align16(len);
}

static void do_cancel(fixture_t *f, void *b, uint32_t len)
{
    memset(b, 0xEE, len);
    shm_ring_cancel(&f->p);
}

/* Peek (twice, must be stable) and pop the next record; check it against the model. */
static int do_pop(fixture_t *f)
{
    model_t *m = &f->m;
    int ok = 1;
    uint32_t len = 12345, tag = 999;
    void *b = shm_ring_peek(&f->c, &len, &tag);
    ok &= CHECK_EQ(shm_ring_empty(&f->c), m->qn == 0);
    if (m->qn == 0)
        return ok & CHECK_EQ_PTR(b, NULL);
    mrec_t r = m->q[m->qh];
    ok &= CHECK_EQ_PTR(b, f->ring->data + (r.abs % m->size) + 16);
    ok &= CHECK_EQ(len, r.len);
    ok &= CHECK_EQ(tag, r.tag);
    if (!ok)
        return 0;
    uint32_t len2 = 0, tag2 = 0;
    ok &= CHECK_EQ_PTR(shm_ring_peek(&f->c, &len2, &tag2), b);
    ok &= CHECK_EQ(len2, len);
    ok &= CHECK_EQ(tag2, tag);
    const unsigned char *p = b;
    for (uint32_t i = 0; i < len && ok; i++)
        if (p[i] != pattern(r.id, i))
            ok &= CHECK_EQ(p[i], pattern(r.id, i)); /* prints the first difference */
    shm_ring_pop(&f->c, len);
    m->qh = (m->qh + 1) % m->qcap;
    m->qn--;
    m->head = r.abs + 16 + align16(r.len);
    ok &= CHECK_EQ_U(atomic_load(&f->ring->head), m->head);
    return ok;
}

static uint64_t random_len(test_rng_t *rng, uint64_t maxb)
{
    uint64_t d = rng_below(rng, 100);
    if (d < 10)
        return 0;
    if (d < 15)
        return maxb;
    if (d < 50)
        return rng_below(rng, 48 < maxb ? 48 : maxb + 1);
    if (d < 60)
        return 16 * rng_below(rng, maxb / 16 + 1); /* multiples of the alignment */
    return rng_below(rng, maxb + 1);
}

static int random_session(uint64_t size, uint64_t start, uint64_t seed, int ops)
{
    fixture_t f;
    fixture_init(&f, size, start);
    test_rng_t rng;
    rng_seed(&rng, seed);
    const uint64_t maxb = shm_ring_max_body(size);
    int ok = 1;
    int pushp = 50;
    for (int op = 0; op < ops && ok; op++) {
        if (op % 2000 == 0)
            pushp = (int)rng_range(&rng, 20, 80); /* drift between mostly full / empty */
        if (rng_chance(&rng, (unsigned)pushp, 100)) {
            uint64_t len = random_len(&rng, maxb);
            void *b = do_reserve(&f, len, &ok);
            if (!b)
                continue;
            if (rng_chance(&rng, 1, 6))
                do_cancel(&f, b, (uint32_t)len);
            else
                do_commit(&f, b, (uint32_t)len, rng_chance(&rng, 1, 2) ? SHM_REC_DATA : SHM_REC_HEAP);
        } else {
            ok &= do_pop(&f);
        }
    }
    /* drain; then the largest body must fit wherever the cursors are */
    while (ok && f.m.qn)
        ok &= do_pop(&f);
    ok &= do_pop(&f); /* empty */
    for (int i = 0; i < 64 && ok; i++) {
        void *b = do_reserve(&f, maxb, &ok);
        ok &= CHECK(b != NULL);
        if (!b)
            break;
        do_commit(&f, b, (uint32_t)maxb, SHM_REC_DATA);
        ok &= do_pop(&f);
        /* move the cursors by a random amount */
        uint64_t len = rng_below(&rng, maxb + 1);
        b = do_reserve(&f, len, &ok);
        if (b) {
            do_commit(&f, b, (uint32_t)len, SHM_REC_DATA);
            ok &= do_pop(&f);
        }
    }
    fixture_fini(&f);
    if (!ok)
        fprintf(stderr, "  (ring size %llu, start %llu, seed %llu)\n", (unsigned long long)size,
                (unsigned long long)start, (unsigned long long)seed);
    return ok;
}

/* Hand-written expectations on a 256-byte ring. */
static void test_fixed(void)
{
    fixture_t f;
    fixture_init(&f, 256, 0);
    unsigned char *D = f.ring->data;
    uint32_t len, tag;
    CHECK_EQ_U(shm_ring_max_body(256), 112);
    CHECK_EQ_PTR(shm_ring_peek(&f.c, &len, &tag), NULL);
    CHECK(shm_ring_empty(&f.c));

    void *b = shm_ring_reserve(&f.p, 0); /* empty record */
    CHECK_EQ_PTR(b, D + 16);
    CHECK_EQ_PTR(shm_ring_peek(&f.c, &len, &tag), NULL); /* not visible before commit */
    shm_ring_commit(&f.p, SHM_REC_HEAP);
    CHECK(!shm_ring_empty(&f.c));
    CHECK_EQ_PTR(shm_ring_peek(&f.c, &len, &tag), D + 16);
    CHECK_EQ(len, 0);
    CHECK_EQ(tag, SHM_REC_HEAP);
    shm_ring_pop(&f.c, len); /* head 16 */
    CHECK(shm_ring_empty(&f.c));

    b = shm_ring_reserve(&f.p, 112); /* at 16, span 128: tail 144 */
    CHECK_EQ_PTR(b, D + 32);
    memset(b, 1, 112);
    shm_ring_commit(&f.p, SHM_REC_DATA);
    /* at 144 only 112 bytes remain: 112 filler + 128 record = 240 > 256 - 128 free */
    CHECK_EQ_PTR(shm_ring_reserve(&f.p, 112), NULL);
    CHECK_EQ_PTR(shm_ring_reserve(&f.p, 97), NULL);
    /* 96 fits before the end (span 112) */
    b = shm_ring_reserve(&f.p, 96);
    CHECK_EQ_PTR(b, D + 160);
    shm_ring_cancel(&f.p);
    /* consume the 112-byte record: head 144, now the wrapping record fits */
    CHECK_EQ_PTR(shm_ring_peek(&f.c, &len, &tag), D + 32);
    CHECK_EQ(len, 112);
    shm_ring_pop(&f.c, len);
    b = shm_ring_reserve(&f.p, 112);
    CHECK_EQ_PTR(b, D + 16); /* after a filler, at offset 0 */
    memset(b, 2, 112);
    shm_ring_cancel(&f.p); /* filler stays (unpublished) */
    CHECK_EQ_PTR(shm_ring_peek(&f.c, &len, &tag), NULL);
    b = shm_ring_reserve(&f.p, 5);
    CHECK_EQ_PTR(b, D + 16);
    memcpy(b, "hello", 5);
    shm_ring_commit(&f.p, SHM_REC_DATA);
    /* the consumer skips the filler */
    b = shm_ring_peek(&f.c, &len, &tag);
    CHECK_EQ_PTR(b, D + 16);
    CHECK_EQ(len, 5);
    CHECK_EQ(tag, SHM_REC_DATA);
    if (b)
        CHECK_MEM(b, "hello", 5);
    shm_ring_pop(&f.c, len);
    CHECK(shm_ring_empty(&f.c));
    CHECK_EQ_U(atomic_load(&f.ring->head), 256 + 32);

    /* fill the ring with 16-byte records (span 32): with the slot kept for the next
     * header, 7 fit (224 bytes); 32 remain: an empty record (span 16) and its next slot
     * fit, a 1-byte one (span 32) does not */
    for (int i = 0; i < 7; i++) {
        b = shm_ring_reserve(&f.p, 16);
        CHECK(b != NULL);
        if (b) {
            memset(b, i, 16);
            shm_ring_commit(&f.p, SHM_REC_DATA);
        }
    }
    CHECK_EQ_PTR(shm_ring_reserve(&f.p, 1), NULL);
    b = shm_ring_reserve(&f.p, 0);
    CHECK(b != NULL);
    shm_ring_cancel(&f.p);
    for (int i = 0; i < 7; i++) {
        b = shm_ring_peek(&f.c, &len, &tag);
        CHECK(b != NULL);
        if (!b)
            break;
        unsigned char want[16];
        memset(want, i, 16);
        CHECK_EQ(len, 16);
        CHECK_MEM(b, want, 16);
        shm_ring_pop(&f.c, len);
        if (i == 0) {
            /* one popped: 64 bytes free, a record of span 48 and its next slot fit */
            CHECK_EQ_PTR(shm_ring_reserve(&f.p, 33), NULL);
            b = shm_ring_reserve(&f.p, 32);
            CHECK(b != NULL);
            shm_ring_cancel(&f.p);
        }
    }
    CHECK(shm_ring_empty(&f.c));
    fixture_fini(&f);
}

/* ---- two threads ---- */

#define STRESS_RECORDS 200000
#define STRESS_SIZE (16u << 10)

typedef struct {
    shm_ring_t *ring;
    uint64_t size;
    _Atomic int stop;
    uint64_t received;
    unsigned long bad;
    uint64_t prod_tail;
} stress_t;

static uint64_t fnv(const unsigned char *p, uint64_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Record number i: length and tag, from a stream both threads generate alike. */
static void stress_shape(test_rng_t *rng, uint64_t maxb, uint32_t *len, uint32_t *tag)
{
    uint64_t d = rng_below(rng, 100);
    *len = (uint32_t)(d < 5 ? 0 : d < 8 ? maxb : d < 70 ? rng_below(rng, 64) : rng_below(rng, 1200));
    *tag = rng_chance(rng, 1, 3) ? SHM_REC_HEAP : SHM_REC_DATA;
}

static void *producer(void *arg)
{
    stress_t *s = arg;
    shm_ring_prod_t p;
    shm_ring_prod_init(&p, s->ring, s->size);
    test_rng_t shape, noise;
    rng_seed(&shape, 99);
    rng_seed(&noise, 100);
    const uint64_t maxb = shm_ring_max_body(s->size);
    for (uint64_t i = 0; i < STRESS_RECORDS && !atomic_load(&s->stop); i++) {
        uint32_t len, tag;
        stress_shape(&shape, maxb, &len, &tag);
        /* now and then a reservation that is abandoned */
        if (rng_chance(&noise, 1, 50)) {
            void *junk = shm_ring_reserve(&p, rng_below(&noise, maxb + 1));
            if (junk) {
                memset(junk, 0xEE, 8);
                shm_ring_cancel(&p);
            }
        }
        unsigned char *b;
        while (!(b = shm_ring_reserve(&p, len))) {
            if (atomic_load(&s->stop))
                return NULL;
            sched_yield();
        }
        if (len >= 16) {
            for (uint32_t j = 16; j < len; j++)
                b[j] = pattern(i, j);
            uint64_t sum = fnv(b + 16, len - 16);
            memcpy(b, &i, 8);
            memcpy(b + 8, &sum, 8);
        } else {
            for (uint32_t j = 0; j < len; j++)
                b[j] = pattern(i, j);
        }
        shm_ring_commit(&p, tag);
    }
    s->prod_tail = p.tail;
    return NULL;
}

static void *consumer(void *arg)
{
    stress_t *s = arg;
    shm_ring_cons_t c;
    shm_ring_cons_init(&c, s->ring, s->size);
    test_rng_t shape;
    rng_seed(&shape, 99);
    const uint64_t maxb = shm_ring_max_body(s->size);
    for (uint64_t i = 0; i < STRESS_RECORDS; i++) {
        uint32_t want_len, want_tag, len, tag;
        stress_shape(&shape, maxb, &want_len, &want_tag);
        const unsigned char *b;
        while (!(b = shm_ring_peek(&c, &len, &tag)))
            sched_yield();
        int ok = len == want_len && tag == want_tag && ((uintptr_t)b & 15) == 0;
        if (ok && len >= 16) {
            uint64_t seq, sum;
            memcpy(&seq, b, 8);
            memcpy(&sum, b + 8, 8);
            ok = seq == i && sum == fnv(b + 16, len - 16);
            for (uint32_t j = 16; j < len && ok; j++)
                ok = b[j] == pattern(i, j);
        } else {
            for (uint32_t j = 0; j < len && ok; j++)
                ok = b[j] == pattern(i, j);
        }
        if (!ok) {
            if (s->bad++ == 0)
                fprintf(stderr, "record %llu: len %u (want %u), tag %u (want %u), or content "
                        "wrong\n", (unsigned long long)i, len, want_len, tag, want_tag);
            atomic_store(&s->stop, 1);
            return NULL;
        }
        shm_ring_pop(&c, len);
        s->received++;
    }
    return NULL;
}

static void test_threads(void)
{
    stress_t s = {0};
    s.size = STRESS_SIZE;
    s.ring = ring_new(s.size, 0);
    atomic_init(&s.stop, 0);
    pthread_t tp, tc;
    double t0 = check_now();
    CHECK_EQ(pthread_create(&tc, NULL, consumer, &s), 0);
    CHECK_EQ(pthread_create(&tp, NULL, producer, &s), 0);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    double dt = check_now() - t0;
    CHECK_EQ_U(s.bad, 0);
    CHECK_EQ_U(s.received, STRESS_RECORDS);
    CHECK_EQ_U(atomic_load(&s.ring->head), s.prod_tail); /* everything consumed */
    printf("two threads: %d records through a %u-byte ring in %.3f s\n", STRESS_RECORDS,
           STRESS_SIZE, dt);
    free(s.ring);
}

int main(void)
{
    check_start();
    /* the model's assumptions about the layout */
    CHECK_EQ_U(sizeof(shm_rec_t), 16);
    CHECK_EQ_U(shm_rec_span(0), 16);
    CHECK_EQ_U(shm_rec_span(1), 32);
    CHECK_EQ_U(shm_rec_span(16), 32);
    CHECK_EQ_U(shm_rec_span(17), 48);
    CHECK(((uintptr_t)offsetof(shm_ring_t, data) & 63) == 0);

    test_fixed();
    static const uint64_t sizes[] = {64, 256, 1024, 4096, 65536};
    const uint64_t near_wrap = (UINT64_MAX - 100000) & ~(uint64_t)15;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        random_session(sizes[i], 0, 1000 + i, 60000);
        random_session(sizes[i], 48, 2000 + i, 30000);
        random_session(sizes[i], near_wrap, 3000 + i, 60000); /* 64-bit cursors wrap */
    }
    test_threads();
    return check_finish("unit.ring");
}
