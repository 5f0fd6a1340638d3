#!/usr/bin/env bash
# Everything `npm test` needs from outside npm, installed from Debian packages when missing:
# PostgreSQL server binaries (the store suite runs against a real server) and openssl (tests
# make throwaway certificates). Idempotent and quick when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/ensure-postgres.sh"
if ! command -v openssl >/dev/null; then
  SUDO=''
  [ "$(id -u)" -ne 0 ] && SUDO='sudo'
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openssl
fi
