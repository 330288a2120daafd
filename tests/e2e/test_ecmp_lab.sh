#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The scale-out lab's routing mechanics (tests/e2e/lab_ecmp.sh), with kernel
# stand-ins for the two limpet instances:
#   1. each instance keeps its VIP route in kernel table 100 with
#      lib/announce (announce_vip); its BIRD learns it there and announces
#      it over BGP; the router installs one ECMP route;
#   2. L4 hashing at the router spreads every client's connections over
#      both instances, and every client still sees one backend;
#   3. the VIP route withdrawn from table 100 → traffic moves to the other
#      instance (and comes back when it is put back); SIGTERM of the
#      announcer withdraws its route at once;
#   4. an instance that goes silent (its packets dropped, as when limpet
#      dies and its kernel interface goes) → BFD: the router drops its
#      next hop within 1 s; the measured time is printed;
#   5. SIGKILL of an instance's BIRD → the router drops its next hop
#      within 1 s; BIRD started again → the instance is back.
set -euo pipefail
. "$(dirname "$0")/lab_ecmp.sh"

lab_ecmp_up
lab_ecmp_backends_start
lab_ecmp_router_start
lab_ecmp_instance_start 1
lab_ecmp_instance_start 2
lab_ecmp_announce_start 1
lab_ecmp_announce_start 2

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

t=$(wait_ms 30 "the router's ECMP route over both instances" two_hops)
lab_ok "BGP up, VIP $E_VIP over both instances after $t ms: $(lab_ecmp_nexthops | tr '\n' ' ')"
lab_in "$ENS_RT" ip route show "$E_VIP/32" | sed 's/^/    /'
ecmp_birdc bird-router show bfd sessions | sed -n '3,$p' | sed 's/^/    /'

# ---- both instances carry traffic, each client sees one backend ----
f1=$(lab_ecmp_forwarded 1)
f2=$(lab_ecmp_forwarded 2)
base=$(lab_ecmp_sweep 10 | sort -V)
grep -q ' -$' <<<"$base" && lab_die "requests failed:"$'\n'"$(grep ' -$' <<<"$base")"
d1=$(($(lab_ecmp_forwarded 1) - f1))
d2=$(($(lab_ecmp_forwarded 2) - f2))
echo "    $(wc -l <<<"$base") requests from ${#E_CLIENTS[@]} clients: instance1 forwarded $d1 packets, instance2 $d2"
[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] || lab_die "ECMP did not use both instances ($d1 / $d2 packets)"
# Every client spread its connections over both instances (10 each: the
# chance that one client's 10 connections all hash to one side is 2^-9).
spread=$(awk '{print $2}' <<<"$base" | sort | uniq -c | tr '\n' ' ')
multi=$(sort -u <<<"$base" | awk '{print $1}' | uniq -d | tr '\n' ' ')
[ -z "$multi" ] || lab_die "clients saw more than one backend: $multi"
map=$(sort -u <<<"$base")
lab_ok "both instances carry traffic; every client sees one backend (backends: $spread)"

# ---- withdraw: traffic moves ----
lab_ecmp_withdraw 1
t=$(wait_ms 10 "the router to drop instance1 after the withdraw" only_via 2)
lab_ok "VIP route withdrawn on instance1: the router moved it to instance2 in $t ms"
f1=$(lab_ecmp_forwarded 1)
now=$(lab_ecmp_sweep 5 | sort -u)
grep -q ' -$' <<<"$now" && lab_die "requests failed after the withdraw"
[ "$(lab_ecmp_forwarded 1)" = "$f1" ] || lab_die "instance1 still forwards after its withdraw"
[ "$now" = "$map" ] || lab_die "clients changed backend:"$'\n'"$(diff <(echo "$map") <(echo "$now"))"
lab_ok "after the withdraw: 0 requests through instance1, 0 failed, 0 clients changed backend"
lab_ecmp_announce 1
t=$(wait_ms 10 "instance1 back in the ECMP route" two_hops)
lab_ok "announced again: back in the ECMP route in $t ms"

# ---- silent failure: BFD ----
# Everything instance1 sends or receives is dropped, as when limpet dies
# and its kernel interface goes with it: BGP's TCP session sees nothing.
lab_in "${ENS_I[0]}" nft -f - <<-EOF
table ip ecmpdead {
	chain drop_in { type filter hook input priority -10; policy drop; }
	chain drop_out { type filter hook output priority -10; policy drop; }
	chain drop_fwd { type filter hook forward priority -10; policy drop; }
}
EOF
t0=$(lab_ms)
wait_ms 5 "BFD to take instance1's route away" only_via 2 >/dev/null
BFD_MS=$(($(lab_ms) - t0))
state=$(ecmp_birdc bird-router show protocols inst1 | awk '$1 == "inst1" {print $4, $6, $7, $8}')
lab_ok "instance1 silent: the router dropped its route after $BFD_MS ms (BFD; inst1: $state)"
[ "$BFD_MS" -le 1000 ] || lab_die "BFD failover took $BFD_MS ms, more than 1 s"
now=$(lab_ecmp_sweep 2 | sort -u)
grep -q ' -$' <<<"$now" && lab_die "requests failed while instance1 is silent"
[ "$now" = "$map" ] || lab_die "clients changed backend:"$'\n'"$(diff <(echo "$map") <(echo "$now"))"
lab_ok "every client served by the same backend through instance2"
lab_in "${ENS_I[0]}" nft delete table ip ecmpdead
t=$(wait_ms 30 "instance1 back after the silence" two_hops)
lab_ok "instance1 reachable again: back in the ECMP route after $t ms"

# ---- SIGKILL of an instance's BIRD ----
t0=$(lab_ms)
kill -KILL "${LAB_PID[bird-inst2]}"
wait "${LAB_PID[bird-inst2]}" 2>/dev/null || true
unset "LAB_PID[bird-inst2]"
wait_ms 5 "the router to drop instance2 after SIGKILL of its BIRD" only_via 1 >/dev/null
KILL_MS=$(($(lab_ms) - t0))
rm -f "$LAB_DIR/bird-inst2.ctl"
lab_ok "SIGKILL of instance2's BIRD: the router dropped its route after $KILL_MS ms"
[ "$KILL_MS" -le 1000 ] || lab_die "failover after SIGKILL took $KILL_MS ms, more than 1 s"
lab_ecmp_instance_start 2
t=$(wait_ms 30 "instance2 back after its BIRD restarted" two_hops)
lab_ok "instance2's BIRD restarted: back in the ECMP route after $t ms"
now=$(lab_ecmp_sweep 2 | sort -u)
[ "$now" = "$map" ] || lab_die "clients changed backend:"$'\n'"$(diff <(echo "$map") <(echo "$now"))"

# ---- an announcer's shutdown withdraws first ----
t0=$(lab_ms)
lab_stop announce1
wait_ms 5 "the router to drop instance1 after its announcer's SIGTERM" only_via 2 >/dev/null
lab_ok "SIGTERM of instance1's announcer: route withdrawn, the router moved the VIP in $(($(lab_ms) - t0)) ms ($(tail -n 1 "$LAB_DIR/announce1.log"))"
lab_ecmp_has_route 1 && lab_die "instance1's route is still in table $ECMP_TABLE"

echo "failover: BFD (silent instance) $BFD_MS ms, SIGKILL of BIRD $KILL_MS ms"
echo "PASS: ECMP lab mechanics"
