/*
 * tern._core, collections: creating chares, groups and arrays (dense, sparse, with a map,
 * balanced at sync points), inserting elements, sections, what a proxy is, and the host
 * queries. Proxies travel to Python as their bytes.
 */
#include "_parts.h"

#include <stdlib.h>

static PyObject *created(tern_status_t st, const tern_proxy_t *p, const char *call)
{
    return st == TERN_OK ? py_proxy_bytes(p) : py_failed(call, st);
}

/* chare_create(type, pe, header, buffers) -> proxy */
static PyObject *m_chare_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t;
    int pe;
    PyObject *h, *b;
    if (!PyArg_ParseTuple(args, "IiOO", &t, &pe, &h, &b))
        return NULL;
    py_segs_t s;
    tern_proxy_t p;
    tern_status_t st = TERN_ERR_INVALID;
    if (py_segs_from(&s, h, b) == 0)
        st = tern_chare_create(t, pe, s.iov, s.n, &p);
    py_segs_release(&s);
    return created(st, &p, "Chare");
}

/* group_create(type, header, buffers, pes or None) -> proxy (a section with pes) */
static PyObject *m_group_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t;
    PyObject *h, *b, *pes;
    if (!PyArg_ParseTuple(args, "IOOO", &t, &h, &b, &pes))
        return NULL;
    int *on = NULL, n = 0;
    if (pes != Py_None) {
        PyObject *f = PySequence_Fast(pes, "onPEs must be a list of PEs");
        if (!f)
            return NULL;
        n = (int)PySequence_Fast_GET_SIZE(f);
        if (!(on = malloc(((size_t)n + 1) * sizeof *on))) {
            Py_DECREF(f);
            return PyErr_NoMemory();
        }
        for (int i = 0; i < n; i++)
            on[i] = (int)PyLong_AsLong(PySequence_Fast_GET_ITEM(f, i));
        Py_DECREF(f);
        if (PyErr_Occurred()) {
            free(on);
            return NULL;
        }
    }
    py_segs_t s;
    tern_proxy_t p;
    tern_status_t st = TERN_ERR_INVALID;
    if (py_segs_from(&s, h, b) == 0)
        st = on ? tern_group_create_on(t, on, n, s.iov, s.n, &p)
                : tern_group_create(t, s.iov, s.n, NULL, &p);
    py_segs_release(&s);
    free(on);
    return created(st, &p, "Group");
}

/* array_create(type, dims or None, ndims, map, at_sync, header, buffers) -> proxy */
static PyObject *m_array_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t, map;
    int ndims, at_sync;
    PyObject *dims, *h, *b;
    if (!PyArg_ParseTuple(args, "IOiIpOO", &t, &dims, &ndims, &map, &at_sync, &h, &b))
        return NULL;
    int32_t d[TERN_MAX_DIMS];
    if (dims != Py_None && py_index_from(dims, d, &ndims) < 0)
        return NULL;
    tern_array_opts_t o = {.map = map, .flags = at_sync ? TERN_ARRAY_AT_SYNC : 0};
    py_segs_t s;
    tern_proxy_t p;
    tern_status_t st = TERN_ERR_INVALID;
    if (py_segs_from(&s, h, b) == 0)
        st = tern_array_create_opts(t, ndims, dims == Py_None ? NULL : d, s.iov, s.n, &o, &p);
    py_segs_release(&s);
    return created(st, &p, "Array");
}

/* insert(array, index, pe, header, buffers) */
static PyObject *m_insert(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb, *idx, *h, *b;
    int pe;
    if (!PyArg_ParseTuple(args, "OOiOO", &pb, &idx, &pe, &h, &b))
        return NULL;
    tern_proxy_t p;
    int32_t d[TERN_MAX_DIMS];
    int n;
    if (py_proxy_from(pb, &p) < 0 || py_index_from(idx, d, &n) < 0)
        return NULL;
    if (n != p.ndims)
        return PyErr_Format(PyExc_IndexError, "ckInsert: an index of %d dimensions into an "
                            "array of %d", n, p.ndims);
    py_segs_t s;
    tern_status_t st = TERN_ERR_INVALID;
    if (py_segs_from(&s, h, b) == 0)
        st = tern_array_insert(&p, d, pe, s.iov, s.n);
    py_segs_release(&s);
    if (st != TERN_OK)
        return py_failed("ckInsert", st);
    Py_RETURN_NONE;
}

static PyObject *m_done_inserting(PyObject *mod, PyObject *pb)
{
    (void)mod;
    tern_proxy_t p;
    if (py_proxy_from(pb, &p) < 0)
        return NULL;
    tern_status_t st = tern_array_done_inserting(&p);
    if (st != TERN_OK)
        return py_failed("ckDoneInserting", st);
    Py_RETURN_NONE;
}

/* elem(collection, index) -> the member's proxy */
static PyObject *m_elem(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb, *idx;
    if (!PyArg_ParseTuple(args, "OO", &pb, &idx))
        return NULL;
    tern_proxy_t p, e;
    int32_t d[TERN_MAX_DIMS];
    int n;
    if (py_proxy_from(pb, &p) < 0 || py_index_from(idx, d, &n) < 0)
        return NULL;
    if (p.kind == TERN_PROXY_ARRAY && n != p.ndims)
        return PyErr_Format(PyExc_IndexError, "an index of %d dimensions into an array of %d",
                            n, p.ndims);
    tern_status_t st = tern_proxy_elem(&p, d, &e);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_IndexError, "index %R: %s", idx, tern_strerror(st));
    return py_proxy_bytes(&e);
}

/* proxy_info(proxy) -> (kind, ndims, dims, pe, flags, index) */
static PyObject *m_proxy_info(PyObject *mod, PyObject *pb)
{
    (void)mod;
    tern_proxy_t p;
    if (py_proxy_from(pb, &p) < 0)
        return NULL;
    int nd = p.ndims ? p.ndims : 1;
    return Py_BuildValue("(iiNiiN)", (int)p.kind, (int)p.ndims, py_index_tuple(p.dims, nd),
                         (int)p.pe, (int)p.flags, py_index_tuple(p.idx, nd));
}

/* ---- sections ---- */

/* (proxy, list) arguments: the proxy in *p, the list as a fast sequence (or NULL). */
static PyObject *proxy_and_list(PyObject *args, tern_proxy_t *p, const char *what)
{
    PyObject *pb, *list;
    if (!PyArg_ParseTuple(args, "OO", &pb, &list) || py_proxy_from(pb, p) < 0)
        return NULL;
    return PySequence_Fast(list, what);
}

/* section_create(collection, [index, ...]) -> section */
static PyObject *m_section_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    tern_proxy_t p, out;
    PyObject *f = proxy_and_list(args, &p, "a section's members are a list of indices");
    if (!f)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    int nd = p.kind == TERN_PROXY_ARRAY ? p.ndims : 1;
    int32_t *idx = malloc(((size_t)n + 1) * (size_t)nd * sizeof *idx);
    if (!idx) {
        Py_DECREF(f);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PySequence_Fast_GET_ITEM(f, i);
        int k = 1;
        if (PyLong_Check(e)) {
            long v = PyLong_AsLong(e);
            if ((v == -1 && PyErr_Occurred()) || v < INT32_MIN || v > INT32_MAX) {
                if (!PyErr_Occurred())
                    PyErr_Format(PyExc_OverflowError, "index %ld does not fit 32 bits", v);
                break;
            }
            idx[i * nd] = (int32_t)v;
        } else if (py_index_from(e, &idx[i * nd], &k) < 0) {
            break;
        }
        if (k != nd) {
            PyErr_Format(PyExc_IndexError, "a section member's index has %d dimensions, "
                         "the collection %d", k, nd);
            break;
        }
    }
    Py_DECREF(f);
    tern_status_t st = PyErr_Occurred() ? TERN_ERR_INVALID
                                        : tern_section_create(&p, idx, (int)n, &out);
    free(idx);
    return created(st, &out, "section");
}

/* section_slice(collection, [(start, stop, step), ...]) -> section */
static PyObject *m_section_slice(PyObject *mod, PyObject *args)
{
    (void)mod;
    tern_proxy_t p, out;
    PyObject *f = proxy_and_list(args, &p, "slices are a list of (start, stop, step)");
    if (!f)
        return NULL;
    tern_slice_t sl[TERN_MAX_DIMS];
    int n = (int)PySequence_Fast_GET_SIZE(f);
    for (int i = 0; i < n && i < TERN_MAX_DIMS; i++)
        if (!PyArg_ParseTuple(PySequence_Fast_GET_ITEM(f, i), "iii", &sl[i].start, &sl[i].stop,
                              &sl[i].step))
            break;
    Py_DECREF(f);
    if (PyErr_Occurred())
        return NULL;
    if (n < 1 || n > TERN_MAX_DIMS)
        return PyErr_Format(PyExc_IndexError, "%d slices", n);
    return created(tern_section_slice(&p, sl, n, &out), &out, "proxy slicing");
}

/* section_combine([proxy, ...]) -> section */
static PyObject *m_section_combine(PyObject *mod, PyObject *list)
{
    (void)mod;
    PyObject *f = PySequence_Fast(list, "combine takes proxies");
    if (!f)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(f);
    tern_proxy_t *ps = malloc(((size_t)n + 1) * sizeof *ps), out;
    if (!ps) {
        Py_DECREF(f);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < n; i++)
        if (py_proxy_from(PySequence_Fast_GET_ITEM(f, i), &ps[i]) < 0)
            break;
    Py_DECREF(f);
    tern_status_t st = PyErr_Occurred() ? TERN_ERR_INVALID
                                        : tern_section_combine(ps, (int)n, &out);
    free(ps);
    return created(st, &out, "charm.combine");
}

/* section_split(proxy, n, fn): fn(index tuple) -> the section or < 0; the n sections. */
static int split_fn(const int32_t *idx, int ndims, void *arg)
{
    if (PyErr_Occurred()) /* an earlier member's call failed: no more Python */
        return -1;
    PyObject *t = py_index_tuple(idx, ndims);
    PyObject *r = t ? PyObject_CallOneArg(arg, t) : NULL;
    Py_XDECREF(t);
    long v = r ? PyLong_AsLong(r) : -1;
    Py_XDECREF(r);
    return PyErr_Occurred() ? -1 : (int)v;
}

static PyObject *m_section_split(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb, *fn;
    int n;
    if (!PyArg_ParseTuple(args, "OiO", &pb, &n, &fn))
        return NULL;
    tern_proxy_t p;
    if (py_proxy_from(pb, &p) < 0)
        return NULL;
    if (n < 1)
        return PyErr_Format(PyExc_ValueError, "charm.split: %d sections", n);
    tern_proxy_t *out = malloc((size_t)n * sizeof *out);
    if (!out)
        return PyErr_NoMemory();
    tern_status_t st = tern_section_split(&p, n, split_fn, fn, out);
    PyObject *l = NULL;
    if (PyErr_Occurred() || st != TERN_OK)
        py_failed("charm.split", st);
    else if ((l = PyList_New(n)))
        for (int i = 0; i < n; i++) {
            PyObject *b = py_proxy_bytes(&out[i]);
            if (!b) {
                Py_CLEAR(l);
                break;
            }
            PyList_SET_ITEM(l, i, b);
        }
    free(out);
    return l;
}

/* ---- hosts ---- */

static int host_arg(PyObject *o, const char *call)
{
    long h = PyLong_AsLong(o);
    if (h == -1 && PyErr_Occurred())
        return -1;
    if (h < 0 || h >= tern_num_hosts()) {
        PyErr_Format(PyExc_ValueError, "%s(%ld): the job has %d hosts", call, h,
                     tern_num_hosts());
        return -1;
    }
    return (int)h;
}

static int pe_arg(PyObject *o, const char *call)
{
    long pe = PyLong_AsLong(o);
    if (pe == -1 && PyErr_Occurred())
        return -1;
    if (pe < 0 || pe >= tern_num_pes()) {
        PyErr_Format(PyExc_ValueError, "%s(%ld): the job has %d PEs", call, pe, tern_num_pes());
        return -1;
    }
    return (int)pe;
}

static PyObject *m_num_hosts(PyObject *m, PyObject *a)
{
    (void)m;
    (void)a;
    return PyLong_FromLong(tern_num_hosts());
}

static PyObject *m_my_host(PyObject *m, PyObject *a)
{
    (void)m;
    (void)a;
    return PyLong_FromLong(tern_my_host());
}

static PyObject *m_host_pes(PyObject *m, PyObject *o)
{
    (void)m;
    int h = host_arg(o, "getHostPes");
    if (h < 0)
        return NULL;
    int n = tern_host_num_pes(h);
    int *pes = malloc(((size_t)n + 1) * sizeof *pes);
    if (!pes)
        return PyErr_NoMemory();
    n = tern_host_pes(h, pes, n);
    PyObject *l = PyList_New(n);
    for (int i = 0; l && i < n; i++) {
        PyObject *v = PyLong_FromLong(pes[i]);
        if (!v) {
            Py_CLEAR(l);
            break;
        }
        PyList_SET_ITEM(l, i, v);
    }
    free(pes);
    return l;
}

static PyObject *m_host_first_pe(PyObject *m, PyObject *o)
{
    (void)m;
    int h = host_arg(o, "getHostFirstPe");
    return h < 0 ? NULL : PyLong_FromLong(tern_host_first_pe(h));
}

static PyObject *m_host_num_pes(PyObject *m, PyObject *o)
{
    (void)m;
    int h = host_arg(o, "getHostNumPes");
    return h < 0 ? NULL : PyLong_FromLong(tern_host_num_pes(h));
}

static PyObject *m_pe_host(PyObject *m, PyObject *o)
{
    (void)m;
    int pe = pe_arg(o, "getPeHost");
    return pe < 0 ? NULL : PyLong_FromLong(tern_pe_host(pe));
}

static PyObject *m_pe_host_rank(PyObject *m, PyObject *o)
{
    (void)m;
    int pe = pe_arg(o, "getPeHostRank");
    return pe < 0 ? NULL : PyLong_FromLong(tern_pe_host_rank(pe));
}

PyMethodDef py_coll_methods[] = {
    {"chare_create", m_chare_create, METH_VARARGS, "create a single chare"},
    {"group_create", m_group_create, METH_VARARGS, "create a group (on some PEs)"},
    {"array_create", m_array_create, METH_VARARGS, "create an array"},
    {"insert", m_insert, METH_VARARGS, "insert an element into an array"},
    {"done_inserting", m_done_inserting, METH_O, "the insertions are made"},
    {"elem", m_elem, METH_VARARGS, "the proxy of a member"},
    {"proxy_info", m_proxy_info, METH_O, "(kind, ndims, dims, pe, flags, index) of a proxy"},
    {"section_create", m_section_create, METH_VARARGS, "a section of listed members"},
    {"section_slice", m_section_slice, METH_VARARGS, "a section of slices"},
    {"section_combine", m_section_combine, METH_O, "the union of collections"},
    {"section_split", m_section_split, METH_VARARGS, "disjoint sections by a function"},
    {"num_hosts", m_num_hosts, METH_NOARGS, "hosts of the job"},
    {"my_host", m_my_host, METH_NOARGS, "this PE's host"},
    {"host_pes", m_host_pes, METH_O, "the PEs of a host"},
    {"host_first_pe", m_host_first_pe, METH_O, "a host's first PE"},
    {"host_num_pes", m_host_num_pes, METH_O, "a host's PE count"},
    {"pe_host", m_pe_host, METH_O, "a PE's host"},
    {"pe_host_rank", m_pe_host_rank, METH_O, "a PE's rank on its host"},
    {NULL, NULL, 0, NULL},
};
