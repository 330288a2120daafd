# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# The scale-out lab: a router running BIRD 2 spreads a VIP over two limpet
# instances by ECMP; each instance announces the VIP over BGP with BFD from
# its own BIRD, which learns it from kernel table ECMP_TABLE, where limpet
# keeps it (announce:). Sourced by tests/e2e/test_ecmp_lab.sh and (with
# ECMP_CLUSTER=1) tests/e2e/test_cluster.sh;
# docs/scale-out.md has the picture. Namespaces are "${LAB_PREFIX}e<role>"
# (default prefix "lp-"):
#
#   ecl       ECMP_CLIENTS client addresses 10.30.0.101... behind the router
#   ert       the router: BIRD (BGP + BFD to each instance, merge paths on),
#             fib_multipath_hash_policy=1 (L4)
#   ei1 ei2   the instances: limpet on two af_packet ports, wan (to the
#             router) and lan (the back segment), with workers.poll:
#             adaptive; its kernelInterface lp-wan carries BIRD's BGP and BFD
#             (config/bird/limpet-bird.conf) to the router through limpet
#   esw       the back segment's bridge: instances, router, backends
#   ebe1..3   HTTP backends (tests/e2e/httpd.py) with the VIP on loopback,
#             replying straight to clients through the router (dsr)
#   erd       only with ECMP_CLUSTER=1 (replicated bindings, issue 13): a
#             redis-server (password in LAB_DIR/redis.pass) on a management
#             bridge in esw, br-mgmt 10.34.0.0/24, which each instance
#             reaches on an interface of its own, mg: Redis traffic never
#             crosses limpet's ports; both instances get
#             cluster: { redis: 10.34.0.254:6379, passwordFile: ... }
#
# The kernel of an instance namespace never sees wan or lan (an ingress
# drop; limpet's af_packet sockets see every frame before it): whatever the
# kernel and BIRD exchange with the router goes through limpet's exception
# path, as on a host whose NIC DPDK owns.
#
# lab_ecmp_up installs a trap that removes all of it on exit; processes are
# stopped by the PIDs the lab started them with.

# shellcheck source=tests/e2e/lab.sh
. "$(dirname "${BASH_SOURCE[0]}")/lab.sh"

ECMP_CLIENTS=${ECMP_CLIENTS:-20}
ECMP_TABLE=${ECMP_TABLE:-100}
ECMP_RTPROT=250
ECMP_BIRD=${ECMP_BIRD:-bird}
ECMP_BIRDC=${ECMP_BIRDC:-birdc}
ECMP_BIRD_CONF="$LAB_ROOT/config/bird/limpet-bird.conf"

ENS_CL=${LAB_PREFIX}ecl
ENS_RT=${LAB_PREFIX}ert
ENS_SW=${LAB_PREFIX}esw
ENS_I=("${LAB_PREFIX}ei1" "${LAB_PREFIX}ei2")
ENS_BE=("${LAB_PREFIX}ebe1" "${LAB_PREFIX}ebe2" "${LAB_PREFIX}ebe3")
ENS_RD=${LAB_PREFIX}erd

# ECMP_CLUSTER=1 (set before lab_ecmp_up): Redis in ENS_RD and a cluster
# section in both instances' configurations. Off by default.
ECMP_CLUSTER=${ECMP_CLUSTER:-0}
ECMP_REDIS=${ECMP_REDIS:-redis-server}
ECMP_REDIS_CLI=${ECMP_REDIS_CLI:-redis-cli}

# Addresses: clients 10.30.0.0/24, instance links 10.31.N.0/24 (the
# instance .1, the router .254), back segment 10.32.0.0/24, and the VIP,
# on no segment: it exists for the router only through BGP.
E_VIP=10.33.0.100
E_PORT=8080
E_RT_CL=10.30.0.254
E_RT_BACK=10.32.0.254
E_INST=(10.31.1.1 10.31.2.1)
E_RT_INST=(10.31.1.254 10.31.2.254)
E_INST_LAN=(10.32.0.1 10.32.0.2)
E_BE=(10.32.0.11 10.32.0.12 10.32.0.13)
# The management segment (ECMP_CLUSTER=1): instances .1 and .2 on their
# interface mg, Redis .254.
E_MGMT=(10.34.0.1 10.34.0.2)
E_REDIS=10.34.0.254
E_REDIS_PORT=6379
E_CLUSTER_NAME=ecmp-lab
E_AS_ROUTER=65000
E_AS_INST=65001
E_CLIENTS=()

ECMP_UP=0

ecmp_all_ns() {
	echo "$ENS_CL" "$ENS_RT" "$ENS_SW" "${ENS_I[@]}" "${ENS_BE[@]}"
	[ "$ECMP_CLUSTER" != 1 ] || echo "$ENS_RD"
}

lab_ecmp_require() {
	local missing=() t
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: the ECMP lab needs root (network namespaces)"
		exit 77
	fi
	for t in ip curl nft "$ECMP_BIRD" "$ECMP_BIRDC" "$LAB_PYTHON"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [ "$ECMP_CLUSTER" = 1 ]; then
		for t in "$ECMP_REDIS" "$ECMP_REDIS_CLI"; do
			command -v "$t" >/dev/null 2>&1 || missing+=("$t")
		done
	fi
	# A missing tool is a failure, not a skip: tools/deps.sh installs them.
	[ ${#missing[@]} -eq 0 ] || lab_die "missing ${missing[*]} (tools/deps.sh installs them: bird2, nftables, curl, redis-server)"
	[ -x "$LAB_LIMPET" ] || lab_die "no limpet binary at $LAB_LIMPET (build first: meson setup build && ninja -C build)"
	[ -x "$LAB_LIMPETCTL" ] || lab_die "no limpetctl at $LAB_LIMPETCTL (build first)"
}

# The multipath hash seed, where the kernel has one per namespace (6.11+):
# the same in both instances, so they choose alike.
ecmp_seed() {
	lab_in "$1" sysctl -qw net.ipv4.fib_multipath_hash_seed=20260 2>/dev/null || true
}

lab_ecmp_up() {
	local ns i
	lab_ecmp_require
	for ns in $(ecmp_all_ns); do
		lab_ns_exists "$ns" && lab_die "namespace $ns exists: another ECMP lab runs, or one was left behind (tests/e2e/lab_ecmp.sh clean)"
	done
	LAB_DIR=$(mktemp -d /tmp/limpet-ecmp.XXXXXX)
	ECMP_UP=1
	trap lab_ecmp_down EXIT
	trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM
	for ns in $(ecmp_all_ns); do
		ip netns add "$ns"
		lab_in "$ns" ip link set lo up
		lab_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done

	# Router: clients on one side, an instance link each, the back segment.
	lab_veth "$ENS_CL" eth0 "$ENS_RT" cl
	lab_veth "${ENS_I[0]}" wan "$ENS_RT" i1
	lab_veth "${ENS_I[1]}" wan "$ENS_RT" i2
	lab_in "$ENS_SW" ip link add br-back type bridge stp_state 0 forward_delay 0
	lab_in "$ENS_SW" ip link set br-back up
	lab_veth "$ENS_RT" back "$ENS_SW" rtb
	lab_in "$ENS_SW" ip link set rtb master br-back
	for i in 0 1; do
		lab_veth "${ENS_I[$i]}" lan "$ENS_SW" "i$((i + 1))l"
		lab_in "$ENS_SW" ip link set "i$((i + 1))l" master br-back
	done
	for i in 0 1 2; do
		lab_veth "${ENS_BE[$i]}" eth0 "$ENS_SW" "be$((i + 1))"
		lab_in "$ENS_SW" ip link set "be$((i + 1))" master br-back
	done

	# ECMP over L4 (each connection hashed on its ports), no reverse-path
	# filter (DSR replies come from the VIP, routed elsewhere).
	lab_in "$ENS_RT" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	ecmp_seed "$ENS_RT"
	lab_in "$ENS_RT" ip addr add "$E_RT_CL/24" dev cl
	lab_in "$ENS_RT" ip addr add "$E_RT_BACK/24" dev back
	for i in 0 1; do
		lab_in "$ENS_RT" ip addr add "${E_RT_INST[$i]}/24" dev "i$((i + 1))"
		lab_in "$ENS_RT" sysctl -qw "net.ipv4.conf.i$((i + 1)).rp_filter=0"
	done

	E_CLIENTS=()
	for ((i = 0; i < ECMP_CLIENTS; i++)); do
		E_CLIENTS+=("10.30.0.$((101 + i))")
		lab_in "$ENS_CL" ip addr add "10.30.0.$((101 + i))/24" dev eth0
	done
	lab_in "$ENS_CL" ip route add default via "$E_RT_CL"

	# Instances: limpet owns wan and lan (af_packet); the kernel gets none
	# of their frames, only what limpet passes to its kernel interface.
	for i in 0 1; do
		ns=${ENS_I[$i]}
		lab_in "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
		lab_in "$ns" nft -f - <<-EOF
		table netdev limpet_owns {
			chain wan_in { type filter hook ingress device wan priority 0; policy drop; }
			chain lan_in { type filter hook ingress device lan priority 0; policy drop; }
		}
		EOF
	done

	# Backends: the VIP on loopback, never answered for on the wire; replies
	# go through the router.
	for i in 0 1 2; do
		ns=${ENS_BE[$i]}
		lab_in "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
			net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
			net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
		lab_in "$ns" ip addr add "${E_BE[$i]}/24" dev eth0
		lab_in "$ns" ip addr add "$E_VIP/32" dev lo
		lab_in "$ns" ip route add default via "$E_RT_BACK"
	done

	# Management segment (cluster): Redis and an interface of each
	# instance's kernel that limpet does not own, so that Redis traffic
	# never crosses limpet (nor depends on it forwarding).
	if [ "$ECMP_CLUSTER" = 1 ]; then
		lab_in "$ENS_SW" ip link add br-mgmt type bridge stp_state 0 forward_delay 0
		lab_in "$ENS_SW" ip link set br-mgmt up
		for i in 0 1; do
			lab_veth "${ENS_I[$i]}" mg "$ENS_SW" "i$((i + 1))m"
			lab_in "$ENS_SW" ip link set "i$((i + 1))m" master br-mgmt
			lab_in "${ENS_I[$i]}" ip addr add "${E_MGMT[$i]}/24" dev mg
		done
		lab_veth "$ENS_RD" eth0 "$ENS_SW" rdm
		lab_in "$ENS_SW" ip link set rdm master br-mgmt
		lab_in "$ENS_RD" ip addr add "$E_REDIS/24" dev eth0
	fi
	lab_log "ecmp lab: namespaces up (${LAB_PREFIX}e*), work dir $LAB_DIR"
}

# ---- BIRD ----

# The router's BIRD: BGP with BFD to both instances, ECMP into the kernel.
ecmp_router_conf() {
	cat <<-EOF
	# The lab router (generated by tests/e2e/lab_ecmp.sh)
	log "$LAB_DIR/bird-router.log" all;
	router id $E_RT_CL;
	protocol device { scan time 10; }
	# merge paths: one route with a next hop per instance (ECMP).
	protocol kernel {
		merge paths on;
		ipv4 { import none; export where source = RTS_BGP; };
	}
	protocol bfd {
		interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 5; };
	}
	template bgp limpet {
		local as $E_AS_ROUTER;
		bfd on;
		hold time 90;
		connect retry time 2;
		error wait time 1, 10;
		ipv4 { import where net.len = 32; export none; };
	}
	protocol bgp inst1 from limpet { neighbor ${E_INST[0]} as $E_AS_INST; }
	protocol bgp inst2 from limpet { neighbor ${E_INST[1]} as $E_AS_INST; }
	EOF
}

# An instance's BIRD: the shipped configuration, with this instance's names.
ecmp_instance_conf() {
	local i=$1
	cat <<-EOF
	# lab instance $((i + 1)) (generated by tests/e2e/lab_ecmp.sh)
	log "$LAB_DIR/bird-inst$((i + 1)).log" all;
	router id ${E_INST[$i]};
	define LIMPET_TABLE = $ECMP_TABLE;
	define LOCAL_AS = $E_AS_INST;
	define PEER_AS = $E_AS_ROUTER;
	define ROUTER1 = ${E_RT_INST[$i]};
	include "$ECMP_BIRD_CONF";
	EOF
}

# ecmp_bird_start NAME NS CONF: BIRD in the foreground (so that $! is its
# PID), its control socket in the lab's directory.
ecmp_bird_start() {
	local name=$1 ns=$2 conf=$3
	ip netns exec "$ns" "$ECMP_BIRD" -f -c "$conf" -s "$LAB_DIR/$name.ctl" -P "$LAB_DIR/$name.pid" \
		>>"$LAB_DIR/$name.out" 2>&1 &
	LAB_PID[$name]=$!
	lab_wait 10 "$name's BIRD control socket" test -S "$LAB_DIR/$name.ctl"
}

ecmp_birdc() {
	local name=$1
	shift
	"$ECMP_BIRDC" -s "$LAB_DIR/$name.ctl" "$@"
}

lab_ecmp_router_start() {
	ecmp_router_conf >"$LAB_DIR/bird-router.conf"
	ecmp_bird_start bird-router "$ENS_RT" "$LAB_DIR/bird-router.conf"
}

# lab_ecmp_instance_start N (1 or 2)
lab_ecmp_instance_start() {
	local i=$(($1 - 1))
	ecmp_instance_conf "$i" >"$LAB_DIR/bird-inst$1.conf"
	ecmp_bird_start "bird-inst$1" "${ENS_I[$i]}" "$LAB_DIR/bird-inst$1.conf"
}

# Is the router's BGP session to instance N up?
ecmp_session_up() { ecmp_birdc bird-router show protocols "inst$1" | grep -q Established; }

# Next hops the router's kernel has for the VIP: one line per instance
# address ("10.31.1.1"), none when the VIP has no route.
lab_ecmp_nexthops() {
	lab_in "$ENS_RT" ip -4 route show "$E_VIP/32" | grep -oE 'via [0-9.]+' | awk '{print $2}' | sort
}

ecmp_nexthop_count() { lab_ecmp_nexthops | grep -c . || true; }

# ---- limpet ----

ECMP_WITHDRAW_DELAY=${ECMP_WITHDRAW_DELAY:-2}

# The config of instance N (1 or 2): dsr to the three backends, ClientIP
# affinity, http health checks, the VIP announced in table ECMP_TABLE on
# lp-wan, adaptive polling; with ECMP_CLUSTER=1 a cluster section (Redis on
# the management segment, with the lab's password file).
ecmp_limpet_conf() {
	local i=$(($1 - 1))
	cat <<-EOF
	# lab instance $1 (generated by tests/e2e/lab_ecmp.sh)
	ports:
	  - name: wan
	    device: net_af_packet0
	    address: ${E_INST[$i]}/24
	    gateway: ${E_RT_INST[$i]}
	    kernelInterface: lp-wan
	  - name: lan
	    device: net_af_packet1
	    address: ${E_INST_LAN[$i]}/24
	announce: { table: $ECMP_TABLE, withdrawDelaySeconds: $ECMP_WITHDRAW_DELAY }
	workers: { poll: adaptive, idleSleepMicroseconds: 500 }
	flows: { capacity: 65536 }
	affinity: { capacity: 65536 }
	services:
	  - name: web
	    vip: $E_VIP
	    port: $E_PORT
	    protocol: TCP
	    forwarding: dsr
	    sessionAffinity: ClientIP
	    healthCheck: { type: http, path: /healthz, interval: 0.5, timeout: 0.4, rise: 2, fall: 2 }
	    backends:
	      - { address: ${E_BE[0]} }
	      - { address: ${E_BE[1]} }
	      - { address: ${E_BE[2]} }
	EOF
	if [ "$ECMP_CLUSTER" = 1 ]; then
		echo "cluster: { redis: \"$E_REDIS:$E_REDIS_PORT\", passwordFile: $LAB_DIR/redis.pass, name: $E_CLUSTER_NAME, startWaitSeconds: 10 }"
	fi
}

# lab_ecmp_limpet_start N: limpet in instance N's namespace; returns once it
# logged "running". The two instances' control threads and workers sit on
# opposite CPUs.
lab_ecmp_limpet_start() {
	local n=$1 lcores
	ecmp_limpet_conf "$n" >"$LAB_DIR/limpet$n.yaml"
	: >>"$LAB_DIR/limpet$n.log"
	if [ "$n" = 1 ]; then lcores="0@0,1@1"; else lcores="0@1,1@0"; fi
	# shellcheck disable=SC2086
	ip netns exec "${ENS_I[$((n - 1))]}" "$LAB_LIMPET" --lcores "$lcores" --no-pci --no-huge --no-shconf -m 512 \
		${LAB_EAL_EXTRA:-} --file-prefix "limpet-${LAB_PREFIX}e$n-$$" \
		--vdev net_af_packet0,iface=wan,qpairs=1 --vdev net_af_packet1,iface=lan,qpairs=1 \
		-- --config "$LAB_DIR/limpet$n.yaml" --ctl-socket "$LAB_DIR/limpet$n.sock" >>"$LAB_DIR/limpet$n.log" 2>&1 &
	LAB_PID[limpet$n]=$!
	local deadline=$((SECONDS + 30)) seen
	seen=$(grep -c "limpet: running" "$LAB_DIR/limpet$n.log" || true)
	ECMP_EARLY_ROUTE=0
	# Until it says it runs, limpet announces nothing.
	until [ "$(grep -c "limpet: running" "$LAB_DIR/limpet$n.log" || true)" -gt "$seen" ]; do
		if ! kill -0 "${LAB_PID[limpet$n]}" 2>/dev/null; then
			tail -n 30 "$LAB_DIR/limpet$n.log" >&2
			unset "LAB_PID[limpet$n]"
			lab_die "limpet $n exited at start"
		fi
		if lab_ecmp_has_route "$n" && [ "$(grep -c "limpet: running" "$LAB_DIR/limpet$n.log" || true)" -eq "$seen" ]; then
			ECMP_EARLY_ROUTE=1
		fi
		[ "$SECONDS" -lt "$deadline" ] || lab_die "limpet $n did not start within 30 s"
		sleep 0.02
	done
	lab_log "limpet $n started (pid ${LAB_PID[limpet$n]})"
}

ecmp_ctl() {
	local n=$1
	shift
	"$LAB_LIMPETCTL" -s "$LAB_DIR/limpet$n.sock" "$@"
}

# Does instance N's limpet keep the VIP route in table ECMP_TABLE?
lab_ecmp_has_route() {
	lab_in "${ENS_I[$(($1 - 1))]}" ip route show table "$ECMP_TABLE" proto "$ECMP_RTPROT" "$E_VIP/32" 2>/dev/null |
		grep -q "dev lp-wan"
}

# Client packets instance N forwarded to the service's backends (its counters).
lab_ecmp_forwarded() {
	ecmp_ctl "$1" show services | awk '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == "PACKETS") c = i; next }
		$1 == "web" && c { print $c; found = 1 }
		END { exit !(c && found) }'
}

# The announce state of the VIP on instance N: "yes -" or "no REASON".
lab_ecmp_announce_state() {
	ecmp_ctl "$1" show announce | awk -v vip="$E_VIP" '$1 == vip { print $2, $3 }'
}

# ---- backends and clients ----

lab_ecmp_backends_start() {
	local i
	for i in 0 1 2; do
		ip netns exec "${ENS_BE[$i]}" "$LAB_PYTHON" "$LAB_HTTPD" --name "backend$((i + 1))" --port "$E_PORT" \
			>>"$LAB_DIR/backend$((i + 1)).log" 2>&1 &
		LAB_PID[backend$((i + 1))]=$!
	done
	for i in 0 1 2; do
		lab_wait 10 "backend$((i + 1)) listening" lab_in "${ENS_BE[$i]}" \
			curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$E_PORT/healthz"
	done
}

# lab_ecmp_sweep N [ADDR...]: N requests per client address (default: all
# of E_CLIENTS), each on a new connection (new source port: ECMP hashes it
# anew), all clients in parallel; prints "ADDR BACKEND" per request
# ("ADDR -" when it failed).
lab_ecmp_sweep() {
	local n=$1
	shift
	local list=("$@")
	[ ${#list[@]} -gt 0 ] || list=("${E_CLIENTS[@]}")
	lab_in "$ENS_CL" bash -c '
		n=$1 vip=$2 port=$3; shift 3
		for a in "$@"; do
			(for ((i = 0; i < n; i++)); do
				out=$(curl -sf --max-time 3 --interface "$a" \
					-H "Connection: close" "http://$vip:$port/") || out=-
				echo "$a $out"
			done) &
		done
		wait' sweep "$n" "$E_VIP" "$E_PORT" "${list[@]}"
}

# lab_ecmp_loop_start OUT [ADDR...]: every client (default: all of
# E_CLIENTS) requests the VIP again and again, a new connection each time,
# until lab_ecmp_loop_stop; lines "ADDR BACKEND" or "ADDR -" go to OUT.
# The loops also end when the lab's directory goes (a test that died).
lab_ecmp_loop_start() {
	local out=$1
	shift
	local list=("$@")
	[ ${#list[@]} -gt 0 ] || list=("${E_CLIENTS[@]}")
	rm -f "$LAB_DIR/loop.stop"
	lab_in "$ENS_CL" bash -c '
		vip=$1 port=$2 dir=$3; shift 3
		for a in "$@"; do
			(while [ -d "$dir" ] && [ ! -e "$dir/loop.stop" ]; do
				out=$(curl -sf --max-time 3 --interface "$a" -H "Connection: close" "http://$vip:$port/") || out=-
				echo "$a $out"
				sleep 0.1
			done) &
		done
		wait' loop "$E_VIP" "$E_PORT" "$LAB_DIR" "${list[@]}" >"$out" 2>/dev/null &
	LAB_PID[loop]=$!
}

# lab_ecmp_loop_stop: ask the loops to end and wait for them (each ends
# after its request in flight, at most curl's 3 s).
lab_ecmp_loop_stop() {
	local pid=${LAB_PID[loop]:-} i
	[ -n "$pid" ] || return 0
	touch "$LAB_DIR/loop.stop"
	for ((i = 0; i < 60; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	lab_stop loop
}

# ---- Redis (ECMP_CLUSTER=1) ----

# lab_ecmp_redis_start: redis-server in ENS_RD on E_REDIS, a password (a new
# random one per lab, in LAB_DIR/redis.pass, mode 0600, which the instances
# read through cluster.passwordFile), no persistence; returns once it
# answers.
lab_ecmp_redis_start() {
	[ "$ECMP_CLUSTER" = 1 ] || lab_die "lab_ecmp_redis_start: the lab runs without ECMP_CLUSTER=1"
	if [ ! -s "$LAB_DIR/redis.pass" ]; then
		(umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$LAB_DIR/redis.pass")
	fi
	mkdir -p "$LAB_DIR/redis"
	(umask 077; cat >"$LAB_DIR/redis.conf" <<-EOF
	bind $E_REDIS
	port $E_REDIS_PORT
	requirepass $(cat "$LAB_DIR/redis.pass")
	save ""
	appendonly no
	dir $LAB_DIR/redis
	logfile $LAB_DIR/redis.log
	daemonize no
	EOF
	)
	ip netns exec "$ENS_RD" "$ECMP_REDIS" "$LAB_DIR/redis.conf" >/dev/null 2>&1 &
	LAB_PID[redis]=$!
	lab_wait 10 "Redis answering" ecmp_rcli_ping
}

# ecmp_rcli ARGS...: redis-cli to the lab's Redis, with its password.
ecmp_rcli() {
	REDISCLI_AUTH=$(cat "$LAB_DIR/redis.pass") lab_in "$ENS_RD" "$ECMP_REDIS_CLI" -h "$E_REDIS" -p "$E_REDIS_PORT" "$@"
}
ecmp_rcli_ping() { [ "$(ecmp_rcli ping 2>/dev/null)" = PONG ]; }

# ---- teardown ----

lab_ecmp_down() {
	local rc=$? name ns
	trap - EXIT INT TERM
	[ "$ECMP_UP" = 1 ] || return $rc
	ECMP_UP=0
	lab_ecmp_loop_stop
	# A Redis a test left stopped (SIGSTOP) must run to hear SIGTERM.
	[ -z "${LAB_PID[redis]:-}" ] || kill -CONT "${LAB_PID[redis]}" 2>/dev/null || true
	for name in "${!LAB_PID[@]}"; do lab_stop "$name"; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ $rc -ne 130 ]; then
		for f in "$LAB_DIR"/bird-*.log "$LAB_DIR"/limpet*.log "$LAB_DIR"/redis.log; do
			[ -s "$f" ] || continue
			echo "---- $(basename "$f") (last 15 lines) ----" >&2
			tail -n 15 "$f" >&2
		done
	fi
	for ns in $(ecmp_all_ns); do ip netns del "$ns" 2>/dev/null || true; done
	[ -n "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$LAB_DIR"
	return $rc
}

# Run as a script: `tests/e2e/lab_ecmp.sh clean` removes what a killed run
# left behind, stopping the processes still in its namespaces by PID.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	clean)
		ECMP_CLUSTER=1
		for ns in $(ecmp_all_ns); do
			lab_ns_exists "$ns" || continue
			for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
			ip netns del "$ns" && echo "removed namespace $ns"
		done
		;;
	*)
		echo "usage: $0 clean    (the lab is meant to be sourced: . tests/e2e/lab_ecmp.sh)" >&2
		exit 2
		;;
	esac
fi
