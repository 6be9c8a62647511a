/* Proxies: making element proxies, comparing them, and a chare's view of itself. */
#include <stddef.h>
#include <string.h>

#include "core/index.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"

tern_status_t core_proxy_elem(const char *call, const tern_proxy_t *coll, const int32_t *idx,
                              tern_proxy_t *out)
{
    if (!coll || !idx || !out) {
        util_log_error("%s: %s is NULL", call, !coll ? "the proxy" : !idx ? "idx" : "out");
        return TERN_ERR_INVALID;
    }
    tern_proxy_t p = *coll;
    if (coll->kind == TERN_PROXY_GROUP || coll->kind == TERN_PROXY_GROUP_ELEM) {
        core_pe_t *pe = core_pe_checked(call);
        if (!pe)
            return TERN_ERR_STATE;
        if (idx[0] < 0 || idx[0] >= pe->num_pes) {
            util_log_error("%s: group member %d is out of range (the job has %d PEs)", call,
                           idx[0], pe->num_pes);
            return TERN_ERR_RANGE;
        }
        p.kind = TERN_PROXY_GROUP_ELEM;
        p.idx[0] = idx[0];
    } else if ((coll->kind == TERN_PROXY_ARRAY || coll->kind == TERN_PROXY_ARRAY_ELEM) &&
               coll->ndims >= 1 && coll->ndims <= TERN_MAX_DIMS) {
        int32_t ix[TERN_MAX_DIMS] = {0};
        uint64_t key;
        for (int i = 0; i < coll->ndims; i++)
            ix[i] = idx[i];
        if (coll->flags & TERN_PROXY_SPARSE) {
            if (!core_loc_key(call, TERN_PROXY_ARRAY, coll->flags, coll->ndims, coll->dims, ix,
                              &key))
                return TERN_ERR_RANGE;
        } else if (!core_index_in_range(coll->ndims, coll->dims, ix)) {
            char buf[160];
            int n = 0;
            for (int i = 0; i < coll->ndims; i++)
                n += snprintf(buf + n, sizeof buf - (size_t)n, "%s%d of %d", i ? ", " : "",
                              ix[i], coll->dims[i]);
            util_log_error("%s: index out of range for array %#llx (%s)", call,
                           (unsigned long long)coll->cid, buf);
            return TERN_ERR_RANGE;
        }
        p.kind = TERN_PROXY_ARRAY_ELEM;
        memcpy(p.idx, ix, sizeof ix);
    } else {
        util_log_error("%s: the proxy names no group or array (kind %d)", call, coll->kind);
        return TERN_ERR_INVALID;
    }
    *out = p;
    return TERN_OK;
}

tern_status_t tern_proxy_elem(const tern_proxy_t *coll, const int32_t *idx, tern_proxy_t *out)
{
    return core_proxy_elem("tern_proxy_elem", coll, idx, out);
}

tern_proxy_t tern_proxy_collection(const tern_proxy_t *elem)
{
    tern_proxy_t p = *elem;
    if (p.kind == TERN_PROXY_GROUP_ELEM)
        p.kind = TERN_PROXY_GROUP;
    else if (p.kind == TERN_PROXY_ARRAY_ELEM)
        p.kind = TERN_PROXY_ARRAY;
    if (p.kind != TERN_PROXY_CHARE)
        memset(p.idx, 0, sizeof p.idx);
    return p;
}

int tern_proxy_equal(const tern_proxy_t *a, const tern_proxy_t *b)
{
    if (a->cid != b->cid || a->kind != b->kind)
        return 0;
    if (a->kind == TERN_PROXY_GROUP_ELEM || a->kind == TERN_PROXY_ARRAY_ELEM)
        for (int i = 0; i < a->ndims; i++)
            if (a->idx[i] != b->idx[i])
                return 0;
    return 1;
}

core_chare_t *core_chare_of(const char *call, const void *self)
{
    core_chare_t *ch = self ? (core_chare_t *)((unsigned char *)self -
                                               offsetof(core_chare_t, state))
                            : NULL;
    if (!ch || ch->magic != CORE_CHARE_MAGIC) {
        util_log_error("%s: self is %s", call, ch ? "not the state of a chare" : "NULL");
        return NULL;
    }
    return ch;
}

static core_chare_t *chare_of(const void *self, const char *call)
{
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        tern_abort("%s: self must be the state of a chare", call);
    return ch;
}

static tern_proxy_t coll_proxy(const core_coll_t *c)
{
    tern_proxy_t p;
    memset(&p, 0, sizeof p);
    p.cid = c->cid;
    p.type = c->type;
    p.kind = c->kind;
    p.ndims = c->ndims;
    p.pe = -1;
    p.flags = c->pflags; /* sparse, mobile, balanced... */
    p.map = c->map;      /* without it, homes would follow the default map */
    memcpy(p.dims, c->dims, sizeof p.dims);
    return p;
}

tern_proxy_t tern_self_collection(const void *self)
{
    core_chare_t *ch = chare_of(self, "tern_self_collection");
    tern_proxy_t p = coll_proxy(ch->coll);
    if (p.kind == TERN_PROXY_CHARE)
        p.pe = tern_my_pe();
    return p;
}

tern_proxy_t tern_self_proxy(const void *self)
{
    core_chare_t *ch = chare_of(self, "tern_self_proxy");
    tern_proxy_t p = coll_proxy(ch->coll);
    if (p.kind == TERN_PROXY_CHARE) {
        p.pe = tern_my_pe();
        return p;
    }
    p.kind = p.kind == TERN_PROXY_GROUP ? TERN_PROXY_GROUP_ELEM : TERN_PROXY_ARRAY_ELEM;
    memcpy(p.idx, ch->idx, sizeof p.idx);
    return p;
}

int tern_self_ndims(const void *self) { return chare_of(self, "tern_self_ndims")->coll->ndims; }

const int32_t *tern_self_index(const void *self) { return chare_of(self, "tern_self_index")->idx; }

tern_type_t tern_self_type(const void *self)
{
    core_chare_t *ch = core_chare_of("tern_self_type", self);
    return ch ? core_type_handle(core_type_by_gid(ch->coll->type)) : TERN_TYPE_NONE;
}
