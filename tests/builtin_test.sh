#!/usr/bin/env bash
# TERN_TRANSPORTS_BUILTIN=ON: the network transports compiled into libtern (no plugins),
# for installations that ship one static library. Builds the library that way, installs
# it, and runs examples/hello over every transport, linked both to libtern.so and
# statically to libtern.a (pkg-config --static brings UCX and libfabric).
#   builtin_test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src=$1 work=$2
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cmake -S "$src" -B "$work/build" -DTERN_TRANSPORTS_BUILTIN=ON -DTERN_BUILD_TESTS=OFF \
  -DTERN_BUILD_EXAMPLES=OFF -DTERN_BUILD_PERF=OFF -DTERN_WITH_PYTHON=OFF -DTERN_WERROR=ON \
  >"$work/configure.log"
cmake --build "$work/build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log"; echo "FAIL: build"; exit 1; }
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
lib=$(find "$work/prefix" -name libtern.so | head -1)
libdir=$(dirname "$lib")
[ ! -e "$libdir/tern" ] || { ls "$libdir/tern"; echo "FAIL: plugins built with TERN_TRANSPORTS_BUILTIN"; exit 1; }
transports=(shm)
ldd "$lib" >"$work/ldd"
grep -q libucp "$work/ldd" && transports+=(ucx)
grep -q libfabric "$work/ldd" && transports+=(ofi)
[ ${#transports[@]} -gt 1 ] || { cat "$work/ldd"; echo "FAIL: libtern.so links no network library"; exit 1; }
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc -o "$work/hello" "$src/examples/hello.c" $(pkg-config --cflags --libs tern)
cc -o "$work/hello_static" "$src/examples/hello.c" $(pkg-config --cflags tern) "$libdir/libtern.a" \
   $(pkg-config --static --libs tern | sed 's/-ltern\b//')
for exe in hello hello_static; do
  for t in "${transports[@]}"; do
    env TERN_TRANSPORT=$t TERN_VERBOSE=2 UCX_TLS=sm,self TERN_OFI_PROVIDER=shm \
      "$work/prefix/bin/ternrun" -n 2 --timeout 30 "$work/$exe" >"$work/out" 2>"$work/err" ||
      { cat "$work/out" "$work/err"; echo "FAIL: $exe over $t"; exit 1; }
    grep -q "All 18 greetings" "$work/out" || { cat "$work/out"; echo "FAIL: $exe over $t"; exit 1; }
    ! grep -q "loaded .*tern-" "$work/err" || { cat "$work/err"; echo "FAIL: a plugin was loaded"; exit 1; }
  done
done
echo "builtin transports: ${transports[*]} ran, shared and static, no plugin loaded"
