#!/usr/bin/env bash
# Turn fresh namespaces into an emulated host, then become its holder process.
# Run by supervise.sh as
#   unshare --uts --ipc --mount --net --propagation private -- \
#     bash hostinit.sh DIR HOST SHARE...
# so every mount below lives in this host's own mount namespace and none shows
# in the root namespace or on the other hosts. It
#   - sets the hostname (UTS namespace) and brings `lo` up (PMIx servers
#     publish 127.0.0.1 addresses);
#   - mounts a fresh tmpfs on /tmp and on /dev/shm (with the private IPC
#     namespace: no shared memory between hosts, so UCX cannot quietly use it);
#   - binds every SHARE (absolute directories: DIR, source and build trees) that
#     the tmpfs would hide back at the same path, read-write;
#   - binds DIR/hosts on /etc/hosts (the hosts and the controller by name);
#   - execs `sleep infinity` with argv[0] "tern-multihost-holder:HOST:DIR",
#     which stop.sh looks for. Its pid stays the one supervise.sh recorded.
# The veth into this network namespace is added from outside by start.sh.
# On error: a message naming HOST on stderr (DIR/supervisor.log), exit 1.
set -euo pipefail

dir=$1 host=$2
shift 2
fail() { printf 'tern-multihost: %s: host setup failed: %s\n' "$host" "$*" >&2; exit 1; }
trap 'fail "command failed (line $LINENO): $BASH_COMMAND"' ERR

hostname "$host"
ip link set lo up

# Replace each of /tmp and /dev/shm by an empty tmpfs. The shares below it are
# reached through a descriptor opened on the old folder before the tmpfs hid
# it; --no-canonicalize lets the kernel follow /proc/self/fd/N to that old
# folder (mount(8) would otherwise resolve the path by name, into the tmpfs).
for cover in /tmp /dev/shm; do
  exec {old}<"$cover"
  mount -t tmpfs -o mode=1777,nosuid,nodev "tern-$host" "$cover"
  for s in "$@"; do
    [[ $s == "$cover"/* ]] || continue
    rel=${s#"$cover"/}
    mkdir -p "$cover/$rel"
    mount --rbind --no-canonicalize "/proc/self/fd/$old/$rel" "$cover/$rel" ||
      fail "cannot bind $s into the private $cover"
  done
  exec {old}<&-
done

for s in "$@"; do
  [[ -d $s ]] || fail "shared folder $s is not visible"
done
mount --bind "$dir/hosts" /etc/hosts || fail "cannot bind $dir/hosts on /etc/hosts"

trap - ERR
exec -a "tern-multihost-holder:$host:$dir" sleep infinity
