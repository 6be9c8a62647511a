#include "tools/ternrun.h"

#include <stdlib.h>
#include <string.h>

/* Chained hash table over (rank, key); it doubles when the load passes 1 so that big jobs
 * with several keys per rank keep constant-time lookups. */

typedef struct tr_kv_entry {
    struct tr_kv_entry *next;
    uint64_t hash;
    int rank;
    size_t len;
    void *val;
    char key[]; /* NUL-terminated */
} tr_kv_entry_t;

struct tr_kv {
    tr_kv_entry_t **slots;
    size_t nslots; /* a power of two */
    size_t count;
};

static uint64_t kv_hash(int rank, const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    uint32_t r = (uint32_t)rank;
    for (int i = 0; i < 4; i++) {
        h ^= (r >> (8 * i)) & 0xffu;
        h *= 1099511628211ull;
    }
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
        h ^= *p;
        h *= 1099511628211ull;
    }
    return h;
}

tr_kv_t *tr_kv_new(void)
{
    tr_kv_t *kv = calloc(1, sizeof *kv);
    if (!kv)
        return NULL;
    kv->nslots = 64;
    kv->slots = calloc(kv->nslots, sizeof *kv->slots);
    if (!kv->slots) {
        free(kv);
        return NULL;
    }
    return kv;
}

void tr_kv_free(tr_kv_t *kv)
{
    if (!kv)
        return;
    for (size_t i = 0; i < kv->nslots; i++) {
        tr_kv_entry_t *e = kv->slots[i];
        while (e) {
            tr_kv_entry_t *next = e->next;
            free(e->val);
            free(e);
            e = next;
        }
    }
    free(kv->slots);
    free(kv);
}

static tr_kv_entry_t **kv_find(const tr_kv_t *kv, uint64_t h, int rank, const char *key)
{
    tr_kv_entry_t **pp = &kv->slots[h & (kv->nslots - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && (*pp)->rank == rank && strcmp((*pp)->key, key) == 0)
            return pp;
    return pp;
}

static void kv_grow(tr_kv_t *kv)
{
    size_t n = kv->nslots * 2;
    tr_kv_entry_t **slots = calloc(n, sizeof *slots);
    if (!slots)
        return; /* stays correct, only slower */
    for (size_t i = 0; i < kv->nslots; i++) {
        tr_kv_entry_t *e = kv->slots[i];
        while (e) {
            tr_kv_entry_t *next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(kv->slots);
    kv->slots = slots;
    kv->nslots = n;
}

int tr_kv_put(tr_kv_t *kv, int rank, const char *key, const void *val, size_t len)
{
    uint64_t h = kv_hash(rank, key);
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return -1;
    if (len)
        memcpy(copy, val, len);
    tr_kv_entry_t **pp = kv_find(kv, h, rank, key);
    if (*pp) {
        free((*pp)->val);
        (*pp)->val = copy;
        (*pp)->len = len;
        return 0;
    }
    size_t klen = strlen(key);
    tr_kv_entry_t *e = malloc(sizeof *e + klen + 1);
    if (!e) {
        free(copy);
        return -1;
    }
    e->next = NULL;
    e->hash = h;
    e->rank = rank;
    e->len = len;
    e->val = copy;
    memcpy(e->key, key, klen + 1);
    *pp = e;
    if (++kv->count > kv->nslots)
        kv_grow(kv);
    return 0;
}

const void *tr_kv_get(const tr_kv_t *kv, int rank, const char *key, size_t *len)
{
    tr_kv_entry_t *e = *kv_find(kv, kv_hash(rank, key), rank, key);
    if (!e)
        return NULL;
    *len = e->len;
    return e->val;
}
