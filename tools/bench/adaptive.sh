#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Adaptive polling (workers.poll) against busy polling, in one run, with the
# same binary and configuration but for the `workers:` line:
#   - idle CPU of the worker thread, from /proc/PID/task/TID/stat over
#     IDLE_SECONDS with no traffic (goal: at most 5 % of a core);
#   - p50/p99 latency limpet-gen measures at RATES packets/s (one frame in
#     one timed: --check-every 1), over net_memif (limpet-gen on CPU 0,
#     limpet's worker on CPU 1): the difference is what adaptive polling adds;
#   - throughput at full speed (--rate 0).
# A benchmark, not a test.
#
#   tools/bench/adaptive.sh                         # busy and adaptive 500 us
#   SLEEP_US=200 RATES="1000 100000" SECONDS_PER_RUN=5 tools/bench/adaptive.sh
#
# Output: "name value unit" lines, e.g.
#   adaptive_idle_cpu_worker 2.9 % of a core
#   adaptive_lat_1000pps_p50 32 us ... busy_lat_1000pps_p50 9 us
set -eu

here=$(dirname "$0")
. "$here/env.sh"
SLEEP_US=${SLEEP_US:-500}
RATES=${RATES:-1000 100000}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
IDLE_SECONDS=${IDLE_SECONDS:-5}
limpet="$BUILD/app/limpet"
gen="$BUILD/tools/gen/limpet-gen"
for b in "$limpet" "$gen"; do
	[ -x "$b" ] || { echo "adaptive.sh: $b not built" >&2; exit 1; }
done
bench_machine
bench_memory 1024
dir=$(mktemp -d)
fwd_pid=
cleanup() {
	[ -z "$fwd_pid" ] || kill -INT "$fwd_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
sock="$dir/memif.sock"
HZ=$(getconf CLK_TCK)

config() {
	cat <<YAML
ports:
  - { name: wan, device: net_memif0, address: 10.0.0.1/24 }
neighbors:
  - { address: 10.0.0.11, mac: "02:00:00:00:01:0b", port: wan }
  - { address: 10.0.0.12, mac: "02:00:00:00:01:0c", port: wan }
flows: { capacity: 262144 }
workers: { poll: $1, idleSleepMicroseconds: $SLEEP_US }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    backends: [ { address: 10.0.0.11 }, { address: 10.0.0.12 } ]
YAML
}

start() {
	config "$1" >"$dir/limpet-$1.yaml"
	# shellcheck disable=SC2086
	"$limpet" --lcores 0@0,1@1 --no-pci $EAL_MEM --file-prefix lpadapt --log-level lib.eal:warning \
		--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no" -- --config "$dir/limpet-$1.yaml" \
		>"$dir/limpet-$1.txt" 2>&1 &
	fwd_pid=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
	[ -S "$sock" ] || { echo "adaptive.sh: limpet did not start" >&2; cat "$dir/limpet-$1.txt" >&2; exit 1; }
	sleep 1
}

stop() {
	kill -INT "$fwd_pid" 2>/dev/null || true
	wait "$fwd_pid" 2>/dev/null || true
	fwd_pid=
	rm -f "$sock"
}

# Ticks of the worker thread (EAL names it rte-worker-1).
worker_ticks() {
	for t in /proc/"$fwd_pid"/task/*; do
		case $(cat "$t/comm") in rte-worker-*) awk '{ print $14 + $15 }' "$t/stat" ;; esac
	done | awk '{ s += $1 } END { print s + 0 }'
}

gen_run() {	# gen_run NAME RATE
	# shellcheck disable=SC2086
	"$gen" --lcores 0@0 --no-pci $EAL_MEM --file-prefix lpagen --log-level lib.eal:warning \
		--vdev "net_memif0,role=client,socket=$sock,socket-abstract=no" -- --scenario est --clients 100 \
		--flows 10 --duration "$SECONDS_PER_RUN" --rate "$2" --check-every 1 \
		--expect-dst 10.0.0.0/24 --expect-dport 8080 >"$dir/gen_$1.txt" 2>&1 ||
		{ echo "adaptive.sh: limpet-gen failed ($1):" >&2; cat "$dir/gen_$1.txt" >&2; exit 1; }
}

fig() { awk -v n="$1" '$1 == n { print $2 }' "$dir/gen_$2.txt"; }

for mode in busy adaptive; do
	start "$mode"
	t0=$(worker_ticks)
	sleep "$IDLE_SECONDS"
	t1=$(worker_ticks)
	awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v s="$IDLE_SECONDS" -v m="$mode" \
		'BEGIN { printf "%s_idle_cpu_worker %.1f %% of a core (%d s, no traffic)\n", m, 100 * (b - a) / hz / s, s }'
	for rate in $RATES 0; do
		gen_run "$mode-$rate" "$rate"
		if [ "$rate" = 0 ]; then
			echo "${mode}_max_mpps $(fig gen_rx_mpps "$mode-$rate") Mpps (loss $(fig gen_loss_pct "$mode-$rate") %)"
		else
			echo "${mode}_lat_${rate}pps_p50 $(fig gen_lat_p50_us "$mode-$rate") us"
			echo "${mode}_lat_${rate}pps_p99 $(fig gen_lat_p99_us "$mode-$rate") us (loss $(fig gen_loss_pct "$mode-$rate") %, bad $(fig gen_check_bad "$mode-$rate"))"
		fi
	done
	stop
done
