/*
 * Arrays whose elements are inserted: tern_array_insert, and the census that
 * tern_array_done_inserting starts.
 *
 * An insertion is a message to the PE that builds the element (the one asked for, or the
 * element's home). That PE tells the home (CORE_K_LOC, BORN), which releases what was
 * held for the element. An inserted element is "fresh": no reduction tree counts it yet,
 * so its contributions wait inside it.
 *
 * The census, run by the array's root PE (the one that created it), counts the elements
 * and makes a new membership version for reductions (core/reduce.c), valid from a
 * reduction number T on. It goes in waves down a tree over every PE; each PE answers
 * with its counts: insertions it asked for, insertions of elements homed here that were
 * made, elements here (counted and fresh), moves it sent whose arrival it has not heard
 * of, the lowest reduction number its counted elements are at, and the highest reduction
 * it has seen. From its first wave on, a PE makes no move (they wait).
 *
 * The first wave fixes T: no reduction from T on has begun anywhere. Later waves carry T,
 * and every PE holds back contributions to reductions from T on (inside their elements):
 * those reductions will count the new elements. The root needs two waves in a row in
 * which every insertion was made, no move is under way, every counted element has made
 * its contributions below T and no PE saw a reduction from T on (one that began before a
 * PE heard of T raises T, and the waves go on): a move or an insertion under way during
 * the first shows in the second. Then it sends the outcome (CORE_K_FREEZE: T, the
 * version's number, which PEs hold elements) down the tree, and answers the callers of
 * tern_array_done_inserting. Each PE then counts its elements from reduction T on (fresh
 * ones start at T with what they held), builds the tree over the PEs that hold elements,
 * lets the held contributions go, and fails the messages still held for elements that
 * were never inserted.
 */
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/loc.h"
#include "core/pe.h"
#include "core/registry.h"
#include "topology/tree.h"
#include "util/log.h"

#define CENSUS_RETRY_S 0.001 /* between waves that found things under way */
#define CENSUS_WARN_S 10.0   /* say why when it has not settled after this long */

/* One PE's (then one subtree's) answer to a wave. */
typedef struct {
    uint64_t issued, homed;   /* insertions asked for; of elements homed here, made */
    uint64_t present, fresh;  /* elements: counted, not yet counted */
    uint64_t moves;           /* moves under way */
    uint64_t min_seq, max_seq; /* reduction numbers the counted elements are at */
    uint64_t hwm;             /* one past the highest reduction number seen */
} census_counts_t;

/* A caller of tern_array_done_inserting waiting for the outcome. */
typedef struct census_waiter {
    struct census_waiter *next;
    tern_future_t f;
} census_waiter_t;

/* A PE's part in the wave under way: its answer and its children's. */
typedef struct core_census {
    uint32_t wave;
    int nkids, got;
    census_counts_t sum;
    unsigned char *pes;       /* bitmap: PEs holding elements */
    /* At the root: */
    int running;
    int again;                /* done_inserting called again meanwhile */
    int ok_waves;             /* consecutive waves that found everything settled */
    uint64_t hold_from;       /* T, once the first wave has fixed it (else UINT64_MAX) */
    double since;
    int warned;
    uint32_t next_wave, next_ver;
    census_waiter_t *waiting; /* answered by this census */
    census_waiter_t *next_waiting; /* asked while it ran: the next one answers them */
} core_census_t;

static size_t bitmap_bytes(core_pe_t *pe) { return ((size_t)pe->num_pes + 7) / 8; }

static core_census_t *census_of(core_pe_t *pe, core_coll_t *c)
{
    if (!c->census) {
        c->census = calloc(1, sizeof *c->census);
        if (!c->census || !(c->census->pes = calloc(bitmap_bytes(pe), 1)))
            tern_abort("out of memory counting the elements of array %#llx",
                       (unsigned long long)c->cid);
    }
    return c->census;
}

static int root_of(const core_coll_t *c) { return (int)(c->cid >> 40); }

static void census_send(core_pe_t *pe, core_coll_t *c, int kind, int dest, uint32_t wave,
                        const void *a, size_t alen, const void *b, size_t blen)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, kind, pe->my_pe);
    hdr.u.census = (core_part_census_t){.cid = c->cid, .wave = wave,
                                        .hold_from = c->census ? c->census->hold_from
                                                               : UINT64_MAX};
    tern_iov_t iov[2] = {{a, alen}, {b, blen}};
    tern_status_t st = core_send_iov(pe, dest, &hdr, iov, a ? 2 : 0);
    if (st != TERN_OK)
        tern_abort("counting the elements of array %#llx: a message to PE %d failed: %s",
                   (unsigned long long)c->cid, dest, tern_strerror(st));
}

/* ---- insertion ---- */

tern_status_t tern_array_insert(const tern_proxy_t *array, const int32_t *idx, int pe_to,
                                const tern_iov_t *args, int nargs)
{
    core_pe_t *pe = core_pe_checked("tern_array_insert");
    if (!pe)
        return TERN_ERR_STATE;
    if (!array || !idx || (array->kind != TERN_PROXY_ARRAY &&
                           array->kind != TERN_PROXY_ARRAY_ELEM)) {
        util_log_error("tern_array_insert: %s", !array ? "the proxy is NULL"
                                                : !idx ? "idx is NULL"
                                                       : "the proxy names no array");
        return TERN_ERR_INVALID;
    }
    tern_status_t st = core_iov_check("tern_array_insert", "constructor arguments", args,
                                      nargs);
    if (st != TERN_OK)
        return st;
    if (pe->exiting)
        return core_exiting(pe, "tern_array_insert");
    int32_t ix[TERN_MAX_DIMS] = {0};
    for (int i = 0; i < array->ndims && i < TERN_MAX_DIMS; i++)
        ix[i] = idx[i];
    uint64_t key;
    if (array->ndims < 1 || array->ndims > TERN_MAX_DIMS ||
        !core_loc_key("tern_array_insert", TERN_PROXY_ARRAY, array->flags, array->ndims,
                      array->dims, ix, &key))
        return TERN_ERR_RANGE;
    if (pe_to == TERN_ANY_PE) {
        pe_to = core_loc_home(pe, array->map, array->flags, array->ndims, array->dims, ix, key);
    } else if (pe_to < 0 || pe_to >= pe->num_pes) {
        util_log_error("tern_array_insert: PE %d is out of range (the job has %d PEs)", pe_to,
                       pe->num_pes);
        return TERN_ERR_RANGE;
    }
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_INSERT, pe->my_pe);
    hdr.u.create.cid = array->cid;
    hdr.u.create.type = array->type;
    hdr.u.create.ckind = TERN_PROXY_ARRAY;
    hdr.ndims = array->ndims;
    memcpy(hdr.idx, ix, sizeof hdr.idx);
    st = core_send_iov(pe, pe_to, &hdr, args, nargs);
    if (st == TERN_OK) {
        core_coll_t *c = core_coll_get(pe, array->cid, 1);
        c->ins_issued++;
        c->ins_closed = 0;
    }
    return st;
}

void core_h_insert(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_live(pe, m->hdr.u.create.cid, m);
    if (!c)
        return;
    const core_type_t *t = core_type_by_gid(c->type);
    uint64_t key;
    char buf[96];
    if (!t || m->hdr.u.create.type != c->type || m->hdr.ndims != c->ndims ||
        !core_loc_key(NULL, c->kind, c->pflags, c->ndims, c->dims, m->hdr.idx, &key))
        tern_abort("malformed insertion from PE %d", m->hdr.src_pe);
    if (util_hashmap_get(&c->elems, key))
        tern_abort("tern_array_insert: element %s of array %#llx (type '%s') exists already",
                   core_loc_idx_str(c->ndims, m->hdr.idx, buf, sizeof buf),
                   (unsigned long long)c->cid, t->name);
    core_chare_t *ch = core_chare_alloc(pe, c, t, key, m->hdr.idx);
    ch->fresh = 1;
    ch->bcast_seq = c->bcast_done;
    c->nfresh++;
    c->ins_closed = 0;
    core_coll_add_local(c, ch);
    /* A new life: whatever this PE believed of the index before no longer holds. */
    pe->where_version++; /* section routes cached by it are stale */
    util_hashmap_del(&c->where, key);
    if (t->ctor)
        t->ctor(ch->state, m);
    core_msg_release(&pe->pool, m);
    int home = core_coll_home(pe, c, ch->idx, key);
    if (home == pe->my_pe) {
        c->ins_homed++;
        core_loc_release(pe, c, key);
    } else {
        core_loc_send(pe, c, key, ch->idx, home, pe->my_pe, 0, CORE_LOC_BORN);
    }
}

/* ---- the census ---- */

tern_status_t tern_array_done_inserting(const tern_proxy_t *array)
{
    core_pe_t *pe = core_pe_checked("tern_array_done_inserting");
    if (!pe)
        return TERN_ERR_STATE;
    if (!array || (array->kind != TERN_PROXY_ARRAY && array->kind != TERN_PROXY_ARRAY_ELEM)) {
        util_log_error("tern_array_done_inserting: %s", !array ? "the proxy is NULL"
                                                               : "the proxy names no array");
        return TERN_ERR_INVALID;
    }
    if (pe->exiting)
        return core_exiting(pe, "tern_array_done_inserting");
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_CENSUS_START, pe->my_pe);
    hdr.u.census.cid = array->cid;
    /* From a coroutine, wait for the outcome: reductions started afterwards count the new
     * elements. */
    int wait = core_ult_current(&pe->ults) != NULL;
    tern_future_t f;
    tern_status_t st;
    if (wait) {
        if ((st = tern_future_create(1, &f)) != TERN_OK)
            return st;
        hdr.flags |= CORE_HDR_WANT_DONE;
        hdr.reply_pe = f.pe;
        hdr.reply_id = f.id;
    }
    st = core_send_iov(pe, (int)(array->cid >> 40), &hdr, NULL, 0);
    if (wait) {
        if (st == TERN_OK)
            st = tern_future_wait(&f);
        tern_future_free(&f);
    }
    return st;
}

static void wave_start(core_pe_t *pe, core_coll_t *c)
{
    core_census_t *k = census_of(pe, c);
    census_send(pe, c, CORE_K_CENSUS_ASK, pe->my_pe, ++k->next_wave, NULL, 0, NULL, 0);
}

static void wave_retry(void *arg)
{
    core_coll_t *c = arg;
    core_pe_t *pe = core_pe_current();
    if (pe && !pe->exiting)
        wave_start(pe, c);
}

static void census_begin(core_pe_t *pe, core_coll_t *c)
{
    core_census_t *k = c->census;
    k->running = 1;
    k->ok_waves = 0;
    k->hold_from = UINT64_MAX;
    k->since = core_now();
    k->warned = 0;
    wave_start(pe, c);
}

void core_h_census_start(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.census.cid, 1);
    core_census_t *k = census_of(pe, c);
    if (m->hdr.flags & CORE_HDR_WANT_DONE) {
        census_waiter_t *w = malloc(sizeof *w);
        if (!w)
            tern_abort("out of memory counting the elements of array %#llx",
                       (unsigned long long)c->cid);
        w->f = (tern_future_t){m->hdr.reply_pe, 0, m->hdr.reply_id};
        census_waiter_t **list = k->running ? &k->next_waiting : &k->waiting;
        w->next = *list;
        *list = w;
    }
    core_msg_release(&pe->pool, m);
    if (k->running) {
        k->again = 1; /* insertions made before this call may have come too late */
        return;
    }
    census_begin(pe, c);
}

static void counts_add(census_counts_t *a, const census_counts_t *b)
{
    a->issued += b->issued;
    a->homed += b->homed;
    a->present += b->present;
    a->fresh += b->fresh;
    a->moves += b->moves;
    a->min_seq = b->min_seq < a->min_seq ? b->min_seq : a->min_seq;
    a->max_seq = b->max_seq > a->max_seq ? b->max_seq : a->max_seq;
    a->hwm = b->hwm > a->hwm ? b->hwm : a->hwm;
}

static void wave_done(core_pe_t *pe, core_coll_t *c);

/* My subtree has answered: pass the sum up, or conclude at the root. */
static void wave_reply(core_pe_t *pe, core_coll_t *c)
{
    core_census_t *k = c->census;
    if (k->got < k->nkids)
        return;
    int root = root_of(c);
    if (pe->my_pe == root) {
        wave_done(pe, c);
        return;
    }
    int parent = topo_tree_parent(&pe->all, root, pe->fanout, pe->my_pe);
    census_send(pe, c, CORE_K_CENSUS_REPLY, parent, k->wave, &k->sum, sizeof k->sum, k->pes,
                bitmap_bytes(pe));
}

void core_h_census_ask(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_live(pe, m->hdr.u.census.cid, m);
    if (!c)
        return;
    core_tree_forward(pe, m);
    core_census_t *k = census_of(pe, c);
    k->wave = m->hdr.u.census.wave;
    uint64_t hold = m->hdr.u.census.hold_from;
    core_msg_release(&pe->pool, m);
    if (hold != c->hold_from) {
        /* Contributions to reductions from `hold` on wait for the outcome; a raised mark
         * lets those below it go (their reductions began before the mark was known). */
        c->hold_from = hold;
        for (uint64_t i = 0; i < c->nlocal; i++)
            if (c->local[i]->hcontribs && !c->local[i]->fresh)
                core_red_release_held(pe, c->local[i], hold);
    }
    int kids[TOPO_TREE_MAX_KIDS(64)];
    k->nkids = topo_tree_children(&pe->all, root_of(c), pe->fanout, pe->my_pe, kids);
    k->got = 0;
    c->census_busy = 1; /* moves wait until the outcome */
    census_counts_t *s = &k->sum;
    memset(s, 0, sizeof *s);
    memset(k->pes, 0, bitmap_bytes(pe));
    s->issued = c->ins_issued;
    s->homed = c->ins_homed;
    s->moves = c->moves_out;
    s->min_seq = UINT64_MAX;
    s->hwm = c->red_hwm;
    for (uint64_t i = 0; i < c->nlocal; i++) {
        core_chare_t *ch = c->local[i];
        if (ch->fresh) {
            s->fresh++;
            continue;
        }
        s->present++;
        s->min_seq = ch->red_seq < s->min_seq ? ch->red_seq : s->min_seq;
        s->max_seq = ch->red_seq > s->max_seq ? ch->red_seq : s->max_seq;
    }
    if (c->nlocal)
        k->pes[pe->my_pe / 8] |= (unsigned char)(1u << (pe->my_pe % 8));
    wave_reply(pe, c);
}

void core_h_census_reply(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_get(pe, m->hdr.u.census.cid, 0);
    core_census_t *k = c ? c->census : NULL;
    size_t alen, blen;
    const void *a = core_msg_seg(m, 0, &alen);
    const unsigned char *b = core_msg_seg(m, 1, &blen);
    if (!k || m->hdr.u.census.wave != k->wave || m->hdr.nsegs != 2 ||
        alen != sizeof(census_counts_t) || blen != bitmap_bytes(pe))
        tern_abort("malformed census answer from PE %d", m->hdr.src_pe);
    census_counts_t sub;
    memcpy(&sub, a, sizeof sub);
    counts_add(&k->sum, &sub);
    for (size_t i = 0; i < blen; i++)
        k->pes[i] |= b[i];
    core_msg_release(&pe->pool, m);
    k->got++;
    wave_reply(pe, c);
}

static void wave_done(core_pe_t *pe, core_coll_t *c)
{
    core_census_t *k = c->census;
    const census_counts_t *s = &k->sum;
    uint64_t top = s->present && s->max_seq > s->hwm ? s->max_seq : s->hwm;
    int settled = s->issued == s->homed && s->moves == 0, quick = 0;
    if (k->hold_from == UINT64_MAX) {
        /* The first wave fixes T: no reduction from there on has begun. */
        k->hold_from = top;
        settled = 0;
        quick = 1;
    } else if (s->hwm > k->hold_from) {
        k->hold_from = s->hwm; /* one began before its PE heard of T */
        settled = 0;
    } else {
        settled = settled && (s->present == 0 || s->min_seq >= k->hold_from);
    }
    k->ok_waves = settled ? k->ok_waves + 1 : 0;
    if (k->ok_waves < 2) {
        double waited = core_now() - k->since;
        if (!settled && waited > CENSUS_WARN_S && !k->warned) {
            k->warned = 1;
            util_log_warn("tern_array_done_inserting: array %#llx has not settled after %.0f "
                          "s: %llu of %llu insertions made, %llu moves under way, its "
                          "elements at reductions %llu to %llu (all must reach %llu)",
                          (unsigned long long)c->cid, waited, (unsigned long long)s->homed,
                          (unsigned long long)s->issued, (unsigned long long)s->moves,
                          (unsigned long long)(s->present ? s->min_seq : 0),
                          (unsigned long long)s->max_seq, (unsigned long long)k->hold_from);
        }
        /* Things under way: give them a moment. */
        if (settled || quick)
            wave_start(pe, c);
        else if (tern_timer_after(CENSUS_RETRY_S, wave_retry, c) != TERN_OK)
            tern_abort("counting the elements of array %#llx: no timer",
                       (unsigned long long)c->cid);
        return;
    }
    /* The outcome: T, the version, the total, which PEs hold elements. */
    uint64_t out[3];
    out[0] = k->hold_from;
    out[1] = ++k->next_ver;
    out[2] = s->present + s->fresh;
    census_send(pe, c, CORE_K_FREEZE, pe->my_pe, k->wave, out, sizeof out, k->pes,
                bitmap_bytes(pe));
    while (k->waiting) {
        census_waiter_t *w = k->waiting;
        k->waiting = w->next;
        core_future_answer(pe, &w->f, -1, 1, NULL, 0);
        free(w);
    }
    k->running = 0;
    if (k->again) {
        k->again = 0;
        k->waiting = k->next_waiting;
        k->next_waiting = NULL;
        census_begin(pe, c);
    }
}

void core_h_freeze(core_pe_t *pe, tern_msg_t *m)
{
    core_coll_t *c = core_coll_live(pe, m->hdr.u.census.cid, m);
    if (!c)
        return;
    core_tree_forward(pe, m);
    size_t alen, blen;
    const void *a = core_msg_seg(m, 0, &alen);
    const unsigned char *bits = core_msg_seg(m, 1, &blen);
    uint64_t out[3];
    if (m->hdr.nsegs != 2 || alen != sizeof out || blen != bitmap_bytes(pe))
        tern_abort("malformed census outcome from PE %d", m->hdr.src_pe);
    memcpy(out, a, sizeof out);
    uint64_t from = out[0];
    uint32_t ver = (uint32_t)out[1];
    int *pes = malloc((size_t)pe->num_pes * sizeof *pes);
    if (!pes)
        tern_abort("out of memory building a reduction tree");
    int n = 0, mine = 0;
    for (int p = 0; p < pe->num_pes; p++) {
        if (bits[p / 8] & (1u << (p % 8))) {
            pes[n++] = p;
            mine |= p == pe->my_pe;
        }
    }
    core_msg_release(&pe->pool, m);
    c->census_busy = 0;
    c->ins_closed = 1;
    c->hold_from = UINT64_MAX;
    c->total = out[2];
    c->has_members = 1;
    /* From reduction `from` on, this PE counts the elements it holds. A fresh element
     * that came after this PE's answer waits for the next census if this PE holds none
     * in the version's tree. Elements that came from a PE that had the outcome first are
     * in the new version already. */
    core_chare_t **fresh = malloc((c->nlocal + 1) * sizeof *fresh);
    uint64_t nfresh = 0;
    if (!fresh)
        tern_abort("out of memory counting the elements of array %#llx",
                   (unsigned long long)c->cid);
    for (uint64_t i = 0; i < c->nlocal; i++) {
        core_chare_t *ch = c->local[i];
        if (!ch->fresh && ch->red_ver == ver)
            continue;
        if (!mine) {
            if (!ch->fresh) {
                char buf[96];
                tern_abort("element %s of array %#llx is on PE %d, which the census found "
                           "empty", core_loc_idx_str(c->ndims, ch->idx, buf, sizeof buf),
                           (unsigned long long)c->cid, pe->my_pe);
            }
            continue;
        }
        if (ch->fresh) {
            ch->fresh = 0;
            ch->red_seq = from;
            c->nfresh--;
            fresh[nfresh++] = ch;
        }
        ch->red_pe = pe->my_pe;
        ch->red_ver = ver;
    }
    core_red_version(pe, c, ver, from, pes, n);
    /* What was held (fresh elements' contributions, and those from T on) goes now. */
    for (uint64_t i = 0; i < nfresh; i++)
        core_red_release_held(pe, fresh[i], UINT64_MAX);
    free(fresh);
    for (uint64_t i = 0; i < c->nlocal; i++)
        if (c->local[i]->hcontribs && !c->local[i]->fresh)
            core_red_release_held(pe, c->local[i], UINT64_MAX);
    core_waiters_wake(pe, &c->fresh_waiters);
    core_loc_fail_held(pe, c);
}

void core_census_free(core_pe_t *pe, core_coll_t *c)
{
    (void)pe;
    if (c->census) {
        for (census_waiter_t *w = c->census->waiting, *n; w; w = n) {
            n = w->next;
            free(w);
        }
        for (census_waiter_t *w = c->census->next_waiting, *n; w; w = n) {
            n = w->next;
            free(w);
        }
        free(c->census->pes);
    }
    free(c->census);
    c->census = NULL;
}
