"""The pools' speed, one program for two engines (perf/python_pool.py runs both):

    ternrun -n 2 python3 pool_bench.py tern [-reps 5]     # tern.pool.Pool on the job's PEs
    python3 pool_bench.py mp 2 [-reps 5]                  # multiprocessing.Pool(2)

RESULT lines (medians): empty tasks a second with automatic chunks (chunksize None) and
with chunksize 1; the time of 1-ms tasks (a busy loop) and the efficiency it implies over
the workers (tasks x 1 ms / (workers x time)).
"""
import statistics
import sys
import time

N_EMPTY = 200000
N_EMPTY1 = 20000
N_WORK = 1000


def empty(x):
    return x


def work(x):
    end = time.perf_counter() + 0.001
    while time.perf_counter() < end:
        pass
    return x


def measure(p, workers, reps):
    p.map(empty, range(1000))  # warm up (workers started, functions seen)
    rates, rates1, times = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = p.map(empty, range(N_EMPTY))
        rates.append(N_EMPTY / (time.perf_counter() - t0))
        assert r[-1] == N_EMPTY - 1
        t0 = time.perf_counter()
        p.map(empty, range(N_EMPTY1), chunksize=1)
        rates1.append(N_EMPTY1 / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        p.map(work, range(N_WORK), chunksize=1)
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    print("RESULT pypool_auto %d %.4g ktask/s" % (workers, statistics.median(rates) / 1e3))
    print("RESULT pypool_chunk1 %d %.4g ktask/s" % (workers, statistics.median(rates1) / 1e3))
    print("RESULT pypool_1ms %d %.4g s" % (workers, t))
    print("RESULT pypool_eff %d %.1f %%" % (workers, 100.0 * N_WORK * 1e-3 / workers / t))
    sys.stdout.flush()


if __name__ == "__main__":
    reps = int(sys.argv[sys.argv.index("-reps") + 1]) if "-reps" in sys.argv else 5
    if sys.argv[1] == "mp":
        import multiprocessing
        workers = int(sys.argv[2])
        with multiprocessing.Pool(workers) as p:
            measure(p, workers, reps)
    else:
        from tern import charm
        from tern.pool import Pool
        p = Pool()
        measure(p, charm.numPes(), reps)
