/* SPDX-License-Identifier: BSD-3-Clause */
/* Integration-test harness: EAL, ring ports, RSS-placed injection. */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_thash.h>

#include "itest.h"
#include "lp_test.h"

static struct rte_mempool *pool;

/* limpet's symmetric Toeplitz key (lib/ctl/port.c), as a NIC would use it. */
static const uint8_t rss_key[52] = {
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
	0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d,
	0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

int
itest_eal_init(const char *prog, unsigned int workers)
{
	return itest_eal_init_prefix(prog, workers, NULL);
}

int
itest_eal_init_prefix(const char *prog, unsigned int workers, const char *file_prefix)
{
	char lcores[256] = "", prefix[128];
	cpu_set_t set;
	int cpus[CPU_SETSIZE], ncpu = 0;
	char *argv[] = {
		(char *)prog, "--lcores", lcores, "--no-pci", "--no-huge", "--no-shconf", "-m", "768",
		"--log-level", "lib.eal:warning", "--log-level", "lib.limpet.*:warning", prefix,
	};
	int argc = (int)(sizeof(argv) / sizeof(argv[0])) - (file_prefix == NULL);
	int ret;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				cpus[ncpu++] = i;
	if (ncpu == 0)
		cpus[ncpu++] = 0;
	/* lcore 0 (control) and the workers, round-robin over the CPUs we may
	 * use: correctness tests oversubscribe, benchmarks must not. */
	for (unsigned int l = 0; l <= workers; l++) {
		char one[32];

		snprintf(one, sizeof(one), "%s%u@%d", l ? "," : "", l, cpus[l % (unsigned int)ncpu]);
		strcat(lcores, one);
	}
	snprintf(prefix, sizeof(prefix), "--file-prefix=%s", file_prefix != NULL ? file_prefix : "");
	ret = rte_eal_init(argc, argv);
	if (ret < 0)
		return ret;
	pool = rte_pktmbuf_pool_create("itest_pool", 32767, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	return pool == NULL ? -ENOMEM : 0;
}

int
itest_main(const char *prog, unsigned int workers, const struct lp_test_suite *suites)
{
	if (itest_eal_init(prog, workers) != 0) {
		fprintf(stderr, "EAL initialisation failed\n");
		return EXIT_FAILURE;
	}
	return lp_test_run(suites);
}

struct rte_mempool *
itest_pool(void)
{
	return pool;
}

int
itest_port_create(struct itest_port *p, const char *name, uint32_t nq)
{
	char rn[RTE_RING_NAMESIZE];
	int port;

	memset(p, 0, sizeof(*p));
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->nq = nq;
	for (uint32_t q = 0; q < nq; q++) {
		snprintf(rn, sizeof(rn), "%s_rx%u", name, q);
		p->rx[q] = rte_ring_create(rn, 8192, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(rn, sizeof(rn), "%s_tx%u", name, q);
		p->tx[q] = rte_ring_create(rn, 8192, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (p->rx[q] == NULL || p->tx[q] == NULL)
			return -ENOMEM;
	}
	port = rte_eth_from_rings(name, p->rx, nq, p->tx, nq, (unsigned int)rte_socket_id());
	if (port < 0)
		return port;
	p->port_id = (uint16_t)port;
	return 0;
}

int
itest_port_reopen(struct itest_port *p)
{
	char dev[64];
	uint16_t id;
	int port;

	snprintf(dev, sizeof(dev), "net_ring_%s", p->name);
	if (rte_eth_dev_get_port_by_name(dev, &id) == 0)
		return 0;
	/* The closed port's device is still there: remove it first. */
	rte_vdev_uninit(dev);
	port = rte_eth_from_rings(p->name, p->rx, p->nq, p->tx, p->nq, (unsigned int)rte_socket_id());
	if (port < 0)
		return -1;
	p->port_id = (uint16_t)port;
	return 0;
}

struct lp_config *
itest_config(const char *yaml)
{
	struct lp_diag d = { 0 };
	struct lp_config *c = lp_config_parse(yaml, strlen(yaml), "test.yaml", &d);

	if (c == NULL)
		lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	return c;
}

struct lp_ctl *
itest_start(const char *yaml)
{
	struct lp_config *cfg = itest_config(yaml);
	struct lp_diag d = { 0 };
	struct lp_ctl *c;

	if (cfg == NULL)
		return NULL;
	c = lp_ctl_create(cfg, NULL, &d);
	lp_config_free(cfg);
	if (c == NULL) {
		lp_diag_print(&d, stderr);
		lp_diag_clear(&d);
		return NULL;
	}
	lp_diag_clear(&d);
	if (lp_ctl_start(c) != 0) {
		lp_ctl_destroy(c);
		return NULL;
	}
	return c;
}

void
itest_stop(struct lp_ctl *c)
{
	if (c != NULL)
		lp_ctl_destroy(c);
}

uint32_t
itest_rss_queue(const uint8_t *frame, uint32_t len, uint32_t nq)
{
	struct lp_pkt_meta m;
	uint32_t tuple[RTE_THASH_V6_L4_LEN];
	uint32_t words, h;

	if (nq <= 1 || lp_pkt_parse(frame, len, &m) != LP_DROP_NONE || m.cls == LP_PKT_ARP)
		return 0;
	/* rte_thash wants the tuple as host-order 32-bit words: addresses,
	 * then (sport << 16 | dport) when the packet has ports. */
	if (m.key.family == LP_AF_INET) {
		tuple[0] = rte_be_to_cpu_32(*(const uint32_t *)(const void *)m.key.src);
		tuple[1] = rte_be_to_cpu_32(*(const uint32_t *)(const void *)m.key.dst);
		words = 2;
	} else {
		for (int i = 0; i < 4; i++) {
			uint32_t s, d;

			memcpy(&s, m.key.src + 4 * i, 4);
			memcpy(&d, m.key.dst + 4 * i, 4);
			tuple[i] = rte_be_to_cpu_32(s);
			tuple[4 + i] = rte_be_to_cpu_32(d);
		}
		words = 8;
	}
	if (m.cls == LP_PKT_L4 && m.frag == LP_FRAG_NONE) {
		tuple[words++] = (uint32_t)rte_be_to_cpu_16(m.key.sport) << 16 | rte_be_to_cpu_16(m.key.dport);
	}
	h = rte_softrss(tuple, words, rss_key);
	/* A 128-entry redirection table filled round robin, as DPDK's default. */
	return (h & 127) % nq;
}

int
itest_inject_q(struct itest_port *p, uint32_t q, const uint8_t *frame, uint32_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	char *d;

	if (m == NULL)
		return -ENOBUFS;
	d = rte_pktmbuf_append(m, (uint16_t)len);
	if (d == NULL) {
		rte_pktmbuf_free(m);
		return -ENOBUFS;
	}
	memcpy(d, frame, len);
	m->port = p->port_id;
	while (rte_ring_sp_enqueue(p->rx[q], m) != 0)
		rte_delay_us_sleep(100);	/* the worker is behind: wait for it */
	return 0;
}

int
itest_inject(struct itest_port *p, const uint8_t *frame, uint32_t len)
{
	return itest_inject_q(p, itest_rss_queue(frame, len, p->nq), frame, len);
}

uint32_t
itest_collect(struct lp_ctl *c, struct itest_port *p, uint32_t want, unsigned int timeout_ms,
	      uint8_t (*out)[2048], uint32_t *lens)
{
	uint64_t deadline = rte_get_tsc_cycles() + (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000;
	uint32_t got = 0;

	while (got < want && rte_get_tsc_cycles() < deadline) {
		bool any = false;

		for (uint32_t q = 0; q < p->nq; q++) {
			struct rte_mbuf *m[64];
			unsigned int n = rte_ring_sc_dequeue_burst(p->tx[q], (void **)m, 64, NULL);

			for (unsigned int i = 0; i < n; i++) {
				if (got < want && out != NULL) {
					uint32_t l = m[i]->data_len < 2048 ? m[i]->data_len : 2048;

					memcpy(out[got], rte_pktmbuf_mtod(m[i], void *), l);
					lens[got] = l;
				}
				got++;
				rte_pktmbuf_free(m[i]);
			}
			any |= n > 0;
		}
		if (c != NULL)
			lp_ctl_poll(c, rte_rdtsc());
		if (!any)
			rte_delay_us_sleep(200);
	}
	return got;
}

void
itest_drain(struct itest_port *p)
{
	for (uint32_t q = 0; q < p->nq; q++) {
		struct rte_mbuf *m;

		while (rte_ring_sc_dequeue(p->tx[q], (void **)&m) == 0)
			rte_pktmbuf_free(m);
	}
}

void
itest_poll(struct lp_ctl *c, unsigned int ms)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;

	while (rte_get_tsc_cycles() < end) {
		lp_ctl_poll(c, rte_rdtsc());
		rte_delay_us_sleep(200);
	}
}

void
itest_client_ip(char *buf, size_t len, unsigned int net, unsigned int i)
{
	snprintf(buf, len, "172.%u.%u.%u", net, i / 200, i % 200 + 1);
}

unsigned int
itest_client_index(const uint8_t *a)
{
	return (unsigned int)a[2] * 200 + a[3] - 1;
}

int
itest_frame(uint8_t *buf, size_t cap, const struct lp_mac *dst_mac, const char *src, uint16_t sport,
	    const char *dst, uint16_t dport, uint8_t proto, uint8_t tcp_flags)
{
	struct lp_pkt_spec s = { 0 };
	static const char payload[] = "limpet integration test payload";

	s.src_mac = (struct lp_mac){ { 0x02, 0xc1, 0x1e, 0x47, 0x00, 0x01 } };
	s.dst_mac = dst_mac ? *dst_mac : (struct lp_mac){ { 0x02, 0, 0, 0, 0, 0x01 } };
	if (lp_ip_parse(src, &s.src) != 0 || lp_ip_parse(dst, &s.dst) != 0)
		return -EINVAL;
	s.proto = proto;
	s.sport = sport;
	s.dport = dport;
	s.tcp_flags = tcp_flags;
	s.seq = 1000;
	s.ack = tcp_flags & LP_TCP_ACK ? 2000 : 0;
	s.ttl = 64;
	s.payload = payload;
	s.payload_len = sizeof(payload) - 1;
	return lp_pkt_build(buf, cap, &s);
}

void
itest_assert_workers_balance(struct lp_ctl *c)
{
	for (uint32_t w = 0; w < lp_ctl_worker_count(c); w++) {
		const struct lp_stats *s = lp_ctl_worker_stats(c, w);
		uint64_t in = s->c[LP_WC_rx_pkts] + s->c[LP_WC_injected];
		uint64_t outcome =
			s->c[LP_WC_tx_pkts] + lp_stats_drops(s) + s->c[LP_WC_slowpath] + s->c[LP_WC_to_kernel];

		printf("\n    worker %u: rx %lu + injected %lu = tx %lu + drops %lu + slowpath %lu + to_kernel %lu", w,
		       (unsigned long)s->c[LP_WC_rx_pkts], (unsigned long)s->c[LP_WC_injected],
		       (unsigned long)s->c[LP_WC_tx_pkts], (unsigned long)lp_stats_drops(s),
		       (unsigned long)s->c[LP_WC_slowpath], (unsigned long)s->c[LP_WC_to_kernel]);
		CU_ASSERT(in == outcome);
	}
	printf("\n");
}
