#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# limpet's whole test suite: unit (CUnit), integration (EAL over net_ring
# and net_pcap with two workers), e2e (real kernel TCP in network
# namespaces), then unit + integration again under AddressSanitizer and
# UBSan. Installs what it needs. Run as root from a checkout.
#
# A test that cannot run here exits 77 and meson counts it as skipped. Each
# one is listed with its reason after its run ("skipped: NAME: REASON"), as
# is a suite that ran no test at all (a dependency missing when meson
# configured the build). With CI=true (the CI sets it) either fails the run:
# tools/deps.sh installs all that every test needs, so on the CI nothing
# may be skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh

# The suites each build must run: a suite absent from its log was skipped
# as a whole, and counts as a skip.
suites_build=(unit integration cli gen notify docs pkg e2e obs cluster)
suites_asan=(unit integration cli gen notify cluster)

# skips DIR SUITE...: what the last `meson test` in DIR skipped, one
# "skipped: NAME: REASON" line each; status 1 when anything was skipped and
# CI is true.
skips() {
	python3 - "$@" <<'EOF'
import json, os, sys
build, suites = sys.argv[1], sys.argv[2:]
ci = os.environ.get("CI", "").lower() in ("true", "1", "yes")
ran, skipped = set(), []
try:
    log = open(os.path.join(build, "meson-logs", "testlog.json"))
except OSError as e:
    sys.exit("limpet: no test log in %s: %s" % (build, e))
for line in log:
    t = json.loads(line)
    project_suite = t["name"].split(" / ")[0]
    ran.add(project_suite.split(":", 1)[-1])
    if t.get("result") != "SKIP":
        continue
    out = ((t.get("stdout") or "") + "\n" + (t.get("stderr") or "")).splitlines()
    said = [l.strip() for l in out if l.strip()]
    why = next((l for l in reversed(said) if "SKIP" in l.upper()), said[-1] if said else "exit status 77")
    skipped.append("%s: %s" % (t["name"].split(" / ")[-1], why))
for s in suites:
    if s not in ran:
        skipped.append("suite %s: no test ran (not registered when meson configured %s?)" % (s, build))
for s in skipped:
    print("skipped: " + s, file=sys.stderr)
if skipped and ci:
    print("limpet: %d skipped under CI=true: tools/deps.sh must install what they need" % len(skipped),
          file=sys.stderr)
    sys.exit(1)
EOF
}

setup() {	# setup DIR [meson options...]
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

status=0
setup build
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 || status=1
skips build "${suites_build[@]}" || status=1

# The sanitizers see the lib through the unit, integration, CLI, generator
# (the real binary in replay mode) and cluster (a real redis-server) tests;
# e2e tests run the build above.
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -De2e=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes 2 "${suites_asan[@]/#/--suite=}" || status=1
skips build-asan "${suites_asan[@]}" || status=1

if [ $status -eq 0 ]; then
	echo "limpet: all test suites passed"
else
	echo "limpet: some tests failed (see above)" >&2
fi
exit $status
