/* SPDX-License-Identifier: BSD-3-Clause */
/* The text forms of keys, values and stream ids in Redis. Readable in
 * redis-cli, and parsed strictly: what another instance (or anyone with
 * write access to Redis) put there is input, never trusted. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "cluster_priv.h"

static size_t
fmt_u32(char *out, uint32_t v)
{
	char tmp[10];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	return n;
}

/* IPv4 by hand: the hot path formats one per change, and inet_ntop costs
 * several times as much. */
static size_t
fmt_v4(char *out, const uint8_t *a)
{
	size_t n = 0;

	for (int i = 0; i < 4; i++) {
		if (i > 0)
			out[n++] = '.';
		n += fmt_u32(out + n, a[i]);
	}
	return n;
}

static size_t
fmt_v6(char *out, const uint8_t *a)
{
	char buf[INET6_ADDRSTRLEN];
	size_t n;

	if (inet_ntop(AF_INET6, a, buf, sizeof(buf)) == NULL)
		return 0;
	n = strlen(buf);
	memcpy(out, buf, n);
	return n;
}

size_t
codec_client(char *out, const struct lp_cluster_key *k)
{
	size_t n = k->family == 4 ? fmt_v4(out, k->addr) : fmt_v6(out, k->addr);

	out[n++] = '/';
	return n + fmt_u32(out + n, k->prefix);
}

size_t
codec_backend(char *out, const struct lp_cluster_backend *b)
{
	size_t n = 0;

	if (b->family == 4) {
		n = fmt_v4(out, b->addr);
	} else {
		out[n++] = '[';
		n += fmt_v6(out + n, b->addr);
		out[n++] = ']';
	}
	out[n++] = ':';
	return n + fmt_u32(out + n, b->port);
}

static int
parse_uint(const char *s, size_t len, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (x > max)
		return -EINVAL;
	*v = x;
	return 0;
}

/* inet_pton needs a NUL-terminated copy. */
static int
parse_addr(const char *s, size_t len, uint8_t *family, uint8_t *addr)
{
	char buf[INET6_ADDRSTRLEN];

	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(addr, 0, 16);
	if (memchr(s, ':', len) == NULL) {
		if (inet_pton(AF_INET, buf, addr) != 1)
			return -EINVAL;
		*family = 4;
	} else {
		if (inet_pton(AF_INET6, buf, addr) != 1)
			return -EINVAL;
		*family = 6;
	}
	return 0;
}

int
codec_parse_backend(const char *s, size_t len, struct lp_cluster_backend *b)
{
	const char *colon;
	uint64_t port;

	memset(b, 0, sizeof(*b));
	if (len > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', len);

		if (close == NULL || (size_t)(close - s) + 2 > len || close[1] != ':')
			return -EINVAL;
		if (parse_addr(s + 1, (size_t)(close - s - 1), &b->family, b->addr) != 0 || b->family != 6)
			return -EINVAL;
		colon = close + 1;
	} else {
		colon = memchr(s, ':', len);
		if (colon == NULL || parse_addr(s, (size_t)(colon - s), &b->family, b->addr) != 0 ||
		    b->family != 4)
			return -EINVAL;
	}
	if (parse_uint(colon + 1, len - (size_t)(colon + 1 - s), 65535, &port) != 0 || port == 0)
		return -EINVAL;
	b->port = (uint16_t)port;
	return 0;
}

int
codec_parse_suffix(const char *s, size_t len, const char **svc, size_t *svc_len, struct lp_cluster_key *k)
{
	const char *colon = memchr(s, ':', len), *slash;
	uint64_t prefix;
	unsigned int bytes;

	memset(k, 0, sizeof(*k));
	if (colon == NULL || colon == s)
		return -EINVAL;
	*svc = s;
	*svc_len = (size_t)(colon - s);
	s = colon + 1;
	len -= *svc_len + 1;
	slash = memrchr(s, '/', len);
	if (slash == NULL || parse_addr(s, (size_t)(slash - s), &k->family, k->addr) != 0)
		return -EINVAL;
	if (parse_uint(slash + 1, len - (size_t)(slash + 1 - s), k->family == 4 ? 32 : 128, &prefix) != 0)
		return -EINVAL;
	k->prefix = (uint8_t)prefix;
	/* Host bits must be zero: a key is a masked address. */
	bytes = k->family == 4 ? 4 : 16;
	for (unsigned int i = 0; i < bytes; i++) {
		unsigned int lo = i * 8;
		uint8_t keep = k->prefix >= lo + 8 ? 0xff : k->prefix > lo ? (uint8_t)(0xff00u >> (k->prefix - lo)) : 0;

		if (k->addr[i] & (uint8_t)~keep)
			return -EINVAL;
	}
	return 0;
}

int
codec_parse_stream_id(const char *s, size_t len, uint64_t *ms, uint64_t *seq)
{
	const char *dash = memchr(s, '-', len);

	if (dash == NULL)
		return -EINVAL;
	if (parse_uint(s, (size_t)(dash - s), UINT64_MAX, ms) != 0 ||
	    parse_uint(dash + 1, len - (size_t)(dash + 1 - s), UINT64_MAX, seq) != 0)
		return -EINVAL;
	return 0;
}

int
codec_stream_id_cmp(uint64_t ams, uint64_t aseq, uint64_t bms, uint64_t bseq)
{
	if (ams != bms)
		return ams < bms ? -1 : 1;
	if (aseq != bseq)
		return aseq < bseq ? -1 : 1;
	return 0;
}

bool
codec_backend_eq(const struct lp_cluster_backend *a, const struct lp_cluster_backend *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

bool
codec_key_eq(const struct lp_cluster_key *a, const struct lp_cluster_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

uint64_t
codec_key_hash(const struct lp_cluster_key *k)
{
	uint64_t w[3] = {0, 0, 0};
	uint64_t h;

	memcpy(w, k, sizeof(*k));	/* 20 bytes into 24 */
	h = w[0] * 0x9e3779b97f4a7c15ull;
	h ^= (h >> 29) ^ w[1];
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= (h >> 31) ^ w[2];
	h *= 0x94d049bb133111ebull;
	return h ^ (h >> 32);
}
