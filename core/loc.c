/* The location layer (see core/loc.h). */
#include "core/loc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/index.h"
#include "core/registry.h"
#include "util/log.h"

/* Messages held at an element's home until it exists. */
typedef struct core_held {
    tern_msg_t *head, *tail;
} core_held_t;

const char *core_loc_idx_str(int ndims, const int32_t *idx, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < ndims && n < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%d", i ? ", " : "(", idx[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    if (n < cap)
        snprintf(buf + n, cap - n, ")");
    return buf;
}

static const char *type_name(uint32_t gid)
{
    const core_type_t *t = core_type_by_gid(gid);
    return t ? t->name : "?";
}

int core_loc_key(const char *call, int kind, unsigned pflags, int ndims, const int32_t *dims,
                 const int32_t *idx, uint64_t *key)
{
    char buf[96];
    if (kind == TERN_PROXY_CHARE) {
        *key = 0;
        return 1;
    }
    if (kind == TERN_PROXY_GROUP) {
        if (idx[0] < 0)
            return 0;
        *key = (uint64_t)idx[0];
        return 1;
    }
    if (pflags & TERN_PROXY_SPARSE) {
        if (core_sparse_key(ndims, idx, key))
            return 1;
        if (call) {
            int b = core_sparse_bits(ndims);
            util_log_error("%s: index %s of a %d-D sparse array: coordinates must lie in "
                           "[%lld, %lld)", call, core_loc_idx_str(ndims, idx, buf, sizeof buf),
                           ndims, -(1LL << (b - 1)), 1LL << (b - 1));
        }
        return 0;
    }
    if (!core_index_in_range(ndims, dims, idx)) {
        if (call) {
            char d[96];
            util_log_error("%s: index %s is outside the array's bounds %s", call,
                           core_loc_idx_str(ndims, idx, buf, sizeof buf),
                           core_loc_idx_str(ndims, dims, d, sizeof d));
        }
        return 0;
    }
    *key = core_index_linear(ndims, dims, idx);
    return 1;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

tern_status_t core_loc_map_check(const char *call, uint32_t map, unsigned pflags)
{
    if (map == TERN_MAP_DEFAULT || map == TERN_MAP_ROUND_ROBIN || map == TERN_MAP_HASH)
        return TERN_OK;
    if (map == TERN_MAP_BLOCK) {
        if (!(pflags & TERN_PROXY_SPARSE))
            return TERN_OK;
        util_log_error("%s: TERN_MAP_BLOCK needs an array with bounds (this one is sparse)",
                       call);
        return TERN_ERR_INVALID;
    }
    if (core_map_by_gid(map))
        return TERN_OK;
    util_log_error("%s: %#x is not a placement map (a TERN_MAP_* or one from "
                   "tern_map_register)", call, map);
    return TERN_ERR_INVALID;
}

int core_loc_home(core_pe_t *pe, uint32_t map, unsigned pflags, int ndims, const int32_t *dims,
                  const int32_t *idx, uint64_t key)
{
    int n = pe->num_pes;
    if (map == TERN_MAP_DEFAULT)
        map = pflags & TERN_PROXY_SPARSE ? TERN_MAP_HASH : TERN_MAP_BLOCK;
    switch (map) {
    case TERN_MAP_BLOCK:
        return core_block_pe(core_index_total(ndims, dims), n, key);
    case TERN_MAP_ROUND_ROBIN:
        return (int)(key % (uint64_t)n);
    case TERN_MAP_HASH:
        return (int)(mix64(key) % (uint64_t)n);
    default: {
        const core_map_t *m = core_map_by_gid(map);
        char buf[96];
        if (!m)
            tern_abort("an array uses placement map id %#x, which is not registered on PE "
                       "%d", map, pe->my_pe);
        int p = m->fn ? m->fn(idx, ndims, dims, n) : m->fn_data(idx, ndims, dims, n, m->data);
        if (p < 0 || p >= n)
            tern_abort("placement map '%s' put element %s on PE %d (the job has %d PEs)",
                       m->name, core_loc_idx_str(ndims, idx, buf, sizeof buf), p, n);
        return p;
    }
    }
}

int core_loc_dest(core_pe_t *pe, const tern_proxy_t *to, uint64_t key)
{
    core_coll_t *c = core_coll_get(pe, to->cid, 0);
    if (c && util_hashmap_count(&c->where)) {
        void *v = util_hashmap_get(&c->where, key);
        if (v && core_where_pe(v) >= 0)
            return core_where_pe(v);
    }
    return core_loc_home(pe, to->map, to->flags, to->ndims, to->dims, to->idx, key);
}

static void forward(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, int to)
{
    if (m->hdr.hops == UINT8_MAX) {
        char buf[96];
        tern_abort("a message for element %s of array %#llx (type '%s') was forwarded %d "
                   "times without reaching it", core_loc_idx_str(c->ndims, m->hdr.idx, buf,
                                                                  sizeof buf),
                   (unsigned long long)c->cid, type_name(c->type), UINT8_MAX);
    }
    m->hdr.hops++;
    tern_status_t st = core_send_msg_remote(pe, to, m);
    if (st != TERN_OK)
        tern_abort("forwarding a message to PE %d failed: %s", to, tern_strerror(st));
}

/* Keep m at the element's home until the element exists. It may wait long: it must not
 * pin a peer's shared heap. */
static void hold(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, uint64_t key)
{
    m = core_msg_detach(&pe->pool, m);
    if (!m)
        tern_abort("out of memory holding a message for an element of array %#llx",
                   (unsigned long long)c->cid);
    core_held_t *h = util_hashmap_get(&c->held, key);
    if (!h) {
        if (!(h = calloc(1, sizeof *h)) || util_hashmap_put(&c->held, key, h) != TERN_OK)
            tern_abort("out of memory holding a message for an element of array %#llx",
                       (unsigned long long)c->cid);
    }
    m->next = NULL;
    if (h->tail)
        h->tail->next = m;
    else
        h->head = m;
    h->tail = m;
    c->nheld++;
}

void core_loc_miss(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, uint64_t key)
{
    void *v = util_hashmap_get(&c->where, key);
    if (v) {
        int at = core_where_pe(v);
        if (at == CORE_WHERE_GONE) {
            core_loc_fail(pe, c, m, key, "was destroyed");
            return;
        }
        if (at != pe->my_pe) {
            forward(pe, c, m, at);
            return;
        }
    }
    int home = core_coll_home(pe, c, m->hdr.idx, key);
    if (home != pe->my_pe)
        forward(pe, c, m, home);
    else if (c->ins_closed)
        core_loc_fail(pe, c, m, key, "was never inserted");
    else
        hold(pe, c, m, key);
}

void core_loc_send(core_pe_t *pe, core_coll_t *c, uint64_t key, const int32_t *idx, int dest,
                   int at, uint32_t epoch, int what)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_LOC, pe->my_pe);
    hdr.u.loc = (core_part_loc_t){.cid = c->cid, .pe = at, .epoch = epoch, .what = (uint32_t)what};
    hdr.ndims = c->ndims;
    memcpy(hdr.idx, idx, sizeof hdr.idx);
    (void)key;
    tern_status_t st = core_send_iov(pe, dest, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("telling PE %d where an element is failed: %s", dest, tern_strerror(st));
}

void core_loc_tell(core_pe_t *pe, core_chare_t *ch, int src)
{
    if (src != pe->my_pe && src >= 0 && src < pe->num_pes)
        core_loc_send(pe, ch->coll, ch->lin, ch->idx, src, pe->my_pe, ch->epoch,
                      CORE_LOC_MOVED);
}

void core_loc_release(core_pe_t *pe, core_coll_t *c, uint64_t key)
{
    core_held_t *h = util_hashmap_del(&c->held, key);
    if (!h)
        return;
    /* Back to the queue (not counted again: they were when they came), in their order. */
    for (tern_msg_t *m = h->head, *next; m; m = next) {
        next = m->next;
        c->nheld--;
        if (core_sched_push(&pe->sched, m) != TERN_OK)
            tern_abort("out of memory queueing a message");
    }
    free(h);
}

void core_loc_learn(core_pe_t *pe, core_coll_t *c, uint64_t key, const int32_t *idx, int at,
                    uint32_t epoch, int what)
{
    (void)idx;
    if (util_hashmap_get(&c->elems, key))
        return; /* it is here: that is the newest fact there is */
    void *old = util_hashmap_get(&c->where, key);
    if (what == CORE_LOC_BORN || !old || core_where_epoch(old) <= epoch) {
        pe->where_version++; /* section routes cached by it are stale */
        if (util_hashmap_put(&c->where, key,
                             core_where_pack(what == CORE_LOC_GONE ? CORE_WHERE_GONE : at,
                                             epoch)) != TERN_OK)
            tern_abort("out of memory recording where an element is");
    }
    if (at != pe->my_pe || what == CORE_LOC_GONE)
        core_loc_release(pe, c, key);
}

void core_h_loc(core_pe_t *pe, tern_msg_t *m)
{
    const core_part_loc_t *p = &m->hdr.u.loc;
    core_coll_t *c = core_coll_get(pe, p->cid, 1);
    uint64_t key;
    if (m->hdr.ndims != c->ndims && c->live)
        tern_abort("malformed location message from PE %d", m->hdr.src_pe);
    unsigned pflags = c->live ? c->pflags : 0;
    int ok = c->live ? core_loc_key(NULL, c->kind, pflags, c->ndims, c->dims, m->hdr.idx, &key)
                     : 0;
    if (!ok) {
        /* Not built here yet: keep it for when it is. */
        core_coll_pend(pe, c, m);
        return;
    }
    if (p->what == CORE_LOC_BORN && core_coll_home(pe, c, m->hdr.idx, key) == pe->my_pe) {
        c->ins_homed++;
        c->ins_closed = 0;
    }
    core_loc_learn(pe, c, key, m->hdr.idx, p->pe, p->epoch, (int)p->what);
    core_msg_release(&pe->pool, m);
}

void core_loc_fail(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, uint64_t key,
                   const char *why)
{
    (void)key;
    char buf[96], text[512];
    const core_ep_t *e = NULL;
    if (m->hdr.kind == CORE_K_ENTRY || m->hdr.kind == CORE_K_BCAST_ELEM)
        e = m->hdr.u.entry.ep == CORE_EP_PING ? NULL : core_ep_by_gid(m->hdr.u.entry.ep);
    const char *what = m->hdr.kind == CORE_K_DESTROY ? "destruction"
                       : m->hdr.kind == CORE_K_BCAST_ELEM ? "broadcast"
                       : m->hdr.u.entry.ep == CORE_EP_CHAN ? "channel message"
                       : e ? "message" : "tern_await_created";
    snprintf(text, sizeof text, "%s%s%s%s for element %s of array %#llx (type '%s'): the "
             "element %s", what, e ? " to '" : "", e ? e->name : "", e ? "'" : "",
             core_loc_idx_str(c->ndims, m->hdr.idx, buf, sizeof buf),
             (unsigned long long)c->cid, type_name(c->type), why);
    if (m->hdr.flags & (CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET)) {
        tern_future_t f = {m->hdr.reply_pe, 0, m->hdr.reply_id};
        core_future_answer_error(pe, &f, pe->my_pe, text);
    } else if (m->hdr.kind != CORE_K_BCAST_ELEM) {
        util_log_error("%s", text);
    }
    core_msg_release(&pe->pool, m);
}

void core_loc_fail_held(core_pe_t *pe, core_coll_t *c)
{
    uint64_t key;
    void *val;
    while (util_hashmap_count(&c->held)) {
        size_t it = 0;
        if (!util_hashmap_next(&c->held, &it, &key, &val))
            break;
        core_held_t *h = util_hashmap_del(&c->held, key);
        for (tern_msg_t *m = h->head, *next; m; m = next) {
            next = m->next;
            c->nheld--;
            core_loc_fail(pe, c, m, key, "was never inserted");
        }
        free(h);
    }
}

void core_loc_free(core_pe_t *pe, core_coll_t *c)
{
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(&c->held, &it, &key, &val);) {
        core_held_t *h = val;
        for (tern_msg_t *m = h->head, *next; m; m = next) {
            next = m->next;
            core_msg_release(&pe->pool, m);
        }
        free(h);
    }
    util_hashmap_fini(&c->held);
    util_hashmap_fini(&c->where);
    c->nheld = 0;
}
