#!/usr/bin/env bash
# The one parent of every long-lived process of an emulated cluster, started by
# start.sh (detached with setsid, stdio to DIR/supervisor.log) as
#   bash supervise.sh tern-multihost-supervisor DIR NHOSTS CTLD_PORT SHARE...
# The first argument is only a marker: stop.sh finds this shell by it and DIR.
#
# It starts as its own children, so that it reaps them the moment they end
# (this sandbox's pid 1 reaps orphans only now and then, which would leave
# <defunct> entries behind after a stop):
#  1. one holder per host tn1..tnN (hostinit.sh under unshare), its pid written
#     to DIR/tnI/holder.pid;
#  2. munged, then slurmctld once munge's socket exists (root namespace);
#  3. once start.sh has wired the hosts' network and created DIR/net.ready, one
#     `slurmd -D -N tnI` inside each host (nsenter into the holder's
#     namespaces; not `ip netns exec`, which remounts /sys and hides the
#     cgroup tree slurmd needs).
# Then it waits for them all, until stop.sh ends them. Each wait for a step of
# the start-up is bounded (30 s); start.sh watches the outcome and reports what
# failed.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/multihost/common.sh
. "$here/common.sh"

dir=$2 nhosts=$3 port=$4
shift 4
conf=$dir/slurm.conf
export SLURM_CONF=$conf   # slurmstepd inherits it: stop.sh finds steps by it

# stop.sh ends this shell last, once every child is gone: reap them all, then
# leave. `wait` reaps only this shell's own jobs; the orphans it adopted as a
# subreaper (slurmstepds) are reaped by bash while it waits for a foreground
# command, hence the short sleep.
trap 'sleep 0.1; wait; exit 0' TERM

holders=()
for ((i = 1; i <= nhosts; i++)); do
  h=$MH_HOST_PREFIX$i
  unshare --uts --ipc --mount --net --propagation private -- \
    bash "$here/hostinit.sh" "$dir" "$h" "$@" </dev/null &
  holders+=("$!")
  printf '%s\n' "$!" >"$dir/$h/holder.pid"
done

force=()
[[ $(id -u) == 0 ]] && force=(--force)
munged --foreground "${force[@]}" --socket="$dir/munge.socket" --key-file="$dir/munge.key" \
  --pid-file="$dir/munged.pid" --log-file="$dir/munged.log" \
  --seed-file="$dir/munged.seed" 2>>"$dir/munged.log" &
# Each wait ends within start.sh's own 30 s bound; start.sh reports what failed.
SECONDS=0
until [[ -S $dir/munge.socket ]] || ((SECONDS > 30)); do sleep 0.02; done
if [[ -S $dir/munge.socket ]]; then
  slurmctld -D -c -i -f "$conf" &
  # slurmd started before slurmctld listens would retry only a second later.
  until mh_port_busy "$port" || ((SECONDS > 30)); do sleep 0.02; done
  until [[ -e $dir/net.ready ]] || ((SECONDS > 30)); do sleep 0.05; done
  if [[ -e $dir/net.ready ]]; then
    for ((i = 1; i <= nhosts; i++)); do
      nsenter -t "${holders[i - 1]}" --net --uts --ipc --mount -- \
        slurmd -D -f "$conf" -N "$MH_HOST_PREFIX$i" &
    done
  fi
fi
wait
