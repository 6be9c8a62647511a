/*
 * A PE that never takes the exit: `mp_stuck HOW K E CODE` makes PE K, in an entry method,
 * tell PE E that it is stuck and then spin forever (HOW = spin), sleep for an hour
 * (sleep), or stop itself with SIGSTOP (stop); PE E then calls tern_exit(CODE). Every
 * other PE exits; the launcher must end the job anyway, with CODE, naming PE K.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mp_check.h"

static tern_type_t T_MEMBER;
static tern_ep_t EP_GO, EP_EXIT;

typedef struct {
    char how[8];
    int k, e, code;
    tern_proxy_t group;
} args_t;

static void member_go(void *self, const tern_msg_t *m)
{
    (void)self;
    args_t a;
    memcpy(&a, tern_msg_data(m), sizeof a);
    tern_proxy_t el;
    CHECK_OK(tern_proxy_elem(&a.group, &a.e, &el));
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_send(&el, EP_EXIT, &iov, 1, NULL));
    if (strcmp(a.how, "stop") == 0)
        raise(SIGSTOP);
    else if (strcmp(a.how, "sleep") == 0)
        sleep(3600);
    for (volatile unsigned long n = 0;; n++) /* spin, and what a stopped PE resumes to */
        ;
}

static void member_exit(void *self, const tern_msg_t *m)
{
    (void)self;
    const args_t *a = tern_msg_data(m);
    tern_exit(a->code);
}

static void start(int argc, char **argv)
{
    CHECK(argc >= 5);
    args_t a;
    memset(&a, 0, sizeof a);
    strncpy(a.how, argv[1], sizeof a.how - 1);
    a.k = atoi(argv[2]) % tern_num_pes();
    a.e = atoi(argv[3]) % tern_num_pes();
    a.code = atoi(argv[4]);
    CHECK(a.k != a.e);
    CHECK_OK(tern_group_create(T_MEMBER, NULL, 0, NULL, &a.group));
    tern_proxy_t el;
    CHECK_OK(tern_proxy_elem(&a.group, &a.k, &el));
    tern_iov_t iov = {&a, sizeof a};
    CHECK_OK(tern_send(&el, EP_GO, &iov, 1, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("Member", 8, NULL, NULL, &T_MEMBER) ||
        tern_ep_register(T_MEMBER, "go", member_go, &EP_GO) ||
        tern_ep_register(T_MEMBER, "exit", member_exit, &EP_EXIT))
        return 1;
    return tern_run(argc, argv, start);
}
