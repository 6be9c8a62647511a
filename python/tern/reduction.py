"""Reducers (Charm4py's Reducer): functions of the list of contributions, in element order.
Numbers, lists and tuples of numbers, and numpy arrays combine element-wise."""
import operator

try:
    import numpy as _np
except ImportError:  # numbers and sequences only
    _np = None


def _elementwise(op, np_op):
    def f(a, b):
        if _np is not None and (isinstance(a, _np.ndarray) or isinstance(b, _np.ndarray)):
            return np_op(a, b)
        if isinstance(a, (list, tuple)):
            return type(a)(f(x, y) for x, y in zip(a, b))
        return op(a, b)
    return f


def _fold(op):
    def reduce(values):
        acc = values[0]
        if _np is not None and isinstance(acc, _np.ndarray):
            acc = acc.copy()  # combine in place without touching a contribution
            inplace = True
        else:
            inplace = False
        for v in values[1:]:
            if (inplace and op is _ops["sum"] and isinstance(v, _np.ndarray)
                    and v.dtype == acc.dtype and v.shape == acc.shape):
                _np.add(acc, v, out=acc)
            else:
                acc = op(acc, v)
        return acc
    return reduce


def _land(a, b):
    return a and b


def _lor(a, b):
    return a or b


def _lxor(a, b):
    return bool(a) != bool(b)


_ops = {
    "sum": _elementwise(operator.add, None if _np is None else _np.add),
    "product": _elementwise(operator.mul, None if _np is None else _np.multiply),
    "max": _elementwise(max, None if _np is None else _np.maximum),
    "min": _elementwise(min, None if _np is None else _np.minimum),
    "logical_and": _elementwise(_land, None if _np is None else _np.logical_and),
    "logical_or": _elementwise(_lor, None if _np is None else _np.logical_or),
    "logical_xor": _elementwise(_lxor, None if _np is None else _np.logical_xor),
}

# name -> (function of the list, pre(data, chare) or None, post(result) or None)
registry = {}
_names = {}  # function -> name


class Reducer:
    """The reducers registered with the runtime, by name: Reducer.sum, .max, .min,
    .product, .logical_and, .logical_or, .logical_xor, .gather, .nop and custom ones."""

    @staticmethod
    def addReducer(func, pre=None, post=None):
        """A custom reducer: func(list of contributions) -> result; pre(data, chare) runs
        on each contribution, post(result) on the result."""
        registry[func.__name__] = (func, pre, post)
        _names[func] = func.__name__
        setattr(Reducer, func.__name__, staticmethod(func))


def _gather(values):
    return list(values)


def _nop(values):
    return None


for _name, _op in _ops.items():
    _f = _fold(_op)
    _f.__name__ = _name
    registry[_name] = (_f, None, None)
    _names[_f] = _name
    setattr(Reducer, _name, staticmethod(_f))
for _f, _name in ((_gather, "gather"), (_nop, "nop")):
    registry[_name] = (_f, None, None)
    _names[_f] = _name
    setattr(Reducer, _name, staticmethod(_f))


def name_of(reducer):
    """The registered name of a reducer (a Reducer attribute, or a function given to
    addReducer); None for an empty reduction."""
    if reducer is None:
        return "nop"
    name = _names.get(getattr(reducer, "__func__", reducer))
    if name is not None:
        return name
    raise ValueError("reduce: %r is not a registered reducer (use Reducer.addReducer)"
                     % (reducer,))


# ---- numeric reductions combined by Tern's tree (tern/_reduce.c) ----
# A contribution of a numeric numpy array to a built-in reducer is a record that Tern's
# reduction tree combines in C on the way up; anything else is gathered to one PE and
# reduced there in Python.
import struct

_OPS = {"sum": 0, "product": 1, "max": 2, "min": 3, "logical_and": 4, "logical_or": 5,
        "logical_xor": 6}
_DTYPES = ["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f4", "<f8"]
_DT = {s: i for i, s in enumerate(_DTYPES)}
_BUILTIN = {name: registry[name][0] for name in _OPS}
_ARRAY = 4  # (what the record held: an array; other kinds are gathered)
_HDR = struct.Struct("<4sBBBBQII")  # 24 bytes: tern/_reduce.c's layout


def numeric_record(rname, data, dest):
    """The record of a contribution Tern can combine, or None. The choice depends on the
    reducer and the contribution's type only (never on its value): every member of a
    reduction must make the same one. numpy arrays of a numeric dtype (bool for the
    logical reducers) go this way; numbers and everything else are gathered."""
    op = _OPS.get(rname)
    if op is None or _np is None or type(data) is not _np.ndarray or \
            registry[rname][0] is not _BUILTIN[rname]:
        return None
    logical = op >= 4
    arr, kind = data, _ARRAY
    if arr.dtype.str not in _DT or logical != (arr.dtype.str == "|b1"):
        return None
    shape = arr.shape
    head = 24 + 8 * len(shape)
    off = (head + 15) & ~15
    rest = pickle_dest(dest)
    return b"".join((_HDR.pack(b"NRED", op, _DT[arr.dtype.str], kind, len(shape), arr.size,
                               off, len(rest)),
                     struct.pack("<%dq" % len(shape), *shape), b"\0" * (off - head),
                     arr.tobytes(), rest))


def pickle_dest(dest):
    import pickle
    return pickle.dumps(dest, protocol=5)


def numeric_result(payload):
    """(destination, result) of a combined record."""
    import pickle
    _, op, dt, kind, ndim, n, off, nrest = _HDR.unpack_from(payload)
    shape = struct.unpack_from("<%dq" % ndim, payload, 24)
    end = off + n * _np.dtype(_DTYPES[dt]).itemsize
    arr = _np.frombuffer(payload, _DTYPES[dt], n, off).reshape(shape)
    dest = pickle.loads(payload[end:end + nrest])
    return dest, arr.copy()
