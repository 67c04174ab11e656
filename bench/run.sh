#!/usr/bin/env bash
# The end-to-end benchmark, one command on a fresh clone (Debian 12, as root):
#
#   bench/run.sh                    # sizes 10k, 100k and 1M indicators (the 1M size takes a while)
#   bench/run.sh --size 100000      # one size (repeat --size for several)
#   bench/run.sh --update-readme    # also puts the table into README.md (between the bench markers)
#
# For each size: a deterministic Kaspersky-shaped feed (three collections, every pattern kind, rich
# description contexts) is written as static TAXII pages of 1,000 objects (kfc-bench-feed) and served
# from 127.0.0.1 (kfc-bench-taxii). Then, each measured on its own (kfc-bench-measure: wall, CPU and
# peak RSS of the process):
#   - fetch limit: curl reading the same pages over one keep-alive connection;
#   - fetch only: the connector's TAXII client reading and parsing them, objects discarded;
#   - dry run: `run --once --dry-run` (objects printed as the reference prints them, to /dev/null);
#   - directory: `run --once` with the directory output (kept until the bench ends: about 7 GB at 1M);
#   - RabbitMQ: `run --once` into the local RabbitMQ via the stand-in OpenCTI, a consumer draining the
#     queue as OpenCTI's workers do;
#   - broker limit: a minimal rabbitmq-c publisher (persistent, confirms, window 500) sending the
#     messages the connector produced, as many, into the same queue.
# Cold start (process start to the first TAXII request) is read from the server's first request.
# The Markdown table goes to stdout and to --out (default bench/results.md).
#
# Options: --size N (repeatable), --out FILE, --work DIR (feeds and scratch, default /tmp/kfc-bench),
# --build-dir DIR (default build/bench, a Release build), --no-build (use the binaries in --build-dir),
# --update-readme, --only fetch,dry,directory,rabbitmq (a subset of the runs, for a quick look; the
# README table is a full run), --opencti-delay-ms N (the stand-in OpenCTI holds each addExpectations
# answer N ms, as a real platform takes tens of ms per call; default 0, as for the README table). Needs RabbitMQ on 127.0.0.1:5672 (started here with tests/rabbitmq.sh when absent);
# in a shared machine run it inside the caller's network namespace.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

sizes=()
out="$root/bench/results.md"
work=${KFC_BENCH_WORK:-/tmp/kfc-bench}
build="$root/build/bench"
do_build=1
update_readme=0
only=fetch,dry,directory,rabbitmq
opencti_delay_ms=0
while [ $# -gt 0 ]; do
  case "$1" in
    --size) sizes+=("$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    --no-build) do_build=0; shift ;;
    --update-readme) update_readme=1; shift ;;
    --only) only=$2; shift 2 ;;
    --opencti-delay-ms) opencti_delay_ms=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)

log() { echo "bench: $*" >&2; }
wanted() { [[ ",$only," == *",$1,"* ]]; }

if [ "$do_build" = 1 ]; then
  command -v cmake >/dev/null && command -v ninja >/dev/null && command -v curl >/dev/null || "$root/deploy/install-deps.sh"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DKFC_BUILD_TESTS=ON >/dev/null
  cmake --build "$build" -j "$(nproc)" --target kaspersky-feeds-connector kfc-bench-feed kfc-bench-taxii \
    kfc-bench-measure kfc-bench-fetch kfc-bench-amqp kfc-bench-opencti >&2
fi
connector="$build/connector/kaspersky-feeds-connector"
tools="$build/bench/tools"
for binary in "$connector" "$tools"/kfc-bench-{feed,taxii,measure,fetch,amqp,opencti}; do
  [ -x "$binary" ] || { echo "bench/run.sh: $binary is missing (build first, or drop --no-build)" >&2; exit 1; }
done
"$root/tests/rabbitmq.sh" start >&2

mkdir -p "$work"
scratch=$(mktemp -d "$work/run.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

# value KEY FILE: the value of a "key<TAB>value" line.
value() { awk -F'\t' -v k="$1" '$1 == k { print $2 }' "$2"; }
calc() { awk "BEGIN { printf \"%s\", $1 }"; }

# start_server FEED: the static TAXII server; sets $port and records its first request in $scratch/first.
start_server() {
  rm -f "$scratch/first" "$scratch/port"  # (a stale port file would be read before the new one is written)
  "$tools/kfc-bench-taxii" --data "$1" --first-request-file "$scratch/first" >"$scratch/port" &
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 600); do [ -s "$scratch/port" ] && break; sleep 0.05; done
  port=$(head -1 "$scratch/port")
  [ -n "$port" ] || { echo "bench/run.sh: the static TAXII server did not start" >&2; exit 1; }
}
stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }

# The connector's environment: everything but the output.
connector_env() {
  echo KASPERSKY_API_ROOT="http://127.0.0.1:$port/api/" KASPERSKY_API_TOKEN=bench-taxii-token-0123456789 \
    KASPERSKY_API_TOKEN_EXPIRES_AT=2099-01-01 KASPERSKY_ALLOW_INSECURE_HTTP=true KASPERSKY_INITIAL_HISTORY=0 \
    CONNECTOR_ID="$connector_id" CONNECTOR_LOG_LEVEL=info
}

# measure NAME FEED COMMAND...: runs COMMAND against a fresh server; results in $scratch/NAME.tsv,
# stdout in $scratch/NAME.out, stderr in $scratch/NAME.err; the cold start in $scratch/NAME.cold.
measure() {
  local name=$1 feed=$2; shift 2
  start_server "$feed"
  local status=0
  env $(connector_env) "$@" >"$scratch/$name.out" 2>"$scratch/$name.err" || status=$?
  stop_server
  if [ "$status" != 0 ]; then
    echo "bench/run.sh: $name failed (exit $status):" >&2
    tail -5 "$scratch/$name.err" >&2
    exit 1
  fi
  if [ -s "$scratch/first" ]; then
    calc "($(cat "$scratch/first") - $(value spawn_us "$scratch/$name.tsv")) / 1000" >"$scratch/$name.cold"
  fi
}
run_measured() { local name=$1 feed=$2; shift 2; measure "$name" "$feed" "$tools/kfc-bench-measure" --out "$scratch/$name.tsv" -- "$@"; }
# The dry run's objects go to /dev/null: writing gigabytes to a file would measure the disk.
run_measured_quiet() {
  local name=$1 feed=$2; shift 2
  measure "$name" "$feed" "$tools/kfc-bench-measure" --out "$scratch/$name.tsv" --stdout /dev/null -- "$@"
}

# The number in the connector's last "sent/queued N objects" log line.
objects_sent() { grep -oE '(sent|queued) [0-9]+ objects' "$1" | tail -1 | grep -oE '[0-9]+'; }

rows=()
cold_lines=()
row() {  # size run wall cpu indicators("–" for the limit rows) objects rss_kb fetch_pct broker_pct
  local ind_per_cpu=$([ "$5" = "–" ] && echo "–" || calc "$5 / ($4 > 0 ? $4 : 1e-9)")
  local obj_per_s=$([ "$6" = "–" ] && echo "–" || calc "$6 / $3")
  rows+=("| $1 | $2 | $(printf %.2f "$3") | $(printf %.2f "$4") | $([ "$ind_per_cpu" = "–" ] && echo "–" || printf %.0f "$ind_per_cpu") | $([ "$obj_per_s" = "–" ] && echo "–" || printf %.0f "$obj_per_s") | $(printf %.1f "$(calc "$7 / 1024")") | $8 | $9 |")
}
pct() { [ "$1" = 0 ] || [ "$2" = 0 ] && echo "–" || printf '%.0f %%' "$(calc "100 * $1 / $2")"; }

for size in "${sizes[@]}"; do
  feed="$work/feed-$size"
  if [ "$(value indicators "$feed/feed.tsv" 2>/dev/null)" != "$size" ]; then
    log "writing a feed of $size indicators to $feed"
    "$tools/kfc-bench-feed" --size "$size" --out "$feed"
  fi
  pages=$(value pages "$feed/feed.tsv")
  connector_id=$(cat /proc/sys/kernel/random/uuid)
  curl_wall=0

  if wanted fetch; then
  log "$size: fetch limit (curl, one keep-alive connection)"
  start_server "$feed"
  : >"$scratch/curl.cfg"
  for dir in "$feed"/*/; do
    collection=$(basename "$dir")
    while IFS=$'\t' read -r page _; do
      next=$([ "$page" = 0 ] && echo "" || echo "&next=$page")
      printf 'url = "http://127.0.0.1:%s/api/collections/%s/objects/?limit=1000%s"\noutput = "/dev/null"\n' \
        "$port" "$collection" "$next" >>"$scratch/curl.cfg"
    done <"$dir/pages.tsv"
  done
  "$tools/kfc-bench-measure" --out "$scratch/curl.tsv" -- curl -sf -u taxii:bench -K "$scratch/curl.cfg"
  stop_server
  curl_wall=$(value wall_s "$scratch/curl.tsv")
  row "$size" "fetch limit: curl, $pages pages" "$curl_wall" "$(value cpu_s "$scratch/curl.tsv")" "–" "–" \
    "$(value maxrss_kb "$scratch/curl.tsv")" "100 %" "–"

  fi
  if wanted fetch; then
  log "$size: fetch only (the connector's TAXII client)"
  run_measured fetch "$feed" "$tools/kfc-bench-fetch"
  wall=$(value wall_s "$scratch/fetch.tsv")
  row "$size" "fetch only" "$wall" "$(value cpu_s "$scratch/fetch.tsv")" "$size" "–" \
    "$(value maxrss_kb "$scratch/fetch.tsv")" "$(pct "$curl_wall" "$wall")" "–"

  fi
  if wanted dry; then
  log "$size: dry run"
  run_measured_quiet dry "$feed" "$connector" run --once --dry-run
  wall=$(value wall_s "$scratch/dry.tsv")
  row "$size" "dry run" "$wall" "$(value cpu_s "$scratch/dry.tsv")" "$size" "$(objects_sent "$scratch/dry.err")" \
    "$(value maxrss_kb "$scratch/dry.tsv")" "$(pct "$curl_wall" "$wall")" "–"

  fi
  if wanted directory; then
  log "$size: directory output"
  # A new directory per size, removed only when the bench ends (with $scratch): on ext4 without a
  # journal, creating files where many were just deleted costs kernel time that is not the connector's
  # (bench/README.md, "The directory run and deleted files").
  bundles=$(mktemp -d "$scratch/bundles-$size.XXXXXX")
  run_measured directory "$feed" env CONNECTOR_OUTPUT=directory CONNECTOR_OUTPUT_DIR="$bundles" \
    "$connector" run --once
  wall=$(value wall_s "$scratch/directory.tsv")
  row "$size" "directory" "$wall" "$(value cpu_s "$scratch/directory.tsv")" "$size" \
    "$(objects_sent "$scratch/directory.err")" "$(value maxrss_kb "$scratch/directory.tsv")" "$(pct "$curl_wall" "$wall")" "–"

  fi
  if wanted rabbitmq; then
  log "$size: RabbitMQ via the stand-in OpenCTI"
  rm -f "$scratch/opencti"
  "$tools/kfc-bench-opencti" --connector-id "$connector_id" --answer-delay-ms "$opencti_delay_ms" >"$scratch/opencti" &
  opencti_pid=$!
  pids+=("$opencti_pid")
  for _ in $(seq 600); do [ "$(wc -l <"$scratch/opencti" 2>/dev/null || echo 0)" -ge 4 ] && break; sleep 0.05; done
  [ "$(wc -l <"$scratch/opencti" 2>/dev/null || echo 0)" -ge 4 ] || { echo "bench/run.sh: the stand-in OpenCTI did not start" >&2; exit 1; }
  { read -r opencti_port; read -r queue; read -r exchange; read -r routing; } <"$scratch/opencti"
  "$tools/kfc-bench-amqp" drain --queue "$queue" --save "$scratch/messages.bin" --save-max 100000 \
    --count-file "$scratch/drained" &
  drain_pid=$!
  run_measured rabbitmq "$feed" env OPENCTI_URL="http://127.0.0.1:$opencti_port" OPENCTI_TOKEN=opencti-test-token-0001 \
    "$connector" run --once
  kill "$drain_pid"; wait "$drain_pid" || true
  messages=$(cat "$scratch/drained")
  wall=$(value wall_s "$scratch/rabbitmq.tsv")
  ours_rate=$(calc "$messages / $wall")

  log "$size: broker limit (minimal publisher, $messages messages)"
  "$tools/kfc-bench-amqp" drain --queue "$queue" &
  drain_pid=$!
  "$tools/kfc-bench-measure" --out "$scratch/publisher.tsv" -- "$tools/kfc-bench-amqp" publish \
    --file "$scratch/messages.bin" --count "$messages" --exchange "$exchange" --routing "$routing" --window 500 \
    >"$scratch/publisher.out"
  kill "$drain_pid"; wait "$drain_pid" || true
  kill "$opencti_pid"; wait "$opencti_pid" || true
  announcements=$(value addExpectations "$scratch/opencti")
  publisher_wall=$(value wall_s "$scratch/publisher.tsv")
  broker_rate=$(calc "$messages / $publisher_wall")
  slow=""
  [ "$opencti_delay_ms" = 0 ] || slow=", each answered after $opencti_delay_ms ms"
  row "$size" "RabbitMQ ($messages messages, $announcements addExpectations$slow)" "$wall" \
    "$(value cpu_s "$scratch/rabbitmq.tsv")" "$size" "$(objects_sent "$scratch/rabbitmq.err")" \
    "$(value maxrss_kb "$scratch/rabbitmq.tsv")" "$(pct "$curl_wall" "$wall")" "$(pct "$ours_rate" "$broker_rate")"
  row "$size" "broker limit: minimal publisher" "$publisher_wall" "$(value cpu_s "$scratch/publisher.tsv")" "–" "–" \
    "$(value maxrss_kb "$scratch/publisher.tsv")" "–" "100 %"
  rm -f "$scratch/messages.bin"
  fi

  cold() { [ -s "$scratch/$1.cold" ] && printf %.1f "$(cat "$scratch/$1.cold")" || echo "–"; }
  cold_lines+=("| $size | $(cold dry) | $(cold directory) | $(cold rabbitmq) |")
  rm -f "$scratch"/*.cold
done

{
  echo "Measured by \`bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), load average at the end $(cut -d' ' -f1-3 /proc/loadavg), $(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$build/CMakeCache.txt") build."
  echo "Indicators per CPU-second count the connector process's CPU (user + system); STIX objects per second"
  echo "are the objects the run sent divided by its wall time; % of fetch limit compares wall times with curl"
  echo "on the same pages; % of broker limit compares messages per second with the minimal publisher."
  echo
  echo "| indicators | run | wall s | CPU s | indicators / CPU-s | STIX objects / s | peak RSS MiB | % of fetch limit | % of broker limit |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Cold start, process start to the first TAXII request (ms; with OpenCTI output the registration comes first):"
  echo
  echo "| indicators | dry run | directory | RabbitMQ |"
  echo "|---:|---:|---:|---:|"
  printf '%s\n' "${cold_lines[@]}"
} >"$scratch/table.md"

mkdir -p "$(dirname "$out")"
cp "$scratch/table.md" "$out"
cat "$out"
if [ "$update_readme" = 1 ]; then
  python3 - "$root/README.md" "$out" <<'EOF'
import sys
readme, table = sys.argv[1], open(sys.argv[2]).read()
text = open(readme).read()
begin, end = "<!-- bench/run.sh: begin -->", "<!-- bench/run.sh: end -->"
if begin not in text or end not in text:
    sys.exit("README.md has no bench markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(readme, "w").write(head + begin + "\n" + table + end + tail)
EOF
fi
