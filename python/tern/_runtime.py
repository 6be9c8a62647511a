"""The runtime on each PE: what the C side calls (building chares, running their entry
methods, moving them, the runtime group's messages) and reductions.

Entry methods run on the scheduler (the hub greenlet); one marked @coro runs in a greenlet
of its own and may wait. Entry methods marked @when wait in their chare until their
condition holds. An exception in an entry method reaches the caller's future, or ends the
job with its traceback and the PE named.
"""
import collections
import pickle
import sys
import traceback

import greenlet

from . import _core, _wire, future, reduction, taskpool
from .chare import (_ARRAY, _GROUP, KIND_CORO, KIND_WHEN, Proxy, _Method, _Reg,
                    _create_single, class_by_key)
from .future import Future, _Waiting


class RemoteError(Exception):
    """An exception a remote method raised that could not travel as itself."""


_loads = pickle.loads


def _exit_code(e):
    return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)


class Runtime:
    def __init__(self):
        self.main = None
        self.main_chare = False
        self.qd_targets = []   # what each pending charm.startQD / waitQD wants, in order
        self.charm_proxy = None
        self.coro_chares = {}  # greenlet -> the chare whose @coro method it runs
        _Waiting.after_switch = self._after_switch

    # ---- called from C ----
    def _begin(self, pe):
        _Waiting.my_pe = pe

    def _make(self, cls, coll_pb, index, selfptr, elem_pb, header, bufs):
        args, opts = _wire.loads(header, bufs) if header else ((), None)
        if opts and "cls" in opts:  # a class defined after the start (chare.register_dynamic)
            cls = class_by_key(opts["cls"])
        obj = cls.__new__(cls)
        self._attach(obj, cls, coll_pb, index, selfptr, elem_pb, opts)
        obj.__init__(*args)
        self._created(obj, cls)
        return obj

    def _attach(self, obj, cls, coll_pb, index, selfptr, elem_pb, opts=None):
        grouplike = bool(opts and opts.get("group")) or obj.__dict__.get("_tern_grouplike",
                                                                         False)
        d = obj.__dict__
        d["_tern_self"] = selfptr
        d["_tern_elem"] = elem_pb
        proxy = d["thisProxy"] = Proxy(coll_pb, cls, grouplike)
        if proxy._kind == _GROUP or grouplike:
            d["thisIndex"] = index[0]
            if grouplike:
                d["_tern_grouplike"] = True
        elif proxy._kind == _ARRAY:
            d["thisIndex"] = tuple(index)
        else:
            d["thisIndex"] = None

    def _created(self, obj, cls):
        if cls in _Reg.map_of:
            _Reg.map_objs[cls] = obj

    def _dispatch(self, obj, header, bufs):
        if bufs is None:
            name, args, kwargs, reply, _ = _loads(header)
        else:
            name, args, kwargs, reply = _wire.loads_call(header, bufs)
        method = getattr(obj, name, None)
        if (reply is None and kwargs is None and method is not None
                and not getattr(method, "_tern_kind", 0)):
            try:  # the common case, kept short
                method(*args)
            except SystemExit as e:
                _core.exit(_exit_code(e))
            except Exception as e:
                self._finish(obj, name, None, None, e, traceback.format_exc())
        else:
            self.invoke(obj, name, args, kwargs, reply)
        wq = obj.__dict__.get("_tern_wq")
        if wq:
            self._retry_when(obj, wq)

    def _resume(self, obj):
        self.invoke(obj, "resumeFromSync", (), None, None)

    def _pack(self, obj):
        return pickle.dumps(obj, protocol=5)

    def _unpack(self, cls, coll_pb, index, selfptr, elem_pb, packed):
        obj = pickle.loads(packed)
        cls = type(obj)  # (the shared type's data is not the class: chare.register_dynamic)
        self._attach(obj, cls, coll_pb, index, selfptr, elem_pb)
        obj.migrated()
        return obj

    def _task(self, record, out_len):
        return taskpool.run_task(record, out_len)

    def _proc_num(self, cls, index, dims):
        m = _Reg.map_objs.get(cls)
        if m is None:  # its member here is not built yet: procNum on a bare instance
            m = cls.__new__(cls)
        return int(m.procNum(tuple(index)))

    def _sys(self, header, bufs):
        tag = header[:1]
        if tag == b"R":
            self._reduced(header)
        elif tag == b"N":
            dest, result = reduction.numeric_result(header)
            self.send_result(dest, result)
        elif not header:  # quiescence
            if self.qd_targets:
                self.send_result(self.qd_targets.pop(0), None, empty=True)
        elif header == b"S":
            if self.main is None:  # the job runs beneath the program (charm._start_under)
                future.run(_Waiting.user)
            else:
                future.spawn(self._run_main)
        elif tag == b"M":  # a pool map ended here (tern/_pool.c)
            taskpool.map_done(int.from_bytes(header[1:9], "little"))
        else:
            msg = _wire.loads(header, bufs)
            if msg[0] == "F":
                future.arrive(msg[1], msg[2])
            elif msg[0] == "P":
                taskpool.arrived_elsewhere(*msg[1:])

    # ---- entry methods ----
    def invoke(self, obj, name, args, kwargs, reply):
        method = getattr(obj, name, None)
        if method is None:
            err = AttributeError("%s has no entry method %s" % (type(obj).__name__, name))
            self._finish(obj, name, reply, None, err, "")
            return
        fn = getattr(method, "__func__", method)
        kind = getattr(fn, "_tern_kind", 0)
        if kind & KIND_WHEN and not self._when_holds(obj, fn, fn._tern_when, args, kwargs):
            obj.__dict__.setdefault("_tern_wq", []).append((name, args, kwargs, reply))
            return
        if kind & KIND_CORO:
            future.spawn(self._run_coro, obj, name, method, args, kwargs, reply)
        else:
            self._run_method(obj, name, method, args, kwargs, reply)

    def _run_coro(self, obj, name, method, args, kwargs, reply):
        """A @coro method, in its coroutine: while it runs (and waits) the runtime knows
        its chare, so that calls waiting on @when are tried again whenever it gives the
        PE back (future.run), and once more when it ends."""
        g = greenlet.getcurrent()
        self.coro_chares[g] = obj
        try:
            self._run_method(obj, name, method, args, kwargs, reply)
        finally:
            del self.coro_chares[g]
        wq = obj.__dict__.get("_tern_wq")
        if wq:
            self._retry_when(obj, wq)

    def _after_switch(self, g):
        """future.run's hook: coroutine g gave the PE back."""
        obj = self.coro_chares.get(g)
        if obj is not None:
            wq = obj.__dict__.get("_tern_wq")
            if wq:
                self._retry_when(obj, wq)

    def _run_method(self, obj, name, method, args, kwargs, reply):
        try:
            value = method(*args, **kwargs) if kwargs else method(*args)
            err, tb = None, ""
        except SystemExit as e:
            _core.exit(_exit_code(e))
            value, err, tb = None, None, ""
        except Exception as e:  # reaches the caller, or ends the job
            value, err, tb = None, e, traceback.format_exc()
        self._finish(obj, name, reply, value, err, tb)

    def _finish(self, obj, name, reply, value, err, tb):
        if reply is None:
            if err is not None:
                sys.stderr.write(tb or "%r\n" % err)
                sys.stderr.flush()
                _core.abort("PE %d: %s.%s raised %s: %s (and nobody waits for its answer)"
                            % (_Waiting.my_pe, type(obj).__name__, name, type(err).__name__,
                               err))
            return
        pe, fid, ret = reply
        index = obj.__dict__.get("thisIndex")
        if err is not None:
            try:
                pickle.dumps(err)
                e = err
            except Exception:
                e = RemoteError("%s: %s" % (type(err).__name__, err))
            try:
                e.remote_traceback = "PE %d:\n%s" % (_Waiting.my_pe, tb)
            except Exception:
                pass
            future.deliver(pe, fid, ("e", e, index))
            return
        try:
            future.deliver(pe, fid, ("v", value if ret else None, index))
        except Exception as e:  # (an answer that cannot be pickled: the caller learns why)
            err = RuntimeError("%s.%s on PE %d: its return value cannot be sent: %s"
                               % (type(obj).__name__, name, _Waiting.my_pe, e))
            future.deliver(pe, fid, ("e", err, index))

    @staticmethod
    def _when_holds(obj, fn, cond, args, kwargs):
        code = fn.__code__
        names = code.co_varnames[1:code.co_argcount]
        env = dict(zip(names, args))
        if kwargs:
            env.update(kwargs)
        env["self"] = obj
        return eval(cond, fn.__globals__, env)

    def _retry_when(self, obj, wq):
        """Run the waiting calls whose condition now holds, until none does."""
        d = obj.__dict__
        if d.get("_tern_wbusy"):
            return
        d["_tern_wbusy"] = True
        try:
            progress = True
            while progress and wq:
                progress = False
                for i, (name, args, kwargs, reply) in enumerate(wq):
                    fn = getattr(getattr(obj, name), "__func__", None)
                    if self._when_holds(obj, fn, fn._tern_when, args, kwargs):
                        del wq[i]
                        self.invoke(obj, name, args, kwargs, reply)
                        progress = True
                        break
        finally:
            d["_tern_wbusy"] = False

    # ---- main ----
    def _run_main(self):
        try:
            argv = _core.main_argv()
            sys.argv[:] = argv
            if self.main_chare:
                _create_single(self.main, args=[argv], onPE=0)
            else:
                self.main(argv)
        except SystemExit as e:
            _core.exit(_exit_code(e))
        except Exception:
            traceback.print_exc()
            sys.stderr.flush()
            _core.abort("PE 0: the main function raised an exception (traceback above)")

    # ---- reductions ----
    def _target(self, target):
        """(where the result goes, the PE whose runtime member gets it)."""
        if isinstance(target, Future):
            return ("f", target.pe, target.fid), target.pe
        if isinstance(target, _Method):
            return ("m", target.proxy, target.name), 0
        raise TypeError("reduce: the callback must be a Future or a proxy's method (e.g. "
                        "self.thisProxy[0].done), not %r" % (target,))

    def contribute(self, obj, data, reducer, target, section, dest=None):
        rname = reduction.name_of(reducer)
        pre = reduction.registry[rname][1]
        if pre is not None:
            data = pre(data, obj)
        if dest is None:
            dest, pe = self._target(target)
        else:  # an allreduce: the result goes straight to every contributor
            to = obj.thisProxy if section is None else section
            pe = (to._pb, _Reg.reduced_of[to._cls])
        sec = None if section is None else section._pb
        if pre is None and reduction.registry[rname][2] is None:
            rec = reduction.numeric_record(rname, data, dest)
            if rec is not None:  # combined by Tern's tree on the way
                _core.contribute(obj._tern_self, rec, pe, sec, True)
                return
        rec = pickle.dumps((rname, dest, data), protocol=5)
        _core.contribute(obj._tern_self, b"R" + len(rec).to_bytes(4, "little") + rec, pe,
                         sec, False)

    def allreduce(self, obj, data, reducer, section):
        # Results of one collection's (or section's) allreduces come in the order they
        # were made: each contributor keeps its futures in that order.
        d = obj.__dict__
        key = None if section is None else section._pb
        f = Future._new()
        d.setdefault("_tern_ar", {}).setdefault(key, collections.deque()).append(f)
        self.contribute(obj, data, reducer, None, section, dest=("a", key))
        return f

    def _allreduced(self, obj, payload):
        """An allreduce's result reached this contributor: its future gets it."""
        if payload[:1] == b"N":
            dest, result = reduction.numeric_result(payload)
        else:
            dest, result, _ = self._reduce_records(payload)
        q = obj.__dict__.get("_tern_ar", {}).get(dest[1])
        if q:
            q.popleft()._arrive("v", result, None)

    @staticmethod
    def _reduce_records(payload):
        """(destination, result, reducer's name) of gathered contributions."""
        values, dest, rname, off = [], None, None, 0
        while off < len(payload):
            n = int.from_bytes(payload[off + 1:off + 5], "little")
            rname, dest, data = pickle.loads(payload[off + 5:off + 5 + n])
            values.append(data)
            off += 5 + n
        fn, _, post = reduction.registry[rname]
        result = fn(values) if values else None
        if post is not None:
            result = post(result)
        return dest, result, rname

    def _reduced(self, payload):
        dest, result, rname = self._reduce_records(payload)
        self.send_result(dest, result, rname == "nop")

    def send_result(self, dest, result, empty=False):
        """Give a result to a Future, or call a proxy's method with it (with nothing for
        an empty reduction or quiescence)."""
        if isinstance(dest, (Future, _Method)):
            dest = self._target(dest)[0]
        if dest[0] == "f":
            future.deliver(dest[1], dest[2], ("v", result, None))
        else:
            m = _Method(dest[1], dest[2])
            m() if empty else m(result)


rt = _Reg.runtime = Runtime()
