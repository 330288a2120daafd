#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Install what limpet needs to build, test and run its demo on Debian 12
# (the e2e lab and demo: iproute2, ethtool, curl, python3, ping; the
# scale-out lab: bird2, nftables; tools/bench/lab_rps.sh: wrk; replicated
# bindings: libhiredis-dev, and redis-server for their tests and benchmark; the
# observability suite: tcpdump, and dpdk-telemetry.py and dpdk-dumpcap from
# dpdk-dev), with apt-get, only when something is missing. Needs root.
# Every test that finds something missing exits 77 (skipped), which fails
# tools/test.sh under CI=true: a tool a test needs belongs here.
set -euo pipefail

pkgs=(
	build-essential meson ninja-build pkg-config
	dpdk dpdk-dev libdpdk-dev libnuma-dev libyaml-dev libcunit1-dev libpcap-dev libmnl-dev
	libhiredis-dev redis-server
	iproute2 ethtool curl python3 procps iputils-ping tcpdump
	bird2 nftables wrk
	# packaging (tests/pkg): man pages, the .deb, lintian, unit checks
	scdoc debhelper dpkg-dev fakeroot lintian systemd man-db groff-base bash-completion
)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "limpet: missing packages: ${missing[*]} (run as root to install them)" >&2
		exit 1
	fi
	echo "limpet: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
