/*
 * Shared-memory transport between the processes of one host.
 *
 * Each process owns one POSIX shared-memory segment holding
 *   - a header with its futex word (peers wake it when it sleeps),
 *   - one inbound ring per local peer (single producer, single consumer),
 *   - a heap where it writes its own large outgoing messages.
 * A small message is copied into the receiver's ring and out again. A large one is
 * written once into the sender's heap; the ring carries only its offset, the receiver
 * reads it in place and flags the block done when the core releases it, and the sender
 * reclaims flagged blocks. Segments are unlinked as soon as every peer has mapped them,
 * so nothing is left in /dev/shm whatever way the job ends after start-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "transports/shm/shm_heap.h"
#include "transports/shm/shm_ring.h"
#include "transports/transport.h"
#include "util/log.h"
#include "util/options.h"

#define SHM_MAGIC 0x7465726e73686d31ULL /* "ternshm1" */
#define SHM_HDR_BYTES 4096u
#define SHM_HEAP_MIN_BLOCK (64u * 1024u)
#define SHM_BLOCK_HDR 64u

typedef struct {
    uint64_t magic;
    int32_t pe;
    int32_t nlocal;
    uint64_t ring_size;
    uint64_t heap_size;
    uint64_t rings_off;
    uint64_t ring_stride;
    uint64_t heap_off;
    _Alignas(SHM_CACHELINE) _Atomic uint32_t wake;     /* futex word */
    _Alignas(SHM_CACHELINE) _Atomic uint32_t sleeping; /* 1 while the owner may sleep */
} shm_seg_hdr_t;

/* Head of a heap block; the message follows. */
typedef struct {
    _Atomic uint32_t done; /* set by the receiver when it no longer needs the block */
    uint32_t pad;
    uint64_t len;
} shm_block_t;

/* Ring record body announcing a heap message. */
typedef struct {
    uint64_t off;
    uint64_t len;
} shm_heap_rec_t;

struct shm_tp;

typedef struct shm_rx_ref {
    tp_rx_ref_t base;
    _Atomic uint32_t *done;
    struct shm_tp *owner;        /* whose free list it goes back to */
    struct shm_rx_ref *next_free;
} shm_rx_ref_t;

typedef struct {
    shm_seg_hdr_t *seg;     /* the peer's segment, mapped */
    size_t seg_bytes;
    shm_ring_prod_t out;    /* my ring inside the peer's segment */
    shm_ring_cons_t in;     /* the peer's ring inside my segment */
    unsigned char *heap;    /* the peer's heap, where its large messages are */
} shm_peer_t;

typedef struct shm_tp {
    tp_t base;
    tp_params_t params;
    int my_pe;
    int npes;
    uint64_t ring_size;
    uint64_t eager_max;
    uint64_t heap_size;
    shm_seg_hdr_t *me;
    size_t me_bytes;
    shm_peer_t *peers;     /* by PE; peers[my_pe] unused */
    shm_heap_t heap;
    uint64_t *inflight;    /* offsets of my heap blocks a peer still reads */
    size_t ninflight;
    size_t inflight_cap;
    shm_rx_ref_t *free_refs;
    int rr;                /* where progress starts polling, for fairness */
} shm_tp_t;

static void *ring_at(shm_seg_hdr_t *seg, int slot)
{
    return (unsigned char *)seg + seg->rings_off + (uint64_t)slot * seg->ring_stride;
}

static void seg_name(char *buf, size_t cap, const char *jobid, int pe)
{
    snprintf(buf, cap, "/tern.%s.shm%d", jobid, pe);
}

static long futex(_Atomic uint32_t *addr, int op, uint32_t val, const struct timespec *ts)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, ts, NULL, 0);
}

static tern_status_t shm_read_options(shm_tp_t *s)
{
    long ring, eager, heap;
    if (util_opt_long("TERN_SHM_RING_SIZE", 4096, 1L << 30, &ring) != TERN_OK ||
        util_opt_long("TERN_SHM_EAGER_MAX", 0, 1L << 30, &eager) != TERN_OK ||
        util_opt_long("TERN_SHM_HEAP_SIZE", SHM_HEAP_MIN_BLOCK, 1L << 40, &heap) != TERN_OK)
        return TERN_ERR_INVALID;
    if (ring & (ring - 1)) {
        util_log_error("TERN_SHM_RING_SIZE=%ld must be a power of two", ring);
        return TERN_ERR_INVALID;
    }
    if (heap & (heap - 1)) {
        util_log_error("TERN_SHM_HEAP_SIZE=%ld must be a power of two", heap);
        return TERN_ERR_INVALID;
    }
    s->ring_size = (uint64_t)ring;
    s->heap_size = (uint64_t)heap;
    /* A record must fit in half a ring (see shm_ring_max_body). */
    s->eager_max = (uint64_t)eager;
    if (s->eager_max > shm_ring_max_body(s->ring_size))
        s->eager_max = shm_ring_max_body(s->ring_size);
    return TERN_OK;
}

static tern_status_t shm_create_own(shm_tp_t *s, const char *jobid)
{
    char name[128];
    seg_name(name, sizeof name, jobid, s->my_pe);
    uint64_t stride = (shm_ring_bytes(s->ring_size) + 4095) & ~(uint64_t)4095;
    uint64_t rings_off = SHM_HDR_BYTES;
    uint64_t heap_off = rings_off + stride * (uint64_t)s->npes;
    heap_off = (heap_off + SHM_HEAP_MIN_BLOCK - 1) & ~(uint64_t)(SHM_HEAP_MIN_BLOCK - 1);
    size_t bytes = heap_off + s->heap_size;

    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
        util_log_error("shm transport: shm_open(%s): %s", name, strerror(errno));
        return TERN_ERR_IO;
    }
    if (ftruncate(fd, (off_t)bytes) != 0) {
        util_log_error("shm transport: ftruncate(%s, %zu): %s", name, bytes, strerror(errno));
        goto err_unlink;
    }
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        util_log_error("shm transport: mmap(%s, %zu): %s", name, bytes, strerror(errno));
        goto err_unlink;
    }
    close(fd);
    shm_seg_hdr_t *h = p;
    h->pe = s->my_pe;
    h->nlocal = s->npes;
    h->ring_size = s->ring_size;
    h->heap_size = s->heap_size;
    h->rings_off = rings_off;
    h->ring_stride = stride;
    h->heap_off = heap_off;
    atomic_store(&h->wake, 0);
    atomic_store(&h->sleeping, 0);
    for (int pe = 0; pe < s->npes; pe++)
        shm_ring_format(ring_at(h, pe), s->ring_size, 0);
    atomic_thread_fence(memory_order_release);
    h->magic = SHM_MAGIC;
    s->me = h;
    s->me_bytes = bytes;
    return TERN_OK;
err_unlink:
    close(fd);
    shm_unlink(name);
    return TERN_ERR_IO;
}

static tern_status_t shm_attach_peer(shm_tp_t *s, const char *jobid, int pe)
{
    char name[128];
    seg_name(name, sizeof name, jobid, pe);
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) {
        util_log_error("shm transport: cannot open PE %d's segment %s: %s", pe, name,
                       strerror(errno));
        return TERN_ERR_IO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < SHM_HDR_BYTES) {
        util_log_error("shm transport: PE %d's segment %s is truncated", pe, name);
        close(fd);
        return TERN_ERR_IO;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        util_log_error("shm transport: mmap of PE %d's segment: %s", pe, strerror(errno));
        return TERN_ERR_IO;
    }
    shm_seg_hdr_t *h = p;
    if (h->magic != SHM_MAGIC || h->pe != pe || h->ring_size != s->ring_size) {
        util_log_error("shm transport: PE %d's segment does not match mine (different "
                       "TERN_SHM_* settings?)", pe);
        munmap(p, (size_t)st.st_size);
        return TERN_ERR_INVALID;
    }
    shm_peer_t *peer = &s->peers[pe];
    peer->seg = h;
    peer->seg_bytes = (size_t)st.st_size;
    peer->heap = (unsigned char *)h + h->heap_off;
    shm_ring_prod_init(&peer->out, ring_at(h, s->my_pe), s->ring_size);
    shm_ring_cons_init(&peer->in, ring_at(s->me, pe), s->ring_size);
    return TERN_OK;
}

static void shm_close(tp_t *tp);

static tern_status_t shm_open_tp(const tp_params_t *params, tp_t **out)
{
    boot_t *boot = params->boot;
    if (boot->local_size != boot->size) {
        util_log_info(1, "shm transport: PEs span hosts; not used");
        return TERN_ERR_UNSUPPORTED;
    }
    shm_tp_t *s = calloc(1, sizeof *s);
    if (!s)
        return TERN_ERR_NOMEM;
    extern const tp_ops_t shm_tp_ops;
    s->base.ops = &shm_tp_ops;
    s->params = *params;
    s->my_pe = params->my_pe;
    s->npes = params->num_pes;
    tern_status_t st = shm_read_options(s);
    if (st != TERN_OK)
        goto err_free;
    s->peers = calloc((size_t)s->npes, sizeof *s->peers);
    if (!s->peers) {
        st = TERN_ERR_NOMEM;
        goto err_free;
    }
    st = shm_heap_init(&s->heap, s->heap_size, SHM_HEAP_MIN_BLOCK);
    if (st != TERN_OK)
        goto err_free;
    st = shm_create_own(s, boot->jobid);
    /* Every process takes part in both fences even after a failure, so that nobody waits
     * for it; the failure is then reported through the caller's abort. */
    tern_status_t fst = boot->ops->fence(boot);
    if (st == TERN_OK && fst != TERN_OK)
        st = fst;
    for (int pe = 0; st == TERN_OK && pe < s->npes; pe++)
        if (pe != s->my_pe)
            st = shm_attach_peer(s, boot->jobid, pe);
    fst = boot->ops->fence(boot);
    if (s->me) {
        char name[128];
        seg_name(name, sizeof name, boot->jobid, s->my_pe);
        shm_unlink(name);
    }
    if (st == TERN_OK && fst != TERN_OK)
        st = fst;
    if (st != TERN_OK)
        goto err_close;
    *out = &s->base;
    return TERN_OK;
err_close:
    shm_close(&s->base);
    return st;
err_free:
    shm_heap_fini(&s->heap);
    free(s->peers);
    free(s);
    return st;
}

static int shm_reaches(tp_t *tp, int pe)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    return pe >= 0 && pe < s->npes && pe != s->my_pe && s->peers[pe].seg != NULL;
}

static size_t shm_max_msg(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    return s->heap_size - SHM_BLOCK_HDR;
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

static void shm_reclaim(shm_tp_t *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->ninflight; i++) {
        uint64_t off = s->inflight[i];
        shm_block_t *b = (shm_block_t *)((unsigned char *)s->me + s->me->heap_off + off);
        if (atomic_load_explicit(&b->done, memory_order_acquire))
            shm_heap_free(&s->heap, off);
        else
            s->inflight[keep++] = off;
    }
    s->ninflight = keep;
}

static void shm_notify(shm_peer_t *peer)
{
    /* Pairs with the fence in shm_wait: either the sleeper sees the new record, or we see
     * it asleep and wake it. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&peer->seg->sleeping, memory_order_relaxed)) {
        atomic_fetch_add_explicit(&peer->seg->wake, 1, memory_order_relaxed);
        futex(&peer->seg->wake, FUTEX_WAKE, 1, NULL);
    }
}

static tern_status_t shm_send_heap(shm_tp_t *s, shm_peer_t *peer, const tern_iov_t *iov,
                                   int niov, size_t total)
{
    if (total > s->heap_size - SHM_BLOCK_HDR)
        return TERN_ERR_INVALID;
    if (s->ninflight == s->inflight_cap) {
        size_t ncap = s->inflight_cap ? s->inflight_cap * 2 : 64;
        uint64_t *n = realloc(s->inflight, ncap * sizeof *n);
        if (!n)
            return TERN_ERR_NOMEM;
        s->inflight = n;
        s->inflight_cap = ncap;
    }
    shm_reclaim(s);
    /* Reserve the ring record first: if the ring is full we have copied nothing. */
    shm_heap_rec_t *rec = shm_ring_reserve(&peer->out, sizeof *rec);
    if (!rec)
        return TERN_ERR_RETRY;
    uint64_t off = shm_heap_alloc(&s->heap, SHM_BLOCK_HDR + total);
    if (off == SHM_HEAP_NOBLOCK) {
        shm_ring_cancel(&peer->out);
        return TERN_ERR_RETRY;
    }
    shm_block_t *b = (shm_block_t *)((unsigned char *)s->me + s->me->heap_off + off);
    atomic_store_explicit(&b->done, 0, memory_order_relaxed);
    b->len = total;
    gather((unsigned char *)b + SHM_BLOCK_HDR, iov, niov);
    rec->off = off;
    rec->len = total;
    shm_ring_commit(&peer->out, SHM_REC_HEAP);
    s->inflight[s->ninflight++] = off;
    return TERN_OK;
}

static tern_status_t shm_send(tp_t *tp, int pe, const tern_iov_t *iov, int niov, size_t total,
                              tp_send_done_t *done)
{
    (void)done;
    shm_tp_t *s = (shm_tp_t *)tp;
    shm_peer_t *peer = &s->peers[pe];
    if (total <= s->eager_max) {
        void *dst = shm_ring_reserve(&peer->out, total);
        if (!dst)
            return TERN_ERR_RETRY;
        gather(dst, iov, niov);
        shm_ring_commit(&peer->out, SHM_REC_DATA);
    } else {
        tern_status_t st = shm_send_heap(s, peer, iov, niov, total);
        if (st != TERN_OK)
            return st;
    }
    shm_notify(peer);
    return TERN_OK;
}

static void shm_ref_release(tp_rx_ref_t *rel)
{
    shm_rx_ref_t *r = (shm_rx_ref_t *)rel;
    atomic_store_explicit(r->done, 1, memory_order_release);
    shm_tp_t *s = r->owner;
    r->next_free = s->free_refs;
    s->free_refs = r;
}

static shm_rx_ref_t *shm_ref_get(shm_tp_t *s)
{
    shm_rx_ref_t *r = s->free_refs;
    if (r)
        s->free_refs = r->next_free;
    else if (!(r = malloc(sizeof *r)))
        return NULL;
    r->base.release = shm_ref_release;
    r->owner = s;
    return r;
}

static int shm_progress(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    int n = 0;
    for (int k = 0; k < s->npes; k++) {
        int pe = s->rr + k;
        if (pe >= s->npes)
            pe -= s->npes;
        if (pe == s->my_pe)
            continue;
        shm_peer_t *peer = &s->peers[pe];
        uint32_t len, tag;
        void *body;
        /* Bound the batch so one busy peer cannot starve the others. */
        for (int b = 0; b < 64 && (body = shm_ring_peek(&peer->in, &len, &tag)); b++) {
            if (tag == SHM_REC_DATA) {
                s->params.deliver(s->params.deliver_arg, pe, body, len, NULL);
            } else {
                shm_heap_rec_t rec = *(shm_heap_rec_t *)body;
                shm_block_t *blk = (shm_block_t *)(peer->heap + rec.off);
                shm_rx_ref_t *ref = shm_ref_get(s);
                if (!ref) {
                    util_log_error("shm transport: out of memory receiving from PE %d", pe);
                    abort();
                }
                ref->done = &blk->done;
                s->params.deliver(s->params.deliver_arg, pe,
                                  (unsigned char *)blk + SHM_BLOCK_HDR, (size_t)rec.len,
                                  &ref->base);
            }
            shm_ring_pop(&peer->in, len);
            n++;
        }
    }
    if (++s->rr >= s->npes)
        s->rr = 0;
    if (s->ninflight)
        shm_reclaim(s);
    return n;
}

static int shm_any_pending(shm_tp_t *s)
{
    for (int pe = 0; pe < s->npes; pe++)
        if (pe != s->my_pe && !shm_ring_empty(&s->peers[pe].in))
            return 1;
    return 0;
}

static void shm_wait(tp_t *tp, long timeout_us)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    uint32_t v = atomic_load_explicit(&s->me->wake, memory_order_relaxed);
    atomic_store_explicit(&s->me->sleeping, 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    if (!shm_any_pending(s)) {
        struct timespec ts, *tsp = NULL;
        if (timeout_us >= 0) {
            ts.tv_sec = timeout_us / 1000000;
            ts.tv_nsec = (timeout_us % 1000000) * 1000;
            tsp = &ts;
        }
        futex(&s->me->wake, FUTEX_WAIT, v, tsp);
    }
    atomic_store_explicit(&s->me->sleeping, 0, memory_order_relaxed);
}

static void shm_close(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    for (int pe = 0; pe < s->npes; pe++)
        if (s->peers[pe].seg)
            munmap(s->peers[pe].seg, s->peers[pe].seg_bytes);
    if (s->me)
        munmap(s->me, s->me_bytes);
    while (s->free_refs) {
        shm_rx_ref_t *r = s->free_refs;
        s->free_refs = r->next_free;
        free(r);
    }
    shm_heap_fini(&s->heap);
    free(s->inflight);
    free(s->peers);
    free(s);
}

const tp_ops_t shm_tp_ops = {
    .size = sizeof(tp_ops_t),
    .name = "shm",
    .open = shm_open_tp,
    .reaches = shm_reaches,
    .send = shm_send,
    .max_msg = shm_max_msg,
    .progress = shm_progress,
    .wait = shm_wait,
    .close = shm_close,
};
