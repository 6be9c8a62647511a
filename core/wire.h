/*
 * The header on the wire (see core_hdr_t in core/msg.h): encoding and decoding, inline
 * because every message passes through them twice.
 */
#ifndef TERN_CORE_WIRE_H
#define TERN_CORE_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/handler.h"
#include "core/msg.h"


/* The envelope: kind, flags, hops, sections, segments, source PE; 12 bytes. */
#define CORE_ENV_BYTES 12u
#define CORE_SECT_NDIMS 0x07u /* entries of the index section */
#define CORE_SECT_PRIO 0x08u
#define CORE_SECT_REPLY 0x10u

/* Copy n 4-byte words: parts and sections are multiples of 4, and a loop of word moves
 * costs less than a call to memcpy for these few bytes. */
static inline void core_copy_words(void *dst, const void *src, size_t nwords)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < nwords; i++) {
        uint32_t w;
        memcpy(&w, s + 4 * i, 4);
        memcpy(d + 4 * i, &w, 4);
    }
}

/* Write h as it goes on the wire into buf (CORE_WIRE_MAX bytes); returns its length, a
 * multiple of 16. */
static inline size_t core_hdr_encode(const core_hdr_t *h, unsigned char *buf)
{
    const core_handler_def_t *k = core_handler(h->kind);
    size_t part = k ? k->part : 0;
    uint8_t sect = (uint8_t)(h->ndims & CORE_SECT_NDIMS);
    if (h->prio)
        sect |= CORE_SECT_PRIO;
    if (h->flags & (CORE_HDR_WANT_DONE | CORE_HDR_WANT_RET))
        sect |= CORE_SECT_REPLY;
    uint32_t w0 = (uint32_t)h->kind | (uint32_t)(h->flags & ~CORE_HDR_FORWARDED) << 8 |
                  (uint32_t)h->hops << 16 | (uint32_t)sect << 24;
    uint32_t w1 = h->nsegs;
    memcpy(buf, &w0, 4);
    memcpy(buf + 4, &w1, 4);
    memcpy(buf + 8, &h->src_pe, 4);
    size_t n = CORE_ENV_BYTES;
    core_copy_words(buf + n, &h->u, part / 4);
    n += part;
    core_copy_words(buf + n, h->idx, h->ndims & CORE_SECT_NDIMS);
    n += 4u * (h->ndims & CORE_SECT_NDIMS);
    if (sect & CORE_SECT_PRIO) {
        memcpy(buf + n, &h->prio, 4);
        n += 4;
    }
    if (sect & CORE_SECT_REPLY) {
        memcpy(buf + n, &h->reply_pe, 4);
        memcpy(buf + n + 4, &h->reply_id, 8);
        n += 12;
    }
    size_t padded = CORE_ALIGN_UP(n);
    for (; n < padded; n += 4)
        memset(buf + n, 0, 4);
    return padded;
}

/* Read the wire header at buf (len bytes of message) into h, with h->body_len the rest;
 * returns the header's length, or 0 when it is malformed (an unknown kind, too short). */
static inline size_t core_hdr_decode(core_hdr_t *h, const unsigned char *buf, size_t len)
{
    if (len < CORE_ENV_BYTES)
        return 0;
    uint32_t w0;
    memcpy(&w0, buf, 4);
    const core_handler_def_t *k = core_handler(w0 & 0xff);
    uint8_t sect = (uint8_t)(w0 >> 24);
    if (!k || (sect & CORE_SECT_NDIMS) > TERN_MAX_DIMS)
        return 0;
    size_t n = CORE_ENV_BYTES + k->part + 4u * (sect & CORE_SECT_NDIMS) + (sect & CORE_SECT_PRIO ? 4 : 0) +
               (sect & CORE_SECT_REPLY ? 12 : 0);
    size_t padded = CORE_ALIGN_UP(n);
    if (padded > len)
        return 0;
    h->kind = (uint8_t)w0;
    h->flags = (uint8_t)(w0 >> 8);
    h->hops = (uint8_t)(w0 >> 16);
    h->ndims = sect & CORE_SECT_NDIMS;
    memcpy(&h->nsegs, buf + 4, 2);
    h->pad = 0;
    memcpy(&h->src_pe, buf + 8, 4);
    n = CORE_ENV_BYTES;
    core_copy_words(&h->u, buf + n, k->part / 4);
    n += k->part;
    core_copy_words(h->idx, buf + n, h->ndims);
    n += 4u * h->ndims;
    h->prio = 0;
    if (sect & CORE_SECT_PRIO) {
        memcpy(&h->prio, buf + n, 4);
        n += 4;
    }
    h->reply_pe = 0;
    h->reply_id = 0;
    if (sect & CORE_SECT_REPLY) {
        memcpy(&h->reply_pe, buf + n, 4);
        memcpy(&h->reply_id, buf + n + 4, 8);
    }
    h->body_len = len - padded;
    return padded;
}

#endif
