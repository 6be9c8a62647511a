#!/usr/bin/env python3
"""Run Tern's benchmarks beside their Open MPI twins and print one table per benchmark.

    perf/run.py [--build build] [--runs 5] [--only pingpong,msgrate,...] [--pes 2,4,8]
                [--quick] [--json FILE]

Each benchmark program prints `RESULT <metric> <x> <value> <unit>` lines (perf/bench.h):
the median of its own timed repetitions after a warm-up. The driver runs the Tern and the
MPI program --runs times each, alternating which goes first, and reports per x the median
over runs of each, their ratio, and whether the goal (issue 3) is met. x is a payload size
or a PE count; a size sweep that runs at every PE count of --pes (allreduce) gets one
table per PE count. The micro-benchmarks (Google Benchmark, perf/micro) report Tern and
baseline pairs the same way. All figures, every run included, go to a JSON file for later
comparison.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys

from miniapps import bench_leanmd, bench_stencil3d
from proc import run_program

# metric -> (unit, which is better, goal description, goal test on (x, ratio Tern/MPI,
# Tern's figure))
METRICS = {
    "latency": ("us", "lower", "Tern/MPI <= 0.80 at 8 B",
                lambda x, r, t: r <= 0.8 if x == 8 else None),
    "bandwidth": ("MB/s", "higher", "Tern/MPI >= 0.90 from 1 MiB",
                  lambda x, r, t: r >= 0.9 if x >= (1 << 20) else None),
    "msgrate": ("Mmsg/s", "higher", "Tern/MPI >= 1.30 at 8 B, >= 1.00 above",
                lambda x, r, t: r >= (1.3 if x == 8 else 1.0)),
    "bcast": ("us", "lower", None, None),
    "alltoall": ("us", "lower", None, None),
    "allreduce": ("us", "lower", None, None),
    # Charm++ 8.0.1 here: 2.1 us a move between processes (UCX build); 1.7-2.1 us a chare.
    "migrate": ("us", "lower", "Tern <= 1.5 us a move", lambda x, r, t: t <= 1.5),
    "create": ("us", "lower", "Tern <= 0.5 us a chare", lambda x, r, t: t <= 0.5),
    # The task pool (MPI: master and workers, chunks of 1000 for "auto"). Charm4py's pool
    # ran about 0.032 M empty tasks a second with chunk size 1 on an earlier such machine.
    "pool_auto": ("Mtask/s", "higher", "Tern >= 1.0 at 2 PEs",
                  lambda x, r, t: t >= 1.0 if x == 2 else None),
    "pool_chunk1": ("Mtask/s", "higher", "Tern >= 0.3 at 2 PEs",
                    lambda x, r, t: t >= 0.3 if x == 2 else None),
    "pool_eff": ("%", "higher", "Tern >= 95 % for 100-us tasks",
                 lambda x, r, t: t >= 95 if x <= 2 else None),
}

# What x is in a benchmark's RESULT lines, and at which PE counts it runs:
X_BYTES = "bytes"          # a size sweep, at 2 PEs
X_PES = "pes"              # the PE count, one figure per count of --pes
X_BYTES_PES = "bytes@pes"  # a size sweep at every count of --pes: one table per count

# name -> (program stem, X_*, arguments, quick arguments)
BENCHES = {
    "pingpong": ("pingpong", X_BYTES, ["-max", str(4 << 20)],
                 ["-max", str(4 << 20), "-step", "8", "-iters", "300", "-warmup", "30",
                  "-reps", "3"]),
    "msgrate": ("msgrate", X_BYTES, ["-min", "8", "-max", "512", "-step", "8"],
                ["-iters", "200", "-warmup", "20", "-reps", "3"]),
    "bcast": ("bcast", X_PES, [], ["-iters", "200", "-warmup", "20", "-reps", "3"]),
    "alltoall": ("alltoall", X_PES, [], ["-iters", "100", "-warmup", "10", "-reps", "3"]),
    "allreduce": ("allreduce", X_BYTES_PES,
                  ["-min", "8", "-max", str(128 << 10), "-step", "128"],
                  ["-iters", "100", "-warmup", "10", "-reps", "3"]),
    "migrate": ("migrate", X_BYTES, ["-size", "1024"],
                ["-iters", "1000", "-warmup", "100", "-reps", "3"]),
    "create": ("create", X_PES, [], ["-iters", "10000", "-reps", "3"]),
    "pool": ("pool", X_PES, [], ["-iters", "200000", "-reps", "3"]),
}
# Benchmarks over PE counts of their own rather than --pes.
BENCH_PES = {"pool": [1, 2, 4]}


def ncpus():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run(cmd, env, timeout):
    """Run one benchmark program; return {(metric, x): value} and the unit per metric."""
    stdout, _ = run_program(cmd, env, timeout)
    out = {}
    for line in stdout.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "RESULT":
            out[(f[1], int(float(f[2])))] = float(f[3])
    if not out:
        sys.exit("perf/run.py: %s printed no RESULT line" % " ".join(cmd))
    return out


def launchers(build, np_, stem, args, have_mpi):
    tern = [os.path.join(build, "tools", "ternrun"), "-n", str(np_), "--timeout", "300",
            os.path.join(build, "perf", "tern_" + stem)] + args
    mpi = None
    if have_mpi:
        mpi = ["mpirun", "-np", str(np_)]
        if os.geteuid() == 0:
            mpi.append("--allow-run-as-root")
        if np_ > ncpus():
            # As TERN_BIND=auto does: no binding when the PEs outnumber the CPUs.
            mpi += ["--oversubscribe", "--bind-to", "none"]
        mpi += [os.path.join(build, "perf", "mpi_" + stem)] + args
    return tern, mpi


def fmt(v):
    if v is None:
        return "-"
    return "%.3f" % v if abs(v) < 100 else "%.1f" % v


def table(title, xname, rows, unit, better, goal):
    print()
    print("== %s (%s, %s is better%s)" % (title, unit, better, ", goal " + goal if goal else ""))
    print("%10s %12s %12s %10s %6s" % (xname, "Tern", "MPI", "Tern/MPI", "goal"))
    for r in rows:
        met = {True: "met", False: "MISSED", None: ""}[r["goal_met"]]
        print("%10s %12s %12s %10s %6s" % (r["x"], fmt(r["tern_median"]),
                                            fmt(r["mpi_median"]), fmt(r["ratio"]), met))


def bench_multi(name, opts, results):
    stem, xkind, args, quick_args = BENCHES[name]
    have_mpi = opts.mpi and os.path.exists(os.path.join(opts.build, "perf", "mpi_" + stem))
    args = args + (quick_args if opts.quick else [])
    pes = [2] if xkind == X_BYTES else BENCH_PES.get(name, opts.pes)
    env = dict(os.environ)
    samples = {}  # (PEs, metric, x) -> {"tern": [...], "mpi": [...]}
    for np_ in pes:
        tern, mpi = launchers(opts.build, np_, stem, args, have_mpi)
        for i in range(opts.runs):
            order = [("tern", tern), ("mpi", mpi)]
            if i % 2:
                order.reverse()
            for who, cmd in order:
                if cmd is None:
                    continue
                for (metric, x), v in run(cmd, env, opts.timeout).items():
                    cell = samples.setdefault((np_, metric, x), {"tern": [], "mpi": []})
                    cell[who].append(v)
    # One table per metric, and per PE count when x is a size at several counts.
    by_table = {}
    for (np_, metric, x), s in sorted(samples.items()):
        tm = statistics.median(s["tern"]) if s["tern"] else None
        mm = statistics.median(s["mpi"]) if s["mpi"] else None
        ratio = tm / mm if tm is not None and mm else None
        test = METRICS[metric][3]
        by_table.setdefault((metric, np_ if xkind == X_BYTES_PES else None), []).append({
            "x": x, "tern": s["tern"], "mpi": s["mpi"], "tern_median": tm, "mpi_median": mm,
            "ratio": ratio,
            "goal_met": test(x, ratio, tm) if test and ratio is not None else None,
        })
    for metric, np_ in sorted(by_table, key=lambda k: (list(METRICS).index(k[0]), k[1] or 0)):
        rows = by_table[(metric, np_)]
        unit, better, goal, _ = METRICS[metric]
        title, key = "%s: %s" % (name, metric), "%s.%s" % (name, metric)
        entry = {"unit": unit, "better": better, "goal": goal,
                 "x": "pes" if xkind == X_PES else "bytes", "rows": rows}
        if np_ is not None:
            title, key = title + ", %d PEs" % np_, key + ".%dpes" % np_
            entry["pes"] = np_
        table(title, "PEs" if xkind == X_PES else "bytes", rows, unit, better, goal)
        results["benchmarks"][key] = entry


def bench_micro(opts, results):
    exe = os.path.join(opts.build, "perf", "micro", "tern_micro")
    if not os.path.exists(exe):
        print("\n== micro: not built (Google Benchmark not found)")
        return
    cmd = [exe, "--benchmark_format=json", "--benchmark_repetitions=%d" % max(opts.runs, 1),
           "--benchmark_report_aggregates_only=true"]
    if opts.quick:
        cmd.append("--benchmark_min_time=0.01")
    env = dict(os.environ, TERN_BOOT="single")
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=opts.timeout)
    if p.returncode != 0:
        sys.exit("perf/run.py: %s failed:\n%s" % (" ".join(cmd), p.stderr.strip()))
    medians = {}
    benches = json.loads(p.stdout)["benchmarks"]
    # Each pair checks its work afterwards and reports an error when it was not done right.
    errors = ["%s: %s" % (b["name"], b.get("error_message", "?")) for b in benches
              if b.get("error_occurred")]
    if errors:
        sys.exit("perf/run.py: micro-benchmarks failed:\n  " +
                 "\n  ".join(dict.fromkeys(errors)))
    for b in benches:
        # A single repetition has no aggregates: its one figure is the median.
        if b.get("aggregate_name") == "median" or (
                b.get("run_type") == "iteration" and b.get("repetitions") == 1):
            scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[b.get("time_unit", "ns")]
            medians[b["run_name"]] = b["real_time"] * scale
    rows = []
    for name, t in sorted(medians.items()):
        if not name.startswith("tern/"):
            continue
        base = medians.get("base/" + name[len("tern/"):])
        rows.append({"x": name[len("tern/"):], "tern_median": t, "mpi_median": base,
                     "ratio": t / base if base else None, "goal_met": None})
    print()
    print("== micro-benchmarks (ns per operation, lower is better; baseline: plain C)")
    print("%-28s %12s %12s %10s" % ("operation", "Tern", "baseline", "Tern/base"))
    for r in rows:
        print("%-28s %12s %12s %10s" % (r["x"], fmt(r["tern_median"]), fmt(r["mpi_median"]),
                                         fmt(r["ratio"])))
    results["benchmarks"]["micro"] = {"unit": "ns", "better": "lower", "baseline": "plain C",
                                      "rows": rows}


# Flood: (label, Tern's environment, Open MPI's options for the same kind of path).
FLOOD_PATHS = [
    ("shm", {"TERN_TRANSPORT": "shm"}, []),
    ("ucx sm", {"TERN_TRANSPORT": "ucx", "UCX_TLS": "sm"}, []),
    ("ucx tcp", {"TERN_TRANSPORT": "ucx", "UCX_TLS": "tcp"}, ["--mca", "pml", "ob1",
                                                              "--mca", "btl", "self,tcp"]),
    ("ofi tcp", {"TERN_TRANSPORT": "ofi", "TERN_OFI_PROVIDER": "tcp"},
     ["--mca", "pml", "ob1", "--mca", "btl", "self,tcp"]),
    ("ofi shm", {"TERN_TRANSPORT": "ofi", "TERN_OFI_PROVIDER": "shm"}, []),
]
# Open MPI's time grows with the square of the messages in flight (100,000 took 12 s
# here, 1,000,000 more than 10 min): the same count for both, small enough for it.
FLOOD_ARGS = ["50000", "16", "1"]


def bench_flood(opts, results):
    """Peak memory per queued message of a flood toward a slow PE, per transport path."""
    have = set(os.listdir(os.path.join(opts.build, "tern"))) \
        if os.path.isdir(os.path.join(opts.build, "tern")) else set()
    have_mpi = opts.mpi and os.path.exists(os.path.join(opts.build, "perf", "mpi_flood"))
    rows = []
    for label, tenv, mpi_opts in FLOOD_PATHS:
        tp = tenv["TERN_TRANSPORT"]
        if tp != "shm" and "tern-%s.so" % tp not in have:
            continue
        args = ["5000", "16", "0.2"] if opts.quick else FLOOD_ARGS
        tern, mpi = launchers(opts.build, 2, "flood", [], have_mpi)
        tern += args + ["1000000"]  # no memory limit here
        if mpi:
            mpi = mpi[:1] + mpi_opts + mpi[1:] + args
        samples = {}
        for i in range(opts.runs):
            order = [("tern", tern, dict(os.environ, **tenv)), ("mpi", mpi, dict(os.environ))]
            if i % 2:
                order.reverse()
            for who, cmd, env in order:
                if cmd is None:
                    continue
                for (metric, _), v in run(cmd, env, opts.timeout).items():
                    samples.setdefault((metric, who), []).append(v)
        for metric in ("flood_sender", "flood_receiver"):
            tm = statistics.median(samples.get((metric, "tern"), [0]))
            mm = statistics.median(samples[(metric, "mpi")]) if (metric, "mpi") in samples \
                else None
            rows.append({"x": "%s %s" % (label, metric.split("_")[1]), "tern_median": tm,
                         "mpi_median": mm, "ratio": tm / mm if mm else None,
                         "goal_met": None, "tern": samples.get((metric, "tern")),
                         "mpi": samples.get((metric, "mpi"))})
    print()
    print("== flood: peak memory per queued message, bytes (lower is better); %s messages "
          "of %s B toward a PE asleep %s s; MPI: MPI_Isend (vader, or btl tcp for tcp paths)"
          % tuple(FLOOD_ARGS))
    print("%-22s %12s %12s %10s" % ("path, side", "Tern", "MPI", "Tern/MPI"))
    for r in rows:
        print("%-22s %12s %12s %10s" % (r["x"], fmt(r["tern_median"]), fmt(r["mpi_median"]),
                                         fmt(r["ratio"])))
    results["benchmarks"]["flood"] = {"unit": "B/msg", "better": "lower", "rows": rows,
                                      "baseline": "Open MPI, MPI_Isend"}


def bench_futures(opts, results):
    """Collecting the answers of many calls: in completion order (tern_future_iter_*)
    against all at once (tern_future_wait_all), in the same program."""
    rows = []
    for np_ in (1, 4):
        tern, _ = launchers(opts.build, np_, "futures", [], False)
        tern += ["3200", "1"] if opts.quick else ["32000"]
        samples = {}
        for _ in range(opts.runs):
            for (metric, _x), v in run(tern, dict(os.environ), opts.timeout).items():
                samples.setdefault(metric, []).append(v)
        it = statistics.median(samples["future_iter"])
        wa = statistics.median(samples["future_waitall"])
        rows.append({"x": "%d PEs" % np_, "tern_median": it, "mpi_median": wa,
                     "ratio": it / wa, "goal_met": None, "tern": samples["future_iter"],
                     "mpi": samples["future_waitall"]})
    print()
    print("== futures: 32,000 answers collected (ms, lower is better); "
          "iteration in completion order against tern_future_wait_all")
    print("%-10s %12s %12s %10s" % ("PEs", "iter", "wait_all", "iter/all"))
    for r in rows:
        print("%-10s %12s %12s %10s" % (r["x"], fmt(r["tern_median"] * 1e3),
                                         fmt(r["mpi_median"] * 1e3), fmt(r["ratio"])))
    results["benchmarks"]["futures"] = {"unit": "s", "better": "lower", "rows": rows,
                                        "baseline": "tern_future_wait_all"}


def bench_imbalance(opts, results):
    """The imbalanced stencil (tern_imbalance.c) with GreedyRefine against the same program
    without a strategy, at 2 PEs (one per core: loads are wall times)."""
    np_ = 2
    tern, _ = launchers(opts.build, np_, "imbalance", [], False)
    tern += ["-iters", "60", "-work-us", "20"] if opts.quick else []
    samples = {"none": [], "GreedyRefine": []}
    for i in range(opts.runs):
        order = ["none", "GreedyRefine"]
        if i % 2:
            order.reverse()
        for who in order:
            env = dict(os.environ, TERN_LB_REPORT="0")
            env.pop("TERN_LB", None)
            if who != "none":
                env["TERN_LB"] = who
            for (_m, _x), v in run(tern, env, opts.timeout).items():
                samples[who].append(v)
    base = statistics.median(samples["none"])
    lb = statistics.median(samples["GreedyRefine"])
    row = {"x": "%d PEs" % np_, "tern_median": lb, "mpi_median": base, "ratio": lb / base,
           "goal_met": lb < base, "tern": samples["GreedyRefine"], "mpi": samples["none"]}
    print()
    print("== imbalance: the CharmPy paper's synthetic imbalance, tern_at_sync every 30 "
          "iterations (s, lower is better; goal: faster with GreedyRefine)")
    print("%-10s %12s %12s %10s %6s" % ("PEs", "GreedyRefine", "no LB", "LB/none", "goal"))
    print("%-10s %12s %12s %10s %6s" % (row["x"], fmt(lb), fmt(base), fmt(lb / base),
                                         "met" if row["goal_met"] else "MISSED"))
    results["benchmarks"]["imbalance"] = {"unit": "s", "better": "lower", "rows": [row],
                                          "baseline": "no load balancing"}


def bench_sections(opts, results):
    """Section multicast and reduction (tern_section.c) against a whole-array broadcast and
    reduction of as many members, and point-to-point calls, at each PE count."""
    rows = []
    for np_ in opts.pes:
        tern, _ = launchers(opts.build, np_, "section", [], False)
        tern += ["-iters", "50", "-reps", "3"] if opts.quick else []
        samples = {}
        for _ in range(opts.runs):
            for (metric, _x), v in run(tern, dict(os.environ), opts.timeout).items():
                samples.setdefault(metric, []).append(v)
        med = {k: statistics.median(v) for k, v in samples.items()}
        ratio = med["section"] / med["bcast"]
        rows.append({"x": "%d PEs" % np_, "tern_median": med["section"],
                     "mpi_median": med["bcast"], "ratio": ratio, "goal_met": ratio <= 1.0,
                     "p2p": med["p2p"], "red_section": med["red_section"],
                     "red_array": med["red_array"], "samples": samples})
    print()
    print("== sections: 8 members a PE, one operation until every member answered (us, lower "
          "is better; goal: multicast <= broadcast)")
    print("%-8s %9s %9s %9s %9s %11s %10s %10s %6s" % (
        "PEs", "section", "bcast", "p2p", "sect/bc", "red_section", "red_array", "rs/ra",
        "goal"))
    for r in rows:
        print("%-8s %9s %9s %9s %9s %11s %10s %10s %6s" % (
            r["x"], fmt(r["tern_median"]), fmt(r["mpi_median"]), fmt(r["p2p"]),
            fmt(r["ratio"]), fmt(r["red_section"]), fmt(r["red_array"]),
            fmt(r["red_section"] / r["red_array"]), "met" if r["goal_met"] else "MISSED"))
    results["benchmarks"]["sections"] = {"unit": "us", "better": "lower", "rows": rows,
                                         "baseline": "whole-array broadcast and reduction"}


def bench_observe(opts, results):
    """What statistics and the timeline cost: 8-byte message rate and latency, the
    imbalanced stencil and LeanMD, with nothing, TERN_STATS=1 and TERN_TRACE on, at 2 PEs."""
    import tempfile
    tmp = tempfile.mkdtemp(prefix="tern-observe-")
    modes = [("off", {}), ("stats", {"TERN_STATS": "1"}),
             ("trace", {"TERN_TRACE": os.path.join(tmp, "t.json")})]
    progs = [("msgrate 8 B", "msgrate", ["-min", "8", "-max", "8"] +
              (["-iters", "200", "-reps", "3"] if opts.quick else []), "msgrate"),
             ("latency 8 B", "pingpong", ["-min", "8", "-max", "8"] +
              (["-iters", "300", "-reps", "3"] if opts.quick else []), "latency"),
             ("imbalance", "imbalance", ["-iters", "60"] if opts.quick else [], "imbalance"),
             ("leanmd", "examples/leanmd/leanmd",
              ["2", "2", "2", "20"] if opts.quick else ["3", "3", "3", "100"], "leanmd")]
    rows = []
    for label, stem, args, metric in progs:
        if stem.startswith("examples/"):
            tern = [os.path.join(opts.build, "tools", "ternrun"), "-n", "2", "--timeout", "300",
                    os.path.join(opts.build, stem)] + args
        else:
            tern, _ = launchers(opts.build, 2, stem, args, False)
        samples = {m: [] for m, _ in modes}
        for i in range(opts.runs):
            order = modes if i % 2 == 0 else list(reversed(modes))
            for m, extra in order:
                env = dict(os.environ)
                for k in ("TERN_STATS", "TERN_STATS_FILE", "TERN_TRACE"):
                    env.pop(k, None)
                env.update(extra)
                out = run(tern, env, opts.timeout)
                vals = [v for (k, _x), v in out.items() if k == metric]
                samples[m].append(vals[0])
        med = {m: statistics.median(v) for m, v in samples.items()}
        rows.append({"x": label, "off": med["off"], "stats": med["stats"],
                     "trace": med["trace"], "samples": samples})
    shutil.rmtree(tmp, ignore_errors=True)
    print()
    print("== observe: statistics and timeline on, against off (2 PEs; ratios < 1 for a rate "
          "mean slower, > 1 for a time mean slower)")
    print("%-14s %12s %12s %12s %10s %10s" % ("figure", "off", "stats", "trace", "stats/off",
                                              "trace/off"))
    for r in rows:
        print("%-14s %12s %12s %12s %10s %10s" % (r["x"], fmt(r["off"]), fmt(r["stats"]),
                                                  fmt(r["trace"]), fmt(r["stats"] / r["off"]),
                                                  fmt(r["trace"] / r["off"])))
    results["benchmarks"]["observe"] = {"rows": rows, "baseline": "statistics and timeline off"}


def bench_lbstrategies(opts, results):
    """Strategy time and quality on simulated loads (lb_strategies.c)."""
    exe = os.path.join(opts.build, "perf", "lb_strategies")
    cmd = [exe, "-reps", str(max(opts.runs, 1))]
    if opts.quick:
        cmd += ["-max-objs", "100000"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=opts.timeout)
    if p.returncode != 0:
        sys.exit("perf/run.py: %s failed:\n%s" % (" ".join(cmd), p.stderr.strip()))
    rows = []
    print()
    print("== lbstrategies: strategies on simulated loads (ms, lower is better; baseline: "
          "qsort of the loads; goal: GreedyRefine on 10^6 objects and 10^4 PEs < 1 s, "
          "max within 5 % of the lower bound)")
    for line in p.stdout.splitlines():
        print(line)
        f = line.split()
        if len(f) >= 9 and f[2].isdigit():
            rows.append({"x": "%s %s %s/%s" % (f[0], f[1], f[2], f[3]),
                         "tern_median": float(f[4]), "mpi_median": float(f[5]),
                         "ratio": float(f[6]), "quality": float(f[7]), "moves": int(f[8]),
                         "goal_met": {"met": True, "MISSED": False}.get(
                             f[9] if len(f) > 9 else "", None)})
    results["benchmarks"]["lbstrategies"] = {"unit": "ms", "better": "lower", "rows": rows,
                                             "baseline": "qsort of the loads"}


# Benchmarks with drivers of their own (the others: bench_multi over BENCHES).
SPECIAL = {"flood": bench_flood, "futures": bench_futures, "sections": bench_sections,
           "imbalance": bench_imbalance, "lbstrategies": bench_lbstrategies,
           "observe": bench_observe, "micro": bench_micro, "leanmd": bench_leanmd,
           "stencil3d": bench_stencil3d}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="build directory (default: build)")
    ap.add_argument("--runs", type=int, default=5, help="runs of each program (default 5)")
    ap.add_argument("--only",
                    default="pingpong,msgrate,bcast,alltoall,allreduce,migrate,create,pool,flood,"
                            "futures,sections,imbalance,lbstrategies,observe,micro,leanmd,stencil3d",
                    help="comma-separated benchmarks (default: all)")
    ap.add_argument("--pes", default="2,4,8",
                    help="PE counts for bcast, alltoall and allreduce")
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test)")
    ap.add_argument("--no-mpi", dest="mpi", action="store_false", help="skip the MPI runs")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per program run")
    ap.add_argument("--json", default=None,
                    help="where to write the figures (default: BUILD/perf-results.json)")
    opts = ap.parse_args()
    opts.pes = [int(p) for p in opts.pes.split(",") if p]
    only = [b for b in opts.only.split(",") if b]
    for b in only:
        if b not in BENCHES and b not in SPECIAL:
            ap.error("unknown benchmark %r (have %s)" % (b, ", ".join(list(BENCHES) +
                                                                   list(SPECIAL))))
    if opts.runs < 1:
        ap.error("--runs must be at least 1")
    if not os.path.exists(os.path.join(opts.build, "tools", "ternrun")):
        sys.exit("perf/run.py: no %s/tools/ternrun; build first (./showcase.sh or cmake)" %
                 opts.build)
    if opts.mpi and not shutil.which("mpirun"):
        print("perf/run.py: mpirun not found; Tern figures only", file=sys.stderr)
        opts.mpi = False

    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(), "machine": platform.machine(), "cpus": ncpus(),
        "runs": opts.runs, "quick": opts.quick, "benchmarks": {},
    }
    print("Tern vs Open MPI, %d CPUs, medians of %d runs per program%s" %
          (ncpus(), opts.runs, " (quick)" if opts.quick else ""))
    for b in only:
        if b in SPECIAL:
            SPECIAL[b](opts, results)
        else:
            bench_multi(b, opts, results)
    path = opts.json or os.path.join(opts.build, "perf-results.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print("\nfigures written to %s" % path)
    missed = [k for k, v in results["benchmarks"].items()
              for r in v["rows"] if r.get("goal_met") is False]
    if missed:
        print("goals missed in: %s" % ", ".join(sorted(set(missed))))


if __name__ == "__main__":
    main()
