/*
 * Shared-memory transport between the processes of one host.
 *
 * It serves the PEs of one host: each process owns one POSIX shared-memory segment holding
 *   - a header with its futex word (peers wake it when it sleeps),
 *   - one inbound ring per PE of its host (single producer, single consumer),
 *   - a heap where it writes its own large outgoing messages.
 * A small message is copied into the receiver's ring and out again. A large one is
 * written once into the sender's heap; the ring carries only its offset, the receiver
 * reads it in place and flags the block done when the core releases it, and the sender
 * reclaims flagged blocks. Segments are unlinked as soon as every peer has mapped them,
 * so nothing is left in /dev/shm whatever way the job ends after start-up.
 *
 * A PE that sleeps on this transport alone waits on its futex word. Beside a network
 * transport it polls file descriptors instead, so it also sleeps on a datagram socket
 * (abstract Unix name, private to the host's network namespace) that peers write a byte to.
 *
 * Waking a sleeper is a store-then-load race on both sides (the sender publishes a record,
 * then reads whether the receiver sleeps; the receiver says it sleeps, then looks at its
 * rings), which needs a full fence on each side. A fence per message made the sender wait
 * for every record's cache line to reach the receiver, a fifth of the time of a small
 * message. So a send reads the flag without one: a receiver seen asleep is woken at once;
 * a receiver seen awake might be falling asleep at that very instant, so the peer is noted
 * and shm_flush, which the core calls after each handler and before it sleeps, settles
 * all such peers with a single fence.
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
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
    _Alignas(SHM_CACHELINE) _Atomic uint32_t sleeping; /* SHM_SLEEP_*: how to wake it */
} shm_seg_hdr_t;

enum { SHM_AWAKE = 0, SHM_SLEEP_FUTEX = 1, SHM_SLEEP_SOCKET = 2 };

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
    struct sockaddr_un wake_addr; /* its wake-up socket */
    socklen_t wake_len;
    int unsure;             /* sent to since the last flush, and seen awake */
} shm_peer_t;

typedef struct shm_tp {
    tp_t base;
    tp_params_t params;
    int my_pe;
    int npes;
    int nlocal;            /* PEs of my host, me included */
    int *local;            /* [nlocal] those PEs, ascending */
    int *slot;             /* [npes] index in `local` of each PE of my host, else -1 */
    int *unsure;           /* [npes] PEs whose wake-up shm_flush must settle */
    int nunsure;
    int wake_fd;           /* my wake-up socket, -1 if none */
    uint64_t ring_size;
    uint64_t eager_max;
    uint64_t heap_size;
    shm_seg_hdr_t *me;
    size_t me_bytes;
    shm_peer_t *peers;     /* by PE; only those of my host are used */
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

/* The abstract socket name PE `pe` receives wake-ups on. */
static socklen_t wake_name(struct sockaddr_un *a, const char *jobid, int pe)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "tern.%s.wake%d", jobid, pe);
    if (n < 0 || (size_t)n >= sizeof a->sun_path - 1)
        n = (int)sizeof a->sun_path - 2;
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static tern_status_t wake_open(struct shm_tp *s, const char *jobid)
{
    struct sockaddr_un a;
    socklen_t len = wake_name(&a, jobid, s->my_pe);
    s->wake_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->wake_fd < 0 || bind(s->wake_fd, (struct sockaddr *)&a, len) != 0) {
        util_log_error("shm transport: wake-up socket %s: %s", a.sun_path + 1, strerror(errno));
        return TERN_ERR_IO;
    }
    return TERN_OK;
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
    uint64_t heap_off = rings_off + stride * (uint64_t)s->nlocal;
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
    h->nlocal = s->nlocal;
    h->ring_size = s->ring_size;
    h->heap_size = s->heap_size;
    h->rings_off = rings_off;
    h->ring_stride = stride;
    h->heap_off = heap_off;
    atomic_store(&h->wake, 0);
    atomic_store(&h->sleeping, 0);
    for (int i = 0; i < s->nlocal; i++)
        shm_ring_format(ring_at(h, i), s->ring_size, 0);
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
    if (h->magic != SHM_MAGIC || h->pe != pe || h->ring_size != s->ring_size ||
        h->nlocal != s->nlocal) {
        util_log_error("shm transport: PE %d's segment does not match mine (different "
                       "TERN_SHM_* settings?)", pe);
        munmap(p, (size_t)st.st_size);
        return TERN_ERR_INVALID;
    }
    shm_peer_t *peer = &s->peers[pe];
    peer->seg = h;
    peer->seg_bytes = (size_t)st.st_size;
    peer->heap = (unsigned char *)h + h->heap_off;
    shm_ring_prod_init(&peer->out, ring_at(h, s->slot[s->my_pe]), s->ring_size);
    shm_ring_cons_init(&peer->in, ring_at(s->me, s->slot[pe]), s->ring_size);
    peer->wake_len = wake_name(&peer->wake_addr, jobid, pe);
    return TERN_OK;
}

static void shm_close(tp_t *tp);

static tern_status_t shm_open_tp(const tp_params_t *params, tp_t **out)
{
    boot_t *boot = params->boot;
    shm_tp_t *s = calloc(1, sizeof *s);
    if (!s)
        return TERN_ERR_NOMEM;
    extern const tp_ops_t shm_tp_ops;
    s->base.ops = &shm_tp_ops;
    s->base.host_only = 1;
    s->params = *params;
    s->my_pe = params->my_pe;
    s->npes = params->num_pes;
    s->wake_fd = -1;
    tern_status_t st = shm_read_options(s);
    if (st != TERN_OK)
        goto err_free;
    s->peers = calloc((size_t)s->npes, sizeof *s->peers);
    s->local = calloc((size_t)s->npes, sizeof *s->local);
    s->slot = calloc((size_t)s->npes, sizeof *s->slot);
    s->unsure = calloc((size_t)s->npes, sizeof *s->unsure);
    if (!s->peers || !s->local || !s->slot || !s->unsure) {
        st = TERN_ERR_NOMEM;
        goto err_free;
    }
    int my_host = params->pe_host[s->my_pe];
    for (int pe = 0; pe < s->npes; pe++) {
        s->slot[pe] = params->pe_host[pe] == my_host ? s->nlocal : -1;
        if (s->slot[pe] >= 0)
            s->local[s->nlocal++] = pe;
    }
    st = shm_heap_init(&s->heap, s->heap_size, SHM_HEAP_MIN_BLOCK);
    if (st != TERN_OK)
        goto err_free;
    /* Create nothing named before every process got here: one that failed earlier at start
     * (after the last fence) would leave us killed with a segment still in /dev/shm. */
    st = boot->ops->fence(boot);
    /* A PE alone on its host has nobody to reach here, but takes part in the fences. */
    if (st == TERN_OK && s->nlocal > 1)
        st = shm_create_own(s, boot->jobid);
    if (st == TERN_OK)
        st = wake_open(s, boot->jobid);
    /* Every process takes part in both fences even after a failure, so that nobody waits
     * for it; the failure is then reported through the caller's abort. */
    tern_status_t fst = boot->ops->fence(boot);
    if (st == TERN_OK && fst != TERN_OK)
        st = fst;
    for (int i = 0; st == TERN_OK && i < s->nlocal; i++)
        if (s->local[i] != s->my_pe)
            st = shm_attach_peer(s, boot->jobid, s->local[i]);
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
    free(s->local);
    free(s->slot);
    free(s->unsure);
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

static void shm_wake(shm_tp_t *s, shm_peer_t *peer, uint32_t how)
{
    if (how == SHM_SLEEP_FUTEX) {
        atomic_fetch_add_explicit(&peer->seg->wake, 1, memory_order_relaxed);
        futex(&peer->seg->wake, FUTEX_WAKE, 1, NULL);
    } else if (how == SHM_SLEEP_SOCKET) {
        /* A full socket buffer means a wake-up is already pending: nothing lost. */
        char byte = 0;
        (void)sendto(s->wake_fd, &byte, 1, MSG_DONTWAIT, (struct sockaddr *)&peer->wake_addr,
                     peer->wake_len);
    }
}

/* After a record to `pe` is published (see the top of the file). */
static void shm_notify(shm_tp_t *s, shm_peer_t *peer, int pe)
{
    uint32_t how = atomic_load_explicit(&peer->seg->sleeping, memory_order_relaxed);
    if (how != SHM_AWAKE) {
        atomic_thread_fence(memory_order_seq_cst); /* the record before the wake-up */
        shm_wake(s, peer, how);
    } else if (!peer->unsure) {
        peer->unsure = 1;
        s->unsure[s->nunsure++] = pe;
    }
}

/* Pairs with the fence in shm_wait and shm_arm: either the sleeper sees the new records,
 * or we see it asleep and wake it. */
static void shm_flush(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    if (s->nunsure == 0)
        return;
    atomic_thread_fence(memory_order_seq_cst);
    for (int i = 0; i < s->nunsure; i++) {
        shm_peer_t *peer = &s->peers[s->unsure[i]];
        peer->unsure = 0;
        shm_wake(s, peer, atomic_load_explicit(&peer->seg->sleeping, memory_order_relaxed));
    }
    s->nunsure = 0;
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
    shm_notify(s, peer, pe);
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
    for (int k = 0; k < s->nlocal; k++) {
        int i = s->rr + k;
        if (i >= s->nlocal)
            i -= s->nlocal;
        int pe = s->local[i];
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
    if (++s->rr >= s->nlocal)
        s->rr = 0;
    if (s->ninflight)
        shm_reclaim(s);
    return n;
}

static int shm_any_pending(shm_tp_t *s)
{
    for (int i = 0; i < s->nlocal; i++)
        if (s->local[i] != s->my_pe && !shm_ring_empty(&s->peers[s->local[i]].in))
            return 1;
    return 0;
}

static void shm_wait(tp_t *tp, long timeout_us)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    shm_flush(tp);
    if (!s->me) { /* alone on this host: nothing can come this way */
        if (timeout_us != 0) {
            struct timespec ts = {timeout_us < 0 ? 3600 : timeout_us / 1000000,
                                  timeout_us < 0 ? 0 : (timeout_us % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        return;
    }
    uint32_t v = atomic_load_explicit(&s->me->wake, memory_order_relaxed);
    atomic_store_explicit(&s->me->sleeping, SHM_SLEEP_FUTEX, memory_order_relaxed);
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
    atomic_store_explicit(&s->me->sleeping, SHM_AWAKE, memory_order_relaxed);
}

static int shm_arm(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    shm_flush(tp);
    if (!s->me) /* alone on this host: a socket nobody writes to */
        return s->wake_fd;
    atomic_store_explicit(&s->me->sleeping, SHM_SLEEP_SOCKET, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    return shm_any_pending(s) ? TP_ARM_BUSY : s->wake_fd;
}

static void shm_disarm(tp_t *tp)
{
    shm_tp_t *s = (shm_tp_t *)tp;
    if (!s->me)
        return;
    atomic_store_explicit(&s->me->sleeping, SHM_AWAKE, memory_order_relaxed);
    char buf[64];
    while (recv(s->wake_fd, buf, sizeof buf, MSG_DONTWAIT) > 0) {
    }
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
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s->inflight);
    free(s->peers);
    free(s->local);
    free(s->slot);
    free(s->unsure);
    free(s);
}

const tp_ops_t shm_tp_ops = {
    .size = sizeof(tp_ops_t),
    .name = "shm",
    .host_only = 1,
    .open = shm_open_tp,
    .reaches = shm_reaches,
    .send = shm_send,
    .max_msg = shm_max_msg,
    .progress = shm_progress,
    .wait = shm_wait,
    .arm = shm_arm,
    .disarm = shm_disarm,
    .close = shm_close,
    .flush = shm_flush,
};
