#include "core/backlog.h"

#include <stdlib.h>
#include <string.h>

#define BL_CHUNK_MIN 4096u
#define BL_CHUNK_MAX (256u << 10)

/* Record head in a chunk; the packed header (wire_len bytes, a multiple of 16) follows,
 * then the body padded to 16 unless `msg` holds it. */
typedef struct {
    uint32_t wire_len;
    uint32_t body_len; /* an inline body's; msg->hdr.body_len otherwise */
    tern_msg_t *msg;
} bl_rec_t;

_Static_assert(sizeof(bl_rec_t) == CORE_ALIGN, "records keep headers aligned");

static uint64_t rec_body(const bl_rec_t *r) { return r->msg ? r->msg->hdr.body_len : r->body_len; }

typedef struct core_bl_chunk {
    struct core_bl_chunk *next;
    size_t cap;   /* bytes of data */
    size_t head;  /* first record not yet popped */
    size_t tail;  /* where the next record goes */
    _Alignas(CORE_ALIGN) unsigned char data[];
} bl_chunk_t;

static bl_rec_t *rec_at(bl_chunk_t *c, size_t off) { return (bl_rec_t *)(c->data + off); }

static size_t rec_span(const bl_rec_t *r)
{
    return sizeof *r + r->wire_len + (r->msg ? 0 : CORE_ALIGN_UP(r->body_len));
}

/* Room for `span` bytes at the tail, in a new chunk if need be; NULL when out of memory. */
static bl_rec_t *bl_reserve(core_backlog_t *b, size_t span)
{
    bl_chunk_t *c = b->tail;
    if (c && c->cap - c->tail >= span)
        return rec_at(c, c->tail);
    size_t cap = b->next_chunk ? b->next_chunk : BL_CHUNK_MIN;
    while (cap < span)
        cap *= 2;
    bl_chunk_t *n = aligned_alloc(CORE_ALIGN, CORE_ALIGN_UP(sizeof *n + cap));
    if (!n)
        return NULL;
    n->next = NULL;
    n->cap = cap;
    n->head = n->tail = 0;
    if (c)
        c->next = n;
    else
        b->head = n;
    b->tail = n;
    b->next_chunk = cap < BL_CHUNK_MAX ? cap * 2 : BL_CHUNK_MAX;
    return rec_at(n, 0);
}

/* A record for the header; the body goes inline (msg NULL) or stays in msg. */
static bl_rec_t *bl_add(core_backlog_t *b, const void *wire, size_t wire_len,
                        uint64_t body_len, tern_msg_t *msg)
{
    size_t span = sizeof(bl_rec_t) + wire_len + (msg ? 0 : CORE_ALIGN_UP(body_len));
    bl_rec_t *r = bl_reserve(b, span);
    if (!r)
        return NULL;
    r->body_len = msg ? 0 : (uint32_t)body_len;
    r->wire_len = (uint32_t)wire_len;
    r->msg = msg;
    memcpy(r + 1, wire, wire_len);
    b->tail->tail += span;
    b->nmsgs++;
    b->bytes += wire_len + body_len;
    return r;
}

tern_status_t core_bl_push(core_backlog_t *b, core_pool_t *pool, const void *wire,
                           size_t wire_len, const tern_iov_t *iov, int niov, uint64_t body_len)
{
    if (body_len > CORE_BL_INLINE_MAX) {
        tern_msg_t *m = core_msg_alloc(pool, body_len);
        if (!m)
            return TERN_ERR_NOMEM;
        m->hdr.body_len = body_len;
        core_body_fill(m->body, iov, niov);
        return core_bl_push_msg(b, pool, wire, wire_len, m);
    }
    bl_rec_t *r = bl_add(b, wire, wire_len, body_len, NULL);
    if (!r)
        return TERN_ERR_NOMEM;
    core_body_fill((unsigned char *)(r + 1) + wire_len, iov, niov);
    return TERN_OK;
}

tern_status_t core_bl_push_msg(core_backlog_t *b, core_pool_t *pool, const void *wire,
                               size_t wire_len, tern_msg_t *m)
{
    uint64_t body_len = m->hdr.body_len;
    if (body_len <= CORE_BL_INLINE_MAX) {
        tern_iov_t raw = {m->body, body_len};
        tern_status_t st = core_bl_push(b, pool, wire, wire_len, &raw, body_len ? 1 : 0,
                                        body_len);
        core_msg_release(pool, m);
        return st;
    }
    /* It may wait long: it must not pin a peer's buffer, which the peer may need to send
     * us what lets it go. */
    tern_msg_t *own = core_msg_detach(pool, m);
    if (!own || !bl_add(b, wire, wire_len, body_len, own)) {
        core_msg_release(pool, own ? own : m);
        return TERN_ERR_NOMEM;
    }
    return TERN_OK;
}

int core_bl_front(const core_backlog_t *b, tern_iov_t *iov, size_t *total)
{
    if (!b->nmsgs)
        return 0;
    const bl_rec_t *r = rec_at(b->head, b->head->head);
    *total = r->wire_len + rec_body(r);
    if (r->msg) {
        iov[0] = (tern_iov_t){r + 1, r->wire_len};
        iov[1] = (tern_iov_t){r->msg->body, rec_body(r)};
        return 2;
    }
    iov[0] = (tern_iov_t){r + 1, *total}; /* header and body are contiguous */
    return 1;
}

void core_bl_pop(core_backlog_t *b, core_pool_t *pool)
{
    bl_chunk_t *c = b->head;
    bl_rec_t *r = rec_at(c, c->head);
    b->nmsgs--;
    b->bytes -= r->wire_len + rec_body(r);
    if (r->msg)
        core_msg_release(pool, r->msg);
    c->head += rec_span(r);
    if (c->head < c->tail)
        return;
    if (c->next) {
        b->head = c->next;
        free(c);
    } else {
        /* Emptied: the last chunk stays for the next burst, unless it is a large one. */
        c->head = c->tail = 0;
        if (c->cap > BL_CHUNK_MIN) {
            free(c);
            b->head = b->tail = NULL;
            b->next_chunk = 0;
        }
    }
}

void core_bl_clear(core_backlog_t *b, core_pool_t *pool)
{
    while (b->nmsgs)
        core_bl_pop(b, pool);
    free(b->head);
    b->head = b->tail = NULL;
    b->next_chunk = 0;
}
