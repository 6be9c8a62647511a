/*
 * A cache of large, aligned buffers for the network transports' bounce and receive
 * buffers. Large allocations from malloc come and go with mmap/brk, and every reuse then
 * page-faults its way through fresh zeroed pages (a few hundred microseconds per MiB);
 * keeping freed buffers by power-of-two size class avoids that. Single-threaded.
 */
#ifndef TERN_UTIL_BUFCACHE_H
#define TERN_UTIL_BUFCACHE_H

#include <stddef.h>

#define UTIL_BUFCACHE_CLASSES 48

typedef struct util_bufcache {
    void *free[UTIL_BUFCACHE_CLASSES]; /* per class: a list threaded through the buffers */
    size_t cached;                     /* bytes held in the lists */
    size_t limit;                      /* at most this many bytes are kept */
} util_bufcache_t;

void util_bufcache_init(util_bufcache_t *c, size_t limit);
/* A 64-byte aligned buffer of at least len bytes, or NULL. */
void *util_bufcache_get(util_bufcache_t *c, size_t len);
/* Give back a buffer from util_bufcache_get of the same len. */
void util_bufcache_put(util_bufcache_t *c, void *buf, size_t len);
void util_bufcache_fini(util_bufcache_t *c);

#endif
