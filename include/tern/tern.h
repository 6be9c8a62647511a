/*
 * Tern: a message-driven runtime of distributed objects (chares).
 *
 * The model is Charm4py's, in C. A job is a set of processing elements (PEs), one per
 * process. Chares are objects that live on a PE; their entry methods are called by
 * asynchronous messages sent through proxies. Chares come alone, in groups (one member per
 * PE) or in dense N-d arrays (1 to 6 dimensions, block-mapped on the PEs).
 *
 * A program registers its chare types and entry methods, then calls tern_run() on every
 * process; tern_run() runs the main function on PE 0 and schedules messages on every PE
 * until some PE calls tern_exit().
 *
 *     static tern_type_t T;
 *     static tern_ep_t HELLO;
 *     static void hello(void *self, const tern_msg_t *m) {
 *         printf("hello from PE %d\n", tern_my_pe());
 *         tern_exit(0);                          // the first greeting ends the job
 *     }
 *     static void start(int argc, char **argv) {
 *         tern_proxy_t g;
 *         tern_group_create(T, NULL, 0, NULL, &g);
 *         tern_send_buf(&g, HELLO, NULL, 0);     // broadcast to every member
 *     }
 *     int main(int argc, char **argv) {
 *         static const tern_ep_def_t eps[] = {{"hello", hello, 0, &HELLO}, {0}};
 *         tern_type_define("Hello", 0, NULL, NULL, eps, &T);
 *         return tern_run(argc, argv, start);
 *     }
 *
 * Threading: every call below is made from the thread that called tern_run() (or, before
 * it, from main). Calls that take a proxy may be made from any PE.
 */
#ifndef TERN_TERN_H
#define TERN_TERN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the library exports: these calls and nothing else (its internals stay hidden). */
#if defined(__GNUC__)
#define TERN_API __attribute__((visibility("default")))
#else
#define TERN_API
#endif

#define TERN_VERSION_MAJOR 0
#define TERN_VERSION_MINOR 1
#define TERN_VERSION_PATCH 0

/* ---------------------------------------------------------------------------------------
 * Status codes
 * ------------------------------------------------------------------------------------- */

typedef int tern_status_t;

enum {
    TERN_OK = 0,
    TERN_INPROGRESS = 1,         /* accepted; completes later */
    TERN_ERR_RETRY = -1,         /* no resources right now: try again, not a failure */
    TERN_ERR_INVALID = -2,       /* an argument is wrong (null, negative, unknown id) */
    TERN_ERR_RANGE = -3,         /* an index or PE is out of range */
    TERN_ERR_STATE = -4,         /* not allowed at this point (e.g. register after start) */
    TERN_ERR_EXISTS = -5,        /* the name is already registered */
    TERN_ERR_NOT_FOUND = -6,     /* no such name or key */
    TERN_ERR_NOMEM = -7,         /* out of memory */
    TERN_ERR_IO = -8,            /* a system call failed */
    TERN_ERR_UNSUPPORTED = -9,   /* not available in this build or on this machine */
    TERN_ERR_UNREACHABLE = -10,  /* no transport reaches that PE */
    TERN_ERR_TYPE = -11,         /* entry method does not belong to the proxy's chare type */
    TERN_ERR_REMOTE = -12,       /* the remote entry method failed (see tern_future_error) */
};

/* A short, static explanation of a status code. */
TERN_API const char *tern_strerror(tern_status_t status);

/* ---------------------------------------------------------------------------------------
 * Start, stop and queries
 * ------------------------------------------------------------------------------------- */

/* The main function runs once, on PE 0, after every PE is up. Returning from it does not
 * end the job: the job ends when some PE calls tern_exit(). */
typedef void (*tern_main_fn)(int argc, char **argv);

/*
 * Start the runtime on this process, run main_fn on PE 0, and schedule messages until the
 * job exits. Returns the job's exit code (the argument of the tern_exit() that ended it);
 * the usual ending of a program is `return tern_run(argc, argv, start);`.
 * Every process of the job must call it once, after registering the same chare types and
 * entry methods. A program started without a launcher runs as a 1-PE job.
 */
TERN_API int tern_run(int argc, char **argv, tern_main_fn main_fn);

/*
 * End the whole job with `code`, from any PE. Returns to the caller; the PE stops
 * scheduling when the current entry method returns, and messages not yet delivered are
 * dropped. If several PEs call it, the first call to reach PE 0 decides the code.
 * tern_run() returns on each PE only once every PE has stopped: a PE still inside a long
 * entry method keeps the others (idle) until it returns, since it may still send to them.
 */
TERN_API void tern_exit(int code);

/* Print "tern: PE <n>: abort: <message>" on stderr and end the whole job with a non-zero
 * code. Never returns. */
TERN_API void tern_abort(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

TERN_API int tern_my_pe(void);
TERN_API int tern_num_pes(void);

/*
 * Hosts: the machines the job's PEs run on (or emulated ones: TERN_EMULATE_HOSTS=k splits
 * each host's PEs into k hosts, for testing host-aware code on one machine). Hosts are
 * numbered from 0 in the order of their lowest PE; the PEs of a host are ranked from 0 in
 * PE order. These are Charm4py's charm.numHosts, myHost, getHostNumPes, getHostFirstPe,
 * getHostPes, getPeHost and getPeHostRank. A host or PE out of range logs an error that
 * names the call and returns -1.
 */
TERN_API int tern_num_hosts(void);
TERN_API int tern_my_host(void);
TERN_API int tern_host_num_pes(int host);
TERN_API int tern_host_first_pe(int host);
/* Writes the first min(cap, count) PEs of `host`, ascending, to pes; returns the count. */
TERN_API int tern_host_pes(int host, int *pes, int cap);
TERN_API int tern_pe_host(int pe);
TERN_API int tern_pe_host_rank(int pe);
/* Seconds since an arbitrary point in this process (monotonic clock). */
TERN_API double tern_wall_time(void);

/* Print every TERN_* option with its default, current value and help text. */
TERN_API void tern_options_print(FILE *out);

/* ---------------------------------------------------------------------------------------
 * Registration (before tern_run only)
 * ------------------------------------------------------------------------------------- */

typedef uint32_t tern_type_t; /* a registered chare type */
typedef uint32_t tern_ep_t;   /* a registered entry method */

typedef struct tern_msg tern_msg_t; /* a message, as received or as built with tern_msg_alloc */

/*
 * `self` points to the chare's state: state_size bytes, zeroed before the constructor runs
 * and aligned to 16 bytes. The message and its payload are valid until the function
 * returns; copy what must outlive it. A broadcast may hand the same payload to several
 * chares of one PE: treat it as read-only.
 */
typedef void (*tern_entry_fn)(void *self, const tern_msg_t *msg);
typedef void (*tern_ctor_fn)(void *self, const tern_msg_t *args);
typedef void (*tern_dtor_fn)(void *self);

/*
 * Register a chare type. Ids are assigned from the sorted names when tern_run() starts, so
 * processes agree on them whatever the order of registration. ctor and dtor may be NULL;
 * the destructor runs on every chare still alive when the job ends normally, after the
 * last entry method (it must not send).
 * Errors: TERN_ERR_STATE after tern_run() has started, TERN_ERR_EXISTS for a name already
 * registered, TERN_ERR_INVALID for an empty or too long (over 63 bytes) name.
 */
TERN_API tern_status_t tern_type_register(const char *name, size_t state_size,
                                          tern_ctor_fn ctor, tern_dtor_fn dtor,
                                          tern_type_t *type_out);

/* Register an entry method of `type` by name; same rules as tern_type_register(). */
TERN_API tern_status_t tern_ep_register(tern_type_t type, const char *name, tern_entry_fn fn,
                                        tern_ep_t *ep_out);

/* The method runs on a coroutine (a user-level thread) of its own and may suspend in
 * tern_future_wait(), tern_allreduce(), tern_sleep() and the like. While it waits the PE
 * runs other messages, also for the same chare. */
#define TERN_EP_COROUTINE 0x1u

/* tern_ep_register() with flags (0 or TERN_EP_COROUTINE). */
TERN_API tern_status_t tern_ep_register_flags(tern_type_t type, const char *name,
                                              tern_entry_fn fn, unsigned flags,
                                              tern_ep_t *ep_out);

/* One entry method of a table given to tern_type_define(); the table ends with {0}. */
typedef struct tern_ep_def {
    const char *name;
    tern_entry_fn fn;
    unsigned flags;   /* 0 or TERN_EP_COROUTINE */
    tern_ep_t *id;    /* where its id goes */
} tern_ep_def_t;

/* Register a chare type and its entry methods in one call: tern_type_register(), then
 * tern_ep_register_flags() for each row of eps (NULL when there are none). The first
 * error stops it, logged, and is returned. */
TERN_API tern_status_t tern_type_define(const char *name, size_t state_size, tern_ctor_fn ctor,
                                        tern_dtor_fn dtor, const tern_ep_def_t *eps,
                                        tern_type_t *type_out);

/* ---------------------------------------------------------------------------------------
 * For bindings (a language's runtime on top of this one, e.g. the Python package): data
 * of the binding's own kept with what it registers and handed back, the entry method a
 * message invokes, the version, and where log lines go.
 * ------------------------------------------------------------------------------------- */

#define TERN_TYPE_NONE UINT32_MAX
#define TERN_EP_NONE UINT32_MAX

/* A pointer kept with a chare type or an entry method (set before or after tern_run);
 * NULL when none was set or the id is unknown. */
TERN_API tern_status_t tern_type_set_data(tern_type_t type, void *data);
TERN_API void *tern_type_data(tern_type_t type);
TERN_API tern_status_t tern_ep_set_data(tern_ep_t ep, void *data);
TERN_API void *tern_ep_data(tern_ep_t ep);
/* The chare type of a chare, from its state (in its constructor too). */
TERN_API tern_type_t tern_self_type(const void *self);
/* The entry method a received message invokes (inside that method: the one running);
 * TERN_EP_NONE for a message that invokes none. */
TERN_API tern_ep_t tern_msg_ep(const tern_msg_t *msg);
/* The library's version (it may differ from the TERN_VERSION_* the program was built
 * with), and as "major.minor.patch". */
TERN_API void tern_version(int *major, int *minor, int *patch);
TERN_API const char *tern_version_string(void);
/* Where the runtime's log lines go (errors, warnings, verbose lines): each whole line, with
 * no newline, and its level (TERN_LOG_*); fn NULL: back to standard error. */
enum { TERN_LOG_ERROR = 0, TERN_LOG_WARN = 1, TERN_LOG_INFO = 2 };
typedef void (*tern_log_fn)(int level, const char *line, void *arg);
TERN_API void tern_set_log_hook(tern_log_fn fn, void *arg);

/* ---------------------------------------------------------------------------------------
 * Proxies: plain values, copyable and sendable inside messages
 * ------------------------------------------------------------------------------------- */

#define TERN_MAX_DIMS 6
#define TERN_ANY_PE (-1)

typedef enum {
    TERN_PROXY_NONE = 0,
    TERN_PROXY_CHARE = 1,      /* a single chare */
    TERN_PROXY_GROUP = 2,      /* a whole group: sends are broadcasts */
    TERN_PROXY_GROUP_ELEM = 3, /* one member of a group */
    TERN_PROXY_ARRAY = 4,      /* a whole array: sends are broadcasts */
    TERN_PROXY_ARRAY_ELEM = 5, /* one element of an array */
    TERN_PROXY_SECTION = 6,    /* a section: sends are multicasts to its members */
} tern_proxy_kind_t;

/* Proxy flags (set by the runtime). */
#define TERN_PROXY_SPARSE 0x1u /* an array without bounds: dims are 0, elements inserted */
#define TERN_PROXY_MOBILE 0x2u /* an array whose elements may move (a migratable type) */
#define TERN_PROXY_BALANCED 0x8u /* an array whose elements' loads are measured and balanced */
#define TERN_PROXY_AT_SYNC 0x10u /* ... at steps its elements ask for (tern_at_sync) */
#define TERN_PROXY_INSERTED 0x4u /* an array created empty: its elements are inserted */

typedef struct tern_proxy {
    uint64_t cid;     /* collection id, unique in the job */
    uint32_t type;    /* chare type (global id) */
    uint8_t kind;     /* tern_proxy_kind_t */
    uint8_t ndims;    /* arrays: number of dimensions; groups and chares: 1 */
    uint16_t flags;   /* TERN_PROXY_* */
    int32_t pe;       /* single chares: their PE; otherwise -1 */
    uint32_t map;     /* arrays: the placement map (tern_map_t, global id) */
    int32_t dims[TERN_MAX_DIMS]; /* arrays: extent of each dimension (0 when sparse) */
    int32_t idx[TERN_MAX_DIMS];  /* elements: index (group members: idx[0] is the PE) */
} tern_proxy_t;

/* An index (or dimensions) written in place: TERN_IDX(i, j) is a const int32_t[2]. */
#define TERN_IDX(...) ((const int32_t[]){__VA_ARGS__})

/* Proxy of element idx of the group or array that coll names (the whole collection, or
 * one of its elements): `idx` has coll->ndims entries; for a group, idx[0] is a PE.
 * Errors: TERN_ERR_INVALID if coll names no group or array, TERN_ERR_RANGE if an index
 * is outside the collection. */
TERN_API tern_status_t tern_proxy_elem(const tern_proxy_t *coll, const int32_t *idx,
                                       tern_proxy_t *out);

/* Proxy of the whole collection an element proxy belongs to (a chare's own proxy for a
 * single chare). */
TERN_API tern_proxy_t tern_proxy_collection(const tern_proxy_t *elem);

/* Non-zero when both proxies name the same chare, element or collection. */
TERN_API int tern_proxy_equal(const tern_proxy_t *a, const tern_proxy_t *b);

/* Inside an entry method or constructor, given its `self`: */
TERN_API tern_proxy_t tern_self_proxy(const void *self);      /* this chare or element */
TERN_API tern_proxy_t tern_self_collection(const void *self); /* its collection, or itself */
TERN_API int tern_self_ndims(const void *self);
TERN_API const int32_t *tern_self_index(const void *self);    /* ndims entries */

/* ---------------------------------------------------------------------------------------
 * Creation (asynchronous: messages sent to elements not yet built wait for them)
 * ------------------------------------------------------------------------------------- */

/* At most this many buffers in one payload (or constructor argument list). */
#define TERN_MAX_IOV 4096

/* One buffer of a payload. */
typedef struct tern_iov {
    const void *base;
    size_t len;
} tern_iov_t;

/*
 * Create a single chare on `pe` (TERN_ANY_PE: the runtime picks one, in turn). The
 * constructor receives the concatenation of `args` as one message (args may be NULL when
 * nargs is 0); the buffers may be reused when the call returns.
 */
TERN_API tern_status_t tern_chare_create(tern_type_t type, int pe, const tern_iov_t *args,
                                         int nargs, tern_proxy_t *out);

/* Create a group: one member on every PE. */
TERN_API tern_status_t tern_group_create(tern_type_t type, const tern_iov_t *args, int nargs,
                                         const void *reserved, tern_proxy_t *out);

/* Create a dense array of prod(dims) elements, 1 <= ndims <= 6, every dims[i] >= 1, at
 * most 2^31-1 elements, mapped by blocks of consecutive row-major indices onto the PEs. */
TERN_API tern_status_t tern_array_create(tern_type_t type, int ndims, const int32_t *dims,
                                         const tern_iov_t *args, int nargs, tern_proxy_t *out);

/* ---------------------------------------------------------------------------------------
 * Placement maps, insertion and deletion of array elements
 * ------------------------------------------------------------------------------------- */

/*
 * A placement map says on which PE each element of an array is created, and is its home
 * PE: the PE that always knows where the element is, whatever moves it makes. Messages
 * go to an element's home the first time; a PE that learns where the element is (from
 * the PE that ran the message) sends the next ones straight there.
 */
typedef uint32_t tern_map_t;
#define TERN_MAP_DEFAULT 0u     /* TERN_MAP_BLOCK for arrays with bounds, _HASH for sparse */
#define TERN_MAP_BLOCK 1u       /* blocks of consecutive row-major indices, as even as can be */
#define TERN_MAP_ROUND_ROBIN 2u /* row-major index modulo the number of PEs */
#define TERN_MAP_HASH 3u        /* a hash of the index */

/* A map of the program's own (Charm4py's ArrayMap.procNum): the PE, 0 to num_pes - 1, of
 * element idx of an array with bounds dims (all 0 for a sparse array). Every PE must get
 * the same answer for the same index, every time. */
typedef int (*tern_map_fn)(const int32_t *idx, int ndims, const int32_t *dims, int num_pes);

/* Register a map by name, before tern_run (same rules as tern_type_register). */
TERN_API tern_status_t tern_map_register(const char *name, tern_map_fn fn, tern_map_t *out);
/* The same with a pointer handed back to each call (a binding's map object). */
typedef int (*tern_map_data_fn)(const int32_t *idx, int ndims, const int32_t *dims,
                                int num_pes, void *data);
TERN_API tern_status_t tern_map_register_data(const char *name, tern_map_data_fn fn,
                                              void *data, tern_map_t *out);

#define TERN_ARRAY_EMPTY 0x1u   /* create no element: the program inserts them */
#define TERN_ARRAY_AT_SYNC 0x2u /* load balancing when every element called tern_at_sync */

typedef struct tern_array_opts {
    tern_map_t map;    /* TERN_MAP_DEFAULT, a built-in map or a registered one */
    unsigned flags;    /* TERN_ARRAY_* */
    double lb_period;  /* > 0: load balancing every lb_period seconds, at moments when the
                          elements are between entry methods; 0: none */
} tern_array_opts_t;

/*
 * tern_array_create() with options (opts may be NULL). With dims NULL the array is sparse:
 * it has no bounds, starts empty, and its elements are inserted at any index of ndims
 * coordinates. A sparse array's coordinates must fit its key: any int32_t in 1-D, in
 * [-2^30, 2^30) in 2-D, [-2^20, 2^20) in 3-D, [-2^14, 2^14) in 4-D, [-2^11, 2^11) in 5-D and
 * [-2^9, 2^9) in 6-D.
 */
TERN_API tern_status_t tern_array_create_opts(tern_type_t type, int ndims, const int32_t *dims,
                                              const tern_iov_t *args, int nargs,
                                              const tern_array_opts_t *opts,
                                              tern_proxy_t *out);

/*
 * Insert element idx into an array (any array; the index must be inside a bounded array's
 * bounds and must not exist), on `pe` or, with TERN_ANY_PE, where the array's map puts
 * it. Its constructor gets `args`. Messages sent to it before it exists wait at its home
 * PE. Asynchronous, from any PE.
 */
TERN_API tern_status_t tern_array_insert(const tern_proxy_t *array, const int32_t *idx, int pe,
                                         const tern_iov_t *args, int nargs);

/*
 * Say that the insertions into the array are made (call it once, from any PE, after
 * every insertion was asked for: e.g. after a barrier or quiescence). The runtime then
 * counts the elements and builds the reduction tree over their PEs: the inserted
 * elements take part in reductions from then on (their contributions made before wait
 * until then); reductions under way finish without them. From a coroutine the call
 * returns once that is settled, so reductions the caller starts afterwards count every
 * element; elsewhere it returns at once. Messages held for an element that was never
 * inserted fail (their futures get an error naming the index), and so do later ones,
 * until insertions start again. Call it again after later insertions.
 */
TERN_API tern_status_t tern_array_done_inserting(const tern_proxy_t *array);

/* Destroy one element (its destructor runs once none of its entry methods is running or
 * suspended). Messages sent to it afterwards fail with an error naming the index. */
TERN_API tern_status_t tern_elem_destroy(const tern_proxy_t *elem);
/* The same, from the element itself. */
TERN_API tern_status_t tern_self_destroy(const void *self);

/* ---------------------------------------------------------------------------------------
 * Migration
 * ------------------------------------------------------------------------------------- */

/*
 * An element moves as its state's state_size bytes, copied as they are, followed by what
 * the type's pup function writes: the data the state points to. The same function sizes,
 * packs and unpacks (tern_pup_mode says which); on unpacking, pointers in the copied bytes
 * still hold the old PE's addresses, so it allocates and reads into new memory:
 *
 *     static void cell_pup(void *self, tern_pup_t *p) {
 *         cell_t *c = self;
 *         if (tern_pup_mode(p) == TERN_PUP_UNPACK)
 *             c->atoms = malloc(c->n * sizeof *c->atoms);
 *         tern_pup_bytes(p, c->atoms, c->n * sizeof *c->atoms);
 *     }
 *
 * After packing, the element's destructor runs on the old PE; after unpacking, `arrived`
 * (may be NULL) runs on the new one. A type whose state is plain data (no pointers) passes
 * pup NULL. A type not declared migratable cannot move: tern_migrate says so.
 */
typedef struct tern_pup tern_pup_t;
typedef void (*tern_pup_fn)(void *self, tern_pup_t *p);
typedef void (*tern_arrived_fn)(void *self);

enum { TERN_PUP_SIZE = 1, TERN_PUP_PACK = 2, TERN_PUP_UNPACK = 3 };

/* Declare a registered type migratable (before tern_run). */
TERN_API tern_status_t tern_type_migratable(tern_type_t type, tern_pup_fn pup,
                                            tern_arrived_fn arrived);
TERN_API int tern_pup_mode(const tern_pup_t *p);
/* Size, write or read `len` bytes at `data`, as the mode says. */
TERN_API void tern_pup_bytes(tern_pup_t *p, void *data, size_t len);

/*
 * Move the calling array element to PE `pe`. The move happens once none of its entry
 * methods is running or suspended; messages sent to it meanwhile or later are delivered
 * on whichever PE it is, exactly once. Errors: TERN_ERR_TYPE when its type is not
 * migratable, TERN_ERR_RANGE for a bad PE, TERN_ERR_INVALID when self is not an array
 * element.
 */
TERN_API tern_status_t tern_migrate(const void *self, int pe);

/*
 * Load balancing. The runtime measures the wall time of each element's entry methods in
 * arrays created with TERN_ARRAY_AT_SYNC or an lb_period (tern_array_opts_t), and, at each
 * step, gathers the loads to the array's creating PE, runs the strategy chosen for the job
 * and moves elements of migratable types (others count as fixed load). The strategy comes
 * from the command line (`+balancer GreedyRefineLB` or `--balancer GreedyRefine`, removed
 * from argv before the main function sees it) or TERN_LB; without one, nothing is
 * measured and tern_at_sync resumes each element at once. Strategies: GreedyRefine,
 * Greedy, Refine, HostGreedyRefine, Rotate, Dummy (a trailing "LB" is allowed).
 *
 * tern_at_sync: the calling element (of an array created with TERN_ARRAY_AT_SYNC) is ready
 * for balancing. When every element of the array has called it, a step runs; then each
 * element gets its type's resume entry method (tern_type_resume) on the PE where the step
 * put it. Contributions to reductions of the array must be made in the same order by every
 * element around it (it is one itself). A waiting element may not be moved with
 * tern_migrate.
 */
TERN_API tern_status_t tern_at_sync(const void *self);
/* The entry method (of `type`, no payload) that elements get after a step they waited for. */
TERN_API tern_status_t tern_type_resume(tern_type_t type, tern_ep_t ep);
/* Report the calling element's load since the last step (seconds; replaces the measured
 * time at the next step). */
TERN_API tern_status_t tern_set_load(const void *self, double seconds);

/* The last step of an array, on the array's creating PE (TERN_ERR_STATE elsewhere or
 * before its first step). Loads are seconds; max and avg over the PEs. */
typedef struct tern_lb_report {
    uint32_t step;         /* steps so far */
    uint32_t objects;      /* elements measured */
    uint32_t moves;        /* elements the step moved */
    int32_t pes;
    double max_before, avg_before; /* PE loads measured for the step */
    double max_after, avg_after;   /* PE loads the placement predicts */
    double bound;          /* lower bound on any placement's max */
    double strategy_s;     /* time the strategy took */
    uint64_t bytes_moved;  /* by the previous step's moves (known at this step) */
    uint64_t comm_msgs, comm_bytes; /* sent from element to element since the last step */
    double comm_off_before, comm_off_after; /* the share of those bytes between PEs */
} tern_lb_report_t;
TERN_API tern_status_t tern_lb_last_report(const tern_proxy_t *array, tern_lb_report_t *out);
/* Statistics (TERN_STATS=1 or TERN_STATS_FILE): print this PE's now (stderr), like
 * Charm4py's charm.printStats(); and one entry method's calls and total seconds on this PE
 * (TERN_ERR_STATE when statistics are off). */
TERN_API void tern_stats_print(void);
TERN_API tern_status_t tern_stats_ep(tern_ep_t ep, uint64_t *calls, double *seconds);

/* The strategy of this job (NULL: no load balancing). */
TERN_API const char *tern_lb_strategy(void);

/* ---------------------------------------------------------------------------------------
 * Invocation
 * ------------------------------------------------------------------------------------- */

typedef struct tern_send_opts {
    int32_t priority; /* smaller runs first; 0 is the default */
} tern_send_opts_t;

/*
 * Invoke entry method `ep` on what `to` names: one chare or element (point to point), or
 * every member of a group or array (a broadcast down a spanning tree of PEs).
 *
 * Payload: the buffers iov[0..niov) (niov may be 0). The receiver sees them as segments
 * (tern_msg_seg), each aligned to 16 bytes. Ownership: the caller keeps its buffers and
 * may reuse them as soon as the call returns; the runtime copies them once (into the
 * transport's memory for another PE, into a message for this PE). To hand a buffer over
 * without any copy, build it with tern_msg_alloc() and send it with tern_send_msg().
 *
 * Errors (nothing is sent): TERN_ERR_INVALID for a null or malformed proxy,
 * TERN_ERR_TYPE when ep is not an entry method of the proxy's chare type, TERN_ERR_RANGE
 * for an element index outside its collection.
 */
TERN_API tern_status_t tern_send(const tern_proxy_t *to, tern_ep_t ep, const tern_iov_t *iov,
                                 int niov, const tern_send_opts_t *opts);

/* tern_send() of one buffer of len bytes (data may be NULL when len is 0). */
TERN_API tern_status_t tern_send_buf(const tern_proxy_t *to, tern_ep_t ep, const void *data,
                                     size_t len);

/* tern_send() of one buffer to element idx of the group or array that `coll` names (the
 * whole collection or any element of it): Charm4py's proxy[i, j].method(data). */
TERN_API tern_status_t tern_send_elem(const tern_proxy_t *coll, const int32_t *idx,
                                      tern_ep_t ep, const void *data, size_t len);

/* The same, to an element of the collection of the chare whose state is `self` (inside
 * an entry method): Charm4py's self.thisProxy[i, j].method(data). */
TERN_API tern_status_t tern_self_send(const void *self, const int32_t *idx, tern_ep_t ep,
                                      const void *data, size_t len);

/* A message whose single payload segment of `size` bytes the caller fills in place. */
TERN_API tern_msg_t *tern_msg_alloc(size_t size);
TERN_API void *tern_msg_buf(tern_msg_t *msg);
/* Release a message from tern_msg_alloc() that was not sent. */
TERN_API void tern_msg_free(tern_msg_t *msg);

/*
 * Like tern_send() with the payload of `msg`, which the runtime takes over whatever the
 * outcome: the caller must not touch msg after the call. To a chare on the same PE the
 * message is handed over without copying the payload.
 */
TERN_API tern_status_t tern_send_msg(const tern_proxy_t *to, tern_ep_t ep, tern_msg_t *msg,
                                     const tern_send_opts_t *opts);

/* ---------------------------------------------------------------------------------------
 * Received messages
 * ------------------------------------------------------------------------------------- */

/* Number of payload segments: the number of buffers the sender gave (0 when it gave none;
 * 1 for a message from tern_msg_alloc). */
TERN_API int tern_msg_nsegs(const tern_msg_t *msg);
/* Segment i and its size; NULL (and *size 0) when i is out of range. */
TERN_API const void *tern_msg_seg(const tern_msg_t *msg, int i, size_t *size);
/* The first segment, or NULL for an empty payload; its size. */
TERN_API const void *tern_msg_data(const tern_msg_t *msg);
TERN_API size_t tern_msg_size(const tern_msg_t *msg);
/* The PE that sent the message (for a broadcast, the PE that started it). */
TERN_API int tern_msg_src_pe(const tern_msg_t *msg);

/* ---------------------------------------------------------------------------------------
 * Coroutines
 *
 * The main function and every entry method registered with TERN_EP_COROUTINE run on a
 * coroutine: a user-level thread with a stack of its own (TERN_ULT_STACK_SIZE bytes, with
 * a guard page below it: an overflow ends the job with a message naming the option).
 * Stacks are pooled and reused. The calls below that "suspend" may only be made from a
 * coroutine; from a plain entry method they fail with TERN_ERR_STATE and a logged error.
 * ------------------------------------------------------------------------------------- */

/* Non-zero when the caller runs on a coroutine. */
TERN_API int tern_in_coroutine(void);

/* Let the PE run what is queued, then come back (suspends). */
TERN_API tern_status_t tern_yield(void);

/* ---------------------------------------------------------------------------------------
 * Futures
 *
 * A future is a plain value (copy it, send it inside messages) naming a slot for N values
 * on the PE that created it. Anyone, on any PE, may set it; only coroutines of the PE
 * that created it may wait on it or read it. It is done when it holds its N values, or
 * as soon as an error is set.
 *
 * Lifetime: a future of one value is released when tern_future_get() takes its value
 * (or its error), unless tern_future_keep() was called; any future is released by
 * tern_future_free(). Freeing a future that was already released does nothing, so code
 * that frees what it got stays correct. After a release the future's error, if it had
 * one, stays readable with tern_future_error() until another failed future is released
 * on this PE. Values that arrive for a released future are dropped.
 * ------------------------------------------------------------------------------------- */

typedef struct tern_future {
    int32_t pe;     /* the PE that created it and holds its values */
    uint32_t n;     /* values expected */
    uint64_t id;    /* unique on that PE; 0 for no future */
} tern_future_t;

/* A future on this PE expecting `nvalues` values, 1 to TERN_FUTURE_MAX_VALUES. */
#define TERN_FUTURE_MAX_VALUES (1 << 26)
TERN_API tern_status_t tern_future_create(int nvalues, tern_future_t *out);

/* Add one value (len bytes, copied; len may be 0). From any PE. Values past the N-th are
 * an error (TERN_ERR_RANGE, logged where the future lives); so is setting, on its own
 * PE, a future that was released (TERN_ERR_STATE). */
TERN_API tern_status_t tern_future_set(const tern_future_t *f, const void *data, size_t len);

/* Make the future done with an error, from any PE: waiters get TERN_ERR_REMOTE and
 * tern_future_error() returns the message and the calling PE. */
TERN_API tern_status_t tern_future_set_error(const tern_future_t *f, const char *fmt,
                                             ...) __attribute__((format(printf, 2, 3)));

/* Suspend the calling coroutine until f is done. TERN_OK, or TERN_ERR_REMOTE when it
 * carries an error. */
TERN_API tern_status_t tern_future_wait(const tern_future_t *f);

/* Wait, then copy value 0 into buf and its size into *len (len may be NULL), and release
 * a one-value future unless it is kept. TERN_ERR_REMOTE when it carries an error (read it
 * with tern_future_error); TERN_ERR_RANGE when the value is larger than cap: nothing is
 * copied, *len gets the size needed and the future is not released. buf NULL with cap 0
 * means the value is not wanted (a wait for completion that releases the future). */
TERN_API tern_status_t tern_future_get(const tern_future_t *f, void *buf, size_t cap,
                                       size_t *len);

/* Keep f when tern_future_get takes its value: it stays until tern_future_free. */
TERN_API tern_status_t tern_future_keep(const tern_future_t *f);

/* Without waiting (creating PE only): non-zero when done. */
TERN_API int tern_future_done(const tern_future_t *f);
/* Number of values set so far. */
TERN_API int tern_future_count(const tern_future_t *f);
/* Value i (0 <= i < n) and its size: valid until the future is released. NULL if none.
 * For a return-value future of a broadcast, value i is element i's (row-major index). */
TERN_API const void *tern_future_value(const tern_future_t *f, int i, size_t *len);
/* The error message of a failed future (NULL when none) and the PE where it happened;
 * also for the last failed future released on this PE (see Lifetime above). */
TERN_API const char *tern_future_error(const tern_future_t *f, int *pe);
/* Release the future's record and values (creating PE only); nothing when it was
 * released already. */
TERN_API void tern_future_free(const tern_future_t *f);

/* Suspend until every future of fs[0..n) is done. TERN_ERR_REMOTE if any failed. */
TERN_API tern_status_t tern_future_wait_all(const tern_future_t *fs, int n);

/* Suspend until one of fs[0..n) is done and return its index (the lowest such), or -1
 * when none is left to wait on. Futures with id 0, or released already (their value taken),
 * are passed over: a pool of calls in flight is refilled in place as answers come. Each
 * call costs O(n); for a fixed set, the iterator below is O(1) per answer. */
TERN_API int tern_future_wait_any(const tern_future_t *fs, int n);

/* Iterate over futures as they become done: tern_future_iter_next() returns the index of
 * one that is done and was not returned before (suspending until there is one), or -1
 * when every index has been returned. Each call costs O(1) whatever the number of
 * futures; fs must stay valid until tern_future_iter_fini. */
typedef struct tern_future_iter {
    void *impl;
} tern_future_iter_t;
TERN_API tern_status_t tern_future_iter_init(tern_future_iter_t *it, const tern_future_t *fs,
                                             int n);
TERN_API int tern_future_iter_next(tern_future_iter_t *it);
TERN_API void tern_future_iter_fini(tern_future_iter_t *it);

/* ---------------------------------------------------------------------------------------
 * Invocations that answer
 * ------------------------------------------------------------------------------------- */

#define TERN_CALL_DONE 1 /* the future gets an empty value when the method has returned
                            (for a broadcast: one per member; done when every member's
                            method has returned) */
#define TERN_CALL_RET 2  /* the future gets the method's return value (tern_return); for
                            a broadcast, one per member, in element index order */

/*
 * tern_send() that also creates a future on this PE for the answer `want` names and
 * stores it in *out. A coroutine entry method answers when its coroutine ends. If the
 * method fails (tern_raise), the future carries the error instead.
 */
TERN_API tern_status_t tern_call(const tern_proxy_t *to, tern_ep_t ep, const tern_iov_t *iov,
                                 int niov, int want, const tern_send_opts_t *opts,
                                 tern_future_t *out);

/* tern_call() of one buffer to element idx of the collection `coll` names (see
 * tern_send_elem). */
TERN_API tern_status_t tern_call_elem(const tern_proxy_t *coll, const int32_t *idx,
                                      tern_ep_t ep, const void *data, size_t len, int want,
                                      tern_future_t *out);

/* Inside an entry method: its return value (len bytes, copied; the last call wins). A
 * method that returns nothing answers a TERN_CALL_RET future with an empty value. */
TERN_API void tern_return(const void *data, size_t len);

/* Inside an entry method: it failed. The caller's future gets the message and this PE
 * instead of a value; if nobody asked for an answer, the job ends with the message.
 * Returns to the caller, which should then return. */
TERN_API void tern_raise(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Suspend until the collections (or single chares) that this PE created are built on
 * every PE. */
TERN_API tern_status_t tern_await_created(const tern_proxy_t *ps, int n);

/* ---------------------------------------------------------------------------------------
 * Channels: ordered streams between two chares (Charm4py's Channel)
 * ------------------------------------------------------------------------------------- */

/* One end of a channel, a plain value kept in the chare's state (it moves with it). */
typedef struct tern_channel {
    tern_proxy_t remote; /* the other end's chare */
    uint32_t k;          /* the k-th channel this chare opened to that chare */
    uint32_t magic;
} tern_channel_t;

/*
 * Open the calling chare's next channel to `remote` (a single chare, a group member or an
 * array element, of any collection). The k-th channel A opens to B is joined to the k-th
 * channel B opens to A; several channels between the same two chares are allowed. Messages
 * that come before the end is opened wait for it. From an entry method or a constructor.
 */
TERN_API tern_status_t tern_channel_open(const void *self, const tern_proxy_t *remote,
                                         tern_channel_t *out);
/* Send len bytes (copied) on the channel; asynchronous. They arrive in order, once, even
 * while either end moves. */
TERN_API tern_status_t tern_channel_send(const void *self, const tern_channel_t *ch,
                                         const void *data, size_t len);
/* From a coroutine: suspend until the channel's next message is here, copy it into buf
 * and its size into *len (may be NULL). TERN_ERR_RANGE when it is larger than cap (it
 * stays, *len says how large). */
TERN_API tern_status_t tern_channel_recv(const void *self, const tern_channel_t *ch, void *buf,
                                         size_t cap, size_t *len);
/* Non-zero when a message waits on the channel (recv would not suspend). */
TERN_API int tern_channel_ready(const void *self, const tern_channel_t *ch);
/* From a coroutine: suspend until one of chs[0..n) has a message; its index (the lowest
 * ready one), -1 on bad arguments (Charm4py's charm.iwait over channels: call it again
 * after each recv to take them as they become ready). */
TERN_API int tern_channel_wait_any(const void *self, const tern_channel_t *chs, int n);

/* ---------------------------------------------------------------------------------------
 * Callbacks: where a reduction's result or a quiescence notice goes
 * ------------------------------------------------------------------------------------- */

typedef enum {
    TERN_CB_NONE = 0,
    TERN_CB_FUTURE = 1, /* set the future with the result */
    TERN_CB_SEND = 2,   /* invoke an entry method of a chare, an element, or a whole
                           collection (broadcast) with the result as its payload */
} tern_cb_kind_t;

typedef struct tern_callback {
    uint32_t kind;      /* tern_cb_kind_t */
    uint32_t ep;        /* TERN_CB_SEND: the entry method (global id) */
    tern_future_t future;
    tern_proxy_t proxy;
} tern_callback_t;

TERN_API tern_callback_t tern_cb_future(const tern_future_t *f);
/* Errors as tern_send() for a proxy and entry method that do not match. */
TERN_API tern_status_t tern_cb_send(const tern_proxy_t *to, tern_ep_t ep, tern_callback_t *out);


/* ---------------------------------------------------------------------------------------
 * Reductions
 *
 * Every member of a group or array contributes, from one of its entry methods, and the
 * runtime combines the contributions up a spanning tree of the PEs. The k-th
 * contribution of every member belongs to the k-th reduction of the collection, so
 * several may be in flight. All members of one reduction must give the same reducer, the
 * same data size (except for gather) and the same callback.
 * ------------------------------------------------------------------------------------- */

typedef uint32_t tern_reducer_t;

enum { /* element-wise operations */
    TERN_OP_SUM = 1, TERN_OP_PROD = 2, TERN_OP_MIN = 3, TERN_OP_MAX = 4,
    TERN_OP_LAND = 5, TERN_OP_LOR = 6, TERN_OP_LXOR = 7,
};
enum { /* element types: int32_t, int64_t, float, double, and bool as one byte 0 or 1 */
    TERN_DT_INT32 = 1, TERN_DT_INT64 = 2, TERN_DT_FLOAT = 3, TERN_DT_DOUBLE = 4,
    TERN_DT_BOOL = 5,
};
/* sum, product, min and max on the four number types; land, lor and lxor on bool. */
#define TERN_REDUCER(op, dt) ((tern_reducer_t)(((op) << 8) | (dt)))
#define TERN_REDUCER_NOP 0u          /* no data: a synchronisation */
#define TERN_REDUCER_GATHER 0xff00u  /* contributions concatenated in element index order */

/* Combine `in` into `inout` (both len bytes): a custom reducer, like MPI_Op. It must be
 * associative and commutative; contributions given to it have equal sizes. */
typedef void (*tern_reduce_fn)(void *inout, const void *in, size_t len);

/* Register a custom reducer by name (before tern_run; same rules as tern_type_register). */
TERN_API tern_status_t tern_reducer_register(const char *name, tern_reduce_fn fn,
                                             tern_reducer_t *out);
/* The same with a pointer of the caller's, handed back to fn at every combination. */
typedef void (*tern_reduce_data_fn)(void *inout, const void *in, size_t len, void *data);
TERN_API tern_status_t tern_reducer_register_data(const char *name, tern_reduce_data_fn fn,
                                                  void *data, tern_reducer_t *out);

/* Contribute len bytes from the member whose state is `self` (the `self` of its entry
 * method). The data is copied. Errors: TERN_ERR_INVALID for a self that is no group or
 * array member, an unknown reducer or a bad size for its type. */
TERN_API tern_status_t tern_contribute(const void *self, const void *data, size_t len,
                                       tern_reducer_t reducer, const tern_callback_t *cb);

/* Contribute and wait (coroutine only) for the result, which every contributor gets:
 * copied into out, its size in *len (len may be NULL). A result larger than cap is an
 * error (TERN_ERR_RANGE, logged) after its first cap bytes are copied; out NULL with cap
 * 0 means the result is not wanted. */
TERN_API tern_status_t tern_allreduce(const void *self, const void *data, size_t len,
                                      tern_reducer_t reducer, void *out, size_t cap,
                                      size_t *len_out);

/* Return when every member of self's collection has called it (coroutine only). */
TERN_API tern_status_t tern_barrier(const void *self);

/* ---------------------------------------------------------------------------------------
 * Sections: subsets of groups and arrays addressed as one (Charm4py's sections)
 * ------------------------------------------------------------------------------------- */

/*
 * A section is made on the calling PE (its root), from the members of a group, an array
 * with bounds, or a section made on this PE; its proxy (kind TERN_PROXY_SECTION, dims[0]
 * the member count) is a plain value that any PE may use. tern_send and tern_call
 * (TERN_CALL_DONE: one completion per member) to it multicast over a host-aware tree of
 * the PEs that hold members, correct while members move. Sections are not freed before
 * the job ends: make them once and reuse them.
 */
/* The members at idx (n indices of the collection's ndims each; a group's are PEs). */
TERN_API tern_status_t tern_section_create(const tern_proxy_t *coll, const int32_t *idx, int n,
                                           tern_proxy_t *out);
/* start <= i < stop, i = start + k * step, per dimension (n: the collection's ndims). */
typedef struct tern_slice {
    int32_t start, stop, step;
} tern_slice_t;
TERN_API tern_status_t tern_section_slice(const tern_proxy_t *coll, const tern_slice_t *s, int n,
                                          tern_proxy_t *out);
/* The section (0 to nsections - 1) a member belongs to, or < 0 for none. */
typedef int (*tern_section_fn)(const int32_t *idx, int ndims, void *arg);
/* nsections disjoint sections at once, out[0..nsections) (Charm4py's charm.split); with
 * nsections 1, a section from a predicate. A part may be empty (a multicast to it does
 * nothing; a call to it is an error). */
TERN_API tern_status_t tern_section_split(const tern_proxy_t *coll, int nsections,
                                          tern_section_fn fn, void *arg, tern_proxy_t *out);
/* The union of n collections and sections of one chare type, each member once
 * (Charm4py's charm.combine). */
TERN_API tern_status_t tern_section_combine(const tern_proxy_t *ps, int n, tern_proxy_t *out);
/* A constrained group (Charm4py's Group(type, onPEs=...)): one member on each of the n
 * PEs listed, its index its PE; *out is a section of them all (multicasts and section
 * reductions over it). The members are the elements of a sparse 1-D array (their
 * tern_self_collection): messages to one by its index reach it, and the array's own
 * reductions count them all once the call returned in a coroutine (it waits for the
 * insertions to settle; elsewhere they settle soon after). */
TERN_API tern_status_t tern_group_create_on(tern_type_t type, const int *pes, int n,
                                            const tern_iov_t *args, int nargs,
                                            tern_proxy_t *out);
/* A reduction over the section: the calling member's contribution (as tern_contribute);
 * every member contributes, in the same order; gather is in member order. */
TERN_API tern_status_t tern_section_contribute(const void *self, const tern_proxy_t *section,
                                               const void *data, size_t len,
                                               tern_reducer_t reducer,
                                               const tern_callback_t *cb);
/* The same with the result to every member (a coroutine waits for it). */
TERN_API tern_status_t tern_section_allreduce(const void *self, const tern_proxy_t *section,
                                              const void *data, size_t len,
                                              tern_reducer_t reducer, void *out, size_t cap,
                                              size_t *out_len);

/* ---------------------------------------------------------------------------------------
 * Quiescence detection and timers
 * ------------------------------------------------------------------------------------- */

/* Call cb (with an empty payload) once no PE executes anything, no message is queued or
 * in flight and no timer is pending. From any PE; several may be pending. */
TERN_API tern_status_t tern_qd_start(const tern_callback_t *cb);
/* Suspend the calling coroutine until quiescence. */
TERN_API tern_status_t tern_qd_wait(void);

typedef void (*tern_timer_fn)(void *arg);
/* Call fn(arg) on this PE, from the scheduler, no sooner than `seconds` from now. */
TERN_API tern_status_t tern_timer_after(double seconds, tern_timer_fn fn, void *arg);
/* Send one buffer (copied now) to entry method ep of `to` no sooner than `seconds` from
 * now: a chare's timer is a message to itself (tern_self_proxy). The checks of tern_send
 * are made at the call. */
TERN_API tern_status_t tern_timer_send(double seconds, const tern_proxy_t *to, tern_ep_t ep,
                                       const void *data, size_t len);
/* Suspend the calling coroutine for at least `seconds`; the PE goes on running. */
TERN_API tern_status_t tern_sleep(double seconds);

/* ---------------------------------------------------------------------------------------
 * The task pool: functions applied to many inputs on every PE (Charm4py's charm.pool, the
 * engine under multiprocessing-style pools). Every PE works, the calling one included;
 * idle PEs steal work (their own host first); a 1-PE job runs the tasks itself. Several
 * maps may run at once, started from any PE, and tasks may start maps of their own.
 * ------------------------------------------------------------------------------------- */

typedef uint32_t tern_task_t;
/* A task: reads in_len bytes at `in`, writes out_len bytes at `out` (zeroed beforehand
 * where the output travels). It fails with tern_raise (its output is then undefined). */
typedef void (*tern_task_fn)(const void *in, size_t in_len, void *out, size_t out_len);
#define TERN_TASK_COROUTINE 0x1u /* runs on a coroutine: may wait (e.g. on maps it starts) */

/* Register a task by name, before tern_run (every process registers the same ones). */
TERN_API tern_status_t tern_task_register(const char *name, tern_task_fn fn, unsigned flags,
                                          tern_task_t *out);

typedef struct tern_pool_opts {
    int64_t chunk;   /* tasks per chunk (the unit run and answered at once, and the least
                        given away); 0: automatic, about 20 us of tasks by measured times */
    int32_t ncores;  /* PEs taking part, the caller's first (Charm4py's ncores); <= 0: all */
    int32_t pad;
} tern_pool_opts_t;

/*
 * Apply `task` to n inputs of in_size bytes each (in[i] at in + i * in_size), task i's
 * output (out_size bytes) going to out + i * out_size, in order. The buffers must stay
 * valid until the map is done; inputs travel only as they are given out, so a map of
 * 10^7 inputs is not 10^7 messages. opts may be NULL. tern_pool_map waits (from a
 * coroutine) and returns TERN_ERR_REMOTE if a task failed, after every task has run:
 * tern_pool_error() then names the first failed task's index, its PE and its message.
 * tern_pool_map_async returns at once; *done gets an empty value, or the error.
 */
TERN_API tern_status_t tern_pool_map(tern_task_t task, const void *in, size_t in_size,
                                     size_t n, void *out, size_t out_size,
                                     const tern_pool_opts_t *opts);
TERN_API tern_status_t tern_pool_map_async(tern_task_t task, const void *in, size_t in_size,
                                           size_t n, void *out, size_t out_size,
                                           const tern_pool_opts_t *opts, tern_future_t *done);
/* One task with `len` bytes of input (copied): its out_size bytes of output become the
 * value of *result; result NULL: fire and forget (a failure then ends the job). */
TERN_API tern_status_t tern_pool_submit(tern_task_t task, const void *in, size_t len,
                                        size_t out_size, tern_future_t *result);
/* The error of this PE's last failed tern_pool_map (NULL if none) and the PE it was on. */
TERN_API const char *tern_pool_error(int *pe);

#ifdef __cplusplus
}
#endif

#endif
