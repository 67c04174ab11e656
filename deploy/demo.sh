#!/usr/bin/env bash
# The connector's main job on the bundled demo feed — no Kaspersky account, no OpenCTI needed.
#
# A TAXII test server on 127.0.0.1 serves deploy/demo/feed (six collections shaped like Kaspersky's
# Demo Threat Data Feeds); the connector reads them once, maps them to STIX 2.1 exactly as for
# OpenCTI, and writes the bundles to a directory. It prints where they are and a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

./deploy/install-deps.sh
build=${KFC_DEMO_BUILD_DIR:-build/demo}
echo "Building the connector and the TAXII test server (first time: a few minutes)..."
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFC_BUILD_TESTS=ON -DKFC_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target kaspersky-feeds-connector kfc-taxii-test-server >/dev/null

connector=$(find "$build" -type f -name kaspersky-feeds-connector -perm -u+x | head -1)
server=$(find "$build" -type f -name kfc-taxii-test-server -perm -u+x | head -1)
token="demo-taxii-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
out_dir="$root/$build/bundles"
rm -rf "$out_dir"
mkdir -p "$out_dir"

# The TAXII server: loopback only, a free port, Kaspersky's answers (404 for an empty window).
port_file=$(mktemp)
KFC_TAXII_TEST_TOKEN="$token" "$server" --data deploy/demo/feed --api-root v2 --empty 404 >"$port_file" 2>/dev/null &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.05; done
port=$(head -1 "$port_file")
[ -n "$port" ] || { echo "the TAXII test server did not start" >&2; exit 1; }

echo "Demo TAXII server: http://127.0.0.1:$port/v2/ (6 collections, $(grep -c '"date_added"' deploy/demo/feed/*.json | awk -F: '{s+=$2} END {print s}') indicators)"
echo "Running the connector once (directory output)..."
env -i PATH="$PATH" \
  CONNECTOR_ID=8a6f2f4e-5b1c-4d7e-9f20-6c3b1a2d4e5f \
  CONNECTOR_OUTPUT=directory CONNECTOR_OUTPUT_DIR="$out_dir" CONNECTOR_LOG_LEVEL=warning \
  KASPERSKY_API_ROOT="http://127.0.0.1:$port/v2" KASPERSKY_ALLOW_INSECURE_HTTP=true \
  KASPERSKY_API_TOKEN="$token" KASPERSKY_INITIAL_HISTORY=0 \
  "$connector" run --once --summary

files=$(find "$out_dir" -maxdepth 1 -name '*.json' ! -name '.state.json' | wc -l)
echo
echo "Bundles: $files STIX 2.1 bundle files in $out_dir (state: $out_dir/.state.json)"
echo "Look at one:  ls $out_dir | head; less $out_dir/\$(ls $out_dir | head -1)"
echo "Next: point it at Kaspersky's TAXII server with your Demo TAXII Server Token (README, next section)."
