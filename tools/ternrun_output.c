#include "tools/ternrun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* A line longer than this goes out in pieces rather than making ternrun hold it whole. */
#define TR_LINE_MAX (64u * 1024u)

int tr_stream_open(tr_stream_t *s, int out_fd, int *child_fd)
{
    int p[2];
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->out_fd = out_fd;
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    /* Nonblocking so that the final drain after the process is gone cannot hang on a
     * descendant that still holds the write end. */
    tr_set_nonblock(p[0]);
    s->fd = p[0];
    *child_fd = p[1];
    return 0;
}

static void write_all(int fd, struct iovec *iov, int cnt)
{
    while (cnt > 0) {
        ssize_t w = writev(fd, iov, cnt);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) { /* our own output was left nonblocking by someone */
                struct pollfd pfd = {.fd = fd, .events = POLLOUT};
                poll(&pfd, 1, -1);
                continue;
            }
            return; /* nowhere to write (EPIPE...): the output is lost either way */
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
}

/* The pending start of the line, then `data`; prefixed unless the line was begun already. */
static void emit(tr_stream_t *s, int rank, const char *data, size_t len, int add_newline)
{
    char prefix[24];
    struct iovec iov[4];
    int cnt = 0;
    if (!s->midline) {
        int n = snprintf(prefix, sizeof prefix, "[%d] ", rank);
        iov[cnt++] = (struct iovec){prefix, (size_t)n};
    }
    if (s->len)
        iov[cnt++] = (struct iovec){s->buf, s->len};
    if (len)
        iov[cnt++] = (struct iovec){(void *)data, len};
    if (add_newline)
        iov[cnt++] = (struct iovec){"\n", 1};
    write_all(s->out_fd, iov, cnt);
    s->len = 0;
}

static void take(tr_stream_t *s, int rank, const char *c, size_t n)
{
    size_t i = 0;
    const char *nl;
    while (i < n && (nl = memchr(c + i, '\n', n - i)) != NULL) {
        size_t seg = (size_t)(nl - (c + i)) + 1;
        emit(s, rank, c + i, seg, 0);
        s->midline = 0;
        i += seg;
    }
    size_t rest = n - i;
    if (rest == 0)
        return;
    if (s->len + rest > TR_LINE_MAX) {
        emit(s, rank, c + i, rest, 0);
        s->midline = 1;
        return;
    }
    if (s->len + rest > s->cap) {
        size_t cap = s->cap ? s->cap : 256;
        while (cap < s->len + rest)
            cap *= 2;
        char *nb = realloc(s->buf, cap);
        if (!nb) { /* out of memory: let the piece out untagged-whole rather than lose it */
            emit(s, rank, c + i, rest, 0);
            s->midline = 1;
            return;
        }
        s->buf = nb;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, c + i, rest);
    s->len += rest;
}

static void stream_close(tr_stream_t *s, int rank)
{
    if (s->len || s->midline)
        emit(s, rank, NULL, 0, 1);
    s->midline = 0;
    close(s->fd);
    s->fd = -1;
    free(s->buf);
    s->buf = NULL;
    s->cap = 0;
}

int tr_stream_read(tr_stream_t *s, int rank)
{
    char chunk[16384];
    if (s->fd < 0)
        return 1;
    ssize_t r = read(s->fd, chunk, sizeof chunk);
    if (r > 0) {
        take(s, rank, chunk, (size_t)r);
        return 0;
    }
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    stream_close(s, rank);
    return 1;
}

void tr_stream_finish(tr_stream_t *s, int rank)
{
    if (s->fd < 0)
        return;
    char chunk[16384];
    for (;;) {
        ssize_t r = read(s->fd, chunk, sizeof chunk);
        if (r > 0)
            take(s, rank, chunk, (size_t)r);
        else if (r < 0 && errno == EINTR)
            continue;
        else
            break;
    }
    stream_close(s, rank);
}
