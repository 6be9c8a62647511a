/*
 * Reductions over groups and arrays. The k-th contribution of every member belongs to
 * reduction k of its collection. Each PE combines its members' contributions and its
 * children's partial results, then sends one partial result to its parent in a k-ary
 * tree over the PEs that hold members; the root hands the result to the callback, or,
 * for an allreduce, sends it back down the same tree to every member.
 *
 * The tree is host-aware (topology/tree.h): one edge enters each host.
 *
 * Members that move: each element is counted by one PE, its red_pe (where it was when
 * the collection's membership was last counted: at creation, or at a census after
 * insertions). A contribution made elsewhere goes to that PE (CORE_K_RED_CONTRIB), so
 * every PE's count of expected contributions stays fixed while elements move; an
 * allreduce's result goes back to the PEs where contributors wait (CORE_K_RED_RESULT).
 * Each count and its tree is a membership version (core_rver_t), valid from a reduction
 * number on; a census makes a new one. A destroyed element leaves its version's count
 * from its next reduction on (CORE_K_RED_LEAVE); a PE left with nothing to count, and
 * whose subtree is in the same state, tells its parent not to wait for it any more
 * (CORE_K_RED_STAND).
 *
 * A small allreduce over a group (up to XCHG_MAX bytes, not a gather) whose members all
 * live on one host does not go up and down the tree: the PEs with members exchange partial results by recursive doubling (log2 n
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
#include "core/loc.h"
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

/* A membership version: who counts whom, from reduction `from` on. */
typedef struct core_rver {
    struct core_rver *next; /* the older ones */
    uint32_t id;
    uint64_t from;
    uint64_t base;          /* members counted here when it was made */
    uint64_t *leaves;       /* of those, the ones destroyed: from which reduction on */
    uint32_t nleaves, leaves_cap;
    core_rtree_t t;
    uint64_t kid_stand[TOPO_TREE_MAX_KIDS(64)]; /* a child sends nothing from then on */
    uint64_t stand;         /* this subtree sends nothing from then on (told the parent) */
} core_rver_t;

typedef struct core_red {
    struct core_red *next;
    uint64_t seq;
    int started;
    uint32_t ver;           /* membership version of its inputs */
    int has_ver;
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
    uint64_t readers, nwait; /* allreduce: members here that read it, that will */
    int await_down;         /* allreduce: passed up the tree; the result comes back down */
    int *remote;            /* allreduce: PEs where contributors counted here wait */
    int nremote, remote_cap;
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

/* ---- membership versions and their trees ---- */

static core_rver_t *ver_get(core_coll_t *c, uint32_t id)
{
    for (core_rver_t *v = c->rvers; v; v = v->next)
        if (v->id == id)
            return v;
    return NULL;
}

/* Make version `id` (from reduction `from`, counting `base` members here) with its tree
 * over the n PEs `pes` (in order). */
static core_rver_t *ver_new(core_pe_t *pe, core_coll_t *c, uint32_t id, uint64_t from,
                            uint64_t base, int *pes, int n)
{
    core_rver_t *v = calloc(1, sizeof *v);
    if (!v)
        tern_abort("out of memory building a reduction tree");
    v->id = id;
    v->from = from;
    v->base = base;
    v->stand = UINT64_MAX;
    core_rtree_t *t = &v->t;
    t->n = n;
    t->pes = pes;
    t->pos = -1;
    for (int i = 0; i < n; i++)
        if (pes[i] == pe->my_pe)
            t->pos = i;
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
    for (int i = 0; i < t->nkids; i++)
        v->kid_stand[i] = UINT64_MAX;
    v->next = c->rvers;
    c->rvers = v;
    return v;
}

static void ver_free(core_rver_t *v)
{
    free(v->t.pes);
    free(v->leaves);
    free(v);
}

/* Version 0 of a collection made with members, from the placement map. */
static void ver0_from_map(core_pe_t *pe, core_coll_t *c)
{
    int n = 0;
    int *pes = malloc((size_t)pe->num_pes * sizeof *pes);
    unsigned char *has = calloc((size_t)pe->num_pes, 1);
    if (!pes || !has)
        tern_abort("out of memory building a reduction tree");
    if (c->kind == TERN_PROXY_GROUP) {
        memset(has, 1, (size_t)pe->num_pes);
    } else if (c->map == TERN_MAP_DEFAULT || c->map == TERN_MAP_BLOCK) {
        for (int p = 0; p < pe->num_pes; p++) {
            uint64_t lo, hi;
            core_block_range(c->total, pe->num_pes, p, &lo, &hi);
            has[p] = hi > lo;
        }
    } else {
        int32_t idx[TERN_MAX_DIMS] = {0};
        for (uint64_t lin = 0; lin < c->total; lin++) {
            core_index_from_linear(c->ndims, c->dims, lin, idx);
            has[core_loc_home(pe, c->map, c->pflags, c->ndims, c->dims, idx, lin)] = 1;
        }
    }
    for (int p = 0; p < pe->num_pes; p++)
        if (has[p])
            pes[n++] = p;
    free(has);
    ver_new(pe, c, 0, 0, c->nlocal, pes, n);
}

/* Members of v counted here that still contribute to reduction seq. */
static uint64_t ver_expect_local(const core_rver_t *v, uint64_t seq)
{
    uint64_t gone = 0;
    for (uint32_t i = 0; i < v->nleaves; i++)
        gone += v->leaves[i] <= seq;
    return v->base - gone;
}

static uint64_t ver_expect_kids(const core_rver_t *v, uint64_t seq)
{
    uint64_t n = 0;
    for (int i = 0; i < v->t.nkids; i++)
        n += v->kid_stand[i] > seq;
    return n;
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
    free(r->remote);
    r->remote = NULL;
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
    while (c->rvers) {
        core_rver_t *v = c->rvers;
        c->rvers = v->next;
        ver_free(v);
    }
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
                                  .step = step, .ver = r->ver};
    /* Up the tree the callback travels along; between allreduce partners it is known. */
    tern_iov_t iov[2] = {{&r->cb, sizeof r->cb}, {data, len}};
    int xchg = kind == CORE_K_RED_XCHG;
    tern_status_t st = core_send_iov(pe, dest, &hdr, iov + xchg, 2 - xchg);
    if (st != TERN_OK)
        tern_abort("sending a reduction of %s %#llx to PE %d failed: %s", coll_kind_name(c),
                   (unsigned long long)c->cid, dest, tern_strerror(st));
}

static void red_maybe_free(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    if (r->have_result && !r->await_down && r->readers == r->nwait)
        red_free(pe, c, r);
}

/* The allreduce result is here (r takes `data` over). From the tree (or the exchange):
 * pass it down, and to the PEs where members counted here wait. Either way, keep it for
 * my members. r may be gone when this returns. */
static void red_result(core_pe_t *pe, core_coll_t *c, core_red_t *r, unsigned char *data,
                       uint64_t len, int from_tree)
{
    if (from_tree) {
        if (r->xstep < 0 && r->has_ver) {
            core_rver_t *v = ver_get(c, r->ver);
            for (int i = 0; v && i < v->t.nkids; i++)
                if (v->kid_stand[i] > r->seq)
                    red_send(pe, c, CORE_K_RED_DOWN, v->t.kids[i], r, data, len, 0);
        }
        for (int i = 0; i < r->nremote; i++)
            red_send(pe, c, CORE_K_RED_RESULT, r->remote[i], r, data, len, 0);
        r->await_down = 0;
    }
    if (r->have_result) {
        free(data);
    } else {
        r->result = data;
        r->result_len = len;
        r->have_result = 1;
        core_waiters_wake(pe, &r->waiters);
    }
    red_maybe_free(pe, c, r);
}

/* A group's reductions cover every member: a cheap check of the counting. (An array's
 * members come and go: its root cannot know their number.) */
static void check_total(core_coll_t *c, core_red_t *r)
{
    if (c->kind == TERN_PROXY_GROUP && r->ncontrib != c->total)
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
        red_result(pe, c, r, out, len, 1);
        return;
    }
    /* The result takes over the combined data's buffer. */
    unsigned char *data = r->acc ? r->acc : malloc(1);
    if (!data)
        tern_abort("out of memory for an allreduce result");
    r->acc = NULL;
    r->acc_len = r->acc_cap = 0;
    red_result(pe, c, r, data, len, 1);
}

/* Go through the steps whose partner data is here. */
static void xchg_advance(core_pe_t *pe, core_coll_t *c, core_red_t *r)
{
    core_rtree_t *t = &ver_get(c, r->ver)->t;
    xplan_t x = xplan(t->n, t->pos);
    while (!r->have_result) { /* xchg_finish may free r: each call to it returns */
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
            return;
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
            return;
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
    r->ver = m->hdr.u.red.ver;
    r->has_ver = 1;
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
    if (!c->live || r->sent || !r->has_ver)
        return;
    core_rver_t *v = ver_get(c, r->ver);
    if (!v)
        return; /* the census that made its version has not reached this PE yet */
    core_rtree_t *t = &v->t;
    int allreduce = r->cb.kind == CB_ALLREDUCE;
    /* Every PE sees the same reducer, size and hosts, so all choose alike. (Only a
     * group's: an array's members may leave, and the exchange needs every PE.) */
    int xchg = allreduce && c->kind == TERN_PROXY_GROUP && r->reducer != TERN_REDUCER_GATHER &&
               r->len <= XCHG_MAX && t->one_host;
    if (r->nlocal < ver_expect_local(v, r->seq) ||
        (!xchg && r->nkids < ver_expect_kids(v, r->seq)))
        return;
    r->sent = 1;
    if (xchg) {
        r->xstep = 0;
        xchg_advance(pe, c, r);
        return;
    }
    if (t->parent >= 0) {
        red_send(pe, c, CORE_K_RED_PART, t->parent, r, r->acc, r->acc_len, 0);
        if (allreduce) {
            r->acc_len = 0; /* the result comes back down */
            r->await_down = 1;
        } else {
            red_free(pe, c, r);
        }
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
    if (pe->stats)
        core_stats_count(pe, CORE_STAT_REDUCTION);
    if (pe->trace)
        core_trace_mark(pe, CORE_STAT_REDUCTION, 0, 0, 0);
    core_cb_fire(pe, &r->cb, data, len);
    if (data != r->acc)
        free(data);
    red_free(pe, c, r);
}

/* Check every reduction in flight here (a version came, or counts went down). */
static void red_check_all(core_pe_t *pe, core_coll_t *c)
{
    for (core_red_t *r = c->reds, *next; r; r = next) {
        next = r->next;
        red_check(pe, c, r);
    }
}

void core_red_coll_live(core_pe_t *pe, core_coll_t *c)
{
    if (c->has_members && !c->rvers && c->kind != TERN_PROXY_CHARE)
        ver0_from_map(pe, c);
    red_check_all(pe, c);
}

/* r counts inputs of version `ver`. */
static void red_set_ver(core_coll_t *c, core_red_t *r, uint32_t ver)
{
    if (r->has_ver && r->ver != ver)
        tern_abort("reduction %llu of %s %#llx (chare type '%s'): inputs of two membership "
                   "versions (%u and %u): was tern_array_done_inserting called while a "
                   "reduction was under way?", (unsigned long long)r->seq, coll_kind_name(c),
                   (unsigned long long)c->cid, type_name(c->type), r->ver, ver);
    r->ver = ver;
    r->has_ver = 1;
}

static uint64_t msg_seq(const tern_msg_t *m)
{
    return m->hdr.u.red.seq;
}

/* The callback and data segments of a reduction message. */
static void red_msg_parts(tern_msg_t *m, tern_callback_t *cb, const void **data, size_t *len)
{
    size_t cblen;
    const void *cbp = core_msg_seg(m, 0, &cblen);
    *data = core_msg_seg(m, 1, len);
    if (m->hdr.nsegs != 2 || cblen != sizeof(tern_callback_t))
        tern_abort("malformed reduction message from PE %d", m->hdr.src_pe);
    memcpy(cb, cbp, sizeof *cb);
}

static void red_seen(core_coll_t *c, uint64_t seq)
{
    if (seq + 1 > c->red_hwm)
        c->red_hwm = seq + 1;
}

/* Fold the input that m carries (a child's partial, or a contribution sent here) into its
 * reduction; the callback it names in *cb. */
static core_red_t *red_input(core_pe_t *pe, tern_msg_t *m, core_coll_t **coll,
                             tern_callback_t *cb)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 1);
    const void *data;
    size_t len;
    red_msg_parts(m, cb, &data, &len);
    core_red_t *r = red_get(c, msg_seq(m), 1);
    red_seen(c, r->seq);
    red_set_ver(c, r, m->hdr.u.red.ver);
    red_add(c, r, m->hdr.u.red.reducer, m->hdr.u.red.each, cb, data, len);
    r->ncontrib += m->hdr.u.red.ncontrib;
    *coll = c;
    return r;
}

void core_h_red_part(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c;
    tern_callback_t cbv;
    core_red_t *r = red_input(pe, m, &c, &cbv);
    r->nkids++;
    core_msg_release(&pe->pool, m);
    red_check(pe, c, r);
}

/* A contribution of an element counted here, made on the PE that sent it. */
void core_h_red_contrib(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c;
    tern_callback_t cbv;
    core_red_t *r = red_input(pe, m, &c, &cbv);
    r->nlocal++;
    if (cbv.kind == CB_ALLREDUCE) {
        int src = m->hdr.src_pe, known = 0;
        for (int i = 0; i < r->nremote; i++)
            known |= r->remote[i] == src;
        if (!known) {
            if (r->nremote == r->remote_cap) {
                int cap = r->remote_cap ? r->remote_cap * 2 : 4;
                int *n = realloc(r->remote, (size_t)cap * sizeof *n);
                if (!n)
                    tern_abort("out of memory for a reduction");
                r->remote = n;
                r->remote_cap = cap;
            }
            r->remote[r->nremote++] = src;
        }
    }
    core_msg_release(&pe->pool, m);
    red_check(pe, c, r);
}

/* An allreduce result, down the tree (RED_DOWN) or from the PE that counted a member
 * waiting here (RED_RESULT). */
static void red_result_msg(core_pe_t *pe, tern_msg_t *m, int from_tree)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 0);
    core_red_t *r = c ? red_get(c, msg_seq(m), 0) : NULL;
    if (!r) {
        if (from_tree)
            tern_abort("an allreduce result from PE %d for a reduction this PE does not "
                       "know", m->hdr.src_pe);
        core_msg_release(&pe->pool, m); /* it came down the tree first */
        return;
    }
    size_t len;
    const void *data = core_msg_seg(m, 1, &len);
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        tern_abort("out of memory for an allreduce result of %zu bytes", len);
    if (len)
        memcpy(copy, data, len);
    core_msg_release(&pe->pool, m);
    red_result(pe, c, r, copy, len, from_tree);
}

void core_h_red_down(core_pe_t *pe, tern_msg_t *m) { red_result_msg(pe, m, 1); }
void core_h_red_result(core_pe_t *pe, tern_msg_t *m) { red_result_msg(pe, m, 0); }

/* Nothing more comes from this subtree of version v from reduction `from` on when its
 * members here are all gone and so are its children's subtrees: tell the parent. */
static void ver_stand_check(core_pe_t *pe, core_coll_t *c, core_rver_t *v)
{
    if (v->stand != UINT64_MAX || v->base > v->nleaves)
        return;
    uint64_t from = v->from;
    for (uint32_t i = 0; i < v->nleaves; i++)
        from = v->leaves[i] > from ? v->leaves[i] : from;
    for (int i = 0; i < v->t.nkids; i++) {
        if (v->kid_stand[i] == UINT64_MAX)
            return;
        from = v->kid_stand[i] > from ? v->kid_stand[i] : from;
    }
    v->stand = from;
    if (v->t.parent < 0)
        return;
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_RED_STAND, pe->my_pe);
    hdr.u.red = (core_part_red_t){.cid = c->cid, .seq = from, .ver = v->id};
    tern_status_t st = core_send_iov(pe, v->t.parent, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("sending a reduction tree update to PE %d failed: %s", v->t.parent,
                   tern_strerror(st));
}

static core_rver_t *ver_needed(core_pe_t *pe, core_coll_t *c, uint32_t id, const char *what,
                               int src)
{
    (void)pe;
    core_rver_t *v = ver_get(c, id);
    if (!v)
        tern_abort("%s from PE %d for membership version %u of collection %#llx, which this "
                   "PE does not have", what, src, id, (unsigned long long)c->cid);
    return v;
}

static void ver_leave(core_pe_t *pe, core_coll_t *c, core_rver_t *v, uint64_t from)
{
    if (v->nleaves == v->leaves_cap) {
        uint32_t cap = v->leaves_cap ? v->leaves_cap * 2 : 8;
        uint64_t *n = realloc(v->leaves, cap * sizeof *n);
        if (!n)
            tern_abort("out of memory for a reduction tree");
        v->leaves = n;
        v->leaves_cap = cap;
    }
    v->leaves[v->nleaves++] = from;
    ver_stand_check(pe, c, v);
    red_check_all(pe, c);
}

void core_h_red_leave(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 1);
    core_rver_t *v = ver_needed(pe, c, m->hdr.u.red.ver, "a departure", m->hdr.src_pe);
    uint64_t from = m->hdr.u.red.seq;
    core_msg_release(&pe->pool, m);
    ver_leave(pe, c, v, from);
}

void core_h_red_stand(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.red.cid, 1);
    core_rver_t *v = ver_needed(pe, c, m->hdr.u.red.ver, "a tree update", m->hdr.src_pe);
    int i = 0;
    while (i < v->t.nkids && v->t.kids[i] != m->hdr.src_pe)
        i++;
    if (i == v->t.nkids)
        tern_abort("a reduction tree update from PE %d, which is not a child of this PE",
                   m->hdr.src_pe);
    v->kid_stand[i] = m->hdr.u.red.seq;
    core_msg_release(&pe->pool, m);
    ver_stand_check(pe, c, v);
    red_check_all(pe, c);
}

static uint64_t first_unsent(const core_chare_t *ch);

void core_red_elem_gone(core_pe_t *pe, core_chare_t *ch)
{
    core_coll_t *c = ch->coll;
    if (ch->fresh || c->kind != TERN_PROXY_ARRAY)
        return; /* counted nowhere yet */
    uint64_t from = first_unsent(ch);
    if (ch->red_pe == pe->my_pe) {
        ver_leave(pe, c, ver_needed(pe, c, ch->red_ver, "a departure", pe->my_pe), from);
        return;
    }
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_RED_LEAVE, pe->my_pe);
    hdr.u.red = (core_part_red_t){.cid = c->cid, .seq = from, .ver = ch->red_ver};
    tern_status_t st = core_send_iov(pe, ch->red_pe, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("sending a reduction tree update to PE %d failed: %s", ch->red_pe,
                   tern_strerror(st));
}

void core_red_version(core_pe_t *pe, core_coll_t *c, uint32_t id, uint64_t from, int *pes,
                      int n)
{
    uint64_t base = 0;
    for (uint64_t i = 0; i < c->nlocal; i++)
        base += c->local[i]->red_pe == pe->my_pe && c->local[i]->red_ver == id;
    ver_new(pe, c, id, from, base, pes, n);
    red_check_all(pe, c);
}

/* ---- the public calls ---- */

/* A contribution kept in its element: a fresh element's, until the census gives it its
 * number (seq is then unset), or one a census holds back because its reduction will
 * count the census's new members (seq set). */
typedef struct core_hcontrib {
    struct core_hcontrib *next;
    uint64_t seq;
    int numbered;
    tern_reducer_t reducer;
    tern_callback_t cb;
    size_t len;
    unsigned char data[];
} core_hcontrib_t;

static tern_status_t hold_contribution(core_chare_t *ch, const char *call, const void *data,
                                       size_t len, tern_reducer_t reducer,
                                       const tern_callback_t *cb, int numbered, uint64_t seq)
{
    core_hcontrib_t *h = malloc(sizeof *h + len);
    if (!h) {
        util_log_error("%s: out of memory for %zu bytes", call, len);
        return TERN_ERR_NOMEM;
    }
    h->next = NULL;
    h->seq = seq;
    h->numbered = numbered;
    h->reducer = reducer;
    h->cb = *cb;
    h->len = len;
    if (len)
        memcpy(h->data, data, len);
    core_hcontrib_t **pp = &ch->hcontribs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = h;
    ch->nheld_contribs++;
    return TERN_OK;
}

/* Checks shared by every way to contribute; the chare. */
static core_chare_t *contrib_check(core_pe_t *pe, const char *call, const void *self,
                                   const void *data, size_t len, tern_reducer_t reducer,
                                   uint32_t *gid, tern_status_t *st)
{
    *st = TERN_ERR_INVALID;
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return NULL;
    core_coll_t *c = ch->coll;
    if (c->kind != TERN_PROXY_GROUP && c->kind != TERN_PROXY_ARRAY) {
        util_log_error("%s: only members of groups and arrays contribute (this is a single "
                       "chare of type '%s')", call, type_name(c->type));
        return NULL;
    }
    if (len && !data) {
        util_log_error("%s: data is NULL with length %zu", call, len);
        return NULL;
    }
    const char *why;
    if (core_red_resolve(reducer, len, gid, &why) != TERN_OK) {
        util_log_error("%s: reducer %#x with %zu bytes: %s", call, reducer, len, why);
        return NULL;
    }
    if (pe->exiting) {
        *st = core_exiting(pe, call);
        return NULL;
    }
    *st = TERN_OK;
    return ch;
}

/* Make ch's contribution to reduction seq: here if this PE counts ch, else sent to the PE
 * that does. */
static void contribute_at(core_pe_t *pe, const char *call, core_chare_t *ch, uint64_t seq,
                          const void *data, size_t len, uint32_t gid, const tern_callback_t *cb)
{
    core_coll_t *c = ch->coll;
    red_seen(c, seq);
    const void *in = data;
    uint64_t in_len = len, each = len;
    unsigned char *rec = NULL;
    if (gid == TERN_REDUCER_GATHER) {
        /* one record: its header, the bytes, zero padding to 8 */
        gather_rec_t g = {ch->lin, len};
        in_len = sizeof g + ((len + 7) & ~(uint64_t)7);
        if (!(rec = calloc(1, in_len)))
            tern_abort("%s: out of memory for %zu bytes", call, len);
        memcpy(rec, &g, sizeof g);
        if (len)
            memcpy(rec + sizeof g, data, len);
        in = rec;
        each = 0;
    }
    if (ch->red_pe == pe->my_pe) {
        core_red_t *r = red_get(c, seq, 1);
        red_set_ver(c, r, ch->red_ver);
        red_add(c, r, gid, each, cb, in, in_len);
        r->nlocal++;
        r->ncontrib++;
        red_check(pe, c, r);
    } else {
        core_hdr_t hdr;
        core_hdr_init(&hdr, CORE_K_RED_CONTRIB, pe->my_pe);
        hdr.u.red = (core_part_red_t){.cid = c->cid, .seq = seq, .each = each,
                                      .reducer = gid, .ncontrib = 1, .ver = ch->red_ver};
        tern_iov_t iov[2] = {{cb, sizeof *cb}, {in, in_len}};
        tern_status_t st = core_send_iov(pe, ch->red_pe, &hdr, iov, 2);
        if (st != TERN_OK)
            tern_abort("%s: sending a contribution to PE %d failed: %s", call, ch->red_pe,
                       tern_strerror(st));
    }
    free(rec);
}

/* Contribute for ch (checked): its reduction's number in *seq. Kept in ch while it is
 * fresh or a census holds the number back. An allreduce's state here gets a waiter. */
static tern_status_t contribute(core_pe_t *pe, const char *call, core_chare_t *ch,
                                const void *data, size_t len, tern_reducer_t reducer,
                                uint32_t gid, const tern_callback_t *cb, uint64_t *seq)
{
    core_coll_t *c = ch->coll;
    if (ch->fresh)
        return hold_contribution(ch, call, data, len, reducer, cb, 0, 0);
    *seq = ch->red_seq++;
    if (cb->kind == CB_ALLREDUCE) {
        core_red_t *r = red_get(c, *seq, 1);
        r->nwait++; /* before the result can come */
    }
    if (*seq >= c->hold_from)
        return hold_contribution(ch, call, data, len, reducer, cb, 1, *seq);
    contribute_at(pe, call, ch, *seq, data, len, gid, cb);
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
    uint32_t gid;
    tern_status_t st;
    core_chare_t *ch = contrib_check(pe, "tern_contribute", self, data, len, reducer, &gid,
                                     &st);
    if (!ch)
        return st;
    uint64_t seq;
    return contribute(pe, "tern_contribute", ch, data, len, reducer, gid, cb, &seq);
}

tern_status_t core_red_contribute_internal(core_pe_t *pe, const char *call, core_chare_t *ch,
                                           const tern_callback_t *cb)
{
    uint32_t gid;
    tern_status_t st;
    if (!contrib_check(pe, call, ch->state, NULL, 0, TERN_REDUCER_NOP, &gid, &st))
        return st;
    uint64_t seq;
    return contribute(pe, call, ch, NULL, 0, TERN_REDUCER_NOP, gid, cb, &seq);
}

/* Make what ch holds: all of it (below UINT64_MAX), or what a raised threshold lets go. */
void core_red_release_held(core_pe_t *pe, core_chare_t *ch, uint64_t below)
{
    core_hcontrib_t **pp = &ch->hcontribs;
    while (*pp) {
        core_hcontrib_t *h = *pp;
        if (h->numbered && h->seq >= below) {
            pp = &h->next;
            continue;
        }
        *pp = h->next;
        ch->nheld_contribs--;
        uint32_t gid;
        const char *why;
        if (core_red_resolve(h->reducer, h->len, &gid, &why) != TERN_OK)
            tern_abort("a held contribution's reducer no longer resolves: %s", why);
        uint64_t seq = h->numbered ? h->seq : ch->red_seq++;
        if (!h->numbered && h->cb.kind == CB_ALLREDUCE)
            red_get(ch->coll, seq, 1)->nwait++;
        contribute_at(pe, "tern_contribute", ch, seq, h->data, h->len, gid, &h->cb);
        free(h);
    }
}

/* The first reduction ch has not given to its counting PE (for its departure). */
static uint64_t first_unsent(const core_chare_t *ch)
{
    uint64_t first = ch->red_seq;
    for (const core_hcontrib_t *h = ch->hcontribs; h; h = h->next)
        if (h->numbered && h->seq < first)
            first = h->seq;
    return first;
}

void core_red_drop_held(core_chare_t *ch)
{
    while (ch->hcontribs) {
        core_hcontrib_t *h = ch->hcontribs;
        ch->hcontribs = h->next;
        free(h);
    }
    ch->nheld_contribs = 0;
}

#define HC_HEAD (16 + 8 + sizeof(tern_callback_t))

size_t core_red_pack_held(const core_chare_t *ch, unsigned char *out)
{
    size_t n = 0;
    for (const core_hcontrib_t *h = ch->hcontribs; h; h = h->next) {
        uint64_t len = h->len;
        if (out) {
            uint32_t numbered = (uint32_t)h->numbered;
            memcpy(out + n, &len, 8);
            memcpy(out + n + 8, &h->reducer, 4);
            memcpy(out + n + 12, &numbered, 4);
            memcpy(out + n + 16, &h->seq, 8);
            memcpy(out + n + 24, &h->cb, sizeof h->cb);
            if (len)
                memcpy(out + n + HC_HEAD, h->data, len);
        }
        n += HC_HEAD + ((len + 7) & ~(uint64_t)7);
    }
    return n;
}

void core_red_unpack_held(core_chare_t *ch, const unsigned char *in, size_t len,
                          uint32_t count)
{
    size_t n = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t l, seq;
        uint32_t numbered;
        tern_reducer_t red;
        tern_callback_t cb;
        if (n + HC_HEAD > len)
            tern_abort("a moved element's held contributions are malformed");
        memcpy(&l, in + n, 8);
        memcpy(&red, in + n + 8, 4);
        memcpy(&numbered, in + n + 12, 4);
        memcpy(&seq, in + n + 16, 8);
        memcpy(&cb, in + n + 24, sizeof cb);
        if (l > len - n - HC_HEAD)
            tern_abort("a moved element's held contributions are malformed");
        if (hold_contribution(ch, "migration", in + n + HC_HEAD, l, red, &cb, (int)numbered,
                              seq) != TERN_OK)
            tern_abort("out of memory moving an element");
        n += HC_HEAD + ((l + 7) & ~(uint64_t)7);
    }
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
    uint32_t gid;
    tern_status_t st;
    core_chare_t *ch = contrib_check(pe, call, self, data, len, reducer, &gid, &st);
    if (!ch)
        return st;
    core_coll_t *c = ch->coll;
    while (ch->fresh) /* inserted: it takes part once the census has counted it */
        core_wait_on(pe, &c->fresh_waiters, CORE_WAIT_REDUCE, c->cid, ch->red_seq);
    uint64_t seq;
    if ((st = contribute(pe, call, ch, data, len, reducer, gid, &cb, &seq)) != TERN_OK)
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
    r->readers++;
    red_maybe_free(pe, c, r);
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
        core_rver_t *v = r->has_ver ? ver_get(c, r->ver) : NULL;
        uint64_t want = v ? ver_expect_local(v, r->seq) : 0;
        if (r->have_result || r->sent || !v)
            continue; /* done here, or passed on: whatever waits is elsewhere */
        int w = snprintf(buf + len, cap - len,
                         "%sreduction %llu of %s %#llx (chare type '%s') is unfinished: %llu "
                         "of the %llu members counted here contributed%s",
                         n ? "\n" : "", (unsigned long long)r->seq, coll_kind_name(c),
                         (unsigned long long)c->cid, type_name(c->type),
                         (unsigned long long)r->nlocal, (unsigned long long)want,
                         r->nlocal < want ? "" : " (it waits for other PEs)");
        if (w < 0)
            break;
        len += (size_t)w;
        n++;
    }
    return n;
}
