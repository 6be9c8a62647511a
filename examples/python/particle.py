"""A 2-D particle simulation with dynamic load balancing, checked against numpy.

Particles move in the unit square with fixed velocities and bounce off its walls. The
square is cut into C x C cells, an Array of Cell chares made with useAtSync=True; each
cell holds the particles inside it, as rows (x, y, vx, vy) of a numpy array. Most
particles start in the lower-left corner, so a few cells have most of the work; as the
particles spread out the load moves. At each step every cell moves its particles, keeps
those still inside it and sends the others to its neighbour cells (one message to each
neighbour every step, empty or not); a message is taken only at its step (@when on the
step number), so steps stay in order without any global synchronization. Every K steps
the cells call AtSync, the load balancer given on the command line (if any) may move
them between PEs, and they carry on in resumeFromSync.

At the end a sum reduction checks that no particle was lost or duplicated, and a gather
reduction brings every particle to main, which runs the same motion serially with numpy
and checks that the sorted particle lists are identical.

Run (from the build tree):

    PYTHONPATH=python ./tools/ternrun -n 4 /usr/bin/python3 ../examples/python/particle.py \
        [+balancer GreedyRefineLB] [particles [cells_per_side [steps [K]]]]

Defaults: 4000 particles, 4 x 4 cells, 60 steps, load balancing every K=10 steps.
+balancer RotateLB moves every cell to the next PE at each load balancing step.
"""
import numpy as np

from tern import Array, Chare, Reducer, charm, when

SEED = 2024
CORNER = 0.8  # the share of particles that start in the lower-left corner


def initial_particles(n, cells):
    """n particles as rows (x, y, vx, vy): most near the lower-left corner, the others
    anywhere; each moves at most a fifth of a cell a step."""
    rng = np.random.default_rng(SEED)
    p = np.empty((n, 4))
    ncorner = int(CORNER * n)
    p[:ncorner, :2] = rng.random((ncorner, 2)) * (0.6 / cells)
    p[ncorner:, :2] = rng.random((n - ncorner, 2))
    p[:, 2:] = (rng.random((n, 2)) * 2.0 - 1.0) * (0.2 / cells)
    return p


def move(p):
    """One step of every particle (rows of p, changed in place): move, and bounce off
    the walls of the unit square."""
    pos, vel = p[:, :2], p[:, 2:]
    pos += vel
    low, high = pos < 0.0, pos > 1.0
    pos[low] = -pos[low]
    pos[high] = 2.0 - pos[high]
    vel[low | high] = -vel[low | high]


def cell_of(p, cells):
    """The (i, j) cell of each particle: i from x, j from y."""
    ij = np.floor(p[:, :2] * cells).astype(np.int64)
    return np.clip(ij, 0, cells - 1)


def sorted_rows(p):
    return p[np.lexsort(p.T[::-1])]


class Cell(Chare):
    def __init__(self, nparticles, cells, steps, lb_period, done):
        self.cells, self.steps, self.lb_period, self.done = cells, steps, lb_period, done
        i, j = self.thisIndex
        self.neighbours = [(i + di, j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)
                           if (di or dj) and 0 <= i + di < cells and 0 <= j + dj < cells]
        p = initial_particles(nparticles, cells)
        ij = cell_of(p, cells)
        self.p = p[(ij[:, 0] == i) & (ij[:, 1] == j)].copy()
        self.step = 0         # steps done
        self.moved = False    # this step's own move is done
        self.inbox = []       # the particles of this cell after this step, so far
        self.received = 0     # neighbours heard from this step
        self.migrations = 0
        self.lb_steps = 0

    def migrated(self):
        self.migrations += 1

    def start(self):
        self.move_particles()

    def move_particles(self):
        p = self.p
        move(p)
        ij = cell_of(p, self.cells)
        i, j = self.thisIndex
        stay = p[(ij[:, 0] == i) & (ij[:, 1] == j)]
        self.inbox.append(stay)  # (neighbours' particles of this step may be there)
        sent = stay.shape[0]
        for ni, nj in self.neighbours:
            out = p[(ij[:, 0] == ni) & (ij[:, 1] == nj)]
            sent += out.shape[0]
            self.thisProxy[ni, nj].receive(self.step, out)
        if sent != p.shape[0]:
            raise RuntimeError("cell %s: a particle moved further than a neighbour cell"
                               % (self.thisIndex,))
        self.moved = True
        self.try_end_step()

    @when("self.step == step")
    def receive(self, step, particles):
        self.inbox.append(particles)
        self.received += 1
        self.try_end_step()

    def try_end_step(self):
        if not self.moved or self.received < len(self.neighbours):
            return
        self.p = np.concatenate(self.inbox)
        self.inbox, self.received, self.moved = [], 0, False
        self.step += 1
        if self.step == self.steps:
            self.finish()
        elif self.step % self.lb_period == 0:
            self.AtSync()  # resumeFromSync goes on
        else:
            self.move_particles()

    def resumeFromSync(self):
        self.lb_steps += 1
        self.move_particles()

    def finish(self):
        count, done = self.p.shape[0], self.done
        self.reduce(done[0], count, Reducer.sum)
        self.reduce(done[1], self.p, Reducer.gather)
        self.reduce(done[2], (charm.myPe(), count, self.migrations, self.lb_steps),
                    Reducer.gather)


def main(args):
    nparticles = int(args[1]) if len(args) > 1 else 4000
    cells = int(args[2]) if len(args) > 2 else 4
    steps = int(args[3]) if len(args) > 3 else 60
    lb_period = int(args[4]) if len(args) > 4 else 10
    npes = charm.numPes()

    t0 = charm.wallTime()
    done = [charm.createFuture() for _ in range(3)]
    grid = Array(Cell, (cells, cells), args=[nparticles, cells, steps, lb_period, done],
                 useAtSync=True)
    grid.start()
    total = done[0].get()
    final = np.concatenate(done[1].get())
    stats = done[2].get()
    t1 = charm.wallTime()

    serial = initial_particles(nparticles, cells)
    for _ in range(steps):
        move(serial)
    t2 = charm.wallTime()

    per_pe = [0] * npes
    for pe, count, _, _ in stats:
        per_pe[pe] += count
    migrations = sum(s[2] for s in stats)
    lb_steps = {s[3] for s in stats}
    conserved = total == nparticles == final.shape[0]
    match = conserved and np.array_equal(sorted_rows(final), sorted_rows(serial))
    print("particle: %d x %d cells on %d PEs, balancer %s: %.3f s (serial %.3f s); "
          "%s load balancing steps, %d migrations; particles per PE at the end %s"
          % (cells, cells, npes, charm.lbStrategy(), t1 - t0, t2 - t1,
             "/".join(map(str, sorted(lb_steps))), migrations, per_pe))
    if match:
        print("particle: %d particles, %d steps: %d particles conserved, positions match "
              "serial, OK" % (nparticles, steps, total), flush=True)
    else:
        print("particle: %d particles, %d steps: %d particles at the end (%s), positions "
              "%s serial, FAILED" % (nparticles, steps, total,
                                     "conserved" if conserved else "NOT conserved",
                                     "match" if match else "do NOT match"), flush=True)
    charm.exit(0 if match else 1)


if __name__ == "__main__":
    charm.start(main)
