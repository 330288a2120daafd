/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Reading a config file for lp_config_load(): once, never blocking, and
 * never half of a file someone is still writing.
 *
 *  - Only a regular file is read. A FIFO would block open() until a writer
 *    appears, a device can be endless (/dev/zero) or have side effects, a
 *    directory is a mistake: each is refused before it is opened, and again
 *    on the descriptor (O_NONBLOCK), in case the path changed in between.
 *  - At most LP_CFG_FILE_MAX bytes, known from the size before reading.
 *  - The file read must be the file as it stands, complete: no process
 *    has it open for writing, the same inode, size, mtime and ctime before
 *    and after the read, the path still naming it, and no change in the
 *    last LP_CFG_QUIET_MS (a file rewritten in place passes through every
 *    prefix of itself, many of them valid YAML: "0 services" would delete
 *    every service). Otherwise it is read again once quiet,
 *    LP_CFG_LOAD_TRIES times at most.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config_priv.h"

enum attempt { READ_DONE, READ_FAILED, READ_AGAIN };

/* What one try read, or why it must try again. */
struct reading {
	char *buf;
	size_t len;
	int err;			/* READ_FAILED: errno */
	uint32_t wait_ms;		/* READ_AGAIN: until the file has been quiet long enough */
	const char *why;		/* READ_AGAIN: what changed */
};

/* "No such file or directory" reads as "no such file or directory" in a message. */
static void
report_errno(struct lp_diag *diag, const char *path, const char *what, int err)
{
	char text[128];

	snprintf(text, sizeof(text), "%s", strerror(err));
	text[0] = (char)tolower((unsigned char)text[0]);
	if (diag != NULL)
		lp_diag_add(diag, "%s: %s: %s", path, what, text);
}

static const char *
file_kind(mode_t mode)
{
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a file";
}

/* READ_FAILED unless st is a regular file of a size limpet reads. */
static enum attempt
usable(const struct stat *st, const char *path, struct lp_diag *diag, struct reading *r)
{
	if (!S_ISREG(st->st_mode)) {
		if (diag != NULL)
			lp_diag_add(diag, "%s: not a regular file (%s), not read", path, file_kind(st->st_mode));
		r->err = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		return READ_FAILED;
	}
	if (st->st_size > (off_t)LP_CFG_FILE_MAX) {
		if (diag != NULL)
			lp_diag_add(diag, "%s: larger than %u MiB, not a config file", path, LP_CFG_FILE_MAX >> 20);
		r->err = EFBIG;
		return READ_FAILED;
	}
	return READ_DONE;
}

static bool
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool
same_content(const struct stat *a, const struct stat *b)
{
	return same_file(a, b) && a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int64_t
ms_of(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

/*
 * Milliseconds to wait until the file has not changed for LP_CFG_QUIET_MS,
 * 0 when it has not. ctime counts too: it moves with every write and
 * cannot be set back (a copy that keeps the old mtime still shows).
 * A change stamped in the future (a clock set back) does not hold the
 * file forever: only the last LP_CFG_QUIET_MS on either side count.
 */
static uint32_t
quiet_wait(const struct stat *st)
{
	struct timespec now;
	int64_t latest = ms_of(&st->st_mtim), age;

	if (ms_of(&st->st_ctim) > latest)
		latest = ms_of(&st->st_ctim);
	clock_gettime(CLOCK_REALTIME, &now);
	age = ms_of(&now) - latest;
	if (age >= LP_CFG_QUIET_MS || age <= -LP_CFG_QUIET_MS)
		return 0;
	return (uint32_t)(LP_CFG_QUIET_MS - (age > 0 ? age : 0));
}

/*
 * True when some process has the file open for writing: the kernel then
 * refuses a read lease (EAGAIN). This sees a writer that stalls longer
 * than the quiet period between two writes (a loaded machine). The lease
 * is dropped at once; should a writer open the file in between, its break
 * is signalled with SIGURG, ignored by default, instead of SIGIO, which
 * would end the process. Where a lease is not allowed (neither CAP_LEASE
 * nor the file's owner, or a file system without leases) the quiet period
 * has to do alone.
 */
static bool
open_for_writing(int fd)
{
	if (fcntl(fd, F_SETSIG, SIGURG) != 0)
		return false;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) != 0)
		return errno == EAGAIN;
	fcntl(fd, F_SETLEASE, F_UNLCK);
	return false;
}

/* Read all of fd, expecting size bytes: one more means it grew. */
static int
read_all(int fd, char *buf, size_t size, size_t *len)
{
	*len = 0;
	while (*len < size + 1) {
		ssize_t got = read(fd, buf + *len, size + 1 - *len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return errno != 0 ? errno : EIO;
		if (got == 0)
			break;
		*len += (size_t)got;
	}
	return 0;
}

static enum attempt
again(struct reading *r, const char *why, uint32_t wait_ms)
{
	free(r->buf);
	r->buf = NULL;
	r->why = why;
	r->wait_ms = wait_ms;
	return READ_AGAIN;
}

static enum attempt
try_read(const char *path, struct lp_diag *diag, struct reading *r)
{
	struct stat before, opened, after, named;
	enum attempt res;
	int fd, err;

	if (stat(path, &before) != 0) {
		r->err = errno;
		report_errno(diag, path, "cannot open", r->err);
		return READ_FAILED;
	}
	res = usable(&before, path, diag, r);
	if (res != READ_DONE)
		return res;
	// O_NONBLOCK: should the path turn into a FIFO now, open() returns at once.
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		r->err = errno;
		report_errno(diag, path, "cannot open", r->err);
		return READ_FAILED;
	}
	if (fstat(fd, &opened) != 0) {
		r->err = errno;
		report_errno(diag, path, "cannot read", r->err);
		close(fd);
		return READ_FAILED;
	}
	res = usable(&opened, path, diag, r);
	if (res != READ_DONE) {
		close(fd);
		return res;
	}
	if (!same_file(&before, &opened)) {
		close(fd);
		return again(r, "replaced as it was opened", 0);
	}
	if (open_for_writing(fd)) {
		close(fd);
		return again(r, "open for writing by another process", LP_CFG_QUIET_MS);
	}
	r->buf = malloc((size_t)opened.st_size + 1);
	if (r->buf == NULL) {
		close(fd);
		r->err = ENOMEM;
		return READ_FAILED;
	}
	err = read_all(fd, r->buf, (size_t)opened.st_size, &r->len);
	if (err == 0 && fstat(fd, &after) != 0)
		err = errno;
	close(fd);
	if (err != 0) {
		free(r->buf);
		r->buf = NULL;
		r->err = err;
		report_errno(diag, path, "cannot read", err);
		return READ_FAILED;
	}
	if (r->len != (size_t)opened.st_size || !same_content(&opened, &after))
		return again(r, "changed while it was read", LP_CFG_QUIET_MS);
	if (stat(path, &named) != 0 || !same_file(&named, &after))
		return again(r, "replaced while it was read", 0);
	if (quiet_wait(&after) != 0)
		return again(r, "changed less than 100 ms before it was read", quiet_wait(&after));
	return READ_DONE;
}

static void
sleep_ms(uint32_t ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

struct lp_config *
lp_config_load(const char *path, struct lp_diag *diag)
{
	struct reading r = { .buf = NULL };
	struct lp_config *c;
	enum attempt res;
	int err;

	struct timespec start, end;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned int tries = 1;; tries++) {
		res = try_read(path, diag, &r);
		if (res != READ_AGAIN)
			break;
		if (tries == LP_CFG_LOAD_TRIES) {
			clock_gettime(CLOCK_MONOTONIC, &end);
			if (diag != NULL)
				lp_diag_add(diag,
					    "%s: not read: %s (%u tries in %.1f s); replace config files atomically: "
					    "write another file, then rename it over this one",
					    path, r.why, tries, (double)(ms_of(&end) - ms_of(&start)) / 1000.0);
			errno = EAGAIN;
			return NULL;
		}
		// At least a millisecond: the next try should see something new.
		sleep_ms(r.wait_ms != 0 ? r.wait_ms : 1);
	}
	if (res == READ_FAILED) {
		errno = r.err;
		return NULL;
	}
	c = lp_config_parse(r.buf, r.len, path, diag);
	err = errno;
	free(r.buf);
	errno = err;
	return c;
}
