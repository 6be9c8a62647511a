/*
 * Messages sent before their target exists wait for it. Broadcast trees are made chains
 * (TERN_BCAST_FANOUT=1), and PE 1 is kept busy while the array's creation passes through
 * it; meanwhile PE 0 sends straight to the elements on PEs 2 and up, whose messages thus
 * arrive before the creation does. Every element checks that it was constructed before
 * any message ran, and that it got all its messages; elements count the messages that
 * were sent before their constructor ran, and with 3 PEs or more some must have been.
 *
 *     mp_early [payload_bytes]
 * With large payloads and a small TERN_SHM_HEAP_SIZE, the held messages must not pin the
 * sender's shared heap (which would keep the creation itself from being sent).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp_check.h"

#define PER_ELEM 5
#define BUSY_S 0.3

static tern_type_t T_BUSY, T_ELEM, T_CHECKER;
static tern_ep_t EP_SLEEP, EP_HIT, EP_REPORT;

typedef struct {
    int constructed;
    double ctor_time;
    int hits;
    tern_proxy_t checker;
} elem_t;

typedef struct {
    int expected, reports, early;
} checker_t;

typedef struct {
    double sent_at;
    int seq;
} hit_t;

static void busy_sleep(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
    double until = mp_now() + BUSY_S;
    while (mp_now() < until)
        usleep(10000);
}

static void elem_ctor(void *self, const tern_msg_t *m)
{
    elem_t *e = self;
    e->constructed = 1;
    e->ctor_time = mp_now();
    memcpy(&e->checker, tern_msg_data(m), sizeof e->checker);
}

static void elem_hit(void *self, const tern_msg_t *m)
{
    elem_t *e = self;
    CHECK(e->constructed);
    const hit_t *h = tern_msg_data(m);
    size_t n;
    const unsigned char *pay = tern_msg_seg(m, 1, &n);
    for (size_t i = 0; i < n; i++)
        if (pay[i] != mp_pattern((uint64_t)h->seq, i))
            tern_abort("byte %zu of hit %d is wrong", i, h->seq);
    CHECK_EQ(h->seq, e->hits); /* in order, from one sender */
    int early = h->sent_at < e->ctor_time;
    if (++e->hits == PER_ELEM) {
        int v[2] = {1, early};
        tern_iov_t iov = {v, sizeof v};
        CHECK_OK(tern_send(&e->checker, EP_REPORT, &iov, 1, NULL));
    }
}

static void checker_ctor(void *self, const tern_msg_t *m)
{
    ((checker_t *)self)->expected = *(const int *)tern_msg_data(m);
}

static void checker_report(void *self, const tern_msg_t *m)
{
    checker_t *c = self;
    const int *v = tern_msg_data(m);
    c->reports += v[0];
    c->early += v[1];
    if (c->reports == c->expected) {
        if (tern_num_pes() >= 3)
            CHECK(c->early > 0);
        tern_exit(0);
    }
}

static void start(int argc, char **argv)
{
    size_t bytes = argc > 1 ? strtoull(argv[1], NULL, 0) : 0;
    unsigned char *payload = malloc(bytes + 1);
    CHECK(payload);
    int npes = tern_num_pes();
    int nelems = 2 * npes;
    tern_proxy_t checker, busy, array;
    tern_iov_t civ = {&nelems, sizeof nelems};
    CHECK_OK(tern_chare_create(T_CHECKER, 0, &civ, 1, &checker));
    if (npes > 1) {
        CHECK_OK(tern_chare_create(T_BUSY, 1, NULL, 0, &busy));
        CHECK_OK(tern_send(&busy, EP_SLEEP, NULL, 0, NULL));
    }
    tern_iov_t aiv = {&checker, sizeof checker};
    CHECK_OK(tern_array_create(T_ELEM, 1, &nelems, &aiv, 1, &array));
    /* Elements far down the chain first, so that they are surely not there yet. */
    for (int i = nelems - 1; i >= 0; i--) {
        tern_proxy_t el;
        CHECK_OK(tern_proxy_elem(&array, &i, &el));
        for (int k = 0; k < PER_ELEM; k++) {
            hit_t h = {mp_now(), k};
            for (size_t b = 0; b < bytes; b++)
                payload[b] = mp_pattern((uint64_t)k, b);
            tern_iov_t iov[2] = {{&h, sizeof h}, {payload, bytes}};
            CHECK_OK(tern_send(&el, EP_HIT, iov, 2, NULL));
        }
    }
    free(payload);
}

int main(int argc, char **argv)
{
    setenv("TERN_BCAST_FANOUT", "1", 1);
    if (tern_type_register("Busy", 0, NULL, NULL, &T_BUSY) ||
        tern_ep_register(T_BUSY, "sleep", busy_sleep, &EP_SLEEP) ||
        tern_type_register("Elem", sizeof(elem_t), elem_ctor, NULL, &T_ELEM) ||
        tern_ep_register(T_ELEM, "hit", elem_hit, &EP_HIT) ||
        tern_type_register("Checker", sizeof(checker_t), checker_ctor, NULL, &T_CHECKER) ||
        tern_ep_register(T_CHECKER, "report", checker_report, &EP_REPORT))
        return 1;
    return tern_run(argc, argv, start);
}
