/*
 * ternrun, the local launcher: private declarations shared by its source files.
 *
 *   ternrun_main.c    command line, help, start and end of the run
 *   ternrun_launch.c  forking the processes with their environment
 *   ternrun_serve.c   the poll loop: child exits, signals, deadlines, ending rules
 *   ternrun_proto.c   frames from the processes: validation, key-value store, fences
 *   ternrun_kv.c      the key-value store
 *   ternrun_output.c  --tag-output line prefixing
 *   ternrun_util.c    messages, clock, job id, /dev/shm clean-up
 */
#ifndef TERN_TOOLS_TERNRUN_H
#define TERN_TOOLS_TERNRUN_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <sys/types.h>

#define TR_MAX_PROCS 4096
/* How long killed processes get to exit after SIGTERM before SIGKILL. */
#define TR_KILL_GRACE 2.0
/* How long a process that closed its socket without finalizing may live on. */
#define TR_EOF_GRACE 1.0
/* Once one process has finalized, how long the others get to exit by default. */
#define TR_EXIT_GRACE 5.0
/* Added to it before anything is killed: the PEs that did stop leave after the grace. */
#define TR_EXIT_MARGIN 1.0
/* Stop reading requests from a process that does not read its replies. */
#define TR_OUT_HIGH (1u << 20)

/* One child's stdout or stderr under --tag-output. */
typedef struct {
    int fd;      /* read end of the pipe, -1 once closed */
    int out_fd;  /* where tagged lines go: 1 or 2 */
    char *buf;   /* the start of a line not yet complete */
    size_t len, cap;
    int midline; /* part of an over-long line went out already: its rest gets no prefix */
} tr_stream_t;

typedef struct {
    pid_t pid;  /* 0 until launched */
    int sock;   /* ternrun's end of the socketpair, -1 once closed */
    unsigned char *in; /* bytes received, not yet a whole frame */
    size_t in_len, in_cap;
    unsigned char *out; /* replies not yet written */
    size_t out_off, out_len, out_cap;
    int hello, fenced, finalized, aborted;
    int32_t fin_code;
    int exited;
    int status; /* from waitpid, once exited */
    double eof_deadline; /* > 0: the socket closed before FINALIZE */
    tr_stream_t stream[2];
} tr_proc_t;

typedef struct tr_kv tr_kv_t;

typedef struct {
    /* options */
    int n;
    double timeout; /* seconds; 0: none */
    double exit_grace; /* seconds the others get once one has finalized; 0: no limit */
    int tag_output;
    int verbose;
    char **argv; /* the program and its arguments */

    /* state */
    char jobid[32];
    tr_proc_t *procs;
    tr_kv_t *kv;
    int sigfd;
    int launched; /* processes forked */
    int live;     /* processes forked and not yet reaped */
    int nfenced;
    int nfinalized;
    int ending; /* the result is decided; the processes are being stopped */
    int result;
    int abort_rank;      /* the PE whose ABORT decided the result, or -1 */
    int abort_waiting;   /* an ABORT came: exits of aborting PEs wait to be judged */
    int killed_hard;     /* SIGKILL sent */
    double kill_deadline; /* ending: when SIGTERM turns into SIGKILL (or give up) */
    double timeout_deadline; /* 0: none */
    int exit_decided;     /* PE 0 said EXITING, or a process finalized */
    double exit_deadline; /* > 0: the exit is decided; every process must be gone by then */
    int exit_code;        /* the job's, from EXITING or the first FINALIZE */
    struct pollfd *pfd;      /* room for every descriptor polled: 1 + 3 per process */
    int *pfd_tag;            /* what each pfd entry is: see ternrun_serve.c */
} tr_job_t;

/* ternrun_util.c */
void tr_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Join the PEs' timeline parts into TERN_TRACE's file (ternrun_trace.c). */
void tr_trace_join(int npes);
double tr_now(void);
void tr_make_jobid(char *buf, size_t cap);
/* Remove what the job left in /dev/shm: Tern's objects of this job id, and the files
 * libfabric's shm provider names after the pid of a process (left when it was killed). */
void tr_shm_cleanup(const char *jobid, const pid_t *pids, int npids);
int tr_set_nonblock(int fd);

/* ternrun_kv.c: values per (rank, key); put replaces. */
tr_kv_t *tr_kv_new(void);
void tr_kv_free(tr_kv_t *kv);
int tr_kv_put(tr_kv_t *kv, int rank, const char *key, const void *val, size_t len);
const void *tr_kv_get(const tr_kv_t *kv, int rank, const char *key, size_t *len);

/* ternrun_output.c */
int tr_stream_open(tr_stream_t *s, int out_fd, int *child_fd);
/* Read what is there; returns 1 at end of file (then the stream is closed). */
int tr_stream_read(tr_stream_t *s, int rank);
/* Take what is left without waiting, write the last partial line, close. */
void tr_stream_finish(tr_stream_t *s, int rank);

/* ternrun_launch.c: fork and exec every process. Returns 0, or the exit code the job must
 * end with (the job is then already ending). */
int tr_launch(tr_job_t *job);

/* ternrun_serve.c */
/* Decide the job's result and start stopping processes (all but `spare`, which gets the
 * grace period to exit by itself). Only the first call counts. */
void tr_end(tr_job_t *job, int result, int spare);
/* Run until every launched process is reaped; returns the job's exit code. */
int tr_serve(tr_job_t *job);
/* Collect and judge the processes that have exited, without waiting. */
void tr_reap(tr_job_t *job);

/* ternrun_proto.c */
/* Read from a process's socket and handle complete frames; `draining`: the process is
 * dead, read until nothing is left. */
void tr_proto_read(tr_job_t *job, int rank, int draining);
/* Write queued replies as far as the socket takes them. */
void tr_proto_flush(tr_job_t *job, int rank);
/* Release a fence if every process still taking part has reached it. */
void tr_proto_check_fence(tr_job_t *job);

#endif
