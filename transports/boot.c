#include "transports/boot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void boot_default_host(char *buf, size_t cap)
{
    if (gethostname(buf, cap) != 0 || !buf[0])
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = 0;
}

/* A PMIx server set this process up: the variables every PMIx launcher exports. */
static int pmix_env(void)
{
    const char *ns = getenv("PMIX_NAMESPACE"), *rank = getenv("PMIX_RANK");
    return ns && *ns && rank && *rank;
}

tern_status_t boot_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    const char *force = getenv("TERN_BOOT");
    /* "auto" is the documented default of the option (util/options.c): same as unset. */
    if (force && *force && strcmp(force, "auto") != 0) {
        if (strcmp(force, "pmix") == 0)
            return boot_pmix_open(out);
        if (strcmp(force, "ternrun") == 0)
            return boot_ternrun_open(out);
        if (strcmp(force, "single") == 0)
            return boot_single_open(out);
        util_log_error("TERN_BOOT='%s' is not a bootstrap; accepted values: auto, pmix, "
                       "ternrun, single",
                       force);
        return TERN_ERR_INVALID;
    }
    const char *fd = getenv("TERN_BOOT_FD");
    if (fd && *fd)
        return boot_ternrun_open(out);
    if (pmix_env())
        return boot_pmix_open(out);
    /* srun without --mpi=pmix (and a cluster whose default is not pmix) would start N
     * unrelated 1-PE jobs: say so instead. */
    const char *ntasks = getenv("SLURM_STEP_NUM_TASKS");
    if (ntasks && atoi(ntasks) > 1 && getenv("SLURM_PROCID")) {
        util_log_error("boot: started by srun as one of %s tasks, but without a PMIx server; "
                       "run it with srun --mpi=pmix%s",
                       ntasks, HAVE_PMIX ? "" : " (and a build of Tern with PMIx)");
        return TERN_ERR_UNSUPPORTED;
    }
    return boot_single_open(out);
}
