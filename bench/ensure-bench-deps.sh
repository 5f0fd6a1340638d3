#!/usr/bin/env bash
# What `npm run bench` needs from outside npm, installed from Debian packages when missing:
# HAProxy and nginx's stream module (the two proxies OpenSLB is compared with), nginx itself
# (also the HTTP backend), iperf3 (bulk TCP and UDP load) and wrk (connection rate, latency,
# keepalive request rate). Idempotent: does nothing when every tool is present.
set -euo pipefail
SUDO=''
[ "$(id -u)" -ne 0 ] && SUDO='sudo'

missing=()
command -v haproxy >/dev/null || missing+=(haproxy)
command -v nginx >/dev/null || missing+=(nginx-light)
# Debian ships the stream module as a loadable module (nginx-full/extras pull it in too).
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
command -v iperf3 >/dev/null || missing+=(iperf3)
command -v wrk >/dev/null || missing+=(wrk)
[ "${#missing[@]}" -eq 0 ] && exit 0

echo "ensure-bench-deps: installing ${missing[*]}" >&2
# The packages' maintainer scripts would start system-wide haproxy/nginx/iperf3 services
# (nginx on port 80); a temporary policy-rc.d tells invoke-rc.d not to start anything.
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { [ "$made_policy" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d; return 0; }
trap cleanup EXIT
# iperf3 asks whether to run as a daemon; answer no up front so the install never prompts.
echo 'iperf3 iperf3/start_daemon boolean false' | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
