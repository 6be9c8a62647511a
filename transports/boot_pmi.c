/*
 * What the PMI-1 and PMI-2 bootstraps share (see boot_pmi.h): bytes as PMI text, values
 * in chunks, locality from the process mapping, the host and the job id.
 */
#include "transports/boot_pmi.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "transports/boot_ternrun_proto.h" /* BOOT_VAL_MAX: the same limit everywhere */
#include "util/log.h"

/* ---- text of bytes ---- */

static const char alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t boot_pmi_text_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

void boot_pmi_encode(const void *in, size_t n, char *out)
{
    const unsigned char *s = in;
    for (; n >= 3; n -= 3, s += 3, out += 4) {
        unsigned v = (unsigned)s[0] << 16 | (unsigned)s[1] << 8 | s[2];
        out[0] = alphabet[v >> 18];
        out[1] = alphabet[(v >> 12) & 63];
        out[2] = alphabet[(v >> 6) & 63];
        out[3] = alphabet[v & 63];
    }
    if (n) { /* 1 or 2 bytes left: 2 or 3 letters, the unused bits zero */
        unsigned v = (unsigned)s[0] << 16 | (n == 2 ? (unsigned)s[1] << 8 : 0);
        out[0] = alphabet[v >> 18];
        out[1] = alphabet[(v >> 12) & 63];
        if (n == 2)
            out[2] = alphabet[(v >> 6) & 63];
    }
}

static int letter(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '-' ? 62 : c == '_' ? 63 : -1;
}

int boot_pmi_decode(const char *in, size_t chars, void *out, size_t n)
{
    if (chars != boot_pmi_text_len(n))
        return -1;
    unsigned char *d = out;
    for (size_t i = 0; i < chars; i += 4) {
        size_t k = chars - i < 4 ? chars - i : 4; /* 4, or 2 or 3 at the end */
        unsigned v = 0;
        for (size_t j = 0; j < 4; j++) {
            int l = j < k ? letter(in[i + j]) : 0;
            if (l < 0)
                return -1;
            v = v << 6 | (unsigned)l;
        }
        /* The bits past the last byte must be zero: one text for each value. */
        if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
            return -1;
        *d++ = (unsigned char)(v >> 16);
        if (k > 2)
            *d++ = (unsigned char)(v >> 8);
        if (k > 3)
            *d++ = (unsigned char)v;
    }
    return 0;
}

/* ---- process mapping ---- */

/* Skips blanks, then expects `c`. */
static int expect(const char **s, char c)
{
    while (isspace((unsigned char)**s))
        (*s)++;
    if (**s != c)
        return -1;
    (*s)++;
    return 0;
}

static int number(const char **s, long lo, long *out)
{
    while (isspace((unsigned char)**s))
        (*s)++;
    if (!isdigit((unsigned char)**s))
        return -1;
    char *end;
    long v = strtol(*s, &end, 10);
    if (v < lo || v > 1L << 24)
        return -1;
    *s = end;
    *out = v;
    return 0;
}

int boot_pmi_map(const char *map, int size, int rank, int *node, int *local_rank,
                 int *local_size)
{
    if (!map || size < 1 || rank < 0 || rank >= size)
        return -1;
    /* A block is at least "(0,1,1)": no more blocks than a seventh of the text. */
    size_t most = strlen(map) / 7 + 1;
    long(*blocks)[3] = malloc(most * sizeof *blocks);
    long *node_of = malloc((size_t)size * sizeof *node_of);
    size_t nb = 0;
    int ok = blocks && node_of;
    const char *s = map;
    ok = ok && !expect(&s, '(') && !expect(&s, 'v') && strncmp(s, "ector", 5) == 0;
    s += ok ? 5 : 0;
    while (ok && expect(&s, ',') == 0) {
        if (nb == most) {
            ok = 0;
            break;
        }
        long *b = blocks[nb++];
        ok = !expect(&s, '(') && !number(&s, 0, &b[0]) && !expect(&s, ',') &&
             !number(&s, 1, &b[1]) && !expect(&s, ',') && !number(&s, 1, &b[2]) &&
             !expect(&s, ')');
    }
    ok = ok && nb > 0 && expect(&s, ')') == 0;
    while (ok && isspace((unsigned char)*s))
        s++;
    ok = ok && !*s;
    if (ok) {
        /* Hand out the ranks in order, block after block, from the start again when the
         * blocks are used up; then count the ranks on this rank's node. */
        int r = 0;
        while (r < size)
            for (size_t i = 0; i < nb && r < size; i++)
                for (long k = 0; k < blocks[i][1] && r < size; k++)
                    for (long j = 0; j < blocks[i][2] && r < size; j++)
                        node_of[r++] = blocks[i][0] + k;
        int below = 0, same = 0;
        for (r = 0; r < size; r++)
            if (node_of[r] == node_of[rank]) {
                same++;
                below += r < rank;
            }
        *node = (int)node_of[rank];
        *local_rank = below;
        *local_size = same;
    }
    free(blocks);
    free(node_of);
    return ok ? 0 : -1;
}

/* ---- values in chunks ---- */

/* Room for "<bytes>:<chunks>:" at the head of the first chunk. */
#define CHUNK_HEAD 24

static size_t chunk_chars(const boot_pmi_t *p)
{
    return p->val_max - CHUNK_HEAD;
}

/* The PMI key of part `chunk` of `key` of `rank`; -1 (logged when `say`) if too long. */
static int pmi_key(const boot_pmi_t *p, char *out, size_t cap, const char *key, int rank,
                   size_t chunk, int say)
{
    int n = chunk ? snprintf(out, cap, "%s:%d:%zu", key, rank, chunk)
                  : snprintf(out, cap, "%s:%d", key, rank);
    if (n < 0 || (size_t)n >= cap || (size_t)n > p->key_max) {
        if (say)
            util_log_error("boot: key '%s' of rank %d does not fit in a %s key (%zu "
                           "characters)", key, rank, p->pmi->what, p->key_max);
        return -1;
    }
    return 0;
}

static tern_status_t boot_pmi_put(boot_t *b, const char *key, const void *val, size_t len)
{
    boot_pmi_t *p = (boot_pmi_t *)b;
    if (!key || (len && !val))
        return TERN_ERR_INVALID;
    if (len > BOOT_VAL_MAX) {
        util_log_error("boot: value of '%s' is %zu bytes, more than %u", key, len,
                       BOOT_VAL_MAX);
        return TERN_ERR_INVALID;
    }
    size_t chars = boot_pmi_text_len(len), per = chunk_chars(p);
    size_t chunks = chars ? (chars + per - 1) / per : 1;
    char k[256];
    if (pmi_key(p, k, sizeof k, key, b->rank, chunks - 1, 1) != 0)
        return TERN_ERR_INVALID;
    char *text = malloc(chars + 1);
    if (!text)
        return TERN_ERR_NOMEM;
    boot_pmi_encode(val, len, text);
    tern_status_t st = TERN_OK;
    for (size_t c = 0; c < chunks && st == TERN_OK; c++) {
        size_t off = c * per, n = chars - off < per ? chars - off : per;
        int head = c ? 0 : snprintf(p->buf, CHUNK_HEAD, "%zu:%zu:", len, chunks);
        memcpy(p->buf + head, text + off, n);
        p->buf[head + n] = 0;
        pmi_key(p, k, sizeof k, key, b->rank, c, 0);
        st = p->pmi->put(p, k, p->buf);
    }
    free(text);
    return st;
}

static tern_status_t boot_pmi_commit(boot_t *b)
{
    (void)b; /* every put went to the launcher */
    return TERN_OK;
}

static tern_status_t boot_pmi_fence(boot_t *b)
{
    boot_pmi_t *p = (boot_pmi_t *)b;
    return p->pmi->fence(p);
}

static tern_status_t boot_pmi_get(boot_t *b, int rank, const char *key, void *buf,
                                  size_t cap, size_t *len_out)
{
    boot_pmi_t *p = (boot_pmi_t *)b;
    if (!key || (cap && !buf))
        return TERN_ERR_INVALID;
    if (rank < 0 || rank >= b->size)
        return TERN_ERR_RANGE;
    char k[256];
    if (pmi_key(p, k, sizeof k, key, rank, 0, 0) != 0)
        return TERN_ERR_NOT_FOUND; /* no such key can have been put */
    tern_status_t st = p->pmi->get(p, rank, k, p->buf, p->val_max + 1);
    if (st != TERN_OK)
        return st;
    size_t len, chunks;
    int head = -1;
    if (sscanf(p->buf, "%zu:%zu:%n", &len, &chunks, &head) != 2 || head < 0 ||
        len > BOOT_VAL_MAX || chunks < 1 ||
        chunks != (len ? (boot_pmi_text_len(len) + chunk_chars(p) - 1) / chunk_chars(p) : 1)) {
        util_log_error("boot: %s value '%s' is not one Tern put", p->pmi->what, k);
        return TERN_ERR_IO;
    }
    if (len_out)
        *len_out = len;
    if (len > cap)
        return TERN_ERR_RANGE;
    size_t chars = boot_pmi_text_len(len), have = strlen(p->buf + head);
    char *text = malloc(chars + 1);
    if (!text)
        return TERN_ERR_NOMEM;
    if (have > chars)
        have = chars + 1; /* too long: caught below */
    memcpy(text, p->buf + head, have);
    for (size_t c = 1; c < chunks && st == TERN_OK && have <= chars; c++) {
        pmi_key(p, k, sizeof k, key, rank, c, 0);
        st = p->pmi->get(p, rank, k, p->buf, p->val_max + 1);
        size_t n = st == TERN_OK ? strlen(p->buf) : 0;
        if (st == TERN_ERR_NOT_FOUND) { /* the first part promised it */
            util_log_error("boot: %s value '%s' of rank %d lacks its part %zu of %zu ('%s')",
                           p->pmi->what, key, rank, c, chunks, k);
            st = TERN_ERR_IO;
        }
        if (have + n > chars)
            n = chars + 1 - have;
        memcpy(text + have, p->buf, n);
        have += n;
    }
    if (st == TERN_OK && (have != chars || boot_pmi_decode(text, chars, buf, len) != 0)) {
        util_log_error("boot: %s value '%s' of rank %d is damaged", p->pmi->what, key, rank);
        st = TERN_ERR_IO;
    }
    free(text);
    return st;
}

void boot_pmi_free(boot_pmi_t *p)
{
    free(p->buf);
    free(p);
}

/*
 * Before an abort: what this process wrote to stderr last says why. Hydra's proxy reads
 * that pipe apart from the PMI socket and ends the job on the abort at once: give it a
 * moment to pass the text on first (seen lost under load without).
 */
static void let_output_out(void)
{
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static void boot_pmi_abort(boot_t *b, const char *msg)
{
    boot_pmi_t *p = (boot_pmi_t *)b;
    let_output_out();
    p->pmi->abort(p, msg, 1);
    boot_pmi_free(p);
}

/*
 * A process that tern_exit() made leave without PEs that did not stop (stuck in an entry
 * method) ends the job through the launcher: ternrun and PMIx servers end such a job, but
 * Hydra waits for every process once one has finalized, whatever its exit code, and so
 * does Slurm's pmi2 plugin unless the cluster kills on bad exit. Otherwise a normal
 * finalize: an abort would cut short the output of the other PEs, which are leaving too.
 */
static void boot_pmi_finalize(boot_t *b, int exit_code)
{
    boot_pmi_t *p = (boot_pmi_t *)b;
    if (b->left_behind) {
        let_output_out();
        p->pmi->abort(p, "tern: tern_exit left PEs that did not stop", exit_code);
    }
    else
        p->pmi->finalize(p);
    boot_pmi_free(p);
}

/* ---- start ---- */

#define HOST_KEY "tern.host"

/* No process mapping: every process tells its host, and counts those equal to its own. */
static tern_status_t local_from_hosts(boot_pmi_t *p)
{
    boot_t *b = &p->pub;
    tern_status_t st = boot_pmi_put(b, HOST_KEY, b->host, strlen(b->host) + 1);
    if (st == TERN_OK)
        st = boot_pmi_fence(b);
    int below = 0, same = 0;
    for (int r = 0; r < b->size && st == TERN_OK; r++) {
        char host[sizeof b->host];
        size_t len;
        st = boot_pmi_get(b, r, HOST_KEY, host, sizeof host, &len);
        if (st == TERN_OK && (len == 0 || host[len - 1] != 0))
            st = TERN_ERR_IO;
        if (st == TERN_OK && strcmp(host, b->host) == 0) {
            same++;
            below += r < b->rank;
        }
    }
    if (st != TERN_OK) {
        util_log_error("boot: %s gives no process mapping, and the host names of the "
                       "processes could not be swapped: %s", p->pmi->what, tern_strerror(st));
        return st;
    }
    b->local_rank = below;
    b->local_size = same;
    return TERN_OK;
}

tern_status_t boot_pmi_start(boot_pmi_t *p, const char *job_name, char tag)
{
    boot_t *b = &p->pub;
    p->ops = (boot_ops_t){.size = sizeof(boot_ops_t),
                          .name = p->pmi->name,
                          .put = boot_pmi_put,
                          .commit = boot_pmi_commit,
                          .fence = boot_pmi_fence,
                          .get = boot_pmi_get,
                          .abort = boot_pmi_abort,
                          .finalize = boot_pmi_finalize};
    b->ops = &p->ops;
    if (p->val_max <= CHUNK_HEAD + 4 || p->key_max < 16) {
        util_log_error("boot: %s allows keys of %zu and values of %zu characters: too short "
                       "for Tern", p->pmi->what, p->key_max, p->val_max);
        return TERN_ERR_UNSUPPORTED;
    }
    if (!(p->buf = malloc(p->val_max + 1))) {
        util_log_error("boot: no memory for a %s value", p->pmi->what);
        return TERN_ERR_NOMEM;
    }
    boot_default_host(b->host, sizeof b->host);
    boot_make_jobid(tag, job_name, b->jobid, sizeof b->jobid);
    int node;
    tern_status_t st = p->pmi->attr(p, "PMI_process_mapping", p->buf, p->val_max + 1);
    if (st == TERN_OK && boot_pmi_map(p->buf, b->size, b->rank, &node, &b->local_rank,
                                      &b->local_size) == 0)
        return TERN_OK;
    if (st == TERN_OK)
        util_log_info(1, "boot: %s's process mapping '%s' is not the vector notation; "
                      "finding the processes of each host by name", p->pmi->what, p->buf);
    else if (st == TERN_ERR_NOT_FOUND)
        util_log_info(1, "boot: %s gives no process mapping; finding the processes of each "
                      "host by name", p->pmi->what);
    else
        return st;
    return local_from_hosts(p);
}
