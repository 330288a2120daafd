#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The control thread's responsiveness while big scrapes go on (issue 14
# §4.8): limpet runs the largest configuration allowed (1024 services,
# 8192 backends: about 11 MB of Prometheus text), and limpetctl's latency
# is measured (a `show service` each 50 ms, the whole command as an
# operator sees it: process start, connect, reply) first alone, then
# while SCRAPERS clients scrape /metrics back to back. One "name value
# unit" line per figure.
#
#   tools/bench/scrape_cli.sh              # SCRAPERS=4 SAMPLES=200
#   SCRAPERS=1 SAMPLES=100 tools/bench/scrape_cli.sh
#
# Runs limpet on net_null ports (no traffic); needs the build (BUILD,
# default build) and python3.
set -euo pipefail

here=$(dirname "$0")
. "$here/env.sh"
SCRAPERS=${SCRAPERS:-4}
SAMPLES=${SAMPLES:-200}
LIMPET=$BUILD/app/limpet
LIMPETCTL=$BUILD/tools/limpetctl
TMP=$(mktemp -d /tmp/limpet-bench-scrape.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ]; then
		kill -TERM "$PID" 2>/dev/null || true
		timeout 20 tail --pid="$PID" -f /dev/null || kill -KILL "$PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

bench_machine
python3 - "$TMP/big.yaml" <<'EOF'
import sys
services, per = 1024, 8
with open(sys.argv[1], "w") as f:
    f.write("ports:\n  - { name: wan, device: net_null0, address: [10.0.0.1/16] }\n"
            "  - { name: lan, device: net_null1, address: [10.128.0.1/9] }\nservices:\n")
    for s in range(services):
        f.write("  - name: svc%d\n    vip: 10.0.%d.%d\n    port: 80\n    backends:\n" % (s, 4 + s // 250, 1 + s % 250))
        for b in range(per):
            k = s * per + b
            f.write("      - { address: 10.%d.%d.%d, port: 8080 }\n" % (128 + k // 62500, k // 250 % 250, 1 + k % 250))
EOF
"$LIMPET" --check-config "$TMP/big.yaml" | sed 's/^/# config: /'

"$LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error --file-prefix "bench-scrape-$$" \
	--vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1 \
	-- --config "$TMP/big.yaml" --ctl-socket "$TMP/ctl.sock" --metrics 127.0.0.1:0 >"$TMP/limpet.log" 2>&1 &
PID=$!
deadline=$((SECONDS + 120))
until "$LIMPETCTL" -s "$TMP/ctl.sock" -t 2 show service svc0 >/dev/null 2>&1; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$PID" 2>/dev/null; then
		cat "$TMP/limpet.log" >&2
		echo "scrape_cli.sh: limpet did not come up" >&2
		exit 1
	fi
	sleep 0.2
done
port=$(sed -nE 's|.*Prometheus endpoint http://127\.0\.0\.1:([0-9]+)/metrics.*|\1|p' "$TMP/limpet.log")

python3 - "$LIMPETCTL" "$TMP/ctl.sock" "$port" "$SCRAPERS" "$SAMPLES" <<'EOF'
import socket, subprocess, sys, threading, time

ctl, sock, port, scrapers, samples = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


def scrape():
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n")
    n = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        n += len(b)
    s.close()
    return n, time.monotonic() - t0


def cli_latencies(n):
    out = []
    for _ in range(n):
        t0 = time.monotonic()
        r = subprocess.run([ctl, "-s", sock, "-t", "30", "show", "service", "svc0"], stdout=subprocess.DEVNULL)
        out.append(time.monotonic() - t0)
        if r.returncode != 0:
            sys.exit("limpetctl failed")
        time.sleep(0.05)
    return sorted(out)


def pct(v, p):
    return v[min(len(v) - 1, int(len(v) * p / 100))] * 1000


def report(name, v):
    print("%s_p50 %.1f ms" % (name, pct(v, 50)))
    print("%s_p90 %.1f ms" % (name, pct(v, 90)))
    print("%s_p99 %.1f ms" % (name, pct(v, 99)))
    print("%s_max %.1f ms" % (name, v[-1] * 1000))


size, t = scrape()
print("scrape_bytes %d bytes" % size)
report("cli_alone", cli_latencies(samples))
stop = False
done = []


def loop():
    while not stop:
        done.append(scrape())


threads = [threading.Thread(target=loop) for _ in range(scrapers)]
for th in threads:
    th.start()
lat = cli_latencies(samples)
stop = True
for th in threads:
    th.join()
report("cli_during_scrapes", lat)
times = sorted(d[1] for d in done)
print("scrapes_during %d scrapes" % len(done))
print("scrape_time_p50 %.1f ms" % pct(times, 50))
EOF
