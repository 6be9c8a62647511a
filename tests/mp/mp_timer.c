/*
 * Timers and sleeps, on every PE.
 *
 * Timers (tern_timer_after): each PE schedules a batch of timers with various delays (0,
 * tenths of a millisecond, milliseconds, tens of milliseconds, and runs of equal delays)
 * from a coroutine, a chain of timers that each schedule the next one, and timers from a
 * plain entry method; main schedules some on PE 0 too. Every timer must fire exactly once,
 * no sooner than its delay after it was scheduled (CLOCK_MONOTONIC and tern_wall_time both
 * checked), in deadline order, and timers of equal delay scheduled one after the other fire
 * in the order they were scheduled.
 *
 * Sleeps (tern_sleep): two coroutines of one member sleep at once (0.3 and 0.1 s) on every
 * PE; each sends its member messages before sleeping, which must all have run, on that PE,
 * while it slept, as must a timer due halfway through. Each sleep lasts at least what it
 * asked for, and the two overlap. Main sleeps too.
 *
 * Misuse: tern_sleep() from a plain entry method is TERN_ERR_STATE (logged "outside a
 * coroutine"); negative, NaN or huge seconds and a NULL fn are TERN_ERR_INVALID; both calls
 * before tern_run() are TERN_ERR_STATE.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define NBATCH 160    /* timers of the batch */
#define NRUN 16       /* of which two runs of equal delays, this long */
#define NCHAIN 8      /* links of the chain */
#define NTICKS 50     /* messages a sleeper sends its member before sleeping */

static tern_type_t T_TIMER;
static tern_ep_t EP_BATCH, EP_PLAIN, EP_SLEEP, EP_TICK, EP_BAD;

/* ---- one timer's record ---- */

typedef struct {
    int id;          /* order of scheduling in its set */
    int run;         /* -1, or the run of equal delays it belongs to */
    double delay;
    double before, after;  /* mp_now() just before and after tern_timer_after */
    double wall_before;    /* tern_wall_time() just before */
    double fired;          /* mp_now() when it fired; 0 before */
    int nfired;
    int fire_rank;         /* order of firing in its set */
} rec_t;

typedef struct {
    rec_t *recs;
    int n, nfired;
    tern_future_t done;    /* set when all have fired (if id != 0) */
    int last_run_id[2];    /* id of the last timer fired of each run */
} set_t;

/* After all fired: firing order follows deadlines. A timer's deadline lies in
 * [before + delay, after + delay]; one that fired before another cannot have had a
 * deadline surely later. */
static void check_order(const set_t *s)
{
    rec_t **by_rank = calloc((size_t)s->n, sizeof *by_rank);
    CHECK(by_rank != NULL);
    for (int i = 0; i < s->n; i++) {
        CHECK_EQ(s->recs[i].nfired, 1);
        by_rank[s->recs[i].fire_rank] = &s->recs[i];
    }
    for (int k = 1; k < s->n; k++) {
        const rec_t *a = by_rank[k - 1], *b = by_rank[k];
        if (!(a->before + a->delay <= b->after + b->delay))
            tern_abort("timer %d (deadline >= %.6f) fired before timer %d (deadline <= %.6f)",
                       a->id, a->before + a->delay, b->id, b->after + b->delay);
    }
    free(by_rank);
}

static void check_fire(set_t *s, rec_t *r)
{
    double now = mp_now(), wall = tern_wall_time();
    CHECK_EQ(r->nfired, 0);
    r->nfired = 1;
    r->fired = now;
    if (!(now - r->before >= r->delay) || !(wall - r->wall_before >= r->delay))
        tern_abort("timer %d (delay %.6f s) fired early: after %.9f s (wall %.9f s)", r->id,
                   r->delay, now - r->before, wall - r->wall_before);
    r->fire_rank = s->nfired++;
    if (r->run >= 0) {
        if (r->id <= s->last_run_id[r->run])
            tern_abort("timer %d of a run of equal delays fired after timer %d, which was "
                       "scheduled after it", r->id, s->last_run_id[r->run]);
        s->last_run_id[r->run] = r->id;
    }
    if (s->nfired == s->n) {
        check_order(s);
        CHECK_OK(tern_future_set(&s->done, NULL, 0));
    }
}

typedef struct {
    set_t *s;
    rec_t *r;
} arg_t;

static void on_timer(void *p)
{
    arg_t *a = p;
    check_fire(a->s, a->r);
}

static void schedule(set_t *s, arg_t *args, int i, double delay, int run)
{
    rec_t *r = &s->recs[i];
    r->id = i;
    r->run = run;
    r->delay = delay;
    args[i].s = s;
    args[i].r = r;
    r->wall_before = tern_wall_time();
    r->before = mp_now();
    CHECK_OK(tern_timer_after(delay, on_timer, &args[i]));
    r->after = mp_now();
}

static void set_init(set_t *s, int n, arg_t **args)
{
    memset(s, 0, sizeof *s);
    s->recs = calloc((size_t)n, sizeof *s->recs);
    *args = calloc((size_t)n, sizeof **args);
    CHECK(s->recs && *args);
    s->n = n;
    s->last_run_id[0] = s->last_run_id[1] = -1;
}

static void set_fini(set_t *s, arg_t *args)
{
    free(s->recs);
    free(args);
}

/* A batch of timers with various delays, scheduled in one go; returns when all fired. */
static void run_batch(uint64_t seed)
{
    set_t s;
    arg_t *args;
    set_init(&s, NBATCH, &args);
    CHECK_OK(tern_future_create(1, &s.done));
    static const double delays[] = {0, 1e-4, 5e-4, 1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05};
    const int nd = (int)(sizeof delays / sizeof delays[0]);
    uint64_t rs = seed | 1;
    int i = 0;
    while (i < NBATCH) {
        if (i == 40 || i == 100) {
            /* A run of equal delays: 0, then 30 ms. */
            int run = i == 40 ? 0 : 1;
            for (int k = 0; k < NRUN; k++, i++)
                schedule(&s, args, i, run ? 0.03 : 0, run);
            continue;
        }
        uint64_t r = mp_rand(&rs);
        double d = r % 4 == 0 ? (double)((r >> 8) & 0xffff) / 0xffff * 0.1
                              : delays[(r >> 2) % (uint64_t)nd];
        schedule(&s, args, i++, d, -1);
    }
    CHECK_OK(tern_future_wait(&s.done));
    tern_future_free(&s.done);
    set_fini(&s, args);
}

/* ---- a chain: each timer schedules the next ---- */

typedef struct {
    int left;
    double before, delay;
    tern_future_t done;
} chain_t;

static void chain_link(void *p)
{
    chain_t *c = p;
    double now = mp_now();
    if (!(now - c->before >= c->delay))
        tern_abort("chained timer fired early: %.9f s < %.6f s", now - c->before, c->delay);
    if (--c->left == 0) {
        CHECK_OK(tern_future_set(&c->done, NULL, 0));
        return;
    }
    c->delay = c->left % 2 ? 0 : 0.003;
    c->before = mp_now();
    CHECK_OK(tern_timer_after(c->delay, chain_link, c));
}

static void run_chain(void)
{
    chain_t c = {NCHAIN, 0, 0.002, {0, 0, 0}};
    CHECK_OK(tern_future_create(1, &c.done));
    c.before = mp_now();
    CHECK_OK(tern_timer_after(c.delay, chain_link, &c));
    CHECK_OK(tern_future_wait(&c.done));
    tern_future_free(&c.done);
    CHECK_EQ(c.left, 0);
}

/* ---- the group member ---- */

typedef struct {
    int ticks;             /* EP_TICK messages run */
    double first_tick, last_tick;
    int halfway;           /* halfway timers fired */
    set_t plain;           /* timers from a plain entry method */
    arg_t *plain_args;
} member_t;

static void member_dtor(void *self)
{
    member_t *t = self;
    set_fini(&t->plain, t->plain_args);
}

/* Coroutine: the batch and the chain, at once, on this PE. */
static void member_batch(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    run_batch(0x9e3779b97f4a7c15ULL * (uint64_t)(tern_my_pe() + 1));
    run_chain();
}

/* Plain entry method: timers fire after it returned; the last one answers the future
 * main sent. */
static void member_plain(void *self, const tern_msg_t *m)
{
    member_t *t = self;
    CHECK(!tern_in_coroutine());
    set_init(&t->plain, 24, &t->plain_args);
    memcpy(&t->plain.done, tern_msg_data(m), sizeof t->plain.done);
    for (int i = 0; i < 24; i++)
        schedule(&t->plain, t->plain_args, i, i % 3 ? 0.002 * (i % 5) : 0, -1);
}

static void member_tick(void *self, const tern_msg_t *m)
{
    member_t *t = self;
    (void)m;
    double now = mp_now();
    if (!t->ticks++)
        t->first_tick = now;
    t->last_tick = now;
}

static void halfway(void *p)
{
    member_t *t = p;
    t->halfway++;
}

typedef struct {
    double t0, t1;
    int ticks;
} slept_t;

/* Coroutine: send my member ticks, then sleep; they (and a timer) run meanwhile. */
static void member_sleep(void *self, const tern_msg_t *m)
{
    member_t *t = self;
    double s;
    memcpy(&s, tern_msg_data(m), sizeof s);
    tern_proxy_t me = tern_self_proxy(self);
    int ticks0 = t->ticks, half0 = t->halfway;
    for (int i = 0; i < NTICKS; i++)
        CHECK_OK(tern_send(&me, EP_TICK, NULL, 0, NULL));
    CHECK_OK(tern_timer_after(s / 2, halfway, t));
    slept_t r;
    r.t0 = mp_now();
    CHECK_OK(tern_sleep(s));
    r.t1 = mp_now();
    r.ticks = t->ticks - ticks0;
    if (!(r.t1 - r.t0 >= s))
        tern_abort("tern_sleep(%.3f) returned after %.6f s", s, r.t1 - r.t0);
    CHECK(r.ticks >= NTICKS);           /* the PE ran them while this coroutine slept */
    CHECK(t->last_tick > r.t0 && t->last_tick < r.t1);
    CHECK(t->halfway > half0);
    tern_return(&r, sizeof r);
}

static void member_bad(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    CHECK(!tern_in_coroutine());
    CHECK_EQ(tern_sleep(0.01), TERN_ERR_STATE);
    CHECK_EQ(tern_sleep(-1), TERN_ERR_INVALID);
    CHECK_EQ(tern_sleep(NAN), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_after(-0.5, halfway, self), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_after(NAN, halfway, self), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_after(2e9, halfway, self), TERN_ERR_INVALID);
    CHECK_EQ(tern_timer_after(0.1, NULL, NULL), TERN_ERR_INVALID);
}

/* ---- main ---- */

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int np = tern_num_pes();
    CHECK(tern_in_coroutine());
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_TIMER, NULL, 0, NULL, &g));
    tern_future_t f;

    /* Misuse first (the coroutine calls are checked in main below). */
    CHECK_OK(tern_call(&g, EP_BAD, NULL, 0, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    tern_future_free(&f);
    CHECK_EQ(tern_sleep(-0.001), TERN_ERR_INVALID);

    /* Timers everywhere at once: batches and chains on every PE, timers from plain entry
     * methods, and a batch of main's own on PE 0. */
    tern_future_t fs[3];
    CHECK_OK(tern_call(&g, EP_BATCH, NULL, 0, TERN_CALL_DONE, NULL, &fs[0]));
    CHECK_OK(tern_future_create(np, &fs[1]));
    tern_iov_t piov = {&fs[1], sizeof fs[1]};
    CHECK_OK(tern_send(&g, EP_PLAIN, &piov, 1, NULL));
    double t0 = mp_now();
    run_batch(12345);
    CHECK_OK(tern_future_wait_all(fs, 2));
    tern_future_free(&fs[0]);
    tern_future_free(&fs[1]);
    printf("timers: %d per PE fired in order, none early (%.3f s)\n",
           NBATCH + NCHAIN + 24, mp_now() - t0);

    /* Sleeps: two coroutines of every member at once, and main. */
    double longs = 0.3, shorts = 0.1;
    tern_iov_t liov = {&longs, sizeof longs}, siov = {&shorts, sizeof shorts};
    CHECK_OK(tern_call(&g, EP_SLEEP, &liov, 1, TERN_CALL_RET, NULL, &fs[0]));
    CHECK_OK(tern_call(&g, EP_SLEEP, &siov, 1, TERN_CALL_RET, NULL, &fs[1]));
    t0 = mp_now();
    CHECK_OK(tern_sleep(0.05));
    double t1 = mp_now();
    CHECK(t1 - t0 >= 0.05);
    CHECK_OK(tern_sleep(0));
    CHECK_OK(tern_future_wait_all(fs, 2));
    for (int pe = 0; pe < np; pe++) {
        size_t ll, sl;
        const slept_t *l = tern_future_value(&fs[0], pe, &ll);
        const slept_t *s = tern_future_value(&fs[1], pe, &sl);
        CHECK(l && s && ll == sizeof *l && sl == sizeof *s);
        CHECK(l->t1 - l->t0 >= longs && s->t1 - s->t0 >= shorts);
        /* Both coroutines slept at the same time on that PE. */
        CHECK(s->t0 < l->t1 && l->t0 < s->t1);
    }
    tern_future_free(&fs[0]);
    tern_future_free(&fs[1]);
    printf("sleeps: every PE ran messages and timers while two coroutines slept\n");
    tern_exit(0);
}

static void nop(void *arg) { (void)arg; }

int main(int argc, char **argv)
{
    /* Before tern_run there is no PE to schedule on. */
    CHECK_EQ(tern_timer_after(0.1, nop, NULL), TERN_ERR_STATE);
    CHECK_EQ(tern_sleep(0.1), TERN_ERR_STATE);
    CHECK_OK(tern_type_register("Timer", sizeof(member_t), NULL, member_dtor, &T_TIMER));
    CHECK_OK(tern_ep_register_flags(T_TIMER, "batch", member_batch, TERN_EP_COROUTINE,
                                    &EP_BATCH));
    CHECK_OK(tern_ep_register(T_TIMER, "plain", member_plain, &EP_PLAIN));
    CHECK_OK(tern_ep_register_flags(T_TIMER, "sleep", member_sleep, TERN_EP_COROUTINE,
                                    &EP_SLEEP));
    CHECK_OK(tern_ep_register(T_TIMER, "tick", member_tick, &EP_TICK));
    CHECK_OK(tern_ep_register(T_TIMER, "bad", member_bad, &EP_BAD));
    return tern_run(argc, argv, start);
}
