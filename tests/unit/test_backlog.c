/*
 * core/backlog: the per-destination queue of messages waiting to be sent, kept as they
 * go on the wire.
 *
 * A random mix of pushes (a packed header and a body copied from one buffer or from
 * several payload buffers, or a message handed over: small or large, holding transport
 * memory or not) and pops is checked against a plain reference queue: every message comes
 * out once, in order, as exactly the bytes the transport must send (the packed header,
 * then the body as core_body_fill lays it out); the counts and byte totals follow;
 * messages handed over are released (their transport reference exactly once) and the
 * pool's live count returns to 0 after pops and after a clear.
 */
#include "core/backlog.h"

#include <stdlib.h>

#include "check.h"
#include "core/handler.h"
#include "core/wire.h"

#define NREF 20000

typedef struct {
    uint64_t wire;        /* bytes the transport must send */
    unsigned char *bytes; /* what they must be */
} ref_t;

static ref_t refq[NREF];
static size_t ref_head, ref_tail;

typedef struct {
    tp_rx_ref_t base;
    int released;
} rx_t;

static void rx_release(tp_rx_ref_t *r) { ((rx_t *)r)->released++; }

static unsigned char pattern(uint64_t n, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ (n + 1) * 0xbf58476d1ce4e5b9ULL;
    return (unsigned char)(x >> 53);
}

static uint64_t random_len(test_rng_t *r)
{
    switch (rng_below(r, 6)) {
    case 0: return 0;
    case 1: return rng_below(r, 16);
    case 2: return rng_below(r, 200);
    case 3: return rng_range(r, CORE_BL_INLINE_MAX - 200, CORE_BL_INLINE_MAX + 100);
    case 4: return rng_below(r, 9000);
    default: return rng_below(r, 70000);
    }
}

/* Record what the transport must get: the packed header, then the body. */
static void ref_push(const unsigned char *wire, size_t wire_len, const unsigned char *body,
                     uint64_t body_len)
{
    ref_t *x = &refq[ref_tail++ % NREF];
    x->wire = wire_len + body_len;
    x->bytes = malloc(x->wire + 1);
    memcpy(x->bytes, wire, wire_len);
    if (body_len)
        memcpy(x->bytes + wire_len, body, body_len);
}

static int ref_check_front(const core_backlog_t *b)
{
    ref_t *x = &refq[ref_head % NREF];
    tern_iov_t iov[2];
    size_t total = 0;
    int n = core_bl_front(b, iov, &total);
    if (!CHECK(n >= 1 && n <= 2) || !CHECK_EQ_U(total, x->wire))
        return 0;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        if (!CHECK(off + iov[i].len <= x->wire) ||
            !CHECK_MEM(iov[i].base, x->bytes + off, iov[i].len))
            return 0;
        if (i == 0 && !CHECK(((uintptr_t)iov[0].base & 15) == 0))
            return 0;
        off += iov[i].len;
    }
    return CHECK_EQ_U(off, x->wire);
}

static void ref_pop(void)
{
    free(refq[ref_head++ % NREF].bytes);
}

static void test_random(void)
{
    test_rng_t rng;
    rng_seed(&rng, 42);
    core_pool_t pool;
    core_pool_init(&pool);
    core_backlog_t b = {0};
    rx_t rxs[64];
    int nrx = 0;
    uint64_t tag = 0, bytes = 0;
    for (int step = 0; step < 60000; step++) {
        int pop = ref_tail > ref_head && (rng_chance(&rng, 45, 100) || ref_tail - ref_head >= NREF);
        if (pop) {
            if (!ref_check_front(&b))
                return;
            bytes -= refq[ref_head % NREF].wire;
            core_bl_pop(&b, &pool);
            ref_pop();
        } else {
            core_hdr_t h;
            core_hdr_init(&h, CORE_K_ENTRY, 3);
            h.u.entry.cid = ++tag;
            h.ndims = (uint8_t)rng_below(&rng, TERN_MAX_DIMS + 1);
            _Alignas(16) unsigned char wire[CORE_WIRE_MAX];
            int how = (int)rng_below(&rng, 4);
            if (how == 1) { /* several payload buffers */
                int niov = (int)rng_range(&rng, 2, 5);
                tern_iov_t iov[5];
                unsigned char *bufs[5];
                for (int i = 0; i < niov; i++) {
                    iov[i].len = random_len(&rng) / 4;
                    bufs[i] = malloc(iov[i].len + 1);
                    for (uint64_t k = 0; k < iov[i].len; k++)
                        bufs[i][k] = pattern(tag * 7 + (uint64_t)i, k);
                    iov[i].base = bufs[i];
                }
                h.nsegs = (uint16_t)niov;
                h.body_len = core_body_len(iov, niov);
                size_t wl = core_hdr_encode(&h, wire);
                unsigned char *body = malloc(h.body_len + 1);
                core_body_fill(body, iov, niov);
                ref_push(wire, wl, body, h.body_len);
                CHECK_EQ(core_bl_push(&b, &pool, wire, wl, iov, niov, h.body_len), TERN_OK);
                bytes += wl + h.body_len;
                free(body);
                for (int i = 0; i < niov; i++)
                    free(bufs[i]);
            } else {
                h.nsegs = 1;
                h.body_len = random_len(&rng);
                size_t wl = core_hdr_encode(&h, wire);
                unsigned char *body = malloc(h.body_len + 1);
                for (uint64_t k = 0; k < h.body_len; k++)
                    body[k] = pattern(tag, k);
                ref_push(wire, wl, body, h.body_len);
                tern_iov_t raw = {body, h.body_len};
                if (how == 0) {
                    CHECK_EQ(core_bl_push(&b, &pool, wire, wl, &raw, h.body_len ? 1 : 0,
                                          h.body_len), TERN_OK);
                } else if (how == 2 || nrx == 64) { /* a message handed over */
                    tern_msg_t *m = core_msg_alloc(&pool, h.body_len);
                    m->hdr = h;
                    memcpy(m->body, body, h.body_len);
                    CHECK_EQ(core_bl_push_msg(&b, &pool, wire, wl, m), TERN_OK);
                } else { /* one whose body is transport memory */
                    rx_t *rx = &rxs[nrx++];
                    rx->base.release = rx_release;
                    rx->released = 0;
                    tern_msg_t *m = core_msg_wrap(&pool, body, &rx->base);
                    m->hdr = h;
                    CHECK_EQ(core_bl_push_msg(&b, &pool, wire, wl, m), TERN_OK);
                    /* the backlog never keeps transport memory */
                    CHECK_EQ(rx->released, 1);
                }
                bytes += wl + h.body_len;
                free(body);
            }
        }
        if (!CHECK_EQ_U(b.nmsgs, ref_tail - ref_head) || !CHECK_EQ_U(b.bytes, bytes))
            return;
        if (nrx == 64)
            nrx = 0;
    }
    /* Drain half, clear the rest: nothing leaks. */
    while (ref_tail - ref_head > (ref_tail - ref_head) / 2 + 1 && ref_check_front(&b)) {
        core_bl_pop(&b, &pool);
        ref_pop();
    }
    core_bl_clear(&b, &pool);
    while (ref_head < ref_tail)
        ref_pop();
    CHECK(core_bl_empty(&b));
    CHECK_EQ_U(b.bytes, 0);
    CHECK_EQ_U(core_pool_fini(&pool), 0);
}

/* Small messages cost about their own size: a 16-byte record head, the packed header and
 * the body padded to 16, plus chunk slack; nothing else is allocated for them. */
static void test_packing(void)
{
    core_pool_t pool;
    core_pool_init(&pool);
    core_backlog_t b = {0};
    core_hdr_t h;
    core_hdr_init(&h, CORE_K_ENTRY, 0);
    h.ndims = 1;
    h.nsegs = 1;
    _Alignas(16) unsigned char wire[CORE_WIRE_MAX];
    size_t wl = core_hdr_encode(&h, wire);
    CHECK_EQ_U(wl, 32);
    unsigned char body[16] = {0};
    tern_iov_t raw = {body, sizeof body};
    for (int i = 0; i < 100000; i++)
        CHECK_EQ(core_bl_push(&b, &pool, wire, wl, &raw, 1, sizeof body), TERN_OK);
    CHECK_EQ_U(pool.live, 0); /* nothing but chunks */
    CHECK_EQ_U(b.bytes, 100000ULL * (wl + sizeof body));
    for (int i = 0; i < 100000; i++)
        core_bl_pop(&b, &pool);
    CHECK(core_bl_empty(&b));
    core_bl_clear(&b, &pool);
    core_pool_fini(&pool);
}

int main(void)
{
    check_start();
    core_handlers_freeze();
    test_random();
    test_packing();
    return check_finish("unit.backlog");
}
