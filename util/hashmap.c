#include "util/hashmap.h"

#include <stdlib.h>

static inline size_t hm_hash(uint64_t k)
{
    /* A multiply-xorshift mix: collection ids and row-major indices are sequential. */
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)k;
}

void util_hashmap_init(util_hashmap_t *m)
{
    m->slots = NULL;
    m->cap = 0;
    m->count = 0;
}

void util_hashmap_fini(util_hashmap_t *m)
{
    free(m->slots);
    util_hashmap_init(m);
}

static tern_status_t hm_grow(util_hashmap_t *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    util_hashmap_slot_t *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return TERN_ERR_NOMEM;
    for (size_t i = 0; i < ncap; i++)
        ns[i].key = UTIL_HASHMAP_NOKEY;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == UTIL_HASHMAP_NOKEY)
            continue;
        size_t j = hm_hash(m->slots[i].key) & (ncap - 1);
        while (ns[j].key != UTIL_HASHMAP_NOKEY)
            j = (j + 1) & (ncap - 1);
        ns[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return TERN_OK;
}

tern_status_t util_hashmap_put(util_hashmap_t *m, uint64_t key, void *val)
{
    if (key == UTIL_HASHMAP_NOKEY)
        return TERN_ERR_INVALID;
    /* Keep the load under 3/4 so that probes stay short. */
    if ((m->count + 1) * 4 > m->cap * 3) {
        tern_status_t st = hm_grow(m);
        if (st != TERN_OK)
            return st;
    }
    size_t mask = m->cap - 1;
    size_t i = hm_hash(key) & mask;
    while (m->slots[i].key != UTIL_HASHMAP_NOKEY) {
        if (m->slots[i].key == key) {
            m->slots[i].val = val;
            return TERN_OK;
        }
        i = (i + 1) & mask;
    }
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
    return TERN_OK;
}

void *util_hashmap_get(const util_hashmap_t *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = hm_hash(key) & mask;
    while (m->slots[i].key != UTIL_HASHMAP_NOKEY) {
        if (m->slots[i].key == key)
            return m->slots[i].val;
        i = (i + 1) & mask;
    }
    return NULL;
}

void *util_hashmap_del(util_hashmap_t *m, uint64_t key)
{
    if (m->cap == 0 || key == UTIL_HASHMAP_NOKEY)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = hm_hash(key) & mask;
    while (m->slots[i].key != key) {
        if (m->slots[i].key == UTIL_HASHMAP_NOKEY)
            return NULL;
        i = (i + 1) & mask;
    }
    void *val = m->slots[i].val;
    /* Backward shift: pull later members of the probe run into the hole when their home
     * slot does not lie (cyclically) between the hole and their current slot. */
    size_t hole = i;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->slots[j].key == UTIL_HASHMAP_NOKEY)
            break;
        size_t home = hm_hash(m->slots[j].key) & mask;
        int between = (hole <= j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!between) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].key = UTIL_HASHMAP_NOKEY;
    m->count--;
    return val;
}

int util_hashmap_next(const util_hashmap_t *m, size_t *iter, uint64_t *key, void **val)
{
    for (size_t i = *iter; i < m->cap; i++) {
        if (m->slots[i].key != UTIL_HASHMAP_NOKEY) {
            *key = m->slots[i].key;
            *val = m->slots[i].val;
            *iter = i + 1;
            return 1;
        }
    }
    *iter = m->cap;
    return 0;
}
