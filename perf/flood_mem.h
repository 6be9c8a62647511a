/*
 * flood_mem.h: the memory figures of the flood benchmarks (tern_flood.c, mpi_flood.c):
 * resident size, and its peak since a point the program chooses.
 */
#ifndef TERN_PERF_FLOOD_MEM_H
#define TERN_PERF_FLOOD_MEM_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

/* A field of /proc/self/status in kB (VmRSS, VmHWM), or -1. */
static inline long flood_status_kb(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return kb;
}

/* Start measuring: the peak so far is forgotten (Linux: "5" to clear_refs); returns the
 * resident size now, in kB. */
static inline long flood_measure_start(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    return flood_status_kb("VmRSS");
}

#endif
