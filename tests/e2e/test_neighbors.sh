#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Neighbors stay resolved past limpet's reachable time (30 s): limpet
# refreshes them with unicast ARP requests and neighbor solicitations, and
# the answers real kernels give (for IPv6 a solicited NA without a
# link-layer address option) keep them. Over 40 s of IPv4 and IPv6 traffic
# nothing is declared lost, no backend flaps, no request fails.
#
#   test_neighbors.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}
WATCH_S=40	# REACHABLE_MS (30 s) + three probes + margin

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" v6=1 health=tcp interval=0.5 timeout=0.4 fall=2 >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the IPv4 service to answer" lab_get "${CLIENT4[0]}"
lab_wait 10 "the IPv6 service to answer" lab_get "${CLIENT6[0]}"

end=$((SECONDS + WATCH_S))
n=0
while [ "$SECONDS" -lt "$end" ]; do
	for src in "${CLIENT4[0]}" "${CLIENT4[1]}" "${CLIENT6[0]}" "${CLIENT6[1]}"; do
		lab_get "$src" >/dev/null || lab_die "request from $src failed after $((WATCH_S - end + SECONDS)) s"
		n=$((n + 1))
	done
	lost=$(lab_log_count "neighbor lost|backend .* down")
	[ "$lost" -eq 0 ] || lab_die "$(grep -E "neighbor lost|backend .* down" "$LAB_LIMPET_LOG")"
	sleep 0.5
done
lab_ok "$n requests over ${WATCH_S} s, IPv4 and IPv6: no neighbor lost, no backend down"
lab_in "$NS_CLIENT" ping -c 1 -W 2 "$VIP4" >/dev/null || lab_die "echo to $VIP4"
lab_in "$NS_CLIENT" ping -6 -c 1 -W 2 "$VIP6" >/dev/null || lab_die "echo to $VIP6"
lab_ok "ICMP echo to $VIP4 and $VIP6 after the refresh"
echo "PASS: neighbors ($MODE)"
