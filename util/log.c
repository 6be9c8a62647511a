#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_pe = -1;
static void (*log_hook)(int level, const char *line, void *arg);
static void *log_hook_arg;

void util_log_set_hook(void (*fn)(int level, const char *line, void *arg), void *arg)
{
    log_hook = fn;
    log_hook_arg = arg;
}
static int log_verbosity;

void util_log_set_pe(int pe) { log_pe = pe; }
int util_log_pe(void) { return log_pe; }
int util_log_verbosity(void) { return log_verbosity; }
void util_log_set_verbosity(int level) { log_verbosity = level; }

int util_log_format(char *buf, int cap, const char *what, const char *fmt, va_list ap)
{
    int n;
    if (log_pe >= 0)
        n = snprintf(buf, (size_t)cap, "tern: PE %d: %s%s", log_pe, what ? what : "",
                     what ? ": " : "");
    else
        n = snprintf(buf, (size_t)cap, "tern: %s%s", what ? what : "", what ? ": " : "");
    if (n < 0 || n >= cap)
        n = cap - 1;
    int m = vsnprintf(buf + n, (size_t)(cap - n), fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if (n >= cap)
        n = cap - 1;
    return n;
}

/* One write() per line so that lines of different processes do not interleave. */
static void log_emit(int level, const char *what, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = util_log_format(buf, (int)sizeof buf - 1, what, fmt, ap);
    if (log_hook) {
        buf[n] = 0;
        log_hook(level, buf, log_hook_arg);
        return;
    }
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, (size_t)n);
    (void)w;
}

void util_log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(0, "error", fmt, ap);
    va_end(ap);
}

void util_log_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_emit(1, "warning", fmt, ap);
    va_end(ap);
}

void util_log_info(int level, const char *fmt, ...)
{
    if (log_verbosity < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_emit(2, NULL, fmt, ap);
    va_end(ap);
}

void util_log_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    if (*len >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (w > 0)
        *len = *len + (size_t)w < cap ? *len + (size_t)w : cap;
}
