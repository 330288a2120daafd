#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# limpet speaks to real neighbors: a gratuitous ARP at start, ARP answered
# for its own address and the VIP, ICMP echo to both, next hops (backends)
# resolved, and the same over IPv6 (neighbor discovery, echo, a service on
# an IPv6 VIP served by IPv6 backends). No health check of a healthy
# backend fails, not even the first one.
#
#   test_basics.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" v6=1 health=tcp >"$LAB_DIR/limpet.yaml"
LAB_EAL_EXTRA=--log-level=lib.limpet.health:debug	# every failed check is logged
lab_limpet_start "$LAB_DIR/limpet.yaml"
wan_mac=$(lab_limpet_mac wan)

# Before any traffic: the start-up announcement put the VIP and limpet's
# address into the client's neighbor table (arp_accept=1 lets a gratuitous
# ARP create entries).
lab_wait 5 "gratuitous ARP for $VIP4 in the client's neighbor table" \
	bash -c "ip netns exec $NS_CLIENT ip neigh show $VIP4 dev eth0 | grep -q 'lladdr $wan_mac'"
lab_ok "gratuitous ARP at start: client learnt $VIP4 is at $wan_mac"

# ARP for the VIP and for limpet's own address, asked afresh.
for ip4 in "$VIP4" "$LB_WAN4"; do
	lab_in "$NS_CLIENT" ip neigh flush to "$ip4" dev eth0
	lab_in "$NS_CLIENT" ping -c 1 -W 2 -I "${CLIENT4[0]}" "$ip4" >/dev/null ||
		lab_die "no echo reply from $ip4"
	lab_in "$NS_CLIENT" ip neigh show "$ip4" dev eth0 | grep -q "lladdr $wan_mac" ||
		lab_die "ARP for $ip4 not answered with limpet's MAC: $(lab_in "$NS_CLIENT" ip neigh show "$ip4")"
	lab_ok "ARP for $ip4 answered ($wan_mac), ICMP echo answered"
done
# Adaptive polling on af_packet ports: a sleeping worker waits on the
# ports' sockets and an eventfd, so a packet ends its sleep at once
# (idle_wakes), and so does the control thread when it has the echo reply
# sent (ctl_wakes), instead of either waiting for the end of the step.
wakes() { lab_ctl show stats worker | awk -v k="$1" '$1 == k { s += $2 } END { print s + 0 }'; }
wk0=$(wakes idle_wakes) cw0=$(wakes ctl_wakes)
rtt=$(lab_in "$NS_CLIENT" ping -c 10 -i 0.05 -W 2 -q "$LB_WAN4" | awk -F/ '/^rtt/ { print $5 }') ||
	lab_die "echo requests 50 ms apart to $LB_WAN4 unanswered"
wk1=$(wakes idle_wakes) cw1=$(wakes ctl_wakes)
[ $((wk1 - wk0)) -ge 5 ] || lab_die "10 echo requests to an idle limpet ended only $((wk1 - wk0)) worker sleeps"
[ $((cw1 - cw0)) -ge 3 ] || lab_die "10 echo replies from the control thread ended only $((cw1 - cw0)) worker sleeps"
lab_ok "10 echo requests 50 ms apart: the requests ended $((wk1 - wk0)) worker sleeps, the control thread's replies $((cw1 - cw0)) (avg rtt $rtt ms)"
lab_in "${NS_BACKENDS[0]}" ping -c 1 -W 2 "$LB_LAN4" >/dev/null || lab_die "no echo reply from $LB_LAN4"
lab_ok "backend1 pings limpet's lan address $LB_LAN4"
# Echo with a payload and several in a row (checksums over odd lengths).
lab_in "$NS_CLIENT" ping -c 3 -i 0.2 -s 1001 -W 2 "$VIP4" >/dev/null || lab_die "echo with 1001 bytes to $VIP4"
lab_ok "ICMP echo with an odd payload size to $VIP4"

# Next hops: limpet resolved every backend (probes and traffic reach them).
map=$(lab_sweep 2)
if grep -q ' -$' <<<"$map"; then
	lab_die "requests failed:"$'\n'"$(grep ' -$' <<<"$map")"
fi
used=$(awk '{print $2}' <<<"$map" | sort -u | wc -l)
[ "$used" -ge 2 ] || lab_die "only $used backend(s) answered"
lab_ok "40 IPv4 requests answered by $used backends ($MODE)"

# limpet's own MAC on its af_packet ports (lab_config sets one): the kernel's
# veth ends keep theirs, so the kernel takes limpet's frames for another
# host's and drops them before its IP stack (which counts none of them),
# instead of routing each one.
for p in wan lan; do
	kmac=$(lab_in "$NS_LB" cat "/sys/class/net/$p/address")
	[ "$kmac" != "$(lab_limpet_mac $p)" ] || lab_die "limpet gave the kernel's $p its own MAC ($kmac)"
done
ip_in() { lab_in "$NS_LB" awk '$1 == "Ip:" && $2 ~ /^[0-9]+$/ { print $4 }' /proc/net/snmp; }
rx_pkts() { lab_ctl show stats | awk '$1 == "rx_pkts" { print $2 }'; }
in0=$(ip_in) rx0=$(rx_pkts)
lab_sweep 1 >/dev/null
in1=$(ip_in) rx1=$(rx_pkts)
[ $((rx1 - rx0)) -ge 100 ] || lab_die "limpet received only $((rx1 - rx0)) packets during 20 requests"
[ $((in1 - in0)) -lt 5 ] ||
	lab_die "the kernel of limpet's namespace took $((in1 - in0)) of limpet's $((rx1 - rx0)) packets into its IP stack"
lab_ok "kernel MACs kept; limpet received $((rx1 - rx0)) packets, the namespace's IP stack $((in1 - in0))"

# A unicast frame for another station (the bridge floods it to limpet's
# port too) is not limpet's to forward: dropped as other_host, unanswered.
other_host() { lab_ctl show stats | awk '$1 == "drop_other_host" { print $2 }'; }
oh0=$(other_host)
lab_in "$NS_CLIENT" ip neigh replace "$VIP4" lladdr 02:00:0a:0a:99:99 dev eth0 nud permanent
if lab_in "$NS_CLIENT" curl -s -o /dev/null --max-time 1 --interface "${CLIENT4[1]}" "http://$VIP4/"; then
	lab_die "a request sent to another station's MAC was answered"
fi
lab_in "$NS_CLIENT" ip neigh del "$VIP4" dev eth0
oh1=$(other_host)
[ $((oh1 - oh0)) -ge 1 ] || lab_die "a SYN to another station's MAC was not counted as other_host ($oh0 -> $oh1)"
lab_get "${CLIENT4[1]}" >/dev/null || lab_die "no answer once the client resolved limpet's MAC again"
lab_ok "frames for another station's MAC dropped (other_host +$((oh1 - oh0))), unanswered"

# IPv6: neighbor discovery for the VIP and limpet's address, echo, a
# service on the IPv6 VIP.
lab_wait 5 "IPv6 address usable on the client" lab_in "$NS_CLIENT" ping -6 -c 1 -W 1 "$LB_WAN6"
for ip6 in "$VIP6" "$LB_WAN6"; do
	lab_in "$NS_CLIENT" ip -6 neigh flush to "$ip6" dev eth0
	lab_in "$NS_CLIENT" ping -6 -c 1 -W 2 -I "${CLIENT6[0]}" "$ip6" >/dev/null ||
		lab_die "no echo reply from $ip6"
	lab_in "$NS_CLIENT" ip -6 neigh show "$ip6" dev eth0 | grep -q "lladdr $wan_mac" ||
		lab_die "ND for $ip6 not answered with limpet's MAC: $(lab_in "$NS_CLIENT" ip -6 neigh show "$ip6")"
	lab_ok "ND for $ip6 answered ($wan_mac), ICMPv6 echo answered"
done
lab_in "${NS_BACKENDS[0]}" ping -6 -c 1 -W 2 "$LB_LAN6" >/dev/null || lab_die "no echo reply from $LB_LAN6"
lab_ok "backend1 pings limpet's lan address $LB_LAN6"
declare -A seen6=()
for src in "${CLIENT6[@]}"; do
	for _ in 1 2 3; do
		name=$(lab_get "$src") || lab_die "IPv6 request from $src to [$VIP6] failed"
		seen6[$name]=1
	done
done
lab_ok "12 IPv6 requests to [$VIP6] answered by: ${!seen6[*]}"

# Health checks passed from the first one on, IPv4 and IPv6: limpet
# resolves a backend before its first probe instead of failing it.
failed=$(lab_log_count "check failed")
[ "$failed" -eq 0 ] || lab_die "failed health checks of healthy backends:"$'\n'"$(grep "check failed" "$LAB_LIMPET_LOG")"
lab_ok "no health check of the 8 healthy backends (IPv4 and IPv6) failed, the first ones included"
echo "PASS: basics ($MODE)"
