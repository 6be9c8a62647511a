/*
 * Chare types and entry methods, registered by name before the runtime starts. When it
 * starts, ids are assigned from the sorted names (types by name, entry methods by type
 * name then name) so that every process agrees whatever its order of registration, and a
 * hash of the whole table lets the processes check that they registered the same things.
 * The table is per process: every PE of the process shares it.
 */
#ifndef TERN_CORE_REGISTRY_H
#define TERN_CORE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

#define CORE_NAME_MAX 64

typedef struct {
    char name[CORE_NAME_MAX];
    size_t state_size;
    tern_ctor_fn ctor;
    tern_dtor_fn dtor;
    uint32_t gid;
    int migratable;        /* tern_type_migratable was called */
    tern_pup_fn pup;       /* may be NULL: the state is plain data */
    tern_arrived_fn arrived;
    int has_resume;        /* tern_type_resume was called */
    tern_ep_t resume_ep;   /* local handle of its resume-from-sync entry method */
    void *data;            /* tern_type_set_data */
} core_type_t;

typedef struct core_ep {
    char name[CORE_NAME_MAX];
    uint32_t type;  /* local handle of its chare type */
    tern_entry_fn fn;
    uint32_t flags;  /* TERN_EP_* */
    uint32_t gid;
    uint32_t type_gid;
    void *data;      /* tern_ep_set_data */
} core_ep_t;

/* Custom reducers: handles and global ids carry this bit, built-in reducers do not. */
#define CORE_RED_CUSTOM 0x10000u

typedef struct {
    char name[CORE_NAME_MAX];
    tern_reduce_fn fn;           /* or: */
    tern_reduce_data_fn fn_data; /* tern_reducer_register_data, with its data */
    void *data;
    uint32_t gid;
} core_reducer_t;

/* Placement maps of the program: handles and global ids carry this bit. */
#define CORE_MAP_CUSTOM 0x10000u

typedef struct {
    char name[CORE_NAME_MAX];
    tern_map_fn fn;
    tern_map_data_fn fn_data; /* or this, with data (tern_map_register_data) */
    void *data;
    uint32_t gid;
} core_map_t;

/* Pool tasks (tern_task_register): handles are registration order, global ids name order. */
typedef struct {
    char name[CORE_NAME_MAX];
    tern_task_fn fn;
    unsigned flags;
    uint32_t gid;
} core_task_t;
const core_task_t *core_task_local(tern_task_t t);
const core_task_t *core_task_by_gid(uint32_t gid);

/* The local handle of a type or entry method (TERN_TYPE_NONE / TERN_EP_NONE for NULL). */
tern_type_t core_type_handle(const core_type_t *t);
tern_ep_t core_ep_handle(const core_ep_t *e);

/* Assign ids; returns the table's hash. After this, registration fails. */
uint64_t core_registry_freeze(void);
int core_registry_frozen(void);
/* Allow registration again and forget everything (after a job, for tests). */
void core_registry_reset(void);

/* Lookups by local handle (NULL if unknown) and by global id (NULL if unknown). */
const core_type_t *core_type_local(tern_type_t t);
const core_ep_t *core_ep_local(tern_ep_t ep);
const core_type_t *core_type_by_gid(uint32_t gid);
const core_ep_t *core_ep_by_gid(uint32_t gid);
const core_reducer_t *core_reducer_local(tern_reducer_t r);
const core_reducer_t *core_reducer_by_gid(uint32_t gid);
const core_map_t *core_map_local(tern_map_t m);
const core_map_t *core_map_by_gid(uint32_t gid);
/* Entry methods registered (their global ids are 0 to this - 1). */
uint32_t core_ep_count(void);
/* tern_type_resume, for `call`. */
tern_status_t core_type_set_resume(const char *call, tern_type_t type, tern_ep_t ep);

#endif
