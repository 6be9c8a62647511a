/*
 * The timeline (TERN_TRACE=FILE): every PE records, in a bounded buffer of its own, entry
 * methods (begin and length), the messages it sends (destination, size), idle spans,
 * moves, reductions finished and load balancing steps, and writes them at the end of the
 * job as a Trace Event JSON array (FILE.<pe>.json), which ternrun joins into FILE: a file
 * Perfetto (ui.perfetto.dev) and Chrome's about:tracing open as it is, a track (process)
 * per PE, with an arrow from each send to the method it ran.
 *
 * Arrows need no field on the wire: messages between two PEs arrive in the order they
 * were sent, so the k-th message PE a sends to PE b (counted where transports take them) is
 * the k-th PE b receives from a (counted where they come in); both ends name the flow
 * (a, b, k). Timestamps are microseconds of the wall clock (CLOCK_REALTIME, read once and
 * then kept with the monotonic clock). Clocks of different hosts disagree by more than
 * methods last, so at start every PE on another host than PE 0 measures its offset to PE
 * 0's clock (Cristian's method: CLOCK_ROUNDS pings, the offset of the one with the
 * shortest round trip, good to half that round trip) and shifts its events by it when it
 * writes them; the file names the offset and its bound. PE 0 starts the main function
 * once they are done, so that it answers at once and the program's events come after.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/handler.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"
#include "util/options.h"

enum { EV_METHOD, EV_IDLE, EV_SEND, EV_MOVE, EV_REDUCTION, EV_LB, EV_TASKS };

typedef struct {
    double ts, dur;   /* us */
    uint32_t kind, name;
    uint64_t a, b;    /* METHOD: flow in, bytes; SEND: flow, dest << 32 | bytes; LB: moves */
} ev_t;

typedef struct core_trace {
    char *file;
    ev_t *ev;
    size_t n, cap;
    uint64_t dropped;
    double offset_us;        /* realtime - monotonic, in us */
    uint64_t *sent_to;       /* [num_pes] messages sent to each PE (flows) */
    uint64_t *recv_from;     /* [num_pes] messages received from each */
    uint64_t local;          /* messages to this PE */
    double idle_t0;
    /* clock sync with PE 0 (on a PE of another host) */
    int clock_rounds;        /* pings answered */
    double clock_offset;     /* PE 0's clock - this one's, us */
    double clock_rtt;        /* round trip of the ping it came from (bound: half of it) */
    int clock_waiting;       /* PE 0: PEs still measuring */
} core_trace_t;

enum { CLOCK_ROUNDS = 16 };

/* A ping's part: the time the pinging PE sent it, and (in the answer) PE 0's. */
typedef struct {
    double t_sent, t_pe0;
} clock_part_t;

static uint8_t clock_kinds[3]; /* ping (to PE 0), pong (back), done (to PE 0) */

static double mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static double now_us(const core_trace_t *t) { return mono_us() + t->offset_us; }

tern_status_t core_trace_open(core_pe_t *pe)
{
    const char *file = util_opt_str("TERN_TRACE");
    long cap;
    if (util_opt_long("TERN_TRACE_EVENTS", 1000, 1L << 30, &cap) != TERN_OK)
        return TERN_ERR_INVALID;
    if (!file || !*file)
        return TERN_OK;
    core_trace_t *t = calloc(1, sizeof *t);
    if (!t || !(t->file = strdup(file)))
        return TERN_ERR_NOMEM;
    t->cap = (size_t)cap;
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    t->offset_us = (double)rt.tv_sec * 1e6 + (double)rt.tv_nsec * 1e-3 - mono_us();
    pe->trace = t;
    return TERN_OK;
}

/* Once the PE count is known. */
void core_trace_start(core_pe_t *pe)
{
    core_trace_t *t = pe->trace;
    if (!t)
        return;
    t->sent_to = calloc((size_t)pe->num_pes, sizeof *t->sent_to);
    t->recv_from = calloc((size_t)pe->num_pes, sizeof *t->recv_from);
    t->ev = malloc((t->cap < 65536 ? t->cap : 65536) * sizeof *t->ev);
    if (!t->sent_to || !t->recv_from || !t->ev)
        tern_abort("out of memory for the timeline (TERN_TRACE)");
}

static ev_t *ev_new(core_trace_t *t)
{
    if (!t->ev)
        return NULL;
    if (t->n == t->cap) {
        t->dropped++; /* full: later events are dropped, and the file says how many */
        return NULL;
    }
    /* Grow in steps of 64 Ki events up to the cap. */
    if (t->n && (t->n & 65535) == 0) {
        size_t want = t->n + 65536 > t->cap ? t->cap : t->n + 65536;
        ev_t *e = realloc(t->ev, want * sizeof *e);
        if (!e) {
            t->cap = t->n;
            t->dropped++;
            return NULL;
        }
        t->ev = e;
    }
    return &t->ev[t->n++];
}

static uint64_t flow_id(int from, int to, uint64_t k)
{
    return ((uint64_t)(uint32_t)from << 44) ^ ((uint64_t)(uint32_t)to << 24) ^ k;
}

double core_trace_now(core_pe_t *pe) { return now_us(pe->trace); }

/* ---- clock offsets between hosts ---- */

static void clock_send(core_pe_t *pe, int dest, int which, const clock_part_t *p)
{
    core_hdr_t hdr;
    core_hdr_init(&hdr, clock_kinds[which], pe->my_pe);
    memcpy(hdr.u.raw, p, sizeof *p);
    tern_status_t st = core_send_iov(pe, dest, &hdr, NULL, 0);
    if (st != TERN_OK)
        util_log_error("TERN_TRACE: a clock ping to PE %d failed: %s", dest, tern_strerror(st));
}

/* On PE 0 (traced or not: the PE that pings decides): its time, at once. */
static void h_ping(core_pe_t *pe, tern_msg_t *m)
{
    clock_part_t p;
    memcpy(&p, m->hdr.u.raw, sizeof p);
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    p.t_pe0 = pe->trace ? now_us(pe->trace) : (double)rt.tv_sec * 1e6 + (double)rt.tv_nsec * 1e-3;
    clock_send(pe, m->hdr.src_pe, 1, &p);
    core_msg_release(&pe->pool, m);
}

static void h_pong(core_pe_t *pe, tern_msg_t *m)
{
    core_trace_t *t = pe->trace;
    clock_part_t p;
    memcpy(&p, m->hdr.u.raw, sizeof p);
    core_msg_release(&pe->pool, m);
    if (!t)
        return;
    double now = now_us(t), rtt = now - p.t_sent;
    if (t->clock_rounds == 0 || rtt < t->clock_rtt) {
        t->clock_rtt = rtt;
        t->clock_offset = p.t_pe0 - (p.t_sent + now) / 2;
    }
    if (++t->clock_rounds < CLOCK_ROUNDS) {
        clock_part_t q = {now_us(t), 0};
        clock_send(pe, 0, 0, &q);
    } else {
        clock_part_t q = {0, 0};
        clock_send(pe, 0, 2, &q);
    }
}

/* On PE 0: a PE has measured its clock; the last one lets main start. */
static void h_clock_done(core_pe_t *pe, tern_msg_t *m)
{
    core_msg_release(&pe->pool, m);
    core_trace_t *t = pe->trace;
    if (t && t->clock_waiting > 0 && --t->clock_waiting == 0)
        core_start_main(pe);
}

int core_trace_sync_pending(core_pe_t *pe)
{
    core_trace_t *t = pe->trace;
    if (!t || pe->my_pe != 0)
        return 0;
    t->clock_waiting = 0;
    for (int p = 1; p < pe->num_pes; p++)
        t->clock_waiting += pe->hosts.pe_host[p] != pe->hosts.pe_host[0];
    return t->clock_waiting > 0;
}

tern_status_t core_trace_register(void)
{
    static const core_handler_def_t defs[3] = {
        {"trace.clock.ping", h_ping, sizeof(clock_part_t), 0},
        {"trace.clock.pong", h_pong, sizeof(clock_part_t), 0},
        {"trace.clock.done", h_clock_done, sizeof(clock_part_t), 0},
    };
    for (int i = 0; i < 3; i++) {
        tern_status_t st = core_handler_register(&defs[i], &clock_kinds[i]);
        if (st != TERN_OK && st != TERN_ERR_EXISTS)
            return st;
    }
    return TERN_OK;
}

/* Once transports are open: a PE of another host than PE 0's starts its pings (back to
 * back, while PE 0 waits to start main; the shortest round trip wins). */
void core_trace_sync_clock(core_pe_t *pe)
{
    core_trace_t *t = pe->trace;
    if (!t || pe->my_pe == 0 || pe->hosts.pe_host[pe->my_pe] == pe->hosts.pe_host[0])
        return;
    clock_part_t p = {now_us(t), 0};
    clock_send(pe, 0, 0, &p);
}

void core_trace_method(core_pe_t *pe, uint32_t gid, uint64_t flow, uint64_t bytes, double t0,
                       double t1)
{
    ev_t *e = ev_new(pe->trace);
    if (e)
        *e = (ev_t){t0, t1 - t0, EV_METHOD, gid, flow, bytes};
}

/* A chunk of n pool tasks of task `gid` ran from t0 to t1. */
void core_trace_tasks(core_pe_t *pe, uint32_t gid, uint32_t n, double t0, double t1)
{
    ev_t *e = ev_new(pe->trace);
    if (e)
        *e = (ev_t){t0, t1 - t0, EV_TASKS, gid, n, 0};
}

/* A message to dest (through a transport, or to this PE): its flow id. Credits are
 * counted (the receiver counts them too) but not recorded (record 0). */
uint64_t core_trace_sent(core_pe_t *pe, int dest, uint64_t bytes, int record)
{
    return record ? core_trace_sent_at(pe, dest, bytes, now_us(pe->trace))
                  : core_trace_flow(pe, dest);
}

/* The flow id of the next message to dest (counted, not recorded). */
uint64_t core_trace_flow(core_pe_t *pe, int dest)
{
    core_trace_t *t = pe->trace;
    return dest == pe->my_pe ? flow_id(dest, dest, (1ULL << 23) | ++t->local)
                             : flow_id(pe->my_pe, dest, ++t->sent_to[dest]);
}

/* A message to dest sent at `ts` (us, core_trace_now): recorded; its flow id. */
uint64_t core_trace_sent_at(core_pe_t *pe, int dest, uint64_t bytes, double ts)
{
    core_trace_t *t = pe->trace;
    uint64_t id = core_trace_flow(pe, dest);
    ev_t *e = ev_new(t);
    if (e)
        *e = (ev_t){ts, 0, EV_SEND, 0, id, ((uint64_t)(uint32_t)dest << 32) | (bytes & 0xffffffffu)};
    return id;
}

/* A message came in from src: the flow its sender named. */
uint64_t core_trace_received(core_pe_t *pe, int src)
{
    core_trace_t *t = pe->trace;
    return flow_id(src, pe->my_pe, ++t->recv_from[src]);
}

void core_trace_idle(core_pe_t *pe, int begin)
{
    core_trace_t *t = pe->trace;
    if (begin) {
        t->idle_t0 = now_us(t);
        return;
    }
    ev_t *e = ev_new(t);
    if (e)
        *e = (ev_t){t->idle_t0, now_us(t) - t->idle_t0, EV_IDLE, 0, 0, 0};
}

void core_trace_mark(core_pe_t *pe, int what, uint64_t a, uint64_t b, double dur_us)
{
    core_trace_t *t = pe->trace;
    ev_t *e = ev_new(t);
    if (e)
        *e = (ev_t){now_us(t) - dur_us, dur_us, what == CORE_STAT_MOVE_OUT ? EV_MOVE
                                               : what == CORE_STAT_REDUCTION ? EV_REDUCTION
                                                                              : EV_LB,
                    0, a, b};
}

void core_trace_lb(core_pe_t *pe, uint32_t step, uint32_t moves, double before, double after,
                   double dur_us)
{
    core_trace_t *t = pe->trace;
    ev_t *e = ev_new(t);
    if (e) /* name: moves; a, b: max/avg before and after, in millionths; step in dur's
              place would lose it: it goes in kind's upper bits */
        *e = (ev_t){now_us(t) - dur_us, dur_us, EV_LB | (step << 8), moves,
                    (uint64_t)(before * 1e6), (uint64_t)(after * 1e6)};
}

static void json_name(FILE *f, uint32_t gid)
{
    const core_ep_t *ep = core_ep_by_gid(gid);
    const core_type_t *ty = ep ? core_type_by_gid(ep->type_gid) : NULL;
    fprintf(f, "\"%s.%s\"", ty ? ty->name : "?", ep ? ep->name : "?");
}

void core_trace_close(core_pe_t *pe)
{
    core_trace_t *t = pe->trace;
    if (!t)
        return;
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.json", t->file, pe->my_pe);
    FILE *f = fopen(path, "w");
    if (!f) {
        util_log_error("TERN_TRACE: cannot write %s", path);
    } else {
        int me = pe->my_pe;
        double off = t->clock_rounds ? t->clock_offset : 0;
        for (size_t i = 0; i < t->n; i++)
            t->ev[i].ts += off;
        fprintf(f, "[{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":0,"
                "\"args\":{\"name\":\"PE %d\"}},\n{\"ph\":\"M\",\"name\":\"process_sort_index\","
                "\"pid\":%d,\"tid\":0,\"args\":{\"sort_index\":%d}}", me, me, me, me);
        if (t->clock_rounds)
            fprintf(f, ",\n{\"ph\":\"M\",\"name\":\"process_labels\",\"pid\":%d,\"tid\":0,"
                    "\"args\":{\"labels\":\"clock %+.1f us from PE 0 (+-%.1f)\","
                    "\"clock_offset_us\":%.3f,\"clock_bound_us\":%.3f,\"clock_rounds\":%d}}",
                    me, off, t->clock_rtt / 2, off, t->clock_rtt / 2, t->clock_rounds);
        if (t->dropped)
            fprintf(f, ",\n{\"ph\":\"i\",\"s\":\"p\",\"name\":\"trace buffer full: %llu events "
                    "dropped (TERN_TRACE_EVENTS)\",\"pid\":%d,\"tid\":0,\"ts\":%.3f}",
                    (unsigned long long)t->dropped, me, t->n ? t->ev[t->n - 1].ts : 0.0);
        for (size_t i = 0; i < t->n; i++) {
            const ev_t *e = &t->ev[i];
            switch (e->kind & 0xff) {
            case EV_METHOD:
                fprintf(f, ",\n{\"ph\":\"X\",\"name\":");
                json_name(f, e->name);
                fprintf(f, ",\"cat\":\"method\",\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,"
                        "\"args\":{\"bytes\":%llu}}", me, e->ts, e->dur,
                        (unsigned long long)e->b);
                if (e->a)
                    fprintf(f, ",\n{\"ph\":\"f\",\"bp\":\"e\",\"name\":\"message\",\"cat\":"
                            "\"message\",\"id\":%llu,\"pid\":%d,\"tid\":0,\"ts\":%.3f}",
                            (unsigned long long)e->a, me, e->ts);
                break;
            case EV_IDLE:
                fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"idle\",\"cat\":\"idle\",\"pid\":%d,"
                        "\"tid\":0,\"ts\":%.3f,\"dur\":%.3f}", me, e->ts, e->dur);
                break;
            case EV_SEND:
                fprintf(f, ",\n{\"ph\":\"s\",\"name\":\"message\",\"cat\":\"message\",\"id\":"
                        "%llu,\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"args\":{\"to\":%u,\"bytes\":"
                        "%u}}", (unsigned long long)e->a, me, e->ts, (unsigned)(e->b >> 32),
                        (unsigned)(e->b & 0xffffffffu));
                break;
            case EV_MOVE:
                fprintf(f, ",\n{\"ph\":\"i\",\"s\":\"t\",\"name\":\"move out\",\"cat\":\"move\","
                        "\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"args\":{\"to\":%llu}}", me, e->ts,
                        (unsigned long long)e->a);
                break;
            case EV_REDUCTION:
                fprintf(f, ",\n{\"ph\":\"i\",\"s\":\"t\",\"name\":\"reduction done\",\"cat\":"
                        "\"reduction\",\"pid\":%d,\"tid\":0,\"ts\":%.3f}", me, e->ts);
                break;
            case EV_TASKS: {
                const core_task_t *tk = core_task_by_gid(e->name);
                fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"pool.%s\",\"cat\":\"pool\",\"pid\":%d,"
                        "\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"tasks\":%llu}}",
                        tk ? tk->name : "?", me, e->ts, e->dur, (unsigned long long)e->a);
                break;
            }
            default:
                fprintf(f, ",\n{\"ph\":\"X\",\"name\":\"load balancing step %u\",\"cat\":"
                        "\"lb\",\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"dur\":%.3f,\"args\":{"
                        "\"moves\":%u,\"max_avg_before\":%.4f,\"max_avg_after\":%.4f}}",
                        e->kind >> 8, me, e->ts, e->dur, e->name, (double)e->a / 1e6,
                        (double)e->b / 1e6);
                break;
            }
        }
        fprintf(f, "\n]\n");
        if (fclose(f) != 0)
            util_log_error("TERN_TRACE: writing %s failed", path);
    }
    free(t->ev);
    free(t->sent_to);
    free(t->recv_from);
    free(t->file);
    free(t);
    pe->trace = NULL;
}
