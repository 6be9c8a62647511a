/*
 * Elements on the move under load: every message delivered exactly once.
 *
 *   mp_migstress [TOTAL_MESSAGES [MOVE_EVERY]]
 *
 * A mobile array of 8 elements per PE (at least 16). In each of ROUNDS rounds, started by
 * a broadcast, every element sends its share of TOTAL_MESSAGES to elements drawn at
 * random (in chunks, each chunk its own entry method, so that the element can move in
 * between), then contributes the number it sent to a sum reduction, which the main
 * function waits for before the next round: reductions, broadcasts and the all-to-all
 * traffic of the next round overlap the deliveries of the last. Every MOVE_EVERY
 * messages it receives, an element moves to a PE drawn at random.
 *
 * Each element counts what it receives from each sender (an array it owns, which its
 * pup function packs) and sums the messages' values. At the end (after quiescence) the
 * main function replays every sender's draws and checks every element's counts, per
 * sender, and sum: a lost message or one delivered twice shows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define ROUNDS 10
#define CHUNK 32

static tern_type_t T_W;
static tern_ep_t EP_ROUND, EP_MORE, EP_MSG, EP_REPORT;

static int nelems(void) { return tern_num_pes() * 8 < 16 ? 16 : tern_num_pes() * 8; }

typedef struct {
    int64_t lin;
    int32_t n;           /* elements */
    int32_t move_every;
    int64_t per_round;   /* messages it sends each round */
    uint32_t *from;      /* [n] messages received from each element */
    uint64_t got, sum, moves;
    int64_t sent;        /* this round */
    int32_t round;
    int32_t want_pe;     /* where its last move was asked to go: every method runs there */
    uint64_t move_rng;
    tern_future_t done;  /* the main function's, for this round's reduction */
} walker_t;

typedef struct {
    int32_t round;
    int32_t pad;
    tern_future_t done;
} round_msg_t;

typedef struct {
    int64_t src, round, k;
    uint64_t value;
} wmsg_t;

/* The value of message k of element src in round r, and where it goes. */
static uint64_t msg_value(int64_t src, int64_t r, int64_t k)
{
    uint64_t x = (uint64_t)src * 0x9e3779b97f4a7c15ULL ^ (uint64_t)r * 0xbf58476d1ce4e5b9ULL ^
                 (uint64_t)k * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    x *= 0xd6e8feb86659fd93ULL;
    return x ^ (x >> 32);
}

static int msg_dest(int64_t src, int64_t r, int64_t k, int n)
{
    return (int)((msg_value(src, r, k) >> 7) % (uint64_t)n);
}

static int64_t share(int64_t total, int n)
{
    return (total + (int64_t)n * ROUNDS - 1) / ((int64_t)n * ROUNDS); /* at least total */
}

static void w_ctor(void *self, const tern_msg_t *args)
{
    walker_t *w = self;
    const int64_t *a = tern_msg_data(args);
    w->lin = tern_self_index(self)[0];
    w->n = nelems();
    w->per_round = a[0];
    w->move_every = (int32_t)a[1];
    w->from = calloc((size_t)w->n, sizeof *w->from);
    CHECK(w->from != NULL);
    w->move_rng = (uint64_t)w->lin * 104729 + 7;
    w->round = -1;
    w->want_pe = tern_my_pe();
}

static void w_dtor(void *self)
{
    walker_t *w = self;
    free(w->from);
    w->from = NULL;
}

static void w_pup(void *self, tern_pup_t *p)
{
    walker_t *w = self;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK) {
        w->from = malloc((size_t)w->n * sizeof *w->from);
        CHECK(w->from != NULL);
    }
    tern_pup_bytes(p, w->from, (size_t)w->n * sizeof *w->from);
}

/* Send the next chunk of this round's messages; the last one contributes. */
static void send_chunk(walker_t *w)
{
    tern_proxy_t all = tern_self_collection(w);
    int64_t end = w->sent + CHUNK < w->per_round ? w->sent + CHUNK : w->per_round;
    for (; w->sent < end; w->sent++) {
        wmsg_t m = {w->lin, w->round, w->sent, msg_value(w->lin, w->round, w->sent)};
        int d = msg_dest(w->lin, w->round, w->sent, w->n);
        CHECK_OK(tern_send_elem(&all, TERN_IDX(d), EP_MSG, &m, sizeof m));
    }
    if (w->sent < w->per_round) {
        tern_proxy_t me = tern_self_proxy(w);
        CHECK_OK(tern_send(&me, EP_MORE, NULL, 0, NULL));
        return;
    }
    tern_callback_t cb = tern_cb_future(&w->done);
    CHECK_OK(tern_contribute(w, &w->sent, sizeof w->sent,
                             TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64), &cb));
}

static void w_round(void *self, const tern_msg_t *msg)
{
    walker_t *w = self;
    const round_msg_t *r = tern_msg_data(msg);
    CHECK_EQ(tern_my_pe(), w->want_pe);
    CHECK_EQ(r->round, w->round + 1);
    w->round = r->round;
    w->done = r->done;
    w->sent = 0;
    send_chunk(w);
}

static void w_more(void *self, const tern_msg_t *msg)
{
    (void)msg;
    send_chunk(self);
}

static void w_msg(void *self, const tern_msg_t *msg)
{
    walker_t *w = self;
    const wmsg_t *m = tern_msg_data(msg);
    CHECK_EQ(tern_my_pe(), w->want_pe); /* what came after a move was asked followed it */
    CHECK(m->src >= 0 && m->src < w->n);
    CHECK_EQ(msg_dest(m->src, m->round, m->k, w->n), w->lin);
    CHECK_EQ(m->value, msg_value(m->src, m->round, m->k));
    w->from[m->src]++;
    w->got++;
    w->sum += m->value;
    if (w->got % (uint64_t)w->move_every == 0) {
        int pe = (int)(mp_rand(&w->move_rng) % (uint64_t)tern_num_pes());
        if (pe != tern_my_pe())
            w->moves++;
        w->want_pe = pe;
        CHECK_OK(tern_migrate(self, pe));
    }
}

static void w_report(void *self, const tern_msg_t *msg)
{
    (void)msg;
    walker_t *w = self;
    size_t len = 4 * sizeof(uint64_t) + (size_t)w->n * sizeof *w->from;
    uint64_t *r = malloc(len);
    CHECK(r != NULL);
    r[0] = w->got;
    r[1] = w->sum;
    r[2] = w->moves;
    r[3] = (uint64_t)w->lin;
    memcpy(r + 4, w->from, (size_t)w->n * sizeof *w->from);
    tern_return(r, len);
    free(r);
}

static void start(int argc, char **argv)
{
    int64_t total = argc > 1 ? atoll(argv[1]) : 1000000;
    int64_t move_every = argc > 2 ? atoll(argv[2]) : 24;
    int n = nelems();
    int64_t per = share(total, n);
    CHECK(per > 0 && move_every > 0);
    double t0 = tern_wall_time();
    int64_t a[2] = {per, move_every};
    tern_iov_t iov = {a, sizeof a};
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_W, 1, TERN_IDX(n), &iov, 1, &arr));
    CHECK(arr.flags & TERN_PROXY_MOBILE);
    for (int r = 0; r < ROUNDS; r++) {
        round_msg_t rm = {r, 0, {0, 0, 0}};
        CHECK_OK(tern_future_create(1, &rm.done));
        CHECK_OK(tern_send_buf(&arr, EP_ROUND, &rm, sizeof rm));
        int64_t sent;
        CHECK_OK(tern_future_get(&rm.done, &sent, sizeof sent, NULL));
        CHECK_EQ(sent, per * n);
        tern_future_free(&rm.done);
    }
    CHECK_OK(tern_qd_wait());
    /* What each element should have: replay every sender. */
    uint32_t *want = calloc((size_t)n * (size_t)n, sizeof *want);
    uint64_t *want_sum = calloc((size_t)n, sizeof *want_sum);
    CHECK(want && want_sum);
    for (int64_t s = 0; s < n; s++)
        for (int64_t r = 0; r < ROUNDS; r++)
            for (int64_t k = 0; k < per; k++) {
                int d = msg_dest(s, r, k, n);
                want[(size_t)d * (size_t)n + (size_t)s]++;
                want_sum[d] += msg_value(s, r, k);
            }
    uint64_t moves = 0, msgs = 0;
    for (int i = 0; i < n; i++) {
        tern_proxy_t e;
        CHECK_OK(tern_proxy_elem(&arr, TERN_IDX(i), &e));
        tern_future_t f;
        CHECK_OK(tern_call(&e, EP_REPORT, NULL, 0, TERN_CALL_RET, NULL, &f));
        CHECK_OK(tern_future_wait(&f));
        size_t len;
        const uint64_t *r = tern_future_value(&f, 0, &len);
        CHECK(r && len == 4 * sizeof(uint64_t) + (size_t)n * sizeof(uint32_t));
        const uint32_t *from = (const uint32_t *)(r + 4);
        CHECK_EQ(r[3], i);
        for (int s = 0; s < n; s++)
            if (from[s] != want[(size_t)i * (size_t)n + (size_t)s])
                tern_abort("element %d got %u messages from element %d, not %u", i, from[s],
                           s, want[(size_t)i * (size_t)n + (size_t)s]);
        if (r[1] != want_sum[i])
            tern_abort("element %d: the sum of its messages' values is wrong", i);
        msgs += r[0];
        moves += r[2];
        tern_future_free(&f);
    }
    CHECK_EQ(msgs, (uint64_t)(per * n * ROUNDS));
    free(want);
    free(want_sum);
    printf("mp_migstress: %llu messages to %d elements, %llu moves, %d reductions and "
           "broadcasts, on %d PEs in %.2f s: each delivered once\n", (unsigned long long)msgs,
           n, (unsigned long long)moves, ROUNDS, tern_num_pes(), tern_wall_time() - t0);
    fflush(stdout);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"round", w_round, 0, &EP_ROUND},
        {"more", w_more, 0, &EP_MORE},
        {"msg", w_msg, 0, &EP_MSG},
        {"report", w_report, 0, &EP_REPORT},
        {0},
    };
    CHECK_OK(tern_type_define("Walker", sizeof(walker_t), w_ctor, w_dtor, eps, &T_W));
    CHECK_OK(tern_type_migratable(T_W, w_pup, NULL));
    return tern_run(argc, argv, start);
}
