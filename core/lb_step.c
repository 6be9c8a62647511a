/*
 * Load balancing steps of a balanced array: the load database, when a step runs, and the
 * centralised protocol that gathers loads, runs the strategy and moves elements.
 *
 * Loads: core_invoke adds the wall time of each entry method of a balanced array's
 * element to the element (ch->lb_time) and to the PE (pe->lb_obj_time); the scheduler
 * adds the time it sleeps (pe->idle_time). A PE's background load over an interval is
 * what is left of its wall time: the runtime, other collections, fixed work.
 *
 * A step (number s), driven by the array's creating PE (the root):
 *   start   AtSync: the elements' tern_at_sync calls are an empty reduction whose callback
 *           (CORE_CB_LB) tells the root that all have called. Periodic: a timer at the
 *           root, every lb_period seconds.
 *   QUERY   root -> every PE.
 *   STATS   PE -> root: a record (key, load, fixed) per local element, its background
 *           load and the bytes its balancer moves sent since the last step. Counters reset.
 *   DECIDE  root -> every PE: the moves of its elements, and how many elements will
 *           arrive there (AtSync). The root runs the strategy when every PE answered.
 *   resume  AtSync: a PE that has sent its movers and received its arrivals sends every
 *           local element its type's resume entry method. An element moved by the step is
 *           resumed where it arrives.
 * Moves are ordinary migrations (core/migrate.c), marked so that the arrival is counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/handler.h"
#include "core/invoke.h"
#include "core/pe.h"
#include "core/registry.h"
#include "lb/lb.h"
#include "util/hashmap.h"
#include "util/log.h"
#include "util/options.h"

enum { LB_QUERY, LB_STATS, LB_DECIDE, LB_START, LB_NKINDS };

typedef struct {
    uint64_t cid;
    uint32_t step;
    uint32_t n;      /* records or moves in the body */
    uint64_t count;  /* STATS: bytes its moves sent; DECIDE: arrivals to expect */
    double bg;       /* STATS: background seconds */
    double wall;     /* STATS: seconds of the interval */
    uint32_t flags;  /* LB_AT_SYNC */
    uint32_t nedges; /* STATS: edges of the communication graph after the records */
} lb_part_t;
_Static_assert(sizeof(lb_part_t) <= CORE_PART_MAX, "the part fits the header");

#define LB_AT_SYNC 0x1u

typedef struct {
    uint64_t key;
    double load;
    uint32_t fixed;
    uint32_t pad;
} lb_rec_t;

typedef struct {
    uint64_t key;
    int32_t dest;
    int32_t pad;
} lb_move_t;

/* An edge of the communication graph on the wire: messages from one element to another. */
typedef struct {
    uint64_t src, dst; /* keys */
    uint64_t bytes;
    uint32_t msgs;
    uint32_t pad;
} lb_wedge_t;

/* What an element sent to other elements of its array since the last step: a few
 * destinations in a small open-addressed table; the rest counted only. */
#define LB_COMM_SLOTS 8
typedef struct core_lbcomm {
    uint64_t key[LB_COMM_SLOTS];
    uint64_t bytes[LB_COMM_SLOTS];
    uint32_t msgs[LB_COMM_SLOTS];
    uint8_t used[LB_COMM_SLOTS];
    uint32_t n;
    uint64_t other_msgs, other_bytes;
} core_lbcomm_t;

/* The root's state of an array. */
typedef struct {
    double period;
    int busy;               /* a step is gathering */
    uint32_t step;
    int nstats;
    size_t nobj, cap;
    uint64_t *key;
    double *load;
    int32_t *from;
    uint8_t *fixed;
    double *bg;             /* [npes] */
    double wall;            /* the longest interval a PE reported */
    uint64_t bytes;         /* moved by the previous step */
    double predicted;       /* max/avg the previous step's placement predicted; 0: none */
    lb_wedge_t *edges;      /* the communication graph gathered */
    size_t nedges, edges_cap;
    tern_lb_report_t last;
    int have_last;
} lb_root_t;

/* Every PE's state of a balanced array. */
typedef struct core_lbc {
    core_coll_t *coll;
    double snap_wall, snap_idle, snap_obj; /* the PE's counters at the last step */
    uint64_t bytes_out;     /* sent by this PE's balancer moves since the last step */
    uint32_t step;          /* the last step decided here */
    int waiting;            /* AtSync: decided, arrivals still to come */
    uint64_t expect, arrived;
    lb_root_t *root;        /* on the root PE */
} core_lbc_t;

static uint8_t lb_kinds[LB_NKINDS];

static double now_s(void) { return core_now(); }
_Static_assert(sizeof(int) == sizeof(int32_t), "host numbers pass as int32_t");

static lb_part_t *part_of(tern_msg_t *m) { return (lb_part_t *)(void *)m->hdr.u.raw; }

static void lb_send(core_pe_t *pe, int dest, int which, const lb_part_t *p, const void *body,
                    size_t len)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, lb_kinds[which], pe->my_pe);
    memcpy(hdr.u.raw, p, sizeof *p);
    tern_iov_t iov = {body, len};
    tern_status_t st = core_send_iov(pe, dest, &hdr, &iov, len ? 1 : 0);
    if (st != TERN_OK)
        tern_abort("load balancing: a message to PE %d failed: %s", dest, tern_strerror(st));
}

/* ---- options ---- */

static int take_arg(int *argc, char **argv, int i, int n)
{
    for (int j = i; j + n <= *argc; j++)
        argv[j] = argv[j + n];
    *argc -= n;
    return i - 1;
}

tern_status_t core_lb_options(core_pe_t *pe, int *argc, char **argv)
{
    const char *name = NULL, *env = util_opt_str("TERN_LB");
    if (env && *env)
        name = env;
    for (int i = 1; argc && argv && i < *argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "+balancer") == 0 || strcmp(a, "--balancer") == 0)) {
            if (i + 1 >= *argc) {
                util_log_error("tern_run: %s needs a strategy name", a);
                return TERN_ERR_INVALID;
            }
            name = argv[i + 1];
            i = take_arg(argc, argv, i, 2);
        } else if (strncmp(a, "--balancer=", 11) == 0) {
            name = a + 11;
            i = take_arg(argc, argv, i, 1);
        }
    }
    pe->lb_strategy = NULL;
    if (name && strcasecmp(name, "none") != 0) {
        pe->lb_strategy = lb_strategy_find(name);
        if (!pe->lb_strategy) {
            char list[256] = "";
            for (int i = 0; lb_strategy_at(i); i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                         i ? ", " : "", lb_strategy_at(i)->name);
            util_log_error("tern_run: unknown load balancing strategy '%s' (known: %s)", name,
                           list);
            return TERN_ERR_INVALID;
        }
    }
    long report;
    if (util_opt_double("TERN_LB_TOLERANCE", 1.0, 10.0, &pe->lb_tolerance) != TERN_OK ||
        util_opt_long("TERN_LB_REPORT", 0, 2, &report) != TERN_OK)
        return TERN_ERR_INVALID;
    pe->lb_report = (int)report;
    const char *clk = util_opt_str("TERN_LB_CLOCK");
    if (clk && strcmp(clk, "cpu") != 0 && strcmp(clk, "wall") != 0) {
        util_log_error("tern_run: TERN_LB_CLOCK=%s: wall or cpu", clk);
        return TERN_ERR_INVALID;
    }
    pe->lb_cpu_clock = clk && strcmp(clk, "cpu") == 0;
    return TERN_OK;
}

const char *tern_lb_strategy(void)
{
    core_pe_t *pe = core_pe_current();
    return pe && pe->lb_strategy ? pe->lb_strategy->name : NULL;
}

/* ---- the state ---- */

static core_lbc_t *lbc_get(core_pe_t *pe, core_coll_t *c)
{
    if (c->lb)
        return c->lb;
    core_lbc_t *l = calloc(1, sizeof *l);
    if (!l)
        tern_abort("out of memory setting up load balancing");
    l->coll = c;
    l->snap_wall = now_s();
    l->snap_idle = pe->idle_time;
    l->snap_obj = pe->lb_obj_time;
    c->lb = l;
    return l;
}

static void root_free(lb_root_t *r)
{
    if (!r)
        return;
    free(r->key);
    free(r->load);
    free(r->from);
    free(r->fixed);
    free(r->bg);
    free(r->edges);
    free(r);
}

void core_lb_coll_free(core_pe_t *pe, core_coll_t *c)
{
    (void)pe;
    if (!c->lb)
        return;
    root_free(c->lb->root);
    free(c->lb);
    c->lb = NULL;
}

static void root_begin(core_pe_t *pe, core_lbc_t *l, uint32_t flags);

static void periodic_tick(void *arg)
{
    core_lbc_t *l = arg;
    core_pe_t *pe = core_pe_current();
    if (!pe || pe->exiting)
        return;
    if (!l->root->busy)
        root_begin(pe, l, 0);
}

static void arm_timer(core_pe_t *pe, core_lbc_t *l)
{
    if (core_timer_internal(pe, l->root->period, periodic_tick, l) != TERN_OK)
        tern_abort("out of memory arming the load balancing timer");
}

/* A balanced array is built here (every PE). */
void core_lb_coll_init(core_pe_t *pe, core_coll_t *c)
{
    core_lbc_t *l = lbc_get(pe, c);
    if (l->root && l->root->period > 0 && pe->lb_strategy)
        arm_timer(pe, l);
}

/* At creation, on the creating PE (before the collection is built anywhere). */
tern_status_t core_lb_configure(core_pe_t *pe, core_coll_t *c, double period)
{
    core_lbc_t *l = lbc_get(pe, c);
    l->root = calloc(1, sizeof *l->root);
    if (!l->root)
        return TERN_ERR_NOMEM;
    l->root->period = period;
    l->root->bg = calloc((size_t)pe->num_pes, sizeof *l->root->bg);
    if (!l->root->bg)
        return TERN_ERR_NOMEM;
    return TERN_OK;
}

/* ---- the communication graph ---- */

void core_lb_note_send(core_pe_t *pe, uint64_t cid, uint64_t key, size_t bytes)
{
    core_inv_t *inv = pe->inv_plain;
    if (!inv) {
        core_ult_t *u = core_ult_current(&pe->ults);
        inv = u ? u->local : NULL;
    }
    core_chare_t *ch = inv ? inv->ch : NULL;
    if (!ch || ch->coll->cid != cid || ch->lin == key || !ch->coll->lb)
        return; /* not from an element of the array to another */
    core_lbcomm_t *t = ch->comm;
    if (!t && !(t = ch->comm = calloc(1, sizeof *t)))
        return; /* no memory: the graph misses it */
    uint32_t h = (uint32_t)((key * 0x9e3779b97f4a7c15ULL) >> 61); /* 3 bits */
    for (int i = 0; i < LB_COMM_SLOTS; i++) {
        uint32_t j = (h + (uint32_t)i) & (LB_COMM_SLOTS - 1);
        if (t->used[j] && t->key[j] == key) {
            t->msgs[j]++;
            t->bytes[j] += bytes;
            return;
        }
        if (!t->used[j]) {
            t->used[j] = 1;
            t->key[j] = key;
            t->msgs[j] = 1;
            t->bytes[j] = bytes;
            t->n++;
            return;
        }
    }
    t->other_msgs++;
    t->other_bytes += bytes;
}

void core_lb_chare_free(core_chare_t *ch)
{
    free(ch->comm);
    ch->comm = NULL;
}

/* ---- the elements' calls ---- */

static core_chare_t *balanced_self(const char *call, const void *self)
{
    core_chare_t *ch = core_chare_of(call, self);
    if (!ch)
        return NULL;
    if (ch->coll->kind != TERN_PROXY_ARRAY || !(ch->coll->pflags & TERN_PROXY_BALANCED)) {
        util_log_error("%s: the caller is not an element of an array created with "
                       "TERN_ARRAY_AT_SYNC or an lb_period", call);
        return NULL;
    }
    return ch;
}

static void send_resume(core_pe_t *pe, core_chare_t *ch)
{
    const core_type_t *t = core_type_by_gid(ch->coll->type);
    if (!t || !t->has_resume)
        return;
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_ENTRY, pe->my_pe);
    hdr.u.entry.cid = ch->coll->cid;
    hdr.u.entry.ep = core_ep_local(t->resume_ep)->gid;
    hdr.ndims = ch->coll->ndims;
    memcpy(hdr.idx, ch->idx, sizeof hdr.idx);
    tern_status_t st = core_send_iov(pe, pe->my_pe, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("resuming an element after load balancing failed: %s", tern_strerror(st));
}

tern_status_t tern_at_sync(const void *self)
{
    core_pe_t *pe = core_pe_checked("tern_at_sync");
    if (!pe)
        return TERN_ERR_STATE;
    core_chare_t *ch = balanced_self("tern_at_sync", self);
    if (!ch)
        return TERN_ERR_INVALID;
    if (!(ch->coll->pflags & TERN_PROXY_AT_SYNC)) {
        util_log_error("tern_at_sync: the array was not created with TERN_ARRAY_AT_SYNC");
        return TERN_ERR_INVALID;
    }
    if (ch->lbf & CORE_LBF_SYNCED) {
        util_log_error("tern_at_sync: called twice before the element was resumed");
        return TERN_ERR_STATE;
    }
    if (pe->exiting)
        return core_exiting(pe, "tern_at_sync");
    if (!pe->lb_strategy) { /* no balancing: on at once */
        send_resume(pe, ch);
        return TERN_OK;
    }
    ch->lbf |= CORE_LBF_SYNCED;
    tern_callback_t cb = {.kind = CORE_CB_LB};
    cb.proxy.cid = ch->coll->cid;
    return core_red_contribute_internal(pe, "tern_at_sync", ch, &cb);
}

tern_status_t tern_set_load(const void *self, double seconds)
{
    core_pe_t *pe = core_pe_checked("tern_set_load");
    if (!pe)
        return TERN_ERR_STATE;
    core_chare_t *ch = balanced_self("tern_set_load", self);
    if (!ch)
        return TERN_ERR_INVALID;
    if (!(seconds >= 0) || seconds > 1e12) {
        util_log_error("tern_set_load: %g is not a load in seconds", seconds);
        return TERN_ERR_INVALID;
    }
    ch->lb_time = seconds;
    ch->lbf |= CORE_LBF_USER;
    return TERN_OK;
}

tern_status_t tern_type_resume(tern_type_t type, tern_ep_t ep)
{
    return core_type_set_resume("tern_type_resume", type, ep);
}

tern_status_t tern_lb_last_report(const tern_proxy_t *array, tern_lb_report_t *out)
{
    core_pe_t *pe = core_pe_checked("tern_lb_last_report");
    if (!pe)
        return TERN_ERR_STATE;
    if (!array || !out) {
        util_log_error("tern_lb_last_report: %s is NULL", !array ? "array" : "out");
        return TERN_ERR_INVALID;
    }
    core_coll_t *c = core_coll_get(pe, array->cid, 0);
    if (!c || !c->lb || !c->lb->root || !c->lb->root->have_last)
        return TERN_ERR_STATE;
    *out = c->lb->root->last;
    return TERN_OK;
}

/* ---- the protocol ---- */

/* The reduction of the elements' tern_at_sync calls completed (on its root PE). */
void core_lb_all_synced(core_pe_t *pe, uint64_t cid)
{
    lb_part_t p = {.cid = cid, .flags = LB_AT_SYNC};
    lb_send(pe, (int)(cid >> 40), LB_START, &p, NULL, 0);
}

static void h_start(core_pe_t *pe, tern_msg_t *m)
{
    lb_part_t p = *part_of(m);
    core_msg_release(&pe->pool, m);
    core_coll_t *c = core_coll_get(pe, p.cid, 0);
    if (!c || !c->lb || !c->lb->root)
        tern_abort("load balancing: a step of array %#llx asked on PE %d, not its root",
                   (unsigned long long)p.cid, pe->my_pe);
    root_begin(pe, c->lb, p.flags);
}

static void root_begin(core_pe_t *pe, core_lbc_t *l, uint32_t flags)
{
    lb_root_t *r = l->root;
    r->busy = 1;
    r->step++;
    r->nstats = 0;
    r->nobj = 0;
    r->nedges = 0;
    r->wall = 0;
    r->bytes = 0;
    lb_part_t p = {.cid = l->coll->cid, .step = r->step, .flags = flags};
    for (int d = 0; d < pe->num_pes; d++)
        lb_send(pe, d, LB_QUERY, &p, NULL, 0);
}

static void h_query(core_pe_t *pe, tern_msg_t *m)
{
    lb_part_t p = *part_of(m);
    int root = m->hdr.src_pe;
    core_coll_t *c = core_coll_live(pe, p.cid, m);
    if (!c)
        return;
    core_msg_release(&pe->pool, m);
    core_lbc_t *l = lbc_get(pe, c);
    size_t nedges = 0;
    for (uint64_t i = 0; i < c->nlocal; i++)
        if (c->local[i]->comm && !core_chare_leaving(c->local[i]))
            nedges += c->local[i]->comm->n;
    size_t len = c->nlocal * sizeof(lb_rec_t) + nedges * sizeof(lb_wedge_t);
    unsigned char *body = malloc(len ? len : 1);
    if (!body)
        tern_abort("out of memory gathering loads of %llu elements",
                   (unsigned long long)c->nlocal);
    uint32_t n = 0;
    int mobile = (c->pflags & TERN_PROXY_MOBILE) != 0;
    for (uint64_t i = 0; i < c->nlocal; i++) {
        core_chare_t *ch = c->local[i];
        if (core_chare_leaving(ch))
            continue; /* it is going: its new PE may count it */
        lb_rec_t x = {.key = ch->lin, .load = ch->lb_time, .fixed = !mobile || ch->running};
        memcpy(body + n++ * sizeof x, &x, sizeof x);
        ch->lb_time = 0;
        ch->lbf &= (uint8_t)~CORE_LBF_USER;
    }
    unsigned char *e = body + (size_t)n * sizeof(lb_rec_t);
    for (uint64_t i = 0; i < c->nlocal; i++) {
        core_chare_t *ch = c->local[i];
        if (!ch->comm || core_chare_leaving(ch))
            continue;
        for (int j = 0; j < LB_COMM_SLOTS; j++) {
            if (!ch->comm->used[j])
                continue;
            lb_wedge_t w = {.src = ch->lin, .dst = ch->comm->key[j],
                            .bytes = ch->comm->bytes[j], .msgs = ch->comm->msgs[j]};
            memcpy(e, &w, sizeof w);
            e += sizeof w;
        }
        memset(ch->comm, 0, sizeof *ch->comm);
    }
    double now = now_s();
    double wall = now - l->snap_wall;
    double bg = wall - (pe->idle_time - l->snap_idle) - (pe->lb_obj_time - l->snap_obj);
    p.n = n;
    p.count = l->bytes_out;
    p.bg = bg > 0 ? bg : 0;
    p.wall = wall;
    l->snap_wall = now;
    l->snap_idle = pe->idle_time;
    l->snap_obj = pe->lb_obj_time;
    l->bytes_out = 0;
    p.nedges = (uint32_t)nedges;
    lb_send(pe, root, LB_STATS, &p, body, (size_t)(e - body));
    free(body);
}

static void root_grow(lb_root_t *r, size_t need)
{
    if (need <= r->cap)
        return;
    size_t cap = r->cap ? r->cap : 1024;
    while (cap < need)
        cap *= 2;
    uint64_t *k = realloc(r->key, cap * sizeof *k);
    if (k)
        r->key = k;
    double *ld = realloc(r->load, cap * sizeof *ld);
    if (ld)
        r->load = ld;
    int32_t *f = realloc(r->from, cap * sizeof *f);
    if (f)
        r->from = f;
    uint8_t *x = realloc(r->fixed, cap);
    if (x)
        r->fixed = x;
    if (!k || !ld || !f || !x)
        tern_abort("out of memory gathering the loads of %zu elements", need);
    r->cap = cap;
}

static void root_decide(core_pe_t *pe, core_lbc_t *l, uint32_t flags);

static void h_stats(core_pe_t *pe, tern_msg_t *m)
{
    lb_part_t p = *part_of(m);
    int src = m->hdr.src_pe;
    core_coll_t *c = core_coll_get(pe, p.cid, 0);
    lb_root_t *r = c && c->lb ? c->lb->root : NULL;
    if (!r || p.step != r->step)
        tern_abort("load balancing: loads of step %u of array %#llx from PE %d came to PE "
                   "%d, which is not waiting for them", p.step, (unsigned long long)p.cid,
                   src, pe->my_pe);
    size_t len;
    const lb_rec_t *rec = core_msg_seg(m, 0, &len);
    if (len != (size_t)p.n * sizeof *rec + (size_t)p.nedges * sizeof(lb_wedge_t))
        tern_abort("load balancing: malformed loads from PE %d", src);
    if (r->nedges + p.nedges > r->edges_cap) {
        size_t cap = r->edges_cap ? r->edges_cap : 1024;
        while (cap < r->nedges + p.nedges)
            cap *= 2;
        lb_wedge_t *ne = realloc(r->edges, cap * sizeof *ne);
        if (!ne)
            tern_abort("out of memory gathering the communication graph");
        r->edges = ne;
        r->edges_cap = cap;
    }
    if (p.nedges)
        memcpy(r->edges + r->nedges, rec + p.n, (size_t)p.nedges * sizeof(lb_wedge_t));
    r->nedges += p.nedges;
    root_grow(r, r->nobj + p.n);
    for (uint32_t i = 0; i < p.n; i++) {
        lb_rec_t x;
        memcpy(&x, rec + i, sizeof x);
        r->key[r->nobj] = x.key;
        r->load[r->nobj] = x.load;
        r->from[r->nobj] = src;
        r->fixed[r->nobj] = (uint8_t)(x.fixed != 0);
        r->nobj++;
    }
    core_msg_release(&pe->pool, m);
    r->bg[src] = p.bg;
    if (p.wall > r->wall)
        r->wall = p.wall;
    r->bytes += p.count;
    if (++r->nstats == pe->num_pes)
        root_decide(pe, c->lb, p.flags);
}

static void report(core_pe_t *pe, core_lbc_t *l, const lb_input_t *in, const int32_t *to,
                   const double *before, const double *after)
{
    lb_root_t *r = l->root;
    tern_lb_report_t *x = &r->last;
    if (pe->lb_report >= 1) {
        char prev[160] = "";
        if (r->predicted > 0 && x->avg_before > 0)
            snprintf(prev, sizeof prev, "; last step moved %.1f KiB, predicted max/avg "
                     "%.3f, measured %.3f", (double)x->bytes_moved / 1024, r->predicted,
                     x->max_before / x->avg_before);
        fprintf(stderr,
                "tern: lb: array %#llx step %u (%s): %u objects on %d PEs, max/avg %.3f -> "
                "%.3f (bound %.3f), %u moves, strategy %.3f ms, %llu messages between "
                "elements, %.0f%% -> %.0f%% of their bytes between PEs%s\n",
                (unsigned long long)l->coll->cid, x->step, pe->lb_strategy->name, x->objects,
                x->pes, x->avg_before > 0 ? x->max_before / x->avg_before : 0,
                x->avg_after > 0 ? x->max_after / x->avg_after : 0,
                x->avg_before > 0 ? x->bound / x->avg_before : 0, x->moves,
                x->strategy_s * 1e3, (unsigned long long)x->comm_msgs,
                100 * x->comm_off_before, 100 * x->comm_off_after, prev);
    }
    if (pe->lb_report >= 2) {
        for (int p = 0; p < in->npes; p++) {
            uint32_t out = 0, inn = 0;
            for (uint32_t i = 0; i < in->nobjs; i++) {
                out += in->from[i] == p && to[i] != p;
                inn += in->from[i] != p && to[i] == p;
            }
            fprintf(stderr, "tern: lb:   PE %d: background %.4f s, load %.4f -> %.4f s, %u "
                    "out, %u in\n", p, in->bg[p], before[p], after[p], out, inn);
        }
    }
}

static void root_decide(core_pe_t *pe, core_lbc_t *l, uint32_t flags)
{
    lb_root_t *r = l->root;
    int np = pe->num_pes;
    const topo_hosts_t *hosts = pe->hosts.npes ? &pe->hosts : NULL;
    lb_input_t in = {.nobjs = (uint32_t)r->nobj,
                     .npes = np,
                     .load = r->load,
                     .from = r->from,
                     .fixed = r->fixed,
                     .bg = r->bg,
                     .host = hosts ? (const int32_t *)hosts->pe_host : NULL,
                     .nhosts = hosts ? hosts->nhosts : 1,
                     .tolerance = pe->lb_tolerance};
    /* The communication graph, by object number. */
    lb_edge_t *edges = malloc((r->nedges ? r->nedges : 1) * sizeof *edges);
    util_hashmap_t num;
    util_hashmap_init(&num);
    if (!edges)
        tern_abort("out of memory building the communication graph");
    for (size_t i = 0; i < r->nobj; i++)
        if (util_hashmap_put(&num, r->key[i], (void *)(uintptr_t)(i + 1)) != TERN_OK)
            tern_abort("out of memory building the communication graph");
    size_t ne = 0;
    uint64_t comm_msgs = 0, comm_bytes = 0;
    for (size_t k = 0; k < r->nedges; k++) {
        uintptr_t a = (uintptr_t)util_hashmap_get(&num, r->edges[k].src);
        uintptr_t b = (uintptr_t)util_hashmap_get(&num, r->edges[k].dst);
        comm_msgs += r->edges[k].msgs;
        comm_bytes += r->edges[k].bytes;
        if (a && b) /* both measured this step */
            edges[ne++] = (lb_edge_t){(uint32_t)(a - 1), (uint32_t)(b - 1), r->edges[k].msgs,
                                      r->edges[k].bytes};
    }
    util_hashmap_fini(&num);
    in.edges = edges;
    in.nedges = ne;
    int32_t *to = malloc((r->nobj ? r->nobj : 1) * sizeof *to);
    double *before = malloc((size_t)np * sizeof *before), *after = malloc((size_t)np * sizeof *after);
    uint64_t *expect = calloc((size_t)np, sizeof *expect);
    uint32_t *nmoves = calloc((size_t)np, sizeof *nmoves);
    if (!to || !before || !after || !expect || !nmoves)
        tern_abort("out of memory balancing %zu elements", r->nobj);
    lb_quality_t qb, qa;
    double t0 = now_s();
    if (pe->lb_strategy->fn(&in, to) != 0)
        memcpy(to, r->from, r->nobj * sizeof *to); /* no memory: nothing moves */
    double spent = now_s() - t0;
    if (lb_quality(&in, r->from, before, &qb) || lb_quality(&in, to, after, &qa))
        tern_abort("out of memory measuring a placement");
    double off_before = 0, off_after = 0, all = 0;
    for (size_t k = 0; k < ne; k++) {
        all += (double)edges[k].bytes;
        if (r->from[edges[k].a] != r->from[edges[k].b])
            off_before += (double)edges[k].bytes;
        if (to[edges[k].a] != to[edges[k].b])
            off_after += (double)edges[k].bytes;
    }
    tern_lb_report_t *x = &r->last;
    double prev_pred = r->predicted;
    *x = (tern_lb_report_t){.step = r->step, .objects = (uint32_t)r->nobj, .moves = qa.moves,
                            .pes = np, .max_before = qb.max, .avg_before = qb.avg,
                            .max_after = qa.max, .avg_after = qa.avg, .bound = qb.bound,
                            .strategy_s = spent, .bytes_moved = r->bytes,
                            .comm_msgs = comm_msgs, .comm_bytes = comm_bytes,
                            .comm_off_before = all > 0 ? off_before / all : 0,
                            .comm_off_after = all > 0 ? off_after / all : 0};
    r->have_last = 1;
    r->predicted = prev_pred;
    if (pe->trace) /* the step on the root's track: moves, and max/avg before and after */
        core_trace_lb(pe, r->step, qa.moves, qb.avg > 0 ? qb.max / qb.avg : 0,
                      qa.avg > 0 ? qa.max / qa.avg : 0, spent * 1e6);
    if (pe->stats)
        core_stats_lb(pe, qa.moves, qb.avg > 0 ? qb.max / qb.avg : 0,
                      qa.avg > 0 ? qa.max / qa.avg : 0);
    report(pe, l, &in, to, before, after);
    r->predicted = qa.avg > 0 ? qa.max / qa.avg : 0;

    /* Each PE's moves, and what arrives where. */
    size_t *start = calloc((size_t)np + 1, sizeof *start);
    lb_move_t *mv = malloc((qa.moves ? qa.moves : 1) * sizeof *mv);
    if (!start || !mv)
        tern_abort("out of memory sending %u moves", qa.moves);
    for (size_t i = 0; i < r->nobj; i++)
        if (to[i] != r->from[i]) {
            start[r->from[i] + 1]++;
            expect[to[i]]++;
        }
    for (int p = 0; p < np; p++)
        start[p + 1] += start[p];
    for (size_t i = 0; i < r->nobj; i++)
        if (to[i] != r->from[i])
            mv[start[r->from[i]] + nmoves[r->from[i]]++] =
                (lb_move_t){.key = r->key[i], .dest = to[i]};
    r->busy = 0;
    for (int p = 0; p < np; p++) {
        lb_part_t part = {.cid = l->coll->cid, .step = r->step, .n = nmoves[p],
                          .count = expect[p], .flags = flags};
        lb_send(pe, p, LB_DECIDE, &part, mv + start[p], nmoves[p] * sizeof *mv);
    }
    if (!(flags & LB_AT_SYNC) && r->period > 0)
        arm_timer(pe, l);
    free(start);
    free(mv);
    free(to);
    free(before);
    free(after);
    free(expect);
    free(nmoves);
    free(edges);
}

/* AtSync: resume the local elements once the step's arrivals are all here. */
static void maybe_resume(core_pe_t *pe, core_lbc_t *l)
{
    if (!l->waiting || l->arrived < l->expect)
        return;
    l->waiting = 0;
    l->arrived -= l->expect;
    l->expect = 0;
    core_coll_t *c = l->coll;
    for (uint64_t i = 0; i < c->nlocal; i++) {
        core_chare_t *ch = c->local[i];
        if (!(ch->lbf & CORE_LBF_SYNCED) || core_chare_leaving(ch))
            continue;
        ch->lbf &= (uint8_t)~CORE_LBF_SYNCED;
        send_resume(pe, ch);
    }
}

static void h_decide(core_pe_t *pe, tern_msg_t *m)
{
    lb_part_t p = *part_of(m);
    core_coll_t *c = core_coll_live(pe, p.cid, m);
    if (!c)
        return;
    core_lbc_t *l = lbc_get(pe, c);
    size_t len;
    const lb_move_t *mv = core_msg_seg(m, 0, &len);
    if (len != (size_t)p.n * sizeof *mv)
        tern_abort("load balancing: malformed decision from PE %d", m->hdr.src_pe);
    for (uint32_t i = 0; i < p.n; i++) {
        lb_move_t x;
        memcpy(&x, mv + i, sizeof x);
        core_chare_t *ch = core_coll_member(c, x.key);
        if (!ch || core_chare_leaving(ch) || x.dest == pe->my_pe) {
            if (p.flags & LB_AT_SYNC)
                tern_abort("load balancing: element %llu of array %#llx, to move to PE %d, "
                           "is not on PE %d", (unsigned long long)x.key,
                           (unsigned long long)c->cid, x.dest, pe->my_pe);
            continue; /* periodic: it moved meanwhile */
        }
        core_chare_move_lb(pe, ch, x.dest);
    }
    core_msg_release(&pe->pool, m);
    l->step = p.step;
    if (p.flags & LB_AT_SYNC) {
        l->waiting = 1;
        l->expect = p.count;
        maybe_resume(pe, l);
    }
}

/* An element moved by a step arrived here (core/migrate.c). */
void core_lb_arrived(core_pe_t *pe, core_coll_t *c)
{
    core_lbc_t *l = lbc_get(pe, c);
    l->arrived++;
    maybe_resume(pe, l);
}

void core_lb_moved_out(core_pe_t *pe, core_coll_t *c, size_t bytes)
{
    lbc_get(pe, c)->bytes_out += bytes;
}

tern_status_t core_lb_register(void)
{
    static const core_handler_def_t defs[LB_NKINDS] = {
        [LB_QUERY] = {"lb.query", h_query, sizeof(lb_part_t), 0},
        [LB_STATS] = {"lb.stats", h_stats, sizeof(lb_part_t), 0},
        [LB_DECIDE] = {"lb.decide", h_decide, sizeof(lb_part_t), 0},
        [LB_START] = {"lb.start", h_start, sizeof(lb_part_t), 0},
    };
    for (int i = 0; i < LB_NKINDS; i++) {
        tern_status_t st = core_handler_register(&defs[i], &lb_kinds[i]);
        if (st != TERN_OK && st != TERN_ERR_EXISTS)
            return st;
    }
    return TERN_OK;
}
