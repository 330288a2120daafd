/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Health-check probes with two workers over net_ring ports, the test
 * playing the backends' TCP stacks on the lan port:
 *  - a SYN-ACK to the probe's SYN is a pass (limpet resets the connection);
 *  - a RST that does not acknowledge the probe's SYN belongs to an older
 *    connection on the same 4-tuple (the backend answering a stray
 *    segment of it, e.g. one a killed limpet left open): it is no verdict,
 *    the probe goes on and passes on the SYN-ACK that follows;
 *  - a RST that acknowledges the SYN is a refusal (fall 1: down), and the
 *    next passing probe brings the backend back (rise 1);
 *  - a restarted health checker (limpet started again) probes from other
 *    source ports than the previous start, still in the workers' probe
 *    range, one port per backend, and its replies are still matched.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "itest.h"
#include "lp_health.h"
#include "lp_test.h"
#include "lp_worker.h"

static const char config_yaml[] =
	"ports:\n"
	"  - { name: wan, device: net_ring_wan, address: 10.0.0.1/24 }\n"
	"  - { name: lan, device: net_ring_lan, address: 10.1.0.1/24 }\n"
	"neighbors:\n"
	"  - { address: 10.1.0.11, mac: \"02:00:00:00:01:0b\", port: lan }\n"
	"  - { address: 10.1.0.12, mac: \"02:00:00:00:01:0c\", port: lan }\n"
	"services:\n"
	"  - { name: web, vip: 10.0.0.100, port: 80, forwarding: dsr,\n"
	"      healthCheck: { type: tcp, interval: 1, timeout: 0.9, rise: 1, fall: 1 },\n"
	"      backends: [ { address: 10.1.0.11 }, { address: 10.1.0.12 } ] }\n";

static struct itest_port wan, lan;
static struct lp_ctl *ctl;
static struct lp_mac lan_mac;

/* A probe SYN as seen on the wire. */
struct probe {
	uint8_t be;		/* last octet of the backend's address */
	uint16_t sport;
	uint32_t isn;
};

static int
suite_init(void)
{
	if (itest_port_create(&wan, "wan", 2) != 0 || itest_port_create(&lan, "lan", 2) != 0)
		return -1;
	ctl = itest_start(config_yaml);
	if (ctl == NULL)
		return -1;
	lan_mac = lp_ctl_dp(ctl)->port[1].mac;
	return 0;
}

static int
suite_cleanup(void)
{
	itest_stop(ctl);
	return 0;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A TCP segment from limpet on lan (IPv4, no options), or false. */
static bool
tcp_from_limpet(const uint8_t *f, uint32_t len, uint8_t *be, uint16_t *sport, uint32_t *seq, uint8_t *flags)
{
	if (len < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != IPPROTO_TCP || memcmp(f + 26, "\x0a\x01\x00\x01", 4) != 0)
		return false;
	*be = f[33];
	*sport = (uint16_t)(f[34] << 8 | f[35]);
	*seq = be32(f + 38);
	*flags = f[47];
	return true;
}

/* Probe SYNs collected but not yet asked for (one batch may hold several). */
static struct probe seen[16];
static unsigned int n_seen;

static bool
take_seen(uint8_t be, struct probe *p)
{
	for (unsigned int i = 0; i < n_seen; i++)
		if (be == 0 || seen[i].be == be) {
			*p = seen[i];
			memmove(&seen[i], &seen[i + 1], (n_seen - i - 1) * sizeof(seen[0]));
			n_seen--;
			return true;
		}
	return false;
}

/* Poll (up to @p ms) for the next probe SYN to backend 10.1.0.@p be (0: any). */
static bool
next_syn(uint8_t be, unsigned int ms, struct probe *p)
{
	static uint8_t out[64][2048];
	uint32_t lens[64];
	uint64_t deadline = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;

	while (!take_seen(be, p)) {
		uint32_t n;

		if (rte_get_tsc_cycles() >= deadline)
			return false;
		n = itest_collect(ctl, &lan, 64, 20, out, lens);
		for (uint32_t i = 0; i < n && i < 64; i++) {
			uint8_t b, fl;
			uint16_t sp;
			uint32_t seq;

			if (tcp_from_limpet(out[i], lens[i], &b, &sp, &seq, &fl) && fl == LP_TCP_SYN &&
			    n_seen < RTE_DIM(seen))
				seen[n_seen++] = (struct probe){ .be = b, .sport = sp, .isn = seq };
		}
	}
	return true;
}

/* Wait (up to @p ms) for limpet's RST closing probe @p p (sequence isn + 1). */
static bool
closing_rst(const struct probe *p, unsigned int ms)
{
	static uint8_t out[64][2048];
	uint32_t lens[64];
	uint64_t deadline = rte_get_tsc_cycles() + (uint64_t)ms * rte_get_tsc_hz() / 1000;
	bool found = false;

	while (!found && rte_get_tsc_cycles() < deadline) {
		uint32_t n = itest_collect(ctl, &lan, 64, 20, out, lens);

		for (uint32_t i = 0; i < n && i < 64; i++) {
			uint8_t b, fl;
			uint16_t sp;
			uint32_t seq;

			if (!tcp_from_limpet(out[i], lens[i], &b, &sp, &seq, &fl))
				continue;
			if (fl == LP_TCP_SYN && n_seen < RTE_DIM(seen))
				seen[n_seen++] = (struct probe){ .be = b, .sport = sp, .isn = seq };
			if (b == p->be && sp == p->sport && (fl & LP_TCP_RST) && seq == p->isn + 1)
				found = true;
		}
	}
	return found;
}

/* The backend answers probe @p p with a segment. */
static void
answer(const struct probe *p, uint8_t flags, uint32_t seq, uint32_t ack)
{
	struct lp_pkt_spec s = { 0 };
	uint8_t f[256];
	char src[32];
	int len;

	snprintf(src, sizeof(src), "10.1.0.%u", p->be);
	s.src_mac = (struct lp_mac){ { 0x02, 0, 0, 0, 0x01, p->be } };
	s.dst_mac = lan_mac;
	CU_ASSERT_FATAL(lp_ip_parse(src, &s.src) == 0 && lp_ip_parse("10.1.0.1", &s.dst) == 0);
	s.proto = IPPROTO_TCP;
	s.sport = 80;
	s.dport = p->sport;
	s.tcp_flags = flags;
	s.seq = seq;
	s.ack = ack;
	s.window = 65535;
	s.ttl = 64;
	len = lp_pkt_build(f, sizeof(f), &s);
	CU_ASSERT_FATAL(len > 0);
	CU_ASSERT(itest_inject(&lan, f, (uint32_t)len) == 0);
}

static bool
healthy(uint8_t be)
{
	struct lp_backend_view v[4];
	int n = lp_ctl_backend_views(ctl, "web", v, 4);

	for (int i = 0; i < n; i++) {
		char a[32], want[32];

		snprintf(want, sizeof(want), "10.1.0.%u", be);
		if (strcmp(lp_ip_format(&v[i].addr, a, sizeof(a)), want) == 0)
			return v[i].healthy;
	}
	CU_FAIL("backend not found");
	return false;
}

static void
probe_ports_in_range(const struct probe *p)
{
	CU_ASSERT(p->sport >= LP_HEALTH_SPORT_BASE && p->sport < LP_HEALTH_SPORT_BASE + LP_STATS_BE_SLOTS);
	CU_ASSERT(p->sport >= LP_PROBE_SPORT_BASE && p->sport < LP_PROBE_SPORT_BASE + LP_STATS_BE_SLOTS);
}

/* A SYN-ACK is a pass; limpet resets the half-open connection. */
static void
test_pass(void)
{
	struct probe p;

	CU_ASSERT_FATAL(next_syn(11, 3000, &p));
	probe_ports_in_range(&p);
	answer(&p, LP_TCP_SYN | LP_TCP_ACK, 7000, p.isn + 1);
	CU_ASSERT(closing_rst(&p, 500));
	CU_ASSERT(healthy(11));
}

/* RSTs of an older connection on the probe's 4-tuple are no verdict. */
static void
test_stale_rst(void)
{
	struct probe p;

	CU_ASSERT_FATAL(next_syn(11, 3000, &p));
	/* What a backend sends for a stray segment of a connection it no
	 * longer has (RST, sequence = the stray's ACK, no ACK bit), and a
	 * reset acknowledging something else than this SYN. */
	answer(&p, LP_TCP_RST, 123456, 0);
	answer(&p, LP_TCP_RST | LP_TCP_ACK, 0, p.isn + 1000);
	itest_poll(ctl, 50);
	CU_ASSERT(healthy(11));
	/* The probe is still waiting for its answer. */
	answer(&p, LP_TCP_SYN | LP_TCP_ACK, 9000, p.isn + 1);
	CU_ASSERT(closing_rst(&p, 500));
	CU_ASSERT(healthy(11));
}

/* A RST acknowledging the SYN is a refusal: down (fall 1), up again on the
 * next pass (rise 1). */
static void
test_refused(void)
{
	struct probe p;

	CU_ASSERT_FATAL(next_syn(11, 3000, &p));
	answer(&p, LP_TCP_RST | LP_TCP_ACK, 0, p.isn + 1);
	itest_poll(ctl, 50);
	CU_ASSERT(!healthy(11));
	CU_ASSERT_FATAL(next_syn(11, 3000, &p));
	answer(&p, LP_TCP_SYN | LP_TCP_ACK, 11000, p.isn + 1);
	CU_ASSERT(closing_rst(&p, 500));
	CU_ASSERT(healthy(11));
}

/* limpet started again: new source ports, replies still matched. */
static void
test_restart_ports(void)
{
	struct probe a11, a12, b11, b12;

	CU_ASSERT_FATAL(next_syn(11, 3000, &a11));
	CU_ASSERT_FATAL(next_syn(12, 3000, &a12));
	CU_ASSERT(a11.sport != a12.sport);
	itest_stop(ctl);
	CU_ASSERT_FATAL(itest_port_reopen(&wan) == 0);
	CU_ASSERT_FATAL(itest_port_reopen(&lan) == 0);
	itest_drain(&lan);
	n_seen = 0;
	ctl = itest_start(config_yaml);
	CU_ASSERT_FATAL(ctl != NULL);
	lan_mac = lp_ctl_dp(ctl)->port[1].mac;
	CU_ASSERT_FATAL(next_syn(11, 3000, &b11));
	CU_ASSERT_FATAL(next_syn(12, 3000, &b12));
	printf("\n    probe source ports: first start %u/%u, restart %u/%u\n", a11.sport, a12.sport, b11.sport,
	       b12.sport);
	probe_ports_in_range(&b11);
	probe_ports_in_range(&b12);
	CU_ASSERT(b11.sport != b12.sport);
	CU_ASSERT(b11.sport != a11.sport);
	CU_ASSERT(b12.sport != a12.sport);
	/* Answers on the new ports are matched to their backends. */
	answer(&b11, LP_TCP_SYN | LP_TCP_ACK, 5000, b11.isn + 1);
	CU_ASSERT(closing_rst(&b11, 500));
	answer(&b12, LP_TCP_RST | LP_TCP_ACK, 0, b12.isn + 1);
	itest_poll(ctl, 50);
	CU_ASSERT(!healthy(12));
	CU_ASSERT(healthy(11));
}

int
main(int argc, char **argv)
{
	static const struct lp_test_case cases[] = {
		{ "a SYN-ACK passes, the connection is reset", test_pass },
		{ "RSTs of an older connection on the 4-tuple are no verdict", test_stale_rst },
		{ "a RST acknowledging the SYN is a refusal; the next pass brings it back", test_refused },
		{ "a restart probes from other source ports, still in the range", test_restart_ports },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "health", suite_init, suite_cleanup, cases },
		{ NULL, NULL, NULL, NULL },
	};

	(void)argc;
	return itest_main(argv[0], 2, suites);
}
