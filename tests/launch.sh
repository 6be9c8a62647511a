#!/usr/bin/env bash
# Start a program as an NP-PE job with a cluster launcher, as a user would, bounded in time.
#   launch.sh mpirun NP PROGRAM [ARGS...]
#   launch.sh srun SLURM_DIR NP PROGRAM [ARGS...]   (a cluster started by slurm/start.sh)
# The environment (TERN_* settings) reaches the processes: both launchers pass it on.
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
  srun)
    dir=$1 np=$2; shift 2
    [ -f "$dir/env" ] || { echo "launch.sh: no Slurm cluster in $dir (slurm/start.sh)" >&2; exit 2; }
    # shellcheck disable=SC1091
    source "$dir/env"
    # -O: more tasks than the node's CPUs are fine here, as with ternrun.
    exec timeout -k 5 90 srun --mpi=pmix -n "$np" -O --time=2 "$@" ;;
  *) echo "launch.sh: unknown launcher $launcher (mpirun or srun)" >&2; exit 2 ;;
esac
