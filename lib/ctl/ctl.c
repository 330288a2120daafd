/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The control thread's top: set-up (mbuf pool, workers, tables, ports,
 * routes, the first configuration), start and stop, tear-down, and the
 * poll loop that drives everything else of lib/ctl.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

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
		w = ctl_zmalloc("lp_worker", sizeof(*w), socket);
		c->worker_stats[i] = ctl_zmalloc("lp_stats", sizeof(struct lp_stats), socket);
		if (w == NULL || c->worker_stats[i] == NULL) {
			rte_free(w);
			lp_diag_add(d, "out of memory for worker %u", i);
			return -ENOMEM;
		}
		dp->worker[i] = w;
		dp->n_workers = i + 1;
		w->dp = dp;
		w->index = i;
		w->lcore = lcore;
		w->stats = c->worker_stats[i];
		/* Without it the worker's idle sleeps are plain steps. */
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		snprintf(name, sizeof(name), "lp_flows_%u", i);
		w->flows = CTL_ALLOC(lp_flow_shard_create(name, cap, cap6, socket, dp->qsbr));
		snprintf(name, sizeof(name), "lp_slow_%u", i);
		w->to_ctl = CTL_ALLOC(rte_ring_create(name, SLOW_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
		snprintf(name, sizeof(name), "lp_inject_%u", i);
		w->from_ctl = CTL_ALLOC(rte_ring_create(name, SLOW_RING_SIZE, socket, RING_F_SP_ENQ | RING_F_SC_DEQ));
		if (w->flows == NULL || w->to_ctl == NULL || w->from_ctl == NULL) {
			lp_diag_add(d, "worker %u: cannot create its flow table or rings: %s", i, rte_strerror(rte_errno));
			return -ENOMEM;
		}
		lp_flow_set_timeouts(w->flows, dp->hz, c->cfg->flows.tcp_syn_timeout, c->cfg->flows.tcp_timeout,
				     c->cfg->flows.tcp_fin_timeout, c->cfg->flows.udp_timeout);
	}
	if (dp->n_workers == 0) {
		lp_diag_add(d, "no worker lcore: give EAL at least two lcores (for example -l 0-1)");
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
			lp_diag_add(d, "neighbor table full");
			return -ENOSPC;
		}
	}
	if (cfg->n_routes > LP_MAX_ROUTES) {
		lp_diag_add(d, "%s: %u routes, at most %u", cfg->path, cfg->n_routes, LP_MAX_ROUTES);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < cfg->n_routes; i++) {
		const struct lp_cfg_route *cr = &cfg->routes[i];
		int32_t pos = lp_nbr_get(c->dp.nbr, &cr->via, (uint16_t)cr->port);
		uint32_t k;

		if (pos < 0) {
			lp_diag_add(d, "neighbor table full");
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
				lp_diag_add(d, "neighbor table full");
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
	struct lp_ctl *c = ctl_calloc(1, sizeof(*c));
	unsigned int n_lcores = rte_lcore_count();
	int socket = (int)rte_socket_id();
	static struct lp_svc *const no_services[LP_MAX_SERVICES];
	struct lp_svc_index *ix;
	size_t qsz;
	uint32_t n_mbufs;

	if (c == NULL) {
		lp_diag_add(d, "out of memory");
		return NULL;
	}
	if (opts != NULL)
		c->opts = *opts;
	c->cfg = CTL_ALLOC(lp_config_dup(cfg));
	if (c->cfg == NULL) {
		lp_diag_add(d, "out of memory");
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
	lp_health_init(c);
	c->inline_build_ns = (uint64_t)(c->opts.inline_build_us ? c->opts.inline_build_us : 20000) * 1000;
	/* Second 0 is one second ago, so no live timestamp is ever 0. */
	c->dp.tsc0 = rte_rdtsc() - c->dp.hz;
	qsz = rte_rcu_qsbr_get_memsize(LP_MAX_WORKERS);
	c->dp.qsbr = ctl_zmalloc("lp_qsbr", qsz, socket);
	c->stats = ctl_zmalloc("lp_ctl_stats", sizeof(*c->stats), socket);
	if (c->dp.qsbr == NULL || c->stats == NULL || rte_rcu_qsbr_init(c->dp.qsbr, LP_MAX_WORKERS) != 0) {
		lp_diag_add(d, "out of memory (RCU state)");
		goto fail;
	}
	c->retire = CTL_ALLOC(lp_retire_create(c->dp.qsbr));
	if (c->retire == NULL) {
		lp_diag_add(d, "out of memory");
		goto fail;
	}
	/* Enough mbufs for every descriptor of every queue, the workers'
	 * transmit buffers, the slow-path rings, and per-lcore caches. */
	n_mbufs = cfg->n_ports * (n_lcores > 1 ? n_lcores - 1 : 1) *
			  2 * (c->opts.ring_size ? c->opts.ring_size : 1024) +
		  n_lcores * (LP_MAX_PORTS * LP_TX_BUF + 4 * SLOW_RING_SIZE + 512) + 8192;
	c->pool = CTL_ALLOC(rte_pktmbuf_pool_create("lp_mbufs", n_mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket));
	if (c->pool == NULL) {
		lp_diag_add(d, "cannot create a pool of %u mbufs: %s (give EAL more memory with -m)", n_mbufs,
			rte_strerror(rte_errno));
		goto fail;
	}
	if (create_workers(c, d) != 0)
		goto fail;
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		if (rte_rcu_qsbr_thread_register(c->dp.qsbr, i) != 0) {
			lp_diag_add(d, "cannot register worker %u with RCU", i);
			goto fail;
		}
	c->dp.aff = CTL_ALLOC(lp_aff_create("lp_affinity", cfg->affinity_capacity, socket, c->dp.qsbr));
	c->dp.nbr = CTL_ALLOC(lp_nbr_create("lp_neighbors", 65536, socket, c->dp.qsbr));
	if (c->dp.aff == NULL || c->dp.nbr == NULL) {
		lp_diag_add(d, "cannot create the affinity or neighbor table: %s", rte_strerror(rte_errno));
		goto fail;
	}
	/* A binding no handshake confirmed lives like a flow in SYN state. */
	c->dp.aff->provisional_s = cfg->flows.tcp_syn_timeout;
	c->scan_per_poll = c->dp.aff->n_pos / 1000 + 64;
	if (ctl_ports_setup(c, d) != 0 || ctl_kernel_setup(c, d) != 0 || ctl_announce_setup(c, d) != 0 ||
	    setup_routes(c, d) != 0)
		goto fail;
	atomic_store(&c->dp.idle_sleep_us, cfg->workers.poll == LP_POLL_BUSY ? 0 : cfg->workers.idle_sleep_us);
	if (ctl_slowpath_init(c) != 0) {
		lp_diag_add(d, "out of memory");
		goto fail;
	}
	/* The index of own addresses, so ARP for them works with no service. */
	ix = ctl_index_build(c, no_services);
	if (ix == NULL) {
		lp_diag_add(d, "out of memory");
		goto fail;
	}
	ctl_publish_index(c, ix);
	if (lp_ctl_apply(c, cfg, d) != 0 || ctl_cluster_create(c, cfg, d) != 0)
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
	/* A reload still being built is not applied by a stopping limpet. */
	ctl_change_cancel(c);
	lp_health_abort(c);
	/* The workers send what the control thread queued (the resets) before they stop. */
	for (int i = 0; i < 100; i++) {
		bool empty = true;

		for (uint32_t w = 0; w < c->dp.n_workers; w++)
			empty &= c->dp.worker[w]->from_ctl == NULL || rte_ring_empty(c->dp.worker[w]->from_ctl);
		if (empty)
			break;
		rte_delay_us_sleep(100);
	}
	atomic_store(&c->dp.stop, true);
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		lp_worker_wake(c->dp.worker[i]);
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
	ctl_change_cancel(c);
	ctl_announce_free(c);
	ctl_kernel_close(c);
	ctl_ports_close(c);
	ctl_slowpath_free(c);
	if (c->retire != NULL)
		lp_retire_destroy(c->retire);
	ctl_cluster_destroy(c);
	ctl_model_free(c);
	for (uint32_t i = 0; i < LP_MAX_SERVICES; i++)
		lp_svc_free(lp_svc_publish(&c->dp.svcs, i, NULL));
	lp_svc_index_free(lp_svc_index_publish(&c->dp.svcs, NULL));
	for (uint32_t i = 0; i < c->dp.n_workers; i++) {
		struct lp_worker *w = c->dp.worker[i];

		lp_flow_shard_free(w->flows);
		rte_ring_free(w->to_ctl);
		rte_ring_free(w->from_ctl);
		if (w->wake_fd >= 0)
			close(w->wake_fd);
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

/* The affinity scan walks the table at a pace in time, not in passes: a
 * slice (n_pos / 1000 + 64 entries) per millisecond since the last pass,
 * at least one, at most 16. A full sweep thus takes at most a second
 * however long the control loop sleeps when idle (app/limpet/main.c):
 * binding timestamps count whole seconds, so sweeping more often would
 * expire nothing sooner (at a fixed 200 µs pace it swept every ~0.2 s, a
 * third of an idle control thread's CPU for a 1M-entry table). */
static uint32_t
scan_budget(const struct lp_ctl *c, uint64_t now)
{
	uint64_t slices = c->last_poll == 0 || now <= c->last_poll ? 1 : (now - c->last_poll) * 1000 / c->dp.hz;

	if (slices < 1)
		slices = 1;
	return c->scan_per_poll * (uint32_t)(slices < 16 ? slices : 16);
}

bool
lp_ctl_poll(struct lp_ctl *c, uint64_t now)
{
	uint64_t work = c->work;

	ctl_slowpath_poll(c, now);
	ctl_kernel_poll(c, now);
	ctl_announce_poll(c, now);
	c->work += lp_retire_poll(c->retire);
	ctl_check_visible(c);
	ctl_affinity_scan(c, now, scan_budget(c, now));
	ctl_cluster_poll(c, now);
	lp_health_tick(c, now);
	ctl_change_poll(c);
	if (now >= c->next_second) {
		ctl_timed_changes(c, now);
		c->next_second = now + c->dp.hz / 4;
		c->work++;
	}
	c->last_poll = now;
	return c->work != work;
}
