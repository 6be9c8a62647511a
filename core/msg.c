#include "core/msg.h"

#include <stdlib.h>
#include <string.h>

/* Bytes kept in each size class's free list, at most: enough for bursts, bounded so a
 * spike of large messages does not pin memory for the rest of the run. */
#define POOL_CLASS_BYTES (4u << 20)

static const unsigned char zero_pad[CORE_ALIGN];
const core_hdr_t core_hdr_zero;

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
    m->flow = 0;
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
