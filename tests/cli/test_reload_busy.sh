#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# A reload that takes long to build does not hold the control thread:
# while `limpetctl reload` of 64 services with the largest Maglev tables
# is being built,
#  - `show services` is answered, and shows the configuration still running;
#  - a change is refused ("a reload is being applied"), and changes nothing;
#  - the reload's own reply comes once it is applied, and then every
#    service shows the new file;
# and a SIGHUP reload still being built when SIGTERM comes is abandoned:
# limpet stops, says the reload was not applied.
#
# usage: test_reload_busy.sh LIMPET LIMPETCTL
# Needs EAL without hugepages (net_null ports); reaches no network.
set -euo pipefail

LIMPET=$1
LIMPETCTL=$2
TMP=$(mktemp -d /tmp/limpet-rbusy.XXXXXX)
EAL=(-l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error --file-prefix "lprb$$")
LIMPET_PID=
RELOAD_PID=
SERVICES=64

cleanup() {
	local pid
	for pid in $RELOAD_PID $LIMPET_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $RELOAD_PID $LIMPET_PID; do
		timeout 20 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

checks=0
failures=0
pass() { checks=$((checks + 1)); }
fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}

# config FILE WEIGHT: SERVICES services, each with four backends, the first of weight WEIGHT.
config() {
	{
		echo "ports:"
		echo "  - { name: wan, device: net_null0, address: 10.0.0.1/24, gateway: 10.0.0.254 }"
		echo "neighbors:"
		echo "  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }"
		echo "flows: { capacity: 65536 }"
		echo "affinity: { capacity: 65536 }"
		echo "services:"
		for i in $(seq 0 $((SERVICES - 1))); do
			printf '  - { name: s%03d, vip: 10.0.0.100, port: %d, maglevSize: 655373, backends: [\n' "$i" $((1000 + i))
			printf '      { address: 10.9.%d.1, port: 80, weight: %d }, { address: 10.9.%d.2, port: 80 },\n' "$i" "$2" "$i"
			printf '      { address: 10.9.%d.3, port: 80 }, { address: 10.9.%d.4, port: 80 } ] }\n' "$i" "$i"
		done
	} >"$1"
}

config "$TMP/a.yaml" 1
config "$TMP/b.yaml" 7
"$LIMPET" --check-config "$TMP/b.yaml" >/dev/null

SOCK=$TMP/limpet.sock
"$LIMPET" "${EAL[@]}" --vdev net_null0,no-rx=1 -- --config "$TMP/a.yaml" --ctl-socket "$SOCK" \
	>"$TMP/out" 2>"$TMP/err" &
LIMPET_PID=$!
deadline=$((SECONDS + 120))
until "$LIMPETCTL" -s "$SOCK" -t 2 show services >/dev/null 2>&1; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$LIMPET_PID" 2>/dev/null; then
		echo "limpet did not come up:" >&2
		cat "$TMP/err" >&2
		exit 1
	fi
	sleep 0.2
done

weight_in() {	# weight_in FILE BACKEND: its WEIGHT cell in `show backends` output
	awk -v be="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "WEIGHT") c = i; next } $1 == be { print $c }' "$1"
}

echo "== limpetctl reload of $SERVICES services with maglevSize 655373"
"$LIMPETCTL" -s "$SOCK" -t 300 reload "$TMP/b.yaml" >"$TMP/reload.out" 2>&1 &
RELOAD_PID=$!
answered=0
refused=0
changed_anyway=0
while kill -0 "$RELOAD_PID" 2>/dev/null; do
	if "$LIMPETCTL" -s "$SOCK" -t 60 show backends s000 >"$TMP/show.out" 2>&1 && kill -0 "$RELOAD_PID" 2>/dev/null; then
		# answered while the reload was still being built: the running configuration
		if [ "$(weight_in "$TMP/show.out" 10.9.0.1:80)" = 1 ]; then
			answered=$((answered + 1))
		fi
	fi
	# Weight 1 (what the files say) until a change was refused once: a
	# change that went in before the reload arrived then changes nothing.
	set +e
	"$LIMPETCTL" -s "$SOCK" -t 60 set backend s001 10.9.1.2:80 weight $((refused > 0 ? 5 : 1)) \
		>"$TMP/set.out" 2>&1
	rc=$?
	set -e
	if [ $rc -ne 0 ] && grep -q "a reload is being applied" "$TMP/set.out"; then
		refused=$((refused + 1))
		# and it changed nothing
		"$LIMPETCTL" -s "$SOCK" -t 60 show backends s001 >"$TMP/show1.out"
		[ "$(weight_in "$TMP/show1.out" 10.9.1.2:80)" = 1 ] || changed_anyway=1
	fi
done
set +e
wait "$RELOAD_PID"
rc=$?
set -e
RELOAD_PID=
echo "   $answered show commands answered and $refused changes refused while it was built"
if [ "$answered" -ge 1 ]; then pass; else fail "no show command was answered while the reload was built"; fi
if [ "$refused" -ge 1 ]; then pass; else fail "no change was refused while the reload was built"; fi
if [ $rc -eq 0 ] && grep -q "^reloaded $TMP/b.yaml$" "$TMP/reload.out"; then pass; else
	fail "the reload did not answer 'reloaded' (rc $rc):"
	cat "$TMP/reload.out" >&2
fi
"$LIMPETCTL" -s "$SOCK" -t 60 show backends s000 >"$TMP/show.out"
w=$(weight_in "$TMP/show.out" 10.9.0.1:80)
if [ "$w" = 7 ]; then pass; else fail "after the reload s000's first backend weighs '$w', not 7"; fi
if [ $changed_anyway -eq 0 ]; then pass; else fail "a change refused during the reload was applied"; fi

echo "== SIGTERM during a SIGHUP reload"
# SIGHUP reads a.yaml, the file limpet started with: every table changes back.
kill -HUP "$LIMPET_PID"
inflight=0
for _ in $(seq 1 200); do
	set +e
	"$LIMPETCTL" -s "$SOCK" -t 60 set backend s001 10.9.1.2:80 weight 5 >"$TMP/set.out" 2>&1
	set -e
	if grep -q "a reload is being applied" "$TMP/set.out"; then
		inflight=1
		break
	fi
	sleep 0.05
done
if [ $inflight -eq 1 ]; then pass; else fail "the SIGHUP reload was never seen in flight"; fi
kill -TERM "$LIMPET_PID"
set +e
timeout 60 tail --pid="$LIMPET_PID" -f /dev/null
set -e
if kill -0 "$LIMPET_PID" 2>/dev/null; then
	fail "limpet did not stop on SIGTERM during a reload"
else
	pass
	LIMPET_PID=
fi
if grep -q "canceled before it was applied" "$TMP/err"; then pass; else
	fail "limpet did not say the reload in flight was not applied:"
	sed 's/^/    /' "$TMP/err" >&2
fi

echo "$checks checks, $failures failed"
[ "$failures" -eq 0 ]
