/*
 * tern._core: the Python package's bridge to libtern (the CPython C API, no ctypes).
 *
 * Each Python chare class is a Tern chare type (registered before tern_run, by name) whose
 * state holds the Python object and whose entry method "call" carries a pickled (method,
 * args, kwargs, reply) and its out-of-band buffers for the Python runtime (tern/charm.py)
 * to run; "resume" is its resumeFromSync. Every type is migratable: its object moves as a
 * pickle. A group of type "tern.sys", one member a PE, carries the runtime's own messages
 * (future values, reduction results, quiescence, the start of main). Python runs only on
 * the scheduler's stack: entry methods are plain Tern methods, and Python coroutines are
 * greenlets switched by tern/charm.py, so Tern's coroutines never switch C stacks under
 * the interpreter.
 */
#include "_parts.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    PyObject *obj;    /* the chare (NULL between unpacking and arrival) */
    PyObject *packed; /* its pickle while it moves */
} pystate_t;

/* The runtime's hooks (tern/_runtime.py's Runtime methods), looked up once. */
static PyObject *h_make, *h_dispatch, *h_resume, *h_pack, *h_unpack, *h_proc_num,
    *h_allreduced;
static PyObject *classes;        /* the registered classes and maps (kept alive) */
static tern_type_t CHARM_T;
static PyObject *main_argv;      /* the arguments main gets (tern_run's options removed) */

/* ---- the chare types of Python classes ---- */

/* (cls, collection, index, self pointer, own proxy) of a chare, for _make and _unpack. */
static int place_of(void *self, PyObject **out)
{
    tern_proxy_t coll = tern_self_collection(self), me = tern_self_proxy(self);
    out[0] = tern_type_data(tern_self_type(self));
    out[1] = py_proxy_bytes(&coll);
    out[2] = py_index_tuple(tern_self_index(self), tern_self_ndims(self));
    out[3] = PyLong_FromVoidPtr(self);
    out[4] = py_proxy_bytes(&me);
    return out[1] && out[2] && out[3] && out[4] ? 0 : -1;
}

static void place_clear(PyObject **a)
{
    for (int i = 1; i < 5; i++)
        Py_XDECREF(a[i]);
}

static void py_ctor(void *self, const tern_msg_t *args)
{
    pystate_t *st = self;
    PyObject *a[7] = {0};
    st->obj = st->packed = NULL;
    if (place_of(self, a) == 0 && py_segs_of(args, &a[5], &a[6]) == 0)
        st->obj = py_call_hook(h_make, a, 7);
    place_clear(a);
    Py_XDECREF(a[5]);
    Py_XDECREF(a[6]);
    if (!st->obj)
        py_fail("a chare's constructor");
}

static void py_dtor(void *self)
{
    pystate_t *st = self;
    /* A coroutine of the chare may outlive it here (it moved, or was destroyed): its
     * runtime calls then say the chare is not here, instead of using freed memory. */
    if (st->obj && PyObject_SetAttrString(st->obj, "_tern_self", Py_None) < 0)
        PyErr_Clear();
    Py_CLEAR(st->obj);
    Py_CLEAR(st->packed);
}

static void py_call(void *self, const tern_msg_t *msg)
{
    pystate_t *st = self;
    PyObject *a[3] = {st->obj, NULL, NULL}, *r = NULL;
    if (py_segs_of(msg, &a[1], &a[2]) == 0)
        r = py_call_hook(h_dispatch, a, 3);
    Py_XDECREF(a[1]);
    Py_XDECREF(a[2]);
    if (!r)
        py_fail("an entry method");
    Py_DECREF(r);
}

/* An allreduce's result, to every contributor: the reduction's callback. */
static void py_reduced(void *self, const tern_msg_t *msg)
{
    pystate_t *st = self;
    PyObject *a[2] = {st->obj, NULL}, *r = NULL;
    size_t len;
    const void *p = tern_msg_nsegs(msg) ? tern_msg_seg(msg, 0, &len) : NULL;
    if ((a[1] = PyBytes_FromStringAndSize(p, p ? (Py_ssize_t)len : 0)))
        r = py_call_hook(h_allreduced, a, 2);
    Py_XDECREF(a[1]);
    if (!r)
        py_fail("an allreduce's result");
    Py_DECREF(r);
}

static void py_resume(void *self, const tern_msg_t *msg)
{
    (void)msg;
    pystate_t *st = self;
    PyObject *r = py_call_hook(h_resume, &st->obj, 1);
    if (!r)
        py_fail("resumeFromSync");
    Py_DECREF(r);
}

/* Migration: the object moves as its pickle (the runtime's _pack), rebuilt on arrival. */
static void py_pup(void *self, tern_pup_t *p)
{
    pystate_t *st = self;
    uint64_t len;
    if (tern_pup_mode(p) == TERN_PUP_UNPACK) {
        st->obj = st->packed = NULL; /* the old PE's pointers */
        tern_pup_bytes(p, &len, sizeof len);
        if (!(st->packed = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len)))
            py_fail("unpacking a chare that moved");
        tern_pup_bytes(p, PyBytes_AS_STRING(st->packed), len);
        return;
    }
    if (!st->packed && !(st->packed = py_call_hook(h_pack, &st->obj, 1)))
        py_fail("packing a chare to move it (pickle)");
    if (!PyBytes_Check(st->packed))
        tern_abort("tern (Python): a chare's pickle is not bytes");
    len = (uint64_t)PyBytes_GET_SIZE(st->packed);
    tern_pup_bytes(p, &len, sizeof len);
    tern_pup_bytes(p, PyBytes_AS_STRING(st->packed), len);
}

static void py_arrived(void *self)
{
    pystate_t *st = self;
    PyObject *a[6] = {0};
    if (place_of(self, a) == 0) {
        a[5] = st->packed;
        st->obj = py_call_hook(h_unpack, a, 6);
    }
    place_clear(a);
    Py_CLEAR(st->packed);
    if (!st->obj)
        py_fail("rebuilding a chare that moved");
}

/* PE 0's main function (a Tern coroutine): makes charm's group (the Python class the
 * runtime names; charm.thisProxy) and the tern.sys group, waits until every member is
 * built, then asks the runtime member here to start the Python main, which runs on the
 * scheduler's stack. argv (tern_run's options removed) is kept for main. */
static char **c_argv;
static int c_argc;

static void c_main(int argc, char **argv)
{
    tern_proxy_t g[2], me;
    tern_iov_t none = {"", 0};
    c_argc = argc;
    c_argv = argv;
    if (tern_group_create(CHARM_T, &none, 1, NULL, &g[0]) != TERN_OK ||
        tern_group_create(py_sys_type(), NULL, 0, NULL, &g[1]) != TERN_OK ||
        tern_await_created(g, 2) != TERN_OK ||
        tern_proxy_elem(&g[1], (int32_t[]){0}, &me) != TERN_OK ||
        tern_send_buf(&me, py_sys_ep(), "S", 1) != TERN_OK)
        tern_abort("tern (Python): cannot start the runtime's groups");
}

/* The runtime's own types, reducer and task, once (before the first class's). */
static int register_runtime_parts(void)
{
    static int done;
    if (done)
        return 0;
    if (py_sys_register() < 0 || py_reduce_register() < 0 ||
        py_pool_register(py_sys_type()) < 0)
        return -1;
    done = 1;
    return 0;
}

static int keep(PyObject *o)
{
    if (!classes && !(classes = PyList_New(0)))
        return -1;
    return PyList_Append(classes, o);
}

/* ---- module functions ---- */

/* define_type(name, cls) -> (type, call ep, resume ep, allreduce result ep) */
static PyObject *m_define_type(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "sO", &name, &cls) || register_runtime_parts() < 0)
        return NULL;
    tern_type_t t;
    tern_ep_t ep, res, red;
    const tern_ep_def_t eps[] = {{"call", py_call, 0, &ep},
                                 {"resume", py_resume, 0, &res},
                                 {"reduced", py_reduced, 0, &red},
                                 {0}};
    tern_status_t st = tern_type_define(name, sizeof(pystate_t), py_ctor, py_dtor, eps, &t);
    if (st == TERN_OK)
        st = tern_type_migratable(t, py_pup, py_arrived);
    if (st == TERN_OK)
        st = tern_type_resume(t, res);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "cannot register chare class %s: %s", name,
                            tern_strerror(st));
    if (keep(cls) < 0)
        return NULL;
    tern_type_set_data(t, cls);
    return Py_BuildValue("(IIII)", t, ep, res, red);
}

/* ArrayMap classes: a map whose every call asks the runtime's _proc_num(cls, index,
 * dims) for the PE. */
static int py_map(const int32_t *idx, int ndims, const int32_t *dims, int num_pes, void *data)
{
    (void)num_pes;
    PyObject *a[3] = {data, py_index_tuple(idx, ndims), py_index_tuple(dims, ndims)};
    PyObject *r = a[1] && a[2] ? py_call_hook(h_proc_num, a, 3) : NULL;
    Py_XDECREF(a[1]);
    Py_XDECREF(a[2]);
    long pe = r ? PyLong_AsLong(r) : -1;
    Py_XDECREF(r);
    if (PyErr_Occurred())
        py_fail("an ArrayMap's procNum");
    return (int)pe;
}

static PyObject *m_define_map(PyObject *mod, PyObject *args)
{
    (void)mod;
    const char *name;
    PyObject *cls;
    if (!PyArg_ParseTuple(args, "sO", &name, &cls))
        return NULL;
    tern_map_t m;
    tern_status_t st = tern_map_register_data(name, py_map, cls, &m);
    if (st != TERN_OK)
        return py_failed("ArrayMap", st);
    if (keep(cls) < 0)
        return NULL;
    return PyLong_FromUnsignedLong(m);
}

static PyObject *hook(PyObject *rt, const char *name)
{
    return PyObject_GetAttrString(rt, name);
}

/* run(argv, runtime, charm's type) -> exit code (every process) */
static PyObject *m_run(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *argl, *rt;
    unsigned ct;
    if (!PyArg_ParseTuple(args, "O!OI", &PyList_Type, &argl, &rt, &ct) || register_runtime_parts() < 0)
        return NULL;
    CHARM_T = ct;
    if (!(h_make = hook(rt, "_make")) || !(h_dispatch = hook(rt, "_dispatch")) ||
        !(h_resume = hook(rt, "_resume")) || py_sys_hooks(rt) < 0 || py_hooks_begin(rt) < 0 ||
        !(h_pack = hook(rt, "_pack")) || !(h_unpack = hook(rt, "_unpack")) ||
        !(h_proc_num = hook(rt, "_proc_num")) ||
        !(h_allreduced = hook(rt, "_allreduced")) || py_pool_hooks(rt) < 0)
        return NULL;
    Py_ssize_t n = PyList_Size(argl);
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    if (!argv)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        const char *s = PyUnicode_AsUTF8(PyList_GetItem(argl, i));
        if (!s || !(argv[i] = strdup(s)))
            return s ? PyErr_NoMemory() : NULL;
    }
    int code = tern_run((int)n, argv, c_main);
    /* argv stays: the runtime may have kept pointers into it */
    return PyLong_FromLong(code);
}

/* main_argv() -> the arguments main gets, on PE 0 */
static PyObject *m_main_argv(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    if (!main_argv) {
        PyObject *l = PyList_New(0);
        for (int i = 0; l && i < c_argc; i++) {
            PyObject *s = PyUnicode_DecodeFSDefault(c_argv[i]);
            if (!s || PyList_Append(l, s) < 0)
                Py_CLEAR(l);
            Py_XDECREF(s);
        }
        if (!l)
            return NULL;
        main_argv = l;
    }
    return Py_NewRef(main_argv);
}

/* send(proxy, ep, header, buffers) */
static PyObject *m_send(PyObject *mod, PyObject *const *args, Py_ssize_t nargs)
{
    (void)mod;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "send(proxy, ep, header, buffers)");
        return NULL;
    }
    tern_proxy_t p;
    unsigned long ep = PyLong_AsUnsignedLong(args[1]);
    if (py_proxy_from(args[0], &p) < 0 || PyErr_Occurred())
        return NULL;
    tern_status_t st;
    if (args[3] == Py_None && PyBytes_CheckExact(args[2])) {
        st = tern_send_buf(&p, (tern_ep_t)ep, PyBytes_AS_STRING(args[2]),
                           (size_t)PyBytes_GET_SIZE(args[2]));
    } else {
        py_segs_t s;
        if (py_segs_from(&s, args[2], args[3]) < 0) {
            py_segs_release(&s);
            return NULL;
        }
        st = tern_send(&p, (tern_ep_t)ep, s.iov, s.n, NULL);
        py_segs_release(&s);
    }
    if (st != TERN_OK)
        return py_failed("send", st);
    Py_RETURN_NONE;
}

/* sys_send(pe, header, buffers): a runtime message to a PE's tern.sys member */
static PyObject *m_sys_send(PyObject *mod, PyObject *args)
{
    (void)mod;
    int pe;
    PyObject *header, *bufs;
    if (!PyArg_ParseTuple(args, "iSO", &pe, &header, &bufs))
        return NULL;
    py_segs_t s;
    if (py_segs_from(&s, header, bufs) < 0) {
        py_segs_release(&s);
        return NULL;
    }
    tern_status_t st = py_sys_send(pe, s.iov, s.n);
    py_segs_release(&s);
    if (st != TERN_OK)
        return PyErr_Format(PyExc_RuntimeError, "sending to PE %d: %s", pe, tern_strerror(st));
    Py_RETURN_NONE;
}

static void *self_of(PyObject *o)
{
    if (o == Py_None) {
        PyErr_SetString(PyExc_RuntimeError, "this chare is no longer on this PE (it moved or "
                        "was destroyed while a coroutine of it waited)");
        return NULL;
    }
    void *self = PyLong_AsVoidPtr(o);
    if (!self && !PyErr_Occurred())
        PyErr_SetString(PyExc_RuntimeError, "this chare is not (yet) known to the runtime");
    return self;
}

/* contribute(self, bytes, target, section or None, numeric): a gather (or, numeric, a
 * numeric record combined on the way: _reduce.c) over the chare's collection (or the
 * section) whose result goes to the tern.sys member of PE `target`, or, when target is
 * (proxy, ep), to that entry method of that proxy (a collection's: every member). */
static PyObject *m_contribute(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *me, *sec, *target;
    Py_buffer buf;
    int numeric;
    if (!PyArg_ParseTuple(args, "Oy*OOp", &me, &buf, &target, &sec, &numeric))
        return NULL;
    tern_reducer_t red = numeric ? py_numeric_reducer : TERN_REDUCER_GATHER;
    void *self = self_of(me);
    tern_callback_t cb;
    tern_proxy_t sp, tp;
    tern_status_t st = TERN_ERR_INVALID;
    PyObject *tpb;
    unsigned tep;
    if (self && (sec == Py_None || py_proxy_from(sec, &sp) == 0)) {
        if (PyLong_Check(target))
            st = py_sys_cb((int)PyLong_AsLong(target), &cb);
        else if (PyArg_ParseTuple(target, "OI", &tpb, &tep) && py_proxy_from(tpb, &tp) == 0)
            st = tern_cb_send(&tp, tep, &cb);
    }
    if (st == TERN_OK)
        st = sec == Py_None
                 ? tern_contribute(self, buf.buf, (size_t)buf.len, red, &cb)
                 : tern_section_contribute(self, &sp, buf.buf, (size_t)buf.len, red, &cb);
    PyBuffer_Release(&buf);
    if (st != TERN_OK)
        return py_failed("reduce", st);
    Py_RETURN_NONE;
}

/* after(seconds, callable): call it from the scheduler once the time has come. */
static void timer_fire(void *arg)
{
    PyObject *fn = arg;
    PyObject *r = PyObject_CallNoArgs(fn);
    Py_DECREF(fn);
    if (!r)
        py_fail("a timer's callable");
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
        return py_failed("scheduleCallableAfter", st);
    }
    Py_RETURN_NONE;
}

/* qd(): when the job is quiescent, an empty message comes to this PE's runtime member. */
static PyObject *m_qd(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    tern_callback_t cb;
    tern_status_t st = py_sys_cb(tern_my_pe(), &cb);
    if (st == TERN_OK)
        st = tern_qd_start(&cb);
    if (st != TERN_OK)
        return py_failed("waitQD", st);
    Py_RETURN_NONE;
}

static PyObject *m_migrate(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *me;
    int pe;
    if (!PyArg_ParseTuple(args, "Oi", &me, &pe))
        return NULL;
    void *self = self_of(me);
    tern_status_t st = self ? tern_migrate(self, pe) : TERN_ERR_INVALID;
    if (st != TERN_OK)
        return py_failed("migrate", st);
    Py_RETURN_NONE;
}

static PyObject *m_at_sync(PyObject *mod, PyObject *args)
{
    (void)mod;
    void *self = self_of(args);
    tern_status_t st = self ? tern_at_sync(self) : TERN_ERR_INVALID;
    if (st != TERN_OK)
        return py_failed("AtSync", st);
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
    fflush(stdout);
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
    fflush(stderr);
    tern_abort("%s", msg);
    Py_RETURN_NONE;
}

static PyObject *m_wall_time(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    return PyFloat_FromDouble(tern_wall_time());
}

static PyObject *m_lb_strategy(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    const char *s = tern_lb_strategy();
    if (!s)
        Py_RETURN_NONE;
    return PyUnicode_FromString(s);
}

static PyObject *m_print_stats(PyObject *mod, PyObject *args)
{
    (void)mod;
    (void)args;
    fflush(stdout);
    tern_stats_print();
    Py_RETURN_NONE;
}

static PyMethodDef core_methods[] = {
    {"define_type", m_define_type, METH_VARARGS,
     "register a chare class: (type, ep, resume ep, reduced ep)"},
    {"define_map", m_define_map, METH_VARARGS, "register an ArrayMap class: its map id"},
    {"run", m_run, METH_VARARGS, "run the job (every process): its exit code"},
    {"main_argv", m_main_argv, METH_NOARGS, "the arguments of main (PE 0)"},
    {"send", (PyCFunction)(void (*)(void))m_send, METH_FASTCALL,
     "send a header and buffers to a proxy's entry method"},
    {"sys_send", m_sys_send, METH_VARARGS, "send a runtime message to a PE"},
    {"contribute", m_contribute, METH_VARARGS, "a gather to a PE's runtime member"},
    {"after", m_after, METH_VARARGS, "call a callable after some seconds"},
    {"qd", m_qd, METH_NOARGS, "an empty runtime message at the next quiescence"},
    {"migrate", m_migrate, METH_VARARGS, "move the chare to a PE"},
    {"at_sync", m_at_sync, METH_O, "the chare is ready for load balancing"},
    {"my_pe", m_my_pe, METH_NOARGS, "this PE"},
    {"num_pes", m_num_pes, METH_NOARGS, "the PEs of the job"},
    {"exit", m_exit, METH_VARARGS, "end the job"},
    {"abort", m_abort, METH_VARARGS, "end the job with a message"},
    {"wall_time", m_wall_time, METH_NOARGS, "seconds"},
    {"lb_strategy", m_lb_strategy, METH_NOARGS, "the job's load balancing strategy or None"},
    {"print_stats", m_print_stats, METH_NOARGS, "print this PE's statistics"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "tern._core",
                                    "The bridge to libtern.", -1, NULL,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__core(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m || PyModule_AddFunctions(m, core_methods) < 0 ||
        PyModule_AddFunctions(m, py_coll_methods) < 0 ||
        PyModule_AddFunctions(m, py_pool_methods) < 0)
        return NULL;
    PyModule_AddIntConstant(m, "KIND_CHARE", TERN_PROXY_CHARE);
    PyModule_AddIntConstant(m, "KIND_GROUP", TERN_PROXY_GROUP);
    PyModule_AddIntConstant(m, "KIND_ARRAY", TERN_PROXY_ARRAY);
    PyModule_AddIntConstant(m, "MAX_IOV", TERN_MAX_IOV);
    PyModule_AddStringConstant(m, "version", tern_version_string());
    return m;
}
