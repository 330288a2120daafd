/* SPDX-License-Identifier: BSD-3-Clause */
/* The connection to Redis: where it is, a non-blocking socket, and the
 * output buffer commands are formatted into (RESP). hiredis's reader parses
 * the replies (cluster.c); the socket stays ours so that connecting never
 * blocks the control thread and a write to a closed connection is an error
 * (MSG_NOSIGNAL), not a SIGPIPE. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_priv.h"

int
endpoint_parse(const char *redis, struct endpoint *ep, bool resolve, char *err, size_t errlen)
{
	char host[256];
	const char *port_s;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
	size_t hlen;
	char *end;
	long port;
	int rc;

	memset(ep, 0, sizeof(*ep));
	if (redis == NULL || redis[0] == '\0') {
		snprintf(err, errlen, "redis: must not be empty (HOST:PORT or /path/to.sock)");
		return -EINVAL;
	}
	if (strlen(redis) >= sizeof(ep->text)) {
		snprintf(err, errlen, "redis: longer than %zu characters", sizeof(ep->text) - 1);
		return -EINVAL;
	}
	snprintf(ep->text, sizeof(ep->text), "%s", redis);
	if (redis[0] == '/') {
		struct sockaddr_un *un = (struct sockaddr_un *)&ep->sa;

		if (strlen(redis) >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "redis: socket path longer than %zu characters",
				 sizeof(un->sun_path) - 1);
			return -EINVAL;
		}
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, redis);
		ep->salen = sizeof(*un);
		return 0;
	}
	if (redis[0] == '[') {
		const char *close = strchr(redis, ']');

		if (close == NULL || close[1] != ':') {
			snprintf(err, errlen, "redis: '%s' is not [IPV6]:PORT", redis);
			return -EINVAL;
		}
		hlen = (size_t)(close - redis - 1);
		memcpy(host, redis + 1, hlen);
		port_s = close + 2;
	} else {
		const char *colon = strrchr(redis, ':');

		if (colon == NULL || colon == redis || memchr(redis, ':', (size_t)(colon - redis)) != NULL) {
			snprintf(err, errlen, "redis: '%s' is not HOST:PORT, [IPV6]:PORT or an absolute socket path",
				 redis);
			return -EINVAL;
		}
		hlen = (size_t)(colon - redis);
		if (hlen >= sizeof(host)) {
			snprintf(err, errlen, "redis: host name too long");
			return -EINVAL;
		}
		memcpy(host, redis, hlen);
		port_s = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	port = strtol(port_s, &end, 10);
	if (port_s[0] == '\0' || *end != '\0' || errno != 0 || port < 1 || port > 65535) {
		snprintf(err, errlen, "redis: port '%s' is not a number from 1 to 65535", port_s);
		return -EINVAL;
	}
	if (!resolve) {
		/* A syntax check only; but a literal address must be one. */
		return 0;
	}
	/* A name is resolved once, here (config time): getaddrinfo blocks,
	 * and the control thread must not wait on DNS at every reconnect. */
	rc = getaddrinfo(host, port_s, &hints, &res);
	if (rc != 0 || res == NULL) {
		snprintf(err, errlen, "redis: cannot resolve '%s': %s", host, gai_strerror(rc));
		return -EINVAL;
	}
	memcpy(&ep->sa, res->ai_addr, res->ai_addrlen);
	ep->salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int
sock_connect(const struct endpoint *ep, bool *in_progress)
{
	int family = ep->sa.ss_family, one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	*in_progress = false;
	if (fd < 0)
		return -errno;
	if (family != AF_UNIX) {
		int idle = 10, intvl = 5, cnt = 3;

		/* Requests are small and latency matters; a dead peer behind a
		 * silent network is found by keepalive as well as by our own
		 * reply timeout. */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	}
	if (connect(fd, (const struct sockaddr *)&ep->sa, ep->salen) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		*in_progress = true;
		return fd;
	}
	/* A unix socket whose listen queue is full answers EAGAIN: try later. */
	{
		int e = errno;

		close(fd);
		return -e;
	}
}

int
sock_connect_done(int fd)
{
	int e = 0;
	socklen_t len = sizeof(e);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		return -errno;
	return e == 0 ? 0 : -e;
}

void
obuf_free(struct obuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void
obuf_reset(struct obuf *b)
{
	b->len = b->off = 0;
	b->oom = false;
}

static bool
obuf_room(struct obuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len + n <= b->cap)
		return true;
	/* Sent bytes first: move the rest to the front. */
	if (b->off > 0) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
		if (b->len + n <= b->cap)
			return true;
	}
	cap = b->cap ? b->cap : 65536;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
resp_raw(struct obuf *b, const void *s, size_t len)
{
	if (!obuf_room(b, len))
		return;
	memcpy(b->p + b->len, s, len);
	b->len += len;
}

static void
resp_prefix(struct obuf *b, char c, uint64_t n)
{
	char tmp[24];
	size_t k = 0;

	tmp[k++] = c;
	{
		char d[20];
		size_t m = 0;

		do {
			d[m++] = (char)('0' + n % 10);
			n /= 10;
		} while (n != 0);
		while (m > 0)
			tmp[k++] = d[--m];
	}
	tmp[k++] = '\r';
	tmp[k++] = '\n';
	resp_raw(b, tmp, k);
}

void
resp_cmd(struct obuf *b, unsigned int argc)
{
	resp_prefix(b, '*', argc);
}

void
resp_arg_begin(struct obuf *b, size_t len)
{
	resp_prefix(b, '$', len);
}

void
resp_arg(struct obuf *b, const void *s, size_t len)
{
	resp_arg_begin(b, len);
	resp_raw(b, s, len);
	resp_arg_end(b);
}

void
resp_str(struct obuf *b, const char *s)
{
	resp_arg(b, s, strlen(s));
}

void
resp_u64(struct obuf *b, uint64_t v)
{
	char d[20];
	size_t m = 0;
	char out[20];
	size_t k = 0;

	do {
		d[m++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (m > 0)
		out[k++] = d[--m];
	resp_arg(b, out, k);
}

int
obuf_send(int fd, struct obuf *b)
{
	while (b->off < b->len) {
		ssize_t n = send(fd, b->p + b->off, b->len - b->off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b->off += (size_t)n;
	}
	b->len = b->off = 0;
	return 0;
}
