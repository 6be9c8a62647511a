"""The interactive mode's prompt (tern/interactive.py starts it; so does
charm.start(interactive=True)): a console on PE 0 that waits for lines as a coroutine and
runs what defines classes, functions and imports on the other PEs too."""

import ast
import code
import os
import select
import sys

POLL_S = 0.02  # how often the prompt looks for a line while the PE runs


class Console(code.InteractiveConsole):
    def __init__(self, charm, namespace):
        super().__init__(namespace, filename="<tern>")
        self.charm = charm
        self.pending = b""   # what was read past the line given last
        self.others = None   # a section of the other PEs, made once

    def raw_input(self, prompt=""):
        sys.stdout.write(prompt)
        sys.stdout.flush()
        fd = sys.stdin.fileno()
        while b"\n" not in self.pending:
            if not select.select([fd], [], [], 0)[0]:
                self.charm.sleep(POLL_S)  # the PE runs (or sleeps) meanwhile
                continue
            chunk = os.read(fd, 4096)
            if not chunk:  # end of file: the last line, if unfinished, then the end
                if self.pending:
                    break
                raise EOFError
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return line.decode(errors="replace")

    def runcode(self, compiled):
        self.ok = False
        try:
            exec(compiled, self.locals)
            self.ok = True
        except SystemExit:
            raise
        except BaseException:
            self.showtraceback()

    def runsource(self, source, filename="<tern>", symbol="single"):
        self.ok = False
        more = super().runsource(source, filename, symbol)
        defs = _definitions(source) if self.ok and not more else None
        if defs and self.charm.numPes() > 1:
            # What ran here defined something: the other PEs get the definitions only.
            if self.others is None:
                self.others = self.charm.thisProxy[1:]
            try:
                self.others._tern_define(defs, awaitable=True).get()
            except Exception:
                sys.stderr.write("(on the other PEs:)\n")
                self.showtraceback()
        return more


def _definitions(source):
    """The source of what source defines that the other PEs need (classes, functions,
    imports), or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    kinds = (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef, ast.Import,
             ast.ImportFrom)
    nodes = [n for n in tree.body if isinstance(n, kinds)]
    return "\n".join(ast.unparse(n) for n in nodes) if nodes else None


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
    hook = sys.excepthook  # (errors at the prompt are shown as Python's prompt shows them)
    sys.excepthook = sys.__excepthook__
    try:
        c.interact(banner=text, exitmsg="")
        charm._exit_code = 0  # (errors shown at the prompt do not fail the job)
    except SystemExit as e:
        charm._exit_code = e.code if isinstance(e.code, int) else 0
    finally:
        sys.excepthook = hook
