#include "tools/ternrun.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Set by ternrun_main.c before launching: what the children get back before exec. */
extern sigset_t tr_child_sigmask;
extern struct rlimit tr_child_nofile;

static void set_env_int(const char *name, long v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%ld", v);
    setenv(name, buf, 1);
}

/*
 * In the child, between fork and exec. ternrun is single-threaded, so the non
 * async-signal-safe calls (setenv) are fine here. Every descriptor ternrun holds is
 * close-on-exec, which closes the other processes' socket ends and pipes at exec without
 * walking them all here.
 */
static void child(const tr_job_t *job, int rank, int sock, const int *out_fds, int err_fd,
                  pid_t parent) __attribute__((noreturn));

static void child(const tr_job_t *job, int rank, int sock, const int *out_fds, int err_fd,
                  pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* ternrun died before the line above took effect */
        _exit(127);

    signal(SIGPIPE, SIG_DFL); /* ignored in ternrun; an ignored signal survives exec */
    sigprocmask(SIG_SETMASK, &tr_child_sigmask, NULL);
    setrlimit(RLIMIT_NOFILE, &tr_child_nofile);

    if (out_fds) {
        if (dup2(out_fds[0], STDOUT_FILENO) < 0 || dup2(out_fds[1], STDERR_FILENO) < 0)
            goto fail;
        close(out_fds[0]);
        close(out_fds[1]);
    }
    if (fcntl(sock, F_SETFD, 0) != 0) /* the one descriptor the program keeps */
        goto fail;

    set_env_int("TERN_BOOT_FD", sock);
    set_env_int("TERN_RANK", rank);
    set_env_int("TERN_SIZE", job->n);
    set_env_int("TERN_LOCAL_RANK", rank);
    set_env_int("TERN_LOCAL_SIZE", job->n);
    setenv("TERN_JOBID", job->jobid, 1);
    /* The runtime waits as long for its stuck PEs before leaving as ternrun does before
     * killing them (--exit-grace may differ from the environment's). */
    char grace[32];
    snprintf(grace, sizeof grace, "%g", job->exit_grace);
    setenv("TERN_EXIT_GRACE", grace, 1);

    execvp(job->argv[0], job->argv);
fail:;
    int e = errno;
    ssize_t w = write(err_fd, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Returns 0 once the program runs, else the errno that stopped it (-1: unknown). */
static int wait_exec(int err_fd)
{
    int e;
    ssize_t r;
    do
        r = read(err_fd, &e, sizeof e);
    while (r < 0 && errno == EINTR);
    if (r == 0)
        return 0; /* the close-on-exec write end closed: exec succeeded */
    return r == (ssize_t)sizeof e ? e : -1;
}

static int launch_one(tr_job_t *job, int rank)
{
    tr_proc_t *p = &job->procs[rank];
    int sv[2], ep[2], out_fds[2] = {-1, -1};

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        tr_msg("cannot start PE %d: socketpair: %s", rank, strerror(errno));
        return 1;
    }
    p->sock = sv[0];
    tr_set_nonblock(p->sock);
    if (job->tag_output &&
        (tr_stream_open(&p->stream[0], STDOUT_FILENO, &out_fds[0]) != 0 ||
         tr_stream_open(&p->stream[1], STDERR_FILENO, &out_fds[1]) != 0)) {
        tr_msg("cannot start PE %d: pipe: %s", rank, strerror(errno));
        close(sv[1]);
        if (out_fds[0] >= 0)
            close(out_fds[0]);
        return 1;
    }
    if (pipe2(ep, O_CLOEXEC) != 0) {
        tr_msg("cannot start PE %d: pipe: %s", rank, strerror(errno));
        close(sv[1]);
        for (int i = 0; i < 2; i++)
            if (out_fds[i] >= 0)
                close(out_fds[i]);
        return 1;
    }

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        child(job, rank, sv[1], job->tag_output ? out_fds : NULL, ep[1], parent);

    int fork_errno = errno;
    close(sv[1]);
    close(ep[1]);
    for (int i = 0; i < 2; i++)
        if (out_fds[i] >= 0)
            close(out_fds[i]);
    if (pid < 0) {
        close(ep[0]);
        tr_msg("cannot start PE %d: fork: %s", rank, strerror(fork_errno));
        return 1;
    }
    p->pid = pid;
    job->launched++;
    job->live++;

    int e = wait_exec(ep[0]);
    close(ep[0]);
    if (e != 0) {
        tr_msg("cannot run '%s': %s", job->argv[0], e > 0 ? strerror(e) : "unknown error");
        return 127;
    }
    if (job->verbose)
        tr_msg("PE %d pid %ld", rank, (long)pid);
    return 0;
}

int tr_launch(tr_job_t *job)
{
    /* Launch one at a time, waiting for each exec: an unrunnable program is then reported
     * once, by name, instead of as N early exits. */
    for (int r = 0; r < job->n; r++) {
        int rc = launch_one(job, r);
        if (rc != 0) {
            tr_end(job, rc, -1);
            return rc;
        }
    }
    return 0;
}
