#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Half-open connections are no health verdict. SYNs from spoofed addresses
# (50 a second for 8 s) reach the backends and their handshakes never
# complete; with tcp_syn_timeout 2 s their flows expire as failed
# handshakes, limpet's passive signal. It may bring probes forward, but
# the probes pass: no backend goes down and every client keeps its backend.
#
#   test_synflood.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" affinity=1 health=http interval=0.5 timeout=0.4 fall=2 syn_timeout=2 \
	>"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" lab_get "${CLIENT4[0]}"
before=$(lab_map)
grep -q ' -$' <<<"$before" && lab_die "requests failed:"$'\n'"$before"

lab_in "$NS_CLIENT" "$LAB_PYTHON" "$(dirname "$0")/synflood.py" --vip "$VIP4" --port "$(lab_vip_port)" \
	--src-prefix 10.10.0. --first 200 --last 250 --seconds 8 --rate 50
down=$(lab_log_count "backend .* down")
[ "$down" -eq 0 ] || lab_die "backends marked down by abandoned handshakes:"$'\n'"$(grep -E "backend .* down" "$LAB_LIMPET_LOG")"
after=$(lab_map)
[ "$after" = "$before" ] || lab_die "clients moved:"$'\n'"$(diff <(echo "$before") <(echo "$after"))"
lab_ok "8 s of spoofed SYNs: no backend marked down, all 20 clients kept their backends"
echo "PASS: synflood ($MODE)"
