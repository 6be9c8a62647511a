#include "util/bufcache.h"

#include <stdint.h>
#include <stdlib.h>

#define MIN_SHIFT 7 /* class 0: up to 128 bytes (small messages in flight stay small) */

static int class_of(size_t len)
{
    int k = 0;
    while (k < UTIL_BUFCACHE_CLASSES - 1 && ((size_t)1 << (k + MIN_SHIFT)) < len)
        k++;
    return k;
}

void util_bufcache_init(util_bufcache_t *c, size_t limit)
{
    for (int k = 0; k < UTIL_BUFCACHE_CLASSES; k++)
        c->free[k] = NULL;
    c->cached = 0;
    c->limit = limit;
}

void *util_bufcache_get(util_bufcache_t *c, size_t len)
{
    int k = class_of(len);
    size_t size = (size_t)1 << (k + MIN_SHIFT);
    if (size < len) /* beyond the last class: not cached */
        size = len;
    void *b = c->free[k];
    if (b && size == ((size_t)1 << (k + MIN_SHIFT))) {
        c->free[k] = *(void **)b;
        c->cached -= size;
        return b;
    }
    void *p = NULL;
    return posix_memalign(&p, 64, size) == 0 ? p : NULL;
}

void util_bufcache_put(util_bufcache_t *c, void *buf, size_t len)
{
    if (!buf)
        return;
    int k = class_of(len);
    size_t size = (size_t)1 << (k + MIN_SHIFT);
    if (size < len || c->cached + size > c->limit) {
        free(buf);
        return;
    }
    *(void **)buf = c->free[k];
    c->free[k] = buf;
    c->cached += size;
}

void util_bufcache_fini(util_bufcache_t *c)
{
    for (int k = 0; k < UTIL_BUFCACHE_CLASSES; k++) {
        while (c->free[k]) {
            void *next = *(void **)c->free[k];
            free(c->free[k]);
            c->free[k] = next;
        }
    }
    c->cached = 0;
}
