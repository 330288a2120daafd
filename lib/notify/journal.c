/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Log lines with syslog priorities for the journal (sd-daemon(3)): under
 * systemd, standard error is a stream into journald, which reads a leading
 * `<N>` as the line's priority. Two stdio cookie streams do the prefixing:
 * one becomes rte_log's stream (so DPDK's messages and limpet's LP_LOG keep
 * their own levels, RTE_LOG_ERR = 4 → `<3>`), the other replaces stderr
 * (messages written there are errors: `<3>`). Each complete line leaves
 * in one write, so lines from several threads never interleave.
 *
 * DPDK's own console stream would instead write to stdout *and* syslog(3):
 * under systemd every message would reach the journal twice. Replacing the
 * stream before rte_eal_init() avoids that too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_log.h>

#include "lp_notify.h"

#define PRIO_ERR 3	/* LOG_ERR */
#define PRIO_INFO 6	/* LOG_INFO */

bool
lp_journal_is_stream(int fd, const char *journal_stream)
{
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (journal_stream == NULL ||
	    sscanf(journal_stream, "%llu:%llu%n", &dev, &ino, &end) != 2 || journal_stream[end] != '\0')
		return false;
	return fstat(fd, &st) == 0 && (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Write "<prio>" + the buffered line + "\n" in one go. */
static int
emit(struct lp_journal_lines *l, int prio)
{
	char prefix[4] = { '<', (char)('0' + (prio < 0 ? PRIO_INFO : prio > 7 ? 7 : prio)), '>', '\0' };
	struct iovec iov[3] = {
		{ .iov_base = prefix, .iov_len = 3 },
		{ .iov_base = l->buf, .iov_len = l->len },
		{ .iov_base = (char *)"\n", .iov_len = 1 },
	};
	size_t left = 3 + l->len + 1;
	int i = 0;

	l->len = 0;
	while (left > 0) {
		ssize_t n = writev(l->fd, iov + i, 3 - i);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		left -= (size_t)n;
		// A short write: go on from where it stopped.
		while (i < 3 && (size_t)n >= iov[i].iov_len)
			n -= (ssize_t)iov[i++].iov_len;
		if (i < 3) {
			iov[i].iov_base = (char *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

ssize_t
lp_journal_lines_add(struct lp_journal_lines *l, const char *text, size_t size, int prio)
{
	size_t done = 0;

	while (done < size) {
		const char *nl = memchr(text + done, '\n', size - done);
		size_t piece = (nl != NULL ? (size_t)(nl - text) : size) - done;
		size_t room = sizeof(l->buf) - l->len;
		size_t take = piece < room ? piece : room;

		memcpy(l->buf + l->len, text + done, take);
		l->len += take;
		done += take;
		if (take == piece && nl != NULL) {
			done++;	/* the newline */
			if (emit(l, prio) != 0)
				return -1;
		} else if (l->len == sizeof(l->buf) && emit(l, prio) != 0) {
			return -1;
		}
	}
	return (ssize_t)size;
}

static struct lp_journal_lines err_lines;
static struct lp_journal_lines log_lines;

static ssize_t
write_err(void *cookie, const char *buf, size_t size)
{
	return lp_journal_lines_add(cookie, buf, size, PRIO_ERR);
}

static ssize_t
write_log(void *cookie, const char *buf, size_t size)
{
	// rte_vlog() records the message's level (RTE_LOG_EMERG 1 .. RTE_LOG_DEBUG 8) before printing it.
	int level = rte_log_cur_msg_loglevel();

	return lp_journal_lines_add(cookie, buf, size, level >= 1 && level <= 8 ? level - 1 : PRIO_INFO);
}

int
lp_journal_setup(void)
{
	cookie_io_functions_t err_io = { .write = write_err };
	cookie_io_functions_t log_io = { .write = write_log };
	FILE *err_stream, *log_stream;

	if (!lp_journal_is_stream(STDERR_FILENO, getenv("JOURNAL_STREAM")))
		return 0;
	err_lines.fd = log_lines.fd = STDERR_FILENO;
	err_stream = fopencookie(&err_lines, "w", err_io);
	log_stream = fopencookie(&log_lines, "w", log_io);
	if (err_stream == NULL || log_stream == NULL) {
		int ret = -errno;

		if (err_stream != NULL)
			fclose(err_stream);
		if (log_stream != NULL)
			fclose(log_stream);
		return ret;
	}
	/* stderr stays unbuffered; the log stream is line buffered so each
	 * line is handed over inside rte_vlog(), on the thread whose level
	 * rte_log_cur_msg_loglevel() reports. */
	setvbuf(err_stream, NULL, _IONBF, 0);
	setvbuf(log_stream, NULL, _IOLBF, 0);
	stderr = err_stream;
	rte_openlog_stream(log_stream);
	return 1;
}
