#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Replicated bindings end to end: two limpet instances in one cluster, real
# kernel TCP clients, a redis-server in a namespace of its own. The lab of
# tests/e2e/lab.sh (client, switch, router, backends; DSR) with a second
# instance beside the first and a management segment to Redis:
#
#   client  --front--  lb (10.10.0.1)   --back--  backend1..3 (VIP on lo)
#                      lb2 (10.10.0.2)           router (DSR replies)
#   lb, lb2 --mgmt (10.50.0.0/24)-- redis (10.50.0.254:6379)
#
# Each client address picks its instance by a policy route (a /32 to the
# VIP via one instance's wan address): changing it is what an ECMP change
# does to that client. Namespaces are "${LAB_PREFIX}<role>"; the trap of the
# lab removes them, processes are stopped by their PIDs.
#
#   (a) A client's binding differs from Maglev (its backend failed and came
#       back): the other instance honours it when the client moves there.
#   (b) An instance SIGKILLed and started again shows every binding back,
#       with the same backend and the remaining timeout.
#   (c) Rolling restart of both instances under a client loop: no client
#       changes backend, no request fails.
#   (d) Redis stopped (SIGSTOP) for 10 s under traffic: forwarding goes on;
#       a binding made on one instance meanwhile reaches the other.
#
#   test_cluster.sh dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:-dsr}
[ "$MODE" = dsr ] || lab_die "the cluster lab runs DSR: backends answer clients through the router, whichever instance forwarded"

NS_LB2=${LAB_PREFIX}lb2
NS_REDIS=${LAB_PREFIX}redis
LB2_WAN4=10.10.0.2
LB2_LAN4=10.20.0.2
MGMT=(10.50.0.1 10.50.0.2)
REDIS_ADDR=10.50.0.254
NEW_CLIENT=10.10.0.200	# a client first seen during the Redis outage
declare -A INST_NS=([1]=$NS_LB [2]=$NS_LB2)
declare -A INST_WAN=([1]=$LB_WAN4 [2]=$LB2_WAN4)

command -v redis-server >/dev/null 2>&1 || lab_die "redis-server is not installed (tools/deps.sh installs it)"

# Instances, Redis and the client loop are in LAB_PID: lab_down stops them
# by PID; then the two namespaces of this lab go.
cluster_down() {
	local rc=$?
	[ -e "$LAB_DIR/loop.stop" ] || touch "$LAB_DIR/loop.stop" 2>/dev/null || true
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		for f in "$LAB_DIR"/i*.log; do
			[ -f "$f" ] && { echo "---- $f (last 25 lines) ----" >&2; tail -n 25 "$f" >&2; }
		done
	fi
	(exit $rc)
	lab_down
	ip netns del "$NS_LB2" 2>/dev/null || true
	ip netns del "$NS_REDIS" 2>/dev/null || true
	return $rc
}

for ns in "$NS_LB2" "$NS_REDIS"; do
	lab_ns_exists "$ns" && lab_die "namespace $ns exists: another lab runs, or one was left behind"
done
lab_up
trap cluster_down EXIT
lab_mode dsr
lab_backends_start 1 2 3

# ---- the second instance, the management segment, Redis ----
ip netns add "$NS_LB2"
ip netns add "$NS_REDIS"
for ns in "$NS_LB2" "$NS_REDIS"; do lab_in "$ns" ip link set lo up; done
lab_in "$NS_LB2" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
lab_veth "$NS_LB2" wan "$NS_SW" lb2w
lab_veth "$NS_LB2" lan "$NS_SW" lb2l
lab_in "$NS_SW" ip link set lb2w master br-front
lab_in "$NS_SW" ip link set lb2l master br-back
lab_in "$NS_SW" ip link add br-mgmt type bridge stp_state 0 forward_delay 0
lab_in "$NS_SW" ip link set br-mgmt up
lab_veth "$NS_LB" mg "$NS_SW" lbm
lab_veth "$NS_LB2" mg "$NS_SW" lb2m
lab_veth "$NS_REDIS" eth0 "$NS_SW" rdm
for p in lbm lb2m rdm; do lab_in "$NS_SW" ip link set "$p" master br-mgmt; done
lab_in "$NS_LB" ip addr add "${MGMT[0]}/24" dev mg
lab_in "$NS_LB2" ip addr add "${MGMT[1]}/24" dev mg
lab_in "$NS_REDIS" ip addr add "$REDIS_ADDR/24" dev eth0

redis_start() {
	mkdir -p "$LAB_DIR/redis"
	ip netns exec "$NS_REDIS" redis-server --bind "$REDIS_ADDR" --port 6379 --protected-mode no --save '' \
		--appendonly no --dir "$LAB_DIR/redis" --logfile "$LAB_DIR/redis.log" --daemonize no &
	LAB_PID[redis]=$!
	lab_wait 10 "redis answering" lab_in "$NS_REDIS" redis-cli -h "$REDIS_ADDR" ping
}
rcli() { lab_in "$NS_REDIS" redis-cli -h "$REDIS_ADDR" "$@"; }
redis_start

# ---- client routes: each client address reaches the VIP through one instance ----
lab_in "$NS_CLIENT" ip addr add "$NEW_CLIENT/24" dev eth0
ALL_CLIENTS=("${CLIENT4[@]}" "$NEW_CLIENT")
for i in "${!ALL_CLIENTS[@]}"; do
	lab_in "$NS_CLIENT" ip rule add from "${ALL_CLIENTS[$i]}" table $((100 + i)) pref $((1000 + i))
done
# route K CLIENT...: send these clients (default: all of CLIENT4) through instance K.
route() {
	local k=$1 i a
	shift
	local list=("$@")
	[ ${#list[@]} -gt 0 ] || list=("${CLIENT4[@]}")
	for a in "${list[@]}"; do
		for i in "${!ALL_CLIENTS[@]}"; do
			[ "${ALL_CLIENTS[$i]}" = "$a" ] || continue
			lab_in "$NS_CLIENT" ip route replace "$VIP4/32" via "${INST_WAN[$k]}" dev eth0 table $((100 + i))
		done
	done
}
route 1
route 1 "$NEW_CLIENT"

# ---- the instances ----
lab_config dsr affinity=1 backends="1 2 3" >"$LAB_DIR/i1.yaml"
echo "cluster: { redis: \"$REDIS_ADDR:6379\", name: e2e, startWaitSeconds: 10 }" >>"$LAB_DIR/i1.yaml"
sed -e "s#$LB_WAN4/24#$LB2_WAN4/24#; s#$LB_LAN4/24#$LB2_LAN4/24#; s#fd00:10::1/64#fd00:10::2/64#; s#fd00:20::1/64#fd00:20::2/64#" \
	"$LAB_DIR/i1.yaml" >"$LAB_DIR/i2.yaml"
STARTS=0

# inst_start K: limpet instance K in its namespace; returns once it runs
# (past the warm start) and answers on its control socket.
inst_start() {
	local k=$1 log
	STARTS=$((STARTS + 1))
	log=$LAB_DIR/i$k.log.$STARTS
	: >"$log"
	ln -sf "$log" "$LAB_DIR/i$k.log"
	ip netns exec "${INST_NS[$k]}" "$LAB_LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 \
		--file-prefix "limpet-${LAB_PREFIX}$$-$k" \
		--vdev net_af_packet0,iface=wan,qpairs=1 --vdev net_af_packet1,iface=lan,qpairs=1 \
		-- --config "$LAB_DIR/i$k.yaml" --ctl-socket "$LAB_DIR/i$k.sock" >"$log" 2>&1 &
	LAB_PID[inst$k]=$!
	local deadline=$((SECONDS + 40))
	until grep -q "limpet: running" "$log" && ctl "$k" show services >/dev/null 2>&1; do
		kill -0 "${LAB_PID[inst$k]}" 2>/dev/null || { cat "$log" >&2; lab_die "instance $k exited at start"; }
		[ "$SECONDS" -lt "$deadline" ] || lab_die "instance $k did not start within 40 s"
		sleep 0.1
	done
	lab_log "instance $k running (pid ${LAB_PID[inst$k]})"
}
inst_kill() {	# inst_kill K SIGNAL
	local pid=${LAB_PID[inst$1]}
	disown "$pid" 2>/dev/null || true	# no "Killed" line from the shell
	kill -"$2" "$pid" 2>/dev/null || true
	timeout 30 tail --pid="$pid" -f /dev/null || kill -KILL "$pid" 2>/dev/null || true
	unset "LAB_PID[inst$1]"
}
ctl() { timeout 20 "$LAB_LIMPETCTL" -s "$LAB_DIR/i$1.sock" -t 10 "${@:2}"; }
# bindings K: "client backend" of every binding of web on instance K, sorted.
bindings() { ctl "$1" show affinity web | awk 'NR > 1 { print $1, $2 }' | sort -V; }
left_of() { ctl "$1" show affinity web "$2" | awk 'NR == 2 { print $5 }'; }
be_is() { [ "$(ctl "$1" show backends web | awk -v b="$2" '$1 == b { print $2 }')" = "$3" ]; }
not_ready() { ! ctl "$1" show cluster | head -1 | grep -q ': ready,'; }
has_binding() { ctl "$1" show affinity web "$2" | grep -q "^$2 "; }
ready() { lab_get "${CLIENT4[0]}" >/dev/null; }
agree() { bindings 1 >"$LAB_DIR/b1" && bindings 2 >"$LAB_DIR/b2" && [ -s "$LAB_DIR/b1" ] && cmp -s "$LAB_DIR/b1" "$LAB_DIR/b2"; }

inst_start 1
inst_start 2
lab_wait 20 "the service to answer" ready
ctl 1 show cluster | head -3

# ---------------------------------------------------------------------------
echo "== (a) a binding that differs from Maglev follows the client to the other instance"
lab_map >"$LAB_DIR/m0"
fails=$(grep -c ' -$' "$LAB_DIR/m0" || true)
[ "$fails" -eq 0 ] || lab_die "$fails clients got no answer at first"
lab_wait 10 "instance 2 to hold instance 1's bindings" agree
X=$(awk 'NR == 1 { print $2 }' "$LAB_DIR/m0")		# backendN
XN=${X#backend}
XADDR=${BE4[$((XN - 1))]}:$BACKEND_PORT
mapfile -t ON_X < <(awk -v x="$X" '$2 == x { print $1 }' "$LAB_DIR/m0")
lab_log "backend $X ($XADDR) serves ${#ON_X[@]} clients: taking it down"
lab_backend_stop "$XN"
lab_wait 15 "instance 1 to see $X down" be_is 1 "$XADDR" down
lab_map "${ON_X[@]}" >"$LAB_DIR/m1"
grep -q " $X$\| -$" "$LAB_DIR/m1" && lab_die "clients of the failed backend not moved: $(cat "$LAB_DIR/m1")"
lab_backend_start "$XN"
lab_wait 15 "backend $X answering" lab_in "${NS_BACKENDS[$((XN - 1))]}" curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$BACKEND_PORT/healthz"
lab_wait 15 "instance 1 to see $X up" be_is 1 "$XADDR" up
lab_wait 15 "instance 2 to see $X up" be_is 2 "$XADDR" up
lab_map "${ON_X[@]}" >"$LAB_DIR/m2"
cmp -s "$LAB_DIR/m1" "$LAB_DIR/m2" || lab_die "on instance 1 the moved clients changed again once $X came back"
route 2 "${ON_X[@]}"
lab_map "${ON_X[@]}" >"$LAB_DIR/m3"
cmp -s "$LAB_DIR/m1" "$LAB_DIR/m3" ||
	lab_die "instance 2 did not honour the bindings (Maglev would send them to $X): $(diff "$LAB_DIR/m1" "$LAB_DIR/m3")"
lab_ok "(a) ${#ON_X[@]} clients moved off $X keep their new backend on instance 2, with $X back up"
route 1

# ---------------------------------------------------------------------------
echo "== (b) SIGKILL an instance, start it again: every binding back"
lab_wait 10 "the instances to agree" agree
bindings 1 >"$LAB_DIR/before"
c0=$(head -1 "$LAB_DIR/before" | cut -d' ' -f1)
left0=$(left_of 1 "$c0")
t0=$SECONDS
inst_kill 2 KILL
inst_start 2
bindings 2 >"$LAB_DIR/after"
cmp -s "$LAB_DIR/before" "$LAB_DIR/after" ||
	lab_die "instance 2 after SIGKILL and start: $(diff "$LAB_DIR/before" "$LAB_DIR/after" | head)"
left2=$(left_of 2 "$c0")
elapsed=$((SECONDS - t0))
[ "$left2" -le "$((left0 + 2))" ] && [ "$left2" -ge "$((left0 - elapsed - 3))" ] ||
	lab_die "instance 2 shows $left2 s left for $c0, instance 1 showed $left0 s ${elapsed}s before"
[ "$(ctl 2 show affinity web | awk 'NR > 1 && $8 != "loaded"' | wc -l)" -eq 0 ] || lab_die "bindings not marked loaded"
lab_ok "(b) $(wc -l <"$LAB_DIR/after") bindings back after SIGKILL, same backends, $left2 s left (was $left0 s)"

# ---------------------------------------------------------------------------
# loop_start: every client requests the VIP again and again (a new
# connection each) until loop_stop; lines "ADDR BACKEND" or "ADDR -".
loop_start() {
	rm -f "$LAB_DIR/loop.stop"
	lab_in "$NS_CLIENT" bash -c '
		stop=$1 port=$2 vip=$3; shift 3
		for a in "$@"; do
			(while [ ! -e "$stop" ]; do
				out=$(curl -sf --max-time 5 --interface "$a" -H "Connection: close" "http://$vip:$port/") || out=-
				echo "$a $out"
				sleep 0.05
			done) &
		done
		wait' loop "$LAB_DIR/loop.stop" "$(lab_vip_port)" "$VIP4" "${CLIENT4[@]}" >"$LAB_DIR/loop.out" &
	LAB_PID[loop]=$!
}
loop_stop() {
	touch "$LAB_DIR/loop.stop"
	wait "${LAB_PID[loop]}" 2>/dev/null || true
	unset "LAB_PID[loop]"
}
# loop_check WHAT: no failed request, one backend per client.
loop_check() {
	local fails multi n
	n=$(wc -l <"$LAB_DIR/loop.out")
	fails=$(grep -c ' -$' "$LAB_DIR/loop.out" || true)
	multi=$(sort -u "$LAB_DIR/loop.out" | awk '{ n[$1]++ } END { k = 0; for (c in n) if (n[c] > 1) k++; print k }')
	[ "$n" -gt 0 ] || lab_die "$1: the client loop made no request"
	[ "$fails" -eq 0 ] || lab_die "$1: $fails of $n requests failed"
	[ "$multi" -eq 0 ] || lab_die "$1: $multi clients changed backend: $(sort -u "$LAB_DIR/loop.out" | head -40)"
	echo "$n"
}

echo "== (c) rolling restart of both instances under a client loop"
lab_map >"$LAB_DIR/c0"
loop_start
sleep 2
for k in 1 2; do
	other=$((3 - k))
	route "$other"		# ECMP takes instance k out
	sleep 1
	inst_kill "$k" TERM
	inst_start "$k"
	lab_wait 10 "the instances to agree" agree
	route "$k"
	sleep 2
done
route 1 "${CLIENT4[@]:0:10}"
route 2 "${CLIENT4[@]:10}"
sleep 2
loop_stop
n=$(loop_check "(c)")
cut -d' ' -f1,2 "$LAB_DIR/loop.out" | sort -u | sort -V >"$LAB_DIR/c1"
cmp -s "$LAB_DIR/c0" "$LAB_DIR/c1" || lab_die "(c) clients saw other backends than before: $(diff "$LAB_DIR/c0" "$LAB_DIR/c1")"
lab_ok "(c) rolling restart of both instances: $n requests, 0 failed, 0 clients changed backend"

# ---------------------------------------------------------------------------
echo "== (d) Redis stopped for 10 s under traffic"
loop_start
sleep 1
kill -STOP "${LAB_PID[redis]}"
t0=$SECONDS
lab_wait 8 "instance 1 to notice" not_ready 1
route 1 "$NEW_CLIENT"
new_be=$(lab_get "$NEW_CLIENT") || lab_die "(d) the new client got no answer during the outage"
ctl 1 show affinity web "$NEW_CLIENT" | grep -q "^$NEW_CLIENT " || lab_die "(d) no binding on instance 1 for the new client"
sleep $((10 - (SECONDS - t0) > 0 ? 10 - (SECONDS - t0) : 0))
kill -CONT "${LAB_PID[redis]}"
lab_log "Redis resumed after $((SECONDS - t0)) s"
lab_wait 20 "instance 2 to see the binding made during the outage" has_binding 2 "$NEW_CLIENT"
sleep 1
loop_stop
n=$(loop_check "(d)")
be2=$(ctl 2 show affinity web "$NEW_CLIENT" | awk 'NR == 2 { print $2 }')
be1=$(ctl 1 show affinity web "$NEW_CLIENT" | awk 'NR == 2 { print $2 }')
[ "$be1" = "$be2" ] || lab_die "(d) instance 2 binds the new client to $be2, instance 1 to $be1"
route 2 "$NEW_CLIENT"
[ "$(lab_get "$NEW_CLIENT")" = "$new_be" ] || lab_die "(d) the new client changed backend on instance 2"
lab_ok "(d) Redis stopped 10 s: $n requests, 0 failed, 0 clients changed backend; the binding made meanwhile on instance 1 ($new_be) is on instance 2"
for k in 1 2; do
	ctl "$k" show cluster | grep -E '^cluster|reconnects|errors ' | sed "s/^/   instance $k: /"
done
inst_kill 1 TERM
inst_kill 2 TERM
echo "PASS: cluster ($MODE)"
