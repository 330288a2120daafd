#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Scale-out with real routing (tests/e2e/lab_ecmp.sh): two limpet instances
# (af_packet ports, kernelInterface lp-wan, announce: table 100, workers.poll:
# adaptive), each with its own BIRD peering with the router over limpet's
# kernel interface, BGP + BFD, ECMP with an L4 hash at the router, dsr to
# three backends, 20 client addresses with ClientIP affinity. Cases (issue 12):
#   (a) both instances carry traffic (their own counters say so), and every
#       client sees one backend whichever instance its connections cross;
#   (b) SIGKILL of an instance: the router drops its next hop within 1 s
#       (BFD; the measured time is printed); every client is served by the
#       same backend through the other instance;
#   (c) SIGTERM of an instance while clients loop: its route is withdrawn
#       first (the router moves the VIP while limpet still forwards), and
#       0 requests fail;
#   (d) started again: it announces only once it runs, traffic comes back
#       to it, and 0 clients change backend;
#   (e) every backend down as one instance sees them (its health checks
#       blocked): that instance withdraws the VIP (`show announce`: no
#       backend up), the router moves it; one backend back: announced again.
# Also: BGP, BFD and ARP of the kernel run through limpet's exception path
# (the kernel never sees wan), and the exception counters show it.
set -euo pipefail
. "$(dirname "$0")/lab_ecmp.sh"

two_hops() { [ "$(ecmp_nexthop_count)" = 2 ]; }
# only_via N: the router's VIP route goes through instance N alone.
only_via() { [ "$(lab_ecmp_nexthops)" = "${E_INST[$(($1 - 1))]}" ]; }

# wait_ms LIMIT_S WHAT CMD...: poll CMD every 10 ms; print the milliseconds it took.
wait_ms() {
	local limit=$1 what=$2 t0
	shift 2
	t0=$(lab_ms)
	until "$@"; do
		[ $(($(lab_ms) - t0)) -lt $((limit * 1000)) ] || lab_die "timed out after ${limit}s waiting for: $what"
		sleep 0.01
	done
	echo $(($(lab_ms) - t0))
}

same_map() {
	local now=$1 what=$2
	grep -q ' -$' <<<"$now" && lab_die "$what: requests failed:"$'\n'"$(grep ' -$' <<<"$now" | sort | uniq -c)"
	[ "$(sort -u <<<"$now")" = "$map" ] ||
		lab_die "$what: clients changed backend:"$'\n'"$(diff <(echo "$map") <(sort -u <<<"$now"))"
}

lab_ecmp_up
lab_ecmp_backends_start
lab_ecmp_router_start
lab_ecmp_limpet_start 1
lab_ecmp_limpet_start 2
lab_ecmp_instance_start 1
lab_ecmp_instance_start 2

t=$(wait_ms 45 "the router's ECMP route over both instances" two_hops)
lab_ok "BGP over limpet's kernel interfaces, VIP $E_VIP over both instances after $t ms: $(lab_ecmp_nexthops | tr '\n' ' ')"
lab_in "$ENS_RT" ip route show "$E_VIP/32" | sed 's/^/    /'
ecmp_birdc bird-router show bfd sessions | sed -n '3,$p' | sed 's/^/    /'
for n in 1 2; do
	[ "$(lab_ecmp_announce_state $n)" = "yes -" ] || lab_die "instance $n: show announce says $(lab_ecmp_announce_state $n)"
	lab_in "${ENS_I[$((n - 1))]}" ip neigh show dev lp-wan | grep -q "${E_RT_INST[$((n - 1))]} .*REACHABLE\|${E_RT_INST[$((n - 1))]} .*STALE\|${E_RT_INST[$((n - 1))]} .*DELAY" ||
		lab_die "instance $n: the kernel did not resolve the router on lp-wan: $(lab_in "${ENS_I[$((n - 1))]}" ip neigh show dev lp-wan)"
	k=$(ecmp_ctl $n show stats | awk '$1 == "to_kernel" || $1 == "from_kernel" {printf "%s %s ", $1, $2}')
	grep -q 'to_kernel [1-9]' <<<"$k" && grep -q 'from_kernel [1-9]' <<<"$k" || lab_die "instance $n: exception counters: $k"
	echo "    instance $n: show announce: VIP announced; exception path: $k"
done

# ---- (a) both instances carry traffic, each client sees one backend ----
f1=$(lab_ecmp_forwarded 1)
f2=$(lab_ecmp_forwarded 2)
base=$(lab_ecmp_sweep 10 | sort -V)
grep -q ' -$' <<<"$base" && lab_die "requests failed:"$'\n'"$(grep ' -$' <<<"$base")"
d1=$(($(lab_ecmp_forwarded 1) - f1))
d2=$(($(lab_ecmp_forwarded 2) - f2))
echo "    $(wc -l <<<"$base") requests from ${#E_CLIENTS[@]} clients: instance1 forwarded $d1 packets, instance2 $d2"
[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] || lab_die "ECMP did not use both instances ($d1 / $d2 packets)"
spread=$(awk '{print $2}' <<<"$base" | sort | uniq -c | tr '\n' ' ' | tr -s ' ')
multi=$(sort -u <<<"$base" | awk '{print $1}' | uniq -d | tr '\n' ' ')
[ -z "$multi" ] || lab_die "clients saw more than one backend: $multi"
map=$(sort -u <<<"$base")
lab_ok "(a) both instances carry traffic (limpet counters: $d1 / $d2 packets); every client sees one backend (requests per backend:$spread)"

# ---- (b) SIGKILL: BFD ----
t0=$(lab_ms)
kill -KILL "${LAB_PID[limpet1]}"
wait "${LAB_PID[limpet1]}" 2>/dev/null || true
unset "LAB_PID[limpet1]"
wait_ms 5 "the router to drop instance1 after SIGKILL of its limpet" only_via 2 >/dev/null
BFD_MS=$(($(lab_ms) - t0))
state=$(ecmp_birdc bird-router show protocols inst1 | awk '$1 == "inst1" {print $4, $6, $7, $8}')
lab_ok "(b) limpet 1 SIGKILLed: the router dropped its next hop after $BFD_MS ms (inst1: $state)"
[ "$BFD_MS" -le 1000 ] || lab_die "failover took $BFD_MS ms, more than 1 s"
now=$(lab_ecmp_sweep 3)
same_map "$now" "after SIGKILL"
lab_ok "(b) every client served by the same backend through instance2 ($(wc -l <<<"$now") requests, 0 failed)"

lab_ecmp_limpet_start 1
[ "$ECMP_EARLY_ROUTE" = 0 ] || lab_die "limpet 1 announced the VIP before it was running"
t=$(wait_ms 45 "instance1 back in the ECMP route" two_hops)
lab_ok "limpet 1 restarted: back in the ECMP route after $t ms"

# ---- (c) SIGTERM while clients loop: withdraw first, 0 failures ----
loop_out=$LAB_DIR/loop.out
rm -f "$LAB_DIR/loop.stop"
lab_in "$ENS_CL" bash -c '
	vip=$1 port=$2 stop=$3; shift 3
	for a in "$@"; do
		(while [ ! -e "$stop" ]; do
			out=$(curl -sf --max-time 3 --interface "$a" -H "Connection: close" "http://$vip:$port/") || out=-
			echo "$a $out"
		done) &
	done
	wait' loop "$E_VIP" "$E_PORT" "$LAB_DIR/loop.stop" "${E_CLIENTS[@]}" >"$loop_out" 2>/dev/null &
LAB_PID[loop]=$!
sleep 1
t0=$(lab_ms)
kill -TERM "${LAB_PID[limpet2]}"
wait_ms 5 "the router to drop instance2 after SIGTERM of its limpet" only_via 1 >/dev/null
WITHDRAW_MS=$(($(lab_ms) - t0))
kill -0 "${LAB_PID[limpet2]}" 2>/dev/null || lab_die "limpet 2 stopped before the router moved the VIP"
lab_ecmp_has_route 2 && lab_die "limpet 2 still has its VIP route after SIGTERM"
wait "${LAB_PID[limpet2]}" 2>/dev/null || true
STOP_MS=$(($(lab_ms) - t0))
unset "LAB_PID[limpet2]"
sleep 1
touch "$LAB_DIR/loop.stop"
wait "${LAB_PID[loop]}" 2>/dev/null || true
unset "LAB_PID[loop]"
grep -q "VIP routes withdrawn" "$LAB_DIR/limpet2.log" || lab_die "limpet 2 did not log its withdraw"
total=$(grep -c . "$loop_out" || true)
[ "$total" -gt 100 ] || lab_die "the client loop made only $total requests"
same_map "$(cat "$loop_out")" "during SIGTERM"
lab_ok "(c) SIGTERM of limpet 2: route withdrawn, the router moved the VIP after $WITHDRAW_MS ms while limpet still forwarded; it stopped after $STOP_MS ms; $total requests in the loop, 0 failed, 0 clients changed backend"

# ---- (d) started again ----
f2=$(lab_ecmp_forwarded 1)
lab_ecmp_limpet_start 2
[ "$ECMP_EARLY_ROUTE" = 0 ] || lab_die "limpet 2 announced the VIP before it was running"
t=$(wait_ms 45 "instance2 back in the ECMP route" two_hops)
f2=$(lab_ecmp_forwarded 2)
now=$(lab_ecmp_sweep 5)
same_map "$now" "after the restart"
d2=$(($(lab_ecmp_forwarded 2) - f2))
[ "$d2" -gt 0 ] || lab_die "no traffic came back to instance2"
lab_ok "(d) limpet 2 started again: announced only once running, in the ECMP route after $t ms, $d2 packets through it, 0 clients changed backend"

# ---- (e) all backends down on one instance ----
for i in 0 1 2; do
	lab_in "${ENS_BE[$i]}" nft -f - <<-EOF
	table ip hcblock {
		chain hc_in {
			type filter hook input priority 0; policy accept;
			ip saddr ${E_INST_LAN[0]} tcp dport $E_PORT drop
		}
	}
	EOF
done
t=$(wait_ms 15 "instance1 to withdraw with no backend up" only_via 2)
why=$(lab_ecmp_announce_state 1)
[ "$why" = "no no-backend-up" ] || lab_die "instance1: show announce says '$why'"
lab_ok "(e) every backend down as instance1's health checks see it: withdrawn (show announce: $why), the router moved the VIP in $t ms"
now=$(lab_ecmp_sweep 2)
same_map "$now" "with instance1 withdrawn"
lab_in "${ENS_BE[0]}" nft delete table ip hcblock
t=$(wait_ms 30 "instance1 announced again with a backend up" two_hops)
[ "$(lab_ecmp_announce_state 1)" = "yes -" ] || lab_die "instance1: show announce says $(lab_ecmp_announce_state 1)"
lab_ok "(e) a backend up again: instance1 announced again, back in the ECMP route after $t ms"
for i in 1 2; do lab_in "${ENS_BE[$i]}" nft delete table ip hcblock; done

for n in 1 2; do
	echo "    instance $n: $(ecmp_ctl $n show stats | awk '$1 == "to_kernel" || $1 == "from_kernel" || $1 ~ /^drop_kernel/ {printf "%s %s  ", $1, $2}')$(ecmp_ctl $n show stats worker 0 | awk '$1 == "idle_sleeps" {printf "worker 0: %s %s", $1, $2}')"
done
echo "failover: SIGKILL of an instance (BFD) $BFD_MS ms; SIGTERM withdraw $WITHDRAW_MS ms"
echo "PASS: ECMP lab with two limpet instances"
