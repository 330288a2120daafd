#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Idle CPU of each limpet thread (the control thread `limpet`, the workers
# `rte-worker-N`, the rest) with no traffic, from /proc/PID/task/TID/stat
# over IDLE_SECONDS, for one or more limpet binaries taken in turn ROUNDS
# times (A B A B ...), so that a change of the machine's load falls on both.
# limpet runs in a network namespace of its own (LAB_PREFIX honoured) with a
# memif port nobody connects to, a kernel interface (net_tap), a service
# whose two backends are health-checked (tcp, every second), the control
# socket and the metrics endpoint: what the control loop polls in a
# production setup, minus the traffic. A benchmark, not a test.
#
#   tools/bench/idle_cpu.sh [LIMPET...]              (root; default build/app/limpet)
#   IDLE_SECONDS=20 ROUNDS=3 SLEEP_US=500 tools/bench/idle_cpu.sh old/limpet build/app/limpet
#
# Output: "name value unit" lines, one per binary, round and thread:
#   idle_cpu_b1_r1_limpet 1.2 % of a core
#   idle_cpu_b1_r1_rte-worker-1 3.9 % of a core
# then the mean per binary and thread over the rounds.
set -euo pipefail

here=$(dirname "$0")
# shellcheck source=tools/bench/env.sh
. "$here/env.sh"
IDLE_SECONDS=${IDLE_SECONDS:-20}
ROUNDS=${ROUNDS:-2}
SLEEP_US=${SLEEP_US:-500}
POLL=${POLL:-adaptive}
ns="${LAB_PREFIX:-}idlecpu"
[ $# -gt 0 ] || set -- "$BUILD/app/limpet"
for b in "$@"; do
	[ -x "$b" ] || { echo "idle_cpu.sh: $b is not an executable" >&2; exit 1; }
done
bench_machine
bench_memory 1024
dir=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
HZ=$(getconf CLK_TCK)

cat >"$dir/limpet.yaml" <<YAML
ports:
  - { name: wan, device: net_memif0, address: 10.0.0.1/24, kernelInterface: lpidle-wan }
neighbors:
  - { address: 10.0.0.11, mac: "02:00:00:00:01:0b", port: wan }
  - { address: 10.0.0.12, mac: "02:00:00:00:01:0c", port: wan }
workers: { poll: $POLL, idleSleepMicroseconds: $SLEEP_US }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    healthCheck: { type: tcp, interval: 1, timeout: 0.5, rise: 1, fall: 3 }
    backends: [ { address: 10.0.0.11 }, { address: 10.0.0.12 } ]
YAML

# thread_ticks: "comm ticks" per thread of $pid (utime + stime).
thread_ticks() {
	for t in /proc/"$pid"/task/*; do
		awk -v c="$(cat "$t/comm")" '{ print c, $14 + $15 }' "$t/stat" 2>/dev/null || true
	done | awk '{ s[$1] += $2 } END { for (c in s) print c, s[c] }'
}

for ((r = 1; r <= ROUNDS; r++)); do
	i=0
	for b in "$@"; do
		i=$((i + 1))
		rm -f "$dir/memif.sock" "$dir/ctl.sock"
		# shellcheck disable=SC2086
		ip netns exec "$ns" "$b" --lcores 0@0,1@1 --no-pci $EAL_MEM --file-prefix "${ns}" \
			--log-level lib.eal:warning \
			--vdev "net_memif0,role=server,socket=$dir/memif.sock,socket-abstract=no" -- \
			--config "$dir/limpet.yaml" --ctl-socket "$dir/ctl.sock" --metrics 127.0.0.1:9999 \
			>"$dir/limpet.txt" 2>&1 &
		pid=$!
		n=0
		while [ ! -S "$dir/ctl.sock" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
		[ -S "$dir/ctl.sock" ] || { echo "idle_cpu.sh: $b did not start" >&2; cat "$dir/limpet.txt" >&2; exit 1; }
		sleep 2
		declare -A t0=() t1=()
		while read -r c v; do t0[$c]=$v; done < <(thread_ticks)
		sleep "$IDLE_SECONDS"
		while read -r c v; do t1[$c]=$v; done < <(thread_ticks)
		for c in "${!t1[@]}"; do
			awk -v n="idle_cpu_b${i}_r${r}_$c" -v d=$((t1[$c] - ${t0[$c]:-0})) -v hz="$HZ" -v s="$IDLE_SECONDS" \
				'BEGIN { printf "%s %.2f %% of a core\n", n, 100 * d / hz / s }'
		done | sort | tee -a "$dir/all.txt"
		unset t0 t1
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		pid=
	done
done
i=0
for b in "$@"; do
	i=$((i + 1))
	echo "# binary b$i: $b (mean of $ROUNDS rounds of ${IDLE_SECONDS} s)"
	awk -v p="idle_cpu_b${i}_r" '
		index($1, p) == 1 { c = $1; sub(/^idle_cpu_b[0-9]+_r[0-9]+_/, "", c); s[c] += $2; n[c]++ }
		END { for (c in s) printf "idle_cpu_b'"$i"'_%s %.2f %% of a core\n", c, s[c] / n[c] }' "$dir/all.txt" | sort
done
