"""Tern's Python package: the Charm4py programming model on Tern's C runtime.

    from tern import charm, Chare, Group, Array, Future, Reducer, coro, when, Channel

A Charm4py program runs after its `charm4py` imports are replaced by `tern`; start it
with `ternrun -n 4 python3 prog.py`, `srun --mpi=pmix -n 4 python3 prog.py` (or
--mpi=pmi2), `mpirun -np 4 python3 prog.py` or MPICH's `mpiexec -n 4 python3 prog.py`.
See the README's Python section.
"""
from ._core import version as __version__
from ._runtime import RemoteError
from .channel import Channel
from .chare import Array, ArrayMap, Chare, Group, coro, threaded, when
from .charm import charm
from .future import Future
from .reduction import Reducer

__all__ = ["charm", "Chare", "Group", "Array", "ArrayMap", "Future", "Reducer", "Channel",
           "RemoteError", "coro", "threaded", "when"]
