#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The CLI under random input: 3000 command lines with real verbs and
# random, overlong, out-of-range and malformed arguments, and 300 reloads
# of randomly changed configuration files (fixed seed), go through
# --cmdline-file into a running limpet. It must not crash, must
# answer every failing line with exactly one "FILE:LINE: message", and what
# the lines that succeeded left behind must still be a valid configuration:
# `save config` at the end writes it, `limpet --check-config` accepts it.
# Then the control socket gets 400 connections of garbage: random bytes,
# a megabyte without a newline, thousands of empty lines, NUL bytes, replies
# nobody reads; limpet must still answer the next client.
# A sanitizer build reports memory errors on stderr, and those fail too.
#
# usage: fuzz_cli.sh LIMPET
set -euo pipefail

LIMPET=$1
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
TMP=$(mktemp -d /tmp/limpet-fuzz.XXXXXX)
LIMPET_PID=
cleanup() {
	if [ -n "$LIMPET_PID" ]; then
		kill -TERM "$LIMPET_PID" 2>/dev/null || true
		timeout 10 tail --pid="$LIMPET_PID" -f /dev/null 2>/dev/null || kill -KILL "$LIMPET_PID" 2>/dev/null || true
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$TMP"
}
trap cleanup EXIT

cat >"$TMP/cfg.yaml" <<'YAML'
ports:
  - { name: wan, device: net_null0, address: [10.0.0.1/24, "fd00::1/64"], gateway: 10.0.0.254 }
services:
  - name: web
    vip: 10.0.0.100
    port: 80
    forwarding: tunnel
    sessionAffinity: ClientIP
    backends: [ { address: 10.1.0.11, port: 8080 }, { address: "fd00::12", port: 8080 } ]
  - name: dns
    vip: 10.0.0.53
    port: 53
    protocol: UDP
    backends: [ { address: 10.1.0.21, port: 53 } ]
YAML

"$PY" - "$TMP/cmds.txt" "$TMP/saved.yaml" "$TMP/cfg.yaml" <<'PYEOF'
import random, sys
out, saved, cfg = sys.argv[1:4]
rnd = random.Random(20261124)
pick = rnd.choice
svcs = ["web", "dns", "s1", "s2", "s3", "s6a"]
vips = ["10.0.0.100", "10.0.0.101", "10.0.0.102", "fd00::100", "fd00::101", "10.0.0.53"]
bes = ["10.1.0.11:8080", "10.1.0.12:8080", "10.1.0.13", "10.1.0.14:9090", "[fd00::12]:8080",
       "[fd00::13]:8080", "fd00::14", "10.1.0.21:53"]
ints = ["0", "1", "2", "3", "24", "32", "64", "128", "10800", "65535"]
# Values that are wrong somewhere: out of range, malformed, overlong, odd bytes.
bad = ["-1", "65536", "4294967296", "99999999999999999999", "1.5", "0x10", "33", "129", "86401",
       "10.1.0.11:99999", "[::1]:0", "[fd00::12", "fd00::12:80", "10.1.0.0/24", "300.1.1.1",
       "nosuch", "x" * 300, "w\u00e9b", "%s%n", "'", "\"", "", "tcp", "up", "weight", "prefix"]
opts = [["tcp"], ["udp"], ["nat"], ["dsr"], ["tunnel"], ["scheduler", "wrr"], ["scheduler", "least_conn"],
        ["affinity", "clientip"], ["affinity", "none"], ["timeout", "60"], ["prefix", "24"],
        ["target-port", "8080"], ["bounded", "1.25"], ["slow-start", "10"], ["drain-timeout", "5"],
        ["rebalance", "idle"], ["rebalance-rate", "100"], ["maglev-size", "251"], ["health", "tcp"],
        ["health", "http"], ["health-path", "/h"], ["health-interval", "0.5"], ["rise", "2"],
        ["fall", "3"], ["tunnel-source", "172.20.0.0/16"]]


def line():
    r = rnd.random()
    if r < 0.15:
        w = ["add", "service", pick(svcs), pick(vips), pick(["80", "443", "53", "8080"])]
        for o in rnd.sample(opts, rnd.randint(0, 4)):
            w += o
    elif r < 0.22:
        w = ["del", "service", pick(svcs)]
    elif r < 0.40:
        w = ["add", "backend", pick(svcs), pick(bes)] + (["weight", pick(ints)] if rnd.random() < 0.5 else [])
    elif r < 0.50:
        w = ["del", "backend", pick(svcs), pick(bes)]
    elif r < 0.68:
        w = ["set", "backend", pick(svcs), pick(bes)] + pick([["weight", pick(ints)], ["up"], ["down"], ["drain"]])
    elif r < 0.75:
        w = ["set", "service", pick(svcs), "affinity"] + pick([["timeout", pick(ints)], ["prefix", pick(ints)],
                                                               ["timeout", pick(ints), "prefix", pick(ints)]])
    elif r < 0.80:
        w = ["clear", "affinity", pick(svcs)] + ([pick(vips)] if rnd.random() < 0.5 else [])
    elif r < 0.82:
        w = ["reload"] + ([pick([cfg, "/nonexistent/cfg.yaml"])] if rnd.random() < 0.7 else [])
    else:
        w = pick([["show", "services"], ["show", "service", pick(svcs)], ["show", "backends", pick(svcs)],
                  ["show", "affinity", pick(svcs)], ["show", "flows"], ["show", "stats"], ["show", "config"],
                  ["show", "stats", "service", pick(svcs)], ["show", "stats", "backend", pick(svcs), pick(bes)],
                  ["clear", "stats"], ["help"]])
    if rnd.random() < 0.3:  # one word made bad, dropped, or added
        i = rnd.randrange(len(w))
        k = rnd.random()
        if k < 0.6:
            w[i] = pick(bad)
        elif k < 0.8 and len(w) > 1:
            del w[i]
        else:
            w.insert(i + 1, pick(bad))
    text = " ".join(w)
    if rnd.random() < 0.03:  # a few bytes overwritten
        b = bytearray(text.encode())
        for _ in range(2):
            b[rnd.randrange(len(b))] = rnd.randrange(1, 128)
        text = b.decode("ascii", "replace").replace("\n", " ").replace("\r", " ")
    return text


# Configurations for `reload FILE`: the start-up one with one to three
# lines changed, dropped, doubled or swapped, values replaced by others
# (valid or not), or the file cut short. Some are valid and differ in what
# reload applies (backends, weights, states, services, affinity), most are
# refused with their file:line:col problems.
base = open(cfg).read().splitlines() + [
    "  - name: s1",
    "    vip: 10.0.0.101",
    "    port: 8080",
    "    sessionAffinity: ClientIP",
    "    sessionAffinityConfig: { clientIP: { timeoutSeconds: 60, prefixV4: 24 } }",
    "    boundedLoad: 1.25",
    "    backends:",
    "      - { address: 10.1.0.31, port: 80, weight: 2 }",
    "      - { address: 10.1.0.32, port: 80, state: drain }",
    "  - name: s6a",
    "    vip: fd00::100",
    "    port: 443",
    "    forwarding: dsr",
    "    backends: [ { address: \"fd00::31\" }, { address: \"fd00::32\", weight: 3 } ]",
]
values = ["0", "1", "3", "65535", "65536", "-1", "1.5", "TCP", "UDP", "udp", "nat", "dsr", "tunnel",
          "ClientIP", "None", "up", "down", "drain", "10.0.0.100", "10.1.0.11", "fd00::100", "[]", "{}",
          "wrr", "least_conn", "idle", "\"x\"", "~", "yes", "1e9", "net_null1", "10.0.0.1/24", "[1, 2]"]
import os, re
rl = os.path.join(os.path.dirname(out), "rl")
os.makedirs(rl, exist_ok=True)


def variant(k):
    t = list(base)
    for _ in range(1 + rnd.randrange(3)):
        if not t:
            break
        i = rnd.randrange(len(t))
        op = rnd.random()
        if op < 0.45:
            m = list(re.finditer(r"(:\s*)([^,{}\[\]\s][^,{}\]]*?)(\s*[,}\]]|$)", t[i]))
            if m:
                g = rnd.choice(m)
                t[i] = t[i][:g.start(2)] + rnd.choice(values) + t[i][g.end(2):]
        elif op < 0.6:
            del t[i]
        elif op < 0.7:
            t.insert(i, t[i])
        elif op < 0.8:
            j = rnd.randrange(len(t))
            t[i], t[j] = t[j], t[i]
        elif op < 0.9:
            t[i] = " " * rnd.randrange(8) + t[i].lstrip()
        else:
            t = t[:i]
    path = os.path.join(rl, "%d.yaml" % k)
    with open(path, "w") as f:
        f.write("\n".join(t) + "\n")
    return path


lines = [line() for _ in range(3000)]
for k in range(300):
    lines.insert(rnd.randrange(len(lines)), "reload " + variant(k))
lines.append("save config " + saved)
with open(out, "w") as f:
    f.write("\n".join(lines) + "\n")
PYEOF

checks=0 failed=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failed=$((failed + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then pass; else fail "$what"; fi; }
no_sanitizer_report() {	# FILE: a sanitizer build's stderr
	if grep -q 'Sanitizer\|runtime error' "$1"; then
		fail "sanitizer report in $(basename "$1"):"
		grep -m 20 'Sanitizer\|runtime error\|#[0-9]' "$1" >&2
	else
		pass
	fi
}

set +e
timeout 240 "$LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error \
	--vdev net_null0,no-rx=1 -- --config "$TMP/cfg.yaml" --cmdline-file "$TMP/cmds.txt" \
	--idle-exit 1000 >"$TMP/out" 2>"$TMP/err"
rc=$?
set -e
check "limpet exits 0 after 3300 random command lines (got $rc)" [ "$rc" -eq 0 ]
no_sanitizer_report "$TMP/err"
grep "^$TMP/cmds.txt:[0-9]*: " "$TMP/err" >"$TMP/errs" || true
errs=$(wc -l <"$TMP/errs")
# The lines with no error: how many of them changed something.
grep -o "^$TMP/cmds.txt:[0-9]*: " "$TMP/errs" | sed 's/.*:\([0-9]*\): $/\1/' | sort -un >"$TMP/refused"
changed=$(awk 'NR == FNR { bad[$1] = 1; next }
	!(FNR in bad) && $1 ~ /^(add|del|set|clear|reload)$/ && $2 != "stats" { n++ }
	END { print n + 0 }' "$TMP/refused" "$TMP/cmds.txt")
check "some lines were refused ($errs errors)" [ "$errs" -gt 1000 ]
check "some lines changed the configuration ($changed)" [ "$changed" -gt 200 ]
reloaded=$(grep -c "^reloaded $TMP/rl/" "$TMP/out" || true)
refused=$(grep -c "reload of $TMP/rl/.* refused" "$TMP/err" || true)
check "some changed files were reloaded ($reloaded)" [ "$reloaded" -gt 10 ]
check "some were refused ($refused)" [ "$refused" -gt 100 ]
# A refused reload says why: each has a problem line of its own.
silent=$(awk -F': ' '{ n = $1; sub(/.*:/, "", n) }
	/ refused, running configuration unchanged$/ { r[n] = 1; next } { p[n]++ }
	END { for (n in r) if (!(n in p)) c++; print c + 0 }' "$TMP/errs")
check "every refused reload names its problems ($silent without)" [ "$silent" -eq 0 ]
check "errors name only lines of the file" [ "$(tail -1 "$TMP/refused")" -le 3301 ]
check "every error is one FILE:LINE: line" \
	[ "$(grep -vc "^$TMP/cmds.txt:[0-9]*: \|^limpet: \|^EAL: \|^TELEMETRY: " "$TMP/err" || true)" -eq 0 ]
check "save config wrote the running configuration" [ -s "$TMP/saved.yaml" ]
if "$LIMPET" --check-config "$TMP/saved.yaml" >"$TMP/check" 2>&1; then
	pass
else
	fail "the configuration the random lines left is invalid:"
	sed 's/^/    /' "$TMP/check" >&2
fi

# ---- the control socket ----
SOCK=$TMP/ctl.sock
"$LIMPET" -l 0-1 --no-pci --no-huge --no-shconf -m 1024 --log-level lib.eal:error \
	--vdev net_null0,no-rx=1 -- --config "$TMP/cfg.yaml" --ctl-socket "$SOCK" >"$TMP/sock.out" 2>"$TMP/sock.err" &
LIMPET_PID=$!
set +e
timeout 120 "$PY" - "$SOCK" >"$TMP/sock.py" 2>&1 <<'PYEOF'
import random, socket, sys, time
path = sys.argv[1]
rnd = random.Random(20261124)
deadline = time.time() + 60
while True:
    try:
        socket.socket(socket.AF_UNIX).connect(path)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("limpet's socket never came up")
        time.sleep(0.2)


def junk():
    k = rnd.random()
    if k < 0.3:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 300)))
    if k < 0.4:
        return b"show services" * 80000		# a megabyte, no newline
    if k < 0.5:
        return b"\n" * 5000
    if k < 0.6:
        return b"show config\n" * 200
    if k < 0.7:
        return b"\x00" * 1000 + b"\n"
    if k < 0.8:
        return b"show flows 100000\n"
    return (rnd.choice([b"show ", b"add backend web ", b"set backend web 10.1.0.11:8080 ", b"clear affinity web "])
            + bytes(rnd.choice(b"0123456789abcdef:.[] ") for _ in range(rnd.randrange(40))) + b"\n")


for _ in range(400):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    try:
        s.sendall(junk())
        if rnd.random() < 0.5:		# read the replies to the end
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
    except OSError:
        pass				# limpet may hang up on garbage: that is its right
    s.close()
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
s.sendall(b"show services\n")
s.shutdown(socket.SHUT_WR)
reply = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    reply += d
print(reply.decode(errors="replace"))
PYEOF
prc=$?
set -e
check "400 garbage connections, then a client is answered (rc $prc)" [ "$prc" -eq 0 ]
if grep -q '^| web ' "$TMP/sock.py" && grep -qx OK "$TMP/sock.py"; then
	pass
else
	fail "show services over the socket after the garbage:"
	sed 's/^/    /' "$TMP/sock.py" >&2
fi
kill -TERM "$LIMPET_PID"
set +e
wait "$LIMPET_PID"
rc=$?
set -e
LIMPET_PID=
check "limpet stops cleanly on SIGTERM after that (got $rc)" [ "$rc" -eq 0 ]
no_sanitizer_report "$TMP/sock.err"

echo "cli-fuzz: $checks checks, $failed failed ($(wc -l <"$TMP/refused") of 3301 lines refused, $changed changes applied, $reloaded of 300 changed files reloaded)"
[ "$failed" -eq 0 ]
