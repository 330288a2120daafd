#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Observability of the real binary, on net_pcap ports (no network needed):
#
#  1. Replay a capture with --metrics on loopback and the lib.limpet.*
#     log types at debug: scrape /metrics (names, HELP/TYPE, labels, every
#     family documented in docs/observability.md), query the same counters
#     through dpdk-telemetry.py, and check the two agree with each other
#     and with limpet's own summary at exit.
#  2. Replay it endlessly (infinite_rx) with hugepages and a shared config,
#     and capture limpet's port live with dpdk-dumpcap.
#
#   test_obs.sh LIMPET OBS_MKPCAP OBSERVABILITY_MD
#
# Needs root (hugepages, /var/run/dpdk); exits 77 (skipped) otherwise.
# Everything it starts it stops by PID; hugepages it reserved or mounted are
# given back on exit.
set -u

LIMPET=$(realpath "$1")
MKPCAP=$(realpath "$2")
DOC=$(realpath "$3")
PY=/usr/bin/python3
N_PKTS=2000		# SYNs in the capture, plus two frames limpet drops
HUGE_PAGES_NEEDED=256	# 2 MB pages for limpet and dpdk-dumpcap together

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (hugepages, DPDK runtime directories)"
for t in curl dpdk-telemetry.py dpdk-dumpcap tcpdump ss "$PY"; do
	command -v "$t" >/dev/null 2>&1 || skip "$t not installed"
done

WORK=$(mktemp -d /tmp/limpet-obs-XXXXXX)
PREFIX=limpet-obs-$$
LIMPET_PID=
HUGE_RESTORE=
HUGE_MOUNT=

cleanup() {
	if [ -n "$LIMPET_PID" ] && kill -0 "$LIMPET_PID" 2>/dev/null; then
		kill "$LIMPET_PID"
		wait "$LIMPET_PID" 2>/dev/null
	fi
	rm -f /dev/hugepages/"$PREFIX"*map_* 2>/dev/null
	if [ -n "$HUGE_MOUNT" ]; then
		rm -f "$HUGE_MOUNT/$PREFIX"*map_* 2>/dev/null
		umount "$HUGE_MOUNT"
	fi
	[ -n "$HUGE_RESTORE" ] && sysctl -q vm.nr_hugepages="$HUGE_RESTORE"
	rm -rf /var/run/dpdk/"$PREFIX"-a /var/run/dpdk/"$PREFIX"-b "$WORK"
}
trap cleanup EXIT

# Poll a shell condition until it holds or @1 seconds pass.
wait_for() {
	local deadline=$(($(date +%s) + $1))
	shift
	until eval "$@"; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# A free TCP port on loopback.
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start limpet in the background, in $WORK: its EAL options, then limpet's.
start_limpet() {
	local log=$1
	shift
	(cd "$WORK" && exec "$LIMPET" "$@") >"$log" 2>&1 &
	LIMPET_PID=$!
}

stop_limpet() {
	kill "$LIMPET_PID"
	wait "$LIMPET_PID"
	local rc=$?
	LIMPET_PID=
	return $rc
}

telemetry() {
	echo "$2" | "$PY" "$(command -v dpdk-telemetry.py)" -f "$1"
}

cat >"$WORK/cfg.yaml" <<'EOF'
ports:
  - { name: wan, device: net_pcap0, address: 10.0.0.1/24, gateway: 10.0.0.254, mac: "02:00:00:00:00:01" }
neighbors:
  - { address: 10.0.0.254, mac: "02:00:00:00:00:fe", port: wan }
  - { address: 10.0.0.11, mac: "02:00:00:00:01:0b", port: wan }
  - { address: 10.0.0.12, mac: "02:00:00:00:01:0c", port: wan }
flows: { capacity: 65536 }
affinity: { capacity: 65536 }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    sessionAffinity: ClientIP
    backends: [ { address: 10.0.0.11, port: 8080 }, { address: 10.0.0.12, port: 8080 } ]
  - name: idle-svc
    vip: 10.0.0.101
    port: 443
    backends: [ { address: 10.0.0.12, port: 8443 } ]
EOF
"$MKPCAP" "$WORK/in.pcap" "$N_PKTS" || fail "cannot write the capture"

# ---- 1. Prometheus, telemetry, log types ----

PORT=$(free_port)
start_limpet "$WORK/limpet-a.log" -l 0-1 --no-pci --no-huge --no-shconf -m 512 --file-prefix "$PREFIX-a" \
	--log-level 'lib.limpet.*:debug' \
	--vdev "net_pcap0,rx_pcap=$WORK/in.pcap,tx_pcap=$WORK/out.pcap" \
	-- --config "$WORK/cfg.yaml" --metrics "$PORT"
URL=http://127.0.0.1:$PORT/metrics

rx_total() {
	curl -s --max-time 2 "$URL" | awk '/^limpet_rx_pkts_total/ { n += $2 } END { print n + 0 }'
}
wait_for 20 '[ "$(rx_total)" -ge $((N_PKTS + 2)) ]' || { cat "$WORK/limpet-a.log"; fail "limpet did not replay the capture"; }
ok "replayed $N_PKTS packets, scraped $URL"

# Loopback by default: the listener is on 127.0.0.1 only.
ss -ltnH "sport = :$PORT" | grep -q "127.0.0.1:$PORT" || fail "metrics endpoint not on 127.0.0.1:$PORT"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 404 ] || fail "/ is not 404"
ok "endpoint on loopback only; other paths 404"

curl -s --max-time 5 -D "$WORK/headers" "$URL" >"$WORK/metrics.txt" || fail "scrape failed"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$WORK/headers" || fail "not the text exposition format"
for cmd in /limpet/stats /limpet/drops /limpet/workers /limpet/ports /limpet/services /limpet/flows \
	/limpet/backends,web /limpet/service,web; do
	name=$(echo "$cmd" | tr '/,' '__')
	telemetry "$PREFIX-a" "$cmd" >"$WORK/tel$name.json" || fail "dpdk-telemetry.py $cmd"
done
ok "dpdk-telemetry.py answered every /limpet command"

"$PY" - "$WORK" "$DOC" <<'EOF' || fail "metrics and telemetry disagree (above)"
import json, re, sys

work, doc = sys.argv[1], open(sys.argv[2]).read()
families, samples, problems = {}, [], []
name_re = re.compile(r'^limpet_[a-z0-9_]+$')
label_re = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
current = None
for line in open(f"{work}/metrics.txt"):
    line = line.rstrip("\n")
    if line.startswith("# HELP "):
        name, _, text = line[7:].partition(" ")
        families.setdefault(name, {})["help"] = text
    elif line.startswith("# TYPE "):
        name, kind = line[7:].split()
        if "type" in families.get(name, {}):
            problems.append(f"{name}: two TYPE lines")
        families.setdefault(name, {})["type"] = kind
        current = name
    else:
        m = re.match(r'^([a-z_0-9]+)(\{(.*)\})? (\S+)$', line)
        if not m:
            problems.append(f"bad line: {line}")
            continue
        name, labels, value = m.group(1), dict(label_re.findall(m.group(3) or "")), float(m.group(4))
        if name != current:
            problems.append(f"{name} outside its family")
        samples.append((name, labels, value))
for name, f in families.items():
    if not name_re.match(name):
        problems.append(f"{name}: not a limpet_ name")
    if "help" not in f or "type" not in f:
        problems.append(f"{name}: HELP or TYPE missing")
    if f.get("type") == "counter" and not name.endswith("_total"):
        problems.append(f"{name}: counter without _total")
    if f"`{name}`" not in doc:
        problems.append(f"{name}: not described in docs/observability.md")
allowed = {"service", "backend", "reason", "worker", "port", "state", "help", "vip"}
for name, labels, _ in samples:
    if set(labels) - allowed:
        problems.append(f"{name}: unexpected labels {set(labels) - allowed}")

def metric(name, **want):
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == w for k, w in want.items()))

def tel(cmd):
    return json.loads(open(f"{work}/tel{cmd.replace('/', '_').replace(',', '_')}.json").read())[cmd.split(",")[0]]

def same(what, a, b):
    if a != b:
        problems.append(f"{what}: {a} != {b}")

stats, drops = tel("/limpet/stats"), tel("/limpet/drops")
for c in ["rx_pkts", "rx_bytes", "tx_pkts", "tx_bytes", "flow_new", "aff_hit", "slowpath", "injected"]:
    same(c, metric(f"limpet_{c}_total"), stats[c])
same("drops", metric("limpet_drops_total"), stats["drops"])
for reason, n in drops.items():
    if reason != "total":
        same(f"drop {reason}", metric("limpet_drops_total", reason=reason), n)
same("no_service drops", drops["no_service"], 1)
same("truncated drops", drops["truncated"], 1)
same("flows", metric("limpet_flows"), stats["flows"])
be = tel("/limpet/backends,web")
for i, b in enumerate(be["backend"]):
    same(f"backend {b} packets", metric("limpet_backend_packets_total", service="web", backend=b), be["packets"][i])
    same(f"backend {b} state", metric("limpet_backend_state", service="web", backend=b, state=be["state"][i]), 1)
svc = tel("/limpet/service,web")
same("web packets", metric("limpet_service_packets_total", service="web"), svc["packets"])
same("web bindings new", metric("limpet_service_binding_events_total", service="web", reason="new"), svc["bindings_new"])
same("web packets = backends", sum(be["packets"]), svc["packets"])
ports = tel("/limpet/ports")
same("wan rx", metric("limpet_port_rx_packets_total", port="wan"), ports["rx_packets"][0])
same("wan device rx", metric("limpet_port_device_rx_packets_total", port="wan"), ports["device_rx_packets"][0])
workers = tel("/limpet/workers")
same("workers rx", sum(workers["rx_pkts"]), stats["rx_pkts"])
# The invariant of lp_stats.h, per worker, as an operator would check it.
for i in range(len(workers["rx_pkts"])):
    same(f"worker {i} invariant", workers["rx_pkts"][i] + workers["injected"][i],
         workers["tx_pkts"][i] + workers["drops"][i] + workers["slowpath"][i])
open(f"{work}/expect", "w").write(f"{int(stats['rx_pkts'])} {int(stats['tx_pkts'])} {int(stats['drops'])}\n")
for p in problems:
    print("   ", p)
print(f"    {len(families)} metric families, {len(samples)} samples checked")
sys.exit(1 if problems else 0)
EOF
ok "Prometheus text well-formed, documented, equal to telemetry"

grep -q 'limpet: metrics: GET /metrics' "$WORK/limpet-a.log" || fail "no debug line with --log-level lib.limpet.*:debug"
ok "--log-level 'lib.limpet.*:debug' shows limpet's debug lines"

# The summary limpet prints at exit counts what the exporters counted.
stop_limpet || fail "limpet exited with an error"
read -r rx tx dropped <"$WORK/expect"
grep -Eq "packets: rx $rx \+ injected [0-9]+ = tx $tx \+ " "$WORK/limpet-a.log" &&
	grep -q "dropped: $dropped in all " "$WORK/limpet-a.log" ||
	{ grep 'packets:\|dropped:' "$WORK/limpet-a.log"; fail "exit summary differs from the scrape (rx $rx tx $tx dropped $dropped)"; }
ok "exit summary agrees: rx $rx tx $tx dropped $dropped"

# ---- 2. live capture with dpdk-dumpcap ----

HUGE_DIR=$(awk '$3 == "hugetlbfs" && $4 ~ /pagesize=2M/ { print $2; exit }' /proc/mounts)
if [ -z "$HUGE_DIR" ]; then
	HUGE_MOUNT=$WORK/huge
	mkdir -p "$HUGE_MOUNT"
	mount -t hugetlbfs -o pagesize=2M nodev "$HUGE_MOUNT" || skip "cannot mount hugetlbfs"
	HUGE_DIR=$HUGE_MOUNT
fi
free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
if [ "$free" -lt "$HUGE_PAGES_NEEDED" ]; then
	HUGE_RESTORE=$(sysctl -n vm.nr_hugepages)
	sysctl -q vm.nr_hugepages=$((HUGE_RESTORE + HUGE_PAGES_NEEDED - free))
	free=$(awk '/^HugePages_Free/ { print $2 }' /proc/meminfo)
	[ "$free" -ge "$HUGE_PAGES_NEEDED" ] || skip "cannot reserve $HUGE_PAGES_NEEDED hugepages"
fi

# A secondary process gets the --vdev arguments cut short (about 64
# characters in DPDK 22.11) and fails to probe the port: keep them short,
# with paths relative to $WORK, where dpdk-dumpcap runs too.
start_limpet "$WORK/limpet-b.log" -l 0-1 --no-pci --file-prefix "$PREFIX-b" --huge-dir "$HUGE_DIR" \
	--vdev "net_pcap0,rx_pcap=in.pcap,tx_pcap=/dev/null,infinite_rx=1" \
	-- --config cfg.yaml
wait_for 20 "grep -q 'limpet: running' '$WORK/limpet-b.log'" || { cat "$WORK/limpet-b.log"; fail "limpet did not start"; }
grep -q "capture: dpdk-dumpcap --file-prefix=$PREFIX-b can attach" "$WORK/limpet-b.log" ||
	{ cat "$WORK/limpet-b.log"; fail "limpet did not enable capture"; }
(cd "$WORK" && timeout 60 dpdk-dumpcap --file-prefix="$PREFIX-b" -i net_pcap0 -c 200 -w cap.pcapng -q) \
	>"$WORK/dumpcap.log" 2>&1 || { cat "$WORK/dumpcap.log"; fail "dpdk-dumpcap failed"; }
tcpdump -nr "$WORK/cap.pcapng" 2>/dev/null >"$WORK/cap.txt"
[ "$(wc -l <"$WORK/cap.txt")" -ge 200 ] || fail "captured $(wc -l <"$WORK/cap.txt") packets, fewer than 200"
# Both directions: clients' packets to the VIP, and the same rewritten for a backend.
grep -q ' > 10.0.0.100.80: ' "$WORK/cap.txt" || fail "no received packet in the capture"
grep -Eq ' > 10.0.0.1[12].8080: ' "$WORK/cap.txt" || fail "no transmitted packet in the capture"
stop_limpet || fail "limpet exited with an error"
ok "dpdk-dumpcap captured $(wc -l <"$WORK/cap.txt") packets, received and transmitted, from a running limpet"
