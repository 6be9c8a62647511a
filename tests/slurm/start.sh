#!/usr/bin/env bash
# Start a private single-host Slurm cluster (munged + slurmctld + slurmd) whose
# every file lives in DIR, for tests that run `srun --mpi=pmix`.
#
#   usage: tests/slurm/start.sh [DIR]     (default DIR: /tmp/tern-slurm-$(id -u))
#
# Installs slurm-wlm and munge when missing, unless TERN_SLURM_INSTALL=0.
# Prints progress on stderr and, as the last (and only) stdout line,
#   export SLURM_CONF=DIR/slurm.conf
# which is also written to DIR/env, so callers can `eval "$(start.sh)"` or
# `source DIR/env`. Idempotent: a cluster already up from the same DIR is reused.
# Stop it with tests/slurm/stop.sh [DIR].
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/common.sh
. "$here/common.sh"

DIR=$(ts_resolve_dir "${1:-}")
ts_lock "$DIR"
CONF=$DIR/slurm.conf
EXPORT_LINE="export SLURM_CONF=$CONF"
WAIT_IDLE_S=30  # bound on the wait for the node to become idle

# --- packages -----------------------------------------------------------------
# Debian packages only; libpmix2 is listed so the check also guards the PMIx
# library the mpi/pmix plugin needs (we never remove anything).
ensure_packages() {
  local p need=() sudo=()
  for p in slurm-wlm munge libpmix2; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      need+=("$p")
  done
  ((${#need[@]})) || return 0
  # From a test fixture (TERN_SLURM_INSTALL=0): say what is missing, never run apt
  # under a test's timeout, where a kill could land in the middle of dpkg.
  [[ ${TERN_SLURM_INSTALL:-1} != 0 ]] ||
    fail packages "" "missing ${need[*]} (run tools/setup-debian.sh)"
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  ts_log "installing ${need[*]}"
  # apt output goes to stderr: stdout carries only the export line.
  timeout 600 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  timeout 900 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
}

# --- helpers --------------------------------------------------------------------
now_ms() { printf '%s\n' "$(( ${EPOCHREALTIME/./} / 1000 ))"; }

# Node state as sinfo reports it; empty when slurmctld does not answer. The
# timeout matters: a client may retry a dead controller for a long time.
node_state() {
  SLURM_CONF=$CONF timeout 3 sinfo -h -N -o %t 2>/dev/null | head -n 1 || true
}

port_busy() { # PORT
  if command -v ss >/dev/null 2>&1; then
    [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
  else  # no iproute2: read the kernel's table (state 0A = LISTEN)
    local hex
    printf -v hex '%04X' "$1"
    awk -v h=":$hex" '$2 ~ h"$" && $4 == "0A" { f = 1 } END { exit !f }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null
  fi
}

# A port pair derived from DIR (different DIRs, e.g. parallel test runs, get
# different pairs), below the usual ephemeral range; the next pair if busy.
pick_ports() {
  local h k slot p
  h=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
  for ((k = 0; k < 40; k++)); do
    slot=$(( (h + k * 37) % 1000 ))
    p=$((26000 + 2 * slot))
    if ! port_busy "$p" && ! port_busy $((p + 1)); then
      CTLD_PORT=$p SLURMD_PORT=$((p + 1))
      return 0
    fi
  done
  ts_log "no free port pair found in 26000-27999"
  return 1
}

# Up = all three daemons of DIR alive and the node answering as
# usable (idle, or busy with jobs: restarting would kill someone's running job).
cluster_up() {
  [[ -f $CONF ]] || return 1
  local part
  for part in munged slurmctld slurmd; do
    [[ -n $(ts_pids "$DIR" "$part") ]] || return 1
  done
  case $(node_state) in idle | mix | alloc | comp) return 0 ;; *) return 1 ;; esac
}

# On failure: say which daemon, show its log tail, stop what we started, exit 1.
fail() { # WHAT LOGFILE MESSAGE
  ts_log "FAILED: $1: $3"
  if [[ -n $2 && -s $2 ]]; then
    ts_log "last lines of $2:"
    tail -n 25 "$2" | sed 's/^/    /' >&2
  fi
  if [[ -s $DIR/supervisor.log ]]; then
    ts_log "last lines of $DIR/supervisor.log (daemons' stderr):"
    tail -n 10 "$DIR/supervisor.log" | sed 's/^/    /' >&2
  fi
  exit 1
}
started=0
on_exit() {
  local rc=$?
  if ((rc != 0 && started)); then
    ts_log "stopping what was started (files kept in $DIR for inspection)"
    ts_stop_all "$DIR" || true
  fi
}
trap on_exit EXIT

# --- main ---------------------------------------------------------------------
ensure_packages
for c in munged munge unmunge slurmctld slurmd sinfo srun; do
  command -v "$c" >/dev/null 2>&1 || fail packages "" "command '$c' not found after install"
done

if cluster_up; then
  ts_log "cluster in $DIR already up"
  printf '%s\n' "$EXPORT_LINE"
  exit 0
fi

# Never take over (and later wipe) a folder start.sh did not make.
ts_dir_is_ours "$DIR" ||
  fail setup "" "$DIR exists, is not empty and was not made by start.sh ($TS_MARKER missing)"
# Anything left from an earlier run (dead daemons, stale pids, half-started
# cluster) is stopped and wiped: a clean start is cheaper than repairing.
if [[ -e $DIR ]]; then
  ts_log "cleaning stale state in $DIR"
  ts_stop_all "$DIR" || true
  ts_remove_dir "$DIR" || fail setup "" "cannot reuse $DIR"
fi

t0=$(now_ms)
started=1
host=$(hostname -s)
# 0755: munged wants its socket folder searchable by all (the key stays 0400).
mkdir -p "$DIR"
chmod 0755 "$DIR"
touch "$DIR/$TS_MARKER"
# spool/<node> must exist before slurmd starts; tmp holds job-step scratch files.
mkdir -p "$DIR/state" "$DIR/spool/$TS_NODE" "$DIR/tmp"

# munge: own key (1024 random bytes), socket, pid, log and seed, so any system
# munge is untouched.
head -c 1024 /dev/urandom >"$DIR/munge.key"
chmod 0400 "$DIR/munge.key"

pick_ports
cat >"$CONF" <<EOF
# Private single-host cluster written by tests/slurm/start.sh; all paths in $DIR.
ClusterName=tern$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd.log
TmpFS=$DIR/tmp
# no cgroups here: track tasks by parentage, no task binding
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
# lets the node claim more CPUs than the machine has, so 4- and 8-task jobs fit
SlurmdParameters=config_overrides
# a task that dies (signal or non-zero exit) ends the whole step
KillOnBadExit=1
# short grace between SIGTERM and SIGKILL when a step is ended
KillWait=2
MailProg=/bin/true
NodeName=$TS_NODE NodeAddr=127.0.0.1 NodeHostname=$host CPUs=8 State=UNKNOWN
PartitionName=tern Nodes=$TS_NODE Default=YES MaxTime=INFINITE State=UP
EOF

# The daemons run in the foreground under one small supervisor shell instead of
# daemonising: pid 1 of this sandbox reaps orphans only every few seconds, so
# daemonised processes linger as <defunct> munged/slurmd/... entries after a
# stop; the supervisor reaps its own children at once.
# It is detached (setsid, stdio to a file) so callers' pipes are not held open,
# and does not inherit the lock on DIR.lock (fd 9).
# SLURM_CONF is in the daemons' environment (slurmstepd inherits it; stop.sh
# finds steps by it) and DIR paths are on their command lines (stop.sh finds
# daemons by them even without pid files).
# munged needs --force as root; slurmctld -c -i: clean start.
force=()
[[ $(id -u) == 0 ]] && force=(--force)
export SLURM_CONF=$CONF
# slurmd starts only once slurmctld listens, and sinfo is asked only then:
# both otherwise hit a refused connection and retry a full second later.
# shellcheck disable=SC2016  # expanded by the supervisor shell
sup_body='
  dir=$1 node=$2 port=$3; shift 3
  munged --foreground "$@" --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
    --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
    --seed-file="$dir/munged.seed" 2>>"$dir/munged.log" &
  for ((i = 0; i < 250; i++)); do [[ -S $dir/munge.socket ]] && break; sleep 0.02; done
  if [[ -S $dir/munge.socket ]]; then
    slurmctld -D -c -i -f "$SLURM_CONF" &
    for ((i = 0; i < 250; i++)); do port_busy "$port" && break; sleep 0.02; done
    slurmd -D -f "$SLURM_CONF" -N "$node" &
  fi
  wait
'
setsid bash -c "$(declare -f port_busy)$sup_body" \
  "$TS_SUPERVISOR" "$DIR" "$TS_NODE" "$CTLD_PORT" "${force[@]}" \
  </dev/null >>"$DIR/supervisor.log" 2>&1 9>&- &

# munge is ready when a credential round-trips through our socket.
ok=0
for ((i = 0; i < 250; i++)); do
  if timeout 2 munge -S "$DIR/munge.socket" -n 2>/dev/null |
     timeout 2 unmunge -S "$DIR/munge.socket" >/dev/null 2>&1; then
    ok=1; break
  fi
  sleep 0.02
done
((ok)) || fail munged "$DIR/munged.log" "no working munge socket at $DIR/munge.socket"

# Wait for idle. A daemon that died will not come back: fail fast, naming it.
# The supervisor starts slurmctld once munge is up and slurmd once slurmctld
# listens, so each gets a 1 s grace from that point to show up.
t_munge=$(now_ms) t_port=
deadline=$((t_munge + WAIT_IDLE_S * 1000))
while :; do
  state=
  if port_busy "$CTLD_PORT"; then
    t_port=${t_port:-$(now_ms)}
    state=$(node_state)
    [[ $state == idle ]] && break
  fi
  t=$(now_ms)
  if ((t > t_munge + 1000)) && [[ -z $(ts_pids "$DIR" slurmctld) ]]; then
    fail slurmctld "$DIR/slurmctld.log" "slurmctld is not running"
  fi
  if [[ -n $t_port ]] && ((t > t_port + 1000)) && [[ -z $(ts_pids "$DIR" slurmd) ]]; then
    fail slurmd "$DIR/slurmd.log" "slurmd is not running"
  fi
  if ((t > deadline)); then
    fail "slurmd/slurmctld" "$DIR/slurmd.log" \
      "node not idle after ${WAIT_IDLE_S}s (state: '${state:-no answer}'); see also $DIR/slurmctld.log"
  fi
  sleep 0.1
done

started=0  # success: leave the cluster running
printf '%s\n' "$EXPORT_LINE" >"$DIR/env"
ts_log "cluster up in $(( $(now_ms) - t0 )) ms (DIR=$DIR, ports $CTLD_PORT/$SLURMD_PORT)"
printf '%s\n' "$EXPORT_LINE"
