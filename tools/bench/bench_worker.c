/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Cycles per packet of the worker's burst function, lp_worker_rx(), for each
 * data-path case, with flow tables of several sizes.
 *
 * limpet runs in this process over two net_null ports (transmit is a free
 * floor: the driver frees what it is given); its worker is not launched,
 * this thread calls lp_worker_rx() and lp_worker_flush() itself, one burst
 * of 32 at a time, exactly as the poll loop does after rte_eth_rx_burst().
 * Frames are built into freshly allocated mbufs 1024 at a time (a NIC ring's
 * worth) outside the timed region, so they are warm in the cache as after a
 * copying receive (memif, af_packet); the flow table is as cold as the
 * traffic makes it: established packets pick a random one of the table's
 * flows. Each batch is timed with rte_rdtsc() around its burst loop; a
 * figure is the median over the batches of --runs runs, in TSC cycles.
 *
 * Cases:
 *   est        ACK of an existing flow (NAT service): flow lookup hit, DNAT
 *   syn        SYN of a new flow, service without affinity: Maglev + flow insert
 *   syn_aff    SYN of a new client, ClientIP affinity: Maglev + binding insert + flow insert
 *   aff_hit    SYN of a new connection of a known client: binding hit + flow insert
 *   nat_reply  backend reply to a client: flow miss, reverse-NAT index, SNAT, route
 *   conn       a whole connection (SYN, ACK, FIN) per 3 packets: connections per second
 *
 * --count N runs each case once on N packets: under
 * valgrind --tool=callgrind --toggle-collect=bench_burst_loop the events
 * collected are those of the timed loop alone; a dump per figure
 * (CALLGRIND_DUMP_STATS_AT) lets tools/bench/callgrind.sh divide by N.
 *
 * --mem-flows N measures the flow table's memory instead: heap bytes of a
 * limpet whose flows.capacity is N minus those of one with the smallest
 * table, divided by N, then fills the table with N flows to show it holds
 * them.
 *
 * Output: one "name value unit" line per figure.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "lp_config.h"
#include "lp_ctl.h"
#include "lp_pkt.h"
#include "lp_worker.h"

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_DUMP_STATS_AT
#define CALLGRIND_DUMP_STATS_AT(name) ((void)(name))
#define CALLGRIND_ZERO_STATS
#endif

#define BATCH 1024u		/* packets prepared, then processed untimed-free */
#define FRAME_PAYLOAD 6		/* 60-byte IPv4/TCP frames: 64 bytes on the wire */
#define KNOWN_CLIENTS 4096u	/* clients with a binding, for aff_hit (a multiple of BATCH) */
#define CONNS_PER_BATCH 320u	/* conn: 320 SYNs, then their ACKs, then their FINs */

/* Addresses (host order). Every case draws from its own range, so its
 * 5-tuples are new or known exactly as the case says. */
#define VIP_WEB 0x0a000064u	/* 10.0.0.100:80, NAT, Maglev, no affinity */
#define VIP_STICKY 0x0a000065u	/* 10.0.0.101:80, NAT, ClientIP affinity */
#define BACKEND0 0x0a01000bu	/* 10.1.0.11.. */
#define EST_CLIENTS 0x64400000u	/* 100.64.0.0/10: flow i is client i / 64, port 1024 + i % 64 */
#define SYN_CLIENTS 0xc6120000u	/* 198.18.0.0/15 */
#define NEW_CLIENTS 0x1e000000u	/* 30.0.0.0/8: one per syn_aff packet */
#define KNOWN_BASE 0x28000000u	/* 40.0.0.0: the known clients */
#define CONN_CLIENTS 0x14000000u /* 20.0.0.0/8 */

enum bench_case { C_EST, C_SYN, C_SYN_AFF, C_AFF_HIT, C_NAT_REPLY, C_CONN, C_MAX };

static const char *const case_names[C_MAX] = { "est", "syn", "syn_aff", "aff_hit", "nat_reply", "conn" };

struct opts {
	uint32_t sizes[8];
	uint32_t n_sizes;
	bool cases[C_MAX];
	uint32_t runs;
	uint32_t packets;
	uint32_t count;		/* fixed-count mode (callgrind) when > 0 */
	uint32_t backends;
	uint32_t mem_flows;	/* memory mode when > 0 */
};

struct bench {
	struct lp_ctl *ctl;
	struct lp_worker *w;
	struct rte_mempool *pool;
	uint16_t wan_id, lan_id;	/* DPDK port ids */
	uint32_t flows;			/* established flows in the table */
	uint32_t backends;
	uint64_t seq[C_MAX];		/* next unused tuple of each case */
	uint64_t rng;
	struct rte_mbuf *pkts[BATCH];
};

static uint64_t
rnd(struct bench *b)
{
	/* xorshift64*: cheap, and the same sequence every run */
	b->rng ^= b->rng >> 12;
	b->rng ^= b->rng << 25;
	b->rng ^= b->rng >> 27;
	return b->rng * 0x2545f4914f6cdd1dULL;
}

static void
ip4(struct lp_ip *ip, uint32_t a)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = LP_AF_INET;
	ip->a[0] = (uint8_t)(a >> 24);
	ip->a[1] = (uint8_t)(a >> 16);
	ip->a[2] = (uint8_t)(a >> 8);
	ip->a[3] = (uint8_t)a;
}

/* A 60-byte TCP frame into a fresh mbuf. */
static void
frame(struct rte_mbuf *m, uint16_t port_id, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
      uint8_t flags)
{
	struct lp_pkt_spec s = {
		.src_mac = { { 0x02, 0xbe, 0, 0, 0, 1 } },
		.dst_mac = { { 0x02, 0, 0, 0, 0, 1 } },
		.proto = IPPROTO_TCP,
		.sport = sport,
		.dport = dport,
		.tcp_flags = flags,
		.seq = 1,
		.ack = flags & LP_TCP_ACK ? 1 : 0,
		.payload_len = FRAME_PAYLOAD,
	};
	char *d;
	int n;

	ip4(&s.src, src);
	ip4(&s.dst, dst);
	d = rte_pktmbuf_append(m, 64);
	n = lp_pkt_build((uint8_t *)d, 64, &s);
	if (d == NULL || n < 0) {
		fprintf(stderr, "bench_worker: cannot build a frame\n");
		exit(1);
	}
	rte_pktmbuf_trim(m, (uint16_t)(64 - n));
	m->port = port_id;
}

static void
alloc_batch(struct bench *b, uint32_t n)
{
	if (rte_pktmbuf_alloc_bulk(b->pool, b->pkts, n) != 0) {
		fprintf(stderr, "bench_worker: mbuf pool exhausted\n");
		exit(1);
	}
}

/* Established flow @i's tuple. */
static void
est_tuple(uint32_t i, uint32_t *client, uint16_t *sport)
{
	*client = EST_CLIENTS + i / 64;
	*sport = (uint16_t)(1024 + i % 64);
}

/*
 * Prepare @n packets of @c into b->pkts; returns the port index they
 * arrive on (0 wan, 1 lan).
 */
static uint16_t
prepare(struct bench *b, enum bench_case c, uint32_t n)
{
	alloc_batch(b, n);
	for (uint32_t k = 0; k < n; k++) {
		struct rte_mbuf *m = b->pkts[k];
		uint64_t q = b->seq[c]++;
		uint32_t client;
		uint16_t sport;

		switch (c) {
		case C_EST:
			est_tuple((uint32_t)(rnd(b) % b->flows), &client, &sport);
			frame(m, b->wan_id, client, sport, VIP_WEB, 80, LP_TCP_ACK);
			break;
		case C_SYN:
			frame(m, b->wan_id, SYN_CLIENTS + (uint32_t)(q % 131072), (uint16_t)(1024 + q / 131072),
			      VIP_WEB, 80, LP_TCP_SYN);
			break;
		case C_SYN_AFF:
			frame(m, b->wan_id, NEW_CLIENTS + (uint32_t)q, 40000, VIP_STICKY, 80, LP_TCP_SYN);
			break;
		case C_AFF_HIT:
			frame(m, b->wan_id, KNOWN_BASE + (uint32_t)(q % KNOWN_CLIENTS),
			      (uint16_t)(1024 + q / KNOWN_CLIENTS), VIP_STICKY, 80, LP_TCP_SYN);
			break;
		case C_NAT_REPLY:
			est_tuple((uint32_t)(rnd(b) % b->flows), &client, &sport);
			frame(m, b->lan_id, BACKEND0 + (uint32_t)(q % b->backends), 8080, client, sport, LP_TCP_ACK);
			break;
		case C_CONN: {
			/* SYNs, then the same connections' ACKs, then their FINs,
			 * so each packet finds what the one before it created. */
			uint32_t third = n / 3, j = k % third, phase = k / third;
			uint64_t id = (q - k) / 3 + j;

			static const uint8_t flags[3] = { LP_TCP_SYN, LP_TCP_ACK, LP_TCP_FIN | LP_TCP_ACK };

			frame(m, b->wan_id, CONN_CLIENTS + (uint32_t)(id / 256), (uint16_t)(1024 + id % 256), VIP_WEB,
			      80, flags[phase < 3 ? phase : 2]);
			break;
		}
		default:
			break;
		}
	}
	return c == C_NAT_REPLY ? 1 : 0;
}

/*
 * The timed loop: what a worker does with received bursts. Not inlined,
 * so callgrind can collect this function alone (--toggle-collect).
 */
__attribute__((noinline)) void bench_burst_loop(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts,
						uint32_t n);

void
bench_burst_loop(struct lp_worker *w, uint16_t port, struct rte_mbuf **pkts, uint32_t n)
{
	for (uint32_t i = 0; i < n; i += LP_BURST) {
		uint16_t k = (uint16_t)(n - i < LP_BURST ? n - i : LP_BURST);

		lp_worker_rx(w, port, pkts + i, k, rte_rdtsc());
		lp_worker_flush(w);
	}
}

static uint64_t
counter(const struct bench *b, enum lp_wc c)
{
	return b->w->stats->c[c];
}

static uint64_t
drops(const struct bench *b)
{
	return lp_stats_drops(b->w->stats);
}

/*
 * Process @total packets of case @c in batches; appends each batch's TSC
 * cycles per packet (per connection for conn) to @per_batch.
 */
static void
run_case(struct bench *b, enum bench_case c, uint32_t total, double *per_batch, uint32_t *n_batch)
{
	uint32_t per = c == C_CONN ? CONNS_PER_BATCH * 3 : BATCH;

	for (uint32_t done = 0; done < total;) {
		uint32_t n = c == C_CONN || total - done >= per ? per : total - done;
		uint16_t port;
		uint64_t t0, t1;

		port = prepare(b, c, n);
		t0 = rte_rdtsc();
		bench_burst_loop(b->w, port, b->pkts, n);
		t1 = rte_rdtsc();
		per_batch[(*n_batch)++] = (double)(t1 - t0) / (c == C_CONN ? n / 3 : n);
		done += n;
	}
}

/* What each packet of a case must have done, from the worker's counters. */
static bool
case_ok(const struct bench *b, enum bench_case c, const uint64_t *before, uint64_t drops_before,
	uint32_t n)
{
	uint64_t d[LP_WC_MAX];
	bool ok;

	for (int i = 0; i < LP_WC_MAX; i++)
		d[i] = b->w->stats->c[i] - before[i];
	ok = d[LP_WC_tx_pkts] == n && drops(b) == drops_before;
	switch (c) {
	case C_EST:
		ok = ok && d[LP_WC_flow_hit] == n;
		break;
	case C_SYN:
		ok = ok && d[LP_WC_flow_new] == n;
		break;
	case C_SYN_AFF:
		ok = ok && d[LP_WC_flow_new] == n && d[LP_WC_aff_hit] == 0;
		break;
	case C_AFF_HIT:
		ok = ok && d[LP_WC_flow_new] == n && d[LP_WC_aff_hit] == n;
		break;
	case C_NAT_REPLY:
		ok = ok && d[LP_WC_nat_reply] == n;
		break;
	case C_CONN:
		ok = ok && d[LP_WC_flow_new] == n / 3 && d[LP_WC_flow_hit] == 2 * (n / 3);
		break;
	default:
		break;
	}
	return ok;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
size_name(uint32_t n, char *buf, size_t len)
{
	if (n % 1000000 == 0)
		snprintf(buf, len, "%uM", n / 1000000);
	else if (n % 1000 == 0)
		snprintf(buf, len, "%uK", n / 1000);
	else
		snprintf(buf, len, "%u", n);
}

/* --cluster: replicated bindings on (a Redis that is never reached: the
 * workers' side, events into the ring, is what is measured). */
static bool with_cluster;

static char *
config_yaml(uint32_t flow_capacity, uint32_t backends)
{
	size_t cap = 4096 + (size_t)backends * 200;
	char *y = malloc(cap), ip[16];
	size_t o = 0;

	if (y == NULL)
		return NULL;
	o += (size_t)snprintf(y + o, cap - o,
			      "ports:\n"
			      "  - { name: wan, device: net_null0, address: 10.0.0.1/24, gateway: 10.0.0.254 }\n"
			      "  - { name: lan, device: net_null1, address: 10.1.0.1/16 }\n"
			      "neighbors:\n"
			      "  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n");
	for (uint32_t i = 0; i < backends; i++) {
		uint32_t a = BACKEND0 + i;

		snprintf(ip, sizeof(ip), "10.1.%u.%u", (a >> 8) & 255, a & 255);
		o += (size_t)snprintf(y + o, cap - o, "  - { address: %s, mac: \"02:00:00:01:%02x:%02x\", port: lan }\n",
				      ip, (a >> 8) & 255, a & 255);
	}
	o += (size_t)snprintf(y + o, cap - o,
			      "flows: { capacity: %u, capacity6: 1024 }\n"
			      "affinity: { capacity: 2097152 }\n"
			      "%s"
			      "services:\n",
			      flow_capacity,
			      with_cluster ? "cluster: { redis: /nonexistent/limpet-bench.sock, name: bench, "
					     "startWaitSeconds: 0 }\n" : "");
	for (int s = 0; s < 2; s++) {
		o += (size_t)snprintf(y + o, cap - o,
				      "  - name: %s\n"
				      "    vip: 10.0.0.%u\n"
				      "    port: 80\n"
				      "    forwarding: nat\n"
				      "%s"
				      "    backends:\n",
				      s ? "sticky" : "web", s ? 101 : 100, s ? "    sessionAffinity: ClientIP\n" : "");
		for (uint32_t i = 0; i < backends; i++) {
			uint32_t a = BACKEND0 + i;

			o += (size_t)snprintf(y + o, cap - o, "      - { address: 10.1.%u.%u, port: %u }\n", (a >> 8) & 255,
					      a & 255, s ? 8081 : 8080);
		}
	}
	return y;
}

static struct lp_ctl *
start_limpet(uint32_t flow_capacity, uint32_t backends)
{
	char *yaml = config_yaml(flow_capacity, backends);
	struct lp_diag d = { 0 };
	struct lp_config *cfg;
	struct lp_ctl *c = NULL;

	if (yaml == NULL)
		return NULL;
	/* A destroyed limpet closed the ports, which releases them: make
	 * them afresh each time. */
	rte_vdev_uninit("net_null0");
	rte_vdev_uninit("net_null1");
	if (rte_vdev_init("net_null0", "no-rx=1") != 0 || rte_vdev_init("net_null1", "no-rx=1") != 0) {
		fprintf(stderr, "bench_worker: cannot create the net_null ports\n");
		free(yaml);
		return NULL;
	}
	cfg = lp_config_parse(yaml, strlen(yaml), "bench.yaml", &d);
	free(yaml);
	if (cfg != NULL)
		c = lp_ctl_create(cfg, NULL, &d);
	if (c == NULL)
		lp_diag_print(&d, stderr);
	lp_diag_clear(&d);
	lp_config_free(cfg);
	return c;
}

/* Feed SYNs until the table holds @n established-case flows. */
static int
preload(struct bench *b, uint32_t n)
{
	uint64_t before = counter(b, LP_WC_flow_new);

	for (uint32_t i = 0; i < n;) {
		uint32_t k = n - i < BATCH ? n - i : BATCH;

		alloc_batch(b, k);
		for (uint32_t j = 0; j < k; j++) {
			uint32_t client;
			uint16_t sport;

			est_tuple(i + j, &client, &sport);
			frame(b->pkts[j], b->wan_id, client, sport, VIP_WEB, 80, LP_TCP_SYN);
		}
		bench_burst_loop(b->w, 0, b->pkts, k);
		i += k;
	}
	/* The known clients of aff_hit: one connection each creates the binding. */
	for (uint32_t i = 0; i < KNOWN_CLIENTS; i += BATCH) {
		alloc_batch(b, BATCH);
		for (uint32_t j = 0; j < BATCH; j++)
			frame(b->pkts[j], b->wan_id, KNOWN_BASE + i + j, 1000, VIP_STICKY, 80, LP_TCP_SYN);
		bench_burst_loop(b->w, 0, b->pkts, BATCH);
	}
	if (counter(b, LP_WC_flow_new) - before != (uint64_t)n + KNOWN_CLIENTS) {
		fprintf(stderr, "bench_worker: preload created %" PRIu64 " flows, wanted %u\n",
			counter(b, LP_WC_flow_new) - before, n + KNOWN_CLIENTS);
		return -1;
	}
	return 0;
}

/* A /proc/meminfo figure in bytes (its kB, or pages of 2 MiB for HugePages_*), 0 when absent. */
static uint64_t
meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	uint64_t v = 0;
	size_t kl = strlen(key);

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			v = strtoull(line + kl + 1, NULL, 10);
			v *= strncmp(key, "HugePages_", 10) == 0 ? 2u << 20 : 1024u;
			break;
		}
	fclose(f);
	return v;
}

/*
 * Is there room for a limpet with @cap flows (about 110 bytes each, with
 * the affinity table and mbufs on top)? With hugepages EAL takes more as
 * it goes, from the free ones; with --no-huge it has what -m gave it.
 */
static bool
room_for(uint64_t cap)
{
	struct rte_malloc_socket_stats st = { 0 };
	uint64_t need = cap * 110 + (512ull << 20), have;

	rte_malloc_get_socket_stats((int)rte_socket_id(), &st);
	have = st.heap_freesz_bytes + (rte_eal_has_hugepages() ? meminfo("HugePages_Free") : 0);

	if (have >= need)
		return true;
	fprintf(stderr, "bench_worker: %" PRIu64 " flows need about %" PRIu64 " MiB, EAL can have %" PRIu64
		" MiB (%s): skipped\n", cap, need >> 20, have >> 20,
		rte_eal_has_hugepages() ? "raise vm.nr_hugepages" : "raise -m");
	return false;
}

static int
bench_size(const struct opts *o, uint32_t flows)
{
	struct bench b = { .flows = flows, .backends = o->backends, .rng = 0x9e3779b97f4a7c15ULL };
	/* Room for what the new-flow cases insert on top (four of them at most). */
	uint64_t cap = (uint64_t)flows + KNOWN_CLIENTS + 4ull * (o->count ? o->count : (uint64_t)o->runs * o->packets) +
		       65536;
	char sz[16];
	int ret = 0;

	size_name(flows, sz, sizeof(sz));
	if (cap > UINT32_MAX) {
		fprintf(stderr, "bench_worker: a table of %" PRIu64 " flows is too big\n", cap);
		return -1;
	}
	if (!room_for(cap))
		return -1;
	b.ctl = start_limpet((uint32_t)cap, o->backends);
	if (b.ctl == NULL)
		return -1;
	b.w = lp_ctl_dp(b.ctl)->worker[0];
	b.wan_id = lp_ctl_dp(b.ctl)->port[0].port_id;
	b.lan_id = lp_ctl_dp(b.ctl)->port[1].port_id;
	b.pool = rte_pktmbuf_pool_create("bench_pkts", 4 * BATCH - 1, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (b.pool == NULL) {
		fprintf(stderr, "bench_worker: no memory for the packet pool\n");
		lp_ctl_destroy(b.ctl);
		return -1;
	}
	if (preload(&b, flows) != 0) {
		ret = -1;
		goto out;
	}
	for (int c = 0; c < C_MAX; c++) {
		uint32_t runs = o->count ? 1 : o->runs;
		uint32_t n = o->count ? o->count : o->packets;
		uint64_t before[LP_WC_MAX], drops_before;
		uint32_t n_batch = 0;
		double *per_batch, med;
		char name[64];

		if (!o->cases[c])
			continue;
		if (c == C_CONN)
			n = (n + CONNS_PER_BATCH * 3 - 1) / (CONNS_PER_BATCH * 3) * (CONNS_PER_BATCH * 3);
		per_batch = malloc(sizeof(*per_batch) * runs * (n / CONNS_PER_BATCH + 1));
		if (per_batch == NULL) {
			ret = -1;
			break;
		}
		snprintf(name, sizeof(name), "worker_%s_%s", case_names[c], sz);
		/* The control thread's side, outside the count: drain the
		 * events of the previous case, so each case starts with an
		 * empty ring. */
		for (int k = 0; with_cluster && k < 256; k++)
			lp_ctl_poll(b.ctl, rte_rdtsc());
		memcpy(before, b.w->stats->c, sizeof(before));
		drops_before = drops(&b);
		CALLGRIND_ZERO_STATS;
		for (uint32_t r = 0; r < runs; r++)
			run_case(&b, (enum bench_case)c, n, per_batch, &n_batch);
		CALLGRIND_DUMP_STATS_AT(name);
		if (!case_ok(&b, (enum bench_case)c, before, drops_before, n * runs)) {
			fprintf(stderr, "bench_worker: %s: packets did not take the expected path "
				"(of %u: tx %" PRIu64 ", drops %" PRIu64 ", new flows %" PRIu64 ", flow hits %" PRIu64
				", affinity hits %" PRIu64 ", NAT replies %" PRIu64 ")\n", name, n * runs,
				b.w->stats->c[LP_WC_tx_pkts] - before[LP_WC_tx_pkts], drops(&b) - drops_before,
				b.w->stats->c[LP_WC_flow_new] - before[LP_WC_flow_new],
				b.w->stats->c[LP_WC_flow_hit] - before[LP_WC_flow_hit],
				b.w->stats->c[LP_WC_aff_hit] - before[LP_WC_aff_hit],
				b.w->stats->c[LP_WC_nat_reply] - before[LP_WC_nat_reply]);
			free(per_batch);
			ret = -1;
			continue;
		}
		/* The median batch: a batch the scheduler interrupted (a busy
		 * or virtual machine) is an outlier that a median ignores, a
		 * mean or a whole-run figure does not. */
		qsort(per_batch, n_batch, sizeof(*per_batch), cmp_double);
		med = per_batch[n_batch / 2];
		free(per_batch);
		if (o->count) {
			printf("%s_packets %u packets\n", name, n);
		} else if (c == C_CONN) {
			printf("%s %.1f cycles/connection\n", name, med);
			printf("%s_rate %.2f Mconn/s\n", name, (double)rte_get_tsc_hz() / med / 1e6);
		} else {
			printf("%s %.1f cycles/packet\n", name, med);
		}
		fflush(stdout);
	}
out:
	lp_ctl_destroy(b.ctl);
	rte_mempool_free(b.pool);
	return ret;
}

static uint64_t
heap_bytes(void)
{
	struct rte_malloc_socket_stats st;

	if (rte_malloc_get_socket_stats((int)rte_socket_id(), &st) != 0)
		return 0;
	return st.heap_allocsz_bytes;
}

/* Memory of a limpet holding @n flows, beyond one holding the fewest. */
static int
bench_memory(const struct opts *o)
{
	struct bench b = { .backends = o->backends };
	uint64_t h0, small, big, held;
	char sz[16];

	size_name(o->mem_flows, sz, sizeof(sz));
	if (!room_for(o->mem_flows))
		return -1;
	h0 = heap_bytes();
	b.ctl = start_limpet(16, o->backends);
	if (b.ctl == NULL)
		return -1;
	small = heap_bytes() - h0;
	lp_ctl_destroy(b.ctl);
	h0 = heap_bytes();
	b.ctl = start_limpet(o->mem_flows, o->backends);
	if (b.ctl == NULL)
		return -1;
	big = heap_bytes() - h0;
	b.w = lp_ctl_dp(b.ctl)->worker[0];
	b.wan_id = lp_ctl_dp(b.ctl)->port[0].port_id;
	b.lan_id = lp_ctl_dp(b.ctl)->port[1].port_id;
	b.pool = rte_pktmbuf_pool_create("bench_pkts", 4 * BATCH - 1, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					 (int)rte_socket_id());
	if (b.pool == NULL) {
		lp_ctl_destroy(b.ctl);
		return -1;
	}
	/* Fill it: the flows of the established case, all of them. */
	for (uint32_t i = 0; i < o->mem_flows;) {
		uint32_t k = o->mem_flows - i < BATCH ? o->mem_flows - i : BATCH;

		alloc_batch(&b, k);
		for (uint32_t j = 0; j < k; j++) {
			uint32_t client;
			uint16_t sport;

			est_tuple(i + j, &client, &sport);
			frame(b.pkts[j], b.wan_id, client, sport, VIP_WEB, 80, LP_TCP_SYN);
		}
		bench_burst_loop(b.w, 0, b.pkts, k);
		i += k;
	}
	held = lp_ctl_flow_count(b.ctl);
	printf("flows_held_%s %" PRIu64 " flows\n", sz, held);
	printf("flows_table_%s %.1f MiB\n", sz, (double)(big - small) / (1 << 20));
	printf("flows_bytes_per_flow %.1f bytes\n", (double)(big - small) / o->mem_flows);
	lp_ctl_destroy(b.ctl);
	rte_mempool_free(b.pool);
	if (held != o->mem_flows) {
		fprintf(stderr, "bench_worker: the table took %" PRIu64 " of %u flows\n", held, o->mem_flows);
		return -1;
	}
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: bench_worker [EAL options] -- [options]\n"
		"  EAL: at least two lcores (limpet needs a worker lcore; it is not launched),\n"
		"       e.g. -l 0-1 --no-pci --in-memory, or --no-huge -m 3072 without hugepages\n"
		"  --sizes LIST     flows in the table, e.g. 1K,1M,10M (default 1K,1M)\n"
		"  --cases LIST     est,syn,syn_aff,aff_hit,nat_reply,conn (default all)\n"
		"  --runs N         runs per figure; the median 1024-packet batch is printed (default 5)\n"
		"  --packets N      packets per run (default 131072)\n"
		"  --count N        one run of N packets per case, no cycles printed: for callgrind\n"
		"  --backends N     backends per service (default 32)\n"
		"  --mem-flows N    measure the flow table's bytes per flow at N flows instead\n"
		"  --cluster        replicated bindings on (`cluster:`, Redis never reached): the\n"
		"                   workers' binding events are part of what is measured\n");
}

static uint32_t
parse_count(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'K' || *end == 'k')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	if (*end != '\0' || v < 1 || v > 4e9) {
		fprintf(stderr, "bench_worker: bad number '%s'\n", s);
		exit(2);
	}
	return (uint32_t)v;
}

static void
parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{ "sizes", required_argument, NULL, 's' }, { "cases", required_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },  { "packets", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' }, { "backends", required_argument, NULL, 'b' },
		{ "mem-flows", required_argument, NULL, 'm' }, { "cluster", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *tok, *save;
	int opt;

	o->sizes[0] = 1000;
	o->sizes[1] = 1000000;
	o->n_sizes = 2;
	for (int c = 0; c < C_MAX; c++)
		o->cases[c] = true;
	o->runs = 5;
	o->packets = 131072;
	o->backends = 32;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->n_sizes = 0;
			for (tok = strtok_r(optarg, ",", &save); tok && o->n_sizes < 8; tok = strtok_r(NULL, ",", &save))
				o->sizes[o->n_sizes++] = parse_count(tok);
			break;
		case 'c':
			memset(o->cases, 0, sizeof(o->cases));
			for (tok = strtok_r(optarg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
				int c;

				for (c = 0; c < C_MAX && strcmp(tok, case_names[c]) != 0; c++)
					;
				if (c == C_MAX) {
					fprintf(stderr, "bench_worker: unknown case '%s'\n", tok);
					exit(2);
				}
				o->cases[c] = true;
			}
			break;
		case 'r':
			o->runs = parse_count(optarg);
			if (o->runs > 64)
				o->runs = 64;
			break;
		case 'p':
			o->packets = parse_count(optarg);
			break;
		case 'n':
			o->count = parse_count(optarg);
			break;
		case 'b':
			o->backends = parse_count(optarg);
			if (o->backends > 250 * 256) {
				fprintf(stderr, "bench_worker: too many backends\n");
				exit(2);
			}
			break;
		case 'm':
			o->mem_flows = parse_count(optarg);
			break;
		case 'C':
			with_cluster = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
}

int
main(int argc, char **argv)
{
	struct opts o = { 0 };
	int ret = rte_eal_init(argc, argv);

	if (ret < 0) {
		fprintf(stderr, "bench_worker: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argv[ret] = argv[0];
	parse_opts(argc - ret, argv + ret, &o);
	if (o.mem_flows > 0) {
		ret = bench_memory(&o);
	} else {
		ret = 0;
		for (uint32_t i = 0; i < o.n_sizes; i++)
			ret |= bench_size(&o, o.sizes[i]);
	}
	rte_eal_cleanup();
	return ret == 0 ? 0 : 1;
}
