"""The rest of the Charm4py model on Tern, each at 1, 2 and 4 PEs: arrays with inserted
elements and ArrayMap, awaitCreation, host queries, charm.thisProxy; when, channels,
allreduce, multi-value futures; sections (slicing, split, combine, constrained groups,
section reductions); migration and load balancing; numpy arguments and results."""
import pytest

from test_charm import PES, run

COLLECTIONS = """
from tern import charm, Chare, Group, Array, ArrayMap, Reducer, coro

X = 0

class LastPE(ArrayMap):
    def procNum(self, index):
        return (charm.numPes() - 1 - index[0]) % charm.numPes()

class E(Chare):
    def __init__(self, tag):
        self.tag = tag

    def info(self):
        return (self.thisIndex, self.tag, charm.myPe())

    def count(self, f):
        self.reduce(f, 1, Reducer.sum)

    def readx(self):
        return X

    def done(self, cb):
        self.reduce(cb)  # an empty reduction

def main(args):
    n = charm.numPes()
    sp = Array(E, ndims=2)
    for k in range(6):
        sp.ckInsert((k * 100, -k), args=["s%d" % k], onPE=k % n)
    sp.ckInsert((7, 7), args=["any"])
    sp.ckDoneInserting()
    print("sparse", [sp[k * 100, -k].info(ret=True).get() for k in range(6)])
    print("inserted anywhere", sp[7, 7].info(ret=True).get()[1])
    f = charm.createFuture()
    sp.count(f)
    print("sparse count", f.get())
    m = Group(LastPE)
    a = Array(E, 8, args=["m"], map=m)
    charm.awaitCreation(a, m)
    print("mapped", [a[i].info(ret=True).get()[2] for i in range(8)])
    print("hosts", charm.numHosts(), charm.myHost(), charm.getHostPes(0),
          charm.getHostFirstPe(0), charm.getHostNumPes(0), charm.getPeHost(n - 1),
          charm.getPeHostRank(n - 1))
    charm.thisProxy.updateGlobals({"X": 333}, awaitable=True).get()
    print("globals", Group(E, args=["g"]).readx(ret=True).get())
    print("remote pe", charm.thisProxy[n - 1].myPe(ret=True).get())
    try:
        charm.getHostPes(5)
    except ValueError as e:
        print("bad host:", e)
    a.done(charm.thisProxy.exit)  # the job ends when this reduction completes

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_collections(tmp_path, np_):
    out = run(tmp_path, COLLECTIONS, np_).stdout
    want = [((k * 100, -k), "s%d" % k, k % np_) for k in range(6)]
    assert "sparse %r" % want in out
    assert "inserted anywhere any" in out
    assert "sparse count 7" in out
    assert "mapped %r" % [(np_ - 1 - i) % np_ for i in range(8)] in out
    assert "hosts 1 0 %r 0 %d 0 %d" % (list(range(np_)), np_, np_ - 1) in out
    assert "globals %r" % ([333] * np_) in out
    assert "remote pe %d" % (np_ - 1) in out
    assert "bad host: getHostPes(5): the job has 1 hosts" in out


SYNC = """
from tern import charm, Chare, Array, Group, Future, Channel, Reducer, coro, when
import numpy as np

class Stepper(Chare):
    def __init__(self):
        self.iter = 0
        self.log = []

    @when("self.iter == it")
    def step(self, it, v):
        self.log.append(v)
        self.iter += 1

    def get(self):
        return self.log

class Ring(Chare):
    def __init__(self, n):
        i = self.thisIndex[0]
        self.right = Channel(self, remote=self.thisProxy[(i + 1) % n])
        self.left = Channel(self, remote=self.thisProxy[(i - 1) % n])

    @coro
    def work(self, rounds):
        i, total = self.thisIndex[0], 0
        for r in range(rounds):
            self.right.send(i, r)
            self.left.send(i, r)
            got = []
            for ch in charm.iwait([self.left, self.right]):
                got.append(ch.recv())
            assert sorted(x[1] for x in got) == [r, r], got
            total += sum(x[0] for x in got)
        return total

class Summer(Chare):
    @coro
    def go(self, k):
        a = self.allreduce(self.thisIndex + k, Reducer.sum).get()
        b = self.allreduce(np.full(3, float(self.thisIndex)), Reducer.max).get()
        self.allreduce().get()  # an empty one: a barrier
        return (a, list(b))

class Sender(Chare):
    def give(self, f, v):
        f.send(v)

def main(args):
    n = charm.numPes()
    s = Chare(Stepper, onPE=n - 1)
    for it in reversed(range(5)):  # out of order: @when puts them back in order
        s.step(it, "v%d" % it)
    charm.waitQD()
    print("when", s.get(ret=True).get())
    m = 3 * n
    ring = Array(Ring, m, args=[m])
    totals = ring.work(10, ret=True).get()
    print("ring", totals == [10 * (((i - 1) % m) + ((i + 1) % m)) for i in range(m)])
    g = Group(Summer)
    print("allreduce", g.go(1, ret=True).get())
    f = Future(num_vals=3)
    sp = Group(Sender)
    for v in range(3):
        sp[v % n].give(f, v * 11)
    print("multi", sorted(f.get()))
    echo = Chare(Echo, onPE=n - 1)
    print("echo", echo.run(ret=True).get())
    charm.exit()

class Echo(Chare):
    @coro
    def run(self):
        peer = Chare(EchoPeer, onPE=0)
        peer.start(self.thisProxy)
        ch = Channel(self, remote=peer)
        out = []
        for k in range(3):
            ch.send("hello", k)
            out.append(ch.recv())
        return out

class EchoPeer(Chare):
    @coro
    def start(self, remote):
        ch = Channel(self, remote=remote)
        for _ in range(3):
            x = ch.recv()
            ch.send(x[0].upper(), x[1] * 2)

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_when_channels_allreduce(tmp_path, np_):
    out = run(tmp_path, SYNC, np_).stdout
    assert "when %r" % ["v%d" % i for i in range(5)] in out
    assert "ring True" in out
    want = (sum(range(np_)) + np_, [float(np_ - 1)] * 3)
    assert "allreduce %r" % ([want] * np_) in out
    assert "multi [0, 11, 22]" in out
    assert "echo [('HELLO', 0), ('HELLO', 2), ('HELLO', 4)]" in out


SECTIONS = """
from tern import charm, Chare, Group, Array, Reducer, coro

class T(Chare):
    def __init__(self, tag=""):
        self.tag = tag
        self.sec = None

    def hi(self):
        return (self.tag, self.thisIndex)

    def keep(self, secs):
        self.sec = secs[self.thisIndex[0]]

    def red(self, f):
        self.reduce(f, 1, Reducer.sum, section=self.sec)

    @coro
    def ared(self):
        return self.allreduce(self.thisIndex[1], Reducer.sum, section=self.sec).get()

def row(obj):
    return obj.thisIndex[0]

def both(obj):
    return [0, 1] if obj.thisIndex[0] == obj.thisIndex[1] else []

def main(args):
    n = charm.numPes()
    g = Group(T, args=["g"])
    print("slice", g[::2].hi(ret=True).get())
    a = Array(T, (4, 4), args=["a"])
    print("slice2", a[1:3, ::3].hi(ret=True).get())
    secs = charm.split(a, 4, row)
    a.keep(secs, awaitable=True).get()
    f = charm.createFuture()
    secs[2].red(f)
    print("section sum", f.get())
    print("section allreduce", secs[1].ared(ret=True).get())
    diag = charm.split(a, 2, both)
    print("multi", diag[0].hi(ret=True).get(), diag[1].hi(ret=True).get())
    el = charm.split(a, 2, elems=[[(0, 0), (3, 3)], [(1, 2)]])
    print("elems", el[0].hi(ret=True).get(), el[1].hi(ret=True).get())
    b = Array(T, (4, 4), args=["b"])
    comb = charm.combine(a, b)
    print("combined", len(comb.hi(ret=True).get()))
    parts = charm.split(comb, 4, row)
    print("split combined", [len(p.hi(ret=True).get()) for p in parts])
    pes = list(range(0, n, 2))
    cg = Group(T, args=["c"], onPEs=pes)
    print("constrained", cg.hi(ret=True).get())
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_sections(tmp_path, np_):
    out = run(tmp_path, SECTIONS, np_).stdout
    assert "slice %r" % [("g", i) for i in range(0, np_, 2)] in out
    assert "slice2 %r" % [("a", (i, j)) for i in (1, 2) for j in (0, 3)] in out
    assert "section sum 4" in out
    assert "section allreduce [6, 6, 6, 6]" in out
    diag = [("a", (i, i)) for i in range(4)]
    assert "multi %r %r" % (diag, diag) in out
    assert "elems %r %r" % ([("a", (0, 0)), ("a", (3, 3))], [("a", (1, 2))]) in out
    assert "combined 32" in out
    assert "split combined [8, 8, 8, 8]" in out
    assert "constrained %r" % [("c", i) for i in range(0, np_, 2)] in out


MIGRATION = """
from tern import charm, Chare, Array, Reducer, coro
import numpy as np

class Mover(Chare):
    def __init__(self):
        self.data = np.arange(1000) * self.thisIndex[0]
        self.moves = 0
        self.steps = 0
        self.scratch = "not moved"

    def __getstate__(self):
        d = dict(self.__dict__)
        del d["scratch"]
        return d

    def __setstate__(self, d):
        self.__dict__.update(d)
        self.scratch = "rebuilt"

    def migrated(self):
        self.moves += 1

    def where(self):
        return (charm.myPe(), self.moves, int(self.data.sum()), self.scratch)

    def go(self, pe):
        self.migrate(pe)

    def work(self, f):
        self.steps += 1
        x = 0
        for k in range(2000 * (1 + self.thisIndex[0])):  # uneven loads
            x += k
        self.AtSync()
        self.f = f

    def resumeFromSync(self):
        self.reduce(self.f, (charm.myPe(), self.steps), Reducer.gather)

def main(args):
    n = charm.numPes()
    a = Array(Mover, 6)
    for i in range(6):
        a[i].go((i + 1) % n)
    charm.waitQD()
    print("moved", a.where(ret=True).get())
    b = Array(Mover, 8, useAtSync=True)
    pes = []
    for step in range(3):
        f = charm.createFuture()
        b.work(f)
        pes.append(f.get())
    print("steps", [s for _, s in pes[-1]])
    print("balancer", charm.lbStrategy())
    print("placements", [[pe for pe, _ in p] for p in pes])
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_migration_and_balancing(tmp_path, np_):
    out = run(tmp_path, MIGRATION, np_, args=["+balancer", "RotateLB"]).stdout
    moved = [((i + 1) % np_, 1 if (i + 1) % np_ != (i * np_ // 6) else 0, 499500 * i,
              "rebuilt" if (i + 1) % np_ != (i * np_ // 6) else "not moved")
             for i in range(6)]
    got = eval(out.split("moved ", 1)[1].split("\n")[0])
    assert [g[0] for g in got] == [m[0] for m in moved], out
    assert [g[2] for g in got] == [m[2] for m in moved]
    for g in got:  # moved elements were rebuilt from their pickle, without scratch
        assert (g[1], g[3]) in ((0, "not moved"), (1, "rebuilt")), got
    assert "steps [3, 3, 3, 3, 3, 3, 3, 3]" in out
    assert "balancer Rotate" in out
    places = eval(out.split("placements ", 1)[1].split("\n")[0])
    if np_ > 1:  # Rotate moves every element to the next PE at each step
        for before, after in zip(places, places[1:]):
            assert after == [(p + 1) % np_ for p in before], places


NUMPY = """
from tern import charm, Chare, Group, Array, Reducer
import numpy as np

class N(Chare):
    def take(self, a, b, lst, c=None, d=None):
        ok = a.flags.writeable
        a += 1  # ours to change
        return (a.dtype.str, a.shape, float(a.sum()), b.dtype.str, b.shape,
                float(b.sum()), [x.shape for x in lst], c.shape if c is not None else None,
                bytes(d[:4]) if d is not None else None, ok)

    def big(self, x):
        return x

    def red(self, f):
        self.reduce(f, np.arange(4, dtype=np.int64) * (self.thisIndex + 1), Reducer.sum)

def main(args):
    n = charm.numPes()
    g = Group(N)
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    b = np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3))
    lst = [np.zeros(1000), np.ones((2, 2))]
    f = g[n - 1].take(a, b, lst, c=np.zeros((5, 1), complex), d=bytearray(b"abcd" * 300),
                      ret=True)
    a[:] = -1  # the call took a copy: changing ours now changes nothing sent
    print("take", f.get())
    x = np.random.default_rng(1).random(1 << 17)
    y = g[n - 1].big(x, ret=True).get()
    print("big", y.dtype, y.shape, bool((y == x).all()), y.flags.writeable)
    f = charm.createFuture()
    g.red(f)
    print("npsum", list(f.get()))
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_numpy(tmp_path, np_):
    out = run(tmp_path, NUMPY, np_).stdout
    want = ("<f4", (3, 4), float(sum(range(12)) + 12), "<i8", (2, 3), 15.0,
            [(1000,), (2, 2)], (5, 1), b"abcd", True)
    assert "take %r" % (want,) in out
    assert "big float64 (131072,) True True" in out
    s = np_ * (np_ + 1) // 2
    assert "npsum %r" % [0, s, 2 * s, 3 * s] in out


NUMERIC = """
from tern import charm, Chare, Array, Group, Reducer, coro
import numpy as np

class R(Chare):
    def go(self, f, case):
        i = self.thisIndex[0] + 1
        data, red = {
            "int": (i, Reducer.sum), "float": (i * 0.5, Reducer.sum),
            "max": (i, Reducer.max), "min": (-i, Reducer.min),
            "prod": (float(i), Reducer.product), "bigint": (i * 2 ** 40, Reducer.sum),
            "and": (i < 100, Reducer.logical_and), "or": (i == 2, Reducer.logical_or),
            "xor": (i == 1, Reducer.logical_xor),
            "i32": (np.arange(5, dtype=np.int32) * i, Reducer.sum),
            "f32max": (np.full((2, 3), i, np.float32), Reducer.max),
            "npscalar": (np.float64(i), Reducer.sum),
            "boolarr": (np.array([i > 0, i == 1]), Reducer.logical_and),
            "list": ([i, 2 * i], Reducer.sum),
            "big": (np.ones(100000) * i, Reducer.sum),
        }[case]
        self.reduce(f, data, red)

    @coro
    def ar(self):
        return self.allreduce(np.arange(3) + self.thisIndex[0], Reducer.max).get().tolist()

    def bad(self, f):
        self.reduce(f, np.zeros(1 + self.thisIndex[0] % 2), Reducer.sum)

def main(args):
    m = 3 * charm.numPes() + 1
    a = Array(R, m)
    for case in ("int", "float", "max", "min", "prod", "bigint", "and", "or", "xor", "i32",
                 "f32max", "npscalar", "boolarr", "list", "big"):
        f = charm.createFuture()
        a.go(f, case)
        r = f.get()
        if isinstance(r, np.ndarray):
            r = ("array", r.dtype.str, r.shape, r.sum().item() if case == "big" else r.tolist())
        print(case, type(r).__name__, r)
    print("ar", a.ar(ret=True).get()[0])
    if "bad" in args:
        f = charm.createFuture()
        a.bad(f)
        f.get()
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_numeric_reductions(tmp_path, np_):
    out = run(tmp_path, NUMERIC, np_).stdout
    m = 3 * np_ + 1
    s = m * (m + 1) // 2
    import math
    want = {
        "int": "int %d" % s, "float": "float %r" % (s * 0.5), "max": "int %d" % m,
        "min": "int %d" % -m, "prod": "float %r" % float(math.factorial(m)),
        "bigint": "int %d" % (s * 2 ** 40), "and": "bool True", "or": "bool True",
        "xor": "bool True", "i32": "tuple ('array', '<i4', (5,), %r)" % [k * s for k in range(5)],
        "f32max": "tuple ('array', '<f4', (2, 3), %r)" % ([[float(m)] * 3] * 2,),
        "npscalar": "float64 %r" % float(s), "boolarr": "tuple ('array', '|b1', (2,), "
        "[True, False])" if m > 1 else None, "list": "list %r" % [s, 2 * s],
        "big": "tuple ('array', '<f8', (100000,), %r)" % (100000.0 * s),
    }
    for case, line in want.items():
        assert "%s %s" % (case, line) in out, (case, line, out)
    assert "ar [%d, %d, %d]" % (m - 1, m, m + 1) in out


def test_mismatched_contributions_end_the_job(tmp_path):
    p = run(tmp_path, NUMERIC, 2, expect_ok=False, args=["bad"])
    assert p.returncode != 0
    assert "contributions of different" in p.stderr and "R" in p.stderr


def test_program_that_never_starts_is_warned(tmp_path):
    p = run(tmp_path, "from tern import charm\nprint('forgot')\n", 1, expect_ok=False)
    assert "forgot" in p.stdout
    assert "ended without calling charm.start()" in p.stderr


def test_options_profiling_prints_statistics(tmp_path):
    prog = """
    from tern import charm, Chare, Group

    class P(Chare):
        def hit(self):
            return 1

    def main(args):
        Group(P).hit(ret=True).get()
        charm.exit()

    charm.options.profiling = True
    charm.start(main)
    """
    p = run(tmp_path, prog, 2)
    out = p.stdout + p.stderr
    assert "call" in out and "busy" in out, out


REGRESSIONS = """
from tern import charm, Chare, Array, Group, Reducer, coro, when
import numpy as np
import threading

class A(Chare):
    def __init__(self):
        self.it = 0

    @coro
    def go(self, sec, done):  # a section's allreduce, then the whole array's
        if self.thisIndex[0] < 2:
            self.allreduce(1, Reducer.sum, section=sec).get()
        v = self.allreduce(np.ones(2), Reducer.sum).get()
        self.reduce(done, float(v[0]), Reducer.sum)

    def mixed(self, f):  # ints and floats, small and big, to one sum
        i = self.thisIndex[0]
        self.reduce(f, [1, 0.5, 2 ** 40][i % 3], Reducer.sum)

    @coro
    def later(self):
        charm.sleep(0.01)
        self.it = 1  # (the waiting call below may run once this coroutine gives way)
        charm.sleep(0.01)

    @when("self.it == 1")
    def after(self, f):
        f.send("when ran")

    def record(self, a):
        return (a.dtype.names, a["x"].tolist())

    def lock(self):
        return threading.Lock()

def bad_section(obj):
    raise ValueError("no section for %s" % (obj.thisIndex,))

def main(args):
    a = Array(A, 4)
    done = charm.createFuture()
    a.go(a[0:2], done)
    print("allreduces", done.get())
    f = charm.createFuture()
    a.mixed(f)
    print("mixed", f.get())
    f = charm.createFuture()
    a[1].later()
    a[1].after(f)
    print(f.get())
    rec = np.zeros(3, dtype=[("x", "i4"), ("y", "f8")])
    rec["x"] = [1, 2, 3]
    print("structured", a[3].record(rec, ret=True).get())
    try:
        a[3].lock(ret=True).get()
    except RuntimeError as e:
        print("unpicklable:", "return value cannot be sent" in str(e))
    try:
        charm.split(a, 2, bad_section)
    except ValueError as e:
        print("split raised", e)
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_review_regressions(tmp_path, np_):
    out = run(tmp_path, REGRESSIONS, np_).stdout
    assert "allreduces 16.0" in out
    assert "mixed %r" % (1 + 0.5 + 2 ** 40 + 1) in out
    assert "when ran" in out
    assert "structured (('x', 'y'), [1, 2, 3])" in out
    if np_ > 1:  # (on the caller's own PE the value is not pickled)
        assert "unpicklable: True" in out
    assert "split raised no section for (0,)" in out
