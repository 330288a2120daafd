/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * A real redis-server for tests and the benchmark: its own temporary
 * directory, a unix socket (or a loopback port), stopped by the PID we
 * started. The child dies with us (PR_SET_PDEATHSIG), and an atexit/signal
 * handler removes what is left.
 */
#ifndef LP_REDIS_HARNESS_H
#define LP_REDIS_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

struct redis_srv {
	pid_t pid;
	char dir[128];
	char sock[160];		/**< unix socket path */
	char addr[64];		/**< "127.0.0.1:PORT" when started with tcp */
	int port;		/**< 0: unix socket only */
	char password[64];	/**< "" = none */
};

/** redis-server in PATH? (0, or -1 with a message). */
int redis_available(void);
/** Exit code of a test that cannot run without redis-server: 77 (skipped),
 * or a failure under CI=true, where a skip is one (tools/deps.sh installs it). */
int redis_missing_exit(void);
/** Start in a new temporary directory. @return 0 or -1 (message printed). */
int redis_start(struct redis_srv *r, const char *password, bool tcp);
/** Start again in the same directory, same socket/port, empty. */
int redis_restart(struct redis_srv *r);
/** SIGKILL and reap (data gone: no persistence). */
void redis_kill(struct redis_srv *r);
/** SIGSTOP / SIGCONT: a hung Redis. */
void redis_pause(struct redis_srv *r, bool pause);
/** Stop and remove the directory. */
void redis_stop(struct redis_srv *r);

/** A blocking admin connection (AUTH done). NULL on failure. */
redisContext *redis_admin(const struct redis_srv *r);
/** Run a command, return the reply (caller frees), NULL on failure. */
redisReply *redis_cmd(redisContext *c, const char *fmt, ...);
/** Integer reply of a command, or LLONG_MIN. */
long long redis_int(redisContext *c, const char *fmt, ...);

/** Monotonic nanoseconds. */
uint64_t now_ns(void);
void sleep_ms(unsigned int ms);

#endif /* LP_REDIS_HARNESS_H */
