/*
 * The messages one PE holds back for another PE, in order, until the transport (or flow
 * control) lets them go. A flood toward a slow receiver ends up here, so what waits must
 * cost about its own size: messages are kept as they go on the wire, packed one after
 * another into chunks (a 16-byte record head, the packed header, the body padded to 16);
 * the body of a large one stays in its message, which the record points to.
 */
#ifndef TERN_CORE_BACKLOG_H
#define TERN_CORE_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Bodies up to this many bytes are copied into the chunks. */
#define CORE_BL_INLINE_MAX 2048u

struct core_bl_chunk;

typedef struct core_backlog {
    struct core_bl_chunk *head, *tail;
    uint64_t nmsgs;  /* messages held */
    uint64_t bytes;  /* bytes they will take on the wire */
    size_t next_chunk; /* size of the next chunk to make: they grow as the backlog does */
} core_backlog_t;

static inline int core_bl_empty(const core_backlog_t *b) { return b->nmsgs == 0; }

/* Queue a message: its packed header (wire, wire_len bytes: core_hdr_encode) and the body
 * made of these payload buffers, body_len bytes as core_body_fill lays them out (one
 * buffer is copied as it is). TERN_ERR_NOMEM when out of memory (nothing queued). */
tern_status_t core_bl_push(core_backlog_t *b, core_pool_t *pool, const void *wire,
                           size_t wire_len, const tern_iov_t *iov, int niov,
                           uint64_t body_len);
/* Queue m's body behind the packed header; m is taken over whatever the outcome (a small
 * body is copied and m released; a large one holding transport memory is copied out of
 * it). */
tern_status_t core_bl_push_msg(core_backlog_t *b, core_pool_t *pool, const void *wire,
                               size_t wire_len, tern_msg_t *m);
/* The first message as the transport sends it: `total` bytes in iov[0..n) (n is 1 or 2,
 * returned; 0 when empty). */
int core_bl_front(const core_backlog_t *b, tern_iov_t *iov, size_t *total);
/* Remove the first message. */
void core_bl_pop(core_backlog_t *b, core_pool_t *pool);
/* Remove everything. */
void core_bl_clear(core_backlog_t *b, core_pool_t *pool);

#endif
