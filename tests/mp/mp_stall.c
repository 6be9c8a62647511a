/*
 * Jobs that stall, and jobs that only look idle. `mp_stall MODE`:
 *   future     the main function waits on a future nobody sets
 *   noexit     the main function returns and nobody ever calls tern_exit
 *   call       main calls a coroutine method on the last PE, which waits on a future of
 *              its own that nobody sets (two PEs wait, on different things)
 *   allreduce  every member but the last calls tern_allreduce
 *   held       a message to a collection that never exists (a forged proxy), then main
 *              waits on a future nobody sets
 *   busy       the last PE computes for 3 s in an entry method, then the job exits: it
 *              must not be called stalled (run with a 1 s TERN_STALL_TIMEOUT)
 *   sleep      main sleeps 3 s (a timer is pending), then exits: not stalled either
 * The test script sets TERN_STALL_TIMEOUT and TERN_STALL_ACTION and checks the report.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mp_check.h"

static tern_type_t T_W;
static tern_ep_t EP_WAIT, EP_SPIN, EP_ALLRED;

typedef struct {
    int dummy;
} w_t;

static void w_wait(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    tern_future_t f;
    CHECK_OK(tern_future_create(2, &f));
    CHECK_OK(tern_future_wait(&f));
}

static void w_spin(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    double t0 = mp_now();
    while (mp_now() - t0 < 3.0) {
    }
}

static void w_allred(void *self, const tern_msg_t *m)
{
    (void)m;
    const int32_t *idx = tern_self_index(self);
    int last = tern_num_pes() - 1;
    if (idx[0] == last && last > 0)
        return; /* the member that never contributes */
    int32_t one = 1, sum = 0;
    CHECK_OK(tern_allreduce(self, &one, sizeof one, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32),
                            &sum, sizeof sum, NULL));
    tern_exit(0); /* only when alone */
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "future";
    int last = tern_num_pes() - 1;
    tern_proxy_t g, el;
    CHECK_OK(tern_group_create(T_W, NULL, 0, NULL, &g));
    CHECK_OK(tern_proxy_elem(&g, &last, &el));
    tern_future_t f;
    if (!strcmp(mode, "future")) {
        CHECK_OK(tern_future_create(1, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    } else if (!strcmp(mode, "noexit")) {
        return;
    } else if (!strcmp(mode, "call")) {
        CHECK_OK(tern_call(&el, EP_WAIT, NULL, 0, TERN_CALL_DONE, NULL, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    } else if (!strcmp(mode, "allreduce")) {
        CHECK_OK(tern_send(&g, EP_ALLRED, NULL, 0, NULL));
        return;
    } else if (!strcmp(mode, "held")) {
        tern_proxy_t forged = el;
        forged.cid += 1000;
        CHECK_OK(tern_send(&forged, EP_SPIN, NULL, 0, NULL));
        CHECK_OK(tern_future_create(1, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
    } else if (!strcmp(mode, "busy")) {
        CHECK_OK(tern_call(&el, EP_SPIN, NULL, 0, TERN_CALL_DONE, NULL, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
        tern_exit(0);
    } else if (!strcmp(mode, "sleep")) {
        CHECK_OK(tern_sleep(3.0));
        tern_exit(0);
    } else {
        tern_abort("unknown mode %s", mode);
    }
}

int main(int argc, char **argv)
{
    if (tern_type_register("W", sizeof(w_t), NULL, NULL, &T_W) ||
        tern_ep_register_flags(T_W, "wait", w_wait, TERN_EP_COROUTINE, &EP_WAIT) ||
        tern_ep_register(T_W, "spin", w_spin, &EP_SPIN) ||
        tern_ep_register_flags(T_W, "allred", w_allred, TERN_EP_COROUTINE, &EP_ALLRED))
        return 1;
    return tern_run(argc, argv, start);
}
