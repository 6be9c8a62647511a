/*
 * qd_timers: quiescence detection, timers and sleeping coroutines.
 *
 *   1. A burst of work that nobody counts: element 0 of an array of chares gets
 *      spread(DEPTH), and each spread(d) passes spread(d - 1) on to FANOUT elements,
 *      so the work fans out over every PE. No chare knows when it is over: the main
 *      function waits for quiescence (tern_qd_wait: no PE runs anything, no message is
 *      in flight), then sums the chares' counts with a reduction.
 *   2. Periodic work: a chare on the last PE sends itself a tick every PERIOD seconds
 *      with tern_timer_send, TICKS times. Meanwhile its coroutine entry method nap()
 *      sleeps (tern_sleep), and the ticks go on: while a coroutine sleeps its PE runs
 *      other messages, also for the same chare. A pending timer is not quiescence, so
 *      main's second tern_qd_wait returns only after the last tick.
 * It prints what happened, and exits with 1 if a count is wrong or a timer came early.
 *
 *     ternrun -n 4 ./qd_timers
 */
#include <stdio.h>

#include <tern/tern.h>

#define NCHARES 16
#define FANOUT 3
#define DEPTH 6
#define TICKS 5
#define PERIOD 0.02
#define NAP 0.05

static tern_type_t T_SPREADER, T_TICKER;
static tern_ep_t EP_SPREAD, EP_REPORT, EP_TICK, EP_NAP, EP_STATS;

typedef struct {
    int32_t received;
} spreader_t;

/* spread(d): one more message; d more levels to go. */
static void spread(void *self, const tern_msg_t *msg)
{
    spreader_t *s = self;
    int me = tern_self_index(self)[0], d = *(const int *)tern_msg_data(msg) - 1;
    s->received++;
    for (int f = 0; d >= 0 && f < FANOUT; f++) /* anywhere, as long as it spreads */
        tern_self_send(self, TERN_IDX((me * FANOUT + s->received + f) % NCHARES),
                       EP_SPREAD, &d, sizeof d);
}

/* report(future): the sum of the counts goes to the future. */
static void report(void *self, const tern_msg_t *msg)
{
    spreader_t *s = self;
    tern_callback_t cb = tern_cb_future(tern_msg_data(msg));
    tern_contribute(self, &s->received, sizeof s->received,
                    TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32), &cb);
}

typedef struct {
    int ticks, early;
    double armed; /* when the pending timer was set */
} ticker_t;

static void arm(ticker_t *t)
{
    tern_proxy_t me = tern_self_proxy(t);
    t->armed = tern_wall_time();
    tern_timer_send(PERIOD, &me, EP_TICK, NULL, 0);
}

/* The ticker starts ticking as soon as it is built. */
static void ticker_ctor(void *self, const tern_msg_t *args)
{
    (void)args;
    arm(self);
}

static void tick(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ticker_t *t = self;
    double late = tern_wall_time() - t->armed - PERIOD; /* a timer never comes early */
    t->early += late < 0;
    printf("tick %d on PE %d, %.1f ms after its time\n", ++t->ticks, tern_my_pe(), late * 1e3);
    if (t->ticks < TICKS)
        arm(t);
}

/* nap(): a coroutine. Answers how long it slept and how many ticks came meanwhile. */
static void nap(void *self, const tern_msg_t *msg)
{
    (void)msg;
    ticker_t *t = self;
    int before = t->ticks;
    double t0 = tern_wall_time();
    tern_sleep(NAP);
    double ans[2] = {tern_wall_time() - t0, t->ticks - before};
    tern_return(ans, sizeof ans);
}

/* stats(): answers the ticker's state. */
static void stats(void *self, const tern_msg_t *msg)
{
    (void)msg;
    tern_return(self, sizeof(ticker_t));
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int wrong = 0;

    /* 1. The burst. */
    tern_proxy_t spreaders;
    tern_array_create(T_SPREADER, 1, TERN_IDX(NCHARES), NULL, 0, &spreaders);
    double t0 = tern_wall_time();
    int depth = DEPTH;
    tern_send_elem(&spreaders, TERN_IDX(0), EP_SPREAD, &depth, sizeof depth);
    tern_qd_wait();
    double quiet = tern_wall_time() - t0;
    tern_future_t f;
    tern_future_create(1, &f);
    tern_send_buf(&spreaders, EP_REPORT, &f, sizeof f);
    int32_t sum = 0, want = 0;
    tern_future_get(&f, &sum, sizeof sum, NULL);
    for (int d = 0, level = 1; d <= DEPTH; d++, level *= FANOUT)
        want += level;
    printf("burst: %d messages among %d chares (%s), quiescent after %.1f ms\n", sum,
           NCHARES, sum == want ? "right" : "WRONG", quiet * 1e3);
    wrong += sum != want;

    /* 2. The ticks, and a nap among them. */
    tern_proxy_t ticker;
    t0 = tern_wall_time();
    tern_chare_create(T_TICKER, tern_num_pes() - 1, NULL, 0, &ticker);
    tern_call(&ticker, EP_NAP, NULL, 0, TERN_CALL_RET, NULL, &f);
    double napped[2] = {0, 0};
    tern_future_get(&f, napped, sizeof napped, NULL);
    printf("nap: slept %.1f ms while %.0f ticks came\n", napped[0] * 1e3, napped[1]);
    tern_qd_wait();
    quiet = tern_wall_time() - t0;
    ticker_t t = {0};
    tern_call(&ticker, EP_STATS, NULL, 0, TERN_CALL_RET, NULL, &f);
    tern_future_get(&f, &t, sizeof t, NULL);
    printf("ticker: %d ticks every %.0f ms, quiescent after %.1f ms\n", t.ticks,
           PERIOD * 1e3, quiet * 1e3);
    wrong += t.ticks != TICKS || t.early || napped[0] < NAP || quiet < TICKS * PERIOD;

    printf("%s\n", wrong ? "WRONG" : "all as expected");
    tern_exit(wrong ? 1 : 0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t spreader_eps[] = {
        {"spread", spread, 0, &EP_SPREAD},
        {"report", report, 0, &EP_REPORT},
        {0},
    };
    const tern_ep_def_t ticker_eps[] = {
        {"tick", tick, 0, &EP_TICK},
        {"nap", nap, TERN_EP_COROUTINE, &EP_NAP},
        {"stats", stats, 0, &EP_STATS},
        {0},
    };
    if (tern_type_define("Spreader", sizeof(spreader_t), NULL, NULL, spreader_eps,
                         &T_SPREADER) ||
        tern_type_define("Ticker", sizeof(ticker_t), ticker_ctor, NULL, ticker_eps,
                         &T_TICKER))
        return 1;
    return tern_run(argc, argv, start);
}
