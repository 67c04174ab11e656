#!/usr/bin/env bash
# The connector's main job on the bundled demo feed, no Kaspersky account needed.
# Until the run loop lands this builds the connector and shows its command line (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFC_BUILD_TESTS=OFF -DKFC_BUILD_BENCH=OFF >/dev/null
cmake --build build/demo -j "$(nproc)" --target kaspersky-feeds-connector
./build/demo/connector/kaspersky-feeds-connector --help
