/*
 * An imbalanced stencil, as the CharmPy paper's stencil3d with synthetic imbalance, in one
 * dimension: a ring of blocks, `-per-pe` a PE (a block-mapped array), each iteration a
 * kernel (a fixed amount of work, calibrated on PE 0) then a ghost message to each
 * neighbour; an iteration starts when both ghosts of
 * the previous one came. The kernel of block i lasts `-work-us` times alpha_i / 10, where,
 * with B "MPI blocks" (one per PE, each holding -per-pe array elements) and b the MPI
 * block of element i: alpha = 10 when b <= 0.2 B or b >= 0.8 B, else
 * 100 b / B + 5 ceil(iter / 30). Every `-sync` iterations the elements call tern_at_sync.
 *
 * The baseline is the same program without a strategy (tern_at_sync then resumes at
 * once): perf/run.py runs it both ways and prints the time ratio.
 *
 *   tern_imbalance [-iters 150] [-sync 30] [-per-pe 4] [-work-us 40] [-reps 1]
 *
 * RESULT imbalance <PEs> <seconds> s   (median over -reps runs)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "bench_tern.h"
#include "work.h"

static tern_type_t T_BLK;
static tern_ep_t EP_GO, EP_GHOST, EP_RESUME;
static int iters = 150, sync_every = 30, per_pe = 4, reps = 1;
static double work_us = 40;

/* What every element needs to know (start() runs on PE 0 only). */
typedef struct {
    int32_t n, iters, sync_every, per_pe;
    double work_us, rounds_per_us;
    tern_future_t done;
} params_t;

typedef struct {
    params_t p;
    int32_t lin, n, iter, waiting, reported, pad;
    int32_t got[2];       /* ghosts of iteration `iter - 1` received */
    int32_t early[2];     /* ghosts of iteration `iter` that came first */
} blk_t;

#define OK(call) bench_tern_check("tern_imbalance", #call, (call))

static double alpha(const blk_t *b, int iter)
{
    int B = b->n / b->p.per_pe, blk = b->lin / b->p.per_pe;
    if (blk <= 0.2 * B || blk >= 0.8 * B)
        return 10;
    return 100.0 * blk / B + 5 * ceil(iter / 30.0);
}

static void blk_ctor(void *self, const tern_msg_t *args)
{
    blk_t *b = self;
    b->lin = tern_self_index(self)[0];
    memcpy(&b->p, tern_msg_data(args), sizeof b->p);
    b->n = b->p.n;
}

static void neighbour_send(blk_t *b, int32_t to, int side)
{
    tern_proxy_t me = tern_self_proxy(b), p;
    OK(tern_proxy_elem(&me, &to, &p));
    int32_t m[2] = {b->iter, side};
    OK(tern_send_buf(&p, EP_GHOST, m, sizeof m));
}

static void advance(blk_t *b)
{
    while (!b->waiting && b->iter < b->p.iters &&
           (b->iter == 0 || (b->got[0] && b->got[1]))) {
        work_rounds((uint64_t)(b->p.rounds_per_us * b->p.work_us * alpha(b, b->iter) / 10));
        neighbour_send(b, (b->lin + b->n - 1) % b->n, 1); /* I am its right neighbour */
        neighbour_send(b, (b->lin + 1) % b->n, 0);
        b->iter++;
        b->got[0] = b->early[0];
        b->got[1] = b->early[1];
        b->early[0] = b->early[1] = 0;
        if (b->iter % b->p.sync_every == 0 && b->iter < b->p.iters) {
            b->waiting = 1;
            OK(tern_at_sync(b));
            return;
        }
    }
    if (b->iter == b->p.iters && b->got[0] && b->got[1] && !b->reported) {
        b->reported = 1;
        OK(tern_future_set(&b->p.done, NULL, 0));
    }
}

static void blk_go(void *self, const tern_msg_t *msg)
{
    (void)msg;
    advance(self);
}

static void blk_ghost(void *self, const tern_msg_t *msg)
{
    blk_t *b = self;
    const int32_t *m = tern_msg_data(msg);
    /* A neighbour is at most one iteration ahead (it waits for this block's ghost). */
    if (m[0] == b->iter - 1)
        b->got[m[1]] = 1;
    else if (m[0] == b->iter)
        b->early[m[1]] = 1;
    else
        tern_abort("block %d at iteration %d got a ghost of iteration %d", b->lin, b->iter,
                   m[0]);
    advance(b);
}

static void blk_resume(void *self, const tern_msg_t *msg)
{
    (void)msg;
    blk_t *b = self;
    b->waiting = 0;
    advance(b);
}

static void start(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-iters") == 0)
            iters = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-sync") == 0)
            sync_every = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-per-pe") == 0)
            per_pe = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-work-us") == 0)
            work_us = atof(argv[i + 1]);
        else if (strcmp(argv[i], "-reps") == 0)
            reps = atoi(argv[i + 1]);
    }
    int32_t n = per_pe * tern_num_pes();
    if (iters < 1 || sync_every < 1 || per_pe < 1 || n < 3 || reps < 1 || reps > 100) {
        fprintf(stderr, "tern_imbalance: bad arguments\n");
        tern_exit(2);
        return;
    }
    double t[100], rpu = work_calibrate();
    for (int r = 0; r < reps; r++) {
        params_t p = {n, iters, sync_every, per_pe, work_us, rpu, {0, 0, 0}};
        OK(tern_future_create(n, &p.done));
        tern_future_t done = p.done;
        tern_iov_t iov = {&p, sizeof p};
        tern_array_opts_t o = {.flags = TERN_ARRAY_AT_SYNC};
        tern_proxy_t arr;
        double t0 = tern_wall_time();
        OK(tern_array_create_opts(T_BLK, 1, TERN_IDX(n), &iov, 1, &o, &arr));
        OK(tern_send(&arr, EP_GO, NULL, 0, NULL));
        OK(tern_future_wait(&done));
        t[r] = tern_wall_time() - t0;
        tern_future_free(&done);
    }
    double med = bench_median(t, reps);
    printf("imbalance: %d PEs, %d blocks, %d iterations, strategy %s: %.3f s\n",
           tern_num_pes(), n, iters, tern_lb_strategy() ? tern_lb_strategy() : "none", med);
    printf("RESULT imbalance %d %.6g s\n", tern_num_pes(), med);
    tern_exit(0);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {{"go", blk_go, 0, &EP_GO},
                                 {"ghost", blk_ghost, 0, &EP_GHOST},
                                 {"resume", blk_resume, 0, &EP_RESUME},
                                 {0}};
    OK(tern_type_define("Block", sizeof(blk_t), blk_ctor, NULL, eps, &T_BLK));
    OK(tern_type_migratable(T_BLK, NULL, NULL));
    OK(tern_type_resume(T_BLK, EP_RESUME));
    return tern_run(argc, argv, start);
}
