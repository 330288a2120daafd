/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus endpoint: a minimal HTTP/1.x server on the control
 * thread. Sockets are non-blocking and one poll(2) with a zero timeout per
 * pass says which are ready; each pass accepts, reads and writes a bounded
 * amount, so a scraper that sends or reads one byte at a time, or never
 * finishes its request, costs a slot and a timeout, never a stall. Each
 * response ends the connection (Connection: close), which is all
 * Prometheus needs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "export_priv.h"
#include "lp_log.h"

#define HTTP_CLIENTS 8			/* connections served at once; more wait in the backlog */
#define HTTP_REQ_MAX 4096		/* request line and headers */
#define HTTP_WRITE_PER_POLL 65536	/* bytes per connection per pass */
#define HTTP_ACCEPT_PER_POLL 4
#define HTTP_TIMEOUT_MS 10000		/* a connection lives at most this long */

struct http_conn {
	int fd;				/* -1: free slot */
	uint64_t deadline;		/* TSC */
	size_t in_len;
	char in[HTTP_REQ_MAX];
	char *out;			/* the whole response once the request is read */
	size_t out_len, out_off;
	bool lingering;			/* response sent: waiting for the client to close */
};

struct http_server {
	int fd;
	uint16_t port;
	struct http_conn conn[HTTP_CLIENTS];
};

static void
conn_close(struct http_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->out);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

int
exp_http_open(struct lp_export *x, const struct lp_ip *addr, uint16_t port, struct lp_diag *err)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	socklen_t sl;
	char ep[LP_IP_STRLEN + 8];
	int one = 1;

	lp_endpoint_format(addr, port, ep, sizeof(ep));
	if (h == NULL) {
		lp_diag_add(err, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < HTTP_CLIENTS; i++)
		h->conn[i].fd = -1;
	memset(&ss, 0, sizeof(ss));
	if (addr->family == LP_AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr->a, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr->a, 16);
		sl = sizeof(*sin6);
	}
	h->fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(h->fd, (struct sockaddr *)&ss, sl) != 0 || listen(h->fd, 16) != 0) {
		int e = errno;

		lp_diag_add(err, "--metrics %s: %s", ep, strerror(e));
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return -e;
	}
	sl = sizeof(ss);
	getsockname(h->fd, (struct sockaddr *)&ss, &sl);
	h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	lp_endpoint_format(addr, h->port, ep, sizeof(ep));
	LP_LOG(INFO, ctl, "metrics: Prometheus endpoint http://%s/metrics\n", ep);
	x->http = h;
	return 0;
}

void
exp_http_close(struct lp_export *x)
{
	struct http_server *h = x->http;

	if (h == NULL)
		return;
	for (int i = 0; i < HTTP_CLIENTS; i++)
		if (h->conn[i].fd >= 0)
			conn_close(&h->conn[i]);
	close(h->fd);
	free(h);
	x->http = NULL;
}

uint16_t
exp_http_port(const struct lp_export *x)
{
	return x->http != NULL ? x->http->port : 0;
}

/* Status line, headers and body (NULL: a one-line explanation as body). */
static void
respond(struct http_conn *k, int status, const char *reason, const char *type, const char *body, size_t body_len,
	bool head)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);

	if (o == NULL)
		return;
	if (body == NULL) {
		body = reason;
		body_len = strlen(reason);
		type = "text/plain; charset=utf-8";
	}
	fprintf(o,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
		"Cache-Control: no-store\r\n\r\n",
		status, reason, type, body_len + (body == reason));
	if (!head) {
		fwrite(body, 1, body_len, o);
		if (body == reason)
			fputc('\n', o);
	}
	if (fclose(o) != 0) {
		free(buf);
		return;
	}
	k->out = buf;
	k->out_len = len;
	k->out_off = 0;
}

/* A complete request head is in k->in: answer it. */
static void
handle_request(struct lp_export *x, struct http_conn *k)
{
	char method[8], path[256], version[16];
	bool head;

	if (sscanf(k->in, "%7s %255s %15s", method, path, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
		respond(k, 400, "Bad Request", NULL, NULL, 0, false);
		return;
	}
	head = strcmp(method, "HEAD") == 0;
	if (!head && strcmp(method, "GET") != 0) {
		respond(k, 405, "Method Not Allowed", NULL, NULL, 0, false);
		return;
	}
	/* The query string (?name[]=...) of Prometheus' federation is not
	 * supported; the path alone decides. */
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/metrics") != 0) {
		respond(k, 404, "Not Found", NULL, NULL, 0, head);
		return;
	}
	{
		char *body = NULL;
		size_t len = 0;
		FILE *o = open_memstream(&body, &len);
		int ret = o != NULL ? lp_export_prometheus(x, o) : -ENOMEM;

		if (o != NULL && fclose(o) != 0)
			ret = -ENOMEM;
		if (ret == 0)
			respond(k, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head);
		else
			respond(k, 500, "Internal Server Error", NULL, NULL, 0, head);
		free(body);
	}
	LP_LOG(DEBUG, ctl, "metrics: %s %s: %zu bytes\n", method, path, k->out_len);
}

static void conn_write(struct lp_export *x, struct http_conn *k, uint64_t now);

static void
conn_read(struct lp_export *x, struct http_conn *k, uint64_t now)
{
	ssize_t n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - 1 - k->in_len, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_close(k);
		return;
	}
	if (n < 0)
		return;
	k->in_len += (size_t)n;
	k->in[k->in_len] = '\0';
	if (strstr(k->in, "\r\n\r\n") != NULL || strstr(k->in, "\n\n") != NULL)
		handle_request(x, k);
	else if (k->in_len == sizeof(k->in) - 1)
		respond(k, 431, "Request Header Fields Too Large", NULL, NULL, 0, false);
	else
		return;	/* the rest of the request is still to come */
	if (k->out == NULL)
		conn_close(k);	/* out of memory: nothing to say */
	else
		conn_write(x, k, now);
}

/* After the response: whatever the client still sends is read and thrown
 * away until it closes, because closing a socket with unread input resets
 * the connection and can discard the end of the response. */
static void
conn_linger(struct http_conn *k)
{
	char sink[512];
	ssize_t n;

	do
		n = recv(k->fd, sink, sizeof(sink), MSG_DONTWAIT);
	while (n > 0);
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
		conn_close(k);
}

static void
conn_write(struct lp_export *x, struct http_conn *k, uint64_t now)
{
	size_t left = k->out_len - k->out_off;
	ssize_t n;

	if (left > HTTP_WRITE_PER_POLL)
		left = HTTP_WRITE_PER_POLL;
	n = send(k->fd, k->out + k->out_off, left, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			conn_close(k);
		return;
	}
	k->out_off += (size_t)n;
	if (k->out_off == k->out_len) {
		/* Everything is queued: end our side, give the client a second
		 * to close its own. */
		shutdown(k->fd, SHUT_WR);
		k->lingering = true;
		if (k->deadline > now + x->hz)
			k->deadline = now + x->hz;
		conn_linger(k);
	}
}

static void
accept_some(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;

	for (int n = 0; n < HTTP_ACCEPT_PER_POLL; n++) {
		struct http_conn *k = NULL;
		int fd;

		for (int i = 0; i < HTTP_CLIENTS && k == NULL; i++)
			if (h->conn[i].fd < 0)
				k = &h->conn[i];
		if (k == NULL)
			return;	/* all slots busy: the rest wait in the backlog */
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		k->fd = fd;
		k->deadline = now + x->hz * HTTP_TIMEOUT_MS / 1000;
	}
}

void
exp_http_poll(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;
	struct pollfd pfd[HTTP_CLIENTS + 1];
	int slot[HTTP_CLIENTS + 1];
	nfds_t n = 0;

	if (h == NULL)
		return;
	pfd[n].fd = h->fd;
	pfd[n].events = POLLIN;
	slot[n++] = -1;
	for (int i = 0; i < HTTP_CLIENTS; i++) {
		struct http_conn *k = &h->conn[i];

		if (k->fd < 0)
			continue;
		if (now > k->deadline) {
			conn_close(k);	/* too slow, or never finished its request */
			continue;
		}
		pfd[n].fd = k->fd;
		pfd[n].events = k->out != NULL && !k->lingering ? POLLOUT : POLLIN;
		slot[n++] = i;
	}
	if (poll(pfd, n, 0) <= 0)
		return;
	for (nfds_t i = 1; i < n; i++) {
		struct http_conn *k = &h->conn[slot[i]];

		if (pfd[i].revents == 0)
			continue;
		if (k->lingering)
			conn_linger(k);
		else if (k->out == NULL)
			conn_read(x, k, now);
		else
			conn_write(x, k, now);
	}
	if (pfd[0].revents & POLLIN)
		accept_some(x, now);
}
