/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Words of a command line that tokens (cli_tok.c) and option lists
 * (cli_opts.c) both read: decimal numbers and unicast addresses. Leaf of
 * lib/cli.
 */
#include <string.h>

#include "cli_priv.h"

bool
cli_ip_unicast(const struct lp_ip *ip)
{
	static const uint8_t zero[16];
	static const uint8_t loopback[16] = { [15] = 1 };

	if (ip->family == LP_AF_INET)
		return ip->a[0] != 0 && ip->a[0] != 127 && ip->a[0] < 224;
	if (ip->family == LP_AF_INET6)
		return memcmp(ip->a, zero, 16) != 0 && memcmp(ip->a, loopback, 16) != 0 && ip->a[0] != 0xff;
	return false;
}

bool
cli_decimal(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return true;
}
