/*
 * Exit codes: `mp_exit CODE PE` ends the job with tern_exit(CODE) called on PE (from a
 * group member), while the other PEs keep busy sending each other messages; ternrun must
 * return CODE. `mp_exit CODE main` calls it straight from main. `mp_exit CODE flood`
 * makes PE 1 fill its ring to PE 0 with 20000 messages and then exit: the job must
 * still end at once. `mp_exit CODE late` has the last PE inside an entry method while main
 * exits and the exit goes round; when the method goes on it sends to every PE, which must
 * all still take its messages (over a network, a PE that had left would make those sends
 * fail): no PE may leave before every PE has stopped sending.
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

#define LATE_BUSY_S 1.0 /* long enough for every other PE to see the exit */
#define LATE_ROUNDS 50  /* messages to each PE afterwards: one may get through, not all */

static tern_type_t T_MEMBER;
static tern_ep_t EP_BOUNCE, EP_EXIT, EP_NOTHING, EP_HELLO, EP_LATE;

typedef struct {
    tern_proxy_t group;
    tern_future_t f; /* hello: one value per member; late: set once the method runs */
} late_t;

typedef struct {
    int code, pe, flood;
    tern_proxy_t group;
} args_t;

typedef struct {
    args_t a;
} member_t;

static void member_ctor(void *self, const tern_msg_t *m)
{
    memcpy(&((member_t *)self)->a, tern_msg_data(m), sizeof(args_t));
}

/* Keep traffic going between neighbours until the job ends. */
static void member_bounce(void *self, const tern_msg_t *m)
{
    member_t *s = self;
    const tern_proxy_t *g = tern_msg_data(m);
    int next = (tern_my_pe() + 1) % tern_num_pes();
    tern_proxy_t el;
    CHECK_OK(tern_proxy_elem(g, &next, &el));
    tern_iov_t iov = {g, sizeof *g};
    tern_send(&el, EP_BOUNCE, &iov, 1, NULL);
    (void)s;
}

static void member_exit(void *self, const tern_msg_t *m)
{
    member_t *s = self;
    memcpy(&s->a, tern_msg_data(m), sizeof s->a);
    if (tern_my_pe() != s->a.pe)
        return;
    if (s->a.flood) {
        tern_proxy_t el;
        int zero = 0;
        CHECK_OK(tern_proxy_elem(&s->a.group, &zero, &el));
        static char junk[1024];
        tern_iov_t iov = {junk, sizeof junk};
        for (int i = 0; i < 20000; i++)
            CHECK_OK(tern_send(&el, EP_NOTHING, &iov, 1, NULL));
    }
    tern_exit(s->a.code);
}

static void member_nothing(void *self, const tern_msg_t *m)
{
    (void)self;
    (void)m;
}

static void send_everyone(const tern_proxy_t *g, int rounds)
{
    static char junk[1024];
    tern_iov_t iov = {junk, sizeof junk};
    for (int r = 0; r < rounds; r++) {
        for (int pe = 0; pe < tern_num_pes(); pe++) {
            tern_proxy_t el;
            CHECK_OK(tern_proxy_elem(g, &pe, &el));
            CHECK_OK(tern_send(&el, EP_NOTHING, &iov, 1, NULL));
        }
    }
}

/* Every member sends to every PE first, so that the paths the late sends take are made. */
static void member_hello(void *self, const tern_msg_t *m)
{
    (void)self;
    const late_t *l = tern_msg_data(m);
    send_everyone(&l->group, 1);
    CHECK_OK(tern_future_set(&l->f, NULL, 0));
}

static void member_late(void *self, const tern_msg_t *m)
{
    (void)self;
    const late_t *l = tern_msg_data(m);
    CHECK_OK(tern_future_set(&l->f, NULL, 0));
    double t0 = mp_now();
    while (mp_now() - t0 < LATE_BUSY_S) {
    }
    send_everyone(&l->group, LATE_ROUNDS);
}

static void run_late(const args_t *a)
{
    late_t l;
    tern_iov_t aiov = {a, sizeof *a};
    CHECK_OK(tern_group_create(T_MEMBER, &aiov, 1, NULL, &l.group));
    CHECK_OK(tern_future_create(tern_num_pes(), &l.f));
    tern_iov_t iov = {&l, sizeof l};
    CHECK_OK(tern_send(&l.group, EP_HELLO, &iov, 1, NULL));
    CHECK_OK(tern_future_wait(&l.f));
    tern_future_free(&l.f);
    CHECK_OK(tern_future_create(1, &l.f));
    int last = tern_num_pes() - 1;
    tern_proxy_t el;
    CHECK_OK(tern_proxy_elem(&l.group, &last, &el));
    CHECK_OK(tern_send(&el, EP_LATE, &iov, 1, NULL));
    CHECK_OK(tern_future_wait(&l.f));
    tern_future_free(&l.f);
    tern_exit(a->code);
}

static void start(int argc, char **argv)
{
    CHECK(argc >= 3);
    args_t a;
    a.code = atoi(argv[1]);
    if (strcmp(argv[2], "main") == 0) {
        tern_exit(a.code);
        return;
    }
    if (strcmp(argv[2], "late") == 0) {
        memset(&a, 0, sizeof a);
        a.code = atoi(argv[1]);
        run_late(&a);
        return;
    }
    a.flood = strcmp(argv[2], "flood") == 0;
    a.pe = a.flood ? 1 % tern_num_pes() : atoi(argv[2]) % tern_num_pes();
    tern_proxy_t g;
    /* Members learn the group's proxy with the exit message; create it first. */
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_group_create(T_MEMBER, &iov, 1, NULL, &g));
    a.group = g;
    tern_iov_t giov = {&g, sizeof g};
    CHECK_OK(tern_send(&g, EP_BOUNCE, &giov, 1, NULL));
    tern_iov_t eiov = {&a, sizeof a};
    CHECK_OK(tern_send(&g, EP_EXIT, &eiov, 1, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("Member", sizeof(member_t), member_ctor, NULL, &T_MEMBER) ||
        tern_ep_register(T_MEMBER, "bounce", member_bounce, &EP_BOUNCE) ||
        tern_ep_register(T_MEMBER, "exit", member_exit, &EP_EXIT) ||
        tern_ep_register(T_MEMBER, "nothing", member_nothing, &EP_NOTHING) ||
        tern_ep_register(T_MEMBER, "hello", member_hello, &EP_HELLO) ||
        tern_ep_register(T_MEMBER, "late", member_late, &EP_LATE))
        return 1;
    return tern_run(argc, argv, start);
}
