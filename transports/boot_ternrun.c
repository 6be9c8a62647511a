/*
 * Bootstrap through ternrun: the process side of boot_ternrun_proto.h. Every call is a
 * blocking exchange on the inherited socket; they happen only at start-up and shut-down.
 */
#include "transports/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "transports/boot_ternrun_proto.h"
#include "util/log.h"

typedef struct {
    boot_t pub; /* first: boot_t * and this struct's address are the same */
    int fd;
} boot_ternrun_t;

/* Whole iovec out, across short writes and EINTR. MSG_NOSIGNAL: if ternrun is gone we
 * want an error to report, not SIGPIPE. */
static int send_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)cnt};
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (cnt > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static tern_status_t send_frame(boot_ternrun_t *bt, uint32_t op, const void *a, size_t alen,
                                const void *b, size_t blen)
{
    boot_frame_t h = {.op = op, .len = (uint32_t)(alen + blen)};
    struct iovec iov[3] = {{&h, sizeof h}, {(void *)a, alen}, {(void *)b, blen}};
    if (send_all(bt->fd, iov, 3) != 0) {
        util_log_error("boot: cannot write to ternrun (fd %d): %s", bt->fd, strerror(errno));
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

/* Returns 1 when all `len` bytes arrived, 0 at end of file, -1 on error. */
static int recv_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t r = read(fd, p, len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == ECONNRESET ? 0 : -1;
        }
        if (r == 0)
            return 0;
        p += r;
        len -= (size_t)r;
    }
    return 1;
}

/* A reply the caller waits for. Losing ternrun here means the job is over: no one is left
 * to complete a fence or answer a lookup, and the other processes are being killed. */
static tern_status_t recv_exact(boot_ternrun_t *bt, void *buf, size_t len, const char *what)
{
    int rc = recv_all(bt->fd, buf, len);
    if (rc == 1)
        return TERN_OK;
    if (rc == 0) {
        util_log_error("boot: ternrun closed the connection during %s; the job is over", what);
        _exit(1);
    }
    util_log_error("boot: cannot read from ternrun during %s: %s", what, strerror(errno));
    return TERN_ERR_IO;
}

static tern_status_t bt_put(boot_t *b, const char *key, const void *val, size_t len)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    if (!key || (len && !val))
        return TERN_ERR_INVALID;
    size_t klen = strlen(key) + 1;
    if (klen > BOOT_KEY_MAX) {
        util_log_error("boot: key '%.16s...' is longer than %u bytes", key, BOOT_KEY_MAX - 1);
        return TERN_ERR_INVALID;
    }
    if (len > BOOT_VAL_MAX) {
        util_log_error("boot: value of '%s' is %zu bytes, more than %u", key, len,
                       BOOT_VAL_MAX);
        return TERN_ERR_INVALID;
    }
    return send_frame(bt, BOOT_OP_PUT, key, klen, val, len);
}

static tern_status_t bt_commit(boot_t *b)
{
    (void)b; /* every put already went to ternrun */
    return TERN_OK;
}

static tern_status_t bt_fence(boot_t *b)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    tern_status_t st = send_frame(bt, BOOT_OP_FENCE, NULL, 0, NULL, 0);
    if (st != TERN_OK)
        return st;
    boot_frame_t h;
    if ((st = recv_exact(bt, &h, sizeof h, "a fence")) != TERN_OK)
        return st;
    if (h.op != BOOT_OP_FENCE_OK || h.len != 0) {
        util_log_error("boot: ternrun answered a fence with op %u, %u bytes", h.op, h.len);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

/* Throw away a value that does not fit, keeping the stream in step with the frames. */
static tern_status_t discard(boot_ternrun_t *bt, size_t len)
{
    char sink[4096];
    while (len > 0) {
        size_t n = len < sizeof sink ? len : sizeof sink;
        tern_status_t st = recv_exact(bt, sink, n, "a lookup");
        if (st != TERN_OK)
            return st;
        len -= n;
    }
    return TERN_OK;
}

static tern_status_t bt_get(boot_t *b, int rank, const char *key, void *buf, size_t cap,
                            size_t *len_out)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    if (!key || (cap && !buf))
        return TERN_ERR_INVALID;
    if (rank < 0 || rank >= b->size)
        return TERN_ERR_RANGE;
    size_t klen = strlen(key) + 1;
    if (klen > BOOT_KEY_MAX)
        return TERN_ERR_NOT_FOUND; /* no such key can have been put */
    uint32_t r = (uint32_t)rank;
    tern_status_t st = send_frame(bt, BOOT_OP_GET, &r, sizeof r, key, klen);
    if (st != TERN_OK)
        return st;

    boot_frame_t h;
    if ((st = recv_exact(bt, &h, sizeof h, "a lookup")) != TERN_OK)
        return st;
    if (h.op == BOOT_OP_GET_NONE && h.len == 0)
        return TERN_ERR_NOT_FOUND;
    if (h.op != BOOT_OP_GET_OK || h.len > BOOT_VAL_MAX) {
        util_log_error("boot: ternrun answered a lookup with op %u, %u bytes", h.op, h.len);
        return TERN_ERR_IO;
    }
    if (len_out)
        *len_out = h.len;
    if (h.len > cap) {
        st = discard(bt, h.len);
        return st != TERN_OK ? st : TERN_ERR_RANGE;
    }
    return recv_exact(bt, buf, h.len, "a lookup");
}

static void bt_close(boot_ternrun_t *bt)
{
    close(bt->fd);
    free(bt);
}

static void bt_abort(boot_t *b, const char *msg)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    size_t len = msg ? strlen(msg) : 0;
    if (len > BOOT_VAL_MAX)
        len = BOOT_VAL_MAX;
    /* Best effort: if ternrun is gone there is nobody left to tell. */
    boot_frame_t h = {.op = BOOT_OP_ABORT, .len = (uint32_t)len};
    struct iovec iov[2] = {{&h, sizeof h}, {(void *)msg, len}};
    send_all(bt->fd, iov, 2);
    bt_close(bt);
}

static void bt_finalize(boot_t *b, int exit_code)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    int32_t code = (int32_t)exit_code;
    send_frame(bt, BOOT_OP_FINALIZE, &code, sizeof code, NULL, 0);
    bt_close(bt);
}

static void bt_exiting(boot_t *b, int exit_code)
{
    boot_ternrun_t *bt = (boot_ternrun_t *)b;
    int32_t code = (int32_t)exit_code;
    (void)send_frame(bt, BOOT_OP_EXITING, &code, sizeof code, NULL, 0);
}

static const boot_ops_t boot_ternrun_ops = {
    .size = sizeof(boot_ops_t),
    .name = "ternrun",
    .put = bt_put,
    .commit = bt_commit,
    .fence = bt_fence,
    .get = bt_get,
    .abort = bt_abort,
    .finalize = bt_finalize,
    .exiting = bt_exiting,
};

/* The id goes into shared-memory object names: a non-empty run of [A-Za-z0-9_-]. */
static int env_jobid(char *out, size_t cap)
{
    const char *s = getenv("TERN_JOBID");
    if (!s || !*s) {
        util_log_error("boot: TERN_JOBID is not set (is this process started by ternrun?)");
        return -1;
    }
    size_t n = strlen(s);
    int ok = n < cap;
    for (size_t i = 0; ok && i < n; i++) {
        char c = s[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '-';
    }
    if (!ok) {
        util_log_error("boot: TERN_JOBID='%s' is not a job id (up to %zu of [A-Za-z0-9_-])",
                       s, cap - 1);
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

tern_status_t boot_ternrun_open(boot_t **out)
{
    int fd, rank, size, lrank, lsize;
    char jobid[sizeof((boot_t *)0)->jobid] = {0};
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    if (boot_env_int("TERN_BOOT_FD", 0, INT_MAX, "ternrun", &fd) != 0 ||
        boot_env_int("TERN_SIZE", 1, INT_MAX, "ternrun", &size) != 0 ||
        boot_env_int("TERN_RANK", 0, size - 1, "ternrun", &rank) != 0 ||
        boot_env_int("TERN_LOCAL_SIZE", 1, size, "ternrun", &lsize) != 0 ||
        boot_env_int("TERN_LOCAL_RANK", 0, lsize - 1, "ternrun", &lrank) != 0 ||
        env_jobid(jobid, sizeof jobid) != 0)
        return TERN_ERR_INVALID;
    /* The program's own children must not inherit the connection: ternrun would then see
     * it open after this process is gone. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
        util_log_error("boot: TERN_BOOT_FD=%d is not an open descriptor: %s", fd,
                       strerror(errno));
        return TERN_ERR_INVALID;
    }

    boot_ternrun_t *bt = calloc(1, sizeof *bt);
    if (!bt)
        return TERN_ERR_NOMEM;
    bt->pub.ops = &boot_ternrun_ops;
    bt->pub.rank = rank;
    bt->pub.size = size;
    bt->pub.local_rank = lrank;
    bt->pub.local_size = lsize;
    memcpy(bt->pub.jobid, jobid, sizeof jobid);
    boot_default_host(bt->pub.host, sizeof bt->pub.host); /* ternrun runs one host */
    bt->fd = fd;

    uint32_t hello[3] = {BOOT_PROTO_VERSION, (uint32_t)rank, (uint32_t)(int32_t)getpid()};
    tern_status_t st = send_frame(bt, BOOT_OP_HELLO, hello, sizeof hello, NULL, 0);
    if (st != TERN_OK) {
        free(bt); /* the descriptor was ternrun's to give, not ours to close */
        return st;
    }
    *out = &bt->pub;
    return TERN_OK;
}
