/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Readiness, watchdog and status for the service manager.
 *
 * The watchdog pets on evidence, not on a timer: the control thread
 * starts an RCU QSBR token, and pets (WATCHDOG=1) only once every online
 * worker has reported a quiescent state since that token, which a worker
 * does once per poll-loop pass. A worker wedged in a loop (or a control
 * thread stuck anywhere) therefore stops the pets, and systemd restarts
 * limpet after WatchdogSec. The check costs one token and a few loads
 * per quarter period; it never waits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_rcu_qsbr.h>

#include "lp_log.h"
#include "lp_notify.h"

#define STATUS_MAX 512
#define READY_CHECK_MS 10	/* how often the ready conditions are looked at */

struct lp_notify {
	struct lp_notify_sock sock;
	const struct lp_dp *dp;
	const char *config_path;
	uint64_t hz;
	uint64_t created;		/* TSC */
	uint32_t pending;		/* enum lp_ready_cond bits not met yet */
	bool ready;			/* READY=1 sent */
	uint64_t next_ready_check;
	bool workers_token_set;
	uint64_t workers_token;
	char ports_down[128];		/* ports READY=1 went on without */
	char running[STATUS_MAX / 2];	/* "running: ..." for STATUS= */

	/* watchdog; period 0: off */
	uint64_t wd_period;		/* TSC */
	uint64_t wd_next_check;
	uint64_t wd_last_pet;
	uint64_t wd_token;
	bool wd_stalled;		/* a stall was reported, not yet over */
	uint64_t passes[LP_MAX_WORKERS];	/* loop passes at the last pet */
	char stall_status[STATUS_MAX];
	char last_status[STATUS_MAX];	/* STATUS= after the last reload */
};

static void
send_msg(struct lp_notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
send_msg(struct lp_notify *n, const char *fmt, ...)
{
	char msg[STATUS_MAX + 128];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ret = lp_notify_sock_send(&n->sock, msg);
	if (ret != 0)
		LP_LOG(DEBUG, app, "notify: %s\n", strerror(-ret));
}

struct lp_notify *
lp_notify_create(const struct lp_dp *dp, const char *config_path)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct lp_notify *n;
	uint64_t wd_us;
	int ret;

	if (path == NULL || path[0] == '\0')
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		LP_LOG(ERR, app, "notify: out of memory, not telling the service manager\n");
		return NULL;
	}
	ret = lp_notify_sock_open(&n->sock, path);
	if (ret != 0) {
		LP_LOG(ERR, app, "notify: NOTIFY_SOCKET=%s: %s, not telling the service manager\n", path,
		       strerror(-ret));
		free(n);
		return NULL;
	}
	n->dp = dp;
	n->config_path = config_path;
	n->hz = rte_get_tsc_hz();
	n->created = rte_rdtsc();
	n->pending = LP_READY_PORTS | LP_READY_WORKERS;
	wd_us = lp_notify_watchdog_usec(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"), getpid());
	n->wd_period = wd_us * n->hz / 1000000;
	if (wd_us != 0)
		LP_LOG(INFO, app, "watchdog: %" PRIu64 " ms, petted while every worker passes quiescent states\n",
		       wd_us / 1000);
	return n;
}

void
lp_notify_destroy(struct lp_notify *n)
{
	if (n == NULL)
		return;
	send_msg(n, "STOPPING=1\nSTATUS=stopping");
	lp_notify_sock_close(&n->sock);
	free(n);
}

void
lp_notify_hold(struct lp_notify *n, uint32_t cond)
{
	if (n != NULL)
		n->pending |= cond;
}

void
lp_notify_release(struct lp_notify *n, uint32_t cond)
{
	if (n != NULL)
		n->pending &= ~cond;
}

bool
lp_notify_ready(const struct lp_notify *n)
{
	return n != NULL && n->ready;
}

/* Every port's link is up, or the wait for it is over (then the ports
 * still down are named in ports_down). */
static bool
ports_up(struct lp_notify *n, uint64_t now)
{
	bool waited = now - n->created >= (uint64_t)LP_NOTIFY_LINK_WAIT_S * n->hz;
	size_t len = 0;
	bool up = true;

	n->ports_down[0] = '\0';
	for (uint32_t i = 0; i < n->dp->n_ports; i++) {
		struct rte_eth_link link;

		if (rte_eth_link_get_nowait(n->dp->port[i].port_id, &link) == 0 &&
		    link.link_status == RTE_ETH_LINK_UP)
			continue;
		up = false;
		if (len < sizeof(n->ports_down))
			len += (size_t)snprintf(n->ports_down + len, sizeof(n->ports_down) - len, "%s%s",
						len > 0 ? " " : "", n->dp->port[i].name);
	}
	if (!up && waited)
		LP_LOG(WARNING, app, "link still down after %d s on port(s) %s; ready without them\n",
		       LP_NOTIFY_LINK_WAIT_S, n->ports_down);
	return up || waited;
}

/* Every worker is running and has passed a quiescent state since all of
 * them were seen running: the loops turn. */
static bool
workers_up(struct lp_notify *n)
{
	const struct lp_dp *dp = n->dp;

	for (uint32_t i = 0; i < dp->n_workers; i++)
		if (!atomic_load_explicit(&dp->worker[i]->running, memory_order_acquire))
			return false;
	if (!n->workers_token_set) {
		// Taken only now: QSBR counts an offline (not yet started) worker as quiescent.
		n->workers_token = rte_rcu_qsbr_start(dp->qsbr);
		n->workers_token_set = true;
		return false;
	}
	return rte_rcu_qsbr_check(dp->qsbr, n->workers_token, false) == 1;
}

static uint64_t
worker_passes(const struct lp_worker *w)
{
	// Written by the worker with plain stores; a relaxed load sees a whole value.
	return __atomic_load_n(&w->stats->c[LP_WC_loop_passes], __ATOMIC_RELAXED);
}

static void
watchdog_arm(struct lp_notify *n, uint64_t now)
{
	n->wd_token = rte_rcu_qsbr_start(n->dp->qsbr);
	n->wd_last_pet = now;
	n->wd_next_check = now + n->wd_period / 4;
	for (uint32_t i = 0; i < n->dp->n_workers; i++)
		n->passes[i] = worker_passes(n->dp->worker[i]);
}

static void
check_ready(struct lp_notify *n, uint64_t now)
{
	if (now < n->next_ready_check)
		return;
	n->next_ready_check = now + n->hz * READY_CHECK_MS / 1000;
	if ((n->pending & LP_READY_PORTS) && ports_up(n, now))
		n->pending &= ~(uint32_t)LP_READY_PORTS;
	if ((n->pending & LP_READY_WORKERS) && workers_up(n))
		n->pending &= ~(uint32_t)LP_READY_WORKERS;
	if (n->pending != 0)
		return;
	snprintf(n->running, sizeof(n->running), "running: %u workers, %u ports%s%s, config %s",
		 n->dp->n_workers, n->dp->n_ports, n->ports_down[0] != '\0' ? ", link down: " : "",
		 n->ports_down, n->config_path);
	snprintf(n->last_status, sizeof(n->last_status), "%s", n->running);
	send_msg(n, "READY=1\nSTATUS=%s", n->running);
	n->ready = true;
	LP_LOG(INFO, app, "ready: told the service manager\n");
	if (n->wd_period != 0) {
		send_msg(n, "WATCHDOG=1");
		watchdog_arm(n, now);
	}
}

/* Name the workers whose loop has not turned since the last pet. */
static void
report_stall(struct lp_notify *n, uint64_t now)
{
	uint64_t ms = (now - n->wd_last_pet) * 1000 / n->hz;
	char who[STATUS_MAX / 2];
	size_t len = 0;

	who[0] = '\0';
	for (uint32_t i = 0; i < n->dp->n_workers && len < sizeof(who); i++)
		if (worker_passes(n->dp->worker[i]) == n->passes[i])
			len += (size_t)snprintf(who + len, sizeof(who) - len, "%s%u (lcore %u)", len > 0 ? ", " : "",
						i, n->dp->worker[i]->lcore);
	if (len == 0)
		snprintf(who, sizeof(who), "none stopped looping (control thread late?)");
	snprintf(n->stall_status, sizeof(n->stall_status),
		 "stalled: worker %s passed no quiescent state for %" PRIu64 " ms; watchdog not petted", who, ms);
	LP_LOG(WARNING, app, "%s\n", n->stall_status);
	send_msg(n, "STATUS=%s", n->stall_status);
	n->wd_stalled = true;
}

static void
watchdog(struct lp_notify *n, uint64_t now)
{
	if (n->wd_period == 0 || now < n->wd_next_check)
		return;
	n->wd_next_check = now + n->wd_period / 4;
	if (rte_rcu_qsbr_check(n->dp->qsbr, n->wd_token, false) == 1) {
		if (n->wd_stalled) {
			LP_LOG(NOTICE, app, "workers pass quiescent states again after %" PRIu64 " ms\n",
			       (now - n->wd_last_pet) * 1000 / n->hz);
			send_msg(n, "STATUS=%s", n->last_status);
			n->wd_stalled = false;
		}
		send_msg(n, "WATCHDOG=1");
		watchdog_arm(n, now);
	} else if (!n->wd_stalled && now - n->wd_last_pet >= n->wd_period / 2) {
		report_stall(n, now);
	}
}

void
lp_notify_poll(struct lp_notify *n, uint64_t now)
{
	if (n == NULL)
		return;
	if (!n->ready)
		check_ready(n, now);
	else
		watchdog(n, now);
}

void
lp_notify_reloading(struct lp_notify *n)
{
	struct timespec ts;

	if (n == NULL || !n->ready)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	// MONOTONIC_USEC lets newer managers match this to their reload request.
	send_msg(n, "RELOADING=1\nMONOTONIC_USEC=%" PRIu64 "\nSTATUS=reloading %s",
		 (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000, n->config_path);
}

void
lp_notify_reloaded(struct lp_notify *n, bool applied, const struct lp_diag *diag)
{
	char when[16] = "?";
	time_t t = time(NULL);
	struct tm tm;

	if (n == NULL)
		return;
	if (localtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	if (applied)
		snprintf(n->last_status, sizeof(n->last_status), "%s; reloaded at %s", n->running, when);
	else
		snprintf(n->last_status, sizeof(n->last_status),
			 "%s; reload refused at %s, running configuration unchanged: %s%s", n->running, when,
			 diag != NULL && diag->n > 0 ? diag->msg[0] : "(no message)",
			 diag != NULL && diag->n > 1 ? " (and more in the log)" : "");
	// Before READY=1 the reload only changes what STATUS= will say.
	send_msg(n, "%sSTATUS=%s", n->ready ? "READY=1\n" : "", n->wd_stalled ? n->stall_status : n->last_status);
}
