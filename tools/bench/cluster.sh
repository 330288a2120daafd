#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Replicated bindings (lib/cluster) against a real redis-server that this
# script starts in a temporary directory (unix socket, no persistence) and
# stops by its PID on exit. The benchmark runs two cluster members, A
# writing and B reading, in one thread: on a 2-CPU machine Redis gets one
# CPU and the benchmark the other, when nothing else runs (nothing is
# pinned: on a shared machine pinning hands a CPU's other load to Redis).
# Both run at nice -19 when root, so that builds sharing the machine do
# not preempt them for tens of milliseconds (run it under the heavy lock).
#
#   tools/bench/cluster.sh                     # everything (about a minute)
#   tools/bench/cluster.sh create lag steady move warm emit
#   CHANGES=1000000 RATE="100000 200000" WARM=1000000 tools/bench/cluster.sh
#   TRACE=1 tools/bench/cluster.sh lag         # the worst lag per 20,000 changes
#   REDIS_ARGS="--hz 100" tools/bench/cluster.sh lag   # more redis-server options
#
# Parts:
#   create  replication throughput, unpaced: new bindings on A, applied on B
#   lag     the same paced at RATE changes/s (one run per rate listed):
#           lag from the event on A to the binding in B's table. A cold
#           fill: Redis starts empty and doubles its keyspace's hash tables
#           as the bindings arrive (at 2^17, 2^18, 2^19 keys).
#   steady  the steady state at RATE changes/s: CHANGES bindings exist
#           first, then every third change moves one, clears one or binds
#           a new client, so Redis keeps CHANGES live bindings throughout
#   move    throughput of moves of existing bindings (last writer wins)
#   warm    a new member loads WARM live bindings (SCAN + MGET + PTTL)
#   emit    instructions per lp_cluster_emit() (callgrind; the workers' cost)
set -eu

BUILD=${BUILD:-build}
CHANGES=${CHANGES:-1000000}
RATE=${RATE:-200000}
WARM=${WARM:-1000000}
TRACE=${TRACE:+--trace}
parts=${*:-create lag steady move warm emit}
bench="$BUILD/tools/bench/bench_cluster"
here=$(dirname "$0")
. "$here/env.sh"

if [ ! -x "$bench" ]; then
	echo "cluster.sh: $bench not built (meson setup $BUILD && ninja -C $BUILD)" >&2
	exit 1
fi
for tool in redis-server redis-cli; do
	command -v $tool >/dev/null 2>&1 || { echo "cluster.sh: $tool not installed (tools/deps.sh)" >&2; exit 1; }
done
bench_machine
echo "# $(redis-server --version | cut -d' ' -f1-3)"

NICE=
[ "$(id -u)" -ne 0 ] || NICE="nice -n -19"
dir=$(mktemp -d /tmp/lp-bench-redis-XXXXXX)
sock="$dir/redis.sock"
$NICE redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --save '' --appendonly no \
	--dir "$dir" --logfile "$dir/redis.log" --daemonize no ${REDIS_ARGS:-} &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
i=0
until redis-cli -s "$sock" ping >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -lt 100 ] || { echo "cluster.sh: redis-server did not start" >&2; cat "$dir/redis.log" >&2; exit 1; }
	sleep 0.05
done

# Redis's CPU time so far, microseconds (INFO cpu).
redis_cpu() {
	redis-cli -s "$sock" info cpu | tr -d '\r' |
		awk -F: '$1 == "used_cpu_user" || $1 == "used_cpu_sys" { s += $2 } END { printf "%.0f", s * 1e6 }'
}

# run ARGS...: one bench_cluster run on an empty Redis; its changes (--changes)
# also give Redis's CPU per change.
run() {
	local before after n
	redis-cli -s "$sock" flushall >/dev/null
	before=$(redis_cpu)
	$NICE "$bench" --redis "$sock" "$@" | tee "$dir/out"
	after=$(redis_cpu)
	n=$(sed -n 's/^# [a-z_]*: \([0-9]*\) changes, .*B received [0-9]* applied \([0-9]*\).*/\2/p' "$dir/out" | head -1)
	[ -z "$n" ] || [ "$n" -eq 0 ] ||
		awk -v c=$((after - before)) -v n="$n" 'BEGIN { printf "cluster_redis_cpu %.2f us/change (setup included)\n", c / n }'
	# Where Redis's time went, per command (calls, microseconds per call).
	redis-cli -s "$sock" info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_\([a-z]*\):calls=\([0-9]*\),usec=\([0-9]*\),usec_per_call=\([0-9.]*\).*/# redis \1: \2 calls, \3 us, \4 us\/call/p'
	redis-cli -s "$sock" config resetstat >/dev/null
}

for p in $parts; do
	case $p in
	create) run --changes "$CHANGES" ;;
	lag) for r in $RATE; do run --changes "$CHANGES" --rate "$r" $TRACE; done ;;
	move) run --changes "$CHANGES" --mode move ;;
	steady) for r in $RATE; do run --changes "$CHANGES" --rate "$r" --mode mix $TRACE; done ;;
	warm)
		run --changes 1 --warm "$WARM"
		echo "# redis: $(redis-cli -s "$sock" info memory | grep '^used_memory_human' | tr -d '\r') for $WARM bindings"
		;;
	emit)
		if ! command -v valgrind >/dev/null 2>&1; then
			echo "cluster.sh: valgrind not installed, skipping emit" >&2
			continue
		fi
		n=100000
		for b in 1 32; do
			out="$dir/cg.out.$b"
			valgrind --tool=callgrind --toggle-collect=bench_emit_loop --callgrind-out-file="$out" \
				"$bench" --emit $n --burst $b >/dev/null 2>"$dir/valgrind.txt"
			total=$(sed -n 's/^totals: //p' "$out")
			awk -v t="$total" -v n=$n -v b=$b \
				'BEGIN { printf "cluster_emit_burst%d %.1f instructions/event\n", b, t / n }'
		done
		;;
	*)
		echo "cluster.sh: unknown part '$p' (create lag steady move warm emit)" >&2
		exit 2
		;;
	esac
done
