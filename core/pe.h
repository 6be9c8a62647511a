/*
 * The state of one PE and the core's internal calls. Every internal call takes the PE
 * explicitly; only the public API (which has no context argument, like Charm4py's
 * `charm`) finds it through core_pe_current().
 */
#ifndef TERN_CORE_PE_H
#define TERN_CORE_PE_H

#include <stdint.h>

#include <tern/tern.h>

#include "core/backlog.h"
#include "core/handler.h"
#include "core/msg.h"
#include "core/sched.h"
#include "core/ult.h"
#include "topology/bind.h"
#include "topology/hosts.h"
#include "topology/machine.h"
#include "transports/boot.h"
#include "transports/transport.h"
#include "util/hashmap.h"

#define CORE_CHARE_MAGIC 0x6368617265ULL

struct core_coll;

/* A chare's runtime header; the user's state follows, 16-byte aligned. */
typedef struct core_chare {
    uint64_t magic;
    struct core_coll *coll;
    uint64_t lin; /* linear index in its collection */
    uint64_t red_seq; /* number of reductions it has contributed to */
    int32_t idx[TERN_MAX_DIMS];
    _Alignas(16) unsigned char state[];
} core_chare_t;

/* What one PE knows of a collection. */
typedef struct core_coll {
    uint64_t cid;
    uint32_t type;  /* global type id */
    uint8_t kind;   /* TERN_PROXY_CHARE, _GROUP or _ARRAY */
    uint8_t ndims;
    uint8_t live;   /* its local members are constructed */
    int32_t dims[TERN_MAX_DIMS];
    uint64_t total;
    util_hashmap_t elems;   /* linear index -> core_chare_t*, local members */
    core_chare_t **local;   /* local members in index order */
    uint64_t nlocal;
    tern_msg_t *pend_head;  /* messages that arrived before the collection */
    tern_msg_t *pend_tail;
    double pend_since;      /* when the first of them came */
    int pend_warned;        /* core/stall.c said they wait */
    /* The member the last message went to: messages tend to come in runs to one chare.
     * Whatever removes a local member (migration) must clear it. */
    core_chare_t *last_chare;
    uint64_t last_lin;
    struct core_red *reds;  /* reductions in flight here */
    struct core_red *red_spare; /* the last one finished, for reuse */
    struct core_rtree *rtree; /* the PEs that reductions span, made at the first one */
} core_coll_t;

struct core_inv;
struct core_timer;
struct core_fc;
struct core_stall;

typedef struct core_pe {
    int my_pe;
    int num_pes;
    boot_t *boot;
    tp_t *tps[4];           /* live transports */
    struct core_coll *last_coll; /* the collection the last message went to */
    int ntps;
    tp_t **route;           /* by PE: the transport that reaches it (NULL for me) */
    size_t *route_max;      /* by PE: largest message the route accepts (0: no limit) */
    core_backlog_t *backlog; /* by PE: what waits for the transport or for credits */
    int *bl_dests;          /* the PEs whose backlog is not empty, in no order */
    int nbacklog;           /* how many */
    struct core_fc *fc;     /* credits, when some route needs them (core/flow.h) */
    uint64_t fc_win_msgs, fc_win_bytes; /* TERN_FC_WINDOW, TERN_FC_BYTES */
    size_t recv_queue_max;  /* TERN_RECV_QUEUE: take nothing in while this many wait */
    size_t rx_queued;       /* messages taken in from transports and not yet dispatched */
    int bl_tp_blocked;      /* a backlog waits for its transport (RETRY), not for credits */
    int leak_check;         /* TERN_MSG_LEAK_CHECK */
    struct core_stall *stall; /* core/stall.c */
    double quiet_since;     /* idle since then (< 0: busy) */
    int nheld_colls;        /* collections not created here that messages wait for */
    core_sched_t sched;
    core_pool_t pool;
    util_hashmap_t colls;   /* cid -> core_coll_t* */
    uint64_t next_cid;
    int next_any_pe;
    int fanout;
    long spin_us;
    int oversubscribed;
    int exiting;
    int exit_started;       /* PE 0: an exit is under way */
    int exit_code;
    int exiting_logged;     /* a call made while ending was reported */
    double exit_grace;      /* TERN_EXIT_GRACE: how long the exit waits for stuck PEs */
    int exit_root;          /* root of the exit tree (EXIT, EXIT_DONE, EXIT_CLOSE) */
    int exit_kids_done;     /* children in that tree whose subtrees have stopped */
    int exit_close;         /* EXIT_CLOSE has come: no PE sends any more */
    double t0;
    core_ults_t ults;       /* coroutines */
    struct core_inv *inv_plain; /* the entry method running on the scheduler's stack */
    util_hashmap_t futures; /* id -> record, futures this PE created */
    uint64_t next_fid;
    char *fut_last_err;     /* the error of the last failed future released here */
    uint64_t fut_last_err_id;
    int fut_last_err_pe;
    /* Quiescence detection: counted messages (core_kind_counted) and timers. */
    uint64_t qd_sent, qd_recvd;
    struct core_qd *qd;
    /* Timers: a binary heap by deadline. */
    struct core_timer *timers;
    size_t ntimers, timers_cap;
    uint64_t timer_seq;
    /* Topology (core/topo.c): this host, this PE's binding, the PE <-> host map. */
    topo_machine_t machine;
    topo_binding_t binding;
    topo_hosts_t hosts;
    topo_set_t all;         /* every PE: broadcasts and QD waves span it */
    topo_hosts_t real_hosts; /* the same without emulation: what transports see */
    char **real_host_names;  /* [real_hosts.nhosts] */
    int emulate;            /* TERN_EMULATE_HOSTS */
    struct core_start_rec *start_recs; /* PE 0, verbose: every PE's, until reported */
} core_pe_t;

/* The PE of this thread (one PE per process for now; thread-local so that several PEs per
 * process stay possible). Initial-exec: every send reads it, and the library is linked
 * into programs, not dlopen'ed. */
extern _Thread_local core_pe_t *core_tls_pe __attribute__((tls_model("initial-exec")));

static inline core_pe_t *core_pe_current(void) { return core_tls_pe; }

core_pe_t *core_pe_not_running(const char *call);

/* The current PE, or NULL after logging "<call>: the runtime is not running". */
static inline core_pe_t *core_pe_checked(const char *call)
{
    core_pe_t *pe = core_tls_pe;
    return __builtin_expect(pe != NULL, 1) ? pe : core_pe_not_running(call);
}

/* transports (core/transports.c) */
/* Open the transports TERN_TRANSPORT asks for and route every other PE to one. Collective;
 * a PE no transport reaches is an error naming it. */
tern_status_t core_transports_open(core_pe_t *pe);
/* Deliver what has arrived on every transport; the number of messages. */
int core_transports_progress(core_pe_t *pe);
/* Let the transports finish what their sends left half done (tp_ops_t.flush): after each
 * handler, and before the PE sleeps. */
void core_transports_flush(core_pe_t *pe);
/* Sleep until a message may have arrived on any transport or timeout_us passes. */
void core_transports_wait(core_pe_t *pe, long timeout_us);
void core_transports_close(core_pe_t *pe);
/* Sends the transports still hold (not yet handed on): 0 once every send has left. */
size_t core_transports_pending(core_pe_t *pe);
/* PE 0, verbose: the start-up line saying which transport serves which pairs. */
void core_transports_report(core_pe_t *pe);

/* topology (core/topo.c) */
/* Discover and bind, swap with every PE what each needs of the others (host, binding,
 * registry hash), check the registries agree, build the host map. Collective. */
tern_status_t core_topo_start(core_pe_t *pe, uint64_t registry_hash);
/* PE 0, verbose: the start-up lines (PEs, hosts, transport, PE -> host and core). */
void core_topo_report(core_pe_t *pe);
void core_topo_fini(core_pe_t *pe);

/* messages */
void core_enqueue(core_pe_t *pe, tern_msg_t *m);
/* Send header + segments to another PE (copying as the transport needs) or to myself. */
tern_status_t core_send_iov(core_pe_t *pe, int dest, core_hdr_t *hdr, const tern_iov_t *iov,
                            int niov);
/* Send a message built in memory (header and body) to another PE; takes it over. */
tern_status_t core_send_msg_remote(core_pe_t *pe, int dest, tern_msg_t *m);
/* Forward a tree message to my children in its tree. */
void core_tree_forward(core_pe_t *pe, tern_msg_t *m);
void core_backlog_progress(core_pe_t *pe);
/* Drop every message still held back (the job is ending: they would never run). */
void core_backlog_drop(core_pe_t *pe);
void core_deliver(void *arg, int src_pe, void *buf, size_t len, tp_rx_ref_t *ref);

struct core_ep;
/* The checks of tern_send and the header they lead to; e NULL reports `ep` as unknown. */
tern_status_t core_send_check(core_pe_t *pe, const char *call, const tern_proxy_t *to,
                              const struct core_ep *e, tern_ep_t ep, const tern_iov_t *iov,
                              int niov, const tern_send_opts_t *opts, core_hdr_t *hdr,
                              int *dest);
/* The checks of a payload or of constructor arguments (`what` names them in the log):
 * buffer count, NULL buffers, a total size that fits a message. */
tern_status_t core_iov_check(const char *call, const char *what, const tern_iov_t *iov,
                             int niov);
/* TERN_ERR_STATE for `call` made while the job ends (from a destructor, say); logged the
 * first time on this PE. */
tern_status_t core_exiting(core_pe_t *pe, const char *call);
/* tern_proxy_elem for `call`: coll is a group or array, whole or one of its elements. */
tern_status_t core_proxy_elem(const char *call, const tern_proxy_t *coll, const int32_t *idx,
                              tern_proxy_t *out);
/* Elements of an array proxy (0 when malformed). */
uint64_t core_proxy_total(const tern_proxy_t *p);

/* collections */
void core_dispatch(core_pe_t *pe, tern_msg_t *m);
/* The chare an ENTRY message is for when it is here and its collection is built; NULL
 * otherwise (the message then takes the queue's way, where waiting and forwarding are). */
core_chare_t *core_entry_target(core_pe_t *pe, const core_hdr_t *h);
uint64_t core_new_cid(core_pe_t *pe);
int core_home_pe(core_pe_t *pe, const tern_proxy_t *p);
void core_colls_free(core_pe_t *pe);
core_coll_t *core_coll_get(core_pe_t *pe, uint64_t cid, int create);
/* The chare whose state is `self`, or NULL (logged for `call`). */
core_chare_t *core_chare_of(const char *call, const void *self);

/* handlers (core/handler.c lists them by kind) */
void core_h_entry(core_pe_t *pe, tern_msg_t *m);
void core_h_bcast(core_pe_t *pe, tern_msg_t *m);
void core_h_create_chare(core_pe_t *pe, tern_msg_t *m);
void core_h_create_coll(core_pe_t *pe, tern_msg_t *m);
void core_h_exit_req(core_pe_t *pe, tern_msg_t *m);
void core_h_exit(core_pe_t *pe, tern_msg_t *m);
void core_h_exit_done(core_pe_t *pe, tern_msg_t *m);
void core_h_exit_close(core_pe_t *pe, tern_msg_t *m);
void core_h_stall_ask(core_pe_t *pe, tern_msg_t *m);
void core_h_stall_info(core_pe_t *pe, tern_msg_t *m);
void core_h_fut_set(core_pe_t *pe, tern_msg_t *m);
void core_h_red_part(core_pe_t *pe, tern_msg_t *m);
void core_h_red_xchg(core_pe_t *pe, tern_msg_t *m);
void core_h_red_down(core_pe_t *pe, tern_msg_t *m);
void core_h_qd_start(core_pe_t *pe, tern_msg_t *m);
void core_h_qd_probe(core_pe_t *pe, tern_msg_t *m);
void core_h_qd_reply(core_pe_t *pe, tern_msg_t *m);
/* Reductions waiting for the collection's local members can go on. */
void core_red_coll_live(core_pe_t *pe, core_coll_t *c);
void core_red_coll_free(core_pe_t *pe, core_coll_t *c);
/* Stall report: one line per reduction of c in flight here (joined by newlines, at most
 * cap bytes); the number of lines. */
int core_red_describe(core_pe_t *pe, core_coll_t *c, char *buf, size_t cap);
/* From the idle scheduler: answer a quiescence wave if one waits for this PE. */
void core_qd_idle(core_pe_t *pe);
void core_qd_free(core_pe_t *pe);
/* Run due timers; returns how many ran. */
int core_timers_run(core_pe_t *pe, double now);
/* Seconds until the next timer is due (< 0: none). */
double core_timers_next(core_pe_t *pe, double now);
/* PE 0: look for quiescence on behalf of core/stall.c (two waves). */
void core_qd_watch(core_pe_t *pe);
/* Seconds until PE 0 starts the next quiescence wave (< 0: none pending). */
double core_qd_next(core_pe_t *pe, double now);
void core_timers_free(core_pe_t *pe);
double core_now(void);
/* Deliver `data` to a callback (a future's value or an entry method's payload). */
void core_cb_fire(core_pe_t *pe, const tern_callback_t *cb, const void *data, size_t len);

/* payload view */
const void *core_msg_seg(const tern_msg_t *m, int i, size_t *size);

#endif
