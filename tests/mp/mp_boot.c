/*
 * The bootstrap's key-value exchange itself, under whatever launcher started the process
 * (ternrun, mpirun, srun --mpi=pmix or pmi2, Hydra): every rank puts values of sizes from
 * empty to the 64-KiB limit, filled from its rank and the size, fences, and reads every
 * rank's back, byte for byte; a key nobody put is absent, a short buffer is refused with
 * the length told. Under PMI-1 and PMI-2 the large values travel in many chunks, through
 * the launcher's own server. Prints one line per rank and exits 0 when all of it held.
 *
 *     mpiexec.hydra -n 4 ./mp_boot
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/boot.h"
#include "transports/boot_ternrun_proto.h" /* BOOT_VAL_MAX */

static const size_t sizes[] = {0, 1, 700, 1500, 5000, BOOT_VAL_MAX};
#define NSIZES (sizeof sizes / sizeof sizes[0])

static void fill(unsigned char *buf, size_t n, int rank, size_t size)
{
    unsigned x = (unsigned)rank * 2654435761u + (unsigned)size;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
}

int main(void)
{
    boot_t *b = NULL;
    if (boot_open(&b) != TERN_OK) {
        fprintf(stderr, "mp_boot: boot_open failed\n");
        return 1;
    }
    int bad = 0;
    unsigned char *want = malloc(BOOT_VAL_MAX), *got = malloc(BOOT_VAL_MAX);
    char key[32];
    for (size_t i = 0; i < NSIZES; i++) {
        snprintf(key, sizeof key, "mp.%zu", sizes[i]);
        fill(want, sizes[i], b->rank, sizes[i]);
        if (b->ops->put(b, key, want, sizes[i]) != TERN_OK) {
            fprintf(stderr, "mp_boot: rank %d: put %s failed\n", b->rank, key);
            bad++;
        }
    }
    if (b->ops->commit(b) != TERN_OK || b->ops->fence(b) != TERN_OK) {
        fprintf(stderr, "mp_boot: rank %d: commit or fence failed\n", b->rank);
        b->ops->abort(b, "mp_boot: fence failed");
        return 1;
    }
    for (int r = 0; r < b->size; r++) {
        for (size_t i = 0; i < NSIZES; i++) {
            size_t len = 0;
            snprintf(key, sizeof key, "mp.%zu", sizes[i]);
            fill(want, sizes[i], r, sizes[i]);
            tern_status_t st = b->ops->get(b, r, key, got, BOOT_VAL_MAX, &len);
            if (st != TERN_OK || len != sizes[i] || memcmp(want, got, len) != 0) {
                fprintf(stderr, "mp_boot: rank %d: %s of rank %d: %s, %zu bytes (want %zu)%s\n",
                        b->rank, key, r, tern_strerror(st), len, sizes[i],
                        st == TERN_OK && len == sizes[i] ? ", other bytes" : "");
                bad++;
            }
        }
        size_t len = 0;
        if (b->ops->get(b, r, "mp.none", got, BOOT_VAL_MAX, &len) != TERN_ERR_NOT_FOUND) {
            fprintf(stderr, "mp_boot: rank %d: a key nobody put is there\n", b->rank);
            bad++;
        }
        if (b->ops->get(b, r, "mp.5000", got, 4999, &len) != TERN_ERR_RANGE || len != 5000) {
            fprintf(stderr, "mp_boot: rank %d: a short buffer for mp.5000 of rank %d: no "
                            "TERN_ERR_RANGE with 5000 bytes told\n", b->rank, r);
            bad++;
        }
    }
    /* Everyone done reading before anyone leaves (a server may drop a leaver's keys). */
    if (b->ops->fence(b) != TERN_OK)
        bad++;
    fprintf(stderr, "mp_boot: rank %d of %d (local %d of %d, host %s, bootstrap %s): %s\n", b->rank,
           b->size, b->local_rank, b->local_size, b->host, b->ops->name,
           bad ? "FAILED" : "ok");
    free(want);
    free(got);
    b->ops->finalize(b, bad ? 1 : 0);
    return bad ? 1 : 0;
}
