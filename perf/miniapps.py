"""The mini-apps in perf/run.py: LeanMD and stencil3d (examples/leanmd, examples/stencil3d)
at 1, 2 and 4 PEs (4 shares the 2 cores here) and at 4 PEs over 2 emulated hosts, beside
their baselines in the same run: Charm++'s own LeanMD and stencil3d when CHARM_DIR names a
Charm++ build (its multicore-linux-x86_64 directory, say: the programs are looked for in
examples/charm++/leanmd and examples/charm++/load_balancing/stencil3d there, built with
make), and stencil3d's MPI twin. Medians of --runs runs; a strong-scaling plot (PNG,
matplotlib) goes to BUILD/miniapps-scaling.png.

LeanMD's figure is ms per step from the program's own clock (set-up excluded); Charm++'s
LeanMD prints no time, so its figure is (wall time of STEPS steps - wall time of 1 step) /
(STEPS - 1), which leaves its start-up out too. stencil3d's figure is ms per iteration;
Charm++'s is the sum of the per-iteration times it prints.
"""
import os
import re
import statistics
import sys

from proc import run_program

PES = [1, 2, 4]


def _ternrun(build, np_, prog, args, env=None):
    return [os.path.join(build, "tools", "ternrun"), "-n", str(np_), "--timeout", "600",
            prog] + args


def _result(out, name):
    for line in out.splitlines():
        f = line.split()
        if len(f) == 5 and f[0] == "RESULT" and f[1] == name:
            return float(f[3])
    sys.exit("perf/run.py: no RESULT %s line in:\n%s" % (name, out[-2000:]))


def _charm(opts):
    d = os.environ.get("CHARM_DIR")
    if not d:
        return None, None
    lm = os.path.join(d, "examples", "charm++", "leanmd", "leanmd")
    st = os.path.join(d, "examples", "charm++", "load_balancing", "stencil3d", "stencil3d")
    return (lm if os.access(lm, os.X_OK) else None), (st if os.access(st, os.X_OK) else None)


def _cores():
    """Charm++'s multicore build refuses more PEs than cores: its rows stop there."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _env(extra=None):
    env = dict(os.environ, TERN_LB_REPORT="0")
    env.pop("TERN_LB", None)
    env.update(extra or {})
    return env


def _median(xs):
    return statistics.median(xs) if xs else None


def _fmt(v):
    return "-" if v is None else ("%.2f" % v if v < 100 else "%.1f" % v)


def _configs(opts):
    """(label, PEs, extra environment) rows."""
    rows = [("%d PE%s" % (n, "" if n == 1 else "s"), n, {}) for n in PES]
    rows.append(("4 PEs, 2 hosts", 4, {"TERN_EMULATE_HOSTS": "2"}))
    return rows


def bench_leanmd(opts, results):
    dims = ["2", "2", "2"] if opts.quick else ["3", "3", "3"]
    steps = 20 if opts.quick else 200
    prog = os.path.join(opts.build, "examples", "leanmd", "leanmd")
    charm_lm, _ = _charm(opts)
    rows = []
    for label, np_, extra in _configs(opts):
        tern, charm = [], []
        for i in range(opts.runs):
            out, _ = run_program(_ternrun(opts.build, np_, prog, dims + [str(steps), "-lb", "0"]),
                          _env(extra), opts.timeout)
            tern.append(_result(out, "leanmd") * 1e3)
            if charm_lm and not extra and np_ <= _cores():
                _, t_long = run_program([charm_lm] + dims + [str(steps), "+p%d" % np_],
                                 dict(os.environ), opts.timeout)
                _, t_one = run_program([charm_lm] + dims + ["1", "+p%d" % np_], dict(os.environ),
                                opts.timeout)
                charm.append((t_long - t_one) * 1e3 / (steps - 1))
        t, c = _median(tern), _median(charm)
        rows.append({"x": label, "pes": np_, "tern_median": t, "charm_median": c,
                     "ratio": t / c if c else None,
                     "goal_met": (t / c <= 0.9) if c and np_ == 2 and not extra else None,
                     "tern": tern, "charm": charm})
    print()
    print("== leanmd %s %d (ms/step, lower is better; goal at 2 PEs: Tern/Charm++ <= 0.90)"
          % (" ".join(dims), steps))
    print("%-16s %10s %10s %12s %6s" % ("PEs", "Tern", "Charm++", "Tern/Charm++", "goal"))
    for r in rows:
        met = {True: "met", False: "MISSED", None: ""}[r["goal_met"]]
        print("%-16s %10s %10s %12s %6s" % (r["x"], _fmt(r["tern_median"]),
                                             _fmt(r["charm_median"]), _fmt(r["ratio"]), met))
    if not charm_lm:
        print("(no Charm++ figures: set CHARM_DIR to a Charm++ build with its LeanMD made)")
    results["benchmarks"]["leanmd"] = {"unit": "ms/step", "better": "lower", "rows": rows,
                                       "baseline": "Charm++ LeanMD (CHARM_DIR)"}
    _plot(opts, results)


def _charm_stencil(out):
    return sum(float(m.group(1)) for m in
               re.finditer(r"Time per iteration: ([0-9.eE+-]+)", out))


def bench_stencil3d(opts, results):
    size = ["32", "8"] if opts.quick else ["128", "16"]
    iters = 20 if opts.quick else 100
    prog = os.path.join(opts.build, "examples", "stencil3d", "stencil3d")
    mpi_prog = os.path.join(opts.build, "examples", "stencil3d", "stencil3d_mpi")
    have_mpi = opts.mpi and os.access(mpi_prog, os.X_OK)
    _, charm_st = _charm(opts)
    rows = []
    for label, np_, extra in _configs(opts):
        s = {k: [] for k in ("even", "even_mpi", "none", "lb", "mpi", "charm")}
        for i in range(opts.runs):
            base = size + ["-iters", str(iters)]
            out, _ = run_program(_ternrun(opts.build, np_, prog, base + ["-imbalance", "0"]),
                          _env(extra), opts.timeout)
            s["even"].append(_result(out, "stencil3d") * 1e3)
            out, _ = run_program(_ternrun(opts.build, np_, prog, base), _env(extra), opts.timeout)
            s["none"].append(_result(out, "stencil3d") * 1e3)
            out, _ = run_program(_ternrun(opts.build, np_, prog, base + ["--balancer", "GreedyRefine"]),
                          _env(extra), opts.timeout)
            s["lb"].append(_result(out, "stencil3d") * 1e3)
            if have_mpi and not extra:
                mpi = ["mpirun", "-np", str(np_)]
                if os.geteuid() == 0:
                    mpi.append("--allow-run-as-root")
                if np_ > 2:
                    mpi += ["--oversubscribe", "--bind-to", "none"]
                out, _ = run_program(mpi + [mpi_prog] + base + ["-imbalance", "0"], dict(os.environ),
                              opts.timeout)
                s["even_mpi"].append(_result(out, "stencil3d_mpi") * 1e3)
                out, _ = run_program(mpi + [mpi_prog] + base, dict(os.environ), opts.timeout)
                s["mpi"].append(_result(out, "stencil3d_mpi") * 1e3)
            if charm_st and not extra and not opts.quick and np_ <= _cores():
                out, _ = run_program([charm_st] + size + ["+p%d" % np_, "+balancer", "GreedyRefineLB"],
                              dict(os.environ), opts.timeout)
                s["charm"].append(_charm_stencil(out) * 1e3 / iters)
        m = {k: _median(v) for k, v in s.items()}
        rows.append({"x": label, "pes": np_, "even": m["even"], "even_mpi": m["even_mpi"],
                     "tern_median": m["lb"], "none": m["none"], "mpi_median": m["mpi"],
                     "charm_median": m["charm"],
                     "lb_speedup": m["none"] / m["lb"] if m["lb"] else None,
                     "goal_met": None if extra or np_ != 2 else
                     ((m["even_mpi"] is None or m["even"] <= m["even_mpi"]) and
                      (m["charm"] is None or m["lb"] <= 0.9 * m["charm"]) and
                      m["none"] / m["lb"] >= 1.5),
                     "samples": s})
    print()
    print("== stencil3d %s %s, %d iterations (ms/iteration, lower is better; goals at 2 PEs: "
          "even <= MPI's, GreedyRefine <= 0.9 Charm++'s, >= 1.5x no balancing)"
          % (size[0], size[1], iters))
    print("%-16s %9s %9s | %9s %9s %9s %9s %8s %6s" % ("PEs", "even", "MPI even", "no LB",
                                                      "GreedyRef", "MPI", "Charm++", "LB gain",
                                                      "goal"))
    for r in rows:
        met = {True: "met", False: "MISSED", None: ""}[r["goal_met"]]
        print("%-16s %9s %9s | %9s %9s %9s %9s %8s %6s" % (
            r["x"], _fmt(r["even"]), _fmt(r["even_mpi"]), _fmt(r["none"]),
            _fmt(r["tern_median"]), _fmt(r["mpi_median"]), _fmt(r["charm_median"]),
            _fmt(r["lb_speedup"]), met))
    if not charm_st:
        print("(no Charm++ figures: set CHARM_DIR to a Charm++ build with its stencil3d made)")
    results["benchmarks"]["stencil3d"] = {"unit": "ms/iteration", "better": "lower",
                                          "rows": rows, "baseline": "MPI twin, Charm++"}
    _plot(opts, results)


def _plot(opts, results):
    """Strong scaling of whatever mini-app figures there are, as one PNG."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: python3-matplotlib is not installed)")
        return
    apps = [a for a in ("leanmd", "stencil3d") if a in results["benchmarks"]]
    fig, axes = plt.subplots(1, len(apps), figsize=(5.5 * len(apps), 4), squeeze=False)
    series = {"leanmd": [("tern_median", "Tern"), ("charm_median", "Charm++")],
              "stencil3d": [("tern_median", "Tern, GreedyRefine"), ("none", "Tern, no LB"),
                            ("mpi_median", "MPI twin"), ("charm_median", "Charm++, GreedyRefine")]}
    for ax, app in zip(axes[0], apps):
        rows = [r for r in results["benchmarks"][app]["rows"] if "hosts" not in r["x"]]
        for key, name in series[app]:
            pts = [(r["pes"], r[key]) for r in rows if r.get(key)]
            if pts:
                ax.plot([p for p, _ in pts], [v for _, v in pts], marker="o", label=name)
        ax.set_xlabel("PEs (2 cores: 4 PEs share them)")
        ax.set_ylabel(results["benchmarks"][app]["unit"])
        ax.set_xticks(PES)
        ax.set_title(app)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    path = os.path.join(opts.build, "miniapps-scaling.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print("plot: %s" % path)
