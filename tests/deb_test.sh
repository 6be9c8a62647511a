#!/usr/bin/env bash
# Tern's Debian packages, made by CPack, installed with dpkg and used: the installed
# example sources build against them with their Makefile (pkg-config) and run under the
# installed ternrun; each transport plugin package is loaded by a job that selects it;
# python3-tern imports and runs. The packages are removed at the end.
#   deb_test.sh SOURCE_DIR WORK_DIR [CMAKE OPTION...]   (the options of the outer build)
set -euo pipefail
src=$1 work=$2
shift 2
[ "$(id -u)" -eq 0 ] || { echo "skipped: installing .deb packages needs root"; exit 77; }
command -v dpkg-shlibdeps >/dev/null ||
  { echo "skipped: dpkg-shlibdeps missing (Debian: apt-get install dpkg-dev)"; exit 77; }
for p in libtern0 libtern-dev tern-run tern-transport-ucx tern-transport-ofi python3-tern; do
  if [ "$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null)" = "install ok installed" ]; then
    echo "skipped: Tern's package $p is installed on this machine already; not touching it"
    exit 77
  fi
done
if ls /usr/lib/*/libtern.so* /usr/lib/libtern.so* /usr/local/lib/libtern.so* /usr/local/bin/ternrun >/dev/null 2>&1; then
  echo "FAIL: a Tern not from the packages is installed in /usr or /usr/local" \
       "($(ls /usr/lib/*/libtern.so* /usr/lib/libtern.so* /usr/local/lib/libtern.so* /usr/local/bin/ternrun 2>/dev/null | tr '\n' ' ')):" \
       "a test that installs there was interrupted; remove it"
  exit 1
fi
rm -rf "$work"
mkdir -p "$work"
installed=()
purge() {
  [ ${#installed[@]} -eq 0 ] || dpkg -P "${installed[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap purge EXIT

# A build for /usr: the library, ternrun, the plugins and the Python package only.
cmake -S "$src" -B "$work/build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTERN_BUILD_TESTS=OFF -DTERN_BUILD_EXAMPLES=OFF -DTERN_BUILD_PERF=OFF \
  -DTERN_PYTHON_INSTALL_DIR=lib/python3/dist-packages "$@" >"$work/configure.log"
cmake --build "$work/build" -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; echo "FAIL: build"; exit 1; }
(cd "$work/build" && cpack -G DEB >"$work/cpack.log" 2>&1) ||
  { tail -30 "$work/cpack.log"; echo "FAIL: cpack"; exit 1; }
debs=("$work"/build/packages/*.deb)
for d in "${debs[@]}"; do
  printf '%-28s %s\n' "$(dpkg-deb -f "$d" Package)" "Depends: $(dpkg-deb -f "$d" Depends)"
done
pkg() { dpkg-deb -f "$work/build/packages/$1"_*.deb "$2" 2>/dev/null; }
for p in libtern0 libtern-dev tern-run; do
  [ -e "$(ls "$work"/build/packages/${p}_*.deb 2>/dev/null | head -1)" ] || { echo "FAIL: no $p package"; exit 1; }
done
# The library's package pulls in neither UCX nor libfabric: those come with the plugins'.
deps=$(pkg libtern0 Depends) || { echo "FAIL: libtern0 has no control fields"; exit 1; }
! grep -qE "libucx|libfabric" <<<"$deps" ||
  { echo "FAIL: libtern0 depends on UCX or libfabric"; exit 1; }
for t in ucx:libucx ofi:libfabric; do
  if [ -e "$(ls "$work"/build/packages/tern-transport-${t%%:*}_*.deb 2>/dev/null | head -1)" ]; then
    deps=$(pkg tern-transport-${t%%:*} Depends) || deps=""
    grep -q "${t#*:}" <<<"$deps" ||
      { echo "FAIL: tern-transport-${t%%:*} does not depend on ${t#*:}"; exit 1; }
  fi
done

for d in "${debs[@]}"; do installed+=("$(dpkg-deb -f "$d" Package)"); done
dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; echo "FAIL: dpkg -i"; exit 1; }
command -v ternrun >/dev/null && [ "$(command -v ternrun)" = /usr/bin/ternrun ] ||
  { echo "FAIL: /usr/bin/ternrun is not the ternrun on PATH"; exit 1; }

# The examples, as a user of the packages builds them.
cp -r /usr/share/tern/examples "$work/examples"
env -u PKG_CONFIG_PATH make -s -C "$work/examples" hello pingpong >/dev/null
cd "$work/examples"
env -u LD_LIBRARY_PATH /usr/bin/ternrun -n 3 --timeout 60 ./hello | grep -q "All 19 greetings" ||
  { echo "FAIL: hello built against the packages"; exit 1; }
env -u LD_LIBRARY_PATH LD_DEBUG=files LD_DEBUG_OUTPUT="$work/ld" \
  /usr/bin/ternrun -n 2 --timeout 60 ./hello >/dev/null
# grep reads the files itself: `cat | grep -q` would fail by SIGPIPE on a match, and the
# negation would pass it.
ls "$work"/ld.* >/dev/null 2>&1 || { echo "FAIL: LD_DEBUG wrote nothing"; exit 1; }
! grep -qE "libucp|libuct|libfabric" "$work"/ld.* ||
  { echo "FAIL: a shm job of the packages loaded UCX or libfabric"; exit 1; }
# The examples were built against the packages in /usr, not another Tern.
pc_libdir=$(realpath -m "$(env -u PKG_CONFIG_PATH pkg-config --variable=libdir tern)")
[ "$pc_libdir" = "/usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)" ] ||
  { echo "FAIL: pkg-config finds a Tern outside /usr: $pc_libdir"; exit 1; }
for t in ucx ofi; do
  dpkg-query -W "tern-transport-$t" >/dev/null 2>&1 || continue
  env -u LD_LIBRARY_PATH TERN_TRANSPORT=$t TERN_VERBOSE=2 UCX_TLS=sm,self TERN_OFI_PROVIDER=shm \
    /usr/bin/ternrun -n 2 --timeout 60 ./pingpong 64 10 1 >/dev/null 2>"$work/err.$t" ||
    { cat "$work/err.$t"; echo "FAIL: pingpong over $t"; exit 1; }
  grep -q "loaded /usr/lib/.*tern/tern-$t.so" "$work/err.$t" ||
    { cat "$work/err.$t"; echo "FAIL: the $t plugin was not loaded from the package"; exit 1; }
done
if dpkg-query -W python3-tern >/dev/null 2>&1; then
  env -u PYTHONPATH -u LD_LIBRARY_PATH /usr/bin/ternrun -n 2 --timeout 60 /usr/bin/python3 "$src/tests/install_hi.py" |
    grep -q "python pes \[0, 1\]" || { echo "FAIL: python3-tern"; exit 1; }
fi
echo "deb test passed: ${installed[*]} installed, used and removed"
