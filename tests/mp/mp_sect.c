/*
 * Sections of groups and arrays.
 *
 *   mp_sect MODE
 *
 *   random   two 2-D arrays of one type and a group: random sections (random lists,
 *            slices, splits by a predicate, combines, also across the two arrays, and of
 *            sections), each checked against a serial computation of its members: a
 *            multicast (every member adds a value once: sums per element compared), a
 *            tern_call that completes once per member, a sum and a gather in member order
 *   migrate  multicasts to a section whose members move to a random PE on each one: every
 *            member gets every multicast once
 *   allreduce  members of a section allreduce from a coroutine: each gets the sum
 *   constrained  a group on every other PE (tern_group_create_on): members on the PEs
 *            listed, a section reduction over them
 *   errors   bad sections and calls: errors naming the call, no abort
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define NSECT 24  /* random sections */
#define NMOVE 40  /* multicasts in mode migrate */

static tern_type_t T_EL, T_GR, T_OTHER, T_CG;
static tern_ep_t EP_TOUCH, EP_HIT, EP_RED, EP_REPORT, EP_MOVEHIT, EP_ARED, EP_GHIT, EP_GREPORT,
    EP_OTHER_HIT, EP_CG_RED;

typedef struct {
    int64_t lin;      /* global number: array a, element i -> a * 10000 + i */
    int64_t hits;     /* sum of the values multicast to it */
    int64_t count;    /* multicasts received */
    uint64_t rng;
} el_t;

static void el_ctor(void *self, const tern_msg_t *args)
{
    el_t *e = self;
    int64_t which;
    memcpy(&which, tern_msg_data(args), sizeof which);
    const int32_t *idx = tern_self_index(self);
    const tern_proxy_t me = tern_self_collection(self);
    e->lin = which * 10000 + idx[0] * me.dims[1] + idx[1];
    e->rng = (uint64_t)e->lin * 31 + 7;
}

static void el_hit(void *self, const tern_msg_t *msg)
{
    el_t *e = self;
    int64_t v;
    memcpy(&v, tern_msg_data(msg), sizeof v);
    e->hits += v;
    e->count++;
}

/* touch: no payload (a multicast without one, then with one, to the same section). */
static void el_touch(void *self, const tern_msg_t *msg)
{
    CHECK_EQ(tern_msg_size(msg), 0);
    ((el_t *)self)->count++;
}

/* red: contribute lin to a sum and to a gather over the section given. */
static void el_red(void *self, const tern_msg_t *msg)
{
    el_t *e = self;
    struct {
        tern_proxy_t sec;
        tern_future_t f[2];
    } a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    tern_callback_t c0 = tern_cb_future(&a.f[0]), c1 = tern_cb_future(&a.f[1]);
    CHECK_OK(tern_section_contribute(self, &a.sec, &e->lin, sizeof e->lin,
                                     TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &c0));
    CHECK_OK(tern_section_contribute(self, &a.sec, &e->lin, sizeof e->lin, TERN_REDUCER_GATHER,
                                     &c1));
}

static void el_report(void *self, const tern_msg_t *msg)
{
    (void)msg;
    el_t *e = self;
    int64_t r[3] = {e->lin, e->hits, e->count};
    tern_return(r, sizeof r);
}

static void el_movehit(void *self, const tern_msg_t *msg)
{
    el_hit(self, msg);
    el_t *e = self;
    CHECK_OK(tern_migrate(self, (int)(mp_rand(&e->rng) % (uint64_t)tern_num_pes())));
}

static void el_ared(void *self, const tern_msg_t *msg)
{
    el_t *e = self;
    struct {
        tern_proxy_t sec;
        tern_future_t done;
        int64_t want;
    } a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    int64_t sum = 0;
    size_t len = 0;
    CHECK_OK(tern_section_allreduce(self, &a.sec, &e->lin, sizeof e->lin,
                                    TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &sum, sizeof sum,
                                    &len));
    CHECK_EQ(len, sizeof sum);
    CHECK_EQ(sum, a.want);
    CHECK_OK(tern_future_set(&a.done, NULL, 0));
}

typedef struct {
    int64_t hits;
} gr_t;

static void gr_hit(void *self, const tern_msg_t *msg)
{
    gr_t *g = self;
    int64_t v;
    memcpy(&v, tern_msg_data(msg), sizeof v);
    g->hits += v;
}

static void gr_report(void *self, const tern_msg_t *msg)
{
    (void)msg;
    gr_t *g = self;
    tern_return(&g->hits, sizeof g->hits);
}

/* A constrained group's member: on the PE its index names; adds its PE to a sum over
 * the section. */
typedef struct {
    int64_t pe, arg;
} cg_t;

static void cg_ctor(void *self, const tern_msg_t *args)
{
    cg_t *c = self;
    c->pe = tern_my_pe();
    CHECK_EQ(tern_self_index(self)[0], c->pe);
    CHECK_EQ(tern_msg_size(args), sizeof c->arg);
    memcpy(&c->arg, tern_msg_data(args), sizeof c->arg);
}

static void cg_red(void *self, const tern_msg_t *msg)
{
    cg_t *c = self;
    struct {
        tern_proxy_t sec;
        tern_future_t f;
    } a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    CHECK_EQ(c->pe, tern_my_pe());
    int64_t v = c->pe * 1000 + c->arg;
    tern_callback_t cb = tern_cb_future(&a.f);
    CHECK_OK(tern_section_contribute(self, &a.sec, &v, sizeof v,
                                     TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &cb));
}

static void run_constrained(void)
{
    int np = tern_num_pes(), pes[64], n = 0;
    for (int p = np - 1; p >= 0; p -= 2) /* every other PE, from the last */
        pes[n++] = p;
    int64_t arg = 7;
    tern_iov_t iov = {&arg, sizeof arg};
    tern_proxy_t sec;
    CHECK_OK(tern_group_create_on(T_CG, pes, n, &iov, 1, &sec));
    CHECK_EQ(sec.dims[0], n);
    struct {
        tern_proxy_t sec;
        tern_future_t f;
    } a = {sec, {0, 0, 0}};
    CHECK_OK(tern_future_create(1, &a.f));
    CHECK_OK(tern_send_buf(&sec, EP_CG_RED, &a, sizeof a));
    int64_t sum = 0, want = 0;
    CHECK_OK(tern_future_get(&a.f, &sum, sizeof sum, NULL));
    for (int i = 0; i < n; i++)
        want += pes[i] * 1000 + 7;
    CHECK_EQ(sum, want);
    int bad[2] = {np, 0};
    CHECK_EQ(tern_group_create_on(T_CG, bad, 1, &iov, 1, &sec), TERN_ERR_RANGE);
    CHECK_EQ(tern_group_create_on(T_CG, &bad[1], 0, &iov, 1, &sec), TERN_ERR_INVALID);
}

static void other_hit(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
}

/* ---- the serial model of a section: its members' global numbers, in order ---- */

typedef struct {
    int64_t *v;
    int n;
} model_t;

static int32_t D0, D1;        /* the arrays' dims */
static tern_proxy_t A[2], G;  /* the arrays and the group */

static void model_add(model_t *m, int64_t x)
{
    for (int i = 0; i < m->n; i++)
        if (m->v[i] == x)
            return; /* unions keep the first */
    m->v = realloc(m->v, (size_t)(m->n + 1) * sizeof *m->v);
    CHECK(m->v != NULL);
    m->v[m->n++] = x;
}

static int64_t glob(int a, int i, int j) { return a * 10000 + i * D1 + j; }

typedef struct {
    uint64_t salt;
    int nsec;
} split_arg_t;

static int split_fn(const int32_t *idx, int ndims, void *arg)
{
    const split_arg_t *s = arg;
    uint64_t h = (uint64_t)idx[0] * 1000003u + (uint64_t)(ndims > 1 ? idx[1] : 0) + s->salt;
    h = h * 0x9e3779b97f4a7c15ULL;
    int k = (int)((h >> 33) % (uint64_t)(s->nsec + 1));
    return k == s->nsec ? -1 : k; /* some in none */
}

/* A random section of array a (or of the two arrays combined), with its model. */
static void random_section(uint64_t *rng, tern_proxy_t *out, model_t *m)
{
    memset(m, 0, sizeof *m);
    int how = (int)(mp_rand(rng) % 5), a = (int)(mp_rand(rng) % 2);
    if (how == 0) { /* a random list */
        int n = 1 + (int)(mp_rand(rng) % (uint64_t)(D0 * D1));
        int32_t *idx = malloc((size_t)n * 2 * sizeof *idx);
        int k = 0;
        for (int t = 0; t < n; t++) {
            int32_t i = (int32_t)(mp_rand(rng) % (uint64_t)D0), j = (int32_t)(mp_rand(rng) % (uint64_t)D1);
            int dup = 0;
            for (int q = 0; q < k; q++)
                dup |= idx[2 * q] == i && idx[2 * q + 1] == j;
            if (dup)
                continue;
            idx[2 * k] = i;
            idx[2 * k + 1] = j;
            model_add(m, glob(a, i, j));
            k++;
        }
        CHECK_OK(tern_section_create(&A[a], idx, k, out));
        free(idx);
    } else if (how == 1) { /* a slice */
        tern_slice_t s[2];
        for (int d = 0; d < 2; d++) {
            int32_t dim = d ? D1 : D0;
            s[d].start = (int32_t)(mp_rand(rng) % (uint64_t)dim);
            s[d].stop = s[d].start + 1 + (int32_t)(mp_rand(rng) % (uint64_t)(dim - s[d].start));
            s[d].step = 1 + (int32_t)(mp_rand(rng) % 3);
        }
        for (int i = 0; i < D0; i++)
            for (int j = 0; j < D1; j++)
                if (i >= s[0].start && i < s[0].stop && (i - s[0].start) % s[0].step == 0 &&
                    j >= s[1].start && j < s[1].stop && (j - s[1].start) % s[1].step == 0)
                    model_add(m, glob(a, i, j));
        CHECK_OK(tern_section_slice(&A[a], s, 2, out));
    } else if (how == 2 || how == 3) { /* one part of a split (of the combined arrays for 3) */
        split_arg_t sa = {mp_rand(rng), 1 + (int)(mp_rand(rng) % 4)};
        tern_proxy_t parts[5], base = A[a];
        if (how == 3)
            CHECK_OK(tern_section_combine(A, 2, &base));
        int want = (int)(mp_rand(rng) % (uint64_t)sa.nsec);
        for (int b = 0; b < (how == 3 ? 2 : 1); b++) {
            int arr = how == 3 ? b : a;
            for (int i = 0; i < D0; i++)
                for (int j = 0; j < D1; j++) {
                    int32_t idx[2] = {i, j};
                    if (split_fn(idx, 2, &sa) == want)
                        model_add(m, glob(arr, i, j));
                }
        }
        if (!m->n) { /* that part is empty: make it a one-element list instead */
            int32_t idx[2] = {0, 0};
            model_add(m, glob(a, 0, 0));
            CHECK_OK(tern_section_create(&A[a], idx, 1, out));
            return;
        }
        CHECK_OK(tern_section_split(&base, sa.nsec, split_fn, &sa, parts));
        *out = parts[want];
    } else { /* combine a slice of each array with a whole row of one */
        tern_slice_t s[2] = {{0, D0, 2}, {0, D1, 1}};
        tern_proxy_t p[3];
        CHECK_OK(tern_section_slice(&A[0], s, 2, &p[0]));
        CHECK_OK(tern_section_slice(&A[1], s, 2, &p[1]));
        int32_t row = (int32_t)(mp_rand(rng) % (uint64_t)D0);
        tern_slice_t r[2] = {{row, row + 1, 1}, {0, D1, 1}};
        CHECK_OK(tern_section_slice(&A[a], r, 2, &p[2]));
        for (int b = 0; b < 2; b++)
            for (int i = 0; i < D0; i += 2)
                for (int j = 0; j < D1; j++)
                    model_add(m, glob(b, i, j));
        for (int j = 0; j < D1; j++)
            model_add(m, glob(a, row, j));
        CHECK_OK(tern_section_combine(p, 3, out));
    }
}

static void collect(int64_t *hits, int64_t *count)
{
    for (int a = 0; a < 2; a++) {
        tern_future_t f;
        CHECK_OK(tern_call(&A[a], EP_REPORT, NULL, 0, TERN_CALL_RET, NULL, &f));
        CHECK_OK(tern_future_wait(&f));
        for (int i = 0; i < D0 * D1; i++) {
            size_t len;
            const int64_t *r = tern_future_value(&f, i, &len);
            CHECK(r && len == 3 * sizeof(int64_t));
            CHECK_EQ(r[0], a * 10000 + i);
            hits[a * D0 * D1 + i] = r[1];
            count[a * D0 * D1 + i] = r[2];
        }
        tern_future_free(&f);
    }
}

static void make_arrays(void)
{
    int np = tern_num_pes();
    D0 = np + 2;
    D1 = 5;
    for (int64_t a = 0; a < 2; a++) {
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_array_create(T_EL, 2, TERN_IDX(D0, D1), &iov, 1, &A[a]));
    }
    CHECK_OK(tern_group_create(T_GR, NULL, 0, NULL, &G));
}

static int64_t model_pos(int a, int idx) { return (int64_t)a * D0 * D1 + idx; }

static void run_random(void)
{
    make_arrays();
    int n = 2 * D0 * D1;
    int64_t *want = calloc((size_t)n, sizeof *want), *hits = calloc((size_t)n, sizeof *hits),
            *count = calloc((size_t)n, sizeof *count), *wantc = calloc((size_t)n, sizeof *wantc);
    CHECK(want && hits && count && wantc);
    uint64_t rng = 12345;
    for (int k = 0; k < NSECT; k++) {
        tern_proxy_t sec;
        model_t m;
        random_section(&rng, &sec, &m);
        CHECK_EQ(sec.kind, TERN_PROXY_SECTION);
        CHECK_EQ(sec.dims[0], m.n);
        /* a multicast without payload, one with, and a call that completes once a member */
        CHECK_OK(tern_send(&sec, EP_TOUCH, NULL, 0, NULL));
        int64_t v = 1 + (int64_t)(mp_rand(&rng) % 1000);
        CHECK_OK(tern_send_buf(&sec, EP_HIT, &v, sizeof v));
        tern_future_t f;
        tern_iov_t iov = {&v, sizeof v};
        CHECK_OK(tern_call(&sec, EP_HIT, &iov, 1, TERN_CALL_DONE, NULL, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
        for (int i = 0; i < m.n; i++) {
            int a = (int)(m.v[i] / 10000);
            want[model_pos(a, (int)(m.v[i] % 10000))] += 2 * v;
            wantc[model_pos(a, (int)(m.v[i] % 10000))] += 3;
        }
        /* a sum and a gather in member order */
        struct {
            tern_proxy_t sec;
            tern_future_t f[2];
        } ra;
        ra.sec = sec;
        CHECK_OK(tern_future_create(1, &ra.f[0]));
        CHECK_OK(tern_future_create(1, &ra.f[1]));
        CHECK_OK(tern_send_buf(&sec, EP_RED, &ra, sizeof ra));
        int64_t sum = 0, ws = 0;
        CHECK_OK(tern_future_get(&ra.f[0], &sum, sizeof sum, NULL));
        for (int i = 0; i < m.n; i++)
            ws += m.v[i];
        CHECK_EQ(sum, ws);
        int64_t *g = malloc((size_t)m.n * sizeof *g);
        size_t glen = 0;
        CHECK_OK(tern_future_get(&ra.f[1], g, (size_t)m.n * sizeof *g, &glen));
        CHECK_EQ(glen, (size_t)m.n * sizeof *g);
        for (int i = 0; i < m.n; i++)
            if (g[i] != m.v[i])
                tern_abort("section %d: gather item %d is %lld, member %lld", k, i,
                           (long long)g[i], (long long)m.v[i]);
        free(g);
        free(m.v);
    }
    collect(hits, count);
    for (int i = 0; i < n; i++)
        if (hits[i] != want[i] || count[i] != wantc[i])
            tern_abort("element %d got %lld in %lld multicasts, wanted %lld in %lld", i,
                       (long long)hits[i], (long long)count[i], (long long)want[i],
                       (long long)wantc[i]);
    /* A group section: the even PEs (a slice), and a group split. */
    tern_slice_t ev = {0, tern_num_pes(), 2};
    tern_proxy_t gs;
    CHECK_OK(tern_section_slice(&G, &ev, 1, &gs));
    int64_t v = 7;
    tern_future_t f;
    tern_iov_t iov = {&v, sizeof v};
    CHECK_OK(tern_call(&gs, EP_GHIT, &iov, 1, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    CHECK_OK(tern_call(&G, EP_GREPORT, NULL, 0, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    for (int p = 0; p < tern_num_pes(); p++) {
        size_t len;
        const int64_t *h = tern_future_value(&f, p, &len);
        CHECK(h != NULL);
        CHECK_EQ(*h, p % 2 == 0 ? 7 : 0);
    }
    tern_future_free(&f);
    free(want);
    free(wantc);
    free(hits);
    free(count);
}

static void run_migrate(void)
{
    make_arrays();
    tern_slice_t s[2] = {{0, D0, 1}, {1, D1, 2}};
    tern_proxy_t sec;
    CHECK_OK(tern_section_slice(&A[0], s, 2, &sec));
    for (int k = 0; k < NMOVE; k++) {
        int64_t v = 1;
        CHECK_OK(tern_send_buf(&sec, EP_MOVEHIT, &v, sizeof v));
    }
    /* Everything sent has arrived once each element counted NMOVE: wait by calls. */
    for (int round = 0; round < 1000; round++) {
        int64_t hits[2 * 64 * 5], count[2 * 64 * 5];
        collect(hits, count);
        int done = 1;
        for (int i = 0; i < D0; i++)
            for (int j = 0; j < D1; j++) {
                int64_t c = count[i * D1 + j];
                int in = (j - 1) >= 0 && (j - 1) % 2 == 0;
                CHECK(c <= (in ? NMOVE : 0));
                done &= c == (in ? NMOVE : 0);
            }
        if (done)
            return;
        CHECK_OK(tern_sleep(0.01));
    }
    tern_abort("migrate: multicasts did not all arrive");
}

static void run_allreduce(void)
{
    make_arrays();
    tern_slice_t s[2] = {{1, D0, 1}, {0, D1, 2}};
    tern_proxy_t sec;
    CHECK_OK(tern_section_slice(&A[1], s, 2, &sec));
    int64_t want = 0;
    for (int i = 1; i < D0; i++)
        for (int j = 0; j < D1; j += 2)
            want += glob(1, i, j);
    struct {
        tern_proxy_t sec;
        tern_future_t done;
        int64_t want;
    } a = {sec, {0, 0, 0}, want};
    CHECK_OK(tern_future_create(sec.dims[0], &a.done));
    CHECK_OK(tern_send_buf(&sec, EP_ARED, &a, sizeof a));
    CHECK_OK(tern_future_wait(&a.done));
    tern_future_free(&a.done);
}

static void run_errors(void)
{
    make_arrays();
    tern_proxy_t sec, out[2];
    int32_t bad[2] = {D0, 0};
    CHECK_EQ(tern_section_create(&A[0], bad, 1, &sec), TERN_ERR_RANGE);
    tern_slice_t s0[2] = {{0, D0, 0}, {0, D1, 1}};
    CHECK_EQ(tern_section_slice(&A[0], s0, 2, &sec), TERN_ERR_INVALID);
    tern_slice_t empty[2] = {{0, 0, 1}, {0, D1, 1}};
    CHECK_EQ(tern_section_slice(&A[0], empty, 2, &sec), TERN_ERR_INVALID);
    split_arg_t sa = {1, 5};
    CHECK_EQ(tern_section_split(&A[0], 2, split_fn, &sa, out), TERN_ERR_RANGE);
    tern_proxy_t other, mix[2];
    CHECK_OK(tern_group_create(T_OTHER, NULL, 0, NULL, &other));
    mix[0] = A[0];
    mix[1] = other;
    CHECK_EQ(tern_section_combine(mix, 2, &sec), TERN_ERR_TYPE);
    tern_slice_t all[2] = {{0, D0, 1}, {0, D1, 1}};
    CHECK_OK(tern_section_slice(&A[0], all, 2, &sec));
    tern_future_t f;
    CHECK_EQ(tern_call(&sec, EP_REPORT, NULL, 0, TERN_CALL_RET, NULL, &f), TERN_ERR_INVALID);
    tern_proxy_t sparse;
    tern_array_opts_t o = {.flags = 0};
    CHECK_OK(tern_array_create_opts(T_EL, 1, NULL, NULL, 0, &o, &sparse));
    CHECK_EQ(tern_section_slice(&sparse, all, 1, &sec), TERN_ERR_INVALID);
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "random";
    if (strcmp(mode, "random") == 0)
        run_random();
    else if (strcmp(mode, "migrate") == 0)
        run_migrate();
    else if (strcmp(mode, "allreduce") == 0)
        run_allreduce();
    else if (strcmp(mode, "errors") == 0)
        run_errors();
    else if (strcmp(mode, "constrained") == 0)
        run_constrained();
    else
        tern_abort("unknown mode %s", mode);
    printf("mp_sect %s: ok\n", mode);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t el_eps[] = {
        {"hit", el_hit, 0, &EP_HIT},
        {"touch", el_touch, 0, &EP_TOUCH},
        {"red", el_red, 0, &EP_RED},
        {"report", el_report, 0, &EP_REPORT},
        {"movehit", el_movehit, 0, &EP_MOVEHIT},
        {"ared", el_ared, TERN_EP_COROUTINE, &EP_ARED},
        {0},
    };
    const tern_ep_def_t gr_eps[] = {{"hit", gr_hit, 0, &EP_GHIT},
                                    {"report", gr_report, 0, &EP_GREPORT},
                                    {0}};
    const tern_ep_def_t other_eps[] = {{"hit", other_hit, 0, &EP_OTHER_HIT}, {0}};
    CHECK_OK(tern_type_define("El", sizeof(el_t), el_ctor, NULL, el_eps, &T_EL));
    CHECK_OK(tern_type_migratable(T_EL, NULL, NULL));
    CHECK_OK(tern_type_define("Gr", sizeof(gr_t), NULL, NULL, gr_eps, &T_GR));
    CHECK_OK(tern_type_define("Other", sizeof(gr_t), NULL, NULL, other_eps, &T_OTHER));
    const tern_ep_def_t cg_eps[] = {{"red", cg_red, 0, &EP_CG_RED}, {0}};
    CHECK_OK(tern_type_define("Cg", sizeof(cg_t), cg_ctor, NULL, cg_eps, &T_CG));
    return tern_run(argc, argv, start);
}
