/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet core's checksums, rewrites and encapsulation
 * (suites pkt_csum, pkt_rewrite).
 *
 * Checksums are compared with the plain RFC 1071 reference in pkt_craft.h.
 * Rewrites are checked by crafting the expected packet from scratch and
 * comparing whole frames byte by byte, so a wrong byte anywhere, checksums
 * included, fails.
 */
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "lp_pkt.h"
#include "lp_test.h"
#include "pkt_craft.h"

/* Room in front of a frame for lp_pkt_encap() to prepend the outer header. */
#define HEADROOM 64

/* Packets as they were sent, quoted by the ICMP errors below. */
static const struct craft q_tcp4 = { TCP4, .src = IP4(203, 0, 113, 10), .dst = IP4(192, 0, 2, 2), .payload = 200 };
static const struct craft q_tcp6 = { TCP6, .payload = 1300 };

/* ---- checksums ---- */

static void
test_csum_partial(void)
{
	uint8_t buf[70000];

	rng_state = 1;
	rnd_bytes(buf, sizeof(buf));
	for (int i = 0; i < 2000; i++) {
		size_t len = i < 1000 ? rnd_below(100) : rnd_below(sizeof(buf));
		uint32_t init = i % 3 == 0 ? 0 : i % 3 == 1 ? 0xffffffffu - rnd_below(3) : (uint32_t)rnd();
		uint32_t got = lp_csum_partial(buf, len, init);

		/* Compare as one's complement values: folded sums equal. */
		CU_ASSERT(lp_csum_fold(got) == ref_fold(ref_add(init, buf, len)) ||
			  (lp_csum_fold(got) == 0xffff && ref_fold(ref_add(init, buf, len)) == 0) ||
			  (lp_csum_fold(got) == 0 && ref_fold(ref_add(init, buf, len)) == 0xffff));
	}
	/* Exact values on known words: 0x0102 + 0x0304 + 0x05(00). */
	CU_ASSERT(lp_csum_partial("\x01\x02\x03\x04\x05", 5, 0) == 0x0102 + 0x0304 + 0x0500);
	CU_ASSERT(lp_csum_fold(lp_csum_partial("\xff\xff", 2, 0x10)) == 0x0010);
	CU_ASSERT(lp_csum_fold(0x0001ffffu) == 0x0001);
	CU_ASSERT(lp_csum_fold(0xffffffffu) == 0xffff);
}

static void
test_ipv4_cksum_vector(void)
{
	/* A commonly quoted example header: checksum 0xb861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t ck = lp_ipv4_cksum(ip);

	CU_ASSERT(memcmp(&ck, "\xb8\x61", 2) == 0);
	/* The stored field does not matter. */
	ip[10] = 0x12;
	ip[11] = 0x34;
	ck = lp_ipv4_cksum(ip);
	CU_ASSERT(memcmp(&ck, "\xb8\x61", 2) == 0);
	CU_ASSERT(ref_ipv4_cksum(ip) == 0xb861);
}

/* Full checksum of data (host order value) with bytes ck_off..+1 left out. */
static uint16_t
ref_cksum_skip(const uint8_t *p, size_t len, size_t ck_off)
{
	uint64_t acc = ref_add(0, p, ck_off);

	acc = ref_add(acc, p + ck_off + 2, len - ck_off - 2);
	return (uint16_t)~ref_fold(acc);
}

/* RFC 1812 5.2.2 verification: which headers lp_ipv4_cksum_ok() accepts. */
static void
test_ipv4_cksum_ok(void)
{
	static const struct {
		const char *desc;
		uint8_t opt_len, vlans;
		int flip;		/* header byte to change, -1: none */
		uint8_t mask;		/* bits flipped there */
		bool ok;
	} cases[] = {
		{ "a good header", 0, 0, -1, 0, true },
		{ "a good header with 4 bytes of options", 4, 0, -1, 0, true },
		{ "a good header with 40 bytes of options", 40, 0, -1, 0, true },
		{ "a good header behind a VLAN tag", 0, 1, -1, 0, true },
		{ "TOS bit", 0, 0, 1, 0x04, false },
		{ "total length bit", 0, 0, 3, 0x01, false },
		{ "ID bit", 0, 0, 4, 0x80, false },
		{ "DF bit", 0, 0, 6, 0x40, false },
		{ "TTL bit", 0, 0, 8, 0x01, false },
		{ "protocol bit", 0, 0, 9, 0x20, false },
		{ "checksum bit", 0, 0, 10, 0x08, false },
		{ "checksum low byte", 0, 0, 11, 0xff, false },
		{ "source address bit", 0, 0, 12, 0x01, false },
		{ "source address low bit", 0, 0, 15, 0x01, false },
		{ "destination address bit", 0, 0, 19, 0x80, false },
		{ "an option byte", 8, 0, 25, 0x10, false },
		{ "the last option byte", 40, 0, 59, 0x01, false },
		{ "a bit past the header (not covered)", 0, 0, 20, 0x01, true },
	};
	static uint8_t f[FRAME_MAX];

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct craft c = { TCP4, .opt_len = cases[i].opt_len, .vlans = cases[i].vlans, .tci = 5,
				   .ttl = 9, .ip_id = 0x1234, .frag = 0x4000, .payload = 30 };
		struct crafted x;

		craft(&c, f, &x);
		if (cases[i].flip >= 0)
			f[x.l3_off + cases[i].flip] ^= cases[i].mask;
		CASE_ASSERT(cases[i].desc, lp_ipv4_cksum_ok(f + x.l3_off) == cases[i].ok);
	}
	/* Random headers of every length against the reference, right and wrong. */
	rng_state = 19;
	for (int i = 0; i < 20000; i++) {
		uint8_t ip[60];
		unsigned int hl = 4 * (5 + rnd_below(11));

		rnd_bytes(ip, sizeof(ip));
		ip[0] = (uint8_t)(0x40 | hl / 4);
		if (i % 2)
			wr16(ip + 10, ref_ipv4_cksum(ip));
		CU_ASSERT(lp_ipv4_cksum_ok(ip) == (rd16(ip + 10) == ref_ipv4_cksum(ip)));
	}
}

static void
test_csum_replace(void)
{
	uint8_t d[40];

	rng_state = 2;
	for (int i = 0; i < 20000; i++) {
		size_t flen = (size_t)2 << rnd_below(4); /* 2, 4, 8, 16 */
		size_t off = 2 + 2 * rnd_below((uint32_t)(40 - 2 - flen) / 2 + 1);
		uint8_t nf[16];
		uint16_t ck, want, got;

		rnd_bytes(d, sizeof(d));
		rnd_bytes(nf, flen);
		/* Push into the corners: words of all zeros and all ones. */
		if (i % 4 == 1)
			memset(nf, 0, flen);
		if (i % 4 == 2)
			memset(nf, 0xff, flen);
		if (off + flen > sizeof(d))
			off = sizeof(d) - flen;
		wr16(d, ref_cksum_skip(d, sizeof(d), 0));
		memcpy(&ck, d, 2);
		got = lp_csum_replace(ck, d + off, nf, flen);
		memcpy(d + off, nf, flen);
		want = ref_cksum_skip(d, sizeof(d), 0);
		CU_ASSERT(rd16((uint8_t *)&got) == want);
	}
}

/*
 * Into and out of a 0x0000 checksum (the new data sums to minus zero), where
 * RFC 1624 eqn. 2 goes wrong; and an odd-length field.
 */
static void
test_csum_replace_corners(void)
{
	uint8_t d[8] = { 0x12, 0x34, 0, 0, 0x00, 0x00, 0x00, 0x00 };
	uint8_t nw[2];
	uint16_t ck, got;

	/* 0x1234 + 0xedcb = 0xffff: the checksum becomes 0x0000. */
	wr16(d + 2, ref_cksum_skip(d, 8, 2));
	CU_ASSERT(rd16(d + 2) == 0xedcb);
	memcpy(&ck, d + 2, 2);
	wr16(nw, 0xedcb);
	got = lp_csum_replace(ck, d + 4, nw, 2);
	memcpy(d + 4, nw, 2);
	CU_ASSERT(ref_cksum_skip(d, 8, 2) == 0x0000);
	CU_ASSERT(got == 0x0000);
	memcpy(d + 2, &got, 2);

	/* A no-op change keeps 0x0000 (eqn. 2 would give 0xffff). */
	memcpy(&ck, d + 2, 2);
	got = lp_csum_replace(ck, d + 4, d + 4, 2);
	CU_ASSERT(got == 0x0000);

	/* Out of 0x0000: one more makes the sum 0x0001 after the end-around carry. */
	wr16(d + 2, 0x0000);
	memcpy(&ck, d + 2, 2);
	wr16(nw, 0xedcc);
	got = lp_csum_replace(ck, d + 4, nw, 2);
	memcpy(d + 4, nw, 2);
	CU_ASSERT(ref_cksum_skip(d, 8, 2) == 0xfffe);
	CU_ASSERT(rd16((uint8_t *)&got) == 0xfffe);

	/* Into 0x0000 through a 4-byte field changing both words. */
	memset(d, 0, sizeof(d));
	d[0] = 0x40;
	wr16(d + 2, ref_cksum_skip(d, 8, 2));
	memcpy(&ck, d + 2, 2);
	got = lp_csum_replace(ck, d + 4, "\x3f\xff\x80\x00", 4);
	memcpy(d + 4, "\x3f\xff\x80\x00", 4);
	CU_ASSERT(ref_cksum_skip(d, 8, 2) == 0x0000);
	CU_ASSERT(got == 0x0000);

	/* Odd length: a trailing byte is the high half of its word. */
	memset(d, 0, sizeof(d));
	d[0] = 0x40;
	wr16(d + 2, ref_cksum_skip(d, 8, 2));
	memcpy(&ck, d + 2, 2);
	got = lp_csum_replace(ck, d + 4, "\x01\x02\x03", 3);
	memcpy(d + 4, "\x01\x02\x03", 3);
	CU_ASSERT(rd16((uint8_t *)&got) == ref_cksum_skip(d, 8, 2));
	CU_ASSERT(rd16((uint8_t *)&got) == (uint16_t)~(0x4000 + 0x0102 + 0x0300));
}

/* lp_ipv4_cksum() and lp_l4_cksum() agree with the crafter's reference checksums. */
static void
test_full_cksums(void)
{
	static const struct craft crafts[] = {
		{ TCP4, .opt_len = 8, .tcp_opt = 12, .payload = 33 },
		{ UDP4, .payload = 20, .udp_len = OV(13) },
		{ UDP4, .payload = 20, .udp_len = OV(13), .pad = 10 },
		{ UDP6, .payload = 21, .udp_len = OV(12), .n_ext = 1, .ext = { DST } },
		{ TCP6, .vlans = 1, .n_ext = 2, .ext = { HBH, RT(4, 1) }, .payload = 7 },
		{ ICMP4, .icmp_type = 8, .payload = 31 },
		{ ICMP4, .icmp_type = 3, .quote = &q_tcp4 },
		{ ICMP6, .icmp_type = 129, .payload = 9 },
		{ ICMP6, .icmp_type = 2, .quote = &q_tcp6, .quote_cut = 500 },
		{ ICMP6, .icmp_type = 136, .ttl = 255, .payload = 24 },
	};
	static uint8_t buf[FRAME_MAX];

	for (size_t i = 0; i < sizeof(crafts) / sizeof(crafts[0]); i++) {
		struct lp_pkt_meta m;
		struct crafted x;
		size_t len = craft(&crafts[i], buf, &x);
		size_t ck_off = crafts[i].proto == IPPROTO_TCP ? 16 : crafts[i].proto == IPPROTO_UDP ? 6 : 2;
		uint16_t ck;

		CU_ASSERT_FATAL(lp_pkt_parse(buf, (uint32_t)len, &m) == LP_DROP_NONE);
		ck = lp_l4_cksum(buf, &m);
		CU_ASSERT(memcmp(&ck, buf + m.l4_off + ck_off, 2) == 0);
		CU_ASSERT(lib_cksums_ok(buf, &m, false));
		/* The stored value is ignored: a clobbered field still gives the right one. */
		buf[m.l4_off + ck_off] ^= 0x5a;
		CU_ASSERT(lp_l4_cksum(buf, &m) == ck);
		if (crafts[i].family == 4) {
			buf[m.l3_off + 10] ^= 0x5a;
			ck = lp_ipv4_cksum(buf + m.l3_off);
			CU_ASSERT(rd16((uint8_t *)&ck) == ref_ipv4_cksum(buf + m.l3_off));
		}
	}
}

/* ---- rewrites ---- */

struct rcase {
	struct craft c;
	uint8_t payload[1600];
	struct craft quote;
};

static void
rnd_exts(struct craft *c)
{
	unsigned int n = rnd_below(4);

	c->n_ext = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct ext6 *e = &c->ext[c->n_ext];

		memset(e, 0, sizeof(*e));
		switch (rnd_below(3)) {
		case 0:
			if (c->n_ext != 0)
				continue;
			e->type = IPPROTO_HOPOPTS;
			e->len8 = (uint8_t)rnd_below(3);
			break;
		case 1:
			e->type = IPPROTO_ROUTING;
			e->len8 = (uint8_t)(2 * (1 + rnd_below(2)));
			e->rt_type = 4;
			e->segs_left = (uint8_t)rnd_below(3);
			break;
		default:
			e->type = IPPROTO_DSTOPTS;
			e->len8 = (uint8_t)rnd_below(3);
			break;
		}
		c->n_ext++;
	}
}

enum rfrag { RF_NONE, RF_FIRST, RF_LATER };

/* A random well-formed packet; ICMP errors and fragments when asked. */
static void
rnd_craft(struct rcase *rc, bool frags)
{
	struct craft *c = &rc->c;
	enum rfrag fr = frags ? (enum rfrag)rnd_below(5) : RF_NONE;
	unsigned int kind = rnd_below(8);

	if (fr > RF_LATER)
		fr = RF_NONE;
	memset(c, 0, sizeof(*c));
	c->family = rnd_below(2) ? 4 : 6;
	c->vlans = (uint8_t)rnd_below(2);
	c->tci = (uint16_t)rnd();
	c->tos = (uint8_t)rnd();
	c->ttl = (uint8_t)(1 + rnd_below(255));
	c->ip_id = (uint16_t)rnd();
	c->pad = rnd_below(4) == 0 ? (uint16_t)rnd_below(20) : 0;
	rnd_addr(c->family, &c->src);
	rnd_addr(c->family, &c->dst);
	if (c->family == 4) {
		c->opt_len = rnd_below(2) ? (uint8_t)(4 * rnd_below(11)) : 0;
		c->frag = rnd_below(2) ? 0x4000 : 0;
	} else {
		rnd_exts(c);
	}
	c->sport = (uint16_t)rnd();
	c->dport = (uint16_t)rnd();
	c->payload = (uint16_t)rnd_below(rnd_below(4) ? 64 : 600);
	rnd_bytes(rc->payload, sizeof(rc->payload));
	c->payload_bytes = rc->payload;
	if (kind < 3) {
		c->proto = IPPROTO_TCP;
		c->tcp_opt = rnd_below(2) ? (uint8_t)(4 * rnd_below(11)) : 0;
		c->tcp_flags = OV(LP_TCP_ACK | (rnd_below(2) ? LP_TCP_PSH : 0));
	} else if (kind < 6) {
		c->proto = IPPROTO_UDP;
		c->udp_nocsum = rnd_below(5) == 0;
	} else if (kind == 6 || fr != RF_NONE) {
		c->proto = c->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		c->icmp_type = c->family == 4 ? (rnd_below(2) ? 8 : 0) : (uint8_t)(128 + rnd_below(2));
		c->icmp_id = (uint16_t)rnd();
		c->icmp_seq = (uint16_t)rnd();
	} else {
		/* An ICMP error quoting a small random TCP or UDP packet (not itself fragmented). */
		struct craft *q = &rc->quote;

		memset(q, 0, sizeof(*q));
		q->family = c->family;
		q->proto = rnd_below(2) ? IPPROTO_TCP : IPPROTO_UDP;
		rnd_addr(q->family, &q->src);
		rnd_addr(q->family, &q->dst);
		q->sport = (uint16_t)rnd();
		q->dport = (uint16_t)rnd();
		q->payload = (uint16_t)rnd_below(40);
		c->proto = c->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
		c->icmp_type = c->family == 4 ? 3 : 2;
		c->icmp_code = c->family == 4 ? 4 : 0;
		c->icmp_seq = 1400;
		c->quote = q;
		c->payload = 0;
	}
	if (fr == RF_FIRST) {
		/* Carry the fixed L4 header and a multiple of 8 bytes, less than the whole. */
		size_t l4h = c->proto == IPPROTO_TCP ? 20u + c->tcp_opt : 8u;

		c->payload = (uint16_t)(c->payload + 64);
		c->frag_data = (uint16_t)((l4h + 7 + 8 * rnd_below(4)) & ~7u);
		if (c->family == 4) {
			c->frag = 0x2000;
		} else if (c->n_ext < 9) {
			c->ext[c->n_ext++] = (struct ext6)FRAG(0, 1);
		}
	} else if (fr == RF_LATER) {
		uint16_t off = (uint16_t)(1 + rnd_below(1000));

		if (c->family == 4)
			c->frag = (uint16_t)(off | (rnd_below(2) ? 0x2000 : 0));
		else
			c->ext[c->n_ext++] = (struct ext6)FRAG(off, rnd_below(2));
	}
}

static size_t
first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return n;
}

static bool
frames_equal(const char *what, const uint8_t *got, const uint8_t *want, size_t n)
{
	size_t d = first_diff(got, want, n);

	if (d != n)
		printf("\n    %s: byte %zu is %02x, want %02x", what, d, got[d], want[d]);
	return d == n;
}

/* One rewrite each; the _FWD ones are NAT and TTL decrement in one pass. */
enum rewrite_op { OP_DNAT, OP_SNAT, OP_TTL, OP_DNAT_FWD, OP_SNAT_FWD };

static void
rewrite_random(enum rewrite_op op, uint64_t seed)
{
	static struct rcase rc;
	static uint8_t a[FRAME_MAX], b[FRAME_MAX];
	unsigned int done = 0;

	rng_state = seed;
	for (int i = 0; i < RANDOM_ROUNDS; i++) {
		struct craft want;
		struct crafted xa, xb;
		struct lp_pkt_meta m;
		struct lp_ip addr;
		uint16_t port = (uint16_t)rnd();
		size_t la, lb;
		bool ok = true, l4 = false;
		char desc[160];

		rnd_craft(&rc, true);
		la = craft(&rc.c, a, &xa);
		if (lp_pkt_parse(a, (uint32_t)la, &m) != LP_DROP_NONE) {
			CU_FAIL("random packet did not parse");
			continue;
		}
		want = rc.c;
		rnd_addr(rc.c.family, &addr);
		l4 = m.cls == LP_PKT_L4;
		snprintf(desc, sizeof(desc), "round %d: v%u proto %u cls %u frag %u vlan %u opt %u ext %u csum0 %d", i,
			 rc.c.family, rc.c.proto, m.cls, m.frag, rc.c.vlans, rc.c.opt_len, rc.c.n_ext,
			 rc.c.udp_nocsum);
		switch (op) {
		case OP_DNAT:
			lp_pkt_dnat(a, &m, addr.a, htons(port));
			want.dst = addr;
			if (l4)
				want.dport = port;
			break;
		case OP_SNAT:
			lp_pkt_snat(a, &m, addr.a, htons(port));
			want.src = addr;
			if (l4)
				want.sport = port;
			break;
		case OP_TTL:
			if (rc.c.ttl <= 1) {
				memcpy(b, a, la);
				CASE_ASSERT(desc, !lp_pkt_dec_ttl(a, &m));
				CASE_ASSERT(desc, memcmp(a, b, la) == 0);
				continue;
			}
			CASE_ASSERT(desc, lp_pkt_dec_ttl(a, &m));
			want.ttl = (uint8_t)(rc.c.ttl - 1);
			break;
		case OP_DNAT_FWD:
		case OP_SNAT_FWD: {
			bool dst = op == OP_DNAT_FWD;
			bool (*fn)(uint8_t *, const struct lp_pkt_meta *, const uint8_t *, uint16_t) =
				dst ? lp_pkt_dnat_fwd : lp_pkt_snat_fwd;

			if (rc.c.ttl <= 1) {
				/* Refused before anything is written. */
				memcpy(b, a, la);
				CASE_ASSERT(desc, !fn(a, &m, addr.a, htons(port)));
				CASE_ASSERT(desc, memcmp(a, b, la) == 0);
				continue;
			}
			CASE_ASSERT(desc, fn(a, &m, addr.a, htons(port)));
			want.ttl = (uint8_t)(rc.c.ttl - 1);
			if (dst)
				want.dst = addr;
			else
				want.src = addr;
			if (l4 && dst)
				want.dport = port;
			else if (l4)
				want.sport = port;
			break;
		}
		}
		lb = craft(&want, b, &xb);
		CASE_ASSERT(desc, la == lb);
		ok = frames_equal(desc, a, b, la);
		CASE_ASSERT(desc, ok);
		CASE_ASSERT(desc, lib_cksums_ok(a, &m, rc.c.udp_nocsum));
		done++;
	}
	CU_ASSERT(done > RANDOM_ROUNDS / 2);
}

static void
test_dnat_random(void)
{
	rewrite_random(OP_DNAT, 11);
}

static void
test_snat_random(void)
{
	rewrite_random(OP_SNAT, 12);
}

static void
test_dec_ttl_random(void)
{
	rewrite_random(OP_TTL, 13);
}

static void
test_dnat_fwd_random(void)
{
	rewrite_random(OP_DNAT_FWD, 16);
}

static void
test_snat_fwd_random(void)
{
	rewrite_random(OP_SNAT_FWD, 17);
}

/*
 * UDP whose checksum after NAT computes to zero must carry 0xffff; one whose
 * checksum is absent (zero) must stay zero. Payloads are tuned so the
 * rewritten packet's sum is exactly minus zero.
 */
static void
test_udp_cksum_zero_cases(void)
{
	static uint8_t a[FRAME_MAX], b[FRAME_MAX], payload[64];

	rng_state = 14;
	for (int i = 0; i < 400; i++) {
		struct craft c = { .proto = IPPROTO_UDP, .payload = 32, .payload_bytes = payload };
		struct craft want;
		struct crafted x;
		struct lp_pkt_meta m;
		uint16_t ck, w;
		uint32_t s;
		size_t len;

		c.family = i % 2 ? 6 : 4;
		c.vlans = (uint8_t)(i % 3 == 0);
		c.tci = c.vlans ? 100 : 0;
		c.sport = (uint16_t)rnd();
		c.dport = (uint16_t)rnd();
		rnd_addr(c.family, &c.src);
		rnd_addr(c.family, &c.dst);
		rnd_bytes(payload, sizeof(payload));
		want = c;
		rnd_addr(c.family, &want.dst);
		want.dport = (uint16_t)rnd();
		/* Tune the first payload word of the rewritten packet so its checksum is 0. */
		len = craft(&want, b, &x);
		ck = rd16(b + x.l4_off + 6);
		w = rd16(payload);
		s = (uint32_t)w + ck;
		s = (s & 0xffff) + (s >> 16);
		wr16(payload, s);
		len = craft(&want, b, &x);
		CU_ASSERT_FATAL(rd16(b + x.l4_off + 6) == 0xffff);

		len = craft(&c, a, &x);
		CU_ASSERT_FATAL(lp_pkt_parse(a, (uint32_t)len, &m) == LP_DROP_NONE);
		lp_pkt_dnat(a, &m, want.dst.a, htons(want.dport));
		CU_ASSERT(frames_equal("udp zero", a, b, len));
		CU_ASSERT(rd16(a + x.l4_off + 6) == 0xffff);
		CU_ASSERT(lp_l4_cksum(a, &m) == 0xffff);
		{
			/* The builder maps a computed zero the same way. */
			struct lp_pkt_spec spec = { .src = c.src, .dst = want.dst, .proto = IPPROTO_UDP,
						    .sport = c.sport, .dport = want.dport, .payload = payload,
						    .payload_len = 32, .vlan = c.vlans ? c.tci : 0 };
			int n = lp_pkt_build(b, FRAME_MAX, &spec);

			CU_ASSERT_FATAL(n == (int)len);
			CU_ASSERT(rd16(b + x.l4_off + 6) == 0xffff);
			CU_ASSERT(frames_equal("udp zero built", a + x.l4_off, b + x.l4_off, 40));
		}

		/* Absent checksum: stays absent whatever changes. */
		c.udp_nocsum = true;
		want.udp_nocsum = true;
		len = craft(&c, a, &x);
		CU_ASSERT_FATAL(lp_pkt_parse(a, (uint32_t)len, &m) == LP_DROP_NONE);
		lp_pkt_dnat(a, &m, want.dst.a, htons(want.dport));
		craft(&want, b, &x);
		CU_ASSERT(frames_equal("udp no checksum", a, b, len));
		CU_ASSERT(rd16(a + x.l4_off + 6) == 0);
	}
}

/* The outer header as the header file documents it, built here independently. */
static size_t
expect_outer(const uint8_t *in, uint8_t inner_family, uint16_t inner_len, const struct lp_ip *src,
	     const struct lp_ip *dst, uint8_t ttl, uint32_t hash, uint8_t *o)
{
	uint8_t tos = inner_family == 4 ? in[1] : (uint8_t)((in[0] & 0x0f) << 4 | in[1] >> 4);
	uint8_t proto = inner_family == 4 ? 4 : 41;

	if (dst->family == 4) {
		o[0] = 0x45;
		o[1] = tos;
		wr16(o + 2, 20u + inner_len);
		if (inner_family == 4) {
			memcpy(o + 4, in + 4, 2);
			wr16(o + 6, rd16(in + 6) & 0x4000);
		} else {
			wr16(o + 4, hash & 0xffff);
			wr16(o + 6, 0x4000);
		}
		o[8] = ttl;
		o[9] = proto;
		memcpy(o + 12, src->a, 4);
		memcpy(o + 16, dst->a, 4);
		wr16(o + 10, ref_ipv4_cksum(o));
		return 20;
	}
	wr32(o, 6u << 28 | (uint32_t)tos << 20 | (hash & 0xfffff));
	wr16(o + 4, inner_len);
	o[6] = proto;
	o[7] = ttl;
	memcpy(o + 8, src->a, 16);
	memcpy(o + 24, dst->a, 16);
	return 40;
}

static void
test_encap_random(void)
{
	static struct rcase rc;
	static uint8_t a[FRAME_MAX], buf[FRAME_MAX + HEADROOM], want[FRAME_MAX + HEADROOM];

	rng_state = 15;
	for (int i = 0; i < RANDOM_ROUNDS; i++) {
		struct crafted x;
		struct lp_pkt_meta m, om;
		struct lp_ip osrc, odst;
		uint8_t ttl = (uint8_t)(1 + rnd_below(255)), *start;
		uint32_t hash = (uint32_t)rnd();
		size_t la, elen, wlen;

		rnd_craft(&rc, true);
		la = craft(&rc.c, a, &x);
		CU_ASSERT_FATAL(lp_pkt_parse(a, (uint32_t)la, &m) == LP_DROP_NONE);
		rnd_addr(rnd_below(2) ? 4 : 6, &odst);
		rnd_addr(odst.family, &osrc);
		elen = LP_ENCAP_LEN(odst.family);

		memset(buf, 0xa5, HEADROOM);
		memcpy(buf + HEADROOM, a, la);
		start = lp_pkt_encap(buf + HEADROOM, &m, &osrc, &odst, ttl, hash);
		CU_ASSERT_FATAL(start == buf + HEADROOM - elen);

		memcpy(want, a, m.l3_off - 2u);
		wr16(want + m.l3_off - 2, odst.family == 4 ? 0x0800 : 0x86dd);
		expect_outer(a + m.l3_off, m.key.family, m.l3_len, &osrc, &odst, ttl, hash, want + m.l3_off);
		memcpy(want + m.l3_off + elen, a + m.l3_off, m.l3_len);
		wlen = m.l3_off + elen + m.l3_len;
		CU_ASSERT(frames_equal("encap", start, want, wlen));
		/* Headroom in front of the new frame is not touched. */
		for (size_t j = 0; j < HEADROOM - elen; j++)
			CU_ASSERT_FATAL(buf[j] == 0xa5);

		/* The result parses as the tunnel packet. */
		CU_ASSERT_FATAL(lp_pkt_parse(start, (uint32_t)wlen, &om) == LP_DROP_NONE);
		CU_ASSERT(om.cls == LP_PKT_OTHER && om.key.family == odst.family);
		CU_ASSERT(om.key.proto == (m.key.family == 4 ? 4 : 41));
		CU_ASSERT(memcmp(om.key.src, osrc.a, 16) == 0 && memcmp(om.key.dst, odst.a, 16) == 0);
		CU_ASSERT(om.l3_len == elen + m.l3_len && om.ttl == ttl && om.l4_off == m.l3_off + elen);
		CU_ASSERT(om.flags == ((m.flags & LP_PKT_F_VLAN) | (odst.family == 4 && rd16(start + m.l3_off + 6) & 0x4000 ? LP_PKT_F_DF : 0)));
		if (odst.family == 4)
			CU_ASSERT(ref_ipv4_cksum(start + m.l3_off) == rd16(start + m.l3_off + 10));
	}
}

static void
test_encap_rejects(void)
{
	static const struct craft arp = { .ethertype = OV(0x0806) };
	static uint8_t buf[70000 + HEADROOM];
	struct lp_ip v4 = IP4(10, 0, 0, 1), v6 = IP6(0x20, 0x01, 1), none = { 0 };
	struct lp_pkt_meta m;
	struct crafted x;
	uint8_t before[64];
	size_t len;

	len = craft(&(struct craft){ TCP4 }, buf + HEADROOM, &x);
	CU_ASSERT_FATAL(lp_pkt_parse(buf + HEADROOM, (uint32_t)len, &m) == LP_DROP_NONE);
	memcpy(before, buf + HEADROOM, sizeof(before));
	CU_ASSERT(lp_pkt_encap(buf + HEADROOM, &m, &v4, &v6, 64, 0) == NULL);
	CU_ASSERT(lp_pkt_encap(buf + HEADROOM, &m, &none, &none, 64, 0) == NULL);
	CU_ASSERT(memcmp(before, buf + HEADROOM, sizeof(before)) == 0);

	len = craft(&arp, buf + HEADROOM, &x);
	CU_ASSERT_FATAL(lp_pkt_parse(buf + HEADROOM, (uint32_t)len, &m) == LP_DROP_NONE);
	memcpy(before, buf + HEADROOM, len);
	CU_ASSERT(lp_pkt_encap(buf + HEADROOM, &m, &v4, &v4, 64, 0) == NULL);
	/* ARP meta carries an IPv4 key; the rewrites must still leave the frame alone. */
	lp_pkt_dnat(buf + HEADROOM, &m, v4.a, 1);
	lp_pkt_snat(buf + HEADROOM, &m, v4.a, 1);
	CU_ASSERT(!lp_pkt_dec_ttl(buf + HEADROOM, &m));
	CU_ASSERT(memcmp(before, buf + HEADROOM, len) == 0);

	/* 65535 bytes of IPv4 cannot grow by 20 more; inside IPv6 it fits. */
	{
		static uint8_t f[70000];
		size_t l2 = 14;

		memset(f, 0, sizeof(f));
		memcpy(f + 12, "\x08\x00", 2);
		f[l2] = 0x45;
		wr16(f + l2 + 2, 65535);
		f[l2 + 8] = 64;
		f[l2 + 9] = 253;
		memcpy(f + l2 + 12, v4.a, 4);
		CU_ASSERT_FATAL(lp_pkt_parse(f, 14 + 65535, &m) == LP_DROP_NONE);
		memcpy(buf + HEADROOM, f, 14 + 65535);
		CU_ASSERT(lp_pkt_encap(buf + HEADROOM, &m, &v4, &v4, 64, 0) == NULL);
		CU_ASSERT(lp_pkt_encap(buf + HEADROOM, &m, &v6, &v6, 64, 0) == buf + HEADROOM - 40);
		CU_ASSERT(rd16(buf + HEADROOM - 40 + 14 + 4) == 65535);
	}
}

/* ---- ICMP errors steered to a NAT backend ---- */

struct icmp_err_case {
	const char *desc;
	uint8_t family;
	uint8_t vlans;
	uint8_t opt_len;	/* outer IPv4 options */
	uint8_t quote_proto;
	uint8_t quote_opt;	/* quoted IPv4 options */
	uint8_t n_ext;		/* quoted IPv6 extension headers (destination options) */
	uint16_t quote_cut;	/* quoted L4 bytes (0: the whole quoted packet) */
	bool quote_nocsum;	/* quoted UDP without checksum */
	uint8_t type, code;
};

static const struct icmp_err_case icmp_err_cases[] = {
	{ "v4 frag-needed quoting TCP, 8 bytes of it", 4, 0, 0, IPPROTO_TCP, 0, 0, 8, false, 3, 4 },
	{ "v4 frag-needed quoting the whole TCP segment", 4, 0, 0, IPPROTO_TCP, 0, 0, 0, false, 3, 4 },
	{ "v4 port unreachable quoting UDP", 4, 0, 0, IPPROTO_UDP, 0, 0, 8, false, 3, 3 },
	{ "v4 time exceeded, UDP quote without checksum", 4, 0, 0, IPPROTO_UDP, 0, 0, 0, true, 11, 0 },
	{ "v4 with a VLAN tag and outer options", 4, 1, 8, IPPROTO_TCP, 0, 0, 8, false, 3, 4 },
	{ "v4 quote with IPv4 options", 4, 0, 0, IPPROTO_TCP, 12, 0, 8, false, 3, 4 },
	{ "v6 packet too big quoting TCP", 6, 0, 0, IPPROTO_TCP, 0, 0, 8, false, 2, 0 },
	{ "v6 destination unreachable quoting UDP, VLAN", 6, 1, 0, IPPROTO_UDP, 0, 0, 0, false, 1, 4 },
	{ "v6 quote with an extension header", 6, 0, 0, IPPROTO_TCP, 0, 1, 8, false, 2, 0 },
};

/* Byte i of an ICMP error is one lp_pkt_icmp_error_dnat() may change. */
static bool
icmp_err_changes(const struct lp_pkt_meta *m, size_t i)
{
	size_t ip = m->l3_off, in = m->inner_l3_off, alen = m->key.family == LP_AF_INET ? 4 : 16;
	size_t dst = ip + (alen == 4 ? 16 : 24), src_in = in + (alen == 4 ? 12 : 8);

	return (i >= dst && i < dst + alen) || (i >= src_in && i < src_in + alen) ||
	       (i >= m->inner_l4_off && i < m->inner_l4_off + 2u) ||		/* quoted source port */
	       (i >= m->l4_off + 2u && i < m->l4_off + 4u) ||			/* ICMP checksum */
	       (alen == 4 && i >= ip + 10 && i < ip + 12) ||			/* outer IPv4 checksum */
	       (alen == 4 && i >= in + 10 && i < in + 12);			/* quoted IPv4 checksum */
}

static void
test_icmp_error_dnat(void)
{
	static uint8_t a[FRAME_MAX], orig[FRAME_MAX];

	rng_state = 18;
	for (size_t t = 0; t < sizeof(icmp_err_cases) / sizeof(icmp_err_cases[0]); t++) {
		const struct icmp_err_case *tc = &icmp_err_cases[t];
		struct craft q = { .family = tc->family, .proto = tc->quote_proto, .sport = 80, .dport = 51000,
				   .opt_len = tc->quote_opt, .udp_nocsum = tc->quote_nocsum, .payload = 100 };
		struct craft c = { .family = tc->family, .vlans = tc->vlans, .tci = 7, .opt_len = tc->opt_len,
				   .proto = tc->family == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6, .icmp_type = tc->type,
				   .icmp_code = tc->code, .icmp_seq = 1400, .quote = &q };
		struct lp_ip be = tc->family == 4 ? (struct lp_ip)IP4(10, 1, 0, 11) : (struct lp_ip)IP6(0xfd, 0, 0x11);
		struct lp_pkt_meta m, after;
		struct crafted x;
		size_t len, hl;

		rnd_addr(tc->family, &q.src);	/* the VIP */
		rnd_addr(tc->family, &q.dst);	/* the client */
		c.src = q.dst;			/* a router on the client's side */
		c.dst = q.src;
		for (unsigned int e = 0; e < tc->n_ext; e++)
			q.ext[q.n_ext++] = (struct ext6)DST;
		if (tc->quote_cut != 0) {
			hl = (tc->family == 4 ? 20u + tc->quote_opt : 40u + 8u * tc->n_ext);
			c.quote_cut = (uint16_t)(hl + tc->quote_cut);
		}
		len = craft(&c, a, &x);
		CU_ASSERT_FATAL(lp_pkt_parse(a, (uint32_t)len, &m) == LP_DROP_NONE);
		CASE_ASSERT(tc->desc, m.cls == LP_PKT_ICMP_ERR);
		memcpy(orig, a, len);

		lp_pkt_icmp_error_dnat(a, &m, be.a, htons(8080));

		/* As if the backend had sent the quoted packet: the error is now for it. */
		CASE_ASSERT(tc->desc, lp_pkt_parse(a, (uint32_t)len, &after) == LP_DROP_NONE);
		CASE_ASSERT(tc->desc, memcmp(after.key.dst, be.a, 16) == 0);
		CASE_ASSERT(tc->desc, memcmp(after.key.src, m.key.src, 16) == 0);
		CASE_ASSERT(tc->desc, memcmp(after.inner.src, be.a, 16) == 0);
		CASE_ASSERT(tc->desc, after.inner.sport == htons(8080));
		CASE_ASSERT(tc->desc, after.inner.dport == m.inner.dport);
		CASE_ASSERT(tc->desc, memcmp(after.inner.dst, m.inner.dst, 16) == 0);
		/* Every checksum limpet is responsible for is right. */
		if (tc->family == 4) {
			CASE_ASSERT(tc->desc, ref_ipv4_cksum(a + m.l3_off) == rd16(a + m.l3_off + 10));
			CASE_ASSERT(tc->desc, ref_ipv4_cksum(a + m.inner_l3_off) == rd16(a + m.inner_l3_off + 10));
		}
		CASE_ASSERT(tc->desc, ref_l4_cksum(tc->family, a + m.l3_off + (tc->family == 4 ? 12 : 8),
						   a + m.l3_off + (tc->family == 4 ? 16 : 24),
						   m.key.proto, a + m.l4_off, m.l3_off + m.l3_len - m.l4_off,
						   2) == rd16(a + m.l4_off + 2));
		/* Nothing else changed (the quote's own L4 checksum included). */
		for (size_t i = 0; i < len; i++)
			if (!icmp_err_changes(&m, i) && a[i] != orig[i]) {
				CASE_ASSERT(tc->desc, a[i] == orig[i]);
				printf("    byte %zu changed\n", i);
				break;
			}
	}
}

static void
test_icmp_error_dnat_ignores_others(void)
{
	static uint8_t a[FRAME_MAX], orig[FRAME_MAX];
	struct lp_ip be = IP4(10, 1, 0, 11);
	struct lp_pkt_meta m;
	struct crafted x;
	size_t len = craft(&(struct craft){ TCP4, .payload = 20 }, a, &x);

	CU_ASSERT_FATAL(lp_pkt_parse(a, (uint32_t)len, &m) == LP_DROP_NONE);
	memcpy(orig, a, len);
	lp_pkt_icmp_error_dnat(a, &m, be.a, htons(8080));
	CU_ASSERT(memcmp(a, orig, len) == 0);
}

/* ---- tunnel outer source ---- */

struct tunnel_src_case {
	const char *desc;
	const char *prefix;	/* tunnelSource */
	const char *client;
	uint16_t sport;
};

static const struct tunnel_src_case tunnel_src_cases[] = {
	{ "IPv4 /16: host bits vary", "172.31.0.0/16", "198.51.100.7", 40000 },
	{ "IPv4 /24", "172.31.5.0/24", "198.51.100.8", 1 },
	{ "IPv4 /32: the prefix itself", "172.31.5.9/32", "198.51.100.9", 2 },
	{ "IPv4 /0: all host bits", "0.0.0.0/0", "198.51.100.10", 3 },
	{ "IPv4 /20: a partial byte", "172.31.16.0/20", "198.51.100.11", 4 },
	{ "IPv6 /64", "fd00:7c::/64", "2001:db8::7", 40000 },
	{ "IPv6 /128: the prefix itself", "fd00:7c::5/128", "2001:db8::8", 5 },
	{ "IPv6 /61: a partial byte", "fd00:7c::/61", "2001:db8::9", 6 },
};

static void
mask_of(uint8_t *mask, unsigned int bytes, unsigned int len)
{
	for (unsigned int i = 0; i < bytes; i++)
		mask[i] = len >= 8 * (i + 1) ? 0xff : len <= 8 * i ? 0 : (uint8_t)(0xff00u >> (len - 8 * i));
}

static void
test_tunnel_src(void)
{
	for (size_t t = 0; t < sizeof(tunnel_src_cases) / sizeof(tunnel_src_cases[0]); t++) {
		const struct tunnel_src_case *tc = &tunnel_src_cases[t];
		struct lp_flow_key k = { 0 };
		struct lp_ip pfx, client, src, again, other;
		uint8_t mask[16], len;
		unsigned int bytes, host_bits, differ = 0;
		uint32_t h;

		CU_ASSERT_FATAL(lp_ip_prefix_parse(tc->prefix, &pfx, &len) == 0);
		CU_ASSERT_FATAL(lp_ip_parse(tc->client, &client) == 0);
		bytes = lp_ip_len(&pfx);
		host_bits = 8 * bytes - len;
		mask_of(mask, bytes, len);
		memcpy(k.src, client.a, 16);
		k.family = client.family;
		k.sport = htons(tc->sport);

		h = lp_pkt_tunnel_src(&k, pfx.a, mask, pfx.family, &src);
		CASE_ASSERT(tc->desc, src.family == pfx.family);
		/* The prefix's bits are kept; nothing beyond the family's length is set. */
		for (unsigned int i = 0; i < bytes; i++)
			CASE_ASSERT(tc->desc, (src.a[i] & mask[i]) == (pfx.a[i] & mask[i]));
		CASE_ASSERT(tc->desc, all_zero(src.a + bytes, 16 - bytes));
		if (host_bits == 0)
			CASE_ASSERT(tc->desc, memcmp(src.a, pfx.a, 16) == 0);
		/* The flow label / ID entropy is the client's hash, as encapsulation uses it. */
		CASE_ASSERT(tc->desc, h == lp_hash_bytes(k.src, 16, k.sport));
		/* One client and port: one source, whatever the destination or the call. */
		k.dport = 1234;
		memset(k.dst, 0x5a, 16);
		lp_pkt_tunnel_src(&k, pfx.a, mask, pfx.family, &again);
		CASE_ASSERT(tc->desc, memcmp(&again, &src, sizeof(src)) == 0);
		/* Other clients or ports spread over the host bits. */
		for (unsigned int p = 0; p < 16; p++) {
			k.sport = htons((uint16_t)(tc->sport + 1 + p));
			lp_pkt_tunnel_src(&k, pfx.a, mask, pfx.family, &other);
			differ += memcmp(other.a, src.a, 16) != 0;
		}
		if (host_bits >= 8)
			CASE_ASSERT(tc->desc, differ >= 15);
		else if (host_bits == 0)
			CASE_ASSERT(tc->desc, differ == 0);
	}
}

int
main(void)
{
	static const struct lp_test_case csum_cases[] = {
		{ "lp_csum_partial against the reference", test_csum_partial },
		{ "lp_ipv4_cksum known vector", test_ipv4_cksum_vector },
		{ "lp_ipv4_cksum_ok: right and wrong headers", test_ipv4_cksum_ok },
		{ "lp_csum_replace against full recomputation", test_csum_replace },
		{ "lp_csum_replace corner cases", test_csum_replace_corners },
		{ "full IPv4 and L4 checksums", test_full_cksums },
		{ NULL, NULL },
	};
	static const struct lp_test_case rewrite_cases[] = {
		{ "DNAT, random packets", test_dnat_random },
		{ "SNAT, random packets", test_snat_random },
		{ "TTL decrement, random packets", test_dec_ttl_random },
		{ "DNAT and TTL in one pass, random packets", test_dnat_fwd_random },
		{ "SNAT and TTL in one pass, random packets", test_snat_fwd_random },
		{ "ICMP error NAT to a backend", test_icmp_error_dnat },
		{ "ICMP error NAT leaves other packets alone", test_icmp_error_dnat_ignores_others },
		{ "tunnel outer source", test_tunnel_src },
		{ "UDP checksum zero cases", test_udp_cksum_zero_cases },
		{ "encapsulation, random packets", test_encap_random },
		{ "encapsulation refusals", test_encap_rejects },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "pkt_csum", NULL, NULL, csum_cases },
		{ "pkt_rewrite", NULL, NULL, rewrite_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
