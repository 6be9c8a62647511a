#include "core/msg.h"

#include <stdlib.h>
#include <string.h>

#include "core/handler.h"

/* Bytes kept in each size class's free list, at most: enough for bursts, bounded so a
 * spike of large messages does not pin memory for the rest of the run. */
#define POOL_CLASS_BYTES (4u << 20)

static const unsigned char zero_pad[CORE_ALIGN];

static inline uint32_t pool_class_of(uint64_t bytes)
{
    uint64_t sz = 256;
    for (uint32_t c = 0; c < CORE_POOL_CLASSES; c++, sz <<= 1)
        if (bytes <= sz)
            return c;
    return CORE_POOL_NONE;
}

static inline uint64_t pool_class_size(uint32_t c) { return 256ULL << c; }

void core_pool_init(core_pool_t *p) { memset(p, 0, sizeof *p); }

uint64_t core_pool_fini(core_pool_t *p)
{
    for (uint32_t c = 0; c < CORE_POOL_CLASSES; c++) {
        while (p->free[c]) {
            tern_msg_t *m = p->free[c];
            p->free[c] = m->next;
            free(m);
        }
        p->nfree[c] = 0;
    }
    return p->live;
}

tern_msg_t *core_msg_alloc(core_pool_t *p, uint64_t body_len)
{
    if (body_len > CORE_MAX_BODY)
        return NULL;
    uint64_t bytes = sizeof(tern_msg_t) + body_len;
    uint32_t c = pool_class_of(bytes);
    tern_msg_t *m;
    if (c != CORE_POOL_NONE && p->free[c]) {
        m = p->free[c];
        p->free[c] = m->next;
        p->nfree[c]--;
    } else {
        size_t asz = c != CORE_POOL_NONE ? pool_class_size(c) : CORE_ALIGN_UP(bytes);
        m = aligned_alloc(CORE_ALIGN, asz);
        if (!m)
            return NULL;
    }
    m->next = NULL;
    m->rx_ref = NULL;
    m->body = m->inline_body;
    m->pool_class = c;
    m->user_alloc = 0;
    m->taken_in = 0;
    p->live++;
    return m;
}

tern_msg_t *core_msg_wrap(core_pool_t *p, void *body, tp_rx_ref_t *ref)
{
    tern_msg_t *m = core_msg_alloc(p, 0);
    if (!m)
        return NULL;
    m->body = body;
    m->rx_ref = ref;
    return m;
}

tern_msg_t *core_msg_detach(core_pool_t *p, tern_msg_t *m)
{
    if (!m->rx_ref)
        return m;
    tern_msg_t *c = core_msg_alloc(p, m->hdr.body_len);
    if (!c)
        return NULL;
    c->hdr = m->hdr;
    if (m->hdr.body_len)
        memcpy(c->body, m->body, m->hdr.body_len);
    core_msg_release(p, m);
    return c;
}

void core_msg_release(core_pool_t *p, tern_msg_t *m)
{
    if (m->rx_ref) {
        m->rx_ref->release(m->rx_ref);
        m->rx_ref = NULL;
    }
    if (m->pool_class == CORE_POOL_BORROWED)
        return;
    p->live--;
    uint32_t c = m->pool_class;
    if (c != CORE_POOL_NONE && (uint64_t)(p->nfree[c] + 1) * pool_class_size(c) <= POOL_CLASS_BYTES) {
        m->next = p->free[c];
        p->free[c] = m;
        p->nfree[c]++;
        return;
    }
    free(m);
}

int core_body_valid(const core_hdr_t *hdr, const unsigned char *body)
{
    uint64_t n = hdr->nsegs;
    if (n <= 1)
        return 1;
    if (n > CORE_MAX_SEGS)
        return 0;
    uint64_t off = CORE_ALIGN_UP(8 * n);
    if (off > hdr->body_len)
        return 0;
    const uint64_t *table = (const uint64_t *)body;
    for (uint64_t i = 0; i < n; i++) {
        if (table[i] > hdr->body_len)
            return 0;
        off += CORE_ALIGN_UP(table[i]);
        if (off > hdr->body_len)
            return 0;
    }
    return 1;
}

uint64_t core_body_len(const tern_iov_t *iov, int niov)
{
    if (niov == 0)
        return 0;
    if (niov == 1)
        return iov[0].len;
    uint64_t n = CORE_ALIGN_UP(8ULL * (uint64_t)niov);
    for (int i = 0; i < niov; i++)
        n += CORE_ALIGN_UP(iov[i].len);
    return n;
}

void core_body_fill(unsigned char *dst, const tern_iov_t *iov, int niov)
{
    if (niov == 0)
        return;
    if (niov == 1) {
        if (iov[0].len)
            memcpy(dst, iov[0].base, iov[0].len);
        return;
    }
    uint64_t *table = (uint64_t *)dst;
    uint64_t off = CORE_ALIGN_UP(8ULL * (uint64_t)niov);
    memset(dst + 8ULL * (uint64_t)niov, 0, off - 8ULL * (uint64_t)niov);
    for (int i = 0; i < niov; i++) {
        table[i] = iov[i].len;
        if (iov[i].len)
            memcpy(dst + off, iov[i].base, iov[i].len);
        uint64_t padded = CORE_ALIGN_UP(iov[i].len);
        memset(dst + off + iov[i].len, 0, padded - iov[i].len);
        off += padded;
    }
}

int core_wire_iov(const void *head, size_t head_len, const tern_iov_t *iov, int niov,
                  uint64_t *table, tern_iov_t *out)
{
    int n = 0;
    out[n++] = (tern_iov_t){head, head_len};
    if (niov == 1) {
        if (iov[0].len)
            out[n++] = iov[0];
        return n;
    }
    if (niov == 0)
        return n;
    uint64_t tlen = CORE_ALIGN_UP(8ULL * (uint64_t)niov);
    for (int i = 0; i < niov; i++)
        table[i] = iov[i].len;
    memset((unsigned char *)table + 8ULL * (uint64_t)niov, 0, tlen - 8ULL * (uint64_t)niov);
    out[n++] = (tern_iov_t){table, tlen};
    for (int i = 0; i < niov; i++) {
        if (iov[i].len)
            out[n++] = iov[i];
        uint64_t pad = CORE_ALIGN_UP(iov[i].len) - iov[i].len;
        if (pad)
            out[n++] = (tern_iov_t){zero_pad, pad};
    }
    return n;
}

/* ---- the header on the wire ---- */

/* The envelope: kind, flags, hops, sections, segments, source PE; 12 bytes. */
#define ENV_BYTES 12u
#define SECT_NDIMS 0x07u /* entries of the index section */
#define SECT_PRIO 0x08u
#define SECT_REPLY 0x10u

/* Copy n 4-byte words: parts and sections are multiples of 4, and a loop of word moves
 * costs less than a call to memcpy for these few bytes. */
static inline void copy_words(void *dst, const void *src, size_t nwords)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < nwords; i++) {
        uint32_t w;
        memcpy(&w, s + 4 * i, 4);
        memcpy(d + 4 * i, &w, 4);
    }
}

size_t core_hdr_encode(const core_hdr_t *h, unsigned char *buf)
{
    const core_handler_def_t *k = core_handler(h->kind);
    size_t part = k ? k->part : 0;
    uint8_t sect = (uint8_t)(h->ndims & SECT_NDIMS);
    if (h->prio)
        sect |= SECT_PRIO;
    if (h->flags & (CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET))
        sect |= SECT_REPLY;
    uint32_t w0 = (uint32_t)h->kind | (uint32_t)(h->flags & ~CORE_HDR_FORWARDED) << 8 |
                  (uint32_t)h->hops << 16 | (uint32_t)sect << 24;
    uint32_t w1 = h->nsegs;
    memcpy(buf, &w0, 4);
    memcpy(buf + 4, &w1, 4);
    memcpy(buf + 8, &h->src_pe, 4);
    size_t n = ENV_BYTES;
    copy_words(buf + n, &h->u, part / 4);
    n += part;
    copy_words(buf + n, h->idx, h->ndims & SECT_NDIMS);
    n += 4u * (h->ndims & SECT_NDIMS);
    if (sect & SECT_PRIO) {
        memcpy(buf + n, &h->prio, 4);
        n += 4;
    }
    if (sect & SECT_REPLY) {
        memcpy(buf + n, &h->reply_pe, 4);
        memcpy(buf + n + 4, &h->reply_id, 8);
        n += 12;
    }
    size_t padded = CORE_ALIGN_UP(n);
    for (; n < padded; n += 4)
        memset(buf + n, 0, 4);
    return padded;
}

size_t core_hdr_decode(core_hdr_t *h, const unsigned char *buf, size_t len)
{
    if (len < ENV_BYTES)
        return 0;
    uint32_t w0;
    memcpy(&w0, buf, 4);
    const core_handler_def_t *k = core_handler(w0 & 0xff);
    uint8_t sect = (uint8_t)(w0 >> 24);
    if (!k || (sect & SECT_NDIMS) > TERN_MAX_DIMS)
        return 0;
    size_t n = ENV_BYTES + k->part + 4u * (sect & SECT_NDIMS) + (sect & SECT_PRIO ? 4 : 0) +
               (sect & SECT_REPLY ? 12 : 0);
    size_t padded = CORE_ALIGN_UP(n);
    if (padded > len)
        return 0;
    h->kind = (uint8_t)w0;
    h->flags = (uint8_t)(w0 >> 8);
    h->hops = (uint8_t)(w0 >> 16);
    h->ndims = sect & SECT_NDIMS;
    memcpy(&h->nsegs, buf + 4, 2);
    h->pad = 0;
    memcpy(&h->src_pe, buf + 8, 4);
    n = ENV_BYTES;
    copy_words(&h->u, buf + n, k->part / 4);
    n += k->part;
    copy_words(h->idx, buf + n, h->ndims);
    n += 4u * h->ndims;
    h->prio = 0;
    if (sect & SECT_PRIO) {
        memcpy(&h->prio, buf + n, 4);
        n += 4;
    }
    h->reply_pe = 0;
    h->reply_id = 0;
    if (sect & SECT_REPLY) {
        memcpy(&h->reply_pe, buf + n, 4);
        memcpy(&h->reply_id, buf + n + 4, 8);
    }
    h->body_len = len - padded;
    return padded;
}
