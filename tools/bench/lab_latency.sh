#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Request latency through limpet at a low, steady rate, in the e2e lab
# (tests/e2e/lab.sh: net_af_packet ports on veths): one HTTP keep-alive
# connection, one request every 1/RATE s, COUNT requests; p50/p99/max of
# each request's round trip, for busy polling and for adaptive polling
# (workers.poll, the default), in one run. At a low rate an adaptive worker
# is asleep when a request arrives: this is what its sleeps add. A
# benchmark, not a test.
#
#   tools/bench/lab_latency.sh [RATE] [COUNT]        (root; default 200 1000)
#   LAB_LAT_ALT="BINARY..." adds other limpet binaries (adaptive) to the run
#
# Output: "name value unit" lines, e.g.
#   busy_p50 180 us ... adaptive_p50 190 us ... adaptive_idle_wakes 1650
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
RATE=${1:-200}
COUNT=${2:-1000}
LAB_CLIENTS=1
LAB_QUIET=${LAB_QUIET:-1}
# shellcheck source=tests/e2e/lab.sh
. "$ROOT/tests/e2e/lab.sh"
. "$ROOT/tools/bench/env.sh"

measure() {	# measure NAME: COUNT requests at RATE through the running limpet
	local name=$1
	lab_in "$NS_CLIENT" python3 - "$VIP4" "${CLIENT4[0]}" "$RATE" "$COUNT" "$name" <<-'PY'
	import http.client, sys, time
	vip, src, rate, count, name = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
	c = http.client.HTTPConnection(vip, 80, timeout=5, source_address=(src, 0))
	c.connect()
	for _ in range(20):                       # warm: flow, binding, neighbors
	    c.request("GET", "/"); c.getresponse().read()
	lat = []
	nxt = time.perf_counter()
	for _ in range(count):
	    nxt += 1.0 / rate
	    time.sleep(max(0.0, nxt - time.perf_counter()))
	    t0 = time.perf_counter()
	    c.request("GET", "/"); c.getresponse().read()
	    lat.append((time.perf_counter() - t0) * 1e6)
	lat.sort()
	q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
	print(f"{name}_p50 {q(0.50):.0f} us\n{name}_p99 {q(0.99):.0f} us\n{name}_max {lat[-1]:.0f} us")
	PY
}

wakes() { lab_ctl show stats worker 2>/dev/null | awk '$1 == "idle_wakes" { s += $2 } END { print s + 0 }'; }

bench_machine
echo "# lab: af_packet on veths, one keep-alive connection, $RATE requests/s, $COUNT requests"
lab_up
lab_mode nat
lab_backends_start
run() {	# run NAME BINARY POLL
	local name=$1 w0
	LAB_LIMPET=$2
	{ lab_config nat affinity=1 health=none; echo "workers: { poll: $3 }"; } >"$LAB_DIR/limpet.yaml"
	lab_limpet_start "$LAB_DIR/limpet.yaml"
	lab_wait 10 "the service to answer" lab_get "${CLIENT4[0]}"
	w0=$(wakes)
	measure "$name"
	lab_have_limpetctl && echo "${name}_idle_wakes $(($(wakes) - w0)) sleeps ended by a packet"
	lab_limpet_stop
}
MAIN=$LAB_LIMPET
run busy "$MAIN" busy
run adaptive "$MAIN" adaptive
n=1
for bin in ${LAB_LAT_ALT:-}; do
	run "alt$n" "$bin" adaptive
	n=$((n + 1))
done
