#!/usr/bin/env bash
# Starts (or stops) the local RabbitMQ broker the integration tests publish to: guest/guest on
# 127.0.0.1:5672 as Debian's rabbitmq-server package installs it, plus a TLS listener on 5671 with a
# CA, server and client certificates made here (the amqps tests read them from the TLS directory).
#
# TLS directory: $KFC_TEST_RABBITMQ_TLS_DIR, else <dir of $RABBITMQ_MNESIA_BASE>/tls (a broker of its
# own per network namespace), else /tmp/kfc-rabbitmq-tls. The test fixture finds it by the same rule.
set -euo pipefail

tls_dir() {
  if [ -n "${KFC_TEST_RABBITMQ_TLS_DIR:-}" ]; then echo "$KFC_TEST_RABBITMQ_TLS_DIR"
  elif [ -n "${RABBITMQ_MNESIA_BASE:-}" ]; then echo "$(dirname "$RABBITMQ_MNESIA_BASE")/tls"
  else echo /tmp/kfc-rabbitmq-tls; fi
}
TLS_DIR=$(tls_dir)
TLS_PORT=5671

ready() { rabbitmqctl -q status >/dev/null 2>&1 && rabbitmqctl -q await_startup >/dev/null 2>&1; }
tls_listening() { rabbitmq-diagnostics -q listeners 2>/dev/null | grep -q "port: $TLS_PORT"; }

# A CA, a server certificate for localhost/127.0.0.1, a client certificate (its key also encrypted
# with the passphrase in client.passphrase) — test material only, made once.
make_certificates() {
  [ -s "$TLS_DIR/client-encrypted.key" ] && return 0
  mkdir -p "$TLS_DIR"
  local d=$TLS_DIR
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 -subj "/CN=kfc test RabbitMQ CA" \
    -keyout "$d/ca.key" -out "$d/ca.pem" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/server.ext" -out "$d/server.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=kfc-test-client" \
    -keyout "$d/client.key" -out "$d/client.csr" 2>/dev/null
  printf 'extendedKeyUsage=clientAuth\n' >"$d/client.ext"
  openssl x509 -req -in "$d/client.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 3650 \
    -extfile "$d/client.ext" -out "$d/client.pem" 2>/dev/null
  echo "kfc-test-passphrase" >"$d/client.passphrase"
  openssl pkcs8 -topk8 -in "$d/client.key" -out "$d/client-encrypted.key" -v2 aes-256-cbc \
    -passout "file:$d/client.passphrase"
  rm -f "$d"/*.csr "$d"/*.ext
  # Verify a client certificate when one is presented; clients without one still connect.
  cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.default = 5672
listeners.ssl.default = $TLS_PORT
ssl_options.cacertfile = $d/ca.pem
ssl_options.certfile = $d/server.pem
ssl_options.keyfile = $d/server.key
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
CONF
  chown -R rabbitmq:rabbitmq "$d" 2>/dev/null || true
  chmod 0755 "$d"
  chmod 0644 "$d"/*
}

start_broker() {
  RABBITMQ_CONFIG_FILE="$TLS_DIR/rabbitmq.conf" rabbitmq-server -detached >/dev/null 2>&1 || true
  for _ in $(seq 1 90); do
    if ready && tls_listening; then echo "rabbitmq: ready (amqp 5672, amqps $TLS_PORT, TLS material in $TLS_DIR)"; return 0; fi
    sleep 1
  done
  echo "rabbitmq: did not start with its TLS listener within 90 s" >&2
  return 1
}

case "${1:-start}" in
  start)
    make_certificates
    if ready && tls_listening; then exit 0; fi
    if ready; then
      # Running without the TLS listener (e.g. started by the package): restart it with the config.
      echo "rabbitmq: restarting with the TLS listener"
      rabbitmqctl stop >/dev/null 2>&1 || true
    fi
    start_broker
    ;;
  stop)
    rabbitmqctl stop >/dev/null 2>&1 || true
    ;;
  tls-dir)
    echo "$TLS_DIR"
    ;;
esac
