/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet builders: generic frames, ARP, ICMP errors and
 * neighbor discovery, with the ND receive checks (suite pkt_build).
 *
 * Every built frame is parsed back by lp_pkt_parse() and its checksums are
 * recomputed with the reference in pkt_craft.h.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lp_pkt.h"
#include "lp_test.h"
#include "pkt_craft.h"

/* The L4 checksum stored at l4 + ck_off is the reference one over the packet at ip. */
static bool
ref_l4_ok(const uint8_t *ip, const uint8_t *l4, size_t len, uint8_t proto, size_t ck_off)
{
	int family = ip[0] >> 4;

	return ref_l4_cksum(family, ip + (family == 4 ? 12 : 8), ip + (family == 4 ? 16 : 24), proto, l4,
			    len, ck_off) == rd16(l4 + ck_off);
}

static void
test_build_roundtrip(void)
{
	static const uint8_t tcp_flags[] = { LP_TCP_SYN, LP_TCP_SYN | LP_TCP_ACK, LP_TCP_ACK, LP_TCP_FIN | LP_TCP_ACK,
					     LP_TCP_RST, LP_TCP_PSH | LP_TCP_ACK };
	static uint8_t buf[FRAME_MAX], payload[1500];

	rng_state = 16;
	for (int i = 0; i < RANDOM_ROUNDS; i++) {
		struct lp_pkt_spec s;
		struct lp_pkt_meta m;
		bool v6 = rnd_below(2), icmp = false;
		size_t l3h = v6 ? 40 : 20, l4h;
		const uint8_t *ip, *l4;
		int len;

		memset(&s, 0, sizeof(s));
		rnd_bytes(s.src_mac.b, 6);
		rnd_bytes(s.dst_mac.b, 6);
		s.vlan = rnd_below(2) ? (uint16_t)(1 + rnd_below(4095)) : 0;
		rnd_addr(v6 ? 6 : 4, &s.src);
		rnd_addr(v6 ? 6 : 4, &s.dst);
		switch (rnd_below(3)) {
		case 0:
			s.proto = IPPROTO_TCP;
			l4h = 20;
			break;
		case 1:
			s.proto = IPPROTO_UDP;
			l4h = 8;
			break;
		default:
			s.proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
			s.icmp_type = v6 ? (uint8_t)(128 + rnd_below(2)) : (rnd_below(2) ? 8 : 0);
			l4h = 8;
			icmp = true;
			break;
		}
		s.sport = (uint16_t)rnd();
		s.dport = (uint16_t)rnd();
		s.tcp_flags = tcp_flags[rnd_below(sizeof(tcp_flags))];
		s.seq = (uint32_t)rnd();
		s.ack = (uint32_t)rnd();
		s.window = (uint16_t)rnd_below(3);
		s.ttl = (uint8_t)rnd_below(3);
		s.ip_id = (uint16_t)rnd();
		s.df = rnd_below(2);
		s.payload_len = (uint16_t)rnd_below(1400);
		rnd_bytes(payload, s.payload_len);
		s.payload = rnd_below(4) ? payload : NULL;

		len = lp_pkt_build(buf, sizeof(buf), &s);
		CU_ASSERT_FATAL(len == (int)((s.vlan ? 18 : 14) + l3h + l4h + s.payload_len));
		CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)len, &m) == LP_DROP_NONE);
		CU_ASSERT(m.cls == (icmp ? LP_PKT_ICMP : LP_PKT_L4) && m.frag == LP_FRAG_NONE);
		CU_ASSERT(m.key.family == (v6 ? 6 : 4) && m.key.proto == s.proto && m.key.zone == 0);
		CU_ASSERT(memcmp(m.key.src, s.src.a, 16) == 0 && memcmp(m.key.dst, s.dst.a, 16) == 0);
		CU_ASSERT(m.key.sport == htons(s.sport));
		CU_ASSERT(m.key.dport == htons(icmp ? s.sport : s.dport));
		CU_ASSERT(m.ttl == (s.ttl ? s.ttl : 64));
		CU_ASSERT(m.flags == ((s.vlan ? LP_PKT_F_VLAN : 0) | (!v6 && s.df ? LP_PKT_F_DF : 0)));
		CU_ASSERT(m.vlan_tci == s.vlan);
		CU_ASSERT(m.l3_len == l3h + l4h + s.payload_len);
		CU_ASSERT(m.tcp_flags == (s.proto == IPPROTO_TCP ? s.tcp_flags : 0));
		CU_ASSERT(memcmp(buf, s.dst_mac.b, 6) == 0 && memcmp(buf + 6, s.src_mac.b, 6) == 0);
		ip = buf + m.l3_off;
		l4 = buf + m.l4_off;
		if (!v6) {
			CU_ASSERT(ref_ipv4_cksum(ip) == rd16(ip + 10));
			CU_ASSERT(rd16(ip + 4) == s.ip_id);
		}
		CU_ASSERT(ref_l4_ok(ip, l4, l4h + s.payload_len, s.proto,
				    s.proto == IPPROTO_TCP ? 16 : s.proto == IPPROTO_UDP ? 6 : 2));
		CU_ASSERT(lib_cksums_ok(buf, &m, false));
		if (s.proto == IPPROTO_TCP) {
			CU_ASSERT(rd16(l4 + 4) == s.seq >> 16 && rd16(l4 + 6) == (s.seq & 0xffff));
			CU_ASSERT(rd16(l4 + 8) == s.ack >> 16 && rd16(l4 + 10) == (s.ack & 0xffff));
			CU_ASSERT(rd16(l4 + 14) == (s.window ? s.window : 65535));
		}
		if (icmp)
			CU_ASSERT(l4[0] == s.icmp_type && rd16(l4 + 6) == s.dport);
		CU_ASSERT(s.payload != NULL ? memcmp(l4 + l4h, payload, s.payload_len) == 0 :
					      all_zero(l4 + l4h, s.payload_len));
	}
}

static void
test_build_errors(void)
{
	uint8_t buf[128];
	struct lp_pkt_spec s = { .src = IP4(10, 0, 0, 1), .dst = IP4(10, 0, 0, 2), .proto = IPPROTO_UDP };

	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == 14 + 20 + 8);
	CU_ASSERT(lp_pkt_build(buf, 14 + 20 + 7, &s) == -ENOSPC);
	s.payload_len = 100;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -ENOSPC);
	s.payload_len = 0;
	s.dst = (struct lp_ip)IP6(0x20, 0x01, 2);
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
	s.dst = (struct lp_ip)IP4(10, 0, 0, 2);
	s.proto = IPPROTO_ICMPV6;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
	s.proto = 47;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
	s.proto = IPPROTO_UDP;
	s.vlan = 4096;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
	s.vlan = 0;
	s.src.family = 0;
	s.dst.family = 0;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
	s.src = (struct lp_ip)IP4(10, 0, 0, 1);
	s.dst = (struct lp_ip)IP4(10, 0, 0, 2);
	s.payload_len = 65535 - 28 + 1;
	CU_ASSERT(lp_pkt_build(buf, sizeof(buf), &s) == -EINVAL);
}

static void
test_build_arp(void)
{
	static const uint8_t want_req[42] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 0x0a, 0x08, 0x06,
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, 0x02, 0, 0, 0, 0, 0x0a, 10, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 10, 0, 0, 2,
	};
	struct lp_mac sha = { { 0x02, 0, 0, 0, 0, 0x0a } }, tha = { { 0x02, 0, 0, 0, 0, 0x0b } };
	uint8_t spa[4] = { 10, 0, 0, 1 }, tpa[4] = { 10, 0, 0, 2 }, buf[64];
	struct lp_pkt_meta m;

	CU_ASSERT_FATAL(lp_pkt_build_arp(buf, sizeof(buf), LP_ARP_REQUEST, &sha, spa, NULL, tpa) == 42);
	CU_ASSERT(memcmp(buf, want_req, 42) == 0);
	CU_ASSERT(lp_pkt_parse(buf, 42, &m) == LP_DROP_NONE && m.cls == LP_PKT_ARP);
	CU_ASSERT(memcmp(m.key.src, spa, 4) == 0 && memcmp(m.key.dst, tpa, 4) == 0);

	CU_ASSERT_FATAL(lp_pkt_build_arp(buf, sizeof(buf), LP_ARP_REPLY, &sha, spa, &tha, tpa) == 42);
	CU_ASSERT(memcmp(buf, tha.b, 6) == 0 && memcmp(buf + 6, sha.b, 6) == 0);
	CU_ASSERT(rd16(buf + 20) == LP_ARP_REPLY && memcmp(buf + 32, tha.b, 6) == 0);
	CU_ASSERT(lp_pkt_parse(buf, 42, &m) == LP_DROP_NONE && m.cls == LP_PKT_ARP);
	CU_ASSERT(lp_pkt_build_arp(buf, 41, LP_ARP_REPLY, &sha, spa, &tha, tpa) == -ENOSPC);
}

static void
test_build_icmp_error(void)
{
	static const struct craft origs[] = {
		{ TCP4, .vlans = 1, .tci = 5, .payload = 1400, .frag = 0x4000 },
		{ UDP4, .opt_len = 8, .payload = 20 },
		{ TCP6, .n_ext = 1, .ext = { HBH }, .payload = 1400 },
		{ UDP6, .payload = 10 },
	};
	static uint8_t in[FRAME_MAX], out[FRAME_MAX];

	for (size_t i = 0; i < sizeof(origs) / sizeof(origs[0]); i++) {
		const struct craft *c = &origs[i];
		bool v6 = c->family == 6;
		struct lp_icmp_err_spec s = {
			.src_mac = { { 0x02, 0, 0, 0, 0, 1 } },
			.dst_mac = { { 0x02, 0, 0, 0, 0, 2 } },
			.vlan = c->vlans ? c->tci : 0,
			.src = v6 ? (struct lp_ip)IP6(0x20, 0x01, 0x99) : (struct lp_ip)IP4(192, 0, 2, 99),
			.type = v6 ? 2 : 3,
			.code = v6 ? 0 : 4,
			.info = 1400,
		};
		struct lp_pkt_meta om, m;
		struct crafted x;
		size_t len = craft(c, in, &x), quote, max = v6 ? 1280 - 48 : 576 - 28;
		int n;

		CU_ASSERT_FATAL(lp_pkt_parse(in, (uint32_t)len, &om) == LP_DROP_NONE);
		quote = om.l3_len < max ? om.l3_len : max;
		n = lp_pkt_build_icmp_error(out, sizeof(out), &s, in, &om);
		CU_ASSERT_FATAL(n == (int)((c->vlans ? 18 : 14) + (v6 ? 40 : 20) + 8 + quote));
		CU_ASSERT_FATAL(lp_pkt_parse(out, (uint32_t)n, &m) == LP_DROP_NONE);
		CU_ASSERT(m.cls == LP_PKT_ICMP_ERR && m.icmp_type == s.type && m.icmp_code == s.code);
		CU_ASSERT(memcmp(m.key.src, s.src.a, 16) == 0);
		CU_ASSERT(memcmp(m.key.dst, om.key.src, 16) == 0);
		/* The quoted flow is the original one, as sent. */
		CU_ASSERT(memcmp(&m.inner, &om.key, sizeof(om.key)) == 0);
		CU_ASSERT(memcmp(out + m.inner_l3_off, in + om.l3_off, quote) == 0);
		CU_ASSERT(rd16(out + m.l4_off + 6) == 1400 && rd16(out + m.l4_off + 4) == 0);
		CU_ASSERT(lib_cksums_ok(out, &m, false));
		CU_ASSERT(ref_l4_ok(out + m.l3_off, out + m.l4_off, 8 + quote, v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 2));
		CU_ASSERT(m.l3_len <= (v6 ? 1280 : 576));

		/* Built in place over the original frame: the same bytes. */
		memcpy(in + FRAME_MAX / 2, out, (size_t)n);
		CU_ASSERT(lp_pkt_build_icmp_error(in, sizeof(in) / 2, &s, in, &om) == n);
		CU_ASSERT(memcmp(in, in + FRAME_MAX / 2, (size_t)n) == 0);
	}
	{
		struct lp_icmp_err_spec s = { .src = IP6(0x20, 0x01, 1), .type = 1 };
		struct lp_pkt_meta om;
		struct crafted x;
		size_t len = craft(&(struct craft){ UDP4 }, in, &x);

		CU_ASSERT_FATAL(lp_pkt_parse(in, (uint32_t)len, &om) == LP_DROP_NONE);
		CU_ASSERT(lp_pkt_build_icmp_error(out, sizeof(out), &s, in, &om) == -EINVAL);
		s.src = (struct lp_ip)IP4(10, 0, 0, 1);
		CU_ASSERT(lp_pkt_build_icmp_error(out, 14 + 20 + 8 + 27, &s, in, &om) == -ENOSPC);
	}
}

static void
test_build_nd(void)
{
	struct lp_nd_spec s = {
		.src_mac = { { 0x02, 0, 0, 0, 0, 0x11 } },
		.dst_mac = { { 0x02, 0, 0, 0, 0, 0x22 } },
		.src = { 0xfe, 0x80, [15] = 0x11 },
		.target = { 0x20, 0x01, 0x0d, 0xb8, [13] = 0xab, 0xcd, 0xef },
	};
	static const uint8_t snm[16] = { 0xff, 0x02, [11] = 1, 0xff, 0xab, 0xcd, 0xef };
	uint8_t buf[256];
	struct lp_pkt_meta m;
	struct lp_nd_info nd;
	int n;

	/* Multicast solicitation: solicited-node group and its MAC, hop limit 255, SLLA. */
	n = lp_pkt_build_ns(buf, sizeof(buf), &s);
	CU_ASSERT_FATAL(n == 14 + 40 + 32);
	CU_ASSERT(memcmp(buf, "\x33\x33\xff\xab\xcd\xef", 6) == 0);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(m.cls == LP_PKT_ND && m.icmp_type == 135 && m.ttl == 255);
	CU_ASSERT(memcmp(m.key.dst, snm, 16) == 0);
	CU_ASSERT(ref_l4_ok(buf + 14, buf + 54, 32, IPPROTO_ICMPV6, 2));
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0);
	CU_ASSERT(memcmp(nd.target, s.target, 16) == 0 && nd.has_lladdr);
	CU_ASSERT(memcmp(nd.lladdr.b, s.src_mac.b, 6) == 0);

	/* Duplicate address detection: from ::, no link-layer option. */
	memset(s.src, 0, 16);
	s.vlan = 12;
	n = lp_pkt_build_ns(buf, sizeof(buf), &s);
	CU_ASSERT_FATAL(n == 18 + 40 + 24);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(m.cls == LP_PKT_ND && m.vlan_tci == 12);
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0 && !nd.has_lladdr);

	/* Unicast solicitation (reachability probe). */
	s.vlan = 0;
	s.src[0] = 0xfe;
	s.src[1] = 0x80;
	s.src[15] = 0x11;
	memcpy(s.dst, s.target, 16);
	n = lp_pkt_build_ns(buf, sizeof(buf), &s);
	CU_ASSERT_FATAL(n == 14 + 40 + 32);
	CU_ASSERT(memcmp(buf, s.dst_mac.b, 6) == 0);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0);

	/* Solicited advertisement back to the solicitor. */
	s.na_flags = LP_ND_NA_SOLICITED | LP_ND_NA_OVERRIDE;
	n = lp_pkt_build_na(buf, sizeof(buf), &s);
	CU_ASSERT_FATAL(n == 14 + 40 + 32);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(m.cls == LP_PKT_ND && m.icmp_type == 136 && buf[54 + 4] == 0x60);
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0);
	CU_ASSERT(nd.has_lladdr && memcmp(nd.lladdr.b, s.src_mac.b, 6) == 0);
	CU_ASSERT(nd.na_flags == (LP_ND_NA_SOLICITED | LP_ND_NA_OVERRIDE));
	CU_ASSERT(buf[54 + 24] == 2 && buf[54 + 25] == 1);

	/* Unsolicited: all nodes, never marked solicited. */
	memset(s.dst, 0, 16);
	CU_ASSERT(lp_pkt_build_na(buf, sizeof(buf), &s) == -EINVAL);
	s.na_flags = LP_ND_NA_OVERRIDE;
	n = lp_pkt_build_na(buf, sizeof(buf), &s);
	CU_ASSERT_FATAL(n == 14 + 40 + 32);
	CU_ASSERT(memcmp(buf, "\x33\x33\x00\x00\x00\x01", 6) == 0);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0);
	CU_ASSERT(lp_pkt_build_na(buf, 14 + 40 + 31, &s) == -ENOSPC);
	memset(s.src, 0, 16);
	CU_ASSERT(lp_pkt_build_na(buf, sizeof(buf), &s) == -EINVAL);
}

/* Each RFC 4861 receive check, broken one at a time on a valid solicitation. */
static void
test_nd_parse_rejects(void)
{
	struct lp_nd_spec s = {
		.src_mac = { { 0x02, 0, 0, 0, 0, 0x11 } },
		.src = { 0xfe, 0x80, [15] = 0x11 },
		.target = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x42 },
	};
	static uint8_t good[128], buf[FRAME_MAX];
	struct lp_pkt_meta m;
	struct lp_nd_info nd;
	int n = lp_pkt_build_ns(good, sizeof(good), &s);
	uint8_t *ip = buf + 14, *icmp = buf + 54;

	CU_ASSERT_FATAL(n == 86);
#define RESTORE() memcpy(buf, good, (size_t)n)
#define REFIX() wr16(icmp + 2, ref_l4_cksum(6, ip + 8, ip + 24, IPPROTO_ICMPV6, icmp, 32, 2))
	RESTORE();
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE);
	CU_ASSERT(lp_pkt_nd_parse(buf, &m, &nd) == 0);
	/* Hop limit 254: may have been forwarded. */
	RESTORE();
	ip[7] = 254;
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Bad checksum. */
	RESTORE();
	icmp[3] ^= 1;
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Code 1. */
	RESTORE();
	icmp[1] = 1;
	REFIX();
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Zero-length option. */
	RESTORE();
	icmp[25] = 0;
	REFIX();
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Option running past the message. */
	RESTORE();
	icmp[25] = 2;
	REFIX();
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Multicast target. */
	RESTORE();
	icmp[8] = 0xff;
	REFIX();
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* From :: with a link-layer option. */
	RESTORE();
	memset(ip + 8, 0, 16);
	REFIX();
	CU_ASSERT(lp_pkt_parse(buf, (uint32_t)n, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	/* Not neighbor discovery at all. */
	{
		struct crafted x;
		size_t len = craft(&(struct craft){ UDP6 }, buf, &x);

		CU_ASSERT(lp_pkt_parse(buf, (uint32_t)len, &m) == LP_DROP_NONE && lp_pkt_nd_parse(buf, &m, &nd) == -EINVAL);
	}
#undef RESTORE
#undef REFIX
}

int
main(void)
{
	static const struct lp_test_case build_cases[] = {
		{ "build then parse, random specs", test_build_roundtrip },
		{ "build errors", test_build_errors },
		{ "ARP", test_build_arp },
		{ "ICMP errors", test_build_icmp_error },
		{ "neighbor discovery", test_build_nd },
		{ "neighbor discovery receive checks", test_nd_parse_rejects },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "pkt_build", NULL, NULL, build_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
