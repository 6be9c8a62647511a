/*
 * Bootstrap of a program started without a launcher: a job of one process. The key-value
 * store lives in the process; there is nobody to fence with.
 */
#include "transports/boot.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* Only for its limits: a program must not be able to put here what ternrun would refuse. */
#include "transports/boot_ternrun_proto.h"
#include "util/log.h"

typedef struct single_kv {
    struct single_kv *next;
    size_t len;
    void *val;
    char key[]; /* NUL-terminated */
} single_kv_t;

typedef struct {
    boot_t pub; /* first: boot_t * and this struct's address are the same */
    single_kv_t *kv; /* a handful of keys at most: a list will do */
} boot_single_t;

static single_kv_t *find(boot_single_t *bs, const char *key)
{
    for (single_kv_t *e = bs->kv; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static tern_status_t bs_put(boot_t *b, const char *key, const void *val, size_t len)
{
    boot_single_t *bs = (boot_single_t *)b;
    if (!key || (len && !val))
        return TERN_ERR_INVALID;
    size_t klen = strlen(key);
    if (klen + 1 > BOOT_KEY_MAX) {
        util_log_error("boot: key '%.16s...' is longer than %u bytes", key, BOOT_KEY_MAX - 1);
        return TERN_ERR_INVALID;
    }
    if (len > BOOT_VAL_MAX) {
        util_log_error("boot: value of '%s' is %zu bytes, more than %u", key, len,
                       BOOT_VAL_MAX);
        return TERN_ERR_INVALID;
    }
    void *copy = malloc(len ? len : 1);
    if (!copy)
        return TERN_ERR_NOMEM;
    if (len)
        memcpy(copy, val, len);
    single_kv_t *e = find(bs, key);
    if (!e) {
        e = malloc(sizeof *e + klen + 1);
        if (!e) {
            free(copy);
            return TERN_ERR_NOMEM;
        }
        memcpy(e->key, key, klen + 1);
        e->val = NULL;
        e->next = bs->kv;
        bs->kv = e;
    }
    free(e->val);
    e->val = copy;
    e->len = len;
    return TERN_OK;
}

static tern_status_t bs_commit(boot_t *b)
{
    (void)b; /* every put is already stored */
    return TERN_OK;
}

static tern_status_t bs_fence(boot_t *b)
{
    (void)b;
    return TERN_OK;
}

static tern_status_t bs_get(boot_t *b, int rank, const char *key, void *buf, size_t cap,
                            size_t *len_out)
{
    boot_single_t *bs = (boot_single_t *)b;
    if (!key || (cap && !buf))
        return TERN_ERR_INVALID;
    if (rank != 0)
        return TERN_ERR_RANGE;
    single_kv_t *e = find(bs, key);
    if (!e)
        return TERN_ERR_NOT_FOUND;
    if (len_out)
        *len_out = e->len;
    if (e->len > cap)
        return TERN_ERR_RANGE;
    if (e->len)
        memcpy(buf, e->val, e->len);
    return TERN_OK;
}

static void bs_free(boot_t *b)
{
    boot_single_t *bs = (boot_single_t *)b;
    single_kv_t *e = bs->kv;
    while (e) {
        single_kv_t *next = e->next;
        free(e->val);
        free(e);
        e = next;
    }
    free(bs);
}

static void bs_abort(boot_t *b, const char *msg)
{
    (void)msg; /* printed by the caller; no launcher to tell */
    bs_free(b);
}

static void bs_finalize(boot_t *b, int exit_code)
{
    (void)exit_code;
    bs_free(b);
}

static const boot_ops_t boot_single_ops = {
    .size = sizeof(boot_ops_t),
    .name = "single",
    .put = bs_put,
    .commit = bs_commit,
    .fence = bs_fence,
    .get = bs_get,
    .abort = bs_abort,
    .finalize = bs_finalize,
};

static uint32_t random32(void)
{
    uint32_t r;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r)
        return r;
    /* No entropy yet: the pid already separates live jobs, the clock successive ones. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)ts.tv_nsec ^ ((uint32_t)ts.tv_sec << 7);
}

tern_status_t boot_single_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    boot_single_t *bs = calloc(1, sizeof *bs);
    if (!bs) {
        *out = NULL;
        return TERN_ERR_NOMEM;
    }
    bs->pub.ops = &boot_single_ops;
    bs->pub.rank = 0;
    bs->pub.size = 1;
    bs->pub.local_rank = 0;
    bs->pub.local_size = 1;
    boot_default_host(bs->pub.host, sizeof bs->pub.host);
    /* Distinct from ternrun's ids ('r'), so the two can never collide in /dev/shm. */
    snprintf(bs->pub.jobid, sizeof bs->pub.jobid, "s%ldx%08x", (long)getpid(),
             (unsigned)random32());
    *out = &bs->pub;
    return TERN_OK;
}
