#!/usr/bin/env bash
# Run a command on one emulated host of the cluster started from DIR: inside the
# host's network, UTS, IPC and mount namespaces (its hostname, address, /tmp,
# /dev/shm), as root, with the caller's environment. For debugging and tests.
#
#   usage: tests/multihost/on.sh DIR HOST CMD [ARGS...]     (HOST: tn1, tn2, ...)
#
# The command starts in the caller's working folder when the host sees it (a
# shared folder), else in /. Exits with the command's status.
# Example: tests/multihost/on.sh /var/tmp/tern-mh-x tn2 ip -br addr
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/multihost/common.sh
. "$here/common.sh"

(($# >= 3)) || { mh_log "usage: on.sh DIR HOST CMD [ARGS...]"; exit 2; }
DIR=$(ts_resolve_dir "$1")
host=$2
shift 2
pid=$(mh_holder_pid "$DIR" "$host") ||
  { mh_log "no host '$host' running in $DIR (start.sh DIR first)"; exit 2; }
# Entering a mount namespace moves the process to its root folder: go back to
# the caller's folder when it exists there.
# shellcheck disable=SC2016
exec nsenter -t "$pid" --net --uts --ipc --mount -- \
  bash -c 'cd -- "$0" 2>/dev/null || cd /; exec "$@"' "$PWD" "$@"
