/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Scenarios: the n-th packet of a run, computed, never stored, so a run of
 * ten million flows needs no table. One template per kind of frame is
 * built with lp_pkt_build(); each packet is a copy whose source address,
 * source port and stamp are patched with incremental checksum updates,
 * which costs a few dozen instructions instead of a full build.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "gen.h"

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Client @i's address: the client network's address plus i + 1 in its
 * last 32 bits. */
static void
client_addr(const struct gen_opts *o, uint32_t i, uint8_t out[16])
{
	unsigned int off = o->family == LP_AF_INET ? 0 : 12;
	uint32_t a;

	memcpy(out, o->client_net.a, 16);
	a = (uint32_t)out[off] << 24 | (uint32_t)out[off + 1] << 16 | (uint32_t)out[off + 2] << 8 | out[off + 3];
	a += i + 1;
	out[off] = (uint8_t)(a >> 24);
	out[off + 1] = (uint8_t)(a >> 16);
	out[off + 2] = (uint8_t)(a >> 8);
	out[off + 3] = (uint8_t)a;
}

int
gen_scen_init(struct gen_scen *s, const struct gen_opts *o)
{
	static const uint8_t flags[GK_MAX] = {
		[GK_SYN] = LP_TCP_SYN, [GK_ACK] = LP_TCP_ACK, [GK_DATA] = LP_TCP_PSH | LP_TCP_ACK,
		[GK_FIN] = LP_TCP_FIN | LP_TCP_ACK, [GK_UDP] = 0,
	};
	uint32_t hdr = 14 + (o->family == LP_AF_INET ? 20 : 40) + (o->proto == IPPROTO_TCP ? 20 : 8), size;
	struct lp_pkt_meta m;

	memset(s, 0, sizeof(*s));
	s->o = o;
	/* --size 0: the smallest frame, 64 bytes or what the headers and the
	 * stamp need (IPv6). */
	size = o->size ? o->size : hdr + GEN_STAMP_LEN + 4 > 64 ? hdr + GEN_STAMP_LEN + 4 : 64;
	if (o->clients == 0 || o->flows == 0 || (uint64_t)o->clients * o->flows > UINT32_MAX) {
		fprintf(stderr, "limpet-gen: --clients and --flows must be at least 1 (and their product below 2^32)\n");
		return -EINVAL;
	}
	if (size < 64 || size > 1518 || size - 4 < hdr + GEN_STAMP_LEN) {
		fprintf(stderr, "limpet-gen: --size %u: frames are 64..1518 bytes and must hold the headers and a %u-byte stamp (%u)\n",
			size, GEN_STAMP_LEN, hdr + GEN_STAMP_LEN + 4);
		return -EINVAL;
	}
	s->n_flows = o->clients * o->flows;
	s->sport_span = 65536u - o->sport;
	if (o->flows > s->sport_span) {
		fprintf(stderr, "limpet-gen: --flows %u: only %u source ports from --sport %u\n", o->flows,
			s->sport_span, o->sport);
		return -EINVAL;
	}
	s->per_flow = o->proto == IPPROTO_TCP ? 3 + o->data : o->data + 1;
	for (int k = 0; k < GK_MAX; k++) {
		struct lp_pkt_spec p = {
			.src_mac = o->src_mac,
			.dst_mac = o->dst_mac,
			.proto = o->proto,
			.sport = o->sport,
			.dport = o->vport,
			.tcp_flags = flags[k],
			.seq = k == GK_SYN ? 1000 : 1001,
			.ack = k == GK_SYN ? 0 : 1,
			.ttl = 64,
			.payload_len = (uint16_t)(size - 4 - hdr),
		};
		int n;

		if ((k == GK_UDP) != (o->proto == IPPROTO_UDP))
			continue;
		p.src.family = p.dst.family = o->family;
		client_addr(o, 0, p.src.a);
		memcpy(p.dst.a, o->vip.a, 16);
		n = lp_pkt_build(s->tmpl[k], sizeof(s->tmpl[k]), &p);
		if (n < 0) {
			fprintf(stderr, "limpet-gen: cannot build the frames (check --vip and --client-net families)\n");
			return -EINVAL;
		}
		s->len = (uint16_t)n;
	}
	if (lp_pkt_parse(s->tmpl[o->proto == IPPROTO_TCP ? GK_SYN : GK_UDP], s->len, &m) != LP_DROP_NONE) {
		fprintf(stderr, "limpet-gen: the frames do not parse (bad addresses?)\n");
		return -EINVAL;
	}
	s->l3_off = m.l3_off;
	s->l4_off = m.l4_off;
	s->payload_off = (uint16_t)(m.l4_off + (o->proto == IPPROTO_TCP ? 20 : 8));
	return 0;
}

uint64_t
gen_scen_pass_len(const struct gen_scen *s)
{
	switch (s->o->scenario) {
	case GEN_CONN:
		return (uint64_t)s->n_flows * s->per_flow;
	case GEN_EST:
		return gen_scen_setup_len(s) + s->n_flows;
	default:
		return 0;
	}
}

uint64_t
gen_scen_setup_len(const struct gen_scen *s)
{
	return s->o->scenario == GEN_EST && s->o->proto == IPPROTO_TCP ? 2ull * s->n_flows : 0;
}

/* Which frame and which tuple packet @seq is. */
static enum gen_kind
locate(const struct gen_scen *s, uint64_t seq, uint32_t *client, uint16_t *sport)
{
	const struct gen_opts *o = s->o;
	bool tcp = o->proto == IPPROTO_TCP;
	uint64_t flow, pass = 0, round = 0, conn;
	enum gen_kind kind;

	switch (o->scenario) {
	case GEN_CONN: {
		uint64_t len = (uint64_t)s->n_flows * s->per_flow, r = seq % len;

		/* Each pass repeats the connections on new source ports. */
		pass = seq / len;
		round = r / s->n_flows;
		flow = r % s->n_flows;
		if (!tcp)
			kind = GK_UDP;
		else if (round == 0)
			kind = GK_SYN;
		else if (round == 1)
			kind = GK_ACK;
		else if (round == s->per_flow - 1)
			kind = GK_FIN;
		else
			kind = GK_DATA;
		break;
	}
	case GEN_EST: {
		uint64_t setup = gen_scen_setup_len(s);

		if (seq < setup) {
			flow = seq % s->n_flows;
			kind = seq < s->n_flows ? GK_SYN : GK_ACK;
		} else {
			flow = (seq - setup) % s->n_flows;
			kind = tcp ? GK_DATA : GK_UDP;
		}
		break;
	}
	case GEN_SYN:
		/* Connection @seq: clients in turn, each on its next port. */
		conn = seq;
		*client = (uint32_t)(conn % o->clients);
		*sport = (uint16_t)(o->sport + (conn / o->clients) % s->sport_span);
		return tcp ? GK_SYN : GK_UDP;
	default:
		flow = seq % s->n_flows;
		kind = tcp ? GK_ACK : GK_UDP;
		break;
	}
	/* Consecutive flows belong to different clients: RSS spreads them. */
	*client = (uint32_t)(flow % o->clients);
	*sport = (uint16_t)(o->sport + (flow / o->clients + pass * o->flows) % s->sport_span);
	return kind;
}

/* Update the checksum at @cks (network order) for @len bytes changing
 * from @old to @new; a UDP datagram without a checksum keeps none. */
static void
cks_update(uint8_t *cks, const void *old, const void *new, size_t len, bool udp)
{
	uint16_t c;

	memcpy(&c, cks, 2);
	if (udp && c == 0)
		return;
	c = lp_csum_replace(c, old, new, len);
	if (udp && c == 0)
		c = 0xffff;
	memcpy(cks, &c, 2);
}

uint16_t
gen_scen_packet(const struct gen_scen *s, uint64_t seq, uint64_t stamp, uint8_t *buf)
{
	const struct gen_opts *o = s->o;
	bool v4 = o->family == LP_AF_INET, udp = o->proto == IPPROTO_UDP;
	uint8_t *ip = buf + s->l3_off, *l4 = buf + s->l4_off;
	uint8_t *l4cks = l4 + (udp ? 6 : 16), addr[16], st[GEN_STAMP_LEN];
	uint16_t sport;
	uint32_t client;
	enum gen_kind kind = locate(s, seq, &client, &sport);
	unsigned int a_off = v4 ? 12 : 8 + 12;	/* the source address's last 4 bytes */

	memcpy(buf, s->tmpl[kind], s->len);
	if (client != 0) {
		const uint8_t *a;

		client_addr(o, client, addr);
		a = addr + (v4 ? 0 : 12);
		if (v4)
			cks_update(ip + 10, ip + a_off, a, 4, false);
		cks_update(l4cks, ip + a_off, a, 4, udp);	/* pseudo header */
		memcpy(ip + a_off, a, 4);
	}
	if (sport != o->sport) {
		uint16_t be = htons(sport);

		cks_update(l4cks, l4, &be, 2, udp);
		memcpy(l4, &be, 2);
	}
	for (int i = 0; i < GEN_STAMP_LEN; i++)
		st[i] = (uint8_t)(stamp >> (8 * i));
	cks_update(l4cks, buf + s->payload_off, st, GEN_STAMP_LEN, udp);
	memcpy(buf + s->payload_off, st, GEN_STAMP_LEN);
	return s->len;
}

bool
gen_is_malformed(const struct gen_opts *o, uint64_t slot)
{
	if (o->malformed <= 0)
		return false;
	return (double)(splitmix64(slot ^ 0x6d616c66ULL) >> 11) * 0x1.0p-53 < o->malformed;
}

uint16_t
gen_malform(const struct gen_scen *s, uint64_t slot, uint8_t *buf, uint16_t len)
{
	uint8_t *ip = buf + s->l3_off;
	bool v4 = s->o->family == LP_AF_INET;
	uint16_t l;

	switch (splitmix64(slot) % 4) {
	case 0:		/* cut inside the IP header */
		return (uint16_t)(s->l3_off + 10);
	case 1:		/* IPv4 header length 16 bytes / IP version 5 */
		ip[0] = v4 ? 0x44 : (uint8_t)(0x50 | (ip[0] & 0x0f));
		return len;
	case 2:		/* a length field larger than the frame */
		memcpy(&l, ip + (v4 ? 2 : 4), 2);
		l = htons((uint16_t)(ntohs(l) + 100));
		memcpy(ip + (v4 ? 2 : 4), &l, 2);
		return len;
	default:
		if (s->o->proto == IPPROTO_TCP) {
			buf[s->l4_off + 13] = LP_TCP_SYN | LP_TCP_FIN;	/* impossible flags */
		} else if (v4) {
			ip[12] = 127;	/* loopback source */
			ip[13] = ip[14] = 0;
			ip[15] = 1;
		} else {
			memset(ip + 8, 0, 15);
			ip[23] = 1;
		}
		return len;
	}
}
