/* Callbacks: plain values naming where a result goes, and delivering to them. */
#include <string.h>

#include "core/future.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"

tern_callback_t tern_cb_future(const tern_future_t *f)
{
    tern_callback_t cb;
    memset(&cb, 0, sizeof cb);
    if (f) {
        cb.kind = TERN_CB_FUTURE;
        cb.future = *f;
    }
    return cb;
}

tern_status_t tern_cb_send(const tern_proxy_t *to, tern_ep_t ep, tern_callback_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_cb_send");
    if (!pe)
        return TERN_ERR_STATE;
    if (!out) {
        util_log_error("tern_cb_send: out is NULL");
        return TERN_ERR_INVALID;
    }
    const core_ep_t *e = core_ep_local(ep);
    core_hdr_t hdr;
    int dest;
    tern_status_t st = core_send_check(pe, "tern_cb_send", to, e, ep, NULL, 0, NULL, &hdr,
                                       &dest);
    if (st != TERN_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->kind = TERN_CB_SEND;
    out->ep = e->gid;
    out->proxy = *to;
    return TERN_OK;
}

void core_cb_fire(core_pe_t *pe, const tern_callback_t *cb, const void *data, size_t len)
{
    if (pe->exiting)
        return;
    switch (cb->kind) {
    case TERN_CB_NONE:
        return;
    case TERN_CB_FUTURE:
        core_future_answer(pe, &cb->future, -1, 1, data, len);
        return;
    case TERN_CB_SEND: {
        const core_ep_t *e = core_ep_by_gid(cb->ep);
        core_hdr_t hdr;
        int dest;
        tern_iov_t iov = {data, len};
        tern_status_t st = core_send_check(pe, "callback", &cb->proxy, e, cb->ep, &iov,
                                           len ? 1 : 0, NULL, &hdr, &dest);
        if (st == TERN_OK)
            st = core_send_iov(pe, dest, &hdr, &iov, len ? 1 : 0);
        if (st != TERN_OK)
            tern_abort("delivering a result to its callback (entry method id %u) failed: %s",
                       cb->ep, tern_strerror(st));
        return;
    }
    case CORE_CB_LB:
        core_lb_all_synced(pe, cb->proxy.cid);
        return;
    default:
        tern_abort("a callback of unknown kind %u", cb->kind);
    }
}
