/*
 * Run-time options. Every tunable is one row of one table (util/options.c): its
 * environment variable, default and help text, so that `ternrun --help` and the README
 * list them all from the same source. Values are read from the environment at each call;
 * callers read them once at start-up.
 */
#ifndef TERN_UTIL_OPTIONS_H
#define TERN_UTIL_OPTIONS_H

#include <stddef.h>
#include <stdio.h>

#include <tern/tern.h>

/* Integer option; accepts k, m, g suffixes (powers of 1024). A malformed value or one
 * outside [min, max] is logged naming the variable and gives TERN_ERR_INVALID. */
tern_status_t util_opt_long(const char *name, long min, long max, long *out);
tern_status_t util_opt_double(const char *name, double min, double max, double *out);
/* String option: the environment's value or the default (never NULL). */
const char *util_opt_str(const char *name);

void util_opt_print(FILE *out);

#endif
