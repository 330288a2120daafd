# SPDX-License-Identifier: BSD-3-Clause
#
# Sourced by the benchmark scripts: hugepages and the machine's description.
#
#   . tools/bench/env.sh
#   bench_memory MB      # sets EAL_MEM for MB of DPDK memory per process
#
# With root, bench_memory raises vm.nr_hugepages (2 MiB pages) to what is
# asked and mounts hugetlbfs on /dev/hugepages when nothing is mounted; EAL
# then gets --in-memory (no files left behind). Without enough hugepages it
# falls back to --no-huge --no-shconf -m MB and says so: figures are then
# several times slower (4 KiB pages: TLB misses on every table access).

BUILD=${BUILD:-build}

bench_memory() {
	mb=$1
	pages=$(((mb + 1) / 2))
	if [ "$(id -u)" -eq 0 ]; then
		cur=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
		if [ "$cur" -lt "$pages" ]; then
			sysctl -q -w vm.nr_hugepages="$pages" >/dev/null 2>&1 || true
		fi
		if ! grep -qs ' hugetlbfs ' /proc/mounts; then
			mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages >/dev/null 2>&1 || true
		fi
	fi
	free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo 2>/dev/null)
	if grep -qs ' hugetlbfs ' /proc/mounts && [ "${free:-0}" -ge "$pages" ]; then
		EAL_MEM="--in-memory"
		echo "# memory: hugepages, ${free} free 2 MiB pages (EAL --in-memory)"
	else
		EAL_MEM="--no-huge --no-shconf -m $mb"
		echo "# memory: NO hugepages (${free:-0} free 2 MiB pages, $pages wanted): falling back to" \
			"--no-huge, expect figures several times slower"
	fi
}

bench_machine() {
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mhz=$(awk -F': ' '/^cpu MHz/ { printf "%.0f", $2; exit }' /proc/cpuinfo)
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "# machine: ${cpu:-unknown CPU}, $(nproc) CPUs, ${mhz:-?} MHz, load average $load"
	if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
		echo "# warning: the machine is busy (load $load on $(nproc) CPUs): cycle figures will be noisy"
	fi
}
