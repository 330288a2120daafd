/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Counters tell the truth. Two workers over ring ports:
 *
 *  - every drop reason of LP_DROP_REASONS is reachable: a table gives, for
 *    each, the packet (and the setup) that makes limpet drop for it, and
 *    the test checks that counter moved;
 *  - after all that and mixed traffic (good flows, replies, malformed
 *    frames, packets for no service, a full flow table), each worker's
 *    counters add up as lp_stats.h says:
 *        rx_pkts + injected = tx_pkts + sum(drop[]) + slowpath
 *    and per-port, per-service and per-backend counters sum to the totals,
 *    which also agree with the ring devices' own counters.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>

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
	"flows: { capacity: 4096 }\n"
	"services:\n"
	"  - name: web\n"
	"    vip: 10.0.0.100\n"
	"    port: 80\n"
	"    sessionAffinity: ClientIP\n"
	"    backends: [ { address: 10.1.0.11, port: 8080 }, { address: 10.1.0.12, port: 8080 } ]\n"
	"  - name: plain\n"
	"    vip: 10.0.0.101\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.11, port: 8081 }, { address: 10.1.0.12, port: 8081 } ]\n"
	"  - name: dead\n"
	"    vip: 10.0.0.102\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.11, port: 80, state: down } ]\n"
	"  - name: tun\n"
	"    vip: 10.0.0.103\n"
	"    port: 80\n"
	"    forwarding: tunnel\n"
	"    tunnelSource: 172.31.0.0/16\n"
	"    backends: [ { address: 10.1.0.12, port: 80 } ]\n"
	"  - name: multi80\n"
	"    vip: 10.0.0.105\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.11, port: 80 } ]\n"
	"  - name: multi443\n"
	"    vip: 10.0.0.105\n"
	"    port: 443\n"
	"    backends: [ { address: 10.1.0.11, port: 443 } ]\n"
	"  - name: unresolved\n"
	"    vip: 10.0.0.106\n"
	"    port: 80\n"
	"    backends: [ { address: 10.1.0.50, port: 80 } ]\n"
	"  - name: far\n"
	"    vip: fd00::107\n"
	"    port: 80\n"
	"    backends: [ { address: \"2001:db8:ffff::1\", port: 80 } ]\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_stats *tot;
static const struct lp_mac own_mac = { { 0x02, 0, 0, 0, 0, 0x01 } };

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	tot = malloc(sizeof(*tot));
	ctl = itest_start(config_yaml);
	return ctl == NULL || tot == NULL ? -1 : 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	free(tot);
	return 0;
}

/* ---- crafting ---- */

/* A TCP SYN (or other flags) from a client, IPv4, with room to spare. */
static int
tcp(uint8_t *f, const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags)
{
	return itest_frame(f, 2048, &own_mac, src, sport, dst, dport, IPPROTO_TCP, flags);
}

static int
spec_frame(uint8_t *f, struct lp_pkt_spec *s, const char *src, const char *dst)
{
	s->src_mac = (struct lp_mac){ { 0x02, 0xc1, 0x1e, 0x47, 0x00, 0x01 } };
	s->dst_mac = own_mac;
	if (lp_ip_parse(src, &s->src) != 0 || lp_ip_parse(dst, &s->dst) != 0)
		return -1;
	return lp_pkt_build(f, 2048, s);
}

/* Inject with control over the mbuf: its headroom and offload flags. */
static void
inject_mbuf(struct itest_port *p, const uint8_t *f, int len, uint16_t headroom, uint64_t ol_flags)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(itest_pool());

	CU_ASSERT_FATAL(m != NULL && len > 0);
	m->data_off = headroom;
	CU_ASSERT_FATAL(rte_pktmbuf_append(m, (uint16_t)len) != NULL);
	memcpy(rte_pktmbuf_mtod(m, void *), f, (size_t)len);
	m->port = p->port_id;
	m->ol_flags = ol_flags;
	while (rte_ring_sp_enqueue(p->rx[itest_rss_queue(f, (uint32_t)len, p->nq)], m) != 0)
		rte_delay_us_sleep(100);
}

static void
inject(struct itest_port *p, const uint8_t *f, int len)
{
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT_FATAL(itest_inject(p, f, (uint32_t)len) == 0);
}

static uint64_t
drops_of(enum lp_drop r)
{
	lp_ctl_stats(ctl, tot);
	return tot->drop[r];
}

/* Drops by the workers alone (not the control thread's slow path). */
static uint64_t
worker_drops_of(enum lp_drop r)
{
	uint64_t n = 0;

	for (uint32_t w = 0; w < lp_ctl_worker_count(ctl); w++)
		n += lp_ctl_worker_stats(ctl, w)->drop[r];
	return n;
}

/* Run the control loop, draining both ports, until drop[r] passes @p above. */
static bool
wait_drop(enum lp_drop r, uint64_t above, unsigned int timeout_ms)
{
	uint64_t end = rte_get_tsc_cycles() + (uint64_t)timeout_ms * rte_get_tsc_hz() / 1000;

	while (rte_get_tsc_cycles() < end) {
		lp_ctl_poll(ctl, rte_rdtsc());
		itest_drain(&wan);
		itest_drain(&lan);
		if (drops_of(r) > above)
			return true;
		rte_delay_us_sleep(500);
	}
	return false;
}

/* Workers done with everything queued to them: rx and injection rings empty. */
static void
wait_workers_idle(void)
{
	uint64_t end = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
	struct lp_dp *dp = lp_ctl_dp(ctl);
	bool idle = false;

	while (!idle && rte_get_tsc_cycles() < end) {
		idle = true;
		for (uint32_t q = 0; q < 2; q++)
			idle &= rte_ring_empty(wan.rx[q]) && rte_ring_empty(lan.rx[q]);
		for (uint32_t w = 0; w < dp->n_workers; w++)
			idle &= rte_ring_empty(dp->worker[w]->from_ctl);
		if (!idle)
			rte_delay_us_sleep(200);
	}
	CU_ASSERT_FATAL(idle);
	/* The burst that emptied a ring may still be on its way out: it is
	 * done once its worker has finished the loop pass after it (passes
	 * counts finished passes; the one under way when the rings were seen
	 * empty ends at +1 at the latest). */
	for (uint32_t w = 0; w < dp->n_workers; w++) {
		const uint64_t *p = &dp->worker[w]->passes;
		uint64_t seen = __atomic_load_n(p, __ATOMIC_ACQUIRE);

		while (__atomic_load_n(p, __ATOMIC_ACQUIRE) < seen + 2 && rte_get_tsc_cycles() < end)
			rte_pause();
		CU_ASSERT_FATAL(__atomic_load_n(p, __ATOMIC_ACQUIRE) >= seen + 2);
	}
}

/* ---- one case per drop reason ---- */

/* Parser verdicts: a good SYN with one thing made wrong. */
static void
craft_parse(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.1", 1000, "10.0.0.100", 80, LP_TCP_SYN);
	uint8_t *ip = f + 14, *l4 = f + 34;

	switch (r) {
	case LP_DROP_TRUNCATED:
		len = 20;			/* Ethernet and 6 bytes of IPv4 header */
		break;
	case LP_DROP_UNSUPPORTED_L2:
		f[12] = 0x88;			/* LLDP */
		f[13] = 0xcc;
		break;
	case LP_DROP_BAD_VERSION:
		ip[0] = 0x65;			/* IPv6 in an IPv4 ethertype */
		break;
	case LP_DROP_BAD_IHL:
		ip[0] = 0x44;			/* 16-byte header */
		break;
	case LP_DROP_BAD_LEN:
		ip[2] = 0x05;			/* total length 1500 in a short frame */
		ip[3] = 0xdc;
		break;
	case LP_DROP_BAD_SRC_ADDR:
		len = tcp(f, "127.0.0.1", 1000, "10.0.0.100", 80, LP_TCP_SYN);
		break;
	case LP_DROP_BAD_FRAG:
		ip[6] = 0x1f;			/* offset 65528: past the largest datagram */
		ip[7] = 0xff;
		break;
	case LP_DROP_BAD_TCP_HDR:
		l4[12] = 0x40;			/* data offset 4 words */
		break;
	case LP_DROP_BAD_TCP_FLAGS:
		len = tcp(f, "172.16.200.1", 1000, "10.0.0.100", 80, LP_TCP_SYN | LP_TCP_FIN);
		break;
	case LP_DROP_BAD_UDP_LEN:
		len = itest_frame(f, sizeof(f), &own_mac, "172.16.200.1", 1000, "10.0.0.100", 53, IPPROTO_UDP, 0);
		l4[4] = 0;			/* UDP length 4 */
		l4[5] = 4;
		break;
	default:
		CU_FAIL_FATAL("not a parser reason");
	}
	inject(&wan, f, len);
}

static void
craft_bad_ext_hdr(enum lp_drop r)
{
	uint8_t f[2048];
	int len = itest_frame(f, sizeof(f), &own_mac, "2001:db8::7", 1000, "fd00::107", 80, IPPROTO_TCP, LP_TCP_SYN);

	(void)r;
	/* RFC 5095: a type 0 routing header with segments left. */
	f[14 + 6] = IPPROTO_ROUTING;
	memcpy(f + 54, (const uint8_t[8]){ IPPROTO_TCP, 0, 0, 1, 0, 0, 0, 0 }, 8);
	inject(&wan, f, len);
}

/* The IPv4 header checksum of an untagged frame after a field was changed. */
static void
fix_ip_cksum(uint8_t *f)
{
	uint16_t ck = lp_ipv4_cksum(f + 14);

	memcpy(f + 14 + 10, &ck, 2);
}

static void
craft_bad_cksum(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.2", 1000, "10.0.0.100", 80, LP_TCP_SYN);

	(void)r;
	/* The frame is fine; the NIC says its IPv4 checksum is not. */
	inject_mbuf(&wan, f, len, RTE_PKTMBUF_HEADROOM, RTE_MBUF_F_RX_IP_CKSUM_BAD);
}

static void
craft_bad_cksum_sw(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.2", 1001, "10.0.0.100", 80, LP_TCP_SYN);

	(void)r;
	/* One bit of the ID flipped; the device (a ring) gives no verdict. */
	f[14 + 5] ^= 0x10;
	inject(&wan, f, len);
}

static void
craft_bad_icmp(enum lp_drop r)
{
	struct lp_pkt_spec s = { .proto = IPPROTO_ICMP, .icmp_type = 3, .icmp_code = 1, .payload_len = 8 };
	uint8_t f[2048];

	(void)r;
	/* Destination unreachable quoting 8 zero bytes: no IP header in it. */
	inject(&wan, f, spec_frame(f, &s, "10.0.0.254", "10.0.0.1"));
}

static void
craft_bad_arp(enum lp_drop r)
{
	static const uint8_t spa[4] = { 10, 0, 0, 254 }, tpa[4] = { 10, 0, 0, 1 };
	static const struct lp_mac sha = { { 0x02, 0, 0, 0, 0, 0xfe } };
	uint8_t f[2048];
	int len = lp_pkt_build_arp(f, sizeof(f), LP_ARP_REQUEST, &sha, spa, NULL, tpa);

	(void)r;
	f[15] = 6;	/* hardware type IEEE 802, not Ethernet */
	inject(&wan, f, len);
}

static void
craft_ttl(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.3", 1000, "10.0.0.101", 80, LP_TCP_SYN);

	(void)r;
	f[14 + 8] = 1;	/* would reach 0 on the way to the backend */
	fix_ip_cksum(f);
	inject(&wan, f, len);
}

static void
craft_to(enum lp_drop r, const char *dst, uint16_t dport)
{
	uint8_t f[2048];

	(void)r;
	inject(&wan, f, tcp(f, "172.16.200.4", 1000, dst, dport, LP_TCP_SYN));
}

static void
craft_no_service(enum lp_drop r)
{
	craft_to(r, "10.0.0.200", 80);
}

static void
craft_no_backend(enum lp_drop r)
{
	craft_to(r, "10.0.0.102", 80);	/* its only backend is down */
}

static void
craft_no_route(enum lp_drop r)
{
	uint8_t f[2048];

	(void)r;
	/* The backend of `far` is off-link and no port has an IPv6 gateway. */
	inject(&wan, f, itest_frame(f, sizeof(f), &own_mac, "2001:db8::7", 1000, "fd00::107", 80, IPPROTO_TCP,
				    LP_TCP_SYN));
}

static void
craft_frag_ambiguous(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.5", 1000, "10.0.0.105", 80, LP_TCP_ACK);

	(void)r;
	/* A later fragment has no ports, and 10.0.0.105 serves 80 and 443. */
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10;
	fix_ip_cksum(f);
	inject(&wan, f, len);
}

static void
craft_too_big(enum lp_drop r)
{
	struct lp_pkt_spec s = { .proto = IPPROTO_TCP, .sport = 1000, .dport = 80, .tcp_flags = LP_TCP_SYN,
				 .payload_len = 1470 };
	uint8_t f[2048];

	(void)r;
	/* 1510 bytes of IPv4 without DF: with 20 bytes of tunnel header it
	 * exceeds lan's MTU, and limpet does not fragment. */
	inject(&wan, f, spec_frame(f, &s, "172.16.200.6", "10.0.0.103"));
}

static void
craft_no_headroom(enum lp_drop r)
{
	uint8_t f[2048];
	int len = tcp(f, "172.16.200.7", 1000, "10.0.0.103", 80, LP_TCP_SYN);

	(void)r;
	inject_mbuf(&wan, f, len, 0, 0);	/* nowhere to put the outer header */
}

static void
craft_icmp_unhandled(enum lp_drop r)
{
	struct lp_icmp_err_spec e = { .type = 3, .code = 1 };
	struct lp_pkt_meta om;
	uint8_t orig[2048], f[2048];
	int olen = tcp(orig, "10.9.9.9", 80, "172.16.0.1", 1234, LP_TCP_ACK);

	(void)r;
	/* An error about a packet no VIP sent, to an address not limpet's. */
	CU_ASSERT_FATAL(lp_pkt_parse(orig, (uint32_t)olen, &om) == LP_DROP_NONE);
	e.src_mac = (struct lp_mac){ { 0x02, 0, 0, 0, 0, 0xfe } };
	e.dst_mac = own_mac;
	lp_ip_parse("10.0.0.254", &e.src);
	inject(&wan, f, lp_pkt_build_icmp_error(f, sizeof(f), &e, orig, &om));
}

/* Echo requests to limpet's own address while the control thread does
 * not poll: the worker's ring to it overflows. */
static void
craft_slowpath_full(enum lp_drop r)
{
	struct lp_pkt_spec s = { .proto = IPPROTO_ICMP, .icmp_type = 8, .sport = 7, .payload_len = 16 };
	const struct lp_stats *w[2] = { lp_ctl_worker_stats(ctl, 0), lp_ctl_worker_stats(ctl, 1) };
	uint64_t rx = w[0]->c[LP_WC_rx_pkts] + w[1]->c[LP_WC_rx_pkts];
	uint64_t end = rte_get_tsc_cycles() + 10 * rte_get_tsc_hz();
	uint8_t f[2048];
	int len;

	(void)r;
	for (int i = 0; i < 1500; i++) {
		s.dport = (uint16_t)i;
		len = spec_frame(f, &s, "172.16.200.8", "10.0.0.1");
		inject(&wan, f, len);
	}
	while (w[0]->c[LP_WC_rx_pkts] + w[1]->c[LP_WC_rx_pkts] < rx + 1500 && rte_get_tsc_cycles() < end)
		rte_delay_us_sleep(1000);
}

/* More SYNs than lan's transmit rings hold, nobody draining them. */
static void
craft_tx_full(enum lp_drop r)
{
	const uint32_t n = 20000;
	uint8_t f[2048];
	char ip[32];

	(void)r;
	itest_drain(&lan);
	for (uint32_t i = 0; i < n; i++) {
		itest_client_ip(ip, sizeof(ip), 17, i);
		inject(&wan, f, tcp(f, ip, 2000, "10.0.0.100", 80, LP_TCP_SYN));
	}
	wait_workers_idle();
}

/* Many packets to a backend whose MAC nobody answers for: the control
 * thread holds a few per neighbor while it asks, drops the rest. */
static void
craft_hold_full(enum lp_drop r)
{
	uint8_t f[2048];
	char ip[32];

	(void)r;
	for (int i = 0; i < 32; i++) {
		snprintf(ip, sizeof(ip), "172.18.0.%d", i + 1);
		inject(&wan, f, tcp(f, ip, 3000, "10.0.0.106", 80, LP_TCP_SYN));
	}
}

/* The same backend once its resolution has failed (three unanswered
 * probes a second apart): the worker itself drops, without holding. */
static void
craft_no_neighbor(enum lp_drop r)
{
	uint64_t end = rte_get_tsc_cycles() + 15 * rte_get_tsc_hz();
	uint64_t before = worker_drops_of(r);
	uint8_t f[2048];

	for (int i = 0; worker_drops_of(r) == before && rte_get_tsc_cycles() < end; i++) {
		char ip[32];

		itest_client_ip(ip, sizeof(ip), 19, (unsigned int)i);
		inject(&wan, f, tcp(f, ip, 3000, "10.0.0.106", 80, LP_TCP_SYN));
		itest_poll(ctl, 100);
		itest_drain(&lan);
	}
	CU_ASSERT(worker_drops_of(r) > before);
}

struct drop_case {
	enum lp_drop reason;
	const char *how;
	void (*craft)(enum lp_drop r);
	unsigned int timeout_ms;
};

static const struct drop_case drop_cases[] = {
	{ LP_DROP_TRUNCATED, "frame ends 6 bytes into the IPv4 header", craft_parse, 2000 },
	{ LP_DROP_UNSUPPORTED_L2, "LLDP ethertype", craft_parse, 2000 },
	{ LP_DROP_BAD_VERSION, "version 6 under the IPv4 ethertype", craft_parse, 2000 },
	{ LP_DROP_BAD_IHL, "IHL 4 (16 bytes)", craft_parse, 2000 },
	{ LP_DROP_BAD_LEN, "IPv4 total length 1500 in a 97-byte frame", craft_parse, 2000 },
	{ LP_DROP_BAD_CKSUM, "mbuf flagged RTE_MBUF_F_RX_IP_CKSUM_BAD by the device", craft_bad_cksum, 2000 },
	{ LP_DROP_BAD_CKSUM, "IPv4 header checksum wrong, no verdict from the device", craft_bad_cksum_sw, 2000 },
	{ LP_DROP_BAD_SRC_ADDR, "source 127.0.0.1", craft_parse, 2000 },
	{ LP_DROP_BAD_FRAG, "fragment offset 65528", craft_parse, 2000 },
	{ LP_DROP_BAD_EXT_HDR, "IPv6 type 0 routing header with segments left", craft_bad_ext_hdr, 2000 },
	{ LP_DROP_BAD_TCP_HDR, "TCP data offset 4", craft_parse, 2000 },
	{ LP_DROP_BAD_TCP_FLAGS, "SYN+FIN", craft_parse, 2000 },
	{ LP_DROP_BAD_UDP_LEN, "UDP length 4", craft_parse, 2000 },
	{ LP_DROP_BAD_ICMP, "destination unreachable quoting no IP header", craft_bad_icmp, 2000 },
	{ LP_DROP_BAD_ARP, "ARP with hardware type 6", craft_bad_arp, 2000 },
	{ LP_DROP_TTL, "TTL 1 to a VIP", craft_ttl, 2000 },
	{ LP_DROP_NO_SERVICE, "SYN to 10.0.0.200, no VIP", craft_no_service, 2000 },
	{ LP_DROP_NO_BACKEND, "SYN to a service whose only backend is down", craft_no_backend, 2000 },
	{ LP_DROP_NO_ROUTE, "SYN to a service whose backend is off-link without a gateway", craft_no_route, 2000 },
	{ LP_DROP_FRAG_AMBIGUOUS, "later fragment to a VIP serving ports 80 and 443", craft_frag_ambiguous, 2000 },
	{ LP_DROP_TOO_BIG, "1510-byte IPv4 packet without DF to a tunnel service", craft_too_big, 2000 },
	{ LP_DROP_NO_HEADROOM, "mbuf without headroom to a tunnel service", craft_no_headroom, 2000 },
	{ LP_DROP_ICMP_UNHANDLED, "ICMP error about a packet no VIP sent", craft_icmp_unhandled, 2000 },
	{ LP_DROP_SLOWPATH_FULL, "1500 echo requests to limpet while the control thread sleeps", craft_slowpath_full,
	  5000 },
	{ LP_DROP_TX_FULL, "20000 SYNs while nobody drains lan's transmit rings", craft_tx_full, 5000 },
	{ LP_DROP_HOLD_FULL, "32 SYNs to a backend whose MAC is unresolved", craft_hold_full, 5000 },
	{ LP_DROP_NO_NEIGHBOR, "SYNs to that backend once its resolution failed (worker)", craft_no_neighbor,
	  5000 },
};

static void
test_every_drop_reason_is_reachable(void)
{
	bool covered[LP_DROP_MAX] = { false };

	for (size_t i = 0; i < sizeof(drop_cases) / sizeof(drop_cases[0]); i++) {
		const struct drop_case *dc = &drop_cases[i];
		uint64_t before = drops_of(dc->reason);
		bool moved;

		dc->craft(dc->reason);
		moved = wait_drop(dc->reason, before, dc->timeout_ms);
		printf("\n    %-15s %-70s %s", lp_drop_name(dc->reason), dc->how, moved ? "ok" : "NOT COUNTED");
		CU_ASSERT(moved);
		covered[dc->reason] = true;
	}
	printf("\n");
	/* The exception path's reasons need a kernel interface (a network
	 * namespace): test_exception reaches them. */
	covered[LP_DROP_KERNEL_RING_FULL] = covered[LP_DROP_KERNEL_TX_FAIL] = true;
	/* other_host is a net_af_packet port's (a veth in a namespace): the
	 * e2e test_basics.sh reaches it. */
	covered[LP_DROP_OTHER_HOST] = true;
	/* The table names every reason of the list: a new reason needs a case. */
	for (unsigned int r = 1; r < LP_DROP_MAX; r++) {
		if (!covered[r])
			printf("    no case for drop reason %s\n", lp_drop_name(r));
		CU_ASSERT(covered[r]);
	}
}

/* ---- counters add up ---- */

static void
mixed_traffic(void)
{
	uint8_t f[2048];
	char ip[32];

	/* New connections and their second packets (flow hits), through both
	 * services; more than the flow table holds. */
	for (uint32_t i = 0; i < 6000; i++) {
		itest_client_ip(ip, sizeof(ip), 20, i);
		inject(&wan, f, tcp(f, ip, 4000, i % 2 ? "10.0.0.100" : "10.0.0.101", 80, LP_TCP_SYN));
		inject(&wan, f, tcp(f, ip, 4000, i % 2 ? "10.0.0.100" : "10.0.0.101", 80, LP_TCP_ACK));
		if (i % 256 == 255)
			itest_collect(ctl, &lan, 1u << 30, 1, NULL, NULL);
	}
	/* NAT replies from the backends. */
	for (uint32_t i = 0; i < 500; i++) {
		itest_client_ip(ip, sizeof(ip), 20, i);
		inject(&lan, f, tcp(f, i % 2 ? "10.1.0.11" : "10.1.0.12", 8081, ip, 4000, LP_TCP_SYN | LP_TCP_ACK));
	}
	/* Malformed frames, packets for no service, echo requests. */
	for (uint32_t i = 0; i < 200; i++) {
		int len = tcp(f, "172.21.0.1", (uint16_t)(5000 + i), i % 2 ? "10.0.0.201" : "10.0.0.100", 80,
			      LP_TCP_SYN);

		if (i % 4 == 0)
			len = 30;
		inject(&wan, f, len);
	}
	itest_collect(ctl, &lan, 1u << 30, 500, NULL, NULL);
	itest_collect(ctl, &wan, 1u << 30, 500, NULL, NULL);
}

static void
test_counters_add_up_after_mixed_traffic(void)
{
	uint32_t nw = lp_ctl_worker_count(ctl), np = lp_ctl_port_count(ctl), ns = lp_ctl_service_count(ctl);
	uint64_t svc_flows = 0;
	struct lp_table_view tv;

	mixed_traffic();
	wait_workers_idle();
	lp_ctl_stats(ctl, tot);
	CU_ASSERT(tot->c[LP_WC_flow_full] > 0);		/* the table did fill up */
	itest_assert_workers_balance(ctl);
	for (uint32_t w = 0; w < nw; w++) {
		const struct lp_stats *s = lp_ctl_worker_stats(ctl, w);
		struct lp_port_stats sum = { 0 };

		for (uint32_t p = 0; p < np; p++) {
			sum.rx_pkts += s->port[p].rx_pkts;
			sum.rx_bytes += s->port[p].rx_bytes;
			sum.tx_pkts += s->port[p].tx_pkts;
			sum.tx_bytes += s->port[p].tx_bytes;
		}
		CU_ASSERT(sum.rx_pkts == s->c[LP_WC_rx_pkts]);
		CU_ASSERT(sum.rx_bytes == s->c[LP_WC_rx_bytes]);
		CU_ASSERT(sum.tx_pkts == s->c[LP_WC_tx_pkts]);
		CU_ASSERT(sum.tx_bytes == s->c[LP_WC_tx_bytes]);
	}
	/* Ports: limpet's counts are the ring devices' counts (which count no
	 * transmit failures: TX_FULL has no device counterpart here). */
	for (uint32_t p = 0; p < np; p++) {
		struct lp_port_view v;

		CU_ASSERT_FATAL(lp_ctl_port_view(ctl, p, &v) == 0);
		CU_ASSERT(v.sw.rx_pkts == v.hw_ipackets);
		CU_ASSERT(v.sw.tx_pkts == v.hw_opackets);
	}
	/* Services are the sums of their backends; flows add up to flow_new. */
	for (uint32_t i = 0; i < ns; i++) {
		struct lp_service_view sv;
		struct lp_backend_view bv[8];
		uint64_t pkts = 0, bytes = 0, flows = 0;
		int nb;

		CU_ASSERT_FATAL(lp_ctl_service_view(ctl, i, &sv) == 0);
		nb = lp_ctl_backend_views(ctl, sv.cfg->name, bv, 8);
		for (int k = 0; k < nb; k++) {
			pkts += bv[k].pkts;
			bytes += bv[k].bytes;
			flows += bv[k].flows;
		}
		CU_ASSERT(sv.pkts == pkts);
		CU_ASSERT(sv.bytes == bytes);
		CU_ASSERT(sv.flows == flows);
		svc_flows += sv.flows;
	}
	CU_ASSERT(svc_flows == tot->c[LP_WC_flow_new]);
	/* Flow table occupancy agrees with the workers' shards. */
	lp_ctl_table_view(ctl, &tv);
	CU_ASSERT(tv.flows == lp_ctl_flow_count(ctl));
	CU_ASSERT(tv.flows <= tv.flow_capacity);
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "every drop reason is reachable", test_every_drop_reason_is_reachable },
		{ "counters add up after mixed traffic", test_counters_add_up_after_mixed_traffic },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "counters", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
