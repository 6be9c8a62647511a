# shellcheck shell=bash
# Sourced by tests/slurm/start.sh and stop.sh (not run on its own).
# One private Slurm cluster lives entirely inside one state folder DIR: munge key
# and socket, slurm.conf, state, spool, pid and log files. Nothing outside DIR
# (e.g. /etc/slurm, /etc/munge) is read or written.
#
# Processes are recognised by their program name plus an exact DIR path on their
# command line (or SLURM_CONF=DIR/slurm.conf in their environment), not by pid
# files alone: a stale pid file may name a pid reused by anything, even the
# caller's shell, and pid files vanish with a crash.

# shellcheck disable=SC2034  # used by start.sh
TS_NODE=tern1            # fixed node name, so the config does not depend on hostname
TS_MARKER=.tern-slurm    # marks DIR as ours: we never wipe a folder we did not make
TS_SUPERVISOR=tern-slurm-supervisor   # $0 of start.sh's supervisor shell

ts_log() { printf 'tern-slurm: %s\n' "$*" >&2; }

# Absolute, normalised DIR: slurm.conf and command lines hold absolute paths,
# and stop.sh must match the very same strings start.sh wrote.
ts_resolve_dir() {
  local d
  d=$(realpath -m -- "${1:-/tmp/tern-slurm-$(id -u)}")
  if [[ -z $d || $d == / ]]; then
    ts_log "refusing '$d' as state folder"
    return 1
  fi
  printf '%s\n' "$d"
}

# One start.sh or stop.sh at a time per DIR (two starts would wipe each other's
# daemons): an exclusive lock on DIR.lock, beside DIR, held until the script exits.
ts_lock() { # DIR
  exec 9>"$1.lock"
  flock -w 60 9 || { ts_log "another start.sh/stop.sh holds $1.lock for 60 s"; return 1; }
}

# True if DIR may be (re)used and wiped: absent, empty, or made by start.sh.
ts_dir_is_ours() { # DIR
  [[ ! -e $1 ]] || [[ -e $1/$TS_MARKER ]] || [[ -d $1 && -z $(ls -A "$1") ]]
}

# Alive and not a zombie (this sandbox's pid 1 reaps orphans only now and then).
ts_alive() {
  local line st
  { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
  line=${line##*) }   # skip "pid (comm) ", comm may hold spaces
  st=${line%% *}
  [[ -n $st && $st != Z && $st != X ]]
}

# Live pids of program COMM whose /proc FILE (cmdline or environ) holds every
# given string as one exact NUL-separated entry. Never this shell or its parent.
ts_find() { # COMM cmdline|environ STRING...
  local comm=$1 file=$2 p c s entries
  shift 2
  for p in /proc/[0-9]*; do
    { read -r c <"$p/comm"; } 2>/dev/null || continue
    [[ $c == "$comm" ]] || continue
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" || $p == "$PPID" ]] && continue
    entries=$(tr '\0' '\n' 2>/dev/null <"/proc/$p/$file") || continue
    for s in "$@"; do
      grep -qxF -- "$s" <<<"$entries" || continue 2
    done
    ts_alive "$p" && printf '%s\n' "$p"
  done
  return 0
}

# Pids of one part of the cluster in DIR, by the arguments start.sh gives it.
ts_pids() { # DIR munged|slurmctld|slurmd|supervisor|steps|srun
  case $2 in
    munged) ts_find munged cmdline "--socket=$1/munge.socket" ;;
    slurmctld | slurmd) ts_find "$2" cmdline "$1/slurm.conf" ;;
    supervisor) ts_find bash cmdline "$TS_SUPERVISOR" "$1" ;;
    # slurmstepd inherits slurmd's environment; srun clients carry the caller's
    steps) ts_find slurmstepd environ "SLURM_CONF=$1/slurm.conf" ;;
    srun) ts_find srun environ "SLURM_CONF=$1/slurm.conf" ;;
  esac
}

# All descendants of the given pids (job tasks under a slurmstepd).
ts_descendants() { # PID...
  (($#)) || return 0
  ps -e -o pid=,ppid= 2>/dev/null | awk -v roots="$*" '
    { kids[$2] = kids[$2] " " $1 }
    END {
      n = split(roots, q, " ")
      for (i = 1; i <= n; i++) {
        m = split(kids[q[i]], k, " ")
        for (j = 1; j <= m; j++) if (!(k[j] in seen)) { seen[k[j]] = 1; q[++n] = k[j]; print k[j] }
      }
    }'
}

# Wait up to N tenths of a second for all PIDs to be gone; prints survivors.
ts_wait_gone() { # N PID...
  local n=$1 i p alive=()
  shift
  for ((i = 0; i <= n; i++)); do
    alive=()
    for p in "$@"; do ts_alive "$p" && alive+=("$p"); done
    ((${#alive[@]})) || return 0
    ((i < n)) && sleep 0.1
  done
  printf '%s\n' "${alive[@]}"
  return 1
}

# TERM, wait up to ~5 s, then KILL and wait up to 2 s more: bounded whatever
# the processes do.
ts_kill_wait() { # PID...
  local left
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  left=$(ts_wait_gone 50 "$@") && return 0
  # shellcheck disable=SC2086
  ts_log "still alive after TERM, sending KILL:" $left
  # shellcheck disable=SC2086
  kill -KILL $left 2>/dev/null || true
  # shellcheck disable=SC2086
  left=$(ts_wait_gone 20 $left) && return 0
  # shellcheck disable=SC2086
  ts_log "could not kill:" $left
  return 1
}

# Stop everything started from DIR, including job steps and their tasks. Order:
#  1. while slurmctld and slurmd still run, cancel all jobs: steps end and srun
#     clients return the normal way;
#  2. slurmd, then slurmctld (slurmd, once it has run a job, takes seconds to
#     end on TERM when slurmctld is already gone);
#  3. leftovers: tasks, then their slurmstepd (it ignores TERM, and with slurmd
#     gone there is nothing to wait for: KILL), then srun clients of this cluster;
#  4. munged (the others need it to shut down cleanly), then the supervisor.
ts_stop_all() { # DIR
  local d=$1 pids tasks jobs rc=0
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
  ts_kill_wait $(ts_pids "$d" slurmd) || rc=1
  # shellcheck disable=SC2046
  ts_kill_wait $(ts_pids "$d" slurmctld) || rc=1
  pids=$(ts_pids "$d" steps)
  if [[ -n $pids ]]; then
    # shellcheck disable=SC2086
    tasks=$(ts_descendants $pids)
    # shellcheck disable=SC2086
    ts_kill_wait $tasks || rc=1
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    # shellcheck disable=SC2086
    ts_wait_gone 20 $pids >/dev/null || rc=1
  fi
  # shellcheck disable=SC2046
  ts_kill_wait $(ts_pids "$d" srun) || rc=1
  # shellcheck disable=SC2046
  ts_kill_wait $(ts_pids "$d" munged) || rc=1
  # shellcheck disable=SC2046
  ts_kill_wait $(ts_pids "$d" supervisor) || rc=1
  return $rc
}

# Remove DIR, but only if it is ours (see ts_dir_is_ours).
ts_remove_dir() { # DIR
  [[ -e $1 ]] || return 0
  if ts_dir_is_ours "$1"; then
    rm -rf -- "$1"
  else
    ts_log "$1 was not made by start.sh (no $TS_MARKER): not removing it"
    return 1
  fi
}
