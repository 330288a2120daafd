#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Keep-alive HTTP requests per second through the e2e lab (tests/e2e/lab.sh:
# af_packet ports on veths, everything on this machine's CPUs), limpet
# against a kernel nftables DNAT rule set in the style of kube-proxy, with
# the same clients and backends, in one run. A benchmark, not a test.
#
#   tools/bench/lab_rps.sh [SECONDS] [CONNECTIONS]      (root; LAB_PREFIX honoured)
#
# Prints, as `name value unit` lines:
#   limpet_idle_cpu_<thread>   CPU share of each limpet thread with no traffic
#   limpet_rps, nft_rps        wrk's requests/s through each
#   limpet_lb_tx, nft_lb_tx    packets/s the load balancer sent (wan + lan)
#   limpet_sendto              limpet's sendto() calls/s (one per af_packet
#                              transmit burst) and packets per call (perf
#                              tracepoints; left out where perf has none)
#   ratio                      limpet_rps / nft_rps
#   limpet_kernel_ip_in        packets the kernel of limpet's namespace took
#                              into its IP stack during the run (0 since
#                              limpet has a MAC of its own on the veths)
#   alt_*, ratio_alt           the same for LAB_RPS_ALT=BINARY, a second limpet
#                              measured in the same run (e.g. before/after);
#                              LAB_RPS_ALT="A B ..." gives alt, alt2, ...
#   <run>_cpu_<who>            where the CPUs went during each run (/proc)
#   <run>_ctxt, limpet_ctxt_worker  context switches/s, all CPUs and limpet's
#                              worker thread (/proc)
#   limpet_worker              the worker's sleeps/s and how its cycles split
#                              (show stats worker, where limpetctl is built)
#   ratio_median_<name>        with LAB_RPS_ROUNDS=N (N rounds of every limpet
#                              and nftables in turn): each round's ratio, median
# and, where perf works (cpu-clock sampling), the commands and limpet's
# functions that took the samples during an extra limpet run (LAB_RPS_PERF= turns it off).
# LAB_RPS_DIFF=1: an extra nftables run under perf too, and the CPU time per
# request by function, limpet against nftables (where the difference goes).
#
# Clients: wrk in the client namespace, its connections spread over the 20
# client addresses by a source NAT rule there (wrk has no source option).
# Backends: nginx (one worker each) when installed, else httpd.py (slower:
# then both figures measure Python).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DURATION=${1:-10}
CONNS=${2:-64}
LAB_CLIENTS=20
LAB_QUIET=${LAB_QUIET:-}
# shellcheck source=tests/e2e/lab.sh
. "$ROOT/tests/e2e/lab.sh"
. "$ROOT/tools/bench/env.sh"
command -v wrk >/dev/null || { echo "needs wrk (tools/deps.sh installs it)" >&2; exit 1; }
command -v nft >/dev/null || { echo "needs nft (tools/deps.sh installs it)" >&2; exit 1; }

HZ=$(getconf CLK_TCK)

# ---- CPU accounting from /proc ----

# Busy and idle ticks of all CPUs: "busy softirq idle".
cpu_totals() { awk '/^cpu / { print $2 + $3 + $4 + $6 + $7 + $8, $8, $5 + $6 }' /proc/stat; }

# Ticks used by a process and all its threads.
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# "comm ticks" for every thread of PID.
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		printf '%s %s\n' "$(tr ' ' '_' <"$t/comm")" "$(awk '{ print $14 + $15 }' "$t/stat")"
	done
}

# PIDs of processes named NAME in namespace NS.
ns_pids() { ip netns pids "$1" 2>/dev/null | while read -r p; do [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"; done; }

group_ticks() {	# group_ticks PID... : sum of their ticks
	local s=0 p
	for p in "$@"; do s=$((s + $(proc_ticks "$p"))); done
	echo $s
}

# ---- backends ----

backends_start() {
	local i ns conf
	if command -v nginx >/dev/null; then
		BACKEND_KIND=nginx
		for i in 1 2 3 4; do
			ns=${NS_BACKENDS[$((i - 1))]}
			conf=$LAB_DIR/nginx$i.conf
			mkdir -p "$LAB_DIR/nginx$i"
			cat >"$conf" <<-EOF
			worker_processes 1;
			pid $LAB_DIR/nginx$i/pid;
			error_log $LAB_DIR/nginx$i/error.log;
			events { worker_connections 4096; }
			http {
				access_log off;
				keepalive_requests 1000000;
				client_body_temp_path $LAB_DIR/nginx$i;
				proxy_temp_path $LAB_DIR/nginx$i;
				fastcgi_temp_path $LAB_DIR/nginx$i;
				uwsgi_temp_path $LAB_DIR/nginx$i;
				scgi_temp_path $LAB_DIR/nginx$i;
				server {
					listen $BACKEND_PORT;
					location / { return 200 "backend$i\n"; }
				}
			}
			EOF
			ip netns exec "$ns" nginx -c "$conf" -g 'daemon off;' >>"$LAB_DIR/backend$i.log" 2>&1 &
			LAB_PID[backend$i]=$!
		done
		for i in 1 2 3 4; do
			lab_wait 10 "backend$i listening" lab_in "${NS_BACKENDS[$((i - 1))]}" \
				curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$BACKEND_PORT/"
		done
	else
		BACKEND_KIND=httpd.py
		lab_backends_start
	fi
}

# ---- one measured run ----

# Packets the load balancer's namespace sent on wan and lan (its veth ends).
lb_tx_packets() { lab_in "$NS_LB" awk '{ sub(":", " ") } $1 == "wan" || $1 == "lan" { n += $11 } END { print n + 0 }' /proc/net/dev; }
HAVE_SC_TRACE=
# shellcheck disable=SC2143 # grep -q would end perf list early: SIGPIPE fails the pipe (pipefail)
command -v perf >/dev/null && [ -n "$(perf list 'syscalls:sys_enter_sendto' 2>/dev/null | grep sys_enter_sendto)" ] && HAVE_SC_TRACE=1

# "busy idle sleeps sleep_cycles" of limpet's workers from `show stats worker`.
worker_counters() {
	awk '$1 == "busy_cycles" { b += $2 } $1 == "idle_cycles" { i += $2 } $1 == "idle_sleeps" { s += $2 }
		$1 == "sleep_cycles" { c += $2 } END { print b + 0, i + 0, s + 0, c + 0 }'
}

# run NAME: wrk against the VIP; prints NAME_rps and where the CPUs went.
run_wrk() {
	local name=$1 c0 c1 busy soft idle total out rps
	local -A before=()
	local who pids
	declare -A groups=(
		[wrk]="$(ns_pids "$NS_CLIENT" wrk)"
		[backends]="$(for ns in "${NS_BACKENDS[@]}"; do ns_pids "$ns" nginx; ns_pids "$ns" python3; done)"
	)
	[ -n "${LAB_PID[limpet]:-}" ] && groups[limpet]=${LAB_PID[limpet]}
	lab_in "$NS_CLIENT" wrk -t2 -c"$CONNS" -d"$DURATION"s "http://$VIP4/" >"$LAB_DIR/wrk-$name.txt" 2>&1 &
	local wrk_pid=$!
	sleep 1	# warm-up: connections open, flows and bindings made
	groups[wrk]=$(ns_pids "$NS_CLIENT" wrk)
	for who in "${!groups[@]}"; do
		# shellcheck disable=SC2086
		before[$who]=$(group_ticks ${groups[$who]})
	done
	local tx0 tx1 sc=
	tx0=$(lb_tx_packets)
	if [ -n "${LAB_PID[limpet]:-}" ] && [ -n "$HAVE_SC_TRACE" ]; then
		# limpet's sendto() calls (af_packet transmit kicks) in the window
		sc=$LAB_DIR/sc-$name.txt
		perf stat -x, -o "$sc" -e syscalls:sys_enter_sendto -p "${LAB_PID[limpet]}" -- sleep $((DURATION - 2)) &
		local sc_pid=$!
	fi
	read -r c0 s0 i0 < <(cpu_totals)
	local x0 x1 wt0 wt1 wtid=
	x0=$(awk '$1 == "ctxt" { print $2 }' /proc/stat)
	if [ -n "${LAB_PID[limpet]:-}" ]; then
		for t in /proc/"${LAB_PID[limpet]}"/task/*; do
			[ "$(cat "$t/comm")" = rte-worker-1 ] && wtid=$t
		done
	fi
	[ -z "$wtid" ] || wt0=$(awk '/ctxt_switches/ { s += $2 } END { print s }' "$wtid/status")
	local wc0=
	[ -z "$wtid" ] || ! lab_have_limpetctl || wc0=$(lab_ctl show stats worker 2>/dev/null | worker_counters)
	local t0=$(lab_ms)
	sleep $((DURATION - 2))
	read -r c1 s1 i1 < <(cpu_totals)
	x1=$(awk '$1 == "ctxt" { print $2 }' /proc/stat)
	[ -z "$wtid" ] || wt1=$(awk '/ctxt_switches/ { s += $2 } END { print s }' "$wtid/status")
	local wc1=
	[ -z "$wc0" ] || wc1=$(lab_ctl show stats worker 2>/dev/null | worker_counters)
	local t1=$(lab_ms)
	# The worker's own view (show stats worker): how often it slept, and how
	# its time split between passes with work, empty passes and sleeps.
	[ -z "$wc1" ] || awk -v n="$name" -v ms=$((t1 - t0)) -v a="$wc0" -v b="$wc1" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]; sl = y[3] - x[3]; cyc = y[4] - x[4]; t = busy + idle + cyc
		if (t > 0) printf "%s_worker %.0f sleeps/s; cycles: %.0f %% passes with work, %.0f %% empty passes, %.0f %% asleep\n",
			n, sl / (ms / 1000), 100 * busy / t, 100 * idle / t, 100 * cyc / t }'
	awk -v n="$name" -v d=$((x1 - x0)) -v ms=$((t1 - t0)) \
		'BEGIN { printf "%s_ctxt %.0f context switches/s (all CPUs)\n", n, d / (ms / 1000) }'
	[ -z "$wtid" ] || awk -v n="$name" -v d=$((wt1 - wt0)) -v ms=$((t1 - t0)) \
		'BEGIN { printf "%s_ctxt_worker %.0f context switches/s (the worker thread)\n", n, d / (ms / 1000) }'
	tx1=$(lb_tx_packets)
	awk -v n="$name" -v d=$((tx1 - tx0)) -v ms=$((t1 - t0)) \
		'BEGIN { printf "%s_lb_tx %.0f packets/s (sent by the load balancer on wan and lan)\n", n, d / (ms / 1000) }'
	if [ -n "$sc" ]; then
		wait "$sc_pid" || true
		awk -F, -v n="$name" -v d=$((tx1 - tx0)) -v ms=$((t1 - t0)) '/sys_enter_sendto/ && $1 > 0 {
			printf "%s_sendto %.0f calls/s, %.2f packets per call\n", n, $1 / (ms / 1000), d / $1 }' "$sc"
	fi
	for who in "${!groups[@]}"; do
		# shellcheck disable=SC2086
		local now_ticks=$(group_ticks ${groups[$who]})
		awk -v n="$name" -v w="$who" -v d=$((now_ticks - before[$who])) -v hz="$HZ" -v ms=$((t1 - t0)) \
			'BEGIN { printf "%s_cpu_%s %.0f %% of one CPU\n", n, w, 100 * d / hz / (ms / 1000) }'
	done
	busy=$((c1 - c0)) soft=$((s1 - s0)) idle=$((i1 - i0))
	total=$((busy + idle))
	awk -v n="$name" -v b=$busy -v s=$soft -v i=$idle -v t=$total 'BEGIN {
		printf "%s_cpu_all_busy %.0f %%\n%s_cpu_softirq %.0f %%\n%s_cpu_idle %.0f %%\n", n, 100 * b / t, n, 100 * s / t, n, 100 * i / t }'
	wait "$wrk_pid" || true
	out=$(cat "$LAB_DIR/wrk-$name.txt")
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
	grep -E 'Socket errors|Non-2xx' <<<"$out" | sed "s/^/# $name: /" || true
	echo "${name}_rps ${rps:-0} req/s"
	eval "RPS_$name=${rps:-0}"
}

# ---- the two set-ups ----

# Clients and backends forget the load balancer's MAC: limpet has a MAC of
# its own (lab_config), the kernel's veth ends keep theirs.
neigh_forget() {
	local ns
	for ns in "$NS_CLIENT" "${NS_BACKENDS[@]}"; do lab_in "$ns" ip neigh flush all; done
}

# The IPv4 packets the kernel of limpet's namespace took into its IP stack
# (/proc/net/snmp Ip: InReceives, InAddrErrors).
ip_in() { lab_in "$NS_LB" awk '$1 == "Ip:" && $2 ~ /^[0-9]+$/ { print $4, $6 }' /proc/net/snmp; }

limpet_up() {
	neigh_forget
	# The veths' own MACs back: a limpet before 446c367 gave them its own
	# and left it there, which the next limpet would then find.
	lab_in "$NS_LB" ip link set wan address "$WAN_MAC0"
	lab_in "$NS_LB" ip link set lan address "$LAN_MAC0"
	lab_config nat affinity=1 health=tcp interval=1 >"$LAB_DIR/limpet.yaml"
	lab_limpet_start "$LAB_DIR/limpet.yaml"
	lab_wait 10 "the service to answer" lab_get "${CLIENT4[0]}"
	IP_IN0=$(ip_in)
}

# kube-proxy's nftables mode, reduced to one service: DNAT to a random
# endpoint in prerouting; conntrack translates the replies (the backends'
# default route is the load balancer's lan address, as with limpet's nat).
nft_up() {
	local i
	neigh_forget
	lab_in "$NS_LB" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	lab_in "$NS_LB" ip addr add "$LB_WAN4/24" dev wan
	lab_in "$NS_LB" ip addr add "$VIP4/32" dev wan
	lab_in "$NS_LB" ip addr add "$LB_LAN4/24" dev lan
	{
		echo "table ip kubeproxy {"
		for i in 0 1 2 3; do echo "	chain endpoint-$i { meta l4proto tcp dnat to ${BE4[$i]}:$BACKEND_PORT; }"; done
		echo "	chain service-web { numgen random mod 4 vmap { 0 : goto endpoint-0, 1 : goto endpoint-1, 2 : goto endpoint-2, 3 : goto endpoint-3 }; }"
		echo "	chain prerouting { type nat hook prerouting priority dstnat; policy accept; ip daddr $VIP4 tcp dport 80 goto service-web; }"
		echo "}"
	} | lab_in "$NS_LB" nft -f -
	lab_wait 10 "the nftables service to answer" lab_get "${CLIENT4[0]}"
}

nft_down() {
	lab_in "$NS_LB" nft delete table ip kubeproxy
	lab_in "$NS_LB" sysctl -qw net.ipv4.ip_forward=0
	lab_in "$NS_LB" ip addr flush dev wan
	lab_in "$NS_LB" ip addr flush dev lan
}

# ---- main ----

bench_machine
echo "# lab: af_packet on veths, $LAB_CLIENTS clients, 4 backends, wrk -t2 -c$CONNS -d${DURATION}s (keep-alive)"
lab_up
WAN_MAC0=$(lab_in "$NS_LB" cat /sys/class/net/wan/address)
LAN_MAC0=$(lab_in "$NS_LB" cat /sys/class/net/lan/address)
lab_mode nat
backends_start
echo "# backends: $BACKEND_KIND"
# wrk's connections over the 20 client addresses, in turn (an address range
# would give all of them the same one: NAT picks by addresses, not ports).
map=$(for ((i = 0; i < LAB_CLIENTS; i++)); do printf ', %d : %s' "$i" "${CLIENT4[$i]}"; done)
lab_in "$NS_CLIENT" nft -f - <<EOF
table ip rpsclients {
	chain post { type nat hook postrouting priority srcnat; policy accept; ip daddr $VIP4 snat to numgen inc mod $LAB_CLIENTS map { ${map#, } }; }
}
EOF

# limpet_phase NAME [PERF]: limpet (LAB_LIMPET) idle, then under wrk; PERF:
# a third run under perf.
limpet_phase() {
	local name=$1 perf=${2:-}
	limpet_up
	if [ "${round:-1}" = 1 ]; then
		limpet_idle "$name"
	fi
	run_wrk "$name"
	[ -n "$perf" ] && profile
	# The veths are still the kernel's (af_packet only taps them): with
	# limpet's MAC on them, their IP stack took in every packet too.
	awk -v n="$name" -v a="$IP_IN0" -v b="$(ip_in)" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%s_kernel_ip_in %d packets into the IP stack of limpet'"'"'s namespace (%d of them dropped as not its addresses)\n",
			n, y[1] - x[1], y[2] - x[2] }'
	lab_limpet_stop
}

# limpet_idle NAME: the CPU of each limpet thread with no traffic.
limpet_idle() {
	local name=$1 comm ticks t0 t1
	local -A idle0=() idle1=()
	sleep 2
	while read -r comm ticks; do idle0[$comm]=$((${idle0[$comm]:-0} + ticks)); done < <(thread_ticks "${LAB_PID[limpet]}")
	t0=$(lab_ms)
	sleep 5
	while read -r comm ticks; do idle1[$comm]=$((${idle1[$comm]:-0} + ticks)); done < <(thread_ticks "${LAB_PID[limpet]}")
	t1=$(lab_ms)
	for comm in "${!idle1[@]}"; do
		awk -v n="$name" -v c="$comm" -v d=$((idle1[$comm] - ${idle0[$comm]:-0})) -v hz="$HZ" -v ms=$((t1 - t0)) \
			'BEGIN { printf "%s_idle_cpu_%s %.1f %% of one CPU\n", n, c, 100 * d / hz / (ms / 1000) }'
	done | sort
}

# profile [NAME]: a further run under perf (its figure is not quoted): who
# took the CPUs. NAME (default limpet) names the set-up; for limpet, the
# samples by command, object and function are printed. The samples per
# symbol and the run's requests/s stay in $LAB_DIR for profile_diff.
profile() {
	local name=${1:-limpet} wp rps
	command -v perf >/dev/null && perf record -o "$LAB_DIR/probe.data" -e cpu-clock -- true >/dev/null 2>&1 || return 0
	lab_in "$NS_CLIENT" wrk -t2 -c"$CONNS" -d"$DURATION"s "http://$VIP4/" >"$LAB_DIR/wrk-perf-$name.txt" 2>&1 &
	wp=$!
	sleep 1
	perf record -o "$LAB_DIR/perf.data" -e cpu-clock -F 999 -a -g -- sleep $((DURATION - 2)) >/dev/null 2>&1 || true
	wait "$wp" || true
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$LAB_DIR/wrk-perf-$name.txt")
	echo "${rps:-0}" >"$LAB_DIR/perf-rps-$name.txt"
	perf report -i "$LAB_DIR/perf.data" --stdio --sort sym --no-children -g none 2>/dev/null |
		awk '/^ +[0-9.]+%/' >"$LAB_DIR/perf-allsym-$name.txt" || true
	[ "$name" = limpet ] || return 0
	perf report -i "$LAB_DIR/perf.data" --stdio --sort comm --no-children -g none >"$LAB_DIR/perf-comm.txt" 2>/dev/null || true
	perf report -i "$LAB_DIR/perf.data" --stdio --comm limpet,rte-worker-1 --sort comm,dso,sym \
		--no-children -g none >"$LAB_DIR/perf-sym.txt" 2>/dev/null || true
	perf report -i "$LAB_DIR/perf.data" --stdio --comm rte-worker-1 --sort dso --no-children -g none \
		>"$LAB_DIR/perf-dso.txt" 2>/dev/null || true
	echo "# perf (cpu-clock, all CPUs): samples by command"
	awk '/^ +[0-9.]+%/ { print "#   " $0 }' "$LAB_DIR/perf-comm.txt" | sed -n 1,12p
	echo "# perf: the worker thread's samples by object (user space: limpet, the PMD; kernel: af_packet TX and what it runs)"
	awk '/^ +[0-9.]+%/ { print "#   " $0 }' "$LAB_DIR/perf-dso.txt" | sed -n 1,8p
	echo "# perf: limpet's threads, by function"
	awk '/^ +[0-9.]+%/ { print "#   " $0 }' "$LAB_DIR/perf-sym.txt" | sed -n 1,25p
	echo "# perf: limpet's threads, user space by function"
	awk '/^ +[0-9.]+%/ && !/\[k\]/ { print "#   " $0 }' "$LAB_DIR/perf-sym.txt" | sed -n 1,15p
}

# profile_diff: CPU time per request, all CPUs, by function (idle included:
# a CPU with nothing to run is throughput lost), limpet's run against
# nftables' run, both under perf: the functions that cost limpet more per
# request, and those that cost nftables more.
profile_diff() {
	[ -s "$LAB_DIR/perf-allsym-limpet.txt" ] && [ -s "$LAB_DIR/perf-allsym-nft.txt" ] || return 0
	awk -v rl="$(cat "$LAB_DIR/perf-rps-limpet.txt")" -v rn="$(cat "$LAB_DIR/perf-rps-nft.txt")" -v cpus="$(nproc)" '
		FNR == 1 { f++ }
		{ pct = $1; sub(/%/, "", pct); sym = $3; for (i = 4; i <= NF; i++) sym = sym " " $i
		  if (f == 1) l[sym] += pct; else n[sym] += pct; all[sym] = 1 }
		END {
			if (rl == 0 || rn == 0) exit
			# a sample share of the whole run is that share of cpus x seconds;
			# per request: share x cpus / (requests per second), in us
			for (s in all) { a = l[s] / 100 * cpus / rl * 1e6; b = n[s] / 100 * cpus / rn * 1e6
				ta += a; tb += b; printf "%+.3f %.3f %.3f %s\n", a - b, a, b, s }
			printf "TOTAL %.2f %.2f\n", ta, tb
		}' "$LAB_DIR/perf-allsym-limpet.txt" "$LAB_DIR/perf-allsym-nft.txt" >"$LAB_DIR/perf-diff.txt"
	[ -s "$LAB_DIR/perf-diff.txt" ] || return 0
	awk '$1 == "TOTAL" { printf "# perf: CPU per request, all CPUs: limpet %.2f us, nftables %.2f us (perf runs: limpet %s, nftables %s req/s)\n", $2, $3, rl, rn }' \
		rl="$(cat "$LAB_DIR/perf-rps-limpet.txt")" rn="$(cat "$LAB_DIR/perf-rps-nft.txt")" "$LAB_DIR/perf-diff.txt"
	echo "# perf: us per request, limpet minus nftables (limpet, nftables), the 20 largest"
	grep -v '^TOTAL' "$LAB_DIR/perf-diff.txt" | sort -g -r | sed -n 1,20p | sed 's/^/#   /'
	echo "# perf: the 12 that cost nftables most over limpet"
	grep -v '^TOTAL' "$LAB_DIR/perf-diff.txt" | sort -g | sed -n 1,12p | sed 's/^/#   /'
}

# LAB_RPS_ALT="BINARY...": more limpets in the same run (before/after a
# change): alt, alt2, alt3... LAB_RPS_ROUNDS=N: N rounds of limpet, the
# alternatives and nftables in turn (the machine's load moves; each round's
# ratio is side by side), then every round's ratio and their median.
ROUNDS=${LAB_RPS_ROUNDS:-1}
LAB_LIMPET_MAIN=$LAB_LIMPET
ALTS=()
NAMES=(limpet)
for bin in ${LAB_RPS_ALT:-}; do
	name=alt$((${#ALTS[@]} + 1))
	[ "$name" = alt1 ] && name=alt
	ALTS+=("$name")
	NAMES+=("$name")
	declare "BIN_$name=$bin"
done
declare "BIN_limpet=$LAB_LIMPET_MAIN"
declare -A RATIOS=()
for ((round = 1; round <= ROUNDS; round++)); do
	[ "$ROUNDS" -gt 1 ] && echo "# round $round of $ROUNDS, load average $(cut -d' ' -f1 /proc/loadavg)"
	for name in "${NAMES[@]}"; do
		eval "LAB_LIMPET=\$BIN_$name"
		perf=
		[ "$round" = 1 ] && [ "$name" = limpet ] && perf=${LAB_RPS_PERF-perf}
		limpet_phase "$name" "$perf"
	done
	LAB_LIMPET=$LAB_LIMPET_MAIN
	nft_up
	run_wrk nft
	if [ "$round" = 1 ] && [ -n "${LAB_RPS_DIFF:-}" ] && [ -s "$LAB_DIR/perf-allsym-limpet.txt" ]; then
		profile nft
		profile_diff
	fi
	nft_down
	for name in "${NAMES[@]}"; do
		eval "rps=\$RPS_$name"
		r=$(awk -v l="$rps" -v n="$RPS_nft" 'BEGIN { if (n > 0) printf "%.2f", l / n; else print 0 }')
		RATIOS[$name]="${RATIOS[$name]:-} $r"
		if [ "$name" = limpet ]; then echo "ratio $r limpet/nft"; else echo "ratio_$name $r $name/nft"; fi
	done
done
if [ "$ROUNDS" -gt 1 ]; then
	for name in "${NAMES[@]}"; do
		# shellcheck disable=SC2086
		printf '%s\n' ${RATIOS[$name]} | sort -n | awk -v n="$name" '{ r[NR] = $1; all = all " " $1 }
			END { printf "ratio_median_%s %.2f %s/nft (rounds:%s)\n", n, (NR % 2 ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2), n, all }'
	done
fi
