/*
 * Statistics (TERN_STATS): per entry method the calls, total and longest time, bytes
 * received and sent from inside it; per PE the busy, idle and other time, the messages and
 * bytes sent over each transport and received, and the broadcasts, reductions and moves.
 * Off by default (pe->stats NULL: the hot paths test one pointer). Printed by
 * tern_stats_print() at any time, at the end of the job with TERN_STATS=1, and written as
 * JSON for tools with TERN_STATS_FILE (one file a PE: FILE.<pe>.json).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/invoke.h"
#include "core/pe.h"
#include "core/registry.h"
#include "util/log.h"
#include "util/options.h"

typedef struct {
    uint64_t calls;
    double total, max;
    uint64_t bytes_in, bytes_out, msgs_out;
} ep_stat_t;

typedef struct core_stats {
    double t0, startup;   /* from the end of start-up; start-up's length */
    uint32_t neps;
    ep_stat_t *ep;          /* by entry method global id */
    uint64_t tp_msgs[4], tp_bytes[4]; /* sent, by pe->tps index */
    uint64_t self_msgs, self_bytes;   /* to this PE */
    uint64_t recv_msgs, recv_bytes;   /* from transports */
    uint64_t bcasts, reductions, moves_in, moves_out;
    uint64_t lb_steps, lb_moves;   /* load balancing steps decided here, and their moves */
    double lb_first_before, lb_last_after;
    double busy;               /* running sum of method times */
    /* spans the scheduler times (core_stats_span), methods run inside them left out */
    double span_t0[CORE_SPANS], span_busy0[CORE_SPANS], span[CORE_SPANS];
    int print_at_end;
    char *file;
} core_stats_t;

tern_status_t core_stats_open(core_pe_t *pe)
{
    long on;
    if (util_opt_long("TERN_STATS", 0, 1, &on) != TERN_OK)
        return TERN_ERR_INVALID;
    const char *file = util_opt_str("TERN_STATS_FILE");
    if (!on && (!file || !*file))
        return TERN_OK;
    core_stats_t *s = calloc(1, sizeof *s);
    if (!s)
        return TERN_ERR_NOMEM;
    s->print_at_end = (int)on;
    s->file = file && *file ? strdup(file) : NULL;
    pe->stats = s;
    return TERN_OK;
}

/* Once the registry is frozen: room for every entry method. */
void core_stats_start(core_pe_t *pe)
{
    core_stats_t *s = pe->stats;
    if (!s)
        return;
    s->neps = core_ep_count();
    s->ep = calloc(s->neps ? s->neps : 1, sizeof *s->ep);
    if (!s->ep)
        tern_abort("out of memory for statistics");
    s->t0 = core_now();
}

void core_stats_invoked(core_pe_t *pe, uint32_t gid, uint64_t bytes, double dt)
{
    core_stats_t *s = pe->stats;
    if (!s->ep || gid >= s->neps)
        return; /* pings and channel messages run no method */
    ep_stat_t *e = &s->ep[gid];
    e->calls++;
    e->total += dt;
    s->busy += dt;
    if (dt > e->max)
        e->max = dt;
    e->bytes_in += bytes;
}

void core_stats_sent(core_pe_t *pe, int dest, uint64_t bytes)
{
    core_stats_t *s = pe->stats;
    if (!s->ep)
        return;
    if (dest == pe->my_pe) {
        s->self_msgs++;
        s->self_bytes += bytes;
    } else {
        for (int i = 0; i < pe->ntps; i++)
            if (pe->route[dest] == pe->tps[i]) {
                s->tp_msgs[i]++;
                s->tp_bytes[i] += bytes;
                break;
            }
    }
    /* Sent from inside an entry method: counted for it. */
    core_inv_t *inv = pe->inv_plain;
    if (!inv) {
        core_ult_t *u = core_ult_current(&pe->ults);
        inv = u ? u->local : NULL;
    }
    if (inv && inv->ep && inv->ep->gid < s->neps) {
        s->ep[inv->ep->gid].msgs_out++;
        s->ep[inv->ep->gid].bytes_out += bytes;
    }
}

void core_stats_received(core_pe_t *pe, uint64_t bytes)
{
    if (!pe->stats->ep)
        return;
    pe->stats->recv_msgs++;
    pe->stats->recv_bytes += bytes;
}

void core_stats_count(core_pe_t *pe, int what)
{
    core_stats_t *s = pe->stats;
    if (!s->ep)
        return;
    switch (what) {
    case CORE_STAT_BCAST:
        s->bcasts++;
        break;
    case CORE_STAT_REDUCTION:
        s->reductions++;
        break;
    case CORE_STAT_MOVE_IN:
        s->moves_in++;
        break;
    case CORE_STAT_MOVE_OUT:
        s->moves_out++;
        break;
    default:
        break;
    }
}

void core_stats_lb(core_pe_t *pe, uint32_t moves, double before, double after)
{
    core_stats_t *s = pe->stats;
    if (!s->lb_steps)
        s->lb_first_before = before;
    s->lb_steps++;
    s->lb_moves += moves;
    s->lb_last_after = after;
}

/* Start-up (topology, transports) is over: times count from here. */
void core_stats_running(core_pe_t *pe)
{
    core_stats_t *s = pe->stats;
    double now = core_now();
    s->startup = now - s->t0;
    s->t0 = now;
}

void core_stats_span(core_pe_t *pe, int which, int begin)
{
    core_stats_t *s = pe->stats;
    if (begin) {
        s->span_t0[which] = core_now();
        s->span_busy0[which] = s->busy;
    } else {
        double dt = core_now() - s->span_t0[which] - (s->busy - s->span_busy0[which]);
        s->span[which] += dt;
        if (which != CORE_SPAN_PROGRESS) /* user code: busy */
            s->busy += dt;
    }
}

/* Busy: time in entry methods; idle: asleep or polling in vain; the rest is the runtime's. */
static void times(core_pe_t *pe, double *wall, double *busy, double *idle)
{
    core_stats_t *s = pe->stats;
    *wall = core_now() - s->t0;
    *busy = s->busy;
    *idle = pe->idle_time;
}

static int cmp_total(const void *a, const void *b, void *ctx)
{
    const ep_stat_t *e = ctx;
    double x = e[*(const uint32_t *)a].total, y = e[*(const uint32_t *)b].total;
    return (x < y) - (x > y);
}

static void print_table(core_pe_t *pe, FILE *f)
{
    core_stats_t *s = pe->stats;
    double wall, busy, idle;
    times(pe, &wall, &busy, &idle);
    double other = wall - busy - idle;
    if (other < 0)
        other = 0;
    double prog = s->span[CORE_SPAN_PROGRESS] < other ? s->span[CORE_SPAN_PROGRESS] : other;
    fprintf(f, "tern: stats: PE %d: %.3f s: busy %.3f s (%.1f%%), idle %.3f s (%.1f%%), "
            "runtime %.3f s (%.1f%%: transport progress %.3f s, scheduler and the rest "
            "%.3f s)\n", pe->my_pe, wall, busy,
            wall > 0 ? 100 * busy / wall : 0, idle, wall > 0 ? 100 * idle / wall : 0,
            other, wall > 0 ? 100 * other / wall : 0, prog, other - prog);
    fprintf(f, "tern: stats: PE %d: busy: entry methods %.3f s, main and coroutines resumed "
            "%.3f s, pool tasks %.3f s; start-up before all this %.3f s\n", pe->my_pe,
            busy - s->span[CORE_SPAN_ULT] - s->span[CORE_SPAN_TASKS], s->span[CORE_SPAN_ULT],
            s->span[CORE_SPAN_TASKS], s->startup);
    fprintf(f, "tern: stats: PE %d: %-28s %10s %11s %10s %11s %11s\n", pe->my_pe,
            "entry method", "calls", "total ms", "max us", "bytes in", "bytes out");
    uint32_t *order = malloc((s->neps ? s->neps : 1) * sizeof *order);
    uint32_t n = 0;
    for (uint32_t i = 0; order && i < s->neps; i++)
        if (s->ep[i].calls)
            order[n++] = i;
    if (order)
        qsort_r(order, n, sizeof *order, cmp_total, s->ep);
    for (uint32_t k = 0; k < n; k++) {
        const ep_stat_t *e = &s->ep[order[k]];
        const core_ep_t *ep = core_ep_by_gid(order[k]);
        const core_type_t *t = ep ? core_type_by_gid(ep->type_gid) : NULL;
        char name[160];
        snprintf(name, sizeof name, "%s.%s", t ? t->name : "?", ep ? ep->name : "?");
        fprintf(f, "tern: stats: PE %d: %-28s %10llu %11.3f %10.1f %11llu %11llu\n",
                pe->my_pe, name, (unsigned long long)e->calls, e->total * 1e3, e->max * 1e6,
                (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out);
    }
    free(order);
    for (int i = 0; i < pe->ntps; i++)
        fprintf(f, "tern: stats: PE %d: sent over %s: %llu messages, %llu bytes\n", pe->my_pe,
                pe->tps[i]->ops->name, (unsigned long long)s->tp_msgs[i],
                (unsigned long long)s->tp_bytes[i]);
    fprintf(f, "tern: stats: PE %d: sent to itself %llu messages (%llu bytes); received %llu "
            "(%llu bytes); broadcasts %llu, reductions finished here %llu, moves in %llu, "
            "out %llu\n", pe->my_pe, (unsigned long long)s->self_msgs,
            (unsigned long long)s->self_bytes, (unsigned long long)s->recv_msgs,
            (unsigned long long)s->recv_bytes, (unsigned long long)s->bcasts,
            (unsigned long long)s->reductions, (unsigned long long)s->moves_in,
            (unsigned long long)s->moves_out);
    if (s->lb_steps)
        fprintf(f, "tern: stats: PE %d: load balancing: %llu steps decided here, %llu moves, "
                "max/avg %.3f at the first, %.3f predicted after the last\n", pe->my_pe,
                (unsigned long long)s->lb_steps, (unsigned long long)s->lb_moves,
                s->lb_first_before, s->lb_last_after);
    fflush(f);
}

static void json_str(FILE *f, const char *str)
{
    fputc('"', f);
    for (; *str; str++) {
        if (*str == '"' || *str == '\\')
            fputc('\\', f);
        if ((unsigned char)*str >= 0x20)
            fputc(*str, f);
    }
    fputc('"', f);
}

static void write_json(core_pe_t *pe)
{
    core_stats_t *s = pe->stats;
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.json", s->file, pe->my_pe);
    FILE *f = fopen(path, "w");
    if (!f) {
        util_log_error("TERN_STATS_FILE: cannot write %s", path);
        return;
    }
    double wall, busy, idle;
    times(pe, &wall, &busy, &idle);
    fprintf(f, "{\"pe\": %d, \"pes\": %d, \"wall_s\": %.9g, \"busy_s\": %.9g, "
            "\"idle_s\": %.9g, \"progress_s\": %.9g, \"coroutines_s\": %.9g, "
            "\"tasks_s\": %.9g, \"startup_s\": %.9g,\n \"entry_methods\": [", pe->my_pe,
            pe->num_pes, wall, busy, idle, s->span[CORE_SPAN_PROGRESS], s->span[CORE_SPAN_ULT],
            s->span[CORE_SPAN_TASKS], s->startup);
    int first = 1;
    for (uint32_t i = 0; i < s->neps; i++) {
        const ep_stat_t *e = &s->ep[i];
        if (!e->calls)
            continue;
        const core_ep_t *ep = core_ep_by_gid(i);
        const core_type_t *t = ep ? core_type_by_gid(ep->type_gid) : NULL;
        fprintf(f, "%s\n  {\"type\": ", first ? "" : ",");
        json_str(f, t ? t->name : "?");
        fprintf(f, ", \"name\": ");
        json_str(f, ep ? ep->name : "?");
        fprintf(f, ", \"calls\": %llu, \"total_s\": %.9g, \"max_s\": %.9g, \"bytes_in\": %llu, "
                "\"msgs_out\": %llu, \"bytes_out\": %llu}", (unsigned long long)e->calls,
                e->total, e->max, (unsigned long long)e->bytes_in,
                (unsigned long long)e->msgs_out, (unsigned long long)e->bytes_out);
        first = 0;
    }
    fprintf(f, "],\n \"transports\": [");
    for (int i = 0; i < pe->ntps; i++) {
        fprintf(f, "%s{\"name\": ", i ? ", " : "");
        json_str(f, pe->tps[i]->ops->name);
        fprintf(f, ", \"msgs\": %llu, \"bytes\": %llu}", (unsigned long long)s->tp_msgs[i],
                (unsigned long long)s->tp_bytes[i]);
    }
    fprintf(f, "],\n \"self_msgs\": %llu, \"self_bytes\": %llu, \"recv_msgs\": %llu, "
            "\"recv_bytes\": %llu, \"broadcasts\": %llu, \"reductions\": %llu, "
            "\"moves_in\": %llu, \"moves_out\": %llu, \"lb_steps\": %llu, \"lb_moves\": %llu}\n",
            (unsigned long long)s->self_msgs,
            (unsigned long long)s->self_bytes, (unsigned long long)s->recv_msgs,
            (unsigned long long)s->recv_bytes, (unsigned long long)s->bcasts,
            (unsigned long long)s->reductions, (unsigned long long)s->moves_in,
            (unsigned long long)s->moves_out, (unsigned long long)s->lb_steps,
            (unsigned long long)s->lb_moves);
    fclose(f);
}

/* The table in one write, so that PEs printing together do not interleave their lines. */
static void print_whole(core_pe_t *pe)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        print_table(pe, stderr);
        return;
    }
    print_table(pe, f);
    fclose(f);
    fwrite(buf, 1, len, stderr);
    fflush(stderr);
    free(buf);
}

void tern_stats_print(void)
{
    core_pe_t *pe = core_pe_current();
    if (!pe)
        return;
    if (!pe->stats || !pe->stats->ep) {
        util_log_error("tern_stats_print: statistics are off (set TERN_STATS=1 or "
                       "TERN_STATS_FILE)");
        return;
    }
    print_whole(pe);
}

tern_status_t tern_stats_ep(tern_ep_t ep, uint64_t *calls, double *seconds)
{
    core_pe_t *pe = core_pe_checked("tern_stats_ep");
    if (!pe)
        return TERN_ERR_STATE;
    const core_ep_t *e = core_ep_local(ep);
    if (!e) {
        util_log_error("tern_stats_ep: %u is not a registered entry method", ep);
        return TERN_ERR_INVALID;
    }
    if (!pe->stats || !pe->stats->ep)
        return TERN_ERR_STATE;
    if (calls)
        *calls = pe->stats->ep[e->gid].calls;
    if (seconds)
        *seconds = pe->stats->ep[e->gid].total;
    return TERN_OK;
}

/* At the end of the job. */
void core_stats_close(core_pe_t *pe)
{
    core_stats_t *s = pe->stats;
    if (!s)
        return;
    if (s->ep && s->print_at_end)
        print_whole(pe);
    if (s->ep && s->file)
        write_json(pe);
    free(s->ep);
    free(s->file);
    free(s);
    pe->stats = NULL;
}
