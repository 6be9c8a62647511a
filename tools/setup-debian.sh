#!/usr/bin/env bash
# Install what building and testing Tern needs on Debian, if it is missing.
# Required: a C compiler, CMake, pkg-config, bc (test scripts), python3 (benchmark driver).
# Optional, detected by the build: UCX, libfabric, PMIx, hwloc (later transports and
# topology), Google Benchmark and Open MPI (benchmarks and their baselines), ucx-utils and
# libfabric-bin (ucx_perftest, fi_pingpong: baselines of perf/transports.py), Slurm and
# munge (the srun launch tests start a private one-host cluster: tests/slurm/start.sh;
# with iproute2, the multi-host tests one over three emulated hosts: tests/multihost);
# matplotlib for tools/ternprof (pictures of a run); python3-dev, greenlet, pytest and
# numpy for the Python package (python/) and its tests; pip and setuptools to build it
# against an installed libtern (pip install --no-build-isolation ./python); cloudpickle for
# lambdas and closures given to the pools; dpkg-dev and file for the Debian packages
# (cpack's dpkg-shlibdeps), time (GNU time: perf/startup.py's resident sets); libpmi2-0-dev
# (Slurm's PMI-2 library: the srun --mpi=pmi2 bootstrap) and mpich (its Hydra mpiexec,
# installed as mpiexec.hydra beside Open MPI's mpirun, which stays the default: the PMI-1
# launch tests).
set -euo pipefail
pkgs=(build-essential cmake pkg-config bc python3 dpkg-dev file time
      libucx-dev libfabric-dev libpmix-dev libhwloc-dev libbenchmark-dev
      openmpi-bin libopenmpi-dev slurm-wlm munge libpmix2 ucx-utils libfabric-bin iproute2
      libpmi2-0-dev mpich
      python3-matplotlib python3-dev python3-greenlet python3-pytest python3-numpy
      python3-pip python3-setuptools python3-cloudpickle)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

# apt-get, waiting (up to 10 minutes) while another apt or dpkg holds its locks - an
# unattended upgrade on a fresh machine, say - instead of failing at once.
apt_get() {
  local waited=0 out
  while :; do
    if out=$($sudo apt-get -o DPkg::Lock::Timeout=60 "$@" 2>&1); then
      printf '%s
' "$out" | tail -n 3
      return 0
    fi
    if grep -qE "Could not get lock|Unable to lock|is held by process" <<<"$out" &&
       [ $waited -lt 600 ]; then
      echo "setup: another package manager holds apt's lock; waiting (${waited}s so far)" >&2
      sleep 10
      waited=$((waited + 10))
      continue
    fi
    printf '%s
' "$out" >&2
    return 1
  done
}
apt_get update -q
apt_get install -y -q --no-install-recommends "${missing[@]}"
