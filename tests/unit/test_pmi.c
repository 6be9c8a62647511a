/*
 * transports/boot_pmi: what the PMI-1 and PMI-2 bootstraps share without a launcher.
 *
 * The process mapping: the vector notation as Slurm and Hydra write it (one node, blocks,
 * several blocks, the cyclic repetition Hydra uses for round-robin placement), blanks, and
 * the strings that must be refused; every rank's node, local rank and local size compared
 * with a placement computed here independently. The text of bytes: every length 0..300
 * with random and extreme bytes round-trips, the text uses only the 64 letters, and
 * damaged text (a foreign letter, a wrong length, non-zero bits past the end) is refused.
 * The boot_t built over a fake PMI flavour (an in-memory key-value space with short
 * values, so that values go in many chunks): locality from the mapping and by host names
 * without one, puts and gets of every size up to the limit, the errors (too long, a small
 * buffer, a missing key, a damaged or missing chunk, a key too long for PMI), and a process
 * that left stuck PEs behind aborting the job with its exit code.
 */
#include "transports/boot_pmi.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "transports/boot_ternrun_proto.h" /* BOOT_VAL_MAX */

/* Ranks in order onto `nodes` (node ids), `ppn[i]` at a time, over and over: the
 * meaning of a mapping, written the plain way. */
static void place(int size, int nb, const int *first, const int *count, const int *ppn,
                  int *node_of)
{
    int r = 0;
    while (r < size)
        for (int b = 0; b < nb; b++)
            for (int k = 0; k < count[b]; k++)
                for (int j = 0; j < ppn[b] && r < size; j++)
                    node_of[r++] = first[b] + k;
}

static int check_map(const char *map, int size, int nb, const int *first, const int *count,
                     const int *ppn)
{
    int *node_of = malloc((size_t)size * sizeof *node_of);
    place(size, nb, first, count, ppn, node_of);
    int ok = 1;
    for (int r = 0; r < size && ok; r++) {
        int node = -1, lr = -1, ls = -1, below = 0, same = 0;
        for (int s = 0; s < size; s++)
            if (node_of[s] == node_of[r]) {
                same++;
                below += s < r;
            }
        ok &= CHECK_EQ(boot_pmi_map(map, size, r, &node, &lr, &ls), 0);
        ok &= CHECK_EQ(node, node_of[r]);
        ok &= CHECK_EQ(lr, below);
        ok &= CHECK_EQ(ls, same);
        if (!ok)
            fprintf(stderr, "  map %s, size %d, rank %d\n", map, size, r);
    }
    free(node_of);
    return ok;
}

static void test_map(void)
{
    /* srun -n 4 on one node; Hydra -n 4 on one host with one slot ((0,1,1) repeated). */
    check_map("(vector,(0,1,4))", 4, 1, (int[]){0}, (int[]){1}, (int[]){4});
    check_map("(vector,(0,1,1))", 4, 1, (int[]){0}, (int[]){1}, (int[]){1});
    /* srun -N 3 -n 6 block: 2 per node; -N 2 -n 5: 3 + 2. */
    check_map("(vector,(0,3,2))", 6, 1, (int[]){0}, (int[]){3}, (int[]){2});
    check_map("(vector,(0,1,3),(1,1,2))", 5, 2, (int[]){0, 1}, (int[]){1, 1}, (int[]){3, 2});
    /* cyclic over 3 nodes; a mapping not starting at node 0; blanks. */
    check_map("(vector,(0,3,1))", 7, 1, (int[]){0}, (int[]){3}, (int[]){1});
    check_map(" ( vector , (2,2,2) , (0,2,1) ) ", 9, 2, (int[]){2, 0}, (int[]){2, 2},
              (int[]){2, 1});
    /* a single process */
    check_map("(vector,(0,1,1))", 1, 1, (int[]){0}, (int[]){1}, (int[]){1});

    int n, lr, ls;
    static const char *const bad[] = {
        "",  "(vector)", "(vector,)", "(vector,(0,1))", "(vector,(0,0,4))", "(vector,(0,1,0))",
        "(vector,(-1,1,4))", "(vector,(0,1,4)", "(vector,(0,1,4))x", "(vectors,(0,1,4))",
        "(vector,(0,1,4),)", "(vector,(0,1,a))", "vector,(0,1,4)", "(vector,(0,1,99999999))",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!CHECK_EQ(boot_pmi_map(bad[i], 4, 0, &n, &lr, &ls), -1))
            fprintf(stderr, "  accepted '%s'\n", bad[i]);
    CHECK_EQ(boot_pmi_map(NULL, 4, 0, &n, &lr, &ls), -1);
    CHECK_EQ(boot_pmi_map("(vector,(0,1,4))", 4, 4, &n, &lr, &ls), -1);
    CHECK_EQ(boot_pmi_map("(vector,(0,1,4))", 4, -1, &n, &lr, &ls), -1);
    CHECK_EQ(boot_pmi_map("(vector,(0,1,4))", 0, 0, &n, &lr, &ls), -1);
}

static int is_letter(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

static void test_text(void)
{
    test_rng_t rng;
    rng_seed(&rng, 0x9e3779b97f4a7c15ull);
    unsigned char in[300], back[300];
    char text[401];
    for (size_t n = 0; n <= sizeof in; n++) {
        for (int pattern = 0; pattern < 3; pattern++) {
            for (size_t i = 0; i < n; i++)
                in[i] = pattern == 0 ? (unsigned char)rng_next(&rng)
                        : pattern == 1 ? 0xff : 0x00;
            size_t chars = boot_pmi_text_len(n);
            if (!CHECK_EQ(chars, (n * 4 + 2) / 3))
                return;
            memset(text, '#', sizeof text);
            boot_pmi_encode(in, n, text);
            int ok = CHECK_EQ(text[chars], '#'); /* nothing past the end */
            for (size_t i = 0; i < chars; i++)
                ok &= CHECK(is_letter(text[i]));
            memset(back, 0xa5, sizeof back);
            ok &= CHECK_EQ(boot_pmi_decode(text, chars, back, n), 0);
            ok &= CHECK(memcmp(in, back, n) == 0);
            if (n > 0) {
                /* wrong length, a foreign letter, a flipped last letter */
                ok &= CHECK_EQ(boot_pmi_decode(text, chars, back, n - 1), -1);
                ok &= CHECK_EQ(boot_pmi_decode(text, chars - 1, back, n), -1);
                char saved = text[chars / 2];
                text[chars / 2] = '=';
                ok &= CHECK_EQ(boot_pmi_decode(text, chars, back, n), -1);
                text[chars / 2] = saved;
            }
            if (n % 3) {
                /* the bits past the last byte are zero in the one right text */
                char saved = text[chars - 1];
                text[chars - 1] = saved == '_' ? 'A' : '_';
                int rc = boot_pmi_decode(text, chars, back, n);
                ok &= CHECK(rc == -1 || memcmp(in, back, n) != 0);
                text[chars - 1] = saved;
            }
            if (!ok) {
                fprintf(stderr, "  %zu bytes, pattern %d\n", n, pattern);
                return;
            }
        }
    }
    /* A known text: "Tern" -> 'T' 'e' 'r' 'n'. */
    boot_pmi_encode("Tern", 4, text);
    CHECK(memcmp(text, "VGVybg", 6) == 0);
}

/* Placements written out by hand: what the notation means, not how it is computed. */
static void test_map_literal(void)
{
    static const struct {
        const char *map;
        int size;
        int node[9];
    } cases[] = {
        {"(vector,(0,3,1))", 7, {0, 1, 2, 0, 1, 2, 0}},           /* cyclic, repeated */
        {"(vector,(0,2,2))", 6, {0, 0, 1, 1, 0, 0}},              /* blocks of 2, repeated */
        {"(vector,(0,1,3),(1,1,2))", 5, {0, 0, 0, 1, 1}},         /* srun -N 2 -n 5 */
        {"(vector,(1,2,1),(0,1,2))", 8, {1, 2, 0, 0, 1, 2, 0, 0}}, /* mixed, repeated */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int r = 0; r < cases[i].size; r++) {
            int node, lr, ls, below = 0, same = 0;
            for (int s = 0; s < cases[i].size; s++)
                if (cases[i].node[s] == cases[i].node[r]) {
                    same++;
                    below += s < r;
                }
            if (!CHECK_EQ(boot_pmi_map(cases[i].map, cases[i].size, r, &node, &lr, &ls), 0) ||
                !CHECK_EQ(node, cases[i].node[r]) || !CHECK_EQ(lr, below) ||
                !CHECK_EQ(ls, same))
                fprintf(stderr, "  map %s, rank %d\n", cases[i].map, r);
        }
    }
}

/* ---- a fake PMI flavour: one process's view of an in-memory key-value space ---- */

typedef struct {
    boot_pmi_t p; /* first */
    const char *mapping; /* NULL: none */
    int n, cap;
    char **keys, **vals;
    int fences;
} fake_t;

/* What the layer asked of the flavour at the end (the fake itself is freed by then). */
static int g_aborted, g_abort_code, g_finalized;

static int fake_find(fake_t *f, const char *key)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->keys[i], key) == 0)
            return i;
    return -1;
}

static tern_status_t fake_put(boot_pmi_t *p, const char *key, const char *val)
{
    fake_t *f = (fake_t *)p;
    CHECK(strlen(key) <= p->key_max);
    CHECK(strlen(val) <= p->val_max);
    CHECK(strpbrk(val, " =;\n") == NULL); /* nothing either protocol treats specially */
    int i = fake_find(f, key);
    if (i < 0) {
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 64;
            f->keys = realloc(f->keys, (size_t)f->cap * sizeof *f->keys);
            f->vals = realloc(f->vals, (size_t)f->cap * sizeof *f->vals);
        }
        i = f->n++;
        f->keys[i] = strdup(key);
        f->vals[i] = NULL;
    }
    free(f->vals[i]);
    f->vals[i] = strdup(val);
    return TERN_OK;
}

static tern_status_t fake_fence(boot_pmi_t *p)
{
    ((fake_t *)p)->fences++;
    return TERN_OK;
}

static tern_status_t fake_get(boot_pmi_t *p, int rank, const char *key, char *val, size_t cap)
{
    (void)rank;
    fake_t *f = (fake_t *)p;
    int i = fake_find(f, key);
    if (i < 0)
        return TERN_ERR_NOT_FOUND;
    if (strlen(f->vals[i]) >= cap)
        return TERN_ERR_IO;
    strcpy(val, f->vals[i]);
    return TERN_OK;
}

static tern_status_t fake_attr(boot_pmi_t *p, const char *name, char *val, size_t cap)
{
    fake_t *f = (fake_t *)p;
    if (strcmp(name, "PMI_process_mapping") != 0 || !f->mapping)
        return TERN_ERR_NOT_FOUND;
    snprintf(val, cap, "%s", f->mapping);
    return TERN_OK;
}

static void fake_abort(boot_pmi_t *p, const char *msg, int code)
{
    (void)p;
    (void)msg;
    g_aborted++;
    g_abort_code = code;
}

static void fake_finalize(boot_pmi_t *p)
{
    (void)p;
    g_finalized++;
}

static const boot_pmi_ops_t fake_ops = {
    .name = "fake", .what = "FAKE", .put = fake_put, .fence = fake_fence, .get = fake_get,
    .attr = fake_attr, .abort = fake_abort, .finalize = fake_finalize,
};

static fake_t *fake_open(int rank, int size, size_t val_max, const char *mapping)
{
    fake_t *f = calloc(1, sizeof *f);
    f->p.pmi = &fake_ops;
    f->p.pub.rank = rank;
    f->p.pub.size = size;
    f->p.key_max = 63;
    f->p.val_max = val_max;
    f->mapping = mapping;
    return f;
}

/* Ends the fake's life through the boot_t, which frees f itself; then its store. */
static void fake_close(fake_t *f, int code)
{
    char **keys = f->keys, **vals = f->vals;
    int n = f->n;
    g_aborted = g_finalized = 0;
    g_abort_code = -1;
    f->p.pub.ops->finalize(&f->p.pub, code);
    for (int i = 0; i < n; i++) {
        free(keys[i]);
        free(vals[i]);
    }
    free(keys);
    free(vals);
}

static void test_boot(void)
{
    /* Locality from the mapping: rank 2 of 4 placed 2 a node is the first of node 1. */
    fake_t *f = fake_open(2, 4, 40, "(vector,(0,2,2))");
    if (!CHECK_EQ(boot_pmi_start(&f->p, "job.7", 'x'), TERN_OK))
        return;
    boot_t *b = &f->p.pub;
    CHECK(strcmp(b->ops->name, "fake") == 0);
    CHECK_EQ(b->local_rank, 0);
    CHECK_EQ(b->local_size, 2);
    CHECK(strncmp(b->jobid, "xjob7x", 6) == 0);
    CHECK(b->host[0] != 0);
    CHECK_EQ(f->fences, 0); /* the mapping needs no exchange */

    /* Values of every size, in chunks of 16 letters (val_max 40 less the head's room). */
    test_rng_t rng;
    rng_seed(&rng, 42);
    static unsigned char in[BOOT_VAL_MAX + 1], out[BOOT_VAL_MAX + 1];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (unsigned char)rng_next(&rng);
    static const size_t sizes[] = {0, 1, 2, 3, 11, 12, 13, 100, 1000, 4097};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char key[32];
        snprintf(key, sizeof key, "k%zu", sizes[i]);
        size_t len = 12345;
        memset(out, 0, sizes[i] + 1);
        if (!CHECK_EQ(b->ops->put(b, key, in, sizes[i]), TERN_OK) ||
            !CHECK_EQ(b->ops->commit(b), TERN_OK) || !CHECK_EQ(b->ops->fence(b), TERN_OK) ||
            !CHECK_EQ(b->ops->get(b, 2, key, out, sizes[i], &len), TERN_OK) ||
            !CHECK_EQ(len, sizes[i]) || !CHECK(memcmp(in, out, sizes[i]) == 0))
            fprintf(stderr, "  %zu bytes\n", sizes[i]);
    }
    /* A value put again replaces the first (with fewer chunks now). */
    size_t len = 0;
    CHECK_EQ(b->ops->put(b, "k1000", in + 1, 20), TERN_OK);
    CHECK_EQ(b->ops->get(b, 2, "k1000", out, sizeof out, &len), TERN_OK);
    CHECK_EQ(len, 20);
    CHECK(memcmp(in + 1, out, 20) == 0);
    /* The limit: BOOT_VAL_MAX bytes go (with ordinary PMI values), one more does not. */
    fake_t *big = fake_open(0, 1, 1023, "(vector,(0,1,1))");
    if (CHECK_EQ(boot_pmi_start(&big->p, "big", 'x'), TERN_OK)) {
        boot_t *bb = &big->p.pub;
        CHECK_EQ(bb->ops->put(bb, "max", in, BOOT_VAL_MAX), TERN_OK);
        CHECK_EQ(bb->ops->get(bb, 0, "max", out, BOOT_VAL_MAX, &len), TERN_OK);
        CHECK_EQ(len, BOOT_VAL_MAX);
        CHECK(memcmp(in, out, BOOT_VAL_MAX) == 0);
        CHECK_EQ(bb->ops->put(bb, "over", in, BOOT_VAL_MAX + 1), TERN_ERR_INVALID);
        fake_close(big, 0);
        CHECK_EQ(g_finalized, 1);
        CHECK_EQ(g_aborted, 0);
    }

    /* Errors: a small buffer (the length still told), another rank's key nobody put, a
     * rank out of range, a key too long for PMI with its suffixes. */
    len = 0;
    CHECK_EQ(b->ops->get(b, 2, "k100", out, 99, &len), TERN_ERR_RANGE);
    CHECK_EQ(len, 100);
    CHECK_EQ(b->ops->get(b, 1, "k100", out, sizeof out, &len), TERN_ERR_NOT_FOUND);
    CHECK_EQ(b->ops->get(b, 4, "k100", out, sizeof out, &len), TERN_ERR_RANGE);
    char longkey[80];
    memset(longkey, 'a', 61);
    longkey[61] = 0; /* "aaa...:2" is 63 characters: fits; its chunk keys ":2:1" do not */
    CHECK_EQ(b->ops->put(b, longkey, in, 4), TERN_OK);
    CHECK_EQ(b->ops->get(b, 2, longkey, out, sizeof out, &len), TERN_OK);
    CHECK_EQ(b->ops->put(b, longkey, in, 100), TERN_ERR_INVALID);
    memset(longkey, 'a', 70);
    longkey[70] = 0;
    CHECK_EQ(b->ops->put(b, longkey, in, 4), TERN_ERR_INVALID);
    CHECK_EQ(b->ops->get(b, 2, longkey, out, sizeof out, &len), TERN_ERR_NOT_FOUND);

    /* Damage: a foreign letter in a later chunk; a later chunk gone; a head that lies. */
    CHECK_EQ(b->ops->put(b, "dmg", in, 1000), TERN_OK);
    int i = fake_find(f, "dmg:2:3");
    if (CHECK(i >= 0)) {
        char saved = f->vals[i][5];
        f->vals[i][5] = '*';
        CHECK_EQ(b->ops->get(b, 2, "dmg", out, sizeof out, &len), TERN_ERR_IO);
        f->vals[i][5] = saved;
        CHECK_EQ(b->ops->get(b, 2, "dmg", out, sizeof out, &len), TERN_OK);
        f->keys[i][0] = '#'; /* "dmg:2:3" no longer there */
        CHECK_EQ(b->ops->get(b, 2, "dmg", out, sizeof out, &len), TERN_ERR_IO);
        f->keys[i][0] = 'd';
        f->vals[i][strlen(f->vals[i]) - 1] = 0; /* a chunk one letter short */
        CHECK_EQ(b->ops->get(b, 2, "dmg", out, sizeof out, &len), TERN_ERR_IO);
    }
    i = fake_find(f, "k13:2");
    if (CHECK(i >= 0)) {
        f->vals[i][0] = '9'; /* "93:2:": 93 bytes would need 8 chunks of 16, not 2 */
        CHECK_EQ(b->ops->get(b, 2, "k13", out, sizeof out, &len), TERN_ERR_IO);
    }

    /* The end: a process leaving finalizes, whatever its code; one that tern_exit made
     * leave PEs behind aborts the job with its code. */
    fake_close(f, 0);
    CHECK_EQ(g_finalized, 1);
    CHECK_EQ(g_aborted, 0);
    for (int code = 0; code < 10; code += 9) {
        f = fake_open(0, 1, 40, "(vector,(0,1,1))");
        if (CHECK_EQ(boot_pmi_start(&f->p, "j", 'x'), TERN_OK)) {
            fake_close(f, code);
            CHECK_EQ(g_finalized, 1);
            CHECK_EQ(g_aborted, 0);
        }
        f = fake_open(0, 1, 40, "(vector,(0,1,1))");
        if (CHECK_EQ(boot_pmi_start(&f->p, "j", 'x'), TERN_OK)) {
            f->p.pub.left_behind = 1;
            fake_close(f, code);
            CHECK_EQ(g_finalized, 0);
            CHECK_EQ(g_aborted, 1);
            CHECK_EQ(g_abort_code, code);
        }
    }

    /* No mapping: the process tells its host and counts those equal to it (alone here);
     * a mapping that is not the vector notation: the same. */
    static const char *const none[] = {NULL, "(bogus)"};
    for (int k = 0; k < 2; k++) {
        f = fake_open(0, 1, 1023, none[k]);
        if (CHECK_EQ(boot_pmi_start(&f->p, "j", 'x'), TERN_OK)) {
            CHECK_EQ(f->fences, 1);
            CHECK_EQ(f->p.pub.local_rank, 0);
            CHECK_EQ(f->p.pub.local_size, 1);
            CHECK(fake_find(f, "tern.host:0") >= 0);
            fake_close(f, 0);
        }
    }
}

int main(void)
{
    check_start();
    test_map();
    test_map_literal();
    test_text();
    test_boot();
    return check_finish("pmi");
}
