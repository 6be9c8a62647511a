/*
 * Start-up, the scheduler loop of a PE, exit and abort.
 */
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/flow.h"
#include "core/future.h"
#include "core/invoke.h"
#include "core/pe.h"
#include "core/registry.h"
#include "core/signals.h"
#include "core/stall.h"
#include "topology/tree.h"
#include "util/log.h"
#include "util/options.h"

/* The PE of this thread. One PE per process for now; with several PEs per process this
 * becomes one per thread, which is why it is thread-local. */
_Thread_local core_pe_t *core_tls_pe;
#define current_pe core_tls_pe
static int run_called;

core_pe_t *core_pe_not_running(const char *call)
{
    util_log_error("%s: the runtime is not running (call it from main_fn or an entry "
                   "method, after tern_run has started)", call);
    return NULL;
}

static inline double now_s(void) { return core_now(); }

double tern_wall_time(void)
{
    return current_pe ? now_s() - current_pe->t0 : now_s();
}

int tern_my_pe(void) { return current_pe ? current_pe->my_pe : 0; }
int tern_num_pes(void) { return current_pe ? current_pe->num_pes : 1; }

void tern_abort(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = util_log_format(buf, (int)sizeof buf - 1, "abort", fmt, ap);
    va_end(ap);
    fflush(stdout);
    buf[n] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, (size_t)n + 1);
    (void)w;
    buf[n] = '\0';
    if (current_pe && current_pe->boot)
        current_pe->boot->ops->abort(current_pe->boot, buf);
    _exit(1);
}

tern_status_t core_exiting(core_pe_t *pe, const char *call)
{
    if (!pe->exiting_logged) {
        pe->exiting_logged = 1;
        util_log_error("%s: the job is ending (tern_exit was called); nothing was done "
                       "(calls made after this point, e.g. from destructors, are not "
                       "logged again)", call);
    }
    return TERN_ERR_STATE;
}

void tern_exit(int code)
{
    core_pe_t *pe = core_pe_checked("tern_exit");
    if (!pe)
        return;
    if (pe->exiting) {
        util_log_error("tern_exit(%d): the job is already ending with code %d; the call "
                       "changes nothing", code, pe->exit_code);
        return;
    }
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_EXIT_REQ, pe->my_pe);
    hdr.prio = INT32_MIN;
    hdr.u.exit.code = code;
    tern_status_t st = core_send_iov(pe, 0, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("tern_exit: cannot reach PE 0: %s", tern_strerror(st));
}

/* Every option of the core is read (and checked) here, at start-up: a bad value must stop
 * the job before it runs, not after. */
static tern_status_t read_options(core_pe_t *pe)
{
    long verbose, spin, fanout, stack, fc_msgs, fc_bytes, rq, leak;
    if (util_opt_double("TERN_EXIT_GRACE", 0, 1e9, &pe->exit_grace) != TERN_OK)
        return TERN_ERR_INVALID;
    if (util_opt_long("TERN_VERBOSE", 0, 9, &verbose) != TERN_OK ||
        util_opt_long("TERN_SPIN_US", 0, 10000000, &spin) != TERN_OK ||
        util_opt_long("TERN_BCAST_FANOUT", 1, 64, &fanout) != TERN_OK ||
        util_opt_long("TERN_ULT_STACK_SIZE", 16384, 1L << 30, &stack) != TERN_OK ||
        util_opt_long("TERN_FC_WINDOW", 2, 1L << 24, &fc_msgs) != TERN_OK ||
        util_opt_long("TERN_FC_BYTES", 4096, 1L << 40, &fc_bytes) != TERN_OK ||
        util_opt_long("TERN_RECV_QUEUE", 16, 1L << 30, &rq) != TERN_OK ||
        util_opt_long("TERN_MSG_LEAK_CHECK", 0, 1, &leak) != TERN_OK)
        return TERN_ERR_INVALID;
    pe->fc_win_msgs = (uint64_t)fc_msgs;
    pe->fc_win_bytes = (uint64_t)fc_bytes;
    pe->recv_queue_max = (size_t)rq;
    pe->leak_check = (int)leak;
    if (core_stall_open(pe) != TERN_OK || core_stats_open(pe) != TERN_OK ||
        core_trace_open(pe) != TERN_OK)
        return TERN_ERR_INVALID;
    util_log_set_verbosity((int)verbose);
    /* Before the coroutine guard goes in: it passes faults not its own to the handler it
     * replaces, which must not be a transport library's. */
    if (core_signals_reset("start") != TERN_OK)
        return TERN_ERR_INVALID;
    if (core_ults_init(&pe->ults, (size_t)stack) != TERN_OK)
        return TERN_ERR_IO;
    pe->spin_us = spin;
    pe->fanout = (int)fanout;
    return TERN_OK;
}

/* Microseconds until a timer or a quiescence wave is due, at most `bound`. */
static long due_within(core_pe_t *pe, long bound)
{
    double now = now_s();
    double next = core_timers_next(pe, now), wave = core_qd_next(pe, now);
    double stall = core_stall_next(pe, now);
    if (wave >= 0 && (next < 0 || wave < next))
        next = wave;
    if (stall >= 0 && (next < 0 || stall < next))
        next = stall;
    if (next < 0)
        return bound;
    double us = next * 1e6 + 1;
    return us < (double)bound ? (long)us : bound;
}

static void idle_sleep(core_pe_t *pe)
{
    if (pe->ntps == 0) {
        /* Alone: nothing can arrive, and the queue is empty. A job in this state waits for
         * nothing; sleeping keeps it from burning a core until its launcher's timeout. */
        long us = due_within(pe, 10000);
        struct timespec ts = {0, us * 1000};
        double t0 = now_s();
        nanosleep(&ts, NULL);
        pe->idle_time += now_s() - t0;
        return;
    }
    /* With messages held back by a transport that pushed back (a full ring), or credits
     * still to return, come back soon to retry: nothing wakes us for that. Messages that
     * wait for credits wait for a message, which does. Otherwise sleep until woken (the
     * 1 s bound only guards against a lost wake-up). */
    int retry = pe->bl_tp_blocked || (pe->fc && pe->fc->nowed);
    pe->direct_ok = 1;
    double t0 = now_s();
    if (pe->trace)
        core_trace_idle(pe, 1);
    core_transports_wait(pe, due_within(pe, retry ? 200 : 1000000));
    if (pe->trace)
        core_trace_idle(pe, 0);
    pe->idle_time += now_s() - t0;
    pe->direct_ok = 0;
}

static void core_loop(core_pe_t *pe)
{
    double idle_since = -1, idle_mark = 0;
    unsigned spins = 0;
    while (!pe->exiting) {
        /* Enough taken in and not yet run is work enough: what else has come waits in the
         * transports, which holds its senders back (shm's rings fill, credits are not
         * returned). Messages this PE sends itself do not count: they cannot lock it out. */
        int got = 0;
        if (pe->stats)
            core_stats_span(pe, CORE_SPAN_PROGRESS, 1);
        if (pe->rx_queued < pe->recv_queue_max) {
            pe->direct_ok = 1;
            got = core_transports_progress(pe);
            pe->direct_ok = 0;
        }
        if (pe->pending_chares) /* moves asked for by methods that ran on arrival */
            core_chares_settle(pe);
        if (pe->nbacklog || (pe->fc && pe->fc->nowed))
            core_backlog_progress(pe);
        if (pe->stats)
            core_stats_span(pe, CORE_SPAN_PROGRESS, 0);
        /* Coroutines made ready and queued messages each get a turn of their own, so
         * that coroutines that keep yielding cannot starve the queue. */
        int ran = 0;
        if (core_ult_any_ready(&pe->ults)) {
            if (pe->stats)
                core_stats_span(pe, CORE_SPAN_ULT, 1);
            ran = core_ult_run_ready(&pe->ults, 16);
            if (pe->stats)
                core_stats_span(pe, CORE_SPAN_ULT, 0);
        }
        tern_msg_t *m;
        for (int n = 0; n < 16 && !pe->exiting && (m = core_sched_pop(&pe->sched)); n++) {
            if (m->taken_in) {
                m->taken_in = 0;
                pe->rx_queued--;
            }
            core_dispatch(pe, m);
            /* A move asked for happens as its method ends: what is queued for the element
             * follows it. */
            if (pe->pending_chares)
                core_chares_settle(pe);
            core_transports_flush(pe);
            ran++;
        }
        if (pe->ntimers)
            ran += core_timers_run(pe, now_s());
        if (pe->pending_chares)
            ran += core_chares_settle(pe); /* moves and destructions asked for */
        if (ran || got) {
            core_transports_flush(pe); /* for handlers run on arrival, coroutines, timers */
            idle_since = -1;
            spins = 0;
            core_stall_active(pe);
            continue;
        }
        /* Idle: nothing queued, nothing ready, nothing running. Quiescence detection may
         * make work here (a tern_qd_wait on this PE is woken). */
        if (pe->qd)
            core_qd_idle(pe);
        if (core_sched_count(&pe->sched) || core_ult_any_ready(&pe->ults))
            continue;
        /* Poll for spin_us, then sleep. The clock is read every 16 idle turns only, the
         * first time after 16 of them: on some machines reading it costs more than a turn
         * of polling, and a PE that finds work again within a few turns (a ping-pong)
         * never reads it. */
        if (pe->spin_us > 0 && (++spins & 15) != 0)
            continue;
        /* Polling in vain is idle time (for load balancing's background loads), counted
         * when the clock is read anyway: the turns before the first read, and since the
         * last one when work comes, are not. */
        double now = now_s();
        if (idle_since >= 0)
            pe->idle_time += now - idle_mark;
        idle_mark = now;
        if (pe->spin_us > 0 && idle_since < 0) {
            idle_since = now;
            if (pe->oversubscribed)
                sched_yield();
            continue;
        }
        if (pe->spin_us == 0 || (now - idle_since) * 1e6 >= (double)pe->spin_us) {
            core_stall_idle(pe, now);
            if (pe->exiting || core_sched_count(&pe->sched) || core_ult_any_ready(&pe->ults))
                continue;
            idle_sleep(pe);
            idle_since = -1;
            spins = 0;
        } else if (pe->oversubscribed) {
            sched_yield();
        }
    }
}

/* Release what arrived and will never run, so that in-place buffers go back to their
 * senders, who may need them to send their own exit messages on; the exit handshake's
 * messages are counted. */
static void drop_incoming(core_pe_t *pe)
{
    tern_msg_t *m;
    core_transports_progress(pe);
    while ((m = core_sched_pop(&pe->sched))) {
        if (m->taken_in) {
            m->taken_in = 0;
            pe->rx_queued--;
        }
        if (m->hdr.kind == CORE_K_EXIT_DONE || m->hdr.kind == CORE_K_EXIT_CLOSE)
            core_dispatch(pe, m);
        else
            core_msg_release(&pe->pool, m);
    }
}

/* Drain at exit and retry what is held back; non-zero while sends are still under way. */
static int exit_progress(core_pe_t *pe)
{
    drop_incoming(pe);
    if (pe->nbacklog || (pe->fc && pe->fc->nowed))
        core_backlog_progress(pe);
    /* Over flow-controlled routes, "sent" means "taken in" only once the receiver says so:
     * a PE that closed before then could still be sent credits for it. */
    return pe->nbacklog || core_transports_pending(pe) != 0 || core_fc_unsettled(pe);
}

/* Sends under way finish through progress, which nothing may wake us for: look again
 * soon. Otherwise sleep until a message may have come (1 s guards a lost wake-up). */
static void exit_wait(core_pe_t *pe, int sending)
{
    core_transports_wait(pe, sending ? 200 : 1000000);
}

static void exit_send(core_pe_t *pe, int kind, int dest)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, kind, pe->my_pe);
    hdr.prio = INT32_MIN;
    tern_status_t st = core_send_iov(pe, dest, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("tern_exit: telling PE %d that %s failed: %s", dest,
                   kind == CORE_K_EXIT_DONE ? "this PE's subtree has stopped"
                                            : "every PE has stopped", tern_strerror(st));
}

/* Past the exit grace: some PE does not stop (stuck in an entry method, stopped by a
 * signal). The job's code is decided; leave without it, saying so, and let the launcher
 * end it (ternrun kills it by name when the same grace is over). */
static int exit_late(core_pe_t *pe, double deadline, const char *what)
{
    if (deadline < 0 || now_s() < deadline)
        return 0;
    util_log_warn("tern_exit: waited %g s (TERN_EXIT_GRACE) for %s; leaving without it",
                  pe->exit_grace, what);
    pe->boot->left_behind = 1;
    return 1;
}

/*
 * The exit handshake. A PE that has its EXIT sends nothing more, but PEs that do not have
 * theirs yet may still send to it: the halos of an iteration under way, a reduction's
 * part. Shared memory takes those; a network transport reports a send to a process that
 * has closed its connections as an error (UCX over TCP: "Endpoint timeout"), which ended
 * jobs that were ending well. So no PE closes before every PE has stopped: a PE tells its
 * parent in the exit tree once its subtree has stopped and its own sends have left
 * (EXIT_DONE, up the tree); once the root has heard from all, EXIT_CLOSE goes down, and a
 * PE closes once it has passed that on. Until then every PE keeps draining what arrives.
 *
 * A PE inside a long entry method sees its EXIT only when the method returns, and until
 * then it may send; the others wait for it TERN_EXIT_GRACE seconds (a PE that dies ends
 * the job through the launcher sooner).
 */
static void exit_handshake(core_pe_t *pe)
{
    int kids[TOPO_TREE_MAX_KIDS(64)];
    int nkids = topo_tree_children(&pe->all, pe->exit_root, pe->fanout, pe->my_pe, kids);
    int parent = topo_tree_parent(&pe->all, pe->exit_root, pe->fanout, pe->my_pe);
    if (nkids < 0 || parent < -1)
        tern_abort("tern_exit: PE %d is not in the exit tree rooted at PE %d", pe->my_pe,
                   pe->exit_root);
    double deadline = pe->exit_grace > 0 ? now_s() + pe->exit_grace : -1;
    core_fc_flush(pe);
    int sending;
    while ((sending = exit_progress(pe)) || pe->exit_kids_done < nkids) {
        if (exit_late(pe, deadline, "its subtree of the exit tree to stop"))
            return;
        exit_wait(pe, sending);
    }
    if (parent >= 0) {
        exit_send(pe, CORE_K_EXIT_DONE, parent);
        while (sending = exit_progress(pe), !pe->exit_close) {
            if (exit_late(pe, deadline, "every other PE to stop"))
                return;
            exit_wait(pe, sending);
        }
    }
    for (int i = 0; i < nkids; i++)
        exit_send(pe, CORE_K_EXIT_CLOSE, kids[i]);
    while (exit_progress(pe)) {
        if (exit_late(pe, deadline, "its last messages to leave"))
            return;
        exit_wait(pe, 1);
    }
}

static void core_finalize(core_pe_t *pe)
{
    core_stats_close(pe); /* before anything it names goes */
    core_trace_close(pe);
    exit_handshake(pe);
    core_invoke_abandon(pe);
    core_ults_fini(&pe->ults);
    core_tasks_close(pe);
    core_futures_free(pe);
    core_timers_free(pe);
    core_qd_free(pe);
    core_stall_close(pe);
    core_colls_free(pe);
    core_sections_free(pe);
    drop_incoming(pe);
    for (int p = 0; p < pe->num_pes; p++)
        core_bl_clear(&pe->backlog[p], &pe->pool);
    pe->nbacklog = 0;
    core_transports_close(pe);
    core_sched_fini(&pe->sched);
    uint64_t leaked = core_pool_fini(&pe->pool);
    if (pe->leak_check && leaked)
        util_log_error("%llu messages were not released at exit", (unsigned long long)leaked);
    free(pe->route);
    free(pe->route_max);
    free(pe->backlog);
    free(pe->bl_dests);
    core_topo_fini(pe);
}

typedef struct {
    tern_main_fn fn;
    int argc;
    char **argv;
} main_call_t;

static void run_main(void *arg)
{
    main_call_t call = *(main_call_t *)arg;
    call.fn(call.argc, call.argv);
}

static main_call_t main_call; /* PE 0's main function (one PE a process) */

void core_start_main(core_pe_t *pe)
{
    if (!pe->main_pending)
        return;
    pe->main_pending = 0;
    if (pe->stats)
        core_stats_span(pe, CORE_SPAN_ULT, 1);
    core_ult_start(&pe->ults, run_main, &main_call, NULL);
    if (pe->stats)
        core_stats_span(pe, CORE_SPAN_ULT, 0);
}

int tern_in_coroutine(void)
{
    core_pe_t *pe = core_pe_current();
    return pe && core_ult_current(&pe->ults) != NULL;
}

tern_status_t tern_yield(void)
{
    core_pe_t *pe = core_pe_checked("tern_yield");
    if (!pe)
        return TERN_ERR_STATE;
    if (!core_need_coroutine(pe, "tern_yield"))
        return TERN_ERR_STATE;
    core_ult_yield(&pe->ults);
    return TERN_OK;
}

int tern_run(int argc, char **argv, tern_main_fn main_fn)
{
    if (run_called) {
        util_log_error("tern_run: called more than once in this process");
        return 1;
    }
    run_called = 1;
    core_pe_t *pe = calloc(1, sizeof *pe);
    if (!pe) {
        util_log_error("tern_run: out of memory");
        return 1;
    }
    pe->t0 = now_s();
    core_sched_init(&pe->sched);
    core_pool_init(&pe->pool);
    util_hashmap_init(&pe->colls);
    util_hashmap_init(&pe->futures);
    if (read_options(pe) != TERN_OK || core_lb_options(pe, &argc, argv) != TERN_OK ||
        core_lb_register() != TERN_OK || core_sections_register() != TERN_OK ||
        core_trace_register() != TERN_OK || core_tasks_register() != TERN_OK ||
        boot_open(&pe->boot) != TERN_OK) {
        util_log_error("tern_run: start-up failed");
        return 1;
    }
    pe->my_pe = pe->boot->rank;
    pe->num_pes = pe->boot->size;
    pe->next_any_pe = (pe->my_pe + 1) % pe->num_pes;
    util_log_set_pe(pe->my_pe);
    /* Several processes share the terminal or pipe: whole lines keep their output legible
     * and in time order. */
    if (pe->num_pes > 1)
        setvbuf(stdout, NULL, _IOLBF, 0);
    /* Types, entry methods and message kinds are numbered from their names; processes
     * that registered different ones are caught by the hash at start-up. */
    uint64_t hash = core_registry_freeze() ^ core_handlers_freeze();
    current_pe = pe;
    core_stats_start(pe);
    core_trace_start(pe);
    tern_status_t st = core_topo_start(pe, hash);
    if (st == TERN_OK)
        st = core_transports_open(pe);
    /* Opening may have loaded libraries with handlers of their own. */
    if (st == TERN_OK)
        st = core_signals_reset("transports open");
    if (st == TERN_OK)
        st = core_ults_rearm();
    if (st != TERN_OK)
        tern_abort("tern_run: start-up failed: %s", tern_strerror(st));
    util_log_info(2, "pid %d, host %s, cpus %s (%s), %d PEs, %d transport%s%s", (int)getpid(),
                  pe->boot->host, pe->binding.cpus, pe->binding.how, pe->num_pes, pe->ntps,
                  pe->ntps == 1 ? "" : "s",
                  pe->oversubscribed ? ", more PEs than cores" : "");
    if (pe->my_pe == 0 && util_log_verbosity() >= 1) {
        core_topo_report(pe);
        core_transports_report(pe);
    }
    if (pe->stats)
        core_stats_running(pe);
    if (pe->trace)
        core_trace_sync_clock(pe);
    if (pe->my_pe == 0 && main_fn) {
        main_call = (main_call_t){main_fn, argc, argv};
        pe->main_pending = 1;
        /* With the timeline on, the PEs of other hosts first measure their clocks against
         * this one's (core/trace.c), which then starts main. */
        if (!pe->trace || !core_trace_sync_pending(pe))
            core_start_main(pe);
    }
    core_loop(pe);
    int code = pe->exit_code;
    fflush(stdout);
    fflush(stderr);
    core_finalize(pe);
    current_pe = NULL;
    pe->boot->ops->finalize(pe->boot, code);
    free(pe);
    return code;
}

void tern_version(int *major, int *minor, int *patch)
{
    if (major)
        *major = TERN_VERSION_MAJOR;
    if (minor)
        *minor = TERN_VERSION_MINOR;
    if (patch)
        *patch = TERN_VERSION_PATCH;
}

#define TERN_STR2(x) #x
#define TERN_STR(x) TERN_STR2(x)
const char *tern_version_string(void)
{
    return TERN_STR(TERN_VERSION_MAJOR) "." TERN_STR(TERN_VERSION_MINOR) "." TERN_STR(
        TERN_VERSION_PATCH);
}

void tern_set_log_hook(tern_log_fn fn, void *arg) { util_log_set_hook(fn, arg); }
