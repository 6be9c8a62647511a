/*
 * core/index: row-major linearisation and the block mapping of elements onto PEs.
 *
 * Linearisation is checked against a brute-force count: walking every index of the
 * array in row-major order (last dimension fastest, an odometer) the k-th index visited
 * must have linear index k, and from_linear(k) must give it back. Totals are checked
 * against a product computed with division-based overflow detection. The block mapping
 * is checked for partition properties: the PE ranges are ordered, contiguous, cover
 * [0, total), differ in size by at most one, and core_block_pe agrees with them.
 */
#include <string.h>

#include "core/index.h"

#include <stdlib.h>

#include "check.h"

#define MAXD 6

/* Reference total: product of the dims, 0 if some dim < 1 or the product > INT32_MAX. */
static uint64_t ref_total(int nd, const int32_t *dims)
{
    for (int i = 0; i < nd; i++)
        if (dims[i] < 1)
            return 0;
    uint64_t t = 1;
    for (int i = 0; i < nd; i++) {
        if (t > (uint64_t)INT32_MAX / (uint64_t)dims[i])
            return 0;
        t *= (uint64_t)dims[i];
    }
    return t;
}

/* Advance idx to the next index in row-major order; 0 after the last. */
static int odometer_next(int nd, const int32_t *dims, int32_t *idx)
{
    for (int i = nd - 1; i >= 0; i--) {
        if (++idx[i] < dims[i])
            return 1;
        idx[i] = 0;
    }
    return 0;
}

static int check_array(int nd, const int32_t *dims)
{
    int ok = 1;
    uint64_t total = core_index_total(nd, dims);
    ok &= CHECK_EQ_U(total, ref_total(nd, dims));
    int32_t idx[MAXD] = {0}, back[MAXD];
    uint64_t k = 0;
    do {
        ok &= CHECK(core_index_in_range(nd, dims, idx));
        ok &= CHECK_EQ_U(core_index_linear(nd, dims, idx), k);
        for (int i = 0; i < MAXD; i++)
            back[i] = -7;
        core_index_from_linear(nd, dims, k, back);
        for (int i = 0; i < nd; i++)
            ok &= CHECK_EQ(back[i], idx[i]);
        for (int i = nd; i < MAXD; i++)
            ok &= CHECK_EQ(back[i], -7); /* writes only ndims entries */
        k++;
    } while (ok && odometer_next(nd, dims, idx));
    ok &= CHECK_EQ_U(k, total); /* the count of indices visited is the total */
    return ok;
}

static void test_linear(void)
{
    test_rng_t rng;
    rng_seed(&rng, 11);
    /* fixed shapes, including 1-extents */
    static const int32_t shapes[][MAXD + 1] = {
        {1, 1}, {1, 17}, {2, 1, 1}, {2, 3, 5}, {3, 1, 7, 1}, {4, 2, 3, 4, 5},
        {5, 1, 2, 1, 2, 1}, {6, 2, 2, 2, 2, 2, 2}, {6, 3, 1, 4, 1, 5, 2}, {1, 1000},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        check_array(shapes[s][0], &shapes[s][1]);
    /* random shapes with up to a few thousand elements */
    for (int t = 0; t < 600; t++) {
        int nd = (int)rng_range(&rng, 1, MAXD);
        int32_t dims[MAXD];
        uint64_t budget = 4000;
        for (int i = 0; i < nd; i++) {
            uint64_t maxd = budget > 40 ? 40 : budget;
            dims[i] = (int32_t)rng_range(&rng, 1, (int64_t)maxd);
            budget /= (uint64_t)dims[i];
            if (budget == 0)
                budget = 1;
        }
        if (!check_array(nd, dims))
            return;
    }

    /* Large arrays: random linear indices round-trip, and from_linear agrees with a
     * stride computation. */
    for (int t = 0; t < 2000; t++) {
        int nd = (int)rng_range(&rng, 1, MAXD);
        int32_t dims[MAXD];
        for (int i = 0; i < nd; i++)
            dims[i] = (int32_t)rng_range(&rng, 1, nd == 1 ? INT32_MAX : 1 << (31 / nd));
        uint64_t total = core_index_total(nd, dims);
        CHECK_EQ_U(total, ref_total(nd, dims));
        if (total == 0)
            continue;
        uint64_t stride[MAXD];
        stride[nd - 1] = 1;
        for (int i = nd - 2; i >= 0; i--)
            stride[i] = stride[i + 1] * (uint64_t)dims[i + 1];
        for (int r = 0; r < 20; r++) {
            uint64_t lin = r == 0 ? 0 : r == 1 ? total - 1 : rng_below(&rng, total);
            int32_t idx[MAXD];
            core_index_from_linear(nd, dims, lin, idx);
            uint64_t sum = 0;
            for (int i = 0; i < nd; i++) {
                CHECK_EQ(idx[i], (int64_t)((lin / stride[i]) % (uint64_t)dims[i]));
                sum += (uint64_t)idx[i] * stride[i];
            }
            CHECK_EQ_U(sum, lin);
            CHECK(core_index_in_range(nd, dims, idx));
            CHECK_EQ_U(core_index_linear(nd, dims, idx), lin);
        }
    }
}

static void test_in_range(void)
{
    test_rng_t rng;
    rng_seed(&rng, 12);
    for (int t = 0; t < 20000; t++) {
        int nd = (int)rng_range(&rng, 1, MAXD);
        int32_t dims[MAXD], idx[MAXD];
        int want = 1;
        for (int i = 0; i < nd; i++) {
            dims[i] = (int32_t)rng_range(&rng, 1, 1000);
            switch (rng_below(&rng, 8)) {
            case 0: idx[i] = -1; break;
            case 1: idx[i] = dims[i]; break;
            case 2: idx[i] = INT32_MIN; break;
            case 3: idx[i] = INT32_MAX; break;
            case 4: idx[i] = 0; break;
            case 5: idx[i] = dims[i] - 1; break;
            default: idx[i] = (int32_t)rng_below(&rng, (uint64_t)dims[i]); break;
            }
            if (idx[i] < 0 || idx[i] >= dims[i])
                want = 0;
        }
        if (!CHECK_EQ(core_index_in_range(nd, dims, idx), want))
            return;
    }
}

static void test_total(void)
{
    static const struct {
        int nd;
        int32_t d[MAXD];
        uint64_t want;
    } cases[] = {
        {1, {1}, 1},
        {1, {INT32_MAX}, INT32_MAX},
        {2, {INT32_MAX, 1}, INT32_MAX},
        {2, {1, INT32_MAX}, INT32_MAX},
        {2, {46340, 46340}, 2147395600ULL},
        {2, {46341, 46341}, 0},           /* 2147488281 > INT32_MAX */
        {2, {65536, 32768}, 0},           /* exactly 2^31 */
        {2, {65536, 32767}, 2147418112ULL},
        {2, {INT32_MAX, 2}, 0},
        {3, {INT32_MAX, INT32_MAX, INT32_MAX}, 0},
        {6, {2, 2, 2, 2, 2, 2}, 64},
        {6, {1290, 1290, 1290, 1, 1, 1}, 2146689000ULL}, /* 1290^3 fits */
        {6, {1291, 1291, 1291, 1, 1, 1}, 0},
        {6, {1024, 1024, 16, 32, 2, 2}, 0}, /* 2^31 */
        {6, {1024, 1024, 16, 32, 2, 1}, 1ULL << 30},
        {1, {0}, 0},
        {1, {-1}, 0},
        {1, {INT32_MIN}, 0},
        {3, {5, 0, 5}, 0},
        {3, {5, 5, -3}, 0},
        {2, {INT32_MAX, 0}, 0},  /* overflowing and empty: still 0 */
        {2, {INT32_MAX, INT32_MAX}, 0},
        {3, {65536, 65536, 0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t want = cases[i].want;
        CHECK_EQ_U(core_index_total(cases[i].nd, cases[i].d), want);
        CHECK_EQ_U(ref_total(cases[i].nd, cases[i].d), want); /* the reference agrees */
    }
    /* random shapes against the reference, around the overflow edge */
    test_rng_t rng;
    rng_seed(&rng, 13);
    for (int t = 0; t < 100000; t++) {
        int nd = (int)rng_range(&rng, 1, MAXD);
        int32_t dims[MAXD];
        for (int i = 0; i < nd; i++) {
            uint64_t d = rng_below(&rng, 10);
            dims[i] = d == 0 ? (int32_t)rng_range(&rng, -3, 1)
                    : d < 5 ? (int32_t)rng_range(&rng, 1, 1LL << (32 / nd))
                            : (int32_t)rng_range(&rng, 1, INT32_MAX);
        }
        if (!CHECK_EQ_U(core_index_total(nd, dims), ref_total(nd, dims)))
            return;
    }
}

/* Block mapping of `total` elements on `npes` PEs; `full` checks every element. */
static int check_blocks(uint64_t total, int npes, int full)
{
    int ok = 1;
    uint64_t prev_hi = 0, minsz = UINT64_MAX, maxsz = 0;
    for (int pe = 0; pe < npes && ok; pe++) {
        uint64_t lo = 1234567, hi = 7654321;
        core_block_range(total, npes, pe, &lo, &hi);
        ok &= CHECK_EQ_U(lo, prev_hi); /* ordered and contiguous, starting at 0 */
        ok &= CHECK(lo <= hi);
        ok &= CHECK(hi <= total);
        if (!ok)
            break;
        uint64_t sz = hi - lo;
        if (sz < minsz)
            minsz = sz;
        if (sz > maxsz)
            maxsz = sz;
        if (full) {
            for (uint64_t e = lo; e < hi && ok; e++)
                ok &= CHECK_EQ(core_block_pe(total, npes, e), pe);
        } else if (sz) {
            ok &= CHECK_EQ(core_block_pe(total, npes, lo), pe);
            ok &= CHECK_EQ(core_block_pe(total, npes, hi - 1), pe);
            uint64_t mid = lo + sz / 2;
            ok &= CHECK_EQ(core_block_pe(total, npes, mid), pe);
        }
        prev_hi = hi;
    }
    ok &= CHECK_EQ_U(prev_hi, total); /* covers everything */
    ok &= CHECK(maxsz - minsz <= 1);  /* as even as can be */
    ok &= CHECK_EQ_U(minsz, total / (uint64_t)npes);
    if (!ok)
        fprintf(stderr, "  (total %llu, npes %d)\n", (unsigned long long)total, npes);
    return ok;
}

static void test_blocks(void)
{
    /* Every element of small arrays: each is mapped to exactly one PE (the one whose
     * range contains it), counted independently here. */
    for (uint64_t total = 1; total <= 150; total++) {
        for (int npes = 1; npes <= 70; npes++) {
            if (!check_blocks(total, npes, 1))
                return;
            int *owner_count = calloc(total, sizeof *owner_count);
            for (int pe = 0; pe < npes; pe++) {
                uint64_t lo, hi;
                core_block_range(total, npes, pe, &lo, &hi);
                for (uint64_t e = lo; e < hi && e < total; e++)
                    owner_count[e]++;
            }
            int ok = 1;
            for (uint64_t e = 0; e < total && ok; e++) {
                ok &= CHECK_EQ(owner_count[e], 1);
                int p = core_block_pe(total, npes, e);
                ok &= CHECK(p >= 0 && p < npes);
            }
            free(owner_count);
            if (!ok)
                return;
        }
    }
    /* The documented formula, checked directly on a few. */
    CHECK_EQ(core_block_pe(10, 3, 0), 0);
    CHECK_EQ(core_block_pe(10, 3, 3), 0);
    CHECK_EQ(core_block_pe(10, 3, 4), 1);
    CHECK_EQ(core_block_pe(10, 3, 9), 2);
    CHECK_EQ(core_block_pe(2, 5, 1), 2);
    CHECK_EQ(core_block_pe(1, 8, 0), 0);
    /* total < npes: each element on its own PE, the others empty */
    check_blocks(3, 1000, 1);
    check_blocks(1, 65536, 1);
    /* Large totals and PE counts: range properties, boundary elements. */
    test_rng_t rng;
    rng_seed(&rng, 14);
    static const uint64_t totals[] = {INT32_MAX, INT32_MAX - 1, 1ULL << 30, 1000003, 999999};
    static const int pes[] = {1, 2, 3, 7, 64, 1000, 65535, 65536, 100003};
    for (size_t i = 0; i < sizeof totals / sizeof totals[0]; i++)
        for (size_t j = 0; j < sizeof pes / sizeof pes[0]; j++)
            check_blocks(totals[i], pes[j], 0);
    for (int t = 0; t < 300; t++) {
        uint64_t total = (uint64_t)rng_range(&rng, 1, INT32_MAX);
        int npes = (int)rng_range(&rng, 1, rng_chance(&rng, 1, 2) ? 64 : 200000);
        if (!check_blocks(total, npes, total <= 20000))
            return;
    }
}

/* Sparse keys: every dimension count, the range edges, round trips, order as indices,
 * never the hash map's reserved key. */
static void test_sparse(void)
{
    CHECK_EQ(core_sparse_bits(1), 32);
    CHECK_EQ(core_sparse_bits(2), 31);
    CHECK_EQ(core_sparse_bits(3), 21);
    CHECK_EQ(core_sparse_bits(4), 15);
    CHECK_EQ(core_sparse_bits(5), 12);
    CHECK_EQ(core_sparse_bits(6), 10);
    test_rng_t rng;
    rng_seed(&rng, 6);
    for (int nd = 1; nd <= 6; nd++) {
        int bits = core_sparse_bits(nd);
        int64_t lo = -((int64_t)1 << (bits - 1)), hi = ((int64_t)1 << (bits - 1)) - 1;
        int32_t idx[6], back[6];
        uint64_t key, prev = 0;
        /* Out of range on either side, in any coordinate: refused. */
        for (int d = 0; d < nd; d++) {
            for (int i = 0; i < nd; i++)
                idx[i] = 0;
            if (bits < 32) {
                idx[d] = (int32_t)(hi + 1);
                CHECK(!core_sparse_key(nd, idx, &key));
                idx[d] = (int32_t)(lo - 1);
                CHECK(!core_sparse_key(nd, idx, &key));
            }
        }
        /* The corners round-trip; the highest is not UINT64_MAX. */
        for (int i = 0; i < nd; i++)
            idx[i] = (int32_t)hi;
        CHECK(core_sparse_key(nd, idx, &key));
        CHECK(key != UINT64_MAX);
        core_sparse_index(nd, key, back);
        CHECK_MEM(back, idx, (size_t)nd * 4);
        for (int i = 0; i < nd; i++)
            idx[i] = (int32_t)lo;
        CHECK(core_sparse_key(nd, idx, &key));
        CHECK_EQ_U(key, 0);
        /* Random indices: round trip, and keys ordered as the indices are. */
        int32_t last[6] = {0};
        for (int t = 0; t < 2000; t++) {
            for (int i = 0; i < nd; i++)
                idx[i] = (int32_t)(lo + (int64_t)rng_range(&rng, 0, (uint64_t)(hi - lo)));
            if (!CHECK(core_sparse_key(nd, idx, &key)))
                break;
            core_sparse_index(nd, key, back);
            if (!CHECK_MEM(back, idx, (size_t)nd * 4))
                break;
            if (t) {
                int cmp = 0;
                for (int i = 0; i < nd && !cmp; i++)
                    cmp = (idx[i] > last[i]) - (idx[i] < last[i]);
                if (!CHECK_EQ((key > prev) - (key < prev), cmp))
                    break;
            }
            memcpy(last, idx, sizeof last);
            prev = key;
        }
    }
}

int main(void)
{
    check_start();
    test_linear();
    test_in_range();
    test_total();
    test_blocks();
    test_sparse();
    return check_finish("unit.index");
}
