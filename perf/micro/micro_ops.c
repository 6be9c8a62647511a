/*
 * The timed operations of tern_micro (see the top comment of tern_micro.cc for what each
 * pair measures). Every op is one out-of-line call on a context built beforehand; Tern's
 * side calls into the library (libtern.a, as an application or the PE loop would), the
 * baseline does the same work the plain-C way.
 */
#include "perf/micro/micro_ops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "core/msg.h"
#include "core/pe.h"
#include "core/sched.h"
#include "core/ult.h"
#include "transports/shm/shm_ring.h"

#include <sys/mman.h>
#include <ucontext.h>

/* Make the compiler believe p is used, so that a malloc/free pair or a store is kept. */
#define MICRO_ESCAPE(p) __asm__ volatile("" : : "g"(p) : "memory")

/* ---------------------------------------------------------------------------------------
 * sched: push one message into the PE's queue and pop the next one
 * ------------------------------------------------------------------------------------- */

#define PRIO_TABLE 1024 /* power of two */

typedef struct {
    tern_msg_t *head, *tail;
} base_fifo_t;

typedef struct {
    core_pool_t pool;
    core_sched_t q;       /* Tern's queue, `depth` messages queued */
    base_fifo_t fifo;     /* the baseline's queue, its own `depth` messages */
    tern_msg_t *held;     /* Tern's message out of the queue, pushed next */
    tern_msg_t *bheld;    /* the baseline's */
    long depth;
    uint32_t ri;
    uint64_t errors;
    int32_t prios[PRIO_TABLE];
} sched_ctx_t;

static inline void fifo_push(base_fifo_t *f, tern_msg_t *m)
{
    m->next = NULL;
    if (f->tail)
        f->tail->next = m;
    else
        f->head = m;
    f->tail = m;
}

static inline tern_msg_t *fifo_pop(base_fifo_t *f)
{
    tern_msg_t *m = f->head;
    if (m) {
        f->head = m->next;
        if (!f->head)
            f->tail = NULL;
    }
    return m;
}

static tern_msg_t *sched_new_msg(sched_ctx_t *c, int32_t prio)
{
    tern_msg_t *m = core_msg_alloc(&c->pool, 0);
    if (!m)
        return NULL;
    memset(&m->hdr, 0, sizeof m->hdr);
    m->hdr.kind = CORE_K_ENTRY;
    m->hdr.prio = prio;
    return m;
}

static const char *sched_finish(void *ctx, uint64_t iters);

static void *sched_make(long depth, int prio, const char **err)
{
    sched_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    core_pool_init(&c->pool);
    core_sched_init(&c->q);
    c->depth = depth;
    /* Non-zero priorities (so that every message goes through the heap), fixed seed. */
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < PRIO_TABLE; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c->prios[i] = prio ? (int32_t)(x % 100000) + 1 : 0;
    }
    for (long i = 0; i <= depth; i++) {
        int32_t p = c->prios[(uint32_t)i & (PRIO_TABLE - 1)];
        tern_msg_t *a = sched_new_msg(c, p), *b = sched_new_msg(c, p);
        if (!a || !b) {
            if (a)
                core_msg_release(&c->pool, a);
            if (b)
                core_msg_release(&c->pool, b);
            sched_finish(c, 0);
            *err = "out of memory";
            return NULL;
        }
        if (i == depth) {
            c->held = a;
            c->bheld = b;
        } else {
            if (core_sched_push(&c->q, a) != TERN_OK)
                c->errors++;
            fifo_push(&c->fifo, b);
        }
    }
    c->ri = (uint32_t)depth + 1;
    return c;
}

static void *sched_fifo_make(long depth, const char **err) { return sched_make(depth, 0, err); }
static void *sched_prio_make(long depth, const char **err) { return sched_make(depth, 1, err); }

static uint64_t tern_sched_fifo(void *ctx)
{
    sched_ctx_t *c = ctx;
    if (core_sched_push(&c->q, c->held) != TERN_OK)
        c->errors++;
    c->held = core_sched_pop(&c->q);
    return (uintptr_t)c->held;
}

static uint64_t base_sched_fifo(void *ctx)
{
    sched_ctx_t *c = ctx;
    fifo_push(&c->fifo, c->bheld);
    c->bheld = fifo_pop(&c->fifo);
    return (uintptr_t)c->bheld;
}

static uint64_t tern_sched_prio(void *ctx)
{
    sched_ctx_t *c = ctx;
    tern_msg_t *m = c->held;
    m->hdr.prio = c->prios[c->ri++ & (PRIO_TABLE - 1)];
    if (core_sched_push(&c->q, m) != TERN_OK)
        c->errors++;
    c->held = core_sched_pop(&c->q);
    return (uintptr_t)c->held;
}

static uint64_t base_sched_prio(void *ctx)
{
    sched_ctx_t *c = ctx;
    tern_msg_t *m = c->bheld;
    m->hdr.prio = c->prios[c->ri++ & (PRIO_TABLE - 1)]; /* same work; a FIFO ignores it */
    fifo_push(&c->fifo, m);
    c->bheld = fifo_pop(&c->fifo);
    return (uintptr_t)c->bheld;
}

static const char *sched_finish(void *ctx, uint64_t iters)
{
    (void)iters;
    sched_ctx_t *c = ctx;
    const char *err = NULL;
    if (c->errors)
        err = "core_sched_push failed";
    else if (!c->held || !c->bheld)
        err = "a pop returned NULL";
    else if (core_sched_count(&c->q) != (size_t)c->depth)
        err = "the scheduler queue lost or gained messages";
    /* Drain: the queue must hand messages out by (priority, arrival). */
    int32_t last = INT32_MIN;
    uint64_t last_seq = 0;
    tern_msg_t *m;
    while ((m = core_sched_pop(&c->q))) {
        if (m->hdr.prio < last || (m->hdr.prio == last && m->seq < last_seq))
            err = err ? err : "the scheduler queue popped out of order";
        last = m->hdr.prio;
        last_seq = m->seq;
        core_msg_release(&c->pool, m);
    }
    while ((m = fifo_pop(&c->fifo)))
        core_msg_release(&c->pool, m);
    if (c->held)
        core_msg_release(&c->pool, c->held);
    if (c->bheld)
        core_msg_release(&c->pool, c->bheld);
    core_sched_fini(&c->q);
    if (core_pool_fini(&c->pool) != 0)
        err = err ? err : "messages leaked from the pool";
    free(c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * msg: allocate a message with a body of `arg` bytes from the per-PE pool and release it
 * ------------------------------------------------------------------------------------- */

typedef struct {
    core_pool_t pool;
    uint64_t body;  /* body bytes */
    size_t total;   /* header + body: what the baseline mallocs */
    uint64_t errors;
} msg_ctx_t;

static void *msg_make(long body, const char **err)
{
    msg_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    core_pool_init(&c->pool);
    c->body = (uint64_t)body;
    c->total = sizeof(tern_msg_t) + (size_t)body;
    return c;
}

static uint64_t tern_msg(void *ctx)
{
    msg_ctx_t *c = ctx;
    tern_msg_t *m = core_msg_alloc(&c->pool, c->body);
    if (!m) {
        c->errors++;
        return 0;
    }
    MICRO_ESCAPE(m);
    uint64_t r = (uintptr_t)m;
    core_msg_release(&c->pool, m);
    return r;
}

static uint64_t base_msg(void *ctx)
{
    msg_ctx_t *c = ctx;
    void *p = malloc(c->total);
    if (!p) {
        c->errors++;
        return 0;
    }
    MICRO_ESCAPE(p);
    uint64_t r = (uintptr_t)p;
    free(p);
    return r;
}

static const char *msg_finish(void *ctx, uint64_t iters)
{
    (void)iters;
    msg_ctx_t *c = ctx;
    const char *err = c->errors ? "out of memory" : NULL;
    if (core_pool_fini(&c->pool) != 0)
        err = err ? err : "messages leaked from the pool";
    free(c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * ring: one record through the shared-memory ring (push, then pop, one thread)
 * ------------------------------------------------------------------------------------- */

/* The shm transport's default ring (TERN_SHM_RING_SIZE=256k): the records walk through
 * the same amount of memory as in a real job. */
#define MICRO_RING_SIZE (256u * 1024u)

typedef struct {
    shm_ring_t *ring;
    shm_ring_prod_t prod;
    shm_ring_cons_t cons;
    uint64_t len;
    unsigned char *src, *dst, *buf; /* payload, where it is read to, the baseline's buffer */
    uint64_t errors;
} ring_ctx_t;

static const char *ring_finish(void *ctx, uint64_t iters);

static void *ring_make(long len, const char **err)
{
    ring_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    c->len = (uint64_t)len;
    if (c->len > shm_ring_max_body(MICRO_RING_SIZE)) {
        free(c);
        *err = "payload larger than the ring takes";
        return NULL;
    }
    size_t rb = (shm_ring_bytes(MICRO_RING_SIZE) + SHM_CACHELINE - 1) &
                ~(size_t)(SHM_CACHELINE - 1);
    c->ring = aligned_alloc(SHM_CACHELINE, rb);
    size_t pb = ((size_t)len + 63) & ~(size_t)63;
    c->src = aligned_alloc(64, pb);
    c->dst = aligned_alloc(64, pb);
    c->buf = aligned_alloc(64, pb);
    if (!c->ring || !c->src || !c->dst || !c->buf) {
        ring_finish(c, 0);
        *err = "out of memory";
        return NULL;
    }
    memset(c->ring, 0, rb);
    for (size_t i = 0; i < pb; i++)
        c->src[i] = (unsigned char)(i * 7 + 1);
    memset(c->dst, 0, pb);
    memset(c->buf, 0, pb);
    shm_ring_prod_init(&c->prod, c->ring, MICRO_RING_SIZE);
    shm_ring_cons_init(&c->cons, c->ring, MICRO_RING_SIZE);
    return c;
}

static uint64_t tern_ring(void *ctx)
{
    ring_ctx_t *c = ctx;
    void *w = shm_ring_reserve(&c->prod, c->len);
    if (!w) {
        c->errors++;
        return 0;
    }
    memcpy(w, c->src, c->len);
    shm_ring_commit(&c->prod, SHM_REC_DATA);
    uint32_t len, tag;
    void *r = shm_ring_peek(&c->cons, &len, &tag);
    if (!r || tag != SHM_REC_DATA || len != c->len) {
        c->errors++;
        return 0;
    }
    memcpy(c->dst, r, len);
    shm_ring_pop(&c->cons, len);
    return len;
}

static uint64_t base_ring(void *ctx)
{
    ring_ctx_t *c = ctx;
    memcpy(c->buf, c->src, c->len);
    memcpy(c->dst, c->buf, c->len);
    return c->len;
}

static const char *ring_finish(void *ctx, uint64_t iters)
{
    ring_ctx_t *c = ctx;
    const char *err = NULL;
    if (c->errors)
        err = "the ring refused a record or returned a wrong one";
    else if (iters && c->len && memcmp(c->src, c->dst, c->len) != 0)
        err = "the payload came out different";
    else if (c->ring && !shm_ring_empty(&c->cons))
        err = "records left in the ring";
    free(c->ring);
    free(c->src);
    free(c->dst);
    free(c->buf);
    free(c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * The runtime: a 1-PE job whose chare runs the benchmarks from an entry method
 * ------------------------------------------------------------------------------------- */

static tern_type_t g_type;
static void ults_release(void);
static tern_ep_t g_ep_run, g_ep_sink;

static struct {
    int ready;
    tern_proxy_t self; /* the benchmark chare */
    void *state;       /* its state */
    int (*body)(void *);
    void *arg;
} g_rt;

/* What every receiver (the entry method, or the baseline's function) does with a payload:
 * read its first byte. */
static struct {
    uint64_t sum, n;
} g_sink;

int micro_runtime_ready(void) { return g_rt.ready; }

static void ep_sink(void *self, const tern_msg_t *m)
{
    (void)self;
    const unsigned char *d = tern_msg_data(m);
    g_sink.sum += d[0];
    g_sink.n++;
}

static void ep_run(void *self, const tern_msg_t *m)
{
    (void)m;
    g_rt.self = tern_self_proxy(self);
    g_rt.state = self;
    g_rt.ready = 1;
    int rc = g_rt.body(g_rt.arg);
    g_rt.ready = 0;
    tern_exit(rc ? 1 : 0);
}

static void micro_start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t p;
    tern_status_t st = tern_chare_create(g_type, 0, NULL, 0, &p);
    if (st == TERN_OK)
        st = tern_send(&p, g_ep_run, NULL, 0, NULL);
    if (st != TERN_OK) {
        fprintf(stderr, "tern_micro: cannot start the benchmark chare: %s\n",
                tern_strerror(st));
        tern_exit(1);
    }
}

int micro_runtime_main(int argc, char **argv, int (*body)(void *arg), void *arg)
{
    setenv("TERN_BOOT", "single", 0);
    g_rt.body = body;
    g_rt.arg = arg;
    if (tern_type_register("MicroBench", 16, NULL, NULL, &g_type) != TERN_OK ||
        tern_ep_register(g_type, "run", ep_run, &g_ep_run) != TERN_OK ||
        tern_ep_register(g_type, "sink", ep_sink, &g_ep_sink) != TERN_OK) {
        fprintf(stderr, "tern_micro: registration failed\n");
        return 1;
    }
    int rc = tern_run(argc, argv, micro_start);
    ults_release();
    return rc;
}

/* ---------------------------------------------------------------------------------------
 * send_local: a send to a chare of this PE, popped from the scheduler and dispatched
 * ------------------------------------------------------------------------------------- */

#define MICRO_SEND_MAX 1024

typedef void (*base_recv_fn)(void *self, const void *data, size_t len);

typedef struct {
    core_pe_t *pe;
    tern_proxy_t to;
    tern_ep_t ep;
    size_t len;
    unsigned char *payload;    /* the sender's buffer */
    unsigned char *build;      /* the baseline's buffer built in place (zero-copy pair) */
    base_recv_fn fn;           /* the baseline's receiver */
    void *self;
    uint64_t sum0, n0;         /* g_sink before the run */
    uint64_t errors;
} send_ctx_t;

static void base_recv(void *self, const void *data, size_t len)
{
    (void)self;
    (void)len;
    const unsigned char *d = data;
    g_sink.sum += d[0];
    g_sink.n++;
}

static void *send_make(long len, const char **err)
{
    if (!g_rt.ready) {
        *err = "needs the running Tern job";
        return NULL;
    }
    if (len < 1 || len > MICRO_SEND_MAX) {
        *err = "payload size out of range (1 to 1024)";
        return NULL;
    }
    core_pe_t *pe = core_pe_current();
    if (!pe || core_sched_count(&pe->sched) != 0) {
        *err = "the PE's queue is not empty";
        return NULL;
    }
    send_ctx_t *c = calloc(1, sizeof *c);
    unsigned char *payload = aligned_alloc(16, MICRO_SEND_MAX);
    unsigned char *build = aligned_alloc(16, MICRO_SEND_MAX);
    if (!c || !payload || !build) {
        free(c);
        free(payload);
        free(build);
        *err = "out of memory";
        return NULL;
    }
    for (size_t i = 0; i < MICRO_SEND_MAX; i++)
        payload[i] = (unsigned char)(i * 13 + 3);
    memcpy(build, payload, MICRO_SEND_MAX);
    c->pe = pe;
    c->to = g_rt.self;
    c->ep = g_ep_sink;
    c->len = (size_t)len;
    c->payload = payload;
    c->build = build;
    c->fn = base_recv;
    c->self = g_rt.state;
    c->sum0 = g_sink.sum;
    c->n0 = g_sink.n;
    return c;
}

static inline uint64_t run_one(send_ctx_t *c)
{
    tern_msg_t *m = core_sched_pop(&c->pe->sched);
    if (!m) {
        c->errors++;
        return 0;
    }
    core_dispatch(c->pe, m);
    return g_sink.sum;
}

/* tern_send copies the payload into a message once; the entry method runs on it. */
static uint64_t tern_send_local(void *ctx)
{
    send_ctx_t *c = ctx;
    tern_iov_t iov = {c->payload, c->len};
    if (tern_send(&c->to, c->ep, &iov, 1, NULL) != TERN_OK) {
        c->errors++;
        return 0;
    }
    return run_one(c);
}

/* The plain-C equivalent: the receiver gets its own copy of the payload. */
static uint64_t base_send_local(void *ctx)
{
    send_ctx_t *c = ctx;
    _Alignas(16) unsigned char buf[MICRO_SEND_MAX];
    memcpy(buf, c->payload, c->len);
    c->fn(c->self, buf, c->len);
    return g_sink.sum;
}

/* The payload is built in the message (only the byte the receiver reads is written, on
 * both sides) and handed over without a copy. */
static uint64_t tern_send_local_msg(void *ctx)
{
    send_ctx_t *c = ctx;
    tern_msg_t *m = tern_msg_alloc(c->len);
    if (!m) {
        c->errors++;
        return 0;
    }
    ((unsigned char *)tern_msg_buf(m))[0] = c->payload[0];
    if (tern_send_msg(&c->to, c->ep, m, NULL) != TERN_OK) {
        c->errors++;
        return 0;
    }
    return run_one(c);
}

/* The plain-C equivalent of a zero-copy hand-over: the receiver gets a pointer to the
 * buffer the sender built. */
static uint64_t base_send_local_msg(void *ctx)
{
    send_ctx_t *c = ctx;
    c->build[0] = c->payload[0];
    c->fn(c->self, c->build, c->len);
    return g_sink.sum;
}

static const char *send_finish(void *ctx, uint64_t iters)
{
    send_ctx_t *c = ctx;
    const char *err = NULL;
    uint64_t n = g_sink.n - c->n0, sum = g_sink.sum - c->sum0;
    if (c->errors)
        err = "a send failed or the queue was empty after it";
    else if (n != iters)
        err = "the receiver did not run once per iteration";
    else if (sum != iters * c->payload[0])
        err = "the receiver read a wrong payload";
    else if (core_sched_count(&c->pe->sched) != 0)
        err = "messages left in the PE's queue";
    free(c->payload);
    free(c->build);
    free(c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * ult: coroutine switches (core/ult.h) against ucontext, and a short coroutine's life
 * against a plain call
 * ------------------------------------------------------------------------------------- */

#define ULT_STACK (256u * 1024u) /* TERN_ULT_STACK_SIZE's default */
#define ULT_MAX 64               /* coroutines taking turns, at most */

/* One set of coroutines for the whole run, as a PE has: core_ults_init also installs the
 * thread's stack overflow handler, so it is done once, and the pooled stacks stay mapped
 * between benchmark runs (as they stay between a PE's messages). */
static core_ults_t g_ults;
static int g_ults_ready;

static core_ults_t *ults_get(const char **err)
{
    if (!g_ults_ready) {
        if (core_ults_init(&g_ults, ULT_STACK) != TERN_OK) {
            *err = "core_ults_init failed";
            return NULL;
        }
        g_ults_ready = 1;
    }
    if (g_ults.live != 0 || core_ult_any_ready(&g_ults) || core_ult_current(&g_ults)) {
        *err = "coroutines left over from an earlier run";
        return NULL;
    }
    return &g_ults;
}

static void ults_release(void)
{
    if (g_ults_ready)
        core_ults_fini(&g_ults);
    g_ults_ready = 0;
}

typedef struct ult_ctx ult_ctx_t;

typedef struct {
    ult_ctx_t *c;
    int k;
} ult_who_t;

struct ult_ctx {
    core_ults_t *u;
    int n;            /* coroutines taking turns */
    int nult;         /* Tern coroutines started (n once set up) */
    int next;         /* the baseline's next context */
    volatile int stop;
    uint64_t errors;
    uint64_t started0;          /* u->started before the run */
    uint64_t on_ult, off_ult;   /* ult_start: runs of the short function on/off a coroutine */
    void (*volatile fn)(ult_ctx_t *c); /* ult_start: the short function, called indirectly */
    ucontext_t main;            /* the baseline's scheduler */
    ucontext_t uc[ULT_MAX];     /* the baseline's coroutines */
    unsigned char *stacks[ULT_MAX];
    ult_who_t who[ULT_MAX];
    uint64_t turns[ULT_MAX];    /* times each coroutine was resumed, either side */
};

/* Tern's coroutine: count the turn, yield to the scheduler, until told to stop. */
static void ult_yielder(void *arg)
{
    ult_who_t *w = arg;
    ult_ctx_t *c = w->c;
    while (!c->stop) {
        c->turns[w->k]++;
        core_ult_yield(c->u);
    }
}

/* The same with ucontext: swapcontext back to the scheduler is the yield. makecontext
 * passes int arguments only, so the pointer travels in two halves. */
static void base_yielder(unsigned hi, unsigned lo)
{
    ult_who_t *w = (ult_who_t *)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    ult_ctx_t *c = w->c;
    while (!c->stop) {
        c->turns[w->k]++;
        swapcontext(&c->uc[w->k], &c->main);
    }
    /* Returning resumes uc_link: the scheduler's context. */
}

static const char *ult_finish(void *ctx, uint64_t iters);

static void *ult_yield_make(long n, const char **err)
{
    if (n < 1 || n > ULT_MAX) {
        *err = "coroutine count out of range (1 to 64)";
        return NULL;
    }
    core_ults_t *u = ults_get(err);
    if (!u)
        return NULL;
    ult_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    c->u = u;
    c->n = (int)n;
    c->started0 = u->started;
    for (int k = 0; k < c->n; k++) {
        c->who[k] = (ult_who_t){c, k};
        /* Tern: runs until its first yield, then waits in the ready list. */
        core_ult_start(u, ult_yielder, &c->who[k], NULL);
        c->nult++;
        /* The baseline: a stack like Tern's (mapped, not touched until used), entered once
         * so that it, too, waits in its loop. */
        void *s = mmap(NULL, ULT_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
        if (s == MAP_FAILED || getcontext(&c->uc[k]) != 0) {
            if (s != MAP_FAILED)
                munmap(s, ULT_STACK);
            c->errors++;
            break;
        }
        c->stacks[k] = s;
        c->uc[k].uc_stack.ss_sp = s;
        c->uc[k].uc_stack.ss_size = ULT_STACK;
        c->uc[k].uc_link = &c->main;
        uintptr_t p = (uintptr_t)&c->who[k];
        makecontext(&c->uc[k], (void (*)(void))base_yielder, 2, (unsigned)(p >> 32),
                    (unsigned)(p & 0xffffffffu));
        if (swapcontext(&c->main, &c->uc[k]) != 0)
            c->errors++;
    }
    if (c->errors) {
        ult_finish(c, 0);
        *err = "cannot set up the coroutines";
        return NULL;
    }
    memset(c->turns, 0, sizeof c->turns);
    return c;
}

/* One round trip: the scheduler resumes the next ready coroutine, which yields back. */
static uint64_t tern_ult_yield(void *ctx)
{
    ult_ctx_t *c = ctx;
    if (core_ult_run_ready(c->u, 1) != 1)
        c->errors++;
    return c->turns[0];
}

static uint64_t base_ult_yield(void *ctx)
{
    ult_ctx_t *c = ctx;
    int k = c->next;
    c->next = k + 1 == c->n ? 0 : k + 1;
    if (swapcontext(&c->main, &c->uc[k]) != 0)
        c->errors++;
    return c->turns[0];
}

/* ult_start: the short function, run on a coroutine of its own (Tern) or called (the
 * baseline). */
static void ult_short(ult_ctx_t *c)
{
    if (core_ult_current(c->u))
        c->on_ult++;
    else
        c->off_ult++;
}

static void ult_short_entry(void *arg) { ult_short(arg); }

static void *ult_start_make(long unused, const char **err)
{
    (void)unused;
    core_ults_t *u = ults_get(err);
    if (!u)
        return NULL;
    ult_ctx_t *c = calloc(1, sizeof *c);
    if (!c) {
        *err = "out of memory";
        return NULL;
    }
    c->u = u;
    c->fn = ult_short;
    c->started0 = u->started;
    return c;
}

/* Start a coroutine from the scheduler: it runs at once, ends, and its stack goes back to
 * the pool for the next one. */
static uint64_t tern_ult_start(void *ctx)
{
    ult_ctx_t *c = ctx;
    core_ult_start(c->u, ult_short_entry, c, NULL);
    return c->on_ult;
}

static uint64_t base_ult_start(void *ctx)
{
    ult_ctx_t *c = ctx;
    c->fn(c);
    return c->off_ult;
}

static const char *ult_finish(void *ctx, uint64_t iters)
{
    ult_ctx_t *c = ctx;
    const char *err = NULL;
    uint64_t turns = 0, lo = UINT64_MAX, hi = 0;
    for (int k = 0; k < c->n; k++) {
        turns += c->turns[k];
        lo = c->turns[k] < lo ? c->turns[k] : lo;
        hi = c->turns[k] > hi ? c->turns[k] : hi;
    }
    if (c->errors)
        err = "a switch failed or no coroutine was ready";
    else if (c->n && turns != iters)
        err = "the coroutines were not resumed once per iteration";
    else if (c->n && hi - lo > 1)
        err = "the coroutines did not take turns";
    else if (!c->n && c->on_ult + c->off_ult != iters)
        err = "the short function did not run once per iteration";
    else if (!c->n && c->u->started - c->started0 != c->on_ult)
        err = "the coroutines started do not match the runs on a coroutine";
    /* End the coroutines: each sees `stop` at its next turn and returns. */
    c->stop = 1;
    if (core_ult_run_ready(c->u, c->nult) != c->nult)
        err = err ? err : "a coroutine was missing from the ready list";
    for (int k = 0; k < c->n; k++) {
        if (c->stacks[k]) {
            swapcontext(&c->main, &c->uc[k]);
            munmap(c->stacks[k], ULT_STACK);
        }
    }
    if (c->u->live != 0 || core_ult_any_ready(c->u))
        err = err ? err : "coroutines did not end";
    free(c);
    return err;
}

/* ---------------------------------------------------------------------------------------
 * The table the C++ side registers from
 * ------------------------------------------------------------------------------------- */

const micro_pair_t micro_pairs[] = {
    {"sched_fifo", 0, 2, {0, 64}, sched_fifo_make, tern_sched_fifo, base_sched_fifo,
     sched_finish, NULL, 0},
    {"sched_prio", 0, 1, {64}, sched_prio_make, tern_sched_prio, base_sched_prio,
     sched_finish, NULL, 0},
    {"msg", 0, 3, {8, 1024, 65536}, msg_make, tern_msg, base_msg, msg_finish, NULL, 0},
    {"ring", 0, 3, {8, 64, 1024}, ring_make, tern_ring, base_ring, ring_finish, NULL, 0},
    {"send_local", 1, 2, {8, 1024}, send_make, tern_send_local, base_send_local, send_finish,
     NULL, 0},
    {"send_local_msg", 1, 2, {8, 1024}, send_make, tern_send_local_msg, base_send_local_msg,
     send_finish, NULL, 0},
    {"ult_yield", 0, 2, {1, 16}, ult_yield_make, tern_ult_yield, base_ult_yield, ult_finish,
     "switch", 2},
    {"ult_start", 0, 0, {0}, ult_start_make, tern_ult_start, base_ult_start, ult_finish,
     NULL, 0},
};

const int micro_npairs = (int)(sizeof micro_pairs / sizeof micro_pairs[0]);
