#!/usr/bin/env bash
# Stop the private Slurm cluster started by tests/slurm/start.sh from DIR and
# remove DIR.
#
#   usage: tests/slurm/stop.sh [DIR]      (default DIR: /tmp/tern-slurm-$(id -u))
#
# Stops slurmctld, slurmd, any leftover slurmstepd of this cluster (with its
# tasks) and munged: TERM, up to ~5 s, then KILL. Exits 0 when nothing was
# running. Only processes tied to DIR are touched, never other clusters.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/common.sh
. "$here/common.sh"

DIR=$(ts_resolve_dir "${1:-}")
ts_lock "$DIR"
rc=0
ts_stop_all "$DIR" || rc=1
ts_remove_dir "$DIR" || rc=1
rm -f "$DIR.lock"
exit $rc
