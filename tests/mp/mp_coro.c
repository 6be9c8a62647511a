/*
 * Coroutines: the main function and TERN_EP_COROUTINE entry methods run on coroutines of
 * their own, may suspend while their PE runs other messages (also for the same chare),
 * and their stacks are pooled. One scenario per mode:
 *
 *   basic     main on a coroutine; plain and coroutine entry methods know which they are;
 *             a suspended coroutine waits on a future that a later message to the same
 *             chare sets (sent from another PE or from the same chare); tern_yield lets a
 *             message the coroutine sent to its own chare run before it comes back.
 *   yieldmany on every PE, many coroutines yield at once, each until a message it sent
 *             to its own chare has run.
 *   many      on every PE: N coroutines started and finished one after another (their
 *             stack is reused: few distinct stack addresses), then rounds of several
 *             hundred suspended at once, released in reverse order.
 *   outside   waiting from a plain entry method fails with TERN_ERR_STATE and a log.
 *   overflow  deep recursion in a coroutine on the last PE ends the job with a message.
 *   bigmain   the main function puts a 320 KB array on its (256 KiB) stack: the frame
 *             jumps past the guard page, and its first store lands far below it.
 *   bigep     the same in a coroutine entry method on the last PE.
 *   bigmain N the main function's frame is a variable-length array of N bytes instead.
 *   spbelow   a 64 MiB frame moves the stack pointer far below the guard region, then a
 *             store into an inaccessible page faults: the stack pointer shows the overflow.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mp_check.h"

#define MAX_PARK 512
#define MAX_ADDRS 16
#define MAX_YIELDERS 64

static tern_type_t T_CORO;
static tern_ep_t EP_PLAIN_PROBE, EP_CORO_PROBE, EP_WAIT_OWN, EP_RELAY, EP_SET_OWN,
    EP_SPIN_YIELD, EP_POKE, EP_DRIVE, EP_SEQ, EP_PARK, EP_PLAIN_WAIT, EP_RECURSE, EP_BIG;

typedef struct {
    /* basic */
    tern_future_t f;
    int waiting, setter_ran;
    int poked[MAX_YIELDERS];
    /* many */
    int npark, nparked;
    tern_future_t all_parked;
    tern_future_t gate[MAX_PARK];
    uintptr_t addrs[MAX_ADDRS];
    int naddrs;
    long seq_ran;
} coro_t;

typedef struct {
    int pe, in_coro;
} probe_t;

typedef struct {
    tern_proxy_t via;    /* who relays the "set" back */
    tern_proxy_t target; /* the waiting chare */
    int64_t value;
} relay_t;

typedef struct {
    int nseq, npark, rounds;
} drive_t;

static int block_pe(int64_t lin, int64_t total, int npes)
{
    return (int)(lin * npes / total);
}

/* ---- basic ---- */

static void plain_probe(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    probe_t p = {tern_my_pe(), tern_in_coroutine()};
    tern_return(&p, sizeof p);
}

static void coro_probe(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    CHECK(tern_in_coroutine());
    CHECK_OK(tern_yield());
    probe_t p = {tern_my_pe(), tern_in_coroutine()};
    tern_return(&p, sizeof p);
}

/* Coroutine: make a future, ask `via` to have a later message to this chare set it, and
 * wait for it. */
static void wait_own(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    CHECK_EQ(tern_msg_size(msg), sizeof(relay_t));
    relay_t r;
    memcpy(&r, tern_msg_data(msg), sizeof r);
    CHECK_EQ(c->waiting, 0);
    CHECK_OK(tern_future_create(1, &c->f));
    CHECK_EQ(c->f.pe, tern_my_pe());
    c->setter_ran = 0;
    c->waiting = 1;
    r.target = tern_self_proxy(self);
    tern_iov_t iov = {&r, sizeof r};
    CHECK_OK(tern_send(&r.via, EP_RELAY, &iov, 1, NULL));
    CHECK(!tern_future_done(&c->f));
    CHECK_OK(tern_future_wait(&c->f));
    /* set_own ran on this chare while this coroutine was suspended. */
    CHECK_EQ(c->setter_ran, 1);
    c->waiting = 0;
    int64_t v = 0;
    size_t len = 0;
    CHECK_OK(tern_future_get(&c->f, &v, sizeof v, &len));
    CHECK_EQ(len, sizeof v);
    CHECK_EQ(v, r.value);
    tern_future_free(&c->f);
    int64_t ret = v * 3;
    tern_return(&ret, sizeof ret);
}

static void relay(void *self, const tern_msg_t *msg)
{
    (void)self;
    CHECK_EQ(tern_msg_size(msg), sizeof(relay_t));
    const relay_t *r = tern_msg_data(msg);
    tern_iov_t iov = {&r->value, sizeof r->value};
    CHECK_OK(tern_send(&r->target, EP_SET_OWN, &iov, 1, NULL));
}

static void set_own(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    CHECK(!tern_in_coroutine());
    CHECK_EQ(c->waiting, 1); /* the coroutine of this chare is suspended */
    CHECK_EQ(c->setter_ran, 0);
    CHECK(!tern_future_done(&c->f));
    CHECK_EQ(tern_msg_size(msg), sizeof(int64_t));
    CHECK_OK(tern_future_set(&c->f, tern_msg_data(msg), sizeof(int64_t)));
    CHECK(tern_future_done(&c->f));
    c->setter_ran = 1;
}

/* Coroutine: send poke (slot k, from the payload, else 0) to this very chare, then yield
 * until it has run. */
static void spin_yield(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    int k = tern_msg_size(msg) == sizeof(int) ? *(const int *)tern_msg_data(msg) : 0;
    CHECK(k >= 0 && k < MAX_YIELDERS);
    c->poked[k] = 0;
    tern_proxy_t me = tern_self_proxy(self);
    tern_iov_t iov = {&k, sizeof k};
    CHECK_OK(tern_send(&me, EP_POKE, &iov, 1, NULL));
    int n = 0;
    while (!c->poked[k]) {
        CHECK_OK(tern_yield());
        n++;
        CHECK(n < 1000000);
    }
    tern_return(&n, sizeof n);
}

static void poke(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    int k = *(const int *)tern_msg_data(msg);
    CHECK_EQ(c->poked[k], 0);
    c->poked[k] = 1;
}

static void check_probe(const tern_future_t *f, int pe, int in_coro)
{
    size_t len;
    const probe_t *p = tern_future_value(f, 0, &len);
    CHECK(p != NULL);
    CHECK_EQ(len, sizeof *p);
    CHECK_EQ(p->pe, pe);
    CHECK_EQ(p->in_coro, in_coro);
}

static void run_basic(void)
{
    int npes = tern_num_pes();
    CHECK(tern_in_coroutine());
    CHECK_OK(tern_yield());
    CHECK(tern_in_coroutine());

    int total = 2 * npes + 1;
    tern_proxy_t arr, grp, single;
    CHECK_OK(tern_array_create(T_CORO, 1, &total, NULL, 0, &arr));
    CHECK_OK(tern_group_create(T_CORO, NULL, 0, NULL, &grp));
    CHECK_OK(tern_chare_create(T_CORO, npes - 1, NULL, 0, &single));

    tern_proxy_t *el = calloc((size_t)total, sizeof *el);
    tern_future_t *fp = calloc((size_t)total, sizeof *fp);
    tern_future_t *fc = calloc((size_t)total, sizeof *fc);
    tern_future_t *fw = calloc((size_t)total, sizeof *fw);
    tern_future_t *fy = calloc((size_t)total, sizeof *fy);
    CHECK(el && fp && fc && fw && fy);
    for (int i = 0; i < total; i++)
        CHECK_OK(tern_proxy_elem(&arr, &i, &el[i]));

    /* Plain and coroutine methods, on every PE. */
    for (int i = 0; i < total; i++) {
        CHECK_OK(tern_call(&el[i], EP_PLAIN_PROBE, NULL, 0, TERN_CALL_RET, NULL, &fp[i]));
        CHECK_OK(tern_call(&el[i], EP_CORO_PROBE, NULL, 0, TERN_CALL_RET, NULL, &fc[i]));
    }
    CHECK_OK(tern_future_wait_all(fp, total));
    CHECK_OK(tern_future_wait_all(fc, total));
    for (int i = 0; i < total; i++) {
        check_probe(&fp[i], block_pe(i, total, npes), 0);
        check_probe(&fc[i], block_pe(i, total, npes), 1);
        tern_future_free(&fp[i]);
        tern_future_free(&fc[i]);
    }

    /* A suspended coroutine waits on a future that a later message to its chare sets:
     * relayed by the next element (often on another PE), or by the chare itself. All
     * elements wait at once. */
    for (int i = 0; i < total; i++) {
        relay_t r;
        memset(&r, 0, sizeof r);
        r.via = i % 3 == 0 ? el[i] : el[(i + 1) % total];
        r.value = 1000 + i;
        tern_iov_t iov = {&r, sizeof r};
        CHECK_OK(tern_call(&el[i], EP_WAIT_OWN, &iov, 1, TERN_CALL_RET, NULL, &fw[i]));
        CHECK_OK(tern_call(&el[i], EP_SPIN_YIELD, NULL, 0, TERN_CALL_RET, NULL, &fy[i]));
    }
    for (int i = 0; i < total; i++) {
        int64_t v = 0;
        size_t len = 0;
        CHECK_OK(tern_future_get(&fw[i], &v, sizeof v, &len));
        CHECK_EQ(len, sizeof v);
        CHECK_EQ(v, (1000 + i) * 3);
        int n = 0;
        CHECK_OK(tern_future_get(&fy[i], &n, sizeof n, &len));
        CHECK_EQ(len, sizeof n);
        CHECK(n >= 1);
        tern_future_free(&fw[i]);
        tern_future_free(&fy[i]);
    }

    /* The single chare on the last PE, relayed by group member 0; and every group
     * member relayed by the single chare. */
    int zero = 0;
    tern_proxy_t g0;
    CHECK_OK(tern_proxy_elem(&grp, &zero, &g0));
    relay_t r;
    memset(&r, 0, sizeof r);
    r.via = g0;
    r.value = -77;
    tern_iov_t iov = {&r, sizeof r};
    tern_future_t fs;
    CHECK_OK(tern_call(&single, EP_WAIT_OWN, &iov, 1, TERN_CALL_RET, NULL, &fs));
    int64_t v = 0;
    CHECK_OK(tern_future_get(&fs, &v, sizeof v, NULL));
    CHECK_EQ(v, -77 * 3);
    tern_future_free(&fs);

    r.via = single;
    r.value = 5;
    tern_future_t fg;
    CHECK_OK(tern_call(&grp, EP_WAIT_OWN, &iov, 1, TERN_CALL_RET, NULL, &fg));
    CHECK_OK(tern_future_wait(&fg));
    CHECK_EQ(tern_future_count(&fg), npes);
    for (int p = 0; p < npes; p++) {
        size_t len;
        const int64_t *pv = tern_future_value(&fg, p, &len);
        CHECK(pv != NULL);
        CHECK_EQ(len, sizeof *pv);
        CHECK_EQ(*pv, 15);
    }
    tern_future_free(&fg);

    free(el);
    free(fp);
    free(fc);
    free(fw);
    free(fy);
    CHECK(tern_in_coroutine());
    printf("coro basic: %d elements on %d PEs ok\n", total, npes);
    tern_exit(0);
}

/* Many coroutines of every PE yield at once, each until a message it sent has run: the
 * queued messages must run even while more coroutines are ready than the scheduler runs
 * in one round. */
static void run_yieldmany(int argc, char **argv)
{
    int npes = tern_num_pes();
    int n = argc > 2 ? atoi(argv[2]) : 40;
    CHECK(n >= 1 && n <= MAX_YIELDERS);
    tern_proxy_t grp;
    CHECK_OK(tern_group_create(T_CORO, NULL, 0, NULL, &grp));
    tern_future_t fs[MAX_YIELDERS];
    for (int k = 0; k < n; k++) {
        tern_iov_t iov = {&k, sizeof k};
        CHECK_OK(tern_call(&grp, EP_SPIN_YIELD, &iov, 1, TERN_CALL_RET, NULL, &fs[k]));
    }
    CHECK_OK(tern_future_wait_all(fs, n));
    for (int k = 0; k < n; k++) {
        CHECK_EQ(tern_future_count(&fs[k]), npes);
        for (int p = 0; p < npes; p++) {
            size_t len;
            const int *y = tern_future_value(&fs[k], p, &len);
            CHECK(y != NULL);
            CHECK_EQ(len, sizeof *y);
            CHECK(*y >= 1);
        }
        tern_future_free(&fs[k]);
    }
    printf("coro yieldmany: %d coroutines yielding at once on each of %d PEs ok\n", n, npes);
    tern_exit(0);
}

/* ---- many ---- */

static void seq(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    CHECK(tern_in_coroutine());
    uintptr_t a = (uintptr_t)__builtin_frame_address(0);
    int k;
    for (k = 0; k < c->naddrs && c->addrs[k] != a; k++)
        ;
    if (k == c->naddrs) {
        CHECK(c->naddrs < MAX_ADDRS); /* stacks are pooled: a handful of addresses */
        c->addrs[c->naddrs++] = a;
    }
    c->seq_ran++;
    int64_t i = *(const int64_t *)tern_msg_data(msg);
    int64_t ret = i * 7 + tern_my_pe();
    tern_return(&ret, sizeof ret);
}

static void park(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    int k = *(const int *)tern_msg_data(msg);
    CHECK(k >= 0 && k < c->npark);
    CHECK_OK(tern_future_create(1, &c->gate[k]));
    tern_future_t g = c->gate[k];
    if (++c->nparked == c->npark)
        CHECK_OK(tern_future_set(&c->all_parked, NULL, 0));
    int64_t v = 0;
    size_t len = 0;
    CHECK_OK(tern_future_get(&g, &v, sizeof v, &len));
    CHECK_EQ(len, sizeof v);
    CHECK_EQ(v, (int64_t)k * k);
    tern_future_free(&g);
    c->nparked--;
    int64_t ret = v + 1;
    tern_return(&ret, sizeof ret);
}

static void drive(void *self, const tern_msg_t *msg)
{
    coro_t *c = self;
    drive_t d = *(const drive_t *)tern_msg_data(msg);
    tern_proxy_t me = tern_self_proxy(self);

    /* Many coroutines, one after another. */
    for (int64_t i = 0; i < d.nseq; i++) {
        tern_iov_t iov = {&i, sizeof i};
        tern_future_t f;
        CHECK_OK(tern_call(&me, EP_SEQ, &iov, 1, TERN_CALL_RET, NULL, &f));
        int64_t v = -1;
        CHECK_OK(tern_future_get(&f, &v, sizeof v, NULL));
        CHECK_EQ(v, i * 7 + tern_my_pe());
        tern_future_free(&f);
    }
    CHECK_EQ(c->seq_ran, d.nseq);
    CHECK(c->naddrs >= 1 && c->naddrs <= 4);

    /* Hundreds suspended at once, released in reverse order; several rounds. */
    CHECK(d.npark <= MAX_PARK);
    tern_future_t *fs = calloc((size_t)d.npark, sizeof *fs);
    CHECK(fs);
    for (int round = 0; round < d.rounds; round++) {
        c->npark = d.npark;
        c->nparked = 0;
        CHECK_OK(tern_future_create(1, &c->all_parked));
        for (int k = 0; k < d.npark; k++) {
            tern_iov_t iov = {&k, sizeof k};
            CHECK_OK(tern_call(&me, EP_PARK, &iov, 1, TERN_CALL_RET, NULL, &fs[k]));
        }
        CHECK_OK(tern_future_wait(&c->all_parked));
        tern_future_free(&c->all_parked);
        CHECK_EQ(c->nparked, d.npark);
        for (int k = 0; k < d.npark; k++)
            CHECK(!tern_future_done(&fs[k]));
        for (int k = d.npark - 1; k >= 0; k--) {
            int64_t v = (int64_t)k * k;
            CHECK_OK(tern_future_set(&c->gate[k], &v, sizeof v));
        }
        CHECK_OK(tern_future_wait_all(fs, d.npark));
        CHECK_EQ(c->nparked, 0);
        for (int k = 0; k < d.npark; k++) {
            size_t len;
            const int64_t *v = tern_future_value(&fs[k], 0, &len);
            CHECK(v != NULL);
            CHECK_EQ(len, sizeof *v);
            CHECK_EQ(*v, (int64_t)k * k + 1);
            tern_future_free(&fs[k]);
        }
    }
    free(fs);
    int n = c->naddrs;
    tern_return(&n, sizeof n);
}

static void run_many(int argc, char **argv)
{
    int npes = tern_num_pes();
    drive_t d = {argc > 2 ? atoi(argv[2]) : 10000, argc > 3 ? atoi(argv[3]) : 300,
                 argc > 4 ? atoi(argv[4]) : 2};
    tern_proxy_t grp;
    CHECK_OK(tern_group_create(T_CORO, NULL, 0, NULL, &grp));
    tern_iov_t iov = {&d, sizeof d};
    tern_future_t f;
    double t0 = mp_now();
    CHECK_OK(tern_call(&grp, EP_DRIVE, &iov, 1, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    CHECK_EQ(tern_future_count(&f), npes);
    int most = 0;
    for (int p = 0; p < npes; p++) {
        size_t len;
        const int *n = tern_future_value(&f, p, &len);
        CHECK(n != NULL);
        CHECK_EQ(len, sizeof *n);
        CHECK(*n >= 1 && *n <= 4);
        most = *n > most ? *n : most;
    }
    tern_future_free(&f);
    printf("coro many: %d sequential (on at most %d distinct stacks) and %d x %d suspended "
           "coroutines on each of %d PEs in %.2f s\n", d.nseq, most, d.rounds, d.npark, npes,
           mp_now() - t0);
    tern_exit(0);
}

/* ---- outside ---- */

static void plain_wait(void *self, const tern_msg_t *msg)
{
    (void)msg;
    CHECK(!tern_in_coroutine());
    tern_future_t f;
    CHECK_OK(tern_future_create(1, &f));
    CHECK(!tern_future_done(&f));
    CHECK_EQ(tern_future_wait(&f), TERN_ERR_STATE);
    int64_t v = 0;
    CHECK_EQ(tern_future_get(&f, &v, sizeof v, NULL), TERN_ERR_STATE);
    CHECK_EQ(tern_yield(), TERN_ERR_STATE);
    CHECK_EQ(tern_future_wait_all(&f, 1), TERN_ERR_STATE);
    tern_future_iter_t it;
    CHECK_OK(tern_future_iter_init(&it, &f, 1));
    CHECK_EQ(tern_future_iter_next(&it), -1);
    tern_future_iter_fini(&it);
    tern_proxy_t me = tern_self_collection(self);
    CHECK_EQ(tern_await_created(&me, 1), TERN_ERR_STATE);
    CHECK(!tern_future_done(&f));
    /* Once done, waiting needs no suspension: fine outside a coroutine too. */
    int64_t want = 100 + tern_my_pe();
    CHECK_OK(tern_future_set(&f, &want, sizeof want));
    CHECK(tern_future_done(&f));
    CHECK_OK(tern_future_wait(&f));
    CHECK_OK(tern_future_get(&f, &v, sizeof v, NULL));
    CHECK_EQ(v, want);
    tern_future_free(&f);
    tern_return(&v, sizeof v);
}

static void run_outside(void)
{
    int npes = tern_num_pes();
    tern_proxy_t grp;
    CHECK_OK(tern_group_create(T_CORO, NULL, 0, NULL, &grp));
    tern_future_t f;
    CHECK_OK(tern_call(&grp, EP_PLAIN_WAIT, NULL, 0, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    for (int p = 0; p < npes; p++) {
        size_t len;
        const int64_t *v = tern_future_value(&f, p, &len);
        CHECK(v != NULL);
        CHECK_EQ(len, sizeof *v);
        CHECK_EQ(*v, 100 + p);
    }
    tern_future_free(&f);
    printf("coro outside: ok on %d PEs\n", npes);
    tern_exit(0);
}

/* ---- overflow ---- */

static int deep(volatile char *prev, long n)
{
    volatile char buf[512];
    buf[0] = (char)n;
    buf[sizeof buf - 1] = prev ? prev[0] : 0;
    if (n == 0)
        return buf[0];
    return deep(buf, n - 1) + buf[sizeof buf - 1];
}

static void recurse(void *self, const tern_msg_t *msg)
{
    (void)self;
    long n = *(const long *)tern_msg_data(msg);
    int r = deep(NULL, n);
    tern_return(&r, sizeof r);
}

static void run_overflow(void)
{
    int npes = tern_num_pes();
    tern_proxy_t ch;
    CHECK_OK(tern_chare_create(T_CORO, npes - 1, NULL, 0, &ch));
    /* Shallow first: it works. */
    long n = 16;
    tern_iov_t iov = {&n, sizeof n};
    tern_future_t f;
    CHECK_OK(tern_call(&ch, EP_RECURSE, &iov, 1, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    tern_future_free(&f);
    /* 512 MB of frames: far beyond any coroutine stack. */
    n = 1000000;
    CHECK_OK(tern_call(&ch, EP_RECURSE, &iov, 1, TERN_CALL_RET, NULL, &f));
    tern_future_wait(&f);
    tern_abort("mp_coro overflow: the deep recursion returned");
}

/* ---- bigmain, bigep ---- */

#define BIG_FRAME (320 * 1024)

/* Not inlined, so that only this frame is big. The lowest byte is stored first: that is
 * how a big frame faults far below the guard page, not in it. Volatile: kept whole. */
static __attribute__((noinline)) int big_frame(int seed)
{
    volatile char buf[BIG_FRAME];
    buf[0] = (char)seed;
    buf[BIG_FRAME / 2] = (char)(seed + 1);
    buf[BIG_FRAME - 1] = (char)(seed + 2);
    return buf[0] + buf[BIG_FRAME / 2] + buf[BIG_FRAME - 1];
}

static void big_ep(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    int r = big_frame(tern_my_pe());
    tern_return(&r, sizeof r);
}

/* A frame of `n` bytes (a variable-length array), lowest byte stored first. */
static __attribute__((noinline)) int vla_frame(long n)
{
    volatile char buf[n];
    buf[0] = 1;
    buf[n - 1] = 2;
    return buf[0] + buf[n - 1];
}

static void run_bigmain(int argc, char **argv)
{
    if (argc > 2)
        vla_frame(atol(argv[2]));
    else
        big_frame(1);
    tern_abort("mp_coro bigmain: the big frame fitted");
}

/* `bad`: a page no one may touch (not a null pointer, which the sanitizer build would
 * stop before it faults), taken before the stack pointer moves: no call may run below. */
static __attribute__((noinline)) void sp_below(long n, volatile int *bad)
{
    volatile char buf[n];
    buf[n - 1] = 1; /* the top: still inside the stack */
    *bad = buf[n - 1];
}

static void run_bigep(void)
{
    tern_proxy_t ch;
    CHECK_OK(tern_chare_create(T_CORO, tern_num_pes() - 1, NULL, 0, &ch));
    tern_future_t f;
    CHECK_OK(tern_call(&ch, EP_BIG, NULL, 0, TERN_CALL_RET, NULL, &f));
    tern_future_wait(&f);
    tern_abort("mp_coro bigep: the big frame fitted");
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "basic";
    if (!strcmp(mode, "basic"))
        run_basic();
    else if (!strcmp(mode, "yieldmany"))
        run_yieldmany(argc, argv);
    else if (!strcmp(mode, "many"))
        run_many(argc, argv);
    else if (!strcmp(mode, "outside"))
        run_outside();
    else if (!strcmp(mode, "overflow"))
        run_overflow();
    else if (!strcmp(mode, "bigmain"))
        run_bigmain(argc, argv);
    else if (!strcmp(mode, "bigep"))
        run_bigep();
    else if (!strcmp(mode, "spbelow"))
        sp_below(64L << 20, mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    else
        tern_abort("mp_coro: unknown mode '%s'", mode);
}

int main(int argc, char **argv)
{
    CHECK_OK(tern_type_register("Coro", sizeof(coro_t), NULL, NULL, &T_CORO));
    CHECK_OK(tern_ep_register(T_CORO, "plain_probe", plain_probe, &EP_PLAIN_PROBE));
    CHECK_OK(tern_ep_register_flags(T_CORO, "coro_probe", coro_probe, TERN_EP_COROUTINE,
                                    &EP_CORO_PROBE));
    CHECK_OK(tern_ep_register_flags(T_CORO, "wait_own", wait_own, TERN_EP_COROUTINE,
                                    &EP_WAIT_OWN));
    CHECK_OK(tern_ep_register(T_CORO, "relay", relay, &EP_RELAY));
    CHECK_OK(tern_ep_register(T_CORO, "set_own", set_own, &EP_SET_OWN));
    CHECK_OK(tern_ep_register_flags(T_CORO, "spin_yield", spin_yield, TERN_EP_COROUTINE,
                                    &EP_SPIN_YIELD));
    CHECK_OK(tern_ep_register(T_CORO, "poke", poke, &EP_POKE));
    CHECK_OK(tern_ep_register_flags(T_CORO, "drive", drive, TERN_EP_COROUTINE, &EP_DRIVE));
    CHECK_OK(tern_ep_register_flags(T_CORO, "seq", seq, TERN_EP_COROUTINE, &EP_SEQ));
    CHECK_OK(tern_ep_register_flags(T_CORO, "park", park, TERN_EP_COROUTINE, &EP_PARK));
    CHECK_OK(tern_ep_register(T_CORO, "plain_wait", plain_wait, &EP_PLAIN_WAIT));
    CHECK_OK(tern_ep_register_flags(T_CORO, "recurse", recurse, TERN_EP_COROUTINE,
                                    &EP_RECURSE));
    CHECK_OK(tern_ep_register_flags(T_CORO, "big", big_ep, TERN_EP_COROUTINE, &EP_BIG));
    return tern_run(argc, argv, start);
}
