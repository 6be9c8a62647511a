/*
 * Bootstrap through PMI-1, the simple PMI wire protocol, spoken here with no library: for
 * processes started by MPICH's Hydra (mpiexec, mpiexec.hydra) and other PMI-1 process
 * managers (Slurm's pmi2 plugin answers it too).
 *
 * The launcher hands each process a connected socket, PMI_FD, with PMI_RANK and PMI_SIZE;
 * or (mpiexec -pmi-port) an address, PMI_PORT=host:port, and an id, PMI_ID, to introduce
 * itself with ("cmd=initack pmiid=ID", answered by "cmd=initack" and "cmd=set size=N",
 * "cmd=set rank=R", "cmd=set debug=D"). Every request is one line of space-separated
 * name=value fields starting with cmd=, and every request but abort gets one line back:
 *
 *   cmd=init pmi_version=1 pmi_subversion=1     cmd=response_to_init ... rc=0
 *   cmd=get_maxes                               cmd=maxes kvsname_max= keylen_max= vallen_max=
 *   cmd=get_my_kvsname                          cmd=my_kvsname kvsname=K
 *   cmd=put kvsname=K key=k value=v             cmd=put_result rc=0
 *   cmd=barrier_in                              cmd=barrier_out
 *   cmd=get kvsname=K key=k                     cmd=get_result rc=0 value=v  (rc=-1: absent)
 *   cmd=abort exitcode=N                        (none: the launcher ends the job)
 *   cmd=finalize                                cmd=finalize_ack
 *
 * The job's process mapping is the key PMI_process_mapping of the job's key-value space.
 * A request line is at most 1024 bytes (PMI_LINE_MAX): values are cut shorter than
 * vallen_max to leave room for the put around them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transports/boot_pmi.h"
#include "util/log.h"

/* The longest request line, newline included: MPICH's simple PMI client's limit, which
 * Slurm's pmi2 plugin holds PMI-1 clients to (a longer put reaches it as two broken
 * requests; Hydra takes longer ones). */
#define PMI_LINE_MAX 1024

typedef struct {
    boot_pmi_t p; /* first */
    int fd;
    const char *how; /* "PMI_FD=6" or "PMI_PORT=host:port": for messages */
    char how_buf[300];
    char kvs[257];   /* the job's key-value space */
    char *line;      /* received text: one line is handed out at a time */
    size_t cap, len; /* its capacity and the bytes in it */
    size_t used;     /* bytes of the last line handed out, removed by the next read */
    char *cmd;       /* room for one request */
    size_t cmd_cap;
    int inited;      /* the server answered init: the job knows this process */
    int leaving;     /* in finalize or abort: losing the server is no news */
} pmi1_t;

/* The whole text out, across short writes and EINTR; no SIGPIPE if the server is gone. */
static tern_status_t send_text(pmi1_t *q, const char *s, size_t n, const char *what)
{
    while (n > 0) {
        ssize_t w = send(q->fd, s, n, MSG_NOSIGNAL);
        if (w < 0 && errno == ENOTSOCK)
            w = write(q->fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            util_log_error("boot: cannot write to the PMI-1 server (%s) during %s: %s",
                           q->how, what, strerror(errno));
            return TERN_ERR_IO;
        }
        s += w;
        n -= (size_t)w;
    }
    return TERN_OK;
}

/*
 * The next line from the server, NUL-terminated, without its newline. The server gone
 * after start-up means the job is over (no one is left to answer a fence or a lookup, and
 * the launcher is ending the other processes): say so and leave.
 */
static tern_status_t recv_line(pmi1_t *q, char **out, const char *what)
{
    int started = q->p.pub.ops != NULL && !q->leaving;
    memmove(q->line, q->line + q->used, q->len - q->used);
    q->len -= q->used;
    q->used = 0;
    for (;;) {
        char *nl = memchr(q->line, '\n', q->len);
        if (nl) {
            *nl = 0;
            q->used = (size_t)(nl - q->line) + 1;
            *out = q->line;
            return TERN_OK;
        }
        if (q->len + 1 >= q->cap) {
            util_log_error("boot: the PMI-1 server (%s) answered %s with a line longer than "
                           "%zu bytes", q->how, what, q->cap - 1);
            return TERN_ERR_IO;
        }
        ssize_t r = read(q->fd, q->line + q->len, q->cap - 1 - q->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0 || errno == ECONNRESET) {
                util_log_error("boot: the PMI-1 server (%s) closed the connection during %s%s",
                               q->how, what, started ? "; the job is over" : "");
                if (started)
                    _exit(1);
            } else {
                util_log_error("boot: cannot read from the PMI-1 server (%s) during %s: %s",
                               q->how, what, strerror(errno));
            }
            return TERN_ERR_IO;
        }
        q->len += (size_t)r;
    }
}

/* The value of field `name` in a received line, copied into out; -1 if absent or long. */
static int field(const char *line, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *s = line; *s;) {
        while (*s == ' ')
            s++;
        const char *end = s + strcspn(s, " ");
        if ((size_t)(end - s) > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
            size_t n = (size_t)(end - s) - nl - 1;
            if (n >= cap)
                return -1;
            memcpy(out, s + nl + 1, n);
            out[n] = 0;
            return 0;
        }
        s = end;
    }
    return -1;
}

static long field_long(const char *line, const char *name, long dflt)
{
    char v[32], *end;
    if (field(line, name, v, sizeof v) != 0)
        return dflt;
    long n = strtol(v, &end, 10);
    return *end || end == v ? dflt : n;
}

/*
 * Send one request (printf-style, without the newline) and wait for the line that answers
 * it, which must be cmd=`reply`; *line points into the receive buffer until the next call.
 */
__attribute__((format(printf, 4, 5))) static tern_status_t
request(pmi1_t *q, const char *reply, char **line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(q->cmd, q->cmd_cap - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= q->cmd_cap - 1) {
        util_log_error("boot: PMI-1 request '%.20s...' is longer than %zu bytes", q->cmd,
                       q->cmd_cap - 2);
        return TERN_ERR_INVALID;
    }
    char what[40];
    snprintf(what, sizeof what, "%.*s", (int)strcspn(q->cmd + 4, " "), q->cmd + 4);
    q->cmd[n] = '\n';
    tern_status_t st = send_text(q, q->cmd, (size_t)n + 1, what);
    if (st != TERN_OK || !reply)
        return st;
    if ((st = recv_line(q, line, what)) != TERN_OK)
        return st;
    char cmd[40];
    if (field(*line, "cmd", cmd, sizeof cmd) != 0 || strcmp(cmd, reply) != 0) {
        util_log_error("boot: the PMI-1 server (%s) answered %s with '%.80s', not cmd=%s",
                       q->how, what, *line, reply);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t p1_put(boot_pmi_t *p, const char *key, const char *val)
{
    pmi1_t *q = (pmi1_t *)p;
    char *line;
    tern_status_t st =
        request(q, "put_result", &line, "cmd=put kvsname=%s key=%s value=%s", q->kvs, key, val);
    if (st == TERN_OK && field_long(line, "rc", -1) != 0) {
        util_log_error("boot: the PMI-1 server (%s) refused to store '%s' (%zu characters): "
                       "'%.80s'", q->how, key, strlen(val), line);
        st = TERN_ERR_IO;
    }
    return st;
}

static tern_status_t p1_fence(boot_pmi_t *p)
{
    char *line;
    return request((pmi1_t *)p, "barrier_out", &line, "cmd=barrier_in");
}

static tern_status_t p1_get(boot_pmi_t *p, int rank, const char *key, char *val, size_t cap)
{
    pmi1_t *q = (pmi1_t *)p;
    (void)rank; /* the key says whose it is */
    char *line;
    tern_status_t st = request(q, "get_result", &line, "cmd=get kvsname=%s key=%s", q->kvs, key);
    if (st != TERN_OK)
        return st;
    if (field_long(line, "rc", -1) != 0)
        return TERN_ERR_NOT_FOUND;
    if (field(line, "value", val, cap) != 0) {
        util_log_error("boot: the PMI-1 server (%s) answered the lookup of '%s' with no value "
                       "of at most %zu characters: '%.80s'", q->how, key, cap - 1, line);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t p1_attr(boot_pmi_t *p, const char *name, char *val, size_t cap)
{
    return p1_get(p, -1, name, val, cap);
}

static void p1_close(pmi1_t *q)
{
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
    free(q->line);
    free(q->cmd);
    q->line = q->cmd = NULL;
}

static void p1_abort(boot_pmi_t *p, const char *msg, int exit_code)
{
    pmi1_t *q = (pmi1_t *)p;
    (void)msg; /* printed by the caller; the protocol carries an exit code only */
    char *line;
    q->leaving = 1;
    if (q->fd >= 0)
        (void)request(q, NULL, &line, "cmd=abort exitcode=%d", exit_code);
    p1_close(q);
}

static void p1_finalize(boot_pmi_t *p)
{
    pmi1_t *q = (pmi1_t *)p;
    char *line;
    q->leaving = 1;
    if (q->fd >= 0 && q->inited)
        (void)request(q, "finalize_ack", &line, "cmd=finalize");
    p1_close(q);
}

static const boot_pmi_ops_t pmi1_ops = {
    .name = "pmi1",
    .what = "PMI-1",
    .put = p1_put,
    .fence = p1_fence,
    .get = p1_get,
    .attr = p1_attr,
    .abort = p1_abort,
    .finalize = p1_finalize,
};

/* PMI_PORT=host:port: connect, and introduce this process by its PMI_ID. */
static tern_status_t connect_port(pmi1_t *q, const char *port, int *rank, int *size)
{
    int id;
    if (boot_env_int("PMI_ID", 0, INT_MAX, "a PMI-1 launcher", &id) != 0)
        return TERN_ERR_INVALID;
    char host[256];
    const char *colon = strrchr(port, ':');
    if (!colon || colon == port || (size_t)(colon - port) >= sizeof host || !colon[1]) {
        util_log_error("boot: PMI_PORT='%s' is not host:port", port);
        return TERN_ERR_INVALID;
    }
    memcpy(host, port, (size_t)(colon - port));
    host[colon - port] = 0;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int rc = getaddrinfo(host, colon + 1, &hints, &ai);
    if (rc != 0) {
        util_log_error("boot: PMI_PORT='%s': %s", port, gai_strerror(rc));
        return TERN_ERR_IO;
    }
    int err = 0;
    for (struct addrinfo *a = ai; a && q->fd < 0; a = a->ai_next) {
        q->fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (q->fd < 0)
            err = errno;
        else if (connect(q->fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            close(q->fd);
            q->fd = -1;
        }
    }
    freeaddrinfo(ai);
    if (q->fd < 0) {
        util_log_error("boot: cannot connect to the PMI-1 server at PMI_PORT=%s: %s", port,
                       strerror(err));
        return TERN_ERR_IO;
    }
    char *line;
    tern_status_t st = request(q, "initack", &line, "cmd=initack pmiid=%d", id);
    /* Three lines follow: cmd=set size=N, cmd=set rank=R, cmd=set debug=D. */
    *rank = *size = -1;
    for (int i = 0; i < 3 && st == TERN_OK; i++) {
        char cmd[16];
        st = recv_line(q, &line, "initack");
        if (st == TERN_OK && (field(line, "cmd", cmd, sizeof cmd) != 0 || strcmp(cmd, "set"))) {
            util_log_error("boot: the PMI-1 server (%s) answered initack with '%.80s', not "
                           "cmd=set", q->how, line);
            st = TERN_ERR_IO;
        }
        if (st == TERN_OK) {
            *size = (int)field_long(line, "size", *size);
            *rank = (int)field_long(line, "rank", *rank);
        }
    }
    return st;
}

tern_status_t boot_pmi1_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    pmi1_t *q = calloc(1, sizeof *q);
    if (!q)
        return TERN_ERR_NOMEM;
    q->fd = -1;
    q->p.pmi = &pmi1_ops;
    q->cap = q->cmd_cap = 4096; /* the answers before get_maxes are short */
    q->line = malloc(q->cap);
    q->cmd = malloc(q->cmd_cap);
    int rank = -1, size = -1;
    tern_status_t st = q->line && q->cmd ? TERN_OK : TERN_ERR_NOMEM;
    const char *fd = getenv("PMI_FD"), *port = getenv("PMI_PORT");
    if (st != TERN_OK) {
        util_log_error("boot: no memory for the PMI-1 bootstrap");
    } else if (fd && *fd) {
        snprintf(q->how_buf, sizeof q->how_buf, "PMI_FD=%s", fd);
        q->how = q->how_buf;
        if (boot_env_int("PMI_FD", 0, INT_MAX, "a PMI-1 launcher", &q->fd) != 0 ||
            boot_env_int("PMI_SIZE", 1, 1 << 24, "a PMI-1 launcher", &size) != 0 ||
            boot_env_int("PMI_RANK", 0, size - 1, "a PMI-1 launcher", &rank) != 0) {
            q->fd = -1; /* not ours to close */
            st = TERN_ERR_INVALID;
        } else if (fcntl(q->fd, F_SETFD, FD_CLOEXEC) != 0) {
            /* The program's own children must not keep the connection open. */
            util_log_error("boot: PMI_FD=%s is not an open descriptor: %s", fd,
                           strerror(errno));
            q->fd = -1;
            st = TERN_ERR_INVALID;
        }
    } else if (port && *port) {
        snprintf(q->how_buf, sizeof q->how_buf, "PMI_PORT=%s", port);
        q->how = q->how_buf;
        st = connect_port(q, port, &rank, &size);
        if (st == TERN_OK && (size < 1 || size > 1 << 24 || rank < 0 || rank >= size)) {
            util_log_error("boot: the PMI-1 server (%s) says rank %d of a job of %d processes",
                           q->how, rank, size);
            st = TERN_ERR_IO;
        }
    } else {
        util_log_error("boot: PMI-1 asked for (TERN_BOOT=pmi1), but neither PMI_FD nor "
                       "PMI_PORT is set: this process was not started by a PMI-1 launcher");
        st = TERN_ERR_INVALID;
    }
    char *line;
    if (st == TERN_OK)
        st = request(q, "response_to_init", &line, "cmd=init pmi_version=1 pmi_subversion=1");
    if (st == TERN_OK && field_long(line, "rc", -1) != 0) {
        util_log_error("boot: the PMI-1 server (%s) refused version 1.1: '%.80s'", q->how, line);
        st = TERN_ERR_UNSUPPORTED;
    }
    q->inited = st == TERN_OK;
    long kvs_max = 0, key_max = 0, val_max = 0;
    if (st == TERN_OK && (st = request(q, "maxes", &line, "cmd=get_maxes")) == TERN_OK) {
        kvs_max = field_long(line, "kvsname_max", 0);
        key_max = field_long(line, "keylen_max", 0);
        val_max = field_long(line, "vallen_max", 0);
        if (kvs_max < 2 || key_max < 2 || val_max < 2 || kvs_max > 1 << 16 ||
            key_max > 1 << 16 || val_max > 1 << 20) {
            util_log_error("boot: the PMI-1 server (%s) gives limits Tern cannot use: '%.80s'",
                           q->how, line);
            st = TERN_ERR_UNSUPPORTED;
        }
    }
    if (st == TERN_OK && (st = request(q, "my_kvsname", &line, "cmd=get_my_kvsname")) == TERN_OK &&
        field(line, "kvsname", q->kvs, sizeof q->kvs) != 0) {
        util_log_error("boot: the PMI-1 server (%s) names no key-value space: '%.80s'", q->how,
                       line);
        st = TERN_ERR_IO;
    }
    if (st == TERN_OK) {
        /* The limits count the terminating NUL. A whole request line must also fit in
         * PMI_LINE_MAX bytes (Slurm's server cuts longer ones), so a value is shorter than
         * vallen_max by what the longest put around it takes. */
        size_t around = strlen("cmd=put kvsname= key= value=\n") + strlen(q->kvs) +
                        (size_t)key_max - 1;
        q->p.key_max = (size_t)key_max - 1;
        q->p.val_max = (size_t)val_max - 1;
        if (around + q->p.val_max > PMI_LINE_MAX)
            q->p.val_max = around < PMI_LINE_MAX ? PMI_LINE_MAX - around : 0;
        size_t room = (size_t)(kvs_max + key_max + val_max) + 128;
        if (room < q->cap)
            room = q->cap; /* never shrink under bytes still unread */
        char *l = realloc(q->line, room), *c = l ? realloc(q->cmd, room) : NULL;
        if (l)
            q->line = l;
        if (c)
            q->cmd = c;
        if (!l || !c) {
            util_log_error("boot: no memory for PMI-1 lines of %zu bytes", room);
            st = TERN_ERR_NOMEM;
        } else
            q->cap = q->cmd_cap = room;
    }
    if (st == TERN_OK) {
        q->p.pub.rank = rank;
        q->p.pub.size = size;
        st = boot_pmi_start(&q->p, q->kvs, 'k');
    }
    if (st != TERN_OK) {
        /* Known to the job: finalizing would leave the others waiting in a fence (Hydra
         * waits for every process once one has finalized); end the job instead. */
        if (q->inited)
            p1_abort(&q->p, NULL, 1);
        else
            p1_close(q);
        boot_pmi_free(&q->p);
        return st;
    }
    *out = &q->p.pub;
    return TERN_OK;
}
