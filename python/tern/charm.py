"""The runtime as programs see it: Charm4py's `charm` object.

Every process runs the program; charm.start(main) registers the chare classes (every
subclass of Chare, by qualified name, so that all processes agree) and runs the job; PE 0
runs main(args) as a coroutine once the runtime's groups exist. A call returns at once:
its arguments are serialized when it is made.
"""
import atexit
import importlib
import os
import sys

import greenlet

from . import _console, _core, chare as _chare, future, taskpool
from ._runtime import rt
from .chare import Chare, Proxy, _Reg
from .future import Future, _Waiting


class _Options:
    """charm.options: accepted for Charm4py programs (profiling=True turns Tern's
    statistics on: TERN_STATS=1); Tern's other runtime options are its command-line flags
    and TERN_* variables."""

    def __init__(self):
        self.local_msg_optim = True
        self.local_msg_buf_size = 50
        self.pickle_protocol = 5
        self.profiling = False
        self.quiet = True
        self.remote_exec = False


class CharmRemote(Chare):
    """charm's group (charm.thisProxy): the methods of charm that can be called remotely
    and used as callbacks."""

    def __init__(self):
        charm.thisProxy = self.thisProxy

    def exit(self, exit_code=0):
        _core.exit(int(exit_code))

    def abort(self, message):
        charm.abort(message)

    def updateGlobals(self, globals_dict, module_name="__main__"):
        sys.modules[module_name].__dict__.update(globals_dict)

    def exec(self, code, module_name="__main__"):
        if not charm.options.remote_exec:
            raise RuntimeError("charm.exec: remote execution is off (charm.options."
                               "remote_exec)")
        exec(code, sys.modules[module_name].__dict__)

    def eval(self, expression, module_name="__main__"):
        if not charm.options.remote_exec:
            raise RuntimeError("charm.eval: remote execution is off (charm.options."
                               "remote_exec)")
        return eval(expression, sys.modules[module_name].__dict__)

    def printStats(self):
        _core.print_stats()

    def myPe(self):
        return _core.my_pe()

    def _pool_init(self, initializer, initargs):
        initializer(*initargs)  # (tern.pool.Pool's initializer, on every PE)

    def _tern_define(self, source, module_name="__main__"):
        """Run what the interactive prompt defined (tern/interactive.py) here too."""
        exec(compile(source, "<tern>", "exec"), sys.modules[module_name].__dict__)


class _Charm:
    def __init__(self):
        self.options = _Options()
        self.thisProxy = None
        self.pool = taskpool.CharmPool()
        self._started = False

    # ---- start and exit ----
    def start(self, entry=None, classes=(), modules=(), interactive=False):
        """Register the chare classes and run the job (every process); PE 0 runs
        entry(args), or creates the chare class `entry` there with args."""
        if interactive:  # a prompt on PE 0 (tern/_console.py); the job ends with it
            _console.namespace(public_names())
            self._start_under(classes, modules)
            _console.interact(self, public_names(), _core.version)
            return
        if entry is None:
            raise ValueError("charm.start: an entry point (a function or a chare class)")
        self._prepare(classes, modules)
        _Waiting.hub = greenlet.getcurrent()
        rt.main = entry
        rt.main_chare = isinstance(entry, type) and issubclass(entry, Chare)
        code = self._run()
        sys.stdout.flush()
        sys.exit(code)

    def _prepare(self, classes=(), modules=()):
        if self._started:
            raise RuntimeError("charm.start: called twice")
        self._started = True
        todo = set(_chare._all_subclasses(Chare)) | set(classes)
        for name in modules:
            mod = importlib.import_module(name)
            todo |= {v for v in vars(mod).values()
                     if isinstance(v, type) and issubclass(v, Chare)}
        todo.discard(_chare.ArrayMap)
        _chare.register(todo)
        if self.options.profiling:
            os.environ.setdefault("TERN_STATS", "1")

    def _run(self):
        return _core.run(list(sys.argv), rt, _Reg.type_of[CharmRemote])

    def _start_under(self, classes=(), modules=()):
        """Run the job beneath the calling code (what tern.pool's Pool() and the
        interactive mode do when the runtime is not running yet): on PE 0 the caller goes
        on, as the job's main coroutine, once the runtime is up; the other PEs serve until
        the job ends, then exit. The job ends when PE 0's program does."""
        if self._started:
            return
        self._prepare(classes, modules)
        user = greenlet.getcurrent()
        hub = greenlet.greenlet(self._run_hub)
        _Waiting.hub, _Waiting.user = hub, user
        rt.main = None
        code = hub.switch()  # back here: PE 0 once main starts; elsewhere, the job's end
        if hub.dead:
            sys.stdout.flush()
            sys.exit(code)
        atexit.register(self._end_under)
        self._excepthook = sys.excepthook
        sys.excepthook = self._failed

    def _run_hub(self):
        _Waiting.exit_code = self._run()
        return _Waiting.exit_code

    def _failed(self, *exc):
        self._exit_code = 1
        self._excepthook(*exc)

    def _end_under(self):
        hub = _Waiting.hub
        if hub is None or hub.dead:
            return
        sys.stdout.flush()
        _core.exit(getattr(self, "_exit_code", 0))
        while not hub.dead:
            hub.switch()

    def exit(self, exit_code=0):
        """End the job on every PE (exit_code for the launcher)."""
        _core.exit(int(exit_code))

    def abort(self, message):
        """End the job at once with message (and this PE named)."""
        _core.abort("PE %d: charm.abort: %s" % (_core.my_pe(), message))

    # ---- where ----
    def myPe(self):
        return _core.my_pe()

    def numPes(self):
        return _core.num_pes()

    def myHost(self):
        return _core.my_host()

    def numHosts(self):
        return _core.num_hosts()

    def getHostPes(self, host):
        return _core.host_pes(host)

    def getHostFirstPe(self, host):
        return _core.host_first_pe(host)

    def getHostNumPes(self, host):
        return _core.host_num_pes(host)

    def getPeHost(self, pe):
        return _core.pe_host(pe)

    def getPeHostRank(self, pe):
        return _core.pe_host_rank(pe)

    def wallTime(self):
        return _core.wall_time()

    # ---- futures and waiting ----
    def createFuture(self, senders=1):
        return Future._new(senders)

    def wait(self, awaitables):
        """Suspend the calling coroutine until every future (or channel) is ready."""
        future.wait_all(awaitables)

    def iwait(self, awaitables):
        """The futures and channels, each as soon as it is ready (coroutines only)."""
        return future.iwait(awaitables)

    def awaitCreation(self, *proxies):
        """Suspend until every member of the collections (or the chares) is built."""
        fs = [p._call("_tern_ping", (), None, False, True) for p in proxies]
        future.wait_all(fs)

    def sleep(self, secs):
        """Suspend the calling coroutine for secs seconds while the PE runs other work
        (outside a coroutine: time.sleep)."""
        if not future.can_wait():
            import time
            time.sleep(secs)
            return
        f = Future._new()
        _core.after(float(secs), lambda: f._arrive("v", None, None))
        f.get()

    def scheduleCallableAfter(self, callable_obj, secs, args=()):
        """Call callable_obj(*args) (a function, a Future or a proxy's method) after secs
        seconds, from the scheduler."""
        args = tuple(args)
        _core.after(float(secs), lambda: callable_obj(*args))

    def startQD(self, callback):
        """At the next quiescence (no message anywhere), send to callback: a Future or a
        proxy's method (called with no arguments)."""
        rt._target(callback)  # checks it
        rt.qd_targets.append(callback)
        _core.qd()

    def waitQD(self):
        """Suspend until the job is quiescent."""
        f = Future._new()
        self.startQD(f)
        f.get()

    # ---- sections ----
    def split(self, proxy, numsections, section_func=None, elems=None):
        """numsections sections of the collection: section_func(obj) gives the sections
        of each member (an int, a list, or < 0 / [] for none), evaluated on the calling
        PE with an object that has the member's thisIndex and thisProxy; or elems, the
        indices of each section's members."""
        if elems is not None:
            if len(elems) != numsections:
                raise ValueError("charm.split: %d lists of elements for %d sections"
                                 % (len(elems), numsections))
            return [Proxy(_core.section_create(proxy._pb, [_as_index(proxy, i) for i in e]),
                          proxy._cls) for e in elems]
        if section_func is None:
            raise ValueError("charm.split: section_func or elems")

        multi = []

        def which(index):
            m = _Member(proxy, index)
            r = section_func(m)
            if isinstance(r, int):
                return r
            r = list(r)
            if len(r) > 1:
                multi.append((index, r))
                return r[0]
            return r[0] if r else -1

        pbs = _core.section_split(proxy._pb, int(numsections), which)
        if multi:  # members of several sections: the sections by listing
            lists = [[] for _ in range(numsections)]
            _core.section_split(proxy._pb, 1, lambda index: _collect(index, section_func,
                                                                     proxy, lists))
            pbs = [_core.section_create(proxy._pb, lst) for lst in lists]
        return [Proxy(pb, proxy._cls) for pb in pbs]

    def combine(self, *proxies):
        """One section of every member of the proxies' collections (one chare class)."""
        if len(proxies) == 1 and isinstance(proxies[0], (list, tuple)):
            proxies = tuple(proxies[0])
        return Proxy(_core.section_combine([p._pb for p in proxies]), proxies[0]._cls)

    # ---- load balancing and statistics ----
    def lbStrategy(self):
        return _core.lb_strategy()

    def printStats(self):
        _core.print_stats()


class _Member:
    """What section_func sees of a member: its index and its collection's proxy."""

    def __init__(self, proxy, index):
        self.thisProxy = proxy
        self.thisIndex = index[0] if proxy._kind == _chare._GROUP else tuple(index)


def _collect(index, section_func, proxy, lists):
    r = section_func(_Member(proxy, index))
    for s in ([r] if isinstance(r, int) else list(r)):
        if s >= 0:
            lists[s].append(tuple(index))
    return -1


def _as_index(proxy, i):
    return (i,) if isinstance(i, int) else tuple(i)


charm = _Charm()


def public_names():
    """The names `from tern import *` gives (the interactive prompt's)."""
    from ._runtime import RemoteError
    from .channel import Channel
    from .chare import Array, ArrayMap, Group, coro, threaded, when
    from .future import Future
    from .reduction import Reducer
    return {"charm": charm, "Chare": Chare, "Group": Group, "Array": Array,
            "ArrayMap": ArrayMap, "Future": Future, "Reducer": Reducer, "Channel": Channel,
            "RemoteError": RemoteError, "coro": coro, "threaded": threaded, "when": when}


_in_script = bool(getattr(sys.modules.get("__main__"), "__file__", None))


@atexit.register
def _never_started():
    """A program (not an interactive session) that imported tern but never started it
    probably forgot to: say so (Charm4py does too)."""
    if _in_script and not charm._started:
        sys.stderr.write("tern: the program ended without calling charm.start()\n")
