/*
 * All-to-all stress: every element of a 1-D array sends many messages of random sizes
 * (0 to 600 bytes, each byte checked) to random elements, while PE 0 broadcasts to the
 * whole array. Each receiver knows how many messages to expect once every sender has told
 * it how many it sent; it then reports its count and checksum, and the checker compares
 * them with what the senders say they sent.
 *
 *     mp_stress [total_messages]
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define NBCAST 200
#define MAX_BYTES 600

static tern_type_t T_CHECKER, T_NODE;
static tern_ep_t EP_SENT, EP_RECEIVED, EP_GO, EP_DATA, EP_COUNT, EP_BCAST;

typedef struct {
    tern_proxy_t checker;
    tern_proxy_t nodes;
    int nelems;
    int per_elem;
} setup_t;

typedef struct {
    int nelems;
    int sent_reports, recv_reports;
    uint64_t sent_msgs, sent_sum, recv_msgs, recv_sum;
} checker_t;

typedef struct {
    setup_t s;
    int me;
    uint64_t *sent_to;       /* messages I sent to each element */
    int counts_in;           /* count messages received */
    uint64_t expect;         /* messages announced to me so far */
    uint64_t got, sum;
    int bcasts;
    uint64_t bcast_sum;
    int reported;
} node_t;

typedef struct {
    int src;
    uint32_t seq;
    uint64_t value;
} data_hdr_t;

static void checker_ctor(void *self, const tern_msg_t *m)
{
    checker_t *c = self;
    c->nelems = *(const int *)tern_msg_data(m);
}

static void maybe_done(checker_t *c)
{
    if (c->sent_reports == c->nelems && c->recv_reports == c->nelems) {
        CHECK_EQ(c->sent_msgs, c->recv_msgs);
        CHECK_EQ(c->sent_sum, c->recv_sum);
        tern_exit(0);
    }
}

static void checker_sent(void *self, const tern_msg_t *m)
{
    checker_t *c = self;
    const uint64_t *v = tern_msg_data(m);
    c->sent_msgs += v[0];
    c->sent_sum += v[1];
    c->sent_reports++;
    maybe_done(c);
}

static void checker_received(void *self, const tern_msg_t *m)
{
    checker_t *c = self;
    const uint64_t *v = tern_msg_data(m);
    c->recv_msgs += v[0];
    c->recv_sum += v[1];
    CHECK_EQ(v[2], NBCAST);
    CHECK_EQ(v[3], (uint64_t)NBCAST * (NBCAST - 1) / 2);
    c->recv_reports++;
    maybe_done(c);
}

static void node_ctor(void *self, const tern_msg_t *m)
{
    node_t *n = self;
    memcpy(&n->s, tern_msg_data(m), sizeof n->s);
    n->me = tern_self_index(self)[0];
    n->sent_to = calloc((size_t)n->s.nelems, sizeof *n->sent_to);
    CHECK(n->sent_to);
}

static void node_dtor(void *self)
{
    free(((node_t *)self)->sent_to);
}

static void node_maybe_report(node_t *n)
{
    if (n->reported || n->counts_in < n->s.nelems || n->got < n->expect || n->bcasts < NBCAST)
        return;
    CHECK_EQ(n->got, n->expect);
    n->reported = 1;
    uint64_t v[4] = {n->got, n->sum, (uint64_t)n->bcasts, n->bcast_sum};
    tern_iov_t iov = {v, sizeof v};
    CHECK_OK(tern_send(&n->s.checker, EP_RECEIVED, &iov, 1, NULL));
}

static void node_go(void *self, const tern_msg_t *m)
{
    (void)m;
    node_t *n = self;
    uint64_t rng = 0x1234567ULL + (uint64_t)n->me * 7919;
    unsigned char buf[MAX_BYTES];
    uint64_t sum = 0;
    for (int i = 0; i < n->s.per_elem; i++) {
        int dst = (int)(mp_rand(&rng) % (uint64_t)n->s.nelems);
        size_t len = (size_t)(mp_rand(&rng) % (MAX_BYTES + 1));
        data_hdr_t h = {n->me, (uint32_t)i, mp_rand(&rng) >> 20};
        uint64_t tag = ((uint64_t)n->me << 32) | (uint32_t)i;
        for (size_t b = 0; b < len; b++)
            buf[b] = mp_pattern(tag, b);
        tern_iov_t iov[2] = {{&h, sizeof h}, {buf, len}};
        tern_proxy_t el;
        CHECK_OK(tern_proxy_elem(&n->s.nodes, &dst, &el));
        CHECK_OK(tern_send(&el, EP_DATA, iov, 2, NULL));
        n->sent_to[dst]++;
        sum += h.value;
    }
    for (int dst = 0; dst < n->s.nelems; dst++) {
        tern_proxy_t el;
        CHECK_OK(tern_proxy_elem(&n->s.nodes, &dst, &el));
        tern_iov_t iov = {&n->sent_to[dst], sizeof n->sent_to[dst]};
        CHECK_OK(tern_send(&el, EP_COUNT, &iov, 1, NULL));
    }
    uint64_t v[2] = {(uint64_t)n->s.per_elem, sum};
    tern_iov_t iov = {v, sizeof v};
    CHECK_OK(tern_send(&n->s.checker, EP_SENT, &iov, 1, NULL));
}

static void node_data(void *self, const tern_msg_t *m)
{
    node_t *n = self;
    CHECK_EQ(tern_msg_nsegs(m), 2);
    size_t hl, len;
    const data_hdr_t *h = tern_msg_seg(m, 0, &hl);
    const unsigned char *d = tern_msg_seg(m, 1, &len);
    CHECK_EQ(hl, sizeof *h);
    CHECK(len <= MAX_BYTES);
    uint64_t tag = ((uint64_t)h->src << 32) | h->seq;
    for (size_t b = 0; b < len; b++)
        if (d[b] != mp_pattern(tag, b))
            tern_abort("byte %zu of message %u from element %d is wrong", b, h->seq, h->src);
    n->got++;
    n->sum += h->value;
    node_maybe_report(n);
}

static void node_count(void *self, const tern_msg_t *m)
{
    node_t *n = self;
    n->expect += *(const uint64_t *)tern_msg_data(m);
    n->counts_in++;
    node_maybe_report(n);
}

static void node_bcast(void *self, const tern_msg_t *m)
{
    node_t *n = self;
    n->bcast_sum += *(const uint32_t *)tern_msg_data(m);
    n->bcasts++;
    node_maybe_report(n);
}

static void start(int argc, char **argv)
{
    int total = argc > 1 ? atoi(argv[1]) : 40000;
    int npes = tern_num_pes();
    setup_t s;
    s.nelems = 4 * npes;
    s.per_elem = total / s.nelems;
    tern_iov_t civ = {&s.nelems, sizeof s.nelems};
    CHECK_OK(tern_chare_create(T_CHECKER, 0, &civ, 1, &s.checker));
    /* The array's proxy is known only once it is created: the constructor gets the
     * checker, and the "go" broadcast brings the whole setup with the array's proxy. */
    memset(&s.nodes, 0, sizeof s.nodes);
    tern_iov_t siov = {&s, sizeof s};
    int dims[1] = {s.nelems};
    tern_proxy_t nodes;
    CHECK_OK(tern_array_create(T_NODE, 1, dims, &siov, 1, &nodes));
    s.nodes = nodes;
    tern_iov_t giov = {&s, sizeof s};
    CHECK_OK(tern_send(&nodes, EP_GO, &giov, 1, NULL));
    for (uint32_t i = 0; i < NBCAST; i++) {
        tern_iov_t b = {&i, sizeof i};
        CHECK_OK(tern_send(&nodes, EP_BCAST, &b, 1, NULL));
    }
}

/* "go" carries the final setup (with the array's own proxy). */
static void node_go_setup(void *self, const tern_msg_t *m)
{
    node_t *n = self;
    memcpy(&n->s, tern_msg_data(m), sizeof n->s);
    node_go(self, m);
}

int main(int argc, char **argv)
{
    if (tern_type_register("Checker", sizeof(checker_t), checker_ctor, NULL, &T_CHECKER) ||
        tern_ep_register(T_CHECKER, "sent", checker_sent, &EP_SENT) ||
        tern_ep_register(T_CHECKER, "received", checker_received, &EP_RECEIVED) ||
        tern_type_register("Node", sizeof(node_t), node_ctor, node_dtor, &T_NODE) ||
        tern_ep_register(T_NODE, "go", node_go_setup, &EP_GO) ||
        tern_ep_register(T_NODE, "data", node_data, &EP_DATA) ||
        tern_ep_register(T_NODE, "count", node_count, &EP_COUNT) ||
        tern_ep_register(T_NODE, "bcast", node_bcast, &EP_BCAST))
        return 1;
    return tern_run(argc, argv, start);
}
