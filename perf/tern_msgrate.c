/*
 * tern_msgrate: a chare on PE 0 sends windows of `window` messages to a chare on the last
 * PE, which checks every payload and answers each window with one 8-byte acknowledgement;
 * messages per second, per size. perf/mpi_msgrate.c is the same with MPI.
 *
 *     ternrun -n 2 ./tern_msgrate [-min 8] [-max 8] [-window 64] [-iters 2000] [-reps 7]
 */
#include "bench_tern.h"

static tern_type_t T_MR;
static tern_ep_t EP_INIT, EP_DATA, EP_ACK;

typedef struct {
    bench_args_t a;
    tern_proxy_t peer;
    unsigned char *buf;
    size_t n;       /* current payload size; 0 until the first ACK starts the sweep */
    bench_reps_t r; /* sender: windows of the current size */
    int got;        /* receiver: messages of the current window seen */
} mr_t;

static void mr_init(void *self, const tern_msg_t *msg)
{
    mr_t *p = self;
    const bench_pair_t *in = tern_msg_data(msg);
    p->a = in->a;
    p->peer = in->peer;
    p->buf = calloc((size_t)p->a.window, p->a.max_size);
    if (!p->buf || bench_reps_init(&p->r, &p->a))
        tern_abort("tern_msgrate: out of memory");
}

static void mr_dtor(void *self)
{
    mr_t *p = self;
    free(p->buf);
    free(p->r.samples);
}

static void send_window(mr_t *p)
{
    for (int w = 0; w < p->a.window; w++) {
        unsigned char *b = p->buf + (size_t)w * p->n;
        bench_stamp(b, p->n, (uint64_t)w);
        tern_iov_t iov = {b, p->n};
        tern_status_t st = tern_send(&p->peer, EP_DATA, &iov, 1, NULL);
        if (st != TERN_OK)
            tern_abort("tern_msgrate: send failed: %s", tern_strerror(st));
    }
}

static void start_rep(mr_t *p)
{
    bench_reps_begin(&p->r, &p->a, bench_iters_for(&p->a, p->n * (size_t)p->a.window),
                     tern_wall_time());
    send_window(p);
}

/* Receiver: check each payload; acknowledge a whole window. */
static void mr_data(void *self, const tern_msg_t *msg)
{
    mr_t *p = self;
    size_t n = tern_msg_size(msg);
    if (bench_check(tern_msg_data(msg), n, (uint64_t)p->got))
        tern_abort("tern_msgrate: message %d of a window (%zu bytes) arrived wrong", p->got, n);
    if (++p->got == p->a.window) {
        p->got = 0;
        uint64_t ack = 0;
        tern_iov_t iov = {&ack, sizeof ack};
        tern_send(&p->peer, EP_ACK, &iov, 1, NULL);
    }
}

/* Sender: a window was acknowledged (the first ACK, from start(), starts the sweep). */
static void mr_ack(void *self, const tern_msg_t *msg)
{
    (void)msg;
    mr_t *p = self;
    if (p->n == 0) {
        p->n = p->a.min_size;
        start_rep(p);
        return;
    }
    double med;
    switch (bench_reps_step(&p->r, &p->a, tern_wall_time, &med)) {
    case 0:
        send_window(p);
        return;
    case 2: /* med is seconds per window */
        bench_result("msgrate", (double)p->n, p->a.window / med / 1e6, "Mmsg/s");
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
    bench_pair_start(T_MR, EP_INIT, EP_ACK, &args);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 8, .step = 8, .iters = 2000,
                          .warmup = 100, .reps = 7, .window = 64, .size = 8};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (tern_type_register("MsgRate", sizeof(mr_t), NULL, mr_dtor, &T_MR) ||
        tern_ep_register(T_MR, "init", mr_init, &EP_INIT) ||
        tern_ep_register(T_MR, "data", mr_data, &EP_DATA) ||
        tern_ep_register(T_MR, "ack", mr_ack, &EP_ACK))
        return 1;
    return tern_run(argc, argv, start);
}
