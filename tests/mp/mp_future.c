/*
 * Futures and invocations that answer. One scenario per mode, each on arrays whose
 * elements are spread over the PEs (block mapping: element lin of total lives on PE
 * lin * npes / total):
 *
 *   values   a future of N values set from every PE (data of several sizes, empty values,
 *            a value larger than a transport's eager limit), tern_future_get.
 *   call     TERN_CALL_RET and TERN_CALL_DONE to one element and to a single chare, with
 *            plain and coroutine methods (one that suspends before it returns).
 *   bcast    TERN_CALL_RET on a broadcast to 1-D and 2-D arrays and to a group: value i is
 *            element i's, also when the answers arrive in reverse order; TERN_CALL_DONE on
 *            a broadcast completes only once every member (coroutines that suspend too)
 *            has returned.
 *   error    tern_raise in plain and coroutine methods, point to point and in a broadcast,
 *            relayed by a coroutine that waited on it; tern_future_set_error;
 *            tern_future_wait_all with a failure.
 *   nested   chains of coroutines across the PEs, each waiting on a future that the next
 *            sets after waiting itself; many coroutines waiting on one future.
 *   iter     tern_future_wait_all, and tern_future_iter_* in the order futures became
 *            done (forced by deadlines in reverse index order).
 *   created  tern_await_created on an array, a group and a single chare just created.
 *   errors   misuse: another PE's future, too many values, freed futures, bad arguments.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_FUT;
static tern_ep_t EP_SETTER, EP_SET_STR, EP_SET_BIG, EP_ECHO, EP_ECHO_CORO, EP_NOTHING,
    EP_GATED, EP_RAISER, EP_RAISER_CORO, EP_RAISE_IF, EP_CHAIN_RAISE, EP_SET_ERROR,
    EP_LINK, EP_SHARE_MAKE, EP_SHARE_WAIT, EP_ITER_SETTER, EP_MAKE_FUTURE, EP_FREE_FUTURE,
    EP_OVERSET, EP_WAIT_ONLY;

#define BIG_LEN (200 * 1000)

typedef struct {
    int64_t lin;
    tern_future_t shared;
} fut_state_t;

typedef struct {
    tern_future_t f;
    int count, tag;
} setter_args_t;

typedef struct {
    int32_t pe, j;
    int64_t tag;
} val_t;

typedef struct {
    int64_t lin;
    int32_t pe;
    int32_t idx[2];
    int32_t in_coro;
    int64_t x2;
} echo_ret_t;

typedef struct {
    int64_t lin;
    tern_future_t gate;
} gate_note_t;

typedef struct {
    int64_t lin;
    int32_t pe;
    int32_t pad;
    int64_t v;
} gated_ret_t;

typedef struct {
    tern_future_t up;
    tern_proxy_t arr;
    int32_t depth, total;
} link_args_t;

typedef struct {
    tern_future_t f;
    double at;
    int64_t v;
} iter_args_t;

typedef struct {
    tern_proxy_t target;
    int64_t lin;
} chain_args_t;

static int block_pe(int64_t lin, int64_t total, int npes)
{
    return (int)(lin * npes / total);
}

static void elems_of(const tern_proxy_t *arr, int total, tern_proxy_t *el)
{
    for (int i = 0; i < total; i++)
        CHECK_OK(tern_proxy_elem(arr, &i, &el[i]));
}

/* ---- the chare ---- */

static void fut_ctor(void *self, const tern_msg_t *args)
{
    fut_state_t *s = self;
    tern_proxy_t me = tern_self_proxy(self);
    const int32_t *idx = tern_self_index(self);
    s->lin = 0; /* a single chare */
    if (me.kind == TERN_PROXY_GROUP_ELEM)
        s->lin = idx[0];
    if (me.kind == TERN_PROXY_ARRAY_ELEM)
        for (int i = 0; i < me.ndims; i++)
            s->lin = s->lin * me.dims[i] + idx[i];
    /* Creation checks: report to the creator's future. */
    if (tern_msg_size(args) == sizeof(tern_future_t)) {
        tern_future_t f;
        memcpy(&f, tern_msg_data(args), sizeof f);
        CHECK_OK(tern_future_set(&f, &s->lin, sizeof s->lin));
    }
}

/* Set `count` values on the future; value 0 is empty on odd PEs. */
static void setter(void *self, const tern_msg_t *msg)
{
    (void)self;
    CHECK_EQ(tern_msg_size(msg), sizeof(setter_args_t));
    setter_args_t a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    int pe = tern_my_pe();
    for (int j = 0; j < a.count; j++) {
        val_t v = {pe, j, a.tag};
        if (j == 0 && pe % 2 == 1)
            CHECK_OK(tern_future_set(&a.f, NULL, 0));
        else
            CHECK_OK(tern_future_set(&a.f, &v, sizeof v));
    }
}

static void set_str(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    char s[64];
    int n = snprintf(s, sizeof s, "hello from PE %d", tern_my_pe());
    CHECK_OK(tern_future_set(&f, s, (size_t)n + 1));
}

static void set_big(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    unsigned char *b = malloc(BIG_LEN);
    CHECK(b);
    for (size_t i = 0; i < BIG_LEN; i++)
        b[i] = mp_pattern((uint64_t)tern_my_pe(), i);
    CHECK_OK(tern_future_set(&f, b, BIG_LEN));
    free(b);
}

static echo_ret_t echo_value(void *self, const tern_msg_t *msg)
{
    fut_state_t *s = self;
    echo_ret_t r;
    memset(&r, 0, sizeof r);
    r.lin = s->lin;
    r.pe = tern_my_pe();
    r.in_coro = tern_in_coroutine();
    tern_proxy_t me = tern_self_proxy(self);
    if (me.kind == TERN_PROXY_ARRAY_ELEM) {
        const int32_t *idx = tern_self_index(self);
        r.idx[0] = idx[0];
        r.idx[1] = me.ndims > 1 ? idx[1] : -1;
    }
    CHECK_EQ(tern_msg_size(msg), sizeof(int64_t));
    r.x2 = 2 * *(const int64_t *)tern_msg_data(msg);
    return r;
}

static void echo(void *self, const tern_msg_t *msg)
{
    echo_ret_t r = echo_value(self, msg);
    tern_return(&r, sizeof r);
}

static void echo_coro(void *self, const tern_msg_t *msg)
{
    CHECK_OK(tern_yield());
    echo_ret_t r = echo_value(self, msg);
    /* The last call wins. */
    int64_t junk = -1;
    tern_return(&junk, sizeof junk);
    CHECK_OK(tern_yield());
    tern_return(&r, sizeof r);
}

static void nothing(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
}

/* Coroutine: tell the creator's collector future about a gate future of this PE, wait
 * until the creator sets it, return its value. */
static void gated(void *self, const tern_msg_t *msg)
{
    fut_state_t *s = self;
    tern_future_t collector;
    CHECK_EQ(tern_msg_size(msg), sizeof collector);
    memcpy(&collector, tern_msg_data(msg), sizeof collector);
    gate_note_t note = {s->lin, {0, 0, 0}};
    CHECK_OK(tern_future_create(1, &note.gate));
    tern_future_t gate = note.gate;
    CHECK_OK(tern_future_set(&collector, &note, sizeof note));
    int64_t v = 0;
    size_t len = 0;
    CHECK_OK(tern_future_get(&gate, &v, sizeof v, &len));
    CHECK_EQ(len, sizeof v);
    tern_future_free(&gate);
    gated_ret_t r = {s->lin, tern_my_pe(), 0, v};
    tern_return(&r, sizeof r);
}

static void raiser(void *self, const tern_msg_t *msg)
{
    (void)msg;
    fut_state_t *s = self;
    int64_t ignored = 5;
    tern_return(&ignored, sizeof ignored);
    tern_raise("raised by element %lld", (long long)s->lin);
}

static void raiser_coro(void *self, const tern_msg_t *msg)
{
    (void)msg;
    fut_state_t *s = self;
    CHECK_OK(tern_yield());
    tern_raise("coroutine element %lld failed", (long long)s->lin);
}

/* Raise on the element named by the payload; the others return their index. */
static void raise_if(void *self, const tern_msg_t *msg)
{
    fut_state_t *s = self;
    int64_t which = *(const int64_t *)tern_msg_data(msg);
    if (s->lin == which) {
        tern_raise("element %lld refuses", (long long)s->lin);
        return;
    }
    tern_return(&s->lin, sizeof s->lin);
}

/* Coroutine: call raiser on the target, wait for its failure, fail in turn naming it. */
static void chain_raise(void *self, const tern_msg_t *msg)
{
    (void)self;
    chain_args_t a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    tern_future_t f;
    CHECK_OK(tern_call(&a.target, EP_RAISER, NULL, 0, TERN_CALL_RET, NULL, &f));
    CHECK_EQ(tern_future_wait(&f), TERN_ERR_REMOTE);
    int epe = -1;
    const char *m = tern_future_error(&f, &epe);
    CHECK(m != NULL);
    char want[64];
    snprintf(want, sizeof want, "raised by element %lld", (long long)a.lin);
    CHECK(strcmp(m, want) == 0);
    tern_raise("chained: %s (on PE %d)", m, epe);
    tern_future_free(&f);
}

static void set_error(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    CHECK_OK(tern_future_set_error(&f, "set_error from PE %d tag %d", tern_my_pe(), 9));
}

/* Coroutine: a link of a chain. Depth 0 sets `up` after yielding; the others make a
 * future of their own, send the next link (next element) to set it, wait, then set up. */
static void link_ep(void *self, const tern_msg_t *msg)
{
    fut_state_t *s = self;
    link_args_t a;
    CHECK_EQ(tern_msg_size(msg), sizeof a);
    memcpy(&a, tern_msg_data(msg), sizeof a);
    int64_t v;
    if (a.depth == 0) {
        CHECK_OK(tern_yield());
        v = 1;
    } else {
        link_args_t next = a;
        CHECK_OK(tern_future_create(1, &next.up));
        tern_future_t down = next.up;
        next.depth = a.depth - 1;
        int nl = (int)((s->lin + 1) % a.total);
        tern_proxy_t to;
        CHECK_OK(tern_proxy_elem(&a.arr, &nl, &to));
        tern_iov_t iov = {&next, sizeof next};
        CHECK_OK(tern_send(&to, EP_LINK, &iov, 1, NULL));
        CHECK(!tern_future_done(&down));
        size_t len = 0;
        CHECK_OK(tern_future_get(&down, &v, sizeof v, &len));
        CHECK_EQ(len, sizeof v);
        CHECK_EQ(v, a.depth); /* the links below counted their depth */
        tern_future_free(&down);
        v += 1;
    }
    CHECK_OK(tern_future_set(&a.up, &v, sizeof v));
}

static void share_make(void *self, const tern_msg_t *msg)
{
    (void)msg;
    fut_state_t *s = self;
    CHECK_OK(tern_future_create(1, &s->shared));
    /* Several coroutines take its value: the first must not release it. */
    CHECK_OK(tern_future_keep(&s->shared));
    tern_return(&s->shared, sizeof s->shared);
}

static void share_wait(void *self, const tern_msg_t *msg)
{
    fut_state_t *s = self;
    int64_t k = *(const int64_t *)tern_msg_data(msg);
    tern_future_t f = s->shared;
    int64_t v = 0;
    CHECK_OK(tern_future_get(&f, &v, sizeof v, NULL));
    v = v * 1000 + k;
    tern_return(&v, sizeof v);
}

/* A coroutine that only waits on the future it is given. */
static void wait_only(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    CHECK_OK(tern_future_wait(&f));
}

static void iter_setter(void *self, const tern_msg_t *msg)
{
    (void)self;
    iter_args_t a;
    memcpy(&a, tern_msg_data(msg), sizeof a);
    double wait = a.at - mp_now();
    if (wait > 0)
        CHECK_OK(tern_sleep(wait));
    CHECK_OK(tern_future_set(&a.f, &a.v, sizeof a.v));
}

static void make_future(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    tern_future_t f;
    CHECK_OK(tern_future_create(1, &f));
    tern_return(&f, sizeof f);
}

static void free_future(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    CHECK_EQ(f.pe, tern_my_pe());
    tern_future_free(&f);
}

/* Set a 1-value future twice: the second value is one too many. */
static void overset(void *self, const tern_msg_t *msg)
{
    (void)self;
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    int64_t a = 111, b = 222;
    CHECK_OK(tern_future_set(&f, &a, sizeof a));
    tern_status_t st = tern_future_set(&f, &b, sizeof b);
    /* Only the future's own PE can tell at once; elsewhere it is logged there. */
    CHECK_EQ(st, f.pe == tern_my_pe() ? TERN_ERR_RANGE : TERN_OK);
}

/* ---- values ---- */

static void run_values(void)
{
    int npes = tern_num_pes();
    enum { PER = 3 };
    tern_proxy_t grp;
    CHECK_OK(tern_group_create(T_FUT, NULL, 0, NULL, &grp));

    /* N values from every PE, sent inside a message. */
    int n = npes * PER;
    tern_future_t f;
    CHECK_OK(tern_future_create(n, &f));
    CHECK_EQ(f.pe, 0);
    CHECK_EQ(f.n, n);
    CHECK(f.id != 0);
    setter_args_t a = {f, PER, 42};
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_send(&grp, EP_SETTER, &iov, 1, NULL));
    CHECK(!tern_future_done(&f)); /* nothing ran yet: main has not suspended */
    CHECK_EQ(tern_future_count(&f), 0);
    CHECK_OK(tern_future_wait(&f));
    CHECK(tern_future_done(&f));
    CHECK_EQ(tern_future_count(&f), n);
    unsigned char *seen = calloc((size_t)n, 1);
    CHECK(seen);
    int empties = 0;
    for (int i = 0; i < n; i++) {
        size_t len = 99;
        const val_t *v = tern_future_value(&f, i, &len);
        CHECK(v != NULL);
        if (len == 0) {
            empties++;
            continue;
        }
        CHECK_EQ(len, sizeof *v);
        CHECK(v->pe >= 0 && v->pe < npes && v->j >= 0 && v->j < PER);
        CHECK_EQ(v->tag, 42);
        CHECK(!(v->j == 0 && v->pe % 2 == 1));
        CHECK_EQ(seen[v->pe * PER + v->j], 0);
        seen[v->pe * PER + v->j] = 1;
    }
    CHECK_EQ(empties, npes / 2);
    CHECK(tern_future_value(&f, n, NULL) == NULL);
    CHECK(tern_future_value(&f, -1, NULL) == NULL);
    free(seen);
    tern_future_free(&f);

    /* Values set here, mixing empty and data values, read back in order. */
    tern_future_t g;
    CHECK_OK(tern_future_create(4, &g));
    int64_t x = 5, y = 6;
    CHECK_OK(tern_future_set(&g, NULL, 0));
    CHECK_OK(tern_future_set(&g, &x, sizeof x));
    CHECK_OK(tern_future_set(&g, NULL, 0));
    CHECK(!tern_future_done(&g));
    CHECK_EQ(tern_future_count(&g), 3);
    CHECK_OK(tern_future_set(&g, &y, sizeof y));
    CHECK(tern_future_done(&g));
    CHECK_OK(tern_future_wait(&g));
    size_t lens[4];
    const void *vals[4];
    for (int i = 0; i < 4; i++)
        vals[i] = tern_future_value(&g, i, &lens[i]);
    CHECK(vals[0] && vals[1] && vals[2] && vals[3]);
    CHECK_EQ(lens[0], 0);
    CHECK_EQ(lens[1], sizeof x);
    CHECK_EQ(*(const int64_t *)vals[1], 5);
    CHECK_EQ(lens[2], 0);
    CHECK_EQ(lens[3], sizeof y);
    CHECK_EQ(*(const int64_t *)vals[3], 6);
    tern_future_free(&g);

    /* tern_future_get: a string from the last PE, truncated then whole. */
    int last = npes - 1;
    tern_proxy_t lastm;
    CHECK_OK(tern_proxy_elem(&grp, &last, &lastm));
    tern_future_t h;
    CHECK_OK(tern_future_create(1, &h));
    tern_iov_t hiov = {&h, sizeof h};
    CHECK_OK(tern_send(&lastm, EP_SET_STR, &hiov, 1, NULL));
    char want[64], buf[64];
    snprintf(want, sizeof want, "hello from PE %d", last);
    memset(buf, 'x', sizeof buf);
    size_t len = 0;
    /* Too small a buffer: an error, nothing copied, the size needed, the future kept. */
    CHECK_EQ(tern_future_get(&h, buf, 5, &len), TERN_ERR_RANGE);
    CHECK_EQ(len, strlen(want) + 1);
    CHECK(buf[0] == 'x');
    CHECK_OK(tern_future_get(&h, buf, sizeof buf, NULL));
    CHECK(strcmp(buf, want) == 0);
    /* Taking the value released it; freeing it again is harmless. */
    CHECK_EQ(tern_future_wait(&h), TERN_ERR_INVALID);
    tern_future_free(&h);

    /* A value larger than the transports' eager limit. */
    tern_future_t b;
    CHECK_OK(tern_future_create(1, &b));
    tern_iov_t biov = {&b, sizeof b};
    CHECK_OK(tern_send(&lastm, EP_SET_BIG, &biov, 1, NULL));
    CHECK_OK(tern_future_wait(&b));
    const unsigned char *big = tern_future_value(&b, 0, &len);
    CHECK(big != NULL);
    CHECK_EQ(len, BIG_LEN);
    for (size_t i = 0; i < BIG_LEN; i++)
        if (big[i] != mp_pattern((uint64_t)last, i))
            CHECK_EQ(i, -1);
    tern_future_free(&b);

    /* One coroutine waits on a future, main takes its value: whichever of them runs last
     * releases it (the waiter list wakes main first). */
    tern_future_t w;
    CHECK_OK(tern_future_create(1, &w));
    tern_future_t d;
    CHECK_OK(tern_call_elem(&grp, TERN_IDX(0), EP_WAIT_ONLY, &w, sizeof w, TERN_CALL_DONE, &d));
    CHECK_OK(tern_sleep(0.05)); /* the waiter is suspended on w now */
    iter_args_t ia;
    memset(&ia, 0, sizeof ia);
    ia.f = w;
    ia.at = mp_now() + 0.05; /* set once main waits too */
    ia.v = 7;
    CHECK_OK(tern_send_elem(&grp, TERN_IDX(last), EP_ITER_SETTER, &ia, sizeof ia));
    int64_t got = 0;
    CHECK_OK(tern_future_get(&w, &got, sizeof got, NULL));
    CHECK_EQ(got, 7);
    CHECK_OK(tern_future_get(&d, NULL, 0, NULL)); /* the waiter has returned */
    CHECK_EQ(tern_future_wait(&w), TERN_ERR_INVALID);

    printf("future values: ok on %d PEs\n", npes);
    tern_exit(0);
}

/* ---- call ---- */

static void check_echo(const tern_future_t *f, int i, int64_t lin, int pe, int in_coro,
                       int64_t x)
{
    size_t len = 0;
    const echo_ret_t *r = tern_future_value(f, i, &len);
    CHECK(r != NULL);
    CHECK_EQ(len, sizeof *r);
    CHECK_EQ(r->lin, lin);
    CHECK_EQ(r->pe, pe);
    CHECK_EQ(r->in_coro, in_coro);
    CHECK_EQ(r->x2, 2 * x);
}

static void check_empty(const tern_future_t *f, int i)
{
    size_t len = 99;
    CHECK(tern_future_value(f, i, &len) != NULL);
    CHECK_EQ(len, 0);
}

static void run_call(void)
{
    int npes = tern_num_pes();
    int total = 2 * npes + 1;
    tern_proxy_t arr, single;
    CHECK_OK(tern_array_create(T_FUT, 1, &total, NULL, 0, &arr));
    CHECK_OK(tern_chare_create(T_FUT, npes - 1, NULL, 0, &single));
    tern_proxy_t *el = calloc((size_t)total, sizeof *el);
    tern_future_t *fr = calloc((size_t)total, sizeof *fr);
    tern_future_t *fc = calloc((size_t)total, sizeof *fc);
    tern_future_t *fd = calloc((size_t)total, sizeof *fd);
    CHECK(el && fr && fc && fd);
    elems_of(&arr, total, el);

    for (int i = 0; i < total; i++) {
        int64_t x = 10 * i + 1;
        tern_iov_t iov = {&x, sizeof x};
        CHECK_OK(tern_call(&el[i], EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &fr[i]));
        CHECK_EQ(fr[i].pe, 0);
        CHECK_EQ(fr[i].n, 1);
        CHECK_OK(tern_call(&el[i], EP_ECHO_CORO, &iov, 1, TERN_CALL_RET, NULL, &fc[i]));
        CHECK_OK(tern_call(&el[i], EP_ECHO, &iov, 1, TERN_CALL_DONE, NULL, &fd[i]));
    }
    for (int i = total - 1; i >= 0; i--) {
        CHECK_OK(tern_future_wait(&fr[i]));
        CHECK_OK(tern_future_wait(&fc[i]));
        CHECK_OK(tern_future_wait(&fd[i]));
        CHECK_EQ(tern_future_count(&fr[i]), 1);
        CHECK_EQ(tern_future_count(&fd[i]), 1);
        check_echo(&fr[i], 0, i, block_pe(i, total, npes), 0, 10 * i + 1);
        check_echo(&fc[i], 0, i, block_pe(i, total, npes), 1, 10 * i + 1);
        check_empty(&fd[i], 0);
        echo_ret_t r;
        size_t len = 0;
        CHECK_OK(tern_future_get(&fr[i], &r, sizeof r, &len));
        CHECK_EQ(len, sizeof r);
        CHECK_EQ(r.lin, i);
        tern_future_free(&fr[i]);
        tern_future_free(&fc[i]);
        tern_future_free(&fd[i]);
    }

    /* The single chare. */
    int64_t x = -4;
    tern_iov_t iov = {&x, sizeof x};
    tern_future_t f;
    CHECK_OK(tern_call(&single, EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    check_echo(&f, 0, 0, npes - 1, 0, -4);
    tern_future_free(&f);
    CHECK_OK(tern_call(&single, EP_ECHO_CORO, &iov, 1, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    check_empty(&f, 0);
    tern_future_free(&f);
    /* A method that returns nothing answers TERN_CALL_RET with an empty value. */
    CHECK_OK(tern_call(&single, EP_NOTHING, NULL, 0, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    CHECK_EQ(tern_future_count(&f), 1);
    check_empty(&f, 0);
    tern_future_free(&f);

    /* TERN_CALL_DONE on a coroutine that suspends: not done while it waits. */
    int lasti = total - 1;
    tern_future_t coll, done;
    CHECK_OK(tern_future_create(1, &coll));
    tern_iov_t civ = {&coll, sizeof coll};
    CHECK_OK(tern_call(&el[lasti], EP_GATED, &civ, 1, TERN_CALL_DONE, NULL, &done));
    gate_note_t note;
    CHECK_OK(tern_future_get(&coll, &note, sizeof note, NULL));
    CHECK_EQ(note.lin, lasti);
    CHECK_EQ(note.gate.pe, npes - 1);
    for (int k = 0; k < 20; k++)
        CHECK_OK(tern_yield());
    CHECK(!tern_future_done(&done));
    int64_t gv = 3;
    CHECK_OK(tern_future_set(&note.gate, &gv, sizeof gv));
    CHECK_OK(tern_future_wait(&done));
    check_empty(&done, 0);
    tern_future_free(&done);
    tern_future_free(&coll);

    free(el);
    free(fr);
    free(fc);
    free(fd);
    printf("future call: %d elements on %d PEs ok\n", total, npes);
    tern_exit(0);
}

/* ---- bcast ---- */

/* Broadcast `gated` to the collection `to` of `total` members, collect their gates, check
 * the answer future is not done while they wait, release them in reverse index order one
 * at a time, and check the answers (want: TERN_CALL_RET or TERN_CALL_DONE). */
static void gated_bcast(const tern_proxy_t *to, int total, int want, int group)
{
    int npes = tern_num_pes();
    tern_future_t coll, ans;
    CHECK_OK(tern_future_create(total, &coll));
    tern_iov_t civ = {&coll, sizeof coll};
    CHECK_OK(tern_call(to, EP_GATED, &civ, 1, want, NULL, &ans));
    CHECK_EQ(ans.n, total);
    CHECK_OK(tern_future_wait(&coll));
    tern_future_t *gate = calloc((size_t)total, sizeof *gate);
    unsigned char *seen = calloc((size_t)total, 1);
    CHECK(gate && seen);
    for (int i = 0; i < total; i++) {
        size_t len;
        const gate_note_t *n = tern_future_value(&coll, i, &len);
        CHECK(n != NULL);
        CHECK_EQ(len, sizeof *n);
        CHECK(n->lin >= 0 && n->lin < total);
        CHECK_EQ(seen[n->lin], 0);
        seen[n->lin] = 1;
        CHECK_EQ(n->gate.pe, group ? n->lin : block_pe(n->lin, total, npes));
        gate[n->lin] = n->gate;
    }
    tern_future_free(&coll);
    /* Every member is suspended: no answer yet. */
    for (int k = 0; k < 10; k++)
        CHECK_OK(tern_yield());
    CHECK(!tern_future_done(&ans));
    CHECK_EQ(tern_future_count(&ans), 0);
    for (int i = total - 1; i >= 0; i--) {
        int64_t v = 100 * i + 7;
        CHECK_OK(tern_future_set(&gate[i], &v, sizeof v));
        if (want == TERN_CALL_RET) {
            /* Answers come in reverse order; each lands in its member's slot. */
            while (tern_future_count(&ans) < total - i)
                CHECK_OK(tern_yield());
            CHECK_EQ(tern_future_count(&ans), total - i);
            CHECK(tern_future_value(&ans, i, NULL) != NULL);
            if (i > 0)
                CHECK(tern_future_value(&ans, i - 1, NULL) == NULL);
        }
        if (i > 0)
            CHECK(!tern_future_done(&ans));
    }
    CHECK_OK(tern_future_wait(&ans));
    CHECK_EQ(tern_future_count(&ans), total);
    for (int i = 0; i < total; i++) {
        size_t len = 99;
        const gated_ret_t *r = tern_future_value(&ans, i, &len);
        CHECK(r != NULL);
        if (want == TERN_CALL_DONE) {
            CHECK_EQ(len, 0);
            continue;
        }
        CHECK_EQ(len, sizeof *r);
        CHECK_EQ(r->lin, i);
        CHECK_EQ(r->pe, group ? i : block_pe(i, total, npes));
        CHECK_EQ(r->v, 100 * i + 7);
    }
    tern_future_free(&ans);
    free(gate);
    free(seen);
}

static void run_bcast(void)
{
    int npes = tern_num_pes();
    int total = 3 * npes + 2;
    int dims2[2] = {npes + 1, 3};
    int total2 = dims2[0] * dims2[1];
    tern_proxy_t arr, arr2, grp;
    CHECK_OK(tern_array_create(T_FUT, 1, &total, NULL, 0, &arr));
    CHECK_OK(tern_array_create(T_FUT, 2, dims2, NULL, 0, &arr2));
    CHECK_OK(tern_group_create(T_FUT, NULL, 0, NULL, &grp));

    /* Return values of plain and coroutine methods, in element order. */
    int64_t x = 21;
    tern_iov_t iov = {&x, sizeof x};
    tern_future_t f1, f1c, f2, fg, fgc;
    CHECK_OK(tern_call(&arr, EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &f1));
    CHECK_OK(tern_call(&arr, EP_ECHO_CORO, &iov, 1, TERN_CALL_RET, NULL, &f1c));
    CHECK_OK(tern_call(&arr2, EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &f2));
    CHECK_OK(tern_call(&grp, EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &fg));
    CHECK_OK(tern_call(&grp, EP_ECHO_CORO, &iov, 1, TERN_CALL_RET, NULL, &fgc));
    CHECK_EQ(f1.n, total);
    CHECK_EQ(f2.n, total2);
    CHECK_EQ(fg.n, npes);
    tern_future_t all[5] = {f1, f1c, f2, fg, fgc};
    CHECK_OK(tern_future_wait_all(all, 5));
    CHECK_EQ(tern_future_count(&f1), total);
    CHECK_EQ(tern_future_count(&f2), total2);
    CHECK_EQ(tern_future_count(&fg), npes);
    for (int i = 0; i < total; i++) {
        check_echo(&f1, i, i, block_pe(i, total, npes), 0, 21);
        check_echo(&f1c, i, i, block_pe(i, total, npes), 1, 21);
    }
    for (int i = 0; i < total2; i++) {
        check_echo(&f2, i, i, block_pe(i, total2, npes), 0, 21);
        const echo_ret_t *r = tern_future_value(&f2, i, NULL);
        CHECK_EQ(r->idx[0], i / 3); /* row-major */
        CHECK_EQ(r->idx[1], i % 3);
    }
    for (int p = 0; p < npes; p++) {
        check_echo(&fg, p, p, p, 0, 21);
        check_echo(&fgc, p, p, p, 1, 21);
    }
    for (int k = 0; k < 5; k++)
        tern_future_free(&all[k]);

    /* A method that returns nothing: one empty value per member. */
    tern_future_t fn;
    CHECK_OK(tern_call(&arr2, EP_NOTHING, NULL, 0, TERN_CALL_RET, NULL, &fn));
    CHECK_OK(tern_future_wait(&fn));
    CHECK_EQ(tern_future_count(&fn), total2);
    for (int i = 0; i < total2; i++)
        check_empty(&fn, i);
    tern_future_free(&fn);

    /* Completion of a broadcast of a plain method. */
    tern_future_t fd;
    CHECK_OK(tern_call(&grp, EP_ECHO, &iov, 1, TERN_CALL_DONE, NULL, &fd));
    CHECK_OK(tern_future_wait(&fd));
    CHECK_EQ(tern_future_count(&fd), npes);
    tern_future_free(&fd);
    CHECK_OK(tern_call(&arr, EP_ECHO_CORO, &iov, 1, TERN_CALL_DONE, NULL, &fd));
    CHECK_OK(tern_future_wait(&fd));
    CHECK_EQ(tern_future_count(&fd), total);
    tern_future_free(&fd);

    /* Members that suspend before they return, released in reverse order. */
    gated_bcast(&arr, total, TERN_CALL_RET, 0);
    gated_bcast(&arr, total, TERN_CALL_DONE, 0);
    gated_bcast(&grp, npes, TERN_CALL_RET, 1);
    gated_bcast(&grp, npes, TERN_CALL_DONE, 1);

    printf("future bcast: arrays of %d and %dx%d, group of %d ok\n", total, dims2[0],
           dims2[1], npes);
    tern_exit(0);
}

/* ---- error ---- */

static void check_error(const tern_future_t *f, const char *want, int want_pe)
{
    CHECK_EQ(tern_future_wait(f), TERN_ERR_REMOTE);
    CHECK(tern_future_done(f));
    int epe = -1;
    const char *m = tern_future_error(f, &epe);
    CHECK(m != NULL);
    if (strcmp(m, want) != 0)
        tern_abort("error message '%s', expected '%s'", m, want);
    CHECK_EQ(epe, want_pe);
}

static void run_error(void)
{
    int npes = tern_num_pes();
    int total = 2 * npes + 1;
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_FUT, 1, &total, NULL, 0, &arr));
    tern_proxy_t *el = calloc((size_t)total, sizeof *el);
    CHECK(el);
    elems_of(&arr, total, el);
    char want[256];

    /* Plain and coroutine methods that fail, point to point, on every element. */
    for (int i = 0; i < total; i++) {
        tern_future_t f, g, h;
        CHECK_OK(tern_call(&el[i], EP_RAISER, NULL, 0, TERN_CALL_RET, NULL, &f));
        CHECK_OK(tern_call(&el[i], EP_RAISER_CORO, NULL, 0, TERN_CALL_DONE, NULL, &g));
        CHECK_OK(tern_call(&el[i], EP_RAISER, NULL, 0, TERN_CALL_DONE, NULL, &h));
        snprintf(want, sizeof want, "raised by element %d", i);
        check_error(&f, want, block_pe(i, total, npes));
        check_error(&h, want, block_pe(i, total, npes));
        int64_t v = 0;
        CHECK_EQ(tern_future_get(&f, &v, sizeof v, NULL), TERN_ERR_REMOTE);
        CHECK_EQ(v, 0);
        snprintf(want, sizeof want, "coroutine element %d failed", i);
        check_error(&g, want, block_pe(i, total, npes));
        tern_future_free(&f);
        tern_future_free(&g);
        tern_future_free(&h);
    }

    /* One member of a broadcast fails: the whole answer does, naming it. */
    for (int which = 0; which < total; which += total - 1) {
        int64_t w = which;
        tern_iov_t iov = {&w, sizeof w};
        tern_future_t f, d;
        CHECK_OK(tern_call(&arr, EP_RAISE_IF, &iov, 1, TERN_CALL_RET, NULL, &f));
        CHECK_OK(tern_call(&arr, EP_RAISE_IF, &iov, 1, TERN_CALL_DONE, NULL, &d));
        snprintf(want, sizeof want, "element %d refuses", which);
        check_error(&f, want, block_pe(which, total, npes));
        check_error(&d, want, block_pe(which, total, npes));
        tern_future_free(&f);
        tern_future_free(&d);
    }

    /* A coroutine on one PE waits on a failing call to another, then fails in turn. */
    int a = total - 1, b = 0;
    chain_args_t ca = {el[b], b};
    tern_iov_t civ = {&ca, sizeof ca};
    tern_future_t f;
    CHECK_OK(tern_call(&el[a], EP_CHAIN_RAISE, &civ, 1, TERN_CALL_RET, NULL, &f));
    snprintf(want, sizeof want, "chained: raised by element %d (on PE %d)", b,
             block_pe(b, total, npes));
    check_error(&f, want, block_pe(a, total, npes));
    tern_future_free(&f);

    /* tern_future_set_error from another PE and from here. */
    tern_future_t e;
    CHECK_OK(tern_future_create(3, &e));
    int64_t one = 1;
    CHECK_OK(tern_future_set(&e, &one, sizeof one));
    tern_iov_t eiov = {&e, sizeof e};
    CHECK_OK(tern_send(&el[total - 1], EP_SET_ERROR, &eiov, 1, NULL));
    snprintf(want, sizeof want, "set_error from PE %d tag 9", npes - 1);
    check_error(&e, want, npes - 1);
    CHECK_EQ(tern_future_count(&e), 1); /* done with one value of three */
    tern_future_free(&e);
    CHECK_OK(tern_future_create(1, &e));
    CHECK_OK(tern_future_set_error(&e, "local %s", "failure"));
    check_error(&e, "local failure", 0);
    tern_future_free(&e);

    /* wait_all: one failure among successes; the others still hold their values. */
    tern_future_t fs[3];
    int64_t x = 8;
    tern_iov_t xiov = {&x, sizeof x};
    CHECK_OK(tern_call(&el[0], EP_ECHO, &xiov, 1, TERN_CALL_RET, NULL, &fs[0]));
    CHECK_OK(tern_call(&el[total / 2], EP_RAISER_CORO, NULL, 0, TERN_CALL_RET, NULL, &fs[1]));
    CHECK_OK(tern_call(&el[total - 1], EP_ECHO, &xiov, 1, TERN_CALL_RET, NULL, &fs[2]));
    CHECK_EQ(tern_future_wait_all(fs, 3), TERN_ERR_REMOTE);
    for (int k = 0; k < 3; k++)
        CHECK(tern_future_done(&fs[k]));
    check_echo(&fs[0], 0, 0, 0, 0, 8);
    check_echo(&fs[2], 0, total - 1, npes - 1, 0, 8);
    CHECK(tern_future_error(&fs[0], NULL) == NULL);
    snprintf(want, sizeof want, "coroutine element %d failed", total / 2);
    check_error(&fs[1], want, block_pe(total / 2, total, npes));
    for (int k = 0; k < 3; k++)
        tern_future_free(&fs[k]);

    free(el);
    printf("future error: ok on %d PEs\n", npes);
    tern_exit(0);
}

/* ---- nested ---- */

static void run_nested(void)
{
    int npes = tern_num_pes();
    int total = npes; /* one element per PE: each link is on the next PE */
    tern_proxy_t arr, grp;
    CHECK_OK(tern_array_create(T_FUT, 1, &total, NULL, 0, &arr));
    CHECK_OK(tern_group_create(T_FUT, NULL, 0, NULL, &grp));
    tern_proxy_t *el = calloc((size_t)total, sizeof *el);
    CHECK(el);
    elems_of(&arr, total, el);

    /* Several chains at once, each waited on by main. */
    enum { CHAINS = 4 };
    tern_future_t top[CHAINS];
    int depth[CHAINS];
    for (int c = 0; c < CHAINS; c++) {
        depth[c] = 2 * npes + 3 * c;
        link_args_t a;
        memset(&a, 0, sizeof a);
        CHECK_OK(tern_future_create(1, &a.up));
        top[c] = a.up;
        a.arr = arr;
        a.depth = depth[c];
        a.total = total;
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_send(&el[c % total], EP_LINK, &iov, 1, NULL));
    }
    for (int c = CHAINS - 1; c >= 0; c--) {
        int64_t v = 0;
        CHECK_OK(tern_future_get(&top[c], &v, sizeof v, NULL));
        CHECK_EQ(v, depth[c] + 1);
        tern_future_free(&top[c]);
    }

    /* Many coroutines of the last PE wait on one future of theirs, which a chain set. */
    int last = npes - 1;
    tern_proxy_t lastm;
    CHECK_OK(tern_proxy_elem(&grp, &last, &lastm));
    tern_future_t sf;
    CHECK_OK(tern_call(&lastm, EP_SHARE_MAKE, NULL, 0, TERN_CALL_RET, NULL, &sf));
    tern_future_t shared;
    size_t len = 0;
    CHECK_OK(tern_future_get(&sf, &shared, sizeof shared, &len));
    CHECK_EQ(len, sizeof shared);
    CHECK_EQ(shared.pe, last);
    tern_future_free(&sf);
    enum { WAITERS = 50 };
    tern_future_t w[WAITERS];
    for (int k = 0; k < WAITERS; k++) {
        int64_t kk = k;
        tern_iov_t iov = {&kk, sizeof kk};
        CHECK_OK(tern_call(&lastm, EP_SHARE_WAIT, &iov, 1, TERN_CALL_RET, NULL, &w[k]));
    }
    for (int k = 0; k < 10; k++)
        CHECK_OK(tern_yield());
    for (int k = 0; k < WAITERS; k++)
        CHECK(!tern_future_done(&w[k]));
    link_args_t a;
    memset(&a, 0, sizeof a);
    a.up = shared;
    a.arr = arr;
    a.depth = npes + 1;
    a.total = total;
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_send(&el[0], EP_LINK, &iov, 1, NULL));
    CHECK_OK(tern_future_wait_all(w, WAITERS));
    for (int k = 0; k < WAITERS; k++) {
        const int64_t *v = tern_future_value(&w[k], 0, &len);
        CHECK(v != NULL);
        CHECK_EQ(len, sizeof *v);
        CHECK_EQ(*v, (int64_t)(npes + 2) * 1000 + k);
        tern_future_free(&w[k]);
    }
    free(el);
    printf("future nested: chains of depth up to %d on %d PEs ok\n", depth[CHAINS - 1],
           npes);
    tern_exit(0);
}

/* ---- iter ---- */

static void run_iter(int argc, char **argv)
{
    int npes = tern_num_pes();
    enum { N = 8 };
    double step = argc > 2 ? atof(argv[2]) : 0.08;
    int total = N;
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_FUT, 1, &total, NULL, 0, &arr));
    tern_proxy_t el[N];
    elems_of(&arr, total, el);

    /* wait_all on values set at once from everywhere. */
    tern_future_t fs[N];
    for (int i = 0; i < N; i++) {
        iter_args_t a;
        memset(&a, 0, sizeof a);
        CHECK_OK(tern_future_create(1, &a.f));
        fs[i] = a.f;
        a.at = 0;
        a.v = 11 * i;
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_send(&el[i], EP_ITER_SETTER, &iov, 1, NULL));
    }
    CHECK_OK(tern_future_wait_all(fs, N));
    for (int i = 0; i < N; i++) {
        CHECK(tern_future_done(&fs[i]));
        int64_t v = -1;
        CHECK_OK(tern_future_get(&fs[i], &v, sizeof v, NULL));
        CHECK_EQ(v, 11 * i);
        tern_future_free(&fs[i]);
    }
    CHECK_OK(tern_future_wait_all(NULL, 0));

    /* Done in reverse index order, one step apart: the iterator follows that order. */
    double t0 = mp_now() + 2 * step;
    for (int i = 0; i < N; i++) {
        iter_args_t a;
        memset(&a, 0, sizeof a);
        CHECK_OK(tern_future_create(1, &a.f));
        fs[i] = a.f;
        a.at = t0 + (N - 1 - i) * step;
        a.v = 100 + i;
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_send(&el[i], EP_ITER_SETTER, &iov, 1, NULL));
    }
    tern_future_iter_t it;
    CHECK_OK(tern_future_iter_init(&it, fs, N));
    int order[N], k = 0, idx;
    unsigned char seen[N] = {0};
    while ((idx = tern_future_iter_next(&it)) >= 0) {
        CHECK(k < N);
        CHECK(idx < N);
        CHECK_EQ(seen[idx], 0);
        seen[idx] = 1;
        CHECK(tern_future_done(&fs[idx]));
        int64_t v = -1;
        CHECK_OK(tern_future_get(&fs[idx], &v, sizeof v, NULL));
        CHECK_EQ(v, 100 + idx);
        order[k++] = idx;
    }
    CHECK_EQ(k, N);
    CHECK_EQ(tern_future_iter_next(&it), -1);
    tern_future_iter_fini(&it);
    for (int i = 0; i < N; i++) {
        if (order[i] != N - 1 - i)
            tern_abort("iteration order: position %d has index %d, expected %d", i,
                       order[i], N - 1 - i);
        tern_future_free(&fs[i]);
    }

    /* Some done before the iteration starts, others later: each index exactly once. */
    for (int i = 0; i < N; i++) {
        iter_args_t a;
        memset(&a, 0, sizeof a);
        CHECK_OK(tern_future_create(1, &a.f));
        fs[i] = a.f;
        a.at = i % 2 ? 0 : mp_now() + 4 * step;
        a.v = i;
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_send(&el[i], EP_ITER_SETTER, &iov, 1, NULL));
    }
    for (int i = 1; i < N; i += 2)
        CHECK_OK(tern_future_wait(&fs[i]));
    CHECK_OK(tern_future_iter_init(&it, fs, N));
    memset(seen, 0, sizeof seen);
    k = 0;
    while ((idx = tern_future_iter_next(&it)) >= 0) {
        CHECK(idx < N);
        CHECK_EQ(seen[idx], 0);
        seen[idx] = 1;
        if (k < N / 2)
            CHECK_EQ(idx % 2, 1); /* those already done come first */
        k++;
    }
    CHECK_EQ(k, N);
    tern_future_iter_fini(&it);
    for (int i = 0; i < N; i++)
        tern_future_free(&fs[i]);

    /* An empty set. */
    CHECK_OK(tern_future_iter_init(&it, NULL, 0));
    CHECK_EQ(tern_future_iter_next(&it), -1);
    tern_future_iter_fini(&it);

    /* wait_any: done in reverse order; taking a value releases the future, which is then
     * passed over; a refilled slot is waited on again; -1 when nothing is left. */
    t0 = mp_now() + 2 * step;
    for (int i = 0; i < N; i++) {
        iter_args_t a;
        memset(&a, 0, sizeof a);
        CHECK_OK(tern_future_create(1, &a.f));
        fs[i] = a.f;
        a.at = t0 + (N - 1 - i) * step;
        a.v = 200 + i;
        tern_iov_t iov = {&a, sizeof a};
        CHECK_OK(tern_send(&el[i], EP_ITER_SETTER, &iov, 1, NULL));
    }
    int refilled = 0, want = N - 1;
    k = 0;
    while ((idx = tern_future_wait_any(fs, N)) >= 0) {
        int64_t v = -1;
        CHECK_OK(tern_future_get(&fs[idx], &v, sizeof v, NULL));
        CHECK_EQ(v, 200 + idx);
        if (refilled == 1) { /* the refilled slot, done at once, comes next */
            CHECK_EQ(idx, N - 1);
            refilled = 2;
        } else {
            CHECK_EQ(idx, want--);
        }
        if (!refilled) { /* the first slot gets another value, at once */
            refilled = 1;
            CHECK_OK(tern_future_create(1, &fs[idx]));
            CHECK_OK(tern_future_set(&fs[idx], &v, sizeof v));
        }
        k++;
    }
    CHECK_EQ(k, N + 1);
    CHECK_EQ(tern_future_wait_any(fs, N), -1);
    tern_future_t none[2] = {{0, 0, 0}, {0, 0, 0}};
    CHECK_EQ(tern_future_wait_any(none, 2), -1);
    CHECK_EQ(tern_future_wait_any(NULL, 3), -1);

    printf("future iter: ok on %d PEs\n", npes);
    tern_exit(0);
}

/* ---- created ---- */

static void check_ctor_reports(const tern_future_t *f, int total)
{
    /* Done without waiting: every constructor ran before the creation was awaited. */
    CHECK(tern_future_done(f));
    CHECK_EQ(tern_future_count(f), total);
    unsigned char *seen = calloc((size_t)total, 1);
    CHECK(seen);
    for (int i = 0; i < total; i++) {
        size_t len;
        const int64_t *lin = tern_future_value(f, i, &len);
        CHECK(lin != NULL);
        CHECK_EQ(len, sizeof *lin);
        CHECK(*lin >= 0 && *lin < total);
        CHECK_EQ(seen[*lin], 0);
        seen[*lin] = 1;
    }
    free(seen);
}

static void run_created(void)
{
    int npes = tern_num_pes();
    int total = 5 * npes + 3;
    tern_future_t fa, fg, fc;
    CHECK_OK(tern_future_create(total, &fa));
    CHECK_OK(tern_future_create(npes, &fg));
    CHECK_OK(tern_future_create(1, &fc));
    tern_iov_t ia = {&fa, sizeof fa}, ig = {&fg, sizeof fg}, ic = {&fc, sizeof fc};
    tern_proxy_t ps[3];
    CHECK_OK(tern_array_create(T_FUT, 1, &total, &ia, 1, &ps[0]));
    CHECK_OK(tern_group_create(T_FUT, &ig, 1, NULL, &ps[1]));
    CHECK_OK(tern_chare_create(T_FUT, npes - 1, &ic, 1, &ps[2]));
    CHECK(!tern_future_done(&fa));
    CHECK_OK(tern_await_created(ps, 3));
    check_ctor_reports(&fa, total);
    check_ctor_reports(&fg, npes);
    check_ctor_reports(&fc, 1);
    tern_future_free(&fa);
    tern_future_free(&fg);
    tern_future_free(&fc);

    /* One at a time, a 3-D array and another group, then nothing. */
    int dims[3] = {2, npes, 3};
    int total3 = 6 * npes;
    CHECK_OK(tern_future_create(total3, &fa));
    CHECK_OK(tern_array_create(T_FUT, 3, dims, &ia, 1, &ps[0]));
    CHECK_OK(tern_await_created(&ps[0], 1));
    check_ctor_reports(&fa, total3);
    tern_future_free(&fa);
    CHECK_OK(tern_future_create(npes, &fg));
    CHECK_OK(tern_group_create(T_FUT, &ig, 1, NULL, &ps[1]));
    CHECK_OK(tern_await_created(&ps[1], 1));
    check_ctor_reports(&fg, npes);
    tern_future_free(&fg);
    CHECK_OK(tern_await_created(NULL, 0));

    /* And they work. */
    int64_t x = 1;
    tern_iov_t iov = {&x, sizeof x};
    tern_future_t f;
    CHECK_OK(tern_call(&ps[0], EP_ECHO, &iov, 1, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    for (int i = 0; i < total3; i++)
        check_echo(&f, i, i, block_pe(i, total3, npes), 0, 1);
    tern_future_free(&f);
    printf("future created: ok on %d PEs\n", npes);
    tern_exit(0);
}

/* ---- errors ---- */

static void run_errors(void)
{
    int npes = tern_num_pes();
    int last = npes - 1;
    tern_proxy_t grp, lastm;
    CHECK_OK(tern_group_create(T_FUT, NULL, 0, NULL, &grp));
    CHECK_OK(tern_proxy_elem(&grp, &last, &lastm));
    tern_future_t f;

    CHECK_EQ(tern_future_create(0, &f), TERN_ERR_INVALID);
    CHECK_EQ(tern_future_create(1, NULL), TERN_ERR_INVALID);

    /* Another PE's future (a made-up one when there is no other PE). */
    tern_future_t rf = {1, 1, 12345};
    if (npes > 1) {
        CHECK_OK(tern_call(&lastm, EP_MAKE_FUTURE, NULL, 0, TERN_CALL_RET, NULL, &f));
        size_t len = 0;
        CHECK_OK(tern_future_get(&f, &rf, sizeof rf, &len));
        CHECK_EQ(len, sizeof rf);
        CHECK_EQ(rf.pe, last);
        tern_future_free(&f);
    }
    CHECK_EQ(tern_future_wait(&rf), TERN_ERR_INVALID);
    CHECK_EQ(tern_future_get(&rf, NULL, 0, NULL), TERN_ERR_INVALID);
    CHECK_EQ(tern_future_wait_all(&rf, 1), TERN_ERR_INVALID);
    CHECK(!tern_future_done(&rf));
    CHECK_EQ(tern_future_count(&rf), 0);
    CHECK(tern_future_value(&rf, 0, NULL) == NULL);
    CHECK(tern_future_error(&rf, NULL) == NULL);
    if (npes > 1) {
        /* Anyone may set it, though; then its PE frees it. */
        int64_t v = 1;
        CHECK_OK(tern_future_set(&rf, &v, sizeof v));
        tern_iov_t iov = {&rf, sizeof rf};
        tern_future_t d;
        CHECK_OK(tern_call(&lastm, EP_FREE_FUTURE, &iov, 1, TERN_CALL_DONE, NULL, &d));
        CHECK_OK(tern_future_wait(&d));
        tern_future_free(&d);
    }

    /* Too many values, here: refused. */
    CHECK_OK(tern_future_create(1, &f));
    int64_t a = 1, b = 2;
    CHECK_OK(tern_future_set(&f, &a, sizeof a));
    CHECK_EQ(tern_future_set(&f, &b, sizeof b), TERN_ERR_RANGE);
    CHECK_EQ(tern_future_count(&f), 1);
    int64_t v = 0;
    CHECK_OK(tern_future_get(&f, &v, sizeof v, NULL));
    CHECK_EQ(v, 1);
    tern_future_free(&f);

    /* Too many values from another PE: logged here, the first value kept. */
    CHECK_OK(tern_future_create(1, &f));
    tern_iov_t fiov = {&f, sizeof f};
    tern_future_t d;
    CHECK_OK(tern_call(&lastm, EP_OVERSET, &fiov, 1, TERN_CALL_DONE, NULL, &d));
    CHECK_OK(tern_future_wait(&d));
    tern_future_free(&d);
    CHECK_OK(tern_future_wait(&f));
    CHECK_EQ(tern_future_count(&f), 1);
    CHECK_OK(tern_future_get(&f, &v, sizeof v, NULL));
    CHECK_EQ(v, 111);
    /* A freed future: gone; setting it here is an error. */
    tern_future_free(&f);
    CHECK_EQ(tern_future_wait(&f), TERN_ERR_INVALID);
    CHECK(!tern_future_done(&f));
    CHECK_EQ(tern_future_set(&f, &a, sizeof a), TERN_ERR_STATE);
    CHECK_EQ(tern_future_set_error(&f, "late"), TERN_ERR_STATE);
    tern_future_t never = {tern_my_pe(), 1, 1u << 30};
    CHECK_EQ(tern_future_set(&never, &a, sizeof a), TERN_ERR_INVALID);
    tern_future_t bad = {-3, 1, 5};
    CHECK_EQ(tern_future_set_error(&bad, "x"), TERN_ERR_INVALID);
    /* Far too many values for a slot table: refused at the call. */
    CHECK_EQ(tern_future_create(INT_MAX, &f), TERN_ERR_RANGE);

    /* Bad arguments. */
    tern_future_t none = {0, 1, 0};
    CHECK_EQ(tern_future_set(&none, &a, sizeof a), TERN_ERR_INVALID);
    CHECK_EQ(tern_future_set(NULL, &a, sizeof a), TERN_ERR_INVALID);
    CHECK_EQ(tern_call(&lastm, EP_ECHO, NULL, 0, 3, NULL, &f), TERN_ERR_INVALID);
    CHECK_EQ(tern_call(&lastm, EP_ECHO, NULL, 0, TERN_CALL_RET, NULL, NULL), TERN_ERR_INVALID);
    tern_future_iter_t it;
    CHECK_EQ(tern_future_iter_init(&it, NULL, 2), TERN_ERR_INVALID);
    CHECK_EQ(tern_future_wait_all(NULL, 1), TERN_ERR_INVALID);

    printf("future errors: ok on %d PEs\n", npes);
    tern_exit(0);
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "values";
    if (!strcmp(mode, "values"))
        run_values();
    else if (!strcmp(mode, "call"))
        run_call();
    else if (!strcmp(mode, "bcast"))
        run_bcast();
    else if (!strcmp(mode, "error"))
        run_error();
    else if (!strcmp(mode, "nested"))
        run_nested();
    else if (!strcmp(mode, "iter"))
        run_iter(argc, argv);
    else if (!strcmp(mode, "created"))
        run_created();
    else if (!strcmp(mode, "errors"))
        run_errors();
    else
        tern_abort("mp_future: unknown mode '%s'", mode);
}

int main(int argc, char **argv)
{
    const unsigned CO = TERN_EP_COROUTINE;
    CHECK_OK(tern_type_register("Fut", sizeof(fut_state_t), fut_ctor, NULL, &T_FUT));
    CHECK_OK(tern_ep_register(T_FUT, "setter", setter, &EP_SETTER));
    CHECK_OK(tern_ep_register(T_FUT, "set_str", set_str, &EP_SET_STR));
    CHECK_OK(tern_ep_register(T_FUT, "set_big", set_big, &EP_SET_BIG));
    CHECK_OK(tern_ep_register(T_FUT, "echo", echo, &EP_ECHO));
    CHECK_OK(tern_ep_register_flags(T_FUT, "echo_coro", echo_coro, CO, &EP_ECHO_CORO));
    CHECK_OK(tern_ep_register(T_FUT, "nothing", nothing, &EP_NOTHING));
    CHECK_OK(tern_ep_register_flags(T_FUT, "gated", gated, CO, &EP_GATED));
    CHECK_OK(tern_ep_register(T_FUT, "raiser", raiser, &EP_RAISER));
    CHECK_OK(tern_ep_register_flags(T_FUT, "raiser_coro", raiser_coro, CO, &EP_RAISER_CORO));
    CHECK_OK(tern_ep_register(T_FUT, "raise_if", raise_if, &EP_RAISE_IF));
    CHECK_OK(tern_ep_register_flags(T_FUT, "chain_raise", chain_raise, CO, &EP_CHAIN_RAISE));
    CHECK_OK(tern_ep_register(T_FUT, "set_error", set_error, &EP_SET_ERROR));
    CHECK_OK(tern_ep_register_flags(T_FUT, "link", link_ep, CO, &EP_LINK));
    CHECK_OK(tern_ep_register(T_FUT, "share_make", share_make, &EP_SHARE_MAKE));
    CHECK_OK(tern_ep_register_flags(T_FUT, "share_wait", share_wait, CO, &EP_SHARE_WAIT));
    CHECK_OK(tern_ep_register_flags(T_FUT, "iter_setter", iter_setter, CO, &EP_ITER_SETTER));
    CHECK_OK(tern_ep_register(T_FUT, "make_future", make_future, &EP_MAKE_FUTURE));
    CHECK_OK(tern_ep_register(T_FUT, "free_future", free_future, &EP_FREE_FUTURE));
    CHECK_OK(tern_ep_register(T_FUT, "overset", overset, &EP_OVERSET));
    CHECK_OK(tern_ep_register_flags(T_FUT, "wait_only", wait_only, CO, &EP_WAIT_ONLY));
    return tern_run(argc, argv, start);
}
