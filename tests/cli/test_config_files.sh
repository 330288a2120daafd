#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Config files against the real binary, the way an attacker or an unlucky
# operator hands them over (issue 14 §4):
#  - `limpet --check-config` and `limpetctl reload` refuse a FIFO, a device
#    and a directory at once, and limpet still answers afterwards;
#  - the limits of a config are the same for --check-config and a reload,
#    with file:line:col (2000 services, 50000 backends), 16 MiB exactly is
#    a config file and one byte more is not, 100k nested '[' is refused;
#  - `save config` refuses a FIFO, a directory and a symbolic link out of
#    its directory, follows one inside it, and creates files mode 0640;
#  - while a writer rewrites the config in place, one write() per line,
#    200 reloads never apply a partial file: `show config` only ever shows
#    the old or the new complete config.
#
# usage: test_config_files.sh LIMPET LIMPETCTL
# Needs EAL without hugepages (net_null ports); creates no network.
set -euo pipefail

LIMPET=$1
LIMPETCTL=$2
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
RELOADS=${RELOADS:-200}

TMP=$(mktemp -d /tmp/limpet-cfgfiles.XXXXXX)
RUN=lpcfg$$
EAL=(-l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error)
NULL_PORTS=(--vdev net_null0,no-rx=1 --vdev net_null1,no-rx=1)
LIMPET_PID=
WRITER_PID=

cleanup() {
	local pid
	for pid in $WRITER_PID $LIMPET_PID; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $WRITER_PID $LIMPET_PID; do
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
check() {
	local what=$1
	shift
	if "$@"; then pass; else fail "$what"; fi
}
differ() { ! cmp -s "$1" "$2"; }
has() { if grep -Eq -- "$2" "$1"; then pass; else fail "$3: no /$2/ in $1:"; sed 's/^/    /' "$1" >&2; fi; }

# config FILE N_SERVICES: two ports, neighbors, N services with two backends each.
config() {
	local i
	{
		cat <<-'EOF'
		ports:
		  - { name: wan, device: net_null0, address: 10.0.0.1/24 }
		  - { name: lan, device: net_null1, address: 10.1.0.1/16 }
		neighbors:
		  - { address: 10.1.0.11, mac: "02:00:00:00:01:0b", port: lan }
		  - { address: 10.1.0.12, mac: "02:00:00:00:01:0c", port: lan }
		services:
		EOF
		for ((i = 0; i < $2; i++)); do
			printf '  - name: svc%d\n    vip: 10.0.0.%d\n    port: 80\n' "$i" $((100 + i))
			printf '    healthCheck: { type: none, interval: 1, timeout: 1 }\n'
			printf '    backends:\n      - { address: 10.1.0.11 }\n      - { address: 10.1.0.12 }\n'
		done
	} >"$1"
}

# many_services FILE N: N services of one backend each (a service per line).
many_services() {
	"$PY" - "$1" "$2" <<-'EOF'
	import sys
	path, n = sys.argv[1], int(sys.argv[2])
	with open(path, "w") as f:
	    f.write("ports:\n  - { name: wan, device: net_null0, address: 10.0.0.1/24 }\n"
	            "  - { name: lan, device: net_null1, address: 10.1.0.1/16 }\nservices:\n")
	    for i in range(n):
	        f.write(f"  - {{ name: s{i}, vip: 10.0.{i // 250}.{1 + i % 250}, port: 80, "
	                f"backends: [ {{ address: 10.1.0.11 }} ] }}\n")
	EOF
}

# many_backends FILE N_SERVICES PER_SERVICE
many_backends() {
	"$PY" - "$1" "$2" "$3" <<-'EOF'
	import sys
	path, n, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	with open(path, "w") as f:
	    f.write("ports:\n  - { name: wan, device: net_null0, address: 10.0.0.1/24 }\n"
	            "  - { name: lan, device: net_null1, address: 10.1.0.1/16 }\nservices:\n")
	    for i in range(n):
	        f.write(f"  - name: s{i}\n    vip: 10.0.0.{100 + i}\n    port: 80\n    backends:\n")
	        for b in range(per):
	            f.write(f"      - {{ address: 10.1.{b // 250}.{1 + b % 250} }}\n")
	EOF
}

# check_config_fails FILE ERE: --check-config exits 1 within 5 s, saying ERE.
check_config_fails() {
	local rc=0
	timeout 5 "$LIMPET" --check-config "$1" >"$TMP/check.out" 2>"$TMP/check.err" || rc=$?
	check "--check-config $1 exits 1 (got $rc)" [ "$rc" -eq 1 ]
	has "$TMP/check.err" "$2" "--check-config $1"
}

# ---------------------------------------------------------------------------
echo "== --check-config: not regular files, limits, size, nesting"

mkfifo "$TMP/fifo.yaml"
check_config_fails "$TMP/fifo.yaml" "^$TMP/fifo\.yaml: not a regular file \(a FIFO\), not read$"
check_config_fails /dev/null "^/dev/null: not a regular file \(a character device\), not read$"
check_config_fails "$TMP" "not a regular file \(a directory\)"

many_services "$TMP/s1024.yaml" 1024
check "1024 services pass --check-config" "$LIMPET" --check-config "$TMP/s1024.yaml" >/dev/null
many_services "$TMP/s2000.yaml" 2000
check_config_fails "$TMP/s2000.yaml" "^$TMP/s2000\.yaml:1029:5: services: more than 1024 services$"
many_backends "$TMP/b8192.yaml" 2 4096
check "8192 backends pass --check-config" "$LIMPET" --check-config "$TMP/b8192.yaml" >/dev/null
many_backends "$TMP/b50000.yaml" 13 3846
check_config_fails "$TMP/b50000.yaml" "^$TMP/b50000\.yaml:[0-9]+:9: backends: more than 8192 backends in all services$"

# 16 MiB exactly: the 16-service config padded with comment lines.
config "$TMP/pad.yaml" 16
"$PY" - "$TMP/pad.yaml" $((16 << 20)) <<-'EOF'
import sys
path, size = sys.argv[1], int(sys.argv[2])
text = open(path).read()
pad = size - len(text)
lines = [("#" + "x" * 98 + "\n")] * (pad // 100)
rest = pad - 100 * len(lines)
text += "".join(lines) + ("#" + "x" * (rest - 2) + "\n" if rest >= 2 else "\n" * rest)
open(path, "w").write(text)
EOF
check "the padded file is 16 MiB" [ "$(stat -c %s "$TMP/pad.yaml")" -eq $((16 << 20)) ]
check "16 MiB exactly passes --check-config" "$LIMPET" --check-config "$TMP/pad.yaml" >/dev/null
echo "#" >>"$TMP/pad.yaml"
check_config_fails "$TMP/pad.yaml" "larger than 16 MiB, not a config file"

"$PY" -c 'import sys; open(sys.argv[1], "w").write("ports: " + "[" * 100000 + "]" * 100000 + "\n")' "$TMP/deep.yaml"
check_config_fails "$TMP/deep.yaml" "^$TMP/deep\.yaml:1:39: nesting deeper than 32$"

# ---------------------------------------------------------------------------
echo "== a running limpet: reload and save config"

CFG=$TMP/limpet.yaml
config "$CFG" 3
SOCK=$TMP/limpet.sock
export LIMPET_SOCKET=$SOCK
"$LIMPET" "${EAL[@]}" "${NULL_PORTS[@]}" --file-prefix "$RUN" -- --config "$CFG" \
	--ctl-socket "$SOCK" >"$TMP/limpet.out" 2>"$TMP/limpet.err" &
LIMPET_PID=$!

OUT=$TMP/ctl.out
ERR=$TMP/ctl.err
ctl() {	# limpetctl ARGS...: rc in $rc, output in $OUT and $ERR
	set +e
	timeout 30 "$LIMPETCTL" -t 20 "$@" >"$OUT" 2>"$ERR"
	rc=$?
	set -e
}
ok() {
	ctl "$@"
	if [ "$rc" -eq 0 ]; then pass; else fail "limpetctl $* exited $rc:"; sed 's/^/    /' "$ERR" >&2; fi
}
# refused ERE ARGS...: the command fails at once (in 5 s), says ERE, and
# `show config` answers and is unchanged.
refused() {
	local want=$1 start
	shift
	start=$SECONDS
	set +e
	timeout 5 "$LIMPETCTL" -t 4 "$@" >"$OUT" 2>"$ERR"
	rc=$?
	set -e
	check "limpetctl $* fails at once (exit $rc after $((SECONDS - start)) s)" [ "$rc" -eq 1 ]
	cp "$ERR" "$TMP/refused.err"
	has "$TMP/refused.err" "$want" "limpetctl $*"
	ctl show config
	if [ "$rc" -eq 0 ] && cmp -s "$OUT" "$TMP/config.before"; then
		pass
	else
		fail "after limpetctl $*: show config (exit $rc) differs or fails"
	fi
}

deadline=$((SECONDS + 60))
until "$LIMPETCTL" -t 2 show services >/dev/null 2>&1; do
	if [ $SECONDS -ge $deadline ] || ! kill -0 "$LIMPET_PID" 2>/dev/null; then
		echo "limpet did not come up:" >&2
		cat "$TMP/limpet.err" >&2
		exit 1
	fi
	sleep 0.2
done
pass
ok show config
cp "$OUT" "$TMP/config.before"
has "$OUT" "interval: 1, timeout: 1," "healthCheck timeout equal to interval is accepted"

# A FIFO: before, the control thread slept in open() until a writer came.
refused "fifo\.yaml: not a regular file \(a FIFO\), not read" reload "$TMP/fifo.yaml"
has "$TMP/refused.err" "reload of $TMP/fifo\.yaml refused, running configuration unchanged" "reload of a FIFO"
refused "not a regular file \(a character device\)" reload /dev/null
refused "not a regular file \(a directory\)" reload "$TMP"
# The daemon's limits are the check's, with positions.
refused "s2000\.yaml:1029:5: services: more than 1024 services" reload "$TMP/s2000.yaml"
refused "b50000\.yaml:[0-9]+:9: backends: more than 8192 backends in all services" reload "$TMP/b50000.yaml"
refused "deep\.yaml:1:39: nesting deeper than 32" reload "$TMP/deep.yaml"

# save config: never over something that is not a regular file.
refused "fifo\.yaml is not a regular file \(a FIFO\): not replaced" save config "$TMP/fifo.yaml"
check "the FIFO is still a FIFO" [ -p "$TMP/fifo.yaml" ]
mkdir "$TMP/dir.yaml"
refused "dir\.yaml is not a regular file \(a directory\): not replaced" save config "$TMP/dir.yaml"
mkdir -p "$TMP/etc" "$TMP/out"
echo "precious" >"$TMP/out/passwd"
ln -s "$TMP/out/passwd" "$TMP/etc/limpet.yaml"
refused "limpet\.yaml is a symbolic link out of its directory \(to $TMP/out/passwd\): not followed" \
	save config "$TMP/etc/limpet.yaml"
check "the file outside is untouched" [ "$(cat "$TMP/out/passwd")" = precious ]
check "the link is still a link" [ -L "$TMP/etc/limpet.yaml" ]
mkdir "$TMP/etc/sub"
ln -s sub "$TMP/etc/sub.yaml"
refused "sub\.yaml is a symbolic link to $TMP/etc/sub, not a regular file" save config "$TMP/etc/sub.yaml"
# A link inside its directory names the file saved; the link stays.
echo "old" >"$TMP/etc/real.yaml"
chmod 0644 "$TMP/etc/real.yaml"
ln -s real.yaml "$TMP/etc/current.yaml"
ok save config "$TMP/etc/current.yaml"
has "$OUT" "^saved $TMP/etc/real\.yaml$" "save config through a link in the same directory"
check "the link is still a link" [ -L "$TMP/etc/current.yaml" ]
check "the file it names holds the config" "$LIMPET" --check-config "$TMP/etc/real.yaml" >/dev/null
check "a replaced file keeps its mode (got $(stat -c %a "$TMP/etc/real.yaml"))" \
	[ "$(stat -c %a "$TMP/etc/real.yaml")" = 644 ]
ok save config "$TMP/etc/new.yaml"
check "a new file is mode 0640 (got $(stat -c %a "$TMP/etc/new.yaml"))" [ "$(stat -c %a "$TMP/etc/new.yaml")" = 640 ]
check "no temporary file is left" [ "$(find "$TMP/etc" -name '*.yaml.*' | wc -l)" -eq 0 ]

# ---------------------------------------------------------------------------
echo "== $RELOADS reloads while the file is rewritten in place, one write() per line"

# The two complete configs, as show config renders them.
config "$TMP/old.yaml" 3
config "$TMP/new.yaml" 6
ok reload "$TMP/new.yaml"
ok show config
cp "$OUT" "$TMP/show.new"
ok reload "$TMP/old.yaml"
ok show config
cp "$OUT" "$TMP/show.old"
check "the two configs render apart" differ "$TMP/show.old" "$TMP/show.new"
cp "$TMP/old.yaml" "$TMP/live.yaml"

# The writer: truncate, then one os.write() per line (pauses of 0-2 ms
# between lines), then a pause of 0-300 ms; old and new in turns.
"$PY" - "$TMP/live.yaml" "$TMP/old.yaml" "$TMP/new.yaml" <<-'EOF' &
import os, random, sys, time
live, texts = sys.argv[1], [open(p).read().splitlines(True) for p in sys.argv[2:]]
rng = random.Random(14)
n = 0
while True:
    fd = os.open(live, os.O_WRONLY | os.O_TRUNC)
    for line in texts[n % 2]:
        os.write(fd, line.encode())
        time.sleep(rng.random() * 0.002)
    os.close(fd)
    n += 1
    time.sleep(rng.random() * 0.3)
EOF
WRITER_PID=$!

applied=0
not_read=0
partial=0
for ((i = 0; i < RELOADS; i++)); do
	ctl reload "$TMP/live.yaml"
	if [ "$rc" -eq 0 ]; then
		applied=$((applied + 1))
	elif grep -q "not read: " "$ERR"; then
		not_read=$((not_read + 1))
	else
		fail "reload $i: neither applied nor refused as being written:"
		sed 's/^/    /' "$ERR" >&2
	fi
	ctl show config
	if ! cmp -s "$OUT" "$TMP/show.old" && ! cmp -s "$OUT" "$TMP/show.new"; then
		partial=$((partial + 1))
		fail "reload $i applied a partial file: show config has $(grep -c '^  - name:' "$OUT") services"
	fi
done
kill "$WRITER_PID"
wait "$WRITER_PID" 2>/dev/null || true
WRITER_PID=
echo "   $RELOADS reloads: $applied applied, $not_read refused as being written, $partial partial"
check "$RELOADS reloads, none partial" [ "$partial" -eq 0 ]
check "most reloads were applied" [ "$applied" -gt $((RELOADS / 2)) ]

ok quit
set +e
timeout 20 tail --pid="$LIMPET_PID" -f /dev/null
wait "$LIMPET_PID"
rc=$?
set -e
LIMPET_PID=
check "limpet quits with status 0 (got $rc)" [ "$rc" -eq 0 ]

echo "config files: $checks checks, $failures failed"
[ "$failures" -eq 0 ]
