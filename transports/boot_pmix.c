/*
 * Bootstrap through PMIx: for processes started by a PMIx-aware launcher (srun --mpi=pmix,
 * Open MPI's mpirun, prterun). Rank, size and locality come from the launcher's job data;
 * the key-value exchange is PMIx_Put / PMIx_Commit / PMIx_Fence (collecting the data) /
 * PMIx_Get.
 *
 * Locality is read from PMIX_LOCAL_PEERS (the ranks on this host) and PMIX_HOSTNAME, not
 * from node ids: launchers number nodes differently, and some give no node id of a peer.
 */
#include "transports/boot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pmix.h>

#include "util/log.h"

typedef struct {
    boot_t pub; /* first: boot_t * and this struct's address are the same */
    pmix_proc_t me;
    int dirty; /* puts since the last commit */
} boot_pmix_t;

/* An integer job or process attribute, whatever integer type the server chose for it. */
static int get_long(const pmix_proc_t *proc, const char *key, long *out)
{
    pmix_value_t *v = NULL;
    if (PMIx_Get(proc, key, NULL, 0, &v) != PMIX_SUCCESS || !v)
        return -1;
    int ok = 1;
    switch (v->type) {
    case PMIX_UINT32: *out = (long)v->data.uint32; break;
    case PMIX_UINT16: *out = (long)v->data.uint16; break;
    case PMIX_UINT64: *out = (long)v->data.uint64; break;
    case PMIX_INT: *out = (long)v->data.integer; break;
    case PMIX_INT32: *out = (long)v->data.int32; break;
    case PMIX_UINT: *out = (long)v->data.uint; break;
    case PMIX_PROC_RANK: *out = (long)v->data.rank; break;
    default: ok = 0;
    }
    PMIX_VALUE_RELEASE(v);
    return ok ? 0 : -1;
}

/* A string attribute copied into buf; -1 when absent or not a string. */
static int get_string(const pmix_proc_t *proc, const char *key, char *buf, size_t cap)
{
    pmix_value_t *v = NULL;
    if (PMIx_Get(proc, key, NULL, 0, &v) != PMIX_SUCCESS || !v)
        return -1;
    int ok = v->type == PMIX_STRING && v->data.string;
    if (ok)
        snprintf(buf, cap, "%s", v->data.string);
    PMIX_VALUE_RELEASE(v);
    return ok ? 0 : -1;
}

/*
 * This process's place among the processes of its host, from PMIX_LOCAL_PEERS (a
 * comma-separated list of ranks). Returns -1 when the launcher gave no such list.
 */
static int local_from_peers(boot_pmix_t *bp, int *lrank, int *lsize)
{
    pmix_proc_t job;
    PMIX_PROC_LOAD(&job, bp->me.nspace, PMIX_RANK_WILDCARD);
    pmix_value_t *v = NULL;
    if (PMIx_Get(&job, PMIX_LOCAL_PEERS, NULL, 0, &v) != PMIX_SUCCESS || !v)
        return -1;
    int ok = v->type == PMIX_STRING && v->data.string;
    int n = 0, below = 0, found = 0;
    for (const char *s = ok ? v->data.string : ""; ok && *s;) {
        char *end;
        long r = strtol(s, &end, 10);
        if (end == s) {
            ok = 0;
            break;
        }
        n++;
        below += r < (long)bp->me.rank;
        found |= r == (long)bp->me.rank;
        s = *end == ',' ? end + 1 : end;
    }
    PMIX_VALUE_RELEASE(v);
    if (!ok || !found)
        return -1;
    *lrank = below;
    *lsize = n;
    return 0;
}

static tern_status_t bp_put(boot_t *b, const char *key, const void *val, size_t len)
{
    boot_pmix_t *bp = (boot_pmix_t *)b;
    if (!key || (len && !val))
        return TERN_ERR_INVALID;
    if (strlen(key) >= PMIX_MAX_KEYLEN) {
        util_log_error("boot: key '%.16s...' is longer than %d bytes", key, PMIX_MAX_KEYLEN - 1);
        return TERN_ERR_INVALID;
    }
    pmix_value_t v;
    PMIX_VALUE_CONSTRUCT(&v);
    v.type = PMIX_BYTE_OBJECT;
    v.data.bo.bytes = (char *)val; /* PMIx_Put copies the value */
    v.data.bo.size = len;
    pmix_status_t rc = PMIx_Put(PMIX_GLOBAL, key, &v);
    if (rc != PMIX_SUCCESS) {
        util_log_error("boot: PMIx_Put('%s', %zu bytes): %s", key, len, PMIx_Error_string(rc));
        return TERN_ERR_IO;
    }
    bp->dirty = 1;
    return TERN_OK;
}

static tern_status_t bp_commit(boot_t *b)
{
    boot_pmix_t *bp = (boot_pmix_t *)b;
    if (!bp->dirty)
        return TERN_OK;
    pmix_status_t rc = PMIx_Commit();
    if (rc != PMIX_SUCCESS) {
        util_log_error("boot: PMIx_Commit: %s", PMIx_Error_string(rc));
        return TERN_ERR_IO;
    }
    bp->dirty = 0;
    return TERN_OK;
}

static tern_status_t bp_fence(boot_t *b)
{
    tern_status_t st = bp_commit(b);
    if (st != TERN_OK)
        return st;
    pmix_status_t rc;
    if (b->size == 1)
        return TERN_OK;
    /* Collect the data: afterwards every get is answered from this process's cache. */
    pmix_info_t info;
    bool collect = true;
    PMIX_INFO_LOAD(&info, PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
    rc = PMIx_Fence(NULL, 0, &info, 1);
    PMIX_INFO_DESTRUCT(&info);
    if (rc != PMIX_SUCCESS) {
        util_log_error("boot: PMIx_Fence: %s", PMIx_Error_string(rc));
        return TERN_ERR_IO;
    }
    return TERN_OK;
}

static tern_status_t bp_get(boot_t *b, int rank, const char *key, void *buf, size_t cap,
                            size_t *len_out)
{
    boot_pmix_t *bp = (boot_pmix_t *)b;
    if (!key || (cap && !buf))
        return TERN_ERR_INVALID;
    if (rank < 0 || rank >= b->size)
        return TERN_ERR_RANGE;
    if (strlen(key) >= PMIX_MAX_KEYLEN)
        return TERN_ERR_NOT_FOUND;
    pmix_proc_t peer;
    PMIX_PROC_LOAD(&peer, bp->me.nspace, (pmix_rank_t)rank);
    /* Optional: a key nobody put is an answer, not something to wait for. */
    pmix_info_t info;
    bool optional = true;
    PMIX_INFO_LOAD(&info, PMIX_OPTIONAL, &optional, PMIX_BOOL);
    pmix_value_t *v = NULL;
    pmix_status_t rc = PMIx_Get(&peer, key, &info, 1, &v);
    PMIX_INFO_DESTRUCT(&info);
    if (rc == PMIX_ERR_NOT_FOUND || (rc == PMIX_SUCCESS && !v))
        return TERN_ERR_NOT_FOUND;
    if (rc != PMIX_SUCCESS) {
        util_log_error("boot: PMIx_Get('%s' of rank %d): %s", key, rank, PMIx_Error_string(rc));
        return TERN_ERR_IO;
    }
    tern_status_t st = TERN_OK;
    if (v->type != PMIX_BYTE_OBJECT) {
        util_log_error("boot: '%s' of rank %d has PMIx type %d, not bytes", key, rank,
                       (int)v->type);
        st = TERN_ERR_IO;
    } else {
        if (len_out)
            *len_out = v->data.bo.size;
        if (v->data.bo.size > cap)
            st = TERN_ERR_RANGE;
        else if (v->data.bo.size)
            memcpy(buf, v->data.bo.bytes, v->data.bo.size);
    }
    PMIX_VALUE_RELEASE(v);
    return st;
}

static void bp_abort(boot_t *b, const char *msg)
{
    /* Ends every process of the namespace; the launcher reports it. PMIx_Abort may return
     * (when the server is gone, for one); the caller exits then. */
    PMIx_Abort(1, msg ? msg : "tern: job aborted", NULL, 0);
    free(b);
}

static void bp_finalize(boot_t *b, int exit_code)
{
    /* tern_exit left PEs behind that did not stop: mpirun and Slurm end the job when
     * this process exits non-zero, but with 0 they would wait for the stuck PE. */
    if (b->left_behind && exit_code == 0)
        PMIx_Abort(0, "tern: tern_exit left PEs that did not stop", NULL, 0);
    else
        PMIx_Finalize(NULL, 0); /* the launcher sees exit_code as the exit status */
    free(b);
}

static const boot_ops_t boot_pmix_ops = {
    .size = sizeof(boot_ops_t),
    .name = "pmix",
    .put = bp_put,
    .commit = bp_commit,
    .fence = bp_fence,
    .get = bp_get,
    .abort = bp_abort,
    .finalize = bp_finalize,
};

tern_status_t boot_pmix_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    boot_pmix_t *bp = calloc(1, sizeof *bp);
    if (!bp)
        return TERN_ERR_NOMEM;
    pmix_status_t rc = PMIx_Init(&bp->me, NULL, 0);
    /* No server to reach is fine for a process nobody launched (TERN_BOOT=pmix alone);
     * one that a launcher set up must not quietly become a job of its own. */
    const char *ns = getenv("PMIX_NAMESPACE");
    int alone = rc == PMIX_ERR_UNREACH && !(ns && *ns);
    if (rc != PMIX_SUCCESS && !alone) {
        util_log_error("boot: PMIx_Init%s%s: %s", ns && *ns ? " in namespace " : "",
                       ns && *ns ? ns : "", PMIx_Error_string(rc));
        PMIx_Finalize(NULL, 0);
        free(bp);
        return TERN_ERR_IO;
    }
    /* Unreachable server: PMIx still made this a singleton whose store works locally. */
    long size = 1, lrank = 0, lsize = 1;
    pmix_proc_t job;
    PMIX_PROC_LOAD(&job, bp->me.nspace, PMIX_RANK_WILDCARD);
    if (!alone && get_long(&job, PMIX_JOB_SIZE, &size) != 0) {
        util_log_error("boot: PMIx_Get(PMIX_JOB_SIZE) of namespace %s gives no job size",
                       bp->me.nspace);
        goto err_fini;
    }
    if (size < 1 || size > 1L << 24 || (long)bp->me.rank >= size) {
        util_log_error("boot: PMIx says rank %u of a job of %ld processes (namespace %s): "
                       "not a rank of the job, or more than 2^24 processes",
                       bp->me.rank, size, bp->me.nspace);
        goto err_fini;
    }
    int lr, ls;
    if (!alone && local_from_peers(bp, &lr, &ls) == 0) {
        lrank = lr;
        lsize = ls;
    } else if (!alone && (get_long(&bp->me, PMIX_LOCAL_RANK, &lrank) != 0 ||
                          get_long(&job, PMIX_LOCAL_SIZE, &lsize) != 0)) {
        util_log_error("boot: PMIx_Get gives neither PMIX_LOCAL_PEERS nor PMIX_LOCAL_RANK and "
                       "PMIX_LOCAL_SIZE for rank %u of namespace %s",
                       bp->me.rank, bp->me.nspace);
        goto err_fini;
    }
    bp->pub.ops = &boot_pmix_ops;
    bp->pub.rank = (int)bp->me.rank;
    bp->pub.size = (int)size;
    bp->pub.local_rank = (int)lrank;
    bp->pub.local_size = (int)lsize;
    boot_make_jobid('p', bp->me.nspace, bp->pub.jobid, sizeof bp->pub.jobid);
    if (alone || get_string(&bp->me, PMIX_HOSTNAME, bp->pub.host, sizeof bp->pub.host) != 0)
        boot_default_host(bp->pub.host, sizeof bp->pub.host);
    *out = &bp->pub;
    return TERN_OK;
err_fini:
    PMIx_Finalize(NULL, 0);
    free(bp);
    return TERN_ERR_IO;
}
