#include "tools/ternrun.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* One write() per message so that it does not interleave with the processes' output. */
void tr_msg(const char *fmt, ...)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "ternrun: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n > (int)sizeof buf - 2)
        n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
    (void)w;
}

double tr_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint32_t random32(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    /* No entropy yet (very early boot): the pid in the id already separates live jobs,
     * the clock separates successive ones. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 7) ^ (uint32_t)getpid();
}

/* Only letters and digits: the id goes into shared-memory object names. */
void tr_make_jobid(char *buf, size_t cap)
{
    snprintf(buf, cap, "r%ldx%08x", (long)getpid(), (unsigned)random32());
}

/* The runtime names its shared-memory objects /tern.<jobid>.<anything>; processes that were
 * killed could not unlink theirs. */
/* Whether a /dev/shm name belongs to the job: Tern's own ("tern.<jobid>.*") or, from a
 * process of the job, libfabric's shm provider ("<pid>:*"), left when it was killed. */
static int job_owns(const char *name, const char *prefix, size_t plen, const pid_t *pids,
                    int npids)
{
    if (strncmp(name, prefix, plen) == 0)
        return 1;
    char *end;
    long pid = strtol(name, &end, 10);
    if (end == name || *end != ':')
        return 0;
    for (int i = 0; i < npids; i++)
        if (pids[i] > 0 && pids[i] == (pid_t)pid)
            return 1;
    return 0;
}

void tr_shm_cleanup(const char *jobid, const pid_t *pids, int npids)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "tern.%s.", jobid);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!job_owns(e->d_name, prefix, (size_t)plen, pids, npids))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT)
            tr_msg("cannot remove /dev/shm/%s: %s", e->d_name, strerror(errno));
    }
    closedir(d);
}

int tr_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}
