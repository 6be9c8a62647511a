"""A parallel map over an Array of worker chares, with futures consumed as they complete.

parallel_map(workers, n, func, items) calls func(*args) for every args in items on the n
workers (an Array with several Worker chares per PE) and returns the results in the order
of items, like [func(*args) for args in items]. Each worker is kept busy with a few calls at a time: every call
is made with ret=True, main waits on the pending futures with charm.iwait and, as each
completes, stores its result at its item's position and gives that worker the next item.
The function here finds the longest Collatz chain among the numbers of a block (its cost
varies from block to block). Main compares the parallel results with the serial map and
prints how many calls each PE ran.

Run (from the build tree):

    PYTHONPATH=python ./tools/ternrun -n 4 /usr/bin/python3 ../examples/python/parmap.py \
        [items [block [workers_per_pe]]]

Defaults: items=240, block=400 numbers per item, workers_per_pe=3.
"""
from tern import Array, Chare, charm

BLOCK = 400


def collatz_length(n):
    steps = 1
    while n != 1:
        n = 3 * n + 1 if n & 1 else n >> 1
        steps += 1
    return steps


def longest_chain(k, block=BLOCK):
    """(length, start) of the longest Collatz chain starting in block k."""
    return max((collatz_length(n), n) for n in range(k * block + 1, (k + 1) * block + 1))


class Worker(Chare):
    def __init__(self):
        self.calls = 0

    def apply(self, func, args):
        self.calls += 1
        return func(*args)

    def stats(self):
        return charm.myPe(), self.calls


def parallel_map(workers, nworkers, func, items, depth=2):
    """[func(*args) for args in items], computed by the workers; each has at most depth
    calls at a time."""
    results = [None] * len(items)
    todo = iter(enumerate(items))
    pending = {}  # future -> (position of its item, its worker)

    def submit(w):
        for i, args in todo:  # the next item, if any is left
            pending[workers[w].apply(func, args, ret=True)] = (i, w)
            return

    for _ in range(depth):
        for w in range(nworkers):
            submit(w)
    while pending:
        # the futures pending now, each as soon as it completes; the calls submitted
        # meanwhile are waited for at the next round
        for f in charm.iwait(list(pending)):
            i, w = pending.pop(f)
            results[i] = f.get()
            submit(w)
    return results


def main(args):
    nitems = int(args[1]) if len(args) > 1 else 240
    block = int(args[2]) if len(args) > 2 else BLOCK
    per_pe = int(args[3]) if len(args) > 3 else 3
    npes = charm.numPes()
    nworkers = per_pe * npes

    workers = Array(Worker, nworkers)
    items = [(k, block) for k in range(nitems)]
    t0 = charm.wallTime()
    got = parallel_map(workers, nworkers, longest_chain, items)
    t1 = charm.wallTime()
    want = [longest_chain(*a) for a in items]
    t2 = charm.wallTime()

    per_pe_calls = [0] * npes
    for pe, calls in workers.stats(ret=True).get():
        per_pe_calls[pe] += calls
    ok = got == want and sum(per_pe_calls) == nitems
    best = max(want)
    print("parmap: %d workers on %d PEs: parallel %.3f s, serial %.3f s; calls per PE %s; "
          "longest chain %d from %d" % (nworkers, npes, t1 - t0, t2 - t1, per_pe_calls,
                                         best[0], best[1]))
    print("parmap: %d items, %d results %s" % (nitems, len(got), "OK" if ok else "FAILED"),
          flush=True)
    charm.exit(0 if ok else 1)


if __name__ == "__main__":
    charm.start(main)
