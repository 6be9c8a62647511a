/*
 * Libraries of the transport stack install fatal-signal handlers of their own when they
 * are loaded (library constructors), before main: measured with UCX 1.13 and libfabric
 * 1.17, libucs takes SEGV, BUS, FPE and ILL (prints "Caught signal" and a backtrace, then
 * calls the handler it replaced) and HUP (its debug signal, which then does nothing), and
 * libinfinipath (pulled in by libfabric's psm provider) takes SEGV, BUS, ILL, ABRT, TERM
 * and INT (prints "terminated with signal" and a backtrace, then exits with code 1). A PE
 * that faults, aborts or is told to stop then "exits with code 1" behind foreign text, and
 * the launcher cannot say what happened; a SIGHUP is even ignored. So at start, and again
 * once the transports are open (opening may load more), the handlers found in those
 * libraries go back to the default action. Handlers elsewhere (the program's, the
 * sanitizers', Tern's coroutine guard) are not touched: the library holding a handler's
 * code decides, by dladdr.
 */
#include "core/signals.h"

#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"
#include "util/options.h"

typedef struct {
    const char *prefix; /* of the library's file name */
    int ucx;            /* kept when the user configures UCX's error handling */
} stack_lib_t;

/* The transport stack: UCX's libraries (and their modules, libuct_ib...), libfabric and
 * the libraries its providers load. libucs and libinfinipath are the ones seen installing
 * handlers; libpsm2 holds the same code as libinfinipath (run when a psm2 endpoint opens);
 * the rest are listed so that a later version that adds handlers is treated alike. */
static const stack_lib_t stack_libs[] = {
    {"libucs", 1},    {"libucp", 1},     {"libuct", 1},        {"libucm", 1},
    {"libfabric", 0}, {"libpsm", 0},     {"libinfinipath", 0}, {"libibverbs", 0},
    {"librdmacm", 0}, {"libefa", 0},
};

/* Signals whose default action ends the process: errors, and requests to stop. */
static const struct {
    int sig;
    const char *name;
} fatal_signals[] = {
    {SIGHUP, "SIGHUP"},   {SIGINT, "SIGINT"},   {SIGQUIT, "SIGQUIT"}, {SIGILL, "SIGILL"},
    {SIGTRAP, "SIGTRAP"}, {SIGABRT, "SIGABRT"}, {SIGBUS, "SIGBUS"},   {SIGFPE, "SIGFPE"},
    {SIGSEGV, "SIGSEGV"}, {SIGTERM, "SIGTERM"}, {SIGSYS, "SIGSYS"},   {SIGXCPU, "SIGXCPU"},
    {SIGXFSZ, "SIGXFSZ"},
};

/* The stack library that holds `fn`, or NULL; its file's base name in *name. */
static const stack_lib_t *stack_lib_of(void *fn, const char **name)
{
    Dl_info di;
    if (!dladdr(fn, &di) || !di.dli_fname)
        return NULL;
    const char *base = strrchr(di.dli_fname, '/');
    base = base ? base + 1 : di.dli_fname;
    for (size_t i = 0; i < sizeof stack_libs / sizeof stack_libs[0]; i++) {
        if (strncmp(base, stack_libs[i].prefix, strlen(stack_libs[i].prefix)) == 0) {
            *name = base;
            return &stack_libs[i];
        }
    }
    return NULL;
}

static int env_set(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* Append "SIGSEGV (libucs.so.0)" to a list line. */
static void list_add(char *buf, size_t cap, const char *sig, const char *lib)
{
    size_t len = strlen(buf);
    if (len < cap)
        snprintf(buf + len, cap - len, "%s%s (%s)", len ? ", " : "", sig, lib);
}

tern_status_t core_signals_reset(const char *when)
{
    const char *opt = util_opt_str("TERN_FOREIGN_SIGNALS");
    int keep_all = strcmp(opt, "keep") == 0;
    if (!keep_all && strcmp(opt, "reset") != 0) {
        util_log_error("tern_run: TERN_FOREIGN_SIGNALS=%s: expected reset or keep", opt);
        return TERN_ERR_INVALID;
    }
    /* Whoever configures UCX's error handling wants UCX's handlers. */
    int keep_ucx = env_set("UCX_HANDLE_ERRORS") || env_set("UCX_ERROR_SIGNALS") ||
                   env_set("UCX_DEBUG_SIGNO");
    char reset[512] = "", kept[512] = "";
    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction sa;
        if (sigaction(fatal_signals[i].sig, NULL, &sa) != 0)
            continue;
        if (!(sa.sa_flags & SA_SIGINFO) &&
            (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN))
            continue;
        void *fn = (sa.sa_flags & SA_SIGINFO) ? (void *)sa.sa_sigaction
                                              : (void *)sa.sa_handler;
        const char *lib = NULL;
        const stack_lib_t *owner = stack_lib_of(fn, &lib);
        if (!owner)
            continue;
        if (keep_all || (owner->ucx && keep_ucx)) {
            list_add(kept, sizeof kept, fatal_signals[i].name, lib);
            continue;
        }
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigemptyset(&dfl.sa_mask);
        if (sigaction(fatal_signals[i].sig, &dfl, NULL) == 0)
            list_add(reset, sizeof reset, fatal_signals[i].name, lib);
    }
    if (reset[0])
        util_log_info(2, "%s: the transport libraries' handlers of %s are reset to the "
                      "default action (TERN_FOREIGN_SIGNALS=keep keeps them)", when, reset);
    if (kept[0])
        util_log_info(2, "%s: the transport libraries' handlers of %s are kept (%s)", when,
                      kept, keep_all ? "TERN_FOREIGN_SIGNALS=keep" : "UCX_* error handling set");
    return TERN_OK;
}
