"""The pools against multiprocessing.Pool and the C pool, in one run (perf/python/
pool_bench.py under ternrun with tern.pool.Pool, the same with multiprocessing.Pool of as
many processes, and tern_pool): empty tasks a second with automatic chunks and with
chunksize 1, and the time and efficiency of 1-ms tasks. Medians of --runs runs.

    python3 perf/python_pool.py [--build BUILD] [--runs 5] [--pes 2]

Goals (issue 21, 2 PEs): at least 100,000 empty tasks a second with automatic chunks
(Charm4py's pool: about 32,000 with chunk size 1 on an earlier machine of this kind), and
1-ms tasks within 10 % of multiprocessing.Pool's time.
"""
import argparse
import os

from proc import median_of, results, run_program

HERE = os.path.dirname(os.path.abspath(__file__))


def med(runs, key):
    return median_of(runs, key, "python_pool.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--pes", type=int, default=2)
    ap.add_argument("--python", default="/usr/bin/python3")
    o = ap.parse_args()
    b = os.path.abspath(o.build)
    ternrun = [os.path.join(b, "tools", "ternrun"), "-n", str(o.pes), "--timeout", "600"]
    env = dict(os.environ, PYTHONPATH=os.path.join(b, "python"))
    bench = os.path.join(HERE, "python", "pool_bench.py")
    tern, mp, c = [], [], []
    for _ in range(o.runs):
        out, _ = run_program(ternrun + [o.python, bench, "tern", "-reps", "3"], env, 900)
        tern.append(results(out))
        out, _ = run_program([o.python, bench, "mp", str(o.pes), "-reps", "3"], env, 900)
        mp.append(results(out))
        out, _ = run_program(ternrun + [os.path.join(b, "perf", "tern_pool"), "-reps", "3"],
                             env, 900)
        c.append(results(out))
    print("Pools on %d PEs / processes, medians of %d runs" % (o.pes, o.runs))
    print("%-36s %12s %16s %10s" % ("", "tern.pool", "multiprocessing", "C pool"))
    print("%-36s %12.4g %16.4g %10.4g" % (
        "empty tasks, automatic chunks (k/s)", med(tern, "pypool_auto"),
        med(mp, "pypool_auto"), 1e3 * med(c, "pool_auto")))
    print("%-36s %12.4g %16.4g %10.4g" % (
        "empty tasks, chunksize 1 (k/s)", med(tern, "pypool_chunk1"),
        med(mp, "pypool_chunk1"), 1e3 * med(c, "pool_chunk1")))
    print("%-36s %12.4g %16.4g %10s" % ("1000 tasks of 1 ms (s)", med(tern, "pypool_1ms"),
                                        med(mp, "pypool_1ms"), "-"))
    print("%-36s %12.4g %16.4g %10.4g" % ("efficiency (%; C: 100-us tasks)",
                                          med(tern, "pypool_eff"), med(mp, "pypool_eff"),
                                          med(c, "pool_eff")))
    print("tern.pool / multiprocessing time of the 1-ms tasks: %.3f"
          % (med(tern, "pypool_1ms") / med(mp, "pypool_1ms")))
    print("Charm4py's pool (issue's figure, an earlier machine): about 32 k/s at chunk 1")


if __name__ == "__main__":
    main()
