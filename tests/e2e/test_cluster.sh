#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Replicated bindings end to end (issue 13) on the scale-out lab
# (tests/e2e/lab_ecmp.sh with ECMP_CLUSTER=1): a router running BIRD spreads
# the VIP over two limpet instances by ECMP with an L4 hash (BGP + BFD
# through limpet's kernel interfaces), so every client's connections cross
# both instances; dsr to three backends; both instances in one cluster
# through a redis-server in a namespace of its own, on a management segment
# (never through limpet), with a password (cluster.passwordFile).
#
#   (a) A client's binding made to differ from Maglev on instance 1 (its
#       backend down as instance 1's health checks see it, then up again,
#       while the router sends everything to instance 1; instance 2 sees it
#       up throughout): instance 2 holds the moved binding (ORIGIN peer)
#       and honours it when ECMP sends the client there, over both
#       instances and through instance 2 alone.
#   (b) SIGKILL of instance 1, then a start: `show affinity` shows every
#       binding back, the same backend, the remaining timeout (the one shown
#       before the kill less the time elapsed, and what instance 2 shows
#       now), ORIGIN loaded; the VIP announced only once it runs.
#   (c) Rolling restart of both instances (SIGTERM, start, back in the ECMP
#       route), one after the other, under a client loop through the
#       router: 0 clients change backend (the moved ones included), 0
#       requests fail; each instance carried traffic before and after its
#       restart.
#   (d) Redis stopped (SIGSTOP) for 10 s under the client loop: forwarding
#       unaffected (0 failed, 0 moved, both instances forward, BFD and the
#       ECMP route keep both instances throughout); a client first seen
#       during the outage, bound by one instance only, is bound the same on
#       the other once Redis is back.
#
# Per-instance packet counters are printed for every phase. Namespaces
# "${LAB_PREFIX}e*"; the lab's trap removes them and stops every process by
# its PID. CLUSTER_CASES (default "a b c d") runs a subset; (c) and (d)
# need (a)'s moved bindings to mean anything, so (a) always runs.
#
#   test_cluster.sh [dsr]
set -euo pipefail
MODE=${1:-dsr}
ECMP_CLUSTER=1
# shellcheck source=tests/e2e/lab_ecmp.sh
. "$(dirname "$0")/lab_ecmp.sh"
[ "$MODE" = dsr ] || lab_die "the scale-out lab runs dsr: backends answer clients through the router, whichever instance forwarded"
CASES=${CLUSTER_CASES:-a b c d}
NEW_CLIENT=10.30.0.200	# (d): a client first seen during the Redis outage

ctl() { timeout 20 "$LAB_LIMPETCTL" -s "$LAB_DIR/limpet$1.sock" -t 10 "${@:2}"; }
two_hops() { [ "$(ecmp_nexthop_count)" = 2 ]; }
only_via() { [ "$(lab_ecmp_nexthops)" = "${E_INST[$(($1 - 1))]}" ]; }
# affinity K: "CLIENT BACKEND LEFT ORIGIN" of every binding of web on instance K.
affinity() { ctl "$1" show affinity web | awk 'NR > 1 && NF >= 8 { print $1, $2, $5, $8 }' | sort -V; }
# bindings K: "CLIENT BACKEND" of every binding on instance K.
bindings() { affinity "$1" | cut -d' ' -f1,2; }
agree() {
	bindings 1 >"$LAB_DIR/b1" && bindings 2 >"$LAB_DIR/b2" && [ -s "$LAB_DIR/b1" ] && cmp -s "$LAB_DIR/b1" "$LAB_DIR/b2"
}
backend_of() { ctl "$1" show affinity web "$2" | awk 'NR == 2 { print $2 }'; }
be_state_is() { [ "$(ctl "$1" show backends web | awk -v b="$2" '$1 == b { print $2 }')" = "$3" ]; }
ready() { ctl "$1" show cluster | head -1 | grep -q ': ready,'; }
not_ready() { ! ready "$1"; }
be_addr() { echo "${E_BE[$((${1#backend} - 1))]}:$E_PORT"; }	# backendN -> ADDR:PORT
fwd() { lab_ecmp_forwarded "$1"; }
has_case() { [[ " $CASES " == *" $1 "* ]]; }

# check_map WHAT OUT EXPECTED: no failed request in OUT, and every client's
# backend(s) there are exactly EXPECTED's ("ADDR BACKEND" lines, sorted).
check_map() {
	local what=$1 out=$2 want=$3 fails seen msg=
	fails=$(grep -c ' -$' <<<"$out" || true)
	seen=$(grep -v ' -$' <<<"$out" | sort -u | sort -V)
	[ "$fails" -eq 0 ] || msg+=$'\n'"$fails of $(grep -c . <<<"$out") requests failed:"$'\n'"$(grep ' -$' <<<"$out" | sort | uniq -c)"
	[ "$seen" = "$want" ] || msg+=$'\n'"clients changed backend (< expected, > seen):"$'\n'"$(diff <(echo "$want") <(echo "$seen") || true)"
	[ -z "$msg" ] || lab_die "$what:$msg"
}

# ---- the lab ----
lab_ecmp_up
lab_ecmp_redis_start
lab_in "$ENS_CL" ip addr add "$NEW_CLIENT/24" dev eth0
lab_ecmp_backends_start
lab_ecmp_router_start
lab_ecmp_limpet_start 1
lab_ecmp_limpet_start 2
lab_ecmp_instance_start 1
lab_ecmp_instance_start 2
lab_wait 45 "the router's ECMP route over both instances" two_hops
lab_wait 10 "instance 1 ready in the cluster" ready 1
lab_wait 10 "instance 2 ready in the cluster" ready 2
noauth=$(lab_in "$ENS_RD" "$ECMP_REDIS_CLI" -h "$E_REDIS" -p "$E_REDIS_PORT" ping 2>&1 || true)
grep -q NOAUTH <<<"$noauth" || lab_die "Redis answers without the password: $noauth"
for k in 1 2; do
	via=$(lab_in "${ENS_I[$((k - 1))]}" ip -4 route get "$E_REDIS" | head -1)
	grep -q " dev mg " <<<"$via" || lab_die "instance $k reaches Redis through something else than mg: $via"
done
peers=$(ctl 1 show cluster | awk '$1 == "peers:" { print $2 }')
[ "$peers" = 2 ] || lab_die "instance 1 sees $peers cluster peers, not 2"
lab_ok "lab up: VIP over both instances ($(lab_ecmp_nexthops | tr '\n' ' ')), both ready in cluster $E_CLUSTER_NAME (2 peers), Redis $E_REDIS:$E_REDIS_PORT on the management segment (dev mg), password required"
ctl 1 show cluster | head -2 | sed 's/^/    /'

# ---------------------------------------------------------------------------
echo "== (a) a binding that differs from Maglev is honoured by the other instance"
f1=$(fwd 1) f2=$(fwd 2)
base=$(lab_ecmp_sweep 5 | sort -V)
grep -q ' -$' <<<"$base" && lab_die "requests failed at first:"$'\n'"$(grep ' -$' <<<"$base")"
map0=$(sort -u <<<"$base" | sort -V)
multi=$(awk '{ print $1 }' <<<"$map0" | uniq -d | tr '\n' ' ')
[ -z "$multi" ] || lab_die "clients saw more than one backend at first: $multi"
d1=$(($(fwd 1) - f1)) d2=$(($(fwd 2) - f2))
echo "    $(wc -l <<<"$base") requests, 20 clients x 5 connections: instance 1 forwarded $d1 packets, instance 2 $d2"
[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] || lab_die "ECMP did not use both instances ($d1 / $d2 packets)"
lab_wait 10 "the instances to hold the same bindings" agree
[ "$(wc -l <"$LAB_DIR/b1")" -eq "${#E_CLIENTS[@]}" ] || lab_die "instance 1 holds $(wc -l <"$LAB_DIR/b1") bindings, not ${#E_CLIENTS[@]}"
# X: the backend with the most clients.
X=$(awk '{ print $2 }' <<<"$map0" | sort | uniq -c | sort -k1,1nr -k2 | awk 'NR == 1 { print $2 }')
XN=${X#backend}
XADDR=$(be_addr "$X")
mapfile -t ON_X < <(awk -v x="$X" '$2 == x { print $1 }' <<<"$map0")

ctl 2 announce withdraw >/dev/null
lab_wait 10 "the router to send everything to instance 1 (instance 2 withdrawn)" only_via 1
# X goes down as instance 1 sees it (its health checks dropped at X):
# stopping X's server would make instance 2 see it down too and move the
# same clients by itself, to the same backend (Maglev's next choice),
# replication or not. Here instance 2 keeps X up and its clients on X: the
# moves can reach it only through Redis.
lab_log "instance 2 withdrawn; $X ($XADDR) serves ${#ON_X[@]} clients: down as instance 1 sees it"
lab_in "${ENS_BE[$((XN - 1))]}" nft -f - <<-EOF
table ip hcblock {
	chain hc_in {
		type filter hook input priority 0; policy accept;
		ip saddr ${E_INST_LAN[0]} tcp dport $E_PORT drop
	}
}
EOF
lab_wait 15 "instance 1 to see $X down" be_state_is 1 "$XADDR" down
be_state_is 2 "$XADDR" up || lab_die "(a) instance 2 sees $X down too"
f2=$(fwd 2)
m1=$(lab_ecmp_sweep 3 "${ON_X[@]}" | sort -V)
grep -q ' -$' <<<"$m1" && lab_die "(a) requests failed with $X down:"$'\n'"$(grep ' -$' <<<"$m1")"
m1=$(sort -u <<<"$m1" | sort -V)
[ "$(awk '{ print $1 }' <<<"$m1" | uniq -d)" = "" ] || lab_die "(a) moved clients saw several backends: $m1"
grep -q " $X$" <<<"$m1" && lab_die "(a) clients of the failed backend not moved: $m1"
lab_in "${ENS_BE[$((XN - 1))]}" nft delete table ip hcblock
lab_wait 15 "instance 1 to see $X up" be_state_is 1 "$XADDR" up
be_state_is 2 "$XADDR" up || lab_die "(a) instance 2 saw $X down"
check_map "(a) on instance 1 with $X back" "$(lab_ecmp_sweep 2 "${ON_X[@]}")" "$m1"
[ "$(fwd 2)" = "$f2" ] || lab_die "(a) instance 2 forwarded while withdrawn: the moved bindings were not made on instance 1 alone"
# Instance 2 never saw these clients while X was down: it has their moves
# from Redis only (ORIGIN peer), where Maglev would send them to X.
while read -r c b; do
	got=$(ctl 2 show affinity web "$c" | awk 'NR == 2 { print $2, $8 }')
	[ "$got" = "$(be_addr "$b") peer" ] || lab_die "(a) instance 2's binding of $c: '$got', instance 1 moved it to $(be_addr "$b") (peer)"
done <<<"$m1"
# The expected map from now on: the moved clients on their new backend.
map1=$( (grep -v " $X$" <<<"$map0" || true; echo "$m1") | sort -V)
ctl 2 announce resume >/dev/null
lab_wait 15 "instance 2 back in the ECMP route" two_hops
f1=$(fwd 1) f2=$(fwd 2)
check_map "(a) over both instances" "$(lab_ecmp_sweep 8)" "$map1"
d1=$(($(fwd 1) - f1)) d2=$(($(fwd 2) - f2))
[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] || lab_die "(a) ECMP did not use both instances ($d1 / $d2 packets)"
echo "    20 clients x 8 connections over both instances: instance 1 forwarded $d1 packets, instance 2 $d2"
ctl 1 announce withdraw >/dev/null
lab_wait 10 "the router to send everything to instance 2 (instance 1 withdrawn)" only_via 2
f1=$(fwd 1) f2=$(fwd 2)
check_map "(a) through instance 2 alone" "$(lab_ecmp_sweep 3 "${ON_X[@]}")" "$m1"
d1=$(($(fwd 1) - f1)) d2=$(($(fwd 2) - f2))
[ "$d1" -eq 0 ] && [ "$d2" -gt 0 ] || lab_die "(a) not through instance 2 alone ($d1 / $d2 packets)"
ctl 1 announce resume >/dev/null
lab_wait 15 "instance 1 back in the ECMP route" two_hops
lab_ok "(a) ${#ON_X[@]} clients moved off $X on instance 1 (instance 2 withdrawn) keep their new backend with $X up: on instance 2 (ORIGIN peer), over both instances by ECMP and through instance 2 alone ($d2 packets, 0 on instance 1)"

# ---------------------------------------------------------------------------
if has_case b; then
	echo "== (b) SIGKILL an instance, start it again: every binding back, same backend, remaining timeout"
	lab_wait 10 "the instances to hold the same bindings" agree
	affinity 1 >"$LAB_DIR/before"
	t0=$(lab_ms)
	nb=$(wc -l <"$LAB_DIR/before")
	kill -KILL "${LAB_PID[limpet1]}"
	wait "${LAB_PID[limpet1]}" 2>/dev/null || true
	unset "LAB_PID[limpet1]"
	lab_wait 5 "the router to drop instance 1 (BFD)" only_via 2
	lab_ecmp_limpet_start 1
	[ "$ECMP_EARLY_ROUTE" = 0 ] || lab_die "(b) instance 1 announced the VIP before it was running (before its warm start)"
	affinity 1 >"$LAB_DIR/after"
	affinity 2 >"$LAB_DIR/peer"
	el=$((($(lab_ms) - t0 + 999) / 1000))
	cmp -s <(cut -d' ' -f1,2 "$LAB_DIR/before") <(cut -d' ' -f1,2 "$LAB_DIR/after") ||
		lab_die "(b) bindings after SIGKILL and start differ (< before, > after):"$'\n'"$(diff <(cut -d' ' -f1,2 "$LAB_DIR/before") <(cut -d' ' -f1,2 "$LAB_DIR/after") || true)"
	# LEFT: what it was less the time elapsed (no client was active since),
	# and what instance 2 shows now, each within 2 s.
	bad=$(join <(cut -d' ' -f1,3 "$LAB_DIR/before" | sort) <(cut -d' ' -f1,3,4 "$LAB_DIR/after" | sort) |
		join - <(cut -d' ' -f1,3 "$LAB_DIR/peer" | sort) |
		awk -v el="$el" '{ b = $2; a = $3; o = $4; p = $5
			if (a > b + 2 || a < b - el - 2 || a - p > 2 || p - a > 2 || o != "loaded") print }')
	[ -z "$bad" ] || lab_die "(b) remaining timeouts or origins wrong (CLIENT LEFT-before LEFT-after ORIGIN LEFT-on-2, ${el}s elapsed):"$'\n'"$bad"
	[ "$(join <(cut -d' ' -f1,3 "$LAB_DIR/before" | sort) <(cut -d' ' -f1,3 "$LAB_DIR/after" | sort) | wc -l)" -eq "$nb" ] ||
		lab_die "(b) not every binding came back"
	moved=$(cut -d' ' -f1,2 "$LAB_DIR/after" | grep -c -F -f <(awk '{ print $1 " " }' <<<"$m1") || true)
	lab_wait 45 "instance 1 back in the ECMP route" two_hops
	lab_log "instance 1 back in the ECMP route"
	s=$(head -1 "$LAB_DIR/before" | cut -d' ' -f3) a=$(head -1 "$LAB_DIR/after" | cut -d' ' -f3)
	lab_ok "(b) instance 1 SIGKILLed and started again: all $nb bindings back ($moved of them differing from Maglev), same backends, ORIGIN loaded, LEFT within 2 s of before less ${el}s and of instance 2's (e.g. $s s -> $a s)"
fi

# ---------------------------------------------------------------------------
if has_case c; then
	echo "== (c) rolling restart of both instances under a client loop"
	lab_wait 10 "the instances to hold the same bindings" agree
	lab_ecmp_loop_start "$LAB_DIR/loop-c.out"
	sleep 1
	for k in 1 2; do
		o=$((3 - k))
		f1=$(fwd "$k")
		kill -TERM "${LAB_PID[limpet$k]}"
		lab_wait 10 "the router to drop instance $k (withdraw on SIGTERM)" only_via "$o"
		lab_wait 15 "instance $k to stop" eval '! kill -0 '"${LAB_PID[limpet$k]}"
		wait "${LAB_PID[limpet$k]}" 2>/dev/null || true
		unset "LAB_PID[limpet$k]"
		g=$(($(fwd "$o")))
		lab_log "instance $k stopped (withdrawn first)"
		lab_ecmp_limpet_start "$k"
		[ "$ECMP_EARLY_ROUTE" = 0 ] || lab_die "(c) instance $k announced the VIP before it was running"
		lab_wait 45 "instance $k back in the ECMP route" two_hops
		lab_log "instance $k back in the ECMP route"
		sleep 1.5
		d=$(fwd "$k")
		[ "$d" -gt 0 ] || lab_die "(c) no traffic came back to instance $k after its restart"
		echo "    instance $k restarted: it had forwarded ${f1} packets before its stop; instance $o carried $(($(fwd "$o") - g))+ meanwhile; instance $k forwarded $d since its restart"
	done
	lab_ecmp_loop_stop
	out=$(cat "$LAB_DIR/loop-c.out")
	n=$(grep -c . <<<"$out" || true)
	[ "$n" -gt 100 ] || lab_die "(c) the client loop made only $n requests"
	check_map "(c) rolling restart" "$out" "$map1"
	lab_ok "(c) rolling restart of both instances under the loop: $n requests, 0 failed, 0 clients changed backend (the ${#ON_X[@]} moved off $X included)"
fi

# ---------------------------------------------------------------------------
if has_case d; then
	echo "== (d) Redis stopped for 10 s under traffic"
	lab_wait 10 "instance 1 ready" ready 1
	lab_wait 10 "instance 2 ready" ready 2
	lab_ecmp_loop_start "$LAB_DIR/loop-d.out"
	sleep 1
	f1=$(fwd 1) f2=$(fwd 2)
	kill -STOP "${LAB_PID[redis]}"
	t0=$(lab_ms)
	lab_wait 8 "instance 1 to notice Redis is away" not_ready 1
	lab_wait 8 "instance 2 to notice Redis is away" not_ready 2
	# One connection of a new client: one instance (A) binds it, the other
	# (B) does not see it.
	new_be=$(lab_in "$ENS_CL" curl -sf --max-time 3 --interface "$NEW_CLIENT" -H "Connection: close" "http://$E_VIP:$E_PORT/") ||
		lab_die "(d) the new client got no answer during the outage"
	A=0
	for k in 1 2; do [ -z "$(backend_of "$k" "$NEW_CLIENT")" ] || A=$k; done
	[ "$A" != 0 ] || lab_die "(d) no instance holds a binding of the new client"
	B=$((3 - A))
	[ -z "$(backend_of "$B" "$NEW_CLIENT")" ] || lab_die "(d) both instances bound the new client during the outage"
	[ "$(backend_of "$A" "$NEW_CLIENT")" = "$(be_addr "$new_be")" ] || lab_die "(d) instance $A's binding is not $new_be"
	hops_bad=0
	while [ $(($(lab_ms) - t0)) -lt 10000 ]; do
		two_hops || hops_bad=$((hops_bad + 1))
		[ -n "$(backend_of "$B" "$NEW_CLIENT")" ] && lab_die "(d) instance $B has the new client's binding while Redis is stopped"
		sleep 0.2
	done
	kill -CONT "${LAB_PID[redis]}"
	out_ms=$(($(lab_ms) - t0))
	d1=$(($(fwd 1) - f1)) d2=$(($(fwd 2) - f2))
	lab_log "Redis resumed after $out_ms ms; during the outage instance 1 forwarded $d1 packets, instance 2 $d2"
	[ "$hops_bad" -eq 0 ] || lab_die "(d) the router lost an instance $hops_bad times during the outage (BFD or announce stalled)"
	[ "$d1" -gt 0 ] && [ "$d2" -gt 0 ] || lab_die "(d) not both instances forwarded during the outage ($d1 / $d2)"
	t1=$(lab_ms)
	lab_wait 20 "instance $B to hold the binding made on instance $A during the outage" eval '[ -n "$(backend_of '"$B"' '"$NEW_CLIENT"')" ]'
	vis_ms=$(($(lab_ms) - t1))
	got=$(ctl "$B" show affinity web "$NEW_CLIENT" | awk 'NR == 2 { print $2, $8 }')
	[ "$got" = "$(be_addr "$new_be") peer" ] || lab_die "(d) instance $B binds the new client '$got', instance $A $(be_addr "$new_be")"
	lab_wait 10 "instance 1 ready again" ready 1
	lab_wait 10 "instance 2 ready again" ready 2
	sleep 0.5
	lab_ecmp_loop_stop
	out=$(cat "$LAB_DIR/loop-d.out")
	n=$(grep -c . <<<"$out" || true)
	[ "$n" -gt 100 ] || lab_die "(d) the client loop made only $n requests"
	check_map "(d) Redis stopped 10 s" "$out" "$map1"
	lab_ok "(d) Redis stopped ${out_ms} ms: $n requests, 0 failed, 0 clients changed backend, both instances forwarded ($d1 / $d2 packets), the ECMP route kept both; the new client's binding made on instance $A ($new_be) on instance $B (ORIGIN peer) ${vis_ms} ms after Redis resumed"
	for k in 1 2; do
		ctl "$k" show cluster | awk '/^cluster|reconnects|errors|backlog_/' | sed "s/^ */    instance $k: /"
	done
fi
echo "PASS: cluster on the scale-out lab ($MODE)"
