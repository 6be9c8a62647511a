"""charm.pool (Charm4py's pool): Python functions applied to many inputs on every PE, on
Tern's C task pool (tern_pool_map_async, tern_pool_submit: every PE works, the caller's
included, idle PEs steal work; a 1-PE job runs the tasks itself).

A map is n input records of one size (the function's pickle, then the item's), given to
the C pool with n output records of one size; the C task hands each record to the
runtime's _task hook on the PE that runs it, which writes the result's pickle into the
output record. A result too big for its record, or of a task that waits (a function
marked @coro that starts maps or tasks of its own and waits for them), travels in a
runtime message of its own to the map's PE. Exceptions reach the caller's get().
"""
import pickle
import struct
import traceback

from . import _core, future
from .future import Future, _Waiting

# Input record: used bytes, kind, the map's PE, its number, the task's index, the
# function's pickle's length; then the function's pickle and the item's.
_IN = struct.Struct("<IB3xiIQQI")
# Output record: status, the pickle's length; then the pickle.
_OUT = struct.Struct("<B3xI")
MAP, STARMAP, TASK, APPLY = 0, 1, 2, 3  # func(x), func(*x), func(*x) alone, func(*a, **k)
VALUE, ERROR, ELSEWHERE = 0, 1, 2
OUT_SIZE = 128  # output record: results bigger than OUT_SIZE - 8 bytes come by message


class _Map:
    __slots__ = ("n", "values", "errors", "missing", "early", "done", "futures",
                 "callback", "mid")

    def __init__(self, n):
        self.n, self.values, self.errors = n, [None] * n, {}
        self.missing, self.early, self.done = None, {}, False
        self.futures, self.callback, self.mid = None, None, 0


_maps = {}       # map number -> _Map, on the PE that started it
_next_mid = 0
_funcs = {}      # a function's pickle -> the function (each PE keeps what it saw)


def _func_of(fb):
    f = _funcs.get(fb)
    if f is None:
        f = _funcs[fb] = pickle.loads(fb)
    return f


def _records(kind, func, items, mid):
    """The input records of map number mid: (bytes, record size)."""
    fb = pickle.dumps(func, protocol=5)
    ps = [pickle.dumps(it, protocol=5) for it in items]
    size = _IN.size + len(fb) + (max(map(len, ps)) if ps else 0)
    size = (size + 7) & ~7
    buf = bytearray(size * len(ps))
    me = _Waiting.my_pe
    for i, p in enumerate(ps):
        off = i * size
        used = _IN.size + len(fb) + len(p)
        _IN.pack_into(buf, off, used, kind, me, 0, mid, i, len(fb))
        buf[off + _IN.size:off + _IN.size + len(fb)] = fb
        buf[off + _IN.size + len(fb):off + used] = p
    return buf, size, len(fb)


def _encode(status, obj, out_len):
    try:
        p = pickle.dumps(obj, protocol=5)
    except Exception as e:  # an unpicklable result or exception: say what it was
        status, p = ERROR, pickle.dumps(RuntimeError("a pool task's %s cannot be pickled: %s"
                                                     % ("result" if status == VALUE
                                                        else "exception", e)))
    if _OUT.size + len(p) <= out_len:
        return _OUT.pack(status, len(p)) + p
    return None, status, p


def run_task(mv, out_len):
    """The C task's hook: run one record, return its output record."""
    used, kind, owner, _, mid, idx, flen = _IN.unpack_from(mv)
    func = _func_of(bytes(mv[_IN.size:_IN.size + flen]))
    item = pickle.loads(mv[_IN.size + flen:used])
    if getattr(func, "_tern_kind", 0) & 1:  # @coro: may wait, in a coroutine of its own
        box = [None, False]
        future.spawn(_run_waiting, box, func, kind, item, owner, mid, idx, out_len)
        box[1] = True
        if box[0] is not None:
            return box[0]
        return _OUT.pack(ELSEWHERE, 0)
    status, value = _call(func, kind, item)
    return _finish(status, value, owner, mid, idx, out_len)


def _call(func, kind, item):
    try:
        if kind == MAP:
            return VALUE, func(item)
        if kind == APPLY:
            return VALUE, func(*item[0], **item[1])
        return VALUE, func(*item)
    except Exception as e:
        try:
            e.remote_traceback = "PE %d:\n%s" % (_Waiting.my_pe, traceback.format_exc())
        except Exception:
            pass
        return ERROR, e


def _finish(status, value, owner, mid, idx, out_len):
    rec = _encode(status, value, out_len)
    if isinstance(rec, bytes):
        return rec
    _send_result(owner, mid, idx, rec[1], rec[2])
    return _OUT.pack(ELSEWHERE, 0)


def _run_waiting(box, func, kind, item, owner, mid, idx, out_len):
    status, value = _call(func, kind, item)
    if not box[1]:  # it did not wait: the answer goes in the output record
        box[0] = _finish(status, value, owner, mid, idx, out_len)
        return
    rec = _encode(status, value, 0)
    _send_result(owner, mid, idx, rec[1], rec[2])


def _send_result(owner, mid, idx, status, p):
    from . import _wire
    h, b = _wire.dumps(("P", mid, idx, status, p))
    if owner == _Waiting.my_pe:
        arrived_elsewhere(mid, idx, status, p)
    else:
        _core.sys_send(owner, h, b)


def arrived_elsewhere(mid, idx, status, p):
    """A result that came by message (runtime message "P")."""
    m = _maps.get(mid)
    if m is None:
        return
    m.early[idx] = (status, p)
    if m.missing is not None:
        _settle(m)


def map_done(mid):
    """The C map is done (runtime message "M"): read its output records."""
    m = _maps.get(mid)
    out, err = _core.pool_take(mid)
    if m is None:
        return
    if err is not None:  # the runtime's own failure (a task's exception is a record)
        for i in range(m.n):
            m.errors.setdefault(i, RuntimeError("pool: %s" % err))
    size = len(out) // m.n if m.n else 0
    m.missing = set()
    for i in range(m.n):
        status, ln = _OUT.unpack_from(out, i * size)
        if status == ELSEWHERE:
            m.missing.add(i)
            continue
        _record(m, i, status, out[i * size + _OUT.size:i * size + _OUT.size + ln])
    _settle(m)


def _record(m, i, status, p):
    v = pickle.loads(p)
    if status == ERROR:
        m.errors[i] = v
    else:
        m.values[i] = v


def _settle(m):
    for i in list(m.missing):
        if i in m.early:
            _record(m, i, *m.early.pop(i))
            m.missing.discard(i)
    if m.missing or m.done:
        return
    m.done = True
    _maps.pop(m.mid, None)
    m.callback(m)


def start(kind, func, items, chunk, ncores, callback):
    """Start a map (or one task: kind TASK, items [args]) whose end calls callback(m)."""
    items = list(items)
    m = _Map(len(items))
    m.callback = callback
    if not items:
        m.missing = set()
        m.done = True
        callback(m)
        return m
    global _next_mid
    _next_mid += 1
    m.mid = _next_mid
    buf, size, _ = _records(kind, func, items, m.mid)
    _maps[m.mid] = m
    try:
        if kind in (TASK, APPLY):
            _core.pool_submit(m.mid, bytes(buf), OUT_SIZE)
        else:
            _core.pool_map(m.mid, bytes(buf), size, len(items), OUT_SIZE, int(chunk),
                           int(ncores))
    except Exception:
        del _maps[m.mid]
        raise
    return m


def first_error(m):
    if m.errors:
        return m.errors[min(m.errors)]
    return None


class CharmPool:
    """charm.pool: map, map_async and Task as Charm4py documents them."""

    def map(self, func, iterable, chunksize=1, ncores=-1):
        """[func(x) for x in iterable], computed on every PE (or the first ncores from this
        one); waits (main or a @coro method, or a task marked @coro)."""
        return self.map_async(func, iterable, chunksize, ncores).get()

    def map_async(self, func, iterable, chunksize=1, ncores=-1, multi_future=False):
        """map, returning at once a Future of the list (or with multi_future a list of
        futures, one a result)."""
        items = list(iterable)
        if multi_future:
            futs = [Future._new() for _ in items]

            def done_each(m):
                for i, f in enumerate(futs):
                    if i in m.errors:
                        f._arrive("e", m.errors[i], None)
                    else:
                        f._arrive("v", m.values[i], None)
            start(MAP, func, items, chunksize, ncores, done_each)
            return futs
        f = Future._new()

        def done(m):
            e = first_error(m)
            if e is not None:
                f._arrive("e", e, None)
            else:
                f._arrive("v", m.values, None)
        start(MAP, func, items, chunksize, ncores, done)
        return f

    def Task(self, func, args, ret=False, awaitable=False):
        """Run func(*args) as a task somewhere; with ret its value comes in the returned
        Future, with awaitable its end. Otherwise nothing comes back, and an exception
        ends the job."""
        f = Future._new(ret=bool(ret)) if (ret or awaitable) else None

        def done(m):
            e = first_error(m)
            if f is not None:
                f._arrive("e", e, None) if e is not None else f._arrive("v", m.values[0],
                                                                        None)
            elif e is not None:
                import sys
                sys.stderr.write(getattr(e, "remote_traceback", "") or "%r\n" % e)
                _core.abort("PE %d: a pool task raised %s: %s (and nobody waits for its "
                            "answer)" % (_Waiting.my_pe, type(e).__name__, e))
        start(TASK, func, [tuple(args)], 1, -1, done)
        return f
