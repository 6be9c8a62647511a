#include "tools/ternrun.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* After SIGKILL, how long to wait for processes stuck in the kernel before giving up. */
#define TR_KILL_GIVE_UP 5.0

static void signal_all(tr_job_t *job, int sig, int spare)
{
    for (int r = 0; r < job->n; r++) {
        tr_proc_t *p = &job->procs[r];
        if (p->pid > 0 && !p->exited && r != spare)
            kill(p->pid, sig);
    }
}

void tr_end(tr_job_t *job, int result, int spare)
{
    if (job->ending)
        return;
    job->ending = 1;
    job->result = result;
    signal_all(job, SIGTERM, spare);
    job->kill_deadline = tr_now() + TR_KILL_GRACE;
}

static void kill_hard(tr_job_t *job)
{
    signal_all(job, SIGKILL, -1);
    job->killed_hard = 1;
    job->kill_deadline = tr_now() + TR_KILL_GIVE_UP;
}

/* The ending rules, applied to one process's exit. */
static void judge(tr_job_t *job, int r)
{
    tr_proc_t *p = &job->procs[r];
    int st = p->status;
    long pid = (long)p->pid;

    if (job->ending) {
        /* The aborting process may name the code itself; one we killed does not. */
        if (r == job->abort_rank && WIFEXITED(st) && WEXITSTATUS(st) != 0)
            job->result = WEXITSTATUS(st);
        return;
    }
    if (p->aborted && job->abort_waiting)
        return; /* judged when the wait for an earlier death ends (ternrun_proto.c) */
    if (p->aborted) { /* its ABORT came in, then it exited before the ABORT was judged */
        tr_msg("job aborted by PE %d", r);
        job->abort_rank = r;
        tr_end(job, WIFEXITED(st) && WEXITSTATUS(st) ? WEXITSTATUS(st) : 1, r);
        return;
    }
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        tr_msg("PE %d (pid %ld) was killed by signal %d (%s)%s", r, pid, sig, strsignal(sig),
               p->finalized ? " after finalizing" : "");
        tr_end(job, 128 + sig, -1);
        return;
    }
    int code = WEXITSTATUS(st);
    if (p->finalized) {
        if (code == 0 || code == (p->fin_code & 0xff))
            return;
        tr_msg("PE %d (pid %ld) exited with code %d after finalizing with code %d", r, pid,
               code, (int)p->fin_code);
        tr_end(job, code, -1);
        return;
    }
    tr_msg("PE %d (pid %ld) exited with code %d before the job ended", r, pid, code);
    tr_end(job, code ? code : 1, -1);
}

static int find_rank(const tr_job_t *job, pid_t pid)
{
    for (int r = 0; r < job->n; r++)
        if (job->procs[r].pid == pid)
            return r;
    return -1;
}

void tr_reap(tr_job_t *job)
{
    for (;;) {
        int st;
        pid_t pid = waitpid(-1, &st, WNOHANG);
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid <= 0)
            return;
        int r = find_rank(job, pid);
        if (r < 0)
            continue;
        tr_proc_t *p = &job->procs[r];
        /* What it sent just before exiting (FINALIZE, ABORT) may still be unread, and it
         * decides how the exit is judged. */
        tr_proto_read(job, r, 1);
        if (p->sock >= 0) { /* a descendant still holds the other end: not our business */
            close(p->sock);
            p->sock = -1;
        }
        p->exited = 1;
        p->status = st;
        p->eof_deadline = 0;
        job->live--;
        judge(job, r);
    }
}

static void on_signals(tr_job_t *job, int *child_exited)
{
    struct signalfd_siginfo si[8];
    for (;;) {
        ssize_t n = read(job->sigfd, si, sizeof si);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        for (size_t i = 0; i < (size_t)n / sizeof si[0]; i++) {
            int sig = (int)si[i].ssi_signo;
            if (sig == SIGCHLD) {
                *child_exited = 1;
            } else if (!job->ending) {
                tr_msg("caught signal %d (%s): ending the job", sig, strsignal(sig));
                tr_end(job, 128 + sig, -1);
            } else if (!job->killed_hard) { /* asked twice: no more grace */
                kill_hard(job);
            }
        }
    }
}

/* The exit was decided a grace period ago, and these processes are still there: one
 * spinning or sleeping in an entry method never saw it, a stopped one cannot act on it.
 * The job keeps the code it exited with. */
static void end_stragglers(tr_job_t *job)
{
    for (int r = 0; r < job->n; r++) {
        tr_proc_t *p = &job->procs[r];
        if (p->pid > 0 && !p->exited)
            tr_msg("PE %d (pid %ld) did not stop within %g s of the job's exit (code %d)%s; "
                   "killing it", r, (long)p->pid, job->exit_grace, job->exit_code,
                   p->finalized ? ", though it finalized" : "");
    }
    job->ending = 1;
    job->result = job->exit_code & 0xff;
    /* SIGKILL at once: they had their grace, and a stopped process takes no other. */
    kill_hard(job);
}

static double next_deadline(const tr_job_t *job)
{
    if (job->ending)
        return job->kill_deadline;
    double d = job->timeout_deadline;
    if (job->exit_deadline > 0 && (d == 0 || job->exit_deadline < d))
        d = job->exit_deadline;
    for (int r = 0; r < job->n; r++) {
        double e = job->procs[r].eof_deadline;
        if (e > 0 && (d == 0 || e < d))
            d = e;
    }
    return d;
}

/* Returns 0 to go on, -1 to give up waiting for unkillable processes. */
static int check_deadlines(tr_job_t *job)
{
    double now = tr_now();
    if (!job->ending && job->timeout_deadline > 0 && now >= job->timeout_deadline) {
        tr_msg("job timed out after %g s", job->timeout);
        tr_end(job, 124, -1);
    }
    if (!job->ending && job->exit_deadline > 0 && now >= job->exit_deadline) {
        tr_reap(job); /* one that exited just now, its SIGCHLD not yet read, is no straggler */
        if (!job->ending && job->live > 0)
            end_stragglers(job);
    }
    for (int r = 0; r < job->n && !job->ending; r++) {
        tr_proc_t *p = &job->procs[r];
        if (p->eof_deadline > 0 && now >= p->eof_deadline) {
            tr_msg("PE %d (pid %ld) closed its connection to ternrun without finalizing", r,
                   (long)p->pid);
            tr_end(job, 1, -1);
        }
    }
    if (job->ending && now >= job->kill_deadline) {
        if (!job->killed_hard) {
            kill_hard(job);
        } else {
            tr_msg("%d process(es) did not die after SIGKILL; giving up on them", job->live);
            return -1;
        }
    }
    return 0;
}

static int poll_timeout_ms(const tr_job_t *job)
{
    double d = next_deadline(job);
    if (d == 0)
        return -1;
    double ms = (d - tr_now()) * 1000.0;
    if (ms <= 0)
        return 0;
    /* Rounded up: waking early would only poll again with a zero timeout. */
    return ms >= INT_MAX ? INT_MAX : (int)ms + 1;
}

/* tag = rank * 3 + what: 0 the socket, 1 stdout, 2 stderr. */
static nfds_t build_pollfds(tr_job_t *job, struct pollfd *pfd, int *tag)
{
    nfds_t k = 0;
    pfd[k] = (struct pollfd){.fd = job->sigfd, .events = POLLIN};
    tag[k++] = -1;
    for (int r = 0; r < job->n; r++) {
        tr_proc_t *p = &job->procs[r];
        if (p->sock >= 0) {
            short ev = 0;
            if (p->out_len - p->out_off <= TR_OUT_HIGH) /* else: see tr_proto_read */
                ev |= POLLIN;
            if (p->out_len > p->out_off)
                ev |= POLLOUT;
            pfd[k] = (struct pollfd){.fd = p->sock, .events = ev};
            tag[k++] = r * 3;
        }
        for (int s = 0; s < 2; s++) {
            if (p->stream[s].fd >= 0) {
                pfd[k] = (struct pollfd){.fd = p->stream[s].fd, .events = POLLIN};
                tag[k++] = r * 3 + 1 + s;
            }
        }
    }
    return k;
}

int tr_serve(tr_job_t *job)
{
    struct pollfd *pfd = job->pfd;
    int *tag = job->pfd_tag;

    while (job->live > 0) {
        nfds_t k = build_pollfds(job, pfd, tag);
        int n = poll(pfd, k, poll_timeout_ms(job));
        if (n < 0 && errno != EINTR) {
            tr_msg("poll: %s", strerror(errno));
            tr_end(job, 1, -1);
            if (!job->killed_hard)
                kill_hard(job);
            usleep(10000); /* cannot wait for events: look for exits at a modest pace */
            tr_reap(job);
            if (check_deadlines(job) != 0)
                break;
            continue;
        }
        int child_exited = 0;
        for (nfds_t i = 0; n > 0 && i < k; i++) {
            if (!pfd[i].revents)
                continue;
            if (tag[i] < 0) {
                on_signals(job, &child_exited);
                continue;
            }
            int r = tag[i] / 3, what = tag[i] % 3;
            if (what == 0) {
                if (pfd[i].revents & POLLOUT)
                    tr_proto_flush(job, r);
                if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
                    tr_proto_read(job, r, 0);
            } else {
                tr_stream_read(&job->procs[r].stream[what - 1], r);
            }
        }
        if (child_exited)
            tr_reap(job);
        if (check_deadlines(job) != 0)
            break;
    }

    for (int r = 0; r < job->n; r++) {
        tr_proc_t *p = &job->procs[r];
        for (int s = 0; s < 2; s++)
            tr_stream_finish(&p->stream[s], r);
        if (p->sock >= 0) {
            close(p->sock);
            p->sock = -1;
        }
    }
    if (!job->ending)
        job->result = job->procs[0].fin_code & 0xff;
    return job->result;
}
