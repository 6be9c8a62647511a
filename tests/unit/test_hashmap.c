/*
 * util/hashmap: the map is checked against a reference model (a fixed pool of candidate
 * keys with a "present" flag and the expected value for each), through many random
 * insert / replace / delete / lookup operations, plus targeted cases: key 0, large keys,
 * sequential keys, keys whose home slots collide (including probe runs that wrap around
 * the end of the table) deleted in many orders, the reserved key, and iteration.
 *
 * Colliding keys are found by observation, not by copying the hash function: in an empty
 * table of a given capacity a key lands exactly at its home slot (linear probing), so
 * inserting it alone and looking at the public slot array tells where its home is.
 */
#include "util/hashmap.h"

#include <stdlib.h>

#include "check.h"

/* A distinct, never-dereferenced, non-null value for (key index, version). */
static void *val_of(uint64_t idx, uint64_t version)
{
    return (void *)(uintptr_t)((((idx & 0xfffff) << 24) | (version & 0xffffff)) * 16 + 16);
}

/* ---- home slot discovery ---- */

/* An empty map whose table has exactly `cap` slots (the table never shrinks). */
static int make_empty_map_of_cap(util_hashmap_t *m, size_t cap)
{
    util_hashmap_init(m);
    uint64_t n = 0;
    while (m->cap < cap) {
        if (!CHECK_EQ(util_hashmap_put(m, n, val_of(n, 1)), TERN_OK))
            return 0;
        n++;
    }
    for (uint64_t k = 0; k < n; k++)
        if (!CHECK_EQ_PTR(util_hashmap_del(m, k), val_of(k, 1)))
            return 0;
    if (!CHECK_EQ_U(m->cap, cap) || !CHECK_EQ_U(util_hashmap_count(m), 0))
        return 0;
    for (size_t i = 0; i < m->cap; i++)
        if (!CHECK_EQ_U(m->slots[i].key, UTIL_HASHMAP_NOKEY))
            return 0;
    return 1;
}

/* Home slot of `key` in the (empty) map m: where it lands when inserted alone. */
static size_t home_of(util_hashmap_t *m, uint64_t key)
{
    size_t home = SIZE_MAX;
    CHECK_EQ(util_hashmap_put(m, key, val_of(0, 0)), TERN_OK);
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key == key)
            home = i;
    CHECK(home != SIZE_MAX);
    CHECK_EQ_PTR(util_hashmap_del(m, key), val_of(0, 0));
    CHECK_EQ_U(util_hashmap_count(m), 0);
    return home;
}

/*
 * Up to `want` keys (from a deterministic candidate stream) whose home slot in a table of
 * `cap` slots is in the cyclic window [cap - before, cap + after) mod cap, i.e. around
 * the end of the table. Returns how many were found.
 */
static size_t find_wrap_keys(size_t cap, size_t before, size_t after, uint64_t *out,
                             size_t want, uint64_t salt)
{
    util_hashmap_t m;
    if (!make_empty_map_of_cap(&m, cap))
        return 0;
    size_t n = 0;
    for (uint64_t c = 0; n < want && c < 2000000; c++) {
        uint64_t key = (c % 3 == 0) ? c : (c * 0x9e3779b97f4a7c15ULL) ^ salt;
        if (key == UTIL_HASHMAP_NOKEY)
            continue;
        size_t h = home_of(&m, key);
        if (h >= cap - before || h < after) {
            int dup = 0;
            for (size_t i = 0; i < n; i++)
                dup |= out[i] == key;
            if (!dup)
                out[n++] = key;
        }
    }
    util_hashmap_fini(&m);
    return n;
}

/* ---- reference checks ---- */

typedef struct {
    uint64_t key;
    uint32_t idx;
} keyidx_t;

static int keyidx_cmp(const void *a, const void *b)
{
    uint64_t x = ((const keyidx_t *)a)->key, y = ((const keyidx_t *)b)->key;
    return x < y ? -1 : x > y;
}

typedef struct {
    size_t n;
    uint64_t *keys;    /* candidate keys, distinct */
    keyidx_t *sorted;  /* keys sorted, for key -> index */
    int *present;
    void **val;
    size_t count;
    unsigned char *seen; /* scratch for the iteration check */
} model_t;

static long model_find(const model_t *r, uint64_t key)
{
    keyidx_t probe = {key, 0};
    const keyidx_t *f = bsearch(&probe, r->sorted, r->n, sizeof probe, keyidx_cmp);
    return f ? (long)f->idx : -1;
}

/* Everything the map says agrees with the model: lookups, count, iteration. */
static int verify_all(const util_hashmap_t *m, model_t *r)
{
    int ok = 1;
    ok &= CHECK_EQ_U(util_hashmap_count(m), r->count);
    for (size_t i = 0; i < r->n && ok; i++)
        ok &= CHECK_EQ_PTR(util_hashmap_get(m, r->keys[i]), r->present[i] ? r->val[i] : NULL);
    memset(r->seen, 0, r->n);
    size_t visited = 0;
    uint64_t k;
    void *v;
    for (size_t it = 0; ok && util_hashmap_next(m, &it, &k, &v);) {
        long i = model_find(r, k);
        ok &= CHECK(i >= 0);
        if (!ok)
            break;
        ok &= CHECK(r->present[i]);
        ok &= CHECK(!r->seen[i]); /* visited at most once */
        ok &= CHECK_EQ_PTR(v, r->val[i]);
        r->seen[i] = 1;
        visited++;
        if (!CHECK(visited <= r->count))
            return 0;
    }
    ok &= CHECK_EQ_U(visited, r->count); /* ... and every key at least once */
    return ok;
}

static void model_init(model_t *r, const uint64_t *keys, size_t n)
{
    r->n = n;
    r->keys = malloc(n * sizeof *r->keys);
    r->sorted = malloc(n * sizeof *r->sorted);
    r->present = calloc(n, sizeof *r->present);
    r->val = calloc(n, sizeof *r->val);
    r->seen = calloc(n, 1);
    memcpy(r->keys, keys, n * sizeof *keys);
    for (size_t i = 0; i < n; i++)
        r->sorted[i] = (keyidx_t){keys[i], (uint32_t)i};
    qsort(r->sorted, n, sizeof *r->sorted, keyidx_cmp);
    r->count = 0;
}

static void model_fini(model_t *r)
{
    free(r->keys);
    free(r->sorted);
    free(r->present);
    free(r->val);
    free(r->seen);
}

/* ---- tests ---- */

static void test_empty_and_reserved(void)
{
    util_hashmap_t m;
    util_hashmap_init(&m);
    CHECK_EQ_U(util_hashmap_count(&m), 0);
    CHECK_EQ_PTR(util_hashmap_get(&m, 0), NULL);
    CHECK_EQ_PTR(util_hashmap_get(&m, 12345), NULL);
    CHECK_EQ_PTR(util_hashmap_get(&m, UTIL_HASHMAP_NOKEY), NULL);
    CHECK_EQ_PTR(util_hashmap_del(&m, 0), NULL);
    CHECK_EQ_PTR(util_hashmap_del(&m, UTIL_HASHMAP_NOKEY), NULL);
    size_t it = 0;
    uint64_t k;
    void *v;
    CHECK(!util_hashmap_next(&m, &it, &k, &v));

    /* The reserved key is refused, on an empty and on a non-empty map. */
    CHECK_EQ(util_hashmap_put(&m, UTIL_HASHMAP_NOKEY, val_of(1, 1)), TERN_ERR_INVALID);
    CHECK_EQ_U(util_hashmap_count(&m), 0);
    CHECK_EQ(util_hashmap_put(&m, UINT64_MAX - 1, val_of(2, 1)), TERN_OK);
    CHECK_EQ(util_hashmap_put(&m, 0, val_of(3, 1)), TERN_OK);
    CHECK_EQ(util_hashmap_put(&m, UTIL_HASHMAP_NOKEY, val_of(1, 1)), TERN_ERR_INVALID);
    CHECK_EQ_U(util_hashmap_count(&m), 2);
    CHECK_EQ_PTR(util_hashmap_get(&m, UTIL_HASHMAP_NOKEY), NULL);
    CHECK_EQ_PTR(util_hashmap_del(&m, UTIL_HASHMAP_NOKEY), NULL);
    CHECK_EQ_U(util_hashmap_count(&m), 2);
    CHECK_EQ_PTR(util_hashmap_get(&m, UINT64_MAX - 1), val_of(2, 1));
    CHECK_EQ_PTR(util_hashmap_get(&m, 0), val_of(3, 1));

    /* Key 0: replace keeps the count, delete returns the latest value, then gone. */
    CHECK_EQ(util_hashmap_put(&m, 0, val_of(3, 2)), TERN_OK);
    CHECK_EQ_U(util_hashmap_count(&m), 2);
    CHECK_EQ_PTR(util_hashmap_get(&m, 0), val_of(3, 2));
    CHECK_EQ_PTR(util_hashmap_del(&m, 0), val_of(3, 2));
    CHECK_EQ_PTR(util_hashmap_get(&m, 0), NULL);
    CHECK_EQ_PTR(util_hashmap_del(&m, 0), NULL);
    CHECK_EQ_U(util_hashmap_count(&m), 1);

    /* Iteration of a one-key map, and it stays finished. */
    it = 0;
    int n = 0;
    while (n < 100 && util_hashmap_next(&m, &it, &k, &v)) {
        n++;
        CHECK_EQ_U(k, UINT64_MAX - 1);
        CHECK_EQ_PTR(v, val_of(2, 1));
    }
    CHECK_EQ(n, 1);
    CHECK(!util_hashmap_next(&m, &it, &k, &v));

    /* fini leaves an empty, reusable map. */
    util_hashmap_fini(&m);
    CHECK_EQ_U(util_hashmap_count(&m), 0);
    CHECK_EQ_PTR(util_hashmap_get(&m, UINT64_MAX - 1), NULL);
    CHECK_EQ(util_hashmap_put(&m, 7, val_of(7, 1)), TERN_OK);
    CHECK_EQ_PTR(util_hashmap_get(&m, 7), val_of(7, 1));
    util_hashmap_fini(&m);
    util_hashmap_fini(&m); /* twice is harmless */
}

/* key number i of a structured pattern */
static uint64_t pattern_key(int pat, uint64_t i)
{
    switch (pat) {
    case 0: return i;                        /* sequential from 0 */
    case 1: return i << 32;                  /* differ only in the high half */
    case 2: return i << 44;                  /* only in the top bits */
    case 3: return (UINT64_MAX - 1) - i;     /* largest keys, descending */
    case 4: return i * 4096;                 /* page-like strides */
    default: return 0x8000000000000000ULL | i; /* sign bit set */
    }
}

static void test_patterns(void)
{
    const uint64_t N = 60000;
    for (int pat = 0; pat < 6; pat++) {
        util_hashmap_t m;
        util_hashmap_init(&m);
        int ok = 1;
        for (uint64_t i = 0; i < N && ok; i++) {
            ok &= CHECK_EQ(util_hashmap_put(&m, pattern_key(pat, i), val_of(i, 1)), TERN_OK);
            ok &= CHECK_EQ_U(util_hashmap_count(&m), i + 1);
        }
        for (uint64_t i = 0; i < N && ok; i++)
            ok &= CHECK_EQ_PTR(util_hashmap_get(&m, pattern_key(pat, i)), val_of(i, 1));
        /* keys of the pattern never inserted */
        for (uint64_t i = N; i < N + 1000 && ok; i++)
            ok &= CHECK_EQ_PTR(util_hashmap_get(&m, pattern_key(pat, i)), NULL);
        /* delete every other key, replace the rest */
        for (uint64_t i = 0; i < N && ok; i += 2)
            ok &= CHECK_EQ_PTR(util_hashmap_del(&m, pattern_key(pat, i)), val_of(i, 1));
        for (uint64_t i = 1; i < N && ok; i += 2)
            ok &= CHECK_EQ(util_hashmap_put(&m, pattern_key(pat, i), val_of(i, 2)), TERN_OK);
        ok &= CHECK_EQ_U(util_hashmap_count(&m), N / 2);
        for (uint64_t i = 0; i < N && ok; i++)
            ok &= CHECK_EQ_PTR(util_hashmap_get(&m, pattern_key(pat, i)),
                               (i & 1) ? val_of(i, 2) : NULL);
        /* iteration: exactly the odd keys, once each */
        unsigned char *seen = calloc(N, 1);
        uint64_t k;
        void *v;
        size_t visited = 0;
        for (size_t it = 0; ok && util_hashmap_next(&m, &it, &k, &v); visited++) {
            uint64_t i = 0;
            /* invert pattern_key */
            switch (pat) {
            case 0: i = k; break;
            case 1: i = k >> 32; break;
            case 2: i = k >> 44; break;
            case 3: i = (UINT64_MAX - 1) - k; break;
            case 4: i = k / 4096; break;
            default: i = k & ~0x8000000000000000ULL; break;
            }
            ok &= CHECK(visited < N / 2);
            ok &= CHECK(i < N && pattern_key(pat, i) == k);
            if (!ok)
                break;
            ok &= CHECK(i & 1);
            ok &= CHECK(!seen[i]);
            ok &= CHECK_EQ_PTR(v, val_of(i, 2));
            seen[i] = 1;
        }
        CHECK_EQ_U(visited, N / 2);
        free(seen);
        /* delete everything, in descending order this time */
        for (uint64_t i = N; i-- > 0 && ok;)
            ok &= CHECK_EQ_PTR(util_hashmap_del(&m, pattern_key(pat, i)),
                               (i & 1) ? val_of(i, 2) : NULL);
        CHECK_EQ_U(util_hashmap_count(&m), 0);
        size_t it = 0;
        CHECK(!util_hashmap_next(&m, &it, &k, &v));
        util_hashmap_fini(&m);
    }
}

/*
 * A cluster of keys whose home slots are within a few slots of the end of a table of `cap`
 * slots, so their probe runs wrap around to slot 0, plus some unrelated keys; inserted and
 * deleted in many random orders, with every key checked after each deletion. This is
 * where backward-shift deletion goes wrong if it mishandles the wrap-around.
 */
static void test_wrap_cluster(size_t cap, size_t before, size_t after, size_t ncluster,
                              uint64_t salt, test_rng_t *rng)
{
    uint64_t keys[64 + 16];
    size_t n = find_wrap_keys(cap, before, after, keys, ncluster, salt);
    if (!CHECK_EQ_U(n, ncluster))
        return;
    /* a few keys anywhere */
    for (size_t i = 0; i < 8 && n < cap / 2; i++)
        keys[n++] = 0xabcdef000000ULL + i * 977;
    /* load stays <= 1/2, so no growth during the test for any sane load factor */
    if (!CHECK(n <= cap / 2))
        return;

    for (int round = 0; round < 300; round++) {
        util_hashmap_t m;
        if (!make_empty_map_of_cap(&m, cap))
            return;
        rng_shuffle_u64(rng, keys, n);
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(util_hashmap_put(&m, keys[i], val_of(keys[i], 5)), TERN_OK);
        CHECK_EQ_U(m.cap, cap);
        CHECK_EQ_U(util_hashmap_count(&m), n);
        rng_shuffle_u64(rng, keys, n);
        int ok = 1;
        for (size_t d = 0; d < n && ok; d++) {
            ok &= CHECK_EQ_PTR(util_hashmap_del(&m, keys[d]), val_of(keys[d], 5));
            ok &= CHECK_EQ_U(util_hashmap_count(&m), n - d - 1);
            for (size_t i = 0; i < n && ok; i++)
                ok &= CHECK_EQ_PTR(util_hashmap_get(&m, keys[i]),
                                   i <= d ? NULL : val_of(keys[i], 5));
            /* sometimes put a deleted key back, and take it out again */
            if (ok && (d & 3) == 1) {
                size_t j = (size_t)rng_below(rng, d + 1);
                ok &= CHECK_EQ(util_hashmap_put(&m, keys[j], val_of(keys[j], 6)), TERN_OK);
                for (size_t i = d + 1; i < n && ok; i++)
                    ok &= CHECK_EQ_PTR(util_hashmap_get(&m, keys[i]), val_of(keys[i], 5));
                ok &= CHECK_EQ_PTR(util_hashmap_del(&m, keys[j]), val_of(keys[j], 6));
            }
        }
        CHECK_EQ_U(m.cap, cap);
        util_hashmap_fini(&m);
        if (!ok)
            return;
    }
}

static void test_random_ops(void)
{
    /* Candidate keys: structured ones, colliding clusters, random ones; made distinct. */
    size_t cap_keys = 8192, n = 0;
    uint64_t *keys = malloc(cap_keys * sizeof *keys);
    for (uint64_t i = 0; i < 700; i++)
        keys[n++] = i;
    for (uint64_t i = 1; i <= 300; i++)
        keys[n++] = UINT64_MAX - i;
    for (uint64_t i = 1; i < 300; i++)
        keys[n++] = i << 32;
    for (uint64_t i = 1; i < 256; i++)
        keys[n++] = i << 56;
    for (unsigned b = 0; b < 64; b++)
        keys[n++] = 1ULL << b;
    n += find_wrap_keys(256, 3, 3, keys + n, 64, 0x1111);
    n += find_wrap_keys(64, 2, 2, keys + n, 24, 0x2222);
    test_rng_t rng;
    rng_seed(&rng, 42);
    while (n < 6000) {
        uint64_t k = rng_next(&rng);
        if (k != UTIL_HASHMAP_NOKEY)
            keys[n++] = k;
    }
    /* dedupe */
    {
        keyidx_t *tmp = malloc(n * sizeof *tmp);
        for (size_t i = 0; i < n; i++)
            tmp[i] = (keyidx_t){keys[i], 0};
        qsort(tmp, n, sizeof *tmp, keyidx_cmp);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || tmp[i].key != keys[u - 1])
                keys[u++] = tmp[i].key;
        n = u;
        free(tmp);
        rng_shuffle_u64(&rng, keys, n);
    }

    model_t r;
    model_init(&r, keys, n);
    util_hashmap_t m;
    util_hashmap_init(&m);

    /* Phases alternate growth and shrinkage of the working set; restricting a phase to
     * a prefix of the candidates keeps some phases small and dense in one cluster. */
    static const struct {
        int put, del, get; /* percent */
        int limit;         /* candidates used: n * limit / 100 */
    } phases[] = {
        {70, 10, 20, 100}, {20, 60, 20, 100}, {45, 45, 10, 10}, {80, 5, 15, 100},
        {10, 80, 10, 100}, {50, 40, 10, 2},   {40, 40, 20, 100}, {0, 100, 0, 100},
    };
    uint64_t version = 1;
    int ok = 1;
    for (size_t ph = 0; ph < sizeof phases / sizeof phases[0] && ok; ph++) {
        size_t lim = n * (size_t)phases[ph].limit / 100;
        if (lim == 0)
            lim = 1;
        for (int op = 0; op < 60000 && ok; op++) {
            size_t i = (size_t)rng_below(&rng, lim);
            int dice = (int)rng_below(&rng, 100);
            if (dice < phases[ph].put) {
                void *v = val_of(i, version++);
                ok &= CHECK_EQ(util_hashmap_put(&m, keys[i], v), TERN_OK);
                if (!r.present[i])
                    r.count++;
                r.present[i] = 1;
                r.val[i] = v;
                ok &= CHECK_EQ_U(util_hashmap_count(&m), r.count);
            } else if (dice < phases[ph].put + phases[ph].del) {
                ok &= CHECK_EQ_PTR(util_hashmap_del(&m, keys[i]), r.present[i] ? r.val[i] : NULL);
                if (r.present[i])
                    r.count--;
                r.present[i] = 0;
                ok &= CHECK_EQ_U(util_hashmap_count(&m), r.count);
            } else {
                ok &= CHECK_EQ_PTR(util_hashmap_get(&m, keys[i]), r.present[i] ? r.val[i] : NULL);
                uint64_t other = rng_next(&rng); /* almost surely not a candidate */
                if (other != UTIL_HASHMAP_NOKEY && model_find(&r, other) < 0)
                    ok &= CHECK_EQ_PTR(util_hashmap_get(&m, other), NULL);
            }
            if (op % 5000 == 4999)
                ok &= verify_all(&m, &r);
        }
        ok &= verify_all(&m, &r);
    }
    CHECK_EQ_U(util_hashmap_count(&m), 0);
    util_hashmap_fini(&m);
    model_fini(&r);
    free(keys);
}

int main(void)
{
    check_start();
    test_empty_and_reserved();
    test_patterns();
    test_rng_t rng;
    rng_seed(&rng, 7);
    test_wrap_cluster(16, 1, 0, 7, 0x51, &rng);   /* all in the last slot: run 15,0..5 */
    test_wrap_cluster(16, 2, 2, 6, 0x52, &rng);
    test_wrap_cluster(64, 3, 3, 24, 0x53, &rng);
    test_wrap_cluster(128, 4, 0, 40, 0x54, &rng); /* homes only before the end */
    test_wrap_cluster(128, 0, 4, 40, 0x55, &rng); /* homes only at the start */
    test_random_ops();
    return check_finish("unit.hashmap");
}
