/*
 * Host queries (tern_num_hosts, tern_my_host, tern_host_*, tern_pe_host*) with the job's
 * PEs on one machine split into k emulated hosts (TERN_EMULATE_HOSTS=k, k given again as
 * argv[1]). Every PE checks every answer against the split the option documents (the
 * PEs in order, cut into min(k, PEs) consecutive blocks of near-equal size), and its own
 * host; a sum reduction brings the number of PEs that agree to main. Bad host and PE
 * numbers must fail with an error naming the call and return -1.
 *
 *     TERN_EMULATE_HOSTS=3 ternrun -n 8 ./mp_hosts 3
 */
#include <stdio.h>
#include <stdlib.h>

#include "mp_check.h"

static tern_type_t T_PROBE;
static tern_ep_t EP_CHECK;
static int emulate = 1;

/* The documented split: PE p of n is on block p * k / n, k = min(emulate, n). */
static int want_host(int pe, int n)
{
    int k = emulate < n ? emulate : n;
    return (int)((long)pe * k / n);
}

/* Every query about every PE and host, against want_host(). */
static void check_all(void)
{
    int n = tern_num_pes();
    int k = emulate < n ? emulate : n;
    CHECK_EQ(tern_num_hosts(), k);
    CHECK_EQ(tern_my_host(), want_host(tern_my_pe(), n));
    int *pes = malloc((size_t)n * sizeof *pes);
    CHECK(pes);
    int seen = 0;
    for (int h = 0; h < k; h++) {
        int first = -1, count = 0;
        for (int p = 0; p < n; p++)
            if (want_host(p, n) == h) {
                if (first < 0)
                    first = p;
                count++;
            }
        CHECK_EQ(tern_host_first_pe(h), first);
        CHECK_EQ(tern_host_num_pes(h), count);
        CHECK_EQ(tern_host_pes(h, pes, n), count);
        for (int i = 0; i < count; i++) {
            CHECK_EQ(pes[i], first + i);
            CHECK_EQ(tern_pe_host(pes[i]), h);
            CHECK_EQ(tern_pe_host_rank(pes[i]), i);
        }
        /* Less room than PEs: the count still, and only `cap` written. */
        pes[0] = -7;
        CHECK_EQ(tern_host_pes(h, pes, 0), count);
        CHECK_EQ(pes[0], -7);
        seen += count;
    }
    CHECK_EQ(seen, n);
    free(pes);
}

static void check(void *self, const tern_msg_t *msg)
{
    const tern_future_t *f = tern_msg_data(msg);
    check_all();
    int one = 1;
    tern_callback_t cb = tern_cb_future(f);
    CHECK_OK(tern_contribute(self, &one, sizeof one, TERN_REDUCER(TERN_OP_SUM, TERN_DT_INT32),
                             &cb));
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    int n = tern_num_pes();
    check_all();

    /* Bad input: -1 and a message naming the call (run_mp.sh checks the messages). */
    int k = tern_num_hosts(), pe;
    CHECK_EQ(tern_host_num_pes(-1), -1);
    CHECK_EQ(tern_host_first_pe(k), -1);
    CHECK_EQ(tern_host_pes(k, &pe, 1), -1);
    CHECK_EQ(tern_host_pes(0, NULL, 1), -1);
    CHECK_EQ(tern_pe_host(n), -1);
    CHECK_EQ(tern_pe_host_rank(-2), -1);

    /* Every PE's view, through a group broadcast and a reduction: both ride the
     * host-aware trees. */
    tern_proxy_t g;
    CHECK_OK(tern_group_create(T_PROBE, NULL, 0, NULL, &g));
    tern_future_t f;
    CHECK_OK(tern_future_create(1, &f));
    tern_iov_t arg = {&f, sizeof f};
    CHECK_OK(tern_send(&g, EP_CHECK, &arg, 1, NULL));
    int agree = 0;
    CHECK_OK(tern_future_get(&f, &agree, sizeof agree, NULL));
    CHECK_EQ(agree, n);
    tern_future_free(&f);
    printf("mp_hosts: %d PEs on %d hosts, every PE agrees\n", n, k);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        emulate = atoi(argv[1]);
    /* Before tern_run: a job of one PE on one host. */
    if (tern_num_hosts() != 1 || tern_my_host() != 0 || tern_host_num_pes(0) != 1 ||
        tern_pe_host(0) != 0) {
        fprintf(stderr, "mp_hosts: wrong answers before tern_run\n");
        return 1;
    }
    if (tern_type_register("Probe", 0, NULL, NULL, &T_PROBE) ||
        tern_ep_register(T_PROBE, "check", check, &EP_CHECK))
        return 1;
    return tern_run(argc, argv, start);
}
