#include "core/flow.h"

#include <stdlib.h>

#include "core/wire.h"
#include "util/log.h"

tern_status_t core_fc_open(core_pe_t *pe)
{
    int any = 0;
    for (int p = 0; p < pe->num_pes; p++)
        any |= pe->route[p] && pe->route[p]->flow_control;
    if (!any)
        return TERN_OK;
    core_fc_t *fc = calloc(1, sizeof *fc);
    if (!fc)
        return TERN_ERR_NOMEM;
    fc->peer = calloc((size_t)pe->num_pes, sizeof *fc->peer);
    fc->on = calloc((size_t)pe->num_pes, 1);
    if (!fc->peer || !fc->on) {
        free(fc->peer);
        free(fc->on);
        free(fc);
        return TERN_ERR_NOMEM;
    }
    fc->win_msgs = pe->fc_win_msgs;
    fc->win_bytes = pe->fc_win_bytes;
    for (int p = 0; p < pe->num_pes; p++)
        fc->on[p] = pe->route[p] && pe->route[p]->flow_control;
    pe->fc = fc;
    return TERN_OK;
}

void core_fc_close(core_pe_t *pe)
{
    if (!pe->fc)
        return;
    free(pe->fc->peer);
    free(pe->fc->on);
    free(pe->fc);
    pe->fc = NULL;
}

/* Tell src how much of its traffic this PE has taken in: totals, so that a late or merged
 * credit message is harmless. */
static void fc_return(core_pe_t *pe, int src)
{
    core_fc_t *fc = pe->fc;
    core_fc_peer_t *p = &fc->peer[src];
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_CREDIT, pe->my_pe);
    hdr.u.credit.msgs = p->in_msgs;
    hdr.u.credit.bytes = p->in_bytes;
    _Alignas(CORE_ALIGN) unsigned char wire[CORE_WIRE_MAX];
    size_t wire_len = core_hdr_encode(&hdr, wire);
    tern_iov_t iov = {wire, wire_len};
    tp_t *tp = pe->route[src];
    tern_status_t st = tp->ops->send(tp, src, &iov, 1, wire_len, NULL);
    if (st == TERN_OK && pe->trace)
        core_trace_sent(pe, src, wire_len, 0); /* counted, as its receiver counts it */
    if (st == TERN_OK) {
        p->ret_msgs = p->in_msgs;
        p->ret_bytes = p->in_bytes;
        if (p->owed) {
            p->owed = 0;
            fc->nowed--;
        }
        return;
    }
    if (st != TERN_ERR_RETRY)
        tern_abort("returning flow-control credits to PE %d failed: %s", src,
                   tern_strerror(st));
    if (!p->owed) {
        p->owed = 1;
        fc->nowed++;
    }
}

void core_fc_took(core_pe_t *pe, int src, uint64_t bytes)
{
    core_fc_t *fc = pe->fc;
    core_fc_peer_t *p = &fc->peer[src];
    p->in_msgs++;
    p->in_bytes += bytes;
    /* While the job ends, senders wait to hear that everything was taken in: at once. */
    if (!p->owed && (pe->exiting || p->in_msgs - p->ret_msgs >= fc->win_msgs / 2 ||
                     p->in_bytes - p->ret_bytes >= fc->win_bytes / 4))
        fc_return(pe, src);
}

void core_fc_flush(core_pe_t *pe)
{
    core_fc_t *fc = pe->fc;
    for (int p = 0; fc && p < pe->num_pes; p++)
        if (fc->on[p] && !fc->peer[p].owed && fc->peer[p].in_msgs != fc->peer[p].ret_msgs)
            fc_return(pe, p);
}

int core_fc_unsettled(const core_pe_t *pe)
{
    const core_fc_t *fc = pe->fc;
    if (!fc)
        return 0;
    if (fc->nowed)
        return 1;
    for (int p = 0; p < pe->num_pes; p++)
        if (fc->on[p] && fc->peer[p].sent_msgs != fc->peer[p].acked_msgs)
            return 1;
    return 0;
}

void core_fc_credit(core_pe_t *pe, int src, const core_hdr_t *hdr)
{
    core_fc_t *fc = pe->fc;
    if (!fc || !fc->on[src])
        tern_abort("flow-control credits from PE %d, whose route has no flow control", src);
    core_fc_peer_t *p = &fc->peer[src];
    const core_part_credit_t *c = &hdr->u.credit;
    if (c->msgs > p->sent_msgs || c->bytes > p->sent_bytes)
        tern_abort("PE %d returned credits for %llu messages, but only %llu were sent to it",
                   src, (unsigned long long)c->msgs, (unsigned long long)p->sent_msgs);
    if (c->msgs > p->acked_msgs)
        p->acked_msgs = c->msgs;
    if (c->bytes > p->acked_bytes)
        p->acked_bytes = c->bytes;
}

void core_fc_progress(core_pe_t *pe)
{
    core_fc_t *fc = pe->fc;
    for (int p = 0; p < pe->num_pes && fc->nowed; p++)
        if (fc->peer[p].owed)
            fc_return(pe, p);
}
