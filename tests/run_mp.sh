#!/usr/bin/env bash
# Run one multi-process test and judge how it ended.
#   run_mp.sh [--code N | --nonzero | --anycode] [--stderr REGEX]... [--forbid REGEX]...
#             [--within SEC] -- COMMAND...
# Checks the exit status, that stderr matches every --stderr and no --forbid regex, that
# the run took less than --within seconds, and that the job left no /dev/shm/tern.<jobid>.*
# object (its job id holds the pid of the command: r<pid>x... under ternrun, s<pid>x...
# for a program started alone), so tests running side by side do not confuse each other.
set -u
want_code=0 nonzero=0 anycode=0 within=120
must=() forbid=()
while [ $# -gt 0 ]; do
  case "$1" in
    --code) want_code=$2; shift 2 ;;
    --nonzero) nonzero=1; shift ;;
    --anycode) anycode=1; shift ;;
    --stderr) must+=("$2"); shift 2 ;;
    --forbid) forbid+=("$2"); shift 2 ;;
    --within) within=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "run_mp.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
errf=$(mktemp)
trap 'rm -f "$errf"' EXIT
t0=$(date +%s.%N)
"$@" 2>"$errf" &
pid=$!
wait $pid
code=$?
t1=$(date +%s.%N)
cat "$errf" >&2
fail=0
if [ $anycode -eq 1 ]; then
  :
elif [ $nonzero -eq 1 ]; then
  [ $code -ne 0 ] || { echo "FAIL: expected a non-zero exit, got 0"; fail=1; }
else
  [ $code -eq "$want_code" ] || { echo "FAIL: expected exit code $want_code, got $code"; fail=1; }
fi
for re in "${must[@]+"${must[@]}"}"; do
  grep -Eq -- "$re" "$errf" || { echo "FAIL: stderr lacks /$re/"; fail=1; }
done
for re in "${forbid[@]+"${forbid[@]}"}"; do
  ! grep -Eq -- "$re" "$errf" || { echo "FAIL: stderr has /$re/"; fail=1; }
done
elapsed=$(echo "$t1 - $t0" | bc)
if [ "$(echo "$elapsed > $within" | bc)" -eq 1 ]; then
  echo "FAIL: took ${elapsed}s, more than ${within}s"; fail=1
fi
left=$(ls /dev/shm 2>/dev/null | grep -E "^tern\.[rs]${pid}x" || true)
[ -z "$left" ] || { echo "FAIL: left in /dev/shm: $left"; fail=1; }
echo "exit $code in ${elapsed}s"
exit $fail
