#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The kernel exception path candidates, side by side in one run (a
# benchmark, not a test): net_tap and virtio_user on /dev/vhost-net, each
# in a network namespace of its own, measured by bench_exception (idle
# poll cost, throughput both ways, round-trip latency). A candidate this
# machine cannot create is reported as such, with the reason.
#
#   tools/bench/exception_path.sh [SECONDS]      (root; LAB_PREFIX honoured)
set -euo pipefail
cd "$(dirname "$0")/../.."
. tools/bench/env.sh
SECONDS_EACH=${1:-2}
BENCH=$BUILD/tools/bench/bench_exception
NS=${LAB_PREFIX:-lp-}exc
[ -x "$BENCH" ] || { echo "build first: ninja -C $BUILD" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }
trap 'ip netns del "$NS" 2>/dev/null || true' EXIT

bench_machine 2>/dev/null || true
echo "# kernel $(uname -r); /dev/vhost-net: $([ -e /dev/vhost-net ] && echo present || echo absent)"

run() {	# run NAME VDEV IFACE
	local name=$1 vdev=$2 iface=$3
	echo "## $name ($vdev)"
	ip netns add "$NS"
	ip netns exec "$NS" ip link set lo up
	if ! ip netns exec "$NS" timeout 120 "$BENCH" -l 0 --no-pci --no-huge --no-shconf -m 512 \
		--log-level=pmd.net.tap:error --log-level=pmd.net.virtio.*:error \
		--file-prefix "exc$$" --vdev "$vdev" -- --iface "$iface" --seconds "$SECONDS_EACH" \
		>"/tmp/exc-$name.$$" 2>&1; then
		echo "$name: unavailable here:"
		case $vdev in virtio_user*) [ -e /dev/vhost-net ] ||
			echo "  /dev/vhost-net is absent (kernel without CONFIG_VHOST_NET, or module vhost_net not loaded)" ;;
		esac
		grep -iE 'error|fail|cannot|vhost' "/tmp/exc-$name.$$" | head -5 | sed 's/^/  /'
	else
		grep -vE '^(EAL|TELEMETRY|tap_|eth_dev_tap|qdisc|virtio)' "/tmp/exc-$name.$$" | sed "s/^\([a-z_0-9]* \)/$name.\1/"
	fi
	rm -f "/tmp/exc-$name.$$"
	ip netns del "$NS"
}

run tap "net_tap0,iface=lpx0,mac=02:00:00:00:99:01" lpx0
run virtio "virtio_user0,path=/dev/vhost-net,iface=lpv0,mac=02:00:00:00:99:01,queues=1,queue_size=1024" lpv0
