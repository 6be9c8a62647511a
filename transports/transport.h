/*
 * The transport interface: how bytes move between PEs. A transport knows nothing of
 * chares: it moves opaque messages (a list of buffers on the way out, one contiguous
 * buffer on the way in) and tells the core when one arrives.
 *
 * A transport is a table of function pointers (tp_ops_t) chosen at start-up from the
 * ordered list in transports/registry.c; network transports live in plugins loaded only
 * then. Several may be live at once (shared memory inside a host, a network between
 * hosts); the core asks each which PEs it reaches.
 * Network transports add rendezvous and memory registration behind the same send call:
 * `send` may keep the caller's buffers until it calls the completion it was given.
 *
 * Idle PEs sleep. With one transport the core calls its `wait`; with several it asks each
 * for a file descriptor (`arm`), polls them all, then `disarm`s them.
 */
#ifndef TERN_TRANSPORTS_TRANSPORT_H
#define TERN_TRANSPORTS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#include "transports/boot.h"
#include "util/log.h"

typedef struct tp tp_t;

/*
 * A received buffer the core may keep after the delivery callback returns; the core calls
 * release(rel) once it is done with it (from the same thread, at any later time).
 */
typedef struct tp_rx_ref tp_rx_ref_t;
struct tp_rx_ref {
    void (*release)(tp_rx_ref_t *rel);
};

/*
 * Delivery callback, called from progress(). `buf` (16-byte aligned, `len` bytes) holds
 * one message exactly as the sender's buffers were gathered. When ref is NULL, buf is
 * valid only during the call; otherwise it stays valid until ref->release(ref).
 */
typedef void (*tp_deliver_fn)(void *arg, int src_pe, void *buf, size_t len, tp_rx_ref_t *ref);

/* Completion of a send that returned TERN_INPROGRESS. */
typedef struct tp_send_done tp_send_done_t;
struct tp_send_done {
    void (*done)(tp_send_done_t *d, tern_status_t status);
};

typedef struct tp_params {
    boot_t *boot;
    int my_pe;
    int num_pes;
    /* Real hosts (never the emulated ones): host of each PE [num_pes], numbered 0..nhosts-1
     * in the order of their lowest PE, and their names (the bootstrap's host ids). */
    int nhosts;
    const int *pe_host;
    const char *const *host_name;
    tp_deliver_fn deliver;
    void *deliver_arg;
    int verbosity;   /* TERN_VERBOSE: a plugin keeps its own copy of the logger */
} tp_params_t;

typedef struct tp_ops {
    size_t size; /* sizeof(tp_ops_t) */
    const char *name;
    /* Non-zero when it can never reach another host, whatever happens at open (shm). */
    int host_only;
    /* Collective: every process opens the same transports in the same order. TERN_ERR_
     * UNSUPPORTED when the transport cannot run here (the core then tries the next); the
     * transport makes sure every process gets the same answer (through the bootstrap). */
    tern_status_t (*open)(const tp_params_t *params, tp_t **out);
    /* Non-zero when this transport can carry messages to `pe`. Called at start-up for each
     * PE the core wants it to serve; it may connect there and then. */
    int (*reaches)(tp_t *tp, int pe);
    /*
     * Send the concatenation of iov[0..niov) (`total` bytes) to `pe`, in order with the
     * earlier sends to the same PE. Returns TERN_OK when the buffers may be reused,
     * TERN_INPROGRESS when `done` (non-NULL) will be called once they may,
     * TERN_ERR_RETRY when resources are short (nothing was sent: call again later), or an
     * error. With done == NULL the transport never returns TERN_INPROGRESS.
     */
    tern_status_t (*send)(tp_t *tp, int pe, const tern_iov_t *iov, int niov, size_t total,
                          tp_send_done_t *done);
    /* Largest message `send` can ever accept (0: no limit). */
    size_t (*max_msg)(tp_t *tp);
    /* Deliver what has arrived; returns the number of messages delivered. */
    int (*progress)(tp_t *tp);
    /* Block until a message may have arrived or `timeout_us` passes (< 0: no limit).
     * Returns at once if one is already there. */
    void (*wait)(tp_t *tp, long timeout_us);
    /*
     * Prepare to sleep beside other transports: return a file descriptor that becomes
     * readable when a message may arrive, TP_ARM_BUSY when one may already be there (do
     * not sleep), or TP_ARM_NOFD when this transport has none (the core then sleeps in
     * short slices). Every arm is followed by one disarm once the core is awake.
     */
    int (*arm)(tp_t *tp);
    void (*disarm)(tp_t *tp);
    /* Release everything. Other processes may still be finishing: leave their memory. */
    void (*close)(tp_t *tp);
    /* Sends it still holds, i.e. that progress() has yet to finish (NULL: a transport
     * whose sends are done when send returns). The core waits for 0 before it tells the
     * other PEs at exit that it has stopped sending, so that no send of its fails on a PE
     * that left after hearing so. */
    size_t (*pending)(tp_t *tp);
    /* Finish what send() may leave half done for speed, e.g. waking a receiver that may
     * have fallen asleep as a message went to it (NULL: nothing to finish). The core calls
     * it after each handler or coroutine turn, and before it sleeps; wait() and arm()
     * must not rely on that. */
    void (*flush)(tp_t *tp);
} tp_ops_t;

#define TP_ARM_BUSY (-1)
#define TP_ARM_NOFD (-2)

/* Every transport embeds this first; open fills it in. */
struct tp {
    const tp_ops_t *ops;
    /* Non-zero when it reaches at most the PEs of its own host (the core then looks for
     * another transport for the PEs of other hosts). The same on every process. */
    int host_only;
    /* Non-zero when it takes whatever it is given, queueing or buffering without limit at
     * either end: the core then limits what is in flight to each PE (core/flow.h). Zero
     * when the transport pushes back itself (send returns TERN_ERR_RETRY while the
     * receiver has not taken in what came before, as shm's rings do). */
    int flow_control;
    /* What the start-up line says of it, e.g. "ucx (tcp)" or "ofi (tcp;ofi_rxm)". */
    char desc[64];
};

/* What a plugin exports: tern_tp_<name>_ops (everything else in it stays hidden). Built
 * into the library (TERN_TRANSPORTS_BUILTIN), nothing is exported. */
#ifdef TERN_TRANSPORTS_BUILTIN
#define TP_PLUGIN_EXPORT
#else
#define TP_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* A plugin has its own copy of the logger: set it up as the core's (harmless when the
 * transport is part of the library). */
static inline void tp_plugin_logger(const tp_params_t *params)
{
    util_log_set_pe(params->my_pe);
    util_log_set_verbosity(params->verbosity);
}

/* A transport of this build: built into the library, or a plugin to load. */
typedef struct tp_entry {
    const char *name;
    int host_only;          /* as tp_ops_t's, known before anything is loaded */
    const tp_ops_t *builtin;
    const char *plugin;     /* file name of the plugin, which exports tern_tp_<name>_ops */
} tp_entry_t;

/* The transports of this build, in order of preference; ends with a NULL name. */
extern const tp_entry_t tp_registry[];
const tp_entry_t *tp_find(const char *name);
/* The transport's operations, loading its plugin the first time; NULL with the reason
 * in why when it cannot be loaded. */
const tp_ops_t *tp_load(const tp_entry_t *e, char *why, size_t cap);

#endif
