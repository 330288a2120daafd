/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Neighbor discovery messages for the control plane: the validity checks of
 * RFC 4861 (6.1, 7.1, 8.1) beyond what lp_pkt_parse() does per packet, and
 * the target and link-layer address a neighbor cache needs.
 */
#include <errno.h>
#include <netinet/in.h>

#include "lp_pkt.h"
#include "pkt_priv.h"

#define ND_OPT_SLLA 1
#define ND_OPT_TLLA 2

static bool
is_unspecified(const uint8_t *a)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, 16) == 0;
}

static bool
is_link_local(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static bool
is_solicited_node(const uint8_t *a)
{
	static const uint8_t prefix[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };

	return memcmp(a, prefix, 13) == 0;
}

int
lp_pkt_nd_parse(const uint8_t *frame, const struct lp_pkt_meta *m, struct lp_nd_info *nd)
{
	const uint8_t *ip = frame + m->l3_off, *icmp = frame + m->l4_off;
	const uint8_t *src = ip + 8, *dst = ip + 24;
	uint32_t len = (uint32_t)m->l3_off + m->l3_len - m->l4_off, off;
	uint8_t type = m->icmp_type, want_opt;

	memset(nd, 0, sizeof(*nd));
	if (m->cls != LP_PKT_ND || m->ttl != 255 || m->icmp_code != 0 ||
	    lp_l4_cksum(frame, m) != load_raw16(icmp + 2))
		return -EINVAL;
	switch (type) {
	case ND_RS:
		off = 8;
		want_opt = ND_OPT_SLLA;
		break;
	case ND_RA:
		if (!is_link_local(src))
			return -EINVAL;
		off = 16;
		want_opt = ND_OPT_SLLA;
		break;
	case ND_NS:
	case ND_NA:
		memcpy(nd->target, icmp + 8, 16);
		if (nd->target[0] == 0xff)
			return -EINVAL;
		if (type == ND_NS && is_unspecified(src) && !is_solicited_node(dst))
			return -EINVAL;
		nd->na_flags = type == ND_NA ? icmp[4] & (LP_ND_NA_ROUTER | LP_ND_NA_SOLICITED | LP_ND_NA_OVERRIDE) : 0;
		if (type == ND_NA && dst[0] == 0xff && (nd->na_flags & LP_ND_NA_SOLICITED))
			return -EINVAL;
		off = 24;
		want_opt = type == ND_NS ? ND_OPT_SLLA : ND_OPT_TLLA;
		break;
	default: /* redirect */
		if (!is_link_local(src))
			return -EINVAL;
		memcpy(nd->target, icmp + 8, 16);
		off = 40;
		want_opt = ND_OPT_TLLA;
		break;
	}
	/* Options: {type, length in 8-byte units, ...}; a zero length would loop forever. */
	while (off < len) {
		uint32_t olen;

		if (len - off < 2 || icmp[off + 1] == 0)
			return -EINVAL;
		olen = icmp[off + 1] * 8u;
		if (olen > len - off)
			return -EINVAL;
		if (icmp[off] == want_opt && olen >= 8) {
			memcpy(nd->lladdr.b, icmp + off + 2, 6);
			nd->has_lladdr = true;
		}
		off += olen;
	}
	/* A source without an address has no link-layer address to announce (6.1.1, 7.1.1). */
	if (is_unspecified(src) && nd->has_lladdr)
		return -EINVAL;
	return 0;
}
