/*
 * What every bootstrap shares: the host name when the launcher gives none, integers from
 * the environment, the job id. (Which bootstrap a process uses: boot_select.c.)
 */
#include "transports/boot.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"

void boot_default_host(char *buf, size_t cap)
{
    if (gethostname(buf, cap) != 0 || !buf[0])
        snprintf(buf, cap, "localhost");
    buf[cap - 1] = 0;
}

int boot_env_int(const char *name, long lo, long hi, const char *launcher, int *out)
{
    const char *s = getenv(name);
    if (!s || !*s) {
        util_log_error("boot: %s is not set (is this process started by %s?)", name, launcher);
        return -1;
    }
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi) {
        util_log_error("boot: %s='%s' is not a number from %ld to %ld", name, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

void boot_make_jobid(char tag, const char *name, char *out, size_t cap)
{
    uint32_t h = 2166136261u; /* FNV-1a of the whole name: long names stay apart once cut */
    for (const char *s = name; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    char clean[24];
    size_t n = 0;
    for (const char *s = name; *s && n + 1 < sizeof clean; s++)
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
            clean[n++] = *s;
    clean[n] = 0;
    snprintf(out, cap, "%c%sx%08x", tag, clean, (unsigned)h);
}
