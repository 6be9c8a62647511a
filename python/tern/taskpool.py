"""charm.pool (Charm4py's pool): Python functions applied to many inputs on every PE, on
Tern's C task pool (tern_pool_map_async, tern_pool_submit: every PE works, the caller's
included, idle PEs steal work; a 1-PE job runs the tasks itself).

A map's items are cut into batches (chunksize items, or with automatic chunks enough
batches for every PE to get many); each batch is one C task: an input record of one size
for all (the function's pickle, then the batch's) and an output record of one size (the
pickle of the batch's results). The C task "tern.py.task" hands each input record to the
runtime's _task hook on the PE that runs it. Results too big for their record, or of a
batch that waited (a function marked @coro that starts maps or tasks of its own and
waits for them), travel in a runtime message of their own to the map's PE. A task's
exception ends its batch; the first in item order reaches the caller's get().
"""
import pickle
import struct
import traceback

from . import _core, _wire, future
from .future import Future, _Waiting

# Input record: used bytes, kind, the map's PE, its number, the batch's number, the
# function's pickle's length; then the function's pickle and the batch's (a list).
_IN = struct.Struct("<IB3xiIQQI")
# Output record: status, the pickle's length; then the pickle (the batch's results, or
# (position in the batch, exception)).
_OUT = struct.Struct("<B3xI")
MAP, STARMAP, TASK, APPLY = 0, 1, 2, 3  # func(x), func(*x), func(*x) alone, func(*a, **k)
VALUE, ERROR, ELSEWHERE = 0, 1, 2
OUT_MIN = 128     # output records are at least this big...
OUT_SLACK = 64    # ... and the input record's size and this
AUTO_BATCHES = 16  # automatic chunks: about this many batches a PE...
AUTO_MAX = 2048    # ... of at most this many items


class _Map:
    __slots__ = ("n", "values", "errors", "starts", "missing", "early", "done", "callback",
                 "mid")

    def __init__(self, n):
        self.n, self.values, self.errors, self.starts = n, [None] * n, {}, []
        self.missing, self.early, self.done = None, {}, False
        self.callback, self.mid = None, 0


_maps = {}       # map number -> _Map, on the PE that started it
_next_mid = 0


def _dumps(obj):
    """pickle, or for what it cannot take (lambdas, closures, functions defined at the
    interactive prompt) cloudpickle when Debian's python3-cloudpickle is there."""
    try:
        return pickle.dumps(obj, protocol=5)
    except (pickle.PicklingError, AttributeError, TypeError) as e:
        try:
            import cloudpickle
        except ImportError:
            raise pickle.PicklingError("%s (lambdas and closures given to a pool need "
                                       "python3-cloudpickle)" % e) from None
        return cloudpickle.dumps(obj, protocol=5)


def _records(kind, func, batches, mid):
    """The input records of map number mid: (bytes, record size)."""
    fb = _dumps(func)
    ps = [_dumps(b) for b in batches]
    size = (_IN.size + len(fb) + max(map(len, ps)) + 7) & ~7
    buf = bytearray(size * len(ps))
    me = _Waiting.my_pe
    for i, p in enumerate(ps):
        off = i * size
        used = _IN.size + len(fb) + len(p)
        _IN.pack_into(buf, off, used, kind, me, 0, mid, i, len(fb))
        buf[off + _IN.size:off + _IN.size + len(fb)] = fb
        buf[off + _IN.size + len(fb):off + used] = p
    return buf, size


def _encode(status, obj, out_len):
    """An output record, or (None, status, pickle) when it does not fit."""
    try:
        p = pickle.dumps(obj, protocol=5)
    except Exception as e:  # an unpicklable result or exception: say what it was
        err = RuntimeError("a pool task's %s cannot be pickled: %s"
                           % ("result" if status == VALUE else "exception", e))
        status, p = ERROR, pickle.dumps((0 if status == VALUE else obj[0], err))
    if _OUT.size + len(p) <= out_len:
        return _OUT.pack(status, len(p)) + p
    return None, status, p


def run_task(mv, out_len):
    """The C task's hook: run one batch, return its output record."""
    used, kind, owner, _, mid, idx, flen = _IN.unpack_from(mv)
    try:  # (a function pickled by name is looked up anew: a rebinding counts)
        func = pickle.loads(mv[_IN.size:_IN.size + flen])
        batch = pickle.loads(mv[_IN.size + flen:used])
    except Exception as e:
        err = RuntimeError("a pool task cannot be unpacked on PE %d: %s: %s (a function "
                           "given to a pool must be defined on every PE: before the Pool() "
                           "line of a script)" % (_Waiting.my_pe, type(e).__name__, e))
        return _finish(ERROR, (0, err), owner, mid, idx, out_len)
    if getattr(func, "_tern_kind", 0) & 1:  # @coro: may wait, in a coroutine of its own
        box = [None, False]
        future.spawn(_run_waiting, box, func, kind, batch, owner, mid, idx, out_len)
        box[1] = True
        return box[0] if box[0] is not None else _OUT.pack(ELSEWHERE, 0)
    status, value = _run_batch(func, kind, batch)
    return _finish(status, value, owner, mid, idx, out_len)


def _run_batch(func, kind, batch):
    """(VALUE, results) or (ERROR, (position, exception)) of a batch."""
    out = []
    put = out.append
    try:
        if kind == MAP:
            for x in batch:
                put(func(x))
        elif kind == APPLY:
            for x in batch:
                put(func(*x[0], **x[1]))
        else:
            for x in batch:
                put(func(*x))
        return VALUE, out
    except Exception as e:
        try:
            e.remote_traceback = "PE %d:\n%s" % (_Waiting.my_pe, traceback.format_exc())
        except Exception:
            pass
        return ERROR, (len(out), e)  # (the position of the item that failed)


def _finish(status, value, owner, mid, idx, out_len):
    rec = _encode(status, value, out_len)
    if isinstance(rec, bytes):
        return rec
    _send_result(owner, mid, idx, rec[1], rec[2])
    return _OUT.pack(ELSEWHERE, 0)


def _run_waiting(box, func, kind, batch, owner, mid, idx, out_len):
    status, value = _run_batch(func, kind, batch)
    if not box[1]:  # it did not wait: the answer goes in the output record
        box[0] = _finish(status, value, owner, mid, idx, out_len)
        return
    rec = _encode(status, value, 0)
    _send_result(owner, mid, idx, rec[1], rec[2])


def _send_result(owner, mid, idx, status, p):
    if owner == _Waiting.my_pe:
        arrived_elsewhere(mid, idx, status, p)
    else:
        h, b = _wire.dumps(("P", mid, idx, status, p))
        _core.sys_send(owner, h, b)


def arrived_elsewhere(mid, idx, status, p):
    """A batch's results that came by message (runtime message "P")."""
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
    nb = len(m.starts)
    m.missing = set()
    if err is not None:  # the runtime's own failure (a task's exception is a record)
        m.errors.setdefault(0, RuntimeError("pool: %s" % err))
        m.early.clear()
        _settle(m)
        return
    size = len(out) // nb
    for b in range(nb):
        status, ln = _OUT.unpack_from(out, b * size)
        if status == ELSEWHERE:
            m.missing.add(b)
            continue
        _record(m, b, status, out[b * size + _OUT.size:b * size + _OUT.size + ln])
    _settle(m)


def _record(m, b, status, p):
    v = pickle.loads(p)
    lo = m.starts[b]
    if status == ERROR:
        m.errors[lo + v[0]] = v[1]
    else:
        m.values[lo:lo + len(v)] = v


def _settle(m):
    for b in list(m.missing):
        if b in m.early:
            _record(m, b, *m.early.pop(b))
            m.missing.discard(b)
    if m.missing or m.done:
        return
    m.done = True
    _maps.pop(m.mid, None)
    m.callback(m)


def start(kind, func, items, chunk, ncores, callback):
    """Start a map (or one task: kind TASK or APPLY, items [args]) whose end calls
    callback(m): m.values (in item order) and m.errors (item index -> exception)."""
    items = list(items)
    n = len(items)
    m = _Map(n)
    m.callback = callback
    if not items:
        m.missing = set()
        m.done = True
        callback(m)
        return m
    global _next_mid
    _next_mid += 1
    m.mid = _next_mid
    b = int(chunk) if chunk and chunk >= 1 else max(1, min(AUTO_MAX,
                                                           n // (AUTO_BATCHES *
                                                                 _core.num_pes())))
    m.starts = list(range(0, n, b))
    buf, size = _records(kind, func, [items[i:i + b] for i in m.starts], m.mid)
    out_size = max(OUT_MIN, size + OUT_SLACK)
    _maps[m.mid] = m
    try:
        if kind in (TASK, APPLY):
            _core.pool_submit(m.mid, bytes(buf), out_size)
        else:
            _core.pool_map(m.mid, bytes(buf), size, len(m.starts), out_size, 0, int(ncores))
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
