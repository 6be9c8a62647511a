/*
 * The transports of this build, in order of preference: shared memory inside a host,
 * then the network ones whose library was found at build time (CMake defines
 * TERN_HAVE_*).
 *
 * shm is part of the library. The network transports are plugins (tern-ucx.so,
 * tern-ofi.so) loaded only when a job opens them: their libraries cost a process about
 * 0.2 s at load time (libfabric pulls in PSM, whose constructor calibrates a clock by
 * sleeping) and install fatal-signal handlers of their own, and a job on one host needs
 * none of that.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transports/transport.h"
#include "util/log.h"
#include "util/options.h"

extern const tp_ops_t shm_tp_ops;

/* TERN_TRANSPORTS_BUILTIN (a CMake option, for installations without dlopen or that
 * ship one static library): the network transports are compiled into the library and
 * their libraries linked to it, as before the plugins. */
#ifdef TERN_TRANSPORTS_BUILTIN
#ifdef TERN_HAVE_UCX
extern const tp_ops_t tern_tp_ucx_ops;
#define UCX_ENTRY {"ucx", 0, &tern_tp_ucx_ops, NULL}
#endif
#ifdef TERN_HAVE_OFI
extern const tp_ops_t tern_tp_ofi_ops;
#define OFI_ENTRY {"ofi", 0, &tern_tp_ofi_ops, NULL}
#endif
#else
#define UCX_ENTRY {"ucx", 0, NULL, "tern-ucx.so"}
#define OFI_ENTRY {"ofi", 0, NULL, "tern-ofi.so"}
#endif

const tp_entry_t tp_registry[] = {
    {"shm", 1, &shm_tp_ops, NULL},
#ifdef TERN_HAVE_UCX
    UCX_ENTRY,
#endif
#ifdef TERN_HAVE_OFI
    OFI_ENTRY,
#endif
    {NULL, 0, NULL, NULL},
};

const tp_entry_t *tp_find(const char *name)
{
    for (const tp_entry_t *e = tp_registry; e->name; e++)
        if (strcmp(e->name, name) == 0)
            return e;
    return NULL;
}

/* The folder holding this library (or the program it is linked into). */
static int own_dir(char *buf, size_t cap)
{
    Dl_info info;
    char real[PATH_MAX];
    /* Resolved: the loader keeps the path it was given (an rpath with "..", a link). */
    if (!dladdr((void *)own_dir, &info) || !info.dli_fname || !realpath(info.dli_fname, real))
        return 0;
    const char *slash = strrchr(real, '/');
    if (!slash)
        return 0;
    int n = snprintf(buf, cap, "%.*s", (int)(slash - real), real);
    return n > 0 && (size_t)n < cap;
}

/* dlopen the plugin from the first folder that has it: TERN_PLUGIN_DIR, the folder
 * "tern" beside libtern.so (the build tree and every installation keep it there), the
 * folder of this build's installation (for programs linked with libtern.a). */
static void *plugin_open(const tp_entry_t *e, char *tried, size_t cap)
{
    char dirs[3][PATH_MAX];
    int ndirs = 0;
    const char *env = util_opt_str("TERN_PLUGIN_DIR");
    if (env && *env)
        snprintf(dirs[ndirs++], PATH_MAX, "%s", env);
    char own[PATH_MAX - 8];
    if (own_dir(own, sizeof own))
        snprintf(dirs[ndirs++], PATH_MAX, "%s/tern", own);
#ifdef TERN_PLUGIN_INSTALL_DIR
    snprintf(dirs[ndirs++], PATH_MAX, "%s", TERN_PLUGIN_INSTALL_DIR);
#endif
    size_t len = 0;
    tried[0] = 0;
    for (int i = 0; i < ndirs; i++) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%.*s/%.60s", PATH_MAX - 1, dirs[i], e->plugin);
        /* Local: the plugin's copies of the utilities stay its own. */
        void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (h) {
            util_log_info(2, "transport %s: loaded %s", e->name, path);
            return h;
        }
        int w = snprintf(tried + len, cap - len, "%s%s", len ? "; " : "", dlerror());
        if (w > 0 && (size_t)w < cap - len)
            len += (size_t)w;
    }
    return NULL;
}

const tp_ops_t *tp_load(const tp_entry_t *e, char *why, size_t cap)
{
    if (e->builtin)
        return e->builtin;
    char tried[1024];
    void *h = plugin_open(e, tried, sizeof tried);
    if (!h) {
        snprintf(why, cap, "cannot load %s (%s); TERN_PLUGIN_DIR names its folder", e->plugin,
                 tried[0] ? tried : "no folder to look in");
        return NULL;
    }
    char sym[64];
    snprintf(sym, sizeof sym, "tern_tp_%s_ops", e->name);
    const tp_ops_t *ops = dlsym(h, sym);
    if (!ops || ops->size != sizeof(tp_ops_t) || strcmp(ops->name, e->name) != 0) {
        snprintf(why, cap, "%s is not a %s transport of this version of Tern", e->plugin,
                 e->name);
        dlclose(h);
        return NULL;
    }
    return ops;
}
