/*
 * core/sched: the queue must hand messages out by priority (smaller first), and among
 * equal priorities in push order. Checked against a simple reference (one FIFO per
 * priority, the FIFOs sorted by priority), and against orders written
 * out by hand, for fixed scenarios and for long random sequences
 * of interleaved pushes and pops, including messages pushed again after being popped.
 */
#include "core/sched.h"

#include <stdlib.h>

#include "check.h"

typedef struct {
    tern_msg_t *m;
    uint64_t order; /* push number */
} pending_t;

/* The messages of one priority, in push order (a growable FIFO). */
typedef struct {
    int32_t prio;
    pending_t *v;
    size_t head, n, cap;
} bucket_t;

typedef struct {
    bucket_t *b; /* non-empty buckets, sorted by priority */
    size_t nb, cap;
    size_t n;    /* pending messages */
    uint64_t pushes;
} ref_t;

static core_pool_t pool;

static tern_msg_t *new_msg(test_rng_t *rng)
{
    /* various body sizes, so messages come from several pool classes */
    uint64_t len = rng_chance(rng, 1, 4) ? rng_below(rng, 3000) : 0;
    tern_msg_t *m = core_msg_alloc(&pool, len);
    CHECK(m != NULL);
    memset(&m->hdr, 0, sizeof m->hdr);
    return m;
}

static int32_t random_prio(test_rng_t *rng)
{
    static const int32_t extremes[] = {INT32_MIN, INT32_MIN + 1, INT32_MAX, INT32_MAX - 1};
    uint64_t d = rng_below(rng, 100);
    if (d < 60)
        return 0;
    if (d < 75)
        return (int32_t)rng_range(rng, -3, -1);
    if (d < 90)
        return (int32_t)rng_range(rng, 1, 3);
    if (d < 95)
        return (int32_t)rng_range(rng, -1000, 1000);
    return extremes[rng_below(rng, 4)];
}

/*
 * The reference: one FIFO per priority, the FIFOs sorted by priority. The expected next
 * message is the oldest one of the smallest priority present.
 */
static void ref_push(ref_t *r, tern_msg_t *m)
{
    int32_t prio = m->hdr.prio;
    size_t lo = 0, hi = r->nb; /* first bucket with priority >= prio */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->b[mid].prio < prio)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == r->nb || r->b[lo].prio != prio) {
        if (r->nb == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 16;
            r->b = realloc(r->b, r->cap * sizeof *r->b);
        }
        memmove(&r->b[lo + 1], &r->b[lo], (r->nb - lo) * sizeof *r->b);
        r->b[lo] = (bucket_t){prio, NULL, 0, 0, 0};
        r->nb++;
    }
    bucket_t *b = &r->b[lo];
    if (b->head + b->n == b->cap) {
        if (b->head) { /* compact */
            memmove(b->v, b->v + b->head, b->n * sizeof *b->v);
            b->head = 0;
        }
        if (b->n == b->cap) {
            b->cap = b->cap ? b->cap * 2 : 8;
            b->v = realloc(b->v, b->cap * sizeof *b->v);
        }
    }
    b->v[b->head + b->n++] = (pending_t){m, r->pushes++};
    r->n++;
}

/* Remove and return the expected next message (NULL when empty). */
static tern_msg_t *ref_pop(ref_t *r)
{
    if (r->n == 0)
        return NULL;
    bucket_t *b = &r->b[0];
    tern_msg_t *m = b->v[b->head].m;
    b->head++;
    b->n--;
    r->n--;
    if (b->n == 0) {
        free(b->v);
        memmove(&r->b[0], &r->b[1], (r->nb - 1) * sizeof *r->b);
        r->nb--;
    }
    return m;
}

/* The reference's own invariants, checked now and then. */
static int ref_sorted(const ref_t *r)
{
    size_t total = 0;
    for (size_t i = 0; i < r->nb; i++) {
        const bucket_t *b = &r->b[i];
        if (!CHECK(b->n > 0) || (i && !CHECK(r->b[i - 1].prio < b->prio)))
            return 0;
        for (size_t j = 1; j < b->n; j++)
            if (!CHECK(b->v[b->head + j - 1].order < b->v[b->head + j].order))
                return 0;
        total += b->n;
    }
    return CHECK_EQ_U(total, r->n);
}

static void ref_free(ref_t *r)
{
    for (size_t i = 0; i < r->nb; i++)
        free(r->b[i].v);
    free(r->b);
}

/* Push m with priority prio on both. The header's cid tags it; the queue must not touch it. */
static int push_both(core_sched_t *q, ref_t *r, tern_msg_t *m, int32_t prio)
{
    m->hdr.prio = prio;
    m->hdr.u.entry.cid = r->pushes;
    ref_push(r, m);
    int ok = CHECK_EQ(core_sched_push(q, m), TERN_OK);
    ok &= CHECK_EQ_U(core_sched_count(q), r->n);
    return ok;
}

/* Pop from both and compare; the popped message (or NULL) goes to *out. */
static int pop_both(core_sched_t *q, ref_t *r, tern_msg_t **out)
{
    tern_msg_t *want = ref_pop(r);
    uint64_t want_cid = want ? want->hdr.u.entry.cid : 0;
    int32_t want_prio = want ? want->hdr.prio : 0;
    tern_msg_t *got = core_sched_pop(q);
    int ok = CHECK_EQ_PTR(got, want);
    if (got && want && got != want) {
        fprintf(stderr, "  expected push #%llu (prio %d), got push #%llu (prio %d)\n",
                (unsigned long long)want_cid, (int)want_prio,
                (unsigned long long)got->hdr.u.entry.cid, (int)got->hdr.prio);
    }
    if (ok && got) {
        ok &= CHECK_EQ_U(got->hdr.u.entry.cid, want_cid);
        ok &= CHECK_EQ(got->hdr.prio, want_prio);
    }
    ok &= CHECK_EQ_U(core_sched_count(q), r->n);
    *out = got;
    return ok;
}

/* Drain both, releasing the messages. */
static int drain(core_sched_t *q, ref_t *r)
{
    int ok = 1;
    tern_msg_t *m;
    while (ok) {
        ok &= pop_both(q, r, &m);
        if (!m)
            break;
        core_msg_release(&pool, m);
    }
    ok &= CHECK_EQ_U(core_sched_count(q), 0);
    ok &= CHECK_EQ_PTR(core_sched_pop(q), NULL);
    return ok;
}

/* Push the given priorities in order, then pop everything. */
static void scenario(const int32_t *prios, size_t n, test_rng_t *rng)
{
    core_sched_t q;
    ref_t r = {0};
    core_sched_init(&q);
    for (size_t i = 0; i < n; i++)
        push_both(&q, &r, new_msg(rng), prios[i]);
    drain(&q, &r);
    core_sched_fini(&q);
    ref_free(&r);
}

static void test_fixed(test_rng_t *rng)
{
    core_sched_t q;
    core_sched_init(&q);
    CHECK_EQ_U(core_sched_count(&q), 0);
    CHECK_EQ_PTR(core_sched_pop(&q), NULL);
    core_sched_fini(&q);

    /* An explicit expectation, written out by hand: pushes 0a 0b +1a -1a 0c -1b +1b -5. */
    {
        core_sched_t q2;
        core_sched_init(&q2);
        static const int32_t pr[] = {0, 0, 1, -1, 0, -1, 1, -5};
        static const int expect[] = {7, 3, 5, 0, 1, 4, 2, 6}; /* push numbers, pop order */
        tern_msg_t *ms[8];
        for (int i = 0; i < 8; i++) {
            ms[i] = new_msg(rng);
            ms[i]->hdr.prio = pr[i];
            CHECK_EQ(core_sched_push(&q2, ms[i]), TERN_OK);
        }
        CHECK_EQ_U(core_sched_count(&q2), 8);
        for (int i = 0; i < 8; i++) {
            tern_msg_t *m = core_sched_pop(&q2);
            CHECK_EQ_PTR(m, ms[expect[i]]);
            CHECK_EQ_U(core_sched_count(&q2), 7 - i);
        }
        CHECK_EQ_PTR(core_sched_pop(&q2), NULL);
        for (int i = 0; i < 8; i++)
            core_msg_release(&pool, ms[i]);
        core_sched_fini(&q2);
    }

    enum { N = 5000 };
    int32_t *p = malloc(N * sizeof *p);
    /* all default priority: plain FIFO */
    for (int i = 0; i < N; i++)
        p[i] = 0;
    scenario(p, N, rng);
    /* all one non-zero priority: the heap must keep push order (it is not stable by itself) */
    for (int i = 0; i < N; i++)
        p[i] = 7;
    scenario(p, N, rng);
    for (int i = 0; i < N; i++)
        p[i] = -2;
    scenario(p, N, rng);
    /* descending, ascending priorities */
    for (int i = 0; i < N; i++)
        p[i] = N / 2 - i;
    scenario(p, N, rng);
    for (int i = 0; i < N; i++)
        p[i] = i - N / 2;
    scenario(p, N, rng);
    /* few distinct priorities, many ties, random order */
    for (int i = 0; i < N; i++)
        p[i] = (int32_t)rng_range(rng, -2, 2);
    scenario(p, N, rng);
    /* the random mix */
    for (int i = 0; i < N; i++)
        p[i] = random_prio(rng);
    scenario(p, N, rng);
    free(p);
}

/* Long random sequences of interleaved pushes and pops, in phases that let the queue grow
 * and shrink; popped messages are either released or pushed again later. */
static void test_random(test_rng_t *rng)
{
    core_sched_t q;
    ref_t r = {0};
    core_sched_init(&q);
    tern_msg_t *spare[64];
    int nspare = 0;
    static const int push_pct[] = {50, 80, 20, 55, 95, 5, 50, 65, 35};
    int ok = 1;
    for (int round = 0; round < 3 && ok; round++) {
        for (size_t ph = 0; ph < sizeof push_pct / sizeof push_pct[0] && ok; ph++) {
            for (int op = 0; op < 20000 && ok; op++) {
                if (rng_chance(rng, (unsigned)push_pct[ph], 100)) {
                    tern_msg_t *m = nspare && rng_chance(rng, 1, 2) ? spare[--nspare] : new_msg(rng);
                    ok &= push_both(&q, &r, m, random_prio(rng));
                } else {
                    tern_msg_t *m;
                    ok &= pop_both(&q, &r, &m);
                    if (m) {
                        if (nspare < 64 && rng_chance(rng, 1, 2))
                            spare[nspare++] = m;
                        else
                            core_msg_release(&pool, m);
                    }
                }
            }
            ok &= ref_sorted(&r);
        }
        /* bursts: many pushes, then pop half, push more, drain */
        for (int i = 0; i < 3000 && ok; i++)
            ok &= push_both(&q, &r, new_msg(rng), random_prio(rng));
        for (int i = 0; i < 1500 && ok; i++) {
            tern_msg_t *m;
            ok &= pop_both(&q, &r, &m);
            if (m)
                core_msg_release(&pool, m);
        }
        for (int i = 0; i < 1000 && ok; i++)
            ok &= push_both(&q, &r, new_msg(rng), random_prio(rng));
        ok &= ref_sorted(&r);
        ok &= drain(&q, &r);
    }
    while (nspare)
        core_msg_release(&pool, spare[--nspare]);
    core_sched_fini(&q);
    ref_free(&r);
}

int main(void)
{
    check_start();
    test_rng_t rng;
    rng_seed(&rng, 2024);
    core_pool_init(&pool);
    test_fixed(&rng);
    test_random(&rng);
    CHECK_EQ_U(pool.live, 0);
    CHECK_EQ_U(core_pool_fini(&pool), 0);
    return check_finish("unit.sched");
}
