/*
 * Channels between chares.
 *
 *   mp_chan MODE
 *
 *   ring     a ring of elements, each with a channel to each neighbour opened in its
 *            constructor (as Charm4py's example): ITERS rounds of send both, receive both
 *            as they come (tern_channel_wait_any); every value in order, from the right
 *            sender
 *   migrate  the same, one round per coroutine invocation, each element moving to a random
 *            PE after every round: what is sent to a moving end follows it, in order
 *   stress   100,000 messages from the first element to the last over one channel, and
 *            as many back over a second channel between the same two: each in order
 *   iwait    element 0 has a channel from each other element; each sends M messages; 0
 *            takes them as they come with tern_channel_wait_any; per channel in order
 *   group    a channel between each group member and the array element of its PE's index
 *   errors   receive outside a coroutine, a channel this chare did not open, a whole-array
 *            remote, a buffer too small (the message stays): errors, no abort
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define ITERS 50
#define STRESS 100000
#define IWAIT_M 200

static tern_type_t T_NODE, T_GRP;
static tern_ep_t EP_RING, EP_STEP, EP_STRESS, EP_IWAIT, EP_GRP_GO, EP_NODE_GRP, EP_ERRS;

typedef struct {
    int64_t lin;
    int32_t n, iter;
    tern_channel_t left, right; /* to lin - 1 and lin + 1 */
    uint64_t rng;
    int64_t moves;
    tern_future_t done;
} node_t;

static tern_proxy_t neighbour(const void *self, int64_t lin)
{
    tern_proxy_t me = tern_self_proxy(self), p;
    int32_t i = (int32_t)lin;
    CHECK_OK(tern_proxy_elem(&me, &i, &p));
    return p;
}

static void node_ctor(void *self, const tern_msg_t *args)
{
    node_t *d = self;
    const int64_t *a = tern_msg_data(args);
    d->lin = tern_self_index(self)[0];
    d->n = (int32_t)a[0];
    memcpy(&d->done, a + 1, sizeof d->done);
    d->rng = (uint64_t)d->lin * 7717 + 3;
    tern_proxy_t l = neighbour(self, (d->lin + d->n - 1) % d->n);
    tern_proxy_t r = neighbour(self, (d->lin + 1) % d->n);
    CHECK_OK(tern_channel_open(self, &l, &d->left));
    CHECK_OK(tern_channel_open(self, &r, &d->right));
}

static void node_pup(void *self, tern_pup_t *p)
{
    (void)self;
    (void)p; /* plain state: channels move with the element by themselves */
}

/* One round: send (iter, lin) both ways; take both answers as they come. */
static void round_trip(node_t *d)
{
    int64_t v[2] = {d->iter, d->lin};
    CHECK_OK(tern_channel_send(d, &d->left, v, sizeof v));
    CHECK_OK(tern_channel_send(d, &d->right, v, sizeof v));
    const tern_channel_t chs[2] = {d->left, d->right};
    int need[2] = {1, 1};
    while (need[0] || need[1]) {
        /* Wait only on those still owed this round (a neighbour may be a round ahead). */
        tern_channel_t sub[2];
        int map[2], m = 0;
        for (int i = 0; i < 2; i++)
            if (need[i]) {
                sub[m] = chs[i];
                map[m++] = i;
            }
        int j = tern_channel_wait_any(d, sub, m);
        CHECK(j >= 0 && j < m);
        int i = map[j];
        int64_t w[2];
        size_t len;
        CHECK_OK(tern_channel_recv(d, &chs[i], w, sizeof w, &len));
        CHECK_EQ(len, sizeof w);
        CHECK_EQ(w[0], d->iter); /* in order */
        CHECK_EQ(w[1], i == 0 ? (d->lin + d->n - 1) % d->n : (d->lin + 1) % d->n);
        need[i] = 0;
    }
    d->iter++;
}

static void node_ring(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    while (d->iter < ITERS)
        round_trip(d);
    CHECK_OK(tern_future_set(&d->done, &d->lin, sizeof d->lin));
}

static void node_step(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    round_trip(d);
    if (d->iter == ITERS) {
        int64_t r[2] = {d->lin, d->moves};
        CHECK_OK(tern_future_set(&d->done, r, sizeof r));
        return;
    }
    int pe = (int)(mp_rand(&d->rng) % (uint64_t)tern_num_pes());
    d->moves += pe != tern_my_pe();
    CHECK_OK(tern_migrate(d, pe)); /* when this coroutine ends */
    tern_proxy_t me = tern_self_proxy(self);
    CHECK_OK(tern_send_buf(&me, EP_STEP, NULL, 0));
}

/* stress: element 0 and the last, two channels between them. */
static void node_stress(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    int64_t last = d->n - 1;
    if (d->lin != 0 && d->lin != last)
        return;
    tern_proxy_t other = neighbour(self, d->lin == 0 ? last : 0);
    tern_channel_t a, b;
    CHECK_OK(tern_channel_open(self, &other, &a));
    CHECK_OK(tern_channel_open(self, &other, &b));
    tern_channel_t *out = d->lin == 0 ? &a : &b, *in = d->lin == 0 ? &b : &a;
    for (uint64_t i = 0; i < STRESS; i++) {
        uint64_t v = i * 2 + (uint64_t)(d->lin != 0);
        CHECK_OK(tern_channel_send(self, out, &v, sizeof v));
        if (i % 1000 == 999)
            CHECK_OK(tern_yield()); /* let the other side's messages in */
    }
    for (uint64_t i = 0; i < STRESS; i++) {
        uint64_t v;
        CHECK_OK(tern_channel_recv(self, in, &v, sizeof v, NULL));
        if (v != i * 2 + (uint64_t)(d->lin == 0))
            tern_abort("stress: message %llu on the channel was %llu", (unsigned long long)i,
                       (unsigned long long)v);
    }
    CHECK_OK(tern_future_set(&d->done, &d->lin, sizeof d->lin));
}

/* iwait: every element but 0 sends IWAIT_M numbered messages to 0 on a fresh channel. */
static void node_iwait(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    if (d->lin != 0) {
        tern_proxy_t zero = neighbour(self, 0);
        tern_channel_t c;
        CHECK_OK(tern_channel_open(self, &zero, &c));
        for (int64_t i = 0; i < IWAIT_M; i++) {
            int64_t v[2] = {d->lin, i};
            CHECK_OK(tern_channel_send(self, &c, v, sizeof v));
        }
        return;
    }
    int n = d->n - 1;
    tern_channel_t *chs = calloc((size_t)n, sizeof *chs);
    int64_t *next = calloc((size_t)n, sizeof *next);
    CHECK(chs && next);
    for (int i = 0; i < n; i++) {
        tern_proxy_t p = neighbour(self, i + 1);
        CHECK_OK(tern_channel_open(self, &p, &chs[i]));
    }
    for (int64_t total = 0; total < (int64_t)n * IWAIT_M; total++) {
        int i = tern_channel_wait_any(self, chs, n);
        CHECK(i >= 0 && i < n);
        int64_t v[2];
        CHECK_OK(tern_channel_recv(self, &chs[i], v, sizeof v, NULL));
        CHECK_EQ(v[0], i + 1);
        CHECK_EQ(v[1], next[i]); /* in order per channel */
        next[i]++;
    }
    free(chs);
    free(next);
    CHECK_OK(tern_future_set(&d->done, &d->lin, sizeof d->lin));
}

/* group: member p <-> array element p (p < n). */
typedef struct {
    tern_future_t done;
    tern_proxy_t arr;
} grp_t;

static void grp_ctor(void *self, const tern_msg_t *args)
{
    memcpy(self, tern_msg_data(args), sizeof(grp_t));
}

static void grp_go(void *self, const tern_msg_t *msg)
{
    (void)msg;
    grp_t *g = self;
    int32_t p = tern_my_pe();
    tern_proxy_t e;
    CHECK_OK(tern_proxy_elem(&g->arr, &p, &e));
    tern_channel_t c;
    CHECK_OK(tern_channel_open(self, &e, &c));
    int64_t v = 1000 + p;
    CHECK_OK(tern_channel_send(self, &c, &v, sizeof v));
    CHECK_OK(tern_channel_recv(self, &c, &v, sizeof v, NULL));
    CHECK_EQ(v, 2000 + p);
    CHECK_OK(tern_future_set(&g->done, &v, sizeof v));
}

static void node_grp(void *self, const tern_msg_t *msg)
{
    node_t *d = self;
    tern_proxy_t grp;
    memcpy(&grp, tern_msg_data(msg), sizeof grp);
    int32_t p = (int32_t)d->lin;
    tern_proxy_t m;
    CHECK_OK(tern_proxy_elem(&grp, &p, &m));
    tern_channel_t c;
    CHECK_OK(tern_channel_open(self, &m, &c));
    int64_t v;
    CHECK_OK(tern_channel_recv(self, &c, &v, sizeof v, NULL));
    CHECK_EQ(v, 1000 + p);
    v = 2000 + p;
    CHECK_OK(tern_channel_send(self, &c, &v, sizeof v));
}

/* errors, on element 0 (a plain method, then the rest in a coroutine). */
static void node_errs(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    int64_t v[2];
    CHECK_EQ(tern_channel_recv(self, &d->right, v, sizeof v, NULL), TERN_ERR_STATE);
    tern_channel_t bogus = d->right;
    bogus.k = 7;
    CHECK_EQ(tern_channel_send(self, &bogus, v, 8), TERN_ERR_INVALID);
    tern_proxy_t whole = tern_self_collection(self);
    tern_channel_t c;
    CHECK_EQ(tern_channel_open(self, &whole, &c), TERN_ERR_INVALID);
    tern_return(NULL, 0);
}

static void node_small(void *self, const tern_msg_t *msg)
{
    (void)msg;
    node_t *d = self;
    if (d->lin == 1) { /* send 16 bytes to element 0 on its left channel */
        int64_t v[2] = {5, 6};
        CHECK_OK(tern_channel_send(self, &d->left, v, sizeof v));
        return;
    }
    char tiny[4];
    size_t len = 0;
    CHECK_EQ(tern_channel_recv(self, &d->right, tiny, sizeof tiny, &len), TERN_ERR_RANGE);
    CHECK_EQ(len, 16);
    int64_t v[2];
    CHECK_OK(tern_channel_recv(self, &d->right, v, sizeof v, &len)); /* it stayed */
    CHECK_EQ(v[1], 6);
    CHECK_OK(tern_future_set(&d->done, &d->lin, sizeof d->lin));
}
static tern_ep_t EP_SMALL;

static tern_proxy_t make_nodes(int32_t n, tern_future_t *done, int nvalues)
{
    CHECK_OK(tern_future_create(nvalues, done));
    int64_t a[1 + sizeof *done / sizeof(int64_t) + 1];
    a[0] = n;
    memcpy(a + 1, done, sizeof *done);
    tern_iov_t iov = {a, sizeof a};
    tern_proxy_t arr;
    CHECK_OK(tern_array_create(T_NODE, 1, TERN_IDX(n), &iov, 1, &arr));
    return arr;
}

static void start(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "ring";
    int np = tern_num_pes();
    int32_t n = np * 4 < 8 ? 8 : np * 4;
    tern_future_t done;
    if (strcmp(mode, "ring") == 0 || strcmp(mode, "migrate") == 0) {
        tern_proxy_t arr = make_nodes(n, &done, n);
        CHECK_OK(tern_send(&arr, strcmp(mode, "ring") == 0 ? EP_RING : EP_STEP, NULL, 0, NULL));
        CHECK_OK(tern_future_wait(&done));
        int64_t moves = 0;
        for (int i = 0; i < n; i++) {
            size_t len;
            const int64_t *v = tern_future_value(&done, i, &len);
            CHECK(v != NULL);
            if (len == 2 * sizeof(int64_t))
                moves += v[1];
        }
        printf("mp_chan %s: %d elements, %d rounds, %lld moves\n", mode, n, ITERS,
               (long long)moves);
    } else if (strcmp(mode, "stress") == 0) {
        tern_proxy_t arr = make_nodes(n, &done, 2);
        CHECK_OK(tern_send(&arr, EP_STRESS, NULL, 0, NULL));
        CHECK_OK(tern_future_wait(&done));
    } else if (strcmp(mode, "iwait") == 0) {
        tern_proxy_t arr = make_nodes(n, &done, 1);
        CHECK_OK(tern_send(&arr, EP_IWAIT, NULL, 0, NULL));
        CHECK_OK(tern_future_wait(&done));
    } else if (strcmp(mode, "group") == 0) {
        tern_future_t nodes;
        tern_proxy_t arr = make_nodes(n, &nodes, 1);
        grp_t g;
        CHECK_OK(tern_future_create(np, &g.done));
        g.arr = arr;
        tern_iov_t iov = {&g, sizeof g};
        tern_proxy_t grp;
        CHECK_OK(tern_group_create(T_GRP, &iov, 1, NULL, &grp));
        for (int32_t p = 0; p < np; p++) {
            tern_proxy_t e;
            CHECK_OK(tern_proxy_elem(&arr, &p, &e));
            CHECK_OK(tern_send_buf(&e, EP_NODE_GRP, &grp, sizeof grp));
        }
        CHECK_OK(tern_send(&grp, EP_GRP_GO, NULL, 0, NULL));
        CHECK_OK(tern_future_wait(&g.done));
        done = nodes;
    } else if (strcmp(mode, "errors") == 0) {
        tern_proxy_t arr = make_nodes(n, &done, 1);
        tern_proxy_t e0, e1;
        int32_t i0 = 0, i1 = 1;
        CHECK_OK(tern_proxy_elem(&arr, &i0, &e0));
        CHECK_OK(tern_proxy_elem(&arr, &i1, &e1));
        tern_future_t f;
        CHECK_OK(tern_call(&e0, EP_ERRS, NULL, 0, TERN_CALL_DONE, NULL, &f));
        CHECK_OK(tern_future_get(&f, NULL, 0, NULL));
        CHECK_OK(tern_send(&e1, EP_SMALL, NULL, 0, NULL));
        CHECK_OK(tern_send(&e0, EP_SMALL, NULL, 0, NULL));
        CHECK_OK(tern_future_wait(&done));
        tern_channel_t c;
        CHECK_EQ(tern_channel_open(NULL, &arr, &c), TERN_ERR_INVALID); /* not a chare */
    } else {
        tern_abort("unknown mode %s", mode);
    }
    tern_future_free(&done);
    printf("mp_chan %s: ok\n", mode);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t node_eps[] = {
        {"ring", node_ring, TERN_EP_COROUTINE, &EP_RING},
        {"step", node_step, TERN_EP_COROUTINE, &EP_STEP},
        {"stress", node_stress, TERN_EP_COROUTINE, &EP_STRESS},
        {"iwait", node_iwait, TERN_EP_COROUTINE, &EP_IWAIT},
        {"grp", node_grp, TERN_EP_COROUTINE, &EP_NODE_GRP},
        {"errs", node_errs, 0, &EP_ERRS},
        {"small", node_small, TERN_EP_COROUTINE, &EP_SMALL},
        {0},
    };
    const tern_ep_def_t grp_eps[] = {{"go", grp_go, TERN_EP_COROUTINE, &EP_GRP_GO}, {0}};
    CHECK_OK(tern_type_define("Node", sizeof(node_t), node_ctor, NULL, node_eps, &T_NODE));
    CHECK_OK(tern_type_migratable(T_NODE, node_pup, NULL));
    CHECK_OK(tern_type_define("Grp", sizeof(grp_t), grp_ctor, NULL, grp_eps, &T_GRP));
    return tern_run(argc, argv, start);
}
