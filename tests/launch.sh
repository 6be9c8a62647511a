#!/usr/bin/env bash
# Start a program as an NP-PE job with a cluster launcher, as a user would, bounded in time.
#   launch.sh mpirun NP PROGRAM [ARGS...]
#   launch.sh srun SLURM_DIR NP PROGRAM [ARGS...]   (a cluster started by slurm/start.sh)
#   launch.sh srun_pmi2 SLURM_DIR NP PROGRAM [ARGS...]   (the same with --mpi=pmi2)
#   launch.sh hydra NP PROGRAM [ARGS...]            (MPICH's mpiexec.hydra, PMI-1)
# The environment (TERN_* settings) reaches the processes: every launcher passes it on.
set -euo pipefail
launcher=$1; shift
case "$launcher" in
  mpirun)
    np=$1; shift
    opts=(--oversubscribe)
    [ "$(id -u)" -ne 0 ] || opts+=(--allow-run-as-root)
    # Let mpirun bind while every rank has a core; more ranks than cores: nobody binds.
    [ "$np" -le "$(nproc)" ] || opts+=(--bind-to none)
    exec timeout -k 5 90 mpirun "${opts[@]}" -np "$np" "$@" ;;
  srun|srun_pmi2)
    dir=$1 np=$2; shift 2
    mpi=pmix
    [ "$launcher" = srun ] || mpi=pmi2
    [ -f "$dir/env" ] || { echo "launch.sh: no Slurm cluster in $dir (slurm/start.sh)" >&2; exit 2; }
    # shellcheck disable=SC1091
    source "$dir/env"
    # -O: more tasks than the node's CPUs are fine here, as with ternrun.
    exec timeout -k 5 90 srun --mpi="$mpi" -n "$np" -O --time=2 "$@" ;;
  hydra)
    np=$1; shift
    # Hydra reports a failed process on stdout: bring it to stderr, with the launchers'.
    exec timeout -k 5 90 mpiexec.hydra -n "$np" "$@" 1>&2 ;;
  *) echo "launch.sh: unknown launcher $launcher (mpirun, srun, srun_pmi2 or hydra)" >&2; exit 2 ;;
esac
