#include "core/future.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/index.h"
#include "util/log.h"

typedef struct {
    void *data;
    size_t len;
    int set;
} fut_val_t;

typedef struct {
    uint64_t id;
    uint64_t n, nset;
    uint64_t next_free;     /* no free slot below it */
    fut_val_t *vals;        /* n slots, made when the first value with data comes */
    char *err;
    int err_pe;
    core_waiter_t *waiters;
} fut_t;

static const unsigned char empty_value[1];

/* ---- waiting ---- */

core_ult_t *core_need_coroutine(core_pe_t *pe, const char *call)
{
    core_ult_t *t = core_ult_current(&pe->ults);
    if (!t)
        util_log_error("%s: called outside a coroutine (only the main function and entry "
                       "methods registered with TERN_EP_COROUTINE may wait)", call);
    return t;
}

void core_wait_on(core_pe_t *pe, core_waiter_t **head)
{
    core_waiter_t w = {core_ult_current(&pe->ults), *head};
    *head = &w;
    core_ult_suspend(&pe->ults);
}

void core_waiters_wake(core_pe_t *pe, core_waiter_t **head)
{
    core_waiter_t *w = *head;
    *head = NULL;
    for (; w; w = w->next)
        core_ult_wake(&pe->ults, w->ult);
}

static void waiter_remove(core_waiter_t **head, core_waiter_t *w)
{
    for (; *head; head = &(*head)->next) {
        if (*head == w) {
            *head = w->next;
            return;
        }
    }
}

/* ---- the records ---- */

tern_status_t core_future_new(core_pe_t *pe, uint64_t n, tern_future_t *out)
{
    fut_t *r = calloc(1, sizeof *r);
    if (!r)
        return TERN_ERR_NOMEM;
    r->id = ++pe->next_fid;
    r->n = n;
    if (util_hashmap_put(&pe->futures, r->id, r) != TERN_OK) {
        free(r);
        return TERN_ERR_NOMEM;
    }
    out->pe = pe->my_pe;
    out->n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    out->id = r->id;
    return TERN_OK;
}

static int fut_done(const fut_t *r) { return r->err || r->nset >= r->n; }

static void fut_apply(core_pe_t *pe, uint64_t id, int64_t slot, uint32_t count,
                      const void *data, size_t len, const char *err, int err_pe)
{
    fut_t *r = util_hashmap_get(&pe->futures, id);
    if (!r)
        return; /* freed: later values are dropped */
    if (err) {
        if (!r->err) {
            if (!(r->err = strdup(err)))
                tern_abort("out of memory recording a future's error");
            r->err_pe = err_pe;
        }
    } else if (count != 1 || (slot < 0 && !len && !r->vals)) {
        /* Empty values that need no slot: completions. */
        if (r->nset + count > r->n) {
            util_log_error("future %llu of PE %d: %llu values for a future of %llu",
                           (unsigned long long)id, pe->my_pe,
                           (unsigned long long)(r->nset + count), (unsigned long long)r->n);
            return;
        }
        r->nset += count;
    } else {
        if (!r->vals) {
            if (!(r->vals = calloc(r->n, sizeof *r->vals)))
                tern_abort("out of memory for the values of a future of %llu",
                           (unsigned long long)r->n);
            /* Empty values that came before, without a slot, hold the first slots. */
            for (uint64_t i = 0; i < r->nset && i < r->n; i++)
                r->vals[i].set = 1;
        }
        if (slot < 0) {
            while (r->next_free < r->n && r->vals[r->next_free].set)
                r->next_free++;
            slot = (int64_t)r->next_free;
        }
        if ((uint64_t)slot >= r->n || r->vals[slot].set || r->nset >= r->n) {
            util_log_error("future %llu of PE %d: a value beyond the %llu it expects",
                           (unsigned long long)id, pe->my_pe, (unsigned long long)r->n);
            return;
        }
        fut_val_t *v = &r->vals[slot];
        v->data = malloc(len ? len : 1);
        if (!v->data)
            tern_abort("out of memory for a future's value of %zu bytes", len);
        if (len)
            memcpy(v->data, data, len);
        v->len = len;
        v->set = 1;
        r->nset++;
    }
    if (fut_done(r))
        core_waiters_wake(pe, &r->waiters);
}

static void fut_destroy(fut_t *r)
{
    if (r->vals)
        for (uint64_t i = 0; i < r->n; i++)
            free(r->vals[i].data);
    free(r->vals);
    free(r->err);
    free(r);
}

void core_futures_free(core_pe_t *pe)
{
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(&pe->futures, &it, &key, &val);)
        fut_destroy(val);
    util_hashmap_fini(&pe->futures);
}

/* ---- answers ---- */

static tern_status_t fut_send(core_pe_t *pe, const tern_future_t *f, int64_t slot,
                              uint32_t count, const void *data, size_t len, int err_pe,
                              int is_err)
{
    if (f->pe < 0 || f->pe >= pe->num_pes || !f->id)
        return TERN_ERR_INVALID;
    if (f->pe == pe->my_pe) {
        fut_apply(pe, f->id, slot, count, data, len, is_err ? data : NULL, err_pe);
        return TERN_OK;
    }
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_FUT_SET, pe->my_pe);
    hdr.cid = f->id;
    hdr.idx[0] = (int32_t)(slot & 0xffffffff);
    hdr.idx[1] = (int32_t)(slot >> 32);
    hdr.idx[2] = (int32_t)count;
    hdr.idx[3] = err_pe;
    if (is_err)
        hdr.flags = CORE_HDR_ERROR;
    tern_iov_t iov = {data, len};
    return core_send_iov(pe, f->pe, &hdr, &iov, len ? 1 : 0);
}

void core_future_answer(core_pe_t *pe, const tern_future_t *f, int64_t slot, uint32_t count,
                        const void *data, size_t len)
{
    tern_status_t st = fut_send(pe, f, slot, count, data, len, -1, 0);
    if (st != TERN_OK)
        tern_abort("answering future %llu of PE %d failed: %s", (unsigned long long)f->id,
                   f->pe, tern_strerror(st));
}

void core_future_answer_error(core_pe_t *pe, const tern_future_t *f, int err_pe,
                              const char *msg)
{
    tern_status_t st = fut_send(pe, f, -1, 1, msg, strlen(msg) + 1, err_pe, 1);
    if (st != TERN_OK)
        tern_abort("answering future %llu of PE %d with an error failed: %s",
                   (unsigned long long)f->id, f->pe, tern_strerror(st));
}

void core_h_fut_set(core_pe_t *pe, tern_msg_t *m)
{
    const core_hdr_t *h = &m->hdr;
    int64_t slot = (int64_t)(((uint64_t)(uint32_t)h->idx[1] << 32) | (uint32_t)h->idx[0]);
    size_t len = 0;
    const void *data = h->nsegs ? core_msg_seg(m, 0, &len) : NULL;
    const char *err = NULL;
    if (h->flags & CORE_HDR_ERROR) {
        err = len && ((const char *)data)[len - 1] == '\0' ? data : "(malformed error)";
    }
    fut_apply(pe, h->cid, slot, (uint32_t)h->idx[2], data, len, err, h->idx[3]);
    core_msg_release(&pe->pool, m);
}

/* ---- the public calls ---- */

static fut_t *fut_find(core_pe_t *pe, const char *call, const tern_future_t *f)
{
    if (!f) {
        util_log_error("%s: the future is NULL", call);
        return NULL;
    }
    if (f->pe != pe->my_pe) {
        util_log_error("%s: future %llu belongs to PE %d; only the PE that created it may "
                       "wait on it or read it", call, (unsigned long long)f->id, f->pe);
        return NULL;
    }
    fut_t *r = util_hashmap_get(&pe->futures, f->id);
    if (!r)
        util_log_error("%s: future %llu does not exist (never created here, or freed)",
                       call, (unsigned long long)f->id);
    return r;
}

tern_status_t tern_future_create(int nvalues, tern_future_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_future_create");
    if (!pe)
        return TERN_ERR_STATE;
    if (nvalues < 1 || !out) {
        util_log_error("tern_future_create: %s", !out ? "out is NULL"
                                                      : "nvalues must be at least 1");
        return TERN_ERR_INVALID;
    }
    return core_future_new(pe, (uint64_t)nvalues, out);
}

tern_status_t tern_future_set(const tern_future_t *f, const void *data, size_t len)
{
    core_pe_t *pe = core_pe_checked("tern_future_set");
    if (!pe)
        return TERN_ERR_STATE;
    if (!f || (len && !data)) {
        util_log_error("tern_future_set: %s is NULL", !f ? "the future" : "the data");
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return TERN_ERR_STATE;
    if (f->pe == pe->my_pe) {
        fut_t *r = util_hashmap_get(&pe->futures, f->id);
        if (r && r->nset >= r->n) {
            util_log_error("tern_future_set: future %llu already has its %llu values",
                           (unsigned long long)f->id, (unsigned long long)r->n);
            return TERN_ERR_RANGE;
        }
    }
    tern_status_t st = fut_send(pe, f, -1, 1, data, len, -1, 0);
    if (st == TERN_ERR_INVALID)
        util_log_error("tern_future_set: the future is malformed (PE %d, id %llu)", f->pe,
                       (unsigned long long)f->id);
    return st;
}

tern_status_t tern_future_set_error(const tern_future_t *f, const char *fmt, ...)
{
    core_pe_t *pe = core_pe_checked("tern_future_set_error");
    if (!pe)
        return TERN_ERR_STATE;
    if (!f || !fmt) {
        util_log_error("tern_future_set_error: %s is NULL", !f ? "the future" : "fmt");
        return TERN_ERR_INVALID;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fut_send(pe, f, -1, 1, buf, strlen(buf) + 1, pe->my_pe, 1);
}

tern_status_t tern_future_wait(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_wait");
    if (!pe)
        return TERN_ERR_STATE;
    fut_t *r = fut_find(pe, "tern_future_wait", f);
    if (!r)
        return TERN_ERR_INVALID;
    if (!fut_done(r)) {
        if (!core_need_coroutine(pe, "tern_future_wait"))
            return TERN_ERR_STATE;
        while (!fut_done(r)) {
            core_wait_on(pe, &r->waiters);
            if (!(r = util_hashmap_get(&pe->futures, f->id))) {
                util_log_error("tern_future_wait: future %llu was freed while waited on",
                               (unsigned long long)f->id);
                return TERN_ERR_STATE;
            }
        }
    }
    return r->err ? TERN_ERR_REMOTE : TERN_OK;
}

tern_status_t tern_future_get(const tern_future_t *f, void *buf, size_t cap, size_t *len)
{
    tern_status_t st = tern_future_wait(f);
    if (st != TERN_OK)
        return st;
    size_t n = 0;
    const void *v = tern_future_value(f, 0, &n);
    if (buf && v)
        memcpy(buf, v, n < cap ? n : cap);
    if (len)
        *len = n;
    return TERN_OK;
}

int tern_future_done(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_done");
    fut_t *r = pe ? fut_find(pe, "tern_future_done", f) : NULL;
    return r ? fut_done(r) : 0;
}

int tern_future_count(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_count");
    fut_t *r = pe ? fut_find(pe, "tern_future_count", f) : NULL;
    return r ? (int)r->nset : 0;
}

const void *tern_future_value(const tern_future_t *f, int i, size_t *len)
{
    core_pe_t *pe = core_pe_checked("tern_future_value");
    fut_t *r = pe ? fut_find(pe, "tern_future_value", f) : NULL;
    if (len)
        *len = 0;
    if (!r || i < 0 || (uint64_t)i >= r->n)
        return NULL;
    if (r->vals && r->vals[i].set) {
        if (len)
            *len = r->vals[i].len;
        return r->vals[i].data ? r->vals[i].data : empty_value;
    }
    return !r->vals && (uint64_t)i < r->nset ? empty_value : NULL;
}

const char *tern_future_error(const tern_future_t *f, int *err_pe)
{
    core_pe_t *pe = core_pe_checked("tern_future_error");
    fut_t *r = pe ? fut_find(pe, "tern_future_error", f) : NULL;
    if (!r || !r->err)
        return NULL;
    if (err_pe)
        *err_pe = r->err_pe;
    return r->err;
}

void tern_future_free(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_free");
    fut_t *r = pe ? fut_find(pe, "tern_future_free", f) : NULL;
    if (!r)
        return;
    util_hashmap_del(&pe->futures, r->id);
    core_waiters_wake(pe, &r->waiters);
    fut_destroy(r);
}

tern_status_t tern_future_wait_all(const tern_future_t *fs, int n)
{
    if (n < 0 || (n && !fs)) {
        util_log_error("tern_future_wait_all: %d futures at %p", n, (const void *)fs);
        return TERN_ERR_INVALID;
    }
    tern_status_t worst = TERN_OK;
    for (int i = 0; i < n; i++) {
        tern_status_t st = tern_future_wait(&fs[i]);
        if (st == TERN_ERR_REMOTE && worst == TERN_OK)
            worst = st;
        else if (st != TERN_OK && st != TERN_ERR_REMOTE)
            return st;
    }
    return worst;
}

tern_status_t tern_future_iter_init(tern_future_iter_t *it, const tern_future_t *fs, int n)
{
    if (!it || n < 0 || (n && !fs)) {
        util_log_error("tern_future_iter_init: %s", !it ? "it is NULL" : "bad future set");
        return TERN_ERR_INVALID;
    }
    it->fs = fs;
    it->n = n;
    it->returned = 0;
    it->seen = calloc((size_t)n + 1, 1);
    return it->seen ? TERN_OK : TERN_ERR_NOMEM;
}

int tern_future_iter_next(tern_future_iter_t *it)
{
    core_pe_t *pe = core_pe_checked("tern_future_iter_next");
    if (!pe || !it || !it->seen)
        return -1;
    for (;;) {
        if (it->returned == it->n)
            return -1;
        int pending = 0;
        for (int i = 0; i < it->n; i++) {
            if (it->seen[i])
                continue;
            fut_t *r = fut_find(pe, "tern_future_iter_next", &it->fs[i]);
            if (!r || fut_done(r)) {
                it->seen[i] = 1;
                it->returned++;
                return i;
            }
            pending++;
        }
        if (!core_need_coroutine(pe, "tern_future_iter_next"))
            return -1;
        /* Wait on all pending at once; whichever finishes first wakes us. */
        core_waiter_t *ws = malloc((size_t)pending * sizeof *ws);
        if (!ws)
            tern_abort("tern_future_iter_next: out of memory");
        core_ult_t *me = core_ult_current(&pe->ults);
        int k = 0;
        for (int i = 0; i < it->n; i++) {
            if (it->seen[i])
                continue;
            fut_t *r = util_hashmap_get(&pe->futures, it->fs[i].id);
            ws[k] = (core_waiter_t){me, r->waiters};
            r->waiters = &ws[k++];
        }
        core_ult_suspend(&pe->ults);
        k = 0;
        for (int i = 0; i < it->n; i++) {
            if (it->seen[i])
                continue;
            fut_t *r = util_hashmap_get(&pe->futures, it->fs[i].id);
            if (r)
                waiter_remove(&r->waiters, &ws[k]);
            k++;
        }
        free(ws);
    }
}

void tern_future_iter_fini(tern_future_iter_t *it)
{
    if (!it)
        return;
    free(it->seen);
    it->seen = NULL;
}

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
        hdr.ep = CORE_EP_PING;
        hdr.type = p->type;
        hdr.cid = p->cid;
        hdr.ndims = p->ndims;
        hdr.ckind = p->kind;
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
        if ((st = core_future_new(pe, count, &f)) != TERN_OK)
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
