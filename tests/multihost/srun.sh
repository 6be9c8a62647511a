#!/usr/bin/env bash
# Run a program as an NP-task job spread over NNODES emulated hosts of the
# cluster started by tests/multihost/start.sh, bounded in time:
#
#   usage: tests/multihost/srun.sh DIR NNODES NP PROG [ARGS...]
#
# Runs `timeout -k 5 120 srun -N NNODES -n NP --mpi=pmix -O --distribution=block
# --time=2 PROG ARGS` in the root namespace, where the caller is: srun reaches
# slurmctld (10.77.0.1, the bridge) and every slurmd over the bridge, the hosts'
# slurmstepds connect back to it there for I/O, and the PMIx wire-up runs
# between the slurmstepds, host to host. (srun works from inside a host too,
# see on.sh, but gains nothing: the caller's working folder may not exist there.)
# TERN_MH_MPI=pmi2 starts the job with --mpi=pmi2 instead, TERN_MH_DIST=cyclic with
# --distribution=cyclic (ranks dealt to the hosts in turn: 0 3 | 1 4 | 2 5 for -N 3 -n 6).
# -O matters for the layout: without it, select/cons_tres fills the first node's
# CPUs first (-N 3 -n 6 gives 4+1+1); with it the tasks spread evenly, and
# block distribution puts consecutive ranks together (2 per host for -N 3 -n 6,
# 3+2 for -N 2 -n 5).
# srun's default --export=ALL passes the caller's environment (TERN_*, UCX_*,
# FI_* ...) to every task. The working folder and PROG must be visible on the
# hosts: use the trees given to start.sh with --share.
#
# Afterwards, anything the job left in a host's private /dev/shm (which the
# caller cannot see) is named on stderr as
#   srun.sh: left in /dev/shm on tnI: NAME...
# and removed, so the next job starts clean (tests forbid that line).
# Exits with srun's status (124 or 137 when the 120 s bound ends it).
set -euo pipefail

(($# >= 4)) || { echo "usage: srun.sh DIR NNODES NP PROG [ARGS...]" >&2; exit 2; }
dir=$1 nnodes=$2 np=$3
shift 3
[[ -f $dir/env ]] || { echo "srun.sh: no emulated cluster in $dir (tests/multihost/start.sh)" >&2; exit 2; }
# shellcheck disable=SC1091
source "$dir/env"
# Started from inside another Slurm job (CI under Slurm), srun would run in that
# job's allocation: make it ask this cluster for a new one.
unset SLURM_JOB_ID SLURM_JOBID SLURM_STEP_ID SLURM_STEPID
# The emulated hosts share this machine's CPUs: binding each host's first PE to "its"
# core 0 would put them all on one core. Tern binds nothing unless asked.
export TERN_BIND=${TERN_BIND:-none}
code=0
timeout -k 5 120 srun -N "$nnodes" -n "$np" --mpi="${TERN_MH_MPI:-pmix}" -O --distribution="${TERN_MH_DIST:-block}" \
  --time=2 "$@" || code=$?

# shellcheck disable=SC2153  # from DIR/env
read -r -a hosts <<<"$MULTIHOST_HOSTS"
read -r -a pids <<<"$MULTIHOST_PIDS"
for i in "${!hosts[@]}"; do
  # shellcheck disable=SC2016
  left=$(timeout 5 nsenter -t "${pids[i]}" --mount -- \
           sh -c 'cd /dev/shm && ls -A && find . -mindepth 1 -delete' 2>/dev/null || true)
  [[ -z $left ]] || echo "srun.sh: left in /dev/shm on ${hosts[i]}: ${left//$'\n'/ }" >&2
done
exit $code
