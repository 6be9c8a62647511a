/*
 * Quiescence detection. A random cascade (each message spawns 0 to 3 messages to random
 * group members or array elements, depth-limited; some handlers spin for a while, some
 * defer their children to a timer) runs in several phases, each ended by quiescence
 * detection asked for in another way:
 *   1. tern_qd_wait() from main (a coroutine);
 *   2. tern_qd_start() with a future callback and with an entry method callback;
 *   3. tern_qd_wait() in a coroutine entry method on the last PE, which starts the cascade;
 *   4. no cascade, only timers 0.2 and 0.25 s away (on PE 0 and on another PE) whose
 *      callbacks send a message: quiescence must wait for both;
 *   5. several requests at once, from every PE, mid-cascade, one of them a broadcast
 *      callback to the whole group;
 *   6. two tokens hop round the ring of PEs in opposite directions;
 * and phase 0 asks on an idle job. Every phase comes after an earlier quiescence, so each
 * also checks that detection works again.
 *
 * After each quiescence, main gathers every PE's counters with a TERN_CALL_RET broadcast:
 * cascade messages sent must equal messages processed, no deferred child may be pending,
 * and every cascade handler (timestamped with the machine-wide monotonic clock at its end)
 * must have finished before the quiescence notice.
 *
 * The misuse checks come first: tern_qd_start(NULL) and a callback of kind NONE are
 * TERN_ERR_INVALID; tern_qd_wait() from a plain entry method is TERN_ERR_STATE.
 *
 *     mp_qd [roots [depth [token_hops]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define ARRAY_SIZE 37

static tern_type_t T_NODE, T_NOTICE;
static tern_ep_t EP_SETUP, EP_CASCADE, EP_REPORT, EP_KICK, EP_ARM_LATE, EP_LATE,
    EP_MULTI, EP_BAD, EP_TOKEN, EP_BNOTICE, EP_ARM, EP_NOTICE;

/* ---- what this PE (one per process) did ---- */

static tern_proxy_t g_group, g_array;
static int g_depth;
static uint64_t g_sent, g_processed;  /* cascade messages */
static uint64_t g_deferred;           /* children held by a pending timer */
static double g_last_t;               /* end of the latest cascade handler or timer */
static int g_late;                    /* LATE messages processed */
static double g_late_t;
static int g_bnotices;                /* broadcast quiescence notices */
static double g_bnotice_t;

typedef struct {
    uint64_t sent, processed, deferred;
    double last_t;
    int late, bnotices;
    double late_t, bnotice_t;
} report_t;

typedef struct {
    uint64_t seed;
    int32_t depth;
    int32_t pad;
} cascade_t;

typedef struct {
    int nkids;
    cascade_t kids[3];
} deferred_t;

static double stamp(void)
{
    double t = mp_now();
    if (t > g_last_t)
        g_last_t = t;
    return t;
}

static void spin(double s)
{
    double until = mp_now() + s;
    while (mp_now() < until) {
    }
}

/* One cascade message to a random group member or array element. */
static void cascade_send(uint64_t *s, int depth)
{
    cascade_t c = {mp_rand(s) | 1, depth, 0};
    uint64_t r = mp_rand(s);
    tern_proxy_t to;
    if (r & 1) {
        int pe = (int)((r >> 1) % (uint64_t)tern_num_pes());
        CHECK_OK(tern_proxy_elem(&g_group, &pe, &to));
    } else {
        int i = (int)((r >> 1) % ARRAY_SIZE);
        CHECK_OK(tern_proxy_elem(&g_array, &i, &to));
    }
    tern_iov_t iov = {&c, sizeof c};
    CHECK_OK(tern_send(&to, EP_CASCADE, &iov, 1, NULL));
    g_sent++;
}

/* Start `roots` cascades from this PE. */
static void cascade_start(int roots, uint64_t seed)
{
    uint64_t s = seed | 1;
    for (int i = 0; i < roots; i++)
        cascade_send(&s, 0);
}

static void deferred_fire(void *arg)
{
    deferred_t *d = arg;
    for (int i = 0; i < d->nkids; i++) {
        tern_iov_t iov = {&d->kids[i], sizeof d->kids[i]};
        tern_proxy_t to;
        int pe = (int)(d->kids[i].seed % (uint64_t)tern_num_pes());
        CHECK_OK(tern_proxy_elem(&g_group, &pe, &to));
        CHECK_OK(tern_send(&to, EP_CASCADE, &iov, 1, NULL));
        g_sent++;
    }
    g_deferred -= (uint64_t)d->nkids;
    free(d);
    stamp();
}

static void node_cascade(void *self, const tern_msg_t *m)
{
    (void)self;
    CHECK_EQ(tern_msg_size(m), sizeof(cascade_t));
    cascade_t c;
    memcpy(&c, tern_msg_data(m), sizeof c);
    g_processed++;
    uint64_t s = c.seed;
    int nkids = c.depth < g_depth ? (int)(mp_rand(&s) % 4) : 0;
    uint64_t r = mp_rand(&s);
    if (r % 64 == 0)
        spin(50e-6); /* a busy PE must not look idle */
    if (nkids && (r >> 8) % 32 == 0) {
        /* Defer the children: a pending timer is work in flight. */
        deferred_t *d = malloc(sizeof *d);
        CHECK(d != NULL);
        d->nkids = nkids;
        for (int i = 0; i < nkids; i++)
            d->kids[i] = (cascade_t){mp_rand(&s) | 1, c.depth + 1, 0};
        g_deferred += (uint64_t)nkids;
        CHECK_OK(tern_timer_after(1e-3 * (double)(1 + (r >> 16) % 3), deferred_fire, d));
    } else {
        for (int i = 0; i < nkids; i++)
            cascade_send(&s, c.depth + 1);
    }
    stamp();
}

typedef struct {
    tern_proxy_t group, array;
    int depth;
} setup_t;

/* A token that hops from PE to PE, one way round the ring or the other, `left` times,
 * and at each hop also sends a message that spawns nothing to a random PE. */
typedef struct {
    int32_t left, dir;
    uint64_t seed;
} token_t;

static void token_send(token_t t)
{
    int np = tern_num_pes();
    int to_pe = ((tern_my_pe() + t.dir) % np + np) % np;
    tern_proxy_t to;
    CHECK_OK(tern_proxy_elem(&g_group, &to_pe, &to));
    tern_iov_t iov = {&t, sizeof t};
    CHECK_OK(tern_send(&to, EP_TOKEN, &iov, 1, NULL));
    g_sent++;
}

static void node_token(void *self, const tern_msg_t *m)
{
    (void)self;
    token_t t;
    memcpy(&t, tern_msg_data(m), sizeof t);
    g_processed++;
    if (t.left-- > 0) {
        token_send(t);
        cascade_t leaf = {mp_rand(&t.seed) | 1, g_depth, 0};
        int pe = (int)(mp_rand(&t.seed) % (uint64_t)tern_num_pes());
        tern_proxy_t to;
        CHECK_OK(tern_proxy_elem(&g_group, &pe, &to));
        tern_iov_t iov = {&leaf, sizeof leaf};
        CHECK_OK(tern_send(&to, EP_CASCADE, &iov, 1, NULL));
        g_sent++;
    }
    stamp();
}

static void node_setup(void *self, const tern_msg_t *m)
{
    (void)self;
    CHECK_EQ(tern_msg_size(m), sizeof(setup_t));
    const setup_t *s = tern_msg_data(m);
    g_group = s->group;
    g_array = s->array;
    g_depth = s->depth;
}

static void node_report(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    report_t r = {g_sent,     g_processed, g_deferred, g_last_t,
                  g_late,     g_bnotices,  g_late_t,   g_bnotice_t};
    tern_return(&r, sizeof r);
}

/* Coroutine on the last PE: a cascade from here, ended by its own tern_qd_wait(). */
static void node_kick(void *self, const tern_msg_t *m)
{
    (void)self;
    const int *a = tern_msg_data(m);
    cascade_start(a[0], (uint64_t)a[1] * 7919u);
    CHECK_OK(tern_qd_wait());
    double t = mp_now();
    tern_return(&t, sizeof t);
}

static void late_fire(void *arg)
{
    int to_pe = (int)(intptr_t)arg;
    tern_proxy_t to;
    CHECK_OK(tern_proxy_elem(&g_group, &to_pe, &to));
    CHECK_OK(tern_send(&to, EP_LATE, NULL, 0, NULL));
}

/* A timer `s` seconds away whose callback sends LATE to group member to_pe. */
static void node_arm_late(void *self, const tern_msg_t *m)
{
    (void)self;
    const double *a = tern_msg_data(m);
    CHECK_OK(tern_timer_after(a[0], late_fire, (void *)(intptr_t)(int)a[1]));
}

static void node_late(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    g_late++;
    g_late_t = mp_now();
}

/* Several requests at once: a cascade from this PE, then quiescence to the future given. */
static void node_multi(void *self, const tern_msg_t *m)
{
    (void)self;
    const tern_future_t *fs = tern_msg_data(m);
    int me = tern_my_pe();
    cascade_start(8, 1000u + (uint64_t)me);
    tern_callback_t cb = tern_cb_future(&fs[me]);
    CHECK_OK(tern_qd_start(&cb));
}

/* tern_qd_wait() from a plain entry method, and bad callbacks. */
static void node_bad(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    CHECK(!tern_in_coroutine());
    CHECK_EQ(tern_qd_wait(), TERN_ERR_STATE);
    CHECK_EQ(tern_qd_start(NULL), TERN_ERR_INVALID);
    tern_callback_t none;
    memset(&none, 0, sizeof none);
    CHECK_EQ(tern_qd_start(&none), TERN_ERR_INVALID);
}

static void node_bnotice(void *self, const tern_msg_t *m)
{
    (void)self;
    CHECK_EQ(tern_msg_size(m), 0);
    g_bnotices++;
    g_bnotice_t = mp_now();
}

/* A single chare that turns a quiescence notice (an entry method callback) into a value
 * of the future main armed it with: the time it came. */
typedef struct {
    tern_future_t f;
    int armed;
} notice_t;

static void notice_arm(void *self, const tern_msg_t *m)
{
    notice_t *n = self;
    memcpy(&n->f, tern_msg_data(m), sizeof n->f);
    n->armed = 1;
}

static void notice_notice(void *self, const tern_msg_t *m)
{
    notice_t *n = self;
    CHECK_EQ(tern_msg_size(m), 0);
    CHECK(n->armed);
    n->armed = 0;
    double t = mp_now();
    CHECK_OK(tern_future_set(&n->f, &t, sizeof t));
}

/* ---- main ---- */

static uint64_t g_total_sent; /* cascade messages sent in all, as of the last check */

/* After quiescence noticed at t_qd: everything sent was processed, before t_qd. */
static void check_quiet(const char *phase, double t_qd, int late_want, int bnotice_want,
                        int bnotice_now)
{
    int np = tern_num_pes();
    tern_future_t f;
    CHECK_OK(tern_call(&g_group, EP_REPORT, NULL, 0, TERN_CALL_RET, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    CHECK_EQ(tern_future_count(&f), np);
    uint64_t sent = 0, processed = 0;
    int late = 0;
    double last = 0; /* the end of the latest work seen */
    for (int pe = 0; pe < np; pe++) {
        size_t len;
        const report_t *r = tern_future_value(&f, pe, &len);
        CHECK(r != NULL);
        CHECK_EQ(len, sizeof *r);
        sent += r->sent;
        processed += r->processed;
        late += r->late;
        CHECK_EQ(r->deferred, 0);
        if (r->last_t > last)
            last = r->last_t;
        if (r->late && r->late_t > last)
            last = r->late_t;
        if (!(r->last_t < t_qd))
            tern_abort("%s: PE %d ran cascade work %.6f s after the quiescence notice",
                       phase, pe, r->last_t - t_qd);
        if (r->late && !(r->late_t < t_qd))
            tern_abort("%s: PE %d ran a timer's message %.6f s after the quiescence notice",
                       phase, pe, r->late_t - t_qd);
        CHECK_EQ(r->bnotices, bnotice_want);
        if (bnotice_now && !(r->last_t < r->bnotice_t))
            tern_abort("%s: PE %d got the broadcast notice before its last cascade work",
                       phase, pe);
    }
    tern_future_free(&f);
    if (sent != processed)
        tern_abort("%s: %llu cascade messages sent but %llu processed at quiescence", phase,
                   (unsigned long long)sent, (unsigned long long)processed);
    CHECK_EQ(late, late_want);
    printf("%s: quiescent after %llu cascade messages in all", phase,
           (unsigned long long)processed);
    if (last > 0)
        printf(", noticed %.3f ms after the last work", (t_qd - last) * 1e3);
    printf("\n");
    g_total_sent = sent;
}

static void start(int argc, char **argv)
{
    int roots = argc > 1 ? atoi(argv[1]) : 24;
    int depth = argc > 2 ? atoi(argv[2]) : 14;
    int tokens = argc > 3 ? atoi(argv[3]) : 3000;
    CHECK(roots >= 1 && depth >= 1);
    int np = tern_num_pes();
    int last = np - 1;

    setup_t setup;
    memset(&setup, 0, sizeof setup);
    CHECK_OK(tern_group_create(T_NODE, NULL, 0, NULL, &setup.group));
    int dims[1] = {ARRAY_SIZE};
    CHECK_OK(tern_array_create(T_NODE, 1, dims, NULL, 0, &setup.array));
    setup.depth = depth;
    tern_iov_t siov = {&setup, sizeof setup};
    tern_future_t f;
    CHECK_OK(tern_call(&setup.group, EP_SETUP, &siov, 1, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    tern_future_free(&f);
    tern_proxy_t last_member;
    CHECK_OK(tern_proxy_elem(&g_group, &last, &last_member));

    /* Misuse, from a plain entry method on every PE. */
    CHECK_OK(tern_call(&g_group, EP_BAD, NULL, 0, TERN_CALL_DONE, NULL, &f));
    CHECK_OK(tern_future_wait(&f));
    tern_future_free(&f);

    /* 0. An idle job is quiescent, again and again: each wait is woken by the wave that
     * confirms it, never left to the idle sleep's lost-wake-up bound (1 s). */
    double t0 = mp_now();
    for (int i = 0; i < 20; i++)
        CHECK_OK(tern_qd_wait());
    double t_qd = mp_now();
    CHECK(t_qd - t0 < 5.0);
    check_quiet("phase 0 (idle)", t_qd, 0, 0, 0);

    /* 1. A cascade from main, then tern_qd_wait(). */
    cascade_start(roots, 1);
    CHECK_OK(tern_qd_wait());
    check_quiet("phase 1 (tern_qd_wait in main)", mp_now(), 0, 0, 0);
    CHECK(g_total_sent > (uint64_t)roots);

    /* 2. tern_qd_start() to a future and to an entry method of a chare on the last PE. */
    tern_proxy_t notice;
    CHECK_OK(tern_chare_create(T_NOTICE, last, NULL, 0, &notice));
    tern_future_t fs[2];
    CHECK_OK(tern_future_create(1, &fs[0]));
    CHECK_OK(tern_future_create(1, &fs[1]));
    tern_iov_t aiov = {&fs[1], sizeof fs[1]};
    CHECK_OK(tern_send(&notice, EP_ARM, &aiov, 1, NULL));
    cascade_start(roots, 2);
    tern_callback_t cb = tern_cb_future(&fs[0]);
    CHECK_OK(tern_qd_start(&cb));
    CHECK_OK(tern_cb_send(&notice, EP_NOTICE, &cb));
    CHECK_OK(tern_qd_start(&cb));
    CHECK_OK(tern_future_wait_all(fs, 2));
    t_qd = mp_now();
    size_t len;
    CHECK(tern_future_value(&fs[0], 0, &len) != NULL);
    CHECK_EQ(len, 0);
    double t_notice;
    CHECK_OK(tern_future_get(&fs[1], &t_notice, sizeof t_notice, &len));
    CHECK_EQ(len, sizeof t_notice);
    tern_future_free(&fs[0]);
    tern_future_free(&fs[1]);
    check_quiet("phase 2 (future callback)", t_qd, 0, 0, 0);
    check_quiet("phase 2 (entry method callback)", t_notice, 0, 0, 0);

    /* 3. Quiescence asked for on the last PE, by a coroutine that started the cascade. */
    int kick[2] = {roots, 3};
    tern_iov_t kiov = {kick, sizeof kick};
    CHECK_OK(tern_call(&last_member, EP_KICK, &kiov, 1, TERN_CALL_RET, NULL, &f));
    double t_kick;
    CHECK_OK(tern_future_get(&f, &t_kick, sizeof t_kick, &len));
    CHECK_EQ(len, sizeof t_kick);
    tern_future_free(&f);
    check_quiet("phase 3 (tern_qd_wait on the last PE)", t_kick, 0, 0, 0);

    /* 4. Only timers pending: one here, one on another PE, each sending a message. */
    t0 = mp_now();
    CHECK_OK(tern_timer_after(0.2, late_fire, (void *)(intptr_t)last));
    double arm[2] = {0.25, 0};
    tern_proxy_t other;
    int other_pe = np > 1 ? 1 : 0;
    CHECK_OK(tern_proxy_elem(&g_group, &other_pe, &other));
    tern_iov_t liov = {arm, sizeof arm};
    CHECK_OK(tern_send(&other, EP_ARM_LATE, &liov, 1, NULL));
    CHECK_OK(tern_qd_wait());
    t_qd = mp_now();
    if (!(t_qd - t0 >= 0.25))
        tern_abort("phase 4: quiescence after %.6f s, before the timers were due", t_qd - t0);
    check_quiet("phase 4 (pending timers)", t_qd, 2, 0, 0);

    /* 5. Several requests at once, from every PE, while cascades run, and one whose
     * callback is a broadcast to the whole group. */
    tern_future_t *mf = calloc((size_t)np + 3, sizeof *mf);
    CHECK(mf != NULL);
    for (int i = 0; i < np + 3; i++)
        CHECK_OK(tern_future_create(1, &mf[i]));
    cascade_start(roots, 5);
    tern_iov_t miov = {mf, (size_t)np * sizeof *mf};
    CHECK_OK(tern_send(&g_group, EP_MULTI, &miov, 1, NULL));
    for (int i = np; i < np + 3; i++) {
        cb = tern_cb_future(&mf[i]);
        CHECK_OK(tern_qd_start(&cb));
    }
    CHECK_OK(tern_cb_send(&g_group, EP_BNOTICE, &cb));
    CHECK_OK(tern_qd_start(&cb));
    tern_future_iter_t it;
    CHECK_OK(tern_future_iter_init(&it, mf, np + 3));
    int done = 0;
    while (tern_future_iter_next(&it) >= 0)
        done++;
    tern_future_iter_fini(&it);
    CHECK_EQ(done, np + 3);
    t_qd = mp_now();
    for (int i = 0; i < np + 3; i++)
        tern_future_free(&mf[i]);
    free(mf);
    /* The broadcast notices are messages too: wait for them before asking for counts. */
    CHECK_OK(tern_qd_wait());
    check_quiet("phase 5 (several requests)", t_qd, 2, 1, 1);

    /* 6. Two tokens going round the ring of PEs in opposite directions, each hop also
     * sending a message that spawns nothing: few messages are in flight at any time, so
     * a single wave's counts could balance by chance while work goes on. */
    token_send((token_t){tokens, 1, 61});
    token_send((token_t){tokens, -1, 67});
    CHECK_OK(tern_qd_wait());
    check_quiet("phase 6 (two tokens)", mp_now(), 2, 1, 0);

    tern_exit(0);
}

int main(int argc, char **argv)
{
    CHECK_OK(tern_type_register("Node", 0, NULL, NULL, &T_NODE));
    CHECK_OK(tern_ep_register(T_NODE, "setup", node_setup, &EP_SETUP));
    CHECK_OK(tern_ep_register(T_NODE, "cascade", node_cascade, &EP_CASCADE));
    CHECK_OK(tern_ep_register(T_NODE, "report", node_report, &EP_REPORT));
    CHECK_OK(tern_ep_register_flags(T_NODE, "kick", node_kick, TERN_EP_COROUTINE, &EP_KICK));
    CHECK_OK(tern_ep_register(T_NODE, "armLate", node_arm_late, &EP_ARM_LATE));
    CHECK_OK(tern_ep_register(T_NODE, "late", node_late, &EP_LATE));
    CHECK_OK(tern_ep_register(T_NODE, "multi", node_multi, &EP_MULTI));
    CHECK_OK(tern_ep_register(T_NODE, "token", node_token, &EP_TOKEN));
    CHECK_OK(tern_ep_register(T_NODE, "bad", node_bad, &EP_BAD));
    CHECK_OK(tern_ep_register(T_NODE, "bnotice", node_bnotice, &EP_BNOTICE));
    CHECK_OK(tern_type_register("Notice", sizeof(notice_t), NULL, NULL, &T_NOTICE));
    CHECK_OK(tern_ep_register(T_NOTICE, "arm", notice_arm, &EP_ARM));
    CHECK_OK(tern_ep_register(T_NOTICE, "notice", notice_notice, &EP_NOTICE));
    return tern_run(argc, argv, start);
}
