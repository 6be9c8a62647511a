"""The Charm4py 1.0 documentation's own example programs, with `charm4py` replaced by
`tern` in their imports and nothing else changed (but the indentation the documentation's
typesetting broke, and a `# ... do some work ...` given a value), at 1, 2 and 4 PEs."""
import pytest

from test_charm import PES, run

DOCS = {
    "actor": ("""
from tern import charm, Chare, Array

# Define my own chare type A (instances will be distributed objects)
class A(Chare):

    def start(self):
        # call method 'sayHi' of element 1 in my Array
        self.thisProxy[1].sayHi('hello world')

    def sayHi(self, message):
        print(message, 'on process', charm.myPe())
        exit()

def main(args):
    # create a distributed Array of 2 objects of type A
    array_proxy = Array(A, 2)
    # call method 'start' of element 0 of the Array
    array_proxy[0].start()

# start the Charm runtime. after initialization, the runtime will call
# function 'main' on the first process
charm.start(main)
""", lambda n: ["hello world on process %d" % (n // 2)]),  # (the block map's PE of 1)

    "channels": ("""
from tern import charm, Chare, Array, coro, Channel
class A(Chare):
    @coro
    def start(self):
        if self.thisIndex == (0,):
            # I am element 0, establish a Channel with element 1 of my Array
            ch = Channel(self, remote=self.thisProxy[1])
            # send msg on the channel (this is asynchronous)
            ch.send('hello world')
        else:
            # I am element 1, establish a Channel with element 0 of my Array
            ch = Channel(self, remote=self.thisProxy[0])
            # receive msg from the channel. coroutine suspends until the msg arrives
            print(ch.recv())
            exit()
def main(args):
    a = Array(A, 2)
    # call method 'start' of every element of the array (this is a broadcast)
    a.start()
charm.start(main)
""", lambda n: ["hello world"]),

    "futures": ("""
from tern import charm, Chare, Array, coro, Channel, Future
class A(Chare):
    @coro
    def start(self, done):
        neighbor = self.thisProxy[(self.thisIndex[0] + 1) % 2]
        # establish a channel with my neighbor
        ch = Channel(self, remote=neighbor)
        # each chare sends and receives a msg to/from its neighbor for 10 steps
        for i in range(10):
            ch.send(i)
            assert ch.recv() == i
        if self.thisIndex == (0,):
            # signal the future that we are done
            done()
def main(args):
    a = Array(A, 2)
    # create a Future
    done = Future()
    # call start method on both elements (broadcast), passing the future
    a.start(done)
    # ... do work ...
    # 'get' suspends the coroutine until the future receives a value
    # (note that the main function is always a coroutine)
    done.get()
    print('done')
    exit()
charm.start(main)
""", lambda n: ["done"]),

    "awaitable": ("""
from tern import charm, Chare, Array

class A(Chare):
    def work(self):
        result = 6 * 7 # ... do some work ...
        return result

def main(args):
    a = Array(A, 2)
    future = a[1].work(ret=True)
    # ... can do other stuff while the remote chare works ...
    # query future now. will suspend 'main' if the value has not arrived yet
    value = future.get()
    print('Result is', value)
    exit()

charm.start(main)
""", lambda n: ["Result is 42"]),

    "callback": ("""
from tern import charm, Chare, Group

class A(Chare):

    def start(self):
        b_proxy = Chare(B)
        # call work and send one of my methods to use as callback
        b_proxy.work(self.thisProxy.recvResult)

    def recvResult(self, result):
        print('Result is', result)
        exit()

class B(Chare):

    def work(self, callback):
        # ... do work ...
        result = 'ready'
        callback(result)

def main(args):
    a_proxy = Chare(A)
    a_proxy.start()

charm.start(main)
""", lambda n: ["Result is ready"]),

    "reductions": ("""
from tern import charm, Chare, Group, Reducer
import numpy as np
DATA_SIZE = 100
NUM_ITER = 20
class A(Chare):
    def __init__(self):
        self.data = np.zeros(DATA_SIZE)
        self.iteration = 0
    def work(self):
        # ... do some computation, modifying self.data ...
        self.data += 1
        # do reduction and send result to element 0
        self.reduce(self.thisProxy[0].collectResult, self.data, Reducer.sum)
    def collectResult(self, result):
        # ... do something with result ...
        self.iteration += 1
        if self.iteration == NUM_ITER:
            print('last sum', result[0])
            exit()
        # continue doing work
        self.thisProxy.work()
def main(args):
    g = Group(A)
    g.work()
charm.start(main)
""", lambda n: ["last sum %r" % float(20 * n)]),

    "future_reduce": ("""
from tern import charm, Chare, Array, Future, Reducer

class A(Chare):

    def work(self, future):
        # ...
        result = self.thisIndex[0]  # ...
        # use future as reduction callback (send reduction result to future)
        self.reduce(future, result, Reducer.sum)

def main(args):
    array_proxy = Array(A, charm.numPes() * 8)
    f = Future()
    array_proxy.work(f)
    result = f.get() # wait for work to complete on all chares in array
    print('sum', result)
    exit()
charm.start(main)
""", lambda n: ["sum %d" % (8 * n * (8 * n - 1) // 2)]),

    "sections_group": ("""
from tern import charm, Chare, Group
class Test (Chare):
    def sayHi(self):
        print('Hello from', self.thisIndex)
def sectionNo(obj):
    if obj.thisIndex % 2 == 0:
        return [0]
    else:
        return []
def main(args):
    g = Group(Test)
    # creates one section of elements on even-numbered PEs
    secProxy = charm.split(g, 1, sectionNo)[0]
    # this does the same thing with slicing notation
    secProxy2 = g[::2]
    secProxy.sayHi(awaitable=True).get()
    exit()
charm.start(main)
""", lambda n: ["Hello from %d" % i for i in range(0, n, 2)]),

    "sections_array": ("""
from tern import charm, Chare, Array, Future, Reducer
class Test (Chare):
    def recvSecProxies(self, proxies):
        self.secProxy = proxies[sectionNo(self)]
    def doreduction(self, future):
        self.contribute(1, Reducer.sum, future, self.secProxy)
def sectionNo(obj):
    return obj.thisIndex[0] # first index determines the section number
def main(args):
    a = Array(Test, (4, 4)) # create a 4 x 4 array
    # split array into 4 sections
    secProxies = charm.split(a, 4, sectionNo)
    a.recvSecProxies(secProxies, awaitable=True).get() # blocks until proxies received
    f = Future()
    # tell section 0 to perform a reduction
    secProxies[0].doreduction(f)
    print(f.get()) # returns 4
    exit()
charm.start(main)
""", lambda n: ["4"]),

    "sections_combine": ("""
from tern import charm, Chare, Array
class Test (Chare):
    def sayHi(self):
        print('Hello from', self.thisIndex)
def sectionNo(obj):
    return obj.thisIndex[0] # first index determines the section number
def main(args):
    a1 = Array(Test, (4, 4)) # create a 4 x 4 array
    a2 = Array(Test, (4, 4)) # create a 4 x 4 array
    combined = charm.combine(a1, a2)
    combined.sayHi() # broadcast to all members of a1 and a2
    # make 4 cross-array sections involving the two arrays
    secProxies = charm.split(combined, 4, sectionNo)
    futures = []
    for proxy in secProxies:
        futures.append(proxy.sayHi(awaitable=True))
    charm.wait(futures)
    exit()
charm.start(main)
""", lambda n: ["Hello from (%d, %d)" % (i, j) for i in range(4) for j in range(4)]),
}


@pytest.mark.parametrize("np_", PES)
@pytest.mark.parametrize("name", sorted(DOCS))
def test_documentation_example(tmp_path, name, np_):
    prog, want = DOCS[name]
    out = run(tmp_path, prog, np_).stdout
    lines = out.splitlines()
    for line in want(np_):
        assert line in lines, (name, line, out)
    if name == "sections_combine":  # each member greeted twice: the broadcast, its section
        for i in range(4):
            for j in range(4):
                assert lines.count("Hello from (%d, %d)" % (i, j)) == 4, out
