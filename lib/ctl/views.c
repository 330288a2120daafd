/* SPDX-License-Identifier: BSD-3-Clause */
/* Read-only views of the model and counters for the CLI and exporters. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>

#include "ctl_priv.h"

/* The data path's tables hold what the limits of a config allow (lp_config.h). */
_Static_assert(LP_CFG_PORTS_MAX <= LP_MAX_PORTS, "a port of a valid config has no slot");
_Static_assert(LP_CFG_ROUTES_MAX <= LP_MAX_ROUTES, "a route of a valid config has no slot");
_Static_assert(LP_CFG_SERVICES_MAX <= LP_MAX_SERVICES, "a service of a valid config has no id");
_Static_assert(LP_CFG_SERVICE_BACKENDS_MAX <= LP_SVC_MAX_BACKENDS, "a backend of a valid config has no id");
_Static_assert(2 * LP_CFG_BACKENDS_MAX <= LP_STATS_BE_SLOTS, "removed backends drain in the other half of the slots");

void
lp_ctl_stats(struct lp_ctl *c, struct lp_stats *out)
{
	struct lp_stats *blocks[LP_MAX_WORKERS + 1];
	unsigned int n = 0;

	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		blocks[n++] = c->worker_stats[i];
	blocks[n++] = c->stats;
	lp_stats_sum(out, blocks, n);
}

const struct lp_stats *
lp_ctl_worker_stats(struct lp_ctl *c, uint32_t worker)
{
	return worker < c->dp.n_workers ? c->worker_stats[worker] : NULL;
}

const struct lp_stats *
lp_ctl_control_stats(struct lp_ctl *c)
{
	return c->stats;
}

static void
zero_stats(struct lp_worker *w, void *arg)
{
	(void)arg;
	memset(w->stats, 0, sizeof(*w->stats));
}

void
lp_ctl_stats_clear(struct lp_ctl *c)
{
	/* Each block is zeroed by its own writer, so no increment is lost
	 * half-way through a clear. */
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		lp_worker_call(c->dp.worker[i], zero_stats, NULL, 1000);
	memset(c->stats, 0, sizeof(*c->stats));
}

uint64_t
lp_ctl_flow_count(struct lp_ctl *c)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		n += lp_flow_count(c->dp.worker[i]->flows);
	return n;
}

uint32_t
lp_ctl_port_count(struct lp_ctl *c)
{
	return c->dp.n_ports;
}

int
lp_ctl_port_view(struct lp_ctl *c, uint32_t i, struct lp_port_view *v)
{
	const struct lp_dp_port *p;
	struct rte_eth_stats hw;

	if (i >= c->dp.n_ports)
		return -ENOENT;
	p = &c->dp.port[i];
	memset(v, 0, sizeof(*v));
	v->name = c->cfg->ports[i].name;
	v->device = c->cfg->ports[i].device;
	v->port_id = p->port_id;
	v->n_rxq = p->n_rxq;
	v->n_txq = p->n_txq;
	for (uint32_t w = 0; w < c->dp.n_workers; w++) {
		const volatile struct lp_port_stats *ps = &c->worker_stats[w]->port[i];

#define ADD(member, key, help) v->sw.member += ps->member;
		LP_PORT_COUNTERS(ADD)
#undef ADD
	}
	/* Drivers read their counters without stopping the queues, so this is
	 * safe while workers poll (testpmd's `show port stats` does the same). */
	if (rte_eth_stats_get(p->port_id, &hw) == 0) {
#define COPY(member, key, help) v->hw_##member = hw.member;
		LP_PORT_DEVICE_COUNTERS(COPY)
#undef COPY
	}
	return 0;
}

uint32_t
lp_ctl_worker_count(struct lp_ctl *c)
{
	return c->dp.n_workers;
}

int
lp_ctl_worker_view(struct lp_ctl *c, uint32_t i, struct lp_worker_view *v)
{
	const struct lp_worker *w;

	if (i >= c->dp.n_workers)
		return -ENOENT;
	w = c->dp.worker[i];
	memset(v, 0, sizeof(*v));
	v->index = i;
	v->lcore = w->lcore;
	v->flows = lp_flow_count(w->flows);
	v->flow_capacity = w->flows->capacity;
	return 0;
}

void
lp_ctl_table_view(struct lp_ctl *c, struct lp_table_view *v)
{
	memset(v, 0, sizeof(*v));
	for (uint32_t i = 0; i < c->dp.n_workers; i++) {
		v->flows += lp_flow_count(c->dp.worker[i]->flows);
		v->flow_capacity += c->dp.worker[i]->flows->capacity;
	}
	v->bindings = lp_aff_count(c->dp.aff);
	v->binding_capacity = c->dp.aff->capacity;
}

uint32_t
lp_ctl_service_count(struct lp_ctl *c)
{
	struct msvc *const *list;

	return ctl_svc_sorted(c, &list);
}

/* Flow entries pointing at a backend. Without affinity the load count is
 * exactly that; with it the load counts bindings, and the scan sums the
 * flows each binding pins. */
static uint32_t
be_flows_active(const struct msvc *s, const struct mbe *b)
{
	return s->cfg.affinity ? b->scan.flows : atomic_load(&s->load->active[b->id]);
}

static void
fill_service_view(struct lp_ctl *c, const struct msvc *s, struct lp_service_view *v)
{
	struct lp_stats *blocks[LP_MAX_WORKERS + 1];
	unsigned int nb = 0;

	memset(v, 0, sizeof(*v));
	v->cfg = &s->cfg;
	v->id = s->id;
	v->n_backends = s->n_be;
	v->bindings_provisional = s->provisional;
	for (uint32_t i = 0; i < s->n_be; i++) {
		v->n_up += ctl_be_state(s, &s->be[i]) == LP_BE_UP;
		v->bindings += s->be[i].scan.bindings;
		v->flows_active += be_flows_active(s, &s->be[i]);
	}
	for (uint32_t i = 0; i < c->dp.n_workers; i++)
		blocks[nb++] = c->worker_stats[i];
	blocks[nb++] = c->stats;
	for (unsigned int b = 0; b < nb; b++) {
		const volatile struct lp_svc_stats *ss = &blocks[b]->svc[s->id];

#define ADD(member, key, help) v->member += ss->member;
		LP_SVC_COUNTERS(ADD)
#undef ADD
		for (unsigned int r = 0; r < LP_AFF_REASON_MAX; r++)
			v->aff[r] += ss->aff[r];
	}
}

int
lp_ctl_service_view(struct lp_ctl *c, uint32_t i, struct lp_service_view *v)
{
	struct msvc *const *list;
	uint32_t n = ctl_svc_sorted(c, &list);

	if (i >= n)
		return -ENOENT;
	fill_service_view(c, list[i], v);
	return 0;
}

int
lp_ctl_service_view_by_name(struct lp_ctl *c, const char *name, struct lp_service_view *v)
{
	struct msvc *s = ctl_svc_find(c, name);

	if (s == NULL)
		return -ENOENT;
	fill_service_view(c, s, v);
	return 0;
}

int
lp_ctl_backend_views(struct lp_ctl *c, const char *svc, struct lp_backend_view *out, uint32_t max)
{
	struct msvc *s = ctl_svc_find(c, svc);
	uint64_t now = rte_rdtsc();
	uint32_t n = 0;

	if (s == NULL)
		return -ENOENT;
	for (uint32_t i = 0; i < s->n_be && n < max; i++) {
		const struct mbe *b = &s->be[i];
		struct lp_backend_view *v = &out[n++];
		uint8_t st = ctl_be_state(s, b);

		memset(v, 0, sizeof(*v));
		v->addr = b->cfg.addr;
		v->port = b->cfg.port;
		v->id = b->id;
		v->weight = b->cfg.weight;
		v->eff_weight = st == LP_BE_UP ? ctl_be_weight(c, s, b, now) : 0;
		v->admin = b->cfg.state;
		v->state = st;
		v->healthy = b->healthy;
		v->removing = b->removing;
		v->slow_start = st == LP_BE_UP && v->eff_weight != b->cfg.weight;
		v->active = atomic_load(&s->load->active[b->id]);
		v->bindings = b->scan.bindings;
		v->flows_active = be_flows_active(s, b);
		v->gslot = b->gslot;
		for (uint32_t w = 0; w < c->dp.n_workers; w++) {
			const volatile struct lp_be_stats *bs = &c->worker_stats[w]->be[b->gslot];

#define ADD(member, key, help) v->member += bs->member;
			LP_BE_COUNTERS(ADD)
#undef ADD
		}
	}
	return (int)n;
}

int
lp_ctl_affinity_walk(struct lp_ctl *c, const char *svc, const struct lp_ip *client,
		     int (*fn)(void *ctx, const struct lp_binding_view *b), void *ctx)
{
	struct msvc *s = ctl_svc_find(c, svc);
	struct lp_aff_table *t = c->dp.aff;
	uint32_t now_s = lp_dp_seconds(&c->dp, rte_rdtsc());
	struct lp_aff_key only;
	uint32_t from, to;
	int n = 0;

	if (s == NULL)
		return -ENOENT;
	if (client != NULL)
		lp_aff_key_make(&only, s->id, client->family, client->a,
				client->family == LP_AF_INET ? s->cfg.prefix_v4 : s->cfg.prefix_v6);
	if (!ctl_aff_range(t, client != NULL ? &only : NULL, &from, &to))
		return 0;
	for (uint32_t pos = from; pos < to; pos++) {
		struct lp_aff_entry *e = &t->e[pos];
		struct lp_binding_view v;
		uint64_t tg;
		uint32_t seen, created;

		if (!atomic_load_explicit(&e->used, memory_order_acquire) || e->key.svc_id != s->id)
			continue;
		if (client != NULL && memcmp(&e->key, &only, sizeof(only)) != 0)
			continue;
		memset(&v, 0, sizeof(v));
		v.client.family = e->key.family;
		memcpy(v.client.a, e->key.addr, 16);
		tg = lp_aff_target(e);
		v.bound = lp_aff_bound(tg);
		if (v.bound) {
			for (uint32_t i = 0; i < s->n_be; i++)
				if (s->be[i].id == lp_aff_be_id(tg) && s->be[i].gen == lp_aff_be_gen(tg)) {
					v.backend = s->be[i].cfg.addr;
					v.backend_port = s->be[i].cfg.port;
				}
		}
		seen = atomic_load(&e->last_seen);
		created = atomic_load(&e->created);
		v.age_s = now_s - created;
		v.idle_s = now_s - seen;
		v.provisional = lp_aff_provisional(e);
		v.left_s = (int64_t)(v.provisional && t->provisional_s < s->cfg.affinity_timeout_s ?
				     t->provisional_s : s->cfg.affinity_timeout_s) - (int64_t)v.idle_s;
		v.flows = atomic_load(&e->flows);
		v.origin = atomic_load_explicit(&e->origin, memory_order_relaxed);
		n++;
		if (fn(ctx, &v) != 0)
			break;
	}
	return n;
}

struct flow_gather {
	struct lp_ctl *c;
	int svc_id;			/* -1: all */
	struct lp_flow_view *out;
	uint32_t max, n;
	uint32_t worker;
	uint64_t now;
};

static int
gather_one(void *ctx, const struct lp_flow_key *k, const struct lp_flow *f)
{
	struct flow_gather *g = ctx;
	const struct msvc *s;
	struct lp_flow_view *v;

	if (g->n >= g->max)
		return 1;
	if (g->svc_id >= 0 && f->svc_id != g->svc_id)
		return 0;
	s = f->svc_id < LP_MAX_SERVICES ? g->c->svc[f->svc_id] : NULL;
	v = &g->out[g->n++];
	memset(v, 0, sizeof(*v));
	v->key = *k;
	v->worker = g->worker;
	v->svc = s != NULL && s->gen == f->svc_gen ? s->cfg.name : "-";
	v->state = f->state;
	v->idle_ms = (uint32_t)((g->now - f->last_seen) * 1000 / g->c->dp.hz);
	if (s != NULL)
		for (uint32_t i = 0; i < s->n_be; i++)
			if (s->be[i].id == f->be_id && s->be[i].gen == f->be_gen) {
				v->backend = s->be[i].cfg.addr;
				v->backend_port = s->be[i].cfg.port;
			}
	return 0;
}

static void
gather_on_worker(struct lp_worker *w, void *arg)
{
	struct flow_gather *g = arg;

	g->worker = w->index;
	lp_flow_walk(w->flows, gather_one, g);
}

int
lp_ctl_flows(struct lp_ctl *c, const char *svc, struct lp_flow_view *out, uint32_t max)
{
	struct flow_gather g = { .c = c, .svc_id = -1, .out = out, .max = max, .now = rte_rdtsc() };

	if (svc != NULL) {
		struct msvc *s = ctl_svc_find(c, svc);

		if (s == NULL)
			return -ENOENT;
		g.svc_id = s->id;
	}
	/* Each shard is walked by its owner: no reader races its writer. */
	for (uint32_t i = 0; i < c->dp.n_workers && g.n < max; i++)
		if (lp_worker_call(c->dp.worker[i], gather_on_worker, &g, 2000) != 0)
			return -ETIMEDOUT;
	return (int)g.n;
}

void
lp_ctl_print_summary(struct lp_ctl *c, FILE *out)
{
	struct lp_stats *s = ctl_malloc(sizeof(*s));
	uint32_t n = lp_ctl_service_count(c);

	if (s == NULL)
		return;
	lp_ctl_stats(c, s);
	fprintf(out, "limpet summary: %u worker%s, %u port%s, %u service%s\n", c->dp.n_workers,
		c->dp.n_workers == 1 ? "" : "s", c->dp.n_ports, c->dp.n_ports == 1 ? "" : "s", n, n == 1 ? "" : "s");
	/* The workers' invariant (lp_stats.h), summed: exact once they have
	 * stopped. The control thread's drops (of slow-path packets and of
	 * its own) are outside it, so they get a line of their own. */
	fprintf(out, "  packets: rx %" PRIu64 " + injected %" PRIu64 " = tx %" PRIu64 " + dropped %" PRIu64
		" + slowpath %" PRIu64 "\n", s->c[LP_WC_rx_pkts], s->c[LP_WC_injected], s->c[LP_WC_tx_pkts],
		lp_stats_drops(s) - lp_stats_drops(c->stats), s->c[LP_WC_slowpath]);
	/* Passed to a kernel interface by the workers (kernelInterface): the
	 * invariant's last term, shown where there is one. */
	if (s->c[LP_WC_to_kernel] != c->stats->c[LP_WC_to_kernel])
		fprintf(out, "    (+ to the kernel %" PRIu64 ")\n", s->c[LP_WC_to_kernel] - c->stats->c[LP_WC_to_kernel]);
	fprintf(out, "  dropped: %" PRIu64 " in all = %" PRIu64 " by the workers + %" PRIu64
		" by the control thread\n", lp_stats_drops(s), lp_stats_drops(s) - lp_stats_drops(c->stats),
		lp_stats_drops(c->stats));
	fprintf(out, "  flows: new %" PRIu64 " hit %" PRIu64 " stateless %" PRIu64 " full %" PRIu64
		" rechosen %" PRIu64 " nat replies %" PRIu64 " active %" PRIu64 "\n",
		s->c[LP_WC_flow_new], s->c[LP_WC_flow_hit], s->c[LP_WC_flow_stateless], s->c[LP_WC_flow_full],
		s->c[LP_WC_flow_rechosen], s->c[LP_WC_nat_reply], lp_ctl_flow_count(c));
	for (unsigned int r = 1; r < LP_DROP_MAX; r++)
		if (s->drop[r] != 0)
			fprintf(out, "  drop %-15s %" PRIu64 "\n", lp_drop_name(r), s->drop[r]);
	for (uint32_t i = 0; i < n; i++) {
		struct lp_service_view v;
		struct lp_backend_view bv[64];
		int nb;

		if (lp_ctl_service_view(c, i, &v) != 0)
			continue;
		fprintf(out, "  service %s: packets %" PRIu64 " flows %" PRIu64 " replies %" PRIu64
			" bindings new %" PRIu64 "\n", v.cfg->name, v.pkts, v.flows, v.replies, v.aff[LP_AFF_NEW]);
		nb = lp_ctl_backend_views(c, v.cfg->name, bv, 64);
		for (int k = 0; k < nb; k++) {
			char ep[LP_ENDPOINT_STRLEN];

			fprintf(out, "    backend %s packets %" PRIu64 " flows %" PRIu64 "\n",
				lp_endpoint_format(&bv[k].addr, bv[k].port, ep, sizeof(ep)), bv[k].pkts, bv[k].flows);
		}
	}
	free(s);
}

const struct lp_config *
lp_ctl_config(struct lp_ctl *c)
{
	struct lp_config *r = ctl_model_render(c);

	/* Out of memory: the last rendering, which may be stale. */
	if (r == NULL)
		return c->rendered;
	lp_config_free(c->rendered);
	c->rendered = r;
	return r;
}
