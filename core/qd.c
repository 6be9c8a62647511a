/*
 * Quiescence detection by waves over a k-ary tree of all PEs rooted at PE 0. Every PE
 * counts the application messages it sent and received (core_kind_counted; a pending timer
 * counts as a message in flight). A wave asks every PE, once it is idle, for its counts and
 * sums them up the tree. The job is quiescent when two waves in a row find as many
 * messages received as sent and the same totals: the counters only grow, so equal totals
 * mean that no PE sent or received anything between its two answers.
 */
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/pe.h"
#include "core/stall.h"
#include "topology/tree.h"
#include "util/log.h"

#define QD_BACKOFF_MIN 20e-6
#define QD_BACKOFF_MAX 5e-3

typedef struct core_qd {
    /* the wave this PE answers */
    int active;
    uint64_t wave;
    int kids, kids_got;
    uint64_t sum_sent, sum_recvd;
    /* PE 0: what waits for quiescence, and the waves */
    tern_callback_t *cbs;
    size_t ncbs, cbs_cap;
    int running;
    int watch;         /* core/stall.c asked: is the job quiescent right now? */
    uint64_t next_wave;
    int have_prev;
    uint64_t prev_sent, prev_recvd;
    double start_at;   /* the next wave starts no sooner */
    double backoff;
} core_qd_t;

static core_qd_t *qd_of(core_pe_t *pe)
{
    if (!pe->qd && !(pe->qd = calloc(1, sizeof *pe->qd)))
        tern_abort("out of memory for quiescence detection");
    return pe->qd;
}

void core_qd_free(core_pe_t *pe)
{
    if (pe->qd)
        free(pe->qd->cbs);
    free(pe->qd);
    pe->qd = NULL;
}

static void qd_send(core_pe_t *pe, int dest, int kind, uint64_t wave, const void *body,
                    size_t len)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, kind, pe->my_pe);
    hdr.prio = INT32_MIN + 1; /* ahead of application work: waves should not queue */
    hdr.u.qd.wave = wave;
    tern_iov_t iov = {body, len};
    tern_status_t st = core_send_iov(pe, dest, &hdr, &iov, len ? 1 : 0);
    if (st != TERN_OK)
        tern_abort("quiescence detection: sending to PE %d failed: %s", dest,
                   tern_strerror(st));
}

static uint64_t msg_wave(const tern_msg_t *m)
{
    return m->hdr.u.qd.wave;
}

/* Join wave w: pass it to my children and wait for their answers and my idleness. */
static void probe_begin(core_pe_t *pe, uint64_t w)
{
    core_qd_t *q = qd_of(pe);
    int kids[TOPO_TREE_MAX_KIDS(64)];
    int n = topo_tree_children(&pe->all, 0, pe->fanout, pe->my_pe, kids);
    for (int i = 0; i < n; i++)
        qd_send(pe, kids[i], CORE_K_QD_PROBE, w, NULL, 0);
    q->active = 1;
    q->wave = w;
    q->kids = n;
    q->kids_got = 0;
    q->sum_sent = q->sum_recvd = 0;
}

static void wave_start(core_pe_t *pe)
{
    core_qd_t *q = qd_of(pe);
    q->running = 1;
    probe_begin(pe, ++q->next_wave);
}

/* PE 0: waves from now on, unless they are under way already. */
static void waves_begin(core_pe_t *pe)
{
    core_qd_t *q = qd_of(pe);
    if (q->running)
        return;
    q->have_prev = 0;
    q->backoff = QD_BACKOFF_MIN;
    q->start_at = 0;
    wave_start(pe);
}

void core_h_qd_start(core_pe_t *pe, tern_msg_t *m)
{
    core_qd_t *q = qd_of(pe);
    size_t len;
    const void *cb = core_msg_seg(m, 0, &len);
    if (!cb || len != sizeof(tern_callback_t))
        tern_abort("malformed quiescence request from PE %d", m->hdr.src_pe);
    if (q->ncbs == q->cbs_cap) {
        size_t cap = q->cbs_cap ? q->cbs_cap * 2 : 4;
        tern_callback_t *n = realloc(q->cbs, cap * sizeof *n);
        if (!n)
            tern_abort("out of memory for quiescence callbacks");
        q->cbs = n;
        q->cbs_cap = cap;
    }
    memcpy(&q->cbs[q->ncbs++], cb, sizeof(tern_callback_t));
    core_msg_release(&pe->pool, m);
    waves_begin(pe);
}

void core_qd_watch(core_pe_t *pe)
{
    qd_of(pe)->watch = 1;
    waves_begin(pe);
}

void core_h_qd_probe(core_pe_t *pe, tern_msg_t *m)
{
    uint64_t w = msg_wave(m);
    core_msg_release(&pe->pool, m);
    probe_begin(pe, w);
}

void core_h_qd_reply(core_pe_t *pe, tern_msg_t *m)
{
    core_qd_t *q = qd_of(pe);
    uint64_t c[2];
    size_t len;
    const void *b = core_msg_seg(m, 0, &len);
    if (!b || len != sizeof c)
        tern_abort("malformed quiescence answer from PE %d", m->hdr.src_pe);
    memcpy(c, b, sizeof c);
    if (q->active && msg_wave(m) == q->wave) {
        q->sum_sent += c[0];
        q->sum_recvd += c[1];
        q->kids_got++;
    }
    core_msg_release(&pe->pool, m);
}

/* PE 0, with a wave's totals. */
static void wave_done(core_pe_t *pe, uint64_t sent, uint64_t recvd)
{
    core_qd_t *q = pe->qd;
    if (q->have_prev && sent == recvd && sent == q->prev_sent && recvd == q->prev_recvd) {
        size_t n = q->ncbs;
        tern_callback_t *cbs = q->cbs;
        int watch = q->watch;
        q->cbs = NULL;
        q->ncbs = q->cbs_cap = 0;
        q->running = 0;
        q->have_prev = 0;
        q->watch = 0;
        util_log_info(2, "quiescence after wave %llu (%llu messages)",
                      (unsigned long long)q->wave, (unsigned long long)sent);
        for (size_t i = 0; i < n; i++)
            core_cb_fire(pe, &cbs[i], NULL, 0);
        free(cbs);
        if (watch)
            core_stall_quiescent(pe, sent, n);
        return;
    }
    int confirm = sent == recvd;
    if (q->watch && (!confirm || q->have_prev)) {
        /* The watch looks at two waves in a row only: work is going on, so it gives up
         * until the job has been quiet again for a while. */
        q->watch = 0;
        core_stall_busy(pe);
        if (!q->ncbs) {
            q->running = 0;
            q->have_prev = 0;
            return;
        }
    }
    /* Confirm a balanced wave at once; after an unbalanced or changed one, back off so
     * that waves do not keep idle PEs busy while work is still going on. */
    q->have_prev = 1;
    q->prev_sent = sent;
    q->prev_recvd = recvd;
    if (confirm) {
        q->start_at = 0;
    } else {
        q->start_at = core_now() + q->backoff;
        q->backoff = q->backoff * 2 > QD_BACKOFF_MAX ? QD_BACKOFF_MAX : q->backoff * 2;
    }
}

void core_qd_idle(core_pe_t *pe)
{
    core_qd_t *q = pe->qd;
    if (!q)
        return;
    if (q->active && q->kids_got == q->kids) {
        uint64_t c[2] = {q->sum_sent + pe->qd_sent, q->sum_recvd + pe->qd_recvd};
        q->active = 0;
        if (pe->my_pe == 0)
            wave_done(pe, c[0], c[1]);
        else
            qd_send(pe, topo_tree_parent(&pe->all, 0, pe->fanout, pe->my_pe),
                    CORE_K_QD_REPLY, q->wave, c, sizeof c);
    }
    if (pe->my_pe == 0 && q->running && !q->active && core_now() >= q->start_at)
        wave_start(pe);
}

double core_qd_next(core_pe_t *pe, double now)
{
    core_qd_t *q = pe->qd;
    if (!q || pe->my_pe != 0 || !q->running || q->active)
        return -1;
    return q->start_at > now ? q->start_at - now : 0;
}

tern_status_t tern_qd_start(const tern_callback_t *cb)
{
    core_pe_t *pe = core_pe_checked("tern_qd_start");
    if (!pe)
        return TERN_ERR_STATE;
    if (!cb || (cb->kind != TERN_CB_FUTURE && cb->kind != TERN_CB_SEND)) {
        util_log_error("tern_qd_start: %s", !cb ? "the callback is NULL"
                                                : "the callback names no future or method");
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, "tern_qd_start");
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_QD_START, pe->my_pe);
    tern_iov_t iov = {cb, sizeof *cb};
    return core_send_iov(pe, 0, &hdr, &iov, 1);
}

tern_status_t tern_qd_wait(void)
{
    core_pe_t *pe = core_pe_checked("tern_qd_wait");
    if (!pe)
        return TERN_ERR_STATE;
    if (!core_need_coroutine(pe, "tern_qd_wait"))
        return TERN_ERR_STATE;
    tern_future_t f;
    tern_status_t st = core_future_new(pe, "tern_qd_wait", 1, 1, CORE_FUT_QD, NULL, &f);
    if (st != TERN_OK)
        return st;
    tern_callback_t cb = tern_cb_future(&f);
    st = tern_qd_start(&cb);
    if (st == TERN_OK)
        st = tern_future_wait(&f);
    tern_future_free(&f);
    return st;
}
