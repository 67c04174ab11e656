#!/usr/bin/env bash
# Installs every build, test and benchmark dependency from Debian 12 packages. Idempotent.
# With arguments, installs those packages instead (tests/fuzz/run.sh: the clang toolchain).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcurl4-openssl-dev rapidjson-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  librabbitmq-dev libssl-dev libcli11-dev libcpp-httplib-dev libpcre2-dev
  rabbitmq-server curl ca-certificates openssl python3
  python3-jsonschema python3-yaml   # the catalogue schema test (tests/config)
)
if (($#)); then packages=("$@"); fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
