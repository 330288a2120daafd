#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 14 §4.10: the counter summary limpet prints at exit adds up. A
# capture is replayed (net_pcap in and out, --idle-exit) that makes every
# term of the equation move: connections forwarded (tx), frames dropped by
# the workers (no service, truncated), frames handed to the control thread
# (an ARP request and an ICMP echo for limpet, connections to a backend
# whose MAC nobody answers for), and frames the control thread sends
# (its replies, its ARP requests: injected). The summary must say
#
#   packets: rx R + injected I = tx T + dropped D + slowpath S
#   dropped: A in all = W by the workers + C by the control thread
#
# with both equations true, R the frames of the capture, T the frames in
# the output capture, D = W, and A the sum of the "drop REASON N" lines.
#
# usage: test_summary.sh LIMPET LIMPETCTL TESTS_CLI_DIR
set -euo pipefail
LIMPET=$1
LIMPETCTL=$2
HERE=$3
# shellcheck source=harness.sh
. "$HERE/harness.sh"

"$PY" - "$HERE" "$TMP/in.pcap" <<'PYEOF'
import ipaddress, struct, sys
sys.path.insert(0, sys.argv[1])
from mkpcap import csum, frame

ours = bytes.fromhex("020000000001")
ip = ipaddress.IPv4Address
frames = []
# 20 clients connect to web: forwarded (tx).
for i in range(20):
    for flags, seq, ack in ((0x02, 1000, 0), (0x10, 1001, 1)):
        frames.append(frame(ours, bytes([2, 0, 0, 0, 0xAA, i]), ip("10.0.0.50") + i, ip("10.0.0.100"),
                            40000 + i, 80, flags, seq, ack))
# 5 connect to far, whose backend's MAC nobody answers for: the control
# thread holds them while it asks (ARP), then drops them.
for i in range(5):
    frames.append(frame(ours, bytes([2, 0, 0, 0, 0xBB, i]), ip("10.0.0.80") + i, ip("10.0.0.102"),
                        41000 + i, 80, 0x02, 1000, 0))
# 3 to a VIP no service has (no_service) and 2 cut short (truncated).
for i in range(3):
    frames.append(frame(ours, bytes([2, 0, 0, 0, 0xCC, i]), ip("10.0.0.90"), ip("10.0.0.77"), 42000 + i, 80,
                        0x02, 1000, 0))
for i in range(2):
    frames.append(frame(ours, bytes([2, 0, 0, 0, 0xCC, 9]), ip("10.0.0.90"), ip("10.0.0.100"), 43000 + i, 80,
                      0x02, 1000, 0)[:30])
# Who has 10.0.0.1 (limpet's own address)? The control thread answers.
client_mac = bytes.fromhex("0200000000dd")
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, client_mac, ip("10.0.0.60").packed, b"\0" * 6,
                  ip("10.0.0.1").packed)
frames.append(b"\xff" * 6 + client_mac + struct.pack("!H", 0x0806) + arp + b"\0" * 18)
# An ICMP echo request to 10.0.0.1: answered by the control thread too.
icmp = struct.pack("!BBHHH", 8, 0, 0, 7, 1) + b"limpet"
icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 1, 0, 64, 1, 0, ip("10.0.0.60").packed,
                  ip("10.0.0.1").packed)
hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
frames.append(ours + client_mac + struct.pack("!H", 0x0800) + hdr + icmp)
with open(sys.argv[2].replace("in.pcap", "empty.pcap"), "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
with open(sys.argv[2], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for t, pkt in enumerate(frames):
        f.write(struct.pack("<IIII", 1, t, len(pkt), len(pkt)) + pkt)
PYEOF
N_FRAMES=$("$PY" -c 'import sys; d = open(sys.argv[1], "rb").read(); n = 0; o = 24
while o < len(d): n += 1; o += 16 + int.from_bytes(d[o + 8:o + 12], "little")
print(n)' "$TMP/in.pcap")

cat >"$TMP/cfg.yaml" <<'EOF'
ports:
  - { name: wan, device: net_pcap0, address: [10.0.0.1/24] }
  - { name: lan, device: net_pcap1, address: [10.1.0.1/24] }
neighbors:
  - { address: 10.0.0.60, mac: "02:00:00:00:00:dd", port: wan }
  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    backends: [ { address: 10.1.0.11 } ]
  - name: far
    vip: 10.0.0.102
    port: 80
    targetPort: 8080
    backends: [ { address: 10.1.0.99 } ]
EOF

set +e
timeout 120 "$LIMPET" "${EAL[@]}" --file-prefix "$RUN" \
	--vdev "net_pcap0,rx_pcap=$TMP/in.pcap,tx_pcap=$TMP/out0.pcap" \
	--vdev "net_pcap1,rx_pcap=$TMP/empty.pcap,tx_pcap=$TMP/out1.pcap" \
	-- --config "$TMP/cfg.yaml" --idle-exit 3000 >"$TMP/summary.txt" 2>"$TMP/limpet.err" ||
	{ rc=$?; cat "$TMP/limpet.err" >&2; die "limpet exited $rc"; }
set -e
sed 's/^/    /' "$TMP/summary.txt" | head -8

read -r rx inj tx dw sp < <(sed -nE 's/^  packets: rx ([0-9]+) \+ injected ([0-9]+) = tx ([0-9]+) \+ dropped ([0-9]+) \+ slowpath ([0-9]+)$/\1 \2 \3 \4 \5/p' "$TMP/summary.txt") ||
	die "no line 'packets: rx R + injected I = tx T + dropped D + slowpath S' in the summary"
read -r all workers control < <(sed -nE 's/^  dropped: ([0-9]+) in all = ([0-9]+) by the workers \+ ([0-9]+) by the control thread$/\1 \2 \3/p' "$TMP/summary.txt") ||
	die "no line 'dropped: A in all = W by the workers + C by the control thread' in the summary"
reasons=$(awk '$1 == "drop" { s += $3 } END { print s + 0 }' "$TMP/summary.txt")
out_frames=$("$PY" -c 'import sys
n = 0
for p in sys.argv[1:]:
    d = open(p, "rb").read(); o = 24
    while o < len(d): n += 1; o += 16 + int.from_bytes(d[o + 8:o + 12], "little")
print(n)' "$TMP/out0.pcap" "$TMP/out1.pcap")

[ $((rx + inj)) -eq $((tx + dw + sp)) ] && ok "rx $rx + injected $inj = tx $tx + dropped $dw + slowpath $sp" ||
	fail "rx $rx + injected $inj = $((rx + inj)), but tx $tx + dropped $dw + slowpath $sp = $((tx + dw + sp))"
[ "$all" -eq $((workers + control)) ] && ok "dropped: $all in all = $workers by the workers + $control by the control thread" ||
	fail "dropped $all in all, but $workers + $control = $((workers + control))"
[ "$dw" -eq "$workers" ] || fail "the packets line's dropped ($dw) is not the workers' drops ($workers)"
[ "$all" -eq "$reasons" ] && ok "the drop REASON lines add up to $all" || fail "the drop lines add up to $reasons, not $all"
[ "$rx" -eq "$N_FRAMES" ] && ok "rx is the capture's $N_FRAMES frames" || fail "rx $rx, the capture has $N_FRAMES frames"
[ "$tx" -eq "$out_frames" ] && ok "tx is the $out_frames frames of the output captures" ||
	fail "tx $tx, the output captures hold $out_frames frames"
# Every term moved, so the test says something about each.
for t in "injected:$inj" "slowpath:$sp" "dropped by the workers:$workers" "tx:$tx"; do
	[ "${t##*:}" -gt 0 ] || fail "nothing was ${t%%:*} (the capture should make it move)"
done
finish
