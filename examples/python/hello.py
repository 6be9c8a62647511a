"""Hello world for the Charm4py model on Tern.

A Group of Hello chares (one on every PE) says hello when main broadcasts sayHi and
waits for every member (awaitable=True). Then an Array of Greeter chares passes a
greeting along a chain, element 0 to element n-1, each adding its name and PE; the last
element sends the finished list to a future that main waits on. Main checks both parts
and prints one summary line.

Run (from the build tree):

    PYTHONPATH=python ./tools/ternrun -n 4 /usr/bin/python3 ../examples/python/hello.py \
        [elements]

elements: the length of the Array chain (default: 2 per PE).
"""
import sys

from tern import Array, Chare, Group, charm


class Hello(Chare):
    def sayHi(self, sender):
        # one write per line, so that lines from different PEs do not mix
        sys.stdout.write("Hello from PE %d (sent by %s)\n" % (self.thisIndex, sender))
        sys.stdout.flush()

    def where(self):
        return charm.myPe()


class Greeter(Chare):
    def __init__(self, size):
        self.size = size

    def greet(self, names, done):
        i = self.thisIndex[0]
        names = names + ["greeter %d on PE %d" % (i, charm.myPe())]
        if i + 1 < self.size:
            self.thisProxy[i + 1].greet(names, done)
        else:
            done.send(names)


def main(args):
    npes = charm.numPes()
    n = int(args[1]) if len(args) > 1 else 2 * npes

    group = Group(Hello)
    group.sayHi("main", awaitable=True).get()   # every member has printed its line
    pes = group.where(ret=True).get()   # one value a member, in member order
    assert pes == list(range(npes)), pes

    greeters = Array(Greeter, n, args=[n])
    done = charm.createFuture()
    greeters[0].greet([], done)
    names = done.get()
    assert len(names) == n, names
    for i, name in enumerate(names):
        assert name.startswith("greeter %d on PE " % i), name
    print("Chain:", "; ".join(names))
    print("hello: %d PEs said hello, chain of %d greeters OK" % (npes, n), flush=True)
    charm.exit()


if __name__ == "__main__":
    charm.start(main)
