/*
 * libfabric (OFI) transport: one reliable-datagram endpoint (FI_EP_RDM) per process, on
 * the provider TERN_OFI_PROVIDER names, or by default the first one libfabric offers that
 * reaches other hosts (tcp;ofi_rxm here; shm only when every PE shares one host).
 * Addresses go through the bootstrap; one completion queue carries every completion and is
 * read by progress() from the scheduler's loop. An idle PE sleeps on the queue's fd
 * (fi_trywait, then poll) where the provider gives one (tcp;ofi_rxm does); libfabric 1.17's
 * shm has none (FI_WAIT_FD: -FI_ENOSYS), so there it sleeps in slices between looks.
 *
 * Every message starts with a 16-byte header: source PE, sequence number, kind.
 *
 *  - Eager (at most TERN_OFI_EAGER_MAX bytes): one untagged message, header + data, into one
 *    of the receive buffers this process keeps posted. It is gathered into a send buffer of
 *    ours that goes back to a free list when the send completes, so the caller's buffers
 *    are free when send() returns. Not fi_inject(): it reports no completion, and close()
 *    must know when the last sends (the exit among them) have left. Not fi_sendmsg() with
 *    FI_INJECT from the caller's buffers either: rxm 1.17 over tcp hands them to the socket
 *    as they are ("direct send", on by default), so they are read after send() returned -
 *    corrupted messages between hosts, where the socket backs up.
 *  - Rendezvous (larger): an eager RTS carries the length and a tag unique to the sender;
 *    the payload, gathered once into a bounce buffer, follows as tagged messages (one per
 *    chunk of at most the provider's max_msg_size) on consecutive tags. The receiver, on the
 *    RTS, allocates the message's final buffer and posts one fi_trecv per chunk into it;
 *    once all have landed it hands that buffer to the core, which frees it by release().
 *
 * Why tagged messages rather than RMA reads for the large ones: both tcp;ofi_rxm and shm
 * move a large tagged message straight into the posted buffer with protocols of their own
 * (rxm: SAR up to 128 KiB, then a rendezvous whose read its tcp endpoints do; shm: one
 * copy by CMA, process_vm_readv, or its segmented SAR path where CMA is not permitted),
 * and keep just a header for an unexpected one until its receive is posted. RMA reads would need, on our
 * side, memory registration whose rules differ between them (shm asks FI_MR_VIRT_ADDR and
 * keys from each registration; rxm emulates RMA over its tcp connections), a key exchange
 * and an ACK message to free the bounce buffer; with tagged sends the send completion frees
 * it, and no caps beyond FI_MSG | FI_TAGGED are needed, so any RDM provider qualifies.
 * The source PE is part of the tag, so receives need no FI_DIRECTED_RECV (not every
 * provider has it).
 *
 * Order: sequence numbers per (sender, receiver) pair, checked by the receiver, so order
 * holds whatever the provider's completion order (a rendezvous completes after later eager
 * messages). A message that comes before its turn, e.g. behind a large one still being
 * fetched, is copied and held until the ones before it are delivered.
 *
 * Failures: a failed operation toward a peer ends the job (logged, abort()) - after a grace
 * second, because at the end of a job a peer that already left makes the sends still flying
 * toward it fail while this process is about to get its own exit; close() cancels it.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "transports/transport.h"
#include "util/log.h"
#include "util/options.h"

#define OFI_API FI_VERSION(1, 9)
#define OFI_KEY "ofi.addr"
#define OFI_REC_MAGIC 0x6f666931u   /* "ofi1" */
#define OFI_NAME_MAX 256u           /* bytes of an endpoint name */
#define OFI_NRX 128                 /* eager receive buffers kept posted ... */
#define OFI_RX_BYTES (16u << 20)    /* ... taking this many bytes at most */
#define OFI_BATCH 16                /* completions per fi_cq_read */
#define OFI_TX_SMALL 4096u          /* send buffers: small ones (this many bytes) ... */
#define OFI_TX_KEEP 64              /* ... of which this many are kept for reuse, */
#define OFI_TX_KEEP_BIG 8           /* and eager-sized ones, this many */
#define OFI_EAGER_CAP (1L << 20)    /* TERN_OFI_EAGER_MAX beyond this gains nothing */
#define OFI_SLICE_MIN_US 50L        /* sleep slices without a wait fd: from this ... */
#define OFI_SLICE_MAX_US 1000L      /* ... up to this, an eighth of the time idle so far */
#define OFI_DEFER_US 200L           /* longest sleep while posts wait for resources */
#define OFI_FLUSH_S 5.0             /* close: how long sends in flight may take */
#define OFI_GRACE_S 1.0             /* failed operation: time left for the job to end */
/* Largest tagged message of a rendezvous: the provider's max_msg_size, unless a build
 * asks for less (-DOFI_CHUNK_MAX=..., which tests the splitting on providers that have
 * no limit). */
#ifndef OFI_CHUNK_MAX
#define OFI_CHUNK_MAX SIZE_MAX
#endif
#define OFI_BLK_HDR 64u             /* in front of every message block */
#define OFI_POOL_MIN (64u << 10)    /* smaller blocks go straight back to malloc */
#define OFI_POOL_BLOCKS 8           /* free large blocks kept ... */
#define OFI_POOL_BYTES (128u << 20) /* ... and their bytes at most */

enum { OFI_K_DATA = 1, OFI_K_RTS = 2 };

typedef struct {
    uint32_t src;   /* sender's PE */
    uint32_t seq;   /* per (sender, receiver), from 0 */
    uint32_t kind;  /* OFI_K_* */
    uint32_t pad;
} ofi_hdr_t;

typedef struct {
    uint64_t len;   /* bytes of the message */
    uint64_t chunk; /* bytes per tagged message (the last may be shorter) */
    uint32_t tag;   /* low half of the first chunk's tag; chunk i has tag + i */
    uint32_t pad;
} ofi_rts_t;

/* The RTS travels as one block: header then body. */
typedef struct {
    ofi_hdr_t h;
    ofi_rts_t r;
} ofi_rts_msg_t;

/* What each process publishes through the bootstrap. */
typedef struct {
    uint32_t magic;
    int32_t err;           /* 0: endpoint up; else the libfabric error (positive) that stopped it */
    uint32_t addr_format;
    uint32_t addrlen;
    uint64_t eager_max;
    char prov[64];
    char host[64];
    unsigned char addr[OFI_NAME_MAX];
} ofi_rec_t;

/*
 * Large messages live in blocks from a small pool: each rendezvous needs a bounce buffer
 * and a receive buffer, and fresh ones of that size come from mmap, so every message
 * would pay page faults on top of the copies (3x slower for 1 MiB than a reused block).
 * Blocks lent to the core come back through release(), possibly after close(): the pool
 * outlives the transport until the last one is back.
 */
typedef struct ofi_pool ofi_pool_t;

typedef struct ofi_blk {
    ofi_pool_t *pool;
    struct ofi_blk *next; /* in the free list */
    size_t cap;           /* bytes after the header */
} ofi_blk_t;

struct ofi_pool {
    ofi_blk_t *free; /* most recently returned first */
    size_t nfree;
    size_t bytes;
    long lent;       /* blocks the core holds */
    int open;        /* 0 once the transport has closed */
};

enum { OP_RX_EAGER, OP_RX_CHUNK, OP_TX_EAGER, OP_TX_CHUNK };

/* The context of one posted operation. */
typedef struct ofi_op {
    struct fi_context2 fctx; /* first: room for providers that ask FI_CONTEXT(2) */
    struct ofi_op *next;     /* deferred queue */
    void *owner;             /* held message (RX_CHUNK), rendezvous send (TX_CHUNK) */
    size_t idx;              /* receive buffer (RX_EAGER) or chunk number */
    int type;
    int pe;                  /* the peer (-1: any) */
    int posted;              /* receives: in the provider's hands */
} ofi_op_t;

/* A message received ahead of its turn, or a large one being fetched. */
typedef struct ofi_held {
    tp_rx_ref_t ref;       /* first: release() frees the whole block */
    struct ofi_held *next; /* in the source's queue, by sequence number */
    uint32_t seq;
    uint32_t tag;          /* rendezvous: first chunk's tag (low half) */
    size_t pending;        /* chunks still to land (0: complete) */
    size_t len;
    size_t chunk;
    size_t nchunks;        /* 0: a copy of an eager message */
    unsigned char *data;   /* 64-byte aligned, inside this block */
    ofi_op_t ops[];        /* rendezvous: one receive per chunk */
} ofi_held_t;

/* An eager send in flight, with its buffer. */
typedef struct ofi_tx {
    ofi_op_t op;
    struct ofi_tx *prev, *next; /* live list, or free list (next) */
    int big;                    /* its buffer has buf_bytes, not OFI_TX_SMALL */
    _Alignas(16) unsigned char data[];
} ofi_tx_t;

/* A rendezvous send in flight; the bounce buffer follows the ops. */
typedef struct ofi_rndv {
    struct ofi_rndv *prev, *next;
    unsigned char *data;
    size_t len, chunk, nchunks, pending;
    uint32_t tag;
    int pe;
    ofi_op_t ops[];
} ofi_rndv_t;

typedef struct {
    fi_addr_t addr;
    uint32_t seq_out;             /* next sequence number to send */
    uint32_t seq_in;              /* next one to deliver */
    ofi_held_t *held, *held_tail; /* waiting for their turn, by sequence */
    int same_host;
} ofi_peer_t;

typedef struct ofi_tp {
    tp_t base;
    tp_params_t params;
    int my_pe;
    int npes;
    struct fi_info *info;
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_av *av;
    struct fid_cq *cq;
    struct fid_ep *ep;
    int wait_fd;                  /* -1: the CQ has none */
    unsigned char name[OFI_NAME_MAX];
    size_t namelen;
    size_t eager_max;             /* data bytes of an eager message */
    size_t chunk;                 /* bytes per tagged message of a rendezvous */
    size_t buf_bytes;             /* an eager buffer: header + max(eager, RTS body) */
    ofi_peer_t *peers;
    ofi_pool_t *pool;
    /* eager receive buffers */
    ofi_op_t *rx_ops;
    unsigned char *rx_mem;
    size_t nrx, rx_stride;
    /* posts the provider refused for now (-FI_EAGAIN), retried by progress */
    ofi_op_t *defer_head, *defer_tail;
    /* sends in flight */
    ofi_tx_t *tx_live, *tx_free[2]; /* free lists: small, big */
    int ntx_free[2];
    ofi_rndv_t *rndv_live;
    size_t tx_pending;            /* send completions still to come (or posts deferred) */
    uint32_t tag_next;
    /* completions read while waiting, handled by the next progress */
    struct fi_cq_msg_entry stash[OFI_BATCH];
    int nstash, stash_pos;
    unsigned long long ndelivered;
    int closing;
    double idle_since;            /* > 0: nothing has completed since then */
    double fatal_at;              /* > 0: a peer's operation failed; abort then */
    char fatal_msg[512];
} ofi_tp_t;

extern TP_PLUGIN_EXPORT const tp_ops_t tern_tp_ofi_ops;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int prov_is_shm(const char *prov)
{
    /* "shm", or a utility provider layered over it ("shm;ofi_..."). */
    return strncmp(prov, "shm", 3) == 0 && (prov[3] == 0 || prov[3] == ';');
}

static int info_is_loopback(const struct fi_info *fi)
{
    if (!fi->src_addr)
        return 0;
    if (fi->addr_format == FI_SOCKADDR_IN && fi->src_addrlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *a = fi->src_addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (fi->addr_format == FI_SOCKADDR_IN6 && fi->src_addrlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *a = fi->src_addr;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return 0;
}

static uint64_t ofi_tag(int pe, uint32_t n)
{
    return ((uint64_t)(uint32_t)pe << 32) | n;
}

static size_t chunk_len(size_t len, size_t chunk, size_t i)
{
    size_t off = i * chunk;
    return len - off < chunk ? len - off : chunk;
}

static void gather(unsigned char *dst, const tern_iov_t *iov, int niov)
{
    for (int i = 0; i < niov; i++) {
        if (iov[i].len) {
            memcpy(dst, iov[i].base, iov[i].len);
            dst += iov[i].len;
        }
    }
}

static unsigned char *rx_buf(ofi_tp_t *t, size_t i)
{
    return t->rx_mem + i * t->rx_stride;
}

/* ---- message blocks ---- */

/* A block of at least `need` bytes, 64-byte aligned; NULL when memory is short. */
static void *blk_get(ofi_pool_t *pool, size_t need)
{
    ofi_blk_t **best = NULL;
    for (ofi_blk_t **pp = &pool->free; *pp; pp = &(*pp)->next)
        if ((*pp)->cap >= need && (*pp)->cap / 2 <= need && (!best || (*pp)->cap < (*best)->cap))
            best = pp;
    ofi_blk_t *b;
    if (best) {
        b = *best;
        *best = b->next;
        pool->nfree--;
        pool->bytes -= b->cap;
        return (unsigned char *)b + OFI_BLK_HDR;
    }
    if (need > SIZE_MAX - OFI_BLK_HDR - 4096)
        return NULL;
    size_t cap = (need + 4095) & ~(size_t)4095;
    void *p = NULL;
    if (posix_memalign(&p, 64, OFI_BLK_HDR + cap) != 0)
        return NULL;
    b = p;
    b->pool = pool;
    b->next = NULL;
    b->cap = cap;
    return (unsigned char *)p + OFI_BLK_HDR;
}

static void blk_put(void *obj)
{
    ofi_blk_t *b = (ofi_blk_t *)((unsigned char *)obj - OFI_BLK_HDR);
    ofi_pool_t *pool = b->pool;
    if (!pool->open || b->cap < OFI_POOL_MIN || b->cap > OFI_POOL_BYTES) {
        free(b);
        return;
    }
    b->next = pool->free;
    pool->free = b;
    pool->nfree++;
    pool->bytes += b->cap;
    while (pool->nfree > OFI_POOL_BLOCKS || pool->bytes > OFI_POOL_BYTES) {
        ofi_blk_t **pp = &pool->free; /* drop the oldest */
        while ((*pp)->next)
            pp = &(*pp)->next;
        pool->nfree--;
        pool->bytes -= (*pp)->cap;
        free(*pp);
        *pp = NULL;
    }
}

static void pool_close(ofi_pool_t *pool)
{
    if (!pool)
        return;
    pool->open = 0;
    while (pool->free) {
        ofi_blk_t *b = pool->free;
        pool->free = b->next;
        free(b);
    }
    pool->nfree = pool->bytes = 0;
    if (pool->lent == 0)
        free(pool);
}

/* ---- failures ---- */

static void ofi_fatal_check(ofi_tp_t *t)
{
    if (t->fatal_at > 0 && now_s() >= t->fatal_at) {
        util_log_error("%s", t->fatal_msg);
        abort();
    }
}

/* An operation toward `pe` (-1: unknown) failed. Fatal, unless the job ends first. */
static void ofi_peer_failed(ofi_tp_t *t, const char *what, int pe, int err, const char *detail)
{
    char who[32];
    if (pe >= 0)
        snprintf(who, sizeof who, "PE %d", pe);
    else
        snprintf(who, sizeof who, "a peer");
    if (t->closing) {
        util_log_info(1, "ofi transport: at exit, %s %s failed: %s (%s)", what, who,
                      fi_strerror(err), detail);
        return;
    }
    if (t->fatal_at > 0)
        return;
    snprintf(t->fatal_msg, sizeof t->fatal_msg, "ofi transport: %s %s failed: %s (%s)", what,
             who, fi_strerror(err), detail);
    t->fatal_at = now_s() + OFI_GRACE_S;
    util_log_info(1, "%s; the job ends in %.0f s unless it is ending anyway", t->fatal_msg,
                  OFI_GRACE_S);
}

/* ---- posting, or deferring when the provider is short of resources ---- */

static ssize_t ofi_post(ofi_tp_t *t, ofi_op_t *op)
{
    switch (op->type) {
    case OP_RX_EAGER:
        return fi_recv(t->ep, rx_buf(t, op->idx), t->buf_bytes, NULL, FI_ADDR_UNSPEC,
                       &op->fctx);
    case OP_RX_CHUNK: {
        ofi_held_t *h = op->owner;
        return fi_trecv(t->ep, h->data + op->idx * h->chunk, chunk_len(h->len, h->chunk, op->idx),
                        NULL, FI_ADDR_UNSPEC, ofi_tag(op->pe, h->tag + (uint32_t)op->idx), 0,
                        &op->fctx);
    }
    case OP_TX_CHUNK: {
        ofi_rndv_t *r = op->owner;
        return fi_tsend(t->ep, r->data + op->idx * r->chunk, chunk_len(r->len, r->chunk, op->idx),
                        NULL, t->peers[r->pe].addr, ofi_tag(t->my_pe, r->tag + (uint32_t)op->idx),
                        &op->fctx);
    }
    default:
        return -FI_EINVAL;
    }
}

static const char *op_what(int type)
{
    switch (type) {
    case OP_RX_EAGER: return "a receive from";
    case OP_RX_CHUNK: return "a large receive from";
    case OP_TX_CHUNK: return "a large send to";
    default: return "a send to";
    }
}

static void tx_put(ofi_tp_t *t, struct ofi_tx *x);
static void rndv_unlink_free(ofi_tp_t *t, ofi_rndv_t *r);

/* An operation that will never complete (it failed, or posting it did): report it, and
 * count it as done so that nothing waits for it. */
static void ofi_op_failed(ofi_tp_t *t, ofi_op_t *op, int err, const char *detail)
{
    ofi_peer_failed(t, op_what(op->type), op->pe, err, detail);
    op->posted = 0;
    if (op->type == OP_TX_EAGER) {
        t->tx_pending--;
        tx_put(t, (ofi_tx_t *)op);
    } else if (op->type == OP_TX_CHUNK) {
        ofi_rndv_t *r = op->owner;
        t->tx_pending--;
        if (--r->pending == 0)
            rndv_unlink_free(t, r);
    }
}

static void ofi_defer(ofi_tp_t *t, ofi_op_t *op)
{
    op->next = NULL;
    if (t->defer_tail)
        t->defer_tail->next = op;
    else
        t->defer_head = op;
    t->defer_tail = op;
}

static void ofi_post_or_defer(ofi_tp_t *t, ofi_op_t *op)
{
    if (t->defer_head) {
        ofi_defer(t, op);
        return;
    }
    ssize_t r = ofi_post(t, op);
    if (r == 0) {
        op->posted = 1;
    } else if (r == -FI_EAGAIN) {
        ofi_defer(t, op);
    } else {
        ofi_op_failed(t, op, (int)-r, "refused when posted");
    }
}

static void ofi_retry_deferred(ofi_tp_t *t)
{
    ofi_op_t *op;
    while ((op = t->defer_head)) {
        ssize_t r = ofi_post(t, op);
        if (r == -FI_EAGAIN)
            return;
        t->defer_head = op->next;
        if (!t->defer_head)
            t->defer_tail = NULL;
        if (r == 0)
            op->posted = 1;
        else
            ofi_op_failed(t, op, (int)-r, "refused when posted");
    }
}

/* ---- receiving ---- */

static void ofi_deliver(ofi_tp_t *t, int src, void *buf, size_t len, tp_rx_ref_t *ref)
{
    t->ndelivered++;
    t->params.deliver(t->params.deliver_arg, src, buf, len, ref);
}

/* The core is done with a large message (ref first in its ofi_held_t). */
static void held_release(tp_rx_ref_t *rel)
{
    ofi_blk_t *b = (ofi_blk_t *)((unsigned char *)rel - OFI_BLK_HDR);
    ofi_pool_t *pool = b->pool;
    blk_put(rel);
    if (--pool->lent == 0 && !pool->open)
        free(pool);
}

/* A block holding the struct, `nchunks` ops and `len` bytes at a 64-byte boundary. */
static ofi_held_t *held_new(ofi_tp_t *t, size_t len, size_t nchunks, int src)
{
    size_t head = offsetof(ofi_held_t, ops) + nchunks * sizeof(ofi_op_t);
    head = (head + 63) & ~(size_t)63;
    void *p = NULL;
    if (len > SIZE_MAX - head || !(p = blk_get(t->pool, head + len))) {
        util_log_error("ofi transport: out of memory for a %zu-byte message from PE %d", len,
                       src);
        abort();
    }
    ofi_held_t *h = p;
    memset(h, 0, head);
    h->ref.release = held_release;
    h->len = len;
    h->nchunks = nchunks;
    h->pending = nchunks;
    h->data = (unsigned char *)p + head;
    return h;
}

static void held_insert(ofi_peer_t *p, ofi_held_t *h)
{
    if (!p->held_tail || (int32_t)(h->seq - p->held_tail->seq) > 0) {
        h->next = NULL;
        if (p->held_tail)
            p->held_tail->next = h;
        else
            p->held = h;
        p->held_tail = h;
        return;
    }
    ofi_held_t **pp = &p->held;
    while ((int32_t)((*pp)->seq - h->seq) < 0)
        pp = &(*pp)->next;
    h->next = *pp;
    *pp = h;
}

/* Deliver what is complete and next in line from `src`. */
static void ofi_drain(ofi_tp_t *t, int src)
{
    ofi_peer_t *p = &t->peers[src];
    ofi_held_t *h;
    while ((h = p->held) && h->seq == p->seq_in && h->pending == 0) {
        p->held = h->next;
        if (!p->held)
            p->held_tail = NULL;
        p->seq_in++;
        if (h->nchunks) {
            t->pool->lent++; /* until the core releases it */
            ofi_deliver(t, src, h->data, h->len, &h->ref);
        } else {
            ofi_deliver(t, src, h->data, h->len, NULL);
            blk_put(h);
        }
    }
}

static void ofi_malformed(size_t len, const ofi_hdr_t *h)
{
    util_log_error("ofi transport: malformed message of %zu bytes (source %u, kind %u): "
                   "do all processes run the same build?", len, h->src, h->kind);
    abort();
}

static void ofi_on_message(ofi_tp_t *t, unsigned char *buf, size_t len)
{
    ofi_hdr_t h = {0};
    if (len >= sizeof h)
        memcpy(&h, buf, sizeof h);
    if (len < sizeof h || h.src >= (uint32_t)t->npes || (int)h.src == t->my_pe)
        ofi_malformed(len, &h);
    int src = (int)h.src;
    ofi_peer_t *p = &t->peers[src];
    if (h.kind == OFI_K_DATA) {
        size_t n = len - sizeof h;
        if (h.seq == p->seq_in) {
            /* Its turn (nothing before it is held back): straight from the buffer. */
            p->seq_in++;
            ofi_deliver(t, src, buf + sizeof h, n, NULL);
        } else {
            ofi_held_t *x = held_new(t, n, 0, src);
            x->seq = h.seq;
            memcpy(x->data, buf + sizeof h, n);
            held_insert(p, x);
        }
    } else if (h.kind == OFI_K_RTS && len == sizeof(ofi_rts_msg_t)) {
        ofi_rts_t r;
        memcpy(&r, buf + sizeof h, sizeof r);
        if (r.chunk == 0 || r.len == 0 || r.len > SIZE_MAX / 2)
            ofi_malformed(len, &h);
        size_t nchunks = (size_t)((r.len - 1) / r.chunk + 1);
        ofi_held_t *x = held_new(t, (size_t)r.len, nchunks, src);
        x->seq = h.seq;
        x->tag = r.tag;
        x->chunk = (size_t)r.chunk;
        held_insert(p, x);
        for (size_t i = 0; i < nchunks; i++) {
            ofi_op_t *op = &x->ops[i];
            op->type = OP_RX_CHUNK;
            op->pe = src;
            op->owner = x;
            op->idx = i;
            ofi_post_or_defer(t, op);
        }
    } else {
        ofi_malformed(len, &h);
    }
    ofi_drain(t, src);
}

/* ---- sending ---- */

static ofi_tx_t *tx_get(ofi_tp_t *t, size_t len)
{
    int big = len > OFI_TX_SMALL;
    ofi_tx_t *x = t->tx_free[big];
    if (x) {
        t->tx_free[big] = x->next;
        t->ntx_free[big]--;
    } else if (!(x = malloc(sizeof *x + (big ? t->buf_bytes : OFI_TX_SMALL)))) {
        return NULL;
    }
    memset(&x->op, 0, sizeof x->op);
    x->op.type = OP_TX_EAGER;
    x->big = big;
    x->prev = NULL;
    x->next = t->tx_live;
    if (t->tx_live)
        t->tx_live->prev = x;
    t->tx_live = x;
    return x;
}

static void tx_put(ofi_tp_t *t, ofi_tx_t *x)
{
    if (x->prev)
        x->prev->next = x->next;
    else
        t->tx_live = x->next;
    if (x->next)
        x->next->prev = x->prev;
    if (t->ntx_free[x->big] < (x->big ? OFI_TX_KEEP_BIG : OFI_TX_KEEP)) {
        x->next = t->tx_free[x->big];
        t->tx_free[x->big] = x;
        t->ntx_free[x->big]++;
    } else {
        free(x);
    }
}

static void rndv_unlink_free(ofi_tp_t *t, ofi_rndv_t *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        t->rndv_live = r->next;
    if (r->next)
        r->next->prev = r->prev;
    blk_put(r);
}

/* One eager message: `pre` (header, or a whole RTS) then the caller's buffers. */
static ssize_t ofi_send_eager(ofi_tp_t *t, int pe, const void *pre, size_t prelen,
                              const tern_iov_t *iov, int niov, size_t total)
{
    ofi_tx_t *x = tx_get(t, prelen + total);
    if (!x)
        return -FI_ENOMEM;
    x->op.pe = pe;
    memcpy(x->data, pre, prelen);
    gather(x->data + prelen, iov, niov);
    ssize_t r = fi_send(t->ep, x->data, prelen + total, NULL, t->peers[pe].addr, &x->op.fctx);
    if (r)
        tx_put(t, x);
    else
        t->tx_pending++;
    return r;
}

static ssize_t ofi_send_rndv(ofi_tp_t *t, int pe, uint32_t seq, const tern_iov_t *iov, int niov,
                             size_t total)
{
    size_t nchunks = (total - 1) / t->chunk + 1;
    size_t head = offsetof(ofi_rndv_t, ops) + nchunks * sizeof(ofi_op_t);
    head = (head + 63) & ~(size_t)63;
    void *p = NULL;
    if (total > SIZE_MAX - head || !(p = blk_get(t->pool, head + total)))
        return -FI_ENOMEM;
    ofi_rndv_t *r = p;
    memset(r, 0, head);
    r->data = (unsigned char *)p + head;
    r->len = total;
    r->chunk = t->chunk;
    r->nchunks = nchunks;
    r->pending = nchunks;
    r->tag = t->tag_next;
    r->pe = pe;
    ofi_rts_msg_t rts = {
        .h = {(uint32_t)t->my_pe, seq, OFI_K_RTS, 0},
        .r = {total, t->chunk, r->tag, 0},
    };
    ssize_t ret = ofi_send_eager(t, pe, &rts, sizeof rts, NULL, 0, 0);
    if (ret) {
        blk_put(r);
        return ret;
    }
    t->tag_next += (uint32_t)nchunks;
    gather(r->data, iov, niov);
    r->next = t->rndv_live;
    if (t->rndv_live)
        t->rndv_live->prev = r;
    t->rndv_live = r;
    t->tx_pending += nchunks;
    for (size_t i = 0; i < nchunks; i++) {
        ofi_op_t *op = &r->ops[i];
        op->type = OP_TX_CHUNK;
        op->pe = pe;
        op->owner = r;
        op->idx = i;
        ofi_post_or_defer(t, op);
    }
    return 0;
}

/* ---- completions ---- */

static void ofi_complete(ofi_tp_t *t, const struct fi_cq_msg_entry *e)
{
    ofi_op_t *op = e->op_context;
    switch (op->type) {
    case OP_RX_EAGER:
        op->posted = 0;
        if (t->closing)
            return; /* leaving: dropped, not posted again */
        ofi_on_message(t, rx_buf(t, op->idx), e->len);
        ofi_post_or_defer(t, op);
        return;
    case OP_RX_CHUNK: {
        ofi_held_t *h = op->owner;
        op->posted = 0;
        if (e->len != chunk_len(h->len, h->chunk, op->idx)) {
            util_log_error("ofi transport: part %zu of a %zu-byte message from PE %d has %zu "
                           "bytes, not %zu", op->idx, h->len, op->pe, e->len,
                           chunk_len(h->len, h->chunk, op->idx));
            abort();
        }
        if (--h->pending == 0 && !t->closing)
            ofi_drain(t, op->pe);
        return;
    }
    case OP_TX_EAGER:
        t->tx_pending--;
        tx_put(t, (ofi_tx_t *)op);
        return;
    case OP_TX_CHUNK: {
        ofi_rndv_t *r = op->owner;
        t->tx_pending--;
        if (--r->pending == 0)
            rndv_unlink_free(t, r);
        return;
    }
    }
}

static void ofi_cq_error(ofi_tp_t *t)
{
    struct fi_cq_err_entry err;
    memset(&err, 0, sizeof err);
    ssize_t n = fi_cq_readerr(t->cq, &err, 0);
    if (n == -FI_EAGAIN)
        return;
    if (n < 0) {
        util_log_error("ofi transport: fi_cq_readerr: %s", fi_strerror((int)-n));
        abort();
    }
    ofi_op_t *op = err.op_context;
    char buf[256];
    const char *detail = fi_cq_strerror(t->cq, err.prov_errno, err.err_data, buf, sizeof buf);
    if (!detail)
        detail = "no detail";
    if (!op) {
        ofi_peer_failed(t, "an operation with", -1, err.err, detail);
        return;
    }
    if (err.err == FI_ECANCELED && t->closing)
        return;
    ofi_op_failed(t, op, err.err, detail);
}

/* Read up to `batches` batches of completions and handle them; returns how many. */
static int ofi_poll_cq(ofi_tp_t *t, int batches)
{
    struct fi_cq_msg_entry ents[OFI_BATCH];
    int done = 0;
    while (t->stash_pos < t->nstash) {
        /* Read while waiting: they come first. */
        struct fi_cq_msg_entry e = t->stash[t->stash_pos++];
        ofi_complete(t, &e);
        done++;
    }
    t->nstash = t->stash_pos = 0;
    for (int b = 0; b < batches; b++) {
        ssize_t n = fi_cq_read(t->cq, ents, OFI_BATCH);
        if (n == -FI_EAGAIN)
            break;
        if (n == -FI_EAVAIL) {
            ofi_cq_error(t);
            done++;
            continue;
        }
        if (n < 0) {
            util_log_error("ofi transport: fi_cq_read: %s", fi_strerror((int)-n));
            abort();
        }
        for (ssize_t i = 0; i < n; i++)
            ofi_complete(t, &ents[i]);
        done += (int)n;
        if (n < OFI_BATCH)
            break;
    }
    return done;
}

static int ofi_progress(tp_t *tp)
{
    ofi_tp_t *t = (ofi_tp_t *)tp;
    unsigned long long before = t->ndelivered;
    if (ofi_poll_cq(t, 4))
        t->idle_since = 0;
    if (t->defer_head)
        ofi_retry_deferred(t);
    if (t->fatal_at > 0)
        ofi_fatal_check(t);
    return (int)(t->ndelivered - before);
}

/* ---- the transport's entry points ---- */

static tern_status_t ofi_send(tp_t *tp, int pe, const tern_iov_t *iov, int niov, size_t total,
                              tp_send_done_t *done)
{
    (void)done; /* buffers are always copied: never TERN_INPROGRESS */
    ofi_tp_t *t = (ofi_tp_t *)tp;
    if (pe < 0 || pe >= t->npes || pe == t->my_pe || t->peers[pe].addr == FI_ADDR_NOTAVAIL)
        return TERN_ERR_RANGE;
    ofi_peer_t *p = &t->peers[pe];
    ssize_t r;
    if (total <= t->eager_max) {
        ofi_hdr_t h = {(uint32_t)t->my_pe, p->seq_out, OFI_K_DATA, 0};
        r = ofi_send_eager(t, pe, &h, sizeof h, iov, niov, total);
    } else {
        r = ofi_send_rndv(t, pe, p->seq_out, iov, niov, total);
    }
    if (r == 0) {
        p->seq_out++;
        t->idle_since = 0; /* busy again: short sleeps while this completes */
        return TERN_OK;
    }
    if (r == -FI_EAGAIN) {
        /* Nothing left; completions may free what the provider lacks. */
        ofi_progress(tp);
        return TERN_ERR_RETRY;
    }
    if (r == -FI_ENOMEM) {
        util_log_error("ofi transport: out of memory sending %zu bytes to PE %d", total, pe);
        return TERN_ERR_NOMEM;
    }
    util_log_error("ofi transport: sending %zu bytes to PE %d: %s", total, pe,
                   fi_strerror((int)-r));
    return TERN_ERR_IO;
}

static size_t ofi_max_msg(tp_t *tp)
{
    (void)tp;
    return 0; /* rendezvous are split into chunks the provider takes */
}

static int ofi_reaches(tp_t *tp, int pe)
{
    ofi_tp_t *t = (ofi_tp_t *)tp;
    if (pe < 0 || pe >= t->npes || pe == t->my_pe || t->peers[pe].addr == FI_ADDR_NOTAVAIL)
        return 0;
    return !t->base.host_only || t->peers[pe].same_host;
}

static long cap_timeout(ofi_tp_t *t, long timeout_us)
{
    long cap = -1;
    if (t->defer_head)
        cap = OFI_DEFER_US;
    if (t->fatal_at > 0) {
        long left = (long)((t->fatal_at - now_s()) * 1e6) + 1;
        if (left < 0)
            left = 0;
        if (cap < 0 || left < cap)
            cap = left;
    }
    if (cap >= 0 && (timeout_us < 0 || timeout_us > cap))
        return cap;
    return timeout_us;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static void ofi_wait(tp_t *tp, long timeout_us)
{
    ofi_tp_t *t = (ofi_tp_t *)tp;
    if (t->stash_pos < t->nstash)
        return;
    timeout_us = cap_timeout(t, timeout_us);
    if (t->wait_fd >= 0) {
        struct fid *f = &t->cq->fid;
        int r = fi_trywait(t->fabric, &f, 1);
        if (r == -FI_EAGAIN)
            return; /* completions are there, or the provider has work to do */
        if (r == FI_SUCCESS) {
            struct pollfd pfd = {.fd = t->wait_fd, .events = POLLIN};
            struct timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};
            ppoll(&pfd, 1, timeout_us < 0 ? NULL : &ts, NULL);
            return;
        }
        /* fi_trywait unsupported: sleep in slices as without an fd */
    }
    /* No wait object: look at the CQ (the read drives the provider, but completions are
     * kept for the next progress), and sleep in slices in between: short ones at first,
     * longer the longer the PE has been idle (the delay a message may see stays under an
     * eighth of the time it was idle), so that an idle PE costs a few percent of a core. */
    double now = now_s();
    double end = timeout_us < 0 ? -1 : now + (double)timeout_us * 1e-6;
    if (t->idle_since <= 0)
        t->idle_since = now;
    for (;;) {
        ssize_t n = fi_cq_read(t->cq, t->stash, OFI_BATCH);
        if (n > 0) {
            t->nstash = (int)n;
            t->stash_pos = 0;
            return;
        }
        if (n != -FI_EAGAIN)
            return; /* an error: progress reports it */
        now = now_s();
        long slice = (long)((now - t->idle_since) * 1e6 / 8);
        if (slice < OFI_SLICE_MIN_US)
            slice = OFI_SLICE_MIN_US;
        if (slice > OFI_SLICE_MAX_US)
            slice = OFI_SLICE_MAX_US;
        if (end >= 0) {
            double left = (end - now) * 1e6;
            if (left <= 0)
                return;
            if (left < (double)slice)
                slice = (long)left + 1;
        }
        sleep_us(slice);
    }
}

static int ofi_arm(tp_t *tp)
{
    ofi_tp_t *t = (ofi_tp_t *)tp;
    if (t->stash_pos < t->nstash)
        return TP_ARM_BUSY;
    if (t->wait_fd < 0 || t->defer_head || t->fatal_at > 0)
        return TP_ARM_NOFD; /* the core comes back after a short slice */
    struct fid *f = &t->cq->fid;
    int r = fi_trywait(t->fabric, &f, 1);
    if (r == FI_SUCCESS)
        return t->wait_fd;
    if (r == -FI_EAGAIN)
        return TP_ARM_BUSY;
    return TP_ARM_NOFD;
}

static void ofi_disarm(tp_t *tp)
{
    (void)tp; /* fi_trywait leaves nothing to undo */
}

/* ---- start-up and shutdown ---- */

static void ofi_close_fids(ofi_tp_t *t)
{
    if (t->ep)
        fi_close(&t->ep->fid);
    if (t->cq)
        fi_close(&t->cq->fid);
    if (t->av)
        fi_close(&t->av->fid);
    if (t->domain)
        fi_close(&t->domain->fid);
    if (t->fabric)
        fi_close(&t->fabric->fid);
    t->ep = NULL;
    t->cq = NULL;
    t->av = NULL;
    t->domain = NULL;
    t->fabric = NULL;
    t->wait_fd = -1;
}

/* Open fabric, domain, AV, CQ and endpoint on `fi`; on failure *what names the call. */
static int ofi_try_open(ofi_tp_t *t, struct fi_info *fi, const char **what)
{
    int ret;
    *what = "fi_fabric";
    if ((ret = fi_fabric(fi->fabric_attr, &t->fabric, NULL)))
        goto fail;
    *what = "fi_domain";
    if ((ret = fi_domain(t->fabric, fi, &t->domain, NULL)))
        goto fail;
    *what = "fi_av_open";
    struct fi_av_attr av_attr = {.type = FI_AV_TABLE, .count = (size_t)t->npes};
    if ((ret = fi_av_open(t->domain, &av_attr, &t->av, NULL)))
        goto fail;
    *what = "fi_cq_open";
    struct fi_cq_attr cq_attr = {
        .size = fi->tx_attr->size + fi->rx_attr->size,
        .format = FI_CQ_FORMAT_MSG,
        .wait_obj = FI_WAIT_FD,
    };
    ret = fi_cq_open(t->domain, &cq_attr, &t->cq, NULL);
    if (ret == 0 && fi_control(&t->cq->fid, FI_GETWAIT, &t->wait_fd) != 0) {
        fi_close(&t->cq->fid);
        t->cq = NULL;
        ret = -FI_ENOSYS;
    }
    if (ret) {
        util_log_info(2, "ofi transport: %s gives no CQ with a wait fd (%s); polling when idle",
                      fi->fabric_attr->prov_name, fi_strerror(-ret));
        t->wait_fd = -1;
        cq_attr.wait_obj = FI_WAIT_NONE;
        if ((ret = fi_cq_open(t->domain, &cq_attr, &t->cq, NULL)))
            goto fail;
    }
    *what = "fi_endpoint";
    if ((ret = fi_endpoint(t->domain, fi, &t->ep, NULL)))
        goto fail;
    *what = "fi_ep_bind (AV)";
    if ((ret = fi_ep_bind(t->ep, &t->av->fid, 0)))
        goto fail;
    *what = "fi_ep_bind (CQ)";
    if ((ret = fi_ep_bind(t->ep, &t->cq->fid, FI_TRANSMIT | FI_RECV)))
        goto fail;
    *what = "fi_enable";
    if ((ret = fi_enable(t->ep)))
        goto fail;
    *what = "fi_getname";
    size_t len = sizeof t->name - 1;
    if ((ret = fi_getname(&t->ep->fid, t->name, &len)))
        goto fail;
    t->name[len] = 0; /* FI_ADDR_STR names are strings */
    t->namelen = fi->addr_format == FI_ADDR_STR ? strlen((char *)t->name) + 1 : len;
    return 0;
fail:
    ofi_close_fids(t);
    return ret;
}

/*
 * Find a provider and open an endpoint on it: the forced one (`want`), or the first that
 * opens, skipping shm (and loopback interfaces) unless every PE is on one host.
 * Returns 0 or a negative libfabric error, with *what naming the call that failed.
 */
static int ofi_choose(ofi_tp_t *t, const char *want, int forced, int one_host,
                      const char **what)
{
    struct fi_info *hints = fi_allocinfo(), *list = NULL;
    *what = "fi_allocinfo";
    if (!hints)
        return -FI_ENOMEM;
    hints->caps = FI_MSG | FI_TAGGED;
    hints->mode = FI_CONTEXT | FI_CONTEXT2;
    hints->ep_attr->type = FI_EP_RDM;
    hints->domain_attr->mr_mode = FI_MR_VIRT_ADDR | FI_MR_ALLOCATED | FI_MR_PROV_KEY;
    hints->domain_attr->threading = FI_THREAD_DOMAIN;
    if (forced && !(hints->fabric_attr->prov_name = strdup(want))) {
        fi_freeinfo(hints);
        return -FI_ENOMEM;
    }
    *what = "fi_getinfo";
    int ret = fi_getinfo(OFI_API, NULL, NULL, 0, hints, &list);
    fi_freeinfo(hints);
    if (ret)
        return ret;
    ret = -FI_ENODATA;
    for (struct fi_info *fi = list; fi; fi = fi->next) {
        const char *prov = fi->fabric_attr->prov_name;
        if (!one_host && ((!forced && prov_is_shm(prov)) || info_is_loopback(fi)))
            continue;
        const char *w;
        int r = ofi_try_open(t, fi, &w);
        if (r == 0) {
            t->info = fi_dupinfo(fi);
            if (!t->info) {
                ofi_close_fids(t);
                *what = "fi_dupinfo";
                ret = -FI_ENOMEM;
                break;
            }
            ret = 0;
            break;
        }
        util_log_info(2, "ofi transport: provider %s on %s does not start: %s: %s", prov,
                      fi->domain_attr->name ? fi->domain_attr->name : "?", w, fi_strerror(-r));
        ret = r;
        *what = w;
    }
    fi_freeinfo(list);
    return ret;
}

static void ofi_free_all(ofi_tp_t *t)
{
    ofi_close_fids(t);
    for (int pe = 0; t->peers && pe < t->npes; pe++) {
        ofi_held_t *h = t->peers[pe].held;
        while (h) {
            ofi_held_t *next = h->next;
            blk_put(h);
            h = next;
        }
    }
    ofi_tx_t *lists[3] = {t->tx_live, t->tx_free[0], t->tx_free[1]};
    for (int i = 0; i < 3; i++) {
        for (ofi_tx_t *x = lists[i]; x;) {
            ofi_tx_t *next = x->next;
            free(x);
            x = next;
        }
    }
    for (ofi_rndv_t *r = t->rndv_live; r;) {
        ofi_rndv_t *next = r->next;
        blk_put(r);
        r = next;
    }
    pool_close(t->pool);
    if (t->info)
        fi_freeinfo(t->info);
    free(t->rx_ops);
    free(t->rx_mem);
    free(t->peers);
    free(t);
}

/* After the exchange: where each peer is, its AV entry, and the receive buffers. */
static tern_status_t ofi_connect(ofi_tp_t *t, unsigned char *names, size_t stride,
                                 size_t addrlen, char (*hosts)[64])
{
    const tp_params_t *params = &t->params;
    t->peers = calloc((size_t)t->npes, sizeof *t->peers);
    fi_addr_t *addrs = calloc((size_t)t->npes, sizeof *addrs);
    int *who = calloc((size_t)t->npes, sizeof *who);
    /* FI_ADDR_STR names go to fi_av_insert as an array of strings, says fi_av(3); but
     * libfabric 1.17's shm reads them packed end to end instead (each with its NUL). */
    int as_ptrs = t->info->addr_format == FI_ADDR_STR &&
                  !prov_is_shm(t->info->fabric_attr->prov_name);
    const char **strs = as_ptrs ? calloc((size_t)t->npes, sizeof *strs) : NULL;
    if (!t->peers || !addrs || !who || (as_ptrs && !strs)) {
        free(addrs);
        free(who);
        free(strs);
        util_log_error("ofi transport: out of memory for %d peers", t->npes);
        return TERN_ERR_NOMEM;
    }
    /* The names to insert, packed (in place: each moves down, if at all): every PE's, or
     * for a host-only provider (shm) those of my host only - another host's shm name means
     * nothing here. */
    size_t off = 0;
    int n = 0;
    for (int pe = 0; pe < t->npes; pe++) {
        t->peers[pe].addr = FI_ADDR_NOTAVAIL;
        if (params->pe_host)
            t->peers[pe].same_host = params->pe_host[pe] == params->pe_host[t->my_pe];
        else
            t->peers[pe].same_host = strcmp(hosts[pe], hosts[t->my_pe]) == 0;
        if (t->base.host_only && !t->peers[pe].same_host)
            continue;
        unsigned char *name = names + (size_t)pe * stride;
        if (as_ptrs) {
            strs[n] = (const char *)name;
        } else {
            size_t len = t->info->addr_format == FI_ADDR_STR ? strlen((char *)name) + 1 : addrlen;
            memmove(names + off, name, len);
            off += len;
        }
        addrs[n] = FI_ADDR_NOTAVAIL;
        who[n++] = pe;
    }
    /* All at once. */
    int got = fi_av_insert(t->av, as_ptrs ? (void *)strs : (void *)names, (size_t)n, addrs, 0,
                           NULL);
    free(strs);
    if (got != n) {
        int bad = 0;
        while (bad < n && addrs[bad] != FI_ADDR_NOTAVAIL)
            bad++;
        util_log_error("ofi transport: fi_av_insert of %d addresses: %s (PE %d's among those "
                       "refused)", n, got < 0 ? fi_strerror(-got) : "some refused",
                       bad < n ? who[bad] : -1);
        free(addrs);
        free(who);
        return TERN_ERR_IO;
    }
    for (int i = 0; i < n; i++)
        t->peers[who[i]].addr = addrs[i];
    free(addrs);
    free(who);

    size_t rx_size = t->info->rx_attr->size;
    t->rx_stride = (t->buf_bytes + 63) & ~(size_t)63;
    /* OFI_NRX buffers, fewer when they would take more than OFI_RX_BYTES (a large
     * TERN_OFI_EAGER_MAX) or half the provider's receive queue; 4 at least. */
    t->nrx = OFI_NRX;
    if (t->nrx > OFI_RX_BYTES / t->rx_stride)
        t->nrx = OFI_RX_BYTES / t->rx_stride;
    if (rx_size && t->nrx > rx_size / 2)
        t->nrx = rx_size / 2;
    if (t->nrx < 4)
        t->nrx = 4;
    void *mem = NULL;
    t->rx_ops = calloc(t->nrx, sizeof *t->rx_ops);
    if (!t->rx_ops || posix_memalign(&mem, 64, t->nrx * t->rx_stride) != 0) {
        util_log_error("ofi transport: out of memory for %zu receive buffers of %zu bytes",
                       t->nrx, t->rx_stride);
        return TERN_ERR_NOMEM;
    }
    t->rx_mem = mem;
    for (size_t i = 0; i < t->nrx; i++) {
        ofi_op_t *op = &t->rx_ops[i];
        op->type = OP_RX_EAGER;
        op->pe = -1;
        op->idx = i;
        ofi_post_or_defer(t, op);
    }
    if (t->fatal_at > 0) {
        util_log_error("%s", t->fatal_msg);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t ofi_open(const tp_params_t *params, tp_t **out)
{
    tp_plugin_logger(params);
    boot_t *boot = params->boot;
    const char *want = util_opt_str("TERN_OFI_PROVIDER");
    int forced = strcmp(want, "auto") != 0;
    int one_host = params->pe_host ? params->nhosts <= 1 : boot->local_size == boot->size;
    ofi_tp_t *t = calloc(1, sizeof *t);
    ofi_rec_t *rec = calloc(1, sizeof *rec);
    if (!t || !rec) {
        free(t);
        free(rec);
        return TERN_ERR_NOMEM;
    }
    t->base.ops = &tern_tp_ofi_ops;
    t->base.flow_control = 1; /* providers buffer unexpected messages without limit */
    t->params = *params;
    t->my_pe = params->my_pe;
    t->npes = params->num_pes;
    t->wait_fd = -1;
    if (!(t->pool = calloc(1, sizeof *t->pool))) {
        free(t);
        free(rec);
        return TERN_ERR_NOMEM;
    }
    t->pool->open = 1;

    /* Set up here; whatever happens, publish a record and take part in the fence. */
    long eager = 0;
    int err = 0;
    const char *what = "";
    tern_status_t opt = util_opt_long("TERN_OFI_EAGER_MAX", 0, 1L << 30, &eager);
    if (opt != TERN_OK) {
        err = FI_EINVAL;
        what = "TERN_OFI_EAGER_MAX";
    } else {
        if (eager > OFI_EAGER_CAP) {
            util_log_info(1, "ofi transport: TERN_OFI_EAGER_MAX=%ld: %ld is the most used",
                          eager, OFI_EAGER_CAP);
            eager = OFI_EAGER_CAP;
        }
        err = -ofi_choose(t, want, forced, one_host, &what);
    }
    rec->magic = OFI_REC_MAGIC;
    rec->err = err;
    snprintf(rec->host, sizeof rec->host, "%s", boot->host);
    if (err == 0) {
        struct fi_info *fi = t->info;
        size_t max = fi->ep_attr->max_msg_size;
        if (max > sizeof(ofi_rts_msg_t) && (size_t)eager > max - sizeof(ofi_rts_msg_t))
            eager = (long)(max - sizeof(ofi_rts_msg_t));
        snprintf(rec->prov, sizeof rec->prov, "%s", fi->fabric_attr->prov_name);
        rec->addr_format = fi->addr_format;
        rec->addrlen = (uint32_t)t->namelen;
        rec->eager_max = (uint64_t)eager;
        memcpy(rec->addr, t->name, t->namelen);
    } else {
        snprintf(rec->prov, sizeof rec->prov, "%s", forced ? want : "auto");
        if (opt != TERN_OK) {
            /* util_opt_long said what is wrong */
        } else if (forced) {
            util_log_error("ofi transport: libfabric provider %s (TERN_OFI_PROVIDER) cannot "
                           "start: %s: %s%s", want, what, fi_strerror(err),
                           err == FI_ENODATA && strcmp(what, "fi_getinfo") == 0
                               ? " (no such provider, or none with reliable-datagram "
                                 "endpoints and tagged messages here; fi_info -l lists them)"
                               : "");
        } else {
            util_log_info(1, "ofi transport: no libfabric provider starts here (%s: %s)", what,
                          fi_strerror(err));
        }
    }
    size_t reclen = offsetof(ofi_rec_t, addr) + rec->addrlen;
    tern_status_t st = boot->ops->put(boot, OFI_KEY, rec, reclen);
    if (st == TERN_OK)
        st = boot->ops->commit(boot);
    tern_status_t fst = boot->ops->fence(boot); /* even after a failure: nobody waits for us */
    if (st == TERN_OK)
        st = fst;
    if (st != TERN_OK) {
        util_log_error("ofi transport: exchanging addresses through the bootstrap: %s",
                       tern_strerror(st));
        free(rec);
        ofi_free_all(t);
        return st;
    }

    /* Every process reads every record and reaches the same verdict. */
    size_t stride = OFI_NAME_MAX;
    unsigned char *names = err == 0 ? calloc((size_t)t->npes, stride) : NULL;
    char(*hosts)[64] = err == 0 ? calloc((size_t)t->npes, 64) : NULL;
    char ref_prov[64] = "";
    uint32_t ref_format = 0, ref_len = 0;
    uint64_t eager_min = (uint64_t)eager;
    int bad_pe = -1, bad_err = 0, diff_pe = -1;
    char bad_prov[64] = "", diff_prov[64] = "";
    if (err == 0 && (!names || !hosts)) {
        free(names);
        free(hosts);
        free(rec);
        ofi_free_all(t);
        util_log_error("ofi transport: out of memory for %d addresses", t->npes);
        return TERN_ERR_NOMEM;
    }
    for (int pe = 0; pe < t->npes; pe++) {
        size_t len = 0;
        memset(rec, 0, sizeof *rec);
        st = boot->ops->get(boot, pe, OFI_KEY, rec, sizeof *rec, &len);
        if (st != TERN_OK || len < offsetof(ofi_rec_t, addr) || rec->magic != OFI_REC_MAGIC ||
            rec->addrlen > OFI_NAME_MAX || len < offsetof(ofi_rec_t, addr) + rec->addrlen) {
            if (bad_pe < 0) {
                bad_pe = pe;
                bad_err = FI_EOTHER;
                snprintf(bad_prov, sizeof bad_prov, "(no address record)");
            }
            continue;
        }
        rec->prov[sizeof rec->prov - 1] = 0;
        rec->host[sizeof rec->host - 1] = 0;
        if (rec->err) {
            if (bad_pe < 0) {
                bad_pe = pe;
                bad_err = rec->err;
                snprintf(bad_prov, sizeof bad_prov, "%s", rec->prov);
            }
            continue;
        }
        if (!ref_prov[0]) {
            snprintf(ref_prov, sizeof ref_prov, "%s", rec->prov);
            ref_format = rec->addr_format;
            ref_len = rec->addrlen;
        } else if (diff_pe < 0 &&
                   (strcmp(rec->prov, ref_prov) != 0 || rec->addr_format != ref_format ||
                    (ref_format != FI_ADDR_STR && rec->addrlen != ref_len))) {
            diff_pe = pe;
            snprintf(diff_prov, sizeof diff_prov, "%s", rec->prov);
        }
        if (rec->eager_max < eager_min)
            eager_min = rec->eager_max;
        if (names) {
            memcpy(names + (size_t)pe * stride, rec->addr, rec->addrlen);
            if (rec->addr_format == FI_ADDR_STR)
                names[(size_t)pe * stride + stride - 1] = 0;
            snprintf(hosts[pe], 64, "%s", rec->host);
        }
    }
    free(rec);
    if (bad_pe >= 0 || diff_pe >= 0) {
        tern_status_t ret = TERN_ERR_UNSUPPORTED;
        if (opt != TERN_OK) {
            ret = TERN_ERR_INVALID; /* a malformed option is an error, forced or not */
        } else if (bad_pe >= 0 && forced) {
            ret = TERN_ERR_IO;
            if (err == 0 && t->my_pe == 0)
                util_log_error("ofi transport: libfabric provider %s (TERN_OFI_PROVIDER) cannot "
                               "start on PE %d: %s", want, bad_pe, fi_strerror(bad_err));
        } else if (bad_pe >= 0) {
            util_log_info(1, "ofi transport: not used: PE %d found no libfabric provider that "
                          "starts (%s: %s)", bad_pe, bad_prov, fi_strerror(bad_err));
        } else {
            util_log_info(1, "ofi transport: not used: PE %d chose provider %s, PE 0 %s",
                          diff_pe, diff_prov, ref_prov);
        }
        free(names);
        free(hosts);
        ofi_free_all(t);
        return ret;
    }

    /* Everybody is up on the same provider. */
    struct fi_info *fi = t->info;
    t->eager_max = (size_t)eager_min;
    t->buf_bytes = sizeof(ofi_hdr_t) + (t->eager_max > sizeof(ofi_rts_t) ? t->eager_max
                                                                           : sizeof(ofi_rts_t));
    t->chunk = fi->ep_attr->max_msg_size;
    if (t->chunk > (size_t)OFI_CHUNK_MAX)
        t->chunk = (size_t)OFI_CHUNK_MAX;
    if (t->chunk == 0)
        t->chunk = SIZE_MAX; /* 0: the provider names no limit */
    t->base.host_only = prov_is_shm(fi->fabric_attr->prov_name);
    snprintf(t->base.desc, sizeof t->base.desc, "ofi (%s)", fi->fabric_attr->prov_name);
    st = ofi_connect(t, names, stride, ref_len, hosts);
    free(names);
    free(hosts);
    if (st != TERN_OK) {
        ofi_free_all(t);
        return st;
    }
    char chunk[48] = "one piece";
    if (t->chunk != SIZE_MAX)
        snprintf(chunk, sizeof chunk, "pieces of %zu B", t->chunk);
    util_log_info(2, "ofi transport: %s on %s (%s), eager up to %zu B, "
                  "rendezvous in %s, %zu receive buffers, %s", fi->fabric_attr->prov_name,
                  fi->domain_attr->name ? fi->domain_attr->name : "?",
                  fi->fabric_attr->name ? fi->fabric_attr->name : "?", t->eager_max,
                  chunk, t->nrx,
                  t->wait_fd >= 0 ? "sleeps on the CQ's fd" : "polls in slices when idle");
    *out = &t->base;
    return TERN_OK;
}

static void ofi_close(tp_t *tp)
{
    ofi_tp_t *t = (ofi_tp_t *)tp;
    t->closing = 1;
    if (t->fatal_at > 0) {
        util_log_info(1, "ofi transport: the job ends anyway; not fatal: %s", t->fatal_msg);
        t->fatal_at = 0;
    }
    /* Posts still waiting for resources are dropped: nobody needs them any more. */
    for (ofi_op_t *op = t->defer_head; op; op = op->next) {
        if (op->type == OP_TX_CHUNK) {
            ofi_rndv_t *r = op->owner;
            t->tx_pending--;
            r->pending--;
        }
    }
    t->defer_head = t->defer_tail = NULL;
    /* Sends in flight (the last EXIT among them) must leave before the endpoint goes. */
    double end = now_s() + OFI_FLUSH_S;
    while (t->tx_pending > 0 && now_s() < end) {
        ofi_poll_cq(t, 4);
        if (t->tx_pending > 0)
            ofi_wait(tp, 1000);
    }
    if (t->tx_pending > 0)
        util_log_info(1, "ofi transport: closing with %zu sends unfinished", t->tx_pending);
    for (size_t i = 0; t->rx_ops && i < t->nrx; i++)
        if (t->rx_ops[i].posted)
            fi_cancel(&t->ep->fid, &t->rx_ops[i].fctx);
    for (int pe = 0; t->peers && pe < t->npes; pe++)
        for (ofi_held_t *h = t->peers[pe].held; h; h = h->next)
            for (size_t i = 0; i < h->nchunks; i++)
                if (h->ops[i].posted)
                    fi_cancel(&t->ep->fid, &h->ops[i].fctx);
    ofi_free_all(t);
}

static size_t ofi_pending(tp_t *tp)
{
    return ((ofi_tp_t *)tp)->tx_pending;
}

TP_PLUGIN_EXPORT const tp_ops_t tern_tp_ofi_ops = {
    .size = sizeof(tp_ops_t),
    .name = "ofi",
    .open = ofi_open,
    .reaches = ofi_reaches,
    .send = ofi_send,
    .max_msg = ofi_max_msg,
    .progress = ofi_progress,
    .wait = ofi_wait,
    .arm = ofi_arm,
    .disarm = ofi_disarm,
    .close = ofi_close,
    .pending = ofi_pending,
};
