/*
 * The location layer: where the elements of a collection are.
 *
 * Every element has a key (its row-major index in a bounded array, its packed index in a
 * sparse one, a group member's PE) and a home PE, which the collection's placement map
 * gives. An element is created at its home unless told otherwise, and the home always
 * knows where it is: the PE it lands on after a move, or where it was inserted, tells
 * the home. Each PE also keeps what it has learnt of elements that are not at their home
 * (c->where: key -> PE and epoch, the count of moves, so that a newer fact is never
 * replaced by an older one).
 *
 * A message to an element goes where the sender's records say, or to its home. A PE that
 * gets a message for an element it does not hold forwards it (one hop more) where its own
 * records say, or to the home; the home holds it when the element does not exist yet and
 * releases it when the element appears. The PE that runs a forwarded message tells its
 * sender where the element is, so the sender's next message goes straight there.
 * A message for an element that was destroyed fails: its future, if it has one, gets an
 * error naming the index; otherwise the error is logged.
 */
#ifndef TERN_CORE_LOC_H
#define TERN_CORE_LOC_H

#include <stdint.h>

#include "core/pe.h"

/* A location record (c->where), packed in a pointer-sized value that is never 0. */
#define CORE_WHERE_GONE (-2) /* destroyed */

static inline void *core_where_pack(int pe, uint32_t epoch)
{
    return (void *)(uintptr_t)(((uint64_t)epoch << 32) | (uint32_t)(pe + 3));
}
static inline int core_where_pe(const void *v) { return (int)(uint32_t)(uintptr_t)v - 3; }
static inline uint32_t core_where_epoch(const void *v)
{
    return (uint32_t)((uint64_t)(uintptr_t)v >> 32);
}

/* The key of element idx of a collection shaped (kind, pflags, ndims, dims); 0 when the
 * index is outside it (logged for `call` unless call is NULL). */
int core_loc_key(const char *call, int kind, unsigned pflags, int ndims, const int32_t *dims,
                 const int32_t *idx, uint64_t *key);
/* The home PE of element idx (key) under `map`. */
int core_loc_home(core_pe_t *pe, uint32_t map, unsigned pflags, int ndims, const int32_t *dims,
                  const int32_t *idx, uint64_t key);
static inline int core_coll_home(core_pe_t *pe, const core_coll_t *c, const int32_t *idx,
                                 uint64_t key)
{
    return c->kind == TERN_PROXY_ARRAY
               ? core_loc_home(pe, c->map, c->pflags, c->ndims, c->dims, idx, key)
               : (int)key;
}
/* Is `map` usable for an array shaped so? Logs for `call` when not. */
tern_status_t core_loc_map_check(const char *call, uint32_t map, unsigned pflags);

/* Where a message to element `key` of array proxy `to` goes first. */
int core_loc_dest(core_pe_t *pe, const tern_proxy_t *to, uint64_t key);

/* m (an ENTRY, DESTROY or BCAST_ELEM message) is for element key of live collection c,
 * which is not here: forward it, hold it, or fail it. Takes m over. */
void core_loc_miss(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, uint64_t key);
/* The element ch ran a message that came by `hops` forwards from `src`: tell src. */
void core_loc_tell(core_pe_t *pe, core_chare_t *ch, int src);
/* Record that element key (index idx) of c is at `at` (its epoch), or gone
 * (CORE_WHERE_GONE); with `notify` >= 0 tell that PE too. Releases messages held for it
 * here. */
void core_loc_learn(core_pe_t *pe, core_coll_t *c, uint64_t key, const int32_t *idx, int at,
                    uint32_t epoch, int what);
void core_loc_send(core_pe_t *pe, core_coll_t *c, uint64_t key, const int32_t *idx, int dest,
                   int at, uint32_t epoch, int what);
/* An element appeared here (created, inserted, arrived): deliver what was held for it. */
void core_loc_release(core_pe_t *pe, core_coll_t *c, uint64_t key);
/* The census is over: messages still held for elements that were never inserted fail. */
void core_loc_fail_held(core_pe_t *pe, core_coll_t *c);
/* m cannot reach element key of c (`why`: "was destroyed", ...): answer its future with
 * an error, or log it; releases m. */
void core_loc_fail(core_pe_t *pe, core_coll_t *c, tern_msg_t *m, uint64_t key,
                   const char *why);
/* Format element idx of c as "(1, 2)" into buf. */
const char *core_loc_idx_str(int ndims, const int32_t *idx, char *buf, size_t cap);
void core_loc_free(core_pe_t *pe, core_coll_t *c);
void core_h_loc(core_pe_t *pe, tern_msg_t *m);

#endif
