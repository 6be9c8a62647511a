/*
 * Load balancing strategies: pure functions from measured loads to a new placement.
 *
 * A strategy sees objects (their load and the PE they are on, some fixed in place) and
 * PEs (their background load, speed and host), and writes where each object should go.
 * It knows nothing of the runtime: core/lb_step.c gathers the loads, runs one, and moves the
 * objects. Every strategy is deterministic: the same input gives the same placement.
 *
 * Loads are seconds of work at speed 1: an object measured at t seconds on a PE of speed
 * s has load t * s, and takes load / s' on a PE of speed s'. A PE's time is its background
 * load (time spent outside the balanced objects: the runtime, fixed objects of other
 * collections) plus the time of the objects on it.
 */
#ifndef TERN_LB_LB_H
#define TERN_LB_LB_H

#include <stddef.h>
#include <stdint.h>

/* Bytes and messages between two objects since the last step (the communication graph). */
typedef struct {
    uint32_t a, b;   /* object numbers */
    uint32_t msgs;
    uint64_t bytes;
} lb_edge_t;

typedef struct {
    uint32_t nobjs;
    int32_t npes;
    const double *load;    /* [nobjs] */
    const int32_t *from;   /* [nobjs] the PE each object is on */
    const uint8_t *fixed;  /* [nobjs] non-zero: may not move; NULL: every object may */
    const double *bg;      /* [npes] background load; NULL: none */
    const double *speed;   /* [npes] relative speed (> 0); NULL: all 1 */
    const int32_t *host;   /* [npes] host of each PE (0..nhosts-1); NULL: one host */
    int32_t nhosts;
    const lb_edge_t *edges; /* the communication graph; NULL when not measured */
    size_t nedges;
    double tolerance;      /* how far above the best maximum a kept placement may stay
                              (1.02: 2 %); strategies that refine use it */
} lb_input_t;

/* Writes to[i], the PE object i should be on, for every object. Returns 0, or -1 when
 * out of memory (to[] then keeps every object where it is). */
typedef int (*lb_fn)(const lb_input_t *in, int32_t *to);

typedef struct lb_strategy {
    const char *name;  /* as a user names it: "GreedyRefine" (or "GreedyRefineLB") */
    lb_fn fn;
    const char *what;  /* one line for --help and the README */
} lb_strategy_t;

/* The strategy called `name` (case-insensitive, a trailing "LB" allowed); NULL if none. */
const lb_strategy_t *lb_strategy_find(const char *name);
/* The i-th strategy of the list; NULL past its end. */
const lb_strategy_t *lb_strategy_at(int i);

/* Quality of a placement. */
typedef struct {
    double max, avg;   /* PE times */
    double bound;      /* a lower bound on any placement's max: max(avg over the PEs'
                          capacity, the heaviest movable object alone, the PEs' fixed work) */
    uint32_t moves;    /* objects whose PE changed */
} lb_quality_t;

/* PE times (each PE's background plus its objects) of placement `at`, into pe_time[npes]
 * (may be NULL), and the summary. Returns -1 when out of memory. */
int lb_quality(const lb_input_t *in, const int32_t *at, double *pe_time, lb_quality_t *q);

/* ---- shared pieces of the strategies (lb/common.c) ---- */

static inline double lb_speed(const lb_input_t *in, int pe)
{
    return in->speed ? in->speed[pe] : 1.0;
}
static inline int lb_fixed(const lb_input_t *in, uint32_t i)
{
    return in->fixed && in->fixed[i];
}

/* The movable objects, heaviest first (ties by number), into order[]; returns how many.
 * *fixed_time gets each PE's background plus fixed objects' time (npes entries). */
uint32_t lb_sorted_movable(const lb_input_t *in, uint32_t *order, double *fixed_time);

/* An indexed binary heap of PEs by time, least first (ties: lower PE first). */
typedef struct {
    int32_t *heap;   /* PEs */
    int32_t *pos;    /* [npes] place in heap, -1 when not in it */
    const double *key; /* [npes] the times, owned by the caller */
    int32_t n;
    int sign;        /* +1: least first; -1: greatest first */
} lb_heap_t;

int lb_heap_init(lb_heap_t *h, int32_t npes, const double *key, int sign);
void lb_heap_fini(lb_heap_t *h);
void lb_heap_push(lb_heap_t *h, int32_t pe);
int32_t lb_heap_top(const lb_heap_t *h);  /* -1 when empty */
void lb_heap_remove(lb_heap_t *h, int32_t pe);
void lb_heap_update(lb_heap_t *h, int32_t pe); /* after key[pe] changed */

/* Lower the maximum of placement `to` (PE times in t[]) toward `limit` by moving
 * movable objects off the busiest PEs to the least busy ones (Refine's step, which
 * GreedyRefine ends with). Returns -1 when out of memory. */
int lb_refine_placement(const lb_input_t *in, int32_t *to, double *t, double limit);

/* The strategies (one file each). */
int lb_greedy(const lb_input_t *in, int32_t *to);
int lb_greedy_refine(const lb_input_t *in, int32_t *to);
int lb_host_greedy_refine(const lb_input_t *in, int32_t *to);
int lb_refine(const lb_input_t *in, int32_t *to);
int lb_rotate(const lb_input_t *in, int32_t *to);
int lb_dummy(const lb_input_t *in, int32_t *to);

#endif
