/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * In-place rewrites of parsed frames: NAT of address and port, TTL, IP-in-IP
 * encapsulation. Checksums are updated incrementally (RFC 1624 eqn. 3), so
 * the cost does not grow with the payload; test_pkt_rewrite checks every result
 * against a full recomputation.
 */
#include <netinet/in.h>

#include "lp_pkt.h"
#include "pkt_priv.h"

enum nat_side { NAT_SRC = 0, NAT_DST = 1 };

/* The TTL is the first byte of its checksummed word (TTL, protocol): in a
 * word loaded in native order it is the low byte on a little-endian
 * machine, the high byte on a big-endian one. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TTL_ONE 0x0001u
#else
#define TTL_ONE 0x0100u
#endif

/*
 * Source address at 12 (IPv4) or 8 (IPv6), destination right after; ports
 * likewise. With @p ttl, the TTL / hop limit is decremented too, folded
 * into the same IPv4 header checksum update; false, before anything is
 * written, when it would reach zero.
 */
static inline bool
nat(uint8_t *frame, const struct lp_pkt_meta *m, enum nat_side side, const uint8_t *addr,
    uint16_t port, bool ttl)
{
	uint8_t *ip = frame + m->l3_off, *l4 = frame + m->l4_off, *a;
	uint64_t delta;

	/* ARP's meta has an IPv4 key too, but nothing of it is an IP header. */
	if (unlikely(m->cls == LP_PKT_ARP))
		return !ttl;
	if (m->key.family == LP_AF_INET) {
		uint64_t ip_delta;

		if (ttl && ip[8] <= 1)
			return false;
		a = ip + 12 + 4 * side;
		delta = csum_delta(a, addr, 4);
		ip_delta = delta;
		memcpy(a, addr, 4);
		if (ttl) {
			/* ~old + (old - TTL_ONE) is the same for every old. */
			store_raw16(ip + 8, (uint16_t)(load_raw16(ip + 8) - TTL_ONE));
			ip_delta += (uint16_t)~TTL_ONE;
		}
		store_raw16(ip + 10, csum_apply(load_raw16(ip + 10), ip_delta));
	} else if (m->key.family == LP_AF_INET6) {
		if (ttl && ip[7] <= 1)
			return false;
		a = ip + 8 + 16 * side;
		delta = csum_delta(a, addr, 16);
		memcpy(a, addr, 16);
		if (ttl)
			ip[7]--;
	} else {
		return !ttl;
	}

	switch (m->cls) {
	case LP_PKT_L4: {
		bool udp = m->key.proto == IPPROTO_UDP;
		uint8_t *p = l4 + 2 * side, *c = l4 + (udp ? 6 : 16);
		uint16_t old = load_raw16(p), cksum = load_raw16(c);

		store_raw16(p, port);
		/*
		 * Zero UDP checksum: none was computed (IPv4, RFC 768; IPv6
		 * tunnels, RFC 6935); inventing one would be wrong.
		 */
		if (udp && cksum == 0)
			break;
		delta += (uint16_t)~old + (uint64_t)port;
		cksum = csum_apply(cksum, delta);
		if (udp && cksum == 0)
			cksum = 0xffff;
		store_raw16(c, cksum);
		break;
	}
	case LP_PKT_ICMP:
	case LP_PKT_ICMP_ERR:
	case LP_PKT_ND:
		/* ICMPv6 sums a pseudo header; ICMPv4 does not, and the identifier stays. */
		if (m->key.family == LP_AF_INET6)
			store_raw16(l4 + 2, csum_apply(load_raw16(l4 + 2), delta));
		break;
	default:
		/* Non-first fragments and other protocols: the IP header is all there is. */
		break;
	}
	return true;
}

void
lp_pkt_dnat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port)
{
	nat(frame, m, NAT_DST, addr, port, false);
}

void
lp_pkt_snat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port)
{
	nat(frame, m, NAT_SRC, addr, port, false);
}

bool
lp_pkt_dnat_fwd(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port)
{
	return nat(frame, m, NAT_DST, addr, port, true);
}

bool
lp_pkt_snat_fwd(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port)
{
	return nat(frame, m, NAT_SRC, addr, port, true);
}

bool
lp_pkt_dec_ttl(uint8_t *frame, const struct lp_pkt_meta *m)
{
	uint8_t *ip = frame + m->l3_off;

	if (unlikely(m->cls == LP_PKT_ARP))
		return false;
	if (m->key.family == LP_AF_INET) {
		if (ip[8] <= 1)
			return false;
		store_raw16(ip + 8, (uint16_t)(load_raw16(ip + 8) - TTL_ONE));
		store_raw16(ip + 10, csum_apply(load_raw16(ip + 10), (uint16_t)~TTL_ONE));
		return true;
	}
	if (m->key.family == LP_AF_INET6) {
		if (ip[7] <= 1)
			return false;
		ip[7]--;
		return true;
	}
	return false;
}

/* ICMP or ICMPv6 checksum of the message at m->l4_off, computed afresh. */
static void
icmp_cksum_fill(uint8_t *frame, const struct lp_pkt_meta *m)
{
	const uint8_t *ip = frame + m->l3_off;
	uint8_t *icmp = frame + m->l4_off;
	uint32_t len = m->l3_len - (uint32_t)(m->l4_off - m->l3_off);
	bool v6 = m->key.family == LP_AF_INET6;

	store_raw16(icmp + 2, lp_pkt_l4_cksum_raw(icmp, len, 2, v6, ip + 8, ip + 24, 16, m->key.proto));
}

void
lp_pkt_icmp_error_dnat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port)
{
	uint8_t *ip = frame + m->l3_off, *in = frame + m->inner_l3_off;

	if (m->cls != LP_PKT_ICMP_ERR)
		return;
	if (m->key.family == LP_AF_INET) {
		memcpy(ip + 16, addr, 4);
		store_raw16(ip + 10, lp_ipv4_cksum(ip));
		memcpy(in + 12, addr, 4);
		store_raw16(in + 10, lp_ipv4_cksum(in));
	} else {
		memcpy(ip + 24, addr, 16);
		memcpy(in + 8, addr, 16);
	}
	/* The quoted packet's source port: the first bytes of a TCP or UDP
	 * header, and what the parser took for the quote's key. */
	if (m->inner.proto == IPPROTO_TCP || m->inner.proto == IPPROTO_UDP)
		memcpy(frame + m->inner_l4_off, &port, 2);
	icmp_cksum_fill(frame, m);
}

uint32_t
lp_pkt_tunnel_src(const struct lp_flow_key *client, const uint8_t *prefix, const uint8_t *mask,
		  uint8_t family, struct lp_ip *src)
{
	uint32_t h = lp_hash_bytes(client->src, 16, client->sport), x = h;
	unsigned int n = family == LP_AF_INET ? 4 : 16;
	uint8_t hb[16];

	/* Host bits from the client's address and port: the backend's NIC
	 * spreads different clients over its RSS queues while one client
	 * stays on one. */
	for (int i = 0; i < 4; i++) {
		memcpy(hb + 4 * i, &x, 4);
		x = x * 0x9e3779b1u + 1;
	}
	memset(src, 0, sizeof(*src));
	src->family = family;
	for (unsigned int i = 0; i < n; i++)
		src->a[i] = (uint8_t)((prefix[i] & mask[i]) | (hb[i] & ~mask[i]));
	return h;
}

uint8_t *
lp_pkt_encap(uint8_t *frame, const struct lp_pkt_meta *m, const struct lp_ip *outer_src,
	     const struct lp_ip *outer_dst, uint8_t ttl, uint32_t flow_hash)
{
	const uint8_t *in = frame + m->l3_off;
	bool inner4 = m->key.family == LP_AF_INET, outer4 = outer_dst->family == LP_AF_INET;
	uint8_t tos, proto, *start, *o;

	if (outer_src->family != outer_dst->family || lp_ip_len(outer_dst) == 0 ||
	    (m->key.family != LP_AF_INET && m->key.family != LP_AF_INET6) || m->cls == LP_PKT_ARP)
		return NULL;
	if (outer4 && m->l3_len > UINT16_MAX - IPV4_HLEN)
		return NULL;
	tos = inner4 ? in[1] : (uint8_t)(in[0] << 4 | in[1] >> 4);
	proto = inner4 ? IPPROTO_IPIP : IPPROTO_IPV6;
	start = frame - LP_ENCAP_LEN(outer_dst->family);
	/*
	 * MAC addresses and the VLAN tag move (20 or 40 bytes forward, more
	 * than their 16: no overlap); the ethertype becomes the outer family's.
	 */
	memcpy(start, frame, 12);
	if (m->l3_off > ETH_HLEN)
		memcpy(start + 12, frame + 12, VLAN_HLEN);
	store_be16(start + m->l3_off - 2, outer4 ? ETHERTYPE_IPV4 : ETHERTYPE_IPV6);
	o = start + m->l3_off;
	if (outer4) {
		uint16_t w[5], id, frag;
		uint64_t sum;

		if (inner4) {
			/*
			 * RFC 2003: DF copied, so path MTU discovery keeps
			 * working through the tunnel; the inner ID varies per
			 * packet as an ID of a fragmentable datagram must.
			 */
			id = load_be16(in + 4);
			frag = load_be16(in + 6) & IPV4_DF;
		} else {
			/* IPv6 is never fragmented on the path (RFC 8200 5): DF, any ID (RFC 6864). */
			id = (uint16_t)flow_hash;
			frag = IPV4_DF;
		}
		w[0] = (uint16_t)(0x4500 | tos);
		w[1] = (uint16_t)(IPV4_HLEN + m->l3_len);
		w[2] = id;
		w[3] = frag;
		w[4] = (uint16_t)(ttl << 8 | proto);
		/*
		 * The checksum from the values, not by reading back the bytes just
		 * stored: narrow stores followed by wide loads defeat store forwarding.
		 */
		sum = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + load_be16(outer_src->a) +
		      load_be16(outer_src->a + 2) + load_be16(outer_dst->a) + load_be16(outer_dst->a + 2);
		for (int i = 0; i < 5; i++)
			store_be16(o + 2 * i, w[i]);
		store_be16(o + 10, (uint16_t)~csum_fold64(sum));
		memcpy(o + 12, outer_src->a, 4);
		memcpy(o + 16, outer_dst->a, 4);
	} else {
		/* The flow label gives the receiver's RSS per-flow entropy (RFC 6437). */
		store_be32(o, 6u << 28 | (uint32_t)tos << 20 | (flow_hash & 0xfffff));
		store_be16(o + 4, m->l3_len);
		o[6] = proto;
		o[7] = ttl;
		memcpy(o + 8, outer_src->a, 16);
		memcpy(o + 24, outer_dst->a, 16);
	}
	return start;
}
