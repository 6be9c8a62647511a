/*
 * tern_pingpong: a chare on PE 0 and one on the last PE bounce a payload; one-way latency
 * and the bandwidth it implies, per size. perf/mpi_pingpong.c is the same with MPI.
 *
 *     ternrun -n 2 ./tern_pingpong [-min 8] [-max 4194304] [-iters 2000] [-reps 7]
 */
#include "bench_tern.h"

static tern_type_t T_PP;
static tern_ep_t EP_INIT, EP_PING, EP_PONG;

typedef struct {
    bench_args_t a;
    tern_proxy_t peer;
    unsigned char *buf;
    size_t n;       /* current payload size; 0 until start() kicks off the sweep */
    bench_reps_t r; /* round trips of the current size */
} pp_t;

static void pp_init(void *self, const tern_msg_t *msg)
{
    pp_t *p = self;
    const bench_pair_t *in = tern_msg_data(msg);
    p->a = in->a;
    p->peer = in->peer;
    p->buf = calloc(1, p->a.max_size);
    if (!p->buf || bench_reps_init(&p->r, &p->a))
        tern_abort("tern_pingpong: out of memory");
}

static void pp_dtor(void *self)
{
    pp_t *p = self;
    free(p->buf);
    free(p->r.samples);
}

static void send_payload(pp_t *p, tern_ep_t ep, size_t n, uint64_t stamp)
{
    bench_stamp(p->buf, n, stamp);
    tern_iov_t iov = {p->buf, n};
    tern_status_t st = tern_send(&p->peer, ep, &iov, 1, NULL);
    if (st != TERN_OK)
        tern_abort("tern_pingpong: send failed: %s", tern_strerror(st));
}

static void start_rep(pp_t *p)
{
    bench_reps_begin(&p->r, &p->a, bench_iters_for(&p->a, p->n), tern_wall_time());
    send_payload(p, EP_PING, p->n, 0);
}

/* Follower: check the payload, send the same size back with the same stamp. */
static void pp_ping(void *self, const tern_msg_t *msg)
{
    pp_t *p = self;
    size_t n = tern_msg_size(msg);
    uint64_t stamp;
    memcpy(&stamp, tern_msg_data(msg), 8);
    if (bench_check(tern_msg_data(msg), n, stamp))
        tern_abort("tern_pingpong: a %zu-byte payload arrived torn", n);
    send_payload(p, EP_PONG, n, stamp);
}

/* Leader: a round trip ended. */
static void pp_pong(void *self, const tern_msg_t *msg)
{
    pp_t *p = self;
    if (tern_msg_size(msg) != p->n || bench_check(tern_msg_data(msg), p->n, (uint64_t)p->r.i))
        tern_abort("tern_pingpong: round trip %d of %zu bytes came back wrong", p->r.i, p->n);
    double med;
    switch (bench_reps_step(&p->r, &p->a, tern_wall_time, &med)) {
    case 0:
        send_payload(p, EP_PING, p->n, (uint64_t)p->r.i);
        return;
    case 2: /* a round trip is two one-way trips */
        bench_result("latency", (double)p->n, med / 2 * 1e6, "us");
        bench_result("bandwidth", (double)p->n, (double)p->n / (med / 2) / 1e6, "MB/s");
        p->n *= (size_t)p->a.step;
        if (p->n > p->a.max_size) {
            tern_exit(0);
            return;
        }
    }
    start_rep(p);
}

static bench_args_t args;

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    bench_pair_start(T_PP, EP_INIT, EP_PONG, &args);
}

/* The first PONG the leader sees is the kick-off from start(): it has no payload. */
static void pp_pong_or_go(void *self, const tern_msg_t *msg)
{
    pp_t *p = self;
    if (p->n == 0) {
        p->n = p->a.min_size;
        start_rep(p);
        return;
    }
    pp_pong(self, msg);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 4u << 20, .step = 2, .iters = 2000,
                          .warmup = 200, .reps = 7, .window = 1, .size = 8};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (tern_type_register("PingPong", sizeof(pp_t), NULL, pp_dtor, &T_PP) ||
        tern_ep_register(T_PP, "init", pp_init, &EP_INIT) ||
        tern_ep_register(T_PP, "ping", pp_ping, &EP_PING) ||
        tern_ep_register(T_PP, "pong", pp_pong_or_go, &EP_PONG))
        return 1;
    return tern_run(argc, argv, start);
}
