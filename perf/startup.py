#!/usr/bin/env python3
"""Start-up of a shared-memory job with the transports as plugins, against the same job
with UCX's and libfabric's libraries loaded at start (as when they were linked into
libtern, before the plugins).

    python3 perf/startup.py [--build build] [--pes 2] [--runs 20] [--builtin-build DIR]

Both cases run the same `ternrun -n PES examples/hello`, alternating, so that the machine's
state is shared; the "linked" case preloads exactly the libraries the plugins link (read
with ldd), so their constructors run and their memory is mapped in every PE, as a linked
libtern would have them. --builtin-build adds a build made with -DTERN_TRANSPORTS_BUILTIN=ON
(the transports really linked in). Prints the median wall time of a whole job, the largest resident
set of one PE (a 1-PE job run alone) and the number of shared objects a PE loads, and the
ratios."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    """Wall time of the command."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit("perf/startup.py: %s took more than %d s" % (" ".join(cmd), timeout))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        sys.exit("perf/startup.py: %s failed (exit %d): %s" %
                 (" ".join(cmd), p.returncode, p.stderr.decode()[-2000:]))
    return wall


def max_rss(cmd, env):
    """The largest resident set (KiB) of a process, by GNU time (a child of Python would
    count the interpreter's own pages: a forked child's high-water mark starts with them)."""
    p = subprocess.run(["/usr/bin/time", "-f", "MAXRSS %M"] + cmd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0:
        sys.exit("perf/startup.py: %s failed (exit %d): %s" %
                 (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    for line in p.stderr.splitlines():
        if line.startswith("MAXRSS "):
            return int(line.split()[1])
    sys.exit("perf/startup.py: no figure from /usr/bin/time: %s" % p.stderr[-500:])


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
    ap.add_argument("--builtin-build", metavar="DIR",
                    help="also a build with -DTERN_TRANSPORTS_BUILTIN=ON (the transports "
                         "linked into libtern): the case 'builtin'")
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
    cmds = {c: (cmd, hello) for c in cases}
    if a.builtin_build:
        bhello = os.path.join(a.builtin_build, "examples", "hello")
        if not os.path.exists(bhello):
            sys.exit("perf/startup.py: %s is not built" % bhello)
        cases["builtin"] = base
        cmds["builtin"] = ([ternrun, "-n", str(a.pes), "--timeout", "60", bhello], bhello)
    tmp = tempfile.mkdtemp(prefix="tern-startup.")
    walls = {c: [] for c in cases}
    rss = {c: [] for c in cases}
    have_time = os.path.exists("/usr/bin/time")
    for c, env in cases.items():  # warm the page cache once
        run_once(cmds[c][0], env, 60)
    for _ in range(a.runs):
        for c, env in cases.items():
            walls[c].append(run_once(cmds[c][0], env, 60))
            # One PE alone (a 1-PE job without ternrun): its own largest resident set.
            rss[c].append(max_rss([cmds[c][1]], env) if have_time else 0)
    try:
        objs = {c: objects_loaded(cmds[c][0], env, tmp) for c, env in cases.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("shm job: ternrun -n %d hello, %d runs each, medians" % (a.pes, a.runs))
    print("plugins: this build; linked: the same with the plugins' libraries preloaded" +
          ("; builtin: %s (TERN_TRANSPORTS_BUILTIN)" % a.builtin_build if a.builtin_build else ""))
    print("preloaded for 'linked': %s" % " ".join(os.path.basename(l) for l in libs))
    print("%-8s %12s %16s %16s" % ("case", "job (ms)", "PE max RSS (KiB)", "objects a PE"))
    for c in cases:
        print("%-8s %12.1f %16d %16d" % (c, 1e3 * statistics.median(walls[c]),
                                         statistics.median(rss[c]), objs[c]))
        print("RESULT startup_ms_%s 0 %.2f ms" % (c, 1e3 * statistics.median(walls[c])))
        print("RESULT maxrss_kib_%s 0 %d KiB" % (c, statistics.median(rss[c])))
        print("RESULT objects_%s 0 %d count" % (c, objs[c]))
    if not have_time:
        print("(no /usr/bin/time: resident sets not measured; Debian: apt-get install time)")
        return
    print("plugins/linked: job time %.2f, max RSS %.2f" % (
        statistics.median(walls["plugins"]) / statistics.median(walls["linked"]),
        statistics.median(rss["plugins"]) / statistics.median(rss["linked"])))


if __name__ == "__main__":
    main()
