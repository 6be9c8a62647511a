/*
 * tern_bcast: broadcast latency against the number of PEs. The group member on PE 0
 * broadcasts a payload to the group; every member checks it and acknowledges to member 0,
 * which starts the next broadcast when all acknowledgements are in. perf/mpi_bcast.c is
 * the same with MPI_Bcast and point-to-point acknowledgements.
 *
 *     ternrun -n N ./tern_bcast [-size 8] [-iters 2000] [-reps 7]
 */
#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_BC;
static tern_ep_t EP_GO, EP_BCAST, EP_ACK;

typedef struct {
    bench_args_t a;
    tern_proxy_t group, leader;
    unsigned char *buf;
    bench_reps_t r; /* member 0: broadcasts */
    int acks;
} bc_t;

static void bc_ctor(void *self, const tern_msg_t *msg)
{
    bc_t *p = self;
    memcpy(&p->a, tern_msg_data(msg), sizeof p->a);
    p->group = tern_self_collection(self);
    int zero = 0;
    tern_proxy_elem(&p->group, &zero, &p->leader);
    p->buf = calloc(1, p->a.size);
    if (!p->buf || bench_reps_init(&p->r, &p->a))
        tern_abort("tern_bcast: out of memory");
}

static void bc_dtor(void *self)
{
    bc_t *p = self;
    free(p->buf);
    free(p->r.samples);
}

static void broadcast(bc_t *p)
{
    bench_stamp(p->buf, p->a.size, (uint64_t)p->r.i);
    tern_iov_t iov = {p->buf, p->a.size};
    tern_status_t st = tern_send(&p->group, EP_BCAST, &iov, 1, NULL);
    if (st != TERN_OK)
        tern_abort("tern_bcast: broadcast failed: %s", tern_strerror(st));
}

static void start_rep(bc_t *p)
{
    bench_reps_begin(&p->r, &p->a, p->a.iters, tern_wall_time());
    broadcast(p);
}

/* Every member: check the payload and acknowledge. */
static void bc_bcast(void *self, const tern_msg_t *msg)
{
    bc_t *p = self;
    uint64_t stamp;
    memcpy(&stamp, tern_msg_data(msg), 8);
    if (tern_msg_size(msg) != p->a.size || bench_check(tern_msg_data(msg), p->a.size, stamp))
        tern_abort("tern_bcast: broadcast payload arrived wrong");
    tern_send(&p->leader, EP_ACK, NULL, 0, NULL);
}

/* Member 0, from start(): begin. */
static void bc_go(void *self, const tern_msg_t *msg)
{
    (void)msg;
    start_rep(self);
}

/* Member 0: count acknowledgements. */
static void bc_ack(void *self, const tern_msg_t *msg)
{
    (void)msg;
    bc_t *p = self;
    if (++p->acks < tern_num_pes())
        return;
    p->acks = 0;
    double med;
    switch (bench_reps_step(&p->r, &p->a, tern_wall_time, &med)) {
    case 0:
        broadcast(p);
        return;
    case 2:
        bench_result("bcast", tern_num_pes(), med * 1e6, "us");
        tern_exit(0);
        return;
    }
    start_rep(p);
}

static bench_args_t args;

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t g, leader;
    tern_iov_t iov = {&args, sizeof args};
    tern_group_create(T_BC, &iov, 1, NULL, &g);
    int zero = 0;
    tern_proxy_elem(&g, &zero, &leader);
    tern_send(&leader, EP_GO, NULL, 0, NULL);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 8, .step = 2, .iters = 2000,
                          .warmup = 200, .reps = 7, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (tern_type_register("Bcast", sizeof(bc_t), bc_ctor, bc_dtor, &T_BC) ||
        tern_ep_register(T_BC, "go", bc_go, &EP_GO) ||
        tern_ep_register(T_BC, "bcast", bc_bcast, &EP_BCAST) ||
        tern_ep_register(T_BC, "ack", bc_ack, &EP_ACK))
        return 1;
    return tern_run(argc, argv, start);
}
