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
import ast
import code
import select
import sys

POLL_S = 0.02  # how often the prompt looks for a line while the PE runs


class Console(code.InteractiveConsole):
    def __init__(self, charm, namespace):
        super().__init__(namespace, filename="<tern>")
        self.charm = charm

    def raw_input(self, prompt=""):
        sys.stdout.write(prompt)
        sys.stdout.flush()
        fd = sys.stdin.fileno()
        while not select.select([fd], [], [], 0)[0]:
            self.charm.sleep(POLL_S)  # the PE runs (or sleeps) meanwhile
        line = sys.stdin.readline()
        if not line:
            raise EOFError
        return line.rstrip("\n")

    def runsource(self, source, filename="<tern>", symbol="single"):
        try:
            compiled = self.compile(source, filename, symbol)
        except (OverflowError, SyntaxError, ValueError):
            compiled = False  # the console shows the error
        if compiled and _defines(source) and self.charm.numPes() > 1:
            others = self.charm.thisProxy[1:]  # (a section of the other PEs)
            others._tern_define(source, awaitable=True).get()
        return super().runsource(source, filename, symbol)


def _defines(source):
    """Whether the source defines something the other PEs need: a class, a function, an
    import."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Import,
             ast.ImportFrom)
    return any(isinstance(n, kinds) for n in tree.body)


def namespace():
    """__main__'s namespace with charm and the tern names in it (on every PE: what the
    prompt defines runs there too)."""
    import tern
    ns = sys.modules["__main__"].__dict__
    for name in tern.__all__:
        ns.setdefault(name, getattr(tern, name))
    return ns


def interact(charm, banner=True):
    """The prompt, on PE 0 of a running job (the job runs beneath it)."""
    import tern
    c = Console(charm, namespace())
    text = ("Tern %s interactive mode: %d PEs on %d hosts. exit() or Ctrl-D ends the job."
            % (tern.__version__, charm.numPes(), charm.numHosts())) if banner else ""
    try:
        c.interact(banner=text, exitmsg="")
        charm._exit_code = 0  # (errors shown at the prompt do not fail the job)
    except SystemExit as e:
        charm._exit_code = e.code if isinstance(e.code, int) else 0


def main():
    from tern import charm
    if "--remote-exec" in sys.argv:
        charm.options.remote_exec = True
        sys.argv.remove("--remote-exec")
    namespace()
    charm._start_under()  # PE 0 goes on; the others serve until the job ends
    interact(charm)


if __name__ == "__main__":
    main()
