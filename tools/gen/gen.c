/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limpet-gen: plays client scenarios through a DPDK port (net_memif for
 * benchmarks, net_ring or net_pcap for tests), counts what comes back,
 * checks a sample of it for correct rewriting, and measures loss and
 * latency from TSC stamps in the payload. Without EAL it writes a
 * scenario to a pcap file, or checks a capture.
 *
 * One lcore does everything: build a burst, transmit it, receive, check
 * one frame in --check-every. Output: one "name value unit" line per
 * figure.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "gen.h"

#define MAX_BURST 256

struct run_opts {
	uint16_t port;
	double rate;			/* packets per second, 0: as fast as possible */
	double duration;		/* seconds */
	uint64_t count;			/* scenario packets, 0: by duration */
	uint32_t burst;
	uint32_t check_every;
	uint32_t drain_ms;
	uint32_t link_wait_s;
	const char *pcap_out;
	const char *pcap_in;
};

struct counters {
	uint64_t tx, tx_malformed, rx, rx_bytes, checked;
	uint64_t verdict[GV_MAX];
	struct gen_hist lat;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: limpet-gen [EAL options] -- [options]     play a scenario over a DPDK port\n"
		"       limpet-gen --pcap-out FILE [options]      write the scenario to a pcap (no EAL)\n"
		"       limpet-gen --pcap-in FILE [checks]        check every frame of a capture (no EAL)\n"
		"\n"
		"scenario:\n"
		"  --scenario NAME      conn: per flow SYN, ACK, --data packets, FIN (UDP: --data + 1\n"
		"                       datagrams), repeated on new ports while time is left;\n"
		"                       est: SYN+ACK of every flow (setup, not measured), then data\n"
		"                       round robin over the flows; syn: every packet a new connection;\n"
		"                       range: pktgen-style incrementing source address/port, no\n"
		"                       handshake (default conn)\n"
		"  --proto tcp|udp      (default tcp)\n"
		"  --clients N          client addresses (default 100)\n"
		"  --flows N            flows per client, on consecutive source ports (default 10)\n"
		"  --client-net ADDR    clients are ADDR+1, ADDR+2, ... (default 172.16.0.0, or fd00:c::\n"
		"                       with an IPv6 --vip)\n"
		"  --sport N            first source port (default 10000)\n"
		"  --vip ADDR           destination address (default 10.0.0.100); its family is the run's\n"
		"  --vport N            destination port (default 80)\n"
		"  --data N             data packets per connection in conn (default 1)\n"
		"  --size N             frame size on the wire with FCS, 64..1518 (default 64, or the\n"
		"                       smallest that holds the headers and the stamp: IPv6 72/84)\n"
		"  --malformed PCT      add PCT%% malformed frames (truncated, bad header length, bad\n"
		"                       length, impossible flags / loopback source) (default 0)\n"
		"  --src-mac MAC        (default the port's, or 02:00:00:00:ce:01)\n"
		"  --dst-mac MAC        limpet's MAC on the port (default 02:00:00:00:00:01)\n"
		"\n"
		"live run:\n"
		"  --port N             DPDK port id (default 0)\n"
		"  --rate PPS           transmit rate, 0 as fast as possible (default 0)\n"
		"  --duration S         seconds of traffic (default 5)\n"
		"  --count N            scenario packets to send instead (default: by duration)\n"
		"  --burst N            packets per transmit burst (default 32)\n"
		"  --check-every N      check and time one received frame in N (default 16; 1: all)\n"
		"  --drain-ms MS        keep receiving this long after the last transmit (default 200)\n"
		"  --link-wait S        wait this long for the link (a memif peer) (default 10)\n"
		"\n"
		"checks (on sampled frames; --pcap-in: on all):\n"
		"  --expect-dst PREFIX  destination (the backend) inside PREFIX, of its family\n"
		"  --expect-dport N     destination port after NAT\n"
		"  --expect-mac LIST    destination MAC is one of these (comma separated)\n"
		"  --expect-ttl N       TTL / hop limit (64 sent: 63 after one limpet)\n"
		"  IPv4 header and TCP/UDP checksums are always verified when checks are on.\n"
		"\n"
		"output: one \"name value unit\" line per figure (gen_tx_mpps, gen_rx_mpps, gen_loss_pct,\n"
		"gen_lat_p50_us, gen_lat_p99_us, gen_lat_p999_us, gen_check_bad, ...).\n");
}

static double
parse_num(const char *opt, const char *s, double lo, double hi)
{
	char *end;
	double v = strtod(s, &end);

	if (*end == 'K' || *end == 'k')
		v *= 1e3, end++;
	else if (*end == 'M' || *end == 'm')
		v *= 1e6, end++;
	if (end == s || *end != '\0' || !(v >= lo && v <= hi)) {
		fprintf(stderr, "limpet-gen: %s: '%s' is not a number in %g..%g\n", opt, s, lo, hi);
		exit(2);
	}
	return v;
}

static void
parse_mac(const char *opt, const char *s, struct lp_mac *m)
{
	if (lp_mac_parse(s, m) != 0) {
		fprintf(stderr, "limpet-gen: %s: '%s' is not a MAC address\n", opt, s);
		exit(2);
	}
}

static void
parse_opts(int argc, char **argv, struct gen_opts *o, struct run_opts *r)
{
	enum {
		O_SCEN = 256, O_PROTO, O_CLIENTS, O_FLOWS, O_CNET, O_SPORT, O_VIP, O_VPORT, O_DATA, O_SIZE,
		O_MALF, O_SMAC, O_DMAC, O_PORT, O_RATE, O_DUR, O_COUNT, O_BURST, O_CHECK, O_DRAIN, O_LINK,
		O_POUT, O_PIN, O_XDST, O_XDPORT, O_XMAC, O_XTTL,
	};
	static const struct option longs[] = {
		{ "scenario", required_argument, NULL, O_SCEN }, { "proto", required_argument, NULL, O_PROTO },
		{ "clients", required_argument, NULL, O_CLIENTS }, { "flows", required_argument, NULL, O_FLOWS },
		{ "client-net", required_argument, NULL, O_CNET }, { "sport", required_argument, NULL, O_SPORT },
		{ "vip", required_argument, NULL, O_VIP }, { "vport", required_argument, NULL, O_VPORT },
		{ "data", required_argument, NULL, O_DATA }, { "size", required_argument, NULL, O_SIZE },
		{ "malformed", required_argument, NULL, O_MALF }, { "src-mac", required_argument, NULL, O_SMAC },
		{ "dst-mac", required_argument, NULL, O_DMAC }, { "port", required_argument, NULL, O_PORT },
		{ "rate", required_argument, NULL, O_RATE }, { "duration", required_argument, NULL, O_DUR },
		{ "count", required_argument, NULL, O_COUNT }, { "burst", required_argument, NULL, O_BURST },
		{ "check-every", required_argument, NULL, O_CHECK }, { "drain-ms", required_argument, NULL, O_DRAIN },
		{ "link-wait", required_argument, NULL, O_LINK }, { "pcap-out", required_argument, NULL, O_POUT },
		{ "pcap-in", required_argument, NULL, O_PIN }, { "expect-dst", required_argument, NULL, O_XDST },
		{ "expect-dport", required_argument, NULL, O_XDPORT }, { "expect-mac", required_argument, NULL, O_XMAC },
		{ "expect-ttl", required_argument, NULL, O_XTTL }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool have_cnet = false, have_smac = false;
	char *tok, *save;
	int opt;

	memset(o, 0, sizeof(*o));
	o->scenario = GEN_CONN;
	o->proto = IPPROTO_TCP;
	o->clients = 100;
	o->flows = 10;
	o->sport = 10000;
	lp_ip_parse("10.0.0.100", &o->vip);
	o->vport = 80;
	o->data = 1;
	o->size = 0;
	lp_mac_parse("02:00:00:00:ce:01", &o->src_mac);
	lp_mac_parse("02:00:00:00:00:01", &o->dst_mac);
	memset(r, 0, sizeof(*r));
	r->duration = 5;
	r->burst = 32;
	r->check_every = 16;
	r->drain_ms = 200;
	r->link_wait_s = 10;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (opt) {
		case O_SCEN:
			if (strcmp(optarg, "conn") == 0)
				o->scenario = GEN_CONN;
			else if (strcmp(optarg, "est") == 0)
				o->scenario = GEN_EST;
			else if (strcmp(optarg, "syn") == 0)
				o->scenario = GEN_SYN;
			else if (strcmp(optarg, "range") == 0)
				o->scenario = GEN_RANGE;
			else {
				fprintf(stderr, "limpet-gen: --scenario: conn, est, syn or range, not '%s'\n", optarg);
				exit(2);
			}
			break;
		case O_PROTO:
			if (strcmp(optarg, "tcp") != 0 && strcmp(optarg, "udp") != 0) {
				fprintf(stderr, "limpet-gen: --proto: tcp or udp, not '%s'\n", optarg);
				exit(2);
			}
			o->proto = optarg[0] == 't' ? IPPROTO_TCP : IPPROTO_UDP;
			break;
		case O_CLIENTS:
			o->clients = (uint32_t)parse_num("--clients", optarg, 1, 16777216);
			break;
		case O_FLOWS:
			o->flows = (uint32_t)parse_num("--flows", optarg, 1, 65535);
			break;
		case O_CNET:
			if (lp_ip_parse(optarg, &o->client_net) != 0) {
				fprintf(stderr, "limpet-gen: --client-net: '%s' is not an address\n", optarg);
				exit(2);
			}
			have_cnet = true;
			break;
		case O_SPORT:
			o->sport = (uint16_t)parse_num("--sport", optarg, 1, 65535);
			break;
		case O_VIP:
			if (lp_ip_parse(optarg, &o->vip) != 0) {
				fprintf(stderr, "limpet-gen: --vip: '%s' is not an address\n", optarg);
				exit(2);
			}
			break;
		case O_VPORT:
			o->vport = (uint16_t)parse_num("--vport", optarg, 1, 65535);
			break;
		case O_DATA:
			o->data = (uint32_t)parse_num("--data", optarg, 0, 1000000);
			break;
		case O_SIZE:
			o->size = (uint32_t)parse_num("--size", optarg, 64, 1518);
			break;
		case O_MALF:
			o->malformed = parse_num("--malformed", optarg, 0, 100) / 100;
			break;
		case O_SMAC:
			parse_mac("--src-mac", optarg, &o->src_mac);
			have_smac = true;
			break;
		case O_DMAC:
			parse_mac("--dst-mac", optarg, &o->dst_mac);
			break;
		case O_PORT:
			r->port = (uint16_t)parse_num("--port", optarg, 0, RTE_MAX_ETHPORTS - 1);
			break;
		case O_RATE:
			r->rate = parse_num("--rate", optarg, 0, 1e9);
			break;
		case O_DUR:
			r->duration = parse_num("--duration", optarg, 0.001, 86400);
			break;
		case O_COUNT:
			r->count = (uint64_t)parse_num("--count", optarg, 1, 1e15);
			break;
		case O_BURST:
			r->burst = (uint32_t)parse_num("--burst", optarg, 1, MAX_BURST);
			break;
		case O_CHECK:
			r->check_every = (uint32_t)parse_num("--check-every", optarg, 1, 1e9);
			break;
		case O_DRAIN:
			r->drain_ms = (uint32_t)parse_num("--drain-ms", optarg, 0, 600000);
			break;
		case O_LINK:
			r->link_wait_s = (uint32_t)parse_num("--link-wait", optarg, 0, 3600);
			break;
		case O_POUT:
			r->pcap_out = optarg;
			break;
		case O_PIN:
			r->pcap_in = optarg;
			break;
		case O_XDST:
			if (lp_ip_prefix_parse(optarg, &o->expect_net, &o->expect_prefix) != 0) {
				fprintf(stderr, "limpet-gen: --expect-dst: '%s' is not a prefix\n", optarg);
				exit(2);
			}
			o->check = true;
			break;
		case O_XDPORT:
			o->expect_dport = (uint16_t)parse_num("--expect-dport", optarg, 1, 65535);
			o->check = true;
			break;
		case O_XMAC:
			for (tok = strtok_r(optarg, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
				if (o->n_expect_mac == GEN_MAX_MACS) {
					fprintf(stderr, "limpet-gen: --expect-mac: at most %u MACs\n", GEN_MAX_MACS);
					exit(2);
				}
				parse_mac("--expect-mac", tok, &o->expect_mac[o->n_expect_mac++]);
			}
			o->check = true;
			break;
		case O_XTTL:
			o->expect_ttl = (uint8_t)parse_num("--expect-ttl", optarg, 1, 255);
			o->check = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "limpet-gen: unexpected argument '%s'\n", argv[optind]);
		exit(2);
	}
	o->family = o->vip.family;
	if (!have_cnet)
		lp_ip_parse(o->family == LP_AF_INET ? "172.16.0.0" : "fd00:c::", &o->client_net);
	if (o->client_net.family != o->family) {
		fprintf(stderr, "limpet-gen: --client-net and --vip must be of one family\n");
		exit(2);
	}
	o->src_mac_given = have_smac;
}

/* ---- live run ---- */

static struct rte_mempool *
port_setup(uint16_t port, uint32_t link_wait_s)
{
	struct rte_eth_conf conf;
	struct rte_mempool *pool;
	struct rte_eth_link link;
	uint16_t nrx = 1024, ntx = 1024;
	uint64_t deadline;
	int ret;

	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "limpet-gen: no DPDK port %u (give one with --vdev)\n", port);
		return NULL;
	}
	pool = rte_pktmbuf_pool_create("gen_pool", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       rte_eth_dev_socket_id(port) < 0 ? (int)rte_socket_id()
								       : rte_eth_dev_socket_id(port));
	if (pool == NULL) {
		fprintf(stderr, "limpet-gen: no memory for mbufs: %s\n", rte_strerror(rte_errno));
		return NULL;
	}
	memset(&conf, 0, sizeof(conf));
	ret = rte_eth_dev_configure(port, 1, 1, &conf);
	if (ret == 0)
		ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
	if (ret == 0)
		ret = rte_eth_rx_queue_setup(port, 0, nrx, rte_eth_dev_socket_id(port), NULL, pool);
	if (ret == 0)
		ret = rte_eth_tx_queue_setup(port, 0, ntx, rte_eth_dev_socket_id(port), NULL);
	/* A memif client fails to start while its server is not listening
	 * yet: try again until --link-wait runs out. */
	deadline = rte_get_tsc_cycles() + (uint64_t)link_wait_s * rte_get_tsc_hz();
	while (ret == 0 && (ret = rte_eth_dev_start(port)) != 0 && rte_get_tsc_cycles() < deadline && !stop) {
		rte_eth_dev_stop(port);
		rte_delay_ms(100);
		ret = 0;
	}
	if (ret != 0) {
		fprintf(stderr, "limpet-gen: port %u: setup failed: %s\n", port, strerror(-ret));
		rte_mempool_free(pool);
		return NULL;
	}
	rte_eth_promiscuous_enable(port);
	/* A memif client's link comes up once the server accepted it. */
	do {
		if (rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP)
			return pool;
		rte_delay_ms(10);
	} while (rte_get_tsc_cycles() < deadline && !stop);
	fprintf(stderr, "limpet-gen: port %u: link still down after %u s (is the peer running?)\n", port,
		link_wait_s);
	rte_eth_dev_stop(port);
	rte_mempool_free(pool);
	return NULL;
}

static void
receive(uint16_t port, const struct gen_opts *o, uint32_t check_every, struct counters *c)
{
	struct rte_mbuf *pkts[MAX_BURST];
	uint16_t n = rte_eth_rx_burst(port, 0, pkts, MAX_BURST);
	uint64_t now;

	if (n == 0)
		return;
	now = rte_rdtsc();
	for (uint16_t i = 0; i < n; i++) {
		const uint8_t *f = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
		uint32_t len = pkts[i]->data_len;
		uint64_t stamp;

		c->rx_bytes += pkts[i]->pkt_len;
		if ((c->rx + i) % check_every != 0)
			continue;
		if (gen_stamp(f, len, &stamp))
			gen_hist_add(&c->lat, (now - stamp) & ((1ull << (8 * GEN_STAMP_LEN)) - 1));
		if (o->check) {
			enum gen_verdict v = gen_check(o, f, len);

			c->verdict[v]++;
			if (v == GV_OTHER)
				continue;
			c->checked++;
			if (v != GV_OK && c->checked - c->verdict[GV_OK] <= 5)
				fprintf(stderr, "limpet-gen: received frame %" PRIu64 ": %s\n", c->rx + i + 1,
					gen_verdict_names[v]);
		}
	}
	c->rx += n;
	rte_pktmbuf_free_bulk(pkts, n);
}

/*
 * Send scenario packets [*seq, end) (malformed frames slotted in) until
 * @deadline or the count is reached, receiving in between. Unsent frames
 * are retried first, so a connection's packets keep their order.
 */
static void
play(uint16_t port, struct rte_mempool *pool, const struct gen_scen *s, const struct run_opts *r,
     uint64_t *seq, uint64_t *slot, uint64_t end, uint64_t deadline, struct counters *c)
{
	const struct gen_opts *o = s->o;
	struct rte_mbuf *pend[MAX_BURST];
	uint16_t n_pend = 0, head = 0;
	uint64_t hz = rte_get_tsc_hz(), next = rte_rdtsc();
	double gap = r->rate > 0 ? (double)hz * r->burst / r->rate : 0;
	uint64_t malformed_in_pend = 0;

	while (!stop && (n_pend > 0 || *seq < end)) {
		uint64_t now = rte_rdtsc();

		if (n_pend == 0 && *seq < end && (gap == 0 || now >= next)) {
			uint32_t want = r->burst;

			if (now >= deadline)
				break;
			if (rte_pktmbuf_alloc_bulk(pool, pend, want) != 0) {
				receive(port, o, r->check_every, c);
				continue;
			}
			malformed_in_pend = 0;
			for (uint32_t i = 0; i < want; i++) {
				struct rte_mbuf *m = pend[i];
				uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
				uint16_t len;

				if (*seq >= end) {
					rte_pktmbuf_free_bulk(pend + i, want - i);
					want = i;
					break;
				}
				len = gen_scen_packet(s, *seq, now, d);
				if (gen_is_malformed(o, *slot)) {
					len = gen_malform(s, *slot, d, len);
					malformed_in_pend++;
				} else {
					(*seq)++;
				}
				(*slot)++;
				m->data_len = m->pkt_len = len;
			}
			n_pend = (uint16_t)want;
			head = 0;
			c->tx_malformed += malformed_in_pend;
			if (gap > 0)
				next += (uint64_t)gap;
		}
		if (n_pend > 0) {
			uint16_t sent = rte_eth_tx_burst(port, 0, pend + head, n_pend);

			c->tx += sent;
			head += sent;
			n_pend -= sent;
		}
		receive(port, o, r->check_every, c);
	}
	if (n_pend > 0)
		rte_pktmbuf_free_bulk(pend + head, n_pend);
}

static void
drain(uint16_t port, const struct gen_opts *o, uint32_t check_every, uint32_t ms, struct counters *c)
{
	uint64_t end = rte_rdtsc() + (uint64_t)ms * rte_get_tsc_hz() / 1000;

	while (rte_rdtsc() < end && !stop)
		receive(port, o, check_every, c);
}

static int
live(struct gen_opts *o, const struct run_opts *r)
{
	static struct counters c;
	struct gen_scen *s = malloc(sizeof(*s));
	struct rte_mempool *pool;
	struct rte_ether_addr ea;
	uint64_t seq = 0, slot = 0, setup, end, hz = rte_get_tsc_hz(), t0, t1;
	double secs, us = 1e6 / (double)hz;
	int ret = 0;

	if (s == NULL)
		return 1;
	pool = port_setup(r->port, r->link_wait_s);
	if (pool == NULL) {
		free(s);
		return 1;
	}
	if (!o->src_mac_given && rte_eth_macaddr_get(r->port, &ea) == 0)
		memcpy(o->src_mac.b, ea.addr_bytes, 6);
	if (gen_scen_init(s, o) != 0) {
		ret = 1;
		goto out;
	}
	/* est: the handshakes first, then the measured part. */
	setup = gen_scen_setup_len(s);
	if (setup > 0) {
		play(r->port, pool, s, r, &seq, &slot, setup, UINT64_MAX, &c);
		drain(r->port, o, r->check_every, r->drain_ms, &c);
		printf("gen_setup_pkts %" PRIu64 " packets\n", c.tx);
		printf("gen_setup_returned %" PRIu64 " packets\n", c.rx);
		memset(&c, 0, sizeof(c));
	}
	end = r->count ? setup + r->count : UINT64_MAX;
	t0 = rte_rdtsc();
	play(r->port, pool, s, r, &seq, &slot, end, r->count ? UINT64_MAX : t0 + (uint64_t)(r->duration * hz), &c);
	t1 = rte_rdtsc();
	drain(r->port, o, r->check_every, r->drain_ms, &c);
	secs = (double)(t1 - t0) / (double)hz;
	printf("gen_duration %.3f s\n", secs);
	printf("gen_tx_pkts %" PRIu64 " packets\n", c.tx);
	printf("gen_tx_malformed %" PRIu64 " packets\n", c.tx_malformed);
	printf("gen_rx_pkts %" PRIu64 " packets\n", c.rx);
	printf("gen_tx_mpps %.3f Mpps\n", (double)c.tx / secs / 1e6);
	printf("gen_rx_mpps %.3f Mpps\n", (double)c.rx / secs / 1e6);
	printf("gen_rx_gbps %.3f Gbit/s\n", (double)c.rx_bytes * 8 / secs / 1e9);
	if (c.tx > c.tx_malformed)
		printf("gen_loss_pct %.4f %%\n",
		       100.0 * ((double)(c.tx - c.tx_malformed) - (double)c.rx) / (double)(c.tx - c.tx_malformed));
	if (c.lat.n > 0) {
		printf("gen_lat_samples %" PRIu64 " packets\n", c.lat.n);
		printf("gen_lat_p50_us %.2f us\n", (double)gen_hist_quantile(&c.lat, 0.50) * us);
		printf("gen_lat_p99_us %.2f us\n", (double)gen_hist_quantile(&c.lat, 0.99) * us);
		printf("gen_lat_p999_us %.2f us\n", (double)gen_hist_quantile(&c.lat, 0.999) * us);
		printf("gen_lat_max_us %.2f us\n", (double)c.lat.max * us);
	}
	if (o->check) {
		printf("gen_check_ok %" PRIu64 " packets\n", c.verdict[GV_OK]);
		printf("gen_check_bad %" PRIu64 " packets\n", c.checked - c.verdict[GV_OK]);
		ret = c.checked == c.verdict[GV_OK] ? 0 : 1;
	}
out:
	rte_eth_dev_stop(r->port);
	rte_eth_dev_close(r->port);
	rte_mempool_free(pool);
	free(s);
	return ret;
}

int
main(int argc, char **argv)
{
	struct gen_opts o;
	struct run_opts r;
	int sep = -1, ret;

	/* Without "--" there is no EAL: pcap modes and --help. */
	for (int i = 1; i < argc && sep < 0; i++)
		if (strcmp(argv[i], "--") == 0)
			sep = i;
	if (sep < 0) {
		parse_opts(argc, argv, &o, &r);
		if (r.pcap_out != NULL)
			return gen_pcap_write(&o, r.pcap_out, r.count, r.rate > 0 ? r.rate : 1e6) == 0 ? 0 : 1;
		if (r.pcap_in != NULL)
			return gen_pcap_check(&o, r.pcap_in);
		fprintf(stderr, "limpet-gen: EAL options and -- are needed for a live run (see --help)\n");
		return 2;
	}
	argv[sep] = argv[0];
	parse_opts(argc - sep, argv + sep, &o, &r);
	argv[sep] = (char *)"--";
	if (r.pcap_out != NULL || r.pcap_in != NULL) {
		fprintf(stderr, "limpet-gen: --pcap-out and --pcap-in run without EAL options\n");
		return 2;
	}
	ret = rte_eal_init(sep, argv);
	if (ret < 0) {
		fprintf(stderr, "limpet-gen: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	ret = live(&o, &r);
	rte_eal_cleanup();
	return ret;
}
