/*
 * transports/boot_pmi: what the PMI-1 and PMI-2 bootstraps share without a launcher.
 *
 * The process mapping: the vector notation as Slurm and Hydra write it (one node, blocks,
 * several blocks, the cyclic repetition Hydra uses for round-robin placement), blanks, and
 * the strings that must be refused; every rank's node, local rank and local size compared
 * with a placement computed here independently. The text of bytes: every length 0..300
 * with random and extreme bytes round-trips, the text uses only the 64 letters, and
 * damaged text (a foreign letter, a wrong length, non-zero bits past the end) is refused.
 */
#include "transports/boot_pmi.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

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

int main(void)
{
    check_start();
    test_map();
    test_text();
    return check_finish("pmi");
}
