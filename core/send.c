/*
 * The way out and in of messages: checking a send, routing it to its PE, handing it to
 * the transport (or queueing it locally), holding what the transport cannot take yet, and
 * turning what arrives into messages for the scheduler.
 */
#include <stdlib.h>
#include <string.h>

#include "core/flow.h"
#include "core/handler.h"
#include "core/index.h"
#include "core/invoke.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "core/wire.h"
#include "topology/tree.h"
#include "util/log.h"

#define WIRE_IOV_STACK 16

void core_enqueue(core_pe_t *pe, tern_msg_t *m)
{
    if (core_kind_counted(m->hdr.kind))
        pe->qd_recvd++;
    /* A broadcast goes on down its tree as soon as it is here, not when it is dispatched:
     * the PEs below need not wait for this one's queue. */
    if (m->hdr.kind == CORE_K_BCAST &&
        !(m->hdr.flags & (CORE_HDR_FORWARDED | CORE_HDR_NUMBER)) && !pe->exiting) {
        core_tree_forward(pe, m);
        m->hdr.flags |= CORE_HDR_FORWARDED;
    }
    if (core_sched_push(&pe->sched, m) != TERN_OK)
        tern_abort("out of memory queueing a message");
}

static tern_status_t route_fail(core_pe_t *pe, int dest, uint64_t total)
{
    if (!pe->route[dest]) {
        util_log_error("no transport reaches PE %d", dest);
        return TERN_ERR_UNREACHABLE;
    }
    util_log_error("a message of %llu bytes to PE %d exceeds the transport's limit of %zu "
                   "bytes (see TERN_SHM_HEAP_SIZE)",
                   (unsigned long long)total, dest, pe->route_max[dest]);
    return TERN_ERR_INVALID;
}

static inline tern_status_t route_check(core_pe_t *pe, int dest, uint64_t total)
{
    if (__builtin_expect(pe->route[dest] && (!pe->route_max[dest] ||
                                             total <= pe->route_max[dest]), 1))
        return TERN_OK;
    return route_fail(pe, dest, total);
}

/* May a message go to dest's transport now: nothing waits before it, and credits allow? */
static inline int send_now(const core_pe_t *pe, int dest, uint64_t total)
{
    return core_bl_empty(&pe->backlog[dest]) && core_fc_ok(pe, dest, total);
}

/* Hand buffers to dest's transport: TERN_OK, TERN_ERR_RETRY (nothing sent), or an error,
 * logged. */
static tern_status_t tp_send(core_pe_t *pe, int dest, const tern_iov_t *iov, int n,
                             uint64_t total)
{
    tp_t *tp = pe->route[dest];
    /* The timeline's send time is taken before the send: the receiver may run the message
     * before this PE gets past the call. */
    double t_sent = __builtin_expect(pe->trace != NULL, 0) ? core_trace_now(pe) : 0;
    tern_status_t st = tp->ops->send(tp, dest, iov, n, total, NULL);
    if (st == TERN_OK) {
        core_fc_sent(pe, dest, total);
        if (__builtin_expect(pe->stats != NULL, 0))
            core_stats_sent(pe, dest, total);
        if (__builtin_expect(pe->trace != NULL, 0))
            core_trace_sent_at(pe, dest, total, t_sent);
    }
    else if (st != TERN_ERR_RETRY)
        util_log_error("sending %llu bytes to PE %d failed: %s", (unsigned long long)total,
                       dest, tern_strerror(st));
    return st;
}

/* dest's backlog just got a message: note it if it was the first. */
static void backlog_opened(core_pe_t *pe, int dest)
{
    if (pe->backlog[dest].nmsgs == 1)
        pe->bl_dests[pe->nbacklog++] = dest;
}

/* Send header + body (contiguous in memory or not) to dest; when it cannot go now keep a
 * copy in the backlog, or `own` itself when given (it is taken over in any case). */
static tern_status_t send_body(core_pe_t *pe, int dest, const core_hdr_t *hdr,
                               const unsigned char *body, tern_msg_t *own)
{
    _Alignas(CORE_ALIGN) unsigned char wire[CORE_WIRE_MAX];
    size_t wire_len = core_hdr_encode(hdr, wire);
    uint64_t total = wire_len + hdr->body_len;
    /* Quiescence detection counts what has gone, or is sure to: not a failed send. */
    int counted = core_kind_counted(hdr->kind);
    tern_status_t st = route_check(pe, dest, total);
    if (st != TERN_OK)
        goto err;
    if (send_now(pe, dest, total)) {
        tern_iov_t iov[2] = {{wire, wire_len}, {body, hdr->body_len}};
        st = tp_send(pe, dest, iov, hdr->body_len ? 2 : 1, total);
        if (st == TERN_OK) {
            pe->qd_sent += (uint64_t)counted;
            if (own)
                core_msg_release(&pe->pool, own);
            return TERN_OK;
        }
        if (st != TERN_ERR_RETRY)
            goto err;
        pe->bl_tp_blocked = 1;
    }
    tern_iov_t raw = {body, hdr->body_len};
    st = own ? core_bl_push_msg(&pe->backlog[dest], &pe->pool, wire, wire_len, own)
             : core_bl_push(&pe->backlog[dest], &pe->pool, wire, wire_len, &raw,
                            hdr->body_len ? 1 : 0, hdr->body_len);
    if (st == TERN_OK) {
        pe->qd_sent += (uint64_t)counted;
        backlog_opened(pe, dest);
    }
    return st;
err:
    if (own)
        core_msg_release(&pe->pool, own);
    return st;
}

tern_status_t core_send_msg_remote(core_pe_t *pe, int dest, tern_msg_t *m)
{
    return send_body(pe, dest, &m->hdr, m->body, m);
}

tern_status_t core_send_iov(core_pe_t *pe, int dest, core_hdr_t *hdr, const tern_iov_t *iov,
                            int niov)
{
    hdr->nsegs = (uint16_t)niov;
    hdr->body_len = niov == 1 ? iov[0].len : core_body_len(iov, niov);
    if (dest == pe->my_pe) {
        tern_msg_t *m = core_msg_alloc(&pe->pool, hdr->body_len);
        if (!m)
            return TERN_ERR_NOMEM;
        if (core_kind_counted(hdr->kind))
            pe->qd_sent++;
        m->hdr = *hdr;
        core_body_fill(m->body, iov, niov);
        if (__builtin_expect(pe->trace != NULL, 0))
            m->flow = core_trace_sent(pe, dest, hdr->body_len, 1);
        core_enqueue(pe, m);
        if (__builtin_expect(pe->stats != NULL, 0))
            core_stats_sent(pe, dest, hdr->body_len);
        return TERN_OK;
    }
    _Alignas(CORE_ALIGN) unsigned char wire[CORE_WIRE_MAX];
    size_t wire_len = core_hdr_encode(hdr, wire);
    uint64_t total = wire_len + hdr->body_len;
    int counted = core_kind_counted(hdr->kind);
    tern_status_t st = route_check(pe, dest, total);
    if (st != TERN_OK)
        return st;
    if (send_now(pe, dest, total)) {
        if (niov <= 1) {
            /* The common case: header and at most one buffer, no length table. */
            tern_iov_t w[2] = {{wire, wire_len}, {niov ? iov[0].base : NULL, hdr->body_len}};
            st = tp_send(pe, dest, w, hdr->body_len ? 2 : 1, total);
        } else {
            tern_iov_t wstack[2 * WIRE_IOV_STACK + 2];
            uint64_t tstack[WIRE_IOV_STACK + 2];
            tern_iov_t *w = wstack;
            uint64_t *table = tstack;
            if (niov > WIRE_IOV_STACK) {
                w = malloc((2 * (size_t)niov + 2) * sizeof *w);
                table = malloc((size_t)niov * 8 + 16);
                if (!w || !table) {
                    free(w);
                    free(table);
                    return TERN_ERR_NOMEM;
                }
            }
            int n = core_wire_iov(wire, wire_len, iov, niov, table, w);
            st = tp_send(pe, dest, w, n, total);
            if (w != wstack) {
                free(w);
                free(table);
            }
        }
        if (st == TERN_OK)
            pe->qd_sent += (uint64_t)counted;
        if (st != TERN_ERR_RETRY)
            return st;
        pe->bl_tp_blocked = 1;
    }
    st = core_bl_push(&pe->backlog[dest], &pe->pool, wire, wire_len, iov, niov, hdr->body_len);
    if (st == TERN_OK) {
        pe->qd_sent += (uint64_t)counted;
        backlog_opened(pe, dest);
    }
    return st;
}

void core_backlog_progress(core_pe_t *pe)
{
    if (pe->fc && pe->fc->nowed)
        core_fc_progress(pe);
    pe->bl_tp_blocked = 0;
    for (int i = 0; i < pe->nbacklog;) {
        int dest = pe->bl_dests[i];
        core_backlog_t *b = &pe->backlog[dest];
        tern_iov_t iov[2];
        size_t total;
        int n;
        while ((n = core_bl_front(b, iov, &total)) && core_fc_ok(pe, dest, total)) {
            tern_status_t st = tp_send(pe, dest, iov, n, total);
            if (st == TERN_ERR_RETRY) {
                pe->bl_tp_blocked = 1;
                break;
            }
            if (st != TERN_OK)
                tern_abort("sending a queued message to PE %d failed: %s", dest,
                           tern_strerror(st));
            core_bl_pop(b, &pe->pool);
        }
        if (core_bl_empty(b))
            pe->bl_dests[i] = pe->bl_dests[--pe->nbacklog];
        else
            i++;
    }
}

void core_backlog_drop(core_pe_t *pe)
{
    for (int i = 0; i < pe->nbacklog; i++)
        core_bl_clear(&pe->backlog[pe->bl_dests[i]], &pe->pool);
    pe->nbacklog = 0;
}

void core_tree_forward(core_pe_t *pe, tern_msg_t *m)
{
    int kids[TOPO_TREE_MAX_KIDS(64)];
    int root = m->hdr.kind == CORE_K_BCAST ? m->hdr.u.bcast.root : m->hdr.src_pe;
    int n = topo_tree_children(&pe->all, root, pe->fanout, pe->my_pe, kids);
    for (int i = 0; i < n; i++) {
        tern_status_t st = send_body(pe, kids[i], &m->hdr, m->body, NULL);
        if (st != TERN_OK)
            tern_abort("forwarding a broadcast to PE %d failed: %s", kids[i],
                       tern_strerror(st));
    }
}

/*
 * The fast way in: a plain entry method for a chare that is here, while nothing waits
 * before it and no entry method runs (so no chare can see another method of its own
 * begin before the first ended), is run at once on the transport's buffer - no copy, no
 * trip through the queue. Only when the scheduler polls: a transport polled from inside
 * a handler (a send that waits for room) must not run a later message before the one
 * being handled. Anything else (a priority, a coroutine method, an element not
 * here, a collection not built) takes the queue's way. Returns non-zero when it ran it.
 */
static int direct_dispatch(core_pe_t *pe, tern_msg_t *m, const unsigned char *body,
                           tp_rx_ref_t *ref)
{
    const core_hdr_t *hdr = &m->hdr;
    if (!pe->direct_ok || hdr->prio || pe->exiting || core_sched_count(&pe->sched) ||
        pe->inv_plain ||
        core_ult_current(&pe->ults) || core_ult_any_ready(&pe->ults) || pe->pending_chares)
        return 0;
    core_chare_t *ch = core_entry_target(pe, hdr);
    const core_ep_t *e = ch ? core_ep_by_gid(hdr->u.entry.ep) : NULL;
    if (!e || (e->flags & TERN_EP_COROUTINE) || e->type_gid != ch->coll->type ||
        core_chare_leaving(ch))
        return 0;
    m->next = NULL;
    m->rx_ref = NULL;
    m->body = (unsigned char *)body;
    m->pool_class = CORE_POOL_BORROWED;
    m->user_alloc = m->taken_in = 0;
    m->refs = 1;
    m->nmembers = 0;
    pe->qd_recvd++;
    core_invoke(pe, ch, m);
    if (ref)
        ref->release(ref);
    return 1;
}

void core_deliver(void *arg, int src_pe, void *buf, size_t len, tp_rx_ref_t *ref)
{
    core_pe_t *pe = arg;
    tern_msg_t local; /* the header's home; the message's too when it runs at once */
    core_hdr_t *const h = &local.hdr;
    local.flow = __builtin_expect(pe->trace != NULL, 0) ? core_trace_received(pe, src_pe) : 0;
    size_t wire_len = core_hdr_decode(h, buf, len);
    const unsigned char *body = (const unsigned char *)buf + wire_len;
    if (!wire_len || (h->nsegs > 1 && !core_body_valid(h, body)) ||
        (h->nsegs == 0 && h->body_len))
        tern_abort("malformed message of %zu bytes from PE %d", len, src_pe);
    if (h->kind == CORE_K_CREDIT) { /* handled at once: a backlog may wait for it */
        core_fc_credit(pe, src_pe, h);
        if (ref)
            ref->release(ref);
        return;
    }
    if (pe->fc && pe->fc->on[src_pe])
        core_fc_took(pe, src_pe, len);
    if (__builtin_expect(pe->stats != NULL, 0))
        core_stats_received(pe, len);
    if (h->kind == CORE_K_ENTRY && direct_dispatch(pe, &local, body, ref))
        return;
    tern_msg_t *m;
    if (ref) {
        m = core_msg_wrap(&pe->pool, (unsigned char *)buf + wire_len, ref);
        if (!m)
            tern_abort("out of memory receiving a message from PE %d", src_pe);
    } else {
        m = core_msg_alloc(&pe->pool, h->body_len);
        if (!m)
            tern_abort("out of memory receiving a message from PE %d", src_pe);
        if (h->body_len)
            memcpy(m->body, body, h->body_len);
    }
    m->hdr = *h;
    m->flow = local.flow;
    m->taken_in = 1;
    pe->rx_queued++;
    core_enqueue(pe, m);
}

/* ---- the public send calls ---- */

uint64_t core_proxy_total(const tern_proxy_t *p)
{
    if (p->flags & (TERN_PROXY_SPARSE | TERN_PROXY_INSERTED))
        return 0;
    return p->ndims >= 1 && p->ndims <= TERN_MAX_DIMS ? core_index_total(p->ndims, p->dims) : 0;
}

void core_bcast_hdr(core_pe_t *pe, const tern_proxy_t *to, core_hdr_t *hdr, int *dest)
{
    hdr->kind = CORE_K_BCAST;
    hdr->u.bcast.root = pe->my_pe;
    hdr->u.bcast.seq = 0;
    *dest = pe->my_pe;
    if (to->kind == TERN_PROXY_ARRAY && (to->flags & TERN_PROXY_MOBILE)) {
        /* Numbered by the array's root, the PE that created it, which starts the tree. */
        hdr->flags |= CORE_HDR_NUMBER;
        *dest = (int)(to->cid >> 40);
    }
}

/* Check `to` and `ep` for `call`; fill the header's addressing and return the PE the
 * message goes to first (mine for a broadcast, which starts its tree here). */
static tern_status_t send_prepare(core_pe_t *pe, const char *call, const tern_proxy_t *to,
                                  const core_ep_t *e, tern_ep_t ep,
                                  const tern_send_opts_t *opts, core_hdr_t *hdr, int *dest)
{
    if (!to) {
        util_log_error("%s: the proxy is NULL", call);
        return TERN_ERR_INVALID;
    }
    if (!e) {
        util_log_error("%s: %u is not a registered entry method", call, ep);
        return TERN_ERR_INVALID;
    }
    if (__builtin_expect(e->type_gid != to->type, 0)) {
        const core_type_t *pt = core_type_by_gid(to->type);
        if (!pt) {
            util_log_error("%s: the proxy names no registered chare type (type id %u)", call,
                           to->type);
            return TERN_ERR_INVALID;
        }
        util_log_error("%s: entry method '%s.%s' is not a method of chare type '%s'", call,
                       core_type_local(e->type)->name, e->name, pt->name);
        return TERN_ERR_TYPE;
    }
    core_hdr_init(hdr, 0, pe->my_pe); /* the kind depends on the proxy, below */
    hdr->prio = opts ? opts->priority : 0;
    hdr->u.entry.ep = e->gid;
    hdr->u.entry.cid = to->cid;
    switch (to->kind) {
    case TERN_PROXY_CHARE:
        if (to->pe < 0 || to->pe >= pe->num_pes) {
            util_log_error("%s: the chare's PE %d is out of range (the job has %d PEs)", call,
                           to->pe, pe->num_pes);
            return TERN_ERR_RANGE;
        }
        hdr->kind = CORE_K_ENTRY;
        *dest = to->pe;
        return TERN_OK;
    case TERN_PROXY_GROUP_ELEM:
        if (to->idx[0] < 0 || to->idx[0] >= pe->num_pes) {
            util_log_error("%s: group member %d is out of range (the job has %d PEs)", call,
                           to->idx[0], pe->num_pes);
            return TERN_ERR_RANGE;
        }
        hdr->kind = CORE_K_ENTRY;
        hdr->ndims = 1;
        hdr->idx[0] = to->idx[0];
        *dest = to->idx[0];
        return TERN_OK;
    case TERN_PROXY_ARRAY_ELEM: {
        uint64_t key;
        if (to->ndims < 1 || to->ndims > TERN_MAX_DIMS ||
            (!(to->flags & TERN_PROXY_SPARSE) && !core_index_total(to->ndims, to->dims))) {
            util_log_error("%s: the array proxy is malformed (%d dimensions)", call,
                           to->ndims);
            return TERN_ERR_INVALID;
        }
        if (!core_loc_key(call, TERN_PROXY_ARRAY, to->flags, to->ndims, to->dims, to->idx,
                          &key))
            return TERN_ERR_RANGE;
        hdr->kind = CORE_K_ENTRY;
        hdr->ndims = to->ndims;
        memcpy(hdr->idx, to->idx, sizeof hdr->idx);
        *dest = core_loc_dest(pe, to, key);
        return TERN_OK;
    }
    case TERN_PROXY_GROUP:
    case TERN_PROXY_ARRAY:
        core_bcast_hdr(pe, to, hdr, dest);
        if (pe->stats)
            core_stats_count(pe, CORE_STAT_BCAST);
        return TERN_OK;
    case TERN_PROXY_SECTION:
        if (to->pe < 0 || to->pe >= pe->num_pes) {
            util_log_error("%s: the section proxy is malformed (root PE %d)", call, to->pe);
            return TERN_ERR_INVALID;
        }
        core_section_hdr(to, hdr, dest);
        if (pe->stats)
            core_stats_count(pe, CORE_STAT_BCAST);
        return TERN_OK;
    default:
        util_log_error("%s: the proxy is malformed (kind %d)", call, to->kind);
        return TERN_ERR_INVALID;
    }
}

tern_status_t core_iov_check(const char *call, const char *what, const tern_iov_t *iov,
                             int niov)
{
    /* The common case first: one buffer, or none. */
    if (niov == 0 || (niov == 1 && iov && (iov[0].base || !iov[0].len) &&
                      iov[0].len <= CORE_MAX_BODY))
        return TERN_OK;
    if (niov < 0 || niov > TERN_MAX_IOV || (niov > 0 && !iov)) {
        util_log_error("%s: %d buffers for the %s%s (0 to %d allowed)", call, niov, what,
                       niov > 0 && !iov ? " at NULL" : "", TERN_MAX_IOV);
        return TERN_ERR_INVALID;
    }
    /* The body's size, bounded at every step so that it cannot wrap around. */
    uint64_t total = niov > 1 ? CORE_ALIGN_UP(8ULL * (uint64_t)niov) : 0;
    for (int i = 0; i < niov; i++) {
        if (iov[i].len && !iov[i].base) {
            util_log_error("%s: buffer %d of the %s is NULL with length %zu", call, i, what,
                           iov[i].len);
            return TERN_ERR_INVALID;
        }
        if (iov[i].len > CORE_MAX_BODY - total ||
            (niov > 1 && CORE_ALIGN_UP(iov[i].len) > CORE_MAX_BODY - total)) {
            util_log_error("%s: the buffers of the %s add up to more than %llu bytes (buffer "
                           "%d has %zu)", call, what, (unsigned long long)CORE_MAX_BODY, i,
                           iov[i].len);
            return TERN_ERR_INVALID;
        }
        total += niov > 1 ? CORE_ALIGN_UP(iov[i].len) : iov[i].len;
    }
    return TERN_OK;
}

tern_status_t core_send_check(core_pe_t *pe, const char *call, const tern_proxy_t *to,
                              const core_ep_t *e, tern_ep_t ep, const tern_iov_t *iov, int niov,
                              const tern_send_opts_t *opts, core_hdr_t *hdr, int *dest)
{
    tern_status_t st = core_iov_check(call, "payload", iov, niov);
    if (st != TERN_OK)
        return st;
    if (pe->exiting)
        return core_exiting(pe, call);
    st = send_prepare(pe, call, to, e, ep, opts, hdr, dest);
    if (st == TERN_OK && __builtin_expect(to->flags & TERN_PROXY_BALANCED, 0) &&
        to->kind == TERN_PROXY_ARRAY_ELEM && pe->lb_strategy) {
        size_t bytes = 0;
        for (int i = 0; i < niov; i++)
            bytes += iov[i].len;
        uint64_t key;
        if (core_loc_key(NULL, TERN_PROXY_ARRAY, to->flags, to->ndims, to->dims, to->idx, &key))
            core_lb_note_send(pe, to->cid, key, bytes);
    }
    return st;
}

tern_status_t tern_send(const tern_proxy_t *to, tern_ep_t ep, const tern_iov_t *iov, int niov,
                        const tern_send_opts_t *opts)
{
    core_pe_t *pe = core_pe_checked("tern_send");
    if (!pe)
        return TERN_ERR_STATE;
    core_hdr_t hdr;
    int dest;
    tern_status_t st = core_send_check(pe, "tern_send", to, core_ep_local(ep), ep, iov, niov,
                                       opts, &hdr, &dest);
    if (st != TERN_OK)
        return st;
    return core_send_iov(pe, dest, &hdr, iov, niov);
}

tern_status_t tern_send_buf(const tern_proxy_t *to, tern_ep_t ep, const void *data, size_t len)
{
    core_pe_t *pe = core_pe_checked("tern_send_buf");
    if (!pe)
        return TERN_ERR_STATE;
    tern_iov_t iov = {data, len};
    core_hdr_t hdr;
    int dest;
    tern_status_t st = core_send_check(pe, "tern_send_buf", to, core_ep_local(ep), ep, &iov,
                                       len ? 1 : 0, NULL, &hdr, &dest);
    return st == TERN_OK ? core_send_iov(pe, dest, &hdr, &iov, len ? 1 : 0) : st;
}

/* tern_send of one buffer to element idx of coll's collection, for `call`. */
static tern_status_t send_elem(const char *call, const tern_proxy_t *coll, const int32_t *idx,
                               tern_ep_t ep, const void *data, size_t len)
{
    core_pe_t *pe = core_pe_checked(call);
    if (!pe)
        return TERN_ERR_STATE;
    tern_proxy_t to;
    tern_status_t st = core_proxy_elem(call, coll, idx, &to);
    if (st != TERN_OK)
        return st;
    tern_iov_t iov = {data, len};
    core_hdr_t hdr;
    int dest;
    st = core_send_check(pe, call, &to, core_ep_local(ep), ep, &iov, len ? 1 : 0, NULL, &hdr,
                         &dest);
    return st == TERN_OK ? core_send_iov(pe, dest, &hdr, &iov, len ? 1 : 0) : st;
}

tern_status_t tern_send_elem(const tern_proxy_t *coll, const int32_t *idx, tern_ep_t ep,
                             const void *data, size_t len)
{
    return send_elem("tern_send_elem", coll, idx, ep, data, len);
}

tern_status_t tern_self_send(const void *self, const int32_t *idx, tern_ep_t ep,
                             const void *data, size_t len)
{
    if (!core_chare_of("tern_self_send", self))
        return TERN_ERR_INVALID;
    tern_proxy_t me = tern_self_proxy(self);
    return send_elem("tern_self_send", &me, idx, ep, data, len);
}

tern_msg_t *tern_msg_alloc(size_t size)
{
    core_pe_t *pe = core_pe_checked("tern_msg_alloc");
    if (!pe)
        return NULL;
    tern_msg_t *m = core_msg_alloc(&pe->pool, size);
    if (!m) {
        util_log_error("tern_msg_alloc: out of memory for %zu bytes", size);
        return NULL;
    }
    memset(&m->hdr, 0, sizeof m->hdr);
    m->hdr.nsegs = 1;
    m->hdr.body_len = size;
    m->user_alloc = 1;
    return m;
}

void *tern_msg_buf(tern_msg_t *msg) { return msg ? msg->body : NULL; }

void tern_msg_free(tern_msg_t *msg)
{
    core_pe_t *pe = core_pe_current();
    if (!msg || !pe)
        return;
    if (!msg->user_alloc)
        tern_abort("tern_msg_free: the message was not made by tern_msg_alloc or was sent");
    core_msg_release(&pe->pool, msg);
}

tern_status_t tern_send_msg(const tern_proxy_t *to, tern_ep_t ep, tern_msg_t *msg,
                            const tern_send_opts_t *opts)
{
    core_pe_t *pe = core_pe_checked("tern_send_msg");
    if (!pe)
        return TERN_ERR_STATE;
    if (!msg || !msg->user_alloc) {
        util_log_error("tern_send_msg: %s", !msg ? "the message is NULL"
                                                 : "the message was not made by "
                                                   "tern_msg_alloc or was already sent");
        return TERN_ERR_INVALID;
    }
    core_hdr_t hdr;
    int dest;
    tern_status_t st = pe->exiting ? core_exiting(pe, "tern_send_msg")
                                   : send_prepare(pe, "tern_send_msg", to, core_ep_local(ep),
                                                  ep, opts, &hdr, &dest);
    if (st != TERN_OK) {
        core_msg_release(&pe->pool, msg);
        return st;
    }
    hdr.nsegs = 1;
    hdr.body_len = msg->hdr.body_len;
    msg->hdr = hdr;
    msg->user_alloc = 0;
    if (dest == pe->my_pe) {
        pe->qd_sent++;
        core_enqueue(pe, msg);
        return TERN_OK;
    }
    return core_send_msg_remote(pe, dest, msg);
}

/* ---- reading a payload ---- */

const void *core_msg_seg(const tern_msg_t *m, int i, size_t *size)
{
    int n = m->hdr.nsegs;
    if (i < 0 || i >= n) {
        if (size)
            *size = 0;
        return NULL;
    }
    if (n == 1) {
        if (size)
            *size = m->hdr.body_len;
        return m->body;
    }
    const uint64_t *table = (const uint64_t *)m->body;
    uint64_t off = CORE_ALIGN_UP(8ULL * (uint64_t)n);
    for (int j = 0; j < i; j++)
        off += CORE_ALIGN_UP(table[j]);
    if (size)
        *size = table[i];
    return m->body + off;
}

int tern_msg_nsegs(const tern_msg_t *msg) { return msg->hdr.nsegs; }

const void *tern_msg_seg(const tern_msg_t *msg, int i, size_t *size)
{
    return core_msg_seg(msg, i, size);
}

const void *tern_msg_data(const tern_msg_t *msg)
{
    return msg->hdr.nsegs == 1 ? msg->body : core_msg_seg(msg, 0, NULL);
}

size_t tern_msg_size(const tern_msg_t *msg)
{
    if (msg->hdr.nsegs == 1)
        return msg->hdr.body_len;
    size_t s;
    core_msg_seg(msg, 0, &s);
    return s;
}

int tern_msg_src_pe(const tern_msg_t *msg) { return msg->hdr.src_pe; }
