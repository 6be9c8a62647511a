/*
 * GreedyRefine: Greedy's maximum with few moves.
 *
 * First a greedy placement is simulated, only for its maximum M. Then the objects are
 * placed again, heaviest first: an object stays on its PE while that keeps the PE under
 * the limit (M, or the lower bound times the tolerance if that is more); otherwise it goes to the least busy PE (or, in the host-aware variant,
 * to the least busy PE of its own host when that one has room). A refine step ends it: if
 * a PE is still over the limit, its objects move to the least busy PEs until none is.
 * A placement with a higher maximum than the current one is never returned.
 */
#include <stdlib.h>

#include "lb/lb.h"

static int greedy_refine(const lb_input_t *in, int32_t *to, int by_host)
{
    for (uint32_t i = 0; i < in->nobjs; i++)
        to[i] = in->from[i];
    int32_t np = in->npes, nh = by_host && in->host && in->nhosts > 1 ? in->nhosts : 0;
    uint32_t *order = malloc((in->nobjs ? in->nobjs : 1) * sizeof *order);
    double *t0 = malloc((size_t)np * sizeof *t0), *t = calloc((size_t)np, sizeof *t);
    lb_heap_t all = {0}, *hosts = nh ? calloc((size_t)nh, sizeof *hosts) : NULL;
    int rc = -1;
    if (!order || !t0 || !t || (nh && !hosts) || lb_heap_init(&all, np, t, 1))
        goto out;
    for (int32_t k = 0; k < nh; k++)
        if (lb_heap_init(&hosts[k], np, t, 1))
            goto out;
    uint32_t n = lb_sorted_movable(in, order, t0);

    /* The greedy maximum. */
    for (int32_t p = 0; p < np; p++) {
        t[p] = t0[p];
        lb_heap_push(&all, p);
    }
    for (uint32_t j = 0; j < n; j++) {
        int32_t p = lb_heap_top(&all);
        t[p] += in->load[order[j]] / lb_speed(in, p);
        lb_heap_update(&all, p);
    }
    double max = 0;
    for (int32_t p = 0; p < np; p++)
        if (t[p] > max)
            max = t[p];
    /* Objects may stay while their PE stays under the greedy maximum, or under the lower
     * bound times the tolerance when greedy comes closer to the bound than that. */
    double tol = in->tolerance >= 1.0 ? in->tolerance : 1.0;
    lb_quality_t q;
    if (lb_quality(in, in->from, NULL, &q))
        goto out;
    double limit = max > q.bound * tol ? max : q.bound * tol;

    /* The host-aware variant keeps overflow inside a host that can take it: one whose
     * PEs' times now (on the placement measured) add up to no more than its share. */
    uint8_t *host_room = nh ? calloc((size_t)nh, 1) : NULL;
    if (nh) {
        double *sum = calloc((size_t)nh, sizeof *sum), *cap = calloc((size_t)nh, sizeof *cap);
        if (!host_room || !sum || !cap) {
            free(sum);
            free(cap);
            free(host_room);
            goto out;
        }
        for (int32_t p = 0; p < np; p++) {
            sum[in->host[p]] += t0[p];
            cap[in->host[p]] += limit;
        }
        for (uint32_t i = 0; i < in->nobjs; i++)
            if (!lb_fixed(in, i))
                sum[in->host[in->from[i]]] += in->load[i] / lb_speed(in, in->from[i]);
        for (int32_t k = 0; k < nh; k++)
            host_room[k] = sum[k] <= cap[k];
        free(sum);
        free(cap);
    }

    /* Keep what fits, move the rest. */
    for (int32_t p = 0; p < np; p++) {
        t[p] = t0[p];
        lb_heap_update(&all, p);
        if (nh)
            lb_heap_push(&hosts[in->host[p]], p);
    }
    for (uint32_t j = 0; j < n; j++) {
        uint32_t o = order[j];
        int32_t p = in->from[o];
        double w = in->load[o];
        if (t[p] + w / lb_speed(in, p) > limit) {
            int32_t q = nh && host_room[in->host[p]] ? lb_heap_top(&hosts[in->host[p]]) : -1;
            if (q < 0 || t[q] + w / lb_speed(in, q) > limit)
                q = lb_heap_top(&all);
            if (t[q] + w / lb_speed(in, q) < t[p] + w / lb_speed(in, p))
                p = q;
        }
        to[o] = p;
        t[p] += w / lb_speed(in, p);
        lb_heap_update(&all, p);
        if (nh)
            lb_heap_update(&hosts[in->host[p]], p);
    }
    free(host_room);
    rc = lb_refine_placement(in, to, t, limit);
    /* Never worse than staying put: with few objects the host-aware choice can end a hair
     * above the placement it started from; then nothing moves. */
    lb_quality_t after;
    if (rc == 0 && lb_quality(in, to, NULL, &after) == 0 && after.max > q.max) {
        for (uint32_t i = 0; i < in->nobjs; i++)
            to[i] = in->from[i];
    }
out:
    lb_heap_fini(&all);
    for (int32_t k = 0; hosts && k < nh; k++)
        lb_heap_fini(&hosts[k]);
    free(hosts);
    free(order);
    free(t0);
    free(t);
    return rc;
}

int lb_greedy_refine(const lb_input_t *in, int32_t *to) { return greedy_refine(in, to, 0); }

int lb_host_greedy_refine(const lb_input_t *in, int32_t *to)
{
    return greedy_refine(in, to, 1);
}
