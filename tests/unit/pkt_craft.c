/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The packet tests' frame crafter, PRNG and reference checksum (see
 * pkt_craft.h). Nothing here calls lib/pkt except lib_cksums_ok(), which
 * checks the library's checksum functions against a frame.
 */
#include <string.h>

#include "pkt_craft.h"

/* ---- deterministic PRNG (splitmix64) ---- */

uint64_t rng_state;

uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for test inputs. */
uint32_t
rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

void
rnd_bytes(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

void
rnd_addr(uint8_t family, struct lp_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = family;
	rnd_bytes(ip->a, family == 4 ? 4 : 16);
	/* Unicast: keeps a rewritten source acceptable to the parser. */
	ip->a[0] = family == 4 ? (uint8_t)(1 + rnd_below(126)) : 0x20;
}

/* ---- reference checksum: RFC 1071 over big-endian words, nothing clever ---- */

uint64_t
ref_add(uint64_t acc, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i += 2)
		acc += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
	return acc;
}

uint16_t
ref_fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)acc;
}

/* IPv4 header checksum (host order value) with bytes 10..11 left out. */
uint16_t
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
uint16_t
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

uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void
wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void
wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

/* ---- the crafter ---- */

uint32_t
ov(uint32_t field, uint32_t dflt)
{
	return field & 0x10000u ? field & 0xffffu : dflt;
}

const struct lp_ip def_src4 = IP4(198, 51, 100, 7), def_dst4 = IP4(203, 0, 113, 10);
static const struct lp_ip def_src6 = { LP_AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 7 } };
static const struct lp_ip def_dst6 = { LP_AF_INET6, { 0x20, 0x01, 0x0d, 0xb8, 0, 1, [15] = 0x10 } };

const struct lp_ip *
craft_src(const struct craft *c)
{
	if (c->src.family != 0)
		return &c->src;
	return c->family == 6 ? &def_src6 : &def_src4;
}

const struct lp_ip *
craft_dst(const struct craft *c)
{
	if (c->dst.family != 0)
		return &c->dst;
	return c->family == 6 ? &def_dst6 : &def_dst4;
}

static void
fill_payload(const struct craft *c, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = c->payload_bytes != NULL ? c->payload_bytes[i] : (uint8_t)(i * 37 + 11);
}

size_t
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
size_t
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

/* ---- checks shared by the tests ---- */

bool
all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* The frame's checksums agree with lp_ipv4_cksum() and lp_l4_cksum(). */
bool
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
