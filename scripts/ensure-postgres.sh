#!/usr/bin/env bash
# Make sure PostgreSQL server binaries exist for the test suite (test/support/postgres.ts).
# Tests start their own throwaway server from these binaries; they never use the cluster
# the Debian package may create, so leaving that cluster alone is fine.
set -euo pipefail

if compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
  echo "PostgreSQL binaries present: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
  exit 0
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then SUDO='sudo'; else
    echo 'ensure-postgres: need root (or sudo) to install the postgresql package' >&2
    exit 1
  fi
fi

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql

compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || {
  echo 'ensure-postgres: installed postgresql but found no /usr/lib/postgresql/*/bin/initdb' >&2
  exit 1
}
echo "PostgreSQL binaries installed: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
