/*
 * Index arithmetic of dense N-d arrays: bounds, row-major linear indices, and the default
 * block mapping of elements onto PEs (consecutive linear indices, as even as can be).
 */
#ifndef TERN_CORE_INDEX_H
#define TERN_CORE_INDEX_H

#include <stdint.h>

/* 1 when every 0 <= idx[i] < dims[i]. */
int core_index_in_range(int ndims, const int32_t *dims, const int32_t *idx);
/* Number of elements; 0 when a dimension is < 1 or the product exceeds INT32_MAX. */
uint64_t core_index_total(int ndims, const int32_t *dims);
uint64_t core_index_linear(int ndims, const int32_t *dims, const int32_t *idx);
void core_index_from_linear(int ndims, const int32_t *dims, uint64_t lin, int32_t *idx);

/* PE of element `lin` among `total` on `npes` PEs: floor(lin * npes / total). */
static inline int core_block_pe(uint64_t total, int npes, uint64_t lin)
{
    return (int)((lin * (uint64_t)npes) / total);
}

/* Elements of `pe`: [*lo, *hi). */
void core_block_range(uint64_t total, int npes, int pe, uint64_t *lo, uint64_t *hi);

/*
 * Keys of sparse arrays: the coordinates in offset binary, packed most significant first
 * into 63 bits (so keys sort as indices do, and never equal the hash map's reserved key):
 * 32 bits in 1-D, 63 / ndims bits a coordinate otherwise. Returns 0 when a coordinate is
 * outside the range that many bits hold ([-2^(bits-1), 2^(bits-1))).
 */
int core_sparse_bits(int ndims);
int core_sparse_key(int ndims, const int32_t *idx, uint64_t *key);
void core_sparse_index(int ndims, uint64_t key, int32_t *idx);

#endif
