/*
 * core/msg: the per-PE message pool and the payload layout.
 *
 * Pool: every size class and sizes above the largest class give a writable, 16-byte
 * aligned body of the requested size (AddressSanitizer builds catch a short allocation),
 * live messages never share memory, freed messages are reused, wrapped messages release
 * their transport reference exactly once, and the live count returns to 0.
 *
 * Layout: the expected body is built independently from the format documented in
 * core/msg.h (0 segments: empty; 1 segment: its bytes; several: a table of uint64 lengths
 * padded with zeros to 16 bytes, then each segment padded with zeros to 16 bytes).
 * core_body_len / core_body_fill must produce exactly that, and gathering the buffers
 * given by core_wire_iov must produce exactly header + that body. The body is then parsed
 * back (by this test's own parser) and every segment must be 16-byte aligned and hold
 * its original bytes.
 */
#include "core/msg.h"

#include <stdlib.h>

#include "check.h"
#include "core/handler.h"
#include "core/wire.h"

static int aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

static unsigned char pattern(uint64_t n, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL ^ (n + 1) * 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 29;
    return (unsigned char)(x >> 11);
}

static void fill_pattern(unsigned char *p, uint64_t len, uint64_t n)
{
    for (uint64_t i = 0; i < len; i++)
        p[i] = pattern(n, i);
}

static int check_pattern(const unsigned char *p, uint64_t len, uint64_t n)
{
    for (uint64_t i = 0; i < len; i++)
        if (p[i] != pattern(n, i))
            return CHECK_EQ(p[i], pattern(n, i));
    return 1;
}

/* ---- pool ---- */

static void test_pool_sizes(void)
{
    core_pool_t pool;
    core_pool_init(&pool);
    CHECK_EQ_U(pool.live, 0);

    /* Body sizes around every class boundary (256 B .. 128 KiB including the message
     * struct) and well above the largest class. */
    uint64_t sizes[128];
    size_t ns = 0;
    const uint64_t hdr = sizeof(tern_msg_t);
    sizes[ns++] = 0;
    sizes[ns++] = 1;
    for (unsigned c = 0; c < CORE_POOL_CLASSES; c++) {
        uint64_t cls = 256ULL << c;
        if (cls > hdr + 1) {
            sizes[ns++] = cls - hdr - 1;
        }
        if (cls >= hdr) {
            sizes[ns++] = cls - hdr;
            sizes[ns++] = cls - hdr + 1;
        }
    }
    sizes[ns++] = 65536;
    sizes[ns++] = 100000;
    sizes[ns++] = 1u << 20;
    sizes[ns++] = (1u << 20) + 3;

    /* All alive at once, each filled with its own pattern: overlapping memory or a body
     * shorter than requested shows up as a corrupted pattern (or an ASan report). */
    tern_msg_t *ms[128];
    for (size_t i = 0; i < ns; i++) {
        ms[i] = core_msg_alloc(&pool, sizes[i]);
        if (!CHECK(ms[i] != NULL))
            return;
        CHECK_EQ_U(pool.live, i + 1);
        CHECK_EQ_PTR(ms[i]->body, ms[i]->inline_body);
        CHECK(aligned16(ms[i]->body));
        CHECK(aligned16(&ms[i]->hdr));
        CHECK_EQ_PTR(ms[i]->rx_ref, NULL);
        CHECK_EQ_PTR(ms[i]->next, NULL);
        CHECK_EQ_U(ms[i]->user_alloc, 0);
        fill_pattern(ms[i]->body, sizes[i], i);
        memset(&ms[i]->hdr, (int)i, sizeof ms[i]->hdr);
    }
    for (size_t i = 0; i < ns; i++) {
        CHECK(check_pattern(ms[i]->body, sizes[i], i));
        core_hdr_t h;
        memset(&h, (int)i, sizeof h);
        CHECK_MEM(&ms[i]->hdr, &h, sizeof h);
    }
    for (size_t i = 0; i < ns; i++) {
        core_msg_release(&pool, ms[i]);
        CHECK_EQ_U(pool.live, ns - i - 1);
    }
#ifdef CORE_MAX_BODY
    /* Bodies so large that header + body would wrap around 2^64 are refused (not handed
     * out as a small message). */
    CHECK_EQ_PTR(core_msg_alloc(&pool, UINT64_MAX), NULL);
    CHECK_EQ_PTR(core_msg_alloc(&pool, UINT64_MAX - sizeof(tern_msg_t) + 1), NULL);
    CHECK_EQ_PTR(core_msg_alloc(&pool, UINT64_MAX - 100), NULL);
    CHECK_EQ_PTR(core_msg_alloc(&pool, CORE_MAX_BODY + 1), NULL);
    CHECK_EQ_U(pool.live, 0);
#endif
    CHECK_EQ_U(core_pool_fini(&pool), 0);
}

static void test_pool_reuse(void)
{
    core_pool_t pool;
    core_pool_init(&pool);
    const uint64_t sizes[] = {0, 100, 1000, 5000, 30000, 60000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        tern_msg_t *a = core_msg_alloc(&pool, sizes[i]);
        if (!CHECK(a != NULL))
            continue;
        a->next = a;                 /* garbage that must not survive reuse */
        a->user_alloc = 1;
        core_msg_release(&pool, a);
        CHECK_EQ_U(pool.live, 0);
        tern_msg_t *b = core_msg_alloc(&pool, sizes[i]);
        CHECK_EQ_PTR(b, a); /* the cached message comes back */
        if (!b)
            continue;
        CHECK_EQ_PTR(b->next, NULL);
        CHECK_EQ_PTR(b->body, b->inline_body);
        CHECK_EQ_PTR(b->rx_ref, NULL);
        CHECK_EQ_U(b->user_alloc, 0);
        fill_pattern(b->body, sizes[i], 99); /* the whole body is usable */
        core_msg_release(&pool, b);
    }

    /* Many messages of mixed sizes, allocated and released at random, each checked for
     * its pattern when released: no two live messages overlap, reuse or not. */
    test_rng_t rng;
    rng_seed(&rng, 5);
    enum { LIVE = 300 };
    tern_msg_t *live[LIVE] = {0};
    uint64_t len[LIVE], tag[LIVE];
    uint64_t next_tag = 0;
    for (int op = 0; op < 40000; op++) {
        int i = (int)rng_below(&rng, LIVE);
        if (live[i]) {
            CHECK(check_pattern(live[i]->body, len[i], tag[i]));
            core_msg_release(&pool, live[i]);
            live[i] = NULL;
        } else {
            uint64_t d = rng_below(&rng, 100);
            len[i] = d < 50 ? rng_below(&rng, 200) : d < 90 ? rng_below(&rng, 8000)
                   : d < 98 ? rng_below(&rng, 70000) : 65536 + rng_below(&rng, 200000);
            tag[i] = next_tag++;
            live[i] = core_msg_alloc(&pool, len[i]);
            if (!CHECK(live[i] != NULL))
                break;
            CHECK(aligned16(live[i]->body));
            fill_pattern(live[i]->body, len[i], tag[i]);
        }
    }
    uint64_t nlive = 0;
    for (int i = 0; i < LIVE; i++)
        nlive += live[i] != NULL;
    CHECK_EQ_U(pool.live, nlive);
    for (int i = 0; i < LIVE; i++)
        if (live[i]) {
            CHECK(check_pattern(live[i]->body, len[i], tag[i]));
            core_msg_release(&pool, live[i]);
        }
    CHECK_EQ_U(pool.live, 0);
    CHECK_EQ_U(core_pool_fini(&pool), 0);

    /* fini reports what is still live */
    core_pool_init(&pool);
    tern_msg_t *x = core_msg_alloc(&pool, 10), *y = core_msg_alloc(&pool, 100000);
    tern_msg_t *z = core_msg_alloc(&pool, 10);
    core_msg_release(&pool, y);
    CHECK_EQ_U(pool.live, 2);
    core_msg_release(&pool, x);
    core_msg_release(&pool, z);
    CHECK_EQ_U(core_pool_fini(&pool), 0);
}

typedef struct {
    tp_rx_ref_t ref;
    int released;
} fake_ref_t;

static void fake_release(tp_rx_ref_t *r) { ((fake_ref_t *)r)->released++; }

static void test_wrap(void)
{
    core_pool_t pool;
    core_pool_init(&pool);
    _Alignas(16) unsigned char buf[64];
    fake_ref_t fr = {{fake_release}, 0};
    tern_msg_t *m = core_msg_wrap(&pool, buf, &fr.ref);
    if (CHECK(m != NULL)) {
        CHECK_EQ_PTR(m->body, buf);
        CHECK_EQ_PTR(m->rx_ref, &fr.ref);
        CHECK_EQ_U(pool.live, 1);
        CHECK_EQ(fr.released, 0);
        core_msg_release(&pool, m);
        CHECK_EQ(fr.released, 1);
        CHECK_EQ_U(pool.live, 0);
        /* reused afterwards as an ordinary message: no stale reference or body */
        tern_msg_t *n = core_msg_alloc(&pool, 0);
        if (CHECK(n != NULL)) {
            CHECK_EQ_PTR(n->rx_ref, NULL);
            CHECK_EQ_PTR(n->body, n->inline_body);
            core_msg_release(&pool, n);
        }
        CHECK_EQ(fr.released, 1);
    }
    CHECK_EQ_U(core_pool_fini(&pool), 0);
}

/* ---- layout ---- */

/* The documented body for these segments, built here: returns its length. */
static uint64_t expected_body(const tern_iov_t *iov, int n, unsigned char *out)
{
    if (n == 0)
        return 0;
    if (n == 1) {
        if (iov[0].len)
            memcpy(out, iov[0].base, iov[0].len);
        return iov[0].len;
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        uint64_t l = iov[i].len;
        memcpy(out + off, &l, 8);
        off += 8;
    }
    while (off % 16)
        out[off++] = 0;
    for (int i = 0; i < n; i++) {
        if (iov[i].len)
            memcpy(out + off, iov[i].base, iov[i].len);
        off += iov[i].len;
        while (off % 16)
            out[off++] = 0;
    }
    return off;
}

/* Parse a body of body_len bytes holding n segments, as a receiver would, and compare
 * every segment with the original; segments must be 16-byte aligned. */
static int parse_and_compare(const unsigned char *body, uint64_t body_len, int n,
                             const tern_iov_t *iov)
{
    int ok = 1;
    if (n == 0)
        return CHECK_EQ_U(body_len, 0);
    if (n == 1) {
        ok &= CHECK_EQ_U(body_len, iov[0].len);
        ok &= CHECK(aligned16(body));
        if (ok)
            ok &= CHECK_MEM(body, iov[0].base, iov[0].len);
        return ok;
    }
    uint64_t off = ((uint64_t)n * 8 + 15) / 16 * 16;
    if (!CHECK(off <= body_len))
        return 0;
    for (int i = 0; i < n && ok; i++) {
        uint64_t l;
        memcpy(&l, body + 8ULL * (uint64_t)i, 8);
        ok &= CHECK_EQ_U(l, iov[i].len);
        ok &= CHECK(off + l <= body_len);
        if (!ok)
            break;
        ok &= CHECK(aligned16(body + off));
        ok &= CHECK_MEM(body + off, iov[i].base, l);
        off += (l + 15) / 16 * 16;
    }
    ok &= CHECK_EQ_U(off, body_len); /* nothing left over */
    return ok;
}

/*
 * One layout case: segments with the given lengths, contents random, each at a random
 * (often misaligned) address.
 */
static int layout_case(const uint64_t *lens, int n, test_rng_t *rng)
{
    int ok = 1;
    tern_iov_t *iov = calloc((size_t)n + 1, sizeof *iov);
    unsigned char **store = calloc((size_t)n + 1, sizeof *store);
    uint64_t total = 0;
    for (int i = 0; i < n; i++) {
        size_t mis = (size_t)rng_below(rng, 16);
        store[i] = malloc(lens[i] + mis + 1);
        unsigned char *p = store[i] + mis;
        for (uint64_t j = 0; j < lens[i]; j++)
            p[j] = (unsigned char)rng_next(rng);
        iov[i] = (tern_iov_t){lens[i] ? p : NULL, lens[i]};
        if (lens[i] == 0 && rng_chance(rng, 1, 2))
            iov[i].base = p; /* empty segments with and without a base */
        total += lens[i];
    }

    /* the independent expectation */
    unsigned char *want = malloc(total + 16ULL * (uint64_t)n + 8ULL * (uint64_t)n + 32);
    uint64_t want_len = expected_body(iov, n, want);

    /* core_body_len, core_body_fill: exact bytes, nothing written past the body */
    uint64_t blen = core_body_len(iov, n);
    ok &= CHECK_EQ_U(blen, want_len);
    if (!ok)
        goto out;
    unsigned char *body = aligned_alloc(16, (blen + 16 + 15) / 16 * 16);
    memset(body, 0xA5, blen + 16);
    core_body_fill(body, iov, n);
    ok &= CHECK_MEM(body, want, blen);
    for (int i = 0; i < 16; i++)
        ok &= CHECK_EQ(body[blen + (uint64_t)i], 0xA5);
    ok &= parse_and_compare(body, blen, n, iov);
    free(body);

    /* core_wire_iov: a header (here 48 bytes of a wire header) + exactly the same body,
     * within the documented room */
    _Alignas(16) unsigned char hdr[48];
    for (size_t i = 0; i < sizeof hdr; i++)
        hdr[i] = (unsigned char)(i * 7 + 1);
    uint64_t *table = malloc(8 * (size_t)n + 16); /* exactly the documented scratch */
    size_t room = 2 * (size_t)n + 2;
    tern_iov_t *out = malloc(room * sizeof *out);
    int nout = core_wire_iov(hdr, sizeof hdr, iov, n, table, out);
    ok &= CHECK(nout >= 1 && (size_t)nout <= room);
    if (ok) {
        ok &= CHECK_EQ_PTR(out[0].base, hdr);
        ok &= CHECK_EQ_U(out[0].len, sizeof hdr);
        uint64_t glen = 0;
        for (int i = 0; i < nout; i++)
            glen += out[i].len;
        ok &= CHECK_EQ_U(glen, sizeof hdr + blen);
        if (ok) {
            /* gather into a 16-aligned buffer, as a transport delivers it */
            unsigned char *g = aligned_alloc(16, (glen + 15) / 16 * 16);
            uint64_t off = 0;
            for (int i = 0; i < nout; i++) {
                if (out[i].len)
                    memcpy(g + off, out[i].base, out[i].len);
                off += out[i].len;
            }
            ok &= CHECK_MEM(g, hdr, sizeof hdr);
            ok &= CHECK_MEM(g + sizeof hdr, want, blen);
            ok &= parse_and_compare(g + sizeof hdr, blen, n, iov);
            free(g);
        }
    }
    free(out);
    free(table);

    /* the way the runtime builds a local message: alloc from the pool, fill its body */
    core_pool_t pool;
    core_pool_init(&pool);
    tern_msg_t *m = core_msg_alloc(&pool, blen);
    if (CHECK(m != NULL)) {
        core_body_fill(m->body, iov, n);
        ok &= parse_and_compare(m->body, blen, n, iov);
        core_msg_release(&pool, m);
    }
    CHECK_EQ_U(core_pool_fini(&pool), 0);
out:
    free(want);
    for (int i = 0; i < n; i++)
        free(store[i]);
    free(store);
    free(iov);
    return ok;
}

static uint64_t random_seg_len(test_rng_t *rng)
{
    uint64_t d = rng_below(rng, 100);
    if (d < 20)
        return 0;
    if (d < 50)
        return rng_below(rng, 33); /* around one and two alignment units */
    if (d < 60)
        return 16 * rng_range(rng, 1, 8); /* exact multiples */
    if (d < 95)
        return rng_below(rng, 1000);
    return rng_below(rng, 70000);
}

static void test_layout(void)
{
    test_rng_t rng;
    rng_seed(&rng, 77);
    uint64_t lens[CORE_MAX_SEGS] = {0};

    /* 0 segments; 1 segment of assorted lengths, including 0 */
    layout_case(lens, 0, &rng);
    static const uint64_t ones[] = {0, 1, 15, 16, 17, 31, 32, 33, 255, 4096, 65537};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        layout_case(&ones[i], 1, &rng);
    /* 2 and 3 segments where the length table needs padding or not, all empty, etc. */
    static const uint64_t two[][3] = {
        {0, 0, 0}, {1, 1, 1}, {16, 16, 16}, {15, 0, 17}, {0, 5, 0}, {100, 0, 3},
    };
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++) {
        layout_case(two[i], 2, &rng);
        layout_case(two[i], 3, &rng);
    }
    /* random counts and lengths */
    for (int t = 0; t < 1500; t++) {
        int n = t < 1000 ? (int)rng_range(&rng, 0, 12) : (int)rng_range(&rng, 13, 300);
        for (int i = 0; i < n; i++)
            lens[i] = random_seg_len(&rng);
        if (!layout_case(lens, n, &rng))
            return;
    }
    /* the largest number of segments, mostly tiny */
    for (int i = 0; i < CORE_MAX_SEGS; i++)
        lens[i] = rng_chance(&rng, 1, 3) ? 0 : rng_below(&rng, 40);
    layout_case(lens, CORE_MAX_SEGS, &rng);
    /* many segments, all empty: just the table */
    for (int i = 0; i < 101; i++)
        lens[i] = 0;
    layout_case(lens, 101, &rng);
}

/* ---- the header on the wire ---- */

/* Headers of every core kind with random sections: decode(encode(h)) gives h back, the
 * wire length is a multiple of 16 within CORE_WIRE_MAX, a message to a 1-D element with a
 * small payload fits a cache line with a ring record, and anything cut short or of an
 * unknown kind is refused. */
static void test_wire(void)
{
    test_rng_t rng;
    rng_seed(&rng, 7);
    for (int t = 0; t < 20000; t++) {
        core_hdr_t h, back;
        memset(&h, 0, sizeof h);
        h.kind = (uint8_t)rng_range(&rng, 1, CORE_K_CORE_END - 1);
        h.flags = (uint8_t)(rng_below(&rng, 16) & ~CORE_HDR_FORWARDED);
        h.hops = (uint8_t)rng_below(&rng, 256);
        h.ndims = (uint8_t)rng_below(&rng, TERN_MAX_DIMS + 1);
        h.nsegs = (uint16_t)rng_below(&rng, 5000);
        h.src_pe = (int32_t)rng_below(&rng, 1u << 30);
        h.prio = rng_chance(&rng, 1, 3) ? (int32_t)rng_next(&rng) : 0;
        if (h.flags & (CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET)) {
            h.reply_pe = (int32_t)rng_below(&rng, 1u << 20);
            h.reply_id = rng_next(&rng);
        }
        for (int i = 0; i < h.ndims; i++)
            h.idx[i] = (int32_t)rng_next(&rng);
        size_t part = core_handler(h.kind)->part;
        for (size_t i = 0; i < part; i++)
            h.u.raw[i] = (unsigned char)rng_next(&rng);
        _Alignas(16) unsigned char wire[CORE_WIRE_MAX + 64];
        uint64_t body = rng_below(&rng, 100);
        memset(wire, 0xEE, sizeof wire);
        size_t n = core_hdr_encode(&h, wire);
        if (!CHECK(n % 16 == 0 && n >= 16 && n <= CORE_WIRE_MAX) ||
            !CHECK_EQ(wire[n], 0xEE))
            return;
        memset(&back, 0x5A, sizeof back);
        if (!CHECK_EQ_U(core_hdr_decode(&back, wire, n + body), n))
            return;
        int same = back.kind == h.kind && back.flags == h.flags && back.hops == h.hops &&
                   back.ndims == h.ndims && back.nsegs == h.nsegs && back.src_pe == h.src_pe &&
                   back.prio == h.prio && back.reply_pe == h.reply_pe &&
                   back.reply_id == h.reply_id && back.body_len == body &&
                   !memcmp(back.idx, h.idx, 4u * h.ndims) && !memcmp(back.u.raw, h.u.raw, part);
        if (!CHECK(same))
            return;
        /* cut short, or another kind: refused */
        if (!CHECK_EQ_U(core_hdr_decode(&back, wire, n - 1 - rng_below(&rng, n)), 0))
            return;
        wire[0] = (uint8_t)rng_range(&rng, CORE_K_CORE_END, 255);
        if (!CHECK_EQ_U(core_hdr_decode(&back, wire, n), 0))
            return;
        wire[0] = 0;
        if (!CHECK_EQ_U(core_hdr_decode(&back, wire, n), 0))
            return;
    }
    /* the common message: to a 1-D array element, 16 bytes of payload, no reply */
    core_hdr_t h;
    core_hdr_init(&h, CORE_K_ENTRY, 3);
    h.ndims = 1;
    h.nsegs = 1;
    unsigned char wire[CORE_WIRE_MAX];
    CHECK(16 + core_hdr_encode(&h, wire) + 16 <= 64);
}

int main(void)
{
    check_start();
    core_handlers_freeze();
    test_wire();
    test_pool_sizes();
    test_pool_reuse();
    test_wrap();
    test_layout();
    return check_finish("unit.msg");
}
