/*
 * Channels: ordered streams between two chares (Charm4py's Channel), received from
 * coroutines.
 *
 * A channel is named by its two ends and an ordinal: the k-th channel chare A opens to
 * chare B pairs with the k-th channel B opens to A. Its state lives with the chare that
 * owns the end (ch->chans) and moves with it. A message is an ENTRY for the reserved
 * entry method CORE_EP_CHAN, so it reaches the remote end wherever it is (forwarded,
 * held, following a move) like any message to an element; it carries the sender's
 * identity, the ordinal and a sequence number, and the receiving end puts it back in
 * order. One that comes before its end is opened waits in an end opened for it.
 */
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"

#define CHAN_MAGIC 0x6368616eu

typedef struct core_chan_msg {
    struct core_chan_msg *next;
    uint64_t seq;
    tern_msg_t *m;
} core_chan_msg_t;

typedef struct core_chan {
    uint64_t rcid, rkey;   /* the other end's collection and key */
    uint32_t k;            /* ordinal among the owner's channels to that chare */
    uint32_t opened;       /* tern_channel_open made it (else made by an early message) */
    uint64_t send_seq;     /* next number to send */
    uint64_t recv_seq;     /* next number to hand out */
    core_chan_msg_t *head, *tail; /* in order from recv_seq on */
    core_chan_msg_t *held; /* further on, by number */
    core_waiter_t *waiters;
} core_chan_t;

typedef struct core_chans {
    uint32_t n, cap;
    core_chan_t **v;
} core_chans_t;

/* What a channel message carries before the payload (segment 0). */
typedef struct {
    uint64_t scid, skey;   /* the sender's collection and key */
    uint64_t seq;
    uint32_t k;
    uint32_t magic;
} chan_wire_t;

/* ---- finding ends ---- */

static tern_status_t remote_id(const char *call, const tern_proxy_t *r, uint64_t *key)
{
    switch (r->kind) {
    case TERN_PROXY_CHARE:
        *key = 0;
        return TERN_OK;
    case TERN_PROXY_GROUP_ELEM:
        *key = (uint64_t)r->idx[0];
        return TERN_OK;
    case TERN_PROXY_ARRAY_ELEM:
        return core_loc_key(call, TERN_PROXY_ARRAY, r->flags, r->ndims, r->dims, r->idx, key)
                   ? TERN_OK
                   : TERN_ERR_RANGE;
    default:
        util_log_error("%s: the remote end must be a single chare, a group member or an "
                       "array element (proxy kind %d)", call, r->kind);
        return TERN_ERR_INVALID;
    }
}

static core_chan_t *find(core_chare_t *ch, uint64_t rcid, uint64_t rkey, uint32_t k)
{
    core_chans_t *cs = ch->chans;
    for (uint32_t i = 0; cs && i < cs->n; i++) {
        core_chan_t *c = cs->v[i];
        if (c->rcid == rcid && c->rkey == rkey && c->k == k)
            return c;
    }
    return NULL;
}

static core_chan_t *add(core_chare_t *ch, uint64_t rcid, uint64_t rkey, uint32_t k)
{
    core_chans_t *cs = ch->chans;
    if (!cs && !(cs = ch->chans = calloc(1, sizeof *cs)))
        return NULL;
    if (cs->n == cs->cap) {
        uint32_t cap = cs->cap ? cs->cap * 2 : 4;
        core_chan_t **v = realloc(cs->v, cap * sizeof *v);
        if (!v)
            return NULL;
        cs->v = v;
        cs->cap = cap;
    }
    core_chan_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rcid = rcid;
    c->rkey = rkey;
    c->k = k;
    cs->v[cs->n++] = c;
    return c;
}

/* The calling chare's end of channel h; logs and returns NULL when there is none. */
static core_chan_t *end_of(const char *call, const void *self, const tern_channel_t *h,
                           core_chare_t **owner)
{
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return NULL;
    if (!h || h->magic != CHAN_MAGIC) {
        util_log_error("%s: not a channel made by tern_channel_open", call);
        return NULL;
    }
    uint64_t rkey;
    if (remote_id(call, &h->remote, &rkey) != TERN_OK)
        return NULL;
    core_chan_t *c = find(ch, h->remote.cid, rkey, h->k);
    if (!c || !c->opened) {
        util_log_error("%s: this chare has no such channel (opened by another chare?)", call);
        return NULL;
    }
    *owner = ch;
    return c;
}

/* ---- the calls ---- */

tern_status_t tern_channel_open(const void *self, const tern_proxy_t *remote,
                                tern_channel_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_channel_open");
    if (!pe)
        return TERN_ERR_STATE;
    core_chare_t *ch = core_chare_of("tern_channel_open", self);
    if (!ch)
        return TERN_ERR_INVALID;
    if (!remote || !out) {
        util_log_error("tern_channel_open: %s is NULL", !remote ? "remote" : "out");
        return TERN_ERR_INVALID;
    }
    uint64_t rkey;
    tern_status_t st = remote_id("tern_channel_open", remote, &rkey);
    if (st != TERN_OK)
        return st;
    /* The next ordinal to that chare: ends opened so far, plus one. */
    uint32_t k = 0;
    while (find(ch, remote->cid, rkey, k) && find(ch, remote->cid, rkey, k)->opened)
        k++;
    core_chan_t *c = find(ch, remote->cid, rkey, k);
    if (!c && !(c = add(ch, remote->cid, rkey, k)))
        return TERN_ERR_NOMEM;
    c->opened = 1;
    memset(out, 0, sizeof *out);
    out->remote = *remote;
    out->k = k;
    out->magic = CHAN_MAGIC;
    return TERN_OK;
}

tern_status_t tern_channel_send(const void *self, const tern_channel_t *h, const void *data,
                                size_t len)
{
    core_pe_t *pe = core_pe_checked("tern_channel_send");
    if (!pe)
        return TERN_ERR_STATE;
    core_chare_t *ch;
    core_chan_t *c = end_of("tern_channel_send", self, h, &ch);
    if (!c)
        return TERN_ERR_INVALID;
    tern_iov_t iov[2] = {{NULL, sizeof(chan_wire_t)}, {data, len}};
    tern_status_t st = core_iov_check("tern_channel_send", "payload", &iov[1], 1);
    if (st != TERN_OK)
        return st;
    if (pe->exiting)
        return core_exiting(pe, "tern_channel_send");
    chan_wire_t w = {.scid = ch->coll->cid, .skey = ch->lin, .seq = c->send_seq,
                     .k = c->k, .magic = CHAN_MAGIC};
    iov[0].base = &w;
    const tern_proxy_t *r = &h->remote;
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_ENTRY, pe->my_pe);
    hdr.u.entry.cid = r->cid;
    hdr.u.entry.ep = CORE_EP_CHAN;
    int dest;
    if (r->kind == TERN_PROXY_CHARE) {
        dest = r->pe;
    } else if (r->kind == TERN_PROXY_GROUP_ELEM) {
        dest = r->idx[0];
        hdr.ndims = 1;
        hdr.idx[0] = r->idx[0];
    } else {
        uint64_t key;
        remote_id("tern_channel_send", r, &key);
        hdr.ndims = r->ndims;
        memcpy(hdr.idx, r->idx, sizeof hdr.idx);
        dest = core_loc_dest(pe, r, key);
    }
    if (dest < 0 || dest >= pe->num_pes) {
        util_log_error("tern_channel_send: the remote end's PE %d is out of range", dest);
        return TERN_ERR_RANGE;
    }
    st = core_send_iov(pe, dest, &hdr, iov, 2);
    if (st == TERN_OK)
        c->send_seq++;
    return st;
}

/* Suspend the calling coroutine until c has its next message. */
static tern_status_t wait_ready(core_pe_t *pe, const char *call, core_chan_t *c)
{
    if (c->head)
        return TERN_OK;
    if (!core_need_coroutine(pe, call))
        return TERN_ERR_STATE;
    while (!c->head)
        core_wait_on(pe, &c->waiters, CORE_WAIT_CHANNEL, c->rcid, c->rkey);
    return TERN_OK;
}

tern_status_t tern_channel_recv(const void *self, const tern_channel_t *h, void *buf,
                                size_t cap, size_t *len)
{
    core_pe_t *pe = core_pe_checked("tern_channel_recv");
    if (!pe)
        return TERN_ERR_STATE;
    core_chare_t *ch;
    core_chan_t *c = end_of("tern_channel_recv", self, h, &ch);
    if (!c)
        return TERN_ERR_INVALID;
    if (cap && !buf) {
        util_log_error("tern_channel_recv: buf is NULL with cap %zu", cap);
        return TERN_ERR_INVALID;
    }
    tern_status_t st = wait_ready(pe, "tern_channel_recv", c);
    if (st != TERN_OK)
        return st;
    core_chan_msg_t *x = c->head;
    size_t n;
    const void *data = core_msg_seg(x->m, 1, &n);
    if (len)
        *len = n;
    if (n > cap) {
        util_log_error("tern_channel_recv: the message has %zu bytes, the buffer %zu (it "
                       "stays in the channel)", n, cap);
        return TERN_ERR_RANGE;
    }
    if (n)
        memcpy(buf, data, n);
    c->head = x->next;
    if (!c->head)
        c->tail = NULL;
    core_msg_release(&pe->pool, x->m);
    free(x);
    return TERN_OK;
}

int tern_channel_ready(const void *self, const tern_channel_t *h)
{
    core_chare_t *ch;
    core_chan_t *c = end_of("tern_channel_ready", self, h, &ch);
    return c && c->head != NULL;
}

int tern_channel_wait_any(const void *self, const tern_channel_t *hs, int n)
{
    core_pe_t *pe = core_pe_checked("tern_channel_wait_any");
    if (!pe)
        return -1;
    if (n < 1 || !hs) {
        util_log_error("tern_channel_wait_any: %d channels at %p", n, (const void *)hs);
        return -1;
    }
    core_chan_t *one[16], **cs = n <= 16 ? one : malloc((size_t)n * sizeof *cs);
    core_waiter_t wone[16], *ws = n <= 16 ? wone : malloc((size_t)n * sizeof *ws);
    int got = -1;
    if (!cs || !ws) {
        util_log_error("tern_channel_wait_any: out of memory for %d channels", n);
        goto out;
    }
    for (int i = 0; i < n; i++) {
        core_chare_t *ch;
        if (!(cs[i] = end_of("tern_channel_wait_any", self, &hs[i], &ch)))
            goto out;
        if (cs[i]->head) {
            got = i;
            goto out;
        }
    }
    core_ult_t *me = core_need_coroutine(pe, "tern_channel_wait_any");
    if (!me)
        goto out;
    while (got < 0) {
        /* One waiter node on every channel; the first message wakes us. */
        for (int i = 0; i < n; i++) {
            ws[i] = (core_waiter_t){me, cs[i]->waiters};
            cs[i]->waiters = &ws[i];
        }
        me->wait_kind = CORE_WAIT_CHANNEL;
        me->wait_id = cs[0]->rcid;
        me->wait_aux = cs[0]->rkey;
        core_ult_suspend(&pe->ults);
        me->wait_kind = CORE_WAIT_NONE;
        for (int i = 0; i < n; i++) { /* unhook the nodes not woken */
            for (core_waiter_t **pp = &cs[i]->waiters; *pp; pp = &(*pp)->next)
                if (*pp == &ws[i]) {
                    *pp = ws[i].next;
                    break;
                }
        }
        for (int i = 0; i < n && got < 0; i++)
            if (cs[i]->head)
                got = i;
    }
out:
    if (cs != one)
        free(cs);
    if (ws != wone)
        free(ws);
    return got;
}

/* ---- arrival ---- */

/* An ENTRY for CORE_EP_CHAN reached chare ch: it goes into its end, in order. */
void core_chan_deliver(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m)
{
    size_t wl, pl;
    const chan_wire_t *wp = core_msg_seg(m, 0, &wl);
    if (m->hdr.nsegs != 2 || wl != sizeof(chan_wire_t) || !core_msg_seg(m, 1, &pl))
        tern_abort("malformed channel message from PE %d", m->hdr.src_pe);
    chan_wire_t w;
    memcpy(&w, wp, sizeof w);
    if (w.magic != CHAN_MAGIC)
        tern_abort("malformed channel message from PE %d", m->hdr.src_pe);
    core_chan_t *c = find(ch, w.scid, w.skey, w.k);
    if (!c && !(c = add(ch, w.scid, w.skey, w.k)))
        tern_abort("out of memory receiving on a channel");
    if (!(m = core_msg_detach(&pe->pool, m)))
        tern_abort("out of memory keeping a channel message");
    core_chan_msg_t *x = malloc(sizeof *x);
    if (!x)
        tern_abort("out of memory keeping a channel message");
    x->seq = w.seq;
    x->m = m;
    x->next = NULL;
    if (w.seq < c->recv_seq)
        tern_abort("channel message %llu came twice", (unsigned long long)w.seq);
    if (w.seq != c->recv_seq) { /* ahead of one still on its way: held by number */
        core_chan_msg_t **pp = &c->held;
        while (*pp && (*pp)->seq < w.seq)
            pp = &(*pp)->next;
        x->next = *pp;
        *pp = x;
        return;
    }
    /* In order: it, and what it unblocks, are ready. */
    for (;;) {
        if (c->tail)
            c->tail->next = x;
        else
            c->head = x;
        c->tail = x;
        c->recv_seq++;
        x = c->held;
        if (!x || x->seq != c->recv_seq)
            break;
        c->held = x->next;
        x->next = NULL;
    }
    core_waiters_wake(pe, &c->waiters);
}

/* ---- moving with the chare, and freeing ---- */

typedef struct {
    uint64_t rcid, rkey, send_seq, recv_seq;
    uint32_t k, opened, nmsgs, pad;
} chan_packed_t;

static void each_msg(core_chan_t *c, void (*fn)(core_chan_msg_t *, void *), void *arg)
{
    for (core_chan_msg_t *x = c->head, *next; x; x = next) {
        next = x->next;
        fn(x, arg);
    }
    for (core_chan_msg_t *x = c->held, *next; x; x = next) {
        next = x->next;
        fn(x, arg);
    }
}

static void count_msg(core_chan_msg_t *x, void *arg)
{
    size_t *n = arg;
    *n += 16 + ((x->m->hdr.body_len + 7) & ~(size_t)7);
}

size_t core_chan_pack(core_chare_t *ch, unsigned char *out)
{
    core_chans_t *cs = ch->chans;
    if (!cs) { /* just the count */
        if (out)
            memset(out, 0, 8);
        return 8;
    }
    size_t n = 8;
    for (uint32_t i = 0; i < cs->n; i++) {
        n += sizeof(chan_packed_t);
        each_msg(cs->v[i], count_msg, &n);
    }
    if (!out)
        return n;
    unsigned char *p = out;
    uint64_t count = cs->n;
    memcpy(p, &count, 8);
    p += 8;
    for (uint32_t i = 0; i < cs->n; i++) {
        core_chan_t *c = cs->v[i];
        uint32_t nm = 0;
        for (core_chan_msg_t *x = c->head; x; x = x->next)
            nm++;
        for (core_chan_msg_t *x = c->held; x; x = x->next)
            nm++;
        chan_packed_t h = {c->rcid, c->rkey, c->send_seq, c->recv_seq, c->k, c->opened, nm, 0};
        memcpy(p, &h, sizeof h);
        p += sizeof h;
        core_chan_msg_t *lists[2] = {c->head, c->held};
        for (int l = 0; l < 2; l++)
            for (core_chan_msg_t *x = lists[l]; x; x = x->next) {
                uint64_t hd[2] = {x->seq, x->m->hdr.body_len};
                memcpy(p, hd, 16);
                p += 16;
                memcpy(p, x->m->body, x->m->hdr.body_len);
                p += (x->m->hdr.body_len + 7) & ~(size_t)7;
            }
    }
    return (size_t)(p - out);
}

/* Rebuild ch's ends from what core_chan_pack wrote; returns the bytes read (0 on a
 * malformed package). Messages are re-delivered: order and waiting follow. */
size_t core_chan_unpack(core_pe_t *pe, core_chare_t *ch, const unsigned char *in, size_t len)
{
    if (len < 8)
        return 0;
    uint64_t count;
    memcpy(&count, in, 8);
    const unsigned char *p = in + 8, *end = in + len;
    for (uint64_t i = 0; i < count; i++) {
        chan_packed_t h;
        if ((size_t)(end - p) < sizeof h)
            return 0;
        memcpy(&h, p, sizeof h);
        p += sizeof h;
        core_chan_t *c = add(ch, h.rcid, h.rkey, h.k);
        if (!c)
            tern_abort("out of memory moving a chare's channels");
        c->opened = h.opened;
        c->send_seq = h.send_seq;
        c->recv_seq = h.recv_seq;
        for (uint32_t j = 0; j < h.nmsgs; j++) {
            uint64_t hd[2];
            if ((size_t)(end - p) < 16)
                return 0;
            memcpy(hd, p, 16);
            p += 16;
            size_t pad = (hd[1] + 7) & ~(uint64_t)7;
            if ((size_t)(end - p) < pad)
                return 0;
            tern_msg_t *m = core_msg_alloc(&pe->pool, hd[1]);
            if (!m)
                tern_abort("out of memory moving a chare's channels");
            core_hdr_init(&m->hdr, CORE_K_ENTRY, pe->my_pe);
            m->hdr.nsegs = 2;
            m->hdr.body_len = hd[1];
            memcpy(m->body, p, hd[1]);
            p += pad;
            core_chan_msg_t *x = malloc(sizeof *x);
            if (!x)
                tern_abort("out of memory moving a chare's channels");
            x->seq = hd[0];
            x->m = m;
            x->next = NULL;
            /* In the order they were packed: first the ready ones, then the held. */
            core_chan_msg_t **pp = x->seq < c->recv_seq ? &c->head : &c->held;
            if (pp == &c->head) {
                if (c->tail)
                    c->tail->next = x;
                else
                    c->head = x;
                c->tail = x;
            } else {
                while (*pp)
                    pp = &(*pp)->next;
                *pp = x;
            }
        }
    }
    return (size_t)(p - in);
}

static void free_msg(core_chan_msg_t *x, void *arg)
{
    core_msg_release(&((core_pe_t *)arg)->pool, x->m);
    free(x);
}

void core_chan_free(core_pe_t *pe, core_chare_t *ch)
{
    core_chans_t *cs = ch->chans;
    if (!cs)
        return;
    for (uint32_t i = 0; i < cs->n; i++) {
        each_msg(cs->v[i], free_msg, pe);
        free(cs->v[i]);
    }
    free(cs->v);
    free(cs);
    ch->chans = NULL;
}
