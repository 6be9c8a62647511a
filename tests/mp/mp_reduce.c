/*
 * Reductions over groups and arrays, checked against serial computations done here.
 *
 *   mp_reduce MODE [group|array]
 *
 * The main function (PE 0, a coroutine) creates collections of five shapes: a group, a
 * 1-D array of 13 elements (more than PEs), a 1-D array of 3 (fewer than PEs on 4 and 8
 * PEs: some PEs hold none), a 3x5 2-D array and a 1x257 one (many members per PE); it asks
 * their members to contribute and checks every result. Modes:
 *
 *   ops        every built-in reducer and type, on vectors of NV elements, 19 in flight
 *   gather     gather of equal sizes, of different sizes (some empty), all empty, one big
 *   custom     custom reducers registered by name (registered in another order on odd PEs)
 *   sync       empty (nop) reductions: one completes only once the last member has
 *              contributed; NSYNC in a row; contributions from constructors
 *   inflight   ROUNDS reductions in a row without waiting, alternating sum (to one future
 *              for ROUNDS/2 values: the round is read from the data) and gather (one future
 *              per round)
 *   callbacks  results to a single chare (on the last PE and on PE 0), to one array element,
 *              to one group member, broadcast to a group, to an array with fewer elements
 *              than PEs, to a 2-D array and to the contributing array itself, and to a
 *              future on another PE than the reduction's root
 *              (every collection contributes to one reduction only: two broadcasts to one
 *              collection may reach its members in different orders)
 *   coro       tern_allreduce from coroutine entry methods (several reducers, rounds in a
 *              row, a result larger than the buffer) and tern_barrier (no member leaves
 *              before the last one entered, by the clocks; a member delayed on purpose;
 *              every member of the PE entered), all shapes at once
 *   badinput   calls that fail with TERN_ERR_INVALID/STATE and a logged message but do
 *              not abort, and do not use up a reduction number
 *   mismatch_size, mismatch_reducer, mismatch_custom, mismatch_callback  (group|array)
 *              reduction 2 has one member contributing a different size / a different
 *              built-in reducer / a custom reducer: the job must abort naming it
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define NV 5          /* elements of each vector */
#define ROUNDS 50     /* reductions in flight in mode inflight */
#define NSYNC 10      /* empty reductions in a row in mode sync */
#define CORO_ROUNDS 8 /* allreduce rounds in mode coro */
#define NBARRIERS 3
#define BIG_LEN 70000

static tern_type_t T_RED, T_SINK;
static tern_ep_t EP_OPS, EP_GATHER, EP_CUSTOM, EP_NOP, EP_INFLIGHT, EP_CBTEST, EP_GOT_ALL,
    EP_GOT_ONE, EP_CORO, EP_BAD, EP_MISMATCH, EP_SINK_GOT, EP_SINK_BAD, EP_SINK_REMOTE;
static tern_reducer_t R_ABSMAX, R_BOR64, R_SPARE;
static tern_status_t reg_dup_status = 99, reg_null_status = 99;

/* ---- collections ---- */

typedef struct {
    const char *name;
    int group;
    int nd;
    int dims[2];
} spec_t;

#define NSPECS 5
static const spec_t specs[NSPECS] = {
    {"group", 1, 1, {0, 0}},
    {"array13", 0, 1, {13, 0}},
    {"array3", 0, 1, {3, 0}},
    {"array3x5", 0, 2, {3, 5}},
    {"array1x257", 0, 2, {1, 257}},
};

typedef struct {
    tern_proxy_t p;
    int64_t total;
    const char *name;
} coll_t;

/* Constructor arguments of Red and Sink (optional for Red). */
typedef struct {
    tern_future_t done;  /* where results received by got_one / got_all go */
    int32_t ctor_contrib; /* contribute {lin, 1} (sum.int64) to done from the constructor */
    int32_t pad;
} red_args_t;

typedef struct {
    int64_t lin, total;
    tern_future_t done;
} red_t;

typedef struct {
    tern_future_t done;
} sink_t;

static coll_t make(const spec_t *s, const red_args_t *args)
{
    coll_t c;
    memset(&c, 0, sizeof c);
    tern_iov_t iov = {args, sizeof *args};
    int nargs = args ? 1 : 0;
    c.name = s->name;
    if (s->group) {
        CHECK_OK(tern_group_create(T_RED, args ? &iov : NULL, nargs, NULL, &c.p));
        c.total = tern_num_pes();
    } else {
        CHECK_OK(tern_array_create(T_RED, s->nd, s->dims, args ? &iov : NULL, nargs, &c.p));
        c.total = 1;
        for (int i = 0; i < s->nd; i++)
            c.total *= s->dims[i];
    }
    return c;
}

static const spec_t *spec_named(const char *name)
{
    for (int i = 0; i < NSPECS; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    tern_abort("no collection shape named '%s'", name);
}

static tern_proxy_t elem_of(const coll_t *c, int64_t lin)
{
    int idx[TERN_MAX_DIMS] = {0};
    if (c->p.kind == TERN_PROXY_GROUP) {
        idx[0] = (int)lin;
    } else {
        for (int i = c->p.ndims - 1; i >= 0; i--) {
            idx[i] = (int)(lin % c->p.dims[i]);
            lin /= c->p.dims[i];
        }
    }
    tern_proxy_t e;
    CHECK_OK(tern_proxy_elem(&c->p, idx, &e));
    return e;
}

static const void *value_of(const tern_future_t *f, int i, size_t *len)
{
    const void *v = tern_future_value(f, i, len);
    CHECK(v != NULL || *len == 0);
    return v;
}

/* Wait for a 1-value future and return its value (valid until tern_future_free). */
static const void *wait1(const tern_future_t *f, size_t *len)
{
    CHECK_OK(tern_future_wait(f));
    CHECK_EQ(tern_future_count(f), 1);
    return value_of(f, 0, len);
}

/* Wait for a 1-value future of exactly `size` bytes and copy it into buf. */
static void wait_copy(const tern_future_t *f, void *buf, size_t size)
{
    size_t len;
    const void *v = wait1(f, &len);
    CHECK_EQ(len, size);
    memcpy(buf, v, size);
}

/* ---- values and the serial computation ---- */

typedef struct {
    int op, dt;
} opdesc_t;

#define NOPS 19
static const opdesc_t OPS[NOPS] = {
    {TERN_OP_SUM, TERN_DT_INT32},   {TERN_OP_SUM, TERN_DT_INT64},
    {TERN_OP_SUM, TERN_DT_FLOAT},   {TERN_OP_SUM, TERN_DT_DOUBLE},
    {TERN_OP_PROD, TERN_DT_INT32},  {TERN_OP_PROD, TERN_DT_INT64},
    {TERN_OP_PROD, TERN_DT_FLOAT},  {TERN_OP_PROD, TERN_DT_DOUBLE},
    {TERN_OP_MIN, TERN_DT_INT32},   {TERN_OP_MIN, TERN_DT_INT64},
    {TERN_OP_MIN, TERN_DT_FLOAT},   {TERN_OP_MIN, TERN_DT_DOUBLE},
    {TERN_OP_MAX, TERN_DT_INT32},   {TERN_OP_MAX, TERN_DT_INT64},
    {TERN_OP_MAX, TERN_DT_FLOAT},   {TERN_OP_MAX, TERN_DT_DOUBLE},
    {TERN_OP_LAND, TERN_DT_BOOL},   {TERN_OP_LOR, TERN_DT_BOOL},
    {TERN_OP_LXOR, TERN_DT_BOOL},
};
static const char *const op_name[] = {"?", "sum", "product", "min", "max", "and", "or", "xor"};
static const char *const dt_name[] = {"?", "int32", "int64", "float", "double", "bool"};

static size_t dt_size(int dt)
{
    static const size_t s[] = {0, 4, 8, 4, 8, 1};
    return s[dt];
}

static int is_float(int dt) { return dt == TERN_DT_FLOAT || dt == TERN_DT_DOUBLE; }

/* Member lin's element j for (op, dt): small integers (exact in float), negative ones for
 * sum, min and max, large ones for int64 sum, min and max; products of at most three 2s
 * (2^20 for int64) and -1s. */
static int64_t gen(int op, int dt, int64_t lin, int j)
{
    int64_t v;
    switch (op) {
    case TERN_OP_SUM:
        v = (lin * 7 + j * 13 + dt) % 23 - 11;
        return dt == TERN_DT_INT64 ? v * 1000000007LL : v;
    case TERN_OP_PROD:
        if (lin < 16 && (lin + 2 * j + dt) % 6 == 0)
            return dt == TERN_DT_INT64 ? (1LL << 20) : 2;
        return (lin + j) % 5 == 1 ? -1 : 1;
    case TERN_OP_MIN:
    case TERN_OP_MAX:
        v = (lin * 37 + j * 11 + dt * 5) % 41 - 20;
        return dt == TERN_DT_INT64 ? v * 1000000000000LL : v;
    case TERN_OP_LAND:
        return (lin + j) % 7 != 3;
    case TERN_OP_LOR:
        return (lin * 3 + j) % 9 == 0;
    default: /* xor */
        return (lin * j + lin + j) % 3 == 0;
    }
}

static void encode(int dt, int64_t v, void *buf, int j)
{
    unsigned char *b = (unsigned char *)buf + (size_t)j * dt_size(dt);
    int32_t i32 = (int32_t)v;
    float f = (float)v;
    double d = (double)v;
    uint8_t u = v != 0;
    switch (dt) {
    case TERN_DT_INT32: memcpy(b, &i32, 4); break;
    case TERN_DT_INT64: memcpy(b, &v, 8); break;
    case TERN_DT_FLOAT: memcpy(b, &f, 4); break;
    case TERN_DT_DOUBLE: memcpy(b, &d, 8); break;
    default: memcpy(b, &u, 1); break;
    }
}

/* Element j of a result, as a double (every value used here is exact in a double). */
static double decode(int dt, const void *buf, int j)
{
    const unsigned char *b = (const unsigned char *)buf + (size_t)j * dt_size(dt);
    int32_t i32;
    int64_t i64;
    float f;
    double d;
    switch (dt) {
    case TERN_DT_INT32: memcpy(&i32, b, 4); return i32;
    case TERN_DT_INT64: memcpy(&i64, b, 8); return (double)i64;
    case TERN_DT_FLOAT: memcpy(&f, b, 4); return f;
    case TERN_DT_DOUBLE: memcpy(&d, b, 8); return d;
    default: CHECK(b[0] == 0 || b[0] == 1); return b[0];
    }
}

static int64_t fold_i(int op, int64_t a, int64_t b)
{
    switch (op) {
    case TERN_OP_SUM: return a + b;
    case TERN_OP_PROD: return a * b;
    case TERN_OP_MIN: return b < a ? b : a;
    case TERN_OP_MAX: return b > a ? b : a;
    case TERN_OP_LAND: return a && b;
    case TERN_OP_LOR: return a || b;
    default: return (a != 0) ^ (b != 0);
    }
}

static double fold_f(int op, double a, double b)
{
    switch (op) {
    case TERN_OP_SUM: return a + b;
    case TERN_OP_PROD: return a * b;
    case TERN_OP_MIN: return b < a ? b : a;
    default: return b > a ? b : a;
    }
}

static void check_op_result(const coll_t *c, int k, const void *data, size_t len)
{
    int op = OPS[k].op, dt = OPS[k].dt;
    CHECK_EQ(len, NV * dt_size(dt));
    for (int j = 0; j < NV; j++) {
        int64_t ei = 0;
        double ef = 0;
        for (int64_t lin = 0; lin < c->total; lin++) {
            int64_t v = gen(op, dt, lin, j);
            if (is_float(dt)) {
                double x = dt == TERN_DT_FLOAT ? (double)(float)v : (double)v;
                ef = lin ? fold_f(op, ef, x) : x;
            } else {
                ei = lin ? fold_i(op, ei, v) : v;
            }
        }
        double expect = is_float(dt) ? ef : (double)ei;
        double got = decode(dt, data, j);
        if (got != expect)
            tern_abort("%s of %lld members: %s.%s element %d is %.17g, expected %.17g", c->name,
                       (long long)c->total, op_name[op], dt_name[dt], j, got, expect);
    }
}

/* ---- Red: the members ---- */

static void red_ctor(void *self, const tern_msg_t *args)
{
    red_t *r = self;
    tern_proxy_t me = tern_self_proxy(self);
    tern_proxy_t coll = tern_self_collection(self);
    const int32_t *idx = tern_self_index(self);
    int nd = tern_self_ndims(self);
    int npes = tern_num_pes();
    if (me.kind == TERN_PROXY_GROUP_ELEM) {
        CHECK_EQ(nd, 1);
        CHECK_EQ(idx[0], tern_my_pe());
        r->lin = idx[0];
        r->total = npes;
    } else {
        CHECK_EQ(me.kind, TERN_PROXY_ARRAY_ELEM);
        r->lin = 0;
        r->total = 1;
        for (int i = 0; i < nd; i++) {
            r->lin = r->lin * coll.dims[i] + idx[i];
            r->total *= coll.dims[i];
        }
        CHECK_EQ(tern_my_pe(), (int)(r->lin * npes / r->total)); /* block mapping */
    }
    if (tern_msg_size(args) == sizeof(red_args_t)) {
        red_args_t a;
        memcpy(&a, tern_msg_data(args), sizeof a);
        r->done = a.done;
        if (a.ctor_contrib) {
            int64_t v[2] = {r->lin, 1};
            tern_callback_t cb = tern_cb_future(&a.done);
            CHECK_OK(tern_contribute(self, v, sizeof v, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64),
                                     &cb));
        }
    } else {
        CHECK_EQ(tern_msg_size(args), 0);
    }
}

/* mode ops */
typedef struct {
    tern_future_t f[NOPS];
} ops_msg_t;

static void red_ops(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    ops_msg_t om;
    CHECK_EQ(tern_msg_size(m), sizeof om);
    memcpy(&om, tern_msg_data(m), sizeof om);
    for (int k = 0; k < NOPS; k++) {
        unsigned char buf[NV * 8];
        for (int j = 0; j < NV; j++)
            encode(OPS[k].dt, gen(OPS[k].op, OPS[k].dt, r->lin, j), buf, j);
        tern_callback_t cb = tern_cb_future(&om.f[k]);
        CHECK_OK(tern_contribute(self, buf, NV * dt_size(OPS[k].dt),
                                 TERN_REDUCER(OPS[k].op, OPS[k].dt), &cb));
    }
}

/* mode gather */
typedef struct {
    tern_future_t fixed, var, empty, big;
} gather_msg_t;

static size_t var_len(int64_t lin) { return (size_t)((lin * 5) % 7); } /* 0 for lin 0, 7 */
static int64_t big_member(int64_t total) { return total / 2; }
static size_t big_len(int64_t lin, int64_t total) { return lin == big_member(total) ? BIG_LEN : 1; }

static void red_gather(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    gather_msg_t gm;
    CHECK_EQ(tern_msg_size(m), sizeof gm);
    memcpy(&gm, tern_msg_data(m), sizeof gm);
    const tern_reducer_t G = TERN_REDUCER_GATHER;

    int32_t fx[3] = {(int32_t)r->lin, (int32_t)(r->lin * r->lin + 1), (int32_t)-r->lin};
    tern_callback_t cb = tern_cb_future(&gm.fixed);
    CHECK_OK(tern_contribute(self, fx, sizeof fx, G, &cb));

    unsigned char v[8];
    size_t n = var_len(r->lin);
    for (size_t off = 0; off < n; off++)
        v[off] = mp_pattern((uint64_t)r->lin, off);
    cb = tern_cb_future(&gm.var);
    CHECK_OK(tern_contribute(self, n ? v : NULL, n, G, &cb));

    cb = tern_cb_future(&gm.empty);
    CHECK_OK(tern_contribute(self, NULL, 0, G, &cb));

    size_t bl = big_len(r->lin, r->total);
    unsigned char *b = malloc(bl);
    CHECK(b != NULL);
    for (size_t off = 0; off < bl; off++)
        b[off] = mp_pattern((uint64_t)r->lin + 1000, off);
    cb = tern_cb_future(&gm.big);
    CHECK_OK(tern_contribute(self, b, bl, G, &cb));
    free(b);
}

/* mode custom: the value of largest magnitude (the positive one on a tie), and bitwise or */
static void absmax_fn(void *inout, const void *in, size_t len)
{
    CHECK_EQ(len, NV * sizeof(int32_t));
    int32_t a[NV], b[NV];
    memcpy(a, inout, sizeof a);
    memcpy(b, in, sizeof b);
    for (int j = 0; j < NV; j++) {
        int64_t x = a[j], y = b[j];
        int64_t ax = x < 0 ? -x : x, ay = y < 0 ? -y : y;
        if (ay > ax || (ay == ax && y > x))
            a[j] = b[j];
    }
    memcpy(inout, a, sizeof a);
}

static void bor64_fn(void *inout, const void *in, size_t len)
{
    CHECK_EQ(len % sizeof(uint64_t), 0);
    size_t n = len / sizeof(uint64_t);
    for (size_t j = 0; j < n; j++) {
        uint64_t a, b;
        memcpy(&a, (unsigned char *)inout + j * 8, 8);
        memcpy(&b, (const unsigned char *)in + j * 8, 8);
        a |= b;
        memcpy((unsigned char *)inout + j * 8, &a, 8);
    }
}

static void spare_fn(void *inout, const void *in, size_t len)
{
    (void)inout;
    (void)in;
    (void)len;
    tern_abort("the spare reducer must never run");
}

static int32_t absmax_val(int64_t lin, int j) { return (int32_t)((lin * 13 + j * 7) % 31 - 15); }
static uint64_t bor_val(int64_t lin, int j) { return 1ULL << ((lin * (j + 1) + 3 * j) % 64); }

typedef struct {
    tern_future_t absmax, bor;
} custom_msg_t;

static void red_custom(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    custom_msg_t cm;
    CHECK_EQ(tern_msg_size(m), sizeof cm);
    memcpy(&cm, tern_msg_data(m), sizeof cm);
    int32_t a[NV];
    uint64_t b[NV];
    for (int j = 0; j < NV; j++) {
        a[j] = absmax_val(r->lin, j);
        b[j] = bor_val(r->lin, j);
    }
    tern_callback_t cb = tern_cb_future(&cm.absmax);
    CHECK_OK(tern_contribute(self, a, sizeof a, R_ABSMAX, &cb));
    cb = tern_cb_future(&cm.bor);
    CHECK_OK(tern_contribute(self, b, sizeof b, R_BOR64, &cb));
}

/* mode sync */
typedef struct {
    int32_t n, pad;
    tern_future_t f[NSYNC];
} nop_msg_t;

static void red_nop(void *self, const tern_msg_t *m)
{
    nop_msg_t nm;
    CHECK_EQ(tern_msg_size(m), sizeof nm);
    memcpy(&nm, tern_msg_data(m), sizeof nm);
    for (int i = 0; i < nm.n; i++) {
        tern_callback_t cb = tern_cb_future(&nm.f[i]);
        CHECK_OK(tern_contribute(self, NULL, 0, TERN_REDUCER_NOP, &cb));
    }
}

/* mode inflight */
typedef struct {
    tern_future_t even;
    tern_future_t odd[ROUNDS / 2];
} infl_msg_t;

static void red_inflight(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    infl_msg_t im;
    CHECK_EQ(tern_msg_size(m), sizeof im);
    memcpy(&im, tern_msg_data(m), sizeof im);
    for (int64_t k = 0; k < ROUNDS; k++) {
        if (k % 2 == 0) {
            int64_t v[3] = {k, r->lin * k, r->lin + 1000 * k};
            tern_callback_t cb = tern_cb_future(&im.even);
            CHECK_OK(tern_contribute(self, v, sizeof v, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64),
                                     &cb));
        } else {
            int32_t g[2] = {(int32_t)k, (int32_t)r->lin};
            tern_callback_t cb = tern_cb_future(&im.odd[k / 2]);
            CHECK_OK(tern_contribute(self, g, sizeof g, TERN_REDUCER_GATHER, &cb));
        }
    }
}

/* mode callbacks */
enum { CB_SUM3 = 0, CB_NOP = 1 };
typedef struct {
    tern_callback_t cb;
    tern_future_t done; /* id 0: keep the member's own */
    int32_t what, pad;
} cbtest_msg_t;

static void sum3_expect(int64_t t, int32_t out[3])
{
    out[0] = (int32_t)(t * (t - 1) / 2);
    out[1] = (int32_t)t;
    out[2] = (int32_t)(t * (t - 1) - 3 * t);
}

static void red_cbtest(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    cbtest_msg_t cm;
    CHECK_EQ(tern_msg_size(m), sizeof cm);
    memcpy(&cm, tern_msg_data(m), sizeof cm);
    if (cm.done.id)
        r->done = cm.done;
    if (cm.what == CB_SUM3) {
        int32_t v[3] = {(int32_t)r->lin, 1, (int32_t)(2 * r->lin - 3)};
        CHECK_OK(tern_contribute(self, v, sizeof v, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32),
                                 &cm.cb));
    } else {
        CHECK_OK(tern_contribute(self, NULL, 0, TERN_REDUCER_NOP, &cm.cb));
    }
}

/* A result received by one member: {lin, payload} to its future. */
static void red_got_one(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    size_t n = tern_msg_size(m);
    CHECK_EQ(tern_msg_nsegs(m), n ? 1 : 0);
    unsigned char buf[64];
    CHECK(n + 8 <= sizeof buf);
    memcpy(buf, &r->lin, 8);
    if (n)
        memcpy(buf + 8, tern_msg_data(m), n);
    CHECK_OK(tern_future_set(&r->done, buf, n + 8));
}

/* A result broadcast to every member: each gathers {lin, size, payload} to its future. */
static void red_got_all(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    size_t n = tern_msg_size(m);
    CHECK_EQ(tern_msg_nsegs(m), n ? 1 : 0);
    unsigned char buf[64];
    CHECK(n + 16 <= sizeof buf);
    int64_t hdr[2] = {r->lin, (int64_t)n};
    memcpy(buf, hdr, 16);
    if (n)
        memcpy(buf + 16, tern_msg_data(m), n);
    tern_callback_t cb = tern_cb_future(&r->done);
    CHECK_OK(tern_contribute(self, buf, n + 16, TERN_REDUCER_GATHER, &cb));
}

static void sink_ctor(void *self, const tern_msg_t *args)
{
    CHECK_EQ(tern_msg_size(args), sizeof(red_args_t));
    red_args_t a;
    memcpy(&a, tern_msg_data(args), sizeof a);
    ((sink_t *)self)->done = a.done;
}

static void sink_got(void *self, const tern_msg_t *m)
{
    CHECK_EQ(tern_msg_nsegs(m), tern_msg_size(m) ? 1 : 0);
    CHECK_OK(tern_future_set(&((sink_t *)self)->done, tern_msg_data(m), tern_msg_size(m)));
}

/* A future on the sink's PE (not the root of the reduction, PE 0): the sink asks the
 * contributors to reduce into it, waits, checks, and passes the result on to main. */
typedef struct {
    tern_proxy_t contributors;
    int64_t total;
} remote_msg_t;

static void red_cbtest_send(const tern_proxy_t *to, const tern_callback_t *cb, int what,
                            const tern_future_t *self_done);
static void check_sum3(const char *what, const void *data, size_t len, int64_t t);

static void sink_remote(void *self, const tern_msg_t *m)
{
    remote_msg_t rm;
    CHECK_EQ(tern_msg_size(m), sizeof rm);
    memcpy(&rm, tern_msg_data(m), sizeof rm);
    CHECK(tern_in_coroutine());
    tern_future_t f;
    CHECK_OK(tern_future_create(1, &f));
    CHECK_EQ(f.pe, tern_my_pe());
    tern_callback_t cb = tern_cb_future(&f);
    red_cbtest_send(&rm.contributors, &cb, 0, NULL);
    int32_t v[4];
    size_t len;
    CHECK_OK(tern_future_get(&f, v, sizeof v, &len));
    check_sum3("to a future on another PE than the root", v, len, rm.total);
    tern_future_free(&f);
    CHECK_OK(tern_future_set(&((sink_t *)self)->done, v, len));
}

/* mode coro */
typedef struct {
    tern_future_t done;
    int32_t rounds, tag;
} coro_msg_t;

static int64_t members_here(int64_t total)
{
    int64_t n = 0, npes = tern_num_pes(), me = tern_my_pe();
    for (int64_t lin = 0; lin < total; lin++)
        n += lin * npes / total == me;
    return n;
}

/* Members of this PE that entered barrier b of collection tag. */
static int64_t barrier_entered[NSPECS][NBARRIERS];

static void red_coro(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    coro_msg_t cm;
    CHECK_EQ(tern_msg_size(m), sizeof cm);
    memcpy(&cm, tern_msg_data(m), sizeof cm);
    CHECK(tern_in_coroutine());
    const int64_t T = r->total, lin = r->lin;
    size_t len;
    int32_t *gout = malloc((size_t)T * 8);
    CHECK(gout != NULL);
    int ok = 0;
    for (int64_t k = 0; k < cm.rounds; k++) {
        int64_t in[3] = {k, lin, lin * k}, out[3] = {0};
        CHECK_OK(tern_allreduce(self, in, sizeof in, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64),
                                out, sizeof out, &len));
        CHECK_EQ(len, sizeof out);
        CHECK_EQ(out[0], k * T);
        CHECK_EQ(out[1], T * (T - 1) / 2);
        CHECK_EQ(out[2], k * T * (T - 1) / 2);

        double d[2] = {(double)(lin - k), -(double)lin}, dout[2];
        CHECK_OK(tern_allreduce(self, d, sizeof d, TERN_REDUCER(TERN_OP_MAX, TERN_DT_DOUBLE),
                                dout, sizeof dout, &len));
        CHECK_EQ(len, sizeof dout);
        CHECK(dout[0] == (double)(T - 1 - k) && dout[1] == 0.0);

        int32_t g[2] = {(int32_t)lin, (int32_t)k};
        CHECK_OK(tern_allreduce(self, g, sizeof g, TERN_REDUCER_GATHER, gout, (size_t)T * 8,
                                &len));
        CHECK_EQ(len, (size_t)T * 8);
        for (int64_t i = 0; i < T; i++) {
            CHECK_EQ(gout[2 * i], i);
            CHECK_EQ(gout[2 * i + 1], k);
        }

        uint8_t b[2] = {lin % 2 == 0, 1}, bout[2] = {9, 9};
        CHECK_OK(tern_allreduce(self, b, 2, TERN_REDUCER(TERN_OP_LAND, TERN_DT_BOOL), bout, 2,
                                &len));
        CHECK_EQ(len, 2);
        CHECK_EQ(bout[0], T == 1);
        CHECK_EQ(bout[1], 1);
        b[0] = lin == T - 1;
        b[1] = 0;
        CHECK_OK(tern_allreduce(self, b, 2, TERN_REDUCER(TERN_OP_LOR, TERN_DT_BOOL), bout, 2,
                                NULL));
        CHECK_EQ(bout[0], 1);
        CHECK_EQ(bout[1], 0);

        uint64_t u[2] = {1ULL << (lin % 64), (uint64_t)k}, uout[2];
        CHECK_OK(tern_allreduce(self, u, sizeof u, R_BOR64, uout, sizeof uout, &len));
        CHECK_EQ(len, sizeof uout);
        uint64_t bits = 0;
        for (int64_t i = 0; i < T; i++)
            bits |= 1ULL << (i % 64);
        CHECK(uout[0] == bits && uout[1] == (uint64_t)k);
        ok++;
    }

    /* A result larger than the buffer: an error, the first cap bytes, the full size. */
    int32_t g[2] = {(int32_t)lin, -7}, small[2] = {99, 99};
    CHECK_EQ(tern_allreduce(self, g, sizeof g, TERN_REDUCER_GATHER, small, sizeof small, &len),
             T > 1 ? TERN_ERR_RANGE : TERN_OK);
    CHECK_EQ(len, (size_t)T * 8);
    CHECK_EQ(small[0], 0);
    CHECK_EQ(small[1], -7);
    CHECK_OK(tern_allreduce(self, g, sizeof g, TERN_REDUCER_GATHER, NULL, 0, &len));
    CHECK_EQ(len, (size_t)T * 8);

    /* Barriers: the last member arrives late; no member may leave before it arrived, and
     * on this PE every local member has entered when any leaves. */
    for (int bi = 0; bi < NBARRIERS; bi++) {
        if (lin == T - 1 - bi % 2 || (T == 1 && lin == 0))
            CHECK_OK(tern_sleep(0.03));
        barrier_entered[cm.tag][bi]++;
        double t_in = mp_now();
        CHECK_OK(tern_barrier(self));
        double t_out = mp_now();
        CHECK_EQ(barrier_entered[cm.tag][bi], members_here(T));
        double tt[2] = {t_in, -t_out}, tmax[2];
        CHECK_OK(tern_allreduce(self, tt, sizeof tt, TERN_REDUCER(TERN_OP_MAX, TERN_DT_DOUBLE),
                                tmax, sizeof tmax, &len));
        if (-tmax[1] < tmax[0])
            tern_abort("barrier %d of %lld members: a member left at %.6f before the last "
                       "entered at %.6f", bi, (long long)T, -tmax[1], tmax[0]);
    }
    free(gout);

    int32_t one = ok == cm.rounds;
    tern_callback_t cb = tern_cb_future(&cm.done);
    CHECK_OK(tern_contribute(self, &one, sizeof one, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32),
                             &cb));
}

/* mode badinput */
typedef struct {
    tern_future_t sum, max;
} bad_msg_t;

static int64_t bad_calls_done; /* on this PE */

static void red_bad(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    bad_msg_t bm;
    CHECK_EQ(tern_msg_size(m), sizeof bm);
    memcpy(&bm, tern_msg_data(m), sizeof bm);
    tern_callback_t cb = tern_cb_future(&bm.sum);
    if (r->lin == 0 || r->lin == r->total - 1) {
        /* Only some members make wrong calls: had one used up a reduction number, the
         * good reductions below would mix rounds (and mismatch). */
        int64_t d[2] = {1, 2};
        const tern_reducer_t SUM32 = TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32);
        CHECK_EQ(tern_contribute(self, d, 8, 0x9999, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 8, TERN_REDUCER(TERN_OP_SUM, TERN_DT_BOOL), &cb),
                 TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 8, TERN_REDUCER(TERN_OP_LAND, TERN_DT_INT32), &cb),
                 TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 8, TERN_REDUCER(9, TERN_DT_INT32), &cb),
                 TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 8, R_ABSMAX + 50, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 6, SUM32, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 12, TERN_REDUCER(TERN_OP_MIN, TERN_DT_DOUBLE), &cb),
                 TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 4, TERN_REDUCER_NOP, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, NULL, 8, SUM32, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(NULL, d, 4, SUM32, &cb), TERN_ERR_INVALID);
        static struct {
            unsigned char before[256];
            _Alignas(16) unsigned char state[16];
        } fake;
        CHECK_EQ(tern_contribute(fake.state, d, 4, SUM32, &cb), TERN_ERR_INVALID);
        CHECK_EQ(tern_contribute(self, d, 4, SUM32, NULL), TERN_ERR_INVALID);
        tern_callback_t none = tern_cb_future(NULL);
        CHECK_EQ(none.kind, TERN_CB_NONE);
        CHECK_EQ(tern_contribute(self, d, 4, SUM32, &none), TERN_ERR_INVALID);
        /* Waiting calls from a plain entry method. */
        CHECK_EQ(tern_in_coroutine(), 0);
        CHECK_EQ(tern_allreduce(self, d, 4, SUM32, d, 8, NULL), TERN_ERR_STATE);
        CHECK_EQ(tern_barrier(self), TERN_ERR_STATE);
        bad_calls_done++;
    }
    int32_t v = (int32_t)r->lin;
    CHECK_OK(tern_contribute(self, &v, sizeof v, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32), &cb));
    cb = tern_cb_future(&bm.max);
    CHECK_OK(tern_contribute(self, &v, sizeof v, TERN_REDUCER(TERN_OP_MAX, TERN_DT_INT32), &cb));
}

static void sink_bad(void *self, const tern_msg_t *m)
{
    (void)m;
    sink_t *s = self;
    int32_t v = 1;
    tern_callback_t cb = tern_cb_future(&s->done);
    tern_status_t st = tern_contribute(self, &v, 4, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32), &cb);
    CHECK_OK(tern_future_set(&s->done, &st, sizeof st));
}

/* mode mismatch_* */
enum { MM_SIZE, MM_REDUCER, MM_CUSTOM, MM_CALLBACK };
typedef struct {
    tern_future_t ok[2], bad, other;
    int32_t what, pad;
} mm_msg_t;

static void red_mismatch(void *self, const tern_msg_t *m)
{
    red_t *r = self;
    mm_msg_t mm;
    CHECK_EQ(tern_msg_size(m), sizeof mm);
    memcpy(&mm, tern_msg_data(m), sizeof mm);
    const tern_reducer_t SUM32 = TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32);
    int32_t v[NV] = {(int32_t)r->lin, 1, 2, 3, 4};
    for (int i = 0; i < 2; i++) {
        tern_callback_t cb = tern_cb_future(&mm.ok[i]);
        CHECK_OK(tern_contribute(self, v, 12, SUM32, &cb));
    }
    /* reduction 2: the last member differs */
    int odd = r->lin == r->total - 1;
    size_t len = 12;
    tern_reducer_t red = SUM32;
    if (odd && mm.what == MM_SIZE)
        len = 8;
    if (odd && mm.what == MM_REDUCER)
        red = TERN_REDUCER(TERN_OP_MAX, TERN_DT_INT32);
    if (mm.what == MM_CUSTOM) {
        len = sizeof v;
        if (odd)
            red = R_ABSMAX;
    }
    tern_callback_t cb = tern_cb_future(odd && mm.what == MM_CALLBACK ? &mm.other : &mm.bad);
    CHECK_OK(tern_contribute(self, v, len, red, &cb));
}

/* ---- the scenarios (main, on PE 0) ---- */

static void run_ops(void)
{
    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        ops_msg_t om;
        for (int k = 0; k < NOPS; k++)
            CHECK_OK(tern_future_create(1, &om.f[k]));
        tern_iov_t iov = {&om, sizeof om};
        CHECK_OK(tern_send(&c.p, EP_OPS, &iov, 1, NULL));
        /* wait in reverse order: the last reduction's result may come first */
        for (int k = NOPS - 1; k >= 0; k--) {
            size_t len;
            const void *v = wait1(&om.f[k], &len);
            check_op_result(&c, k, v, len);
            tern_future_free(&om.f[k]);
        }
    }
}

static void run_gather(void)
{
    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        const int64_t T = c.total;
        gather_msg_t gm;
        CHECK_OK(tern_future_create(1, &gm.fixed));
        CHECK_OK(tern_future_create(1, &gm.var));
        CHECK_OK(tern_future_create(1, &gm.empty));
        CHECK_OK(tern_future_create(1, &gm.big));
        tern_iov_t iov = {&gm, sizeof gm};
        CHECK_OK(tern_send(&c.p, EP_GATHER, &iov, 1, NULL));
        size_t len;

        const unsigned char *v = wait1(&gm.fixed, &len);
        CHECK_EQ(len, (size_t)T * 12);
        for (int64_t lin = 0; lin < T; lin++) {
            int32_t fx[3];
            memcpy(fx, v + lin * 12, 12);
            CHECK_EQ(fx[0], lin);
            CHECK_EQ(fx[1], lin * lin + 1);
            CHECK_EQ(fx[2], -lin);
        }

        v = wait1(&gm.var, &len);
        size_t want = 0, pos = 0;
        for (int64_t lin = 0; lin < T; lin++)
            want += var_len(lin);
        CHECK_EQ(len, want);
        for (int64_t lin = 0; lin < T; lin++)
            for (size_t off = 0; off < var_len(lin); off++)
                CHECK_EQ(v[pos++], mp_pattern((uint64_t)lin, off));

        wait1(&gm.empty, &len);
        CHECK_EQ(len, 0);

        v = wait1(&gm.big, &len);
        CHECK_EQ(len, BIG_LEN + (size_t)(T - 1));
        pos = 0;
        for (int64_t lin = 0; lin < T; lin++)
            for (size_t off = 0; off < big_len(lin, T); off++)
                if (v[pos++] != mp_pattern((uint64_t)lin + 1000, off))
                    tern_abort("%s: big gather: byte %zu of member %lld differs", c.name, off,
                               (long long)lin);

        tern_future_free(&gm.fixed);
        tern_future_free(&gm.var);
        tern_future_free(&gm.empty);
        tern_future_free(&gm.big);
    }
}

static void run_custom(void)
{
    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        custom_msg_t cm;
        CHECK_OK(tern_future_create(1, &cm.absmax));
        CHECK_OK(tern_future_create(1, &cm.bor));
        tern_iov_t iov = {&cm, sizeof cm};
        CHECK_OK(tern_send(&c.p, EP_CUSTOM, &iov, 1, NULL));
        int32_t a[NV], ea[NV];
        wait_copy(&cm.absmax, a, sizeof a);
        uint64_t b[NV], eb[NV];
        wait_copy(&cm.bor, b, sizeof b);
        for (int j = 0; j < NV; j++) {
            ea[j] = absmax_val(0, j);
            eb[j] = bor_val(0, j);
        }
        for (int64_t lin = 1; lin < c.total; lin++) {
            int32_t x[NV];
            uint64_t y[NV];
            for (int j = 0; j < NV; j++) {
                x[j] = absmax_val(lin, j);
                y[j] = bor_val(lin, j);
            }
            absmax_fn(ea, x, sizeof ea);
            bor64_fn(eb, y, sizeof eb);
        }
        for (int j = 0; j < NV; j++) {
            CHECK_EQ(a[j], ea[j]);
            CHECK(b[j] == eb[j]);
        }
        tern_future_free(&cm.absmax);
        tern_future_free(&cm.bor);
    }
}

static void run_sync(void)
{
    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        const int64_t T = c.total;

        /* One empty reduction: not done while the last member has not contributed. */
        nop_msg_t nm;
        memset(&nm, 0, sizeof nm);
        nm.n = 1;
        CHECK_OK(tern_future_create(1, &nm.f[0]));
        tern_iov_t iov = {&nm, sizeof nm};
        for (int64_t lin = 0; lin < T - 1; lin++) {
            tern_proxy_t e = elem_of(&c, lin);
            CHECK_OK(tern_send(&e, EP_NOP, &iov, 1, NULL));
        }
        CHECK_OK(tern_sleep(0.05));
        CHECK_EQ(tern_future_done(&nm.f[0]), 0);
        CHECK_EQ(tern_future_count(&nm.f[0]), 0);
        tern_proxy_t last = elem_of(&c, T - 1);
        CHECK_OK(tern_send(&last, EP_NOP, &iov, 1, NULL));
        size_t len;
        wait1(&nm.f[0], &len);
        CHECK_EQ(len, 0);
        tern_future_free(&nm.f[0]);

        /* NSYNC in a row */
        nm.n = NSYNC;
        for (int i = 0; i < NSYNC; i++)
            CHECK_OK(tern_future_create(1, &nm.f[i]));
        CHECK_OK(tern_send(&c.p, EP_NOP, &iov, 1, NULL));
        CHECK_OK(tern_future_wait_all(nm.f, NSYNC));
        for (int i = 0; i < NSYNC; i++) {
            CHECK_EQ(tern_future_count(&nm.f[i]), 1);
            value_of(&nm.f[i], 0, &len);
            CHECK_EQ(len, 0);
            tern_future_free(&nm.f[i]);
        }

        /* Contributions from the constructors. */
        red_args_t ra;
        memset(&ra, 0, sizeof ra);
        CHECK_OK(tern_future_create(1, &ra.done));
        ra.ctor_contrib = 1;
        coll_t c2 = make(&specs[s], &ra);
        int64_t v[2];
        wait_copy(&ra.done, v, sizeof v);
        CHECK_EQ(v[0], c2.total * (c2.total - 1) / 2);
        CHECK_EQ(v[1], c2.total);
        tern_future_free(&ra.done);
    }
}

static void run_inflight(void)
{
    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        const int64_t T = c.total;
        infl_msg_t im;
        CHECK_OK(tern_future_create(ROUNDS / 2, &im.even));
        for (int i = 0; i < ROUNDS / 2; i++)
            CHECK_OK(tern_future_create(1, &im.odd[i]));
        tern_iov_t iov = {&im, sizeof im};
        CHECK_OK(tern_send(&c.p, EP_INFLIGHT, &iov, 1, NULL));

        CHECK_OK(tern_future_wait(&im.even));
        CHECK_EQ(tern_future_count(&im.even), ROUNDS / 2);
        unsigned char seen[ROUNDS] = {0};
        for (int i = 0; i < ROUNDS / 2; i++) {
            size_t len;
            int64_t v[3];
            const void *val = value_of(&im.even, i, &len);
            CHECK_EQ(len, sizeof v);
            memcpy(v, val, sizeof v);
            CHECK_EQ(v[0] % T, 0);
            int64_t k = v[0] / T;
            CHECK(k >= 0 && k < ROUNDS && k % 2 == 0);
            CHECK_EQ(seen[k], 0);
            seen[k] = 1;
            CHECK_EQ(v[1], k * T * (T - 1) / 2);
            CHECK_EQ(v[2], T * (T - 1) / 2 + 1000 * k * T);
        }
        tern_future_free(&im.even);

        CHECK_OK(tern_future_wait_all(im.odd, ROUNDS / 2));
        for (int i = 0; i < ROUNDS / 2; i++) {
            size_t len;
            const unsigned char *v = value_of(&im.odd[i], 0, &len);
            CHECK_EQ(tern_future_count(&im.odd[i]), 1);
            CHECK_EQ(len, (size_t)T * 8);
            for (int64_t lin = 0; lin < T; lin++) {
                int32_t g[2];
                memcpy(g, v + lin * 8, 8);
                CHECK_EQ(g[0], 2 * i + 1);
                CHECK_EQ(g[1], lin);
            }
            tern_future_free(&im.odd[i]);
        }
    }
}

/* Ask contributors `to` to reduce (what) to cb; the members' own `done` becomes
 * self_done when its id is non-zero. */
static void red_cbtest_send(const tern_proxy_t *to, const tern_callback_t *cb, int what,
                            const tern_future_t *self_done)
{
    cbtest_msg_t cm;
    memset(&cm, 0, sizeof cm);
    cm.cb = *cb;
    cm.what = what;
    if (self_done)
        cm.done = *self_done;
    tern_iov_t iov = {&cm, sizeof cm};
    CHECK_OK(tern_send(to, EP_CBTEST, &iov, 1, NULL));
}

static void cbtest(const coll_t *c, const tern_callback_t *cb, int what,
                   const tern_future_t *self_done)
{
    red_cbtest_send(&c->p, cb, what, self_done);
}

static void check_sum3(const char *what, const void *data, size_t len, int64_t t)
{
    int32_t got[3], want[3];
    if (len != sizeof got)
        tern_abort("%s: a result of %zu bytes, expected %zu", what, len, sizeof got);
    memcpy(got, data, sizeof got);
    sum3_expect(t, want);
    for (int i = 0; i < 3; i++)
        if (got[i] != want[i])
            tern_abort("%s: element %d of the result is %d, expected %d", what, i,
                       (int)got[i], (int)want[i]);
}

/* A got_one answer: {receiver lin, result}. */
static void check_got_one(const char *what, const tern_future_t *f, int64_t lin, int64_t t)
{
    size_t len;
    const unsigned char *v = wait1(f, &len);
    CHECK(len >= 8);
    int64_t who;
    memcpy(&who, v, 8);
    CHECK_EQ(who, lin);
    check_sum3(what, v + 8, len - 8, t);
}

/* A got_all answer: every receiver's {lin, size, result} in order; t < 0: empty results. */
static void check_got_all(const char *what, const tern_future_t *f, int64_t receivers,
                          int64_t t)
{
    size_t len, each = t < 0 ? 16 : 16 + 12;
    const unsigned char *v = wait1(f, &len);
    CHECK_EQ(len, (size_t)receivers * each);
    for (int64_t lin = 0; lin < receivers; lin++) {
        int64_t hdr[2];
        memcpy(hdr, v + lin * each, 16);
        CHECK_EQ(hdr[0], lin);
        CHECK_EQ(hdr[1], each - 16);
        if (t >= 0)
            check_sum3(what, v + lin * each + 16, 12, t);
    }
}

static void run_callbacks(void)
{
    int npes = tern_num_pes();
    red_args_t ra;
    memset(&ra, 0, sizeof ra);
    size_t len;

    /* Fresh contributors for each scenario: two broadcasts from PE 0 to one collection
     * may reach its members in different orders, and then their k-th contributions would
     * name different callbacks. */
    coll_t a13 = make(spec_named("array13"), NULL);
    coll_t grp = make(spec_named("group"), NULL);
    coll_t a2d = make(spec_named("array3x5"), NULL);
    coll_t a3 = make(spec_named("array3"), NULL);
    coll_t a13b = make(spec_named("array13"), NULL);
    coll_t grpb = make(spec_named("group"), NULL);
    coll_t a3b = make(spec_named("array3"), NULL);
    coll_t a2db = make(spec_named("array3x5"), NULL);
    coll_t a13c = make(spec_named("array13"), NULL);

    /* 1. to a single chare on the last PE, and (empty result) on PE 0 */
    tern_proxy_t sink1, sink0;
    tern_future_t fs1, fs0;
    CHECK_OK(tern_future_create(1, &fs1));
    CHECK_OK(tern_future_create(1, &fs0));
    ra.done = fs1;
    tern_iov_t iov = {&ra, sizeof ra};
    CHECK_OK(tern_chare_create(T_SINK, npes - 1, &iov, 1, &sink1));
    ra.done = fs0;
    CHECK_OK(tern_chare_create(T_SINK, 0, &iov, 1, &sink0));
    tern_callback_t cb;
    CHECK_OK(tern_cb_send(&sink1, EP_SINK_GOT, &cb));
    CHECK_EQ(cb.kind, TERN_CB_SEND);
    cbtest(&a13, &cb, CB_SUM3, NULL);
    CHECK_OK(tern_cb_send(&sink0, EP_SINK_GOT, &cb));
    cbtest(&grp, &cb, CB_NOP, NULL);

    /* 2. to one element of an array (the last one, on the last PE) */
    tern_future_t fe;
    CHECK_OK(tern_future_create(1, &fe));
    ra.done = fe;
    coll_t recv13 = make(spec_named("array13"), &ra);
    tern_proxy_t e12 = elem_of(&recv13, 12);
    CHECK_OK(tern_cb_send(&e12, EP_GOT_ONE, &cb));
    cbtest(&a2d, &cb, CB_SUM3, NULL);

    /* 3. to one member of a group */
    tern_future_t fg;
    CHECK_OK(tern_future_create(1, &fg));
    ra.done = fg;
    coll_t recvg = make(spec_named("group"), &ra);
    tern_proxy_t glast = elem_of(&recvg, npes - 1);
    CHECK_OK(tern_cb_send(&glast, EP_GOT_ONE, &cb));
    cbtest(&a3, &cb, CB_SUM3, NULL);

    /* 4. broadcast to a group */
    tern_future_t fbg;
    CHECK_OK(tern_future_create(1, &fbg));
    ra.done = fbg;
    coll_t bg = make(spec_named("group"), &ra);
    CHECK_OK(tern_cb_send(&bg.p, EP_GOT_ALL, &cb));
    cbtest(&a13b, &cb, CB_SUM3, NULL);

    /* 5. broadcast to an array with fewer elements than PEs */
    tern_future_t fb3;
    CHECK_OK(tern_future_create(1, &fb3));
    ra.done = fb3;
    coll_t b3 = make(spec_named("array3"), &ra);
    CHECK_OK(tern_cb_send(&b3.p, EP_GOT_ALL, &cb));
    cbtest(&grpb, &cb, CB_SUM3, NULL);

    /* 6. broadcast of an empty result to a 2-D array */
    tern_future_t fb2d;
    CHECK_OK(tern_future_create(1, &fb2d));
    ra.done = fb2d;
    coll_t b2d = make(spec_named("array3x5"), &ra);
    CHECK_OK(tern_cb_send(&b2d.p, EP_GOT_ALL, &cb));
    cbtest(&a3b, &cb, CB_NOP, NULL);

    /* 7. broadcast to the contributing array itself */
    tern_future_t fself;
    CHECK_OK(tern_future_create(1, &fself));
    CHECK_OK(tern_cb_send(&a2db.p, EP_GOT_ALL, &cb));
    cbtest(&a2db, &cb, CB_SUM3, &fself);

    /* 8. to a future of another PE than the root (created by a coroutine of a sink) */
    tern_future_t fr;
    CHECK_OK(tern_future_create(1, &fr));
    ra.done = fr;
    tern_proxy_t sinkr;
    CHECK_OK(tern_chare_create(T_SINK, npes - 1, &iov, 1, &sinkr));
    remote_msg_t rm = {a13c.p, a13c.total};
    tern_iov_t riov = {&rm, sizeof rm};
    CHECK_OK(tern_send(&sinkr, EP_SINK_REMOTE, &riov, 1, NULL));

    /* The checks, in another order than the sends. */
    check_got_all("broadcast to the contributors", &fself, 15, 15);
    check_got_all("empty result broadcast to a 2-D array", &fb2d, 15, -1);
    check_got_all("broadcast to an array of 3", &fb3, 3, npes);
    check_got_all("broadcast to a group", &fbg, npes, 13);
    check_got_one("to a group member", &fg, npes - 1, 3);
    check_got_one("to an array element", &fe, 12, 15);
    const void *v = wait1(&fs1, &len);
    check_sum3("to a single chare", v, len, 13);
    v = wait1(&fr, &len);
    check_sum3("to a future on another PE (passed on)", v, len, 13);
    wait1(&fs0, &len);
    CHECK_EQ(len, 0);

    tern_future_t all[] = {fself, fb2d, fb3, fbg, fg, fe, fs1, fs0, fr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        tern_future_free(&all[i]);
}

static void run_coro(void)
{
    coll_t c[NSPECS];
    coro_msg_t cm[NSPECS];
    tern_future_t f[NSPECS];
    for (int s = 0; s < NSPECS; s++) {
        c[s] = make(&specs[s], NULL);
        CHECK_OK(tern_future_create(1, &f[s]));
        cm[s].done = f[s];
        cm[s].rounds = CORO_ROUNDS;
        cm[s].tag = s;
    }
    /* all four at once: their coroutines interleave on every PE */
    for (int s = 0; s < NSPECS; s++) {
        tern_iov_t iov = {&cm[s], sizeof cm[s]};
        CHECK_OK(tern_send(&c[s].p, EP_CORO, &iov, 1, NULL));
    }
    for (int s = 0; s < NSPECS; s++) {
        int32_t n;
        wait_copy(&f[s], &n, sizeof n);
        CHECK_EQ(n, c[s].total);
        tern_future_free(&f[s]);
    }
}

static void run_badinput(void)
{
    CHECK_EQ(reg_dup_status, TERN_ERR_EXISTS);
    CHECK_EQ(reg_null_status, TERN_ERR_INVALID);
    tern_reducer_t late;
    CHECK_EQ(tern_reducer_register("late", bor64_fn, &late), TERN_ERR_STATE);

    int npes = tern_num_pes();
    red_args_t ra;
    memset(&ra, 0, sizeof ra);
    CHECK_OK(tern_future_create(1, &ra.done));
    tern_iov_t iov = {&ra, sizeof ra};
    tern_proxy_t sink;
    CHECK_OK(tern_chare_create(T_SINK, npes - 1, &iov, 1, &sink));
    CHECK_OK(tern_send(&sink, EP_SINK_BAD, NULL, 0, NULL));
    tern_status_t st;
    wait_copy(&ra.done, &st, sizeof st);
    CHECK_EQ(st, TERN_ERR_INVALID);
    tern_future_free(&ra.done);

    for (int s = 0; s < NSPECS; s++) {
        coll_t c = make(&specs[s], NULL);
        /* A callback whose entry method is not of the proxy's type is refused. */
        tern_callback_t cb;
        CHECK_EQ(tern_cb_send(&c.p, EP_SINK_GOT, &cb), TERN_ERR_TYPE);
        bad_msg_t bm;
        CHECK_OK(tern_future_create(1, &bm.sum));
        CHECK_OK(tern_future_create(1, &bm.max));
        tern_iov_t biov = {&bm, sizeof bm};
        CHECK_OK(tern_send(&c.p, EP_BAD, &biov, 1, NULL));
        int32_t v;
        wait_copy(&bm.sum, &v, sizeof v);
        CHECK_EQ(v, c.total * (c.total - 1) / 2);
        wait_copy(&bm.max, &v, sizeof v);
        CHECK_EQ(v, c.total - 1);
        tern_future_free(&bm.sum);
        tern_future_free(&bm.max);
    }
    CHECK(bad_calls_done >= 1); /* member 0 lives on PE 0 */
}

static void run_mismatch(int what, const char *shape)
{
    coll_t c = make(strcmp(shape, "group") == 0 ? spec_named("group") : spec_named("array13"),
                    NULL);
    CHECK(c.total >= 2);
    mm_msg_t mm;
    memset(&mm, 0, sizeof mm);
    mm.what = what;
    CHECK_OK(tern_future_create(1, &mm.ok[0]));
    CHECK_OK(tern_future_create(1, &mm.ok[1]));
    CHECK_OK(tern_future_create(1, &mm.bad));
    CHECK_OK(tern_future_create(1, &mm.other));
    tern_iov_t iov = {&mm, sizeof mm};
    CHECK_OK(tern_send(&c.p, EP_MISMATCH, &iov, 1, NULL));
    CHECK_OK(tern_future_wait(&mm.bad));
    tern_abort("a reduction with mismatched contributions completed");
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *shape = argc > 2 ? argv[2] : "array";
    double t0 = tern_wall_time();
    if (strcmp(mode, "ops") == 0)
        run_ops();
    else if (strcmp(mode, "gather") == 0)
        run_gather();
    else if (strcmp(mode, "custom") == 0)
        run_custom();
    else if (strcmp(mode, "sync") == 0)
        run_sync();
    else if (strcmp(mode, "inflight") == 0)
        run_inflight();
    else if (strcmp(mode, "callbacks") == 0)
        run_callbacks();
    else if (strcmp(mode, "coro") == 0)
        run_coro();
    else if (strcmp(mode, "badinput") == 0)
        run_badinput();
    else if (strcmp(mode, "mismatch_size") == 0)
        run_mismatch(MM_SIZE, shape);
    else if (strcmp(mode, "mismatch_reducer") == 0)
        run_mismatch(MM_REDUCER, shape);
    else if (strcmp(mode, "mismatch_custom") == 0)
        run_mismatch(MM_CUSTOM, shape);
    else if (strcmp(mode, "mismatch_callback") == 0)
        run_mismatch(MM_CALLBACK, shape);
    else
        tern_abort("usage: mp_reduce ops|gather|custom|sync|inflight|callbacks|coro|badinput|"
                   "mismatch_size|mismatch_reducer|mismatch_custom|mismatch_callback [group|array]");
    printf("mp_reduce %s: ok on %d PEs in %.3f s\n", mode, tern_num_pes(),
           tern_wall_time() - t0);
    fflush(stdout);
    tern_exit(0);
}

/* Odd ranks register in another order: ids (and reducer handles) must agree anyway. */
static void register_all(int reverse)
{
    if (!reverse) {
        CHECK_OK(tern_reducer_register("spare", spare_fn, &R_SPARE));
        CHECK_OK(tern_reducer_register("absmax.int32", absmax_fn, &R_ABSMAX));
        CHECK_OK(tern_reducer_register("bor.uint64", bor64_fn, &R_BOR64));
    } else {
        CHECK_OK(tern_reducer_register("bor.uint64", bor64_fn, &R_BOR64));
        CHECK_OK(tern_reducer_register("absmax.int32", absmax_fn, &R_ABSMAX));
        CHECK_OK(tern_reducer_register("spare", spare_fn, &R_SPARE));
    }
    struct {
        const char *name;
        tern_entry_fn fn;
        unsigned flags;
        tern_ep_t *out;
    } eps[] = {
        {"ops", red_ops, 0, &EP_OPS},
        {"gather", red_gather, 0, &EP_GATHER},
        {"custom", red_custom, 0, &EP_CUSTOM},
        {"nop", red_nop, 0, &EP_NOP},
        {"inflight", red_inflight, 0, &EP_INFLIGHT},
        {"cbtest", red_cbtest, 0, &EP_CBTEST},
        {"got_all", red_got_all, 0, &EP_GOT_ALL},
        {"got_one", red_got_one, 0, &EP_GOT_ONE},
        {"coro", red_coro, TERN_EP_COROUTINE, &EP_CORO},
        {"bad", red_bad, 0, &EP_BAD},
        {"mismatch", red_mismatch, 0, &EP_MISMATCH},
    };
    int neps = (int)(sizeof eps / sizeof eps[0]);
    if (reverse) {
        CHECK_OK(tern_type_register("Sink", sizeof(sink_t), sink_ctor, NULL, &T_SINK));
        CHECK_OK(tern_ep_register_flags(T_SINK, "remote", sink_remote, TERN_EP_COROUTINE,
                                        &EP_SINK_REMOTE));
        CHECK_OK(tern_ep_register(T_SINK, "bad", sink_bad, &EP_SINK_BAD));
        CHECK_OK(tern_ep_register(T_SINK, "got", sink_got, &EP_SINK_GOT));
    }
    CHECK_OK(tern_type_register("Red", sizeof(red_t), red_ctor, NULL, &T_RED));
    for (int i = 0; i < neps; i++) {
        int k = reverse ? neps - 1 - i : i;
        CHECK_OK(tern_ep_register_flags(T_RED, eps[k].name, eps[k].fn, eps[k].flags, eps[k].out));
    }
    if (!reverse) {
        CHECK_OK(tern_type_register("Sink", sizeof(sink_t), sink_ctor, NULL, &T_SINK));
        CHECK_OK(tern_ep_register(T_SINK, "got", sink_got, &EP_SINK_GOT));
        CHECK_OK(tern_ep_register(T_SINK, "bad", sink_bad, &EP_SINK_BAD));
        CHECK_OK(tern_ep_register_flags(T_SINK, "remote", sink_remote, TERN_EP_COROUTINE,
                                        &EP_SINK_REMOTE));
    }
}

int main(int argc, char **argv)
{
    const char *rank = getenv("TERN_RANK");
    register_all(rank && atoi(rank) % 2 == 1);
    if (argc > 1 && strcmp(argv[1], "badinput") == 0) {
        tern_reducer_t r;
        reg_dup_status = tern_reducer_register("absmax.int32", bor64_fn, &r);
        reg_null_status = tern_reducer_register("nullfn", NULL, &r);
    }
    return tern_run(argc, argv, start);
}
