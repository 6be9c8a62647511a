/*
 * The task pool.
 *
 *   mp_pool MODE
 *
 *   maps        maps of 0, 1, 1000 and 1,000,000 tasks (automatic chunks), 100,000 with
 *               chunk 1 and 1000 with chunk 7, each against the serial results
 *   fib         fib(N) (default 20) by tasks that start a map of two tasks and wait for it
 *   uneven      500 tasks of 1 us to 30 ms (one of 300 ms): every result, every PE worked
 *   errors      a map whose tasks 37 and 900 fail: the map fails naming task 37 and its PE,
 *               the other outputs are right; then a good map; a submitted task that fails
 *               (its future has the error); fire-and-forget tasks
 *   concurrent  every PE starts a map at once (from a group member's coroutine method),
 *               and main starts one too: each checked
 *   ncores      ncores 1: every task on the caller's PE; ncores 2: on the caller's and the
 *               next
 *   exit        tern_exit while a map of slow tasks is under way: the job ends cleanly
 *   big         a map of 10,000,000 8-byte inputs: right, and the peak memory of every PE
 *               stays under the inputs and outputs plus 64 MB (they are not all messages)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "mp_check.h"

static tern_task_t TK_SQUARE, TK_FIB, TK_SPIN, TK_FAIL, TK_NOTE, TK_TWICE;
static tern_type_t T_STARTER;
static tern_ep_t EP_GO, EP_RSS;

typedef struct {
    int64_t v;
    int32_t pe, pad;
} out_t;

static int64_t f_square(int64_t x) { return x * x + 7; }

static void task_square(const void *in, size_t in_len, void *out, size_t out_len)
{
    if (in_len != sizeof(int64_t) || out_len != sizeof(out_t))
        tern_abort("square: sizes %zu %zu", in_len, out_len);
    int64_t x;
    memcpy(&x, in, sizeof x);
    out_t o = {f_square(x), tern_my_pe(), 0};
    memcpy(out, &o, sizeof o);
}

static void spin_us(double us)
{
    double t0 = mp_now();
    while ((mp_now() - t0) * 1e6 < us)
        ;
}

static void task_spin(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    double us;
    memcpy(&us, in, sizeof us);
    spin_us(us);
    out_t o = {(int64_t)(us * 10), tern_my_pe(), 0};
    memcpy(out, &o, sizeof o);
}

static void task_fail(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    int64_t x;
    memcpy(&x, in, sizeof x);
    if (x == 37 || x == 900) {
        tern_raise("input %lld is not welcome", (long long)x);
        return;
    }
    out_t o = {f_square(x), tern_my_pe(), 0};
    memcpy(out, &o, sizeof o);
}

static int64_t fib_serial(int64_t n) { return n < 2 ? n : fib_serial(n - 1) + fib_serial(n - 2); }

/* fib(n) by spawning: a coroutine task that maps fib over {n-1, n-2} and waits. */
static void task_fib(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    int64_t n, r;
    memcpy(&n, in, sizeof n);
    if (n < 2) {
        r = n;
    } else {
        int64_t args[2] = {n - 1, n - 2}, res[2];
        CHECK_OK(tern_pool_map(TK_FIB, args, sizeof *args, 2, res, sizeof *res, NULL));
        r = res[0] + res[1];
    }
    memcpy(out, &r, sizeof r);
}

static int64_t noted;
static void task_note(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in;
    (void)in_len;
    (void)out;
    (void)out_len;
    __atomic_add_fetch(&noted, 1, __ATOMIC_RELAXED);
}

/* Run a square map of n tasks and check it; the PEs that ran tasks, as a bit set. */
static uint64_t check_squares(size_t n, int64_t chunk, int32_t ncores)
{
    int64_t *in = malloc(n * sizeof *in + 1);
    out_t *out = malloc(n * sizeof *out + 1);
    CHECK(in && out);
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i * 3 - 1000;
    memset(out, 0xff, n * sizeof *out);
    tern_pool_opts_t o = {chunk, ncores, 0};
    double t0 = mp_now();
    CHECK_OK(tern_pool_map(TK_SQUARE, in, sizeof *in, n, out, sizeof *out, &o));
    double dt = mp_now() - t0;
    uint64_t pes = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i].v != f_square(in[i]))
            tern_abort("map of %zu (chunk %lld): output %zu is %lld, not %lld", n,
                       (long long)chunk, i, (long long)out[i].v, (long long)f_square(in[i]));
        CHECK(out[i].pe >= 0 && out[i].pe < tern_num_pes());
        pes |= 1ULL << (out[i].pe % 64);
    }
    printf("map of %zu tasks (chunk %lld, ncores %d): %.3f s, on PEs %#llx\n", n,
           (long long)chunk, ncores, dt, (unsigned long long)pes);
    free(in);
    free(out);
    return pes;
}

static uint64_t all_pes(void)
{
    int np = tern_num_pes() < 64 ? tern_num_pes() : 64;
    return np == 64 ? ~0ULL : (1ULL << np) - 1;
}

static void mode_maps(void)
{
    check_squares(0, 0, 0);
    check_squares(1, 0, 0);
    check_squares(1000, 0, 0);
    /* (These take milliseconds: whether other PEs get work in time depends on the
     * transport's latency. That every PE works is checked with longer tasks: uneven.) */
    check_squares(1000000, 0, 0);
    check_squares(100000, 1, 0);
    check_squares(1000, 7, 0);
}

static void mode_fib(int n)
{
    int64_t in = n, r = -1;
    double t0 = mp_now();
    tern_future_t f;
    CHECK_OK(tern_pool_submit(TK_FIB, &in, sizeof in, sizeof r, &f));
    CHECK_OK(tern_future_get(&f, &r, sizeof r, NULL));
    printf("fib(%d) = %lld by spawning (%.3f s)\n", n, (long long)r, mp_now() - t0);
    CHECK_EQ(r, fib_serial(n));
}

static void mode_uneven(void)
{
    enum { N = 500 };
    double in[N];
    out_t out[N];
    uint64_t s = 99;
    for (int i = 0; i < N; i++) /* mostly short, some long: 1 us to 30 ms */
        in[i] = mp_rand(&s) % 8 == 0 ? (double)(mp_rand(&s) % 30000) : 1 + mp_rand(&s) % 50;
    in[N / 3] = 300000;                                        /* and one of 300 ms */
    double t0 = mp_now();
    CHECK_OK(tern_pool_map(TK_SPIN, in, sizeof *in, N, out, sizeof *out, NULL));
    uint64_t pes = 0;
    for (int i = 0; i < N; i++) {
        CHECK_EQ(out[i].v, (int64_t)(in[i] * 10));
        pes |= 1ULL << (out[i].pe % 64);
    }
    printf("uneven tasks: %.3f s, on PEs %#llx\n", mp_now() - t0, (unsigned long long)pes);
    if (tern_num_pes() > 1)
        CHECK(pes == all_pes());
}

static void mode_errors(void)
{
    enum { N = 2000 };
    int64_t *in = malloc(N * sizeof *in);
    out_t *out = calloc(N, sizeof *out);
    CHECK(in && out);
    for (int i = 0; i < N; i++)
        in[i] = i;
    tern_pool_opts_t o = {5, 0, 0};
    CHECK_EQ(tern_pool_map(TK_FAIL, in, sizeof *in, N, out, sizeof *out, &o), TERN_ERR_REMOTE);
    int epe = -2;
    const char *e = tern_pool_error(&epe);
    CHECK(e != NULL);
    printf("the map failed: %s (PE %d)\n", e, epe);
    CHECK(strstr(e, "task 37 of 2000 (fail) failed on PE ") != NULL);
    CHECK(strstr(e, "input 37 is not welcome") != NULL);
    CHECK(epe >= 0 && epe < tern_num_pes());
    for (int i = 0; i < N; i++)
        if (i != 37 && i != 900)
            CHECK_EQ(out[i].v, f_square(i));
    check_squares(5000, 0, 0); /* the pool goes on */
    /* A submitted task that fails: its future has the error. */
    int64_t x = 900;
    out_t r;
    tern_future_t f;
    CHECK_OK(tern_pool_submit(TK_FAIL, &x, sizeof x, sizeof r, &f));
    CHECK_EQ(tern_future_get(&f, &r, sizeof r, NULL), TERN_ERR_REMOTE);
    e = tern_future_error(&f, &epe);
    CHECK(e && strstr(e, "input 900 is not welcome"));
    /* Fire and forget: they run (on PE 0's... wherever), nobody waits. */
    for (int i = 0; i < 100; i++)
        CHECK_OK(tern_pool_submit(TK_NOTE, &x, sizeof x, 0, NULL));
    CHECK_OK(tern_qd_wait());
    /* Bad calls: errors naming the call, nothing started. */
    CHECK_EQ(tern_pool_map_async(12345, in, 8, 1, out, 16, NULL, &f), TERN_ERR_INVALID);
    CHECK_EQ(tern_pool_map_async(TK_SQUARE, NULL, 8, 1, out, 16, NULL, &f), TERN_ERR_INVALID);
    free(in);
    free(out);
}

/* concurrent: each PE's starter maps 20,000 squares at once. */
static void starter_go(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    check_squares(20000, 0, 0);
}

static void mode_concurrent(void)
{
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_STARTER, NULL, 0, NULL, &g));
    tern_future_t f;
    CHECK_OK(tern_call(&g, EP_GO, NULL, 0, TERN_CALL_DONE, NULL, &f));
    check_squares(50000, 3, 0);
    CHECK_OK(tern_future_wait(&f));
    tern_future_free(&f);
}

static void mode_ncores(void)
{
    CHECK_EQ(check_squares(100000, 0, 1), 1);
    if (tern_num_pes() >= 3) {
        uint64_t pes = check_squares(200000, 0, 2);
        CHECK((pes & ~3ULL) == 0);
    }
}

static void mode_exit(void)
{
    enum { N = 2000 };
    static double in[N];
    static out_t out[N];
    for (int i = 0; i < N; i++)
        in[i] = 2000;
    tern_future_t f;
    CHECK_OK(tern_pool_map_async(TK_SPIN, in, sizeof *in, N, out, sizeof *out, NULL, &f));
    CHECK_OK(tern_sleep(0.05));
    printf("exit with the map under way\n");
    tern_exit(0);
}

static void task_twice(const void *in, size_t in_len, void *out, size_t out_len)
{
    (void)in_len;
    (void)out_len;
    int64_t x;
    memcpy(&x, in, sizeof x);
    x *= 2;
    memcpy(out, &x, sizeof x);
}

static void mode_big(void)
{
    size_t n = 10000000;
    int64_t *in = malloc(n * sizeof *in);
    int64_t *out = malloc(n * sizeof *out);
    CHECK(in && out);
    for (size_t i = 0; i < n; i++)
        in[i] = (int64_t)i;
    tern_pool_opts_t o = {0, 0, 0};
    double t0 = mp_now();
    CHECK_OK(tern_pool_map(TK_TWICE, in, sizeof *in, n, out, sizeof *out, &o));
    for (size_t i = 0; i < n; i++)
        if (out[i] != 2 * (int64_t)i)
            tern_abort("big: output %zu is %lld", i, (long long)out[i]);
    printf("map of %zu tasks: %.3f s\n", n, mp_now() - t0);
    free(in);
    free(out);
}

/* Every PE's peak memory: under the limit (big mode: PE 0 holds 160 MB of buffers). */
static void starter_rss(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long mb = ru.ru_maxrss / 1024, limit = tern_my_pe() == 0 ? 160 + 64 + 40 : 64 + 40;
    printf("PE %d: peak memory %ld MB (limit %ld)\n", tern_my_pe(), mb, limit);
    if (mb > limit)
        tern_abort("PE %d used %ld MB at its peak, over %ld", tern_my_pe(), mb, limit);
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "maps";
    if (!strcmp(mode, "maps"))
        mode_maps();
    else if (!strcmp(mode, "fib"))
        mode_fib(argc > 2 ? atoi(argv[2]) : 20);
    else if (!strcmp(mode, "uneven"))
        mode_uneven();
    else if (!strcmp(mode, "errors"))
        mode_errors();
    else if (!strcmp(mode, "concurrent"))
        mode_concurrent();
    else if (!strcmp(mode, "ncores"))
        mode_ncores();
    else if (!strcmp(mode, "exit"))
        mode_exit();
    else if (!strcmp(mode, "big"))
        mode_big();
    else
        tern_abort("mp_pool: unknown mode %s", mode);
    if (!strcmp(mode, "exit"))
        return;
    if (!strcmp(mode, "big")) {
        tern_proxy_t g;
        tern_future_t f;
        CHECK_OK(tern_group_create(T_STARTER, NULL, 0, NULL, &g));
        CHECK_OK(tern_call(&g, EP_RSS, NULL, 0, TERN_CALL_DONE, NULL, &f));
        CHECK_OK(tern_future_wait(&f));
        tern_future_free(&f);
    }
    printf("mp_pool %s: ok\n", mode);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"go", starter_go, TERN_EP_COROUTINE, &EP_GO},
        {"rss", starter_rss, 0, &EP_RSS},
        {0},
    };
    if (tern_task_register("square", task_square, 0, &TK_SQUARE) ||
        tern_task_register("fib", task_fib, TERN_TASK_COROUTINE, &TK_FIB) ||
        tern_task_register("spin", task_spin, 0, &TK_SPIN) ||
        tern_task_register("fail", task_fail, 0, &TK_FAIL) ||
        tern_task_register("note", task_note, 0, &TK_NOTE) ||
        tern_task_register("twice", task_twice, 0, &TK_TWICE) ||
        tern_type_define("Starter", 0, NULL, NULL, eps, &T_STARTER))
        return 1;
    return tern_run(argc, argv, start);
}
