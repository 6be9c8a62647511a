#include "core/handler.h"

#include <stdlib.h>
#include <string.h>

#include "core/loc.h"
#include "core/pe.h"
#include "core/stall.h"
#include "util/log.h"

#define P(t) ((uint16_t)sizeof(t))

/* The core's own kinds, by number. */
static const core_handler_def_t core_kinds[CORE_K_CORE_END] = {
    [CORE_K_ENTRY] = {"core.entry", core_h_entry, P(core_part_entry_t), CORE_H_COUNTED},
    [CORE_K_BCAST] = {"core.bcast", core_h_bcast, P(core_part_bcast_t), CORE_H_COUNTED},
    [CORE_K_CREATE_CHARE] = {"core.create_chare", core_h_create_chare,
                             P(core_part_create_t), CORE_H_COUNTED},
    [CORE_K_CREATE_COLL] = {"core.create_coll", core_h_create_coll, P(core_part_create_t),
                            CORE_H_COUNTED},
    [CORE_K_FUT_SET] = {"core.fut_set", core_h_fut_set, P(core_part_fut_t), CORE_H_COUNTED},
    [CORE_K_RED_PART] = {"core.red_part", core_h_red_part, P(core_part_red_t), CORE_H_COUNTED},
    [CORE_K_RED_XCHG] = {"core.red_xchg", core_h_red_xchg, P(core_part_red_t), CORE_H_COUNTED},
    [CORE_K_RED_DOWN] = {"core.red_down", core_h_red_down, P(core_part_red_t), CORE_H_COUNTED},
    [CORE_K_EXIT_REQ] = {"core.exit_req", core_h_exit_req, P(core_part_exit_t), 0},
    [CORE_K_EXIT] = {"core.exit", core_h_exit, P(core_part_exit_t), 0},
    [CORE_K_QD_START] = {"core.qd_start", core_h_qd_start, 0, 0},
    [CORE_K_QD_PROBE] = {"core.qd_probe", core_h_qd_probe, P(core_part_qd_t), 0},
    [CORE_K_QD_REPLY] = {"core.qd_reply", core_h_qd_reply, P(core_part_qd_t), 0},
    /* Handled on arrival (core_deliver), never dispatched. */
    [CORE_K_CREDIT] = {"core.credit", NULL, P(core_part_credit_t), 0},
    [CORE_K_STALL_ASK] = {"core.stall_ask", core_h_stall_ask, 0, 0},
    [CORE_K_STALL_INFO] = {"core.stall_info", core_h_stall_info, 0, 0},
    [CORE_K_EXIT_DONE] = {"core.exit_done", core_h_exit_done, 0, 0},
    [CORE_K_EXIT_CLOSE] = {"core.exit_close", core_h_exit_close, 0, 0},
    [CORE_K_MIGRATE] = {"core.migrate", core_h_migrate, P(core_part_mig_t), CORE_H_COUNTED},
    [CORE_K_LOC] = {"core.loc", core_h_loc, P(core_part_loc_t), CORE_H_COUNTED},
    [CORE_K_INSERT] = {"core.insert", core_h_insert, P(core_part_create_t), CORE_H_COUNTED},
    [CORE_K_DESTROY] = {"core.destroy", core_h_destroy, P(core_part_entry_t), CORE_H_COUNTED},
    [CORE_K_BCAST_ELEM] = {"core.bcast_elem", core_h_bcast_elem, P(core_part_bcast_t),
                           CORE_H_COUNTED},
    [CORE_K_ARRIVED] = {"core.arrived", core_h_arrived, P(core_part_loc_t), CORE_H_COUNTED},
    [CORE_K_RED_CONTRIB] = {"core.red_contrib", core_h_red_contrib, P(core_part_red_t),
                            CORE_H_COUNTED},
    [CORE_K_RED_RESULT] = {"core.red_result", core_h_red_result, P(core_part_red_t),
                           CORE_H_COUNTED},
    [CORE_K_RED_LEAVE] = {"core.red_leave", core_h_red_leave, P(core_part_red_t),
                          CORE_H_COUNTED},
    [CORE_K_RED_STAND] = {"core.red_stand", core_h_red_stand, P(core_part_red_t),
                          CORE_H_COUNTED},
    [CORE_K_CENSUS_START] = {"core.census_start", core_h_census_start, P(core_part_census_t),
                             CORE_H_COUNTED},
    [CORE_K_CENSUS_ASK] = {"core.census_ask", core_h_census_ask, P(core_part_census_t),
                           CORE_H_COUNTED},
    [CORE_K_CENSUS_REPLY] = {"core.census_reply", core_h_census_reply, P(core_part_census_t),
                             CORE_H_COUNTED},
    [CORE_K_FREEZE] = {"core.freeze", core_h_freeze, P(core_part_census_t), CORE_H_COUNTED},
};

/* Every kind by number, once frozen; the modules' registrations until then. */
core_handler_def_t core_kinds_table[CORE_KINDS_MAX];
uint16_t core_kind_flags[CORE_KINDS_MAX];
static core_handler_def_t modules[CORE_KINDS_MAX];
static uint8_t *module_out[CORE_KINDS_MAX];
static int nmodules;
static int frozen;

tern_status_t core_handler_register(const core_handler_def_t *def, uint8_t *kind_out)
{
    if (frozen) {
        util_log_error("core_handler_register('%s'): kinds are registered before tern_run",
                       def && def->name ? def->name : "?");
        return TERN_ERR_STATE;
    }
    if (!def || !def->name || !*def->name || !def->fn || !kind_out ||
        def->part > CORE_PART_MAX || def->part % 4) {
        util_log_error("core_handler_register('%s'): a name, a handler, a part of at most "
                       "%d bytes (a multiple of 4) and a place for the kind are needed",
                       def && def->name ? def->name : "?", CORE_PART_MAX);
        return TERN_ERR_INVALID;
    }
    for (int i = 1; i < CORE_K_CORE_END; i++)
        if (strcmp(core_kinds[i].name, def->name) == 0)
            goto exists;
    for (int i = 0; i < nmodules; i++)
        if (strcmp(modules[i].name, def->name) == 0)
            goto exists;
    if (CORE_K_CORE_END + nmodules >= CORE_KINDS_MAX) {
        util_log_error("core_handler_register('%s'): more than %d kinds", def->name,
                       CORE_KINDS_MAX);
        return TERN_ERR_NOMEM;
    }
    modules[nmodules] = *def;
    module_out[nmodules++] = kind_out;
    *kind_out = 0;
    return TERN_OK;
exists:
    util_log_error("core_handler_register: kind '%s' is already registered", def->name);
    return TERN_ERR_EXISTS;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const core_handler_def_t *const *)a)->name,
                  (*(const core_handler_def_t *const *)b)->name);
}

static uint64_t mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 0x100000001b3ULL;
    return h;
}

uint64_t core_handlers_freeze(void)
{
    memset(core_kinds_table, 0, sizeof core_kinds_table);
    memcpy(core_kinds_table, core_kinds, sizeof core_kinds);
    const core_handler_def_t *sorted[CORE_KINDS_MAX];
    for (int i = 0; i < nmodules; i++)
        sorted[i] = &modules[i];
    qsort(sorted, (size_t)nmodules, sizeof *sorted, by_name);
    for (int i = 0; i < nmodules; i++) {
        int k = CORE_K_CORE_END + i;
        core_kinds_table[k] = *sorted[i];
        *module_out[sorted[i] - modules] = (uint8_t)k;
    }
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int k = 1; k < CORE_KINDS_MAX; k++) {
        core_kind_flags[k] = core_kinds_table[k].flags;
        if (!core_kinds_table[k].name)
            continue;
        h = mix(h, core_kinds_table[k].name, strlen(core_kinds_table[k].name) + 1);
        h = mix(h, &core_kinds_table[k].part, sizeof core_kinds_table[k].part);
        h = mix(h, &core_kinds_table[k].flags, sizeof core_kinds_table[k].flags);
    }
    frozen = 1;
    return h;
}

void core_handlers_reset(void)
{
    frozen = 0;
    nmodules = 0;
}

