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
#include "core/pe.h"
#include "core/registry.h"
#include "core/stall.h"
#include "util/log.h"


uint64_t core_new_cid(core_pe_t *pe)
{
    /* Unique in the job without asking anyone: the creating PE in the high bits. */
    return ((uint64_t)pe->my_pe << 40) | ++pe->next_cid;
}

int core_home_pe(core_pe_t *pe, const tern_proxy_t *p)
{
    uint64_t total = core_index_total(p->ndims, p->dims);
    return core_block_pe(total, pe->num_pes, core_index_linear(p->ndims, p->dims, p->idx));
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
    util_hashmap_init(&c->elems);
    return c;
}

/* Hold m until c exists. It may wait long: it must not pin a peer's shared heap, which
 * the peer may need to send us the very creation that releases it. */
static void coll_pend(core_pe_t *pe, core_coll_t *c, tern_msg_t *m)
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

static core_chare_t *chare_new(core_coll_t *c, const core_type_t *t, uint64_t lin)
{
    core_chare_t *ch;
    size_t bytes = sizeof *ch + ((t->state_size + 15) & ~(size_t)15);
    if (posix_memalign((void **)&ch, 16, bytes) != 0)
        tern_abort("out of memory creating a chare of type '%s'", t->name);
    memset(ch, 0, bytes);
    ch->magic = CORE_CHARE_MAGIC;
    ch->coll = c;
    ch->lin = lin;
    if (c->kind == TERN_PROXY_ARRAY)
        core_index_from_linear(c->ndims, c->dims, lin, ch->idx);
    else if (c->kind == TERN_PROXY_GROUP)
        ch->idx[0] = (int32_t)lin;
    if (util_hashmap_put(&c->elems, lin, ch) != TERN_OK)
        tern_abort("out of memory creating a chare of type '%s'", t->name);
    return ch;
}

/* Build the local members [lo, hi) of c, run their constructors, then deliver what was
 * waiting for them. */
static void coll_construct(core_pe_t *pe, core_coll_t *c, uint64_t lo, uint64_t hi,
                           tern_msg_t *args)
{
    const core_type_t *t = core_type_by_gid(c->type);
    if (!t)
        tern_abort("creation of collection %#llx names unknown chare type id %u",
                   (unsigned long long)c->cid, c->type);
    c->nlocal = hi - lo;
    c->local = c->nlocal ? malloc(c->nlocal * sizeof *c->local) : NULL;
    if (c->nlocal && !c->local)
        tern_abort("out of memory creating %llu chares of type '%s'",
                   (unsigned long long)c->nlocal, t->name);
    for (uint64_t lin = lo; lin < hi; lin++)
        c->local[lin - lo] = chare_new(c, t, lin);
    for (uint64_t i = 0; i < c->nlocal; i++)
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
    coll_construct(pe, c, 0, 1, m);
    core_msg_release(&pe->pool, m);
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
    uint64_t lo, hi;
    if (c->kind == TERN_PROXY_GROUP) {
        c->ndims = 1;
        c->dims[0] = pe->num_pes;
        c->total = (uint64_t)pe->num_pes;
        lo = (uint64_t)pe->my_pe;
        hi = lo + 1;
    } else {
        c->ndims = p->ndims;
        memcpy(c->dims, p->dims, sizeof c->dims);
        c->total = c->ndims >= 1 && c->ndims <= TERN_MAX_DIMS
                       ? core_index_total(c->ndims, c->dims) : 0;
        if (c->kind != TERN_PROXY_ARRAY || !c->total)
            tern_abort("malformed creation of collection %#llx from PE %d",
                       (unsigned long long)c->cid, m->hdr.src_pe);
        core_block_range(c->total, pe->num_pes, pe->my_pe, &lo, &hi);
    }
    coll_construct(pe, c, lo, hi, m);
    core_msg_release(&pe->pool, m);
}

static uint64_t msg_lin(core_pe_t *pe, const core_coll_t *c, const tern_msg_t *m)
{
    switch (c->kind) {
    case TERN_PROXY_GROUP:
        if (m->hdr.ndims != 1 || m->hdr.idx[0] < 0 || m->hdr.idx[0] >= pe->num_pes)
            break;
        return (uint64_t)m->hdr.idx[0];
    case TERN_PROXY_ARRAY:
        if (m->hdr.ndims != c->ndims || !core_index_in_range(c->ndims, c->dims, m->hdr.idx))
            break;
        return core_index_linear(c->ndims, c->dims, m->hdr.idx);
    default:
        return 0;
    }
    tern_abort("message from PE %d for an element outside collection %#llx (type '%s')",
               m->hdr.src_pe, (unsigned long long)c->cid, type_name(c->type));
}

/* The member of live collection c that a message with this index is for, if it is here. */
static core_chare_t *local_member(core_coll_t *c, uint64_t lin)
{
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
        if (h->ndims != c->ndims || !core_index_in_range(c->ndims, c->dims, h->idx))
            return NULL;
        lin = core_index_linear(c->ndims, c->dims, h->idx);
    } else if (c->kind == TERN_PROXY_GROUP) {
        if (h->ndims != 1 || h->idx[0] != pe->my_pe)
            return NULL;
        lin = (uint64_t)h->idx[0];
    } else {
        lin = 0;
    }
    return local_member(c, lin);
}

void core_h_entry(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.entry.cid, 1);
    if (!c->live) {
        coll_pend(pe, c, m);
        return;
    }
    uint64_t lin = msg_lin(pe, c, m);
    core_chare_t *ch = local_member(c, lin);
    if (!ch) {
        /* Not here: forward to where it lives by default (migration will add a location
         * cache in front of this). */
        int home = c->kind == TERN_PROXY_ARRAY ? core_block_pe(c->total, pe->num_pes, lin)
                                               : pe->my_pe;
        if (home == pe->my_pe)
            tern_abort("message for element %llu of collection %#llx (type '%s'), which "
                       "does not exist on its home PE", (unsigned long long)lin,
                       (unsigned long long)c->cid, type_name(c->type));
        tern_status_t st = core_send_msg_remote(pe, home, m);
        if (st != TERN_OK)
            tern_abort("forwarding a message to PE %d failed: %s", home, tern_strerror(st));
        return;
    }
    m = keepable(pe, m);
    m->refs = 1;
    core_invoke(pe, ch, m);
}

void core_h_bcast(core_pe_t *pe, tern_msg_t *m)
{
    if (!(m->hdr.flags & CORE_HDR_FORWARDED)) {
        core_tree_forward(pe, m);
        m->hdr.flags |= CORE_HDR_FORWARDED;
    }
    core_coll_t *c = core_coll_get(pe, m->hdr.u.entry.cid, 1);
    if (!c->live) {
        coll_pend(pe, c, m);
        return;
    }
    if (!c->nlocal) {
        core_msg_release(&pe->pool, m);
        return;
    }
    m = keepable(pe, m);
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
            if (t && t->dtor)
                t->dtor(c->local[i]->state);
            c->local[i]->magic = 0;
            free(c->local[i]);
        }
        for (tern_msg_t *m = c->pend_head; m;) {
            tern_msg_t *next = m->next;
            core_msg_release(&pe->pool, m);
            m = next;
        }
        free(c->local);
        core_red_coll_free(pe, c);
        util_hashmap_fini(&c->elems);
        free(c);
    }
    util_hashmap_fini(&pe->colls);
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
                                 int kind, int ndims, const int32_t *dims,
                                 const tern_iov_t *args, int nargs, tern_proxy_t *out)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_CREATE_COLL, pe->my_pe);
    hdr.u.create.type = t->gid;
    hdr.u.create.cid = core_new_cid(pe);
    hdr.u.create.ckind = (uint8_t)kind;
    hdr.u.create.ndims = (uint8_t)ndims;
    memcpy(hdr.u.create.dims, dims, sizeof hdr.u.create.dims);
    tern_status_t st = core_send_iov(pe, pe->my_pe, &hdr, args, nargs);
    if (st != TERN_OK) {
        util_log_error("%s: %s", call, tern_strerror(st));
        return st;
    }
    proxy_init(out, hdr.u.create.cid, t->gid, kind);
    out->ndims = (uint8_t)ndims;
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
    return create_coll(pe, "tern_group_create", t, TERN_PROXY_GROUP, 1, dims, args, nargs, out);
}

tern_status_t tern_array_create(tern_type_t type, int ndims, const int32_t *dims,
                                const tern_iov_t *args, int nargs, tern_proxy_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_array_create");
    if (!pe)
        return TERN_ERR_STATE;
    const core_type_t *t;
    tern_status_t st = create_prepare(pe, "tern_array_create", type, args, nargs, &t);
    if (st != TERN_OK)
        return st;
    if (!out || !dims || ndims < 1 || ndims > TERN_MAX_DIMS) {
        util_log_error("tern_array_create: %s", !out ? "out is NULL" : !dims ? "dims is NULL"
                                                   : "ndims must be 1 to 6");
        return TERN_ERR_INVALID;
    }
    int32_t d[TERN_MAX_DIMS] = {0};
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    if (!core_index_total(ndims, d)) {
        util_log_error("tern_array_create: every dimension must be >= 1 and the array at "
                       "most %d elements", INT32_MAX);
        return TERN_ERR_INVALID;
    }
    return create_coll(pe, "tern_array_create", t, TERN_PROXY_ARRAY, ndims, d, args, nargs,
                       out);
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
            hdr.kind = CORE_K_BCAST;
            count = (uint64_t)pe->num_pes;
        } else if (p->kind == TERN_PROXY_ARRAY && (count = core_proxy_total(p))) {
            hdr.kind = CORE_K_BCAST;
        } else {
            util_log_error("tern_await_created: proxy %d is not a chare, group or array", i);
            return TERN_ERR_INVALID;
        }
        tern_future_t f;
        if ((st = core_future_new(pe, "tern_await_created", count, 1, CORE_FUT_AWAIT, NULL,
                                  &f)) != TERN_OK)
            return st;
        hdr.flags = CORE_HDR_WANT_DONE;
        hdr.reply_pe = f.pe;
        hdr.reply_id = f.id;
        st = core_send_iov(pe, dest, &hdr, NULL, 0);
        if (st == TERN_OK)
            st = tern_future_wait(&f);
        tern_future_free(&f);
    }
    return st;
}
