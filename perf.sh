#!/usr/bin/env bash
# Install what is missing, build Tern with its benchmarks, and run every benchmark beside
# Open MPI (perf/run.py; its options pass through, e.g. ./perf.sh --only pingpong --runs 3).
set -euo pipefail
cd "$(dirname "$0")"
bash tools/setup-debian.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
exec python3 perf/run.py --build build "$@"
