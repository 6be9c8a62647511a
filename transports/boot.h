/*
 * Bootstrap: what a process needs before any transport is up — its rank, the job's size,
 * who shares its host, a job id, and a key-value exchange that transports use to swap
 * addresses (put, fence, get). It also carries the launcher-facing ends of the job:
 * abort and normal finalization.
 *
 * Implementations: PMIx (boot_pmix.c, for srun --mpi=pmix, mpirun and other PMIx-aware
 * launchers), PMI-2 (boot_pmi2.c: srun --mpi=pmi2, Cray's aprun), PMI-1 (boot_pmi1.c:
 * MPICH's Hydra mpiexec), both over boot_pmi.c, ternrun's own (boot_ternrun.c) and a
 * 1-process one for programs started without a launcher (boot_single.c).
 */
#ifndef TERN_TRANSPORTS_BOOT_H
#define TERN_TRANSPORTS_BOOT_H

#include <stddef.h>

#include <tern/tern.h>

typedef struct boot boot_t;

typedef struct boot_ops {
    size_t size; /* sizeof(boot_ops_t): lets later versions add slots */
    const char *name;
    /* Stage key=value for this rank; visible to others after commit and the next fence. */
    tern_status_t (*put)(boot_t *b, const char *key, const void *val, size_t len);
    /* Hand the puts staged so far to the launcher (PMIx sends them in one batch). */
    tern_status_t (*commit)(boot_t *b);
    /* Collective over all ranks: returns once every rank's committed puts are visible.
     * Commits what is still staged first, so a forgotten commit costs nothing but time. */
    tern_status_t (*fence)(boot_t *b);
    /* Read `key` of `rank` into buf (capacity cap); *len_out gets the value's length.
     * TERN_ERR_NOT_FOUND if absent, TERN_ERR_RANGE if cap is too small. */
    tern_status_t (*get)(boot_t *b, int rank, const char *key, void *buf, size_t cap,
                         size_t *len_out);
    /* Tell the launcher the job must end now because of this process (message already
     * printed by the caller). Usually returns, and the caller then exits; a PMI-2 library
     * may end the process itself (Slurm's exits; Tern makes it leave with exit code 1). */
    void (*abort)(boot_t *b, const char *msg);
    /* This process is leaving normally with `exit_code`; releases everything. */
    void (*finalize)(boot_t *b, int exit_code);
    /* Optional (NULL: nothing to say): the job's exit is decided, with `exit_code` (PE 0,
     * once), so that the launcher may end processes that do not stop in time. */
    void (*exiting)(boot_t *b, int exit_code);
} boot_ops_t;

struct boot {
    const boot_ops_t *ops;
    int rank;
    int size;
    int local_rank; /* rank among the processes of this host */
    int local_size; /* processes on this host */
    char jobid[64]; /* unique per job; names shared-memory objects */
    char host[64];  /* this process's host (the launcher's name under PMIx, the kernel's
                     * otherwise); equal strings = one host */
    int left_behind; /* set by the core before finalize: tern_exit left PEs that did not
                      * stop, which the launcher must end (PMI-1 and PMI-2 abort the job,
                      * PMIx does when the exit code is 0) */
};

/*
 * Open the bootstrap that fits the environment: TERN_BOOT forces one ("ternrun", "pmix",
 * "pmi2", "pmi1", "single"); otherwise, in this order: TERN_BOOT_FD means ternrun, a PMIx
 * server's variables mean PMIx, a PMI-2 launcher's (PMI_FD with PMI_JOBID from Slurm,
 * ALPS_APP_PE or PALS_RANKID from Cray) PMI-2, a PMI-1 launcher's (PMI_FD with PMI_RANK,
 * or PMI_PORT with PMI_ID) PMI-1, and nothing a 1-process job. srun's variables without
 * any of these are an error: N unrelated 1-process jobs are never what was meant.
 */
tern_status_t boot_open(boot_t **out);

/* Implementations, used by boot_open(). */
tern_status_t boot_ternrun_open(boot_t **out);
tern_status_t boot_single_open(boot_t **out);
tern_status_t boot_pmix_open(boot_t **out); /* in builds with PMIx only */
tern_status_t boot_pmi2_open(boot_t **out); /* in builds with a PMI-2 library only */
tern_status_t boot_pmi1_open(boot_t **out);

/* The kernel's name of this host, for bootstraps whose launcher names none. */
void boot_default_host(char *buf, size_t cap);

/* A decimal from the environment variable `name` within [lo, hi] into *out; 0, or -1
 * (logged, naming the variable and, when it is unset, the `launcher` that sets it). */
int boot_env_int(const char *name, long lo, long hi, const char *launcher, int *out);

/*
 * A job id from the launcher's name of the job: `tag` (one letter a bootstrap owns: 'r'
 * ternrun, 's' a lone process, 'p' PMIx, 'j' PMI-2, 'k' PMI-1), then the name's first
 * letters and digits and a hash of all of it. Shared-memory objects are named after it:
 * short, of safe characters, distinct between bootstraps.
 */
void boot_make_jobid(char tag, const char *name, char *out, size_t cap);

#endif
