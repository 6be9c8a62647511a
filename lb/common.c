/* What the strategies share: the sorted objects, a heap of PEs, quality, the refine step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lb/lb.h"

/* ---- movable objects, heaviest first ---- */

/* Loads are non-negative doubles, whose bit patterns sort as their values do: a stable
 * radix sort of the complemented patterns puts the heaviest first and keeps equal loads
 * in object order. 11 bits a pass, 6 passes. */
uint32_t lb_sorted_movable(const lb_input_t *in, uint32_t *order, double *fixed_time)
{
    for (int32_t p = 0; p < in->npes; p++)
        fixed_time[p] = in->bg ? in->bg[p] : 0.0;
    uint32_t n = 0;
    for (uint32_t i = 0; i < in->nobjs; i++) {
        if (lb_fixed(in, i))
            fixed_time[in->from[i]] += in->load[i] / lb_speed(in, in->from[i]);
        else
            order[n++] = i;
    }
    if (n < 2)
        return n;
    uint64_t *key = malloc((size_t)n * 2 * sizeof *key);
    uint32_t *tmp = malloc((size_t)n * sizeof *tmp);
    if (!key || !tmp) { /* no memory: an insertion sort would be too slow; keep order */
        free(key);
        free(tmp);
        return n;
    }
    uint64_t *k0 = key, *k1 = key + n;
    for (uint32_t j = 0; j < n; j++) {
        double l = in->load[order[j]];
        uint64_t b;
        if (!(l > 0)) /* 0, -0, negative or NaN: lightest */
            l = 0;
        memcpy(&b, &l, sizeof b);
        k0[j] = ~b;
    }
    uint32_t count[2048];
    uint32_t *src = order, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 11) {
        memset(count, 0, sizeof count);
        for (uint32_t j = 0; j < n; j++)
            count[(k0[j] >> shift) & 2047]++;
        if (count[(k0[0] >> shift) & 2047] == n)
            continue; /* every key has this digit */
        uint32_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            uint32_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (uint32_t j = 0; j < n; j++) {
            uint32_t at = count[(k0[j] >> shift) & 2047]++;
            dst[at] = src[j];
            k1[at] = k0[j];
        }
        uint32_t *s = src;
        src = dst;
        dst = s;
        uint64_t *k = k0;
        k0 = k1;
        k1 = k;
    }
    if (src != order)
        memcpy(order, src, (size_t)n * sizeof *order);
    free(key);
    free(tmp);
    return n;
}

/* ---- a heap of PEs ---- */

static int before(const lb_heap_t *h, int32_t a, int32_t b)
{
    double ka = h->key[a] * h->sign, kb = h->key[b] * h->sign;
    return ka < kb || (ka == kb && a < b);
}

static void heap_set(lb_heap_t *h, int32_t i, int32_t pe)
{
    h->heap[i] = pe;
    h->pos[pe] = i;
}

static void sift_up(lb_heap_t *h, int32_t i)
{
    int32_t pe = h->heap[i];
    while (i > 0) {
        int32_t up = (i - 1) / 2;
        if (!before(h, pe, h->heap[up]))
            break;
        heap_set(h, i, h->heap[up]);
        i = up;
    }
    heap_set(h, i, pe);
}

static void sift_down(lb_heap_t *h, int32_t i)
{
    int32_t pe = h->heap[i];
    for (;;) {
        int32_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h, h->heap[c + 1], h->heap[c]))
            c++;
        if (!before(h, h->heap[c], pe))
            break;
        heap_set(h, i, h->heap[c]);
        i = c;
    }
    heap_set(h, i, pe);
}

int lb_heap_init(lb_heap_t *h, int32_t npes, const double *key, int sign)
{
    h->heap = malloc((size_t)npes * sizeof *h->heap);
    h->pos = malloc((size_t)npes * sizeof *h->pos);
    h->key = key;
    h->n = 0;
    h->sign = sign;
    if (!h->heap || !h->pos) {
        lb_heap_fini(h);
        return -1;
    }
    for (int32_t p = 0; p < npes; p++)
        h->pos[p] = -1;
    return 0;
}

void lb_heap_fini(lb_heap_t *h)
{
    free(h->heap);
    free(h->pos);
    h->heap = h->pos = NULL;
    h->n = 0;
}

void lb_heap_push(lb_heap_t *h, int32_t pe)
{
    heap_set(h, h->n, pe);
    sift_up(h, h->n++);
}

int32_t lb_heap_top(const lb_heap_t *h) { return h->n ? h->heap[0] : -1; }

void lb_heap_remove(lb_heap_t *h, int32_t pe)
{
    int32_t i = h->pos[pe];
    if (i < 0)
        return;
    h->pos[pe] = -1;
    if (i == --h->n)
        return;
    int32_t last = h->heap[h->n];
    heap_set(h, i, last);
    sift_up(h, i);
    sift_down(h, h->pos[last]);
}

void lb_heap_update(lb_heap_t *h, int32_t pe)
{
    int32_t i = h->pos[pe];
    if (i < 0)
        return;
    sift_up(h, i);
    sift_down(h, h->pos[pe]);
}

/* ---- quality ---- */

/* The least T at which the PEs, each busy with its fixed time first, have room for the
 * movable work W: sum over PEs of max(0, T - fixed[p]) * speed[p] = W. */
static double water_level(const lb_input_t *in, const double *fixed, double work)
{
    double lo = 0, hi = 0, cap = 0;
    for (int32_t p = 0; p < in->npes; p++) {
        if (fixed[p] > hi)
            hi = fixed[p];
        cap += lb_speed(in, p);
    }
    hi += work / cap + 1e-300;
    for (int it = 0; it < 100 && hi - lo > 1e-12 * hi; it++) {
        double mid = 0.5 * (lo + hi), room = 0;
        for (int32_t p = 0; p < in->npes; p++)
            if (mid > fixed[p])
                room += (mid - fixed[p]) * lb_speed(in, p);
        if (room >= work)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

int lb_quality(const lb_input_t *in, const int32_t *at, double *pe_time, lb_quality_t *q)
{
    double *t = pe_time ? pe_time : malloc((size_t)in->npes * sizeof *t);
    double *fixed = malloc((size_t)in->npes * sizeof *fixed);
    if (!t || !fixed) {
        if (!pe_time)
            free(t);
        free(fixed);
        return -1;
    }
    double smax = 0, heavy = 0, work = 0;
    for (int32_t p = 0; p < in->npes; p++) {
        t[p] = fixed[p] = in->bg ? in->bg[p] : 0.0;
        if (lb_speed(in, p) > smax)
            smax = lb_speed(in, p);
    }
    q->moves = 0;
    for (uint32_t i = 0; i < in->nobjs; i++) {
        int32_t p = at[i];
        t[p] += in->load[i] / lb_speed(in, p);
        q->moves += p != in->from[i];
        if (lb_fixed(in, i)) {
            fixed[in->from[i]] += in->load[i] / lb_speed(in, in->from[i]);
        } else {
            work += in->load[i];
            if (in->load[i] > heavy)
                heavy = in->load[i];
        }
    }
    double sum = 0, max = 0, fmax = 0;
    for (int32_t p = 0; p < in->npes; p++) {
        sum += t[p];
        if (t[p] > max)
            max = t[p];
        if (fixed[p] > fmax)
            fmax = fixed[p];
    }
    q->max = max;
    q->avg = in->npes ? sum / in->npes : 0;
    double level = water_level(in, fixed, work);
    q->bound = fmax > level ? fmax : level;
    if (smax > 0 && heavy / smax > q->bound)
        q->bound = heavy / smax;
    free(fixed);
    if (!pe_time)
        free(t);
    return 0;
}

/* ---- the refine step ---- */

/* first index j in [lo, hi) of the descending loads w[list[j]] with w <= cap */
static uint32_t first_fitting(const double *w, const uint32_t *list, uint32_t lo, uint32_t hi,
                              double cap)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (w[list[mid]] <= cap)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

int lb_refine_placement(const lb_input_t *in, int32_t *to, double *t, double limit)
{
    int32_t np = in->npes;
    uint32_t *order = malloc((size_t)in->nobjs * sizeof *order);
    uint32_t *list = malloc((size_t)in->nobjs * sizeof *list);
    uint32_t *start = calloc((size_t)np + 1, sizeof *start);
    uint32_t *cursor = malloc((size_t)np * sizeof *cursor);
    double *scratch = malloc((size_t)np * sizeof *scratch);
    uint8_t *gone = calloc(in->nobjs ? in->nobjs : 1, 1);
    lb_heap_t donors = {0}, takers = {0};
    int rc = -1;
    if (!order || !list || !start || !cursor || !scratch || !gone ||
        lb_heap_init(&donors, np, t, -1) || lb_heap_init(&takers, np, t, 1))
        goto out;
    /* Each PE's movable objects (where `to` puts them), heaviest first. */
    uint32_t n = lb_sorted_movable(in, order, scratch);
    for (uint32_t j = 0; j < n; j++)
        start[to[order[j]] + 1]++;
    for (int32_t p = 0; p < np; p++)
        start[p + 1] += start[p];
    memcpy(cursor, start, (size_t)np * sizeof *cursor);
    for (uint32_t j = 0; j < n; j++)
        list[cursor[to[order[j]]]++] = order[j];
    for (int32_t p = 0; p < np; p++) {
        lb_heap_push(&takers, p);
        if (t[p] > limit)
            lb_heap_push(&donors, p);
    }
    int32_t d;
    while ((d = lb_heap_top(&donors)) >= 0) {
        int32_t r = lb_heap_top(&takers);
        if (t[d] <= limit || r == d) {
            lb_heap_remove(&donors, d);
            continue;
        }
        /* The heaviest object of d that the least busy PE can take and stay under the
         * limit, and that leaves the pair better balanced than it found it. */
        double room = (limit - t[r]) * lb_speed(in, r);
        uint32_t j = first_fitting(in->load, list, start[d], start[d + 1], room);
        while (j < start[d + 1] && gone[j])
            j++;
        if (j >= start[d + 1] ||
            t[r] + in->load[list[j]] / lb_speed(in, r) >= t[d]) {
            lb_heap_remove(&donors, d); /* nothing of it fits anywhere */
            continue;
        }
        uint32_t o = list[j];
        gone[j] = 1;
        to[o] = r;
        t[d] -= in->load[o] / lb_speed(in, d);
        t[r] += in->load[o] / lb_speed(in, r);
        lb_heap_update(&donors, d);
        lb_heap_update(&takers, d);
        lb_heap_update(&takers, r);
    }
    rc = 0;
out:
    lb_heap_fini(&donors);
    lb_heap_fini(&takers);
    free(order);
    free(list);
    free(start);
    free(cursor);
    free(scratch);
    free(gone);
    return rc;
}
