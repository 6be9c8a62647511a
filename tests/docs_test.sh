#!/usr/bin/env bash
# The README stays true: every option of util/options.c is in its table, and its first
# program builds against this build tree and runs to its end.
#   docs_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1 build=$2
fail=0
for opt in $(grep -o '{"TERN_[A-Z_0-9]*"' "$src/util/options.c" | tr -d '{"'); do
  grep -q "\`$opt\`" "$src/README.md" || { echo "FAIL: $opt is not in README.md's table"; fail=1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^## A first program/ {on=1; next} on && /^```c/ {code=1; next}
     code && /^```/ {exit} code {print}' "$src/README.md" > "$tmp/first.c"
[ -s "$tmp/first.c" ] || { echo "FAIL: no first program in README.md"; exit 1; }
cc -Wall -Wextra -Wno-unused-parameter -o "$tmp/first" "$tmp/first.c" -I"$src/include" \
   -L"$build" -Wl,-rpath,"$build" -ltern
out=$("$build/tools/ternrun" -n 4 --timeout 30 "$tmp/first")
[ "$(grep -c '^hello from element' <<<"$out")" -eq 16 ] ||
  { echo "$out"; echo "FAIL: the first program did not greet 16 times"; fail=1; }
[ $fail -eq 0 ] && echo "docs test passed"
exit $fail
