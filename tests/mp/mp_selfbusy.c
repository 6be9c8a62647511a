/*
 * A PE kept busy by its own messages still takes in others': `mp_selfbusy N` puts N
 * chares on the last PE that step by sending to themselves (N at or above TERN_RECV_QUEUE
 * keeps that many of its own messages queued) until PE 0's "stop" reaches them; then the
 * last PE answers a call and the job exits. Taking in from the transports must depend on
 * what was taken in and not yet run, not on the queue's length, or the stop never comes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mp_check.h"

static tern_type_t T_SPIN;
static tern_ep_t EP_STEP, EP_STOP, EP_PING;
static int stopped;
static long steps;

static void step(void *self, const tern_msg_t *m)
{
    (void)m;
    steps++;
    if (!stopped)
        CHECK_OK(tern_self_send(self, tern_self_index(self), EP_STEP, NULL, 0));
}

static void stop(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    stopped = 1;
}

static void ping(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    tern_return(&steps, sizeof steps);
}

static void start(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4096;
    int last = tern_num_pes() - 1;
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_SPIN, NULL, 0, NULL, &g));
    for (int i = 0; i < n; i++)
        CHECK_OK(tern_send_elem(&g, TERN_IDX(last), EP_STEP, NULL, 0));
    CHECK_OK(tern_sleep(0.2));
    CHECK_OK(tern_send_elem(&g, TERN_IDX(last), EP_STOP, NULL, 0));
    tern_future_t f;
    long got = 0;
    CHECK_OK(tern_call_elem(&g, TERN_IDX(last), EP_PING, NULL, 0, TERN_CALL_RET, &f));
    CHECK_OK(tern_future_get(&f, &got, sizeof got, NULL));
    CHECK(got >= n);
    printf("selfbusy: %d chares stopped after %ld steps\n", n, got);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    static const tern_ep_def_t eps[] = {{"step", step, 0, &EP_STEP}, {"stop", stop, 0, &EP_STOP},
                                        {"ping", ping, 0, &EP_PING}, {0}};
    if (tern_type_define("Spin", 0, NULL, NULL, eps, &T_SPIN))
        return 1;
    return tern_run(argc, argv, start);
}
