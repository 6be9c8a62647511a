/*
 * tern._core, what every part uses: errors as Python exceptions or the job's end, proxies
 * and indices as Python values, a message's segments (out of Python and into it), and
 * calling the runtime's hooks.
 */
#include "_parts.h"

#include <stdlib.h>
#include <string.h>

/* A Python exception escaped into C: print it and end the job naming where. */
void py_fail(const char *where)
{
    PyErr_Print();
    fflush(stderr);
    tern_abort("a Python exception escaped %s (traceback above)", where);
}

PyObject *py_failed(const char *call, tern_status_t st)
{
    if (!PyErr_Occurred())
        PyErr_Format(PyExc_RuntimeError, "%s: %s", call, tern_strerror(st));
    return NULL;
}

PyObject *py_proxy_bytes(const tern_proxy_t *p)
{
    return PyBytes_FromStringAndSize((const char *)p, sizeof *p);
}

int py_proxy_from(PyObject *b, tern_proxy_t *p)
{
    if (!PyBytes_Check(b) || PyBytes_GET_SIZE(b) != (Py_ssize_t)sizeof *p) {
        PyErr_SetString(PyExc_TypeError, "not a Tern proxy");
        return -1;
    }
    memcpy(p, PyBytes_AS_STRING(b), sizeof *p);
    return 0;
}

PyObject *py_index_tuple(const int32_t *idx, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++) {
        PyObject *v = PyLong_FromLong(idx[i]);
        if (!v) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

int py_index_from(PyObject *seq, int32_t *d, int *n)
{
    PyObject *f = PySequence_Fast(seq, "an index or dims must be a sequence of ints");
    if (!f)
        return -1;
    *n = (int)PySequence_Fast_GET_SIZE(f);
    if (*n < 1 || *n > TERN_MAX_DIMS) {
        Py_DECREF(f);
        PyErr_Format(PyExc_ValueError, "%d dimensions: 1 to %d are possible", *n,
                     TERN_MAX_DIMS);
        return -1;
    }
    for (int i = 0; i < *n; i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(f, i));
        if (v == -1 && PyErr_Occurred())
            break;
        if (v < INT32_MIN || v > INT32_MAX) {
            PyErr_Format(PyExc_OverflowError, "index %ld does not fit 32 bits", v);
            break;
        }
        d[i] = (int32_t)v;
    }
    Py_DECREF(f);
    return PyErr_Occurred() ? -1 : 0;
}

int py_segs_from(py_segs_t *s, PyObject *header, PyObject *bufs)
{
    s->n = s->nviews = 0;
    s->iov = s->iov_in;
    s->views = s->views_in;
    if (!PyBytes_Check(header)) {
        PyErr_SetString(PyExc_TypeError, "a message header must be bytes");
        return -1;
    }
    s->iov[0] = (tern_iov_t){PyBytes_AS_STRING(header), (size_t)PyBytes_GET_SIZE(header)};
    s->n = 1;
    if (bufs == Py_None || !bufs)
        return 0;
    PyObject *f = PySequence_Fast(bufs, "buffers must be a sequence");
    if (!f)
        return -1;
    Py_ssize_t nb = PySequence_Fast_GET_SIZE(f);
    if (nb + 1 > TERN_MAX_IOV) {
        Py_DECREF(f);
        PyErr_Format(PyExc_ValueError, "%zd buffers in one message (at most %d)", nb,
                     TERN_MAX_IOV - 1);
        return -1;
    }
    if (nb + 1 > PY_SEGS_INLINE) {
        tern_iov_t *iov = malloc(((size_t)nb + 1) * sizeof *iov);
        Py_buffer *views = malloc((size_t)nb * sizeof *views);
        if (!iov || !views) {
            free(iov);
            free(views);
            Py_DECREF(f);
            PyErr_NoMemory();
            return -1;
        }
        iov[0] = s->iov[0];
        s->iov = iov;
        s->views = views;
    }
    for (Py_ssize_t i = 0; i < nb; i++) {
        Py_buffer *v = &s->views[s->nviews];
        if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(f, i), v, PyBUF_FULL_RO) < 0)
            break;
        s->nviews++;
        if (!PyBuffer_IsContiguous(v, 'A')) {
            PyErr_SetString(PyExc_BufferError, "an out-of-band buffer is not contiguous");
            break;
        }
        s->iov[s->n++] = (tern_iov_t){v->buf, (size_t)v->len};
    }
    Py_DECREF(f);
    return PyErr_Occurred() ? -1 : 0;
}

void py_segs_release(py_segs_t *s)
{
    for (int i = 0; i < s->nviews; i++)
        PyBuffer_Release(&s->views[i]);
    s->nviews = 0;
    if (s->iov != s->iov_in) {
        free(s->iov);
        free(s->views);
        s->iov = s->iov_in;
        s->views = s->views_in;
    }
}

/* A received message as (header bytes, list of bytearrays or None): each out-of-band
 * buffer is copied once, into memory the receiver owns and may keep. */
int py_segs_of(const tern_msg_t *msg, PyObject **header, PyObject **bufs)
{
    int n = tern_msg_nsegs(msg);
    size_t len;
    const void *p = n ? tern_msg_seg(msg, 0, &len) : NULL;
    *bufs = NULL;
    *header = PyBytes_FromStringAndSize(p, p ? (Py_ssize_t)len : 0);
    if (!*header)
        return -1;
    if (n <= 1) {
        *bufs = Py_NewRef(Py_None);
        return 0;
    }
    if (!(*bufs = PyList_New(n - 1)))
        return -1;
    for (int i = 1; i < n; i++) {
        p = tern_msg_seg(msg, i, &len);
        PyObject *b = PyByteArray_FromStringAndSize(p, (Py_ssize_t)len);
        if (!b)
            return -1;
        PyList_SET_ITEM(*bufs, i - 1, b);
    }
    return 0;
}

/* The runtime's _begin, called once before anything else on this PE (it learns its PE). */
static PyObject *h_begin;
static int began;

int py_hooks_begin(PyObject *runtime)
{
    return (h_begin = PyObject_GetAttrString(runtime, "_begin")) ? 0 : -1;
}

/* The first call into Python on a PE tells the runtime which PE it is. */
static int begin(void)
{
    if (began)
        return 0;
    began = 1;
    PyObject *pe = PyLong_FromLong(tern_my_pe());
    PyObject *r = pe ? PyObject_CallOneArg(h_begin, pe) : NULL;
    Py_XDECREF(pe);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

PyObject *py_call_hook(PyObject *fn, PyObject *const *args, size_t n)
{
    return begin() < 0 ? NULL : PyObject_Vectorcall(fn, args, n, NULL);
}
