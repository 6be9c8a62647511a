/*
 * Creation and delivery: single chares (on a given PE and on PEs the runtime picks),
 * a group, and arrays of 1 to 6 dimensions. Every member reports its constructor, a
 * broadcast and a point-to-point call to a checker chare, which checks that each member
 * of each collection reported each exactly once, on the PE where it must live.
 * Odd ranks register their types and entry methods in the reverse order: ids must agree
 * anyway.
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define NARRAYS 6
#define NCOLL (NARRAYS + 2) /* arrays, then the group, then the single chares */
#define GROUP_TAG NARRAYS
#define SINGLE_TAG (NARRAYS + 1)
#define MAX_MEMBERS 4096

static const int array_dims[NARRAYS][6] = {
    {13}, {3, 5}, {2, 3, 4}, {2, 2, 2, 3}, {1, 2, 3, 1, 2}, {2, 1, 2, 1, 2, 2},
};

static tern_type_t T_CHECKER, T_ELEM;
static tern_ep_t EP_REPORT, EP_PING, EP_POKE;

enum { WHAT_CTOR, WHAT_BCAST, WHAT_P2P, NWHAT };

typedef struct {
    int tag, what, pe;
    int64_t lin;
} report_t;

typedef struct {
    int expected_members[NCOLL];
    int64_t expected_reports;
    int64_t reports;
    unsigned char seen[NCOLL][NWHAT][MAX_MEMBERS];
} checker_t;

typedef struct {
    tern_proxy_t checker;
    int tag;
    int expect_pe; /* single chares: where it must be, -1: anywhere */
} elem_args_t;

typedef struct {
    elem_args_t a;
    int64_t lin;
} elem_t;

static int64_t total_of(const int *dims, int nd)
{
    int64_t t = 1;
    for (int i = 0; i < nd; i++)
        t *= dims[i];
    return t;
}

static int ndims_of(int a)
{
    int nd = 0;
    while (nd < 6 && array_dims[a][nd])
        nd++;
    return nd;
}

static void checker_ctor(void *self, const tern_msg_t *args)
{
    checker_t *c = self;
    memcpy(c->expected_members, tern_msg_data(args), sizeof c->expected_members);
    for (int t = 0; t < NCOLL; t++)
        c->expected_reports += (int64_t)c->expected_members[t] * NWHAT;
}

static void checker_report(void *self, const tern_msg_t *msg)
{
    checker_t *c = self;
    CHECK_EQ(tern_msg_size(msg), sizeof(report_t));
    const report_t *r = tern_msg_data(msg);
    CHECK(r->tag >= 0 && r->tag < NCOLL && r->what >= 0 && r->what < NWHAT);
    CHECK(r->lin >= 0 && r->lin < c->expected_members[r->tag]);
    CHECK_EQ(c->seen[r->tag][r->what][r->lin], 0);
    c->seen[r->tag][r->what][r->lin] = 1;
    if (++c->reports == c->expected_reports)
        tern_exit(0);
}

static void report(elem_t *e, int what)
{
    report_t r = {e->a.tag, what, tern_my_pe(), e->lin};
    tern_iov_t iov = {&r, sizeof r};
    CHECK_OK(tern_send(&e->a.checker, EP_REPORT, &iov, 1, NULL));
}

static void elem_ctor(void *self, const tern_msg_t *args)
{
    elem_t *e = self;
    CHECK_EQ(tern_msg_size(args), sizeof(elem_args_t));
    memcpy(&e->a, tern_msg_data(args), sizeof e->a);
    tern_proxy_t me = tern_self_proxy(self);
    tern_proxy_t coll = tern_self_collection(self);
    int nd = tern_self_ndims(self);
    const int32_t *idx = tern_self_index(self);
    int npes = tern_num_pes();
    switch (me.kind) {
    case TERN_PROXY_CHARE:
        CHECK(e->a.expect_pe < 0 || e->a.expect_pe == tern_my_pe());
        CHECK(tern_proxy_equal(&me, &coll));
        /* Single chares report under a slot chosen by the creator (in expect_pe's
         * place when it is "anywhere"): the tag's high bits carry it. */
        e->lin = e->a.tag >> 8;
        e->a.tag &= 0xff;
        break;
    case TERN_PROXY_GROUP_ELEM:
        CHECK_EQ(nd, 1);
        CHECK_EQ(idx[0], tern_my_pe());
        CHECK_EQ(coll.kind, TERN_PROXY_GROUP);
        e->lin = idx[0];
        break;
    case TERN_PROXY_ARRAY_ELEM: {
        CHECK_EQ(nd, ndims_of(e->a.tag));
        int64_t lin = 0;
        for (int i = 0; i < nd; i++) {
            CHECK(idx[i] >= 0 && idx[i] < array_dims[e->a.tag][i]);
            lin = lin * array_dims[e->a.tag][i] + idx[i];
        }
        int64_t total = total_of(array_dims[e->a.tag], nd);
        CHECK_EQ(tern_my_pe(), (int)(lin * npes / total)); /* default block mapping */
        CHECK_EQ(coll.kind, TERN_PROXY_ARRAY);
        e->lin = lin;
        break;
    }
    default:
        CHECK(0);
    }
    report(e, WHAT_CTOR);
}

static void elem_ping(void *self, const tern_msg_t *msg)
{
    CHECK_EQ(tern_msg_nsegs(msg), 2);
    size_t n0, n1;
    const int *v = tern_msg_seg(msg, 0, &n0);
    const char *s = tern_msg_seg(msg, 1, &n1);
    CHECK(n0 == 3 * sizeof(int) && v[0] == 1 && v[1] == 2 && v[2] == 3);
    CHECK(n1 == 6 && strcmp(s, "bcast") == 0);
    report(self, WHAT_BCAST);
}

static void elem_poke(void *self, const tern_msg_t *msg)
{
    elem_t *e = self;
    CHECK_EQ(tern_msg_size(msg), sizeof(int64_t));
    CHECK_EQ(*(const int64_t *)tern_msg_data(msg), e->lin);
    report(e, WHAT_P2P);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int npes = tern_num_pes();
    int members[NCOLL];
    for (int a = 0; a < NARRAYS; a++)
        members[a] = (int)total_of(array_dims[a], ndims_of(a));
    members[GROUP_TAG] = npes;
    members[SINGLE_TAG] = 2 * npes;
    tern_proxy_t checker;
    tern_iov_t cargs = {members, sizeof members};
    CHECK_OK(tern_chare_create(T_CHECKER, 0, &cargs, 1, &checker));

    int ping_v[3] = {1, 2, 3};
    tern_iov_t ping[2] = {{ping_v, sizeof ping_v}, {"bcast", 6}};

    for (int a = 0; a < NARRAYS; a++) {
        int nd = ndims_of(a);
        elem_args_t ea = {checker, a, -1};
        tern_iov_t iov = {&ea, sizeof ea};
        tern_proxy_t arr;
        CHECK_OK(tern_array_create(T_ELEM, nd, array_dims[a], &iov, 1, &arr));
        CHECK_EQ(arr.ndims, nd);
        CHECK_OK(tern_send(&arr, EP_PING, ping, 2, NULL));
        int64_t total = members[a];
        for (int64_t lin = 0; lin < total; lin++) {
            int idx[6];
            int64_t r = lin;
            for (int i = nd - 1; i >= 0; i--) {
                idx[i] = (int)(r % array_dims[a][i]);
                r /= array_dims[a][i];
            }
            tern_proxy_t el;
            CHECK_OK(tern_proxy_elem(&arr, idx, &el));
            tern_proxy_t back = tern_proxy_collection(&el);
            CHECK(tern_proxy_equal(&back, &arr));
            tern_iov_t li = {&lin, sizeof lin};
            CHECK_OK(tern_send(&el, EP_POKE, &li, 1, NULL));
        }
    }

    elem_args_t ga = {checker, GROUP_TAG, -1};
    tern_iov_t giov = {&ga, sizeof ga};
    tern_proxy_t group;
    CHECK_OK(tern_group_create(T_ELEM, &giov, 1, NULL, &group));
    CHECK_OK(tern_send(&group, EP_PING, ping, 2, NULL));
    for (int pe = 0; pe < npes; pe++) {
        tern_proxy_t el;
        CHECK_OK(tern_proxy_elem(&group, &pe, &el));
        int64_t lin = pe;
        tern_iov_t li = {&lin, sizeof lin};
        CHECK_OK(tern_send(&el, EP_POKE, &li, 1, NULL));
    }

    for (int i = 0; i < 2 * npes; i++) {
        int on = i < npes ? i : TERN_ANY_PE;
        elem_args_t sa = {checker, SINGLE_TAG | (i << 8), on};
        tern_iov_t siov = {&sa, sizeof sa};
        tern_proxy_t ch;
        CHECK_OK(tern_chare_create(T_ELEM, on, &siov, 1, &ch));
        CHECK_EQ(ch.kind, TERN_PROXY_CHARE);
        CHECK(ch.pe >= 0 && ch.pe < npes);
        if (on >= 0)
            CHECK_EQ(ch.pe, on);
        int64_t lin = i;
        tern_iov_t li = {&lin, sizeof lin};
        CHECK_OK(tern_send(&ch, EP_POKE, &li, 1, NULL));
        /* A single chare has no broadcast: send the "bcast" report's message directly. */
        CHECK_OK(tern_send(&ch, EP_PING, ping, 2, NULL));
    }
}

static void register_all(int reverse)
{
    if (!reverse) {
        CHECK_OK(tern_type_register("Checker", sizeof(checker_t), checker_ctor, NULL, &T_CHECKER));
        CHECK_OK(tern_ep_register(T_CHECKER, "report", checker_report, &EP_REPORT));
        CHECK_OK(tern_type_register("Elem", sizeof(elem_t), elem_ctor, NULL, &T_ELEM));
        CHECK_OK(tern_ep_register(T_ELEM, "ping", elem_ping, &EP_PING));
        CHECK_OK(tern_ep_register(T_ELEM, "poke", elem_poke, &EP_POKE));
    } else {
        CHECK_OK(tern_type_register("Elem", sizeof(elem_t), elem_ctor, NULL, &T_ELEM));
        CHECK_OK(tern_ep_register(T_ELEM, "poke", elem_poke, &EP_POKE));
        CHECK_OK(tern_ep_register(T_ELEM, "ping", elem_ping, &EP_PING));
        CHECK_OK(tern_type_register("Checker", sizeof(checker_t), checker_ctor, NULL, &T_CHECKER));
        CHECK_OK(tern_ep_register(T_CHECKER, "report", checker_report, &EP_REPORT));
    }
}

int main(int argc, char **argv)
{
    const char *rank = getenv("TERN_RANK");
    register_all(rank && atoi(rank) % 2 == 1);
    return tern_run(argc, argv, start);
}
