"""What Python messages carry: a pickle (protocol 5) and its out-of-band buffers.

An entry method's arguments that are contiguous numpy arrays travel without pickling: the
pickle names their dtype and shape, and their bytes are segments of the message of their
own, copied once into the message by the sender and once into memory the receiver owns
(an array of that memory is what the method gets). Other objects pickled with
PickleBuffer (bytearray, arrays inside lists and other objects) of at least OOB_MIN bytes
travel beside the pickle the same way.
"""
import pickle

from . import _core

try:
    from numpy import ndarray as _ndarray, frombuffer as _frombuffer
except ImportError:  # without numpy, everything is pickled
    _ndarray = None

OOB_MIN = 512
_MAX_BUFS = _core.MAX_IOV - 1


def dumps(obj):
    """obj as (header bytes, list of buffers or None)."""
    bufs = []

    def oob(pb):
        # a true value keeps the buffer in the pickle; None sends it beside
        return pb.raw().nbytes < OOB_MIN or bufs.append(pb)

    header = pickle.dumps(obj, protocol=5, buffer_callback=oob)
    if not bufs:
        return header, None
    if len(bufs) > _MAX_BUFS:  # too many segments for one message: all in the pickle
        return pickle.dumps(obj, protocol=5), None
    return header, bufs


def loads(header, bufs):
    return pickle.loads(header, buffers=bufs) if bufs is not None else pickle.loads(header)


def dumps_call(name, args, kwargs, reply):
    """An entry method call: (name, args, kwargs, reply, arrays) where arrays, when
    arguments are numpy arrays, lists (position, dtype, shape) of each; their data are the
    last segments."""
    arrs = None
    if _ndarray is not None:
        for i, a in enumerate(args):
            if type(a) is _ndarray and a.flags.c_contiguous and a.dtype.fields is None \
                    and not a.dtype.hasobject:
                if arrs is None:
                    arrs, data, args = [], [], list(args)
                arrs.append((i, a.dtype.str, a.shape))
                data.append(a)
                args[i] = None
    if arrs is None:
        return dumps((name, args, kwargs, reply, None))
    header, bufs = dumps((name, args, kwargs, reply, arrs))
    return header, (bufs or []) + data


def loads_call(header, bufs):
    if bufs is None:
        return pickle.loads(header)[:4]
    it = iter(bufs)
    name, args, kwargs, reply, arrs = pickle.loads(header, buffers=it)
    if arrs:
        rest = bufs[len(bufs) - len(arrs):]
        for (i, dt, shape), b in zip(arrs, rest):
            args[i] = _frombuffer(b, dtype=dt).reshape(shape)
    return name, args, kwargs, reply
