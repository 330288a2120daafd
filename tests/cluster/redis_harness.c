/* SPDX-License-Identifier: BSD-3-Clause */
/* A real redis-server in a temporary directory, for tests and benchmarks. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redis_harness.h"

/* Every server started, for the exit and signal cleanup. */
#define MAX_SRV 8
static struct redis_srv *live[MAX_SRV];
static bool hooked;

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
sleep_ms(unsigned int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
rm_dir(const char *dir)
{
	char cmd[256];

	if (dir[0] == '\0' || strncmp(dir, "/tmp/", 5) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "redis harness: cannot remove %s\n", dir);
}

static void
cleanup_all(void)
{
	for (int i = 0; i < MAX_SRV; i++) {
		struct redis_srv *r = live[i];

		if (r == NULL)
			continue;
		if (r->pid > 0) {
			kill(r->pid, SIGKILL);
			waitpid(r->pid, NULL, 0);
			r->pid = 0;
		}
		rm_dir(r->dir);
		live[i] = NULL;
	}
}

static void
on_signal(int sig)
{
	cleanup_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
track(struct redis_srv *r)
{
	if (!hooked) {
		atexit(cleanup_all);
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		signal(SIGHUP, on_signal);
		hooked = true;
	}
	for (int i = 0; i < MAX_SRV; i++)
		if (live[i] == NULL || live[i] == r) {
			live[i] = r;
			return;
		}
}

static void
untrack(struct redis_srv *r)
{
	for (int i = 0; i < MAX_SRV; i++)
		if (live[i] == r)
			live[i] = NULL;
}

int
redis_available(void)
{
	if (system("command -v redis-server >/dev/null 2>&1") != 0) {
		fprintf(stderr, "redis-server is not installed (tools/deps.sh installs it)\n");
		return -1;
	}
	return 0;
}

int
redis_missing_exit(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && strcmp(ci, "true") == 0 ? EXIT_FAILURE : 77;
}

static int
free_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

static int
spawn(struct redis_srv *r)
{
	char port[16], log[200];
	const char *argv[32];
	int n = 0;
	pid_t parent = getpid();
	redisContext *c;

	snprintf(port, sizeof(port), "%d", r->port);
	snprintf(log, sizeof(log), "%s/redis.log", r->dir);
	argv[n++] = "redis-server";
	argv[n++] = "--port";
	argv[n++] = port;
	argv[n++] = "--bind";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--unixsocket";
	argv[n++] = r->sock;
	argv[n++] = "--unixsocketperm";
	argv[n++] = "700";
	argv[n++] = "--save";
	argv[n++] = "";
	argv[n++] = "--appendonly";
	argv[n++] = "no";
	argv[n++] = "--dir";
	argv[n++] = r->dir;
	argv[n++] = "--logfile";
	argv[n++] = log;
	argv[n++] = "--daemonize";
	argv[n++] = "no";
	if (r->password[0] != '\0') {
		argv[n++] = "--requirepass";
		argv[n++] = r->password;
	}
	argv[n] = NULL;
	r->pid = fork();
	if (r->pid < 0)
		return -1;
	if (r->pid == 0) {
		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		execvp("redis-server", (char *const *)argv);
		_exit(127);
	}
	/* Up when it answers on its socket. */
	for (int i = 0; i < 500; i++) {
		int status;

		if (waitpid(r->pid, &status, WNOHANG) == r->pid) {
			fprintf(stderr, "redis-server exited at start (see %s)\n", log);
			r->pid = 0;
			return -1;
		}
		c = redisConnectUnix(r->sock);
		if (c != NULL && c->err == 0) {
			redisReply *rep = redisCommand(c, "PING");
			bool ok = rep != NULL && (rep->type == REDIS_REPLY_STATUS ||
						  (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOAUTH", 6) == 0));

			if (rep != NULL)
				freeReplyObject(rep);
			redisFree(c);
			if (ok)
				return 0;
		} else if (c != NULL) {
			redisFree(c);
		}
		sleep_ms(10);
	}
	fprintf(stderr, "redis-server did not answer within 5 s\n");
	redis_kill(r);
	return -1;
}

int
redis_start(struct redis_srv *r, const char *password, bool tcp)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->dir, sizeof(r->dir), "/tmp/lp-redis-XXXXXX");
	if (mkdtemp(r->dir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
	if (password != NULL)
		snprintf(r->password, sizeof(r->password), "%s", password);
	if (tcp) {
		r->port = free_port();
		if (r->port <= 0) {
			rm_dir(r->dir);
			return -1;
		}
		snprintf(r->addr, sizeof(r->addr), "127.0.0.1:%d", r->port);
	}
	track(r);
	if (spawn(r) != 0) {
		rm_dir(r->dir);
		untrack(r);
		return -1;
	}
	return 0;
}

int
redis_restart(struct redis_srv *r)
{
	if (r->pid > 0)
		redis_kill(r);
	unlink(r->sock);
	return spawn(r);
}

void
redis_kill(struct redis_srv *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGCONT);
	kill(r->pid, SIGKILL);
	waitpid(r->pid, NULL, 0);
	r->pid = 0;
}

void
redis_pause(struct redis_srv *r, bool pause)
{
	if (r->pid > 0)
		kill(r->pid, pause ? SIGSTOP : SIGCONT);
}

void
redis_stop(struct redis_srv *r)
{
	redis_kill(r);
	rm_dir(r->dir);
	untrack(r);
	r->dir[0] = '\0';
}

redisContext *
redis_admin(const struct redis_srv *r)
{
	redisContext *c = redisConnectUnix(r->sock);

	if (c == NULL || c->err != 0) {
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (r->password[0] != '\0') {
		redisReply *rep = redisCommand(c, "AUTH %s", r->password);

		if (rep != NULL)
			freeReplyObject(rep);
	}
	return c;
}

redisReply *
redis_cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	void *rep;

	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	return rep;
}

long long
redis_int(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	redisReply *rep;
	long long v = LLONG_MIN;

	va_start(ap, fmt);
	rep = redisvCommand(c, fmt, ap);
	va_end(ap);
	if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
		v = rep->integer;
	if (rep != NULL)
		freeReplyObject(rep);
	return v;
}
