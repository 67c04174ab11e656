#!/usr/bin/env bash
# Starts (or stops) the local RabbitMQ broker the integration tests publish to: guest/guest on
# 127.0.0.1:5672, as Debian's rabbitmq-server package installs it.
set -euo pipefail

ready() { rabbitmqctl -q status >/dev/null 2>&1 && rabbitmqctl -q await_startup >/dev/null 2>&1; }

case "${1:-start}" in
  start)
    if ready; then exit 0; fi
    # The Debian package may have started it as a service already; else start it detached.
    (service rabbitmq-server start >/dev/null 2>&1 || rabbitmq-server -detached >/dev/null 2>&1) || true
    for _ in $(seq 1 60); do
      if ready; then echo "rabbitmq: ready"; exit 0; fi
      sleep 1
    done
    echo "rabbitmq: did not start within 60 s" >&2
    exit 1
    ;;
  stop)
    rabbitmqctl stop >/dev/null 2>&1 || true
    ;;
esac
