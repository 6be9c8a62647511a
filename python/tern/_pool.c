/*
 * tern._core, the pools' engine: Python tasks on Tern's C task pool (tern_pool_map_async,
 * tern_pool_submit), which places them on every PE with work stealing.
 *
 * A Python map is n fixed-size input records (tern/pool.py packs them: the function, the
 * item) and n fixed-size output records. The C task "tern.py.task" hands each input
 * record to the runtime's _task hook, on the scheduler's stack, and copies the record it
 * returns into the output. The map's buffers live here until it is done; then a coroutine
 * of the runtime's group, which waited for the map's future, tells Python on this PE (a
 * runtime message "M" with the map's number) and Python takes the outputs (pool_take).
 */
#include "_parts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct pymap {
    struct pymap *next;
    uint64_t id;
    PyObject *in;          /* the input records (bytes), kept while the map runs */
    char *out;             /* n * out_size bytes */
    size_t n, out_size;
    tern_future_t done;    /* the map's, or a submitted task's value */
    int submit;
} pymap_t;

static tern_task_t PY_TASK;
static PyObject *h_task;
static pymap_t *maps;      /* the maps under way on this PE */
static tern_ep_t WAIT_EP;  /* tern.sys's coroutine that waits for a map */

static void py_task(const void *in, size_t in_len, void *out, size_t out_len)
{
    PyObject *mv = PyMemoryView_FromMemory((char *)in, (Py_ssize_t)in_len, PyBUF_READ);
    PyObject *a[2] = {mv, PyLong_FromSize_t(out_len)};
    PyObject *r = mv && a[1] ? py_call_hook(h_task, a, 2) : NULL;
    Py_XDECREF(a[0]);
    Py_XDECREF(a[1]);
    char *p;
    Py_ssize_t len;
    if (r && PyBytes_AsStringAndSize(r, &p, &len) == 0 && (size_t)len > out_len)
        PyErr_Format(PyExc_RuntimeError, "an output record of %zd bytes for %zu", len,
                     out_len);
    if (!r || PyErr_Occurred())
        py_fail("a pool task (the runtime's wrapper)");
    memcpy(out, p, (size_t)len);
    Py_DECREF(r);
}

/* tern.sys's "poolwait" (a coroutine): wait for the map, then say so to Python here. */
static void py_pool_wait(void *self, const tern_msg_t *msg)
{
    (void)self;
    uint64_t id;
    memcpy(&id, tern_msg_data(msg), sizeof id);
    pymap_t *m = maps;
    while (m && m->id != id)
        m = m->next;
    if (!m)
        tern_abort("tern (Python): a pool map this PE does not know");
    tern_future_wait(&m->done); /* (its error, if any, is read by pool_take) */
    char note[1 + sizeof id];
    note[0] = 'M';
    memcpy(note + 1, &id, sizeof id);
    py_sys_note(note, sizeof note);
}

int py_pool_register(tern_type_t sys_type)
{
    if (tern_task_register("tern.py.task", py_task, 0, &PY_TASK) != TERN_OK ||
        tern_ep_register_flags(sys_type, "poolwait", py_pool_wait, TERN_EP_COROUTINE,
                               &WAIT_EP) != TERN_OK) {
        PyErr_SetString(PyExc_RuntimeError, "cannot register the pools' task");
        return -1;
    }
    return 0;
}

int py_pool_hooks(PyObject *rt)
{
    return (h_task = PyObject_GetAttrString(rt, "_task")) ? 0 : -1;
}

static PyObject *started(pymap_t *m, tern_status_t st, const char *call)
{
    if (st != TERN_OK) {
        Py_DECREF(m->in);
        free(m->out);
        free(m);
        return py_failed(call, st);
    }
    m->next = maps;
    maps = m;
    st = py_sys_self(WAIT_EP, &m->id, sizeof m->id);
    if (st != TERN_OK)
        return py_failed(call, st);
    Py_RETURN_NONE;
}

/* pool_map(number, records, in_size, n, out_size, chunk, ncores) */
static PyObject *m_pool_map(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *in;
    Py_ssize_t in_size, n, out_size;
    long long chunk;
    unsigned long long id;
    int ncores;
    if (!PyArg_ParseTuple(args, "KSnnnLi", &id, &in, &in_size, &n, &out_size, &chunk,
                          &ncores))
        return NULL;
    if (in_size <= 0 || n < 0 || out_size <= 0 || PyBytes_GET_SIZE(in) != in_size * n)
        return PyErr_Format(PyExc_ValueError, "pool_map: %zd records of %zd bytes in %zd",
                            n, in_size, PyBytes_GET_SIZE(in));
    pymap_t *m = calloc(1, sizeof *m);
    if (!m || !(m->out = calloc(n ? (size_t)n : 1, (size_t)out_size))) {
        free(m);
        return PyErr_NoMemory();
    }
    m->id = id;
    m->in = Py_NewRef(in);
    m->n = (size_t)n;
    m->out_size = (size_t)out_size;
    tern_pool_opts_t o = {.chunk = chunk, .ncores = ncores};
    tern_status_t st = tern_pool_map_async(PY_TASK, PyBytes_AS_STRING(in), (size_t)in_size,
                                           (size_t)n, m->out, (size_t)out_size, &o, &m->done);
    return started(m, st, "pool map");
}

/* pool_submit(number, record, out_size): one task; its output is the future's value */
static PyObject *m_pool_submit(PyObject *mod, PyObject *args)
{
    (void)mod;
    PyObject *in;
    Py_ssize_t out_size;
    unsigned long long id;
    if (!PyArg_ParseTuple(args, "KSn", &id, &in, &out_size))
        return NULL;
    pymap_t *m = calloc(1, sizeof *m);
    if (!m)
        return PyErr_NoMemory();
    m->id = id;
    m->in = Py_NewRef(in);
    m->n = 1;
    m->out_size = (size_t)out_size;
    m->submit = 1;
    tern_status_t st = tern_pool_submit(PY_TASK, PyBytes_AS_STRING(in),
                                        (size_t)PyBytes_GET_SIZE(in), (size_t)out_size,
                                        &m->done);
    return started(m, st, "pool task");
}

/* pool_take(map number) -> (outputs as bytes, error message or None): the map's end */
static PyObject *m_pool_take(PyObject *mod, PyObject *arg)
{
    (void)mod;
    uint64_t id = PyLong_AsUnsignedLongLong(arg);
    if (PyErr_Occurred())
        return NULL;
    pymap_t **pp = &maps;
    while (*pp && (*pp)->id != id)
        pp = &(*pp)->next;
    pymap_t *m = *pp;
    if (!m)
        return PyErr_Format(PyExc_KeyError, "pool map %llu", (unsigned long long)id);
    *pp = m->next;
    int pe = -1;
    const char *err = tern_future_error(&m->done, &pe);
    PyObject *out;
    if (m->submit && !err) {
        size_t len = 0;
        const void *v = tern_future_value(&m->done, 0, &len);
        out = PyBytes_FromStringAndSize(v, v ? (Py_ssize_t)len : 0);
    } else {
        out = PyBytes_FromStringAndSize(m->out, (Py_ssize_t)(m->n * m->out_size));
    }
    PyObject *r = !out ? NULL : err ? Py_BuildValue("(Ns)", out, err)
                                    : Py_BuildValue("(NO)", out, Py_None);
    tern_future_free(&m->done);
    Py_DECREF(m->in);
    free(m->out);
    free(m);
    return r;
}

PyMethodDef py_pool_methods[] = {
    {"pool_map", m_pool_map, METH_VARARGS, "start a map of Python tasks"},
    {"pool_submit", m_pool_submit, METH_VARARGS, "start one Python task"},
    {"pool_take", m_pool_take, METH_O, "the outputs and error of a finished map"},
    {NULL, NULL, 0, NULL},
};
