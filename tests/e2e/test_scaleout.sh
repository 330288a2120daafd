#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Case 4: add a backend with a config reload (SIGHUP). New clients reach
# it at once; clients already bound keep their backends (rebalance: none),
# or, with rebalance: idle, the idle ones whose Maglev choice is now the
# new backend move to it, and only they.
#
# The reference is a fresh limpet with all four backends: Maglev tables are
# deterministic, so after the reload a new client must land exactly where
# the fresh limpet put it, and with rebalance: idle every old client ends
# where the fresh limpet put it.
#
#   test_scaleout.sh nat|dsr [none|idle]
set -euo pipefail
LAB_CLIENTS=40
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr [none|idle]}
REBALANCE=${2:-none}
cfg=(affinity=1 rebalance="$REBALANCE" fin_timeout=1)

lab_up
lab_mode "$MODE"
lab_backends_start
old=("${CLIENT4[@]:0:20}")
new=("${CLIENT4[@]:20:20}")

# Reference placement of all 40 clients with four backends.
lab_config "$MODE" "${cfg[@]}" backends="1 2 3 4" >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" lab_get "${CLIENT4[0]}"
ref=$(lab_map)
grep -q ' -$' <<<"$ref" && lab_die "reference requests failed:"$'\n'"$ref"
lab_limpet_stop

# Three backends, 20 clients bound.
lab_config "$MODE" "${cfg[@]}" backends="1 2 3" >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" lab_get "${old[0]}"
before=$(lab_map "${old[@]}")
grep -q ' -$' <<<"$before" && lab_die "requests failed:"$'\n'"$before"
echo "20 clients over three backends:"
awk '{print $2}' <<<"$before" | sort | uniq -c | sed 's/^/  /'

lab_config "$MODE" "${cfg[@]}" backends="1 2 3 4" >"$LAB_DIR/limpet.yaml"
lab_limpet_reload
lab_ok "reload added backend4"

fresh=$(lab_map "${new[@]}")
grep -q ' -$' <<<"$fresh" && lab_die "new clients' requests failed:"$'\n'"$fresh"
n4=$(grep -c ' backend4$' <<<"$fresh" || true)
[ "$n4" -ge 1 ] || lab_die "no new client reached backend4:"$'\n'"$fresh"
want=$(grep -F -f <(printf '%s \n' "${new[@]}") <<<"$ref")
[ "$fresh" = "$want" ] ||
	lab_die "new clients are not where a fresh limpet puts them:"$'\n'"$(diff <(echo "$want") <(echo "$fresh"))"
lab_ok "$n4 of 20 new clients reached backend4; all 20 placed exactly as by a fresh limpet with four backends"

ref_old=$(grep -F -f <(printf '%s \n' "${old[@]}") <<<"$ref")
movers=$(join <(echo "$before") <(echo "$ref_old") | awk '$2 != $3' | wc -l)
echo "$movers of the 20 old clients have backend4 as their Maglev choice now"
# Only a move to backend4 is ever right (it is the only change).
check_moves() {
	join <(echo "$before") <(echo "$1") | awk '$2 != $3 && $3 != "backend4" {print; bad = 1} END {exit bad}'
}
if [ "$REBALANCE" = none ]; then
	for round in 1 2; do
		now=$(lab_map "${old[@]}")
		[ "$now" = "$before" ] ||
			lab_die "bound clients moved (rebalance: none):"$'\n'"$(diff <(echo "$before") <(echo "$now"))"
		[ $round = 1 ] && sleep 2 # let flows close and bindings go idle, then look again
	done
	lab_ok "all 20 old clients kept their backends (rebalance: none), idle or not"
else
	# A binding moves only while it has no live flow, and a closed
	# connection stays live for tcp_fin_timeout (1 s here): every look
	# makes the bindings it touches busy again. So look rarely, and only
	# at the clients still expected to move.
	t0=$(lab_ms)
	deadline=$((SECONDS + 30))
	mapfile -t pending < <(join <(echo "$before") <(echo "$ref_old") | awk '$2 != $3 {print $1}')
	while [ ${#pending[@]} -gt 0 ]; do
		[ "$SECONDS" -lt "$deadline" ] || lab_die "idle bindings of ${pending[*]} did not move within 30 s"
		sleep 3
		now=$(lab_map "${pending[@]}")
		grep -q ' -$' <<<"$now" && lab_die "requests failed during rebalancing:"$'\n'"$now"
		bad=$(check_moves "$now") || lab_die "clients moved elsewhere than backend4:"$'\n'"$bad"
		mapfile -t pending < <(awk '$2 != "backend4" {print $1}' <<<"$now")
	done
	took=$(($(lab_ms) - t0))
	now=$(lab_map "${old[@]}")
	[ "$now" = "$ref_old" ] ||
		lab_die "after rebalancing, old clients are not where Maglev puts them:"$'\n'"$(diff <(echo "$ref_old") <(echo "$now"))"
	lab_ok "rebalance: idle moved the $movers old clients to backend4 within $took ms; the others stayed"
fi
echo "PASS: scale-out ($MODE, rebalance: $REBALANCE)"
