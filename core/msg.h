/*
 * Messages: the wire header every message starts with, the in-memory message, and the
 * per-PE message pool.
 *
 * On the wire a message is its packed header (core_hdr_encode) then its body. The body
 * holds the payload segments: with one segment, its bytes; with several, a table of their
 * lengths (uint64 each, padded to 16 bytes) then each segment padded to 16 bytes. So
 * every segment is 16-byte aligned wherever the body is.
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

/*
 * The kinds of message the core handles itself; core/handler.c holds what each needs (its
 * handler, the size of its part of the header, whether quiescence detection counts it).
 * Modules outside the core register kinds of their own after these (core_handler_register).
 */
typedef enum {
    /* Application work: quiescence detection counts these when sent and received. */
    CORE_K_ENTRY = 1,        /* invoke ep on one chare or element (part: entry) */
    CORE_K_BCAST = 2,        /* invoke ep on every member of a collection (entry; tree) */
    CORE_K_CREATE_CHARE = 3, /* construct a single chare here (create) */
    CORE_K_CREATE_COLL = 4,  /* construct the local members of a group or array (create;
                                tree) */
    CORE_K_FUT_SET = 5,      /* values or an error for a future of this PE (fut) */
    CORE_K_RED_PART = 6,     /* a reduction's partial result, up the tree (red) */
    CORE_K_RED_XCHG = 7,     /* a small allreduce's partial result, between partners (red) */
    CORE_K_RED_DOWN = 8,     /* a large allreduce's result, down the tree (red) */
    /* The runtime's own traffic. */
    CORE_K_EXIT_REQ = 9,     /* to PE 0: someone called tern_exit (exit) */
    CORE_K_EXIT = 10,        /* stop (exit; tree from PE 0) */
    CORE_K_QD_START = 11,    /* to PE 0: a callback for the next quiescence (body) */
    CORE_K_QD_PROBE = 12,    /* a wave of quiescence detection, down the tree (qd) */
    CORE_K_QD_REPLY = 13,    /* a PE's and its subtree's counts, up the tree (qd) */
    CORE_K_CREDIT = 14,      /* flow control: what the sender has taken in from us (credit) */
    CORE_K_STALL_ASK = 15,   /* the job stalled: say what waits (tree from PE 0) */
    CORE_K_STALL_INFO = 16,  /* to PE 0: what waits on the sender (text, or nothing) */
    CORE_K_EXIT_DONE = 17,   /* up the exit tree: my subtree has stopped sending */
    CORE_K_EXIT_CLOSE = 18,  /* down the exit tree: every PE has stopped; close */
    /* Moving, inserting and destroying elements (core/loc.c, migrate.c, insert.c), and
     * reductions over members that move (reduce.c). Counted: each may lead to work. */
    CORE_K_MIGRATE = 19,     /* an element's packed state, to its new PE (mig) */
    CORE_K_LOC = 20,         /* where an element is, or that it is gone (loc) */
    CORE_K_INSERT = 21,      /* construct an inserted element here (create; index) */
    CORE_K_DESTROY = 22,     /* destroy an element (entry; index; routed to it) */
    CORE_K_BCAST_ELEM = 23,  /* a numbered broadcast, to one element that missed it (bcast;
                                index; routed to it) */
    CORE_K_ARRIVED = 24,     /* to the PE an element left: it arrived (loc; index) */
    CORE_K_RED_CONTRIB = 25, /* a contribution made away from the PE that counts it (red) */
    CORE_K_RED_RESULT = 26,  /* an allreduce result, to a PE where contributors wait (red) */
    CORE_K_RED_LEAVE = 27,   /* a destroyed element leaves its version's count (red) */
    CORE_K_RED_STAND = 28,   /* up a tree: nothing more comes from this subtree (red) */
    CORE_K_CENSUS_START = 29, /* to the collection's root: tern_array_done_inserting (census) */
    CORE_K_CENSUS_ASK = 30,  /* a census wave, down the tree (census) */
    CORE_K_CENSUS_REPLY = 31, /* a subtree's counts, up (census) */
    CORE_K_FREEZE = 32,      /* the census's outcome, down (census) */
    CORE_K_CORE_END          /* the first kind a module may get */
} core_kind_t;

#define CORE_KINDS_MAX 64    /* kinds in all, the core's and the modules' */

/* Flags of a message; what they mean depends on its kind. */
#define CORE_HDR_FORWARDED 0x1u /* BCAST: already sent on to its children here (in memory) */
#define CORE_HDR_WANT_DONE 0x2u /* ENTRY, BCAST: answer the reply future when it returns */
#define CORE_HDR_WANT_RET 0x4u  /* ENTRY, BCAST: answer the reply future with its value */
#define CORE_HDR_ERROR 0x8u     /* FUT_SET: the body is an error message */
#define CORE_HDR_EMPTY 0x8u     /* CREATE_COLL: an array created without elements */
#define CORE_HDR_NUMBER 0x8u    /* BCAST: to a mobile array's root, which numbers it */

/* The entry method id of a message that invokes nothing: it only answers its future once
 * the chares it names exist (tern_await_created). */
#define CORE_EP_PING UINT32_MAX
#define CORE_EP_CHAN (UINT32_MAX - 1) /* a channel message (core/chan.c) */

/* The kinds' parts of the header: named fields, nothing reused with another meaning. */
typedef struct {
    uint64_t cid;   /* the collection (or single chare) */
    uint32_t ep;    /* global entry method id */
} core_part_entry_t;
typedef struct {
    uint64_t cid;
    uint32_t ep;
    int32_t root;   /* the tree's root (the source, or a mobile array's root PE) */
    uint64_t seq;   /* a mobile array's broadcast number; 0: not numbered (yet) */
} core_part_bcast_t;  /* starts as core_part_entry_t does */
typedef struct {
    uint64_t cid;
    uint32_t type;  /* global chare type id */
    uint8_t ckind;  /* TERN_PROXY_CHARE, _GROUP or _ARRAY */
    uint8_t ndims;
    uint16_t pflags; /* TERN_PROXY_* */
    int32_t dims[TERN_MAX_DIMS];
    uint32_t map;   /* placement map (global id) */
} core_part_create_t;
typedef struct {
    uint64_t cid;
    uint64_t red_seq;
    uint64_t bcast_seq;
    uint32_t type;
    uint32_t epoch;  /* the element's moves, this one included */
    int32_t red_pe;
    uint32_t red_ver;
    uint32_t flags;  /* CORE_MIG_FRESH; bits 8-31: contributions held (for the census) */
    uint32_t pup_len; /* bytes of the pup part, after the state's */
} core_part_mig_t;
#define CORE_MIG_FRESH 0x1u /* inserted since the last census */
#define CORE_MIG_LB 0x2u    /* moved by a load balancing step (core/lb_step.c counts arrivals) */
#define CORE_MIG_SYNCED 0x4u /* it called tern_at_sync and waits to be resumed */
typedef struct {
    uint64_t cid;
    uint64_t seq;    /* ARRIVED: broadcasts delivered on the new PE */
    int32_t pe;      /* where the element is */
    uint32_t epoch;
    uint32_t what;   /* CORE_LOC_* */
} core_part_loc_t;
enum { CORE_LOC_MOVED = 1, CORE_LOC_BORN = 2, CORE_LOC_GONE = 3 };
typedef struct {
    uint64_t cid;
    uint32_t wave;
    uint32_t pad;
    uint64_t hold_from; /* ASK: hold contributions to reductions from this one on */
} core_part_census_t;
typedef struct {
    uint64_t id;    /* the future, on the receiving PE */
    int64_t slot;   /* where the value goes; -1: the first free slot */
    uint32_t count; /* empty values (completions) it stands for, when more than one */
    int32_t err_pe; /* ERROR: the PE where the failure happened */
} core_part_fut_t;
typedef struct {
    uint64_t cid;
    uint64_t seq;   /* the collection's reduction number */
    uint64_t each;  /* bytes of one contribution (not gather) */
    uint32_t reducer;
    uint32_t ncontrib; /* members the partial result covers */
    int32_t step;   /* allreduce exchange step */
    uint32_t ver;   /* the membership version (tree) it belongs to */
} core_part_red_t;
typedef struct {
    int32_t code;
} core_part_exit_t;
typedef struct {
    uint64_t wave;
} core_part_qd_t;
typedef struct {
    uint64_t msgs, bytes; /* totals taken in from the receiver of this */
} core_part_credit_t;

#define CORE_PART_MAX 48

/*
 * The header as the core handles it. On the wire it is packed (core_hdr_encode): a
 * 12-byte envelope (kind, flags, hops, which sections follow, segments, source PE), the
 * kind's part, then only the sections the message has (the element index, a priority,
 * the future to answer), padded to 16 bytes; the body follows. A message to one element
 * of a 1-D array with up to 16 bytes of payload is then one 64-byte cache line with
 * shm's 16-byte ring record.
 */
typedef struct core_hdr {
    uint8_t kind;      /* core_kind_t, or a module's */
    uint8_t flags;     /* CORE_HDR_* */
    uint8_t hops;      /* times forwarded toward its element */
    uint8_t ndims;     /* entries of idx (the index section) */
    uint16_t nsegs;    /* payload segments */
    uint16_t pad;
    int32_t src_pe;    /* the sender; for a tree message (BCAST, CREATE_COLL, EXIT,
                          STALL_ASK) also the tree's root */
    int32_t prio;      /* priority section: smaller runs first; 0 when absent */
    int32_t reply_pe;  /* reply section (WANT_*): the future to answer */
    uint32_t pad2;
    uint64_t reply_id;
    uint64_t body_len; /* in memory only: the wire knows the message's length */
    int32_t idx[TERN_MAX_DIMS];
    union {
        core_part_entry_t entry;
        core_part_bcast_t bcast;
        core_part_create_t create;
        core_part_mig_t mig;
        core_part_loc_t loc;
        core_part_census_t census;
        core_part_fut_t fut;
        core_part_red_t red;
        core_part_exit_t exit;
        core_part_qd_t qd;
        core_part_credit_t credit;
        unsigned char raw[CORE_PART_MAX]; /* a module's */
    } u;
} core_hdr_t;

_Static_assert(sizeof(core_part_create_t) <= CORE_PART_MAX, "parts fit the union");
_Static_assert(sizeof(core_part_red_t) <= CORE_PART_MAX, "parts fit the union");
_Static_assert(sizeof(core_part_mig_t) <= CORE_PART_MAX, "parts fit the union");

/* Bytes of the largest header on the wire. */
#define CORE_WIRE_MAX 112u

/* All zero: core_hdr_init copies it, which compilers turn into a few vector moves where a
 * memset of the header became a `rep stos` that cost a tenth of a small send. */
extern const core_hdr_t core_hdr_zero;

/* A zeroed header of `kind` from `src_pe`. */
static inline void core_hdr_init(core_hdr_t *h, int kind, int src_pe)
{
    __builtin_memcpy(h, &core_hdr_zero, sizeof *h);
    h->kind = (uint8_t)kind;
    h->src_pe = src_pe;
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
    uint64_t flow;         /* the timeline's id of the send that brought it (0: none) */
    _Alignas(CORE_ALIGN) core_hdr_t hdr;
    _Alignas(CORE_ALIGN) unsigned char inline_body[];
};


#define CORE_POOL_CLASSES 10 /* 256 B .. 128 KiB: a 64 KiB body and its header fit */
#define CORE_POOL_NONE UINT32_MAX
#define CORE_POOL_BORROWED (UINT32_MAX - 1) /* on a caller's stack: release does nothing */

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
 * The transport buffers that send a header and the body of these segments: the header's
 * head_len bytes at head (its wire form), the length table and the segments with zero
 * padding in between. `out` needs room for 2 * niov + 2 entries; returns how many were
 * used. `table` is scratch of 8 * niov + 16 bytes.
 */
int core_wire_iov(const void *head, size_t head_len, const tern_iov_t *iov, int niov,
                  uint64_t *table, tern_iov_t *out);

#endif
