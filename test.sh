#!/usr/bin/env bash
# Install what is missing, build Tern warning-free, and run the whole test suite.
#   ./test.sh             release build in build/
#   ./test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   ./test.sh --minimal   without the optional parts (UCX, libfabric, PMIx, PMI-2, hwloc, Python) in
#                         build-minimal/: their tests show as skipped, the rest must pass
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup-debian.sh
dir=build
# TERN_TEST_SYSTEM_INSTALL: the install tests put Tern into /usr (its .deb packages) and
# /usr/local as root, where none is installed, and remove it afterwards.
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_WERROR=ON -DTERN_TEST_SYSTEM_INSTALL=ON)
case "${1:-}" in
  --sanitize)
    dir=build-asan
    flags=(-DCMAKE_BUILD_TYPE=Debug -DTERN_WERROR=ON -DTERN_SANITIZE=ON -DTERN_TEST_SYSTEM_INSTALL=ON) ;;
  --minimal)
    dir=build-minimal
    flags+=(-DTERN_WITH_UCX=OFF -DTERN_WITH_OFI=OFF -DTERN_WITH_PMIX=OFF -DTERN_WITH_PMI2=OFF
            -DTERN_WITH_HWLOC=OFF -DTERN_WITH_PYTHON=OFF) ;;
  "") ;;
  *) echo "usage: ./test.sh [--sanitize | --minimal]" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" "${flags[@]}"
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure --timeout 300
