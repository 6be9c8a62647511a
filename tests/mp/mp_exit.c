/*
 * Exit codes: `mp_exit CODE PE` ends the job with tern_exit(CODE) called on PE (from a
 * group member), while the other PEs keep busy sending each other messages; ternrun must
 * return CODE. `mp_exit CODE main` calls it straight from main. `mp_exit CODE flood`
 * makes PE 1 fill its ring to PE 0 with 20000 messages and then exit: the job must
 * still end at once.
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_MEMBER;
static tern_ep_t EP_BOUNCE, EP_EXIT, EP_NOTHING;

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

static void start(int argc, char **argv)
{
    CHECK(argc >= 3);
    args_t a;
    a.code = atoi(argv[1]);
    if (strcmp(argv[2], "main") == 0) {
        tern_exit(a.code);
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
        tern_ep_register(T_MEMBER, "nothing", member_nothing, &EP_NOTHING))
        return 1;
    return tern_run(argc, argv, start);
}
