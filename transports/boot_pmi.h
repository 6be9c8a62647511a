/*
 * The PMI bootstraps: PMI-2 (boot_pmi2.c, over the PMI-2 library of Slurm's srun --mpi=pmi2
 * or of Cray's PMI under aprun) and PMI-1 (boot_pmi1.c, the simple PMI wire protocol of
 * MPICH's Hydra mpiexec, spoken directly). Both give a job-wide space of text keys and
 * values with a fence; this layer (boot_pmi.c) builds the boot_t on top of that, once for
 * both:
 *
 *   - Tern's values are bytes of up to BOOT_VAL_MAX; PMI values are text of at most
 *     val_max characters (1024 in both protocols). A value is written in a 64-letter
 *     alphabet ([A-Za-z0-9-_], no character either protocol treats specially) and, when
 *     longer than one PMI value, cut into chunks:
 *         "<key>:<rank>"    "<bytes>:<chunks>:" then the first part of the text
 *         "<key>:<rank>:<i>" the i-th further part, i = 1 .. chunks-1
 *     PMI keys are job-wide, so the putting rank is part of the key.
 *   - Locality comes from the job's process mapping attribute (PMI_process_mapping: the
 *     vector notation "(vector,(first node,nodes,processes per node),...)", repeated from
 *     the start when it covers fewer ranks than the job has). Without one, the processes
 *     swap host names through the key-value space.
 *   - The job id is derived from the launcher's job or key-value space name.
 */
#ifndef TERN_TRANSPORTS_BOOT_PMI_H
#define TERN_TRANSPORTS_BOOT_PMI_H

#include <stddef.h>

#include "transports/boot.h"

typedef struct boot_pmi boot_pmi_t;

/* What a PMI flavour does; statuses are TERN_* and errors are already logged. */
typedef struct boot_pmi_ops {
    const char *name; /* "pmi1", "pmi2": the bootstrap's name (TERN_BOOT) */
    const char *what; /* "PMI-1", "PMI-2": for messages */
    tern_status_t (*put)(boot_pmi_t *p, const char *key, const char *val);
    tern_status_t (*fence)(boot_pmi_t *p);
    /* A value another process put, into val (capacity cap, NUL-terminated);
     * TERN_ERR_NOT_FOUND when nobody put it. `rank` is a hint. */
    tern_status_t (*get)(boot_pmi_t *p, int rank, const char *key, char *val, size_t cap);
    /* A job attribute from the launcher (PMI_process_mapping); TERN_ERR_NOT_FOUND if none. */
    tern_status_t (*attr)(boot_pmi_t *p, const char *name, char *val, size_t cap);
    /* The job must end (abort: the launcher ends every process, and the job fails with
     * exit_code) or this process leaves (finalize); each releases the flavour's own state
     * but not p, which the common layer frees. */
    void (*abort)(boot_pmi_t *p, const char *msg, int exit_code);
    void (*finalize)(boot_pmi_t *p);
} boot_pmi_ops_t;

struct boot_pmi {
    boot_t pub; /* first: boot_t * and this struct's address are the same */
    const boot_pmi_ops_t *pmi;
    size_t key_max; /* longest PMI key, in characters */
    size_t val_max; /* longest PMI value, in characters */
    char *buf;      /* val_max + 1 characters for one PMI value */
    boot_ops_t ops; /* what pub.ops points to: the operations below, named after pmi */
};

/*
 * Finish a bootstrap whose flavour has set pub.rank, pub.size, pmi, key_max and val_max
 * (p being the head of the flavour's larger struct, allocated with malloc): the
 * operations, the value buffer, locality, host, and the job id from the launcher's
 * `job_name`, `tag` being its first letter. On error the caller calls p->pmi->finalize
 * and then boot_pmi_free(p).
 */
tern_status_t boot_pmi_start(boot_pmi_t *p, const char *job_name, char tag);
void boot_pmi_free(boot_pmi_t *p);

/* ---- pure helpers (unit-tested in tests/unit/test_pmi.c) ---- */

/*
 * Place `rank` of a job of `size` by the process mapping `map`: its node, its rank among
 * the ranks of that node and their number. Returns 0, or -1 when `map` is not the vector
 * notation or names no process.
 */
int boot_pmi_map(const char *map, int size, int rank, int *node, int *local_rank,
                 int *local_size);

/* Characters of the text of n bytes (4 per 3 bytes, none for padding). */
size_t boot_pmi_text_len(size_t n);
/* Write the text of n bytes into out (boot_pmi_text_len(n) characters, no NUL). */
void boot_pmi_encode(const void *in, size_t n, char *out);
/* Read `chars` characters of text back into n = bytes; -1 if not text of n bytes. */
int boot_pmi_decode(const char *in, size_t chars, void *out, size_t n);

#endif
