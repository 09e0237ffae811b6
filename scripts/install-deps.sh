#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the benchmarks need.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build ccache pkg-config git
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev libzstd-dev
  libgoogle-perftools-dev liburing-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 openssl curl procps
  protobuf-compiler
  wrk nginx
  nodejs npm
)
missing=()
for p in "${PKGS[@]}"; do
  # Node.js from elsewhere (NodeSource bundles npm in its nodejs package) is fine as it is:
  # the tests need the commands (tests/jose, tests/oidc), and apt's npm would conflict with it.
  if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or install them)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The nginx package starts a system instance on :80 where an init system exists; our
# benchmarks run their own nginx on loopback ports, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx 2>/dev/null; then
  systemctl stop nginx || true
fi
