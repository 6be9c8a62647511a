/*
 * Which bootstrap a process uses (boot_open): forced by TERN_BOOT, or recognised from the
 * environment each launcher sets; the open calls of the bootstraps this build lacks say so.
 */
#include "transports/boot.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#ifdef TERN_HAVE_PMIX
#define HAVE_PMIX 1
#else
#define HAVE_PMIX 0
tern_status_t boot_pmix_open(boot_t **out)
{
    *out = NULL;
    util_log_error("boot: this build of Tern has no PMIx support (libpmix was not found when "
                   "it was built); rebuild with libpmix-dev installed, or start with ternrun");
    return TERN_ERR_UNSUPPORTED;
}
#endif

#ifdef TERN_HAVE_PMI2
#define HAVE_PMI2 1
#else
#define HAVE_PMI2 0
tern_status_t boot_pmi2_open(boot_t **out)
{
    *out = NULL;
    util_log_error("boot: this build of Tern has no PMI-2 support (libpmi2 was not found when "
                   "it was built); rebuild with libpmi2-0-dev (Slurm) or Cray PMI at hand");
    return TERN_ERR_UNSUPPORTED;
}
#endif

/* A PMIx server set this process up: the variables every PMIx launcher exports. */
static int pmix_env(void)
{
    const char *ns = getenv("PMIX_NAMESPACE"), *rank = getenv("PMIX_RANK");
    return ns && *ns && rank && *rank;
}

/*
 * A PMI-2 launcher set this process up: Slurm's pmi2 plugin (srun --mpi=pmi2) gives the
 * socket and the job id, PMI_FD and PMI_JOBID; Cray's aprun under ALPS, ALPS_APP_PE; Cray's
 * PALS (aprun and mpiexec of HPE Cray EX), PALS_RANKID. Cray PMI finds its server alone.
 */
static const char *pmi2_env(void)
{
    const char *fd = getenv("PMI_FD"), *job = getenv("PMI_JOBID");
    /* Hydra sets MPI_LOCALNRANKS and never PMI_JOBID; with both, Hydra runs inside a Slurm
     * step whose PMI_JOBID the processes inherited: theirs is Hydra's PMI_FD. */
    if (fd && *fd && job && *job && !getenv("MPI_LOCALNRANKS"))
        return "srun --mpi=pmi2 (PMI_FD and PMI_JOBID are set)";
    if (getenv("ALPS_APP_PE"))
        return "aprun (ALPS_APP_PE is set)";
    if (getenv("PALS_RANKID"))
        return "Cray PALS (PALS_RANKID is set)";
    return NULL;
}

/* A PMI-1 launcher (Hydra's mpiexec, and others) set this process up. */
static int pmi1_env(void)
{
    const char *fd = getenv("PMI_FD"), *port = getenv("PMI_PORT"), *id = getenv("PMI_ID");
    return (fd && *fd && getenv("PMI_RANK")) || (port && *port && id && *id);
}

static const struct {
    const char *name;
    tern_status_t (*open)(boot_t **out);
} bootstraps[] = {
    {"ternrun", boot_ternrun_open}, {"pmix", boot_pmix_open}, {"pmi2", boot_pmi2_open},
    {"pmi1", boot_pmi1_open},       {"single", boot_single_open},
};

tern_status_t boot_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    const char *force = getenv("TERN_BOOT");
    /* "auto" is the documented default of the option (util/options.c): same as unset. */
    if (force && *force && strcmp(force, "auto") != 0) {
        for (size_t i = 0; i < sizeof bootstraps / sizeof bootstraps[0]; i++)
            if (strcmp(force, bootstraps[i].name) == 0)
                return bootstraps[i].open(out);
        util_log_error("TERN_BOOT='%s' is not a bootstrap; accepted values: auto, ternrun, "
                       "pmix, pmi2, pmi1, single",
                       force);
        return TERN_ERR_INVALID;
    }
    const char *fd = getenv("TERN_BOOT_FD");
    if (fd && *fd)
        return boot_ternrun_open(out);
    if (pmix_env())
        return boot_pmix_open(out);
    const char *pmi2 = pmi2_env();
    if (pmi2 && HAVE_PMI2)
        return boot_pmi2_open(out);
    /* Slurm's pmi2 plugin also answers PMI-1, which needs no library. */
    if (pmi2 && pmi1_env()) {
        util_log_info(1, "boot: started by %s, but this build has no PMI-2 library: speaking "
                      "PMI-1 to the launcher", pmi2);
        return boot_pmi1_open(out);
    }
    if (pmi2) {
        util_log_error("boot: started by %s, but this build of Tern has no PMI-2 support "
                       "(libpmi2 was not found when it was built); rebuild it with Cray PMI "
                       "loaded (module load cray-pmi)", pmi2);
        return TERN_ERR_UNSUPPORTED;
    }
    if (pmi1_env())
        return boot_pmi1_open(out);
    /* srun without a process-management interface (--mpi=none, or a cluster whose default
     * is none) would start N unrelated 1-PE jobs: say so instead. */
    const char *ntasks = getenv("SLURM_STEP_NUM_TASKS");
    if (ntasks && atoi(ntasks) > 1 && getenv("SLURM_PROCID")) {
        util_log_error("boot: started by srun as one of %s tasks, but without a PMIx or PMI-2 "
                       "server; run it with srun --mpi=%s",
                       ntasks, HAVE_PMIX ? "pmix (or --mpi=pmi2)" : "pmi2");
        return TERN_ERR_UNSUPPORTED;
    }
    return boot_single_open(out);
}
