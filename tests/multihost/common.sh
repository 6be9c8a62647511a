# shellcheck shell=bash disable=SC2034  # constants used by start.sh and stop.sh
# Sourced by the scripts of tests/multihost/ (not run on its own).
#
# An emulated multi-host Slurm cluster lives in one state folder DIR, like the
# one-host cluster of tests/slurm/ (whose helpers this file sources and reuses:
# ts_resolve_dir, ts_lock, ts_find, ts_pids, ts_alive, ts_wait_gone,
# ts_descendants, ts_dir_is_ours, ts_remove_dir), plus:
#
#  - one holder process per emulated host, a `sleep infinity` with its own UTS,
#    IPC, mount and network namespaces, its argv[0] set to
#    "tern-multihost-holder:HOST:DIR" so that stop.sh finds it without pid files;
#  - a bridge (MH_BRIDGE) in the root network namespace holding MH_GW, and one
#    veth pair per host: MH_VETH_PREFIX+HOST in the root namespace, eth0 inside;
#    every link carries the ifalias "tern-multihost DIR", which says who owns it;
#  - inside each host (mounts made in its private mount namespace only, so
#    nothing shows outside): tmpfs on /tmp and /dev/shm, the shared paths bound
#    back at the same place, /etc/hosts naming the hosts.
#
# Names and addresses are fixed (bridge ternmh0, 10.77.0.0/24, hosts tn1..tnN
# at 10.77.0.11..): the one-host cluster of tests/slurm/ uses node tern1 on
# 127.0.0.1 and ports 26000-27999, so they never clash. Two clusters from two
# different DIRs cannot share the bridge: the second start.sh fails and names
# the DIR of the first (read from the bridge's ifalias).

_mh_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/common.sh
. "$_mh_here/../slurm/common.sh"

MH_BRIDGE=ternmh0
MH_VETH_PREFIX=ternmh-     # + host name: ternmh-tn1 (at most 15 characters)
MH_NET=10.77.0             # /24
MH_GW=$MH_NET.1            # the bridge: slurmctld and srun live here
MH_HOST_PREFIX=tn          # hosts tn1..tnN at $MH_NET.(10+i)
MH_MAX_HOSTS=50
MH_HOLDER=tern-multihost-holder
# The supervisor shell (see supervise.sh) is found by this marker and DIR on its
# command line; ts_pids DIR supervisor reads TS_SUPERVISOR.
TS_SUPERVISOR=tern-multihost-supervisor
TS_MARKER=.tern-multihost  # marks DIR as ours (ts_dir_is_ours, ts_remove_dir)

mh_log() { printf 'tern-multihost: %s\n' "$*" >&2; }
mh_now_ms() { printf '%s\n' "$(( ${EPOCHREALTIME/./} / 1000 ))"; }
mh_host_addr() { printf '%s.%d\n' "$MH_NET" $((10 + ${1#"$MH_HOST_PREFIX"})); }
mh_alias() { printf 'tern-multihost %s\n' "$1"; }

# True if TCP PORT has a listener in this network namespace.
mh_port_busy() { # PORT
  [[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# Holders of DIR, one "PID HOST" line each (live ones only, never zombies).
mh_holders() { # DIR
  local d=$1 p c a0 rest
  for p in /proc/[0-9]*; do
    { read -r c <"$p/comm"; } 2>/dev/null || continue
    [[ $c == sleep ]] || continue
    a0=$(tr '\0' '\n' 2>/dev/null <"$p/cmdline" | head -n 1) || continue
    [[ $a0 == "$MH_HOLDER:"* ]] || continue
    rest=${a0#"$MH_HOLDER:"}
    [[ ${rest#*:} == "$d" ]] || continue
    ts_alive "${p#/proc/}" && printf '%s %s\n' "${p#/proc/}" "${rest%%:*}"
  done
  return 0
}

# The pid of HOST's holder, checked to be one (a pid file alone may be stale).
mh_holder_pid() { # DIR HOST
  local pid
  pid=$(cat "$1/$2/holder.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && ts_alive "$pid" || return 1
  [[ $(tr '\0' '\n' 2>/dev/null <"/proc/$pid/cmdline" | head -n 1) == "$MH_HOLDER:$2:$1" ]] ||
    return 1
  printf '%s\n' "$pid"
}

# A process's namespaces as one key "mnt:[..] net:[..] uts:[..] ipc:[..]".
mh_ns_key() { # PID
  local n k=()
  for n in mnt net uts ipc; do
    k+=("$(readlink "/proc/$1/ns/$n" 2>/dev/null)") || return 1
  done
  [[ -n ${k[0]} ]] || return 1
  printf '%s\n' "${k[*]}"
}

# Live pids inside any of the given namespace keys (all four namespaces equal:
# a namespace id that the kernel reused for something else will not match all).
mh_pids_in_ns() { # KEY...
  (($#)) || return 0
  # One find and one awk for all processes (a readlink per process is slow).
  { find /proc/[0-9]*/ns/ -mindepth 1 -maxdepth 1 \
       \( -name mnt -o -name net -o -name uts -o -name ipc \) -printf '%h %f %l\n' 2>/dev/null ||
     true; } |
    awk -v self="$$ $BASHPID" -v keys="$(printf '%s\n' "$@")" '
      BEGIN { n = split(keys, k, "\n"); for (i = 1; i <= n; i++) want[k[i]] = 1
              split(self, s, " "); skip[s[1]] = 1; skip[s[2]] = 1 }
      { split($1, a, "/"); ns[a[3], $2] = $3; pids[a[3]] = 1 }
      END { for (p in pids) {
              key = ns[p, "mnt"] " " ns[p, "net"] " " ns[p, "uts"] " " ns[p, "ipc"]
              if ((key in want) && !(p in skip)) print p } }' |
    while read -r p; do ts_alive "$p" && printf '%s\n' "$p"; done
  return 0
}

# Links in the root namespace that carry DIR's alias.
mh_links() { # DIR
  local n a want
  want=$(mh_alias "$1")
  for n in /sys/class/net/*; do
    a=$(cat "$n/ifalias" 2>/dev/null) || continue
    [[ $a == "$want" ]] && printf '%s\n' "${n##*/}"
  done
  return 0
}

# TERM, wait up to 3 s, then KILL and wait up to 2 s: shorter than tests/slurm's
# ts_kill_wait, and the TERM grace shrinks further as MH_DEADLINE_MS (set by
# mh_stop_all) nears, so that a whole stop stays within 30 s.
MH_DEADLINE_MS=
mh_kill_wait() { # PID...
  local left grace=30
  (($#)) || return 0
  if [[ -n $MH_DEADLINE_MS ]]; then
    left=$(( (MH_DEADLINE_MS - $(mh_now_ms)) / 100 ))
    ((left < grace)) && grace=$((left > 0 ? left : 0))
  fi
  kill -TERM "$@" 2>/dev/null || true
  left=$(ts_wait_gone "$grace" "$@") && return 0
  # shellcheck disable=SC2086
  mh_log "still alive after TERM, sending KILL:" $left
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null || true
  # shellcheck disable=SC2086
  left=$(ts_wait_gone 20 $left) && return 0
  # shellcheck disable=SC2086
  mh_log "could not kill:" $left
  return 1
}

# Stop everything started from DIR and delete its links. Order:
#  1. freeze the supervisor (SIGSTOP): it starts nothing more while we stop the
#     rest (after a start.sh killed midway it may still be about to start a
#     daemon, and its children may still be turning into hosts);
#  2. while slurmctld and slurmd run, cancel all jobs (steps end the normal way);
#  3. slurmd, then slurmctld; leftover tasks and their slurmstepd (KILL: it
#     ignores TERM), srun clients of this cluster;
#  4. whatever still runs inside a host (holders, tasks that left their step,
#     commands started with on.sh), found by their namespaces, so that no
#     namespace, and no tmpfs /tmp or /dev/shm of a host, outlives the stop; and
#     every other descendant of the supervisor (munged, a host half set up);
#  5. the supervisor: TERM and CONT, it reaps its children and leaves;
#  6. the veth pairs and the bridge that carry DIR's alias.
mh_stop_all() { # DIR
  local d=$1 f pid pids tasks jobs sup keys=() own rc=0 t_end
  # 22 s for the TERM graces; KILLs, the links and the rest fit in what is left.
  MH_DEADLINE_MS=$(( $(mh_now_ms) + 22000 ))
  sup=$(ts_pids "$d" supervisor)
  # shellcheck disable=SC2086
  [[ -z $sup ]] || kill -STOP $sup 2>/dev/null || true
  # Namespaces of the hosts: recorded by start.sh, those of live holders, and
  # those of the supervisor's descendants that are not in ours (a host whose
  # hostinit.sh has not finished).
  for f in "$d"/*/ns; do
    [[ -f $f ]] && keys+=("$(cat "$f")")
  done
  while read -r pid _; do
    [[ -n $pid ]] && keys+=("$(mh_ns_key "$pid")")
  done < <(mh_holders "$d")
  own=$(mh_ns_key $$)
  # shellcheck disable=SC2086
  for pid in $(ts_descendants $sup); do
    f=$(mh_ns_key "$pid" 2>/dev/null) || continue
    [[ $f == "$own" ]] || keys+=("$f")
  done
  if [[ -f $d/slurm.conf && -n $(ts_pids "$d" slurmctld) ]]; then
    jobs=$(SLURM_CONF=$d/slurm.conf timeout 3 squeue -h -o %A 2>/dev/null || true)
    if [[ -n $jobs ]]; then
      # shellcheck disable=SC2086
      SLURM_CONF=$d/slurm.conf timeout 3 scancel $jobs 2>/dev/null || true
      # shellcheck disable=SC2046
      ts_wait_gone 30 $(ts_pids "$d" steps) $(ts_pids "$d" srun) >/dev/null || true
    fi
  fi
  # shellcheck disable=SC2046
  mh_kill_wait $(ts_pids "$d" slurmd) || rc=1
  # shellcheck disable=SC2046
  mh_kill_wait $(ts_pids "$d" slurmctld) || rc=1
  pids=$(ts_pids "$d" steps)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    tasks=$(ts_descendants $pids)
    # shellcheck disable=SC2086
    mh_kill_wait $tasks || rc=1
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    ts_wait_gone 20 $pids >/dev/null || rc=1
  fi
  # shellcheck disable=SC2046
  mh_kill_wait $(ts_pids "$d" srun) || rc=1
  # shellcheck disable=SC2046,SC2086
  mh_kill_wait $( { mh_pids_in_ns "${keys[@]+"${keys[@]}"}"; ts_descendants $sup; ts_pids "$d" munged; } |
                  sort -u) || rc=1
  if [[ -n $sup ]]; then
    # shellcheck disable=SC2086
    kill -TERM $sup 2>/dev/null || true
    # shellcheck disable=SC2086
    kill -CONT $sup 2>/dev/null || true
    # shellcheck disable=SC2086
    mh_kill_wait $sup || rc=1
  fi
  # A veth pair goes when its host's network namespace goes (the kernel does it
  # a moment later); deleting the root end now removes both ends at once.
  for f in $(mh_links "$d"); do
    [[ $f == "$MH_BRIDGE" ]] || ip link del "$f" 2>/dev/null || true
  done
  for f in $(mh_links "$d"); do
    ip link del "$f" 2>/dev/null || true
  done
  t_end=$(( $(mh_now_ms) + 3000 ))
  while [[ -n $(mh_links "$d") ]] && (($(mh_now_ms) < t_end)); do sleep 0.1; done
  if [[ -n $(mh_links "$d") ]]; then
    mh_log "could not delete links: $(mh_links "$d" | tr '\n' ' ')"
    rc=1
  fi
  return $rc
}
