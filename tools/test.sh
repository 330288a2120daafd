#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# limpet's whole test suite: unit (CUnit), integration (EAL over net_ring
# and net_pcap with two workers), e2e (real kernel TCP in network
# namespaces), then unit + integration again under AddressSanitizer and
# UBSan. Installs what it needs. Run as root from a checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/deps.sh

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

# The sanitizers see the lib through the unit, integration, CLI and generator
# tests (the real binary in replay mode); e2e tests run the build above.
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -De2e=false
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --print-errorlogs --num-processes 2 --suite unit --suite integration --suite cli --suite gen --suite notify || status=1

if [ $status -eq 0 ]; then
	echo "limpet: all test suites passed"
else
	echo "limpet: some tests failed (see above)" >&2
fi
exit $status
