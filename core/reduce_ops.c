#include "core/reduce_ops.h"

#include <stdio.h>

#include "core/registry.h"

static const char *const op_names[] = {"?", "sum", "product", "min", "max", "and", "or", "xor"};
static const char *const dt_names[] = {"?", "int32", "int64", "float", "double", "bool"};
static const size_t dt_size[] = {0, 4, 8, 4, 8, 1};

tern_status_t core_red_resolve(tern_reducer_t r, size_t len, uint32_t *gid, const char **why)
{
    if (r == TERN_REDUCER_NOP) {
        if (len) {
            *why = "the nop reducer takes no data";
            return TERN_ERR_INVALID;
        }
    } else if (r == TERN_REDUCER_GATHER) {
        /* any size */
    } else if (r & CORE_RED_CUSTOM) {
        const core_reducer_t *c = core_reducer_local(r);
        if (!c) {
            *why = "no such custom reducer";
            return TERN_ERR_INVALID;
        }
        *gid = c->gid;
        return TERN_OK;
    } else {
        unsigned op = r >> 8, dt = r & 0xff;
        int numeric = op >= TERN_OP_SUM && op <= TERN_OP_MAX && dt >= TERN_DT_INT32 &&
                      dt <= TERN_DT_DOUBLE;
        int logical = op >= TERN_OP_LAND && op <= TERN_OP_LXOR && dt == TERN_DT_BOOL;
        if (r > 0xffff || (!numeric && !logical)) {
            *why = "unknown reducer (sum, product, min and max take int32, int64, float or "
                   "double; and, or and xor take bool)";
            return TERN_ERR_INVALID;
        }
        if (len % dt_size[dt]) {
            *why = "the data is not a whole number of elements of the reducer's type";
            return TERN_ERR_INVALID;
        }
    }
    *gid = r;
    return TERN_OK;
}

#define NUMERIC(T, U)                                                                   \
    do {                                                                                \
        T *a = inout;                                                                   \
        const T *b = in;                                                                \
        size_t n = len / sizeof(T);                                                     \
        switch (op) {                                                                   \
        case TERN_OP_SUM:                                                               \
            for (size_t i = 0; i < n; i++)                                              \
                a[i] = (T)((U)a[i] + (U)b[i]);                                          \
            break;                                                                      \
        case TERN_OP_PROD:                                                              \
            for (size_t i = 0; i < n; i++)                                              \
                a[i] = (T)((U)a[i] * (U)b[i]);                                          \
            break;                                                                      \
        case TERN_OP_MIN:                                                               \
            for (size_t i = 0; i < n; i++)                                              \
                a[i] = b[i] < a[i] ? b[i] : a[i];                                       \
            break;                                                                      \
        default:                                                                        \
            for (size_t i = 0; i < n; i++)                                              \
                a[i] = b[i] > a[i] ? b[i] : a[i];                                       \
            break;                                                                      \
        }                                                                               \
    } while (0)

void core_red_combine(uint32_t gid, void *inout, const void *in, size_t len)
{
    if (gid & CORE_RED_CUSTOM) {
        const core_reducer_t *r = core_reducer_by_gid(gid);
        if (r->fn_data)
            r->fn_data(inout, in, len, r->data);
        else
            r->fn(inout, in, len);
        return;
    }
    unsigned op = gid >> 8, dt = gid & 0xff;
    switch (dt) {
    case TERN_DT_INT32:
        NUMERIC(int32_t, uint32_t); /* integers wrap instead of overflowing */
        break;
    case TERN_DT_INT64:
        NUMERIC(int64_t, uint64_t);
        break;
    case TERN_DT_FLOAT:
        NUMERIC(float, float);
        break;
    case TERN_DT_DOUBLE:
        NUMERIC(double, double);
        break;
    case TERN_DT_BOOL: {
        unsigned char *a = inout;
        const unsigned char *b = in;
        for (size_t i = 0; i < len; i++) {
            int x = a[i] != 0, y = b[i] != 0;
            a[i] = (unsigned char)(op == TERN_OP_LAND ? x && y : op == TERN_OP_LOR ? x || y
                                                                                   : x ^ y);
        }
        break;
    }
    default:
        break;
    }
}

const char *core_red_name(uint32_t gid, char *buf, size_t cap)
{
    if (gid == TERN_REDUCER_NOP)
        snprintf(buf, cap, "nop");
    else if (gid == TERN_REDUCER_GATHER)
        snprintf(buf, cap, "gather");
    else if (gid & CORE_RED_CUSTOM) {
        const core_reducer_t *c = core_reducer_by_gid(gid);
        snprintf(buf, cap, "custom '%s'", c ? c->name : "?");
    } else {
        unsigned op = gid >> 8, dt = gid & 0xff;
        snprintf(buf, cap, "%s.%s", op <= 7 ? op_names[op] : "?", dt <= 5 ? dt_names[dt] : "?");
    }
    return buf;
}
