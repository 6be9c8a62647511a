"""The interactive mode's prompt (tern/interactive.py starts it; so does
charm.start(interactive=True)): a console on PE 0 that waits for lines as a coroutine and
runs what defines classes, functions and imports on the other PEs too."""

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


def namespace(names):
    """__main__'s namespace with charm and the tern names (a dict) in it (on every PE:
    what the prompt defines runs there too)."""
    ns = sys.modules["__main__"].__dict__
    for name, value in names.items():
        ns.setdefault(name, value)
    return ns


def interact(charm, names, version, banner=True):
    """The prompt, on PE 0 of a running job (the job runs beneath it)."""
    c = Console(charm, namespace(names))
    text = ("Tern %s interactive mode: %d PEs on %d hosts. exit() or Ctrl-D ends the job."
            % (version, charm.numPes(), charm.numHosts())) if banner else ""
    try:
        c.interact(banner=text, exitmsg="")
        charm._exit_code = 0  # (errors shown at the prompt do not fail the job)
    except SystemExit as e:
        charm._exit_code = e.code if isinstance(e.code, int) else 0
