#!/usr/bin/env bash
# Installs everything Loom needs to build, test and benchmark on a fresh Debian 12 machine.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git clang-format clang-tidy
  libsqlite3-dev libyaml-cpp-dev nlohmann-json3-dev libcpp-httplib-dev libsimdjson-dev
  libcli11-dev libspdlog-dev libfmt-dev libssl-dev libzstd-dev libjwt-dev librdkafka-dev
  libpq-dev libgtest-dev libgmock-dev libbenchmark-dev
  postgresql postgresql-client redis-server nats-server prometheus curl
)
DUCKDB_BINDINGS="@duckdb/node-bindings-linux-x64@1.4.4-r.4"
DUCKDB_HEADERS="duckdb@1.4.4"
DUCKDB_DIR=third_party/duckdb

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm comes with the machine's Node.js (Debian's npm package conflicts with it); install Debian's
# only where there is none.
if ! command -v npm >/dev/null; then
  DEBIAN_FRONTEND=noninteractive ${SUDO:-} apt-get install -y -qq nodejs npm >/dev/null
fi

if [ ! -f "$DUCKDB_DIR/libduckdb.so" ] || [ ! -f "$DUCKDB_DIR/include/duckdb.h" ] ||
   [ "$(cat "$DUCKDB_DIR/VERSION" 2>/dev/null)" != "$DUCKDB_BINDINGS $DUCKDB_HEADERS" ]; then
  echo "install-deps: fetching DuckDB ($DUCKDB_BINDINGS, $DUCKDB_HEADERS) from npm"
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$DUCKDB_BINDINGS" "$DUCKDB_HEADERS" >/dev/null)
  rm -rf "$DUCKDB_DIR" && mkdir -p "$DUCKDB_DIR/include"
  tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp" package/libduckdb.so
  mv "$tmp/package/libduckdb.so" "$DUCKDB_DIR/"
  tar -xzf "$tmp"/duckdb-1.4.4.tgz -C "$tmp" package/src/duckdb/src/include/duckdb.h
  mv "$tmp/package/src/duckdb/src/include/duckdb.h" "$DUCKDB_DIR/include/"
  echo "$DUCKDB_BINDINGS $DUCKDB_HEADERS" > "$DUCKDB_DIR/VERSION"
  rm -rf "$tmp"
fi
