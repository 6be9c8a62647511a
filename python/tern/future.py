"""Futures and waiting: values to come, and the coroutines (greenlets) that wait for them.

A coroutine waits by switching to the hub (the greenlet of the scheduler's callbacks); the
runtime switches back to it when what it waits for is ready. Anything a coroutine can
wait on (a Future, a Channel) has _ready(), _add_waiter(g) and _remove_waiter(g).
"""
import greenlet

from . import _core, _wire


class _Waiting:
    hub = None   # the scheduler's greenlet, set by charm.start
    user = None  # the program's own greenlet when the job runs beneath it
    exit_code = 0  # the job's, once the hub ended (the job runs beneath the program)
    after_switch = None  # the runtime's hook: a coroutine gave the PE back
    my_pe = -1
    futures = {}  # fid -> Future, on the PE that made them, until done
    next_fid = 0


def can_wait():
    """Whether the caller is a coroutine (main, a @coro method or task, or the program
    the job runs beneath)."""
    g = greenlet.getcurrent()
    return not (g is _Waiting.hub or (g.parent is None and g is not _Waiting.user))


def current():
    """The calling coroutine; an error where nothing may wait."""
    g = greenlet.getcurrent()
    if not can_wait():
        raise RuntimeError("waiting is only possible in main or in an entry method marked "
                           "@coro")
    return g


def suspend():
    """Give the PE back to the scheduler until something switches to this coroutine."""
    r = _Waiting.hub.switch()
    if _Waiting.hub.dead:  # the job ended (from elsewhere) while the program waited
        raise SystemExit(_Waiting.exit_code)
    return r


_ready = []  # coroutines woken by another coroutine: the hub resumes them


def wake(waiters):
    """Make the coroutines run again: now from the hub, or when the caller (itself a
    coroutine) gives the PE back."""
    if greenlet.getcurrent() is _Waiting.hub:
        for g in waiters:
            run(g)
    else:
        _ready.extend(waiters)


_idle = []  # coroutines that ended their method, kept to run the next one (creating a
            # greenlet costs some microseconds; switching to one a fraction of one)


def _worker(fn, args):
    me = greenlet.getcurrent()
    while True:
        fn(*args)
        fn = args = None
        _idle.append(me)
        r = None
        while not r:  # (a stray wake-up of an idle coroutine brings nothing to run)
            r = _Waiting.hub.switch()
        fn, args = r


def spawn(fn, *args):
    """Run fn(*args) (from the hub) as a coroutine: until it waits or ends."""
    g = _idle.pop() if _idle else greenlet.greenlet(_worker, parent=_Waiting.hub)
    run(g, fn, args)


def run(g, *args):
    """Switch (from the hub) to g until it waits or ends, then to those it woke."""
    hook = _Waiting.after_switch
    if not g.dead:
        g.switch(*args)
        if hook is not None:
            hook(g)
    while _ready:
        h = _ready.pop(0)
        if not h.dead:
            h.switch()
            if hook is not None:
                hook(h)


class Waitable:
    """What coroutines can wait on: the greenlets waiting are in self._waiters."""

    __slots__ = ()

    def _add_waiter(self, g):
        self._waiters.append(g)

    def _remove_waiter(self, g):
        if g in self._waiters:
            self._waiters.remove(g)


class Future(Waitable):
    """A value to come (Charm4py's Future): from a call made with ret=True or
    awaitable=True, from charm.createFuture() or Future(num_vals). A plain value on the
    wire: any PE may send() it a value; only the PE that made it can get() it."""

    __slots__ = ("pe", "fid", "nvals", "_done", "_waiters", "_values", "_index", "_gather",
                 "_ret", "_result", "_local")

    def __init__(self, num_vals=1):
        self._init(_Waiting.my_pe, None, num_vals, False, True)

    def _init(self, pe, fid, nvals, gather, ret):
        if fid is None:
            _Waiting.next_fid += 1
            fid = _Waiting.next_fid
            _Waiting.futures[fid] = self
            self._local = True
        else:
            self._local = False
        self.pe, self.fid, self.nvals = pe, fid, nvals
        self._done, self._waiters, self._values, self._index = False, [], [], []
        self._gather, self._ret, self._result = gather, ret, None

    @classmethod
    def _new(cls, nvals=1, gather=False, ret=True):
        f = cls.__new__(cls)
        f._init(_Waiting.my_pe, None, nvals, gather, ret)
        return f

    def __reduce__(self):
        return (_remote_future, (self.pe, self.fid))

    def send(self, value=None):
        """Send value to the future's PE (the coroutine waiting on it gets it)."""
        deliver(self.pe, self.fid, ("v", value, None))

    __call__ = send  # futures are callbacks

    def get(self):
        """The value (a list of them for more than one), once all came; raises the
        exception a remote method raised."""
        if not self._local:
            raise RuntimeError("Future.get: only the PE that made a future can wait on it")
        if not self._done:
            g = current()
            self._waiters.append(g)
            while not self._done:
                suspend()
        kind, value = self._result
        if kind == "e":
            raise value
        return value

    def ready(self):
        return self._local and self._done

    _ready = ready

    def _arrive(self, kind, value, index):
        if self._done:
            return
        if kind == "e":
            self._result = ("e", value)
        else:
            self._values.append(value if self._ret else None)
            self._index.append(index)
            if len(self._values) < self.nvals:
                return
            if not self._ret:
                self._result = ("v", None)
            elif self._gather:  # a broadcast's values, in element order
                order = sorted(range(len(self._values)), key=lambda i: _key(self._index[i]))
                self._result = ("v", [self._values[i] for i in order])
            elif self.nvals == 1:
                self._result = ("v", self._values[0])
            else:
                self._result = ("v", list(self._values))
        self._done = True
        if self._local:
            _Waiting.futures.pop(self.fid, None)
        waiters, self._waiters = self._waiters, []
        wake(waiters)


def _key(index):
    return (0,) if index is None else (index if isinstance(index, tuple) else (index,))


def _remote_future(pe, fid):
    if pe == _Waiting.my_pe and fid in _Waiting.futures:
        return _Waiting.futures[fid]
    f = Future.__new__(Future)
    f._init(pe, fid, 1, False, True)
    return f


def deliver(pe, fid, what):
    """Give what = (kind, value, index) to future fid of PE pe."""
    if pe == _Waiting.my_pe:
        arrive(fid, what)
    else:
        h, b = _wire.dumps(("F", fid, what))
        _core.sys_send(pe, h, b)


def arrive(fid, what):
    f = _Waiting.futures.get(fid)
    if f is not None:
        f._arrive(*what)


def wait_all(objs):
    for o in objs:
        if isinstance(o, Future):
            o.get()
        else:
            while not o._ready():
                wait_one(o)


def wait_one(o):
    g = current()
    o._add_waiter(g)
    try:
        suspend()
    finally:
        o._remove_waiter(g)


def iwait(objs):
    """Yield each object as it becomes ready (futures and channels)."""
    pending = list(objs)
    while pending:
        ready = [o for o in pending if o._ready()]
        if not ready:
            g = current()
            for o in pending:
                o._add_waiter(g)
            try:
                suspend()
            finally:
                for o in pending:
                    o._remove_waiter(g)
            continue
        for o in ready:
            pending.remove(o)
            yield o
