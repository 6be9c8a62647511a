/*
 * Sections: subsets of the members of groups and arrays addressed as one (Charm4py's
 * sections, Charm++'s multicast): made from a list, a slice, a predicate, by split and by
 * combine; multicast and reduced over.
 *
 * A section is kept by the PE that made it (its root), as a list of members (collection,
 * key, index) in the order of creation; its proxy names the root, the section id and the
 * member count. A multicast goes to the root (sec.mcast), which groups the members by the
 * PE each is on as far as it knows (where a moved element went, else its home), and sends
 * one message down a host-aware spanning tree of those PEs (sec.deliver): each carries the
 * set of PEs and the members of the receiver's subtree only, so a member's name crosses a
 * link once. A PE runs the method on its members from one copy of the payload; a member
 * that is not there (it moved) gets its own ENTRY, which the location layer forwards.
 *
 * A section reduction: each member numbers its contributions to the section (the count
 * travels with it when it moves) and sends them to the root (sec.contrib), which combines
 * them in member order and fires the callback, or answers every member's allreduce.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/handler.h"
#include "core/index.h"
#include "core/invoke.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/reduce_ops.h"
#include "core/registry.h"
#include "topology/tree.h"
#include "util/hashmap.h"
#include "util/log.h"

enum { SEC_MCAST, SEC_DELIVER, SEC_CONTRIB, SEC_NKINDS };
static uint8_t sec_kinds[SEC_NKINDS];

/* A member as the root keeps it and as messages carry it. */
typedef struct {
    uint64_t cid, key;
    int32_t idx[TERN_MAX_DIMS];
    uint32_t ndims;
    uint32_t pad;
} sec_member_t;

typedef struct sec_red {
    struct sec_red *next;
    uint64_t seq, got;
    uint32_t gid;           /* reducer */
    int allreduce;
    uint64_t len;           /* bytes of each contribution (not gather) */
    unsigned char *acc;     /* combined so far */
    unsigned char **slots;  /* gather: each member's, by position */
    uint64_t *slot_len;
    tern_callback_t cb;
    tern_future_t *futs;    /* allreduce: each member's future */
} sec_red_t;

typedef struct core_section {
    uint64_t sid;
    uint32_t type;          /* the members' chare type (global id) */
    uint64_t n;
    sec_member_t *m;
    util_hashmap_t pos;     /* member hash -> position + 1 */
    sec_red_t *reds;
    /* The last route (PE set and groups), valid while pe->where_version is route_version. */
    int route_ok;
    uint64_t route_version;
    int route_npes;
    unsigned char *route_block; /* the PE set (padded to 8), then the groups */
    size_t route_block_len;
    uint32_t route_ngroups;
} core_section_t;

/* The routing block of sec.deliver, ahead of the payload. */
typedef struct {
    uint64_t sid;
    uint64_t payload_len;
    uint32_t npes;          /* PEs of the tree (the set) */
    int32_t root;
    uint32_t nsegs;         /* the payload's segments, as sent */
    uint32_t ngroups;       /* groups that follow: the receiver's subtree */
    /* int32_t pes[npes] (padded to 8), then ngroups x {int32 pe, uint32 count, members} */
} sec_route_t;

/* A contribution's header, ahead of its data. */
typedef struct {
    uint64_t sid, seq, cid, key;
    uint32_t gid, allreduce;
    uint64_t len;
    tern_callback_t cb;
    tern_future_t fut;      /* allreduce: where the member waits */
} sec_contrib_t;

/* What a chare counts per section it contributed to (moves with it). */
typedef struct core_secctr {
    uint32_t n, cap;
    uint64_t *sid, *count;
} core_secctr_t;

static uint64_t member_hash(uint64_t cid, uint64_t key)
{
    return (cid * 0x9e3779b97f4a7c15ULL) ^ (key + 0x632be59bd9b4e019ULL + (cid << 7));
}

static core_section_t *section_get(core_pe_t *pe, uint64_t sid)
{
    return pe->sections ? util_hashmap_get(pe->sections, sid) : NULL;
}

/* ---- making sections ---- */

typedef struct {
    sec_member_t *m;
    uint64_t n, cap;
    uint32_t type;
} members_t;

static int members_add(members_t *ms, const sec_member_t *x)
{
    if (ms->n == ms->cap) {
        uint64_t cap = ms->cap ? ms->cap * 2 : 64;
        sec_member_t *m = realloc(ms->m, cap * sizeof *m);
        if (!m)
            return -1;
        ms->m = m;
        ms->cap = cap;
    }
    ms->m[ms->n++] = *x;
    return 0;
}

/* The members of proxy p (a group, a bounded array, or a section made here), for call. */
static tern_status_t members_of(core_pe_t *pe, const char *call, const tern_proxy_t *p,
                                members_t *out)
{
    memset(out, 0, sizeof *out);
    if (!p) {
        util_log_error("%s: the proxy is NULL", call);
        return TERN_ERR_INVALID;
    }
    out->type = p->type;
    if (p->kind == TERN_PROXY_SECTION) {
        core_section_t *s = section_get(pe, p->cid);
        if (!s) {
            util_log_error("%s: the section was made on PE %d: split and combine it there",
                           call, p->pe);
            return TERN_ERR_INVALID;
        }
        for (uint64_t i = 0; i < s->n; i++)
            if (members_add(out, &s->m[i]))
                return TERN_ERR_NOMEM;
        return TERN_OK;
    }
    if (p->kind == TERN_PROXY_GROUP) {
        for (int i = 0; i < pe->num_pes; i++) {
            sec_member_t x = {.cid = p->cid, .key = (uint64_t)i, .ndims = 1};
            x.idx[0] = i;
            if (members_add(out, &x))
                return TERN_ERR_NOMEM;
        }
        return TERN_OK;
    }
    if (p->kind != TERN_PROXY_ARRAY || (p->flags & (TERN_PROXY_SPARSE | TERN_PROXY_INSERTED))) {
        util_log_error("%s: sections are made of groups, arrays with bounds, or sections "
                       "(this proxy is %s)", call,
                       p->kind == TERN_PROXY_ARRAY ? "an array whose elements are inserted"
                                                   : "not a whole collection");
        return TERN_ERR_INVALID;
    }
    uint64_t total = core_proxy_total(p);
    int32_t idx[TERN_MAX_DIMS];
    for (uint64_t lin = 0; lin < total; lin++) {
        core_index_from_linear(p->ndims, p->dims, lin, idx);
        sec_member_t x = {.cid = p->cid, .key = lin, .ndims = p->ndims};
        memcpy(x.idx, idx, sizeof(int32_t) * (size_t)p->ndims);
        if (members_add(out, &x))
            return TERN_ERR_NOMEM;
    }
    return TERN_OK;
}

/* Register the members as a new section rooted here; its proxy in *out. */
static tern_status_t section_new(core_pe_t *pe, const char *call, members_t *ms,
                                 tern_proxy_t *out, int may_be_empty)
{
    if (!ms->n && !may_be_empty) {
        util_log_error("%s: the section would have no member", call);
        free(ms->m);
        return TERN_ERR_INVALID;
    }
    core_section_t *s = calloc(1, sizeof *s);
    if (!s || (!pe->sections && !(pe->sections = calloc(1, sizeof *pe->sections)))) {
        free(s);
        free(ms->m);
        return TERN_ERR_NOMEM;
    }
    if (!pe->sections->cap)
        util_hashmap_init(pe->sections);
    s->sid = core_new_cid(pe);
    s->type = ms->type;
    s->n = ms->n;
    s->m = ms->m;
    util_hashmap_init(&s->pos);
    for (uint64_t i = 0; i < s->n; i++) {
        uint64_t h = member_hash(s->m[i].cid, s->m[i].key);
        if (util_hashmap_get(&s->pos, h)) {
            util_log_error("%s: a member is named twice (collection %#llx, index %d...)",
                           call, (unsigned long long)s->m[i].cid, s->m[i].idx[0]);
            util_hashmap_fini(&s->pos);
            free(s->m);
            free(s);
            return TERN_ERR_INVALID;
        }
        if (util_hashmap_put(&s->pos, h, (void *)(uintptr_t)(i + 1)) != TERN_OK)
            return TERN_ERR_NOMEM;
    }
    if (util_hashmap_put(pe->sections, s->sid, s) != TERN_OK)
        return TERN_ERR_NOMEM;
    memset(out, 0, sizeof *out);
    out->cid = s->sid;
    out->type = s->type;
    out->kind = TERN_PROXY_SECTION;
    out->pe = pe->my_pe;
    out->dims[0] = s->n > INT32_MAX ? INT32_MAX : (int32_t)s->n;
    return TERN_OK;
}

tern_status_t tern_section_create(const tern_proxy_t *coll, const int32_t *idx, int n,
                                  tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_section_create");
    if (!pe)
        return TERN_ERR_STATE;
    if (!coll || !out || n < 1 || !idx) {
        util_log_error("tern_section_create: %s", !coll || !out ? "a proxy is NULL"
                                                              : "no index given");
        return TERN_ERR_INVALID;
    }
    if (coll->kind != TERN_PROXY_GROUP && coll->kind != TERN_PROXY_ARRAY) {
        util_log_error("tern_section_create: the proxy is not a whole group or array");
        return TERN_ERR_INVALID;
    }
    int nd = coll->kind == TERN_PROXY_GROUP ? 1 : coll->ndims;
    members_t ms = {0};
    ms.type = coll->type;
    for (int i = 0; i < n; i++) {
        const int32_t *x = idx + (size_t)i * (size_t)nd;
        sec_member_t m = {.cid = coll->cid, .ndims = (uint32_t)nd};
        memcpy(m.idx, x, sizeof(int32_t) * (size_t)nd);
        if (coll->kind == TERN_PROXY_GROUP) {
            if (x[0] < 0 || x[0] >= pe->num_pes) {
                util_log_error("tern_section_create: group member %d is out of range", x[0]);
                free(ms.m);
                return TERN_ERR_RANGE;
            }
            m.key = (uint64_t)x[0];
        } else if (!core_loc_key("tern_section_create", TERN_PROXY_ARRAY, coll->flags, nd,
                                 coll->dims, x, &m.key)) {
            free(ms.m);
            return TERN_ERR_RANGE;
        }
        if (members_add(&ms, &m)) {
            free(ms.m);
            return TERN_ERR_NOMEM;
        }
    }
    return section_new(pe, "tern_section_create", &ms, out, 0);
}

tern_status_t tern_section_slice(const tern_proxy_t *coll, const tern_slice_t *s, int n,
                                 tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_section_slice");
    if (!pe)
        return TERN_ERR_STATE;
    members_t all;
    tern_status_t st = members_of(pe, "tern_section_slice", coll, &all);
    if (st != TERN_OK)
        return st;
    int nd = coll->kind == TERN_PROXY_ARRAY ? coll->ndims : 1;
    if (!s || n != nd || !out) {
        util_log_error("tern_section_slice: %s", !out ? "out is NULL"
                                                     : "give one slice per dimension");
        free(all.m);
        return TERN_ERR_INVALID;
    }
    for (int d = 0; d < n; d++)
        if (s[d].step < 1) {
            util_log_error("tern_section_slice: step %d of dimension %d (must be >= 1)",
                           s[d].step, d);
            free(all.m);
            return TERN_ERR_INVALID;
        }
    members_t ms = {0};
    ms.type = all.type;
    for (uint64_t i = 0; i < all.n; i++) {
        int in = all.m[i].ndims == (uint32_t)nd;
        for (int d = 0; in && d < nd; d++) {
            int32_t v = all.m[i].idx[d];
            in = v >= s[d].start && v < s[d].stop && (v - s[d].start) % s[d].step == 0;
        }
        if (in && members_add(&ms, &all.m[i])) {
            free(all.m);
            free(ms.m);
            return TERN_ERR_NOMEM;
        }
    }
    free(all.m);
    return section_new(pe, "tern_section_slice", &ms, out, 0);
}

tern_status_t tern_section_split(const tern_proxy_t *coll, int nsections, tern_section_fn fn,
                                 void *arg, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_section_split");
    if (!pe)
        return TERN_ERR_STATE;
    if (nsections < 1 || !fn || !out) {
        util_log_error("tern_section_split: %s", nsections < 1 ? "nsections must be >= 1"
                                                 : !fn        ? "the function is NULL"
                                                              : "out is NULL");
        return TERN_ERR_INVALID;
    }
    members_t all;
    tern_status_t st = members_of(pe, "tern_section_split", coll, &all);
    if (st != TERN_OK)
        return st;
    members_t *parts = calloc((size_t)nsections, sizeof *parts);
    if (!parts) {
        free(all.m);
        return TERN_ERR_NOMEM;
    }
    for (uint64_t i = 0; i < all.n; i++) {
        int k = fn(all.m[i].idx, (int)all.m[i].ndims, arg);
        if (k >= nsections) {
            util_log_error("tern_section_split: the function put member %d... in section %d "
                           "of %d", all.m[i].idx[0], k, nsections);
            st = TERN_ERR_RANGE;
            break;
        }
        if (k >= 0 && members_add(&parts[k], &all.m[i])) {
            st = TERN_ERR_NOMEM;
            break;
        }
    }
    free(all.m);
    for (int k = 0; k < nsections; k++) {
        parts[k].type = coll->type;
        if (st == TERN_OK)
            st = section_new(pe, "tern_section_split", &parts[k], &out[k], 1);
        else
            free(parts[k].m);
    }
    free(parts);
    return st;
}

tern_status_t tern_section_combine(const tern_proxy_t *ps, int n, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_section_combine");
    if (!pe)
        return TERN_ERR_STATE;
    if (!ps || n < 1 || !out) {
        util_log_error("tern_section_combine: no proxies given");
        return TERN_ERR_INVALID;
    }
    members_t ms = {0};
    util_hashmap_t seen;
    util_hashmap_init(&seen);
    tern_status_t st = TERN_OK;
    for (int i = 0; i < n && st == TERN_OK; i++) {
        if (ps[i].type != ps[0].type) {
            util_log_error("tern_section_combine: proxy %d has another chare type than proxy "
                           "0", i);
            st = TERN_ERR_TYPE;
            break;
        }
        members_t part;
        if ((st = members_of(pe, "tern_section_combine", &ps[i], &part)) != TERN_OK)
            break;
        for (uint64_t j = 0; j < part.n && st == TERN_OK; j++) {
            uint64_t h = member_hash(part.m[j].cid, part.m[j].key);
            if (util_hashmap_get(&seen, h))
                continue; /* a union: each member once */
            if (util_hashmap_put(&seen, h, (void *)1) != TERN_OK || members_add(&ms, &part.m[j]))
                st = TERN_ERR_NOMEM;
        }
        free(part.m);
    }
    util_hashmap_fini(&seen);
    if (st != TERN_OK) {
        free(ms.m);
        return st;
    }
    ms.type = ps[0].type;
    return section_new(pe, "tern_section_combine", &ms, out, 0);
}

/*
 * A constrained group (Charm4py's Group(..., onPEs=[...])): one member on each PE listed,
 * index its PE, and a section of them all. The members are the elements of a sparse 1-D
 * array, each inserted on its PE, so that messages to one reach it and reductions and
 * broadcasts over the array count them once the insertions are settled.
 */
tern_status_t tern_group_create_on(tern_type_t type, const int *pes, int n,
                                   const tern_iov_t *args, int nargs, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_group_create_on");
    if (!pe)
        return TERN_ERR_STATE;
    if (!pes || n < 1 || !out) {
        util_log_error("tern_group_create_on: %s", !out ? "out is NULL" : "no PE given");
        return TERN_ERR_INVALID;
    }
    int32_t *idx = malloc((size_t)n * sizeof *idx);
    uint8_t *seen = calloc((size_t)pe->num_pes, 1);
    if (!idx || !seen) {
        free(idx);
        free(seen);
        return TERN_ERR_NOMEM;
    }
    tern_status_t st = TERN_OK;
    for (int i = 0; i < n && st == TERN_OK; i++) {
        if (pes[i] < 0 || pes[i] >= pe->num_pes || seen[pes[i]]) {
            util_log_error("tern_group_create_on: PE %d is %s", pes[i],
                           pes[i] < 0 || pes[i] >= pe->num_pes ? "out of range"
                                                               : "listed twice");
            st = pes[i] < 0 || pes[i] >= pe->num_pes ? TERN_ERR_RANGE : TERN_ERR_INVALID;
        } else {
            seen[pes[i]] = 1;
            idx[i] = pes[i];
        }
    }
    free(seen);
    tern_proxy_t arr;
    tern_array_opts_t o = {.map = TERN_MAP_DEFAULT};
    if (st == TERN_OK)
        st = tern_array_create_opts(type, 1, NULL, args, nargs, &o, &arr);
    for (int i = 0; i < n && st == TERN_OK; i++)
        st = tern_array_insert(&arr, &idx[i], idx[i], args, nargs);
    if (st == TERN_OK)
        st = tern_array_done_inserting(&arr);
    if (st == TERN_OK)
        st = tern_section_create(&arr, idx, n, out);
    free(idx);
    return st;
}

/* ---- multicast ---- */

/* The PE member x is on, as far as this PE knows. */
static int member_pe(core_pe_t *pe, const sec_member_t *x)
{
    core_coll_t *c = core_coll_get(pe, x->cid, 0);
    if (!c || c->kind == TERN_PROXY_GROUP)
        return (int)x->key;
    void *v = util_hashmap_get(&c->where, x->key);
    if (v && core_where_pe(v) >= 0)
        return core_where_pe(v);
    return core_coll_home(pe, c, x->idx, x->key);
}

/* Run the method on the members listed for this PE: from one copy of the payload for
 * those here; a moved one gets its own message. */
static void deliver_group(core_pe_t *pe, const core_hdr_t *h, const sec_route_t *r,
                          const sec_member_t *mem, uint32_t count, const unsigned char *payload)
{
    /* A plain method runs on the multicast's own buffer (it has returned before the buffer
     * goes); a coroutine may keep its message: a copy. */
    const core_ep_t *e = core_ep_by_gid(h->u.entry.ep);
    tern_msg_t local, *m = &local;
    if (!e || (e->flags & TERN_EP_COROUTINE)) {
        if (!(m = core_msg_alloc(&pe->pool, r->payload_len)))
            tern_abort("out of memory delivering a section multicast");
        if (r->payload_len)
            memcpy(m->body, payload, r->payload_len);
    } else {
        memset(&local, 0, sizeof local);
        local.body = (unsigned char *)payload;
        local.pool_class = CORE_POOL_BORROWED;
    }
    /* As a broadcast's copy: the completions of the members here go back as one answer
     * counting them (core_msg_unref). */
    core_hdr_init(&m->hdr, CORE_K_BCAST, h->src_pe);
    m->hdr.flags = h->flags & (CORE_HDR_WANT_DONE);
    m->hdr.reply_pe = h->reply_pe;
    m->hdr.reply_id = h->reply_id;
    m->hdr.u.entry.ep = h->u.entry.ep;
    m->hdr.nsegs = (uint8_t)r->nsegs;
    m->hdr.body_len = r->payload_len;
    m->refs = 1;
    m->nmembers = 0;
    for (uint32_t i = 0; i < count; i++) {
        sec_member_t x;
        memcpy(&x, mem + i, sizeof x);
        core_coll_t *c = core_coll_get(pe, x.cid, 0);
        core_chare_t *ch = c && c->live ? core_coll_member(c, x.key) : NULL;
        if (ch && !core_chare_leaving(ch)) {
            m->refs++;
            m->nmembers++;
            core_invoke(pe, ch, m);
            continue;
        }
        /* Not here (moved, not built yet, leaving): its own message finds it. */
        tern_msg_t *e = core_msg_alloc(&pe->pool, r->payload_len);
        if (!e)
            tern_abort("out of memory delivering a section multicast");
        e->hdr = m->hdr;
        e->hdr.kind = CORE_K_ENTRY; /* answers its own completion */
        e->hdr.u.entry.cid = x.cid;
        e->hdr.ndims = (uint8_t)x.ndims;
        memcpy(e->hdr.idx, x.idx, sizeof e->hdr.idx);
        e->hdr.src_pe = pe->my_pe;
        if (r->payload_len)
            memcpy(e->body, payload, r->payload_len);
        int dest = c ? member_pe(pe, &x) : pe->my_pe;
        if (dest == pe->my_pe) {
            pe->qd_sent++; /* as a send to this PE counts */
            core_enqueue(pe, e);
            continue;
        }
        tern_status_t st = core_send_msg_remote(pe, dest, e);
        if (st != TERN_OK)
            tern_abort("sending a section multicast on to a member failed: %s",
                       tern_strerror(st));
    }
    core_msg_unref(pe, m);
}

/* Mark in `in_sub` the members of the set in the subtree of `top` (stack: room for the
 * set's size). */
static void subtree(const topo_set_t *set, int root, int k, int top, uint8_t *in_sub,
                    int *stack)
{
    int kids[TOPO_TREE_MAX_KIDS(64)];
    int sp = 0;
    stack[sp++] = top;
    while (sp) {
        int p = stack[--sp];
        in_sub[p] = 1;
        int nk = topo_tree_children(set, root, k, p, kids);
        for (int i = 0; i < nk; i++)
            stack[sp++] = kids[i];
    }
}

/* What a PE does with a section's multicast, given its routing block: the blocks to send
 * each child (ready, without the payload) and where its own members are. Kept per section
 * on every PE, and reused while the routing block that comes is the same. */
typedef struct sec_plan {
    unsigned char *key;     /* the routing block it was made for (PE set and groups) */
    size_t key_len;
    int nk;
    int kids[TOPO_TREE_MAX_KIDS(64)];
    unsigned char *blob[TOPO_TREE_MAX_KIDS(64)]; /* 8-byte length + route + PEs + groups */
    size_t blob_len[TOPO_TREE_MAX_KIDS(64)];
    size_t mine_off;        /* my group's members in key (offset from its start) */
    uint32_t mine_count;
} sec_plan_t;

/* The group at offset off of a groups block: its PE and member count; returns its bytes. */
static size_t group_at(const unsigned char *groups, size_t off, int32_t *gpe, uint32_t *cnt)
{
    memcpy(gpe, groups + off, 4);
    memcpy(cnt, groups + off + 4, 4);
    return 8 + (size_t)*cnt * sizeof(sec_member_t);
}

/* Copy to out (NULL: only count) the groups of the PEs marked in in_sub; their bytes, and
 * how many in *ng. */
static size_t subtree_groups(const unsigned char *groups, size_t glen, const uint8_t *in_sub,
                             unsigned char *out, uint32_t *ng)
{
    size_t n = 0;
    *ng = 0;
    for (size_t off = 0; off < glen;) {
        int32_t gpe;
        uint32_t cnt;
        size_t len = group_at(groups, off, &gpe, &cnt);
        if (in_sub[gpe]) {
            if (out)
                memcpy(out + n, groups + off, len);
            n += len;
            (*ng)++;
        }
        off += len;
    }
    return n;
}

static void plan_free(sec_plan_t *pl)
{
    if (!pl)
        return;
    for (int c = 0; c < pl->nk; c++)
        free(pl->blob[c]);
    free(pl->key);
    free(pl);
}

static sec_plan_t *plan_make(core_pe_t *pe, const sec_route_t *r, const unsigned char *block,
                             size_t block_len)
{
    size_t pes_bytes = ((size_t)r->npes * 4 + 7) & ~(size_t)7;
    const int32_t *pes_in = (const int32_t *)(const void *)block;
    const unsigned char *groups = block + pes_bytes;
    size_t glen = block_len - pes_bytes;
    sec_plan_t *pl = calloc(1, sizeof *pl);
    int *pes = malloc(((size_t)r->npes + 1) * sizeof *pes);
    if (!pl || !pes || !(pl->key = malloc(block_len ? block_len : 1)))
        tern_abort("out of memory routing a section multicast");
    memcpy(pl->key, block, block_len);
    pl->key_len = block_len;
    memcpy(pes, pes_in, (size_t)r->npes * sizeof *pes);
    topo_set_t set;
    if (topo_set_build(&pe->hosts, pes, (int)r->npes, &set) != TERN_OK)
        tern_abort("out of memory routing a section multicast");
    free(pes);
    pl->nk = topo_tree_children(&set, r->root, pe->fanout, pe->my_pe, pl->kids);
    if (pl->nk < 0)
        tern_abort("section multicast: PE %d is not in the tree it was sent", pe->my_pe);
    uint8_t *in_sub = calloc((size_t)pe->num_pes, 1);
    int *stack = malloc(((size_t)set.n + 1) * sizeof *stack);
    if (!in_sub || !stack)
        tern_abort("out of memory routing a section multicast");
    for (int c = 0; c < pl->nk; c++) {
        memset(in_sub, 0, (size_t)pe->num_pes);
        subtree(&set, r->root, pe->fanout, pl->kids[c], in_sub, stack);
        uint32_t ng;
        size_t need = subtree_groups(groups, glen, in_sub, NULL, &ng);
        size_t blen = 8 + sizeof(sec_route_t) + pes_bytes + need;
        unsigned char *b = malloc(blen), *p = b;
        if (!b)
            tern_abort("out of memory routing a section multicast");
        uint64_t rlen = blen - 8;
        memcpy(p, &rlen, 8);
        p += 8;
        sec_route_t rr = *r;
        rr.ngroups = ng;
        rr.payload_len = 0; /* set per message, as nsegs */
        rr.nsegs = 0;
        memcpy(p, &rr, sizeof rr);
        p += sizeof rr;
        memcpy(p, block, pes_bytes);
        p += pes_bytes;
        subtree_groups(groups, glen, in_sub, p, &ng);
        pl->blob[c] = b;
        pl->blob_len[c] = blen;
    }
    free(in_sub);
    free(stack);
    topo_set_free(&set);
    for (size_t off = 0; off < glen;) {
        int32_t gpe;
        uint32_t cnt;
        size_t len = group_at(groups, off, &gpe, &cnt);
        if (gpe == pe->my_pe) {
            pl->mine_off = pes_bytes + off + 8;
            pl->mine_count = cnt;
        }
        off += len;
    }
    return pl;
}

/* Send each child its part, then deliver mine. `block`: the PE set (padded to 8) and the
 * groups of my subtree. */
static void route(core_pe_t *pe, const core_hdr_t *h, const sec_route_t *r,
                  const unsigned char *block, size_t block_len, const unsigned char *payload)
{
    sec_plan_t *pl = pe->sec_plans ? util_hashmap_get(pe->sec_plans, r->sid) : NULL;
    if (!pl || pl->key_len != block_len || memcmp(pl->key, block, block_len) != 0) {
        plan_free(pl);
        pl = plan_make(pe, r, block, block_len);
        if (!pe->sec_plans) {
            if (!(pe->sec_plans = calloc(1, sizeof *pe->sec_plans)))
                tern_abort("out of memory routing a section multicast");
            util_hashmap_init(pe->sec_plans);
        }
        if (util_hashmap_put(pe->sec_plans, r->sid, pl) != TERN_OK)
            tern_abort("out of memory routing a section multicast");
    }
    for (int c = 0; c < pl->nk; c++) {
        size_t body = pl->blob_len[c] + r->payload_len;
        tern_msg_t *m = core_msg_alloc(&pe->pool, body);
        if (!m)
            tern_abort("out of memory routing a section multicast");
        m->hdr = *h;
        m->hdr.kind = sec_kinds[SEC_DELIVER];
        m->hdr.src_pe = pe->my_pe;
        m->hdr.nsegs = 1;
        m->hdr.body_len = body;
        memcpy(m->body, pl->blob[c], pl->blob_len[c]);
        /* What changes from one multicast to the next: the payload's size and segments. */
        memcpy(m->body + 8 + offsetof(sec_route_t, payload_len), &r->payload_len, 8);
        memcpy(m->body + 8 + offsetof(sec_route_t, nsegs), &r->nsegs, 4);
        if (r->payload_len)
            memcpy(m->body + pl->blob_len[c], payload, r->payload_len);
        tern_status_t st = core_send_msg_remote(pe, pl->kids[c], m);
        if (st != TERN_OK)
            tern_abort("sending a section multicast to PE %d failed: %s", pl->kids[c],
                       tern_strerror(st));
    }
    if (pl->mine_count)
        deliver_group(pe, h, r, (const sec_member_t *)(const void *)(pl->key + pl->mine_off),
                      pl->mine_count, payload);
}

/* At the root: the members grouped by the PE each is on, and the PE set (cached until
 * this PE learns that an element moved). */
static void build_route(core_pe_t *pe, core_section_t *s)
{
    if (s->route_ok && s->route_version == pe->where_version)
        return;
    free(s->route_block);
    s->route_block = NULL;
    int np = pe->num_pes;
    int *where = malloc((s->n ? s->n : 1) * sizeof *where);
    uint64_t *count = calloc((size_t)np, sizeof *count);
    int32_t *pes = malloc(((size_t)np + 1) * sizeof *pes);
    size_t *at = malloc((size_t)np * sizeof *at);
    if (!where || !count || !pes || !at)
        tern_abort("out of memory multicasting to a section");
    for (uint64_t i = 0; i < s->n; i++) {
        where[i] = member_pe(pe, &s->m[i]);
        count[where[i]]++;
    }
    int npes = 0;
    for (int p = 0; p < np; p++) /* ascending */
        if (count[p] || p == pe->my_pe)
            pes[npes++] = p;
    size_t glen = 0;
    for (int i = 0; i < npes; i++)
        glen += count[pes[i]] ? 8 + count[pes[i]] * sizeof(sec_member_t) : 0;
    unsigned char *groups = malloc(glen ? glen : 1);
    if (!groups)
        tern_abort("out of memory multicasting to a section");
    uint32_t ngroups = 0;
    size_t off = 0;
    for (int i = 0; i < npes; i++) {
        int p = pes[i];
        if (!count[p])
            continue;
        int32_t gpe = p;
        uint32_t cnt = (uint32_t)count[p];
        memcpy(groups + off, &gpe, 4);
        memcpy(groups + off + 4, &cnt, 4);
        at[p] = off + 8;
        off += 8 + cnt * sizeof(sec_member_t);
        ngroups++;
    }
    for (uint64_t i = 0; i < s->n; i++) {
        memcpy(groups + at[where[i]], &s->m[i], sizeof(sec_member_t));
        at[where[i]] += sizeof(sec_member_t);
    }
    free(where);
    free(count);
    free(at);
    size_t pes_bytes = ((size_t)npes * 4 + 7) & ~(size_t)7;
    unsigned char *block = calloc(1, pes_bytes + glen + 1);
    if (!block)
        tern_abort("out of memory multicasting to a section");
    memcpy(block, pes, (size_t)npes * 4);
    memcpy(block + pes_bytes, groups, glen);
    free(pes);
    free(groups);
    s->route_npes = npes;
    s->route_block = block;
    s->route_block_len = pes_bytes + glen;
    s->route_ngroups = ngroups;
    s->route_version = pe->where_version;
    s->route_ok = 1;
}

/* At the root: start the tree. */
static void h_mcast(core_pe_t *pe, tern_msg_t *m)
{
    core_section_t *s = section_get(pe, m->hdr.u.entry.cid);
    if (!s)
        tern_abort("a multicast came to PE %d for section %#llx, which was not made there",
                   pe->my_pe, (unsigned long long)m->hdr.u.entry.cid);
    build_route(pe, s);
    sec_route_t r = {.sid = s->sid, .payload_len = m->hdr.body_len,
                     .npes = (uint32_t)s->route_npes, .root = pe->my_pe,
                     .nsegs = m->hdr.nsegs, .ngroups = s->route_ngroups};
    route(pe, &m->hdr, &r, s->route_block, s->route_block_len, m->body);
    core_msg_release(&pe->pool, m);
}

static void h_deliver(core_pe_t *pe, tern_msg_t *m)
{
    uint64_t rlen;
    if (m->hdr.body_len < 8 + sizeof(sec_route_t))
        tern_abort("malformed section multicast from PE %d", m->hdr.src_pe);
    memcpy(&rlen, m->body, 8);
    sec_route_t r;
    memcpy(&r, m->body + 8, sizeof r);
    size_t pes_bytes = ((size_t)r.npes * 4 + 7) & ~(size_t)7;
    if (rlen < sizeof r + pes_bytes || 8 + rlen + r.payload_len != m->hdr.body_len)
        tern_abort("malformed section multicast from PE %d", m->hdr.src_pe);
    route(pe, &m->hdr, &r, m->body + 8 + sizeof r, rlen - sizeof r, m->body + 8 + rlen);
    core_msg_release(&pe->pool, m);
}

/* ---- section reductions ---- */

static core_secctr_t *ctr_of(core_chare_t *ch)
{
    if (!ch->secs)
        ch->secs = calloc(1, sizeof(core_secctr_t));
    return ch->secs;
}

static uint64_t next_seq(core_chare_t *ch, uint64_t sid)
{
    core_secctr_t *t = ctr_of(ch);
    if (!t)
        tern_abort("out of memory counting section contributions");
    for (uint32_t i = 0; i < t->n; i++)
        if (t->sid[i] == sid)
            return t->count[i]++;
    if (t->n == t->cap) {
        uint32_t cap = t->cap ? t->cap * 2 : 4;
        uint64_t *a = realloc(t->sid, cap * sizeof *a), *b;
        if (!a)
            tern_abort("out of memory counting section contributions");
        t->sid = a;
        if (!(b = realloc(t->count, cap * sizeof *b)))
            tern_abort("out of memory counting section contributions");
        t->count = b;
        t->cap = cap;
    }
    t->sid[t->n] = sid;
    t->count[t->n] = 1;
    t->n++;
    return 0;
}

static tern_status_t contribute(core_pe_t *pe, const char *call, const void *self,
                                const tern_proxy_t *sec, const void *data, size_t len,
                                tern_reducer_t reducer, const tern_callback_t *cb,
                                const tern_future_t *fut)
{
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return TERN_ERR_INVALID;
    if (!sec || sec->kind != TERN_PROXY_SECTION) {
        util_log_error("%s: the proxy is not a section", call);
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
    sec_contrib_t h = {.sid = sec->cid, .seq = next_seq(ch, sec->cid), .cid = ch->coll->cid,
                       .key = ch->lin, .gid = gid, .allreduce = fut != NULL, .len = len};
    if (cb)
        h.cb = *cb;
    if (fut)
        h.fut = *fut;
    core_hdr_t hdr;
    core_hdr_init(&hdr, sec_kinds[SEC_CONTRIB], pe->my_pe);
    tern_iov_t iov[2] = {{&h, sizeof h}, {data, len}};
    return core_send_iov(pe, sec->pe, &hdr, iov, 2);
}

tern_status_t tern_section_contribute(const void *self, const tern_proxy_t *section,
                                      const void *data, size_t len, tern_reducer_t reducer,
                                      const tern_callback_t *cb)
{
    core_pe_t *pe = core_pe_checked("tern_section_contribute");
    if (!pe)
        return TERN_ERR_STATE;
    if (!cb || (cb->kind != TERN_CB_FUTURE && cb->kind != TERN_CB_SEND)) {
        util_log_error("tern_section_contribute: %s", !cb ? "the callback is NULL"
                                                           : "the callback names no future "
                                                             "or method");
        return TERN_ERR_INVALID;
    }
    return contribute(pe, "tern_section_contribute", self, section, data, len, reducer, cb,
                      NULL);
}

tern_status_t tern_section_allreduce(const void *self, const tern_proxy_t *section,
                                     const void *data, size_t len, tern_reducer_t reducer,
                                     void *out, size_t cap, size_t *out_len)
{
    core_pe_t *pe = core_pe_checked("tern_section_allreduce");
    if (!pe)
        return TERN_ERR_STATE;
    if (!core_need_coroutine(pe, "tern_section_allreduce"))
        return TERN_ERR_STATE;
    tern_future_t f;
    tern_status_t st = tern_future_create(1, &f);
    if (st != TERN_OK)
        return st;
    st = contribute(pe, "tern_section_allreduce", self, section, data, len, reducer, NULL, &f);
    if (st != TERN_OK) {
        tern_future_free(&f);
        return st;
    }
    return tern_future_get(&f, out, cap, out_len);
}

static sec_red_t *red_get(core_section_t *s, uint64_t seq)
{
    for (sec_red_t *r = s->reds; r; r = r->next)
        if (r->seq == seq)
            return r;
    sec_red_t *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->seq = seq;
    r->next = s->reds;
    s->reds = r;
    return r;
}

static void red_finish(core_pe_t *pe, core_section_t *s, sec_red_t *r)
{
    unsigned char *res = r->acc;
    size_t rlen = r->len;
    if (r->gid == TERN_REDUCER_GATHER) {
        rlen = 0;
        for (uint64_t i = 0; i < s->n; i++)
            rlen += r->slot_len[i];
        res = malloc(rlen ? rlen : 1);
        if (!res)
            tern_abort("out of memory finishing a section gather");
        size_t o = 0;
        for (uint64_t i = 0; i < s->n; i++) {
            if (r->slot_len[i])
                memcpy(res + o, r->slots[i], r->slot_len[i]);
            o += r->slot_len[i];
            free(r->slots[i]);
        }
    } else if (r->gid == TERN_REDUCER_NOP) {
        rlen = 0;
    }
    if (r->allreduce) {
        for (uint64_t i = 0; i < s->n; i++)
            core_future_answer(pe, &r->futs[i], -1, 1, res, rlen);
    } else {
        core_cb_fire(pe, &r->cb, res, rlen);
    }
    if (res != r->acc)
        free(res);
    for (sec_red_t **pp = &s->reds; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    free(r->acc);
    free(r->slots);
    free(r->slot_len);
    free(r->futs);
    free(r);
}

static void h_contrib(core_pe_t *pe, tern_msg_t *m)
{
    size_t hl, dl;
    const void *hp = core_msg_seg(m, 0, &hl);
    const unsigned char *data = core_msg_seg(m, 1, &dl);
    sec_contrib_t h;
    if (m->hdr.nsegs != 2 || hl != sizeof h)
        tern_abort("malformed section contribution from PE %d", m->hdr.src_pe);
    memcpy(&h, hp, sizeof h);
    core_section_t *s = section_get(pe, h.sid);
    if (!s)
        tern_abort("a contribution came to PE %d for section %#llx, which was not made "
                   "there", pe->my_pe, (unsigned long long)h.sid);
    uintptr_t at = (uintptr_t)util_hashmap_get(&s->pos, member_hash(h.cid, h.key));
    if (!at) {
        util_log_error("tern_section_contribute: a chare (collection %#llx, key %llu) that "
                       "is not a member of section %#llx contributed; ignored",
                       (unsigned long long)h.cid, (unsigned long long)h.key,
                       (unsigned long long)h.sid);
        core_msg_release(&pe->pool, m);
        return;
    }
    uint64_t i = at - 1;
    sec_red_t *r = red_get(s, h.seq);
    if (!r)
        tern_abort("out of memory reducing over a section");
    if (!r->got) {
        r->gid = h.gid;
        r->allreduce = (int)h.allreduce;
        r->len = h.len;
        r->cb = h.cb;
        if (r->gid == TERN_REDUCER_GATHER &&
            (!(r->slots = calloc(s->n, sizeof *r->slots)) ||
             !(r->slot_len = calloc(s->n, sizeof *r->slot_len))))
            tern_abort("out of memory reducing over a section");
        if (r->allreduce && !(r->futs = calloc(s->n, sizeof *r->futs)))
            tern_abort("out of memory reducing over a section");
    } else if (r->gid != h.gid || r->allreduce != (int)h.allreduce ||
               (r->gid != TERN_REDUCER_GATHER && r->len != h.len)) {
        tern_abort("section %#llx, reduction %llu: members gave different reducers, sizes "
                   "or kinds (reduce against allreduce)", (unsigned long long)h.sid,
                   (unsigned long long)h.seq);
    }
    if (r->allreduce)
        r->futs[i] = h.fut;
    if (r->gid == TERN_REDUCER_GATHER) {
        r->slots[i] = malloc(dl ? dl : 1);
        if (!r->slots[i])
            tern_abort("out of memory reducing over a section");
        if (dl)
            memcpy(r->slots[i], data, dl);
        r->slot_len[i] = dl;
    } else if (r->gid != TERN_REDUCER_NOP) {
        if (!r->acc) {
            if (!(r->acc = malloc(dl ? dl : 1)))
                tern_abort("out of memory reducing over a section");
            memcpy(r->acc, data, dl);
        } else {
            core_red_combine(r->gid, r->acc, data, dl);
        }
    }
    core_msg_release(&pe->pool, m);
    if (++r->got == s->n)
        red_finish(pe, s, r);
}

/* ---- the counters move with their chare ---- */

size_t core_sec_pack(core_chare_t *ch, unsigned char *out)
{
    core_secctr_t *t = ch->secs;
    uint64_t n = t ? t->n : 0;
    if (out) {
        memcpy(out, &n, 8);
        for (uint64_t i = 0; i < n; i++) {
            memcpy(out + 8 + 16 * i, &t->sid[i], 8);
            memcpy(out + 16 + 16 * i, &t->count[i], 8);
        }
    }
    return 8 + 16 * n;
}

size_t core_sec_unpack(core_chare_t *ch, const unsigned char *in, size_t len)
{
    uint64_t n;
    if (len < 8)
        return 0;
    memcpy(&n, in, 8);
    if (n > (len - 8) / 16)
        return 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t sid, count;
        memcpy(&sid, in + 8 + 16 * i, 8);
        memcpy(&count, in + 16 + 16 * i, 8);
        next_seq(ch, sid);
        ch->secs->count[ch->secs->n - 1] = count;
    }
    return 8 + 16 * n;
}

void core_sec_chare_free(core_chare_t *ch)
{
    if (!ch->secs)
        return;
    free(ch->secs->sid);
    free(ch->secs->count);
    free(ch->secs);
    ch->secs = NULL;
}

void core_sections_free(core_pe_t *pe)
{
    if (pe->sec_plans) {
        uint64_t k;
        void *v;
        for (size_t it = 0; util_hashmap_next(pe->sec_plans, &it, &k, &v);)
            plan_free(v);
        util_hashmap_fini(pe->sec_plans);
        free(pe->sec_plans);
        pe->sec_plans = NULL;
    }
    if (!pe->sections)
        return;
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(pe->sections, &it, &key, &val);) {
        core_section_t *s = val;
        while (s->reds) {
            sec_red_t *r = s->reds;
            s->reds = r->next;
            for (uint64_t i = 0; r->slots && i < s->n; i++)
                free(r->slots[i]);
            free(r->acc);
            free(r->slots);
            free(r->slot_len);
            free(r->futs);
            free(r);
        }
        util_hashmap_fini(&s->pos);
        free(s->m);
        free(s->route_block);
        free(s);
    }
    util_hashmap_fini(pe->sections);
    free(pe->sections);
    pe->sections = NULL;
}

/* A send to a section proxy: to its root. */
void core_section_hdr(const tern_proxy_t *to, core_hdr_t *hdr, int *dest)
{
    hdr->kind = sec_kinds[SEC_MCAST];
    *dest = to->pe;
}

tern_status_t core_sections_register(void)
{
    static const core_handler_def_t defs[SEC_NKINDS] = {
        [SEC_MCAST] = {"sec.mcast", h_mcast, sizeof(core_part_entry_t), CORE_H_COUNTED},
        [SEC_DELIVER] = {"sec.deliver", h_deliver, sizeof(core_part_entry_t), CORE_H_COUNTED},
        [SEC_CONTRIB] = {"sec.contrib", h_contrib, 0, CORE_H_COUNTED},
    };
    for (int i = 0; i < SEC_NKINDS; i++) {
        tern_status_t st = core_handler_register(&defs[i], &sec_kinds[i]);
        if (st != TERN_OK && st != TERN_ERR_EXISTS)
            return st;
    }
    return TERN_OK;
}
