/*
 * The reducers: built-in element-wise operations on vectors of numbers and booleans,
 * gather, and custom reducers registered by name (global ids carry CORE_RED_CUSTOM).
 */
#ifndef TERN_CORE_REDUCE_OPS_H
#define TERN_CORE_REDUCE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include <tern/tern.h>

/* The global id of reducer `r` for a contribution of len bytes, or an error with a reason
 * in *why (static text). */
tern_status_t core_red_resolve(tern_reducer_t r, size_t len, uint32_t *gid, const char **why);
/* inout = inout (op) in, len bytes each, for a global id that is neither NOP nor GATHER. */
void core_red_combine(uint32_t gid, void *inout, const void *in, size_t len);
/* A name for messages: "sum.int32", "gather", "custom 'name'". */
const char *core_red_name(uint32_t gid, char *buf, size_t cap);

#endif
