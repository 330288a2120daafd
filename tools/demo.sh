#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# limpet's live demo: 20 clients, limpet and four backends in network
# namespaces on this machine (docs/lab.md). Installs what it needs, builds
# limpet if needed, then shows sticky sessions, a backend failure and a
# drain. About a minute; Ctrl-C stops it and removes everything it made.
# Run as root from a checkout: ./tools/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
	echo "limpet demo: run me as root (network namespaces, apt-get): sudo ./tools/demo.sh" >&2
	exit 1
fi

if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'; else B='' G='' R='' D='' N=''; fi
# On a terminal, a moment between steps to read them.
if [ -t 1 ]; then PAUSE=${DEMO_PAUSE:-1.5}; else PAUSE=${DEMO_PAUSE:-0}; fi
step() { sleep "$PAUSE"; printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
say() { printf '%s\n' "$*"; }
note() { printf '%s%s%s\n' "$D" "$*" "$N"; }

step "Preparing"
tools/deps.sh
if [ ! -f build/build.ninja ]; then
	note "configuring the build (meson setup build)"
	meson setup build >/dev/null
fi
note "building (ninja -C build)"
ninja -C build >/dev/null

LAB_PREFIX=${LAB_PREFIX:-lp-demo-}
LAB_CLIENTS=30
LAB_QUIET=1
. tests/e2e/lab.sh
lab_up
CLIENTS=("${CLIENT4[@]:0:20}")		# the demo's clients
NEWCOMERS=("${CLIENT4[@]:20:10}")	# clients that show up during the drain
lab_mode nat
lab_backends_start
cfg=$LAB_DIR/demo.yaml
cp config/demo.yaml "$cfg"
lab_limpet_start "$cfg"
ctl=no
lab_have_limpetctl && ctl=yes
say "Network namespaces ${LAB_PREFIX}*: 20 clients (10.10.0.101-120), limpet, four backends (10.20.0.11-14)."
say "limpet runs with config/demo.yaml: NAT, VIP $VIP4:80, sessionAffinity: ClientIP, http health checks."
note "limpet's log: $LAB_LIMPET_LOG; its own ports are net_af_packet devices on veth interfaces."

# One request per client; fills the associative array named $1 (client -> backend).
declare -A start=() failed=() drained=() fresh=()
sample() {
	local -n into=$1
	shift
	[ $# -gt 0 ] || set -- "${CLIENTS[@]}"
	while read -r addr name; do into[$addr]=$name; done < <(lab_sweep 1 "$@")
}
per_backend() {
	local -n from=$1
	for c in "${!from[@]}"; do echo "${from[$c]}"; done | sort | uniq -c |
		awk '{printf "   %-9s %2d clients  ", $2, $1; for (i = 0; i < $1; i++) printf "#"; print ""}'
}

step "1. Sticky sessions: every client keeps its backend"
lab_wait 15 "the service to answer" lab_get "${CLIENT4[0]}"
out=$(lab_sweep 5 "${CLIENTS[@]}")
sample start
varied=$(sort -u <<<"$out" | awk '{n[$1]++} END {for (c in n) if (n[c] > 1) k++; print k + 0}')
say "100 requests (5 per client, each a new TCP connection) through the VIP:"
per_backend start
if [ "$varied" -eq 0 ]; then
	say "${G}every client got the same backend for all 5 of its requests${N}"
else
	say "${R}$varied clients saw more than one backend${N}"
fi

step "2. A backend dies"
victim=$(for c in "${!start[@]}"; do echo "${start[$c]}"; done | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 {print $2}')
v=${victim#backend}
vaddr=${BE4[$((v - 1))]}
probe=$(for c in "${!start[@]}"; do if [ "${start[$c]}" = "$victim" ]; then echo "$c"; fi; done | sort -V | head -n 1)
say "killing the HTTP server of $victim ($vaddr), which serves $(per_backend start | awk -v b="$victim" '$1 == b {print $2}') clients"
t0=$(lab_ms)
lab_backend_stop "$v"
fails=0 down_at='' got=''
while [ -z "$got" ] || [ -z "$down_at" ]; do
	if [ -z "$down_at" ] && grep -q "backend $vaddr:8080 down" "$LAB_LIMPET_LOG"; then
		down_at=$(($(lab_ms) - t0))
	fi
	if [ -z "$got" ] && ! got=$(lab_get "$probe" 2>/dev/null); then
		fails=$((fails + 1))
		got=
	fi
	[ $(($(lab_ms) - t0)) -lt 15000 ] || lab_die "no failover within 15 s"
	if [ -z "$got" ] || [ -z "$down_at" ]; then sleep 0.1; fi
done
secs() { printf '%d.%d s' $(($1 / 1000)) $((($1 % 1000) / 100)); }
say "limpet's health checks (interval 1 s, fall 2) marked $victim down after $(secs "$down_at")"
say "client $probe: $fails requests refused meanwhile, then answered by $got"
sample failed
moved=0 kept=0
for c in "${!start[@]}"; do
	if [ "${start[$c]}" = "$victim" ]; then moved=$((moved + 1)); elif [ "${failed[$c]}" = "${start[$c]}" ]; then kept=$((kept + 1)); fi
done
say "${G}the $moved clients of $victim moved to the other backends; $kept of the other $((20 - moved)) kept theirs${N}"
per_backend failed

step "3. Draining a backend for maintenance"
# The busiest survivor: it has clients to keep.
drain=$(for c in "${!failed[@]}"; do echo "${failed[$c]}"; done | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 {print $2}')
d=${drain#backend}
daddr=${BE4[$((d - 1))]}
if [ "$ctl" = yes ]; then
	say "\$ limpetctl set backend web $daddr:8080 drain"
	lab_ctl set backend web "$daddr:8080" drain
else
	say "draining $drain: state: draining in the config, then a reload (kill -HUP)"
	note "(with build/tools/limpetctl: limpetctl set backend web $daddr:8080 drain)"
	sed -i "s/address: $daddr, state: up/address: $daddr, state: draining/" "$cfg"
	lab_limpet_reload
fi
sample drained
say "its clients stay while they are active; brand-new clients never get it:"
sample fresh "${NEWCOMERS[@]}"
on_drained=0
for c in "${!fresh[@]}"; do if [ "${fresh[$c]}" = "$drain" ]; then on_drained=$((on_drained + 1)); fi; done
stayed=0 had=0
for c in "${!failed[@]}"; do
	if [ "${failed[$c]}" = "$drain" ]; then
		had=$((had + 1))
		if [ "${drained[$c]}" = "$drain" ]; then stayed=$((stayed + 1)); fi
	fi
done
say "${G}$stayed of its $had clients still reach $drain; $on_drained of 10 new clients were sent there${N}"
if [ "$ctl" = yes ]; then
	say "\$ limpetctl show backends web"
	lab_ctl show backends web | sed 's/^/   /'
	note "BINDINGS of $drain falls to zero as its clients go quiet (timeoutSeconds), then it can be stopped."
fi

step "Summary: which backend served each client"
printf '%s   %-12s %-16s %-16s %-16s%s\n' "$B" client "at start" "$victim killed" "$drain draining" "$N"
for c in $(printf '%s\n' "${!start[@]}" | sort -V); do
	# A change is bold on a terminal and starred elsewhere (a log, a pipe).
	mark() {
		if [ "$1" = "$2" ]; then printf '%-16s' "$1"
		elif [ -n "$B" ]; then printf '%s%-16s%s' "$B" "$1" "$N"
		else printf '%-16s' "$1 *"; fi
	}
	printf '   %-12s %-16s %s %s\n' "$c" "${start[$c]}" "$(mark "${failed[$c]}" "${start[$c]}")" \
		"$(mark "${drained[$c]}" "${failed[$c]}")"
done
for c in $(printf '%s\n' "${!fresh[@]}" | sort -V); do
	printf '   %-12s %-16s %-16s %-16s\n' "$c" "-" "-" "${fresh[$c]} (new)"
done
say ""
if [ -n "$B" ]; then how="in ${B}bold${N}"; else how="marked *"; fi
say "Changes are $how. A client moves only when its backend fails; draining moves nobody."
note "stopping limpet and removing the namespaces"
