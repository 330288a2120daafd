#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Case 5: a long download (6 MiB, sent at 1.5 MiB/s by the server: 4 s) survives
# what happens meanwhile to the rest of the service: a reload that adds a
# backend and changes another's weight, another backend dying (tcp health
# checks mark it down), and a reload that removes it and drains a third.
# The body's SHA-256 must match what the servers send.
#
#   test_download.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}
SIZE=$((6 * 1024 * 1024))
RATE=$((3 * 1024 * 1024 / 2))
hc=(health=tcp interval=0.5 timeout=0.4 fall=2)

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" affinity=1 "${hc[@]}" backends="1 2 3" >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
client=${CLIENT4[0]}
lab_wait 10 "the service to answer" lab_get "$client"
want=$("$LAB_PYTHON" "$LAB_HTTPD" --digest "$SIZE")

ip netns exec "$NS_CLIENT" curl -sS --fail --max-time 60 --interface "$client" -D "$LAB_DIR/dl.headers" \
	-o "$LAB_DIR/dl.body" "http://$VIP4:$(lab_vip_port)/big?size=$SIZE&rate=$RATE" \
	2>"$LAB_DIR/dl.err" &
LAB_PID[download]=$!
dl=${LAB_PID[download]}
lab_wait 10 "the download to start" grep -qi '^x-backend:' "$LAB_DIR/dl.headers"
serving=$(awk -F': *' 'tolower($1) == "x-backend" {print $2}' "$LAB_DIR/dl.headers" | tr -d '\r')
s=${serving#backend}
others=()
for b in 1 2 3; do [ "$b" != "$s" ] && others+=("$b"); done
u=${others[0]} w=${others[1]}
echo "download from $client served by $serving; backend$u and backend$w will change"

# 1. Reload: backend4 joins, backend$u gets weight 3.
lab_config "$MODE" affinity=1 "${hc[@]}" backends="1 2 3 4" weights="$u=3" >"$LAB_DIR/limpet.yaml"
lab_limpet_reload
lab_ok "reload: backend4 added, backend$u weight 3"
# 2. backend$u dies; health checks take it down.
lab_backend_stop "$u"
lab_wait_log 10 "backend ${BE4[$((u - 1))]}:$BACKEND_PORT down" >/dev/null
lab_ok "backend$u killed and marked down"
# 3. Reload: backend$u removed, backend$w draining.
lab_config "$MODE" affinity=1 "${hc[@]}" backends="$(printf '%s ' 1 2 3 4 | sed "s/$u //")" \
	states="$w=draining" >"$LAB_DIR/limpet.yaml"
lab_limpet_reload
lab_ok "reload: backend$u removed, backend$w draining"
kill -0 "$dl" 2>/dev/null || lab_die "the download ended before the changes were done; make it longer"
got=$(stat -c %s "$LAB_DIR/dl.body" 2>/dev/null || echo 0)
echo "all changes done with $((got * 100 / SIZE))% of the body received"

rc=0
wait "$dl" || rc=$?
unset "LAB_PID[download]"
[ "$rc" -eq 0 ] || lab_die "curl failed ($rc): $(cat "$LAB_DIR/dl.err")"
got=$(stat -c %s "$LAB_DIR/dl.body")
[ "$got" -eq "$SIZE" ] || lab_die "received $got bytes, expected $SIZE"
sum=$(sha256sum "$LAB_DIR/dl.body" | awk '{print $1}')
[ "$sum" = "$want" ] || lab_die "body checksum $sum, expected $want"
lab_ok "6 MiB download from $serving complete, sha256 $sum matches"
echo "PASS: download ($MODE)"
