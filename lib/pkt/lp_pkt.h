/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Packet core: parse, classify, rewrite and encapsulate frames.
 *
 * Pure functions over plain bytes: no EAL, no mbuf, no allocation, so unit
 * tests, fuzzers and the traffic generator use exactly the code the workers
 * run. The data path adapts an rte_mbuf with one inline wrapper.
 *
 * Byte order: addresses and ports inside struct lp_flow_key are in network
 * order (as on the wire); everything in struct lp_pkt_spec is host order.
 */
#ifndef LP_PKT_H
#define LP_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lp_drop.h"

/** Address families as limpet stores them (the IP version number). */
#define LP_AF_INET  4
#define LP_AF_INET6 6

/** An IPv4 or IPv6 address; IPv4 lives in a[0..3], a[4..15] are zero. */
struct lp_ip {
	uint8_t family;		/**< LP_AF_INET or LP_AF_INET6; 0 = unset */
	uint8_t a[16];		/**< network order */
};

/** An Ethernet MAC address. */
struct lp_mac {
	uint8_t b[6];
};

/** Parse "10.0.0.1" or "fd00::1". Returns 0 or -EINVAL. */
int lp_ip_parse(const char *s, struct lp_ip *ip);
/**
 * Parse "10.0.0.1/24" or "fd00::1/64". Without "/len" the prefix is the
 * full address length. Returns 0 or -EINVAL (also for a prefix too long).
 */
int lp_ip_prefix_parse(const char *s, struct lp_ip *ip, uint8_t *prefix);
/** Format into buf (at least LP_IP_STRLEN bytes); returns buf. */
char *lp_ip_format(const struct lp_ip *ip, char *buf, size_t len);
#define LP_IP_STRLEN 46
/**
 * Format an endpoint: "10.0.0.1:80", or "[fd00::1]:80" (an IPv6 address
 * needs brackets before a port, or "fd00::1:80" reads as another address).
 * buf holds at least LP_ENDPOINT_STRLEN bytes; returns buf. The one
 * formatter of endpoints: config messages, the CLI, metrics and logs.
 */
char *lp_endpoint_format(const struct lp_ip *ip, uint16_t port, char *buf, size_t len);
#define LP_ENDPOINT_STRLEN (LP_IP_STRLEN + 8)
/** Zero the host bits beyond prefix (prefix counted for the address family). */
void lp_ip_mask(struct lp_ip *ip, unsigned int prefix);
/** True when ip lies in net/prefix (same family). */
bool lp_ip_in_prefix(const struct lp_ip *ip, const struct lp_ip *net, unsigned int prefix);
/** Total order: family first, then bytes. */
int lp_ip_cmp(const struct lp_ip *a, const struct lp_ip *b);
/** Address length in bytes for the family (4 or 16; 0 when unset). */
static inline unsigned int
lp_ip_len(const struct lp_ip *ip)
{
	return ip->family == LP_AF_INET ? 4 : ip->family == LP_AF_INET6 ? 16 : 0;
}
/** Same family and same address bytes (bytes beyond the family's length are ignored). */
static inline bool
lp_ip_equal(const struct lp_ip *a, const struct lp_ip *b)
{
	return a->family == b->family && memcmp(a->a, b->a, lp_ip_len(a)) == 0;
}

/** Parse "02:00:00:00:01:0b". Returns 0 or -EINVAL. */
int lp_mac_parse(const char *s, struct lp_mac *mac);
/**
 * The IPv6 link-local address a MAC gives by modified EUI-64 (RFC 4291,
 * 2.5.1 and appendix A): fe80::ff:fe00:1 for 02:00:00:00:00:01, fe80::200:ff:fe00:1 for
 * 00:00:00:00:00:01.
 */
void lp_mac_to_ll6(const struct lp_mac *mac, struct lp_ip *ll);
/** Format as xx:xx:xx:xx:xx:xx into buf (at least LP_MAC_STRLEN bytes); returns buf. */
char *lp_mac_format(const struct lp_mac *mac, char *buf, size_t len);
#define LP_MAC_STRLEN 18

/**
 * Packed flow key, one type for IPv4 and IPv6 (40 bytes, no padding), so a
 * single rte_hash holds both families. Unused bytes are always zero, so keys
 * compare and hash bytewise.
 */
struct lp_flow_key {
	uint8_t src[16];	/**< IPv4 in src[0..3], rest zero */
	uint8_t dst[16];
	uint16_t sport;		/**< network order; ICMP query: identifier; 0 when none */
	uint16_t dport;		/**< network order; ICMP query: identifier; 0 when none */
	uint8_t proto;		/**< IPPROTO_* */
	uint8_t family;		/**< LP_AF_INET or LP_AF_INET6 */
	uint16_t zone;		/**< 0 from the parser; free for the user (e.g. a service id) */
} __attribute__((aligned(8)));	/* hashes (CRC32) read it 8 bytes at a time */
_Static_assert(sizeof(struct lp_flow_key) == 40, "lp_flow_key must stay 40 packed bytes");

/** What the parser found. */
enum lp_pkt_class {
	LP_PKT_L4 = 0,		/**< TCP or UDP with its header (unfragmented or first fragment) */
	LP_PKT_FRAG,		/**< non-first fragment: key has ports 0 (L3-only) */
	LP_PKT_ICMP,		/**< ICMP/ICMPv6 query or informational (echo, ...) */
	LP_PKT_ICMP_ERR,	/**< ICMP error quoting a packet: meta.inner is valid */
	LP_PKT_ND,		/**< ICMPv6 neighbor discovery (RS, RA, NS, NA, redirect) */
	LP_PKT_ARP,		/**< Ethernet/IPv4 ARP */
	LP_PKT_OTHER,		/**< IP with another L4 protocol: key has ports 0 */
};

/** Fragment position of an IP packet. */
enum lp_frag {
	LP_FRAG_NONE = 0,
	LP_FRAG_FIRST,		/**< offset 0, more fragments follow: carries the L4 header */
	LP_FRAG_LATER,		/**< offset > 0: no L4 header */
};

#define LP_PKT_F_VLAN 0x01	/**< one 802.1Q tag present; vlan_tci valid */
#define LP_PKT_F_DF   0x02	/**< IPv4 don't-fragment bit set */

/** TCP flag bits as in the header's flags byte. */
#define LP_TCP_FIN 0x01
#define LP_TCP_SYN 0x02
#define LP_TCP_RST 0x04
#define LP_TCP_PSH 0x08
#define LP_TCP_ACK 0x10
#define LP_TCP_URG 0x20

/** Everything later stages need from one parse; offsets count from the frame start. */
struct lp_pkt_meta {
	struct lp_flow_key key;	/**< the packet's own flow */
	struct lp_flow_key inner; /**< LP_PKT_ICMP_ERR: the quoted packet's flow as it was sent */
	uint16_t l3_off;	/**< IP header: 14, or 18 with a VLAN tag */
	uint16_t l4_off;	/**< L4 header after options/extension headers; 0 when absent */
	uint16_t l3_len;	/**< IP packet length from its header (frame may carry padding beyond) */
	uint16_t inner_l3_off;	/**< LP_PKT_ICMP_ERR: quoted IP header */
	uint16_t inner_l4_off;	/**< LP_PKT_ICMP_ERR: quoted L4 header (at least 8 bytes present) */
	uint16_t vlan_tci;	/**< host order, when LP_PKT_F_VLAN */
	uint8_t cls;		/**< enum lp_pkt_class */
	uint8_t frag;		/**< enum lp_frag */
	uint8_t flags;		/**< LP_PKT_F_* */
	uint8_t tcp_flags;	/**< LP_TCP_* when key.proto is TCP and the header is present */
	uint8_t ttl;		/**< TTL / hop limit */
	uint8_t icmp_type;	/**< ICMP/ICMPv6 type when cls is ICMP, ICMP_ERR or ND */
	uint8_t icmp_code;
};

/** Most IPv6 extension headers lp_pkt_parse() walks before it gives up (LP_DROP_BAD_EXT_HDR). */
#define LP_PKT_MAX_EXT_HDRS 8

/**
 * Parse an Ethernet frame (optionally one 802.1Q tag) carrying IPv4 (with
 * options, fragments), IPv6 (hop-by-hop, routing, destination-options and
 * fragment headers), TCP, UDP, ICMP/ICMPv6 (errors with their quoted
 * header) or ARP.
 *
 * Verdicts worth knowing: LP_DROP_TRUNCATED when the frame, or the IP packet
 * by its own length, ends inside a header; LP_DROP_BAD_LEN when the IP length
 * field exceeds the frame (so a frame cut short usually reads as BAD_LEN);
 * LP_DROP_BAD_FRAG for a first fragment too short to hold the fixed TCP, UDP
 * or ICMP header (RFC 1858), and for fragmented neighbor discovery (RFC
 * 6980); LP_DROP_BAD_EXT_HDR also for hop-by-hop options not first, two
 * fragment headers, or a type 0 routing header with segments left (RFC
 * 5095); IPv6 payloads above 65495 bytes (l3_len would not fit) are
 * LP_DROP_BAD_LEN. The source :: is accepted only for router and neighbor
 * solicitations. Checksums are not verified.
 *
 * What @p m holds beyond the obvious: l4_off is 0 for non-first fragments
 * and when no byte follows the IP headers; LP_PKT_OTHER keeps l4_off at the
 * unknown protocol's header. An ARP frame gives key.src = sender and
 * key.dst = target protocol address (family LP_AF_INET, proto 0) and
 * l3_len 28. Everything not set is zero.
 *
 * @return LP_DROP_NONE and a filled @p m, or the reason the frame must be
 *   dropped (then @p m is partly filled and must not be used).
 */
enum lp_drop lp_pkt_parse(const uint8_t *frame, uint32_t len, struct lp_pkt_meta *m);

/** Swap source and destination of a key (address and port). */
static inline void
lp_flow_key_reverse(const struct lp_flow_key *k, struct lp_flow_key *r)
{
	memcpy(r->src, k->dst, 16);
	memcpy(r->dst, k->src, 16);
	r->sport = k->dport;
	r->dport = k->sport;
	r->proto = k->proto;
	r->family = k->family;
	r->zone = k->zone;
}

/**
 * Deterministic 32-bit hash of bytes: the same on every machine and in every
 * limpet instance, so instances sharing a config make the same Maglev choice.
 */
static inline uint32_t
lp_hash_bytes(const void *buf, size_t len, uint32_t seed)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)seed << 32) ^ len;
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h ^= w * 0xff51afd7ed558ccdULL;
		h = (h << 31 | h >> 33) * 0xc4ceb9fe1a85ec53ULL;
		p += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, p, len);
	h ^= w * 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

/** Hash of a flow key (all 40 bytes). */
static inline uint32_t
lp_flow_hash(const struct lp_flow_key *k, uint32_t seed)
{
	return lp_hash_bytes(k, sizeof(*k), seed);
}

/* ---- checksums (RFC 1071 sums, RFC 1624 incremental updates) ---- */

/** Add the 16-bit big-endian words of buf to sum (odd tail padded with zero). */
uint32_t lp_csum_partial(const void *buf, size_t len, uint32_t sum);

/** Fold a 32-bit one's-complement sum to 16 bits (not inverted). */
static inline uint16_t
lp_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/**
 * RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), for a field of @p len bytes
 * (even) changing from @p old to @p new. Checksums in network order as read
 * from the header with memcpy (the function is byte-order neutral).
 */
uint16_t lp_csum_replace(uint16_t cksum, const void *old, const void *new, size_t len);

/**
 * Full IPv4 header checksum of the header at ip (its IHL), as stored on the
 * wire: network order, to compare with or memcpy into bytes 10..11. The
 * stored field is ignored, so this verifies as well as fills.
 */
uint16_t lp_ipv4_cksum(const uint8_t *ip);

/**
 * Is the IPv4 header checksum of the header at @p ip right? RFC 1812
 * 5.2.2: a router must verify it (and silently drop the packet when it is
 * wrong). The header must have passed lp_pkt_parse() (IHL at least 5 and
 * within the frame). Inline and word-wide: a header without options is
 * five loads and a fold, on a cache line the parser just read.
 */
static inline bool
lp_ipv4_cksum_ok(const uint8_t *ip)
{
	unsigned int hl = (ip[0] & 0x0fu) * 4u;
	uint64_t a, b, sum;
	uint32_t c, s32;

	memcpy(&a, ip, 8);
	memcpy(&b, ip + 8, 8);
	memcpy(&c, ip + 16, 4);
	/* 64-bit one's complement additions: the carry out goes back in. */
	sum = a + b;
	sum += sum < a;
	sum += c;
	sum += sum < c;
	for (unsigned int i = 20; i < hl; i += 4) {	/* options */
		memcpy(&c, ip + i, 4);
		sum += c;
		sum += sum < c;
	}
	/* Fold 64 → 32 → 16 bits; a right header sums to all ones (-0). A
	 * sum of +0 would need every word zero, and the version nibble is 4. */
	s32 = (uint32_t)((sum + (sum >> 32 | sum << 32)) >> 32);
	return (uint16_t)((s32 + (s32 >> 16 | s32 << 16)) >> 16) == 0xffff;
}

/**
 * Full TCP/UDP/ICMP/ICMPv6 checksum of the L4 segment of a parsed,
 * unfragmented packet, as it should be stored on the wire (network order,
 * like lp_ipv4_cksum(); a computed UDP zero is 0xffff). A reference for tests
 * and the slow path; the data path updates checksums incrementally. UDP
 * covers the UDP length; the IPv6 pseudo header uses the IPv6 header's
 * destination even when a routing header names another. 0 for fragments
 * and classes without such a checksum.
 */
uint16_t lp_l4_cksum(const uint8_t *frame, const struct lp_pkt_meta *m);

/* ---- rewrites (in place, checksums updated incrementally) ---- */

/**
 * DNAT: set the destination address (same family as the packet) and, when
 * the packet carries a TCP/UDP header, the destination port (network order).
 * Updates the IPv4 header checksum and the L4 checksum (pseudo header and
 * port); a zero UDP/IPv4 checksum stays zero. ICMP queries keep their
 * identifier (ICMPv6 checksum updated for the pseudo header); non-first
 * fragments and other protocols get the address only. An ARP frame is left
 * alone.
 */
void lp_pkt_dnat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port);

/** Reverse SNAT: as lp_pkt_dnat() for the source address and port. */
void lp_pkt_snat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port);

/**
 * Decrement TTL (IPv4, checksum updated) or hop limit (IPv6).
 * @return false, leaving the packet unchanged, when it would reach zero
 *   (or the frame is ARP).
 */
bool lp_pkt_dec_ttl(uint8_t *frame, const struct lp_pkt_meta *m);

/**
 * Forwarding to a NAT backend: lp_pkt_dec_ttl() and lp_pkt_dnat() in one
 * pass, with one update of the IPv4 header checksum.
 * @return false, leaving the packet unchanged, when the TTL / hop limit
 *   would reach zero (or the frame is ARP).
 */
bool lp_pkt_dnat_fwd(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port);

/** A NAT reply to its client: lp_pkt_dec_ttl() and lp_pkt_snat() in one pass, as lp_pkt_dnat_fwd(). */
bool lp_pkt_snat_fwd(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port);

/**
 * NAT of an ICMP error (LP_PKT_ICMP_ERR) that a client's side sent about a
 * packet from a VIP, for the NAT backend that owns the flow: the outer
 * destination and the quoted packet's source address become @p addr, the
 * quoted source port (TCP/UDP) @p port (network order), as if the backend
 * had sent the quoted packet itself. The outer and quoted IPv4 header
 * checksums and the ICMP/ICMPv6 checksum are computed afresh (the quote's
 * own L4 checksum is left as it is: the quote is usually cut short). TTL
 * is not touched. Anything but an ICMP error is left alone.
 */
void lp_pkt_icmp_error_dnat(uint8_t *frame, const struct lp_pkt_meta *m, const uint8_t *addr, uint16_t port);

/**
 * Outer source address of a tunnelled packet (IPIP / IP6IP6): the bits of
 * @p prefix under @p mask (4 bytes for LP_AF_INET, else 16), host bits from
 * a hash of the client's address and port (@p client's src and sport), so
 * the backend's NIC spreads clients over its RSS queues while one client
 * stays on one queue.
 * @return that hash (lp_pkt_encap()'s @p flow_hash: the IPv6 flow label).
 */
uint32_t lp_pkt_tunnel_src(const struct lp_flow_key *client, const uint8_t *prefix, const uint8_t *mask,
			   uint8_t family, struct lp_ip *src);

/** Write destination and source MAC addresses. */
static inline void
lp_pkt_set_macs(uint8_t *frame, const struct lp_mac *dst, const struct lp_mac *src)
{
	memcpy(frame, dst->b, 6);
	memcpy(frame + 6, src->b, 6);
}

/** Bytes an outer header of this family adds. */
#define LP_ENCAP_LEN(family) ((family) == LP_AF_INET6 ? 40u : 20u)

/**
 * Encapsulate the frame's IP packet in an outer IPv4 or IPv6 header
 * (IPIP, IP6IP6, 4in6, 6in4 by the families). The L2 header (with its VLAN
 * tag) moves LP_ENCAP_LEN(outer_dst->family) bytes towards the front, so
 * @p frame needs that much headroom. Outer: TTL/hop limit @p ttl, TOS /
 * traffic class copied from the inner packet, IPv4 DF copied, IPv6 flow
 * label from @p flow_hash (entropy for the receiver's RSS).
 *
 * Outer IPv4 for an IPv4 packet: ID copied (it varies per packet, as a
 * fragmentable datagram's must); for IPv6 inside IPv4: DF set (IPv6 is not
 * fragmented on its path) and ID from @p flow_hash.
 *
 * @return the new frame start; its length is m->l3_off + encap + m->l3_len
 *   (padding after the inner packet is not part of the new frame). NULL,
 *   leaving the frame untouched, when the outer families differ or are
 *   unset, @p m is not an IP packet, or the result would exceed 65535 bytes
 *   of outer IPv4.
 */
uint8_t *lp_pkt_encap(uint8_t *frame, const struct lp_pkt_meta *m, const struct lp_ip *outer_src,
		      const struct lp_ip *outer_dst, uint8_t ttl, uint32_t flow_hash);

/* ---- building packets (tests, traffic generator, probes, slow path) ---- */

/** What lp_pkt_build() writes; host byte order throughout. */
struct lp_pkt_spec {
	struct lp_mac src_mac, dst_mac;
	uint16_t vlan;		/**< 0: untagged, else the VLAN id */
	struct lp_ip src, dst;	/**< same family */
	uint8_t proto;		/**< IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6 */
	uint16_t sport, dport;	/**< ICMP echo: identifier in sport, sequence in dport */
	uint8_t tcp_flags;	/**< LP_TCP_* */
	uint32_t seq, ack;
	uint16_t window;	/**< 0 → 65535 */
	uint8_t icmp_type, icmp_code;
	uint8_t ttl;		/**< 0 → 64 */
	uint16_t ip_id;
	bool df;
	const void *payload;	/**< may be NULL with payload_len bytes of zeros */
	uint16_t payload_len;
};

/**
 * Build a complete frame with correct lengths and checksums.
 * @return frame length, -ENOSPC when @p cap is too small, -EINVAL for a bad spec.
 */
int lp_pkt_build(uint8_t *buf, size_t cap, const struct lp_pkt_spec *s);

/** ARP operations. */
#define LP_ARP_REQUEST 1
#define LP_ARP_REPLY   2

/**
 * Build an Ethernet/IPv4 ARP frame (42 bytes, untagged). The Ethernet
 * destination is broadcast for a request and @p tha for a reply. @p tha may
 * be NULL (zeros: the unknown target of a request).
 * @return frame length or -ENOSPC.
 */
int lp_pkt_build_arp(uint8_t *buf, size_t cap, uint16_t op, const struct lp_mac *sha,
		     const uint8_t spa[4], const struct lp_mac *tha, const uint8_t tpa[4]);

/** What lp_pkt_build_icmp_error() puts around the quote; host byte order. */
struct lp_icmp_err_spec {
	struct lp_mac src_mac, dst_mac;
	uint16_t vlan;		/**< 0: untagged, else the VLAN id */
	struct lp_ip src;	/**< sender of the error; the destination is the quoted packet's source */
	uint8_t type, code;	/**< ICMP (IPv4) or ICMPv6 (IPv6) error type and code */
	/**
	 * ICMP header bytes 4..7: the next-hop MTU for fragmentation needed
	 * (IPv4, in the low 16 bits) and packet too big (IPv6); the pointer for
	 * parameter problem (IPv6 as is, IPv4 shifted left by 24); else 0.
	 */
	uint32_t info;
	uint8_t ttl;		/**< 0 → 64 */
};

/**
 * Build an ICMP (IPv4) or ICMPv6 (IPv6) error about the IP packet of a
 * parsed frame, quoting as much of it as fits in 576 bytes of IPv4 (RFC
 * 1812 4.3.2.3) or 1280 bytes of IPv6 (RFC 4443 2.4). @p buf may be
 * @p orig itself (the error is then built in place). Whether an error may be
 * sent at all (never about an ICMP error, a non-first fragment, a multicast
 * destination; rate limits) is the caller's decision.
 * @return frame length, -ENOSPC, or -EINVAL when the families differ or
 *   @p om is not an IP packet.
 */
int lp_pkt_build_icmp_error(uint8_t *buf, size_t cap, const struct lp_icmp_err_spec *s,
			    const uint8_t *orig, const struct lp_pkt_meta *om);

/** Neighbor advertisement flags (RFC 4861 4.4), as in the message's flags byte. */
#define LP_ND_NA_ROUTER    0x80
#define LP_ND_NA_SOLICITED 0x40
#define LP_ND_NA_OVERRIDE  0x20

/** What lp_pkt_build_ns() and lp_pkt_build_na() write. */
struct lp_nd_spec {
	struct lp_mac src_mac;	/**< Ethernet source and the link-layer address option */
	struct lp_mac dst_mac;	/**< Ethernet destination for a unicast @p dst (multicast: derived) */
	uint16_t vlan;		/**< 0: untagged, else the VLAN id */
	uint8_t src[16];	/**< IPv6 source; :: only for an NS probing for duplicates */
	/** IPv6 destination; :: means the target's solicited-node group (NS), all nodes (NA) */
	uint8_t dst[16];
	uint8_t target[16];	/**< the address being resolved or advertised */
	uint8_t na_flags;	/**< NA: LP_ND_NA_* */
};

/**
 * Build a neighbor solicitation (hop limit 255, source link-layer address
 * option unless the source is ::).
 * @return frame length, -ENOSPC or -EINVAL.
 */
int lp_pkt_build_ns(uint8_t *buf, size_t cap, const struct lp_nd_spec *s);

/**
 * Build a neighbor advertisement (hop limit 255, target link-layer address
 * option). Unsolicited (dst ::) goes to all nodes and must not carry
 * LP_ND_NA_SOLICITED.
 * @return frame length, -ENOSPC or -EINVAL (source ::, solicited flag on an
 *   unsolicited advertisement).
 */
int lp_pkt_build_na(uint8_t *buf, size_t cap, const struct lp_nd_spec *s);

/** What a neighbor discovery message tells a neighbor cache. */
struct lp_nd_info {
	uint8_t target[16];	/**< NS, NA, redirect; zero for RS and RA */
	/** source link-layer address option (RS, RA, NS) or target one (NA, redirect) */
	struct lp_mac lladdr;
	bool has_lladdr;
	uint8_t na_flags;	/**< NA: LP_ND_NA_* */
};

/**
 * Validate a frame lp_pkt_parse() classified LP_PKT_ND as RFC 4861 (6.1,
 * 7.1, 8.1) asks of a receiver (hop limit 255, code 0, checksum, lengths,
 * options, addresses) and extract what it says. Slow path: it verifies the
 * checksum in full.
 * @return 0, or -EINVAL when the message must be ignored.
 */
int lp_pkt_nd_parse(const uint8_t *frame, const struct lp_pkt_meta *m, struct lp_nd_info *nd);

#endif /* LP_PKT_H */
