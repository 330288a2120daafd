#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Case 2: kill one backend's server. Health checks (http, interval 0.5 s,
# fall 2) mark it down within interval x fall + 1 s; its clients then get
# answers from other backends while every other client keeps its backend.
# When the server comes back it is marked up again (rise 2), and no client
# is moved back: bindings stay where they are.
#
#   test_failover.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}
INTERVAL_MS=500
FALL=2
RISE=2

lab_up
lab_mode "$MODE"
lab_backends_start
lab_config "$MODE" affinity=1 health=http interval=0.5 timeout=0.4 fall=$FALL rise=$RISE \
	>"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" lab_get "${CLIENT4[0]}"

before=$(lab_map)
grep -q ' -$' <<<"$before" && lab_die "requests failed before the failure:"$'\n'"$before"
victim=$(awk '{print $2}' <<<"$before" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 {print $2}')
v=${victim#backend}
vaddr=${BE4[$((v - 1))]}
nv=$(grep -c " $victim\$" <<<"$before")
echo "killing $victim ($vaddr), which serves $nv of 20 clients"

t0=$(lab_ms)
lab_backend_stop "$v"
lab_wait_log 10 "backend $vaddr:$BACKEND_PORT down" >/dev/null
down_ms=$(($(lab_ms) - t0))
bound_ms=$((INTERVAL_MS * FALL + 1000))
echo "failover: $victim marked down ${down_ms} ms after its server was killed (bound ${bound_ms} ms)"
[ "$down_ms" -le "$bound_ms" ] || lab_die "marked down after ${down_ms} ms, more than interval x fall + 1 s"
lab_ok "health check marked $victim down in ${down_ms} ms"

after=$(lab_map)
moved=0
while read -r addr was; do
	now=$(awk -v a="$addr" '$1 == a {print $2}' <<<"$after")
	if [ "$was" = "$victim" ]; then
		[ "$now" != "-" ] && [ "$now" != "$victim" ] ||
			lab_die "client $addr of $victim got '$now' after the failover"
		moved=$((moved + 1))
		echo "  $addr: $was -> $now"
	else
		[ "$now" = "$was" ] || lab_die "client $addr moved from $was to $now though $was is healthy"
	fi
done <<<"$before"
lab_ok "$moved clients of $victim answered by other backends, the other $((20 - moved)) kept theirs"

t0=$(lab_ms)
lab_backend_start "$v"
lab_wait_log 10 "backend $vaddr:$BACKEND_PORT up" >/dev/null
up_ms=$(($(lab_ms) - t0))
echo "recovery: $victim marked up ${up_ms} ms after its server restarted (rise $RISE)"
[ "$up_ms" -le $((INTERVAL_MS * RISE + 1000)) ] || lab_die "marked up after ${up_ms} ms"
again=$(lab_map)
[ "$again" = "$after" ] || lab_die "clients moved when $victim came back:"$'\n'"$(diff <(echo "$after") <(echo "$again"))"
lab_ok "$victim back up in ${up_ms} ms; every client kept its backend"
echo "PASS: failover ($MODE): down after ${down_ms} ms"
