/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internals shared by the packet core's .c files: unaligned big-endian loads
 * and stores, wire constants, and one's complement sums kept in native byte
 * order.
 *
 * Why native order: a one's complement sum is byte-order independent (RFC
 * 1071 section 2(B)): summing 16-bit words loaded in host order gives the
 * byte-swapped sum of the big-endian words. So checksums are computed and
 * updated on words loaded with memcpy, and the result is stored back with
 * memcpy, without a swap anywhere.
 */
#ifndef LP_PKT_PRIV_H
#define LP_PKT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ETH_HLEN	14
#define VLAN_HLEN	4
#define ETHERTYPE_IPV4	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_VLAN	0x8100
#define ETHERTYPE_IPV6	0x86dd
#define IPV4_HLEN	20
#define IPV6_HLEN	40
#define TCP_HLEN	20
#define UDP_HLEN	8
#define ICMP_HLEN	8
#define ARP_LEN		28

/* IPv4 flags/fragment-offset field (host order). */
#define IPV4_DF		0x4000
#define IPV4_MF		0x2000
#define IPV4_OFFSET	0x1fff

#define ND_RS		133
#define ND_RA		134
#define ND_NS		135
#define ND_NA		136
#define ND_REDIRECT	137

static inline uint16_t
load_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void
store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* A 16-bit field as stored, for checksum arithmetic in native order. */
static inline uint16_t
load_raw16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return v;
}

static inline void
store_raw16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

/*
 * Native-order one's complement sum of buf, not folded. 32-bit words go into
 * a 64-bit accumulator, which cannot carry out below 16 GiB of input.
 */
static inline uint64_t
csum_native(const void *buf, size_t len)
{
	const uint8_t *p = (const uint8_t *)buf;
	uint64_t sum = 0;
	uint32_t w;
	uint16_t h;

	for (; len >= 4; p += 4, len -= 4) {
		memcpy(&w, p, 4);
		sum += w;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len != 0) {
		/* The odd byte is the high half of a big-endian word padded with zero. */
		const uint8_t tail[2] = { p[0], 0 };

		memcpy(&h, tail, 2);
		sum += h;
	}
	return sum;
}

/*
 * Fold a 64-bit one's complement sum to 16 bits (not inverted). Adding a
 * word to itself rotated by half its width leaves, in the high half, the
 * end-around-carry sum of its two halves: two steps, 64 → 32 → 16.
 */
static inline uint16_t
csum_fold64(uint64_t sum)
{
	uint32_t s = (uint32_t)((sum + (sum >> 32 | sum << 32)) >> 32);

	return (uint16_t)((s + (s >> 16 | s << 16)) >> 16);
}

/*
 * The RFC 1624 eqn. 3 difference term, sum(~m + m'), for a field of len
 * bytes (a multiple of 4) changing from old to new. Wider words are fine:
 * folding a sum of 32-bit words equals summing their 16-bit halves.
 */
static inline uint64_t
csum_delta(const uint8_t *old, const uint8_t *new, size_t len)
{
	uint64_t sum = 0;
	uint32_t o, n;

	for (size_t i = 0; i < len; i += 4) {
		memcpy(&o, old + i, 4);
		memcpy(&n, new + i, 4);
		sum += (uint32_t)~o;
		sum += n;
	}
	return sum;
}

/* RFC 1624 eqn. 3: HC' = ~(~HC + sum(~m + m')), native order in and out. */
static inline uint16_t
csum_apply(uint16_t cksum, uint64_t delta)
{
	return (uint16_t)~csum_fold64((uint16_t)~cksum + delta);
}

/*
 * Full checksum, native order, of an L4 segment whose checksum field (at
 * cksum_off) may hold anything: it is taken out of the sum rather than
 * assumed zero. With pseudo, the IPv4 or IPv6 pseudo header made of the
 * addresses at saddr/daddr (alen bytes each), proto and len is included.
 */
uint16_t lp_pkt_l4_cksum_raw(const uint8_t *l4, uint32_t len, size_t cksum_off, bool pseudo,
			     const uint8_t *saddr, const uint8_t *daddr, size_t alen, uint8_t proto);

#endif /* LP_PKT_PRIV_H */
