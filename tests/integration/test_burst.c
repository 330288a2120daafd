/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets of one connection in one burst, driven through lp_worker_rx()
 * directly (workers not started): a SYN and the ACK after it find the
 * flow the SYN created; new connections of one new client share the
 * binding the first one created.
 *
 * Both services schedule by least connections, so a packet that did not
 * find its flow or binding would go elsewhere: the first connection's
 * count makes its backend the busier one, and the next choice the other.
 * (With Maglev the same 5-tuple or client lands on the same backend with
 * or without state, and nothing here could fail.)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>

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
	"services:\n"
	"  - { name: web, vip: 10.0.0.100, port: 80, scheduler: least_conn, backends: [\n"
	"      { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ] }\n"
	"  - { name: sticky, vip: 10.0.0.101, port: 80, sessionAffinity: ClientIP, scheduler: least_conn,\n"
	"      backends: [\n"
	"      { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ] }\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_worker *w0;

static int
suite_init(void)
{
	struct lp_diag d = { 0 };
	struct lp_config *cfg;

	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	cfg = itest_config(config_yaml);
	if (cfg == NULL)
		return -1;
	ctl = lp_ctl_create(cfg, NULL, &d);
	lp_config_free(cfg);
	lp_diag_clear(&d);
	if (ctl == NULL)
		return -1;
	w0 = lp_ctl_dp(ctl)->worker[0];
	return 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	return 0;
}

static struct rte_mbuf *
mbuf_of(const char *src, uint16_t sport, const char *dst, uint8_t flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(itest_pool());
	uint8_t f[256];
	int len = itest_frame(f, sizeof(f), NULL, src, sport, dst, 80, IPPROTO_TCP, flags);

	CU_ASSERT_FATAL(m != NULL && len > 0);
	memcpy(rte_pktmbuf_append(m, (uint16_t)len), f, (size_t)len);
	m->port = wan.port_id;
	return m;
}

/* Backends (last address byte) of what the burst sent to `lan`. */
static unsigned int
sent(uint8_t *be, unsigned int max)
{
	static uint8_t out[8][2048];
	static uint32_t lens[8];
	unsigned int n;

	lp_worker_flush(w0);
	n = itest_collect(NULL, &lan, max, 1000, out, lens);
	for (unsigned int i = 0; i < n; i++) {
		struct lp_pkt_meta m;

		CU_ASSERT_FATAL(lp_pkt_parse(out[i], lens[i], &m) == LP_DROP_NONE);
		be[i] = m.key.dst[3];
	}
	return n;
}

static int
flow_state(const char *svc)
{
	struct lp_flow_view v[4];
	int n = lp_ctl_flows(ctl, svc, v, 4);

	return n == 1 ? v[0].state : -n;
}

static void
test_syn_and_ack_in_one_burst(void)
{
	struct rte_mbuf *burst[2] = {
		mbuf_of("172.16.0.1", 1111, "10.0.0.100", LP_TCP_SYN),
		mbuf_of("172.16.0.1", 1111, "10.0.0.100", LP_TCP_ACK),
	};
	const struct lp_stats *st = lp_ctl_worker_stats(ctl, 0);
	uint64_t stateless = st->c[LP_WC_flow_stateless], hit = st->c[LP_WC_flow_hit];
	uint8_t be[2];

	lp_worker_rx(w0, 0, burst, 2, rte_rdtsc());
	CU_ASSERT_FATAL(sent(be, 2) == 2);
	/* Without its flow, the ACK would go to the backend with fewer flows. */
	CU_ASSERT(be[0] == be[1]);
	/* The ACK found the SYN's flow: one hit, nothing stateless, established. */
	CU_ASSERT(st->c[LP_WC_flow_hit] == hit + 1);
	CU_ASSERT(st->c[LP_WC_flow_stateless] == stateless);
	CU_ASSERT(flow_state("web") == LP_FLOW_EST);
}

static void
test_one_new_client_four_times_in_one_burst(void)
{
	const struct lp_stats *st = lp_ctl_worker_stats(ctl, 0);
	uint64_t hits = st->c[LP_WC_aff_hit];
	struct rte_mbuf *burst[4];
	struct lp_service_view v;
	uint8_t be[4];

	for (unsigned int i = 0; i < 4; i++)
		burst[i] = mbuf_of("172.16.0.2", (uint16_t)(2000 + i), "10.0.0.101", LP_TCP_SYN);
	lp_worker_rx(w0, 0, burst, 4, rte_rdtsc());
	CU_ASSERT_FATAL(sent(be, 4) == 4);
	/* Without the binding, least_conn would alternate the backends. */
	CU_ASSERT(be[0] == be[1] && be[1] == be[2] && be[2] == be[3]);
	/* One binding created, found by the three connections after it. */
	CU_ASSERT(lp_ctl_service_view_by_name(ctl, "sticky", &v) == 0);
	CU_ASSERT(v.aff[LP_AFF_NEW] == 1);
	CU_ASSERT(st->c[LP_WC_aff_hit] == hits + 3);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "SYN and ACK in one burst", test_syn_and_ack_in_one_burst },
		{ "one new client four times in one burst", test_one_new_client_four_times_in_one_burst },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "burst", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
