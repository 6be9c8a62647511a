/*
 * Diagnostics on stderr, one line each, prefixed with "tern: PE <n>: " once the PE is
 * known ("tern: " before). Every layer logs through here so that messages look alike.
 */
#ifndef TERN_UTIL_LOG_H
#define TERN_UTIL_LOG_H

#include <stdarg.h>
#include <stddef.h>

/* Set the PE number shown in the prefix (-1: none). */
void util_log_set_pe(int pe);
/* Lines go to fn (level 0 error, 1 warning, 2 info; the line without its newline) instead
 * of standard error; fn NULL: back to standard error. */
void util_log_set_hook(void (*fn)(int level, const char *line, void *arg), void *arg);
int util_log_pe(void);

/* Verbosity from TERN_VERBOSE: 0 quiet (default), 1 start-up lines, 2 debug. */
int util_log_verbosity(void);
void util_log_set_verbosity(int level);

/* "tern: PE n: error: <text>" */
void util_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tern: PE n: warning: <text>" */
void util_log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "tern: PE n: <text>" when verbosity >= level */
void util_log_info(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append formatted text to the line buf (cap bytes, *len used so far); a full buffer
 * keeps what fits. For messages built in pieces. */
void util_log_append(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Format the prefix and text into buf (always NUL-terminated); returns its length. */
int util_log_format(char *buf, int cap, const char *what, const char *fmt, va_list ap);

#endif
