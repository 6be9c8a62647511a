/*
 * tern_migrate: one array element with `size` bytes of state (1 KiB by default) moves back
 * and forth between PE 0 and the last PE: after each arrival its `arrived` hook sends it a
 * message, whose entry method checks and stamps the state and asks for the next move (as
 * Charm++'s migrateHello does). Microseconds per move. perf/mpi_migrate.c moves the same
 * state with MPI.
 *
 *     ternrun -n 2 ./tern_migrate [-size 1024] [-iters 10000] [-warmup 1000] [-reps 7]
 */
#include <time.h>

#include <tern/tern.h>

#include "bench.h"

#define MAX_REPS 64

static tern_type_t T_MOVER;
static tern_ep_t EP_HOP;
static bench_args_t args;

typedef struct {
    bench_args_t a;
    int32_t rep;     /* -1: the warm-up */
    int32_t count;   /* moves in this repetition (even: it ends where it began) */
    int32_t i;
    int32_t pad;
    double t0;
    double samples[MAX_REPS];
    unsigned char payload[]; /* the rest of the state, stamped with the move number */
} mover_t;

static size_t payload_len(const mover_t *m) { return m->a.size - sizeof(mover_t); }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void begin_rep(mover_t *m)
{
    m->count = m->rep < 0 ? m->a.warmup : m->a.iters;
    m->count += m->count % 2;
    m->i = 0;
    m->t0 = now();
}

static void mover_ctor(void *self, const tern_msg_t *msg)
{
    (void)msg;
    mover_t *m = self;
    m->a = args;
    m->rep = m->a.warmup ? -1 : 0;
    bench_stamp(m->payload, payload_len(m), 0);
    begin_rep(m);
    tern_proxy_t me = tern_self_proxy(self);
    tern_send(&me, EP_HOP, NULL, 0, NULL);
}

static void mover_hop(void *self, const tern_msg_t *msg)
{
    (void)msg;
    mover_t *m = self;
    if (bench_check(m->payload, payload_len(m), (uint64_t)m->i))
        tern_abort("tern_migrate: the state changed in move %d", m->i);
    if (m->i == m->count) {
        if (m->rep >= 0)
            m->samples[m->rep] = (now() - m->t0) / m->count;
        if (++m->rep == m->a.reps) {
            bench_result("migrate", (double)m->a.size, bench_median(m->samples, m->a.reps) * 1e6,
                         "us");
            tern_exit(0);
            return;
        }
        begin_rep(m);
    }
    m->i++;
    bench_stamp(m->payload, payload_len(m), (uint64_t)m->i);
    int last = tern_num_pes() - 1;
    if (tern_migrate(self, tern_my_pe() == 0 ? last : 0) != TERN_OK)
        tern_abort("tern_migrate failed");
}

static void mover_arrived(void *self)
{
    tern_proxy_t me = tern_self_proxy(self);
    tern_send(&me, EP_HOP, NULL, 0, NULL);
}

static void start(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t a;
    tern_array_create(T_MOVER, 1, TERN_IDX(1), NULL, 0, &a);
}

int main(int argc, char **argv)
{
    args = (bench_args_t){.min_size = 8, .max_size = 8, .step = 2, .iters = 10000,
                          .warmup = 1000, .reps = 7, .window = 1, .size = 1024};
    if (bench_parse(argc, argv, &args))
        return 2;
    if (args.size < sizeof(mover_t) + 16 || args.reps > MAX_REPS) {
        fprintf(stderr, "tern_migrate: -size must be at least %zu, -reps at most %d\n",
                sizeof(mover_t) + 16, MAX_REPS);
        return 2;
    }
    if (tern_type_register("Mover", args.size, mover_ctor, NULL, &T_MOVER) ||
        tern_ep_register(T_MOVER, "hop", mover_hop, &EP_HOP) ||
        tern_type_migratable(T_MOVER, NULL, mover_arrived))
        return 1;
    return tern_run(argc, argv, start);
}
