"""Python front end benchmarks, the twins of tern_pingpong, tern_msgrate and
tern_allreduce (perf/python.py runs both and prints the ratios).

    ternrun -n 2 python3 perf/python/bench.py [pingpong|callrate|allreduce|all] [-reps 5]

pingpong: a chare on PE 0 and one on the last PE bounce an argument (bytes of 8 B and
64 KiB; numpy arrays of 8 B, 64 KiB and 1 MiB); one-way latency and bandwidth.
callrate: every member of a group calls an entry method of the next PE's member `n`
times (no reply), the last call answers; entry-method calls per second per PE.
allreduce: every member of a group allreduces one float (Reducer.sum) over and over from
a coroutine; time per allreduce. Lines: RESULT <bench> <x> <value> <unit> (medians).
"""
import statistics
import sys

import numpy as np

from tern import Chare, Future, Group, Reducer, charm, coro


class Pong(Chare):
    def __init__(self):
        self.peer = None

    def setup(self, peer):
        self.peer = peer

    def ping(self, x):
        self.peer.pong(x)

    def pong(self, x):
        self.left -= 1
        if self.left:
            self.peer.ping(x)
        else:
            self.done.send(None)

    def run(self, x, iters, done):
        self.left, self.done = iters, done
        self.peer.ping(x)


class Rate(Chare):
    def __init__(self):
        self.got = 0

    def start(self, n, done):
        self.want, self.done = n, done
        nxt = self.thisProxy[(self.thisIndex + 1) % charm.numPes()]
        for _ in range(n):
            nxt.hit(1)

    def hit(self, x):
        self.got += x
        if self.got == self.want:
            self.got = 0
            self.contribute(None, None, self.done)


class Red(Chare):
    @coro
    def run(self, iters):
        x = 1.0
        for _ in range(iters):
            x = self.allreduce(1.0, Reducer.sum).get()
        return x


def pingpong(reps):
    pes = charm.numPes()
    a = Chare(Pong, onPE=0)
    b = Chare(Pong, onPE=pes - 1)
    a.setup(b, awaitable=True).get()
    b.setup(a, awaitable=True).get()
    cases = [("bytes", 8, b"x" * 8, 4000), ("numpy", 8, np.zeros(1, np.float64), 4000),
             ("bytes", 65536, b"x" * 65536, 1000),
             ("numpy", 65536, np.zeros(65536 // 8), 1000),
             ("numpy", 1048576, np.zeros(1048576 // 8), 200)]
    for kind, size, x, iters in cases:
        f = Future()
        a.run(x, max(iters // 10, 5), f)
        f.get()  # warm up
        lat = []
        for _ in range(reps):
            f = Future()
            t0 = charm.wallTime()
            a.run(x, iters, f)
            f.get()
            lat.append((charm.wallTime() - t0) / iters / 2)
        us = statistics.median(lat) * 1e6
        print("RESULT py_latency_%s %d %.4g us" % (kind, size, us))
        print("RESULT py_bandwidth_%s %d %.4g MB/s" % (kind, size, size / us))


def callrate(reps):
    g = Group(Rate)
    n = 20000
    f = Future()
    g.start(1000, f)
    f.get()
    rates = []
    for _ in range(reps):
        f = Future()
        t0 = charm.wallTime()
        g.start(n, f)
        f.get()
        rates.append(n / (charm.wallTime() - t0))
    print("RESULT py_callrate 8 %.4g Mcalls/s/PE" % (statistics.median(rates) / 1e6))


def allreduce(reps):
    g = Group(Red)
    iters = 2000
    g.run(100, awaitable=True).get()
    ts = []
    for _ in range(reps):
        t0 = charm.wallTime()
        vals = g.run(iters, ret=True).get()
        ts.append((charm.wallTime() - t0) / iters)
        assert all(v == charm.numPes() for v in vals), vals
    print("RESULT py_allreduce 8 %.4g us" % (statistics.median(ts) * 1e6))


def main(args):
    reps = 5
    if "-reps" in args:
        reps = int(args[args.index("-reps") + 1])
    which = [a for a in args[1:] if a in ("pingpong", "callrate", "allreduce", "all")]
    which = which[0] if which else "all"
    for name, fn in (("pingpong", pingpong), ("callrate", callrate),
                     ("allreduce", allreduce)):
        if which in (name, "all"):
            fn(reps)
            sys.stdout.flush()
    charm.exit()


charm.start(main)
