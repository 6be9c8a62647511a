/*
 * Open-addressing hash map from 64-bit keys to pointers (linear probing, backward-shift
 * deletion, so no tombstones). The key UINT64_MAX is reserved. Not thread-safe.
 */
#ifndef TERN_UTIL_HASHMAP_H
#define TERN_UTIL_HASHMAP_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#define UTIL_HASHMAP_NOKEY UINT64_MAX

typedef struct {
    uint64_t key;
    void *val;
} util_hashmap_slot_t;

typedef struct {
    util_hashmap_slot_t *slots;
    size_t cap;   /* power of two, or 0 before the first insertion */
    size_t count;
} util_hashmap_t;

void util_hashmap_init(util_hashmap_t *m);
void util_hashmap_fini(util_hashmap_t *m);
/* Insert or replace. TERN_ERR_NOMEM if growing fails, TERN_ERR_INVALID for NOKEY. */
tern_status_t util_hashmap_put(util_hashmap_t *m, uint64_t key, void *val);
/* NULL when absent. */
void *util_hashmap_get(const util_hashmap_t *m, uint64_t key);
/* Remove and return the value, NULL when absent. */
void *util_hashmap_del(util_hashmap_t *m, uint64_t key);
static inline size_t util_hashmap_count(const util_hashmap_t *m) { return m->count; }

/* Iterate: for (size_t i = 0; util_hashmap_next(m, &i, &k, &v); ) — do not modify the map
 * while iterating. */
int util_hashmap_next(const util_hashmap_t *m, size_t *iter, uint64_t *key, void **val);

#endif
