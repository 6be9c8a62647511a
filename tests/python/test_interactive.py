"""Interactive mode through a pseudo-terminal, at 1, 2 and 4 PEs: define a chare class
at the prompt, create a group and an array of it, call them, update globals everywhere,
remote eval, an error at the prompt, and the end of the job with exit()."""
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from test_charm import BUILD, PES, TERNRUN


class Prompt:
    def __init__(self, np_, *args):
        self.master, slave = pty.openpty()
        env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"),
                   PYTHONDONTWRITEBYTECODE="1")
        self.p = subprocess.Popen([TERNRUN, "-n", str(np_), "--timeout", "60", sys.executable,
                                   "-m", "tern.interactive"] + list(args), stdin=slave,
                                  stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.seen = ""

    def read_until(self, text, timeout=30):
        end = time.time() + timeout
        while text not in self.seen:
            left = end - time.time()
            if left <= 0 or self.p.poll() is not None and not select.select(
                    [self.master], [], [], 0)[0]:
                pytest.fail("no %r; the terminal showed:\n%s" % (text, self.seen))
            if select.select([self.master], [], [], min(left, 0.5))[0]:
                try:
                    self.seen += os.read(self.master, 65536).decode(errors="replace")
                except OSError:
                    pass
        i = self.seen.index(text) + len(text)
        out, self.seen = self.seen[:i], self.seen[i:]
        return out

    def line(self, text):
        os.write(self.master, (text + "\n").encode())

    def ask(self, text):
        """Type a line; what it printed before the next prompt."""
        self.line(text)
        return self.read_until(">>> ")

    def close(self):
        try:
            return self.p.wait(timeout=60)
        finally:
            os.close(self.master)


@pytest.mark.parametrize("np_", PES)
def test_interactive(np_):
    t = Prompt(np_, "--remote-exec")
    banner = t.read_until(">>> ")
    assert "interactive mode: %d PEs" % np_ in banner
    t.line("class Hello(Chare):")
    t.line("    def hi(self, x):")
    t.line("        return (charm.myPe(), x * 2)")
    t.ask("")
    assert "[%s]" % ", ".join("(%d, 42)" % i for i in range(np_)) in t.ask(
        "Group(Hello).hi(21, ret=True).get()")
    assert "%d" % (np_ * 5) in t.ask("len(Array(Hello, (%d, 5)).hi(1, ret=True).get())"
                                     % np_)
    t.ask("charm.thisProxy.updateGlobals({'X': 7}, awaitable=True).get()")
    t.line("class G(Chare):")
    t.line("    def x(self):")
    t.line("        return X")
    t.ask("")
    assert str([7] * np_) in t.ask("Group(G).x(ret=True).get()")
    assert "'remote %d'" % (np_ - 1) in t.ask(
        "charm.thisProxy[%d].eval(\"'remote %%d' %% charm.myPe()\", ret=True).get()"
        % (np_ - 1))
    t.ask("sp = Array(Hello, ndims=1)")
    t.ask("sp.ckInsert(7, onPE=%d); sp.ckDoneInserting()" % (np_ - 1))
    assert "(%d, 2)" % (np_ - 1) in t.ask("sp[7].hi(1, ret=True).get()")
    assert t.ask("import math; print('once', math.floor(2.5))").count("once 2") == 1
    assert "ModuleNotFoundError" in t.ask("import no_such_module_here")
    assert "ZeroDivisionError" in t.ask("1/0")
    assert "still here" in t.ask("print('still here')")
    t.line("exit(0)")
    assert t.close() == 0


def test_interactive_end_of_file():
    t = Prompt(2)
    t.read_until(">>> ")
    os.write(t.master, b"\x04")  # Ctrl-D
    assert t.close() == 0
