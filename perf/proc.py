"""Running one benchmark program for the perf drivers (run.py, miniapps.py, python.py,
python_pool.py), and reading its RESULT lines."""
import statistics
import subprocess
import sys
import time


def run_program(cmd, env, timeout):
    """Run cmd; return its standard output and its wall time. A failure or a timeout ends
    the driver with the command, its exit status and the end of what it printed."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit("perf/run.py: %s took more than %d s" % (" ".join(cmd), timeout))
    if p.returncode != 0:
        sys.exit("perf/run.py: %s failed (exit %d):\n%s%s" %
                 (" ".join(cmd), p.returncode, p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout, time.time() - t0


def results(out, with_x=False):
    """{name: value} (or {(name, x): value}) of the RESULT <name> <x> <value> <unit> lines."""
    r = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "RESULT":
            r[(f[1], int(f[2])) if with_x else f[1]] = float(f[3])
    return r


def median_of(runs, key, driver):
    """The median of key over the runs' results; the driver ends if no run had it."""
    vals = [r[key] for r in runs if key in r]
    if not vals:
        sys.exit("perf/%s: no RESULT %s" % (driver, key))
    return statistics.median(vals)
