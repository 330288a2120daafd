#!/bin/sh
# SPDX-License-Identifier: BSD-3-Clause
#
# Every benchmark, one "name value unit" line per figure ("#" lines say
# how they were taken). Build first: meson setup build && ninja -C build.
#
#   tools/bench/run.sh                  # all of them (about five minutes)
#   tools/bench/run.sh worker maglev    # some: worker mem maglev ctl callgrind sidebyside scrape
#
# Figures in TSC cycles are medians of several runs; on a shared or busy
# machine they move by tens of percent from one run to the next (env.sh
# prints the load average): instructions/packet (callgrind) do not.
set -eu

here=$(dirname "$0")
. "$here/env.sh"
bench="$BUILD/tools/bench"
parts=${*:-worker mem maglev ctl callgrind sidebyside scrape}

bench_machine
# 10M flows: ~1 GiB of table, plus the new-flow cases' room and mbufs.
bench_memory 3072
for p in $parts; do
	case $p in
	worker)
		echo "# bench_worker: cycles per packet of lp_worker_rx (net_null ports, burst 32)"
		# shellcheck disable=SC2086
		"$bench/bench_worker" -l 0-1 --no-pci $EAL_MEM --log-level lib.eal:warning \
			-- --sizes "${SIZES:-1K,1M,10M}" --runs "${RUNS:-5}" 2>&1 | grep -v '^EAL\|^TELEMETRY'
		;;
	mem)
		echo "# bench_worker --mem-flows: memory of a 10M-flow table"
		# shellcheck disable=SC2086
		"$bench/bench_worker" -l 0-1 --no-pci $EAL_MEM --log-level lib.eal:warning \
			-- --mem-flows 10M 2>&1 | grep -v '^EAL\|^TELEMETRY'
		;;
	maglev)
		echo "# bench_maglev: Maglev table builds"
		"$bench/bench_maglev" | grep -v '^#'
		;;
	ctl)
		echo "# bench_ctl: weight change under load, visible to the worker"
		# shellcheck disable=SC2086
		"$bench/bench_ctl" --lcores 0@0,1@1 --no-pci $EAL_MEM --log-level lib.eal:warning \
			-- --changes "${CHANGES:-200}" 2>&1 | grep -v '^EAL\|^TELEMETRY'
		;;
	callgrind)
		echo "# callgrind.sh: instructions per packet (--no-huge under valgrind)"
		"$here/callgrind.sh"
		;;
	sidebyside)
		echo "# sidebyside.sh: limpet vs testpmd macswap, limpet-gen over net_memif"
		"$here/sidebyside.sh" | grep -v '^# machine\|^# warning'
		;;
	scrape)
		echo "# scrape_cli.sh: limpetctl latency while 8192 backends are scraped"
		"$here/scrape_cli.sh" | grep -v '^# machine\|^# warning'
		;;
	*)
		echo "run.sh: unknown part '$p' (worker mem maglev ctl callgrind sidebyside scrape)" >&2
		exit 2
		;;
	esac
done
