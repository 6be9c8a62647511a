/*
 * UCX transport (UCP active messages).
 *
 * Every process has one UCP worker; its address goes through the bootstrap, and each PE
 * makes an endpoint to every PE the core routes here at start-up. A message is one active
 * message: an 8-byte header naming the sending PE, then the message. UCX picks its protocol
 * by size and path: eager copies for small and medium messages, and rendezvous for large
 * ones, where the receiver is told the size first and UCX fetches the data straight from
 * the sender's buffer into the one we give it (a zero-copy get where the path can).
 *
 * The core may reuse its buffers as soon as send returns, so a send UCX cannot finish on
 * the spot is made from a copy that lives until UCX completes it. Arrivals are queued by
 * the receive callback and handed to the core after ucp_worker_progress returns (the core
 * may send while it handles them); a rendezvous still being fetched holds back the later
 * messages of the same sender, so every sender's messages arrive in order.
 *
 * An idle PE sleeps on the worker's event descriptor (UCP_FEATURE_WAKEUP).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ucp/api/ucp.h>

#include "transports/transport.h"
#include "util/bufcache.h"
#include "util/log.h"

#define UCX_AM_ID 7
#define UCX_ADDR_KEY "ucx.addr"
/* Largest message tried in place (no copy) before falling back to a copy. */
#define UCX_INPLACE_MAX (64u << 10)
/* Up to this size several buffers are gathered on the stack into one first. */
#define UCX_GATHER_MAX 1024u
/* Messages up to this size are copied out of UCX's buffer at once, into the record. */
#define UCX_RX_INLINE 256u
/* Sends up to this size stay eager even when UCX would pick a rendezvous. */
#define UCX_EAGER_FORCE_MAX (16u << 10)

/* The active message header. */
typedef struct {
    int32_t src_pe;
    uint32_t pad;
} ucx_hdr_t;

struct ucx_tp;

/* A message that arrived, waiting for its turn to be delivered. */
typedef struct ucx_rx {
    tp_rx_ref_t base;
    struct ucx_tp *owner;
    struct ucx_rx *next;
    int src;
    int ready;        /* 0 while a rendezvous is still fetching it */
    int failed;
    void *buf;        /* the message, 16-byte aligned */
    size_t len;
    void *ucx_data;   /* UCX's descriptor to release, or NULL when buf is ours (free) */
    int inl;          /* buf is `small` below: delivered as a copy, the record reused */
    _Alignas(16) unsigned char small[UCX_RX_INLINE];
} ucx_rx_t;

/* A send UCX has not finished: the copy it sends from. */
typedef struct {
    struct ucx_tp *owner;
    int dest;
    size_t len;
    ucx_hdr_t hdr;
    _Alignas(16) unsigned char data[];
} ucx_tx_t;

typedef struct ucx_tp {
    tp_t base;
    tp_params_t params;
    ucp_context_h ctx;
    ucp_worker_h worker;
    int efd;
    ucp_ep_h *eps;          /* [num_pes], made at start-up for the PEs routed here */
    void **addrs;           /* [num_pes] worker addresses until the endpoints are made */
    size_t *addr_lens;
    ucx_rx_t *rx_head, *rx_tail; /* arrivals in order */
    unsigned *held;         /* [num_pes] generation mark: sender with a message still coming */
    unsigned held_gen;
    size_t tx_inflight;     /* sends UCX still holds */
    unsigned *tx_pending;   /* [num_pes] of those, per destination */
    double *last_rx;        /* [num_pes] when the last message from each came (0: none yet) */
    int closing;
    util_bufcache_t bufs;   /* copies to send from, buffers to receive into */
    ucx_rx_t *rx_spare;     /* records to reuse */
} ucx_tp_t;

static void ucx_close(tp_t *tp);
extern TP_PLUGIN_EXPORT const tp_ops_t tern_tp_ucx_ops;

/* Seconds, for telling how long a PE has been silent: the coarse clock is cheap enough
 * to read once per batch of arrivals, and fine enough for that. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void rx_push(ucx_tp_t *u, ucx_rx_t *r)
{
    r->next = NULL;
    if (u->rx_tail)
        u->rx_tail->next = r;
    else
        u->rx_head = r;
    u->rx_tail = r;
}

static void rx_release(tp_rx_ref_t *ref);

static ucx_rx_t *rx_get(ucx_tp_t *u)
{
    ucx_rx_t *r = u->rx_spare;
    if (r)
        u->rx_spare = r->next;
    else if (!(r = malloc(sizeof *r)))
        return NULL;
    r->base.release = rx_release;
    r->owner = u;
    r->next = NULL;
    r->ready = r->failed = r->inl = 0;
    r->buf = r->ucx_data = NULL;
    r->len = 0;
    return r;
}

static void rx_free(ucx_rx_t *r)
{
    ucx_tp_t *u = r->owner;
    if (r->ucx_data)
        ucp_am_data_release(u->worker, r->ucx_data);
    else if (!r->inl)
        util_bufcache_put(&u->bufs, r->buf, r->len);
    r->next = u->rx_spare;
    u->rx_spare = r;
}

static void rx_free(ucx_rx_t *r);

static void rx_release(tp_rx_ref_t *ref)
{
    rx_free((ucx_rx_t *)ref);
}

static void rndv_done(void *request, ucs_status_t status, size_t length, void *user_data)
{
    ucx_rx_t *r = user_data;
    if (r->owner->closing) { /* the worker is going: nobody waits for it any more */
        if (request)
            ucp_request_free(request);
        rx_free(r);
        return;
    }
    if (status != UCS_OK) {
        util_log_error("ucx transport: receiving %zu bytes from PE %d failed: %s", r->len, r->src,
                       ucs_status_string(status));
        r->failed = 1;
    } else if (length != r->len) {
        util_log_error("ucx transport: PE %d's message came with %zu bytes, not %zu", r->src,
                       length, r->len);
        r->failed = 1;
    }
    r->ready = 1;
    if (request)
        ucp_request_free(request);
}

static ucs_status_t am_recv(void *arg, const void *header, size_t header_length, void *data,
                            size_t length, const ucp_am_recv_param_t *param)
{
    ucx_tp_t *u = arg;
    ucx_hdr_t h;
    if (header_length != sizeof h) {
        util_log_error("ucx transport: a message with a %zu-byte header (expected %zu)",
                       header_length, sizeof h);
        return UCS_OK;
    }
    memcpy(&h, header, sizeof h);
    ucx_rx_t *r = rx_get(u);
    if (!r) {
        util_log_error("ucx transport: out of memory receiving from PE %d", h.src_pe);
        abort();
    }
    r->src = h.src_pe;
    r->len = length;
    if (param->recv_attr & UCP_AM_RECV_ATTR_FLAG_RNDV) {
        /* Large: fetch it into a buffer of ours, then deliver in turn. */
        if (!(r->buf = util_bufcache_get(&u->bufs, length))) {
            util_log_error("ucx transport: no memory for a %zu-byte message from PE %d", length,
                           h.src_pe);
            abort();
        }
        rx_push(u, r);
        ucp_request_param_t p = {
            .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA,
            .cb.recv_am = rndv_done,
            .user_data = r,
        };
        ucs_status_ptr_t req = ucp_am_recv_data_nbx(u->worker, data, r->buf, length, &p);
        if (req == NULL)
            r->ready = 1;
        else if (UCS_PTR_IS_ERR(req))
            rndv_done(NULL, UCS_PTR_STATUS(req), 0, r);
        return UCS_OK;
    }
    r->ready = 1;
    if (length <= UCX_RX_INLINE) {
        memcpy(r->small, data, length);
        r->buf = r->small;
        r->inl = 1;
        rx_push(u, r);
        return UCS_OK;
    }
    if ((param->recv_attr & UCP_AM_RECV_ATTR_FLAG_DATA) && ((uintptr_t)data & 15) == 0) {
        /* Keep UCX's own buffer until the core is done with it. */
        r->buf = data;
        r->ucx_data = data;
        rx_push(u, r);
        return UCS_INPROGRESS;
    }
    if (!(r->buf = util_bufcache_get(&u->bufs, length))) {
        util_log_error("ucx transport: out of memory receiving from PE %d", h.src_pe);
        abort();
    }
    if (length)
        memcpy(r->buf, data, length);
    rx_push(u, r);
    return UCS_OK;
}

/* Hand the core what is ready, in each sender's order. */
static int rx_deliver(ucx_tp_t *u)
{
    int n = 0;
    ucx_rx_t **pp = &u->rx_head, *prev = NULL;
    double now = now_s();
    unsigned gen = ++u->held_gen;
    if (gen == 0) { /* wrapped: clear the marks */
        memset(u->held, 0, (size_t)u->params.num_pes * sizeof *u->held);
        gen = ++u->held_gen;
    }
    while (*pp) {
        ucx_rx_t *r = *pp;
        if (!r->ready || u->held[r->src] == gen) {
            u->held[r->src] = gen; /* later messages of this sender wait behind it */
            prev = r;
            pp = &r->next;
            continue;
        }
        *pp = r->next;
        if (u->rx_tail == r)
            u->rx_tail = prev;
        if (r->failed) {
            util_log_error("ucx transport: a message from PE %d was lost", r->src);
            abort();
        }
        u->last_rx[r->src] = now;
        if (r->inl) { /* the core copies it; the record goes back at once */
            u->params.deliver(u->params.deliver_arg, r->src, r->buf, r->len, NULL);
            rx_free(r);
        } else {
            u->params.deliver(u->params.deliver_arg, r->src, r->buf, r->len, &r->base);
        }
        n++;
    }
    return n;
}

static tern_status_t ucx_start(ucx_tp_t *u)
{
    ucp_config_t *config;
    ucs_status_t s = ucp_config_read(NULL, NULL, &config);
    if (s != UCS_OK) {
        util_log_info(1, "ucx transport: ucp_config_read: %s", ucs_status_string(s));
        return TERN_ERR_UNSUPPORTED;
    }
    ucp_params_t cp = {
        .field_mask = UCP_PARAM_FIELD_FEATURES | UCP_PARAM_FIELD_MT_WORKERS_SHARED |
                      UCP_PARAM_FIELD_ESTIMATED_NUM_EPS,
        .features = UCP_FEATURE_AM | UCP_FEATURE_WAKEUP,
        .mt_workers_shared = 0,
        .estimated_num_eps = (size_t)u->params.num_pes,
    };
    s = ucp_init(&cp, config, &u->ctx);
    ucp_config_release(config);
    if (s != UCS_OK) {
        util_log_info(1, "ucx transport: ucp_init: %s", ucs_status_string(s));
        return TERN_ERR_UNSUPPORTED;
    }
    ucp_worker_params_t wp = {
        .field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE,
        .thread_mode = UCS_THREAD_MODE_SINGLE,
    };
    s = ucp_worker_create(u->ctx, &wp, &u->worker);
    if (s == UCS_OK)
        s = ucp_worker_get_efd(u->worker, &u->efd);
    if (s == UCS_OK) {
        ucp_am_handler_param_t hp = {
            .field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_FLAGS |
                          UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG,
            .id = UCX_AM_ID,
            .flags = UCP_AM_FLAG_WHOLE_MSG,
            .cb = am_recv,
            .arg = u,
        };
        s = ucp_worker_set_am_recv_handler(u->worker, &hp);
    }
    if (s != UCS_OK) {
        util_log_info(1, "ucx transport: setting up the worker: %s", ucs_status_string(s));
        return TERN_ERR_UNSUPPORTED;
    }
    return TERN_OK;
}

/* Publish my worker address (or a 1-byte "cannot" when UCX did not start), then read
 * everyone's: all processes reach the same verdict. */
static tern_status_t ucx_exchange(ucx_tp_t *u, tern_status_t mine)
{
    boot_t *b = u->params.boot;
    ucp_address_t *addr = NULL;
    size_t len = 0;
    if (mine == TERN_OK) {
        ucs_status_t s = ucp_worker_get_address(u->worker, &addr, &len);
        if (s != UCS_OK) {
            util_log_info(1, "ucx transport: ucp_worker_get_address: %s", ucs_status_string(s));
            mine = TERN_ERR_UNSUPPORTED;
        }
    }
    static const char cannot = 0;
    tern_status_t st = mine == TERN_OK ? b->ops->put(b, UCX_ADDR_KEY, addr, len)
                                       : b->ops->put(b, UCX_ADDR_KEY, &cannot, 1);
    if (addr)
        ucp_worker_release_address(u->worker, addr);
    tern_status_t fst = b->ops->fence(b);
    if (st == TERN_OK)
        st = fst;
    if (st != TERN_OK)
        return st;
    int npes = u->params.num_pes, failed = -1;
    for (int pe = 0; pe < npes; pe++) {
        size_t cap = 4096, n = 0;
        void *buf = malloc(cap);
        if (!buf)
            return TERN_ERR_NOMEM;
        st = b->ops->get(b, pe, UCX_ADDR_KEY, buf, cap, &n);
        if (st == TERN_ERR_RANGE) {
            void *bigger = realloc(buf, n);
            if (!bigger) {
                free(buf);
                return TERN_ERR_NOMEM;
            }
            buf = bigger;
            st = b->ops->get(b, pe, UCX_ADDR_KEY, buf, n, &n);
        }
        if (st != TERN_OK) {
            free(buf);
            util_log_error("ucx transport: cannot read PE %d's address: %s", pe,
                           tern_strerror(st));
            return st;
        }
        if (n <= 1 && failed < 0)
            failed = pe;
        u->addrs[pe] = buf;
        u->addr_lens[pe] = n;
    }
    if (failed >= 0) {
        util_log_info(1, "ucx transport: UCX did not start on PE %d; not used", failed);
        return TERN_ERR_UNSUPPORTED;
    }
    return mine;
}

static tern_status_t ucx_open(const tp_params_t *params, tp_t **out)
{
    tp_plugin_logger(params);
    ucx_tp_t *u = calloc(1, sizeof *u);
    if (!u)
        return TERN_ERR_NOMEM;
    u->base.ops = &tern_tp_ucx_ops;
    u->base.flow_control = 1; /* sends never push back: UCX queues them */
    u->params = *params;
    u->efd = -1;
    util_bufcache_init(&u->bufs, (size_t)256 << 20);
    int npes = params->num_pes;
    u->eps = calloc((size_t)npes, sizeof *u->eps);
    u->addrs = calloc((size_t)npes, sizeof *u->addrs);
    u->addr_lens = calloc((size_t)npes, sizeof *u->addr_lens);
    u->held = calloc((size_t)npes, sizeof *u->held);
    u->tx_pending = calloc((size_t)npes, sizeof *u->tx_pending);
    u->last_rx = calloc((size_t)npes, sizeof *u->last_rx);
    if (!u->eps || !u->addrs || !u->addr_lens || !u->held || !u->tx_pending || !u->last_rx) {
        ucx_close(&u->base);
        return TERN_ERR_NOMEM;
    }
    /* Whatever happens, take part in the exchange: nobody waits for us in the fence. */
    tern_status_t st = ucx_exchange(u, ucx_start(u));
    if (st != TERN_OK) {
        ucx_close(&u->base);
        return st;
    }
    const char *tls = getenv("UCX_TLS");
    if (tls && *tls)
        snprintf(u->base.desc, sizeof u->base.desc, "ucx (UCX_TLS=%.40s)", tls);
    else
        snprintf(u->base.desc, sizeof u->base.desc, "ucx");
    *out = &u->base;
    return TERN_OK;
}

static int ucx_reaches(tp_t *tp, int pe)
{
    ucx_tp_t *u = (ucx_tp_t *)tp;
    if (pe < 0 || pe >= u->params.num_pes || pe == u->params.my_pe)
        return 0;
    if (u->eps[pe])
        return 1;
    if (!u->addrs[pe])
        return 0;
    ucp_ep_params_t ep = {
        .field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE,
        .address = u->addrs[pe],
        /* Peer-failure handling would rule out UCX's shared-memory paths (they have
         * none); a failed process ends the job through its launcher instead. */
        .err_mode = UCP_ERR_HANDLING_MODE_NONE,
    };
    ucs_status_t s = ucp_ep_create(u->worker, &ep, &u->eps[pe]);
    free(u->addrs[pe]);
    u->addrs[pe] = NULL;
    if (s != UCS_OK) {
        u->eps[pe] = NULL;
        util_log_error("ucx transport: no path to PE %d (host %s): %s", pe,
                       u->params.host_name[u->params.pe_host[pe]], ucs_status_string(s));
        return 0;
    }
    return 1;
}

static size_t ucx_max_msg(tp_t *tp)
{
    (void)tp;
    return 0;
}

/*
 * Say what is known of a failed send: the PE, its host, UCX's status, and how long that PE
 * has been silent. Not why, nor that the PE has ended: UCX over TCP reports any error on a
 * connection as "Endpoint timeout", and a PE that died is named by the launcher anyway.
 */
static tern_status_t send_failed(ucx_tp_t *u, int pe, size_t total, ucs_status_t s)
{
    char heard[64];
    if (u->last_rx[pe] > 0)
        snprintf(heard, sizeof heard, "PE %d last heard from %.1f s ago", pe,
                 now_s() - u->last_rx[pe]);
    else
        snprintf(heard, sizeof heard, "nothing heard from PE %d yet", pe);
    util_log_error("ucx transport: sending %zu bytes to PE %d (host %s) failed: %s (%s%s; "
                   "UCX_LOG_LEVEL=debug logs what UCX saw)",
                   total, pe, u->params.host_name[u->params.pe_host[pe]], ucs_status_string(s),
                   s == UCS_ERR_ENDPOINT_TIMEOUT || s == UCS_ERR_CONNECTION_RESET
                       ? "UCX's connection to that process broke; " : "",
                   heard);
    return TERN_ERR_IO;
}

static void tx_done(void *request, ucs_status_t status, void *user_data)
{
    ucx_tx_t *t = user_data;
    ucx_tp_t *u = t->owner;
    if (status != UCS_OK && !u->closing) {
        /* The core has moved on (the send returned TERN_OK): nothing to hand the error to. */
        send_failed(u, t->dest, t->len, status);
        abort();
    }
    u->tx_inflight--;
    u->tx_pending[t->dest]--;
    util_bufcache_put(&u->bufs, t, sizeof *t + t->len);
    ucp_request_free(request);
}

/* UCX returned a request for a send asked to complete at once (it should not): the
 * caller's buffers are still in use, so finish it here. */
static tern_status_t finish_in_place(ucx_tp_t *u, int pe, size_t total, void *req)
{
    ucs_status_t s;
    while ((s = ucp_request_check_status(req)) == UCS_INPROGRESS)
        ucp_worker_progress(u->worker);
    ucp_request_free(req);
    return s == UCS_OK ? TERN_OK : send_failed(u, pe, total, s);
}

static tern_status_t ucx_send(tp_t *tp, int pe, const tern_iov_t *iov, int niov, size_t total,
                              tp_send_done_t *done)
{
    (void)done;
    ucx_tp_t *u = (ucx_tp_t *)tp;
    ucp_ep_h ep = u->eps[pe];
    ucx_hdr_t hdr = {.src_pe = u->params.my_pe};
    /* First try to send in place: small messages usually go at once. Not past a send UCX
     * still holds for this PE, though: that one must arrive first. */
    if (total <= UCX_GATHER_MAX && niov > 1 && !u->tx_pending[pe]) {
        /* Small: one contiguous buffer is UCX's fastest path. */
        _Alignas(16) unsigned char small[UCX_GATHER_MAX];
        unsigned char *d = small;
        for (int i = 0; i < niov; i++) {
            if (iov[i].len)
                memcpy(d, iov[i].base, iov[i].len);
            d += iov[i].len;
        }
        ucp_request_param_t p = {
            .op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS | UCP_OP_ATTR_FLAG_FORCE_IMM_CMPL,
            .flags = UCP_AM_SEND_FLAG_EAGER,
        };
        ucs_status_ptr_t r = ucp_am_send_nbx(ep, UCX_AM_ID, &hdr, sizeof hdr, small, total, &p);
        if (r == NULL)
            return TERN_OK;
        if (!UCS_PTR_IS_ERR(r))
            return finish_in_place(u, pe, total, r);
        if (UCS_PTR_STATUS(r) != UCS_ERR_NO_RESOURCE)
            return send_failed(u, pe, total, UCS_PTR_STATUS(r));
    } else if (niov <= 2 && total <= UCX_INPLACE_MAX && !u->tx_pending[pe]) {
        ucp_dt_iov_t v[2];
        for (int i = 0; i < niov; i++)
            v[i] = (ucp_dt_iov_t){(void *)iov[i].base, iov[i].len};
        ucp_request_param_t p = {
            .op_attr_mask = UCP_OP_ATTR_FIELD_DATATYPE | UCP_OP_ATTR_FIELD_FLAGS |
                            UCP_OP_ATTR_FLAG_FORCE_IMM_CMPL,
            .datatype = niov == 1 ? ucp_dt_make_contig(1) : ucp_dt_make_iov(),
            .flags = UCP_AM_SEND_FLAG_EAGER,
        };
        const void *buf = niov == 1 ? iov[0].base : (const void *)v;
        size_t count = niov == 1 ? total : (size_t)niov;
        ucs_status_ptr_t r = ucp_am_send_nbx(ep, UCX_AM_ID, &hdr, sizeof hdr, buf, count, &p);
        if (r == NULL)
            return TERN_OK;
        if (!UCS_PTR_IS_ERR(r))
            return finish_in_place(u, pe, total, r);
        if (UCS_PTR_STATUS(r) != UCS_ERR_NO_RESOURCE)
            return send_failed(u, pe, total, UCS_PTR_STATUS(r));
    }
    /* Otherwise from a copy that lives until UCX is done with it. */
    ucx_tx_t *t = util_bufcache_get(&u->bufs, sizeof *t + total);
    if (!t)
        return TERN_ERR_NOMEM;
    t->len = total;
    t->owner = u;
    t->dest = pe;
    t->hdr = hdr;
    unsigned char *d = t->data;
    for (int i = 0; i < niov; i++) {
        if (iov[i].len)
            memcpy(d, iov[i].base, iov[i].len);
        d += iov[i].len;
    }
    ucp_request_param_t p = {
        .op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA |
                        UCP_OP_ATTR_FIELD_FLAGS,
        .cb.send = tx_done,
        .user_data = t,
        /* Just past a size UCX would still send eagerly, our header must not tip it
         * into a rendezvous (a round trip more). */
        .flags = total <= UCX_EAGER_FORCE_MAX ? UCP_AM_SEND_FLAG_EAGER : 0,
    };
    ucs_status_ptr_t r = ucp_am_send_nbx(ep, UCX_AM_ID, &t->hdr, sizeof t->hdr, t->data, total, &p);
    if (r == NULL) {
        util_bufcache_put(&u->bufs, t, sizeof *t + total);
        return TERN_OK;
    }
    if (UCS_PTR_IS_ERR(r)) {
        util_bufcache_put(&u->bufs, t, sizeof *t + total);
        return send_failed(u, pe, total, UCS_PTR_STATUS(r));
    }
    u->tx_inflight++;
    u->tx_pending[pe]++;
    return TERN_OK;
}

static int ucx_progress(tp_t *tp)
{
    ucx_tp_t *u = (ucx_tp_t *)tp;
    while (ucp_worker_progress(u->worker)) {
    }
    return u->rx_head ? rx_deliver(u) : 0;
}

/* Ready to sleep on the event descriptor, or something to do first. */
static int ucx_arm(tp_t *tp)
{
    ucx_tp_t *u = (ucx_tp_t *)tp;
    if (u->rx_head)
        return TP_ARM_BUSY; /* a fetch under way completes only through progress */
    ucs_status_t s = ucp_worker_arm(u->worker);
    if (s == UCS_ERR_BUSY)
        return TP_ARM_BUSY;
    if (s != UCS_OK) {
        util_log_error("ucx transport: ucp_worker_arm: %s", ucs_status_string(s));
        return TP_ARM_NOFD;
    }
    return u->efd;
}

static void ucx_disarm(tp_t *tp)
{
    (void)tp;
}

static void ucx_wait(tp_t *tp, long timeout_us)
{
    int fd = ucx_arm(tp);
    if (fd == TP_ARM_BUSY)
        return;
    if (fd == TP_ARM_NOFD && (timeout_us < 0 || timeout_us > 200))
        timeout_us = 200;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    struct timespec ts = {timeout_us / 1000000, (timeout_us % 1000000) * 1000};
    if (ppoll(&p, fd >= 0 ? 1 : 0, timeout_us < 0 ? NULL : &ts, NULL) < 0 && errno != EINTR)
        util_log_error("ucx transport: poll: %s", strerror(errno));
}

static size_t ucx_pending(tp_t *tp)
{
    return ((ucx_tp_t *)tp)->tx_inflight;
}

static void ucx_close(tp_t *tp)
{
    ucx_tp_t *u = (ucx_tp_t *)tp;
    u->closing = 1;
    if (u->worker) {
        /* Finish what UCX still sends for us (bounded), then drop what arrived. */
        for (int spins = 0; u->tx_inflight && spins < 100000; spins++)
            ucp_worker_progress(u->worker);
        /* The endpoints go with the worker. Closing them one by one would flush each,
         * and a peer that has already left makes that fail (with UCX's error printed). */
        while (u->rx_head) {
            ucx_rx_t *r = u->rx_head;
            u->rx_head = r->next;
            if (r->ready)
                rx_free(r);
            /* a fetch still under way owns r: UCX completes it when the worker goes */
        }
        ucp_worker_destroy(u->worker);
    }
    if (u->ctx)
        ucp_cleanup(u->ctx);
    if (u->addrs)
        for (int pe = 0; pe < u->params.num_pes; pe++)
            free(u->addrs[pe]);
    free(u->addrs);
    free(u->addr_lens);
    free(u->eps);
    free(u->held);
    free(u->tx_pending);
    free(u->last_rx);
    while (u->rx_spare) {
        ucx_rx_t *r = u->rx_spare;
        u->rx_spare = r->next;
        free(r);
    }
    util_bufcache_fini(&u->bufs);
    free(u);
}

TP_PLUGIN_EXPORT const tp_ops_t tern_tp_ucx_ops = {
    .size = sizeof(tp_ops_t),
    .name = "ucx",
    .open = ucx_open,
    .reaches = ucx_reaches,
    .send = ucx_send,
    .max_msg = ucx_max_msg,
    .progress = ucx_progress,
    .wait = ucx_wait,
    .arm = ucx_arm,
    .disarm = ucx_disarm,
    .close = ucx_close,
    .pending = ucx_pending,
};
