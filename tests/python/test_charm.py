"""The Python package (python/tern) on Tern: Charm4py programs run under ternrun at 1, 2
and 4 PEs and their output is checked. Run by ctest (test python.pytest) with TERN_BUILD
naming the build tree; skipped when the package was not built."""
import os
import subprocess
import sys
import textwrap

import pytest

BUILD = os.environ.get("TERN_BUILD", "")
TERNRUN = os.path.join(BUILD, "tools", "ternrun")
HAVE = os.path.exists(os.path.join(BUILD, "python", "tern", "__init__.py"))
pytestmark = pytest.mark.skipif(not HAVE, reason="the Python package was not built")


def run(tmp_path, prog, np_, expect_ok=True, args=()):
    path = tmp_path / "prog.py"
    path.write_text(textwrap.dedent(prog))
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
    # unbuffered, a print is two writes: lines of PEs printing at once would mix
    env.pop("PYTHONUNBUFFERED", None)
    p = subprocess.run([TERNRUN, "-n", str(np_), "--timeout", "60", sys.executable, str(path)]
                       + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=90)
    if expect_ok and p.returncode != 0:
        pytest.fail("exit %d\nstdout:\n%s\nstderr:\n%s" % (p.returncode, p.stdout, p.stderr))
    return p


PES = [1, 2, 4]

CALLS = """
from tern import charm, Chare, Group, Array, coro

class Hello(Chare):
    def __init__(self, greeting, extra=None):
        self.greeting = greeting

    def hi(self, who, punct="!"):
        return "%s %s from %s%s" % (self.greeting, who, self.thisIndex, punct)

    def where(self):
        return charm.myPe()

    def fail(self):
        raise ValueError("no thanks from %s" % (self.thisIndex,))

    @coro
    def ask(self, other):
        return other.hi("coro", ret=True).get() + " via " + str(self.thisIndex)

def main(args):
    n = charm.numPes()
    g = Group(Hello, args=["hi"])
    print("A", g[n - 1].hi("world", punct="?", ret=True).get())
    print("B", g.hi("all", ret=True).get())
    print("C", g.where(ret=True).get())
    a = Array(Hello, (2, 3), args=["hey"])
    print("D", a[1, 2].hi("array", ret=True).get())
    assert a.hi("bcast", awaitable=True).get() is None
    print("E", len(a.hi("x", ret=True).get()))
    try:
        g[0].fail(ret=True).get()
    except ValueError as e:
        print("F caught:", e)
    print("G", a[0, 1].ask(g[0], ret=True).get())
    c = Chare(Hello, args=["yo"], onPE=n - 1)
    print("H", c.hi("single", ret=True).get(), c.where(ret=True).get())
    f = charm.createFuture()
    a[1, 1].hi("again", ret=True)  # a call nobody waits for
    g[n - 1].sendto(f) if False else f.send(42)
    print("I", f.get())
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_calls(tmp_path, np_):
    out = run(tmp_path, CALLS, np_).stdout
    n = np_
    assert "A hi world from %d?" % (n - 1) in out
    assert "B %r" % ["hi all from %d!" % i for i in range(n)] in out
    assert "C %r" % list(range(n)) in out
    assert "D hey array from (1, 2)!" in out
    assert "E 6" in out
    assert "F caught: no thanks from 0" in out
    assert "G hi coro from 0! via (0, 1)" in out
    assert "H yo single from None! %d" % (n - 1) in out
    assert "I 42" in out


REDUCE = """
from tern import charm, Chare, Group, Array, Reducer
import numpy as np

def tensum(values):
    return sum(values) * 10
Reducer.addReducer(tensum)

class W(Chare):
    def go(self, f, kind):
        i = self.thisIndex if isinstance(self.thisIndex, int) else self.thisIndex[0]
        data = {"sum": i + 1, "product": i + 1, "np": np.arange(3) * (i + 1), "max": i,
                "min": i, "gather": i, "tensum": i, "and": i < 100, "or": i == 1,
                "nop": None}[kind]
        red = {"np": Reducer.sum, "and": Reducer.logical_and, "or": Reducer.logical_or,
               "nop": None}.get(kind) or getattr(Reducer, kind)
        self.contribute(data, red, f)

class Main(Chare):
    def __init__(self, f):
        self.f = f

    def done(self, result):
        self.f.send(("method", result))

def main(args):
    for coll, n in ((Group(W), charm.numPes()), (Array(W, 5), 5)):
        for kind in ("sum", "product", "np", "max", "min", "gather", "tensum", "and", "or",
                     "nop"):
            f = charm.createFuture()
            coll.go(f, kind)
            r = f.get()
            print(kind, n, list(r) if kind == "np" else r)
    done = charm.createFuture()
    m = Chare(Main, args=[done], onPE=0)
    a = Array(W, 4)
    a.go(m.done, "sum")
    print(done.get())
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_reductions(tmp_path, np_):
    out = run(tmp_path, REDUCE, np_).stdout
    import math
    for n in (np_, 5):
        assert "sum %d %d" % (n, n * (n + 1) // 2) in out
        assert "product %d %d" % (n, math.factorial(n)) in out
        assert "np %d %r" % (n, [0, n * (n + 1) // 2, n * (n + 1)]) in out
        assert "max %d %d" % (n, n - 1) in out
        assert "min %d 0" % n in out
        assert "gather %d %r" % (n, list(range(n))) in out
        assert "tensum %d %d" % (n, 10 * n * (n - 1) // 2) in out
        assert "and %d True" % n in out
        assert "or %d %s" % (n, n > 1) in out
        assert "nop %d None" % n in out
    assert "('method', 10)" in out


CORO = """
from tern import charm, Chare, Group, coro

class Cell(Chare):
    def __init__(self):
        self.box = charm.createFuture()

    @coro
    def wait_box(self):
        return "got %s on %d" % (self.box.get(), charm.myPe())

    def fill(self, v):
        self.box.send(v)

def main(args):
    n = charm.numPes()
    g = Group(Cell)
    waits = [g[i].wait_box(ret=True) for i in range(n)]  # all wait; the PEs go on
    for i in range(n):
        g[i].fill(i * 7)
    for i, w in enumerate(waits):
        print(w.get())
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_coroutines(tmp_path, np_):
    out = run(tmp_path, CORO, np_).stdout
    for i in range(np_):
        assert "got %d on %d" % (i * 7, i) in out


def test_uncaught_exception_ends_the_job(tmp_path):
    prog = """
    from tern import charm, Chare, Group

    class Bad(Chare):
        def boom(self):
            raise KeyError("boom on %d" % charm.myPe())

    def main(args):
        Group(Bad)[charm.numPes() - 1].boom()

    charm.start(main)
    """
    p = run(tmp_path, prog, 2, expect_ok=False)
    assert p.returncode != 0
    assert "KeyError" in p.stderr and "boom on 1" in p.stderr
    assert "Bad.boom raised KeyError" in p.stderr and "PE 1" in p.stderr


def test_exception_in_main(tmp_path):
    prog = """
    from tern import charm

    def main(args):
        raise RuntimeError("main gives up")

    charm.start(main)
    """
    p = run(tmp_path, prog, 2, expect_ok=False)
    assert p.returncode != 0
    assert "main gives up" in p.stderr and "Traceback" in p.stderr


def test_args_reach_main(tmp_path):
    prog = """
    from tern import charm

    def main(args):
        print("ARGS", args[1:])
        charm.exit(3)

    charm.start(main)
    """
    p = run(tmp_path, prog, 1, expect_ok=False, args=["x", "7"])
    assert p.returncode == 3
    assert "ARGS ['x', '7']" in p.stdout


TIMERS = """
from tern import charm, Chare, Group, coro
import time

class Slow(Chare):
    @coro
    def nap(self, secs):
        t0 = time.time()
        charm.sleep(secs)
        return (self.thisIndex, time.time() - t0 >= secs * 0.9)

    def burst(self, k):
        if k > 0:
            self.thisProxy[(self.thisIndex + 1) % charm.numPes()].burst(k - 1)

def main(args):
    n = charm.numPes()
    g = Group(Slow)
    futs = [g[i].nap(0.05 * (n - i), ret=True) for i in range(n)]
    order = [f.get()[0] for f in charm.iwait(futs)]
    print("iwait order", order, all(f.get()[1] for f in futs))
    hits = []
    charm.scheduleCallableAfter(hits.append, 0.02, args=("later",))
    charm.sleep(0.05)
    print("scheduled", hits)
    g[0].burst(1000)
    charm.waitQD()
    print("quiescent")
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_timers_iwait_qd(tmp_path, np_):
    out = run(tmp_path, TIMERS, np_).stdout
    assert "iwait order %r True" % list(reversed(range(np_))) in out
    assert "scheduled ['later']" in out
    assert "quiescent" in out
