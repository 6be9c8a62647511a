/*
 * Bootstrap through the PMI-2 API: for processes started by srun --mpi=pmi2 (Slurm's
 * libpmi2) or by Cray's aprun and Cray's own srun (Cray PMI, which implements the same
 * calls). Rank and size come from PMI2_Init, the job's name from PMI2_Job_GetId, the
 * process mapping from the job attribute PMI_process_mapping; values go through
 * PMI2_KVS_Put / PMI2_KVS_Fence / PMI2_KVS_Get (boot_pmi.c makes text and chunks of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pmi2.h>

#include "transports/boot_pmi.h"
#include "util/log.h"

static const char *pmi2_error(int rc)
{
    switch (rc) {
    case PMI2_FAIL: return "failed";
    case PMI2_ERR_INIT: return "PMI not initialized";
    case PMI2_ERR_NOMEM: return "buffer too small";
    case PMI2_ERR_INVALID_ARG: return "invalid argument";
    case PMI2_ERR_INVALID_KEY: return "invalid key";
    case PMI2_ERR_INVALID_KEY_LENGTH: return "key too long";
    case PMI2_ERR_INVALID_VAL: return "invalid value";
    case PMI2_ERR_INVALID_VAL_LENGTH: return "value too long";
    case PMI2_ERR_INVALID_LENGTH: return "invalid length";
    case PMI2_ERR_OTHER: return "other error";
    default: return "error";
    }
}

static tern_status_t p2_put(boot_pmi_t *p, const char *key, const char *val)
{
    (void)p;
    int rc = PMI2_KVS_Put(key, val);
    if (rc != PMI2_SUCCESS) {
        util_log_error("boot: PMI2_KVS_Put('%s', %zu characters): %s (%d)", key, strlen(val),
                       pmi2_error(rc), rc);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t p2_fence(boot_pmi_t *p)
{
    (void)p;
    int rc = PMI2_KVS_Fence();
    if (rc != PMI2_SUCCESS) {
        util_log_error("boot: PMI2_KVS_Fence: %s (%d)", pmi2_error(rc), rc);
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t p2_get(boot_pmi_t *p, int rank, const char *key, char *val, size_t cap)
{
    (void)p;
    int len = 0;
    /* Slurm answers a key nobody put with an error, not a distinct status: everything Tern
     * reads was put before the fence, so a failure here is "not there" to the caller,
     * which reports it in its own words (the code is logged at TERN_VERBOSE=2). */
    int rc = PMI2_KVS_Get(NULL, rank, key, val, (int)cap, &len);
    if (rc != PMI2_SUCCESS) {
        util_log_info(2, "boot: PMI2_KVS_Get('%s' of rank %d): %s (%d)", key, rank,
                      pmi2_error(rc), rc);
        return TERN_ERR_NOT_FOUND;
    }
    if (len < 0 || (size_t)len >= cap) { /* negative: the length it would need */
        util_log_error("boot: PMI2_KVS_Get('%s'): value longer than %zu characters", key,
                       cap - 1);
        return TERN_ERR_IO;
    }
    val[len] = 0;
    return TERN_OK;
}

static tern_status_t p2_attr(boot_pmi_t *p, const char *name, char *val, size_t cap)
{
    (void)p;
    int found = 0;
    int rc = PMI2_Info_GetJobAttr(name, val, (int)cap, &found);
    if (rc != PMI2_SUCCESS) {
        /* Not "absent": one process falling back to swapping host names while the others
         * use the mapping would pair their fences wrongly. */
        util_log_error("boot: PMI2_Info_GetJobAttr('%s'): %s (%d)", name, pmi2_error(rc), rc);
        return TERN_ERR_IO;
    }
    if (!found)
        return TERN_ERR_NOT_FOUND;
    val[cap - 1] = 0;
    return TERN_OK;
}

static int abort_code = 1;

static void leave_with_code(void)
{
    _exit(abort_code);
}

static void p2_abort(boot_pmi_t *p, const char *msg, int exit_code)
{
    (void)p;
    /* Slurm's PMI2_Abort ends the process itself, with exit(1): a handler registered now
     * runs first among the atexit handlers and leaves at once with the job's code, as the
     * caller would have (no library teardown in a failing process). flag 1: the whole
     * job. If PMI2_Abort returns (another implementation), the caller exits. */
    abort_code = exit_code;
    atexit(leave_with_code);
    PMI2_Abort(1, msg ? msg : "tern: job aborted");
}

static void p2_finalize(boot_pmi_t *p)
{
    (void)p;
    PMI2_Finalize();
}

static const boot_pmi_ops_t pmi2_ops = {
    .name = "pmi2",
    .what = "PMI-2",
    .put = p2_put,
    .fence = p2_fence,
    .get = p2_get,
    .attr = p2_attr,
    .abort = p2_abort,
    .finalize = p2_finalize,
};

tern_status_t boot_pmi2_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    boot_pmi_t *p = calloc(1, sizeof *p);
    if (!p)
        return TERN_ERR_NOMEM;
    int spawned = 0, size = 0, rank = -1, appnum = 0;
    int rc = PMI2_Init(&spawned, &size, &rank, &appnum);
    if (rc != PMI2_SUCCESS) {
        const char *fd = getenv("PMI_FD"), *job = getenv("PMI_JOBID");
        util_log_error("boot: PMI2_Init%s%s%s%s: %s (%d): the launcher's PMI-2 server cannot "
                       "be reached", fd ? " with PMI_FD=" : "", fd ? fd : "",
                       job ? " in job " : "", job ? job : "", pmi2_error(rc), rc);
        free(p);
        return TERN_ERR_IO;
    }
    p->pmi = &pmi2_ops;
    tern_status_t st = TERN_ERR_IO;
    if (size < 1 || size > 1 << 24 || rank < 0 || rank >= size) {
        util_log_error("boot: PMI2_Init says rank %d of a job of %d processes: not a rank of "
                       "the job, or more than 2^24 processes", rank, size);
        goto err;
    }
    char job[256];
    rc = PMI2_Job_GetId(job, (int)sizeof job);
    if (rc != PMI2_SUCCESS) {
        const char *fd = getenv("PMI_FD");
        util_log_error("boot: PMI2_Job_GetId: %s (%d)%s", pmi2_error(rc), rc,
                       fd && *fd ? "" : "; PMI_FD is not set: was this process started by a "
                                        "PMI-2 launcher (srun --mpi=pmi2, aprun)?");
        goto err;
    }
    job[sizeof job - 1] = 0;
    p->pub.rank = rank;
    p->pub.size = size;
    p->key_max = PMI2_MAX_KEYLEN - 1;
    p->val_max = PMI2_MAX_VALLEN - 1;
    st = boot_pmi_start(p, job, 'j');
    if (st == TERN_OK) {
        *out = &p->pub;
        return TERN_OK;
    }
err:
    /* The others are past PMI2_Init too: finalizing would leave them waiting in a fence
     * (Slurm's pmi2 plugin does not end a step whose process finalized); end the job. */
    p2_abort(p, "tern: start-up failed", 1);
    boot_pmi_free(p);
    return st;
}
