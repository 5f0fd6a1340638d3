#!/usr/bin/env bash
# Everything `npm test` needs from outside npm, installed from Debian packages when missing:
# PostgreSQL server binaries (the store suite runs against a real server), openssl (tests
# make throwaway certificates) and tshark (the GWLB suite checks its GENEVE encapsulation
# with Wireshark's dissector), promtool (the metrics test). Idempotent and quick when everything is present.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bash "$here/ensure-postgres.sh"
SUDO=''
[ "$(id -u)" -ne 0 ] && SUDO='sudo'
missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v tshark >/dev/null || missing+=(tshark)
# The fleet test runs data-plane nodes in network namespaces it creates (ip netns).
command -v ip >/dev/null || missing+=(iproute2)
# The console tests drive Debian's headless Chromium through playwright-core (no browser
# download: playwright's own installer needs the network).
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
# The metrics test lints /metrics with promtool, which Debian ships in the prometheus package.
command -v promtool >/dev/null || missing+=(prometheus)
# The kernel data-plane engine programs nftables and reads / cuts flows with conntrack.
command -v nft >/dev/null || missing+=(nftables)
command -v conntrack >/dev/null || missing+=(conntrack)
# The GWLB's tc-BPF fast path: clang builds bpf/gwlb.bpf.c against libbpf's headers, bpftool
# loads it and fills its maps (tc, from iproute2, attaches it).
command -v clang >/dev/null || missing+=(clang)
[ -f /usr/include/bpf/bpf_helpers.h ] || missing+=(libbpf-dev)
command -v bpftool >/dev/null || missing+=(bpftool)
if [ "${#missing[@]}" -gt 0 ]; then
  # tshark's postinst asks whether non-root users may capture; answer "no" up front so the
  # install never stops at a prompt (the tests capture as root).
  if [[ " ${missing[*]} " == *" tshark "* ]]; then
    echo 'wireshark-common wireshark-common/install-setuid boolean false' | $SUDO debconf-set-selections
  fi
  $SUDO apt-get update
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# The BPF object the GWLB's BPF suites load (skipped when it is up to date).
node "$here/build-bpf.mjs"
