/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests of the packet core: parse, checksums, rewrites, encapsulation,
 * builders.
 *
 * Frames come from a crafter written here, independent of the library: it
 * lays out every header byte by byte and computes every checksum with a
 * plain RFC 1071 reference, and it can be told to get any field wrong. Parse
 * cases are tables {description, craft, expected verdict/class/fragment};
 * the rest of the expected metadata follows from the craft. Rewrites are
 * checked by crafting the expected packet from scratch and comparing whole
 * frames byte by byte, so a wrong byte anywhere, checksums included, fails.
 * Every parse runs on an exactly sized heap copy, so a sanitizer build
 * catches any read beyond the frame.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_pkt.h"
#include "lp_test.h"

#define FRAME_MAX 8192
#define HEADROOM 64
#define RANDOM_ROUNDS 4000

/* ---- assertions that name the failing case ---- */

#define CASE_ASSERT(desc, cond)                                                              \
	do {                                                                                 \
		bool ok_ = (cond);                                                           \
		CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);       \
		if (!ok_)                                                                    \
			printf("\n    case: %s\n", (desc));                                     \
	} while (0)

/* ---- deterministic PRNG (splitmix64) ---- */

static uint64_t rng_state;

static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for test inputs. */
static uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static void
rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* ---- reference checksum: RFC 1071 over big-endian words, nothing clever ---- */

static uint64_t
ref_add(uint64_t acc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		acc += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return acc;
}

static uint16_t
ref_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* IPv4 header checksum (host order value) with bytes 10..11 left out. */
static uint16_t
ref_ipv4_cksum(const uint8_t *ip)
{
	size_t hl = (ip[0] & 0x0fu) * 4;
	uint64_t acc = ref_add(0, ip, 10);

	acc = ref_add(acc, ip + 12, hl - 12);
	return (uint16_t)~ref_fold(acc);
}

/*
 * TCP/UDP/ICMP/ICMPv6 checksum (host order) of seg[0..len) with the
 * checksum at ck_off left out; ICMPv4 has no pseudo header; UDP's zero is
 * sent as 0xffff.
 */
static uint16_t
ref_l4_cksum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto, const uint8_t *seg,
	     size_t len, size_t ck_off)
{
	size_t alen = family == 4 ? 4 : 16;
	uint64_t acc = 0;
	uint16_t ck;

	if (!(family == 4 && proto == IPPROTO_ICMP)) {
		acc = ref_add(acc, src, alen);
		acc = ref_add(acc, dst, alen);
		acc += proto;
		acc += (len >> 16) + (len & 0xffff);
	}
	acc = ref_add(acc, seg, ck_off);
	acc = ref_add(acc, seg + ck_off + 2, len - ck_off - 2);
	ck = (uint16_t)~ref_fold(acc);
	if (proto == IPPROTO_UDP && ck == 0)
		ck = 0xffff;
	return ck;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* ---- the crafter ---- */

/* A field set with OV(x) overrides what the crafter would write; 0 means "correct". */
#define OV(x) (0x10000u | (uint32_t)(x))

static uint32_t
ov(uint32_t field, uint32_t dflt)
{
	return field & 0x10000u ? field & 0xffffu : dflt;
}

#define IP4(w, x, y, z) { .family = LP_AF_INET, .a = { w, x, y, z } }
#define IP6(b0, b1, b15) { .family = LP_AF_INET6, .a = { [0] = b0, [1] = b1, [15] = b15 } }

static const struct lp_ip def_src4 = IP4(198, 51, 100, 7), def_dst4 = IP4(203, 0, 113, 10);
static const struct lp_ip def_src6 = { LP_AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 } };
static const struct lp_ip def_dst6 = { LP_AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 } };

struct ext6 {
	uint8_t type;		/* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS or _FRAGMENT */
	uint8_t len8;		/* header extension length field (not for fragment) */
	uint8_t rt_type;	/* routing type */
	uint8_t segs_left;	/* routing: segments left */
	uint16_t frag_off;	/* fragment: offset in 8-byte units */
	bool more;		/* fragment: M flag */
};

struct craft {
	uint8_t vlans;		/* 802.1Q tags: 0, 1 or 2 */
	uint16_t tci;
	uint32_t ethertype;	/* OV */
	uint8_t family;		/* 4, 6; 0 with ethertype ARP: an ARP frame */
	uint32_t version;	/* OV */
	uint32_t ihl;		/* OV */
	uint8_t opt_len;	/* IPv4 option bytes, a multiple of 4 */
	uint16_t frag;		/* IPv4 flags and fragment offset, host order */
	uint8_t tos;		/* IPv4 TOS / IPv6 traffic class */
	uint16_t ip_id;
	uint8_t ttl;		/* 0 → 64 */
	struct lp_ip src, dst;	/* family 0 → defaults */
	uint8_t n_ext;
	struct ext6 ext[10];
	uint8_t proto;
	uint16_t sport, dport;
	uint32_t tcp_flags;	/* OV; default ACK */
	uint32_t tcp_doff;	/* OV */
	uint8_t tcp_opt;	/* TCP option bytes, a multiple of 4 */
	uint32_t udp_len;	/* OV */
	bool udp_nocsum;
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_id, icmp_seq;	/* ICMP bytes 4..7 */
	const struct craft *quote;	/* ICMP error: the quoted packet */
	uint16_t quote_cut;	/* quote only this many bytes of it */
	uint16_t payload;	/* bytes after the L4 header (all of it for a non-first fragment) */
	const uint8_t *payload_bytes;	/* NULL: a fixed pattern */
	uint32_t l3_len;	/* OV: IPv4 total length / IPv6 payload length as written */
	uint16_t ip_cut;	/* the IP packet ends here, and its length field says so */
	uint16_t frag_data;	/* first fragment: L4 bytes carried (checksum covers the whole) */
	uint32_t frame_cut;	/* OV: the frame ends here, length fields unchanged */
	uint16_t pad;		/* Ethernet padding after the IP packet */
	uint32_t arp_htype, arp_ptype, arp_hlen, arp_plen;	/* OV */
	uint16_t arp_op;
};

/* What the crafter laid out, for the expectations. */
struct crafted {
	size_t len;		/* frame length */
	uint16_t l3_off;
	uint16_t l3_len;	/* IP packet bytes, as the length field says when not overridden */
	uint16_t hl;		/* IP header with options / extension headers */
	uint16_t l4_off;	/* 0 for a non-first fragment */
	uint16_t inner_l3, inner_l4;	/* relative to the IP header; 0 without quote */
	uint8_t key_proto;	/* the protocol the key should carry */
	bool later;		/* non-first fragment */
};

static const struct lp_ip *
craft_src(const struct craft *c)
{
	if (c->src.family != 0)
		return &c->src;
	return c->family == 6 ? &def_src6 : &def_src4;
}

static const struct lp_ip *
craft_dst(const struct craft *c)
{
	if (c->dst.family != 0)
		return &c->dst;
	return c->family == 6 ? &def_dst6 : &def_dst4;
}

static bool
craft_is_echo(const struct craft *c)
{
	if (c->family == 4 && c->proto == IPPROTO_ICMP)
		return c->icmp_type == 0 || c->icmp_type == 8;
	if (c->family == 6 && c->proto == IPPROTO_ICMPV6)
		return c->icmp_type == 128 || c->icmp_type == 129;
	return false;
}

static void
fill_payload(const struct craft *c, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = c->payload_bytes != NULL ? c->payload_bytes[i] : (uint8_t)(i * 37 + 11);
}

/* The IP packet (no L2) at out; returns its length. */
static size_t
craft_ip(const struct craft *c, uint8_t *out, struct crafted *x)
{
	const struct lp_ip *src = craft_src(c), *dst = craft_dst(c);
	bool v6 = c->family == 6;
	size_t hl, seg_len, pkt_len, ck_off = 0;
	uint8_t *l4, proto_after_frag = c->proto;
	bool later = false, l4_cksum = true;

	memset(x, 0, sizeof(*x));
	if (v6) {
		hl = 40;
		for (unsigned int i = 0; i < c->n_ext; i++) {
			const struct ext6 *e = &c->ext[i];

			if (e->type == IPPROTO_FRAGMENT) {
				later |= e->frag_off != 0;
				proto_after_frag = i + 1 < c->n_ext ? c->ext[i + 1].type : c->proto;
				hl += 8;
			} else {
				hl += (e->len8 + 1u) * 8;
			}
		}
	} else {
		hl = 20 + c->opt_len;
		later = (c->frag & 0x1fff) != 0;
	}
	x->hl = (uint16_t)hl;
	x->later = later;
	x->key_proto = later ? proto_after_frag : c->proto;

	l4 = out + hl;
	if (later) {
		fill_payload(c, l4, c->payload);
		seg_len = c->payload;
		l4_cksum = false;
	} else if (c->proto == IPPROTO_TCP) {
		size_t th = 20 + c->tcp_opt;

		memset(l4, 0, th);
		wr16(l4, c->sport);
		wr16(l4 + 2, c->dport);
		wr32(l4 + 4, 0x01020304);
		wr32(l4 + 8, 0x0a0b0c0d);
		l4[12] = (uint8_t)(ov(c->tcp_doff, (uint32_t)th / 4) << 4);
		l4[13] = (uint8_t)ov(c->tcp_flags, LP_TCP_ACK);
		wr16(l4 + 14, 29200);
		memset(l4 + 20, 1, c->tcp_opt);	/* NOP options */
		fill_payload(c, l4 + th, c->payload);
		seg_len = th + c->payload;
		ck_off = 16;
	} else if (c->proto == IPPROTO_UDP) {
		seg_len = 8u + c->payload;
		wr16(l4, c->sport);
		wr16(l4 + 2, c->dport);
		wr16(l4 + 4, ov(c->udp_len, (uint32_t)seg_len));
		wr16(l4 + 6, 0);
		fill_payload(c, l4 + 8, c->payload);
		ck_off = 6;
		l4_cksum = !c->udp_nocsum;
	} else if ((c->proto == IPPROTO_ICMP && !v6) || (c->proto == IPPROTO_ICMPV6 && v6)) {
		l4[0] = c->icmp_type;
		l4[1] = c->icmp_code;
		wr16(l4 + 2, 0);
		wr16(l4 + 4, c->icmp_id);
		wr16(l4 + 6, c->icmp_seq);
		seg_len = 8;
		if (c->quote != NULL) {
			struct crafted qx;
			size_t qlen = craft_ip(c->quote, l4 + 8, &qx);

			if (c->quote_cut != 0)
				qlen = c->quote_cut;
			x->inner_l3 = (uint16_t)(hl + 8);
			x->inner_l4 = (uint16_t)(hl + 8 + qx.hl);
			seg_len += qlen;
		}
		fill_payload(c, l4 + seg_len, c->payload);
		seg_len += c->payload;
		ck_off = 2;
	} else {
		fill_payload(c, l4, c->payload);
		seg_len = c->payload;
		l4_cksum = false;
	}
	if (l4_cksum) {
		/* UDP covers what its length says when that is shorter than what IP carries. */
		size_t ck_len = c->proto == IPPROTO_UDP && ov(c->udp_len, 0xffff) < seg_len &&
				ov(c->udp_len, 0) >= 8 ? ov(c->udp_len, 0) : seg_len;
		uint16_t ck = ref_l4_cksum(c->family, src->a, dst->a, c->proto, l4, ck_len, ck_off);

		wr16(l4 + ck_off, ck);
	}

	pkt_len = hl + (c->frag_data != 0 ? c->frag_data : seg_len);
	if (c->ip_cut != 0)
		pkt_len = c->ip_cut;
	x->l3_len = (uint16_t)pkt_len;
	x->l4_off = later || hl == pkt_len ? 0 : (uint16_t)hl;

	if (v6) {
		uint8_t *e = out + 40;

		wr32(out, ov(c->version, 6) << 28 | (uint32_t)c->tos << 20 | 0x12345);
		wr16(out + 4, ov(c->l3_len, (uint32_t)pkt_len - 40));
		out[6] = c->n_ext != 0 ? c->ext[0].type : c->proto;
		out[7] = c->ttl != 0 ? c->ttl : 64;
		memcpy(out + 8, src->a, 16);
		memcpy(out + 24, dst->a, 16);
		for (unsigned int i = 0; i < c->n_ext; i++) {
			const struct ext6 *h = &c->ext[i];
			uint8_t next = i + 1 < c->n_ext ? c->ext[i + 1].type : c->proto;

			e[0] = next;
			if (h->type == IPPROTO_FRAGMENT) {
				e[1] = 0;
				wr16(e + 2, (uint32_t)h->frag_off << 3 | h->more);
				wr32(e + 4, 0xdeadbeef);
				e += 8;
				continue;
			}
			e[1] = h->len8;
			if (h->type == IPPROTO_ROUTING) {
				e[2] = h->rt_type;
				e[3] = h->segs_left;
				memset(e + 4, 0, (h->len8 + 1u) * 8 - 4);
			} else {
				/* One PadN option fills the header (RFC 8200 4.2). */
				e[2] = 1;
				e[3] = (uint8_t)((h->len8 + 1u) * 8 - 4);
				memset(e + 4, 0, e[3]);
			}
			e += (h->len8 + 1u) * 8;
		}
	} else {
		out[0] = (uint8_t)(ov(c->version, 4) << 4 | ov(c->ihl, (uint32_t)hl / 4));
		out[1] = c->tos;
		wr16(out + 2, ov(c->l3_len, (uint32_t)pkt_len));
		wr16(out + 4, c->ip_id);
		wr16(out + 6, c->frag);
		out[8] = c->ttl != 0 ? c->ttl : 64;
		out[9] = c->proto;
		wr16(out + 10, 0);
		memcpy(out + 12, src->a, 4);
		memcpy(out + 16, dst->a, 4);
		memset(out + 20, 1, c->opt_len);	/* NOP options */
		if ((out[0] & 0x0f) >= 5 && (out[0] & 0x0f) * 4u <= 20u + c->opt_len)
			wr16(out + 10, ref_ipv4_cksum(out));
	}
	return pkt_len;
}

static void
craft_arp(const struct craft *c, uint8_t *a)
{
	wr16(a, ov(c->arp_htype, 1));
	wr16(a + 2, ov(c->arp_ptype, 0x0800));
	a[4] = (uint8_t)ov(c->arp_hlen, 6);
	a[5] = (uint8_t)ov(c->arp_plen, 4);
	wr16(a + 6, c->arp_op ? c->arp_op : 1);
	memcpy(a + 8, "\x02\x00\x00\x00\x00\x01", 6);
	memcpy(a + 14, def_src4.a, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, def_dst4.a, 4);
}

/* The whole frame into out (FRAME_MAX bytes). */
static size_t
craft(const struct craft *c, uint8_t *out, struct crafted *x)
{
	uint32_t type = c->family == 6 ? 0x86dd : c->family == 4 ? 0x0800 : 0x0806;
	size_t l2 = 14, pkt_len;

	memset(out, 0, FRAME_MAX);
	memcpy(out, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
	for (unsigned int i = 0; i < c->vlans; i++) {
		wr16(out + l2 - 2, 0x8100);
		wr16(out + l2, c->tci);
		l2 += 4;
	}
	wr16(out + l2 - 2, ov(c->ethertype, type));
	if (c->family == 0) {
		memset(x, 0, sizeof(*x));
		craft_arp(c, out + l2);
		pkt_len = 28;
		x->l3_len = 28;
	} else {
		pkt_len = craft_ip(c, out + l2, x);
	}
	x->l3_off = (uint16_t)l2;
	if (x->l4_off != 0)
		x->l4_off = (uint16_t)(x->l4_off + l2);
	x->len = l2 + pkt_len + c->pad;
	if (c->frame_cut != 0)
		x->len = ov(c->frame_cut, 0);
	return x->len;
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

static bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
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

/* The frame's checksums agree with lp_ipv4_cksum() and lp_l4_cksum(). */
static bool
lib_cksums_ok(const uint8_t *f, const struct lp_pkt_meta *m, bool udp_nocsum)
{
	const uint8_t *ip = f + m->l3_off;
	uint16_t stored, ck;

	if (m->key.family == 4) {
		ck = lp_ipv4_cksum(ip);
		if (memcmp(&ck, ip + 10, 2) != 0)
			return false;
	}
	if (m->frag != LP_FRAG_NONE || m->cls == LP_PKT_OTHER || udp_nocsum)
		return true;
	ck = lp_l4_cksum(f, m);
	memcpy(&stored, f + m->l4_off + (m->cls != LP_PKT_L4 ? 2 : m->key.proto == IPPROTO_TCP ? 16 : 6), 2);
	return ck == stored;
}

/* ---- parse tables ---- */

struct pcase {
	const char *desc;
	struct craft c;
	enum lp_drop verdict;
	enum lp_pkt_class cls;
	enum lp_frag frag;
};

#define TCP4 .family = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define UDP4 .family = 4, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define TCP6 .family = 6, .proto = IPPROTO_TCP, .sport = 40001, .dport = 443
#define UDP6 .family = 6, .proto = IPPROTO_UDP, .sport = 5354, .dport = 4789
#define ICMP4 .family = 4, .proto = IPPROTO_ICMP
#define ICMP6 .family = 6, .proto = IPPROTO_ICMPV6
#define HBH { .type = IPPROTO_HOPOPTS }
#define DST { .type = IPPROTO_DSTOPTS }
#define DST2 { .type = IPPROTO_DSTOPTS, .len8 = 2 }
#define RT(t, s) { .type = IPPROTO_ROUTING, .len8 = 2, .rt_type = t, .segs_left = s }
#define FRAG(o, m) { .type = IPPROTO_FRAGMENT, .frag_off = o, .more = m }

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
rnd_addr(uint8_t family, struct lp_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	rnd_bytes(ip->a, family == 4 ? 4 : 16);
	/* Unicast: keeps a rewritten source acceptable to the parser. */
	ip->a[0] = family == 4 ? (uint8_t)(1 + rnd_below(126)) : 0x20;
}

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

enum rewrite_op { OP_DNAT, OP_SNAT, OP_TTL };

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

/* ---- builders ---- */

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
	static const struct lp_test_case parse_cases[] = {
		{ "valid frames, every header combination", test_parse_valid },
		{ "malformed frames, one reason each", test_parse_malformed },
		{ "ARP", test_parse_arp },
		{ "TCP flags: all 256 values", test_tcp_flags_all },
		{ "every truncation refused", test_truncation_sweep },
		{ "metadata spelled out", test_parse_spot_checks },
		{ NULL, NULL },
	};
	static const struct lp_test_case csum_cases[] = {
		{ "lp_csum_partial against the reference", test_csum_partial },
		{ "lp_ipv4_cksum known vector", test_ipv4_cksum_vector },
		{ "lp_csum_replace against full recomputation", test_csum_replace },
		{ "lp_csum_replace corner cases", test_csum_replace_corners },
		{ "full IPv4 and L4 checksums", test_full_cksums },
		{ NULL, NULL },
	};
	static const struct lp_test_case rewrite_cases[] = {
		{ "DNAT, random packets", test_dnat_random },
		{ "SNAT, random packets", test_snat_random },
		{ "TTL decrement, random packets", test_dec_ttl_random },
		{ "UDP checksum zero cases", test_udp_cksum_zero_cases },
		{ "encapsulation, random packets", test_encap_random },
		{ "encapsulation refusals", test_encap_rejects },
		{ NULL, NULL },
	};
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
		{ "pkt_parse", NULL, NULL, parse_cases },
		{ "pkt_csum", NULL, NULL, csum_cases },
		{ "pkt_rewrite", NULL, NULL, rewrite_cases },
		{ "pkt_build", NULL, NULL, build_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
