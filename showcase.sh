#!/usr/bin/env bash
# Install what is missing, build Tern, and run the hello example on 8 PEs.
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
echo "--- ternrun -n 8 build/examples/hello"
build/tools/ternrun -n 8 --timeout 60 build/examples/hello
