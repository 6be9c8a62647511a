/*
 * Statistics add up: NPINGS messages from the main function to one element of an array
 * (on the last PE) are NPINGS calls of its entry method there, with their bytes; a
 * broadcast and a reduction are counted where they start and finish. Run with
 * TERN_STATS_FILE, the JSON files are checked by tests/stats_check.py.
 */
#include <stdio.h>
#include <string.h>

#include "mp_check.h"

#define NPINGS 1000

static tern_type_t T_EL;
static tern_ep_t EP_PING, EP_ASK, EP_RED;

typedef struct {
    int64_t got;
} el_t;

static void el_ping(void *self, const tern_msg_t *msg)
{
    CHECK_EQ(tern_msg_size(msg), 24);
    ((el_t *)self)->got++;
}

/* ask: this PE's count of ping calls, and the time in them. */
static void el_ask(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
    uint64_t calls = 0;
    double s = 0;
    CHECK_OK(tern_stats_ep(EP_PING, &calls, &s));
    CHECK(s >= 0);
    tern_return(&calls, sizeof calls);
}

static void el_red(void *self, const tern_msg_t *msg)
{
    tern_future_t f;
    memcpy(&f, tern_msg_data(msg), sizeof f);
    int64_t one = 1;
    tern_callback_t cb = tern_cb_future(&f);
    CHECK_OK(tern_contribute(self, &one, sizeof one, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT64),
                             &cb));
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int np = tern_num_pes();
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_EL, 1, TERN_IDX(np), NULL, 0, &arr));
    int32_t last = np - 1;
    char payload[24] = "twenty-four bytes long!";
    for (int i = 0; i < NPINGS; i++)
        CHECK_OK(tern_send_elem(&arr, &last, EP_PING, payload, sizeof payload));
    uint64_t calls = 0;
    tern_future_t f;
    CHECK_OK(tern_call_elem(&arr, &last, EP_ASK, NULL, 0, TERN_CALL_RET, &f));
    CHECK_OK(tern_future_get(&f, &calls, sizeof calls, NULL));
    CHECK_EQ(calls, NPINGS); /* messages are in order from one sender to one element */
    CHECK_OK(tern_future_create(1, &f));
    CHECK_OK(tern_send_buf(&arr, EP_RED, &f, sizeof f));
    int64_t sum = 0;
    CHECK_OK(tern_future_get(&f, &sum, sizeof sum, NULL));
    CHECK_EQ(sum, np);
    tern_stats_print();
    printf("mp_stats: ok\n");
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {{"ping", el_ping, 0, &EP_PING},
                                 {"ask", el_ask, 0, &EP_ASK},
                                 {"red", el_red, 0, &EP_RED},
                                 {0}};
    CHECK_OK(tern_type_define("El", sizeof(el_t), NULL, NULL, eps, &T_EL));
    return tern_run(argc, argv, start);
}
