/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The whole data path under mutated input. Two workers over ring ports,
 * services of every forwarding mode, IPv4 and IPv6, with and without
 * affinity. Valid seed frames of every kind limpet handles (connections,
 * NAT replies, ICMP errors quoting flows, ARP, ND, echo, fragments, VLAN
 * tags, UDP) are mutated at random (bytes flipped in the headers, frames
 * cut short or padded, lengths and offsets overwritten) with a fixed seed
 * and sent through both ports, 200,000 of them. Then:
 *
 *  - each worker's counters still add up (rx + injected = tx + drops +
 *    slowpath): no packet vanished or was counted twice;
 *  - every frame limpet sent parses without a drop verdict: whatever it
 *    forwarded, rewrote or answered is well-formed by its own parser;
 *  - no mbuf leaked: the pool is whole again once the rings are drained;
 *  - limpet still works: a fresh connection is forwarded and its reply
 *    translated back.
 *
 * Run under the sanitizer build, this is also the memory-safety check of
 * every rewrite, encapsulation and slow-path answer on hostile input.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "itest.h"
#include "lp_test.h"

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: [10.0.0.1/24, \"fd00::1/64\"], gateway: 10.0.0.254 }\n"
	"  - { name: lan, device: net_ring_lan, address: [10.1.0.1/24, \"fd01::1/64\"] }\n"
	"neighbors:\n"
	"  - { address: 10.0.0.254, mac: \"02:00:00:00:00:fe\", port: wan }\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"  - { address: \"fd01::11\", mac: \"02:00:00:00:02:11\", port: lan }\n"
	"flows: { capacity: 8192 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n"
	"  - name: dns\n"
	"    vip: 10.0.0.100\n"
	"    port: 53\n"
	"    protocol: UDP\n"
	"    backends: [ { address: 10.1.0.11, port: 5353 } ]\n"
	"  - name: direct\n"
	"    vip: 10.0.0.101\n"
	"    port: 80\n"
	"    forwarding: dsr\n"
	"    backends: [ { address: 10.1.0.11, port: 80 }, { address: 10.1.0.12, port: 80 } ]\n"
	"  - name: tun\n"
	"    vip: 10.0.0.102\n"
	"    port: 80\n"
	"    forwarding: tunnel\n"
	"    tunnelSource: 172.31.0.0/16\n"
	"    backends: [ { address: 10.1.0.12, port: 80 } ]\n"
	"  - name: web6\n"
	"    vip: \"fd00::100\"\n"
	"    port: 443\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: \"fd01::11\", port: 8443 } ]\n";

#define N_FRAMES_DEFAULT 200000u
#define N_SEEDS 64u

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_stats *tot;
static const struct lp_mac own_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };
static const struct lp_mac peer_mac = { { 0x02, 0xc1, 0x1e, 0x47, 0x00, 0x01 } };

struct seed {
	uint8_t f[1600];
	uint32_t len;
	bool from_lan;		/* sent by a backend or the lan side */
};

static struct seed seeds[N_SEEDS];
static uint32_t n_seeds;
static uint8_t (*out)[2048];
static uint32_t out_len[4];
static uint64_t sent_out, bad_out;
static uint32_t n_frames = N_FRAMES_DEFAULT;

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	tot = malloc(sizeof(*tot));
	out = malloc(4 * sizeof(*out));
	ctl = itest_start(config_yaml);
	return ctl == NULL || tot == NULL || out == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	free(tot);
	free(out);
	return 0;
}

/* A deterministic generator (xorshift64*), so a failure replays. The
 * seed and the frame count may be changed for longer local runs:
 * LP_FUZZ_SEED=N LP_FUZZ_FRAMES=N build-asan/tests/integration/test_fuzzpath */
static uint64_t rng_state = 0x2026112400c0ffeeULL;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32) % n;
}

/* ---- seeds ---- */

static struct seed *
next_seed(bool from_lan)
{
	CU_ASSERT_FATAL(n_seeds < N_SEEDS);
	seeds[n_seeds].from_lan = from_lan;
	return &seeds[n_seeds++];
}

static void
add_spec(bool from_lan, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t proto,
	 uint8_t flags, uint16_t vlan, uint16_t payload)
{
	struct seed *s = next_seed(from_lan);
	struct lp_pkt_spec sp = { 0 };
	int len;

	sp.src_mac = peer_mac;
	sp.dst_mac = own_mac;
	sp.vlan = vlan;
	CU_ASSERT_FATAL(lp_ip_parse(src, &sp.src) == 0 && lp_ip_parse(dst, &sp.dst) == 0);
	sp.proto = proto;
	sp.sport = sport;
	sp.dport = dport;
	sp.tcp_flags = flags;
	sp.seq = 1000;
	sp.ack = flags & LP_TCP_ACK ? 2000 : 0;
	sp.payload_len = payload;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6)
		sp.icmp_type = proto == IPPROTO_ICMP ? 8 : 128;	/* echo request */
	len = lp_pkt_build(s->f, sizeof(s->f), &sp);
	CU_ASSERT_FATAL(len > 0);
	s->len = (uint32_t)len;
}

/* An ICMP error from a router at @p router about the packet in seed @p about. */
static void
add_icmp_error(bool from_lan, const char *router, uint32_t about, uint8_t type, uint8_t code, uint32_t info)
{
	struct seed *s = next_seed(from_lan);
	struct lp_icmp_err_spec es = { 0 };
	struct lp_pkt_meta m;
	int len;

	CU_ASSERT_FATAL(lp_pkt_parse(seeds[about].f, seeds[about].len, &m) == LP_DROP_NONE);
	es.src_mac = peer_mac;
	es.dst_mac = own_mac;
	CU_ASSERT_FATAL(lp_ip_parse(router, &es.src) == 0);
	es.type = type;
	es.code = code;
	es.info = info;
	len = lp_pkt_build_icmp_error(s->f, sizeof(s->f), &es, seeds[about].f, &m);
	CU_ASSERT_FATAL(len > 0);
	s->len = (uint32_t)len;
}

/* Turn seed @p i (IPv4) into a fragment: more-fragments and/or an offset. */
static void
make_fragment(uint32_t i, uint16_t offset8, bool more)
{
	struct seed *s = &seeds[i];
	uint8_t *ip = s->f + 14;
	uint16_t v = (uint16_t)(offset8 | (more ? 0x2000 : 0));

	ip[6] = (uint8_t)(v >> 8);
	ip[7] = (uint8_t)v;
}

static void
build_seeds(void)
{
	static const uint8_t vip[4] = { 10, 0, 0, 100 }, own[4] = { 10, 0, 0, 1 }, client[4] = { 172, 20, 0, 9 };
	struct lp_nd_spec nd = { 0 };
	struct seed *s;
	uint32_t syn, reply, syn6, reply6;
	int len;

	/* Connections to every service, both families, every TCP phase. */
	syn = n_seeds;
	add_spec(false, "172.20.0.9", 40000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN, 0, 0);
	add_spec(false, "172.20.0.9", 40000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_ACK, 0, 200);
	add_spec(false, "172.20.0.9", 40000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_FIN | LP_TCP_ACK, 0, 0);
	add_spec(false, "172.20.0.9", 40000, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_RST, 0, 0);
	add_spec(false, "172.20.0.10", 40001, "10.0.0.101", 80, IPPROTO_TCP, LP_TCP_SYN, 0, 0);
	add_spec(false, "172.20.0.10", 40001, "10.0.0.101", 80, IPPROTO_TCP, LP_TCP_ACK, 0, 1200);
	add_spec(false, "172.20.0.11", 40002, "10.0.0.102", 80, IPPROTO_TCP, LP_TCP_SYN, 0, 0);
	add_spec(false, "172.20.0.11", 40002, "10.0.0.102", 80, IPPROTO_TCP, LP_TCP_ACK, 0, 1400);
	add_spec(false, "172.20.0.12", 5300, "10.0.0.100", 53, IPPROTO_UDP, 0, 0, 40);
	add_spec(false, "172.20.0.13", 40003, "10.0.0.100", 80, IPPROTO_TCP, LP_TCP_SYN, 42, 0);
	syn6 = n_seeds;
	add_spec(false, "fd00:20::9", 40000, "fd00::100", 443, IPPROTO_TCP, LP_TCP_SYN, 0, 0);
	add_spec(false, "fd00:20::9", 40000, "fd00::100", 443, IPPROTO_TCP, LP_TCP_ACK, 0, 300);
	/* Replies from the backends (NAT: translated back to the VIP). */
	reply = n_seeds;
	add_spec(true, "10.1.0.11", 8080, "172.20.0.9", 40000, IPPROTO_TCP, LP_TCP_SYN | LP_TCP_ACK, 0, 0);
	add_spec(true, "10.1.0.12", 8080, "172.20.0.9", 40000, IPPROTO_TCP, LP_TCP_ACK, 0, 1000);
	add_spec(true, "10.1.0.11", 5353, "172.20.0.12", 5300, IPPROTO_UDP, 0, 0, 60);
	reply6 = n_seeds;
	add_spec(true, "fd01::11", 8443, "fd00:20::9", 40000, IPPROTO_TCP, LP_TCP_SYN | LP_TCP_ACK, 0, 0);
	/* ICMP errors about flows, from either side (PMTU, unreachable). */
	add_icmp_error(false, "10.0.0.254", reply, 3, 4, 1400);		/* frag needed, client side */
	add_icmp_error(true, "10.1.0.254", syn, 3, 4, 1300);		/* frag needed, backend side */
	add_icmp_error(true, "10.1.0.254", syn + 6, 3, 1, 0);		/* host unreachable, tunnel */
	add_icmp_error(false, "10.0.0.254", reply + 2, 3, 3, 0);	/* port unreachable, UDP */
	add_icmp_error(false, "fd00::fe", reply6, 2, 0, 1280);		/* packet too big */
	add_icmp_error(true, "fd01::fe", syn6, 1, 3, 0);		/* address unreachable */
	/* Echo to the VIP, to limpet, IPv6 echo. */
	add_spec(false, "172.20.0.14", 7, "10.0.0.100", 1, IPPROTO_ICMP, 0, 0, 56);
	add_spec(false, "172.20.0.14", 7, "10.0.0.1", 2, IPPROTO_ICMP, 0, 0, 56);
	add_spec(false, "fd00:20::14", 7, "fd00::1", 3, IPPROTO_ICMPV6, 0, 0, 56);
	/* Fragments: a first one and a later one of a UDP datagram to a VIP. */
	add_spec(false, "172.20.0.15", 5301, "10.0.0.100", 53, IPPROTO_UDP, 0, 0, 400);
	make_fragment(n_seeds - 1, 0, true);
	add_spec(false, "172.20.0.15", 5301, "10.0.0.100", 53, IPPROTO_UDP, 0, 0, 400);
	make_fragment(n_seeds - 1, 51, false);
	/* Neighbours: ARP for the VIP and for limpet, NS for limpet's address. */
	s = next_seed(false);
	len = lp_pkt_build_arp(s->f, sizeof(s->f), LP_ARP_REQUEST, &peer_mac, client, NULL, vip);
	CU_ASSERT_FATAL(len > 0);
	s->len = (uint32_t)len;
	s = next_seed(false);
	len = lp_pkt_build_arp(s->f, sizeof(s->f), LP_ARP_REPLY, &peer_mac, client, &own_mac, own);
	CU_ASSERT_FATAL(len > 0);
	s->len = (uint32_t)len;
	s = next_seed(false);
	nd.src_mac = peer_mac;
	{
		struct lp_ip a, t;

		CU_ASSERT_FATAL(lp_ip_parse("fd00::fe", &a) == 0 && lp_ip_parse("fd00::1", &t) == 0);
		memcpy(nd.src, a.a, 16);
		memcpy(nd.target, t.a, 16);
	}
	len = lp_pkt_build_ns(s->f, sizeof(s->f), &nd);
	CU_ASSERT_FATAL(len > 0);
	s->len = (uint32_t)len;
	printf("\n    %u seed frames", n_seeds);
}

/* ---- mutation ---- */

/* A copy of a random seed, changed in one to four ways. */
static uint32_t
mutate(uint8_t *f, const struct seed *s)
{
	uint32_t len = s->len, ops = 1 + rnd(4);

	memcpy(f, s->f, s->len);
	while (ops-- > 0) {
		uint32_t hdr = len < 96 ? len : 96;	/* the headers, mostly */

		if (hdr == 0)
			break;
		switch (rnd(8)) {
		case 0:
		case 1:
		case 2:	/* flip bits in a header byte */
			f[rnd(hdr)] ^= (uint8_t)(1u << rnd(8));
			break;
		case 3:	/* a random header byte */
			f[rnd(hdr)] = (uint8_t)rnd(256);
			break;
		case 4:	/* a 16-bit field overwritten: lengths, offsets, ports */
			if (hdr >= 2) {
				uint32_t at = rnd(hdr - 1);
				uint16_t v = (uint16_t)(rnd(3) == 0 ? rnd(65536) : rnd(3) == 0 ? 0 : 0xffff - rnd(64));

				f[at] = (uint8_t)(v >> 8);
				f[at + 1] = (uint8_t)v;
			}
			break;
		case 5:	/* cut short */
			len = rnd(len + 1);
			break;
		case 6:	/* padded with junk */
		{
			uint32_t add = rnd(64);

			if (len + add > 1514)
				add = 1514 - len;
			for (uint32_t i = 0; i < add; i++)
				f[len + i] = (uint8_t)rnd(256);
			len += add;
			break;
		}
		default:	/* a byte anywhere */
			if (len > 0)
				f[rnd(len)] = (uint8_t)rnd(256);
			break;
		}
	}
	return len;
}

/* ---- checks ---- */

/* One frame limpet sent: it must parse cleanly. */
static void
check_sent(const struct rte_mbuf *mb)
{
	const uint8_t *f = rte_pktmbuf_mtod(mb, const uint8_t *);
	struct lp_pkt_meta m;
	enum lp_drop why = lp_pkt_parse(f, mb->data_len, &m);

	sent_out++;
	if (why == LP_DROP_NONE)
		return;
	if (bad_out < 5) {
		printf("\n    sent a frame its parser drops (%s), %u bytes:", lp_drop_name(why), mb->data_len);
		for (uint32_t b = 0; b < mb->data_len && b < 96; b++)
			printf("%s%02x", b % 16 ? " " : "\n      ", f[b]);
	}
	bad_out++;
}

/* Take what limpet sent on @p p, checking each frame, for @p ms at least
 * (0: what is there now), running the control thread meanwhile. */
static void
collect(struct itest_port *p, unsigned int ms)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;
	bool any;

	do {
		any = false;
		for (uint32_t q = 0; q < p->nq; q++) {
			struct rte_mbuf *m[64];
			unsigned int n = rte_ring_sc_dequeue_burst(p->tx[q], (void **)m, 64, NULL);

			for (unsigned int i = 0; i < n; i++) {
				check_sent(m[i]);
				rte_pktmbuf_free(m[i]);
			}
			any |= n > 0;
		}
		lp_ctl_poll(ctl, rte_rdtsc());
		if (!any && ms > 0)
			rte_delay_us_sleep(200);
	} while (any || rte_get_tsc_cycles() < end);
}

static void
wait_workers_idle(void)
{
	uint64_t end = rte_get_tsc_cycles() + 20 * rte_get_tsc_hz();
	struct lp_dp *dp = lp_ctl_dp(ctl);
	bool idle = false;

	while (!idle && rte_get_tsc_cycles() < end) {
		idle = true;
		for (uint32_t q = 0; q < 2; q++)
			idle &= rte_ring_empty(wan.rx[q]) && rte_ring_empty(lan.rx[q]);
		for (uint32_t w = 0; w < dp->n_workers; w++)
			idle &= rte_ring_empty(dp->worker[w]->from_ctl);
		collect(&wan, 1);
		collect(&lan, 1);
	}
	CU_ASSERT_FATAL(idle);
	/* The burst that emptied a ring may still be on its way out, and the
	 * control thread may still answer what it was handed. */
	collect(&wan, 50);
	collect(&lan, 50);
}

static void
test_mutated_frames(void)
{
	struct rte_mempool *pool = itest_pool();
	unsigned int avail = rte_mempool_avail_count(pool);
	uint32_t nw = lp_ctl_worker_count(ctl);
	uint8_t f[1600];
	uint64_t rx = 0, drops = 0;

	if (getenv("LP_FUZZ_SEED") != NULL)
		rng_state ^= strtoull(getenv("LP_FUZZ_SEED"), NULL, 0) * 0x9e3779b97f4a7c15ULL;
	if (getenv("LP_FUZZ_FRAMES") != NULL)
		n_frames = (uint32_t)strtoul(getenv("LP_FUZZ_FRAMES"), NULL, 0);
	build_seeds();
	for (uint32_t i = 0; i < n_frames; i++) {
		const struct seed *s = &seeds[rnd(n_seeds)];
		uint32_t len = i % 16 == 0 ? s->len : mutate(f, s);	/* some valid ones keep flows alive */
		struct itest_port *p = s->from_lan ? &lan : &wan;

		if (i % 16 == 0)
			memcpy(f, s->f, len);
		while (itest_inject(p, f, len) != 0) {	/* ring full: let the workers catch up */
			collect(&wan, 1);
			collect(&lan, 1);
		}
		if (i % 512 == 511) {
			collect(&wan, 0);
			collect(&lan, 0);
		}
	}
	wait_workers_idle();
	itest_assert_workers_balance(ctl);
	for (uint32_t w = 0; w < nw; w++) {
		const struct lp_stats *s = lp_ctl_worker_stats(ctl, w);

		rx += s->c[LP_WC_rx_pkts];
		drops += lp_stats_drops(s);
	}
	printf("    %u frames in, %lu received, %lu dropped by the workers, %lu sent, %lu of them malformed\n",
	       n_frames, (unsigned long)rx, (unsigned long)drops, (unsigned long)sent_out, (unsigned long)bad_out);
	CU_ASSERT(rx == n_frames);
	CU_ASSERT(drops > n_frames / 10);	/* the mutations did produce bad frames */
	CU_ASSERT(sent_out > n_frames / 10);	/* and plenty of good ones went through */
	CU_ASSERT(bad_out == 0);
	/* Every mbuf comes back. Packets for neighbours being resolved (a
	 * mutated address inside an on-link prefix) are held up to 3 s and
	 * then dropped, so give the control thread that long. */
	for (unsigned int ms = 0; ms < 6000 && rte_mempool_avail_count(pool) != avail; ms += 50) {
		collect(&wan, 25);
		collect(&lan, 25);
	}
	CU_ASSERT(rte_mempool_avail_count(pool) == avail);
	if (rte_mempool_avail_count(pool) != avail)
		printf("    mbufs: %u available before, %u after\n", avail, rte_mempool_avail_count(pool));
}

/* After the storm, a new connection still works both ways. */
static void
test_still_forwards(void)
{
	struct lp_pkt_spec sp = { 0 };
	struct lp_pkt_meta m;
	uint8_t f[256];
	int len;
	uint32_t n;

	sp.src_mac = peer_mac;
	sp.dst_mac = own_mac;
	CU_ASSERT_FATAL(lp_ip_parse("172.22.1.1", &sp.src) == 0 && lp_ip_parse("10.0.0.100", &sp.dst) == 0);
	sp.proto = IPPROTO_TCP;
	sp.sport = 41000;
	sp.dport = 80;
	sp.tcp_flags = LP_TCP_SYN;
	len = lp_pkt_build(f, sizeof(f), &sp);
	CU_ASSERT_FATAL(len > 0 && itest_inject(&wan, f, (uint32_t)len) == 0);
	n = itest_collect(ctl, &lan, 1, 2000, out, out_len);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT_FATAL(lp_pkt_parse(out[0], out_len[0], &m) == LP_DROP_NONE);
	CU_ASSERT(m.key.dport == htons(8080));
	CU_ASSERT(m.key.dst[0] == 10 && m.key.dst[1] == 1 && m.key.dst[2] == 0 &&
		  (m.key.dst[3] == 11 || m.key.dst[3] == 12));
	/* The backend's answer goes back from the VIP. */
	memcpy(sp.src.a, m.key.dst, 4);
	CU_ASSERT_FATAL(lp_ip_parse("172.22.1.1", &sp.dst) == 0);
	sp.sport = 8080;
	sp.dport = 41000;
	sp.tcp_flags = LP_TCP_SYN | LP_TCP_ACK;
	len = lp_pkt_build(f, sizeof(f), &sp);
	CU_ASSERT_FATAL(len > 0 && itest_inject(&lan, f, (uint32_t)len) == 0);
	n = itest_collect(ctl, &wan, 1, 2000, out, out_len);
	CU_ASSERT_FATAL(n == 1);
	CU_ASSERT_FATAL(lp_pkt_parse(out[0], out_len[0], &m) == LP_DROP_NONE);
	CU_ASSERT(m.key.sport == htons(80));
	CU_ASSERT(m.key.src[0] == 10 && m.key.src[1] == 0 && m.key.src[2] == 0 && m.key.src[3] == 100);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "200000 mutated frames: counters add up, output well-formed, no leak", test_mutated_frames },
		{ "a new connection still works both ways", test_still_forwards },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "fuzzpath", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
