/*
 * Collections on one PE: creating single chares, groups and arrays; finding the chare a
 * message is for; holding messages that arrive before their collection; and the handler
 * table that the scheduler dispatches through (one handler per message kind).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/index.h"
#include "core/invoke.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "core/stall.h"
#include "util/log.h"


uint64_t core_new_cid(core_pe_t *pe)
{
    /* Unique in the job without asking anyone: the creating PE in the high bits. */
    return ((uint64_t)pe->my_pe << 40) | ++pe->next_cid;
}

core_coll_t *core_coll_get(core_pe_t *pe, uint64_t cid, int create)
{
    if (pe->last_coll && pe->last_coll->cid == cid)
        return pe->last_coll;
    core_coll_t *c = util_hashmap_get(&pe->colls, cid);
    if (c) {
        pe->last_coll = c;
        return c;
    }
    if (!create)
        return c;
    c = calloc(1, sizeof *c);
    if (!c || util_hashmap_put(&pe->colls, cid, c) != TERN_OK)
        tern_abort("out of memory recording collection %#llx", (unsigned long long)cid);
    c->cid = cid;
    c->hold_from = UINT64_MAX;
    util_hashmap_init(&c->elems);
    util_hashmap_init(&c->where);
    util_hashmap_init(&c->held);
    return c;
}

/* Hold m until c exists. It may wait long: it must not pin a peer's shared heap, which
 * the peer may need to send us the very creation that releases it. */
void core_coll_pend(core_pe_t *pe, core_coll_t *c, tern_msg_t *m)
{
    m = core_msg_detach(&pe->pool, m);
    if (!m)
        tern_abort("out of memory holding a message for collection %#llx",
                   (unsigned long long)c->cid);
    m->next = NULL;
    if (c->pend_tail) {
        c->pend_tail->next = m;
    } else {
        c->pend_head = m;
        c->pend_since = core_now();
        pe->nheld_colls++;
    }
    c->pend_tail = m;
}

static void coll_replay(core_pe_t *pe, core_coll_t *c)
{
    tern_msg_t *m = c->pend_head;
    if (m)
        pe->nheld_colls--;
    c->pend_head = c->pend_tail = NULL;
    while (m) {
        tern_msg_t *next = m->next;
        core_dispatch(pe, m);
        m = next;
    }
}

static const char *type_name(uint32_t gid)
{
    const core_type_t *t = core_type_by_gid(gid);
    return t ? t->name : "?";
}

/* A coroutine may keep its message for long: it must not pin a peer's shared heap. */
static tern_msg_t *keepable(core_pe_t *pe, tern_msg_t *m)
{
    if (!m->rx_ref || m->hdr.u.entry.ep == CORE_EP_PING)
        return m;
    const core_ep_t *e = core_ep_by_gid(m->hdr.u.entry.ep);
    if (!e || !(e->flags & TERN_EP_COROUTINE))
        return m;
    tern_msg_t *c = core_msg_detach(&pe->pool, m);
    if (!c)
        tern_abort("out of memory keeping a message for a coroutine");
    return c;
}

void core_coll_add_local(core_coll_t *c, core_chare_t *ch)
{
    if (!c->local_cap) {
        c->local = &c->local_one;
        c->local_cap = 1;
    }
    if (c->nlocal == c->local_cap) {
        uint64_t cap = c->local_cap < 8 ? 8 : c->local_cap * 2;
        core_chare_t **n = c->local == &c->local_one ? malloc(cap * sizeof *n)
                                                     : realloc(c->local, cap * sizeof *n);
        if (!n)
            tern_abort("out of memory adding a member to collection %#llx",
                       (unsigned long long)c->cid);
        if (c->local == &c->local_one)
            n[0] = c->local_one;
        c->local = n;
        c->local_cap = cap;
    }
    ch->pos = c->nlocal;
    c->local[c->nlocal++] = ch;
    /* A single chare is found without the map (local_member). */
    if (c->kind != TERN_PROXY_CHARE && util_hashmap_put(&c->elems, ch->lin, ch) != TERN_OK)
        tern_abort("out of memory adding a member to collection %#llx",
                   (unsigned long long)c->cid);
}

void core_coll_remove_local(core_coll_t *c, core_chare_t *ch)
{
    core_chare_t *last = c->local[--c->nlocal];
    c->local[ch->pos] = last;
    last->pos = ch->pos;
    if (c->kind != TERN_PROXY_CHARE)
        util_hashmap_del(&c->elems, ch->lin);
    if (c->last_chare == ch)
        c->last_chare = NULL;
}

core_chare_t *core_chare_alloc(core_pe_t *pe, core_coll_t *c, const core_type_t *t,
                               uint64_t key, const int32_t *idx)
{
    core_chare_t *ch;
    size_t bytes = sizeof *ch + ((t->state_size + 15) & ~(size_t)15);
    if (posix_memalign((void **)&ch, 16, bytes) != 0)
        tern_abort("out of memory creating a chare of type '%s'", t->name);
    memset(ch, 0, bytes);
    ch->magic = CORE_CHARE_MAGIC;
    ch->coll = c;
    ch->lin = key;
    ch->move_to = -1;
    ch->red_pe = pe->my_pe;
    if (idx)
        memcpy(ch->idx, idx, sizeof ch->idx);
    return ch;
}

/* A member made at creation: its key, index and where reductions count it. */
static core_chare_t *chare_new(core_pe_t *pe, core_coll_t *c, const core_type_t *t,
                               uint64_t lin)
{
    int32_t idx[TERN_MAX_DIMS] = {0};
    if (c->kind == TERN_PROXY_ARRAY)
        core_index_from_linear(c->ndims, c->dims, lin, idx);
    else if (c->kind == TERN_PROXY_GROUP)
        idx[0] = (int32_t)lin;
    core_chare_t *ch = core_chare_alloc(pe, c, t, lin, idx);
    core_coll_add_local(c, ch);
    return ch;
}

/* Build the local members of c (the keys in `keys`, n of them), run their constructors,
 * then deliver what was waiting for them. */
static void coll_construct(core_pe_t *pe, core_coll_t *c, const uint64_t *keys, uint64_t n,
                           uint64_t lo, tern_msg_t *args)
{
    const core_type_t *t = core_type_by_gid(c->type);
    if (!t)
        tern_abort("creation of collection %#llx names unknown chare type id %u",
                   (unsigned long long)c->cid, c->type);
    uint64_t first = c->nlocal;
    for (uint64_t i = 0; i < n; i++)
        chare_new(pe, c, t, keys ? keys[i] : lo + i);
    for (uint64_t i = first; i < c->nlocal; i++)
        if (t->ctor)
            t->ctor(c->local[i]->state, args);
    c->live = 1;
    core_red_coll_live(pe, c);
    coll_replay(pe, c);
}

void core_h_create_chare(core_pe_t *pe, tern_msg_t *m)
{
    const core_part_create_t *p = &m->hdr.u.create;
    core_coll_t *c = core_coll_get(pe, p->cid, 1);
    if (c->live)
        tern_abort("collection %#llx created twice", (unsigned long long)p->cid);
    c->type = p->type;
    c->kind = TERN_PROXY_CHARE;
    c->ndims = 1;
    c->dims[0] = 1;
    c->total = 1;
    coll_construct(pe, c, NULL, 1, 0, m);
    core_msg_release(&pe->pool, m);
}

/* The keys of the elements that `map` puts on this PE, in order; *n of them. */
static uint64_t *mapped_here(core_pe_t *pe, core_coll_t *c, uint64_t *n)
{
    uint64_t cap = 64, k = 0;
    uint64_t *keys = malloc(cap * sizeof *keys);
    int32_t idx[TERN_MAX_DIMS] = {0};
    for (uint64_t lin = 0; keys && lin < c->total; lin++) {
        core_index_from_linear(c->ndims, c->dims, lin, idx);
        if (core_loc_home(pe, c->map, c->pflags, c->ndims, c->dims, idx, lin) != pe->my_pe)
            continue;
        if (k == cap) {
            uint64_t *more = realloc(keys, (cap *= 2) * sizeof *keys);
            if (!more)
                free(keys);
            keys = more;
            if (!keys)
                break;
        }
        keys[k++] = lin;
    }
    if (!keys)
        tern_abort("out of memory placing the elements of array %#llx",
                   (unsigned long long)c->cid);
    *n = k;
    return keys;
}

void core_h_create_coll(core_pe_t *pe, tern_msg_t *m)
{
    core_tree_forward(pe, m);
    const core_part_create_t *p = &m->hdr.u.create;
    core_coll_t *c = core_coll_get(pe, p->cid, 1);
    if (c->live)
        tern_abort("collection %#llx created twice", (unsigned long long)p->cid);
    c->type = p->type;
    c->kind = p->ckind;
    if (c->kind == TERN_PROXY_GROUP) {
        c->ndims = 1;
        c->dims[0] = pe->num_pes;
        c->total = (uint64_t)pe->num_pes;
        c->has_members = 1;
        coll_construct(pe, c, NULL, 1, (uint64_t)pe->my_pe, m);
        core_msg_release(&pe->pool, m);
        return;
    }
    c->ndims = p->ndims;
    c->pflags = p->pflags;
    c->map = p->map;
    memcpy(c->dims, p->dims, sizeof c->dims);
    int sparse = c->pflags & TERN_PROXY_SPARSE;
    c->total = sparse ? 0 : c->ndims >= 1 && c->ndims <= TERN_MAX_DIMS
                                  ? core_index_total(c->ndims, c->dims) : 0;
    if (c->kind != TERN_PROXY_ARRAY || c->ndims < 1 || c->ndims > TERN_MAX_DIMS ||
        (!sparse && !c->total) || core_loc_map_check("creating an array", c->map,
                                                     c->pflags) != TERN_OK)
        tern_abort("malformed creation of collection %#llx from PE %d",
                   (unsigned long long)c->cid, m->hdr.src_pe);
    if ((c->pflags & TERN_PROXY_BALANCED) && pe->lb_strategy)
        core_lb_coll_init(pe, c); /* loads are measured from the constructors on */
    if (sparse || (p->ckind == TERN_PROXY_ARRAY && (m->hdr.flags & CORE_HDR_EMPTY))) {
        c->total = 0; /* counted by the first census */
        coll_construct(pe, c, NULL, 0, 0, m);
    } else if (c->map == TERN_MAP_DEFAULT || c->map == TERN_MAP_BLOCK) {
        uint64_t lo, hi;
        core_block_range(c->total, pe->num_pes, pe->my_pe, &lo, &hi);
        c->has_members = 1;
        coll_construct(pe, c, NULL, hi - lo, lo, m);
    } else {
        uint64_t n, *keys = mapped_here(pe, c, &n);
        c->has_members = 1;
        coll_construct(pe, c, keys, n, 0, m);
        free(keys);
    }
    core_msg_release(&pe->pool, m);
}

static uint64_t msg_lin(core_pe_t *pe, const core_coll_t *c, const tern_msg_t *m)
{
    uint64_t key;
    switch (c->kind) {
    case TERN_PROXY_GROUP:
        if (m->hdr.ndims != 1 || m->hdr.idx[0] < 0 || m->hdr.idx[0] >= pe->num_pes)
            break;
        return (uint64_t)m->hdr.idx[0];
    case TERN_PROXY_ARRAY:
        if (m->hdr.ndims != c->ndims ||
            !core_loc_key(NULL, c->kind, c->pflags, c->ndims, c->dims, m->hdr.idx, &key))
            break;
        return key;
    default:
        return 0;
    }
    tern_abort("message from PE %d for an element outside collection %#llx (type '%s')",
               m->hdr.src_pe, (unsigned long long)c->cid, type_name(c->type));
}

/* The member of live collection c that a message with this index is for, if it is here. */
static core_chare_t *local_member(core_coll_t *c, uint64_t lin)
{
    if (c->kind == TERN_PROXY_CHARE)
        return c->nlocal ? c->local[0] : NULL;
    core_chare_t *ch = c->last_chare;
    if (ch && c->last_lin == lin)
        return ch;
    if ((ch = util_hashmap_get(&c->elems, lin))) {
        c->last_chare = ch;
        c->last_lin = lin;
    }
    return ch;
}

core_chare_t *core_entry_target(core_pe_t *pe, const core_hdr_t *h)
{
    core_coll_t *c = core_coll_get(pe, h->u.entry.cid, 0);
    if (!c || !c->live)
        return NULL;
    uint64_t lin;
    if (c->kind == TERN_PROXY_ARRAY) {
        if (h->ndims != c->ndims ||
            !core_loc_key(NULL, c->kind, c->pflags, c->ndims, c->dims, h->idx, &lin))
            return NULL;
    } else if (c->kind == TERN_PROXY_GROUP) {
        if (h->ndims != 1 || h->idx[0] != pe->my_pe)
            return NULL;
        lin = (uint64_t)h->idx[0];
    } else {
        lin = 0;
    }
    return local_member(c, lin);
}

core_chare_t *core_coll_member(core_coll_t *c, uint64_t key) { return local_member(c, key); }

/* m (ENTRY, DESTROY, BCAST_ELEM) is for one element of c: the chare if it is here; if not,
 * m has gone on its way (forwarded, held or failed). An element about to move or be
 * destroyed is not here any more: m waits to follow it. */
core_chare_t *core_elem_target(core_pe_t *pe, core_coll_t *c, tern_msg_t *m)
{
    uint64_t lin = msg_lin(pe, c, m);
    core_chare_t *ch = local_member(c, lin);
    if (ch && core_chare_leaving(ch)) {
        core_chare_follow(pe, ch, m);
        return NULL;
    }
    if (ch)
        return ch;
    if (c->kind != TERN_PROXY_ARRAY)
        tern_abort("message for member %llu of collection %#llx (type '%s'), which does "
                   "not exist on its PE", (unsigned long long)lin,
                   (unsigned long long)c->cid, type_name(c->type));
    core_loc_miss(pe, c, m, lin);
    return NULL;
}

core_coll_t *core_coll_live(core_pe_t *pe, uint64_t cid, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, cid, 1);
    if (c->live)
        return c;
    core_coll_pend(pe, c, m);
    return NULL;
}

core_chare_t *core_elem_msg_target(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_live(pe, m->hdr.u.entry.cid, m);
    if (!c)
        return NULL;
    core_chare_t *ch = core_elem_target(pe, c, m);
    if (ch && m->hdr.hops)
        core_loc_tell(pe, ch, m->hdr.src_pe);
    return ch;
}

void core_h_entry(core_pe_t *pe, tern_msg_t *m)
{
    core_chare_t *ch = core_elem_msg_target(pe, m);
    if (!ch)
        return;
    if (m->hdr.u.entry.ep == CORE_EP_CHAN) { /* no method: into the channel's end */
        core_chan_deliver(pe, ch, m);
        return;
    }
    m = keepable(pe, m);
    m->refs = 1;
    core_invoke(pe, ch, m);
}

void core_h_bcast(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.bcast.cid, 1);
    if (m->hdr.flags & CORE_HDR_NUMBER) {
        /* The root of a mobile array numbers its broadcasts and starts their trees. */
        m->hdr.flags &= (uint8_t)~CORE_HDR_NUMBER;
        m->hdr.u.bcast.seq = ++c->bcast_next;
        m->hdr.u.bcast.root = pe->my_pe;
    }
    if (!(m->hdr.flags & CORE_HDR_FORWARDED)) {
        core_tree_forward(pe, m);
        m->hdr.flags |= CORE_HDR_FORWARDED;
    }
    if (!c->live) {
        core_coll_pend(pe, c, m);
        return;
    }
    if (m->hdr.u.bcast.seq) {
        /* It may wait with a member that is owed earlier ones. */
        if (!(m = core_msg_detach(&pe->pool, m)))
            tern_abort("out of memory keeping a broadcast");
        core_abcast_deliver(pe, c, m);
        return;
    }
    m = keepable(pe, m);
    if (!c->nlocal) {
        core_msg_release(&pe->pool, m);
        return;
    }
    /* One reference per member, plus one so that the message outlives the loop even if
     * every member finishes inside it. */
    m->refs = (uint32_t)c->nlocal + 1;
    m->nmembers = (uint32_t)c->nlocal;
    for (uint64_t i = 0; i < c->nlocal; i++)
        core_invoke(pe, c->local[i], m);
    core_msg_unref(pe, m);
}

void core_h_exit_req(core_pe_t *pe, tern_msg_t *m)
{
    if (!pe->exit_started) {
        pe->exit_started = 1;
        core_hdr_t hdr;
        core_hdr_init(&hdr, CORE_K_EXIT, pe->my_pe);
        hdr.prio = INT32_MIN;
        hdr.u.exit.code = m->hdr.u.exit.code;
        core_send_iov(pe, pe->my_pe, &hdr, NULL, 0);
        if (pe->boot->ops->exiting)
            pe->boot->ops->exiting(pe->boot, m->hdr.u.exit.code);
    }
    core_msg_release(&pe->pool, m);
}

void core_h_exit(core_pe_t *pe, tern_msg_t *m)
{
    /* What is still held back would be dropped by its receivers once they see EXIT; drop
     * it here so that EXIT itself goes first and my children are sure to get it. */
    core_backlog_drop(pe);
    core_tree_forward(pe, m);
    pe->exiting = 1;
    pe->exit_code = m->hdr.u.exit.code;
    pe->exit_root = m->hdr.src_pe;
    core_msg_release(&pe->pool, m);
}

/* The exit handshake (runtime.c, core_finalize) counts these; they come once this PE has
 * stopped, but the table takes them too so that no order of arrival can lose one. */
void core_h_exit_done(core_pe_t *pe, tern_msg_t *m)
{
    pe->exit_kids_done++;
    core_msg_release(&pe->pool, m);
}

void core_h_exit_close(core_pe_t *pe, tern_msg_t *m)
{
    pe->exit_close = 1;
    core_msg_release(&pe->pool, m);
}

void core_dispatch(core_pe_t *pe, tern_msg_t *m)
{
    core_handler(m->hdr.kind)->fn(pe, m);
}

void core_colls_free(core_pe_t *pe)
{
    uint64_t key;
    void *val;
    pe->last_coll = NULL;
    for (size_t it = 0; util_hashmap_next(&pe->colls, &it, &key, &val);) {
        core_coll_t *c = val;
        const core_type_t *t = core_type_by_gid(c->type);
        for (uint64_t i = 0; i < c->nlocal; i++) {
            core_chare_t *ch = c->local[i];
            if (t && t->dtor)
                t->dtor(ch->state);
            core_chare_drop(pe, ch);
        }
        for (tern_msg_t *m = c->pend_head; m;) {
            tern_msg_t *next = m->next;
            core_msg_release(&pe->pool, m);
            m = next;
        }
        if (c->local != &c->local_one)
            free(c->local);
        core_red_coll_free(pe, c);
        core_lb_coll_free(pe, c);
        core_loc_free(pe, c);
        core_abcast_free(pe, c);
        core_census_free(pe, c);
        util_hashmap_fini(&c->elems);
        free(c);
    }
    util_hashmap_fini(&pe->colls);
    pe->pending_chares = NULL;
}

/* ---- the public creation calls ---- */

static tern_status_t create_prepare(core_pe_t *pe, const char *call, tern_type_t type,
                                    const tern_iov_t *args, int nargs, const core_type_t **t)
{
    *t = core_type_local(type);
    if (!*t) {
        util_log_error("%s: %u is not a registered chare type", call, type);
        return TERN_ERR_INVALID;
    }
    tern_status_t st = core_iov_check(call, "constructor arguments", args, nargs);
    if (st != TERN_OK)
        return st;
    if (pe->exiting)
        return core_exiting(pe, call);
    return TERN_OK;
}

static void proxy_init(tern_proxy_t *p, uint64_t cid, uint32_t type, int kind)
{
    memset(p, 0, sizeof *p);
    p->cid = cid;
    p->type = type;
    p->kind = (uint8_t)kind;
    p->ndims = 1;
    p->pe = -1;
}

tern_status_t tern_chare_create(tern_type_t type, int on_pe, const tern_iov_t *args, int nargs,
                                tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_chare_create");
    if (!pe)
        return TERN_ERR_STATE;
    const core_type_t *t;
    tern_status_t st = create_prepare(pe, "tern_chare_create", type, args, nargs, &t);
    if (st != TERN_OK)
        return st;
    if (!out) {
        util_log_error("tern_chare_create: out is NULL");
        return TERN_ERR_INVALID;
    }
    if (on_pe == TERN_ANY_PE) {
        on_pe = pe->next_any_pe;
        pe->next_any_pe = (pe->next_any_pe + 1) % pe->num_pes;
    } else if (on_pe < 0 || on_pe >= pe->num_pes) {
        util_log_error("tern_chare_create: PE %d is out of range (the job has %d PEs)", on_pe,
                       pe->num_pes);
        return TERN_ERR_RANGE;
    }
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_CREATE_CHARE, pe->my_pe);
    hdr.u.create.type = t->gid;
    hdr.u.create.cid = core_new_cid(pe);
    hdr.u.create.ckind = TERN_PROXY_CHARE;
    hdr.u.create.ndims = 1;
    st = core_send_iov(pe, on_pe, &hdr, args, nargs);
    if (st != TERN_OK)
        return st;
    proxy_init(out, hdr.u.create.cid, t->gid, TERN_PROXY_CHARE);
    out->pe = on_pe;
    out->dims[0] = 1;
    return TERN_OK;
}

static tern_status_t create_coll(core_pe_t *pe, const char *call, const core_type_t *t,
                                 int kind, int ndims, const int32_t *dims, unsigned pflags,
                                 uint32_t map, int empty, const tern_iov_t *args, int nargs,
                                 tern_proxy_t *out)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_CREATE_COLL, pe->my_pe);
    hdr.u.create.type = t->gid;
    hdr.u.create.cid = core_new_cid(pe);
    hdr.u.create.ckind = (uint8_t)kind;
    hdr.u.create.ndims = (uint8_t)ndims;
    hdr.u.create.pflags = (uint16_t)pflags;
    hdr.u.create.map = map;
    if (empty)
        hdr.flags |= CORE_HDR_EMPTY;
    memcpy(hdr.u.create.dims, dims, sizeof hdr.u.create.dims);
    tern_status_t st = core_send_iov(pe, pe->my_pe, &hdr, args, nargs);
    if (st != TERN_OK) {
        util_log_error("%s: %s", call, tern_strerror(st));
        return st;
    }
    proxy_init(out, hdr.u.create.cid, t->gid, kind);
    out->ndims = (uint8_t)ndims;
    out->flags = (uint16_t)pflags;
    out->map = map;
    memcpy(out->dims, dims, sizeof out->dims);
    return TERN_OK;
}

tern_status_t tern_group_create(tern_type_t type, const tern_iov_t *args, int nargs,
                                const void *reserved, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_group_create");
    if (!pe)
        return TERN_ERR_STATE;
    const core_type_t *t;
    tern_status_t st = create_prepare(pe, "tern_group_create", type, args, nargs, &t);
    if (st != TERN_OK)
        return st;
    if (reserved || !out) {
        util_log_error("tern_group_create: %s", reserved ? "reserved must be NULL"
                                                         : "out is NULL");
        return TERN_ERR_INVALID;
    }
    int32_t dims[TERN_MAX_DIMS] = {pe->num_pes};
    return create_coll(pe, "tern_group_create", t, TERN_PROXY_GROUP, 1, dims, 0, 0, 0, args,
                       nargs, out);
}

static tern_status_t array_create(const char *call, tern_type_t type, int ndims,
                                  const int32_t *dims, const tern_iov_t *args, int nargs,
                                  const tern_array_opts_t *opts, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked(call);
    if (!pe)
        return TERN_ERR_STATE;
    const core_type_t *t;
    tern_status_t st = create_prepare(pe, call, type, args, nargs, &t);
    if (st != TERN_OK)
        return st;
    if (!out || ndims < 1 || ndims > TERN_MAX_DIMS) {
        util_log_error("%s: %s", call, !out ? "out is NULL" : "ndims must be 1 to 6");
        return TERN_ERR_INVALID;
    }
    unsigned pflags = t->migratable ? TERN_PROXY_MOBILE : 0;
    uint32_t map = opts ? opts->map : TERN_MAP_DEFAULT;
    int empty = opts && (opts->flags & TERN_ARRAY_EMPTY);
    const unsigned known = TERN_ARRAY_EMPTY | TERN_ARRAY_AT_SYNC;
    if (opts && (opts->flags & ~known)) {
        util_log_error("%s: unknown flags %#x", call, opts->flags & ~known);
        return TERN_ERR_INVALID;
    }
    double period = opts ? opts->lb_period : 0;
    if (!(period >= 0) || period > 1e6 ||
        (period > 0 && opts && (opts->flags & TERN_ARRAY_AT_SYNC))) {
        util_log_error("%s: %s", call, period > 0 && period <= 1e6
                                           ? "an array balances at sync points "
                                             "(TERN_ARRAY_AT_SYNC) or periodically "
                                             "(lb_period), not both"
                                           : "lb_period must be in [0, 1e6] seconds");
        return TERN_ERR_INVALID;
    }
    if (opts && (opts->flags & TERN_ARRAY_AT_SYNC))
        pflags |= TERN_PROXY_BALANCED | TERN_PROXY_AT_SYNC;
    if (period > 0)
        pflags |= TERN_PROXY_BALANCED;
    int32_t d[TERN_MAX_DIMS] = {0};
    if (!dims) {
        pflags |= TERN_PROXY_SPARSE | TERN_PROXY_INSERTED;
        empty = 1;
    } else {
        for (int i = 0; i < ndims; i++)
            d[i] = dims[i];
        if (!core_index_total(ndims, d)) {
            util_log_error("%s: every dimension must be >= 1 and the array at most %d "
                           "elements", call, INT32_MAX);
            return TERN_ERR_INVALID;
        }
    }
    if (empty)
        pflags |= TERN_PROXY_INSERTED;
    if ((st = core_loc_map_check(call, map, pflags)) != TERN_OK)
        return st;
    if ((st = create_coll(pe, call, t, TERN_PROXY_ARRAY, ndims, d, pflags, map, empty, args,
                          nargs, out)) != TERN_OK)
        return st;
    /* This PE drives the array's balancing steps: it knows before anyone can ask. */
    if ((pflags & TERN_PROXY_BALANCED) && pe->lb_strategy &&
        (st = core_lb_configure(pe, core_coll_get(pe, out->cid, 1), period)) != TERN_OK)
        util_log_error("%s: %s", call, tern_strerror(st));
    return st;
}

tern_status_t tern_array_create(tern_type_t type, int ndims, const int32_t *dims,
                                const tern_iov_t *args, int nargs, tern_proxy_t *out)
{
    if (!dims) {
        util_log_error("tern_array_create: dims is NULL (a sparse array is made with "
                       "tern_array_create_opts)");
        return TERN_ERR_INVALID;
    }
    return array_create("tern_array_create", type, ndims, dims, args, nargs, NULL, out);
}

tern_status_t tern_array_create_opts(tern_type_t type, int ndims, const int32_t *dims,
                                     const tern_iov_t *args, int nargs,
                                     const tern_array_opts_t *opts, tern_proxy_t *out)
{
    return array_create("tern_array_create_opts", type, ndims, dims, args, nargs, opts, out);
}

/* Suspend until the members named exist: a ping that answers when it reaches each. */
tern_status_t tern_await_created(const tern_proxy_t *ps, int n)
{
    core_pe_t *pe = core_pe_checked("tern_await_created");
    if (!pe)
        return TERN_ERR_STATE;
    if (n < 0 || (n && !ps)) {
        util_log_error("tern_await_created: %d proxies at %p", n, (const void *)ps);
        return TERN_ERR_INVALID;
    }
    if (!core_need_coroutine(pe, "tern_await_created"))
        return TERN_ERR_STATE;
    tern_status_t st = TERN_OK;
    for (int i = 0; i < n && st == TERN_OK; i++) {
        const tern_proxy_t *p = &ps[i];
        core_hdr_t hdr;
        core_hdr_init(&hdr, 0, pe->my_pe); /* the kind depends on the proxy, below */
        hdr.u.entry.ep = CORE_EP_PING;
        hdr.u.entry.cid = p->cid;
        uint64_t count;
        int dest = pe->my_pe;
        if (p->kind == TERN_PROXY_CHARE && p->pe >= 0 && p->pe < pe->num_pes) {
            hdr.kind = CORE_K_ENTRY;
            dest = p->pe;
            count = 1;
        } else if (p->kind == TERN_PROXY_GROUP) {
            core_bcast_hdr(pe, p, &hdr, &dest);
            count = (uint64_t)pe->num_pes;
        } else if (p->kind == TERN_PROXY_ARRAY && (count = core_proxy_total(p))) {
            core_bcast_hdr(pe, p, &hdr, &dest);
        } else if (p->kind == TERN_PROXY_ARRAY) {
            util_log_error("tern_await_created: proxy %d is an array created empty, whose "
                           "elements are inserted: await them one by one", i);
            return TERN_ERR_INVALID;
        } else {
            util_log_error("tern_await_created: proxy %d is not a chare, group or array", i);
            return TERN_ERR_INVALID;
        }
        tern_future_t f;
        if ((st = core_future_new(pe, "tern_await_created", count, 1, CORE_FUT_AWAIT, NULL,
                                  &f)) != TERN_OK)
            return st;
        hdr.flags |= CORE_HDR_WANT_DONE;
        hdr.reply_pe = f.pe;
        hdr.reply_id = f.id;
        st = core_send_iov(pe, dest, &hdr, NULL, 0);
        if (st == TERN_OK)
            st = tern_future_wait(&f);
        tern_future_free(&f);
    }
    return st;
}
