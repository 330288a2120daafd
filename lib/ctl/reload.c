/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A whole configuration applied to the running one: at start-up (from
 * nothing) and on reload. The file is validated, checked for what only a
 * restart may change and against the data path's limits, and diffed
 * against the model into one change (change.c): services that go, come,
 * are replaced or change; backends that come, change, drain or go. Then
 * the change is built and committed as a whole, or not at all.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>

#include "ctl_priv.h"

static bool
port_equal(const struct lp_cfg_port *a, const struct lp_cfg_port *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->device, b->device) != 0 || a->n_addrs != b->n_addrs ||
	    !lp_ip_equal(&a->gateway4, &b->gateway4) || !lp_ip_equal(&a->gateway6, &b->gateway6) ||
	    a->mtu != b->mtu || a->has_mac != b->has_mac || (a->has_mac && memcmp(&a->mac, &b->mac, 6) != 0) ||
	    strncmp(a->kernel_iface, b->kernel_iface, LP_IFNAME_MAX) != 0)
		return false;
	for (uint32_t i = 0; i < a->n_addrs; i++)
		if (!lp_ip_equal(&a->addr[i], &b->addr[i]) || a->prefix[i] != b->prefix[i])
			return false;
	return true;
}

/* A service's identity: what its flows and bindings mean. */
static bool
svc_same_identity(const struct lp_cfg_service *a, const struct lp_cfg_service *b)
{
	return lp_ip_equal(&a->vip, &b->vip) && a->port == b->port && a->proto == b->proto &&
	       a->forwarding == b->forwarding;
}

static int
restart_only_changes(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d)
{
	const struct lp_config *cur = c->cfg;
	int bad = 0;

	if (cur->n_ports != next->n_ports) {
		lp_diag_add(d, "%s: ports: %u ports now, %u in the file: ports change only with a restart", next->path,
			    cur->n_ports, next->n_ports);
		bad++;
	} else {
		for (uint32_t i = 0; i < cur->n_ports; i++)
			if (!port_equal(&cur->ports[i], &next->ports[i])) {
				lp_diag_add(d, "%s:%u:%u: port '%s' changed: ports change only with a restart",
					    next->path, next->ports[i].pos.line, next->ports[i].pos.col,
					    next->ports[i].name);
				bad++;
			}
	}
	if (cur->n_routes != next->n_routes) {
		lp_diag_add(d, "%s: routes: %u now, %u in the file: routes change only with a restart", next->path,
			    cur->n_routes, next->n_routes);
		bad++;
	} else {
		for (uint32_t i = 0; i < cur->n_routes; i++) {
			const struct lp_cfg_route *a = &cur->routes[i], *b = &next->routes[i];

			if (!lp_ip_equal(&a->prefix, &b->prefix) || a->len != b->len || !lp_ip_equal(&a->via, &b->via) ||
			    a->port != b->port) {
				lp_diag_add(d, "%s:%u:%u: route changed: routes change only with a restart", next->path,
					    b->pos.line, b->pos.col);
				bad++;
			}
		}
	}
	if (cur->flows.capacity6 != next->flows.capacity6) {
		lp_diag_add(d, "%s: flows.capacity6 %u → %u takes a restart", next->path, cur->flows.capacity6,
			    next->flows.capacity6);
		bad++;
	}
	if (cur->flows.capacity != next->flows.capacity) {
		lp_diag_add(d, "%s: flows.capacity %u → %u takes a restart", next->path, cur->flows.capacity,
			    next->flows.capacity);
		bad++;
	}
	if (cur->announce.enabled != next->announce.enabled ||
	    (cur->announce.enabled && (cur->announce.table != next->announce.table ||
				       strncmp(cur->announce.iface, next->announce.iface, LP_IFNAME_MAX) != 0))) {
		if (next->announce.enabled)
			lp_diag_add(d, "%s:%u:%u: announce: table and interface change only with a restart", next->path,
				    next->announce.pos.line, next->announce.pos.col);
		else
			lp_diag_add(d, "%s: announce: removing it takes a restart", next->path);
		bad++;
	}
	if (ctl_cluster_restart_only(c, next, d) != 0)
		bad++;
	if (cur->affinity_capacity != next->affinity_capacity) {
		lp_diag_add(d, "%s: affinity.capacity %u → %u takes a restart", next->path, cur->affinity_capacity,
			    next->affinity_capacity);
		bad++;
	}
	return bad ? -EINVAL : 0;
}

/* The limits of lp_config.h, which lp_config_validate() has checked with
 * positions already: kept as a last guard of the data path's tables. */
static int
over_limits(const struct lp_config *next, struct lp_diag *d)
{
	uint64_t backends = 0;
	int bad = 0;

	if (next->n_services > LP_CFG_SERVICES_MAX) {
		lp_diag_add(d, "%s: %u services, at most %u", next->path, next->n_services, LP_CFG_SERVICES_MAX);
		bad++;
	}
	for (uint32_t i = 0; i < next->n_services; i++) {
		const struct lp_cfg_service *s = &next->services[i];

		backends += s->n_backends;
		if (s->n_backends > LP_CFG_SERVICE_BACKENDS_MAX) {
			lp_diag_add(d, "%s:%u:%u: service '%s': %u backends, at most %u", next->path, s->pos.line,
				    s->pos.col, s->name, s->n_backends, LP_CFG_SERVICE_BACKENDS_MAX);
			bad++;
		}
	}
	if (backends > LP_CFG_BACKENDS_MAX) {
		lp_diag_add(d, "%s: %llu backends in all services, at most %u", next->path,
			    (unsigned long long)backends, LP_CFG_BACKENDS_MAX);
		bad++;
	}
	return bad ? -EINVAL : 0;
}

/* A backend gone from the file: it drains first when the service says so
 * and it still holds something, else it goes at once. */
static void
plan_backend_gone(struct msvc *s, struct mbe *b, uint64_t now)
{
	if (s->cfg.drain_timeout_s > 0 && ctl_be_state(s, b) != LP_BE_DOWN &&
	    atomic_load(&s->load->active[b->id]) > 0) {
		b->removing = true;
		b->removing_since = now;
		return;
	}
	ctl_be_drop(s, b);
}

/* One existing service (its copy @p s) brought to its new definition. */
static int
plan_update(struct lp_ctl *c, struct msvc *s, const struct lp_cfg_service *n, uint64_t now, struct lp_diag *d)
{
	int ret;

	/* New parameters first: drainTimeoutSeconds decides below whether a
	 * backend gone from the file drains or goes at once. */
	s->cfg = *n;
	s->cfg.backends = NULL;
	s->cfg.n_backends = 0;
	for (uint32_t k = 0; k < n->n_backends; k++) {
		const struct lp_cfg_backend *nb = &n->backends[k];
		struct mbe *b = ctl_be_find(s, &nb->addr, nb->port);

		if (b == NULL) {
			ret = ctl_be_add(c, s, nb, now, d);
			if (ret != 0)
				return ret;
			/* Scale-out: idle bindings may move to the newcomer. */
			if (s->cfg.rebalance == LP_REBALANCE_IDLE)
				s->rebalance_until = now + REBALANCE_WINDOW_S * c->dp.hz;
			continue;
		}
		b->removing = false;	/* back in the file: keep it */
		b->cfg.weight = nb->weight;
		if (b->cfg.state != nb->state) {
			uint8_t before = ctl_be_state(s, b);

			b->cfg.state = nb->state;
			if (before != LP_BE_UP && ctl_be_state(s, b) == LP_BE_UP)
				b->eligible_since = now;
		}
	}
	/* Backends gone from the file and not draining yet (after the adds,
	 * so no newcomer takes the id of a backend that is leaving). */
	for (uint32_t i = s->n_be; i-- > 0;) {
		struct mbe *b = &s->be[i];
		bool found = false;

		for (uint32_t j = 0; j < n->n_backends && !found; j++)
			found = lp_ip_equal(&n->backends[j].addr, &b->cfg.addr) && n->backends[j].port == b->cfg.port;
		if (!found && !b->removing)
			plan_backend_gone(s, b, now);
	}
	return 0;
}

/* The change that turns the running configuration into @p next. */
static int
plan(struct lp_ctl *c, struct ctl_change *ch, const struct lp_config *next, struct lp_diag *d)
{
	uint64_t now = ctl_change_now(ch);
	int ret;

	ret = ctl_change_settings(ch, next);
	if (ret != 0)
		goto oom;
	/* Services gone from the file. */
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];

		if (s != NULL && lp_config_service_find(next, s->cfg.name) < 0) {
			ret = ctl_change_remove(ch, s, NOTE_REMOVED);
			if (ret != 0)
				goto oom;
		}
	}
	for (uint32_t k = 0; k < next->n_services; k++) {
		const struct lp_cfg_service *n = &next->services[k];
		struct msvc *s = ctl_svc_find(c, n->name);
		struct svc_edit *e;

		if (s != NULL && !svc_same_identity(&s->cfg, n)) {
			/* New VIP, port, protocol or mode: its flows and bindings
			 * mean something else now; start it afresh. */
			ret = ctl_change_remove(ch, s, NOTE_REPLACED);
			if (ret != 0)
				goto oom;
			s = NULL;
		}
		if (s == NULL) {
			ret = ctl_change_add(ch, n, d);
		} else {
			e = ctl_change_edit(ch, s);
			if (e == NULL)
				goto oom;
			ret = plan_update(c, e->new, n, now, d);
		}
		if (ret != 0)
			return ret;
	}
	return 0;
oom:
	lp_diag_add(d, "out of memory: nothing changed");
	return -ENOMEM;
}

/* Validate and plan; NULL (messages in @p d, -errno in @p ret) when @p next cannot apply. */
static struct ctl_change *
prepare(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d, int *ret)
{
	struct ctl_change *ch;

	*ret = ctl_change_idle(c, d);
	if (*ret == 0)
		*ret = lp_config_validate(next, d);
	if (*ret == 0)
		*ret = restart_only_changes(c, next, d);
	if (*ret == 0)
		*ret = over_limits(next, d);
	if (*ret != 0)
		return NULL;
	ch = ctl_change_new(c, rte_rdtsc());
	if (ch == NULL) {
		lp_diag_add(d, "out of memory: nothing changed");
		*ret = -ENOMEM;
		return NULL;
	}
	*ret = plan(c, ch, next, d);
	if (*ret != 0) {
		ctl_change_abort(ch);
		return NULL;
	}
	return ch;
}

int
lp_ctl_apply(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d)
{
	int ret;
	struct ctl_change *ch = prepare(c, next, d, &ret);

	return ch != NULL ? ctl_change_run(ch, true, d) : ret;
}

int
lp_ctl_apply_start(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d, lp_ctl_done_fn *done,
		   void *arg)
{
	int ret;
	struct ctl_change *ch = prepare(c, next, d, &ret);

	if (ch == NULL)
		return ret;
	/* A small change is built here and now; a big one on a helper thread,
	 * published as a whole once everything is built. */
	if (ctl_change_cost_ns(ch) > c->inline_build_ns && ctl_change_defer(ch, done, arg) == 0)
		return -EINPROGRESS;
	return ctl_change_run(ch, true, d);
}

void
lp_ctl_apply_cancel(struct lp_ctl *c)
{
	ctl_change_cancel(c);
}
