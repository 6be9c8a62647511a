/*
 * tern_alltoall: every member of a group sends `size` bytes to every other member; a
 * member starts its next round when it has the current round's payloads from all
 * others. Time per round on PE 0, against the number of PEs. perf/mpi_alltoall.c times
 * MPI_Alltoall with the same payloads.
 *
 *     ternrun -n N ./tern_alltoall [-size 1024] [-iters 1000] [-reps 7]
 */
#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_AA;
static tern_ep_t EP_GO, EP_DATA;

typedef struct {
    bench_args_t a;
    tern_proxy_t group;
    unsigned char *buf;
    double *samples;
    int round, total;  /* rounds done; warm-up + reps * iters in all */
    int got[2];        /* payloads received for this round and (early) for the next */
    double t0;
} aa_t;

static void aa_ctor(void *self, const tern_msg_t *msg)
{
    aa_t *p = self;
    memcpy(&p->a, tern_msg_data(msg), sizeof p->a);
    p->group = tern_self_collection(self);
    p->buf = calloc(1, p->a.size);
    p->samples = calloc((size_t)p->a.reps, sizeof *p->samples);
    if (!p->buf || !p->samples)
        tern_abort("tern_alltoall: out of memory");
    p->total = p->a.warmup + p->a.reps * p->a.iters;
}

static void aa_dtor(void *self)
{
    aa_t *p = self;
    free(p->buf);
    free(p->samples);
}

static void send_round(aa_t *p)
{
    int me = tern_my_pe(), n = tern_num_pes();
    bench_stamp(p->buf, p->a.size, (uint64_t)p->round);
    tern_iov_t iov = {p->buf, p->a.size};
    for (int k = 1; k < n; k++) {
        int to = (me + k) % n; /* staggered, as MPI's pairwise exchange does */
        tern_proxy_t e;
        tern_proxy_elem(&p->group, &to, &e);
        tern_status_t st = tern_send(&e, EP_DATA, &iov, 1, NULL);
        if (st != TERN_OK)
            tern_abort("tern_alltoall: send failed: %s", tern_strerror(st));
    }
}

/* PE 0 notes the time at the borders of the timed repetitions. */
static void mark(aa_t *p)
{
    if (tern_my_pe() != 0 || p->round < p->a.warmup)
        return;
    int done = p->round - p->a.warmup;
    double now = tern_wall_time();
    if (done % p->a.iters == 0) {
        if (done > 0)
            p->samples[done / p->a.iters - 1] = (now - p->t0) / p->a.iters;
        p->t0 = now;
    }
}

static void next_round(aa_t *p)
{
    while (p->got[0] == tern_num_pes() - 1) {
        p->got[0] = p->got[1];
        p->got[1] = 0;
        p->round++;
        mark(p);
        if (p->round == p->total) {
            if (tern_my_pe() == 0) {
                bench_result("alltoall", tern_num_pes(),
                             bench_median(p->samples, p->a.reps) * 1e6, "us");
                tern_exit(0);
            }
            return;
        }
        send_round(p);
    }
}

static void aa_go(void *self, const tern_msg_t *msg)
{
    (void)msg;
    aa_t *p = self;
    mark(p);
    send_round(p);
    next_round(p); /* a 1-PE job has nothing to wait for */
}

static void aa_data(void *self, const tern_msg_t *msg)
{
    aa_t *p = self;
    uint64_t stamp;
    memcpy(&stamp, tern_msg_data(msg), 8);
    if (tern_msg_size(msg) != p->a.size || bench_check(tern_msg_data(msg), p->a.size, stamp) ||
        (stamp != (uint64_t)p->round && stamp != (uint64_t)p->round + 1))
        tern_abort("tern_alltoall: payload of round %llu arrived wrong in round %d",
                   (unsigned long long)stamp, p->round);
    /* A peer that has all of this round's payloads may already send the next round's. */
    p->got[stamp != (uint64_t)p->round]++;
    next_round(p);
}

static bench_args_t args;

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t g;
    tern_iov_t iov = {&args, sizeof args};
    tern_group_create(T_AA, &iov, 1, NULL, &g);
    tern_send(&g, EP_GO, NULL, 0, NULL);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 8, .step = 2, .iters = 1000,
                          .warmup = 100, .reps = 7, .window = 1, .size = 1024};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (tern_type_register("AllToAll", sizeof(aa_t), aa_ctor, aa_dtor, &T_AA) ||
        tern_ep_register(T_AA, "go", aa_go, &EP_GO) ||
        tern_ep_register(T_AA, "data", aa_data, &EP_DATA))
        return 1;
    return tern_run(argc, argv, start);
}
