#!/usr/bin/env bash
# Install the build tree into a scratch prefix, then build examples/hello against the
# installed Tern twice — with pkg-config and with CMake's find_package(Tern) — and run
# each with the installed ternrun.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cp "$build/install_manifest.txt" "$tmp/prefix.manifest"
for f in include/tern/tern.h bin/ternrun; do
  [ -e "$tmp/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
libdir=$(find "$tmp/prefix" -name libtern.so -printf '%h\n' | head -1)
libdir=$(realpath "$libdir")
[ -n "$libdir" ] && [ -e "$libdir/libtern.a" ] || { echo "FAIL: libtern.so/.a not installed"; exit 1; }

export PKG_CONFIG_PATH="$libdir/pkgconfig"
# The flags alone must do: the program finds libtern.so without LD_LIBRARY_PATH.
cc -o "$tmp/hello_pc" "$src/examples/hello.c" $(pkg-config --cflags --libs tern)
env -u LD_LIBRARY_PATH "$tmp/prefix/bin/ternrun" -n 2 --timeout 30 "$tmp/hello_pc" |
  grep -q "All 18 greetings"
# The transport plugins of the build are installed beside libtern.so and found there.
for plugin in "$build"/tern/tern-*.so; do
  [ -e "$plugin" ] || continue
  name=$(basename "$plugin" .so)
  name=${name#tern-}
  [ -e "$libdir/tern/tern-$name.so" ] || { echo "FAIL: plugin $name not installed"; exit 1; }
  env TERN_TRANSPORT=$name TERN_VERBOSE=2 UCX_TLS=sm TERN_OFI_PROVIDER=shm \
    "$tmp/prefix/bin/ternrun" -n 2 --timeout 30 "$tmp/hello_pc" 2>"$tmp/err" |
    grep -q "All 18 greetings" || { cat "$tmp/err"; echo "FAIL: TERN_TRANSPORT=$name"; exit 1; }
  grep -q "loaded $libdir/tern/tern-$name.so" "$tmp/err" ||
    { cat "$tmp/err"; echo "FAIL: $name's plugin was not loaded from $libdir/tern"; exit 1; }
done
# Static: the libraries libtern.a needs (PMIx, hwloc) come with --static.
cc -o "$tmp/hello_pc_static" "$src/examples/hello.c" $(pkg-config --cflags tern) \
   "$libdir/libtern.a" $(pkg-config --static --libs tern | sed 's/-ltern\b//')
"$tmp/prefix/bin/ternrun" -n 2 --timeout 30 "$tmp/hello_pc_static" | grep -q "All 18 greetings"

mkdir "$tmp/app"
cp "$src/examples/hello.c" "$tmp/app/"
cat > "$tmp/app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(Tern REQUIRED)
add_executable(hello hello.c)
target_link_libraries(hello Tern::tern)
add_executable(hello_static hello.c)
target_link_libraries(hello_static Tern::tern_static)
CM
cmake -S "$tmp/app" -B "$tmp/app/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/app/build" >/dev/null
"$tmp/prefix/bin/ternrun" -n 3 --timeout 30 "$tmp/app/build/hello" | grep -q "All 19 greetings"
"$tmp/prefix/bin/ternrun" -n 3 --timeout 30 "$tmp/app/build/hello_static" | grep -q "All 19 greetings"
# The Python package, when the build has it: importable from the prefix, and a program
# runs with it under the installed ternrun.
pydir=$(ls -d "$tmp"/prefix/lib/python3*/dist-packages 2>/dev/null | head -1 || true)
if [ -n "$pydir" ] && [ -d "$pydir/tern" ]; then
  PYTHONPATH="$pydir" "$tmp/prefix/bin/ternrun" -n 2 --timeout 30 /usr/bin/python3 "$src/tests/install_hi.py" |
    grep -q "python pes \[0, 1\]"
  # The same package built by pip against the installed libtern (pkg-config), no index.
  if /usr/bin/python3 -c "import setuptools" 2>/dev/null &&
     /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
    cp -r "$src/python" "$tmp/pysrc"
    (cd "$tmp/pysrc" && /usr/bin/python3 -m pip install -q --no-build-isolation --no-index \
       --root-user-action=ignore --prefix "$tmp/pyprefix" .)
    pipdir=$(dirname "$(find "$tmp/pyprefix" -name __init__.py -path "*/tern/*" | head -1)")
    PYTHONPATH="$(dirname "$pipdir")" env -u LD_LIBRARY_PATH "$tmp/prefix/bin/ternrun" -n 2 \
      --timeout 30 /usr/bin/python3 "$src/tests/install_hi.py" | grep -q "python pes \[0, 1\]" ||
      { echo "FAIL: the package pip built does not run"; exit 1; }
  fi
fi

# A /usr/local-style prefix, the default one, as root on a machine without Tern there
# (only when the build lets the tests install into the system: TERN_TEST_SYSTEM_INSTALL):
# no PKG_CONFIG_PATH or CMAKE_PREFIX_PATH needed, a program runs without LD_LIBRARY_PATH,
# a static one loads the plugins from the folder compiled in. Only the files installed are
# removed afterwards (then the folders they leave empty), and nothing is installed over a
# file that is already there.
if [ "${TERN_TEST_SYSTEM_INSTALL:-0}" = 1 ] && [ "$(id -u)" -eq 0 ] &&
   [ "$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")" = /usr/local ]; then
  if ls /usr/local/lib/libtern.so* /usr/local/bin/ternrun >/dev/null 2>&1; then
    echo "FAIL: a Tern is installed in /usr/local (an interrupted test?): remove it, or" \
         "configure without TERN_TEST_SYSTEM_INSTALL"
    exit 1
  fi
  manifest="$tmp/usrlocal.manifest"
  sed "s|^$tmp/prefix/|/usr/local/|" "$tmp/prefix.manifest" >"$manifest"
  taken=$(while IFS= read -r f; do if [ -e "$f" ]; then echo "$f"; fi; done <"$manifest")
fi
if [ "${TERN_TEST_SYSTEM_INSTALL:-0}" = 1 ] && [ -n "${manifest:-}" ] && [ -n "$taken" ]; then
  echo "note: not installing into /usr/local: files of the same names are there" \
       "($(head -n 3 <<<"$taken" | tr '\n' ' '))"
elif [ -n "${manifest:-}" ]; then
  # The folders the install will make (those missing now): removed again when empty.
  made="$tmp/usrlocal.dirs"
  xargs -d '\n' -n1 dirname <"$manifest" | sort -u | while IFS= read -r d; do
    while [ "$d" != /usr/local ] && [ ! -e "$d" ]; do echo "$d"; d=$(dirname "$d"); done
  done | sort -u | awk '{ print gsub("/", "/") " " $0 }' | sort -rn | cut -d' ' -f2- >"$made"
  cleanup_usrlocal() {
    xargs -d '\n' rm -f <"$manifest"
    while IFS= read -r d; do rmdir "$d" 2>/dev/null || true; done <"$made" # deepest first
    rm -rf "$tmp"
  }
  trap cleanup_usrlocal EXIT
  cmake --install "$build" >/dev/null
  cp "$build/install_manifest.txt" "$manifest" # what was installed, exactly
  env -u PKG_CONFIG_PATH cc -o "$tmp/hello_ul" "$src/examples/hello.c" $(env -u PKG_CONFIG_PATH pkg-config --cflags --libs tern)
  env -u LD_LIBRARY_PATH /usr/local/bin/ternrun -n 2 --timeout 30 "$tmp/hello_ul" | grep -q "All 18 greetings" ||
    { echo "FAIL: a program built for /usr/local"; exit 1; }
  env -u PKG_CONFIG_PATH cc -o "$tmp/hello_ul_static" "$src/examples/hello.c" \
    $(env -u PKG_CONFIG_PATH pkg-config --cflags tern) /usr/local/lib/libtern.a \
    $(env -u PKG_CONFIG_PATH pkg-config --static --libs tern | sed 's/-ltern\b//')
  for plugin in /usr/local/lib/tern/tern-*.so; do
    [ -e "$plugin" ] || continue
    name=$(basename "$plugin" .so)
    name=${name#tern-}
    env TERN_TRANSPORT=$name TERN_VERBOSE=2 UCX_TLS=sm TERN_OFI_PROVIDER=shm \
      /usr/local/bin/ternrun -n 2 --timeout 30 "$tmp/hello_ul_static" 2>"$tmp/err" | grep -q "All 18 greetings" &&
      grep -q "loaded /usr/local/lib/tern/tern-$name.so" "$tmp/err" ||
      { cat "$tmp/err"; echo "FAIL: a static program did not load $name's plugin from /usr/local/lib/tern"; exit 1; }
  done
  mkdir -p "$tmp/app_ul"
  cp "$tmp/app/CMakeLists.txt" "$src/examples/hello.c" "$tmp/app_ul/"
  env -u CMAKE_PREFIX_PATH cmake -S "$tmp/app_ul" -B "$tmp/app_ul/build" >/dev/null
  cmake --build "$tmp/app_ul/build" >/dev/null
  env -u LD_LIBRARY_PATH /usr/local/bin/ternrun -n 3 --timeout 30 "$tmp/app_ul/build/hello" | grep -q "All 19 greetings" ||
    { echo "FAIL: find_package(Tern) from /usr/local"; exit 1; }
  echo "installed in /usr/local and used, then removed"
fi
echo "install test passed"
