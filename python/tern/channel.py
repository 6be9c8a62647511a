"""Channels (Charm4py's Channel): ordered streams between two chares, used from coroutines.

Channel(chare, remote) on one side and Channel(other, remote=proxy of the first) on the
other make the two ends of a channel; the n-th channel a chare opens to a remote is paired
with the n-th the remote opens back (or give both the same port). What is sent is a call
of the remote's runtime method _tern_chan with a sequence number: messages are received in
the order sent, and messages that arrive before their channel is made wait in the chare
(they move with it).
"""
from . import future


def elem_key(pb):
    """What names a chare whatever proxy names it: its collection id and its index (the
    first 8 and the last 24 bytes of tern_proxy_t)."""
    return pb[:8] + pb[48:]


def _queue(chare, key):
    return chare.__dict__.setdefault("_tern_chq", {}).setdefault(key, {})


def arrived(chare, key, seq, args):
    _queue(chare, key)[seq] = args
    ch = chare.__dict__.get("_tern_chobj", {}).get(key)
    if ch is not None and ch._waiters:
        waiters, ch._waiters = ch._waiters, []
        future.wake(waiters)


class Channel(future.Waitable):
    def __init__(self, chare, remote, port=None):
        d = chare.__dict__
        rk = elem_key(remote._pb)
        if port is None:
            ports = d.setdefault("_tern_chports", {})
            port = ports.get(rk, 0)
            ports[rk] = port + 1
        self.chare, self.remote, self.port = chare, remote, port
        self._in = (rk, port)                       # what the remote's sends carry
        self._out = (elem_key(chare._tern_elem), port)
        self._sent = self._got = 0
        self._waiters = []
        d.setdefault("_tern_chobj", {})[self._in] = self

    def __getstate__(self):
        s = dict(self.__dict__)
        s["_waiters"] = []
        return s

    def send(self, *args):
        """Send the arguments to the other end (returns at once)."""
        self.remote._call("_tern_chan", (self._out, self._sent, args), None, False, False)
        self._sent += 1

    def recv(self):
        """The next arguments sent from the other end (one value, or a tuple of them),
        waiting for them if need be (coroutines only)."""
        q = _queue(self.chare, self._in)
        while self._got not in q:
            future.wait_one(self)
        args = q.pop(self._got)
        self._got += 1
        return args[0] if len(args) == 1 else args

    def ready(self):
        return self._got in _queue(self.chare, self._in)

    _ready = ready
