#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 14 §4.3: when whoever reads limpet's output goes away (a log
# shipper restarts, a `| tee` is killed), limpet goes on. Its stdout and
# stderr are two pipes whose readers the test kills; then limpet writes
# to both: a log line (a reload over the control socket removes a
# service and logs it before it replies), a
# refused reload (SIGHUP with a broken file: its errors go to stderr),
# and the counter summary at exit (stdout). It must still answer
# limpetctl, keep forwarding (a capture replayed endlessly: tx_pkts keeps
# growing), and on SIGTERM exit 0 and remove its control socket.
#
# usage: test_sigpipe.sh LIMPET LIMPETCTL TESTS_CLI_DIR
set -euo pipefail
LIMPET=$1
LIMPETCTL=$2
HERE=$3
# shellcheck source=harness.sh
. "$HERE/harness.sh"

"$PY" "$HERE/mkpcap.py" "$TMP/in.pcap" 02:00:00:00:00:01 10.0.0.100 80 10.0.0.50 5
cat >"$TMP/cfg.yaml" <<'EOF'
ports:
  - { name: wan, device: net_pcap0, address: [10.0.0.1/24] }
  - { name: lan, device: net_null0, address: [10.1.0.1/24] }
neighbors:
  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
  - { address: 10.1.0.12, mac: "02:00:00:00:01:0c", port: lan }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    targetPort: 8080
    backends: [ { address: 10.1.0.11 }, { address: 10.1.0.12 } ]
EOF
cp "$TMP/cfg.yaml" "$TMP/less.yaml"
cat >>"$TMP/cfg.yaml" <<'EOF'
  - name: tmp
    vip: 10.0.0.101
    port: 80
    backends: [ { address: 10.1.0.11 } ]
EOF
cp "$TMP/cfg.yaml" "$TMP/good.yaml"

mkfifo "$TMP/out" "$TMP/err"
cat "$TMP/out" >"$TMP/seen.out" &
OUT_READER=$!
cat "$TMP/err" >"$TMP/seen.err" &
ERR_READER=$!
HELPER_PIDS+=("$OUT_READER" "$ERR_READER")
"$LIMPET" "${EAL[@]}" --file-prefix "$RUN" \
	--vdev "net_pcap0,rx_pcap=$TMP/in.pcap,tx_pcap=/dev/null,infinite_rx=1" --vdev net_null0,no-rx=1 \
	-- --config "$TMP/cfg.yaml" --ctl-socket "$SOCK" >"$TMP/out" 2>"$TMP/err" &
LIMPET_PID=$!
wait_ctl "$TMP/seen.err"
grep -q 'limpet: running' "$TMP/seen.err" || die "limpet's log did not reach the reader"
ok "limpet is up, its stdout and stderr read through pipes"

# The readers go away; limpet's next writes to either pipe fail with EPIPE.
kill -KILL "$OUT_READER" "$ERR_READER"
wait "$OUT_READER" "$ERR_READER" 2>/dev/null || true

# A log line (stderr), written before the command's reply.
if ctl reload "$TMP/less.yaml" >/dev/null; then
	ok "a reload logged a service removed into a pipe nobody reads, and its reply came"
else
	fail "no reply to a reload after its log line hit the closed pipe"
fi
kill -0 "$LIMPET_PID" 2>/dev/null || die "limpet died after logging into a closed pipe"

# A refused reload writes its errors to stderr.
echo 'services: [ {' >"$TMP/cfg.yaml"
kill -HUP "$LIMPET_PID"
# The second command is answered after the pass that ran the reload.
ctl show services >/dev/null && ctl show services >"$TMP/svc.txt" || fail "no answer after a refused reload"
kill -0 "$LIMPET_PID" 2>/dev/null || die "limpet died writing a refused reload's errors into a closed pipe"
grep -q '^web ' "$TMP/svc.txt" && ok "a refused reload (errors into a closed pipe) left limpet running, config unchanged" ||
	fail "service web gone after a refused reload"
cp "$TMP/good.yaml" "$TMP/cfg.yaml"

# Forwarding goes on.
tx1=$(stat_of tx_pkts)
deadline=$((SECONDS + 30))
until [ "$(stat_of tx_pkts)" -gt "$tx1" ]; do
	[ $SECONDS -lt $deadline ] || die "tx_pkts stuck at $tx1 after the pipes closed"
	sleep 0.2
done
ok "still forwarding: tx_pkts grew past $tx1"

# The exit summary goes to stdout, into the closed pipe: still a clean exit.
stop_limpet TERM
[ "$rc" -eq 0 ] && ok "SIGTERM: exit 0" || fail "exit status $rc after SIGTERM (141: killed by SIGPIPE)"
[ ! -e "$SOCK" ] && ok "control socket removed" || fail "control socket $SOCK left behind"
finish
