#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Path MTU discovery through DSR: the router's link to the clients has an
# MTU of 1400, so the backends' full-size replies (from the VIP, straight
# to the client through the router) do not fit. The router sends "frag-
# mentation needed" / "packet too big" to the VIP, that is to limpet, and
# limpet must steer it to the backend that owns the connection; else the
# download stalls (a PMTU black hole). IPv4 and IPv6.
#
#   test_pmtu.sh dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:-dsr}
[ "$MODE" = dsr ] || { echo "SKIP: the PMTU case is about DSR replies (nat replies pass through limpet)"; exit 77; }
SIZE=$((2 * 1024 * 1024))

lab_up
lab_mode dsr
lab_backends_start
lab_in "$NS_ROUTER" ip link set front mtu 1400
lab_config dsr v6=1 affinity=1 health=tcp >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
want=$("$LAB_PYTHON" "$LAB_HTTPD" --digest "$SIZE")

for fam in 4 6; do
	if [ $fam = 4 ]; then src=${CLIENT4[0]} url="http://$VIP4:$BACKEND_PORT"; else src=${CLIENT6[0]} url="http://[$VIP6]:$BACKEND_PORT"; fi
	lab_wait 10 "the IPv$fam service to answer" lab_get "$src"
	name=$(lab_get "$src")
	be=${name#backend}
	body="$LAB_DIR/pmtu$fam.body"
	lab_log "IPv$fam: downloading from $name"
	lab_in "$NS_CLIENT" curl -sS --fail --max-time 20 --interface "$src" -o "$body" "$url/big?size=$SIZE" ||
		lab_die "IPv$fam download through the 1400-byte link failed (ICMP too big not steered to $name?)"
	sum=$(sha256sum "$body" | awk '{print $1}')
	[ "$sum" = "$want" ] || lab_die "IPv$fam body checksum $sum, expected $want"
	# The backend learnt the smaller path MTU from the router's ICMP error.
	if [ $fam = 4 ]; then
		cache=$(lab_in "${NS_BACKENDS[$((be - 1))]}" ip -4 route get "$src" from "$VIP4")
	else
		cache=$(lab_in "${NS_BACKENDS[$((be - 1))]}" ip -6 route get "$src" from "$VIP6")
	fi
	grep -q "mtu 1400" <<<"$cache" || lab_die "$name has no path MTU 1400 towards $src: $cache"
	lab_ok "IPv$fam: 2 MiB from $name through the 1400-byte link, checksum ok; $name learnt mtu 1400 towards $src"
done
echo "PASS: pmtu ($MODE)"
