/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sd_notify datagram protocol (sd_notify(3), "this protocol is
 * stable"): one AF_UNIX datagram of newline-separated assignments to the
 * socket named by $NOTIFY_SOCKET. No DPDK here, so the unit tests drive it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lp_notify.h"

int
lp_notify_sock_open(struct lp_notify_sock *s, const char *path)
{
	size_t len = path != NULL ? strlen(path) : 0;

	s->fd = -1;
	if (len == 0)
		return -ENOENT;
	/* A path, or '@' for the abstract namespace; systemd's newer
	 * vsock: addresses are for virtual machines, not limpet. */
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof(s->sa.sun_path) || (path[0] == '@' && len < 2))
		return -EINVAL;
	memset(&s->sa, 0, sizeof(s->sa));
	s->sa.sun_family = AF_UNIX;
	memcpy(s->sa.sun_path, path, len);
	if (path[0] == '@')
		s->sa.sun_path[0] = '\0';
	/* An abstract name's length is part of it: no trailing NUL counted. */
	s->sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (path[0] == '/'));
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	return s->fd >= 0 ? 0 : -errno;
}

int
lp_notify_sock_send(const struct lp_notify_sock *s, const char *msg)
{
	ssize_t n;

	if (s->fd < 0)
		return -EBADF;
	// MSG_DONTWAIT: a manager that does not read must never stall the control thread.
	do {
		n = sendto(s->fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT,
			   (const struct sockaddr *)&s->sa, s->sa_len);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

void
lp_notify_sock_close(struct lp_notify_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* A decimal number filling all of @p text, without sign or blanks. */
static bool
parse_u64(const char *text, uint64_t *v)
{
	char *end;

	if (text == NULL || text[0] < '0' || text[0] > '9')
		return false;
	errno = 0;
	*v = strtoull(text, &end, 10);
	return errno == 0 && *end == '\0';
}

uint64_t
lp_notify_watchdog_usec(const char *usec, const char *pid, pid_t self)
{
	uint64_t us, p;

	if (!parse_u64(usec, &us) || us == 0)
		return 0;
	/* WATCHDOG_PID names the process the period is for; a child that
	 * inherited the environment must not pet its parent's watchdog. */
	if (pid != NULL && (!parse_u64(pid, &p) || p != (uint64_t)self))
		return 0;
	return us;
}
