/*
 * A PE that dies mid-run: `mp_crash HOW PE` makes PE (mod the job size) die while all PEs
 * exchange messages, HOW being
 *   kill   SIGKILL              segv   a store into an inaccessible page (SIGSEGV)
 *   abort  tern_abort           cabort abort(), the C library's (SIGABRT)
 *   term   raise(SIGTERM)       int    raise(SIGINT)          hup  raise(SIGHUP)
 *   exit   exit(3) behind the runtime's back
 * The test script checks that the job ends quickly, non-zero, with a message naming the PE
 * and, for signals, the signal (not some library's handler's exit code or text).
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mp_check.h"

static tern_type_t T_MEMBER;
static tern_ep_t EP_BOUNCE;

typedef struct {
    char how[8];
    int pe;
    tern_proxy_t group;
} args_t;

typedef struct {
    args_t a;
    long bounces;
} member_t;

static void member_ctor(void *self, const tern_msg_t *m)
{
    memcpy(&((member_t *)self)->a, tern_msg_data(m), sizeof(args_t));
}

/* This program dies on purpose and its tests judge how the launcher reports it: in a
 * sanitizer build, AddressSanitizer must not turn a segfault into a report and exit 1.
 * (Read by the sanitizer runtime at start; unused elsewhere.) */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "handle_segv=0:handle_sigbus=0"; }

static void die(const char *how)
{
    if (strcmp(how, "kill") == 0)
        kill(getpid(), SIGKILL);
    if (strcmp(how, "segv") == 0) {
        /* A page no one may touch, rather than a null pointer: the sanitizer build would
         * stop a null store itself, before it faults. Both volatile: with a plain int
         * target the compiler may drop the store. */
        void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        volatile int *volatile p = page;
        *p = 1;
    }
    if (strcmp(how, "abort") == 0)
        tern_abort("mp_crash asked PE %d to abort", tern_my_pe());
    if (strcmp(how, "cabort") == 0)
        abort();
    if (strcmp(how, "term") == 0)
        raise(SIGTERM);
    if (strcmp(how, "int") == 0) {
        /* A job started in the background by a script inherits SIGINT ignored. */
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    if (strcmp(how, "hup") == 0)
        raise(SIGHUP);
    exit(3);
}

static void member_bounce(void *self, const tern_msg_t *m)
{
    member_t *s = self;
    const tern_proxy_t *g = tern_msg_data(m);
    if (tern_my_pe() == s->a.pe && ++s->bounces == 200)
        die(s->a.how);
    int next = (tern_my_pe() + 1) % tern_num_pes();
    tern_proxy_t el;
    CHECK_OK(tern_proxy_elem(g, &next, &el));
    tern_iov_t iov = {g, sizeof *g};
    CHECK_OK(tern_send(&el, EP_BOUNCE, &iov, 1, NULL));
}

static void start(int argc, char **argv)
{
    CHECK(argc >= 3);
    args_t a;
    memset(&a, 0, sizeof a);
    strncpy(a.how, argv[1], sizeof a.how - 1);
    a.pe = atoi(argv[2]) % tern_num_pes();
    tern_iov_t iov = {&a, sizeof a};
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_MEMBER, &iov, 1, NULL, &g));
    tern_iov_t giov = {&g, sizeof g};
    CHECK_OK(tern_send(&g, EP_BOUNCE, &giov, 1, NULL));
}

int main(int argc, char **argv)
{
    if (tern_type_register("Member", sizeof(member_t), member_ctor, NULL, &T_MEMBER) ||
        tern_ep_register(T_MEMBER, "bounce", member_bounce, &EP_BOUNCE))
        return 1;
    return tern_run(argc, argv, start);
}
