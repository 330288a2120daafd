/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * lib/config against hostile input: files that are not regular files, the
 * size limit at its exact boundary, nesting thousands deep, every limit of
 * lp_config.h at its boundary (from a file and in memory), anchors, and
 * files rewritten in place while they are read.
 *
 * Each of these was a fault seen in the field (issue 14 §4): before the
 * fix, a FIFO hung lp_config_load() in open(), 16 MiB exactly was refused,
 * 40k nested '[' took 11 s, files over the daemon's limits passed, and a
 * half-written file was applied.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config_check.h"
#include "lp_config.h"
#include "lp_test.h"

#define PORT_LINE "  - { name: wan, device: net_null0, address: 10.0.0.1/24 }\n"
#define PORTS "ports:\n" PORT_LINE

static char dir[] = "/tmp/test_config_load.XXXXXX";

static int
make_dir(void)
{
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
remove_dir(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
in_dir(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
	return buf;
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT_FATAL(fwrite(text, 1, len, f) == len);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/* A growing text, for generated files. */
struct text {
	char *s;
	size_t len;
	FILE *f;
};

static void
text_open(struct text *t)
{
	t->s = NULL;
	t->len = 0;
	t->f = open_memstream(&t->s, &t->len);
	CU_ASSERT_FATAL(t->f != NULL);
}

static char *
text_close(struct text *t)
{
	CU_ASSERT_FATAL(fclose(t->f) == 0);
	return t->s;
}

/* ---- not a regular file: refused at once, never opened for a read that blocks ---- */

/*
 * lp_config_load(path) in a child, so that a load that blocks (the fault)
 * fails the test instead of hanging it. *msg: its first message.
 */
static bool
load_in_child(const char *path, int *err, char *msg, size_t len)
{
	int fds[2];
	pid_t pid;
	int status = 0;
	ssize_t got;

	CU_ASSERT_FATAL(pipe(fds) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		struct lp_diag d = { 0 };
		struct lp_config *c;

		close(fds[0]);
		errno = 0;
		c = lp_config_load(path, &d);
		if (d.n > 0 && write(fds[1], d.msg[0], strlen(d.msg[0])) < 0)
			_exit(255);
		_exit(c == NULL ? errno : 0);
	}
	close(fds[1]);
	// Five seconds is "blocked" for a call that must answer at once.
	for (int i = 0; i < 500 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(fds[0]);
		return false;
	}
	got = read(fds[0], msg, len - 1);
	msg[got > 0 ? got : 0] = '\0';
	close(fds[0]);
	*err = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return true;
}

static void
expect_refused_at_once(const char *path, int want_err, const char *kind)
{
	char msg[512], expect[512];
	int err = 0;

	if (!load_in_child(path, &err, msg, sizeof(msg))) {
		fprintf(stderr, "\nlp_config_load(%s) still blocked after 5 s\n", path);
		CU_FAIL("lp_config_load blocked on a file that is not a regular file");
		return;
	}
	CU_ASSERT_EQUAL(err, want_err);
	snprintf(expect, sizeof(expect), "%s: not a regular file (%s), not read", path, kind);
	if (strcmp(msg, expect) != 0)
		fprintf(stderr, "\ngot      '%s'\nexpected '%s'\n", msg, expect);
	CU_ASSERT_STRING_EQUAL(msg, expect);
}

static void
test_fifo_refused_at_once(void)
{
	char path[128], link[128];

	in_dir("fifo.yaml", path, sizeof(path));
	CU_ASSERT_FATAL(mkfifo(path, 0600) == 0);
	expect_refused_at_once(path, EINVAL, "a FIFO");
	// Through a symbolic link it is still the FIFO that is refused.
	in_dir("link.yaml", link, sizeof(link));
	CU_ASSERT_FATAL(symlink(path, link) == 0);
	expect_refused_at_once(link, EINVAL, "a FIFO");
	unlink(link);
	unlink(path);
}

static void
test_devices_and_directories_refused(void)
{
	expect_refused_at_once("/dev/null", EINVAL, "a character device");
	expect_refused_at_once("/dev/zero", EINVAL, "a character device");
	expect_refused_at_once(dir, EISDIR, "a directory");
}

/* ---- size: LP_CFG_FILE_MAX bytes exactly is a config file, one more is not ---- */

/* A valid config padded with comment lines to exactly size bytes. */
static char *
padded_config(size_t size)
{
	static const char head[] = PORTS;
	char *s = malloc(size);

	CU_ASSERT_FATAL(s != NULL && size > sizeof(head) + 2);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'x', size - (sizeof(head) - 1));
	for (size_t i = sizeof(head) - 1; i < size; i += 100)
		s[i] = '#';
	for (size_t i = sizeof(head) - 1 + 99; i < size; i += 100)
		s[i] = '\n';
	s[size - 1] = '\n';
	return s;
}

static void
test_size_limit_exact(void)
{
	char path[128], expect[192];
	struct lp_diag d = { 0 };
	struct lp_config *c;
	char *text = padded_config(LP_CFG_FILE_MAX + 1);

	in_dir("big.yaml", path, sizeof(path));
	// LP_CFG_FILE_MAX bytes (a comment line ends it): accepted.
	text[LP_CFG_FILE_MAX - 1] = '\n';
	write_file(path, text, LP_CFG_FILE_MAX);
	c = lp_config_load(path, &d);
	for (uint32_t i = 0; i < d.n; i++)
		fprintf(stderr, "\n%s", d.msg[i]);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_EQUAL(d.n, 0);
	if (c != NULL)
		CU_ASSERT_EQUAL(c->n_ports, 1);
	lp_config_free(c);
	lp_diag_clear(&d);

	// One byte more: refused, before it is read.
	text[LP_CFG_FILE_MAX] = '\n';
	write_file(path, text, LP_CFG_FILE_MAX + 1);
	errno = 0;
	CU_ASSERT_PTR_NULL(lp_config_load(path, &d));
	CU_ASSERT_EQUAL(errno, EFBIG);
	snprintf(expect, sizeof(expect), "%s: larger than 16 MiB, not a config file", path);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	CU_ASSERT_STRING_EQUAL(d.msg[0], expect);
	lp_diag_clear(&d);
	free(text);
	unlink(path);
}

/* ---- nesting: stopped at the first collection too deep, whatever follows ---- */

/* "ports: " then depth '[' and as many ']'. */
static char *
nested_flow(unsigned int depth)
{
	struct text t;

	text_open(&t);
	fputs("ports: ", t.f);
	for (unsigned int i = 0; i < depth; i++)
		fputc('[', t.f);
	for (unsigned int i = 0; i < depth; i++)
		fputc(']', t.f);
	fputc('\n', t.f);
	return text_close(&t);
}

static void
expect_only(const char *what, const char *yaml, const char *message)
{
	const char *expect[] = { message, NULL };

	cc_expect_problems(what, yaml, expect);
}

static void
test_deep_flow_sequences(void)
{
	static const unsigned int depths[] = { 40000, 100000 };
	char *yaml;

	/* The root mapping is level 1: the 32nd '[' is the first too deep, at column 8 + 31. */
	for (unsigned int i = 0; i < sizeof(depths) / sizeof(depths[0]); i++) {
		yaml = nested_flow(depths[i]);
		expect_only("deep flow sequence", yaml, "t.yaml:1:39: nesting deeper than 32");
		free(yaml);
	}
	// As deep as allowed: only the schema complains.
	yaml = nested_flow(LP_CFG_DEPTH_MAX - 1);
	expect_only("deepest allowed", yaml, "t.yaml:1:9: port: expected a mapping, got a sequence");
	free(yaml);
	yaml = nested_flow(LP_CFG_DEPTH_MAX);
	expect_only("one too deep", yaml, "t.yaml:1:39: nesting deeper than 32");
	free(yaml);
}

static void
test_deep_block_mappings(void)
{
	struct text t;
	char *yaml;

	text_open(&t);
	fputs(PORTS, t.f);
	for (unsigned int i = 0; i < 20000; i++)
		fprintf(t.f, "%*sk%u:\n", (int)i, "", i);
	yaml = text_close(&t);
	/* The root mapping is level 1; k0's value, from k1 (line 4), level 2; k32 (line 35) opens level 33. */
	expect_only("deep block mappings", yaml, "t.yaml:35:33: nesting deeper than 32");
	free(yaml);

	text_open(&t);
	fputs(PORTS "services:\n", t.f);
	for (unsigned int i = 0; i < 20000; i++)
		fprintf(t.f, "%*s- \n", (int)(2 * i + 2), "");
	yaml = text_close(&t);
	/* services' value, from line 4, is level 2; line 35 opens level 33. */
	expect_only("deep block sequences", yaml, "t.yaml:35:65: nesting deeper than 32");
	free(yaml);
}

/* ---- anchors and aliases ---- */

static void
test_anchors(void)
{
	struct lp_config *c;
	struct text t;
	char *yaml;

	c = cc_parse_ok("ports:\n  - &p { name: wan, device: x, address: 10.0.0.1/24 }\n"
			"services:\n  - { name: a, vip: 10.0.0.100, port: 80, backends: &b [ { address: 10.1.0.11 } ] }\n"
			"  - { name: b, vip: 10.0.0.100, port: 81, backends: *b }\n");
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(c->services[1].n_backends, 1);
	lp_config_free(c);
	expect_only("undefined alias", PORTS "services: *nothing\n", "t.yaml:3:11: syntax error: undefined alias '*nothing'");
	expect_only("anchor defined twice", "ports:\n  - &p { name: wan, device: x, address: 10.0.0.1/24 }\n  - &p { }\n",
		    "t.yaml:3:5: syntax error: anchor '&p' defined twice, first at 2:5");
	/* Many anchors and aliases: found by hash, not by a scan of all (libyaml's composer). */
	text_open(&t);
	fputs(PORTS "services:\n  - name: a\n    vip: 10.0.0.100\n    port: 80\n    backends:\n", t.f);
	for (unsigned int i = 0; i < 4000; i++)
		fprintf(t.f, "      - { address: &a%u 10.1.%u.%u }\n", i, i / 250, 1 + i % 250);
	fputs("  - name: b\n    vip: 10.0.0.100\n    port: 81\n    backends:\n", t.f);
	for (unsigned int i = 0; i < 4000; i++)
		fprintf(t.f, "      - { address: *a%u }\n", i);
	yaml = text_close(&t);
	c = cc_parse_ok(yaml);
	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(c->services[1].n_backends, 4000);
	for (unsigned int i = 0; i < 4000; i++)
		CU_ASSERT(lp_ip_equal(&c->services[0].backends[i].addr, &c->services[1].backends[i].addr));
	lp_config_free(c);
}

/* ---- the limits of lp_config.h, from a file ---- */

/* n services, each with per backends, on one line each. */
static char *
services_file(unsigned int n, unsigned int per)
{
	struct text t;

	text_open(&t);
	fputs(PORTS "services:\n", t.f);
	for (unsigned int i = 0; i < n; i++) {
		fprintf(t.f, "  - { name: s%u, vip: 10.0.%u.%u, port: 80, backends: [", i, i / 250, 1 + i % 250);
		for (unsigned int b = 0; b < per; b++)
			fprintf(t.f, "%s{ address: 10.%u.%u.%u }", b ? ", " : "", 100 + i, b / 250, 1 + b % 250);
		fputs("] }\n", t.f);
	}
	return text_close(&t);
}

/* One service with n backends, one per line from line 9. */
static char *
backends_file(unsigned int n)
{
	struct text t;

	text_open(&t);
	fputs(PORTS "services:\n  - name: web\n    vip: 10.0.0.100\n    port: 80\n    backends:\n", t.f);
	for (unsigned int b = 0; b < n; b++)
		fprintf(t.f, "      - { address: 10.1.%u.%u }\n", b / 250, 1 + b % 250);
	return text_close(&t);
}

static char *
ports_file(unsigned int n)
{
	struct text t;

	text_open(&t);
	fputs("ports:\n", t.f);
	for (unsigned int i = 0; i < n; i++)
		fprintf(t.f, "  - { name: p%u, device: net_null%u, address: 10.%u.0.1/24 }\n", i, i, i);
	return text_close(&t);
}

static char *
routes_file(unsigned int n)
{
	struct text t;

	text_open(&t);
	fputs(PORTS "routes:\n", t.f);
	for (unsigned int i = 0; i < n; i++)
		fprintf(t.f, "  - { prefix: 172.%u.%u.0/24, via: 10.0.0.254, port: wan }\n", 16 + i / 256, i % 256);
	return text_close(&t);
}

static char *
neighbors_file(unsigned int n)
{
	struct text t;

	text_open(&t);
	fputs("ports:\n  - { name: wan, device: net_null0, address: 10.0.0.1/8 }\nneighbors:\n", t.f);
	for (unsigned int i = 0; i < n; i++)
		fprintf(t.f, "  - { address: 10.1.%u.%u, mac: \"02:00:00:00:00:01\", port: wan }\n", i / 250,
			1 + i % 250);
	return text_close(&t);
}

static void
expect_ok(const char *what, char *yaml)
{
	struct lp_config *c = cc_parse_ok(yaml);

	if (c == NULL)
		fprintf(stderr, "  (%s)\n", what);
	lp_config_free(c);
	free(yaml);
}

static void
expect_limit(const char *what, char *yaml, const char *message)
{
	expect_only(what, yaml, message);
	free(yaml);
}

static void
test_limits_from_file(void)
{
	expect_ok("1024 services", services_file(LP_CFG_SERVICES_MAX, 0));
	expect_limit("1025 services", services_file(LP_CFG_SERVICES_MAX + 1, 0),
		     "t.yaml:1028:5: services: more than 1024 services");
	expect_ok("4096 backends", backends_file(LP_CFG_SERVICE_BACKENDS_MAX));
	expect_limit("4097 backends", backends_file(LP_CFG_SERVICE_BACKENDS_MAX + 1),
		     "t.yaml:4104:9: backends: more than 4096 backends in one service");
	// 8192 in all, as 4 x 2048; then one more in a fifth service.
	expect_ok("8192 backends in all", services_file(4, 2048));
	{
		char *yaml = services_file(4, 2048);
		size_t len = strlen(yaml);
		char *more = malloc(len + 128);

		CU_ASSERT_FATAL(more != NULL);
		memcpy(more, yaml, len);
		strcpy(more + len, "  - { name: last, vip: 10.0.9.9, port: 80, backends: [ { address: 10.200.0.1 } ] }\n");
		expect_limit("8193 backends in all", more, "t.yaml:8:56: backends: more than 8192 backends in all services");
		free(yaml);
	}
	// 50000 backends in 13 services: each within its own limit, not in all.
	expect_limit("50000 backends", services_file(13, 3846),
		     "t.yaml:6:13337: backends: more than 8192 backends in all services");
	expect_ok("8 ports", ports_file(LP_CFG_PORTS_MAX));
	expect_limit("9 ports", ports_file(LP_CFG_PORTS_MAX + 1), "t.yaml:10:5: ports: more than 8 ports");
	expect_ok("64 routes", routes_file(LP_CFG_ROUTES_MAX));
	expect_limit("65 routes", routes_file(LP_CFG_ROUTES_MAX + 1), "t.yaml:68:5: routes: more than 64 routes");
	expect_ok("16384 neighbors", neighbors_file(LP_CFG_NEIGHBORS_MAX));
	expect_limit("16385 neighbors", neighbors_file(LP_CFG_NEIGHBORS_MAX + 1),
		     "t.yaml:16388:5: neighbors: more than 16384 neighbors");
}

/* ---- the same limits in memory (what the CLI builds), where elements have no position ---- */

static void
test_limits_in_memory(void)
{
	static const char *const services[] = { "t.yaml: services: more than 1024 services", NULL };
	static const char *const backends[] = {
		"t.yaml: service 'last': backends: more than 8192 backends in all services", NULL
	};
	static const char *const one_service[] = {
		"t.yaml: service 's0': backends: more than 4096 backends in one service", NULL
	};
	char *yaml = services_file(LP_CFG_SERVICES_MAX, 0);
	struct lp_config *c = cc_parse_ok(yaml);
	struct lp_cfg_service *s;

	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	cc_expect_validate("1024 services in memory", c, (const char *const[]){ NULL });
	s = realloc(c->services, (c->n_services + 1) * sizeof(*s));
	CU_ASSERT_FATAL(s != NULL);
	c->services = s;
	s[c->n_services] = s[c->n_services - 1];
	s[c->n_services].pos = (struct lp_cfg_pos){ 0, 0 };
	s[c->n_services].port = 81;
	strcpy(s[c->n_services].name, "last");
	c->n_services++;
	cc_expect_validate("1025 services in memory", c, services);
	lp_config_free(c);

	yaml = services_file(4, 2048);
	c = cc_parse_ok(yaml);
	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	s = realloc(c->services, (c->n_services + 1) * sizeof(*s));
	CU_ASSERT_FATAL(s != NULL);
	c->services = s;
	lp_config_service_init(&s[4]);
	strcpy(s[4].name, "last");
	s[4].vip = cc_ip("10.0.9.9");
	s[4].port = 80;
	s[4].backends = calloc(1, sizeof(*s[4].backends));
	CU_ASSERT_FATAL(s[4].backends != NULL);
	lp_config_backend_init(&s[4].backends[0]);
	s[4].backends[0].addr = cc_ip("10.200.0.1");
	s[4].backends[0].port = 80;
	s[4].n_backends = 1;
	c->n_services = 5;
	cc_expect_validate("8193 backends in memory", c, backends);
	lp_config_free(c);

	yaml = services_file(1, LP_CFG_SERVICE_BACKENDS_MAX);
	c = cc_parse_ok(yaml);
	free(yaml);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	s = &c->services[0];
	s->pos = (struct lp_cfg_pos){ 0, 0 };
	s->backends = realloc(s->backends, (s->n_backends + 1) * sizeof(*s->backends));
	CU_ASSERT_FATAL(s->backends != NULL);
	s->backends[s->n_backends] = s->backends[0];
	s->backends[s->n_backends].port = 81;
	s->n_backends++;
	cc_expect_validate("4097 backends in one service in memory", c, one_service);
	lp_config_free(c);
}

/* ---- files being written: read once, and only when complete ---- */

static const char old_yaml[] = PORTS "services:\n"
				     "  - { name: a, vip: 10.0.0.100, port: 80 }\n"
				     "  - { name: b, vip: 10.0.0.100, port: 81 }\n"
				     "  - { name: c, vip: 10.0.0.100, port: 82 }\n";

/* A file written a moment ago is read once it has been quiet: still loads. */
static void
test_fresh_file_loads(void)
{
	char path[128];
	struct lp_diag d = { 0 };
	struct lp_config *c;

	in_dir("fresh.yaml", path, sizeof(path));
	write_file(path, old_yaml, strlen(old_yaml));
	c = lp_config_load(path, &d);
	CU_ASSERT_PTR_NOT_NULL(c);
	CU_ASSERT_EQUAL(d.n, 0);
	if (c != NULL)
		CU_ASSERT_EQUAL(c->n_services, 3);
	lp_config_free(c);
	lp_diag_clear(&d);
	unlink(path);
}

/* How a writer rewrites the file in place. */
enum write_mode {
	HOLD,		/* opened once, kept open, rewritten over and over (a program that logs its config) */
	TRUNC,		/* opened with O_TRUNC for each rewrite, one write() per line (a script, `cat >`) */
	REOPEN,		/* truncated, then opened and closed for each line (`echo line >>`) */
};

struct writer {
	const char *path;
	enum write_mode mode;
	unsigned int line_us;		/* between lines */
	unsigned int pause_us;		/* between rewrites */
	atomic_bool stop;
	atomic_uint rewrites;
	atomic_uint max_gap_ms;		/* longest pause between two lines of one rewrite */
};

static uint64_t
mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* One line at the end of the file: open, write, close. */
static bool
append_line(const char *path, const char *line, size_t n)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	bool ok = fd >= 0 && write(fd, line, n) == (ssize_t)n;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Rewrite the file in place, one write() per line, until told to stop. */
static void *
rewrite_in_place(void *arg)
{
	struct writer *w = arg;
	int held = w->mode == HOLD ? open(w->path, O_WRONLY) : -1;

	while (!atomic_load(&w->stop)) {
		const char *line = old_yaml;
		int fd = held;

		if (w->mode == HOLD) {
			if (held < 0 || ftruncate(held, 0) != 0 || lseek(held, 0, SEEK_SET) != 0)
				break;
		} else if ((fd = open(w->path, O_WRONLY | O_TRUNC)) < 0) {
			break;
		} else if (w->mode == REOPEN) {
			close(fd);
			fd = -1;
		}
		uint64_t last = mono_ms();

		while (*line != '\0') {
			size_t n = strcspn(line, "\n") + 1;
			uint64_t now = mono_ms();

			/* The scheduler may stall this thread mid-file (a loaded
			 * machine): a pause as long as the quiet period looks
			 * like a finished file to anyone. */
			if (now - last > atomic_load(&w->max_gap_ms))
				atomic_store(&w->max_gap_ms, (unsigned int)(now - last));
			if (fd >= 0 ? write(fd, line, n) != (ssize_t)n : !append_line(w->path, line, n))
				break;
			line += n;
			last = mono_ms();
			usleep(w->line_us);
		}
		if (fd >= 0 && fd != held)
			close(fd);
		atomic_fetch_add(&w->rewrites, 1);
		if (w->pause_us != 0)
			usleep(w->pause_us);
	}
	if (held >= 0)
		close(held);
	return NULL;
}

static void
writer_start(struct writer *w, pthread_t *t, const char *name, char *path, size_t len)
{
	in_dir(name, path, len);
	write_file(path, old_yaml, strlen(old_yaml));
	w->path = path;
	CU_ASSERT_FATAL(pthread_create(t, NULL, rewrite_in_place, w) == 0);
	while (atomic_load(&w->rewrites) < 2)
		usleep(1000);
}

static void
writer_stop(struct writer *w, pthread_t t)
{
	atomic_store(&w->stop, true);
	pthread_join(t, NULL);
	unlink(w->path);
}

/*
 * A file its writer keeps open is never taken: refused with EAGAIN and
 * advice after 10 tries. Deterministic: the lease probe sees the writer
 * whatever the scheduler does.
 */
static void
test_file_held_open_refused(void)
{
	struct writer w = { .mode = HOLD, .line_us = 200 };
	char path[128], expect[256];
	struct lp_diag d = { 0 };
	pthread_t t;

	writer_start(&w, &t, "held.yaml", path, sizeof(path));
	errno = 0;
	CU_ASSERT_PTR_NULL(lp_config_load(path, &d));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	writer_stop(&w, t);
	CU_ASSERT_EQUAL_FATAL(d.n, 1);
	snprintf(expect, sizeof(expect), "%s: not read: open for writing by another process (10 tries in ", path);
	CU_ASSERT_EQUAL(strncmp(d.msg[0], expect, strlen(expect)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(d.msg[0], " s); replace config files atomically: write another file, then "
						"rename it over this one"));
	printf("(%s) ", d.msg[0] + strlen(path) + 2);
	lp_diag_clear(&d);
}

/*
 * Loads while a writer rewrites the file in place: each load gives the
 * whole file (3 services) or is refused with EAGAIN, never a prefix (the
 * prefixes with fewer services are valid YAML). With the file opened again
 * for each line nobody holds it open between lines: only the quiet period
 * tells. tests/cli/test_config_files.sh checks the same through reloads.
 */
static void
expect_never_partial(enum write_mode mode, unsigned int line_us, unsigned int pause_us, unsigned int loads)
{
	struct writer w = { .mode = mode, .line_us = line_us, .pause_us = pause_us };
	unsigned int whole = 0, refused = 0;
	char path[128];
	pthread_t t;

	writer_start(&w, &t, "partial.yaml", path, sizeof(path));
	for (unsigned int i = 0; i < loads; i++) {
		struct lp_diag d = { 0 };
		struct lp_config *c = lp_config_load(path, &d);

		if (c != NULL && c->n_services != 3 && mode == REOPEN && atomic_load(&w.max_gap_ms) >= LP_CFG_QUIET_MS) {
			/* Taken while the writer itself had stopped for longer
			 * than the quiet period: indistinguishable from a
			 * finished file by design (with a lease the writer
			 * holding it open is seen; REOPEN holds nothing). */
			printf("(a prefix taken after the writer stalled %u ms mid-file) ", atomic_load(&w.max_gap_ms));
			whole++;
		} else if (c != NULL) {
			CU_ASSERT_EQUAL(c->n_services, 3);
			whole++;
		} else {
			if (errno != EAGAIN)
				for (uint32_t k = 0; k < d.n; k++)
					fprintf(stderr, "\n%s", d.msg[k]);
			CU_ASSERT_EQUAL(errno, EAGAIN);
			refused++;
		}
		lp_config_free(c);
		lp_diag_clear(&d);
		usleep(9000 * (i % 7));
	}
	printf("(%u whole, %u refused, %u rewrites) ", whole, refused, atomic_load(&w.rewrites));
	writer_stop(&w, t);
}

static void
test_never_a_partial_file(void)
{
	// A rewrite takes 30 ms, then 120 ms of quiet: most loads see a whole file.
	expect_never_partial(TRUNC, 5000, 120000, 20);
	expect_never_partial(REOPEN, 5000, 120000, 20);
	// Rewritten without a pause: every load is refused, or (on a stalled writer) whole.
	expect_never_partial(REOPEN, 200, 0, 2);
}

int
main(void)
{
	static const struct lp_test_case file_cases[] = {
		{ "a FIFO is refused at once", test_fifo_refused_at_once },
		{ "devices and directories are refused", test_devices_and_directories_refused },
		{ "16 MiB exactly is accepted, one byte more is not", test_size_limit_exact },
		{ "a fresh file loads", test_fresh_file_loads },
		{ "a file held open for writing is refused", test_file_held_open_refused },
		{ "never a partial file", test_never_a_partial_file },
		{ NULL, NULL },
	};
	static const struct lp_test_case yaml_cases[] = {
		{ "deep flow sequences stop at the limit", test_deep_flow_sequences },
		{ "deep block mappings stop at the limit", test_deep_block_mappings },
		{ "anchors and aliases", test_anchors },
		{ NULL, NULL },
	};
	static const struct lp_test_case limit_cases[] = {
		{ "limits from a file", test_limits_from_file },
		{ "limits in memory", test_limits_in_memory },
		{ NULL, NULL },
	};
	static const struct lp_test_suite suites[] = {
		{ "config_files", make_dir, NULL, file_cases },
		{ "config_yaml", NULL, NULL, yaml_cases },
		{ "config_limits", NULL, remove_dir, limit_cases },
		{ NULL, NULL, NULL, NULL },
	};

	return lp_test_run(suites);
}
