#include "core/backlog.h"

#include <stdlib.h>
#include <string.h>

#define BL_CHUNK_MIN 4096u
#define BL_CHUNK_MAX (256u << 10)

/* Record head in a chunk: `len` bytes of header + body follow, padded to 16; or, when
 * `msg` is set, nothing follows and the message is held by pointer. */
typedef struct {
    uint64_t len;
    tern_msg_t *msg;
} bl_rec_t;

_Static_assert(sizeof(bl_rec_t) == CORE_ALIGN, "records keep headers aligned");

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
    return sizeof *r + (r->msg ? 0 : CORE_ALIGN_UP(r->len));
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

static void bl_commit(core_backlog_t *b, bl_rec_t *r, uint64_t wire)
{
    b->tail->tail += rec_span(r);
    b->nmsgs++;
    b->bytes += wire;
}

tern_status_t core_bl_push_iov(core_backlog_t *b, core_pool_t *pool, const core_hdr_t *hdr,
                               const tern_iov_t *iov, int niov)
{
    uint64_t wire = sizeof *hdr + hdr->body_len;
    if (wire > CORE_BL_INLINE_MAX) {
        tern_msg_t *m = core_msg_alloc(pool, hdr->body_len);
        if (!m)
            return TERN_ERR_NOMEM;
        m->hdr = *hdr;
        core_body_fill(m->body, iov, niov);
        return core_bl_push_msg(b, pool, m);
    }
    bl_rec_t *r = bl_reserve(b, sizeof *r + CORE_ALIGN_UP(wire));
    if (!r)
        return TERN_ERR_NOMEM;
    r->len = wire;
    r->msg = NULL;
    unsigned char *d = (unsigned char *)(r + 1);
    memcpy(d, hdr, sizeof *hdr);
    core_body_fill(d + sizeof *hdr, iov, niov);
    bl_commit(b, r, wire);
    return TERN_OK;
}

tern_status_t core_bl_push_copy(core_backlog_t *b, core_pool_t *pool, const core_hdr_t *hdr,
                                const unsigned char *body)
{
    /* One buffer is copied as it is: the body's own segment table comes along. */
    tern_iov_t raw = {body, hdr->body_len};
    return core_bl_push_iov(b, pool, hdr, &raw, hdr->body_len ? 1 : 0);
}

tern_status_t core_bl_push_msg(core_backlog_t *b, core_pool_t *pool, tern_msg_t *m)
{
    uint64_t wire = sizeof m->hdr + m->hdr.body_len;
    if (wire <= CORE_BL_INLINE_MAX) {
        tern_status_t st = core_bl_push_copy(b, pool, &m->hdr, m->body);
        core_msg_release(pool, m);
        return st;
    }
    /* It may wait long: it must not pin a peer's buffer, which the peer may need to send
     * us what lets it go. */
    tern_msg_t *own = core_msg_detach(pool, m);
    bl_rec_t *r = own ? bl_reserve(b, sizeof *r) : NULL;
    if (!r) {
        core_msg_release(pool, own ? own : m);
        return TERN_ERR_NOMEM;
    }
    m = own;
    r->len = wire;
    r->msg = m;
    bl_commit(b, r, wire);
    return TERN_OK;
}

int core_bl_front(const core_backlog_t *b, tern_iov_t *iov, size_t *total)
{
    if (!b->nmsgs)
        return 0;
    const bl_rec_t *r = rec_at(b->head, b->head->head);
    *total = r->len;
    if (r->msg) {
        iov[0] = (tern_iov_t){&r->msg->hdr, sizeof r->msg->hdr};
        iov[1] = (tern_iov_t){r->msg->body, r->msg->hdr.body_len};
        return r->msg->hdr.body_len ? 2 : 1;
    }
    iov[0] = (tern_iov_t){r + 1, r->len};
    return 1;
}

const core_hdr_t *core_bl_front_hdr(const core_backlog_t *b)
{
    const bl_rec_t *r = rec_at(b->head, b->head->head);
    return r->msg ? &r->msg->hdr : (const core_hdr_t *)(r + 1);
}

void core_bl_pop(core_backlog_t *b, core_pool_t *pool)
{
    bl_chunk_t *c = b->head;
    bl_rec_t *r = rec_at(c, c->head);
    b->nmsgs--;
    b->bytes -= r->len;
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
