#!/usr/bin/env bash
# Install what is missing, build Tern warning-free, and run the whole test suite.
#   ./test.sh             release build in build/
#   ./test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup-debian.sh
dir=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_WERROR=ON)
if [ "${1:-}" = "--sanitize" ]; then
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DTERN_WERROR=ON -DTERN_SANITIZE=ON)
fi
cmake -S . -B "$dir" "${flags[@]}"
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure --timeout 300
