/*
 * Broadcasts to a mobile array: every element gets each one exactly once, in order,
 * wherever it is when the broadcast passes.
 *
 * The array's root PE (the one that created it) numbers its broadcasts: a sender sends
 * to the root, which gives the next number and starts the tree there. So every PE sees
 * them in the same order, and each counts those it has delivered (c->bcast_done); each
 * element counts those it has received (bcast_seq).
 *
 * A PE delivers broadcast b to a member whose count is b - 1. A member whose count is b
 * or more already had it (on the PE it came from): skipped. A member further behind is
 * still owed earlier ones: b waits with it (ch->bheld) until they come.
 *
 * An element that leaves PE p after p delivered d broadcasts may arrive at q after q
 * delivered more: it missed those. p keeps a record of it (c->departed) and sends every
 * broadcast it delivers after d to the element, point to point, until q says how far it
 * was when the element came (CORE_K_ARRIVED): q delivers the later ones itself.
 * Duplicates are dropped by the count; what p held for the element follows it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/invoke.h"
#include "core/loc.h"
#include "core/pe.h"
#include "util/log.h"

typedef struct core_bheld {
    struct core_bheld *next;
    uint64_t seq;
    tern_msg_t *m;
} core_bheld_t;

typedef struct core_departed {
    struct core_departed *next;
    uint64_t key;
    int32_t idx[TERN_MAX_DIMS];
    uint32_t epoch;   /* the element's, as it left */
    uint64_t from;    /* broadcasts delivered here when it left */
    uint64_t limit;   /* those its new PE delivered when it came; UINT64_MAX until known */
} core_departed_t;

/* Run broadcast m (number seq) on ch, holding one reference to m. */
static void run(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m, uint64_t seq)
{
    ch->bcast_seq = seq;
    m->nmembers++;
    core_invoke(pe, ch, m);
}

/* Offer broadcast m (number seq) to ch: run it, drop it or keep it; takes one reference
 * to m over. */
static void offer(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m, uint64_t seq)
{
    if (seq <= ch->bcast_seq) {
        core_msg_unref(pe, m); /* had it */
        return;
    }
    if (seq > ch->bcast_seq + 1 || core_chare_leaving(ch)) {
        /* An element still owed earlier ones, or about to leave: it waits with it (and
         * follows it if it leaves). */
        core_bheld_t **pp = &ch->bheld;
        while (*pp && (*pp)->seq < seq)
            pp = &(*pp)->next;
        if (*pp && (*pp)->seq == seq) {
            core_msg_unref(pe, m);
            return;
        }
        core_bheld_t *h = malloc(sizeof *h);
        if (!h)
            tern_abort("out of memory holding a broadcast");
        h->seq = seq;
        h->m = m;
        h->next = *pp;
        *pp = h;
        return;
    }
    run(pe, ch, m, seq);
    core_abcast_resume(pe, ch);
}

void core_abcast_resume(core_pe_t *pe, core_chare_t *ch)
{
    /* What waited for the last one run (unless ch is about to leave again). */
    while (ch->bheld && ch->bheld->seq <= ch->bcast_seq + 1 && !core_chare_leaving(ch)) {
        core_bheld_t *h = ch->bheld;
        ch->bheld = h->next;
        if (h->seq <= ch->bcast_seq)
            core_msg_unref(pe, h->m);
        else
            run(pe, ch, h->m, h->seq);
        free(h);
    }
}

/* Send a copy of broadcast m (number seq) to element key/idx of c, wherever it is. */
static void send_copy(core_pe_t *pe, core_coll_t *c, const tern_msg_t *m, uint64_t seq,
                      uint64_t key, const int32_t *idx)
{
    tern_msg_t *cp = core_msg_alloc(&pe->pool, m->hdr.body_len);
    if (!cp)
        tern_abort("out of memory copying a broadcast");
    cp->hdr = m->hdr;
    cp->hdr.kind = CORE_K_BCAST_ELEM;
    cp->hdr.flags &= (uint8_t)(CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET);
    cp->hdr.hops = 0;
    cp->hdr.src_pe = pe->my_pe;
    cp->hdr.u.bcast.seq = seq;
    cp->hdr.ndims = c->ndims;
    memcpy(cp->hdr.idx, idx, sizeof cp->hdr.idx);
    if (m->hdr.body_len)
        memcpy(cp->body, m->body, m->hdr.body_len);
    void *v = util_hashmap_get(&c->where, key);
    int dest = v && core_where_pe(v) >= 0 ? core_where_pe(v)
                                          : core_coll_home(pe, c, idx, key);
    if (dest == pe->my_pe) {
        pe->qd_sent++; /* as core_send_iov counts a message to this PE */
        core_enqueue(pe, cp);
        return;
    }
    tern_status_t st = core_send_msg_remote(pe, dest, cp);
    if (st != TERN_OK)
        tern_abort("sending a broadcast on to a moved element failed: %s", tern_strerror(st));
}

void core_abcast_deliver(core_pe_t *pe, core_coll_t *c, tern_msg_t *m)
{
    uint64_t seq = m->hdr.u.bcast.seq;
    if (seq != c->bcast_done + 1)
        tern_abort("broadcast %llu to array %#llx came after %llu: out of order",
                   (unsigned long long)seq, (unsigned long long)c->cid,
                   (unsigned long long)c->bcast_done);
    c->bcast_done = seq;
    m->refs = 1;
    m->nmembers = 0;
    for (uint64_t i = 0; i < c->nlocal; i++) {
        m->refs++;
        offer(pe, c->local[i], m, seq);
    }
    for (core_departed_t **pp = &c->departed; *pp;) {
        core_departed_t *d = *pp;
        if (seq > d->from && seq <= d->limit)
            send_copy(pe, c, m, seq, d->key, d->idx);
        if (c->bcast_done >= d->limit) {
            *pp = d->next;
            free(d);
        } else {
            pp = &d->next;
        }
    }
    core_msg_unref(pe, m);
}

void core_h_bcast_elem(core_pe_t *pe, tern_msg_t *m)
{
    core_chare_t *ch = core_elem_msg_target(pe, m); /* u.bcast starts as u.entry does */
    if (!ch)
        return;
    if (!(m = core_msg_detach(&pe->pool, m))) /* it may wait with the element */
        tern_abort("out of memory keeping a broadcast");
    m->refs = 1;
    m->nmembers = 0;
    offer(pe, ch, m, m->hdr.u.bcast.seq);
}

void core_abcast_leave(core_pe_t *pe, core_coll_t *c, core_chare_t *ch, int dest)
{
    core_departed_t *d = calloc(1, sizeof *d);
    if (!d)
        tern_abort("out of memory recording a move");
    d->key = ch->lin;
    memcpy(d->idx, ch->idx, sizeof d->idx);
    d->epoch = ch->epoch;
    d->from = c->bcast_done;
    d->limit = UINT64_MAX;
    d->next = c->departed;
    c->departed = d;
    /* What waited here for earlier broadcasts follows it (after the move: in order). */
    while (ch->bheld) {
        core_bheld_t *h = ch->bheld;
        ch->bheld = h->next;
        send_copy(pe, c, h->m, h->seq, ch->lin, ch->idx);
        core_msg_unref(pe, h->m);
        free(h);
    }
    (void)dest;
}

void core_abcast_arrived(core_pe_t *pe, core_coll_t *c, uint64_t key, uint32_t epoch,
                         uint64_t done_there)
{
    (void)pe;
    for (core_departed_t **pp = &c->departed; *pp; pp = &(*pp)->next) {
        core_departed_t *d = *pp;
        if (d->key != key || d->epoch + 1 != epoch)
            continue;
        d->limit = done_there;
        if (c->bcast_done >= d->limit) {
            *pp = d->next;
            free(d);
        }
        return;
    }
}

void core_abcast_drop(core_pe_t *pe, core_chare_t *ch)
{
    while (ch->bheld) {
        core_bheld_t *h = ch->bheld;
        ch->bheld = h->next;
        core_msg_unref(pe, h->m);
        free(h);
    }
}

void core_abcast_free(core_pe_t *pe, core_coll_t *c)
{
    (void)pe;
    while (c->departed) {
        core_departed_t *d = c->departed;
        c->departed = d->next;
        free(d);
    }
}
