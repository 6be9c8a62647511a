/*
 * The task pool (tern_pool_map, tern_pool_map_async, tern_pool_submit): registered task
 * functions applied to inputs on every PE, the calling one included, with work stealing.
 *
 * A map is kept by the PE that started it (its origin): the inputs stay in the caller's
 * buffer and the results go straight into the caller's output buffer. It enters the
 * origin's deque as one item, a range of task indices. A PE runs the newest item of its
 * deque (depth first: a task's own maps run before older work), a chunk at a time, from a
 * self-message (pool.run) that yields to other messages every RUN_SLICE_US. Chunks are
 * `chunk` tasks, or with chunk 0 as many as take about CHUNK_TARGET_US by the times
 * measured here. Outputs of a chunk run elsewhere go back to the origin in one message.
 *
 * Stealing: a PE whose deque runs dry asks a victim for work (pool.steal): first the PE it
 * last got work from, then random ones, its own host's first; the victim gives the upper
 * part of its oldest item the thief may run (`ncores` PEs from the origin on may), at most
 * half of it and at most STEAL_MAX_BYTES of inputs, or all of a small item it would not
 * run next, sent with the inputs (pool.work); or
 * says it has none (pool.none) and remembers the thief as idle. After STEAL_TRIES vain
 * tries a PE stops asking until a hint comes: new work with spare chunks hints the idle
 * PEs its victims remember (else, at most every HINT_GAP_US, PEs in turn), and a hinted
 * PE with nothing to do steals from the hinting PE. So idle PEs sleep, and inputs travel only as they are given out: a map of 10^7
 * inputs never exists as messages at once.
 *
 * Errors: a task that calls tern_raise fails; its chunk's other tasks still run; the map
 * completes once every task has (so no result arrives after its waiter has returned) with
 * an error naming the first failed task's index and PE. Tasks registered with
 * TERN_TASK_COROUTINE run each on a coroutine of its own and may wait (e.g. for maps they
 * start themselves).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/handler.h"
#include "core/invoke.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/hashmap.h"
#include "util/log.h"

#define RUN_SLICE_US 20.0      /* a pool.run turn yields after this long */
#define CHUNK_TARGET_US 20.0   /* automatic chunks aim at this long */
#define CHUNK_AUTO_MAX 65536u
#define STEAL_MAX_BYTES (256u << 10) /* inputs given away at once */
#define STEAL_TRIES 4          /* vain steal requests before waiting for a hint */
#define HINT_GAP_US 50.0       /* hints to PEs not known to be idle: a round at most this often */

enum { TP_RUN, TP_STEAL, TP_WORK, TP_NONE, TP_HINT, TP_RESULT, TP_NKINDS };
static uint8_t tp_kinds[TP_NKINDS];

#define MAP_SUBMIT 0x1u /* one task whose output is the future's value */
#define MAP_FORGET 0x2u /* nobody waits: a failure ends the job */

/* A piece of work, in a deque and on the wire (48 bytes: a message part). */
typedef struct {
    uint64_t map;        /* its id at the origin */
    int32_t origin;
    uint32_t task;       /* global id */
    uint64_t lo;         /* first task index */
    uint32_t n;          /* tasks */
    uint32_t chunk;      /* 0: automatic */
    uint32_t in_size, out_size;
    uint32_t ncores;     /* PEs origin .. origin + ncores - 1 (mod PEs) may run it */
    uint32_t flags;
} work_t;
_Static_assert(sizeof(work_t) <= CORE_PART_MAX, "work_t fits a message part");

typedef struct {
    uint64_t map, lo;
    uint32_t n;
    int32_t err_pe;      /* -1: no task failed */
    uint64_t err_index;  /* then the body is outputs, then the error text */
    uint32_t err_len, pad;
} result_t;
_Static_assert(sizeof(result_t) <= CORE_PART_MAX, "result_t fits a message part");

typedef struct item {
    struct item *prev, *next; /* head: oldest (stolen from), tail: newest (run next) */
    work_t w;                 /* w.lo and w.n move as chunks run or are given away */
    const unsigned char *in;  /* inputs of task w.lo */
    unsigned char *own;       /* the inputs' buffer when it is this PE's (stolen work) */
    double avg_us;            /* measured time of one task here (0: none yet) */
} item_t;

typedef struct {
    uint64_t id;
    uint32_t task, flags;
    unsigned char *out;       /* task i's output at out + i * out_size */
    size_t out_size;
    uint64_t n, done;
    tern_future_t fut;
    char *err;                /* the first failure */
    uint64_t err_index;
    int err_pe;
    unsigned char *own_in, *own_out; /* tern_pool_submit's copies */
} map_t;

/* Coroutine tasks of one chunk under way. */
typedef struct {
    work_t w;                 /* w.lo, w.n: the chunk */
    unsigned char *out;       /* where its outputs go */
    int out_owned;            /* out is a buffer of this chunk (results go elsewhere) */
    uint32_t left;
    int32_t err_pe;
    uint64_t err_index;
    char *err;
} chunkrun_t;

/* A coroutine task: its invocation (tern_raise's target) comes first, as coroutines'
 * locals are invocations. */
typedef struct task_ctx {
    core_inv_t inv;
    struct task_ctx *prev, *next; /* live ones, freed at the end of the job */
    chunkrun_t *cr;
    const core_task_t *t;
    const void *in;
    void *out;
    uint64_t idx;             /* its task index */
} task_ctx_t;

typedef struct core_tasks {
    item_t *head, *tail;
    util_hashmap_t maps;      /* id -> map_t, the maps this PE started */
    uint64_t next_map;
    task_ctx_t *live;
    int run_posted;           /* a pool.run is queued */
    int asking;               /* a pool.steal is out */
    int tries;                /* vain ones since the last work came */
    int last_victim;
    int hint_next;            /* where this PE's next hint goes (in turn) */
    double last_hint;         /* when the last round of such hints went */
    int *idle, nidle;         /* PEs that asked this PE for work in vain, each once */
    uint8_t *is_idle;         /* [num_pes] */
    uint64_t rng;
    char *last_err;
    int last_err_pe;
} core_tasks_t;

/* ---- helpers ---- */

static core_tasks_t *tasks_of(core_pe_t *pe)
{
    if (!pe->tasks) {
        core_tasks_t *s = calloc(1, sizeof *s);
        if (!s)
            tern_abort("task pool: out of memory");
        util_hashmap_init(&s->maps);
        s->last_victim = -1;
        s->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)(pe->my_pe + 1) << 32);
        s->hint_next = 1;
        s->last_hint = -1;
        s->idle = malloc((size_t)pe->num_pes * sizeof *s->idle);
        s->is_idle = calloc((size_t)pe->num_pes, 1);
        if (!s->idle || !s->is_idle)
            tern_abort("task pool: out of memory");
        pe->tasks = s;
    }
    return pe->tasks;
}

static uint32_t rnd(core_tasks_t *s, uint32_t n)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    return (uint32_t)(s->rng % n);
}

static int may_run(const core_pe_t *pe, const work_t *w, int p)
{
    return (uint32_t)((p - w->origin + pe->num_pes) % pe->num_pes) < w->ncores;
}

static void tp_send(core_pe_t *pe, int dest, int kind, const void *part, size_t part_len,
                    const tern_iov_t *iov, int niov)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, tp_kinds[kind], pe->my_pe);
    if (part_len)
        memcpy(hdr.u.raw, part, part_len);
    tern_status_t st = core_send_iov(pe, dest, &hdr, iov, niov);
    if (st != TERN_OK && !pe->exiting) /* (a job that is ending drops the pool's work) */
        tern_abort("task pool: a message to PE %d failed: %s", dest, tern_strerror(st));
}

static void post_run(core_pe_t *pe, core_tasks_t *s)
{
    if (s->run_posted || !s->tail)
        return;
    s->run_posted = 1;
    tp_send(pe, pe->my_pe, TP_RUN, NULL, 0, NULL, 0);
}

static void item_push(core_tasks_t *s, item_t *it)
{
    it->next = NULL;
    it->prev = s->tail;
    if (s->tail)
        s->tail->next = it;
    else
        s->head = it;
    s->tail = it;
}

static void item_drop(core_tasks_t *s, item_t *it)
{
    if (it->prev)
        it->prev->next = it->next;
    else
        s->head = it->next;
    if (it->next)
        it->next->prev = it->prev;
    else
        s->tail = it->prev;
    free(it->own);
    free(it);
}

/* ---- maps at their origin ---- */

static void map_free(map_t *m)
{
    free(m->err);
    free(m->own_in);
    free(m->own_out);
    free(m);
}

/* n tasks from lo finished (their outputs are in place); the first failure among them. */
static void map_done(core_pe_t *pe, core_tasks_t *s, map_t *m, uint32_t n, int err_pe,
                     uint64_t err_index, const char *err)
{
    if (err && (!m->err || err_index < m->err_index)) {
        free(m->err);
        m->err = strdup(err);
        m->err_index = err_index;
        m->err_pe = err_pe;
    }
    m->done += n;
    if (m->done < m->n)
        return;
    util_hashmap_del(&s->maps, m->id);
    char msg[1400];
    if (m->err)
        snprintf(msg, sizeof msg, "task %llu of %llu (%s) failed on PE %d: %s",
                 (unsigned long long)m->err_index, (unsigned long long)m->n,
                 core_task_by_gid(m->task) ? core_task_by_gid(m->task)->name : "?", m->err_pe,
                 m->err);
    if (m->flags & MAP_FORGET) {
        if (m->err)
            tern_abort("a task nobody waits for failed: %s", msg);
    } else if (m->err) {
        core_future_answer_error(pe, &m->fut, m->err_pe, msg);
    } else {
        core_future_answer(pe, &m->fut, -1, 1, m->flags & MAP_SUBMIT ? m->own_out : NULL,
                           m->flags & MAP_SUBMIT ? m->out_size : 0);
    }
    map_free(m);
}

static void hint_to(core_pe_t *pe, int p)
{
    int32_t origin = pe->my_pe;
    tp_send(pe, p, TP_HINT, &origin, sizeof origin, NULL, 0);
}

/* New work here with `spare` chunks others could take: hint the PEs known to be idle
 * (they asked this PE in vain) that may take part; if none is known, PEs in turn - but at
 * most one round every HINT_GAP_US, so that many small maps (recursive tasks) do not
 * flood busy PEs with hints. */
static void hint(core_pe_t *pe, core_tasks_t *s, const work_t *w)
{
    uint64_t unit = w->chunk ? w->chunk : 1;
    uint64_t spare = (w->n + unit - 1) / unit - 1;
    for (int k = 0; k < s->nidle && spare > 0;) {
        int p = s->idle[k];
        if (!may_run(pe, w, p)) {
            k++;
            continue;
        }
        s->idle[k] = s->idle[--s->nidle];
        s->is_idle[p] = 0;
        hint_to(pe, p);
        spare--;
    }
    double now = core_now();
    if (spare == 0 || (now - s->last_hint) * 1e6 < HINT_GAP_US)
        return;
    s->last_hint = now;
    uint32_t others = w->ncores - 1;
    for (uint64_t k = 0; k < spare && k < others; k++) {
        if (s->hint_next < 1 || (uint32_t)s->hint_next > others)
            s->hint_next = 1;
        hint_to(pe, (pe->my_pe + s->hint_next++) % pe->num_pes);
    }
}

/* ---- running tasks ---- */

static void finish_chunk(core_pe_t *pe, core_tasks_t *s, const work_t *w, uint64_t lo,
                         uint32_t n, const unsigned char *out, int out_in_place, int err_pe,
                         uint64_t err_index, const char *err)
{
    if (w->origin == pe->my_pe) {
        map_t *m = util_hashmap_get(&s->maps, w->map);
        if (!m)
            tern_abort("task pool: results for a map (%llu) this PE does not know",
                       (unsigned long long)w->map);
        if (!out_in_place && n && w->out_size)
            memcpy(m->out + lo * w->out_size, out, (size_t)n * w->out_size);
        map_done(pe, s, m, n, err_pe, err_index, err);
        return;
    }
    result_t r = {w->map, lo, n, err ? err_pe : -1, err_index, err ? (uint32_t)strlen(err) : 0, 0};
    tern_iov_t iov[2] = {{out, (size_t)n * w->out_size}, {err, r.err_len}};
    tp_send(pe, w->origin, TP_RESULT, &r, sizeof r, iov, err ? 2 : 1);
}

/* Where the outputs of n tasks from lo go: the map's buffer on its origin, else a buffer
 * for the result message. */
static unsigned char *out_for(core_pe_t *pe, core_tasks_t *s, const work_t *w, uint64_t lo,
                              uint32_t n, int *in_place)
{
    if (w->origin == pe->my_pe) {
        map_t *m = util_hashmap_get(&s->maps, w->map);
        if (!m)
            tern_abort("task pool: work of a map (%llu) this PE does not know",
                       (unsigned long long)w->map);
        *in_place = 1;
        return m->out + lo * w->out_size;
    }
    *in_place = 0;
    unsigned char *b = calloc((size_t)n * w->out_size + 1, 1);
    if (!b)
        tern_abort("task pool: out of memory for %u outputs of %u bytes", n, w->out_size);
    return b;
}

static void coro_task(void *arg)
{
    core_pe_t *pe = core_pe_current();
    task_ctx_t *c = arg;
    chunkrun_t *cr = c->cr;
    c->t->fn(c->in, cr->w.in_size, c->out, cr->w.out_size);
    core_tasks_t *s = pe->tasks;
    if (c->inv.err && (!cr->err || c->idx < cr->err_index)) {
        free(cr->err);
        cr->err = c->inv.err;
        c->inv.err = NULL;
        cr->err_index = c->idx;
        cr->err_pe = pe->my_pe;
    }
    free(c->inv.err);
    free(c->inv.ret);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->live = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    if (--cr->left == 0) {
        finish_chunk(pe, s, &cr->w, cr->w.lo, cr->w.n, cr->out, !cr->out_owned, cr->err_pe,
                     cr->err_index, cr->err);
        if (cr->out_owned)
            free(cr->out);
        free(cr->err);
        free(cr);
    }
}

/* Run n tasks from the item's front. */
static void run_chunk(core_pe_t *pe, core_tasks_t *s, item_t *it, uint32_t n)
{
    const core_task_t *t = core_task_by_gid(it->w.task);
    if (!t)
        tern_abort("task pool: task id %u is not registered on PE %d", it->w.task, pe->my_pe);
    work_t w = it->w;
    w.n = n;
    const unsigned char *in = it->in;
    it->w.lo += n;
    it->w.n -= n;
    it->in += (size_t)n * w.in_size;
    int in_place;
    unsigned char *out = out_for(pe, s, &w, w.lo, n, &in_place);
    if (t->flags & TERN_TASK_COROUTINE) {
        chunkrun_t *cr = calloc(1, sizeof *cr);
        if (!cr)
            tern_abort("task pool: out of memory");
        cr->w = w;
        cr->out = out;
        cr->out_owned = !in_place;
        cr->left = n;
        cr->err_pe = -1;
        for (uint32_t k = 0; k < n; k++) {
            task_ctx_t *c = calloc(1, sizeof *c);
            if (!c)
                tern_abort("task pool: out of memory");
            c->cr = cr;
            c->t = t;
            c->in = in + (size_t)k * w.in_size;
            c->out = out + (size_t)k * w.out_size;
            c->idx = w.lo + k;
            c->next = s->live;
            if (s->live)
                s->live->prev = c;
            s->live = c;
            core_ult_start(&pe->ults, coro_task, c, &c->inv);
        }
        return;
    }
    int err_pe = -1;
    uint64_t err_index = 0;
    char *err = NULL;
    core_inv_t *saved = pe->inv_plain;
    for (uint32_t k = 0; k < n; k++) {
        core_inv_t inv = {0};
        pe->inv_plain = &inv;
        t->fn(in + (size_t)k * w.in_size, w.in_size, out + (size_t)k * w.out_size, w.out_size);
        free(inv.ret);
        if (inv.err && !err) {
            err = inv.err;
            err_index = w.lo + k;
            err_pe = pe->my_pe;
        } else {
            free(inv.err);
        }
    }
    pe->inv_plain = saved;
    finish_chunk(pe, s, &w, w.lo, n, out, in_place, err_pe, err_index, err);
    if (!in_place)
        free(out);
    free(err);
}

static void start_steal(core_pe_t *pe, core_tasks_t *s);

/* pool.run: chunks of the newest item until the slice is used up. */
static void h_run(core_pe_t *pe, tern_msg_t *m)
{
    core_msg_release(&pe->pool, m);
    core_tasks_t *s = tasks_of(pe);
    s->run_posted = 0;
    double t0 = core_now(), now = t0;
    /* Coroutines made ready (tasks whose maps finished) go first: finishing work keeps
     * the number of live coroutines down (depth first), starting more would not. */
    while (s->tail && (now - t0) * 1e6 < RUN_SLICE_US && !core_ult_any_ready(&pe->ults)) {
        item_t *it = s->tail;
        uint32_t n = it->w.chunk;
        if (!n) /* automatic: about CHUNK_TARGET_US of tasks, one to start with */
            n = it->avg_us <= 0 ? 1
                : it->avg_us * CHUNK_AUTO_MAX < CHUNK_TARGET_US ? CHUNK_AUTO_MAX
                : (uint32_t)(CHUNK_TARGET_US / it->avg_us) + 1;
        if (n > it->w.n)
            n = it->w.n;
        int coro = core_task_by_gid(it->w.task) &&
                   (core_task_by_gid(it->w.task)->flags & TERN_TASK_COROUTINE);
        double c0 = now, r0 = pe->trace ? core_trace_now(pe) : 0;
        uint32_t gid = it->w.task;
        if (pe->stats)
            core_stats_span(pe, CORE_SPAN_TASKS, 1);
        run_chunk(pe, s, it, n);
        if (pe->stats)
            core_stats_span(pe, CORE_SPAN_TASKS, 0);
        if (pe->trace) /* (coroutine tasks: until they first wait) */
            core_trace_tasks(pe, gid, n, r0, core_trace_now(pe));
        now = core_now();
        if (!coro) {
            double per = (now - c0) * 1e6 / n;
            it->avg_us = it->avg_us <= 0 ? per : 0.5 * it->avg_us + 0.5 * per;
        }
        /* (The chunk may have pushed maps of its own behind it: it need not be the tail.
         * It is still there: steals, the only other place items go, run between pool.run
         * turns and never take the tail whole.) */
        if (it->w.n == 0)
            item_drop(s, it);
    }
    if (s->tail)
        post_run(pe, s);
    else
        start_steal(pe, s);
}

/* ---- stealing ---- */

static int pick_victim(core_pe_t *pe, core_tasks_t *s)
{
    int np = pe->num_pes;
    if (s->tries == 0 && s->last_victim >= 0 && s->last_victim != pe->my_pe)
        return s->last_victim;
    /* The first half of the tries inside this host, when it has other PEs. */
    int host = pe->hosts.pe_host[pe->my_pe];
    int nh = pe->hosts.host_off[host + 1] - pe->hosts.host_off[host];
    if (nh > 1 && s->tries < STEAL_TRIES / 2) {
        int v = pe->hosts.host_pes[pe->hosts.host_off[host] + (int)rnd(s, (uint32_t)nh)];
        if (v != pe->my_pe)
            return v;
    }
    int v = (int)rnd(s, (uint32_t)(np - 1));
    return v >= pe->my_pe ? v + 1 : v;
}

static void start_steal(core_pe_t *pe, core_tasks_t *s)
{
    if (pe->num_pes < 2 || s->asking || s->tail || s->tries >= STEAL_TRIES || pe->exiting)
        return;
    int v = pick_victim(pe, s);
    s->asking = 1;
    s->tries++;
    int32_t me = pe->my_pe;
    tp_send(pe, v, TP_STEAL, &me, sizeof me, NULL, 0);
}

/* pool.steal at a victim: the upper part of its oldest item the thief may run. */
static void h_steal(core_pe_t *pe, tern_msg_t *m)
{
    int thief = m->hdr.src_pe;
    core_msg_release(&pe->pool, m);
    core_tasks_t *s = tasks_of(pe);
    for (item_t *it = s->head; it; it = it->next) {
        uint32_t unit = it->w.chunk ? it->w.chunk : 1;
        /* Half of a big item; all of a small one the victim would not run next (the
         * classic steal of the oldest continuation: with maps of two tasks, as recursive
         * tasks make, an item has one task left once its first runs). */
        int whole = it->w.n < 2 * unit && it != s->tail;
        if ((it->w.n < 2 * unit && !whole) || !may_run(pe, &it->w, thief))
            continue;
        uint64_t give = whole ? it->w.n : it->w.n / 2 / unit * unit;
        uint64_t cap = it->w.in_size ? STEAL_MAX_BYTES / it->w.in_size / unit * unit : give;
        if (cap < unit)
            cap = unit;
        if (give > cap)
            give = cap;
        work_t w = it->w;
        w.lo = it->w.lo + it->w.n - give;
        w.n = (uint32_t)give;
        it->w.n -= (uint32_t)give;
        tern_iov_t iov = {it->in + (size_t)(it->w.n) * it->w.in_size,
                          (size_t)give * it->w.in_size};
        tp_send(pe, thief, TP_WORK, &w, sizeof w, &iov, 1);
        if (it->w.n == 0) /* (not the tail: no pool.run is working on it) */
            item_drop(s, it);
        if (s->is_idle[thief]) {
            s->is_idle[thief] = 0;
            for (int k = 0; k < s->nidle; k++)
                if (s->idle[k] == thief) {
                    s->idle[k] = s->idle[--s->nidle];
                    break;
                }
        }
        return;
    }
    if (!s->is_idle[thief]) { /* told when work comes */
        s->is_idle[thief] = 1;
        s->idle[s->nidle++] = thief;
    }
    tp_send(pe, thief, TP_NONE, NULL, 0, NULL, 0);
}

static void h_work(core_pe_t *pe, tern_msg_t *m)
{
    core_tasks_t *s = tasks_of(pe);
    item_t *it = calloc(1, sizeof *it);
    size_t len;
    const void *in = core_msg_seg(m, 0, &len);
    if (!it)
        tern_abort("task pool: out of memory");
    memcpy(&it->w, m->hdr.u.raw, sizeof it->w);
    if (len != (size_t)it->w.n * it->w.in_size)
        tern_abort("task pool: work from PE %d with %zu bytes of inputs for %u tasks of %u",
                   m->hdr.src_pe, len, it->w.n, it->w.in_size);
    it->own = malloc(len + 1);
    if (!it->own)
        tern_abort("task pool: out of memory for %zu bytes of inputs", len);
    if (len)
        memcpy(it->own, in, len);
    it->in = it->own;
    s->last_victim = m->hdr.src_pe;
    core_msg_release(&pe->pool, m);
    s->asking = 0;
    s->tries = 0;
    item_push(s, it);
    post_run(pe, s);
}

static void h_none(core_pe_t *pe, tern_msg_t *m)
{
    core_msg_release(&pe->pool, m);
    core_tasks_t *s = tasks_of(pe);
    s->asking = 0;
    start_steal(pe, s);
}

static void h_hint(core_pe_t *pe, tern_msg_t *m)
{
    int origin = m->hdr.src_pe;
    core_msg_release(&pe->pool, m);
    core_tasks_t *s = tasks_of(pe);
    if (s->tail || s->asking)
        return;
    s->tries = 0;
    s->last_victim = origin;
    start_steal(pe, s);
}

static void h_result(core_pe_t *pe, tern_msg_t *m)
{
    core_tasks_t *s = tasks_of(pe);
    result_t r;
    memcpy(&r, m->hdr.u.raw, sizeof r);
    map_t *mp = util_hashmap_get(&s->maps, r.map);
    if (!mp)
        tern_abort("task pool: results from PE %d for a map (%llu) PE %d does not know",
                   m->hdr.src_pe, (unsigned long long)r.map, pe->my_pe);
    size_t len;
    const unsigned char *out = core_msg_seg(m, 0, &len);
    if (len != (size_t)r.n * mp->out_size || r.lo + r.n > mp->n)
        tern_abort("task pool: malformed results from PE %d", m->hdr.src_pe);
    if (len)
        memcpy(mp->out + r.lo * mp->out_size, out, len);
    char *err = NULL;
    if (r.err_pe >= 0) {
        size_t elen;
        const char *e = core_msg_seg(m, 1, &elen);
        err = malloc(elen + 1);
        if (!err)
            tern_abort("task pool: out of memory");
        memcpy(err, e ? e : "", elen);
        err[elen] = 0;
    }
    core_msg_release(&pe->pool, m);
    map_done(pe, s, mp, r.n, r.err_pe, r.err_index, err);
    free(err);
}

/* ---- the API ---- */

static tern_status_t start_map(const char *call, tern_task_t task, const void *in,
                               size_t in_size, size_t n, void *out, size_t out_size,
                               const tern_pool_opts_t *opts, uint32_t flags, tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked(call);
    if (!pe)
        return TERN_ERR_STATE;
    const core_task_t *t = core_task_local(task);
    if (!t) {
        util_log_error("%s: %u is not a registered task", call, task);
        return TERN_ERR_INVALID;
    }
    if (flags & MAP_SUBMIT)
        out = NULL; /* (its output goes to a buffer of its own) */
    int no_out = n && out_size && !out && !(flags & MAP_SUBMIT);
    if ((n && in_size && !in) || no_out || in_size > UINT32_MAX ||
        out_size > UINT32_MAX || n > UINT32_MAX || (!(flags & MAP_FORGET) && !f)) {
        util_log_error("%s(%s): %s", call, t->name,
                       n && in_size && !in ? "the inputs are NULL"
                       : no_out ? "the outputs are NULL"
                       : !f && !(flags & MAP_FORGET) ? "the future is NULL"
                       : "a size is over 2^32 - 1");
        return TERN_ERR_INVALID;
    }
    if (opts && (opts->chunk > UINT32_MAX || opts->chunk < 0)) {
        util_log_error("%s(%s): chunk %lld is out of range", call, t->name,
                       (long long)opts->chunk);
        return TERN_ERR_INVALID;
    }
    core_tasks_t *s = tasks_of(pe);
    map_t *m = calloc(1, sizeof *m);
    if (!m)
        return TERN_ERR_NOMEM;
    m->id = ++s->next_map;
    m->task = t->gid;
    m->flags = flags;
    m->n = n;
    m->out_size = out_size;
    m->out = out;
    if (flags & MAP_SUBMIT) {
        m->own_in = malloc(in_size + 1);
        m->own_out = calloc(out_size + 1, 1);
        if (!m->own_in || !m->own_out) {
            map_free(m);
            return TERN_ERR_NOMEM;
        }
        if (in_size)
            memcpy(m->own_in, in, in_size);
        in = m->own_in;
        m->out = m->own_out;
    }
    if (!(flags & MAP_FORGET)) {
        tern_status_t st = core_future_new(pe, call, 1, 0, CORE_FUT_USER, NULL, &m->fut);
        if (st != TERN_OK) {
            map_free(m);
            return st;
        }
        *f = m->fut;
    }
    if (n == 0) { /* done at once */
        if (!(flags & MAP_FORGET))
            core_future_answer(pe, &m->fut, -1, 1, NULL, 0);
        map_free(m);
        return TERN_OK;
    }
    if (util_hashmap_put(&s->maps, m->id, m) != TERN_OK) {
        map_free(m);
        return TERN_ERR_NOMEM;
    }
    item_t *it = calloc(1, sizeof *it);
    if (!it)
        tern_abort("task pool: out of memory");
    int32_t nc = opts && opts->ncores > 0 && opts->ncores < pe->num_pes ? opts->ncores
                                                                        : pe->num_pes;
    it->w = (work_t){m->id, pe->my_pe, t->gid, 0, (uint32_t)n,
                     opts ? (uint32_t)opts->chunk : 0, (uint32_t)in_size,
                     (uint32_t)out_size, (uint32_t)nc, flags};
    it->in = in;
    item_push(s, it);
    if (nc > 1)
        hint(pe, s, &it->w);
    post_run(pe, s);
    return TERN_OK;
}

tern_status_t tern_pool_map_async(tern_task_t task, const void *in, size_t in_size, size_t n,
                                  void *out, size_t out_size, const tern_pool_opts_t *opts,
                                  tern_future_t *done)
{
    return start_map("tern_pool_map_async", task, in, in_size, n, out, out_size, opts, 0,
                     done);
}

tern_status_t tern_pool_map(tern_task_t task, const void *in, size_t in_size, size_t n,
                            void *out, size_t out_size, const tern_pool_opts_t *opts)
{
    if (!tern_in_coroutine()) {
        util_log_error("tern_pool_map: only a coroutine can wait (use tern_pool_map_async)");
        return TERN_ERR_STATE;
    }
    tern_future_t f;
    tern_status_t st = start_map("tern_pool_map", task, in, in_size, n, out, out_size, opts,
                                 0, &f);
    if (st != TERN_OK)
        return st;
    st = tern_future_get(&f, NULL, 0, NULL);
    if (st == TERN_ERR_REMOTE) {
        core_pe_t *pe = core_pe_current();
        core_tasks_t *s = tasks_of(pe);
        int epe = -1;
        const char *e = tern_future_error(&f, &epe);
        free(s->last_err);
        s->last_err = e ? strdup(e) : NULL;
        s->last_err_pe = epe;
    }
    return st;
}

tern_status_t tern_pool_submit(tern_task_t task, const void *in, size_t len, size_t out_size,
                               tern_future_t *result)
{
    return start_map("tern_pool_submit", task, in, len, 1, NULL, out_size, NULL,
                     MAP_SUBMIT | (result ? 0 : MAP_FORGET), result);
}

const char *tern_pool_error(int *pe)
{
    core_pe_t *p = core_pe_current();
    core_tasks_t *s = p ? p->tasks : NULL;
    if (pe)
        *pe = s && s->last_err ? s->last_err_pe : -1;
    return s ? s->last_err : NULL;
}

/* ---- the runtime's side ---- */

tern_status_t core_tasks_register(void)
{
    static const core_handler_def_t defs[TP_NKINDS] = {
        [TP_RUN] = {"pool.run", h_run, 0, CORE_H_COUNTED},
        [TP_STEAL] = {"pool.steal", h_steal, sizeof(int32_t), 0},
        [TP_WORK] = {"pool.work", h_work, sizeof(work_t), CORE_H_COUNTED},
        [TP_NONE] = {"pool.none", h_none, 0, 0},
        [TP_HINT] = {"pool.hint", h_hint, sizeof(int32_t), 0},
        [TP_RESULT] = {"pool.result", h_result, sizeof(result_t), CORE_H_COUNTED},
    };
    for (int i = 0; i < TP_NKINDS; i++) {
        tern_status_t st = core_handler_register(&defs[i], &tp_kinds[i]);
        if (st != TERN_OK && st != TERN_ERR_EXISTS)
            return st;
    }
    return TERN_OK;
}

/* At the end of the job (after suspended coroutines were abandoned): what is left. */
void core_tasks_close(core_pe_t *pe)
{
    core_tasks_t *s = pe->tasks;
    if (!s)
        return;
    while (s->head)
        item_drop(s, s->head);
    size_t iter = 0;
    uint64_t key;
    void *val;
    while (util_hashmap_next(&s->maps, &iter, &key, &val))
        map_free(val);
    util_hashmap_fini(&s->maps);
    /* Coroutine tasks that never ended: each chunk is freed with its last task. */
    while (s->live) {
        task_ctx_t *c = s->live;
        s->live = c->next;
        if (--c->cr->left == 0) {
            if (c->cr->out_owned)
                free(c->cr->out);
            free(c->cr->err);
            free(c->cr);
        }
        free(c);
    }
    free(s->last_err);
    free(s->idle);
    free(s->is_idle);
    free(s);
    pe->tasks = NULL;
}
