/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Test library shared by the packet-core unit tests (test_pkt,
 * test_pkt_rewrite, test_pkt_build): a frame crafter written independently
 * of lib/pkt, a deterministic PRNG and a plain RFC 1071 reference checksum.
 *
 * The crafter lays out every header byte by byte and computes every checksum
 * with the reference, and it can be told to get any field wrong (OV()). Tests
 * compare what the library does against frames crafted here, so a bug shared
 * by the library and its tests would have to be written twice.
 */
#ifndef LP_TEST_PKT_CRAFT_H
#define LP_TEST_PKT_CRAFT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <CUnit/CUnit.h>

#include "lp_pkt.h"

/** Size of every frame buffer handed to craft(). */
#define FRAME_MAX 8192
/** Rounds of each randomized test. */
#define RANDOM_ROUNDS 4000

/* ---- assertions that name the failing case ---- */

/** CU_ASSERT(cond) that also prints desc when cond fails. */
#define CASE_ASSERT(desc, cond)                                                              \
	do {                                                                                 \
		bool ok_ = (cond);                                                           \
		CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);       \
		if (!ok_)                                                                    \
			printf("\n    case: %s\n", (desc));                                     \
	} while (0)

/* ---- deterministic PRNG (splitmix64) ---- */

/** PRNG state: a test sets it to its own seed before drawing. */
extern uint64_t rng_state;

/** Next 64 random bits. */
uint64_t rnd(void);
/** Uniform enough in [0, n) for test inputs. */
uint32_t rnd_below(uint32_t n);
/** Fill p[0..n) with random bytes. */
void rnd_bytes(uint8_t *p, size_t n);
/** A random unicast address of family 4 or 6 (acceptable to the parser as a source). */
void rnd_addr(uint8_t family, struct lp_ip *ip);

/* ---- reference checksum: RFC 1071 over big-endian words, nothing clever ---- */

/** Add p[0..len) to acc as big-endian 16-bit words (an odd last byte is the high half). */
uint64_t ref_add(uint64_t acc, const uint8_t *p, size_t len);
/** Fold acc to 16 bits with end-around carries (not complemented). */
uint16_t ref_fold(uint64_t acc);
/** IPv4 header checksum (host order value) with bytes 10..11 left out. */
uint16_t ref_ipv4_cksum(const uint8_t *ip);
/**
 * TCP/UDP/ICMP/ICMPv6 checksum (host order) of seg[0..len) with the
 * checksum at ck_off left out; ICMPv4 has no pseudo header; UDP's zero is
 * sent as 0xffff. family is 4 or 6; src and dst are the raw addresses.
 */
uint16_t ref_l4_cksum(int family, const uint8_t *src, const uint8_t *dst, uint8_t proto,
		      const uint8_t *seg, size_t len, size_t ck_off);

/** Big-endian 16-bit read. */
uint16_t rd16(const uint8_t *p);
/** Big-endian 16-bit write of the low 16 bits of v. */
void wr16(uint8_t *p, uint32_t v);
/** Big-endian 32-bit write. */
void wr32(uint8_t *p, uint32_t v);

/* ---- the crafter ---- */

/** A field set with OV(x) overrides what the crafter would write; 0 means "correct". */
#define OV(x) (0x10000u | (uint32_t)(x))

/** The value of an OV() field, or dflt when it was left at 0. */
uint32_t ov(uint32_t field, uint32_t dflt);

/** Address initializers: IPv4 from four bytes, IPv6 from bytes 0, 1 and 15. */
#define IP4(w, x, y, z) { .family = LP_AF_INET, .a = { w, x, y, z } }
#define IP6(b0, b1, b15) { .family = LP_AF_INET6, .a = { [0] = b0, [1] = b1, [15] = b15 } }

/** The IPv4 addresses a craft with no src/dst gets (and ARP frames carry). */
extern const struct lp_ip def_src4, def_dst4;

/** One IPv6 extension header to craft. */
struct ext6 {
	uint8_t type;		/* IPPROTO_HOPOPTS, _ROUTING, _DSTOPTS or _FRAGMENT */
	uint8_t len8;		/* header extension length field (not for fragment) */
	uint8_t rt_type;	/* routing type */
	uint8_t segs_left;	/* routing: segments left */
	uint16_t frag_off;	/* fragment: offset in 8-byte units */
	bool more;		/* fragment: M flag */
};

/** A frame to craft: zero everywhere gives a correct frame; fields marked OV take OV(x). */
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

/** What the crafter laid out, for the expectations. */
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

/** Shorthands for struct craft initializers. */
#define TCP4 .family = 4, .proto = IPPROTO_TCP, .sport = 40000, .dport = 80
#define UDP4 .family = 4, .proto = IPPROTO_UDP, .sport = 5353, .dport = 53
#define TCP6 .family = 6, .proto = IPPROTO_TCP, .sport = 40001, .dport = 443
#define UDP6 .family = 6, .proto = IPPROTO_UDP, .sport = 5354, .dport = 4789
#define ICMP4 .family = 4, .proto = IPPROTO_ICMP
#define ICMP6 .family = 6, .proto = IPPROTO_ICMPV6
/** Shorthands for struct ext6 initializers. */
#define HBH { .type = IPPROTO_HOPOPTS }
#define DST { .type = IPPROTO_DSTOPTS }
#define DST2 { .type = IPPROTO_DSTOPTS, .len8 = 2 }
#define RT(t, s) { .type = IPPROTO_ROUTING, .len8 = 2, .rt_type = t, .segs_left = s }
#define FRAG(o, m) { .type = IPPROTO_FRAGMENT, .frag_off = o, .more = m }

/** The source address c is crafted with (its own, or the family's default). */
const struct lp_ip *craft_src(const struct craft *c);
/** The destination address c is crafted with (its own, or the family's default). */
const struct lp_ip *craft_dst(const struct craft *c);
/** The IP packet of c (no L2) at out; fills x (offsets relative to out); returns its length. */
size_t craft_ip(const struct craft *c, uint8_t *out, struct crafted *x);
/** The whole frame of c into out (FRAME_MAX bytes, zeroed first); fills x; returns its length. */
size_t craft(const struct craft *c, uint8_t *out, struct crafted *x);

/* ---- checks shared by the tests ---- */

/** True when p[0..n) is all zero bytes. */
bool all_zero(const void *p, size_t n);
/**
 * The checksums of frame f, parsed into m, agree with lp_ipv4_cksum() and
 * lp_l4_cksum() (L4 not checked for fragments, OTHER, or udp_nocsum).
 */
bool lib_cksums_ok(const uint8_t *f, const struct lp_pkt_meta *m, bool udp_nocsum);

#endif /* LP_TEST_PKT_CRAFT_H */
