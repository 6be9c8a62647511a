#include "core/registry.h"

#include <stdlib.h>
#include <string.h>

#include "util/log.h"

static core_type_t *types;
static uint32_t ntypes, types_cap;
static core_ep_t *eps;
static uint32_t neps, eps_cap;
static core_reducer_t *reds;
static uint32_t nreds, reds_cap;
static core_reducer_t **red_gid;
static core_map_t *maps;
static uint32_t nmaps, maps_cap;
static core_map_t **map_gid;
static core_task_t *tasks;
static uint32_t ntasks, tasks_cap;
static core_task_t **task_gid;
static core_type_t **type_gid;
static core_ep_t **ep_gid;
static int frozen;

/* Room for one more entry in a table that holds n of cap. */
static tern_status_t grow(void **table, uint32_t n, uint32_t *cap, size_t size, uint32_t first)
{
    if (n < *cap)
        return TERN_OK;
    uint32_t ncap = *cap ? *cap * 2 : first;
    void *t = realloc(*table, ncap * size);
    if (!t)
        return TERN_ERR_NOMEM;
    *table = t;
    *cap = ncap;
    return TERN_OK;
}

static tern_status_t check_name(const char *call, const char *name)
{
    if (!name || !*name) {
        util_log_error("%s: the name is empty", call);
        return TERN_ERR_INVALID;
    }
    if (strlen(name) >= CORE_NAME_MAX) {
        util_log_error("%s: the name '%.20s...' is longer than %d bytes", call, name,
                       CORE_NAME_MAX - 1);
        return TERN_ERR_INVALID;
    }
    if (frozen) {
        util_log_error("%s('%s'): registration is closed once tern_run has started", call,
                       name);
        return TERN_ERR_STATE;
    }
    return TERN_OK;
}

tern_status_t tern_type_register(const char *name, size_t state_size, tern_ctor_fn ctor,
                                 tern_dtor_fn dtor, tern_type_t *type_out)
{
    tern_status_t st = check_name("tern_type_register", name);
    if (st != TERN_OK)
        return st;
    if (!type_out) {
        util_log_error("tern_type_register('%s'): type_out is NULL", name);
        return TERN_ERR_INVALID;
    }
    for (uint32_t i = 0; i < ntypes; i++) {
        if (strcmp(types[i].name, name) == 0) {
            util_log_error("tern_type_register: chare type '%s' is already registered", name);
            return TERN_ERR_EXISTS;
        }
    }
    if (grow((void **)&types, ntypes, &types_cap, sizeof *types, 16) != TERN_OK)
        return TERN_ERR_NOMEM;
    core_type_t *t = &types[ntypes];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->state_size = state_size;
    t->ctor = ctor;
    t->dtor = dtor;
    *type_out = ntypes++;
    return TERN_OK;
}

tern_status_t tern_type_define(const char *name, size_t state_size, tern_ctor_fn ctor,
                               tern_dtor_fn dtor, const tern_ep_def_t *eps,
                               tern_type_t *type_out)
{
    tern_type_t t;
    tern_status_t st = tern_type_register(name, state_size, ctor, dtor, &t);
    for (const tern_ep_def_t *e = eps; st == TERN_OK && e && e->name; e++)
        st = tern_ep_register_flags(t, e->name, e->fn, e->flags, e->id);
    if (st == TERN_OK && type_out)
        *type_out = t;
    return st;
}

tern_status_t tern_ep_register(tern_type_t type, const char *name, tern_entry_fn fn,
                               tern_ep_t *ep_out)
{
    return tern_ep_register_flags(type, name, fn, 0, ep_out);
}

tern_status_t tern_ep_register_flags(tern_type_t type, const char *name, tern_entry_fn fn,
                                     unsigned flags, tern_ep_t *ep_out)
{
    tern_status_t st = check_name("tern_ep_register", name);
    if (st != TERN_OK)
        return st;
    if (type >= ntypes) {
        util_log_error("tern_ep_register('%s'): %u is not a registered chare type", name,
                       type);
        return TERN_ERR_INVALID;
    }
    if (flags & ~TERN_EP_COROUTINE) {
        util_log_error("tern_ep_register('%s.%s'): unknown flags %#x", types[type].name, name,
                       flags);
        return TERN_ERR_INVALID;
    }
    if (!fn || !ep_out) {
        util_log_error("tern_ep_register('%s.%s'): %s is NULL", types[type].name, name,
                       !fn ? "the function" : "ep_out");
        return TERN_ERR_INVALID;
    }
    for (uint32_t i = 0; i < neps; i++) {
        if (eps[i].type == type && strcmp(eps[i].name, name) == 0) {
            util_log_error("tern_ep_register: entry method '%s.%s' is already registered",
                           types[type].name, name);
            return TERN_ERR_EXISTS;
        }
    }
    if (grow((void **)&eps, neps, &eps_cap, sizeof *eps, 32) != TERN_OK)
        return TERN_ERR_NOMEM;
    core_ep_t *e = &eps[neps];
    memset(e, 0, sizeof *e);
    strcpy(e->name, name);
    e->type = type;
    e->fn = fn;
    e->flags = flags;
    *ep_out = neps++;
    return TERN_OK;
}

static tern_status_t reducer_register(const char *call, const char *name, tern_reduce_fn fn,
                                      tern_reduce_data_fn fn_data, void *data,
                                      tern_reducer_t *out)
{
    tern_status_t st = check_name(call, name);
    if (st != TERN_OK)
        return st;
    if ((!fn && !fn_data) || !out) {
        util_log_error("%s('%s'): %s is NULL", call, name, !out ? "out" : "the function");
        return TERN_ERR_INVALID;
    }
    for (uint32_t i = 0; i < nreds; i++) {
        if (strcmp(reds[i].name, name) == 0) {
            util_log_error("%s: reducer '%s' is already registered", call, name);
            return TERN_ERR_EXISTS;
        }
    }
    if (grow((void **)&reds, nreds, &reds_cap, sizeof *reds, 8) != TERN_OK)
        return TERN_ERR_NOMEM;
    core_reducer_t *r = &reds[nreds];
    memset(r, 0, sizeof *r);
    strcpy(r->name, name);
    r->fn = fn;
    r->fn_data = fn_data;
    r->data = data;
    *out = CORE_RED_CUSTOM | nreds++;
    return TERN_OK;
}

tern_status_t tern_reducer_register(const char *name, tern_reduce_fn fn, tern_reducer_t *out)
{
    return reducer_register("tern_reducer_register", name, fn, NULL, NULL, out);
}

tern_status_t tern_reducer_register_data(const char *name, tern_reduce_data_fn fn, void *data,
                                         tern_reducer_t *out)
{
    return reducer_register("tern_reducer_register_data", name, NULL, fn, data, out);
}

/* ---- what bindings need: data handed back, the entry method of a message ---- */

tern_status_t tern_type_set_data(tern_type_t type, void *data)
{
    if (type >= ntypes) {
        util_log_error("tern_type_set_data: %u is not a registered chare type", type);
        return TERN_ERR_INVALID;
    }
    types[type].data = data;
    return TERN_OK;
}

void *tern_type_data(tern_type_t type) { return type < ntypes ? types[type].data : NULL; }

tern_status_t tern_ep_set_data(tern_ep_t ep, void *data)
{
    if (ep >= neps) {
        util_log_error("tern_ep_set_data: %u is not a registered entry method", ep);
        return TERN_ERR_INVALID;
    }
    eps[ep].data = data;
    return TERN_OK;
}

void *tern_ep_data(tern_ep_t ep) { return ep < neps ? eps[ep].data : NULL; }

tern_type_t core_type_handle(const core_type_t *t) { return t ? (tern_type_t)(t - types) : TERN_TYPE_NONE; }
tern_ep_t core_ep_handle(const core_ep_t *e) { return e ? (tern_ep_t)(e - eps) : TERN_EP_NONE; }

static tern_status_t map_add(const char *call, const char *name, tern_map_fn fn,
                             tern_map_data_fn fn_data, void *data, tern_map_t *out)
{
    tern_status_t st = check_name(call, name);
    if (st != TERN_OK)
        return st;
    if ((!fn && !fn_data) || !out) {
        util_log_error("%s('%s'): %s is NULL", call, name, !out ? "out" : "the function");
        return TERN_ERR_INVALID;
    }
    for (uint32_t i = 0; i < nmaps; i++) {
        if (strcmp(maps[i].name, name) == 0) {
            util_log_error("%s: map '%s' is already registered", call, name);
            return TERN_ERR_EXISTS;
        }
    }
    if (grow((void **)&maps, nmaps, &maps_cap, sizeof *maps, 4) != TERN_OK)
        return TERN_ERR_NOMEM;
    core_map_t *m = &maps[nmaps];
    memset(m, 0, sizeof *m);
    strcpy(m->name, name);
    m->fn = fn;
    m->fn_data = fn_data;
    m->data = data;
    *out = CORE_MAP_CUSTOM | nmaps++;
    return TERN_OK;
}

tern_status_t tern_map_register(const char *name, tern_map_fn fn, tern_map_t *out)
{
    return map_add("tern_map_register", name, fn, NULL, NULL, out);
}

tern_status_t tern_map_register_data(const char *name, tern_map_data_fn fn, void *data,
                                     tern_map_t *out)
{
    return map_add("tern_map_register_data", name, NULL, fn, data, out);
}

tern_status_t tern_task_register(const char *name, tern_task_fn fn, unsigned flags,
                                 tern_task_t *out)
{
    tern_status_t st = check_name("tern_task_register", name);
    if (st != TERN_OK)
        return st;
    if (!fn || !out || (flags & ~TERN_TASK_COROUTINE)) {
        util_log_error("tern_task_register('%s'): %s", name,
                       !fn ? "the function is NULL" : !out ? "out is NULL" : "unknown flags");
        return TERN_ERR_INVALID;
    }
    for (uint32_t i = 0; i < ntasks; i++) {
        if (strcmp(tasks[i].name, name) == 0) {
            util_log_error("tern_task_register: task '%s' is already registered", name);
            return TERN_ERR_EXISTS;
        }
    }
    if (grow((void **)&tasks, ntasks, &tasks_cap, sizeof *tasks, 4) != TERN_OK)
        return TERN_ERR_NOMEM;
    core_task_t *t = &tasks[ntasks];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->fn = fn;
    t->flags = flags;
    *out = ntasks++;
    return TERN_OK;
}

static int cmp_task(const void *a, const void *b)
{
    return strcmp((*(core_task_t *const *)a)->name, (*(core_task_t *const *)b)->name);
}

tern_status_t tern_type_migratable(tern_type_t type, tern_pup_fn pup, tern_arrived_fn arrived)
{
    if (frozen) {
        util_log_error("tern_type_migratable: registration is closed once tern_run has "
                       "started");
        return TERN_ERR_STATE;
    }
    if (type >= ntypes) {
        util_log_error("tern_type_migratable: %u is not a registered chare type", type);
        return TERN_ERR_INVALID;
    }
    types[type].migratable = 1;
    types[type].pup = pup;
    types[type].arrived = arrived;
    return TERN_OK;
}

tern_status_t core_type_set_resume(const char *call, tern_type_t type, tern_ep_t ep)
{
    if (frozen) {
        util_log_error("%s: registration is closed once tern_run has started", call);
        return TERN_ERR_STATE;
    }
    if (type >= ntypes || ep >= neps || eps[ep].type != type) {
        util_log_error("%s: %s", call, type >= ntypes ? "not a registered chare type"
                                       : ep >= neps   ? "not a registered entry method"
                                                      : "the entry method is not one of the "
                                                        "type's");
        return TERN_ERR_INVALID;
    }
    types[type].has_resume = 1;
    types[type].resume_ep = ep;
    return TERN_OK;
}

static int cmp_map(const void *a, const void *b)
{
    return strcmp((*(core_map_t *const *)a)->name, (*(core_map_t *const *)b)->name);
}

static int cmp_red(const void *a, const void *b)
{
    return strcmp((*(core_reducer_t *const *)a)->name, (*(core_reducer_t *const *)b)->name);
}

static int cmp_type(const void *a, const void *b)
{
    return strcmp((*(core_type_t *const *)a)->name, (*(core_type_t *const *)b)->name);
}

static int cmp_ep(const void *a, const void *b)
{
    const core_ep_t *x = *(core_ep_t *const *)a, *y = *(core_ep_t *const *)b;
    int c = strcmp(types[x->type].name, types[y->type].name);
    return c ? c : strcmp(x->name, y->name);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

uint64_t core_registry_freeze(void)
{
    frozen = 1;
    free(type_gid);
    free(ep_gid);
    type_gid = malloc((ntypes + 1) * sizeof *type_gid);
    ep_gid = malloc((neps + 1) * sizeof *ep_gid);
    free(red_gid);
    red_gid = malloc((nreds + 1) * sizeof *red_gid);
    free(map_gid);
    map_gid = malloc((nmaps + 1) * sizeof *map_gid);
    if (!type_gid || !ep_gid || !red_gid || !map_gid) {
        util_log_error("tern_run: out of memory building the registry");
        abort();
    }
    for (uint32_t i = 0; i < ntypes; i++)
        type_gid[i] = &types[i];
    for (uint32_t i = 0; i < neps; i++)
        ep_gid[i] = &eps[i];
    qsort(type_gid, ntypes, sizeof *type_gid, cmp_type);
    qsort(ep_gid, neps, sizeof *ep_gid, cmp_ep);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (uint32_t i = 0; i < ntypes; i++) {
        type_gid[i]->gid = i;
        h = fnv(h, type_gid[i]->name, strlen(type_gid[i]->name) + 1);
        uint64_t sz = type_gid[i]->state_size;
        h = fnv(h, &sz, sizeof sz);
        h = fnv(h, &type_gid[i]->migratable, sizeof type_gid[i]->migratable);
    }
    for (uint32_t i = 0; i < neps; i++) {
        ep_gid[i]->gid = i;
        ep_gid[i]->type_gid = types[ep_gid[i]->type].gid;
        h = fnv(h, &ep_gid[i]->type_gid, sizeof ep_gid[i]->type_gid);
        h = fnv(h, ep_gid[i]->name, strlen(ep_gid[i]->name) + 1);
        h = fnv(h, &ep_gid[i]->flags, sizeof ep_gid[i]->flags);
    }
    for (uint32_t i = 0; i < nreds; i++)
        red_gid[i] = &reds[i];
    qsort(red_gid, nreds, sizeof *red_gid, cmp_red);
    for (uint32_t i = 0; i < nreds; i++) {
        red_gid[i]->gid = CORE_RED_CUSTOM | i;
        h = fnv(h, red_gid[i]->name, strlen(red_gid[i]->name) + 1);
    }
    for (uint32_t i = 0; i < nmaps; i++)
        map_gid[i] = &maps[i];
    qsort(map_gid, nmaps, sizeof *map_gid, cmp_map);
    for (uint32_t i = 0; i < nmaps; i++) {
        map_gid[i]->gid = CORE_MAP_CUSTOM | i;
        h = fnv(h, map_gid[i]->name, strlen(map_gid[i]->name) + 1);
    }
    free(task_gid);
    task_gid = malloc((ntasks + 1) * sizeof *task_gid);
    if (!task_gid) {
        util_log_error("tern_run: out of memory building the registry");
        abort();
    }
    for (uint32_t i = 0; i < ntasks; i++)
        task_gid[i] = &tasks[i];
    qsort(task_gid, ntasks, sizeof *task_gid, cmp_task);
    for (uint32_t i = 0; i < ntasks; i++) {
        task_gid[i]->gid = i;
        h = fnv(h, task_gid[i]->name, strlen(task_gid[i]->name) + 1);
        h = fnv(h, &task_gid[i]->flags, sizeof task_gid[i]->flags);
    }
    return h;
}

int core_registry_frozen(void) { return frozen; }

void core_registry_reset(void)
{
    free(types);
    free(eps);
    free(type_gid);
    free(ep_gid);
    free(reds);
    free(red_gid);
    reds = NULL;
    red_gid = NULL;
    free(maps);
    free(map_gid);
    maps = NULL;
    map_gid = NULL;
    nmaps = maps_cap = 0;
    free(tasks);
    free(task_gid);
    tasks = NULL;
    task_gid = NULL;
    ntasks = tasks_cap = 0;
    nreds = reds_cap = 0;
    types = NULL;
    eps = NULL;
    type_gid = NULL;
    ep_gid = NULL;
    ntypes = types_cap = neps = eps_cap = 0;
    frozen = 0;
}

const core_type_t *core_type_local(tern_type_t t) { return t < ntypes ? &types[t] : NULL; }
uint32_t core_ep_count(void) { return neps; }

const core_ep_t *core_ep_local(tern_ep_t ep) { return ep < neps ? &eps[ep] : NULL; }

const core_type_t *core_type_by_gid(uint32_t gid)
{
    return frozen && gid < ntypes ? type_gid[gid] : NULL;
}

const core_ep_t *core_ep_by_gid(uint32_t gid)
{
    return frozen && gid < neps ? ep_gid[gid] : NULL;
}

const core_reducer_t *core_reducer_local(tern_reducer_t r)
{
    uint32_t i = r & ~CORE_RED_CUSTOM;
    return (r & CORE_RED_CUSTOM) && i < nreds ? &reds[i] : NULL;
}

const core_reducer_t *core_reducer_by_gid(uint32_t gid)
{
    uint32_t i = gid & ~CORE_RED_CUSTOM;
    return frozen && (gid & CORE_RED_CUSTOM) && i < nreds ? red_gid[i] : NULL;
}

const core_map_t *core_map_local(tern_map_t m)
{
    uint32_t i = m & ~CORE_MAP_CUSTOM;
    return (m & CORE_MAP_CUSTOM) && i < nmaps ? &maps[i] : NULL;
}

const core_map_t *core_map_by_gid(uint32_t gid)
{
    uint32_t i = gid & ~CORE_MAP_CUSTOM;
    return frozen && (gid & CORE_MAP_CUSTOM) && i < nmaps ? map_gid[i] : NULL;
}

const core_task_t *core_task_local(tern_task_t t) { return t < ntasks ? &tasks[t] : NULL; }

const core_task_t *core_task_by_gid(uint32_t gid)
{
    return frozen && gid < ntasks ? task_gid[gid] : NULL;
}
