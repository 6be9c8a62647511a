/*
 * Reductions over groups and arrays. The k-th contribution of every member belongs to
 * reduction k of its collection. Each PE combines its members' contributions and its
 * children's partial results, then sends one partial result to its parent in a k-ary
 * tree over the PEs that hold members; the root hands the result to the callback, or,
 * for an allreduce, sends it back down the same tree to every member.
 *
 * The tree is host-aware (topology/tree.h): one edge enters each host.
 *
 * A small allreduce (up to XCHG_MAX bytes, not a gather) whose members all live on one
 * host does not go up and down the tree: the PEs with members exchange partial results by recursive doubling (log2 n
 * rounds, each a swap with one partner; with n not a power of two, the first
 * 2 * (n - 2^k) PEs pair up before and after), which halves the trips on the critical
 * path. Partners combine the lower-ranked data first, so every PE ends with the same
 * bits, also for floats. A larger one (where the n log n bytes moved would cost more
 * than the latency saved), a gather, or one spanning hosts (where an exchange would send
 * log2 n messages per PE across the network instead of one per host) goes up the tree
 * and its result comes back down.
 *
 * A partial result travels as two segments: the callback, then the data (for gather, a
 * list of records {element index, length, bytes padded to 8}, sorted at the end).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/index.h"
#include "core/pe.h"
#include "core/reduce_ops.h"
#include "core/registry.h"
#include "topology/tree.h"
#include "util/log.h"

/* A callback kind of the runtime's own: the result goes back to every contributor. */
#define CB_ALLREDUCE 0x100u

/* Steps of an allreduce exchange: 0 the pairing-up, 1..32 the rounds, 33 the answer to
 * the paired-up PE. */
#define XCHG_STEPS 34
#define XCHG_MAX 4096

typedef struct core_rtree {
    int n;          /* PEs with members */
    int *pes;       /* them, in order */
    int pos;        /* my position among the PEs with members, -1 if none */
    int parent;     /* a PE, -1 at the root */
    int nkids;
    int kids[TOPO_TREE_MAX_KIDS(64)];
    int one_host;   /* every PE with members is on one host */
} core_rtree_t;

typedef struct core_red {
    struct core_red *next;
    uint64_t seq;
    int started;
    uint32_t reducer;       /* global id */
    uint64_t len;           /* bytes of each contribution (not gather) */
    unsigned char *acc;     /* combined data, or gather records */
    uint64_t acc_len, acc_cap;
    uint64_t nlocal, nkids; /* inputs so far: my members', my children's */
    uint64_t ncontrib;      /* members covered */
    tern_callback_t cb;
    int sent;               /* passed up (or finished at the root) */
    unsigned char *result;  /* allreduce: the result, once it came down */
    uint64_t result_len;
    int have_result;
    uint64_t readers;
    core_waiter_t *waiters;
    int xstep;              /* allreduce: the exchange step waited for; -1 not begun */
    int nheld;              /* allreduce: messages in xmsg */
    tern_msg_t *xmsg[XCHG_STEPS]; /* allreduce: partners' data, by step */
} core_red_t;

typedef struct {
    uint64_t lin;
    uint64_t len;
} gather_rec_t;

static const char *coll_kind_name(const core_coll_t *c)
{
    return c->kind == TERN_PROXY_GROUP ? "group" : c->kind == TERN_PROXY_ARRAY ? "array"
                                                                                : "chare";
}

static const char *type_name(uint32_t gid)
{
    const core_type_t *t = core_type_by_gid(gid);
    return t ? t->name : "?";
}

/* ---- the tree ---- */

static int has_members(const core_coll_t *c, int npes, int p)
{
    if (c->kind == TERN_PROXY_GROUP)
        return 1;
    uint64_t lo, hi;
    core_block_range(c->total, npes, p, &lo, &hi);
    return hi > lo;
}

static core_rtree_t *rtree_of(core_pe_t *pe, core_coll_t *c)
{
    if (c->rtree)
        return c->rtree;
    core_rtree_t *t = calloc(1, sizeof *t);
    int *pes = malloc((size_t)pe->num_pes * sizeof *pes);
    if (!t || !pes)
        tern_abort("out of memory building a reduction tree");
    int n = 0;
    t->pos = -1;
    for (int p = 0; p < pe->num_pes; p++) {
        if (!has_members(c, pe->num_pes, p))
            continue;
        if (p == pe->my_pe)
            t->pos = n;
        pes[n++] = p;
    }
    t->n = n;
    t->pes = pes;
    t->one_host = 1;
    for (int i = 1; i < n; i++)
        t->one_host &= pe->hosts.pe_host[pes[i]] == pe->hosts.pe_host[pes[0]];
    t->parent = -1;
    if (t->pos >= 0) {
        /* The host-aware tree over the member PEs, rooted at the lowest. */
        topo_set_t set;
        if (topo_set_build(&pe->hosts, pes, n, &set) != TERN_OK)
            tern_abort("out of memory building a reduction tree");
        t->parent = topo_tree_parent(&set, pes[0], pe->fanout, pe->my_pe);
        t->nkids = topo_tree_children(&set, pes[0], pe->fanout, pe->my_pe, t->kids);
        topo_set_free(&set);
    }
    c->rtree = t;
    return t;
}

/* ---- the states ---- */

static core_red_t *red_get(core_coll_t *c, uint64_t seq, int create)
{
    core_red_t **pp = &c->reds;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->seq == seq)
            return *pp;
    if (!create)
        return NULL;
    /* Reductions come one after another: reuse the last state and its buffer. */
    core_red_t *r = c->red_spare;
    if (r) {
        unsigned char *acc = r->acc;
        uint64_t cap = r->acc_cap;
        c->red_spare = NULL;
        memset(r, 0, offsetof(core_red_t, xmsg)); /* xmsg is all NULL when spared */
        r->acc = acc;
        r->acc_cap = cap;
    } else if (!(r = calloc(1, sizeof *r))) {
        tern_abort("out of memory for a reduction");
    }
    r->seq = seq;
    r->xstep = -1;
    *pp = r;
    return r;
}

static void red_free(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    core_red_t **pp = &c->reds;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    for (int i = 0; r->nheld && i < XCHG_STEPS; i++) {
        if (r->xmsg[i]) {
            core_msg_release(&pe->pool, r->xmsg[i]);
            r->xmsg[i] = NULL;
            r->nheld--;
        }
    }
    free(r->result);
    if (!c->red_spare && r->acc_cap <= 65536) {
        r->acc_len = 0;
        c->red_spare = r;
        return;
    }
    free(r->acc);
    free(r);
}

void core_red_coll_free(core_pe_t *pe, core_coll_t *c)
{
    while (c->reds)
        red_free(pe, c, c->reds);
    if (c->red_spare) {
        free(c->red_spare->acc);
        free(c->red_spare);
        c->red_spare = NULL;
    }
    if (c->rtree)
        free(c->rtree->pes);
    free(c->rtree);
    c->rtree = NULL;
}

static void acc_reserve(core_red_t *r, uint64_t more)
{
    if (r->acc_len + more <= r->acc_cap)
        return;
    uint64_t cap = r->acc_cap ? r->acc_cap : 64;
    while (cap < r->acc_len + more)
        cap *= 2;
    unsigned char *n = realloc(r->acc, cap);
    if (!n)
        tern_abort("out of memory for a reduction of %llu bytes",
                   (unsigned long long)(r->acc_len + more));
    r->acc = n;
    r->acc_cap = cap;
}

static _Noreturn void mismatch(core_coll_t *c, core_red_t *r, const char *what, uint64_t a,
                               uint64_t b, uint32_t ra, uint32_t rb)
{
    char na[80], nb[80];
    if (ra != rb)
        tern_abort("reduction %llu of %s %#llx (chare type '%s'): contributions with "
                   "different reducers (%s and %s)", (unsigned long long)r->seq,
                   coll_kind_name(c), (unsigned long long)c->cid, type_name(c->type),
                   core_red_name(ra, na, sizeof na), core_red_name(rb, nb, sizeof nb));
    tern_abort("reduction %llu of %s %#llx (chare type '%s'): contributions of different "
               "%s (%llu and %llu bytes, reducer %s)", (unsigned long long)r->seq,
               coll_kind_name(c), (unsigned long long)c->cid, type_name(c->type), what,
               (unsigned long long)a, (unsigned long long)b, core_red_name(ra, na, sizeof na));
}

static int cb_same(const tern_callback_t *a, const tern_callback_t *b)
{
    if (a->kind != b->kind)
        return 0;
    if (a->kind == TERN_CB_FUTURE)
        return a->future.pe == b->future.pe && a->future.id == b->future.id;
    if (a->kind == TERN_CB_SEND)
        return a->ep == b->ep && tern_proxy_equal(&a->proxy, &b->proxy) &&
               a->proxy.pe == b->proxy.pe;
    return 1;
}

static void cb_name(const tern_callback_t *cb, char *buf, size_t cap)
{
    if (cb->kind == TERN_CB_FUTURE) {
        snprintf(buf, cap, "future %llu of PE %d", (unsigned long long)cb->future.id,
                 cb->future.pe);
    } else if (cb->kind == TERN_CB_SEND) {
        const core_ep_t *e = core_ep_by_gid(cb->ep);
        snprintf(buf, cap, "entry method '%s.%s' of collection %#llx",
                 e ? type_name(e->type_gid) : "?", e ? e->name : "?",
                 (unsigned long long)cb->proxy.cid);
    } else {
        snprintf(buf, cap, "%s", cb->kind == CB_ALLREDUCE ? "the members (tern_allreduce)"
                                                          : "nothing");
    }
}

/* Fold an input (a member's contribution, or a child's partial) into r. For gather the
 * data is already in record form. `len` is the size of one contribution. */
static void red_add(core_coll_t *c, core_red_t *r, uint32_t reducer, uint64_t len,
                    const tern_callback_t *cb, const void *data, uint64_t data_len)
{
    int first = !r->started;
    if (first) {
        r->started = 1;
        r->reducer = reducer;
        r->len = len;
    } else if (r->reducer != reducer) {
        mismatch(c, r, "reducers", 0, 0, r->reducer, reducer);
    } else if (reducer != TERN_REDUCER_GATHER && r->len != len) {
        mismatch(c, r, "sizes", r->len, len, reducer, reducer);
    }
    if (cb && r->cb.kind != TERN_CB_NONE &&
        (r->cb.kind == CB_ALLREDUCE) != (cb->kind == CB_ALLREDUCE))
        tern_abort("reduction %llu of %s %#llx (chare type '%s'): some members called "
                   "tern_allreduce, others tern_contribute", (unsigned long long)r->seq,
                   coll_kind_name(c), (unsigned long long)c->cid, type_name(c->type));
    if (cb && r->cb.kind != TERN_CB_NONE && !cb_same(&r->cb, cb)) {
        char na[200], nb[200];
        cb_name(&r->cb, na, sizeof na);
        cb_name(cb, nb, sizeof nb);
        tern_abort("reduction %llu of %s %#llx (chare type '%s'): contributions with "
                   "different callbacks (%s and %s)", (unsigned long long)r->seq,
                   coll_kind_name(c), (unsigned long long)c->cid, type_name(c->type), na, nb);
    }
    if (r->cb.kind == TERN_CB_NONE && cb)
        r->cb = *cb;
    if (reducer == TERN_REDUCER_GATHER || first) {
        /* the first input is copied as it is; gather appends */
        acc_reserve(r, data_len);
        if (data_len)
            memcpy(r->acc + r->acc_len, data, data_len);
        r->acc_len += data_len;
    } else if (reducer != TERN_REDUCER_NOP && data_len) {
        core_red_combine(reducer, r->acc, data, data_len);
    }
}

static int cmp_rec(const void *a, const void *b)
{
    uint64_t x = (*(const gather_rec_t *const *)a)->lin;
    uint64_t y = (*(const gather_rec_t *const *)b)->lin;
    return x < y ? -1 : x > y;
}

/* The gather result: the records' bytes in element index order. */
static unsigned char *gather_finish(core_red_t *r, uint64_t *len_out)
{
    uint64_t n = r->ncontrib, total = 0;
    const gather_rec_t **recs = malloc((n ? n : 1) * sizeof *recs);
    if (!recs)
        tern_abort("out of memory finishing a gather");
    uint64_t off = 0, k = 0;
    while (off < r->acc_len && k < n) {
        const gather_rec_t *g = (const gather_rec_t *)(r->acc + off);
        recs[k++] = g;
        total += g->len;
        off += sizeof *g + ((g->len + 7) & ~7ULL);
    }
    if (k != n || off != r->acc_len)
        tern_abort("a gather's records are malformed");
    qsort(recs, n, sizeof *recs, cmp_rec);
    unsigned char *out = malloc(total ? total : 1);
    if (!out)
        tern_abort("out of memory for a gather of %llu bytes", (unsigned long long)total);
    uint64_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(out + pos, recs[i] + 1, recs[i]->len);
        pos += recs[i]->len;
    }
    free(recs);
    *len_out = total;
    return out;
}

static void red_send(core_pe_t *pe, core_coll_t *c, int kind, int dest, core_red_t *r,
                     const void *data, uint64_t len, int step)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, kind, pe->my_pe);
    hdr.u.red = (core_part_red_t){.cid = c->cid, .seq = r->seq, .each = r->len,
                                  .reducer = r->reducer, .ncontrib = (uint32_t)r->ncontrib,
                                  .step = step};
    /* Up the tree the callback travels along; between allreduce partners it is known. */
    tern_iov_t iov[2] = {{&r->cb, sizeof r->cb}, {data, len}};
    int xchg = kind == CORE_K_RED_XCHG;
    tern_status_t st = core_send_iov(pe, dest, &hdr, iov + xchg, 2 - xchg);
    if (st != TERN_OK)
        tern_abort("sending a reduction of %s %#llx to PE %d failed: %s", coll_kind_name(c),
                   (unsigned long long)c->cid, dest, tern_strerror(st));
}

/* The allreduce result is here: keep it for my members. */
/* The allreduce result is here (r takes `data` over): keep it for my members, and pass
 * it down the tree if it came by the tree. */
static void red_result(core_pe_t *pe, core_coll_t *c, core_red_t *r, unsigned char *data,
                       uint64_t len)
{
    if (r->xstep < 0) {
        core_rtree_t *t = rtree_of(pe, c);
        for (int i = 0; i < t->nkids; i++)
            red_send(pe, c, CORE_K_RED_DOWN, t->kids[i], r, data, len, 0);
    }
    r->result = data;
    r->result_len = len;
    r->have_result = 1;
    core_waiters_wake(pe, &r->waiters);
}

static void check_total(core_coll_t *c, core_red_t *r)
{
    if (r->ncontrib != c->total)
        tern_abort("reduction %llu of %s %#llx (chare type '%s') combined %llu contributions "
                   "for %llu members", (unsigned long long)r->seq, coll_kind_name(c),
                   (unsigned long long)c->cid, type_name(c->type),
                   (unsigned long long)r->ncontrib, (unsigned long long)c->total);
}

/* ---- allreduce by recursive doubling ---- */

typedef struct {
    int rank;     /* rank among the PEs that take part in the rounds; -1 if paired away */
    int rounds;   /* log2 of their number */
    int pair;     /* the position paired with mine before and after the rounds, or -1 */
} xplan_t;

static xplan_t xplan(int n, int pos)
{
    int p2 = 1, rounds = 0;
    while (p2 * 2 <= n) {
        p2 *= 2;
        rounds++;
    }
    int rem = n - p2;
    xplan_t x = {pos - rem, rounds, -1};
    if (pos < 2 * rem) {
        x.pair = pos % 2 ? pos - 1 : pos + 1;
        x.rank = pos % 2 ? pos / 2 : -1;
    }
    return x;
}

static int xrank_pos(int n, int rank)
{
    int p2 = 1;
    while (p2 * 2 <= n)
        p2 *= 2;
    int rem = n - p2;
    return rank < rem ? 2 * rank + 1 : rank + rem;
}

/* Fold a partner's partial into r; `lower`: the partner's data goes first. */
static void xchg_fold(core_pe_t *pe, core_coll_t *c, core_red_t *r, tern_msg_t *m, int lower)
{
    size_t len;
    const void *data = core_msg_seg(m, 0, &len);
    uint64_t each = m->hdr.u.red.each;
    uint32_t reducer = m->hdr.u.red.reducer;
    if (r->reducer != reducer)
        mismatch(c, r, "reducers", 0, 0, r->reducer, reducer);
    if (reducer != TERN_REDUCER_GATHER && r->len != each)
        mismatch(c, r, "sizes", r->len, each, reducer, reducer);
    if (reducer == TERN_REDUCER_GATHER) {
        if (len) {
            acc_reserve(r, len);
            memcpy(r->acc + r->acc_len, data, len);
        }
        r->acc_len += len;
    } else if (reducer != TERN_REDUCER_NOP && len) {
        if (lower) {
            _Alignas(16) unsigned char small[256];
            unsigned char *mine = len <= sizeof small ? small : malloc(len);
            if (!mine)
                tern_abort("out of memory for an allreduce of %zu bytes", len);
            memcpy(mine, r->acc, len);
            memcpy(r->acc, data, len);
            core_red_combine(reducer, r->acc, mine, len);
            if (mine != small)
                free(mine);
        } else {
            core_red_combine(reducer, r->acc, data, len);
        }
    }
    r->ncontrib += m->hdr.u.red.ncontrib;
    r->xmsg[m->hdr.u.red.step] = NULL;
    r->nheld--;
    core_msg_release(&pe->pool, m);
}

static void xchg_finish(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    check_total(c, r);
    uint64_t len = r->acc_len;
    if (r->reducer == TERN_REDUCER_GATHER) {
        unsigned char *out = gather_finish(r, &len);
        red_result(pe, c, r, out, len);
        return;
    }
    /* The result takes over the combined data's buffer. */
    unsigned char *data = r->acc ? r->acc : malloc(1);
    if (!data)
        tern_abort("out of memory for an allreduce result");
    r->acc = NULL;
    r->acc_len = r->acc_cap = 0;
    red_result(pe, c, r, data, len);
}

/* Go through the steps whose partner data is here. */
static void xchg_advance(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    core_rtree_t *t = rtree_of(pe, c);
    xplan_t x = xplan(t->n, t->pos);
    while (!r->have_result) {
        int step = r->xstep;
        if (step == 0) {
            if (x.rank < 0) {          /* paired away: send, then wait for the answer */
                red_send(pe, c, CORE_K_RED_XCHG, t->pes[x.pair], r, r->acc, r->acc_len, 0);
                r->xstep = XCHG_STEPS - 1;
                continue;
            }
            if (x.pair >= 0) {         /* take my pair's data */
                if (!r->xmsg[0])
                    return;
                xchg_fold(pe, c, r, r->xmsg[0], 1);
            }
            r->xstep = 1;
            if (x.rounds > 0)
                red_send(pe, c, CORE_K_RED_XCHG,
                         t->pes[xrank_pos(t->n, x.rank ^ 1)], r, r->acc, r->acc_len, 1);
        } else if (step <= x.rounds) { /* round `step`: swap with rank ^ 2^(step-1) */
            if (!r->xmsg[step])
                return;
            int partner = x.rank ^ (1 << (step - 1));
            xchg_fold(pe, c, r, r->xmsg[step], partner < x.rank);
            r->xstep = step + 1;
            if (step < x.rounds)
                red_send(pe, c, CORE_K_RED_XCHG,
                         t->pes[xrank_pos(t->n, x.rank ^ (1 << step))], r, r->acc,
                         r->acc_len, step + 1);
        } else if (step < XCHG_STEPS - 1) { /* after the rounds */
            if (x.pair >= 0)
                red_send(pe, c, CORE_K_RED_XCHG, t->pes[x.pair], r, r->acc, r->acc_len,
                         XCHG_STEPS - 1);
            xchg_finish(pe, c, r);
        } else {                      /* paired away: the answer replaces my data */
            tern_msg_t *m = r->xmsg[XCHG_STEPS - 1];
            if (!m)
                return;
            size_t len;
            const void *data = core_msg_seg(m, 0, &len);
            r->acc_len = 0;
            if (len) {
                acc_reserve(r, len);
                memcpy(r->acc, data, len);
            }
            r->acc_len = len;
            r->ncontrib = m->hdr.u.red.ncontrib;
            r->xmsg[XCHG_STEPS - 1] = NULL;
            r->nheld--;
            core_msg_release(&pe->pool, m);
            xchg_finish(pe, c, r);
        }
    }
}

void core_h_red_xchg(core_pe_t *pe, tern_msg_t *m)
{
    int step = m->hdr.u.red.step;
    if (m->hdr.nsegs > 1 || step < 0 || step >= XCHG_STEPS)
        tern_abort("malformed allreduce message from PE %d", m->hdr.src_pe);
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 1);
    core_red_t *r = red_get(c, m->hdr.u.red.seq, 1);
    if (r->xmsg[step])
        tern_abort("allreduce %llu of collection %#llx: step %d twice",
                   (unsigned long long)r->seq, (unsigned long long)c->cid, step);
    /* It may wait for my members: it must not pin the sender's shared heap. */
    if (!(r->xmsg[step] = core_msg_detach(&pe->pool, m)))
        tern_abort("out of memory holding an allreduce message");
    r->nheld++;
    if (r->xstep >= 0)
        xchg_advance(pe, c, r);
}

/* Pass r on if every input is in. */
static void red_check(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    if (!c->live || r->sent)
        return;
    core_rtree_t *t = rtree_of(pe, c);
    int allreduce = r->cb.kind == CB_ALLREDUCE;
    /* Every PE sees the same reducer, size and hosts, so all choose alike. */
    int xchg = allreduce && r->reducer != TERN_REDUCER_GATHER && r->len <= XCHG_MAX &&
               t->one_host;
    if (r->nlocal < c->nlocal || (!xchg && r->nkids < (uint64_t)t->nkids))
        return;
    r->sent = 1;
    if (xchg) {
        r->xstep = 0;
        xchg_advance(pe, c, r);
        return;
    }
    if (t->parent >= 0) {
        red_send(pe, c, CORE_K_RED_PART, t->parent, r, r->acc, r->acc_len, 0);
        if (allreduce)
            r->acc_len = 0; /* the result comes back down */
        else
            red_free(pe, c, r);
        return;
    }
    if (allreduce) {
        xchg_finish(pe, c, r); /* the same ending as an exchange's */
        return;
    }
    check_total(c, r);
    unsigned char *data = r->acc;
    uint64_t len = r->acc_len;
    if (r->reducer == TERN_REDUCER_GATHER)
        data = gather_finish(r, &len);
    core_cb_fire(pe, &r->cb, data, len);
    if (data != r->acc)
        free(data);
    red_free(pe, c, r);
}

void core_red_coll_live(core_pe_t *pe, core_coll_t *c)
{
    for (core_red_t *r = c->reds, *next; r; r = next) {
        next = r->next;
        red_check(pe, c, r);
    }
}

static uint64_t msg_seq(const tern_msg_t *m)
{
    return m->hdr.u.red.seq;
}

void core_h_red_part(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 1);
    size_t cblen, len;
    const void *cb = core_msg_seg(m, 0, &cblen);
    const void *data = core_msg_seg(m, 1, &len);
    if (m->hdr.nsegs != 2 || cblen != sizeof(tern_callback_t))
        tern_abort("malformed reduction message from PE %d", m->hdr.src_pe);
    tern_callback_t cbv;
    memcpy(&cbv, cb, sizeof cbv);
    core_red_t *r = red_get(c, msg_seq(m), 1);
    red_add(c, r, m->hdr.u.red.reducer, m->hdr.u.red.each, &cbv, data, len);
    r->nkids++;
    r->ncontrib += m->hdr.u.red.ncontrib;
    core_msg_release(&pe->pool, m);
    red_check(pe, c, r);
}

void core_h_red_down(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 0);
    core_red_t *r = c ? red_get(c, msg_seq(m), 0) : NULL;
    if (!r)
        tern_abort("an allreduce result from PE %d for a reduction this PE does not know",
                   m->hdr.src_pe);
    size_t len;
    const void *data = core_msg_seg(m, 1, &len);
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        tern_abort("out of memory for an allreduce result of %zu bytes", len);
    if (len)
        memcpy(copy, data, len);
    core_msg_release(&pe->pool, m);
    red_result(pe, c, r, copy, len);
}

/* ---- the public calls ---- */

static tern_status_t contribute(core_pe_t *pe, const char *call, const void *self,
                                const void *data, size_t len, tern_reducer_t reducer,
                                const tern_callback_t *cb, core_coll_t **coll, uint64_t *seq)
{
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return TERN_ERR_INVALID;
    core_coll_t *c = ch->coll;
    if (c->kind != TERN_PROXY_GROUP && c->kind != TERN_PROXY_ARRAY) {
        util_log_error("%s: only members of groups and arrays contribute (this is a single "
                       "chare of type '%s')", call, type_name(c->type));
        return TERN_ERR_INVALID;
    }
    if (len && !data) {
        util_log_error("%s: data is NULL with length %zu", call, len);
        return TERN_ERR_INVALID;
    }
    uint32_t gid;
    const char *why;
    if (core_red_resolve(reducer, len, &gid, &why) != TERN_OK) {
        util_log_error("%s: reducer %#x with %zu bytes: %s", call, reducer, len, why);
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, call);
    core_red_t *r = red_get(c, ch->red_seq, 1);
    *seq = ch->red_seq++;
    *coll = c;
    if (gid == TERN_REDUCER_GATHER) {
        /* one record: its header, the bytes, zero padding to 8 */
        gather_rec_t g = {ch->lin, len};
        uint64_t rec_len = sizeof g + ((len + 7) & ~(uint64_t)7);
        unsigned char *rec = calloc(1, rec_len);
        if (!rec)
            tern_abort("%s: out of memory for %zu bytes", call, len);
        memcpy(rec, &g, sizeof g);
        if (len)
            memcpy(rec + sizeof g, data, len);
        red_add(c, r, gid, 0, cb, rec, rec_len);
        free(rec);
    } else {
        red_add(c, r, gid, len, cb, data, len);
    }
    r->nlocal++;
    r->ncontrib++;
    red_check(pe, c, r);
    return TERN_OK;
}

tern_status_t tern_contribute(const void *self, const void *data, size_t len,
                              tern_reducer_t reducer, const tern_callback_t *cb)
{
    core_pe_t *pe = core_pe_checked("tern_contribute");
    if (!pe)
        return TERN_ERR_STATE;
    if (!cb || (cb->kind != TERN_CB_FUTURE && cb->kind != TERN_CB_SEND)) {
        util_log_error("tern_contribute: %s", !cb ? "the callback is NULL"
                                                  : "the callback names no future or method");
        return TERN_ERR_INVALID;
    }
    core_coll_t *c;
    uint64_t seq;
    return contribute(pe, "tern_contribute", self, data, len, reducer, cb, &c, &seq);
}

/* tern_allreduce() and tern_barrier(), with the caller's name in error messages. */
static tern_status_t allreduce(const char *call, const void *self, const void *data,
                               size_t len, tern_reducer_t reducer, void *out, size_t cap,
                               size_t *len_out)
{
    core_pe_t *pe = core_pe_checked(call);
    if (!pe)
        return TERN_ERR_STATE;
    if (!core_need_coroutine(pe, call))
        return TERN_ERR_STATE;
    tern_callback_t cb;
    memset(&cb, 0, sizeof cb);
    cb.kind = CB_ALLREDUCE;
    core_coll_t *c;
    uint64_t seq;
    tern_status_t st = contribute(pe, call, self, data, len, reducer, &cb, &c, &seq);
    if (st != TERN_OK)
        return st;
    core_red_t *r;
    while (!(r = red_get(c, seq, 0))->have_result)
        core_wait_on(pe, &r->waiters, CORE_WAIT_REDUCE, c->cid, seq);
    if (r->result_len > cap && (out || cap)) { /* out NULL, cap 0: the result is not wanted */
        /* The result cannot be read twice: what fits is copied, and the caller told. */
        util_log_error("%s: the result of reduction %llu has %zu bytes, more than the %zu "
                       "the buffer takes (only those were copied)", call,
                       (unsigned long long)seq, r->result_len, out ? cap : 0);
        st = TERN_ERR_RANGE;
    }
    if (out && cap)
        memcpy(out, r->result, r->result_len < cap ? r->result_len : cap);
    if (len_out)
        *len_out = r->result_len;
    if (++r->readers == c->nlocal)
        red_free(pe, c, r);
    return st;
}

tern_status_t tern_allreduce(const void *self, const void *data, size_t len,
                             tern_reducer_t reducer, void *out, size_t cap, size_t *len_out)
{
    return allreduce("tern_allreduce", self, data, len, reducer, out, cap, len_out);
}

tern_status_t tern_barrier(const void *self)
{
    return allreduce("tern_barrier", self, NULL, 0, TERN_REDUCER_NOP, NULL, 0, NULL);
}

/* ---- stall reports ---- */

int core_red_describe(core_pe_t *pe, core_coll_t *c, char *buf, size_t cap)
{
    (void)pe;
    size_t len = 0;
    int n = 0;
    for (core_red_t *r = c->reds; r && len < cap; r = r->next) {
        if (r->have_result || (r->sent && r->nlocal == c->nlocal))
            continue; /* done here, or passed on: whatever waits is elsewhere */
        int w = snprintf(buf + len, cap - len,
                         "%sreduction %llu of %s %#llx (chare type '%s') is unfinished: %llu "
                         "of the %llu members here contributed%s",
                         n ? "\n" : "", (unsigned long long)r->seq, coll_kind_name(c),
                         (unsigned long long)c->cid, type_name(c->type),
                         (unsigned long long)r->nlocal, (unsigned long long)c->nlocal,
                         r->nlocal < c->nlocal ? "" : " (it waits for other PEs)");
        if (w < 0)
            break;
        len += (size_t)w;
        n++;
    }
    return n;
}
