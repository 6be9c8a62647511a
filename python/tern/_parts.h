/*
 * tern._core's parts: the module and the chare types of Python classes (_core.c: calls,
 * migration, the run), collections (_coll.c: creation, insertion, sections, proxies,
 * host queries), numeric reductions (_reduce.c), the pools' engine (_pool.c), the
 * runtime's group (_sys.c) and what they all use (_util.c).
 *
 * A Python message on the wire is one or more segments: the first is a pickle (protocol
 * 5), the others its out-of-band buffers (numpy arrays and other buffer objects), copied
 * once into the message when it is sent and once out of it when it is received.
 */
#ifndef TERN_PY_PARTS_H
#define TERN_PY_PARTS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <tern/tern.h>

/* The segments of a message about to be sent: the header and its buffers' views. */
#define PY_SEGS_INLINE 8
typedef struct {
    tern_iov_t *iov;  /* iov_in, or allocated for many buffers */
    Py_buffer *views;
    int n;      /* segments in iov */
    int nviews; /* views to release */
    tern_iov_t iov_in[PY_SEGS_INLINE];
    Py_buffer views_in[PY_SEGS_INLINE];
} py_segs_t;

/* Fill s from a header (bytes) and a list of buffer objects (or None); -1 with an
 * exception set. Release with py_segs_release in every case. */
int py_segs_from(py_segs_t *s, PyObject *header, PyObject *bufs);
void py_segs_release(py_segs_t *s);

/* A proxy as Python sees it: its bytes. */
PyObject *py_proxy_bytes(const tern_proxy_t *p);
int py_proxy_from(PyObject *b, tern_proxy_t *p);
int py_index_from(PyObject *seq, int32_t *d, int *n);
PyObject *py_index_tuple(const int32_t *idx, int n);
/* An error from a Tern call as a Python exception naming the call; NULL. */
PyObject *py_failed(const char *call, tern_status_t st);

/* _reduce.c: the numeric reducer (registered before tern_run). */
extern tern_reducer_t py_numeric_reducer;
int py_reduce_register(void);

/* _pool.c: the pools' task and its waiting coroutine (registered before tern_run), the
 * runtime's _task hook (looked up by run). */
int py_pool_register(tern_type_t sys_type);
int py_pool_hooks(PyObject *runtime);

/* _util.c: call a runtime hook (the first call tells the runtime its PE: py_hooks_begin
 * looks its _begin up); end the job after a Python exception escaped into C; a received
 * message as (header bytes, list of bytearrays or None). */
int py_hooks_begin(PyObject *runtime);
PyObject *py_call_hook(PyObject *fn, PyObject *const *args, size_t n);
void py_fail(const char *where);
int py_segs_of(const tern_msg_t *msg, PyObject **header, PyObject **bufs);

/* _sys.c: the runtime's group (registered before tern_run; its _sys hook looked up by
 * run): its type and message entry method; a runtime message to a PE's member, to this
 * PE's ("msg", or another entry method of it); a callback to a PE's member. */
int py_sys_register(void);
int py_sys_hooks(PyObject *runtime);
tern_type_t py_sys_type(void);
tern_ep_t py_sys_ep(void);
tern_status_t py_sys_send(int pe, const tern_iov_t *iov, int n);
tern_status_t py_sys_note(const void *data, size_t len);
tern_status_t py_sys_self(tern_ep_t ep, const void *data, size_t len);
tern_status_t py_sys_cb(int pe, tern_callback_t *cb);

/* _coll.c's and _pool.c's module functions, added to _core's table. */
extern PyMethodDef py_coll_methods[], py_pool_methods[];

#endif
