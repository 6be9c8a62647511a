"""A multiprocessing-style script on tern.pool for the launchers' tests (ternrun, mpirun,
srun --mpi=pmix, emulated hosts): every PE serves the pool; PE 0 checks the results
against the serial ones and the job ends with exit code 0 when all are right, 1 if not."""
import itertools
import sys

from tern.pool import Pool


def f(x):
    return x * x + 1


def add(a, b):
    return a + b


if __name__ == "__main__":
    bad = []
    with Pool() as p:
        if p.map(f, range(5000)) != [f(x) for x in range(5000)]:
            bad.append("map")
        if p.starmap(add, [(i, i) for i in range(100)]) != [2 * i for i in range(100)]:
            bad.append("starmap")
        if list(itertools.islice(p.imap(f, itertools.count()), 300)) != \
                [f(x) for x in range(300)]:
            bad.append("imap")
        if p.apply(add, (1,), {"b": 2}) != 3:
            bad.append("apply")
    from tern import charm
    for b in bad:
        sys.stderr.write("pool_check: WRONG %s\n" % b)
    print("pool_check: %d PEs on %d hosts: %s" % (charm.numPes(), charm.numHosts(),
                                                   "wrong" if bad else "ok"))
    sys.exit(1 if bad else 0)
