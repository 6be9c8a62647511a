#!/usr/bin/env python3
"""Tern over one transport beside that library's own benchmark, on the same path.

    perf/transports.py TRANSPORT [--path P] [--where host|hosts] [--runs 5] [--build build]
                       [--mh-dir DIR] [--quick]

TRANSPORT is ucx, ofi or shm. PATH picks the library's path: for ucx a UCX_TLS value
(sm, tcp; default sm inside a host, tcp across hosts), for ofi a libfabric provider (shm,
tcp -> tcp;ofi_rxm; default shm inside a host, tcp across hosts); shm has none.
--where host runs both PEs on this machine under ternrun; --where hosts runs one PE on
each of two emulated hosts (tests/multihost: a cluster started in --mh-dir, which this
script starts and stops itself when it is not already up) under srun --mpi=pmix.

Measured per run, alternating which side goes first:
  Tern: perf/tern_pingpong (one-way latency = half a round trip, and bandwidth from it,
        per size) and perf/tern_msgrate (8-byte messages per second, windows of 64).
  ucx:  ucx_perftest -t ucp_am_lat (latency, and bandwidth from it as Tern's) and -t
        ucp_am_bw at 8 B (message rate), same UCX_TLS, server and client on the same two
        hosts (in one host: one core each, as ternrun binds the PEs).
  ofi:  fi_pingpong -e rdm with the same provider (latency and bandwidth; it has no
        message-rate test, so that row has no baseline).
  shm:  ucx_perftest over UCX_TLS=sm (UCX's shared memory) as the baseline.
Prints one table per metric with medians over --runs and the ratio Tern/baseline.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MH = os.path.join(ROOT, "tests", "multihost")
SIZES = [8, 64, 1024, 8192, 65536, 1 << 20, 4 << 20]
QUICK_SIZES = [8, 65536, 1 << 20]
PORT = 13500


def die(msg):
    sys.exit("perf/transports.py: " + msg)


def sh(cmd, env=None, timeout=300, check=True):
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=timeout)
    if check and p.returncode != 0:
        die("%s failed (exit %d):\n%s%s" % (" ".join(cmd), p.returncode, p.stdout[-2000:],
                                             p.stderr[-2000:]))
    return p


class Place:
    """Where the two sides run: this machine, or two emulated hosts."""

    def __init__(self, opts):
        self.opts = opts
        self.hosts = opts.where == "hosts"
        self.started = False
        if self.hosts:
            envf = os.path.join(opts.mh_dir, "env")
            if not os.path.exists(envf):
                print("starting emulated hosts in %s ..." % opts.mh_dir, flush=True)
                sh(["bash", os.path.join(MH, "start.sh"), opts.mh_dir, "--share", ROOT,
                    "--share", os.path.abspath(opts.build)], timeout=120)
                self.started = True
            self.names, self.addrs = self.read_env(envf)
            if len(self.names) < 2:
                die("%s has fewer than 2 emulated hosts" % opts.mh_dir)
            self.addr = self.addrs[0]

    @staticmethod
    def read_env(path):
        """Host names and addresses from the cluster's env file (tests/multihost)."""
        vals = {}
        with open(path) as f:
            for line in f:
                m = re.match(r'^(MULTIHOST_\w+)="?([^"]*)"?$', line.strip())
                if m:
                    vals[m.group(1)] = m.group(2).split()
        return vals.get("MULTIHOST_HOSTS", []), vals.get("MULTIHOST_ADDRS", [])

    def on(self, i, cmd, env=None, timeout=300, check=True, background=False):
        full = ["bash", os.path.join(MH, "on.sh"), self.opts.mh_dir, self.names[i - 1]]
        if env:
            full += ["env"] + ["%s=%s" % kv for kv in env.items()]
        full += cmd
        if background:
            return subprocess.Popen(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        return sh(full, timeout=timeout, check=check)

    def tern(self, prog, args, env):
        exe = os.path.join(os.path.abspath(self.opts.build), "perf", prog)
        e = dict(os.environ, **env)
        if self.hosts:
            # srun.sh leaves the PEs unbound (TERN_BIND=none: the emulated hosts share
            # the CPUs), as the baselines are.
            cmd = ["bash", os.path.join(MH, "srun.sh"), self.opts.mh_dir, "2", "2", exe] + args
        else:
            cmd = [os.path.join(self.opts.build, "tools", "ternrun"), "-n", "2", "--timeout",
                   "300", exe] + args
        out = {}
        for line in sh(cmd, env=e).stdout.splitlines():
            f = line.split()
            if len(f) == 5 and f[0] == "RESULT":
                out[(f[1], int(float(f[2])))] = float(f[3])
        if not out:
            die("%s printed no RESULT line" % " ".join(cmd))
        return out

    def pair(self, server, client, env):
        """Run a server and a client (a list each, the client's last word may be the
        {addr} placeholder); return the client's output."""
        global PORT
        PORT += 1
        server = [a.replace("{port}", str(PORT)) for a in server]
        client = [a.replace("{port}", str(PORT)) for a in client]
        if self.hosts:
            client = [a.replace("{addr}", self.addr) for a in client]
            srv = self.on(1, server, env=env, background=True)
            time.sleep(0.5)
            out = self.on(2, client, env=env, check=False, timeout=120)
        else:
            client = [a.replace("{addr}", "127.0.0.1") for a in client]
            if len(os.sched_getaffinity(0)) >= 2 and shutil.which("taskset"):
                # One core each, as ternrun binds the two PEs (TERN_BIND=auto).
                server = ["taskset", "-c", "0"] + server
                client = ["taskset", "-c", "1"] + client
            e = dict(os.environ, **env)
            srv = subprocess.Popen(server, env=e, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            time.sleep(0.3)
            out = sh(client, env=e, check=False, timeout=120)
        try:
            srv.wait(timeout=20)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        if out.returncode != 0:
            die("%s failed (exit %d):\n%s%s" % (" ".join(client), out.returncode,
                                                 out.stdout[-2000:], out.stderr[-2000:]))
        return out.stdout

    def close(self):
        if self.started:
            sh(["bash", os.path.join(MH, "stop.sh"), self.opts.mh_dir], timeout=120,
               check=False)


def ucx_perftest(place, env, test, size, iters):
    out = place.pair(["timeout", "60", "ucx_perftest", "-p", "{port}"],
                     ["timeout", "60", "ucx_perftest", "{addr}", "-p", "{port}", "-t", test,
                      "-s", str(size), "-n", str(iters)], env)
    for line in out.splitlines():
        if line.startswith("Final:"):
            f = line.split()
            # iterations, latency 50%ile/avg/overall, bandwidth avg/overall, msgrate avg/overall
            return {"latency": float(f[3]), "bandwidth": float(f[6]) * 1.048576,
                    "msgrate": float(f[8]) / 1e6}
    die("ucx_perftest printed no Final line:\n" + out[-2000:])


def fi_pingpong(place, env, provider, size, iters):
    base = ["timeout", "60", "fi_pingpong", "-p", provider, "-e", "rdm", "-S", str(size),
            "-I", str(iters), "-B", "{port}"]
    out = place.pair(base, base[:-2] + ["-P", "{port}", "{addr}"], env)
    for line in out.splitlines():
        f = line.split()
        if len(f) == 8 and f[0] != "bytes":
            # bytes #sent #ack total time MB/sec usec/xfer Mxfers/sec (xfer = one way)
            return {"latency": float(f[6]), "bandwidth": float(f[5]) * 1.048576}
    die("fi_pingpong printed no result line:\n" + out[-2000:])


def iters_for(size, quick):
    n = 20000 if size <= 8192 else 2000 if size <= (1 << 20) else 300
    return max(n // 10, 50) if quick else n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("transport", choices=["ucx", "ofi", "shm"])
    ap.add_argument("--path", default=None, help="UCX_TLS value or libfabric provider")
    ap.add_argument("--where", choices=["host", "hosts"], default="host")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--build", default="build")
    ap.add_argument("--mh-dir", default="/var/tmp/tern-mh-perf")
    ap.add_argument("--quick", action="store_true", help="fewer sizes and iterations")
    opts = ap.parse_args()
    t = opts.transport
    if t == "shm" and opts.where == "hosts":
        ap.error("shm serves PEs of one host only")
    path = opts.path or {"ucx": "sm" if opts.where == "host" else "tcp",
                         "ofi": "shm" if opts.where == "host" else "tcp", "shm": None}[t]
    provider = {"tcp": "tcp;ofi_rxm"}.get(path, path) if t == "ofi" else None
    tern_env = {"TERN_TRANSPORT": t}
    base_env = {}
    if t == "ucx":
        tern_env["UCX_TLS"] = base_env["UCX_TLS"] = path
    elif t == "ofi":
        tern_env["TERN_OFI_PROVIDER"] = path
    else:
        base_env["UCX_TLS"] = "sm"
    tool = "fi_pingpong" if t == "ofi" else "ucx_perftest"
    if not shutil.which(tool):
        die("%s not found (apt-get install %s)" % (tool, "libfabric-bin" if t == "ofi"
                                                   else "ucx-utils"))
    sizes = QUICK_SIZES if opts.quick else SIZES
    pp_args = ["-min", str(sizes[0]), "-max", str(sizes[-1]), "-step", "2"]
    if opts.quick:
        pp_args += ["-iters", "300", "-warmup", "30", "-reps", "3"]
    place = Place(opts)
    samples = {}  # (metric, size) -> {"tern": [], "base": []}

    def add(who, metric, size, v):
        samples.setdefault((metric, size), {"tern": [], "base": []})[who].append(v)

    try:
        for run in range(opts.runs):
            def tern_side():
                res = place.tern("tern_pingpong", pp_args, tern_env)
                for (metric, x), v in res.items():
                    if x in sizes:
                        add("tern", metric, x, v)
                res = place.tern("tern_msgrate", ["-min", "8", "-max", "8"] +
                                 (["-iters", "200", "-warmup", "20", "-reps", "3"]
                                  if opts.quick else []), tern_env)
                add("tern", "msgrate", 8, res[("msgrate", 8)])

            def base_side():
                for s in sizes:
                    n = iters_for(s, opts.quick)
                    if t == "ofi":
                        r = fi_pingpong(place, base_env, provider, s, n)
                        add("base", "latency", s, r["latency"])
                        add("base", "bandwidth", s, r["bandwidth"])
                    else:
                        # Bandwidth from the ping-pong, as Tern's is (size / one-way
                        # time); the streaming test gives the 8-byte message rate.
                        r = ucx_perftest(place, base_env, "ucp_am_lat", s, n)
                        add("base", "latency", s, r["latency"])
                        add("base", "bandwidth", s, r["bandwidth"])
                        if s == 8:
                            r = ucx_perftest(place, base_env, "ucp_am_bw", s, n)
                            add("base", "msgrate", 8, r["msgrate"])

            for side in ([tern_side, base_side] if run % 2 == 0 else [base_side, tern_side]):
                side()
    finally:
        place.close()

    where = "two emulated hosts" if opts.where == "hosts" else "one host"
    base_name = {"ucx": "ucx_perftest ucp_am_*", "ofi": "fi_pingpong",
                 "shm": "ucx_perftest over UCX_TLS=sm"}[t]
    print("Tern over %s%s, %s, medians of %d runs; baseline %s%s" %
          (t, " (%s)" % (provider or path) if path else "", where, opts.runs, base_name,
           " (%s)" % (provider or path) if path and t != "shm" else ""))
    units = {"latency": "us, one way", "bandwidth": "MB/s", "msgrate": "Mmsg/s, 8 B"}
    for metric in ["latency", "bandwidth", "msgrate"]:
        rows = sorted((s, c) for (m, s), c in samples.items() if m == metric)
        if not rows:
            continue
        print("\n== %s (%s)" % (metric, units[metric]))
        print("%10s %12s %12s %10s" % ("bytes", "Tern", "baseline", "Tern/base"))
        for s, c in rows:
            tm = statistics.median(c["tern"]) if c["tern"] else None
            bm = statistics.median(c["base"]) if c["base"] else None
            ratio = "%.2f" % (tm / bm) if tm and bm else "-"
            f = lambda v: "-" if v is None else ("%.3f" % v if v < 100 else "%.0f" % v)
            print("%10d %12s %12s %10s" % (s, f(tm), f(bm), ratio))


if __name__ == "__main__":
    main()
