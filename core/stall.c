/*
 * Stalled jobs. A program that never calls tern_exit, or waits on a future nobody will
 * set, would idle at 0% CPU forever without a word. Quiescence detection already knows
 * when nothing can happen any more: no PE runs anything, no message is in flight, no
 * timer is pending. So when PE 0 has been idle for TERN_STALL_TIMEOUT seconds, it runs
 * two quiescence waves (core/qd.c); if they find the job quiescent (and no tern_qd_*
 * callback was waiting for just that), every PE says what still waits on it - coroutines
 * and what they wait for, reductions short of contributions, messages held for
 * collections that were never created - and PE 0 prints it all, in PE order, once per
 * stall. TERN_STALL_ACTION=abort then ends the job with an error instead of waiting.
 * (What is known: PE 0 was idle that long, and every PE was idle when the waves passed.)
 *
 * Independently, each PE warns once about messages held for a collection that has not
 * appeared after TERN_STALL_TIMEOUT seconds (a stale or forged proxy): the job may well
 * be busy with other work meanwhile.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/future.h"
#include "core/invoke.h"
#include "core/registry.h"
#include "core/stall.h"
#include "util/log.h"
#include "util/options.h"

#define STALL_TEXT_MAX 4096   /* bytes of report one PE sends */
#define STALL_GROUPS 64       /* distinct waits listed per PE */
#define HELD_CHECK_S 1.0      /* how often held messages are looked at */

typedef struct core_stall {
    double timeout;          /* seconds; 0: never */
    int abort;               /* TERN_STALL_ACTION=abort */
    int watching;            /* PE 0: waves or a report under way */
    uint64_t reported;       /* PE 0: message total of the stall last reported, + 1 */
    uint64_t total;          /* PE 0: of the one being reported */
    char **texts;            /* PE 0: each PE's report, while they come */
    int ntexts;
    double next_held;        /* when held messages are looked at again */
} core_stall_t;

tern_status_t core_stall_open(core_pe_t *pe)
{
    double timeout;
    const char *action = util_opt_str("TERN_STALL_ACTION");
    if (util_opt_double("TERN_STALL_TIMEOUT", 0, 1e9, &timeout) != TERN_OK)
        return TERN_ERR_INVALID;
    if (strcmp(action, "warn") != 0 && strcmp(action, "abort") != 0) {
        util_log_error("TERN_STALL_ACTION=%s: expected warn or abort", action);
        return TERN_ERR_INVALID;
    }
    core_stall_t *s = calloc(1, sizeof *s);
    if (!s)
        return TERN_ERR_NOMEM;
    s->timeout = timeout;
    s->abort = strcmp(action, "abort") == 0;
    pe->stall = s;
    pe->quiet_since = -1;
    return TERN_OK;
}

void core_stall_close(core_pe_t *pe)
{
    core_stall_t *s = pe->stall;
    if (!s)
        return;
    for (int i = 0; s->texts && i < pe->num_pes; i++)
        free(s->texts[i]);
    free(s->texts);
    free(s);
    pe->stall = NULL;
}

/* ---- held messages ---- */

static void held_check(core_pe_t *pe, double now)
{
    core_stall_t *s = pe->stall;
    if (!pe->nheld_colls || now < s->next_held || s->timeout <= 0)
        return;
    s->next_held = now + HELD_CHECK_S;
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(&pe->colls, &it, &key, &val);) {
        core_coll_t *c = val;
        if (c->live || !c->pend_head || c->pend_warned || now - c->pend_since < s->timeout)
            continue;
        c->pend_warned = 1;
        uint64_t n = 0;
        for (tern_msg_t *m = c->pend_head; m; m = m->next)
            n++;
        const core_hdr_t *h = &c->pend_head->hdr;
        const core_ep_t *e = core_ep_by_gid(h->u.entry.ep); /* ENTRY, BCAST: held ones */
        const core_type_t *t = e ? core_type_by_gid(e->type_gid) : NULL;
        util_log_warn("%llu message%s (the first from PE %d, for '%s.%s') %s waited %.0f s "
                      "for collection %#llx, which has not been created on this PE; was it "
                      "ever created? (a proxy from another job, or made by hand, names a "
                      "collection that never comes)", (unsigned long long)n, n == 1 ? "" : "s",
                      h->src_pe, t ? t->name : "?", e ? e->name : "(creation or ping)",
                      n == 1 ? "has" : "have", now - c->pend_since,
                      (unsigned long long)c->cid);
    }
}

/* ---- PE 0's watch ---- */

void core_stall_idle(core_pe_t *pe, double now)
{
    core_stall_t *s = pe->stall;
    if (pe->quiet_since < 0)
        pe->quiet_since = now;
    held_check(pe, now);
    if (pe->my_pe != 0 || s->timeout <= 0 || s->watching ||
        now - pe->quiet_since < s->timeout)
        return;
    s->watching = 1;
    core_qd_watch(pe);
}

double core_stall_next(core_pe_t *pe, double now)
{
    core_stall_t *s = pe->stall;
    if (!s || s->timeout <= 0)
        return -1;
    double next = -1;
    if (pe->my_pe == 0 && !s->watching && pe->quiet_since >= 0)
        next = pe->quiet_since + s->timeout;
    if (pe->nheld_colls && (next < 0 || s->next_held < next))
        next = s->next_held > now ? s->next_held : now + HELD_CHECK_S;
    return next < 0 ? -1 : next > now ? next - now : 0;
}

void core_stall_busy(core_pe_t *pe)
{
    pe->stall->watching = 0;
    pe->quiet_since = core_now(); /* look again after another quiet period */
}

void core_stall_quiescent(core_pe_t *pe, uint64_t total, size_t fired)
{
    core_stall_t *s = pe->stall;
    if (fired || total + 1 == s->reported) {
        /* Callbacks were waiting for just this, or it was said already. */
        core_stall_busy(pe);
        return;
    }
    s->total = total;
    if (!s->texts && !(s->texts = calloc((size_t)pe->num_pes, sizeof *s->texts)))
        tern_abort("out of memory for a stall report");
    s->ntexts = 0;
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_STALL_ASK, pe->my_pe);
    tern_status_t st = core_send_iov(pe, pe->my_pe, &hdr, NULL, 0);
    if (st != TERN_OK)
        tern_abort("starting a stall report failed: %s", tern_strerror(st));
}

/* ---- what waits on this PE ---- */

typedef struct {
    int kind;            /* core_wait_kind_t */
    uint64_t id, aux;
    const core_ep_t *in; /* the entry method the coroutines run; NULL: the main function */
    int n;
} wait_group_t;

static void describe_wait(core_pe_t *pe, const wait_group_t *g, char *buf, size_t cap)
{
    char who[160], what[400];
    if (g->in)
        snprintf(who, sizeof who, "%d coroutine%s of entry method '%s.%s'", g->n,
                 g->n == 1 ? "" : "s", core_type_local(g->in->type)->name, g->in->name);
    else
        snprintf(who, sizeof who, "the main function");
    switch (g->kind) {
    case CORE_WAIT_FUTURE:
        core_future_describe(pe, g->id, what, sizeof what);
        break;
    case CORE_WAIT_ITER: {
        char f[300];
        core_future_describe(pe, g->id, f, sizeof f);
        snprintf(what, sizeof what, "an iteration over futures (%llu not done yet, among "
                 "them %s)", (unsigned long long)g->aux, f);
        break;
    }
    case CORE_WAIT_REDUCE:
        snprintf(what, sizeof what, "the result of reduction %llu of collection %#llx "
                 "(tern_allreduce or tern_barrier)", (unsigned long long)g->aux,
                 (unsigned long long)g->id);
        break;
    case CORE_WAIT_CHANNEL:
        snprintf(what, sizeof what, "a channel to member %llu of collection %#llx "
                 "(tern_channel_recv or tern_channel_wait_any)", (unsigned long long)g->aux,
                 (unsigned long long)g->id);
        break;
    default:
        snprintf(what, sizeof what, "something (wait kind %d)", g->kind);
        break;
    }
    snprintf(buf, cap, "%s wait%s on %s", who, g->in && g->n == 1 ? "s" : g->in ? "" : "s",
             what);
}

/* This PE's part of the report; NULL when nothing waits here. */
static char *report_mine(core_pe_t *pe)
{
    char *buf = malloc(STALL_TEXT_MAX);
    if (!buf)
        return NULL;
    size_t len = 0;
    int lines = 0;
    wait_group_t g[STALL_GROUPS];
    int ng = 0, more = 0;
    for (core_ult_t *t = pe->ults.all; t; t = t->all_next) {
        if (t->state != CORE_ULT_WAITING)
            continue;
        const core_inv_t *inv = t->local;
        wait_group_t w = {t->wait_kind, t->wait_id, t->wait_aux, inv ? inv->ep : NULL, 1};
        int i = 0;
        while (i < ng && !(g[i].kind == w.kind && g[i].id == w.id && g[i].aux == w.aux &&
                           g[i].in == w.in))
            i++;
        if (i < ng)
            g[i].n++;
        else if (ng < STALL_GROUPS)
            g[ng++] = w;
        else
            more++;
    }
    for (int i = 0; i < ng; i++) {
        char line[700];
        describe_wait(pe, &g[i], line, sizeof line);
        util_log_append(buf, STALL_TEXT_MAX, &len, "%s%s", lines++ ? "\n" : "", line);
    }
    if (more)
        util_log_append(buf, STALL_TEXT_MAX, &len, "\n%d more coroutines wait", more);
    uint64_t key;
    void *val;
    for (size_t it = 0; util_hashmap_next(&pe->colls, &it, &key, &val);) {
        core_coll_t *c = val;
        if (!c->live && c->pend_head) {
            uint64_t n = 0;
            for (tern_msg_t *m = c->pend_head; m; m = m->next)
                n++;
            util_log_append(buf, STALL_TEXT_MAX, &len,
                            "%s%llu message%s wait%s for collection %#llx, which was never "
                            "created here", lines++ ? "\n" : "", (unsigned long long)n,
                            n == 1 ? "" : "s", n == 1 ? "s" : "", (unsigned long long)c->cid);
        } else if (c->reds) {
            char reds[1024];
            if (core_red_describe(pe, c, reds, sizeof reds))
                util_log_append(buf, STALL_TEXT_MAX, &len, "%s%s", lines++ ? "\n" : "", reds);
        }
        if (c->live && c->nheld) {
            util_log_append(buf, STALL_TEXT_MAX, &len,
                            "%s%llu message%s wait%s here, at their home, for elements of "
                            "array %#llx that were not inserted (tern_array_insert; "
                            "tern_array_done_inserting fails them)", lines++ ? "\n" : "",
                            (unsigned long long)c->nheld, c->nheld == 1 ? "" : "s",
                            c->nheld == 1 ? "s" : "", (unsigned long long)c->cid);
        }
        if (c->live && c->census_busy) {
            util_log_append(buf, STALL_TEXT_MAX, &len,
                            "%sa census of array %#llx (tern_array_done_inserting) is under "
                            "way: moves wait for it", lines++ ? "\n" : "",
                            (unsigned long long)c->cid);
        }
    }
    if (!lines) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void report_print(core_pe_t *pe)
{
    core_stall_t *s = pe->stall;
    util_log_warn("the job is stalled: PE 0 has been idle for %.0f s and two waves of "
                  "quiescence detection found every PE idle, no message in flight and no "
                  "timer pending, yet tern_exit was not called; nothing can happen any more",
                  s->timeout);
    int any = 0;
    for (int p = 0; p < pe->num_pes; p++) {
        char *text = s->texts[p];
        for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl)
                *nl = 0;
            util_log_warn("stalled: on PE %d, %s", p, line);
            any = 1;
        }
        free(text);
        s->texts[p] = NULL;
    }
    if (!any)
        util_log_warn("stalled: nothing waits either: has the program forgotten to call "
                      "tern_exit?");
    util_log_warn("stalled: TERN_STALL_ACTION=abort ends such a job with an error; "
                  "TERN_STALL_TIMEOUT sets the delay (0: never check)");
}

void core_h_stall_ask(core_pe_t *pe, tern_msg_t *m)
{
    core_tree_forward(pe, m);
    core_msg_release(&pe->pool, m);
    char *text = report_mine(pe);
    core_hdr_t hdr;
    core_hdr_init(&hdr, CORE_K_STALL_INFO, pe->my_pe);
    tern_iov_t iov = {text, text ? strlen(text) + 1 : 0};
    tern_status_t st = core_send_iov(pe, 0, &hdr, &iov, text ? 1 : 0);
    free(text);
    if (st != TERN_OK)
        tern_abort("sending a stall report to PE 0 failed: %s", tern_strerror(st));
}

void core_h_stall_info(core_pe_t *pe, tern_msg_t *m)
{
    core_stall_t *s = pe->stall;
    int src = m->hdr.src_pe;
    size_t len = 0;
    const char *text = m->hdr.nsegs ? core_msg_seg(m, 0, &len) : NULL;
    if (pe->my_pe != 0 || !s->texts || src < 0 || src >= pe->num_pes || s->texts[src])
        tern_abort("an unexpected stall report from PE %d", src);
    if (text && len && text[len - 1] == '\0')
        s->texts[src] = strdup(text);
    core_msg_release(&pe->pool, m);
    /* An empty report still counts: a marker that cannot be a text. */
    if (!s->texts[src] && !(s->texts[src] = strdup("")))
        tern_abort("out of memory for a stall report");
    if (++s->ntexts < pe->num_pes)
        return;
    report_print(pe);
    s->reported = s->total + 1;
    if (s->abort)
        tern_abort("the job stalled (TERN_STALL_ACTION=abort)");
    core_stall_busy(pe);
}
