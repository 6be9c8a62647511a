/*
 * The messages one PE holds back for another PE, in order, until the transport (or flow
 * control) lets them go. A flood toward a slow receiver ends up here, so what waits must
 * cost about its own size: small messages are packed one after another into chunks (a
 * 16-byte record head, then header and body padded to 16), large ones are kept as the
 * messages they are and only pointed to.
 */
#ifndef TERN_CORE_BACKLOG_H
#define TERN_CORE_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/msg.h"

/* Messages up to this many bytes (header + body) are copied into the chunks. */
#define CORE_BL_INLINE_MAX 2048u

struct core_bl_chunk;

typedef struct core_backlog {
    struct core_bl_chunk *head, *tail;
    uint64_t nmsgs;  /* messages held */
    uint64_t bytes;  /* bytes they will take on the wire */
    size_t next_chunk; /* size of the next chunk to make: they grow as the backlog does */
} core_backlog_t;

static inline int core_bl_empty(const core_backlog_t *b) { return b->nmsgs == 0; }

/* Queue header + the body made of these payload buffers (as core_body_fill lays them
 * out). TERN_ERR_NOMEM when out of memory (nothing queued). */
tern_status_t core_bl_push_iov(core_backlog_t *b, core_pool_t *pool, const core_hdr_t *hdr,
                               const tern_iov_t *iov, int niov);
/* Queue a copy of header + body. TERN_ERR_NOMEM when out of memory (nothing queued). */
tern_status_t core_bl_push_copy(core_backlog_t *b, core_pool_t *pool, const core_hdr_t *hdr,
                                const unsigned char *body);
/* Queue m itself, which the backlog takes over whatever the outcome (a small one is
 * copied and released; a large one holding transport memory is copied out of it). */
tern_status_t core_bl_push_msg(core_backlog_t *b, core_pool_t *pool, tern_msg_t *m);
/* The first message as the transport sends it: header then body, `total` bytes in all
 * (iov needs 2 entries; returns how many it used), or 0 when empty. */
int core_bl_front(const core_backlog_t *b, tern_iov_t *iov, size_t *total);
/* The header of the first message (it must not be empty). */
const core_hdr_t *core_bl_front_hdr(const core_backlog_t *b);
/* Remove the first message. */
void core_bl_pop(core_backlog_t *b, core_pool_t *pool);
/* Remove everything. */
void core_bl_clear(core_backlog_t *b, core_pool_t *pool);

#endif
