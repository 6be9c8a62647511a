/*
 * Moving and destroying elements.
 *
 * A move or a destruction asked for (tern_migrate, tern_self_destroy, a DESTROY message,
 * the load balancer) waits until none of the element's entry methods is running or
 * suspended, then happens from the scheduler (core_chares_settle): never under an entry
 * method's feet.
 *
 * A move packs the element: a fixed record (in the MIGRATE header: its counts of
 * reductions and broadcasts, its moves, where its contributions are counted), the state's
 * bytes, what the type's pup function writes, and contributions still waiting for a
 * census. The old PE then forgets the element, notes where it went (so it can forward
 * what still comes), runs the destructor and sends the package; the new PE rebuilds it,
 * tells the element's home and the old PE, and runs the type's `arrived` hook. Messages
 * forwarded by the old PE travel behind the package on the same route: they find the
 * element there.
 */
#include <stdlib.h>
#include <string.h>

#include "core/invoke.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"

struct tern_pup {
    int mode;
    unsigned char *buf;
    size_t len; /* SIZE: bytes counted; PACK, UNPACK: bytes of buf */
    size_t pos;
    const char *type;
};

int tern_pup_mode(const tern_pup_t *p) { return p ? p->mode : 0; }

void tern_pup_bytes(tern_pup_t *p, void *data, size_t len)
{
    if (!p || (len && !data))
        tern_abort("tern_pup_bytes: %s", !p ? "p is NULL" : "data is NULL");
    switch (p->mode) {
    case TERN_PUP_SIZE:
        p->len += len;
        return;
    case TERN_PUP_PACK:
        if (len > p->len - p->pos)
            tern_abort("tern_pup_bytes: the pup function of chare type '%s' packed more "
                       "bytes than it counted (%zu)", p->type, p->len);
        memcpy(p->buf + p->pos, data, len);
        p->pos += len;
        return;
    case TERN_PUP_UNPACK:
        if (len > p->len - p->pos)
            tern_abort("tern_pup_bytes: the pup function of chare type '%s' read more bytes "
                       "than were packed (%zu)", p->type, p->len);
        memcpy(data, p->buf + p->pos, len);
        p->pos += len;
        return;
    default:
        tern_abort("tern_pup_bytes: not called from a pup function");
    }
}

static const core_type_t *type_of(core_coll_t *c)
{
    const core_type_t *t = core_type_by_gid(c->type);
    if (!t)
        tern_abort("collection %#llx has unknown chare type id %u", (unsigned long long)c->cid,
                   c->type);
    return t;
}

/* ch wants settling (a move or destruction): on the list the scheduler goes through. */
void core_chare_want_settle(core_pe_t *pe, core_chare_t *ch)
{
    if (ch->queued)
        return;
    ch->queued = 1;
    ch->pending_next = pe->pending_chares;
    pe->pending_chares = ch;
}

void core_chare_follow(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m)
{
    if (!(m = core_msg_detach(&pe->pool, m)))
        tern_abort("out of memory keeping a message for an element about to move");
    m->next = NULL;
    if (ch->follow_tail)
        ch->follow_tail->next = m;
    else
        ch->follow = m;
    ch->follow_tail = m;
}

/* The messages that waited for ch to go, taken from it. */
static tern_msg_t *take_followers(core_chare_t *ch)
{
    tern_msg_t *m = ch->follow;
    ch->follow = ch->follow_tail = NULL;
    return m;
}

/* Dispatch them again, in order: they go after the element (forwarded, or failed if it was
 * destroyed), or to it if it stayed. */
static void release_followers(core_pe_t *pe, tern_msg_t *m)
{
    while (m) {
        tern_msg_t *next = m->next;
        m->next = NULL;
        core_dispatch(pe, m);
        m = next;
    }
}

void core_chare_drop(core_pe_t *pe, core_chare_t *ch)
{
    core_lb_chare_free(ch);
    core_chan_free(pe, ch);
    core_sec_chare_free(ch);
    core_abcast_drop(pe, ch);
    core_red_drop_held(ch);
    for (tern_msg_t *m = take_followers(ch); m;) {
        tern_msg_t *next = m->next;
        core_msg_release(&pe->pool, m);
        m = next;
    }
    ch->magic = 0;
    free(ch);
}

static void chare_free(core_pe_t *pe, core_chare_t *ch, const core_type_t *t)
{
    if (t->dtor)
        t->dtor(ch->state);
    core_chare_drop(pe, ch);
}

static void destroy(core_pe_t *pe, core_chare_t *ch)
{
    core_coll_t *c = ch->coll;
    const core_type_t *t = type_of(c);
    core_coll_remove_local(c, ch);
    if (ch->fresh)
        c->nfresh--;
    core_red_elem_gone(pe, ch);
    uint32_t epoch = ch->epoch + 1;
    pe->where_version++; /* section routes cached by it are stale */
    if (util_hashmap_put(&c->where, ch->lin, core_where_pack(CORE_WHERE_GONE, epoch)) != TERN_OK)
        tern_abort("out of memory recording a destroyed element");
    int home = core_coll_home(pe, c, ch->idx, ch->lin);
    if (home != pe->my_pe)
        core_loc_send(pe, c, ch->lin, ch->idx, home, CORE_WHERE_GONE, epoch, CORE_LOC_GONE);
    core_loc_release(pe, c, ch->lin); /* what waited here now fails */
    chare_free(pe, ch, t);
}

static void move_out(core_pe_t *pe, core_chare_t *ch, int dest)
{
    core_coll_t *c = ch->coll;
    const core_type_t *t = type_of(c);
    tern_pup_t p = {TERN_PUP_SIZE, NULL, 0, 0, t->name};
    if (t->pup)
        t->pup(ch->state, &p);
    /* After the state: the channels' ends (their length first), then what pup writes. */
    size_t chans = core_chan_pack(ch, NULL) + core_sec_pack(ch, NULL);
    size_t user = p.len, extra = 8 + chans + user;
    size_t held = core_red_pack_held(ch, NULL);
    size_t state = (t->state_size + 15) & ~(size_t)15;
    tern_msg_t *m = core_msg_alloc(&pe->pool, state + extra + held);
    if (!m)
        tern_abort("out of memory moving an element of chare type '%s'", t->name);
    memcpy(m->body, ch->state, t->state_size);
    memset(m->body + t->state_size, 0, state - t->state_size);
    uint64_t clen = chans;
    memcpy(m->body + state, &clen, 8);
    size_t cb = core_chan_pack(ch, m->body + state + 8);
    core_sec_pack(ch, m->body + state + 8 + cb);
    if (t->pup) {
        p = (tern_pup_t){TERN_PUP_PACK, m->body + state + 8 + chans, user, 0, t->name};
        t->pup(ch->state, &p);
        if (p.pos != user)
            tern_abort("the pup function of chare type '%s' packed %zu bytes after counting "
                       "%zu", t->name, p.pos, user);
    }
    core_red_pack_held(ch, m->body + state + extra);
    core_hdr_init(&m->hdr, CORE_K_MIGRATE, pe->my_pe);
    m->hdr.nsegs = 1;
    m->hdr.body_len = state + extra + held;
    m->hdr.ndims = c->ndims;
    memcpy(m->hdr.idx, ch->idx, sizeof m->hdr.idx);
    m->hdr.u.mig = (core_part_mig_t){.cid = c->cid, .red_seq = ch->red_seq,
                                     .bcast_seq = ch->bcast_seq, .type = c->type,
                                     .epoch = ch->epoch + 1, .red_pe = ch->red_pe,
                                     .red_ver = ch->red_ver,
                                     .flags = (ch->fresh ? CORE_MIG_FRESH : 0) |
                                              (ch->lbf & CORE_LBF_MOVING ? CORE_MIG_LB : 0) |
                                              (ch->lbf & CORE_LBF_SYNCED ? CORE_MIG_SYNCED
                                                                         : 0) |
                                              (uint32_t)ch->nheld_contribs << 8,
                                     .pup_len = (uint32_t)extra};
    if (extra > UINT32_MAX)
        tern_abort("the pup function of chare type '%s' packs %zu bytes (at most 4 GiB)",
                   t->name, extra);

    core_coll_remove_local(c, ch);
    if (ch->fresh)
        c->nfresh--;
    pe->where_version++; /* section routes cached by it are stale */
    if (util_hashmap_put(&c->where, ch->lin, core_where_pack(dest, ch->epoch + 1)) != TERN_OK)
        tern_abort("out of memory recording a move");
    pe->moves_out++;
    c->moves_out++;
    if (pe->stats)
        core_stats_count(pe, CORE_STAT_MOVE_OUT);
    if (pe->trace)
        core_trace_mark(pe, CORE_STAT_MOVE_OUT, (uint64_t)dest, 0, 0);
    if (ch->lbf & CORE_LBF_MOVING)
        core_lb_moved_out(pe, c, m->hdr.body_len);
    tern_status_t st = core_send_msg_remote(pe, dest, m);
    if (st != TERN_OK)
        tern_abort("moving an element of chare type '%s' to PE %d failed: %s", t->name, dest,
                   tern_strerror(st));
    if (c->pflags & TERN_PROXY_MOBILE)
        core_abcast_leave(pe, c, ch, dest); /* after the package: what it held follows */
    core_red_drop_held(ch); /* they went with it */
    chare_free(pe, ch, t);
}

int core_chares_settle(core_pe_t *pe)
{
    core_chare_t *list = pe->pending_chares;
    pe->pending_chares = NULL;
    int n = 0;
    while (list) {
        core_chare_t *ch = list;
        list = ch->pending_next;
        ch->queued = 0;
        if (ch->running)
            continue; /* inv_finish queues it again once the last one ends */
        if (ch->destroy) {
            tern_msg_t *f = take_followers(ch);
            destroy(pe, ch);
            release_followers(pe, f);
            n++;
        } else if (ch->move_to >= 0) {
            if (ch->coll->census_busy) {
                core_chare_want_settle(pe, ch); /* a census counts: moves wait */
                continue;
            }
            int dest = ch->move_to;
            ch->move_to = -1;
            tern_msg_t *f = take_followers(ch);
            if (dest != pe->my_pe) {
                move_out(pe, ch, dest);
                n++;
            } else {
                core_abcast_resume(pe, ch); /* what waited for the move that was not */
            }
            release_followers(pe, f);
        }
    }
    return n;
}

/* A move or destruction of ch asked for: when can it happen. */
static void settle_later(core_pe_t *pe, core_chare_t *ch)
{
    if (!ch->running)
        core_chare_want_settle(pe, ch);
    /* else inv_finish asks when the last entry method of ch ends */
}

tern_status_t core_chare_move(core_pe_t *pe, core_chare_t *ch, int dest)
{
    if (dest < 0 || dest >= pe->num_pes)
        return TERN_ERR_RANGE;
    if (ch->destroy)
        return TERN_ERR_STATE;
    ch->move_to = dest;
    settle_later(pe, ch);
    return TERN_OK;
}

static core_chare_t *mobile_self(core_pe_t *pe, const char *call, const void *self,
                                 tern_status_t *st)
{
    *st = TERN_ERR_INVALID;
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return NULL;
    if (ch->coll->kind != TERN_PROXY_ARRAY) {
        util_log_error("%s: only array elements %s (this is %s of chare type '%s')", call,
                       strcmp(call, "tern_migrate") == 0 ? "move" : "are destroyed",
                       ch->coll->kind == TERN_PROXY_GROUP ? "a group member" : "a single chare",
                       type_of(ch->coll)->name);
        return NULL;
    }
    if (pe->exiting) {
        *st = core_exiting(pe, call);
        return NULL;
    }
    *st = TERN_OK;
    return ch;
}

tern_status_t tern_migrate(const void *self, int dest)
{
    core_pe_t *pe = core_pe_checked("tern_migrate");
    if (!pe)
        return TERN_ERR_STATE;
    tern_status_t st;
    core_chare_t *ch = mobile_self(pe, "tern_migrate", self, &st);
    if (!ch)
        return st;
    const core_type_t *t = type_of(ch->coll);
    char buf[96];
    if (!t->migratable) {
        util_log_error("tern_migrate: element %s of array %#llx cannot move: chare type '%s' "
                       "is not migratable (see tern_type_migratable)",
                       core_loc_idx_str(ch->coll->ndims, ch->idx, buf, sizeof buf),
                       (unsigned long long)ch->coll->cid, t->name);
        return TERN_ERR_TYPE;
    }
    if (dest < 0 || dest >= pe->num_pes) {
        util_log_error("tern_migrate: PE %d is out of range (the job has %d PEs)", dest,
                       pe->num_pes);
        return TERN_ERR_RANGE;
    }
    if (ch->destroy || (ch->lbf & CORE_LBF_SYNCED)) {
        util_log_error("tern_migrate: element %s of array %#llx %s",
                       core_loc_idx_str(ch->coll->ndims, ch->idx, buf, sizeof buf),
                       (unsigned long long)ch->coll->cid,
                       ch->destroy ? "is being destroyed"
                                   : "waits for load balancing (tern_at_sync): the balancer "
                                     "places it");
        return TERN_ERR_STATE;
    }
    ch->lbf &= (uint8_t)~CORE_LBF_MOVING;
    return core_chare_move(pe, ch, dest);
}

void core_chare_move_lb(core_pe_t *pe, core_chare_t *ch, int dest)
{
    ch->lbf |= CORE_LBF_MOVING;
    if (core_chare_move(pe, ch, dest) != TERN_OK)
        tern_abort("internal: a load balancing move to PE %d was refused", dest);
}

tern_status_t tern_self_destroy(const void *self)
{
    core_pe_t *pe = core_pe_checked("tern_self_destroy");
    if (!pe)
        return TERN_ERR_STATE;
    tern_status_t st;
    core_chare_t *ch = mobile_self(pe, "tern_self_destroy", self, &st);
    if (!ch)
        return st;
    ch->destroy = 1;
    settle_later(pe, ch);
    return TERN_OK;
}

tern_status_t tern_elem_destroy(const tern_proxy_t *elem)
{
    core_pe_t *pe = core_pe_checked("tern_elem_destroy");
    if (!pe)
        return TERN_ERR_STATE;
    if (!elem || elem->kind != TERN_PROXY_ARRAY_ELEM) {
        util_log_error("tern_elem_destroy: %s", !elem ? "the proxy is NULL"
                                                      : "the proxy names no array element");
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, "tern_elem_destroy");
    uint64_t key;
    if (!core_loc_key("tern_elem_destroy", TERN_PROXY_ARRAY, elem->flags, elem->ndims,
                      elem->dims, elem->idx, &key))
        return TERN_ERR_RANGE;
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_DESTROY, pe->my_pe);
    hdr.u.entry.cid = elem->cid;
    hdr.ndims = elem->ndims;
    memcpy(hdr.idx, elem->idx, sizeof hdr.idx);
    return core_send_iov(pe, core_loc_dest(pe, elem, key), &hdr, NULL, 0);
}

void core_h_destroy(core_pe_t *pe, tern_msg_t *m)
{
    core_chare_t *ch = core_elem_msg_target(pe, m);
    if (!ch)
        return;
    core_msg_release(&pe->pool, m);
    ch->destroy = 1;
    settle_later(pe, ch);
}

void core_h_migrate(core_pe_t *pe, tern_msg_t *m)
{
    const core_part_mig_t *p = &m->hdr.u.mig;
    core_coll_t *c = core_coll_live(pe, p->cid, m);
    if (!c)
        return;
    const core_type_t *t = type_of(c);
    uint64_t key;
    char buf[96];
    size_t state = (t->state_size + 15) & ~(size_t)15;
    uint64_t extra = p->pup_len;
    if (p->type != c->type || m->hdr.ndims != c->ndims ||
        !core_loc_key(NULL, c->kind, c->pflags, c->ndims, c->dims, m->hdr.idx, &key) ||
        m->hdr.body_len < state || extra > m->hdr.body_len - state)
        tern_abort("malformed element package from PE %d", m->hdr.src_pe);
    if (util_hashmap_get(&c->elems, key))
        tern_abort("element %s of array %#llx arrived from PE %d, but it is here already",
                   core_loc_idx_str(c->ndims, m->hdr.idx, buf, sizeof buf),
                   (unsigned long long)c->cid, m->hdr.src_pe);
    core_chare_t *ch = core_chare_alloc(pe, c, t, key, m->hdr.idx);
    ch->red_seq = p->red_seq;
    ch->bcast_seq = p->bcast_seq;
    ch->epoch = p->epoch;
    ch->red_pe = p->red_pe;
    ch->red_ver = p->red_ver;
    ch->fresh = (p->flags & CORE_MIG_FRESH) != 0;
    uint32_t mflags = p->flags;
    if (mflags & CORE_MIG_SYNCED)
        ch->lbf |= CORE_LBF_SYNCED;
    memcpy(ch->state, m->body, t->state_size);
    uint64_t clen;
    size_t cb = 0;
    if (extra < 8 || (memcpy(&clen, m->body + state, 8), clen > extra - 8) ||
        (cb = core_chan_unpack(pe, ch, m->body + state + 8, clen)) > clen ||
        cb + core_sec_unpack(ch, m->body + state + 8 + cb, clen - cb) != clen)
        tern_abort("malformed element package from PE %d (its channels)", m->hdr.src_pe);
    uint64_t user = extra - 8 - clen;
    if (t->pup) {
        tern_pup_t pp = {TERN_PUP_UNPACK, m->body + state + 8 + clen, user, 0, t->name};
        t->pup(ch->state, &pp);
        if (pp.pos != user)
            tern_abort("the pup function of chare type '%s' read %zu of the %llu bytes it "
                       "packed", t->name, pp.pos, (unsigned long long)user);
    }
    core_red_unpack_held(ch, m->body + state + extra, m->hdr.body_len - state - extra,
                         p->flags >> 8);
    int from = m->hdr.src_pe;
    core_msg_release(&pe->pool, m);
    core_coll_add_local(c, ch);
    if (ch->fresh)
        c->nfresh++;
    pe->where_version++; /* section routes cached by it are stale */
    if (util_hashmap_put(&c->where, key, core_where_pack(pe->my_pe, ch->epoch)) != TERN_OK)
        tern_abort("out of memory recording an arrival");
    int home = core_coll_home(pe, c, ch->idx, key);
    if (home != pe->my_pe)
        core_loc_send(pe, c, key, ch->idx, home, pe->my_pe, ch->epoch, CORE_LOC_MOVED);
    /* The PE it left: it arrived, and how far the broadcasts here are. */
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_ARRIVED, pe->my_pe);
    hdr.u.loc = (core_part_loc_t){.cid = c->cid, .seq = c->bcast_done, .pe = pe->my_pe,
                                  .epoch = ch->epoch, .what = CORE_LOC_MOVED};
    hdr.ndims = c->ndims;
    memcpy(hdr.idx, ch->idx, sizeof hdr.idx);
    tern_status_t st = core_send_iov(pe, from, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("acknowledging a move to PE %d failed: %s", from, tern_strerror(st));
    core_loc_release(pe, c, key);
    if (t->arrived)
        t->arrived(ch->state);
    if (pe->stats)
        core_stats_count(pe, CORE_STAT_MOVE_IN);
    if (mflags & CORE_MIG_LB)
        core_lb_arrived(pe, c); /* may resume the step's elements here */
}

void core_h_arrived(core_pe_t *pe, tern_msg_t *m)
{
    const core_part_loc_t *p = &m->hdr.u.loc;
    core_coll_t *c = core_coll_get(pe, p->cid, 0);
    uint64_t key;
    if (!c || !c->live || m->hdr.ndims != c->ndims ||
        !core_loc_key(NULL, c->kind, c->pflags, c->ndims, c->dims, m->hdr.idx, &key))
        tern_abort("malformed arrival notice from PE %d", m->hdr.src_pe);
    pe->moves_out--;
    c->moves_out--;
    if (c->pflags & TERN_PROXY_MOBILE)
        core_abcast_arrived(pe, c, key, p->epoch, p->seq);
    core_msg_release(&pe->pool, m);
}
