#include "core/index.h"

int core_index_in_range(int ndims, const int32_t *dims, const int32_t *idx)
{
    for (int i = 0; i < ndims; i++)
        if (idx[i] < 0 || idx[i] >= dims[i])
            return 0;
    return 1;
}

uint64_t core_index_total(int ndims, const int32_t *dims)
{
    uint64_t t = 1;
    for (int i = 0; i < ndims; i++) {
        if (dims[i] < 1)
            return 0;
        t *= (uint64_t)dims[i];
        if (t > INT32_MAX)
            return 0;
    }
    return t;
}

uint64_t core_index_linear(int ndims, const int32_t *dims, const int32_t *idx)
{
    uint64_t lin = 0;
    for (int i = 0; i < ndims; i++)
        lin = lin * (uint64_t)dims[i] + (uint64_t)idx[i];
    return lin;
}

void core_index_from_linear(int ndims, const int32_t *dims, uint64_t lin, int32_t *idx)
{
    for (int i = ndims - 1; i >= 0; i--) {
        idx[i] = (int32_t)(lin % (uint64_t)dims[i]);
        lin /= (uint64_t)dims[i];
    }
}

/* ceil(pe * total / npes): the first element whose floor(lin * npes / total) is pe. */
static uint64_t block_start(uint64_t total, int npes, int pe)
{
    return ((uint64_t)pe * total + (uint64_t)npes - 1) / (uint64_t)npes;
}

void core_block_range(uint64_t total, int npes, int pe, uint64_t *lo, uint64_t *hi)
{
    *lo = block_start(total, npes, pe);
    *hi = block_start(total, npes, pe + 1);
}

int core_sparse_bits(int ndims) { return ndims == 1 ? 32 : 63 / ndims; }

int core_sparse_key(int ndims, const int32_t *idx, uint64_t *key)
{
    int bits = core_sparse_bits(ndims);
    int64_t half = (int64_t)1 << (bits - 1);
    uint64_t k = 0;
    for (int i = 0; i < ndims; i++) {
        if (idx[i] < -half || idx[i] >= half)
            return 0;
        k = (k << bits) | (uint64_t)((int64_t)idx[i] + half);
    }
    *key = k;
    return 1;
}

void core_sparse_index(int ndims, uint64_t key, int32_t *idx)
{
    int bits = core_sparse_bits(ndims);
    int64_t half = (int64_t)1 << (bits - 1);
    uint64_t mask = ((uint64_t)1 << bits) - 1;
    for (int i = ndims - 1; i >= 0; i--) {
        idx[i] = (int32_t)((int64_t)(key & mask) - half);
        key >>= bits;
    }
}
