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
#include "core/registry.h"
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
    uint64_t lin;      /* its key in the collection (core/loc.h): the row-major index of a
                          bounded array's element, a sparse array's packed index, a group
                          member's PE */
    uint64_t red_seq;  /* number of reductions it has contributed to */
    uint64_t bcast_seq; /* mobile arrays: broadcasts it has received, in order */
    struct core_bheld *bheld; /* mobile arrays: broadcasts that came ahead of a missing one */
    uint64_t pos;      /* its place in coll->local */
    uint32_t epoch;    /* moves made (location records with a higher one are newer) */
    int32_t red_pe;    /* the PE that counts its contributions (core/reduce.c) */
    uint32_t red_ver;  /* the membership version that counts it */
    uint32_t running;  /* its entry methods running or suspended */
    int32_t move_to;   /* a move asked for (-1: none) */
    uint8_t destroy;   /* destruction asked for */
    uint8_t fresh;     /* inserted since the last census: not yet in a reduction tree */
    uint8_t queued;    /* on pe->pending_chares */
    uint8_t lbf;       /* CORE_LBF_*: load balancing (core/lb_step.c) */
    double lb_time;    /* balanced arrays: seconds in its entry methods since the last step
                          (or the load it reported, with CORE_LBF_USER) */
    struct core_lbcomm *comm; /* balanced arrays: what it sent to other elements since the
                                 last step (core/lb_step.c) */
    struct core_chans *chans; /* its ends of channels (core/chan.c) */
    struct core_secctr *secs; /* its contributions so far to each section (core/section.c) */
    uint32_t nheld_contribs; /* fresh: contributions waiting for the census */
    struct core_hcontrib *hcontribs; /* them, in order */
    struct core_chare *pending_next;
    struct tern_msg *follow, *follow_tail; /* messages that came after its move or
                                              destruction was asked for: they follow it */
    int32_t idx[TERN_MAX_DIMS];
    _Alignas(16) unsigned char state[];
} core_chare_t;

#define CORE_LBF_SYNCED 0x1u /* called tern_at_sync; not yet resumed */
#define CORE_LBF_USER 0x2u   /* lb_time is a load it reported (tern_set_load) */

struct core_held;
struct core_departed;
struct core_lbc;
struct core_census;
struct core_rver;

/* What one PE knows of a collection. */
typedef struct core_coll {
    uint64_t cid;
    uint32_t type;  /* global type id */
    uint8_t kind;   /* TERN_PROXY_CHARE, _GROUP or _ARRAY */
    uint8_t ndims;
    uint8_t live;   /* its local members are constructed */
    uint16_t pflags; /* TERN_PROXY_SPARSE, _MOBILE */
    uint32_t map;   /* placement map (global id) */
    int32_t dims[TERN_MAX_DIMS];
    uint64_t total; /* bounded arrays: prod(dims); elements at the last census otherwise */
    util_hashmap_t elems;   /* key -> core_chare_t*, local members */
    core_chare_t **local;   /* local members, in no order (core_chare_t.pos) */
    uint64_t nlocal, local_cap;
    core_chare_t *local_one; /* `local` until a second member: a single chare needs no more */
    tern_msg_t *pend_head;  /* messages that arrived before the collection */
    tern_msg_t *pend_tail;
    double pend_since;      /* when the first of them came */
    int pend_warned;        /* core/stall.c said they wait */
    /* The member the last message went to: messages tend to come in runs to one chare.
     * Whatever removes a local member (migration) must clear it. */
    core_chare_t *last_chare;
    uint64_t last_lin;
    /* Location (core/loc.c): where members not at their home are, as far as this PE
     * knows (key -> encoded PE and epoch), and messages held here, at an element's home,
     * for an element that does not exist yet (key -> struct core_held). */
    util_hashmap_t where;
    util_hashmap_t held;
    uint64_t nheld;
    /* Numbered broadcasts of a mobile array (core/abcast.c). */
    uint64_t bcast_next;    /* at the collection's root: numbers given so far */
    uint64_t bcast_done;    /* broadcasts delivered here */
    struct core_departed *departed; /* members that left, still owed broadcasts */
    /* Insertion (core/insert.c). */
    uint64_t ins_issued;    /* insertions this PE asked for */
    uint64_t ins_homed;     /* insertions of elements homed here that were made */
    uint64_t nfresh;        /* local members inserted since the last census */
    uint64_t moves_out;     /* members sent away whose arrival is not yet known */
    struct core_census *census; /* at the root: a census under way */
    uint32_t census_wave;   /* the wave this PE last answered (moves wait meanwhile) */
    uint8_t census_busy;    /* between answering a wave and its outcome */
    uint8_t ins_closed;     /* a census said insertions are over (none made here since) */
    uint8_t has_members;    /* reduction trees exist (created with elements, or counted) */
    struct core_red *reds;  /* reductions in flight here */
    struct core_red *red_spare; /* the last one finished, for reuse */
    struct core_rver *rvers; /* membership versions (reduction trees), newest first */
    uint64_t red_hwm;       /* one past the highest reduction number seen here */
    uint64_t hold_from;     /* a census holds contributions to reductions from here on */
    struct core_waiter *fresh_waiters; /* allreduce calls of fresh members: the census */
    struct core_lbc *lb;    /* balanced arrays: load balancing state (core/lb_step.c) */
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
    int direct_ok;          /* the scheduler is polling with nothing else under way: a
                               message may run on arrival (core/send.c) */
    /* Load balancing (core/lb_step.c): the job's strategy, and this PE's time so far asleep
     * and in elements of balanced arrays (the rest of its wall time is background). */
    const struct lb_strategy *lb_strategy;
    double lb_tolerance;
    int lb_report;          /* 0: quiet; 1: a line a step; 2: and each PE's load */
    int lb_cpu_clock;       /* elements' loads in thread CPU time, not wall time */
    double idle_time, lb_obj_time;
    util_hashmap_t *sections; /* the sections made here (core/section.c) */
    struct core_stats *stats; /* statistics (core/stats.c); NULL when off */
    struct core_trace *trace; /* the timeline (core/trace.c); NULL when off */
    struct core_tasks *tasks; /* the task pool (core/taskpool.c); NULL until used */
    int main_pending;         /* PE 0: main waits to start (core_start_main) */
    util_hashmap_t *sec_plans; /* section id -> how this PE routes its multicasts */
    uint64_t where_version;   /* bumped whenever what this PE knows of where elements are
                                 changes (sections cache their routes by it) */
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
    /* Chares with a move or destruction asked for, done once none of their entry
     * methods runs (core/migrate.c). */
    core_chare_t *pending_chares;
    uint64_t moves_out;      /* moves sent and not yet acknowledged (census) */
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
/* The header of a broadcast to group or array `to`, and the PE it goes to first (mine,
 * or a mobile array's root, which numbers it). */
void core_bcast_hdr(core_pe_t *pe, const tern_proxy_t *to, core_hdr_t *hdr, int *dest);
void core_colls_free(core_pe_t *pe);
core_coll_t *core_coll_get(core_pe_t *pe, uint64_t cid, int create);
/* The chare whose state is `self`, or NULL (logged for `call`). */
core_chare_t *core_chare_of(const char *call, const void *self);
/* Hold m until c is built here (replayed in order then). */
void core_coll_pend(core_pe_t *pe, core_coll_t *c, tern_msg_t *m);
/* Collection cid if it is built here; else NULL, and m is held for it. */
core_coll_t *core_coll_live(core_pe_t *pe, uint64_t cid, tern_msg_t *m);
/* A new chare of c (zeroed state, key, index; counted by this PE); not yet a member. */
core_chare_t *core_chare_alloc(core_pe_t *pe, core_coll_t *c, const core_type_t *t,
                               uint64_t key, const int32_t *idx);
void core_coll_add_local(core_coll_t *c, core_chare_t *ch);
void core_coll_remove_local(core_coll_t *c, core_chare_t *ch);
core_chare_t *core_coll_member(core_coll_t *c, uint64_t key);
/* The local member m (ENTRY, DESTROY, BCAST_ELEM) is for; NULL when it is not here (m has
 * then been forwarded, held or failed). */
core_chare_t *core_elem_target(core_pe_t *pe, core_coll_t *c, tern_msg_t *m);
/* The same for m's own collection (held if that is not built here yet), telling m's
 * sender where the element is when m was forwarded. */
core_chare_t *core_elem_msg_target(core_pe_t *pe, tern_msg_t *m);

/* statistics (core/stats.c); the hooks are called only when pe->stats is set */
enum { CORE_STAT_BCAST, CORE_STAT_REDUCTION, CORE_STAT_MOVE_IN, CORE_STAT_MOVE_OUT };
tern_status_t core_stats_open(core_pe_t *pe);
void core_stats_start(core_pe_t *pe);
void core_stats_close(core_pe_t *pe);
void core_stats_invoked(core_pe_t *pe, uint32_t ep_gid, uint64_t bytes, double dt);
void core_stats_sent(core_pe_t *pe, int dest, uint64_t bytes);
void core_stats_received(core_pe_t *pe, uint64_t bytes);
void core_stats_count(core_pe_t *pe, int what);
/* Around a part of the scheduler's turn (begin 1, then 0): its time less that of the
 * methods run inside; the transports' progress is the runtime's, coroutines resumed (main
 * among them) are busy. */
enum { CORE_SPAN_PROGRESS, CORE_SPAN_ULT, CORE_SPAN_TASKS, CORE_SPANS };
void core_stats_running(core_pe_t *pe);
void core_stats_span(core_pe_t *pe, int which, int begin);

/* the timeline (core/trace.c); the hooks are called only when pe->trace is set */
tern_status_t core_trace_open(core_pe_t *pe);
void core_trace_start(core_pe_t *pe);
void core_trace_close(core_pe_t *pe);
tern_status_t core_trace_register(void);
void core_trace_sync_clock(core_pe_t *pe);
/* PE 0: non-zero when PEs of other hosts are measuring their clocks (main then starts once
 * they are done, through core_start_main). */
int core_trace_sync_pending(core_pe_t *pe);
/* PE 0: start the main function now if it waits. */
void core_start_main(core_pe_t *pe);
double core_trace_now(core_pe_t *pe);
void core_trace_method(core_pe_t *pe, uint32_t gid, uint64_t flow, uint64_t bytes, double t0,
                       double t1);
uint64_t core_trace_sent(core_pe_t *pe, int dest, uint64_t bytes, int record);
uint64_t core_trace_sent_at(core_pe_t *pe, int dest, uint64_t bytes, double ts);
uint64_t core_trace_flow(core_pe_t *pe, int dest);
void core_trace_tasks(core_pe_t *pe, uint32_t gid, uint32_t n, double t0, double t1);
uint64_t core_trace_received(core_pe_t *pe, int src);
void core_trace_idle(core_pe_t *pe, int begin);
/* A move out (a: destination), a reduction finished, a load balancing step (a: moves,
 * b: step; dur_us: how long it took). */
void core_trace_mark(core_pe_t *pe, int what, uint64_t a, uint64_t b, double dur_us);
void core_trace_lb(core_pe_t *pe, uint32_t step, uint32_t moves, double before, double after,
                   double dur_us);
void core_stats_lb(core_pe_t *pe, uint32_t moves, double before, double after);

/* sections (core/section.c) */
tern_status_t core_sections_register(void);
void core_sections_free(core_pe_t *pe);
void core_section_hdr(const tern_proxy_t *to, core_hdr_t *hdr, int *dest);
size_t core_sec_pack(core_chare_t *ch, unsigned char *out);
size_t core_sec_unpack(core_chare_t *ch, const unsigned char *in, size_t len);
void core_sec_chare_free(core_chare_t *ch);

/* channels (core/chan.c) */
void core_chan_deliver(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m);
/* Pack ch's channel ends into out (NULL: only count); returns the bytes. */
size_t core_chan_pack(core_chare_t *ch, unsigned char *out);
size_t core_chan_unpack(core_pe_t *pe, core_chare_t *ch, const unsigned char *in, size_t len);
void core_chan_free(core_pe_t *pe, core_chare_t *ch);

/* load balancing (core/lb_step.c) */
#define CORE_CB_LB 0x200u /* internal callback kind: the elements' tern_at_sync completed */
#define CORE_LBF_MOVING 0x4u /* chare: its move was asked by a load balancing step */
/* Read +balancer NAME / --balancer[=]NAME (removed from argv) and the TERN_LB options. */
tern_status_t core_lb_options(core_pe_t *pe, int *argc, char **argv);
tern_status_t core_lb_register(void);
/* the task pool (core/taskpool.c) */
tern_status_t core_tasks_register(void);
void core_tasks_close(core_pe_t *pe);
tern_status_t core_lb_configure(core_pe_t *pe, core_coll_t *c, double period);
void core_lb_coll_init(core_pe_t *pe, core_coll_t *c);
void core_lb_coll_free(core_pe_t *pe, core_coll_t *c);
void core_lb_all_synced(core_pe_t *pe, uint64_t cid);
void core_lb_arrived(core_pe_t *pe, core_coll_t *c);
void core_lb_moved_out(core_pe_t *pe, core_coll_t *c, size_t bytes);
/* A message of `bytes` to element `key` of balanced array cid: an edge of the
 * communication graph when an element of the same array sends it. */
void core_lb_note_send(core_pe_t *pe, uint64_t cid, uint64_t key, size_t bytes);
void core_lb_chare_free(core_chare_t *ch);
/* An empty contribution of ch to the next reduction of its collection, with an internal
 * callback (core/reduce.c). */
tern_status_t core_red_contribute_internal(core_pe_t *pe, const char *call, core_chare_t *ch,
                                           const tern_callback_t *cb);
/* An uncounted timer of the runtime's own (quiescence detection ignores it). */
tern_status_t core_timer_internal(core_pe_t *pe, double seconds, tern_timer_fn fn, void *arg);

/* moves and destruction (core/migrate.c) */
/* ch has a move or destruction asked for and no method running: it is as good as gone, and
 * what comes for it now follows it (core_chare_follow). */
static inline int core_chare_leaving(const core_chare_t *ch)
{
    return !ch->running && (ch->destroy || ch->move_to >= 0);
}
/* Keep m (for ch, which is leaving) until ch has gone; then m goes where ch went. */
void core_chare_follow(core_pe_t *pe, core_chare_t *ch, tern_msg_t *m);
/* Free ch (its destructor has run) and what it held: broadcasts, contributions, followers. */
void core_chare_drop(core_pe_t *pe, core_chare_t *ch);
void core_chare_want_settle(core_pe_t *pe, core_chare_t *ch);
/* Make the moves and destructions whose chares are idle; how many were made. */
int core_chares_settle(core_pe_t *pe);
/* The runtime moves ch to dest (once none of its entry methods runs). */
tern_status_t core_chare_move(core_pe_t *pe, core_chare_t *ch, int dest);
/* The same, asked by a load balancing step (its arrival is counted for the step). */
void core_chare_move_lb(core_pe_t *pe, core_chare_t *ch, int dest);
void core_h_migrate(core_pe_t *pe, tern_msg_t *m);
void core_h_arrived(core_pe_t *pe, tern_msg_t *m);
void core_h_destroy(core_pe_t *pe, tern_msg_t *m);

/* numbered broadcasts of mobile arrays (core/abcast.c) */
void core_abcast_deliver(core_pe_t *pe, core_coll_t *c, tern_msg_t *m);
void core_h_bcast_elem(core_pe_t *pe, tern_msg_t *m);
/* ch leaves for dest: remember it, and send on what it held. */
void core_abcast_leave(core_pe_t *pe, core_coll_t *c, core_chare_t *ch, int dest);
/* Element key (moved with epoch `epoch`) arrived where `done_there` broadcasts were
 * delivered. */
void core_abcast_arrived(core_pe_t *pe, core_coll_t *c, uint64_t key, uint32_t epoch,
                         uint64_t done_there);
void core_abcast_drop(core_pe_t *pe, core_chare_t *ch);
/* Run the broadcasts ch holds that are next in its order (after a move that did not
 * happen, or one run). */
void core_abcast_resume(core_pe_t *pe, core_chare_t *ch);
void core_abcast_free(core_pe_t *pe, core_coll_t *c);

/* insertion and the census (core/insert.c) */
void core_h_insert(core_pe_t *pe, tern_msg_t *m);
void core_h_census_start(core_pe_t *pe, tern_msg_t *m);
void core_h_census_ask(core_pe_t *pe, tern_msg_t *m);
void core_h_census_reply(core_pe_t *pe, tern_msg_t *m);
void core_h_freeze(core_pe_t *pe, tern_msg_t *m);
void core_census_free(core_pe_t *pe, core_coll_t *c);

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
void core_h_red_contrib(core_pe_t *pe, tern_msg_t *m);
void core_h_red_result(core_pe_t *pe, tern_msg_t *m);
void core_h_red_leave(core_pe_t *pe, tern_msg_t *m);
void core_h_red_stand(core_pe_t *pe, tern_msg_t *m);
/* Element ch is destroyed: its version stops counting it from its next reduction. */
void core_red_elem_gone(core_pe_t *pe, core_chare_t *ch);
/* A census made version `id` from reduction `from` over the n PEs `pes` (taken over). */
void core_red_version(core_pe_t *pe, core_coll_t *c, uint32_t id, uint64_t from, int *pes,
                      int n);
/* An element's held contributions: made now (those a census holds back from reduction
 * `below` on stay), dropped, packed (out NULL: the size) and unpacked. */
void core_red_release_held(core_pe_t *pe, core_chare_t *ch, uint64_t below);
void core_red_drop_held(core_chare_t *ch);
size_t core_red_pack_held(const core_chare_t *ch, unsigned char *out);
void core_red_unpack_held(core_chare_t *ch, const unsigned char *in, size_t len,
                          uint32_t count);
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
