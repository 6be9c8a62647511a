/*
 * Exit codes: `mp_exit CODE PE` ends the job with tern_exit(CODE) called on PE (from a
 * group member), while the other PEs keep busy sending each other messages; ternrun must
 * return CODE. `mp_exit CODE main` calls it straight from main.
 */
#include <stdlib.h>
#include <string.h>

#include "mp_check.h"

static tern_type_t T_MEMBER;
static tern_ep_t EP_BOUNCE, EP_EXIT;

typedef struct {
    int code, pe;
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
    (void)m;
    member_t *s = self;
    if (tern_my_pe() == s->a.pe)
        tern_exit(s->a.code);
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
    a.pe = atoi(argv[2]) % tern_num_pes();
    tern_iov_t iov = {&a, sizeof a};
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_MEMBER, &iov, 1, NULL, &g));
    tern_iov_t giov = {&g, sizeof g};
    CHECK_OK(tern_send(&g, EP_BOUNCE, &giov, 1, NULL));
    CHECK_OK(tern_send(&g, EP_EXIT, NULL, 0, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("Member", sizeof(member_t), member_ctor, NULL, &T_MEMBER) ||
        tern_ep_register(T_MEMBER, "bounce", member_bounce, &EP_BOUNCE) ||
        tern_ep_register(T_MEMBER, "exit", member_exit, &EP_EXIT))
        return 1;
    return tern_run(argc, argv, start);
}
