# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# limpet's network-namespace lab, sourced by the e2e tests and tools/demo.sh.
# See docs/lab.md for the picture. Everything lives in namespaces named
# "${LAB_PREFIX}<role>" (default prefix "lp-"):
#
#   client    20 client addresses (40 with LAB_CLIENTS=40) on one interface
#   sw        two Linux bridges: the front segment (clients, limpet's wan
#             port, the router) and the back segment (limpet's lan port,
#             the router, the backends)
#   lb        limpet, with net_af_packet ports on its veth ends wan and lan
#   router    forwards between the segments: DSR backends answer clients
#             through it
#   backendN  N = 1..4, a python HTTP server answering with its name
#
# Nothing leaves the namespaces. lab_up installs a trap that tears all of it
# down on exit, Ctrl-C or failure; processes are stopped by the PIDs the lab
# started them with.
#
# Use:  . tests/e2e/lab.sh; lab_up; lab_mode nat; lab_backends_start; ...

LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
LAB_PREFIX=${LAB_PREFIX:-lp-}
LAB_CLIENTS=${LAB_CLIENTS:-20}
LAB_LIMPET=${LAB_LIMPET:-$LAB_ROOT/build/app/limpet}
LAB_LIMPETCTL=${LAB_LIMPETCTL:-$LAB_ROOT/build/tools/limpetctl}
LAB_HTTPD="$LAB_ROOT/tests/e2e/httpd.py"
LAB_PYTHON=${LAB_PYTHON:-/usr/bin/python3}

NS_CLIENT=${LAB_PREFIX}client
NS_SW=${LAB_PREFIX}sw
NS_LB=${LAB_PREFIX}lb
NS_ROUTER=${LAB_PREFIX}router
NS_BACKENDS=("${LAB_PREFIX}backend1" "${LAB_PREFIX}backend2" "${LAB_PREFIX}backend3" "${LAB_PREFIX}backend4")

# Addresses. Front segment 10.10.0.0/24 + fd00:10::/64, back segment
# 10.20.0.0/24 + fd00:20::/64.
LB_WAN4=10.10.0.1
LB_WAN6=fd00:10::1
LB_LAN4=10.20.0.1
LB_LAN6=fd00:20::1
LB_WAN_MAC=02:00:0a:0a:00:01
LB_LAN_MAC=02:00:0a:14:00:01
VIP4=10.10.0.100
VIP6=fd00:10::100
RT_FRONT4=10.10.0.254
RT_FRONT6=fd00:10::fe
RT_BACK4=10.20.0.254
RT_BACK6=fd00:20::fe
BACKEND_PORT=8080
BE4=(10.20.0.11 10.20.0.12 10.20.0.13 10.20.0.14)
BE6=(fd00:20::11 fd00:20::12 fd00:20::13 fd00:20::14)
# Clients: 10.10.0.101 ... and fd00:10::101 ...
CLIENT4=()
CLIENT6=()

LAB_DIR=
LAB_UP=0
declare -A LAB_PID=()

LAB_T0=$(date +%s%3N)
# Seconds since the lab script started, for the logs: "[  3.2]".
lab_stamp() { local ms=$(($(date +%s%3N) - LAB_T0)); printf '[%3d.%d]' $((ms / 1000)) $(((ms % 1000) / 100)); }
# Progress on stderr; LAB_QUIET=1 (the demo) keeps it for failures only.
lab_log() { [ -n "${LAB_QUIET:-}" ] || printf '%s %s\n' "$(lab_stamp)" "$*" >&2; }
lab_die() { printf '%s FAIL: %s\n' "$(lab_stamp)" "$*" >&2; exit 1; }
lab_ok() { printf '%s ok: %s\n' "$(lab_stamp)" "$*"; }

# Exit 77 (meson: skipped) when the lab cannot run here.
lab_require() {
	local missing=()
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: the e2e lab needs root (network namespaces)"
		exit 77
	fi
	for t in ip ethtool curl ping "$LAB_PYTHON"; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		echo "SKIP: missing ${missing[*]} (tools/deps.sh installs them)"
		exit 77
	fi
	[ -x "$LAB_LIMPET" ] || lab_die "no limpet binary at $LAB_LIMPET (build first: meson setup build && ninja -C build)"
}

lab_ns_exists() { ip netns list | awk '{print $1}' | grep -qx "$1"; }

# lab_in NS CMD...: run a command in a lab namespace.
lab_in() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# lab_veth NS_A IF_A NS_B IF_B: a veth pair between two namespaces, both ends
# up, checksum and segmentation offloads off (an af_packet reader sees
# CHECKSUM_PARTIAL frames with a checksum the kernel never filled in, and
# GRO/TSO would hand it frames larger than the MTU).
lab_veth() {
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
	lab_in "$1" ethtool -K "$2" tx off rx off sg off tso off gso off gro off >/dev/null 2>&1 || true
	lab_in "$3" ethtool -K "$4" tx off rx off sg off tso off gso off gro off >/dev/null 2>&1 || true
	lab_in "$1" ip link set "$2" up
	lab_in "$3" ip link set "$4" up
}

lab_up() {
	local ns i
	lab_require
	for ns in "$NS_CLIENT" "$NS_SW" "$NS_LB" "$NS_ROUTER" "${NS_BACKENDS[@]}"; do
		if lab_ns_exists "$ns"; then
			lab_die "namespace $ns exists: another lab runs, or one was left behind (tests/e2e/lab.sh clean removes it)"
		fi
	done
	LAB_DIR=$(mktemp -d /tmp/limpet-lab.XXXXXX)
	LAB_UP=1
	trap lab_down EXIT
	trap 'echo "interrupted: cleaning up" >&2; exit 130' INT TERM
	for ns in "$NS_CLIENT" "$NS_SW" "$NS_LB" "$NS_ROUTER" "${NS_BACKENDS[@]}"; do
		ip netns add "$ns"
		lab_in "$ns" ip link set lo up
	done
	# limpet's kernel side and the switch have no IP addresses: keep the
	# kernel from speaking IPv6 (router solicitations, MLD, DAD) there.
	for ns in "$NS_SW" "$NS_LB"; do
		lab_in "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
	done

	# The switch: two bridges, no STP, no multicast snooping (limpet sends
	# no MLD reports, yet must hear neighbor solicitations).
	for br in front back; do
		lab_in "$NS_SW" ip link add "br-$br" type bridge stp_state 0 forward_delay 0 mcast_snooping 0
		lab_in "$NS_SW" ip link set "br-$br" up
	done
	lab_veth "$NS_CLIENT" eth0 "$NS_SW" cl
	lab_veth "$NS_LB" wan "$NS_SW" lbw
	lab_veth "$NS_LB" lan "$NS_SW" lbl
	lab_veth "$NS_ROUTER" front "$NS_SW" rtf
	lab_veth "$NS_ROUTER" back "$NS_SW" rtb
	for i in 0 1 2 3; do
		lab_veth "${NS_BACKENDS[$i]}" eth0 "$NS_SW" "be$((i + 1))"
	done
	for p in cl lbw rtf; do lab_in "$NS_SW" ip link set "$p" master br-front; done
	for p in lbl rtb be1 be2 be3 be4; do lab_in "$NS_SW" ip link set "$p" master br-back; done

	# Router: plain forwarding, no reverse-path filter (DSR replies come
	# from the VIP, which lives on the other segment).
	lab_in "$NS_ROUTER" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 \
		net.ipv4.conf.front.rp_filter=0 net.ipv4.conf.back.rp_filter=0
	lab_in "$NS_ROUTER" ip addr add "$RT_FRONT4/24" dev front
	lab_in "$NS_ROUTER" ip addr add "$RT_BACK4/24" dev back
	lab_in "$NS_ROUTER" ip addr add "$RT_FRONT6/64" dev front nodad
	lab_in "$NS_ROUTER" ip addr add "$RT_BACK6/64" dev back nodad

	# Clients: on-link with limpet's wan port and the VIP. A gratuitous ARP
	# creates a neighbor entry (arp_accept), so limpet's start-up
	# announcement is visible in the client's neighbor table.
	lab_in "$NS_CLIENT" sysctl -qw net.ipv4.conf.all.arp_accept=1 net.ipv4.conf.eth0.arp_accept=1 \
		net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
	CLIENT4=()
	CLIENT6=()
	for ((i = 0; i < LAB_CLIENTS; i++)); do
		CLIENT4+=("10.10.0.$((101 + i))")
		lab_in "$NS_CLIENT" ip addr add "10.10.0.$((101 + i))/24" dev eth0
	done
	for ((i = 0; i < LAB_CLIENTS; i++)); do
		CLIENT6+=("fd00:10::$((101 + i))")
		lab_in "$NS_CLIENT" ip addr add "fd00:10::$((101 + i))/64" dev eth0 nodad
	done

	for i in 0 1 2 3; do
		ns=${NS_BACKENDS[$i]}
		lab_in "$ns" ip addr add "${BE4[$i]}/24" dev eth0
		lab_in "$ns" ip addr add "${BE6[$i]}/64" dev eth0 nodad
	done
	lab_log "lab: namespaces up (${LAB_PREFIX}*), work dir $LAB_DIR"
}

# lab_mode nat|dsr: how the backends answer clients. nat: back through
# limpet (default route via limpet's lan address). dsr: straight to the
# client through the router, from the VIP, which sits on the backend's
# loopback and is never announced (arp_ignore=1, arp_announce=2).
lab_mode() {
	local mode=$1 i ns gw4 gw6
	case $mode in
	nat) gw4=$LB_LAN4 gw6=$LB_LAN6 ;;
	dsr) gw4=$RT_BACK4 gw6=$RT_BACK6 ;;
	*) lab_die "lab_mode: nat or dsr, not '$mode'" ;;
	esac
	for i in 0 1 2 3; do
		ns=${NS_BACKENDS[$i]}
		lab_in "$ns" ip route replace default via "$gw4" dev eth0
		lab_in "$ns" ip -6 route replace default via "$gw6" dev eth0
		lab_in "$ns" ip addr flush dev lo scope global 2>/dev/null || true
		if [ "$mode" = dsr ]; then
			lab_in "$ns" sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
				net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2 \
				net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
			lab_in "$ns" ip addr add "$VIP4/32" dev lo
			lab_in "$ns" ip addr add "$VIP6/128" dev lo nodad
		fi
	done
	LAB_MODE=$mode
}

# Start the HTTP server of backend N (1..4), listening on BACKEND_PORT.
lab_backend_start() {
	local n=$1 ns=${NS_BACKENDS[$(($1 - 1))]}
	# ip netns exec itself (not a shell function) so that $! is the
	# server's own PID: it execs the program in place.
	ip netns exec "$ns" "$LAB_PYTHON" "$LAB_HTTPD" --name "backend$n" --port "$BACKEND_PORT" \
		>>"$LAB_DIR/backend$n.log" 2>&1 &
	LAB_PID[backend$n]=$!
}

# lab_backends_start [N...]: start backends (default all four) and wait
# until they answer.
lab_backends_start() {
	local list=("$@") n
	[ ${#list[@]} -gt 0 ] || list=(1 2 3 4)
	for n in "${list[@]}"; do lab_backend_start "$n"; done
	for n in "${list[@]}"; do
		lab_wait 10 "backend$n listening" lab_in "${NS_BACKENDS[$((n - 1))]}" \
			curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$BACKEND_PORT/healthz"
	done
	lab_log "backends ${list[*]} answering"
}

# Stop a process the lab started, by its PID: TERM, then KILL after 3 s.
lab_stop() {
	local name=$1 pid=${LAB_PID[$1]:-} i
	[ -n "$pid" ] || return 0
	unset "LAB_PID[$name]"
	kill "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 30; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
}

lab_backend_stop() { lab_stop "backend$1"; }

# lab_wait SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds;
# fail with WHAT after SECONDS.
lab_wait() {
	local limit=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + limit))
	until "$@" >/dev/null 2>&1; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			lab_die "timed out after ${limit}s waiting for: $what"
		fi
		sleep 0.1
	done
}

# Milliseconds since the epoch.
lab_ms() { date +%s%3N; }

# ---- limpet ----

LAB_LIMPET_LOG=
LAB_CTL_SOCKET=

# lab_limpet_start CONFIG: run limpet in the lb namespace on the two
# af_packet ports; returns once it logged "running".
lab_limpet_start() {
	local cfg=$1 extra=()
	LAB_LIMPET_LOG=$LAB_DIR/limpet.log
	: >"$LAB_LIMPET_LOG"
	LAB_CTL_SOCKET=$LAB_DIR/limpet.sock
	if lab_have_limpetctl; then
		extra+=(--ctl-socket "$LAB_CTL_SOCKET")
	fi
	# LAB_EAL_EXTRA: more EAL options, e.g. --log-level=lib.limpet.health:debug;
	# LAB_AFP_ARGS: more net_af_packet arguments for both ports, e.g. ,framecnt=128
	# shellcheck disable=SC2086
	ip netns exec "$NS_LB" "$LAB_LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 ${LAB_EAL_EXTRA:-} \
		--file-prefix "limpet-${LAB_PREFIX}$$" \
		--vdev "net_af_packet0,iface=wan,qpairs=1${LAB_AFP_ARGS:-}" --vdev "net_af_packet1,iface=lan,qpairs=1${LAB_AFP_ARGS:-}" \
		-- --config "$cfg" "${extra[@]}" >>"$LAB_LIMPET_LOG" 2>&1 &
	LAB_PID[limpet]=$!
	lab_log "limpet started (pid ${LAB_PID[limpet]}, config $cfg)"
	local deadline=$((SECONDS + 30))
	until grep -q "limpet: running" "$LAB_LIMPET_LOG"; do
		if ! kill -0 "${LAB_PID[limpet]}" 2>/dev/null; then
			cat "$LAB_LIMPET_LOG" >&2
			unset "LAB_PID[limpet]"
			lab_die "limpet exited at start"
		fi
		[ "$SECONDS" -lt "$deadline" ] || lab_die "limpet did not start within 30 s"
		sleep 0.1
	done
}

lab_limpet_stop() {
	lab_stop limpet
}

# MAC of limpet's port IF (wan or lan): lab_config gives each port a MAC
# of its own; the kernel's veth end keeps its own (so the kernel drops
# limpet's frames as for another host instead of routing each one).
lab_limpet_mac() { case $1 in wan) echo "$LB_WAN_MAC" ;; lan) echo "$LB_LAN_MAC" ;; esac; }

# lab_log_count PATTERN: lines of limpet's log matching an extended regex.
lab_log_count() { grep -c -E -e "$1" "$LAB_LIMPET_LOG" || true; }

# lab_wait_log SECONDS PATTERN [AFTER]: wait until limpet's log has more
# than AFTER (default 0) lines matching PATTERN; prints the milliseconds it
# took. Polls every 20 ms, so it can time a reaction.
lab_wait_log() {
	local limit=$1 pat=$2 after=${3:-0} t0 deadline
	t0=$(lab_ms)
	deadline=$((t0 + limit * 1000))
	until [ "$(lab_log_count "$pat")" -gt "$after" ]; do
		[ "$(lab_ms)" -lt "$deadline" ] || lab_die "limpet did not log /$pat/ within ${limit}s"
		sleep 0.02
	done
	echo $(($(lab_ms) - t0))
}

# Reload the config file (rewritten by the caller) with SIGHUP; returns
# once limpet logged the outcome. Fails when the reload was refused.
lab_limpet_reload() {
	local pat="limpet: (reloaded|reload of .* refused)" bad="limpet: reload of .* refused" before refusals
	before=$(lab_log_count "$pat")
	refusals=$(lab_log_count "$bad")
	kill -HUP "${LAB_PID[limpet]}"
	lab_wait_log 10 "$pat" "$before" >/dev/null
	if [ "$(lab_log_count "$bad")" -gt "$refusals" ]; then
		tail -n 20 "$LAB_LIMPET_LOG" >&2
		lab_die "limpet refused the reload"
	fi
}

lab_have_limpetctl() { [ -x "$LAB_LIMPETCTL" ]; }

lab_ctl() { "$LAB_LIMPETCTL" -s "$LAB_CTL_SOCKET" "$@"; }

# lab_ctl_column SVC BACKEND COLUMN: one column of `show backends SVC` for
# BACKEND (ADDR:PORT), located by its header name.
lab_ctl_column() {
	lab_ctl show backends "$1" | awk -v be="$2" -v col="$3" '
		NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		$1 == be && c { print $c; found = 1 }
		END { exit !(c && found) }'
}

# ---- config ----

# lab_config MODE [key=value...] > FILE: the lab's limpet config with one
# service "web". Keys: affinity=1|0, backends="1 2 3" (which backends),
# states="3=draining" (backend=state pairs), weights="2=3", health=http|tcp|none,
# interval=, fall=, rise=, timeout=, rebalance=none|idle, aff_timeout=,
# syn_timeout=, fin_timeout=, drain_timeout=, v6=1 (adds service web6 on
# the IPv6 VIP).
lab_config() {
	local mode=$1
	shift
	local affinity=1 backends="1 2 3 4" states="" weights="" health=http interval=0.5 fall=2 rise=2
	local timeout=0.4 rebalance=none aff_timeout=10800 fin_timeout=30 syn_timeout=10 drain_timeout=0 v6=0 kv
	for kv in "$@"; do
		case ${kv%%=*} in
		affinity | backends | states | weights | health | interval | fall | rise | timeout | rebalance | \
			aff_timeout | fin_timeout | syn_timeout | drain_timeout | v6)
			printf -v "${kv%%=*}" '%s' "${kv#*=}" ;;
		*) lab_die "lab_config: unknown key ${kv%%=*}" ;;
		esac
	done
	local port=80 target=$BACKEND_PORT
	# DSR rewrites only MACs: the backend answers on the VIP's own port.
	[ "$mode" = dsr ] && port=$BACKEND_PORT
	cat <<-EOF
	# limpet e2e lab config (generated by tests/e2e/lab.sh)
	ports:
	  - name: wan
	    device: net_af_packet0
	    mac: "$LB_WAN_MAC"
	    address: [$LB_WAN4/24, "$LB_WAN6/64"]
	  - name: lan
	    device: net_af_packet1
	    mac: "$LB_LAN_MAC"
	    address: [$LB_LAN4/24, "$LB_LAN6/64"]
	flows: { capacity: 65536, tcp_syn_timeout: $syn_timeout, tcp_fin_timeout: $fin_timeout }
	affinity: { capacity: 65536 }
	services:
	EOF
	local fam vip addrs name
	for fam in 4 6; do
		[ "$fam" = 6 ] && [ "$v6" != 1 ] && continue
		if [ "$fam" = 4 ]; then vip=$VIP4 name=web; else vip="\"$VIP6\"" name=web6; fi
		cat <<-EOF
		  - name: $name
		    vip: $vip
		    port: $port
		    targetPort: $target
		    protocol: TCP
		    forwarding: $mode
		    drainTimeoutSeconds: $drain_timeout
		    rebalance: $rebalance
		EOF
		if [ "$affinity" = 1 ]; then
			cat <<-EOF
			    sessionAffinity: ClientIP
			    sessionAffinityConfig: { clientIP: { timeoutSeconds: $aff_timeout } }
			EOF
		fi
		if [ "$health" != none ]; then
			local hpath=""
			[ "$health" = http ] && hpath=" path: /healthz,"
			echo "    healthCheck: { type: $health,$hpath interval: $interval, timeout: $timeout, rise: $rise, fall: $fall }"
		fi
		echo "    backends:"
		local b st w addr
		for b in $backends; do
			if [ "$fam" = 4 ]; then addr=${BE4[$((b - 1))]}; else addr="\"${BE6[$((b - 1))]}\""; fi
			st=up
			w=1
			for kv in $states; do [ "${kv%%=*}" = "$b" ] && st=${kv#*=}; done
			for kv in $weights; do [ "${kv%%=*}" = "$b" ] && w=${kv#*=}; done
			echo "      - { address: $addr, weight: $w, state: $st }"
		done
	done
}

# Port of the VIP for the current mode (see lab_config).
lab_vip_port() { if [ "${LAB_MODE:-nat}" = dsr ]; then echo "$BACKEND_PORT"; else echo 80; fi; }

# lab_get CLIENT_ADDR [PATH]: one request to the VIP from a client address;
# prints the body (a backend's name for "/").
lab_get() {
	local src=$1 path=${2:-/} host=$VIP4
	[[ $src == *:* ]] && host="[$VIP6]"
	lab_in "$NS_CLIENT" curl -sf --max-time 5 --interface "$src" -H "Connection: close" \
		"http://$host:$(lab_vip_port)$path"
}

# lab_sweep N [ADDR...]: N requests from each client address (default: all
# CLIENT4), each on a new connection; prints "ADDR BACKEND" per request
# ("ADDR -" for a failed one). All clients run in parallel.
lab_sweep() {
	local n=$1
	shift
	local addrs=("$@")
	[ ${#addrs[@]} -gt 0 ] || addrs=("${CLIENT4[@]}")
	lab_in "$NS_CLIENT" bash -c '
		n=$1 port=$2 vip=$3; shift 3
		for a in "$@"; do
			(for ((i = 0; i < n; i++)); do
				out=$(curl -sf --max-time 5 --interface "$a" \
					-H "Connection: close" "http://$vip:$port/") || out=-
				echo "$a $out"
			done) &
		done
		wait' sweep "$n" "$(lab_vip_port)" "$VIP4" "${addrs[@]}"
}

# lab_map [ADDR...]: one request per client: prints "ADDR BACKEND" lines sorted.
lab_map() { lab_sweep 1 "$@" | sort -V; }

# ---- teardown ----

lab_down() {
	local rc=$? name ns
	trap - EXIT INT TERM
	[ "$LAB_UP" = 1 ] || return $rc
	LAB_UP=0
	for name in "${!LAB_PID[@]}"; do lab_stop "$name"; done
	if [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ $rc -ne 130 ] && [ -n "$LAB_LIMPET_LOG" ] && [ -s "$LAB_LIMPET_LOG" ]; then
		echo "---- limpet log (last 40 lines) ----" >&2
		tail -n 40 "$LAB_LIMPET_LOG" >&2
	fi
	for ns in "${NS_BACKENDS[@]}" "$NS_ROUTER" "$NS_LB" "$NS_CLIENT" "$NS_SW"; do
		ip netns del "$ns" 2>/dev/null || true
	done
	[ -n "$LAB_DIR" ] && [ -z "${LAB_KEEP:-}" ] && rm -rf "$LAB_DIR"
	return $rc
}

# Run as a script: `tests/e2e/lab.sh clean` removes namespaces a killed run
# left behind, and stops the processes still in them (by their PIDs).
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	case ${1:-} in
	clean)
		for ns in "$NS_CLIENT" "$NS_SW" "$NS_LB" "$NS_ROUTER" "${NS_BACKENDS[@]}"; do
			lab_ns_exists "$ns" || continue
			for pid in $(ip netns pids "$ns"); do kill "$pid" 2>/dev/null || true; done
			ip netns del "$ns" && echo "removed namespace $ns"
		done
		;;
	*)
		echo "usage: $0 clean    (the lab is meant to be sourced: . tests/e2e/lab.sh)" >&2
		exit 2
		;;
	esac
fi
