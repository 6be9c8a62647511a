#include "transports/boot.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

tern_status_t boot_open(boot_t **out)
{
    if (!out)
        return TERN_ERR_INVALID;
    *out = NULL;
    const char *force = getenv("TERN_BOOT");
    /* "auto" is the documented default of the option (util/options.c): same as unset. */
    if (force && *force && strcmp(force, "auto") != 0) {
        if (strcmp(force, "ternrun") == 0)
            return boot_ternrun_open(out);
        if (strcmp(force, "single") == 0)
            return boot_single_open(out);
        util_log_error(
            "TERN_BOOT='%s' is not a bootstrap; accepted values: auto, ternrun, single", force);
        return TERN_ERR_INVALID;
    }
    const char *fd = getenv("TERN_BOOT_FD");
    if (fd && *fd)
        return boot_ternrun_open(out);
    return boot_single_open(out);
}
