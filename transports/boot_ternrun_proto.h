/*
 * Wire protocol between ternrun (the local launcher) and the processes it starts.
 *
 * Each process inherits one end of a private SOCK_STREAM socketpair; its number is in
 * TERN_BOOT_FD. Every frame is a boot_frame_t header followed by `len` bytes of body.
 * Requests go from the process to ternrun; only GET and FENCE are answered. Frames on one
 * socket are handled in order, so a PUT sent before a FENCE is stored before the fence
 * completes.
 *
 * Integers are in host byte order: both ends run on the same host. ternrun's rules: the
 * first frame is HELLO; after FINALIZE, and while a FENCE is unanswered, only ABORT may
 * follow; a process that sent FINALIZE no longer takes part in fences; ABORT bodies are at
 * most BOOT_VAL_MAX bytes; GET answers with what the target has put so far. A frame that
 * breaks these rules or the limits below is a protocol error that ends the job.
 *
 * Both ends include this header; nothing else is shared between them.
 */
#ifndef TERN_BOOT_TERNRUN_PROTO_H
#define TERN_BOOT_TERNRUN_PROTO_H

#include <stdint.h>

#define BOOT_PROTO_VERSION 1u
#define BOOT_KEY_MAX 64u            /* bytes, including the terminating NUL */
#define BOOT_VAL_MAX (64u * 1024u)  /* bytes */

typedef enum {
    /* process -> ternrun */
    BOOT_OP_HELLO = 1,    /* body: uint32 version, uint32 rank, int32 pid */
    BOOT_OP_PUT = 2,      /* body: key (NUL-terminated) then value bytes */
    BOOT_OP_FENCE = 3,    /* body: empty; answered by FENCE once every rank has fenced */
    BOOT_OP_GET = 4,      /* body: uint32 rank, then key (NUL-terminated) */
    BOOT_OP_ABORT = 5,    /* body: message text (not NUL-terminated); ternrun ends the job */
    BOOT_OP_FINALIZE = 6, /* body: int32 exit code; the process is about to exit normally */
    BOOT_OP_EXITING = 7,  /* body: int32 exit code; the job's exit is decided (PE 0) */
    /* ternrun -> process */
    BOOT_OP_GET_OK = 16,    /* body: value bytes */
    BOOT_OP_GET_NONE = 17,  /* body: empty; no such key for that rank (after the last fence) */
    BOOT_OP_FENCE_OK = 18,  /* body: empty */
} boot_op_t;

typedef struct {
    uint32_t op;  /* boot_op_t */
    uint32_t len; /* body length in bytes */
} boot_frame_t;

/*
 * Environment that ternrun sets for each process (also listed by `ternrun --help`):
 *   TERN_BOOT_FD      descriptor of the process's end of the socketpair
 *   TERN_RANK         rank of the process in the job, 0..TERN_SIZE-1
 *   TERN_SIZE         number of processes in the job
 *   TERN_LOCAL_RANK   rank among the processes on this host (same as TERN_RANK here)
 *   TERN_LOCAL_SIZE   number of processes on this host
 *   TERN_JOBID        job identifier: names shared-memory objects, unique per run
 */

#endif
