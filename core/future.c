#include "core/future.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/invoke.h"
#include "core/registry.h"
#include "util/log.h"

typedef struct {
    void *data;
    size_t len;
    int set;
} fut_val_t;

struct fut_iter;

/* An iterator's interest in one future: it is told when the future is done. */
typedef struct fut_watch {
    struct fut_iter *it;
    int idx;
    int linked;
    uint64_t id;            /* the future it is linked to (the caller may reuse its slot) */
    struct fut_watch *next;
} fut_watch_t;

typedef struct {
    uint64_t id;
    uint64_t n, nset;
    uint64_t next_free;     /* no free slot below it */
    fut_val_t *vals;        /* n slots; NULL for a future that only counts */
    fut_val_t one;          /* the slot of a one-value future */
    char *err;
    int err_pe;
    int kept;               /* tern_future_keep: tern_future_get leaves it */
    int nwaiting;           /* coroutines in fut_wait */
    int taken;              /* tern_future_get took its value: released once nobody waits */
    uint8_t origin;         /* core_fut_origin_t */
    const core_ep_t *callee; /* CORE_FUT_CALL: the entry method called */
    const core_ep_t *made_in; /* the entry method that made it (NULL: main or a timer) */
    int made_in_main;
    core_waiter_t *waiters;
    fut_watch_t *watches;
} fut_t;

/* An iterator: the futures become ready in the order they are done. */
typedef struct fut_iter {
    const tern_future_t *fs;
    int n;
    int returned;
    int *ready;             /* indices done and not yet returned: a FIFO of n */
    int rhead, rcount;
    int first_linked;       /* no watch below it is linked (watches are never relinked) */
    fut_watch_t *watch;     /* [n] */
    core_waiter_t *waiters;
} fut_iter_t;

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

void core_wait_on(core_pe_t *pe, core_waiter_t **head, int what, uint64_t id, uint64_t aux)
{
    core_ult_t *me = core_ult_current(&pe->ults);
    core_waiter_t w = {me, *head};
    *head = &w;
    me->wait_kind = what;
    me->wait_id = id;
    me->wait_aux = aux;
    core_ult_suspend(&pe->ults);
    me->wait_kind = CORE_WAIT_NONE;
}

void core_waiters_wake(core_pe_t *pe, core_waiter_t **head)
{
    core_waiter_t *w = *head;
    *head = NULL;
    for (; w; w = w->next)
        core_ult_wake(&pe->ults, w->ult);
}

/* ---- the records ---- */

static int fut_done(const fut_t *r) { return r->err || r->nset >= r->n; }

static void iter_push(core_pe_t *pe, fut_iter_t *it, int idx)
{
    it->ready[(it->rhead + it->rcount++) % it->n] = idx;
    core_waiters_wake(pe, &it->waiters);
}

/* r is done or going away: tell the iterators watching it. */
static void fut_notify(core_pe_t *pe, fut_t *r)
{
    core_waiters_wake(pe, &r->waiters);
    fut_watch_t *w = r->watches;
    r->watches = NULL;
    for (; w; w = w->next) {
        w->linked = 0;
        iter_push(pe, w->it, w->idx);
    }
}

tern_status_t core_future_new(core_pe_t *pe, const char *call, uint64_t n, int counts_only,
                              core_fut_origin_t origin, const core_ep_t *callee,
                              tern_future_t *out)
{
    if (!counts_only && n > CORE_FUT_MAX_SLOTS) {
        util_log_error("%s: a future for %llu values is more than the %llu one may expect",
                       call, (unsigned long long)n, (unsigned long long)CORE_FUT_MAX_SLOTS);
        return TERN_ERR_RANGE;
    }
    fut_t *r = calloc(1, sizeof *r);
    if (!r)
        goto err_nomem;
    if (!counts_only)
        r->vals = n == 1 ? &r->one : calloc(n, sizeof *r->vals);
    if (!counts_only && !r->vals)
        goto err_free;
    r->id = ++pe->next_fid;
    r->n = n;
    r->origin = (uint8_t)origin;
    r->callee = callee;
    core_inv_t *inv = core_inv_current(pe);
    r->made_in = inv ? inv->ep : NULL;
    r->made_in_main = !inv && core_ult_current(&pe->ults) != NULL;
    if (util_hashmap_put(&pe->futures, r->id, r) != TERN_OK)
        goto err_free;
    out->pe = pe->my_pe;
    out->n = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    out->id = r->id;
    return TERN_OK;
err_free:
    if (r && r->vals != &r->one)
        free(r->vals);
    free(r);
err_nomem:
    util_log_error("%s: out of memory for a future of %llu values", call,
                   (unsigned long long)n);
    return TERN_ERR_NOMEM;
}

static void fut_apply(core_pe_t *pe, uint64_t id, int64_t slot, uint32_t count,
                      const void *data, size_t len, const char *err, int err_pe)
{
    fut_t *r = util_hashmap_get(&pe->futures, id);
    if (!r) {
        /* Released: by the owner's choice (tern_future_free), or after an error made it
         * done before every member answered. */
        util_log_info(2, "a %s for future %llu, which was released, is dropped",
                      err ? "failure" : "value", (unsigned long long)id);
        return;
    }
    if (err) {
        if (!r->err) {
            if (!(r->err = strdup(err)))
                tern_abort("out of memory recording a future's error");
            r->err_pe = err_pe;
        }
    } else if (count != 1 || !r->vals) {
        /* Empty values that need no slot: completions. */
        if ((len && !r->vals) || r->nset + count > r->n) {
            util_log_error("future %llu of PE %d: %llu values for a future of %llu",
                           (unsigned long long)id, pe->my_pe,
                           (unsigned long long)(r->nset + count), (unsigned long long)r->n);
            return;
        }
        r->nset += count;
        if (r->vals) /* empty values without a slot hold the first free ones */
            for (uint64_t i = 0; i < count; i++) {
                while (r->next_free < r->n && r->vals[r->next_free].set)
                    r->next_free++;
                r->vals[r->next_free].set = 1;
            }
    } else {
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
        if (len && !(v->data = malloc(len)))
            tern_abort("out of memory for a future's value of %zu bytes", len);
        if (len)
            memcpy(v->data, data, len);
        v->len = len;
        v->set = 1;
        r->nset++;
    }
    if (fut_done(r))
        fut_notify(pe, r);
}

static void fut_destroy(fut_t *r)
{
    if (r->vals)
        for (uint64_t i = 0; i < r->n; i++)
            free(r->vals[i].data);
    if (r->vals != &r->one)
        free(r->vals);
    free(r->err);
    free(r);
}

/* Forget r; its error, if any, stays readable through tern_future_error until the next
 * failed future is released on this PE. */
static void fut_release(core_pe_t *pe, fut_t *r)
{
    util_hashmap_del(&pe->futures, r->id);
    fut_notify(pe, r);
    if (r->err) {
        free(pe->fut_last_err);
        pe->fut_last_err = r->err;
        pe->fut_last_err_id = r->id;
        pe->fut_last_err_pe = r->err_pe;
        r->err = NULL;
    }
    fut_destroy(r);
}

void core_futures_free(core_pe_t *pe)
{
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(&pe->futures, &it, &key, &val);)
        fut_destroy(val);
    util_hashmap_fini(&pe->futures);
    free(pe->fut_last_err);
    pe->fut_last_err = NULL;
}

void core_future_describe(core_pe_t *pe, uint64_t id, char *buf, size_t cap)
{
    fut_t *r = util_hashmap_get(&pe->futures, id);
    if (!r) {
        snprintf(buf, cap, "future %llu (released)", (unsigned long long)id);
        return;
    }
    char made[160], where[160];
    switch (r->origin) {
    case CORE_FUT_CALL:
        snprintf(made, sizeof made, "by tern_call of '%s.%s'",
                 r->callee ? core_type_local(r->callee->type)->name : "?",
                 r->callee ? r->callee->name : "?");
        break;
    case CORE_FUT_AWAIT:
        snprintf(made, sizeof made, "by tern_await_created");
        break;
    case CORE_FUT_QD:
        snprintf(made, sizeof made, "by tern_qd_wait");
        break;
    default:
        snprintf(made, sizeof made, "by tern_future_create");
        break;
    }
    if (r->made_in)
        snprintf(where, sizeof where, "in entry method '%s.%s'",
                 core_type_local(r->made_in->type)->name, r->made_in->name);
    else
        snprintf(where, sizeof where, "%s", r->made_in_main ? "in the main function"
                                                            : "outside entry methods");
    snprintf(buf, cap, "future %llu (made %s %s; %llu of %llu values came)",
             (unsigned long long)id, made, where, (unsigned long long)r->nset,
             (unsigned long long)r->n);
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
    hdr.u.fut = (core_part_fut_t){f->id, slot, count, err_pe};
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
    const core_part_fut_t *p = &h->u.fut;
    size_t len = 0;
    const void *data = h->nsegs ? core_msg_seg(m, 0, &len) : NULL;
    const char *err = NULL;
    if (h->flags & CORE_HDR_ERROR) {
        err = len && ((const char *)data)[len - 1] == '\0' ? data : "(malformed error)";
    }
    fut_apply(pe, p->id, p->slot, p->count, data, len, err, p->err_pe);
    core_msg_release(&pe->pool, m);
}

/* ---- the public calls ---- */

/* Was id made here and released since? */
static int fut_released(const core_pe_t *pe, const tern_future_t *f)
{
    return f->pe == pe->my_pe && f->id && f->id <= pe->next_fid &&
           !util_hashmap_get(&((core_pe_t *)pe)->futures, f->id);
}

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
        util_log_error("%s: future %llu %s", call, (unsigned long long)f->id,
                       fut_released(pe, f) ? "was released (freed, or its value taken by "
                                             "tern_future_get; see tern_future_keep)"
                                           : "does not exist (never created here)");
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
    return core_future_new(pe, "tern_future_create", (uint64_t)nvalues, 0, CORE_FUT_USER,
                           NULL, out);
}

/* The checks every setter makes before anything goes out. */
static tern_status_t set_check(core_pe_t *pe, const char *call, const tern_future_t *f)
{
    if (f->pe < 0 || f->pe >= pe->num_pes || !f->id) {
        util_log_error("%s: the future is malformed (PE %d, id %llu)", call, f->pe,
                       (unsigned long long)f->id);
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, call);
    if (f->pe == pe->my_pe) {
        if (fut_released(pe, f)) {
            util_log_error("%s: future %llu was released (freed, or its value taken); "
                           "nothing was set", call, (unsigned long long)f->id);
            return TERN_ERR_STATE;
        }
        if (f->id > pe->next_fid) {
            util_log_error("%s: future %llu was never created on this PE", call,
                           (unsigned long long)f->id);
            return TERN_ERR_INVALID;
        }
    }
    return TERN_OK;
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
    tern_status_t st = set_check(pe, "tern_future_set", f);
    if (st != TERN_OK)
        return st;
    if (f->pe == pe->my_pe) {
        fut_t *r = util_hashmap_get(&pe->futures, f->id);
        if (r->nset >= r->n) {
            util_log_error("tern_future_set: future %llu already has its %llu values",
                           (unsigned long long)f->id, (unsigned long long)r->n);
            return TERN_ERR_RANGE;
        }
    }
    return fut_send(pe, f, -1, 1, data, len, -1, 0);
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
    tern_status_t st = set_check(pe, "tern_future_set_error", f);
    if (st != TERN_OK)
        return st;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return fut_send(pe, f, -1, 1, buf, strlen(buf) + 1, pe->my_pe, 1);
}

/* Wait until r is done; NULL (logged) when it was released meanwhile. */
static fut_t *fut_wait(core_pe_t *pe, const char *call, const tern_future_t *f, fut_t *r)
{
    if (fut_done(r))
        return r;
    if (!core_need_coroutine(pe, call))
        return NULL;
    while (!fut_done(r)) {
        r->nwaiting++;
        core_wait_on(pe, &r->waiters, CORE_WAIT_FUTURE, f->id, 0);
        if ((r = util_hashmap_get(&pe->futures, f->id)))
            r->nwaiting--;
        if (!r) {
            util_log_error("%s: future %llu was released while waited on", call,
                           (unsigned long long)f->id);
            return NULL;
        }
    }
    return r;
}

/* A one-value future whose value was taken goes once the last coroutine woken with the
 * taker has seen it (whichever of them runs last, waiting or getting). */
static void fut_maybe_release(core_pe_t *pe, fut_t *r)
{
    if (r->taken && r->n == 1 && !r->kept && !r->nwaiting)
        fut_release(pe, r);
}

tern_status_t tern_future_wait(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_wait");
    if (!pe)
        return TERN_ERR_STATE;
    fut_t *r = fut_find(pe, "tern_future_wait", f);
    if (!r)
        return TERN_ERR_INVALID;
    if (!(r = fut_wait(pe, "tern_future_wait", f, r)))
        return TERN_ERR_STATE;
    tern_status_t st = r->err ? TERN_ERR_REMOTE : TERN_OK;
    fut_maybe_release(pe, r);
    return st;
}

tern_status_t tern_future_get(const tern_future_t *f, void *buf, size_t cap, size_t *len)
{
    core_pe_t *pe = core_pe_checked("tern_future_get");
    if (!pe)
        return TERN_ERR_STATE;
    fut_t *r = fut_find(pe, "tern_future_get", f);
    if (!r)
        return TERN_ERR_INVALID;
    if (!(r = fut_wait(pe, "tern_future_get", f, r)))
        return TERN_ERR_STATE;
    if (r->err) {
        r->taken = 1;
        fut_maybe_release(pe, r);
        return TERN_ERR_REMOTE;
    }
    size_t n = r->vals && r->vals[0].set ? r->vals[0].len : 0;
    if (len)
        *len = n;
    if (n > cap || (n && !buf && cap)) {
        util_log_error("tern_future_get: future %llu's value has %zu bytes, more than the "
                       "%zu the buffer takes; nothing was copied (the future is kept)",
                       (unsigned long long)f->id, n, buf ? cap : 0);
        return TERN_ERR_RANGE;
    }
    if (n && buf) /* a NULL buffer of 0 bytes: the value is not wanted */
        memcpy(buf, r->vals[0].data, n);
    r->taken = 1;
    fut_maybe_release(pe, r);
    return TERN_OK;
}

tern_status_t tern_future_keep(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_keep");
    fut_t *r = pe ? fut_find(pe, "tern_future_keep", f) : NULL;
    if (!r)
        return pe ? TERN_ERR_INVALID : TERN_ERR_STATE;
    r->kept = 1;
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
    if (!pe || !f)
        return NULL;
    if (fut_released(pe, f)) {
        if (f->id != pe->fut_last_err_id || !pe->fut_last_err)
            return NULL;
        if (err_pe)
            *err_pe = pe->fut_last_err_pe;
        return pe->fut_last_err;
    }
    fut_t *r = fut_find(pe, "tern_future_error", f);
    if (!r || !r->err)
        return NULL;
    if (err_pe)
        *err_pe = r->err_pe;
    return r->err;
}

void tern_future_free(const tern_future_t *f)
{
    core_pe_t *pe = core_pe_checked("tern_future_free");
    if (!pe || (f && fut_released(pe, f)))
        return; /* released already (e.g. by tern_future_get): nothing to do */
    fut_t *r = fut_find(pe, "tern_future_free", f);
    if (r)
        fut_release(pe, r);
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

int tern_future_wait_any(const tern_future_t *fs, int n)
{
    core_pe_t *pe = core_pe_checked("tern_future_wait_any");
    if (!pe)
        return -1;
    if (n < 0 || (n && !fs)) {
        util_log_error("tern_future_wait_any: %d futures at %p", n, (const void *)fs);
        return -1;
    }
    core_waiter_t *ws = NULL;
    uint64_t *ids = NULL; /* which future each node of ws is linked to */
    for (;;) {
        int pending = 0;
        for (int i = 0; i < n; i++) {
            if (!fs[i].id || fut_released(pe, &fs[i]))
                continue;
            fut_t *r = fut_find(pe, "tern_future_wait_any", &fs[i]);
            if (!r || fut_done(r)) {
                free(ws);
                free(ids);
                return i;
            }
            pending++;
        }
        if (!pending || !core_need_coroutine(pe, "tern_future_wait_any")) {
            free(ws);
            free(ids);
            return -1;
        }
        /* Wait on every pending one at once: whichever is done first wakes us. */
        core_waiter_t *more = realloc(ws, (size_t)pending * sizeof *ws);
        uint64_t *more_ids = more ? realloc(ids, (size_t)pending * sizeof *ids) : NULL;
        if (!more || !more_ids)
            tern_abort("tern_future_wait_any: out of memory for %d futures", pending);
        ws = more;
        ids = more_ids;
        core_ult_t *me = core_ult_current(&pe->ults);
        int k = 0;
        for (int i = 0; i < n; i++) {
            fut_t *r = fs[i].id && fs[i].pe == pe->my_pe
                           ? util_hashmap_get(&pe->futures, fs[i].id) : NULL;
            if (!r)
                continue;
            ws[k] = (core_waiter_t){me, r->waiters};
            r->waiters = &ws[k];
            ids[k++] = r->id;
        }
        me->wait_kind = CORE_WAIT_ITER;
        me->wait_id = k ? ids[0] : 0;
        me->wait_aux = (uint64_t)pending;
        core_ult_suspend(&pe->ults);
        me->wait_kind = CORE_WAIT_NONE;
        /* Take our nodes off the futures still waiting, found by the ids they were linked
         * to (the caller may have refilled its slots meanwhile); the one that woke us took
         * its list off itself. */
        for (int j = 0; j < k; j++) {
            fut_t *r = util_hashmap_get(&pe->futures, ids[j]);
            for (core_waiter_t **pp = r ? &r->waiters : NULL; pp && *pp;) {
                if (*pp >= ws && *pp < ws + k)
                    *pp = (*pp)->next;
                else
                    pp = &(*pp)->next;
            }
        }
    }
}

/* ---- iteration in the order futures are done ---- */

tern_status_t tern_future_iter_init(tern_future_iter_t *iter, const tern_future_t *fs, int n)
{
    core_pe_t *pe = core_pe_checked("tern_future_iter_init");
    if (!pe)
        return TERN_ERR_STATE;
    if (!iter || n < 0 || (n && !fs)) {
        util_log_error("tern_future_iter_init: %s", !iter ? "it is NULL" : "bad future set");
        return TERN_ERR_INVALID;
    }
    fut_iter_t *it = calloc(1, sizeof *it);
    if (it) {
        it->ready = malloc(((size_t)n + 1) * sizeof *it->ready);
        it->watch = calloc((size_t)n + 1, sizeof *it->watch);
    }
    if (!it || !it->ready || !it->watch) {
        if (it) {
            free(it->ready);
            free(it->watch);
        }
        free(it);
        util_log_error("tern_future_iter_init: out of memory for %d futures", n);
        return TERN_ERR_NOMEM;
    }
    it->fs = fs;
    it->n = n;
    for (int i = 0; i < n; i++) {
        /* A future that is done, or not one of ours (logged), comes out at once. */
        fut_t *r = fut_find(pe, "tern_future_iter_init", &fs[i]);
        if (!r || fut_done(r)) {
            it->ready[(it->rhead + it->rcount++) % n] = i;
            continue;
        }
        fut_watch_t *w = &it->watch[i];
        *w = (fut_watch_t){it, i, 1, r->id, r->watches};
        r->watches = w;
    }
    iter->impl = it;
    return TERN_OK;
}

int tern_future_iter_next(tern_future_iter_t *iter)
{
    core_pe_t *pe = core_pe_checked("tern_future_iter_next");
    fut_iter_t *it = iter ? iter->impl : NULL;
    if (!pe || !it)
        return -1;
    if (it->returned == it->n)
        return -1;
    if (!it->rcount) {
        if (!core_need_coroutine(pe, "tern_future_iter_next"))
            return -1;
        while (!it->rcount) {
            while (it->first_linked < it->n && !it->watch[it->first_linked].linked)
                it->first_linked++;
            int first = it->first_linked;
            core_wait_on(pe, &it->waiters, CORE_WAIT_ITER,
                         first < it->n ? it->watch[first].id : 0,
                         (uint64_t)(it->n - it->returned));
        }
    }
    int idx = it->ready[it->rhead];
    it->rhead = (it->rhead + 1) % it->n;
    it->rcount--;
    it->returned++;
    return idx;
}

void tern_future_iter_fini(tern_future_iter_t *iter)
{
    core_pe_t *pe = core_pe_current();
    fut_iter_t *it = iter ? iter->impl : NULL;
    if (!it)
        return;
    for (int i = 0; pe && i < it->n; i++) {
        if (!it->watch[i].linked)
            continue;
        fut_t *r = util_hashmap_get(&pe->futures, it->watch[i].id);
        for (fut_watch_t **pp = r ? &r->watches : NULL; pp && *pp; pp = &(*pp)->next) {
            if (*pp == &it->watch[i]) {
                *pp = it->watch[i].next;
                break;
            }
        }
    }
    free(it->ready);
    free(it->watch);
    free(it);
    iter->impl = NULL;
}
