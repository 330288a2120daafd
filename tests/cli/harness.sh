# SPDX-License-Identifier: BSD-3-Clause
# Sourced by the CLI robustness scripts (test_sigpipe.sh, test_signals.sh,
# test_starve.sh, test_summary.sh): a scratch directory, limpet started
# and stopped by its PID, a wait for its control socket, and checks.
# The sourcing script sets LIMPET and LIMPETCTL first.
# shellcheck shell=bash

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d /tmp/limpet-hard.XXXXXX)
RUN=lphard$$
EAL=(-l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error)
SOCK=$TMP/ctl.sock
LIMPET_PID=
HELPER_PIDS=()

cleanup() {
	local pid
	for pid in "${HELPER_PIDS[@]}" $LIMPET_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${HELPER_PIDS[@]}" $LIMPET_PID; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	done
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

failures=0
ok() { echo "ok: $*"; }
fail() {
	failures=$((failures + 1))
	echo "FAIL: $*" >&2
}
die() {
	echo "FAIL: $*" >&2
	exit 1
}
# The end of a script: its status.
finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed" >&2
		exit 1
	fi
	exit 0
}

# Milliseconds since the epoch.
now_ms() { date +%s%3N; }

# start_limpet LOG EAL-AND-LIMPET-ARGS...: in the background; $LIMPET_PID.
start_limpet() {
	local log=$1
	shift
	"$LIMPET" "$@" >"$log" 2>&1 &
	LIMPET_PID=$!
}

# ctl ARGS...: one command over $SOCK; output on stdout.
ctl() { timeout 30 "$LIMPETCTL" -s "$SOCK" -t 20 "$@"; }

# wait_ctl LOG: until limpet answers on $SOCK (60 s at most).
wait_ctl() {
	local deadline=$((SECONDS + 60))
	until "$LIMPETCTL" -s "$SOCK" -t 2 show services >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ] || ! kill -0 "$LIMPET_PID" 2>/dev/null; then
			cat "$1" >&2
			die "limpet did not come up"
		fi
		sleep 0.1
	done
}

# stop_limpet [SIGNAL]: signal limpet, wait for it; its exit status in $rc.
stop_limpet() {
	kill -"${1:-TERM}" "$LIMPET_PID" 2>/dev/null || true
	set +e
	timeout 30 tail --pid="$LIMPET_PID" -f /dev/null || kill -KILL "$LIMPET_PID" 2>/dev/null
	wait "$LIMPET_PID"
	rc=$?
	set -e
	LIMPET_PID=
}

# stat_of NAME: a counter of `show stats`.
stat_of() { ctl show stats | awk -v n="$1" '$1 == n { print $2 }'; }
