#!/usr/bin/env bash
# The Spack package's whole check, offline: Spack builds Tern with each variant set,
# runs the test suite (--test=root: the package's check() runs ctest), runs the package's
# tests on the installed prefix (spack test run), builds examples/hello.c against the
# install after `spack load`, and shows what each build linked (ldd).
#
#   SPACK_ROOT=<spack checkout> spack/check.sh [--sets "SET;SET;..."] [--keep]
#
# Environment:
#   SPACK_ROOT         a Spack checkout (required: without it the check skips, exit 77)
#   SPACK_PACKAGES     Spack 1.x: a checkout of spack-packages (its builtin repository);
#                      Spack 0.x carries its own
#   CLINGO_PYTHONPATH  where the clingo Python module is, when not on the interpreter's
#                      path (Spack's concretizer needs clingo >= 5.5; bootstrapping is off)
#   SPACK_PYTHON       the interpreter Spack runs with (default /usr/bin/python3)
#   TERN_SPACK_WORK    the work folder (default: a new one under /var/tmp, removed at the
#                      end unless --keep or a failure; one named here is never removed)
#   TERN_CTEST_ARGS    more arguments for check()'s ctest (a label filter, say)
# Nothing is fetched: the libraries come from the system as externals, Tern's source is
# this checkout's branch `main` (a commit, not the work tree), a fresh install tree and
# build stage live in the work folder, and the user's ~/.spack is not read.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
sets=("~ucx~ofi~pmix~pmi2~hwloc~python~examples~perf" "" "+ucx+ofi+pmix+pmi2+hwloc+python+examples+perf+mpi")
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --sets) IFS=';' read -r -a sets <<<"$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: SPACK_ROOT=... spack/check.sh [--sets 'SET;SET'] [--keep]" >&2; exit 2 ;;
  esac
done
if [ -z "${SPACK_ROOT:-}" ] || [ ! -x "$SPACK_ROOT/bin/spack" ]; then
  echo "SKIP: no Spack given: set SPACK_ROOT to a Spack checkout (and SPACK_PACKAGES to" \
       "spack-packages for Spack 1.x, CLINGO_PYTHONPATH to clingo's Python module)"
  exit 77
fi
export SPACK_PYTHON=${SPACK_PYTHON:-/usr/bin/python3}
[ -n "${CLINGO_PYTHONPATH:-}" ] && export PYTHONPATH="$CLINGO_PYTHONPATH${PYTHONPATH:+:$PYTHONPATH}"
"$SPACK_PYTHON" -c "import clingo" 2>/dev/null || {
  echo "FAIL: $SPACK_PYTHON cannot import clingo (set CLINGO_PYTHONPATH; Spack's" \
       "concretizer needs clingo >= 5.5 and this check does not bootstrap it)"; exit 1; }
git -C "$src" rev-parse --verify -q main >/dev/null || { echo "FAIL: $src has no branch main"; exit 1; }
[ -z "$(git -C "$src" status --porcelain --untracked-files=no)" ] ||
  echo "note: $src has uncommitted changes; Spack builds the committed branch main"

# Removed at the end only when this script made it (not a folder TERN_SPACK_WORK names).
made=0
if [ -n "${TERN_SPACK_WORK:-}" ]; then
  work=$TERN_SPACK_WORK
else
  work=$(mktemp -d /var/tmp/tern-spack.XXXXXX)
  made=1
fi
mkdir -p "$work"
work=$(cd "$work" && pwd)
ok=0
trap '[ $ok -eq 1 ] && [ $keep -eq 0 ] && [ $made -eq 1 ] && rm -rf "$work"' EXIT
# The user and system scopes live in the work folder: ~/.spack and /etc/spack are not read.
export SPACK_USER_CONFIG_PATH="$work/user" SPACK_SYSTEM_CONFIG_PATH="$work/system" \
       SPACK_USER_CACHE_PATH="$work/cache"
unset SPACK_ENV SPACK_DISABLE_LOCAL_CONFIG
user=$SPACK_USER_CONFIG_PATH
rm -rf "$user" "$work/opt" "$work/stage" "$work/test"
mkdir -p "$user" "$work/system" "$work/logs"
spack() { "$SPACK_ROOT/bin/spack" "$@"; }
say() { printf '\n== %s\n' "$*"; }

# ---- configuration: a private user scope ----
cat >"$user/config.yaml" <<EOF
config:
  install_tree:
    root: $work/opt
  build_stage: [$work/stage]
  test_stage: $work/test
  source_cache: $work/source-cache
  misc_cache: $work/misc-cache
  build_jobs: $(nproc)
EOF
cat >"$user/bootstrap.yaml" <<EOF
bootstrap:
  enable: false
EOF
cat >"$user/mirrors.yaml" <<EOF
mirrors:: {}
EOF
{
  echo "repos::"
  echo "  - $src/spack"
  if [ -n "${SPACK_PACKAGES:-}" ]; then
    for d in "$SPACK_PACKAGES/repos/spack_repo/builtin" "$SPACK_PACKAGES"; do
      [ -e "$d/repo.yaml" ] && { echo "  - $d"; break; }
    done
  else
    echo "  - $SPACK_ROOT/var/spack/repos/builtin"
  fi
} >"$user/repos.yaml"

# Externals: what Debian installed (tools/setup-debian.sh), with the versions it has.
pcver() { pkg-config --modversion "$1"; }
pcpre() { pkg-config --variable=prefix "$1"; }
pyver() { "$SPACK_PYTHON" -c "import $1; print($1.__version__)" 2>/dev/null; }
ext() { # name version prefix
  [ -n "$2" ] || { echo "note: no $1 on this machine: builds that need it will fail" >&2; return 0; }
  printf '  %s:\n    buildable: false\n    externals:\n    - spec: %s@%s\n      prefix: %s\n' "$1" "$1" "$2" "$3"
}
# Python modules: Spack puts <prefix>/lib/pythonX.Y/site-packages of each on PYTHONPATH,
# while Debian keeps them in /usr/lib/python3/dist-packages: a prefix of links shows them
# where Spack looks.
pyxy=$("$SPACK_PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
pyprefix="$work/debian-python"
mkdir -p "$pyprefix/lib/python$pyxy"
ln -sfn /usr/lib/python3/dist-packages "$pyprefix/lib/python$pyxy/site-packages"
{
  echo "packages:"
  ext cmake "$(cmake --version | awk 'NR==1 {print $3}')" /usr
  ext gmake "$(make --version | awk 'NR==1 {print $3}')" /usr
  ext pkgconf "$(pkg-config --version)" /usr
  ext bash "$(bash -c 'echo ${BASH_VERSINFO[0]}.${BASH_VERSINFO[1]}.${BASH_VERSINFO[2]}')" /usr
  ext bc "$(bc --version 2>/dev/null | awk 'NR==1 {print $2}')" /usr
  ext ucx "$(pcver ucx)" "$(pcpre ucx)"
  ext libfabric "$(pcver libfabric)" "$(pcpre libfabric)"
  ext pmix "$(pcver pmix)" "$(pcpre pmix)"
  ext hwloc "$(pcver hwloc)" "$(pcpre hwloc)"
  # Slurm: for its libpmi2 (Debian's libpmi2-0-dev, in /usr like the rest of Slurm).
  ext slurm "$(dpkg-query -W -f '${Version}' libpmi2-0-dev 2>/dev/null | sed 's/-.*//')" /usr
  ext python "$("$SPACK_PYTHON" -c 'import platform; print(platform.python_version())')" \
    "$(dirname "$(dirname "$SPACK_PYTHON")")"
  ext py-greenlet "$(pyver greenlet)" "$pyprefix"
  ext py-numpy "$(pyver numpy)" "$pyprefix"
  ext py-cloudpickle "$(pyver cloudpickle)" "$pyprefix"
  ext py-pytest "$(pyver pytest)" "$pyprefix"
  ext benchmark "$(dpkg-query -W -f '${Version}' libbenchmark-dev 2>/dev/null | sed 's/-.*//')" /usr
  ext openmpi "$(mpirun --version 2>/dev/null | awk 'NR==1 {print $NF}')" /usr
  echo "  mpi:"
  echo "    require: openmpi"
  echo "  tern:"
  echo "    package_attributes:"
  echo "      git: file://$src"
} >"$user/packages.yaml"
spack compiler find --scope user >/dev/null
say "Spack $(spack --version) (clingo $("$SPACK_PYTHON" -c 'import clingo; print(clingo.__version__)')); work folder $work"
spack compilers | sed 's/^/  /'

# ---- each variant set ----
fail() { echo "FAIL: [$set] $*"; ok=0; exit 1; }
for set in "${sets[@]}"; do
  spec="tern@main$set"
  log="$work/logs/$(echo "${set:-default}" | tr -c 'a-z0-9\n' '_').log"
  say "$spec: concretize, install with --test=root (log: $log)"
  spack uninstall -ay tern >/dev/null 2>&1 || true
  spack clean -s >/dev/null
  spack spec -I "$spec" | tee "$log" | sed 's/^/  /'
  t0=$(date +%s)
  if ! spack install -v --test=root --fresh "$spec" >>"$log" 2>&1; then
    tail -40 "$log"; fail "spack install --test=root"
  fi
  echo "  installed in $(( $(date +%s) - t0 )) s"
  grep -E "tests passed|Total Test time|tests failed" "$log" | sed 's/^/  ctest: /' | tail -3
  grep -q "tests passed" "$log" || fail "no ctest summary in the log: check() ran no test"
  grep -E "Tern: (optional libraries|Python package)" "$log" | sed 's/^.*-- /  configure: /'
  prefix=$(spack location -i "$spec")
  lib=$(find "$prefix" -name libtern.so | head -1)

  say "$spec: what libtern.so and its plugins link (NEEDED: linked directly; ldd: all loaded)"
  echo "  libtern.so NEEDED: $(readelf -d "$lib" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
  ldd "$lib" | awk '{print "  libtern.so -> " $1}'
  for p in "$(dirname "$lib")"/tern/tern-*.so; do
    [ -e "$p" ] || continue
    ldd "$p" | awk -v n="$(basename "$p")" '$1 ~ /ucp|ucs|uct|fabric/ {print "  " n " -> " $1}'
  done
  # Each variant changes what is built and linked. (ldd's output to a file first: grep -q
  # leaving a pipe early would fail the pipeline under pipefail.)
  ldd "$lib" >"$work/ldd"
  links() { grep -q "$1" "$work/ldd"; }
  has() { case "$set" in *"+$1"*) return 0 ;; *"~$1"*) return 1 ;; *) [ "$2" = on ] ;; esac; }
  if has pmix off; then links libpmix || fail "+pmix but libtern.so does not link libpmix"
  else ! links libpmix || fail "~pmix but libtern.so links libpmix"; fi
  if has pmi2 off; then links libpmi2 || fail "+pmi2 but libtern.so does not link libpmi2"
  else ! links libpmi2 || fail "~pmi2 but libtern.so links libpmi2"; fi
  if has hwloc on; then links libhwloc || fail "+hwloc but libtern.so does not link libhwloc"
  else ! links libhwloc || fail "~hwloc but libtern.so links libhwloc"; fi
  for t in ucx ofi; do
    if has $t off; then [ -e "$(dirname "$lib")/tern/tern-$t.so" ] || fail "+$t but no tern-$t.so"
    else [ ! -e "$(dirname "$lib")/tern/tern-$t.so" ] || fail "~$t but tern-$t.so was built"; fi
  done
  ! links "libucp\|libfabric" || fail "libtern.so links UCX or libfabric itself"
  pydir=$(find "$prefix" -path "*-packages/tern/__init__.py" | head -1)
  if has python off; then [ -n "$pydir" ] || fail "+python but no Python package installed"
  else [ -z "$pydir" ] || fail "~python but the Python package was installed"; fi

  say "$spec: spack test run"
  spack test run --alias "t$$" "$spec" >"$log.test" 2>&1 || { cat "$log.test"; fail "spack test run"; }
  spack test results -l "t$$" >>"$log.test" 2>&1 || true
  grep -E "^==> \[.*\] (test_|Completed)|(PASSED|FAILED|SKIPPED): " "$log.test" | sed 's/^/  /' | tail -20
  grep -q "PASSED" "$log.test" || { cat "$log.test"; fail "spack test run passed nothing"; }
  ! grep -qE "FAILED|ERROR" "$log.test" || { cat "$log.test"; fail "spack test run failed"; }
  spack test remove -y "t$$" >/dev/null 2>&1 || true

  say "$spec: a program built against the install after spack load (pkg-config, no LD_LIBRARY_PATH)"
  app="$work/app"
  rm -rf "$app" && mkdir -p "$app"
  (
    eval "$(spack load --sh "$spec")"
    cc -o "$app/hello" "$src/examples/hello.c" $(pkg-config --cflags --libs tern)
    env -u LD_LIBRARY_PATH LD_DEBUG=files LD_DEBUG_OUTPUT="$app/ld" \
      ternrun -n 3 --timeout 60 "$app/hello" >"$app/out"
    # The installed examples and their Makefile build the same way.
    cp -r "$prefix/share/tern/examples" "$app/examples"
    make -s -C "$app/examples" CC=cc pingpong >/dev/null
    env -u LD_LIBRARY_PATH ternrun -n 2 --timeout 60 "$app/examples/pingpong" >"$app/out.pp"
  ) || fail "building or running hello against the install"
  grep -q "All 19 greetings received" "$app/out" || { cat "$app/out"; fail "hello's output"; }
  ls "$app"/ld.* >/dev/null 2>&1 || fail "LD_DEBUG wrote nothing"
  ! grep -qE "libucp|libuct|libfabric" "$app"/ld.* || fail "a shm-only job loaded UCX or libfabric"
  echo "  hello ran on 3 PEs; the shm job loaded no UCX or libfabric library"
done
ok=1
say "PASS: ${#sets[@]} variant sets built, tested (ctest and spack test run) and used"
