/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A full flow shard: new connections keep being forwarded, statelessly and
 * to the same backend Maglev would give them, a counter says so, and no
 * mbuf leaks.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_mempool.h>

#include "itest.h"
#include "lp_test.h"

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"flows: { capacity: 2048 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	return ctl == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	return 0;
}

static void
test_full_shard_degrades_to_stateless(void)
{
	const unsigned int n = 12000;
	unsigned int avail = rte_mempool_avail_count(itest_pool());
	static uint8_t first[12000], again[12000];
	static uint8_t out[64][2048];
	static uint32_t lens[64];
	struct lp_stats *st = malloc(sizeof(*st));
	uint8_t f[256];
	char cip[32];

	CU_ASSERT_FATAL(st != NULL);
	/* Twice the same connections: once filling the shards and overflowing,
	 * once more as SYN retransmissions (flow hits or stateless again). */
	for (int round = 0; round < 2; round++) {
		unsigned int got = 0;

		for (unsigned int i = 0; i < n; i++) {
			int len;

			itest_client_ip(cip, sizeof(cip), 16, i);
			len = itest_frame(f, sizeof(f), NULL, cip, 1000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN);
			CU_ASSERT_FATAL(itest_inject(&wan, f, (uint32_t)len) == 0);
			if (i % 64 == 63 || i == n - 1) {
				unsigned int want = i + 1 - got;
				unsigned int k = itest_collect(ctl, &lan, want, 10000, out, lens);

				CU_ASSERT_FATAL(k == want);
				for (unsigned int j = 0; j < k; j++) {
					struct lp_pkt_meta m;

					unsigned int c;

					CU_ASSERT_FATAL(lp_pkt_parse(out[j], lens[j], &m) == LP_DROP_NONE);
					/* by client: two workers' outputs interleave */
					c = itest_client_index(m.key.src);
					CU_ASSERT_FATAL(c < n);
					(round == 0 ? first : again)[c] = m.key.dst[3];
				}
				got += k;
			}
		}
		CU_ASSERT(got == n);
	}
	/* Stateful or not, every connection went to the same backend. */
	CU_ASSERT(memcmp(first, again, n) == 0);
	lp_ctl_stats(ctl, st);
	printf("\n    flows created %lu, forwarded without entry %lu (shard full %lu)\n",
	       (unsigned long)st->c[LP_WC_flow_new], (unsigned long)st->c[LP_WC_flow_stateless],
	       (unsigned long)st->c[LP_WC_flow_full]);
	CU_ASSERT(st->c[LP_WC_flow_full] > 0);
	CU_ASSERT(st->c[LP_WC_flow_new] < n);
	/* Each SYN created a flow, hit one (the retransmission), or found
	 * the shard full and went out without one. */
	CU_ASSERT(st->c[LP_WC_flow_new] + st->c[LP_WC_flow_hit] + st->c[LP_WC_flow_full] == 2 * n);
	CU_ASSERT(st->c[LP_WC_flow_stateless] == st->c[LP_WC_flow_full]);
	CU_ASSERT(st->c[LP_WC_tx_pkts] == 2 * n);
	CU_ASSERT(lp_stats_drops(st) == 0);
	/* Every mbuf the test injected came back to its pool. */
	CU_ASSERT(rte_mempool_avail_count(itest_pool()) == avail);
	free(st);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "full shard degrades to stateless forwarding", test_full_shard_degrades_to_stateless },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "flowfull", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
