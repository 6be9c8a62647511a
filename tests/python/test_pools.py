"""The pools at 1, 2 and 4 PEs: charm.pool (Charm4py's), tern.pool.Pool against
multiprocessing.Pool's results on the same script, tern.futures.PoolExecutor, error
paths, imap over an endless generator, nested tasks."""
import os
import subprocess
import sys
import textwrap

import pytest

from test_charm import PES, run

CHARM_POOL = """
from tern import charm, coro
import time

def square(x):
    return x ** 2

def boom(x):
    if x == 3:
        raise ValueError("bad %d" % x)
    return x

def big(n):
    return list(range(n))

def where(x):
    time.sleep(0.001)  # (long enough that every PE gets some)
    return charm.myPe()

@coro
def fib(n):
    if n < 2:
        return n
    return sum(charm.pool.map(fib, [n - 1, n - 2]))

@coro
def nap_then(x):
    charm.sleep(0.01)
    return -x

def main(args):
    print("map", charm.pool.map(square, range(10), chunksize=2))
    print("auto", sum(charm.pool.map(square, range(20000), chunksize=0)))
    print("big", [len(v) for v in charm.pool.map(big, [3, 1000, 5])])
    try:
        charm.pool.map(boom, range(6))
    except ValueError as e:
        print("caught", e)
    print("fib", fib(15))
    print("waiting tasks", charm.pool.map(nap_then, range(5)))
    pes = set(charm.pool.map(where, range(400), chunksize=1))
    print("all pes", sorted(pes) == list(range(charm.numPes())))
    print("ncores", set(charm.pool.map(where, range(50), ncores=1)))
    print("task", charm.pool.Task(square, [7], ret=True).get())
    print("awaitable", charm.pool.Task(square, [7], awaitable=True).get())
    fs = charm.pool.map_async(square, range(5), multi_future=True)
    print("multi", [f.get() for f in fs])
    print("empty", charm.pool.map(square, []))
    f = charm.pool.Task(boom, [3], ret=True)
    try:
        f.get()
    except ValueError as e:
        print("task caught", e)
    charm.exit()

charm.start(main)
"""


@pytest.mark.parametrize("np_", PES)
def test_charm_pool(tmp_path, np_):
    out = run(tmp_path, CHARM_POOL, np_).stdout
    assert "map [0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out
    assert "auto %d" % sum(x * x for x in range(20000)) in out
    assert "big [3, 1000, 5]" in out
    assert "caught bad 3" in out
    assert "fib 610" in out
    assert "waiting tasks [0, -1, -2, -3, -4]" in out
    assert "all pes True" in out
    assert "ncores {0}" in out
    assert "task 49" in out and "awaitable None" in out
    assert "multi [0, 1, 4, 9, 16]" in out
    assert "empty []" in out
    assert "task caught bad 3" in out


# One script, run with multiprocessing.Pool and with tern.pool.Pool: the same lines.
MP_SCRIPT = """
import itertools
import sys
IMPORT

def f(x):
    return x * x

def add(a, b):
    return a + b

def fail(x):
    if x == 5:
        raise KeyError(x)
    return x

def init(v):
    global BASE
    BASE = v

def base(x):
    return BASE + x

if __name__ == "__main__":
    with Pool(initializer=init, initargs=(100,)) as p:
        print("map", p.map(f, range(50)))
        print("map chunks", p.map(f, range(50), chunksize=7))
        print("map_async", p.map_async(f, range(20)).get())
        print("starmap", p.starmap(add, [(1, 2), (3, 4), (5, 6)]))
        print("starmap_async", p.starmap_async(add, [(1, 2)]).get())
        print("apply", p.apply(add, (5,), {"b": 6}))
        r = p.apply_async(f, (9,))
        print("apply_async", r.get(timeout=30), r.ready(), r.successful())
        print("imap", list(p.imap(f, range(300))))
        print("imap chunks", list(p.imap(f, range(300), chunksize=4)))
        print("imap_unordered", sorted(p.imap_unordered(f, range(300))))
        print("initializer", p.map(base, range(3)))
        for name, call in (("map", lambda: p.map(fail, range(10))),
                           ("apply", lambda: p.apply(fail, (5,))),
                           ("starmap", lambda: p.starmap(add, [(1, 2), (1, None)]))):
            try:
                call()
            except (KeyError, TypeError) as e:
                print("raised", name, type(e).__name__)
        got = list(itertools.islice(p.imap(fail, range(10)), 0, 5))
        print("imap before the failure", got)
        try:
            list(p.imap(fail, range(10)))
        except KeyError as e:
            print("imap raised", e)
        out = []
        p.map_async(f, range(4), callback=out.append).wait()
        print("callback", out)
        errs = []
        p.apply_async(fail, (5,), error_callback=errs.append).wait()
        print("error_callback", repr(errs[0]))
        r = p.apply_async(fail, (5,))
        r.wait()
        print("successful", r.successful())
    p = Pool(2)
    try:
        p.join()
    except ValueError as e:
        print("join while running:", e)
    p.close()
    try:
        p.map(f, [1])
    except ValueError as e:
        print("after close:", e)
    p.join()
    print("done")
"""


def _plain(tmp_path, prog, extra_env=None):
    path = tmp_path / "mp.py"
    path.write_text(textwrap.dedent(prog))
    env = dict(os.environ, **(extra_env or {}))
    env.pop("PYTHONUNBUFFERED", None)
    p = subprocess.run([sys.executable, str(path)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.fixture(scope="module")
def mp_expected(tmp_path_factory):
    return _plain(tmp_path_factory.mktemp("mp"),
                  MP_SCRIPT.replace("IMPORT", "from multiprocessing import Pool"))


@pytest.mark.parametrize("np_", PES)
def test_pool_as_multiprocessing(tmp_path, np_, mp_expected):
    out = run(tmp_path, MP_SCRIPT.replace("IMPORT", "from tern.pool import Pool"), np_).stdout
    assert out.splitlines() == mp_expected.splitlines()


TERN_ONLY = """
import itertools
import time
from tern import charm, coro
from tern.pool import Pool, ThreadPool, TimeoutError
from tern.futures import PoolExecutor, as_completed, wait, FIRST_COMPLETED

def f(x):
    return x * x

def add(a, b):
    return a + b

def bad(x):
    raise OSError("bad %s" % x)

@coro
def slow(x):
    charm.sleep(x)
    return x

if __name__ == "__main__":
    p = Pool()
    it = p.imap(f, itertools.count())  # lazy (multiprocessing's would never end)
    print("endless", [next(it) for _ in range(500)][-3:])
    print("istarmap", list(p.istarmap(add, [(1, 2), (3, 4)])))
    print("istarmap_unordered", sorted(p.istarmap_unordered(add, [(i, i) for i in range(100)])))
    r = p.apply_async(slow, (1.0,))
    try:
        r.get(timeout=0.05)
    except TimeoutError:
        print("timed out", r.ready())
    print("later", r.get())
    with ThreadPool(1) as t:
        print("threadpool", t.map(f, range(5)))
    with PoolExecutor() as ex:
        print("exmap", list(ex.map(pow, [2, 3, 4], [5, 6, 7])))
        fs = [ex.submit(f, i) for i in range(20)]
        print("as_completed", sorted(x.result() for x in as_completed(fs)))
        done, todo = wait([ex.submit(slow, 0.01), ex.submit(slow, 0.5)],
                          return_when=FIRST_COMPLETED)
        print("wait first", len(done), len(todo))
        e = ex.submit(bad, 1)
        print("exception", repr(e.exception()))
        try:
            e.result()
        except OSError as err:
            print("result raised", err)
        print("kwargs", ex.submit(add, 1, b=2).result())
    try:
        ex.submit(f, 1)
    except RuntimeError as err:
        print("after shutdown:", err)
    try:
        import cloudpickle
        k = 3
        print("lambda", p.map(lambda x: x + k, range(4)), p.apply(lambda: k * 2))
    except ImportError:
        print("lambda [3, 4, 5, 6] 6")  # (python3-cloudpickle is not installed)
    print("pes", charm.numPes())
"""


@pytest.mark.parametrize("np_", PES)
def test_pool_extras_and_executor(tmp_path, np_):
    out = run(tmp_path, TERN_ONLY, np_).stdout
    assert "endless [247009, 248004, 249001]" in out
    assert "istarmap [3, 7]" in out
    assert "istarmap_unordered %r" % [2 * i for i in range(100)] in out
    assert "timed out False" in out and "later 1.0" in out
    assert "threadpool [0, 1, 4, 9, 16]" in out
    assert "exmap [32, 729, 16384]" in out
    assert "as_completed %r" % [i * i for i in range(20)] in out
    assert "wait first 1 1" in out
    assert "exception OSError('bad 1')" in out and "result raised bad 1" in out
    assert "kwargs 3" in out
    assert "after shutdown: cannot schedule new futures after shutdown" in out
    assert "lambda [3, 4, 5, 6] 6" in out
    assert "pes %d" % np_ in out


def test_script_failure_ends_the_job(tmp_path):
    prog = """
    from tern.pool import Pool

    def f(x):
        return x

    if __name__ == "__main__":
        p = Pool()
        p.map(f, range(3))
        raise SystemExit(3)
    """
    p = run(tmp_path, prog, 2, expect_ok=False)
    assert p.returncode == 3, (p.returncode, p.stderr)
    prog2 = prog.replace("raise SystemExit(3)", "raise RuntimeError('script fails')")
    p = run(tmp_path, prog2, 2, expect_ok=False)
    assert p.returncode != 0 and "script fails" in p.stderr


def test_pool_without_ternrun(tmp_path):
    """A script run by python3 alone is a 1-PE job."""
    build = os.environ.get("TERN_BUILD", "")
    out = _plain(tmp_path, MP_SCRIPT.replace("IMPORT", "from tern.pool import Pool"),
                 {"PYTHONPATH": os.path.join(build, "python")})
    assert out.strip().endswith("done")


POOL_REGRESSIONS = """
import threading
import time
from tern import charm, coro
from tern.pool import Pool
from tern.futures import PoolExecutor
import concurrent.futures as cf

def f(x):
    return x + 1

def note(x):
    charm.thisProxy[0].updateGlobals({"SEEN": x})  # (a side effect on PE 0)

@coro
def slow(x):
    charm.sleep(x)
    return x

if __name__ == "__main__":
    p = Pool()
    try:
        p.apply_async(f, (threading.Lock(),))
    except TypeError:
        print("unpicklable argument refused")
    print("map 1", p.map(f, [1]))
    def f(x):  # rebinding the name: the next map uses the new function
        return x + 100
    globals()["f"] = f
    print("map 2", p.map(f, [1]))
    p.close()
    p.join()  # (nothing left over from the refused call)
    print("joined")
    with PoolExecutor() as ex:
        it = ex.map(note, [42])  # starts now, read or not
        t0 = time.time()
        while "SEEN" not in globals() and time.time() - t0 < 10:
            charm.sleep(0.01)
        print("seen", globals().get("SEEN"))
        try:
            list(ex.map(slow, [0.5], timeout=0.05))
        except cf.TimeoutError:
            print("map timed out")
    charm.exit(0)
    charm.sleep(1.0)  # the job ends while the program waits: the wait ends with it
    print("not reached")
"""


@pytest.mark.parametrize("np_", [1, 2])
def test_pool_review_regressions(tmp_path, np_):
    p = run(tmp_path, POOL_REGRESSIONS, np_, expect_ok=False)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "unpicklable argument refused" in out
    assert "map 1 [2]" in out and "map 2 [101]" in out
    assert "joined" in out and "seen 42" in out and "map timed out" in out
    assert "not reached" not in out
