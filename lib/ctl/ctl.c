/* SPDX-License-Identifier: BSD-3-Clause */
/* Control thread: set-up, lifecycle, the poll loop, reload. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "ctl_priv.h"
#include "lp_health.h"
#include "lp_log.h"

#define SLOW_RING_SIZE 1024u

struct lp_dp *
lp_ctl_dp(struct lp_ctl *c)
{
	return &c->dp;
}

uint32_t
lp_ctl_seconds(struct lp_ctl *c, uint64_t now)
{
	return lp_dp_seconds(&c->dp, now);
}

uint64_t
lp_ctl_last_change_cycles(struct lp_ctl *c)
{
	return c->last_change_cycles;
}

void
lp_ctl_rcu_view(struct lp_ctl *c, struct lp_rcu_view *v)
{
	v->last_cycles = c->last_change_cycles;
	v->max_cycles = c->max_change_cycles;
	v->changes = c->n_changes_visible;
	v->pending = c->pending_since != 0;
	v->hz = c->dp.hz;
}

void
ctl_note_visible(struct lp_ctl *c, uint64_t now)
{
	c->last_change_cycles = now - c->pending_since;
	if (c->last_change_cycles > c->max_change_cycles)
		c->max_change_cycles = c->last_change_cycles;
	c->n_changes_visible++;
	c->pending_since = 0;
}

void
ctl_wait_visible(struct lp_ctl *c)
{
	if (c->pending_since == 0)
		return;
	/* Workers pass a quiescent state once per loop pass, so this waits
	 * for about one pass of the slowest worker. */
	rte_rcu_qsbr_check(c->dp.qsbr, c->pending_token, true);
	ctl_note_visible(c, rte_rdtsc());
}

static int
create_workers(struct lp_ctl *c, struct lp_diag *d)
{
	struct lp_dp *dp = &c->dp;
	uint32_t n = 0, cap, cap6;
	unsigned int lcore;
	char name[RTE_RING_NAMESIZE];

	RTE_LCORE_FOREACH_WORKER(lcore)
		n++;
	if (c->opts.max_workers && n > c->opts.max_workers)
		n = c->opts.max_workers;
	if (n > LP_MAX_WORKERS)
		n = LP_MAX_WORKERS;
	/* The capacities are for the whole of limpet: RSS splits them evenly. */
	cap = n ? c->cfg->flows.capacity / n : 0;
	if (cap < 1024)
		cap = 1024;
	cap6 = n ? (c->cfg->flows.capacity6 ? c->cfg->flows.capacity6 : c->cfg->flows.capacity / 4) / n : 0;
	if (cap6 < 1024)
		cap6 = 1024;

	RTE_LCORE_FOREACH_WORKER(lcore) {
		struct lp_worker *w;
		int socket = (int)rte_lcore_to_socket_id(lcore);
		uint32_t i = dp->n_workers;

		if (i == LP_MAX_WORKERS || (c->opts.max_workers && i == c->opts.max_workers))
			break;
		w = rte_zmalloc_socket("lp_worker", sizeof(*w), RTE_CACHE_LINE_SIZE, socket);
		c->worker_stats[i] = rte_zmalloc_socket("lp_stats", sizeof(struct lp_stats), RTE_CACHE_LINE_SIZE,
							socket);
		if (w == NULL || c->worker_stats[i] == NULL) {
			rte_free(w);
			ctl_err(d, "out of memory for worker %u", i);
			return -ENOMEM;
		}
		dp->worker[i] = w;
		dp->n_workers = i + 1;
		w->dp = dp;
		w->index = i;
		w->lcore = lcore;
		w->stats = c->worker_stats[i];
		snprintf(name, sizeof(name), "lp_flows_%u", i);
		w->flows = lp_flow_shard_create(name, cap, cap6, socket, dp->qsbr);
		snprintf(name, sizeof(name), "lp_slow_%u", i);
		w->to_ctl = rte_ring_create(name, SLOW_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "lp_inject_%u", i);
		w->from_ctl = rte_ring_create(name, SLOW_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (w->flows == NULL || w->to_ctl == NULL || w->from_ctl == NULL) {
			ctl_err(d, "worker %u: cannot create its flow table or rings: %s", i, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		lp_flow_set_timeouts(w->flows, dp->hz, c->cfg->flows.tcp_syn_timeout, c->cfg->flows.tcp_timeout,
				     c->cfg->flows.tcp_fin_timeout, c->cfg->flows.udp_timeout);
	}
	if (dp->n_workers == 0) {
		ctl_err(d, "no worker lcore: give EAL at least two lcores (for example -l 0-1)");
		return -EINVAL;
	}
	return 0;
}

static int
setup_routes(struct lp_ctl *c, struct lp_diag *d)
{
	struct lp_routes *r = &c->dp.routes;
	const struct lp_config *cfg = c->cfg;

	r->n_ports = cfg->n_ports;
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		const struct lp_cfg_port *cp = &cfg->ports[p];
		struct lp_route_port *rp = &r->port[p];

		rp->n_addrs = cp->n_addrs;
		for (uint32_t a = 0; a < cp->n_addrs; a++) {
			rp->addr[a] = cp->addr[a];
			rp->prefix[a] = cp->prefix[a];
		}
		rp->gw_nbr[0] = rp->gw_nbr[1] = LP_NBR_NONE;
	}
	for (uint32_t n = 0; n < cfg->n_neighbors; n++) {
		const struct lp_cfg_neighbor *nb = &cfg->neighbors[n];

		if (lp_nbr_set(c->dp.nbr, &nb->addr, (uint16_t)nb->port, &nb->mac, LP_NBR_STATIC) < 0) {
			ctl_err(d, "neighbor table full");
			return -ENOSPC;
		}
	}
	if (cfg->n_routes > LP_MAX_ROUTES) {
		ctl_err(d, "%s: %u routes, at most %u", cfg->path, cfg->n_routes, LP_MAX_ROUTES);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < cfg->n_routes; i++) {
		const struct lp_cfg_route *cr = &cfg->routes[i];
		int32_t pos = lp_nbr_get(c->dp.nbr, &cr->via, (uint16_t)cr->port);
		uint32_t k;

		if (pos < 0) {
			ctl_err(d, "neighbor table full");
			return -ENOSPC;
		}
		c->dp.nbr->e[pos].refs++;
		/* Keep them longest prefix first: the lookup takes the first match. */
		for (k = r->n_routes; k > 0 && r->route[k - 1].len < cr->len; k--)
			r->route[k] = r->route[k - 1];
		r->route[k] = (struct lp_route){
			.prefix = cr->prefix, .len = cr->len, .port = (uint16_t)cr->port, .nbr = (uint32_t)pos,
		};
		r->n_routes++;
	}
	for (uint32_t p = 0; p < cfg->n_ports; p++) {
		const struct lp_cfg_port *cp = &cfg->ports[p];
		const struct lp_ip *gw[2] = { &cp->gateway4, &cp->gateway6 };

		for (int f = 0; f < 2; f++) {
			int32_t pos;

			if (gw[f]->family == 0)
				continue;
			pos = lp_nbr_get(c->dp.nbr, gw[f], (uint16_t)p);
			if (pos < 0) {
				ctl_err(d, "neighbor table full");
				return -ENOSPC;
			}
			r->port[p].gw_nbr[f] = (uint32_t)pos;
			c->dp.nbr->e[pos].refs++;
		}
	}
	return 0;
}

struct lp_ctl *
lp_ctl_create(const struct lp_config *cfg, const struct lp_ctl_opts *opts, struct lp_diag *d)
{
	struct lp_ctl *c = calloc(1, sizeof(*c));
	unsigned int n_lcores = rte_lcore_count();
	int socket = (int)rte_socket_id();
	size_t qsz;
	uint32_t n_mbufs;

	if (c == NULL) {
		ctl_err(d, "out of memory");
		return NULL;
	}
	if (opts != NULL)
		c->opts = *opts;
	c->cfg = lp_config_dup(cfg);
	if (c->cfg == NULL) {
		ctl_err(d, "out of memory");
		free(c);
		return NULL;
	}
	/* Services come in through lp_ctl_apply(), like every later change. */
	for (uint32_t i = 0; i < c->cfg->n_services; i++)
		free(c->cfg->services[i].backends);
	free(c->cfg->services);
	c->cfg->services = NULL;
	c->cfg->n_services = 0;
	c->dp.hz = rte_get_tsc_hz();
	/* Second 0 is one second ago, so no live timestamp is ever 0. */
	c->dp.tsc0 = rte_rdtsc() - c->dp.hz;
	qsz = rte_rcu_qsbr_get_memsize(LP_MAX_WORKERS);
	c->dp.qsbr = rte_zmalloc("lp_qsbr", qsz, RTE_CACHE_LINE_SIZE);
	c->stats = rte_zmalloc("lp_ctl_stats", sizeof(*c->stats), RTE_CACHE_LINE_SIZE);
	if (c->dp.qsbr == NULL || c->stats == NULL || rte_rcu_qsbr_init(c->dp.qsbr, LP_MAX_WORKERS) != 0) {
		ctl_err(d, "out of memory (RCU state)");
		goto fail;
	}
	c->retire = lp_retire_create(c->dp.qsbr);
	if (c->retire == NULL) {
		ctl_err(d, "out of memory");
		goto fail;
	}
	/* Enough mbufs for every descriptor of every queue, the workers'
	 * transmit buffers, the slow-path rings, and per-lcore caches. */
	n_mbufs = cfg->n_ports * (n_lcores > 1 ? n_lcores - 1 : 1) *
			  2 * (c->opts.ring_size ? c->opts.ring_size : 1024) +
		  n_lcores * (LP_MAX_PORTS * LP_TX_BUF + 4 * SLOW_RING_SIZE + 512) + 8192;
	c->pool = rte_pktmbuf_pool_create("lp_mbufs", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
	if (c->pool == NULL) {
		ctl_err(d, "cannot create a pool of %u mbufs: %s (give EAL more memory with -m)", n_mbufs,
			rte_strerror(rte_errno));
		goto fail;
	}
	if (create_workers(c, d) != 0)
		goto fail;
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		if (rte_rcu_qsbr_thread_register(c->dp.qsbr, i) != 0) {
			ctl_err(d, "cannot register worker %u with RCU", i);
			goto fail;
		}
	c->dp.aff = lp_aff_create("lp_affinity", cfg->affinity_capacity, socket, c->dp.qsbr);
	c->dp.nbr = lp_nbr_create("lp_neighbors", 65536, socket, c->dp.qsbr);
	if (c->dp.aff == NULL || c->dp.nbr == NULL) {
		ctl_err(d, "cannot create the affinity or neighbor table: %s", rte_strerror(rte_errno));
		goto fail;
	}
	c->scan_per_poll = c->dp.aff->n_pos / 1000 + 64;
	if (ctl_ports_setup(c, d) != 0 || setup_routes(c, d) != 0 || ctl_slowpath_init(c) != 0)
		goto fail;
	if (ctl_publish_index(c) != 0) {
		ctl_err(d, "out of memory");
		goto fail;
	}
	if (lp_ctl_apply(c, cfg, d) != 0)
		goto fail;
	c->next_second = rte_rdtsc();
	return c;
fail:
	lp_ctl_destroy(c);
	return NULL;
}

int
lp_ctl_start(struct lp_ctl *c)
{
	for (uint32_t i = 0; i < c->dp.n_workers; i++) {
		int ret = rte_eal_remote_launch(lp_worker_main, c->dp.worker[i], c->dp.worker[i]->lcore);

		if (ret != 0) {
			lp_ctl_stop(c);
			return ret;
		}
	}
	c->started = true;
	/* Wait until every worker polls, so a change made right after start
	 * already waits for their quiescent states. */
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		while (!atomic_load(&c->dp.worker[i]->running))
			rte_pause();
	return 0;
}

void
lp_ctl_stop(struct lp_ctl *c)
{
	if (!c->started)
		return;
	atomic_store(&c->dp.stop, true);
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		rte_eal_wait_lcore(c->dp.worker[i]->lcore);
	c->started = false;
	atomic_store(&c->dp.stop, false);
}

void
lp_ctl_destroy(struct lp_ctl *c)
{
	if (c == NULL)
		return;
	lp_ctl_stop(c);
	ctl_ports_close(c);
	ctl_slowpath_free(c);
	if (c->retire != NULL)
		lp_retire_destroy(c->retire);
	ctl_model_free(c);
	for (uint32_t i = 0; i < c->dp.n_workers; i++) {
		struct lp_worker *w = c->dp.worker[i];

		lp_flow_shard_free(w->flows);
		rte_ring_free(w->to_ctl);
		rte_ring_free(w->from_ctl);
		rte_free(w);
	}
	for (uint32_t i = 0; i < LP_MAX_WORKERS; i++)
		rte_free(c->worker_stats[i]);
	lp_aff_free(c->dp.aff);
	lp_nbr_free(c->dp.nbr);
	rte_mempool_free(c->pool);
	rte_free(c->dp.qsbr);
	rte_free(c->stats);
	lp_config_free(c->rendered);
	lp_config_free(c->cfg);
	free(c);
}

void
lp_ctl_poll(struct lp_ctl *c, uint64_t now)
{
	ctl_slowpath_poll(c, now);
	lp_retire_poll(c->retire);
	/* Seen here, the latency is at most one control pass late. */
	if (c->pending_since != 0 && rte_rcu_qsbr_check(c->dp.qsbr, c->pending_token, false) == 1)
		ctl_note_visible(c, rte_rdtsc());
	ctl_affinity_scan(c, now, c->scan_per_poll);
	lp_health_tick(c, now);
	if (now >= c->next_second) {
		ctl_model_tick(c, now);
		c->next_second = now + c->dp.hz / 4;
	}
	c->last_poll = now;
}

/* ---- reload ---- */

static bool
port_equal(const struct lp_cfg_port *a, const struct lp_cfg_port *b)
{
	if (strcmp(a->name, b->name) != 0 || strcmp(a->device, b->device) != 0 || a->n_addrs != b->n_addrs ||
	    !lp_ip_equal(&a->gateway4, &b->gateway4) || !lp_ip_equal(&a->gateway6, &b->gateway6) ||
	    a->mtu != b->mtu || a->has_mac != b->has_mac || (a->has_mac && memcmp(&a->mac, &b->mac, 6) != 0))
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
		ctl_err(d, "%s: ports: %u ports now, %u in the file: ports change only with a restart", next->path,
			cur->n_ports, next->n_ports);
		bad++;
	} else {
		for (uint32_t i = 0; i < cur->n_ports; i++)
			if (!port_equal(&cur->ports[i], &next->ports[i])) {
				ctl_err(d, "%s:%u:%u: port '%s' changed: ports change only with a restart", next->path,
					next->ports[i].pos.line, next->ports[i].pos.col, next->ports[i].name);
				bad++;
			}
	}
	if (cur->n_routes != next->n_routes) {
		ctl_err(d, "%s: routes: %u now, %u in the file: routes change only with a restart", next->path,
			cur->n_routes, next->n_routes);
		bad++;
	} else {
		for (uint32_t i = 0; i < cur->n_routes; i++) {
			const struct lp_cfg_route *a = &cur->routes[i], *b = &next->routes[i];

			if (!lp_ip_equal(&a->prefix, &b->prefix) || a->len != b->len || !lp_ip_equal(&a->via, &b->via) ||
			    a->port != b->port) {
				ctl_err(d, "%s:%u:%u: route changed: routes change only with a restart", next->path,
					b->pos.line, b->pos.col);
				bad++;
			}
		}
	}
	if (cur->flows.capacity6 != next->flows.capacity6) {
		ctl_err(d, "%s: flows.capacity6 %u → %u takes a restart", next->path, cur->flows.capacity6,
			next->flows.capacity6);
		bad++;
	}
	if (cur->flows.capacity != next->flows.capacity) {
		ctl_err(d, "%s: flows.capacity %u → %u takes a restart", next->path, cur->flows.capacity,
			next->flows.capacity);
		bad++;
	}
	if (cur->affinity_capacity != next->affinity_capacity) {
		ctl_err(d, "%s: affinity.capacity %u → %u takes a restart", next->path, cur->affinity_capacity,
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
		ctl_err(d, "%s: %u services, at most %u", next->path, next->n_services, LP_CFG_SERVICES_MAX);
		bad++;
	}
	for (uint32_t i = 0; i < next->n_services; i++) {
		const struct lp_cfg_service *s = &next->services[i];

		backends += s->n_backends;
		if (s->n_backends > LP_CFG_SERVICE_BACKENDS_MAX) {
			ctl_err(d, "%s:%u:%u: service '%s': %u backends, at most %u", next->path, s->pos.line,
				s->pos.col, s->name, s->n_backends, LP_CFG_SERVICE_BACKENDS_MAX);
			bad++;
		}
	}
	if (backends > LP_CFG_BACKENDS_MAX) {
		ctl_err(d, "%s: %llu backends in all services, at most %u", next->path,
			(unsigned long long)backends, LP_CFG_BACKENDS_MAX);
		bad++;
	}
	return bad ? -EINVAL : 0;
}

/* Update one existing service in place from its new definition. */
static int
update_service(struct lp_ctl *c, struct msvc *s, const struct lp_cfg_service *n, uint64_t now,
	       struct lp_diag *d)
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
			ret = lp_ctl_backend_add(c, n->name, nb, d);
			if (ret != 0)
				return ret;
			continue;
		}
		b->removing = false;	/* back in the file: keep it */
		if (b->cfg.weight != nb->weight)
			b->cfg.weight = nb->weight;
		if (b->cfg.state != nb->state) {
			uint8_t before = ctl_be_state(s, b);

			b->cfg.state = nb->state;
			if (before != LP_BE_UP && ctl_be_state(s, b) == LP_BE_UP)
				b->eligible_since = now;
		}
	}
	return ctl_publish(c, s, now);
}

int
lp_ctl_apply(struct lp_ctl *c, const struct lp_config *next, struct lp_diag *d)
{
	uint64_t now = rte_rdtsc();
	int ret;

	ret = lp_config_validate(next, d);
	if (ret != 0)
		return ret;
	ret = restart_only_changes(c, next, d);
	if (ret == 0)
		ret = over_limits(next, d);
	if (ret != 0)
		return ret;
	/* Flow timeouts: plain stores the workers pick up on their next
	 * comparison; no snapshot needed. */
	c->cfg->flows = next->flows;
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		lp_flow_set_timeouts(c->dp.worker[i]->flows, c->dp.hz, next->flows.tcp_syn_timeout,
				     next->flows.tcp_timeout, next->flows.tcp_fin_timeout, next->flows.udp_timeout);
	/* Static neighbors: set the new ones; ones no longer listed become
	 * ordinary entries that ARP/ND keeps fresh. */
	for (uint32_t i = 0; i < c->cfg->n_neighbors; i++) {
		const struct lp_cfg_neighbor *o = &c->cfg->neighbors[i];
		bool kept = false;

		for (uint32_t k = 0; k < next->n_neighbors && !kept; k++)
			kept = lp_ip_equal(&next->neighbors[k].addr, &o->addr);
		if (!kept) {
			uint32_t pos = lp_nbr_lookup(c->dp.nbr, o->addr.family, o->addr.a);

			if (pos != LP_NBR_NONE)
				lp_nbr_invalidate(c->dp.nbr, pos, LP_NBR_INCOMPLETE);
		}
	}
	for (uint32_t k = 0; k < next->n_neighbors; k++)
		lp_nbr_set(c->dp.nbr, &next->neighbors[k].addr, (uint16_t)next->neighbors[k].port,
			   &next->neighbors[k].mac, LP_NBR_STATIC);
	if (c->cfg->neighbors != next->neighbors) {
		struct lp_cfg_neighbor *nn = NULL;

		if (next->n_neighbors > 0) {
			nn = malloc(next->n_neighbors * sizeof(*nn));
			if (nn == NULL)
				return -ENOMEM;
			memcpy(nn, next->neighbors, next->n_neighbors * sizeof(*nn));
		}
		free(c->cfg->neighbors);
		c->cfg->neighbors = nn;
		c->cfg->n_neighbors = next->n_neighbors;
	}
	/* Services gone from the file. */
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		struct msvc *s = c->svc[i];

		if (s != NULL && lp_config_service_find(next, s->cfg.name) < 0) {
			LP_LOG(INFO, ctl, "service '%s' removed\n", s->cfg.name);
			lp_ctl_service_del(c, s->cfg.name, d);
		}
	}
	for (uint32_t k = 0; k < next->n_services; k++) {
		const struct lp_cfg_service *n = &next->services[k];
		struct msvc *s = ctl_svc_find(c, n->name);

		if (s != NULL && !svc_same_identity(&s->cfg, n)) {
			/* New VIP, port, protocol or mode: its flows and bindings
			 * mean something else now; start it afresh. */
			LP_LOG(INFO, ctl, "service '%s' replaced\n", n->name);
			lp_ctl_service_del(c, n->name, d);
			s = NULL;
		}
		ret = s == NULL ? ctl_svc_add(c, n, now, d) : update_service(c, s, n, now, d);
		if (ret != 0)
			return ret;
	}
	/* Backends gone from the file and not draining: remove them now. */
	for (uint32_t k = 0; k < next->n_services; k++) {
		struct msvc *s = ctl_svc_find(c, next->services[k].name);
		const struct lp_cfg_service *n = &next->services[k];

		for (uint32_t i = s ? s->n_be : 0; i-- > 0;) {
			struct mbe *b = &s->be[i];
			bool found = false;

			for (uint32_t j = 0; j < n->n_backends && !found; j++)
				found = lp_ip_equal(&n->backends[j].addr, &b->cfg.addr) &&
					n->backends[j].port == b->cfg.port;
			if (!found && !b->removing) {
				struct lp_ip a = b->cfg.addr;

				lp_ctl_backend_del(c, n->name, &a, b->cfg.port, d);
			}
		}
	}
	ctl_wait_visible(c);
	return 0;
}

/* ---- the running config ---- */

const struct lp_config *
lp_ctl_config(struct lp_ctl *c)
{
	struct lp_config *r = lp_config_dup(c->cfg);
	uint32_t n = 0;

	if (r == NULL)
		return c->rendered;
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		n += c->svc[i] != NULL;
	r->services = calloc(n ? n : 1, sizeof(*r->services));
	if (r->services == NULL) {
		lp_config_free(r);
		return c->rendered;
	}
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++) {
		const struct msvc *s = c->svc[i];
		struct lp_cfg_service *o;
		uint32_t nb = 0;

		if (s == NULL)
			continue;
		o = &r->services[r->n_services++];
		*o = s->cfg;
		o->backends = calloc(s->n_be ? s->n_be : 1, sizeof(*o->backends));
		if (o->backends == NULL)
			continue;
		for (uint32_t k = 0; k < s->n_be; k++)
			if (!s->be[k].removing)
				o->backends[nb++] = s->be[k].cfg;
		o->n_backends = nb;
	}
	lp_config_free(c->rendered);
	c->rendered = r;
	return r;
}
