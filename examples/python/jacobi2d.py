"""2-D Jacobi relaxation (5-point stencil) on a 2-D chare Array, checked against numpy.

The grid has N x N interior points inside a fixed boundary ring: the top edge holds 1.0,
the other three edges 0.0, and the interior starts at 0.0. Each iteration replaces every
interior point by the mean of its four neighbours. The interior is cut into B x B blocks
(an Array of B x B Block chares; N need not be a multiple of B). Each block runs as a
coroutine: at every iteration it sends its edge rows and columns (numpy arrays) to its
neighbours over Channels, receives theirs into its ghost layer, and updates its points.
At the end the blocks' data is gathered by a reduction (Reducer.gather) into a future;
main assembles the grid, runs the same iterations serially with numpy on PE 0 and checks
that the two agree (max |diff| < 1e-12).

Run (from the build tree):

    PYTHONPATH=python ./tools/ternrun -n 4 /usr/bin/python3 ../examples/python/jacobi2d.py \
        [N [B [iterations]]]

Defaults: N=96, B=4, iterations=100.
"""
import numpy as np

from tern import Array, Channel, Chare, Reducer, charm, coro

TOP = 1.0  # the top edge's value; the others are 0


def bounds(n, parts, k):
    """The first and one-past-last interior row (or column) of part k of n in parts."""
    return k * n // parts, (k + 1) * n // parts


def initial_grid(n):
    """The (n+2) x (n+2) grid with its boundary ring."""
    u = np.zeros((n + 2, n + 2))
    u[0, :] = TOP
    return u


def relax(u):
    """One Jacobi iteration of the interior of u (ghost or boundary ring included)."""
    new = u.copy()
    new[1:-1, 1:-1] = 0.25 * (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:])
    return new


class Block(Chare):
    def __init__(self, n, nblocks):
        self.n, self.nb = n, nblocks
        bi, bj = self.thisIndex
        self.r0, self.r1 = bounds(n, nblocks, bi)
        self.c0, self.c1 = bounds(n, nblocks, bj)
        # this block's points with one ghost (or boundary) layer around them, cut out of
        # the initial grid: grid row r is local row r - r0 (grid rows 1..n are interior)
        self.u = initial_grid(n)[self.r0:self.r1 + 2, self.c0:self.c1 + 2].copy()

    @coro
    def run(self, iterations, done):
        bi, bj, nb = self.thisIndex[0], self.thisIndex[1], self.nb
        # one channel to each neighbour: (channel, which edge of ours it borders)
        chans = []
        for di, dj, side in ((-1, 0, "up"), (1, 0, "down"), (0, -1, "left"), (0, 1, "right")):
            i, j = bi + di, bj + dj
            if 0 <= i < nb and 0 <= j < nb:
                chans.append((Channel(self, remote=self.thisProxy[i, j]), side))
        u = self.u
        for _ in range(iterations):
            for ch, side in chans:  # our edge points next to that neighbour
                if side == "up":
                    ch.send(u[1, 1:-1].copy())
                elif side == "down":
                    ch.send(u[-2, 1:-1].copy())
                elif side == "left":
                    ch.send(u[1:-1, 1].copy())
                else:
                    ch.send(u[1:-1, -2].copy())
            for ch, side in chans:  # its edge points: our ghost layer on that side
                halo = ch.recv()
                if side == "up":
                    u[0, 1:-1] = halo
                elif side == "down":
                    u[-1, 1:-1] = halo
                elif side == "left":
                    u[1:-1, 0] = halo
                else:
                    u[1:-1, -1] = halo
            u = self.u = relax(u)
        self.reduce(done, (self.r0, self.c0, u[1:-1, 1:-1]), Reducer.gather)


def main(args):
    n = int(args[1]) if len(args) > 1 else 96
    nb = int(args[2]) if len(args) > 2 else 4
    iterations = int(args[3]) if len(args) > 3 else 100
    if not 1 <= nb <= n:
        raise SystemExit("jacobi2d: need 1 <= blocks per side <= N")

    t0 = charm.wallTime()
    blocks = Array(Block, (nb, nb), args=[n, nb])
    done = charm.createFuture()
    blocks.run(iterations, done)
    parts = done.get()
    t1 = charm.wallTime()

    grid = initial_grid(n)
    for r0, c0, data in parts:
        grid[r0 + 1:r0 + 1 + data.shape[0], c0 + 1:c0 + 1 + data.shape[1]] = data

    serial = initial_grid(n)
    for _ in range(iterations):
        serial = relax(serial)
    diff = float(np.abs(grid - serial).max())
    ok = diff < 1e-12 and len(parts) == nb * nb
    print("jacobi2d: %d x %d blocks on %d PEs, %.3f s; mean of interior %.6f"
          % (nb, nb, charm.numPes(), t1 - t0, float(grid[1:-1, 1:-1].mean())))
    print("jacobi2d: N=%d iterations=%d max|diff|=%.3g %s"
          % (n, iterations, diff, "OK" if ok else "FAILED"), flush=True)
    charm.exit(0 if ok else 1)


if __name__ == "__main__":
    charm.start(main)
