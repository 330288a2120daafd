/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The service-manager side of limpet without a service manager: the
 * sd_notify datagram protocol against sockets the test binds, the
 * WATCHDOG_USEC / WATCHDOG_PID rules, and the journal's line prefixing.
 * (Readiness and the watchdog itself are tested on the real binary by
 * tests/pkg/test_notify.py.)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lp_notify.h"
#include "lp_test.h"

/* ---- the protocol ---- */

static int
bind_dgram(struct sockaddr_un *sa, socklen_t len)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)sa, len) == 0);
	return fd;
}

static void
expect_msg(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	CU_ASSERT_FATAL(n >= 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_send_to_path(void)
{
	char dir[] = "/tmp/lp-notify.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct lp_notify_sock s;
	int fd;

	CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = bind_dgram(&sa, sizeof(sa));
	CU_ASSERT_EQUAL_FATAL(lp_notify_sock_open(&s, sa.sun_path), 0);
	CU_ASSERT_EQUAL(lp_notify_sock_send(&s, "READY=1\nSTATUS=running"), 0);
	expect_msg(fd, "READY=1\nSTATUS=running");
	CU_ASSERT_EQUAL(lp_notify_sock_send(&s, "WATCHDOG=1"), 0);
	expect_msg(fd, "WATCHDOG=1");
	lp_notify_sock_close(&s);
	CU_ASSERT_EQUAL(s.fd, -1);
	CU_ASSERT_EQUAL(lp_notify_sock_send(&s, "READY=1"), -EBADF);
	lp_notify_sock_close(&s);	/* twice is fine */
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void
test_send_to_abstract(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64];
	struct lp_notify_sock s;
	size_t len;
	int fd;

	/* "@name": the abstract namespace, NUL first, no NUL counted at the end. */
	len = (size_t)snprintf(name, sizeof(name), "@lp-notify-%d", (int)getpid());
	memcpy(sa.sun_path, name, len);
	sa.sun_path[0] = '\0';
	fd = bind_dgram(&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
	CU_ASSERT_EQUAL_FATAL(lp_notify_sock_open(&s, name), 0);
	CU_ASSERT_EQUAL(lp_notify_sock_send(&s, "STOPPING=1"), 0);
	expect_msg(fd, "STOPPING=1");
	lp_notify_sock_close(&s);
	close(fd);
}

static void
test_bad_addresses(void)
{
	static const struct {
		const char *what;
		const char *path;
		int expect;
	} cases[] = {
		{ "unset", NULL, -ENOENT },
		{ "empty", "", -ENOENT },
		{ "relative path", "run/notify", -EINVAL },
		{ "vsock address", "vsock:2:1234", -EINVAL },
		{ "bare @", "@", -EINVAL },
	};
	char longpath[200];
	struct lp_notify_sock s;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = lp_notify_sock_open(&s, cases[i].path);

		if (ret != cases[i].expect)
			printf("  %s: got %d, want %d\n", cases[i].what, ret, cases[i].expect);
		CU_ASSERT_EQUAL(ret, cases[i].expect);
		CU_ASSERT_EQUAL(s.fd, -1);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CU_ASSERT_EQUAL(lp_notify_sock_open(&s, longpath), -EINVAL);
}

static void
test_no_listener(void)
{
	struct lp_notify_sock s;

	/* Nobody bound there: the send fails, it does not block or crash. */
	CU_ASSERT_EQUAL_FATAL(lp_notify_sock_open(&s, "/tmp/lp-notify-nobody-here"), 0);
	CU_ASSERT(lp_notify_sock_send(&s, "READY=1") < 0);
	lp_notify_sock_close(&s);
}

static void
test_watchdog_env(void)
{
	static const struct {
		const char *what;
		const char *usec, *pid;
		uint64_t expect;
	} cases[] = {
		{ "unset", NULL, NULL, 0 },
		{ "period, no pid", "5000000", NULL, 5000000 },
		{ "period for this pid", "250000", "4242", 250000 },
		{ "period for another pid", "250000", "4243", 0 },
		{ "pid not a number", "250000", "x42", 0 },
		{ "zero period", "0", NULL, 0 },
		{ "negative", "-5", NULL, 0 },
		{ "trailing junk", "5000000s", NULL, 0 },
		{ "leading blank", " 5000000", NULL, 0 },
		{ "empty", "", NULL, 0 },
		{ "overflow", "99999999999999999999999", NULL, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t got = lp_notify_watchdog_usec(cases[i].usec, cases[i].pid, 4242);

		if (got != cases[i].expect)
			printf("  %s: got %llu\n", cases[i].what, (unsigned long long)got);
		CU_ASSERT_EQUAL(got, cases[i].expect);
	}
}

/* ---- the journal ---- */

/* Feed pieces into a line assembler writing to a pipe; return what came out. */
static char *
through_lines(const char *const *pieces, const int *prios, size_t n)
{
	static char out[16384];
	struct lp_journal_lines *l = calloc(1, sizeof(*l));
	int p[2];
	ssize_t got;

	CU_ASSERT_FATAL(l != NULL && pipe(p) == 0);
	l->fd = p[1];
	for (size_t i = 0; i < n; i++)
		CU_ASSERT_EQUAL(lp_journal_lines_add(l, pieces[i], strlen(pieces[i]), prios[i]),
				(ssize_t)strlen(pieces[i]));
	close(p[1]);
	got = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	out[got > 0 ? got : 0] = '\0';
	free(l);
	return out;
}

static void
test_lines_prefixed(void)
{
	static const char *const pieces[] = { "EAL: one\n", "limpet: two ", "halves\n", "a\nb\n", "no end yet" };
	static const int prios[] = { 6, 4, 3, 7, 0 };

	/* A line takes the priority of the piece that completes it; an
	 * unfinished line stays until its newline comes. */
	CU_ASSERT_STRING_EQUAL(through_lines(pieces, prios, 5), "<6>EAL: one\n<3>limpet: two halves\n<7>a\n<7>b\n");
}

static void
test_lines_empty_and_clamped(void)
{
	static const char *const pieces[] = { "\n", "x\n", "y\n" };
	static const int prios[] = { 5, 9, -1 };

	CU_ASSERT_STRING_EQUAL(through_lines(pieces, prios, 3), "<5>\n<7>x\n<6>y\n");
}

static void
test_lines_long_cut(void)
{
	struct lp_journal_lines probe;
	size_t cap = sizeof(probe.buf);
	char *text = malloc(cap + 11);
	const char *pieces[1] = { text };
	const int prios[1] = { 3 };
	const char *out;

	CU_ASSERT_FATAL(text != NULL);
	memset(text, 'z', cap + 9);
	text[cap + 9] = '\n';
	text[cap + 10] = '\0';
	out = through_lines(pieces, prios, 1);
	/* cap bytes, then the remaining 9: each piece a line with its prefix. */
	CU_ASSERT_EQUAL(strlen(out), 3 + cap + 1 + 3 + 9 + 1);
	CU_ASSERT_NSTRING_EQUAL(out, "<3>zzz", 6);
	CU_ASSERT_STRING_EQUAL(out + 3 + cap + 1, "<3>zzzzzzzzz\n");
	free(text);
}

static void
test_is_stream(void)
{
	char path[] = "/tmp/lp-journal.XXXXXX";
	int fd = mkstemp(path), other = open("/dev/null", O_WRONLY);
	char js[64];
	struct stat st;

	CU_ASSERT_FATAL(fd >= 0 && other >= 0 && fstat(fd, &st) == 0);
	snprintf(js, sizeof(js), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
	CU_ASSERT_TRUE(lp_journal_is_stream(fd, js));
	CU_ASSERT_FALSE(lp_journal_is_stream(other, js));
	CU_ASSERT_FALSE(lp_journal_is_stream(fd, NULL));
	CU_ASSERT_FALSE(lp_journal_is_stream(fd, ""));
	CU_ASSERT_FALSE(lp_journal_is_stream(fd, "12"));
	strcat(js, "x");
	CU_ASSERT_FALSE(lp_journal_is_stream(fd, js));
	close(fd);
	close(other);
	unlink(path);
}

static const struct lp_test_case protocol_cases[] = {
	{ "sends datagrams to a path socket", test_send_to_path },
	{ "sends datagrams to an abstract socket (@name)", test_send_to_abstract },
	{ "refuses addresses it cannot reach", test_bad_addresses },
	{ "a manager that is gone makes sends fail, not block", test_no_listener },
	{ "WATCHDOG_USEC and WATCHDOG_PID as sd_watchdog_enabled reads them", test_watchdog_env },
	{ NULL, NULL },
};

static const struct lp_test_case journal_cases[] = {
	{ "lines leave whole, each with its priority", test_lines_prefixed },
	{ "empty lines, priorities clamped to 0..7 (info when unknown)", test_lines_empty_and_clamped },
	{ "a line longer than the buffer is cut, each part prefixed", test_lines_long_cut },
	{ "JOURNAL_STREAM names the descriptor by device and inode", test_is_stream },
	{ NULL, NULL },
};

int
main(void)
{
	static const struct lp_test_suite suites[] = {
		{ "sd_notify protocol", NULL, NULL, protocol_cases },
		{ "journal priorities", NULL, NULL, journal_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
