/*
 * LeanMD on Tern: Lennard-Jones molecular dynamics with a cutoff, decomposed as Charm++'s
 * LeanMD mini-app is.
 *
 * Space is a periodic X x Y x Z box of cells (a 3-D array, one cell a 16 A cube of 300
 * atoms). For each pair of neighbouring cells, and each cell with itself, a compute (an
 * element of a sparse 6-D array: the first cell's index, then the second's as seen from the
 * first, unwrapped, so that it names a periodic image) computes the forces between their
 * atoms. Each step every cell multicasts its atoms' positions to the section of its
 * computes; each compute, once it has both cells' positions, sends each cell the forces
 * on its atoms; a cell that has all its computes' forces integrates (velocity Verlet).
 * Every -migrate steps atoms that left their cell go to the neighbour they entered; every
 * -lb steps both arrays call tern_at_sync, and the job's strategy (+balancer ...) moves
 * cells and computes. Every -energy steps the cells sum the kinetic and potential energy
 * into a future that the main function prints with the time per step.
 *
 *     ternrun -n 2 ./leanmd [X Y Z [STEPS]] [-energy N] [-migrate N] [-lb N] [-check]
 *                                                        (defaults: 3 3 3 100, 20 20 20)
 *
 * Checks: the total energy may drift from the first step's by at most 1e-3 of it (exit code
 * 1 otherwise); with -check (small systems), the program then runs the same steps on one
 * core with a plain O(N^2) loop over every pair and image (serial.c) and compares every
 * atom's position and velocity and the energies. perf/run.py reads the line
 * RESULT leanmd <PEs> <seconds per step> s.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

#include "physics.h"
#include "serial.h"

#define DRIFT_BOUND 1e-3

static tern_type_t T_CELL, T_COMPUTE;
static tern_ep_t EP_CREATE, EP_RUN, EP_POS, EP_FORCES, EP_ATOMS, EP_CELL_RESUME,
    EP_COMPUTE_RESUME;

/* What every cell and compute knows. */
typedef struct {
    int32_t dims[3], steps, energy_every, migrate_every, lb_every, check;
    tern_proxy_t cells, computes;
} params_t;

/* The steps whose energy is reported, and the futures their sums go to. */
typedef struct {
    int32_t n, pad;
    tern_future_t final;   /* -check: every atom, gathered after the last step */
    /* then tern_future_t fut[n] and int32_t step[n] (futures first: they need 8-byte
     * alignment) */
} run_hdr_t;

typedef struct {
    int32_t step, n, cell[3], pad;
} pos_hdr_t;

typedef struct {
    int32_t step, n;
    double potential;
} forces_hdr_t;

typedef struct {
    int32_t step, n;
} atoms_hdr_t;

enum { WAIT_RUN, WAIT_FORCES, WAIT_ATOMS, WAIT_LB, DONE };

typedef struct {
    params_t p;
    int32_t me[3], phase, step, nmembers, got_forces, nnbrs, got_atoms, atoms_step;
    int32_t nrep, next_rep, sec_pe, pending_n, pending_cap, pad;
    double potential;
    tern_proxy_t sec;        /* the section of my computes, rooted where I made it */
    lm_atoms_t a;
    int32_t *members;        /* [nmembers][6] my computes' indices */
    int32_t *nbrs;           /* [nnbrs][3] the other cells around me, each once */
    int32_t *rep_step;       /* [nrep] */
    tern_future_t *rep_fut;  /* [nrep] */
    tern_future_t final;
    double *pending;         /* atoms that came before my own migration phase, packed */
} cell_t;

typedef struct {
    params_t p;
    int32_t first[3], second[3]; /* second: wrapped */
    double shift[3];
    int32_t self, need, got, step, from_first, nbuf, capbuf, pad;
    double *buf;                 /* the first positions of a step: x[n] y[n] z[n] */
    double *f;                   /* scratch forces: fa x y z, fb x y z */
    int32_t capf, pad2;
} compute_t;

#define OK(call) check_ok(#call, (call))
static void check_ok(const char *what, tern_status_t st)
{
    if (st != TERN_OK)
        tern_abort("leanmd: %s failed: %s", what, tern_strerror(st));
}

static int wrapi(int x, int dim) { return ((x % dim) + dim) % dim; }

/* ---- cells ---- */

static void cell_ctor(void *self, const tern_msg_t *msg)
{
    cell_t *c = self;
    memcpy(&c->p, tern_msg_data(msg), sizeof c->p);
    const int32_t *me = tern_self_index(self);
    memcpy(c->me, me, sizeof c->me);
    c->p.cells = tern_self_collection(self);
    lm_cell_init(&c->a, me[0], me[1], me[2], c->p.dims);
    c->sec_pe = -1;
    c->phase = WAIT_RUN;
}

static void cell_dtor(void *self)
{
    cell_t *c = self;
    lm_atoms_free(&c->a);
    free(c->members);
    free(c->nbrs);
    free(c->rep_step);
    free(c->rep_fut);
    free(c->pending);
}

static void pup_array(tern_pup_t *p, void **ptr, size_t size)
{
    if (tern_pup_mode(p) == TERN_PUP_UNPACK)
        *ptr = size ? malloc(size) : NULL;
    if (size && !*ptr)
        tern_abort("leanmd: out of memory unpacking %zu bytes", size);
    if (size)
        tern_pup_bytes(p, *ptr, size);
}

static void cell_pup(void *self, tern_pup_t *p)
{
    cell_t *c = self;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK) {
        int n = c->a.n, cap = c->a.cap;
        lm_atoms_init(&c->a, cap);
        c->a.n = n;
    }
    double *fields[] = {c->a.x, c->a.y, c->a.z, c->a.vx, c->a.vy, c->a.vz,
                        c->a.fx, c->a.fy, c->a.fz, c->a.id};
    for (int k = 0; k < 10; k++)
        tern_pup_bytes(p, fields[k], (size_t)c->a.n * sizeof(double));
    pup_array(p, (void **)&c->members, (size_t)c->nmembers * 6 * sizeof(int32_t));
    pup_array(p, (void **)&c->nbrs, (size_t)c->nnbrs * 3 * sizeof(int32_t));
    pup_array(p, (void **)&c->rep_step, (size_t)c->nrep * sizeof(int32_t));
    pup_array(p, (void **)&c->rep_fut, (size_t)c->nrep * sizeof(tern_future_t));
    pup_array(p, (void **)&c->pending, (size_t)c->pending_cap * sizeof(double));
}

/* The compute of my neighbour at offset d: its first cell owns it. */
static void compute_of(const cell_t *c, const int *d, int32_t *idx)
{
    int up = (d[0] + 1) * 9 + (d[1] + 1) * 3 + (d[2] + 1) >= 13;
    for (int k = 0; k < 3; k++) {
        if (up) { /* mine: (me, me + d) */
            idx[k] = c->me[k];
            idx[3 + k] = c->me[k] + d[k];
        } else {  /* the neighbour's: (o, o - d), o = wrap(me + d) */
            int o = wrapi(c->me[k] + d[k], c->p.dims[k]);
            idx[k] = o;
            idx[3 + k] = o - d[k];
        }
    }
}

/* create(): insert the computes I own (the 14 of the upper half of my neighbourhood,
 * round robin from my PE as Charm++'s LeanMD does) and list the computes and cells around
 * me, each once. */
static void cell_create(void *self, const tern_msg_t *msg)
{
    (void)msg;
    cell_t *c = self;
    c->members = malloc(27 * 6 * sizeof(int32_t));
    c->nbrs = malloc(27 * 3 * sizeof(int32_t));
    if (!c->members || !c->nbrs)
        tern_abort("leanmd: out of memory");
    int pe = tern_my_pe(), npes = tern_num_pes();
    struct {
        params_t p;
    } args = {c->p};
    tern_iov_t iov = {&args, sizeof args};
    for (int num = 0; num < 27; num++) {
        int d[3] = {num / 9 - 1, num / 3 % 3 - 1, num % 3 - 1};
        int32_t idx[6];
        compute_of(c, d, idx);
        if (num >= 13)
            OK(tern_array_insert(&c->p.computes, idx, (++pe) % npes, &iov, 1));
        int dup = 0;
        for (int m = 0; m < c->nmembers && !dup; m++)
            dup = !memcmp(&c->members[6 * m], idx, sizeof idx);
        if (!dup)
            memcpy(&c->members[6 * c->nmembers++], idx, sizeof idx);
        int32_t nb[3];
        for (int k = 0; k < 3; k++)
            nb[k] = wrapi(c->me[k] + d[k], c->p.dims[k]);
        dup = !memcmp(nb, c->me, sizeof nb);
        for (int m = 0; m < c->nnbrs && !dup; m++)
            dup = !memcmp(&c->nbrs[3 * m], nb, sizeof nb);
        if (!dup)
            memcpy(&c->nbrs[3 * c->nnbrs++], nb, sizeof nb);
    }
}

static void send_positions(cell_t *c)
{
    if (c->sec_pe != tern_my_pe()) { /* (again) after a move: multicasts start here */
        OK(tern_section_create(&c->p.computes, c->members, c->nmembers, &c->sec));
        c->sec_pe = tern_my_pe();
    }
    pos_hdr_t h = {c->step, c->a.n, {c->me[0], c->me[1], c->me[2]}, 0};
    size_t len = (size_t)c->a.n * sizeof(double);
    tern_iov_t iov[4] = {{&h, sizeof h}, {c->a.x, len}, {c->a.y, len}, {c->a.z, len}};
    c->phase = WAIT_FORCES;
    c->got_forces = 0;
    c->potential = 0;
    OK(tern_send(&c->sec, EP_POS, iov, 4, NULL));
}

static void cell_run(void *self, const tern_msg_t *msg)
{
    cell_t *c = self;
    const run_hdr_t *h = tern_msg_data(msg);
    c->nrep = h->n;
    c->final = h->final;
    c->rep_step = malloc((size_t)h->n * sizeof(int32_t) + 1);
    c->rep_fut = malloc((size_t)h->n * sizeof(tern_future_t) + 1);
    if (!c->rep_step || !c->rep_fut)
        tern_abort("leanmd: out of memory");
    memcpy(c->rep_fut, h + 1, (size_t)h->n * sizeof(tern_future_t));
    memcpy(c->rep_step, (const char *)(h + 1) + (size_t)h->n * sizeof(tern_future_t),
           (size_t)h->n * sizeof(int32_t));
    c->step = 1;
    send_positions(c);
}

static void next_step(cell_t *c)
{
    c->step++;
    send_positions(c);
}

static void after_migration(cell_t *c)
{
    if (c->p.lb_every > 0 && c->step % c->p.lb_every == 0) {
        c->phase = WAIT_LB;
        OK(tern_at_sync(c));
        return;
    }
    next_step(c);
}

static void take_pending(cell_t *c)
{
    int n = 0;
    for (size_t off = 0; off < (size_t)c->pending_n;) { /* runs of [n, packed atoms] */
        n = (int)c->pending[off];
        lm_atoms_unpack_append(&c->a, c->pending + off + 1, n);
        off += 1 + lm_atoms_packed_size(n) / sizeof(double);
    }
    c->pending_n = 0;
}

static void migration_done_if_all(cell_t *c)
{
    if (c->phase == WAIT_ATOMS && c->got_atoms == c->nnbrs) {
        take_pending(c);
        c->got_atoms = 0;
        after_migration(c);
    }
}

/* Atoms that left my cell go to the cell they are in now (wrapped); one message to every
 * neighbour, empty or not, so that each knows when it has all. */
static void migrate_atoms(cell_t *c)
{
    int nn = c->nnbrs;
    int *count = calloc((size_t)nn, sizeof *count);
    int *dest = malloc((size_t)c->a.n * sizeof *dest + 1);
    if (!count || !dest)
        tern_abort("leanmd: out of memory");
    lm_atoms_t *a = &c->a;
    for (int i = 0; i < a->n; i++) {
        int t[3] = {lm_cell_of(a->x[i], c->p.dims[0]), lm_cell_of(a->y[i], c->p.dims[1]),
                    lm_cell_of(a->z[i], c->p.dims[2])};
        dest[i] = -1;
        if (!memcmp(t, c->me, sizeof t)) { /* still mine, maybe through the box's side */
            a->x[i] = lm_wrap(a->x[i], c->p.dims[0]);
            a->y[i] = lm_wrap(a->y[i], c->p.dims[1]);
            a->z[i] = lm_wrap(a->z[i], c->p.dims[2]);
            continue;
        }
        for (int m = 0; m < nn && dest[i] < 0; m++)
            if (!memcmp(&c->nbrs[3 * m], t, sizeof t))
                dest[i] = m;
        if (dest[i] < 0)
            tern_abort("leanmd: atom %.0f of cell (%d,%d,%d) went past its neighbours to "
                       "(%d,%d,%d) in %d steps: lower -migrate", a->id[i], c->me[0], c->me[1],
                       c->me[2], t[0], t[1], t[2], c->p.migrate_every);
        a->x[i] = lm_wrap(a->x[i], c->p.dims[0]);
        a->y[i] = lm_wrap(a->y[i], c->p.dims[1]);
        a->z[i] = lm_wrap(a->z[i], c->p.dims[2]);
        count[dest[i]]++;
    }
    int *which = malloc((size_t)a->n * sizeof *which + 1);
    double *buf = malloc(lm_atoms_packed_size(a->n) + 1);
    if (!which || !buf)
        tern_abort("leanmd: out of memory");
    for (int m = 0; m < nn; m++) {
        int n = 0;
        for (int i = 0; i < a->n; i++)
            if (dest[i] == m)
                which[n++] = i;
        lm_atoms_pack(a, which, n, buf);
        atoms_hdr_t h = {c->step, n};
        tern_iov_t iov[2] = {{&h, sizeof h}, {buf, lm_atoms_packed_size(n)}};
        tern_proxy_t to;
        OK(tern_proxy_elem(&c->p.cells, &c->nbrs[3 * m], &to));
        OK(tern_send(&to, EP_ATOMS, iov, n ? 2 : 1, NULL));
    }
    for (int i = a->n - 1; i >= 0; i--) /* from the end: the last takes a removed one's place */
        if (dest[i] >= 0)
            lm_atoms_remove(a, i);
    free(which);
    free(buf);
    free(count);
    free(dest);
    c->phase = WAIT_ATOMS;
    migration_done_if_all(c);
}

/* Atoms from a neighbour for its migration phase of `step` (mine may not have come yet:
 * they wait in `pending`, as [n, packed atoms]). */
static void cell_atoms(void *self, const tern_msg_t *msg)
{
    cell_t *c = self;
    const atoms_hdr_t *h = tern_msg_data(msg);
    if (c->got_atoms && c->atoms_step != h->step)
        tern_abort("leanmd: atoms of step %d came while those of step %d were awaited",
                   h->step, c->atoms_step);
    c->atoms_step = h->step;
    c->got_atoms++;
    if (h->n > 0) {
        size_t need = (size_t)c->pending_n + 1 + lm_atoms_packed_size(h->n) / sizeof(double);
        if (need > (size_t)c->pending_cap) {
            c->pending_cap = (int32_t)(2 * need);
            c->pending = realloc(c->pending, (size_t)c->pending_cap * sizeof(double));
            if (!c->pending)
                tern_abort("leanmd: out of memory");
        }
        c->pending[c->pending_n] = h->n;
        memcpy(c->pending + c->pending_n + 1, tern_msg_seg(msg, 1, NULL),
               lm_atoms_packed_size(h->n));
        c->pending_n = (int32_t)need;
    }
    migration_done_if_all(c);
}

static void finish_step(cell_t *c)
{
    lm_atoms_t *a = &c->a;
    if (c->step > 1)
        lm_kick(a); /* the second half of the last step's kick: velocities of these positions */
    if (c->next_rep < c->nrep && c->rep_step[c->next_rep] == c->step) {
        double e[2] = {lm_kinetic(a), c->potential};
        tern_callback_t cb = tern_cb_future(&c->rep_fut[c->next_rep++]);
        OK(tern_contribute(c, e, sizeof e, TERN_REDUCER(TERN_OP_SUM, TERN_DT_DOUBLE), &cb));
    }
    if (c->step == c->p.steps) {
        c->phase = DONE;
        if (c->p.check) { /* every atom as (id, x, y, z, vx, vy, vz) */
            double *rows = malloc((size_t)a->n * 7 * sizeof(double) + 1);
            if (!rows)
                tern_abort("leanmd: out of memory");
            for (int i = 0; i < a->n; i++) {
                double r[7] = {a->id[i], a->x[i], a->y[i], a->z[i], a->vx[i], a->vy[i], a->vz[i]};
                memcpy(rows + 7 * i, r, sizeof r);
            }
            tern_callback_t cb = tern_cb_future(&c->final);
            OK(tern_contribute(c, rows, (size_t)a->n * 7 * sizeof(double), TERN_REDUCER_GATHER,
                               &cb));
            free(rows);
        }
        return;
    }
    lm_kick(a);
    lm_drift(a);
    if (c->p.migrate_every > 0 && c->step % c->p.migrate_every == 0)
        migrate_atoms(c);
    else
        after_migration(c);
}

static void cell_forces(void *self, const tern_msg_t *msg)
{
    cell_t *c = self;
    const forces_hdr_t *h = tern_msg_data(msg);
    if (c->phase != WAIT_FORCES || h->step != c->step || h->n != c->a.n)
        tern_abort("leanmd: cell (%d,%d,%d) got forces of step %d for %d atoms at step %d "
                   "with %d", c->me[0], c->me[1], c->me[2], h->step, h->n, c->step, c->a.n);
    const double *f[3];
    for (int k = 0; k < 3; k++)
        f[k] = tern_msg_seg(msg, 1 + k, NULL);
    lm_atoms_t *a = &c->a;
    if (c->got_forces == 0) {
        memcpy(a->fx, f[0], (size_t)a->n * sizeof(double));
        memcpy(a->fy, f[1], (size_t)a->n * sizeof(double));
        memcpy(a->fz, f[2], (size_t)a->n * sizeof(double));
    } else {
        for (int i = 0; i < a->n; i++) {
            a->fx[i] += f[0][i];
            a->fy[i] += f[1][i];
            a->fz[i] += f[2][i];
        }
    }
    c->potential += h->potential;
    if (++c->got_forces == c->nmembers)
        finish_step(c);
}

static void cell_resume(void *self, const tern_msg_t *msg)
{
    (void)msg;
    cell_t *c = self;
    if (c->phase == WAIT_LB)
        next_step(c);
}

/* ---- computes ---- */

static int is_report_step(const params_t *p, int step)
{
    return step == 1 || step == p->steps || (p->energy_every > 0 && step % p->energy_every == 0);
}

static void compute_ctor(void *self, const tern_msg_t *msg)
{
    compute_t *w = self;
    memcpy(&w->p, tern_msg_data(msg), sizeof w->p);
    const int32_t *idx = tern_self_index(self);
    for (int k = 0; k < 3; k++) {
        w->first[k] = idx[k];
        w->second[k] = wrapi(idx[3 + k], w->p.dims[k]);
        w->shift[k] = (idx[3 + k] - w->second[k]) * LM_CELL;
    }
    w->self = !memcmp(idx, idx + 3, 3 * sizeof(int32_t));
    w->need = w->self || !memcmp(w->first, w->second, sizeof w->first) ? 1 : 2;
}

static void compute_dtor(void *self)
{
    compute_t *w = self;
    free(w->buf);
    free(w->f);
}

static void compute_pup(void *self, tern_pup_t *p)
{
    compute_t *w = self;
    w->capf = tern_pup_mode(p) == TERN_PUP_UNPACK ? 0 : w->capf;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK)
        w->f = NULL, w->capbuf = w->got ? w->capbuf : 0;
    if (w->got)
        pup_array(p, (void **)&w->buf, (size_t)w->capbuf * 3 * sizeof(double));
    else if (tern_pup_mode(p) == TERN_PUP_UNPACK)
        w->buf = NULL;
}

static double *scratch(compute_t *w, int na, int nb)
{
    int need = 3 * (na + nb);
    if (need > w->capf) {
        free(w->f);
        w->capf = need + need / 4;
        w->f = malloc((size_t)w->capf * sizeof(double));
        if (!w->f)
            tern_abort("leanmd: out of memory");
    }
    memset(w->f, 0, (size_t)need * sizeof(double));
    return w->f;
}

static void send_forces(compute_t *w, const int32_t *cell, int step, const double *f, int n,
                        double potential)
{
    forces_hdr_t h = {step, n, potential};
    size_t len = (size_t)n * sizeof(double);
    tern_iov_t iov[4] = {{&h, sizeof h}, {f, len}, {f + n, len}, {f + 2 * n, len}};
    tern_proxy_t to;
    OK(tern_proxy_elem(&w->p.cells, cell, &to));
    OK(tern_send(&to, EP_FORCES, iov, 4, NULL));
}

static void after_compute(compute_t *w, int step)
{
    w->got = 0;
    w->step = step;
    if (w->p.lb_every > 0 && step % w->p.lb_every == 0 && step < w->p.steps)
        OK(tern_at_sync(w));
}

static void compute_pos(void *self, const tern_msg_t *msg)
{
    compute_t *w = self;
    const pos_hdr_t *h = tern_msg_data(msg);
    const double *x = tern_msg_seg(msg, 1, NULL), *y = tern_msg_seg(msg, 2, NULL),
                 *z = tern_msg_seg(msg, 3, NULL);
    int n = h->n, energy = is_report_step(&w->p, h->step);
    if (w->need == 1) {
        double *f = scratch(w, n, n), u;
        if (w->self) {
            u = lm_forces(x, y, z, n, x, y, z, n, 0, 0, 0, 1, f, f + n, f + 2 * n, NULL, NULL,
                          NULL, energy);
        } else { /* a cell and its own periodic image (a dimension of 1 or 2 cells) */
            double *g = f + 3 * n;
            u = lm_forces(x, y, z, n, x, y, z, n, w->shift[0], w->shift[1], w->shift[2], 0, f,
                          f + n, f + 2 * n, g, g + n, g + 2 * n, energy);
            for (int i = 0; i < 3 * n; i++)
                f[i] += g[i];
        }
        send_forces(w, w->first, h->step, f, n, u);
        after_compute(w, h->step);
        return;
    }
    int from_first = !memcmp(h->cell, w->first, sizeof w->first);
    if (!w->got) { /* keep the first cell's positions until the other's come */
        if (n > w->capbuf) {
            free(w->buf);
            w->capbuf = n + n / 4;
            w->buf = malloc((size_t)w->capbuf * 3 * sizeof(double));
            if (!w->buf)
                tern_abort("leanmd: out of memory");
        }
        memcpy(w->buf, x, (size_t)n * sizeof(double));
        memcpy(w->buf + w->capbuf, y, (size_t)n * sizeof(double));
        memcpy(w->buf + 2 * w->capbuf, z, (size_t)n * sizeof(double));
        w->nbuf = n;
        w->from_first = from_first;
        w->got = 1;
        w->step = h->step;
        return;
    }
    if (h->step != w->step || from_first == w->from_first)
        tern_abort("leanmd: compute got positions of step %d from the %s cell after step %d's "
                   "of the %s", h->step, from_first ? "first" : "second", w->step,
                   w->from_first ? "first" : "second");
    const double *bx = w->buf, *by = w->buf + w->capbuf, *bz = w->buf + 2 * w->capbuf;
    const double *A[3] = {x, y, z}, *B[3] = {bx, by, bz};
    int na = n, nb = w->nbuf;
    if (!from_first) { /* the buffered one is the first cell's */
        const double *t[3] = {A[0], A[1], A[2]};
        memcpy(A, B, sizeof A);
        memcpy(B, t, sizeof B);
        na = w->nbuf;
        nb = n;
    }
    double *f = scratch(w, na, nb), *g = f + 3 * na;
    double u = lm_forces(A[0], A[1], A[2], na, B[0], B[1], B[2], nb, w->shift[0], w->shift[1],
                         w->shift[2], 0, f, f + na, f + 2 * na, g, g + nb, g + 2 * nb, energy);
    send_forces(w, w->first, h->step, f, na, u);
    send_forces(w, w->second, h->step, g, nb, 0);
    after_compute(w, h->step);
}

static void compute_resume(void *self, const tern_msg_t *msg)
{
    (void)self;
    (void)msg;
}

/* ---- the main function ---- */

static double e0;
static int serial_ok = 1, serial_nrep;
static const int32_t *serial_rep_step;
static const double *serial_rep_e;

static void serial_report(void *arg, int step, double kinetic, double potential)
{
    (void)arg;
    for (int k = 0; k < serial_nrep; k++) {
        if (serial_rep_step[k] != step)
            continue;
        double want = kinetic + potential, got = serial_rep_e[k];
        if (fabs(got - want) > 1e-9 * fabs(want)) {
            printf("leanmd: WRONG: energy at step %d %.12e, the serial run gives %.12e\n",
                   step, got, want);
            serial_ok = 0;
        }
    }
}

static int cmp_id(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run the same steps serially and compare every atom and the energies. */
static int check_serial(const int *dims, int steps, double *rows, size_t natoms,
                        const int32_t *rep_step, const double *rep_e, int nrep)
{
    lm_atoms_t all;
    lm_serial_init(&all, dims);
    serial_rep_step = rep_step;
    serial_rep_e = rep_e;
    serial_nrep = nrep;
    double t0 = tern_wall_time();
    lm_serial_run(&all, dims, steps, serial_report, NULL);
    if (natoms != (size_t)all.n) {
        printf("leanmd: WRONG: %zu atoms at the end, the serial run has %d\n", natoms, all.n);
        lm_atoms_free(&all);
        return 0;
    }
    qsort(rows, natoms, 7 * sizeof(double), cmp_id);
    double vmax = 0, dx = 0, dv = 0;
    for (int i = 0; i < all.n; i++)
        vmax = fmax(vmax, fabs(all.vx[i]) + fabs(all.vy[i]) + fabs(all.vz[i]));
    for (int i = 0; i < all.n; i++) {
        const double *r = rows + 7 * (size_t)all.id[i]; /* serial atoms are in id order */
        if (r[0] != all.id[i]) {
            printf("leanmd: WRONG: atom %.0f missing\n", all.id[i]);
            serial_ok = 0;
            break;
        }
        double L[3] = {dims[0] * LM_CELL, dims[1] * LM_CELL, dims[2] * LM_CELL};
        double p[3] = {all.x[i], all.y[i], all.z[i]}, v[3] = {all.vx[i], all.vy[i], all.vz[i]};
        for (int k = 0; k < 3; k++) {
            double d = fabs(r[1 + k] - p[k]);
            d = fmin(d, fabs(d - L[k])); /* one of them may have wrapped through the box */
            dx = fmax(dx, d);
            dv = fmax(dv, fabs(r[4 + k] - v[k]));
        }
    }
    printf("leanmd: serial check of %d atoms over %d steps (%.2f s): largest differences "
           "%.2e A in position, %.2e of the fastest speed\n", all.n, steps,
           tern_wall_time() - t0, dx, vmax > 0 ? dv / vmax : dv);
    if (dx > 1e-8 || dv > 1e-8 * vmax) {
        printf("leanmd: WRONG: the parallel run strays from the serial one\n");
        serial_ok = 0;
    }
    lm_atoms_free(&all);
    return serial_ok;
}

/* The number after option argv[*i] (which it steps over). */
static int arg_int(char **argv, int *i, int argc)
{
    if (++*i >= argc)
        tern_abort("leanmd: %s wants a number", argv[*i - 1]);
    return atoi(argv[*i]);
}

static void start(int argc, char **argv)
{
    params_t p = {{3, 3, 3}, 100, 20, 20, 20, 0, {0}, {0}};
    int pos = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-energy"))
            p.energy_every = arg_int(argv, &i, argc);
        else if (!strcmp(argv[i], "-migrate"))
            p.migrate_every = arg_int(argv, &i, argc);
        else if (!strcmp(argv[i], "-lb"))
            p.lb_every = arg_int(argv, &i, argc);
        else if (!strcmp(argv[i], "-check"))
            p.check = 1;
        else if (pos < 3)
            p.dims[pos++] = atoi(argv[i]);
        else if (pos == 3)
            p.steps = atoi(argv[i]), pos++;
        else
            pos = 99;
    }
    if ((pos != 0 && pos < 3) || pos > 4 || p.dims[0] < 1 || p.dims[1] < 1 || p.dims[2] < 1 ||
        p.dims[0] > 500 || p.dims[1] > 500 || p.dims[2] > 500 || p.steps < 1 ||
        p.energy_every < 0 || p.migrate_every < 0 || p.lb_every < 0) {
        fprintf(stderr, "usage: leanmd [X Y Z [STEPS]] [-energy N] [-migrate N] [-lb N] "
                        "[-check]   (X, Y, Z in 1..500)\n");
        tern_exit(2);
        return;
    }
    int ncells = p.dims[0] * p.dims[1] * p.dims[2];
    printf("leanmd: %d x %d x %d cells (%d atoms), %d steps on %d PEs; energy every %d, "
           "atoms migrate every %d, load balancing every %d steps (%s); kernel %s\n",
           p.dims[0], p.dims[1], p.dims[2], ncells * LM_ATOMS, p.steps, tern_num_pes(),
           p.energy_every, p.migrate_every, p.lb_every,
           tern_lb_strategy() ? tern_lb_strategy() : "no strategy", lm_kernel_variant());
    double t_start = tern_wall_time();
    tern_array_opts_t opts = {.flags = TERN_ARRAY_AT_SYNC};
    OK(tern_array_create_opts(T_COMPUTE, 6, NULL, NULL, 0, &opts, &p.computes));
    tern_proxy_t cells; /* (each cell puts its collection in its own p.cells) */
    tern_iov_t args = {&p, sizeof p};
    opts.map = TERN_MAP_BLOCK;
    OK(tern_array_create_opts(T_CELL, 3, p.dims, &args, 1, &opts, &cells));
    tern_future_t f;
    OK(tern_call(&cells, EP_CREATE, NULL, 0, TERN_CALL_DONE, NULL, &f));
    OK(tern_future_wait(&f));
    tern_future_free(&f);
    OK(tern_array_done_inserting(&p.computes));

    /* the steps reported: 1, every -energy, the last */
    int nrep = 0;
    int32_t *rep_step = malloc(((size_t)p.steps + 2) * sizeof(int32_t));
    for (int s = 1; rep_step && s <= p.steps; s++)
        if (is_report_step(&p, s))
            rep_step[nrep++] = s;
    size_t hlen = sizeof(run_hdr_t) + (size_t)nrep * (sizeof(int32_t) + sizeof(tern_future_t));
    run_hdr_t *h = calloc(1, hlen);
    double *rep_e = malloc(((size_t)nrep + 1) * sizeof(double));
    if (!rep_step || !h || !rep_e)
        tern_abort("leanmd: out of memory");
    h->n = nrep;
    tern_future_t *fut = (tern_future_t *)(void *)(h + 1);
    memcpy(fut + nrep, rep_step, (size_t)nrep * sizeof(int32_t));
    for (int k = 0; k < nrep; k++)
        OK(tern_future_create(1, &fut[k]));
    if (p.check)
        OK(tern_future_create(1, &h->final));
    tern_future_t final = h->final;
    double t_setup = tern_wall_time() - t_start;
    double t0 = tern_wall_time(), t_prev = t0, worst = 0;
    OK(tern_send_buf(&cells, EP_RUN, h, hlen));
    int prev_step = 0;
    for (int k = 0; k < nrep; k++) {
        double e[2];
        OK(tern_future_get(&fut[k], e, sizeof e, NULL));
        double now = tern_wall_time(), total = e[0] + e[1];
        rep_e[k] = total;
        if (k == 0)
            e0 = total;
        double drift = (total - e0) / fabs(e0);
        worst = fmax(worst, fabs(drift));
        if (k == 0)
            printf("leanmd: step %d: energy %.9e J (kinetic %.4e, potential %.4e)\n",
                   rep_step[k], total, e[0], e[1]);
        else
            printf("leanmd: step %d: %.3f ms/step, energy %.9e J (kinetic %.4e, potential "
                   "%.4e), drift %+.2e\n", rep_step[k],
                   (now - t_prev) * 1e3 / (rep_step[k] - prev_step), total, e[0], e[1], drift);
        t_prev = now;
        prev_step = rep_step[k];
    }
    double t_run = tern_wall_time() - t0;
    printf("leanmd: %d steps in %.3f s: %.3f ms/step (set-up %.3f s); energy drift at most "
           "%.2e of the first step's (bound %.0e)\n", p.steps, t_run, t_run * 1e3 / p.steps,
           t_setup, worst, DRIFT_BOUND);
    printf("RESULT leanmd %d %.6f s\n", tern_num_pes(), t_run / p.steps);
    int ok = worst <= DRIFT_BOUND;
    if (!ok)
        printf("leanmd: WRONG: the energy drifted by %.2e of the first step's\n", worst);
    if (p.check) {
        size_t len = 0;
        OK(tern_future_wait(&final));
        const double *rows = tern_future_value(&final, 0, &len);
        double *copy = malloc(len + 1);
        if (!copy)
            tern_abort("leanmd: out of memory");
        memcpy(copy, rows, len);
        tern_future_free(&final);
        ok &= check_serial(p.dims, p.steps, copy, len / (7 * sizeof(double)), rep_step, rep_e,
                           nrep);
        free(copy);
    }
    free(rep_step);
    free(rep_e);
    free(h);
    tern_exit(ok ? 0 : 1);
}

int main(int argc, char **argv)
{
    const tern_ep_def_t cell_eps[] = {
        {"create", cell_create, 0, &EP_CREATE},
        {"run", cell_run, 0, &EP_RUN},
        {"forces", cell_forces, 0, &EP_FORCES},
        {"atoms", cell_atoms, 0, &EP_ATOMS},
        {"resume", cell_resume, 0, &EP_CELL_RESUME},
        {0},
    };
    const tern_ep_def_t compute_eps[] = {
        {"positions", compute_pos, 0, &EP_POS},
        {"resume", compute_resume, 0, &EP_COMPUTE_RESUME},
        {0},
    };
    if (tern_type_define("Cell", sizeof(cell_t), cell_ctor, cell_dtor, cell_eps, &T_CELL) ||
        tern_type_define("Compute", sizeof(compute_t), compute_ctor, compute_dtor, compute_eps,
                         &T_COMPUTE) ||
        tern_type_migratable(T_CELL, cell_pup, NULL) ||
        tern_type_migratable(T_COMPUTE, compute_pup, NULL) ||
        tern_type_resume(T_CELL, EP_CELL_RESUME) || tern_type_resume(T_COMPUTE, EP_COMPUTE_RESUME))
        return 1;
    return tern_run(argc, argv, start);
}
