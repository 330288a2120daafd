#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Case 3: drain a backend. Its open keep-alive connection keeps working on
# the same TCP connection, clients bound to it stay, new clients avoid it,
# and `limpetctl show backends` counts its bindings falling to zero once
# its clients go quiet (timeoutSeconds 6 here).
#
# The drain is done with `limpetctl set backend ... drain` when
# build/tools/limpetctl exists. Without it the drain comes from a config
# reload (state: draining), the data-path checks run, and the test reports
# SKIP (exit 77) for the binding count, which only limpetctl shows.
#
#   test_drain.sh nat|dsr
set -euo pipefail
LAB_CLIENTS=40
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}
AFF_TIMEOUT=6

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" affinity=1 aff_timeout=$AFF_TIMEOUT >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
old=("${CLIENT4[@]:0:20}")
new=("${CLIENT4[@]:20:20}")
lab_wait 10 "the service to answer" lab_get "${old[0]}"

before=$(lab_map "${old[@]}")
grep -q ' -$' <<<"$before" && lab_die "requests failed:"$'\n'"$before"
victim=$(awk '{print $2}' <<<"$before" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 {print $2}')
v=${victim#backend}
vaddr=${BE4[$((v - 1))]}
mapfile -t vclients < <(awk -v b="$victim" '$2 == b {print $1}' <<<"$before")
[ ${#vclients[@]} -ge 2 ] || lab_die "$victim has fewer than two clients; the test needs two"
echo "draining $victim ($vaddr:$BACKEND_PORT), bound to ${#vclients[@]} of 20 clients"

# A keep-alive connection from one of its clients, open across the drain.
coproc KA { exec ip netns exec "$NS_CLIENT" "$LAB_PYTHON" "$(dirname "$0")/kaclient.py" \
	--src "${vclients[0]}" --host "$VIP4" --port "$(lab_vip_port)"; }
LAB_PID[kaclient]=$KA_PID
ka_get() {
	local line
	echo "get /" >&"${KA[1]}"
	read -r -t 10 line <&"${KA[0]}" || lab_die "keep-alive client did not answer"
	echo "$line"
}
first=$(ka_get)
read -r ka_port ka_status ka_name <<<"$first"
[ "$ka_status" = 200 ] && [ "$ka_name" = "$victim" ] || lab_die "keep-alive request got '$first'"
lab_ok "keep-alive connection from ${vclients[0]} (local port $ka_port) on $victim"

if lab_have_limpetctl; then
	lab_ctl set backend web "$vaddr:$BACKEND_PORT" drain || lab_die "limpetctl set backend ... drain failed"
	state=$(lab_ctl_column web "$vaddr:$BACKEND_PORT" STATE) || lab_die "show backends has no $vaddr:$BACKEND_PORT"
	[ "$state" = draining ] || lab_die "show backends says $victim is '$state', not draining"
	lab_ok "limpetctl drained $victim; show backends says draining"
else
	lab_config "$MODE" affinity=1 aff_timeout=$AFF_TIMEOUT states="$v=draining" >"$LAB_DIR/limpet.yaml"
	lab_limpet_reload
	lab_ok "config reload put $victim in state draining (no limpetctl)"
fi

again=$(ka_get)
read -r p2 s2 n2 <<<"$again"
[ "$p2" = "$ka_port" ] && [ "$s2" = 200 ] && [ "$n2" = "$victim" ] ||
	lab_die "keep-alive connection after the drain: '$again' (expected $ka_port 200 $victim)"
lab_ok "the keep-alive connection still works on $victim, same connection (port $ka_port)"

# Clients bound to it keep it (new connections included); new clients avoid it.
for c in "${vclients[@]:1}"; do
	got=$(lab_get "$c") || lab_die "request from bound client $c failed"
	[ "$got" = "$victim" ] || lab_die "client $c bound to draining $victim went to $got"
done
lab_ok "the ${#vclients[@]} clients bound to $victim stay with it while it drains"
fresh=$(lab_map "${new[@]}")
grep -q ' -$' <<<"$fresh" && lab_die "new clients' requests failed:"$'\n'"$fresh"
grep -q " $victim\$" <<<"$fresh" && lab_die "new clients reached draining $victim:"$'\n'"$fresh"
echo "new clients per backend:"
awk '{print $2}' <<<"$fresh" | sort | uniq -c | sed 's/^/  /'
lab_ok "20 new clients avoided $victim"

last=$(ka_get)
[ "$(awk '{print $1, $3}' <<<"$last")" = "$ka_port $victim" ] || lab_die "keep-alive connection broke: '$last'"
echo quit >&"${KA[1]}"
lab_stop kaclient

if ! lab_have_limpetctl; then
	echo "SKIP: bindings falling to zero need build/tools/limpetctl (show backends); the drain itself passed ($MODE)"
	exit 77
fi
# Its clients are quiet now: their bindings expire after timeoutSeconds.
t0=$(lab_ms)
deadline=$((SECONDS + AFF_TIMEOUT + 20))
last=
while :; do
	b=$(lab_ctl_column web "$vaddr:$BACKEND_PORT" BINDINGS) || lab_die "show backends failed"
	[ "$b" != "$last" ] && echo "  $(( ($(lab_ms) - t0) / 1000 )) s: $victim holds $b bindings" && last=$b
	[ "$b" = 0 ] && break
	[ "$SECONDS" -lt "$deadline" ] || lab_die "$victim still holds $b bindings after $((AFF_TIMEOUT + 20)) s"
	sleep 0.5
done
lab_ok "show backends: $victim's bindings fell to zero"
echo "PASS: drain ($MODE)"
