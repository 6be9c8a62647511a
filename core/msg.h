/*
 * Messages: the wire header every message starts with, the in-memory message, and the
 * per-PE message pool.
 *
 * On the wire a message is a core_hdr_t then `body_len` bytes of body. The body holds the
 * payload segments: with one segment, its bytes; with several, a table of their lengths
 * (uint64 each, padded to 16 bytes) then each segment padded to 16 bytes. So every
 * segment is 16-byte aligned wherever the body is.
 */
#ifndef TERN_CORE_MSG_H
#define TERN_CORE_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#include "transports/transport.h"

#define CORE_ALIGN 16u
#define CORE_ALIGN_UP(x) (((x) + CORE_ALIGN - 1) & ~(uint64_t)(CORE_ALIGN - 1))
#define CORE_MAX_SEGS TERN_MAX_IOV
#define CORE_MAX_BODY (1ULL << 46) /* far above any transport limit; keeps sizes from wrapping */

/* Handler index carried by every message: what the receiving PE does with it. */
typedef enum {
    /* Application work: quiescence detection counts these when sent and received. */
    CORE_K_ENTRY = 1,        /* invoke ep on one chare or element */
    CORE_K_BCAST = 2,        /* invoke ep on every member of a collection (tree) */
    CORE_K_CREATE_CHARE = 3, /* construct a single chare here */
    CORE_K_CREATE_COLL = 4,  /* construct the local members of a group or array (tree) */
    CORE_K_FUT_SET = 5,      /* values or an error for a future of this PE */
    CORE_K_RED_PART = 6,     /* a reduction's partial result, up the tree */
    CORE_K_RED_XCHG = 7,     /* a small allreduce's partial result, between partners */
    CORE_K_RED_DOWN = 8,     /* a large allreduce's result, down the tree */
    /* The runtime's own traffic. */
    CORE_K_EXIT_REQ = 9,     /* to PE 0: someone called tern_exit */
    CORE_K_EXIT = 10,        /* stop (tree) */
    CORE_K_QD_START = 11,    /* to PE 0: a callback for the next quiescence */
    CORE_K_QD_PROBE = 12,    /* a wave of quiescence detection, down the tree */
    CORE_K_QD_REPLY = 13,    /* a PE's and its subtree's counts, up the tree */
    CORE_K_CREDIT = 14,      /* flow control: what the sender of it has taken in from us
                                (cid: messages, reply_id: bytes; totals) */
    CORE_K_STALL_ASK = 15,   /* the job stalled: say what waits (tree from PE 0) */
    CORE_K_STALL_INFO = 16,  /* to PE 0: what waits on the sender (text, or nothing) */
    CORE_K_EXIT_DONE = 17,   /* up the exit tree: my subtree has stopped sending */
    CORE_K_EXIT_CLOSE = 18,  /* down the exit tree: every PE has stopped; close */
    CORE_K_COUNT
} core_kind_t;

/* Messages that quiescence detection counts. */
static inline int core_kind_counted(unsigned kind) { return kind < CORE_K_EXIT_REQ; }

#define CORE_HDR_FORWARDED 0x1u /* a tree message already sent on to its children here */
#define CORE_HDR_WANT_DONE 0x2u /* answer the reply future when the method returns */
#define CORE_HDR_WANT_RET 0x4u  /* answer the reply future with the return value */
#define CORE_HDR_ERROR 0x8u     /* FUT_SET: the body is an error message */

/* The entry method id of a message that invokes nothing: it only answers its future once
 * the chares it names exist (tern_await_created). */
#define CORE_EP_PING UINT32_MAX

typedef struct core_hdr {
    uint16_t kind;     /* core_kind_t */
    uint16_t nsegs;
    uint8_t ckind;     /* collection kind (tern_proxy_kind_t of the whole collection) */
    uint8_t ndims;
    uint16_t flags;
    int32_t src_pe;
    int32_t prio;
    uint32_t ep;       /* global entry method id; exit code for EXIT messages */
    uint32_t type;     /* global chare type id */
    int32_t root;      /* root PE of a tree message */
    int32_t reply_pe;  /* WANT_*: the PE of the future to answer */
    uint64_t cid;      /* collection; FUT_SET: the future's id */
    uint64_t body_len;
    int32_t idx[TERN_MAX_DIMS]; /* element index; dims of a CREATE_COLL; other kinds:
                                   their own fields (see the handlers) */
    uint64_t reply_id; /* WANT_*: the id of the future to answer */
} core_hdr_t;

_Static_assert(sizeof(core_hdr_t) % CORE_ALIGN == 0, "header keeps bodies aligned");

/* A zeroed header of `kind` from `src_pe`, which is also the root of its tree. */
static inline void core_hdr_init(core_hdr_t *h, int kind, int src_pe)
{
    __builtin_memset(h, 0, sizeof *h);
    h->kind = (uint16_t)kind;
    h->src_pe = src_pe;
    h->root = src_pe;
}

struct tern_msg {
    struct tern_msg *next; /* queue link */
    uint64_t seq;          /* arrival order, for FIFO among equal priorities */
    tp_rx_ref_t *rx_ref;   /* transport memory the body lives in, or NULL */
    unsigned char *body;
    uint32_t pool_class;   /* CORE_POOL_NONE: not from a size class */
    uint16_t user_alloc;   /* built by tern_msg_alloc and not yet sent */
    uint16_t taken_in;     /* came from a transport, not yet dispatched (pe->rx_queued) */
    uint32_t refs;         /* invocations still using it (a broadcast's local members) */
    uint32_t nmembers;     /* a broadcast's local members, for its completion answer */
    _Alignas(CORE_ALIGN) core_hdr_t hdr;
    _Alignas(CORE_ALIGN) unsigned char inline_body[];
};

/* core_deliver copies a received header and body in one go. */
_Static_assert(offsetof(struct tern_msg, inline_body) ==
                   offsetof(struct tern_msg, hdr) + sizeof(core_hdr_t),
               "the inline body follows the header");

#define CORE_POOL_CLASSES 10 /* 256 B .. 128 KiB: a 64 KiB body and its header fit */
#define CORE_POOL_NONE UINT32_MAX

typedef struct {
    tern_msg_t *free[CORE_POOL_CLASSES];
    uint32_t nfree[CORE_POOL_CLASSES];
    uint64_t live;  /* messages allocated and not yet released */
} core_pool_t;

void core_pool_init(core_pool_t *p);
/* Free everything cached; returns the number of messages still live (leaked). */
uint64_t core_pool_fini(core_pool_t *p);

/* A message with room for `body_len` bytes of body inline. NULL when out of memory. */
tern_msg_t *core_msg_alloc(core_pool_t *p, uint64_t body_len);
/* A message whose body stays in transport memory until it is released. */
tern_msg_t *core_msg_wrap(core_pool_t *p, void *body, tp_rx_ref_t *ref);
void core_msg_release(core_pool_t *p, tern_msg_t *m);
/* A message that no longer holds transport memory: m itself when it holds none, else a
 * copy (m is released). For messages kept for an unbounded time, so that they do not pin
 * a peer's buffers. NULL when out of memory (m is then left as it was). */
tern_msg_t *core_msg_detach(core_pool_t *p, tern_msg_t *m);
/* Check that the body's segment table is consistent with its length. */
int core_body_valid(const core_hdr_t *hdr, const unsigned char *body);

/* Body bytes needed for these payload segments. */
uint64_t core_body_len(const tern_iov_t *iov, int niov);
/* Write the body for these segments into dst (core_body_len bytes). */
void core_body_fill(unsigned char *dst, const tern_iov_t *iov, int niov);
/*
 * The transport buffers that send header + body for these segments: hdr, the length table
 * and the segments with zero padding in between. `out` needs room for 2 * niov + 2 entries;
 * returns how many were used. `table` is scratch of 8 * niov + 16 bytes.
 */
int core_wire_iov(const core_hdr_t *hdr, const tern_iov_t *iov, int niov, uint64_t *table,
                  tern_iov_t *out);

#endif
