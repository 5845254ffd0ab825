#!/usr/bin/env bash
# Install the Debian packages the test suite and benchmarks use, when missing: real servers
# (PostgreSQL, Redis, MariaDB) that test fixtures start on loopback, and wrk for HTTP load.
# Needs root (CI runs as root); elsewhere it says what is missing and leaves it to you.
set -euo pipefail
# command name -> Debian package
declare -A wanted=(
  [initdb]=postgresql
  [redis-server]=redis-server
  [mariadbd]=mariadb-server
  [wrk]=wrk
)
missing=()
for cmd in "${!wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/"$cmd" >/dev/null 2>&1 \
      && ! [[ -x /usr/sbin/$cmd ]]; then
    missing+=("${wanted[$cmd]}")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "note: not root; install these Debian packages for the full suite: ${missing[*]}" >&2
  exit 0
fi
echo "installing: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
