#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 14 §4.7: neither the metrics endpoint nor the control socket can
# be starved. While 1000 connections are held on it (half idle, half
# sending a request or command line one byte a second, each reopened as
# soon as limpet closes it: tests/cli/starve.py), a scrape and a
# `limpetctl show services` must each be answered (six times, every other client writing 20 ms after connect(), within a
# generous 15 s: the figure, printed, is well under a second); a request
# head holding a NUL is refused with 400 at once. Alone, a request or
# command line trickled one byte a second is cut off by its deadline
# (5 s; the check allows 8, the old lifetime was 10 s and 60 s). limpet
# is still alive after it all.
#
# usage: test_starve.sh LIMPET LIMPETCTL TESTS_CLI_DIR
set -euo pipefail
LIMPET=$1
LIMPETCTL=$2
HERE=$3
# shellcheck source=harness.sh
. "$HERE/harness.sh"
HELD=${HELD:-1000}

cat >"$TMP/cfg.yaml" <<'EOF'
ports:
  - { name: wan, device: net_null0, address: [10.0.0.1/24] }
  - { name: lan, device: net_null1, address: [10.1.0.1/24] }
neighbors:
  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    backends: [ { address: 10.1.0.11, port: 8080 } ]
EOF
start_limpet "$TMP/limpet.log" "${EAL[@]}" --file-prefix "$RUN" \
	--vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1 \
	-- --config "$TMP/cfg.yaml" --ctl-socket "$SOCK" --metrics 127.0.0.1:0
wait_ctl "$TMP/limpet.log"
port=$(sed -nE 's|.*metrics: Prometheus endpoint http://127\.0\.0\.1:([0-9]+)/metrics.*|\1|p' "$TMP/limpet.log")
[ -n "$port" ] || die "no metrics port in the log"

echo "== metrics endpoint, $HELD connections held"
"$PY" "$HERE/starve.py" http "127.0.0.1:$port" "$HELD" 15 || fail "the metrics endpoint was starved"
echo "== control socket, $HELD connections held"
"$PY" "$HERE/starve.py" ctl "$SOCK" "$HELD" 15 "$LIMPETCTL" || fail "the control socket was starved"

echo "== deadlines: one connection alone trickles its request"
"$PY" "$HERE/starve.py" http-deadline "127.0.0.1:$port" 0 8 || fail "the endpoint kept a trickling request"
"$PY" "$HERE/starve.py" ctl-deadline "$SOCK" 0 8 || fail "the control socket kept a trickling command line"

kill -0 "$LIMPET_PID" 2>/dev/null || die "limpet died"
ctl show services >/dev/null && ok "limpet answers after it all" || fail "no answer after the attack"
stop_limpet TERM
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "exit status $rc"
finish
