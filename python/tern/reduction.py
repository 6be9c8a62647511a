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
