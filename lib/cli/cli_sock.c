/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control socket: a unix stream socket served from the control loop
 * without ever blocking it. Each connection sends command lines; each
 * line gets one reply:
 *
 *   "| " output line      (zero or more; "|" alone for an empty line)
 *   "! " error message    (zero or more)
 *   "OK" or "ERROR"       (exactly one, last)
 *
 * Every line of a reply but the last starts with '|' or '!', so output
 * can never be mistaken for the status, whatever it holds (docs/cli.md).
 *
 * No client can keep another out: a command line must arrive whole within
 * LINE_TIMEOUT_S of its first byte, and when every slot is taken a new
 * connection evicts the one that has waited longest on its client (no
 * line to run, nothing it is reading), but not one accepted in the last
 * NEW_GRACE_MS: a client slow to write after connect() is not pushed out
 * by a flood of newer connections, which wait in the listen backlog while
 * no slot can be freed. The backlog is as deep as the system allows and
 * each pass accepts many, so a limpetctl behind hundreds of idle or
 * trickling connections is served within a few grace periods.
 *
 * A reload big enough to be built on lp_ctl's helper thread answers once
 * it is applied. Its connection runs no further lines meanwhile, and is
 * neither evicted nor timed out while it waits; the others are served.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <rte_cycles.h>

#include "cli_priv.h"
#include "lp_log.h"

#define MAX_CONNS 128
#define ACCEPT_PER_POLL 64		/* connections taken from the backlog per pass */
#define LINE_MAX_BYTES 4096		/* a longer line is refused and the connection closed */
#define READ_CHUNK 4096
#define LINES_PER_POLL 8		/* per connection and pass: bounds a pass's work */
#define OUT_PAUSE_BYTES (16u << 20)	/* stop running a client's lines while this much waits for it */
#define IDLE_TIMEOUT_S 60		/* a connection with nothing moving is closed */
#define LINE_TIMEOUT_S 5		/* a command line must arrive whole this soon after its first byte */
#define STALLED_S 1			/* a reply not read for this long makes its connection evictable */
#define NEW_GRACE_MS 50			/* a connection accepted (or served a line) this recently is not evicted */
#define FLUSH_AT_EXIT_MS 1000

struct buf {
	char *p;
	size_t len, off, cap;
};

struct conn {
	int fd;			/* -1: free slot */
	struct buf in, out;
	bool peer_done;		/* the client shut its side: no more lines */
	bool close_when_sent;	/* a protocol error: reply, then close */
	bool waiting;		/* its command finishes later (a reload built on the helper thread) */
	uint64_t last_io;	/* TSC: a byte moved */
	uint64_t since;		/* TSC: accepted, or its last line ran (eviction order) */
	uint64_t line_start;	/* TSC: first byte of the incomplete line waiting, 0: none */
};

struct cli_sock {
	int fd;
	char *path;
	dev_t dev;
	ino_t ino;
	uint64_t hz;
	struct conn conn[MAX_CONNS];
};

static int
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
			return -ENOMEM;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Each line of @p text as "TAG text\n" ("TAG\n" for an empty line). */
static void
add_tagged(struct buf *b, char tag, const char *text, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - text) : len;
		char head[2] = { tag, ' ' };

		buf_add(b, head, n > 0 ? 2 : 1);
		buf_add(b, text, n);
		buf_add(b, "\n", 1);
		if (nl == NULL)
			break;
		text = nl + 1;
		len -= n + 1;
	}
}

/* ---- listening ---- */

/*
 * The socket file goes with limpet on every exit that runs any code:
 * cli_sock_close() on the way out of the control loop, and this for
 * exit() called from anywhere else (rte_exit() included). A limpet killed
 * outright (SIGKILL, a crash) leaves it, and the next one replaces it
 * (clear_stale()).
 */
static struct {
	char *path;		/* NULL: nothing to remove */
	dev_t dev;
	ino_t ino;
} at_exit;

/* Only our own socket: another limpet may have replaced the file. */
static void
unlink_own(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino)
		unlink(path);
}

static void
unlink_at_exit(void)
{
	if (at_exit.path != NULL)
		unlink_own(at_exit.path, at_exit.dev, at_exit.ino);
}

static void
remove_at_exit(const struct cli_sock *s)
{
	static bool registered;

	if (!registered && atexit(unlink_at_exit) != 0)
		return;
	registered = true;
	at_exit.path = s->path;
	at_exit.dev = s->dev;
	at_exit.ino = s->ino;
}

/* A socket file left by a limpet that died is replaced; one a live limpet
 * answers on, or a file that is not a socket, is left alone. */
static int
clear_stale(const char *path, const struct sockaddr_un *sa, struct lp_diag *diag)
{
	struct stat st;
	int probe, ret;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		lp_diag_add(diag, "%s exists and is not a socket: not replacing it", path);
		return -EEXIST;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	ret = connect(probe, (const struct sockaddr *)sa, sizeof(*sa));
	if (ret == 0 || errno == EAGAIN || errno == EINPROGRESS) {
		close(probe);
		lp_diag_add(diag, "%s: another limpet is listening on it", path);
		return -EADDRINUSE;
	}
	close(probe);
	if (unlink(path) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int
cli_sock_open(struct lp_cli *cli, const char *path, struct lp_diag *diag)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct cli_sock *s;
	struct stat st;
	mode_t old;
	int ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		lp_diag_add(diag, "control socket path longer than %zu characters: %s", sizeof(sa.sun_path) - 1, path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		lp_diag_add(diag, "out of memory");
		return -ENOMEM;
	}
	s->hz = rte_get_tsc_hz();
	for (unsigned int i = 0; i < MAX_CONNS; i++)
		s->conn[i].fd = -1;
	s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		ret = -errno;
		goto free_sock;
	}
	ret = clear_stale(path, &sa, diag);
	if (ret != 0)
		goto close_fd;
	/* The socket is created with the umask's mode: make that 0600 so no
	 * other user can reach the control plane, even for an instant. */
	old = umask(0177);
	ret = bind(s->fd, (const struct sockaddr *)&sa, sizeof(sa));
	if (ret != 0)
		ret = -errno;
	umask(old);
	if (ret != 0)
		goto close_fd;
	if (listen(s->fd, SOMAXCONN) != 0 || stat(path, &st) != 0) {
		ret = -errno;
		unlink(path);
		goto close_fd;
	}
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	remove_at_exit(s);
	cli->sock = s;
	LP_LOG(INFO, cli, "control socket %s\n", path);
	return 0;
close_fd:
	close(s->fd);
free_sock:
	if (diag != NULL && ret != -EEXIST && ret != -EADDRINUSE)
		lp_diag_add(diag, "cannot listen on %s: %s", path, strerror(-ret));
	free(s->path);
	free(s);
	return ret;
}

/* ---- connections ---- */

static void
conn_close(struct lp_cli *cli, struct conn *c)
{
	if (c->waiting)
		cli_deferred_drop(cli);
	close(c->fd);
	buf_free(&c->in);
	buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Queue a reply: output, messages, status. */
static void
add_reply(struct conn *c, const char *text, size_t len, struct lp_diag *err, int ret)
{
	add_tagged(&c->out, '|', text, len);
	for (uint32_t i = 0; i < err->n; i++)
		add_tagged(&c->out, '!', err->msg[i], strlen(err->msg[i]));
	if (ret == 0)
		buf_add(&c->out, "OK\n", 3);
	else
		buf_add(&c->out, "ERROR\n", 6);
}

/* Run one line and queue its reply (or wait for it: c->waiting). */
static void
run_line(struct lp_cli *cli, struct conn *c, const char *line)
{
	struct lp_diag err = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int ret;

	if (out == NULL) {
		add_tagged(&c->out, '!', "out of memory", 13);
		buf_add(&c->out, "ERROR\n", 6);
		return;
	}
	ret = cli_exec(cli, line, out, &err, true);
	fclose(out);
	if (ret == -EINPROGRESS)
		c->waiting = true;
	else
		add_reply(c, text, len, &err, ret);
	free(text);
	lp_diag_clear(&err);
}

/* The reply the connection waits for, once it is there: queued (true). */
static bool
take_deferred(struct lp_cli *cli, struct conn *c)
{
	struct lp_diag err = { 0 };
	char *text = NULL;
	int ret;

	if (!c->waiting || !cli_deferred_reply(cli, &text, &err, &ret))
		return false;
	add_reply(c, text, text != NULL ? strlen(text) : 0, &err, ret);
	free(text);
	lp_diag_clear(&err);
	c->waiting = false;
	return true;
}

static void
refuse_line(struct conn *c)
{
	static const char msg[] = "line longer than 4096 bytes";

	add_tagged(&c->out, '!', msg, sizeof(msg) - 1);
	buf_add(&c->out, "ERROR\n", 6);
	c->close_when_sent = true;
}

/* Complete lines waiting in the input, a few per pass. @return how many ran. */
static int
run_lines(struct lp_cli *cli, struct conn *c)
{
	int k;

	for (k = 0; k < LINES_PER_POLL && !cli->quit && !c->close_when_sent && !c->waiting; k++) {
		const char *start = c->in.p + c->in.off;
		size_t avail = c->in.len - c->in.off, n;
		const char *nl;
		char *line;

		if (avail == 0 || c->out.len - c->out.off > OUT_PAUSE_BYTES)
			break;
		nl = memchr(start, '\n', avail);
		if (nl == NULL && avail > LINE_MAX_BYTES) {
			refuse_line(c);
			break;
		}
		/* A last line without its newline still counts. */
		if (nl == NULL && !c->peer_done)
			break;
		n = nl != NULL ? (size_t)(nl - start) : avail;
		if (n > LINE_MAX_BYTES) {
			refuse_line(c);
			break;
		}
		line = strndup(start, n);
		c->in.off += nl != NULL ? n + 1 : n;
		if (line == NULL) {
			c->close_when_sent = true;
			break;
		}
		run_line(cli, c, line);
		free(line);
	}
	if (c->in.off == c->in.len)
		c->in.off = c->in.len = 0;
	return k;
}

/* A complete line (or the last one of a client that shut its side) waits. */
static bool
line_waiting(const struct conn *c)
{
	size_t avail = c->in.len - c->in.off;

	return avail > 0 && (c->peer_done || memchr(c->in.p + c->in.off, '\n', avail) != NULL);
}

/* Waiting on its client: no line to run, no reply coming (a reload being
 * built), and no reply to send or one the client has not read for
 * STALLED_S. Such a connection may be evicted. */
static bool
conn_idle(const struct conn *c, uint64_t now, uint64_t hz)
{
	if (c->waiting || line_waiting(c))
		return false;
	return c->out.len == c->out.off || now - c->last_io > (uint64_t)STALLED_S * hz;
}

static bool
conn_read(struct conn *c)
{
	char chunk[READ_CHUNK];
	ssize_t n;

	/* Read no further ahead than one line while lines wait to run. */
	if (c->peer_done || c->close_when_sent || c->in.len - c->in.off > LINE_MAX_BYTES)
		return false;
	n = recv(c->fd, chunk, sizeof(chunk), MSG_DONTWAIT);
	if (n > 0) {
		if (c->in.off > 0) {
			memmove(c->in.p, c->in.p + c->in.off, c->in.len - c->in.off);
			c->in.len -= c->in.off;
			c->in.off = 0;
		}
		if (buf_add(&c->in, chunk, (size_t)n) != 0)
			c->close_when_sent = true;
		return true;
	}
	if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		c->peer_done = true;
		return true;
	}
	return false;
}

/* Send what the socket takes; false when the client is gone. */
static bool
conn_write(struct conn *c, bool *moved)
{
	while (c->out.off < c->out.len) {
		ssize_t n = send(c->fd, c->out.p + c->out.off, c->out.len - c->out.off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
		c->out.off += (size_t)n;
		*moved = true;
	}
	c->out.off = 0;
	c->out.len = 0;
	return true;
}

/* An incomplete line that has been arriving for too long (a client
 * trickling bytes, or one that never sends its newline) ends the
 * connection after one error reply. */
static void
check_line_deadline(struct conn *c, uint64_t now, uint64_t hz)
{
	static const char msg[] = "command line not complete within 5 s";

	/* While its reload is built the connection reads no further lines. */
	if (c->waiting || c->close_when_sent || c->in.len == c->in.off || line_waiting(c)) {
		c->line_start = 0;
		return;
	}
	if (c->line_start == 0) {
		c->line_start = now;
	} else if (now - c->line_start > (uint64_t)LINE_TIMEOUT_S * hz) {
		add_tagged(&c->out, '!', msg, sizeof(msg) - 1);
		buf_add(&c->out, "ERROR\n", 6);
		c->close_when_sent = true;
	}
}

/* Read, take the reply of a reload that was built meanwhile, run what
 * lines are complete, send what the socket takes, close when done or
 * timed out (not while a reload it started is being built). */
static void
conn_serve(struct lp_cli *cli, struct cli_sock *s, struct conn *c, uint64_t now)
{
	bool moved = false, pending;

	moved |= conn_read(c);
	if (take_deferred(cli, c)) {
		c->since = now;
		cli->activity++;
	}
	if (run_lines(cli, c) > 0) {
		c->since = now;
		cli->activity++;
	}
	check_line_deadline(c, now, s->hz);
	if (!conn_write(c, &moved)) {
		conn_close(cli, c);
		return;
	}
	if (moved) {
		c->last_io = now;
		cli->activity++;
	}
	pending = c->out.len > c->out.off || c->waiting;
	if (!pending && (c->close_when_sent || (c->peer_done && c->in.len == c->in.off)))
		conn_close(cli, c);
	else if (!c->waiting && now - c->last_io > (uint64_t)IDLE_TIMEOUT_S * s->hz)
		conn_close(cli, c);
}

/* A slot for a new connection: a free one, else the one idle longest that
 * is older than NEW_GRACE_MS, else NULL. Chosen, not closed: the caller
 * closes it once it has a connection to put there. */
static struct conn *
pick_slot(struct cli_sock *s, uint64_t now)
{
	struct conn *victim = NULL;

	for (unsigned int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &s->conn[i];

		if (c->fd < 0)
			return c;
		if (now - c->since < s->hz * NEW_GRACE_MS / 1000)
			continue;
		if (conn_idle(c, now, s->hz) && (victim == NULL || c->since < victim->since))
			victim = c;
	}
	return victim;
}

/* New connections, each served at once: a client whose line is already
 * there gets its reply in this pass, before any later one could evict it.
 * With no slot to free, the rest wait in the listen backlog. */
static void
accept_new(struct lp_cli *cli, struct cli_sock *s, uint64_t now)
{
	for (int k = 0; k < ACCEPT_PER_POLL && !cli->quit; k++) {
		struct conn *c = pick_slot(s, now);
		int fd;

		if (c == NULL)
			return;
		fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (c->fd >= 0) {
			LP_LOG(DEBUG, cli, "control socket: all %u connections taken, closing the one idle longest\n",
			       MAX_CONNS);
			conn_close(cli, c);
		}
		c->fd = fd;
		c->last_io = now;
		c->since = now;
		cli->activity++;
		conn_serve(cli, s, c, now);
	}
}

void
cli_sock_poll(struct lp_cli *cli, uint64_t now)
{
	struct cli_sock *s = cli->sock;

	for (unsigned int i = 0; i < MAX_CONNS; i++)
		if (s->conn[i].fd >= 0)
			conn_serve(cli, s, &s->conn[i], now);
	accept_new(cli, s, now);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
cli_sock_close(struct lp_cli *cli)
{
	struct cli_sock *s = cli->sock;
	uint64_t deadline = ms_now() + FLUSH_AT_EXIT_MS;

	if (s == NULL)
		return;
	/* The reply to `quit` (and any other still queued) goes out first. */
	for (unsigned int i = 0; i < MAX_CONNS; i++) {
		struct conn *c = &s->conn[i];
		bool moved = false;

		while (c->fd >= 0 && c->out.off < c->out.len && ms_now() < deadline) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			if (poll(&p, 1, (int)(deadline - ms_now())) <= 0 || !conn_write(c, &moved))
				break;
		}
		if (c->fd >= 0)
			conn_close(cli, c);
	}
	close(s->fd);
	unlink_own(s->path, s->dev, s->ino);
	if (at_exit.path == s->path)
		at_exit.path = NULL;
	free(s->path);
	free(s);
	cli->sock = NULL;
}
