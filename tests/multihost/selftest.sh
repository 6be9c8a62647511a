#!/usr/bin/env bash
# Checks of the emulated hosts themselves (the multihost.* infrastructure tests).
#
#   selftest.sh hostname DIR NNODES NP   srun.sh DIR NNODES NP hostname: exactly
#                                        NNODES distinct hosts tn*, NP/NNODES tasks
#                                        on each, none of them this machine's name
#   selftest.sh isolation DIR            hostnames, private /tmp, /dev/shm and
#                                        System V IPC per host, shared folders
#                                        shared read-write, and every host reaching
#                                        every other one and the controller over
#                                        10.77.0.x (bash /dev/tcp to the daemons)
#   selftest.sh probe                    run as a task: prints on stderr
#                                        "probe: host=H rank=R" and the values of
#                                        TERN_MH_PROBE, UCX_MH_PROBE, FI_MH_PROBE
# Prints one "ok: ..." line per check passed and "FAIL: ..." per check failed;
# exits 1 when any failed.
# shellcheck disable=SC2015  # ok and bad always succeed: A && ok || bad is if-then-else
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failed=0
ok() { printf 'ok: %s\n' "$*"; }
bad() { printf 'FAIL: %s\n' "$*"; failed=1; }
on() { timeout 10 bash "$here/on.sh" "$dir" "$@"; }

case ${1:-} in
  probe)
    echo "probe: host=$(hostname) rank=${SLURM_PROCID:-?}" \
      "TERN_MH_PROBE=${TERN_MH_PROBE:-} UCX_MH_PROBE=${UCX_MH_PROBE:-} FI_MH_PROBE=${FI_MH_PROBE:-}" >&2
    exit 0 ;;

  hostname)
    (($# == 4)) || { echo "usage: selftest.sh hostname DIR NNODES NP" >&2; exit 2; }
    dir=$2 nnodes=$3 np=$4
    out=$(bash "$here/srun.sh" "$dir" "$nnodes" "$np" hostname) || bad "srun.sh exited with $?"
    printf '%s\n' "$out" | sort | uniq -c | sed 's/^ */  /'
    counts=$(printf '%s\n' "$out" | sort | uniq -c | awk '{print $1}' | sort -u)
    names=$(printf '%s\n' "$out" | sort -u)
    nnames=$(printf '%s\n' "$names" | grep -c . || true)
    ((nnames == nnodes)) && ok "$nnames distinct hosts" || bad "$nnames distinct hosts, not $nnodes"
    [[ $counts == "$((np / nnodes))" && $((np % nnodes)) == 0 ]] &&
      ok "$((np / nnodes)) tasks on each host" || bad "tasks per host: ${counts//$'\n'/ }, not $((np / nnodes)) each"
    if grep -qvxE 'tn[0-9]+' <<<"$names" || grep -qxF "$(hostname)" <<<"$names"; then
      bad "unexpected host names: ${names//$'\n'/ }"
    else
      ok "host names: ${names//$'\n'/ }"
    fi ;;

  isolation)
    (($# == 2)) || { echo "usage: selftest.sh isolation DIR" >&2; exit 2; }
    dir=$2
    # shellcheck disable=SC1091
    source "$dir/env"
    read -r -a hosts <<<"$MULTIHOST_HOSTS"
    read -r -a addrs <<<"$MULTIHOST_ADDRS"
    ((${#hosts[@]} >= 2)) || { bad "needs at least 2 hosts"; exit 1; }
    a=${hosts[0]} tag=tern-mh-iso.$$
    for h in "${hosts[@]}"; do
      [[ $(on "$h" hostname) == "$h" ]] && ok "hostname on $h" || bad "hostname on $h is not $h"
    done
    [[ $(hostname) != "$a" ]] && ok "this machine keeps its name $(hostname)" || bad "hostname leaked"

    # Files in /tmp and /dev/shm, and a System V segment, made on the first host.
    on "$a" sh -c "echo x >/tmp/$tag && echo x >/dev/shm/$tag" || bad "cannot write on $a"
    # System V: a segment by its id and (random) key, as `ipcs -m` lists it.
    shmid=$(on "$a" ipcmk -M 4096 2>&1 | grep -oE '[0-9]+$' || true)
    seg=$(on "$a" ipcs -m | awk -v id="$shmid" '$2 == id { print $1, $2 }')
    [[ -n $shmid && -n $seg ]] || bad "ipcmk on $a failed"
    on "$a" test -e "/tmp/$tag" -a -e "/dev/shm/$tag" && ok "files exist on $a" ||
      bad "files not seen on $a itself"
    for h in "${hosts[@]:1}"; do
      for f in /tmp/$tag /dev/shm/$tag; do
        if on "$h" test -e "$f"; then bad "$f of $a is visible on $h"; else ok "$f of $a not on $h"; fi
      done
      if [[ -n $seg ]] && on "$h" ipcs -m | awk '{ print $1, $2 }' | grep -qxF "$seg"; then
        bad "System V segment (key, id) $seg of $a is visible on $h"
      else
        ok "System V segment $seg of $a not on $h"
      fi
    done
    for f in /tmp/$tag /dev/shm/$tag; do
      [[ ! -e $f ]] && ok "$f of $a not in the root namespace" || bad "$f of $a is in the root namespace"
    done
    if [[ -n $seg ]] && ipcs -m | awk '{ print $1, $2 }' | grep -qxF "$seg"; then
      bad "System V segment $seg of $a is in the root namespace"
    else
      ok "System V segment $seg of $a not in the root namespace"
    fi
    [[ -z $shmid ]] || on "$a" ipcrm -m "$shmid" || bad "ipcrm on $a failed"
    on "$a" rm -f "/tmp/$tag" "/dev/shm/$tag"

    # Shared folders: DIR and the --share trees (from DIR/config), read-write.
    while IFS= read -r line; do
      [[ $line == share=* ]] || continue
      s=${line#share=}
      for h in "${hosts[@]}"; do
        on "$h" test -d "$s" && ok "$s visible on $h" || bad "$s not visible on $h"
      done
    done <"$dir/config"
    on "$a" sh -c "echo $a >$dir/$tag" || bad "cannot write $dir on $a"
    for h in "${hosts[@]:1}"; do
      [[ $(on "$h" cat "$dir/$tag" 2>/dev/null) == "$a" ]] && ok "$dir shared read-write with $h" ||
        bad "a file written in $dir on $a is not seen on $h"
    done
    rm -f "${dir:?}/$tag"

    # Network: every host reaches every other host's slurmd and the controller.
    for h in "${hosts[@]}"; do
      for i in "${!hosts[@]}"; do
        [[ ${hosts[i]} == "$h" ]] && continue
        # shellcheck disable=SC2016
        if on "$h" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "${addrs[i]}" "$MULTIHOST_SLURMD_PORT"; then
          ok "$h reaches ${hosts[i]} at ${addrs[i]}:$MULTIHOST_SLURMD_PORT"
        else
          bad "$h cannot reach ${hosts[i]} at ${addrs[i]}:$MULTIHOST_SLURMD_PORT"
        fi
      done
      # shellcheck disable=SC2016
      if on "$h" timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$MULTIHOST_GATEWAY" "$MULTIHOST_CTLD_PORT"; then
        ok "$h reaches slurmctld at $MULTIHOST_GATEWAY:$MULTIHOST_CTLD_PORT"
      else
        bad "$h cannot reach slurmctld at $MULTIHOST_GATEWAY:$MULTIHOST_CTLD_PORT"
      fi
    done ;;

  *) echo "usage: selftest.sh hostname DIR NNODES NP | isolation DIR | probe" >&2; exit 2 ;;
esac
exit $failed
