#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# limpet-gen works end to end: it writes scenarios to pcap files (TCP over
# IPv4 with malformed frames mixed in, UDP over IPv6), limpet replays them
# (net_pcap, --idle-exit), and limpet-gen's checker finds every well-formed
# frame NAT'ed to a backend (address, port, MAC, TTL, checksums) and every
# malformed one dropped.
#
# usage: replay.sh LIMPET LIMPET_GEN [WRAPPER]
# With WRAPPER (tools/limpet-gen), the IPv4 scenario is written through it,
# so the checkout's wrapper is tested on the same build.
set -eu

limpet=$(realpath "$1")
gen=$(realpath "$2")
gen_v4=$gen
if [ $# -ge 3 ]; then
	gen_v4=$(realpath -s "$3")
	LIMPET_BUILD=$(dirname "$(dirname "$(dirname "$gen")")")
	export LIMPET_BUILD
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"

cat >cfg.yaml <<'YAML'
ports:
  - { name: wan, device: net_pcap0, address: [10.0.0.1/24, "fd00::1/64"] }
neighbors:
  - { address: 10.0.0.11, mac: "02:00:00:00:01:0b", port: wan }
  - { address: 10.0.0.12, mac: "02:00:00:00:01:0c", port: wan }
  - { address: "fd00::11", mac: "02:00:00:00:02:11", port: wan }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    backends: [ { address: 10.0.0.11 }, { address: 10.0.0.12 } ]
  - name: dns6
    vip: "fd00::100"
    port: 53
    targetPort: 5353
    protocol: UDP
    backends: [ { address: "fd00::11" } ]
YAML

fail() {
	echo "FAIL: $*" >&2
	for f in *.txt; do
		echo "--- $f" >&2
		cat "$f" >&2
	done
	exit 1
}

# figure NAME FILE: the value of a "name value unit" line
figure() {
	awk -v n="$1" '$1 == n { print $2 }' "$2"
}

replay() {
	"$limpet" -l 0-1 --no-pci --no-huge --no-shconf -m 512 --log-level lib.eal:warning \
		--vdev "net_pcap0,rx_pcap=$1,tx_pcap=$2" -- --config cfg.yaml --idle-exit 500 >"limpet_$3.txt" 2>&1 ||
		fail "limpet replay of $1"
}

# 1. TCP connections over IPv4, 5% malformed frames on top.
"$gen_v4" --pcap-out v4.pcap --scenario conn --clients 20 --flows 5 --data 3 --malformed 5 >gen_v4.txt ||
	fail "limpet-gen --pcap-out"
total=$(figure gen_pcap_pkts gen_v4.txt)
malformed=$(figure gen_pcap_malformed gen_v4.txt)
[ "$total" -eq $((20 * 5 * 6 + malformed)) ] || fail "v4.pcap holds $total frames"
[ "$malformed" -gt 0 ] || fail "no malformed frame in v4.pcap"
replay v4.pcap v4_out.pcap v4
grep -q "dropped $malformed " limpet_v4.txt || fail "limpet did not drop the $malformed malformed frames"
"$gen" --pcap-in v4_out.pcap --expect-dst 10.0.0.0/24 --expect-dport 8080 --expect-ttl 63 \
	--expect-mac 02:00:00:00:01:0b,02:00:00:00:01:0c >check_v4.txt || fail "bad rewrites in v4_out.pcap"
[ "$(figure gen_check_ok check_v4.txt)" -eq 600 ] || fail "not all 600 connection frames came out"

# 2. UDP over IPv6, pktgen-style range.
"$gen" --pcap-out v6.pcap --scenario range --proto udp --vip fd00::100 --vport 53 --clients 50 \
	--flows 4 --count 1000 --size 128 >gen_v6.txt || fail "limpet-gen --pcap-out (IPv6)"
[ "$(figure gen_pcap_pkts gen_v6.txt)" -eq 1000 ] || fail "v6.pcap does not hold 1000 frames"
replay v6.pcap v6_out.pcap v6
"$gen" --pcap-in v6_out.pcap --expect-dst fd00::11/128 --expect-dport 5353 --expect-ttl 63 \
	--expect-mac 02:00:00:00:02:11 >check_v6.txt || fail "bad rewrites in v6_out.pcap"
[ "$(figure gen_check_ok check_v6.txt)" -eq 1000 ] || fail "not all 1000 datagrams came out"

echo "ok: $((600 + malformed)) TCP/IPv4 frames ($malformed malformed, dropped), 1000 UDP/IPv6 datagrams"
