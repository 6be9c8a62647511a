/*
 * tern._core, numeric reductions: Reducer.sum, product, max, min and the logical ones over
 * numbers and numpy arrays are combined by Tern's reduction tree in C, not gathered to one
 * PE. A contribution is a record (tern/reduction.py builds it) that every contributor
 * makes the same size:
 *
 *     offset 0   "NRED"
 *            4   op (PY_OP_*), 5 dtype (PY_DT_*), 6 what it was (Python's), 7 ndims
 *            8   elements (uint64)
 *           16   offset of the data (uint32, 16-byte aligned), 20 length of the rest
 *           24   (reserved), then the shape (int64 each), the data, the rest (the pickled
 *                destination of the result)
 *
 * The combining function adds (or ...) the data of `in` into `inout` and leaves the rest;
 * contributions whose first 24 bytes differ (another type, shape or destination) end the
 * job with a message naming the reduction.
 */
#include "_parts.h"

#include <stdint.h>
#include <string.h>

enum { PY_OP_SUM, PY_OP_PRODUCT, PY_OP_MAX, PY_OP_MIN, PY_OP_AND, PY_OP_OR, PY_OP_XOR };
enum { PY_DT_BOOL, PY_DT_I1, PY_DT_I2, PY_DT_I4, PY_DT_I8, PY_DT_U1, PY_DT_U2, PY_DT_U4,
       PY_DT_U8, PY_DT_F4, PY_DT_F8, PY_DT_COUNT };

#define HDR 24

#define COMBINE(T)                                                                          \
    static void combine_##T(int op, T *a, const T *b, uint64_t n)                           \
    {                                                                                       \
        switch (op) {                                                                       \
        case PY_OP_SUM: for (uint64_t i = 0; i < n; i++) a[i] = (T)(a[i] + b[i]); break;    \
        case PY_OP_PRODUCT: for (uint64_t i = 0; i < n; i++) a[i] = (T)(a[i] * b[i]); break; \
        case PY_OP_MAX: for (uint64_t i = 0; i < n; i++) a[i] = b[i] > a[i] ? b[i] : a[i]; break; \
        case PY_OP_MIN: for (uint64_t i = 0; i < n; i++) a[i] = b[i] < a[i] ? b[i] : a[i]; break; \
        case PY_OP_AND: for (uint64_t i = 0; i < n; i++) a[i] = (T)(a[i] && b[i]); break;   \
        case PY_OP_OR: for (uint64_t i = 0; i < n; i++) a[i] = (T)(a[i] || b[i]); break;    \
        case PY_OP_XOR: for (uint64_t i = 0; i < n; i++) a[i] = (T)(!a[i] != !b[i]); break; \
        }                                                                                   \
    }

typedef unsigned char bool_t;
COMBINE(bool_t)
COMBINE(int8_t)
COMBINE(int16_t)
COMBINE(int32_t)
COMBINE(int64_t)
COMBINE(uint8_t)
COMBINE(uint16_t)
COMBINE(uint32_t)
COMBINE(uint64_t)
COMBINE(float)
COMBINE(double)

static const size_t dt_size[PY_DT_COUNT] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8};

static void py_numeric(void *inout, const void *in, size_t len, void *data)
{
    (void)data;
    unsigned char *a = inout;
    const unsigned char *b = in;
    if (len < HDR || memcmp(a, b, HDR) != 0 || memcmp(a, "NRED", 4) != 0)
        tern_abort("tern (Python): contributions of different types, shapes or "
                   "destinations to one reduction (every member must reduce the same kind "
                   "of data, with the same reducer and callback)");
    int op = a[4], dt = a[5];
    uint64_t n;
    uint32_t off;
    memcpy(&n, a + 8, sizeof n);
    memcpy(&off, a + 16, sizeof off);
    if (dt >= PY_DT_COUNT || op > PY_OP_XOR || off > len || n * dt_size[dt] > len - off)
        tern_abort("tern (Python): a malformed numeric contribution");
    void *x = a + off;
    const void *y = b + off;
    switch (dt) {
    case PY_DT_BOOL: combine_bool_t(op, x, y, n); break;
    case PY_DT_I1: combine_int8_t(op, x, y, n); break;
    case PY_DT_I2: combine_int16_t(op, x, y, n); break;
    case PY_DT_I4: combine_int32_t(op, x, y, n); break;
    case PY_DT_I8: combine_int64_t(op, x, y, n); break;
    case PY_DT_U1: combine_uint8_t(op, x, y, n); break;
    case PY_DT_U2: combine_uint16_t(op, x, y, n); break;
    case PY_DT_U4: combine_uint32_t(op, x, y, n); break;
    case PY_DT_U8: combine_uint64_t(op, x, y, n); break;
    case PY_DT_F4: combine_float(op, x, y, n); break;
    case PY_DT_F8: combine_double(op, x, y, n); break;
    }
}

tern_reducer_t py_numeric_reducer;

int py_reduce_register(void)
{
    if (tern_reducer_register_data("tern.py.numeric", py_numeric, NULL, &py_numeric_reducer) !=
        TERN_OK) {
        PyErr_SetString(PyExc_RuntimeError, "cannot register the numeric reducer");
        return -1;
    }
    return 0;
}
