#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Replicated bindings end to end with the real binary: a redis-server of
# its own (temporary directory, unix socket, a password) and two limpet
# instances, A and B, in one cluster; a third, C, with a wrong password.
# Traffic is a pcap of TCP handshakes replayed on A's and B's wan port
# (net_pcap); B's and A's views come from `show affinity` and
# `show cluster` over their control sockets.
#
#   1. Redis absent at start: both start after the bounded wait, say so
#      and count it (start_unreachable); each binds the same clients on
#      its own, with different weights, so some choices differ.
#   2. Redis comes up: each writes what it did meanwhile; for a client
#      bound differently on both, the first writer wins and the other
#      adopts it (conflict): both end with the same backend for every
#      client, and the conflicts equal the clients that differed.
#   3. Replication: a backend set down on A moves its clients there; B
#      adopts the moves (origin peer) although the backend is up on B. A
#      `clear affinity` of one client on A clears it on B.
#   4. Expiry on both sides: A restarted (SIGTERM, warm start) with new
#      clients of a service with a 5 s timeout: B has them at once, and
#      they leave A, B and Redis once idle that long. Clients that send a
#      bare SYN only stay provisional on A: never on B, never in Redis.
#   5. Warm start: B killed (SIGKILL) and started again shows every
#      binding back, same backend, origin "loaded", the remaining timeout.
#   6. Redis killed and restarted empty: A and B fill it again (refills),
#      every binding in Redis once more, no binding lost locally.
#   7. A wrong password: C starts after its bounded wait, says "auth" in
#      one clear line, counts auth_errors, keeps running, stops cleanly.
#
# usage: test_cluster_limpet.sh LIMPET LIMPETCTL
set -uo pipefail

LIMPET=$1
LIMPETCTL=$2
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

for tool in redis-server redis-cli; do
	if ! command -v $tool >/dev/null 2>&1; then
		echo "SKIP: $tool not installed (tools/deps.sh installs redis-server)"
		exit 77
	fi
done

TMP=$(mktemp -d /tmp/limpet-cluster.XXXXXX)
RUN=lpcl$$
EAL=(-l 0-1 --no-pci --no-huge --no-shconf -m 512 --log-level lib.eal:error)
RSOCK=$TMP/redis.sock
PASS=s3cret-$$
declare -A PID=()
REDIS_PID=

cleanup() {
	local p
	for p in "${PID[@]}" $REDIS_PID; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${PID[@]}" $REDIS_PID; do
		timeout 10 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

failures=0
ok() { echo "ok: $*"; }
fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}
die() {
	echo "FAIL: $*" >&2
	for f in "$TMP"/*.log; do
		[ -f "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}
check() {	# check WHAT COMMAND...
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}

# ---- Redis ----

redis_start() {
	rm -f "$RSOCK"
	redis-server --port 0 --unixsocket "$RSOCK" --unixsocketperm 700 --save '' --appendonly no \
		--requirepass "$PASS" --dir "$TMP" --logfile "$TMP/redis.log" --daemonize no &
	REDIS_PID=$!
	local i=0
	until rcli ping 2>/dev/null | grep -q PONG; do
		i=$((i + 1))
		[ $i -lt 200 ] || die "redis-server did not start"
		sleep 0.05
	done
}
redis_kill() {
	kill -KILL "$REDIS_PID" 2>/dev/null
	wait "$REDIS_PID" 2>/dev/null
	REDIS_PID=
}
rcli() { redis-cli -s "$RSOCK" --no-auth-warning -a "$PASS" "$@"; }
# Binding keys of a service in Redis.
rkeys() { rcli --scan --pattern "lp:{$CLUSTER}:b:$1:*" | wc -l; }

# ---- limpet instances ----

CLUSTER=itest
printf '%s\n' "$PASS" >"$TMP/pass"
printf 'not-the-password\n' >"$TMP/wrong"
chmod 600 "$TMP/pass" "$TMP/wrong"

# config FILE WEIGHT_OF_10.1.0.11 PASSWORD_FILE: four backends; web keeps
# bindings an hour, brief 5 seconds.
config() {
	cat >"$1" <<-EOF
	ports:
	  - { name: wan, device: net_pcap0, address: 10.0.0.1/24 }
	  - { name: lan, device: net_null1, address: 10.1.0.1/24 }
	neighbors:
	  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
	  - { address: 10.1.0.12, mac: "02:00:00:00:01:0c", port: lan }
	  - { address: 10.1.0.13, mac: "02:00:00:00:01:0d", port: lan }
	  - { address: 10.1.0.14, mac: "02:00:00:00:01:0e", port: lan }
	flows: { tcp_syn_timeout: 3600, tcp_timeout: 3600 }
	cluster: { redis: $RSOCK, passwordFile: $3, name: $CLUSTER, startWaitSeconds: 1 }
	services:
	  - name: web
	    vip: 10.0.0.100
	    port: 80
	    targetPort: 8080
	    sessionAffinity: ClientIP
	    sessionAffinityConfig: { clientIP: { timeoutSeconds: 3600 } }
	    backends:
	      - { address: 10.1.0.11, weight: $2 }
	      - { address: 10.1.0.12 }
	      - { address: 10.1.0.13 }
	      - { address: 10.1.0.14 }
	  - name: brief
	    vip: 10.0.0.101
	    port: 80
	    targetPort: 8080
	    sessionAffinity: ClientIP
	    sessionAffinityConfig: { clientIP: { timeoutSeconds: 5 } }
	    backends:
	      - { address: 10.1.0.11 }
	      - { address: 10.1.0.12 }
	EOF
}

N=40		# web clients
NB=6		# brief clients
NS=3		# web clients that send a bare SYN only (step 4)
"$PY" "$HERE/clients_pcap.py" "$TMP/clients.pcap" 02:00:00:00:00:01 "10.0.0.100:80:10.0.0.50:$N" ||
	die "cannot write the pcap"
"$PY" "$HERE/clients_pcap.py" "$TMP/brief.pcap" 02:00:00:00:00:01 "10.0.0.100:80:10.0.3.1:$NS:syn" \
	"10.0.0.101:80:10.0.2.1:$NB" ||
	die "cannot write the pcap"
"$PY" "$HERE/clients_pcap.py" "$TMP/none.pcap" 02:00:00:00:00:01 || die "cannot write the empty pcap"
config "$TMP/a.yaml" 1 "$TMP/pass"
config "$TMP/b.yaml" 20 "$TMP/pass"
config "$TMP/c.yaml" 1 "$TMP/wrong"
for x in a b c; do
	"$LIMPET" --check-config "$TMP/$x.yaml" >/dev/null || die "config $x.yaml refused"
done

# start NAME PCAP: limpet NAME with the pcap on its wan port.
start() {
	local n=$1 pcap=$2
	"$LIMPET" "${EAL[@]}" --vdev "net_pcap0,rx_pcap=$pcap,tx_pcap=$TMP/$n.out.pcap" --vdev net_null1,no-rx=1 \
		--file-prefix "$RUN$n" -- --config "$TMP/$n.yaml" --ctl-socket "$TMP/$n.sock" \
		>>"$TMP/$n.log" 2>&1 &
	PID[$n]=$!
}
ctl() { timeout 30 "$LIMPETCTL" -s "$TMP/$1.sock" -t 20 "${@:2}"; }
wait_up() {
	local deadline=$((SECONDS + 60))
	until ctl "$1" show services >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "${PID[$1]}" 2>/dev/null; then
			die "limpet $1 did not come up"
		fi
		sleep 0.1
	done
}
stop() {	# stop NAME [SIGNAL]
	kill -"${2:-TERM}" "${PID[$1]}" 2>/dev/null
	timeout 30 tail --pid="${PID[$1]}" -f /dev/null || kill -KILL "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	rc=$?
	unset "PID[$1]"
}
# bindings NAME SVC: "client backend origin left" per binding, sorted.
bindings() { ctl "$1" show affinity "$2" | awk 'NR > 1 { print $1, $2, $8, $5 }' | sort; }
# pairs NAME SVC: "client backend" per confirmed binding, sorted.
pairs() { ctl "$1" show affinity "$2" | awk 'NR > 1 && $7 == "confirmed" { print $1, $2 }' | sort; }
count() { ctl "$1" show affinity "$2" | awk 'NR > 1' | wc -l; }
confirmed() { ctl "$1" show affinity "$2" | awk 'NR > 1 && $7 == "confirmed"' | wc -l; }
provisional() { ctl "$1" show affinity "$2" | awk 'NR > 1 && $7 == "provisional"' | wc -l; }
counter() { ctl "$1" show cluster | awk -v k="$2" '$1 == k { print $2 }'; }
# until SECONDS COMMAND...: poll until the command succeeds.
until_ok() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}
state_is() { ctl "$1" show cluster | head -1 | grep -q ": $2,"; }

# ---------------------------------------------------------------------------
echo "== 1. Redis absent at start: bounded wait, said and counted"
start a "$TMP/clients.pcap"
start b "$TMP/clients.pcap"
wait_up a
wait_up b
until_ok 30 eval '[ "$(count a web)" -eq $N ] && [ "$(count b web)" -eq $N ]' ||
	die "the clients were not bound on both"
for n in a b; do
	check "$n: start_unreachable counted" [ "$(counter $n start_unreachable)" = 1 ]
	check "$n: the log says it started without the bindings" grep -q "Redis" "$TMP/$n.log"
done
pairs a web >"$TMP/a.before"
pairs b web >"$TMP/b.before"
differ=$(diff "$TMP/a.before" "$TMP/b.before" | grep -c '^<')
echo "   clients bound differently on A and B: $differ of $N"
check "the weights make some choices differ" [ "$differ" -gt 0 ]

echo "== 2. Redis comes up: what both did meanwhile is merged, one winner per client"
redis_start
converged() {
	state_is a ready && state_is b ready && [ "$(counter a backlog)" != x ] &&
		pairs a web >"$TMP/a.now" && pairs b web >"$TMP/b.now" &&
		[ "$(wc -l <"$TMP/a.now")" -eq $N ] && cmp -s "$TMP/a.now" "$TMP/b.now"
}
until_ok 30 converged || { diff "$TMP/a.now" "$TMP/b.now" >&2; fail "A and B converge on one backend per client"; }
ok "A and B hold the same $N bindings"
conflicts=$(($(counter a conflicts) + $(counter b conflicts)))
check "conflicts counted: $conflicts, one per client bound differently ($differ)" [ "$conflicts" -eq "$differ" ]
check "Redis holds every web binding" [ "$(rkeys web)" -eq $N ]
# Each client's winner is what Redis holds.
while read -r client be; do
	v=$(rcli get "lp:{$CLUSTER}:b:web:$client/32")
	[ "$v" = "$be" ] || { fail "Redis holds $v for $client, limpet $be"; break; }
done <"$TMP/a.now"
ok "Redis holds the backend both instances use"
check "the losers' bindings are marked conflict" [ "$( (bindings a web; bindings b web) | grep -c ' conflict ')" -eq "$differ" ]

echo "== 3. replication of moves and clears"
ctl a set backend web 10.1.0.12 down >/dev/null || fail "set backend down on A"
moved() {
	pairs a web >"$TMP/a.now" && pairs b web >"$TMP/b.now" &&
		! grep -q ' 10.1.0.12:8080$' "$TMP/a.now" && cmp -s "$TMP/a.now" "$TMP/b.now"
}
check "B adopts A's moves off the backend A set down (still up on B)" until_ok 20 moved
check "B marks them as a peer's" [ "$(bindings b web | grep -c ' peer ')" -gt 0 ]
ctl b show backends web | grep -q '10.1.0.12:8080 *up' && ok "10.1.0.12 is up on B" || fail "10.1.0.12 is up on B"
ctl a set backend web 10.1.0.12 up >/dev/null || fail "set backend up on A"
sleep 1
check "the backend back up moves nobody back (A and B agree)" moved
one=$(head -1 "$TMP/a.now" | cut -d' ' -f1)
one=${one%/*}
ctl a clear affinity web "$one" >/dev/null || fail "clear affinity on A"
check "a clear on A clears B" until_ok 20 eval '! ctl b show affinity web | grep -q "^$one "'
check "and Redis" [ -z "$(rcli get "lp:{$CLUSTER}:b:web:$one/32")" ]

echo "== 4. expiry on both sides (A restarted with new clients)"
stop a
check "A stops cleanly (exit 0), its changes written" [ "$rc" -eq 0 ]
start a "$TMP/brief.pcap"
wait_up a
check "A is back with the web bindings (warm start)" eval '[ "$(confirmed a web)" -eq $((N - 1)) ]'
check "brief: $NB bindings on B (replicated)" until_ok 5 eval '[ "$(count b brief)" -eq $NB ]'
check "bare SYNs: $NS provisional web bindings on A" until_ok 5 eval '[ "$(provisional a web)" -eq $NS ]'
sleep 1
check "bare SYNs: their provisional bindings are not replicated to B" eval '[ "$(count b web)" -eq $((N - 1)) ]'
check "bare SYNs: nor written to Redis" [ "$(rkeys web)" -eq $((N - 1)) ]
ttl=$(rcli pttl "$(rcli --scan --pattern "lp:{$CLUSTER}:b:brief:*" | head -1)")
check "brief: the keys carry their TTL in Redis ($ttl ms)" eval '[ "$ttl" -gt 0 ] && [ "$ttl" -le 5000 ]'
gone() { [ "$(count a brief)" -eq 0 ] && [ "$(count b brief)" -eq 0 ] && [ "$(rkeys brief)" -eq 0 ]; }
check "idle past timeoutSeconds: gone from A, B and Redis" until_ok 20 gone
check "web bindings stay" eval '[ "$(confirmed a web)" -eq $((N - 1)) ] && [ "$(count b web)" -eq $((N - 1)) ]'

echo "== 5. warm start: B killed and started again"
bindings b web | awk '{ print $1, $2 }' >"$TMP/b.kill"
stop b KILL
start b "$TMP/none.pcap"
wait_up b
check "B is loaded once it answers" eval 'ctl b show cluster | grep -q "bindings: loaded"'
pairs b web >"$TMP/b.warm"
check "every binding is back with the same backend" cmp -s "$TMP/b.kill" "$TMP/b.warm"
check "marked loaded" [ "$(bindings b web | grep -c ' loaded ')" -eq $((N - 1)) ]
left=$(bindings b web | awk '{ print $4 }' | sort -n | head -1)
check "with the remaining timeout (LEFT $left s, under 3600, over 3500)" eval '[ "$left" -lt 3600 ] && [ "$left" -gt 3500 ]'
check "no start_unreachable this time" [ "$(counter b start_unreachable)" = 0 ]

echo "== 6. Redis killed and restarted empty"
redis_kill
until_ok 10 eval '! state_is a ready' || fail "A notices Redis is gone"
redis_start
check "A and B fill it again" until_ok 30 eval '[ "$(rkeys web)" -eq $((N - 1)) ]'
check "refills counted" [ $(($(counter a refills) + $(counter b refills))) -ge 1 ]
check "A kept every binding (and its provisional ones stay out of Redis)" [ "$(confirmed a web)" -eq $((N - 1)) ]
check "B kept every binding" [ "$(count b web)" -eq $((N - 1)) ]
until_ok 10 eval 'pairs a web >"$TMP/a.now"; pairs b web >"$TMP/b.now"; cmp -s "$TMP/a.now" "$TMP/b.now"'
check "they still agree" cmp -s "$TMP/a.now" "$TMP/b.now"

echo "== 7. a wrong password"
start c "$TMP/none.pcap"
wait_up c
check "C runs on local state" kill -0 "${PID[c]}"
check "C counts auth_errors" until_ok 10 eval '[ "$(counter c auth_errors)" -ge 1 ]'
check "show cluster says why" eval 'ctl c show cluster | grep -qi "auth\|password"'
check "the log says it in one clear line" grep -qi 'auth\|password' "$TMP/c.log"
check "C counts its start without the bindings" [ "$(counter c start_unreachable)" = 1 ]
stop c
check "C stops cleanly (exit 0)" [ "$rc" -eq 0 ]

echo "== shutdown"
stop a
check "A stops cleanly (exit 0)" [ "$rc" -eq 0 ]
stop b
check "B stops cleanly (exit 0)" [ "$rc" -eq 0 ]

if [ "$failures" -ne 0 ]; then
	echo "$failures check(s) failed" >&2
	for f in "$TMP"/*.log; do
		echo "--- $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
fi
echo "all cluster checks passed"
