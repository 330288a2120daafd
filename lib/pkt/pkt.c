/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame parser: Ethernet [one 802.1Q tag] / IPv4 | IPv6 / TCP | UDP | ICMP |
 * ICMPv6, and ARP.
 *
 * Shape: the common case (IPv4 without options, unfragmented, TCP or UDP) runs
 * straight through lp_pkt_parse() with one predictable branch per header.
 * IPv4 options, fragments, IPv6 extension headers, ICMP and ARP leave that
 * path for out-of-line helpers, so their code does not crowd the hot one.
 *
 * Every bounds check compares a needed length with the room that is left
 * (end - off, with off <= end an invariant), never off + untrusted length
 * with end, so no check can wrap.
 */
#include <endian.h>
#include <netinet/in.h>

#include "lp_pkt.h"
#include "pkt_priv.h"

#define noinline __attribute__((noinline))
#define always_inline inline __attribute__((always_inline))

/*
 * Bit f is set when the six classic TCP flags f (FIN..URG) are impossible:
 * none at all, SYN+FIN or SYN+RST (scans and stack fingerprinting, never a
 * real connection). test_pkt checks the constant against that rule for all
 * 64 values.
 */
#define TCP_BAD_FLAGS 0xc8c8c8c8c8c8c8c9ull

/* IPv6 extension headers limpet walks: hop-by-hop, routing, fragment, destination options. */
#define IPV6_EXT_MASK (1ull << IPPROTO_HOPOPTS | 1ull << IPPROTO_ROUTING | \
		       1ull << IPPROTO_FRAGMENT | 1ull << IPPROTO_DSTOPTS)

_Static_assert(IPV4_DF >> 13 == LP_PKT_F_DF, "DF bit shifts onto LP_PKT_F_DF");

static always_inline bool
is_ext6(uint8_t nh)
{
	return nh < 64 && ((IPV6_EXT_MASK >> nh) & 1);
}

/* Source 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 or 255.255.255.255. */
static always_inline bool
bad_src4(const uint8_t *a)
{
	/* One bit per first octet: 0, 127 and 224..239. */
	static const uint64_t bad_first[4] = { 1ull, 1ull << 63, 0, 0xffffull << 32 };
	uint32_t w;

	memcpy(&w, a, 4);
	return ((bad_first[a[0] >> 6] >> (a[0] & 63)) & 1) | (w == UINT32_MAX);
}

/* A first fragment must carry the whole fixed L4 header (RFC 1858 tiny fragments). */
static enum lp_drop
short_l4(const struct lp_pkt_meta *m)
{
	return m->frag == LP_FRAG_FIRST ? LP_DROP_BAD_FRAG : LP_DROP_TRUNCATED;
}

/* The IPv4 header when it is not the plain 0x45: version, IHL, options present. */
static noinline enum lp_drop
ipv4_hdr_check(const uint8_t *ip, uint32_t room)
{
	uint32_t hl = (ip[0] & 0x0fu) * 4;

	if (ip[0] >> 4 != 4)
		return LP_DROP_BAD_VERSION;
	if (hl < IPV4_HLEN)
		return LP_DROP_BAD_IHL;
	if (hl > room)
		return LP_DROP_TRUNCATED;
	return LP_DROP_NONE;
}

/*
 * Walk IPv6 extension headers from *off (header type *nh) up to the first
 * upper-layer header, or to the data of a non-first fragment. Used for the
 * packet itself and for the packet quoted in an ICMPv6 error.
 */
static noinline enum lp_drop
walk_ext6(const uint8_t *f, uint32_t *off, uint32_t end, uint8_t *nh, uint8_t *frag)
{
	uint32_t o = *off;
	uint8_t t = *nh;
	bool seen_frag = false;

	for (unsigned int n = 0; is_ext6(t); n++) {
		const uint8_t *h = f + o;
		uint32_t hl;

		if (n == LP_PKT_MAX_EXT_HDRS)
			return LP_DROP_BAD_EXT_HDR;
		/* RFC 8200 4.3: hop-by-hop options only directly after the IPv6 header. */
		if (t == IPPROTO_HOPOPTS && n != 0)
			return LP_DROP_BAD_EXT_HDR;
		if (end - o < 8)
			return LP_DROP_TRUNCATED;
		if (t == IPPROTO_FRAGMENT) {
			uint16_t field = load_be16(h + 2);
			uint32_t offset = field & 0xfff8u; /* 13-bit offset in 8-byte units, times 8 */

			if (seen_frag)
				return LP_DROP_BAD_EXT_HDR;
			seen_frag = true;
			if (offset + (end - o - 8) > UINT16_MAX)
				return LP_DROP_BAD_FRAG;
			t = h[0];
			o += 8;
			if (offset != 0) {
				*frag = LP_FRAG_LATER;
				break;
			}
			/* Offset 0 without M is an atomic fragment (RFC 6946): a whole packet. */
			if (field & 1)
				*frag = LP_FRAG_FIRST;
			continue;
		}
		hl = (h[1] + 1u) * 8;
		if (end - o < hl)
			return LP_DROP_TRUNCATED;
		/* RFC 5095: a type 0 routing header still to be processed must be dropped. */
		if (t == IPPROTO_ROUTING && h[2] == 0 && h[3] != 0)
			return LP_DROP_BAD_EXT_HDR;
		t = h[0];
		o += hl;
	}
	*off = o;
	*nh = t;
	return LP_DROP_NONE;
}

static bool
icmp_is_echo(uint8_t family, uint8_t type)
{
	return family == LP_AF_INET ? type == 0 || type == 8 : type == 128 || type == 129;
}

/* Flow key of the quoted packet: ports for TCP/UDP, the identifier for echo. */
static void
quote_ports(const uint8_t *l4, struct lp_flow_key *k)
{
	switch (k->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		memcpy(&k->sport, l4, 2);
		memcpy(&k->dport, l4 + 2, 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((k->proto == IPPROTO_ICMP) == (k->family == LP_AF_INET) &&
		    icmp_is_echo(k->family, l4[0])) {
			memcpy(&k->sport, l4 + 4, 2);
			memcpy(&k->dport, l4 + 4, 2);
		}
		break;
	default:
		break;
	}
}

/*
 * The packet an ICMP error quotes, starting at q: the whole IP header (with
 * IPv6 extension headers) and at least 8 bytes of what follows, which is
 * what RFC 792 guarantees and what holds the ports. The quote's length
 * fields describe the original packet, not the quote, so they are not
 * checked.
 */
static noinline enum lp_drop
parse_quote(const uint8_t *f, uint32_t q, uint32_t end, struct lp_pkt_meta *m)
{
	struct lp_flow_key *k = &m->inner;
	const uint8_t *ip = f + q;
	uint32_t room = end - q, l4;
	bool later;

	k->family = m->key.family;
	if (k->family == LP_AF_INET) {
		uint32_t hl;

		if (room < IPV4_HLEN || ip[0] >> 4 != 4)
			return LP_DROP_BAD_ICMP;
		hl = (ip[0] & 0x0fu) * 4;
		if (hl < IPV4_HLEN || room < hl + 8)
			return LP_DROP_BAD_ICMP;
		k->proto = ip[9];
		later = (load_be16(ip + 6) & IPV4_OFFSET) != 0;
		memcpy(k->src, ip + 12, 4);
		memcpy(k->dst, ip + 16, 4);
		l4 = q + hl;
	} else {
		uint8_t frag = LP_FRAG_NONE;

		if (room < IPV6_HLEN || ip[0] >> 4 != 6)
			return LP_DROP_BAD_ICMP;
		k->proto = ip[6];
		l4 = q + IPV6_HLEN;
		if (is_ext6(k->proto) && walk_ext6(f, &l4, end, &k->proto, &frag) != LP_DROP_NONE)
			return LP_DROP_BAD_ICMP;
		if (end - l4 < 8)
			return LP_DROP_BAD_ICMP;
		later = frag == LP_FRAG_LATER;
		memcpy(k->src, ip + 8, 16);
		memcpy(k->dst, ip + 24, 16);
	}
	m->inner_l3_off = (uint16_t)q;
	m->inner_l4_off = (uint16_t)l4;
	if (!later)
		quote_ports(f + l4, k);
	return LP_DROP_NONE;
}

/* ICMPv4 types that quote the offending packet. */
static bool
icmp4_is_error(uint8_t type)
{
	switch (type) {
	case 3:		/* destination unreachable, fragmentation needed */
	case 4:		/* source quench */
	case 5:		/* redirect: quotes like an error; the data path decides what to do with it */
	case 11:	/* time exceeded */
	case 12:	/* parameter problem */
		return true;
	default:
		return false;
	}
}

/* RFC 4861 minimum lengths of RS, RA, NS, NA and redirect (fixed part). */
static const uint8_t nd_min_len[5] = { 8, 16, 24, 24, 40 };

static noinline enum lp_drop
parse_icmp(const uint8_t *f, uint32_t l4, uint32_t end, struct lp_pkt_meta *m)
{
	const uint8_t *h = f + l4;
	bool v6 = m->key.family == LP_AF_INET6;
	uint8_t type;

	if (end - l4 < ICMP_HLEN)
		return short_l4(m);
	type = h[0];
	m->icmp_type = type;
	m->icmp_code = h[1];
	m->cls = LP_PKT_ICMP;
	if (icmp_is_echo(m->key.family, type)) {
		memcpy(&m->key.sport, h + 4, 2);
		memcpy(&m->key.dport, h + 4, 2);
		return LP_DROP_NONE;
	}
	if (v6 ? type >= 1 && type <= 4 : icmp4_is_error(type)) {
		m->cls = LP_PKT_ICMP_ERR;
		return parse_quote(f, l4 + ICMP_HLEN, end, m);
	}
	if (v6 && type >= ND_RS && type <= ND_REDIRECT) {
		/* RFC 6980: fragmented neighbor discovery must be ignored. */
		if (m->frag != LP_FRAG_NONE)
			return LP_DROP_BAD_FRAG;
		if (end - l4 < nd_min_len[type - ND_RS])
			return LP_DROP_TRUNCATED;
		m->cls = LP_PKT_ND;
	}
	return LP_DROP_NONE;
}

/* L4 of an unfragmented packet or first fragment at l4; the IP packet ends at end. */
static always_inline enum lp_drop
parse_l4(const uint8_t *f, uint32_t l4, uint32_t end, struct lp_pkt_meta *m)
{
	const uint8_t *h = f + l4;
	uint32_t room = end - l4;

	m->l4_off = (uint16_t)l4;
	switch (m->key.proto) {
	case IPPROTO_TCP: {
		uint32_t doff;
		uint8_t flags;

		if (unlikely(room < TCP_HLEN))
			return short_l4(m);
		doff = (h[12] >> 4) * 4u;
		if (unlikely(doff < TCP_HLEN || doff > room))
			return LP_DROP_BAD_TCP_HDR;
		flags = h[13];
		if (unlikely((TCP_BAD_FLAGS >> (flags & 0x3f)) & 1))
			return LP_DROP_BAD_TCP_FLAGS;
		m->tcp_flags = flags;
		break;
	}
	case IPPROTO_UDP: {
		uint32_t ulen;

		if (unlikely(room < UDP_HLEN))
			return short_l4(m);
		/* A first fragment holds only part of the datagram its length describes. */
		ulen = load_be16(h + 4);
		if (unlikely(ulen < UDP_HLEN || (ulen > room && m->frag == LP_FRAG_NONE)))
			return LP_DROP_BAD_UDP_LEN;
		break;
	}
	case IPPROTO_ICMP:
		if (m->key.family != LP_AF_INET)
			goto other;
		return parse_icmp(f, l4, end, m);
	case IPPROTO_ICMPV6:
		if (m->key.family != LP_AF_INET6)
			goto other;
		return parse_icmp(f, l4, end, m);
	default:
other:
		m->cls = LP_PKT_OTHER;
		if (room == 0)
			m->l4_off = 0;
		return LP_DROP_NONE;
	}
	memcpy(&m->key.sport, h, 2);
	memcpy(&m->key.dport, h + 2, 2);
	m->cls = LP_PKT_L4;
	return LP_DROP_NONE;
}

static noinline enum lp_drop
ipv4_frag(uint16_t field, uint32_t payload, struct lp_pkt_meta *m)
{
	uint32_t offset = (field & IPV4_OFFSET) * 8u;

	if (offset + payload > UINT16_MAX)
		return LP_DROP_BAD_FRAG;
	if (offset != 0) {
		m->frag = LP_FRAG_LATER;
		m->cls = LP_PKT_FRAG;
		return LP_DROP_NONE;
	}
	m->frag = LP_FRAG_FIRST;	/* offset 0 and the field nonzero: MF is set */
	return LP_DROP_NONE;
}

static always_inline enum lp_drop
parse_ipv4(const uint8_t *f, uint32_t len, uint32_t l3, struct lp_pkt_meta *m)
{
	const uint8_t *ip = f + l3;
	uint32_t room = len - l3, hl, tot;
	uint16_t field;

	if (unlikely(room < IPV4_HLEN))
		return LP_DROP_TRUNCATED;
	if (unlikely(ip[0] != 0x45)) {
		enum lp_drop r = ipv4_hdr_check(ip, room);

		if (r != LP_DROP_NONE)
			return r;
	}
	hl = (ip[0] & 0x0fu) * 4;
	/* Ethernet padding beyond the total length is allowed; a shorter frame is not. */
	tot = load_be16(ip + 2);
	if (unlikely(tot < hl || tot > room))
		return LP_DROP_BAD_LEN;
	m->l3_len = (uint16_t)tot;
	m->ttl = ip[8];
	m->key.proto = ip[9];
	m->key.family = LP_AF_INET;
	memcpy(m->key.src, ip + 12, 4);
	memcpy(m->key.dst, ip + 16, 4);
	if (unlikely(bad_src4(ip + 12)))
		return LP_DROP_BAD_SRC_ADDR;
	field = load_be16(ip + 6);
	m->flags |= (uint8_t)((field >> 13) & LP_PKT_F_DF);
	if (unlikely(field & (IPV4_MF | IPV4_OFFSET))) {
		enum lp_drop r = ipv4_frag(field, tot - hl, m);

		if (r != LP_DROP_NONE || m->frag == LP_FRAG_LATER)
			return r;
	}
	return parse_l4(f, l3 + hl, l3 + tot, m);
}

/*
 * RFC 4861: router and neighbor solicitations may come from :: (a host
 * without an address yet, duplicate address detection); nothing else may.
 */
static bool
unspecified_src_ok(const struct lp_pkt_meta *m)
{
	return m->cls == LP_PKT_ND && (m->icmp_type == ND_RS || m->icmp_type == ND_NS);
}

static always_inline enum lp_drop
parse_ipv6(const uint8_t *f, uint32_t len, uint32_t l3, struct lp_pkt_meta *m)
{
	const uint8_t *ip = f + l3;
	uint32_t room = len - l3, plen, off, end;
	uint64_t hi, lo;
	enum lp_drop r;
	uint8_t nh;

	if (unlikely(room < IPV6_HLEN))
		return LP_DROP_TRUNCATED;
	if (unlikely(ip[0] >> 4 != 6))
		return LP_DROP_BAD_VERSION;
	/* l3_len is 16 bits: payloads above 65495 bytes (jumbo frames only) are refused. */
	plen = load_be16(ip + 4);
	if (unlikely(plen > room - IPV6_HLEN || plen > UINT16_MAX - IPV6_HLEN))
		return LP_DROP_BAD_LEN;
	m->l3_len = (uint16_t)(IPV6_HLEN + plen);
	m->ttl = ip[7];
	m->key.family = LP_AF_INET6;
	memcpy(m->key.src, ip + 8, 16);
	memcpy(m->key.dst, ip + 24, 16);
	memcpy(&hi, ip + 8, 8);
	memcpy(&lo, ip + 16, 8);
	/* ff00::/8 and ::1 here; :: once we know whether it is neighbor discovery. */
	if (unlikely(ip[8] == 0xff || (hi == 0 && lo == htobe64(1))))
		return LP_DROP_BAD_SRC_ADDR;
	nh = ip[6];
	off = l3 + IPV6_HLEN;
	end = off + plen;
	if (unlikely(is_ext6(nh))) {
		r = walk_ext6(f, &off, end, &nh, &m->frag);
		if (r != LP_DROP_NONE)
			return r;
	}
	m->key.proto = nh;
	if (unlikely(m->frag == LP_FRAG_LATER)) {
		m->cls = LP_PKT_FRAG;
		r = LP_DROP_NONE;
	} else {
		r = parse_l4(f, off, end, m);
	}
	if (unlikely(hi == 0 && lo == 0) && r == LP_DROP_NONE && !unspecified_src_ok(m))
		return LP_DROP_BAD_SRC_ADDR;
	return r;
}

static noinline enum lp_drop
parse_arp(const uint8_t *f, uint32_t len, uint32_t l3, struct lp_pkt_meta *m)
{
	const uint8_t *a = f + l3;

	if (len - l3 < ARP_LEN || load_be16(a) != 1 || load_be16(a + 2) != ETHERTYPE_IPV4 ||
	    a[4] != 6 || a[5] != 4)
		return LP_DROP_BAD_ARP;
	m->cls = LP_PKT_ARP;
	m->l3_len = ARP_LEN;
	m->key.family = LP_AF_INET;
	memcpy(m->key.src, a + 14, 4);
	memcpy(m->key.dst, a + 24, 4);
	return LP_DROP_NONE;
}

enum lp_drop
lp_pkt_parse(const uint8_t *frame, uint32_t len, struct lp_pkt_meta *m)
{
	uint32_t l3 = ETH_HLEN;
	uint16_t type;

	/* In pieces: one memset this size becomes rep stosq, slower than the parse itself. */
	memset(m, 0, 64);
	memset((uint8_t *)m + 64, 0, sizeof(*m) - 64);
	if (unlikely(len < ETH_HLEN))
		return LP_DROP_TRUNCATED;
	type = load_be16(frame + 12);
	if (type == ETHERTYPE_VLAN) {
		if (unlikely(len < ETH_HLEN + VLAN_HLEN))
			return LP_DROP_TRUNCATED;
		m->flags = LP_PKT_F_VLAN;
		m->vlan_tci = load_be16(frame + 14);
		type = load_be16(frame + 16);
		l3 += VLAN_HLEN;
	}
	m->l3_off = (uint16_t)l3;
	if (likely(type == ETHERTYPE_IPV4))
		return parse_ipv4(frame, len, l3, m);
	if (type == ETHERTYPE_IPV6)
		return parse_ipv6(frame, len, l3, m);
	if (type == ETHERTYPE_ARP)
		return parse_arp(frame, len, l3, m);
	/* Also a second 802.1Q or an 802.1ad tag: limpet strips exactly one. */
	return LP_DROP_UNSUPPORTED_L2;
}
