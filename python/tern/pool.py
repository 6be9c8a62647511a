"""A multiprocessing.pool.Pool (and mpi4py.util.pool.Pool) whose workers are the PEs of a
Tern job: a script written for multiprocessing runs on a cluster by changing one import,

    from tern.pool import Pool          # was: from multiprocessing import Pool

and starting it with `ternrun -n 8 python3 script.py` (or srun, mpirun). Every process
runs the script; Pool() starts the job beneath it if no job runs yet: PE 0 goes on with
the script, the other PEs serve tasks until PE 0's script ends, then exit (the functions
given to the pool must be defined before the Pool() call, as they are where the workers
look them up). Inside a running Charm4py-style program (main or a @coro method) Pool()
uses the job as it is. Tasks run on Tern's C task pool (tern/taskpool.py): every PE
works, PE 0 included, and idle PEs steal work.
"""
import collections
import itertools
import multiprocessing
import time

from . import _core, future, taskpool
from .charm import charm
from .future import Future

RUN, CLOSE, TERMINATE = "RUN", "CLOSE", "TERMINATE"
TimeoutError = multiprocessing.TimeoutError


def _wait(f, timeout):
    """Wait for tern Future f (at most timeout seconds); whether it is done."""
    if f.ready():
        return True
    if timeout is None:
        while not f.ready():
            future.wait_one(f)
        return True
    t = Future._new()
    _core.after(max(0.0, float(timeout)), lambda: t._arrive("v", None, None))
    for x in future.iwait([f, t]):
        return x is f
    return f.ready()


class AsyncResult:
    """The result of an asynchronous call (multiprocessing's AsyncResult)."""

    def __init__(self, pool, callback=None, error_callback=None):
        self._pool, self._cb, self._ecb = pool, callback, error_callback
        self._f = Future._new()
        self._ok = self._value = None

    def _set(self, ok, value):
        self._ok, self._value = ok, value
        self._pool._pending.discard(self)
        try:  # (as multiprocessing: the callbacks run before the result is ready)
            if ok and self._cb is not None:
                self._cb(value)
            elif not ok and self._ecb is not None:
                self._ecb(value)
        finally:
            self._f._arrive("v", None, None)

    def ready(self):
        return self._f.ready()

    def successful(self):
        if not self.ready():
            raise ValueError("%r not ready" % self)
        return self._ok

    def wait(self, timeout=None):
        _wait(self._f, timeout)

    def get(self, timeout=None):
        if not _wait(self._f, timeout):
            raise TimeoutError
        if not self._ok:
            raise self._value
        return self._value


ApplyResult = AsyncResult


class MapResult(AsyncResult):
    pass


class Pool:
    """multiprocessing.pool.Pool's interface over the job's PEs. processes: how many PEs
    take part (the caller's first); None: all. initializer(*initargs) runs once on every
    PE first."""

    def __init__(self, processes=None, initializer=None, initargs=(), maxtasksperchild=None,
                 context=None):
        charm._start_under()
        if processes is not None and processes < 1:
            raise ValueError("Number of processes must be at least 1")
        n = charm.numPes()
        self._ncores = -1 if processes is None or processes >= n else int(processes)
        self._processes = n if processes is None else int(processes)
        self._state = RUN
        self._pending = set()
        if initializer is not None:
            charm.thisProxy._pool_init(initializer, tuple(initargs), awaitable=True).get()

    def __repr__(self):
        return "<%s state=%s pool_size=%d>" % (type(self).__name__, self._state,
                                               self._processes)

    def _check_running(self):
        if self._state != RUN:
            raise ValueError("Pool not running")

    # ---- one call ----
    def apply_async(self, func, args=(), kwds={}, callback=None, error_callback=None):
        self._check_running()
        r = ApplyResult(self, callback, error_callback)
        taskpool.start(taskpool.APPLY, func, [(tuple(args), dict(kwds))], 1, -1,
                       lambda m: _settle_one(r, m))
        self._pending.add(r)  # (once started: a call that raised leaves nothing to join)
        return r

    def apply(self, func, args=(), kwds={}):
        return self.apply_async(func, args, kwds).get()

    # ---- maps ----
    def _map_async(self, kind, func, iterable, chunksize, callback, error_callback):
        self._check_running()
        if chunksize is not None and chunksize < 1:
            raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
        r = MapResult(self, callback, error_callback)
        taskpool.start(kind, func, iterable, chunksize or 0, self._ncores,
                       lambda m: _settle_map(r, m))
        if not r.ready():
            self._pending.add(r)
        return r

    def map_async(self, func, iterable, chunksize=None, callback=None, error_callback=None):
        return self._map_async(taskpool.MAP, func, iterable, chunksize, callback,
                               error_callback)

    def map(self, func, iterable, chunksize=None):
        return self.map_async(func, iterable, chunksize).get()

    def starmap_async(self, func, iterable, chunksize=None, callback=None,
                      error_callback=None):
        return self._map_async(taskpool.STARMAP, func, iterable, chunksize, callback,
                               error_callback)

    def starmap(self, func, iterable, chunksize=None):
        return self.starmap_async(func, iterable, chunksize).get()

    # ---- lazy maps ----
    def _lazy(self, kind, func, iterable, chunksize, ordered, timeout=None):
        """Results of func over iterable, taken a window at a time (so an endless
        iterable works), two windows in flight: the first two start now; with a timeout
        (seconds from now) taking a result past it raises TimeoutError."""
        self._check_running()
        if chunksize < 1:
            raise ValueError("Chunksize must be 1+, not {0:n}".format(chunksize))
        end = None if timeout is None else time.monotonic() + timeout
        it = iter(iterable)
        window = max(64, 4 * chunksize * charm.numPes())
        inflight = collections.deque()

        def submit():
            items = list(itertools.islice(it, window))
            if not items:
                return False
            f = Future._new()
            taskpool.start(kind, func, items, chunksize, self._ncores,
                           lambda m: f._arrive("v", m, None))
            inflight.append(f)
            return True

        more = submit() and submit()

        def results():
            nonlocal more
            while inflight:
                if ordered:
                    f = inflight[0]
                else:
                    f = next(future.iwait(list(inflight)))
                if not _wait(f, None if end is None else end - time.monotonic()):
                    raise TimeoutError
                inflight.remove(f)
                m = f.get()
                if more:
                    more = submit()
                for i in range(m.n):
                    if i in m.errors:
                        raise m.errors[i]
                    yield m.values[i]
        return results()

    def imap(self, func, iterable, chunksize=1):
        return self._lazy(taskpool.MAP, func, iterable, chunksize, True)

    def imap_unordered(self, func, iterable, chunksize=1):
        return self._lazy(taskpool.MAP, func, iterable, chunksize, False)

    def istarmap(self, func, iterable, chunksize=1):
        return self._lazy(taskpool.STARMAP, func, iterable, chunksize, True)

    def istarmap_unordered(self, func, iterable, chunksize=1):
        return self._lazy(taskpool.STARMAP, func, iterable, chunksize, False)

    # ---- the pool's end ----
    def close(self):
        """No more work may be given; what was given finishes."""
        if self._state == RUN:
            self._state = CLOSE

    def terminate(self):
        """No more work may be given. (Tasks under way still run to their end: the PEs
        are the job's, not processes of the pool's own to kill.)"""
        self._state = TERMINATE

    def join(self):
        """Wait for the work given (after close or terminate)."""
        if self._state == RUN:
            raise ValueError("Pool is still running")
        while self._pending:
            next(iter(self._pending)).wait()

    def __enter__(self):
        self._check_running()
        return self

    def __exit__(self, *exc):
        self.terminate()


class ThreadPool(Pool):
    """multiprocessing.pool.ThreadPool's (and mpi4py.util.pool.ThreadPool's) interface:
    here the same as Pool's; the tasks run on the job's PEs."""


def _settle_one(r, m):
    e = taskpool.first_error(m)
    r._set(e is None, e if e is not None else m.values[0])


def _settle_map(r, m):
    e = taskpool.first_error(m)
    r._set(e is None, e if e is not None else m.values)
