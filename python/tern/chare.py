"""Chares and proxies: the Chare base class, ArrayMap, proxies and their remote calls, and
creating chares, groups and arrays (Charm4py's Chare, Group, Array, ArrayMap, coro, when).
"""
import operator
import sys

from . import _core, _wire, channel
from .future import Future, _Waiting

_dumps_call, _send = _wire.dumps_call, _core.send

# Proxy kinds (tern.h).
_CHARE, _GROUP, _GROUP_ELEM, _ARRAY, _ARRAY_ELEM, _SECTION = 1, 2, 3, 4, 5, 6
_SPARSE = 0x1


class _Reg:
    """What charm.start registered: each class's type and entry methods, by class and
    by name; ArrayMap classes' maps; the local member of each map."""
    type_of, ep_of, resume_of, reduced_of, by_name, map_of, map_objs = ({}, {}, {}, {}, {},
                                                                         {}, {})
    runtime = None  # the PE's runtime (tern/_runtime.py), which sets itself here
    dynamic = None  # the class whose type the classes defined after the start share


# What an entry method is, as its _tern_kind says (0 or absent: a plain method).
KIND_CORO, KIND_WHEN = 1, 2


def coro(fn):
    """Mark an entry method as a coroutine: it may wait (futures, channels, charm.sleep)
    while the PE runs other messages."""
    fn._tern_kind = getattr(fn, "_tern_kind", 0) | KIND_CORO
    return fn


threaded = coro  # Charm4py's older name


def when(condition):
    """Run the entry method only once `condition` (a Python expression over self and the
    method's arguments, e.g. 'self.iter == iter') holds: until then its calls wait, and
    are tried again after each entry method of the chare."""
    def deco(fn):
        fn._tern_when = compile(condition, "<when %s>" % condition, "eval")
        fn._tern_kind = getattr(fn, "_tern_kind", 0) | KIND_WHEN
        return fn
    return deco


def class_key(cls):
    return "%s.%s" % (cls.__module__, cls.__qualname__)


class _Method:
    __slots__ = ("proxy", "name")

    def __init__(self, proxy, name):
        self.proxy, self.name = proxy, name

    def __call__(self, *args, ret=False, awaitable=False, **kwargs):
        p = self.proxy
        if ret or awaitable or kwargs:
            return p._call(self.name, args, kwargs, ret, awaitable)
        h, b = _dumps_call(self.name, args, None, None)
        _send(p._pb, p._ep, h, b)

    def __reduce__(self):
        return (getattr, (self.proxy, self.name))

    def __eq__(self, other):
        return isinstance(other, _Method) and (self.proxy, self.name) == (other.proxy,
                                                                          other.name)

    def __hash__(self):
        return hash((self.proxy, self.name))


class Proxy:
    """A proxy to a chare, a group, an array, a section, or one member: calling a method
    on it sends the call (to every member of a collection); indexing a collection's
    proxy gives a member's, slicing it a section's."""

    def __init__(self, pbytes, cls, grouplike=False):
        self._pb, self._cls, self._grouplike = pbytes, cls, grouplike
        (self._kind, self._ndims, self._dims, self._pe, self._flags,
         self._idx) = _core.proxy_info(pbytes)
        self._ep = _Reg.ep_of[cls]
        self._methods = {}

    def __reduce__(self):
        return (_proxy_from, (self._pb, class_key(self._cls), self._grouplike))

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        methods = self.__dict__["_methods"]
        m = methods.get(name)
        if m is None:
            m = methods[name] = _Method(self, name)
        return m

    def __getitem__(self, idx):
        kind = self._kind
        if kind not in (_GROUP, _ARRAY):
            raise TypeError("only a group's or an array's proxy can be indexed (this one is "
                            "%s)" % ("a section's" if kind == _SECTION else "a member's"))
        if not isinstance(idx, tuple):
            idx = (idx,)
        if any(isinstance(i, slice) for i in idx):
            return self._slice(idx)
        return Proxy(_core.elem(self._pb, idx), self._cls, self._grouplike)

    def _slice(self, idx):
        if self._flags & _SPARSE:
            raise TypeError("a sparse array cannot be sliced (use charm.split with elems)")
        dims = (_core.num_pes(),) if self._kind == _GROUP else self._dims
        if len(idx) != len(dims):
            raise IndexError("%d slices for %d dimensions" % (len(idx), len(dims)))
        out = []
        for i, d in zip(idx, dims):
            if isinstance(i, slice):
                start, stop, step = i.indices(d)
                out.append((start, stop, step))
            else:
                out.append((i, i + 1, 1))
        return Proxy(_core.section_slice(self._pb, out), self._cls)

    def __eq__(self, other):
        return isinstance(other, Proxy) and self._pb == other._pb

    def __hash__(self):
        return hash(self._pb)

    def __repr__(self):
        return "<tern proxy %s kind %d>" % (self._cls.__name__, self._kind)

    def _members(self):
        if self._kind == _GROUP:
            return _core.num_pes()
        if self._kind == _SECTION:
            return self._dims[0]
        if self._kind == _ARRAY:
            if self._flags & _SPARSE:
                raise ValueError("ret=True and awaitable=True broadcasts to an array with "
                                 "inserted elements are not supported (its size is not "
                                 "known where the call is made): use a reduction")
            n = 1
            for d in self._dims:
                n *= d
            return n
        return 1

    def _call(self, name, args, kwargs, ret, awaitable):
        fut = reply = None
        if ret or awaitable:
            n = self._members()
            fut = Future._new(n, gather=bool(ret) and self._kind in (_GROUP, _ARRAY, _SECTION),
                              ret=bool(ret))
            reply = (_Waiting.my_pe, fut.fid, bool(ret))
        h, b = _wire.dumps_call(name, args, kwargs or None, reply)
        _core.send(self._pb, self._ep, h, b)
        return fut

    # Arrays created empty (Charm4py's array proxy methods)
    def ckInsert(self, index, args=(), onPE=-1):
        """Insert element `index` (constructor arguments args) on onPE, or where the
        array's map puts it."""
        if not isinstance(index, tuple):
            index = (index,)
        _, opts = _type_of(self._cls)
        h, b = _wire.dumps((tuple(args), opts))
        _core.insert(self._pb, index, onPE, h, b)

    def ckDoneInserting(self):
        """The insertions are made: the inserted elements take part in reductions."""
        _core.done_inserting(self._pb)


def _proxy_from(pb, key, grouplike=False):
    return Proxy(pb, class_by_key(key), grouplike)


def class_by_key(key):
    """The chare class of a name (module.qualname): registered, or a class defined since
    the job started (the interactive mode's), found in its module and registered now."""
    cls = _Reg.by_name.get(key)
    if cls is not None:
        return cls
    mod, _, qual = key.rpartition(".")
    obj = sys.modules.get(mod)
    for part in qual.split(".") if obj is not None else ():
        obj = getattr(obj, part, None)
    if isinstance(obj, type) and issubclass(obj, Chare) and class_key(obj) == key:
        register_dynamic(obj)
        return obj
    raise RuntimeError("unknown chare class %s on PE %d (defined on every PE?)"
                       % (key, _core.my_pe()))


def register_dynamic(cls):
    """Give a class defined after the job started the shared type (_DynamicChare's):
    its constructor's payload names the class."""
    base = _Reg.dynamic
    _Reg.type_of[cls], _Reg.ep_of[cls] = _Reg.type_of[base], _Reg.ep_of[base]
    _Reg.resume_of[cls], _Reg.reduced_of[cls] = _Reg.resume_of[base], _Reg.reduced_of[base]
    _Reg.by_name[class_key(cls)] = cls


def _type_of(cls):
    """(Tern type, constructor options) of a class to create."""
    t = _Reg.type_of.get(cls)
    if t is None:
        if not (isinstance(cls, type) and issubclass(cls, Chare)):
            raise TypeError("%r is not a chare class (a subclass of Chare)" % (cls,))
        if _Reg.dynamic is None:
            raise RuntimeError("chare class %s: the runtime has not started"
                               % class_key(cls))
        register_dynamic(cls)
        t = _Reg.type_of[cls]
    if t == _Reg.type_of.get(_Reg.dynamic):
        return t, {"cls": class_key(cls)}
    return t, None


class Chare:
    """Base class of chares. Chare(Class, args=[], onPE=-1) creates a single chare and
    returns its proxy (Charm4py's spelling)."""

    def __new__(cls, *args, **kwargs):
        if cls is Chare and args and isinstance(args[0], type):
            return _create_single(*args, **kwargs)
        return super().__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __getstate__(self):
        """What moves with the chare (pickled): its attributes but the runtime's."""
        d = dict(self.__dict__)
        d.pop("_tern_self", None)
        return d

    # ---- reductions ----
    def reduce(self, callback, data=None, reducer=None, section=None):
        """Contribute data to a reduction over this chare's collection (or `section`);
        the result (reducer over every member's data, in element order) goes to callback:
        a Future or a proxy's method. No data and no reducer: an empty reduction."""
        self.contribute(data, reducer, callback, section)

    def contribute(self, data, reducer, target, section=None):
        _Reg.runtime.contribute(self, data, reducer, target, section)

    def allreduce(self, data=None, reducer=None, section=None):
        """As reduce, with the result to every contributor: a Future to get()."""
        return _Reg.runtime.allreduce(self, data, reducer, section)

    # ---- migration and load balancing ----
    def AtSync(self):
        """Ready for load balancing (elements of an array made with useAtSync=True); the
        runtime calls resumeFromSync once the step is done, where the element then is."""
        _core.at_sync(self._tern_self)

    def resumeFromSync(self):
        pass

    def migrate(self, toPe):
        """Move this element to PE toPe (its messages follow it)."""
        _core.migrate(self._tern_self, int(toPe))

    def migrated(self):
        """Called on the new PE after the chare moved."""

    def setMigratable(self, migratable):
        if not migratable:
            raise NotImplementedError("setMigratable(False): Tern's load balancer may move "
                                      "any array element; a chare bound to its PE belongs "
                                      "in a Group")

    # ---- runtime methods every chare has ----
    def _tern_ping(self):
        return None

    def _tern_chan(self, key, seq, args):
        channel.arrived(self, key, seq, args)



class _DynamicChare(Chare):
    """The Tern chare type of the classes defined after the job started."""


_Reg.dynamic = None  # set to _DynamicChare by register once it has its type


class ArrayMap(Chare):
    """A Group that places the elements of the arrays created with it (map=proxy): its
    procNum(index) gives the PE of each element (evaluated on every PE that needs it; it
    must give every PE the same answer)."""

    def procNum(self, index):
        raise NotImplementedError("an ArrayMap defines procNum(self, index)")


def _ctor_payload(args, opts=None):
    return _wire.dumps((tuple(args), opts))


def _create_single(cls, args=(), onPE=-1):
    t, opts = _type_of(cls)
    h, b = _ctor_payload(args, opts)
    return Proxy(_core.chare_create(t, onPE, h, b), cls)


def Group(cls, args=(), onPEs=None):
    """Create a group of cls, one member a PE (or one on each PE of onPEs: then the
    returned proxy is a section of them); its proxy."""
    t, opts = _type_of(cls)
    if onPEs is not None:
        h, b = _ctor_payload(args, dict(opts or {}, group=True))
        return Proxy(_core.group_create(t, h, b, list(onPEs)), cls)
    h, b = _ctor_payload(args, opts)
    return Proxy(_core.group_create(t, h, b, None), cls)


def Array(cls, dims=None, ndims=-1, args=(), map=None, useAtSync=False):
    """Create an array of cls: dense with dims (an int or a tuple), or empty with ndims
    dimensions for ckInsert; map: an ArrayMap group's proxy; useAtSync: its elements call
    AtSync for load balancing. Its proxy."""
    if dims is not None and not isinstance(dims, (tuple, list)):
        dims = (operator.index(dims),)
    if dims is None and ndims < 1:
        raise ValueError("Array: dims, or ndims for an array whose elements are inserted")
    mid = 0
    if map is not None:
        if not isinstance(map, Proxy) or map._cls not in _Reg.map_of:
            raise TypeError("Array: map must be the proxy of an ArrayMap group")
        mid = _Reg.map_of[map._cls]
    t, opts = _type_of(cls)
    h, b = _ctor_payload(args, opts)
    pb = _core.array_create(t, None if dims is None else tuple(dims),
                            ndims if dims is None else len(dims), mid, bool(useAtSync), h, b)
    return Proxy(pb, cls)


def _all_subclasses(cls):
    out = []
    for c in cls.__subclasses__():
        out.append(c)
        out.extend(_all_subclasses(c))
    return out


def register(classes):
    """Register chare classes (and ArrayMap classes as maps), in name order so that every
    process gives each the same type."""
    for cls in sorted(set(classes), key=class_key):
        if cls in _Reg.type_of:
            continue
        name = class_key(cls)
        t, ep, res, red = _core.define_type(name, cls)
        _Reg.type_of[cls], _Reg.ep_of[cls], _Reg.resume_of[cls] = t, ep, res
        _Reg.reduced_of[cls] = red
        _Reg.by_name[name] = cls
        if issubclass(cls, ArrayMap) and cls is not ArrayMap:
            _Reg.map_of[cls] = _core.define_map(name, cls)
        if cls is _DynamicChare:
            _Reg.dynamic = cls

