/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer target for the packet core: parse arbitrary bytes; when a frame
 * is accepted, check what the metadata promises (offsets inside the packet,
 * zeroed key bytes, class and fragment agreeing), then NAT, TTL and
 * encapsulate copies of it in a buffer with headroom and check that every
 * checksum that was right stays right and that the result parses as
 * expected. An invariant that does not hold aborts, which libFuzzer reports
 * with the input.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_pkt.h"

#define HEADROOM 64
#define FRAME_MAX 65600

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "fuzz_pkt: %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                     \
		}                                                                    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t buf[HEADROOM + FRAME_MAX];

static bool
zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

static uint16_t
rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
check_meta(const struct lp_pkt_meta *m, size_t size)
{
	uint32_t end = (uint32_t)m->l3_off + m->l3_len;
	size_t alen = m->key.family == LP_AF_INET6 ? 16 : 4;

	CHECK(m->l3_off == ((m->flags & LP_PKT_F_VLAN) ? 18 : 14));
	CHECK(end <= size);
	CHECK(m->cls <= LP_PKT_OTHER && m->frag <= LP_FRAG_LATER);
	CHECK((m->flags & ~(LP_PKT_F_VLAN | LP_PKT_F_DF)) == 0);
	CHECK(m->key.family == LP_AF_INET || m->key.family == LP_AF_INET6);
	CHECK(m->key.zone == 0);
	CHECK(zero(m->key.src + alen, 16 - alen) && zero(m->key.dst + alen, 16 - alen));
	CHECK((m->cls == LP_PKT_FRAG) == (m->frag == LP_FRAG_LATER));
	if (m->l4_off != 0)
		CHECK(m->l4_off > m->l3_off && m->l4_off < end);
	switch (m->cls) {
	case LP_PKT_L4:
		CHECK(m->key.proto == IPPROTO_TCP || m->key.proto == IPPROTO_UDP);
		CHECK(m->l4_off != 0 && end - m->l4_off >= (m->key.proto == IPPROTO_TCP ? 20u : 8u));
		break;
	case LP_PKT_ICMP:
	case LP_PKT_ICMP_ERR:
	case LP_PKT_ND:
		CHECK(m->l4_off != 0 && end - m->l4_off >= 8);
		CHECK(m->key.sport == m->key.dport);
		break;
	case LP_PKT_ARP:
		CHECK(m->l3_len == 28 && m->l4_off == 0 && m->key.family == LP_AF_INET);
		/* fallthrough */
	default:
		CHECK(m->key.sport == 0 && m->key.dport == 0);
		break;
	}
	if (m->cls == LP_PKT_FRAG)
		CHECK(m->l4_off == 0);
	if (m->cls == LP_PKT_ND)
		CHECK(m->key.family == LP_AF_INET6 && m->frag == LP_FRAG_NONE);
	if (m->cls != LP_PKT_L4 || m->key.proto != IPPROTO_TCP)
		CHECK(m->tcp_flags == 0);
	if (m->cls == LP_PKT_ICMP_ERR) {
		CHECK(m->inner_l3_off == m->l4_off + 8);
		CHECK(m->inner_l4_off > m->inner_l3_off && m->inner_l4_off + 8u <= end);
		CHECK(m->inner.family == m->key.family && m->inner.zone == 0);
		CHECK(zero(m->inner.src + alen, 16 - alen) && zero(m->inner.dst + alen, 16 - alen));
	} else {
		CHECK(zero(&m->inner, sizeof(m->inner)) && m->inner_l3_off == 0 && m->inner_l4_off == 0);
	}
}

/* Which checksums of the frame are right now; a rewrite must keep them right. */
struct sums {
	bool ip;
	bool l4;
};

static size_t
l4_cksum_off(const struct lp_pkt_meta *m)
{
	if (m->cls != LP_PKT_L4)
		return 2;
	return m->key.proto == IPPROTO_TCP ? 16 : 6;
}

static struct sums
sums_ok(const uint8_t *f, const struct lp_pkt_meta *m)
{
	struct sums s = { false, false };
	uint16_t ck;

	if (m->key.family == LP_AF_INET && m->cls != LP_PKT_ARP) {
		ck = lp_ipv4_cksum(f + m->l3_off);
		s.ip = memcmp(&ck, f + m->l3_off + 10, 2) == 0;
	}
	if (m->frag == LP_FRAG_NONE && m->l4_off != 0 && m->cls != LP_PKT_OTHER) {
		const uint8_t *c = f + m->l4_off + l4_cksum_off(m);

		/* A zero UDP checksum means none; it stays zero and proves nothing. */
		if (!(m->cls == LP_PKT_L4 && m->key.proto == IPPROTO_UDP && rd16(c) == 0)) {
			ck = lp_l4_cksum(f, m);
			s.l4 = memcmp(&ck, c, 2) == 0;
		}
	}
	return s;
}

static void
check_sums_kept(const struct sums *before, const uint8_t *f, const struct lp_pkt_meta *m)
{
	struct sums after = sums_ok(f, m);

	if (before->ip)
		CHECK(after.ip);
	if (before->l4)
		CHECK(after.l4);
}

/* Addresses to rewrite to: unicast, so a rewritten source still parses. */
static void
pick_addr(uint8_t family, uint8_t seed, uint8_t *a)
{
	memset(a, 0, 16);
	if (family == LP_AF_INET) {
		a[0] = 10;
		a[3] = seed;
	} else {
		a[0] = 0x20;
		a[1] = 0x01;
		a[15] = seed;
	}
}

static void
nat_and_check(const uint8_t *data, size_t size, const struct lp_pkt_meta *m, bool src)
{
	uint8_t *f = buf + HEADROOM, addr[16];
	uint16_t port = (uint16_t)(size * 2654435761u);
	struct lp_pkt_meta after;
	struct sums before;

	memcpy(f, data, size);
	before = sums_ok(f, m);
	pick_addr(m->key.family, (uint8_t)size, addr);
	if (src)
		lp_pkt_snat(f, m, addr, port);
	else
		lp_pkt_dnat(f, m, addr, port);
	if (m->cls == LP_PKT_ARP) {
		CHECK(memcmp(f, data, size) == 0);
		return;
	}
	check_sums_kept(&before, f, m);
	CHECK(lp_pkt_parse(f, (uint32_t)size, &after) == LP_DROP_NONE);
	CHECK(after.cls == m->cls && after.frag == m->frag && after.l4_off == m->l4_off);
	CHECK(memcmp(src ? after.key.src : after.key.dst, addr, 16) == 0);
	CHECK(memcmp(src ? after.key.dst : after.key.src, src ? m->key.dst : m->key.src, 16) == 0);
	if (m->cls == LP_PKT_L4)
		CHECK((src ? after.key.sport : after.key.dport) == port);
	else
		CHECK(after.key.sport == m->key.sport && after.key.dport == m->key.dport);
	CHECK(memcmp(&after.inner, &m->inner, sizeof(m->inner)) == 0);
}

static void
ttl_and_check(const uint8_t *data, size_t size, const struct lp_pkt_meta *m)
{
	uint8_t *f = buf + HEADROOM;
	struct sums before;
	bool ok;

	if (m->cls == LP_PKT_ARP)
		return;
	memcpy(f, data, size);
	before = sums_ok(f, m);
	ok = lp_pkt_dec_ttl(f, m);
	CHECK(ok == (m->ttl > 1));
	if (!ok) {
		CHECK(memcmp(f, data, size) == 0);
		return;
	}
	check_sums_kept(&before, f, m);
	CHECK(f[m->l3_off + (m->key.family == LP_AF_INET ? 8 : 7)] == m->ttl - 1);
}

static void
encap_and_check(const uint8_t *data, size_t size, const struct lp_pkt_meta *m, uint8_t outer_family)
{
	uint8_t *f = buf + HEADROOM, *start;
	struct lp_ip src = { .family = outer_family }, dst = { .family = outer_family };
	uint32_t elen = LP_ENCAP_LEN(outer_family), len;
	struct lp_pkt_meta om;

	pick_addr(outer_family, 1, src.a);
	pick_addr(outer_family, 2, dst.a);
	memset(buf, 0xa5, HEADROOM);
	memcpy(f, data, size);
	start = lp_pkt_encap(f, m, &src, &dst, 64, (uint32_t)size * 0x9e3779b9u);
	if (m->cls == LP_PKT_ARP || (outer_family == LP_AF_INET && m->l3_len > 65535 - 20)) {
		CHECK(start == NULL);
		CHECK(memcmp(f, data, size) == 0);
		return;
	}
	CHECK(start == f - elen);
	for (size_t i = 0; i < HEADROOM - elen; i++)
		CHECK(buf[i] == 0xa5);
	len = m->l3_off + elen + m->l3_len;
	CHECK(memcmp(start, data, 12) == 0);
	CHECK(memcmp(start + m->l3_off + elen, data + m->l3_off, m->l3_len) == 0);
	/* An outer IPv6 payload above 65495 bytes is one the parser refuses. */
	if (outer_family == LP_AF_INET6 && m->l3_len > 65535 - 40)
		return;
	CHECK(lp_pkt_parse(start, len, &om) == LP_DROP_NONE);
	CHECK(om.cls == LP_PKT_OTHER && om.key.family == outer_family);
	CHECK(om.key.proto == (m->key.family == LP_AF_INET ? IPPROTO_IPIP : IPPROTO_IPV6));
	CHECK(om.l3_len == elen + m->l3_len && om.ttl == 64 && om.vlan_tci == m->vlan_tci);
	CHECK(memcmp(om.key.src, src.a, 16) == 0 && memcmp(om.key.dst, dst.a, 16) == 0);
	if (outer_family == LP_AF_INET) {
		uint16_t ck = lp_ipv4_cksum(start + m->l3_off);

		CHECK(memcmp(&ck, start + m->l3_off + 10, 2) == 0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lp_pkt_meta m, again;
	enum lp_drop r;

	if (size > FRAME_MAX)
		return 0;
	r = lp_pkt_parse(data, (uint32_t)size, &m);
	CHECK((unsigned int)r < LP_DROP_MAX);
	/* Deterministic, and nothing left over from a previous call. */
	memset(&again, 0x5a, sizeof(again));
	CHECK(lp_pkt_parse(data, (uint32_t)size, &again) == r);
	if (r != LP_DROP_NONE)
		return 0;
	CHECK(memcmp(&m, &again, sizeof(m)) == 0);
	check_meta(&m, size);
	if (m.cls == LP_PKT_ND) {
		struct lp_nd_info nd;

		(void)lp_pkt_nd_parse(data, &m, &nd);
	}
	nat_and_check(data, size, &m, false);
	nat_and_check(data, size, &m, true);
	ttl_and_check(data, size, &m);
	encap_and_check(data, size, &m, LP_AF_INET);
	encap_and_check(data, size, &m, LP_AF_INET6);
	return 0;
}
