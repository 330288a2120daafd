/* SPDX-License-Identifier: BSD-3-Clause */
/* What comes back: rewrite checks, stamps, the latency histogram. */
#include <netinet/in.h>
#include <string.h>

#include "gen.h"

const char *const gen_verdict_names[GV_MAX] = {
	[GV_OK] = "ok",
	[GV_OTHER] = "ARP or neighbor discovery",
	[GV_PARSE] = "does not parse as unfragmented TCP/UDP",
	[GV_FAMILY] = "wrong address family",
	[GV_DST] = "destination outside --expect-dst",
	[GV_DPORT] = "destination port is not --expect-dport",
	[GV_MAC] = "destination MAC is none of --expect-mac",
	[GV_TTL] = "TTL / hop limit is not --expect-ttl",
	[GV_IP_CSUM] = "bad IPv4 header checksum",
	[GV_L4_CSUM] = "bad TCP/UDP checksum",
};

enum gen_verdict
gen_check(const struct gen_opts *o, const uint8_t *frame, uint32_t len)
{
	struct lp_pkt_meta m;
	struct lp_ip dst;
	uint16_t stored;

	if (lp_pkt_parse(frame, len, &m) != LP_DROP_NONE)
		return GV_PARSE;
	if (m.cls == LP_PKT_ARP || m.cls == LP_PKT_ND)
		return GV_OTHER;
	if (m.cls != LP_PKT_L4 || m.frag != LP_FRAG_NONE)
		return GV_PARSE;
	if (o->expect_net.family != 0) {
		if (m.key.family != o->expect_net.family)
			return GV_FAMILY;
		dst.family = m.key.family;
		memcpy(dst.a, m.key.dst, 16);
		if (!lp_ip_in_prefix(&dst, &o->expect_net, o->expect_prefix))
			return GV_DST;
	}
	if (o->expect_dport != 0 && m.key.dport != htons(o->expect_dport))
		return GV_DPORT;
	if (o->n_expect_mac > 0) {
		uint32_t i;

		for (i = 0; i < o->n_expect_mac; i++)
			if (memcmp(frame, o->expect_mac[i].b, 6) == 0)
				break;
		if (i == o->n_expect_mac)
			return GV_MAC;
	}
	if (o->expect_ttl != 0 && m.ttl != o->expect_ttl)
		return GV_TTL;
	if (m.key.family == LP_AF_INET) {
		memcpy(&stored, frame + m.l3_off + 10, 2);
		if (stored != lp_ipv4_cksum(frame + m.l3_off))
			return GV_IP_CSUM;
	}
	memcpy(&stored, frame + m.l4_off + (m.key.proto == IPPROTO_TCP ? 16 : 6), 2);
	if (!(m.key.proto == IPPROTO_UDP && stored == 0) && stored != lp_l4_cksum(frame, &m))
		return GV_L4_CSUM;
	return GV_OK;
}

bool
gen_stamp(const uint8_t *frame, uint32_t len, uint64_t *stamp)
{
	struct lp_pkt_meta m;
	uint32_t off;

	if (lp_pkt_parse(frame, len, &m) != LP_DROP_NONE || m.cls != LP_PKT_L4 || m.frag != LP_FRAG_NONE)
		return false;
	off = m.l4_off + (m.key.proto == IPPROTO_TCP ? (uint32_t)(frame[m.l4_off + 12] >> 4) * 4 : 8u);
	if (off + GEN_STAMP_LEN > (uint32_t)m.l3_off + m.l3_len)
		return false;
	*stamp = 0;
	for (int i = GEN_STAMP_LEN - 1; i >= 0; i--)
		*stamp = *stamp << 8 | frame[off + i];
	return true;
}

static uint32_t
hist_index(uint64_t v)
{
	unsigned int e;

	if (v < 64)
		return (uint32_t)v;
	e = 63u - (unsigned int)__builtin_clzll(v);	/* 6..63 */
	return 64 + (e - 6) * 32 + (uint32_t)((v >> (e - 5)) & 31);
}

/* Largest value that falls in bucket @b. */
static uint64_t
hist_upper(uint32_t b)
{
	unsigned int e;

	if (b < 64)
		return b;
	e = (b - 64) / 32 + 6;
	return ((uint64_t)(32 + (b - 64) % 32 + 1) << (e - 5)) - 1;
}

void
gen_hist_add(struct gen_hist *h, uint64_t cycles)
{
	h->bucket[hist_index(cycles)]++;
	h->n++;
	if (cycles > h->max)
		h->max = cycles;
}

uint64_t
gen_hist_quantile(const struct gen_hist *h, double q)
{
	uint64_t want = (uint64_t)(q * (double)h->n), seen = 0;

	if (h->n == 0)
		return 0;
	if (want >= h->n)
		want = h->n - 1;
	for (uint32_t b = 0; b < GEN_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen > want)
			return hist_upper(b) < h->max ? hist_upper(b) : h->max;
	}
	return h->max;
}
