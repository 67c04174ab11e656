#!/usr/bin/env bash
# The connector's main job on the bundled demo feed — no Kaspersky account, no OpenCTI needed.
#
# A TAXII test server on 127.0.0.1 serves deploy/demo/feed (six collections shaped like Kaspersky's
# Demo Threat Data Feeds); the connector reads them once, maps them to STIX 2.1 exactly as for
# OpenCTI, and writes the bundles to a directory. It prints where they are and a summary.
# Then the same for a generic TAXII 2.1 feed (deploy/demo/generic, Bearer authentication), read in
# the generic mode that replaces OpenCTI's taxii2 connector.
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

# The TAXII test servers run on loopback only, on a free port each, and stop when the script ends.
server_pids=()
port_files=()
trap 'kill "${server_pids[@]}" 2>/dev/null || true; rm -f "${port_files[@]}"' EXIT

# start_taxii_server TOKEN SERVER-ARGS...: starts one in the background; its port is left in $port.
start_taxii_server() {
  local token=$1 port_file
  shift
  port_file=$(mktemp)
  port_files+=("$port_file")
  KFC_TAXII_TEST_TOKEN="$token" "$server" "$@" >"$port_file" 2>/dev/null &
  server_pids+=($!)
  for _ in $(seq 1 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  port=$(head -1 "$port_file")
  [ -n "$port" ] || { echo "a TAXII test server did not start" >&2; exit 1; }
}

# run_connector_once OUTPUT-DIR CONNECTOR-ID SETTING=VALUE...: one run, bundles written to OUTPUT-DIR.
run_connector_once() {
  local output_dir=$1 connector_id=$2
  shift 2
  env -i PATH="$PATH" CONNECTOR_ID="$connector_id" \
    CONNECTOR_OUTPUT=directory CONNECTOR_OUTPUT_DIR="$output_dir" CONNECTOR_LOG_LEVEL=warning \
    "$@" "$connector" run --once --summary
}

# Kaspersky's answers (404 for an empty window).
start_taxii_server "$token" --data deploy/demo/feed --api-root v2 --empty 404

echo "Demo TAXII server: http://127.0.0.1:$port/v2/ (6 collections, $(grep -c '"date_added"' deploy/demo/feed/*.json | awk -F: '{s+=$2} END {print s}') indicators)"
echo "Running the connector once (directory output)..."
run_connector_once "$out_dir" 8a6f2f4e-5b1c-4d7e-9f20-6c3b1a2d4e5f \
  KASPERSKY_API_ROOT="http://127.0.0.1:$port/v2" KASPERSKY_ALLOW_INSECURE_HTTP=true \
  KASPERSKY_API_TOKEN="$token" KASPERSKY_INITIAL_HISTORY=0

files=$(find "$out_dir" -maxdepth 1 -name '*.json' ! -name '.state.json' | wc -l)
echo
echo "Bundles: $files STIX 2.1 bundle files in $out_dir (state: $out_dir/.state.json)"
echo "Look at one:  ls $out_dir | head; less $out_dir/\$(ls $out_dir | head -1)"

# The second example: any TAXII 2.1 feed (the generic mode, a drop-in for OpenCTI's taxii2 connector).
# A small STIX 2.1 bundle (deploy/demo/generic) behind Bearer authentication; its objects pass through
# with a few of the taxii2 connector's settings applied.
generic_dir="$root/$build/generic-bundles"
rm -rf "$generic_dir"
mkdir -p "$generic_dir"
bearer="demo-bearer-token-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
start_taxii_server "$bearer" --data deploy/demo/generic --auth bearer --api-root feeds --empty '{}'
generic_port=$port

echo
echo "Generic TAXII 2.1 feed: http://127.0.0.1:$generic_port/taxii2/ (Bearer token; 1 collection, $(grep -c '"spec_version"' deploy/demo/generic/*.json) STIX objects)"
echo "Running the connector once in the generic mode (TAXII2_* settings, directory output)..."
run_connector_once "$generic_dir" 3d0f5b7a-1c2e-4f60-8a9b-7e6d5c4b3a21 \
  TAXII2_DISCOVERY_URL="http://127.0.0.1:$generic_port/taxii2/" TAXII2_ALLOW_INSECURE_HTTP=true \
  TAXII2_USE_TOKEN=true TAXII2_TOKEN="$bearer" TAXII2_INITIAL_HISTORY=0 \
  TAXII2_COLLECTIONS='feeds.ACME Phishing & Malware Feed v2.1' \
  TAXII2_ADD_CUSTOM_LABEL=true TAXII2_CUSTOM_LABEL=acme-demo \
  TAXII2_IGNORE_PATTERN_TYPES=true TAXII2_PATTERN_TYPES_TO_IGNORE=yara \
  TAXII2_DETERMINE_X_OPENCTI_SCORE_BY_LABEL=true TAXII2_INDICATOR_HIGH_SCORE_LABELS=high \
  TAXII2_INDICATOR_MEDIUM_SCORE_LABELS=medium TAXII2_INDICATOR_LOW_SCORE_LABELS=low

generic_files=$(find "$generic_dir" -maxdepth 1 -name '*.json' ! -name '.state.json' | wc -l)
echo
echo "Bundles: $generic_files STIX 2.1 bundle files in $generic_dir"
echo "Next: point it at Kaspersky's TAXII server with your Demo TAXII Server Token, or at any TAXII server"
echo "with the TAXII2_* settings of OpenCTI's taxii2 connector (README)."
