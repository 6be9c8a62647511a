"""The Charm4py programming model on Tern: the runtime object `charm`, chares, proxies,
futures and coroutines.

Every process runs the program; charm.start(main) registers the chare classes (every
subclass of Chare, by qualified name, so that all processes agree) and runs the job; PE 0
runs main(args) as a coroutine. Entry methods run on the scheduler; one marked @coro runs
in a greenlet of its own and may wait (Future.get, charm.wait), letting the PE run other
messages meanwhile. A call returns at once: its arguments are pickled when it is made.
"""
import os
import pickle
import sys
import traceback

import greenlet

from . import _core

# Proxy kinds (tern.h): a single chare, a group, a group member, an array, an element.
_CHARE, _GROUP, _GROUP_ELEM, _ARRAY, _ARRAY_ELEM = 1, 2, 3, 4, 5


def coro(fn):
    """Mark an entry method as a coroutine: it may wait on futures while the PE runs other
    messages."""
    fn._tern_coro = True
    return fn


threaded = coro  # Charm4py's older name


class Reducer:
    """Reducers for contribute (Charm4py's Reducer): each is a function of the list of
    contributions, in element order. Numbers and numpy arrays combine element-wise."""

    @staticmethod
    def _fold(op):
        def f(values):
            acc = values[0]
            for v in values[1:]:
                acc = op(acc, v)
            return acc
        return f

    nop = staticmethod(lambda values: None)
    gather = staticmethod(lambda values: list(values))

    @staticmethod
    def addReducer(func):
        """A custom reducer: func(list of contributions) -> result."""
        _reducers[func.__name__] = func
        setattr(Reducer, func.__name__, staticmethod(func))


def _np_or(op_np, op_py):
    def op(a, b):
        try:
            return op_np(a, b)
        except TypeError:
            return op_py(a, b)
    return op


def _make_reducers():
    import operator
    try:
        import numpy as np
        mx, mn = np.maximum, np.minimum
        land, lor, lxor = np.logical_and, np.logical_or, np.logical_xor
    except ImportError:  # numbers only
        mx, mn = max, min
        land, lor, lxor = (lambda a, b: a and b), (lambda a, b: a or b), (lambda a, b: bool(a) != bool(b))
    table = {
        "sum": Reducer._fold(operator.add), "product": Reducer._fold(operator.mul),
        "max": Reducer._fold(_np_or(mx, max)), "min": Reducer._fold(_np_or(mn, min)),
        "logical_and": Reducer._fold(land), "logical_or": Reducer._fold(lor),
        "logical_xor": Reducer._fold(lxor), "nop": Reducer.nop, "gather": Reducer.gather,
    }
    for k, v in table.items():
        setattr(Reducer, k, staticmethod(v))
    return dict(table)


_reducers = _make_reducers()
_reducer_names = {id(v): k for k, v in _reducers.items()}


class RemoteError(Exception):
    """An exception a remote method raised that could not travel as itself."""


class Future:
    """A value to come (Charm4py's Future): from a call made with ret=True or
    awaitable=True, or from charm.createFuture(). A plain value on the wire: any PE may
    send() it a value; only coroutines of the PE that made it wait on it (get())."""

    def __init__(self, pe, fid, expected=1, state=None):
        self.pe, self.fid, self.expected = pe, fid, expected
        self._st = state  # on the PE that made it: its state, kept once it is done

    def __reduce__(self):
        return (_remote_future, (self.pe, self.fid))

    def send(self, value=None):
        _rt._deliver(self.pe, self.fid, ("v", value, None))

    def get(self):
        st = self._st
        if st is None:
            raise RuntimeError("Future.get: only the PE that made a future can wait on it")
        while not st["done"]:
            _rt._suspend(st)
        kind, value = st["result"]
        if kind == "e":
            raise value
        return value

    def ready(self):
        return bool(self._st and self._st["done"])

    def __call__(self):  # Charm4py allows future() as get()
        return self.get()


def _remote_future(pe, fid):
    return Future(pe, fid)


class _Method:
    def __init__(self, proxy, name):
        self.proxy, self.name = proxy, name

    def __call__(self, *args, ret=False, awaitable=False, **kwargs):
        return self.proxy._call(self.name, args, kwargs, ret, awaitable)


class Proxy:
    """A proxy to a chare, a group or an array, or to one member: calling a method on it
    sends the call; indexing a collection's proxy gives a member's."""

    def __init__(self, pbytes, cls):
        self._pb, self._cls = pbytes, cls
        self._kind, self._ndims, self._dims, self._pe = _core.proxy_info(pbytes)

    def __reduce__(self):
        return (_proxy_from, (self._pb, self._cls.__module__, self._cls.__qualname__))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Method(self, name)

    def __getitem__(self, idx):
        if self._kind not in (_GROUP, _ARRAY):
            raise TypeError("only a group's or an array's proxy can be indexed")
        if not isinstance(idx, tuple):
            idx = (idx,)
        return Proxy(_core.elem(self._pb, idx), self._cls)

    def __eq__(self, other):
        return isinstance(other, Proxy) and self._pb == other._pb

    def __hash__(self):
        return hash(self._pb)

    def _members(self):
        if self._kind == _GROUP:
            return _core.num_pes()
        if self._kind == _ARRAY:
            n = 1
            for d in self._dims:
                n *= d
            return n
        return 1

    def _call(self, name, args, kwargs, ret, awaitable):
        fut = reply = None
        if ret or awaitable:
            n = self._members()  # a broadcast's values come back as a list, in index order
            fut = _rt._new_future(n, gather=ret and self._kind in (_GROUP, _ARRAY) or None,
                                  ret=ret)
            reply = (_rt.my_pe, fut.fid, bool(ret))
        payload = pickle.dumps((name, args, kwargs, reply), protocol=5)
        _core.send(self._pb, _rt.ep_of[self._cls], payload)
        return fut


def _proxy_from(pb, module, qualname):
    cls = _rt.class_by_name.get("%s.%s" % (module, qualname))
    if cls is None:
        raise RuntimeError("unknown chare class %s.%s" % (module, qualname))
    return Proxy(pb, cls)


class Chare:
    """Base class of chares. Chare(Class, args=[], onPE=-1) creates a single chare and
    returns its proxy (Charm4py's spelling)."""

    def __new__(cls, *args, **kwargs):
        if cls is Chare and args and isinstance(args[0], type):
            return _create_single(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def contribute(self, data, reducer, target):
        """Contribute data to a reduction over this chare's group or array; the result
        (reducer applied to every member's data, in element order) goes to target: a
        Future, or a proxy's method (it gets the result as its argument)."""
        rname = _reducer_names.get(id(reducer)) if reducer is not None else "nop"
        if rname is None:
            fn = getattr(reducer, "__func__", reducer)
            rname = fn.__name__ if _reducers.get(fn.__name__) is fn else None
        if rname is None:
            raise ValueError("contribute: unknown reducer %r (use Reducer.addReducer)" % reducer)
        if isinstance(target, Future):
            dest, pe = ("f", target.fid), target.pe
        elif isinstance(target, _Method):
            dest, pe = ("m", target.proxy, target.name), 0
        else:
            raise TypeError("contribute: the target must be a Future or a proxy's method")
        rec = pickle.dumps((rname, dest, data), protocol=5)
        _core.contribute(self._tern_self, b"R" + len(rec).to_bytes(4, "little") + rec, pe)


def _create_single(cls, args=(), onPE=-1):
    payload = pickle.dumps(tuple(args), protocol=5)
    return Proxy(_core.chare_create(_rt.type_of[cls], onPE, payload), cls)


def Group(cls, args=()):
    """Create a group of cls, one member a PE; its proxy."""
    payload = pickle.dumps(tuple(args), protocol=5)
    return Proxy(_core.group_create(_rt.type_of[cls], payload), cls)


def Array(cls, dims, args=()):
    """Create a dense N-d array of cls (dims: an int or a tuple); its proxy."""
    if isinstance(dims, int):
        dims = (dims,)
    payload = pickle.dumps(tuple(args), protocol=5)
    return Proxy(_core.array_create(_rt.type_of[cls], tuple(dims), payload), cls)


def _all_subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out.append(c)
        out.extend(_all_subclasses(c))
    return out


class _Runtime:
    def __init__(self):
        self.hub = None
        self.futures = {}
        self.next_fid = 0
        self.type_of, self.ep_of, self.class_by_name = {}, {}, {}
        self.my_pe = -1
        self.main = None
        self.exit_code = 0
        self.qd_waiters = []

    # -- futures --
    def _new_future(self, n=1, gather=None, ret=True):
        self.next_fid += 1
        st = {"done": False, "waiters": [], "n": n, "got": 0,
              "values": {} if gather else None, "ret": ret, "result": None}
        self.futures[self.next_fid] = st
        return Future(self.my_pe, self.next_fid, n, st)

    def _deliver(self, pe, fid, what):
        if pe == self.my_pe:
            self._arrive(fid, what)
        else:
            _core.sys_send(pe, pickle.dumps(("F", fid, what), protocol=5))

    def _arrive(self, fid, what):
        st = self.futures.get(fid)
        if st is None or st["done"]:
            return
        kind, value, index = what
        st["got"] += 1
        if kind == "e":
            st["result"] = ("e", value)
        elif st["values"] is not None:
            st["values"][index] = value
        elif st["result"] is None:
            st["result"] = ("v", value if st["ret"] else None)
        if kind == "e" or st["got"] >= st["n"]:
            if st["values"] is not None and (st["result"] is None or st["result"][0] != "e"):
                st["result"] = ("v", [st["values"][k] for k in sorted(st["values"])])
            st["done"] = True
            del self.futures[fid]
            waiters, st["waiters"] = st["waiters"], []
            for g in waiters:
                g.switch()

    def _suspend(self, st):
        g = greenlet.getcurrent()
        if g is self.hub:
            raise RuntimeError("waiting is only possible in main or in an entry method "
                               "marked @coro")
        st["waiters"].append(g)
        self.hub.switch()

    # -- called from C --
    def _make(self, cls, payload, coll_pb, index, selfptr):
        obj = cls.__new__(cls)
        obj._tern_self = selfptr
        obj.thisProxy = Proxy(coll_pb, cls)
        kind = obj.thisProxy._kind
        obj.thisIndex = index[0] if kind == _GROUP else (tuple(index) if kind == _ARRAY
                                                         else None)
        args = pickle.loads(payload)
        obj.__init__(*args)
        return obj

    def _dispatch(self, obj, payload):
        name, args, kwargs, reply = pickle.loads(payload)
        method = getattr(obj, name, None)
        if method is None:
            err = AttributeError("%s has no entry method %s" % (type(obj).__name__, name))
            self._finish(obj, name, reply, None, err, "")
            return
        if getattr(method, "_tern_coro", False):
            greenlet.greenlet(self._run_method, parent=self.hub).switch(obj, name, method,
                                                                          args, kwargs, reply)
        else:
            self._run_method(obj, name, method, args, kwargs, reply)

    def _run_method(self, obj, name, method, args, kwargs, reply):
        try:
            value, err, tb = method(*args, **kwargs), None, ""
        except Exception as e:  # reaches the caller, or ends the job
            value, err, tb = None, e, traceback.format_exc()
        self._finish(obj, name, reply, value, err, tb)

    def _finish(self, obj, name, reply, value, err, tb):
        if reply is None:
            if err is not None:
                sys.stderr.write(tb or "%r\n" % err)
                _core.abort("PE %d: %s.%s raised %s: %s (and nobody waits for its answer)"
                            % (self.my_pe, type(obj).__name__, name, type(err).__name__,
                               err))
            return
        pe, fid, ret = reply
        index = getattr(obj, "thisIndex", None)
        if err is not None:
            try:
                pickle.dumps(err)
                e = err
            except Exception:
                e = RemoteError("%s: %s" % (type(err).__name__, err))
            e.remote_traceback = "PE %d:\n%s" % (self.my_pe, tb)
            self._deliver(pe, fid, ("e", e, index))
        else:
            self._deliver(pe, fid, ("v", value if ret else None, index))

    def _reduced(self, payload):
        values, dest, rname, off = [], None, None, 0
        while off < len(payload):
            n = int.from_bytes(payload[off + 1:off + 5], "little")
            rname, dest, data = pickle.loads(payload[off + 5:off + 5 + n])
            values.append(data)
            off += 5 + n
        result = _reducers[rname](values) if values else None
        if dest[0] == "f":
            self._arrive(dest[1], ("v", result, None))
        else:
            _Method(dest[1], dest[2])(result)

    def _sys(self, payload):
        if payload[:1] == b"R":
            self._reduced(payload)
            return
        if not payload:  # quiescence
            if self.qd_waiters:
                self._arrive(self.qd_waiters.pop(0), ("v", None, None))
            return
        if payload == b"S":
            greenlet.greenlet(self._run_main, parent=self.hub).switch()
            return
        msg = pickle.loads(payload)
        if msg[0] == "F":
            self._arrive(msg[1], msg[2])

    def _run_main(self):
        try:
            self.main(sys.argv)
        except SystemExit as e:
            _core.exit(e.code if isinstance(e.code, int) else 0)
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            _core.abort("PE 0: the main function raised an exception (traceback above)")


_rt = _Runtime()


class _Charm:
    """The runtime as programs see it (Charm4py's `charm`)."""

    def start(self, entry, classes=None):
        _rt.hub = greenlet.getcurrent()
        _rt.main = entry
        todo = classes if classes is not None else _all_subclasses(Chare)
        for cls in sorted(todo, key=lambda c: "%s.%s" % (c.__module__, c.__qualname__)):
            name = "%s.%s" % (cls.__module__, cls.__qualname__)
            if cls in _rt.type_of:
                continue
            t, ep = _core.define_type(name, cls)
            _rt.type_of[cls], _rt.ep_of[cls], _rt.class_by_name[name] = t, ep, cls
        _rt.my_pe = int(os.environ.get("TERN_PE", "-1"))  # refined once running
        code = _core.run(list(sys.argv), _RuntimeHooks())
        sys.stdout.flush()
        sys.exit(code)

    def exit(self, code=0):
        _core.exit(code)

    def abort(self, message):
        _core.abort(str(message))

    def myPe(self):
        return _core.my_pe()

    def numPes(self):
        return _core.num_pes()

    def wallTime(self):
        return _core.wall_time()

    def createFuture(self, senders=1):
        return _rt._new_future(senders, ret=True)

    def wait(self, futures):
        for f in futures:
            f.get()

    def iwait(self, futures):
        """The futures, each as soon as it is done (Charm4py's charm.iwait)."""
        pending = list(futures)
        while pending:
            ready = [f for f in pending if f.ready()]
            if not ready:
                g = greenlet.getcurrent()
                if g is _rt.hub:
                    raise RuntimeError("iwait is only possible in main or a @coro method")
                for f in pending:
                    f._st["waiters"].append(g)
                _rt.hub.switch()
                for f in pending:  # (the others still list it)
                    if g in f._st["waiters"]:
                        f._st["waiters"].remove(g)
                continue
            for f in ready:
                pending.remove(f)
                yield f

    def sleep(self, secs):
        """Suspend the calling coroutine for secs seconds; the PE runs other work."""
        f = _rt._new_future(1)
        _core.after(float(secs), lambda: _rt._arrive(f.fid, ("v", None, None)))
        f.get()

    def scheduleCallableAfter(self, func, secs, args=()):
        _core.after(float(secs), lambda: func(*args))

    def waitQD(self):
        """Suspend until the job is quiescent (no message in flight anywhere)."""
        f = _rt._new_future(1)
        _rt.qd_waiters.append(f.fid)
        _core.qd()
        f.get()


class _RuntimeHooks:
    """What the C side calls: it learns this PE on its first call."""

    def _make(self, *a):
        _rt.my_pe = _core.my_pe()
        return _rt._make(*a)

    def _dispatch(self, *a):
        return _rt._dispatch(*a)

    def _sys(self, *a):
        _rt.my_pe = _core.my_pe()
        return _rt._sys(*a)


charm = _Charm()
