/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * limpetctl: run one limpet command over limpet's control socket.
 *
 *   limpetctl [-s|--socket PATH] [-t|--timeout SECONDS] COMMAND...
 *
 * The words of COMMAND are joined with spaces into one line. The reply's
 * output goes to stdout, its error messages to stderr. Exit status: 0 the
 * command succeeded, 1 it failed, 2 limpet could not be reached or did
 * not answer in time (or a usage error). The protocol is in docs/cli.md.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#define DEFAULT_SOCKET "/run/limpet.sock"
#define DEFAULT_TIMEOUT_S 10

#define EXIT_FAILED 1
#define EXIT_UNREACHABLE 2

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: limpetctl [-s|--socket PATH] [-t|--timeout SECONDS] COMMAND...\n"
		"  runs one limpet command (`limpetctl help` lists them) over limpet's control socket\n"
		"  -s, --socket PATH    the socket (default: $LIMPET_SOCKET, else " DEFAULT_SOCKET ")\n"
		"  -t, --timeout SECS   give up when no full reply came in SECS seconds (default %d)\n"
		"exit status: 0 success, 1 the command failed, 2 limpet could not be reached\n",
		DEFAULT_TIMEOUT_S);
}

static int64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @p events until @p deadline; false on timeout or error. */
static bool
wait_for(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - ms_now();
		int n;

		if (left <= 0)
			return false;
		n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

static int
connect_to(const char *path, int64_t deadline)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err = 0;
	socklen_t len = sizeof(err);

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "limpetctl: socket path too long: %s\n", path);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "limpetctl: socket: %s\n", strerror(errno));
		return -1;
	}
	/* A unix socket whose backlog is full answers EAGAIN and stays
	 * unconnected (poll says writable all the same): try again until
	 * there is room or the time is up. */
	for (;;) {
		struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };

		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		if (errno == EINPROGRESS) {
			if (wait_for(fd, POLLOUT, deadline) && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
			    err == 0)
				return fd;
			errno = err != 0 ? err : ETIMEDOUT;
			break;
		}
		if (errno != EAGAIN && errno != EINTR)
			break;
		if (ms_now() >= deadline) {
			errno = ETIMEDOUT;
			break;
		}
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "limpetctl: cannot connect to %s: %s\n", path, strerror(errno));
	close(fd);
	return -1;
}

static bool
send_all(int fd, const char *p, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

		if (k > 0) {
			p += k;
			n -= (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_for(fd, POLLOUT, deadline))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/*
 * One reply line. Returns -1 to go on, 0 or EXIT_FAILED when it was the
 * status line, EXIT_UNREACHABLE for something that is not the protocol.
 */
static int
reply_line(const char *line, size_t n)
{
	if (n >= 1 && line[0] == '|') {
		fwrite(line + (n >= 2 ? 2 : 1), 1, n >= 2 ? n - 2 : 0, stdout);
		fputc('\n', stdout);
		return -1;
	}
	if (n >= 1 && line[0] == '!') {
		fflush(stdout);
		fwrite(line + (n >= 2 ? 2 : 1), 1, n >= 2 ? n - 2 : 0, stderr);
		fputc('\n', stderr);
		return -1;
	}
	if (n == 2 && memcmp(line, "OK", 2) == 0)
		return EXIT_SUCCESS;
	if (n == 5 && memcmp(line, "ERROR", 5) == 0)
		return EXIT_FAILED;
	fprintf(stderr, "limpetctl: unexpected reply line: %.*s\n", (int)(n > 80 ? 80 : n), line);
	return EXIT_UNREACHABLE;
}

static int
read_reply(int fd, int64_t deadline, int timeout_s)
{
	char buf[65536];
	size_t len = 0;

	for (;;) {
		ssize_t k;
		char *nl;

		while ((nl = memchr(buf, '\n', len)) != NULL) {
			size_t n = (size_t)(nl - buf);
			int st = reply_line(buf, n);

			if (st >= 0)
				return st;
			memmove(buf, nl + 1, len - n - 1);
			len -= n + 1;
		}
		if (len == sizeof(buf)) {
			fprintf(stderr, "limpetctl: reply line longer than %zu bytes\n", sizeof(buf));
			return EXIT_UNREACHABLE;
		}
		k = recv(fd, buf + len, sizeof(buf) - len, 0);
		if (k > 0) {
			len += (size_t)k;
			continue;
		}
		if (k == 0) {
			fprintf(stderr, "limpetctl: limpet closed the connection before its reply ended\n");
			return EXIT_UNREACHABLE;
		}
		if (errno != EAGAIN && errno != EINTR) {
			fprintf(stderr, "limpetctl: %s\n", strerror(errno));
			return EXIT_UNREACHABLE;
		}
		if (!wait_for(fd, POLLIN, deadline)) {
			fprintf(stderr, "limpetctl: no reply within %d s\n", timeout_s);
			return EXIT_UNREACHABLE;
		}
	}
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("LIMPET_SOCKET");
	int timeout_s = DEFAULT_TIMEOUT_S, opt, fd, st;
	char *line = NULL;
	size_t len = 0;
	int64_t deadline;

	if (path == NULL || path[0] == '\0')
		path = DEFAULT_SOCKET;
	/* '+': options end at the command, whose words may start with '-'. */
	while ((opt = getopt_long(argc, argv, "+s:t:h", longs, NULL)) != -1) {
		char *end;

		switch (opt) {
		case 's':
			path = optarg;
			break;
		case 't':
			timeout_s = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || timeout_s < 1 || timeout_s > 86400) {
				fprintf(stderr, "limpetctl: --timeout: '%s' is not 1..86400 seconds\n", optarg);
				return EXIT_UNREACHABLE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_UNREACHABLE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return EXIT_UNREACHABLE;
	}
	for (int i = optind; i < argc; i++) {
		size_t n = strlen(argv[i]);
		char *l;

		/* One command per call: a newline would smuggle in a second. */
		if (strpbrk(argv[i], "\r\n") != NULL) {
			fprintf(stderr, "limpetctl: a command word may not hold a line break\n");
			free(line);
			return EXIT_UNREACHABLE;
		}
		l = realloc(line, len + n + 2);
		if (l == NULL) {
			free(line);
			fprintf(stderr, "limpetctl: out of memory\n");
			return EXIT_UNREACHABLE;
		}
		line = l;
		memcpy(line + len, argv[i], n);
		len += n;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	deadline = ms_now() + (int64_t)timeout_s * 1000;
	fd = connect_to(path, deadline);
	if (fd < 0) {
		free(line);
		return EXIT_UNREACHABLE;
	}
	if (!send_all(fd, line, len, deadline)) {
		fprintf(stderr, "limpetctl: cannot send to %s: %s\n", path, strerror(errno));
		free(line);
		close(fd);
		return EXIT_UNREACHABLE;
	}
	free(line);
	/* Nothing more to say: limpet closes once it has answered. */
	shutdown(fd, SHUT_WR);
	st = read_reply(fd, deadline, timeout_s);
	close(fd);
	fflush(stdout);
	return st;
}
