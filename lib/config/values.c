/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Rules for single values, shared by the node readers (node.c) and the
 * validator (validate.c), so a value read from a file and one set in memory
 * pass the same checks: names, text, unicast addresses and prefixes,
 * primes, and how milliseconds are written. Leaf of lib/config.
 */
#include <ctype.h>
#include <string.h>

#include "config_priv.h"

const char *
cfg_name_problem(const char *s)
{
	size_t len = strnlen(s, LP_NAME_MAX);

	if (len == 0)
		return "must not be empty";
	if (len == LP_NAME_MAX)
		return "longer than 31 characters";
	// Names are CLI arguments ("show backends web"): no blanks or quotes.
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return "may hold only letters, digits, '-', '_' and '.'";
	return NULL;
}

_Static_assert(LP_IFNAME_MAX == 16, "cfg_iface_problem() says 15 characters");

/* The kernel's dev_valid_name(), stricter on bytes: printable ASCII only. */
const char *
cfg_iface_problem(const char *s)
{
	size_t len = strnlen(s, LP_IFNAME_MAX);

	if (len == 0)
		return "must not be empty";
	if (len == LP_IFNAME_MAX)
		return "longer than 15 characters (IFNAMSIZ)";
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return "'.' and '..' are not interface names";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e || s[i] == '/' || s[i] == ':')
			return "may not hold '/', ':', blanks or other than printable ASCII";
	return NULL;
}

_Static_assert(LP_DEVICE_MAX == 128 && LP_PATH_MAX == 128, "cfg_text_problem() says 127 characters");

const char *
cfg_text_problem(const char *s, size_t max)
{
	size_t len = strnlen(s, max);

	if (len == 0)
		return "must not be empty";
	if (len == max)
		return "longer than 127 characters";
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return "may hold only printable ASCII characters";
	return NULL;
}

bool
cfg_ip_unicast(const struct lp_ip *ip)
{
	static const uint8_t zero[16];

	if (ip->family == LP_AF_INET)
		return ip->a[0] != 0 && ip->a[0] != 127 && ip->a[0] < 224;
	if (ip->family == LP_AF_INET6) {
		static const uint8_t loopback[16] = { [15] = 1 };

		return memcmp(ip->a, zero, 16) != 0 && memcmp(ip->a, loopback, 16) != 0 && ip->a[0] != 0xff;
	}
	return false;
}

bool
cfg_mac_unicast(const struct lp_mac *mac)
{
	static const uint8_t zero[6];

	// The I/G bit (least significant bit of the first octet) marks group addresses.
	return (mac->b[0] & 1) == 0 && memcmp(mac->b, zero, 6) != 0;
}

bool
cfg_is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	if (n % 2 == 0)
		return n == 2;
	for (uint32_t d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return false;
	return true;
}

bool
cfg_prefix_clean(const struct lp_ip *ip, unsigned int prefix)
{
	struct lp_ip masked = *ip;

	lp_ip_mask(&masked, prefix);
	return lp_ip_equal(&masked, ip);
}

bool
cfg_prefix_unicast(const struct lp_ip *ip, unsigned int prefix)
{
	unsigned int block;

	if (cfg_ip_unicast(ip))
		return true;
	// The prefix starts in a block cfg_ip_unicast() refuses; a shorter
	// prefix than that block reaches past it, into unicast addresses.
	if (ip->family == LP_AF_INET)
		block = ip->a[0] >= 224 ? 3 : 8;	/* 224/3: multicast and reserved; 0/8, 127/8 */
	else
		block = ip->a[0] == 0xff ? 8 : 127;	/* ff00::/8; ::/127 holds :: and ::1 */
	return prefix < block;
}

char *
cfg_fmt_ms(uint32_t ms, char *buf, size_t len)
{
	if (ms % 1000 == 0)
		snprintf(buf, len, "%u", ms / 1000);
	else if (ms % 100 == 0)
		snprintf(buf, len, "%u.%u", ms / 1000, ms % 1000 / 100);
	else if (ms % 10 == 0)
		snprintf(buf, len, "%u.%02u", ms / 1000, ms % 1000 / 10);
	else
		snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);
	return buf;
}
