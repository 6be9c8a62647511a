"""A concurrent.futures.Executor whose workers are the PEs of a Tern job (the engine of
tern.pool.Pool: Tern's C task pool):

    from tern.futures import PoolExecutor   # was: ProcessPoolExecutor

    with PoolExecutor() as ex:
        print(list(ex.map(pow, [2, 3], [5, 6])))
        f = ex.submit(sum, range(10))
        print(f.result())

Like Pool(), PoolExecutor() starts the job beneath the script when none runs yet. Its
futures are concurrent.futures.Future objects whose result() and exception() let the PE
run while they wait; use this module's wait() and as_completed() with them (the standard
library's block the process, and with it the PE that would set them).
"""
import concurrent.futures as _cf
import time

from . import _core, future
from .future import Future as _TernFuture
from .pool import Pool, TimeoutError, _wait
from .taskpool import STARMAP

FIRST_COMPLETED = _cf.FIRST_COMPLETED
FIRST_EXCEPTION = _cf.FIRST_EXCEPTION
ALL_COMPLETED = _cf.ALL_COMPLETED


class TernFuture(_cf.Future):
    """A concurrent.futures.Future set by the job; waiting lets the PE go on."""

    def __init__(self):
        super().__init__()
        self._tern = _TernFuture._new()

    def _settle(self, ok, value):
        if ok:
            self.set_result(value)
        else:
            self.set_exception(value)
        self._tern._arrive("v", None, None)

    def _wait(self, timeout):
        if not self.done() and not _wait(self._tern, timeout):
            raise _cf.TimeoutError()

    def result(self, timeout=None):
        self._wait(timeout)
        return super().result(timeout=0)

    def exception(self, timeout=None):
        self._wait(timeout)
        return super().exception(timeout=0)


class PoolExecutor(_cf.Executor):
    """concurrent.futures.Executor over the job's PEs (max_workers: how many take part,
    the caller's first; None: all)."""

    def __init__(self, max_workers=None, initializer=None, initargs=()):
        self._pool = Pool(max_workers, initializer, initargs)
        self._shutdown = False

    def submit(self, fn, /, *args, **kwargs):
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        f = TernFuture()
        f.set_running_or_notify_cancel()
        self._pool.apply_async(fn, args, kwargs, callback=lambda v: f._settle(True, v),
                               error_callback=lambda e: f._settle(False, e))
        return f

    def map(self, fn, *iterables, timeout=None, chunksize=1):
        """fn over the iterables' items in turn (as the built-in map), computed a window
        at a time; the results in order."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        results = self._pool._lazy(STARMAP, fn, zip(*iterables), chunksize, True, timeout)

        def ordered():
            try:
                yield from results
            except TimeoutError:
                raise _cf.TimeoutError() from None
        return ordered()

    def shutdown(self, wait=True, *, cancel_futures=False):
        self._shutdown = True
        self._pool.close()
        if wait:
            self._pool.join()


def as_completed(fs, timeout=None):
    """The futures (of a PoolExecutor) as they complete."""
    fs = list(fs)
    end = None if timeout is None else time.monotonic() + timeout
    pending = [f for f in fs if not f.done()]
    for f in fs:
        if f.done():
            yield f
    byt = {id(f._tern): f for f in pending}
    tern = [f._tern for f in pending]
    while tern:
        if end is not None:
            t = _TernFuture._new()
            _core.after(max(0.0, end - time.monotonic()),
                        lambda: t._arrive("v", None, None))
            got = next(future.iwait(tern + [t]))
            if got is t:
                raise _cf.TimeoutError("%d (of %d) futures unfinished" % (len(tern),
                                                                         len(fs)))
        else:
            got = next(future.iwait(tern))
        tern.remove(got)
        yield byt[id(got)]


def wait(fs, timeout=None, return_when=ALL_COMPLETED):
    """(done, not_done) sets, as concurrent.futures.wait."""
    fs = set(fs)
    done = {f for f in fs if f.done()}
    try:
        for f in as_completed(fs - done, timeout):
            done.add(f)
            if return_when == FIRST_COMPLETED or (return_when == FIRST_EXCEPTION and
                                                  f.exception() is not None):
                break
    except _cf.TimeoutError:
        pass
    return done, fs - done
