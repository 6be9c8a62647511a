#include "core/invoke.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "core/future.h"
#include "util/log.h"

static const char *type_name(uint32_t gid)
{
    const core_type_t *t = core_type_by_gid(gid);
    return t ? t->name : "?";
}

core_inv_t *core_inv_current(core_pe_t *pe)
{
    core_ult_t *t = core_ult_current(&pe->ults);
    return t ? t->local : pe->inv_plain;
}

void core_msg_unref(core_pe_t *pe, tern_msg_t *m)
{
    if (--m->refs)
        return;
    if (m->hdr.kind == CORE_K_BCAST && (m->hdr.flags & CORE_HDR_WANT_DONE) && m->nmembers) {
        tern_future_t f = {m->hdr.reply_pe, 0, m->hdr.reply_id};
        core_future_answer(pe, &f, -1, m->nmembers, NULL, 0);
    }
    core_msg_release(&pe->pool, m);
}

static void inv_finish(core_pe_t *pe, core_inv_t *inv)
{
    tern_msg_t *m = inv->m;
    const core_hdr_t *h = &m->hdr;
    tern_future_t f = {h->reply_pe, 0, h->reply_id};
    int bcast = h->kind == CORE_K_BCAST || h->kind == CORE_K_BCAST_ELEM;
    if (inv->err) {
        if (h->flags & (CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET))
            core_future_answer_error(pe, &f, pe->my_pe, inv->err);
        else
            tern_abort("entry method '%s.%s' failed and no caller waits for its answer: %s",
                       type_name(inv->ep->type_gid), inv->ep->name, inv->err);
    } else if (h->flags & CORE_HDR_WANT_RET) {
        core_future_answer(pe, &f, bcast && !(inv->ch->coll->pflags & TERN_PROXY_SPARSE)
                                       ? (int64_t)inv->ch->lin : bcast ? -1 : 0, 1, inv->ret,
                           inv->ret_len);
    } else if ((h->flags & CORE_HDR_WANT_DONE) && h->kind != CORE_K_BCAST) {
        core_future_answer(pe, &f, -1, 1, NULL, 0);
    }
    free(inv->ret);
    free(inv->err);
    core_msg_unref(pe, m);
    core_chare_t *ch = inv->ch;
    if (--ch->running == 0 && (ch->move_to >= 0 || ch->destroy))
        core_chare_want_settle(pe, ch); /* a move or destruction waited for this */
}

static void coro_main(void *arg)
{
    core_pe_t *pe = core_pe_current();
    core_inv_t inv = *(core_inv_t *)arg;
    core_ult_current(&pe->ults)->local = &inv;
    inv.ep->fn(inv.ch->state, inv.m);
    inv_finish(pe, &inv);
}

static void invoke(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m);

/* Balanced arrays: the method's wall time is the element's load (a coroutine method's
 * until it first suspends). */
static double lb_clock(const core_pe_t *pe)
{
    if (!pe->lb_cpu_clock)
        return core_now();
    struct timespec ts; /* the thread's CPU time: what a PE sharing a core really spent */
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Balanced arrays (their elements' loads) and statistics (every method's time). */
static __attribute__((noinline)) void timed_invoke(core_pe_t *pe, core_chare_t *ch,
                                                   tern_msg_t *m)
{
    int lb = ch->coll->lb != NULL;
    uint32_t gid = m->hdr.u.entry.ep; /* m may be gone once the method ends */
    uint64_t bytes = m->hdr.body_len, flow = m->flow;
    double t0 = lb ? lb_clock(pe) : 0, w0 = pe->stats ? core_now() : 0;
    double r0 = pe->trace ? core_trace_now(pe) : 0;
    invoke(pe, ch, m);
    if (pe->trace)
        core_trace_method(pe, gid, flow, bytes, r0, core_trace_now(pe));
    if (pe->stats)
        core_stats_invoked(pe, gid, bytes, core_now() - w0);
    if (lb) {
        double dt = lb_clock(pe) - t0;
        if (!(ch->lbf & CORE_LBF_USER))
            ch->lb_time += dt;
        pe->lb_obj_time += dt;
    }
}

void core_invoke(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m)
{
    if (__builtin_expect(ch->coll->lb != NULL || pe->stats != NULL || pe->trace != NULL, 0))
        timed_invoke(pe, ch, m);
    else
        invoke(pe, ch, m);
}

static void invoke(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m)
{
    core_inv_t inv = {.ch = ch, .m = m};
#ifndef NDEBUG /* debug and sanitizer builds: what comes for a leaving element follows it */
    if (core_chare_leaving(ch))
        tern_abort("internal: a message (kind %d) ran on an element about to move or be "
                   "destroyed", m->hdr.kind);
#endif
    ch->running++;
    if (m->hdr.u.entry.ep != CORE_EP_PING) {
        inv.ep = core_ep_by_gid(m->hdr.u.entry.ep);
        if (!inv.ep || inv.ep->type_gid != ch->coll->type)
            tern_abort("message for chare type '%s' names entry method id %u, which is not "
                       "one of its methods", type_name(ch->coll->type), m->hdr.u.entry.ep);
        if (inv.ep->flags & TERN_EP_COROUTINE) {
            /* coro_main copies inv before its first suspension returns here; that holds
             * because messages are dispatched from the scheduler, never from a coroutine
             * (which would only queue the new one). */
            if (core_ult_current(&pe->ults))
                tern_abort("internal: a message was dispatched from a coroutine");
            core_ult_start(&pe->ults, coro_main, &inv, NULL);
            return;
        }
        core_inv_t *saved = pe->inv_plain;
        pe->inv_plain = &inv;
        inv.ep->fn(ch->state, m);
        pe->inv_plain = saved;
    }
    inv_finish(pe, &inv);
}

void core_invoke_abandon(core_pe_t *pe)
{
    for (core_ult_t *t = pe->ults.all; t; t = t->all_next) {
        if ((t->state == CORE_ULT_WAITING || t->state == CORE_ULT_READY) && t->local) {
            core_inv_t *inv = t->local;
            free(inv->ret);
            free(inv->err);
            if (inv->m && --inv->m->refs == 0) /* (a pool task has no message) */
                core_msg_release(&pe->pool, inv->m);
            t->local = NULL;
        }
    }
}

/* ---- inside an entry method ---- */

void tern_return(const void *data, size_t len)
{
    core_pe_t *pe = core_pe_checked("tern_return");
    core_inv_t *inv = pe ? core_inv_current(pe) : NULL;
    if (!inv) {
        if (pe)
            util_log_error("tern_return: not inside an entry method");
        return;
    }
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        tern_abort("tern_return: out of memory for %zu bytes", len);
    if (len)
        memcpy(copy, data, len);
    free(inv->ret);
    inv->ret = copy;
    inv->ret_len = len;
}

void tern_raise(const char *fmt, ...)
{
    core_pe_t *pe = core_pe_checked("tern_raise");
    core_inv_t *inv = pe ? core_inv_current(pe) : NULL;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (!inv) {
        if (pe)
            tern_abort("tern_raise outside an entry method: %s", buf);
        return;
    }
    if (!inv->err && !(inv->err = strdup(buf)))
        tern_abort("tern_raise: out of memory");
}

/* ---- calls that answer ---- */

static tern_status_t call(const char *name, const tern_proxy_t *to, tern_ep_t ep,
                          const tern_iov_t *iov, int niov, int want,
                          const tern_send_opts_t *opts, tern_future_t *out)
{
    core_pe_t *pe = core_pe_checked(name);
    if (!pe)
        return TERN_ERR_STATE;
    if ((want != TERN_CALL_DONE && want != TERN_CALL_RET) || !out) {
        util_log_error("%s: %s", name, !out ? "out is NULL"
                                            : "want must be TERN_CALL_DONE or TERN_CALL_RET");
        return TERN_ERR_INVALID;
    }
    const core_ep_t *e = core_ep_local(ep);
    core_hdr_t hdr;
    int dest;
    tern_status_t st = core_send_check(pe, name, to, e, ep, iov, niov, opts, &hdr, &dest);
    if (st != TERN_OK)
        return st;
    uint64_t n = 1;
    if (to->kind == TERN_PROXY_SECTION) {
        if (want != TERN_CALL_DONE) {
            util_log_error("%s: a call to a section answers completion only (TERN_CALL_DONE)",
                           name);
            return TERN_ERR_INVALID;
        }
        n = (uint64_t)to->dims[0];
        if (!n) {
            util_log_error("%s: the section has no member (a part of a split)", name);
            return TERN_ERR_INVALID;
        }
    } else if (hdr.kind == CORE_K_BCAST) {
        n = to->kind == TERN_PROXY_GROUP ? (uint64_t)pe->num_pes : core_proxy_total(to);
        if (!n) {
            util_log_error("%s: a call to a whole array needs its size: this one was created "
                           "empty (its elements are inserted)", name);
            return TERN_ERR_INVALID;
        }
    }
    tern_future_t f;
    if ((st = core_future_new(pe, name, n, want == TERN_CALL_DONE, CORE_FUT_CALL, e, &f)) !=
        TERN_OK)
        return st;
    hdr.flags |= want == TERN_CALL_DONE ? CORE_HDR_WANT_DONE : CORE_HDR_WANT_RET;
    hdr.reply_pe = f.pe;
    hdr.reply_id = f.id;
    st = core_send_iov(pe, dest, &hdr, iov, niov);
    if (st != TERN_OK) {
        tern_future_free(&f);
        return st;
    }
    *out = f;
    return TERN_OK;
}

tern_status_t tern_call(const tern_proxy_t *to, tern_ep_t ep, const tern_iov_t *iov,
                        int niov, int want, const tern_send_opts_t *opts, tern_future_t *out)
{
    return call("tern_call", to, ep, iov, niov, want, opts, out);
}

tern_status_t tern_call_elem(const tern_proxy_t *coll, const int32_t *idx, tern_ep_t ep,
                             const void *data, size_t len, int want, tern_future_t *out)
{
    tern_proxy_t to;
    tern_status_t st = core_proxy_elem("tern_call_elem", coll, idx, &to);
    if (st != TERN_OK)
        return st;
    tern_iov_t iov = {data, len};
    return call("tern_call_elem", &to, ep, &iov, len ? 1 : 0, want, NULL, out);
}

tern_ep_t tern_msg_ep(const tern_msg_t *msg)
{
    core_pe_t *pe = core_pe_current();
    core_inv_t *inv = pe ? core_inv_current(pe) : NULL;
    if (!msg)
        return TERN_EP_NONE;
    if (inv && inv->m == msg && inv->ep)
        return core_ep_handle(inv->ep);
    unsigned k = msg->hdr.kind;
    if (k == CORE_K_ENTRY || k == CORE_K_BCAST || k == CORE_K_BCAST_ELEM)
        return core_ep_handle(core_ep_by_gid(msg->hdr.u.entry.ep));
    return TERN_EP_NONE;
}
