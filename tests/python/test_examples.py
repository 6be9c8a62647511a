"""The Python examples (examples/python) under ternrun at 1, 2 and 4 PEs, each checked by
its result line (every example checks its own result against a serial computation);
particle.py also with +balancer GreedyRefineLB and RotateLB. TERN_BUILD names the build
tree; skipped when the Python package was not built."""
import os
import re
import subprocess
import sys

import pytest

from test_charm import BUILD, HAVE, PES, TERNRUN

pytestmark = pytest.mark.skipif(not HAVE, reason="the Python package was not built")

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                        "python")
TIMEOUT = 60  # ternrun's --timeout; the subprocess gets a little more


def run_example(name, np_, args=()):
    """Run examples/python/<name> on np_ PEs; its stdout, once it succeeded."""
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
    env.pop("TERN_LB", None)  # the balancer is the command line's only
    cmd = ([TERNRUN, "-n", str(np_), "--timeout", str(TIMEOUT), sys.executable,
            os.path.join(EXAMPLES, name)] + list(args))
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=TIMEOUT + 30)
    if p.returncode != 0:
        pytest.fail("%s: exit %d\nstdout:\n%s\nstderr:\n%s"
                    % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def line(out, pattern):
    """The match of pattern in out (a whole line)."""
    m = re.search("^" + pattern + "$", out, re.M)
    assert m, "no line matching %r in:\n%s" % (pattern, out)
    return m


@pytest.mark.parametrize("np_", PES)
def test_hello(np_):
    out = run_example("hello.py", np_)
    for pe in range(np_):
        hi = r"^Hello from PE %d \(sent by main\)$" % pe
        assert len(re.findall(hi, out, re.M)) == 1, out
    assert len(re.findall(r"^Hello from PE", out, re.M)) == np_, out
    chain = line(out, r"Chain: (.*)").group(1).split("; ")
    assert [c.rsplit(" on PE ", 1)[0] for c in chain] == ["greeter %d" % i
                                                          for i in range(2 * np_)]
    assert all(0 <= int(c.rsplit(" ", 1)[1]) < np_ for c in chain)
    line(out, r"hello: %d PEs said hello, chain of %d greeters OK" % (np_, 2 * np_))


@pytest.mark.parametrize("np_", PES)
def test_jacobi2d(np_):
    out = run_example("jacobi2d.py", np_)
    m = line(out, r"jacobi2d: N=96 iterations=100 max\|diff\|=(\S+) OK")
    assert float(m.group(1)) < 1e-12
    line(out, r"jacobi2d: 4 x 4 blocks on %d PEs, .*" % np_)


@pytest.mark.parametrize("np_", PES)
def test_jacobi2d_uneven_blocks(np_):
    out = run_example("jacobi2d.py", np_, ["50", "3", "20"])  # 50 rows in 3 blocks
    m = line(out, r"jacobi2d: N=50 iterations=20 max\|diff\|=(\S+) OK")
    assert float(m.group(1)) < 1e-12


@pytest.mark.parametrize("np_", PES)
def test_parmap(np_):
    out = run_example("parmap.py", np_)
    line(out, r"parmap: 240 items, 240 results OK")
    calls = eval(line(out, r"parmap: %d workers on %d PEs: .*; calls per PE (\[[0-9, ]*\]); .*"
                      % (3 * np_, np_)).group(1))
    assert len(calls) == np_ and sum(calls) == 240 and min(calls) > 0, calls


PARTICLE_RUNS = ([(n, None) for n in PES]
                 + [(n, lb) for n in (2, 4) for lb in ("GreedyRefineLB", "RotateLB")])


@pytest.mark.parametrize("np_,balancer", PARTICLE_RUNS)
def test_particle(np_, balancer):
    args = ["+balancer", balancer] if balancer else []
    out = run_example("particle.py", np_, args)
    line(out, r"particle: 4000 particles, 60 steps: 4000 particles conserved, positions "
              r"match serial, OK")
    m = line(out, r"particle: 4 x 4 cells on %d PEs, balancer (\S+): .*; 5 load balancing "
                  r"steps, (\d+) migrations; particles per PE at the end (\[[0-9, ]*\])"
             % np_)
    strategy, migrations, per_pe = m.group(1), int(m.group(2)), eval(m.group(3))
    assert len(per_pe) == np_ and sum(per_pe) == 4000
    if balancer is None:
        assert migrations == 0
    elif balancer == "RotateLB":  # every cell moves at each of the 5 steps
        assert strategy == "Rotate" and migrations == 16 * 5
    else:
        assert strategy == "GreedyRefine"
