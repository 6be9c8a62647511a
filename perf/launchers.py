#!/usr/bin/env python3
"""Start-up of a job under each launcher Tern runs under: a whole `hello` job of PES PEs
(examples/hello: start-up, 20 greetings, exit), and the same launcher starting /bin/true
as the baseline (what the launcher itself costs; for ternrun, which starts only Tern
programs, bash starting as many /bin/true at once), so that the difference is Tern's own
start-up and exit through that launcher's bootstrap.

    python3 perf/launchers.py [--build build] [--pes 4] [--runs 20] [--slurm-dir DIR]

Launchers, each used when installed: ternrun (its own bootstrap), mpirun (Open MPI, PMIx),
srun --mpi=pmix (PMIx), srun --mpi=pmi2 (PMI-2; once more with TERN_BOOT=pmi1, the PMI-1
that Slurm's pmi2 plugin also speaks), mpiexec.hydra (MPICH's Hydra, PMI-1 over PMI_FD)
and mpiexec.hydra -pmi-port (PMI-1 over TCP). srun runs on the private one-host cluster of
tests/slurm/start.sh (started in --slurm-dir, default /tmp/tern-perf-slurm, and stopped
again unless it was already up). One round runs every case once, in order; the rounds
repeat, so all cases share the machine's state. Prints medians (ms) and Tern's part."""
import argparse
import os
import shutil
import statistics
import subprocess
import sys

from proc import run_program

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)


def run_once(cmd, env):
    """Wall time of the command (a failure ends the driver, saying so)."""
    return run_program(cmd, env, 60)[1]


def check_boot(cmd, env, want):
    """The job really starts through the bootstrap named: its start-up line says so."""
    p = subprocess.run(cmd, env=dict(env, TERN_VERBOSE="1"), stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    if p.returncode != 0 or ("bootstrap %s;" % want) not in p.stderr:
        sys.exit("perf/launchers.py: %s did not start through %s:\n%s" %
                 (" ".join(cmd), want, p.stderr[-2000:]))


def slurm_up(dir_):
    """Start (or reuse) the private cluster; returns (SLURM_CONF, started here)."""
    started = not os.path.exists(os.path.join(dir_, "env"))
    out = subprocess.run(["bash", os.path.join(SRC, "tests/slurm/start.sh"), dir_],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0:
        print("perf/launchers.py: no Slurm cluster (%s): srun left out" %
              out.stderr.strip().splitlines()[-1:], file=sys.stderr)
        return None, False
    return os.path.join(dir_, "slurm.conf"), started


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(SRC, "build"))
    ap.add_argument("--pes", type=int, default=4)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--slurm-dir", default="/tmp/tern-perf-slurm")
    opts = ap.parse_args()
    build = os.path.abspath(opts.build)
    hello = os.path.join(build, "examples", "hello")
    ternrun = os.path.join(build, "tools", "ternrun")
    for f in (hello, ternrun):
        if not os.access(f, os.X_OK):
            sys.exit("perf/launchers.py: %s is missing: build first" % f)
    n = str(opts.pes)
    env = dict(os.environ)
    for k in ("TERN_VERBOSE", "TERN_BOOT"):
        env.pop(k, None)

    # ternrun starts only Tern programs (a process that never says hello fails the job):
    # its baseline is the shell starting the same number of /bin/true at once.
    cases = [("ternrun", [ternrun, "-n", n], env, "ternrun")]
    if shutil.which("mpirun"):
        mpirun = ["mpirun", "--oversubscribe", "-np", n]
        if os.getuid() == 0:
            mpirun.insert(1, "--allow-run-as-root")
        cases.append(("mpirun (PMIx)", mpirun, env, "pmix"))
    conf = started = None
    if shutil.which("srun"):
        conf, started = slurm_up(opts.slurm_dir)
    if conf:
        senv = dict(env, SLURM_CONF=conf)
        for k in ("SLURM_JOB_ID", "SLURM_JOBID", "SLURM_STEP_ID", "SLURM_STEPID"):
            senv.pop(k, None)
        srun = ["srun", "-O", "--time=2", "-n", n]
        cases.append(("srun --mpi=pmix", srun + ["--mpi=pmix"], senv, "pmix"))
        cases.append(("srun --mpi=pmi2", srun + ["--mpi=pmi2"], senv, None))
        cases.append(("srun --mpi=pmi2, TERN_BOOT=pmi1", srun + ["--mpi=pmi2"],
                      dict(senv, TERN_BOOT="pmi1"), "pmi1"))
    if shutil.which("mpiexec.hydra"):
        cases.append(("mpiexec.hydra (PMI-1)", ["mpiexec.hydra", "-n", n], env, "pmi1"))
        cases.append(("mpiexec.hydra -pmi-port", ["mpiexec.hydra", "-pmi-port", "-n", n], env,
                      "pmi1"))
    try:
        usable = []
        for name, cmd, cenv, boot in cases:
            # srun --mpi=pmi2 starts through pmi2, or through pmi1 in a build without
            # libpmi2: say which.
            if boot is None:
                p = subprocess.run(cmd + [hello], env=dict(cenv, TERN_VERBOSE="1"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True, timeout=60)
                boot = "pmi2" if "bootstrap pmi2;" in p.stderr else "pmi1"
            check_boot(cmd + [hello], cenv, boot)
            usable.append((name, cmd, cenv, boot))
        times = {name: ([], []) for name, _, _, _ in usable}
        for _ in range(opts.runs):
            for name, cmd, cenv, _ in usable:
                times[name][0].append(run_once(cmd + [hello], cenv))
                true = (["bash", "-c", "for i in $(seq %s); do /bin/true & done; wait" % n]
                        if name == "ternrun" else cmd + ["/bin/true"])
                times[name][1].append(run_once(true, cenv))
    finally:
        if started:
            subprocess.run(["bash", os.path.join(SRC, "tests/slurm/stop.sh"), opts.slurm_dir],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    print("Start-up and exit of a %d-PE hello job, medians of %d runs (ms)" %
          (opts.pes, opts.runs))
    print("%-34s %-8s %9s %12s %10s %7s" %
          ("launcher", "boot", "hello", "/bin/true", "Tern's", "ratio"))
    for name, _, _, boot in usable:
        h = statistics.median(times[name][0]) * 1e3
        t = statistics.median(times[name][1]) * 1e3
        print("%-34s %-8s %9.1f %12.1f %10.1f %7.2f" % (name, boot, h, t, h - t, h / t))
    print("(hello: the whole job; /bin/true: the launcher alone starting %d processes; "
          "Tern's: the difference; ratio: hello / true)" % opts.pes)


if __name__ == "__main__":
    main()
