#!/usr/bin/env bash
# Stop the emulated cluster started by tests/multihost/start.sh from DIR, leaving
# nothing behind, and remove DIR.
#
#   usage: tests/multihost/stop.sh DIR
#
# Cancels the jobs, stops slurmd, slurmctld, any leftover slurmstepd of this
# cluster (with its tasks), srun clients, every process still inside a host
# (holders included: found by their namespaces, so each host's namespaces, and
# with them its tmpfs /tmp and /dev/shm and every mount made in it, go away),
# munged and the supervisor: TERM, up to 3 s, then KILL. Deletes the veth pairs
# and the bridge that carry DIR's alias. Nothing was mounted in the root
# namespace. Works after a partial or failed start, and when nothing runs (exit
# 0). Only processes and links tied to DIR are touched. Bounded: under 30 s.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/multihost/common.sh
. "$here/common.sh"

(($# == 1)) || { mh_log "usage: stop.sh DIR"; exit 2; }
DIR=$(ts_resolve_dir "$1")
[[ $(id -u) == 0 ]] || { mh_log "needs root"; exit 1; }
ts_lock "$DIR"
t0=$(mh_now_ms)
rc=0
mh_stop_all "$DIR" || rc=1
ts_remove_dir "$DIR" || rc=1
rm -f "$DIR.lock"
mh_log "stopped in $(( $(mh_now_ms) - t0 )) ms (DIR=$DIR)"
exit $rc
