/*
 * Timers of one PE: a binary heap ordered by deadline (then by order of scheduling), run
 * by the scheduler loop, which also bounds its idle sleep by the next deadline. A pending
 * timer counts as a message in flight for quiescence detection.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/future.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"

typedef struct core_timer {
    double when;
    uint64_t seq;
    tern_timer_fn fn;
    void *arg;
    int counted;  /* quiescence detection counts it (the program's timers) */
} core_timer_t;

double core_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int before(const core_timer_t *a, const core_timer_t *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static tern_status_t timer_push(core_pe_t *pe, double when, tern_timer_fn fn, void *arg,
                                int counted)
{
    if (pe->ntimers == pe->timers_cap) {
        size_t cap = pe->timers_cap ? pe->timers_cap * 2 : 16;
        core_timer_t *n = realloc(pe->timers, cap * sizeof *n);
        if (!n)
            return TERN_ERR_NOMEM;
        pe->timers = n;
        pe->timers_cap = cap;
    }
    core_timer_t t = {when, ++pe->timer_seq, fn, arg, counted};
    size_t i = pe->ntimers++;
    while (i > 0 && before(&t, &pe->timers[(i - 1) / 2])) {
        pe->timers[i] = pe->timers[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    pe->timers[i] = t;
    pe->qd_sent += (uint64_t)counted;
    return TERN_OK;
}

static core_timer_t timer_pop(core_pe_t *pe)
{
    core_timer_t top = pe->timers[0];
    core_timer_t last = pe->timers[--pe->ntimers];
    size_t i = 0, n = pe->ntimers;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&pe->timers[c + 1], &pe->timers[c]))
            c++;
        if (!before(&pe->timers[c], &last))
            break;
        pe->timers[i] = pe->timers[c];
        i = c;
    }
    if (n)
        pe->timers[i] = last;
    return top;
}

int core_timers_run(core_pe_t *pe, double now)
{
    int ran = 0;
    while (pe->ntimers && pe->timers[0].when <= now && !pe->exiting) {
        core_timer_t t = timer_pop(pe);
        pe->qd_recvd += (uint64_t)t.counted;
        t.fn(t.arg);
        ran++;
    }
    return ran;
}

double core_timers_next(core_pe_t *pe, double now)
{
    if (!pe->ntimers)
        return -1;
    double d = pe->timers[0].when - now;
    return d > 0 ? d : 0;
}

void core_timers_free(core_pe_t *pe)
{
    free(pe->timers);
    pe->timers = NULL;
    pe->ntimers = pe->timers_cap = 0;
}

tern_status_t tern_timer_after(double seconds, tern_timer_fn fn, void *arg)
{
    core_pe_t *pe = core_pe_checked("tern_timer_after");
    if (!pe)
        return TERN_ERR_STATE;
    if (!fn || !(seconds >= 0) || seconds > 1e9) {
        util_log_error("tern_timer_after: %s", !fn ? "fn is NULL"
                                                   : "seconds must be in [0, 1e9]");
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, "tern_timer_after");
    return timer_push(pe, core_now() + seconds, fn, arg, 1);
}

/* A message that tern_timer_send will send. */
typedef struct {
    tern_proxy_t to;
    tern_ep_t ep;
    size_t len;
    unsigned char data[];
} timed_send_t;

static void timed_send(void *arg)
{
    timed_send_t *t = arg;
    tern_status_t st = tern_send_buf(&t->to, t->ep, t->data, t->len);
    if (st != TERN_OK)
        tern_abort("tern_timer_send: the message to entry method id %u failed when its time "
                   "came: %s", t->ep, tern_strerror(st));
    free(t);
}

tern_status_t tern_timer_send(double seconds, const tern_proxy_t *to, tern_ep_t ep,
                              const void *data, size_t len)
{
    core_pe_t *pe = core_pe_checked("tern_timer_send");
    if (!pe)
        return TERN_ERR_STATE;
    if (!(seconds >= 0) || seconds > 1e9) {
        util_log_error("tern_timer_send: seconds must be in [0, 1e9]");
        return TERN_ERR_INVALID;
    }
    tern_iov_t iov = {data, len};
    core_hdr_t hdr;
    int dest;
    tern_status_t st = core_send_check(pe, "tern_timer_send", to, core_ep_local(ep), ep, &iov,
                                       len ? 1 : 0, NULL, &hdr, &dest);
    if (st != TERN_OK)
        return st;
    timed_send_t *t = malloc(sizeof *t + len);
    if (!t) {
        util_log_error("tern_timer_send: out of memory for %zu bytes", len);
        return TERN_ERR_NOMEM;
    }
    t->to = *to;
    t->ep = ep;
    t->len = len;
    if (len)
        memcpy(t->data, data, len);
    st = timer_push(pe, core_now() + seconds, timed_send, t, 1);
    if (st != TERN_OK)
        free(t);
    return st;
}

static void wake_sleeper(void *arg)
{
    core_pe_t *pe = core_pe_current();
    core_ult_wake(&pe->ults, arg);
}

tern_status_t tern_sleep(double seconds)
{
    core_pe_t *pe = core_pe_checked("tern_sleep");
    if (!pe)
        return TERN_ERR_STATE;
    if (!(seconds >= 0) || seconds > 1e9) {
        util_log_error("tern_sleep: seconds must be in [0, 1e9]");
        return TERN_ERR_INVALID;
    }
    core_ult_t *me = core_need_coroutine(pe, "tern_sleep");
    if (!me)
        return TERN_ERR_STATE;
    double until = core_now() + seconds;
    tern_status_t st = timer_push(pe, until, wake_sleeper, me, 1);
    if (st != TERN_OK)
        return st;
    /* Other wake-ups (none are expected) must not cut the sleep short. */
    me->wait_kind = CORE_WAIT_SLEEP;
    do
        core_ult_suspend(&pe->ults);
    while (core_now() < until && !pe->exiting);
    me->wait_kind = CORE_WAIT_NONE;
    return TERN_OK;
}

tern_status_t core_timer_internal(core_pe_t *pe, double seconds, tern_timer_fn fn, void *arg)
{
    return timer_push(pe, core_now() + seconds, fn, arg, 0);
}
