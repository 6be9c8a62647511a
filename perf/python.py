"""The Python front end beside the same in C, in one run (perf/python/bench.py against
tern_pingpong, tern_msgrate and tern_allreduce): one-way latency of 8 B (bytes and numpy),
64 KiB and 1 MiB (numpy) at 2 PEs, entry-method calls per second per PE, and the time of
an 8-byte sum allreduce. Medians of --runs runs; the ratio is Python over C (time) or C
over Python (rates), so that 1.0 is C's speed and more is slower.

    python3 perf/python.py [--build BUILD] [--runs 5] [--pes 2]

Goals (issue 20, 2 PEs on this kind of machine): 8 B one-way at most 3 us, 1 MiB numpy at
5 GB/s or more, 300,000 entry-method calls a second per PE.
"""
import argparse
import os

from proc import median_of as proc_median, results as proc_results, run_program

HERE = os.path.dirname(os.path.abspath(__file__))


def median_of(runs, key):
    return proc_median(runs, key, "python.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pes", type=int, default=2)
    ap.add_argument("--python", default="/usr/bin/python3")
    o = ap.parse_args()
    b = os.path.abspath(o.build)
    ternrun = [os.path.join(b, "tools", "ternrun"), "-n", str(o.pes), "--timeout", "300"]
    env = dict(os.environ, PYTHONPATH=os.path.join(b, "python"))
    py, c = [], []
    for _ in range(o.runs):
        out, _ = run_program(ternrun + [o.python, os.path.join(HERE, "python", "bench.py"),
                                        "-reps", "3"], env, 600)
        py.append(proc_results(out, with_x=True))
        r = {}
        for prog, args in (("tern_pingpong", ["-min", "8", "-max", "1048576", "-iters", "1000",
                                              "-reps", "3"]),
                           ("tern_msgrate", ["-reps", "3"]),
                           ("tern_allreduce", ["-min", "8", "-max", "8", "-reps", "3"])):
            out, _ = run_program(ternrun + [os.path.join(b, "perf", prog)] + args, env, 600)
            r.update(proc_results(out, with_x=True))
        c.append(r)
    rows = [
        ("8 B bytes one-way (us)", ("py_latency_bytes", 8), ("latency", 8), False),
        ("8 B numpy one-way (us)", ("py_latency_numpy", 8), ("latency", 8), False),
        ("64 KiB bytes one-way (us)", ("py_latency_bytes", 65536), ("latency", 65536), False),
        ("64 KiB numpy one-way (us)", ("py_latency_numpy", 65536), ("latency", 65536), False),
        ("1 MiB numpy one-way (us)", ("py_latency_numpy", 1048576), ("latency", 1048576),
         False),
        ("1 MiB numpy bandwidth (MB/s)", ("py_bandwidth_numpy", 1048576),
         ("bandwidth", 1048576), True),
        ("calls/s/PE (M)", ("py_callrate", 8), ("msgrate", 8), True),
        ("8 B allreduce (us)", ("py_allreduce", 8), ("allreduce", 8), False),
    ]
    print("Python front end against C, %d PEs, medians of %d runs" % (o.pes, o.runs))
    print("%-30s %12s %12s %8s" % ("", "Python", "C", "ratio"))
    for name, pk, ck, rate in rows:
        p, q = median_of(py, pk), median_of(c, ck)
        print("%-30s %12.4g %12.4g %8.2f" % (name, p, q, q / p if rate else p / q))
    print("goals: 8 B one-way <= 3 us; 1 MiB numpy >= 5000 MB/s; >= 0.3 M calls/s/PE")


if __name__ == "__main__":
    main()
