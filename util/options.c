#include "util/options.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

typedef struct {
    const char *name;
    const char *def;
    const char *help;
} util_opt_t;

static const util_opt_t opt_table[] = {
    {"TERN_VERBOSE", "0", "0: quiet; 1: start-up lines (PEs, transports); 2: debug"},
    {"TERN_BOOT", "auto",
     "bootstrap: auto, ternrun (set up by ternrun), pmix (srun --mpi=pmix, mpirun), pmi2 "
     "(srun --mpi=pmi2, aprun), pmi1 (MPICH's mpiexec), single (a 1-PE job without "
     "launcher)"},
    {"TERN_TRANSPORT", "auto",
     "transports between PEs: auto (shm inside a host, the first network transport that "
     "starts, ucx then ofi, between hosts), one name (shm, ucx or ofi) for every pair, or a "
     "comma-separated list in order of preference (each pair takes the first that reaches it)"},
    {"TERN_BIND", "auto",
     "binding of PEs: core (a core each), numa (spread over NUMA domains), none, or auto "
     "(keep the launcher's binding, else core when the host has a core for every PE)"},
    {"TERN_EMULATE_HOSTS", "1",
     "split the PEs of each host into this many emulated hosts (consecutive blocks), so "
     "that host queries and host-aware trees can be tested on one machine"},
    {"TERN_SPIN_US", "50",
     "microseconds an idle PE polls before it sleeps in the kernel until a message arrives"},
    {"TERN_BCAST_FANOUT", "4", "branching factor of the spanning trees of broadcasts, reductions and QD (per level: "
     "across hosts and inside a host)"},
    {"TERN_SHM_RING_SIZE", "256k",
     "bytes of each shared-memory ring from one process to another (power of two)"},
    {"TERN_SHM_EAGER_MAX", "16k",
     "largest message copied through a ring; larger ones are written once into the "
     "sender's shared heap and read in place"},
    {"TERN_SHM_HEAP_SIZE", "2g",
     "bytes of each process's shared heap for large messages (address space; memory is "
     "used only as messages need it); bounds the largest message"},
    {"TERN_PLUGIN_DIR", "",
     "folder of the transport plugins (tern-ucx.so, tern-ofi.so); by default the folder "
     "tern beside libtern.so, then this build's installation"},
    {"TERN_OFI_PROVIDER", "auto",
     "libfabric provider of the ofi transport, as fi_info names it (e.g. \"tcp;ofi_rxm\", "
     "shm, verbs;ofi_rxm); auto: the first reliable-datagram provider libfabric offers "
     "that reaches other hosts (shm only when every PE shares a host)"},
    {"TERN_OFI_EAGER_MAX", "16k",
     "largest message the ofi transport sends in one eager message; larger ones go by "
     "rendezvous (the receiver fetches them into their final buffer)"},
    {"TERN_ULT_STACK_SIZE", "256k",
     "bytes of stack of each coroutine (the main function and TERN_EP_COROUTINE entry "
     "methods); an overflow, even by a frame that jumps far below it, ends the job with "
     "a message naming this option (16 MiB of inaccessible address space lie below each "
     "stack)"},
    {"TERN_FOREIGN_SIGNALS", "reset",
     "reset: a PE that faults or gets a signal dies of it, and its launcher says which "
     "(the handlers that transport libraries such as UCX and libfabric's psm install "
     "for SEGV, ABRT, TERM, INT... go back to the default action; UCX's stay when "
     "UCX_HANDLE_ERRORS, UCX_ERROR_SIGNALS or UCX_DEBUG_SIGNO is set); keep: leave them"},
    {"TERN_MSG_LEAK_CHECK", "0", "1: report messages not released when the job ends"},
    {"TERN_EXIT_GRACE", "5",
     "seconds that PEs, once the job's exit is decided, wait for the others to stop (a PE "
     "stuck in an entry method, or stopped) before they leave anyway; ternrun kills such "
     "PEs, by name, when as long has passed (--exit-grace); 0: wait for ever"},
    {"TERN_FC_WINDOW", "256",
     "flow control over network transports (ucx, ofi): messages a PE may have sent to "
     "another that it has not yet taken in; more wait at the sender (same on every PE)"},
    {"TERN_FC_BYTES", "4m",
     "flow control over network transports: bytes a PE may have sent to another that it "
     "has not yet taken in, beyond which only the message under way may go (same on "
     "every PE)"},
    {"TERN_STALL_TIMEOUT", "10",
     "seconds the whole job may be quiescent (nothing runs, no message in flight, no timer "
     "pending) without ending before it is reported as stalled, with what still waits; and "
     "after which messages held for a collection never created are reported (0: never)"},
    {"TERN_STALL_ACTION", "warn",
     "what a stalled job does: warn (say so once and wait) or abort (end with an error)"},
    {"TERN_LB", "",
     "load balancing strategy of balanced arrays (as +balancer NAME or --balancer NAME on "
     "the command line): GreedyRefine, Greedy, Refine, HostGreedyRefine, Rotate, Dummy, "
     "or empty/none (no balancing; tern_at_sync resumes at once)"},
    {"TERN_LB_TOLERANCE", "1.02",
     "how far above the best maximum load a strategy that keeps objects in place may "
     "leave a PE (GreedyRefine, Refine)"},
    {"TERN_LB_CLOCK", "wall",
     "what an element's load is: wall (the wall time of its entry methods) or cpu (the "
     "thread's CPU time in them: for PEs that share cores)"},
    {"TERN_LB_REPORT", "1",
     "0: no report; 1: one line on stderr per load balancing step (loads before and after, "
     "moves, strategy time, bytes moved, predicted and measured balance); 2: and each PE's"},
    {"TERN_STATS", "0",
     "1: each PE prints its statistics at the end of the job (per entry method: calls, "
     "total and longest time, bytes in and out; busy, idle and runtime time; messages and "
     "bytes per transport; broadcasts, reductions, moves); tern_stats_print() prints them "
     "at any time"},
    {"TERN_STATS_FILE", "",
     "write the statistics as JSON, one file a PE: FILE.<pe>.json (statistics are on)"},
    {"TERN_TRACE", "",
     "write a timeline to FILE (Trace Event JSON: open it in Perfetto or chrome://tracing): "
     "entry methods, messages with arrows from send to method, idle spans, moves, "
     "reductions, load balancing steps; a PE's part is FILE.<pe>.json, joined by ternrun"},
    {"TERN_TRACE_EVENTS", "1000000",
     "events a PE keeps for the timeline (40 bytes each); later ones are dropped and the "
     "file says how many"},
    {"TERN_RECV_QUEUE", "2048",
     "a PE takes no new messages from its transports while this many wait in its "
     "scheduler queue, so that a slow PE holds its senders back instead of growing"},
};

static const util_opt_t *opt_find(const char *name)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++)
        if (strcmp(opt_table[i].name, name) == 0)
            return &opt_table[i];
    return NULL;
}

const char *util_opt_str(const char *name)
{
    const util_opt_t *o = opt_find(name);
    const char *v = getenv(name);
    if (v && *v)
        return v;
    return o ? o->def : "";
}

tern_status_t util_opt_long(const char *name, long min, long max, long *out)
{
    const char *s = util_opt_str(name);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || end == s)
        goto err_bad;
    long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1L << 10; end++; break;
    case 'm': case 'M': mul = 1L << 20; end++; break;
    case 'g': case 'G': mul = 1L << 30; end++; break;
    default: break;
    }
    if (*end != '\0')
        goto err_bad;
    if (v > max / mul || v < min / mul || v * mul < min || v * mul > max) {
        util_log_error("%s=%s is out of range [%ld, %ld]", name, s, min, max);
        return TERN_ERR_INVALID;
    }
    *out = v * mul;
    return TERN_OK;
err_bad:
    util_log_error("%s=%s is not an integer", name, s);
    return TERN_ERR_INVALID;
}

tern_status_t util_opt_double(const char *name, double min, double max, double *out)
{
    const char *s = util_opt_str(name);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0') {
        util_log_error("%s=%s is not a number", name, s);
        return TERN_ERR_INVALID;
    }
    if (v < min || v > max) {
        util_log_error("%s=%s is out of range [%g, %g]", name, s, min, max);
        return TERN_ERR_INVALID;
    }
    *out = v;
    return TERN_OK;
}

void util_opt_print(FILE *out)
{
    for (size_t i = 0; i < sizeof opt_table / sizeof opt_table[0]; i++) {
        const util_opt_t *o = &opt_table[i];
        const char *v = getenv(o->name);
        fprintf(out, "  %-20s default %s", o->name, o->def);
        if (v)
            fprintf(out, ", set to %s", v);
        fprintf(out, "\n      %s\n", o->help);
    }
}

void tern_options_print(FILE *out) { util_opt_print(out); }
