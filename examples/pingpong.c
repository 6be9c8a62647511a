/*
 * pingpong: two chares, on the first and the last PE, bounce a message back and forth.
 * For each size from 8 bytes to MAX (default 4 MiB) it runs REPS repetitions of ITERS
 * round trips and prints the median one-way latency and the bandwidth it implies.
 *
 *     ternrun -n 2 ./pingpong [max_bytes [iters [reps]]]
 *
 * The receiver checks the first and last byte of every message; the sender writes them
 * before each send, so the payload is touched at both ends.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

static tern_type_t T_PINGER;
static tern_ep_t EP_INIT, EP_PING, EP_PONG;

typedef struct {
    tern_proxy_t peer;
    unsigned char *buf;
    size_t size, max_size;
    int iters, reps;
    int iter, rep;
    double t_start;
    double *samples; /* one-way seconds per repetition */
} pinger_t;

typedef struct {
    tern_proxy_t peer;
    size_t max_size;
    int iters, reps;
    int lead; /* the leader starts the sweep as soon as it knows its peer */
} init_args_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int iters_for(const pinger_t *p)
{
    /* Fewer round trips for big messages so the whole sweep stays short. */
    if (p->size >= (1u << 20))
        return p->iters / 10 > 10 ? p->iters / 10 : 10;
    return p->iters;
}

static void send_ping(pinger_t *p, tern_ep_t ep, int stamp)
{
    if (p->size) {
        p->buf[0] = (unsigned char)stamp;
        p->buf[p->size - 1] = (unsigned char)stamp;
    }
    tern_send_buf(&p->peer, ep, p->buf, p->size);
}

static void check(const tern_msg_t *msg, size_t want, int stamp)
{
    size_t n = tern_msg_size(msg);
    const unsigned char *d = tern_msg_data(msg);
    if (n != want || (n && (d[0] != (unsigned char)stamp || d[n - 1] != (unsigned char)stamp)))
        tern_abort("pingpong: got %zu bytes (stamp %d), expected %zu (stamp %d)", n,
                   n ? d[0] : -1, want, stamp);
}

/* Destructors run when the job ends. */
static void pinger_dtor(void *self)
{
    pinger_t *p = self;
    free(p->buf);
    free(p->samples);
}

static void start_rep(pinger_t *p)
{
    p->iter = 0;
    p->t_start = tern_wall_time();
    send_ping(p, EP_PING, 0);
}

static void pinger_init(void *self, const tern_msg_t *msg)
{
    pinger_t *p = self;
    const init_args_t *a = tern_msg_data(msg);
    p->peer = a->peer;
    p->max_size = a->max_size;
    p->iters = a->iters;
    p->reps = a->reps;
    p->buf = calloc(1, p->max_size);
    p->samples = calloc((size_t)p->reps, sizeof *p->samples);
    if (!p->buf || !p->samples)
        tern_abort("pingpong: out of memory");
    p->size = 8;
    if (a->lead)
        start_rep(p);
}

/* The leader's side: a pong came back. */
static void pinger_pong(void *self, const tern_msg_t *msg)
{
    pinger_t *p = self;
    check(msg, p->size, p->iter);
    if (++p->iter < iters_for(p)) {
        send_ping(p, EP_PING, p->iter);
        return;
    }
    double t = tern_wall_time() - p->t_start;
    p->samples[p->rep++] = t / (2.0 * iters_for(p));
    if (p->rep == p->reps) {
        qsort(p->samples, (size_t)p->reps, sizeof *p->samples, cmp_double);
        double med = p->samples[p->reps / 2];
        printf("%10zu %14.3f %14.1f\n", p->size, med * 1e6, (double)p->size / med / 1e6);
        fflush(stdout);
        p->rep = 0;
        p->size *= 2;
        if (p->size > p->max_size) {
            tern_exit(0);
            return;
        }
    }
    start_rep(p);
}

/* The follower's side: send the same number of bytes back, with the same stamp. */
static void pinger_ping(void *self, const tern_msg_t *msg)
{
    pinger_t *p = self;
    size_t n = tern_msg_size(msg);
    const unsigned char *d = tern_msg_data(msg);
    int stamp = n ? d[0] : 0;
    if (n && d[n - 1] != d[0])
        tern_abort("pingpong: payload of %zu bytes arrived torn", n);
    p->size = n;
    send_ping(p, EP_PONG, stamp);
}

static void start(int argc, char **argv)
{
    init_args_t a = {.max_size = 4u << 20, .iters = 1000, .reps = 5};
    if (argc > 1)
        a.max_size = strtoull(argv[1], NULL, 0);
    if (argc > 2)
        a.iters = atoi(argv[2]);
    if (argc > 3)
        a.reps = atoi(argv[3]);
    if (a.max_size < 8 || a.iters < 1 || a.reps < 1) {
        fprintf(stderr, "usage: pingpong [max_bytes >= 8 [iters >= 1 [reps >= 1]]]\n");
        tern_exit(2);
        return;
    }
    int last = tern_num_pes() - 1;
    tern_proxy_t leader, follower;
    tern_chare_create(T_PINGER, 0, NULL, 0, &leader);
    tern_chare_create(T_PINGER, last, NULL, 0, &follower);
    printf("pingpong between PE 0 and PE %d, %d reps, median one-way\n", last, a.reps);
    printf("%10s %14s %14s\n", "bytes", "latency_us", "MB/s");
    /* The follower's init reaches it before the first ping: both come from PE 0 (this
     * one directly, the ping through the leader, which starts after its own init) and a
     * PE's messages to one PE arrive in order. */
    a.peer = leader;
    tern_send_buf(&follower, EP_INIT, &a, sizeof a);
    a.peer = follower;
    a.lead = 1;
    tern_send_buf(&leader, EP_INIT, &a, sizeof a);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"init", pinger_init, 0, &EP_INIT},
        {"ping", pinger_ping, 0, &EP_PING},
        {"pong", pinger_pong, 0, &EP_PONG},
        {0},
    };
    if (tern_type_define("Pinger", sizeof(pinger_t), NULL, pinger_dtor, eps, &T_PINGER))
        return 1;
    return tern_run(argc, argv, start);
}
