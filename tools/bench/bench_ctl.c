/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * How long a control change takes to reach every worker, under load, and
 * that no packet is lost or moved meanwhile.
 *
 * limpet runs in this process with its worker on lcore 1 polling a
 * net_ring port; this thread (lcore 0) is both the traffic source and the
 * control thread: it keeps the port's receive ring fed with packets of
 * established flows, drains what limpet transmits, and every --interval-ms
 * changes a backend's weight (lp_ctl_backend_set_weight: a new Maglev
 * table and snapshot, published with one release store). The figure is
 * lp_ctl_last_change_cycles(): from that store until every worker had
 * passed a quiescent state, so had loaded the new snapshot; this thread
 * polls for it between bursts, so it is an upper bound. Also: the time the
 * change call takes (Maglev table, snapshot, classification index), and
 * from the call until the change was seen everywhere.
 *
 * Checks: every packet sent came back (zero loss), and every flow kept the
 * backend it had before the first change (weight changes move new clients
 * only).
 *
 * Output: one "name value unit" line per figure.
 */
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "lp_config.h"
#include "lp_ctl.h"
#include "lp_pkt.h"

#define RX_RING 4096
/* Larger than what can be in flight, so limpet never finds it full
 * while this thread is busy publishing. */
#define TX_RING 16384
#define BURST 32
#define BACKENDS 8

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.11, mac: \"02:00:00:00:01:0b\", port: wan }\n"
	"  - { address: 10.0.0.12, mac: \"02:00:00:00:01:0c\", port: wan }\n"
	"  - { address: 10.0.0.13, mac: \"02:00:00:00:01:0d\", port: wan }\n"
	"  - { address: 10.0.0.14, mac: \"02:00:00:00:01:0e\", port: wan }\n"
	"  - { address: 10.0.0.15, mac: \"02:00:00:00:01:0f\", port: wan }\n"
	"  - { address: 10.0.0.16, mac: \"02:00:00:00:01:10\", port: wan }\n"
	"  - { address: 10.0.0.17, mac: \"02:00:00:00:01:11\", port: wan }\n"
	"  - { address: 10.0.0.18, mac: \"02:00:00:00:01:12\", port: wan }\n"
	"flows: { capacity: 1048576 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    targetPort: 8080\n"
	"    backends:\n"
	"      - { address: 10.0.0.11 }\n"
	"      - { address: 10.0.0.12 }\n"
	"      - { address: 10.0.0.13 }\n"
	"      - { address: 10.0.0.14 }\n"
	"      - { address: 10.0.0.15 }\n"
	"      - { address: 10.0.0.16 }\n"
	"      - { address: 10.0.0.17 }\n"
	"      - { address: 10.0.0.18 }\n";

struct state {
	struct lp_ctl *ctl;
	struct rte_mempool *pool;
	struct rte_ring *rx, *tx;	/* limpet's port: we write rx, read tx */
	uint32_t flows;
	uint8_t tmpl[2][64];		/* SYN and ACK of flow 0 */
	uint16_t len;
	uint8_t *backend_of;		/* last byte of each flow's backend address, 0: not seen */
	uint64_t sent, received, moved;
	uint64_t next_flow;
};

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Flow @i: client 172.16.0.0 + i + 1, port 10000. */
static void
flow_frame(const struct state *st, int kind, uint32_t i, uint8_t *out)
{
	uint32_t a = 0xac100000u + i + 1;
	uint16_t c;
	uint8_t old[4], new[4] = { (uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a };

	memcpy(out, st->tmpl[kind], st->len);
	memcpy(old, out + 14 + 12, 4);
	memcpy(&c, out + 14 + 10, 2);
	c = lp_csum_replace(c, old, new, 4);
	memcpy(out + 14 + 10, &c, 2);
	memcpy(&c, out + 34 + 16, 2);
	c = lp_csum_replace(c, old, new, 4);
	memcpy(out + 34 + 16, &c, 2);
	memcpy(out + 14 + 12, new, 4);
}

/* Feed one burst if the ring has room; returns packets queued. */
static unsigned int
feed(struct state *st, int kind)
{
	struct rte_mbuf *m[BURST];
	unsigned int n;

	if (rte_ring_free_count(st->rx) < BURST || rte_pktmbuf_alloc_bulk(st->pool, m, BURST) != 0)
		return 0;
	for (int i = 0; i < BURST; i++) {
		uint32_t f = (uint32_t)(st->next_flow++ % st->flows);

		flow_frame(st, kind, f, rte_pktmbuf_mtod(m[i], uint8_t *));
		m[i]->data_len = m[i]->pkt_len = st->len;
	}
	n = rte_ring_sp_enqueue_burst(st->rx, (void **)m, BURST, NULL);
	if (n < BURST)
		rte_pktmbuf_free_bulk(m + n, BURST - n);
	st->sent += n;
	return n;
}

/* Take what limpet sent; check each flow stays on its backend. */
static void
collect(struct state *st)
{
	struct rte_mbuf *m[256];
	unsigned int n = rte_ring_sc_dequeue_burst(st->tx, (void **)m, 256, NULL);

	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(m[i], const uint8_t *);
		uint32_t client;
		uint8_t be;

		if (m[i]->data_len < 54 || f[12] != 0x08 || f[13] != 0x00)
			continue;	/* gratuitous ARP */
		client = ((uint32_t)f[26] << 24 | (uint32_t)f[27] << 16 | (uint32_t)f[28] << 8 | f[29]) - 0xac100001u;
		be = f[33];
		if (client < st->flows) {
			if (st->backend_of[client] == 0)
				st->backend_of[client] = be;
			else if (st->backend_of[client] != be)
				st->moved++;
		}
		st->received++;
	}
	rte_pktmbuf_free_bulk(m, n);
}

int
main(int argc, char **argv)
{
	struct state st = { .flows = 100000 };
	uint32_t changes = 200, interval_ms = 10;
	uint64_t drops_before[LP_DROP_MAX];
	struct lp_diag d = { 0 };
	struct lp_config *cfg;
	struct lp_stats *stats;
	uint64_t *visible, *publish, *total, hz, last;
	struct lp_ip be;
	int ret, port, opt;
	static const struct option longs[] = {
		{ "changes", required_argument, NULL, 'c' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "flows", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "bench_ctl: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[ret] = argv[0];
	argc -= ret;
	argv += ret;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 'c':
			changes = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'i':
			interval_ms = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'f':
			st.flows = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		default:
			printf("usage: bench_ctl [EAL options, two lcores] -- [--changes N] [--interval-ms MS] [--flows N]\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (changes == 0 || st.flows == 0 || st.flows > 1000000 || rte_lcore_count() < 2) {
		fprintf(stderr, "bench_ctl: needs two lcores, 1..1000000 flows and at least one change\n");
		return 2;
	}
	hz = rte_get_tsc_hz();
	st.pool = rte_pktmbuf_pool_create("bench_ctl", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	st.rx = rte_ring_create("wan_rx", RX_RING, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	st.tx = rte_ring_create("wan_tx", TX_RING, (int)rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
	st.backend_of = calloc(st.flows, 1);
	visible = calloc(changes, sizeof(*visible));
	publish = calloc(changes, sizeof(*publish));
	total = calloc(changes, sizeof(*total));
	stats = malloc(sizeof(*stats));
	if (st.pool == NULL || st.rx == NULL || st.tx == NULL || st.backend_of == NULL || visible == NULL ||
	    publish == NULL || total == NULL || stats == NULL) {
		fprintf(stderr, "bench_ctl: out of memory\n");
		return 1;
	}
	/* The device is called net_ring_wan, as the config says. */
	port = rte_eth_from_rings("wan", &st.rx, 1, &st.tx, 1, rte_socket_id());
	cfg = lp_config_parse(config_yaml, strlen(config_yaml), "bench_ctl.yaml", &d);
	st.ctl = port >= 0 && cfg != NULL ? lp_ctl_create(cfg, NULL, &d) : NULL;
	lp_config_free(cfg);
	if (st.ctl == NULL || lp_ctl_start(st.ctl) != 0) {
		lp_diag_print(&d, stderr);
		fprintf(stderr, "bench_ctl: cannot start limpet\n");
		return 1;
	}
	lp_diag_clear(&d);
	{
		struct lp_pkt_spec s = {
			.src_mac = { { 0x02, 0xc1, 0, 0, 0, 1 } },
			.dst_mac = { { 0x02, 0, 0, 0, 0, 1 } },
			.proto = IPPROTO_TCP,
			.sport = 10000,
			.dport = 80,
			.payload_len = 6,
		};
		int n;

		lp_ip_parse("172.16.0.1", &s.src);
		lp_ip_parse("10.0.0.100", &s.dst);
		s.tcp_flags = LP_TCP_SYN;
		n = lp_pkt_build(st.tmpl[0], 64, &s);
		s.tcp_flags = LP_TCP_ACK;
		s.ack = 1;
		n = n > 0 ? lp_pkt_build(st.tmpl[1], 64, &s) : n;
		if (n < 0)
			return 1;
		st.len = (uint16_t)n;
	}
	/* Set up: one SYN per flow, then traffic for a moment. */
	while (st.next_flow < st.flows) {
		feed(&st, 0);
		collect(&st);
		lp_ctl_poll(st.ctl, rte_rdtsc());
	}
	for (uint64_t end = rte_rdtsc() + hz / 10; rte_rdtsc() < end;) {
		feed(&st, 1);
		collect(&st);
	}
	lp_ctl_stats(st.ctl, stats);
	memcpy(drops_before, stats->drop, sizeof(drops_before));
	lp_ip_parse("10.0.0.11", &be);
	last = lp_ctl_last_change_cycles(st.ctl);
	for (uint32_t c = 0; c < changes; c++) {
		uint64_t t0, next = rte_rdtsc() + (uint64_t)interval_ms * hz / 1000, deadline;

		while (rte_rdtsc() < next) {
			feed(&st, 1);
			collect(&st);
			lp_ctl_poll(st.ctl, rte_rdtsc());
		}
		t0 = rte_rdtsc();
		if (lp_ctl_backend_set_weight(st.ctl, "web", &be, 8080, c % 2 ? 1 : 2, &d) != 0) {
			lp_diag_print(&d, stderr);
			return 1;
		}
		publish[c] = rte_rdtsc() - t0;
		/* Keep the load on while waiting for the workers to see it. */
		deadline = rte_rdtsc() + hz;
		while (lp_ctl_last_change_cycles(st.ctl) == last && rte_rdtsc() < deadline) {
			feed(&st, 1);
			collect(&st);
			lp_ctl_poll(st.ctl, rte_rdtsc());
		}
		total[c] = rte_rdtsc() - t0;
		last = lp_ctl_last_change_cycles(st.ctl);
		visible[c] = last;
	}
	/* Everything in flight comes back. */
	for (uint64_t end = rte_rdtsc() + hz / 5; rte_rdtsc() < end;) {
		collect(&st);
		lp_ctl_poll(st.ctl, rte_rdtsc());
	}
	lp_ctl_stats(st.ctl, stats);
	qsort(visible, changes, sizeof(*visible), cmp_u64);
	qsort(publish, changes, sizeof(*publish), cmp_u64);
	qsort(total, changes, sizeof(*total), cmp_u64);
	printf("ctl_changes %u changes\n", changes);
	printf("ctl_change_visible_p50 %.1f us\n", (double)visible[changes / 2] * 1e6 / (double)hz);
	printf("ctl_change_visible_p99 %.1f us\n", (double)visible[changes * 99 / 100] * 1e6 / (double)hz);
	printf("ctl_change_visible_max %.1f us\n", (double)visible[changes - 1] * 1e6 / (double)hz);
	printf("ctl_change_publish_p50 %.1f us\n", (double)publish[changes / 2] * 1e6 / (double)hz);
	printf("ctl_change_total_p50 %.1f us\n", (double)total[changes / 2] * 1e6 / (double)hz);
	/* A change is visible after one pass of the slowest worker: what a
	 * pass takes when the worker has its CPU to itself. */
	printf("ctl_worker_pass_mean %.2f us\n",
	       (double)(stats->c[LP_WC_busy_cycles] + stats->c[LP_WC_idle_cycles]) * 1e6 / (double)hz /
		       (double)(stats->c[LP_WC_loop_passes] ? stats->c[LP_WC_loop_passes] : 1));
	printf("ctl_load_pkts %" PRIu64 " packets\n", st.sent);
	printf("ctl_lost_pkts %" PRIu64 " packets\n", st.sent - st.received);
	for (int r = 0; r < LP_DROP_MAX; r++)
		if (stats->drop[r] != drops_before[r])
			printf("ctl_drop_%s %" PRIu64 " packets\n", lp_drop_name((enum lp_drop)r),
			       stats->drop[r] - drops_before[r]);
	printf("ctl_moved_pkts %" PRIu64 " packets\n", st.moved);
	lp_ctl_destroy(st.ctl);
	rte_eal_cleanup();
	return st.sent == st.received && st.moved == 0 ? 0 : 1;
}
