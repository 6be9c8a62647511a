/*
 * ternrun: start the processes of a Tern job on this host, serve their bootstrap
 * (transports/boot_ternrun_proto.h) and turn the way the job ends into one exit code.
 */
#include "tools/ternrun.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <tern/tern.h>

sigset_t tr_child_sigmask;
struct rlimit tr_child_nofile;

static void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void usage_error(const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    tr_msg("%s (see ternrun --help)", what);
    exit(2);
}

static void print_help(void)
{
    printf(
        "Usage: ternrun -n N [options] [--] program [args...]\n"
        "\n"
        "Start N processes of a Tern program on this host, connect them, and wait for\n"
        "the job to end.\n"
        "\n"
        "Options:\n"
        "  -n N, -np N      number of processes, 1 to %d (required)\n"
        "  --timeout SEC    end the job after SEC seconds (decimals allowed; 0, the\n"
        "                   default, means no limit); the exit code is then 124\n"
        "  --exit-grace SEC once a process has finalized (the job's exit is decided),\n"
        "                   how long the others get to exit before ternrun kills them,\n"
        "                   naming each; the job keeps its exit code (default %g; 0: no\n"
        "                   limit)\n"
        "  --tag-output     prefix each line the processes print with \"[<rank>] \"\n"
        "  -v, --verbose    print the pid of each process at start, and set\n"
        "                   TERN_VERBOSE=1 for the processes unless it is set already\n"
        "  -h, --help       print this help and exit\n"
        "  --version        print the version and exit\n"
        "  --               end of ternrun's options\n"
        "\n"
        "Exit code: rank 0's exit code when every process ends normally, or when those\n"
        "that did not are killed after the exit grace; 124 on timeout; 127 when the\n"
        "program cannot be run; 128+n when a process is killed by signal n or ternrun\n"
        "receives signal n; otherwise the code of the process that aborted or exited\n"
        "early (1 if it has none).\n"
        "\n"
        "Environment read by ternrun:\n"
        "  TERN_TIMEOUT     seconds, used when --timeout is not given\n"
        "  TERN_EXIT_GRACE  seconds, used when --exit-grace is not given\n"
        "\n"
        "Environment set for each process:\n"
        "  TERN_BOOT_FD     descriptor of the process's connection to ternrun\n"
        "  TERN_RANK        rank of the process in the job, 0..TERN_SIZE-1\n"
        "  TERN_SIZE        number of processes in the job\n"
        "  TERN_LOCAL_RANK  rank among the processes on this host (= TERN_RANK)\n"
        "  TERN_LOCAL_SIZE  number of processes on this host (= TERN_SIZE)\n"
        "  TERN_JOBID       job identifier, unique per run; names shared-memory objects\n"
        "\n"
        "Runtime options (environment):\n",
        TR_MAX_PROCS, TR_EXIT_GRACE);
    fflush(stdout);
    tern_options_print(stdout);
    fflush(stdout);
}

static int parse_n(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > TR_MAX_PROCS)
        usage_error("-n: '%s' is not a number of processes from 1 to %d", s, TR_MAX_PROCS);
    return (int)v;
}

static int parse_seconds(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < 0)
        return -1;
    *out = v;
    return 0;
}

/* Returns the index of the program in argv. */
static int parse_args(int argc, char **argv, tr_job_t *job)
{
    int have_timeout = 0, have_grace = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help();
            exit(0);
        }
        if (strcmp(a, "--version") == 0) {
            printf("ternrun (Tern) %d.%d.%d\n", TERN_VERSION_MAJOR, TERN_VERSION_MINOR,
                   TERN_VERSION_PATCH);
            exit(0);
        }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            job->verbose = 1;
        } else if (strcmp(a, "--tag-output") == 0) {
            job->tag_output = 1;
        } else if (strcmp(a, "-n") == 0 || strcmp(a, "-np") == 0 || strcmp(a, "--np") == 0) {
            if (++i >= argc)
                usage_error("%s needs a number of processes", a);
            job->n = parse_n(argv[i]);
        } else if (strncmp(a, "--np=", 5) == 0) {
            job->n = parse_n(a + 5);
        } else if (strncmp(a, "-n", 2) == 0 && a[2] >= '0' && a[2] <= '9') {
            job->n = parse_n(a + 2);
        } else if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
            if (a[9] == '=')
                val = a + 10;
            else if (++i < argc)
                val = argv[i];
            else
                usage_error("--timeout needs a number of seconds");
            if (parse_seconds(val, &job->timeout) != 0)
                usage_error("--timeout: '%s' is not a number of seconds", val);
            have_timeout = 1;
        } else if (strcmp(a, "--exit-grace") == 0 || strncmp(a, "--exit-grace=", 13) == 0) {
            if (a[12] == '=')
                val = a + 13;
            else if (++i < argc)
                val = argv[i];
            else
                usage_error("--exit-grace needs a number of seconds");
            if (parse_seconds(val, &job->exit_grace) != 0)
                usage_error("--exit-grace: '%s' is not a number of seconds", val);
            have_grace = 1;
        } else {
            usage_error("unknown option '%s'", a);
        }
    }
    if (job->n == 0)
        usage_error("missing -n N, the number of processes");
    if (i >= argc)
        usage_error("no program to run");
    const char *env = getenv("TERN_TIMEOUT");
    if (!have_timeout && env && *env && parse_seconds(env, &job->timeout) != 0)
        usage_error("TERN_TIMEOUT='%s' is not a number of seconds", env);
    env = getenv("TERN_EXIT_GRACE");
    if (!have_grace && env && *env && parse_seconds(env, &job->exit_grace) != 0)
        usage_error("TERN_EXIT_GRACE='%s' is not a number of seconds", env);
    return i;
}

/* Descriptors 0-2 must be taken before any socket or pipe is made, or a child's dup2 onto
 * stdout could land on one of them. */
static void hold_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            if (open("/dev/null", O_RDWR) < 0)
                break;
}

/* ternrun holds up to three descriptors per process; the processes get the old limit. */
static int raise_fd_limit(const tr_job_t *job)
{
    rlim_t need = (rlim_t)job->n * (job->tag_output ? 3 : 1) + 64;
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    tr_child_nofile = rl;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
            tr_msg("-n %d needs %lu open files but the limit is %lu", job->n,
                   (unsigned long)need, (unsigned long)rl.rlim_max);
            return -1;
        }
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            tr_msg("cannot raise the open-file limit to %lu: %s", (unsigned long)need,
                   strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Signals arrive through a signalfd, in the poll loop, instead of in handlers. */
static int setup_signals(tr_job_t *job)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, &tr_child_sigmask) != 0)
        return -1;
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill ternrun mid-job */
    job->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (job->sigfd < 0) {
        tr_msg("signalfd: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static void job_free(tr_job_t *job)
{
    if (job->procs) {
        for (int r = 0; r < job->n; r++) {
            free(job->procs[r].in);
            free(job->procs[r].out);
        }
    }
    free(job->procs);
    free(job->pfd);
    free(job->pfd_tag);
    tr_kv_free(job->kv);
    if (job->sigfd >= 0)
        close(job->sigfd);
}

int main(int argc, char **argv)
{
    tr_job_t job;
    memset(&job, 0, sizeof job);
    job.sigfd = -1;
    job.abort_rank = -1;
    job.exit_grace = TR_EXIT_GRACE;
    job.argv = argv + parse_args(argc, argv, &job);

    hold_std_fds();
    size_t npoll = 1 + 3 * (size_t)job.n;
    job.procs = calloc((size_t)job.n, sizeof *job.procs);
    job.pfd = calloc(npoll, sizeof *job.pfd);
    job.pfd_tag = calloc(npoll, sizeof *job.pfd_tag);
    job.kv = tr_kv_new();
    if (!job.procs || !job.pfd || !job.pfd_tag || !job.kv) {
        tr_msg("out of memory");
        job_free(&job);
        return 1;
    }
    for (int r = 0; r < job.n; r++) {
        job.procs[r].sock = -1;
        job.procs[r].stream[0].fd = job.procs[r].stream[1].fd = -1;
    }
    if (raise_fd_limit(&job) != 0 || setup_signals(&job) != 0) {
        job_free(&job);
        return 1;
    }
    tr_make_jobid(job.jobid, sizeof job.jobid);
    if (job.verbose)
        setenv("TERN_VERBOSE", "1", 0);
    if (job.timeout > 0)
        job.timeout_deadline = tr_now() + job.timeout;

    tr_launch(&job); /* a failure leaves the job ending: serving then reaps what started */
    int rc = tr_serve(&job);
    tr_trace_join(job.n);

    pid_t *pids = calloc((size_t)job.n, sizeof *pids);
    for (int r = 0; pids && r < job.n; r++)
        pids[r] = job.procs[r].pid;
    tr_shm_cleanup(job.jobid, pids, pids ? job.n : 0);
    free(pids);
    job_free(&job);
    return rc;
}
