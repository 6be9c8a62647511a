/*
 * Credit flow control over transports that would otherwise take whatever they are given
 * (tp->flow_control: UCX and libfabric queue or buffer without limit). A sender may have
 * at most TERN_FC_WINDOW messages, and about TERN_FC_BYTES bytes, sent to a PE that the
 * receiving core has not yet taken in; the rest waits in the sender's backlog, packed.
 * The receiver counts what it takes in (core_deliver) and sends the totals back in a
 * CORE_K_CREDIT message once half a window has come (a quarter for bytes). Credits go
 * straight to the transport, past the backlog: a backlog may be waiting for them.
 *
 * The receiving core stops taking messages from its transports while its scheduler queue
 * is long (core/runtime.c), so a slow receiver holds back its senders instead of growing.
 *
 * No deadlock: a sender blocked on messages has a full window outstanding, blocked on
 * bytes more than half the byte window; either way the receiver, once it has taken them
 * in, owes it credits, which need no credits to go.
 */
#ifndef TERN_CORE_FLOW_H
#define TERN_CORE_FLOW_H

#include <stdint.h>

#include "core/pe.h"

typedef struct {
    uint64_t sent_msgs, sent_bytes;   /* to this PE */
    uint64_t acked_msgs, acked_bytes; /* of those, taken in by it (its credits) */
    uint64_t in_msgs, in_bytes;       /* from this PE, taken in here */
    uint64_t ret_msgs, ret_bytes;     /* of those, reported back to it */
    int owed;                         /* a credit message could not go yet */
} core_fc_peer_t;

typedef struct core_fc {
    uint64_t win_msgs, win_bytes;
    core_fc_peer_t *peer;  /* [num_pes] */
    unsigned char *on;     /* [num_pes] the route to this PE is flow-controlled */
    int nowed;             /* peers with owed != 0 */
} core_fc_t;

/* After the transports are open: credits for the routes that need them. */
tern_status_t core_fc_open(core_pe_t *pe);
void core_fc_close(core_pe_t *pe);

/* May a message of `bytes` go to dest now? */
static inline int core_fc_ok(const core_pe_t *pe, int dest, uint64_t bytes)
{
    const core_fc_t *fc = pe->fc;
    if (__builtin_expect(!fc || !fc->on[dest], 1))
        return 1;
    const core_fc_peer_t *p = &fc->peer[dest];
    uint64_t out_bytes = p->sent_bytes - p->acked_bytes;
    (void)bytes; /* a message may overshoot the byte window by its own size */
    return p->sent_msgs - p->acked_msgs < fc->win_msgs && out_bytes <= fc->win_bytes / 2;
}

static inline void core_fc_sent(core_pe_t *pe, int dest, uint64_t bytes)
{
    core_fc_t *fc = pe->fc;
    if (fc && fc->on[dest]) {
        fc->peer[dest].sent_msgs++;
        fc->peer[dest].sent_bytes += bytes;
    }
}

/* A message of `bytes` from src was taken in; may send credits back. */
void core_fc_took(core_pe_t *pe, int src, uint64_t bytes);
/* A CORE_K_CREDIT from src. */
void core_fc_credit(core_pe_t *pe, int src, const core_hdr_t *hdr);
/* Send the credit messages that could not go earlier. */
void core_fc_progress(core_pe_t *pe);
/* The job ends: tell every sender all this PE has taken in (and, from now on, each
 * message as it comes), so that they know before they close. */
void core_fc_flush(core_pe_t *pe);
/* Non-zero while this PE owes credits, or has sent messages over a flow-controlled route
 * that their receiver has not said it took in. */
int core_fc_unsettled(const core_pe_t *pe);

#endif
