/* After the job: join the PEs' timelines (TERN_TRACE=FILE wrote FILE.<pe>.json each) into
 * FILE, one Trace Event JSON array, and remove the parts. */
#include "tools/ternrun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The events of one part: its text between the outer brackets. */
static char *read_part(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 65536 > cap) {
            cap = cap ? cap * 2 : 1 << 20;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = b;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    char *open = memchr(buf, '[', n);
    while (n && buf[n - 1] != ']')
        n--;
    if (!open || !n || open >= buf + n - 1) {
        free(buf);
        return NULL;
    }
    size_t start = (size_t)(open - buf) + 1;
    memmove(buf, buf + start, n - 1 - start);
    *len = n - 1 - start;
    return buf;
}

void tr_trace_join(int npes)
{
    const char *file = getenv("TERN_TRACE");
    if (!file || !*file)
        return;
    FILE *out = fopen(file, "w");
    if (!out) {
        tr_msg("TERN_TRACE: cannot write %s", file);
        return;
    }
    fputs("[", out);
    int parts = 0;
    char path[4096];
    for (int r = 0; r < npes; r++) {
        snprintf(path, sizeof path, "%s.%d.json", file, r);
        size_t len;
        char *ev = read_part(path, &len);
        if (!ev) {
            tr_msg("TERN_TRACE: no timeline from PE %d (%s)", r, path);
            continue;
        }
        if (parts++)
            fputs(",", out);
        fwrite(ev, 1, len, out);
        free(ev);
        remove(path);
    }
    fputs("]\n", out);
    if (fclose(out) != 0)
        tr_msg("TERN_TRACE: writing %s failed", file);
}
