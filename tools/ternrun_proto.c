#include "tools/ternrun.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transports/boot_ternrun_proto.h"

static void protocol_error(tr_job_t *job, int rank, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void protocol_error(tr_job_t *job, int rank, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (!job->ending)
        tr_msg("protocol error from PE %d (pid %ld): %s", rank, (long)job->procs[rank].pid,
               what);
    tr_end(job, 1, -1);
}

static void exit_decided(tr_job_t *job, int32_t code)
{
    if (job->exit_decided)
        return;
    job->exit_decided = 1;
    job->exit_code = code;
    /* The runtime's PEs wait for a stuck one as long, from when each saw the exit, and
     * then leave: a margin lets them finalize before anything is killed. */
    if (job->exit_grace > 0)
        job->exit_deadline = tr_now() + job->exit_grace + TR_EXIT_MARGIN;
}

/* Largest body each request may carry; -1 for ops a process may not send. */
static long max_body(uint32_t op)
{
    switch (op) {
    case BOOT_OP_HELLO: return 12;
    case BOOT_OP_PUT: return (long)(BOOT_KEY_MAX + BOOT_VAL_MAX);
    case BOOT_OP_FENCE: return 0;
    case BOOT_OP_GET: return (long)(4 + BOOT_KEY_MAX);
    case BOOT_OP_ABORT: return (long)BOOT_VAL_MAX;
    case BOOT_OP_FINALIZE: return 4;
    case BOOT_OP_EXITING: return 4;
    default: return -1;
    }
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static int queue(tr_job_t *job, int rank, uint32_t op, const void *body, size_t len)
{
    tr_proc_t *p = &job->procs[rank];
    if (p->sock < 0)
        return 0; /* gone: nobody to answer */
    size_t need = p->out_len + sizeof(boot_frame_t) + len;
    if (need > p->out_cap) {
        size_t cap = p->out_cap ? p->out_cap : 256;
        while (cap < need)
            cap *= 2;
        unsigned char *nb = realloc(p->out, cap);
        if (!nb) {
            tr_msg("out of memory");
            tr_end(job, 1, -1);
            return -1;
        }
        p->out = nb;
        p->out_cap = cap;
    }
    boot_frame_t h = {.op = op, .len = (uint32_t)len};
    memcpy(p->out + p->out_len, &h, sizeof h);
    if (len)
        memcpy(p->out + p->out_len + sizeof h, body, len);
    p->out_len = need;
    tr_proto_flush(job, rank);
    return 0;
}

void tr_proto_flush(tr_job_t *job, int rank)
{
    tr_proc_t *p = &job->procs[rank];
    while (p->sock >= 0 && p->out_off < p->out_len) {
        ssize_t w = send(p->sock, p->out + p->out_off, p->out_len - p->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            /* The peer is gone (EPIPE): its exit is reported when it is reaped. */
            break;
        }
        p->out_off += (size_t)w;
    }
    p->out_off = p->out_len = 0;
}

void tr_proto_check_fence(tr_job_t *job)
{
    if (job->nfenced == 0 || job->nfenced < job->n - job->nfinalized)
        return;
    for (int r = 0; r < job->n; r++) {
        if (!job->procs[r].fenced)
            continue;
        job->procs[r].fenced = 0;
        if (queue(job, r, BOOT_OP_FENCE_OK, NULL, 0) != 0)
            return;
    }
    job->nfenced = 0;
}

static void on_get(tr_job_t *job, int rank, const unsigned char *b, uint32_t len)
{
    if (len < 5 || b[len - 1] != '\0' || strlen((const char *)b + 4) != len - 5) {
        protocol_error(job, rank, "GET key is not one NUL-terminated string");
        return;
    }
    uint32_t target = get_u32(b);
    const char *key = (const char *)b + 4;
    if (target >= (uint32_t)job->n) {
        protocol_error(job, rank, "GET of PE %u in a job of %d", target, job->n);
        return;
    }
    size_t vlen;
    const void *v = tr_kv_get(job->kv, (int)target, key, &vlen);
    if (v)
        queue(job, rank, BOOT_OP_GET_OK, v, vlen);
    else
        queue(job, rank, BOOT_OP_GET_NONE, NULL, 0);
}

static void on_put(tr_job_t *job, int rank, const unsigned char *b, uint32_t len)
{
    const unsigned char *nul = memchr(b, '\0', len < BOOT_KEY_MAX ? len : BOOT_KEY_MAX);
    if (!nul) {
        protocol_error(job, rank, "PUT key is not NUL-terminated within %u bytes",
                       BOOT_KEY_MAX);
        return;
    }
    size_t klen = (size_t)(nul - b) + 1;
    size_t vlen = len - klen;
    if (vlen > BOOT_VAL_MAX) {
        protocol_error(job, rank, "PUT value of %zu bytes (limit %u)", vlen, BOOT_VAL_MAX);
        return;
    }
    if (tr_kv_put(job->kv, rank, (const char *)b, b + klen, vlen) != 0) {
        tr_msg("out of memory");
        tr_end(job, 1, -1);
    }
}

static void on_hello(tr_job_t *job, int rank, const unsigned char *b)
{
    uint32_t version = get_u32(b), claimed = get_u32(b + 4);
    if (version != BOOT_PROTO_VERSION) {
        protocol_error(job, rank, "protocol version %u, ternrun speaks %u", version,
                       BOOT_PROTO_VERSION);
        return;
    }
    if (claimed != (uint32_t)rank) {
        protocol_error(job, rank, "HELLO claims rank %u", claimed);
        return;
    }
    job->procs[rank].hello = 1;
}

static void on_frame(tr_job_t *job, int rank, uint32_t op, const unsigned char *b,
                     uint32_t len)
{
    tr_proc_t *p = &job->procs[rank];
    if (op == BOOT_OP_ABORT) { /* at any point: the process is going down anyway */
        p->aborted = 1;
        /* A process that died first is the cause (the abort may be a peer finding it
         * gone): report that one. Its exit may take a moment to become visible, and the
         * aborting process may exit first: its exit is not judged while we wait. */
        if (job->abort_waiting)
            return; /* another ABORT is being waited on: this one is judged after it */
        job->abort_waiting = 1;
        for (int i = 0; i < 60 && !job->ending; i++) {
            tr_reap(job);
            if (!job->ending)
                nanosleep(&(struct timespec){0, 5000000}, NULL);
        }
        job->abort_waiting = 0;
        if (!job->ending) {
            tr_msg("job aborted by PE %d", rank);
            job->abort_rank = rank;
            int st = p->status;
            tr_end(job, p->exited && WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1,
                   rank);
        }
        return;
    }
    if (!p->hello && op != BOOT_OP_HELLO) {
        protocol_error(job, rank, "op %u before HELLO", op);
        return;
    }
    if (p->finalized) {
        protocol_error(job, rank, "op %u after FINALIZE", op);
        return;
    }
    if (p->fenced) {
        protocol_error(job, rank, "op %u while waiting in a fence", op);
        return;
    }
    switch (op) {
    case BOOT_OP_HELLO:
        if (p->hello)
            protocol_error(job, rank, "second HELLO");
        else
            on_hello(job, rank, b);
        break;
    case BOOT_OP_PUT:
        on_put(job, rank, b, len);
        break;
    case BOOT_OP_GET:
        on_get(job, rank, b, len);
        break;
    case BOOT_OP_FENCE:
        p->fenced = 1;
        job->nfenced++;
        tr_proto_check_fence(job);
        break;
    case BOOT_OP_EXITING:
        /* The job's exit is decided: whoever is still running when the grace is over is
         * stuck (in an entry method, stopped) and is killed (ternrun_serve.c). */
        exit_decided(job, (int32_t)get_u32(b));
        break;
    case BOOT_OP_FINALIZE:
        p->finalized = 1;
        p->fin_code = (int32_t)get_u32(b);
        job->nfinalized++;
        exit_decided(job, p->fin_code); /* a runtime that did not say EXITING */
        tr_proto_check_fence(job);
        break;
    }
}

/* Handle every whole frame at the front of the input buffer. */
static void parse(tr_job_t *job, int rank)
{
    tr_proc_t *p = &job->procs[rank];
    size_t off = 0;
    while (!job->ending && p->in_len - off >= sizeof(boot_frame_t)) {
        boot_frame_t h;
        memcpy(&h, p->in + off, sizeof h);
        long max = max_body(h.op);
        if (max < 0) {
            protocol_error(job, rank, "unknown op %u", h.op);
            break;
        }
        int exact = h.op == BOOT_OP_HELLO || h.op == BOOT_OP_FINALIZE;
        if ((long)h.len > max || (exact && (long)h.len != max)) {
            protocol_error(job, rank, "op %u with a body of %u bytes", h.op, h.len);
            break;
        }
        if (p->in_len - off < sizeof h + h.len)
            break;
        on_frame(job, rank, h.op, p->in + off + sizeof h, h.len);
        off += sizeof h + h.len;
    }
    if (job->ending) { /* nothing more from anyone matters */
        p->in_len = 0;
        return;
    }
    memmove(p->in, p->in + off, p->in_len - off);
    p->in_len -= off;
}

static void on_eof(tr_job_t *job, int rank)
{
    tr_proc_t *p = &job->procs[rank];
    close(p->sock);
    p->sock = -1;
    p->out_off = p->out_len = 0;
    /* Usually the process is exiting and its exit is about to be reported; if it lives on
     * without its connection, the next fence would wait for it forever. */
    if (!p->finalized && !p->aborted && !p->exited)
        p->eof_deadline = tr_now() + TR_EOF_GRACE;
}

void tr_proto_read(tr_job_t *job, int rank, int draining)
{
    tr_proc_t *p = &job->procs[rank];
    /* Backpressure: a process that does not read its replies gets no more served. */
    if (!draining && p->out_len - p->out_off > TR_OUT_HIGH)
        return;
    do {
        if (p->sock < 0)
            return;
        size_t want = sizeof(boot_frame_t) + BOOT_KEY_MAX + BOOT_VAL_MAX;
        if (p->in_cap - p->in_len < 4096 && p->in_cap < want + 4096) {
            size_t cap = p->in_cap ? p->in_cap * 2 : 4096;
            if (cap > want + 4096)
                cap = want + 4096;
            unsigned char *nb = realloc(p->in, cap);
            if (!nb) {
                tr_msg("out of memory");
                tr_end(job, 1, -1);
                return;
            }
            p->in = nb;
            p->in_cap = cap;
        }
        ssize_t r = recv(p->sock, p->in + p->in_len, p->in_cap - p->in_len, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            on_eof(job, rank); /* ECONNRESET and the like: the peer is gone */
            return;
        }
        if (r == 0) {
            on_eof(job, rank);
            return;
        }
        if (job->ending) /* read only to let the process go on; ignore it */
            continue;
        p->in_len += (size_t)r;
        parse(job, rank);
    } while (draining);
}
