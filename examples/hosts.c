/*
 * hosts: which host each PE runs on (Charm4py's numHosts, myHost, getHostPes,
 * getPeHost, getPeHostRank, ...).
 *
 * Every member of a group (one per PE) looks at the hosts from where it is: its host,
 * its rank among the PEs of that host, how many PEs its host has and the first of them.
 * A gather brings these views to the main function in PE order; main prints the map of
 * hosts and each PE's view, and checks that every PE saw what PE 0 sees of it. Exit code
 * 1 if a view differs, or if an expected number of hosts is given and the job has
 * another.
 *
 *     ternrun -n 4 ./hosts [EXPECTED_HOSTS]
 *     TERN_EMULATE_HOSTS=2 ternrun -n 4 ./hosts 2    (split this machine into 2 hosts)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

static tern_type_t T_LOOKER;
static tern_ep_t EP_LOOK;

typedef struct {
    int32_t pe, host, rank, nhosts, host_npes, host_first;
} view_t;

static view_t view_of(int pe)
{
    int host = tern_pe_host(pe);
    return (view_t){pe, host, tern_pe_host_rank(pe), tern_num_hosts(),
                    tern_host_num_pes(host), tern_host_first_pe(host)};
}

/* look(future): this PE's view of itself goes to a gather into the future. */
static void look(void *self, const tern_msg_t *msg)
{
    view_t v = view_of(tern_my_pe());
    v.host = tern_my_host(); /* the same as tern_pe_host(tern_my_pe()) */
    tern_callback_t cb = tern_cb_future(tern_msg_data(msg));
    tern_contribute(self, &v, sizeof v, TERN_REDUCER_GATHER, &cb);
}

static void start(int argc, char **argv)
{
    int npes = tern_num_pes(), nhosts = tern_num_hosts(), wrong = 0;
    tern_proxy_t lookers;
    tern_group_create(T_LOOKER, NULL, 0, NULL, &lookers);
    tern_future_t f;
    tern_future_create(1, &f);
    tern_send_buf(&lookers, EP_LOOK, &f, sizeof f);

    view_t *views = malloc((size_t)npes * sizeof *views);
    int *pes = malloc((size_t)npes * sizeof *pes);
    if (!views || !pes)
        tern_abort("hosts: out of memory");
    size_t len = 0;
    tern_future_get(&f, views, (size_t)npes * sizeof *views, &len);
    wrong += len != (size_t)npes * sizeof *views;

    printf("%d PEs on %d host%s\n", npes, nhosts, nhosts == 1 ? "" : "s");
    for (int h = 0; h < nhosts; h++) {
        int n = tern_host_pes(h, pes, npes);
        printf("host %d: %d PEs:", h, n);
        for (int i = 0; i < n; i++) {
            printf(" %d", pes[i]);
            wrong += tern_pe_host(pes[i]) != h || tern_pe_host_rank(pes[i]) != i;
        }
        printf("\n");
        /* Hosts are numbered in the order of their first PE. */
        wrong += n != tern_host_num_pes(h) || pes[0] != tern_host_first_pe(h) ||
                 (h > 0 && pes[0] < tern_host_first_pe(h - 1));
    }
    for (int pe = 0; pe < npes; pe++) {
        const view_t *v = &views[pe];
        view_t want = view_of(pe);
        int same = memcmp(v, &want, sizeof want) == 0;
        printf("PE %d sees itself on host %d, rank %d of %d (the host's first PE: %d)%s\n",
               v->pe, v->host, v->rank, v->host_npes, v->host_first,
               same ? "" : ": WRONG, not what PE 0 sees");
        wrong += !same;
    }
    if (argc > 1 && atoi(argv[1]) != nhosts) {
        fprintf(stderr, "hosts: expected %d hosts, the job has %d\n", atoi(argv[1]), nhosts);
        wrong++;
    }
    free(views);
    free(pes);
    tern_exit(wrong ? 1 : 0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {{"look", look, 0, &EP_LOOK}, {0}};
    if (tern_type_define("Looker", 0, NULL, NULL, eps, &T_LOOKER))
        return 1;
    return tern_run(argc, argv, start);
}
