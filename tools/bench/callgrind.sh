#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Instructions per packet of the worker's burst function for each data-path
# case, counted by callgrind (deterministic, unlike cycles on a shared VM).
#
#   tools/bench/callgrind.sh                 # sizes 1K and 1M, 32768 packets per case
#   SIZES=1K COUNT=8192 tools/bench/callgrind.sh
#   ANNOTATE=est tools/bench/callgrind.sh    # also the inclusive profile of a case
#   KEEP=/tmp/cg tools/bench/callgrind.sh    # keep the callgrind.out files there
#   CLUSTER=1 tools/bench/callgrind.sh       # with `cluster:` (the workers' binding events)
#
# bench_worker --count N runs each case once on N prepared packets; only
# bench_burst_loop (lp_worker_rx + lp_worker_flush per burst of 32) is
# collected, and bench_worker dumps the counts after each case, so each
# dump's total divided by N is that case's instructions per packet (per
# connection for "conn": SYN + ACK + FIN). Valgrind needs EAL without
# hugepages (--no-huge).
#
# Output: one "name value unit" line per figure.
set -eu

BUILD=${BUILD:-build}
SIZES=${SIZES:-1K,1M}
COUNT=${COUNT:-32768}
bench="$BUILD/tools/bench/bench_worker"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind.sh: valgrind is not installed" >&2
	exit 1
fi
if [ ! -x "$bench" ]; then
	echo "callgrind.sh: $bench not built (meson setup $BUILD && ninja -C $BUILD)" >&2
	exit 1
fi
dir=${KEEP:-$(mktemp -d)}
mkdir -p "$dir"
rm -f "$dir"/cg.out*
[ -n "${KEEP:-}" ] || trap 'rm -rf "$dir"' EXIT

valgrind --tool=callgrind --toggle-collect=bench_burst_loop --callgrind-out-file="$dir/cg.out" \
	"$bench" -l 0-1 --no-pci --no-huge --no-shconf -m 4096 --log-level lib.eal:warning \
	-- --sizes "$SIZES" --count "$COUNT" ${CLUSTER:+--cluster} >"$dir/bench.txt" 2>"$dir/valgrind.txt" || {
	echo "callgrind.sh: bench_worker failed under valgrind, see below" >&2
	tail -20 "$dir/valgrind.txt" >&2
	exit 1
}
# Dumps are numbered in the order bench_worker ran the cases.
for f in $(ls "$dir"/cg.out.* | sort -t. -k3 -n); do
	name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
	total=$(sed -n 's/^totals: //p' "$f")
	n=$(awk -v k="${name}_packets" '$1 == k { print $2 }' "$dir/bench.txt")
	[ -n "$name" ] && [ -n "$n" ] || continue
	case "$name" in
	worker_conn_*) awk -v m="$name" -v t="$total" -v n="$n" \
		'BEGIN { printf "%s %.0f instructions/connection\n", m, t / (n / 3) }' ;;
	*) awk -v m="$name" -v t="$total" -v n="$n" \
		'BEGIN { printf "%s %.0f instructions/packet\n", m, t / n }' ;;
	esac
	case ",${ANNOTATE:-}," in
	*",$(echo "$name" | sed 's/^worker_//; s/_[^_]*$//'),"*)
		callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null |
			awk '/file:function/ { on = 1; next } on && NF' | sed -n '8,40p' ;;
	esac
done
