/*
 * jacobi2d: Jacobi relaxation of Laplace's equation on an N x N grid whose top edge is
 * held at 1 and the other edges at 0, split into B x B blocks: a 2-D chare array.
 *
 * Each iteration a block sends its edge rows and columns to its (up to 4) neighbours
 * with tern_self_send, and updates its points once the ghost lines of that iteration
 * have come: iterations are driven by messages alone, with no barrier between them.
 * Every K iterations the blocks contribute their largest change to a max reduction
 * whose result comes to the main function, which stops below a residual of 1e-4 or
 * after MAXITER iterations. Main then redoes the same iterations serially: the residual
 * must be the same to the last bit (exit code 1 if not).
 *
 *     ternrun -n 4 ./jacobi2d [N [B [MAXITER [K]]]]      (defaults: 64 4 5000 50)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <tern/tern.h>

#define TOL 1e-4

static tern_type_t T_BLOCK;
static tern_ep_t EP_RUN, EP_GHOST;

enum { UP, DOWN, LEFT, RIGHT }; /* the sides of a block; side ^ 1 is the opposite one */

typedef struct {
    int32_t n, nblocks; /* points per side of a block, blocks per side of the grid */
} config_t;

typedef struct {
    int32_t k;              /* iterations to run */
    tern_future_t residual; /* where the largest change of the last one goes */
} run_t;

typedef struct {
    int32_t iter, side; /* the receiver's iteration and side this line belongs to */
    double v[];
} ghost_t;

/* A block keeps two grids of (n+2) x (n+2) points, its own and a ghost line on each
 * side: iteration i reads grid i % 2 and writes the inside of the other. A neighbour can
 * be one iteration ahead, and its line for i + 1 goes to the border of the other grid,
 * which iteration i does not touch. */
typedef struct {
    int n, nblocks, nneighbours;
    double *grid[2];
    ghost_t *out;
    int iter, stop; /* the iteration to do next; stop before this one */
    int arrived[2]; /* ghost lines come for iterations of each parity */
    tern_future_t report;
} block_t;

/* Offset of point k along side s of an n x n block at depth d from the outside (0: the
 * ghost line, 1: the block's own edge). */
static int edge(int n, int s, int d, int k)
{
    int w = n + 2;
    switch (s) {
    case UP: return d * w + 1 + k;
    case DOWN: return (n + 1 - d) * w + 1 + k;
    case LEFT: return (1 + k) * w + d;
    default: return (1 + k) * w + n + 1 - d;
    }
}

/* One sweep over the n x n inside of a grid with a border; the largest change. The
 * serial check uses it too, so that both do the same arithmetic. */
static double sweep(const double *t, double *u, int n)
{
    double res = 0;
    int w = n + 2;
    for (int i = 1; i <= n; i++)
        for (int j = 1; j <= n; j++) {
            int p = i * w + j;
            u[p] = 0.25 * (t[p - w] + t[p + w] + t[p - 1] + t[p + 1]);
            res = fmax(res, fabs(u[p] - t[p]));
        }
    return res;
}

static int neighbour(const int32_t *me, int s, int nblocks, int32_t *nb)
{
    nb[0] = me[0] + (s == DOWN) - (s == UP);
    nb[1] = me[1] + (s == RIGHT) - (s == LEFT);
    return nb[0] >= 0 && nb[1] >= 0 && nb[0] < nblocks && nb[1] < nblocks;
}

static void block_ctor(void *self, const tern_msg_t *msg)
{
    block_t *b = self;
    const config_t *c = tern_msg_data(msg);
    const int32_t *me = tern_self_index(self);
    b->n = c->n;
    b->nblocks = c->nblocks;
    size_t size = (size_t)(b->n + 2) * (b->n + 2);
    b->grid[0] = calloc(2 * size, sizeof(double));
    b->grid[1] = b->grid[0] + size;
    b->out = malloc(sizeof(ghost_t) + b->n * sizeof(double));
    if (!b->grid[0] || !b->out)
        tern_abort("jacobi2d: out of memory for a block of %d x %d", b->n, b->n);
    int32_t nb[2];
    for (int s = UP; s <= RIGHT; s++)
        b->nneighbours += neighbour(me, s, c->nblocks, nb);
    for (int k = 0; me[0] == 0 && k < b->n; k++) /* the hot top edge of the grid */
        b->grid[0][edge(b->n, UP, 0, k)] = b->grid[1][edge(b->n, UP, 0, k)] = 1;
}

static void block_dtor(void *self)
{
    block_t *b = self;
    free(b->grid[0]);
    free(b->out);
}

static void send_edges(block_t *b)
{
    const int32_t *me = tern_self_index(b);
    const double *g = b->grid[b->iter % 2];
    int32_t nb[2];
    for (int s = UP; s <= RIGHT; s++) {
        if (!neighbour(me, s, b->nblocks, nb))
            continue;
        b->out->iter = b->iter;
        b->out->side = s ^ 1; /* my upper edge is the lower ghost line of the one above */
        for (int k = 0; k < b->n; k++)
            b->out->v[k] = g[edge(b->n, s, 1, k)];
        tern_self_send(b, nb, EP_GHOST, b->out, sizeof(ghost_t) + b->n * sizeof(double));
    }
}

/* Do every iteration whose ghost lines are all in. */
static void advance(block_t *b)
{
    while (b->iter < b->stop && b->arrived[b->iter % 2] == b->nneighbours) {
        b->arrived[b->iter % 2] = 0;
        double res = sweep(b->grid[b->iter % 2], b->grid[(b->iter + 1) % 2], b->n);
        if (++b->iter < b->stop) {
            send_edges(b);
        } else {
            tern_callback_t cb = tern_cb_future(&b->report);
            tern_contribute(b, &res, sizeof res, TERN_REDUCER(TERN_OP_MAX, TERN_DT_DOUBLE),
                            &cb);
        }
    }
}

/* run(k, future): do k more iterations, then report the residual to the future. */
static void block_run(void *self, const tern_msg_t *msg)
{
    block_t *b = self;
    const run_t *r = tern_msg_data(msg);
    b->stop = b->iter + r->k;
    b->report = r->residual;
    send_edges(b);
    advance(b);
}

static void block_ghost(void *self, const tern_msg_t *msg)
{
    block_t *b = self;
    const ghost_t *in = tern_msg_data(msg);
    double *g = b->grid[in->iter % 2];
    for (int k = 0; k < b->n; k++)
        g[edge(b->n, in->side, 0, k)] = in->v[k];
    b->arrived[in->iter % 2]++;
    advance(b);
}

/* The residual after `iters` iterations on the whole grid, on one PE. */
static double serial_residual(int n, int iters)
{
    size_t size = (size_t)(n + 2) * (n + 2);
    double *g = calloc(2 * size, sizeof(double));
    if (!g)
        tern_abort("jacobi2d: out of memory for the serial check");
    for (int k = 1; k <= n; k++)
        g[k] = g[size + k] = 1;
    double res = 0;
    for (int i = 0; i < iters; i++)
        res = sweep(g + i % 2 * size, g + (i + 1) % 2 * size, n);
    free(g);
    return res;
}

static void start(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 64;
    int nblocks = argc > 2 ? atoi(argv[2]) : 4;
    int maxiter = argc > 3 ? atoi(argv[3]) : 5000;
    int k = argc > 4 ? atoi(argv[4]) : 50;
    if (n < 1 || nblocks < 1 || n % nblocks || maxiter < 1 || k < 1) {
        fprintf(stderr, "usage: jacobi2d [N [B dividing N [MAXITER [K]]]]\n");
        tern_exit(2);
        return;
    }
    config_t c = {n / nblocks, nblocks};
    tern_iov_t args = {&c, sizeof c};
    tern_proxy_t blocks;
    tern_array_create(T_BLOCK, 2, TERN_IDX(nblocks, nblocks), &args, 1, &blocks);

    double t0 = tern_wall_time(), res = INFINITY;
    int iter = 0;
    while (iter < maxiter && res >= TOL) {
        run_t r = {.k = maxiter - iter < k ? maxiter - iter : k};
        tern_future_create(1, &r.residual);
        tern_send_buf(&blocks, EP_RUN, &r, sizeof r);
        tern_future_get(&r.residual, &res, sizeof res, NULL);
        iter += r.k;
    }
    printf("jacobi2d: %d x %d grid in %d x %d blocks: %s after %d iterations, residual "
           "%.3g (%.3f s)\n", n, n, nblocks, nblocks, res < TOL ? "converged" : "stopped",
           iter, res, tern_wall_time() - t0);

    double want = serial_residual(n, iter);
    if (res != want)
        fprintf(stderr, "jacobi2d: WRONG: the serial run gives residual %.17g, not %.17g\n",
                want, res);
    tern_exit(res == want ? 0 : 1);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t eps[] = {
        {"run", block_run, 0, &EP_RUN},
        {"ghost", block_ghost, 0, &EP_GHOST},
        {0},
    };
    if (tern_type_define("Block", sizeof(block_t), block_ctor, block_dtor, eps, &T_BLOCK))
        return 1;
    return tern_run(argc, argv, start);
}
