"""Running one benchmark program for the perf drivers (run.py, miniapps.py)."""
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
