/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet parser (suite pkt_parse).
 *
 * Frames come from the independent crafter in pkt_craft.h. Parse cases are
 * tables {description, craft, expected verdict/class/fragment}; the rest of
 * the expected metadata follows from the craft. Every parse runs on an
 * exactly sized heap copy, so a sanitizer build catches any read beyond the
 * frame. Checksums, rewrites and encapsulation are in test_pkt_rewrite.c;
 * builders, ND and ICMP errors in test_pkt_build.c.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_pkt.h"
#include "lp_test.h"
#include "pkt_craft.h"

/* ---- expectations derived from the craft ---- */

static bool
craft_is_echo(const struct craft *c)
{
	if (c->family == 4 && c->proto == IPPROTO_ICMP)
		return c->icmp_type == 0 || c->icmp_type == 8;
	if (c->family == 6 && c->proto == IPPROTO_ICMPV6)
		return c->icmp_type == 128 || c->icmp_type == 129;
	return false;
}

/* Parse from an exactly sized heap copy: sanitizers see any read past the end. */
static enum lp_drop
parse_exact(const uint8_t *frame, size_t len, struct lp_pkt_meta *m)
{
	uint8_t *copy = malloc(len ? len : 1);
	enum lp_drop r;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, frame, len);
	r = lp_pkt_parse(copy, (uint32_t)len, m);
	free(copy);
	return r;
}

/* The flow key the crafted packet c should produce (ports per class). */
static void
expect_key(const struct craft *c, const struct crafted *x, enum lp_pkt_class cls, struct lp_flow_key *k)
{
	size_t alen = c->family == 6 ? 16 : 4;

	memset(k, 0, sizeof(*k));
	memcpy(k->src, craft_src(c)->a, alen);
	memcpy(k->dst, craft_dst(c)->a, alen);
	k->family = c->family;
	k->proto = x->key_proto;
	if (cls == LP_PKT_L4 || (cls == LP_PKT_ICMP_ERR && !x->later &&
				 (c->proto == IPPROTO_TCP || c->proto == IPPROTO_UDP))) {
		k->sport = htons(c->sport);
		k->dport = htons(c->dport);
	} else if (!x->later && craft_is_echo(c)) {
		k->sport = htons(c->icmp_id);
		k->dport = htons(c->icmp_id);
	}
}

static void
check_meta(const char *desc, const struct craft *c, const struct crafted *x, const struct lp_pkt_meta *m,
	   enum lp_pkt_class cls, enum lp_frag frag)
{
	struct lp_flow_key k;
	bool icmp = cls == LP_PKT_ICMP || cls == LP_PKT_ICMP_ERR || cls == LP_PKT_ND;

	CASE_ASSERT(desc, m->cls == cls);
	CASE_ASSERT(desc, m->frag == frag);
	CASE_ASSERT(desc, m->l3_off == x->l3_off);
	CASE_ASSERT(desc, m->l3_len == x->l3_len);
	CASE_ASSERT(desc, m->l4_off == x->l4_off);
	CASE_ASSERT(desc, m->ttl == (c->ttl ? c->ttl : 64));
	CASE_ASSERT(desc, m->flags == ((c->vlans ? LP_PKT_F_VLAN : 0) |
				       (c->family == 4 && (c->frag & 0x4000) ? LP_PKT_F_DF : 0)));
	CASE_ASSERT(desc, m->vlan_tci == (c->vlans ? c->tci : 0));
	CASE_ASSERT(desc, m->tcp_flags == (cls == LP_PKT_L4 && c->proto == IPPROTO_TCP ?
					  (uint8_t)ov(c->tcp_flags, LP_TCP_ACK) : 0));
	CASE_ASSERT(desc, m->icmp_type == (icmp ? c->icmp_type : 0));
	CASE_ASSERT(desc, m->icmp_code == (icmp ? c->icmp_code : 0));
	expect_key(c, x, cls, &k);
	CASE_ASSERT(desc, memcmp(&m->key, &k, sizeof(k)) == 0);
	if (cls == LP_PKT_ICMP_ERR) {
		struct crafted qx;
		uint8_t *tmp = malloc(FRAME_MAX);

		CU_ASSERT_FATAL(tmp != NULL);
		craft_ip(c->quote, tmp, &qx);
		free(tmp);
		expect_key(c->quote, &qx, LP_PKT_ICMP_ERR, &k);
		CASE_ASSERT(desc, memcmp(&m->inner, &k, sizeof(k)) == 0);
		CASE_ASSERT(desc, m->inner_l3_off == x->l3_off + x->inner_l3);
		CASE_ASSERT(desc, m->inner_l4_off == x->l3_off + x->inner_l4);
	} else {
		CASE_ASSERT(desc, all_zero(&m->inner, sizeof(m->inner)));
		CASE_ASSERT(desc, m->inner_l3_off == 0 && m->inner_l4_off == 0);
	}
}

/* ---- parse tables ---- */

struct pcase {
	const char *desc;
	struct craft c;
	enum lp_drop verdict;
	enum lp_pkt_class cls;
	enum lp_frag frag;
};

/* Packets as they were sent, quoted by the ICMP errors below. */
static const struct craft q_udp4 = { UDP4, .src = IP4(203, 0, 113, 10), .dst = IP4(192, 0, 2, 1), .payload = 30 };
static const struct craft q_tcp4 = { TCP4, .src = IP4(203, 0, 113, 10), .dst = IP4(192, 0, 2, 2), .payload = 200 };
static const struct craft q_tcp4_opt = { TCP4, .opt_len = 4, .payload = 10 };
static const struct craft q_echo4 = { ICMP4, .icmp_type = 8, .icmp_id = 0x4242, .payload = 56 };
static const struct craft q_later4 = { UDP4, .frag = 100, .payload = 64 };
static const struct craft q_udp6 = { UDP6, .payload = 12 };
static const struct craft q_tcp6 = { TCP6, .payload = 1300 };
static const struct craft q_echo6 = { ICMP6, .icmp_type = 128, .icmp_id = 0x77, .payload = 8 };
static const struct craft q_ext6 = { TCP6, .n_ext = 2, .ext = { HBH, DST }, .payload = 4 };
static const struct craft q_later6 = { UDP6, .n_ext = 2, .ext = { HBH, FRAG(3, 1) }, .payload = 16 };
static const struct craft q_v6 = { UDP6 };
static const struct craft q_v4 = { UDP4 };
static const struct craft q_ihl4 = { UDP4, .ihl = OV(4) };

static const struct pcase valid_cases[] = {
	{ "IPv4 TCP", { TCP4, .payload = 100 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 UDP", { UDP4, .payload = 10 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 UDP no payload", { UDP4 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "VLAN IPv4 TCP", { TCP4, .vlans = 1, .tci = 100 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "VLAN IPv4 UDP, priority and DEI bits", { UDP4, .vlans = 1, .tci = 0xf00a },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 options TCP", { TCP4, .opt_len = 12, .payload = 5 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 40 bytes of options, TCP 40 bytes of options",
	  { TCP4, .opt_len = 40, .tcp_opt = 40 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "VLAN IPv4 options UDP", { UDP4, .vlans = 1, .tci = 7, .opt_len = 4 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 UDP with Ethernet padding", { UDP4, .payload = 2, .pad = 16 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 UDP length below the IP payload", { UDP4, .payload = 20, .udp_len = OV(12) },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 TCP DF, TOS", { TCP4, .frag = 0x4000, .tos = 0xb8 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 TCP SYN", { TCP4, .tcp_flags = OV(LP_TCP_SYN) }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 TCP RST", { TCP4, .tcp_flags = OV(LP_TCP_RST) }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 TCP FIN+ACK+ECE+CWR", { TCP4, .tcp_flags = OV(0xd1) }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 TTL 1 parses (dropping is the data path's call)", { TCP4, .ttl = 1 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv4 source 240.0.0.1 (reserved, not rejected)", { UDP4, .src = IP4(240, 0, 0, 1) },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "ICMP echo request", { ICMP4, .icmp_type = 8, .icmp_id = 0x1234, .icmp_seq = 9, .payload = 56 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "ICMP echo reply, VLAN", { ICMP4, .vlans = 1, .tci = 3, .icmp_type = 0, .icmp_id = 0xbeef },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "ICMP timestamp: query without ports", { ICMP4, .icmp_type = 13, .payload = 12 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "ICMP port unreachable quoting UDP", { ICMP4, .icmp_type = 3, .icmp_code = 3, .quote = &q_udp4 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP fragmentation needed quoting TCP (IP header + 8)",
	  { ICMP4, .icmp_type = 3, .icmp_code = 4, .icmp_seq = 1400, .quote = &q_tcp4, .quote_cut = 28 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "VLAN ICMP fragmentation needed quoting the whole TCP packet",
	  { ICMP4, .vlans = 1, .tci = 9, .icmp_type = 3, .icmp_code = 4, .quote = &q_tcp4 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP time exceeded quoting an echo request", { ICMP4, .icmp_type = 11, .quote = &q_echo4 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP parameter problem quoting IPv4 options + TCP",
	  { ICMP4, .icmp_type = 12, .quote = &q_tcp4_opt, .quote_cut = 32 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP source quench", { ICMP4, .icmp_type = 4, .quote = &q_udp4 }, LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP redirect", { ICMP4, .icmp_type = 5, .icmp_code = 1, .quote = &q_udp4 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMP error quoting a non-first fragment: no inner ports",
	  { ICMP4, .icmp_type = 3, .icmp_code = 1, .quote = &q_later4, .quote_cut = 28 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "IPv4 first fragment TCP", { TCP4, .frag = 0x2000, .payload = 100, .frag_data = 48 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_FIRST },
	{ "IPv4 first fragment UDP (UDP length beyond it)", { UDP4, .frag = 0x2000, .payload = 1000, .frag_data = 8 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_FIRST },
	{ "IPv4 first fragment ICMP echo", { ICMP4, .frag = 0x2000, .icmp_type = 8, .icmp_id = 5, .payload = 64, .frag_data = 16 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_FIRST },
	{ "IPv4 later fragment (TCP)", { TCP4, .frag = 0x2000 | 185, .payload = 64 },
	  LP_DROP_NONE, LP_PKT_FRAG, LP_FRAG_LATER },
	{ "VLAN IPv4 last fragment (UDP)", { UDP4, .vlans = 1, .tci = 1, .frag = 3, .payload = 3 },
	  LP_DROP_NONE, LP_PKT_FRAG, LP_FRAG_LATER },
	{ "IPv4 fragment ending exactly at 65535", { UDP4, .frag = 8190, .payload = 15 },
	  LP_DROP_NONE, LP_PKT_FRAG, LP_FRAG_LATER },
	{ "IPv4 GRE", { .family = 4, .proto = 47, .payload = 24 }, LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv4 ESP", { .family = 4, .proto = 50, .payload = 40 }, LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv4 carrying protocol 58: not ICMP", { .family = 4, .proto = IPPROTO_ICMPV6, .payload = 8 },
	  LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv4 other protocol, empty", { .family = 4, .proto = 253 }, LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv6 TCP", { TCP6, .payload = 100 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 UDP", { UDP6, .payload = 50 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "VLAN IPv6 TCP, traffic class", { TCP6, .vlans = 1, .tci = 4094, .tos = 0x2e },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 UDP with Ethernet padding", { UDP6, .pad = 6 }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 hop-by-hop TCP", { TCP6, .n_ext = 1, .ext = { HBH } }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 routing (segment routing, segments left) UDP", { UDP6, .n_ext = 1, .ext = { RT(4, 2) } },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 routing type 0, segments left 0", { UDP6, .n_ext = 1, .ext = { RT(0, 0) } },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 destination options TCP", { TCP6, .n_ext = 1, .ext = { DST2 } }, LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "VLAN IPv6 hop-by-hop, routing, destination options, UDP",
	  { UDP6, .vlans = 1, .tci = 2, .n_ext = 3, .ext = { HBH, RT(2, 1), DST } },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 eight extension headers", { TCP6, .n_ext = 8, .ext = { HBH, DST, DST, DST, DST, DST, DST, DST } },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "IPv6 first fragment TCP", { TCP6, .n_ext = 1, .ext = { FRAG(0, 1) }, .payload = 200, .frag_data = 64 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_FIRST },
	{ "IPv6 hop-by-hop, first fragment, destination options, UDP",
	  { UDP6, .n_ext = 3, .ext = { HBH, FRAG(0, 1), DST }, .payload = 300, .frag_data = 80 },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_FIRST },
	{ "IPv6 later fragment UDP", { UDP6, .n_ext = 1, .ext = { FRAG(100, 1) }, .payload = 64 },
	  LP_DROP_NONE, LP_PKT_FRAG, LP_FRAG_LATER },
	{ "IPv6 last fragment, destination options after it (key proto is 60)",
	  { TCP6, .n_ext = 2, .ext = { FRAG(7, 0), DST }, .payload = 16 },
	  LP_DROP_NONE, LP_PKT_FRAG, LP_FRAG_LATER },
	{ "IPv6 atomic fragment (offset 0, no M) is whole", { TCP6, .n_ext = 1, .ext = { FRAG(0, 0) } },
	  LP_DROP_NONE, LP_PKT_L4, LP_FRAG_NONE },
	{ "ICMPv6 echo request", { ICMP6, .icmp_type = 128, .icmp_id = 0x5151, .payload = 32 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "VLAN ICMPv6 echo reply", { ICMP6, .vlans = 1, .tci = 5, .icmp_type = 129, .icmp_id = 1 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "ICMPv6 destination unreachable quoting UDP", { ICMP6, .icmp_type = 1, .icmp_code = 4, .quote = &q_udp6 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMPv6 packet too big quoting TCP", { ICMP6, .icmp_type = 2, .icmp_seq = 1280, .quote = &q_tcp6, .quote_cut = 1184 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMPv6 time exceeded quoting extension headers + TCP", { ICMP6, .icmp_type = 3, .quote = &q_ext6 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMPv6 parameter problem quoting an echo request", { ICMP6, .icmp_type = 4, .icmp_code = 1, .quote = &q_echo6 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMPv6 error quoting a later fragment: no inner ports",
	  { ICMP6, .icmp_type = 1, .quote = &q_later6, .quote_cut = 64 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ICMPv6 error behind an extension header", { ICMP6, .n_ext = 1, .ext = { DST }, .icmp_type = 2, .quote = &q_udp6 },
	  LP_DROP_NONE, LP_PKT_ICMP_ERR, LP_FRAG_NONE },
	{ "ND router solicitation from ::", { ICMP6, .src = IP6(0, 0, 0), .icmp_type = 133, .ttl = 255 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "ND router advertisement", { ICMP6, .src = IP6(0xfe, 0x80, 1), .icmp_type = 134, .ttl = 255, .payload = 8 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "ND neighbor solicitation from :: (duplicate address detection)",
	  { ICMP6, .src = IP6(0, 0, 0), .icmp_type = 135, .ttl = 255, .payload = 16 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "VLAN ND neighbor solicitation", { ICMP6, .vlans = 1, .tci = 8, .icmp_type = 135, .ttl = 255, .payload = 24 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "ND neighbor advertisement", { ICMP6, .icmp_type = 136, .ttl = 255, .payload = 24 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "ND redirect", { ICMP6, .src = IP6(0xfe, 0x80, 1), .icmp_type = 137, .ttl = 255, .payload = 32 },
	  LP_DROP_NONE, LP_PKT_ND, LP_FRAG_NONE },
	{ "ICMPv6 MLD report: informational", { ICMP6, .icmp_type = 131, .payload = 16 },
	  LP_DROP_NONE, LP_PKT_ICMP, LP_FRAG_NONE },
	{ "IPv6 ESP", { .family = 6, .proto = 50, .payload = 40 }, LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv6 AH after hop-by-hop", { .family = 6, .proto = 51, .n_ext = 1, .ext = { HBH }, .payload = 24 },
	  LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv6 no next header", { .family = 6, .proto = 59 }, LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
	{ "IPv6 carrying protocol 1: not ICMPv6", { .family = 6, .proto = IPPROTO_ICMP, .payload = 8 },
	  LP_DROP_NONE, LP_PKT_OTHER, LP_FRAG_NONE },
};

static const struct pcase malformed_cases[] = {
	{ "empty frame", { TCP4, .frame_cut = OV(0) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside Ethernet", { TCP4, .frame_cut = OV(13) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside the VLAN tag", { TCP4, .vlans = 1, .frame_cut = OV(17) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends after the VLAN tag", { TCP4, .vlans = 1, .frame_cut = OV(18) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside IPv4", { TCP4, .frame_cut = OV(14 + 19) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside IPv4 options", { TCP4, .opt_len = 8, .frame_cut = OV(14 + 24) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside IPv6", { TCP6, .frame_cut = OV(14 + 39) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "frame ends inside TCP (IP length beyond it)", { TCP4, .frame_cut = OV(14 + 30) }, LP_DROP_BAD_LEN, 0, 0 },
	{ "frame ends inside the IPv6 payload", { UDP6, .payload = 10, .frame_cut = OV(14 + 40 + 12) },
	  LP_DROP_BAD_LEN, 0, 0 },
	{ "IPv4 packet ends inside TCP", { TCP4, .ip_cut = 20 + 19 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv4 packet ends inside TCP options", { TCP4, .tcp_opt = 12, .ip_cut = 20 + 24 }, LP_DROP_BAD_TCP_HDR, 0, 0 },
	{ "IPv4 packet ends inside UDP", { UDP4, .ip_cut = 20 + 7 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv4 packet ends inside ICMP", { ICMP4, .icmp_type = 8, .ip_cut = 20 + 4 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv4 packet ends right after IPv4 options (TCP)", { TCP4, .opt_len = 4, .ip_cut = 24 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside TCP", { TCP6, .ip_cut = 40 + 10 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside UDP", { UDP6, .ip_cut = 40 + 4 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside ICMPv6", { ICMP6, .icmp_type = 128, .ip_cut = 40 + 7 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside hop-by-hop", { TCP6, .n_ext = 1, .ext = { HBH }, .ip_cut = 40 + 4 },
	  LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside a long destination options header",
	  { TCP6, .n_ext = 1, .ext = { DST2 }, .ip_cut = 40 + 16 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside routing", { TCP6, .n_ext = 2, .ext = { HBH, RT(4, 1) }, .ip_cut = 40 + 8 + 20 },
	  LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends inside the fragment header", { UDP6, .n_ext = 1, .ext = { FRAG(0, 1) }, .ip_cut = 40 + 6 },
	  LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv6 packet ends after extension headers (TCP expected)",
	  { TCP6, .n_ext = 2, .ext = { HBH, DST }, .ip_cut = 40 + 16 }, LP_DROP_TRUNCATED, 0, 0 },
	{ "ICMP quote ends inside the inner IPv4 header", { ICMP4, .icmp_type = 3, .quote = &q_udp4, .quote_cut = 12 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMP quote without 8 bytes of inner L4", { ICMP4, .icmp_type = 3, .quote = &q_udp4, .quote_cut = 27 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMP quote with inner options, ports missing", { ICMP4, .icmp_type = 11, .quote = &q_tcp4_opt, .quote_cut = 30 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMP error with nothing quoted", { ICMP4, .icmp_type = 3, .icmp_code = 4 }, LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMP quote is IPv6", { ICMP4, .icmp_type = 3, .quote = &q_v6 }, LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMP quote with IHL 4", { ICMP4, .icmp_type = 3, .quote = &q_ihl4 }, LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMPv6 quote ends inside the inner IPv6 header", { ICMP6, .icmp_type = 1, .quote = &q_udp6, .quote_cut = 39 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMPv6 quote ends inside an inner extension header", { ICMP6, .icmp_type = 3, .quote = &q_ext6, .quote_cut = 52 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMPv6 quote without 8 bytes of inner L4", { ICMP6, .icmp_type = 2, .quote = &q_tcp6, .quote_cut = 47 },
	  LP_DROP_BAD_ICMP, 0, 0 },
	{ "ICMPv6 quote is IPv4", { ICMP6, .icmp_type = 1, .quote = &q_v4 }, LP_DROP_BAD_ICMP, 0, 0 },
	{ "IHL 4", { TCP4, .ihl = OV(4) }, LP_DROP_BAD_IHL, 0, 0 },
	{ "IHL 0", { UDP4, .ihl = OV(0) }, LP_DROP_BAD_IHL, 0, 0 },
	{ "IHL beyond the frame", { UDP4, .ihl = OV(15) }, LP_DROP_TRUNCATED, 0, 0 },
	{ "IPv4 total length beyond the frame", { TCP4, .l3_len = OV(1500) }, LP_DROP_BAD_LEN, 0, 0 },
	{ "IPv4 total length below 20", { TCP4, .l3_len = OV(19) }, LP_DROP_BAD_LEN, 0, 0 },
	{ "IPv4 total length below the options", { TCP4, .opt_len = 8, .l3_len = OV(24) }, LP_DROP_BAD_LEN, 0, 0 },
	{ "IPv6 payload length beyond the frame", { UDP6, .l3_len = OV(9) }, LP_DROP_BAD_LEN, 0, 0 },
	{ "IPv4 ethertype, version 6", { TCP4, .version = OV(6) }, LP_DROP_BAD_VERSION, 0, 0 },
	{ "IPv4 ethertype, version 5", { TCP4, .version = OV(5), .opt_len = 4 }, LP_DROP_BAD_VERSION, 0, 0 },
	{ "IPv6 ethertype, version 4", { TCP6, .version = OV(4) }, LP_DROP_BAD_VERSION, 0, 0 },
	{ "TCP data offset 4", { TCP4, .tcp_doff = OV(4) }, LP_DROP_BAD_TCP_HDR, 0, 0 },
	{ "TCP data offset 0", { TCP6, .tcp_doff = OV(0) }, LP_DROP_BAD_TCP_HDR, 0, 0 },
	{ "TCP data offset beyond the packet", { TCP4, .tcp_doff = OV(15), .payload = 39 }, LP_DROP_BAD_TCP_HDR, 0, 0 },
	{ "TCP SYN+FIN", { TCP4, .tcp_flags = OV(LP_TCP_SYN | LP_TCP_FIN) }, LP_DROP_BAD_TCP_FLAGS, 0, 0 },
	{ "TCP SYN+RST", { TCP6, .tcp_flags = OV(LP_TCP_SYN | LP_TCP_RST | LP_TCP_ACK) }, LP_DROP_BAD_TCP_FLAGS, 0, 0 },
	{ "TCP no flags", { TCP4, .tcp_flags = OV(0) }, LP_DROP_BAD_TCP_FLAGS, 0, 0 },
	{ "TCP only ECE and CWR", { TCP4, .tcp_flags = OV(0xc0) }, LP_DROP_BAD_TCP_FLAGS, 0, 0 },
	{ "UDP length 0", { UDP4, .udp_len = OV(0) }, LP_DROP_BAD_UDP_LEN, 0, 0 },
	{ "UDP length 7", { UDP6, .udp_len = OV(7) }, LP_DROP_BAD_UDP_LEN, 0, 0 },
	{ "UDP length beyond the IP payload", { UDP4, .payload = 10, .udp_len = OV(19) }, LP_DROP_BAD_UDP_LEN, 0, 0 },
	{ "IPv6 UDP length beyond the payload", { UDP6, .udp_len = OV(9) }, LP_DROP_BAD_UDP_LEN, 0, 0 },
	{ "source 0.0.0.0", { UDP4, .src = IP4(0, 0, 0, 0) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 0.1.2.3", { TCP4, .src = IP4(0, 1, 2, 3) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 127.0.0.1", { TCP4, .src = IP4(127, 0, 0, 1) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 224.0.0.1", { UDP4, .src = IP4(224, 0, 0, 1) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 239.255.255.255", { UDP4, .src = IP4(239, 255, 255, 255) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 255.255.255.255", { UDP4, .src = IP4(255, 255, 255, 255) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "source 255.255.255.255 on a later fragment", { UDP4, .src = IP4(255, 255, 255, 255), .frag = 10 },
	  LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source ::", { TCP6, .src = IP6(0, 0, 0) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source ::1", { UDP6, .src = IP6(0, 0, 1) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source ff02::1", { UDP6, .src = IP6(0xff, 0x02, 1) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source :: on an echo request", { ICMP6, .icmp_type = 128, .src = IP6(0, 0, 0) }, LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source :: on a neighbor advertisement", { ICMP6, .icmp_type = 136, .payload = 16, .src = IP6(0, 0, 0) },
	  LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv6 source :: on a later fragment", { UDP6, .n_ext = 1, .ext = { FRAG(9, 0) }, .src = IP6(0, 0, 0) },
	  LP_DROP_BAD_SRC_ADDR, 0, 0 },
	{ "IPv4 fragment one byte beyond 65535", { UDP4, .frag = 8190, .payload = 16 }, LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv4 fragment at the largest offset", { TCP4, .frag = 0x1fff, .payload = 8 }, LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv4 first fragment too short for TCP", { TCP4, .frag = 0x2000, .payload = 100, .frag_data = 16 },
	  LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv4 first fragment too short for UDP", { UDP4, .frag = 0x2000, .payload = 100, .frag_data = 4 },
	  LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv4 first fragment too short for ICMP", { ICMP4, .icmp_type = 8, .frag = 0x2000, .payload = 100, .frag_data = 4 },
	  LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv6 fragment beyond 65535", { UDP6, .n_ext = 1, .ext = { FRAG(8190, 0) }, .payload = 24 },
	  LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv6 first fragment too short for TCP", { TCP6, .n_ext = 1, .ext = { FRAG(0, 1) }, .payload = 100, .frag_data = 8 },
	  LP_DROP_BAD_FRAG, 0, 0 },
	{ "IPv6 two fragment headers", { UDP6, .n_ext = 2, .ext = { FRAG(0, 1), FRAG(0, 1) } },
	  LP_DROP_BAD_EXT_HDR, 0, 0 },
	{ "fragmented neighbor solicitation", { ICMP6, .icmp_type = 135, .ttl = 255, .payload = 16,
						 .n_ext = 1, .ext = { FRAG(0, 1) } }, LP_DROP_BAD_FRAG, 0, 0 },
	{ "neighbor solicitation shorter than 24 bytes", { ICMP6, .icmp_type = 135, .ttl = 255, .payload = 8 },
	  LP_DROP_TRUNCATED, 0, 0 },
	{ "nine extension headers", { TCP6, .n_ext = 9, .ext = { DST, DST, DST, DST, DST, DST, DST, DST, DST } },
	  LP_DROP_BAD_EXT_HDR, 0, 0 },
	{ "hop-by-hop after another header", { TCP6, .n_ext = 2, .ext = { DST, HBH } }, LP_DROP_BAD_EXT_HDR, 0, 0 },
	{ "routing type 0 with segments left", { TCP6, .n_ext = 1, .ext = { RT(0, 1) } }, LP_DROP_BAD_EXT_HDR, 0, 0 },
	{ "two VLAN tags", { TCP4, .vlans = 2, .tci = 5 }, LP_DROP_UNSUPPORTED_L2, 0, 0 },
	{ "802.1ad outer tag", { TCP4, .ethertype = OV(0x88a8) }, LP_DROP_UNSUPPORTED_L2, 0, 0 },
	{ "LLDP ethertype", { TCP4, .ethertype = OV(0x88cc) }, LP_DROP_UNSUPPORTED_L2, 0, 0 },
	{ "802.3 length instead of an ethertype", { TCP4, .ethertype = OV(46) }, LP_DROP_UNSUPPORTED_L2, 0, 0 },
	{ "VLAN tag then unknown ethertype", { TCP4, .vlans = 1, .ethertype = OV(0x8847) }, LP_DROP_UNSUPPORTED_L2, 0, 0 },
	{ "ARP hardware type 6", { .ethertype = OV(0x0806), .arp_htype = OV(6) }, LP_DROP_BAD_ARP, 0, 0 },
	{ "ARP for IPv6", { .ethertype = OV(0x0806), .arp_ptype = OV(0x86dd) }, LP_DROP_BAD_ARP, 0, 0 },
	{ "ARP hardware length 8", { .ethertype = OV(0x0806), .arp_hlen = OV(8) }, LP_DROP_BAD_ARP, 0, 0 },
	{ "ARP protocol length 16", { .ethertype = OV(0x0806), .arp_plen = OV(16) }, LP_DROP_BAD_ARP, 0, 0 },
	{ "ARP of 27 bytes", { .ethertype = OV(0x0806), .frame_cut = OV(14 + 27) }, LP_DROP_BAD_ARP, 0, 0 },
	{ "VLAN ARP of 10 bytes", { .vlans = 1, .ethertype = OV(0x0806), .frame_cut = OV(18 + 10) }, LP_DROP_BAD_ARP, 0, 0 },
};

static const struct pcase arp_cases[] = {
	{ "ARP request", { .ethertype = OV(0x0806) }, LP_DROP_NONE, LP_PKT_ARP, LP_FRAG_NONE },
	{ "ARP reply", { .ethertype = OV(0x0806), .arp_op = 2 }, LP_DROP_NONE, LP_PKT_ARP, LP_FRAG_NONE },
	{ "VLAN ARP", { .vlans = 1, .tci = 33, .ethertype = OV(0x0806) }, LP_DROP_NONE, LP_PKT_ARP, LP_FRAG_NONE },
	{ "ARP padded to 60 bytes", { .ethertype = OV(0x0806), .pad = 18 }, LP_DROP_NONE, LP_PKT_ARP, LP_FRAG_NONE },
};

static void
run_table(const struct pcase *cases, size_t n)
{
	uint8_t *buf = malloc(FRAME_MAX);

	CU_ASSERT_FATAL(buf != NULL);
	for (size_t i = 0; i < n; i++) {
		const struct pcase *t = &cases[i];
		struct lp_pkt_meta m;
		struct crafted x;
		size_t len = craft(&t->c, buf, &x);
		enum lp_drop r = parse_exact(buf, len, &m);

		if (r != t->verdict)
			printf("\n    got %s, want %s", lp_drop_name(r), lp_drop_name(t->verdict));
		CASE_ASSERT(t->desc, r == t->verdict);
		if (r != LP_DROP_NONE || t->verdict != LP_DROP_NONE)
			continue;
		if (t->cls == LP_PKT_ARP) {
			struct lp_flow_key k = { .family = LP_AF_INET };

			memcpy(k.src, def_src4.a, 4);
			memcpy(k.dst, def_dst4.a, 4);
			CASE_ASSERT(t->desc, m.cls == LP_PKT_ARP);
			CASE_ASSERT(t->desc, memcmp(&m.key, &k, sizeof(k)) == 0);
			CASE_ASSERT(t->desc, m.l3_off == x.l3_off && m.l3_len == 28 && m.l4_off == 0);
			CASE_ASSERT(t->desc, m.flags == (t->c.vlans ? LP_PKT_F_VLAN : 0));
			CASE_ASSERT(t->desc, m.vlan_tci == t->c.tci);
			continue;
		}
		check_meta(t->desc, &t->c, &x, &m, t->cls, t->frag);
	}
	free(buf);
}

static void
test_parse_valid(void)
{
	run_table(valid_cases, sizeof(valid_cases) / sizeof(valid_cases[0]));
}

static void
test_parse_malformed(void)
{
	CU_ASSERT(sizeof(malformed_cases) / sizeof(malformed_cases[0]) >= 30);
	run_table(malformed_cases, sizeof(malformed_cases) / sizeof(malformed_cases[0]));
}

static void
test_parse_arp(void)
{
	run_table(arp_cases, sizeof(arp_cases) / sizeof(arp_cases[0]));
}

/* The TCP_BAD_FLAGS constant against its rule, for every flags byte. */
static void
test_tcp_flags_all(void)
{
	uint8_t buf[FRAME_MAX];

	for (unsigned int f = 0; f < 256; f++) {
		struct craft c = { TCP4, .tcp_flags = OV(f) };
		unsigned int six = f & 0x3f;
		bool bad = six == 0 || (six & 3) == 3 || (six & 6) == 6;
		struct lp_pkt_meta m;
		struct crafted x;
		size_t len = craft(&c, buf, &x);
		enum lp_drop r = lp_pkt_parse(buf, (uint32_t)len, &m);

		CU_ASSERT(r == (bad ? LP_DROP_BAD_TCP_FLAGS : LP_DROP_NONE));
		if (!bad)
			CU_ASSERT(m.tcp_flags == f);
	}
}

/*
 * Every shorter cut of a valid frame is refused, and every cut of the IP
 * packet (length fields agreeing) that ends inside a header is refused.
 */
static void
test_truncation_sweep(void)
{
	static const struct craft sweep[] = {
		{ TCP4, .vlans = 1, .opt_len = 8, .tcp_opt = 12, .payload = 3 },
		{ UDP4, .payload = 5 },
		{ ICMP4, .icmp_type = 3, .quote = &q_tcp4_opt },
		{ TCP6, .vlans = 1, .n_ext = 4, .ext = { HBH, RT(4, 1), FRAG(0, 1), DST2 }, .payload = 9 },
		{ ICMP6, .icmp_type = 2, .quote = &q_ext6 },
		{ ICMP6, .icmp_type = 135, .ttl = 255, .payload = 16 },
		{ .ethertype = OV(0x0806) },
	};
	uint8_t buf[FRAME_MAX];

	for (size_t i = 0; i < sizeof(sweep) / sizeof(sweep[0]); i++) {
		struct crafted x;
		struct lp_pkt_meta m;
		size_t len = craft(&sweep[i], buf, &x);

		CU_ASSERT(parse_exact(buf, len, &m) == LP_DROP_NONE);
		for (size_t cut = 0; cut < len; cut++) {
			enum lp_drop r = parse_exact(buf, cut, &m);

			CU_ASSERT(r == LP_DROP_TRUNCATED || r == LP_DROP_BAD_LEN || r == LP_DROP_BAD_ARP);
		}
		if (sweep[i].family == 0)
			continue;
		/* Headers end where the L4 header (or quote) needs its 8/20 bytes. */
		size_t need = x.l4_off - x.l3_off + (sweep[i].proto == IPPROTO_TCP ? 20u + sweep[i].tcp_opt : 8u);

		if (x.inner_l4 != 0)
			need = x.inner_l4 + 8u;
		for (size_t cut = 1; cut < need; cut++) {
			struct craft c = sweep[i];
			struct crafted cx;
			size_t clen;

			c.ip_cut = (uint16_t)cut;
			clen = craft(&c, buf, &cx);
			CU_ASSERT(parse_exact(buf, clen, &m) != LP_DROP_NONE);
		}
	}
}

/* A few expectations spelled out rather than derived. */
static void
test_parse_spot_checks(void)
{
	static const struct craft echo = { ICMP4, .icmp_type = 8, .icmp_id = 0xabcd, .icmp_seq = 1 };
	static const struct craft ptb = { ICMP6, .vlans = 1, .tci = 0x0123, .icmp_type = 2, .quote = &q_tcp6,
					  .quote_cut = 100 };
	uint8_t buf[FRAME_MAX];
	struct lp_pkt_meta m;
	struct crafted x;
	size_t len;

	len = craft(&echo, buf, &x);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)len, &m) == LP_DROP_NONE);
	CU_ASSERT(m.cls == LP_PKT_ICMP);
	CU_ASSERT(m.key.sport == htons(0xabcd) && m.key.dport == htons(0xabcd));
	CU_ASSERT(m.key.proto == IPPROTO_ICMP && m.key.family == LP_AF_INET && m.key.zone == 0);
	CU_ASSERT(memcmp(m.key.src, "\xc6\x33\x64\x07", 4) == 0 && all_zero(m.key.src + 4, 12));
	CU_ASSERT(memcmp(m.key.dst, "\xcb\x00\x71\x0a", 4) == 0 && all_zero(m.key.dst + 4, 12));
	CU_ASSERT(m.l3_off == 14 && m.l4_off == 34 && m.l3_len == 28 && m.icmp_type == 8);

	len = craft(&ptb, buf, &x);
	CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)len, &m) == LP_DROP_NONE);
	CU_ASSERT(m.cls == LP_PKT_ICMP_ERR && m.icmp_type == 2 && m.icmp_code == 0);
	CU_ASSERT(m.flags == LP_PKT_F_VLAN && m.vlan_tci == 0x0123);
	CU_ASSERT(m.l3_off == 18 && m.l4_off == 58 && m.inner_l3_off == 66 && m.inner_l4_off == 106);
	CU_ASSERT(m.l3_len == 40 + 8 + 100);
	/* The inner key is the packet as it was sent: from 2001:db8::7 port 40001 to port 443. */
	CU_ASSERT(m.inner.sport == htons(40001) && m.inner.dport == htons(443));
	CU_ASSERT(m.inner.src[15] == 7 && m.inner.dst[15] == 0x10 && m.inner.proto == IPPROTO_TCP);
	CU_ASSERT(m.inner.family == LP_AF_INET6 && m.inner.zone == 0);
}

/* RFC 4291 appendix A: the universal/local bit inverted, ff:fe in the middle. */
static void
test_mac_to_ll6(void)
{
	static const struct {
		const char *mac, *ll;
	} cases[] = {
		{ "02:00:00:00:00:01", "fe80::ff:fe00:1" },
		{ "00:00:00:00:00:01", "fe80::200:ff:fe00:1" },
		{ "52:54:00:12:34:56", "fe80::5054:ff:fe12:3456" },
		{ "ff:ff:ff:ff:ff:ff", "fe80::fdff:ffff:feff:ffff" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lp_mac mac;
		struct lp_ip ll, want;

		CU_ASSERT_FATAL(lp_mac_parse(cases[i].mac, &mac) == 0);
		CU_ASSERT_FATAL(lp_ip_parse(cases[i].ll, &want) == 0);
		memset(&ll, 0xaa, sizeof(ll));
		lp_mac_to_ll6(&mac, &ll);
		CU_ASSERT(lp_ip_equal(&ll, &want));
		CU_ASSERT(ll.family == LP_AF_INET6);
	}
}

int
main(void)
{
	static const struct lp_test_case addr_cases[] = {
		{ "a MAC's IPv6 link-local address (modified EUI-64)", test_mac_to_ll6 },
		{ NULL, NULL },
	};
	static const struct lp_test_case parse_cases[] = {
		{ "valid frames, every header combination", test_parse_valid },
		{ "malformed frames, one reason each", test_parse_malformed },
		{ "ARP", test_parse_arp },
		{ "TCP flags: all 256 values", test_tcp_flags_all },
		{ "every truncation refused", test_truncation_sweep },
		{ "metadata spelled out", test_parse_spot_checks },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "pkt_parse", NULL, NULL, parse_cases },
		{ "pkt_addr", NULL, NULL, addr_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
