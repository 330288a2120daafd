/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The Prometheus endpoint: a minimal HTTP/1.x server on the control
 * thread. Sockets are non-blocking and one poll(2) with a zero timeout per
 * pass says which are ready; each pass accepts, reads and writes a bounded
 * amount. Each response ends the connection (Connection: close), which is
 * all Prometheus needs.
 *
 * No client can starve the others or the control thread:
 *  - a request head must arrive whole within HTTP_HEAD_TIMEOUT_MS of the
 *    connection (slowloris), a NUL in it is refused at once, and a
 *    response must be sent within HTTP_RESPONSE_TIMEOUT_MS;
 *  - when every slot is taken, a new connection evicts the one that has
 *    waited longest on its client (one still sending its request first,
 *    then one answered that has not closed, then one not reading its
 *    response); a connection is not evicted for still sending its request
 *    in its first HTTP_NEW_GRACE_MS, so an honest client that is slow to
 *    write after connect() (a busy machine, a thread waiting for its
 *    interpreter's lock) is not pushed out by a flood of newer ones: with
 *    no slot to free, new connections wait in the listen backlog. The
 *    backlog is as deep as the system allows and each pass accepts many,
 *    so a scrape behind a thousand idle connections gets in within a few
 *    grace periods;
 *  - the text (8 MB and more for thousands of backends, a tenth of a
 *    second to print) is printed on a helper thread from a copy of the
 *    views taken on the control thread (exp_prom_gather()), and one text
 *    answers every request that was waiting when it was gathered.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_lcore.h>

#include "export_priv.h"
#include "lp_log.h"

#define HTTP_CLIENTS 256		/* connections served at once; more wait in the backlog */
#define HTTP_REQ_MAX 4096		/* request line and headers */
#define HTTP_WRITE_PER_POLL 262144	/* bytes per connection per pass */
#define HTTP_ACCEPT_PER_POLL 64
#define HTTP_HEAD_TIMEOUT_MS 5000	/* from the connection to the end of the request head */
#define HTTP_RESPONSE_TIMEOUT_MS 10000	/* from the request to the end of the response */
#define HTTP_STALLED_MS 1000		/* a response not read for this long makes its connection evictable */
#define HTTP_LINGER_MS 1000		/* after the response, for the client to close */
#define HTTP_NEW_GRACE_MS 50		/* a connection this young is not evicted for still reading */

/* A rendered text, shared by the responses it answers. */
struct http_text {
	char *p;
	size_t len;
	unsigned int refs;
};

enum conn_state {
	C_READ,		/* reading the request head */
	C_WAIT,		/* GET or HEAD /metrics: waiting for its text */
	C_WRITE,	/* sending the response */
	C_LINGER,	/* sent: waiting for the client to close */
};

struct http_conn {
	int fd;				/* -1: free slot */
	enum conn_state st;
	uint64_t since;			/* TSC: accepted (eviction order) */
	uint64_t deadline;		/* TSC: of the current state */
	uint64_t last_io;		/* TSC: last byte sent */
	uint64_t gen;			/* C_WAIT: the text it waits for */
	bool head;			/* HEAD: headers only */
	size_t in_len;
	char in[HTTP_REQ_MAX];
	char *hdr;			/* status line and headers (errors: and their body) */
	size_t hdr_len, hdr_off;
	struct http_text *body;		/* 200: the text, shared */
	size_t body_off;
};

/* The helper thread that prints scrapes. The control thread hands it a
 * gathered scrape (job), it prints it into text and sets done; the control
 * thread takes the text on a later pass. One job at a time. */
struct http_render {
	pthread_t tid;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;			/* under lock */
	struct exp_scrape *job;		/* under lock: to print; NULL: none */
	bool busy;			/* control thread: a job is out */
	atomic_bool done;		/* the job's result is ready */
	char *text;			/* the result (NULL: failed) */
	size_t len;
};

struct http_server {
	int fd;
	uint16_t port;
	uint64_t gen_next;		/* the text the next gather makes */
	uint64_t gen_out;		/* the text being printed (busy) */
	struct http_render r;
	struct http_conn conn[HTTP_CLIENTS];
};

static uint64_t
ms_tsc(const struct lp_export *x, uint64_t ms)
{
	return x->hz * ms / 1000;
}

static void
text_put(struct http_text *t)
{
	if (t != NULL && --t->refs == 0) {
		free(t->p);
		free(t);
	}
}

static void
conn_close(struct http_conn *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->hdr);
	text_put(k->body);
	memset(k, 0, sizeof(*k));
	k->fd = -1;
}

/* ---- the render thread ---- */

static void *
render_main(void *arg)
{
	struct http_render *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		struct exp_scrape *job;
		char *text = NULL;
		size_t len = 0;
		FILE *o;

		while (!r->stop && r->job == NULL)
			pthread_cond_wait(&r->wake, &r->lock);
		if (r->stop)
			break;
		job = r->job;
		pthread_mutex_unlock(&r->lock);
		o = open_memstream(&text, &len);
		if (o != NULL) {
			int ret = exp_prom_render(job, o);

			if (fclose(o) != 0 || ret != 0) {
				free(text);
				text = NULL;
			}
		}
		exp_prom_free(job);
		pthread_mutex_lock(&r->lock);
		r->job = NULL;
		r->text = text;
		r->len = len;
		atomic_store_explicit(&r->done, true, memory_order_release);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static int
render_start(struct http_render *r)
{
	int ret;

	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	/* A control thread: off the workers' lcores, named lp-metrics. */
	ret = rte_ctrl_thread_create(&r->tid, "lp-metrics", NULL, render_main, r);
	if (ret != 0) {
		pthread_cond_destroy(&r->wake);
		pthread_mutex_destroy(&r->lock);
		return -ret;
	}
	r->started = true;
	return 0;
}

static void
render_stop(struct http_render *r)
{
	if (!r->started)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_signal(&r->wake);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->tid, NULL);
	exp_prom_free(r->job);
	free(r->text);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	r->started = false;
}

/* ---- listening ---- */

int
exp_http_open(struct lp_export *x, const struct lp_ip *addr, uint16_t port, struct lp_diag *err)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	socklen_t sl;
	char ep[LP_IP_STRLEN + 8];
	int one = 1, ret;

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
	/* A deep backlog: with a short one, connections beyond it lose their
	 * SYN and retry after a second, whatever limpet does. */
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(h->fd, (struct sockaddr *)&ss, sl) != 0 || listen(h->fd, SOMAXCONN) != 0) {
		ret = -errno;
		lp_diag_add(err, "--metrics %s: %s", ep, strerror(-ret));
		goto close_fd;
	}
	ret = render_start(&h->r);
	if (ret != 0) {
		lp_diag_add(err, "--metrics %s: cannot start its thread: %s", ep, strerror(-ret));
		goto close_fd;
	}
	sl = sizeof(ss);
	getsockname(h->fd, (struct sockaddr *)&ss, &sl);
	h->port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						: ((struct sockaddr_in6 *)&ss)->sin6_port);
	lp_endpoint_format(addr, h->port, ep, sizeof(ep));
	LP_LOG(INFO, ctl, "metrics: Prometheus endpoint http://%s/metrics\n", ep);
	x->http = h;
	return 0;
close_fd:
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	return ret;
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
	render_stop(&h->r);
	close(h->fd);
	free(h);
	x->http = NULL;
}

uint16_t
exp_http_port(const struct lp_export *x)
{
	return x->http != NULL ? x->http->port : 0;
}

/* ---- responses ---- */

/* Status line and headers, and @p body unless it is the shared text
 * (NULL) or the request a HEAD; then send it. */
static void
respond(struct lp_export *x, struct http_conn *k, int status, const char *reason, const char *type, size_t body_len,
	const char *body, uint64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *o = open_memstream(&buf, &len);

	if (o == NULL) {
		conn_close(k);
		return;
	}
	fprintf(o,
		"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n"
		"Cache-Control: no-store\r\n\r\n",
		status, reason, type, body_len);
	if (body != NULL && !k->head)
		fwrite(body, 1, body_len, o);
	if (fclose(o) != 0) {
		free(buf);
		conn_close(k);
		return;
	}
	/* From the request on, a response has HTTP_RESPONSE_TIMEOUT_MS. */
	if (k->st == C_READ)
		k->deadline = now + ms_tsc(x, HTTP_RESPONSE_TIMEOUT_MS);
	k->hdr = buf;
	k->hdr_len = len;
	k->hdr_off = 0;
	k->st = C_WRITE;
	k->last_io = now;
}

/* An error, with a line of explanation as its body. */
static void
refuse(struct lp_export *x, struct http_conn *k, int status, const char *reason, const char *why, uint64_t now)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%s\n", why != NULL ? why : reason);

	respond(x, k, status, reason, "text/plain; charset=utf-8", (size_t)n, body, now);
}

/* A complete request head is in k->in: answer it, or wait for the text. */
static void
handle_request(struct lp_export *x, struct http_conn *k, uint64_t now)
{
	struct http_server *h = x->http;
	char method[8], path[256], version[16];

	if (sscanf(k->in, "%7s %255s %15s", method, path, version) != 3 || strncmp(version, "HTTP/1.", 7) != 0) {
		refuse(x, k, 400, "Bad Request", NULL, now);
		return;
	}
	k->head = strcmp(method, "HEAD") == 0;
	if (!k->head && strcmp(method, "GET") != 0) {
		refuse(x, k, 405, "Method Not Allowed", NULL, now);
		return;
	}
	/* The query string (?name[]=...) of Prometheus' federation is not
	 * supported; the path alone decides. */
	path[strcspn(path, "?")] = '\0';
	if (strcmp(path, "/metrics") != 0) {
		refuse(x, k, 404, "Not Found", NULL, now);
		return;
	}
	k->st = C_WAIT;
	k->gen = h->gen_next;
	k->deadline = now + ms_tsc(x, HTTP_RESPONSE_TIMEOUT_MS);
	LP_LOG(DEBUG, ctl, "metrics: %s %s\n", method, path);
}

static void
conn_read(struct lp_export *x, struct http_conn *k, uint64_t now)
{
	size_t old = k->in_len;
	ssize_t n = recv(k->fd, k->in + k->in_len, sizeof(k->in) - 1 - k->in_len, MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		conn_close(k);
		return;
	}
	if (n < 0)
		return;
	k->in_len += (size_t)n;
	k->in[k->in_len] = '\0';
	/* No valid request holds a NUL, and one would hide the end of the
	 * head from the search below until the deadline. */
	if (memchr(k->in + old, '\0', (size_t)n) != NULL)
		refuse(x, k, 400, "Bad Request", "NUL byte in the request", now);
	else if (strstr(k->in, "\r\n\r\n") != NULL || strstr(k->in, "\n\n") != NULL)
		handle_request(x, k, now);
	else if (k->in_len == sizeof(k->in) - 1)
		refuse(x, k, 431, "Request Header Fields Too Large", NULL, now);
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

/* Send what the socket takes of @p p, within @p *budget. false: the client is gone. */
static bool
send_part(struct http_conn *k, const char *p, size_t len, size_t *off, size_t *budget, uint64_t now)
{
	while (*off < len && *budget > 0) {
		size_t left = len - *off < *budget ? len - *off : *budget;
		ssize_t n = send(k->fd, p + *off, left, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		*off += (size_t)n;
		*budget -= (size_t)n;
		k->last_io = now;
	}
	return true;
}

static void
conn_write(struct lp_export *x, struct http_conn *k, uint64_t now)
{
	size_t budget = HTTP_WRITE_PER_POLL;
	const struct http_text *t = k->head ? NULL : k->body;

	if (!send_part(k, k->hdr, k->hdr_len, &k->hdr_off, &budget, now) ||
	    (t != NULL && k->hdr_off == k->hdr_len && !send_part(k, t->p, t->len, &k->body_off, &budget, now))) {
		conn_close(k);
		return;
	}
	if (k->hdr_off < k->hdr_len || (t != NULL && k->body_off < t->len))
		return;
	/* Everything is queued: end our side, give the client a moment to
	 * close its own. */
	shutdown(k->fd, SHUT_WR);
	k->st = C_LINGER;
	if (k->deadline > now + ms_tsc(x, HTTP_LINGER_MS))
		k->deadline = now + ms_tsc(x, HTTP_LINGER_MS);
	conn_linger(k);
}

/* ---- texts ---- */

/* Hand a gathered scrape to the thread when requests wait and it is free. */
static void
render_begin(struct lp_export *x)
{
	struct http_server *h = x->http;
	struct exp_scrape *job;
	bool waiting = false;

	if (h->r.busy)
		return;
	for (int i = 0; i < HTTP_CLIENTS && !waiting; i++)
		waiting = h->conn[i].fd >= 0 && h->conn[i].st == C_WAIT;
	if (!waiting)
		return;
	job = exp_prom_gather(x);
	h->gen_out = h->gen_next++;
	h->r.busy = true;
	pthread_mutex_lock(&h->r.lock);
	h->r.job = job;
	pthread_mutex_unlock(&h->r.lock);
	if (job == NULL) {
		/* Nothing to print: answered as a failed text below. */
		h->r.text = NULL;
		atomic_store_explicit(&h->r.done, true, memory_order_release);
		return;
	}
	pthread_cond_signal(&h->r.wake);
}

/* The thread's text, to every request that waited for it. */
static void
render_end(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;
	struct http_text *t = NULL;
	char *text;
	size_t len;

	if (!h->r.busy || !atomic_load_explicit(&h->r.done, memory_order_acquire))
		return;
	pthread_mutex_lock(&h->r.lock);
	text = h->r.text;
	len = h->r.len;
	h->r.text = NULL;
	atomic_store_explicit(&h->r.done, false, memory_order_relaxed);
	pthread_mutex_unlock(&h->r.lock);
	h->r.busy = false;
	if (text != NULL) {
		t = calloc(1, sizeof(*t));
		if (t == NULL) {
			free(text);
		} else {
			t->p = text;
			t->len = len;
			t->refs = 1;
		}
	}
	for (int i = 0; i < HTTP_CLIENTS; i++) {
		struct http_conn *k = &h->conn[i];

		if (k->fd < 0 || k->st != C_WAIT || k->gen != h->gen_out)
			continue;
		if (t == NULL) {
			refuse(x, k, 500, "Internal Server Error", NULL, now);
			continue;
		}
		respond(x, k, 200, "OK", "text/plain; version=0.0.4; charset=utf-8", t->len, NULL, now);
		if (k->fd >= 0) {
			k->body = t;
			t->refs++;
		}
		LP_LOG(DEBUG, ctl, "metrics: %zu bytes\n", t->len);
	}
	text_put(t);
}

/* ---- connections ---- */

/* A slot for a new connection: a free one, else the one that has waited
 * longest on its client: one still sending its request first (but not in
 * its first HTTP_NEW_GRACE_MS), then one answered and not closed yet (its
 * response is on its way: cut it last but one), then one not reading its
 * response. Never one whose text is being printed or that is reading.
 * NULL when none. Chosen, not closed: the caller closes it once it has a
 * connection to put there. */
static struct http_conn *
pick_slot(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;
	struct http_conn *victim = NULL;
	int victim_rank = 0;

	for (int i = 0; i < HTTP_CLIENTS; i++) {
		struct http_conn *k = &h->conn[i];
		int rank = 0;

		if (k->fd < 0)
			return k;
		if (k->st == C_READ && now - k->since >= ms_tsc(x, HTTP_NEW_GRACE_MS))
			rank = 3;
		else if (k->st == C_LINGER)
			rank = 2;
		else if (k->st == C_WRITE && now - k->last_io > ms_tsc(x, HTTP_STALLED_MS))
			rank = 1;
		if (rank > victim_rank || (rank == victim_rank && rank > 0 && k->since < victim->since)) {
			victim = k;
			victim_rank = rank;
		}
	}
	return victim;
}

/* New connections, each read at once: a request already there is taken
 * before a later connection could evict its sender. With no slot to free,
 * the rest wait in the listen backlog for a later pass. */
static void
accept_some(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;

	for (int n = 0; n < HTTP_ACCEPT_PER_POLL; n++) {
		struct http_conn *k = pick_slot(x, now);
		int fd;

		if (k == NULL)
			return;
		fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (k->fd >= 0) {
			LP_LOG(DEBUG, ctl, "metrics: all %d connections taken, closing the one idle longest\n",
			       HTTP_CLIENTS);
			if (k->st == C_LINGER)
				conn_linger(k);	/* unread input would reset the connection */
			if (k->fd >= 0)
				conn_close(k);
		}
		k->fd = fd;
		k->st = C_READ;
		k->since = now;
		k->deadline = now + ms_tsc(x, HTTP_HEAD_TIMEOUT_MS);
		conn_read(x, k, now);
	}
}

bool
exp_http_poll(struct lp_export *x, uint64_t now)
{
	struct http_server *h = x->http;
	struct pollfd pfd[HTTP_CLIENTS + 1];
	int slot[HTTP_CLIENTS + 1];
	nfds_t n = 0;
	bool work, rendering;

	if (h == NULL)
		return false;
	rendering = h->r.busy;
	render_end(x, now);
	work = rendering && !h->r.busy;	/* a text rendered meanwhile was taken */
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
		if (k->st == C_WAIT)
			continue;
		pfd[n].fd = k->fd;
		pfd[n].events = k->st == C_WRITE ? POLLOUT : POLLIN;
		slot[n++] = i;
	}
	if (poll(pfd, n, 0) > 0) {
		work = true;
		for (nfds_t i = 1; i < n; i++) {
			struct http_conn *k = &h->conn[slot[i]];

			if (pfd[i].revents == 0)
				continue;
			if (k->st == C_LINGER)
				conn_linger(k);
			else if (k->st == C_READ)
				conn_read(x, k, now);
			else
				conn_write(x, k, now);
		}
		if (pfd[0].revents & POLLIN)
			accept_some(x, now);
	}
	render_begin(x);
	return work;
}
