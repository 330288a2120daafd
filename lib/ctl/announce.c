/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VIP announcement, the control thread's side (announce: in the config).
 * lib/announce keeps one route per VIP in kernel table N on the kernel
 * interface; this file tells it what the model says: the VIPs, whether each
 * can serve (a service on that address has a backend up: healthy,
 * administratively up, weight above 0), and whether the workers run. The
 * desired set is recomputed every few milliseconds and handed over only when
 * it changed. The operator's `announce withdraw` and the shutdown are holds
 * of lib/announce (lp_ctl_announcer()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>

#include "ctl_priv.h"
#include "lp_announce.h"
#include "lp_log.h"

#define EVAL_MS 10u

struct lp_ctl_announce {
	struct lp_announce *a;
	uint32_t port;			/* whose kernel interface the routes go on */
	uint64_t next_eval;
	uint32_t n;
	struct lp_announce_vip *cur;	/* last set handed over */
	struct lp_announce_vip *next;	/* scratch */
	uint32_t cap;
};

int
ctl_announce_setup(struct lp_ctl *c, struct lp_diag *d)
{
	const struct lp_config *cfg = c->cfg;
	struct lp_announce_opts o = { 0 };
	struct lp_ctl_announce *ca;
	int port = lp_config_announce_port(cfg);

	if (!cfg->announce.enabled)
		return 0;
	o.ifindex = port >= 0 ? ctl_kernel_ifindex(c, (uint32_t)port) : -1;
	if (o.ifindex < 0) {
		lp_diag_add(d, "%s:%u:%u: announce: no kernel interface to put the routes on", cfg->path,
			cfg->announce.pos.line, cfg->announce.pos.col);
		return -EINVAL;
	}
	ca = calloc(1, sizeof(*ca));
	if (ca == NULL) {
		lp_diag_add(d, "out of memory");
		return -ENOMEM;
	}
	ca->cap = LP_MAX_SERVICES;
	ca->cur = calloc(ca->cap, sizeof(*ca->cur));
	ca->next = calloc(ca->cap, sizeof(*ca->next));
	o.table = cfg->announce.table;
	o.hz = c->dp.hz;
	ca->a = ca->cur != NULL && ca->next != NULL ? lp_announce_create(&o) : NULL;
	if (ca->a == NULL) {
		lp_diag_add(d, "announce: cannot open netlink: %s", rte_strerror(rte_errno));
		free(ca->cur);
		free(ca->next);
		free(ca);
		return -ENOMEM;
	}
	/* Nothing is announced before the workers run. */
	lp_announce_hold(ca->a, LP_ANNOUNCE_HOLD_WORKERS, true);
	ca->port = (uint32_t)port;
	c->ann = ca;
	LP_LOG(INFO, ctl, "announce: VIP routes in table %u on '%s'\n", o.table, cfg->ports[port].kernel_iface);
	return 0;
}

void
ctl_announce_free(struct lp_ctl *c)
{
	struct lp_ctl_announce *ca = c->ann;

	if (ca == NULL)
		return;
	/* A stop that did not withdraw first (an error path): the routes
	 * leave with the kernel interface anyway; do not leave them behind. */
	if (!lp_announce_settled(ca->a) || (lp_announce_holds(ca->a) & LP_ANNOUNCE_HOLD_SHUTDOWN) == 0)
		lp_announce_withdraw_all(ca->a, 500);
	lp_announce_destroy(ca->a);
	free(ca->cur);
	free(ca->next);
	free(ca);
	c->ann = NULL;
}

static bool
backend_serves(const struct msvc *s, const struct mbe *b)
{
	return ctl_be_state(s, b) == LP_BE_UP && b->cfg.weight > 0;
}

/* The VIPs of the model, one per address, in service-id order. */
static uint32_t
desired(struct lp_ctl *c, struct lp_announce_vip *out, uint32_t cap)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		const struct msvc *s = c->svc[i];
		bool serves = false;
		uint32_t k;

		if (s == NULL)
			continue;
		for (uint32_t b = 0; b < s->n_be && !serves; b++)
			serves = backend_serves(s, &s->be[b]);
		for (k = 0; k < n; k++)
			if (lp_ip_equal(&out[k].addr, &s->cfg.vip))
				break;
		if (k < n) {
			out[k].can_serve |= serves;
		} else if (n < cap) {
			memset(&out[n], 0, sizeof(out[n]));
			out[n].addr = s->cfg.vip;
			out[n].can_serve = serves;
			n++;
		}
	}
	return n;
}

static bool
workers_running(struct lp_ctl *c)
{
	if (!c->started)
		return false;
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		if (!atomic_load_explicit(&c->dp.worker[i]->running, memory_order_acquire))
			return false;
	return c->dp.n_workers > 0;
}

void
ctl_announce_poll(struct lp_ctl *c, uint64_t now)
{
	struct lp_ctl_announce *ca = c->ann;

	if (ca == NULL)
		return;
	if (now >= ca->next_eval) {
		uint32_t n = desired(c, ca->next, ca->cap);
		bool running = workers_running(c);
		int ifindex = ctl_kernel_ifindex(c, ca->port);

		/* The kernel interface was made again (kernel.c): follow it. */
		if (ifindex > 0)
			lp_announce_set_ifindex(ca->a, ifindex);

		ca->next_eval = now + c->dp.hz * EVAL_MS / 1000;
		if (n != ca->n || memcmp(ca->next, ca->cur, n * sizeof(*ca->cur)) != 0) {
			if (lp_announce_set(ca->a, ca->next, n) == 0) {
				struct lp_announce_vip *t = ca->cur;

				ca->cur = ca->next;
				ca->next = t;
				ca->n = n;
			}
		}
		if (((lp_announce_holds(ca->a) & LP_ANNOUNCE_HOLD_WORKERS) != 0) == running)
			lp_announce_hold(ca->a, LP_ANNOUNCE_HOLD_WORKERS, !running);
	}
	lp_announce_poll(ca->a, now);
}

struct lp_announce *
lp_ctl_announcer(struct lp_ctl *c)
{
	return c->ann != NULL ? c->ann->a : NULL;
}

uint32_t
lp_ctl_withdraw_delay_s(struct lp_ctl *c)
{
	return c->ann != NULL ? c->cfg->announce.withdraw_delay_s : 0;
}
