/*
 * tern_msgrate: a chare on PE 0 sends windows of `window` messages to a chare on the last
 * PE, which checks every payload and answers each window with one 8-byte acknowledgement;
 * messages per second, per size. perf/mpi_msgrate.c is the same with MPI.
 *
 *     ternrun -n 2 ./tern_msgrate [-min 8] [-max 8] [-window 64] [-iters 2000] [-reps 7]
 */
#include <tern/tern.h>

#include "bench.h"

static tern_type_t T_MR;
static tern_ep_t EP_INIT, EP_DATA, EP_ACK;

typedef struct {
    bench_args_t a;
    tern_proxy_t peer;
    unsigned char *buf;
    double *samples;
    size_t n;      /* current payload size; 0 until the first ACK starts the sweep */
    int rep;       /* -1 is the warm-up */
    int i, count;  /* window i of count in this repetition */
    int got;       /* receiver: messages of the current window seen */
    double t0;
} mr_t;

typedef struct {
    bench_args_t a;
    tern_proxy_t peer;
} init_t;

static void mr_init(void *self, const tern_msg_t *msg)
{
    mr_t *p = self;
    const init_t *in = tern_msg_data(msg);
    p->a = in->a;
    p->peer = in->peer;
    p->buf = calloc((size_t)p->a.window, p->a.max_size);
    p->samples = calloc((size_t)p->a.reps, sizeof *p->samples);
    if (!p->buf || !p->samples)
        tern_abort("tern_msgrate: out of memory");
}

static void mr_dtor(void *self)
{
    mr_t *p = self;
    free(p->buf);
    free(p->samples);
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
    p->i = 0;
    p->count = p->rep < 0 ? p->a.warmup : bench_iters_for(&p->a, p->n * (size_t)p->a.window);
    if (p->count == 0) {
        p->rep++;
        start_rep(p);
        return;
    }
    p->t0 = tern_wall_time();
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
        p->rep = -1;
        start_rep(p);
        return;
    }
    if (++p->i < p->count) {
        send_window(p);
        return;
    }
    if (p->rep >= 0)
        p->samples[p->rep] = (double)p->count * p->a.window / (tern_wall_time() - p->t0);
    if (++p->rep == p->a.reps) {
        bench_result("msgrate", (double)p->n, bench_median(p->samples, p->a.reps) / 1e6,
                     "Mmsg/s");
        p->rep = -1;
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
    tern_proxy_t sender, receiver;
    tern_chare_create(T_MR, 0, NULL, 0, &sender);
    tern_chare_create(T_MR, tern_num_pes() - 1, NULL, 0, &receiver);
    init_t in = {.a = args, .peer = receiver};
    tern_iov_t iov = {&in, sizeof in};
    tern_send(&sender, EP_INIT, &iov, 1, NULL);
    in.peer = sender;
    tern_send(&receiver, EP_INIT, &iov, 1, NULL);
    tern_send(&sender, EP_ACK, NULL, 0, NULL);
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
