/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * limpet as a service of systemd (or any manager speaking the sd_notify
 * protocol):
 *
 * - readiness: READY=1 once every port is up and every worker runs (and
 *   whatever else a module asks it to wait for: lp_notify_hold());
 * - the watchdog: WATCHDOG=1 only while every worker passes RCU quiescent
 *   states, so a wedged worker gets limpet restarted;
 * - reloads: RELOADING=1, then READY=1 with a STATUS= line that says
 *   whether the reload was applied or refused (`systemctl status`);
 * - the journal: log lines carry syslog priorities (`<3>...`).
 *
 * The notification protocol is the plain datagram one of sd_notify(3)
 * (stable, documented, a dozen lines): no libsystemd, and with no
 * NOTIFY_SOCKET nothing here does anything. Control thread only.
 */
#ifndef LP_NOTIFY_H
#define LP_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "lp_config.h"
#include "lp_worker.h"

/* ---- the protocol (no DPDK: unit-tested alone) ---- */

/** A datagram socket connected to the manager's notification socket. */
struct lp_notify_sock {
	int fd;				/**< -1: closed */
	struct sockaddr_un sa;
	socklen_t sa_len;
};

/**
 * Open the socket named by @p path, the value of $NOTIFY_SOCKET: a file
 * system path (`/run/systemd/notify`) or an abstract name (`@name`).
 * @return 0, -ENOENT when @p path is NULL or empty (no manager),
 *   -EINVAL for an address this protocol cannot reach, or -errno.
 */
int lp_notify_sock_open(struct lp_notify_sock *s, const char *path);

/**
 * Send one message: newline-separated assignments (`READY=1\nSTATUS=...`).
 * Never blocks. @return 0 or -errno.
 */
int lp_notify_sock_send(const struct lp_notify_sock *s, const char *msg);

/** Close (a closed socket is fine). */
void lp_notify_sock_close(struct lp_notify_sock *s);

/**
 * The watchdog period asked for by $WATCHDOG_USEC (@p usec) and
 * $WATCHDOG_PID (@p pid, the process it is meant for: NULL means this
 * one), as sd_watchdog_enabled(3) reads them.
 * @return microseconds, 0 when the watchdog is off or meant for another
 *   process or either value is malformed.
 */
uint64_t lp_notify_watchdog_usec(const char *usec, const char *pid, pid_t self);

/* ---- readiness, watchdog and status ---- */

/** What READY=1 waits for; a bit set in the pending mask holds it back. */
enum lp_ready_cond {
	LP_READY_PORTS = 1u << 0,	/**< every port started and its link up (at most LP_NOTIFY_LINK_WAIT_S) */
	LP_READY_WORKERS = 1u << 1,	/**< every worker running and past a quiescent state */
	/**
	 * Bindings loaded from the cluster (replication, warm start): held by
	 * the module that loads them with lp_notify_hold() before the first
	 * lp_notify_poll(), released with lp_notify_release() once loaded.
	 */
	LP_READY_BINDINGS = 1u << 2,
};

/** How long READY=1 waits for a port's link before it goes on without it. */
#define LP_NOTIFY_LINK_WAIT_S 10

struct lp_notify;

/**
 * Start talking to the service manager named by the environment
 * ($NOTIFY_SOCKET, $WATCHDOG_USEC, $WATCHDOG_PID) about the data path
 * @p dp running @p config_path (both must outlive the object).
 * @return the object, or NULL when there is no manager (or its socket
 *   cannot be used: logged once). Every function below accepts NULL and
 *   then does nothing: without systemd nothing changes.
 */
struct lp_notify *lp_notify_create(const struct lp_dp *dp, const char *config_path);

/** STOPPING=1 and close. */
void lp_notify_destroy(struct lp_notify *n);

/** Hold READY=1 back until @p cond (enum lp_ready_cond) is released. */
void lp_notify_hold(struct lp_notify *n, uint32_t cond);

/** Release a condition held with lp_notify_hold(). */
void lp_notify_release(struct lp_notify *n, uint32_t cond);

/** READY=1 has been sent. */
bool lp_notify_ready(const struct lp_notify *n);

/**
 * Control-loop work at TSC @p now: check the ready conditions (ports,
 * workers) and send READY=1 once none is pending; then pet the watchdog
 * (WATCHDOG=1) every quarter period while every worker has passed a
 * quiescent state since the last pet, and log which worker stalls when
 * none has for half a period. Cheap: call it every pass.
 */
void lp_notify_poll(struct lp_notify *n, uint64_t now);

/** A reload (SIGHUP) starts: RELOADING=1. */
void lp_notify_reloading(struct lp_notify *n);

/**
 * A reload ended: READY=1 and a STATUS= line with its outcome. Refused
 * (@p applied false): the first message of @p diag and how many there
 * were, so `systemctl status limpet` shows it until the next reload.
 */
void lp_notify_reloaded(struct lp_notify *n, bool applied, const struct lp_diag *diag);

/* ---- the journal ---- */

/**
 * Whether descriptor @p fd is the journal stream named by @p journal_stream,
 * the value of $JOURNAL_STREAM (`DEVICE:INODE`).
 */
bool lp_journal_is_stream(int fd, const char *journal_stream);

/**
 * When standard error is the journal (systemd sets $JOURNAL_STREAM), give
 * every line a syslog priority the journal reads (sd-daemon(3)):
 * DPDK's log (rte_log, limpet's LP_LOG included) its own level, anything
 * else written to stderr `<3>` (error). Call before rte_eal_init() so EAL's
 * own messages go the same way. Elsewhere it does nothing.
 * @return 1 when set up, 0 when not under the journal, -errno.
 */
int lp_journal_setup(void);

/**
 * Line assembly behind lp_journal_setup(), exposed for tests: text arrives
 * in pieces; each complete line leaves as one write of `<P>line\n`.
 */
struct lp_journal_lines {
	int fd;				/**< where lines go */
	size_t len;			/**< bytes of an unfinished line in buf */
	char buf[2048];
};

/**
 * Add @p size bytes of text at priority @p prio (0..7, a line takes the
 * priority of the call that completes it) to @p l, writing every line it
 * completes. A line longer than the buffer is cut into
 * several, each with its prefix. @return @p size, or -1 on a write error.
 */
ssize_t lp_journal_lines_add(struct lp_journal_lines *l, const char *text, size_t size, int prio);

/* ---- test hooks (limpet --test-hooks only) ---- */

/**
 * Hold worker @p w in a busy loop that passes no quiescent state for
 * @p ms milliseconds, as a worker wedged in a loop would, so tests can
 * see the watchdog stop. Returns at once. Never used unless limpet was
 * started with --test-hooks (its CLI command does not exist otherwise).
 * @return 0, -EBUSY while a stall or a control request is pending on
 *   that worker, -ENOTSUP when the worker does not run.
 */
int lp_test_stall_worker(struct lp_worker *w, uint32_t ms);

#endif /* LP_NOTIFY_H */
