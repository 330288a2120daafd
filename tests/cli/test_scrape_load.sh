#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Issue 14 §4.8, the scrape half: big scrapes do not hold the control
# thread. tools/bench/scrape_cli.sh runs limpet with the largest
# configuration allowed (8192 backends, about 11 MB of metrics text) and
# times limpetctl commands while two clients scrape back to back. The
# check is relative, so that it holds on any machine and under the
# sanitizers: 90% of the commands are answered in less than a quarter of the time
# a scrape takes (a control thread that renders the text itself keeps a
# command waiting for one or more whole renders).
#
# usage: test_scrape_load.sh LIMPET LIMPETCTL TESTS_CLI_DIR
set -euo pipefail
LIMPET=$1
HERE=$3
BUILD=$(cd "$(dirname "$LIMPET")/.." && pwd)
OUT=$(mktemp /tmp/limpet-scrape-load.XXXXXX)
trap 'rm -f "$OUT"' EXIT

BUILD=$BUILD SCRAPERS=2 SAMPLES=40 "$HERE/../../tools/bench/scrape_cli.sh" | tee "$OUT"
fig() { awk -v n="$1" '$1 == n { print $2 }' "$OUT"; }
p90=$(fig cli_during_scrapes_p90)
scrape=$(fig scrape_time_p50)
[ -n "$p90" ] && [ -n "$scrape" ] || { echo "FAIL: the benchmark gave no figures" >&2; exit 1; }
if awk -v a="$p90" -v b="$scrape" 'BEGIN { exit !(a < b / 4) }'; then
	echo "ok: limpetctl p90 $p90 ms while scraping, a scrape takes $scrape ms"
else
	echo "FAIL: limpetctl p90 $p90 ms while scraping is not under a quarter of a scrape's $scrape ms:" \
		"the control thread waits for the renders" >&2
	exit 1
fi
