#!/usr/bin/env bash
# Installs every Debian package driftgate needs to build, test, bench and demo.
# Idempotent: quiet and fast when everything is present. Runs apt-get update
# only when something is missing (package lists on a fresh machine may be
# empty or stale). npm packages go into bench/node_modules (git-ignored).
set -eu

PKGS=(
  build-essential make pkg-config gcc clang
  libjansson-dev libyaml-dev libpcre2-dev libcriterion-dev
  libevent-dev libcurl4-openssl-dev libssl-dev zlib1g-dev libsqlite3-dev
  libclang-rt-14-dev time
  nginx openssl curl wrk prometheus python3 valgrind sqlite3
  chromium fonts-dejavu-core
  lintian systemd-container python3-yaml man-db iproute2 logrotate bash-completion
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

# Node.js and npm (the benchmark peer runs on them) may come from Debian or
# from NodeSource (which bundles npm and conflicts with Debian's npm package):
# only ask Debian for them when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The benchmark's peer (ajv 8 + ajv-formats) lives in bench/node_modules.
if [ "${1:-}" = "--bench" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  if [ ! -d "$here/bench/node_modules/ajv" ] || [ ! -d "$here/bench/node_modules/ajv-formats" ]; then
    echo "deps: npm install (bench/node_modules)"
    (cd "$here/bench" && npm install --no-audit --no-fund --silent >/dev/null)
  fi
fi
