#!/usr/bin/env bash
# The README stays true: every option of util/options.c is in its table, and its first
# program (and its first Python program and the pools' examples) builds against this build
# tree and runs to its end.
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
# The Python section's first program, when the build has the package.
if [ -f "$build/python/tern/__init__.py" ] && /usr/bin/python3 -c "import greenlet, numpy" 2>/dev/null; then
  awk '/^\*\*A first program\*\*/ {on=1; next} on && /^```python/ {code=1; next}
       code && /^```/ {exit} code {print}' "$src/README.md" > "$tmp/hello.py"
  [ -s "$tmp/hello.py" ] || { echo "FAIL: no first Python program in README.md"; exit 1; }
  out=$(PYTHONPATH="$build/python" PYTHONDONTWRITEBYTECODE=1 \
        "$build/tools/ternrun" -n 4 --timeout 30 /usr/bin/python3 "$tmp/hello.py")
  grep -q "^hi main from 3 on PE 3$" <<<"$out" && grep -q "^members: 4$" <<<"$out" &&
    grep -q "^hi a coroutine from 0 on PE 0$" <<<"$out" ||
    { echo "$out"; echo "FAIL: the first Python program"; fail=1; }
  # The pools' two examples.
  for what in '\*\*charm.pool\*\*' '\*\*tern.pool.Pool\*\*'; do
    awk -v start="^$what" '$0 ~ start {on=1} on && /^```python/ {code=1; next}
         code && /^```/ {exit} code {print}' "$src/README.md" > "$tmp/pool.py"
    [ -s "$tmp/pool.py" ] || { echo "FAIL: no pool example after $what"; fail=1; continue; }
    out=$(PYTHONPATH="$build/python" PYTHONDONTWRITEBYTECODE=1 \
          "$build/tools/ternrun" -n 2 --timeout 30 /usr/bin/python3 "$tmp/pool.py") ||
      { echo "$out"; echo "FAIL: the pool example after $what"; fail=1; }
    grep -qE "6765$|^\[0, 1, 4, 9, 16, 25, 36, 49, 64, 81\]$" <<<"$out" ||
      { echo "$out"; echo "FAIL: the pool example after $what printed something else"; fail=1; }
  done
fi
[ $fail -eq 0 ] && echo "docs test passed"
exit $fail
