"""A Python program for the cluster launchers' tests (ternrun, mpirun, srun --mpi=pmix,
emulated hosts): groups, arrays, broadcasts with results, reductions with numpy, a
coroutine with channels, a migration and the host queries, each checked. Exit 0 when every
result is right, 1 otherwise (what went wrong on stderr).

    launch_check.py [boom]   (boom: an entry method on the last PE raises, ending the job)
"""
import sys

import numpy as np

from tern import Array, Channel, Chare, Group, Reducer, charm, coro


class Member(Chare):
    def where(self):
        return (charm.myPe(), charm.myHost())

    def total(self, f, v):
        self.reduce(f, v * (self.thisIndex + 1), Reducer.sum)

    def boom(self):
        raise KeyError("boom on PE %d" % charm.myPe())


class Elem(Chare):
    def __init__(self, n):
        i = self.thisIndex[0]
        self.n = n
        self.ch = Channel(self, remote=self.thisProxy[(i + 1) % n])
        self.back = Channel(self, remote=self.thisProxy[(i - 1) % n])

    @coro
    def ring(self):
        self.ch.send(self.thisIndex[0])
        return self.back.recv()

    def go(self, pe):
        self.migrate(pe)

    def pe(self):
        return charm.myPe()


def main(args):
    bad = []
    n = charm.numPes()
    g = Group(Member)
    if "boom" in args:
        g[n - 1].boom()
        return
    where = g.where(ret=True).get()
    if [w[0] for w in where] != list(range(n)):
        bad.append("group members on %r" % where)
    hosts = sorted({w[1] for w in where})
    if hosts != list(range(charm.numHosts())):
        bad.append("hosts %r of %d" % (hosts, charm.numHosts()))
    if sum(charm.getHostNumPes(h) for h in range(charm.numHosts())) != n:
        bad.append("host PE counts do not add up to %d" % n)
    f = charm.createFuture()
    g.total(f, np.arange(5.0))
    if list(f.get()) != list(np.arange(5.0) * n * (n + 1) / 2):
        bad.append("numpy sum %r" % (f.get(),))
    m = 2 * n + 1
    a = Array(Elem, m, args=[m])
    got = a.ring(ret=True).get()
    if got != [(i - 1) % m for i in range(m)]:
        bad.append("ring %r" % got)
    for i in range(m):
        a[i].go((i + 1) % n)
    charm.waitQD()
    pes = a.pe(ret=True).get()
    if pes != [(i + 1) % n for i in range(m)]:
        bad.append("after migration %r" % pes)
    for b in bad:
        sys.stderr.write("launch_check: WRONG %s\n" % b)
    print("launch_check: %d PEs on %d hosts: %s" % (n, charm.numHosts(),
                                                     "wrong" if bad else "ok"))
    charm.exit(1 if bad else 0)


charm.start(main)
