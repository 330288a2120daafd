#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# How responsive the control thread stays during the largest reload limpet
# accepts: 1024 services, 8192 backends, every Maglev table of the largest
# size (maglevSize 655373), and every table rebuilt by the reload.
#
#   tools/bench/reload_latency.sh                 # build/app/limpet
#   LIMPET=/path/to/limpet LIMPETCTL=... tools/bench/reload_latency.sh
#
# limpet runs in a network namespace with one af_packet port; a client
# namespace is on the other end of the veth pair. While `limpetctl reload`
# runs:
#  - a client on the control socket sends `show services` in a loop and
#    times each reply (the figure: p50, p99, max);
#  - the client namespace pings a VIP every 200 ms, its ARP cache flushed
#    first, so each ping needs limpet's slow path to answer ARP for the VIP
#    and the echo itself;
# then a second reload is started and SIGTERM sent 2 s into it: the time
# limpet takes to exit.
#
# Output: one "name value unit" line per figure, "#" lines say how. Needs
# root (namespaces), python3, ip, ping. Namespaces are named
# "${LAB_PREFIX:-lp-}rl-lb" and "...rl-cl" and are removed on exit.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
LIMPET=${LIMPET:-$root/build/app/limpet}
LIMPETCTL=${LIMPETCTL:-$root/build/tools/limpetctl}
PREFIX=${LAB_PREFIX:-lp-}
NS_LB=${PREFIX}rl-lb
NS_CL=${PREFIX}rl-cl
SERVICES=${SERVICES:-1024}
BACKENDS=${BACKENDS:-8}		# per service: 8192 in all, the most limpet takes
MAGLEV=${MAGLEV:-655373}
dir=$(mktemp -d /tmp/limpet-rl.XXXXXX)
pid=
jobs_pids=()

cleanup() {
	for p in "${jobs_pids[@]}" $pid; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${jobs_pids[@]}" $pid; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$NS_LB" 2>/dev/null || true
	ip netns del "$NS_CL" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || { echo "reload_latency: needs root (network namespaces)" >&2; exit 1; }
[ -x "$LIMPET" ] && [ -x "$LIMPETCTL" ] || { echo "reload_latency: build first ($LIMPET, $LIMPETCTL)" >&2; exit 1; }

# ---- configs: A, and B where every service's table changes ----
gen() {	# gen FILE VARIANT
	python3 - "$1" "$2" "$SERVICES" "$BACKENDS" "$MAGLEV" <<'EOF'
import sys
path, variant, n, nb, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with open(path, "w") as f:
    f.write("ports:\n  - { name: wan, device: net_af_packet0, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n")
    f.write("neighbors:\n  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n")
    f.write("flows: { capacity: 65536 }\naffinity: { capacity: 65536 }\nservices:\n")
    for i in range(n):
        bes = []
        for k in range(nb):
            a = i * nb + k
            host = 200 if (variant == "B" and k == 0) else k + 1   # B: the first backend is another one
            w = 2 if (variant == "B" and k == 1) else 1           # and the second weighs more
            bes.append(f"{{ address: 10.{9 + a // 65536}.{(a // 256) % 256}.{host}, port: {8000 + i % 1000}, weight: {w} }}")
        f.write(f"  - {{ name: s{i:04d}, vip: 10.0.0.100, port: {1000 + i}, maglevSize: {m},\n")
        f.write(f"      backends: [ {', '.join(bes)} ] }}\n")
EOF
}
gen "$dir/a.yaml" A
gen "$dir/b.yaml" B
"$LIMPET" --check-config "$dir/a.yaml" >/dev/null
"$LIMPET" --check-config "$dir/b.yaml" >/dev/null

# ---- the namespaces ----
ip netns add "$NS_LB"
ip netns add "$NS_CL"
ip link add wan netns "$NS_LB" type veth peer name cl0 netns "$NS_CL"
for x in "$NS_LB wan" "$NS_CL cl0"; do
	set -- $x
	ip netns exec "$1" ethtool -K "$2" tx off rx off sg off tso off gso off gro off >/dev/null 2>&1 || true
	ip netns exec "$1" ip link set "$2" up
	ip netns exec "$1" ip link set lo up
done
ip netns exec "$NS_LB" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
ip netns exec "$NS_CL" ip addr add 10.0.0.2/24 dev cl0

sock=$dir/limpet.sock
ms() { date +%s%3N; }

echo "# machine: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"
echo "# reload: $SERVICES services x $BACKENDS backends, maglevSize $MAGLEV; limpet $LIMPET"
t0=$(ms)
: >"$dir/limpet.log"
ip netns exec "$NS_LB" "$LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 --file-prefix "limpet-rl-$$" \
	--vdev net_af_packet0,iface=wan,qpairs=1 --log-level lib.eal:warning \
	-- --config "$dir/a.yaml" --ctl-socket "$sock" >"$dir/limpet.log" 2>&1 &
pid=$!
until grep -q "limpet: running" "$dir/limpet.log"; do
	kill -0 "$pid" 2>/dev/null || { cat "$dir/limpet.log" >&2; echo "limpet exited at start" >&2; exit 1; }
	sleep 0.2
done
echo "startup_s $(awk -v t=$(($(ms) - t0)) 'BEGIN { printf "%.1f", t / 1000 }') s"
until "$LIMPETCTL" -s "$sock" show services >/dev/null 2>&1; do sleep 0.2; done

# ---- show services in a loop, timed ----
python3 - "$sock" "$dir/lat" "$dir/stop" <<'EOF' &
import os, socket, sys, time
path, out, stop = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile("rb")
with open(out, "w") as o:
    while not os.path.exists(stop):
        t = time.monotonic()
        s.sendall(b"show services\n")
        lines = 0
        while True:
            line = f.readline()
            if not line:
                sys.exit("control socket closed")
            lines += 1
            if line in (b"OK\n", b"ERROR\n"):
                break
        now = time.monotonic()
        o.write(f"{time.time():.3f} {(now - t) * 1000:.2f} {lines}\n")
        o.flush()
        time.sleep(0.01)
EOF
jobs_pids+=($!)

# ---- ARP and echo for a VIP, every 200 ms ----
(
	while [ ! -e "$dir/stop" ]; do
		ip netns exec "$NS_CL" ip neigh flush dev cl0 >/dev/null 2>&1 || true
		if ip netns exec "$NS_CL" ping -n -c 1 -W 1 10.0.0.100 >/dev/null 2>&1; then
			echo "$(date +%s.%3N) ok"
		else
			echo "$(date +%s.%3N) lost"
		fi
		sleep 0.2
	done >"$dir/ping"
) &
jobs_pids+=($!)

sleep 2
r0=$(date +%s.%3N)
"$LIMPETCTL" -s "$sock" -t 600 reload "$dir/b.yaml" >"$dir/reload.out" 2>&1 || { cat "$dir/reload.out" >&2; exit 1; }
r1=$(date +%s.%3N)
sleep 1
touch "$dir/stop"
wait "${jobs_pids[@]}" 2>/dev/null || true
jobs_pids=()
grep -q "reloaded" "$dir/reload.out" || { cat "$dir/reload.out" >&2; exit 1; }

echo "reload_s $(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.1f", b - a }') s"
# Replies sent while the reload ran (sent after it started, sent before it ended).
awk -v r0="$r0" -v r1="$r1" '$1 >= r0 && $1 - $2 / 1000 <= r1 { print $2 }' "$dir/lat" | sort -n | awk '
	{ v[++n] = $1 }
	END {
		if (n == 0) { print "# no show services answered during the reload"; exit }
		p50 = int(n * 0.50); if (p50 < n * 0.50) p50++
		p99 = int(n * 0.99); if (p99 < n * 0.99) p99++
		printf "show_services_during_reload %d replies\n", n
		printf "show_services_p50_ms %.1f ms\n", v[p50]
		printf "show_services_p99_ms %.1f ms\n", v[p99]
		printf "show_services_max_ms %.1f ms\n", v[n]
	}'
awk -v r0="$r0" -v r1="$r1" '$1 >= r0 && $1 <= r1 { n++; ok += $2 == "ok" } END {
	printf "vip_ping_during_reload %d of %d answered\n", ok, n }' "$dir/ping"

# ---- SIGTERM 2 s into the next reload ----
"$LIMPETCTL" -s "$sock" -t 600 reload "$dir/a.yaml" >/dev/null 2>&1 &
ctl_pid=$!
jobs_pids+=($ctl_pid)
sleep 2
t0=$(ms)
kill -TERM "$pid"
wait "$pid" 2>/dev/null || true
echo "sigterm_exit_ms $(($(ms) - t0)) ms"
pid=
wait "$ctl_pid" 2>/dev/null || true
jobs_pids=()
