#!/usr/bin/env bash
# Start N emulated hosts on this machine and one Slurm cluster spanning them, so
# that `srun -N 3 -n 6 --mpi=pmix ./prog` puts 2 processes on each "host".
#
#   usage: tests/multihost/start.sh DIR [--hosts N] [--share PATH]...
#
#   DIR         state folder (slurm.conf, munge key and socket, controller
#               state, and per host DIR/tnI/: spool, slurmd log and pid, holder
#               pid, namespace ids). Keep it short: munge's socket lives in it.
#   --hosts N   number of hosts, tn1..tnN (default 3, at most 50)
#   --share P   a folder that every host must see at the same path, read-write,
#               although /tmp and /dev/shm are private on each host (give the
#               source and build trees: CI may clone under /tmp). Repeatable.
#               DIR is always shared.
#
# Each host is a `sleep infinity` holder with its own UTS, IPC, mount and network
# namespaces (hostinit.sh): its own hostname tnI, own tmpfs /tmp and /dev/shm,
# own System V IPC, address 10.77.0.(10+I)/24 on a veth joined to the bridge
# ternmh0 (10.77.0.1) in the root namespace. munged and slurmctld run in the root
# namespace, one slurmd per host inside it (supervise.sh is their parent).
#
# Needs root, slurm-wlm, munge, iproute2 and util-linux; installs slurm-wlm and
# munge when missing unless TERN_SLURM_INSTALL=0. Prints progress on stderr and,
# as the only stdout line, `export SLURM_CONF=DIR/slurm.conf`; DIR/env holds that
# line and shell variables (not exported) MULTIHOST_DIR, MULTIHOST_HOSTS,
# MULTIHOST_ADDRS, MULTIHOST_PIDS (holder pids, for nsenter -t) and the ports.
# Idempotent: with the cluster of DIR already up it only prints the line. One
# start/stop at a time per DIR (flock on DIR.lock). Waits are bounded (nodes
# idle within 30 s). On failure: names what failed on stderr, with log tails,
# stops and deletes everything it made, exits 1. Stop with stop.sh DIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/multihost/common.sh
. "$here/common.sh"

usage() { mh_log "usage: start.sh DIR [--hosts N] [--share PATH]..."; exit 2; }
(($#)) || usage
[[ $1 != -* ]] || usage
DIR=$(ts_resolve_dir "$1")
shift
NHOSTS=3
SHARES=()
while (($#)); do
  case $1 in
    --hosts) (($# >= 2)) || usage; NHOSTS=$2; shift 2 ;;
    --share) (($# >= 2)) || usage; SHARES+=("$2"); shift 2 ;;
    *) usage ;;
  esac
done
if ! [[ $NHOSTS =~ ^[0-9]+$ ]] || ((NHOSTS < 1 || NHOSTS > MH_MAX_HOSTS)); then
  mh_log "--hosts must be 1..$MH_MAX_HOSTS, not '$NHOSTS'"; exit 2
fi
[[ $(id -u) == 0 ]] || { mh_log "needs root (namespaces, veth, bridge)"; exit 1; }
# munge's socket path must fit a sockaddr_un (108 bytes).
((${#DIR} <= 80)) || { mh_log "DIR too long (${#DIR} > 80 characters): $DIR"; exit 2; }
case $DIR in /tmp | /dev/shm | /dev/shm/*) mh_log "DIR cannot be $DIR (private on each host)"; exit 2 ;; esac

shares=("$DIR")
for s in "${SHARES[@]+"${SHARES[@]}"}"; do
  if ! r=$(realpath -e -- "$s" 2>/dev/null) || [[ ! -d $r ]]; then
    mh_log "--share $s: no such folder"; exit 2
  fi
  case $r in
    / | /tmp | /dev/shm | /proc | /proc/* | /sys | /sys/*)
      mh_log "--share $s: cannot share $r"; exit 2 ;;
  esac
  shares+=("$r")
done

ts_lock "$DIR"
CONF=$DIR/slurm.conf
EXPORT_LINE="export SLURM_CONF=$CONF"
WAIT_S=30        # bound on the whole bring-up, until every node is idle
HOSTS=()
for ((i = 1; i <= NHOSTS; i++)); do HOSTS+=("$MH_HOST_PREFIX$i"); done
CONFIG=$(printf 'hosts=%s\n' "$NHOSTS"; printf 'share=%s\n' "${shares[@]}")

# --- packages -------------------------------------------------------------------
ensure_packages() {
  local p need=()
  for p in slurm-wlm munge libpmix2 iproute2 util-linux; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
      need+=("$p")
  done
  ((${#need[@]})) || return 0
  # From a test fixture (TERN_SLURM_INSTALL=0): say what is missing, never run apt
  # under a test's timeout, where a kill could land in the middle of dpkg.
  [[ ${TERN_SLURM_INSTALL:-1} != 0 ]] ||
    fail packages "" "missing ${need[*]} (run tools/setup-debian.sh)"
  mh_log "installing ${need[*]}"
  timeout 600 env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
  timeout 900 env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${need[@]}" >&2
}

# --- helpers ------------------------------------------------------------------------
# Node states, one "node state" line each; empty when slurmctld does not answer.
node_states() {
  SLURM_CONF=$CONF timeout 3 sinfo -h -N -o '%N %t' 2>/dev/null || true
}

# True when every host's node is usable (idle, or busy with jobs: restarting would
# kill someone's running job).
all_nodes_up() {
  local states n=0 st
  states=$(node_states)
  while read -r _ st; do
    case $st in idle | mix | alloc | comp) n=$((n + 1)) ;; *) return 1 ;; esac
  done <<<"$states"
  ((n == NHOSTS))
}

# A port pair derived from DIR, in 28000-29999 (tests/slurm/ uses 26000-27999):
# slurmctld's in the root namespace, slurmd's inside each host (always free there).
pick_ports() {
  local h k slot p
  h=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
  for ((k = 0; k < 40; k++)); do
    slot=$(( (h + k * 37) % 1000 ))
    p=$((28000 + 2 * slot))
    if ! mh_port_busy "$p" && ! mh_port_busy $((p + 1)); then
      CTLD_PORT=$p SLURMD_PORT=$((p + 1))
      return 0
    fi
  done
  fail ports "" "no free port pair found in 28000-29999"
}

cluster_up() {
  local h part
  [[ -f $CONF && -f $DIR/env ]] || return 1
  # Same hosts and shares as asked for now (else: restart with the new ones).
  [[ $(cat "$DIR/config" 2>/dev/null) == "$CONFIG" ]] || return 1
  for h in "${HOSTS[@]}"; do mh_holder_pid "$DIR" "$h" >/dev/null || return 1; done
  [[ $(cat "/sys/class/net/$MH_BRIDGE/ifalias" 2>/dev/null) == "$(mh_alias "$DIR")" ]] || return 1
  for part in munged slurmctld; do
    [[ -n $(ts_pids "$DIR" "$part") ]] || return 1
  done
  [[ $(ts_pids "$DIR" slurmd | wc -l) == "$NHOSTS" ]] || return 1
  all_nodes_up
}

# On failure: say what failed, show the log tail, stop and delete all we made.
fail() { # WHAT LOGFILE MESSAGE
  mh_log "FAILED: $1: $3"
  if [[ -n $2 && -s $2 ]]; then
    mh_log "last lines of $2:"
    tail -n 25 "$2" | sed 's/^/    /' >&2
  fi
  if [[ -s $DIR/supervisor.log ]]; then
    mh_log "last lines of $DIR/supervisor.log (daemons' and hosts' stderr):"
    tail -n 10 "$DIR/supervisor.log" | sed 's/^/    /' >&2
  fi
  exit 1
}
started=0
on_exit() {
  local rc=$?
  if ((rc != 0 && started)); then
    mh_log "stopping and deleting what was started"
    mh_stop_all "$DIR" || true
    ts_remove_dir "$DIR" || true
  fi
  # Nothing left of DIR (failed, or refused before making it): no lock file either.
  ((rc == 0)) || [[ -e $DIR ]] || rm -f "$DIR.lock"
}
trap on_exit EXIT
# A command that fails outside the checks above still says what it was.
trap 'mh_log "FAILED: line $LINENO: $BASH_COMMAND"' ERR

# --- main ---------------------------------------------------------------------------
ensure_packages
for c in munged munge unmunge slurmctld slurmd sinfo srun ip ss unshare nsenter; do
  command -v "$c" >/dev/null 2>&1 || fail packages "" "command '$c' not found"
done

if cluster_up; then
  mh_log "cluster in $DIR already up"
  printf '%s\n' "$EXPORT_LINE"
  exit 0
fi

ts_dir_is_ours "$DIR" ||
  fail setup "" "$DIR exists, is not empty and was not made by start.sh ($TS_MARKER missing)"
# Leftovers of an earlier run (stale, half started) are stopped and wiped.
if [[ -e $DIR || -n $(mh_links "$DIR") || -n $(mh_holders "$DIR") ]]; then
  mh_log "stopping what runs from $DIR (stale, half started, or other --hosts/--share)"
  mh_stop_all "$DIR" || true
  ts_remove_dir "$DIR" || fail setup "" "cannot reuse $DIR"
fi

# The bridge and the subnet are one per machine: refuse clearly when in use.
if [[ -e /sys/class/net/$MH_BRIDGE ]]; then
  owner=$(cat "/sys/class/net/$MH_BRIDGE/ifalias" 2>/dev/null || true)
  if [[ $owner == "tern-multihost "* ]]; then
    fail network "" "bridge $MH_BRIDGE is used by the cluster in ${owner#tern-multihost } (stop it: tests/multihost/stop.sh ${owner#tern-multihost })"
  fi
  fail network "" "a link named $MH_BRIDGE exists and is not ours (ifalias '$owner')"
fi
if [[ -n $(ip -4 -o addr show to "$MH_NET.0/24") || -n $(ip -4 route show root "$MH_NET.0/24") ]]; then
  fail network "" "$MH_NET.0/24 is already in use on this machine: $(ip -4 -o addr show to "$MH_NET.0/24" | awk '{print $2, $4}') $(ip -4 route show root "$MH_NET.0/24")"
fi

t0=$(mh_now_ms)
deadline=$((t0 + WAIT_S * 1000))
started=1
# 0755: munged wants its socket folder searchable by all (the key stays 0400).
mkdir -p "$DIR/state"
chmod 0755 "$DIR"
touch "$DIR/$TS_MARKER"
printf '%s\n' "$CONFIG" >"$DIR/config"
for h in "${HOSTS[@]}"; do mkdir -p "$DIR/$h/spool"; done
head -c 1024 /dev/urandom >"$DIR/munge.key"
chmod 0400 "$DIR/munge.key"
ctl=$(hostname -s)
{
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
  printf '%s\t%s\n' "$MH_GW" "$ctl"
  for h in "${HOSTS[@]}"; do printf '%s\t%s\n' "$(mh_host_addr "$h")" "$h"; done
} >"$DIR/hosts"

pick_ports
nodes=()
for h in "${HOSTS[@]}"; do
  nodes+=("NodeName=$h NodeAddr=$(mh_host_addr "$h") NodeHostname=$h CPUs=8 State=UNKNOWN")
done
cat >"$CONF" <<EOF
# Emulated multi-host cluster written by tests/multihost/start.sh; all paths in $DIR.
ClusterName=ternmh$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
SlurmctldHost=$ctl($MH_GW)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
AuthInfo=socket=$DIR/munge.socket
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmctldLogFile=$DIR/slurmctld.log
# per host, in DIR/<node>/ (every host sees DIR)
SlurmdSpoolDir=$DIR/%n/spool
SlurmdPidFile=$DIR/%n/slurmd.pid
SlurmdLogFile=$DIR/%n/slurmd.log
# each host's own /tmp (job-step scratch, PMIx's spmix_appdir_*)
TmpFS=/tmp
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
# lets a node claim more CPUs than the machine has, so several tasks fit per host
SlurmdParameters=config_overrides
# a task that dies (signal or non-zero exit) ends the whole step
KillOnBadExit=1
KillWait=2
MailProg=/bin/true
$(printf '%s\n' "${nodes[@]}")
PartitionName=tern Nodes=${MH_HOST_PREFIX}[1-$NHOSTS] Default=YES MaxTime=INFINITE State=UP
EOF

# Detached (setsid, stdio to a file: callers' pipes are not held open), without
# the lock on DIR.lock (fd 9). Made a child subreaper first (prctl
# PR_SET_CHILD_SUBREAPER = 36, kept across exec; perl is the one tool at hand
# that can call it): the slurmstepds, which slurmd double-forks, and their
# orphaned tasks then become its children and it reaps them at once, instead of
# this sandbox's pid 1, which leaves them <defunct> for seconds.
subreaper=()
# shellcheck disable=SC2016
perl -e 'require "syscall.ph"' 2>/dev/null &&
  subreaper=(perl -e 'require "syscall.ph"; syscall(&SYS_prctl, 36, 1, 0, 0, 0) == 0
                      or warn "tern-multihost: prctl(PR_SET_CHILD_SUBREAPER): $!\n";
                      exec { $ARGV[0] } @ARGV or die "tern-multihost: exec $ARGV[0]: $!\n"' --)
setsid "${subreaper[@]}" bash "$here/supervise.sh" "$TS_SUPERVISOR" "$DIR" "$NHOSTS" "$CTLD_PORT" \
  "${shares[@]}" </dev/null >>"$DIR/supervisor.log" 2>&1 9>&- &

# Hosts: each holder has finished hostinit.sh once it is the marked `sleep`.
pids=()
for h in "${HOSTS[@]}"; do
  while ! pid=$(mh_holder_pid "$DIR" "$h"); do
    p=$(cat "$DIR/$h/holder.pid" 2>/dev/null || true)
    if [[ -n $p ]] && ! ts_alive "$p"; then
      fail "host $h" "" "its holder (pid $p) died while setting up its namespaces"
    fi
    (($(mh_now_ms) < deadline)) || fail "host $h" "" "holder not ready after ${WAIT_S}s"
    sleep 0.02
  done
  pids+=("$pid")
  mh_ns_key "$pid" >"$DIR/$h/ns"
done

# Network: the bridge first (creating it is what claims it), then a veth pair per
# host with the inner end created straight in the host's namespace as eth0.
alias_=$(mh_alias "$DIR")
ip link add "$MH_BRIDGE" type bridge forward_delay 0 ||
  fail network "" "cannot create bridge $MH_BRIDGE (another start.sh at the same moment?)"
ip link set "$MH_BRIDGE" alias "$alias_"
ip addr add "$MH_GW/24" dev "$MH_BRIDGE" || fail network "" "cannot add $MH_GW/24 to $MH_BRIDGE"
ip link set "$MH_BRIDGE" up
for ((i = 0; i < NHOSTS; i++)); do
  h=${HOSTS[i]} pid=${pids[i]} veth=$MH_VETH_PREFIX${HOSTS[i]}
  ip link add "$veth" type veth peer name eth0 netns "$pid" ||
    fail "network of $h" "" "cannot create veth $veth"
  ip link set "$veth" alias "$alias_"
  ip link set "$veth" master "$MH_BRIDGE" up
  nsenter -t "$pid" --net ip addr add "$(mh_host_addr "$h")/24" dev eth0 ||
    fail "network of $h" "" "cannot add $(mh_host_addr "$h")/24 to its eth0"
  nsenter -t "$pid" --net ip link set eth0 up
done
touch "$DIR/net.ready"

# munge is ready when a credential round-trips through our socket.
ok=0
while (($(mh_now_ms) < deadline)); do
  if timeout 2 munge -S "$DIR/munge.socket" -n 2>/dev/null |
     timeout 2 unmunge -S "$DIR/munge.socket" >/dev/null 2>&1; then
    ok=1; break
  fi
  sleep 0.02
done
((ok)) || fail munged "$DIR/munged.log" "no working munge socket at $DIR/munge.socket"

# Every node idle. A daemon that died does not come back: fail fast, naming it
# (the supervisor starts slurmctld once munge is up, the slurmds once the
# network is ready: each gets a 2 s grace from then to show up).
t_net=$(mh_now_ms)
while :; do
  all_nodes_up && break
  t=$(mh_now_ms)
  if ((t > t_net + 2000)); then
    [[ -n $(ts_pids "$DIR" slurmctld) ]] ||
      fail slurmctld "$DIR/slurmctld.log" "slurmctld is not running"
    for h in "${HOSTS[@]}"; do
      [[ -n $(ts_find slurmd cmdline "$CONF" "$h") ]] ||
        fail "slurmd on $h" "$DIR/$h/slurmd.log" "slurmd of $h is not running"
    done
  fi
  if ((t > deadline)); then
    fail "slurmd/slurmctld" "$DIR/slurmctld.log" \
      "nodes not all idle after ${WAIT_S}s: $(node_states | tr '\n' ' ')(see $DIR/tn*/slurmd.log)"
  fi
  sleep 0.1
done

addrs=()
for h in "${HOSTS[@]}"; do addrs+=("$(mh_host_addr "$h")"); done
cat >"$DIR/env" <<EOF
$EXPORT_LINE
# Not exported (they would reach every task): for scripts that source this file.
MULTIHOST_DIR=$DIR
MULTIHOST_HOSTS="${HOSTS[*]}"
MULTIHOST_ADDRS="${addrs[*]}"
MULTIHOST_PIDS="${pids[*]}"
MULTIHOST_GATEWAY=$MH_GW
MULTIHOST_CTLD_PORT=$CTLD_PORT
MULTIHOST_SLURMD_PORT=$SLURMD_PORT
EOF
started=0  # success: leave the cluster running
mh_log "cluster of $NHOSTS hosts up in $(( $(mh_now_ms) - t0 )) ms (DIR=$DIR, ports $CTLD_PORT/$SLURMD_PORT)"
printf '%s\n' "$EXPORT_LINE"
