#!/usr/bin/env python3
"""Start-up of a shared-memory job with the transports as plugins, against the same job
with UCX's and libfabric's libraries loaded at start (as when they were linked into
libtern, before the plugins).

    python3 perf/startup.py [--build build] [--pes 2] [--runs 20]

Both cases run the same `ternrun -n PES examples/hello`, alternating, so that the machine's
state is shared; the "linked" case preloads exactly the libraries the plugins link (read
with ldd), so their constructors run and their memory is mapped in every PE, as a linked
libtern would have them. Prints the median wall time of a whole job, the largest resident
set of its processes and the number of shared objects a PE loads, and the ratios."""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import time


def plugin_libs(build):
    """The transport libraries the plugins of this build link (UCX, libfabric)."""
    libs = []
    for name in ("tern-ucx.so", "tern-ofi.so"):
        path = os.path.join(build, "tern", name)
        if not os.path.exists(path):
            continue
        out = subprocess.run(["ldd", path], stdout=subprocess.PIPE, text=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3 and f[1] == "=>" and any(k in f[0] for k in ("libuc", "libfabric")):
                libs.append(f[2])
    return libs


def run_once(cmd, env, timeout):
    """Wall time of the job and the largest resident set (KiB) among its processes."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            p.kill()
            sys.exit("perf/startup.py: %s took more than %d s" % (" ".join(cmd), timeout))
        time.sleep(0.0005)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("perf/startup.py: %s failed (exit %d): %s" %
                 (" ".join(cmd), p.returncode, p.stderr.read().decode()[-2000:]))
    p.stderr.close()
    return wall, ru.ru_maxrss


def objects_loaded(cmd, env, tmp):
    """The number of shared objects one PE process maps (LD_DEBUG=files of the job)."""
    prefix = os.path.join(tmp, "ld")
    env = dict(env, LD_DEBUG="files", LD_DEBUG_OUTPUT=prefix)
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True, timeout=60)
    counts = []
    for f in os.listdir(tmp):
        if not f.startswith("ld."):
            continue
        with open(os.path.join(tmp, f)) as fh:
            names = {line.split("file=")[1].split()[0] for line in fh
                     if "file=" in line and "generating link map" in line}
        os.unlink(os.path.join(tmp, f))
        counts.append(len(names))
    # The PEs map the most (ternrun maps few): the largest count is a PE's.
    return max(counts) if counts else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--pes", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    ternrun = os.path.join(a.build, "tools", "ternrun")
    hello = os.path.join(a.build, "examples", "hello")
    for path in (ternrun, hello):
        if not os.path.exists(path):
            sys.exit("perf/startup.py: %s is not built" % path)
    libs = plugin_libs(a.build)
    if not libs:
        sys.exit("perf/startup.py: this build has no transport plugins (no UCX, no libfabric)")
    cmd = [ternrun, "-n", str(a.pes), "--timeout", "60", hello]
    base = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "TERN_TRANSPORT")}
    cases = {"plugins": base, "linked": dict(base, LD_PRELOAD=":".join(libs))}
    tmp = "/tmp/tern-startup.%d" % os.getpid()
    os.makedirs(tmp, exist_ok=True)
    walls = {c: [] for c in cases}
    rss = {c: [] for c in cases}
    for c, env in cases.items():  # warm the page cache once
        run_once(cmd, env, 60)
    for _ in range(a.runs):
        for c, env in cases.items():
            w, m = run_once(cmd, env, 60)
            walls[c].append(w)
            rss[c].append(m)
    objs = {c: objects_loaded(cmd, env, tmp) for c, env in cases.items()}
    os.rmdir(tmp)
    print("shm job: ternrun -n %d hello, %d runs each, medians" % (a.pes, a.runs))
    print("preloaded for 'linked': %s" % " ".join(os.path.basename(l) for l in libs))
    print("%-8s %12s %14s %16s" % ("case", "job (ms)", "max RSS (KiB)", "objects a PE"))
    for c in cases:
        print("%-8s %12.1f %14d %16d" % (c, 1e3 * statistics.median(walls[c]),
                                         statistics.median(rss[c]), objs[c]))
        print("RESULT startup_ms_%s 0 %.2f ms" % (c, 1e3 * statistics.median(walls[c])))
        print("RESULT maxrss_kib_%s 0 %d KiB" % (c, statistics.median(rss[c])))
        print("RESULT objects_%s 0 %d count" % (c, objs[c]))
    print("plugins/linked: job time %.2f, max RSS %.2f" % (
        statistics.median(walls["plugins"]) / statistics.median(walls["linked"]),
        statistics.median(rss["plugins"]) / statistics.median(rss["linked"])))


if __name__ == "__main__":
    main()
