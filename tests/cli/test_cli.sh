#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The CLI, black box: every command through --cmdline-file, through
# limpetctl over the control socket, and on a terminal (a pty), with the
# outputs docs/cli.md promises; bad input of every command family names the
# bad token, fails, and leaves `show config` as it was. The last part
# replays a pcap so flows and bindings exist to be shown and cleared.
#
# usage: test_cli.sh LIMPET LIMPETCTL TESTS_CLI_DIR
# Needs nothing but EAL without hugepages (net_null and net_pcap ports);
# it creates no network and reaches none.
set -euo pipefail

LIMPET=$1
LIMPETCTL=$2
HERE=$3
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

TMP=$(mktemp -d /tmp/limpet-cli.XXXXXX)
RUN=lpcli$$
EAL=(-l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error)
NULL_PORTS=(--vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1)
LIMPET_PID=
HELPER_PID=

cleanup() {
	local pid
	for pid in $LIMPET_PID $HELPER_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $LIMPET_PID $HELPER_PID; do
		timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
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

# check DESCRIPTION COMMAND...: the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then pass; else fail "$what"; fi
}

# has FILE ERE DESCRIPTION / hasnt FILE ERE DESCRIPTION
has() { if grep -Eq -- "$2" "$1"; then pass; else fail "$3: no /$2/ in $1:"; sed 's/^/    /' "$1" >&2; fi; }
hasnt() { if grep -Eq -- "$2" "$1"; then fail "$3: /$2/ in $1"; else pass; fi; }

# col FILE KEY COLUMN: the cell under header COLUMN in the row whose first cell is KEY.
col() {
	awk -v key="$2" -v col="$3" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		$1 == key { print $c }' "$1"
}

# sumcol FILE COLUMN: the sum of a numeric column of a table.
sumcol() {
	awk -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next } { s += $c } END { print s + 0 }' "$1"
}

# stat_of FILE NAME: the value of a "name value" line of `show stats`.
stat_of() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# svc_stat FILE SERVICE COLUMN: a cell of the per-service table of `show stats`.
svc_stat() { sed -n '/^SERVICE /,$p' "$1" >"$1.table"; col "$1.table" "$2" "$3"; }

write_config() {	# FILE [extra service YAML appended]
	cat >"$1" <<-'EOF'
	ports:
	  - name: wan
	    device: net_null0
	    address: [10.0.0.1/24, "fd00::1/64"]
	  - name: lan
	    device: net_null1
	    address: [10.1.0.1/24, "fd01::1/64"]
	neighbors:
	  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
	  - { address: 10.1.0.12, mac: "02:00:00:00:01:0c", port: lan }
	  - { address: 10.1.0.21, mac: "02:00:00:00:01:15", port: lan }
	  - { address: "fd01::11", mac: "02:00:00:00:01:1b", port: lan }
	  # backends the tests add: static, so no ARP/ND traffic moves the counters
	  - { address: 10.1.0.13, mac: "02:00:00:00:01:0d", port: lan }
	  - { address: 10.1.0.22, mac: "02:00:00:00:01:16", port: lan }
	  - { address: 10.1.0.41, mac: "02:00:00:00:01:29", port: lan }
	  - { address: "fd01::12", mac: "02:00:00:00:01:1c", port: lan }
	  - { address: "fd01::31", mac: "02:00:00:00:01:1f", port: lan }
	services:
	  - name: web
	    vip: 10.0.0.100
	    port: 80
	    targetPort: 8080
	    sessionAffinity: ClientIP
	    backends:
	      - { address: 10.1.0.11 }
	      - { address: 10.1.0.12 }
	  - name: dns
	    vip: 10.0.0.53
	    port: 53
	    protocol: UDP
	    backends:
	      - { address: 10.1.0.21 }
	  - name: web6
	    vip: "fd00::100"
	    port: 443
	    targetPort: 8443
	    backends:
	      - { address: "fd01::11" }
	EOF
}

CFG=$TMP/limpet.yaml
write_config "$CFG"
check "the test config is valid" "$LIMPET" --check-config "$CFG" >/dev/null

# ---------------------------------------------------------------------------
echo "== --cmdline-file: every command, errors as FILE:LINE: message"

CMDS=$TMP/cmds.txt
cat >"$CMDS" <<EOF
# every command once, from a file

help
show services
show service web
show backends web
add backend web 10.1.0.13:8080 weight 3
set backend web 10.1.0.13:8080 drain
show backends web
set backend web 10.1.0.13:8080 weight 5
set backend web 10.1.0.13:8080 up
add service api fd00::200 8443 udp scheduler wrr affinity clientip timeout 60 prefix 64
add backend api [fd01::31]:9443
show backends api
set service web affinity timeout 600 prefix 24
show affinity web
show affinity web 10.0.0.7
show flows
show flows web 10
show stats
clear affinity web
clear affinity web 10.0.0.7
clear stats
del backend web 10.1.0.13:8080
del service api
show config
save config $TMP/saved-file.yaml
reload
shwo services
set backend web 10.1.0.11:8080 wieght 5
show services
quit
show config
EOF
set +e
timeout 60 "$LIMPET" "${EAL[@]}" "${NULL_PORTS[@]}" --file-prefix "${RUN}a" -- --config "$CFG" \
	--cmdline-file "$CMDS" >"$TMP/a.out" 2>"$TMP/a.err"
rc=$?
set -e
check "limpet ends with status 0 after 'quit' in the file (got $rc)" [ "$rc" -eq 0 ]
A=$TMP/a.out
for c in "show services" "show service NAME" "show backends NAME" "show affinity NAME \[CLIENT\]" \
	"show flows \[NAME\] \[N\]" "show stats" "show config" "add service NAME VIP PORT" "del service NAME" \
	"add backend SVC" "del backend SVC" "set backend SVC ADDR\[:PORT\] weight W" \
	"set backend SVC ADDR\[:PORT\] up\|down\|drain" "set service SVC affinity timeout N" \
	"clear affinity SVC \[CLIENT\]" "clear stats" "reload \[FILE\]" "save config FILE" "quit" "help"; do
	has "$A" "^$c" "help lists '$c'"
done
has "$A" '^NAME +VIP +FORWARDING +SCHEDULER +AFFINITY +BACKENDS +BINDINGS +PACKETS' "show services header"
has "$A" '^web +10\.0\.0\.100:80/tcp +nat +maglev +ClientIP/10800s +2/2 ' "show services row"
has "$A" '^web6 +\[fd00::100\]:443/tcp ' "show services: IPv6 VIP"
has "$A" '^vip +10\.0\.0\.100:80/tcp$' "show service web"
has "$A" '^BACKEND +STATE +WEIGHT +BINDINGS +FLOWS +PACKETS( |$)' "show backends header, required columns in order"
has "$A" '^10\.1\.0\.13:8080 +draining +3 ' "add backend then drain: draining, weight 3"
has "$A" '^\[fd01::31\]:9443 +up +1 ' "IPv6 backend of a service added on the command line"
has "$A" '^CLIENT +BACKEND +AGE +IDLE +LEFT +FLOWS +STATE +ORIGIN$' "show affinity header"
has "$A" '^PROTO +SOURCE +DESTINATION +SERVICE +BACKEND +STATE +IDLE_MS +WORKER$' "show flows header"
has "$A" '^rx_pkts +[0-9]+$' "show stats totals"
has "$A" '^SERVICE +PACKETS +BYTES +FLOWS' "show stats per-service table"
has "$A" '^0 bindings cleared$' "clear affinity"
has "$A" 'timeoutSeconds: 600, prefixV4: 24' "show config holds the affinity change"
has "$A" "^saved $TMP/saved-file.yaml$" "save config"
has "$A" "^reloaded $CFG$" "reload"
check "save config wrote a valid file" "$LIMPET" --check-config "$TMP/saved-file.yaml" >/dev/null
has "$TMP/saved-file.yaml" 'timeoutSeconds: 600' "the saved file holds the change"
hasnt "$TMP/saved-file.yaml" 'name: api' "the saved file lacks the deleted service"
hasnt "$TMP/saved-file.yaml" 'address: 10\.1\.0\.13, port' "the saved file lacks the deleted backend"
has "$TMP/a.err" "^$CMDS:29: unknown command 'shwo'" "unknown command, as FILE:LINE: message"
has "$TMP/a.err" "^$CMDS:30: bad argument 'wieght' \(argument 5\): expected weight\|up\|down\|drain$" \
	"bad keyword, as FILE:LINE: message"
check "exactly two lines failed" [ "$(grep -c "^$CMDS:" "$TMP/a.err")" -eq 2 ]
check "nothing runs after quit" [ "$(grep -c '^ports:$' "$A")" -eq 1 ]
has "$A" '^web +10\.0\.0\.100:80/tcp +nat +maglev +ClientIP/10800s' "reload restored the file's affinity timeout"

# ---------------------------------------------------------------------------
echo "== control socket and limpetctl"

SOCK=$TMP/limpet.sock
export LIMPET_SOCKET=$SOCK
# A socket file left behind by a limpet that died: it must be replaced.
"$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$SOCK"
check "a stale socket file is in place" [ -S "$SOCK" ]

"$LIMPET" "${EAL[@]}" "${NULL_PORTS[@]}" --file-prefix "${RUN}b" -- --config "$CFG" \
	--ctl-socket "$SOCK" >"$TMP/b.out" 2>"$TMP/b.err" &
LIMPET_PID=$!

OUT=$TMP/ctl.out
ERR=$TMP/ctl.err
ctl() {	# run limpetctl; rc in $rc, output in $OUT and $ERR
	set +e
	timeout 30 "$LIMPETCTL" -t 20 "$@" >"$OUT" 2>"$ERR"
	rc=$?
	set -e
}
ok() {	# ok ARGS...: the command succeeds
	ctl "$@"
	if [ "$rc" -eq 0 ]; then pass; else fail "limpetctl $* exited $rc:"; sed 's/^/    /' "$ERR" >&2; fi
}

deadline=$((SECONDS + 60))
until "$LIMPETCTL" -t 2 show services >/dev/null 2>&1; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$LIMPET_PID" 2>/dev/null; then
		echo "limpet did not come up:" >&2
		cat "$TMP/b.err" >&2
		exit 1
	fi
	sleep 0.2
done
pass
check "the socket is mode 0600" [ "$(stat -c %a "$SOCK")" = 600 ]
check "the socket is a socket" [ -S "$SOCK" ]

# A second limpet may not take over a live socket.
set +e
timeout 60 "$LIMPET" "${EAL[@]}" "${NULL_PORTS[@]}" --file-prefix "${RUN}c" -- --config "$CFG" \
	--ctl-socket "$SOCK" >"$TMP/c.out" 2>"$TMP/c.err"
rc=$?
set -e
check "a second limpet on the same socket fails (got $rc)" [ "$rc" -ne 0 ]
has "$TMP/c.err" "another limpet is listening" "and says why"
ok show services
check "the first limpet still answers" [ -s "$OUT" ]

ok help
has "$OUT" '^show backends NAME' "help over the socket"
ok show services
has "$OUT" '^dns +10\.0\.0\.53:53/udp +nat +maglev +None +1/1 +- +0$' "show services: a service without affinity"
# tools/limpetctl, the wrapper a checkout runs, is the same client.
set +e
LIMPET_BUILD=$(dirname "$(dirname "$LIMPETCTL")") timeout 30 "$HERE/../../tools/limpetctl" -t 20 \
	show services >"$TMP/wrap.out" 2>"$TMP/wrap.err"
rc=$?
set -e
check "tools/limpetctl show services exits 0 (got $rc)" [ "$rc" -eq 0 ]
check "tools/limpetctl prints what build/tools/limpetctl prints" cmp -s "$OUT" "$TMP/wrap.out"
ok show service web6
has "$OUT" '^vip +\[fd00::100\]:443/tcp$' "show service of an IPv6 service"
ok show backends dns
has "$OUT" '^10\.1\.0\.21:53 +up +1 +- +0 +0 ' "BINDINGS is '-' without affinity"

# add, then each state and the weight, each seen in show backends.
ok add backend web 10.1.0.13
ok show backends web
check "add backend without a port takes the targetPort" [ "$(col "$OUT" 10.1.0.13:8080 STATE)" = up ]
ok set backend web 10.1.0.13:8080 weight 7
ok show backends web
check "set weight shows in WEIGHT" [ "$(col "$OUT" 10.1.0.13:8080 WEIGHT)" = 7 ]
ok set backend web 10.1.0.13:8080 drain
ok show backends web
check "drain shows STATE draining" [ "$(col "$OUT" 10.1.0.13:8080 STATE)" = draining ]
check "drain shows ADMIN draining" [ "$(col "$OUT" 10.1.0.13:8080 ADMIN)" = draining ]
ok set backend web 10.1.0.13:8080 down
ok show backends web
check "down shows STATE down" [ "$(col "$OUT" 10.1.0.13:8080 STATE)" = down ]
ok show services
check "show services counts backends up/total" [ "$(col "$OUT" web BACKENDS)" = 2/3 ]
ok set backend web 10.1.0.13:8080 up
ok show backends web
check "up shows STATE up" [ "$(col "$OUT" 10.1.0.13:8080 STATE)" = up ]
ok add backend web6 [fd01::12]:8443 weight 2
ok show backends web6
check "IPv6 backend [ADDR]:PORT" [ "$(col "$OUT" '[fd01::12]:8443' WEIGHT)" = 2 ]
ok del backend web6 [fd01::12]:8443
ok show backends web6
hasnt "$OUT" 'fd01::12' "del backend removes it"

ok add service api 10.0.0.200 8080 tcp dsr scheduler least_conn affinity clientip timeout 30 prefix 24 \
	bounded 1.25 slow-start 10 drain-timeout 60 rebalance idle maglev-size 251 health tcp rise 3 fall 2
ok show service api
has "$OUT" '^forwarding +dsr$' "add service options: forwarding"
has "$OUT" '^scheduler +least_conn$' "add service options: scheduler"
has "$OUT" '^affinity +ClientIP/30s$' "add service options: affinity timeout"
has "$OUT" '^bounded +1\.25$' "add service options: bounded load"
has "$OUT" '^health +tcp ' "add service options: health check"
ok add backend api 10.1.0.41:8080
ok show backends api
# Probes cannot succeed here (no such host): ok until enough of them failed.
check "HEALTH column of a checked service" grep -Eq '^10\.1\.0\.41:8080 .* (ok|failing) +[^ ]+$' "$OUT"
ok set service api affinity timeout 90
ok set service api affinity prefix 16
ok show services
check "set service affinity timeout" [ "$(col "$OUT" api AFFINITY)" = ClientIP/90s ]
ok show config
has "$OUT" 'timeoutSeconds: 90, prefixV4: 16' "set service affinity prefix"
ok show affinity api
has "$OUT" '^CLIENT +BACKEND +AGE +IDLE +LEFT +FLOWS +STATE +ORIGIN$' "show affinity"
ok show affinity api 10.0.0.9
ok show flows
ok show flows 5
ok show flows api
ok show flows api 5
has "$OUT" '^PROTO +SOURCE' "show flows NAME N"
ok clear affinity api
has "$OUT" '^0 bindings cleared$' "clear affinity"
ok clear affinity api 10.0.0.9
ok del service api
ok show services
hasnt "$OUT" '^api ' "del service"

SAVED=$TMP/saved-socket.yaml
ok add backend dns 10.1.0.22:53 weight 4
ok save config "$SAVED"
check "save config: the file passes --check-config" "$LIMPET" --check-config "$SAVED" >/dev/null
has "$SAVED" 'address: 10\.1\.0\.22, port: 53, weight: 4' "save config: the file holds the new backend"
check "save config leaves no temporary file" [ "$(find "$TMP" -name 'saved-socket.yaml.*' | wc -l)" -eq 0 ]

ok show stats
check "tx_pkts counted before clear stats" [ "$(stat_of "$OUT" tx_pkts)" -gt 0 ]
has "$OUT" '^limpet: [0-9]+ workers, [0-9]+ ports, [0-9]+ services$' "show stats summary line"
has "$OUT" 'model changes visible to every worker after' "show stats: RCU latency"
ok show stats port
has "$OUT" '^port wan: device ' "show stats port: every port"
has "$OUT" '^port lan: device ' "show stats port: every port"
ok show stats port lan
hasnt "$OUT" '^port wan' "show stats port NAME: that port only"
ok show stats worker 0
has "$OUT" '^worker 0: lcore [0-9]+, flows ' "show stats worker N"
has "$OUT" '^ *busy_cycles +[0-9]+$' "show stats worker: busy cycles"
ok show stats worker
ok show stats service web
has "$OUT" '^service web: ' "show stats service"
has "$OUT" 'bindings_expired' "show stats service: bindings by reason"
ok show stats backend web 10.1.0.11:8080
has "$OUT" '^backend 10\.1\.0\.11:8080 of web: ' "show stats backend"
ok clear stats
ok show stats
awk '/^SERVICE /{exit} $2 != 0' "$OUT" >"$TMP/nonzero"
if [ -s "$TMP/nonzero" ]; then fail "clear stats left counters:"; sed 's/^/    /' "$TMP/nonzero" >&2; else pass; fi

# --- bad input: each fails (exit 1), names the bad token, changes nothing.
ok show config
cp "$OUT" "$TMP/config.before"
bad() {	# bad TOKEN-ERE ARGS...
	local want=$1
	shift
	ctl "$@"
	if [ "$rc" -ne 1 ]; then
		fail "limpetctl $* exited $rc, not 1"
	elif ! grep -Eq -- "$want" "$ERR"; then
		fail "limpetctl $*: error does not name /$want/:"
		sed 's/^/    /' "$ERR" >&2
	else
		pass
	fi
	cp "$ERR" "$TMP/bad.err"
	ctl show config
	if cmp -s "$OUT" "$TMP/config.before"; then pass; else fail "limpetctl $* changed the running config"; fi
}
# unknown command
bad "unknown command 'shwo'" shwo services
bad "unknown command 'frobnicate'" frobnicate
# bad keyword
bad "bad argument 'servces' \(argument 2\)" show servces
bad "bad argument 'wieght' \(argument 5\): expected weight\|up\|down\|drain" set backend web 10.1.0.11:8080 wieght 5
bad "bad argument 'schedular' \(argument 6\)" add service x 10.0.0.9 80 schedular maglev
bad "bad argument 'fast' \(argument 7\): expected maglev\|wrr\|least_conn" add service x 10.0.0.9 80 scheduler fast
bad "bad argument 'forever' \(argument 5\)" set service web affinity forever 5
bad "unexpected argument 'now' \(argument 3\)" show services now
bad "missing argument 4" set backend web
# bad address
bad "bad argument '10\.1\.0\.300:8080' \(argument 4\)" add backend web 10.1.0.300:8080
bad "bad argument 'fd01::5:8080' \(argument 4\)|bad argument '\[fd01::5:8080' \(argument 4\)" add backend web6 '[fd01::5:8080'
bad "bad argument '224\.0\.0\.1:80' \(argument 4\): not a unicast address" add backend web 224.0.0.1:80
bad "bad argument '10\.0\.0' \(argument 4\)" clear affinity web 10.0.0
bad "bad argument 'nowhere' \(argument 4\)" add service x nowhere 80
bad "fd01::5" add backend web '[fd01::5]:80'
# bad port
bad "bad argument '10\.1\.0\.14:70000' \(argument 4\): port must be 1\.\.65535" add backend web 10.1.0.14:70000
bad "bad argument '0' \(argument 5\): expected port 1\.\.65535" add service x 10.0.0.9 0
bad "bad argument 'http' \(argument 5\)" add service x 10.0.0.9 http
# unknown service / backend
bad "no service 'nosuch'" show backends nosuch
bad "no service 'nosuch'" show stats service nosuch
bad "no port 'nosuch'" show stats port nosuch
bad "no worker '63'" show stats worker 63
bad "'64' \\(argument 4\\)" show stats worker 64
bad "has no backend 10\\.1\\.0\\.99:8080" show stats backend web 10.1.0.99:8080
bad "no service 'nosuch'" show service nosuch
bad "no service 'nosuch'" show affinity nosuch
bad "no service 'nosuch'" show flows nosuch
bad "no service 'nosuch'" add backend nosuch 10.1.0.14:8080
bad "no service 'nosuch'" del backend nosuch 10.1.0.14:8080
bad "no service 'nosuch'" set backend nosuch 10.1.0.11:8080 weight 2
bad "no service 'nosuch'" set service nosuch affinity timeout 5
bad "no service 'nosuch'" clear affinity nosuch
bad "no service 'nosuch'" del service nosuch
bad "no backend 10\.1\.0\.99:8080" del backend web 10.1.0.99:8080
bad "no backend 10\.1\.0\.99:8080" set backend web 10.1.0.99:8080 drain
bad "10\.1\.0\.11:8080 exists" add backend web 10.1.0.11:8080
bad "service 'web' exists" add service web 10.0.0.101 80
check "a taken name is one error line, not the validator's duplicate" [ "$(wc -l <"$TMP/bad.err")" -eq 1 ]
bad "service 'dns' has no session affinity" set service dns affinity timeout 60
# numbers out of range
bad "bad argument '70000' \(argument 6\): expected weight 0\.\.65535" set backend web 10.1.0.11:8080 weight 70000
bad "bad argument '65536' \(argument 6\): expected weight 0\.\.65535" add backend web 10.1.0.14:8080 weight 65536
bad "bad argument '0' \(argument 6\): expected seconds 1\.\.86400" set service web affinity timeout 0
bad "prefix 33 out of range" set service web affinity prefix 33
bad "bad argument '40' \(argument 9\): expected prefix 0\.\.32" add service x 10.0.0.9 80 affinity clientip prefix 40
bad "bad argument '5000' \(argument 7\): expected seconds 0\.\.3600" add service x 10.0.0.9 80 slow-start 5000
bad "'timeout' needs 'affinity clientip'" add service x 10.0.0.9 80 timeout 60
bad "bad argument '0' \(argument 4\): expected count 1\.\.100000" show flows web 0
# files
bad "/nonexistent-dir/x\.yaml" save config /nonexistent-dir/x.yaml
cat >"$TMP/bad.yaml" <<-'EOF'
	ports:
	  - { name: wan, device: net_null0, address: [10.0.0.1/24] }
	services:
	  - { name: web, vip: 10.0.0.100, port: 99999 }
	EOF
bad "bad\.yaml.*(port|99999)" reload "$TMP/bad.yaml"
has "$TMP/bad.err" "running configuration unchanged" "an invalid reload says nothing changed"
bad "no such file|cannot open" reload "$TMP/missing.yaml"
sed 's/net_null1/net_null9/' "$CFG" >"$TMP/ports.yaml"
bad "restart" reload "$TMP/ports.yaml"

# reload: the file again (the runtime backend goes), then another file.
ok reload
has "$OUT" "^reloaded $CFG$" "reload says what it read"
ok show backends dns
hasnt "$OUT" '10\.1\.0\.22' "reload applies the file: the runtime backend is gone"
cp "$CFG" "$TMP/more.yaml"
cat >>"$TMP/more.yaml" <<-'EOF'
	  - name: extra
	    vip: 10.0.0.77
	    port: 8080
	EOF
ok reload "$TMP/more.yaml"
ok show services
has "$OUT" '^extra +10\.0\.0\.77:8080/tcp ' "reload FILE applies that file"

# limpetctl on its own: unreachable socket, options, a silent server.
set +e
timeout 10 "$LIMPETCTL" -s "$TMP/none.sock" show services >/dev/null 2>"$ERR"
rc=$?
set -e
check "limpetctl exits 2 when it cannot connect (got $rc)" [ "$rc" -eq 2 ]
set +e
LIMPET_SOCKET=$TMP/none.sock timeout 10 "$LIMPETCTL" --socket "$SOCK" show services >/dev/null 2>&1
rc=$?
set -e
check "-s/--socket wins over LIMPET_SOCKET (got $rc)" [ "$rc" -eq 0 ]
"$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(1)
c, _ = s.accept()
time.sleep(30)' "$TMP/mute.sock" &
HELPER_PID=$!
for _ in $(seq 50); do [ -S "$TMP/mute.sock" ] && break; sleep 0.1; done
start=$SECONDS
set +e
timeout 20 "$LIMPETCTL" -s "$TMP/mute.sock" -t 1 show services >/dev/null 2>"$ERR"
rc=$?
set -e
check "limpetctl gives up on a silent server with status 2 (got $rc)" [ "$rc" -eq 2 ]
check "limpetctl's timeout holds" [ $((SECONDS - start)) -le 5 ]
kill "$HELPER_PID" 2>/dev/null || true
wait "$HELPER_PID" 2>/dev/null || true
HELPER_PID=

# Several commands on one connection, each with its own status line.
printf 'show services\nbogus\n\n# note\nhelp x\n' | "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
sys.stdout.write(data.decode())' "$SOCK" >"$OUT"
check "one status line per request line" [ "$(grep -cE '^(OK|ERROR)$' "$OUT")" -eq 5 ]
check "statuses in order" [ "$(grep -E '^(OK|ERROR)$' "$OUT" | tr '\n' ' ')" = "OK ERROR OK OK ERROR " ]
has "$OUT" "^\| NAME +VIP" "output lines are tagged '| '"
has "$OUT" "^! unknown command 'bogus'" "error lines are tagged '! '"

ok quit
deadline=$((SECONDS + 20))
while kill -0 "$LIMPET_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
set +e
wait "$LIMPET_PID"
rc=$?
set -e
LIMPET_PID=
check "quit ends limpet with status 0 (got $rc)" [ "$rc" -eq 0 ]
check "the socket file is removed at exit" [ ! -e "$SOCK" ]

# ---------------------------------------------------------------------------
echo "== interactive (-i) on a pseudo-terminal"

cat >"$TMP/steps" <<-'EOF'
	expect limpet> 
	send show services
	expect ClientIP/10800s
	expect limpet> 
	send shwo
	expect unknown command 'shwo'
	expect limpet> 
	send quit
	EOF
# The shell records the terminal settings before and after: -i puts the
# terminal in raw mode and must give it back.
check "-i: show services, an error, quit" timeout 90 "$PY" "$HERE/pty_drive.py" "$TMP/pty.log" 60 "$TMP/steps" -- \
	sh -c "stty -g >'$TMP/stty.before'; '$LIMPET' ${EAL[*]} ${NULL_PORTS[*]} --file-prefix ${RUN}d -- \
		--config '$CFG' -i; rc=\$?; stty -g >'$TMP/stty.after'; exit \$rc"
check "the terminal settings are restored" cmp -s "$TMP/stty.before" "$TMP/stty.after"

# ---------------------------------------------------------------------------
echo "== flows and bindings (a pcap replayed on the wan port)"

"$PY" "$HERE/mkpcap.py" "$TMP/in.pcap" 02:00:00:00:00:01 10.0.0.100 80 10.0.0.50 5
sed -e 's/device: net_null0/device: net_pcap0/' -e 's/^services:/flows: { tcp_syn_timeout: 3600 }\nservices:/' \
	"$CFG" >"$TMP/pcap.yaml"
"$LIMPET" "${EAL[@]}" --vdev "net_pcap0,rx_pcap=$TMP/in.pcap,tx_pcap=$TMP/out.pcap" --vdev net_null1,no-rx=1 \
	--file-prefix "${RUN}e" -- --config "$TMP/pcap.yaml" --ctl-socket "$SOCK" >"$TMP/e.out" 2>"$TMP/e.err" &
LIMPET_PID=$!
deadline=$((SECONDS + 60))
# Settled: all 10 packets in, and every one sent, dropped or handed over
# (the per-worker invariant of lp_stats.h), so the burst is complete.
settled() {
	"$LIMPETCTL" -t 2 show stats >"$OUT" 2>/dev/null && [ "$(stat_of "$OUT" rx_pkts)" = 10 ] &&
		[ $(($(stat_of "$OUT" rx_pkts) + $(stat_of "$OUT" injected))) -eq \
		  $(($(stat_of "$OUT" tx_pkts) + $(stat_of "$OUT" drops) + $(stat_of "$OUT" slowpath))) ]
}
until settled; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$LIMPET_PID" 2>/dev/null; then
		echo "the pcap was not replayed:" >&2
		cat "$TMP/e.err" "$OUT" >&2
		exit 1
	fi
	sleep 0.2
done
pass
check "show stats: 5 flows created" [ "$(stat_of "$OUT" flow_new)" = 5 ]
check "show stats: 5 bindings created" [ "$(stat_of "$OUT" bindings_new)" = 5 ]
ok show flows
check "show flows lists the 5 flows" [ "$(grep -cE '^tcp +10\.0\.0\.5[0-4]:4000[0-4] +10\.0\.0\.100:80 +web +10\.1\.0\.1[12]:8080 ' "$OUT")" -eq 5 ]
ok show flows web 2
check "show flows NAME N lists N" [ "$(($(wc -l <"$OUT") - 1))" -eq 2 ]
ok show flows 3
check "show flows N lists N" [ "$(($(wc -l <"$OUT") - 1))" -eq 3 ]
ok show affinity web
check "show affinity lists 5 bindings" [ "$(($(wc -l <"$OUT") - 1))" -eq 5 ]
check "each binding has its live flow" [ "$(sumcol "$OUT" FLOWS)" -eq 5 ]
ok show affinity web 10.0.0.52
check "show affinity NAME CLIENT: that client's binding" \
	[ "$(awk 'NR > 1 { print $1 }' "$OUT")" = 10.0.0.52 ]
be=$(awk 'NR > 1 { print $2 }' "$OUT")
ok show backends web
check "BINDINGS adds up to the clients" [ "$(sumcol "$OUT" BINDINGS)" -eq 5 ]
check "FLOWS adds up to the flows" [ "$(sumcol "$OUT" FLOWS)" -eq 5 ]
check "PACKETS adds up to the packets" [ "$(sumcol "$OUT" PACKETS)" -eq 10 ]
ok show services
check "show services: bindings" [ "$(col "$OUT" web BINDINGS)" = 5 ]
check "show services: packets" [ "$(col "$OUT" web PACKETS)" = 10 ]
ok set backend web "$be" drain
ok show backends web
check "a draining backend keeps its bindings" [ "$(col "$OUT" "$be" STATE)" = draining ]
check "and still counts them" [ "$(sumcol "$OUT" BINDINGS)" -eq 5 ]
ok clear affinity web 10.0.0.52
has "$OUT" '^1 binding cleared$' "clear affinity NAME CLIENT"
ok show affinity web
check "4 bindings left" [ "$(($(wc -l <"$OUT") - 1))" -eq 4 ]
ok clear affinity web
has "$OUT" '^4 bindings cleared$' "clear affinity NAME"
ok clear stats
ok show stats
check "clear stats: rx_pkts 0" [ "$(stat_of "$OUT" rx_pkts)" = 0 ]
check "clear stats: per-service packets 0" [ "$(svc_stat "$OUT" web PACKETS)" = 0 ]
ok quit
set +e
timeout 20 tail --pid="$LIMPET_PID" -f /dev/null
wait "$LIMPET_PID"
rc=$?
set -e
LIMPET_PID=
check "limpet quits with status 0 (got $rc)" [ "$rc" -eq 0 ]

echo "cli: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
