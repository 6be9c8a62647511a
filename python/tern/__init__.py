"""Tern's Python package: the Charm4py programming model on Tern's C runtime.

    from tern import charm, Chare, Group, Array, coro

A Charm4py program runs after its `charm4py` imports are replaced by `tern`; start it
with `ternrun -n 4 python3 prog.py` (or srun, mpirun). This is the first part of the
package: chares, groups and arrays, entry methods with positional and keyword arguments,
calls with ret=True and awaitable=True, futures, coroutines, exceptions reaching the
caller. See the README.
"""
from ._core import version as __version__
from .charm import Array, Chare, Future, Group, Reducer, RemoteError, charm, coro, threaded

__all__ = ["charm", "Chare", "Group", "Array", "Future", "Reducer", "RemoteError", "coro",
           "threaded"]
