/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Frame builders: test and generator traffic, ARP, ICMP errors, neighbor
 * discovery. Not on the per-packet path, so checksums are computed in full.
 */
#include <errno.h>
#include <netinet/in.h>

#include "lp_pkt.h"
#include "pkt_priv.h"

#define DEFAULT_TTL	64
#define ND_HOP_LIMIT	255	/* RFC 4861: proves the sender is on-link */
#define ND_OPT_SLLA	1
#define ND_OPT_TLLA	2

/* RFC 1812 4.3.2.3: an ICMP error datagram stays within 576 bytes. */
#define ICMP4_ERR_MAX	576
/* RFC 4443 2.4 (c): an ICMPv6 error stays within the minimum IPv6 MTU. */
#define ICMP6_ERR_MAX	1280

static size_t
l2_len(uint16_t vlan)
{
	return vlan != 0 ? ETH_HLEN + VLAN_HLEN : ETH_HLEN;
}

/* Ethernet header, tagged when vlan is not 0; returns its length. */
static size_t
put_eth(uint8_t *p, const struct lp_mac *dst, const struct lp_mac *src, uint16_t vlan, uint16_t type)
{
	memcpy(p, dst->b, 6);
	memcpy(p + 6, src->b, 6);
	if (vlan == 0) {
		store_be16(p + 12, type);
		return ETH_HLEN;
	}
	store_be16(p + 12, ETHERTYPE_VLAN);
	store_be16(p + 14, vlan);
	store_be16(p + 16, type);
	return ETH_HLEN + VLAN_HLEN;
}

static void
put_ipv4(uint8_t *ip, uint16_t tot, uint16_t id, bool df, uint8_t ttl, uint8_t proto,
	 const uint8_t *src, const uint8_t *dst)
{
	ip[0] = 0x45;
	ip[1] = 0;
	store_be16(ip + 2, tot);
	store_be16(ip + 4, id);
	store_be16(ip + 6, df ? IPV4_DF : 0);
	ip[8] = ttl;
	ip[9] = proto;
	store_raw16(ip + 10, 0);
	memcpy(ip + 12, src, 4);
	memcpy(ip + 16, dst, 4);
	store_raw16(ip + 10, (uint16_t)~csum_fold64(csum_native(ip, IPV4_HLEN)));
}

static void
put_ipv6(uint8_t *ip, uint16_t plen, uint8_t nh, uint8_t hop_limit, const uint8_t *src,
	 const uint8_t *dst)
{
	store_be32(ip, 6u << 28);
	store_be16(ip + 4, plen);
	ip[6] = nh;
	ip[7] = hop_limit;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
}

/* Fill the checksum of the L4 segment at l4 (len bytes) behind the IP header at ip. */
static void
put_l4_cksum(const uint8_t *ip, uint8_t *l4, uint32_t len, size_t cksum_off, uint8_t proto)
{
	bool v4 = ip[0] >> 4 == 4;

	store_raw16(l4 + cksum_off,
		    lp_pkt_l4_cksum_raw(l4, len, cksum_off, proto != IPPROTO_ICMP, ip + (v4 ? 12 : 8),
					ip + (v4 ? 16 : 24), v4 ? 4 : 16, proto));
}

int
lp_pkt_build(uint8_t *buf, size_t cap, const struct lp_pkt_spec *s)
{
	bool v6 = s->src.family == LP_AF_INET6;
	size_t l3h = v6 ? IPV6_HLEN : IPV4_HLEN, l2, l4h, cksum_off, total;
	uint32_t ip_payload;
	uint8_t *ip, *l4;

	if (s->src.family != s->dst.family || lp_ip_len(&s->src) == 0 || s->vlan > 0xfff)
		return -EINVAL;
	switch (s->proto) {
	case IPPROTO_TCP:
		l4h = TCP_HLEN;
		cksum_off = 16;
		break;
	case IPPROTO_UDP:
		l4h = UDP_HLEN;
		cksum_off = 6;
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if ((s->proto == IPPROTO_ICMPV6) != v6)
			return -EINVAL;
		l4h = ICMP_HLEN;
		cksum_off = 2;
		break;
	default:
		return -EINVAL;
	}
	ip_payload = (uint32_t)(l4h + s->payload_len);
	if (ip_payload + (v6 ? 0 : l3h) > UINT16_MAX)
		return -EINVAL;
	l2 = l2_len(s->vlan);
	total = l2 + l3h + ip_payload;
	if (total > cap)
		return -ENOSPC;

	put_eth(buf, &s->dst_mac, &s->src_mac, s->vlan, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
	ip = buf + l2;
	if (v6)
		put_ipv6(ip, (uint16_t)ip_payload, s->proto, s->ttl ? s->ttl : DEFAULT_TTL, s->src.a,
			 s->dst.a);
	else
		put_ipv4(ip, (uint16_t)(l3h + ip_payload), s->ip_id, s->df, s->ttl ? s->ttl : DEFAULT_TTL,
			 s->proto, s->src.a, s->dst.a);

	l4 = ip + l3h;
	memset(l4, 0, l4h);
	if (s->proto == IPPROTO_TCP) {
		store_be16(l4, s->sport);
		store_be16(l4 + 2, s->dport);
		store_be32(l4 + 4, s->seq);
		store_be32(l4 + 8, s->ack);
		l4[12] = (TCP_HLEN / 4) << 4;
		l4[13] = s->tcp_flags;
		store_be16(l4 + 14, s->window ? s->window : UINT16_MAX);
	} else if (s->proto == IPPROTO_UDP) {
		store_be16(l4, s->sport);
		store_be16(l4 + 2, s->dport);
		store_be16(l4 + 4, (uint16_t)ip_payload);
	} else {
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		store_be16(l4 + 4, s->sport);
		store_be16(l4 + 6, s->dport);
	}
	if (s->payload != NULL)
		memcpy(l4 + l4h, s->payload, s->payload_len);
	else
		memset(l4 + l4h, 0, s->payload_len);
	put_l4_cksum(ip, l4, ip_payload, cksum_off, s->proto);
	return (int)total;
}

int
lp_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op, const struct lp_mac *sha, const uint8_t spa[4],
		 const struct lp_mac *tha, const uint8_t tpa[4])
{
	static const struct lp_mac broadcast = { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	static const struct lp_mac zero;
	uint8_t *a = buf + ETH_HLEN;

	if (cap < ETH_HLEN + ARP_LEN)
		return -ENOSPC;
	if (tha == NULL)
		tha = &zero;
	put_eth(buf, op == LP_ARP_REQUEST ? &broadcast : tha, sha, 0, ETHERTYPE_ARP);
	store_be16(a, 1);
	store_be16(a + 2, ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	store_be16(a + 6, op);
	memcpy(a + 8, sha->b, 6);
	memcpy(a + 14, spa, 4);
	memcpy(a + 18, tha->b, 6);
	memcpy(a + 24, tpa, 4);
	return ETH_HLEN + ARP_LEN;
}

int
lp_pkt_build_icmp_error(uint8_t *buf, size_t cap, const struct lp_icmp_err_spec *s,
			const uint8_t *orig, const struct lp_pkt_meta *om)
{
	bool v6 = s->src.family == LP_AF_INET6;
	size_t l3h = v6 ? IPV6_HLEN : IPV4_HLEN, l2 = l2_len(s->vlan), quote, total;
	size_t max_quote = (v6 ? ICMP6_ERR_MAX : ICMP4_ERR_MAX) - l3h - ICMP_HLEN;
	uint8_t proto = v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, ttl = s->ttl ? s->ttl : DEFAULT_TTL;
	uint8_t *ip, *icmp;

	if (s->src.family != om->key.family || lp_ip_len(&s->src) == 0 || om->cls == LP_PKT_ARP ||
	    s->vlan > 0xfff)
		return -EINVAL;
	quote = om->l3_len < max_quote ? om->l3_len : max_quote;
	total = l2 + l3h + ICMP_HLEN + quote;
	if (total > cap)
		return -ENOSPC;

	ip = buf + l2;
	icmp = ip + l3h;
	/* Quote first: buf may be the original frame, whose start the headers overwrite. */
	memmove(icmp + ICMP_HLEN, orig + om->l3_off, quote);
	put_eth(buf, &s->dst_mac, &s->src_mac, s->vlan, v6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
	/* The error goes back to whoever sent the quoted packet. */
	if (v6)
		put_ipv6(ip, (uint16_t)(ICMP_HLEN + quote), proto, ttl, s->src.a, om->key.src);
	else
		put_ipv4(ip, (uint16_t)(l3h + ICMP_HLEN + quote), 0, false, ttl, proto, s->src.a,
			 om->key.src);
	icmp[0] = s->type;
	icmp[1] = s->code;
	store_raw16(icmp + 2, 0);
	store_be32(icmp + 4, s->info);
	put_l4_cksum(ip, icmp, (uint32_t)(ICMP_HLEN + quote), 2, proto);
	return (int)total;
}

/* Ethernet group address of an IPv6 multicast group (RFC 2464 7). */
static void
ipv6_mcast_mac(const uint8_t *group, struct lp_mac *mac)
{
	mac->b[0] = 0x33;
	mac->b[1] = 0x33;
	memcpy(mac->b + 2, group + 12, 4);
}

static bool
ipv6_is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

/*
 * Shared by NS and NA: IPv6 with hop limit 255, ICMPv6 type, a 4-byte
 * flags/reserved word, the target, and optionally a link-layer address
 * option (8 bytes: type, length 1, the MAC).
 */
static int
build_nd(uint8_t *buf, size_t cap, const struct lp_nd_spec *s, const uint8_t *dst, uint8_t type,
	 uint8_t flags, uint8_t opt)
{
	size_t l2 = l2_len(s->vlan), len = 24 + (opt != 0 ? 8 : 0), total = l2 + IPV6_HLEN + len;
	struct lp_mac dst_mac = s->dst_mac;
	uint8_t *ip, *icmp;

	if (s->vlan > 0xfff)
		return -EINVAL;
	if (total > cap)
		return -ENOSPC;
	if (dst[0] == 0xff)
		ipv6_mcast_mac(dst, &dst_mac);
	put_eth(buf, &dst_mac, &s->src_mac, s->vlan, ETHERTYPE_IPV6);
	ip = buf + l2;
	put_ipv6(ip, (uint16_t)len, IPPROTO_ICMPV6, ND_HOP_LIMIT, s->src, dst);
	icmp = ip + IPV6_HLEN;
	memset(icmp, 0, len);
	icmp[0] = type;
	icmp[4] = flags;
	memcpy(icmp + 8, s->target, 16);
	if (opt != 0) {
		icmp[24] = opt;
		icmp[25] = 1;
		memcpy(icmp + 26, s->src_mac.b, 6);
	}
	put_l4_cksum(ip, icmp, (uint32_t)len, 2, IPPROTO_ICMPV6);
	return (int)total;
}

int
lp_pkt_build_ns(uint8_t *buf, size_t cap, const struct lp_nd_spec *s)
{
	uint8_t dst[16];

	if (ipv6_is_unspecified(s->dst)) {
		/* Solicited-node group ff02::1:ffXX:XXXX of the target (RFC 4291 2.7.1). */
		static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

		memcpy(dst, prefix, 13);
		memcpy(dst + 13, s->target + 13, 3);
	} else {
		memcpy(dst, s->dst, 16);
	}
	/* RFC 4861 7.2.2: duplicate address detection (source ::) carries no link-layer option. */
	return build_nd(buf, cap, s, dst, ND_NS, 0, ipv6_is_unspecified(s->src) ? 0 : ND_OPT_SLLA);
}

int
lp_pkt_build_na(uint8_t *buf, size_t cap, const struct lp_nd_spec *s)
{
	static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
	bool unsolicited = ipv6_is_unspecified(s->dst);

	/* RFC 4861 7.2.4 and 7.2.6: a multicast advertisement is never marked solicited. */
	if (ipv6_is_unspecified(s->src) ||
	    (unsolicited && (s->na_flags & LP_ND_NA_SOLICITED) != 0))
		return -EINVAL;
	return build_nd(buf, cap, s, unsolicited ? all_nodes : s->dst, ND_NA,
			s->na_flags & (LP_ND_NA_ROUTER | LP_ND_NA_SOLICITED | LP_ND_NA_OVERRIDE),
			ND_OPT_TLLA);
}
