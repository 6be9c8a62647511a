/*
 * tern._core, the runtime's group "tern.sys": one member a PE, carrying the runtime's own
 * messages to Python (future values, reduction results, quiescence, the start of main,
 * the pools' notes) to the runtime's _sys hook.
 */
#include "_parts.h"

static tern_type_t SYS_T;
static tern_ep_t SYS_EP;
static int registered;
static tern_proxy_t sys_proxy; /* the group, known once this PE's member is built */
static PyObject *h_sys;

static void sys_ctor(void *self, const tern_msg_t *args)
{
    (void)args;
    sys_proxy = tern_self_collection(self);
}

static void sys_msg(void *self, const tern_msg_t *msg)
{
    (void)self;
    PyObject *a[2] = {NULL, NULL}, *r = NULL;
    if (py_segs_of(msg, &a[0], &a[1]) == 0)
        r = py_call_hook(h_sys, a, 2);
    Py_XDECREF(a[0]);
    Py_XDECREF(a[1]);
    if (!r)
        py_fail("the runtime's message handler");
    Py_DECREF(r);
}


tern_status_t py_sys_self(tern_ep_t ep, const void *data, size_t len)
{
    tern_proxy_t to;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){tern_my_pe()}, &to);
    return st == TERN_OK ? tern_send_buf(&to, ep, data, len) : st;
}

tern_status_t py_sys_note(const void *data, size_t len)
{
    return py_sys_self(SYS_EP, data, len);
}

/* The callback of a result for the tern.sys member of pe. */
tern_status_t py_sys_cb(int pe, tern_callback_t *cb)
{
    tern_proxy_t to;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){pe}, &to);
    return st == TERN_OK ? tern_cb_send(&to, SYS_EP, cb) : st;
}

int py_sys_register(void)
{
    if (registered)
        return 0;
    const tern_ep_def_t eps[] = {{"msg", sys_msg, 0, &SYS_EP}, {0}};
    if (tern_type_define("tern.sys", 0, sys_ctor, NULL, eps, &SYS_T) != TERN_OK) {
        PyErr_SetString(PyExc_RuntimeError, "cannot register the runtime's group");
        return -1;
    }
    registered = 1;
    return 0;
}

int py_sys_hooks(PyObject *runtime)
{
    return (h_sys = PyObject_GetAttrString(runtime, "_sys")) ? 0 : -1;
}

tern_type_t py_sys_type(void) { return SYS_T; }
tern_ep_t py_sys_ep(void) { return SYS_EP; }

tern_status_t py_sys_send(int pe, const tern_iov_t *iov, int n)
{
    tern_proxy_t to;
    tern_status_t st = tern_proxy_elem(&sys_proxy, (int32_t[]){pe}, &to);
    return st == TERN_OK ? tern_send(&to, SYS_EP, iov, n, NULL) : st;
}
