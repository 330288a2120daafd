#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Case 1: 200 requests (curl, a new connection each) from 20 client
# addresses. With sessionAffinity: ClientIP every client always sees one
# backend; without it the connections spread over all backends.
#
#   test_affinity.sh nat|dsr
set -euo pipefail
. "$(dirname "$0")/lab.sh"
MODE=${1:?usage: $0 nat|dsr}

lab_up
lab_mode "$MODE"
lab_backends_start

# The first start of the data path may lose the first SYN while limpet
# resolves a backend: wait until the service answers at all.
ready() { lab_get "${CLIENT4[0]}" >/dev/null; }

lab_config "$MODE" affinity=1 >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" ready
out=$(lab_sweep 10)
fails=$(grep -c ' -$' <<<"$out" || true)
[ "$fails" -eq 0 ] || lab_die "$fails of 200 requests failed with affinity"
per_client=$(sort -u <<<"$out" | awk '{n[$1]++} END {for (c in n) print c, n[c]}')
bad=$(awk '$2 != 1' <<<"$per_client")
[ -z "$bad" ] || lab_die "clients that saw more than one backend with ClientIP affinity:"$'\n'"$bad"
[ "$(wc -l <<<"$per_client")" -eq 20 ] || lab_die "expected answers for 20 clients"
echo "clients per backend with affinity:"
sort -u <<<"$out" | awk '{print $2}' | sort | uniq -c | sed 's/^/  /'
used=$(sort -u <<<"$out" | awk '{print $2}' | sort -u | wc -l)
[ "$used" -ge 3 ] || lab_die "20 clients landed on only $used backends"
lab_ok "ClientIP affinity: 200 requests, each of 20 clients always saw one backend ($used backends in use)"
lab_limpet_stop

lab_config "$MODE" affinity=0 >"$LAB_DIR/limpet.yaml"
lab_limpet_start "$LAB_DIR/limpet.yaml"
lab_wait 10 "the service to answer" ready
out=$(lab_sweep 10)
fails=$(grep -c ' -$' <<<"$out" || true)
[ "$fails" -eq 0 ] || lab_die "$fails of 200 requests failed without affinity"
echo "requests per backend without affinity:"
awk '{print $2}' <<<"$out" | sort | uniq -c | sed 's/^/  /'
used=$(awk '{print $2}' <<<"$out" | sort -u | wc -l)
[ "$used" -eq 4 ] || lab_die "without affinity only $used of 4 backends were used"
multi=$(sort -u <<<"$out" | awk '{n[$1]++} END {for (c in n) if (n[c] > 1) k++; print k + 0}')
[ "$multi" -ge 10 ] || lab_die "without affinity only $multi of 20 clients saw more than one backend"
lab_ok "no affinity: 200 requests used all 4 backends, $multi of 20 clients saw several"
echo "PASS: affinity ($MODE)"
