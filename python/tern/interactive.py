"""Interactive mode: a Python prompt on PE 0 that drives the whole job (Charm4py's
interactive mode).

    ternrun -n 4 /usr/bin/python3 -m tern.interactive [--remote-exec]

The prompt's namespace is __main__ with `charm` and the tern names in it. What is
defined at the prompt (classes, functions, imports) is defined on every PE too, so chare
classes typed in can be instantiated anywhere:

    >>> class Hello(Chare):
    ...     def hi(self):
    ...         return charm.myPe()
    ...
    >>> Group(Hello).hi(ret=True).get()
    [0, 1, 2, 3]
    >>> charm.thisProxy.updateGlobals({'X': 1}, awaitable=True).get()

The prompt is a coroutine: futures can be waited on, and the PEs go on running (and
sleep when idle) while it waits for a line. charm.thisProxy[pe].exec(code) and .eval(expr)
run code on other PEs when started with --remote-exec (charm.options.remote_exec). End
with exit() or end-of-file (Ctrl-D): the job ends.
"""
import sys

from . import _console, _core
from .charm import charm, public_names


def main():
    if "--remote-exec" in sys.argv:
        charm.options.remote_exec = True
        sys.argv.remove("--remote-exec")
    _console.namespace(public_names())
    charm._start_under()  # PE 0 goes on; the others serve until the job ends
    _console.interact(charm, public_names(), _core.version)


if __name__ == "__main__":
    main()
