/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internet checksums: RFC 1071 sums, RFC 1624 incremental updates, and the
 * full IPv4 header and L4 checksums the tests and builders use as reference.
 */
#include <netinet/in.h>

#include "lp_pkt.h"
#include "pkt_priv.h"

uint32_t
lp_csum_partial(const void *buf, size_t len, uint32_t sum)
{
	uint16_t folded = csum_fold64(csum_native(buf, len));
	uint64_t total;

	/* The native sum is the byte-swapped big-endian sum (RFC 1071 2(B)). */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	folded = __builtin_bswap16(folded);
#endif
	total = (uint64_t)sum + folded;
	return (uint32_t)((total & 0xffffffffu) + (total >> 32));
}

uint16_t
lp_csum_replace(uint16_t cksum, const void *old, const void *new, size_t len)
{
	const uint8_t *o = (const uint8_t *)old, *n = (const uint8_t *)new;
	uint64_t sum = (uint16_t)~cksum;
	size_t i;

	for (i = 0; i + 2 <= len; i += 2)
		sum += (uint16_t)~load_raw16(o + i) + (uint64_t)load_raw16(n + i);
	if (i < len) {
		/* An odd last byte is the high half of a word whose low half does not change. */
		const uint8_t ot[2] = { o[i], 0 }, nt[2] = { n[i], 0 };

		sum += (uint16_t)~load_raw16(ot) + (uint64_t)load_raw16(nt);
	}
	return (uint16_t)~csum_fold64(sum);
}

uint16_t
lp_ipv4_cksum(const uint8_t *ip)
{
	size_t hl = (ip[0] & 0x0fu) * 4;
	/* Adding ~field takes the stored checksum out of the sum (x + ~x is zero). */
	uint64_t sum = csum_native(ip, hl) + (uint16_t)~load_raw16(ip + 10);

	return (uint16_t)~csum_fold64(sum);
}

uint16_t
lp_pkt_l4_cksum_raw(const uint8_t *l4, uint32_t len, size_t cksum_off, bool pseudo,
		    const uint8_t *saddr, const uint8_t *daddr, size_t alen, uint8_t proto)
{
	uint64_t sum = csum_native(l4, len) + (uint16_t)~load_raw16(l4 + cksum_off);
	uint16_t cksum;

	if (pseudo) {
		/*
		 * IPv4 {0, proto, length16} and IPv6 {length32, 0, 0, 0, next header}
		 * sum to the same words when the length fits in 16 bits.
		 */
		const uint8_t tail[4] = { 0, proto, (uint8_t)(len >> 8), (uint8_t)len };

		sum += csum_native(saddr, alen) + csum_native(daddr, alen) + csum_native(tail, 4);
	}
	cksum = (uint16_t)~csum_fold64(sum);
	/* RFC 768: a computed zero is sent as all ones; zero means "no checksum". */
	if (proto == IPPROTO_UDP && cksum == 0)
		cksum = 0xffff;
	return cksum;
}

uint16_t
lp_l4_cksum(const uint8_t *frame, const struct lp_pkt_meta *m)
{
	const uint8_t *ip = frame + m->l3_off, *l4 = frame + m->l4_off;
	bool v4 = m->key.family == LP_AF_INET;
	uint32_t len = (uint32_t)m->l3_off + m->l3_len - m->l4_off;
	size_t cksum_off;

	if (m->frag != LP_FRAG_NONE || m->l4_off == 0)
		return 0;
	switch (m->cls) {
	case LP_PKT_L4:
		if (m->key.proto == IPPROTO_TCP) {
			cksum_off = 16;
		} else {
			/* The datagram is what the UDP length says; IP may carry more. */
			cksum_off = 6;
			len = load_be16(l4 + 4);
		}
		break;
	case LP_PKT_ICMP:
	case LP_PKT_ICMP_ERR:
	case LP_PKT_ND:
		cksum_off = 2;
		break;
	default:
		return 0;
	}
	/* ICMPv4 alone has no pseudo header. */
	if (v4 && m->key.proto == IPPROTO_ICMP)
		return lp_pkt_l4_cksum_raw(l4, len, cksum_off, false, NULL, NULL, 0, m->key.proto);
	return lp_pkt_l4_cksum_raw(l4, len, cksum_off, true, ip + (v4 ? 12 : 8), ip + (v4 ? 16 : 24),
				   v4 ? 4 : 16, m->key.proto);
}
