#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# limpet and dpdk-testpmd --forward-mode=macswap side by side, on the same
# generator (limpet-gen) over the same net_memif link, alternating runs.
#
#   tools/bench/sidebyside.sh            # 3 rounds of 5 s, 1M established flows
#   ROUNDS=5 SECONDS_PER_RUN=10 CLIENTS=1000 FLOWS=100 GEN_BURST=32 tools/bench/sidebyside.sh
#
# Each round starts the forwarder first (the memif server: limpet, then
# testpmd), then limpet-gen as the memif client. limpet-gen plays the est
# scenario: a handshake for every flow (not measured), then data packets
# round robin over CLIENTS x FLOWS flows as fast as it can for
# SECONDS_PER_RUN, and reports what came back.
#
# Cores, honestly: the generator runs on CPU 0 and the forwarder's packet
# lcore on CPU 1. The forwarder's main lcore (limpet's control thread,
# testpmd's console) shares CPU 0 with the generator; both mostly sleep.
# One generator core both builds/transmits and receives/checks, so when
# the forwarder is faster than the generator, both figures are the
# generator's limit and their ratio approaches 1: read the ratio with the
# absolute rates next to it. On a shared machine other processes take
# CPU time from both; each run line says how much of a CPU the forwarder
# had (busy polling: 100% when nothing else ran on its CPU; its main
# lcore sleeps).
#
# Output: per-run lines, then the medians:
#   sidebyside_limpet_mpps N Mpps
#   sidebyside_testpmd_mpps N Mpps
#   sidebyside_ratio N limpet/testpmd
set -eu

here=$(dirname "$0")
. "$here/env.sh"
ROUNDS=${ROUNDS:-3}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-5}
CLIENTS=${CLIENTS:-1000}
FLOWS=${FLOWS:-1000}
SIZE=${SIZE:-64}
GEN_BURST=${GEN_BURST:-64}
limpet="$BUILD/app/limpet"
gen="$BUILD/tools/gen/limpet-gen"
testpmd=${TESTPMD:-$(command -v dpdk-testpmd || true)}

for b in "$limpet" "$gen"; do
	[ -x "$b" ] || { echo "sidebyside.sh: $b not built" >&2; exit 1; }
done
[ -n "$testpmd" ] || { echo "sidebyside.sh: dpdk-testpmd not found (set TESTPMD)" >&2; exit 1; }

bench_machine
# limpet: its flow table (1M flows ~ 150 MiB) and mbufs; the others less.
bench_memory 1536
dir=$(mktemp -d)
fwd_pid=
cleanup() {
	[ -z "$fwd_pid" ] || kill -INT "$fwd_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM
sock="$dir/memif.sock"
cat >"$dir/limpet.yaml" <<YAML
ports:
  - { name: wan, device: net_memif0, address: 10.0.0.1/24 }
neighbors:
  - { address: 10.0.0.11, mac: "02:00:00:00:01:0b", port: wan }
  - { address: 10.0.0.12, mac: "02:00:00:00:01:0c", port: wan }
  - { address: 10.0.0.13, mac: "02:00:00:00:01:0d", port: wan }
  - { address: 10.0.0.14, mac: "02:00:00:00:01:0e", port: wan }
flows: { capacity: $((CLIENTS * FLOWS * 2 + 65536)) }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    backends: [ { address: 10.0.0.11 }, { address: 10.0.0.12 }, { address: 10.0.0.13 }, { address: 10.0.0.14 } ]
YAML

wait_socket() {
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ -S "$sock" ] || { echo "sidebyside.sh: the memif server did not start, see $1" >&2; cat "$1" >&2; exit 1; }
}

stop_forwarder() {
	kill -INT "$fwd_pid" 2>/dev/null || true
	wait "$fwd_pid" 2>/dev/null || true
	fwd_pid=
	rm -f "$sock"
}

# run_gen NAME: limpet-gen against whichever server listens; prints Mpps.
run_gen() {
	# shellcheck disable=SC2086
	"$gen" --lcores 0@0 --no-pci $EAL_MEM --file-prefix lpgen --log-level lib.eal:warning \
		--vdev "net_memif0,role=client,socket=$sock,socket-abstract=no" -- --scenario est --clients "$CLIENTS" \
		--flows "$FLOWS" --duration "$SECONDS_PER_RUN" --size "$SIZE" --burst "$GEN_BURST" $2 >"$dir/gen_$1.txt" 2>&1 ||
		{ echo "sidebyside.sh: limpet-gen failed against $1:" >&2; cat "$dir/gen_$1.txt" >&2; exit 1; }
	awk '$1 == "gen_rx_mpps" { print $2 }' "$dir/gen_$1.txt"
}

# CPU seconds (user + system) the forwarder has used so far.
cpu_secs() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$fwd_pid/stat"
}

now_secs() {
	date +%s.%N
}

# measure NAME ARGS: run the generator, print its rate and the share of a
# CPU the forwarder got meanwhile (other processes on a shared machine
# take the rest).
measure() {
	c0=$(cpu_secs)
	t0=$(now_secs)
	mpps=$(run_gen "$1" "$2")
	c1=$(cpu_secs)
	t1=$(now_secs)
	share=$(awk -v c="$c1" -v d="$c0" -v t="$t1" -v u="$t0" 'BEGIN { printf "%.0f", 100 * (c - d) / (t - u) }')
}

figure() {
	awk -v n="$1" '$1 == n { print $2 }' "$dir/gen_$2.txt"
}

limpet_runs=
testpmd_runs=
r=1
while [ $r -le "$ROUNDS" ]; do
	# shellcheck disable=SC2086
	"$limpet" --lcores 0@0,1@1 --no-pci $EAL_MEM --file-prefix lpfwd --log-level lib.eal:warning \
		--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no" -- --config "$dir/limpet.yaml" \
		>"$dir/limpet.txt" 2>&1 &
	fwd_pid=$!
	wait_socket "$dir/limpet.txt"
	measure limpet "--expect-dst 10.0.0.0/24 --expect-dport 8080 --expect-ttl 63"
	stop_forwarder
	echo "sidebyside_round${r}_limpet $mpps Mpps (loss $(figure gen_loss_pct limpet) %," \
		"p50 $(figure gen_lat_p50_us limpet) us, bad rewrites $(figure gen_check_bad limpet)," \
		"forwarder CPU ${share}%)"
	limpet_runs="$limpet_runs $mpps"

	# shellcheck disable=SC2086
	"$testpmd" --lcores 0@0,1@1 --no-pci $EAL_MEM --file-prefix lptpmd --log-level lib.eal:warning \
		--vdev "net_memif0,role=server,socket=$sock,socket-abstract=no" -- --forward-mode=macswap --port-topology=loop \
		--nb-cores=1 --stats-period 3600 --auto-start >"$dir/testpmd.txt" 2>&1 &
	fwd_pid=$!
	wait_socket "$dir/testpmd.txt"
	measure testpmd ""
	stop_forwarder
	echo "sidebyside_round${r}_testpmd $mpps Mpps (loss $(figure gen_loss_pct testpmd) %," \
		"p50 $(figure gen_lat_p50_us testpmd) us, forwarder CPU ${share}%)"
	testpmd_runs="$testpmd_runs $mpps"
	r=$((r + 1))
done

median() {
	echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
lm=$(median $limpet_runs)
tm=$(median $testpmd_runs)
echo "sidebyside_limpet_mpps $lm Mpps"
echo "sidebyside_testpmd_mpps $tm Mpps"
awk -v l="$lm" -v t="$tm" 'BEGIN { printf "sidebyside_ratio %.2f limpet/testpmd\n", (t > 0 ? l / t : 0) }'
