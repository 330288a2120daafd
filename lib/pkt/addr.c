/* SPDX-License-Identifier: BSD-3-Clause */
/* Addresses: parsing, formatting, prefixes; and the drop-reason names. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lp_pkt.h"

static const char *const drop_names[LP_DROP_MAX] = {
	[LP_DROP_NONE] = "none",
#define LP_DROP_NAME(name, str, help) [LP_DROP_##name] = str,
	LP_DROP_REASONS(LP_DROP_NAME)
#undef LP_DROP_NAME
};

static const char *const drop_helps[LP_DROP_MAX] = {
	[LP_DROP_NONE] = "not dropped",
#define LP_DROP_HELP(name, str, help) [LP_DROP_##name] = help,
	LP_DROP_REASONS(LP_DROP_HELP)
#undef LP_DROP_HELP
};

const char *
lp_drop_name(enum lp_drop reason)
{
	return (unsigned int)reason < LP_DROP_MAX ? drop_names[reason] : "unknown";
}

const char *
lp_drop_help(enum lp_drop reason)
{
	return (unsigned int)reason < LP_DROP_MAX ? drop_helps[reason] : "unknown reason";
}

int
lp_ip_parse(const char *s, struct lp_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	if (s == NULL)
		return -EINVAL;
	if (inet_pton(AF_INET, s, ip->a) == 1) {
		ip->family = LP_AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, ip->a) == 1) {
		ip->family = LP_AF_INET6;
		return 0;
	}
	memset(ip, 0, sizeof(*ip));
	return -EINVAL;
}

int
lp_ip_prefix_parse(const char *s, struct lp_ip *ip, uint8_t *prefix)
{
	char addr[LP_IP_STRLEN];
	const char *slash;
	unsigned long len;
	char *end;

	if (s == NULL)
		return -EINVAL;
	slash = strchr(s, '/');
	if (slash == NULL) {
		if (lp_ip_parse(s, ip) < 0)
			return -EINVAL;
		*prefix = (uint8_t)(lp_ip_len(ip) * 8);
		return 0;
	}
	if ((size_t)(slash - s) >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, (size_t)(slash - s));
	addr[slash - s] = '\0';
	if (lp_ip_parse(addr, ip) < 0)
		return -EINVAL;
	if (slash[1] < '0' || slash[1] > '9')
		return -EINVAL;
	errno = 0;
	len = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len > lp_ip_len(ip) * 8)
		return -EINVAL;
	*prefix = (uint8_t)len;
	return 0;
}

char *
lp_ip_format(const struct lp_ip *ip, char *buf, size_t len)
{
	int af = ip->family == LP_AF_INET ? AF_INET : ip->family == LP_AF_INET6 ? AF_INET6 : -1;

	if (af < 0 || inet_ntop(af, ip->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "-");
	return buf;
}

char *
lp_endpoint_format(const struct lp_ip *ip, uint16_t port, char *buf, size_t len)
{
	char a[LP_IP_STRLEN];

	lp_ip_format(ip, a, sizeof(a));
	snprintf(buf, len, ip->family == LP_AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
	return buf;
}

void
lp_ip_mask(struct lp_ip *ip, unsigned int prefix)
{
	unsigned int bits = lp_ip_len(ip) * 8;

	for (unsigned int i = 0; i < bits / 8; i++) {
		unsigned int lo = i * 8;

		if (prefix <= lo)
			ip->a[i] = 0;
		else if (prefix < lo + 8)
			ip->a[i] &= (uint8_t)(0xff00u >> (prefix - lo));
	}
}

bool
lp_ip_in_prefix(const struct lp_ip *ip, const struct lp_ip *net, unsigned int prefix)
{
	unsigned int len = lp_ip_len(ip), full, rest;

	/* As masking both copies to @prefix and comparing all 16 bytes, without
	 * the copies: the NAT reply path asks this for every packet. */
	if (ip->family != net->family)
		return false;
	if (prefix > len * 8)
		prefix = len * 8;
	full = prefix / 8;
	rest = prefix % 8;
	if (memcmp(ip->a, net->a, full) != 0)
		return false;
	if (rest != 0 && ((ip->a[full] ^ net->a[full]) & (0xff00u >> rest)) != 0)
		return false;
	/* Bytes beyond the family's length are compared as they are. */
	return memcmp(ip->a + len, net->a + len, 16 - len) == 0;
}

int
lp_ip_cmp(const struct lp_ip *a, const struct lp_ip *b)
{
	if (a->family != b->family)
		return a->family < b->family ? -1 : 1;
	return memcmp(a->a, b->a, 16);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Exactly xx:xx:xx:xx:xx:xx in hex digits (sscanf's %x would also take
 * signs and spaces). */
int
lp_mac_parse(const char *s, struct lp_mac *mac)
{
	if (s == NULL || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac->b[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void
lp_mac_to_ll6(const struct lp_mac *mac, struct lp_ip *ll)
{
	memset(ll, 0, sizeof(*ll));
	ll->family = LP_AF_INET6;
	ll->a[0] = 0xfe;
	ll->a[1] = 0x80;
	ll->a[8] = mac->b[0] ^ 0x02;	/* the universal/local bit, inverted */
	ll->a[9] = mac->b[1];
	ll->a[10] = mac->b[2];
	ll->a[11] = 0xff;
	ll->a[12] = 0xfe;
	ll->a[13] = mac->b[3];
	ll->a[14] = mac->b[4];
	ll->a[15] = mac->b[5];
}

char *
lp_mac_format(const struct lp_mac *mac, char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac->b[0], mac->b[1], mac->b[2], mac->b[3],
		 mac->b[4], mac->b[5]);
	return buf;
}
