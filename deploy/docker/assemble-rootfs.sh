#!/bin/sh
# assemble-rootfs.sh BINARY ROOT
# Lays out in ROOT the runtime image's file system for BINARY, and nothing else: the shared libraries
# the binary loads (as ldd resolves them, the loader included), CA certificates and OpenSSL's
# configuration, a name service configuration, the non-root user, /tmp and the state directory.
# No shell, no package manager, no coreutils: the image is the binary and what it opens.
# The binary itself is not copied: the Dockerfile adds it as its own (small, frequently changing) layer.
# Runs in the build stage, a Debian 12 system with merged /usr.
set -eu
binary=$1
root=$2
uid=10001
user=connector
state_dir=/var/lib/kaspersky-feeds-connector

mkdir -p "$root"
cd "$root"
# Merged /usr like Debian 12, so every path ldd prints and every path compiled into the libraries
# (/lib/x86_64-linux-gnu, /lib64/ld-linux-x86-64.so.2, /usr/lib/ssl) means the same here.
mkdir -p usr/bin usr/sbin usr/lib usr/lib64 usr/local/bin
ln -s usr/bin bin
ln -s usr/sbin sbin
ln -s usr/lib lib
ln -s usr/lib64 lib64
mkdir -p etc app proc sys dev "./$state_dir"
mkdir -m 1777 tmp

# Shared libraries: whatever the binary needs, resolved on the system it was linked against.
# A library ldd cannot find fails the build here rather than the container at start.
if ldd "$binary" | grep -q 'not found'; then
  ldd "$binary" >&2
  echo "assemble-rootfs: a shared library of $binary is missing in the build stage" >&2
  exit 1
fi
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
  while read -r library; do
    mkdir -p "./$(dirname "$library")"
    cp -L "$library" "./$library"
  done
# No loader cache: the loader's built-in search path starts with /lib/x86_64-linux-gnu. Nothing else is
# loaded at run time: glibc 2.36 resolves host names with its built-in "files" and "dns" services (no
# libnss_* module for the nsswitch.conf below) and OpenSSL 3's default provider is part of libcrypto.
# test-image.sh runs the image with the loader's tracing on and fails on any library it could not find.

# TLS: the CA bundle libcurl is built to read, and OpenSSL's default locations (rabbitmq-c relies on
# them when mq.use_ssl_ca is not set), laid out like Debian's.
mkdir -p etc/ssl/certs usr/lib/ssl
cp -L /etc/ssl/certs/ca-certificates.crt etc/ssl/certs/
cp -L /etc/ssl/openssl.cnf etc/ssl/
ln -s /etc/ssl/certs usr/lib/ssl/certs
ln -s /etc/ssl/certs/ca-certificates.crt usr/lib/ssl/cert.pem
ln -s /etc/ssl/openssl.cnf usr/lib/ssl/openssl.cnf

# Host names: /etc/hosts and /etc/resolv.conf come from the container runtime.
printf 'passwd: files\ngroup: files\nhosts: files dns\n' > etc/nsswitch.conf

# The non-root user the image runs as; its home is the configuration folder (config at /app/config.yml).
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\n%s:x:%s:%s:Kaspersky Feeds connector:/app:/usr/sbin/nologin\n' \
  "$user" "$uid" "$uid" > etc/passwd
printf 'root:x:0:\n%s:x:%s:\n' "$user" "$uid" > etc/group

# The process writes only where the configuration says (connector.output_dir, connector.state_file,
# opentip.cache_dir, all unset by default); this directory, owned by the user, is where to mount a
# volume for them. Everything else can stay read-only.
chown "$uid:$uid" "./$state_dir"
chmod 0700 "./$state_dir"
