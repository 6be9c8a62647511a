/*
 * stencil3d on Tern: a 7-point Jacobi stencil on a periodic N^3 grid split into B^3 blocks,
 * the elements of a 3-D array (Charm++'s load-balancing stencil3d, as the CharmPy paper
 * runs it). Each iteration a block sends its 6 faces to its neighbours and, once their
 * faces of that iteration came, sweeps (repeatedly, with imbalance: kernel.h) - no barrier:
 * a block runs as soon as its own neighbours let it. Every -lb iterations the blocks call
 * tern_at_sync and the job's strategy (+balancer GreedyRefineLB) moves them. At the end the
 * blocks sum their points into the checksum; -check recomputes it serially on PE 0.
 *
 *     ternrun -n 2 ./stencil3d [N [B]] [-iters 100] [-lb 5] [-imbalance 0|1] [-work W]
 *                              [-check]             (defaults: 128 16, imbalance on)
 *
 * RESULT stencil3d <PEs> <seconds per iteration> s   (the line perf/run.py reads)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "kernel.h"

static tern_type_t T_BLOCK;
static tern_ep_t EP_RUN, EP_GHOST, EP_RESUME;

typedef struct {
    int32_t N, B, nbs, iters, lb_every, imbalance, base, pad;
    tern_future_t done;
} params_t;

typedef struct {
    int32_t iter, dir; /* dir: 2 d + side of the receiver's ghost layer it fills */
} ghost_hdr_t;

typedef struct {
    params_t p;
    int32_t me[3], lin, iter, got[2], early[2], waiting;
    double *t, *u;       /* the block with its ghost layer: now and next */
    double *ghost[2];    /* faces that came a iteration early, by parity: 6 of B^2 */
} block_t;

#define OK(call) check_ok(#call, (call))
static void check_ok(const char *what, tern_status_t st)
{
    if (st != TERN_OK)
        tern_abort("stencil3d: %s failed: %s", what, tern_strerror(st));
}

static size_t face_pts(const block_t *b) { return (size_t)b->p.B * (size_t)b->p.B; }

static void alloc_block(block_t *b)
{
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    size_t np = st_points(ext);
    b->t = calloc(np, sizeof(double));
    b->u = calloc(np, sizeof(double));
    b->ghost[0] = malloc(12 * face_pts(b) * sizeof(double));
    if (!b->t || !b->u || !b->ghost[0])
        tern_abort("stencil3d: out of memory for a block of %d^3", b->p.B);
    b->ghost[1] = b->ghost[0] + 6 * face_pts(b);
}

static void block_ctor(void *self, const tern_msg_t *msg)
{
    block_t *b = self;
    memcpy(&b->p, tern_msg_data(msg), sizeof b->p);
    memcpy(b->me, tern_self_index(self), sizeof b->me);
    b->lin = (b->me[0] * b->p.nbs + b->me[1]) * b->p.nbs + b->me[2]; /* row-major */
    b->iter = 1;
    alloc_block(b);
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    const int origin[3] = {b->me[0] * b->p.B, b->me[1] * b->p.B, b->me[2] * b->p.B};
    st_constrain(b->t, ext, origin, b->p.B);
}

static void block_dtor(void *self)
{
    block_t *b = self;
    free(b->t);
    free(b->u);
    free(b->ghost[0]);
}

static void block_pup(void *self, tern_pup_t *p)
{
    block_t *b = self;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK)
        alloc_block(b);
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    tern_pup_bytes(p, b->t, st_points(ext) * sizeof(double));
    tern_pup_bytes(p, b->ghost[0], 12 * face_pts(b) * sizeof(double));
    /* u is overwritten by the next sweep */
}

/* My faces of iteration b->iter to my 6 neighbours (their ghost layers), each written
 * straight into a message that the runtime hands over without a copy on this PE. */
static void send_faces(block_t *b)
{
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    tern_proxy_t me = tern_self_collection(b);
    for (int d = 0; d < 3; d++)
        for (int side = 0; side < 2; side++) {
            int32_t nb[3] = {b->me[0], b->me[1], b->me[2]};
            nb[d] = (nb[d] + (side ? 1 : -1) + b->p.nbs) % b->p.nbs;
            tern_msg_t *m = tern_msg_alloc(sizeof(ghost_hdr_t) + face_pts(b) * sizeof(double));
            if (!m)
                tern_abort("stencil3d: out of memory for a face");
            ghost_hdr_t *h = tern_msg_buf(m);
            *h = (ghost_hdr_t){b->iter, 2 * d + !side}; /* my high face: its low ghosts */
            st_face_get(b->t, ext, d, side, (double *)(void *)(h + 1));
            tern_proxy_t to;
            OK(tern_proxy_elem(&me, nb, &to));
            OK(tern_send_msg(&to, EP_GHOST, m, NULL));
        }
}

/* Faces of the current iteration that came early, into the ghost layer. */
static void take_early(block_t *b)
{
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    int par = b->iter % 2;
    for (int dir = 0; b->early[par] && dir < 6; dir++)
        if (b->early[par] & (1 << dir)) {
            st_face_put(b->t, ext, dir / 2, dir % 2, b->ghost[par] + dir * face_pts(b));
            b->early[par] &= ~(1 << dir);
        }
}

/* Do the iterations whose faces are all in. */
static void advance(block_t *b)
{
    const int ext[3] = {b->p.B, b->p.B, b->p.B}, lo[3] = {0, 0, 0};
    const int origin[3] = {b->me[0] * b->p.B, b->me[1] * b->p.B, b->me[2] * b->p.B};
    while (!b->waiting && b->iter <= b->p.iters) {
        take_early(b);
        if (b->got[b->iter % 2] < 6)
            return;
        b->got[b->iter % 2] = 0;
        int nb = b->p.nbs * b->p.nbs * b->p.nbs;
        for (int w = st_work(b->lin, nb, b->iter, b->p.imbalance, b->p.base); w > 0; w--)
            st_sweep(b->t, b->u, ext, lo, ext);
        double *s = b->t;
        b->t = b->u;
        b->u = s;
        st_constrain(b->t, ext, origin, b->p.B);
        if (b->iter++ == b->p.iters) {
            double sum = st_checksum(b->t, ext);
            tern_callback_t cb = tern_cb_future(&b->p.done);
            OK(tern_contribute(b, &sum, sizeof sum, TERN_REDUCER(TERN_OP_SUM, TERN_DT_DOUBLE),
                               &cb));
            return;
        }
        if (b->p.lb_every > 0 && (b->iter - 1) % b->p.lb_every == 0) {
            b->waiting = 1;
            OK(tern_at_sync(b));
            return;
        }
        send_faces(b);
    }
}

static void block_run(void *self, const tern_msg_t *msg)
{
    (void)msg;
    block_t *b = self;
    send_faces(b);
    advance(b);
}

/* A face for the current iteration goes straight into the ghost layer (the sweep that
 * reads it has not run); one for the next waits in ghost[] until that one is current. */
static void block_ghost(void *self, const tern_msg_t *msg)
{
    block_t *b = self;
    const ghost_hdr_t *h = tern_msg_data(msg);
    const double *face = (const double *)(const void *)(h + 1);
    const int ext[3] = {b->p.B, b->p.B, b->p.B};
    if (h->iter == b->iter) {
        st_face_put(b->t, ext, h->dir / 2, h->dir % 2, face);
    } else if (h->iter == b->iter + 1) {
        memcpy(b->ghost[h->iter % 2] + h->dir * face_pts(b), face, face_pts(b) * sizeof(double));
        b->early[h->iter % 2] |= 1 << h->dir;
    } else {
        tern_abort("stencil3d: block (%d,%d,%d) at iteration %d got a face of iteration %d",
                   b->me[0], b->me[1], b->me[2], b->iter, h->iter);
    }
    b->got[h->iter % 2]++;
    advance(b);
}

static void block_resume(void *self, const tern_msg_t *msg)
{
    (void)msg;
    block_t *b = self;
    if (!b->waiting)
        return;
    b->waiting = 0;
    send_faces(b);
    advance(b);
}

static void start(int argc, char **argv)
{
    params_t p = {128, 16, 0, 100, 5, 1, 1, 0, {0}};
    int check = 0, pos = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        int *opt = !strcmp(argv[i], "-iters") ? &p.iters : !strcmp(argv[i], "-lb") ? &p.lb_every
                 : !strcmp(argv[i], "-imbalance") ? &p.imbalance
                 : !strcmp(argv[i], "-work") ? &p.base : NULL;
        if (opt && i + 1 < argc)
            *opt = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-check"))
            check = 1;
        else if (!opt && pos < 2 && argv[i][0] != '-')
            *(pos++ ? &p.B : &p.N) = atoi(argv[i]);
        else
            bad = 1;
    }
    if (bad || p.N < 1 || p.B < 1 || p.N % p.B || p.iters < 1 || p.lb_every < 0 || p.base < 1) {
        fprintf(stderr, "usage: stencil3d [N [B dividing N]] [-iters I] [-lb L] "
                        "[-imbalance 0|1] [-work W] [-check]\n");
        tern_exit(2);
        return;
    }
    p.nbs = p.N / p.B;
    OK(tern_future_create(1, &p.done));
    printf("stencil3d: %d^3 grid in %d^3 blocks of %d^3, %d iterations on %d PEs, %s, load "
           "balancing every %d (%s)\n", p.N, p.nbs, p.B, p.iters, tern_num_pes(),
           p.imbalance ? "imbalance" : "no imbalance", p.lb_every,
           tern_lb_strategy() ? tern_lb_strategy() : "no strategy");
    tern_array_opts_t opts = {.flags = TERN_ARRAY_AT_SYNC};
    tern_iov_t args = {&p, sizeof p};
    tern_proxy_t blocks;
    OK(tern_array_create_opts(T_BLOCK, 3, TERN_IDX(p.nbs, p.nbs, p.nbs), &args, 1, &opts,
                              &blocks));
    OK(tern_await_created(&blocks, 1));
    double t0 = tern_wall_time(), sum;
    OK(tern_send_buf(&blocks, EP_RUN, NULL, 0));
    OK(tern_future_get(&p.done, &sum, sizeof sum, NULL));
    double dt = tern_wall_time() - t0;
    printf("stencil3d: %d iterations in %.3f s: %.3f ms/iteration; checksum %.10e\n", p.iters,
           dt, dt * 1e3 / p.iters, sum);
    printf("RESULT stencil3d %d %.6f s\n", tern_num_pes(), dt / p.iters);
    int ok = 1;
    if (check) {
        double want = st_serial(p.N, p.B, p.iters);
        ok = fabs(sum - want) <= 1e-12 * fabs(want);
        printf("stencil3d: serial checksum %.10e: %s\n", want, ok ? "the same" : "WRONG");
    }
    tern_exit(ok ? 0 : 1);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"run", block_run, 0, &EP_RUN},
        {"ghost", block_ghost, 0, &EP_GHOST},
        {"resume", block_resume, 0, &EP_RESUME},
        {0},
    };
    if (tern_type_define("Block", sizeof(block_t), block_ctor, block_dtor, eps, &T_BLOCK) ||
        tern_type_migratable(T_BLOCK, block_pup, NULL) || tern_type_resume(T_BLOCK, EP_RESUME))
        return 1;
    return tern_run(argc, argv, start);
}
