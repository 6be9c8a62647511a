/*
 * Load balancing: AtSync and periodic steps, with the job's strategy (TERN_LB or
 * +balancer on the command line).
 *
 *   mp_lb MODE
 *
 *   atsync    a ring of elements of uneven work (the first quarter 4 times heavier) runs
 *             ITERS iterations, each element sending its right neighbour one message an
 *             iteration, and calls tern_at_sync every SYNC_EVERY; each element must be
 *             resumed once a step, on the PE it was put on, with its state (a buffer packed
 *             by pup) intact and every message received once. On PE 0 the last
 *             step's report: the steps counted, every element measured, the moves the
 *             strategy implies (Rotate: all, every step, so each element ends SYNC steps
 *             from home; Dummy: none), and a placement no worse than the one measured for
 *             the strategies that balance. Without a strategy: resumed at once, nothing moves.
 *   periodic  the same ring without tern_at_sync, in an array balanced every 5 ms: steps
 *             happen while messages flow; every message arrives once.
 *   fixed     atsync with a type that is not migratable: measured, reported, never moved.
 *   errors    tern_at_sync outside a balanced array and twice, tern_migrate of an element
 *             waiting for a step, AtSync with a period, a bad period: errors, no abort.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define ITERS 24
#define SYNC_EVERY 6
#define NSTEPS (ITERS / SYNC_EVERY - 1) /* syncs after iterations 5, 11, 17 (not the last) */

static tern_type_t T_RING, T_FIXED, T_PLAIN;
static tern_ep_t EP_GO, EP_GHOST, EP_RESUME, EP_SYNC_TWICE, EP_PLAIN_SYNC, EP_FIXED_GO,
    EP_FIXED_GHOST, EP_FIXED_RESUME, EP_FIXED_SYNC_TWICE;

typedef struct {
    int64_t lin;
    int32_t n, periodic;
    int32_t iter;        /* iterations done */
    int32_t resumes, waiting, reported, fixed; /* fixed: of type RingFixed */
    int32_t ghosts[ITERS]; /* messages received for each iteration */
    uint32_t blen;
    unsigned char *buf;
    uint64_t sum;        /* of the values received */
    tern_future_t done;
} ring_t;

typedef struct {
    int64_t lin, pe, resumes;
    uint64_t sum;
} ring_report_t;

static double work_us(const ring_t *r)
{
    return (r->lin < r->n / 4 ? 400.0 : 100.0) / (tern_num_pes() > 2 ? 2.0 : 1.0);
}

static void spin(double us)
{
    double end = tern_wall_time() + us * 1e-6;
    while (tern_wall_time() < end)
        ;
}

static void ring_ctor(void *self, const tern_msg_t *args)
{
    ring_t *r = self;
    const int64_t *a = tern_msg_data(args);
    r->lin = tern_self_index(self)[0];
    r->n = (int32_t)a[0];
    r->periodic = (int32_t)(a[1] & 1);
    r->fixed = (int32_t)(a[1] >> 1);
    memcpy(&r->done, a + 2, sizeof r->done);
    r->blen = (uint32_t)(32 + r->lin * 13 % 500);
    r->buf = malloc(r->blen);
    CHECK(r->buf != NULL);
    for (uint32_t i = 0; i < r->blen; i++)
        r->buf[i] = mp_pattern((uint64_t)r->lin, i);
}

static void ring_dtor(void *self)
{
    ring_t *r = self;
    free(r->buf);
    r->buf = NULL;
}

static void ring_pup(void *self, tern_pup_t *p)
{
    ring_t *r = self;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK) {
        r->buf = malloc(r->blen);
        CHECK(r->buf != NULL);
    }
    tern_pup_bytes(p, r->buf, r->blen);
}

static void ring_check(const ring_t *r)
{
    for (uint32_t i = 0; i < r->blen; i++)
        if (r->buf[i] != mp_pattern((uint64_t)r->lin, i))
            tern_abort("element %lld: byte %u of its buffer changed", (long long)r->lin, i);
}

static void report_done(ring_t *r)
{
    ring_report_t rep = {r->lin, tern_my_pe(), r->resumes, r->sum};
    CHECK_OK(tern_future_set(&r->done, &rep, sizeof rep));
}

/* Run iteration r->iter if its message from the left came (iteration 0 needs none). */
static void advance(ring_t *r)
{
    while (r->iter < ITERS && !r->waiting && (r->iter == 0 || r->ghosts[r->iter - 1])) {
        int32_t it = r->iter;
        spin(work_us(r));
        tern_proxy_t me = tern_self_proxy(r), right;
        CHECK(me.flags & TERN_PROXY_BALANCED);
        int32_t idx = (int32_t)((r->lin + 1) % r->n);
        CHECK_OK(tern_proxy_elem(&me, &idx, &right));
        int64_t msg[2] = {it, r->lin * 1000 + it};
        CHECK_OK(tern_send_buf(&right, r->fixed ? EP_FIXED_GHOST : EP_GHOST, msg, sizeof msg));
        r->iter++;
        if (r->iter == ITERS)
            break;
        if (!r->periodic && r->iter % SYNC_EVERY == 0) {
            r->waiting = 1;
            CHECK_OK(tern_at_sync(r));
            return;
        }
        if (r->iter % 2 == 0) { /* let messages in between: go on from the queue */
            CHECK_OK(tern_send_buf(&me, r->fixed ? EP_FIXED_GO : EP_GO, NULL, 0));
            return;
        }
    }
    if (r->iter == ITERS && r->ghosts[ITERS - 1] && !r->reported) {
        r->reported = 1;
        report_done(r);
    }
}

static void ring_go(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ring_t *r = self;
    ring_check(r);
    advance(r);
}

static void ring_ghost(void *self, const tern_msg_t *msg)
{
    ring_t *r = self;
    const int64_t *m = tern_msg_data(msg);
    CHECK(m[0] >= 0 && m[0] < ITERS);
    int64_t left = (r->lin + r->n - 1) % r->n;
    CHECK_EQ(m[1], left * 1000 + m[0]);
    CHECK_EQ(r->ghosts[m[0]], 0); /* once each (not in order: both ends move) */
    r->ghosts[m[0]] = 1;
    r->sum += (uint64_t)m[1];
    advance(r);
}

static void ring_resume(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ring_t *r = self;
    ring_check(r);
    CHECK_EQ(r->waiting, 1);
    r->waiting = 0;
    r->resumes++;
    /* Moved while it waited: no tern_migrate now. */
    advance(r);
}

static void ring_sync_twice(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ring_t *r = self;
    r->waiting = 1;
    CHECK_EQ(tern_at_sync(r), TERN_OK);
    if (tern_lb_strategy()) { /* without one, the element is resumed at once */
        CHECK_EQ(tern_at_sync(r), TERN_ERR_STATE); /* logged: twice */
        CHECK_EQ(tern_migrate(r, 0), TERN_ERR_STATE); /* logged: the balancer places it */
    }
}

typedef struct {
    int x;
} plain_t;

static void plain_ctor(void *self, const tern_msg_t *args)
{
    (void)self;
    (void)args;
}

static void plain_sync(void *self, const tern_msg_t *msg)
{
    (void)msg;
    CHECK_EQ(tern_at_sync(self), TERN_ERR_INVALID); /* logged: not balanced */
    CHECK_EQ(tern_set_load(self, 1.0), TERN_ERR_INVALID);
    tern_return(NULL, 0);
}

static int run_ring(int periodic, int fixed)
{
    int np = tern_num_pes();
    int32_t n = np * 4 < 8 ? 8 : np * 4;
    tern_future_t done;
    CHECK_OK(tern_future_create(n, &done));
    int64_t a[2 + sizeof done / sizeof(int64_t) + 1];
    a[0] = n;
    a[1] = periodic | fixed << 1;
    memcpy(a + 2, &done, sizeof done);
    tern_iov_t iov = {a, sizeof a};
    tern_array_opts_t o = {.flags = periodic ? 0 : TERN_ARRAY_AT_SYNC,
                           .lb_period = periodic ? 0.005 : 0};
    tern_proxy_t arr;
    CHECK_OK(tern_array_create_opts(fixed ? T_FIXED : T_RING, 1, TERN_IDX(n), &iov, 1, &o,
                                    &arr));
    CHECK(arr.flags & TERN_PROXY_BALANCED);
    CHECK_OK(tern_send(&arr, fixed ? EP_FIXED_GO : EP_GO, NULL, 0, NULL));
    ring_report_t *rep = calloc((size_t)n, sizeof *rep);
    CHECK(rep != NULL);
    CHECK_OK(tern_future_wait(&done));
    for (int32_t i = 0; i < n; i++) {
        ring_report_t x;
        size_t len = 0;
        const void *v = tern_future_value(&done, i, &len);
        CHECK(v != NULL);
        CHECK_EQ(len, sizeof x);
        memcpy(&x, v, sizeof x);
        CHECK(x.lin >= 0 && x.lin < n);
        rep[x.lin] = x;
    }
    const char *strategy = tern_lb_strategy();
    int rotate = strategy && strcmp(strategy, "Rotate") == 0;
    for (int32_t i = 0; i < n; i++) {
        int64_t left = (i + n - 1) % n;
        uint64_t want = 0;
        for (int it = 0; it < ITERS; it++)
            want += (uint64_t)(left * 1000 + it);
        CHECK_EQ(rep[i].sum, want);
        CHECK_EQ(rep[i].resumes, periodic ? 0 : NSTEPS);
        if ((rotate && !periodic) || fixed) { /* block map: element i starts on i * np / n */
            int64_t home = (int64_t)i * np / n;
            CHECK_EQ(rep[i].pe, fixed ? home : (home + NSTEPS) % np);
        }
    }
    tern_lb_report_t lr;
    tern_status_t st = tern_lb_last_report(&arr, &lr);
    if (!strategy) {
        CHECK_EQ(st, TERN_ERR_STATE); /* no step ran */
    } else {
        CHECK_OK(st);
        if (!periodic) {
            CHECK_EQ(lr.step, NSTEPS);
            CHECK_EQ(lr.objects, (uint32_t)n);
            /* The graph: each element sent its neighbour one message an iteration. */
            CHECK_EQ(lr.comm_msgs, (uint64_t)n * SYNC_EVERY);
            CHECK_EQ(lr.comm_bytes, (uint64_t)n * SYNC_EVERY * 2 * sizeof(int64_t));
        } else {
            CHECK(lr.step >= 1);
            CHECK(lr.objects <= (uint32_t)n);
        }
        CHECK_EQ(lr.pes, np);
        CHECK(lr.max_before >= lr.avg_before && lr.bound <= lr.max_before * (1 + 1e-9));
        if (strcmp(strategy, "Dummy") == 0 || fixed) /* a type that cannot move: fixed load */
            CHECK_EQ(lr.moves, 0);
        if (rotate && !periodic && !fixed)
            CHECK_EQ(lr.moves, np > 1 ? (uint32_t)n : 0);
        /* The refining strategies never make the maximum worse; Greedy places anew, within
         * twice the lower bound (list scheduling). */
        if (strcmp(strategy, "GreedyRefine") == 0 || strcmp(strategy, "Refine") == 0 ||
            strcmp(strategy, "HostGreedyRefine") == 0)
            CHECK(lr.max_after <= lr.max_before * (1 + 1e-9));
        if (strcmp(strategy, "Greedy") == 0 && !fixed)
            CHECK(lr.max_after <= 2 * lr.bound * (1 + 1e-9));
        printf("lb %s %s: step %u, %u objects, max/avg %.3f -> %.3f, %u moves\n",
               periodic ? "periodic" : "atsync", strategy, lr.step, lr.objects,
               lr.max_before / lr.avg_before, lr.max_after / lr.avg_after, lr.moves);
    }
    free(rep);
    tern_future_free(&done);
    return 0;
}

static int run_errors(void)
{
    tern_proxy_t plain, one, ring;
    CHECK_OK(tern_array_create(T_PLAIN, 1, TERN_IDX(2), NULL, 0, &plain));
    int32_t i0 = 0;
    CHECK_OK(tern_proxy_elem(&plain, &i0, &one));
    tern_future_t f;
    CHECK_OK(tern_call(&one, EP_PLAIN_SYNC, NULL, 0, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    tern_array_opts_t both = {.flags = TERN_ARRAY_AT_SYNC, .lb_period = 1.0};
    CHECK_EQ(tern_array_create_opts(T_PLAIN, 1, TERN_IDX(2), NULL, 0, &both, &plain),
             TERN_ERR_INVALID); /* logged */
    tern_array_opts_t bad = {.lb_period = -1};
    CHECK_EQ(tern_array_create_opts(T_PLAIN, 1, TERN_IDX(2), NULL, 0, &bad, &plain),
             TERN_ERR_INVALID); /* logged */
    /* A ring element that syncs twice: an error, and the array then waits (for the
     * others); the job ends without them. */
    tern_future_t done;
    CHECK_OK(tern_future_create(1, &done));
    int64_t a[2 + sizeof done / sizeof(int64_t) + 1] = {8, 0};
    memcpy(a + 2, &done, sizeof done);
    tern_iov_t iov = {a, sizeof a};
    tern_array_opts_t o = {.flags = TERN_ARRAY_AT_SYNC};
    CHECK_OK(tern_array_create_opts(T_RING, 1, TERN_IDX(8), &iov, 1, &o, &ring));
    CHECK_OK(tern_proxy_elem(&ring, &i0, &one));
    CHECK_OK(tern_call(&one, EP_SYNC_TWICE, NULL, 0, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    tern_future_free(&done);
    return 0;
}

static void start(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* +balancer NAME is not for the program */
        CHECK(strcmp(argv[i], "+balancer") != 0 && strncmp(argv[i], "--balancer", 10) != 0);
    const char *mode = argc > 1 ? argv[1] : "atsync";
    if (strcmp(mode, "atsync") == 0)
        run_ring(0, 0);
    else if (strcmp(mode, "periodic") == 0)
        run_ring(1, 0);
    else if (strcmp(mode, "fixed") == 0)
        run_ring(0, 1);
    else if (strcmp(mode, "errors") == 0)
        run_errors();
    else
        tern_abort("unknown mode %s", mode);
    printf("mp_lb %s: ok\n", mode);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t ring_eps[] = {
        {"go", ring_go, 0, &EP_GO},
        {"ghost", ring_ghost, 0, &EP_GHOST},
        {"resume", ring_resume, 0, &EP_RESUME},
        {"sync_twice", ring_sync_twice, 0, &EP_SYNC_TWICE},
        {0},
    };
    const tern_ep_def_t plain_eps[] = {{"sync", plain_sync, 0, &EP_PLAIN_SYNC}, {0}};
    CHECK_OK(tern_type_define("Ring", sizeof(ring_t), ring_ctor, ring_dtor, ring_eps, &T_RING));
    CHECK_OK(tern_type_migratable(T_RING, ring_pup, NULL));
    const tern_ep_def_t fixed_eps[] = {
        {"go", ring_go, 0, &EP_FIXED_GO},
        {"ghost", ring_ghost, 0, &EP_FIXED_GHOST},
        {"resume", ring_resume, 0, &EP_FIXED_RESUME},
        {"sync_twice", ring_sync_twice, 0, &EP_FIXED_SYNC_TWICE},
        {0},
    };
    CHECK_OK(tern_type_define("RingFixed", sizeof(ring_t), ring_ctor, ring_dtor, fixed_eps,
                              &T_FIXED));
    CHECK_OK(tern_type_resume(T_FIXED, EP_FIXED_RESUME));
    CHECK_OK(tern_type_define("Plain", sizeof(plain_t), plain_ctor, NULL, plain_eps, &T_PLAIN));
    CHECK_OK(tern_type_resume(T_RING, EP_RESUME));
    if (argc > 1 && strcmp(argv[argc - 1], "errors") == 0)
        CHECK_EQ(tern_type_resume(T_PLAIN, EP_RESUME), TERN_ERR_INVALID); /* logged */
    return tern_run(argc, argv, start);
}
