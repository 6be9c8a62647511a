/*
 * tern._core: the Python package's bridge to libtern (the CPython C API, no ctypes).
 *
 * Each Python chare class is a Tern chare type (registered before tern_run, by name) whose
 * state holds the Python object and whose one entry method, "call", carries a pickled
 * (method, args, kwargs, reply) for the Python runtime (tern/charm.py) to run. A group of
 * type "tern.sys", one member a PE, carries the runtime's own messages (future values, the
 * start of main). Python runs only on the scheduler's stack: entry methods are plain Tern
 * methods, and Python coroutines are greenlets switched by tern/charm.py, so Tern's own
 * coroutines never switch C stacks under the interpreter.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdlib.h>
#include <string.h>

#include <tern/tern.h>

typedef struct {
    PyObject *obj;
} pystate_t;

static PyObject *runtime;        /* tern.charm's runtime object */
static PyObject *classes;        /* the registered classes (kept alive) */
static tern_type_t SYS_T;
static tern_ep_t SYS_EP;
static tern_proxy_t sys_proxy;   /* the tern.sys group, known once this PE's member is built */
static int sys_registered;

/* A Python exception escaped into C: print it and end the job naming where. */
static void fail(const char *where)
{
    PyErr_Print();
    tern_abort("a Python exception escaped %s (traceback above)", where);
}

static PyObject *proxy_bytes(const tern_proxy_t *p)
{
    return PyBytes_FromStringAndSize((const char *)p, sizeof *p);
}

static int proxy_from(PyObject *b, tern_proxy_t *p)
{
    char *s;
    Py_ssize_t n;
    if (PyBytes_AsStringAndSize(b, &s, &n) < 0)
        return -1;
    if (n != (Py_ssize_t)sizeof *p) {
        PyErr_SetString(PyExc_ValueError, "not a Tern proxy");
        return -1;
    }
    memcpy(p, s, sizeof *p);
    return 0;
}

static PyObject *index_tuple(const int32_t *idx, int n)
{
    PyObject *t = PyTuple_New(n);
    for (int i = 0; t && i < n; i++)
        PyTuple_SET_ITEM(t, i, PyLong_FromLong(idx[i]));
    return t;
}

static PyObject *payload_of(const tern_msg_t *msg)
{
    return PyBytes_FromStringAndSize(tern_msg_data(msg), (Py_ssize_t)tern_msg_size(msg));
}

/* ---- the chare types of Python classes ---- */

static void py_ctor(void *self, const tern_msg_t *args)
{
    pystate_t *st = self;
    PyObject *cls = tern_type_data(tern_self_type(self));
    tern_proxy_t coll = tern_self_collection(self);
    PyObject *payload = payload_of(args), *cb = proxy_bytes(&coll);
    PyObject *idx = index_tuple(tern_self_index(self), tern_self_ndims(self));
    PyObject *me = PyLong_FromVoidPtr(self);
    st->obj = payload && cb && idx && me ? PyObject_CallMethod(runtime, "_make", "OOOOO", cls,
                                                               payload, cb, idx, me)
                                         : NULL;
    Py_XDECREF(me);
    Py_XDECREF(payload);
    Py_XDECREF(cb);
    Py_XDECREF(idx);
    if (!st->obj)
        fail("a chare's constructor");
}

static void py_dtor(void *self)
{
    pystate_t *st = self;
    Py_CLEAR(st->obj);
}

static void py_call(void *self, const tern_msg_t *msg)
{
    pystate_t *st = self;
    PyObject *payload = payload_of(msg);
    PyObject *r = payload ? PyObject_CallMethod(runtime, "_dispatch", "OO", st->obj, payload)
                          : NULL;
    Py_XDECREF(payload);
    if (!r)
        fail("an entry method");
    Py_DECREF(r);
}

static void sys_ctor(void *self, const tern_msg_t *args)
{
    (void)args;
    sys_proxy = tern_self_collection(self);
}

static void sys_msg(void *self, const tern_msg_t *msg)
{
    (void)self;
    PyObject *payload = payload_of(msg);
    PyObject *r = payload ? PyObject_CallMethod(runtime, "_sys", "O", payload) : NULL;
    Py_XDECREF(payload);
    if (!r)
        fail("the runtime's message handler");
    Py_DECREF(r);
}

/* PE 0's main function (a Tern coroutine): makes the tern.sys group and asks its member
 * here to start the Python main, which then runs on the scheduler's stack. */
static void c_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    tern_proxy_t g, me;
    if (tern_group_create(SYS_T, NULL, 0, NULL, &g) != TERN_OK ||
        tern_proxy_elem(&g, (int32_t[]){0}, &me) != TERN_OK ||
        tern_send_buf(&me, SYS_EP, "S", 1) != TERN_OK)
        tern_abort("tern (Python): cannot start the runtime's group");
}

static int register_sys(void)
{
    if (sys_registered)
        return 0;
    const tern_ep_def_t eps[] = {{"msg", sys_msg, 0, &SYS_EP}, {0}};
    if (tern_type_define("tern.sys", 0, sys_ctor, NULL, eps, &SYS_T) != TERN_OK) {
        PyErr_SetString(PyExc_RuntimeError, "cannot register the runtime's group");
        return -1;
    }
    sys_registered = 1;
    return 0;
}

/* ---- module functions ---- */

static PyObject *m_define_type(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "sO", &name, &cls) || register_sys() < 0)
        return NULL;
    tern_type_t t;
    tern_ep_t ep;
    const tern_ep_def_t eps[] = {{"call", py_call, 0, &ep}, {0}};
    if (tern_type_define(name, sizeof(pystate_t), py_ctor, py_dtor, eps, &t) != TERN_OK) {
        PyErr_Format(PyExc_RuntimeError, "cannot register chare class %s", name);
        return NULL;
    }
    if (!classes && !(classes = PyList_New(0)))
        return NULL;
    if (PyList_Append(classes, cls) < 0)
        return NULL;
    tern_type_set_data(t, cls);
    return Py_BuildValue("(II)", t, ep);
}

static PyObject *m_run(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *argl, *rt;
    if (!PyArg_ParseTuple(args, "O!O", &PyList_Type, &argl, &rt) || register_sys() < 0)
        return NULL;
    Py_ssize_t n = PyList_Size(argl);
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *s = PyUnicode_AsUTF8(PyList_GetItem(argl, i));
        if (!s || !(argv[i] = strdup(s)))
            return NULL;
    }
    Py_XSETREF(runtime, Py_NewRef(rt));
    int code = tern_run((int)n, argv, c_main);
    /* argv stays: the runtime may have kept pointers into it */
    return PyLong_FromLong(code);
}

static PyObject *m_send(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb;
    unsigned ep;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "SIy*", &pb, &ep, &buf))
        return NULL;
    tern_proxy_t p;
    tern_status_t st = proxy_from(pb, &p) < 0 ? TERN_ERR_INVALID
                                              : tern_send_buf(&p, ep, buf.buf, (size_t)buf.len);
    PyBuffer_Release(&buf);
    if (PyErr_Occurred())
        return NULL;
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "tern_send: %s", tern_strerror(st));
    Py_RETURN_NONE;
}

static PyObject *m_sys_send(PyObject *mod, PyObject *args)
{
    (void)mod;
    int pe;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "iy*", &pe, &buf))
        return NULL;
    tern_proxy_t to;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){pe}, &to);
    if (st == TERN_OK)
        st = tern_send_buf(&to, SYS_EP, buf.buf, (size_t)buf.len);
    PyBuffer_Release(&buf);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "sending to PE %d: %s", pe, tern_strerror(st));
    Py_RETURN_NONE;
}

static PyObject *created(tern_status_t st, const tern_proxy_t *p, const char *call)
{
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "%s: %s", call, tern_strerror(st));
    return proxy_bytes(p);
}

static PyObject *m_chare_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t;
    int pe;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "Iiy*", &t, &pe, &buf))
        return NULL;
    tern_iov_t iov = {buf.buf, (size_t)buf.len};
    tern_proxy_t p;
    tern_status_t st = tern_chare_create(t, pe, &iov, 1, &p);
    PyBuffer_Release(&buf);
    return created(st, &p, "Chare");
}

static PyObject *m_group_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "Iy*", &t, &buf))
        return NULL;
    tern_iov_t iov = {buf.buf, (size_t)buf.len};
    tern_proxy_t p;
    tern_status_t st = tern_group_create(t, &iov, 1, NULL, &p);
    PyBuffer_Release(&buf);
    return created(st, &p, "Group");
}

static int dims_from(PyObject *dims, int32_t *d, int *n)
{
    PyObject *seq = PySequence_Fast(dims, "dims must be a sequence");
    if (!seq)
        return -1;
    *n = (int)PySequence_Fast_GET_SIZE(seq);
    if (*n < 1 || *n > TERN_MAX_DIMS) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "1 to 6 dimensions");
        return -1;
    }
    for (int i = 0; i < *n; i++)
        d[i] = (int32_t)PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    Py_DECREF(seq);
    return PyErr_Occurred() ? -1 : 0;
}

static PyObject *m_array_create(PyObject *mod, PyObject *args)
{
    (void)mod;
    unsigned t;
    PyObject *dims;
    Py_buffer buf;
    if (!PyArg_ParseTuple(args, "IOy*", &t, &dims, &buf))
        return NULL;
    int32_t d[TERN_MAX_DIMS];
    int n;
    if (dims_from(dims, d, &n) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    tern_iov_t iov = {buf.buf, (size_t)buf.len};
    tern_proxy_t p;
    tern_status_t st = tern_array_create(t, n, d, &iov, 1, &p);
    PyBuffer_Release(&buf);
    return created(st, &p, "Array");
}

static PyObject *m_elem(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb, *idx;
    if (!PyArg_ParseTuple(args, "SO", &pb, &idx))
        return NULL;
    tern_proxy_t p, e;
    int32_t d[TERN_MAX_DIMS];
    int n;
    if (proxy_from(pb, &p) < 0 || dims_from(idx, d, &n) < 0)
        return NULL;
    tern_status_t st = tern_proxy_elem(&p, d, &e);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_IndexError, "index out of range (%s)", tern_strerror(st));
    return proxy_bytes(&e);
}

/* (kind, ndims, dims, pe) of a proxy: what the Python side needs to know of it. */
static PyObject *m_proxy_info(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *pb;
    tern_proxy_t p;
    if (!PyArg_ParseTuple(args, "S", &pb) || proxy_from(pb, &p) < 0)
        return NULL;
    return Py_BuildValue("(iiNi)", (int)p.kind, (int)p.ndims, index_tuple(p.dims, p.ndims),
                         (int)p.pe);
}

/* contribute(self pointer, bytes, pe): a gather over the chare's collection whose result
 * goes to the tern.sys member of `pe`. */
static PyObject *m_contribute(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *me;
    Py_buffer buf;
    int pe;
    if (!PyArg_ParseTuple(args, "Oy*i", &me, &buf, &pe))
        return NULL;
    void *self = PyLong_AsVoidPtr(me);
    tern_proxy_t to;
    tern_callback_t cb;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){pe}, &to);
    if (st == TERN_OK)
        st = tern_cb_send(&to, SYS_EP, &cb);
    if (st == TERN_OK && self)
        st = tern_contribute(self, buf.buf, (size_t)buf.len, TERN_REDUCER_GATHER, &cb);
    PyBuffer_Release(&buf);
    if (PyErr_Occurred())
        return NULL;
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "contribute: %s", tern_strerror(st));
    Py_RETURN_NONE;
}

/* after(seconds, callable): call it from the scheduler once the time has come. */
static void timer_fire(void *arg)
{
    PyObject *fn = arg;
    PyObject *r = PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    if (!r)
        fail("a timer's callable");
    Py_DECREF(r);
}

static PyObject *m_after(PyObject *mod, PyObject *args)
{
    (void)mod;
    double secs;
    PyObject *fn;
    if (!PyArg_ParseTuple(args, "dO", &secs, &fn))
        return NULL;
    Py_INCREF(fn);
    tern_status_t st = tern_timer_after(secs, timer_fire, fn);
    if (st != TERN_OK) {
        Py_DECREF(fn);
        return PyErr_Format(PyExc_RuntimeError, "timer: %s", tern_strerror(st));
    }
    Py_RETURN_NONE;
}

/* qd(payload): when the job is quiescent, the payload comes to this PE's runtime member. */
static PyObject *m_qd(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    tern_proxy_t to;
    tern_callback_t cb;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){tern_my_pe()}, &to);
    if (st == TERN_OK)
        st = tern_cb_send(&to, SYS_EP, &cb);
    if (st == TERN_OK)
        st = tern_qd_start(&cb);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "waitQD: %s", tern_strerror(st));
    Py_RETURN_NONE;
}

static PyObject *m_my_pe(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    return PyLong_FromLong(tern_my_pe());
}

static PyObject *m_num_pes(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    return PyLong_FromLong(tern_num_pes());
}

static PyObject *m_exit(PyObject *mod, PyObject *args)
{
    (void)mod;
    int code = 0;
    if (!PyArg_ParseTuple(args, "|i", &code))
        return NULL;
    tern_exit(code);
    Py_RETURN_NONE;
}

static PyObject *m_abort(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *msg;
    if (!PyArg_ParseTuple(args, "s", &msg))
        return NULL;
    fflush(stdout);
    tern_abort("%s", msg);
    Py_RETURN_NONE;
}

static PyObject *m_wall_time(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    return PyFloat_FromDouble(tern_wall_time());
}

static PyMethodDef methods[] = {
    {"define_type", m_define_type, METH_VARARGS, "register a chare class: (type, ep)"},
    {"run", m_run, METH_VARARGS, "run the job (every process): its exit code"},
    {"send", m_send, METH_VARARGS, "send a payload to a proxy's entry method"},
    {"sys_send", m_sys_send, METH_VARARGS, "send a runtime message to a PE"},
    {"chare_create", m_chare_create, METH_VARARGS, "create a single chare"},
    {"group_create", m_group_create, METH_VARARGS, "create a group"},
    {"array_create", m_array_create, METH_VARARGS, "create a dense array"},
    {"elem", m_elem, METH_VARARGS, "the proxy of an element"},
    {"proxy_info", m_proxy_info, METH_VARARGS, "(kind, ndims, dims, pe) of a proxy"},
    {"contribute", m_contribute, METH_VARARGS, "a gather to a PE's runtime member"},
    {"after", m_after, METH_VARARGS, "call a callable after some seconds"},
    {"qd", m_qd, METH_NOARGS, "an empty runtime message at the next quiescence"},
    {"my_pe", m_my_pe, METH_NOARGS, "this PE"},
    {"num_pes", m_num_pes, METH_NOARGS, "the PEs of the job"},
    {"exit", m_exit, METH_VARARGS, "end the job"},
    {"abort", m_abort, METH_VARARGS, "end the job with a message"},
    {"wall_time", m_wall_time, METH_NOARGS, "seconds"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tern._core",
                                    "The bridge to libtern.", -1, methods,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m) {
        PyModule_AddIntConstant(m, "KIND_CHARE", TERN_PROXY_CHARE);
        PyModule_AddIntConstant(m, "KIND_GROUP", TERN_PROXY_GROUP);
        PyModule_AddIntConstant(m, "KIND_ARRAY", TERN_PROXY_ARRAY);
        PyModule_AddStringConstant(m, "version", tern_version_string());
    }
    return m;
}
