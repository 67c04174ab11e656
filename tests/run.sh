#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian 12 machine: installs the dependencies, starts a local
# RabbitMQ broker for the integration tests, builds with warnings as errors, runs ctest.
set -euo pipefail
cd "$(dirname "$0")/.."

./deploy/install-deps.sh
./tests/rabbitmq.sh start

build_dir=${KFC_BUILD_DIR:-build/ci}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DKFC_WERROR=ON ${KFC_CMAKE_ARGS:-}
cmake --build "$build_dir" -j "$(nproc)"
export KFC_TEST_RABBITMQ=1   # integration tests fail (not skip) without the broker
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" "$@"
